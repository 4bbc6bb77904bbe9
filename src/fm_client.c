/*
 * fm_client.c: the libcurl client of the Freshmarketer API, the field list
 * cache, the identity rule, and the shared pause and rate-limit state
 * (docs/freshmarketer.md, fm_state.h).
 */
#include "fm_client.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "fm_contact.h"
#include "fm_fields.h"
#include "fm_state.h"
#include "limits.h"
#include "log.h"
#include "text.h"

#ifndef FMGATE_VERSION
#define FMGATE_VERSION "dev"
#endif

#define RETRY_AFTER_MAX (7L * 24 * 3600)  /* a longer Retry-After is taken as this */
#define MAX_HEADER_VALUE 64u              /* bytes of a header value we parse */
#define FIELDS_RETRY_S  60                /* a failed refresh is tried again after this,
                                             by any process */
#define RL_TRIES        4                 /* waits for a rate-limit slot in one call */

struct fm_client {
	CURL *h;
	struct curl_slist *headers;   /* holds the key: wiped before it is freed */
	char base[LIMIT_MAX_URL];
	char key[LIMIT_MAX_API_KEY + 1]; /* only to keep it out of result messages */
	char spool[LIMIT_MAX_URL];
	unsigned timeout_ms;
	unsigned fields_max_age_s;
	struct fm_state *st;          /* shared pause, budget and cache */
	bool dry;                     /* a dry run happened: st is read-only */
	struct fm_fields *fields;     /* NULL until first needed */
	struct fm_ratelimit rl;       /* every header seen so far */
	struct fm_ratelimit ans;      /* the headers of the answer being read */
	long retry_after_s;           /* of the answer being read; -1 when absent */
	char *body;                   /* answer being read, NUL-terminated */
	size_t len, cap;
	bool over;                    /* the answer passed LIMIT_MAX_UPSTREAM_BODY */
	char errbuf[CURL_ERROR_SIZE];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- libcurl callbacks ------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct fm_client *c = ud;
	size_t len = size * n, want;
	char *nb;

	if (len > LIMIT_MAX_UPSTREAM_BODY - c->len) {
		c->over = true;
		return 0; /* aborts the transfer */
	}
	if (c->len + len + 1 > c->cap) {
		want = c->cap ? c->cap : 16384;
		while (want < c->len + len + 1)
			want *= 2;
		if (want > LIMIT_MAX_UPSTREAM_BODY + 1)
			want = LIMIT_MAX_UPSTREAM_BODY + 1;
		if (!(nb = realloc(c->body, want)))
			return 0;
		c->body = nb;
		c->cap = want;
	}
	memcpy(c->body + c->len, p, len);
	c->len += len;
	c->body[c->len] = '\0';
	return len;
}

/* Retry-After is delta-seconds or an HTTP date. */
static long parse_retry_after(const char *v)
{
	long long n;
	time_t t;

	if (text_parse_ll(v, 0, RETRY_AFTER_MAX * 1000, &n))
		return n > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (long)n;
	if ((t = curl_getdate(v, NULL)) < 0)
		return -1;
	n = (long long)t - (long long)time(NULL);
	return n < 0 ? 0 : n > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (long)n;
}

/* A header's value (n bytes at p, at most MAX_HEADER_VALUE) trimmed into out. */
static const char *header_value(const char *p, size_t n, char out[MAX_HEADER_VALUE + 1])
{
	memcpy(out, p, n);
	out[n] = '\0';
	text_trim(out);
	return out;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
#define RL_HEADER(name, field, window) \
	{name, sizeof name - 1, offsetof(struct fm_ratelimit, field), window}
	/* window: a reset header, read by fm_rl_reset_s(); 0: a count */
	static const struct {
		const char *name;
		size_t len;
		size_t off;
		long window;
	} rl_headers[] = {
		RL_HEADER("x-ratelimit-limit", hour_limit, 0),
		RL_HEADER("x-ratelimit-remaining", hour_remaining, 0),
		RL_HEADER("x-ratelimit-reset", hour_reset, FM_RL_HOUR_S),
		RL_HEADER("per-min-x-ratelimit-limit", minute_limit, 0),
		RL_HEADER("per-min-x-ratelimit-remaining", minute_remaining, 0),
		RL_HEADER("per-min-x-ratelimit-reset", minute_reset, FM_RL_MINUTE_S),
	};
#undef RL_HEADER
	struct fm_client *c = ud;
	size_t len = size * n, nlen;
	const char *colon;
	char value[MAX_HEADER_VALUE + 1];
	long long v;

	/* A new status line starts a new answer (after a 100 Continue, say). */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		c->retry_after_s = -1;
		c->ans = (struct fm_ratelimit){-1, -1, -1, -1, -1, -1};
		return len;
	}
	if (!(colon = memchr(p, ':', len)))
		return len;
	nlen = (size_t)(colon - p);
	if (len - nlen - 1 > MAX_HEADER_VALUE)
		return len; /* none of ours is that long */
	/* The name first: most headers are none of ours, and their values are
	 * then not copied. */
	if (nlen == 11 && strncasecmp(p, "Retry-After", 11) == 0) {
		c->retry_after_s = parse_retry_after(header_value(colon + 1, len - nlen - 1, value));
		return len;
	}
	for (size_t i = 0; i < sizeof rl_headers / sizeof rl_headers[0]; i++)
		if (rl_headers[i].len == nlen && strncasecmp(p, rl_headers[i].name, nlen) == 0) {
			long *dst = (long *)((char *)&c->ans + rl_headers[i].off);

			header_value(colon + 1, len - nlen - 1, value);
			if (rl_headers[i].window)
				*dst = fm_rl_reset_s(value, rl_headers[i].window, time(NULL));
			else if (text_parse_ll(value, 0, 1000000000000LL, &v))
				*dst = (long)v;
			break;
		}
	return len;
}

