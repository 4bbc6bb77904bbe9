/*
 * test_dest_http.c: the webhook's signature against a known answer (computed
 * with `openssl dgst -sha256 -hmac`), the forward's body
 * (integrations.Freshmarketer false, nothing else changed), Segment's 32 KB
 * rule, what `try` prints (never a secret), and both senders against a
 * one-shot server on the loopback: the request they make (headers, Basic
 * auth, the signature verifying), the outcome of each kind of answer, and an
 * answer that echoes the secret.
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

#include "dest_http.h"
#include "t.h"
#include "tserve.h"
#include "text.h"

#define KEY "hook-secret-1"
#define WRITE_KEY "wk_test"
#define WRITE_KEY_B64 "d2tfdGVzdDo="   /* printf 'wk_test:' | base64 */

static char secret_bytes[] = KEY;
static char write_key_bytes[] = WRITE_KEY;

/* ---- a one-shot server ---------------------------------------------------- */

/* The value of header `name` in a request (up to CR), into v. */
static bool header_of(const char *req, const char *name, char *v, size_t size)
{
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof key, "\r\n%s: ", name);
	if (!(p = strcasestr(req, key)) || !(e = strstr(p + strlen(key), "\r\n")))
		return false;
	p += strlen(key);
	snprintf(v, size, "%.*s", (int)(e - p), p);
	return true;
}

static struct map_dest hook(const char *url)
{
	struct map_dest d = {.kind = MAP_DEST_WEBHOOK, .name = "webhook", .url = (char *)url,
	                     .secret = {secret_bytes, sizeof KEY - 1}};
	return d;
}

static struct map_segment segment(const char *endpoint)
{
	struct map_segment sg = {.endpoint = (char *)endpoint,
	                         .write_key = {write_key_bytes, sizeof WRITE_KEY - 1}};
	return sg;
}

/* ---- bodies and the signature ------------------------------------------------ */

static void test_sign(void)
{
	char sig[DEST_SIG_SIZE];
	struct secret key = {secret_bytes, sizeof KEY - 1}, none = {NULL, 0};
	const char *body = "{\"a\":1}";

	/* printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'hook-secret-1' */
	T(dest_webhook_sign(&key, 1700000000LL, body, strlen(body), sig), "signed");
	T_STREQ(sig, "sha256=0a35054582bf30f4c2fe1b0a920b1f5cdd7df1355e8d538236dfa8c2ad7c65d1",
	        "the known answer");
	T(DEST_SIG_SIZE == 72, "DEST_SIG_SIZE %zu", DEST_SIG_SIZE);
	T(dest_webhook_sign(&key, 1700000001LL, body, strlen(body), sig) &&
	  strcmp(sig + 7, "0a35054582bf30f4c2fe1b0a920b1f5cdd7df1355e8d538236dfa8c2ad7c65d1") != 0,
	  "the timestamp is signed");
	T(!dest_webhook_sign(&none, 1700000000LL, body, strlen(body), sig) && sig[0] == '\0',
	  "no key, no signature");
}

static const char *MESSAGE =
	"{\"type\":\"identify\",\"messageId\":\"m-1\",\"timestamp\":\"2026-12-02T10:00:00.000Z\","
	"\"userId\":\"u1\",\"anonymousId\":\"a1\",\"traits\":{\"email\":\"ann@example.com\","
	"\"company\":{\"name\":\"Acme\"}},\"context\":{\"ip\":\"192.0.2.1\",\"page\":"
	"{\"url\":\"https://example.com/demo\"}},\"integrations\":{\"All\":true,"
	"\"Freshmarketer\":true,\"Freshmarketer\":true}}";

