/* test_setup_check.c: `fmgate check --online` without the network: a mapping
 * against a field list, the key file's mode, and the timeout warning, with and
 * without a <captcha>, and the settings that come from the environment alone
 * (setup_check.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fm_fields.h"
#include "mapping.h"
#include "setup_check.h"
#include "t.h"
#include "tfiles.h"

static const char fields_json[] =
	"{\"fields\":["
	"{\"name\":\"first_name\",\"label\":\"First name\",\"type\":\"text\"},"
	"{\"name\":\"last_name\",\"label\":\"Last name\",\"type\":\"text\"},"
	"{\"name\":\"emails\",\"label\":\"Emails\",\"type\":\"group_field\"},"
	"{\"name\":\"external_id\",\"label\":\"External ID\",\"type\":\"text\"},"
	"{\"name\":\"owner_id\",\"label\":\"Owner\",\"type\":\"dropdown\","
	" \"choices\":[{\"id\":1,\"value\":\"Ann Admin\"}]},"
	"{\"name\":\"lifecycle_stage_id\",\"label\":\"Lifecycle stage\",\"type\":\"dropdown\","
	" \"choices\":[{\"id\":71,\"value\":\"Lead\"},{\"id\":73,\"value\":\"Customer\"}]},"
	"{\"name\":\"subscription_status\",\"label\":\"Subscription status\",\"type\":\"dropdown\","
	" \"choices\":[{\"id\":1,\"value\":\"Subscribed\"},{\"id\":2,\"value\":\"Unsubscribed\"}]},"
	"{\"name\":\"cf_industry\",\"label\":\"Industry\",\"type\":\"dropdown\","
	" \"choices\":[{\"id\":7,\"value\":\"Music\"}]},"
	"{\"name\":\"cf_employees\",\"label\":\"Employees\",\"type\":\"number\"},"
	"{\"name\":\"cf_count\",\"label\":\"Count\",\"type\":\"number\"},"
	"{\"name\":\"cf_rank\",\"label\":\"Rank\",\"type\":\"number\"},"
	"{\"name\":\"cf_score\",\"label\":\"Score\",\"type\":\"number\"},"
	"{\"name\":\"cf_newsletter\",\"label\":\"Newsletter\",\"type\":\"checkbox\"},"
	"{\"name\":\"cf_consent\",\"label\":\"Consent\",\"type\":\"checkbox\"},"
	"{\"name\":\"cf_agree3\",\"label\":\"Agree3\",\"type\":\"checkbox\"},"
	"{\"name\":\"cf_agree4\",\"label\":\"Agree4\",\"type\":\"checkbox\"},"
	"{\"name\":\"cf_birthday\",\"label\":\"Birthday\",\"type\":\"date\"},"
	"{\"name\":\"cf_signup_source\",\"label\":\"Signup Source\",\"type\":\"text\"},"
	"{\"name\":\"campaign_id\",\"label\":\"Campaign\",\"type\":\"number\"},"
	"{\"name\":\"cf_partner_id\",\"label\":\"Partner\",\"type\":\"text\"},"
	"{\"name\":\"cf_idea\",\"label\":\"Idea\",\"type\":\"text\"},"
	"{\"name\":\"cf_c5\",\"label\":\"C5\",\"type\":\"checkbox\"}"
	"]}";

/* One element per line: the line numbers below are the file's. */
static const char mapping_xml[] =
	"<fmgate>\n"                                                                       /* 1 */
	"<form id=\"a\">\n"                                                                /* 2 */
	"<redirect success=\"/ok\"/>\n"                                                    /* 3 */
	"<user-id><from-email/></user-id>\n"                                               /* 4 */
	"<field name=\"email\" trait=\"email\" type=\"email\"/>\n"                         /* 5 */
	"<field name=\"first\" trait=\"firstName\"/>\n"                                    /* 6 */
	"<field name=\"name\" trait=\"name\"/>\n"                                          /* 7 */
	"<field name=\"sector\" trait=\"industry\"/>\n"                                    /* 8 */
	"<field name=\"nope\" trait=\"No Such Label\"/>\n"                                 /* 9 */
	"<field name=\"owner\" trait=\"Owner\"/>\n"                                        /* 10 */
	"<field name=\"ext\" trait=\"External ID\"/>\n"                                    /* 11 */
	"<field name=\"x\" trait=\"x1\" fm-field=\"cf_missing\"/>\n"                      /* 12 */
	"<field name=\"tz\" trait=\"tz\" fm-field=\"time_zone\"/>\n"                       /* 13 */
	"<field name=\"terr\" trait=\"terr\" fm-field=\"territory_id\"/>\n"               /* 14 */
	"<field name=\"em\" trait=\"em\" fm-field=\"external_id\"/>\n"                     /* 15 */
	"<field name=\"optin\" trait=\"optin\" type=\"boolean\" fm-field=\"cf_count\"/>\n" /* 16 */
	"<field name=\"born\" trait=\"born\" type=\"boolean\" fm-field=\"cf_birthday\"/>\n"/* 17 */
	"<field name=\"news\" trait=\"Newsletter\" type=\"boolean\"/>\n"                   /* 18 */
	"<field name=\"cnt\" trait=\"cnt\" type=\"number\" fm-field=\"cf_consent\"/>\n"    /* 19 */
	"<field name=\"day\" trait=\"day\" type=\"date\" fm-field=\"cf_rank\"/>\n"         /* 20 */
	"<field name=\"topics\" trait=\"topics\" multiple=\"true\" fm-field=\"cf_employees\"/>\n" /* 21 */
	"<field name=\"sub\" trait=\"sub\" type=\"boolean\" fm-field=\"subscription_status\""
	" value-when-checked=\"Maybe\"/>\n"                                                /* 22 */
	"<field name=\"stage\" trait=\"stage\" type=\"boolean\" fm-field=\"lifecycle_stage_id\""
	" value-when-checked=\"customer\"/>\n"                                             /* 23 */
	"<field name=\"fn\" trait=\"First name\"/>\n"                                      /* 24 */
	"<constant trait=\"Signup Source\" value=\"Web\"/>\n"                              /* 25 */
	"<constant trait=\"Score\" value=\"lots\"/>\n"                                     /* 26 */
	"<constant trait=\"own\" value=\"ann admin\" fm-field=\"owner_id\"/>\n"            /* 27 */
	"</form>\n"                                                                        /* 28 */
	"<form id=\"clean\">\n"                                                            /* 29 */
	"<redirect success=\"/ok\"/>\n"                                                    /* 30 */
	"<user-id><from-email/></user-id>\n"                                               /* 31 */
	"<field name=\"email\" trait=\"email\" type=\"email\"/>\n"                         /* 32 */
	"<field name=\"n\" trait=\"Employees\" type=\"number\"/>\n"                        /* 33 */
	"<field name=\"ok\" trait=\"Newsletter\" type=\"boolean\"/>\n"                     /* 34 */
	"<constant trait=\"Score\" value=\"12.5\"/>\n"                                     /* 35 */
	"</form>\n"                                                                        /* 36 */
	"<form id=\"records\">\n"                                                          /* 37 */
	"<redirect success=\"/ok\"/>\n"                                                    /* 38 */
	"<user-id><from-email/></user-id>\n"                                               /* 39 */
	"<field name=\"email\" trait=\"email\" type=\"email\"/>\n"                         /* 40 */
	"<field name=\"r1\" trait=\"Newsletter\" type=\"boolean\" consent=\"Yes\""
	" consent-record=\"signup source\"/>\n"                                            /* 41 */
	"<field name=\"r2\" trait=\"Consent\" type=\"boolean\" consent=\"Yes\""
	" consent-record=\"No such field\"/>\n"                                            /* 42 */
	"<field name=\"r3\" trait=\"Agree3\" type=\"boolean\" consent=\"Yes\""
	" consent-record=\"Owner\"/>\n"                                                    /* 43 */
	"<field name=\"r4\" trait=\"Agree4\" type=\"boolean\" consent=\"Yes\""
	" consent-record=\"Birthday\"/>\n"                                                 /* 44 */
	"</form>\n"                                                                        /* 45 */
	"<form id=\"ids\">\n"                                                              /* 46 */
	"<redirect success=\"/ok\"/>\n"                                                    /* 47 */
	"<user-id><from-email/></user-id>\n"                                               /* 48 */
	"<field name=\"email\" trait=\"email\" type=\"email\"/>\n"                         /* 49 */
	"<field name=\"camp\" trait=\"Campaign\"/>\n"                                     /* 50 */
	"<field name=\"partner\" trait=\"partner\"/>\n"                                   /* 51 */
	"<field name=\"idea\" trait=\"Idea\"/>\n"                                         /* 52 */
	"<field name=\"c5\" trait=\"C5\" type=\"boolean\" consent=\"Yes\""
	" consent-record=\"Partner\"/>\n"                                                  /* 53 */
	"<field name=\"camp2\" trait=\"c2\" type=\"number\" fm-field=\"campaign_id\"/>\n" /* 54 */
	"</form>\n"
	"</fmgate>\n";

