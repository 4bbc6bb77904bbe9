/*
 * mapping.c: the XML mapping file, parsed without DTDs, entities or network,
 * validated against the built-in RELAX NG schema, checked for meaning, and
 * copied into plain structs.
 */
#include "mapping.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "buf.h"
#include "fieldtype.h"
#include "log.h"
#include "mail.h"
#include "text.h"
#include "url.h"

/* src/schema_blob.S: schema/fmgate.rng, NUL-terminated. */
extern const char fmgate_schema_rng[];

/* One load in progress: where problems go and what went wrong. */
struct loader {
	struct map_diags *diags;  /* may be NULL: problems are then only counted */
	size_t n_errors;
	bool nomem;
	bool dtd_seen;
	int dtd_line;
};

/* ---- diagnostics ---- */

static void diag_add(struct loader *L, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void diag_add(struct loader *L, int line, const char *fmt, ...)
{
	struct map_diags *d = L->diags;
	struct map_diag *e;
	char msg[sizeof e->message];
	size_t n;
	va_list ap;

	L->n_errors++;
	if (!d)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* One line per diag: libxml2 ends its messages with '\n', and a quoted
	 * value may hold anything. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == ' ')
		msg[--n] = '\0';
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].line == line && strcmp(d->v[i].message, msg) == 0)
			return;   /* libxml2 repeats itself on cascading errors */
	if (d->n >= MAP_MAX_DIAGS)
		return;
	if (d->n == d->cap) {
		struct map_diag *v = buf_grow_array(d->v, &d->cap, sizeof *v, 8, MAP_MAX_DIAGS);

		if (!v) {
			L->nomem = true;
			return;
		}
		d->v = v;
	}
	e = &d->v[d->n++];
	e->line = line;
	text_copy(e->message, sizeof e->message, msg);
	if (d->n == MAP_MAX_DIAGS) {
		e->line = 0;
		text_copy(e->message, sizeof e->message, "too many problems; the rest are not shown");
	}
}

static int line_of(const xmlNode *n);

/* libxml2's structured error handler: parser and schema errors become diags. */
static void xml_error(void *ctx, xmlErrorPtr e)
{
	struct loader *L = ctx;
	long line;

	if (!e || e->level == XML_ERR_WARNING)
		return;
	line = e->line;
	if (line <= 0 && e->node)
		line = line_of(e->node);
	if (line < 0 || line > INT32_MAX)
		line = 0;
	diag_add(L, (int)line, "%s", e->message ? e->message : "XML error");
}

/* In line order, as a reader goes through the file; equal lines keep the
 * order they were found in (insertion sort: stable, and n <= MAP_MAX_DIAGS). */
static void diags_sort(struct map_diags *d)
{
	/* A full list ends with the "too many" note, which stays last. */
	size_t n = (d && d->n == MAP_MAX_DIAGS) ? d->n - 1 : d ? d->n : 0;

	for (size_t i = 1; i < n; i++) {
		struct map_diag t = d->v[i];
		size_t j = i;

		for (; j > 0 && d->v[j - 1].line > t.line; j--)
			d->v[j] = d->v[j - 1];
		d->v[j] = t;
	}
}

void map_diags_free(struct map_diags *d)
{
	if (!d)
		return;
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}

void map_diags_print(const struct map_diags *d, const char *file, FILE *to)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].line > 0)
			fprintf(to, "%s:%d: %s\n", file, d->v[i].line, d->v[i].message);
		else
			fprintf(to, "%s: %s\n", file, d->v[i].message);
	}
}

const char *map_strerror(enum map_err e)
{
	switch (e) {
	case MAP_OK:       return "ok";
	case MAP_EIO:      return "mapping file missing, unreadable or too large";
	case MAP_EINVALID: return "mapping file invalid";
	case MAP_ENOMEM:   return "out of memory";
	}
	return "unknown error";
}

static const char *const type_names[] = {
	[MAP_TEXT] = "text", [MAP_EMAIL] = "email", [MAP_NUMBER] = "number",
	[MAP_BOOLEAN] = "boolean", [MAP_DATE] = "date", [MAP_PHONE] = "phone",
};

const char *map_type_name(enum map_type t)
{
	if ((size_t)t < sizeof type_names / sizeof type_names[0])
		return type_names[t];
	return "unknown";
}

/* ---- freeing ---- */

static void free_sources(struct map_source *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].signed_with);
		sign_key_free(&v[i].key);
	}
	free(v);
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void free_form(struct map_form *f)
{
	free(f->id);
	free(f->success_url);
	free(f->failure_url);
	free_strings(f->allow_origins, f->n_allow_origins);
	free(f->allow_urls);
	free(f->honeypot);
	free_sources(f->user_id, f->n_user_id);
	free_sources(f->anonymous_id, f->n_anonymous_id);
	for (size_t i = 0; f->fields && i < f->n_fields; i++) {
		free(f->fields[i].name);
		free(f->fields[i].trait);
		free(f->fields[i].fm_field);
		free(f->fields[i].consent);
		free(f->fields[i].value_when_checked);
		free(f->fields[i].consent_record);
	}
	free(f->fields);
	for (size_t i = 0; f->constants && i < f->n_constants; i++) {
		free(f->constants[i].trait);
		free(f->constants[i].value);
		free(f->constants[i].fm_field);
	}
	free(f->constants);
	for (size_t i = 0; f->lists && i < f->n_lists; i++)
		free(f->lists[i].name);
	free(f->lists);
	free(f->note_title);
	for (size_t i = 0; f->dests && i < f->n_dests; i++) {
		struct map_dest *d = &f->dests[i];

		free(d->name);
		free_strings(d->to, d->n_to);
		free(d->subject);
		free(d->url);
		free(d->secret_file);
		secret_free(&d->secret);
	}
	free(f->dests);
	free(f->captcha.secret_file);
	free(f->captcha.hostnames);
	free(f->captcha.action);
	secret_free(&f->captcha.secret);
}

void mapping_free(struct mapping *m)
{
	if (!m)
		return;
	free(m->path);
	free(m->settings.fm_domain);
	free(m->settings.fm_api_base);
	free(m->settings.fm_api_key_file);
	free(m->settings.spool_dir);
	for (size_t i = 0; i < m->settings.n_trusted_proxies; i++)
		free(m->settings.trusted_proxies[i].text);
	free(m->settings.trusted_proxies);
	free(m->settings.smtp.url);
	free(m->settings.smtp.user);
	free(m->settings.smtp.password_file);
	secret_free(&m->settings.smtp.password);
	free(m->settings.smtp.from);
	free(m->settings.smtp.from_addr);
	free(m->settings.segment.endpoint);
	free(m->settings.segment.write_key_file);
	secret_free(&m->settings.segment.write_key);
	for (size_t i = 0; m->forms && i < m->n_forms; i++)
		free_form(&m->forms[i]);
	free(m->forms);
	free(m);
}

/* ---- lookups ---- */

bool map_form_id_valid(const char *s, size_t len)
{
	if (len == 0 || len > LIMIT_MAX_FORM_ID)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool map_dest_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAP_MAX_DEST_NAME || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

const struct map_form *mapping_form(const struct mapping *m, const char *id)
{
	if (!m || !id)
		return NULL;
	for (size_t i = 0; i < m->n_forms; i++)
		if (strcmp(m->forms[i].id, id) == 0)
			return &m->forms[i];
	return NULL;
}

const struct map_field *map_form_field(const struct map_form *f, const char *name)
{
	if (!f || !name)
		return NULL;
	for (size_t i = 0; i < f->n_fields; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return &f->fields[i];
	return NULL;
}

const struct map_dest *map_form_dest(const struct map_form *f, const char *name)
{
	for (size_t i = 0; f && name && i < f->n_dests; i++)
		if (strcmp(f->dests[i].name, name) == 0)
			return &f->dests[i];
	return NULL;
}

const char *map_dest_kind_name(enum map_dest_kind k)
{
	switch (k) {
	case MAP_DEST_NOTIFY:  return "notify";
	case MAP_DEST_WEBHOOK: return "webhook";
	case MAP_DEST_FORWARD: return "forward";
	}
	return "?";
}

/* Indexed by enum map_captcha_provider. */
static const struct {
	const char *name, *field;
} captcha_providers[] = {
	[MAP_CAPTCHA_NONE] = { NULL, NULL },
	[MAP_CAPTCHA_TURNSTILE] = { "turnstile", "cf-turnstile-response" },
	[MAP_CAPTCHA_HCAPTCHA] = { "hcaptcha", "h-captcha-response" },
	[MAP_CAPTCHA_RECAPTCHA] = { "recaptcha", "g-recaptcha-response" },
};

const char *map_captcha_name(enum map_captcha_provider p)
{
	return (size_t)p < sizeof captcha_providers / sizeof captcha_providers[0]
	       ? captcha_providers[p].name : NULL;
}

const char *map_captcha_field(enum map_captcha_provider p)
{
	return (size_t)p < sizeof captcha_providers / sizeof captcha_providers[0]
	       ? captcha_providers[p].field : NULL;
}

/* ---- tree helpers ---- */

static bool is_el(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *)name);
}