/* ---- client ------------------------------------------------------------ */

static bool add_header(struct curl_slist **list, const char *h)
{
	struct curl_slist *n = curl_slist_append(*list, h);

	if (!n)
		return false;
	*list = n;
	return true;
}

struct fm_client *fm_client_new(const struct config *cfg)
{
	struct fm_client *c = calloc(1, sizeof *c);
	char auth[LIMIT_MAX_API_KEY + 64];
	bool ok;

	if (!c)
		return NULL;
	c->rl = (struct fm_ratelimit){-1, -1, -1, -1, -1, -1};
	c->retry_after_s = -1;
	c->ans = c->rl;
	c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : LIMIT_DEFAULT_TIMEOUT_MS;
	c->fields_max_age_s = cfg->fields_max_age_s ? cfg->fields_max_age_s
	                                            : CONFIG_DEFAULT_FIELDS_MAX_AGE;
	text_copy(c->base, sizeof c->base, cfg->api_base);
	text_copy(c->key, sizeof c->key, cfg->api_key);
	text_copy(c->spool, sizeof c->spool, cfg->spool_dir);
	snprintf(auth, sizeof auth, "Authorization: Token token=%s", cfg->api_key);
	ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	if (!ok) {
		free(c);
		c = NULL;
		goto out;
	}
	ok = (c->st = fm_state_open(c->spool, c->base, c->key, false)) != NULL &&
	     (c->h = curl_easy_init()) != NULL &&
	     add_header(&c->headers, auth) &&
	     add_header(&c->headers, "Content-Type: application/json") &&
	     add_header(&c->headers, "Accept: application/json") &&
	     add_header(&c->headers, "Expect:") && /* no 100-continue round trip */
	     curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers) == CURLE_OK &&
	     curl_easy_setopt(c->h, CURLOPT_USERAGENT, "fmgate/" FMGATE_VERSION) == CURLE_OK &&
	     curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	     curl_easy_setopt(c->h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
#if LIBCURL_VERSION_NUM >= 0x075500
	     curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
#else
	     curl_easy_setopt(c->h, CURLOPT_PROTOCOLS,
	                      (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) == CURLE_OK &&
#endif
	     curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	     curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
	     curl_easy_setopt(c->h, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
	     curl_easy_setopt(c->h, CURLOPT_MAXFILESIZE_LARGE,
	                      (curl_off_t)LIMIT_MAX_UPSTREAM_BODY) == CURLE_OK &&
	     curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->errbuf) == CURLE_OK &&
	     curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
	     curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c) == CURLE_OK &&
	     curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
	     curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c) == CURLE_OK;
	if (!ok) {
		fm_client_free(c);
		c = NULL;
	}
out:
	explicit_bzero(auth, sizeof auth);
	return c;
}

