/*
 * test_fm_lists.c: marketing lists by name (fm_lists.h) with canned answers
 * (fm_canned.h): found, paged, missing, created, refused; the copy kept by a
 * process and the one shared through SPOOL/state/lists.json; one creation
 * when two processes want a missing list at once. Then the client's steps
 * (fm_client.h): what `try` prints, and a paused delivery. No network.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "fm_canned.h"
#include "fm_client.h"
#include "fm_lists.h"
#include "fm_state.h"
#include "fm_client.h"
#include "hash.h"
#include "t.h"

#define PAGE1    "GET /lists?page=1"
#define PAGE(n)  "GET /lists?page=" #n
#define CREATE   "POST /lists"

#define LISTS    "{\"lists\":[{\"id\":7001,\"name\":\"Webinar December\"},{\"id\":7002," \
                 "\"name\":\"Newsletter\"}],\"meta\":{\"total_pages\":1,\"total\":2}}"
#define NONE     "{\"lists\":[],\"meta\":{\"total_pages\":0,\"total\":0}}"
#define WITH_X   "{\"lists\":[{\"id\":9,\"name\":\"X\"}],\"meta\":{\"total_pages\":1}}"
#define OF3(n, name) "{\"lists\":[{\"id\":" #n ",\"name\":\"" name "\"}],\"meta\":{\"total_pages\":3}}"
#define CREATED  "{\"list\":{\"id\":9,\"name\":\"X\"}}"
#define ERR(m)   "{\"errors\":{\"message\":\"" m "\"}}"

static uint64_t deadline(void)
{
	return (uint64_t)clock_mono_ms() + 3000;
}

/* ---- one find, from no copy ---------------------------------------------- */

struct lcase {
	const char *name;
	const char *list;
	bool create;
	struct canned answers[CANNED_MAX];
	const char *calls;
	enum fm_outcome want;
	long long id;
	const char *message;      /* a part of the message (NULL: not checked) */
};

static const struct lcase cases[] = {
	{"found on the only page", "Newsletter", false, {ANS(200, LISTS)}, PAGE1, FM_DELIVERED, 7002,
	 NULL},
	{"found on the third page", "C", false,
	 {ANS(200, OF3(1, "A")), ANS(200, OF3(2, "B")), ANS(200, OF3(3, "C"))},
	 PAGE1 "; " PAGE(2) "; " PAGE(3), FM_DELIVERED, 3, NULL},
	{"no meta: pages up to an empty one", "Y", false,
	 {ANS(200, "{\"lists\":[{\"id\":9,\"name\":\"X\"}]}"),
	  ANS(200, "{\"lists\":[{\"id\":10,\"name\":\"Y\"}]}"), ANS(200, "{\"lists\":[]}")},
	 PAGE1 "; " PAGE(2) "; " PAGE(3), FM_DELIVERED, 10, NULL},
	{"an exact name only", "newsletter", false, {ANS(200, LISTS)}, PAGE1, FM_REJECTED, 0,
	 "no list named \"newsletter\" in the CRM"},
	{"an empty page ends a wrong count", "Z", false, {ANS(200, OF3(1, "A")), ANS(200, NONE)},
	 PAGE1 "; " PAGE(2), FM_REJECTED, 0, "no list named"},
	{"missing, not to be created", "X", false, {ANS(200, NONE)}, PAGE1, FM_REJECTED, 0,
	 "no list named \"X\" in the CRM"},
	{"missing: created, after a second look under the lock", "X", true,
	 {ANS(200, NONE), ANS(200, NONE), ANS(201, CREATED)}, PAGE1 "; " PAGE1 "; " CREATE,
	 FM_DELIVERED, 9, NULL},
	{"found under the lock: not created", "X", true, {ANS(200, NONE), ANS(200, WITH_X)},
	 PAGE1 "; " PAGE1, FM_DELIVERED, 9, NULL},
	{"the create refused (a duplicate name), then found", "X", true,
	 {ANS(200, NONE), ANS(200, NONE), ANS(400, ERR("Name has already been taken")),
	  ANS(200, WITH_X)}, PAGE1 "; " PAGE1 "; " CREATE "; " PAGE1, FM_DELIVERED, 9, NULL},
	{"the create refused, still missing", "X", true,
	 {ANS(200, NONE), ANS(200, NONE), ANS(400, ERR("Name can't be blank")), ANS(200, NONE)},
	 PAGE1 "; " PAGE1 "; " CREATE "; " PAGE1, FM_REJECTED, 0, "Name can't be blank"},
	{"the create fails: retry", "X", true, {ANS(200, NONE), ANS(200, NONE), ANS(503, NULL)},
	 PAGE1 "; " PAGE1 "; " CREATE, FM_RETRY, 0, NULL},
	{"the create answers no id: retry", "X", true,
	 {ANS(200, NONE), ANS(200, NONE), ANS(201, "{\"list\":{}}")},
	 PAGE1 "; " PAGE1 "; " CREATE, FM_RETRY, 0, "no list id"},
	{"the create with a refused key: paused", "X", true,
	 {ANS(200, NONE), ANS(200, NONE), ANS(403, NULL)}, PAGE1 "; " PAGE1 "; " CREATE, FM_PAUSED,
	 0, NULL},
	{"a refused key: paused", "X", false, {ANS(401, ERR("bad key"))}, PAGE1, FM_PAUSED, 0, NULL},
	{"a read answered 403: retry", "X", false, {ANS(403, NULL)}, PAGE1, FM_RETRY, 0, NULL},
	{"a 5xx: retry", "X", true, {ANS(500, NULL)}, PAGE1, FM_RETRY, 0, NULL},
	{"a later page fails: retry", "C", false, {ANS(200, OF3(1, "A")), ANS(502, NULL)},
	 PAGE1 "; " PAGE(2), FM_RETRY, 0, NULL},
	{"not the expected answer: retry", "X", false, {ANS(200, "{\"list\":[]}")}, PAGE1, FM_RETRY,
	 0, "not the expected answer"},
	{"no name: refused, no call", "", false, {{0}}, "", FM_REJECTED, 0, NULL},
};

