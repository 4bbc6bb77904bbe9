/*
 * test_fm_client.c: the libcurl client and the identity rule against the
 * Freshmarketer test double (tests/fmdouble.py).
 *
 * Uses the double at FMDOUBLE_URL (key FMDOUBLE_KEY, default "testkey") when
 * set; otherwise starts one itself (FMDOUBLE_SCRIPT, default
 * tests/fmdouble.py, run from the repository root) and stops it by its PID.
 * Every case resets the double first.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "config.h"
#include "fm_client.h"
#include "fm_state.h"
#include "t.h"

static char url[256];        /* http://127.0.0.1:PORT */
static char key[128];
static pid_t double_pid = -1;
static char tmpdir[64];

/* ---- the double -------------------------------------------------------- */

static bool start_double(void)
{
	const char *script = getenv("FMDOUBLE_SCRIPT");
	char portfile[128], buf[16] = "";
	FILE *f;

	if (!script)
		script = "tests/fmdouble.py";
	snprintf(tmpdir, sizeof tmpdir, "/tmp/fmgate-test-fmc.XXXXXX");
	if (!mkdtemp(tmpdir))
		return false;
	snprintf(portfile, sizeof portfile, "%s/port", tmpdir);
	double_pid = fork();
	if (double_pid < 0)
		return false;
	if (double_pid == 0) {
		execl("/usr/bin/python3", "python3", script, "--port", "0", "--port-file",
		      portfile, "--key", key, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) { /* up to 10 s */
		int st;
		if (waitpid(double_pid, &st, WNOHANG) == double_pid) {
			double_pid = -1; /* it died: a bad script path, say */
			break;
		}
		if ((f = fopen(portfile, "r"))) {
			bool got = fgets(buf, sizeof buf, f) != NULL;
			fclose(f);
			if (got)
				break;
		}
		usleep(50000);
	}
	unlink(portfile);
	rmdir(tmpdir);
	if (!buf[0])
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(url, sizeof url, "http://127.0.0.1:%s", buf);
	return true;
}

static void stop_double(void)
{
	int st;

	if (double_pid > 0) {
		kill(double_pid, SIGTERM);
		waitpid(double_pid, &st, 0);
	}
}

struct sink {
	char buf[1 << 20];
	size_t len;
};

static size_t sink_write(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t len = size * n;

	if (len >= sizeof s->buf - s->len)
		return 0;
	memcpy(s->buf + s->len, p, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return len;
}

/* A call to the double's control API; returns its parsed answer or NULL. */
static cJSON *ctl(const char *method, const char *path, const char *json)
{
	static struct sink s;
	char u[512];
	CURL *h = curl_easy_init();
	cJSON *out = NULL;

	s.len = 0;
	s.buf[0] = '\0';
	snprintf(u, sizeof u, "%s%s", url, path);
	curl_easy_setopt(h, CURLOPT_URL, u);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, json ? json : "");
	if (curl_easy_perform(h) == CURLE_OK)
		out = cJSON_Parse(s.buf);
	else
		printf("  control call %s failed\n", path);
	curl_easy_cleanup(h);
	return out;
}

static void ctl_post(const char *path, const char *json)
{
	cJSON_Delete(ctl("POST", path, json));
}

static void reset(void)
{
	ctl_post("/_double/reset", NULL);
}

/* The double's contacts, and the one with this email (or NULL). */
static cJSON *contacts(void)
{
	return ctl("GET", "/_double/contacts", NULL);
}

static const cJSON *contact_by_email(const cJSON *all, const char *email)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(all, "contacts")) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "email");
		if (cJSON_IsString(e) && strcasecmp(e->valuestring, email) == 0)
			return c;
	}
	return NULL;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A number member, or -1. */
static double num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int n_contacts(void)
{
	cJSON *all = contacts();
	int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(all, "contacts"));
	cJSON_Delete(all);
	return n;
}

/* ---- helpers --------------------------------------------------------------- */

/* A client as one process would have it: with the spool `sp` ("" for none). */
static struct fm_client *client_in(const char *k, const char *sp, unsigned max_age_s)
{
	struct config cfg = {.timeout_ms = 3000, .fields_max_age_s = max_age_s};
	struct fm_client *c;

	snprintf(cfg.api_base, sizeof cfg.api_base, "%s/crm/sales/api", url);
	snprintf(cfg.api_key, sizeof cfg.api_key, "%s", k);
	snprintf(cfg.spool_dir, sizeof cfg.spool_dir, "%s", sp);
	c = fm_client_new(&cfg);
	if (!c) {
		printf("fm_client_new failed\n");
		exit(2);
	}
	return c;
}

static struct fm_client *client(const char *k)
{
	return client_in(k, "", 0);
}

/* Where the messages' userIds come from: "signed" is trusted, the rest not. */
static const char *id_source = "signed";

static struct map_form form;

/* The submission a spooled message reads back as. */
static void sub_of(const cJSON *msg, struct submission *sub)
{
	if (submission_from_message(msg, &form, sub) != SUB_OK) {
		printf("bad test message\n");
		exit(2);
	}
}

/* An identify message; `more` is extra trait members ("" for none). */
static cJSON *identify(const char *uid, const char *email, const char *more)
{
	char buf[2048];
	cJSON *j;

	snprintf(buf, sizeof buf, "{\"type\":\"identify\",\"messageId\":\"m-1\",\"userId\":\"%s\","
	         "\"traits\":{\"email\":\"%s\"%s%s},\"context\":{\"fmgate\":{\"userIdSource\":\"%s\"}}}",
	         uid, email, *more ? "," : "", more, id_source);
	if (!(j = cJSON_Parse(buf))) {
		printf("bad test message %s\n", buf);
		exit(2);
	}
	return j;
}

static struct map_field form_fields[] = {
	{.name = "size", .trait = "Company size", .fm_field = "cf_employees"},
	{.name = "odd", .trait = "Odd", .fm_field = "cf_not_a_field"},
	{.name = "bogus", .trait = "Bogus", .fm_field = "bogus_field"},
	{.name = "emp", .trait = "Employees"},
	{.name = "interests", .trait = "Interests", .multiple = true},
	{.name = "optin", .trait = "newsletterConsent", .type = MAP_BOOLEAN,
	 .fm_field = "subscription_status", .consent = "Yes, send me news",
	 .value_when_checked = "Subscribed"},
};
static struct map_form form = {.id = "contact", .fields = form_fields, .n_fields = 6};