void fm_client_free(struct fm_client *c)
{
	if (!c)
		return;
	if (c->h)
		curl_easy_cleanup(c->h);
	for (struct curl_slist *l = c->headers; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(c->headers);
	fm_fields_free(c->fields);
	fm_state_close(c->st);
	free(c->body);
	explicit_bzero(c->key, sizeof c->key);
	free(c);
	curl_global_cleanup();
}

void fm_client_ratelimit(const struct fm_client *c, struct fm_ratelimit *out)
{
	*out = c->rl;
}

/* ---- one API call ------------------------------------------------------ */

static void result_say(struct fm_result *out, enum fm_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void result_say(struct fm_result *out, enum fm_outcome o, const char *fmt, ...)
{
	va_list ap;

	out->outcome = o;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof out->message, fmt, ap);
	va_end(ap);
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

/* Waits (within half of what is left of the budget) for the shared
 * rate-limit budget to allow a call; otherwise fills *out as FM_RETRY. */
static bool rate_gate(struct fm_client *c, uint64_t deadline, struct fm_result *out)
{
	struct timespec ts;
	long wait = 0;

	for (int i = 0; i < RL_TRIES; i++) {
		uint64_t now = now_ms();
		long left = now < deadline ? (long)(deadline - now) : 0;

		if ((wait = fm_state_rl_reserve(c->st)) <= 0)
			return true;
		if (wait > left / 2)
			break;
		ts.tv_sec = wait / 1000;
		ts.tv_nsec = (wait % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	out->retry_after_s = wait > 0 ? (wait + 999) / 1000 : 1;
	result_say(out, FM_RETRY, "rate limit: slowing down before the API's limit; "
	           "next call in %ld s", out->retry_after_s);
	return false;
}

/*
 * Performs one call within what is left of the budget. `method` is GET, POST
 * or PUT; `path` follows the base and may hold a query; `json` is the body
 * (NULL for a GET).
 * Returns true with *status set when an answer arrived (c->body holds it);
 * otherwise fills *out as FM_RETRY with the reason.
 */
static bool call(struct fm_client *c, const char *method, const char *path, const char *json,
                 uint64_t deadline, struct fm_result *out, long *status)
{
	uint64_t now = now_ms();
	long left = now < deadline ? (long)(deadline - now) : 0;
	size_t ulen = strlen(c->base) + strlen(path) + 1;
	char *url = NULL;
	CURLcode cc;
	bool ok = false;

	if (left <= 0) {
		result_say(out, FM_RETRY, "delivery budget used up before the call");
		return false;
	}
	if (!rate_gate(c, deadline, out))
		return false;
	now = now_ms();
	left = now < deadline ? (long)(deadline - now) : 0;
	if (left <= 0) {
		result_say(out, FM_RETRY, "delivery budget used up before the call");
		return false;
	}
	if (!(url = malloc(ulen))) {
		result_say(out, FM_RETRY, "out of memory");
		return false;
	}
	snprintf(url, ulen, "%s%s", c->base, path);
	c->len = 0;
	c->over = false;
	c->errbuf[0] = '\0';
	c->retry_after_s = -1;
	c->ans = (struct fm_ratelimit){-1, -1, -1, -1, -1, -1};
	if (c->body)
		c->body[0] = '\0';
	if (curl_easy_setopt(c->h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, left) != CURLE_OK ||
	    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS,
	                     left < (long)LIMIT_CONNECT_TIMEOUT_MS ? left
	                                                            : (long)LIMIT_CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    (json ? curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)strlen(json)) != CURLE_OK ||
	            curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, json) != CURLE_OK
	          : curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L) != CURLE_OK) ||
	    curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST,
	                     strcmp(method, "PUT") == 0 ? "PUT" : NULL) != CURLE_OK) {
		result_say(out, FM_RETRY, "cannot set up the request");
		goto out;
	}
	cc = curl_easy_perform(c->h);
	out->calls++;
	*status = 0;
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, status);
	out->http_status = *status;
	out->retry_after_s = c->retry_after_s;
	keep_ratelimit(&c->rl, &c->ans);
	if (*status)
		fm_state_rl_record(c->st, &c->ans, *status, c->retry_after_s);
	if (cc != CURLE_OK) {
		if (c->over || cc == CURLE_FILESIZE_EXCEEDED)
			result_say(out, FM_RETRY, "answer larger than %u bytes", LIMIT_MAX_UPSTREAM_BODY);
		else
			result_say(out, FM_RETRY, "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
		goto out;
	}
	if (*status >= 200 && *status < 300)
		fm_state_key_works(c->st);
	ok = true;
out:
	free(url);
	return ok;
}

/* The API's errors.message (an array, joined with "; "), or "HTTP N". */
static void api_message(const struct fm_client *c, long status, char *dst, size_t size)
{
	cJSON *doc = c->len ? cJSON_ParseWithLength(c->body, c->len) : NULL;
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

/* Sets the outcome of an answered call from its status. */
static void classify(struct fm_client *c, long status, struct fm_result *out)
{
	cJSON *doc;
	const cJSON *id;

	if (status >= 200 && status < 300) {
		out->outcome = FM_DELIVERED;
		out->message[0] = '\0';
		doc = cJSON_ParseWithLength(c->body ? c->body : "", c->len);
		id = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "contact"), "id");
		if (cJSON_IsNumber(id) && id->valuedouble > 0 && id->valuedouble < 9.2e18)
			out->contact_id = (long long)id->valuedouble;
		cJSON_Delete(doc);
		return;
	}
	api_message(c, status, out->message, sizeof out->message);
	if (status == 429 || status >= 500)
		out->outcome = FM_RETRY;
	else if (status == 401 || status == 403)
		out->outcome = FM_PAUSED;
	else if (status >= 400)
		out->outcome = FM_REJECTED;
	else /* 1xx, 3xx: redirects are not followed; the base is probably wrong */
		result_say(out, FM_RETRY, "unexpected HTTP %ld from the API", status);
}

/*
 * A read (field list, lookup, contact) answered `status`. Only a 401 pauses: a
 * refused key refuses everything. Any other answer, a 403 included (seen now
 * and then on /lookup while writes worked), retries this submission later.
 */
static bool read_ok(struct fm_client *c, long status, struct fm_result *out)
{
	if (status == 200)
		return true;
	api_message(c, status, out->message, sizeof out->message);
	out->outcome = status == 401 ? FM_PAUSED : FM_RETRY;
	return false;
}

/* ---- field list -------------------------------------------------------- */

static void set_fields(struct fm_client *c, struct fm_fields *f)
{
	fm_fields_free(c->fields);
	c->fields = f;
}

/* Takes the shared cache when another process stored a newer list. */
static void take_cached(struct fm_client *c)
{
	struct fm_fields *f;

	if (fm_state_fields_load(c->st, &f))
		set_fields(c, f);
}

