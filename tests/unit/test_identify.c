/*
 * test_identify.c: the mapping applied to parsed pairs (identify_build),
 * message ids and timestamps (uuid.c).
 *
 * Forms and pairs are built by hand so that the test needs no mapping loader
 * and no parser; the pairs are static and never passed to form_pairs_free().
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hmac.h"
#include "identify.h"
#include "t.h"
#include "uuid.h"

#ifndef FMGATE_VERSION
#define FMGATE_VERSION "dev"
#endif
#define LIB "\"library\":{\"name\":\"fmgate\",\"version\":\"" FMGATE_VERSION "\"}"
/* Where the userId came from, after the library in context. */
#define OWN(src) ",\"fmgate\":{\"userIdSource\":\"" src "\"}"
#define INTEG "\"integrations\":{\"Freshmarketer\":true}"

#define P(n, v) { (char *)(n), (char *)(v), sizeof(v) - 1, false }
#define PLONG(n) { (char *)(n), (char *)"", 0, true }
#define NP(a) (sizeof(a) / sizeof((a)[0]))

#define FIELD(n, t, ty, req, mul, max) \
	{ (char *)(n), (char *)(t), (ty), (req), (mul), (max), NULL, NULL, NULL, false, 0, NULL }

static const struct form_limits lim = { 65536, 100, 4000 };

static struct map_source src_email[] = { { .kind = MAP_SRC_EMAIL, .name = NULL } };
static struct map_source src_all[] = {
	{ .kind = MAP_SRC_FIELD, .name = (char *)"uid" },
	{ .kind = MAP_SRC_COOKIE, .name = (char *)"ajs_user_id" },
	{ .kind = MAP_SRC_EMAIL, .name = NULL },
};
static struct map_source src_cookie[] = { { .kind = MAP_SRC_COOKIE, .name = (char *)"ajs_user_id" } };
static struct map_source src_anon[] = {
	{ .kind = MAP_SRC_FIELD, .name = (char *)"anon" },
	{ .kind = MAP_SRC_COOKIE, .name = (char *)"ajs_anonymous_id" },
};

/* A form with only the email field; tests add what they need. */
static struct map_field email_only[] = {
	FIELD("email", "email", MAP_EMAIL, true, false, 0),
};

static struct map_form mkform(struct map_field *f, size_t nf)
{
	struct map_form form;

	memset(&form, 0, sizeof form);
	form.id = (char *)"t";
	form.success_url = (char *)"/ok";
	form.fields = f;
	form.n_fields = nf;
	form.user_id = src_email;
	form.n_user_id = NP(src_email);
	return form;
}

/* The identify message of a result, as the spool would write it; NULL when
 * there is no submission. Kept until free_messages(). */
static cJSON *printed[512];
static size_t n_printed;

static cJSON *msg_of(const struct id_result *r)
{
	cJSON *m;

	if (r->sub.user_id == NULL || n_printed == sizeof printed / sizeof printed[0])
		return NULL;
	m = submission_message(&r->sub);
	printed[n_printed++] = m;
	return m;
}

static void free_messages(void)
{
	while (n_printed > 0)
		cJSON_Delete(printed[--n_printed]);
}

static enum id_err run(const struct map_form *form, struct form_pair *v, size_t n,
                       const struct id_context *ctx, struct id_result *r)
{
	struct form_pairs pairs = { v, n, n };

	return identify_build(form, &lim, &pairs, ctx, r);
}

/* The message without messageId and timestamp, printed; caller frees. */
static char *stable(cJSON *msg)
{
	cJSON *copy = cJSON_Duplicate(msg, 1);
	char *s;

	cJSON_DeleteItemFromObjectCaseSensitive(copy, "messageId");
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "timestamp");
	s = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	return s;
}

/* Part of the printed message: the object under key, printed; caller frees. */
static char *part(cJSON *msg, const char *path)
{
	char buf[128], *seg, *dot;
	cJSON *item = msg;

	snprintf(buf, sizeof buf, "%s", path);
	for (seg = buf; item != NULL && seg != NULL; seg = dot) {
		dot = strchr(seg, '.');
		if (dot != NULL)
			*dot++ = '\0';
		item = cJSON_GetObjectItemCaseSensitive(item, seg);
	}
	return item != NULL ? cJSON_PrintUnformatted(item) : NULL;
}

static void check_part(cJSON *msg, const char *path, const char *want, const char *what)
{
	char *got = part(msg, path);

	T_STREQ(got, want, "%s: %s", what, path);
	free(got);
}

static bool uuid_format_ok(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static bool ts_format_ok(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	if (s == NULL || strlen(s) != sizeof shape - 1)
		return false;
	for (i = 0; i < sizeof shape - 1; i++) {
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return false;
	}
	return true;
}

static bool has_error(const struct id_result *r, enum id_code code, const char *field)
{
	size_t i;

	for (i = 0; i < r->n_errors; i++) {
		const char *f = r->errors[i].field;

		if (r->errors[i].code == code &&
		    ((f == NULL && field == NULL) || (f && field && strcmp(f, field) == 0)))
			return true;
	}
	return false;
}

/* Exactly one error, this one. */
static void check_one_error(enum id_err e, struct id_result *r, enum id_code code,
                            const char *field, const char *what)
{
	T(e == ID_EREFUSED, "%s: refused (got %d)", what, (int)e);
	T(msg_of(r) == NULL, "%s: no message", what);
	T(r->n_errors == 1, "%s: one error (got %zu)", what, r->n_errors);
	T(has_error(r, code, field), "%s: %s for %s", what, id_code_name(code),
	  field ? field : "(null)");
	id_result_free(r);
}

/* The sample form of docs/mapping.md, end to end. */
static struct map_field sample_fields[] = {
	FIELD("email", "email", MAP_EMAIL, true, false, 0),
	FIELD("first", "firstName", MAP_TEXT, false, false, 100),
	FIELD("last", "lastName", MAP_TEXT, false, false, 0),
	FIELD("city", "address.city", MAP_TEXT, false, false, 0),
	FIELD("sector", "Industry", MAP_TEXT, false, false, 0),
	FIELD("optin", "Newsletter", MAP_BOOLEAN, false, false, 0),
	FIELD("topics", "Topics", MAP_TEXT, false, true, 0),
	FIELD("size", "Employees", MAP_NUMBER, false, false, 0),
};
static struct map_constant sample_consts[] = {
	{ (char *)"Signup Source", (char *)"Website form", NULL, 0 },
};

static void test_sample(void)
{
	struct map_form form = mkform(sample_fields, NP(sample_fields));
	struct form_pair pairs[] = {
		P("email", " Jane@Example.COM "), P("first", "Jane"), P("last", "Doe"),
		P("city", "Paris"), P("sector", "Software"), P("optin", "on"),
		P("topics", "a"), P("topics", "  "), P("topics", "b"), P("size", "42"),
		P("website", "x"), P("_next", "/n"), P("utm_source", "news"),
		P("utm_campaign", "spring"), P("_referrer", "https://google.com/"),
		P("unmapped", "zzz"), P("uid", "u1"), P("_title", "Contact us"),
	};
	struct id_context ctx = {
		"203.0.113.5", "Mozilla/5.0",
		"https://www.example.com/contact.html?utm_source=ignored",
		"ajs_user_id=u2; ajs_anonymous_id=%22anon-1%22", "fr-BE, fr;q=0.9, en;q=0.5",
	};
	struct id_result r;
	char ts0[UUID_TS_SIZE], ts1[UUID_TS_SIZE];
	const char *keys[] = { "type", "messageId", "timestamp", "userId",
	                       "anonymousId", "traits", "context", "integrations" };
	enum id_err e;
	cJSON *it;
	size_t i;
	char *s;

	form.honeypot = (char *)"website";
	form.constants = sample_consts;
	form.n_constants = NP(sample_consts);
	form.anonymous_id = src_anon;
	form.n_anonymous_id = NP(src_anon);
	form.context_ip = true;

	T(uuid_timestamp(ts0), "timestamp before");
	e = run(&form, pairs, NP(pairs), &ctx, &r);
	T(uuid_timestamp(ts1), "timestamp after");
	T(e == ID_OK && r.n_errors == 0, "sample accepted (%d, %zu errors)", (int)e, r.n_errors);
	if (msg_of(&r) == NULL)
		return;
	s = stable(msg_of(&r));
	T_STREQ(s, "{\"type\":\"identify\",\"userId\":\"jane@example.com\","
	           "\"anonymousId\":\"anon-1\","
	           "\"traits\":{\"email\":\"jane@example.com\",\"firstName\":\"Jane\","
	           "\"lastName\":\"Doe\",\"address\":{\"city\":\"Paris\"},"
	           "\"Industry\":\"Software\",\"Newsletter\":true,\"Topics\":[\"a\",\"b\"],"
	           "\"Employees\":42,\"Signup Source\":\"Website form\"},"
	           "\"context\":{\"ip\":\"203.0.113.5\",\"userAgent\":\"Mozilla/5.0\","
	           "\"locale\":\"fr-BE\",\"page\":{\"path\":\"/contact.html\","
	           "\"referrer\":\"https://google.com/\",\"search\":\"?utm_source=ignored\","
	           "\"title\":\"Contact us\","
	           "\"url\":\"https://www.example.com/contact.html?utm_source=ignored\"},"
	           "\"campaign\":{\"source\":\"news\",\"name\":\"spring\"}," LIB OWN("email") "},"
	           INTEG "}", "sample message");
	free(s);

	/* Key order as in docs/behaviour.md. */
	for (i = 0, it = msg_of(&r)->child; it != NULL && i < NP(keys); it = it->next, i++)
		T_STREQ(it->string, keys[i], "key %zu", i);
	T(i == NP(keys) && it == NULL, "exactly %zu keys", NP(keys));

	it = cJSON_GetObjectItemCaseSensitive(msg_of(&r), "messageId");
	T(uuid_format_ok(cJSON_GetStringValue(it)), "messageId is a v4 UUID: %s",
	  cJSON_GetStringValue(it));
	it = cJSON_GetObjectItemCaseSensitive(msg_of(&r), "timestamp");
	T(ts_format_ok(cJSON_GetStringValue(it)), "timestamp format: %s",
	  cJSON_GetStringValue(it));
	T(cJSON_GetStringValue(it) && strcmp(ts0, cJSON_GetStringValue(it)) <= 0 &&
	  strcmp(cJSON_GetStringValue(it), ts1) <= 0, "timestamp is now");
	id_result_free(&r);
	T(msg_of(&r) == NULL, "id_result_free clears");
	id_result_free(&r);
	id_result_free(NULL);
}

static void test_uuid(void)
{
	static char ids[256][UUID_STR_SIZE];
	struct id_result r1, r2;
	struct map_form form = mkform(email_only, NP(email_only));
	struct form_pair pairs[] = { P("email", "a@b.example") };
	bool fmt = true, uniq = true, v4 = true;
	size_t i, j;

	for (i = 0; i < NP(ids); i++) {
		T(uuid_v4(ids[i]), "uuid_v4 works");
		fmt = fmt && uuid_format_ok(ids[i]);
		v4 = v4 && ids[i][14] == '4' && strchr("89ab", ids[i][19]);
	}
	for (i = 0; i < NP(ids); i++)
		for (j = i + 1; j < NP(ids); j++)
			uniq = uniq && strcmp(ids[i], ids[j]) != 0;
	T(fmt, "all UUIDs well-formed");
	T(v4, "version nibble 4, variant 8-b");
	T(uniq, "UUIDs unique");

	T(run(&form, pairs, NP(pairs), NULL, &r1) == ID_OK, "first message");
	T(run(&form, pairs, NP(pairs), NULL, &r2) == ID_OK, "second message");
	if (msg_of(&r1) && msg_of(&r2)) {
		const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(msg_of(&r1), "messageId"));
		const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(msg_of(&r2), "messageId"));

		T(a && b && strcmp(a, b) != 0, "messageIds differ across calls");
	}
	id_result_free(&r1);
	id_result_free(&r2);
}

