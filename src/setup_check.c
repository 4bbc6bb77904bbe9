/* setup_check.c: the mapping against the account's field list, the key file,
 * and the warnings of plain `check`. */
#include "setup_check.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "captcha.h"
#include "config.h"
#include "fields_print.h"
#include "fmgate_limits.h"
#include "fm_body.h"
#include "secret.h"

/* One problem of a form, printed once the form is done, in line order. */
struct problem {
	int line;
	char *msg;
};

struct ctx {
	const char *file;
	const struct fm_fields *fields;
	FILE *to;
	struct problem *v;   /* the current form's problems */
	size_t n, cap;
	size_t printed;
};

/* Where one trait goes, as fm_body_build() would place it. */
struct target {
	const char *trait;
	const char *field;           /* NULL: no field (email, name, or a problem) */
	const struct fmf_field *f;   /* its entry in the list; NULL for a built-in
	                                field outside the list */
	bool by_label;
	int line;
};

static enum setup_err problem(struct ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum setup_err problem(struct ctx *c, int line, const char *fmt, ...)
{
	char msg[SETUP_MAX_MESSAGE];
	struct problem *nv;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		if (!(nv = realloc(c->v, cap * sizeof *nv)))
			return SETUP_ENOMEM;
		c->v = nv;
		c->cap = cap;
	}
	if (!(c->v[c->n].msg = strdup(msg)))
		return SETUP_ENOMEM;
	c->v[c->n++].line = line;
	return SETUP_OK;
}

/* Prints the form's problems in line order (equal lines keep their order). */
static void flush(struct ctx *c)
{
	for (size_t i = 1; i < c->n; i++) {
		struct problem p = c->v[i];
		size_t j = i;

		for (; j > 0 && c->v[j - 1].line > p.line; j--)
			c->v[j] = c->v[j - 1];
		c->v[j] = p;
	}
	for (size_t i = 0; i < c->n; i++) {
		fprintf(c->to, "%s:%d: ", c->file, c->v[i].line);
		fields_put_text(c->to, c->v[i].msg);
		putc('\n', c->to);
		free(c->v[i].msg);
	}
	c->printed += c->n;
	c->n = 0;
}

static bool is_identity(const char *field)
{
	return strcmp(field, "emails") == 0 || strcmp(field, "external_id") == 0;
}

/*
 * A built-in field that fmgate can fill without the list: a privileged one,
 * or one whose type it knows, for which an fm-field needs no list.
 */
static bool builtin(const char *field)
{
	return fm_body_privileged(field) || !fm_body_fm_field_needs_list(field);
}

/* Places a trait in the order of fm_body_build(): fm-field, reserved
 * trait, label; email and name go to no field of their own. */
static enum setup_err resolve(struct ctx *c, const char *trait, char *fm_field, int line,
                              bool feeds_step, struct target *t)
{
	enum setup_err e = SETUP_OK;
	const char *res;

	*t = (struct target){.trait = trait, .line = line};
	if (strcmp(trait, "email") == 0)
		return SETUP_OK;
	if (fm_field) {
		if (is_identity(fm_field))
			return problem(c, line, "fm-field \"%s\" is an identity field, which only the "
			               "userId and email set", fm_field);
		if (!(t->f = fm_fields_by_name(c->fields, fm_field)) && !builtin(fm_field))
			return problem(c, line, "fm-field \"%s\" is no field of this "
			               "Freshmarketer account", fm_field);
		t->field = fm_field;
		return SETUP_OK;
	}
	if ((res = fm_body_reserved_field(trait))) {
		t->f = fm_fields_by_name(c->fields, res);
		t->field = res;
		return SETUP_OK;
	}
	if (strcmp(trait, "name") == 0)
		return SETUP_OK;
	if (!(t->f = fm_fields_by_label(c->fields, trait))) {
		/* The account's name or the note's text: it has its home there. */
		if (!feeds_step)
			e = problem(c, line, "trait \"%.60s\": no Freshmarketer field has this label "
			            "(create the field, or set fm-field)", trait);
	} else if (fm_body_label_refused(t->f->name))
		e = problem(c, line, "trait \"%.60s\": its label is the %s field %s, set only "
		            "through fm-field", trait,
		            fm_body_privileged(t->f->name) ? "privileged" : "id", t->f->name);
	else if (is_identity(t->f->name))
		e = problem(c, line, "trait \"%.60s\": its label is the identity field %s, which "
		            "only the userId and email set", trait, t->f->name);
	else {
		t->field = t->f->name;
		t->by_label = true;
	}
	if (!t->field)
		t->f = NULL;
	return e;
}