static bool fresh(const struct fm_client *c)
{
	time_t now = time(NULL);

	/* A list from the future (a clock set back) is not trusted as fresh. */
	return c->fields && c->fields->fetched_at <= now &&
	       now - c->fields->fetched_at < (time_t)c->fields_max_age_s;
}

/* A refresh failed in some process less than FIELDS_RETRY_S ago. */
static bool refresh_failed_lately(const struct fm_client *c)
{
	long ago = fm_state_fields_failed_ago(c->st);

	return ago >= 0 && ago < FIELDS_RETRY_S;
}

/* GET the list; on success it is this process's copy and, when `share`,
 * the shared cache. */
static bool fetch_fields(struct fm_client *c, uint64_t deadline, bool share,
                         struct fm_result *out)
{
	struct fm_fields *f = NULL;
	cJSON *doc = NULL;
	enum fmf_err e;
	long status;
	bool ok = false;

	if (!call(c, "GET", "/settings/contacts/fields", NULL, deadline, out, &status))
		goto out;
	if (!read_ok(c, status, out)) {
		/* Not this contact's fault: only a refused key stops delivery. */
		log_msg(LOG_WARN, "Freshmarketer field list: HTTP %ld", status);
		goto out;
	}
	doc = cJSON_ParseWithLength(c->body ? c->body : "", c->len);
	if ((e = doc ? fm_fields_from_json(doc, time(NULL), &f) : FMF_EPARSE) != FMF_OK) {
		result_say(out, FM_RETRY, "field list: %s", fm_fields_strerror(e));
		log_msg(LOG_WARN, "Freshmarketer field list: %s", fm_fields_strerror(e));
		goto out;
	}
	if (share)
		fm_state_fields_save(c->st, doc, f->fetched_at);
	log_msg(LOG_INFO, "Freshmarketer field list fetched: %zu fields%s", f->n,
	        !share || fm_state_shared(c->st) ? "" : " (kept by this process only)");
	set_fields(c, f);
	ok = true;
out:
	cJSON_Delete(doc);
	return ok;
}

/*
 * Makes c->fields usable: this process's copy while fresh, else the shared
 * cache, else a refresh by one process at a time. `force` refreshes even a
 * fresh list (the API refused a field). A failed refresh serves the stale
 * copy, unless the key was refused or the refresh was forced.
 */
static bool ensure_fields(struct fm_client *c, uint64_t deadline, struct fm_result *out,
                          bool force)
{
	uint64_t now = now_ms();
	long left = now < deadline ? (long)(deadline - now) : 0;
	bool locked, ok;

	if (!force) {
		take_cached(c);
		if (fresh(c) || (c->fields && refresh_failed_lately(c)))
			return true;
	}
	/* With a copy to serve, nobody waits for another process's refresh. */
	locked = fm_state_fields_lock(c->st, c->fields && !force ? 0 : left / 2);
	if (!force) {
		take_cached(c);
		if (fresh(c) || (!locked && c->fields)) {
			if (locked)
				fm_state_fields_unlock(c->st);
			return true;
		}
	}
	ok = fetch_fields(c, deadline, true, out);
	if (locked)
		fm_state_fields_unlock(c->st);
	if (ok || !c->fields || force || out->outcome == FM_PAUSED)
		return ok;
	fm_state_fields_failed(c->st);
	log_msg(LOG_WARN, "Freshmarketer field list not refreshed (%s): using the copy fetched "
	        "%ld s ago", out->message, (long)(time(NULL) - c->fields->fetched_at));
	out->outcome = FM_DELIVERED;   /* provisional: the upsert decides */
	out->message[0] = '\0';
	out->retry_after_s = -1;
	return true;
}

/* ---- notes on traits ------------------------------------------------------ */

struct notes {
	struct fm_client *c;      /* may be NULL (dry run without a client) */
	const struct map_form *form;
	FILE *to;                 /* `fmgate try`: every note printed here */
};

/* Left-out traits are logged once per form, trait and reason across every
 * process (until the field list changes), not once per request. Names come
 * from the mapping and the field list, never from a submission. */
static void on_note(void *ud, enum fmc_event ev, const char *trait, const char *field,
                    const cJSON *value)
{
	const struct notes *n = ud;
	const char *fid = n->form && n->form->id ? n->form->id : "-";
	uint64_t h;
	char *v;

	if (n->to) {
		v = value ? cJSON_PrintUnformatted(value) : NULL;
		fprintf(n->to, "  %-24s -> %-20s %s%s%s\n", trait, field ? field : "-",
		        fmc_event_name(ev), v ? ": " : "", v ? v : "");
		cJSON_free(v);
		return;
	}
	if (ev == FMC_SET_FM_FIELD || ev == FMC_SET_RESERVED || ev == FMC_SET_LABEL ||
	    ev == FMC_SET_NAME || ev == FMC_DROP_UNCHECKED || ev == FMC_DROP_NO_LIST ||
	    ev == FMC_INVALID)
		return;
	h = fm_fnv1a(FM_FNV_INIT, fid, strlen(fid) + 1);
	h = fm_fnv1a(h, trait, strlen(trait) + 1);
	h = fm_fnv1a(h, &ev, sizeof ev);
	if (n->c && !fm_state_first_warning(n->c->st, h))
		return;
	log_msg(LOG_WARN, "form %s: trait \"%s\" %s%s%s%s", fid, trait, fmc_event_name(ev),
	        field ? " (" : "", field ? field : "", field ? ")" : "");
}