static void test_bodies(void)
{
	cJSON *msg = cJSON_Parse(MESSAGE), *want, *got, *in;
	char *body, *plain = cJSON_PrintUnformatted(msg);

	body = dest_webhook_body(msg);
	T_STREQ(body, plain, "the webhook gets the message as it is");
	cJSON_free(body);

	body = dest_forward_body(msg);
	got = cJSON_Parse(body);
	in = cJSON_GetObjectItemCaseSensitive(got, "integrations");
	T(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(in, "Freshmarketer")),
	  "integrations.Freshmarketer false: %s", body);
	T(cJSON_GetArraySize(in) == 2, "one Freshmarketer left, All kept: %s", body);
	/* everything else as it was */
	want = cJSON_Duplicate(msg, true);
	cJSON_DeleteItemFromObjectCaseSensitive(want, "integrations");
	cJSON_DeleteItemFromObjectCaseSensitive(got, "integrations");
	T(cJSON_Compare(want, got, true), "the rest unchanged: %s", body);
	T(strstr(body, "\"ip\":\"192.0.2.1\"") != NULL, "context.ip as the mapping left it");
	cJSON_Delete(want);
	cJSON_Delete(got);
	cJSON_free(body);
	T(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	      cJSON_GetObjectItemCaseSensitive(msg, "integrations"), "Freshmarketer")),
	  "the message given is left alone");
	cJSON_Delete(msg);

	msg = cJSON_Parse("{\"userId\":\"u1\"}");
	body = dest_forward_body(msg);
	T_STREQ(body, "{\"userId\":\"u1\",\"integrations\":{\"Freshmarketer\":false}}",
	        "integrations added");
	cJSON_free(body);
	cJSON_Delete(msg);
	msg = cJSON_Parse("{\"userId\":\"u1\",\"integrations\":true}");
	body = dest_forward_body(msg);
	T_STREQ(body, "{\"userId\":\"u1\",\"integrations\":{\"Freshmarketer\":false}}",
	        "integrations that is no object replaced");
	cJSON_free(body);
	cJSON_Delete(msg);
	cJSON_free(plain);
}

/* ---- Segment's 32 KB ------------------------------------------------------------ */

static void test_forward_limit(void)
{
	/* nothing listens on port 1: a call made fails as a network error */
	struct map_segment sg = segment("http://127.0.0.1:1/v1");
	char *body = malloc(DEST_FORWARD_MAX_BODY + 1);
	struct fm_result r;

	memset(body, ' ', DEST_FORWARD_MAX_BODY + 1);
	dest_forward_send(&sg, body, DEST_FORWARD_MAX_BODY + 1, 2000, &r);
	T(r.outcome == FM_REJECTED && r.calls == 0 && strstr(r.message, "32768"),
	  "over 32 KB: refused without a call: %s %u %s", fm_outcome_name(r.outcome), r.calls,
	  r.message);
	dest_forward_send(&sg, body, DEST_FORWARD_MAX_BODY, 2000, &r);
	T(r.outcome == FM_RETRY && r.calls == 1 && r.http_status == 0 && r.message[0],
	  "32 KB exactly: tried: %s %u %s", fm_outcome_name(r.outcome), r.calls, r.message);
	free(body);
}

/* ---- what try prints ------------------------------------------------------------- */

static void test_describe(void)
{
	struct map_dest d = hook("https://hooks.example.com/fmgate");
	struct map_segment sg = segment("https://api.segment.io/v1");
	char *text = NULL, *big;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	dest_webhook_describe(&d, "{\"a\":1}", f);
	fflush(f);
	T(strncmp(text, "POST https://hooks.example.com/fmgate\n", 38) == 0, "%s", text);
	T(strstr(text, "\nX-Fmgate-Signature: sha256=(computed when sent)\n") &&
	  strstr(text, "\nContent-Type: application/json\n") &&
	  strstr(text, "\nUser-Agent: fmgate/") && strstr(text, "\n\n{\"a\":1}\n"),
	  "headers and body: %s", text);
	T(!strstr(text, KEY), "no secret: %s", text);
	dest_forward_describe(&sg, "{\"a\":1}", f);
	fclose(f);
	T(strstr(text, "POST https://api.segment.io/v1/identify\n") &&
	  strstr(text, "\nAuthorization: Basic (write key hidden)\n"), "%s", text);
	T(!strstr(text, WRITE_KEY) && !strstr(text, WRITE_KEY_B64), "no write key: %s", text);
	free(text);

	big = malloc(DEST_FORWARD_MAX_BODY + 2);
	memset(big, ' ', DEST_FORWARD_MAX_BODY + 1);
	big[DEST_FORWARD_MAX_BODY + 1] = '\0';
	text = NULL;
	f = open_memstream(&text, &len);
	dest_forward_describe(&sg, big, f);
	fclose(f);
	T(strstr(text, "(not sent: 32769 bytes") != NULL, "over the limit said");
	free(text);
	free(big);
}

