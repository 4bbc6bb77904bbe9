/*
 * identify.c: one form's mapping applied to one request (see identify.h).
 *
 * A value is only ever measured in place (trimmed, held against its
 * max-length) before it is copied, so no allocation here is larger than a
 * limit: the field's max-length, the caps below, or the mapping's own strings.
 *
 * Choices the header leaves open:
 * - The email field is single-valued even if the mapping says multiple="true"
 *   (a list is no traits.email); it is checked as an email whatever its type.
 * - missing_user_id is not reported when another error concerns the email,
 *   so the visitor is asked to fix the one thing they can.
 * - context.campaign is taken from the page URL when the form's utm_* fields
 *   yield nothing (absent, empty, repeated or over the cap).
 * - `_page`, `_title` and `_referrer` count only when sent once, and not
 *   marked too_long by the parser; `_page` and `_referrer` are then held to
 *   LIMIT_MAX_URL bytes of valid UTF-8 (a longer one is dropped, not cut).
 *   The Referer is kept as sent (valid UTF-8, LIMIT_MAX_URL), even when it
 *   is no http(s) URL; it then gives no page.path or page.search.
 * - The title's control characters are C0, DEL and C1 (Unicode's Cc); it is
 *   cut after the cleaning, then trimmed again.
 * - Accept-Language: a range is a tag ([A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*,
 *   at most ID_MAX_LOCALE bytes), kept in the case it was sent, followed by
 *   nothing or one ";q=" weight (RFC 9110, 12.4.2); a range with anything
 *   else is skipped, not the whole header. A header over LIMIT_MAX_HEADER
 *   bytes gives nothing.
 * - A form without an email field (a mapping `fmgate check` refuses) gives
 *   missing_email with no field name.
 * - A checked consent box (<field consent="..">) is recorded in
 *   context.consent, an object keyed by the field's trait:
 *   {"text": the consent text, "field": the form field, "timestamp": the
 *   message's timestamp}. An unchecked box records nothing.
 * - A required boolean needs a true value: one that converts to false is
 *   missing_field, as an absent one (a consent box must be agreed to).
 */
#include "identify.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "fieldtype.h"
#include "sign.h"
#include "text.h"
#include "url.h"
#include "uuid.h"

/* Caps on what identify keeps from the request outside the mapped fields. */
#define ID_MAX_USER_ID      256u  /* bytes of a userId read from a form field */
#define ID_MAX_SIGNED_ID    (ID_MAX_USER_ID + 65u)  /* the same, with ".SIGNATURE" */
#define ID_MAX_CAMPAIGN     256u  /* bytes of one utm_* value; longer ones are dropped */
#define ID_MAX_IP           64u   /* bytes of context.ip (IPv6 with a zone fits) */
#define ID_MAX_QUERY_FIELDS 64u   /* parameters read from the page URL's query */

/* A trimmed view of a value owned by someone else. */
struct span {
	const char *s;
	size_t len;
};

/* The state of one identify_build() call. */
struct build {
	const struct form_pairs *pairs;
	struct id_result *out;
	struct submission *sub;              /* out->sub */
	size_t n_traits;                     /* at most: the form's fields and constants */
	size_t max_value;                    /* the default max-length */
	const struct map_field *email_field; /* NULL only in a bad mapping */
	bool email_error;                    /* some error concerns the email */
	bool keep_ip;                        /* the form's <context ip="true"> */
};

/* The form fields of context.campaign, in enum sub_utm's order. */
static const char *const utm_fields[SUB_UTM_N] = {
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
};

/* The same white space as text_trim(). */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

static struct span trim_span(const char *s, size_t len)
{
	struct span sp = { s != NULL ? s : "", s != NULL ? len : 0 };

	while (sp.len > 0 && is_space(sp.s[0])) {
		sp.s++;
		sp.len--;
	}
	while (sp.len > 0 && is_space(sp.s[sp.len - 1]))
		sp.len--;
	return sp;
}

static char *span_dup(struct span sp)
{
	char *copy = malloc(sp.len + 1);

	if (copy != NULL) {
		memcpy(copy, sp.s, sp.len);
		copy[sp.len] = '\0';
	}
	return copy;
}

/* The value of `name` when it was sent exactly once, was not too long for
 * the parser, and trims to 1..cap bytes of valid UTF-8. */
