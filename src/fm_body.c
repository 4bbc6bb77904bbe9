/* fm_body.c: traits to Freshmarketer contact fields (docs/freshmarketer.md). */
#include "fm_body.h"

#include <math.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldtype.h"
#include "fmgate_limits.h"
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

/* strcmp() == 0, with the first byte compared in line: every trait of every
 * delivery is held against these short lists several times. */
static bool same(const char *a, const char *b)
{
	return a[0] == b[0] && strcmp(a, b) == 0;
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (same(list[i], s))
			return true;
	return false;
}

static const char *reserved_field(const char *trait)
{
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (same(reserved[i].trait, trait))
			return reserved[i].field;
	return NULL;
}

static bool is_identity(const char *field)
{
	return same(field, "emails") || same(field, "external_id");
}

/* In any case: a custom field's name is the account's to choose. */
static bool ends_with_id(const char *field)
{
	size_t n = strlen(field);
	return n > 3 && strcasecmp(field + n - 3, "_id") == 0 && !is_identity(field);
}

/* Fields that store their choices' ids: *_id fields, and the subscription
 * fields, which the live API stores as integers ("1", "2;3"). */
static bool takes_ids(const char *field)
{
	return ends_with_id(field) || same(field, "subscription_status") ||
	       same(field, "subscription_types");
}