/* Workers are forked from one parent that has made ids already: a child's
 * next id is not its sibling's, nor the parent's. */
static void test_uuid_fork(void)
{
	char ids[3][UUID_STR_SIZE] = { "", "", "" };
	int fds[2][2];

	T(uuid_v4(ids[2]), "the parent's generator in use before the fork");
	for (int c = 0; c < 2; c++) {
		pid_t pid;

		T(pipe(fds[c]) == 0, "pipe");
		pid = fork();
		if (pid == 0) {
			char id[UUID_STR_SIZE];

			_exit(uuid_v4(id) && write(fds[c][1], id, sizeof id) == (ssize_t)sizeof id ? 0 : 1);
		}
		T(pid > 0 && read(fds[c][0], ids[c], UUID_STR_SIZE) == UUID_STR_SIZE, "child %d's id", c);
		waitpid(pid, NULL, 0);
		close(fds[c][0]);
		close(fds[c][1]);
	}
	T(uuid_v4(ids[2]), "the parent's next id");
	T(strcmp(ids[0], ids[1]) != 0 && strcmp(ids[0], ids[2]) != 0 && strcmp(ids[1], ids[2]) != 0,
	  "ids differ across forked processes: %s %s %s", ids[0], ids[1], ids[2]);
}

static void test_timestamp(void)
{
	struct timespec t;
	char ts[UUID_TS_SIZE];

	t.tv_sec = 0;
	t.tv_nsec = 0;
	T(uuid_timestamp_at(&t, ts), "epoch");
	T_STREQ(ts, "1970-01-01T00:00:00.000Z", "epoch");
	t.tv_sec = 1795871370;
	t.tv_nsec = 123999999;
	T(uuid_timestamp_at(&t, ts), "2026");
	T_STREQ(ts, "2026-11-28T13:09:30.123Z", "milliseconds truncated, not rounded");
	t.tv_sec = 1709251199;
	t.tv_nsec = 999000000;
	T(uuid_timestamp_at(&t, ts), "leap day");
	T_STREQ(ts, "2024-02-29T23:59:59.999Z", "leap day");
	t.tv_sec = 253402300799;
	t.tv_nsec = 0;
	T(uuid_timestamp_at(&t, ts), "year 9999");
	T_STREQ(ts, "9999-12-31T23:59:59.000Z", "year 9999");
	t.tv_sec = 253402300800;
	T(!uuid_timestamp_at(&t, ts) && ts[0] == '\0', "year 10000 refused");
	t.tv_sec = 0;
	t.tv_nsec = 1000000000L;
	T(!uuid_timestamp_at(&t, ts), "bad nanoseconds refused");
	t.tv_nsec = -1;
	T(!uuid_timestamp_at(&t, ts), "negative nanoseconds refused");
	T(uuid_timestamp(ts) && ts_format_ok(ts), "now: %s", ts);
}

static struct map_field err_fields[] = {
	FIELD("email", "email", MAP_EMAIL, false, false, 0),
	FIELD("first", "firstName", MAP_TEXT, true, false, 0),
	FIELD("last", "lastName", MAP_TEXT, false, false, 5),
	FIELD("size", "Employees", MAP_NUMBER, false, false, 0),
	FIELD("nick", "nick", MAP_TEXT, false, false, 0),
};

