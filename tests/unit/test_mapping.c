/*
 * test_mapping.c: the mapping file (docs/mapping.md): the example loads with every
 * value in place, each sample in tests/data/mappings fails or passes as its
 * inline "<!-- expect: TEXT -->" comments say (a diag holding TEXT on that
 * line, and no diag on a line without one), DTDs are refused before any
 * entity is read, size caps hold, and a holder follows its file.
 * Run from the top of the repository.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mapping.h"
#include "t.h"
#include "tfiles.h"

#define DATA_DIR "tests/data/mappings"
#define EXAMPLE  "docs/forms.example.xml"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (!f)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool diags_have(const struct map_diags *d, int line, const char *text)
{
	for (size_t i = 0; i < d->n; i++)
		if ((line < 0 || d->v[i].line == line) && strstr(d->v[i].message, text))
			return true;
	return false;
}

static void dump_diags(const char *name, const struct map_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		printf("  %s:%d: %s\n", name, d->v[i].line, d->v[i].message);
}

/* ---- the data-driven samples ---- */

struct expect {
	int line;
	char text[200];
};

#define MAX_EXPECT 64

/* Collects the "<!-- expect: TEXT -->" comments of a sample, with their lines. */
static size_t read_expectations(const char *buf, struct expect *ex)
{
	static const char tag[] = "<!-- expect: ";
	size_t n = 0;
	int line = 1;

	for (const char *p = buf; *p; p++) {
		if (*p == '\n') {
			line++;
		} else if (strncmp(p, tag, sizeof tag - 1) == 0 && n < MAX_EXPECT) {
			const char *s = p + sizeof tag - 1, *e = strstr(s, " -->");

			if (!e)
				break;
			ex[n].line = line;
			snprintf(ex[n].text, sizeof ex[n].text, "%.*s", (int)(e - s), s);
			n++;
			p = e;
		}
	}
	return n;
}

static void check_sample(const char *name)
{
	char path[512];
	struct expect ex[MAX_EXPECT];
	struct map_diags d = { 0 };
	struct mapping *m = (struct mapping *)1;
	size_t len = 0, nex;
	char *buf;
	enum map_err e;
	bool ok_sample = strncmp(name, "ok_", 3) == 0;
	int failed_before = t_failed;

	snprintf(path, sizeof path, "%s/%s", DATA_DIR, name);
	buf = slurp(path, &len);
	T(buf != NULL, "%s: readable", name);
	if (!buf)
		return;
	nex = read_expectations(buf, ex);
	free(buf);
	e = mapping_load(path, &m, &d);
	if (ok_sample) {
		T(e == MAP_OK && m != NULL, "%s loads (got %s)", name, map_strerror(e));
		T(d.n == 0, "%s: no diags (got %zu)", name, d.n);
	} else {
		T(e == MAP_EINVALID, "%s refused as invalid (got %s)", name, map_strerror(e));
		T(m == NULL, "%s: no mapping on failure", name);
		T(nex > 0, "%s has expectations", name);
		for (size_t i = 0; i < nex; i++)
			T(diags_have(&d, ex[i].line, ex[i].text), "%s:%d: expected a diag holding \"%s\"",
			  name, ex[i].line, ex[i].text);
		for (size_t i = 0; i < d.n; i++) {
			bool expected = false;

			for (size_t j = 0; j < nex; j++)
				expected = expected || ex[j].line == d.v[i].line;
			T(expected, "%s:%d: unexpected diag \"%s\"", name, d.v[i].line, d.v[i].message);
		}
	}
	if (t_failed > failed_before)
		dump_diags(name, &d);
	mapping_free(m);
	map_diags_free(&d);
}

static void test_samples(void)
{
	DIR *dir = opendir(DATA_DIR);
	struct dirent *de;
	int n_ok = 0, n_bad = 0;

	T(dir != NULL, "%s exists (run from the top of the repository)", DATA_DIR);
	if (!dir)
		return;
	while ((de = readdir(dir)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0)
			continue;
		if (strncmp(de->d_name, "ok_", 3) == 0)
			n_ok++;
		else if (strncmp(de->d_name, "bad_", 4) == 0)
			n_bad++;
		else
			continue;
		check_sample(de->d_name);
	}
	closedir(dir);
	T(n_ok >= 2 && n_bad >= 25, "samples found: %d ok, %d bad", n_ok, n_bad);
}

/* ---- the example, value by value ---- */

