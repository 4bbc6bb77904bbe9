/*
 * dest_http.c: the webhook and the Segment/RudderStack forward: their bodies,
 * the webhook's signature, one POST through libcurl for both, and what `try`
 * prints of them.
 */
#include "dest_http.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hmac.h"
#include "fmgate_limits.h"
#include "text.h"

#ifndef FMGATE_VERSION
#define FMGATE_VERSION "dev"
#endif

#define USER_AGENT "fmgate/" FMGATE_VERSION
/* Bytes of an answer kept: a secret (at most MAP_MAX_SECRET bytes, or its
 * base64) that starts in the part shown is masked whole. */
#define ANSWER_KEPT 16384u
#define MAX_MASKS 2u
#define SIG_PREFIX "sha256="
#define SIG_PREFIX_LEN (sizeof SIG_PREFIX - 1)
#define AUTH_PREFIX "Authorization: Basic "
/* base64 of "KEY:" for the longest key, and its NUL */
#define B64_MAX (4u * ((MAP_MAX_SECRET + 1u + 2u) / 3u) + 1u)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc = CURLE_FAILED_INIT;

/* Once per process, never cleaned up (as fm_http.c): libcurl counts its
 * initialisations, so both modules may do it. */
static void curl_init_once(void)
{
	curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- bodies and the signature --------------------------------------------- */

char *dest_webhook_body(const cJSON *identify)
{
	return cJSON_PrintUnformatted(identify);
}

char *dest_forward_body(const cJSON *identify)
{
	cJSON *copy = cJSON_Duplicate(identify, true), *in;
	char *json = NULL;

	if (!copy)
		goto out;
	in = cJSON_GetObjectItemCaseSensitive(copy, "integrations");
	if (!cJSON_IsObject(in)) {
		cJSON_DeleteItemFromObjectCaseSensitive(copy, "integrations");
		if (!(in = cJSON_AddObjectToObject(copy, "integrations")))
			goto out;
	}
	/* a message read back may repeat a key: none may say true */
	while (cJSON_GetObjectItemCaseSensitive(in, "Freshmarketer"))
		cJSON_DeleteItemFromObjectCaseSensitive(in, "Freshmarketer");
	if (!cJSON_AddFalseToObject(in, "Freshmarketer"))
		goto out;
	json = cJSON_PrintUnformatted(copy);
out:
	cJSON_Delete(copy);
	return json;
}

bool dest_webhook_sign(const struct secret *key, long long ts, const char *body, size_t len,
                       char out[DEST_SIG_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	struct hmac_key k = {0};
	unsigned char mac[HMAC_SHA256_SIZE];
	char head[32];
	char *msg = NULL;
	int n = snprintf(head, sizeof head, "%lld.", ts);
	bool ok = false;

	out[0] = '\0';
	if (!key->bytes || key->len == 0 || n < 0 || len > SIZE_MAX - (size_t)n - 1 ||
	    !(msg = malloc((size_t)n + len + 1)))
		goto out;
	memcpy(msg, head, (size_t)n);
	if (len)
		memcpy(msg + n, body, len);
	if (hmac_key_set(&k, key->bytes, key->len) != HMAC_OK ||
	    hmac_sha256(&k, msg, (size_t)n + len, mac) != HMAC_OK)
		goto out;
	memcpy(out, SIG_PREFIX, SIG_PREFIX_LEN);
	for (size_t i = 0; i < HMAC_SHA256_SIZE; i++) {
		out[SIG_PREFIX_LEN + 2 * i] = hex[mac[i] >> 4];
		out[SIG_PREFIX_LEN + 2 * i + 1] = hex[mac[i] & 15];
	}
	out[DEST_SIG_SIZE - 1] = '\0';
	ok = true;
out:
	hmac_key_free(&k);
	OPENSSL_cleanse(mac, sizeof mac);
	free(msg);
	return ok;
}

/* ---- one POST ---------------------------------------------------------------- */

/* Bytes no message may show, should the receiver echo them. */
struct mask {
	const char *s;
	size_t len;
};

struct answer {
	char buf[ANSWER_KEPT];
	size_t len;
};

/* Keeps the start of the answer; the rest is read and dropped (the total
 * timeout bounds it). */
static size_t on_answer(char *p, size_t size, size_t n, void *ud)
{
	struct answer *a = ud;
	size_t len = size * n, take = ANSWER_KEPT - a->len;

	if (take > len)
		take = len;
	memcpy(a->buf + a->len, p, take);
	a->len += take;
	return len;
}

/* The Authorization header is a secret: every entry is wiped. */
static void headers_free(struct curl_slist *list)
{
	for (struct curl_slist *l = list; l; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

static bool json_headers(struct curl_slist **list)
{
	return fm_http_add_header(list, "Content-Type: application/json") &&
	       fm_http_add_header(list, "Expect:"); /* no 100-continue round trip */
}

static long retry_after(CURL *h)
{
	struct curl_header *hd;
	long long s;

	/* the seconds form only; an HTTP date is taken as absent */
	if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK ||
	    !text_parse_ll(hd->value, 0, LLONG_MAX, &s))
		return -1;
	return s > FM_RETRY_AFTER_MAX ? FM_RETRY_AFTER_MAX : (long)s;
}

/* out->message = "HTTP N" and the start of the answer, masked and made
 * printable. */
static void say_status(struct fm_result *out, enum fm_outcome o, long status,
                       struct answer *a, const struct mask *masks, size_t n_masks)
{
	size_t n = a->len < DEST_ANSWER_SHOWN ? a->len : DEST_ANSWER_SHOWN;

	for (size_t i = 0; i < n_masks; i++) {
		char *p = a->buf;

		if (!masks[i].len)
			continue;
		while ((p = memmem(p, (size_t)(a->buf + a->len - p), masks[i].s, masks[i].len))) {
			memset(p, '*', masks[i].len);
			p += masks[i].len;
		}
	}
	/* not in the middle of a UTF-8 sequence */
	if (n < a->len)
		while (n > 0 && ((unsigned char)a->buf[n] & 0xC0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)a->buf[i] < 0x20 || a->buf[i] == 0x7f)
			a->buf[i] = ' ';
	if (!text_utf8_valid(a->buf, n))
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)a->buf[i] >= 0x80)
				a->buf[i] = '?';
	fm_result_say(out, o, "HTTP %ld%s%.*s", status, n ? ": " : "", (int)n, a->buf);
}

/*
 * POSTs body[0..len) to url with `headers` (the caller's; Content-Type among
 * them) and fills *out by the rule of dest_http.h. An answer whose status
 * arrived is judged by it even when its body was cut off: the receiver had
 * the whole request.
 */
static void post(const char *url, struct curl_slist *headers, const char *body, size_t len,
                 unsigned budget_ms, const struct mask *masks, size_t n_masks,
                 struct fm_result *out)
{
	long connect_ms = budget_ms < LIMIT_CONNECT_TIMEOUT_MS ? (long)budget_ms
	                                                       : (long)LIMIT_CONNECT_TIMEOUT_MS;
	char err[CURL_ERROR_SIZE] = "";
	struct answer *a = NULL;
	CURL *h = NULL;
	CURLcode cc;
	long status = 0;

	pthread_once(&curl_once, curl_init_once);
	if (budget_ms == 0) {
		fm_result_say(out, FM_RETRY, "delivery budget used up before the call");
		goto out;
	}
	if (curl_rc != CURLE_OK || !(h = curl_easy_init()) || !(a = malloc(sizeof *a))) {
		fm_result_say(out, FM_RETRY, "cannot set up libcurl (out of memory)");
		goto out;
	}
	a->len = 0;
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
#else
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS,
	                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK ||
#endif
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)budget_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_answer) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, a) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, len ? body : "") != CURLE_OK) {
		fm_result_say(out, FM_RETRY, "cannot set up the request");
		goto out;
	}
	cc = curl_easy_perform(h);
	out->calls = 1;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	out->http_status = status;
	if (!status) {
		fm_result_say(out, FM_RETRY, "%s", err[0] ? err : curl_easy_strerror(cc));
	} else if (status >= 200 && status < 300) {
		out->outcome = FM_DELIVERED;
		out->message[0] = '\0';
	} else if (status >= 400 && status < 500 && status != 408 && status != 429) {
		say_status(out, FM_REJECTED, status, a, masks, n_masks);
	} else {
		out->retry_after_s = retry_after(h);
		say_status(out, FM_RETRY, status, a, masks, n_masks);
	}