/* The line of a node (of the end of an element's start tag). */
static int line_of(const xmlNode *n)
{
	long l = xmlGetLineNo(n);

	return (l < 0 || l > INT32_MAX) ? 0 : (int)l;
}

static size_t count_children(const xmlNode *parent, const char *name)
{
	size_t n = 0;

	for (const xmlNode *c = parent->children; c; c = c->next)
		if (is_el(c, name))
			n++;
	return n;
}

/*
 * The one <name> child of parent, or NULL. The schema lets children come in
 * any order, so how often one may appear is checked here: a repeat is an
 * error at its own line, a missing required child at the parent's.
 */
static const xmlNode *single_child(struct loader *L, const xmlNode *parent,
                                   const char *name, bool required)
{
	const xmlNode *first = NULL;

	for (const xmlNode *c = parent->children; c; c = c->next) {
		if (!is_el(c, name))
			continue;
		if (!first)
			first = c;
		else
			diag_add(L, line_of(c), "<%s> may appear only once in <%s> (first at line %d)",
			         name, (const char *)parent->name, line_of(first));
	}
	if (!first && required)
		diag_add(L, line_of(parent), "<%s> needs a <%s>", (const char *)parent->name, name);
	return first;
}

/* Is n, the number of `what` in parent, within max? Reports it when not. */
static bool within(struct loader *L, const xmlNode *parent, size_t n, size_t max,
                   const char *what)
{
	if (n <= max)
		return true;
	diag_add(L, line_of(parent), "<%s> holds %zu %s, more than %zu",
	         (const char *)parent->name, n, what, max);
	return false;
}

static char *dup_or_flag(struct loader *L, const char *s)
{
	char *d = strdup(s);

	if (!d)
		L->nomem = true;
	return d;
}

/* The attribute's value as written, or NULL when absent (or out of memory,
 * flagged in L). */
static char *attr_dup(struct loader *L, const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *d;

	if (!v)
		return NULL;
	d = dup_or_flag(L, (const char *)v);
	xmlFree(v);
	return d;
}

/* The attribute's value, trimmed, when it holds at most max bytes as
 * written (checked before the copy); NULL when absent, too long (reported
 * for element `what`) or out of memory. */
static char *attr_dup_max(struct loader *L, const xmlNode *n, const char *name, size_t max,
                          const char *what)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *d = NULL;

	if (!v)
		return NULL;
	if ((size_t)xmlStrlen(v) > max)
		diag_add(L, line_of(n), "%s: %s is longer than %zu bytes", what, name, max);
	else
		d = dup_or_flag(L, (const char *)v);
	xmlFree(v);
	return d ? text_trim(d) : NULL;
}

/* Element text, trimmed. */
static char *text_dup(struct loader *L, const xmlNode *n)
{
	xmlChar *v = xmlNodeGetContent(n);
	char *d;

	if (!v) {
		L->nomem = true;
		return NULL;
	}
	d = dup_or_flag(L, (const char *)v);
	xmlFree(v);
	return d ? text_trim(d) : NULL;
}

/* A positive integer attribute within [1, max]; dflt when it is absent or
 * wrong (a wrong one is reported). */
static unsigned long long attr_count(struct loader *L, const xmlNode *n, const char *name,
                                     unsigned long long max, unsigned long long dflt)
{
	char *v = attr_dup(L, n, name);
	unsigned long long out = dflt;
	long long x;

	if (!v)
		return dflt;
	text_trim(v);
	if (!text_parse_ll(v, 1, INT64_MAX, &x))
		diag_add(L, line_of(n), "%s: %s must be a positive integer", (const char *)n->name, name);
	else if ((unsigned long long)x > max)
		diag_add(L, line_of(n), "%s: %s %lld is above the ceiling %llu",
		         (const char *)n->name, name, x, max);
	else
		out = (unsigned long long)x;
	free(v);
	return out;
}

/* "true" or "false"; absent is false. */
static bool attr_bool(struct loader *L, const xmlNode *n, const char *name)
{
	char *v = attr_dup(L, n, name);
	bool b = v && strcmp(text_trim(v), "true") == 0;

	free(v);
	return b;
}

/* ---- syntax checks of values ---- */

static bool has_high(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p > 0x7e)
			return true;
	return false;
}

static bool has_ctl(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/*
 * Why url is not a URL by `rules` (url.h), or NULL: in the words `fmgate
 * check` has always used for a redirect target and an allow-origin entry.
 */
static const char *url_problem(struct loader *L, const char *url, enum url_rules rules,
                               struct url *out)
{
	enum url_err e = url_parse(url, rules, out);

	if (e == URL_ENOMEM)
		L->nomem = true;
	if (e == URL_OK || e == URL_ENOMEM)
		return NULL;
	if (e == URL_ESCHEME && rules == URL_TARGET)
		return "must be an absolute http(s) URL or a path starting with '/'";
	if (e == URL_ESCHEME && rules == URL_ALLOW)
		return "must start with http:// or https://";
	if (e == URL_EUSER && rules == URL_ALLOW)
		return url_strerror(URL_EHOST);
	return url_strerror(e);
}

/* Why `name` is not usable as a field or cookie name, or NULL. */
static const char *name_problem(const char *name, bool cookie)
{
	if (strlen(name) > MAP_MAX_NAME)
		return "is too long";
	if (has_ctl(name))
		return "holds control characters";
	if (cookie && (strpbrk(name, " ;,=\"") != NULL))
		return "is not a cookie name (no space, ';', ',', '=' or '\"')";
	return NULL;
}

/* A form field fmgate reads itself (identify.h): never a trait. */
static bool reserved_name(const char *name)
{
	static const char *const reserved[] = { "_next", "_referrer", "_page", "_title" };

	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strcmp(name, reserved[i]) == 0)
			return true;
	return false;
}

/* Why `t` is not a trait name, or NULL. */
static const char *trait_problem(const char *t)
{
	size_t segs = 1;
	const char *p;

	if (strlen(t) > MAP_MAX_NAME)
		return "is too long";
	if (has_ctl(t))
		return "holds control characters";
	if (t[0] == '.' || t[strlen(t) - 1] == '.' || strstr(t, ".."))
		return "has an empty segment (a leading, trailing or double '.')";
	for (p = t; *p; p++)
		if (*p == '.')
			segs++;
	if (segs > LIMIT_MAX_TRAIT_DEPTH)
		return "nests too deep";
	return NULL;
}

/* True when one trait is the other or a dotted prefix of it ("a" and "a.b"):
 * both cannot be set in one JSON object. */
static bool traits_clash(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t n = la < lb ? la : lb;

	if (strncmp(a, b, n) != 0)
		return false;
	return la == lb || (la < lb ? b[la] : a[lb]) == '.';
}

/* ---- settings ---- */

/* <rate-limit per-ip=".." per-form=".." window=".."/>: absent counts are no
 * limit; the window defaults to MAP_DEFAULT_RATE_WINDOW. */
static void load_rate(struct loader *L, const xmlNode *n, struct map_rate *out)
{
	out->per_ip = (unsigned)attr_count(L, n, "per-ip", MAP_MAX_RATE_COUNT, 0);
	out->per_form = (unsigned)attr_count(L, n, "per-form", MAP_MAX_RATE_COUNT, 0);
	out->window_s = (unsigned)attr_count(L, n, "window",
	                                     MAP_MAX_RATE_WINDOW, MAP_DEFAULT_RATE_WINDOW);
}

/*
 * A secret file named by attribute `attr` of n (an absolute path, kept in
 * *path) read into *out now, so that `check` reports a bad file and no
 * request reads it.
 */
static void load_secret(struct loader *L, const xmlNode *n, const char *attr, size_t min,
                        char **path, struct secret *out)
{
	enum secret_err e;

	if (!(*path = attr_dup(L, n, attr)))
		return;
	if ((*path)[0] != '/') {
		diag_add(L, line_of(n), "%s: %s must be an absolute path", (const char *)n->name, attr);
		return;
	}
	e = secret_load(*path, min, MAP_MAX_SECRET, out);
	if (e == SECRET_ENOMEM)
		L->nomem = true;
	else if (e == SECRET_ESIZE)
		diag_add(L, line_of(n), "%s: %s %.200s: %s (at least %zu bytes)", (const char *)n->name,
		         attr, *path, secret_strerror(e), min);
	else if (e != SECRET_OK)
		diag_add(L, line_of(n), "%s: %s %.200s: %s", (const char *)n->name, attr, *path,
		         secret_strerror(e));
}

