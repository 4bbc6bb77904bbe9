/*
 * url.h: the one reader of http(s) URLs in fmgate (Origin and Referer
 * headers, redirect targets, allow-list entries, the Freshmarketer API base).
 *
 * A URL is read twice: by fmgate's grammar below, then by libcurl's URL API
 * (curl_url_set() with only the schemes libcurl supports). Both must agree on
 * scheme, host and port, or the URL is refused. libcurl alone is too lenient
 * here: it reads "https:/x" and "https:///x" as host x, decodes "%61" in a
 * host, takes port 0 and reads "127.1" or "0x7f.0.0.1" as 127.0.0.1; the
 * grammar alone could split a URL where libcurl (which fm_client connects
 * with) and browsers do not. What passes both is read one way by all three.
 *
 * The grammar, under every rule set:
 *   - at most LIMIT_MAX_URL bytes; no white space, control byte or backslash
 *     anywhere; no byte above 0x7e, except after the authority of URL_SOURCE;
 *   - "http://" or "https://" in any case, then the authority, which ends at
 *     the first '/', '?' or '#': host[:port], never user info ('@');
 *   - host: a DNS name, labels of ASCII letters, digits and '-', each 1 to 63
 *     bytes, at most URL_MAX_HOST in all (so no leading, trailing or double
 *     '.'; an IDN host must be written in punycode); port: decimal digits,
 *     1 to 65535, never empty.
 * The rule sets add:
 *   URL_SOURCE    an Origin or Referer value: any path, query and fragment.
 *   URL_TARGET    a redirect target: printable ASCII; or a path, "/" not
 *                 followed by a second '/'.
 *   URL_ALLOW     an allow-list entry: nothing after the authority, not even
 *                 '/'; the host may be "*." before two labels or more.
 *   URL_API_BASE  printable ASCII, no '?', '#' or '@' anywhere; the host may
 *                 be an IPv6 literal "[...]"; https, or plain http only to a
 *                 loopback host: localhost, [::1] or 127.x.x.x written as
 *                 four plain decimal octets.
 *
 * libcurl: the URL API needs no curl_global_init(). Its source only
 * allocates, through libcurl's allocator hooks, which are statically set to
 * malloc() and friends before any init, and keeps no global state (IDN
 * conversion, which could need more, is never asked for). libcurl's manual
 * asks for the init before any call in general; main.c makes it at start-up
 * for fm_client anyway. url.c never calls it, so the unit tests run without.
 *
 * Memory: nothing is kept; every result is in the caller's struct url.
 */
#ifndef FMGATE_URL_H
#define FMGATE_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "fmgate_limits.h"

#define URL_MAX_HOST 253u   /* bytes of a DNS name */

enum url_rules {
	URL_SOURCE,
	URL_TARGET,
	URL_ALLOW,
	URL_API_BASE,
};

struct url {
	bool https;
	bool wildcard;                /* URL_ALLOW "*.host": host is without "*." */
	char host[URL_MAX_HOST + 1];  /* lower case; "" when a URL_TARGET is a path */
	unsigned port;                /* 0 when none or the scheme's default */
};

/* Whether a host as struct url keeps it (lower case) is a loopback one:
 * localhost, [::1] or 127.x.x.x in four plain decimal octets. */
bool url_host_loopback(const char *host);

enum url_err {
	URL_OK = 0,
	URL_ELONG,       /* over LIMIT_MAX_URL bytes */
	URL_EBYTES,      /* white space, control or (where refused) non-ASCII bytes */
	URL_EBACKSLASH,  /* a backslash, which URL parsers read differently */
	URL_ESCHEME,     /* not http:// or https:// (nor a path, for URL_TARGET) */
	URL_ESLASHES,    /* a URL_TARGET path starting with "//" */
	URL_EUSER,       /* user info */
	URL_EHOST,       /* host or port malformed, or libcurl reads them otherwise */
	URL_EPATH,       /* something after the authority of a URL_ALLOW entry */
	URL_EWILDCARD,   /* a '*' elsewhere than "*." before two labels (URL_ALLOW) */
	URL_EQUERY,      /* a query or fragment in a URL_API_BASE */
	URL_EPLAIN,      /* a URL_API_BASE in plain http to a host not loopback */
	URL_ENOMEM,
};

/*
 * Reads s under `rules` into *out (out may be NULL when only the verdict is
 * wanted; *out is written only on URL_OK). s may be NULL (URL_ESCHEME).
 */
enum url_err url_parse(const char *s, enum url_rules rules, struct url *out);

/* "scheme://host[:port]" of an absolute u into out; false when it does not fit. */
bool url_origin(const struct url *u, char *out, size_t size);

/* True when h[0..n) is a host name by the grammar above. */
bool url_host_name(const char *h, size_t n);

/* Why, as a phrase that follows the value's name ("api-base is too long"). */
const char *url_strerror(enum url_err e);

#endif