static void test_example(void)
{
	struct map_diags d = { 0 };
	struct mapping *m = NULL;
	const struct map_form *f;
	const struct map_field *fd;
	const struct map_settings *s;

	T(mapping_load(EXAMPLE, &m, &d) == MAP_OK, "example loads");
	T(d.n == 0, "example: no diags");
	dump_diags(EXAMPLE, &d);   /* prints only when there are some */
	map_diags_free(&d);
	if (!m)
		return;
	T_STREQ(m->path, EXAMPLE, "path kept");
	s = &m->settings;
	T_STREQ(s->fm_domain, "acme", "domain");
	T_STREQ(s->fm_api_key_file, "/etc/fmgate/api-key", "api-key-file");
	T_STREQ(s->fm_api_base, "https://acme.myfreshworks.com/crm/sales/api", "api-base");
	T(s->fm_fields_max_age == 3600, "fields-max-age %u", s->fm_fields_max_age);
	T_STREQ(s->spool_dir, "/var/spool/fmgate", "spool dir");
	T(s->spool_max_files == 100000, "max-files %zu", s->spool_max_files);
	T(s->spool_max_age_days == 14, "max-age-days %u", s->spool_max_age_days);
	T(s->delivery_mode == MAP_DELIVERY_SYNC, "mode sync");
	T(s->timeout_ms == 3000, "timeout %u", s->timeout_ms);
	T(s->limits.max_body == 65536 && s->limits.max_fields == 100 && s->limits.max_value == 4000,
	  "limits %zu %zu %zu", s->limits.max_body, s->limits.max_fields, s->limits.max_value);
	T(s->read_timeout_ms == 10000, "read-timeout-ms %u", s->read_timeout_ms);
	T(s->rate.per_ip == 5 && s->rate.per_form == 500 && s->rate.window_s == 3600, "rate-limit");
	T(s->n_trusted_proxies == 2, "two trusted proxies");
	if (s->n_trusted_proxies == 2) {
		T_STREQ(s->trusted_proxies[0].text, "127.0.0.1", "proxy 1");
		T_STREQ(s->trusted_proxies[1].text, "::1", "proxy 2");
	}

	T(m->n_forms == 2, "two forms");
	f = mapping_form(m, "contact");
	T(f != NULL && f == &m->forms[0], "contact found");
	T(mapping_form(m, "Contact") == NULL && mapping_form(m, "") == NULL &&
	  mapping_form(m, NULL) == NULL && mapping_form(NULL, "contact") == NULL, "unknown ids");
	if (!f)
		goto out;
	T(f->line == 29, "form line %d", f->line);
	T_STREQ(f->success_url, "/thanks.html", "success");
	T_STREQ(f->failure_url, "/contact.html", "failure");
	T(f->n_allow_origins == 2, "origins");
	if (f->n_allow_origins == 2) {
		T_STREQ(f->allow_origins[0], "https://www.example.com", "origin 1");
		T_STREQ(f->allow_origins[1], "https://*.example.com", "origin 2");
	}
	T_STREQ(f->honeypot, "website", "honeypot");
	T(f->rate.per_ip == 3 && f->rate.per_form == 0 && f->rate.window_s == 600, "form's rate-limit");
	T(f->n_user_id == 3, "three user-id sources");
	if (f->n_user_id == 3) {
		T(f->user_id[0].kind == MAP_SRC_FIELD, "uid 1 kind");
		T_STREQ(f->user_id[0].name, "uid", "uid 1 name");
		T(f->user_id[1].kind == MAP_SRC_COOKIE, "uid 2 kind");
		T_STREQ(f->user_id[1].name, "ajs_user_id", "uid 2 name");
		T(f->user_id[2].kind == MAP_SRC_EMAIL && f->user_id[2].name == NULL, "uid 3 email");
	}
	T(f->n_anonymous_id == 2, "two anonymous-id sources");
	if (f->n_anonymous_id == 2) {
		T(f->anonymous_id[0].kind == MAP_SRC_COOKIE, "anon 1 kind");
		T_STREQ(f->anonymous_id[0].name, "ajs_anonymous_id", "anon 1 name");
		T(f->anonymous_id[1].kind == MAP_SRC_FIELD, "anon 2 kind");
		T_STREQ(f->anonymous_id[1].name, "anonymous_id", "anon 2 name");
	}
	T(f->n_fields == 12, "twelve fields (%zu)", f->n_fields);
	fd = map_form_field(f, "email");
	T(fd && fd == &f->fields[0], "email field first");
	if (fd) {
		T_STREQ(fd->trait, "email", "email trait");
		T(fd->type == MAP_EMAIL && fd->required && !fd->multiple && fd->max_length == 0 &&
		  fd->fm_field == NULL, "email attributes");
		T(fd->line == 52, "email line %d", fd->line);
	}
	fd = map_form_field(f, "first");
	T(fd && fd->type == MAP_TEXT && !fd->required && fd->max_length == 100, "first");
	fd = map_form_field(f, "phone");
	T(fd && fd->type == MAP_PHONE, "phone type");
	fd = map_form_field(f, "city");
	T(fd && strcmp(fd->trait, "address.city") == 0, "nested trait");
	fd = map_form_field(f, "born");
	T(fd && fd->type == MAP_DATE, "date type");
	fd = map_form_field(f, "optin");
	T(fd && fd->type == MAP_BOOLEAN && strcmp(fd->trait, "Newsletter") == 0, "boolean type");
	fd = map_form_field(f, "topics");
	T(fd && fd->multiple && fd->type == MAP_TEXT, "multiple");
	fd = map_form_field(f, "size");
	T(fd && fd->type == MAP_NUMBER && fd->fm_field && strcmp(fd->fm_field, "cf_employees") == 0,
	  "number with fm-field");
	fd = map_form_field(f, "note");
	T(fd && fd->type == MAP_TEXT && !fd->required && !fd->multiple, "explicit false");
	T(map_form_field(f, "website") == NULL && map_form_field(f, "Email") == NULL &&
	  map_form_field(f, NULL) == NULL && map_form_field(NULL, "email") == NULL, "unmapped names");
	T(f->n_constants == 2, "two constants");
	if (f->n_constants == 2) {
		T_STREQ(f->constants[0].trait, "Signup Source", "constant 1 trait");
		T_STREQ(f->constants[0].value, "Website form", "constant 1 value");
		T(f->constants[0].fm_field == NULL, "constant 1 no fm-field");
		T_STREQ(f->constants[1].fm_field, "cf_lead_channel", "constant 2 fm-field");
	}
	T(f->account_field && f->account_field == map_form_field(f, "company"), "account: company");
	T(f->n_lists == 3, "three lists (%zu)", f->n_lists);
	if (f->n_lists == 3) {
		T_STREQ(f->lists[0].name, "Website contacts", "list 1");
		T(!f->lists[0].if_field && !f->lists[0].create, "list 1 always, not created");
		T_STREQ(f->lists[1].name, "Newsletter", "list 2");
		T(f->lists[1].if_field == map_form_field(f, "optin") && !f->lists[1].create,
		  "list 2 if optin");
		T(f->lists[2].create && !f->lists[2].if_field, "list 3 created");
	}
	T(f->note_field == map_form_field(f, "note"), "note: the note field");
	T_STREQ(f->note_title, "Contact form message", "note title");

	f = mapping_form(m, "newsletter");
	T(f != NULL, "newsletter found");
	if (f) {
		T_STREQ(f->success_url, "https://www.example.com/subscribed.html", "absolute success");
		T(f->failure_url == NULL && f->n_allow_origins == 0 && f->honeypot == NULL &&
		  f->n_anonymous_id == 0, "optional parts absent");
		T(f->n_user_id == 1 && f->user_id[0].kind == MAP_SRC_EMAIL, "from-email only");
		T(f->n_fields == 2 && f->n_constants == 1, "two fields, one constant");
		fd = map_form_field(f, "consent");
		T(fd && fd->type == MAP_BOOLEAN && fd->consent &&
		  strncmp(fd->consent, "Yes, send me", 12) == 0 &&
		  fd->value_when_checked && strcmp(fd->value_when_checked, "Subscribed") == 0 &&
		  fd->fm_field && strcmp(fd->fm_field, "subscription_status") == 0, "consent box");
		fd = map_form_field(f, "email");
		T(fd && !fd->consent && !fd->value_when_checked, "no consent by default");
		T(!f->account_field && !f->lists && f->n_lists == 0 && !f->note_field &&
		  !f->note_title, "no steps after the contact");
	}
out:
	mapping_free(m);
}

/* Defaults, any order, trimming. */
static void test_defaults_and_order(void)
{
	struct mapping *m = NULL;
	const struct map_form *f;

	T(mapping_load(DATA_DIR "/ok_minimal.xml", &m, NULL) == MAP_OK, "minimal loads");
	if (m) {
		const struct map_settings *s = &m->settings;

		T(s->fm_domain == NULL && s->fm_api_base == NULL && s->fm_api_key_file == NULL &&
		  s->spool_dir == NULL && s->spool_max_files == 0 && s->spool_max_age_days == 0 &&
		  s->n_trusted_proxies == 0, "settings absent");
		T(s->delivery_mode == MAP_DELIVERY_SYNC && s->timeout_ms == LIMIT_DEFAULT_TIMEOUT_MS,
		  "delivery defaults");
		T(s->limits.max_body == LIMIT_DEFAULT_MAX_BODY &&
		  s->limits.max_fields == LIMIT_DEFAULT_MAX_FIELDS &&
		  s->limits.max_value == LIMIT_DEFAULT_MAX_VALUE, "limit defaults");
		f = mapping_form(m, "min");
		T(f && f->n_fields == 1 && f->n_constants == 0 && f->failure_url == NULL,
		  "minimal form");
		T(s->read_timeout_ms == LIMIT_DEFAULT_READ_TIMEOUT_MS, "read timeout default");
		T(f && f->rate.per_ip == MAP_DEFAULT_PER_IP && f->rate.per_form == MAP_DEFAULT_PER_FORM &&
		  f->rate.window_s == MAP_DEFAULT_WINDOW, "the default rate limit without any <rate-limit>");
	}
	mapping_free(m);

	m = NULL;
	T(mapping_load(DATA_DIR "/ok_any_order.xml", &m, NULL) == MAP_OK, "any order loads");
	if (!m)
		return;
	T(m->settings.delivery_mode == MAP_DELIVERY_ASYNC, "async");
	T(m->settings.limits.max_value == 20000 && m->settings.limits.max_body == LIMIT_DEFAULT_MAX_BODY,
	  "partial limits");
	T(m->settings.n_trusted_proxies == 2 && strcmp(m->settings.trusted_proxies[0].text, "10.0.0.1") == 0 &&
	  strcmp(m->settings.trusted_proxies[1].text, "2001:db8::1") == 0, "proxy text trimmed");
	f = mapping_form(m, "B_2-x");
	T(f != NULL, "form id with _ and -");
	if (f) {
		T(f->n_allow_origins == 1 && strcmp(f->allow_origins[0], "HTTP://Example.COM:8080") == 0,
		  "origin trimmed, as written");
		T_STREQ(f->success_url, "/", "root path");
		T_STREQ(f->failure_url, "http://127.0.0.1:8080/back?x=1&y=2#top", "failure with query");
		T(f->n_fields == 4 && map_form_field(f, "first")->max_length == 20000,
		  "max-length checked against a later <limits>");
		T(map_form_field(f, "email") && map_form_field(f, "email")->type == MAP_EMAIL &&
		  map_form_field(f, "email")->required, "keywords with spaces");
		T(f->n_user_id == 2 && f->user_id[0].kind == MAP_SRC_COOKIE &&
		  f->user_id[1].kind == MAP_SRC_FIELD, "source order kept");
		T(f->n_constants == 1 && strcmp(f->constants[0].value, "ACME & Co") == 0, "entity in value");
	}
	mapping_free(m);
}