static void run(const struct lcase *k)
{
	struct rig g;
	struct fm_lists *l;
	struct fm_result r;
	long long id = -1;

	rig_open(&g, k->answers, "", 3600);
	l = fm_lists_new(&g.h, "", false);
	fm_result_start(&r);
	fm_lists_find(l, k->list, k->create, deadline(), &id, &r);
	T(r.outcome == k->want, "%s: %s (%s)", k->name, fm_outcome_name(r.outcome), r.message);
	T_STREQ(canned_calls(&g.s), k->calls, "%s: the requests", k->name);
	T(r.calls == g.s.n, "%s: %u calls counted", k->name, r.calls);
	T(id == k->id, "%s: id %lld", k->name, id);
	if (k->message)
		T(strstr(r.message, k->message) != NULL, "%s: message \"%s\"", k->name, r.message);
	if (k->create && g.s.n >= 3 && strcmp(g.s.asked[2], CREATE) == 0)
		T_STREQ(g.s.json[2], "{\"name\":\"X\"}", "%s: the create's body", k->name);
	fm_lists_free(l);
	rig_close(&g);
}

/* ---- this process's copy ------------------------------------------------------ */

static void test_copy(void)
{
	static const struct canned answers[CANNED_MAX] = {
		ANS(200, LISTS), ANS(200, LISTS), ANS(404, ERR("List not found")), ANS(200, LISTS),
		ANS(200, "{}"),
		ANS(400, ERR("Invalid ids")), ANS(500, NULL), ANS(401, NULL),
	};
	struct rig g;
	struct fm_lists *l;
	struct fm_result r;
	long long id;

	rig_open(&g, answers, "", 3600);
	l = fm_lists_new(&g.h, "", false);
	fm_result_start(&r);
	fm_lists_find(l, "Newsletter", false, deadline(), &id, &r);
	fm_lists_find(l, "Webinar December", false, deadline(), &id, &r);
	T(r.outcome == FM_DELIVERED && id == 7001, "copy: the other list from the copy (%lld)", id);
	fm_lists_find(l, "Nope", false, deadline(), &id, &r);
	T(r.outcome == FM_REJECTED && id == 0, "copy: a name missing, fetched again: %s",
	  fm_outcome_name(r.outcome));
	T_STREQ(canned_calls(&g.s), PAGE1 "; " PAGE1,
	        "copy: one fetch for the two known, one more for the missing one");
	T(fm_lists_known(l, "Newsletter", &id) && id == 7002, "copy: known");

	fm_result_start(&r);
	fm_lists_add(l, 7002, 5, deadline(), &r);
	T(r.outcome == FM_RETRY && strstr(r.message, "7002"), "copy: a list gone: retry (%s)",
	  r.message);
	T_STREQ(g.s.json[2], "{\"ids\":[5]}", "copy: the add's body");
	T(!fm_lists_known(l, "Newsletter", &id), "copy: the gone list is dropped");
	T(fm_lists_known(l, "Webinar December", &id), "copy: the others stay");
	fm_result_start(&r);
	fm_lists_find(l, "Newsletter", false, deadline(), &id, &r);
	T(r.outcome == FM_DELIVERED && id == 7002, "copy: looked for again at once (%s)",
	  fm_outcome_name(r.outcome));
	fm_lists_add(l, 7002, 5, deadline(), &r);
	T(r.outcome == FM_DELIVERED, "copy: added (%s)", r.message);
	fm_lists_add(l, 7002, 5, deadline(), &r);
	T(r.outcome == FM_REJECTED, "copy: an add refused (%s)", fm_outcome_name(r.outcome));
	fm_lists_add(l, 7002, 5, deadline(), &r);
	T(r.outcome == FM_RETRY, "copy: an add failing (%s)", fm_outcome_name(r.outcome));
	fm_lists_add(l, 7002, 5, deadline(), &r);
	T(r.outcome == FM_PAUSED, "copy: an add with a refused key (%s)", fm_outcome_name(r.outcome));
	T_STREQ(canned_calls(&g.s), PAGE1 "; " PAGE1 "; PUT /lists/7002/add_contacts; " PAGE1 "; "
	        "PUT /lists/7002/add_contacts; PUT /lists/7002/add_contacts; "
	        "PUT /lists/7002/add_contacts; PUT /lists/7002/add_contacts", "copy: the requests");
	fm_lists_free(l);
	rig_close(&g);
}