static void deliver(struct fm_client *c, const char *uid, const char *email,
                    const char *more, unsigned budget, struct fm_result *r)
{
	cJSON *m = identify(uid, email, more);
	struct submission sub;

	sub_of(m, &sub);
	fm_deliver(c, &sub, &form, budget, r);
	submission_free(&sub);
	cJSON_Delete(m);
}

/* Requests the double answered with this status. */
static int count_status(long status)
{
	cJSON *reqs = ctl("GET", "/_double/requests", NULL);
	const cJSON *q;
	int n = 0;

	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(reqs, "requests")) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(q, "status");
		n += cJSON_IsNumber(st) && (long)st->valuedouble == status;
	}
	cJSON_Delete(reqs);
	return n;
}

/* Requests the double received whose path ends with `suffix`. */
static int count_path(const char *suffix)
{
	cJSON *reqs = ctl("GET", "/_double/requests", NULL);
	const cJSON *q;
	int n = 0;
	size_t sl = strlen(suffix);

	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(reqs, "requests")) {
		const char *p = str(q, "path");
		n += p && strlen(p) >= sl && strcmp(p + strlen(p) - sl, suffix) == 0;
	}
	cJSON_Delete(reqs);
	return n;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- cases ------------------------------------------------------------------ */

static void test_create_update(void)
{
	struct fm_client *c = client(key);
	struct fm_result r;
	cJSON *all;
	const cJSON *ct, *cf, *id;

	reset();
	deliver(c, "u-1", "ann@example.com", "\"firstName\":\"Ann\",\"Industry\":\"music\","
	        "\"Company size\":\"12\"", 3000, &r);
	T(r.outcome == FM_DELIVERED, "create: %s %s", fm_outcome_name(r.outcome), r.message);
	T(r.http_status == 201, "create: 201 (got %ld)", r.http_status);
	T(r.calls == 2, "field list + upsert: %u calls", r.calls);
	T(r.contact_id > 0, "contact id from the answer");
	T(r.retry_after_s == -1, "no Retry-After");

	deliver(c, "u-1", "ann@example.com", "\"lastName\":\"Lee\",\"Newsletter\":\"on\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.http_status == 200, "update: %ld %s", r.http_status, r.message);
	T(r.calls == 1, "an update costs one call (field list kept): %u", r.calls);

	all = contacts();
	ct = contact_by_email(all, "ann@example.com");
	T(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(all, "contacts")) == 1, "one contact");
	T_STREQ(str(ct, "external_id"), "u-1", "keyed on the userId");
	T_STREQ(str(ct, "first_name"), "Ann", "merge keeps the first form's field");
	T_STREQ(str(ct, "last_name"), "Lee", "update adds the new field");
	cf = cJSON_GetObjectItemCaseSensitive(ct, "custom_field");
	T_STREQ(str(cf, "cf_industry"), "Music", "label match, dropdown value");
	T(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(cf, "cf_employees")) &&
	  cJSON_GetObjectItemCaseSensitive(cf, "cf_employees")->valuedouble == 12, "fm-field number");
	T(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cf, "cf_newsletter")), "checkbox");
	id = cJSON_GetObjectItemCaseSensitive(ct, "id");
	T(id && (long long)id->valuedouble == r.contact_id, "contact_id matches the double's id");
	cJSON_Delete(all);
	fm_client_free(c);
}

static void test_adoption(void)
{
	struct fm_client *c = client(key);
	struct fm_result r;
	cJSON *all, *reqs;
	const cJSON *ct, *last;

	reset();
	ctl_post("/_double/contacts", "{\"emails\":\"Bob@Example.com\",\"first_name\":\"Bob\"}");
	deliver(c, "u-2", "bob@example.com", "\"lastName\":\"Builder\"", 3000, &r);
	T(r.outcome == FM_DELIVERED, "adopted: %s %s", fm_outcome_name(r.outcome), r.message);
	T(r.calls == 4, "upsert, lookup, read, update: %u calls", r.calls);
	T(r.http_status == 200, "adoption updates: %ld", r.http_status);
	all = contacts();
	ct = contact_by_email(all, "bob@example.com");
	T(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(all, "contacts")) == 1, "no duplicate");
	T_STREQ(str(ct, "external_id"), "u-2", "external id set on the adopted contact");
	T_STREQ(str(ct, "first_name"), "Bob", "adopted contact keeps its fields");
	T_STREQ(str(ct, "last_name"), "Builder", "and gets the new ones");
	cJSON_Delete(all);

	reqs = ctl("GET", "/_double/requests", NULL);
	reqs = reqs ? reqs : cJSON_CreateObject();
	last = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reqs, "requests"), 1);
	T_STREQ(str(last, "path"), "/crm/sales/api/lookup", "second call is the lookup");
	T_STREQ(str(last, "query"), "q=bob%40example.com&f=email&entities=contact", "lookup query escaped");
	last = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reqs, "requests"), 2);
	T(str(last, "method") && strcmp(str(last, "method"), "GET") == 0 &&
	  strncmp(str(last, "path"), "/crm/sales/api/contacts/", 24) == 0,
	  "the whole contact is read before it is adopted");
	last = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reqs, "requests"), 3);
	T(str(last, "method") && strcmp(str(last, "method"), "PUT") == 0 &&
	  strncmp(str(last, "path"), "/crm/sales/api/contacts/", 24) == 0, "adopted by its id");
	last = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(last, "body"), "contact");
	T_STREQ(str(last, "external_id"), "u-2", "setting our external id");
	cJSON_Delete(reqs);

	/* the same person again: now found by external_id, one call */
	deliver(c, "u-2", "bob@example.com", "\"title\":\"CEO\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 1, "after adoption one call: %u", r.calls);
	fm_client_free(c);
}

static void test_conflict(void)
{
	struct fm_client *c = client(key);
	struct fm_result r;
	cJSON *all;
	const cJSON *ct;

	reset();
	ctl_post("/_double/contacts", "{\"emails\":\"carol@example.com\",\"external_id\":\"other\","
	         "\"first_name\":\"Carol\"}");
	deliver(c, "u-3", "carol@example.com", "\"firstName\":\"Mallory\"", 3000, &r);
	T(r.outcome == FM_CONFLICT, "conflict: %s %s", fm_outcome_name(r.outcome), r.message);
	T(r.calls == 3, "upsert, lookup and reading the contact only: %u", r.calls);
	T(strstr(r.message, "another external id") != NULL, "message: %s", r.message);
	all = contacts();
	ct = contact_by_email(all, "carol@example.com");
	T(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(all, "contacts")) == 1, "nothing created");
	T_STREQ(str(ct, "first_name"), "Carol", "the other person's contact is unchanged");
	T_STREQ(str(ct, "external_id"), "other", "its external id too");
	cJSON_Delete(all);
	fm_client_free(c);
}