/* Whether v converts for the field; *expected says what the field takes. */
static enum setup_err converts(const struct ctx *c, const char *field, const cJSON *v,
                               bool *ok, const char **expected)
{
	cJSON *out = NULL;
	enum fmb_err e = fm_body_convert(c->fields, field, v, &out, expected);

	cJSON_Delete(out);
	*ok = e == FMB_OK;
	return e == FMB_ENOMEM ? SETUP_ENOMEM : SETUP_OK;
}

/* Types whose values do not belong in a field of that type, though a few
 * might convert (the number 1 for a checkbox). Booleans are tried instead. */
static bool type_misfits(enum map_type mt, enum fmf_type ft)
{
	switch (mt) {
	case MAP_NUMBER: return ft == FMF_CHECKBOX || ft == FMF_DATE;
	case MAP_DATE: return ft == FMF_NUMBER || ft == FMF_CHECKBOX;
	case MAP_EMAIL: return ft == FMF_NUMBER || ft == FMF_CHECKBOX || ft == FMF_DATE;
	case MAP_PHONE: return ft == FMF_CHECKBOX || ft == FMF_DATE;
	case MAP_TEXT:
	case MAP_BOOLEAN: break;
	}
	return false;
}

static bool single_valued(enum fmf_type ft)
{
	return ft == FMF_NUMBER || ft == FMF_CHECKBOX || ft == FMF_DROPDOWN || ft == FMF_DATE;
}

/* A boolean sends true or false: both must convert. */
static enum setup_err boolean_fits(const struct ctx *c, const char *field, bool *ok,
                                   const char **expected)
{
	enum setup_err e = SETUP_ENOMEM;
	cJSON *yes = cJSON_CreateTrue(), *no = cJSON_CreateFalse();
	bool ok_yes = false, ok_no = false;

	if (yes && no && (e = converts(c, field, yes, &ok_yes, expected)) == SETUP_OK && ok_yes)
		e = converts(c, field, no, &ok_no, expected);
	*ok = ok_yes && ok_no;
	cJSON_Delete(yes);
	cJSON_Delete(no);
	return e;
}

/* A <field> whose trait reaches t->field: what it sends must fit there. */
static enum setup_err check_field_value(struct ctx *c, const struct map_field *mf,
                                        const struct target *t)
{
	const char *expected = NULL;
	enum setup_err e;
	cJSON *v;
	bool ok;

	if (mf->value_when_checked) {
		if (!(v = cJSON_CreateString(mf->value_when_checked)))
			return SETUP_ENOMEM;
		e = converts(c, t->field, v, &ok, &expected);
		cJSON_Delete(v);
		if (e != SETUP_OK || ok)
			return e;
		return problem(c, mf->line, "field \"%.60s\": value-when-checked \"%.60s\" does not "
		               "fit field %s, which takes %s", mf->name, mf->value_when_checked,
		               t->field, expected);
	}
	if (mf->type == MAP_BOOLEAN) {
		if ((e = boolean_fits(c, t->field, &ok, &expected)) != SETUP_OK || ok)
			return e;
		return problem(c, mf->line, "field \"%.60s\": type=\"boolean\" cannot fit field %s, "
		               "which takes %s", mf->name, t->field, expected);
	}
	if (t->f && type_misfits(mf->type, t->f->type))
		return problem(c, mf->line, "field \"%.60s\": type=\"%s\" cannot fit field %s (%s)",
		               mf->name, map_type_name(mf->type), t->field,
		               t->f->type_name);
	if (t->f && mf->multiple && single_valued(t->f->type))
		return problem(c, mf->line, "field \"%.60s\": multiple=\"true\" sends several values; "
		               "field %s (%s) takes one", mf->name, t->field,
		               t->f->type_name);
	return SETUP_OK;
}