static bool single_value(const struct form_pairs *pairs, const char *name,
                         size_t cap, struct span *out)
{
	const struct form_pair *p;

	if (form_count(pairs, name) != 1)
		return false;
	p = form_get(pairs, name);
	if (p == NULL || p->too_long)
		return false;
	*out = trim_span(p->value, p->value_len);
	return out->len > 0 && out->len <= cap && text_utf8_valid(out->s, out->len);
}

/* A string from the request environment, kept when it has 1..cap bytes of
 * valid UTF-8 (strnlen: never reads past cap + 1 bytes). */
static bool ctx_string(const char *s, size_t cap)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, cap + 1);
	return len > 0 && len <= cap && text_utf8_valid(s, len);
}

static void add_error(struct id_result *out, enum id_code code, const char *field)
{
	if (out->n_errors < LIMIT_MAX_ERRORS) {
		out->errors[out->n_errors].code = code;
		out->errors[out->n_errors].field = field;
		out->n_errors++;
	}
}

static void field_error(struct build *b, const struct map_field *f,
                        enum id_code code)
{
	add_error(b->out, code, f->name);
	if (f == b->email_field)
		b->email_error = true;
}

static size_t field_max(const struct build *b, const struct map_field *f)
{
	/* The parser already marks values over max-value too_long: a larger
	 * max-length cannot loosen that. */
	if (f->max_length > 0 && f->max_length < b->max_value)
		return f->max_length;
	return b->max_value;
}

/* A required box left unchecked: a required boolean holds no true value
 * (one sent as false, "no", "0", "off"). For a consent box required must
 * mean agreed, so it is refused as if it were missing. */
static bool declined(const struct map_field *f, const cJSON *value)
{
	const cJSON *v;

	if (!f->required || f->type != MAP_BOOLEAN)
		return false;
	if (!cJSON_IsArray(value))
		return !cJSON_IsTrue(value);
	cJSON_ArrayForEach(v, value)
		if (cJSON_IsTrue(v))
			return false;
	return true;
}

/* One mapped field: its trait, or an error. False only when out of memory. */
static bool apply_field(struct build *b, const struct map_field *f)
{
	const struct form_pairs *pairs = b->pairs;
	bool is_email = f == b->email_field;
	bool multiple = f->multiple && !is_email;
	enum map_type type = is_email ? MAP_EMAIL : f->type;
	size_t max, count = 0, i;
	bool too_long = false, ok = false;
	cJSON *value = NULL, *item = NULL;
	enum ft_err fe;
	struct span sp;

	if (f->name == NULL || f->trait == NULL)
		return true;
	max = field_max(b, f);
	for (i = 0; i < pairs->n; i++) {
		if (!form_pair_is(&pairs->v[i], f->name))
			continue;
		count++;
		sp = trim_span(pairs->v[i].value, pairs->v[i].value_len);
		if (pairs->v[i].too_long || sp.len > max)
			too_long = true;
	}
	if (count > 1 && !multiple) {
		field_error(b, f, ID_INVALID_VALUE);
		return true;
	}
	if (too_long) {
		field_error(b, f, ID_TOO_LONG);
		return true;
	}
	if (multiple && (value = cJSON_CreateArray()) == NULL)
		goto out;
	for (i = 0; i < pairs->n; i++) {
		if (!form_pair_is(&pairs->v[i], f->name))
			continue;
		sp = trim_span(pairs->v[i].value, pairs->v[i].value_len);
		if (sp.len == 0)
			continue;
		fe = fieldtype_convert(type, sp.s, sp.len, &item);
		if (fe == FT_ENOMEM)
			goto out;
		if (fe != FT_OK) {
			field_error(b, f, is_email ? ID_INVALID_EMAIL : ID_INVALID_VALUE);
			ok = true;
			goto out;
		}
		if (!multiple) {
			value = item;
			item = NULL;
		} else if (cJSON_AddItemToArray(value, item)) {
			item = NULL;
		} else {
			goto out;
		}
	}
	if (value == NULL || (multiple && value->child == NULL) || declined(f, value)) {
		if (is_email)
			field_error(b, f, ID_MISSING_EMAIL);
		else if (f->required)
			field_error(b, f, ID_MISSING_FIELD);
		ok = true;
		goto out;
	}
	if (is_email && (b->sub->email = strdup(cJSON_GetStringValue(value))) == NULL)
		goto out;
	/* The text the visitor agreed to is kept; the time is the message's. */
	if (f->consent != NULL && cJSON_IsTrue(value) &&
	    submission_add_consent(b->sub, f) != SUB_OK)
		goto out;
	ok = submission_add_trait(b->sub, f->trait, f, NULL, value, b->n_traits) == SUB_OK;
	value = NULL;
out:
	cJSON_Delete(item);
	cJSON_Delete(value);
	return ok;
}

