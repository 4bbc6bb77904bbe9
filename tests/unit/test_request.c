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

/* The client address from REMOTE_ADDR `remote` and header h = `value`, with
 * the trusted proxies `proxies` ("RANGE" or "RANGE HEADER-INDEX"), as text;
 * "none" when request_client_addr refuses. */
static const char *client_via(const char *remote, enum map_proxy_header h, const char *value,
                              const char *const *proxies, size_t n)
{
	static char out[NETADDR_TEXT];
	struct map_proxy p[8] = { { 0 } };
	struct map_settings s = { .trusted_proxies = p, .n_trusted_proxies = n };
	struct request r = { .remote_addr = (char *)remote };
	struct netaddr a;

	for (size_t i = 0; i < n && i < 8; i++) {
		char range[64];
		const char *sp = strchr(proxies[i], ' ');
		size_t len = sp ? (size_t)(sp - proxies[i]) : strlen(proxies[i]);

		snprintf(range, sizeof range, "%.*s", (int)len, proxies[i]);
		T(netrange_parse(range, &p[i].range) == NETADDR_OK, "proxy %s parses", range);
		p[i].header = sp ? (enum map_proxy_header)atoi(sp + 1) : MAP_PROXY_X_FORWARDED_FOR;
	}
	r.proxy_header[h] = (char *)value;
	return request_client_addr(&r, &s, &a) ? netaddr_format(&a, out) : "none";
}

