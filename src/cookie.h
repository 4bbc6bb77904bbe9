/*
 * cookie.h: reading one cookie from a Cookie request header.
 *
 * analytics.js stores its ids URL-encoded and JSON-quoted ("%22abc%22" or
 * "\"abc\""): the value returned is URL-decoded and loses one pair of
 * surrounding double quotes.
 */
#ifndef FMGATE_COOKIE_H
#define FMGATE_COOKIE_H

#include <stddef.h>

/*
 * Returns a malloc'd copy of the value of the first cookie called `name`
 * (exact, case-sensitive match) in `header` (the HTTP_COOKIE value), decoded as
 * above; the caller frees it. Returns NULL when the header is NULL, the cookie
 * is absent, its decoded value is empty, longer than max_len bytes, not valid
 * UTF-8, or badly %-encoded. Never reads more than LIMIT_MAX_HEADER bytes of
 * the header.
 */
char *cookie_get(const char *header, const char *name, size_t max_len);

#endif
