/* submission.c: the typed submission and its identify message (see submission.h). */
#include "submission.h"

#include <stdlib.h>
#include <string.h>

#include "fmgate_limits.h"

#ifndef FMGATE_VERSION
#define FMGATE_VERSION "dev"
#endif

static const char *const utm_names[SUB_UTM_N] = { "source", "medium", "name", "term", "content" };

void submission_init(struct submission *s)
{
	memset(s, 0, sizeof *s);
}

void submission_free(struct submission *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_traits; i++) {
		free(s->traits[i].path);
		cJSON_Delete(s->traits[i].value);
	}
	free(s->traits);
	steps_free(&s->steps);
	free(s->user_id);
	free(s->anonymous_id);
	free(s->email);
	free(s->ctx.ip);
	free(s->ctx.user_agent);
	free(s->ctx.locale);
	free(s->ctx.page_url);
	free(s->ctx.page_path);
	free(s->ctx.page_search);
	free(s->ctx.page_title);
	free(s->ctx.referrer);
	for (int i = 0; i < SUB_UTM_N; i++)
		free(s->ctx.campaign[i]);
	free(s->ctx.consent);
	submission_init(s);
}

/* A name is 1..LIMIT_MAX_TRAIT_DEPTH non-empty names joined by dots. */
static bool path_ok(const char *path)
{
	size_t depth = 1;

	if (path[0] == '\0' || path[0] == '.' || strnlen(path, SUB_MAX_TRAIT_PATH) == SUB_MAX_TRAIT_PATH)
		return false;
	for (const char *p = path; *p; p++) {
		if (*p != '.')
			continue;
		if (p[1] == '.' || p[1] == '\0' || ++depth > LIMIT_MAX_TRAIT_DEPTH)
			return false;
	}
	return true;
}

/* How many leading names a and b share; *clash when one of them is the
 * other, or names an object the other needs as a leaf. */
static size_t shared_names(const char *a, const char *b, bool *clash)
{
	size_t n = 0;

	for (;;) {
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");

		if (la != lb || memcmp(a, b, la) != 0)
			return n;
		n++;
		a += la;
		b += lb;
		if (*a == '\0' || *b == '\0') {
			*clash = true;   /* equal, or one a prefix of the other */
			return n;
		}
		a++;
		b++;
	}
}

enum sub_err submission_add_trait(struct submission *s, const char *path,
                                  const struct map_field *field,
                                  const struct map_constant *constant, cJSON *value,
                                  size_t hint)
{
	size_t best = 0, at = s->n_traits;
	char *copy = NULL;

	if (!path || !path_ok(path))
		goto drop;
	/* Depth-first order: after the last trait sharing the most names. */
	for (size_t i = 0; i < s->n_traits; i++) {
		bool clash = false;
		size_t n = shared_names(s->traits[i].path, path, &clash);

		if (clash)
			goto drop;
		if (n > 0 && n >= best) {
			best = n;
			at = i + 1;
		}
	}
	if (s->n_traits == s->cap_traits) {
		size_t cap = s->cap_traits ? s->cap_traits * 2 : (hint > 4 ? hint : 4);
		struct sub_trait *t = realloc(s->traits, cap * sizeof *t);

		if (!t)
			goto nomem;
		s->traits = t;
		s->cap_traits = cap;
	}
	if (!(copy = strdup(path)))
		goto nomem;
	memmove(s->traits + at + 1, s->traits + at, (s->n_traits - at) * sizeof *s->traits);
	s->traits[at] = (struct sub_trait){ copy, field, constant, value };
	s->n_traits++;
	return SUB_OK;
drop:
	cJSON_Delete(value);
	return SUB_OK;
nomem:
	cJSON_Delete(value);
	return SUB_ENOMEM;
}

enum sub_err submission_add_consent(struct submission *s, const struct map_field *box)
{
	const struct map_field **v;

	for (size_t i = 0; i < s->ctx.n_consent; i++)
		if (strcmp(s->ctx.consent[i]->trait, box->trait) == 0)
			return SUB_OK;
	v = realloc(s->ctx.consent, (s->ctx.n_consent + 1) * sizeof *v);
	if (!v)
		return SUB_ENOMEM;
	v[s->ctx.n_consent++] = box;
	s->ctx.consent = v;
	return SUB_OK;
}