static void test_errors(void)
{
	struct map_form form = mkform(err_fields, NP(err_fields));
	struct map_form cookie_form = mkform(err_fields, NP(err_fields));
	struct id_result r;
	enum id_err e;

	cookie_form.user_id = src_cookie;
	cookie_form.n_user_id = NP(src_cookie);

	{ /* missing_email, even though the field is not required */
		struct form_pair p[] = { P("first", "J") };
		e = run(&form, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_MISSING_EMAIL, "email", "absent email");
	}
	{ /* blank counts as absent */
		struct form_pair p[] = { P("email", " \t "), P("first", "J") };
		e = run(&form, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_MISSING_EMAIL, "email", "blank email");
	}
	{ /* invalid_email, and no missing_user_id though userId is from-email */
		struct form_pair p[] = { P("email", "not-an-email"), P("first", "J") };
		e = run(&form, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_INVALID_EMAIL, "email", "invalid email");
	}
	{ /* an email error also hides missing_user_id from other sources */
		struct form_pair p[] = { P("email", "a@@b"), P("first", "J") };
		e = run(&cookie_form, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_INVALID_EMAIL, "email", "invalid email, cookie userId");
	}
	{ /* missing_user_id when the email is fine */
		struct form_pair p[] = { P("email", "a@b.example"), P("first", "J") };
		e = run(&cookie_form, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_MISSING_USER_ID, NULL, "no cookie");
	}
	{ /* missing_user_id with no sources at all */
		struct map_form f = form;
		struct form_pair p[] = { P("email", "a@b.example"), P("first", "J") };
		f.user_id = NULL;
		f.n_user_id = 0;
		e = run(&f, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_MISSING_USER_ID, NULL, "no sources");
	}
	{ /* missing_field */
		struct form_pair p[] = { P("email", "a@b.example"), P("first", "  ") };
		e = run(&form, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_MISSING_FIELD, "first", "blank required");
	}
	{ /* invalid_value: a wrong type */
		struct form_pair p[] = { P("email", "a@b.example"), P("first", "J"), P("size", "many") };
		e = run(&form, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_INVALID_VALUE, "size", "bad number");
	}
	{ /* invalid_value: a repeated single field, even with empty copies */
		struct form_pair p[] = { P("email", "a@b.example"), P("first", "J"), P("first", "") };
		e = run(&form, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_INVALID_VALUE, "first", "repeated field");
	}
	{ /* a repeated email is invalid_value for the email: no missing_user_id */
		struct form_pair p[] = { P("email", "a@b.example"), P("first", "J"), P("email", "c@d") };
		e = run(&form, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_INVALID_VALUE, "email", "repeated email");
	}
	{ /* too_long: marked by the parser */
		struct form_pair p[] = { P("email", "a@b.example"), P("first", "J"), PLONG("nick") };
		e = run(&form, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_TOO_LONG, "nick", "parser too_long");
	}
	{ /* too_long: the field's max-length (5), counted after trimming */
		struct form_pair p[] = { P("email", "a@b.example"), P("first", "J"), P("last", "123456") };
		e = run(&form, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_TOO_LONG, "last", "max-length");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("first", "J"), P("last", "  12345 \n") };
		e = run(&form, p, NP(p), NULL, &r);
		T(e == ID_OK, "5 bytes after trimming fit max-length 5");
		check_part(msg_of(&r), "traits.lastName", "\"12345\"", "trimmed");
		id_result_free(&r);
	}
	{ /* too_long: max-length 0 is the form's max-value */
		static const struct form_limits small = { 65536, 100, 10 };
		struct form_pair p[] = { P("email", "a@b.c"), P("first", "J"), P("nick", "12345678901") };
		struct form_pairs fp = { p, NP(p), NP(p) };
		e = identify_build(&form, &small, &fp, NULL, &r);
		check_one_error(e, &r, ID_TOO_LONG, "nick", "max-value");
		p[2].value = (char *)"1234567890";
		p[2].value_len = 10;
		e = identify_build(&form, &small, &fp, NULL, &r);
		T(e == ID_OK, "10 bytes fit max-value 10");
		id_result_free(&r);
	}
	{ /* a max-length above max-value does not loosen it (an email is 5
	   * bytes at least: a max-value of 5, a max-length of 10) */
		static const struct form_limits small = { 65536, 100, 5 };
		struct map_field f[] = {
			FIELD("email", "email", MAP_EMAIL, false, false, 0),
			FIELD("first", "firstName", MAP_TEXT, true, false, 0),
			FIELD("last", "lastName", MAP_TEXT, false, false, 10),
		};
		struct map_form ff = mkform(f, NP(f));
		struct form_pair p[] = { P("email", "a@b.c"), P("first", "J"), P("last", "123456") };
		struct form_pairs fp = { p, NP(p), NP(p) };
		e = identify_build(&ff, &small, &fp, NULL, &r);
		check_one_error(e, &r, ID_TOO_LONG, "last", "max-length over max-value");
	}
	{ /* too_long on the email field comes before its syntax */
		struct map_field f[] = { FIELD("email", "email", MAP_EMAIL, true, false, 4) };
		struct map_form ff = mkform(f, NP(f));
		struct form_pair p[] = { P("email", "ab@cd.example") };
		e = run(&ff, p, NP(p), NULL, &r);
		check_one_error(e, &r, ID_TOO_LONG, "email", "long email");
	}
	{ /* every error at once, in mapping order */
		struct form_pair p[] = { P("size", "1e3"), P("last", "toolong"),
		                         P("email", "x@-y"), PLONG("nick") };
		e = run(&form, p, NP(p), NULL, &r);
		T(e == ID_EREFUSED && r.n_errors == 5, "five errors (got %zu)", r.n_errors);
		if (r.n_errors == 5) {
			T(r.errors[0].code == ID_INVALID_EMAIL && !strcmp(r.errors[0].field, "email"), "1st");
			T(r.errors[1].code == ID_MISSING_FIELD && !strcmp(r.errors[1].field, "first"), "2nd");
			T(r.errors[2].code == ID_TOO_LONG && !strcmp(r.errors[2].field, "last"), "3rd");
			T(r.errors[3].code == ID_INVALID_VALUE && !strcmp(r.errors[3].field, "size"), "4th");
			T(r.errors[4].code == ID_TOO_LONG && !strcmp(r.errors[4].field, "nick"), "5th");
		}
	}
	{ /* field errors and missing_user_id together */
		struct form_pair p[] = { P("email", "a@b.example"), P("size", "x") };
		e = run(&cookie_form, p, NP(p), NULL, &r);
		T(e == ID_EREFUSED && r.n_errors == 3, "three errors (got %zu)", r.n_errors);
		T(r.n_errors == 3 && r.errors[0].code == ID_MISSING_FIELD &&
		  r.errors[1].code == ID_INVALID_VALUE &&
		  r.errors[2].code == ID_MISSING_USER_ID && r.errors[2].field == NULL,
		  "missing_user_id comes last");
	}

	T_STREQ(id_code_name(ID_MISSING_EMAIL), "missing_email", "name");
	T_STREQ(id_code_name(ID_INVALID_EMAIL), "invalid_email", "name");
	T_STREQ(id_code_name(ID_MISSING_USER_ID), "missing_user_id", "name");
	T_STREQ(id_code_name(ID_MISSING_FIELD), "missing_field", "name");
	T_STREQ(id_code_name(ID_INVALID_VALUE), "invalid_value", "name");
	T_STREQ(id_code_name(ID_TOO_LONG), "too_long", "name");
	T_STREQ(id_code_name((enum id_code)77), "unknown", "name");
}

static void test_error_cap(void)
{
	static char names[40][8];
	static struct map_field f[41];
	struct map_form form;
	struct form_pair p[] = { P("email", "a@b.example") };
	struct id_result r;
	size_t i;

	f[0] = (struct map_field)FIELD("email", "email", MAP_EMAIL, true, false, 0);
	for (i = 0; i < 40; i++) {
		snprintf(names[i], sizeof names[i], "f%zu", i);
		f[i + 1] = (struct map_field)FIELD(names[i], names[i], MAP_TEXT, true, false, 0);
	}
	form = mkform(f, NP(f));
	T(run(&form, p, NP(p), NULL, &r) == ID_EREFUSED, "40 missing fields refused");
	T(r.n_errors == LIMIT_MAX_ERRORS, "capped at %u (got %zu)", LIMIT_MAX_ERRORS, r.n_errors);
	T(r.n_errors == LIMIT_MAX_ERRORS && !strcmp(r.errors[0].field, "f0") &&
	  !strcmp(r.errors[LIMIT_MAX_ERRORS - 1].field, "f31"), "first ones kept in order");
}

