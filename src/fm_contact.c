/* fm_contact.c: traits to Freshmarketer contact fields (SPEC §6). */
#include "fm_contact.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "log.h"
#include "text.h"

static const struct {
	const char *trait;
	const char *field;
} reserved[] = {
	{"firstName", "first_name"},        {"lastName", "last_name"},
	{"title", "job_title"},             {"phone", "work_number"},
	{"mobile", "mobile_number"},        {"address.street", "address"},
	{"address.city", "city"},           {"address.state", "state"},
	{"address.postalCode", "zipcode"},  {"address.country", "country"},
};

/* Fields that give a contact to a user or change how it is treated: never by label. */
static const char *const privileged[] = {
	"owner_id", "territory_id", "lead_source_id", "lifecycle_stage_id",
	"contact_status_id", "subscription_status", "subscription_types",
};

/* Built-in fields known to be text, so they need no field list. */
static const char *const builtin_text[] = {
	"first_name", "last_name", "job_title", "work_number", "mobile_number",
	"address", "city", "state", "zipcode", "country", "time_zone", "medium",
	"keyword",
};

#define IN_LIST(list, s) in_list(list, sizeof list / sizeof list[0], s)

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static const char *reserved_field(const char *trait)
{
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strcmp(reserved[i].trait, trait) == 0)
			return reserved[i].field;
	return NULL;
}

static bool is_identity(const char *field)
{
	return strcmp(field, "emails") == 0 || strcmp(field, "external_id") == 0;
}

static bool ends_with_id(const char *field)
{
	size_t n = strlen(field);
	return n > 3 && strcmp(field + n - 3, "_id") == 0 && !is_identity(field);
}

/* The form's fm-field for this trait, or NULL. */
static const char *override_for(const struct map_form *form, const char *trait)
{
	for (size_t i = 0; form && i < form->n_fields; i++)
		if (form->fields[i].fm_field && strcmp(form->fields[i].trait, trait) == 0)
			return form->fields[i].fm_field;
	for (size_t i = 0; form && i < form->n_constants; i++)
		if (form->constants[i].fm_field && strcmp(form->constants[i].trait, trait) == 0)
			return form->constants[i].fm_field;
	return NULL;
}

/*
 * "Left out" is logged once per form, trait and reason per process: a busy
 * form would otherwise repeat the same line for every visitor. The set is
 * fixed-size; once full, lines are no longer deduplicated.
 */
enum drop_reason { DROP_NOMATCH, DROP_PRIVILEGED, DROP_IDENTITY, DROP_TAKEN, DROP_BADVALUE };
#define SEEN_SLOTS 1024u
static uint64_t seen[SEEN_SLOTS];

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static bool first_time(const char *form_id, const char *trait, enum drop_reason r)
{
	char tag = (char)('0' + r);
	uint64_t h = 14695981039346656037ULL;

	h = fnv1a(h, form_id, strlen(form_id) + 1);
	h = fnv1a(h, trait, strlen(trait) + 1);
	h = fnv1a(h, &tag, 1);
	if (h == 0)
		h = 1;
	for (size_t i = 0, s = (size_t)(h % SEEN_SLOTS); i < SEEN_SLOTS; i++, s = (s + 1) % SEEN_SLOTS) {
		if (seen[s] == h)
			return false;
		if (seen[s] == 0) {
			seen[s] = h;
			return true;
		}
	}
	return true;
}

/* Trait names come from the mapping file, never from a submission. */
static void drop(const struct map_form *form, const char *trait, const char *field,
                 enum drop_reason r)
{
	const char *fid = form && form->id ? form->id : "-";