/* <account>, <list>, <note>: in any place among the fields, pointing at the
 * form's own fields, lists in the file's order. */
static void test_steps(void)
{
	struct mapping *m = NULL;
	const struct map_form *f;
	const struct map_list *l;

	T(mapping_load(DATA_DIR "/ok_steps.xml", &m, NULL) == MAP_OK, "steps load");
	if (!m)
		return;
	f = mapping_form(m, "webinar");
	T(f && f->n_fields == 4, "webinar: four fields");
	if (f && f->n_fields == 4) {
		T(f->account_field == &f->fields[1], "account: the company field");
		T_STREQ(f->account_field->name, "company", "account field name");
		T(f->note_field == &f->fields[3] && f->note_field->line == 10, "note: the message field");
		T_STREQ(f->note_title, "Demo request", "note title");
		T(f->n_lists == 3, "three lists (%zu)", f->n_lists);
	}
	if (f && f->n_lists == 3) {
		l = &f->lists[0];
		T_STREQ(l->name, "Webinar December", "list 1 name");
		T(!l->if_field && !l->create && l->line == 8, "list 1: always, not created, line 8");
		l = &f->lists[1];
		T_STREQ(l->name, "Newsletter", "list 2 name");
		T(l->if_field == &f->fields[2] && l->if_field->type == MAP_BOOLEAN && !l->create &&
		  l->line == 11, "list 2: if optin, create=\" false \" is false, line 11");
		l = &f->lists[2];
		T_STREQ(l->name, "Webinar archive", "list 3 name");
		T(!l->if_field && l->create && l->line == 13, "list 3: created, line 13");
	}
	f = mapping_form(m, "plain");
	T(f && !f->account_field && f->note_field == map_form_field(f, "email"), "plain: note only");
	T(f && f->note_title && strlen(f->note_title) == MAP_MAX_NOTE_TITLE, "a title at the cap");
	T(f && f->n_lists == 1 && strlen(f->lists[0].name) == MAP_MAX_LIST_NAME, "a name at the cap");
	mapping_free(m);
}

/* The destinations with their secrets read at load, the context flag, and
 * secret files that must be refused. */
static void test_dests(void)
{
	char dir[] = "/tmp/fmgate-mapdests-XXXXXX", pw[64], wk[64], hook[64], text[4096];
	struct map_diags d = { 0 };
	struct mapping *m = NULL;
	const struct map_form *f;
#define DESTS_FMT \
		"<fmgate><settings>\n" \
		"<smtp url=\"smtps://mail.example.com:465\" user=\"forms@example.com\" " \
		"password-file=\"%s\" from=\"Website &lt;forms@example.com&gt;\"/>\n" \
		"<segment write-key-file=\"%s\" endpoint=\"http://127.0.0.1:9/v1/\"/>\n" \
		"<context ip=\"true\"/></settings>\n" \
		"<form id=\"a\"><redirect success=\"/\"/><user-id><from-email/></user-id>\n" \
		"<field name=\"email\" trait=\"email\" type=\"email\"/>\n" \
		"<notify to=\" sales@example.com ,boss@example.com\" subject=\"From {email}\" " \
		"reply-to-visitor=\"true\"/>\n" \
		"<webhook name=\"sheet-2\" url=\"https://hooks.example.com/x\" secret-file=\"%s\"/>\n" \
		"<forward to=\"segment\"/></form>\n" \
		"<form id=\"b\"><redirect success=\"/\"/><user-id><from-email/></user-id>\n" \
		"<field name=\"email\" trait=\"email\" type=\"email\"/><context ip=\"false\"/></form>\n" \
		"</fmgate>\n"

	T(mkdtemp(dir) != NULL, "temp dir");
	snprintf(pw, sizeof pw, "%s/pw", dir);
	snprintf(wk, sizeof wk, "%s/wk", dir);
	snprintf(hook, sizeof hook, "%s/hook", dir);
	T(t_write(pw, "p4ss\n", 0600) && t_write(wk, "wk_123 \n", 0400) &&
	  t_write(hook, "0123456789abcdef-hook\n", 0600), "secret files");
	snprintf(text, sizeof text, DESTS_FMT, pw, wk, hook);
	T(mapping_load_buffer(text, strlen(text), "dests", &m, &d) == MAP_OK, "dests load");
	if (d.n)
		dump_diags("dests", &d);
	map_diags_free(&d);
	if (!m)
		goto out;
	T_STREQ(m->settings.smtp.url, "smtps://mail.example.com:465", "smtp url");
	T_STREQ(m->settings.smtp.from_addr, "forms@example.com", "smtp from address");
	T(m->settings.smtp.password.len == 4 && strcmp(m->settings.smtp.password.bytes, "p4ss") == 0,
	  "smtp password read, trailing newline cut");
	T_STREQ(m->settings.segment.endpoint, "http://127.0.0.1:9/v1", "endpoint without its slash");
	T(strcmp(m->settings.segment.write_key.bytes, "wk_123") == 0, "write key read");
	f = mapping_form(m, "a");
	T(f && f->context_ip, "a: context ip from the settings");
	T(f && f->n_dests == 3, "a: three destinations");
	if (f && f->n_dests == 3) {
		const struct map_dest *n = &f->dests[0], *w = &f->dests[1], *g = &f->dests[2];

		T(n->kind == MAP_DEST_NOTIFY && strcmp(n->name, "notify") == 0 && n->n_to == 2 &&
		  strcmp(n->to[0], "sales@example.com") == 0 && strcmp(n->to[1], "boss@example.com") == 0 &&
		  n->reply_to_visitor && strcmp(n->subject, "From {email}") == 0, "notify as written");
		T(w->kind == MAP_DEST_WEBHOOK && strcmp(w->name, "sheet-2") == 0 &&
		  strcmp(w->secret.bytes, "0123456789abcdef-hook") == 0, "webhook with its secret");
		T(g->kind == MAP_DEST_FORWARD && strcmp(g->name, "forward") == 0, "forward");
		T(map_form_dest(f, "sheet-2") == w && !map_form_dest(f, "nope"), "found by name");
	}
	f = mapping_form(m, "b");
	T(f && !f->context_ip && f->n_dests == 0, "b: its own context ip=false");
	mapping_free(m);
	m = NULL;

	/* Secrets others may read, or too short, are refused. */
	T(chmod(pw, 0640) == 0, "chmod");
	T(mapping_load_buffer(text, strlen(text), "dests", &m, &d) == MAP_EINVALID &&
	  diags_have(&d, 2, "group or others may read or write it"), "a password others may read");
	map_diags_free(&d);
	T(chmod(pw, 0600) == 0 && t_write(hook, "short\n", 0600), "a short webhook secret");
	T(mapping_load_buffer(text, strlen(text), "dests", &m, &d) == MAP_EINVALID &&
	  diags_have(&d, 8, "at least 16 bytes"), "a webhook secret under 16 bytes");
	map_diags_free(&d);
	T(t_write(pw, " \n", 0600), "an empty password");
	T(mapping_load_buffer(text, strlen(text), "dests", &m, &d) == MAP_EINVALID &&
	  diags_have(&d, 2, "empty"), "an empty password refused");
	map_diags_free(&d);
	/* No <context>: no ip. */
	{
		const char *plain = "<fmgate><form id=\"a\"><redirect success=\"/\"/><user-id>"
		                    "<from-email/></user-id><field name=\"email\" trait=\"email\" "
		                    "type=\"email\"/></form></fmgate>";

		T(mapping_load_buffer(plain, strlen(plain), "plain", &m, NULL) == MAP_OK && m &&
		  !m->forms[0].context_ip, "context ip is off by default");
		mapping_free(m);
	}
out:
	T(t_remove_tree(dir), "temp dir removed");
}