static const char *const want[] = {
	"m.xml:9: trait \"No Such Label\": no Freshmarketer field has this label (create the "
	"field, or set fm-field)",
	"m.xml:10: trait \"Owner\": its label is the privileged field owner_id, set only through "
	"fm-field",
	"m.xml:11: trait \"External ID\": its label is the identity field external_id, which only "
	"the userId and email set",
	"m.xml:12: fm-field \"cf_missing\" is no field of this Freshmarketer account",
	"m.xml:15: fm-field \"external_id\" is an identity field, which only the userId and email set",
	"m.xml:16: field \"optin\": type=\"boolean\" cannot fit field cf_count, which takes a number",
	"m.xml:17: field \"born\": type=\"boolean\" cannot fit field cf_birthday, which takes a date",
	"m.xml:19: field \"cnt\": type=\"number\" cannot fit field cf_consent (checkbox)",
	"m.xml:20: field \"day\": type=\"date\" cannot fit field cf_rank (number)",
	"m.xml:21: field \"topics\": multiple=\"true\" sends several values; field cf_employees "
	"(number) takes one",
	"m.xml:22: field \"sub\": value-when-checked \"Maybe\" does not fit field "
	"subscription_status, which takes one of the field's choices",
	"m.xml:24: trait \"First name\" and trait \"firstName\" (line 6) both reach field "
	"first_name: only one is sent",
	"m.xml:26: constant \"Score\": value \"lots\" does not fit field cf_score, which takes a "
	"number",
	"m.xml:42: field \"r2\": consent-record \"No such field\": no Freshmarketer field has this "
	"label (create a text field)",
	"m.xml:43: field \"r3\": consent-record \"Owner\" is the label of owner_id, which a record "
	"may not set",
	"m.xml:44: field \"r4\": consent-record \"Birthday\": field cf_birthday (date) is not a text "
	"field",
	"m.xml:50: trait \"Campaign\": its label is the id field campaign_id, set only through "
	"fm-field",
	"m.xml:51: trait \"partner\": its label is the id field cf_partner_id, set only through "
	"fm-field",
	"m.xml:53: field \"c5\": consent-record \"Partner\" is the label of cf_partner_id, which a "
	"record may not set",
};

