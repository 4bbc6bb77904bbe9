/*
 * test_captcha.c: the siteverify verdicts of each provider's answers (success,
 * refusals with their error-codes, reCAPTCHA v3 and hCaptcha Enterprise
 * scores against min-score, a refused secret, a status other than 200,
 * the answer's hostname and action against the form's (and not compared
 * when the form names none),
 * answers that are no JSON object), the token rules and limits (absent,
 * empty, repeated, too long, not printable ASCII), FMGATE_CAPTCHA_URL's
 * loopback rule, and the call itself against a one-shot loopback server: the
 * request's body and content type, an answer over CAPTCHA_MAX_ANSWER, and no
 * call at all for a token that is refused first.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "captcha.h"
#include "t.h"
#include "tserve.h"

static char secret_bytes[] = "s3cr+t&=x";

static struct map_captcha captcha(enum map_captcha_provider p, double min_score)
{
	struct map_captcha c = {.provider = p, .secret_file = "/etc/fmgate/captcha",
	                        .secret = {secret_bytes, sizeof secret_bytes - 1},
	                        .min_score = min_score};
	return c;
}

/* ---- verdicts ---------------------------------------------------------------- */

static enum captcha_verdict judge(enum map_captcha_provider p, double min, long status,
                                  const char *body, struct captcha_result *r)
{
	struct map_captcha c = captcha(p, min);

	memset(r, 0x55, sizeof *r);
	captcha_judge(&c, status, body, strlen(body), r);
	return r->verdict;
}