/* ---- the identity rule ----------------------------------------------------- */

/*
 * One delivery's identity. Only a signed userId is trusted: any other may
 * create a contact, update the contact it keys (when that contact has the
 * posted email), and adopt a contact with the posted email and no external
 * id, but never change a contact's email nor take another person's contact.
 */
struct who {
	const struct submission *sub;
	const struct map_form *form;
	const char *uid, *email;
	bool trusted;
	uint64_t deadline;
	bool refreshed;          /* the field list was fetched again once */
};

/* How a contact is written. */
enum write {
	WRITE_UPSERT,            /* POST /contacts/upsert keyed on external_id */
	WRITE_PUT,               /* PUT /contacts/ID: a contact found and read */
	WRITE_CREATE,            /* POST /contacts: never touches an existing one */
};

/* Who holds an email, as read from the whole contact. */
enum owner { OWNER_NOBODY, OWNER_NO_EXT, OWNER_US, OWNER_OTHER };

static void conflict(struct fm_result *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void conflict(struct fm_result *out, const char *fmt, ...)
{
	va_list ap;

	out->outcome = FM_CONFLICT;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof out->message, fmt, ap);
	va_end(ap);
}

/*
 * The body of a write as a tree and as text: the upsert keyed on external_id,
 * or (PUT, create) the contact alone. NULL with *out filled when none can be
 * built: FM_INVALID for a value its field refuses.
 */
static char *body_json(struct fm_client *c, const struct submission *sub, const struct map_form *form,
                       enum write how, FILE *to, struct fm_result *out, cJSON **tree)
{
	struct notes n = {c, form, to};
	struct fmc_report rep = {.note = on_note, .ud = &n};
	char *json = NULL;
	enum fmc_err e = fm_contact_build(sub, c ? c->fields : NULL,
	                                  FMC_KEY_EXTERNAL_ID, &rep, tree);

	if (e == FMC_EINVALID) {
		out->field = rep.form_field;
		result_say(out, FM_INVALID, "trait \"%s\"%s%s%s does not fit Freshmarketer field %s, "
		           "which takes %s", rep.trait, rep.form_field ? " (form field \"" : "",
		           rep.form_field ? rep.form_field : "", rep.form_field ? "\")" : "",
		           rep.field, rep.expected);
	} else if (e != FMC_OK) {
		result_say(out, e == FMC_ENOIDENT ? FM_REJECTED : FM_RETRY, "%s", fmc_strerror(e));
	} else {
		if (how != WRITE_UPSERT)
			cJSON_DeleteItemFromObjectCaseSensitive(*tree, "unique_identifier");
		if (!(json = cJSON_PrintUnformatted(*tree)))
			result_say(out, FM_RETRY, "out of memory");
	}
	if (!json) {
		cJSON_Delete(*tree);
		*tree = NULL;
	}
	return json;
}

static bool is_word_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_';
}

/* `w` stands in msg as a word of its own (ignoring case). */
static bool has_word(const char *msg, const char *w)
{
	size_t n = strlen(w);

	if (!n)
		return false;
	for (const char *p = msg; (p = strcasestr(p, w)); p++)
		if ((p == msg || !is_word_char(p[-1])) && !is_word_char(p[n]))
			return true;
	return false;
}

/* Blanks every copy of `v` (ignoring case) in msg. */
static void blank_out(char *msg, const char *v)
{
	size_t n = v ? strlen(v) : 0;

	for (char *p = msg; n && (p = strcasestr(p, v)); p += n)
		memset(p, ' ', n);
}

/*
 * Does the API's message name a field of the body by its API name? API names
 * are the same in every language; labels and the rest of a message are not,
 * so nothing else in it decides anything. The submission's own email and
 * userId are blanked first: "first_name@example.com already exists." names
 * no field. The identity fields are the identity rule's business.
 */
static bool names_a_field(const struct who *w, const char *api_msg, const cJSON *body)
{
	const cJSON *contact = cJSON_GetObjectItemCaseSensitive(body, "contact"), *f, *cf;
	char msg[sizeof ((struct fm_result *)0)->message];

	text_copy(msg, sizeof msg, api_msg);
	blank_out(msg, w->email);
	blank_out(msg, w->uid);
	cJSON_ArrayForEach(f, contact) {
		if (strcmp(f->string, "emails") == 0 || strcmp(f->string, "external_id") == 0)
			continue;
		if (strcmp(f->string, "custom_field") == 0) {
			cJSON_ArrayForEach(cf, f)
				if (has_word(msg, cf->string))
					return true;
		} else if (has_word(msg, f->string)) {
			return true;
		}
	}
	return false;
}

/* Sends one body; false when no answer came (*out says why). */
static bool send_body(struct fm_client *c, const struct who *w, enum write how, long long id,
                      const char *json, struct fm_result *out, long *status)
{
	char path[64];

	if (how == WRITE_PUT)
		snprintf(path, sizeof path, "/contacts/%lld", id);
	return call(c, how == WRITE_PUT ? "PUT" : "POST",
	            how == WRITE_UPSERT ? "/contacts/upsert" : how == WRITE_PUT ? path : "/contacts",
	            json, w->deadline, out, status);
}

