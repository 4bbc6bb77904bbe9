/*
 * response.h: an HTTP answer built up by the handler, then written once.
 *
 * Header values are checked with esc_header_safe() when added: a value with
 * CR, LF or any other control byte is refused, so no request byte can add a
 * header or split the response. Bodies are built by the caller with the
 * escaping of their context (HTML via esc_html, JSON via cJSON).
 *
 * Ownership: a response owns its header values and body; response_free()
 * releases them and is safe on an initialised response in any state.
 */
#ifndef FMGATE_RESPONSE_H
#define FMGATE_RESPONSE_H

#include <stddef.h>

#include "buf.h"
#include "fmgate_limits.h"

#define RESP_MAX_HEADERS 12
#define RESP_MAX_BODY    (64u * 1024u)

struct resp_header {
	const char *name;   /* a static string */
	char *value;
};

struct response {
	int status;
	struct resp_header headers[RESP_MAX_HEADERS];
	size_t n_headers;
	const char *content_type;  /* static string, or NULL for no body */
	struct buf body;
};

enum resp_err {
	RESP_OK = 0,
	RESP_EUNSAFE,   /* a header value with a control byte: not added */
	RESP_EFULL,     /* too many headers, or body over RESP_MAX_BODY */
	RESP_ENOMEM,
};

void response_init(struct response *r);
void response_free(struct response *r);

/* Replaces the whole answer with an empty one of this status (keeps nothing). */
void response_reset(struct response *r, int status);

__attribute__((warn_unused_result))
enum resp_err response_header(struct response *r, const char *name, const char *value);

/*
 * A 303 to url: the Location header, then the status, so that no answer is
 * ever a 303 without Location. When the header is refused (unsafe bytes, no
 * room, no memory) nothing changes and the error says why; the caller falls
 * back to another answer.
 */
__attribute__((warn_unused_result))
enum resp_err response_redirect(struct response *r, const char *url);

/* The reason phrase of a status code ("See Other"). */
const char *response_reason(int status);

/* An error the visitor can act on: a docs/behaviour.md code and the field it concerns. */
struct field_error {
	const char *code;
	const char *field;    /* the mapping's field name, or NULL */
};

/*
 * The failure URL of a refused post: `base` (the mapping's failure URL) with
 * error=CODE, then field=NAME when errs[0] names a field, then, when n > 0,
 * errors=LIST, inserted before any fragment (after base's own query, joined
 * with "&"). LIST is each error in order, "CODE" or "CODE:FIELD" with FIELD
 * percent-encoded, joined by ","; the whole LIST is percent-encoded again as
 * a query value, so neither a "," nor a ":" in a field name can split it.
 * Only error=CODE always goes in (a code is short, and the base is the
 * operator's, itself at most LIMIT_MAX_URL bytes, so the URL may exceed it
 * by that much); field=NAME is left off when it would make the URL longer
 * than LIMIT_MAX_URL, and so are the errors entries, from the first that
 * does not fit (the list is a prefix, maybe empty, and then absent). Only
 * codes and the mapping's field names go in: never a value.
 * Appends to u (its max must hold LIMIT_MAX_URL and the base).
 */
enum buf_err response_failure_url(struct buf *u, const char *base, const char *code,
                                  const struct field_error *errs, size_t n);

/* The CGI/FastCGI form of the answer: "Status: 303 See Other\r\n", the headers,
 * Content-Type and Content-Length when there is a body, a blank line, the body.
 * out must be initialised; the caller frees it. */
enum resp_err response_serialise(const struct response *r, struct buf *out);

#endif