static void test_judge(void)
{
	struct captcha_result r;

	/* Turnstile, as its documentation shows the answers */
	T(judge(MAP_CAPTCHA_TURNSTILE, MAP_NO_MIN_SCORE, 200,
	        "{\"success\":true,\"challenge_ts\":\"2026-01-01T00:00:00.000Z\",\"hostname\":"
	        "\"example.com\",\"error-codes\":[],\"action\":\"login\",\"cdata\":\"\"}", &r) ==
	  CAPTCHA_VERIFIED && !r.has_score, "turnstile: success");
	T(judge(MAP_CAPTCHA_TURNSTILE, MAP_NO_MIN_SCORE, 200,
	        "{\"success\":false,\"error-codes\":[\"timeout-or-duplicate\"]}", &r) ==
	  CAPTCHA_REJECTED, "turnstile: a reused token");
	T_STREQ(r.why, "refused codes=timeout-or-duplicate", "the code in why");
	T(judge(MAP_CAPTCHA_TURNSTILE, MAP_NO_MIN_SCORE, 200,
	        "{\"success\":false,\"error-codes\":[\"invalid-input-response\"]}", &r) ==
	  CAPTCHA_REJECTED, "turnstile: a bad token");
	/* hCaptcha; Enterprise adds a (risk) score, kept as given */
	T(judge(MAP_CAPTCHA_HCAPTCHA, MAP_NO_MIN_SCORE, 200,
	        "{\"success\":true,\"challenge_ts\":\"2026-01-01T00:00:00Z\",\"hostname\":\"x\","
	        "\"credit\":false}", &r) == CAPTCHA_VERIFIED && !r.has_score, "hcaptcha: success");
	T(judge(MAP_CAPTCHA_HCAPTCHA, MAP_NO_MIN_SCORE, 200,
	        "{\"success\":true,\"score\":0.2,\"score_reason\":[\"safe\"]}", &r) ==
	  CAPTCHA_VERIFIED && r.has_score && r.score == 0.2, "hcaptcha enterprise: its score");
	T(judge(MAP_CAPTCHA_HCAPTCHA, MAP_NO_MIN_SCORE, 200,
	        "{\"success\":false,\"error-codes\":[\"sitekey-secret-mismatch\"]}", &r) ==
	  CAPTCHA_UNAVAILABLE, "hcaptcha: a secret that is not the sitekey's is the operator's");
	/* reCAPTCHA v2, v3 */
	T(judge(MAP_CAPTCHA_RECAPTCHA, MAP_NO_MIN_SCORE, 200,
	        "{\"success\":true,\"challenge_ts\":\"2026-01-01T00:00:00Z\",\"hostname\":\"x\"}",
	        &r) == CAPTCHA_VERIFIED, "recaptcha v2: success");
	T(judge(MAP_CAPTCHA_RECAPTCHA, 0.5, 200,
	        "{\"success\":true,\"score\":0.9,\"action\":\"submit\"}", &r) == CAPTCHA_VERIFIED &&
	  r.has_score && r.score == 0.9, "recaptcha v3: a high score");
	T(judge(MAP_CAPTCHA_RECAPTCHA, 0.5, 200, "{\"success\":true,\"score\":0.3}", &r) ==
	  CAPTCHA_REJECTED, "recaptcha v3: a low score");
	T_STREQ(r.why, "score 0.30 under min-score 0.50", "the scores in why");
	T(judge(MAP_CAPTCHA_RECAPTCHA, 0.3, 200, "{\"success\":true,\"score\":0.3}", &r) ==
	  CAPTCHA_VERIFIED, "recaptcha v3: a score equal to min-score");
	T(judge(MAP_CAPTCHA_RECAPTCHA, 0.7, 200, "{\"success\":true,\"score\":0.7}", &r) ==
	  CAPTCHA_VERIFIED, "0.7 is 0.7, whatever its binary form");
	T(judge(MAP_CAPTCHA_RECAPTCHA, 0.5, 200, "{\"success\":true}", &r) == CAPTCHA_REJECTED,
	  "recaptcha: a min-score without a score (a v2 key)");
	T(judge(MAP_CAPTCHA_RECAPTCHA, 0.5, 200, "{\"success\":true,\"score\":1.5}", &r) ==
	  CAPTCHA_REJECTED && !r.has_score, "a score out of 0..1 is none");
	T(judge(MAP_CAPTCHA_RECAPTCHA, 0.5, 200, "{\"success\":true,\"score\":\"0.9\"}", &r) ==
	  CAPTCHA_REJECTED, "a score as a string is none");
	T(judge(MAP_CAPTCHA_RECAPTCHA, 0, 200, "{\"success\":true,\"score\":0}", &r) ==
	  CAPTCHA_VERIFIED, "min-score 0: any score");
	T(judge(MAP_CAPTCHA_RECAPTCHA, MAP_NO_MIN_SCORE, 200,
	        "{\"success\":false,\"error-codes\":[\"invalid-input-secret\"]}", &r) ==
	  CAPTCHA_UNAVAILABLE, "a refused secret: unavailable");
	T(judge(MAP_CAPTCHA_RECAPTCHA, MAP_NO_MIN_SCORE, 200,
	        "{\"success\":false,\"error-codes\":[\"missing-input-secret\"]}", &r) ==
	  CAPTCHA_UNAVAILABLE, "a missing secret: unavailable");
	T(judge(MAP_CAPTCHA_RECAPTCHA, MAP_NO_MIN_SCORE, 200, "{\"success\":false}", &r) ==
	  CAPTCHA_REJECTED, "refused without codes");
	T_STREQ(r.why, "refused", "why without codes");
	/* codes: plain words only, at most three named */
	T(judge(MAP_CAPTCHA_TURNSTILE, MAP_NO_MIN_SCORE, 200,
	        "{\"success\":false,\"error-codes\":[\"a\",\"B\\nC\",7,\"b\",\"c\",\"d\"]}", &r) ==
	  CAPTCHA_REJECTED, "odd codes");
	T_STREQ(r.why, "refused codes=a,b,c", "odd codes skipped, three named");
	/* what is no answer */
	T(judge(MAP_CAPTCHA_TURNSTILE, MAP_NO_MIN_SCORE, 500, "{\"success\":false}", &r) ==
	  CAPTCHA_UNAVAILABLE, "HTTP 500");
	T_STREQ(r.why, "HTTP 500", "the status in why");
	T(judge(MAP_CAPTCHA_TURNSTILE, MAP_NO_MIN_SCORE, 400, "{\"success\":false}", &r) ==
	  CAPTCHA_UNAVAILABLE, "HTTP 400: our request, not the visitor's token");
	T(judge(MAP_CAPTCHA_TURNSTILE, MAP_NO_MIN_SCORE, 200, "<html>busy</html>", &r) ==
	  CAPTCHA_UNAVAILABLE, "garbage");
	T_STREQ(r.why, "unreadable answer", "garbage: why");
	T(judge(MAP_CAPTCHA_TURNSTILE, MAP_NO_MIN_SCORE, 200, "[true]", &r) == CAPTCHA_UNAVAILABLE,
	  "an array");
	T(judge(MAP_CAPTCHA_TURNSTILE, MAP_NO_MIN_SCORE, 200, "{\"success\":\"true\"}", &r) ==
	  CAPTCHA_UNAVAILABLE, "success as a string");
	T(judge(MAP_CAPTCHA_TURNSTILE, MAP_NO_MIN_SCORE, 200, "{\"ok\":true}", &r) ==
	  CAPTCHA_UNAVAILABLE, "no success");
	T(judge(MAP_CAPTCHA_TURNSTILE, MAP_NO_MIN_SCORE, 200, "", &r) == CAPTCHA_UNAVAILABLE,
	  "an empty answer");
	T_STREQ(captcha_verdict_name(CAPTCHA_VERIFIED), "ok", "verdict names");
	T_STREQ(captcha_verdict_name(CAPTCHA_UNAVAILABLE), "unavailable", "verdict names");
}

