/* deliver.c: one delivery attempt and what becomes of the submission after it. */
#include "deliver.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "consent.h"
#include "fm_state.h"
#include "log.h"
#include "metrics.h"
#include "text.h"

#define DELIVER_HOLD_MARGIN_S 30  /* a held file's hold beyond the attempt's budget */

const char *deliver_why_name(enum deliver_why w)
{
	switch (w) {
	case DELIVER_TRIED:  return "tried";
	case DELIVER_ASYNC:  return "async";
	case DELIVER_BUSY:   return "busy";
	case DELIVER_BEHIND: return "behind";
	}
	return "?";
}

/* The text kept with a submission that failed: the dead area's reason or
 * the queue's last error. */
static void reason_of(const struct fm_result *r, char *dst, size_t size)
{
	if (r->outcome == FM_INVALID)
		snprintf(dst, size, "invalid_value field=%.64s: %.400s", r->field ? r->field : "-",
		         r->message);
	else
		snprintf(dst, size, "%s http=%ld%s%.400s", fm_outcome_name(r->outcome),
		         r->http_status, r->message[0] ? " " : "", r->message);
	text_utf8_repair(dst);   /* the cut may split a character; it goes into JSON */
}

/*
 * The rule of deliver.h for the attempt in out->fm: out->fate, with the dead
 * area's reason for DEAD, and for QUEUED the new state `st` (from the
 * submission's state before; `now` in unix seconds). *held is true when the
 * schedule is the shared state's, not this submission's: a waiting one then
 * keeps its own.
 */
static void decide(struct delivery *out, bool visitor, bool gated, time_t now,
                   struct spool_state *st, bool *held)
{
	const struct fm_result *r = &out->fm;

	*held = false;
	switch (r->outcome) {
	case FM_DELIVERED:
		out->fate = DELIVER_SENT;
		return;
	case FM_INVALID:
		if (visitor) {
			out->fate = DELIVER_FIX;
			return;
		}
		/* fall through */
	case FM_REJECTED:
	case FM_CONFLICT:
		out->fate = DELIVER_DEAD;
		reason_of(r, out->reason, sizeof out->reason);
		return;
	case FM_RETRY:
	case FM_PAUSED:
		break;
	}
	out->fate = DELIVER_QUEUED;
	reason_of(r, st->last_error, sizeof st->last_error);
	/* A call that failed counts as an attempt; a call the shared state held
	 * back (rate limit, paused key: Freshmarketer's, `gated`) does not. */
	if ((r->calls > 0 || !gated) && r->outcome == FM_RETRY) {
		st->attempts++;
		st->next_attempt = (long long)now + fm_backoff_s(st->attempts, r->retry_after_s);
	} else {
		*held = true;
		if (r->retry_after_s > 0)
			st->next_attempt = (long long)now + r->retry_after_s;
	}
}

/* Where a waiting submission's steps are recorded as they go (NULL for a new
 * one: nothing is on disk until the run ends). */
struct record {
	struct spool *sp;
	struct spool_item *it;
	long long mark;          /* the in-flight mark the file keeps */
};

/* Writes the steps back after one of them moved on; false when the record
 * could not be written (the run stops: what is on disk is still true). */
static bool record_steps(struct record *rec, const struct steps *steps)
{
	cJSON *j;

	if (!rec)
		return true;
	if (!(j = steps_to_json(steps))) {
		snprintf(rec->sp->why, sizeof rec->sp->why, "out of memory for the steps");
		return false;
	}
	cJSON_Delete(rec->it->steps);
	rec->it->steps = j;
	return spool_save(rec->sp, rec->it, rec->mark) == SPOOL_OK;
}

/* A step refused for good keeps its reason ("list \"Name\": ..."); a company
 * or a note's text is never quoted (a visitor typed it). */
