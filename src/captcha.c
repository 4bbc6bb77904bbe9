/*
 * captcha.c: the siteverify call of Cloudflare Turnstile, hCaptcha and
 * Google reCAPTCHA (see captcha.h).
 *
 * The three speak one protocol: a form-encoded POST of secret, response and
 * remoteip, answered by a JSON object with "success" (boolean) and, on a
 * refusal, "error-codes" (strings; "timeout-or-duplicate" for a token seen
 * before or too old). reCAPTCHA v3 adds "score" (1.0: very likely a person)
 * and "action"; hCaptcha Enterprise a "score" too, which only the context
 * carries (the mapping refuses a min-score for it).
 */
#include "captcha.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include "log.h"
#include "url.h"

#ifndef FMGATE_VERSION
#define FMGATE_VERSION "dev"
#endif

#define MAX_CODES_SHOWN 3u   /* error-codes named in `why` */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc = CURLE_FAILED_INIT;

/* Once per process, never cleaned up (as fm_http.c and dest_http.c). */
static void curl_init_once(void)
{
	curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *captcha_provider_url(enum map_captcha_provider p)
{
	switch (p) {
	case MAP_CAPTCHA_TURNSTILE: return "https://challenges.cloudflare.com/turnstile/v0/siteverify";
	case MAP_CAPTCHA_HCAPTCHA:  return "https://api.hcaptcha.com/siteverify";
	case MAP_CAPTCHA_RECAPTCHA: return "https://www.google.com/recaptcha/api/siteverify";
	case MAP_CAPTCHA_NONE:      break;
	}
	return NULL;
}

/* FMGATE_CAPTCHA_URL when set to http(s) on a loopback host, else NULL
 * (a value set but refused is logged). */
static const char *env_url(void)
{
	const char *v = getenv(CAPTCHA_URL_ENV);
	struct url u;

	if (!v || !*v)
		return NULL;
	if (url_parse(v, URL_API_BASE, &u) == URL_OK && url_host_loopback(u.host))
		return v;
	log_msg(LOG_ERR, "%s ignored: it must be an http or https URL to a loopback host "
	        "(it is for tests)", CAPTCHA_URL_ENV);
	return NULL;
}

const char *captcha_url(enum map_captcha_provider p)
{
	const char *v = env_url();

	return v && p != MAP_CAPTCHA_NONE ? v : captcha_provider_url(p);
}

static void say(struct captcha_result *out, enum captcha_verdict v, const char *why)
{
	out->verdict = v;
	snprintf(out->why, sizeof out->why, "%s", why);
}

const char *captcha_token(const struct map_captcha *c, const struct form_pairs *pairs,
                          struct captcha_result *out)
{
	const char *name = map_captcha_field(c->provider);
	const struct form_pair *p = name ? form_get(pairs, name) : NULL;

	if (p && form_count(pairs, name) != 1) {
		say(out, CAPTCHA_REJECTED, "token sent more than once");
		return NULL;
	}
	/* A pair the parser found too long holds "": test that first. */
	if (p && (p->too_long || p->value_len > CAPTCHA_MAX_TOKEN)) {
		say(out, CAPTCHA_REJECTED, "token too long");
		return NULL;
	}
	if (!p || p->value_len == 0) {
		say(out, CAPTCHA_REJECTED, "no token");
		return NULL;
	}
	/* Every provider's tokens are printable ASCII (base64url, '.', '_', '-'). */
	for (size_t i = 0; i < p->value_len; i++)
		if (p->value[i] <= ' ' || p->value[i] > '~') {
			say(out, CAPTCHA_REJECTED, "token malformed");
			return NULL;
		}
	return p->value;
}

/* Appends the first MAX_CODES_SHOWN error-codes that are plain words
 * ([a-z0-9_-], as every provider's are) to out->why. Returns whether one of
 * them says the secret itself was refused. */
static bool read_codes(const cJSON *codes, struct captcha_result *out)
{
	static const char *const secret_codes[] = {
		"missing-input-secret", "invalid-input-secret", "sitekey-secret-mismatch",
	};
	const cJSON *it;
	size_t shown = 0, len = strlen(out->why);
	bool secret = false;

	cJSON_ArrayForEach(it, codes) {
		const char *s = cJSON_IsString(it) ? it->valuestring : NULL;

		if (!s || !*s || strlen(s) > 40 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(s))
			continue;
		for (size_t i = 0; i < sizeof secret_codes / sizeof secret_codes[0]; i++)
			secret = secret || strcmp(s, secret_codes[i]) == 0;
		if (shown++ < MAX_CODES_SHOWN && len < sizeof out->why)
			len += (size_t)snprintf(out->why + len, sizeof out->why - len, "%s%s",
			                        shown == 1 ? " codes=" : ",", s);
	}
	return secret;
}

/* s for the log when it is made of chars only and short, else "-": the
 * answer's words are the provider's, but never trusted as text. */
static const char *shown(const char *s, const char *chars)
{
	return s && *s && strlen(s) <= 64 && strspn(s, chars) == strlen(s) ? s : "-";
}

/* Whether host is one of the space-separated names of list (either case). */
static bool host_listed(const char *list, const char *host)
{
	size_t len = strlen(host);

	while (*list) {
		size_t n = strcspn(list, " ");

		if (n == len && strncasecmp(list, host, n) == 0)
			return true;
		list += n + (list[n] == ' ');
	}
	return false;
}

/* The answer's hostname and action against the form's, where it names them
 * (mapping.h): false, with out rejected, when one is missing or differs. */
static bool answer_matches(const struct map_captcha *c, const cJSON *o, struct captcha_result *out)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "hostname");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "action");
	const char *host = cJSON_IsString(h) ? h->valuestring : NULL;
	const char *action = cJSON_IsString(a) ? a->valuestring : NULL;

	if (c->hostnames && !(host && host_listed(c->hostnames, host))) {
		out->verdict = CAPTCHA_REJECTED;
		snprintf(out->why, sizeof out->why, "hostname %s not in the form's",
		         shown(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"));
		return false;
	}
	if (c->action && !(action && strcmp(action, c->action) == 0)) {
		out->verdict = CAPTCHA_REJECTED;
		snprintf(out->why, sizeof out->why, "action %s is not %s",
		         shown(action, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/-"),
		         c->action);
		return false;
	}
	return true;
}

/* A score in millionths, rounded: "0.3" in the mapping and 0.3 in an answer
 * compare equal whatever their binary forms. */
static long micro(double x)
{
	return (long)(x * 1e6 + 0.5);
}

void captcha_judge(const struct map_captcha *c, long status, const char *body, size_t len,
                   struct captcha_result *out)
{
	cJSON *o = NULL;
	const cJSON *ok, *score;

	out->has_score = false;
	if (status != 200) {
		out->verdict = CAPTCHA_UNAVAILABLE;
		snprintf(out->why, sizeof out->why, "HTTP %ld", status);
		return;
	}
	o = cJSON_ParseWithLength(body, len);
	ok = cJSON_GetObjectItemCaseSensitive(o, "success");
	if (!cJSON_IsObject(o) || !cJSON_IsBool(ok)) {
		say(out, CAPTCHA_UNAVAILABLE, "unreadable answer");
		goto out;
	}
	score = cJSON_GetObjectItemCaseSensitive(o, "score");
	if (cJSON_IsNumber(score) && score->valuedouble >= 0 && score->valuedouble <= 1) {
		out->has_score = true;
		out->score = score->valuedouble;
	}
	if (cJSON_IsFalse(ok)) {
		say(out, CAPTCHA_REJECTED, "refused");
		if (read_codes(cJSON_GetObjectItemCaseSensitive(o, "error-codes"), out)) {
			/* No visitor can fix that: say so as an outage, and loudly. */
			out->verdict = CAPTCHA_UNAVAILABLE;
			log_msg(LOG_ERR, "captcha: %s refused the secret of secret-file %.200s",
			        map_captcha_name(c->provider), c->secret_file ? c->secret_file : "-");
		}
		goto out;
	}
	if (!answer_matches(c, o, out))
		goto out;
	if (c->min_score >= 0 && !out->has_score) {
		say(out, CAPTCHA_REJECTED, "no score (min-score needs a reCAPTCHA v3 key)");
	} else if (c->min_score >= 0 && micro(out->score) < micro(c->min_score)) {
		out->verdict = CAPTCHA_REJECTED;
		snprintf(out->why, sizeof out->why, "score %.2f under min-score %.2f", out->score,
		         c->min_score);
	} else {
		say(out, CAPTCHA_VERIFIED, "success");
	}
out:
	cJSON_Delete(o);
}

/* ---- the call ------------------------------------------------------------ */

struct answer {
	size_t len;
	bool over;
	char buf[CAPTCHA_MAX_ANSWER];
};

static size_t on_answer(char *data, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t len = size * n;

	if (len > sizeof a->buf - a->len) {
		a->over = true;
		return 0;   /* libcurl stops with CURLE_WRITE_ERROR */
	}
	memcpy(a->buf + a->len, data, len);
	a->len += len;
	return len;
}

/* s form-encoded (RFC 1866: unreserved bytes as they are, the rest %XX) at
 * d; returns the bytes written, at most 3 * strlen(s). */
static size_t form_escape(char *d, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			d[n++] = (char)ch;
		} else {
			d[n++] = '%';
			d[n++] = hex[ch >> 4];
			d[n++] = hex[ch & 15];
		}
	}
	return n;
}