static bool apply_constant(struct build *b, const struct map_constant *c)
{
	cJSON *item;

	if (c->trait == NULL || c->value == NULL)
		return true;
	item = cJSON_CreateString(c->value);
	return item != NULL &&
	       submission_add_trait(b->sub, c->trait, NULL, c, item, b->n_traits) == SUB_OK;
}

static const struct map_field *find_email_field(const struct map_form *form)
{
	size_t i;

	for (i = 0; i < form->n_fields; i++) {
		const struct map_field *f = &form->fields[i];

		if (f->name != NULL && f->trait != NULL && strcmp(f->trait, "email") == 0)
			return f;
	}
	return NULL;
}

/* The field was sent with something in it (or more than once): a signed
 * source that does not verify is then a refusal, not an absent value. */
static bool field_sent(const struct form_pairs *pairs, const char *name)
{
	const struct form_pair *p;
	size_t count = form_count(pairs, name);

	if (count != 1)
		return count > 1;
	p = form_get(pairs, name);
	return p != NULL && (p->too_long || trim_span(p->value, p->value_len).len > 0);
}

/* How far a userId from this source can be trusted (see identify.h). */
static enum sub_source source_of(const struct map_source *src)
{
	switch (src->kind) {
	case MAP_SRC_FIELD: return src->signed_with ? SUB_SRC_SIGNED : SUB_SRC_FIELD;
	case MAP_SRC_COOKIE: return SUB_SRC_COOKIE;
	case MAP_SRC_EMAIL: return SUB_SRC_EMAIL;
	}
	return SUB_SRC_FIELD;
}

/*
 * The value of the first source that yields one, malloc'd, in *out (NULL
 * when none does), and that source in *from. A signed field that was sent
 * but does not verify stops the search: *bad is then that source (when bad
 * is not NULL; otherwise it counts as absent). Returns false only when out
 * of memory. cookie_get() does not tell a failed allocation from an absent
 * cookie: both count as absent.
 */
static bool resolve_id(const struct build *b, const struct map_source *src,
                       size_t n, const struct id_context *ctx, char **out,
                       const struct map_source **from, const struct map_source **bad)
{
	struct span sp;
	size_t i, idl;

	*out = NULL;
	for (i = 0; src != NULL && i < n; i++) {
		*from = &src[i];
		switch (src[i].kind) {
		case MAP_SRC_FIELD:
			if (src[i].name == NULL)
				break;
			if (!single_value(b->pairs, src[i].name, ID_MAX_SIGNED_ID, &sp) ||
			    (src[i].signed_with && !sign_verify(&src[i].key, sp.s, sp.len, &idl))) {
				/* Only the site can sign: a forged value refuses the
				 * post rather than letting a weaker source speak. */
				if (src[i].signed_with && bad != NULL &&
				    field_sent(b->pairs, src[i].name)) {
					*bad = &src[i];
					return true;
				}
				break;
			}
			if (src[i].signed_with)
				sp.len = idl;
			if (sp.len > ID_MAX_USER_ID)
				break;
			*out = span_dup(sp);
			return *out != NULL;
		case MAP_SRC_COOKIE:
			if (src[i].name != NULL && ctx != NULL) {
				*out = cookie_get(ctx->cookie_header, src[i].name,
				                  LIMIT_MAX_COOKIE_VALUE);
				if (*out != NULL)
					return true;
			}
			break;
		case MAP_SRC_EMAIL:
			if (b->sub->email != NULL) {
				*out = strdup(b->sub->email);
				return *out != NULL;
			}
			break;
		}
	}
	*from = NULL;
	return true;
}

