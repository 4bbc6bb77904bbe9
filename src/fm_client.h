/*
 * fm_client.h: delivery of one submission to Freshmarketer
 * (docs/freshmarketer.md): the client a process holds, made of
 *   fm_http        one API call through libcurl (or a test's transport), the
 *                  shared rate gate, and what an answer means (the result
 *                  types below come from there);
 *   fm_fieldcache  the field list: fetched, kept, shared; bodies built with it;
 *   fm_identity    the identity rule: which contact a message is written to;
 *   fm_state       the pause, rate-limit budget, cache and key mode shared by
 *                  every process through the spool;
 *   fm_account, fm_lists, fm_note
 *                  the steps after the contact (steps.h): its account, its
 *                  marketing lists (found by name through a shared cache),
 *                  a note; run through the client by fm_step.h.
 *
 * fm_deliver() checks the message has a userId and an email, that delivery
 * is not paused (one probe per FM_STATE_PROBE_S while the key is refused),
 * fetches the field list when the message needs it, then applies the
 * identity rule. A result that pauses (401/403) pauses every process. The
 * result says what happened, so that a caller (the worker, the spool) can act
 * on it. No result message ever quotes the API key.
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
#include "fm_http.h"
#include "mapping.h"
#include "submission.h"

struct fm_client;

/* NULL when out of memory or curl cannot be initialised. */
struct fm_client *fm_client_new(const struct config *cfg);
void fm_client_free(struct fm_client *c);

/*
 * Writes the contact of one submission (submission.h) for `form` (its
 * contact step) within `budget_ms` for all its API calls together. When an
 * account step of the submission is pending, the write also returns the
 * contact's account links (out->links) for that step. Always fills *out.
 */
void fm_deliver(struct fm_client *c, const struct submission *sub,
                const struct map_form *form, unsigned budget_ms,
                struct fm_result *out);


/*
 * Whether the CRM has a list named `name`, asked now within the client's
 * timeout (for `fmgate check --online`): 1 or 0; -1 with *out saying why
 * when it cannot tell (fm_lists_exists).
 */
int fm_client_list_exists(struct fm_client *c, const char *name, struct fm_result *out);

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

/*
 * Runs one step after the contact (ACCOUNT, LIST or NOTE, steps.h) for the
 * contact `contact_id` (written by the contact step), within `budget_ms`:
 * the account upserted and linked (fm_account.h; `links`: the contact's
 * links from its write, or NULL; step->id receives the account's id once
 * upserted, for the spool to record), the list found or created and the
 * contact added to it (fm_lists.h), the note added (fm_note.h; step->name is
 * its title). Paused delivery makes no call but the probe, as fm_deliver.
 * A 403 refuses the step (FM_REJECTED): a permission of the account's, not
 * a refused key; a 401 pauses delivery as for the contact.
 * Always fills *out; the caller records the step done on FM_DELIVERED.
 */
void fm_step(struct fm_client *c, struct step *step, long long contact_id,
             const struct fm_links *links, unsigned budget_ms, struct fm_result *out);

/*
 * The calls fm_step would make for `step`, one a line to `to`: "METHOD PATH"
 * and when it is made. A list's id comes from the lists cached (none with c
 * NULL); the contact's is shown as {contact}. For `fmgate try`.
 */
void fm_step_describe(struct fm_client *c, const struct step *step, FILE *to);

/* The rate-limit headers of the answers seen so far (struct fm_ratelimit). */
void fm_client_ratelimit(const struct fm_client *c, struct fm_ratelimit *out);

#endif