static void test_auth(void)
{
	struct fm_client *c = client("wrong-key-123");
	struct fm_result r;
	cJSON *reqs;
	const cJSON *h;

	reset();
	deliver(c, "u-4", "dan@example.com", "", 3000, &r);
	T(r.outcome == FM_PAUSED && r.http_status == 401, "401 pauses: %s %ld",
	  fm_outcome_name(r.outcome), r.http_status);
	T_STREQ(r.message, "Incorrect or missing API key", "API message kept");
	T(strstr(r.message, "wrong-key-123") == NULL, "key not in the message");
	fm_client_free(c);

	c = client(key);
	reset();
	ctl_post("/_double/fault", "{\"kind\":\"status\",\"status\":403}");
	deliver(c, "u-4", "dan@example.com", "", 3000, &r);
	T(r.outcome == FM_PAUSED && r.http_status == 403, "403 pauses");
	reqs = ctl("GET", "/_double/requests", NULL);
	h = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reqs, "requests"), 0), "headers");
	{
		char want[160];
		snprintf(want, sizeof want, "Token token=%s", key);
		T_STREQ(str(h, "authorization"), want, "Authorization header");
	}
	T_STREQ(str(h, "content-type"), "application/json", "Content-Type");
	T_STREQ(str(h, "accept"), "application/json", "Accept");
	T(str(h, "user-agent") && strncmp(str(h, "user-agent"), "fmgate/", 7) == 0, "User-Agent");
	T(cJSON_GetObjectItemCaseSensitive(h, "expect") == NULL, "no Expect: 100-continue");
	cJSON_Delete(reqs);
	fm_client_free(c);

	/* a message that happens to contain the key is withheld */
	c = client("Injected");
	ctl_post("/_double/fault", "{\"kind\":\"status\",\"status\":502}");
	deliver(c, "u-4", "dan@example.com", "", 3000, &r);
	T(r.outcome == FM_RETRY && strstr(r.message, "Injected") == NULL,
	  "key scrubbed from the message: %s", r.message);
	fm_client_free(c);
}