static enum setup_err check_constant_value(struct ctx *c, const struct map_constant *k,
                                           const struct target *t)
{
	const char *expected = NULL;
	cJSON *v = cJSON_CreateString(k->value);
	enum setup_err e = SETUP_ENOMEM;
	bool ok;

	if (v && (e = converts(c, t->field, v, &ok, &expected)) == SETUP_OK && !ok)
		e = problem(c, k->line, "constant \"%.60s\": value \"%.60s\" does not fit field %s, "
		            "which takes %s", k->trait, k->value, t->field, expected);
	cJSON_Delete(v);
	return e;
}

/* Two traits reaching one field: only one is sent. A label match loses to an
 * fm-field or reserved trait; otherwise the problem goes to the later one. */
static enum setup_err check_clashes(struct ctx *c, const struct target *t, size_t n)
{
	enum setup_err e = SETUP_OK;

	for (size_t i = 1; i < n && e == SETUP_OK; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct target *lost = &t[i], *kept = &t[j];

			if (!t[i].field || !t[j].field || strcmp(t[i].field, t[j].field) != 0)
				continue;
			if (t[j].by_label && !t[i].by_label)
				lost = &t[j], kept = &t[i];
			e = problem(c, lost->line, "trait \"%.60s\" and trait \"%.60s\" (line %d) both "
			            "reach field %s: only one is sent", lost->trait, kept->trait,
			            kept->line, t[i].field);
			break;
		}
	}
	return e;
}

/* A consent-record label must name a text field a record may be written to
 * (a delivery leaves the record out otherwise, fm_body.h). */
static enum setup_err check_record(struct ctx *c, const struct map_field *mf)
{
	const struct fmf_field *f;

	if (!mf->consent_record)
		return SETUP_OK;
	if (!(f = fm_fields_by_label(c->fields, mf->consent_record)))
		return problem(c, mf->line, "field \"%.60s\": consent-record \"%.60s\": no "
		               "Freshmarketer field has this label (create a text field)", mf->name,
		               mf->consent_record);
	if (fm_body_label_refused(f->name) || is_identity(f->name))
		return problem(c, mf->line, "field \"%.60s\": consent-record \"%.60s\" is the label "
		               "of %s, which a record may not set", mf->name, mf->consent_record,
		               f->name);
	if (f->type != FMF_TEXT)
		return problem(c, mf->line, "field \"%.60s\": consent-record \"%.60s\": field %s "
		               "(%s) is not a text field", mf->name, mf->consent_record, f->name,
		               f->type_name);
	return SETUP_OK;
}

static enum setup_err check_form(struct ctx *c, const struct map_form *form)
{
	size_t n = form->n_fields + form->n_constants;
	struct target *t = calloc(n ? n : 1, sizeof *t);
	enum setup_err e = SETUP_ENOMEM;

	if (!t)
		goto out;
	for (size_t i = 0; i < form->n_fields; i++) {
		const struct map_field *mf = &form->fields[i];

		if ((e = resolve(c, mf->trait, mf->fm_field, mf->line, mf->feeds_step, &t[i])) != SETUP_OK ||
		    (t[i].field && (e = check_field_value(c, mf, &t[i])) != SETUP_OK) ||
		    (e = check_record(c, mf)) != SETUP_OK)
			goto out;
	}
	for (size_t i = 0; i < form->n_constants; i++) {
		const struct map_constant *k = &form->constants[i];
		struct target *ti = &t[form->n_fields + i];

		if ((e = resolve(c, k->trait, k->fm_field, k->line, false, ti)) != SETUP_OK ||
		    (ti->field && (e = check_constant_value(c, k, ti)) != SETUP_OK))
			goto out;
	}
	e = check_clashes(c, t, n);
out:
	free(t);
	return e;
}

enum setup_err setup_check_forms(const struct mapping *m, const char *file,
                                 const struct fm_fields *fields, FILE *to,
                                 size_t *problems)
{
	struct ctx c = {.file = file, .fields = fields, .to = to};
	enum setup_err e = SETUP_OK;

	for (size_t i = 0; i < m->n_forms && e == SETUP_OK; i++) {
		e = check_form(&c, &m->forms[i]);
		flush(&c);
	}
	free(c.v);
	*problems = c.printed;
	return e;
}