/* The fm-field of the <field> or <constant> the trait came from, or NULL. */
static const char *override_for(const struct sub_trait *t)
{
	return t->field ? t->field->fm_field : t->constant ? t->constant->fm_field : NULL;
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

/* A single-valued field takes a list of one value as that value; NULL when
 * the list holds more. */
static const cJSON *single(const cJSON *v)
{
	const cJSON *e, *one = NULL;

	if (!cJSON_IsArray(v))
		return v;
	cJSON_ArrayForEach(e, v) {
		if (is_empty(e))
			continue;
		if (one)
			return NULL;
		one = e;
	}
	return one;
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

/* Characters (code points) of UTF-8 text. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* The choice of f that `t` names: its value (ignoring case) or, with `ids`,
 * its id in decimal. NULL when none. */
static const struct fmf_choice *choice_for(const struct fmf_field *f, const char *t, bool ids)
{
	long long n;
	bool is_num = ids && text_parse_ll(t, -9007199254740992LL, 9007199254740992LL, &n);

	for (size_t i = 0; f && i < f->n_choices; i++)
		if (text_ieq(t, f->choices[i].value) || (is_num && f->choices[i].id == n))
			return &f->choices[i];
	return NULL;
}

/* The non-blank texts of v (a scalar or a list of scalars) joined by sep, in
 * a new string; with `f` given, each is first matched to one of its choices
 * (choice_for), which gives its value or, with `ids`, its id.
 * NULL with *c set to CONV_EMPTY, CONV_BAD or CONV_ENOMEM when there is none,
 * one does not fit, or memory runs out. */
static char *join_texts(const cJSON *v, const char *sep, const struct fmf_field *f,
                        bool ids, enum conv *c)
{
	char nb[64], idb[32], *s = NULL;
	const char *t;
	const cJSON *e, *first = cJSON_IsArray(v) ? v->child : v;
	size_t len = 0, o = 0, seplen = strlen(sep);

	/* Two passes over the same values: measure, then copy. */
	for (int pass = 0; pass < 2; pass++) {
		for (e = first; e; e = cJSON_IsArray(v) ? e->next : NULL) {
			if (!(t = scalar_text(e, nb, sizeof nb))) {
				*c = CONV_BAD;
				goto fail;
			}
			if (blank(t))
				continue;
			if (f && f->n_choices) {
				const struct fmf_choice *ch = choice_for(f, t, ids);

				if (!ch) {
					*c = CONV_BAD;
					goto fail;
				}
				if (ids)
					snprintf(idb, sizeof idb, "%lld", ch->id);
				t = ids ? idb : ch->value;
			}
			if (pass == 0) {
				len += strlen(t) + seplen;
				continue;
			}
			if (o) {
				memcpy(s + o, sep, seplen);
				o += seplen;
			}
			memcpy(s + o, t, strlen(t));
			o += strlen(t);
		}
		if (pass == 0) {
			if (len == 0) {
				*c = CONV_EMPTY;
				return NULL;
			}
			if (!(s = malloc(len + 1))) {
				*c = CONV_ENOMEM;
				return NULL;
			}
		}
	}
	s[o] = '\0';
	*c = CONV_OK;
	return s;
fail:
	free(s);
	return NULL;
}

/* A list becomes its non-empty values joined with ", ". */
static enum conv to_text(const struct fmf_field *f, const cJSON *v, cJSON **out)
{
	enum conv c;
	char *s = join_texts(v, ", ", NULL, false, &c);

	if (!s)
		return c;
	if (f && f->max_length && utf8_chars(s) > f->max_length)
		c = CONV_BAD;
	else
		c = (*out = cJSON_CreateString(s)) ? CONV_OK : CONV_ENOMEM;
	free(s);
	return c;
}

/* Every value one of the choices; one string joined by ';' (unconfirmed),
 * of their ids for a field that stores ids (subscription_types). */
static enum conv to_multi(const struct fmf_field *f, const char *name, const cJSON *v,
                          cJSON **out)
{
	enum conv c;
	char *s = join_texts(v, ";", f, takes_ids(name), &c);

	if (!s)
		return c;
	c = (*out = cJSON_CreateString(s)) ? CONV_OK : CONV_ENOMEM;
	free(s);
	return c;
}

/* Tags: a list of strings. */
static enum conv to_list(const cJSON *v, cJSON **out)
{
	char nb[64];
	const char *t;
	const cJSON *e, *first = cJSON_IsArray(v) ? v->child : v;
	cJSON *list = cJSON_CreateArray(), *item;

	if (!list)
		return CONV_ENOMEM;
	for (e = first; e; e = cJSON_IsArray(v) ? e->next : NULL) {
		if (!(t = scalar_text(e, nb, sizeof nb))) {
			cJSON_Delete(list);
			return CONV_BAD;
		}
		if (blank(t))
			continue;
		if (!(item = cJSON_CreateString(t)) || !cJSON_AddItemToArray(list, item)) {
			cJSON_Delete(item);
			cJSON_Delete(list);
			return CONV_ENOMEM;
		}
	}
	*out = list;
	return CONV_OK;
}

/* A JSON number, or text that is a strict decimal ("-12.5", no exponent). */
static enum conv to_number(const cJSON *v, cJSON **out)
{
	double d;

	if (cJSON_IsNumber(v))
		d = v->valuedouble;
	else if (cJSON_IsString(v) && ft_number_valid(v->valuestring, strlen(v->valuestring)))
		d = strtod(v->valuestring, NULL);
	else
		return CONV_BAD;
	if (!isfinite(d))
		return CONV_BAD;
	return (*out = cJSON_CreateNumber(d)) ? CONV_OK : CONV_ENOMEM;
}

static enum conv to_checkbox(const cJSON *v, cJSON **out)
{
	bool b;

	if (cJSON_IsBool(v))
		b = cJSON_IsTrue(v);
	else if (cJSON_IsNumber(v) && (v->valuedouble == 1 || v->valuedouble == 0))
		b = v->valuedouble == 1;
	else if (!cJSON_IsString(v) ||
	         !ft_boolean_parse(v->valuestring, strlen(v->valuestring), &b))
		return CONV_BAD;
	return (*out = cJSON_CreateBool(b)) ? CONV_OK : CONV_ENOMEM;
}

/* f may be NULL (field list unknown): an *_id field then takes an integer. */
static enum conv to_dropdown(const struct fmf_field *f, const char *name,
                             const cJSON *v, cJSON **out)
{
	char nb[64];
	const char *t = scalar_text(v, nb, sizeof nb);
	bool id = takes_ids(name);
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

static enum conv to_date(const cJSON *v, cJSON **out)
{
	char day[FT_DATE_SIZE];

	if (!cJSON_IsString(v) || !ft_date_normalise(v->valuestring, strlen(v->valuestring), day))
		return CONV_BAD;
	return (*out = cJSON_CreateString(day)) ? CONV_OK : CONV_ENOMEM;
}

/* The type of the field `name`: from the list, else what its name tells. */
static enum fmf_type type_of(const struct fmf_field *f, const char *name)
{
	if (f)
		return f->type;
	if (IN_LIST(builtin_text, name))
		return FMF_TEXT;
	if (ends_with_id(name))
		return FMF_DROPDOWN;
	return FMF_OPAQUE;
}

/* What a field of this type takes, for the report. */
static const char *expected(const struct fmf_field *f, const char *name)
{
	switch (type_of(f, name)) {
	case FMF_TEXT: return f && f->max_length ? "text no longer than the field's max_length" : "text";
	case FMF_NUMBER: return "a number";
	case FMF_CHECKBOX: return "on/yes/true/1 or off/no/false/0";
	case FMF_DROPDOWN: return "one of the field's choices";
	case FMF_DATE: return "a date";
	case FMF_MULTI: return "the field's choices";
	case FMF_LIST: return "text";
	case FMF_GROUP:
	case FMF_OPAQUE: break;
	}
	return "a value of the field's type";
}

/* v converted for the field `name`, which is f in the list (NULL: not in it,
 * or no list). */
static enum conv convert(const struct fmf_field *f, const char *name, const cJSON *v,
                         cJSON **out)
{
	enum fmf_type type = type_of(f, name);
	const cJSON *one = single(v);

	switch (type) {
	case FMF_TEXT: return to_text(f, v, out);
	case FMF_MULTI: return to_multi(f, name, v, out);
	case FMF_LIST: return to_list(v, out);
	case FMF_NUMBER: return one ? to_number(one, out) : CONV_BAD;
	case FMF_CHECKBOX: return one ? to_checkbox(one, out) : CONV_BAD;
	case FMF_DROPDOWN: return one ? to_dropdown(f, name, one, out) : CONV_BAD;
	case FMF_DATE: return one ? to_date(one, out) : CONV_BAD;
	case FMF_GROUP:
	case FMF_OPAQUE: break;
	}
	return (*out = cJSON_Duplicate(v, true)) ? CONV_OK : CONV_ENOMEM;
}

/* ---- placing traits ------------------------------------------------------ */

struct build {
	const struct submission *sub;
	const struct fm_fields *fields;
	struct fmb_report *rep;
	cJSON *contact;
	cJSON *custom;
	const cJSON *name;   /* the "name" trait, split at the end */
	bool needs_fields;
	bool invalid;        /* a value did not fit: the build fails */
	bool nomem;
};

static void note(struct build *b, enum fmb_event ev, const char *trait,
                 const char *field, const cJSON *v)
{
	if (b->rep && b->rep->note)
		b->rep->note(b->rep->ud, ev, trait, field, v);
}

/* The first value that does not fit is the one reported. */
static void refuse(struct build *b, const struct sub_trait *t, const char *field)
{
	const char *trait = t->path;

	note(b, FMB_INVALID, trait, field, NULL);
	if (b->invalid)
		return;
	b->invalid = true;
	if (!b->rep)
		return;
	text_copy(b->rep->trait, sizeof b->rep->trait, trait);
	text_copy(b->rep->field, sizeof b->rep->field, field);
	b->rep->form_field = t->field ? t->field->name : NULL;
	b->rep->expected = expected(fm_fields_by_name(b->fields, field), field);
}

/*
 * The value to place for a trait: a <field value-when-checked=".."> sends
 * that text when checked (NULL when not: nothing is sent). *tmp holds what
 * the caller frees.
 */
static const cJSON *effective(struct build *b, const struct sub_trait *t, cJSON **tmp)
{
	const struct map_field *mf = t->field;

	*tmp = NULL;
	if (!mf || !mf->value_when_checked)
		return t->value;
	if (!cJSON_IsTrue(t->value))
		return NULL;
	if (!(*tmp = cJSON_CreateString(mf->value_when_checked)))
		b->nomem = true;
	return *tmp;
}

/* Places t in the contact field `field`, which is ff in the list (NULL:
 * looked up here). */
static void place(struct build *b, const struct sub_trait *t, const char *field,
                  const struct fmf_field *ff, enum fmb_event how)
{
	cJSON *into = strncmp(field, "cf_", 3) == 0 ? b->custom : b->contact;
	cJSON *value = NULL, *tmp;
	const char *trait = t->path;
	const cJSON *v;

	if (is_identity(field)) {
		note(b, FMB_DROP_IDENTITY, trait, field, NULL);
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(into, field)) {
		note(b, FMB_DROP_TAKEN, trait, field, NULL);
		return;
	}
	if (!(v = effective(b, t, &tmp))) {
		if (!b->nomem)
			note(b, FMB_DROP_UNCHECKED, trait, field, NULL);
		return;
	}
	if (!ff)
		ff = fm_fields_by_name(b->fields, field);
	switch (convert(ff, field, v, &value)) {
	case CONV_OK:
		if (!cJSON_AddItemToObject(into, field, value)) {
			cJSON_Delete(value);
			b->nomem = true;
			break;
		}
		note(b, how, trait, field, value);
		if (ff && ff->type == FMF_OPAQUE)
			note(b, FMB_SENT_UNCHECKED, trait, field, value);
		break;
	case CONV_EMPTY:
		break;
	case CONV_BAD:
		refuse(b, t, field);
		break;
	case CONV_ENOMEM:
		b->nomem = true;
		break;
	}
	cJSON_Delete(tmp);
}

/* Traits that the first pass consumes and the label pass must skip. */
static bool explicit_trait(const struct sub_trait *t)
{
	return same(t->path, "email") || same(t->path, "name") ||
	       override_for(t) || reserved_field(t->path);
}

typedef void trait_fn(struct build *b, const struct sub_trait *t);

/* The email is placed by fm_body_build itself: it is an identity field. */
static void pass_explicit(struct build *b, const struct sub_trait *t)
{
	const char *field;

	if (same(t->path, "email"))
		return;
	if ((field = override_for(t)))
		place(b, t, field, NULL, FMB_SET_FM_FIELD);
	else if ((field = reserved_field(t->path)))
		place(b, t, field, NULL, FMB_SET_RESERVED);
	else if (same(t->path, "name"))
		b->name = t->value;
}

static void pass_label(struct build *b, const struct sub_trait *t)
{
	const struct fmf_field *f;

	if (explicit_trait(t))
		return;
	if (!b->fields)
		note(b, FMB_DROP_NO_LIST, t->path, NULL, NULL);
	else if (!(f = fm_fields_by_label(b->fields, t->path)))
		note(b, t->field && t->field->feeds_step ? FMB_DROP_STEP : FMB_DROP_NO_FIELD,
		     t->path, NULL, NULL);
	else if (fm_body_label_refused(f->name))
		note(b, FMB_DROP_PRIVILEGED, t->path, f->name, NULL);
	else
		place(b, t, f->name, f, FMB_SET_LABEL);
}

/* Cuts s after `max` UTF-8 characters (0: no limit). */
static void utf8_cut(char *s, size_t max)
{
	size_t n = 0;

	for (; max && *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80 && n++ == max) {
			*s = '\0';
			return;
		}
}

/* A consent record: "2026-12-03T04:05:06Z, form FORM: TEXT". */
#define FMB_MAX_RECORD (64u + LIMIT_MAX_FORM_ID + MAP_MAX_CONSENT)

/* A checked box with consent-record="LABEL": its record goes to the field
 * with that label, as if it were a trait of its own. */
static bool wants_record(const struct sub_trait *t)
{
	return t->field && t->field->consent_record && t->field->consent &&
	       cJSON_IsTrue(t->value);
}

/*
 * The record line of a checked consent box, in the text field labelled by
 * its consent-record: when (the message's time, to the second), on which
 * form, and the text agreed to. Found and refused like a label match.
 */
static void pass_record(struct build *b, const struct sub_trait *t)
{
	const struct map_field *mf = t->field;
	const char *ts = b->sub->timestamp, *form = b->sub->form_id ? b->sub->form_id : "?";
	char path[SUB_MAX_TRAIT_PATH], line[FMB_MAX_RECORD];
	struct sub_trait rec = { path, NULL, NULL, NULL };
	const struct fmf_field *f;

	if (!wants_record(t))
		return;
	snprintf(path, sizeof path, "%.400s (consent record)", t->path);
	if (!b->fields) {
		note(b, FMB_DROP_NO_LIST, path, NULL, NULL);
	} else if (!(f = fm_fields_by_label(b->fields, mf->consent_record))) {
		note(b, FMB_DROP_NO_FIELD, path, NULL, NULL);
	} else if (fm_body_label_refused(f->name)) {
		note(b, FMB_DROP_PRIVILEGED, path, f->name, NULL);
	} else {
		/* uuid.h's time has milliseconds: a record says the second. */
		snprintf(line, sizeof line, "%.19s%s, form %s: %s", ts, strlen(ts) > 19 ? "Z" : "",
		         form, mf->consent);
		/* A short field gets the start of the record rather than
		 * refusing every consent given. */
		utf8_cut(line, f->max_length);
		if (!(rec.value = cJSON_CreateString(line))) {
			b->nomem = true;
			return;
		}
		place(b, &rec, f->name, f, FMB_SET_LABEL);
		cJSON_Delete(rec.value);
	}
}

static void pass_needs(struct build *b, const struct sub_trait *t)
{
	const char *field = override_for(t);

	b->needs_fields |= wants_record(t);
	if (same(t->path, "email"))
		return;
	if (field)
		b->needs_fields |= fm_body_fm_field_needs_list(field);
	else
		b->needs_fields |= !explicit_trait(t);
}

/* Calls fn for each trait with a value to send, in the message's order. */
static void each_trait(struct build *b, const struct submission *sub, trait_fn *fn)
{
	for (size_t i = 0; i < sub->n_traits; i++)
		if (!is_empty(sub->traits[i].value))
			fn(b, &sub->traits[i]);
}

static void set_name_part(struct build *b, const char *field, const char *part)
{
	const cJSON *v;

	if (!*part || cJSON_GetObjectItemCaseSensitive(b->contact, field))
		return;
	if (!(v = cJSON_AddStringToObject(b->contact, field, part)))
		b->nomem = true;
	else
		note(b, FMB_SET_NAME, "name", field, v);
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
	set_name_part(b, "first_name", copy);
	set_name_part(b, "last_name", rest);
	free(copy);
}

const char *fm_body_reserved_field(const char *trait)
{
	return reserved_field(trait);
}

bool fm_body_privileged(const char *field)
{
	return IN_LIST(privileged, field);
}

bool fm_body_label_refused(const char *field)
{
	return IN_LIST(privileged, field) || same(field, "id") || ends_with_id(field);
}

enum fmb_err fm_body_convert(const struct fm_fields *fields, const char *name,
                                const cJSON *v, cJSON **out, const char **expected_out)
{
	const struct fmf_field *f = fm_fields_by_name(fields, name);

	*out = NULL;
	*expected_out = expected(f, name);
	if (is_empty(v))
		return FMB_OK;
	switch (convert(f, name, v, out)) {
	case CONV_OK: return FMB_OK;
	case CONV_EMPTY: return FMB_OK;
	case CONV_BAD: return FMB_EINVALID;
	case CONV_ENOMEM: break;
	}
	return FMB_ENOMEM;
}

bool fm_body_fm_field_needs_list(const char *field)
{
	return !IN_LIST(builtin_text, field) && !is_identity(field);
}

bool fm_body_needs_fields(const struct submission *sub)
{
	struct build b = { 0 };

	each_trait(&b, sub, pass_needs);
	return b.needs_fields;
}

enum fmb_err fm_body_build(const struct submission *sub, const struct fm_fields *fields,
                              enum fmb_key key, struct fmb_report *rep, cJSON **out)
{
	const char *uid = sub->user_id, *email = sub->email;
	struct build b = {.sub = sub, .fields = fields, .rep = rep};
	cJSON *root = NULL, *ident;
	enum fmb_err err = FMB_ENOIDENT;

	*out = NULL;
	if (key == FMB_KEY_EXTERNAL_ID ? !uid : !email)
		goto fail;
	err = FMB_ENOMEM;
	if (!(root = cJSON_CreateObject()) ||
	    !(ident = cJSON_AddObjectToObject(root, "unique_identifier")) ||
	    !cJSON_AddStringToObject(ident, key == FMB_KEY_EXTERNAL_ID ? "external_id" : "emails",
	                             key == FMB_KEY_EXTERNAL_ID ? uid : email) ||
	    !(b.contact = cJSON_AddObjectToObject(root, "contact")) ||
	    (uid && !cJSON_AddStringToObject(b.contact, "external_id", uid)) ||
	    (email && !cJSON_AddStringToObject(b.contact, "emails", email)) ||
	    !(b.custom = cJSON_CreateObject()))
		goto fail;
	each_trait(&b, sub, pass_explicit);
	each_trait(&b, sub, pass_label);
	each_trait(&b, sub, pass_record);
	split_name(&b);
	if (b.nomem)
		goto fail;
	if (b.invalid) {
		err = FMB_EINVALID;
		goto fail;
	}
	if (b.custom->child) {
		if (!cJSON_AddItemToObject(b.contact, "custom_field", b.custom))
			goto fail;
		b.custom = NULL;
	}
	cJSON_Delete(b.custom);
	*out = root;
	return FMB_OK;
fail:
	cJSON_Delete(b.custom);
	cJSON_Delete(root);
	return err;
}

const char *fmb_event_name(enum fmb_event ev)
{
	switch (ev) {
	case FMB_SET_FM_FIELD: return "fm-field";
	case FMB_SET_RESERVED: return "reserved trait";
	case FMB_SET_LABEL: return "label";
	case FMB_SET_NAME: return "name split";
	case FMB_DROP_NO_FIELD: return "left out: no field has this label";
	case FMB_DROP_STEP: return "not a contact field: it goes to the account or the note";
	case FMB_DROP_PRIVILEGED: return "left out: privileged or id field, set only by fm-field";
	case FMB_DROP_IDENTITY: return "left out: only userId and email set it";
	case FMB_DROP_TAKEN: return "left out: another trait set the field";
	case FMB_DROP_NO_LIST: return "left out: the field list is unknown";
	case FMB_DROP_UNCHECKED: return "not sent: the box is not checked";
	case FMB_INVALID: return "refused: the value does not fit the field";
	case FMB_SENT_UNCHECKED: return "sent unchanged: fmgate does not know the field's type";
	}
	return "unknown";
}

const char *fmb_strerror(enum fmb_err e)
{
	switch (e) {
	case FMB_OK: return "ok";
	case FMB_ENOIDENT: return "identify message lacks the userId or email to key on";
	case FMB_EINVALID: return "a value does not fit its Freshmarketer field";
	case FMB_ENOMEM: return "out of memory";
	}
	return "unknown error";
}
