/* fm_fields.c: parsing and lookup of the contact field list. */
#include "fm_fields.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fmgate_limits.h"
#include "text.h"

static const struct {
	const char *name;
	enum fmf_type type;
} type_names[] = {
	{"text", FMF_TEXT},         {"textarea", FMF_TEXT},
	{"number", FMF_NUMBER},     {"checkbox", FMF_CHECKBOX},
	{"dropdown", FMF_DROPDOWN}, {"radio", FMF_DROPDOWN},
	{"date", FMF_DATE},         {"group_field", FMF_GROUP},
	{"auto_complete", FMF_LIST}, {"multi_select_dropdown", FMF_MULTI},
};

/* Unknown types are sent as they are (FMF_OPAQUE) rather than guessed at. */
static enum fmf_type type_of(const char *name)
{
	for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
		if (strcmp(type_names[i].name, name) == 0)
			return type_names[i].type;
	return FMF_OPAQUE;
}

/* A string member of at most FMF_MAX_NAME bytes, or NULL. */
static const char *short_string(const cJSON *obj, const char *key)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsString(s) || strlen(s->valuestring) > FMF_MAX_NAME)
		return NULL;
	return s->valuestring;
}

/* Choice ids are numbers in the answers seen; a numeric string is accepted too. */
static bool choice_id(const cJSON *item, long long *out)
{
	if (cJSON_IsNumber(item)) {
		double d = item->valuedouble;
		/* integral and exact in a double; the range check keeps the cast defined */
		if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != (double)(long long)d)
			return false;
		*out = (long long)d;
		return true;
	}
	return cJSON_IsString(item) &&
	       text_parse_ll(item->valuestring, -9007199254740992LL, 9007199254740992LL, out);
}

static void field_clear(struct fmf_field *f)
{
	for (size_t i = 0; i < f->n_choices; i++)
		free(f->choices[i].value);
	free(f->choices);
	free(f->name);
	free(f->label);
	free(f->type_name);
	memset(f, 0, sizeof *f);
}

/* Fills *f from one entry. Returns FMF_OK, FMF_EPARSE for an entry to skip,
 * FMF_ETOOBIG or FMF_ENOMEM. */
static enum fmf_err field_parse(const cJSON *item, struct fmf_field *f)
{
	const char *name = short_string(item, "name");
	const char *label = short_string(item, "label");
	const char *type = short_string(item, "type");
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(item, "choices");
	const cJSON *c, *ml;
	enum fmf_err err = FMF_ENOMEM;
	size_t n = 0;

	memset(f, 0, sizeof *f);
	if (!cJSON_IsObject(item) || !name || !*name)
		return FMF_EPARSE;
	f->type = type ? type_of(type) : FMF_TEXT;
	ml = cJSON_GetObjectItemCaseSensitive(item, "max_length");
	if (cJSON_IsNumber(ml) && ml->valuedouble >= 1 && ml->valuedouble <= FMF_MAX_LENGTH)
		f->max_length = (size_t)ml->valuedouble;
	if (!(f->name = strdup(name)) || !(f->label = strdup(label ? label : "")) ||
	    !(f->type_name = strdup(type ? type : "text")))
		goto fail;
	if (cJSON_IsArray(choices) && (n = (size_t)cJSON_GetArraySize(choices)) > 0) {
		if (n > FMF_MAX_CHOICES) {
			err = FMF_ETOOBIG;
			goto fail;
		}
		if (!(f->choices = calloc(n, sizeof *f->choices)))
			goto fail;
		cJSON_ArrayForEach(c, choices) {
			const char *value = short_string(c, "value");
			struct fmf_choice *ch = &f->choices[f->n_choices];

			if (!value || !choice_id(cJSON_GetObjectItemCaseSensitive(c, "id"), &ch->id))
				continue; /* a choice we cannot use is not offered */
			if (!(ch->value = strdup(value)))
				goto fail;
			f->n_choices++;
		}
	}
	return FMF_OK;
fail:
	field_clear(f);
	return err;
}

/* Equal keys keep the list's order: the pointers are into one array. */
static int in_order(const struct fmf_field *a, const struct fmf_field *b)
{
	return a < b ? -1 : a > b;
}

static int by_name_cmp(const void *x, const void *y)
{
	const struct fmf_field *a = *(const struct fmf_field *const *)x;
	const struct fmf_field *b = *(const struct fmf_field *const *)y;
	int c = strcmp(a->name, b->name);

	return c ? c : in_order(a, b);
}