static void test_retry(void)
{
	struct fm_client *c = client(key);
	struct fm_result r;
	struct fm_ratelimit rl;
	struct timespec t0;
	double ms;

	reset();
	ctl_post("/_double/fault", "{\"kind\":\"status\",\"status\":503}");
	deliver(c, "u-5", "eve@example.com", "", 3000, &r);
	T(r.outcome == FM_RETRY && r.http_status == 503, "503 retries: %s", fm_outcome_name(r.outcome));
	T_STREQ(r.message, "Injected fault", "5xx message");
	T(n_contacts() == 0, "nothing stored");

	ctl_post("/_double/fault", "{\"kind\":\"429\",\"retry_after\":7}");
	deliver(c, "u-5", "eve@example.com", "", 3000, &r);
	T(r.outcome == FM_RETRY && r.http_status == 429 && r.retry_after_s == 7,
	  "429 with Retry-After: %s %ld %ld", fm_outcome_name(r.outcome), r.http_status, r.retry_after_s);
	deliver(c, "u-5", "eve@example.com", "", 3000, &r);
	T(r.outcome == FM_RETRY && r.calls == 0 && r.retry_after_s > 5 && r.retry_after_s <= 7,
	  "then no call until Retry-After has passed: %u calls, %ld s", r.calls, r.retry_after_s);
	fm_client_free(c);
	c = client(key);
	ctl_post("/_double/fault", "{\"kind\":\"429\",\"retry_after\":null}");
	deliver(c, "u-5", "eve@example.com", "", 3000, &r);
	T(r.outcome == FM_RETRY && r.retry_after_s == -1, "429 without Retry-After: %ld", r.retry_after_s);
	deliver(c, "u-5", "eve@example.com", "", 3000, &r);
	T(r.outcome == FM_RETRY && r.calls == 0 && r.retry_after_s > FM_RL_HOLD_429_S - 2,
	  "then held FM_RL_HOLD_429_S: %ld s", r.retry_after_s);
	fm_client_free(c);
	c = client(key);

	/* the double's own minute window: the client stops before a 429 */
	ctl_post("/_double/reset", "{\"minute_limit\":1,\"retry_after\":true}");
	deliver(c, "u-5", "eve@example.com", "", 3000, &r);
	T(r.outcome == FM_DELIVERED, "first call within the limit");
	fm_client_ratelimit(c, &rl);
	T(rl.minute_limit == 1 && rl.minute_remaining == 0 && rl.minute_reset > 0 &&
	  rl.minute_reset <= 60, "per-minute headers kept: %ld %ld %ld", rl.minute_limit,
	  rl.minute_remaining, rl.minute_reset);
	T(rl.hour_limit == -1, "hour window unlimited: no header");
	deliver(c, "u-5", "eve@example.com", "", 3000, &r);
	T(r.outcome == FM_RETRY && r.calls == 0 && r.http_status == 0 && r.retry_after_s > 0 &&
	  r.retry_after_s <= 60, "none left: no call, retry after the reset: %u %ld",
	  r.calls, r.retry_after_s);
	T(count_status(429) == 0, "the double never answered 429");
	fm_client_free(c);
	c = client(key);
	deliver(c, "u-5", "eve@example.com", "", 3000, &r);
	T(r.outcome == FM_RETRY && r.http_status == 429 && r.retry_after_s > 0 && r.retry_after_s <= 60,
	  "a process that knew nothing meets the limit: %ld %ld", r.http_status, r.retry_after_s);
	fm_client_free(c);
	c = client(key);

	/* slow past the budget */
	reset();
	ctl_post("/_double/fault", "{\"kind\":\"delay\",\"ms\":2500}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	deliver(c, "u-5", "eve@example.com", "", 500, &r);
	ms = ms_since(&t0);
	T(r.outcome == FM_RETRY && r.http_status == 0, "timeout retries: %s", fm_outcome_name(r.outcome));
	T(ms >= 450 && ms < 1000, "gave up within about the budget: %.0f ms", ms);
	T(r.message[0] != '\0', "network error message: %s", r.message);

	/* connection reset (count 3: libcurl itself retries once on a reused connection) */
	ctl_post("/_double/fault", "{\"kind\":\"reset\",\"count\":3}");
	deliver(c, "u-5", "eve@example.com", "", 3000, &r);
	T(r.outcome == FM_RETRY && r.http_status == 0, "reset retries: %s %s",
	  fm_outcome_name(r.outcome), r.message);
	ctl_post("/_double/fault", "{\"kind\":\"clear\"}");
	deliver(c, "u-5", "eve@example.com", "", 3000, &r);
	T(r.outcome == FM_DELIVERED, "recovers on the next delivery: %s", r.message);

	/* no budget left: no call at all */
	deliver(c, "u-5", "eve@example.com", "", 0, &r);
	T(r.outcome == FM_RETRY && r.calls == 0, "zero budget: %u calls", r.calls);

	/* the field list cannot be fetched: retry, not a loss of the label traits */
	fm_client_free(c);
	c = client(key);
	ctl_post("/_double/fault", "{\"kind\":\"status\",\"status\":500}");
	deliver(c, "u-5", "eve@example.com", "\"Industry\":\"Retail\"", 3000, &r);
	T(r.outcome == FM_RETRY && r.calls == 1, "field list failure retries: %s %u",
	  fm_outcome_name(r.outcome), r.calls);
	ctl_post("/_double/fault", "{\"kind\":\"status\",\"status\":404}");
	deliver(c, "u-5", "eve@example.com", "\"Industry\":\"Retail\"", 3000, &r);
	T(r.outcome == FM_RETRY, "field list 404 is not this contact's fault: %s",
	  fm_outcome_name(r.outcome));
	deliver(c, "u-5", "eve@example.com", "\"Industry\":\"Retail\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 2, "then fetched: %u", r.calls);
	fm_client_free(c);
}

static void test_rejected(void)
{
	struct fm_client *c = client(key);
	struct fm_result r;

	reset();
	deliver(c, "u-6", "fay@example.com", "\"Odd\":\"x\"", 3000, &r);
	T(r.outcome == FM_REJECTED && r.http_status == 400, "unknown custom field: %s %ld",
	  fm_outcome_name(r.outcome), r.http_status);
	T_STREQ(r.message, "Unknown custom field: cf_not_a_field", "API message");
	T(r.calls == 3, "field list, upsert, one refresh; the same body is not sent again: %u",
	  r.calls);
	deliver(c, "u-6", "fay@example.com", "\"Bogus\":\"x\"", 3000, &r);
	T(r.outcome == FM_REJECTED, "unknown attribute");
	T_STREQ(r.message, "Unknown attribute: bogus_field", "API message");
	T(r.calls == 2, "upsert and one refresh: %u", r.calls);
	ctl_post("/_double/fault", "{\"kind\":\"status\",\"status\":404}");
	deliver(c, "u-6", "fay@example.com", "", 3000, &r);
	T(r.outcome == FM_REJECTED && r.http_status == 404, "other 4xx final");
	T(n_contacts() == 0, "nothing stored");
	fm_client_free(c);
}

static void test_reuse(void)
{
	struct fm_client *c = client(key);
	struct fm_result r;
	cJSON *reqs;
	const cJSON *q, *first;
	int n = 0, same = 0, bad_body = 0;

	reset();
	for (int i = 0; i < 5; i++) {
		char uid[16], email[32];
		snprintf(uid, sizeof uid, "r-%d", i);
		snprintf(email, sizeof email, "r%d@example.com", i);
		deliver(c, uid, email, "\"Signup Source\":\"web\"", 3000, &r);
		T(r.outcome == FM_DELIVERED, "delivery %d: %s", i, r.message);
	}
	reqs = ctl("GET", "/_double/requests", NULL);
	first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reqs, "requests"), 0);
	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(reqs, "requests")) {
		const cJSON *contact = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(q, "body"), "contact");
		n++;
		same += strcmp(str(q, "conn"), str(first, "conn")) == 0;
		if (strcmp(str(q, "path"), "/crm/sales/api/contacts/upsert") == 0 &&
		    (cJSON_GetObjectItemCaseSensitive(contact, "custom_fields") ||
		     !cJSON_GetObjectItemCaseSensitive(contact, "custom_field")))
			bad_body++;
	}
	T(n == 6, "field list once, then one upsert each: %d requests", n);
	T(same == n, "one kept-alive connection: %d of %d on %s", same, n, str(first, "conn"));
	T(bad_body == 0, "custom_field (singular) in every upsert");
	fm_client_free(c);

	/* a new client (a mapping reload) takes over the kept-alive connection */
	c = client(key);
	deliver(c, "r-0", "r0@example.com", "", 3000, &r);
	cJSON_Delete(reqs);
	reqs = ctl("GET", "/_double/requests", NULL);
	q = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reqs, "requests"), n);
	first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reqs, "requests"), 0);
	T(r.outcome == FM_DELIVERED && str(q, "conn") && str(first, "conn") &&
	  strcmp(str(q, "conn"), str(first, "conn")) == 0,
	  "the next client reuses the connection: %s", q ? str(q, "conn") : "(no request)");
	cJSON_Delete(reqs);
	fm_client_free(c);
}

static void test_request_body(void)
{
	struct fm_client *c = client(key);
	cJSON *m = identify("u-7", "gil@example.com", "\"firstName\":\"Gil\",\"Industry\":\"retail\"");
	struct submission sub;
	cJSON *b;
	char *s;

	sub_of(m, &sub);
	reset();
	b = fm_request_body(NULL, &sub, &form);
	s = cJSON_PrintUnformatted(b);
	T_STREQ(s, "{\"unique_identifier\":{\"external_id\":\"u-7\"},\"contact\":{\"external_id\":"
	        "\"u-7\",\"emails\":\"gil@example.com\",\"first_name\":\"Gil\"}}",
	        "without a client: no label traits");
	free(s);
	cJSON_Delete(b);
	b = fm_request_body(c, &sub, &form);
	s = cJSON_PrintUnformatted(b);
	T(s && strstr(s, "\"custom_field\":{\"cf_industry\":\"Retail\"}") != NULL,
	  "with a client: field list read: %s", s);
	free(s);
	cJSON_Delete(b);
	T(n_contacts() == 0, "dry run creates nothing");
	cJSON_Delete(m);
	submission_free(&sub);
	m = cJSON_Parse("{\"traits\":{\"email\":\"x@y.z\"}}");
	sub_of(m, &sub);
	{
		struct fm_result r;
		fm_deliver(c, &sub, &form, 3000, &r);
		T(r.outcome == FM_REJECTED && r.calls == 0, "no userId: refused without a call");
	}
	submission_free(&sub);
	cJSON_Delete(m);
	fm_client_free(c);
	T_STREQ(fm_outcome_name(FM_CONFLICT), "conflict", "outcome names");
}


/* A temporary spool shared by the clients of one case, as by processes. */
static char spool[64];