/* Why addr is not an address fmgate sends to or from, or NULL. */
static const char *addr_problem(const char *addr)
{
	size_t len = strlen(addr);

	/* The form's grammar (WHATWG) without the visitor's dot in the domain
	 * (ops@intranet is a fine mailbox), and the mail's rule (nothing but an
	 * address in a header). */
	if (len == 0 || len > LIMIT_MAX_EMAIL || !ft_email_grammar(addr, len) || !mail_addr_ok(addr))
		return "is not an email address (local@domain)";
	return NULL;
}

/* The host part of an smtp(s) URL as an https URL, for url.h's grammar;
 * false when the scheme is neither. */
static bool smtp_as_https(const char *url, char *out, size_t size)
{
	const char *rest = NULL;
	int n;

	if (strncmp(url, "smtps://", 8) == 0)
		rest = url + 8;
	else if (strncmp(url, "smtp://", 7) == 0)
		rest = url + 7;
	if (!rest)
		return false;
	n = snprintf(out, size, "https://%s", rest);
	return n > 0 && (size_t)n < size;
}

/* <smtp url user password-file from>. */
static void load_smtp(struct loader *L, const xmlNode *n, struct map_smtp *out)
{
	char as_https[LIMIT_MAX_URL + 16];
	const char *why, *lt, *gt;
	int line = line_of(n);

	out->line = line;
	out->url = attr_dup(L, n, "url");
	out->user = attr_dup(L, n, "user");
	out->from = attr_dup(L, n, "from");
	if (!out->url || !out->from)
		return;
	if (!smtp_as_https(out->url, as_https, sizeof as_https))
		diag_add(L, line, "smtp: url must start with smtps:// or smtp://");
	else if ((why = url_problem(L, as_https, URL_API_BASE, NULL)) != NULL)
		diag_add(L, line, "smtp: url %s", why);
	if (out->user && (has_ctl(out->user) || strlen(out->user) > MAP_MAX_NAME))
		diag_add(L, line, "smtp: user holds control characters or is too long");
	if (xmlHasProp(n, (const xmlChar *)"password-file")) {
		if (!out->user)
			diag_add(L, line, "smtp: password-file needs a user");
		load_secret(L, n, "password-file", 1, &out->password_file, &out->password);
	}
	/* "Name <addr>" or "addr"; the name is the operator's, but a header all
	 * the same. */
	if (has_ctl(out->from) || has_high(out->from) || strlen(out->from) > MAP_MAX_SUBJECT) {
		/* Raw UTF-8 in a header would need SMTPUTF8 of every relay. */
		diag_add(L, line, "smtp: from holds control characters or non-ASCII letters, or is "
		         "longer than %u bytes", MAP_MAX_SUBJECT);
		return;
	}
	lt = strrchr(out->from, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (lt && (!gt || gt[1] != '\0')) {
		diag_add(L, line, "smtp: from must be \"Name <address>\" or \"address\"");
		return;
	}
	/* A name with these would need quoting: "Acme, Inc <a@b>" reads as two
	 * mailboxes to a mail program. */
	if (lt && strcspn(out->from, ",;:@\"()[]\\<>") < (size_t)(lt - out->from)) {
		diag_add(L, line, "smtp: from's name holds one of , ; : @ \" ( ) [ ] \\ < >: "
		         "write the name without them");
		return;
	}
	out->from_addr = lt ? strndup(lt + 1, (size_t)(gt - lt - 1)) : strdup(out->from);
	if (!out->from_addr)
		L->nomem = true;
	else if ((why = addr_problem(out->from_addr)) != NULL)
		diag_add(L, line, "smtp: from address \"%.60s\" %s", out->from_addr, why);
}

/* <segment write-key-file endpoint>. */
static void load_segment(struct loader *L, const xmlNode *n, struct map_segment *out)
{
	const char *why;
	size_t len;

	out->line = line_of(n);
	load_secret(L, n, "write-key-file", 1, &out->write_key_file, &out->write_key);
	out->endpoint = attr_dup(L, n, "endpoint");
	if (!out->endpoint && !L->nomem)
		out->endpoint = dup_or_flag(L, MAP_SEGMENT_ENDPOINT);
	if (!out->endpoint)
		return;
	len = strlen(out->endpoint);
	if (len > 0 && out->endpoint[len - 1] == '/')
		out->endpoint[len - 1] = '\0';   /* "{endpoint}/identify" either way */
	if ((why = url_problem(L, out->endpoint, URL_API_BASE, NULL)) != NULL)
		diag_add(L, out->line, "segment: endpoint %s", why);
}

/* Indexed by enum map_proxy_header. */
static const char *const proxy_headers[MAP_PROXY_HEADERS] = {
	"X-Forwarded-For", "X-Real-IP", "CF-Connecting-IP", "True-Client-IP",
};

const char *map_proxy_header_name(enum map_proxy_header h)
{
	return (unsigned)h < MAP_PROXY_HEADERS ? proxy_headers[h] : "?";
}

/* <trusted-proxy header="..">: one of proxy_headers, any case. */
static void load_proxy_header(struct loader *L, const xmlNode *n, struct map_proxy *p)
{
	char *h = attr_dup(L, n, "header");

	p->header = MAP_PROXY_X_FORWARDED_FOR;
	if (!h)
		return;
	for (unsigned i = 0; i < MAP_PROXY_HEADERS; i++)
		if (strcasecmp(text_trim(h), proxy_headers[i]) == 0) {
			p->header = (enum map_proxy_header)i;
			free(h);
			return;
		}
	diag_add(L, p->line, "trusted-proxy: header \"%.60s\" is not one of X-Forwarded-For, "
	         "X-Real-IP, CF-Connecting-IP, True-Client-IP", h);
	free(h);
}

/* Two ranges that overlap but name different headers would make the header
 * read depend on the order of the file: refused. */
static void check_proxy_overlap(struct loader *L, const struct map_settings *out)
{
	for (size_t i = 0; i < out->n_trusted_proxies; i++)
		for (size_t j = 0; j < i; j++) {
			const struct map_proxy *a = &out->trusted_proxies[j], *b = &out->trusted_proxies[i];

			if (a->header != b->header && netrange_overlap(&a->range, &b->range)) {
				diag_add(L, b->line, "trusted-proxy \"%.60s\" overlaps \"%.60s\" (line %d) "
				         "but names another header", b->text, a->text, a->line);
				break;
			}
		}
}

/* <trusted-proxy header="..">ADDRESS or CIDR range</trusted-proxy>, at most
 * MAP_MAX_LIST. */
static void load_proxies(struct loader *L, const xmlNode *s, struct map_settings *out)
{
	size_t np = count_children(s, "trusted-proxy");
	enum netaddr_err e;

	out->n_trusted_proxies = 0;
	if (np == 0 || !within(L, s, np, MAP_MAX_LIST, "<trusted-proxy>"))
		return;
	out->trusted_proxies = calloc(np, sizeof *out->trusted_proxies);
	if (!out->trusted_proxies) {
		L->nomem = true;
		return;
	}
	for (const xmlNode *n = s->children; n; n = n->next) {
		struct map_proxy *p;

		if (!is_el(n, "trusted-proxy"))
			continue;
		p = &out->trusted_proxies[out->n_trusted_proxies];
		p->line = line_of(n);
		if (!(p->text = text_dup(L, n)))
			return;
		load_proxy_header(L, n, p);
		if ((e = netrange_parse(p->text, &p->range)) != NETADDR_OK) {
			/* Left out of the list: a range that did not parse (its prefix
			 * length 0) would "overlap" every other one. */
			diag_add(L, p->line, "trusted-proxy \"%.60s\" %s", p->text, netaddr_strerror(e));
			free(p->text);
			p->text = NULL;
			continue;
		}
		out->n_trusted_proxies++;
	}
	check_proxy_overlap(L, out);
}

static void load_settings(struct loader *L, const xmlNode *s, struct map_settings *out)
{
	const xmlNode *n;
	char *t;
	const char *why;

	if ((n = single_child(L, s, "freshmarketer", false)) != NULL) {
		out->fm_domain = attr_dup(L, n, "domain");
		out->fm_api_key_file = attr_dup(L, n, "api-key-file");
		out->fm_api_base = attr_dup(L, n, "api-base");
		if (out->fm_api_key_file && out->fm_api_key_file[0] != '/')
			diag_add(L, line_of(n), "freshmarketer: api-key-file must be an absolute path");
		if (out->fm_api_base && (why = url_problem(L, out->fm_api_base, URL_API_BASE, NULL)) != NULL)
			diag_add(L, line_of(n), "freshmarketer: api-base %s", why);
		out->fm_fields_max_age = (unsigned)attr_count(L, n, "fields-max-age",
		                                              MAP_MAX_FIELDS_MAX_AGE, 0);
	}
	if ((n = single_child(L, s, "spool", false)) != NULL) {
		out->spool_dir = attr_dup(L, n, "dir");
		if (out->spool_dir && out->spool_dir[0] != '/')
			diag_add(L, line_of(n), "spool: dir must be an absolute path");
		out->spool_max_files = (size_t)attr_count(L, n, "max-files",
		                                          MAP_MAX_SPOOL_FILES, 0);
		out->spool_max_age_days = (unsigned)attr_count(L, n, "max-age-days",
		                                               MAP_MAX_SPOOL_AGE_DAYS, 0);
	}
	if ((n = single_child(L, s, "delivery", false)) != NULL) {
		if ((t = attr_dup(L, n, "mode")) != NULL) {
			if (strcmp(text_trim(t), "async") == 0)
				out->delivery_mode = MAP_DELIVERY_ASYNC;
			free(t);
		}
		out->timeout_ms = (unsigned)attr_count(L, n, "timeout-ms",
		                                       MAP_MAX_TIMEOUT_MS, out->timeout_ms);
	}
	if ((n = single_child(L, s, "limits", false)) != NULL) {
		out->limits.max_body = (size_t)attr_count(L, n, "max-body",
		                                          LIMIT_CEIL_MAX_BODY, out->limits.max_body);
		out->limits.max_fields = (size_t)attr_count(L, n, "max-fields",
		                                            LIMIT_CEIL_MAX_FIELDS, out->limits.max_fields);
		out->limits.max_value = (size_t)attr_count(L, n, "max-value",
		                                           LIMIT_CEIL_MAX_VALUE, out->limits.max_value);
		out->read_timeout_ms = (unsigned)attr_count(L, n, "read-timeout-ms",
		                                            LIMIT_CEIL_READ_TIMEOUT_MS, out->read_timeout_ms);
	}
	if ((n = single_child(L, s, "rate-limit", false)) != NULL)
		load_rate(L, n, &out->rate);
	if ((n = single_child(L, s, "context", false)) != NULL)
		out->context_ip = attr_bool(L, n, "ip");
	if ((n = single_child(L, s, "smtp", false)) != NULL)
		load_smtp(L, n, &out->smtp);
	if ((n = single_child(L, s, "segment", false)) != NULL)
		load_segment(L, n, &out->segment);
	load_proxies(L, s, out);
}

/* ---- forms ---- */

/* Fills v (sized by the caller) from the source children of `parent`. */
static void load_sources(struct loader *L, const xmlNode *parent,
                         struct map_source *v, size_t *n)
{
	const char *why;

	for (const xmlNode *c = parent->children; c; c = c->next) {
		struct map_source *s;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		s = &v[(*n)++];
		if (is_el(c, "from-email")) {
			s->kind = MAP_SRC_EMAIL;
			continue;
		}
		s->kind = is_el(c, "from-cookie") ? MAP_SRC_COOKIE : MAP_SRC_FIELD;
		s->name = attr_dup(L, c, "name");
		if (!s->name)
			return;
		why = name_problem(s->name, s->kind == MAP_SRC_COOKIE);
		if (why)
			diag_add(L, line_of(c), "%s: name %s", (const char *)c->name, why);
		if (s->kind == MAP_SRC_FIELD && (s->signed_with = attr_dup(L, c, "signed-with"))) {
			/* Read now, so that `check` reports a bad key file and a worker
			 * never reads it per request. */
			enum sign_err se = s->signed_with[0] == '/' ?
			                   sign_key_load(s->signed_with, &s->key) : SIGN_EOPEN;
			if (s->signed_with[0] != '/')
				diag_add(L, line_of(c), "signed-with: the key file must be an absolute path");
			else if (se != SIGN_OK)
				diag_add(L, line_of(c), "signed-with %.200s: %s", s->signed_with,
				         sign_strerror(se));
		}
	}
}

/* Is trait `t` (element at `line`) already taken by an earlier field or
 * constant of the form? Reports the clash. */
static void check_trait_unique(struct loader *L, const struct map_form *f,
                               const char *t, int line, size_t n_fields, size_t n_consts)
{
	for (size_t i = 0; i < n_fields; i++)
		if (f->fields[i].trait && traits_clash(f->fields[i].trait, t)) {
			diag_add(L, line, "trait \"%.60s\" clashes with trait \"%.60s\" of the field at line %d",
			         t, f->fields[i].trait, f->fields[i].line);
			return;
		}
	for (size_t i = 0; i < n_consts; i++)
		if (f->constants[i].trait && traits_clash(f->constants[i].trait, t)) {
			diag_add(L, line, "trait \"%.60s\" clashes with trait \"%.60s\" of the constant at line %d",
			         t, f->constants[i].trait, f->constants[i].line);
			return;
		}
}

static void check_fm_field_unique(struct loader *L, const struct map_form *f,
                                  const char *fm, int line, size_t n_fields, size_t n_consts)
{
	for (size_t i = 0; i < n_fields; i++)
		if (f->fields[i].fm_field && strcmp(f->fields[i].fm_field, fm) == 0) {
			diag_add(L, line, "fm-field \"%.60s\" is already set by the field at line %d",
			         fm, f->fields[i].line);
			return;
		}
	for (size_t i = 0; i < n_consts; i++)
		if (f->constants[i].fm_field && strcmp(f->constants[i].fm_field, fm) == 0) {
			diag_add(L, line, "fm-field \"%.60s\" is already set by the constant at line %d",
			         fm, f->constants[i].line);
			return;
		}
}

/* The field named `name` among the first n of the form, or NULL. */
static const struct map_field *field_among(const struct map_form *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (f->fields[i].name && strcmp(f->fields[i].name, name) == 0)
			return &f->fields[i];
	return NULL;
}

/* consent and value-when-checked describe a single checkbox. */
static void check_checkbox_attrs(struct loader *L, const struct map_field *fd)
{
	const char *attr = fd->consent ? "consent" : fd->value_when_checked ? "value-when-checked"
	                                                                    : "consent-record";

	if (!fd->consent && !fd->value_when_checked && !fd->consent_record)
		return;
	if (fd->type != MAP_BOOLEAN || fd->multiple)
		diag_add(L, fd->line, "field \"%.60s\": %s needs type=\"boolean\" and no multiple=\"true\"",
		         fd->name, attr);
	if (fd->consent && (strlen(fd->consent) > MAP_MAX_CONSENT || has_ctl(fd->consent)))
		diag_add(L, fd->line, "field \"%.60s\": consent is longer than %u bytes or holds "
		         "control characters", fd->name, MAP_MAX_CONSENT);
	if (fd->value_when_checked &&
	    (strlen(fd->value_when_checked) > MAP_MAX_NAME || has_ctl(fd->value_when_checked)))
		diag_add(L, fd->line, "field \"%.60s\": value-when-checked is longer than %u bytes "
		         "or holds control characters", fd->name, MAP_MAX_NAME);
	if (!fd->consent_record)
		return;
	/* The record says what was agreed to: without a consent text there is
	 * nothing to write. */
	if (!fd->consent)
		diag_add(L, fd->line, "field \"%.60s\": consent-record needs consent=\"..\" on the "
		         "same field", fd->name);
	if (strlen(fd->consent_record) > MAP_MAX_NAME || has_ctl(fd->consent_record))
		diag_add(L, fd->line, "field \"%.60s\": consent-record is longer than %u bytes or "
		         "holds control characters", fd->name, MAP_MAX_NAME);
}

static void load_field(struct loader *L, const xmlNode *n, struct map_form *f,
                       const struct map_settings *s)
{
	size_t idx = f->n_fields++;   /* counted first, so mapping_free releases it */
	struct map_field *fd = &f->fields[idx];
	const struct map_field *prev;
	const char *why;
	char *type;

	fd->line = line_of(n);
	fd->name = attr_dup(L, n, "name");
	fd->trait = attr_dup(L, n, "trait");
	fd->fm_field = attr_dup(L, n, "fm-field");
	fd->consent = attr_dup(L, n, "consent");
	fd->value_when_checked = attr_dup(L, n, "value-when-checked");
	fd->consent_record = attr_dup(L, n, "consent-record");
	if (!fd->name || !fd->trait)
		return;   /* out of memory: the schema requires both */
	fd->required = attr_bool(L, n, "required");
	fd->multiple = attr_bool(L, n, "multiple");
	fd->type = MAP_TEXT;
	if ((type = attr_dup(L, n, "type")) != NULL) {
		text_trim(type);
		for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
			if (strcmp(type, type_names[i]) == 0)
				fd->type = (enum map_type)i;
		free(type);
	}
	fd->max_length = (size_t)attr_count(L, n, "max-length", LIMIT_CEIL_MAX_VALUE, 0);
	if (fd->max_length > s->limits.max_value)
		diag_add(L, fd->line, "field \"%.60s\": max-length %zu is above max-value %zu of <limits>",
		         fd->name, fd->max_length, s->limits.max_value);
	if ((why = name_problem(fd->name, false)) != NULL)
		diag_add(L, fd->line, "field name %s", why);
	if (reserved_name(fd->name))
		diag_add(L, fd->line, "field name \"%s\" is reserved by fmgate", fd->name);
	if ((prev = field_among(f, idx, fd->name)) != NULL)
		diag_add(L, fd->line, "field \"%.60s\" is mapped twice (first at line %d)",
		         fd->name, prev->line);
	if ((why = trait_problem(fd->trait)) != NULL)
		diag_add(L, fd->line, "trait \"%.60s\" %s", fd->trait, why);
	else
		check_trait_unique(L, f, fd->trait, fd->line, idx, f->n_constants);
	if (fd->fm_field)
		check_fm_field_unique(L, f, fd->fm_field, fd->line, idx, f->n_constants);
	check_checkbox_attrs(L, fd);
}

static void load_constant(struct loader *L, const xmlNode *n, struct map_form *f)
{
	size_t idx = f->n_constants++;
	struct map_constant *c = &f->constants[idx];
	const char *why;

	c->line = line_of(n);
	c->trait = attr_dup(L, n, "trait");
	c->value = attr_dup(L, n, "value");
	c->fm_field = attr_dup(L, n, "fm-field");
	if (!c->trait || !c->value)
		return;
	if ((why = trait_problem(c->trait)) != NULL)
		diag_add(L, c->line, "trait \"%.60s\" %s", c->trait, why);
	else
		check_trait_unique(L, f, c->trait, c->line, f->n_fields, idx);
	if (c->fm_field)
		check_fm_field_unique(L, f, c->fm_field, c->line, f->n_fields, idx);
}

/* Checks that need the whole form. */
static void check_form(struct loader *L, const struct map_form *f)
{
	const struct map_field *email = NULL;

	for (size_t i = 0; i < f->n_fields; i++)
		if (strcmp(f->fields[i].trait, "email") == 0)
			email = &f->fields[i];
	if (!email)
		diag_add(L, f->line, "form \"%s\" has no field with trait=\"email\" (every submission needs an email)",
		         f->id);
	else if (email->type != MAP_EMAIL)
		diag_add(L, email->line, "the email field \"%.60s\" must have type=\"email\"", email->name);
	if (f->honeypot && map_form_field(f, f->honeypot))
		diag_add(L, f->line, "honeypot \"%.60s\" is also a mapped field", f->honeypot);
}

/* The sources of <user-id> or <anonymous-id> `c` (from-email only with
 * `email`) into a new *out. */
static void load_id(struct loader *L, const xmlNode *c, bool email, struct map_source **out,
                    size_t *n)
{
	size_t n_src = count_children(c, "from-field") + count_children(c, "from-cookie") +
	               (email ? count_children(c, "from-email") : 0);

	if (!within(L, c, n_src, MAP_MAX_LIST, "sources"))
		return;
	if (!(*out = calloc(n_src ? n_src : 1, sizeof **out))) {
		L->nomem = true;
		return;
	}
	load_sources(L, c, *out, n);
}

/* The form's <allow-origin>, <field> and <constant> children, in order.
 * False when there are too many to check the form further. */
static bool load_items(struct loader *L, const xmlNode *n, struct map_form *f,
                       const struct map_settings *s)
{
	size_t n_origins = count_children(n, "allow-origin");
	size_t n_fields = count_children(n, "field"), n_consts = count_children(n, "constant");
	const char *why;
	const xmlNode *c;
	bool ok;

	/* Uniqueness checks compare every pair: the counts stay small. */
	ok = within(L, n, n_origins, MAP_MAX_LIST, "<allow-origin>");
	ok = within(L, n, n_fields + n_consts, MAP_MAX_FORM_ITEMS, "<field> and <constant>") && ok;
	if (!ok)
		return false;
	f->allow_origins = calloc(n_origins + 1, sizeof *f->allow_origins);
	f->allow_urls = calloc(n_origins + 1, sizeof *f->allow_urls);
	f->fields = calloc(n_fields + 1, sizeof *f->fields);
	f->constants = calloc(n_consts + 1, sizeof *f->constants);
	if (!f->allow_origins || !f->allow_urls || !f->fields || !f->constants) {
		L->nomem = true;
		return false;
	}
	for (c = n->children; c && !L->nomem; c = c->next) {
		if (is_el(c, "allow-origin")) {
			char *o = text_dup(L, c);
			size_t i = f->n_allow_origins;

			if (!o)
				return false;
			f->allow_origins[f->n_allow_origins++] = o;
			if ((why = url_problem(L, o, URL_ALLOW, &f->allow_urls[i])) != NULL)
				diag_add(L, line_of(c), "allow-origin \"%.80s\" %s", o, why);
		} else if (is_el(c, "field")) {
			load_field(L, c, f, s);
		} else if (is_el(c, "constant")) {
			load_constant(L, c, f);
		}
	}
	return true;
}

/*
 * The field that attribute `attr` of element n names, for a step that needs
 * its one value (an account's name, a note's text). A field the form lacks
 * (NULL), a checkbox or a repeated field is reported.
 */
static const struct map_field *value_field(struct loader *L, const struct map_form *f,
                                           const xmlNode *n, const char *attr)
{
	char *name = attr_dup(L, n, attr);
	const struct map_field *fd = name ? map_form_field(f, name) : NULL;

	if (!name)
		return NULL;   /* out of memory: the schema requires it */
	if (!fd)
		diag_add(L, line_of(n), "%s: %s \"%.60s\" is not a <field name> of this form",
		         (const char *)n->name, attr, name);
	else if (fd->type == MAP_BOOLEAN || fd->multiple)
		diag_add(L, line_of(n), "%s: %s \"%.60s\" must name a field with a single value, "
		         "not type=\"boolean\" or multiple=\"true\" (field at line %d)",
		         (const char *)n->name, attr, name, fd->line);
	free(name);
	return fd;
}

/* <list name if-field create>: the list at lists[n_lists]. */
static void load_list(struct loader *L, const xmlNode *n, struct map_form *f)
{
	struct map_list *l = &f->lists[f->n_lists++];   /* counted first, for mapping_free */
	char *if_field;
	size_t len;

	l->line = line_of(n);
	l->name = attr_dup(L, n, "name");
	if (!l->name)
		return;   /* out of memory: the schema requires it */
	l->create = attr_bool(L, n, "create");
	len = strlen(l->name);
	if (len > MAP_MAX_LIST_NAME) {
		diag_add(L, l->line, "list: name is longer than %u bytes", MAP_MAX_LIST_NAME);
	} else if (has_ctl(l->name)) {
		diag_add(L, l->line, "list: name holds control characters");
	} else if (l->name[0] == ' ' || l->name[len - 1] == ' ') {
		/* Invisible in the CRM's screens, easy to type by mistake, and
		 * lost if the CRM trims names: the exact-name match would then
		 * fail, and create="true" make the list again and again. */
		diag_add(L, l->line, "list: name \"%.60s\" starts or ends with a space", l->name);
	} else {
		for (size_t i = 0; i + 1 < f->n_lists; i++)
			if (f->lists[i].name && strcmp(f->lists[i].name, l->name) == 0) {
				diag_add(L, l->line, "list \"%.60s\" is named twice in this form (first at line %d)",
				         l->name, f->lists[i].line);
				break;
			}
	}
	if ((if_field = attr_dup(L, n, "if-field")) == NULL)
		return;
	l->if_field = map_form_field(f, if_field);
	if (!l->if_field)
		diag_add(L, l->line, "list: if-field \"%.60s\" is not a <field name> of this form", if_field);
	else if (l->if_field->type != MAP_BOOLEAN || l->if_field->multiple)
		diag_add(L, l->line, "list: if-field \"%.60s\" must name a type=\"boolean\" field "
		         "without multiple=\"true\" (field at line %d)", if_field, l->if_field->line);
	free(if_field);
}

/*
 * The steps after the contact: <account>, <list>, <note>. They point into
 * f->fields, so they come after every field is loaded (that array is never
 * reallocated).
 */
static void load_steps(struct loader *L, const xmlNode *n, struct map_form *f)
{
	size_t n_lists = count_children(n, "list");
	const xmlNode *c;

	if ((c = single_child(L, n, "account", false)) != NULL &&
	    (f->account_field = value_field(L, f, c, "name-field")) != NULL)
		f->fields[f->account_field - f->fields].feeds_step = true;
	if ((c = single_child(L, n, "note", false)) != NULL) {
		if ((f->note_field = value_field(L, f, c, "field")) != NULL)
			f->fields[f->note_field - f->fields].feeds_step = true;
		f->note_title = attr_dup(L, c, "title");
		if (f->note_title && (strlen(f->note_title) > MAP_MAX_NOTE_TITLE || has_ctl(f->note_title)))
			diag_add(L, line_of(c), "note: title is longer than %u bytes or holds control characters",
			         MAP_MAX_NOTE_TITLE);
	}
	if (n_lists == 0 || !within(L, n, n_lists, MAP_MAX_LISTS, "<list>"))
		return;
	if (!(f->lists = calloc(n_lists, sizeof *f->lists))) {
		L->nomem = true;
		return;
	}
	for (c = n->children; c && !L->nomem; c = c->next)
		if (is_el(c, "list"))
			load_list(L, c, f);
}

/* Why a subject template is not one, or NULL: each {trait} must name a
 * trait of the form's fields or constants. */
static const char *subject_problem(const struct map_form *f, const char *t, char *bad,
                                   size_t badsize)
{
	if (strlen(t) > MAP_MAX_SUBJECT || has_ctl(t)) {
		snprintf(bad, badsize, "is longer than %u bytes or holds control characters",
		         MAP_MAX_SUBJECT);
		return bad;
	}
	for (const char *p = strchr(t, '{'); p; p = strchr(p + 1, '{')) {
		const char *end = strchr(p, '}');
		size_t len = end ? (size_t)(end - p - 1) : 0;
		bool known = false;

		if (!end || len == 0)
			return "has a '{' without a trait name and '}' after it";
		for (size_t i = 0; i < f->n_fields && !known; i++)
			known = strlen(f->fields[i].trait) == len && memcmp(f->fields[i].trait, p + 1, len) == 0;
		for (size_t i = 0; i < f->n_constants && !known; i++)
			known = strlen(f->constants[i].trait) == len &&
			        memcmp(f->constants[i].trait, p + 1, len) == 0;
		if (!known) {
			snprintf(bad, badsize, "names {%.*s}, which is no trait of this form",
			         (int)(len > 60 ? 60 : len), p + 1);
			return bad;
		}
	}
	return NULL;
}

/* <notify to subject reply-to-visitor>'s own attributes. */
static void load_notify(struct loader *L, const xmlNode *n, struct map_form *f,
                        struct map_dest *d)
{
	char *to = attr_dup(L, n, "to"), *save = NULL, bad[128];
	const char *why;

	d->reply_to_visitor = attr_bool(L, n, "reply-to-visitor");
	d->subject = attr_dup(L, n, "subject");
	if (d->subject && (why = subject_problem(f, d->subject, bad, sizeof bad)) != NULL)
		diag_add(L, d->line, "notify: subject %s", why);
	if (!to)
		return;
	if (!(d->to = calloc(MAP_MAX_RECIPIENTS, sizeof *d->to))) {
		L->nomem = true;
		free(to);
		return;
	}
	for (char *a = strtok_r(to, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		text_trim(a);
		if (d->n_to == MAP_MAX_RECIPIENTS) {
			diag_add(L, d->line, "notify: more than %u addresses in to", MAP_MAX_RECIPIENTS);
			break;
		}
		if ((why = addr_problem(a)) != NULL)
			diag_add(L, d->line, "notify: to \"%.60s\" %s", a, why);
		else if (!(d->to[d->n_to++] = strdup(a)))
			L->nomem = true;
	}
	if (d->n_to == 0 && !L->nomem)
		diag_add(L, d->line, "notify: to names no address");
	free(to);
}

/* One destination element of the form, at f->dests[f->n_dests]. */
static void load_dest(struct loader *L, const xmlNode *n, struct map_form *f,
                      const struct map_settings *s)
{
	struct map_dest *d = &f->dests[f->n_dests++];   /* counted first, for mapping_free */
	const char *why;

	d->line = line_of(n);
	d->kind = is_el(n, "notify") ? MAP_DEST_NOTIFY : is_el(n, "webhook") ? MAP_DEST_WEBHOOK
	                                                                     : MAP_DEST_FORWARD;
	d->name = attr_dup(L, n, "name");
	if (!d->name && !L->nomem)
		d->name = dup_or_flag(L, map_dest_kind_name(d->kind));
	if (!d->name)
		return;
	if (strcmp(d->name, MAP_CRM_NAME) == 0)
		diag_add(L, d->line, "%s: the name \"%s\" is Freshmarketer's", (const char *)n->name,
		         d->name);
	for (size_t i = 0; i + 1 < f->n_dests; i++)
		if (strcmp(f->dests[i].name, d->name) == 0) {
			diag_add(L, d->line, "%s: a destination named \"%s\" is already in this form "
			         "(line %d): give each a name=\"...\"", (const char *)n->name, d->name,
			         f->dests[i].line);
			break;
		}
	switch (d->kind) {
	case MAP_DEST_NOTIFY:
		if (!s->smtp.url)
			diag_add(L, d->line, "notify needs an <smtp> in the settings");
		load_notify(L, n, f, d);
		break;
	case MAP_DEST_WEBHOOK:
		if ((d->url = attr_dup(L, n, "url")) != NULL &&
		    (why = url_problem(L, d->url, URL_API_BASE, NULL)) != NULL)
			diag_add(L, d->line, "webhook: url %s", why);
		/* As long as a signing key: the receiver's only proof. */
		load_secret(L, n, "secret-file", SIGN_KEY_MIN, &d->secret_file, &d->secret);
		break;
	case MAP_DEST_FORWARD:
		if (!s->segment.endpoint)
			diag_add(L, d->line, "forward to=\"segment\" needs a <segment> in the settings");
		break;
	}
}

/* A min-score: "0" or "1", then at most 6 decimals, at most 1. Counted in
 * millionths, so that "0.3" is the double a JSON reader makes of 0.3. False
 * when it is anything else. */
static bool parse_score(const char *v, double *out)
{
	long micro = 0, unit = 100000;
	size_t i = 1;

	if (v[0] != '0' && v[0] != '1')
		return false;
	if (v[1] == '.') {
		for (i = 2; v[i] >= '0' && v[i] <= '9' && i < 8; i++, unit /= 10)
			micro += (v[i] - '0') * unit;
		if (i == 2)
			return false;
	}
	micro += (v[0] - '0') * 1000000L;
	if (v[i] != '\0' || micro > 1000000L)
		return false;
	*out = (double)micro / 1e6;
	return true;
}

/* <captcha hostname>: host names separated by white space, kept lower-cased
 * with one space between (captcha.c walks them so); NULL when absent or
 * wrong (reported). */
static char *load_captcha_hosts(struct loader *L, const xmlNode *n, int line)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
	char *v = attr_dup_max(L, n, "hostname", MAP_MAX_CAPTCHA_HOSTS * (MAP_MAX_HOSTNAME + 1),
	                       "captcha");
	char *tok, *save = NULL;
	size_t count = 0, out = 0;

	if (!v)
		return NULL;
	/* Compacted in place: out never passes the token being copied. */
	for (tok = strtok_r(v, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		size_t len = strlen(tok);

		if (++count > MAP_MAX_CAPTCHA_HOSTS || len > MAP_MAX_HOSTNAME ||
		    strspn(tok, chars) != len || tok[0] == '.' || tok[0] == '-')
			break;
		if (out)
			v[out++] = ' ';
		for (size_t i = 0; i < len; i++)
			v[out++] = (char)(tok[i] >= 'A' && tok[i] <= 'Z' ? tok[i] - 'A' + 'a' : tok[i]);
	}
	if (tok || count == 0) {
		diag_add(L, line, "captcha: hostname must be 1 to %u host names (letters, digits, "
		         "'.' and '-', at most %u bytes each) separated by spaces",
		         MAP_MAX_CAPTCHA_HOSTS, MAP_MAX_HOSTNAME);
		free(v);
		return NULL;
	}
	v[out] = '\0';
	return v;
}

/* <captcha action>: Turnstile's and reCAPTCHA v3's; hCaptcha answers none. */
static void load_captcha_action(struct loader *L, const xmlNode *n, struct map_captcha *c)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/-";

	if (!(c->action = attr_dup_max(L, n, "action", MAP_MAX_CAPTCHA_ACTION, "captcha")))
		return;
	if (!c->action[0] || strspn(c->action, chars) != strlen(c->action))
		diag_add(L, c->line, "captcha: action must be letters, digits, '_', '/' and '-'");
	else if (c->provider == MAP_CAPTCHA_HCAPTCHA)
		diag_add(L, c->line, "captcha: action is for provider=\"turnstile\" or \"recaptcha\" "
		         "(v3) only: hcaptcha returns no action to hold it against");
}

/*
 * <captcha provider secret-file [min-score] [on-unavailable] [hostname]
 * [action]/>. min-score only for reCAPTCHA: Turnstile returns no score, and
 * hCaptcha Enterprise's is a risk score (higher is worse), which a minimum
 * would turn upside down.
 */
static void load_captcha(struct loader *L, const xmlNode *n, struct map_captcha *c)
{
	char *prov = attr_dup(L, n, "provider"), *score = attr_dup(L, n, "min-score");
	char *unav = attr_dup(L, n, "on-unavailable");

	c->line = line_of(n);
	c->min_score = MAP_NO_MIN_SCORE;
	for (size_t i = 1; prov && i < sizeof captcha_providers / sizeof captcha_providers[0]; i++)
		if (strcmp(text_trim(prov), captcha_providers[i].name) == 0)
			c->provider = (enum map_captcha_provider)i;
	if (prov && c->provider == MAP_CAPTCHA_NONE)
		diag_add(L, c->line, "captcha: provider must be turnstile, hcaptcha or recaptcha");
	if (score && !parse_score(text_trim(score), &c->min_score))
		diag_add(L, c->line, "captcha: min-score must be a number from 0 to 1");
	else if (score && c->provider != MAP_CAPTCHA_RECAPTCHA && c->provider != MAP_CAPTCHA_NONE)
		diag_add(L, c->line, "captcha: min-score is for provider=\"recaptcha\" (v3) only: "
		         "%s returns no score to hold it against", map_captcha_name(c->provider));
	c->accept_unavailable = unav && strcmp(text_trim(unav), "accept") == 0;
	c->hostnames = load_captcha_hosts(L, n, c->line);
	load_captcha_action(L, n, c);
	/* As any secret: a file others can neither read nor write. */
	load_secret(L, n, "secret-file", 1, &c->secret_file, &c->secret);
	free(prov);
	free(score);
	free(unav);
}

/* The captcha's token field is fmgate's: never a trait, the honeypot or a
 * userId, so that the single-use token goes nowhere but to the provider. */
static void check_captcha_field(struct loader *L, const struct map_form *f)
{
	const char *tok = map_captcha_field(f->captcha.provider);
	const struct map_field *fd;

	if (!tok)
		return;
	if ((fd = map_form_field(f, tok)) != NULL)
		diag_add(L, fd->line, "field \"%s\" holds the %s token: it is read by fmgate, "
		         "never mapped", tok, map_captcha_name(f->captcha.provider));
	if (f->honeypot && strcmp(f->honeypot, tok) == 0)
		diag_add(L, f->line, "honeypot \"%s\" is the %s token field", tok,
		         map_captcha_name(f->captcha.provider));
	for (size_t i = 0; i < f->n_user_id + f->n_anonymous_id; i++) {
		const struct map_source *src = i < f->n_user_id ? &f->user_id[i]
		                                                : &f->anonymous_id[i - f->n_user_id];

		if (src->kind == MAP_SRC_FIELD && src->name && strcmp(src->name, tok) == 0)
			diag_add(L, f->line, "from-field \"%s\" is the %s token field", tok,
			         map_captcha_name(f->captcha.provider));
	}
}

/* <notify>, <webhook>, <forward>: after the fields, which a subject names. */
static void load_dests(struct loader *L, const xmlNode *n, struct map_form *f,
                       const struct map_settings *s)
{
	size_t nd = count_children(n, "notify") + count_children(n, "webhook") +
	            count_children(n, "forward");

	if (nd == 0 || !within(L, n, nd, MAP_MAX_DESTS, "destinations"))
		return;
	if (!(f->dests = calloc(nd, sizeof *f->dests))) {
		L->nomem = true;
		return;
	}
	for (const xmlNode *c = n->children; c && !L->nomem; c = c->next)
		if (is_el(c, "notify") || is_el(c, "webhook") || is_el(c, "forward"))
			load_dest(L, c, f, s);
}

static void load_form(struct loader *L, const xmlNode *n, struct map_form *f,
                      const struct map_settings *s)
{
	const xmlNode *c;
	const char *why;

	f->line = line_of(n);
	f->id = attr_dup(L, n, "id");
	if (!f->id)
		return;
	if ((c = single_child(L, n, "redirect", true)) != NULL) {
		f->success_url = attr_dup(L, c, "success");
		f->failure_url = attr_dup(L, c, "failure");
		if (f->success_url && (why = url_problem(L, f->success_url, URL_TARGET, NULL)) != NULL)
			diag_add(L, line_of(c), "redirect success %s", why);
		if (f->failure_url && (why = url_problem(L, f->failure_url, URL_TARGET, NULL)) != NULL)
			diag_add(L, line_of(c), "redirect failure %s", why);
	}
	f->rate = s->rate;
	if ((c = single_child(L, n, "rate-limit", false)) != NULL)
		load_rate(L, c, &f->rate);
	if ((c = single_child(L, n, "honeypot", false)) != NULL) {
		f->honeypot = attr_dup(L, c, "field");
		if (f->honeypot && (why = name_problem(f->honeypot, false)) != NULL)
			diag_add(L, line_of(c), "honeypot field %s", why);
	}
	if ((c = single_child(L, n, "user-id", true)) != NULL)
		load_id(L, c, true, &f->user_id, &f->n_user_id);
	if ((c = single_child(L, n, "anonymous-id", false)) != NULL && !L->nomem)
		load_id(L, c, false, &f->anonymous_id, &f->n_anonymous_id);
	f->context_ip = s->context_ip;
	if ((c = single_child(L, n, "context", false)) != NULL && xmlHasProp(c, (const xmlChar *)"ip"))
		f->context_ip = attr_bool(L, c, "ip");
	if ((c = single_child(L, n, "captcha", false)) != NULL && !L->nomem)
		load_captcha(L, c, &f->captcha);
	if (!L->nomem && load_items(L, n, f, s) && !L->nomem) {
		check_form(L, f);
		check_captcha_field(L, f);
		load_steps(L, n, f);
		if (!L->nomem)
			load_dests(L, n, f, s);
	}
}

/* ---- the document ---- */

static void load_doc(struct loader *L, const xmlDoc *doc, struct mapping *m)
{
	const xmlNode *root = xmlDocGetRootElement(doc);
	const xmlNode *s, *c;
	size_t nf;

	m->settings.delivery_mode = MAP_DELIVERY_SYNC;
	m->settings.timeout_ms = LIMIT_DEFAULT_TIMEOUT_MS;
	m->settings.limits.max_body = LIMIT_DEFAULT_MAX_BODY;
	m->settings.limits.max_fields = LIMIT_DEFAULT_MAX_FIELDS;
	m->settings.limits.max_value = LIMIT_DEFAULT_MAX_VALUE;
	m->settings.read_timeout_ms = LIMIT_DEFAULT_READ_TIMEOUT_MS;
	m->settings.rate = (struct map_rate){ MAP_DEFAULT_PER_IP, MAP_DEFAULT_PER_FORM,
	                                      MAP_DEFAULT_WINDOW };
	/* Settings first: fields are checked against <limits> wherever it stands. */
	if ((s = single_child(L, root, "settings", false)) != NULL)
		load_settings(L, s, &m->settings);
	nf = count_children(root, "form");
	if (nf == 0)
		diag_add(L, line_of(root), "<fmgate> needs a <form>");
	if (!within(L, root, nf, MAP_MAX_FORMS, "<form>"))
		return;
	m->forms = calloc(nf ? nf : 1, sizeof *m->forms);
	if (!m->forms) {
		L->nomem = true;
		return;
	}
	for (c = root->children; c && !L->nomem; c = c->next) {
		struct map_form *f;
		const struct map_form *prev;

		if (!is_el(c, "form"))
			continue;
		f = &m->forms[m->n_forms];
		load_form(L, c, f, &m->settings);
		if (!f->id)
			break;   /* out of memory */
		if ((prev = mapping_form(m, f->id)) != NULL)
			diag_add(L, f->line, "duplicate form id \"%s\" (first at line %d)", f->id, prev->line);
		m->n_forms++;
	}
}

/* Any DOCTYPE, with or without an internal subset, ends the parse before
 * libxml2 reads a declaration: no entity can be defined, expanded or fetched. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                       const xmlChar *sys_id)
{
	xmlParserCtxtPtr pc = ctx;
	struct loader *L = pc->_private;

	(void)name;
	(void)ext_id;
	(void)sys_id;
	L->dtd_seen = true;
	L->dtd_line = pc->input ? pc->input->line : 0;
	xmlStopParser(pc);
}

/* Lines in buf as libxml2 counts them: by LF (a lone CR does not count). */
static size_t count_lines(const char *buf, size_t len)
{
	size_t n = 1;

	for (const char *p = buf; (p = memchr(p, '\n', len - (size_t)(p - buf))) != NULL; p++)
		n++;
	return n;
}

/* Parses buf into a tree, or NULL with the problems in L. */
static xmlDocPtr parse_xml(struct loader *L, const char *buf, size_t len, const char *name)
{
	xmlParserCtxtPtr pc = xmlNewParserCtxt();
	xmlDocPtr doc = NULL;

	if (!pc) {
		L->nomem = true;
		return NULL;
	}
	pc->_private = L;
	pc->sax->internalSubset = on_doctype;
	/* No NOENT, DTDLOAD, DTDATTR or XINCLUDE: nothing outside buf is read. */
	doc = xmlCtxtReadMemory(pc, buf, (int)len, name, NULL, XML_PARSE_NONET | XML_PARSE_NOCDATA);
	if (L->dtd_seen || (doc && (doc->intSubset || doc->extSubset))) {
		diag_add(L, L->dtd_line, "DTDs are not allowed (no <!DOCTYPE>)");
		xmlFreeDoc(doc);
		doc = NULL;
	} else if (doc && !xmlDocGetRootElement(doc)) {
		diag_add(L, 0, "no root element");
		xmlFreeDoc(doc);
		doc = NULL;
	} else if (!doc && L->n_errors == 0) {
		diag_add(L, 0, "not well-formed XML");
	}
	xmlFreeParserCtxt(pc);
	return doc;
}

/* The compiled schema, built once per process from the embedded text. */
static xmlRelaxNGPtr schema_get(struct loader *L)
{
	static xmlRelaxNGPtr schema;
	xmlRelaxNGParserCtxtPtr pc;

	if (schema)
		return schema;
	pc = xmlRelaxNGNewMemParserCtxt(fmgate_schema_rng, (int)strlen(fmgate_schema_rng));
	if (!pc)
		return NULL;
	xmlRelaxNGSetParserStructuredErrors(pc, xml_error, L);
	schema = xmlRelaxNGParse(pc);
	xmlRelaxNGFreeParserCtxt(pc);
	return schema;
}

static bool validate(struct loader *L, xmlDocPtr doc)
{
	xmlRelaxNGPtr schema = schema_get(L);
	xmlRelaxNGValidCtxtPtr vc;
	size_t before = L->n_errors;
	int rc;

	if (!schema) {
		diag_add(L, 0, "internal error: the built-in schema does not compile");
		return false;
	}
	vc = xmlRelaxNGNewValidCtxt(schema);
	if (!vc) {
		L->nomem = true;
		return false;
	}
	xmlRelaxNGSetValidStructuredErrors(vc, xml_error, L);
	rc = xmlRelaxNGValidateDoc(vc, doc);
	xmlRelaxNGFreeValidCtxt(vc);
	if (rc != 0 && L->n_errors == before)
		diag_add(L, 0, "does not match the schema");
	return rc == 0;
}

enum map_err mapping_load_buffer(const char *buf, size_t len, const char *name,
                                 struct mapping **out, struct map_diags *diags)
{
	struct loader L = { .diags = diags };
	xmlStructuredErrorFunc old_fn = xmlStructuredError;
	void *old_ctx = xmlStructuredErrorContext;
	struct mapping *m = NULL;
	xmlDocPtr doc = NULL;
	enum map_err rc;

	*out = NULL;
	if (len > LIMIT_MAX_MAPPING_FILE) {
		diag_add(&L, 0, "file is larger than %u bytes", LIMIT_MAX_MAPPING_FILE);
		return MAP_EIO;
	}
	/* libxml2 keeps an element's line in 16 bits, 65535 meaning "somewhere
	 * further": past MAP_MAX_LINES, no line we report could be trusted. */
	if (count_lines(buf, len) > MAP_MAX_LINES) {
		diag_add(&L, 0, "file has more than %u lines", MAP_MAX_LINES);
		return MAP_EINVALID;
	}
	/* Every libxml2 message of this load goes to the diags, never to stderr. */
	xmlSetStructuredErrorFunc(&L, xml_error);
	doc = parse_xml(&L, buf, len, name ? name : "mapping");
	if (!doc || L.n_errors || L.nomem || !validate(&L, doc))
		goto done;
	m = calloc(1, sizeof *m);
	if (!m || !(m->path = strdup(name ? name : "mapping"))) {
		L.nomem = true;
		goto done;
	}
	load_doc(&L, doc, m);
done:
	xmlSetStructuredErrorFunc(old_ctx, old_fn);
	diags_sort(diags);
	xmlFreeDoc(doc);
	if (L.nomem)
		rc = MAP_ENOMEM;
	else if (L.n_errors || !m)
		rc = MAP_EINVALID;
	else
		rc = MAP_OK;
	if (rc == MAP_OK)
		*out = m;
	else
		mapping_free(m);
	return rc;
}

/* Reads the whole regular file within LIMIT_MAX_MAPPING_FILE; st receives
 * its identity. */
static enum map_err read_file(struct loader *L, const char *path, char **buf,
                              size_t *len, struct stat *st)
{
	enum map_err rc = MAP_EIO;
	char *b = NULL;
	size_t got = 0;
	int fd;

	*buf = NULL;
	/* O_NONBLOCK: a FIFO in its place must not hang a worker. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		diag_add(L, 0, "cannot open: %s", strerror(errno));
		/* Remember what is there, so the holder retries only on a change. */
		if (stat(path, st) != 0)
			memset(st, 0, sizeof *st);
		return MAP_EIO;
	}
	if (fstat(fd, st) != 0) {
		diag_add(L, 0, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		diag_add(L, 0, "not a regular file");
		goto out;
	}
	if (st->st_size > (off_t)LIMIT_MAX_MAPPING_FILE) {
		diag_add(L, 0, "file is larger than %u bytes", LIMIT_MAX_MAPPING_FILE);
		goto out;
	}
	/* One byte more than the cap, to notice a file that grew since fstat. */
	b = malloc(LIMIT_MAX_MAPPING_FILE + 1);
	if (!b) {
		L->nomem = true;
		rc = MAP_ENOMEM;
		goto out;
	}
	while (got < LIMIT_MAX_MAPPING_FILE + 1) {
		ssize_t n = read(fd, b + got, LIMIT_MAX_MAPPING_FILE + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			diag_add(L, 0, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > LIMIT_MAX_MAPPING_FILE) {
		diag_add(L, 0, "file is larger than %u bytes", LIMIT_MAX_MAPPING_FILE);
		goto out;
	}
	*buf = b;
	*len = got;
	b = NULL;
	rc = MAP_OK;
out:
	free(b);
	close(fd);
	return rc;
}

static enum map_err load_file(const char *path, struct mapping **out,
                              struct map_diags *diags, struct stat *st)
{
	struct loader L = { .diags = diags };
	char *buf = NULL;
	size_t len = 0;
	enum map_err rc;

	*out = NULL;
	memset(st, 0, sizeof *st);
	rc = read_file(&L, path, &buf, &len, st);
	if (rc == MAP_OK)
		rc = mapping_load_buffer(buf, len, path, out, diags);
	free(buf);
	return rc;
}

enum map_err mapping_load(const char *path, struct mapping **out, struct map_diags *diags)
{
	struct stat st;

	return load_file(path, out, diags, &st);
}

/* ---- the holder ---- */

static void log_diags(const char *path, const struct map_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].line > 0)
			log_msg(LOG_ERR, "%s:%d: %s", path, d->v[i].line, d->v[i].message);
		else
			log_msg(LOG_ERR, "%s: %s", path, d->v[i].message);
	}
}

