/*
 * request.h: one request's CGI/FastCGI parameters and body, read under limits.
 *
 * The same code serves plain CGI (getenv, stdin), FastCGI (FCGX params and
 * stream) and the fuzzers (arrays in memory): parameters come through a getter
 * and the body through a reader.
 *
 * Ownership: every string in a struct request is owned by it (copied, each at
 * most LIMIT_MAX_HEADER bytes) and released by request_free(), which is safe
 * on a zeroed or partly filled request. A longer header counts as absent;
 * for Origin and Referer it is flagged, since their absence lets a post in.
 */
#ifndef FMGATE_REQUEST_H
#define FMGATE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fmgate_limits.h"
#include "mapping.h"
#include "netaddr.h"

/* Returns the parameter's value or NULL; the string stays valid until the
 * next call (serve joins a header's copies in one buffer): copy it first. */
typedef const char *(*req_param_fn)(void *ctx, const char *name);
/* Waits at most timeout_ms (>= 1) for input, then reads up to len bytes;
 * returns how many (0 at end of input), -1 on error, REQ_READ_TIMEOUT when
 * nothing came in time. */
typedef ssize_t (*req_read_fn)(void *ctx, char *buf, size_t len, int timeout_ms);
#define REQ_READ_TIMEOUT (-2)

struct request {
	char *method;          /* REQUEST_METHOD */
	char *form_id;         /* from PATH_INFO (or the last REQUEST_URI segment); NULL if none or malformed */
	char *content_type;
	char *origin;          /* HTTP_ORIGIN */
	char *referer;         /* HTTP_REFERER */
	char *cookie;          /* HTTP_COOKIE */
	char *accept;          /* HTTP_ACCEPT */
	char *accept_language; /* HTTP_ACCEPT_LANGUAGE */
	char *user_agent;
	char *remote_addr;
	char *proxy_header[MAP_PROXY_HEADERS]; /* by enum map_proxy_header:
	                          HTTP_X_FORWARDED_FOR, _X_REAL_IP, ... */
	char *ac_request_method; /* HTTP_ACCESS_CONTROL_REQUEST_METHOD */
	bool origin_oversized;  /* Origin was sent but over LIMIT_MAX_HEADER (origin is NULL) */
	bool referer_oversized; /* the same for Referer */
	long long content_length; /* -1 when absent */
	bool content_length_bad;  /* present but not a non-negative decimal */
	char *body;            /* NUL-terminated; body_len bytes */
	size_t body_len;
};

enum req_err {
	REQ_OK = 0,
	REQ_ETOOLARGE,   /* CONTENT_LENGTH or the bytes read exceed max_body: 413 */
	REQ_EBADLENGTH,  /* CONTENT_LENGTH malformed or negative: 400 */
	REQ_ESHORT,      /* fewer bytes arrived than CONTENT_LENGTH said: 400 */
	REQ_EREAD,       /* the reader failed: 400 */
	REQ_ETIMEOUT,    /* the body did not arrive within the read timeout: 408 */
	REQ_ENOMEM,
};

/* Copies the parameters fmgate uses. Never fails but for memory. */
enum req_err request_init(struct request *r, req_param_fn param, void *ctx);

/*
 * Reads the body: exactly CONTENT_LENGTH bytes when it is given (refused
 * before reading when over max_body), else up to end of input, refused once
 * more than max_body bytes arrived. The whole body must arrive within
 * timeout_ms of the call, however it trickles: a stalled client holds a
 * worker no longer than that.
 */
enum req_err request_read_body(struct request *r, req_read_fn rd, void *ctx,
                               size_t max_body, unsigned timeout_ms);

/*
 * The client address in *out: REMOTE_ADDR, or, when REMOTE_ADDR is inside a
 * <trusted-proxy> range (the first in the file's order), the address that
 * range's header names: for X-Forwarded-For the right-most entry outside
 * every <trusted-proxy>, for a one-address header (CF-Connecting-IP ...) its
 * value. A header that is absent or holds anything but IP addresses is
 * ignored: REMOTE_ADDR counts. IPv4-mapped IPv6 addresses are IPv4 ones,
 * in REMOTE_ADDR and in the headers. False when REMOTE_ADDR is missing or
 * not an IP address (a web server's configuration error).
 */
bool request_client_addr(const struct request *r, const struct map_settings *s,
                         struct netaddr *out);

/* True when the client prefers JSON: Accept names application/json before
 * any text/html (q-values are not weighed). */
bool request_wants_json(const struct request *r);

void request_free(struct request *r);

const char *request_strerror(enum req_err e);

#endif