static void new_spool(void)
{
	char cmd[128];

	if (spool[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", spool);
		if (system(cmd) != 0)
			printf("cannot remove %s\n", spool);
	}
	snprintf(spool, sizeof spool, "/tmp/fmgate-test-fmc-spool.XXXXXX");
	if (!mkdtemp(spool))
		exit(2);
}

static const cJSON *custom_of(const cJSON *all, const char *email)
{
	return cJSON_GetObjectItemCaseSensitive(contact_by_email(all, email), "custom_field");
}

/* The field list is fetched once and shared: a new process pays one call. */
static void test_shared_cache(void)
{
	struct fm_client *a, *b;
	struct fm_result r;
	char p[128];
	struct stat sb;

	reset();
	new_spool();
	a = client_in(key, spool, 3600);
	deliver(a, "s-1", "s1@example.com", "\"Industry\":\"music\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 2, "cold: field list and upsert: %u", r.calls);
	snprintf(p, sizeof p, "%s/state/fields.json", spool);
	T(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600, "cache file, mode 0600");
	b = client_in(key, spool, 3600);
	deliver(b, "s-2", "s2@example.com", "\"Industry\":\"retail\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 1, "warm cache, fresh process: one call: %u",
	  r.calls);
	T(count_path("/settings/contacts/fields") == 1, "the list was fetched once");
	fm_client_free(a);
	fm_client_free(b);

	/* too old: refreshed; a failed refresh serves the last good copy */
	sleep(2);
	a = client_in(key, spool, 1);
	ctl_post("/_double/fault", "{\"kind\":\"status\",\"status\":500,\"path\":\"/fields\"}");
	deliver(a, "s-3", "s3@example.com", "\"Industry\":\"software\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 2, "stale, refresh failed, stale copy used: %s %u",
	  fm_outcome_name(r.outcome), r.calls);
	deliver(a, "s-3", "s3@example.com", "\"Industry\":\"software\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 1, "no new refresh for a minute: %u", r.calls);
	fm_client_free(a);
	b = client_in(key, spool, 1);
	deliver(b, "s-4", "s4@example.com", "\"Industry\":\"software\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 1, "nor in another process: %u", r.calls);
	fm_client_free(b);
	{
		struct timespec ts[2];

		snprintf(p, sizeof p, "%s/state/fields.failed", spool);
		clock_gettime(CLOCK_REALTIME, &ts[0]);
		ts[0].tv_sec -= 61;
		ts[1] = ts[0];
		T(utimensat(AT_FDCWD, p, ts, 0) == 0, "the failure is shared in the spool");
	}
	b = client_in(key, spool, 1);
	deliver(b, "s-4", "s4@example.com", "\"Industry\":\"software\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 2, "a minute later a process refreshes: %u",
	  r.calls);
	fm_client_free(b);
	a = client_in(key, spool, 3600);
	deliver(a, "s-5", "s5@example.com", "\"Industry\":\"software\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 1, "and the refreshed copy is shared: %u", r.calls);
	fm_client_free(a);
	T(count_path("/settings/contacts/fields") == 3, "three fetches in all");

	/* a spool that cannot hold state: each process works from memory */
	snprintf(p, sizeof p, "%s/state/fields.json", spool);
	a = client_in(key, p, 3600);   /* a file, not a directory */
	deliver(a, "s-6", "s6@example.com", "\"Industry\":\"music\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 2, "no usable state dir: still delivered: %u",
	  r.calls);
	deliver(a, "s-6", "s6@example.com", "\"Industry\":\"music\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 1, "kept in memory: %u", r.calls);
	fm_client_free(a);
}

/* A 400 naming a field: the list is fetched again and the upsert retried. */
static void test_refresh_on_rejection(void)
{
	struct fm_client *c;
	struct fm_result r;
	cJSON *all;

	reset();
	new_spool();
	c = client_in(key, spool, 3600);
	deliver(c, "f-1", "f1@example.com", "\"Region\":\"North\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 2, "Region by label: %s", r.message);
	/* The CRM admin replaces the field: same label, new API name. */
	ctl_post("/_double/fields", "{\"remove\":\"cf_region\"}");
	ctl_post("/_double/fields", "{\"add\":{\"name\":\"cf_area\",\"label\":\"Region\",\"type\":\"text\"}}");
	deliver(c, "f-2", "f2@example.com", "\"Region\":\"South\"", 3000, &r);
	T(r.outcome == FM_DELIVERED, "refreshed and retried: %s %s", fm_outcome_name(r.outcome),
	  r.message);
	T(r.calls == 3, "upsert refused, field list, upsert: %u", r.calls);
	all = contacts();
	T_STREQ(str(custom_of(all, "f2@example.com"), "cf_area"), "South", "sent to the new field");
	cJSON_Delete(all);
	fm_client_free(c);
	c = client_in(key, spool, 3600);
	deliver(c, "f-3", "f3@example.com", "\"Region\":\"East\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 1, "the refreshed list is shared: %u", r.calls);
	fm_client_free(c);

	/* The field's type changes: the value no longer fits, nothing is sent. */
	ctl_post("/_double/fields", "{\"update\":{\"name\":\"cf_area\",\"type\":\"number\"}}");
	c = client_in(key, spool, 3600);
	deliver(c, "f-4", "f4@example.com", "\"Region\":\"West\"", 3000, &r);
	T(r.outcome == FM_INVALID && r.calls == 2, "after the refresh the value is invalid: %s %u",
	  fm_outcome_name(r.outcome), r.calls);
	fm_client_free(c);
}

/* A value the field's type refuses: FM_INVALID for its form field, no call. */
static void test_invalid(void)
{
	struct fm_client *c = client(key);
	struct fm_result r;

	reset();
	deliver(c, "i-1", "i1@example.com", "\"Employees\":\"lots\"", 3000, &r);
	T(r.outcome == FM_INVALID, "refused: %s %s", fm_outcome_name(r.outcome), r.message);
	T(r.field && strcmp(r.field, "emp") == 0, "the form field: %s", r.field ? r.field : "NULL");
	T(strstr(r.message, "cf_employees") && strstr(r.message, "a number") &&
	  !strstr(r.message, "lots"), "message names the field, not the value: %s", r.message);
	T(r.calls == 1 && count_path("/contacts/upsert") == 0, "nothing sent (%u calls)", r.calls);
	deliver(c, "i-1", "i1@example.com", "\"Interests\":[\"pricing\",\"gossip\"]", 3000, &r);
	T(r.outcome == FM_INVALID && r.calls == 0, "a choice that does not exist");
	deliver(c, "i-1", "i1@example.com", "\"Notes\":\"01234567890123456789012345678901234567890\"",
	        3000, &r);
	T(r.outcome == FM_INVALID && r.field == NULL, "over the field's max_length (no form field)");
	fm_client_free(c);
}

/* Multi-select, dates and a consent box, as the double checks them. */
static void test_types(void)
{
	struct fm_client *c = client(key);
	struct fm_result r;
	cJSON *all;
	const cJSON *ct, *cf;

	reset();
	deliver(c, "t-1", "t1@example.com", "\"Interests\":[\"pricing\",\"EVENTS\"],"
	        "\"Birthday\":\"29 Feb 2024\",\"Newsletter\":\"yes\",\"newsletterConsent\":true,"
	        "\"Tags\":\"vip\"", 3000, &r);
	T(r.outcome == FM_DELIVERED, "typed values accepted by the double: %s", r.message);
	all = contacts();
	ct = contact_by_email(all, "t1@example.com");
	cf = cJSON_GetObjectItemCaseSensitive(ct, "custom_field");
	T_STREQ(str(cf, "cf_interests"), "Pricing;Events", "multi-select: choices joined by ';'");
	T_STREQ(str(cf, "cf_birthday"), "2024-02-29", "date normalised");
	T(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cf, "cf_newsletter")), "checkbox");
	T(num(ct, "subscription_status") == 1, "consent box -> subscription_status, by id");
	T(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ct, "tags")), "tags as a list");
	cJSON_Delete(all);
	deliver(c, "t-1", "t1@example.com", "\"newsletterConsent\":false", 3000, &r);
	all = contacts();
	T(r.outcome == FM_DELIVERED && num(contact_by_email(all, "t1@example.com"),
	                                     "subscription_status") == 1,
	  "an unchecked box never unsubscribes");
	cJSON_Delete(all);
	fm_client_free(c);
}

/* 401 pauses every process; one probe per FM_STATE_PROBE_S; a success resumes. */
static void test_pause(void)
{
	struct fm_client *bad, *bad2, *good;
	struct fm_result r;
	char p[128];
	struct timespec ts[2];

	reset();
	new_spool();
	bad = client_in("wrong-key", spool, 3600);
	deliver(bad, "p-1", "p1@example.com", "", 3000, &r);
	T(r.outcome == FM_PAUSED && r.http_status == 401 && r.calls == 1 &&
	  r.retry_after_s == FM_STATE_PROBE_S, "401: paused, next probe in a minute");
	T(fm_state_paused(spool), "marker shared in the spool");
	bad2 = client_in("wrong-key", spool, 3600);
	deliver(bad2, "p-2", "p2@example.com", "", 3000, &r);
	T(r.outcome == FM_PAUSED && r.calls == 0 && r.retry_after_s > 0 &&
	  r.retry_after_s <= FM_STATE_PROBE_S, "another process makes no call: %u %ld", r.calls,
	  r.retry_after_s);
	/* a minute later, one probe */
	snprintf(p, sizeof p, "%s/state/paused", spool);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= FM_STATE_PROBE_S + 1;
	ts[1] = ts[0];
	utimensat(AT_FDCWD, p, ts, 0);
	deliver(bad2, "p-2", "p2@example.com", "", 3000, &r);
	T(r.outcome == FM_PAUSED && r.calls == 1 && r.http_status == 401, "the probe calls: %u",
	  r.calls);
	deliver(bad, "p-2", "p2@example.com", "", 3000, &r);
	T(r.outcome == FM_PAUSED && r.calls == 0, "and only one: %u", r.calls);
	T(count_status(401) == 2, "two 401s in all");
	/* the key is fixed (a new key): delivery resumes and the marker goes */
	good = client_in(key, spool, 3600);
	deliver(good, "p-3", "p3@example.com", "", 3000, &r);
	T(r.outcome == FM_DELIVERED, "a working key delivers: %s", r.message);
	T(!fm_state_paused(spool), "marker removed");
	fm_client_free(bad);
	fm_client_free(bad2);
	fm_client_free(good);
}

/* Processes share the budget and slow down before the limit. */
static void test_shared_ratelimit(void)
{
	struct fm_client *a, *b;
	struct fm_result r;
	int delivered = 0, early = 0;

	ctl_post("/_double/reset", "{\"minute_limit\":8}");
	new_spool();
	a = client_in(key, spool, 3600);
	b = client_in(key, spool, 3600);
	for (int i = 0; i < 8; i++) {
		deliver(i % 2 ? b : a, "r-1", "r1@example.com", "", 3000, &r);
		if (r.outcome == FM_DELIVERED) {
			delivered++;
		} else if (r.outcome == FM_RETRY && r.calls == 0 && r.retry_after_s > 0) {
			early++;
			break;
		}
	}
	T(early == 1 && delivered >= 5 && delivered < 8,
	  "spacing starts while calls are left: %d delivered, then held", delivered);
	T(count_status(429) == 0, "no 429 at all");
	fm_client_free(a);
	fm_client_free(b);
}

/* Identity: a new email for a known userId, and a userId that is another contact's. */
static void test_identity(void)
{
	struct fm_client *c = client(key);
	struct fm_result r;
	cJSON *all;

	reset();
	deliver(c, "id-1", "old@example.com", "\"firstName\":\"Ida\",\"Industry\":\"music\"", 3000, &r);
	deliver(c, "id-1", "new@example.com", "", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 1, "new email: one upsert: %u", r.calls);
	all = contacts();
	T(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(all, "contacts")) == 1, "no duplicate");
	T(contact_by_email(all, "new@example.com") && !contact_by_email(all, "old@example.com"),
	  "the contact's email changed");
	T_STREQ(str(contact_by_email(all, "new@example.com"), "first_name"), "Ida",
	  "the shorter form blanked nothing");
	T_STREQ(str(custom_of(all, "new@example.com"), "cf_industry"), "Music", "custom kept too");
	cJSON_Delete(all);

	/* the new email is a contact without external id: adopting it would give
	 * the userId to two contacts */
	ctl_post("/_double/contacts", "{\"emails\":\"free@example.com\",\"first_name\":\"Fred\"}");
	deliver(c, "id-1", "free@example.com", "", 3000, &r);
	T(r.outcome == FM_CONFLICT, "userId on one contact, email on another: %s %s",
	  fm_outcome_name(r.outcome), r.message);
	all = contacts();
	T(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(all, "contacts")) == 2 &&
	  !str(contact_by_email(all, "free@example.com"), "external_id"), "nothing changed");
	cJSON_Delete(all);
	fm_client_free(c);
}

/* Resets the double with these live-seen modes ({} for the documented ones). */
static void reset_modes(const char *modes)
{
	char body[512];

	snprintf(body, sizeof body, "{\"modes\":%s}", modes);
	ctl_post("/_double/reset", body);
}

/* The requests whose path ends with `suffix` and method is `method`. */
static int count_method(const char *method, const char *suffix)
{
	cJSON *reqs = ctl("GET", "/_double/requests", NULL);
	const cJSON *q;
	int n = 0;
	size_t sl = strlen(suffix);

	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(reqs, "requests")) {
		const char *p = str(q, "path"), *m = str(q, "method");
		n += p && m && strcmp(m, method) == 0 && strlen(p) >= sl &&
		     strcmp(p + strlen(p) - sl, suffix) == 0;
	}
	cJSON_Delete(reqs);
	return n;
}

/*
 * An untrusted userId (cookie, plain field, email) never changes a contact's
 * email and never takes another person's contact: the takeover routes of a
 * forged cookie and of an adoption followed by a new email.
 */
static void test_untrusted(void)
{
	struct fm_client *c = client(key);
	struct fm_result r;
	cJSON *all;

	reset();
	id_source = "signed";
	deliver(c, "victim-1", "victim@example.com", "\"firstName\":\"Vic\"", 3000, &r);
	T(r.outcome == FM_DELIVERED, "the victim's own contact");

	id_source = "cookie";
	/* (a) a forged cookie naming the victim's userId, with the attacker's email */
	deliver(c, "victim-1", "mallory@example.com", "\"firstName\":\"Mallory\"", 3000, &r);
	T(r.outcome == FM_CONFLICT, "forged cookie: conflict: %s %s", fm_outcome_name(r.outcome),
	  r.message);
	T(r.calls == 1, "decided by the lookup, before any write: %u", r.calls);
	all = contacts();
	T_STREQ(str(contact_by_email(all, "victim@example.com"), "first_name"), "Vic",
	  "the victim's contact keeps its name");
	T(!contact_by_email(all, "mallory@example.com"), "and its email");
	cJSON_Delete(all);

	/* the same untrusted id with its contact's own email updates it */
	deliver(c, "victim-1", "Victim@Example.com", "\"lastName\":\"Tim\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 2, "lookup, then the upsert: %s %u",
	  r.message, r.calls);

	/* a new untrusted id creates */
	deliver(c, "cookie-9", "new9@example.com", "", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 2 && n_contacts() == 2, "created: %s %u",
	  r.message, r.calls);

	/* (b) adopting a contact without external id is allowed ... */
	ctl_post("/_double/contacts", "{\"emails\":\"imported@example.com\",\"first_name\":\"Imp\"}");
	deliver(c, "attacker-7", "imported@example.com", "", 3000, &r);
	T(r.outcome == FM_DELIVERED, "untrusted adoption: %s", r.message);
	/* ... but then the attacker's email under that id is not */
	deliver(c, "attacker-7", "mallory@example.com", "\"firstName\":\"Mallory\"", 3000, &r);
	T(r.outcome == FM_CONFLICT, "adopted, then another email: conflict: %s",
	  fm_outcome_name(r.outcome));
	all = contacts();
	T_STREQ(str(contact_by_email(all, "imported@example.com"), "first_name"), "Imp",
	  "the adopted contact keeps its email and name");
	cJSON_Delete(all);

	/* a signed userId may change its email */
	id_source = "signed";
	deliver(c, "cookie-9", "moved9@example.com", "", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 1, "signed: new email in one upsert");
	all = contacts();
	T(contact_by_email(all, "moved9@example.com") && !contact_by_email(all, "new9@example.com"),
	  "the email changed");
	cJSON_Delete(all);
	fm_client_free(c);
}

/* Decisions by data: any message text, partial lookup rows. */
static void test_by_data(void)
{
	static const char *const modes[] = {
		"{\"dup_message\":\"address\"}", "{\"dup_message\":\"dutch\"}",
		"{\"live\":true}", "{\"live\":true,\"dup_message\":\"dutch\"}",
	};
	struct fm_client *c = client(key);
	struct fm_result r;
	cJSON *all;

	id_source = "signed";
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		reset_modes(modes[i]);
		ctl_post("/_double/contacts", "{\"emails\":\"bob@example.com\",\"first_name\":\"Bob\"}");
		ctl_post("/_double/contacts", "{\"emails\":\"carol@example.com\",\"external_id\":\"c-1\","
		         "\"first_name\":\"Carol\"}");
		deliver(c, "u-2", "bob@example.com", "\"lastName\":\"Builder\"", 3000, &r);
		T(r.outcome == FM_DELIVERED, "%s: adopted: %s", modes[i], r.message);
		deliver(c, "u-3", "carol@example.com", "\"firstName\":\"Mallory\"", 3000, &r);
		T(r.outcome == FM_CONFLICT, "%s: conflict though the row has no external_id: %s",
		  modes[i], fm_outcome_name(r.outcome));
		all = contacts();
		T_STREQ(str(contact_by_email(all, "bob@example.com"), "external_id"), "u-2",
		  "%s: the adopted contact", modes[i]);
		T_STREQ(str(contact_by_email(all, "carol@example.com"), "first_name"), "Carol",
		  "%s: the other person's contact unchanged", modes[i]);
		T(n_contacts() == 2, "%s: no duplicate", modes[i]);
		cJSON_Delete(all);
		/* a field refusal stays a refusal, in any language */
		deliver(c, "u-4", "dan@example.com", "\"Company size\":\"7\"", 3000, &r);
		T(r.outcome == FM_DELIVERED, "%s: a plain create: %s", modes[i], r.message);
	}
	reset();
	fm_client_free(c);
}