/* The utm_* values found in pairs. False only when out of memory. */
static bool campaign_from_pairs(char *campaign[SUB_UTM_N], const struct form_pairs *pairs)
{
	struct span sp;

	for (int i = 0; i < SUB_UTM_N; i++) {
		if (single_value(pairs, utm_fields[i], ID_MAX_CAMPAIGN, &sp) &&
		    (campaign[i] = span_dup(sp)) == NULL)
			return false;
	}
	return true;
}

/* The utm_* parameters of the query of url (already held to LIMIT_MAX_URL).
 * A malformed query gives nothing. False only when out of memory. */
static bool campaign_from_url(char *campaign[SUB_UTM_N], const char *url)
{
	struct form_limits lim = { LIMIT_MAX_URL, ID_MAX_QUERY_FIELDS, ID_MAX_CAMPAIGN };
	struct form_pairs q = { NULL, 0, 0 };
	const char *query = strchr(url, '?'), *hash = strchr(url, '#');
	enum form_err fe;
	bool ok = true;

	/* A '?' inside the fragment starts no query. */
	if (query == NULL || (hash != NULL && hash < query))
		return true;
	query++;
	if (hash == NULL)
		hash = query + strlen(query);
	fe = form_parse_urlencoded(query, (size_t)(hash - query), &lim, &q);
	if (fe == FORM_OK)
		ok = campaign_from_pairs(campaign, &q);
	else if (fe == FORM_ENOMEM)
		ok = false;
	form_pairs_free(&q);
	return ok;
}

/* A copy of s into *out when it has 1..cap bytes of valid UTF-8. False only
 * when out of memory. */
static bool ctx_copy(char **out, const char *s, size_t cap)
{
	if (!ctx_string(s, cap))
		return true;
	*out = strdup(s);
	return *out != NULL;
}

static bool campaign_empty(char *const campaign[SUB_UTM_N])
{
	for (int i = 0; i < SUB_UTM_N; i++)
		if (campaign[i])
			return false;
	return true;
}

/* Whether s is an http(s) URL by url.h's URL_SOURCE rules; *nomem when
 * that could not be told. */
static bool is_http_url(const char *s, bool *nomem)
{
	enum url_err e = url_parse(s, URL_SOURCE, NULL);

	if (e == URL_ENOMEM)
		*nomem = true;
	return e == URL_OK;
}

/* context.page.path and .search of x->page_url, an http(s) URL (so that
 * "://" is in it). False when out of memory. */
static bool page_parts(struct sub_context *x)
{
	const char *p = strstr(x->page_url, "://") + 3;
	size_t path_len, search_len;

	p += strcspn(p, "/?#");    /* past the authority */
	path_len = strcspn(p, "?#");
	x->page_path = path_len > 0 ? strndup(p, path_len) : strdup("/");
	if (x->page_path == NULL)
		return false;
	p += path_len;
	if (*p != '?')
		return true;
	search_len = strcspn(p, "#");
	/* A bare '?' is no query: the browser's location.search is "" then. */
	if (search_len < 2)
		return true;
	x->page_search = strndup(p, search_len);
	return x->page_search != NULL;
}

/* context.page.url: `_page` when it is an http(s) URL, else the Referer;
 * then its path and search. False when out of memory. */
static bool read_page_url(const struct build *b, const struct id_context *ctx,
                          struct sub_context *x)
{
	bool parsed = false, nomem = false;
	struct span sp;

	/* The page's own location.href beats the Referer, which the browser's
	 * referrer policy cuts to the origin on a cross-origin post. */
	if (single_value(b->pairs, "_page", LIMIT_MAX_URL, &sp)) {
		if ((x->page_url = span_dup(sp)) == NULL)
			return false;
		parsed = is_http_url(x->page_url, &nomem);
		if (!parsed) {
			free(x->page_url);
			x->page_url = NULL;
		}
	}
	if (x->page_url == NULL && ctx != NULL && !nomem) {
		if (!ctx_copy(&x->page_url, ctx->page_url, LIMIT_MAX_URL))
			return false;
		parsed = x->page_url != NULL && is_http_url(x->page_url, &nomem);
	}
	return !nomem && (!parsed || page_parts(x));
}

/* context.page.title from `_title` (see identify.h). False when out of
 * memory. */