static void test_types(void)
{
	struct map_field f[] = {
		FIELD("email", "email", MAP_EMAIL, true, false, 0),
		FIELD("b", "b", MAP_BOOLEAN, false, false, 0),
		FIELD("n", "n", MAP_NUMBER, false, false, 0),
		FIELD("d", "d", MAP_DATE, false, false, 0),
		FIELD("ph", "ph", MAP_PHONE, false, false, 0),
	};
	struct map_form form = mkform(f, NP(f));
	struct id_result r;
	char *s;

	{
		struct form_pair p[] = { P("email", "A@B.C"), P("b", " NO "), P("n", "-3.5"),
		                         P("d", "2024-02-29"), P("ph", " +1 (555) 123-4567 ") };
		T(run(&form, p, NP(p), NULL, &r) == ID_OK, "types accepted");
		s = part(msg_of(&r), "traits");
		T_STREQ(s, "{\"email\":\"a@b.c\",\"b\":false,\"n\":-3.5,\"d\":\"2024-02-29\","
		           "\"ph\":\"+1 (555) 123-4567\"}", "converted traits");
		free(s);
		id_result_free(&r);
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("b", "maybe"), P("n", "0x1F"),
		                         P("d", "2023-02-29"), P("ph", "1234") };
		T(run(&form, p, NP(p), NULL, &r) == ID_EREFUSED && r.n_errors == 4, "four bad");
		T(has_error(&r, ID_INVALID_VALUE, "b") && has_error(&r, ID_INVALID_VALUE, "n") &&
		  has_error(&r, ID_INVALID_VALUE, "d") && has_error(&r, ID_INVALID_VALUE, "ph"),
		  "each invalid_value");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("d", "2024-13-01") };
		check_one_error(run(&form, p, NP(p), NULL, &r), &r, ID_INVALID_VALUE, "d", "month 13");
	}
	{ /* an optional field sent empty is left out, not an error */
		struct form_pair p[] = { P("email", "a@b.example"), P("b", ""), P("n", " ") };
		T(run(&form, p, NP(p), NULL, &r) == ID_OK, "empty optional fields");
		check_part(msg_of(&r), "traits", "{\"email\":\"a@b.example\"}", "no empty traits");
		id_result_free(&r);
	}
	{ /* the email field is checked as an email whatever its type, and single */
		struct map_field g[] = { FIELD("mail", "email", MAP_TEXT, false, true, 0) };
		struct map_form gf = mkform(g, NP(g));
		struct form_pair p1[] = { P("mail", "Not An Email") };
		struct form_pair p2[] = { P("mail", "a@b.example"), P("mail", "c@d") };
		struct form_pair p3[] = { P("mail", "X@Y.example") };

		check_one_error(run(&gf, p1, NP(p1), NULL, &r), &r, ID_INVALID_EMAIL, "mail",
		                "text-typed email field");
		check_one_error(run(&gf, p2, NP(p2), NULL, &r), &r, ID_INVALID_VALUE, "mail",
		                "multiple email field");
		T(run(&gf, p3, NP(p3), NULL, &r) == ID_OK, "text-typed email accepted");
		check_part(msg_of(&r), "traits.email", "\"x@y.example\"", "lower-cased, a string");
		id_result_free(&r);
	}
	{ /* a form without an email field (a bad mapping) */
		struct map_field g[] = { FIELD("name", "name", MAP_TEXT, false, false, 0) };
		struct map_form gf = mkform(g, NP(g));
		struct form_pair p[] = { P("name", "x"), P("email", "a@b.example") };

		check_one_error(run(&gf, p, NP(p), NULL, &r), &r, ID_MISSING_EMAIL, NULL,
		                "no email field");
	}
}

static void test_nested(void)
{
	struct map_field f[] = {
		FIELD("email", "email", MAP_EMAIL, true, false, 0),
		FIELD("city", "address.city", MAP_TEXT, false, false, 0),
		FIELD("street", "address.street", MAP_TEXT, false, false, 0),
		FIELD("d4", "a.b.c.d", MAP_TEXT, false, false, 0),
		FIELD("d5", "a.b.c.d.e", MAP_TEXT, false, false, 0),   /* too deep */
		FIELD("x", "x", MAP_TEXT, false, false, 0),
		FIELD("xy", "x.y", MAP_TEXT, false, false, 0),         /* x is a leaf */
		FIELD("pq", "p.q", MAP_TEXT, false, false, 0),
		FIELD("p", "p", MAP_TEXT, false, false, 0),            /* p is an object */
		FIELD("e1", "m..n", MAP_TEXT, false, false, 0),
		FIELD("e2", ".m", MAP_TEXT, false, false, 0),
		FIELD("e3", "m.", MAP_TEXT, false, false, 0),
		FIELD("e4", "", MAP_TEXT, false, false, 0),
		FIELD("dup", "address.city", MAP_TEXT, false, false, 0),
	};
	struct map_constant c[] = {
		{ (char *)"meta.source", (char *)"web", NULL, 0 },
		{ (char *)"x", (char *)"constant loses", NULL, 0 },
		{ (char *)"Plan", (char *)"", NULL, 0 },
		{ NULL, (char *)"no trait", NULL, 0 },
	};
	struct map_form form = mkform(f, NP(f));
	struct form_pair p[] = {
		P("email", "a@b.example"), P("city", "Paris"), P("street", "1 rue X"), P("d4", "deep"),
		P("d5", "deeper"), P("x", "leaf"), P("xy", "under leaf"), P("pq", "obj"),
		P("p", "over obj"), P("e1", "1"), P("e2", "2"), P("e3", "3"), P("e4", "4"),
		P("dup", "Lyon"),
	};
	struct id_result r;

	form.constants = c;
	form.n_constants = NP(c);
	T(run(&form, p, NP(p), NULL, &r) == ID_OK, "nested accepted");
	check_part(msg_of(&r), "traits",
	           "{\"email\":\"a@b.example\",\"address\":{\"city\":\"Paris\",\"street\":\"1 rue X\"},"
	           "\"a\":{\"b\":{\"c\":{\"d\":\"deep\"}}},\"x\":\"leaf\",\"p\":{\"q\":\"obj\"},"
	           "\"meta\":{\"source\":\"web\"},\"Plan\":\"\"}",
	           "nested traits, first wins");
	id_result_free(&r);
}

static void test_multiple(void)
{
	struct map_field f[] = {
		FIELD("email", "email", MAP_EMAIL, true, false, 0),
		FIELD("t", "Topics", MAP_TEXT, false, true, 0),
		FIELD("n", "Nums", MAP_NUMBER, false, true, 0),
		FIELD("r", "Req", MAP_TEXT, true, true, 3),
	};
	struct map_form form = mkform(f, NP(f));
	struct id_result r;

	{
		struct form_pair p[] = { P("t", " b "), P("email", "a@b.example"), P("t", ""), P("r", "x"),
		                         P("t", "a"), P("n", "1"), P("n", "2.5"), P("t", "b") };
		T(run(&form, p, NP(p), NULL, &r) == ID_OK, "lists accepted");
		check_part(msg_of(&r), "traits",
		           "{\"email\":\"a@b.example\",\"Topics\":[\"b\",\"a\",\"b\"],\"Nums\":[1,2.5],"
		           "\"Req\":[\"x\"]}", "lists in order, empties skipped");
		id_result_free(&r);
	}
	{ /* an all-empty list is absent */
		struct form_pair p[] = { P("email", "a@b.example"), P("t", ""), P("t", " "), P("r", "y") };
		T(run(&form, p, NP(p), NULL, &r) == ID_OK, "empty list accepted");
		check_part(msg_of(&r), "traits", "{\"email\":\"a@b.example\",\"Req\":[\"y\"]}", "no Topics");
		id_result_free(&r);
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("r", ""), P("r", "") };
		check_one_error(run(&form, p, NP(p), NULL, &r), &r, ID_MISSING_FIELD, "r",
		                "required list empty");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("r", "x"), P("n", "1"), P("n", "two") };
		check_one_error(run(&form, p, NP(p), NULL, &r), &r, ID_INVALID_VALUE, "n",
		                "one bad element");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("r", "x"), P("r", "long") };
		check_one_error(run(&form, p, NP(p), NULL, &r), &r, ID_TOO_LONG, "r",
		                "one long element");
	}
}

static void test_user_id(void)
{
	struct map_form form = mkform(email_only, NP(email_only));
	struct id_context ctx = { NULL, NULL, NULL,
	                          "other=1; ajs_user_id=%22abc%22; ajs_anonymous_id=anon-9", NULL };
	struct id_context no_cookie = { NULL, NULL, NULL, "other=1", NULL };
	char uid256[300], uid257[300];
	struct id_result r;

	form.user_id = src_all;
	form.n_user_id = NP(src_all);
	memset(uid256, 'u', 256);
	uid256[256] = '\0';
	memset(uid257, 'u', 257);
	uid257[257] = '\0';

#define UID(pairs, c, want, what) do { \
	T(run(&form, pairs, NP(pairs), c, &r) == ID_OK, "%s: accepted", what); \
	check_part(msg_of(&r), "userId", want, what); \
	id_result_free(&r); \
} while (0)
	{
		struct form_pair p[] = { P("email", "Mail@X.Y"), P("uid", "  user-7 ") };
		UID(p, &ctx, "\"user-7\"", "field first, trimmed");
	}
	{
		struct form_pair p[] = { P("email", "Mail@X.Y") };
		UID(p, &ctx, "\"abc\"", "cookie second, decoded and unquoted");
		UID(p, &no_cookie, "\"mail@x.y\"", "email last, normalised");
		UID(p, NULL, "\"mail@x.y\"", "no context");
	}
	{
		struct form_pair p[] = { P("email", "m@x.example"), P("uid", " ") };
		UID(p, &ctx, "\"abc\"", "empty field skipped");
	}
	{
		struct form_pair p[] = { P("email", "m@x.example"), P("uid", "a"), P("uid", "b") };
		UID(p, &ctx, "\"abc\"", "repeated field skipped");
	}
	{
		struct form_pair p[] = { P("email", "m@x.example"), PLONG("uid") };
		UID(p, &ctx, "\"abc\"", "too_long field skipped");
	}
	{
		struct form_pair p[] = { P("email", "m@x.example"), { (char *)"uid", uid257, 257, false } };
		UID(p, &no_cookie, "\"m@x.example\"", "257-byte field skipped");
	}
	{
		struct form_pair p[] = { P("email", "m@x.example"), { (char *)"uid", uid256, 256, false } };
		char want[300];

		snprintf(want, sizeof want, "\"%.256s\"", uid256);
		UID(p, &no_cookie, want, "256-byte field kept");
	}
	{ /* anonymousId: present from the cookie, absent without a source */
		struct form_pair p[] = { P("email", "m@x.example") };
		form.anonymous_id = src_anon;
		form.n_anonymous_id = NP(src_anon);
		T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "anonymousId");
		check_part(msg_of(&r), "anonymousId", "\"anon-9\"", "anonymousId from cookie");
		id_result_free(&r);
		T(run(&form, p, NP(p), &no_cookie, &r) == ID_OK, "no anonymousId");
		T(msg_of(&r) && !cJSON_GetObjectItem(msg_of(&r), "anonymousId"), "key omitted");
		id_result_free(&r);
	}
	{
		struct form_pair p[] = { P("email", "m@x.example"), P("anon", "a-1") };
		T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "anonymousId from field");
		check_part(msg_of(&r), "anonymousId", "\"a-1\"", "field before cookie");
		id_result_free(&r);
	}