/* ---- sending ---------------------------------------------------------------------- */

static void test_webhook_request(void)
{
	static char req[70000];
	const char *body = "{\"messageId\":\"m-1\"}";
	char url[96], ts[32], sig[DEST_SIG_SIZE], want[DEST_SIG_SIZE], v[128];
	static const char answer[] = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
	struct t_server s = t_serve_once("", answer, sizeof answer - 1);
	struct map_dest d;
	struct secret key = {secret_bytes, sizeof KEY - 1};
	struct fm_result r;
	long long t;

	snprintf(url, sizeof url, "%s/_hooks/a", s.url);
	d = hook(url);
	dest_webhook_send(&d, body, strlen(body), 3000, &r);
	t_server_done(&s, req, sizeof req);
	T(r.outcome == FM_DELIVERED && r.http_status == 204 && r.calls == 1 && !r.message[0],
	  "204 delivered: %s %ld %s", fm_outcome_name(r.outcome), r.http_status, r.message);
	T(strncmp(req, "POST /_hooks/a HTTP/1.1\r\n", 25) == 0, "the request line: %.40s", req);
	T(header_of(req, "Content-Type", v, sizeof v) && strcmp(v, "application/json") == 0,
	  "Content-Type %s", v);
	T(header_of(req, "User-Agent", v, sizeof v) && strncmp(v, "fmgate/", 7) == 0, "UA %s", v);
	T(header_of(req, "X-Fmgate-Timestamp", ts, sizeof ts) &&
	  text_parse_ll(ts, 1700000000LL, 9999999999LL, &t), "timestamp %s", ts);
	T(header_of(req, "X-Fmgate-Signature", sig, sizeof sig), "a signature");
	T(dest_webhook_sign(&key, t, body, strlen(body), want) && strcmp(sig, want) == 0,
	  "the signature verifies: %s", sig);
	T(strstr(req, "\r\n\r\n{\"messageId\":\"m-1\"}") != NULL, "the body: %s", req);
}

static void test_forward_request(void)
{
	static char req[70000];
	char v[128];
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n"
	                             "{\"success\":true}";
	struct t_server s = t_serve_once("", answer, sizeof answer - 1);
	struct map_segment sg = segment(s.url);
	struct fm_result r;

	dest_forward_send(&sg, "{}", 2, 3000, &r);
	t_server_done(&s, req, sizeof req);
	T(r.outcome == FM_DELIVERED && r.calls == 1, "200 delivered: %s", r.message);
	T(strncmp(req, "POST /identify HTTP/1.1\r\n", 25) == 0, "{endpoint}/identify: %.40s", req);
	T(header_of(req, "Authorization", v, sizeof v) &&
	  strcmp(v, "Basic " WRITE_KEY_B64) == 0, "Basic auth, empty password: %s", v);
	T(header_of(req, "Content-Type", v, sizeof v) && strcmp(v, "application/json") == 0,
	  "Content-Type %s", v);
}

struct outcome_case {
	const char *answer;
	enum fm_outcome want;
	long retry_after_s;
	const char *message;
};