/* A form whose <captcha provider="turnstile"> has these further attributes:
 * whether it loads, and whether a diag on its line says want. */
static bool captcha_with(const char *secret, const char *attrs, bool want_ok, const char *want)
{
	char *text = NULL;
	struct map_diags d = { 0 };
	struct mapping *m = NULL;
	bool ok;

	if (asprintf(&text, "<fmgate><form id=\"a\"><redirect success=\"/\"/>"
	             "<user-id><from-email/></user-id>\n<field name=\"email\" trait=\"email\" "
	             "type=\"email\"/>\n<captcha provider=\"turnstile\" secret-file=\"%s\" %s/>"
	             "</form></fmgate>\n", secret, attrs) < 0)
		return false;
	ok = (mapping_load_buffer(text, strlen(text), "limits", &m, &d) == MAP_OK) == want_ok &&
	     (want ? diags_have(&d, 3, want) : d.n == 0);
	if (!ok)
		dump_diags("limits", &d);
	map_diags_free(&d);
	mapping_free(m);
	free(text);
	return ok;
}

/* <captcha hostname> and action at and past their limits. */
static void captcha_limits(const char *secret)
{
	char names[MAP_MAX_CAPTCHA_HOSTS * 8 + 64], big[MAP_MAX_CAPTCHA_HOSTS * 300], label[300];
	size_t n = 0;

	for (unsigned i = 0; i < MAP_MAX_CAPTCHA_HOSTS; i++)
		n += (size_t)snprintf(names + n, sizeof names - n, "%sh%u.ex", i ? " " : "", i);
	snprintf(big, sizeof big, "hostname=\"%s\"", names);
	T(captcha_with(secret, big, true, NULL), "%u host names load", MAP_MAX_CAPTCHA_HOSTS);
	snprintf(big, sizeof big, "hostname=\"%s x.ex\"", names);
	T(captcha_with(secret, big, false, "hostname must be 1 to 16 host names"), "one more: refused");
	memset(label, 'a', MAP_MAX_HOSTNAME);
	label[MAP_MAX_HOSTNAME] = '\0';
	snprintf(big, sizeof big, "hostname=\"%s\"", label);
	T(captcha_with(secret, big, true, NULL), "a host name of %u bytes loads", MAP_MAX_HOSTNAME);
	snprintf(big, sizeof big, "hostname=\"%sa\"", label);
	T(captcha_with(secret, big, false, "at most 253 bytes each"), "one byte more: refused");
	/* the whole attribute past every name's room: refused before its copy */
	memset(big, ' ', sizeof big);
	memcpy(big, "hostname=\"x", 11);
	memcpy(big + sizeof big - 2, "\"", 2);
	T(captcha_with(secret, big, false, "captcha: hostname is longer than 4064 bytes"),
	  "a hostname attribute longer than %u bytes",
	  MAP_MAX_CAPTCHA_HOSTS * (MAP_MAX_HOSTNAME + 1));
	memset(label, 'a', MAP_MAX_CAPTCHA_ACTION);
	label[MAP_MAX_CAPTCHA_ACTION] = '\0';
	snprintf(big, sizeof big, "action=\"%s\"", label);
	T(captcha_with(secret, big, true, NULL), "an action of %u bytes loads", MAP_MAX_CAPTCHA_ACTION);
	snprintf(big, sizeof big, "action=\"%sa\"", label);
	T(captcha_with(secret, big, false, "captcha: action is longer than 100 bytes"),
	  "one byte more: refused");
	T(captcha_with(secret, "action=\"a b\"", false, "action must be letters"), "a space in action");
	T(captcha_with(secret, "hostname=\"a.ex,b.ex\"", false, "hostname must be"), "a comma");
	T(captcha_with(secret, "hostname=\".ex\"", false, "hostname must be"), "a leading dot");
}

/* <captcha>: its attributes and secret as loaded, the defaults, the names. */
static void test_captcha(void)
{
	char dir[] = "/tmp/fmgate-mapcaptcha-XXXXXX", secret[64], text[2048];
	struct map_diags d = { 0 };
	struct mapping *m = NULL;
	const struct map_form *f;
#define CAPTCHA_FMT \
		"<fmgate><form id=\"a\"><redirect success=\"/\"/><user-id><from-email/></user-id>\n" \
		"<field name=\"email\" trait=\"email\" type=\"email\"/>\n" \
		"<captcha provider=\"recaptcha\" secret-file=\"%s\" min-score=\"0.3\" " \
		"on-unavailable=\"accept\"/></form>\n" \
		"<form id=\"b\"><redirect success=\"/\"/><user-id><from-email/></user-id>\n" \
		"<field name=\"email\" trait=\"email\" type=\"email\"/>\n" \
		"<captcha provider=\"turnstile\" secret-file=\"%s\" on-unavailable=\"refuse\"" \
		" hostname=\" WWW.Example.com\texample.com  \" action=\"sign_up/2-b\"/></form>\n" \
		"<form id=\"c\"><redirect success=\"/\"/><user-id><from-email/></user-id>\n" \
		"<field name=\"email\" trait=\"email\" type=\"email\"/></form></fmgate>\n"

	T(mkdtemp(dir) != NULL, "temp dir");
	snprintf(secret, sizeof secret, "%s/secret", dir);
	T(t_write(secret, "0x4AAAAAAA-secret \n", 0600), "secret file");
	snprintf(text, sizeof text, CAPTCHA_FMT, secret, secret);
	T(mapping_load_buffer(text, strlen(text), "captcha", &m, &d) == MAP_OK, "captcha loads");
	if (d.n)
		dump_diags("captcha", &d);
	map_diags_free(&d);
	f = m ? mapping_form(m, "a") : NULL;
	T(f && f->captcha.provider == MAP_CAPTCHA_RECAPTCHA && f->captcha.accept_unavailable &&
	  f->captcha.min_score == 0.3 && f->captcha.line == 3, "a: recaptcha as written");
	T(f && !f->captcha.hostnames && !f->captcha.action, "a: no hostname or action: not compared");
	T(f && strcmp(f->captcha.secret.bytes, "0x4AAAAAAA-secret") == 0 &&
	  strcmp(f->captcha.secret_file, secret) == 0, "a: the secret read, trailing space cut");
	f = m ? mapping_form(m, "b") : NULL;
	T(f && f->captcha.provider == MAP_CAPTCHA_TURNSTILE && !f->captcha.accept_unavailable &&
	  f->captcha.min_score == MAP_NO_MIN_SCORE, "b: turnstile, refusing, no min-score");
	T(f && f->captcha.hostnames && strcmp(f->captcha.hostnames, "www.example.com example.com") == 0,
	  "b: the host names lower-cased, one space between");
	T(f && f->captcha.action && strcmp(f->captcha.action, "sign_up/2-b") == 0, "b: the action");
	f = m ? mapping_form(m, "c") : NULL;
	T(f && f->captcha.provider == MAP_CAPTCHA_NONE && !f->captcha.secret.bytes, "c: no captcha");
	mapping_free(m);
	m = NULL;
	captcha_limits(secret);
	T(chmod(secret, 0604) == 0 && mapping_load_buffer(text, strlen(text), "captcha", &m, &d) ==
	  MAP_EINVALID && diags_have(&d, 3, "group or others") && diags_have(&d, 6, "group or others"),
	  "a secret others may read: refused on each captcha's line");
	map_diags_free(&d);
	T_STREQ(map_captcha_name(MAP_CAPTCHA_HCAPTCHA), "hcaptcha", "name");
	T_STREQ(map_captcha_field(MAP_CAPTCHA_TURNSTILE), "cf-turnstile-response", "turnstile field");
	T_STREQ(map_captcha_field(MAP_CAPTCHA_HCAPTCHA), "h-captcha-response", "hcaptcha field");
	T_STREQ(map_captcha_field(MAP_CAPTCHA_RECAPTCHA), "g-recaptcha-response", "recaptcha field");
	T(!map_captcha_name(MAP_CAPTCHA_NONE) && !map_captcha_field(MAP_CAPTCHA_NONE), "none: NULL");
	T(t_remove_tree(dir), "temp dir removed");
}

