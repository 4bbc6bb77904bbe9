/*
 * fm_client.h: delivery of one submission to Freshmarketer (docs/freshmarketer.md).
 *
 * One client per process holds one libcurl easy handle, so the HTTP connection
 * is kept alive across submissions. TLS verification stays on, redirects are
 * never followed, only http and https are allowed, and every call has a
 * connect timeout and a total timeout bounded by the delivery budget.
 *
 * fm_deliver() performs the identity rule. Only a signed userId is trusted
 * (fm_contact_user_id_trusted). With a trusted id the contact is upserted
 * keyed on external_id: one call. An untrusted id first looks up the contact
 * with its external id (GET /lookup f=external_id): when that contact has
 * another email, FM_CONFLICT before any write, since only a signed id may
 * change a contact's email; otherwise the same upsert (two calls).
 * A 400 to a write that names a field of its body by its API name refreshes
 * the field list (below). Any other 400 is decided by data, never by the
 * message's words (they come in the account user's language): the contact
 * with the email is found and read whole (GET /contacts/ID; lookup rows are
 * partial). Another external id: FM_CONFLICT. None: adopted, written by id
 * (a refusal then means the userId is another contact's: FM_CONFLICT). Ours:
 * the account refuses external_id as the key. No contact with the email: the
 * contact with the userId is updated by id, or one is created with POST
 * /contacts (which never matches an existing contact); when either goes
 * through after the refused upsert, the account refuses external_id as the
 * key; when it is refused too, FM_REJECTED.
 * An account that refuses the key switches every process to the emails mode
 * (fm_state.h): the contact is found by external id and updated by id, else
 * placed by its email as above; 2 calls to update, 3 to create.
 * Reads (field list, lookups, contacts) answered 401 pause delivery; any
 * other failed read, a 403 included, is FM_RETRY for this submission only.
 * A write answered 401 or 403 pauses. The result says what happened, so that
 * a caller (the worker, the spool) can act on it.
 *
 * The field list comes from this process's copy, the cache shared through
 * SPOOL/state/fields.json, or the API (GET /settings/contacts/fields) when the
 * cache is older than the config's fields_max_age_s; a failed refresh keeps
 * serving the last good copy (fetching again at most once a minute). A 400
 * naming a field of the body refreshes the list once, rebuilds the body and,
 * when it changed, sends it once more; a 400 that still names a field is
 * FM_REJECTED. With a warm cache and no identity conflict a delivery costs one
 * call. Pause and rate limits: see fm_state.h.
 *
 * Ownership: the client copies what it needs from the config; the caller frees
 * it with fm_client_free(). Bodies returned by fm_request_body() belong to the
 * caller (cJSON_Delete / free).
 */
#ifndef FMGATE_FM_CLIENT_H
#define FMGATE_FM_CLIENT_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "fm_fields.h"
#include "mapping.h"
#include "submission.h"

enum fm_outcome {
	FM_DELIVERED = 0, /* 200/201: contact created or updated */
	FM_RETRY,         /* network error, timeout, 429, 5xx: try again later */
	FM_REJECTED,      /* final 4xx: the API refused this contact */
	FM_PAUSED,        /* 401/403: the key is bad; stop delivering everything */
	FM_CONFLICT,      /* the email belongs to a contact with another external id */
	FM_INVALID,       /* a value the Freshmarketer field's type refuses: nothing
	                     was sent; `field` names the form field (invalid_value) */
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
};

struct fm_client;

/* NULL when out of memory or curl cannot be initialised. */
struct fm_client *fm_client_new(const struct config *cfg);
void fm_client_free(struct fm_client *c);

/*
 * Delivers one submission (submission.h) for `form`
 * within `budget_ms` for all its API calls together. Always fills *out.
 */
void fm_deliver(struct fm_client *c, const struct submission *sub,
                const struct map_form *form, unsigned budget_ms,
                struct fm_result *out);

/*
 * The body fm_deliver would send first (the upsert keyed on external_id), for
 * `fmgate try`. With c NULL no label lookup is done (traits that need the
 * field list are left out). Returns NULL when out of memory, or when a value
 * does not fit its field (fm_request_explain tells which).
 * A client that made a dry run writes no shared state from then on: it reads
 * the cached field list, and fetches it when it must, but never stores it
 * and never pauses or resumes delivery.
 */
cJSON *fm_request_body(struct fm_client *c, const struct submission *sub,
                       const struct map_form *form);

/*
 * The same, printing to `to` (when not NULL) one line per trait: the field it
 * resolved to, how (fm-field, reserved trait, label) and the converted value,
 * or why it is left out. On NULL *out says why: FM_INVALID with `field` and a
 * message naming the Freshmarketer field and what it takes, or FM_RETRY.
 */
cJSON *fm_request_explain(struct fm_client *c, const struct submission *sub,
                          const struct map_form *form, FILE *to,
                          struct fm_result *out);

/*
 * The account's field list fetched now from the API (the cache is neither
 * read nor written), within the client's timeout: for `fmgate fields` and
 * `fmgate check --online`. NULL with *out filled when none could be had
 * (FM_PAUSED: the key or domain was refused; FM_RETRY: unreachable, failing
 * or unparsable). The list belongs to the client and lives until the next
 * call or fm_client_free().
 */
const struct fm_fields *fm_client_fields(struct fm_client *c, struct fm_result *out);

const char *fm_outcome_name(enum fm_outcome o);

/*
 * The rate-limit headers of the answers seen so far (each value from the last
 * answer that carried it; -1 when never seen): x-ratelimit-limit/-remaining/
 * -reset for the hour window and per-min-x-ratelimit-* for the minute window;
 * a reset as seconds until it, whatever form the API wrote it in, never more
 * than its window (fm_rl_reset_s). For the spool's backoff.
 */
struct fm_ratelimit {
	long hour_limit, hour_remaining, hour_reset;
	long minute_limit, minute_remaining, minute_reset;
};

void fm_client_ratelimit(const struct fm_client *c, struct fm_ratelimit *out);

#endif
