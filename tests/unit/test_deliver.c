/* test_deliver: what each attempt's outcome makes of a submission, for a new
 * one (the worker) and a waiting one (drain), with canned outcomes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "fm_state.h"
#include "t.h"
#include "tfiles.h"

static char dir[] = "/tmp/fmgate-deliver-XXXXXX";
static struct fm_result canned;
static unsigned stub_calls, canned_sleep_ms;
static char mids[64][37];
static unsigned n_mids;

/* While Freshmarketer is asked: how many of the submission's other
 * destinations' files exist, and how many of them are held (not yet due). */
static struct app *hold_app;
static size_t held_files, held_due;

static void count_held(const char *mid)
{
	struct spool_list l;
	long long now = (long long)time(NULL);

	held_files = held_due = 0;
	if (spool_list(&hold_app->spool, SPOOL_QUEUE, -1, true, &l) != SPOOL_OK)
		return;
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i].id.mid, mid) == 0 && l.v[i].id.dest[0]) {
			held_files++;
			held_due += l.v[i].mtime <= now;
		}
	spool_list_free(&l);
}

static void stub_deliver(struct fm_client *c, const struct submission *sub,
                         const struct map_form *form, unsigned budget_ms, struct fm_result *out)
{
	(void)c;
	(void)form;
	(void)budget_ms;
	if (hold_app)
		count_held(sub->message_id);
	stub_calls++;
	*out = canned;
	if (canned_sleep_ms)
		usleep(canned_sleep_ms * 1000);
}

/* Steps: each call to stub_step takes the next canned result; it records
 * the kind it ran, whether it got the contact's links, and what the spool
 * file said of the steps at that moment (the record of those before). */
static struct fm_result step_script[8];
static unsigned step_calls, step_sleep_ms;
static char step_log[256], step_disk[8][256];
static const char *step_user;
static struct app *step_app;

static void disk_steps(const char *user, char *out, size_t size);

static char sabotage[700];   /* a folder to replace by a file during a step */

static void stub_step(struct fm_client *c, struct step *step, long long contact_id,
                      const struct fm_links *links, unsigned budget_ms, struct fm_result *out)
{
	(void)c;
	(void)budget_ms;
	snprintf(step_log + strlen(step_log), sizeof step_log - strlen(step_log), "%s%s(%lld%s)",
	         step_calls ? " " : "", step_kind_name(step->kind), contact_id,
	         links ? ",links" : "");
	if (step_user)
		disk_steps(step_user, step_disk[step_calls], sizeof step_disk[0]);
	*out = step_script[step_calls++];
	if (step->kind == STEP_ACCOUNT && out->outcome == FM_DELIVERED)
		step->id = 5001;
	if (step_sleep_ms)
		usleep(step_sleep_ms * 1000);
	if (sabotage[0]) {
		char moved[720];

		snprintf(moved, sizeof moved, "%s.x", sabotage);
		T(rename(sabotage, moved) == 0 && t_write(sabotage, "", 0600), "sabotaged");
	}
}

/* Other destinations: each call to stub_send takes the next canned result
 * and logs the destination's name. */
static struct fm_result send_script[8];
static unsigned send_calls;
static char send_log[256];

static void stub_send(const struct map_settings *s, const struct map_form *form,
                      const struct map_dest *d, const cJSON *identify, unsigned budget_ms,
                      struct fm_result *out)
{
	(void)s;
	(void)form;
	(void)budget_ms;
	T(cJSON_IsObject(identify), "send: the identify message given");
	snprintf(send_log + strlen(send_log), sizeof send_log - strlen(send_log), "%s%s",
	         send_calls ? " " : "", d->name);
	*out = send_script[send_calls++ % 8];
}

/* A submission of `user` with a fresh messageId; submission_free() it. */
static struct submission *message(const char *user)
{
	static struct submission s;

	submission_init(&s);
	snprintf(mids[n_mids], sizeof mids[n_mids], "00000000-0000-4000-8000-%012u", n_mids + 1);
	memcpy(s.message_id, mids[n_mids++], UUID_STR_SIZE);
	s.user_id = strdup(user);
	s.email = strdup("a@example.com");
	submission_add_trait(&s, "email", NULL, NULL, cJSON_CreateString(s.email), 1);
	steps_add(&s.steps, STEP_CONTACT, NULL, NULL, false);   /* planned, as identify does */
	return &s;
}

static struct fm_result result(enum fm_outcome o, unsigned calls, long http, long retry_after)
{
	struct fm_result r = { .outcome = o, .http_status = http, .retry_after_s = retry_after,
	                       .calls = calls };

	snprintf(r.message, sizeof r.message, "canned %s", fm_outcome_name(o));
	r.field = o == FM_INVALID ? "email" : NULL;
	return r;
}

/* Reads what the spool holds of the message `mid` of `user`: its area, or
 * -1 when it is in neither. */
