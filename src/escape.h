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

#endif
