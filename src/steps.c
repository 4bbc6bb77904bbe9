/* steps.c: a submission's delivery steps, and their JSON in the spool record. */
#include "steps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static const char *const kind_names[] = { "contact", "account", "list", "note" };
static const char *const state_names[] = { "pending", "done", "refused" };

const char *step_kind_name(enum step_kind k)
{
	return (unsigned)k < sizeof kind_names / sizeof *kind_names ? kind_names[k] : "?";
}

const char *step_state_name(enum step_state t)
{
	return (unsigned)t < sizeof state_names / sizeof *state_names ? state_names[t] : "?";
}

void steps_init(struct steps *s)
{
	memset(s, 0, sizeof *s);
}

void steps_free(struct steps *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].text);
		free(s->v[i].reason);
	}
	free(s->v);
	steps_init(s);
}

/* A copy of src, or NULL for NULL; *ok goes false when out of memory. */
static char *dup_or_null(const char *src, bool *ok)
{
	char *d;

	if (!src)
		return NULL;
	if (!(d = strdup(src)))
		*ok = false;
	return d;
}

enum steps_err steps_add(struct steps *s, enum step_kind kind, const char *name,
                         const char *text, bool create)
{
	struct step *st;
	bool ok = true;

	if (s->n >= STEPS_MAX)
		return STEPS_EINVAL;
	if (s->n == s->cap) {
		/* Most submissions have one step or a few. */
		if (!(st = buf_grow_array(s->v, &s->cap, sizeof *s->v, 4, STEPS_MAX)))
			return STEPS_ENOMEM;
		s->v = st;
	}
	st = &s->v[s->n];
	memset(st, 0, sizeof *st);
	st->kind = kind;
	st->create = create;
	st->name = dup_or_null(name, &ok);
	st->text = dup_or_null(text, &ok);
	if (!ok) {
		free(st->name);
		free(st->text);
		return STEPS_ENOMEM;
	}
	s->n++;
	return STEPS_OK;
}

enum steps_err steps_refuse(struct step *st, const char *reason)
{
	size_t len = strnlen(reason, STEPS_MAX_REASON - 1);
	char *r = malloc(len + 1);

	if (!r)
		return STEPS_ENOMEM;
	memcpy(r, reason, len);
	r[len] = '\0';
	free(st->reason);
	st->reason = r;
	st->state = STEP_REFUSED;
	return STEPS_OK;
}

void steps_count(const struct steps *s, size_t *pending, size_t *done, size_t *refused)
{
	size_t n[3] = { 0, 0, 0 };

	for (size_t i = 0; i < s->n; i++)
		n[s->v[i].state]++;
	if (pending)
		*pending = n[STEP_PENDING];
	if (done)
		*done = n[STEP_DONE];
	if (refused)
		*refused = n[STEP_REFUSED];
}

bool steps_pending_kind(const struct steps *s, enum step_kind kind)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == kind && s->v[i].state == STEP_PENDING)
			return true;
	return false;
}

bool steps_pending_after_contact(const struct steps *s)
{
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i].state == STEP_PENDING)
			return true;
	return false;
}

struct step *steps_contact(struct steps *s)
{
	return s->n > 0 && s->v[0].kind == STEP_CONTACT ? &s->v[0] : NULL;
}

void steps_revive(struct steps *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].state != STEP_REFUSED)
			continue;
		free(s->v[i].reason);
		s->v[i].reason = NULL;
		s->v[i].state = STEP_PENDING;
	}
}

void steps_summary(const struct steps *s, char *out, size_t size)
{
	size_t used = 0;

	if (size == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < s->n && used < size; i++) {
		int n = snprintf(out + used, size - used, "%s%s:%s", i ? "," : "",
		                 step_kind_name(s->v[i].kind), step_state_name(s->v[i].state));

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* ---- JSON ---------------------------------------------------------------------------- */

static bool add_opt_str(cJSON *o, const char *k, const char *v)
{
	return !v || cJSON_AddStringToObject(o, k, v);
}

/* One step appended to the array a. */
static bool add_step(cJSON *a, const struct step *st)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		return false;
	}
	return cJSON_AddStringToObject(o, "step", step_kind_name(st->kind)) &&
	       cJSON_AddStringToObject(o, "state", step_state_name(st->state)) &&
	       add_opt_str(o, st->kind == STEP_NOTE ? "title" : "name", st->name) &&
	       add_opt_str(o, "text", st->text) && add_opt_str(o, "reason", st->reason) &&
	       (st->kind != STEP_LIST || cJSON_AddBoolToObject(o, "create", st->create)) &&
	       (st->id == 0 || cJSON_AddNumberToObject(o, "id", (double)st->id));
}