/* Operator addresses need no dot in their domain (a local relay, an
 * intranet mailbox): only the visitor's email does. */
static void test_dotless_addrs(void)
{
	static const char xml[] =
		"<fmgate><settings>\n"
		"<smtp url=\"smtp://127.0.0.1:25\" from=\"Website &lt;forms@localhost&gt;\"/>\n"
		"</settings>\n"
		"<form id=\"a\"><redirect success=\"/\"/><user-id><from-email/></user-id>\n"
		"<field name=\"email\" trait=\"email\" type=\"email\"/>\n"
		"<notify to=\"ops@intranet\" subject=\"New\"/></form>\n"
		"</fmgate>\n";
	struct map_diags d = { 0 };
	struct mapping *m = NULL;
	const struct map_form *f;

	T(mapping_load_buffer(xml, strlen(xml), "dotless", &m, &d) == MAP_OK && m,
	  "forms@localhost and ops@intranet load");
	if (d.n)
		dump_diags("dotless", &d);
	map_diags_free(&d);
	if (!m)
		return;
	T_STREQ(m->settings.smtp.from_addr, "forms@localhost", "smtp from without a dot");
	f = mapping_form(m, "a");
	T(f && f->n_dests == 1 && f->dests[0].n_to == 1 &&
	  strcmp(f->dests[0].to[0], "ops@intranet") == 0, "notify to without a dot");
	mapping_free(m);
}

static void test_rate_limits(void)
{
	struct mapping *m = NULL;
	const struct map_form *f;

	T(mapping_load(DATA_DIR "/ok_rate_limit.xml", &m, NULL) == MAP_OK, "rate limits load");
	if (!m)
		return;
	T(m->settings.read_timeout_ms == 2500, "read-timeout-ms");
	f = mapping_form(m, "inherits");
	T(f && f->rate.per_ip == 5 && f->rate.per_form == 1000 && f->rate.window_s == 3600,
	  "a form without its own takes the settings'");
	f = mapping_form(m, "own");
	T(f && f->rate.per_ip == 2 && f->rate.per_form == 0 && f->rate.window_s == MAP_DEFAULT_RATE_WINDOW,
	  "a form's own replaces them whole");
	f = mapping_form(m, "open");
	T(f && f->rate.per_ip == 0 && f->rate.per_form == 0, "an empty one lifts them");
	mapping_free(m);

	/* The default applies to a form without its own while <settings> has none. */
	static const struct { const char *settings, *form; unsigned ip, per_form, window; } c[] = {
		{ "", "", MAP_DEFAULT_PER_IP, MAP_DEFAULT_PER_FORM, MAP_DEFAULT_WINDOW },
		{ "<rate-limit/>", "", 0, 0, MAP_DEFAULT_RATE_WINDOW },
		{ "<rate-limit per-form=\"50\"/>", "", 0, 50, MAP_DEFAULT_RATE_WINDOW },
		{ "", "<rate-limit per-ip=\"3\"/>", 3, 0, MAP_DEFAULT_RATE_WINDOW },
		{ "", "<rate-limit/>", 0, 0, MAP_DEFAULT_RATE_WINDOW },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char buf[1024];
		int n = snprintf(buf, sizeof buf, "<fmgate><settings>%s</settings><form id=\"f\">%s"
		                 "<redirect success=\"/ok\"/><user-id><from-email/></user-id>"
		                 "<field name=\"email\" trait=\"email\" type=\"email\"/></form></fmgate>",
		                 c[i].settings, c[i].form);

		m = NULL;
		T(mapping_load_buffer(buf, (size_t)n, "rate", &m, NULL) == MAP_OK, "case %zu loads", i);
		f = m ? mapping_form(m, "f") : NULL;
		T(f && f->rate.per_ip == c[i].ip && f->rate.per_form == c[i].per_form &&
		  f->rate.window_s == c[i].window, "settings [%s], form [%s]: %u %u %u", c[i].settings,
		  c[i].form, f ? f->rate.per_ip : 0, f ? f->rate.per_form : 0, f ? f->rate.window_s : 0);
		mapping_free(m);
	}

	/* One form's own <rate-limit> leaves the others under the default. */
	{
		static const char two[] = "<fmgate>"
			"<form id=\"a\"><rate-limit per-ip=\"3\"/><redirect success=\"/ok\"/>"
			"<user-id><from-email/></user-id><field name=\"email\" trait=\"email\" type=\"email\"/></form>"
			"<form id=\"b\"><redirect success=\"/ok\"/>"
			"<user-id><from-email/></user-id><field name=\"email\" trait=\"email\" type=\"email\"/></form>"
			"</fmgate>";

		m = NULL;
		T(mapping_load_buffer(two, sizeof two - 1, "two", &m, NULL) == MAP_OK, "two forms load");
		f = m ? mapping_form(m, "a") : NULL;
		T(f && f->rate.per_ip == 3 && f->rate.per_form == 0 && f->rate.window_s == MAP_DEFAULT_RATE_WINDOW,
		  "form a keeps its own");
		f = m ? mapping_form(m, "b") : NULL;
		T(f && f->rate.per_ip == MAP_DEFAULT_PER_IP && f->rate.per_form == MAP_DEFAULT_PER_FORM &&
		  f->rate.window_s == MAP_DEFAULT_WINDOW, "form b, without one, gets the default");
		mapping_free(m);
	}
}

static void test_trusted_proxies(void)
{
	static const struct { const char *text; enum map_proxy_header h; const char *in, *out; } want[] = {
		{ "127.0.0.1", MAP_PROXY_X_FORWARDED_FOR, "::ffff:127.0.0.1", "127.0.0.2" },
		{ "10.0.0.0/8", MAP_PROXY_X_FORWARDED_FOR, "10.255.0.1", "11.0.0.0" },
		{ "10.1.0.0/16", MAP_PROXY_X_FORWARDED_FOR, "10.1.2.3", "10.2.0.0" },
		{ "173.245.48.0/20", MAP_PROXY_CF_CONNECTING_IP, "173.245.63.255", "173.245.64.0" },
		{ "2400:cb00::/32", MAP_PROXY_CF_CONNECTING_IP, "2400:cb00:ff::1", "2400:cb01::" },
		{ "192.0.2.0/24", MAP_PROXY_TRUE_CLIENT_IP, "192.0.2.9", "192.0.3.0" },
		{ "2001:db8::/32", MAP_PROXY_X_REAL_IP, "2001:db8::9", "2001:db9::" },
		{ "::1", MAP_PROXY_X_FORWARDED_FOR, "::1", "::ffff:0.0.0.1" },
	};
	struct mapping *m = NULL;
	const struct map_settings *s;

	T(mapping_load(DATA_DIR "/ok_trusted_proxy.xml", &m, NULL) == MAP_OK, "trusted proxies load");
	if (!m)
		return;
	s = &m->settings;
	T(s->n_trusted_proxies == sizeof want / sizeof want[0], "%zu proxies", s->n_trusted_proxies);
	for (size_t i = 0; i < s->n_trusted_proxies && i < sizeof want / sizeof want[0]; i++) {
		const struct map_proxy *p = &s->trusted_proxies[i];
		struct netaddr a, b;

		T_STREQ(p->text, want[i].text, "proxy %zu as written, trimmed", i);
		T(p->header == want[i].h, "%s: header %s", p->text, map_proxy_header_name(p->header));
		T(p->line == (int)i + 6, "%s: line %d", p->text, p->line);
		T(netaddr_parse(want[i].in, strlen(want[i].in), &a) && netrange_has(&p->range, &a),
		  "%s holds %s", p->text, want[i].in);
		T(netaddr_parse(want[i].out, strlen(want[i].out), &b) && !netrange_has(&p->range, &b),
		  "%s does not hold %s", p->text, want[i].out);
	}
	T_STREQ(map_proxy_header_name(MAP_PROXY_CF_CONNECTING_IP), "CF-Connecting-IP", "header name");
	mapping_free(m);
}