/* A success answer of Turnstile (or, with a score, reCAPTCHA v3) with this
 * hostname and action (NULL: none) judged by a form naming hosts and action. */
static enum captcha_verdict matched(enum map_captcha_provider p, const char *hosts,
                                    const char *action, const char *got_host,
                                    const char *got_action, struct captcha_result *r)
{
	struct map_captcha c = captcha(p, MAP_NO_MIN_SCORE);
	char body[512];
	int n = snprintf(body, sizeof body, "{\"success\":true,\"score\":0.9");

	if (got_host)
		n += snprintf(body + n, sizeof body - (size_t)n, ",\"hostname\":\"%s\"", got_host);
	if (got_action)
		n += snprintf(body + n, sizeof body - (size_t)n, ",\"action\":\"%s\"", got_action);
	snprintf(body + n, sizeof body - (size_t)n, "}");
	c.hostnames = (char *)hosts;
	c.action = (char *)action;
	memset(r, 0x55, sizeof *r);
	captcha_judge(&c, 200, body, strlen(body), r);
	return r->verdict;
}

static void test_match(void)
{
	enum map_captcha_provider ts = MAP_CAPTCHA_TURNSTILE, rc = MAP_CAPTCHA_RECAPTCHA;
	struct captcha_result r;

	/* not named by the form: not compared, whatever the answer says */
	T(matched(ts, NULL, NULL, "evil.example", "other", &r) == CAPTCHA_VERIFIED, "unset: any");
	T(matched(ts, NULL, NULL, NULL, NULL, &r) == CAPTCHA_VERIFIED, "unset: none");
	/* hostname: one of the list, in either case */
	T(matched(ts, "www.example.com", NULL, "www.example.com", NULL, &r) == CAPTCHA_VERIFIED,
	  "hostname: the one named");
	T(matched(ts, "example.com www.example.com", NULL, "WWW.Example.com", NULL, &r) ==
	  CAPTCHA_VERIFIED, "hostname: the second of two, another case");
	T(matched(ts, "example.com www.example.com", NULL, "example.co", NULL, &r) ==
	  CAPTCHA_REJECTED, "hostname: a prefix of one is not it");
	T(matched(ts, "example.com", NULL, "example.com.evil.example", NULL, &r) ==
	  CAPTCHA_REJECTED, "hostname: one that starts with it is not it");
	T(matched(ts, "www.example.com", NULL, "evil.example", NULL, &r) == CAPTCHA_REJECTED,
	  "hostname: another site");
	T_STREQ(r.why, "hostname evil.example not in the form's", "hostname: why");
	T(matched(ts, "www.example.com", NULL, NULL, NULL, &r) == CAPTCHA_REJECTED,
	  "hostname: none in the answer");
	T_STREQ(r.why, "hostname - not in the form's", "none: why");
	T(matched(ts, "www.example.com", NULL, "a\\\"b", NULL, &r) == CAPTCHA_REJECTED &&
	  strcmp(r.why, "hostname - not in the form's") == 0, "an odd hostname is not logged");
	/* action: exactly */
	T(matched(rc, NULL, "signup", NULL, "signup", &r) == CAPTCHA_VERIFIED, "action: the one named");
	T(matched(rc, NULL, "signup", NULL, "Signup", &r) == CAPTCHA_REJECTED, "action: case counts");
	T(matched(rc, NULL, "signup", NULL, "login", &r) == CAPTCHA_REJECTED, "action: another");
	T_STREQ(r.why, "action login is not signup", "action: why");
	T(matched(rc, NULL, "signup", NULL, NULL, &r) == CAPTCHA_REJECTED, "action: none (a v2 key)");
	T(matched(ts, NULL, "signup", NULL, "", &r) == CAPTCHA_REJECTED,
	  "action: Turnstile's empty one (a widget naming none)");
	/* both */
	T(matched(rc, "www.example.com", "signup", "www.example.com", "signup", &r) ==
	  CAPTCHA_VERIFIED && r.has_score, "both match");
	T(matched(rc, "www.example.com", "signup", "www.example.com", "login", &r) ==
	  CAPTCHA_REJECTED, "the host matches, not the action");
}

