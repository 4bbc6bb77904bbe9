/*
 * captcha.h: a form's <captcha> (mapping.h) checked against its provider.
 *
 * The token comes from the provider's own form field (map_captcha_field) and
 * goes to the provider's siteverify endpoint, and nowhere else: one POST,
 * application/x-www-form-urlencoded, of secret, response (the token) and
 * remoteip (the visitor's address, when known), through libcurl with
 * CAPTCHA_TIMEOUT_MS for the whole call. The verdict:
 *   CAPTCHA_VERIFIED    the provider said success: true (and, with a
 *                       min-score, gave a score at least that high);
 *   CAPTCHA_REJECTED    no usable token (absent, empty, sent twice, over
 *                       CAPTCHA_MAX_TOKEN bytes or the form's max-value, not
 *                       printable ASCII: no call is made), success: false, a
 *                       hostname not among the form's or an action other than
 *                       its own (either missing, when the form names one), a
 *                       score under min-score, or no score when one is asked;
 *   CAPTCHA_UNAVAILABLE no answer (connection, timeout), a status other than
 *                       200, an answer over CAPTCHA_MAX_ANSWER bytes or that
 *                       is no JSON object with a boolean "success", or a
 *                       refusal of the secret itself (the operator's mistake,
 *                       not the visitor's).
 * Tokens are single-use at every provider: verify once, after everything
 * else about the submission is known to be acceptable.
 *
 * FMGATE_CAPTCHA_URL (environment), for tests, replaces the provider's URL
 * when it is http or https to a loopback host (url.h's URL_API_BASE rules and
 * url_host_loopback); any other value is ignored and logged as an error.
 *
 * Nothing is kept between calls. The secret and the token never reach a log
 * line or a result's `why`; the request body that holds them is wiped.
 */
#ifndef FMGATE_CAPTCHA_H
#define FMGATE_CAPTCHA_H

#include <stdbool.h>
#include <stddef.h>

#include "form.h"
#include "mapping.h"

#define CAPTCHA_TIMEOUT_MS         5000u   /* the whole siteverify call: the visitor waits */
#define CAPTCHA_CONNECT_TIMEOUT_MS 2000u   /* of which connecting */
#define CAPTCHA_MAX_TOKEN          4096u   /* bytes of a token sent on (Turnstile's are at
                                              most 2048; the others' are shorter still) */
#define CAPTCHA_MAX_ANSWER         16384u  /* bytes of a siteverify answer read */
#define CAPTCHA_MAX_IP             64u     /* bytes of a remoteip sent on */
#define CAPTCHA_URL_ENV            "FMGATE_CAPTCHA_URL"

enum captcha_verdict {
	CAPTCHA_VERIFIED = 0,
	CAPTCHA_REJECTED,
	CAPTCHA_UNAVAILABLE,
};

struct captcha_result {
	enum captcha_verdict verdict;
	bool has_score;     /* the answer held a score from 0 to 1 */
	double score;
	char why[160];      /* for the log: what decided it, never the token or secret */
};

/* The provider's siteverify URL (https; NULL for MAP_CAPTCHA_NONE). */
const char *captcha_provider_url(enum map_captcha_provider p);

/* The URL a verification of p calls now: FMGATE_CAPTCHA_URL when it is
 * acceptable, else captcha_provider_url(p). */
const char *captcha_url(enum map_captcha_provider p);

/* The token c's provider field holds in pairs, or NULL, with out filled as
 * CAPTCHA_REJECTED, when there is no usable one (see above). */
const char *captcha_token(const struct map_captcha *c, const struct form_pairs *pairs,
                          struct captcha_result *out);

/* Judges a siteverify answer: its HTTP status and body[0..len). */
void captcha_judge(const struct map_captcha *c, long status, const char *body, size_t len,
                   struct captcha_result *out);

/* Reads the token from pairs and verifies it (remote_ip may be NULL). */
void captcha_check(const struct map_captcha *c, const struct form_pairs *pairs,
                   const char *remote_ip, struct captcha_result *out);

/* "ok", "rejected", "unavailable": the log's words. */
const char *captcha_verdict_name(enum captcha_verdict v);

#endif