/* ---- security ---- */

static void test_dtd_refused(void)
{
	static const char *const files[] = {
		DATA_DIR "/bad_xxe.xml", DATA_DIR "/bad_billion_laughs.xml",
		DATA_DIR "/bad_doctype_external.xml", DATA_DIR "/bad_doctype_garbage.xml",
	};
	char dir[] = "/tmp/fmgate-map-XXXXXX", secret[600], doc[2048];

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		struct map_diags d = { 0 };
		struct mapping *m = NULL;
		double t0 = now_ms(), dt;
		enum map_err e = mapping_load(files[i], &m, &d);

		dt = now_ms() - t0;
		T(e == MAP_EINVALID && m == NULL, "%s refused", files[i]);
		T(d.n == 1 && strstr(d.v[0].message, "DTDs are not allowed"),
		  "%s: only the DTD diag (%zu)", files[i], d.n);
		T(dt < 500, "%s refused quickly (%.1f ms)", files[i], dt);
		for (size_t j = 0; j < d.n; j++)
			T(!strstr(d.v[j].message, "root:"), "%s: nothing of /etc/passwd", files[i]);
		map_diags_free(&d);
	}

	/* An external entity naming a file we own: its marker must not surface. */
	T(mkdtemp(dir) != NULL, "temp dir");
	snprintf(secret, sizeof secret, "%s/secret", dir);
	T(write_file(secret, "MARKER-1234"), "secret written");
	snprintf(doc, sizeof doc,
	         "<!DOCTYPE fmgate [<!ENTITY s SYSTEM \"file://%s\">]>\n"
	         "<fmgate><form id=\"a\"><redirect success=\"/&s;\"/><user-id><from-email/></user-id>"
	         "<field name=\"&s;\" trait=\"email\" type=\"email\"/><constant trait=\"x\" value=\"&s;\"/>"
	         "</form></fmgate>\n", secret);
	{
		struct map_diags d = { 0 };
		struct mapping *m = NULL;

		T(mapping_load_buffer(doc, strlen(doc), "xxe", &m, &d) == MAP_EINVALID, "xxe buffer refused");
		for (size_t j = 0; j < d.n; j++)
			T(!strstr(d.v[j].message, "MARKER"), "marker not read");
		T(d.n == 1 && d.v[0].line == 1, "one diag on line 1");
		map_diags_free(&d);
	}
	unlink(secret);
	rmdir(dir);

	/* Without a DTD, only the predefined entities and character references exist. */
	{
		static const char ent[] = "<fmgate><form id=\"a\"><redirect success=\"/\"/>"
			"<user-id><from-email/></user-id><field name=\"e\" trait=\"email\" type=\"email\"/>"
			"<constant trait=\"x\" value=\"&lt;&#65;&gt;\"/></form></fmgate>";
		struct mapping *m = NULL;

		T(mapping_load_buffer(ent, strlen(ent), "ent", &m, NULL) == MAP_OK, "predefined entities");
		T(m && strcmp(m->forms[0].constants[0].value, "<A>") == 0, "decoded");
		mapping_free(m);
	}
}

static void test_sizes(void)
{
	static const char head[] = "<fmgate><form id=\"a\"><redirect success=\"/\"/>"
		"<user-id><from-email/></user-id><field name=\"e\" trait=\"email\" type=\"email\"/>"
		"</form><!-- ";
	static const char tail[] = " --></fmgate>\n";
	size_t cap = LIMIT_MAX_MAPPING_FILE;
	char *buf = malloc(cap + 2);
	char path[] = "/tmp/fmgate-map-big-XXXXXX";
	struct map_diags d = { 0 };
	struct mapping *m = NULL;
	int fd;

	if (!buf) {
		T(0, "malloc");
		return;
	}
	/* Exactly at the cap: loads. One byte over: refused before parsing. */
	memset(buf, 'x', cap + 1);
	memcpy(buf, head, sizeof head - 1);
	memcpy(buf + cap - (sizeof tail - 1), tail, sizeof tail - 1);
	T(mapping_load_buffer(buf, cap, "cap", &m, &d) == MAP_OK, "a file of exactly the cap loads");
	mapping_free(m);
	map_diags_free(&d);
	m = (struct mapping *)1;
	T(mapping_load_buffer(buf, cap + 1, "big", &m, &d) == MAP_EIO && m == NULL, "buffer over cap");
	T(diags_have(&d, 0, "larger than"), "says why");
	map_diags_free(&d);

	fd = mkstemp(path);
	T(fd >= 0, "temp file");
	if (fd >= 0) {
		T(write(fd, buf, cap) == (ssize_t)cap, "wrote cap bytes");
		T(mapping_load(path, &m, &d) == MAP_OK, "file of exactly the cap loads");
		mapping_free(m);
		map_diags_free(&d);
		T(ftruncate(fd, (off_t)cap + 1) == 0, "grown");
		T(mapping_load(path, &m, &d) == MAP_EIO && m == NULL, "file over cap refused");
		T(d.n == 1 && d.v[0].line == 0 && strstr(d.v[0].message, "larger than"), "file diag");
		map_diags_free(&d);
		close(fd);
		unlink(path);
	}
	free(buf);

	T(mapping_load("/nonexistent/forms.xml", &m, &d) == MAP_EIO, "missing file");
	T(diags_have(&d, 0, "cannot open"), "missing file diag");
	map_diags_free(&d);
	T(mapping_load("/tmp", &m, &d) == MAP_EIO && diags_have(&d, 0, "not a regular file"), "directory");
	map_diags_free(&d);
	T(mapping_load_buffer("", 0, "empty", &m, &d) == MAP_EINVALID && d.n >= 1, "empty buffer");
	map_diags_free(&d);
	T(mapping_load_buffer("<fmgate>\0</fmgate>", 18, "nul", &m, &d) == MAP_EINVALID, "NUL byte");
	map_diags_free(&d);
}

