/*
 * fm_account.h: the account step of a submission (steps.h): the company
 * upserted by name as a Freshmarketer account (sales account), then linked
 * to the contact (docs/freshmarketer.md).
 *
 * The account: POST /sales_accounts/upsert keyed on its name, once; its id
 * is then the step's (the spool records it), so a retry does not upsert it
 * again. The link: a contact's sales_accounts array replaces all its links,
 * so the links it has are read first (from the contact write's answer when
 * it asked for them, else GET /contacts/ID?include=sales_accounts) and sent
 * back with the new one; the new link is primary only when the contact had
 * none. A contact already linked to the account is left alone (no write).
 * A read that does not return the member (the CRM ignoring the include)
 * leaves the links unknown: the step is refused rather than risk unlinking.
 *
 * What can repeat: a crash between the upsert and the record of its id
 * repeats the upsert, which is harmless (keyed on the same name, it finds the
 * same account); a crash after the link is written repeats the read, which
 * then finds the link. Neither makes a second account or a second link.
 *
 * Outcomes: writes are judged by fm_http_classify (429/5xx FM_RETRY, 401/403
 * FM_PAUSED, other 4xx FM_REJECTED), reads by fm_http_read_ok (a 401 pauses,
 * other failures retry), except that a contact not found (404) is
 * FM_REJECTED: there is nothing to link.
 *
 * Ownership: nothing is kept; the transport is borrowed for the call.
 */
#ifndef FMGATE_FM_ACCOUNT_H
#define FMGATE_FM_ACCOUNT_H

#include <stdint.h>

#include "fm_http.h"

/*
 * Upserts the account `name` unless *account_id is already known (non-zero;
 * set here once upserted), then links it to the contact `contact_id`, whose
 * links are taken from `links` when it knows them (n >= 0) and else read.
 * Within `deadline` (clock_mono_ms) for all calls together. FM_DELIVERED when
 * the contact is linked; FM_REJECTED when it has FM_MAX_LINKS links or more
 * (no room to keep them all). out->calls counts on from what it holds.
 */
void fm_account_step(struct fm_http *h, const char *name, long long contact_id,
                     const struct fm_links *links, long long *account_id, uint64_t deadline,
                     struct fm_result *out);

#endif