/* "secret=..&response=..[&remoteip=..]" in a new string sized for its worst
 * case (so never reallocated with the secret in it); NULL when out of memory. */
static char *request_body(const struct map_captcha *c, const char *token, const char *ip,
                          size_t *len)
{
	size_t cap = sizeof "secret=&response=&remoteip=" + 3 * (c->secret.len + strlen(token) +
	             (ip ? strlen(ip) : 0));
	char *b = malloc(cap);
	size_t n = 0;

	if (!b)
		return NULL;
	memcpy(b + n, "secret=", 7);
	n += 7 + form_escape(b + n + 7, c->secret.bytes ? c->secret.bytes : "");
	memcpy(b + n, "&response=", 10);
	n += 10 + form_escape(b + n + 10, token);
	if (ip) {
		memcpy(b + n, "&remoteip=", 10);
		n += 10 + form_escape(b + n + 10, ip);
	}
	b[n] = '\0';
	*len = n;
	return b;
}

/* POSTs body to url and judges the answer. */
static void post(const struct map_captcha *c, const char *url, const char *body, size_t len,
                 struct captcha_result *out)
{
	char err[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	struct answer *a = NULL;
	bool plain = strncasecmp(url, "http:", 5) == 0;
	CURL *h = NULL;
	CURLcode cc;
	long status = 0;

	pthread_once(&curl_once, curl_init_once);
	if (curl_rc != CURLE_OK || !(h = curl_easy_init()) || !(a = calloc(1, sizeof *a)) ||
	    !(headers = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded"))) {
		say(out, CAPTCHA_UNAVAILABLE, "cannot set up libcurl");
		goto out;
	}
	/* Plain http only when env_url() allowed it: a loopback test server. */
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "fmgate/" FMGATE_VERSION) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, plain ? "http" : "https") != CURLE_OK ||
#else
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS,
	                     (long)(plain ? CURLPROTO_HTTP : CURLPROTO_HTTPS)) != CURLE_OK ||