/* A list fmgate made stays known while GET /lists does not show it yet (the
 * CRM's list of lists may lag behind a creation): it is never made twice. */
static void test_made_kept(void)
{
	static const struct canned answers[CANNED_MAX] = {
		ANS(200, NONE), ANS(200, NONE), ANS(201, CREATED), ANS(200, NONE),
	};
	struct rig g;
	struct fm_lists *l;
	struct fm_result r;
	long long id;

	rig_open(&g, answers, "", 3600);
	l = fm_lists_new(&g.h, "", false);
	fm_result_start(&r);
	fm_lists_find(l, "X", true, deadline(), &id, &r);
	T(r.outcome == FM_DELIVERED && id == 9, "made: created (%s)", r.message);
	fm_lists_find(l, "Z", false, deadline(), &id, &r);
	T(r.outcome == FM_REJECTED, "made: another name missing, fetched");
	T(fm_lists_known(l, "X", &id) && id == 9, "made: kept through a fetch that lacks it");
	T_STREQ(canned_calls(&g.s), PAGE1 "; " PAGE1 "; " CREATE "; " PAGE1, "made: the requests");
	fm_lists_free(l);
	rig_close(&g);
}

/* check --online: every page once, 1 / 0 / -1. */
static void test_exists(void)
{
	static const struct canned answers[CANNED_MAX] = {
		ANS(200, LISTS), ANS(503, NULL),
	};
	struct rig g;
	struct fm_lists *l;
	struct fm_result r;

	rig_open(&g, answers, "", 3600);
	l = fm_lists_new(&g.h, "", false);
	fm_result_start(&r);
	T(fm_lists_exists(l, "Newsletter", deadline(), &r) == 1, "exists: yes");
	T(fm_lists_exists(l, "Nope", deadline(), &r) == 0, "exists: no, from the same fetch");
	T(r.calls == 1, "exists: one fetch for both: %u calls", r.calls);
	fm_lists_free(l);
	l = fm_lists_new(&g.h, "", false);
	T(fm_lists_exists(l, "Nope", deadline(), &r) == -1 && r.outcome == FM_RETRY,
	  "exists: cannot tell");
	fm_lists_free(l);
	rig_close(&g);
}

