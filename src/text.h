/*
 * text.h: small, strict string helpers shared by the parsers.
 *
 * None of these allocate unless stated; all take explicit lengths so that a
 * buffer with an embedded NUL is handled (and refused) rather than truncated.
 */
#ifndef FMGATE_TEXT_H
#define FMGATE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..len) is well-formed UTF-8: no overlong forms, no surrogates,
 * nothing above U+10FFFF. An embedded NUL byte counts as invalid. */
bool text_utf8_valid(const char *s, size_t len);

/* The character s[0..n) starts with: its length in bytes, and its code point
 * in *cp; 0 when s starts with ill-formed UTF-8 (or n is 0). */
size_t text_utf8_next(const char *s, size_t n, uint32_t *cp);

/* Makes the NUL-terminated s well-formed UTF-8 in place: each byte that does
 * not start a well-formed character (a character cut by a length limit, a
 * stray byte from the API) becomes '?'. For text fmgate keeps in JSON. */
void text_utf8_repair(char *s);

/*
 * Where the right-most whole entries of the list s[0, n) (entries separated
 * by sep) that fit in max bytes begin: s when n <= max, else just after the
 * first sep that starts or precedes the last max bytes; NULL when there is
 * none (the last entry alone is longer than max). For lists read from their
 * right end (X-Forwarded-For), whose left part may be cut.
 */
const char *text_list_tail(const char *s, size_t n, size_t max, char sep);

/* A control character where text is shown: C0, DEL, C1, and U+2028/U+2029,
 * which some programs take as line ends. */
bool text_is_control(uint32_t c);

/*
 * Percent-decodes src[0..len) into dst (which must hold len + 1 bytes; the
 * result is never longer than the input). With plus_is_space, '+' becomes ' '
 * (application/x-www-form-urlencoded). Returns the decoded length, or -1 when
 * a '%' is not followed by two hex digits, or the result holds a NUL byte.
 * dst is NUL-terminated on success.
 */
long text_urldecode(const char *src, size_t len, char *dst, bool plus_is_space);

/*
 * Checks src[0..len) as text_urldecode would decode it, without writing or
 * allocating: false on a bad escape, a decoded NUL, or a result that is not
 * well-formed UTF-8. On success stores the decoded length, so that a caller can
 * test it against a limit first; a dst of decoded_len + 1 bytes is then enough
 * for text_urldecode.
 */
bool text_urldecode_check(const char *src, size_t len, bool plus_is_space,
                          size_t *decoded_len);

/* Trims ASCII white space (space, tab, CR, LF, FF, VT) at both ends, in place.
 * Returns s. */
char *text_trim(char *s);

/* Lower-cases ASCII letters in place. Returns s. */
char *text_ascii_lower(char *s);

/* Case-insensitive ASCII comparison of two NUL-terminated strings: equal,
 * and the order (<0, 0, >0) of their lower-cased bytes. */
bool text_ieq(const char *a, const char *b);
int text_icmp(const char *a, const char *b);

/*
 * Strict integer parse of a whole string (no leading or trailing junk, no
 * white space, optional leading '-'), within [min, max]. Returns true and
 * stores the value on success.
 */
bool text_parse_ll(const char *s, long long min, long long max, long long *out);

/* Copies at most dstsize - 1 bytes and NUL-terminates. Returns false when src
 * did not fit (dst then holds a truncated copy). */
bool text_copy(char *dst, size_t dstsize, const char *src);

#endif