static int find(struct spool *sp, const char *user, const char *mid, struct spool_item *out)
{
	for (int area = SPOOL_QUEUE; area <= SPOOL_DEAD; area++) {
		struct spool_list l;
		bool found = false;

		if (spool_list(sp, (enum spool_area)area, -1, false, &l) != SPOOL_OK)
			return -2;
		for (size_t i = 0; i < l.n && !found; i++)
			if (l.v[i].id.uhash == spool_user_hash(user) && strcmp(l.v[i].id.mid, mid) == 0)
				found = spool_read(sp, (enum spool_area)area, &l.v[i].id, out) == SPOOL_OK;
		spool_list_free(&l);
		if (found)
			return area;
	}
	return -1;
}

/* The steps the spool file of `user` holds, as steps_summary() words, or
 * "none" / "unreadable". */
static void disk_steps(const char *user, char *out, size_t size)
{
	struct spool_item it = { 0 };
	struct steps st;
	int area = find(&step_app->spool, user, mids[n_mids - 1], &it);

	snprintf(out, size, "none");
	if (area >= 0) {
		if (steps_from_json(it.steps, &st) == STEPS_OK) {
			steps_summary(&st, out, size);
			steps_free(&st);
		} else {
			snprintf(out, size, "unreadable");
		}
	}
	spool_item_free(&it);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void count_held_after(struct app *app, const char *mid)
{
	hold_app = app;
	count_held(mid);
	hold_app = NULL;
}

/* The files of the messageId `mid`: "AREA:DEST" (DEST "-" for
 * Freshmarketer), space-separated, sorted. */
static void files_of(struct spool *sp, const char *mid, char *out, size_t size)
{
	char found[8][48];
	size_t n = 0;

	out[0] = '\0';
	for (int area = SPOOL_QUEUE; area <= SPOOL_DEAD; area++) {
		struct spool_list l;

		if (spool_list(sp, (enum spool_area)area, -1, false, &l) != SPOOL_OK)
			return;
		for (size_t i = 0; i < l.n && n < 8; i++)
			if (strcmp(l.v[i].id.mid, mid) == 0)
				snprintf(found[n++], sizeof found[0], "%s:%s",
				         area == SPOOL_QUEUE ? "queue" : "dead",
				         l.v[i].id.dest[0] ? l.v[i].id.dest : "-");
		spool_list_free(&l);
	}
	qsort(found, n, sizeof found[0], by_text);
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " " : "", found[i]);
}

/*
 * A form with two other destinations: what the visitor is told went
 * through gets one untried file per destination, under its own hash; what
 * is refused or to be fixed gets none; each file is then delivered alone:
 * delivered removed, retried rescheduled, refused buried, a destination
 * the form lost buried, the contact never written again.
 */
