/*
 * test_fm_http.c: the libcurl transport (fm_curl_send) reading raw answers
 * from a one-shot server on the loopback: the status, the body, Retry-After
 * in every form, the rate-limit headers (the last of repeated ones), and an
 * answer over LIMIT_MAX_UPSTREAM_BODY. Then fm_http_call on top of it, and
 * the account links a write's answer carries (fm_http_classify).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "fm_http.h"
#include "fm_state.h"
#include "t.h"

struct server {
	pid_t pid;
	char url[64];
};

/* Answers one connection with `head` (status line and headers, CRLF each),
 * then `body_len` bytes of 'x' after a blank line, and closes it. */
static struct server serve_once(const char *head, size_t body_len)
{
	struct server s = {.pid = -1};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), c;
	char buf[4096];

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		printf("cannot listen\n");
		exit(2);
	}
	snprintf(s.url, sizeof s.url, "http://127.0.0.1:%u", ntohs(a.sin_port));
	if ((s.pid = fork()) == 0) {
		if ((c = accept(fd, NULL, NULL)) >= 0) {
			if (read(c, buf, sizeof buf) > 0 &&
			    write(c, head, strlen(head)) == (ssize_t)strlen(head) &&
			    write(c, "Connection: close\r\n\r\n", 21) == 21)
				for (size_t n = 0; n < body_len; n += sizeof buf) {
					memset(buf, 'x', sizeof buf);
					if (write(c, buf, body_len - n < sizeof buf ? body_len - n
					                                            : sizeof buf) < 0)
						break;
				}
			close(c);
		}
		_exit(0);
	}
	close(fd);
	return s;
}

static void server_done(struct server *s)
{
	int st;

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, &st, 0);
	}
}

/* One GET through the libcurl transport. */
static bool get(struct fm_curl *k, const struct server *s, struct fm_answer *ans)
{
	char url[96];
	struct fm_send rq = {.method = "GET", .url = url, .path = "/x", .timeout_ms = 3000,
	                     .connect_timeout_ms = 3000};

	snprintf(url, sizeof url, "%s/x", s->url);
	return fm_curl_send(k, &rq, ans);
}

struct racase {
	const char *header;   /* "" for none */
	long min, max;        /* the Retry-After read */
};

static void test_retry_after(struct fm_curl *k)
{
	static const struct racase cases[] = {
		{"", -1, -1},
		{"Retry-After: 7\r\n", 7, 7},
		{"Retry-After: 0\r\n", 0, 0},
		{"Retry-After: soon\r\n", -1, -1},
		{"Retry-After: 999999999999\r\n", FM_RETRY_AFTER_MAX, FM_RETRY_AFTER_MAX},
		{"Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", 0, 0},
		{"DATE", 115, 120},
	};
	char head[256], date[64];
	struct fm_answer ans;
	struct server s;
	time_t t = time(NULL) + 120;

	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (strcmp(cases[i].header, "DATE") == 0)
			snprintf(head, sizeof head, "HTTP/1.1 429 Too Many\r\nRetry-After: %s\r\n", date);
		else
			snprintf(head, sizeof head, "HTTP/1.1 429 Too Many\r\n%s", cases[i].header);
		s = serve_once(head, 0);
		T(get(k, &s, &ans) && ans.status == 429, "%zu: answered: %ld %s", i, ans.status,
		  ans.error);
		T(ans.retry_after_s >= cases[i].min && ans.retry_after_s <= cases[i].max,
		  "%zu: \"%s\" read as %ld", i, cases[i].header, ans.retry_after_s);
		server_done(&s);
	}
}

static void test_ratelimit(struct fm_curl *k)
{
	struct fm_answer ans;
	struct server s = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	                             "X-RateLimit-Limit: 1000\r\nx-ratelimit-remaining: 900\r\n"
	                             "x-ratelimit-remaining: 899\r\n"
	                             "Per-Min-X-RateLimit-Remaining:  41 \r\n"
	                             "per-min-x-ratelimit-reset: 30\r\n"
	                             "per-min-x-ratelimit-limit: 12345678901234567890123456789\r\n", 2);

	T(get(k, &s, &ans) && ans.status == 200 && ans.len == 2 && strcmp(ans.body, "xx") == 0,
	  "200 with its body: %ld %zu", ans.status, ans.len);
	T(ans.rl.hour_limit == 1000 && ans.rl.hour_remaining == 899 && ans.rl.hour_reset == -1,
	  "hour window, the last of a repeated header: %ld %ld %ld", ans.rl.hour_limit,
	  ans.rl.hour_remaining, ans.rl.hour_reset);
	T(ans.rl.minute_remaining == 41 && ans.rl.minute_reset == 30 && ans.rl.minute_limit == -1,
	  "minute window, trimmed; a number too large is not one: %ld %ld %ld",
	  ans.rl.minute_remaining, ans.rl.minute_reset, ans.rl.minute_limit);
	T(ans.retry_after_s == -1, "no Retry-After");
	server_done(&s);
}

static void test_too_large(struct fm_curl *k)
{
	struct fm_answer ans;
	struct server s = serve_once("HTTP/1.1 200 OK\r\n", LIMIT_MAX_UPSTREAM_BODY + 10);
	char want[64];

	snprintf(want, sizeof want, "answer larger than %u bytes", LIMIT_MAX_UPSTREAM_BODY);
	T(!get(k, &s, &ans) && ans.status == 200, "cut off: %ld", ans.status);
	T_STREQ(ans.error, want, "why");
	server_done(&s);
}

/* fm_http_call: the answer's status, Retry-After and headers reach the result
 * and the rate-limit memory; a failed call is FM_RETRY with the reason. */
