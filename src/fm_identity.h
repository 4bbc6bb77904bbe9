/*
 * fm_identity.h: the identity rule: which contact one submission is
 * written to, and how (docs/freshmarketer.md).
 *
 * Only a signed userId is trusted (submission_trusted). With a
 * trusted id the contact is upserted keyed on external_id: one call. An
 * untrusted id first looks up the contact with its external id (GET /lookup
 * f=external_id): when that contact has another email, FM_CONFLICT before any
 * write, since only a signed id may change a contact's email; otherwise the
 * same upsert (two calls).
 * A 400 to a write that names a field of its body by its API name refreshes
 * the field list once (fm_fieldcache.h), rebuilds the body and, when it
 * changed, sends it once more; a 400 that still names a field is
 * FM_REJECTED. Any other 400 is decided by data, never by the message's
 * words (they come in the account user's language): the contact with the
 * email is found and read whole (GET /contacts/ID; lookup rows are partial).
 * Another external id: FM_CONFLICT. None: adopted, written by id (a refusal
 * then means the userId is another contact's: FM_CONFLICT). Ours: the
 * account refuses external_id as the key. No contact with the email: the
 * contact with the userId is updated by id, or one is created with POST
 * /contacts (which never matches an existing contact); when either goes
 * through after the refused upsert, the account refuses external_id as the
 * key; when it is refused too, FM_REJECTED.
 * An account that refuses the key switches every process to the emails mode
 * (fm_state.h): the contact is found by external id and updated by id, else
 * placed by its email as above; 2 calls to update, 3 to create.
 * Reads (lookups, contacts) are judged by fm_http_read_ok: a 401 pauses, any
 * other failure (a 403 included) is FM_RETRY for this submission only. A
 * write answered 401 or 403 is FM_PAUSED (fm_http_classify). With a warm
 * field list and no identity conflict a delivery costs one call.
 *
 * Ownership: nothing is kept between calls; the message and form are the
 * caller's, and the field cache and transport are borrowed for the call.
 */
#ifndef FMGATE_FM_IDENTITY_H
#define FMGATE_FM_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "fm_fieldcache.h"
#include "fm_http.h"
#include "mapping.h"
#include "submission.h"

/*
 * Writes the contact of `sub` (which has a userId and an email) for
 * `form` by the rule above, within `deadline` (clock_mono_ms) for all calls
 * together, through fc's transport. Fills out's outcome, message, status and
 * contact id; out->calls counts on from what it holds. With `want_links`
 * every contact write asks for the contact's account links
 * (?include=sales_accounts), so that out->links holds them for the account
 * step (fm_account.h), which then need not read the contact again.
 */
void fm_identity_deliver(struct fm_fieldcache *fc, const struct submission *sub,
                         const struct map_form *form, uint64_t deadline, bool want_links,
                         struct fm_result *out);

#endif