/* Deep nesting, many problems, line numbers past 65535. */
static void test_stress(void)
{
	static const char form[] = "<form id=\"a\"><redirect success=\"/\"/><user-id><from-email/></user-id>"
		"<field name=\"e\" trait=\"email\" type=\"email\"/>";
	size_t size = 600000, o = 0;
	char *buf = malloc(size);
	struct map_diags d = { 0 };
	struct mapping *m = NULL;
	bool sorted = true;

	if (!buf) {
		T(0, "malloc");
		return;
	}
	o += (size_t)snprintf(buf + o, size - o, "<fmgate>");
	for (int i = 0; i < 5000; i++)
		o += (size_t)snprintf(buf + o, size - o, "<a>");
	T(mapping_load_buffer(buf, o, "deep", &m, &d) == MAP_EINVALID && d.n >= 1, "deep nesting refused");
	map_diags_free(&d);

	/* 300 bad traits (one per line), then a duplicate form id at the end. */
	o = (size_t)snprintf(buf, size, "<fmgate>\n%s\n", form);
	for (int i = 0; i < 300; i++)
		o += (size_t)snprintf(buf + o, size - o, "<field name=\"f%d\" trait=\"a..%d\"/>\n", i, i);
	o += (size_t)snprintf(buf + o, size - o, "</form></fmgate>\n");
	T(mapping_load_buffer(buf, o, "many", &m, &d) == MAP_EINVALID, "many problems");
	T(d.n == MAP_MAX_DIAGS, "diags capped at %u (%zu)", MAP_MAX_DIAGS, d.n);
	if (d.n == MAP_MAX_DIAGS) {
		T(strstr(d.v[d.n - 1].message, "too many") != NULL, "last says so");
		T(d.v[0].line == 3, "first at line 3 (%d)", d.v[0].line);
		for (size_t i = 1; i + 1 < d.n; i++)
			sorted = sorted && d.v[i - 1].line <= d.v[i].line;
		T(sorted, "in line order");
	}
	map_diags_free(&d);

	/* Lines up to MAP_MAX_LINES are reported exactly, by the schema and by
	 * the meaning checks; a longer file is refused. */
	for (int variant = 0; variant < 4; variant++) {
		const char *eol = (variant & 1) ? "\r\n" : "\n";
		bool bogus = variant & 2;
		char want[80];

		o = (size_t)snprintf(buf, size, "<fmgate>%s%s</form>%s", eol, form, eol);
		for (unsigned i = 0; i < MAP_MAX_LINES - 3; i++)
			o += (size_t)snprintf(buf + o, size - o, "%s", eol);
		o += (size_t)snprintf(buf + o, size - o, "%s%s</form></fmgate>", form,
		                      bogus ? "<bogus/>" : "");
		T(mapping_load_buffer(buf, o, "lines", &m, &d) == MAP_EINVALID, "long file invalid");
		snprintf(want, sizeof want, "%s", bogus ? "bogus" : "duplicate form id \"a\" (first at line 2)");
		T(diags_have(&d, (int)MAP_MAX_LINES, want), "variant %d: \"%s\" on the last line", variant, want);
		T(d.n == 1, "variant %d: one diag", variant);
		if (d.n != 1)
			dump_diags("lines", &d);
		map_diags_free(&d);
		o += (size_t)snprintf(buf + o, size - o, "%s", eol);
		T(mapping_load_buffer(buf, o, "lines", &m, &d) == MAP_EINVALID, "one line too many");
		T(d.n == 1 && d.v[0].line == 0 && strstr(d.v[0].message, "more than"), "says so");
		map_diags_free(&d);
	}
	free(buf);
}

/* Counts of forms, fields and lists: at the cap loads, one more is refused. */
static void test_counts(void)
{
	static const char head[] = "<form id=\"f%u\"><redirect success=\"/\"/>"
		"<user-id><from-email/></user-id><field name=\"e\" trait=\"email\" type=\"email\"/>\n";
	size_t size = 400000, o;
	char *buf = malloc(size);
	struct map_diags d = { 0 };
	struct mapping *m = NULL;

	if (!buf) {
		T(0, "malloc");
		return;
	}
	for (unsigned extra = 0; extra < 2; extra++) {
		double t0 = now_ms();

		/* Forms. */
		o = (size_t)snprintf(buf, size, "<fmgate>\n");
		for (unsigned i = 0; i < MAP_MAX_FORMS + extra; i++) {
			o += (size_t)snprintf(buf + o, size - o, head, i);
			o += (size_t)snprintf(buf + o, size - o, "</form>\n");
		}
		o += (size_t)snprintf(buf + o, size - o, "</fmgate>\n");
		T(mapping_load_buffer(buf, o, "forms", &m, &d) == (extra ? MAP_EINVALID : MAP_OK),
		  "%u forms", MAP_MAX_FORMS + extra);
		T(!extra || diags_have(&d, 1, "<fmgate> holds 1001 <form>, more than 1000"), "forms diag");
		T(!extra || d.n == 1, "only that diag");
		T(extra || (m && m->n_forms == MAP_MAX_FORMS), "all forms kept");
		mapping_free(m);
		map_diags_free(&d);

		/* Fields and constants of one form (the email field counts). */
		o = (size_t)snprintf(buf, size, "<fmgate>\n");
		o += (size_t)snprintf(buf + o, size - o, head, 0u);
		for (unsigned i = 1; i < MAP_MAX_FORM_ITEMS + extra; i++)
			o += (size_t)snprintf(buf + o, size - o, i % 2 ?
			                      "<field name=\"n%u\" trait=\"t%u\" fm-field=\"cf_%u\"/>\n" :
			                      "<constant trait=\"t%u\" value=\"v\" fm-field=\"cf_%u\"/>\n",
			                      i, i, i);
		o += (size_t)snprintf(buf + o, size - o, "</form></fmgate>\n");
		T(mapping_load_buffer(buf, o, "items", &m, &d) == (extra ? MAP_EINVALID : MAP_OK),
		  "%u items", MAP_MAX_FORM_ITEMS + extra);
		T(!extra || diags_have(&d, 2, "more than 1000"), "items diag");
		T(extra || (m && m->forms[0].n_fields + m->forms[0].n_constants == MAP_MAX_FORM_ITEMS),
		  "all items kept");
		mapping_free(m);
		map_diags_free(&d);

		/* Allow-origins, proxies and sources. */
		o = (size_t)snprintf(buf, size, "<fmgate>\n<settings>");
		for (unsigned i = 0; i < MAP_MAX_LIST + extra; i++)
			o += (size_t)snprintf(buf + o, size - o, "<trusted-proxy>10.0.%u.%u</trusted-proxy>",
			                      i / 256, i % 256);
		o += (size_t)snprintf(buf + o, size - o, "</settings>\n<form id=\"a\"><redirect success=\"/\"/>"
		                      "<field name=\"e\" trait=\"email\" type=\"email\"/>\n<user-id>");
		for (unsigned i = 0; i < MAP_MAX_LIST + extra; i++)
			o += (size_t)snprintf(buf + o, size - o, "<from-cookie name=\"c%u\"/>", i);
		o += (size_t)snprintf(buf + o, size - o, "</user-id>\n");
		for (unsigned i = 0; i < MAP_MAX_LIST + extra; i++)
			o += (size_t)snprintf(buf + o, size - o, "<allow-origin>https://h%u.example</allow-origin>", i);
		o += (size_t)snprintf(buf + o, size - o, "</form></fmgate>\n");
		T(mapping_load_buffer(buf, o, "lists", &m, &d) == (extra ? MAP_EINVALID : MAP_OK),
		  "lists of %u", MAP_MAX_LIST + extra);
		if (extra) {
			T(diags_have(&d, 2, "<settings> holds 101 <trusted-proxy>"), "proxies diag");
			T(diags_have(&d, 4, "<user-id> holds 101 sources"), "sources diag");
			T(diags_have(&d, 3, "<form> holds 101 <allow-origin>"), "origins diag");
		} else {
			T(m && m->settings.n_trusted_proxies == MAP_MAX_LIST &&
			  m->forms[0].n_user_id == MAP_MAX_LIST &&
			  m->forms[0].n_allow_origins == MAP_MAX_LIST, "lists kept");
		}
		mapping_free(m);
		map_diags_free(&d);

		/* Marketing lists of one form. */
		o = (size_t)snprintf(buf, size, "<fmgate>\n");
		o += (size_t)snprintf(buf + o, size - o, head, 0u);
		for (unsigned i = 0; i < MAP_MAX_LISTS + extra; i++)
			o += (size_t)snprintf(buf + o, size - o, "<list name=\"L%u\"/>", i);
		o += (size_t)snprintf(buf + o, size - o, "</form></fmgate>\n");
		T(mapping_load_buffer(buf, o, "mlists", &m, &d) == (extra ? MAP_EINVALID : MAP_OK),
		  "%u <list>", MAP_MAX_LISTS + extra);
		T(!extra || (diags_have(&d, 2, "<form> holds 101 <list>, more than 100") && d.n == 1),
		  "<list> diag");
		T(extra || (m && m->forms[0].n_lists == MAP_MAX_LISTS), "all <list> kept");
		mapping_free(m);
		map_diags_free(&d);
		T(now_ms() - t0 < 2000, "loads at the caps are quick (%.0f ms)", now_ms() - t0);
	}
	free(buf);
}