	if (!first_time(fid, trait, r))
		return;
	switch (r) {
	case DROP_NOMATCH:
		log_msg(LOG_WARN, "form %s: trait \"%s\" matches no Freshmarketer field label; "
		        "left out", fid, trait);
		break;
	case DROP_PRIVILEGED:
		log_msg(LOG_WARN, "form %s: trait \"%s\" matches privileged field %s by label; "
		        "left out (name it with fm-field to set it)", fid, trait, field);
		break;
	case DROP_IDENTITY:
		log_msg(LOG_WARN, "form %s: trait \"%s\" would set %s, which only userId and "
		        "email set; left out", fid, trait, field);
		break;
	case DROP_TAKEN:
		log_msg(LOG_WARN, "form %s: trait \"%s\" reaches field %s, already set by "
		        "another trait; left out", fid, trait, field);
		break;
	case DROP_BADVALUE:
		log_msg(LOG_WARN, "form %s: a value of trait \"%s\" does not fit field %s; "
		        "left out", fid, trait, field);
		break;
	}
}

/* ---- values ------------------------------------------------------------ */

enum conv { CONV_OK, CONV_EMPTY, CONV_BAD, CONV_ENOMEM };

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n' && *s != '\f' && *s != '\v')
			return false;
	return true;
}

/* Absent, null, blank strings and lists of only such values are not sent. */
static bool is_empty(const cJSON *v)
{
	const cJSON *e;

	if (!v || cJSON_IsNull(v) || cJSON_IsInvalid(v))
		return true;
	if (cJSON_IsString(v))
		return blank(v->valuestring);
	if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(e, v)
			if (!is_empty(e))
				return false;
		return true;
	}
	return false;
}

/* Text of a scalar (string, number, bool); NULL for anything else. */
static const char *scalar_text(const cJSON *v, char *buf, size_t size)
{
	double d;

	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (!cJSON_IsNumber(v))
		return NULL;
	d = v->valuedouble;
	if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(long long)d)
		snprintf(buf, size, "%lld", (long long)d);
	else
		snprintf(buf, size, "%.17g", d);
	return buf;
}

/* A list becomes its non-empty values joined with ", ". */
static enum conv to_text(const cJSON *v, cJSON **out)
{
	char nb[64], *s = NULL;
	const char *t;
	const cJSON *e;
	size_t len = 0, o = 0;

	if (!cJSON_IsArray(v)) {
		if (!(t = scalar_text(v, nb, sizeof nb)))
			return CONV_BAD;
		if (blank(t))
			return CONV_EMPTY;
		return (*out = cJSON_CreateString(t)) ? CONV_OK : CONV_ENOMEM;
	}
	cJSON_ArrayForEach(e, v) {
		if (!(t = scalar_text(e, nb, sizeof nb)))
			return CONV_BAD;
		if (!blank(t))
			len += strlen(t) + 2;
	}
	if (len == 0)
		return CONV_EMPTY;
	if (!(s = malloc(len + 1)))
		return CONV_ENOMEM;
	cJSON_ArrayForEach(e, v) {
		t = scalar_text(e, nb, sizeof nb);
		if (blank(t))
			continue;
		if (o) {
			memcpy(s + o, ", ", 2);
			o += 2;
		}
		memcpy(s + o, t, strlen(t));
		o += strlen(t);
	}
	s[o] = '\0';
	*out = cJSON_CreateString(s);
	free(s);
	return *out ? CONV_OK : CONV_ENOMEM;
}

/* A decimal number as JSON writes it; strtod alone would take "inf" or hex. */
static bool parse_number(const char *s, double *out)
{
	char *end;
	double d;

	if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
		return false;
	errno = 0;
	d = strtod(s, &end);
	if (*end || errno || !isfinite(d))
		return false;
	*out = d;
	return true;
}

static enum conv to_number(const cJSON *v, cJSON **out)
{
	double d;

	if (cJSON_IsNumber(v))
		d = v->valuedouble;
	else if (!cJSON_IsString(v) || !parse_number(v->valuestring, &d))
		return CONV_BAD;
	return (*out = cJSON_CreateNumber(d)) ? CONV_OK : CONV_ENOMEM;
}