/* An account that refuses external_id as the key: the emails mode. */
static void test_emails_mode(void)
{
	struct fm_client *c, *c2;
	struct fm_result r;
	char path[128];
	struct stat sb;
	time_t since;
	cJSON *all;

	new_spool();
	c = client_in(key, spool, 0);
	reset_modes("{\"external_id_key\":\"refused\",\"dup_message\":\"dutch\"}");
	id_source = "signed";
	T(fm_state_key_mode_of(spool, &since) == FM_KEY_MODE_EXTERNAL_ID, "external_id at first");
	deliver(c, "e-1", "eve@example.com", "\"firstName\":\"Eve\"", 3000, &r);
	T(r.outcome == FM_DELIVERED, "delivered all the same: %s", r.message);
	snprintf(path, sizeof path, "%s/state/identity", spool);
	T(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "the mode is remembered");
	T(fm_state_key_mode_of(spool, &since) == FM_KEY_MODE_EMAILS && since > 0,
	  "and shown for `fmgate status`");
	T(count_method("POST", "/contacts") == 1, "created by POST /contacts, never matching another");

	/* another process takes the mode from the state */
	c2 = client_in(key, spool, 0);
	reset_modes("{\"external_id_key\":\"refused\"}");
	ctl_post("/_double/contacts", "{\"emails\":\"eve@example.com\",\"external_id\":\"e-1\"}");
	deliver(c2, "e-1", "eve@example.com", "\"lastName\":\"Lee\"", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 2, "update: lookup and PUT: %s %u", r.message,
	  r.calls);
	T(count_path("/contacts/upsert") == 0, "no upsert keyed on external_id any more");
	deliver(c2, "e-2", "new@example.com", "", 3000, &r);
	T(r.outcome == FM_DELIVERED && r.calls == 3, "create: two lookups and a create: %u",
	  r.calls);

	/* the same rule: another person's contact is never taken */
	ctl_post("/_double/contacts", "{\"emails\":\"carol@example.com\",\"external_id\":\"c-1\"}");
	deliver(c2, "e-3", "carol@example.com", "\"firstName\":\"Mallory\"", 3000, &r);
	T(r.outcome == FM_CONFLICT, "conflict in the emails mode too: %s", fm_outcome_name(r.outcome));
	ctl_post("/_double/contacts", "{\"emails\":\"free@example.com\",\"first_name\":\"Fred\"}");
	deliver(c2, "e-4", "free@example.com", "", 3000, &r);
	T(r.outcome == FM_DELIVERED, "adoption in the emails mode: %s", r.message);
	id_source = "email";
	deliver(c2, "e-1", "other@example.com", "", 3000, &r);
	T(r.outcome == FM_CONFLICT, "an untrusted id changes no email there either");
	id_source = "signed";
	all = contacts();
	T_STREQ(str(contact_by_email(all, "carol@example.com"), "external_id"), "c-1", "Carol's");
	T_STREQ(str(contact_by_email(all, "free@example.com"), "external_id"), "e-4", "adopted");
	T(contact_by_email(all, "eve@example.com") != NULL, "Eve's email unchanged");
	cJSON_Delete(all);
	fm_client_free(c);
	fm_client_free(c2);
	reset();
}