/* ---- tokens ------------------------------------------------------------------- */

static const char *token_of(enum map_captcha_provider p, const char *body, size_t max_value,
                            struct captcha_result *r)
{
	static struct form_pairs pairs;
	struct form_limits lim = {.max_body = 1 << 20, .max_fields = 100, .max_value = max_value};
	struct map_captcha c = captcha(p, MAP_NO_MIN_SCORE);

	form_pairs_free(&pairs);
	memset(&pairs, 0, sizeof pairs);
	if (form_parse_urlencoded(body, strlen(body), &lim, &pairs) != FORM_OK)
		return "(unparsed)";
	memset(r, 0, sizeof *r);
	return captcha_token(&c, &pairs, r);
}

static void test_tokens(void)
{
	struct captcha_result r;
	char *big = malloc(CAPTCHA_MAX_TOKEN + 64);

	T_STREQ(token_of(MAP_CAPTCHA_TURNSTILE, "email=a&cf-turnstile-response=0.abc_DEF-1", 4000, &r),
	        "0.abc_DEF-1", "turnstile's field");
	T_STREQ(token_of(MAP_CAPTCHA_HCAPTCHA, "h-captcha-response=P1_ey.x", 4000, &r), "P1_ey.x",
	        "hcaptcha's field");
	T_STREQ(token_of(MAP_CAPTCHA_RECAPTCHA, "g-recaptcha-response=03AF", 4000, &r), "03AF",
	        "recaptcha's field");
	T(!token_of(MAP_CAPTCHA_RECAPTCHA, "h-captcha-response=03AF", 4000, &r) &&
	  r.verdict == CAPTCHA_REJECTED, "another provider's field is no token");
	T_STREQ(r.why, "no token", "absent: why");
	T(!token_of(MAP_CAPTCHA_TURNSTILE, "cf-turnstile-response=", 4000, &r) &&
	  r.verdict == CAPTCHA_REJECTED, "empty");
	T(!token_of(MAP_CAPTCHA_TURNSTILE, "cf-turnstile-response=a&cf-turnstile-response=b", 4000,
	            &r) && r.verdict == CAPTCHA_REJECTED, "twice");
	T_STREQ(r.why, "token sent more than once", "twice: why");
	T(!token_of(MAP_CAPTCHA_TURNSTILE, "cf-turnstile-response=a+b", 4000, &r) &&
	  r.verdict == CAPTCHA_REJECTED, "a space");
	T_STREQ(r.why, "token malformed", "malformed: why");
	T(!token_of(MAP_CAPTCHA_TURNSTILE, "cf-turnstile-response=a%0Ab", 4000, &r), "a newline");
	T(!token_of(MAP_CAPTCHA_TURNSTILE, "cf-turnstile-response=a%C3%A9", 4000, &r), "non-ASCII");
	T(!token_of(MAP_CAPTCHA_TURNSTILE, "cf-turnstile-response=abcdef", 5, &r) &&
	  r.verdict == CAPTCHA_REJECTED, "over the form's max-value");
	T_STREQ(r.why, "token too long", "too long: why");
	if (big) {
		size_t head = strlen("cf-turnstile-response=");

		memcpy(big, "cf-turnstile-response=", head);
		memset(big + head, 'a', CAPTCHA_MAX_TOKEN);
		big[head + CAPTCHA_MAX_TOKEN] = '\0';
		T(token_of(MAP_CAPTCHA_TURNSTILE, big, 1 << 20, &r) != NULL,
		  "CAPTCHA_MAX_TOKEN bytes are taken");
		big[head + CAPTCHA_MAX_TOKEN] = 'a';
		big[head + CAPTCHA_MAX_TOKEN + 1] = '\0';
		T(!token_of(MAP_CAPTCHA_TURNSTILE, big, 1 << 20, &r) && r.verdict == CAPTCHA_REJECTED,
		  "one byte more is not");
	}
	free(big);
	token_of(MAP_CAPTCHA_NONE, "", 10, &r);   /* releases the pairs */
}