static bool read_title(const struct form_pairs *pairs, char **out)
{
	const struct form_pair *p;
	char buf[ID_MAX_TITLE + 1];
	struct span sp;
	size_t i, len, n = 0;
	uint32_t c;

	if (form_count(pairs, "_title") != 1 || (p = form_get(pairs, "_title")) == NULL ||
	    p->too_long)
		return true;
	sp = trim_span(p->value, p->value_len);
	if (!text_utf8_valid(sp.s, sp.len))
		return true;
	for (i = 0; i < sp.len; i += len) {
		len = text_utf8_next(sp.s + i, sp.len - i, &c);   /* valid: never 0 */
		if (text_is_control(c))
			continue;
		if (n + len > ID_MAX_TITLE)
			break;
		memcpy(buf + n, sp.s + i, len);
		n += len;
	}
	sp = trim_span(buf, n);
	if (sp.len > 0 && (*out = span_dup(sp)) == NULL)
		return false;
	return true;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *skip_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* True when s[0..n) is a language tag: [A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*,
 * at most ID_MAX_LOCALE bytes. */
static bool locale_tag(const char *s, size_t n)
{
	size_t i, run = 0;
	bool first = true;

	if (n == 0 || n > ID_MAX_LOCALE)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '-') {
			if (run == 0)
				return false;
			first = false;
			run = 0;
		} else if (!(is_alpha(s[i]) || (!first && is_digit(s[i]))) || ++run > 8) {
			return false;
		}
	}
	return run > 0;
}

/* The weight of what follows a range, p..end: nothing (1000), or one
 * ";q=" qvalue (RFC 9110: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"]) in
 * thousandths; -1 when it is anything else. */
static int range_weight(const char *p, const char *end)
{
	int w, scale = 100;

	p = skip_ows(p, end);
	if (p == end)
		return 1000;
	if (*p != ';')
		return -1;
	p = skip_ows(p + 1, end);
	if (end - p < 3 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' ||
	    (p[2] != '0' && p[2] != '1'))
		return -1;
	w = p[2] == '1' ? 1000 : 0;
	p += 3;
	if (p < end && *p == '.') {
		for (p++; p < end && is_digit(*p) && scale > 0; p++, scale /= 10) {
			if (w == 1000 && *p != '0')
				return -1;
			w += (*p - '0') * scale;
		}
	}
	return skip_ows(p, end) == end ? w : -1;
}

/* context.locale from an Accept-Language header (see identify.h). False when
 * out of memory. */
static bool read_locale(const char *header, char **out)
{
	const char *p, *end, *elem, *elem_end, *tag_end;
	struct span best = { NULL, 0 };
	int best_w = 0, w;

	if (header == NULL || strnlen(header, LIMIT_MAX_HEADER + 1) > LIMIT_MAX_HEADER)
		return true;
	end = header + strlen(header);
	for (p = header; p < end; p = elem_end + 1) {
		elem = skip_ows(p, end);
		elem_end = elem + strcspn(elem, ",");
		for (tag_end = elem; tag_end < elem_end && (is_alpha(*tag_end) ||
		     is_digit(*tag_end) || *tag_end == '-'); tag_end++)
			;
		if (!locale_tag(elem, (size_t)(tag_end - elem)))
			continue;
		w = range_weight(tag_end, elem_end);
		/* Strictly more: the first of equal weights wins, q=0 never. */
		if (w > best_w) {
			best_w = w;
			best.s = elem;
			best.len = (size_t)(tag_end - elem);
		}
	}
	if (best.s != NULL && (*out = span_dup(best)) == NULL)
		return false;
	return true;
}

/* The context: ip, userAgent, locale, page, campaign. False when out of
 * memory. */
static bool read_context(const struct build *b, const struct id_context *ctx)
{
	struct sub_context *x = &b->sub->ctx;
	struct span sp;

	if (ctx != NULL && ((b->keep_ip && !ctx_copy(&x->ip, ctx->ip, ID_MAX_IP)) ||
	                    !ctx_copy(&x->user_agent, ctx->user_agent, LIMIT_MAX_HEADER) ||
	                    !read_locale(ctx->accept_language, &x->locale)))
		return false;
	if (!read_page_url(b, ctx, x) || !read_title(b->pairs, &x->page_title))
		return false;
	if (single_value(b->pairs, "_referrer", LIMIT_MAX_URL, &sp) &&
	    (x->referrer = span_dup(sp)) == NULL)
		return false;
	if (!campaign_from_pairs(x->campaign, b->pairs))
		return false;
	return !campaign_empty(x->campaign) || x->page_url == NULL ||
	       campaign_from_url(x->campaign, x->page_url);
}