out:
	if (h)
		curl_easy_cleanup(h);
	if (a)
		OPENSSL_cleanse(a, sizeof *a); /* an echo of the request */
	free(a);
}

/* ---- the two senders ---------------------------------------------------------- */

void dest_webhook_send(const struct map_dest *d, const char *body, size_t len,
                       unsigned budget_ms, struct fm_result *out)
{
	long long ts = (long long)time(NULL);
	char sig[DEST_SIG_SIZE], ts_line[64], sig_line[sizeof "X-Fmgate-Signature: " + DEST_SIG_SIZE];
	struct curl_slist *headers = NULL;
	struct mask masks[MAX_MASKS] = {
		{d->secret.bytes, d->secret.len},
		{sig + SIG_PREFIX_LEN, DEST_SIG_SIZE - 1 - SIG_PREFIX_LEN},
	};

	fm_result_start(out);
	if (!dest_webhook_sign(&d->secret, ts, body, len, sig)) {
		fm_result_say(out, FM_RETRY, "cannot sign the message (no secret, or out of memory)");
		goto out;
	}
	snprintf(ts_line, sizeof ts_line, "X-Fmgate-Timestamp: %lld", ts);
	snprintf(sig_line, sizeof sig_line, "X-Fmgate-Signature: %s", sig);
	if (!json_headers(&headers) || !fm_http_add_header(&headers, ts_line) ||
	    !fm_http_add_header(&headers, sig_line)) {
		fm_result_say(out, FM_RETRY, "out of memory");
		goto out;
	}
	post(d->url, headers, body, len, budget_ms, masks, MAX_MASKS, out);
out:
	headers_free(headers);
	OPENSSL_cleanse(sig, sizeof sig);
	OPENSSL_cleanse(sig_line, sizeof sig_line);
}