static void test_print_and_names(void)
{
	struct map_diag v[2] = { { .line = 3, .message = "bad thing" }, { .line = 0, .message = "no line" } };
	struct map_diags d = { .v = v, .n = 2, .cap = 2 };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	T(f != NULL, "memstream");
	if (f) {
		map_diags_print(&d, "forms.xml", f);
		fclose(f);
		T_STREQ(out, "forms.xml:3: bad thing\nforms.xml: no line\n", "print format");
		free(out);
	}
	T_STREQ(map_type_name(MAP_TEXT), "text", "text");
	T_STREQ(map_type_name(MAP_EMAIL), "email", "email");
	T_STREQ(map_type_name(MAP_NUMBER), "number", "number");
	T_STREQ(map_type_name(MAP_BOOLEAN), "boolean", "boolean");
	T_STREQ(map_type_name(MAP_DATE), "date", "date");
	T_STREQ(map_type_name(MAP_PHONE), "phone", "phone");
	T(strcmp(map_strerror(MAP_OK), map_strerror(MAP_EIO)) != 0 &&
	  strcmp(map_strerror(MAP_EINVALID), map_strerror(MAP_ENOMEM)) != 0, "strerror");
	mapping_free(NULL);
	map_diags_free(NULL);
}

/* ---- the holder ---- */

static const char holder_v1[] =
	"<fmgate>\n<form id=\"one\"><redirect success=\"/\"/><user-id><from-email/></user-id>\n"
	"<field name=\"e\" trait=\"email\" type=\"email\"/></form>\n</fmgate>\n";
static const char holder_v2[] =
	"<fmgate>\n<form id=\"two\"><redirect success=\"/two\"/><user-id><from-email/></user-id>\n"
	"<field name=\"e\" trait=\"email\" type=\"email\"/></form>\n</fmgate>\n";
static const char holder_bad[] =
	"<fmgate>\n<form id=\"bad\"><redirect success=\"//evil\"/><user-id><from-email/></user-id>\n"
	"<field name=\"e\" trait=\"email\" type=\"email\"/></form>\n</fmgate>\n";
/* Same size as v2, different id. */
static const char holder_v2b[] =
	"<fmgate>\n<form id=\"twa\"><redirect success=\"/two\"/><user-id><from-email/></user-id>\n"
	"<field name=\"e\" trait=\"email\" type=\"email\"/></form>\n</fmgate>\n";

static bool has_form(const struct mapping *m, const char *id)
{
	return m && mapping_form(m, id) != NULL;
}

static void test_holder(void)
{
	char dir[] = "/tmp/fmgate-holder-XXXXXX", path[600], logpath[600];
	struct mapping_holder h;
	const struct mapping *m, *m2;
	int saved = dup(STDERR_FILENO), logfd;
	size_t loglen = 0;
	char *log;
	struct stat st;
	struct timespec ts[2];

	T(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof path, "%s/forms.xml", dir);
	snprintf(logpath, sizeof logpath, "%s/log", dir);
	/* log_msg writes to stderr: catch it to check what the holder logs. */
	logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	T(logfd >= 0 && saved >= 0 && dup2(logfd, STDERR_FILENO) >= 0, "stderr captured");

	/* Never loaded: init fails, get() has nothing, then the file appears. */
	T(mapping_holder_init(&h, path) == MAP_EIO, "init on a missing file");
	T(mapping_holder_get(&h) == NULL, "nothing yet");
	T(write_file(path, holder_v1), "v1 written");
	h.checked_at = 0;
	T(has_form(mapping_holder_get(&h), "one"), "v1 picked up once it exists");
	mapping_holder_free(&h);

	T(mapping_holder_init(&h, path) == MAP_OK, "init");
	m = mapping_holder_get(&h);
	T(has_form(m, "one"), "v1");

	/* Within the same second, no stat: v2 waits. */
	T(write_file(path, holder_v2), "v2 written");
	for (;;) {
		time_t t = time(NULL);

		h.checked_at = t;
		m = mapping_holder_get(&h);
		if (time(NULL) == t)
			break;
	}
	T(has_form(m, "one") && !has_form(m, "two"), "throttled to once a second");
	h.checked_at = 0;
	m = mapping_holder_get(&h);
	T(has_form(m, "two") && !has_form(m, "one"), "v2 after a change of size");

	/* Unchanged file: the same mapping, not a reload. */
	h.checked_at = 0;
	T(mapping_holder_get(&h) == m, "unchanged: same mapping");

	/* An invalid version: the last good one stays, the problem is logged. */
	T(write_file(path, holder_bad), "bad written");
	h.checked_at = 0;
	m2 = mapping_holder_get(&h);
	T(m2 == m && has_form(m2, "two"), "invalid version: last good kept");
	h.checked_at = 0;
	T(mapping_holder_get(&h) == m, "still kept, not retried while unchanged");

	/* Same size, new mtime: reloaded. */
	T(write_file(path, holder_v2b), "v2b written");
	T(stat(path, &st) == 0, "stat");
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	ts[1].tv_sec += 5;
	T(utimensat(AT_FDCWD, path, ts, 0) == 0, "mtime moved");
	h.checked_at = 0;
	m = mapping_holder_get(&h);
	T(has_form(m, "twa") && !has_form(m, "two"), "same size, new mtime: reloaded");

	/* Removed: kept; back: reloaded. */
	T(unlink(path) == 0, "removed");
	h.checked_at = 0;
	T(mapping_holder_get(&h) == m, "file gone: last good kept");
	T(write_file(path, holder_v1), "v1 back");
	h.checked_at = 0;
	T(has_form(mapping_holder_get(&h), "one"), "file back: reloaded");
	mapping_holder_free(&h);

	/* An invalid first version: init says so, get() has nothing. */
	T(write_file(path, holder_bad), "bad first");
	T(mapping_holder_init(&h, path) == MAP_EINVALID, "init on an invalid file");
	T(mapping_holder_get(&h) == NULL, "no mapping");
	mapping_holder_free(&h);

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(logfd);
	log = slurp(logpath, &loglen);
	T(log != NULL, "log read");
	if (log) {
		char want[700];

		snprintf(want, sizeof want, "%s:2: redirect success starts with \"//\"", path);
		T(strstr(log, want) != NULL, "diag logged as file:line: message");
		snprintf(want, sizeof want, "%s: mapping file invalid; keeping the last good version", path);
		T(strstr(log, want) != NULL, "keeping logged");
		snprintf(want, sizeof want, "%s: mapping file invalid; no forms are served", path);
		T(strstr(log, want) != NULL, "no forms logged");
		T(strstr(log, "No such file or directory; keeping the last good version") != NULL,
		  "removal logged");
		/* Bad versions were loaded twice (reload, then init) and checked
		 * once more while unchanged: two reports. */
		{
			int n = 0;

			for (const char *p = log; (p = strstr(p, "starts with")) != NULL; p++)
				n++;
			T(n == 2, "each bad version logged once (%d)", n);
		}
		free(log);
	}
	unlink(path);
	unlink(logpath);
	rmdir(dir);
}

int main(void)
{
	test_samples();
	test_example();
	test_defaults_and_order();
	test_steps();
	test_dests();
	test_captcha();
	test_dotless_addrs();
	test_rate_limits();
	test_trusted_proxies();
	test_dtd_refused();
	test_sizes();
	test_stress();
	test_counts();
	test_print_and_names();
	test_holder();
	T_DONE();
}
