/*
 * fm_step.h: the steps of a submission after its contact (steps.h), run
 * through the client of fm_client.h (which implements these).
 *
 * Declared apart from fm_client.h, which every user of the contact delivery
 * includes (app.h among them): only the modules that run or show steps see
 * the step types.
 *
 * Ownership: the step is the caller's; fm_step sets step->id (the account's,
 * once upserted) and nothing else in it.
 */
#ifndef FMGATE_FM_STEP_H
#define FMGATE_FM_STEP_H

#include <stdio.h>

#include "fm_client.h"
#include "fm_http.h"
#include "steps.h"

/*
 * Runs one step after the contact (ACCOUNT, LIST or NOTE, steps.h) for the
 * contact `contact_id` (written by the contact step), within `budget_ms`:
 * the account upserted and linked (fm_account.h; `links`: the contact's
 * links from its write, or NULL; step->id receives the account's id once
 * upserted, for the spool to record), the list found or created and the
 * contact added to it (fm_lists.h), the note added (fm_note.h; step->name is
 * its title). Paused delivery makes no call but the probe, as fm_deliver.
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

#endif