#endif
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)CAPTCHA_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CAPTCHA_CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_answer) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, a) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK) {
		say(out, CAPTCHA_UNAVAILABLE, "cannot set up the request");
		goto out;
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (a->over) {
		snprintf(out->why, sizeof out->why, "answer over %u bytes", CAPTCHA_MAX_ANSWER);
		out->verdict = CAPTCHA_UNAVAILABLE;
	} else if (cc != CURLE_OK) {
		out->verdict = CAPTCHA_UNAVAILABLE;
		snprintf(out->why, sizeof out->why, "%.150s", err[0] ? err : curl_easy_strerror(cc));
	} else {
		captcha_judge(c, status, a->buf, a->len, out);
	}
out:
	curl_slist_free_all(headers);
	if (h)
		curl_easy_cleanup(h);
	free(a);
}

void captcha_check(const struct map_captcha *c, const struct form_pairs *pairs,
                   const char *remote_ip, struct captcha_result *out)
{
	const char *token, *url = captcha_url(c->provider);
	size_t len = 0;
	char *body;

	out->has_score = false;
	if (!(token = captcha_token(c, pairs, out)))
		return;
	if (remote_ip && strlen(remote_ip) > CAPTCHA_MAX_IP)
		remote_ip = NULL;
	if (!url || !(body = request_body(c, token, remote_ip, &len))) {
		say(out, CAPTCHA_UNAVAILABLE, url ? "out of memory" : "no provider");
		return;
	}
	post(c, url, body, len, out);
	OPENSSL_cleanse(body, len);
	free(body);
}

const char *captcha_verdict_name(enum captcha_verdict v)
{
	switch (v) {
	case CAPTCHA_VERIFIED:    return "ok";
	case CAPTCHA_REJECTED:    return "rejected";
	case CAPTCHA_UNAVAILABLE: return "unavailable";
	}
	return "?";
}