static void test_forms(void)
{
	struct fm_fields *fields = NULL;
	struct mapping *m = NULL;
	struct map_diags d = { 0 };
	char *out = NULL, *line, *save = NULL;
	size_t len = 0, problems = 99, i = 0;
	FILE *f;

	T(fm_fields_parse(fields_json, strlen(fields_json), 0, &fields) == FMF_OK, "field list parses");
	T(mapping_load_buffer(mapping_xml, strlen(mapping_xml), "m.xml", &m, &d) == MAP_OK,
	  "mapping loads (%zu diags, first: %s)", d.n, d.n ? d.v[0].message : "-");
	if (!fields || !m)
		goto out;
	f = open_memstream(&out, &len);
	T(setup_check_forms(m, "m.xml", fields, f, &problems) == SETUP_OK, "check runs");
	fclose(f);
	T(problems == sizeof want / sizeof want[0], "problem count: %zu", problems);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		if (i < sizeof want / sizeof want[0])
			T_STREQ(line, want[i], "problem %zu, in line order", i);
		else
			T(0, "unexpected problem: %s", line);
	}
	T(i == sizeof want / sizeof want[0], "every problem printed (%zu)", i);
out:
	free(out);
	mapping_free(m);
	map_diags_free(&d);
	fm_fields_free(fields);
}

