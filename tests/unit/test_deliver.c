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
static unsigned stub_calls;
static char mids[64][37];
static unsigned n_mids;

static void stub_deliver(struct fm_client *c, const struct submission *sub,
                         const struct map_form *form, unsigned budget_ms, struct fm_result *out)
{
	(void)c;
	(void)sub;
	(void)form;
	(void)budget_ms;
	stub_calls++;
	*out = canned;
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
		T(spool_id_of(msg, spool_seq_now(), &id) == SPOOL_OK &&
		  spool_add(&app->spool, SPOOL_QUEUE, &id, msg, NULL, form->id, &st, NULL) == SPOOL_OK &&
		  spool_read(&app->spool, SPOOL_QUEUE, &id, &it) == SPOOL_OK, "case %zu: queued", i);
		canned = result(cases[i].o, cases[i].calls, 0, cases[i].retry_after);
		stub_calls = 0;
		T(deliver_waiting(app, form, &it, 1000, (long long)time(NULL) + 60, &dv), "case %zu: tried", i);
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
	T(spool_id_of(msg, spool_seq_now(), &id) == SPOOL_OK &&
	  spool_add(&app->spool, SPOOL_QUEUE, &id, msg, NULL, form->id, &st, NULL) == SPOOL_OK &&
	  spool_read(&app->spool, SPOOL_QUEUE, &id, &it) == SPOOL_OK, "queued by hand");
	stub_calls = 0;
	T(deliver_waiting(app, form, &it, 1000, (long long)time(NULL) + 60, &dv) &&
	  dv.fate == DELIVER_DEAD && dv.spool_ok && stub_calls == 0, "buried, no call");
	T(find(&app->spool, "too-many", id.mid, &after) == SPOOL_DEAD, "in the dead area");
	T_STREQ(after.reason, "rejected http=0 more than 1024 traits", "why");
	spool_item_free(&after);
	spool_item_free(&it);
	cJSON_Delete(msg);
}

int main(void)
{
	char path[600], keyp[640], text[1024];
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
	         "<field name=\"email\" trait=\"email\" type=\"email\"/></form>\n</fmgate>\n",
	         keyp, dir);
	T(t_write(keyp, "test-key\n", 0600) && t_write(path, text, 0644), "files written");
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
	}
	app_free(&app);
	T(t_remove_tree(dir), "temp dir removed");
	T_DONE();
}