static void holder_remember(struct mapping_holder *h, const struct stat *st)
{
	h->dev = st->st_dev;
	h->ino = st->st_ino;
	h->size = st->st_size;
	h->mtime = st->st_mtim;
}

static bool holder_changed(const struct mapping_holder *h, const struct stat *st)
{
	return st->st_dev != h->dev || st->st_ino != h->ino || st->st_size != h->size ||
	       st->st_mtim.tv_sec != h->mtime.tv_sec || st->st_mtim.tv_nsec != h->mtime.tv_nsec;
}

/* Loads the file into the holder; a failure keeps what it had. The identity
 * of the version read is remembered either way, so a broken file is reported
 * once, not every second. */
static enum map_err holder_load(struct mapping_holder *h)
{
	struct map_diags d = { 0 };
	struct mapping *m = NULL;
	struct stat st;
	enum map_err rc = load_file(h->path, &m, &d, &st);

	holder_remember(h, &st);
	if (rc == MAP_OK) {
		mapping_free(h->current);
		h->current = m;
		h->generation++;
	} else {
		log_diags(h->path, &d);
		log_msg(LOG_ERR, "%s: %s; %s", h->path, map_strerror(rc),
		        h->current ? "keeping the last good version" : "no forms are served");
	}
	map_diags_free(&d);
	return rc;
}