/* "signed", "field", "cookie", "email": context.fmgate.userIdSource. */
static const char *sub_source_name(enum sub_source src)
{
	switch (src) {
	case SUB_SRC_SIGNED: return "signed";
	case SUB_SRC_FIELD:  return "field";
	case SUB_SRC_COOKIE: return "cookie";
	case SUB_SRC_EMAIL:  return "email";
	}
	return "field";
}

/* The value of the trait that came from `field`, or NULL. */
static const cJSON *field_value(const struct submission *s, const struct map_field *field)
{
	for (size_t i = 0; field && i < s->n_traits; i++)
		if (s->traits[i].field == field)
			return s->traits[i].value;
	return NULL;
}

/* The text of a single-valued field's trait: a string as it is, a number
 * printed; NULL when absent, empty or nothing but spaces (*buf is freed by
 * the caller). */
static const char *field_text(const struct submission *s, const struct map_field *field,
                              char **buf)
{
	const cJSON *v = field_value(s, field);
	const char *t = NULL;

	*buf = NULL;
	if (cJSON_IsString(v))
		t = v->valuestring;
	else if (cJSON_IsNumber(v))
		t = *buf = cJSON_PrintUnformatted(v);
	if (!t || t[strspn(t, " \t\r\n")] == '\0')
		return NULL;
	return t;
}

enum sub_err submission_plan(struct submission *s, const struct map_form *form)
{
	char *company_buf = NULL, *note_buf = NULL;
	const char *company = field_text(s, form->account_field, &company_buf);
	const char *note = field_text(s, form->note_field, &note_buf);
	enum steps_err e;

	steps_free(&s->steps);
	e = steps_add(&s->steps, STEP_CONTACT, NULL, NULL, false);
	if (e == STEPS_OK && company)
		e = steps_add(&s->steps, STEP_ACCOUNT, company, NULL, false);
	for (size_t i = 0; e == STEPS_OK && i < form->n_lists; i++) {
		const struct map_list *l = &form->lists[i];

		if (!l->if_field || cJSON_IsTrue(field_value(s, l->if_field)))
			e = steps_add(&s->steps, STEP_LIST, l->name, NULL, l->create);
	}
	if (e == STEPS_OK && note)
		e = steps_add(&s->steps, STEP_NOTE, form->note_title, note, false);
	cJSON_free(company_buf);
	cJSON_free(note_buf);
	/* A mapping holds at most MAP_MAX_LISTS lists, so steps_add() cannot
	 * run out of room: memory is what can fail. */
	return e == STEPS_OK ? SUB_OK : SUB_ENOMEM;
}

bool submission_trusted(const struct submission *s)
{
	return s->source == SUB_SRC_SIGNED;
}

/* ---- the message ------------------------------------------------------- */

/* Places a copy of t's value at its dotted name. False when out of memory. */
static bool put_trait(cJSON *traits, const struct sub_trait *t)
{
	char name[SUB_MAX_TRAIT_PATH];
	const char *p = t->path;
	cJSON *obj = traits, *v;

	for (;;) {
		size_t n = strcspn(p, ".");

		memcpy(name, p, n);
		name[n] = '\0';
		if (p[n] == '\0')
			break;
		p += n + 1;
		v = cJSON_GetObjectItemCaseSensitive(obj, name);
		if (!v && !(v = cJSON_AddObjectToObject(obj, name)))
			return false;
		obj = v;
	}
	if (!(v = cJSON_Duplicate(t->value, true)))
		return false;
	if (!cJSON_AddItemToObject(obj, name, v)) {
		cJSON_Delete(v);
		return false;
	}
	return true;
}

/* Adds key: s when s is set. False when out of memory. */
static bool add_opt(cJSON *obj, const char *key, const char *s)
{
	return !s || cJSON_AddStringToObject(obj, key, s);
}

/* Adds obj to parent under key when it has members, else frees it; obj is
 * consumed either way. False only when out of memory. */
static bool add_if_filled(cJSON *parent, const char *key, cJSON *obj)
{
	if (!obj)
		return false;
	if (!obj->child) {
		cJSON_Delete(obj);
		return true;
	}
	if (!cJSON_AddItemToObject(parent, key, obj)) {
		cJSON_Delete(obj);
		return false;
	}
	return true;
}