/* ---- the shared copy ---------------------------------------------------------- */

static char spool[64];

static void write_state(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/state/%s", spool, name);
	if (!(f = fopen(path, "w")) || fputs(text, f) < 0 || fclose(f) != 0)
		printf("cannot write %s\n", path);
}

static bool state_has(const char *name, const char *part)
{
	char path[128], buf[4096] = "";
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/state/%s", spool, name);
	if (!(f = fopen(path, "r")))
		return false;
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, part) != NULL;
}

static void test_shared(void)
{
	static const struct canned fetch[CANNED_MAX] = {ANS(200, LISTS)};
	static const struct canned none[CANNED_MAX] = {{0}};
	static const struct canned create[CANNED_MAX] = {
		ANS(200, LISTS), ANS(200, LISTS), ANS(201, CREATED), ANS(404, NULL),
	};
	struct rig a, b, c;
	struct fm_lists *la, *lb, *lc;
	struct fm_http other;
	struct fm_result r;
	long long id = 0;
	char hex[17], old[256];

	rig_open(&a, fetch, spool, 3600);
	la = fm_lists_new(&a.h, spool, false);
	fm_result_start(&r);
	fm_lists_find(la, "Newsletter", false, deadline(), &id, &r);
	T(r.outcome == FM_DELIVERED && state_has("lists.json", "\"Webinar December\""),
	  "shared: a fetch is stored");

	rig_open(&b, none, spool, 3600);
	lb = fm_lists_new(&b.h, spool, false);
	T(fm_lists_known(lb, "Webinar December", &id) && id == 7001,
	  "shared: another process knows it from the file");
	fm_result_start(&r);
	fm_lists_find(lb, "Newsletter", false, deadline(), &id, &r);
	T(r.outcome == FM_DELIVERED && id == 7002 && b.s.n == 0, "shared: found without a call");
	fm_lists_free(lb);

	/* Another account's file is not used. */
	fm_http_init(&other, b.h.tr, b.st, "https://other.test/api");
	lb = fm_lists_new(&other, spool, false);
	T(!fm_lists_known(lb, "Newsletter", &id), "shared: not another account's");
	fm_lists_free(lb);

	/* A read-only copy (try) reads it. */
	lb = fm_lists_new(&b.h, spool, true);
	T(fm_lists_known(lb, "Newsletter", &id), "shared: read-only reads it");
	fm_lists_free(lb);
	rig_close(&b);

	/* A list created is shared at once; a list gone is dropped from the file.
	 * A missing name fetches the lists, and again under the lock. */
	rig_open(&c, create, spool, 3600);
	lc = fm_lists_new(&c.h, spool, false);
	fm_result_start(&r);
	fm_lists_find(lc, "X", true, deadline(), &id, &r);
	T(r.outcome == FM_DELIVERED && id == 9, "shared: created (%s)", r.message);
	T(fm_lists_known(la, "X", &id) && id == 9, "shared: the creation is seen by the other");
	fm_lists_add(lc, 7002, 5, deadline(), &r);
	T(r.outcome == FM_RETRY && !state_has("lists.json", "Newsletter") &&
	  state_has("lists.json", "\"X\""), "shared: a list gone is dropped from the file");
	T_STREQ(canned_calls(&c.s), PAGE1 "; " PAGE1 "; " CREATE "; PUT /lists/7002/add_contacts",
	        "shared: the creator's requests");
	fm_lists_free(lc);
	rig_close(&c);
	fm_lists_free(la);
	rig_close(&a);

	/* A file fetched long ago: a name missing from it is fetched. */
	snprintf(hex, sizeof hex, "%016llx",
	         (unsigned long long)hash_fnv1a(HASH_FNV_INIT, CANNED_BASE, strlen(CANNED_BASE)));
	snprintf(old, sizeof old, "{\"account\":\"%s\",\"fetched_at\":1000,\"complete\":true,"
	         "\"lists\":[{\"id\":1,\"name\":\"Old\"}]}", hex);
	write_state("lists.json", old);
	rig_open(&a, fetch, spool, 3600);
	la = fm_lists_new(&a.h, spool, false);
	fm_result_start(&r);
	fm_lists_find(la, "Old", false, deadline(), &id, &r);
	T(r.outcome == FM_DELIVERED && id == 1 && a.s.n == 0, "stale file: a name in it is used");
	fm_lists_find(la, "Newsletter", false, deadline(), &id, &r);
	T(r.outcome == FM_DELIVERED && id == 7002, "stale file: a name missing is fetched (%s)",
	  fm_outcome_name(r.outcome));
	T_STREQ(canned_calls(&a.s), PAGE1, "stale file: one fetch");
	fm_lists_free(la);
	rig_close(&a);
}