#undef UID
}

static void test_campaign(void)
{
	struct map_form form = mkform(email_only, NP(email_only));
	struct id_context ctx = { NULL, NULL,
	                          "https://s.example/p?a=1&utm_medium=b+c&utm_source=q"
	                          "&utm_campaign=%C3%A9t%C3%A9#utm_term=no", NULL, NULL };
	char big[400], url[400];
	struct id_result r;

#define CAMP(pairs, c, want, what) do { \
	T(run(&form, pairs, NP(pairs), c, &r) == ID_OK, "%s: accepted", what); \
	check_part(msg_of(&r), "context.campaign", want, what); \
	id_result_free(&r); \
} while (0)
	{
		struct form_pair p[] = { P("utm_content", "e"), P("email", "a@b.example"),
		                         P("utm_term", " d "), P("utm_campaign", "c"),
		                         P("utm_medium", "b"), P("utm_source", "a") };
		CAMP(p, &ctx, "{\"source\":\"a\",\"medium\":\"b\",\"name\":\"c\",\"term\":\"d\","
		              "\"content\":\"e\"}", "all five from fields, in order");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("utm_medium", "m") };
		CAMP(p, &ctx, "{\"medium\":\"m\"}", "fields win over the page URL");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example") };
		CAMP(p, &ctx, "{\"source\":\"q\",\"medium\":\"b c\",\"name\":\"\xc3\xa9t\xc3\xa9\"}",
		     "from the page URL query, decoded, not the fragment");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("utm_source", " "), P("utm_term", "") };
		CAMP(p, &ctx, "{\"source\":\"q\",\"medium\":\"b c\",\"name\":\"\xc3\xa9t\xc3\xa9\"}",
		     "empty utm fields fall back to the URL");
	}
	memset(big, 'v', 257);
	big[257] = '\0';
	{
		struct form_pair p[] = { P("email", "a@b.example"), { (char *)"utm_source", big, 257, false },
		                         P("utm_medium", "m") };
		CAMP(p, &ctx, "{\"medium\":\"m\"}", "257-byte utm field dropped");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), { (char *)"utm_source", big, 256, false } };
		char want[400];

		snprintf(want, sizeof want, "{\"source\":\"%.256s\"}", big);
		CAMP(p, &ctx, want, "256-byte utm field kept");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("utm_source", "x"), P("utm_source", "y"),
		                         PLONG("utm_term"), P("utm_content", "k") };
		CAMP(p, &ctx, "{\"content\":\"k\"}", "repeated or too_long utm fields dropped");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example") };
		struct id_context c2 = { NULL, NULL, "https://s/p?utm_source=%zz&utm_medium=m", NULL, NULL };
		struct id_context c3 = { NULL, NULL, "https://s/p#x?utm_source=s", NULL, NULL };
		struct id_context c4 = { NULL, NULL, "https://s/p?utm_source=&utm_medium=m&utm_medium=n", NULL, NULL };
		struct id_context c5 = { NULL, NULL, url, NULL, NULL };

		CAMP(p, &c2, NULL, "malformed query: no campaign");
		CAMP(p, &c3, NULL, "'?' in the fragment: no campaign");
		CAMP(p, &c4, NULL, "empty or repeated query values dropped");
		snprintf(url, sizeof url, "https://s/p?utm_source=%.257s&utm_medium=m", big);
		CAMP(p, &c5, "{\"medium\":\"m\"}", "257-byte query value dropped");
	}
#undef CAMP
}

static void test_context(void)
{
	struct map_form form = mkform(email_only, NP(email_only));
	struct form_pair p[] = { P("email", "a@b.example"), P("_referrer", " https://r.example/ ") };
	struct form_pair p_only[] = { P("email", "a@b.example") };
	static char url[LIMIT_MAX_URL + 2];
	struct id_context ctx = { "::1", "UA \xc3\xa9", url, NULL, NULL };
	struct id_result r;
	size_t n;

	form.context_ip = true;
	n = (size_t)snprintf(url, sizeof url, "https://example.com/");
	memset(url + n, 'a', LIMIT_MAX_URL - n);
	url[LIMIT_MAX_URL] = '\0';
	T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "context accepted");
	{
		char *want = malloc(2 * LIMIT_MAX_URL + 200);

		snprintf(want, 2 * LIMIT_MAX_URL + 200,
		         "{\"ip\":\"::1\",\"userAgent\":\"UA \xc3\xa9\",\"page\":{\"path\":\"%s\","
		         "\"referrer\":\"https://r.example/\",\"url\":\"%s\"}," LIB OWN("email") "}",
		         url + strlen("https://example.com"), url);
		check_part(msg_of(&r), "context", want, "2048-byte page URL kept");
		free(want);
	}
	id_result_free(&r);

	url[LIMIT_MAX_URL] = 'a';
	url[LIMIT_MAX_URL + 1] = '\0';
	T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "long URL accepted");
	check_part(msg_of(&r), "context.page", "{\"referrer\":\"https://r.example/\"}",
	           "2049-byte page URL omitted");
	id_result_free(&r);

	{
		struct id_context bad = { "", "\xff\xfe", "https://x/\xc3", NULL, "\xff" };

		T(run(&form, p_only, NP(p_only), &bad, &r) == ID_OK, "bad context accepted");
		check_part(msg_of(&r), "context", "{" LIB OWN("email") "}",
		           "empty ip, invalid UTF-8 agent and URL, bad locale omitted, no empty page");
		id_result_free(&r);
	}
	T(run(&form, p_only, NP(p_only), NULL, &r) == ID_OK, "NULL context");
	check_part(msg_of(&r), "context", "{" LIB OWN("email") "}", "only the library");
	check_part(msg_of(&r), "integrations", "{\"Freshmarketer\":true}", "integrations");
	id_result_free(&r);
	{
		struct form_pair q[] = { P("email", "a@b.example"), P("_referrer", "x"), P("_referrer", "y") };

		T(run(&form, q, NP(q), NULL, &r) == ID_OK, "two referrers");
		check_part(msg_of(&r), "context", "{" LIB OWN("email") "}", "repeated _referrer dropped");
		id_result_free(&r);
	}
}

/* context.ip only when the form asks for it (<context ip="true">). */
static void test_ip(void)
{
	struct map_form form = mkform(email_only, NP(email_only));
	struct form_pair p[] = { P("email", "a@b.example") };
	struct id_context ctx = { "203.0.113.9", "UA", NULL, NULL, NULL };
	struct id_result r;
	char *s;

	T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "no flag: accepted");
	check_part(msg_of(&r), "context.ip", NULL, "no flag: no context.ip");
	check_part(msg_of(&r), "context.userAgent", "\"UA\"", "no flag: the rest of the context");
	s = cJSON_PrintUnformatted(msg_of(&r));
	T(s != NULL && strstr(s, "203.0.113.9") == NULL, "no flag: the address nowhere in the message");
	free(s);
	id_result_free(&r);

	form.context_ip = true;
	T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "flag: accepted");
	check_part(msg_of(&r), "context.ip", "\"203.0.113.9\"", "flag: context.ip kept");
	id_result_free(&r);
	{
		static char long_ip[80];

		memset(long_ip, '1', 65);
		ctx.ip = long_ip;
		T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "flag, 65-byte ip: accepted");
		check_part(msg_of(&r), "context.ip", NULL, "flag: an ip over 64 bytes dropped");
		id_result_free(&r);
	}
}

