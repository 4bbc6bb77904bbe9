/*
 * fm_http.c: one call to the Freshmarketer API through a transport, the
 * libcurl transport, the shared rate gate, and reading an answer's outcome.
 */
#include "fm_http.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "clock.h"
#include "text.h"

#if LIBCURL_VERSION_NUM < 0x075400
#error "fmgate needs libcurl 7.84 or later (curl_easy_header)"
#endif

#ifndef FMGATE_VERSION
#define FMGATE_VERSION "dev"
#endif

#define RL_TRIES 4  /* waits for a rate-limit slot in one call */

static const struct fm_ratelimit RL_NONE = {-1, -1, -1, -1, -1, -1};

const char *fm_outcome_name(enum fm_outcome o)
{
	switch (o) {
	case FM_DELIVERED: return "delivered";
	case FM_RETRY: return "retry";
	case FM_REJECTED: return "rejected";
	case FM_PAUSED: return "paused";
	case FM_CONFLICT: return "conflict";
	case FM_INVALID: return "invalid";
	}
	return "unknown";
}

void fm_result_start(struct fm_result *out)
{
	memset(out, 0, sizeof *out);
	out->retry_after_s = -1;
	out->links.n = -1;
}

void fm_result_say(struct fm_result *out, enum fm_outcome o, const char *fmt, ...)
{
	va_list ap;

	out->outcome = o;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof out->message, fmt, ap);
	va_end(ap);
}

/* ---- the libcurl transport ---------------------------------------------- */

struct fm_curl {
	CURL *h;
	struct curl_slist *headers;   /* holds the key: wiped before it is freed */
	char *body;                   /* answer being read, NUL-terminated */
	size_t len, cap;
	bool over;                    /* the answer passed LIMIT_MAX_UPSTREAM_BODY */
	char errbuf[CURL_ERROR_SIZE];
};

/*
 * libcurl's global state, and a share of connections, TLS sessions and DNS
 * answers that every client of the process uses, are set up once per process
 * and never torn down: a mapping reload makes a new client, which so keeps
 * TLS set up and the kept-alive connection. fmgate's processes are single
 * threaded (workers are forked, before any client exists), so the share has
 * no lock callbacks; pthread_once states the once-only setup. Without a share
 * (out of memory) each client keeps its own connection, as it can.
 */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;
static CURLSH *global_share;