/* A 403 from a lookup retries that submission; it pauses nothing. */
static void test_read_403(void)
{
	struct fm_client *c;
	struct fm_result r;
	char path[128];
	struct stat sb;

	new_spool();
	c = client_in(key, spool, 0);
	reset_modes("{\"lookup_403_every\":1}");
	id_source = "cookie";
	deliver(c, "k-1", "kim@example.com", "", 3000, &r);
	T(r.outcome == FM_RETRY && r.http_status == 403, "lookup 403: retry later: %s %ld",
	  fm_outcome_name(r.outcome), r.http_status);
	snprintf(path, sizeof path, "%s/state/paused", spool);
	T(stat(path, &sb) != 0, "delivery is not paused");
	id_source = "signed";
	deliver(c, "k-2", "kim2@example.com", "", 3000, &r);
	T(r.outcome == FM_DELIVERED, "other deliveries go on: %s", r.message);
	ctl_post("/_double/fault", "{\"kind\":\"status\",\"status\":403,\"path\":\"/contacts/upsert\"}");
	deliver(c, "k-2", "kim2@example.com", "", 3000, &r);
	T(r.outcome == FM_PAUSED && stat(path, &sb) == 0, "a 403 to an upsert pauses");
	fm_client_free(c);
	new_spool();
	c = client_in("wrong-key", spool, 0);
	id_source = "cookie";
	deliver(c, "k-3", "kim3@example.com", "", 3000, &r);
	snprintf(path, sizeof path, "%s/state/paused", spool);
	T(r.outcome == FM_PAUSED && r.http_status == 401 && stat(path, &sb) == 0,
	  "a 401 to a lookup pauses: the key is refused everywhere");
	id_source = "signed";
	fm_client_free(c);
	reset();
}