static void test_dests(struct app *app, const struct mapping *m, const struct map_form *form)
{
	static const struct {
		enum fm_outcome contact;
		const char *files;     /* after deliver_new */
		size_t dests;
	} news[] = {
		{ FM_DELIVERED, "queue:hook queue:two", 2 },
		{ FM_RETRY, "queue:- queue:hook queue:two", 2 },
		{ FM_CONFLICT, "dead:- queue:hook queue:two", 2 },
		{ FM_REJECTED, "dead:-", 0 },
		{ FM_INVALID, "", 0 },
	};
	struct submission *sub;
	struct delivery dv;
	char files[256];

	for (size_t i = 0; i < sizeof news / sizeof news[0]; i++) {
		char user[32];

		snprintf(user, sizeof user, "dest-new-%zu", i);
		sub = message(user);
		canned = result(news[i].contact, 1, news[i].contact == FM_DELIVERED ? 200 : 400, -1);
		send_calls = 0;
		hold_app = app;
		deliver_new(app, m, form, sub, &dv);
		hold_app = NULL;
		T(held_files == 2 && held_due == 0,
		  "new %zu: both files written, held, before Freshmarketer is asked (%zu, %zu due)", i,
		  held_files, held_due);
		count_held_after(app, sub->message_id);
		T(held_due == held_files, "new %zu: every file kept is due once answered", i);
		files_of(&app->spool, sub->message_id, files, sizeof files);
		T(strcmp(files, news[i].files) == 0 && dv.dests == news[i].dests && send_calls == 0,
		  "new %zu (%s): files [%s], want [%s]; dests %zu; nothing sent before the answer", i,
		  fm_outcome_name(news[i].contact), files, news[i].files, dv.dests);
		T(dv.spool_ok && dv.refused == (news[i].contact == FM_REJECTED),
		  "new %zu: kept, refused %d", i, dv.refused);
		if (i == 0) {
			/* Each destination's file is its own userId for locks and order. */
			struct spool_list l;
			bool own = true;

			T(spool_list(&app->spool, SPOOL_QUEUE, -1, false, &l) == SPOOL_OK, "listed");
			for (size_t j = 0; j < l.n; j++)
				if (strcmp(l.v[j].id.mid, sub->message_id) == 0)
					own = own && l.v[j].id.uhash == spool_dest_hash(user, l.v[j].id.dest) &&
					      l.v[j].id.uhash != spool_user_hash(user);
			spool_list_free(&l);
			T(own, "a destination's file has the hash of userId and name");
		}
		submission_free(sub);
	}

	/* The first one's files delivered one by one (drain's part). */
	{
		static const struct {
			enum fm_outcome o;
			unsigned calls;
			long http;
			enum deliver_fate fate;
			const char *files;
		} waits[] = {
			{ FM_RETRY, 1, 503, DELIVER_QUEUED, "queue:hook queue:two" },
			/* No call made (a setup error): an attempt all the same, no
			 * shared gate holds a destination back. */
			{ FM_RETRY, 0, 0, DELIVER_QUEUED, "queue:hook queue:two" },
			{ FM_REJECTED, 1, 410, DELIVER_DEAD, "dead:hook queue:two" },
			{ FM_DELIVERED, 1, 200, DELIVER_SENT, "dead:hook" },
		};
		const char *mid = mids[n_mids - 5];
		const char *order[] = { "hook", "hook", "hook", "two" };

		stub_calls = 0;
		for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
			struct spool_item it = { 0 };
			struct spool_id id = { .seq = 0 };
			struct spool_list l;
			unsigned before;

			T(spool_list(&app->spool, SPOOL_QUEUE, -1, false, &l) == SPOOL_OK, "listed");
			for (size_t j = 0; j < l.n; j++)
				if (strcmp(l.v[j].id.mid, mid) == 0 && strcmp(l.v[j].id.dest, order[i]) == 0)
					id = l.v[j].id;
			spool_list_free(&l);
			T(id.seq && spool_read(&app->spool, SPOOL_QUEUE, &id, &it) == SPOOL_OK,
			  "wait %zu: read %s", i, order[i]);
			before = it.st.attempts;
			send_script[0] = result(waits[i].o, waits[i].calls, waits[i].http, -1);
			send_calls = 0;
			send_log[0] = '\0';
			T(deliver_waiting(app, m, form, &it, 1000, (long long)time(NULL) + 60, &dv),
			  "wait %zu: tried", i);
			files_of(&app->spool, mid, files, sizeof files);
			T(dv.fate == waits[i].fate && strcmp(send_log, order[i]) == 0 &&
			  strcmp(files, waits[i].files) == 0,
			  "wait %zu: fate %d, sent to [%s], files [%s] want [%s]", i, dv.fate, send_log,
			  files, waits[i].files);
			if (waits[i].o == FM_RETRY)
				T(it.st.attempts == before + 1 && it.st.next_attempt > (long long)time(NULL),
				  "wait %zu: an attempt counted, backoff", i);
			if (waits[i].o == FM_REJECTED)
				T(strstr(dv.reason, "rejected http=410") != NULL, "wait %zu: reason [%s]", i,
				  dv.reason);
			spool_item_free(&it);
		}
		T(stub_calls == 0, "the contact is never written by a destination's delivery");
	}

	/* A spool without room for the destinations' files: nothing is asked of
	 * Freshmarketer, nothing is kept, the visitor is told to come back. */
	{
		size_t max = app->spool.max_files;
		struct submission *full = message("dest-full");

		app->spool.max_files = 1;
		stub_calls = 0;
		deliver_new(app, m, form, full, &dv);
		files_of(&app->spool, full->message_id, files, sizeof files);
		T(dv.fate == DELIVER_LOST && stub_calls == 0 && files[0] == '\0' && dv.dests == 0,
		  "a full spool: lost before any call (fate %d, %u calls, files [%s])", dv.fate,
		  stub_calls, files);
		app->spool.max_files = max;
		submission_free(full);
	}

	/* A file of a destination the form no longer has: buried, no call. */
	{
		struct submission *lost = message("dest-lost");
		struct spool_state st = { 0 };
		cJSON *msg = submission_message(lost);
		struct spool_item it = { 0 };
		struct spool_id id;

		submission_free(lost);
		T(spool_id_of(msg, spool_seq_now(), "gone", &id) == SPOOL_OK &&
		  spool_add(&app->spool, SPOOL_QUEUE, &id, msg, NULL, form->id, &st, NULL) == SPOOL_OK &&
		  spool_read(&app->spool, SPOOL_QUEUE, &id, &it) == SPOOL_OK, "a file for \"gone\"");
		send_calls = 0;
		T(deliver_waiting(app, m, form, &it, 1000, (long long)time(NULL) + 60, &dv) &&
		  dv.fate == DELIVER_DEAD && send_calls == 0 &&
		  strstr(dv.reason, "no destination named \"gone\"") != NULL,
		  "a lost destination: dead without a call [%s]", dv.reason);
		spool_item_free(&it);
		cJSON_Delete(msg);
	}
}