/* context.page, members in the order of Segment's spec; NULL when out of
 * memory. */
static cJSON *page_object(const struct sub_context *x)
{
	cJSON *page = cJSON_CreateObject();

	if (page && (!add_opt(page, "path", x->page_path) ||
	             !add_opt(page, "referrer", x->referrer) ||
	             !add_opt(page, "search", x->page_search) ||
	             !add_opt(page, "title", x->page_title) || !add_opt(page, "url", x->page_url))) {
		cJSON_Delete(page);
		return NULL;
	}
	return page;
}

/* context.captcha: {"provider", "verified"[, "score"]}, when the form has one. */
static bool add_captcha(cJSON *c, const struct sub_captcha *k)
{
	cJSON *o;

	if (!k->provider)
		return true;
	return (o = cJSON_AddObjectToObject(c, "captcha")) != NULL &&
	       cJSON_AddStringToObject(o, "provider", k->provider) &&
	       cJSON_AddBoolToObject(o, "verified", k->verified) &&
	       (!k->has_score || cJSON_AddNumberToObject(o, "score", k->score));
}

/* context: ip, userAgent, locale, page, campaign, library, consent, captcha,
 * fmgate. */
static bool add_context(cJSON *msg, const struct submission *s)
{
	const struct sub_context *x = &s->ctx;
	cJSON *c = cJSON_AddObjectToObject(msg, "context"), *page, *camp, *lib, *own, *consent;

	if (!c || !add_opt(c, "ip", x->ip) || !add_opt(c, "userAgent", x->user_agent) ||
	    !add_opt(c, "locale", x->locale))
		return false;
	page = page_object(x);
	if (!add_if_filled(c, "page", page))
		return false;
	camp = cJSON_CreateObject();
	for (int i = 0; camp && i < SUB_UTM_N; i++) {
		if (!add_opt(camp, utm_names[i], x->campaign[i])) {
			cJSON_Delete(camp);
			return false;
		}
	}
	if (!add_if_filled(c, "campaign", camp))
		return false;
	lib = cJSON_AddObjectToObject(c, "library");
	if (!lib || !cJSON_AddStringToObject(lib, "name", "fmgate") ||
	    !cJSON_AddStringToObject(lib, "version", FMGATE_VERSION))
		return false;
	if (x->n_consent) {
		if (!(consent = cJSON_AddObjectToObject(c, "consent")))
			return false;
		for (size_t i = 0; i < x->n_consent; i++) {
			cJSON *rec = cJSON_AddObjectToObject(consent, x->consent[i]->trait);

			/* The time the visitor agreed: the message's. */
			if (!rec || !cJSON_AddStringToObject(rec, "text", x->consent[i]->consent) ||
			    !cJSON_AddStringToObject(rec, "field", x->consent[i]->name) ||
			    !cJSON_AddStringToObject(rec, "timestamp", s->timestamp))
				return false;
		}
	}
	if (!add_captcha(c, &x->captcha))
		return false;
	own = cJSON_AddObjectToObject(c, "fmgate");
	return own && cJSON_AddStringToObject(own, "userIdSource", sub_source_name(s->source));
}

cJSON *submission_message(const struct submission *s)
{
	cJSON *msg = cJSON_CreateObject(), *traits, *integ;

	if (!msg || !cJSON_AddStringToObject(msg, "type", "identify") ||
	    !cJSON_AddStringToObject(msg, "messageId", s->message_id) ||
	    !cJSON_AddStringToObject(msg, "timestamp", s->timestamp) ||
	    !add_opt(msg, "userId", s->user_id) || !add_opt(msg, "anonymousId", s->anonymous_id) ||
	    !(traits = cJSON_AddObjectToObject(msg, "traits")))
		goto fail;
	for (size_t i = 0; i < s->n_traits; i++)
		if (!put_trait(traits, &s->traits[i]))
			goto fail;
	if (!add_context(msg, s) || !(integ = cJSON_AddObjectToObject(msg, "integrations")) ||
	    !cJSON_AddTrueToObject(integ, "Freshmarketer"))
		goto fail;
	return msg;
fail:
	cJSON_Delete(msg);
	return NULL;
}

/* ---- reading a message back ------------------------------------------- */