static const char *client_ip(const char *remote, const char *xff, const char *const *proxies, size_t n)
{
	return client_via(remote, MAP_PROXY_X_FORWARDED_FOR, xff, proxies, n);
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

	static const char *const proxies[] = { "10.0.0.1", "::1" };
	T_STREQ(client_ip("203.0.113.5", "1.2.3.4", proxies, 2), "203.0.113.5", "XFF from an untrusted peer ignored");
	T_STREQ(client_ip("10.0.0.1", "203.0.113.9", proxies, 2), "203.0.113.9", "XFF from a trusted proxy");
	T_STREQ(client_ip("10.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.1", proxies, 2), "203.0.113.9", "first untrusted from the right");
	T_STREQ(client_ip("::1", " 2001:db8::1 ", proxies, 2), "2001:db8::1", "IPv6, spaces");
	T_STREQ(client_ip("10.0.0.1", "junk, 203.0.113.9", proxies, 2), "203.0.113.9", "junk left of the client is not reached");
	T_STREQ(client_ip("10.0.0.1", "203.0.113.9, junk", proxies, 2), "10.0.0.1", "junk header ignored");
	T_STREQ(client_ip("10.0.0.1", "203.0.113.9,", proxies, 2), "10.0.0.1", "an empty entry: header ignored");
	T_STREQ(client_ip("10.0.0.1", "203.0.113.9:4711", proxies, 2), "10.0.0.1", "an entry with a port: ignored");
	T_STREQ(client_ip("10.0.0.1", "[2001:db8::1]", proxies, 2), "10.0.0.1", "an entry in brackets: ignored");
	T_STREQ(client_ip("10.0.0.1", "10.0.0.1", proxies, 2), "10.0.0.1", "only proxies: the left-most");
	T_STREQ(client_ip("10.0.0.1", "", proxies, 2), "10.0.0.1", "empty XFF");
	T_STREQ(client_ip("10.0.0.1", NULL, proxies, 2), "10.0.0.1", "no XFF");
	T_STREQ(client_ip("10.0.0.1", "203.0.113.9", proxies, 0), "10.0.0.1", "no trusted proxies");

	/* An X-Forwarded-For over the header cap keeps its right-most entries. */
	{
		static char xff[LIMIT_MAX_HEADER + 64];
		const char *kv[] = { "REMOTE_ADDR", "10.0.0.1", "HTTP_X_FORWARDED_FOR", xff, NULL };
		struct env e = { kv };
		struct map_proxy p = { .header = MAP_PROXY_X_FORWARDED_FOR };
		struct map_settings s = { .trusted_proxies = &p, .n_trusted_proxies = 1 };
		struct netaddr a;
		char out[NETADDR_TEXT];
		size_t n = 0;

		T(netrange_parse("10.0.0.1", &p.range) == NETADDR_OK, "proxy parses");
		while (n < LIMIT_MAX_HEADER + 8)
			n += (size_t)snprintf(xff + n, sizeof xff - n, "6.6.6.6, ");
		snprintf(xff + n, sizeof xff - n, "203.0.113.9");
		T(request_init(&r, param, &e) == REQ_OK, "an oversized X-Forwarded-For read");
		T(r.proxy_header[MAP_PROXY_X_FORWARDED_FOR] &&
		  strlen(r.proxy_header[MAP_PROXY_X_FORWARDED_FOR]) <= LIMIT_MAX_HEADER &&
		  r.proxy_header[MAP_PROXY_X_FORWARDED_FOR][0] != ',', "kept within the cap, whole entries");
		T(request_client_addr(&r, &s, &a) && strcmp(netaddr_format(&a, out), "203.0.113.9") == 0,
		  "its right-most client found, not the proxy");
		request_free(&r);

		memset(xff, 'x', LIMIT_MAX_HEADER + 8);
		snprintf(xff + LIMIT_MAX_HEADER + 8, sizeof xff - LIMIT_MAX_HEADER - 8, ", 203.0.113.9");
		xff[0] = '1';
		T(request_init(&r, param, &e) == REQ_OK &&
		  strcmp(r.proxy_header[MAP_PROXY_X_FORWARDED_FOR], " 203.0.113.9") == 0,
		  "a first entry over the cap dropped, the last kept");
		request_free(&r);

		memset(xff, 'x', LIMIT_MAX_HEADER + 8);
		xff[LIMIT_MAX_HEADER + 8] = '\0';
		T(request_init(&r, param, &e) == REQ_OK && !r.proxy_header[MAP_PROXY_X_FORWARDED_FOR],
		  "one entry over the cap: nothing kept");
		request_free(&r);
	}

	/* IPv4-mapped IPv6 addresses are IPv4 ones, wherever they appear. */
	T_STREQ(client_ip("::ffff:10.0.0.1", "203.0.113.9", proxies, 2), "203.0.113.9",
	        "a proxy written as IPv4 matched when it connects as ::ffff:");
	T_STREQ(client_ip("::ffff:203.0.113.5", NULL, proxies, 2), "203.0.113.5", "a mapped peer reads as IPv4");
	T_STREQ(client_ip("10.0.0.1", "::ffff:203.0.113.9", proxies, 2), "203.0.113.9", "a mapped entry reads as IPv4");
	T_STREQ(client_ip("10.0.0.1", "203.0.113.9, ::ffff:10.0.0.1", proxies, 2), "203.0.113.9",
	        "a mapped proxy entry is skipped");
	{
		static const char *const mapped[] = { "::ffff:10.0.0.1" };
		T_STREQ(client_ip("10.0.0.1", "203.0.113.9", mapped, 1), "203.0.113.9",
		        "a proxy written as ::ffff: matched when it connects as IPv4");
	}

	/* REMOTE_ADDR that is no address: refused, whatever the headers say. */
	T_STREQ(client_ip(NULL, "203.0.113.9", proxies, 2), "none", "no REMOTE_ADDR");
	T_STREQ(client_ip("", NULL, proxies, 2), "none", "empty REMOTE_ADDR");
	T_STREQ(client_ip("localhost", NULL, proxies, 2), "none", "a name as REMOTE_ADDR");
	T_STREQ(client_ip("10.0.0.1 ", NULL, proxies, 2), "none", "REMOTE_ADDR with a space");
	T_STREQ(client_ip("fe80::1%eth0", NULL, proxies, 2), "none", "REMOTE_ADDR with a zone");

	/* Ranges, and the header each names. */
	{
		static const char *const lb[] = { "10.0.0.0/8", "2001:db8:1::/48" };
		static const char *const cf[] = { "173.245.48.0/20 2", "2400:cb00::/32 2", "127.0.0.1" };
		static const char *const tc[] = { "192.0.2.0/24 3" };
		static const char *const xr[] = { "192.0.2.0/24 1" };

		T_STREQ(client_ip("10.200.3.4", "198.51.100.7", lb, 2), "198.51.100.7", "XFF from inside a /8");
		T_STREQ(client_ip("11.0.0.1", "198.51.100.7", lb, 2), "11.0.0.1", "XFF from outside it ignored");
		T_STREQ(client_ip("2001:db8:1:ffff::9", "2001:db8:2::1", lb, 2), "2001:db8:2::1", "XFF from inside an IPv6 /48");
		T_STREQ(client_ip("10.0.0.2", "198.51.100.7, 10.9.9.9, 2001:db8:1::5", lb, 2), "198.51.100.7",
		        "every entry inside a range is skipped");
		static const struct { const char *peer; enum map_proxy_header h; const char *value, *want, *what; } c[] = {
			{ "173.245.49.1", MAP_PROXY_CF_CONNECTING_IP, "198.51.100.7", "198.51.100.7",
			  "CF-Connecting-IP from Cloudflare" },
			{ "2400:cb00:12::1", MAP_PROXY_CF_CONNECTING_IP, " 2001:db8::7 ", "2001:db8::7",
			  "CF-Connecting-IP from Cloudflare's IPv6, trimmed" },
			{ "173.245.49.1", MAP_PROXY_X_FORWARDED_FOR, "198.51.100.7", "173.245.49.1",
			  "X-Forwarded-For not read from a CF-Connecting-IP proxy" },
			{ "203.0.113.1", MAP_PROXY_CF_CONNECTING_IP, "198.51.100.7", "203.0.113.1",
			  "CF-Connecting-IP from an untrusted peer ignored" },
			{ "127.0.0.1", MAP_PROXY_CF_CONNECTING_IP, "198.51.100.7", "127.0.0.1",
			  "CF-Connecting-IP not read from an X-Forwarded-For proxy" },
			{ "173.245.49.1", MAP_PROXY_CF_CONNECTING_IP, "198.51.100.7, 1.2.3.4", "173.245.49.1",
			  "a list in a one-address header: ignored" },
			{ "173.245.49.1", MAP_PROXY_CF_CONNECTING_IP, "198.51.100.7x", "173.245.49.1",
			  "garbage in a one-address header: ignored" },
			{ "173.245.49.1", MAP_PROXY_CF_CONNECTING_IP, "", "173.245.49.1",
			  "an empty one-address header: ignored" },
			{ "173.245.49.1", MAP_PROXY_CF_CONNECTING_IP, "173.245.49.2", "173.245.49.2",
			  "a one-address header taken as is, even a proxy's" },
		};
		for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
			T_STREQ(client_via(c[i].peer, c[i].h, c[i].value, cf, 3), c[i].want, "%s", c[i].what);
		T_STREQ(client_via("192.0.2.8", MAP_PROXY_TRUE_CLIENT_IP, "::ffff:198.51.100.7", tc, 1),
		        "198.51.100.7", "True-Client-IP, mapped");
		T_STREQ(client_via("192.0.2.8", MAP_PROXY_X_REAL_IP, "198.51.100.7", xr, 1),
		        "198.51.100.7", "X-Real-IP");
	}

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