/*
 * One write. When the API refuses a field of the body (a 400 naming it), the
 * field list is fetched again once per delivery and the rebuilt body sent
 * once more if it differs; the same body would be refused the same way, so
 * that refusal stands. True when the answer was a 400 that names no field of
 * the body: the identity rule then decides by data what it means.
 */
static bool write_contact(struct fm_client *c, struct who *w, enum write how, long long id,
                          struct fm_result *out)
{
	cJSON *tree = NULL, *tree2 = NULL;
	char *json = NULL, *json2 = NULL;
	struct fm_result refused;
	bool unexplained = false;
	long status = 0;

	if (!(json = body_json(c, w->sub, w->form, how, NULL, out, &tree)) ||
	    !send_body(c, w, how, id, json, out, &status))
		goto out;
	classify(c, status, out);
	if (status != 400)
		goto out;
	if (!names_a_field(w, out->message, tree)) {
		unexplained = true;
		goto out;
	}
	if (w->refreshed)
		goto out;
	w->refreshed = true;
	refused = *out;
	log_msg(LOG_WARN, "Freshmarketer refused a field (%s): fetching the field list again",
	        out->message);
	if (!ensure_fields(c, w->deadline, out, true) ||
	    !(json2 = body_json(c, w->sub, w->form, how, NULL, out, &tree2)))
		goto out;
	if (strcmp(json, json2) == 0) {
		unsigned calls = out->calls;

		*out = refused;
		out->calls = calls;
		goto out;
	}
	status = 0;
	if (send_body(c, w, how, id, json2, out, &status))
		classify(c, status, out);
	unexplained = status == 400 && !names_a_field(w, out->message, tree2);
out:
	cJSON_Delete(tree);
	cJSON_Delete(tree2);
	free(json);
	free(json2);
	return unexplained;
}

/* GET `path`; on 200 with a JSON answer, true with *doc the parsed answer. */
static bool get_json(struct fm_client *c, const char *path, const char *what,
                     uint64_t deadline, struct fm_result *out, cJSON **doc)
{
	long status;

	*doc = NULL;
	if (!call(c, "GET", path, NULL, deadline, out, &status) || !read_ok(c, status, out))
		return false;
	if (!(*doc = cJSON_ParseWithLength(c->body ? c->body : "", c->len))) {
		result_say(out, FM_RETRY, "%s: the answer is not JSON", what);
		return false;
	}
	return true;
}

/* The rows of a lookup answer ({"contacts":{"contacts":[..]}}), or NULL. */
static const cJSON *rows_of(const cJSON *doc)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "contacts");

	if (cJSON_IsObject(list))
		list = cJSON_GetObjectItemCaseSensitive(list, "contacts");
	return cJSON_IsArray(list) ? list : NULL;
}

/* The contacts whose `field` is exactly `value`. */
static bool lookup(struct fm_client *c, const char *field, const char *value,
                   uint64_t deadline, struct fm_result *out, cJSON **doc)
{
	char *q = curl_easy_escape(c->h, value, 0), *path = NULL;
	size_t plen;
	bool ok = false;

	*doc = NULL;
	if (!q || !(path = malloc(plen = strlen(q) + strlen(field) + 48))) {
		result_say(out, FM_RETRY, "out of memory");
		goto out;
	}
	snprintf(path, plen, "/lookup?q=%s&f=%s&entities=contact", q, field);
	ok = get_json(c, path, "lookup", deadline, out, doc);
out:
	free(path);
	curl_free(q);
	return ok;
}

/* A contact's id, or 0. */
static long long contact_id(const cJSON *ct)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(ct, "id");

	return cJSON_IsNumber(id) && id->valuedouble >= 1 && id->valuedouble < 9.2e18
	       ? (long long)id->valuedouble : 0;
}

/* An "emails" value: a string, or a list of strings or {"value": ..}. */
static bool has_email(const cJSON *v, const char *email)
{
	const cJSON *e;

	if (cJSON_IsString(v))
		return text_ieq(v->valuestring, email);
	cJSON_ArrayForEach(e, (cJSON_IsArray(v) ? v : NULL)) {
		const cJSON *s = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "value") : e;
		if (cJSON_IsString(s) && text_ieq(s->valuestring, email))
			return true;
	}
	return false;
}

static bool contact_has_email(const cJSON *ct, const char *email)
{
	return has_email(cJSON_GetObjectItemCaseSensitive(ct, "email"), email) ||
	       has_email(cJSON_GetObjectItemCaseSensitive(ct, "emails"), email);
}

/* The whole contact `id` (GET /contacts/ID): *ct points into *doc. */
static bool read_contact(struct fm_client *c, long long id, uint64_t deadline,
                         struct fm_result *out, cJSON **doc, const cJSON **ct)
{
	char path[64];