void dest_forward_send(const struct map_segment *sg, const char *body, size_t len,
                       unsigned budget_ms, struct fm_result *out)
{
	const struct secret *key = &sg->write_key;
	unsigned char cred[MAP_MAX_SECRET + 1];
	char b64[B64_MAX], line[sizeof AUTH_PREFIX + B64_MAX];
	struct curl_slist *headers = NULL;
	char *url = NULL;
	size_t ulen;
	int n = 0;
	struct mask masks[MAX_MASKS];

	fm_result_start(out);
	if (len > DEST_FORWARD_MAX_BODY) {
		fm_result_say(out, FM_REJECTED, "identify message of %zu bytes: Segment takes at "
		              "most %u in one call", len, DEST_FORWARD_MAX_BODY);
		return;
	}
	if (!key->bytes || key->len == 0 || key->len > MAP_MAX_SECRET) {
		fm_result_say(out, FM_REJECTED, "no usable write key");
		return;
	}
	/* "KEY:" in base64: the key as user name, an empty password */
	memcpy(cred, key->bytes, key->len);
	cred[key->len] = ':';
	n = EVP_EncodeBlock((unsigned char *)b64, cred, (int)key->len + 1);
	snprintf(line, sizeof line, AUTH_PREFIX "%s", b64);
	masks[0] = (struct mask){key->bytes, key->len};
	masks[1] = (struct mask){b64, n > 0 ? (size_t)n : 0};
	ulen = strlen(sg->endpoint) + sizeof "/identify";
	if (!(url = malloc(ulen)) || !json_headers(&headers) || !fm_http_add_header(&headers, line)) {
		fm_result_say(out, FM_RETRY, "out of memory");
		goto out;
	}
	snprintf(url, ulen, "%s/identify", sg->endpoint);
	post(url, headers, body, len, budget_ms, masks, MAX_MASKS, out);
out:
	headers_free(headers);
	free(url);
	OPENSSL_cleanse(cred, sizeof cred);
	OPENSSL_cleanse(b64, sizeof b64);
	OPENSSL_cleanse(line, sizeof line);
}

/* ---- for `fmgate try` ------------------------------------------------------------ */

void dest_webhook_describe(const struct map_dest *d, const char *body, FILE *to)
{
	fprintf(to, "POST %s\n"
	        "Content-Type: application/json\n"
	        "User-Agent: " USER_AGENT "\n"
	        "X-Fmgate-Timestamp: (the time when sent)\n"
	        "X-Fmgate-Signature: " SIG_PREFIX "(computed when sent)\n"
	        "\n%s\n", d->url, body);
}

void dest_forward_describe(const struct map_segment *sg, const char *body, FILE *to)
{
	size_t len = strlen(body);

	fprintf(to, "POST %s/identify\n"
	        "Content-Type: application/json\n"
	        "User-Agent: " USER_AGENT "\n"
	        "Authorization: Basic (write key hidden)\n"
	        "\n%s\n", sg->endpoint, body);
	if (len > DEST_FORWARD_MAX_BODY)
		fprintf(to, "(not sent: %zu bytes, Segment takes at most %u in one call)\n",
		        len, DEST_FORWARD_MAX_BODY);
}
