/*
 * identify.h: one form's mapping applied to the parsed pairs of one request,
 * giving a typed submission (submission.h: its JSON form is the Segment
 * identify message of docs/behaviour.md) or the list of field errors.
 *
 * Rules: values are trimmed; an empty value counts as absent. Only mapped
 * fields become traits, plus the form's constants. A dotted trait builds
 * nested objects. Types convert to JSON (number, boolean) or normalise (email
 * lower-cased, date as YYYY-MM-DD). A mapped name sent more than once is
 * invalid_value unless the field is multiple="true" (then the trait is an
 * array of the non-empty values). A pair marked too_long by the parser, or a
 * value longer than the field's max-length, is too_long. The email is the field
 * whose trait is "email": absent is missing_email, malformed invalid_email.
 * userId comes from the form's <user-id> sources in order; none yields a value:
 * missing_user_id. A from-field source with signed-with yields only the ID of
 * a value "ID.SIGNATURE" whose HMAC verifies (sign.h); such a field sent with
 * anything else (or more than once) is invalid_user_id, and no later source
 * is tried. context.fmgate.userIdSource says where the userId came from:
 * "signed" (the only source a visitor cannot forge: fm_client.h trusts
 * it), "field", "cookie" or "email". A checked consent box (<field
 * consent="..">) adds context.consent.TRAIT = {"text", "field", "timestamp"
 * (the message's)}. A required="true" boolean needs a true value: a false
 * one ("false", "no", "0", "off") is missing_field, as an absent one.
 *
 * The rest of the context (each member absent when nothing qualifies):
 * - ip: ctx->ip, only when form->context_ip (it is personal data);
 * - userAgent: ctx->user_agent;
 * - locale: the language range of ctx->accept_language with the highest q
 *   (the first of equals; q=0 never), "*" and malformed ranges skipped;
 * - page.url: the `_page` field (the page's location.href) when it is an
 *   http(s) URL by url.h's URL_SOURCE rules, else ctx->page_url (the
 *   Referer); page.path and page.search: the path ("/" when empty) and the
 *   query with its '?' (when not empty) of page.url, when page.url is such
 *   a URL; page.title: the `_title` field (document.title), control
 *   characters removed, cut to ID_MAX_TITLE bytes; page.referrer: the
 *   `_referrer` field (document.referrer);
 * - campaign: the utm_source/medium/campaign/term/content fields
 *   (utm_campaign -> "name"), else the same parameters in page.url's query.
 * The fields `_next`, `_page`, `_referrer`, `_title` and the honeypot are
 * read by fmgate itself, never traits (the mapping refuses them as fields).
 *
 * Ownership: on ID_OK the caller owns out->sub (id_result_free); on any
 * other result it is empty. Error entries point to strings owned by the form mapping
 * (or static strings) and live as long as it does.
 */
#ifndef FMGATE_IDENTIFY_H
#define FMGATE_IDENTIFY_H

#include <stddef.h>

#include "form.h"
#include "fmgate_limits.h"
#include "mapping.h"
#include "submission.h"

/* What identify needs from the request besides the body. Any may be NULL. */
struct id_context {
	const char *ip;            /* client address, already resolved (proxies) */
	const char *user_agent;
	const char *page_url;      /* the Referer: the page that posted the form */
	const char *cookie_header; /* HTTP_COOKIE */
	const char *accept_language; /* HTTP_ACCEPT_LANGUAGE */
};

#define ID_MAX_TITLE  512u  /* bytes of context.page.title, cut at a character */
#define ID_MAX_LOCALE 35u   /* bytes of context.locale: the tag length RFC 5646
                               (4.4.1) asks every implementation to take */

enum id_code {
	ID_MISSING_EMAIL = 0,
	ID_INVALID_EMAIL,
	ID_MISSING_USER_ID,
	ID_MISSING_FIELD,
	ID_INVALID_VALUE,
	ID_TOO_LONG,
	ID_INVALID_USER_ID, /* a signed userId field that does not verify */
};

struct id_error {
	enum id_code code;
	const char *field;   /* form field name, or NULL (missing_user_id) */
};

struct id_result {
	struct submission sub; /* on ID_OK */
	struct id_error errors[LIMIT_MAX_ERRORS];
	size_t n_errors;
};

enum id_err {
	ID_OK = 0,
	ID_EREFUSED,  /* out->errors holds at least one error */
	ID_ENOMEM,
};

/* Builds the submission. `lim` gives max_value, the default max-length. */
enum id_err identify_build(const struct map_form *form,
                           const struct form_limits *lim,
                           const struct form_pairs *pairs,
                           const struct id_context *ctx,
                           struct id_result *out);

void id_result_free(struct id_result *r);

/* "missing_email", "invalid_email", ... as in docs/mapping.md, "Error codes". */
const char *id_code_name(enum id_code c);

#endif
