/* Reading a request under limits, the client address, JSON preference (request.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "request.h"
#include "t.h"

struct env { const char **kv; };  /* NAME, VALUE, ..., NULL */

static const char *param(void *ctx, const char *name)
{
	const struct env *e = ctx;
	for (const char **p = e->kv; *p; p += 2)
		if (strcmp(*p, name) == 0)
			return p[1];
	return NULL;
}

/* stall_after: once this many bytes were given, every later read times out
 * (0: never); slow_ms: each read first sleeps this long. */
struct src { const char *data; size_t len, pos, chunk, stall_after; int slow_ms, calls, last_timeout; };

static ssize_t reader(void *ctx, char *buf, size_t len, int timeout_ms)
{
	struct src *s = ctx;
	size_t n = s->len - s->pos;

	s->calls++;
	s->last_timeout = timeout_ms;
	if (s->slow_ms) {
		struct timespec ts = { 0, s->slow_ms * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (s->stall_after && s->pos >= s->stall_after)
		return REQ_READ_TIMEOUT;
	if (n > len) n = len;
	if (n > s->chunk) n = s->chunk;  /* short reads, as from a socket */
	memcpy(buf, s->data + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static enum req_err read_with(const char *cl, const char *body, size_t max, struct request *r)
{
	const char *kv[] = { "REQUEST_METHOD", "POST", "CONTENT_LENGTH", cl, NULL };
	struct env e = { kv };
	struct src s = { body, strlen(body), 0, 3, 0, 0, 0, 0 };
	if (!cl)
		kv[2] = NULL;
	request_init(r, param, &e);
	return request_read_body(r, reader, &s, max, 10000);
}

/* A body of CONTENT_LENGTH 12 from a reader set up as `s` says, with a
 * timeout of timeout_ms. */
static enum req_err read_timed(struct src *s, unsigned timeout_ms, struct request *r)
{
	const char *kv[] = { "REQUEST_METHOD", "POST", "CONTENT_LENGTH", "12", NULL };
	struct env e = { kv };

	request_init(r, param, &e);
	return request_read_body(r, reader, s, 1000, timeout_ms);
}

static const char *client_ip(const char *remote, const char *xff, char **proxies, size_t n)
{
	static char tmp[64];
	struct map_settings s = { .trusted_proxies = proxies, .n_trusted_proxies = n };
	struct request r = { .remote_addr = (char *)remote, .forwarded_for = (char *)xff };
	return request_client_ip(&r, &s, tmp, sizeof tmp);
}

int main(void)
{
	struct request r;

	T(read_with("5", "a=1&b", 10, &r) == REQ_OK && r.body_len == 5 && strcmp(r.body, "a=1&b") == 0, "exact length");
	request_free(&r);
	T(read_with("10", "a=1&b", 10, &r) == REQ_ESHORT, "short body");
	request_free(&r);
	T(read_with("11", "", 10, &r) == REQ_ETOOLARGE, "length over max refused before reading");
	request_free(&r);
	T(read_with("10", "0123456789", 10, &r) == REQ_OK, "length at max");
	request_free(&r);
	T(read_with("-1", "", 10, &r) == REQ_EBADLENGTH, "negative length");
	request_free(&r);
	T(read_with("1x", "", 10, &r) == REQ_EBADLENGTH, "non-numeric length");
	request_free(&r);
	T(read_with("99999999999999999999999", "", 10, &r) == REQ_EBADLENGTH, "overflowing length");
	request_free(&r);
	T(read_with("", "abc", 10, &r) == REQ_OK && r.body_len == 0, "empty length is no body");
	request_free(&r);
	T(read_with(NULL, "abc", 10, &r) == REQ_OK && r.body_len == 3, "no length: read to the end");
	request_free(&r);
	T(read_with(NULL, "0123456789x", 10, &r) == REQ_ETOOLARGE, "no length: over max");
	request_free(&r);
	T(read_with("3", "abcdef", 10, &r) == REQ_OK && r.body_len == 3, "extra bytes ignored");
	request_free(&r);

	/* form id */
	{
		static const struct { const char *pi, *uri, *want; } c[] = {
			{ "/contact", NULL, "contact" }, { "/contact/", NULL, "contact" },
			{ "/a/b", NULL, NULL }, { "/../x", NULL, NULL }, { "contact", NULL, NULL },
			{ "", "/forms/news-letter_2?x=1", "news-letter_2" }, { "", "/forms/contact/", "contact" },
			{ "", "/forms//?x", NULL }, { NULL, "/forms/a%2Fb", NULL },
			{ "/", NULL, NULL },
			{ "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, NULL },
		};
		for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
			const char *kv[] = { "PATH_INFO", c[i].pi, "REQUEST_URI", c[i].uri, NULL };
			struct env e = { kv };
			if (!c[i].pi) { kv[0] = "X"; kv[1] = "y"; }
			if (!c[i].uri) { kv[2] = NULL; }
			request_init(&r, param, &e);
			T_STREQ(r.form_id, c[i].want, "form id of %s %s", c[i].pi ? c[i].pi : "-", c[i].uri ? c[i].uri : "-");
			request_free(&r);
		}
	}

	/* the read timeout bounds the whole body, not each read */
	{
		struct src stalled = { "email=a%40b.c", 12, 0, 5, 5, 0, 0, 0 };
		T(read_timed(&stalled, 1000, &r) == REQ_ETIMEOUT, "a reader that times out: ETIMEOUT");
		T(stalled.calls == 2, "no read after the timeout (%d calls)", stalled.calls);
		request_free(&r);

		struct src trickle = { "email=a%40b.c", 12, 0, 1, 0, 30, 0, 0 };
		T(read_timed(&trickle, 100, &r) == REQ_ETIMEOUT, "a trickle past the deadline: ETIMEOUT");
		T(trickle.calls >= 3 && trickle.calls <= 5, "stops at the deadline (%d calls)", trickle.calls);
		T(trickle.last_timeout > 0 && trickle.last_timeout <= 100,
		  "each read waits at most the time left (%d ms)", trickle.last_timeout);
		request_free(&r);

		struct src fine = { "email=a%40b.c", 12, 0, 4, 0, 0, 0, 0 };
		T(read_timed(&fine, 1000, &r) == REQ_OK && r.body_len == 12, "in time: read whole");
		request_free(&r);
		T(strcmp(request_strerror(REQ_ETIMEOUT), "unknown error") != 0, "ETIMEOUT has a message");
	}

	/* an oversized header is absent, never truncated */
	{
		char *big = malloc(LIMIT_MAX_HEADER + 2);
		memset(big, 'a', LIMIT_MAX_HEADER + 1);
		big[LIMIT_MAX_HEADER + 1] = '\0';
		const char *kv[] = { "HTTP_ORIGIN", big, "HTTP_COOKIE", "a=1", NULL };
		struct env e = { kv };
		request_init(&r, param, &e);
		T(r.origin == NULL && r.cookie && strcmp(r.cookie, "a=1") == 0, "oversized Origin dropped");
		T(r.origin_oversized && !r.referer_oversized, "oversized Origin flagged");
		request_free(&r);
		const char *kv2[] = { "HTTP_REFERER", big, "HTTP_COOKIE", big, NULL };
		struct env e2 = { kv2 };
		request_init(&r, param, &e2);
		T(r.referer == NULL && r.cookie == NULL && r.referer_oversized && !r.origin_oversized,
		  "oversized Referer and Cookie dropped, the Referer flagged");
		request_free(&r);
		const char *kv3[] = { "HTTP_ACCEPT_LANGUAGE", big, NULL };
		struct env e3 = { kv3 };
		request_init(&r, param, &e3);
		T(r.accept_language == NULL, "oversized Accept-Language dropped");
		request_free(&r);
		big[LIMIT_MAX_HEADER] = '\0';
		request_init(&r, param, &e3);
		T(r.accept_language && strlen(r.accept_language) == LIMIT_MAX_HEADER,
		  "Accept-Language of 8192 bytes kept");
		request_free(&r);
		free(big);
	}

	/* Accept-Language, read for context.locale (identify.c parses it) */
	{
		const char *kv[] = { "HTTP_ACCEPT_LANGUAGE", "en-US,en;q=0.9", "HTTP_ACCEPT", "text/html", NULL };
		struct env e = { kv };
		request_init(&r, param, &e);
		T_STREQ(r.accept_language, "en-US,en;q=0.9", "Accept-Language copied as sent");
		T_STREQ(r.accept, "text/html", "not mistaken for Accept");
		request_free(&r);
		T(r.accept_language == NULL, "request_free clears it");
	}

	char *proxies[] = { "10.0.0.1", "::1" };
	T_STREQ(client_ip("203.0.113.5", "1.2.3.4", proxies, 2), "203.0.113.5", "XFF from an untrusted peer ignored");
	T_STREQ(client_ip("10.0.0.1", "203.0.113.9", proxies, 2), "203.0.113.9", "XFF from a trusted proxy");
	T_STREQ(client_ip("10.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.1", proxies, 2), "203.0.113.9", "first untrusted from the right");
	T_STREQ(client_ip("::1", " 2001:db8::1 ", proxies, 2), "2001:db8::1", "IPv6, spaces");
	T_STREQ(client_ip("10.0.0.1", "junk, 203.0.113.9", proxies, 2), "203.0.113.9", "junk left of the client is not reached");
	T_STREQ(client_ip("10.0.0.1", "203.0.113.9, junk", proxies, 2), "10.0.0.1", "junk header ignored");
	T_STREQ(client_ip("10.0.0.1", "10.0.0.1", proxies, 2), "10.0.0.1", "only proxies: the left-most");
	T_STREQ(client_ip("10.0.0.1", "", proxies, 2), "10.0.0.1", "empty XFF");
	T_STREQ(client_ip("10.0.0.1", NULL, proxies, 2), "10.0.0.1", "no XFF");
	T_STREQ(client_ip("10.0.0.1", "203.0.113.9", proxies, 0), "10.0.0.1", "no trusted proxies");

	static const struct { const char *accept; int json; } a[] = {
		{ "application/json", 1 }, { "application/json, text/html", 1 },
		{ "text/html,application/json", 0 }, { "text/html", 0 }, { "*/*", 0 }, { NULL, 0 },
		{ "Application/JSON;q=0.9", 1 },
	};
	for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
		struct request q = { .accept = (char *)a[i].accept };
		T(request_wants_json(&q) == (a[i].json != 0), "wants_json(%s)", a[i].accept ? a[i].accept : "-");
	}
	T_DONE();
}