/* ---- two processes, one missing list ---------------------------------------------- */

/*
 * A CRM in files, for processes that share it: the list exists once
 * SPOOL/crm-list exists; each POST /lists appends a line to SPOOL/crm-posts.
 * A POST takes 200 ms, so that both processes look before either creates.
 */
static bool crm_send(void *ctx, const struct fm_send *rq, struct fm_answer *ans)
{
	static char body[256];
	char path[128];
	int fd;

	(void)ctx;
	memset(ans, 0, sizeof *ans);
	ans->rl = (struct fm_ratelimit){-1, -1, -1, -1, -1, -1};
	ans->retry_after_s = -1;
	snprintf(path, sizeof path, "%s/crm-list", spool);
	if (strcmp(rq->method, "POST") == 0) {
		usleep(200000);
		close(open(path, O_WRONLY | O_CREAT, 0600));
		snprintf(path, sizeof path, "%s/crm-posts", spool);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
			if (write(fd, "post\n", 5) != 5)
				printf("cannot count a POST\n");
			close(fd);
		}
		ans->status = 201;
		snprintf(body, sizeof body, "%s", CREATED);
	} else {
		ans->status = 200;
		snprintf(body, sizeof body, "%s", access(path, F_OK) == 0 ? WITH_X : NONE);
	}
	ans->body = body;
	ans->len = strlen(body);
	return true;
}