static void refuse_step(struct step *st, const struct fm_result *r)
{
	char why[STEPS_MAX_REASON], kept[STEPS_MAX_REASON];

	reason_of(r, why, sizeof why);
	if (st->kind == STEP_LIST)
		snprintf(kept, sizeof kept, "list \"%.100s\": %.380s", st->name, why);
	else
		snprintf(kept, sizeof kept, "%s: %.480s", step_kind_name(st->kind), why);
	if (steps_refuse(st, kept) != STEPS_OK)
		steps_refuse(st, "refused");   /* the state matters more than the words */
}

/*
 * Runs the steps of `sub` (planned, or read back: the contact step first)
 * that are pending, within budget_ms: the contact
 * first; once it is done, the others in order, each done or refused for good
 * in turn, until one must wait (FM_RETRY, FM_PAUSED) or the budget is spent.
 * out->fm is the contact's attempt while it is not done, else the attempt
 * that stopped the run (or an untried FM_RETRY for a spent budget);
 * out->calls counts the whole run's. False when the record could not be
 * written.
 */
static bool run_steps(struct app *app, const struct map_form *form, struct submission *sub,
                      unsigned budget_ms, struct record *rec, struct delivery *out)
{
	int64_t deadline = clock_mono_ms() + budget_ms;
	struct step *contact = steps_contact(&sub->steps);
	const struct fm_links *links = NULL;
	unsigned calls = 0;

	bool more = steps_pending_after_contact(&sub->steps);

	if (contact->state != STEP_DONE) {
		app->deliver(app->fm, sub, form, budget_ms, &out->fm);
		out->calls = out->fm.calls;
		if (out->fm.outcome != FM_DELIVERED)
			return true;
		if (out->fm.contact_id <= 0 && more) {
			/* Nothing to hang the other steps on: written again later
			 * (the same values, the same contact). */
			out->fm.outcome = FM_RETRY;
			snprintf(out->fm.message, sizeof out->fm.message,
			         "the contact's write gave no id");
			return true;
		}
		contact->state = STEP_DONE;
		contact->id = out->fm.contact_id;
		links = &out->fm.links;
		calls = out->fm.calls;
		/* Recorded only when a step follows: a contact alone is removed
		 * next, and a crash before that repeats its upsert. */
		if (more && !record_steps(rec, &sub->steps))
			return false;
	}
	out->contact_done = true;
	for (size_t i = 1; i < sub->steps.n; i++) {
		struct step *st = &sub->steps.v[i];
		int64_t left = deadline - clock_mono_ms();
		struct fm_result r;
		long long id_before = st->id;

		if (st->state != STEP_PENDING)
			continue;
		if (left <= 0) {
			fm_result_start(&out->fm);
			fm_result_say(&out->fm, FM_RETRY, "the delivery budget was spent before this step");
			break;
		}
		app->step(app->fm, st, contact->id, links, (unsigned)left, &r);
		calls += r.calls;
		out->fm = r;
		if (r.outcome == FM_DELIVERED)
			st->state = STEP_DONE;
		else if (r.outcome != FM_RETRY && r.outcome != FM_PAUSED)
			refuse_step(st, &r);
		if ((st->state != STEP_PENDING || st->id != id_before) &&
		    !record_steps(rec, &sub->steps))
			return false;
		if (st->state == STEP_PENDING) {
			/* The log says which step waits. */
			char msg[sizeof out->fm.message];

			snprintf(msg, sizeof msg, "%s: %.480s", step_kind_name(st->kind), r.message);
			memcpy(out->fm.message, msg, sizeof msg);
			break;
		}
	}
	out->calls = calls;
	return true;
}

/* The dead area's reason for a submission whose contact is done and whose
 * other steps are done or refused. */