/* The rule of deliver.h for a new submission in sync mode. */
static void test_new(struct app *app, const struct mapping *m, const struct map_form *form)
{
	static const struct {
		enum fm_outcome o;
		unsigned calls;
		long http, retry_after;
		enum deliver_fate fate;
		int area;             /* -1: not kept */
		unsigned attempts;
		long wait_min, wait_max; /* next attempt - now, seconds */
		const char *reason;
	} cases[] = {
		{ FM_DELIVERED, 1, 201, -1, DELIVER_SENT, -1, 0, 0, 0, NULL },
		{ FM_INVALID, 0, 0, -1, DELIVER_FIX, -1, 0, 0, 0, NULL },
		{ FM_REJECTED, 1, 400, -1, DELIVER_DEAD, SPOOL_DEAD, 0, 0, 0,
		  "rejected http=400 canned rejected" },
		{ FM_CONFLICT, 2, 0, -1, DELIVER_DEAD, SPOOL_DEAD, 0, 0, 0,
		  "conflict http=0 canned conflict" },
		/* A call that failed is an attempt: backoff from FM_BACKOFF_BASE_S. */
		{ FM_RETRY, 1, 503, -1, DELIVER_QUEUED, SPOOL_QUEUE, 1, 1, FM_BACKOFF_BASE_S * 2, NULL },
		/* ... never sooner than the API's Retry-After. */
		{ FM_RETRY, 1, 429, 900, DELIVER_QUEUED, SPOOL_QUEUE, 1, 900, 901 + FM_BACKOFF_BASE_S, NULL },
		/* Held back by the shared state before any call: not an attempt. */
		{ FM_RETRY, 0, 0, 7, DELIVER_QUEUED, SPOOL_QUEUE, 0, 6, 8, NULL },
		{ FM_PAUSED, 0, 0, 60, DELIVER_QUEUED, SPOOL_QUEUE, 0, 59, 61, NULL },
		{ FM_PAUSED, 1, 401, -1, DELIVER_QUEUED, SPOOL_QUEUE, 0, -1, 0, NULL },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char user[32];
		struct delivery dv;
		struct spool_item it = { 0 };
		struct submission *msg;
		int area;
		long long now = (long long)time(NULL);

		snprintf(user, sizeof user, "new-%zu", i);
		msg = message(user);
		canned = result(cases[i].o, cases[i].calls, cases[i].http, cases[i].retry_after);
		stub_calls = 0;
		deliver_new(app, m, form, msg, &dv);
		T(stub_calls == 1 && dv.why == DELIVER_TRIED, "case %zu: tried once", i);
		T(dv.fate == cases[i].fate, "case %zu: fate %d, want %d", i, dv.fate, cases[i].fate);
		T(dv.spool_ok, "case %zu: spool ok", i);
		T(dv.fm.outcome == cases[i].o, "case %zu: outcome kept", i);
		area = find(&app->spool, user, mids[n_mids - 1], &it);
		T(area == cases[i].area, "case %zu: area %d, want %d", i, area, cases[i].area);
		if (area == SPOOL_QUEUE) {
			long wait = it.st.next_attempt ? (long)(it.st.next_attempt - now) : -1;

			T(it.st.attempts == cases[i].attempts, "case %zu: attempts %u", i, it.st.attempts);
			T(wait >= cases[i].wait_min && wait <= cases[i].wait_max,
			  "case %zu: waits %ld s", i, wait);
			T(strstr(it.st.last_error, "canned") != NULL, "case %zu: last error kept", i);
		}
		if (cases[i].reason)
			T_STREQ(it.reason, cases[i].reason, "case %zu: reason", i);
		spool_item_free(&it);
		submission_free(msg);
	}
}