cJSON *steps_to_json(const struct steps *s)
{
	cJSON *a = cJSON_CreateArray();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < s->n; i++)
		ok = add_step(a, &s->v[i]);
	if (!ok) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

/* Index of `name` in `names`, or -1. */
static int name_index(const cJSON *v, const char *const *names, size_t n)
{
	if (!cJSON_IsString(v))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v->valuestring, names[i]) == 0)
			return (int)i;
	return -1;
}

/* An optional string member within STEPS_MAX_TEXT bytes; *ok false when it
 * is there but not such a string. */
static const char *opt_str(const cJSON *o, const char *k, size_t max, bool *ok)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v)
		return NULL;
	if (!cJSON_IsString(v) || strnlen(v->valuestring, max + 1) > max) {
		*ok = false;
		return NULL;
	}
	return v->valuestring;
}

/* One step of the array, appended to s. */
static enum steps_err step_from_json(const cJSON *o, size_t index, struct steps *s)
{
	const cJSON *idj = cJSON_GetObjectItemCaseSensitive(o, "id");
	const cJSON *cr = cJSON_GetObjectItemCaseSensitive(o, "create");
	int kind = name_index(cJSON_GetObjectItemCaseSensitive(o, "step"), kind_names, 4);
	int state = name_index(cJSON_GetObjectItemCaseSensitive(o, "state"), state_names, 3);
	bool ok = cJSON_IsObject(o) && kind >= 0 && state >= 0 &&
	          (index == 0) == (kind == STEP_CONTACT) && (!cr || cJSON_IsBool(cr)) &&
	          (!idj || (cJSON_IsNumber(idj) && idj->valuedouble >= 0 &&
	                    idj->valuedouble <= 9007199254740992.0));
	const char *name = opt_str(o, kind == STEP_NOTE ? "title" : "name", STEPS_MAX_TEXT, &ok);
	const char *text = opt_str(o, "text", STEPS_MAX_TEXT, &ok);
	const char *reason = opt_str(o, "reason", STEPS_MAX_REASON, &ok);
	enum steps_err e;
	struct step *st;

	/* What each kind needs to run: a name for an account or a list, a text
	 * for a note. */
	if (!ok || ((kind == STEP_ACCOUNT || kind == STEP_LIST) && !(name && name[0])) ||
	    (kind == STEP_NOTE && !(text && text[0])))
		return STEPS_EINVAL;
	if ((e = steps_add(s, (enum step_kind)kind, name, text, cJSON_IsTrue(cr))) != STEPS_OK)
		return e;
	st = &s->v[s->n - 1];
	st->id = idj ? (long long)idj->valuedouble : 0;
	if (state == STEP_REFUSED)
		return steps_refuse(st, reason ? reason : "refused");
	st->state = (enum step_state)state;
	return STEPS_OK;
}

enum steps_err steps_from_json(const cJSON *json, struct steps *s)
{
	enum steps_err e = STEPS_OK;
	size_t i = 0;
	const cJSON *o;

	steps_init(s);
	if (!json)
		return steps_add(s, STEP_CONTACT, NULL, NULL, false);
	if (!cJSON_IsArray(json) || cJSON_GetArraySize(json) < 1 ||
	    (size_t)cJSON_GetArraySize(json) > STEPS_MAX)
		return STEPS_EINVAL;
	cJSON_ArrayForEach(o, json) {
		if ((e = step_from_json(o, i++, s)) != STEPS_OK)
			break;
	}
	if (e != STEPS_OK)
		steps_free(s);
	return e;
}