/* A field name from the API is printed with its control bytes escaped. */
static void test_escaped(void)
{
	static const char json[] =
		"{\"fields\":[{\"name\":\"cf_\\u001b[2J\",\"label\":\"Weird\",\"type\":\"checkbox\"}]}";
	static const char xml[] =
		"<fmgate><form id=\"a\"><redirect success=\"/ok\"/><user-id><from-email/></user-id>\n"
		"<field name=\"email\" trait=\"email\" type=\"email\"/>\n"
		"<field name=\"w\" trait=\"weird\" type=\"number\"/>\n"
		"</form></fmgate>\n";
	struct fm_fields *fields = NULL;
	struct mapping *m = NULL;
	char *out = NULL;
	size_t len = 0, problems = 0;
	FILE *f;

	T(fm_fields_parse(json, strlen(json), 0, &fields) == FMF_OK, "odd list parses");
	T(mapping_load_buffer(xml, strlen(xml), "e.xml", &m, NULL) == MAP_OK, "mapping loads");
	if (fields && m) {
		f = open_memstream(&out, &len);
		T(setup_check_forms(m, "e.xml", fields, f, &problems) == SETUP_OK && problems == 1,
		  "one problem");
		fclose(f);
		T_STREQ(out, "e.xml:3: field \"w\": type=\"number\" cannot fit field cf_\\x1b[2J "
		        "(checkbox)\n", "the escape byte is written as \\x1b");
	}
	free(out);
	mapping_free(m);
	fm_fields_free(fields);
}

static void key_mode(const char *path, mode_t mode, size_t want_n, const char *want_text)
{
	char *out = NULL;
	size_t len = 0, n;
	FILE *f;

	T(chmod(path, mode) == 0, "chmod %o", (unsigned)mode);
	f = open_memstream(&out, &len);
	n = setup_check_key_file(path, f);
	fclose(f);
	T(n == want_n, "mode %o: %zu problems, want %zu (%s)", (unsigned)mode, n, want_n, out);
	T(want_text ? strstr(out, want_text) != NULL : len == 0, "mode %o: says [%s]: [%s]",
	  (unsigned)mode, want_text ? want_text : "", out);
	free(out);
}