static enum conv to_checkbox(const cJSON *v, cJSON **out)
{
	static const char *const yes[] = {"on", "yes", "true", "1"};
	static const char *const no[] = {"off", "no", "false", "0"};
	int b = -1;

	if (cJSON_IsBool(v)) {
		b = cJSON_IsTrue(v);
	} else if (cJSON_IsNumber(v)) {
		b = v->valuedouble == 1 ? 1 : v->valuedouble == 0 ? 0 : -1;
	} else if (cJSON_IsString(v)) {
		for (size_t i = 0; i < 4 && b < 0; i++) {
			if (text_ieq(v->valuestring, yes[i]))
				b = 1;
			else if (text_ieq(v->valuestring, no[i]))
				b = 0;
		}
	}
	if (b < 0)
		return CONV_BAD;
	return (*out = cJSON_CreateBool(b)) ? CONV_OK : CONV_ENOMEM;
}

/* f may be NULL (field list unknown): an *_id field then takes an integer. */
static enum conv to_dropdown(const struct fmf_field *f, const char *name,
                             const cJSON *v, cJSON **out)
{
	char nb[64];
	const char *t = scalar_text(v, nb, sizeof nb);
	bool id = ends_with_id(name);
	long long n;

	if (!t || cJSON_IsBool(v))
		return CONV_BAD;
	for (size_t i = 0; f && i < f->n_choices; i++) {
		if (!text_ieq(t, f->choices[i].value))
			continue;
		*out = id ? cJSON_CreateNumber((double)f->choices[i].id)
		          : cJSON_CreateString(f->choices[i].value);
		return *out ? CONV_OK : CONV_ENOMEM;
	}
	if (id && text_parse_ll(t, -9007199254740992LL, 9007199254740992LL, &n)) {
		bool known = !f || f->n_choices == 0;
		for (size_t i = 0; f && i < f->n_choices && !known; i++)
			known = f->choices[i].id == n;
		if (!known)
			return CONV_BAD;
		return (*out = cJSON_CreateNumber((double)n)) ? CONV_OK : CONV_ENOMEM;
	}
	if (!id && (!f || f->n_choices == 0))
		return (*out = cJSON_CreateString(t)) ? CONV_OK : CONV_ENOMEM;
	return CONV_BAD;
}