	snprintf(path, sizeof path, "/contacts/%lld", id);
	if (!get_json(c, path, "reading a contact", deadline, out, doc))
		return false;
	*ct = cJSON_GetObjectItemCaseSensitive(*doc, "contact");
	if (!cJSON_IsObject(*ct) || contact_id(*ct) != id) {
		result_say(out, FM_RETRY, "reading contact %lld: not the expected answer", id);
		return false;
	}
	return true;
}

/*
 * The contact that has our userId as external id (lookup by external_id,
 * an exact match): *id 0 when none, else *same whether it has our email. A
 * row that shows another external id is not it; a row without its email
 * (rows are partial) is read whole.
 */
static bool find_by_userid(struct fm_client *c, const struct who *w, struct fm_result *out,
                           long long *id, bool *same)
{
	cJSON *doc = NULL, *full = NULL;
	const cJSON *row, *ct, *x;
	bool ok = false;

	*id = 0;
	*same = false;
	if (!lookup(c, "external_id", w->uid, w->deadline, out, &doc))
		goto out;
	cJSON_ArrayForEach(row, rows_of(doc)) {
		x = cJSON_GetObjectItemCaseSensitive(row, "external_id");
		if ((x && !(cJSON_IsString(x) && strcmp(x->valuestring, w->uid) == 0)) ||
		    !contact_id(row))
			continue;
		*id = contact_id(row);
		ct = row;
		if (!cJSON_GetObjectItemCaseSensitive(row, "email") &&
		    !cJSON_GetObjectItemCaseSensitive(row, "emails") &&
		    !read_contact(c, *id, w->deadline, out, &full, &ct))
			goto out;
		*same = contact_has_email(ct, w->email);
		break;
	}
	ok = true;
out:
	cJSON_Delete(doc);
	cJSON_Delete(full);
	return ok;
}

/*
 * The contact that has our email, and whose it is, read from the whole
 * contact: lookup rows are partial, and a row without external_id says
 * nothing about it. *id 0 when the lookup finds none.
 */
static bool find_by_email(struct fm_client *c, const struct who *w, struct fm_result *out,
                          long long *id, enum owner *own)
{
	cJSON *doc = NULL, *full = NULL;
	const cJSON *row, *ct, *x;
	bool ok = false;

	*id = 0;
	*own = OWNER_NOBODY;
	if (!lookup(c, "email", w->email, w->deadline, out, &doc))
		goto out;
	cJSON_ArrayForEach(row, rows_of(doc)) {
		if (!contact_has_email(row, w->email) || !contact_id(row))
			continue;
		*id = contact_id(row);
		if (!read_contact(c, *id, w->deadline, out, &full, &ct))
			goto out;
		x = cJSON_GetObjectItemCaseSensitive(ct, "external_id");
		if (!x || cJSON_IsNull(x) || (cJSON_IsString(x) && !x->valuestring[0]))
			*own = OWNER_NO_EXT;
		else
			*own = cJSON_IsString(x) && strcmp(x->valuestring, w->uid) == 0 ? OWNER_US
			                                                                : OWNER_OTHER;
		break;
	}
	ok = true;
out:
	cJSON_Delete(doc);
	cJSON_Delete(full);
	return ok;
}

/*
 * A write not keyed on external_id (`how`, contact `id`) after the upsert
 * keyed on it was refused: when it goes through, the account refuses
 * external_id as the key, and every process switches to the emails mode.
 * When it is refused too, the refusal is the submission's own (FM_REJECTED).
 */
static void write_probing(struct fm_client *c, struct who *w, enum write how, long long id,
                          bool probing, struct fm_result *out)
{
	write_contact(c, w, how, id, out);
	if (probing && out->outcome == FM_DELIVERED)
		fm_state_key_mode_emails(c->st, "a write without that key went through after an "
		                         "upsert keyed on it was refused");
}

/*
 * Where the userId's upsert could not go (`probing`: it was refused with a
 * 400 that names no field), or in the emails mode where no contact has the
 * userId: the contact with our email decides. Another person's is a conflict;
 * one without external id is adopted (written by id, after reading it
 * whole); ours means the key was refused. With none, the contact with our
 * userId (unless `looked` already) or a new one.
 */
static void place_by_email(struct fm_client *c, struct who *w, bool looked, bool probing,
                           struct fm_result *out)
{
	long long id;
	enum owner own;
	bool same;

	if (!find_by_email(c, w, out, &id, &own))
		return;
	switch (own) {
	case OWNER_OTHER:
		conflict(out, "the email belongs to contact %lld, which has another external id", id);
		return;
	case OWNER_NO_EXT:
		if (write_contact(c, w, WRITE_PUT, id, out))
			/* Our userId is another contact's: two contacts, never merged here. */
			conflict(out, "the email belongs to contact %lld, and the userId to another "
			         "contact", id);
		else if (out->outcome == FM_DELIVERED)
			log_msg(LOG_INFO, "Freshmarketer contact %lld adopted (had no external id)", id);
		return;
	case OWNER_US:
		write_probing(c, w, WRITE_PUT, id, probing, out);
		return;
	case OWNER_NOBODY:
		break;
	}
	if (!looked) {
		if (!find_by_userid(c, w, out, &id, &same))
			return;
		if (id && !w->trusted && !same) {
			conflict(out, "contact %lld has this userId and another email, which only a "
			         "signed userId may change", id);
			return;
		}
		if (id) {
			write_probing(c, w, WRITE_PUT, id, probing, out);
			return;
		}
	}
	write_probing(c, w, WRITE_CREATE, 0, probing, out);
}