/* context.page.url from `_page` or the Referer, and its path and search. */
static void test_page(void)
{
	struct map_form form = mkform(email_only, NP(email_only));
	struct id_context ctx = { NULL, NULL, "https://ref.example/from?utm_source=ref", NULL, NULL };
	struct id_context no_ref = { NULL, NULL, NULL, NULL, NULL };
	static char big[LIMIT_MAX_URL + 2];
	struct id_result r;
	size_t i, n;

#define PAGE(pairs, c, want, what) do { \
	T(run(&form, pairs, NP(pairs), c, &r) == ID_OK, "%s: accepted", what); \
	check_part(msg_of(&r), "context.page", want, what); \
	id_result_free(&r); \
} while (0)
	{
		struct form_pair p[] = { P("email", "a@b.example"),
		                         P("_page", " https://www.example.com/pricing/?plan=pro&utm_source=pg#faq ") };

		PAGE(p, &ctx, "{\"path\":\"/pricing/\",\"search\":\"?plan=pro&utm_source=pg\","
		              "\"url\":\"https://www.example.com/pricing/?plan=pro&utm_source=pg#faq\"}",
		     "_page over the Referer, trimmed");
		T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "campaign: accepted");
		check_part(msg_of(&r), "context.campaign", "{\"source\":\"pg\"}",
		           "the campaign from _page's query, not the Referer's");
		id_result_free(&r);
	}
	{
		struct form_pair p[] = { P("email", "a@b.example") };

		PAGE(p, &ctx, "{\"path\":\"/from\",\"search\":\"?utm_source=ref\","
		              "\"url\":\"https://ref.example/from?utm_source=ref\"}", "no _page: the Referer");
	}
	n = (size_t)snprintf(big, sizeof big, "https://example.com/");
	memset(big + n, 'a', LIMIT_MAX_URL + 1 - n);
	big[LIMIT_MAX_URL + 1] = '\0';
	{
		static const char *const bad[] = {
			"javascript:alert(1)", "/relative/path", "//www.example.com/x", "ftp://x.example/",
			"https://user@www.example.com/", "https:/www.example.com/", "https://exa mple.com/",
			"https://www.example.com/a\\b", "https://127.1/", "https://x.example/\xff",
			"https://x.example/a\tb", "data:text/html,x", "   ",
		};
		const char *fallback = "{\"path\":\"/from\",\"search\":\"?utm_source=ref\","
		                       "\"url\":\"https://ref.example/from?utm_source=ref\"}";

		for (i = 0; i < NP(bad); i++) {
			struct form_pair p[] = { P("email", "a@b.example"), { (char *)"_page", (char *)bad[i],
			                         strlen(bad[i]), false } };
			char what[80];

			snprintf(what, sizeof what, "bad _page %zu falls back", i);
			PAGE(p, &ctx, fallback, what);
			T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "%s: accepted", what);
			check_part(msg_of(&r), "context.campaign", "{\"source\":\"ref\"}",
			           "and the campaign is the Referer's");
			id_result_free(&r);
		}
		{
			struct form_pair p[] = { P("email", "a@b.example"), { (char *)"_page", big,
			                         LIMIT_MAX_URL + 1, false } };
			PAGE(p, &ctx, fallback, "2049-byte _page falls back");
		}
		{
			struct form_pair p[] = { P("email", "a@b.example"), P("_page", "https://a.example/1"),
			                         P("_page", "https://a.example/2") };
			PAGE(p, &ctx, fallback, "repeated _page falls back");
		}
		{
			struct form_pair p[] = { P("email", "a@b.example"), PLONG("_page") };
			PAGE(p, &ctx, fallback, "too_long _page falls back");
		}
		{
			struct form_pair p[] = { P("email", "a@b.example"), P("_page", "javascript:alert(1)") };
			PAGE(p, &no_ref, NULL, "bad _page, no Referer: no page");
		}
	}
	big[LIMIT_MAX_URL] = '\0';
	{
		struct form_pair p[] = { P("email", "a@b.example"), { (char *)"_page", big, LIMIT_MAX_URL, false } };

		char *want = malloc(LIMIT_MAX_URL + 8);

		snprintf(want, LIMIT_MAX_URL + 8, "\"%s\"", big + strlen("https://example.com"));
		T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "2048-byte _page: accepted");
		check_part(msg_of(&r), "context.page.path", want, "2048-byte _page kept");
		free(want);
		id_result_free(&r);
	}
	{
		static const struct { const char *url, *want; } split[] = {
			{ "https://h.example", "{\"path\":\"/\",\"url\":\"https://h.example\"}" },
			{ "https://h.example?x=1", "{\"path\":\"/\",\"search\":\"?x=1\","
			  "\"url\":\"https://h.example?x=1\"}" },
			{ "https://h.example#f?no", "{\"path\":\"/\",\"url\":\"https://h.example#f?no\"}" },
			{ "https://h.example/a/b?", "{\"path\":\"/a/b\",\"url\":\"https://h.example/a/b?\"}" },
			{ "https://h.example/a/b?#x", "{\"path\":\"/a/b\",\"url\":\"https://h.example/a/b?#x\"}" },
			{ "https://h.example:8443/a%20b?q=1&r=?#f?g", "{\"path\":\"/a%20b\",\"search\":"
			  "\"?q=1&r=?\",\"url\":\"https://h.example:8443/a%20b?q=1&r=?#f?g\"}" },
			{ "HTTP://H.EXAMPLE/X/", "{\"path\":\"/X/\",\"url\":\"HTTP://H.EXAMPLE/X/\"}" },
			{ "https://h.example/caf\xc3\xa9?q=\xc3\xa9", "{\"path\":\"/caf\xc3\xa9\",\"search\":"
			  "\"?q=\xc3\xa9\",\"url\":\"https://h.example/caf\xc3\xa9?q=\xc3\xa9\"}" },
			{ "https://h.example//x", "{\"path\":\"//x\",\"url\":\"https://h.example//x\"}" },
		};

		for (i = 0; i < NP(split); i++) {
			struct form_pair p[] = { P("email", "a@b.example"), { (char *)"_page", (char *)split[i].url,
			                         strlen(split[i].url), false } };
			struct form_pair q[] = { P("email", "a@b.example") };
			struct id_context c = { NULL, NULL, split[i].url, NULL, NULL };

			PAGE(p, &no_ref, split[i].want, split[i].url);
			PAGE(q, &c, split[i].want, "the same from the Referer");
		}
	}
	{
		struct form_pair p[] = { P("email", "a@b.example") };
		struct id_context c = { NULL, NULL, "android-app://com.example.app/", NULL, NULL };

		PAGE(p, &c, "{\"url\":\"android-app://com.example.app/\"}",
		     "a Referer that is no http(s) URL: kept, no path or search");
	}
