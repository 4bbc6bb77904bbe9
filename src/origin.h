/*
 * origin.h: where a request comes from, and where a visitor may be sent.
 *
 * URLs are read by url.h (its rules URL_SOURCE, URL_TARGET and URL_ALLOW).
 * An origin is "scheme://host[:port]" with scheme http or https, the host
 * lower-cased and the default port dropped. Matching is exact, or by an
 * allow-list entry whose host is "*.domain", which matches hosts ending in
 * ".domain" with the same scheme and port (dot-bounded: "evilexample.com"
 * does not match "*.example.com", nor does "example.com" itself). Never a
 * substring test.
 */
#ifndef FMGATE_ORIGIN_H
#define FMGATE_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "fmgate_limits.h"
#include "mapping.h"
#include "url.h"

#define ORIGIN_MAX 300   /* bytes of an origin's text (url_origin) */

/*
 * The origin of an absolute http(s) URL (an Origin header value or a
 * Referer), read by URL_SOURCE. False when url is not one: other schemes,
 * user info, an empty or malformed host, an IPv6 literal, a bad port, white
 * space, control characters or a backslash. url_origin() gives its text.
 */
bool origin_read(const char *url, struct url *out);

/* True when the origin is in the form's allow list (read once, at load). */
bool origin_in_list(const struct map_form *f, const struct url *origin);

/*
 * A `_next` value is a safe redirect target when it is one by URL_TARGET (a
 * path "/x", never "//x"; or an absolute http(s) URL; printable ASCII without
 * white space or backslash; at most LIMIT_MAX_URL bytes) and, when absolute,
 * its origin is in the form's allow list.
 */
bool origin_next_allowed(const struct map_form *f, const char *next);

#endif
