/*
 * deliver.h: the one home of delivery: an accepted submission is sent to
 * Freshmarketer, and what an attempt gave becomes a spool action, the same
 * for a worker (a new submission) and for `fmgate drain` (a waiting one).
 * docs/spool.md.
 *
 * The rule:
 *   FM_DELIVERED          nothing is kept (a waiting file is removed)
 *   FM_INVALID            a value the CRM field refuses: with the visitor
 *                         still there nothing is kept (they are asked to fix
 *                         it); a waiting one goes to the dead area
 *   FM_REJECTED, FM_CONFLICT  the dead area, with the outcome as its reason
 *   FM_RETRY after a call  the queue, attempts + 1, next attempt
 *                         fm_backoff_s() later (at least Retry-After)
 *   FM_RETRY held back before any call (the shared rate budget), FM_PAUSED:
 *                         not this submission's fault: attempts unchanged; a
 *                         new one waits what the shared state said, a waiting
 *                         one keeps its schedule
 *
 * A new submission (deliver_new): async mode queues it untried. sync mode
 * takes its userId's lock; with the lock held elsewhere (a delivery of the
 * same userId in progress) or an earlier one of the userId waiting, it is
 * queued behind, untried, so a userId's submissions reach the CRM in order;
 * otherwise it is tried within the config's timeout. No lock at all means an
 * unwritable spool: nothing can be queued meanwhile, so trying keeps the
 * order. A worker never tries somebody else's waiting submission.
 *
 * Steps (steps.h): the rule above is the contact step's. Once the contact
 * is done the other steps run in order within what is left of the budget:
 * one that goes through is done, one refused for good is marked refused with
 * its reason and the run goes on, one that must wait (FM_RETRY, FM_PAUSED)
 * or a spent budget stops the run. Then: all done, nothing is kept; nothing
 * pending but some refused, the dead area (the contact stays written; a
 * requeue runs only what is not done); some pending, the queue, by the rule
 * above for the attempt that stopped the run (a spent budget is not an
 * attempt). A visitor waits for the contact, and for the other steps only
 * within the budget. A waiting submission's record is rewritten durably
 * after each step that moved on, so a crash repeats at most one step.
 *
 * Other destinations (<notify>, <webhook>, <forward>): a new submission
 * first gets one spool file per destination of its form, untried and held
 * (spool_add_held) until after its attempt; no room for them is DELIVER_LOST
 * before Freshmarketer is asked. When its visitor is told it went through
 * (SENT, QUEUED, DEAD but for a refusal of the contact itself) they are
 * released, else dropped: `fmgate drain` delivers each on its own (spool.h),
 * so the visitor never waits for them, one failing never holds back
 * another, and a crash after the contact loses none (a held file falls due
 * when its hold ends). A destination's attempt follows the rule above
 * (FM_DELIVERED removes it, FM_REJECTED buries it, FM_RETRY reschedules it;
 * the same backoff); a destination the form no longer has is buried.
 *
 * Consent (consent.h): the records of a new submission's checked consent
 * boxes are appended to the ledger before anything else is written or sent;
 * a ledger that cannot be written is DELIVER_LOST (nothing was kept or
 * sent). When the visitor is not told the submission went (the dests'
 * rule above), a void line makes those records stop counting.
 *
 * Ownership: nothing is allocated; `fm.field` points into the form mapping.
 */
#ifndef FMGATE_DELIVER_H
#define FMGATE_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "fm_client.h"
#include "mapping.h"
#include "spool.h"
#include "submission.h"

enum deliver_fate {
	DELIVER_SENT,    /* Freshmarketer took it */
	DELIVER_FIX,     /* the visitor is asked to fix a value (fm.field) */
	DELIVER_DEAD,    /* kept in the dead area for the operator */
	DELIVER_QUEUED,  /* kept in the queue, to be tried (again) later */
	DELIVER_LOST,    /* a new one that could be neither tried nor checked for
	                    its place in line (the queue unreadable): not kept */
};

/* Why a new submission was queued without a try. */
enum deliver_why {
	DELIVER_TRIED = 0,   /* it was tried: `fm` says how it went */
	DELIVER_ASYNC,       /* async mode */
	DELIVER_BUSY,        /* its userId is being delivered right now */
	DELIVER_BEHIND,      /* an earlier one of its userId waits */
};

struct delivery {
	enum deliver_fate fate;
	enum deliver_why why;
	bool spool_ok;       /* the fate's spool action went through (for SENT
	                        from the queue: the file is gone; for a new one,
	                        the other destinations' files are written too);
	                        on false, app->spool.why says what failed */
	struct fm_result fm; /* when why == DELIVER_TRIED: the contact's attempt,
	                        or once it is done the attempt that stopped the
	                        run (the rule above reads it) */
	unsigned calls;      /* API calls of the whole run */
	bool contact_done;   /* the contact is written (now or before): the
	                        visitor's answer is a success whatever the other
	                        steps gave, as long as what is left is kept */
	bool refused;        /* DEAD because the contact itself was refused for
	                        good: the visitor is told so */
	size_t dests;        /* files written for the other destinations */
	char reason[SPOOL_MAX_ERROR]; /* DEAD: kept as its reason */
};

const char *deliver_why_name(enum deliver_why w);

/* A new, valid submission of `form` with its steps planned
 * (submission_plan): queued or tried as above (its steps' states move on).
 * The app must be ready (app_ready). */
void deliver_new(struct app *app, const struct mapping *m, const struct map_form *form,
                 struct submission *sub, struct delivery *out);

/*
 * A waiting submission whose userId's lock the caller holds (a file of
 * another destination: its lock, spool.h): marked in
 * flight until inflight_until (unix seconds; if this process dies mid-call
 * others wait that long), read back as a submission with its steps (one with
 * more than SUB_MAX_TRAITS traits or steps that do not read is FM_REJECTED:
 * buried), its pending steps run within budget_ms, then
 * removed, buried or rescheduled (it->st updated). False when it could not be marked (nothing
 * was tried; app->spool.why says why).
 */
bool deliver_waiting(struct app *app, const struct mapping *m, const struct map_form *form,
                     struct spool_item *it, unsigned budget_ms, long long inflight_until,
                     struct delivery *out);

#endif