/* Order and modes: nothing is tried out of turn. */
static void test_untried(struct app *app, struct mapping *m, const struct map_form *form)
{
	struct spool_item it = { 0 };
	struct delivery dv;
	struct spool_lock lk;
	struct submission *msg = message("order");
	int ready[2], go[2];
	pid_t child;
	char c;

	/* Waiting behind an earlier one of the same userId. */
	canned = result(FM_RETRY, 1, 503, -1);
	deliver_new(app, m, form, msg, &dv);
	T(dv.fate == DELIVER_QUEUED, "first one queued after a failure");
	submission_free(msg);
	msg = message("order");
	canned = result(FM_DELIVERED, 1, 200, -1);
	stub_calls = 0;
	deliver_new(app, m, form, msg, &dv);
	T(stub_calls == 0 && dv.fate == DELIVER_QUEUED && dv.why == DELIVER_BEHIND && dv.spool_ok,
	  "second one waits behind, untried");
	T(find(&app->spool, "order", mids[n_mids - 1], &it) == SPOOL_QUEUE && it.st.attempts == 0,
	  "behind: in the queue, no attempt");
	spool_item_free(&it);
	submission_free(msg);

	/* The userId's lock held by another process: queued, untried. */
	T(pipe(ready) == 0 && pipe(go) == 0, "pipes");
	child = fork();
	if (child == 0) {
		bool ok = spool_lock_user(&app->spool, spool_user_hash("busy"), &lk) == SPOOL_OK;

		(void)!write(ready[1], ok ? "y" : "n", 1);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	T(read(ready[0], &c, 1) == 1 && c == 'y', "child holds the lock");
	msg = message("busy");
	stub_calls = 0;
	deliver_new(app, m, form, msg, &dv);
	T(stub_calls == 0 && dv.fate == DELIVER_QUEUED && dv.why == DELIVER_BUSY && dv.spool_ok,
	  "busy: queued, untried");
	(void)!write(go[1], "x", 1);
	waitpid(child, NULL, 0);
	submission_free(msg);
	close(ready[0]); close(ready[1]); close(go[0]); close(go[1]);

	/* async: queued, untried. */
	m->settings.delivery_mode = MAP_DELIVERY_ASYNC;
	msg = message("async");
	stub_calls = 0;
	deliver_new(app, m, form, msg, &dv);
	T(stub_calls == 0 && dv.fate == DELIVER_QUEUED && dv.why == DELIVER_ASYNC && dv.spool_ok,
	  "async: queued, untried");
	T_STREQ(deliver_why_name(dv.why), "async", "why named");
	m->settings.delivery_mode = MAP_DELIVERY_SYNC;
	submission_free(msg);
}

/* The same rule for a waiting submission (drain). */
static void test_waiting(struct app *app, const struct map_form *form)
{
	static const struct {
		enum fm_outcome o;
		unsigned calls;
		long retry_after;
		enum deliver_fate fate;
		int area;
		unsigned attempts;     /* after; it had 2 */
		bool schedule_kept;    /* its next attempt is what it was */
		const char *reason;
	} cases[] = {
		{ FM_DELIVERED, 1, -1, DELIVER_SENT, -1, 2, false, NULL },
		{ FM_INVALID, 0, -1, DELIVER_DEAD, SPOOL_DEAD, 2, false,
		  "invalid_value field=email: canned invalid" },
		{ FM_REJECTED, 1, -1, DELIVER_DEAD, SPOOL_DEAD, 2, false, "rejected http=0 canned rejected" },
		{ FM_CONFLICT, 2, -1, DELIVER_DEAD, SPOOL_DEAD, 2, false, "conflict http=0 canned conflict" },
		{ FM_RETRY, 1, -1, DELIVER_QUEUED, SPOOL_QUEUE, 3, false, NULL },
		{ FM_RETRY, 0, 5, DELIVER_QUEUED, SPOOL_QUEUE, 2, true, NULL },
		{ FM_PAUSED, 1, 60, DELIVER_QUEUED, SPOOL_QUEUE, 2, true, NULL },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct spool_state st = { .attempts = 2, .next_attempt = (long long)time(NULL) - 100 };
		struct spool_item it = { 0 }, after = { 0 };
		struct spool_id id;
		struct delivery dv;
		char user[32];
		struct submission *sub;
		cJSON *msg;
		int area;

		snprintf(user, sizeof user, "waiting-%zu", i);
		sub = message(user);
		msg = submission_message(sub);
		submission_free(sub);
		T(spool_id_of(msg, spool_seq_now(), NULL, &id) == SPOOL_OK &&
		  spool_add(&app->spool, SPOOL_QUEUE, &id, msg, NULL, form->id, &st, NULL) == SPOOL_OK &&
		  spool_read(&app->spool, SPOOL_QUEUE, &id, &it) == SPOOL_OK, "case %zu: queued", i);
		canned = result(cases[i].o, cases[i].calls, 0, cases[i].retry_after);
		stub_calls = 0;
		T(deliver_waiting(app, app_current(app), form, &it, 1000, (long long)time(NULL) + 60, &dv), "case %zu: tried", i);
		T(stub_calls == 1 && dv.fate == cases[i].fate && dv.spool_ok,
		  "case %zu: fate %d, want %d", i, dv.fate, cases[i].fate);
		area = find(&app->spool, user, id.mid, &after);
		T(area == cases[i].area, "case %zu: area %d, want %d", i, area, cases[i].area);
		if (area == SPOOL_QUEUE) {
			T(after.st.attempts == cases[i].attempts, "case %zu: attempts %u", i,
			  after.st.attempts);
			T((after.mtime == it.mtime) == cases[i].schedule_kept,
			  "case %zu: schedule %s", i, cases[i].schedule_kept ? "kept" : "moved");
			T(cases[i].schedule_kept || after.st.next_attempt > (long long)time(NULL),
			  "case %zu: a later attempt", i);
		}
		if (cases[i].reason)
			T_STREQ(after.reason, cases[i].reason, "case %zu: reason", i);
		spool_item_free(&after);
		spool_item_free(&it);
		cJSON_Delete(msg);
	}
}

/* A waiting file with more traits than any mapping gives (written by hand):
 * buried without a call. */
static void test_unreadable(struct app *app, const struct map_form *form)
{
	struct spool_state st = { 0 };
	struct spool_item it = { 0 }, after = { 0 };
	struct submission *sub = message("too-many");
	cJSON *msg = submission_message(sub), *traits = cJSON_GetObjectItem(msg, "traits");
	struct spool_id id;
	struct delivery dv;

	submission_free(sub);
	for (unsigned i = 0; i < SUB_MAX_TRAITS; i++) {
		char name[16];

		snprintf(name, sizeof name, "t%u", i);
		cJSON_AddTrueToObject(traits, name);
	}
	T(spool_id_of(msg, spool_seq_now(), NULL, &id) == SPOOL_OK &&
	  spool_add(&app->spool, SPOOL_QUEUE, &id, msg, NULL, form->id, &st, NULL) == SPOOL_OK &&
	  spool_read(&app->spool, SPOOL_QUEUE, &id, &it) == SPOOL_OK, "queued by hand");
	stub_calls = 0;
	T(deliver_waiting(app, app_current(app), form, &it, 1000, (long long)time(NULL) + 60, &dv) &&
	  dv.fate == DELIVER_DEAD && dv.spool_ok && stub_calls == 0, "buried, no call");
	T(find(&app->spool, "too-many", id.mid, &after) == SPOOL_DEAD, "in the dead area");
	T_STREQ(after.reason, "rejected http=0 more than 1024 traits, or steps that are not steps", "why");
	spool_item_free(&after);
	spool_item_free(&it);
	cJSON_Delete(msg);
}

/* A submission of `user` with the contact, account, list and note steps. */
static struct submission *planned(const char *user)
{
	struct submission *s = message(user);

	T(s->steps.n == 1 && s->steps.v[0].kind == STEP_CONTACT &&
	  steps_add(&s->steps, STEP_ACCOUNT, "Acme", NULL, false) == STEPS_OK &&
	  steps_add(&s->steps, STEP_LIST, "Webinar", NULL, false) == STEPS_OK &&
	  steps_add(&s->steps, STEP_NOTE, NULL, "Hello", false) == STEPS_OK, "steps planned");
	return s;
}

static void script(const struct fm_result *r, unsigned n)
{
	memset(step_script, 0, sizeof step_script);
	if (n)
		memcpy(step_script, r, n * sizeof *r);
	step_calls = 0;
	step_log[0] = '\0';
}

/* A new submission's steps (a visitor waits): the contact first, then the
 * others in order; a step that must wait stops the run and the rest is
 * spooled with what is done; one refused for good is marked and the run goes
 * on; the answer depends on the contact alone. */
static void test_steps_new(struct app *app, struct mapping *m, const struct map_form *form)
{
	char sum[256];
	struct spool_item it = { 0 };
	struct submission *sub;
	struct delivery dv;
	struct fm_result ok = result(FM_DELIVERED, 1, 200, -1);

	canned = ok;
	canned.contact_id = 77;
	canned.links.n = 0;

	/* Every step goes through: nothing kept. */
	sub = planned("steps-all");
	script((struct fm_result[]){ ok, ok, ok }, 3);
	deliver_new(app, m, form, sub, &dv);
	T(dv.fate == DELIVER_SENT && dv.contact_done, "all done: sent");
	T_STREQ(step_log, "account(77,links) list(77,links) note(77,links)",
	        "in order, with the contact's id and its links");
	T(dv.calls == 4, "calls of the whole run: %u", dv.calls);
	T(find(&app->spool, "steps-all", mids[n_mids - 1], &it) == -1, "nothing kept");
	submission_free(sub);

	/* The list must wait: the note is not tried, the rest spooled. */
	sub = planned("steps-retry");
	script((struct fm_result[]){ ok, result(FM_RETRY, 1, 503, -1) }, 2);
	deliver_new(app, m, form, sub, &dv);
	T(dv.fate == DELIVER_QUEUED && dv.contact_done && dv.spool_ok, "list 503: queued");
	T_STREQ(step_log, "account(77,links) list(77,links)", "stopped at the list");
	T_STREQ(dv.fm.message, "list: canned retry", "the log names the step");
	T(find(&app->spool, "steps-retry", mids[n_mids - 1], &it) == SPOOL_QUEUE, "in the queue");
	T(it.st.attempts == 1, "an attempt counted: %u", it.st.attempts);
	step_app = app;
	disk_steps("steps-retry", sum, sizeof sum);
	T_STREQ(sum, "contact:done,account:done,list:pending,note:pending", "the record");
	{
		const cJSON *c0 = cJSON_GetArrayItem(it.steps, 0), *c1 = cJSON_GetArrayItem(it.steps, 1);

		T(cJSON_GetNumberValue(cJSON_GetObjectItem(c0, "id")) == 77, "the contact's id kept");
		T(cJSON_GetNumberValue(cJSON_GetObjectItem(c1, "id")) == 5001, "the account's id kept");
	}
	spool_item_free(&it);
	submission_free(sub);

	/* The list refused for good: the note still runs; dead, the visitor
	 * sent on. */
	sub = planned("steps-dead");
	script((struct fm_result[]){ ok, result(FM_REJECTED, 1, 400, -1), ok }, 3);
	deliver_new(app, m, form, sub, &dv);
	T(dv.fate == DELIVER_DEAD && dv.contact_done && dv.spool_ok, "list 400: dead");
	T_STREQ(step_log, "account(77,links) list(77,links) note(77,links)", "the note ran");
	T(find(&app->spool, "steps-dead", mids[n_mids - 1], &it) == SPOOL_DEAD, "in the dead area");
	T_STREQ(it.reason, "steps refused; list \"Webinar\": rejected http=400 canned rejected",
	        "the reason names the step");
	disk_steps("steps-dead", sum, sizeof sum);
	T_STREQ(sum, "contact:done,account:done,list:refused,note:done", "the record");
	spool_item_free(&it);
	submission_free(sub);

	/* Held back by the shared state (paused): no attempt counted. */
	sub = planned("steps-held");
	script((struct fm_result[]){ result(FM_PAUSED, 0, 0, 60) }, 1);
	deliver_new(app, m, form, sub, &dv);
	T(dv.fate == DELIVER_QUEUED && dv.contact_done, "paused at the account: queued");
	T(find(&app->spool, "steps-held", mids[n_mids - 1], &it) == SPOOL_QUEUE &&
	  it.st.attempts == 0, "not an attempt");
	spool_item_free(&it);
	submission_free(sub);

	/* The budget spent by the contact: the other steps are drain's. */
	sub = planned("steps-budget");
	script(NULL, 0);
	app->config.timeout_ms = 1;
	step_sleep_ms = 0;
	canned_sleep_ms = 5;
	deliver_new(app, m, form, sub, &dv);
	canned_sleep_ms = 0;
	app->config.timeout_ms = 1000;
	T(dv.fate == DELIVER_QUEUED && dv.contact_done && step_calls == 0, "budget spent: queued");
	T(find(&app->spool, "steps-budget", mids[n_mids - 1], &it) == SPOOL_QUEUE &&
	  it.st.attempts == 0 && it.st.next_attempt == 0, "due at once, not an attempt");
	spool_item_free(&it);
	submission_free(sub);

	/* The contact must wait: no other step runs. */
	sub = planned("steps-contact");
	canned = result(FM_RETRY, 1, 503, -1);
	script(NULL, 0);
	deliver_new(app, m, form, sub, &dv);
	T(dv.fate == DELIVER_QUEUED && !dv.contact_done && step_calls == 0, "contact 503: queued");
	disk_steps("steps-contact", sum, sizeof sum);
	T_STREQ(sum, "contact:pending,account:pending,list:pending,note:pending", "all pending");
	submission_free(sub);

	/* The contact refused: the visitor is refused, the contact step marked. */
	sub = planned("steps-rejected");
	canned = result(FM_REJECTED, 1, 400, -1);
	deliver_new(app, m, form, sub, &dv);
	T(dv.fate == DELIVER_DEAD && !dv.contact_done && step_calls == 0, "contact 400: dead");
	disk_steps("steps-rejected", sum, sizeof sum);
	T_STREQ(sum, "contact:refused,account:pending,list:pending,note:pending", "marked");
	submission_free(sub);

	/* A write that gave no id: written again later, nothing else runs. */
	sub = planned("steps-noid");
	canned = ok;
	canned.contact_id = 0;
	deliver_new(app, m, form, sub, &dv);
	T(dv.fate == DELIVER_QUEUED && !dv.contact_done && step_calls == 0, "no id: queued");
	disk_steps("steps-noid", sum, sizeof sum);
	T_STREQ(sum, "contact:pending,account:pending,list:pending,note:pending", "all pending");
	T(find(&app->spool, "steps-noid", mids[n_mids - 1], &it) == SPOOL_QUEUE &&
	  it.st.attempts == 1, "an attempt counted");
	spool_item_free(&it);
	submission_free(sub);
}

/* A waiting submission with the contact done: only what is pending runs,
 * and each step's record is on disk before the next call. */
static void test_steps_waiting(struct app *app, const struct map_form *form)
{
	struct spool_state st = { .attempts = 1 };
	struct spool_item it = { 0 };
	struct submission *sub = planned("steps-wait");
	struct fm_result ok = result(FM_DELIVERED, 1, 200, -1);
	cJSON *msg = submission_message(sub), *steps;
	struct spool_id id;
	struct delivery dv;
	char sum[256];

	sub->steps.v[0].state = STEP_DONE;
	sub->steps.v[0].id = 88;
	sub->steps.v[1].state = STEP_DONE;
	steps = steps_to_json(&sub->steps);
	submission_free(sub);
	T(spool_id_of(msg, spool_seq_now(), NULL, &id) == SPOOL_OK &&
	  spool_add(&app->spool, SPOOL_QUEUE, &id, msg, steps, form->id, &st, NULL) == SPOOL_OK &&
	  spool_read(&app->spool, SPOOL_QUEUE, &id, &it) == SPOOL_OK, "queued");
	step_app = app;
	step_user = "steps-wait";
	stub_calls = 0;
	script((struct fm_result[]){ ok, result(FM_RETRY, 1, 503, -1) }, 2);
	T(deliver_waiting(app, app_current(app), form, &it, 1000, (long long)time(NULL) + 60, &dv), "tried");
	T(stub_calls == 0, "the contact is not written again");
	T_STREQ(step_log, "list(88) note(88)", "pending steps only, no links known");
	T_STREQ(step_disk[1], "contact:done,account:done,list:done,note:pending",
	        "the list recorded done before the note's call");
	T(dv.fate == DELIVER_QUEUED && dv.spool_ok, "the note waits");
	spool_item_free(&it);
	T(find(&app->spool, "steps-wait", id.mid, &it) == SPOOL_QUEUE && it.st.attempts == 2,
	  "rescheduled, an attempt counted");
	disk_steps("steps-wait", sum, sizeof sum);
	script((struct fm_result[]){ ok }, 1);
	T(deliver_waiting(app, app_current(app), form, &it, 1000, (long long)time(NULL) + 60, &dv) &&
	  dv.fate == DELIVER_SENT && dv.spool_ok, "the note: sent");
	T_STREQ(step_log, "note(88)", "only the note");
	spool_item_free(&it);
	T(find(&app->spool, "steps-wait", id.mid, &it) == -1, "removed");
	step_user = NULL;
	cJSON_Delete(steps);
	cJSON_Delete(msg);
}

/* A step done whose record cannot be written: the run stops there, the
 * file keeps its in-flight mark and what it said before; the step is the one
 * that repeats. */
static void test_steps_unrecorded(struct app *app, const struct map_form *form)
{
	struct spool_state st = { 0 };
	struct spool_item it = { 0 };
	struct submission *sub = planned("steps-unrec");
	struct fm_result ok = result(FM_DELIVERED, 1, 200, -1);
	cJSON *msg = submission_message(sub), *steps;
	long long mark = (long long)time(NULL) + 60;
	char moved[720], sum[256];
	struct spool_id id;
	struct delivery dv;

	sub->steps.v[0].state = STEP_DONE;
	sub->steps.v[0].id = 88;
	steps = steps_to_json(&sub->steps);
	submission_free(sub);
	T(spool_id_of(msg, spool_seq_now(), NULL, &id) == SPOOL_OK &&
	  spool_add(&app->spool, SPOOL_QUEUE, &id, msg, steps, form->id, &st, NULL) == SPOOL_OK &&
	  spool_read(&app->spool, SPOOL_QUEUE, &id, &it) == SPOOL_OK, "queued");
	snprintf(sabotage, sizeof sabotage, "%s/queue/%02x", dir, (unsigned)(id.uhash >> 56));
	snprintf(moved, sizeof moved, "%s.x", sabotage);
	script((struct fm_result[]){ ok, ok, ok }, 3);
	T(deliver_waiting(app, app_current(app), form, &it, 1000, mark, &dv), "tried");
	T(unlink(sabotage) == 0 && rename(moved, sabotage) == 0, "restored");
	sabotage[0] = '\0';
	T_STREQ(step_log, "account(88)", "the run stopped after the step it could not record");
	T(dv.fate == DELIVER_QUEUED && !dv.spool_ok, "queued, the spool's failure said");
	spool_item_free(&it);
	T(find(&app->spool, "steps-unrec", id.mid, &it) == SPOOL_QUEUE && it.mtime == mark,
	  "still marked in flight");
	step_app = app;
	disk_steps("steps-unrec", sum, sizeof sum);
	T_STREQ(sum, "contact:done,account:pending,list:pending,note:pending",
	        "the record as it was: the account step is the one to repeat");
	spool_item_free(&it);
	cJSON_Delete(steps);
	cJSON_Delete(msg);
}

int main(void)
{
	char path[600], keyp[640], text[4096];
	const struct map_form *form;
	struct app app;
	struct mapping *m;

	t_unset_config_env();
	T(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof path, "%s/forms.xml", dir);
	snprintf(keyp, sizeof keyp, "%s/key", dir);
	snprintf(text, sizeof text,
	         "<fmgate>\n<settings><freshmarketer api-base=\"http://127.0.0.1:9/api\" "
	         "api-key-file=\"%s\"/><spool dir=\"%s\"/></settings>\n"
	         "<form id=\"f\"><redirect success=\"/\"/><user-id><from-email/></user-id>\n"
	         "<field name=\"email\" trait=\"email\" type=\"email\"/></form>\n"
	         "<form id=\"d\"><redirect success=\"/\"/><user-id><from-email/></user-id>\n"
	         "<field name=\"email\" trait=\"email\" type=\"email\"/>\n"
	         "<webhook name=\"hook\" url=\"http://127.0.0.1:9/h\" secret-file=\"%s\"/>\n"
	         "<webhook name=\"two\" url=\"http://127.0.0.1:9/t\" secret-file=\"%s\"/></form>\n"
	         "</fmgate>\n",
	         keyp, dir, keyp, keyp);
	T(t_write(keyp, "test-key-of-16-bytes\n", 0600) && t_write(path, text, 0644), "files written");
	T(app_init(&app, path) == 0, "app");
	m = (struct mapping *)app_current(&app);
	form = m ? mapping_form(m, "f") : NULL;
	T(form && app_ready(&app) && spool_prepare(&app.spool) == SPOOL_OK, "ready");
	if (form && app_ready(&app)) {
		app.deliver = stub_deliver;
		test_new(&app, m, form);
		test_untried(&app, m, form);
		test_waiting(&app, form);
		test_unreadable(&app, form);
		app.step = stub_step;
		test_steps_new(&app, m, form);
		test_steps_waiting(&app, form);
		test_steps_unrecorded(&app, form);
		app.send = stub_send;
		test_dests(&app, m, mapping_form(m, "d"));
	}
	app_free(&app);
	T(t_remove_tree(dir), "temp dir removed");
	T_DONE();
}