static int by_label_cmp(const void *x, const void *y)
{
	const struct fmf_field *a = *(const struct fmf_field *const *)x;
	const struct fmf_field *b = *(const struct fmf_field *const *)y;
	int c = text_icmp(a->label, b->label);

	return c ? c : in_order(a, b);
}

/* A field a label may match: not a group, with a label. */
static bool labelled(const struct fmf_field *f)
{
	return f->type != FMF_GROUP && f->label[0];
}

static bool make_indexes(struct fm_fields *f)
{
	if (!(f->by_name = malloc((f->n + 1) * sizeof *f->by_name)) ||
	    !(f->by_label = malloc((f->n + 1) * sizeof *f->by_label)))
		return false;
	for (size_t i = 0; i < f->n; i++) {
		f->by_name[i] = &f->v[i];
		if (labelled(&f->v[i]))
			f->by_label[f->n_labels++] = &f->v[i];
	}
	qsort(f->by_name, f->n, sizeof *f->by_name, by_name_cmp);
	qsort(f->by_label, f->n_labels, sizeof *f->by_label, by_label_cmp);
	return true;
}

enum fmf_err fm_fields_parse(const char *json, size_t len, time_t fetched_at,
                             struct fm_fields **out)
{
	cJSON *doc;
	enum fmf_err err;

	*out = NULL;
	if (len > LIMIT_MAX_UPSTREAM_BODY)
		return FMF_ETOOBIG;
	if (!(doc = cJSON_ParseWithLength(json, len)))
		return FMF_EPARSE;
	err = fm_fields_from_json(doc, fetched_at, out);
	cJSON_Delete(doc);
	return err;
}

enum fmf_err fm_fields_from_json(const cJSON *doc, time_t fetched_at,
                                 struct fm_fields **out)
{
	const cJSON *list, *item;
	struct fm_fields *f = NULL;
	enum fmf_err err = FMF_EPARSE;
	size_t n;

	*out = NULL;
	list = cJSON_GetObjectItemCaseSensitive(doc, "fields");
	if (!cJSON_IsArray(list))
		goto fail;
	n = (size_t)cJSON_GetArraySize(list);
	if (n > FMF_MAX_FIELDS) {
		err = FMF_ETOOBIG;
		goto fail;
	}
	err = FMF_ENOMEM;
	if (!(f = calloc(1, sizeof *f)) || (n && !(f->v = calloc(n, sizeof *f->v))))
		goto fail;
	f->fetched_at = fetched_at;
	cJSON_ArrayForEach(item, list) {
		enum fmf_err e = field_parse(item, &f->v[f->n]);
		if (e == FMF_EPARSE)
			continue;
		if (e != FMF_OK) {
			err = e;
			goto fail;
		}
		f->n++;
	}
	if (!make_indexes(f))
		goto fail;
	*out = f;
	return FMF_OK;
fail:
	fm_fields_free(f);
	return err;
}

void fm_fields_free(struct fm_fields *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		field_clear(&f->v[i]);
	free(f->v);
	free(f->by_name);
	free(f->by_label);
	free(f);
}

/* The first of idx[0..n) (sorted by label when by_label, else by name)
 * whose key equals `key`. */
static const struct fmf_field *find(struct fmf_field *const *idx, size_t n, const char *key,
                                    bool by_label)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = by_label ? text_icmp(idx[mid]->label, key) : strcmp(idx[mid]->name, key);

		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n)
		return NULL;
	return (by_label ? text_icmp(idx[lo]->label, key) : strcmp(idx[lo]->name, key)) == 0 ? idx[lo]
	                                                                                    : NULL;
}

const struct fmf_field *fm_fields_by_name(const struct fm_fields *f, const char *name)
{
	return f ? find(f->by_name, f->n, name, false) : NULL;
}

const struct fmf_field *fm_fields_by_label(const struct fm_fields *f, const char *label)
{
	return f && label[0] ? find(f->by_label, f->n_labels, label, true) : NULL;
}

const char *fm_fields_strerror(enum fmf_err e)
{
	switch (e) {
	case FMF_OK: return "ok";
	case FMF_ETOOBIG: return "field list too large";
	case FMF_EPARSE: return "field list is not the expected JSON";
	case FMF_ENOMEM: return "out of memory";
	}
	return "unknown error";
}