/*
 * The emails mode, with the contact `id` that has our userId: updated by id.
 * A refusal that names no field is a conflict when the email is another
 * contact's (a signed userId changing its email), else the submission's own.
 */
static void update_by_id(struct fm_client *c, struct who *w, long long id, struct fm_result *out)
{
	struct fm_result refused;
	long long other;
	enum owner own;

	if (!write_contact(c, w, WRITE_PUT, id, out))
		return;
	refused = *out;
	if (!find_by_email(c, w, out, &other, &own))
		return;
	if (other && other != id) {
		conflict(out, "the email belongs to contact %lld, the userId to contact %lld", other, id);
		return;
	}
	refused.calls = out->calls;
	*out = refused;
}

static void deliver_identity(struct fm_client *c, struct who *w, struct fm_result *out)
{
	bool emails_mode = fm_state_key_mode(c->st) == FM_KEY_MODE_EMAILS, looked = false, same;
	long long id = 0;

	/* Before writing, an untrusted userId's contact is read: its email must
	 * not change. The emails mode finds it this way anyhow. */
	if (emails_mode || !w->trusted) {
		if (!find_by_userid(c, w, out, &id, &same))
			return;
		looked = true;
		if (id && !w->trusted && !same) {
			conflict(out, "contact %lld has this userId and another email, which only a "
			         "signed userId may change", id);
			return;
		}
	}
	if (emails_mode) {
		if (id)
			update_by_id(c, w, id, out);
		else
			place_by_email(c, w, true, false, out);
		return;
	}
	if (write_contact(c, w, WRITE_UPSERT, 0, out))
		place_by_email(c, w, looked, true, out);
}

/* A message quoting the key would leak it into logs and the spool. */
static void scrub(const struct fm_client *c, struct fm_result *out)
{
	if (c && c->key[0] && strstr(out->message, c->key))
		snprintf(out->message, sizeof out->message, "(message withheld: it held the API key)");
}

void fm_deliver(struct fm_client *c, const struct submission *sub,
                const struct map_form *form, unsigned budget_ms,
                struct fm_result *out)
{
	struct who w = {.sub = sub, .form = form,
	                .uid = sub->user_id, .email = sub->email,
	                .trusted = submission_trusted(sub),
	                .deadline = now_ms() + budget_ms};
	long wait;

	memset(out, 0, sizeof *out);
	out->retry_after_s = -1;
	if (!c) {
		result_say(out, FM_RETRY, "no Freshmarketer client");
		goto out;
	}
	if (!w.uid || !w.email) {
		result_say(out, FM_REJECTED, "identify message has no userId or email");
		goto out;
	}
	if ((wait = fm_state_pause_check(c->st)) > 0) {
		out->retry_after_s = wait;
		result_say(out, FM_PAUSED, "delivery paused: the API refused the key; next probe "
		           "in %ld s", wait);
		goto out;
	}
	if (fm_contact_needs_fields(sub) && !ensure_fields(c, w.deadline, out, false))
		goto out;
	deliver_identity(c, &w, out);
out:
	scrub(c, out);
	if (c && out->outcome == FM_PAUSED && out->http_status) {
		fm_state_key_refused(c->st, out->http_status, out->message);
		if (out->retry_after_s < 0)
			out->retry_after_s = FM_STATE_PROBE_S;
	}
}

cJSON *fm_request_explain(struct fm_client *c, const struct submission *sub,
                          const struct map_form *form, FILE *to,
                          struct fm_result *out)
{
	struct fm_state *ro;
	cJSON *body = NULL;
	char *json;

	memset(out, 0, sizeof *out);
	out->retry_after_s = -1;
	/* A dry run reads the field list if it must, and changes nothing. */
	if (c && !c->dry && (ro = fm_state_open(c->spool, c->base, c->key, true))) {
		fm_state_close(c->st);
		c->st = ro;
		c->dry = true;
	}
	if (c && fm_contact_needs_fields(sub) &&
	    !ensure_fields(c, now_ms() + c->timeout_ms, out, false))
		log_msg(LOG_WARN, "no field list (%s): traits matched by label are left out",
		        out->outcome == FM_PAUSED ? "API key refused" : "API unreachable or failing");
	out->outcome = FM_DELIVERED;
	out->message[0] = '\0';
	json = body_json(c, sub, form, WRITE_UPSERT, to, out, &body);
	free(json);
	scrub(c, out);
	return body;
}

cJSON *fm_request_body(struct fm_client *c, const struct submission *sub,
                       const struct map_form *form)
{
	struct fm_result r;

	return fm_request_explain(c, sub, form, NULL, &r);
}

const struct fm_fields *fm_client_fields(struct fm_client *c, struct fm_result *out)
{
	memset(out, 0, sizeof *out);
	out->retry_after_s = -1;
	if (!fetch_fields(c, now_ms() + c->timeout_ms, false, out)) {
		scrub(c, out);
		return NULL;
	}
	out->outcome = FM_DELIVERED;
	return c->fields;
}

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
