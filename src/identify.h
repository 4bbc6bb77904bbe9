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
 * it), "field", "cookie" or "email". context.campaign comes
 * from utm_source/medium/campaign/term/content fields (utm_campaign ->
 * "name"), else from the same parameters in the query of ctx->page_url. The fields `_next`, `_referrer` and the honeypot are
 * never traits; `_referrer` (set by the page's script) becomes
 * context.page.referrer. A checked consent box (<field consent="..">) adds
 * context.consent.TRAIT = {"text", "field", "timestamp" (the message's)}.
 *
 * Ownership: on ID_OK the caller owns out->sub (id_result_free); on any
 * other result it is empty. Error entries point to strings owned by the form mapping
 * (or static strings) and live as long as it does.
 */
#ifndef FMGATE_IDENTIFY_H
#define FMGATE_IDENTIFY_H

#include <stddef.h>

#include "form.h"
#include "limits.h"
#include "mapping.h"
#include "submission.h"

/* What identify needs from the request besides the body. Any may be NULL. */
struct id_context {
	const char *ip;            /* client address, already resolved (proxies) */
	const char *user_agent;
	const char *page_url;      /* the Referer: the page that posted the form */
	const char *cookie_header; /* HTTP_COOKIE */
};

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