static bool valid_date(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y = 0, m, d;

	for (int i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return false;
	for (int i = 0; i < 4; i++)
		y = y * 10 + (s[i] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return !(m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
}

/* YYYY-MM-DD, or the date part of an ISO 8601 timestamp. */
static enum conv to_date(const cJSON *v, cJSON **out)
{
	char day[11];
	const char *s;
	size_t n;

	if (!cJSON_IsString(v))
		return CONV_BAD;
	s = v->valuestring;
	n = strlen(s);
	if (n < 10 || (n > 10 && s[10] != 'T') || !valid_date(s))
		return CONV_BAD;
	memcpy(day, s, 10);
	day[10] = '\0';
	return (*out = cJSON_CreateString(day)) ? CONV_OK : CONV_ENOMEM;
}

static enum conv convert(const struct fm_fields *fields, const char *name,
                         const cJSON *v, cJSON **out)
{
	const struct fmf_field *f = fm_fields_by_name(fields, name);
	enum fmf_type type = FMF_OPAQUE;

	if (f)
		type = f->type;
	else if (IN_LIST(builtin_text, name))
		type = FMF_TEXT;
	else if (ends_with_id(name))
		type = FMF_DROPDOWN;
	switch (type) {
	case FMF_TEXT: return to_text(v, out);
	case FMF_NUMBER: return to_number(v, out);
	case FMF_CHECKBOX: return to_checkbox(v, out);
	case FMF_DROPDOWN: return to_dropdown(f, name, v, out);
	case FMF_DATE: return to_date(v, out);
	case FMF_GROUP:
	case FMF_OPAQUE: break;
	}
	return (*out = cJSON_Duplicate(v, true)) ? CONV_OK : CONV_ENOMEM;
}

/* ---- placing traits ------------------------------------------------------ */

struct build {
	const struct map_form *form;
	const struct fm_fields *fields;
	cJSON *contact;
	cJSON *custom;
	const cJSON *name;   /* the "name" trait, split at the end */
	bool needs_fields;
	bool nomem;
};

static void place(struct build *b, const char *trait, const char *field, const cJSON *v)
{
	cJSON *into = strncmp(field, "cf_", 3) == 0 ? b->custom : b->contact;
	cJSON *value = NULL;

	if (is_identity(field)) {
		drop(b->form, trait, field, DROP_IDENTITY);
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(into, field)) {
		drop(b->form, trait, field, DROP_TAKEN);
		return;
	}
	switch (convert(b->fields, field, v, &value)) {
	case CONV_OK:
		if (!cJSON_AddItemToObject(into, field, value)) {
			cJSON_Delete(value);
			b->nomem = true;
		}
		break;
	case CONV_EMPTY:
		break;
	case CONV_BAD:
		drop(b->form, trait, field, DROP_BADVALUE);
		break;
	case CONV_ENOMEM:
		b->nomem = true;
		break;
	}
}

/* Traits that the first pass consumes and the label pass must skip. */
static bool explicit_trait(const struct build *b, const char *trait)
{
	return strcmp(trait, "email") == 0 || strcmp(trait, "name") == 0 ||
	       override_for(b->form, trait) || reserved_field(trait);
}

typedef void leaf_fn(struct build *b, const char *trait, const cJSON *v);

/* The email is placed by fm_contact_build itself: it is an identity field. */
static void pass_explicit(struct build *b, const char *trait, const cJSON *v)
{
	const char *field;

	if (strcmp(trait, "email") == 0)
		return;
	if (!(field = override_for(b->form, trait)))
		field = reserved_field(trait);
	if (field)
		place(b, trait, field, v);
	else if (strcmp(trait, "name") == 0)
		b->name = v;
}

static void pass_label(struct build *b, const char *trait, const cJSON *v)
{
	const struct fmf_field *f;

	if (explicit_trait(b, trait) || !b->fields)
		return;
	if (!(f = fm_fields_by_label(b->fields, trait)))
		drop(b->form, trait, NULL, DROP_NOMATCH);
	else if (IN_LIST(privileged, f->name))
		drop(b->form, trait, f->name, DROP_PRIVILEGED);
	else
		place(b, trait, f->name, v);
}

static void pass_needs(struct build *b, const char *trait, const cJSON *v)
{
	const char *field = override_for(b->form, trait);

	(void)v;
	if (strcmp(trait, "email") == 0)
		return;
	if (field)
		b->needs_fields |= !IN_LIST(builtin_text, field) && !is_identity(field);
	else
		b->needs_fields |= !explicit_trait(b, trait);
}

/* Calls fn for each non-empty leaf of traits, with its dotted name. */
static void walk(struct build *b, const cJSON *obj, char *path, size_t len,
                 unsigned depth, leaf_fn *fn)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, obj) {
		size_t klen = item->string ? strlen(item->string) : 0;
		size_t at = len ? len + 1 : 0;

		/* Longer or deeper names cannot come from a valid mapping. */
		if (!klen || at + klen >= FMC_MAX_TRAIT_PATH)
			continue;
		if (len)
			path[len] = '.';
		memcpy(path + at, item->string, klen + 1);
		if (cJSON_IsObject(item)) {
			if (depth < LIMIT_MAX_TRAIT_DEPTH)
				walk(b, item, path, at + klen, depth + 1, fn);
		} else if (!is_empty(item)) {
			fn(b, path, item);
		}
		path[len] = '\0';
	}
}

static void walk_traits(struct build *b, const cJSON *identify, leaf_fn *fn)
{
	char path[FMC_MAX_TRAIT_PATH];
	const cJSON *traits = cJSON_GetObjectItemCaseSensitive(identify, "traits");

	path[0] = '\0';
	if (cJSON_IsObject(traits))
		walk(b, traits, path, 0, 1, fn);
}

/* "Ann Marie Lee": first_name "Ann", last_name "Marie Lee", each only if unset. */
static void split_name(struct build *b)
{
	char *copy, *rest;
	size_t n;

	if (!cJSON_IsString(b->name))
		return;
	if (!(copy = strdup(b->name->valuestring))) {
		b->nomem = true;
		return;
	}
	text_trim(copy);
	n = strcspn(copy, " \t\r\n\f\v");
	rest = copy + n;
	if (*rest)
		*rest++ = '\0';
	text_trim(rest);
	if (*copy && !cJSON_GetObjectItemCaseSensitive(b->contact, "first_name") &&
	    !cJSON_AddStringToObject(b->contact, "first_name", copy))
		b->nomem = true;
	if (*rest && !cJSON_GetObjectItemCaseSensitive(b->contact, "last_name") &&
	    !cJSON_AddStringToObject(b->contact, "last_name", rest))
		b->nomem = true;
	free(copy);
}

const char *fm_contact_user_id(const cJSON *identify)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(identify, "userId");
	return cJSON_IsString(u) && u->valuestring[0] ? u->valuestring : NULL;
}