static void test_call(struct fm_curl *k)
{
	struct fm_state *st = fm_state_open("", "http://127.0.0.1", "key", false);
	struct server s = serve_once("HTTP/1.1 201 Created\r\nContent-Length: 9\r\n"
	                             "x-ratelimit-remaining: 5\r\n", 9);
	struct fm_http h;
	struct fm_result r;
	long status;

	fm_http_init(&h, (struct fm_transport){fm_curl_send, k}, st, s.url);
	fm_result_start(&r);
	T(fm_http_call(&h, "POST", "/contacts", "{}", (uint64_t)clock_mono_ms() + 3000, &r, &status) &&
	  status == 201 && r.http_status == 201 && r.calls == 1 && h.rl.hour_remaining == 5,
	  "a call: %ld %u %ld", status, r.calls, h.rl.hour_remaining);
	server_done(&s);
	T(!fm_http_call(&h, "GET", "/x", NULL, (uint64_t)clock_mono_ms() + 3000, &r, &status) &&
	  r.outcome == FM_RETRY && status == 0 && r.calls == 2 && r.message[0] &&
	  h.rl.hour_remaining == 5, "nobody listens: %s (%s)", fm_outcome_name(r.outcome),
	  r.message);
	fm_state_close(st);
}

/* "{"contact":{"id":5,"sales_accounts":[n links]}}": ids 1.., the first primary. */
static const char *answer_with_links(unsigned n)
{
	static char buf[8192];
	size_t o = (size_t)snprintf(buf, sizeof buf, "{\"contact\":{\"id\":5,\"sales_accounts\":[");

	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s{\"id\":%u,\"is_primary\":%s}",
		                      i ? "," : "", i + 1, i ? "false" : "true");
	snprintf(buf + o, sizeof buf - o, "]}}");
	return buf;
}

static void test_links(void)
{
	static const struct {
		const char *name;
		const char *body;       /* NULL: answer_with_links(n_links) */
		unsigned n_links;
		int want_n;
		long long want_id1;     /* the second link's id (0: not checked) */
		bool want_primary0;
	} cases[] = {
		{"absent", "{\"contact\":{\"id\":5}}", 0, -1, 0, false},
		{"no contact", "{\"list\":{\"id\":5}}", 0, -1, 0, false},
		{"not JSON", "<html>", 0, -1, 0, false},
		{"empty", "{\"contact\":{\"id\":5,\"sales_accounts\":[]}}", 0, 0, 0, false},
		{"several", "{\"contact\":{\"id\":5,\"sales_accounts\":[{\"id\":3,\"name\":\"A\","
		 "\"is_primary\":true},{\"id\":9,\"is_primary\":false}]}}", 0, 2, 9, true},
		{"one without id", "{\"contact\":{\"id\":5,\"sales_accounts\":[{\"id\":3},"
		 "{\"name\":\"B\"}]}}", 0, -1, 0, false},
		{"as many as kept", NULL, FM_MAX_LINKS, (int)FM_MAX_LINKS, 2, true},
		{"too many", NULL, FM_MAX_LINKS + 1, -1, 0, false},
	};
	struct fm_http h;
	struct fm_result r;

	fm_http_init(&h, (struct fm_transport){NULL, NULL}, NULL, "https://fm.test");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		h.ans.body = cases[i].body ? cases[i].body : answer_with_links(cases[i].n_links);
		h.ans.len = strlen(h.ans.body);
		fm_result_start(&r);
		T(r.links.n == -1, "%s: a result starts with its links unknown", cases[i].name);
		fm_http_classify(&h, 200, &r);
		T(r.outcome == FM_DELIVERED && r.links.n == cases[i].want_n, "links %s: n %d",
		  cases[i].name, r.links.n);
		if (cases[i].want_n > 1)
			T(r.links.v[0].primary == cases[i].want_primary0 && !r.links.v[1].primary &&
			  r.links.v[1].id == cases[i].want_id1, "links %s: the entries", cases[i].name);
	}
}

/* fm_rl_header(): the header names in any case, a count or a reset; any
 * other name is not one and changes nothing. */
static void test_rl_header(void)
{
	struct fm_ratelimit rl = {-1, -1, -1, -1, -1, -1};
	time_t now = 1764720000;

	T(fm_rl_header(&rl, "X-RATELIMIT-REMAINING", "7", now) && rl.hour_remaining == 7,
	  "remaining, any case: %ld", rl.hour_remaining);
	T(fm_rl_header(&rl, "per-min-x-ratelimit-reset", "9999", now) && rl.minute_reset == 60,
	  "a minute reset never past its window: %ld", rl.minute_reset);
	T(fm_rl_header(&rl, "x-ratelimit-limit", "lots", now) && rl.hour_limit == -1,
	  "a count that is no number leaves the member: %ld", rl.hour_limit);
	T(!fm_rl_header(&rl, "retry-after", "5", now) && !fm_rl_header(&rl, "x-ratelimit", "5", now),
	  "Retry-After and other names are not rate-limit headers");
	T(rl.hour_limit == -1 && rl.hour_reset == -1 && rl.minute_limit == -1 &&
	  rl.minute_remaining == -1, "nothing else changed");
}

int main(void)
{
	struct fm_curl *k = fm_curl_new("key");

	test_links();
	test_rl_header();

	if (!k) {
		T(0, "fm_curl_new");
		T_DONE();
	}
	test_retry_after(k);
	test_ratelimit(k);
	test_too_large(k);
	test_call(k);
	fm_curl_free(k);
	T_DONE();
}
