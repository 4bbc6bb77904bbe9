/*
 * fm_http.h: one call to the Freshmarketer API, and what its answer means
 * (docs/freshmarketer.md). The bottom of the client: fm_fieldcache,
 * fm_identity and fm_client build on it; it includes none of them.
 *
 * A call goes through a transport (struct fm_transport): libcurl in
 * production (fm_curl_*), canned answers in unit tests. The libcurl transport
 * holds one easy handle, so the HTTP connection is kept alive across
 * submissions. TLS verification stays on, redirects are never followed, only
 * http and https are allowed, and every call has a connect timeout and a
 * total timeout bounded by the delivery budget. libcurl is initialised once
 * per process (fm_curl_new) and never cleaned up, and the process's clients
 * share one connection cache, so a new client (a mapping reload) keeps TLS
 * set up and the kept-alive connection. A process uses its clients from one
 * thread, and makes none before it forks.
 *
 * Before each call the shared rate-limit budget (fm_state.h) is asked for a
 * slot, waiting within half of what is left of the budget; after each answer
 * its rate-limit headers and Retry-After are recorded there. A call that
 * gets a 2xx tells the state the key works.
 *
 * Ownership: struct fm_http borrows its transport's context and its state;
 * the answer it holds (h->ans, read with fm_http_json) belongs to the
 * transport and lives until the next call. An fm_curl belongs to whoever
 * made it (fm_curl_free).
 */
#ifndef FMGATE_FM_HTTP_H
#define FMGATE_FM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "fm_state.h"
#include "fmgate_limits.h"

#define FM_RETRY_AFTER_MAX (7L * 24 * 3600) /* a longer Retry-After is taken as this */
#define FM_HEADER_VALUE_MAX 64u              /* bytes of a rate-limit header value read */
#define FM_SEND_ERROR_MAX   256u             /* bytes of a transport's error message */
#define FM_CONN_MAX_IDLE_S  3600L            /* a kept-alive connection idle this long is
                                                not reused (libcurl's own default, 118 s,
                                                made a quiet worker reconnect) */

enum fm_outcome {
	FM_DELIVERED = 0, /* 200/201: contact created or updated */
	FM_RETRY,         /* network error, timeout, 429, 5xx: try again later */
	FM_REJECTED,      /* final 4xx: the API refused this contact */
	FM_PAUSED,        /* 401/403: the key is bad; stop delivering everything */
	FM_CONFLICT,      /* the email belongs to a contact with another external id */
	FM_INVALID,       /* a value the Freshmarketer field's type refuses: nothing
	                     was sent; `field` names the form field (invalid_value) */
};

/* A contact's links to accounts (contact.sales_accounts), as a write that
 * asked for them (?include=sales_accounts) or a read of the contact returned
 * them. */
#define FM_MAX_LINKS 64u   /* links of one contact read */

struct fm_link {
	long long id;          /* the account */
	bool primary;          /* is_primary */
};

/* The query that makes a contact's read or write return its links. */
#define FM_INCLUDE_LINKS "?include=sales_accounts"

struct fm_links {
	int n;                 /* -1: unknown (not in the answer, more than
	                          FM_MAX_LINKS, or an entry without a usable id) */
	struct fm_link v[FM_MAX_LINKS];
};

struct fm_result {
	enum fm_outcome outcome;
	long http_status;      /* last HTTP status, 0 when no answer */
	long retry_after_s;    /* from Retry-After, or (FM_RETRY with calls == 0)
	                          the wait the shared rate-limit budget imposes, or
	                          (FM_PAUSED) the seconds until the next probe of
	                          the key; -1 when absent */
	long long contact_id;  /* on FM_DELIVERED, when the answer gave one */
	unsigned calls;        /* API calls this delivery made */
	char message[512];     /* the API's error message or the network error */
	const char *field;     /* on FM_INVALID: the form field's name (owned by the
	                          form mapping), or NULL for a constant */
	struct fm_links links; /* on FM_DELIVERED: the contact's links, when the
	                          write's answer gave them; n -1 otherwise */
};

const char *fm_outcome_name(enum fm_outcome o);

/* An empty result: FM_DELIVERED, no status, no Retry-After, no calls, links
 * unknown. */
void fm_result_start(struct fm_result *out);