/* ---- FMGATE_CAPTCHA_URL ---------------------------------------------------------- */

static void test_url(void)
{
	static const char *const refused[] = {
		"http://example.com/x", "https://192.0.2.1/x", "ftp://127.0.0.1/x",
		"http://127.0.0.1.example.com/x", "http://user@127.0.0.1/x", "http://127.1/x",
		"http://127.0.0.1/x?y", "not a url",
	};

	unsetenv(CAPTCHA_URL_ENV);
	T_STREQ(captcha_url(MAP_CAPTCHA_TURNSTILE),
	        "https://challenges.cloudflare.com/turnstile/v0/siteverify", "turnstile's URL");
	T_STREQ(captcha_url(MAP_CAPTCHA_HCAPTCHA), "https://api.hcaptcha.com/siteverify",
	        "hcaptcha's URL");
	T_STREQ(captcha_url(MAP_CAPTCHA_RECAPTCHA), "https://www.google.com/recaptcha/api/siteverify",
	        "recaptcha's URL");
	T(!captcha_url(MAP_CAPTCHA_NONE), "none: no URL");
	setenv(CAPTCHA_URL_ENV, "http://127.0.0.1:9/_captcha/turnstile", 1);
	T_STREQ(captcha_url(MAP_CAPTCHA_TURNSTILE), "http://127.0.0.1:9/_captcha/turnstile",
	        "loopback http taken");
	setenv(CAPTCHA_URL_ENV, "https://localhost/v", 1);
	T_STREQ(captcha_url(MAP_CAPTCHA_HCAPTCHA), "https://localhost/v", "localhost https taken");
	setenv(CAPTCHA_URL_ENV, "http://[::1]:8/v", 1);
	T_STREQ(captcha_url(MAP_CAPTCHA_RECAPTCHA), "http://[::1]:8/v", "[::1] taken");
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		setenv(CAPTCHA_URL_ENV, refused[i], 1);
		T_STREQ(captcha_url(MAP_CAPTCHA_RECAPTCHA),
		        "https://www.google.com/recaptcha/api/siteverify", "%s ignored", refused[i]);
	}
	unsetenv(CAPTCHA_URL_ENV);
}

/* ---- the call, against a one-shot server ------------------------------------------- */