/* Where a web server stops waiting for fmgate's answer by default
 * (docs/deploy.md, "Timeouts"), and the shipped file that waits longer. */
static const struct server_timeout {
	const char *server;
	const char *setting;
	unsigned seconds;
	const char *shipped;
} server_timeouts[] = {
	{ "Apache", "mod_fcgid's FcgidIOTimeout", 40, "apache-conf/fmgate.conf" },
	{ "nginx", "fastcgi_read_timeout", 60, "nginx-conf/fmgate.conf" },
	{ "lighttpd", "server.max-write-idle", 360, "lighttpd-conf/fmgate.conf" },
};

_Static_assert(LIMIT_CEIL_READ_TIMEOUT_MS + MAP_MAX_TIMEOUT_MS + CAPTCHA_TIMEOUT_MS <
               SETUP_SHIPPED_WAIT_S * 1000u,
               "the shipped server files must wait longer than the longest post");

size_t setup_check_timeouts(const struct mapping *m, const char *file, FILE *to)
{
	const struct map_settings *s = &m->settings;
	const struct map_form *captcha = NULL;
	bool sync = s->delivery_mode == MAP_DELIVERY_SYNC;
	unsigned long long worst = (unsigned long long)s->read_timeout_ms + (sync ? s->timeout_ms : 0);
	size_t n = 0;

	/* Only a form with <captcha> waits for its provider too. */
	for (size_t i = 0; i < m->n_forms && !captcha; i++)
		if (m->forms[i].captcha.provider != MAP_CAPTCHA_NONE)
			captcha = &m->forms[i];
	if (captcha)
		worst += CAPTCHA_TIMEOUT_MS;
	for (size_t i = 0; i < sizeof server_timeouts / sizeof server_timeouts[0]; i++) {
		const struct server_timeout *t = &server_timeouts[i];

		if (worst <= t->seconds * 1000ull)
			continue;
		fprintf(to, "%s: warning: a post may take %llu ms (read-timeout-ms %u", file,
		        worst, s->read_timeout_ms);
		if (sync)
			fprintf(to, " + timeout-ms %u", s->timeout_ms);
		if (captcha)
			fprintf(to, " + %u for the CAPTCHA check of form %s", CAPTCHA_TIMEOUT_MS,
			        captcha->id);
		fprintf(to, "), longer than %s waits by default (%s %u s; the shipped %s sets %u s): "
		        "raise it (docs/deploy.md, Timeouts)\n", t->server, t->setting, t->seconds,
		        t->shipped, SETUP_SHIPPED_WAIT_S);
		n++;
	}
	return n;
}

size_t setup_check_key_file(const char *key_file, FILE *to)
{
	struct secret s;
	enum secret_err e = secret_load(key_file, 0, SECRET_READ_MAX, &s);

	secret_free(&s);
	/* Its size and bytes are the key's, which config_resolve judges. */
	if (e == SECRET_OK || e == SECRET_ESIZE)
		return 0;
	fprintf(to, "%s: API key file: %s\n", key_file, secret_strerror(e));
	return 1;
}

size_t setup_check_env(const struct map_settings *s, const char *file, FILE *to)
{
	struct config_env_note v[CONFIG_ENV_VARS];
	size_t n = config_env_only(s, v);

	for (size_t i = 0; i < n; i++) {
		if (v[i].overrides)
			fprintf(to, "%s: warning: %s in this environment overrides the mapping's %s: "
			        "a process without it (the web server's workers or fmgate drain) "
			        "uses the mapping's; keep the setting in the mapping alone", file,
			        v[i].var, v[i].attr);
		else
			fprintf(to, "%s: warning: %s is set only in this environment: a process "
			        "without it (the web server's workers or fmgate drain) does not see "
			        "it; set %s in the mapping's <settings> instead", file, v[i].var,
			        v[i].attr);
		fputs(" (docs/deploy.md, One place for settings)\n", to);
	}
	return n;
}

const char *setup_strerror(enum setup_err e)
{
	switch (e) {
	case SETUP_OK: return "ok";
	case SETUP_ENOMEM: return "out of memory";
	}
	return "unknown error";
}