static void global_init(void)
{
	if ((global_rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK ||
	    !(global_share = curl_share_init()))
		return;
	if (curl_share_setopt(global_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
	    curl_share_setopt(global_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	    curl_share_setopt(global_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
		curl_share_cleanup(global_share);
		global_share = NULL;
	}
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct fm_curl *k = ud;
	size_t len = size * n, want;
	char *nb;

	if (len > LIMIT_MAX_UPSTREAM_BODY - k->len) {
		k->over = true;
		return 0; /* aborts the transfer */
	}
	if (k->len + len + 1 > k->cap) {
		want = k->cap ? k->cap : 16384;
		while (want < k->len + len + 1)
			want *= 2;
		if (want > LIMIT_MAX_UPSTREAM_BODY + 1)
			want = LIMIT_MAX_UPSTREAM_BODY + 1;
		if (!(nb = realloc(k->body, want)))
			return 0;
		k->body = nb;
		k->cap = want;
	}
	memcpy(k->body + k->len, p, len);
	k->len += len;
	k->body[k->len] = '\0';
	return len;
}

bool fm_http_add_header(struct curl_slist **list, const char *h)
{
	struct curl_slist *n = curl_slist_append(*list, h);

	if (!n)
		return false;
	*list = n;
	return true;
}

struct fm_curl *fm_curl_new(const char *api_key)
{
	struct fm_curl *k = NULL;
	char auth[LIMIT_MAX_API_KEY + 64];
	bool ok;

	snprintf(auth, sizeof auth, "Authorization: Token token=%s", api_key);
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK || !(k = calloc(1, sizeof *k)))
		goto out;
	ok = (k->h = curl_easy_init()) != NULL &&
	     fm_http_add_header(&k->headers, auth) &&
	     fm_http_add_header(&k->headers, "Content-Type: application/json") &&
	     fm_http_add_header(&k->headers, "Accept: application/json") &&
	     fm_http_add_header(&k->headers, "Expect:") && /* no 100-continue round trip */
	     curl_easy_setopt(k->h, CURLOPT_HTTPHEADER, k->headers) == CURLE_OK &&
	     curl_easy_setopt(k->h, CURLOPT_USERAGENT, "fmgate/" FMGATE_VERSION) == CURLE_OK &&
	     curl_easy_setopt(k->h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	     curl_easy_setopt(k->h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
#if LIBCURL_VERSION_NUM >= 0x075500
	     curl_easy_setopt(k->h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
#else
	     curl_easy_setopt(k->h, CURLOPT_PROTOCOLS,
	                      (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) == CURLE_OK &&
#endif
	     curl_easy_setopt(k->h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	     curl_easy_setopt(k->h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
	     curl_easy_setopt(k->h, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
	     /* One connection per worker, however quiet the site: a connection
	      * the server has closed meanwhile is noticed and replaced by libcurl. */
	     curl_easy_setopt(k->h, CURLOPT_MAXAGE_CONN, FM_CONN_MAX_IDLE_S) == CURLE_OK &&
	     curl_easy_setopt(k->h, CURLOPT_MAXFILESIZE_LARGE,
	                      (curl_off_t)LIMIT_MAX_UPSTREAM_BODY) == CURLE_OK &&
	     curl_easy_setopt(k->h, CURLOPT_ERRORBUFFER, k->errbuf) == CURLE_OK &&
	     curl_easy_setopt(k->h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
	     curl_easy_setopt(k->h, CURLOPT_WRITEDATA, k) == CURLE_OK &&
	     (!global_share || curl_easy_setopt(k->h, CURLOPT_SHARE, global_share) == CURLE_OK);
	if (!ok) {
		fm_curl_free(k);
		k = NULL;
	}
out:
	explicit_bzero(auth, sizeof auth);
	return k;
}

void fm_curl_free(struct fm_curl *k)
{
	if (!k)
		return;
	if (k->h)
		curl_easy_cleanup(k->h);
	for (struct curl_slist *l = k->headers; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(k->headers);
	free(k->body);
	free(k);
}

/* The headers fmgate reads from an answer: the rate-limit ones (window: a
 * reset, read by fm_rl_reset_s(); 0: a count), then Retry-After. */
#define RL_HEADER(name, field, window) {name, offsetof(struct fm_ratelimit, field), window}
static const struct {
	const char *name;
	size_t off;
	long window;
} read_headers[] = {
	RL_HEADER("x-ratelimit-limit", hour_limit, 0),
	RL_HEADER("x-ratelimit-remaining", hour_remaining, 0),
	RL_HEADER("x-ratelimit-reset", hour_reset, FM_RL_HOUR_S),
	RL_HEADER("per-min-x-ratelimit-limit", minute_limit, 0),
	RL_HEADER("per-min-x-ratelimit-remaining", minute_remaining, 0),
	RL_HEADER("per-min-x-ratelimit-reset", minute_reset, FM_RL_MINUTE_S),
	{ "retry-after", 0, 0 },
};
#undef RL_HEADER
#define N_READ (sizeof read_headers / sizeof read_headers[0])
#define RETRY_AFTER (N_READ - 1)

bool fm_rl_header(struct fm_ratelimit *rl, const char *name, const char *value, time_t now)
{
	long long n;

	for (size_t i = 0; i < RETRY_AFTER; i++) {
		long *dst = (long *)((char *)rl + read_headers[i].off);

		if (strcasecmp(name, read_headers[i].name) != 0)
			continue;
		if (read_headers[i].window)
			*dst = fm_rl_reset_s(value, read_headers[i].window, now);
		else if (text_parse_ll(value, 0, 1000000000000LL, &n))
			*dst = (long)n;
		return true;
	}
	return false;
}

/* One pass over the final answer's headers (not a 1xx one's): the last
 * instance of each header above, copied (libcurl reuses what it hands out),
 * "" when absent or longer than FM_HEADER_VALUE_MAX (none of ours is). */
static void scan_headers(CURL *h, char v[N_READ][FM_HEADER_VALUE_MAX + 1])
{
	struct curl_header *hd = NULL;

	for (size_t i = 0; i < N_READ; i++)
		v[i][0] = '\0';
	while ((hd = curl_easy_nextheader(h, CURLH_HEADER, -1, hd)) != NULL) {
		for (size_t i = 0; i < N_READ; i++) {
			if (strcasecmp(hd->name, read_headers[i].name) != 0)
				continue;
			/* libcurl gives the value trimmed; a later instance overrides */
			if (!text_copy(v[i], FM_HEADER_VALUE_MAX + 1, hd->value))
				v[i][0] = '\0';
			break;
		}
	}
}

/* Retry-After as libcurl reads it (delta-seconds or an HTTP date), within
 * 0..FM_RETRY_AFTER_MAX; -1 when the answer has none, or one that is neither
 * (libcurl reads that as 0: it would lift the hold a bare 429 gets). */
static long retry_after(CURL *h, const char *v)
{
	curl_off_t s = 0;

	if (!v[0] || curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &s) != CURLE_OK ||
	    (s == 0 && !(v[0] >= '0' && v[0] <= '9') && curl_getdate(v, NULL) < 0))
		return -1;
	/* libcurl before 8.12 gives a date in the past as a negative wait */
	return s < 0 ? 0 : s > FM_RETRY_AFTER_MAX ? FM_RETRY_AFTER_MAX : (long)s;
}

/* The answer's Retry-After and rate-limit headers. */
static void read_headers_of(CURL *h, struct fm_answer *ans)
{
	char v[N_READ][FM_HEADER_VALUE_MAX + 1];
	time_t now = time(NULL);

	scan_headers(h, v);
	ans->retry_after_s = retry_after(h, v[RETRY_AFTER]);
	ans->rl = RL_NONE;
	for (size_t i = 0; i < RETRY_AFTER; i++)
		if (v[i][0])
			fm_rl_header(&ans->rl, read_headers[i].name, v[i], now);
}

bool fm_curl_send(void *ctx, const struct fm_send *rq, struct fm_answer *ans)
{
	struct fm_curl *k = ctx;
	CURLcode cc;

	k->len = 0;
	k->over = false;
	k->errbuf[0] = '\0';
	if (k->body)
		k->body[0] = '\0';
	ans->status = 0;
	ans->retry_after_s = -1;
	ans->rl = RL_NONE;
	ans->error[0] = '\0';
	ans->body = "";
	ans->len = 0;
	if (curl_easy_setopt(k->h, CURLOPT_URL, rq->url) != CURLE_OK ||
	    curl_easy_setopt(k->h, CURLOPT_TIMEOUT_MS, rq->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(k->h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms) != CURLE_OK ||
	    (rq->json ? curl_easy_setopt(k->h, CURLOPT_POSTFIELDSIZE, (long)strlen(rq->json)) != CURLE_OK ||
	                curl_easy_setopt(k->h, CURLOPT_POSTFIELDS, rq->json) != CURLE_OK
	              : curl_easy_setopt(k->h, CURLOPT_HTTPGET, 1L) != CURLE_OK) ||
	    curl_easy_setopt(k->h, CURLOPT_CUSTOMREQUEST,
	                     strcmp(rq->method, "PUT") == 0 ? "PUT" : NULL) != CURLE_OK) {
		text_copy(ans->error, sizeof ans->error, "cannot set up the request");
		return false;
	}
	cc = curl_easy_perform(k->h);
	curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &ans->status);
	if (ans->status)
		read_headers_of(k->h, ans);
	ans->body = k->body ? k->body : "";
	ans->len = k->len;
	if (cc == CURLE_OK)
		return true;
	if (k->over || cc == CURLE_FILESIZE_EXCEEDED)
		snprintf(ans->error, sizeof ans->error, "answer larger than %u bytes",
		         LIMIT_MAX_UPSTREAM_BODY);
	else
		text_copy(ans->error, sizeof ans->error, k->errbuf[0] ? k->errbuf : curl_easy_strerror(cc));
	return false;
}

/* ---- calls ---------------------------------------------------------------- */

void fm_http_init(struct fm_http *h, struct fm_transport tr, struct fm_state *st,
                  const char *base)
{
	memset(h, 0, sizeof *h);
	h->tr = tr;
	h->st = st;
	text_copy(h->base, sizeof h->base, base);
	h->rl = RL_NONE;
	h->ans.rl = RL_NONE;
	h->ans.retry_after_s = -1;
	h->ans.body = "";
}

/* What each rate-limit header said last, for fm_client_ratelimit(). */
static void keep_ratelimit(struct fm_ratelimit *all, const struct fm_ratelimit *ans)
{
	const long *src[] = {&ans->hour_limit, &ans->hour_remaining, &ans->hour_reset,
	                     &ans->minute_limit, &ans->minute_remaining, &ans->minute_reset};
	long *dst[] = {&all->hour_limit, &all->hour_remaining, &all->hour_reset,
	               &all->minute_limit, &all->minute_remaining, &all->minute_reset};

	for (size_t i = 0; i < sizeof src / sizeof src[0]; i++)
		if (*src[i] >= 0)
			*dst[i] = *src[i];
}

static long left_ms(uint64_t deadline)
{
	uint64_t now = (uint64_t)clock_mono_ms();

	return now < deadline ? (long)(deadline - now) : 0;
}

/* Waits (within half of what is left of the budget) for the shared
 * rate-limit budget to allow a call; otherwise fills *out as FM_RETRY. */
static bool rate_gate(struct fm_http *h, uint64_t deadline, struct fm_result *out)
{
	struct timespec ts;
	long wait = 0;

	for (int i = 0; i < RL_TRIES; i++) {
		long left = left_ms(deadline);

		if ((wait = fm_state_rl_reserve(h->st)) <= 0)
			return true;
		if (wait > left / 2)
			break;
		ts.tv_sec = wait / 1000;
		ts.tv_nsec = (wait % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	out->retry_after_s = wait > 0 ? (wait + 999) / 1000 : 1;
	fm_result_say(out, FM_RETRY, "rate limit: slowing down before the API's limit; "
	              "next call in %ld s", out->retry_after_s);
	return false;
}

bool fm_http_call(struct fm_http *h, const char *method, const char *path, const char *json,
                  uint64_t deadline, struct fm_result *out, long *status)
{
	size_t ulen = strlen(h->base) + strlen(path) + 1;
	struct fm_send rq = {.method = method, .path = path, .json = json};
	char *url = NULL;
	bool ok = false;

	*status = 0;
	if (left_ms(deadline) <= 0) {
		fm_result_say(out, FM_RETRY, "delivery budget used up before the call");
		goto out;
	}
	if (!rate_gate(h, deadline, out))
		goto out;
	if ((rq.timeout_ms = left_ms(deadline)) <= 0) {
		fm_result_say(out, FM_RETRY, "delivery budget used up before the call");
		goto out;
	}
	if (!(url = malloc(ulen))) {
		fm_result_say(out, FM_RETRY, "out of memory");
		goto out;
	}
	snprintf(url, ulen, "%s%s", h->base, path);
	rq.url = url;
	rq.connect_timeout_ms = rq.timeout_ms < (long)LIMIT_CONNECT_TIMEOUT_MS
	                        ? rq.timeout_ms : (long)LIMIT_CONNECT_TIMEOUT_MS;
	ok = h->tr.send(h->tr.ctx, &rq, &h->ans);
	out->calls++;
	*status = h->ans.status;
	out->http_status = h->ans.status;
	out->retry_after_s = h->ans.retry_after_s;
	keep_ratelimit(&h->rl, &h->ans.rl);
	if (h->ans.status)
		fm_state_rl_record(h->st, &h->ans.rl, h->ans.status, h->ans.retry_after_s);
	if (!ok) {
		fm_result_say(out, FM_RETRY, "%s", h->ans.error);
		goto out;
	}
	if (h->ans.status >= 200 && h->ans.status < 300)
		fm_state_key_works(h->st);
out:
	free(url);
	return ok;
}

cJSON *fm_http_json(const struct fm_http *h)
{
	return cJSON_ParseWithLength(h->ans.body, h->ans.len);
}

/* The API's errors.message (an array, joined with "; "), or "HTTP N". */
static void api_message(const struct fm_http *h, long status, char *dst, size_t size)
{
	cJSON *doc = h->ans.len ? fm_http_json(h) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "errors"), "message");
	const cJSON *e;
	size_t o = 0;

	dst[0] = '\0';
	if (cJSON_IsString(m))
		snprintf(dst, size, "%s", m->valuestring);
	cJSON_ArrayForEach(e, (cJSON_IsArray(m) ? m : NULL)) {
		int r;
		if (!cJSON_IsString(e) || o >= size)
			continue;
		r = snprintf(dst + o, size - o, "%s%s", o ? "; " : "", e->valuestring);
		o = r < 0 ? size : o + (size_t)r;
	}
	if (!dst[0])
		snprintf(dst, size, "HTTP %ld", status);
	cJSON_Delete(doc);
}

long long fm_id_of(const cJSON *id)
{
	return cJSON_IsNumber(id) && id->valuedouble >= 1 && id->valuedouble < 9.2e18
	       ? (long long)id->valuedouble : 0;
}

long long fm_http_answer_id(const struct fm_http *h, const char *kind)
{
	cJSON *doc = fm_http_json(h);
	long long id = fm_id_of(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, kind), "id"));

	cJSON_Delete(doc);
	return id;
}

bool fm_links_read(const cJSON *contact, struct fm_links *out)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(contact, "sales_accounts"), *e;
	int n = 0;

	out->n = -1;
	if (!cJSON_IsArray(list))
		return false;
	cJSON_ArrayForEach(e, list) {
		if ((unsigned)n == FM_MAX_LINKS ||
		    !(out->v[n].id = fm_id_of(cJSON_GetObjectItemCaseSensitive(e, "id"))))
			return true;
		out->v[n++].primary = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "is_primary"));
	}
	out->n = n;
	return true;
}

void fm_http_classify(const struct fm_http *h, long status, struct fm_result *out)
{
	cJSON *doc;
	const cJSON *contact;
	long long id;

	if (status >= 200 && status < 300) {
		out->outcome = FM_DELIVERED;
		out->message[0] = '\0';
		doc = fm_http_json(h);
		contact = cJSON_GetObjectItemCaseSensitive(doc, "contact");
		if ((id = fm_id_of(cJSON_GetObjectItemCaseSensitive(contact, "id"))))
			out->contact_id = id;
		fm_links_read(contact, &out->links);
		cJSON_Delete(doc);
		return;
	}
	api_message(h, status, out->message, sizeof out->message);
	if (status == 429 || status >= 500)
		out->outcome = FM_RETRY;
	else if (status == 401 || status == 403)
		out->outcome = FM_PAUSED;
	else if (status >= 400)
		out->outcome = FM_REJECTED;
	else /* 1xx, 3xx: redirects are not followed; the base is probably wrong */
		fm_result_say(out, FM_RETRY, "unexpected HTTP %ld from the API", status);
}

bool fm_http_read_ok(const struct fm_http *h, long status, struct fm_result *out)
{
	if (status == 200)
		return true;
	api_message(h, status, out->message, sizeof out->message);
	out->outcome = status == 401 ? FM_PAUSED : FM_RETRY;
	return false;
}