static void test_outcomes(void)
{
	static char req[70000];
	static const struct outcome_case cases[] = {
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", FM_DELIVERED, -1, ""},
		{"HTTP/1.1 400 Bad\r\nContent-Length: 13\r\n\r\nbad\r\nmessage\x01", FM_REJECTED, -1,
		 "HTTP 400: bad  message "},
		{"HTTP/1.1 404 No\r\nContent-Length: 0\r\n\r\n", FM_REJECTED, -1, "HTTP 404"},
		{"HTTP/1.1 408 Slow\r\nContent-Length: 0\r\n\r\n", FM_RETRY, -1, "HTTP 408"},
		{"HTTP/1.1 429 Many\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n", FM_RETRY, 30,
		 "HTTP 429"},
		{"HTTP/1.1 503 Down\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n"
		 "Content-Length: 4\r\n\r\ndown", FM_RETRY, -1, "HTTP 503: down"},
		{"HTTP/1.1 503 Down\r\nRetry-After: 99999999999\r\nContent-Length: 0\r\n\r\n",
		 FM_RETRY, FM_RETRY_AFTER_MAX, "HTTP 503"},
		{"HTTP/1.1 302 Moved\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n",
		 FM_RETRY, -1, "HTTP 302"},
		/* the receiver echoes the secret: masked */
		{"HTTP/1.1 401 No\r\nContent-Length: 21\r\n\r\nwrong: hook-secret-1.", FM_REJECTED, -1,
		 "HTTP 401: wrong: *************."},
		{"", FM_RETRY, -1, NULL},  /* closed without an answer */
	};
	char url[96];
	struct fm_result r;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct t_server s = t_serve_once("", cases[i].answer, strlen(cases[i].answer));
		struct map_dest d;

		snprintf(url, sizeof url, "%s/h", s.url);
		d = hook(url);
		dest_webhook_send(&d, "{}", 2, 3000, &r);
		t_server_done(&s, req, sizeof req);
		T(r.outcome == cases[i].want && r.retry_after_s == cases[i].retry_after_s &&
		  r.calls == 1, "%zu: %s, Retry-After %ld (%s)", i, fm_outcome_name(r.outcome),
		  r.retry_after_s, r.message);
		if (cases[i].message)
			T_STREQ(r.message, cases[i].message, "%zu: the message", i);
		else
			T(r.http_status == 0 && r.message[0], "%zu: a network error: %s", i, r.message);
	}
}

/* An answer echoing the Authorization header: neither the key nor its base64
 * reaches the message, even past the part shown. */
static void test_forward_echo(void)
{
	static char req[70000], answer[1024];
	char pad[181];
	struct t_server s;
	struct map_segment sg;
	struct fm_result r;

	memset(pad, 'x', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	snprintf(answer, sizeof answer, "HTTP/1.1 400 Bad\r\nContent-Length: %zu\r\n\r\n%s %s %s",
	         strlen(pad) + 2 + strlen(WRITE_KEY) + strlen(WRITE_KEY_B64), WRITE_KEY, pad,
	         WRITE_KEY_B64);
	s = t_serve_once("", answer, strlen(answer));
	sg = segment(s.url);
	dest_forward_send(&sg, "{}", 2, 3000, &r);
	t_server_done(&s, req, sizeof req);
	T(r.outcome == FM_REJECTED && strncmp(r.message, "HTTP 400: ******* xxx", 21) == 0,
	  "the key masked: %s", r.message);
	T(!strstr(r.message, "d2tf") && !strstr(r.message, WRITE_KEY),
	  "no part of the key or its base64: %s", r.message);
	T(strlen(r.message) == strlen("HTTP 400: ") + DEST_ANSWER_SHOWN,
	  "200 bytes of the answer: %zu", strlen(r.message));
}

int main(void)
{
	test_sign();
	test_bodies();
	test_forward_limit();
	test_describe();
	test_webhook_request();
	test_forward_request();
	test_outcomes();
	test_forward_echo();
	T_DONE();
}
