/*
 * escape.h: one escaping function per output context (cgit's rule). A call
 * site says which context it writes to. All append to a struct buf and fail
 * with its error when the buffer's maximum is reached.
 */
#ifndef FMGATE_ESCAPE_H
#define FMGATE_ESCAPE_H

#include <stdbool.h>

#include "buf.h"

/* HTML text and double-quoted attribute values: & < > " ' are entities. */
enum buf_err esc_html(struct buf *b, const char *s);

/* A URL query component: everything but A-Z a-z 0-9 - . _ ~ is %XX. */
enum buf_err esc_url_component(struct buf *b, const char *s);

/* True when s may stand in an HTTP header value as is: printable ASCII and
 * space only (no CR, LF, other controls, or bytes >= 0x7f). */
bool esc_header_safe(const char *s);

/*
 * Text for a terminal or a log read on one (an API's message, a reason): kept
 * as is but for what could drive the terminal or hide what follows. C0
 * controls, DEL, the C1 controls, U+2028/U+2029 and every format character
 * (general category Cf: the bidirectional controls, zero width characters,
 * U+00AD soft hyphen, U+FEFF, the tag characters U+E0000-U+E007F, ...) become
 * \uXXXX (\UXXXXXXXX past U+FFFF); bytes that are not well-formed UTF-8
 * (overlong, surrogates, past U+10FFFF, cut short), \xXX; a backslash, two.
 * Done whether or not the output is a terminal: it may be copied to one later.
 * Other invisible characters that are not Cf (variation selectors, U+034F,
 * the Hangul fillers) are kept: they change how a character looks, not
 * which characters follow. The table follows Unicode 15.
 */
enum buf_err esc_terminal(struct buf *b, const char *s);

#endif