enum map_err mapping_holder_init(struct mapping_holder *h, const char *path)
{
	memset(h, 0, sizeof *h);
	h->checked_at = time(NULL);
	h->path = strdup(path);
	if (!h->path)
		return MAP_ENOMEM;
	return holder_load(h);
}

const struct mapping *mapping_holder_get(struct mapping_holder *h)
{
	time_t now = time(NULL);
	struct stat st;

	/* Not only now > checked_at: after the clock went back, check at once. */
	if (!h->path || now == h->checked_at)
		return h->current;
	h->checked_at = now;
	if (stat(h->path, &st) != 0) {
		int err = errno;

		/* Gone: say so once, and load it again when it comes back. */
		memset(&st, 0, sizeof st);
		if (holder_changed(h, &st)) {
			log_msg(LOG_ERR, "%s: %s; %s", h->path, strerror(err),
			        h->current ? "keeping the last good version" : "no forms are served");
			holder_remember(h, &st);
		}
	} else if (holder_changed(h, &st) && holder_load(h) == MAP_OK) {
		log_msg(LOG_INFO, "%s: reloaded (%zu forms)", h->path, h->current->n_forms);
	}
	return h->current;
}

void mapping_holder_free(struct mapping_holder *h)
{
	if (!h)
		return;
	mapping_free(h->current);
	free(h->path);
	memset(h, 0, sizeof *h);
}
