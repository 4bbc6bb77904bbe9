/*
 * test_fm_fieldcache.c: when the field list is fetched, served and shared
 * (fm_fieldcache.h), with canned answers (fm_canned.h); and the warnings
 * about left-out traits, logged once. No network.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "fm_canned.h"
#include "fm_fieldcache.h"
#include "fm_state.h"
#include "t.h"

#define FIELDS "GET /settings/contacts/fields"
#define LIST   "{\"fields\":[{\"name\":\"cf_region\",\"label\":\"Region\",\"type\":\"text\"}," \
               "{\"name\":\"cf_size\",\"label\":\"Size\",\"type\":\"number\"}]}"
#define OLD    "{\"fields\":[{\"name\":\"cf_region\",\"label\":\"Region\",\"type\":\"text\"}]}"

/* This process's copy before the call. */
enum copy { NO_COPY, FRESH, STALE };

struct fccase {
	const char *name;
	enum copy copy;
	bool force;                /* a refresh forced by a refused field */
	struct canned answers[CANNED_MAX];
	const char *calls;         /* the requests */
	bool ok;                   /* fm_fieldcache_ensure's answer */
	enum fm_outcome want;      /* and *out's outcome */
	size_t n_fields;           /* fields in the list served (0: none) */
};

static const struct fccase cases[] = {
	{"fresh: served, no call", FRESH, false, {{0, NULL, RA_NONE}}, "", true, FM_DELIVERED, 1},
	{"none: fetched", NO_COPY, false, {ANS(200, LIST)}, FIELDS, true, FM_DELIVERED, 2},
	{"stale: refreshed", STALE, false, {ANS(200, LIST)}, FIELDS, true, FM_DELIVERED, 2},
	{"stale, refresh fails: the stale copy is served", STALE, false, {ANS(500, NULL)}, FIELDS,
	 true, FM_DELIVERED, 1},
	{"stale, refresh answered 403: the stale copy is served", STALE, false, {ANS(403, NULL)},
	 FIELDS, true, FM_DELIVERED, 1},
	{"stale, refresh answered 401: the key is refused", STALE, false, {ANS(401, NULL)}, FIELDS,
	 false, FM_PAUSED, 1},
	{"none, 403: retry this submission, no pause", NO_COPY, false, {ANS(403, NULL)}, FIELDS,
	 false, FM_RETRY, 0},
	{"none, 401: paused", NO_COPY, false, {ANS(401, NULL)}, FIELDS, false, FM_PAUSED, 0},
	{"none, not a list: retry", NO_COPY, false, {ANS(200, "{\"nope\":1}")}, FIELDS, false,
	 FM_RETRY, 0},
	{"none, no answer: retry", NO_COPY, false, {{0, NULL, RA_NONE}}, FIELDS, false, FM_RETRY, 0},
	{"forced: a fresh copy is fetched again", FRESH, true, {ANS(200, LIST)}, FIELDS, true,
	 FM_DELIVERED, 2},
	{"forced, failing: the copy does not cover it", FRESH, true, {ANS(500, NULL)}, FIELDS, false,
	 FM_RETRY, 1},
};

static struct fm_fields *list(const char *json, time_t fetched_at)
{
	struct fm_fields *f = NULL;

	if (fm_fields_parse(json, strlen(json), fetched_at, &f) != FMF_OK) {
		printf("bad test list\n");
		exit(2);
	}
	return f;
}

static void run(const struct fccase *k)
{
	struct rig g;
	struct fm_result r;
	bool ok;

	rig_open(&g, k->answers, "", 600);
	if (k->copy != NO_COPY)
		g.fc.fields = list(OLD, time(NULL) - (k->copy == STALE ? 601 : 0));
	fm_result_start(&r);
	ok = fm_fieldcache_ensure(&g.fc, (uint64_t)clock_mono_ms() + 3000, &r, k->force);
	T(ok == k->ok && r.outcome == k->want, "%s: %d %s (%s)", k->name, ok,
	  fm_outcome_name(r.outcome), r.message);
	T_STREQ(canned_calls(&g.s), k->calls, "%s: the requests", k->name);
	T((g.fc.fields ? g.fc.fields->n : 0) == k->n_fields, "%s: %zu fields", k->name,
	  g.fc.fields ? g.fc.fields->n : 0);
	rig_close(&g);
}

static char spool[64];

/* Ensures p has a usable list: true when it does and *out says so. */
static bool proc_ensure(struct rig *p)
{
	struct fm_result r;

	fm_result_start(&r);
	return fm_fieldcache_ensure(&p->fc, (uint64_t)clock_mono_ms() + 3000, &r, false) &&
	       r.outcome == FM_DELIVERED;
}

/* The list is shared through the spool; a failed refresh is tried again only
 * after FM_FIELDS_RETRY_S, by any process. */