const char *fm_contact_email(const cJSON *identify)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(identify, "traits");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(t, "email");
	return cJSON_IsString(e) && e->valuestring[0] ? e->valuestring : NULL;
}

bool fm_contact_needs_fields(const cJSON *identify, const struct map_form *form)
{
	struct build b = {.form = form};

	walk_traits(&b, identify, pass_needs);
	return b.needs_fields;
}

enum fmc_err fm_contact_build(const cJSON *identify, const struct map_form *form,
                              const struct fm_fields *fields, enum fmc_key key,
                              cJSON **out)
{
	const char *uid = fm_contact_user_id(identify);
	const char *email = fm_contact_email(identify);
	struct build b = {.form = form, .fields = fields};
	cJSON *root = NULL, *ident;
	enum fmc_err err = FMC_ENOIDENT;

	*out = NULL;
	if (key == FMC_KEY_EXTERNAL_ID ? !uid : !email)
		goto fail;
	err = FMC_ENOMEM;
	if (!(root = cJSON_CreateObject()) ||
	    !(ident = cJSON_AddObjectToObject(root, "unique_identifier")) ||
	    !cJSON_AddStringToObject(ident, key == FMC_KEY_EXTERNAL_ID ? "external_id" : "emails",
	                             key == FMC_KEY_EXTERNAL_ID ? uid : email) ||
	    !(b.contact = cJSON_AddObjectToObject(root, "contact")) ||
	    (uid && !cJSON_AddStringToObject(b.contact, "external_id", uid)) ||
	    (email && !cJSON_AddStringToObject(b.contact, "emails", email)) ||
	    !(b.custom = cJSON_CreateObject()))
		goto fail;
	walk_traits(&b, identify, pass_explicit);
	walk_traits(&b, identify, pass_label);
	split_name(&b);
	if (b.nomem)
		goto fail;
	if (b.custom->child) {
		if (!cJSON_AddItemToObject(b.contact, "custom_field", b.custom))
			goto fail;
		b.custom = NULL;
	}
	cJSON_Delete(b.custom);
	*out = root;
	return FMC_OK;
fail:
	cJSON_Delete(b.custom);
	cJSON_Delete(root);
	return err;
}

const char *fmc_strerror(enum fmc_err e)
{
	switch (e) {
	case FMC_OK: return "ok";
	case FMC_ENOIDENT: return "identify message lacks the userId or email to key on";
	case FMC_ENOMEM: return "out of memory";
	}
	return "unknown error";
}