static const struct map_field *field_named(const struct map_form *form, const char *trait)
{
	for (size_t i = 0; form && i < form->n_fields; i++)
		if (form->fields[i].name && form->fields[i].trait &&
		    strcmp(form->fields[i].trait, trait) == 0)
			return &form->fields[i];
	return NULL;
}

static const struct map_constant *constant_named(const struct map_form *form, const char *trait)
{
	for (size_t i = 0; form && i < form->n_constants; i++)
		if (form->constants[i].trait && strcmp(form->constants[i].trait, trait) == 0)
			return &form->constants[i];
	return NULL;
}

/* Adds the leaves of obj, named path.KEY. */
static enum sub_err read_traits(struct submission *s, const cJSON *obj, char *path, size_t len,
                                unsigned depth, const struct map_form *form)
{
	const cJSON *item;
	enum sub_err e;

	cJSON_ArrayForEach(item, obj) {
		size_t klen = item->string ? strlen(item->string) : 0, at = len ? len + 1 : 0;
		cJSON *copy;

		/* Longer names are never written (submission_add_trait drops them). */
		if (!klen || at + klen >= SUB_MAX_TRAIT_PATH)
			continue;
		if (len)
			path[len] = '.';
		memcpy(path + at, item->string, klen + 1);
		if (cJSON_IsObject(item)) {
			e = depth < LIMIT_MAX_TRAIT_DEPTH ?
			    read_traits(s, item, path, at + klen, depth + 1, form) : SUB_OK;
		} else if (s->n_traits >= SUB_MAX_TRAITS) {
			e = SUB_EINVAL;
		} else if (!(copy = cJSON_Duplicate(item, true))) {
			e = SUB_ENOMEM;
		} else {
			const struct map_field *f = field_named(form, path);

			e = submission_add_trait(s, path, f, f ? NULL : constant_named(form, path), copy, 0);
		}
		path[len] = '\0';
		if (e != SUB_OK)
			return e;
	}
	return SUB_OK;
}

/* A copy of the string member `key` when it is a non-empty string that fits
 * `max` bytes; NULL otherwise (*nomem tells a failed copy). */
static char *string_member(const cJSON *obj, const char *key, size_t max, bool *nomem)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
	char *copy;

	if (!v || !v[0] || strlen(v) > max)
		return NULL;
	if (!(copy = strdup(v)))
		*nomem = true;
	return copy;
}

static enum sub_source source_of(const cJSON *msg)
{
	const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(msg, "context");
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(ctx, "fmgate"), "userIdSource"));

	for (enum sub_source src = SUB_SRC_SIGNED; v && src <= SUB_SRC_EMAIL; src++)
		if (strcmp(v, sub_source_name(src)) == 0)
			return src;
	return SUB_SRC_FIELD;
}

enum sub_err submission_from_message(const cJSON *msg, const struct map_form *form,
                                     struct submission *out)
{
	const char *mid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "messageId"));
	const char *ts = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "timestamp"));
	const cJSON *traits = cJSON_GetObjectItemCaseSensitive(msg, "traits");
	char path[SUB_MAX_TRAIT_PATH] = "";
	enum sub_err e = SUB_EINVAL;
	bool nomem = false;

	submission_init(out);
	if (!cJSON_IsObject(msg))
		goto fail;
	out->form_id = form ? form->id : NULL;
	if (mid && strlen(mid) == UUID_STR_SIZE - 1)
		memcpy(out->message_id, mid, UUID_STR_SIZE);
	if (ts && strlen(ts) < sizeof out->timestamp)
		memcpy(out->timestamp, ts, strlen(ts) + 1);
	out->user_id = string_member(msg, "userId", LIMIT_MAX_COOKIE_VALUE, &nomem);
	out->anonymous_id = string_member(msg, "anonymousId", LIMIT_MAX_COOKIE_VALUE, &nomem);
	out->email = string_member(traits, "email", LIMIT_CEIL_MAX_VALUE, &nomem);
	out->source = source_of(msg);
	e = nomem ? SUB_ENOMEM : cJSON_IsObject(traits) ? read_traits(out, traits, path, 0, 1, form)
	                                                : SUB_OK;
	if (e != SUB_OK)
		goto fail;
	return SUB_OK;
fail:
	submission_free(out);
	return e;
}