/* Sets the outcome and the message (printf format). */
void fm_result_say(struct fm_result *out, enum fm_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* struct fm_ratelimit: fm_state.h. */

/*
 * One rate-limit header of an answer received at `now` into its member of
 * *rl (name in any case: x-ratelimit-limit, -remaining, -reset and their
 * per-min- twins): a count 0..10^12, left as it was when the value is not
 * one; a reset by fm_rl_reset_s(). False when `name` is none of these.
 */
bool fm_rl_header(struct fm_ratelimit *rl, const char *name, const char *value, time_t now);

/* ---- the transport seam ------------------------------------------------- */

struct fm_send {
	const char *method;       /* "GET", "POST" or "PUT" */
	const char *url;          /* the API base followed by path */
	const char *path;         /* the part after the base, query included */
	const char *json;         /* the body; NULL for a GET */
	long timeout_ms;          /* for the whole call, > 0 */
	long connect_timeout_ms;  /* for the connection, > 0 */
};

struct fm_answer {
	long status;              /* 0 when no answer arrived */
	const char *body;         /* NUL-terminated, len bytes (never NULL); owned
	                             by the transport until its next send */
	size_t len;
	long retry_after_s;       /* 0..FM_RETRY_AFTER_MAX; -1 when absent */
	struct fm_ratelimit rl;   /* -1 for each header absent */
	char error[FM_SEND_ERROR_MAX]; /* when the call failed: why */
};

/*
 * Sends one request and fills *ans (every member). True when a whole answer
 * arrived; false with ans->error saying why (a status may still be set, as
 * for an answer cut off at LIMIT_MAX_UPSTREAM_BODY).
 */
typedef bool fm_send_fn(void *ctx, const struct fm_send *rq, struct fm_answer *ans);

struct fm_transport {
	fm_send_fn *send;
	void *ctx;
};

struct curl_slist;

/* Appends header line `h` to *list (libcurl copies it); false when out of
 * memory, *list then unchanged. For every libcurl request fmgate builds. */
bool fm_http_add_header(struct curl_slist **list, const char *h);

/* The libcurl transport, sending `api_key` as the token. NULL when out of
 * memory or libcurl cannot be initialised. */
struct fm_curl *fm_curl_new(const char *api_key);
void fm_curl_free(struct fm_curl *k);
bool fm_curl_send(void *ctx, const struct fm_send *rq, struct fm_answer *ans); /* ctx: an fm_curl */

/* ---- calls ---------------------------------------------------------------- */

struct fm_http {
	struct fm_transport tr;
	struct fm_state *st;      /* shared pause and budget (borrowed) */
	char base[LIMIT_MAX_URL]; /* the API base URL */
	struct fm_ratelimit rl;   /* every rate-limit header seen so far */
	struct fm_answer ans;     /* the last answer */
};

void fm_http_init(struct fm_http *h, struct fm_transport tr, struct fm_state *st,
                  const char *base);

/*
 * Performs one call within what is left of the budget (`deadline`, from
 * clock_mono_ms). `path` follows the base and may hold a query; `json` is the
 * body (NULL for a GET). Counts the call in out->calls and sets
 * out->http_status and out->retry_after_s from the answer.
 * True with *status set when an answer arrived (h->ans holds it);
 * otherwise *out is FM_RETRY with the reason.
 */
bool fm_http_call(struct fm_http *h, const char *method, const char *path, const char *json,
                  uint64_t deadline, struct fm_result *out, long *status);

/* The last answer's body, parsed; NULL when it is not JSON. The caller
 * deletes it. */
cJSON *fm_http_json(const struct fm_http *h);

/* An id in an answer (a positive number that fits a long long), or 0. */
long long fm_id_of(const cJSON *id);

/* The id of the object `kind` in the last answer ({"KIND":{"id":N,..}}, as a
 * write answers with what it made), or 0. */
long long fm_http_answer_id(const struct fm_http *h, const char *kind);

/*
 * The links of `contact` (a contact object of an answer): true when it has a
 * sales_accounts array, with out->n its entries, or -1 when there are more
 * than FM_MAX_LINKS or one has no usable id (writing back what was read would
 * then lose links). False, with out->n -1, when it has none.
 */
bool fm_links_read(const cJSON *contact, struct fm_links *out);

/*
 * Sets the outcome of a write answered `status`: 2xx FM_DELIVERED (with the
 * contact's id and its links when the answer gives them), 429 and 5xx FM_RETRY, 401 and 403
 * FM_PAUSED, other 4xx FM_REJECTED, anything else FM_RETRY. The message is
 * the API's errors.message (an array joined with "; "), or "HTTP N".
 */
void fm_http_classify(const struct fm_http *h, long status, struct fm_result *out);

/*
 * A read (field list, lookup, contact) answered `status`: true for a 200.
 * Only a 401 pauses (FM_PAUSED): a refused key refuses everything. Any other
 * answer, a 403 included (seen now and then on /lookup while writes worked),
 * is FM_RETRY for this submission only.
 */
bool fm_http_read_ok(const struct fm_http *h, long status, struct fm_result *out);

#endif