static void test_key_file(void)
{
	char dir[] = "/tmp/test_setup_check.XXXXXX", path[64], *out = NULL;
	size_t len = 0;
	FILE *f;

	if (!mkdtemp(dir)) {
		T(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/key", dir);
	f = fopen(path, "w");
	T(f && fputs("k\n", f) >= 0 && fclose(f) == 0, "key file written");
	key_mode(path, 0600, 0, NULL);
	key_mode(path, 0400, 0, NULL);
	key_mode(path, 0640, 1, "key: API key file: group or others may read or write it (chmod 600)");
	key_mode(path, 0604, 1, "group or others may read or write it");
	key_mode(path, 0620, 1, "group or others may read or write it");
	key_mode(path, 0602, 1, "group or others may read or write it");
	key_mode(path, 0666, 1, "group or others may read or write it");
	/* Another user's file: nobody's, when root runs the tests (they do). */
	if (geteuid() == 0) {
		T(chown(path, 65534, 65534) == 0, "chown to nobody");
		key_mode(path, 0600, 1, "key: API key file: belongs to a user other than root");
	}
	unlink(path);
	f = open_memstream(&out, &len);
	T(setup_check_key_file(path, f) == 1, "a missing key file is a problem");
	fclose(f);
	T(strstr(out, "key: API key file: cannot be opened") != NULL, "missing: %s", out);
	free(out);
	out = NULL;
	f = open_memstream(&out, &len);
	T(setup_check_key_file(dir, f) == 1, "a directory is a problem");
	fclose(f);
	T(strstr(out, "cannot be opened as a regular file") != NULL, "directory: %s", out);
	free(out);
	rmdir(dir);
}

/* A <captcha> whose secret file is private, set by test_timeouts. */
static char captcha[160];

/* setup_check_timeouts for these <settings>, form f with captcha when
 * with_captcha, and the further forms `more`: the warnings' count and text. */
static void timeouts(const char *settings, bool with_captcha, const char *more, size_t want_n,
                     const char *want_text)
{
	char xml[2048];
	struct mapping *m = NULL;
	char *out = NULL;
	size_t len = 0, n = 0;
	FILE *f;

	snprintf(xml, sizeof xml, "<fmgate><settings>%s</settings><form id=\"f\">"
	         "<redirect success=\"/t\"/><user-id><from-email/></user-id>"
	         "<field name=\"email\" trait=\"email\" type=\"email\"/>%s</form>%s</fmgate>",
	         settings, with_captcha ? captcha : "", more);
	T(mapping_load_buffer(xml, strlen(xml), "t.xml", &m, NULL) == MAP_OK, "%s: loads", settings);
	f = open_memstream(&out, &len);
	if (m && f)
		n = setup_check_timeouts(m, "t.xml", f);
	if (f)
		fclose(f);
	T(n == want_n, "%s%s: %zu warnings (got %zu: %s)", settings, with_captcha ? " captcha" : "",
	  want_n, n, out ? out : "");
	if (want_text)
		T(out && strstr(out, want_text), "%s: says \"%s\" (%s)", settings, want_text, out ? out : "");
	else
		T(out && !*out, "%s: prints nothing (%s)", settings, out ? out : "");
	free(out);
	mapping_free(m);
}

static void test_timeouts(void)
{
	char dir[] = "/tmp/test_setup_check.XXXXXX", secret[64], g[512];
	const char *edge = "<delivery timeout-ms=\"30000\"/><limits read-timeout-ms=\"5001\"/>";

	if (!mkdtemp(dir)) {
		T(0, "mkdtemp");
		return;
	}
	snprintf(secret, sizeof secret, "%s/secret", dir);
	T(t_write(secret, "captcha-secret\n", 0600), "secret file");
	snprintf(captcha, sizeof captcha, "<captcha provider=\"turnstile\" secret-file=\"%s\"/>",
	         secret);
	timeouts("", false, "", 0, NULL);
	timeouts("", true, "", 0, NULL);
	/* 5 + 30 + 5 s (a CAPTCHA's) is mod_fcgid's 40 s exactly: Apache still answers in time. */
	timeouts("<delivery timeout-ms=\"30000\"/><limits read-timeout-ms=\"5000\"/>", true, "", 0,
	         NULL);
	/* A millisecond more: too long with a <captcha>, not without one. */
	timeouts(edge, true, "", 1,
	         "t.xml: warning: a post may take 40001 ms (read-timeout-ms 5001 + timeout-ms 30000 + 5000 "
	         "for the CAPTCHA check of form f), longer than Apache waits by default (mod_fcgid's "
	         "FcgidIOTimeout 40 s; the shipped apache-conf/fmgate.conf sets 370 s): raise it "
	         "(docs/deploy.md, Timeouts)\n");
	timeouts(edge, false, "", 0, NULL);
	/* Without one, 5 + 35 s is the edge. */
	timeouts("<delivery timeout-ms=\"35000\"/><limits read-timeout-ms=\"5000\"/>", false, "", 0,
	         NULL);
	timeouts("<delivery timeout-ms=\"35000\"/><limits read-timeout-ms=\"5001\"/>", false, "", 1,
	         "t.xml: warning: a post may take 40001 ms (read-timeout-ms 5001 + timeout-ms 35000), "
	         "longer than Apache waits by default");
	/* Any form's <captcha> counts, and is named. */
	snprintf(g, sizeof g, "<form id=\"g\"><redirect success=\"/t\"/><user-id><from-email/>"
	         "</user-id><field name=\"email\" trait=\"email\" type=\"email\"/>%s</form>", captcha);
	timeouts(edge, false, g, 1, "+ 5000 for the CAPTCHA check of form g), longer than Apache");
	/* 5 + 50 + 5 s is nginx's 60 s exactly: it still answers in time. */
	timeouts("<delivery timeout-ms=\"50000\"/><limits read-timeout-ms=\"5000\"/>", true, "", 1,
	         "longer than Apache");
	timeouts("<delivery timeout-ms=\"50000\"/><limits read-timeout-ms=\"5001\"/>", true, "", 2,
	         "t.xml: warning: a post may take 60001 ms (read-timeout-ms 5001 + timeout-ms 50000 + 5000 "
	         "for the CAPTCHA check of form f), longer than nginx waits by default "
	         "(fastcgi_read_timeout 60 s; the shipped nginx-conf/fmgate.conf sets 370 s): raise it "
	         "(docs/deploy.md, Timeouts)\n");
	timeouts("<delivery timeout-ms=\"50000\"/><limits read-timeout-ms=\"5001\"/>", false, "", 1,
	         "longer than Apache");
	/* 300 + 60 s is lighttpd's 360 s exactly; a CAPTCHA's 5 s pass it. */
	timeouts("<delivery timeout-ms=\"60000\"/><limits read-timeout-ms=\"300000\"/>", false, "", 2,
	         "longer than nginx");
	timeouts("<delivery timeout-ms=\"60000\"/><limits read-timeout-ms=\"300000\"/>", true, "", 3,
	         "longer than lighttpd waits by default (server.max-write-idle 360 s; the shipped "
	         "lighttpd-conf/fmgate.conf sets 370 s)");
	/* async answers once the post is spooled: timeout-ms is not waited for. */
	timeouts("<delivery mode=\"async\" timeout-ms=\"60000\"/>", true, "", 0, NULL);
	timeouts("<delivery mode=\"async\" timeout-ms=\"60000\"/><limits read-timeout-ms=\"56000\"/>",
	         true, "", 2, "61000 ms (read-timeout-ms 56000 + 5000 for the CAPTCHA check of form f), "
	         "longer than nginx");
	timeouts("<delivery mode=\"async\" timeout-ms=\"60000\"/><limits read-timeout-ms=\"56000\"/>",
	         false, "", 1, "56000 ms (read-timeout-ms 56000), longer than Apache");
	unlink(secret);
	rmdir(dir);
}

/* setup_check_env for `s`: the warnings' count, and their text (NULL: not
 * checked, but for none when want_n is 0). */
static void env_warnings(const struct map_settings *s, size_t want_n, const char *want_text,
                         const char *what)
{
	char *out = NULL;
	size_t len = 0, n = 0;
	FILE *f = open_memstream(&out, &len);

	if (f) {
		n = setup_check_env(s, "t.xml", f);
		fclose(f);
	}
	T(n == want_n, "%s: %zu warnings (got %zu: %s)", what, want_n, n, out ? out : "");
	if (want_text)
		T(out && strcmp(out, want_text) == 0, "%s: says [%s] (got [%s])", what, want_text,
		  out ? out : "");
	else if (!want_n)
		T(out && !*out, "%s: prints nothing (%s)", what, out ? out : "");
	free(out);
}

/* FMGATE_SPOOL and FM_API_KEY_FILE name the mapping's paths but for repeated
 * and trailing slashes: no warning; any other difference: one. */
static void test_env_paths(void)
{
	static const struct { char *env, *map; size_t warn; } t[] = {
		{ "/x/sp/", "/x/sp", 0 }, { "/x/sp", "/x/sp//", 0 }, { "//x///sp", "/x/sp", 0 },
		{ "/", "//", 0 }, { "sp/", "sp", 0 }, { "/x/sp", "/x/sp", 0 },
		{ "/x/sp", "/x/spool", 1 }, { "/x/sp", "/x", 1 }, { "/x/sp", "/X/sp", 1 },
		{ "/x/sp", "x/sp", 1 }, { "/x/./sp", "/x/sp", 1 }, { "/", "/x", 1 },
	};
	struct map_settings s = {0};
	char what[128];

	/* Each pair both ways: the variable's value in the mapping and back. */
	for (size_t i = 0; i < 2 * sizeof t / sizeof *t; i++) {
		char *env = i % 2 ? t[i / 2].map : t[i / 2].env;
		char *map = i % 2 ? t[i / 2].env : t[i / 2].map;

		s.spool_dir = map;
		s.fm_api_key_file = map;
		setenv("FMGATE_SPOOL", env, 1);
		setenv("FM_API_KEY_FILE", env, 1);
		snprintf(what, sizeof what, "[%s] against the mapping's [%s]", env, map);
		env_warnings(&s, 2 * t[i / 2].warn, NULL, what);
	}
	unsetenv("FMGATE_SPOOL");
	unsetenv("FM_API_KEY_FILE");
}

/* FM_DOMAIN and FM_API_BASE making the mapping's API base, written
 * otherwise: no warning; another host, path or case: one (the shared state is
 * keyed by the base as written). */
static void test_env_bases(void)
{
	static const struct { const char *var, *val; char *domain, *base; size_t warn; } t[] = {
		{ "FM_DOMAIN", "acme.myfreshworks.com", "acme", NULL, 0 },
		{ "FM_DOMAIN", "ACME", "acme", NULL, 1 },
		{ "FM_DOMAIN", "Acme.MyFreshworks.com", "acme", NULL, 1 },
		{ "FM_DOMAIN", "acme2", "acme", NULL, 1 },
		{ "FM_API_BASE", "https://crm.example.com/Crm/Api/", NULL, "https://crm.example.com/Crm/Api", 0 },
		{ "FM_API_BASE", "HTTPS://CRM.Example.COM/Crm/Api/", NULL, "https://crm.example.com/Crm/Api", 1 },
		{ "FM_API_BASE", "https://crm.example.com/crm/api", NULL, "https://crm.example.com/Crm/Api", 1 },
		{ "FM_API_BASE", "https://crm2.example.com/Crm/Api", NULL, "https://crm.example.com/Crm/Api", 1 },
	};
	struct map_settings s = {0};
	char what[160];

	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		s.fm_domain = t[i].domain;
		s.fm_api_base = t[i].base;
		setenv(t[i].var, t[i].val, 1);
		snprintf(what, sizeof what, "%s=%s against the mapping's %s", t[i].var, t[i].val,
		         t[i].domain ? t[i].domain : t[i].base);
		env_warnings(&s, t[i].warn, NULL, what);
		unsetenv(t[i].var);
	}
}

static void test_env(void)
{
	struct map_settings s = {0};

	unsetenv("FM_API_BASE");
	unsetenv("FM_API_KEY");
	unsetenv("FM_API_KEY_FILE");
	unsetenv("FMGATE_SPOOL");
	setenv("FM_DOMAIN", "acme", 1);
	env_warnings(&s, 1, "t.xml: warning: FM_DOMAIN is set only in this environment: a process "
	             "without it (the web server's workers or fmgate drain) does not see it; set "
	             "<freshmarketer domain> in the mapping's <settings> instead (docs/deploy.md, "
	             "One place for settings)\n", "FM_DOMAIN alone");
	s.fm_domain = "acme";
	env_warnings(&s, 0, NULL, "FM_DOMAIN as the mapping's domain");
	s.fm_domain = "other";
	env_warnings(&s, 1, "t.xml: warning: FM_DOMAIN in this environment overrides the mapping's "
	             "<freshmarketer domain>: a process without it (the web server's workers or "
	             "fmgate drain) uses the mapping's; keep the setting in the mapping alone "
	             "(docs/deploy.md, One place for settings)\n", "FM_DOMAIN over another");
	unsetenv("FM_DOMAIN");
	env_warnings(&s, 0, NULL, "no variable");
	setenv("FM_API_KEY", "SECRET-KEY-1", 1);
	setenv("FMGATE_SPOOL", "/srv/spool", 1);
	{
		char *out = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);

		T(f && setup_check_env(&s, "t.xml", f) == 2, "the key and the spool: two warnings");
		if (f)
			fclose(f);
		T(out && strstr(out, "FM_API_KEY is set only") && strstr(out, "FMGATE_SPOOL is set only") &&
		  strstr(out, "<spool dir>") && !strstr(out, "SECRET-KEY-1"),
		  "the key and the spool: named, the key never printed (%s)", out ? out : "");
		free(out);
	}
	unsetenv("FM_API_KEY");
	unsetenv("FMGATE_SPOOL");
	test_env_bases();
	test_env_paths();
}

int main(void)
{
	test_forms();
	test_escaped();
	test_key_file();
	test_timeouts();
	test_env();
	T_DONE();
}