static void refused_reason(const struct steps *steps, char *dst, size_t size)
{
	size_t used = (size_t)snprintf(dst, size, "steps refused");

	for (size_t i = 0; i < steps->n && used < size; i++) {
		int n;

		if (steps->v[i].state != STEP_REFUSED)
			continue;
		n = snprintf(dst + used, size - used, "; %s", steps->v[i].reason);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/*
 * The fate after a run: while the contact is not done, the rule of deliver.h
 * for its attempt (a contact refused for good is marked so). Once it is
 * done: nothing pending and nothing refused, SENT; nothing pending, DEAD with
 * the refused steps as reason; else QUEUED by the rule for the attempt that
 * stopped the run.
 */
static void conclude(struct delivery *out, struct steps *steps, bool visitor, time_t now,
                     struct spool_state *st, bool *held)
{
	size_t pending, refused;

	*held = false;
	if (!out->contact_done) {
		decide(out, visitor, true, now, st, held);
		if (out->fate == DELIVER_DEAD && steps_contact(steps))
			refuse_step(steps_contact(steps), &out->fm);
		return;
	}
	steps_count(steps, &pending, NULL, &refused);
	if (pending > 0) {
		decide(out, false, true, now, st, held);
		return;
	}
	if (refused == 0) {
		out->fate = DELIVER_SENT;
		return;
	}
	out->fate = DELIVER_DEAD;
	refused_reason(steps, out->reason, sizeof out->reason);
}

/* A new submission's identify message, printed the first time a file needs
 * it (a submission delivered at once and going nowhere else needs none). */
struct printed {
	const struct submission *sub;
	cJSON *msg;              /* owned; NULL until printed, or out of memory */
};

static const cJSON *message_of(struct printed *p)
{
	if (!p->msg)
		p->msg = submission_message(p->sub);
	return p->msg;
}

/* Stores a new submission for Freshmarketer; spool_ok says whether it went. */
static void keep_new(struct app *app, enum spool_area area, const struct spool_id *id,
                     struct printed *pm, const struct map_form *form,
                     const struct spool_state *st, struct delivery *out)
{
	const struct submission *sub = pm->sub;
	const cJSON *msg = message_of(pm);
	cJSON *steps = msg ? steps_to_json(&sub->steps) : NULL;
	enum spool_err e = steps ? spool_add(&app->spool, area, id, msg, steps, form->id, st,
	                                     area == SPOOL_DEAD ? out->reason : NULL)
	                         : SPOOL_ENOMEM;

	cJSON_Delete(steps);
	out->spool_ok = e == SPOOL_OK;
	if (!out->spool_ok)
		log_msg(LOG_ERR, "spool %s: %s (%s): id=%s", app->spool.dir, spool_strerror(e),
		        e == SPOOL_ENOMEM ? "no memory for the message" : app->spool.why, id->mid);
}

/* The files of a new submission's other destinations, held (spool_add_held)
 * until its fate is known. */
struct held {
	struct spool_id ids[MAP_MAX_DESTS];
	size_t n;
};

/* Drops the held files: the visitor is not told the submission went. A file
 * whose lock another process holds (a `drain --now` took it) stays. */
static void drop_dests(struct app *app, struct held *h)
{
	for (size_t i = 0; i < h->n; i++) {
		struct spool_lock lk = { -1 };
		enum spool_err e = spool_lock_user(&app->spool, h->ids[i].uhash, &lk);

		if (e == SPOOL_OK)
			e = spool_remove(&app->spool, &h->ids[i]);
		spool_unlock(&lk);
		if (e != SPOOL_OK && e != SPOOL_ENOENT)
			log_msg(LOG_ERR, "spool %s: id=%s to=%s not dropped: %s", app->spool.dir,
			        h->ids[i].mid, h->ids[i].dest, app->spool.why);
	}
	h->n = 0;
}

/*
 * One file per other destination of the form, each under its own HASH
 * (spool.h), held until `until`: written before Freshmarketer is asked, so
 * that a full spool refuses the post before the contact is written, and a
 * crash after the contact loses none of them. False when one could not be
 * written (logged; those written are dropped).
 */
static bool hold_dests(struct app *app, const struct map_form *form, struct printed *pm,
                       long long until, struct held *h)
{
	const struct submission *sub = pm->sub;
	const cJSON *msg = message_of(pm);
	uint64_t seq = spool_seq_now();

	h->n = 0;
	for (size_t i = 0; i < form->n_dests; i++) {
		const struct map_dest *d = &form->dests[i];
		struct spool_id *id = &h->ids[h->n];
		enum spool_err e;

		memset(id, 0, sizeof *id);
		id->seq = seq;
		id->uhash = spool_dest_hash(sub->user_id, d->name);
		memcpy(id->mid, sub->message_id, sizeof id->mid);
		snprintf(id->dest, sizeof id->dest, "%s", d->name);
		e = msg ? spool_add_held(&app->spool, id, msg, form->id, until) : SPOOL_ENOMEM;
		if (e != SPOOL_OK) {
			log_msg(LOG_ERR, "spool %s: %s (%s): id=%s to=%s", app->spool.dir,
			        spool_strerror(e), e == SPOOL_ENOMEM ? "no memory for the message"
			                                            : app->spool.why, id->mid, d->name);
			drop_dests(app, h);
			return false;
		}
		h->n++;
	}
	return true;
}

/* Makes the held files due now: the visitor is told the submission went. A
 * file that cannot be released is due when its hold ends. */
static void release_dests(struct app *app, const struct held *h)
{
	for (size_t i = 0; i < h->n; i++)
		if (spool_mark(&app->spool, &h->ids[i], (long long)time(NULL)) != SPOOL_OK)
			log_msg(LOG_WARN, "spool %s: id=%s to=%s due only when its hold ends: %s",
			        app->spool.dir, h->ids[i].mid, h->ids[i].dest, app->spool.why);
}

static void queue_untried(struct app *app, enum deliver_why why, const struct spool_id *id,
                          struct printed *pm, const struct map_form *form,
                          struct delivery *out)
{
	const struct spool_state st = { 0 };

	out->fate = DELIVER_QUEUED;
	out->why = why;
	keep_new(app, SPOOL_QUEUE, id, pm, form, &st, out);
}

/* An attempt counted in the metrics: its outcome, and since t0 when it
 * made a call. */
static void count_attempt(const struct app *app, const char *form, const char *dest,
                          const struct delivery *out, int64_t t0)
{
	metrics_delivery(app->spool.dir, form, dest, fm_outcome_name(out->fm.outcome),
	                 out->calls ? clock_mono_ms() - t0 : -1);
}

/* sync mode, holding the userId's lock (or none when the spool is
 * unwritable): tried now, unless an earlier one of the userId waits. */
static void try_new(struct app *app, const struct map_form *form, struct submission *sub,
                    struct printed *pm, const struct spool_id *id, struct delivery *out)
{
	struct spool_state st = { 0 };
	int waiting = spool_user_waiting(&app->spool, id->uhash, UINT64_MAX);
	int64_t t0 = clock_mono_ms();
	bool held;

	if (waiting != 0) {
		if (waiting > 0) {
			queue_untried(app, DELIVER_BEHIND, id, pm, form, out);
			return;
		}
		log_msg(LOG_ERR, "spool %s: %s: id=%s", app->spool.dir, app->spool.why, id->mid);
		out->fate = DELIVER_LOST;
		return;
	}
	run_steps(app, form, sub, app->config.timeout_ms, NULL, out);
	count_attempt(app, form->id, "", out, t0);
	conclude(out, &sub->steps, true, time(NULL), &st, &held);
	out->spool_ok = true;
	switch (out->fate) {
	case DELIVER_DEAD:
		keep_new(app, SPOOL_DEAD, id, pm, form, &st, out);
		break;
	case DELIVER_QUEUED:
		keep_new(app, SPOOL_QUEUE, id, pm, form, &st, out);
		break;
	case DELIVER_SENT:
	case DELIVER_FIX:
	case DELIVER_LOST:
		break;
	}
}

/* Freshmarketer's part of a new submission: queued or tried. */
static void deliver_crm(struct app *app, const struct mapping *m, const struct map_form *form,
                        struct submission *sub, struct printed *pm, struct spool_id *id,
                        struct delivery *out)
{
	struct spool_lock lk = { -1 };
	enum spool_err e;

	if (m->settings.delivery_mode == MAP_DELIVERY_ASYNC) {
		id->seq = spool_seq_now();
		queue_untried(app, DELIVER_ASYNC, id, pm, form, out);
		return;
	}
	e = spool_lock_user(&app->spool, id->uhash, &lk);
	/* Taken after the lock: a later submission of this userId that finds the
	 * lock held gets a later SEQ, so it never passes this one. */
	id->seq = spool_seq_now();
	if (e == SPOOL_EBUSY) {
		queue_untried(app, DELIVER_BUSY, id, pm, form, out);
	} else {
		if (e != SPOOL_OK)
			log_msg(LOG_WARN, "spool %s: %s", app->spool.dir, app->spool.why);
		try_new(app, form, sub, pm, id, out);
	}
	spool_unlock(&lk);
}

/* The consent boxes checked in a new submission, in the ledger before
 * anything else is written or sent: a consent that cannot be kept refuses
 * the post. False when the ledger could not be written (logged). */
static bool give_consent(struct app *app, const struct submission *sub,
                         struct consent_ledger *l)
{
	enum consent_err e;

	if (sub->ctx.n_consent == 0)
		return true;
	if (!consent_init(l, app->spool.dir)) {
		log_msg(LOG_ERR, "consent ledger: no spool directory, or its path is too long: id=%s",
		        sub->message_id);
		return false;
	}
	e = consent_give(l, sub);
	if (e != CONSENT_OK)
		log_msg(LOG_ERR, "consent ledger %s: %s (%s): id=%s", l->dir, consent_strerror(e),
		        l->why, sub->message_id);
	return e == CONSENT_OK;
}

/* The visitor is not told the submission went: its consent records stop
 * counting. A void that cannot be written leaves records of a consent the
 * visitor did give. */
static void void_consent(struct consent_ledger *l, const struct submission *sub)
{
	enum consent_err e;

	if (sub->ctx.n_consent == 0)
		return;
	if ((e = consent_void(l, sub, time(NULL))) != CONSENT_OK)
		log_msg(LOG_WARN, "consent ledger %s: id=%s not voided: %s (%s)", l->dir,
		        sub->message_id, consent_strerror(e), l->why);
}

void deliver_new(struct app *app, const struct mapping *m, const struct map_form *form,
                 struct submission *sub, struct delivery *out)
{
	struct consent_ledger ledger = { .dir = "" };
	struct spool_id id = { .uhash = spool_user_hash(sub->user_id) };
	struct printed pm = { sub, NULL };
	struct held held = { .n = 0 };
	/* Longer than the attempt below can last: a hold never ends while its
	 * worker still decides. */
	long long until = (long long)time(NULL) + app->config.timeout_ms / 1000 + 1 +
	                  DELIVER_HOLD_MARGIN_S;

	memset(out, 0, sizeof *out);
	memcpy(id.mid, sub->message_id, sizeof id.mid);
	if (!give_consent(app, sub, &ledger)) {
		out->fate = DELIVER_LOST;
		return;
	}
	if (form->n_dests > 0 && !hold_dests(app, form, &pm, until, &held)) {
		out->fate = DELIVER_LOST;
		void_consent(&ledger, sub);
		cJSON_Delete(pm.msg);
		return;
	}
	deliver_crm(app, m, form, sub, &pm, &id, out);
	out->refused = out->fate == DELIVER_DEAD && out->fm.outcome == FM_REJECTED &&
	               !out->contact_done;
	/* What the visitor is told went through goes everywhere else too. */
	if (!out->refused && out->spool_ok &&
	    (out->fate == DELIVER_SENT || out->fate == DELIVER_QUEUED || out->fate == DELIVER_DEAD)) {
		release_dests(app, &held);
		out->dests = held.n;
	} else {
		drop_dests(app, &held);
		void_consent(&ledger, sub);
	}
	cJSON_Delete(pm.msg);
}

/* Freshmarketer's attempt at a waiting submission: its pending steps run,
 * the fate decided, and the record's steps updated for the dead area. False
 * when a step's record could not be written. */
static bool attempt_crm(struct app *app, const struct map_form *form, struct spool_item *it,
                        unsigned budget_ms, struct record *rec, struct spool_state *st,
                        bool *held, struct delivery *out)
{
	struct submission sub;
	enum sub_err se = submission_from_message(it->identify, form, &sub);
	bool recorded = true;

	if (se == SUB_OK && steps_from_json(it->steps, &sub.steps) != STEPS_OK)
		se = SUB_EINVAL;
	if (se == SUB_OK) {
		recorded = run_steps(app, form, &sub, budget_ms, rec, out);
	} else {
		/* Read whole and named right by the spool, yet more traits than
		 * a mapping gives or steps that do not read as steps (a file
		 * written by hand): refused for good. */
		out->fm.retry_after_s = -1;
		if (se == SUB_ENOMEM) {
			out->fm.outcome = FM_RETRY;
			snprintf(out->fm.message, sizeof out->fm.message, "out of memory");
		} else {
			out->fm.outcome = FM_REJECTED;
			snprintf(out->fm.message, sizeof out->fm.message,
			         "more than %u traits, or steps that are not steps", SUB_MAX_TRAITS);
		}
	}
	if (recorded) {
		conclude(out, &sub.steps, false, time(NULL), st, held);
		if (se == SUB_OK && out->fate == DELIVER_DEAD) {
			cJSON *j = steps_to_json(&sub.steps);

			if (j) {
				cJSON_Delete(it->steps);
				it->steps = j;
			}
		}
	}
	submission_free(&sub);
	return recorded;
}

/* Another destination's attempt: one call, decided by the rule of deliver.h;
 * a destination the form no longer has is refused for good. */
static void attempt_dest(struct app *app, const struct mapping *m, const struct map_form *form,
                         const struct spool_item *it, unsigned budget_ms,
                         struct spool_state *st, bool *held, struct delivery *out)
{
	const struct map_dest *d = map_form_dest(form, it->id.dest);

	if (d) {
		app->send(&m->settings, form, d, it->identify, budget_ms, &out->fm);
	} else {
		fm_result_start(&out->fm);
		fm_result_say(&out->fm, FM_REJECTED, "the form has no destination named \"%s\" now",
		              it->id.dest);
	}
	out->calls = out->fm.calls;
	/* No shared gate holds a destination back: a try that made no call
	 * (a setup error) is an attempt too, with its backoff. */
	decide(out, false, false, time(NULL), st, held);
}

bool deliver_waiting(struct app *app, const struct mapping *m, const struct map_form *form,
                     struct spool_item *it, unsigned budget_ms, long long inflight_until,
                     struct delivery *out)
{
	struct spool *sp = &app->spool;
	struct record rec = { sp, it, inflight_until };
	struct spool_state st = it->st;
	enum spool_err e = SPOOL_OK;
	int64_t t0 = clock_mono_ms();
	bool held = false, recorded = true;

	memset(out, 0, sizeof *out);
	if (spool_mark(sp, &it->id, inflight_until) != SPOOL_OK)
		return false;
	if (it->id.dest[0])
		attempt_dest(app, m, form, it, budget_ms, &st, &held, out);
	else
		recorded = attempt_crm(app, form, it, budget_ms, &rec, &st, &held, out);
	count_attempt(app, form->id, it->id.dest, out, t0);
	if (!recorded) {
		/* The record on disk is older than the run: it stays marked in
		 * flight, and is tried again when the mark runs out. */
		out->fate = DELIVER_QUEUED;
		out->spool_ok = false;
		return true;
	}
	switch (out->fate) {
	case DELIVER_SENT:
		/* Left in place it would be delivered again: its steps are all
		 * recorded done but the last, which is the only one to repeat. */
		e = spool_remove(sp, &it->id);
		if (e == SPOOL_ENOENT)
			e = SPOOL_OK;
		break;
	case DELIVER_DEAD:
		e = spool_bury(sp, it, out->reason);
		break;
	case DELIVER_QUEUED:
		if (held) {
			/* Its own schedule stands: only the in-flight mark goes. */
			e = spool_mark(sp, &it->id, it->mtime);
		} else {
			it->st = st;
			e = spool_reschedule(sp, it);
		}
		break;
	case DELIVER_FIX:
	case DELIVER_LOST:
		break;
	}
	out->spool_ok = e == SPOOL_OK;
	return true;
}