static void test_shared(void)
{
	static const struct canned fetch[CANNED_MAX] = {ANS(200, LIST)};
	static const struct canned fail[CANNED_MAX] = {ANS(500, NULL)};
	struct rig a, b, c, d;
	struct timespec ts[2];
	char path[128];

	snprintf(spool, sizeof spool, "/tmp/fmgate-test-fmfc.XXXXXX");
	if (!mkdtemp(spool))
		exit(2);
	rig_open(&a, fetch, spool, 600);
	rig_open(&b, fetch, spool, 600);
	rig_open(&c, fail, spool, 0);
	rig_open(&d, fetch, spool, 0);
	T(proc_ensure(&a) && a.s.n == 1, "one process fetches: %s", canned_calls(&a.s));
	T(proc_ensure(&b) && b.s.n == 0 && b.fc.fields && b.fc.fields->n == 2,
	  "another takes the shared copy without a call");
	T(proc_ensure(&c) && c.s.n == 1 && c.fc.fields && c.fc.fields->n == 2,
	  "stale, the refresh fails: the copy is served: %s", canned_calls(&c.s));
	T(proc_ensure(&c) && c.s.n == 1, "no new try within a minute: %s", canned_calls(&c.s));
	T(proc_ensure(&d) && d.s.n == 0, "nor by another process: %s", canned_calls(&d.s));
	snprintf(path, sizeof path, "%s/state/fields.failed", spool);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= FM_FIELDS_RETRY_S + 1;
	ts[1] = ts[0];
	T(utimensat(AT_FDCWD, path, ts, 0) == 0, "the failure is in the spool");
	T(proc_ensure(&d) && d.s.n == 1, "a minute later a process tries again: %s",
	  canned_calls(&d.s));
	rig_close(&a);
	rig_close(&b);
	rig_close(&c);
	rig_close(&d);
}

/* A share=false fetch (fmgate fields) leaves the shared cache alone. */
static void test_fetch_unshared(void)
{
	static const struct canned fetch[CANNED_MAX] = {ANS(200, LIST)};
	struct rig g;
	struct fm_result r;
	char dir[64], path[128];
	struct stat sb;

	snprintf(dir, sizeof dir, "/tmp/fmgate-test-fmfc.XXXXXX");
	if (!mkdtemp(dir))
		exit(2);
	rig_open(&g, fetch, dir, 600);
	fm_result_start(&r);
	T(fm_fieldcache_fetch(&g.fc, (uint64_t)clock_mono_ms() + 3000, false, &r) && g.fc.fields->n == 2,
	  "fetched: %s", r.message);
	snprintf(path, sizeof path, "%s/state/fields.json", dir);
	T(stat(path, &sb) != 0, "not stored in the shared cache");
	rig_close(&g);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	if (system(path) != 0)
		printf("cannot remove %s\n", dir);
}

/* Counts the lines of stderr while `fn` runs that hold `needle`. */
static int stderr_lines(void (*fn)(void *), void *ud, const char *needle)
{
	char tmp[] = "/tmp/fmgate-test-fmfc-log.XXXXXX", line[512];
	int fd = mkstemp(tmp), saved = dup(2), n = 0;
	FILE *f;

	fflush(stderr);
	dup2(fd, 2);
	fn(ud);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	if ((f = fopen(tmp, "r"))) {
		while (fgets(line, sizeof line, f))
			n += strstr(line, needle) != NULL;
		fclose(f);
	}
	unlink(tmp);
	return n;
}

struct build {
	struct fm_fieldcache *fc;
	const struct submission *sub;
	fmb_note_fn *note;
	void *ud;
};

static const struct map_form form = {.id = "contact"};

static void build_twice(void *ud)
{
	struct build *b = ud;
	struct fm_result r;
	cJSON *tree;

	for (int i = 0; i < 2; i++) {
		fm_result_start(&r);
		free(fm_fieldcache_body(b->fc, b->sub, &form, true, b->note, b->ud, &r, &tree));
		cJSON_Delete(tree);
	}
}

static void count_note(void *ud, enum fmb_event ev, const char *trait, const char *field,
                       const cJSON *value)
{
	(void)ev, (void)trait, (void)field, (void)value;
	(*(int *)ud)++;
}

/* A left-out trait is logged once, not per build; a note callback sees every
 * trait instead. */
static void test_warnings(void)
{
	static const struct canned none[CANNED_MAX] = {{0, NULL, RA_NONE}};
	struct rig g;
	struct submission m;
	struct build b = {&g.fc, &m, NULL, NULL};
	struct fm_result r;
	cJSON *tree = NULL;
	char *json;
	int notes = 0;

	canned_submission("{\"userId\":\"u-1\",\"traits\":{\"email\":\"a@b.example\","
	                  "\"Region\":\"North\",\"Shoe size\":\"44\"},"
	                  "\"context\":{\"fmgate\":{\"userIdSource\":\"signed\"}}}", &form, &m);
	rig_open(&g, none, "", 600);
	g.fc.fields = list(LIST, time(NULL));
	T(stderr_lines(build_twice, &b, "\"Shoe size\"") == 1, "left out: logged once");
	b.note = count_note;
	b.ud = &notes;
	T(stderr_lines(build_twice, &b, "\"Shoe size\"") == 0 && notes == 2 * 2,
	  "with a note callback every trait is told, nothing logged: %d notes", notes);
	fm_result_start(&r);
	json = fm_fieldcache_body(&g.fc, &m, &form, false, NULL, NULL, &r, &tree);
	T(json && strstr(json, "\"cf_region\":\"North\"") && !strstr(json, "unique_identifier"),
	  "an unkeyed body: %s", json ? json : r.message);
	free(json);
	cJSON_Delete(tree);
	submission_free(&m);
	canned_submission("{\"userId\":\"u-1\",\"traits\":{\"email\":\"a@b.example\",\"Size\":\"lots\"}}",
	                  &form, &m);
	fm_result_start(&r);
	json = fm_fieldcache_body(&g.fc, &m, &form, true, NULL, NULL, &r, &tree);
	T(!json && !tree && r.outcome == FM_INVALID && strstr(r.message, "cf_size"),
	  "a value its field refuses: %s", r.message);
	submission_free(&m);
	rig_close(&g);
}

int main(void)
{
	char cmd[128];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run(&cases[i]);
	test_shared();
	test_fetch_unshared();
	test_warnings();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", spool);
	if (spool[0] && system(cmd) != 0)
		printf("cannot remove %s\n", spool);
	T_DONE();
}