/* No reset value holds delivery past its window. */
static void test_reset_formats(void)
{
	static const char *const formats[] = {"ddmmyy", "unix", "far", "garbage", "seconds"};
	struct fm_client *c;
	struct fm_ratelimit rl;
	struct fm_result r;
	char body[256];

	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		new_spool();
		c = client_in(key, spool, 0);
		snprintf(body, sizeof body, "{\"hour_limit\":3,\"minute_limit\":0,"
		         "\"modes\":{\"reset_format\":\"%s\"}}", formats[i]);
		ctl_post("/_double/reset", body);
		deliver(c, "r-1", "r1@example.com", "", 3000, &r);
		deliver(c, "r-1", "r1@example.com", "", 3000, &r);
		fm_client_ratelimit(c, &rl);
		T((rl.hour_reset >= 0 && rl.hour_reset <= FM_RL_HOUR_S) || (rl.hour_reset == -1 &&
		  strcmp(formats[i], "garbage") == 0), "%s: reset read as %ld s", formats[i],
		  rl.hour_reset);
		/* the budget is now low: the wait it imposes is within the hour */
		deliver(c, "r-1", "r1@example.com", "", 300, &r);
		T(r.outcome == FM_DELIVERED || (r.outcome == FM_RETRY && r.retry_after_s >= 0 &&
		  r.retry_after_s <= FM_RL_HOUR_S), "%s: waits at most the window: %s %ld",
		  formats[i], fm_outcome_name(r.outcome), r.retry_after_s);
		fm_client_free(c);
	}
	reset();
}

int main(void)
{
	const char *u = getenv("FMDOUBLE_URL"), *k = getenv("FMDOUBLE_KEY");

	snprintf(key, sizeof key, "%s", k && *k ? k : "testkey");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (u && *u) {
		snprintf(url, sizeof url, "%s", u);
	} else if (!start_double()) {
		T(0, "cannot start the test double");
		stop_double();
		T_DONE();
	}
	{
		cJSON *ok = ctl("POST", "/_double/reset", NULL);
		T(ok != NULL, "the test double at %s answers", url);
		cJSON_Delete(ok);
		if (!ok) {
			stop_double();
			T_DONE();
		}
	}
	test_create_update();
	test_adoption();
	test_conflict();
	test_auth();
	test_retry();
	test_rejected();
	test_reuse();
	test_request_body();
	test_shared_cache();
	test_refresh_on_rejection();
	test_invalid();
	test_types();
	test_pause();
	test_shared_ratelimit();
	test_identity();
	test_untrusted();
	test_by_data();
	test_emails_mode();
	test_read_403();
	test_reset_formats();
	if (spool[0]) {
		char cmd[128];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", spool);
		if (system(cmd) != 0)
			printf("cannot remove %s\n", spool);
	}
	stop_double();
	curl_global_cleanup();
	T_DONE();
}