static void check_body(const char *body, const char *ip, struct captcha_result *r)
{
	struct form_limits lim = {.max_body = 65536, .max_fields = 10, .max_value = 8192};
	struct form_pairs pairs = {0};
	struct map_captcha c = captcha(MAP_CAPTCHA_RECAPTCHA, 0.5);

	T(form_parse_urlencoded(body, strlen(body), &lim, &pairs) == FORM_OK, "test body parses");
	captcha_check(&c, &pairs, ip, r);
	form_pairs_free(&pairs);
}

static void test_call(void)
{
	static const char json[] = "{\"success\":true,\"score\":0.9,\"action\":\"x\"}";
	static char req[65536], big[CAPTCHA_MAX_ANSWER + 512], ok[256];
	struct captcha_result r;
	struct t_server s;
	int n;

	snprintf(ok, sizeof ok, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", sizeof json - 1, json);
	s = t_serve_once("/siteverify", ok, strlen(ok));
	setenv(CAPTCHA_URL_ENV, s.url, 1);
	check_body("g-recaptcha-response=03AF.tok-_x&email=a", "2001:db8::1", &r);
	t_server_done(&s, req, sizeof req);
	T(r.verdict == CAPTCHA_VERIFIED && r.has_score && r.score == 0.9, "verified (%s)", r.why);
	T(strncmp(req, "POST /siteverify HTTP/1.1\r\n", 27) == 0, "a POST to the URL's path");
	T(strcasestr(req, "\r\nContent-Type: application/x-www-form-urlencoded\r\n") != NULL,
	  "form-encoded");
	T(strstr(req, "\r\n\r\nsecret=s3cr%2Bt%26%3Dx&response=03AF.tok-_x&remoteip=2001%3Adb8%3A%3A1") != NULL,
	  "secret, response and remoteip, each escaped: %s", strstr(req, "\r\n\r\n"));

	s = t_serve_once("/siteverify", ok, strlen(ok));
	setenv(CAPTCHA_URL_ENV, s.url, 1);
	check_body("g-recaptcha-response=t2", NULL, &r);
	t_server_done(&s, req, sizeof req);
	T(r.verdict == CAPTCHA_VERIFIED && strstr(req, "remoteip") == NULL, "no address: no remoteip");

	s = t_serve_once("/siteverify", ok, strlen(ok));
	memcpy(s.url, "HTTP", 4);   /* the scheme in any case */
	setenv(CAPTCHA_URL_ENV, s.url, 1);
	check_body("g-recaptcha-response=t2b", NULL, &r);
	t_server_done(&s, req, sizeof req);
	T(r.verdict == CAPTCHA_VERIFIED, "HTTP:// in capitals (%s)", r.why);

	/* an answer over the limit is no answer */
	n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n{\"success\":true,\"x\":\"",
	             CAPTCHA_MAX_ANSWER + 100);
	memset(big + n, 'x', sizeof big - (size_t)n);
	s = t_serve_once("/siteverify", big, sizeof big);
	setenv(CAPTCHA_URL_ENV, s.url, 1);
	check_body("g-recaptcha-response=t3", NULL, &r);
	t_server_done(&s, req, sizeof req);
	T(r.verdict == CAPTCHA_UNAVAILABLE && strstr(r.why, "answer over") != NULL,
	  "an answer over CAPTCHA_MAX_ANSWER (%s)", r.why);

	/* nobody listening: unavailable; a refused token: no call, so rejected */
	setenv(CAPTCHA_URL_ENV, s.url, 1);
	check_body("g-recaptcha-response=t4", NULL, &r);
	T(r.verdict == CAPTCHA_UNAVAILABLE, "connection refused: unavailable (%s)", r.why);
	check_body("g-recaptcha-response=t+4", NULL, &r);
	T(r.verdict == CAPTCHA_REJECTED, "a malformed token is refused without a call (%s)", r.why);
	check_body("email=a", NULL, &r);
	T(r.verdict == CAPTCHA_REJECTED, "no token: no call (%s)", r.why);
	unsetenv(CAPTCHA_URL_ENV);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(60);   /* a call that never ends fails the test instead of hanging it */
	test_judge();
	test_match();
	test_tokens();
	test_url();
	test_call();
	T_DONE();
}
