/*
 * origin.h: where a request comes from, and where a visitor may be sent.
 *
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

#include "limits.h"
#include "mapping.h"

#define ORIGIN_MAX 300

/*
 * Normalised origin of an absolute http(s) URL (an Origin header value or a
 * Referer) into out (ORIGIN_MAX bytes). False when url is not one: other
 * schemes, userinfo, an empty or malformed host, a bad port, white space or
 * control characters, a backslash before the path.
 */
bool origin_of_url(const char *url, char out[ORIGIN_MAX]);

/* True when the normalised origin is in the form's allow list. */
bool origin_in_list(const struct map_form *f, const char *origin);

/*
 * A `_next` value is a safe redirect target when it is a path ("/x", never
 * "//x" or "/\x", no backslash, no control characters or white space) or an
 * absolute http(s) URL whose origin is in the form's allow list; at most
 * LIMIT_MAX_URL bytes.
 */
bool origin_next_allowed(const struct map_form *f, const char *next);

#endif