static void test_two_processes(void)
{
	char path[128], buf[64] = "";
	pid_t pid[2];
	int go[2], st, ok = 0;
	FILE *f;

	if (pipe(go) != 0)
		exit(2);
	for (int i = 0; i < 2; i++) {
		if ((pid[i] = fork()) == 0) {
			struct fm_state *s;
			struct fm_http h;
			struct fm_lists *l;
			struct fm_result r;
			long long id = 0;
			char c;

			close(go[1]);
			s = fm_state_open(spool, CANNED_BASE, "testkey", false);
			fm_http_init(&h, (struct fm_transport){crm_send, NULL}, s, CANNED_BASE);
			l = fm_lists_new(&h, spool, false);
			if (read(go[0], &c, 1) < 0)   /* both start at once */
				_exit(3);
			fm_result_start(&r);
			fm_lists_find(l, "X", true, (uint64_t)clock_mono_ms() + 5000, &id, &r);
			_exit(r.outcome == FM_DELIVERED && id == 9 ? 0 : 1);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < 2; i++)
		if (pid[i] > 0 && waitpid(pid[i], &st, 0) == pid[i] && WIFEXITED(st) &&
		    WEXITSTATUS(st) == 0)
			ok++;
	T(ok == 2, "two processes: both have the list (%d)", ok);
	snprintf(path, sizeof path, "%s/crm-posts", spool);
	if ((f = fopen(path, "r"))) {
		buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
		fclose(f);
	}
	T_STREQ(buf, "post\n", "two processes: created once");
}

/* ---- the client's steps ---------------------------------------------------------------- */

static struct fm_client *client(void)
{
	struct config cfg = {.timeout_ms = 1000};
	struct fm_client *c;

	snprintf(cfg.api_base, sizeof cfg.api_base, "%s", CANNED_BASE);
	snprintf(cfg.api_key, sizeof cfg.api_key, "testkey");
	snprintf(cfg.spool_dir, sizeof cfg.spool_dir, "%s", spool);
	if (!(c = fm_client_new(&cfg)))
		exit(2);
	return c;
}

static const char *describe(struct fm_client *c, const struct step *s)
{
	static char *text;
	size_t len;
	FILE *f;

	free(text);
	text = NULL;
	if (!(f = open_memstream(&text, &len)))
		exit(2);
	fm_step_describe(c, s, f);
	fclose(f);
	return text;
}

static void test_steps(void)
{
	static const struct canned answers[CANNED_MAX] = {ANS(200, LISTS)};
	struct step account = {.kind = STEP_ACCOUNT, .name = "Acme"};
	struct step list = {.kind = STEP_LIST, .name = "Webinar December"};
	struct step create = {.kind = STEP_LIST, .name = "Archive", .create = true};
	struct step note = {.kind = STEP_NOTE, .text = "hello"};
	struct fm_client *c;
	struct fm_state *st;
	struct fm_lists *l;
	struct fm_result r;
	struct rig g;
	long long id;
	char path[128];

	T_STREQ(describe(NULL, &account),
	        "  POST /sales_accounts/upsert                      (the account, by its name)\n"
	        "  GET /contacts/{contact}?include=sales_accounts   (when the contact write did "
	        "not return its links)\n"
	        "  PUT /contacts/{contact}?include=sales_accounts   (when not yet linked)\n",
	        "try: an account");
	account.id = 77;
	T(!strstr(describe(NULL, &account), "upsert"), "try: an account upserted already");
	T_STREQ(describe(NULL, &create),
	        "  GET /lists?page=1..                              (when \"Archive\" is not cached)\n"
	        "  POST /lists                                      (create=\"true\", when the CRM "
	        "has none)\n"
	        "  PUT /lists/{id}/add_contacts\n", "try: a list to create");
	T_STREQ(describe(NULL, &note),
	        "  POST /notes                                      (the note, on the contact)\n",
	        "try: a note");

	/* A list cached by the workers: its id. */
	snprintf(path, sizeof path, "%s/state/lists.json", spool);
	unlink(path);
	rig_open(&g, answers, spool, 3600);
	l = fm_lists_new(&g.h, spool, false);
	fm_result_start(&r);
	fm_lists_find(l, "Newsletter", false, deadline(), &id, &r);
	fm_lists_free(l);
	rig_close(&g);
	c = client();
	T_STREQ(describe(c, &list), "  PUT /lists/7001/add_contacts\n",
	        "try: a list cached");
	T(strstr(describe(c, &create), "PUT /lists/{id}/add_contacts"), "try: a list not cached");

	fm_step(c, &note, 0, NULL, 1000, &r);
	T(r.outcome == FM_RETRY && r.calls == 0, "step: no contact yet: %s",
	  fm_outcome_name(r.outcome));
	st = fm_state_open(spool, CANNED_BASE, "testkey", false);
	fm_state_key_refused(st, 401, "bad key");
	fm_step(c, &list, 5, NULL, 1000, &r);
	T(r.outcome == FM_PAUSED && r.calls == 0 && r.retry_after_s > 0,
	  "step: paused, no call (%s, %u)", fm_outcome_name(r.outcome), r.calls);
	fm_state_key_works(st);
	fm_state_close(st);
	fm_client_free(c);
}

int main(void)
{
	char cmd[128];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run(&cases[i]);
	test_copy();
	test_made_kept();
	test_exists();
	snprintf(spool, sizeof spool, "/tmp/fmgate-test-lists.XXXXXX");
	if (!mkdtemp(spool))
		return 2;
	test_shared();
	test_two_processes();
	test_steps();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", spool);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", spool);
	T_DONE();
}
