/* deliver.c: one delivery attempt and what becomes of the submission after it. */
#include "deliver.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fm_state.h"
#include "log.h"

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
}

/*
 * The rule of deliver.h for the attempt in out->fm: out->fate, with the dead
 * area's reason for DEAD, and for QUEUED the new state `st` (from the
 * submission's state before; `now` in unix seconds). *held is true when the
 * schedule is the shared state's, not this submission's: a waiting one then
 * keeps its own.
 */
static void decide(struct delivery *out, bool visitor, time_t now, struct spool_state *st,
                   bool *held)
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
	 * back (rate limit, paused key) does not. */
	if (r->calls > 0 && r->outcome == FM_RETRY) {
		st->attempts++;
		st->next_attempt = (long long)now + fm_backoff_s(st->attempts, r->retry_after_s);
	} else {
		*held = true;
		if (r->retry_after_s > 0)
			st->next_attempt = (long long)now + r->retry_after_s;
	}
}

/* Stores a new submission as its identify message, printed only now; spool_ok
 * says whether it went. */
static void keep_new(struct app *app, enum spool_area area, const struct spool_id *id,
                     const struct submission *sub, const struct map_form *form,
                     const struct spool_state *st, struct delivery *out)
{
	cJSON *msg = submission_message(sub);
	enum spool_err e = msg ? spool_add(&app->spool, area, id, msg, form->id, st,
	                                   area == SPOOL_DEAD ? out->reason : NULL)
	                       : SPOOL_ENOMEM;

	cJSON_Delete(msg);
	out->spool_ok = e == SPOOL_OK;
	if (!out->spool_ok)
		log_msg(LOG_ERR, "spool %s: %s (%s): id=%s", app->spool.dir, spool_strerror(e),
		        e == SPOOL_ENOMEM ? "no memory for the message" : app->spool.why, id->mid);
}

static void queue_untried(struct app *app, enum deliver_why why, const struct spool_id *id,
                          const struct submission *sub, const struct map_form *form,
                          struct delivery *out)
{
	const struct spool_state st = { 0 };

	out->fate = DELIVER_QUEUED;
	out->why = why;
	keep_new(app, SPOOL_QUEUE, id, sub, form, &st, out);
}

/* sync mode, holding the userId's lock (or none when the spool is
 * unwritable): tried now, unless an earlier one of the userId waits. */
static void try_new(struct app *app, const struct map_form *form, const struct submission *sub,
                    const struct spool_id *id, struct delivery *out)
{
	struct spool_state st = { 0 };
	int waiting = spool_user_waiting(&app->spool, id->uhash, UINT64_MAX);
	bool held;

	if (waiting != 0) {
		if (waiting > 0) {
			queue_untried(app, DELIVER_BEHIND, id, sub, form, out);
			return;
		}
		log_msg(LOG_ERR, "spool %s: %s: id=%s", app->spool.dir, app->spool.why, id->mid);
		out->fate = DELIVER_LOST;
		return;
	}
	app->deliver(app->fm, sub, form, app->config.timeout_ms, &out->fm);
	decide(out, true, time(NULL), &st, &held);
	out->spool_ok = true;
	switch (out->fate) {
	case DELIVER_DEAD:
		keep_new(app, SPOOL_DEAD, id, sub, form, &st, out);
		break;
	case DELIVER_QUEUED:
		keep_new(app, SPOOL_QUEUE, id, sub, form, &st, out);
		break;
	case DELIVER_SENT:
	case DELIVER_FIX:
	case DELIVER_LOST:
		break;
	}
}

void deliver_new(struct app *app, const struct mapping *m, const struct map_form *form,
                 const struct submission *sub, struct delivery *out)
{
	struct spool_lock lk = { -1 };
	struct spool_id id = { .uhash = spool_user_hash(sub->user_id) };
	enum spool_err e;

	memset(out, 0, sizeof *out);
	memcpy(id.mid, sub->message_id, sizeof id.mid);
	if (m->settings.delivery_mode == MAP_DELIVERY_ASYNC) {
		id.seq = spool_seq_now();
		queue_untried(app, DELIVER_ASYNC, &id, sub, form, out);
		return;
	}
	e = spool_lock_user(&app->spool, id.uhash, &lk);
	/* Taken after the lock: a later submission of this userId that finds the
	 * lock held gets a later SEQ, so it never passes this one. */
	id.seq = spool_seq_now();
	if (e == SPOOL_EBUSY) {
		queue_untried(app, DELIVER_BUSY, &id, sub, form, out);
	} else {
		if (e != SPOOL_OK)
			log_msg(LOG_WARN, "spool %s: %s", app->spool.dir, app->spool.why);
		try_new(app, form, sub, &id, out);
	}
	spool_unlock(&lk);
}

bool deliver_waiting(struct app *app, const struct map_form *form, struct spool_item *it,
                     unsigned budget_ms, long long inflight_until, struct delivery *out)
{
	struct spool *sp = &app->spool;
	struct spool_state st = it->st;
	enum spool_err e = SPOOL_OK;
	struct submission sub;
	enum sub_err se;
	bool held;

	memset(out, 0, sizeof *out);
	if (spool_mark(sp, &it->id, inflight_until) != SPOOL_OK)
		return false;
	se = submission_from_message(it->identify, form, &sub);
	if (se == SUB_OK) {
		app->deliver(app->fm, &sub, form, budget_ms, &out->fm);
		submission_free(&sub);
	} else {
		/* Read whole and named right by the spool, yet more traits than
		 * a mapping gives (a file written by hand): refused for good. */
		out->fm.retry_after_s = -1;
		if (se == SUB_ENOMEM) {
			out->fm.outcome = FM_RETRY;
			snprintf(out->fm.message, sizeof out->fm.message, "out of memory");
		} else {
			out->fm.outcome = FM_REJECTED;
			snprintf(out->fm.message, sizeof out->fm.message, "more than %u traits",
			         SUB_MAX_TRAITS);
		}
	}
	decide(out, false, time(NULL), &st, &held);
	switch (out->fate) {
	case DELIVER_SENT:
		/* Left in place it is delivered again: the same contact, the same values. */
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