#undef PAGE
}
/* context.page.title from `_title`: cleaned, cut at a character. */
static void test_title(void)
{
	struct map_form form = mkform(email_only, NP(email_only));
	static char v[1200], want[1200];
	struct id_result r;
	size_t i;

#define TITLE(pairs, want, what) do { \
	T(run(&form, pairs, NP(pairs), NULL, &r) == ID_OK, "%s: accepted", what); \
	check_part(msg_of(&r), "context.page.title", want, what); \
	id_result_free(&r); \
} while (0)
#define ONE(val, len) { P("email", "a@b.example"), { (char *)"_title", (val), (len), false } }
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("_title", "  Pricing \xe2\x80\x94 Acme \n") };
		TITLE(p, "\"Pricing \xe2\x80\x94 Acme\"", "trimmed, UTF-8 kept");
	}
	{
		/* Tab, CR, LF, DEL, U+0085 (C1) go; U+00A0 and U+202E are no controls. */
		struct form_pair p[] = { P("email", "a@b.example"),
		                         P("_title", "A\tB\r\nC\x7f\xc2\x85" "D\xc2\xa0" "E\xe2\x80\xae\x1b[1m") };
		TITLE(p, "\"ABCD\xc2\xa0" "E\xe2\x80\xae[1m\"", "control characters removed");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("_title", "\x01 \x02\xc2\x9f ") };
		TITLE(p, NULL, "nothing but controls and spaces: no title");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("_title", "Caf\xc3") };
		TITLE(p, NULL, "invalid UTF-8: no title");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("_title", "a"), P("_title", "b") };
		TITLE(p, NULL, "sent twice: no title");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), PLONG("_title") };
		TITLE(p, NULL, "too_long for the parser: no title");
	}
	memset(v, 'x', 600);
	memset(want, 0, sizeof want);
	want[0] = '"';
	memset(want + 1, 'x', ID_MAX_TITLE);
	want[ID_MAX_TITLE + 1] = '"';
	{
		struct form_pair p[] = ONE(v, 600);
		TITLE(p, want, "600 bytes cut to 512");
	}
	{
		struct form_pair p[] = ONE(v, ID_MAX_TITLE);
		TITLE(p, want, "512 bytes kept whole");
	}
	/* 511 bytes, then a 2-byte character that does not fit. */
	memcpy(v + ID_MAX_TITLE - 1, "\xc3\xa9zz", 4);
	want[ID_MAX_TITLE] = '"';
	want[ID_MAX_TITLE + 1] = '\0';
	{
		struct form_pair p[] = ONE(v, 600);
		TITLE(p, want, "cut before a character that would cross 512");
	}
	/* 510 bytes and the character: exactly 512. */
	memcpy(v + ID_MAX_TITLE - 2, "\xc3\xa9zz", 4);
	snprintf(want + ID_MAX_TITLE - 1, 8, "\xc3\xa9\"");
	{
		struct form_pair p[] = ONE(v, 600);
		TITLE(p, want, "a character ending at 512 kept");
	}
	/* Controls do not count towards the cap: 1 of every 2 bytes is one. */
	for (i = 0; i < 1100; i++)
		v[i] = i % 2 ? '\x01' : 'y';
	memset(want, 0, sizeof want);
	want[0] = '"';
	memset(want + 1, 'y', 550);
	want[551] = '"';
	{
		struct form_pair p[] = ONE(v, 1100);
		T(run(&form, p, NP(p), NULL, &r) == ID_OK, "controls: accepted");
		{
			char *got = part(msg_of(&r), "context.page.title");

			T(got != NULL && strlen(got) == ID_MAX_TITLE + 2 && strspn(got + 1, "y") == ID_MAX_TITLE,
			  "512 bytes of text once the controls are gone (got %zu)", got ? strlen(got) : 0);
			free(got);
		}
		id_result_free(&r);
	}
	/* A space at the cut is trimmed. */
	memset(v, 'x', 600);
	v[ID_MAX_TITLE - 1] = ' ';
	memset(want, 0, sizeof want);
	want[0] = '"';
	memset(want + 1, 'x', ID_MAX_TITLE - 1);
	want[ID_MAX_TITLE] = '"';
	{
		struct form_pair p[] = ONE(v, 600);
		TITLE(p, want, "a space at the cut trimmed");
	}
#undef ONE
#undef TITLE
}

/* context.locale from Accept-Language. */
static void test_locale(void)
{
	struct map_form form = mkform(email_only, NP(email_only));
	struct form_pair p[] = { P("email", "a@b.example") };
	static const struct { const char *header, *want; } cases[] = {
		{ "en-US,en;q=0.9", "\"en-US\"" },
		{ "da, en-gb;q=0.8, en;q=0.7", "\"da\"" },
		{ "fr;q=0.5, de-CH;q=0.8, en;q=0.8", "\"de-CH\"" },
		{ "de;q=0.8,en;q=0.80", "\"de\"" },
		{ "en;q=0.7,fr;q=1", "\"fr\"" },
		{ "*;q=1, nl;q=0.2", "\"nl\"" },
		{ "*", NULL },
		{ "en;q=0, fr;q=0.001", "\"fr\"" },
		{ "en;q=0", NULL },
		{ "en;q=0.", NULL },
		{ "  zh-Hant-TW ; Q=1.000 ", "\"zh-Hant-TW\"" },
		{ "en;q=1.5, fr;q=0.1", "\"fr\"" },
		{ "en;q=1.001, fr;q=0.1", "\"fr\"" },
		{ "en;q=0.1234, de;q=0.1", "\"de\"" },
		{ "en;q=, de;q=0.1", "\"de\"" },
		{ "en;q=-1, de;q=0.1", "\"de\"" },
		{ "en;level=1, es;q=0.1", "\"es\"" },
		{ "en;q=0.9;q=0.8, es;q=0.1", "\"es\"" },
		{ "en q=0.9, es;q=0.1", "\"es\"" },
		{ "en_US, pt-BR;q=0.1", "\"pt-BR\"" },
		{ "123, x-9;q=0.1", "\"x-9\"" },
		{ "abcdefghi, it;q=0.1", "\"it\"" },
		{ "en-abcdefghi, it;q=0.1", "\"it\"" },
		{ "en--US, en-, -en, it;q=0.1", "\"it\"" },
		{ "abcdefgh-abcdefgh-abcdefgh-abcd-abc", "\"abcdefgh-abcdefgh-abcdefgh-abcd-abc\"" },
		{ "abcdefgh-abcdefgh-abcdefgh-abcd-abcd, it;q=0.1", "\"it\"" },
		{ "", NULL },
		{ ",, ,\t,", NULL },
		{ ", ,en", "\"en\"" },
		{ "\xff\xfe, <script>, \"en\"", NULL },
		{ "en\r\nX-Evil: 1", NULL },
	};
	static char big[LIMIT_MAX_HEADER + 2];
	struct id_context ctx = { NULL, NULL, NULL, NULL, NULL };
	struct id_result r;
	size_t i;

	for (i = 0; i < NP(cases); i++) {
		ctx.accept_language = cases[i].header;
		T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "[%s]: accepted", cases[i].header);
		check_part(msg_of(&r), "context.locale", cases[i].want, cases[i].header);
		id_result_free(&r);
	}
	/* The header's cap: 8192 bytes are read, 8193 are not. */
	memset(big, ' ', sizeof big - 1);
	memcpy(big + LIMIT_MAX_HEADER - 2, "nl", 2);
	big[LIMIT_MAX_HEADER] = '\0';
	ctx.accept_language = big;
	T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "8192 bytes: accepted");
	check_part(msg_of(&r), "context.locale", "\"nl\"", "an 8192-byte header read");
	id_result_free(&r);
	big[LIMIT_MAX_HEADER] = ' ';
	big[LIMIT_MAX_HEADER + 1] = '\0';
	T(run(&form, p, NP(p), &ctx, &r) == ID_OK, "8193 bytes: accepted");
	check_part(msg_of(&r), "context.locale", NULL, "an 8193-byte header ignored");
	id_result_free(&r);
}

/* A checked consent box keeps its text and time in context.consent. */
static void test_consent(void)
{
	struct map_field f[] = {
		FIELD("email", "email", MAP_EMAIL, true, false, 0),
		FIELD("optin", "newsletterConsent", MAP_BOOLEAN, false, false, 0),
		FIELD("terms", "legal.terms", MAP_BOOLEAN, false, false, 0),
		FIELD("plain", "Plain", MAP_BOOLEAN, false, false, 0),
	};
	struct map_form form;
	struct form_pair yes[] = { P("email", "a@b.example"), P("optin", "on"), P("terms", "yes"),
	                           P("plain", "1") };
	struct form_pair no[] = { P("email", "a@b.example"), P("optin", "off") };
	struct form_pair absent[] = { P("email", "a@b.example") };
	struct id_result r;
	const cJSON *ts;
	char *want;

	f[1].consent = (char *)"Send me the \"newsletter\"";
	f[1].fm_field = (char *)"subscription_status";
	f[1].value_when_checked = (char *)"Subscribed";
	f[2].consent = (char *)"I accept the terms";
	form = mkform(f, NP(f));
	T(run(&form, yes, NP(yes), NULL, &r) == ID_OK, "consent accepted");
	check_part(msg_of(&r), "traits.newsletterConsent", "true", "the trait is the box");
	ts = cJSON_GetObjectItemCaseSensitive(msg_of(&r), "timestamp");
	want = malloc(512);
	snprintf(want, 512, "{\"newsletterConsent\":{\"text\":\"Send me the \\\"newsletter\\\"\","
	         "\"field\":\"optin\",\"timestamp\":\"%s\"},\"legal.terms\":{\"text\":"
	         "\"I accept the terms\",\"field\":\"terms\",\"timestamp\":\"%s\"}}",
	         cJSON_GetStringValue(ts), cJSON_GetStringValue(ts));
	check_part(msg_of(&r), "context.consent", want, "text, field and the message's time");
	free(want);
	id_result_free(&r);
	T(run(&form, no, NP(no), NULL, &r) == ID_OK, "unchecked accepted");
	check_part(msg_of(&r), "context.consent", NULL, "unchecked: no consent recorded");
	check_part(msg_of(&r), "traits.newsletterConsent", "false", "but the trait says no");
	id_result_free(&r);
	T(run(&form, absent, NP(absent), NULL, &r) == ID_OK, "absent accepted");
	check_part(msg_of(&r), "context.consent", NULL, "absent: nothing recorded");
	id_result_free(&r);
}