/*
 * The ids and the context, once the fields are in: the userId (taken: *user_id
 * is NULL after) and where it came from, the anonymousId, a new messageId and
 * the time. False when out of memory, or when getrandom() or the clock
 * fails, which is no fault of the request either.
 */
static bool finish(struct build *b, const struct id_context *ctx, char **user_id,
                   const struct map_source *uid_from, char **anon_id)
{
	struct submission *sub = b->sub;

	if (!uuid_v4(sub->message_id) || !uuid_timestamp(sub->timestamp))
		return false;
	sub->user_id = *user_id;
	*user_id = NULL;
	sub->source = source_of(uid_from);
	sub->anonymous_id = *anon_id;
	*anon_id = NULL;
	return read_context(b, ctx);
}

enum id_err identify_build(const struct map_form *form,
                           const struct form_limits *lim,
                           const struct form_pairs *pairs,
                           const struct id_context *ctx,
                           struct id_result *out)
{
	static const struct form_pairs no_pairs;
	char *user_id = NULL, *anon_id = NULL;
	const struct map_source *uid_from = NULL, *anon_from, *bad_sig = NULL;
	enum id_err err = ID_ENOMEM;
	struct build b;
	size_t i;

	submission_init(&out->sub);
	out->n_errors = 0;
	memset(&b, 0, sizeof b);
	b.pairs = pairs != NULL ? pairs : &no_pairs;
	b.out = out;
	b.sub = &out->sub;
	b.sub->form_id = form->id;
	b.n_traits = form->n_fields + form->n_constants;
	b.max_value = lim != NULL && lim->max_value > 0 ? lim->max_value
	                                                : LIMIT_DEFAULT_MAX_VALUE;
	b.email_field = find_email_field(form);
	b.keep_ip = form->context_ip;

	for (i = 0; i < form->n_fields; i++) {
		if (!apply_field(&b, &form->fields[i]))
			goto out;
	}
	if (b.email_field == NULL) {
		add_error(out, ID_MISSING_EMAIL, NULL);
		b.email_error = true;
	}
	for (i = 0; i < form->n_constants; i++) {
		if (!apply_constant(&b, &form->constants[i]))
			goto out;
	}
	if (!resolve_id(&b, form->user_id, form->n_user_id, ctx, &user_id, &uid_from, &bad_sig))
		goto out;
	if (bad_sig != NULL)
		add_error(out, ID_INVALID_USER_ID, bad_sig->name);
	else if (user_id == NULL && !b.email_error)
		add_error(out, ID_MISSING_USER_ID, NULL);
	if (out->n_errors > 0) {
		err = ID_EREFUSED;
		goto out;
	}
	if (!resolve_id(&b, form->anonymous_id, form->n_anonymous_id, ctx, &anon_id, &anon_from,
	                NULL))
		goto out;
	if (!finish(&b, ctx, &user_id, uid_from, &anon_id) ||
	    submission_plan(&out->sub, form) != SUB_OK)
		goto out;
	err = ID_OK;
out:
	if (err != ID_OK)
		submission_free(&out->sub);
	free(user_id);
	free(anon_id);
	return err;
}

void id_result_free(struct id_result *r)
{
	if (r == NULL)
		return;
	submission_free(&r->sub);
	r->n_errors = 0;
}

const char *id_code_name(enum id_code c)
{
	switch (c) {
	case ID_MISSING_EMAIL:   return "missing_email";
	case ID_INVALID_EMAIL:   return "invalid_email";
	case ID_MISSING_USER_ID: return "missing_user_id";
	case ID_INVALID_USER_ID: return "invalid_user_id";
	case ID_MISSING_FIELD:   return "missing_field";
	case ID_INVALID_VALUE:   return "invalid_value";
	case ID_TOO_LONG:        return "too_long";
	}
	return "unknown";
}