/* A required box must be checked: every false spelling is missing_field,
 * an unrequired box may say no, a list needs one true element. */
static void test_required_boolean(void)
{
	struct map_field f[] = {
		FIELD("email", "email", MAP_EMAIL, true, false, 0),
		FIELD("agree", "agreed", MAP_BOOLEAN, true, false, 0),
		FIELD("maybe", "maybe", MAP_BOOLEAN, false, false, 0),
		FIELD("any", "any", MAP_BOOLEAN, false, true, 0),
	};
	static const char *const nos[] = { "false", "no", "0", "off", "FALSE", " No " };
	static const char *const yeses[] = { "true", "yes", "1", "on" };
	struct map_form form;
	struct id_result r;

	f[1].consent = (char *)"I agree";
	form = mkform(f, NP(f));
	for (size_t i = 0; i < NP(nos); i++) {
		struct form_pair p[] = { P("email", "a@b.example"),
		                         { (char *)"agree", (char *)nos[i], strlen(nos[i]), false } };

		check_one_error(run(&form, p, NP(p), NULL, &r), &r, ID_MISSING_FIELD, "agree",
		                nos[i]);
	}
	for (size_t i = 0; i < NP(yeses); i++) {
		struct form_pair p[] = { P("email", "a@b.example"),
		                         { (char *)"agree", (char *)yeses[i], strlen(yeses[i]), false } };

		T(run(&form, p, NP(p), NULL, &r) == ID_OK, "%s", yeses[i]);
		check_part(msg_of(&r), "traits.agreed", "true", "agreed");
		id_result_free(&r);
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("agree", "on"), P("maybe", "no") };

		T(run(&form, p, NP(p), NULL, &r) == ID_OK, "an unrequired box may say no");
		check_part(msg_of(&r), "traits.maybe", "false", "and says it");
		id_result_free(&r);
	}
	f[3].required = true;
	form = mkform(f, NP(f));
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("agree", "on"), P("any", "no"),
		                         P("any", "off") };

		check_one_error(run(&form, p, NP(p), NULL, &r), &r, ID_MISSING_FIELD, "any",
		                "a required list of noes");
	}
	{
		struct form_pair p[] = { P("email", "a@b.example"), P("agree", "on"), P("any", "no"),
		                         P("any", "yes") };

		T(run(&form, p, NP(p), NULL, &r) == ID_OK, "a required list with one yes");
		id_result_free(&r);
	}
}

/* Special fields become traits only when mapped. */
static void test_only_mapped(void)
{
	struct map_field f[] = {
		FIELD("email", "email", MAP_EMAIL, true, false, 0),
		FIELD("utm_source", "Source", MAP_TEXT, false, false, 0),
	};
	struct map_form form = mkform(email_only, NP(email_only));
	struct map_form mapped = mkform(f, NP(f));
	struct form_pair p[] = { P("email", "a@b.example"), P("_next", "/thanks"), P("website", "spam"),
	                         P("_referrer", "https://r/"), P("utm_source", "s"),
	                         P("firstName", "J"), P("traits", "x") };
	struct id_result r;

	form.honeypot = (char *)"website";
	T(run(&form, p, NP(p), NULL, &r) == ID_OK, "unmapped accepted");
	check_part(msg_of(&r), "traits", "{\"email\":\"a@b.example\"}", "unmapped fields dropped");
	id_result_free(&r);
	T(run(&mapped, p, NP(p), NULL, &r) == ID_OK, "mapped utm accepted");
	check_part(msg_of(&r), "traits", "{\"email\":\"a@b.example\",\"Source\":\"s\"}", "mapped utm_source");
	check_part(msg_of(&r), "context.campaign", "{\"source\":\"s\"}", "and still the campaign");
	id_result_free(&r);

	/* No pairs at all. */
	T(identify_build(&form, &lim, NULL, NULL, &r) == ID_EREFUSED &&
	  has_error(&r, ID_MISSING_EMAIL, "email"), "NULL pairs: missing_email");
	T(identify_build(&form, NULL, NULL, NULL, &r) == ID_EREFUSED, "NULL limits");
}

/* Where the userId came from, and a signed field that does not verify. */
static void test_trust(void)
{
	static char secret[] = "0123456789abcdef-secret";
	/* HMAC-SHA256("u-42") under the secret above (python3 hmac) */
	static const char good[] =
		"u-42.eaaeb5676423703dfe60bb16f05e45efd06e11ef9628f7b9698b6276ab8ce4e4";
	struct map_source srcs[] = {
		{ .kind = MAP_SRC_FIELD, .name = (char *)"sid", .signed_with = (char *)"/k",
		  .key = { { secret, sizeof secret - 1 }, { 0 } } },
		{ .kind = MAP_SRC_FIELD, .name = (char *)"uid" },
		{ .kind = MAP_SRC_COOKIE, .name = (char *)"ajs_user_id" },
		{ .kind = MAP_SRC_EMAIL },
	};
	struct map_form form = mkform(email_only, NP(email_only));
	struct id_context ctx = { NULL, NULL, NULL, "ajs_user_id=c-1", NULL };
	struct id_context no_cookie = { NULL, NULL, NULL, NULL, NULL };
	struct id_result r;

	/* Prepared as sign_key_load() prepares a key read from its file. */
	T(hmac_key_set(&srcs[0].key.mac, secret, sizeof secret - 1) == HMAC_OK, "key prepared");
	form.user_id = srcs;
	form.n_user_id = NP(srcs);
#define SOURCE(pairs, c, uid, src, what) do { \
	T(run(&form, pairs, NP(pairs), c, &r) == ID_OK, "%s: accepted", what); \
	check_part(msg_of(&r), "userId", uid, what); \
	check_part(msg_of(&r), "context.fmgate.userIdSource", src, what); \
	id_result_free(&r); \
} while (0)
	{
		struct form_pair p[] = { P("email", "m@x.example"), P("sid", good), P("uid", "f-1") };
		SOURCE(p, &ctx, "\"u-42\"", "\"signed\"", "signed");
	}
	{
		struct form_pair p[] = { P("email", "m@x.example"), P("uid", "f-1") };
		SOURCE(p, &ctx, "\"f-1\"", "\"field\"", "plain field");
	}
	{
		struct form_pair p[] = { P("email", "m@x.example"), P("sid", "  ") };
		SOURCE(p, &ctx, "\"c-1\"", "\"cookie\"", "blank signed field: absent");
		SOURCE(p, &no_cookie, "\"m@x.example\"", "\"email\"", "email");
	}
#undef SOURCE
	{
		struct form_pair p[] = { P("email", "m@x.example"), P("sid", "u-42"), P("uid", "f-1") };
		check_one_error(run(&form, p, NP(p), &ctx, &r), &r, ID_INVALID_USER_ID, "sid",
		                "unsigned value in a signed field: no fall-through");
	}
	{
		struct form_pair p[] = { P("email", "m@x.example"),
		                         P("sid", "u-43.eaaeb5676423703dfe60bb16f05e45efd06e11ef9628f7b9698b6276ab8ce4e4") };
		check_one_error(run(&form, p, NP(p), &ctx, &r), &r, ID_INVALID_USER_ID, "sid",
		                "another id's signature");
	}
	{
		struct form_pair p[] = { P("email", "m@x.example"), P("sid", good), P("sid", good) };
		check_one_error(run(&form, p, NP(p), &ctx, &r), &r, ID_INVALID_USER_ID, "sid",
		                "signed field sent twice");
	}
	{
		struct form_pair p[] = { P("email", "m@x.example"), PLONG("sid") };
		check_one_error(run(&form, p, NP(p), &ctx, &r), &r, ID_INVALID_USER_ID, "sid",
		                "signed field too long");
	}
	T_STREQ(id_code_name(ID_INVALID_USER_ID), "invalid_user_id", "code name");
	hmac_key_free(&srcs[0].key.mac);
}

int main(void)
{
	test_sample();
	test_uuid();
	test_uuid_fork();
	test_timestamp();
	test_errors();
	test_error_cap();
	test_types();
	test_nested();
	test_multiple();
	test_user_id();
	test_trust();
	test_campaign();
	test_context();
	test_ip();
	test_page();
	test_title();
	test_locale();
	test_only_mapped();
	test_consent();
	test_required_boolean();
	free_messages();
	T_DONE();
}
