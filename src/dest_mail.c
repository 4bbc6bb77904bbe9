/* dest_mail.c: the notification mail sent over SMTP with libcurl. */
#include "dest_mail.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "buf.h"
#include "fields_print.h"
#include "fmgate_limits.h"
#include "mail.h"
#include "text.h"
#include "url.h"

#define SHOWN_URL_MAX (URL_MAX_HOST + 32u)  /* "smtps://" [host] ":" port */

/* The <smtp> URL as libcurl reads it. */
struct smtp_url {
	char shown[SHOWN_URL_MAX];  /* scheme://host[:port], nothing else */
	bool plain_ok;              /* smtp:// to a loopback host */
};

/* Reads url; false when it is not smtp:// or smtps:// with a host, or has
 * user info. libcurl's reading is the one that counts: it connects. */
static bool smtp_url_read(const char *url, struct smtp_url *u)
{
	CURLU *h = url ? curl_url() : NULL;
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
	bool ok = false, tls;

	if (!h || curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_USER, &user, 0) != CURLUE_NO_USER)
		goto out;
	tls = strcasecmp(scheme, "smtps") == 0;
	if (!tls && strcasecmp(scheme, "smtp") != 0)
		goto out;
	curl_url_get(h, CURLUPART_PORT, &port, 0);  /* none when the default */
	if (snprintf(u->shown, sizeof u->shown, "%s://%s%s%s", tls ? "smtps" : "smtp", host,
	             port ? ":" : "", port ? port : "") >= (int)sizeof u->shown)
		goto out;
	/* libcurl gives the host as written: compared in lower case. */
	text_ascii_lower(host);
	u->plain_ok = !tls && url_host_loopback(host);
	ok = true;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_url_cleanup(h);
	return ok;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t on_read(char *dst, size_t size, size_t n, void *ud)
{
	struct upload *up = ud;
	size_t len = size * n < up->left ? size * n : up->left;

	memcpy(dst, up->p, len);
	up->p += len;
	up->left -= len;
	return len;
}

/* The outcome of a finished exchange: see dest_mail.h. */
static void classify(CURLcode cc, long code, const char *why, const struct secret *pw,
                     struct fm_result *out)
{
	bool login = code == 530 || code == 534 || code == 535 || cc == CURLE_LOGIN_DENIED;
	char head[32] = "SMTP";

	if (code)
		snprintf(head, sizeof head, "SMTP %ld", code);
	out->http_status = code;
	if (cc == CURLE_OK)
		fm_result_say(out, FM_DELIVERED, "%s: mail accepted", head);
	else if (code >= 500 && code <= 599 && !login)
		fm_result_say(out, FM_REJECTED, "%s: the server refused the mail: %s", head, why);
	else
		fm_result_say(out, FM_RETRY, "%s: %s", head, why);
	/* libcurl writes no password into its messages; this makes sure. */
	if (pw->len && memmem(out->message, strlen(out->message), pw->bytes, pw->len))
		fm_result_say(out, out->outcome, "%s: failed", head);
}

/* What one exchange needs besides the handle: the envelope and the mail. */
struct exchange {
	char errbuf[CURL_ERROR_SIZE];
	char from[LIMIT_MAX_EMAIL + 3];   /* <addr> */
	struct curl_slist *rcpt;          /* <addr> each */
	struct upload up;
};

/* The envelope: mail_compose checked from_addr and each recipient, so they
 * fit. False when out of memory. */
static bool envelope(const struct map_smtp *smtp, const struct map_dest *d, struct exchange *x)
{
	char one[LIMIT_MAX_EMAIL + 3];
	struct curl_slist *more;

	snprintf(x->from, sizeof x->from, "<%s>", smtp->from_addr);
	for (size_t i = 0; i < d->n_to; i++) {
		snprintf(one, sizeof one, "<%s>", d->to[i]);
		if (!(more = curl_slist_append(x->rcpt, one)))
			return false;
		x->rcpt = more;
	}
	return true;
}

/* A handle set up for the exchange within budget_ms; NULL when libcurl
 * refuses an option (or out of memory). */
static CURL *smtp_handle(const struct map_smtp *smtp, const struct smtp_url *u,
                         unsigned budget_ms, struct exchange *x)
{
	long connect_ms = budget_ms < LIMIT_CONNECT_TIMEOUT_MS ? budget_ms : LIMIT_CONNECT_TIMEOUT_MS;
	CURL *h = curl_easy_init();
	bool ok = h != NULL &&
	     curl_easy_setopt(h, CURLOPT_URL, smtp->url) == CURLE_OK &&
#if LIBCURL_VERSION_NUM >= 0x075500
	     curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps") == CURLE_OK &&
#else
	     curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS)) ==
	     CURLE_OK &&
#endif
	     curl_easy_setopt(h, CURLOPT_USE_SSL,
	                      u->plain_ok ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)budget_ms) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) == CURLE_OK &&
	     /* Bounds the wait for the answer to QUIT, which libcurl sends when
	      * the handle goes, past the budget (its default: two minutes). */
	     curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT,
	                      (long)(budget_ms / 1000 + 1)) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_MAIL_FROM, x->from) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_MAIL_RCPT, x->rcpt) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_READDATA, &x->up) == CURLE_OK &&
	     curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->up.left) == CURLE_OK &&
	     (!smtp->user ||
	      (curl_easy_setopt(h, CURLOPT_USERNAME, smtp->user) == CURLE_OK &&
	       curl_easy_setopt(h, CURLOPT_PASSWORD,
	                        smtp->password.bytes ? smtp->password.bytes : "") == CURLE_OK));

	if (!ok) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

void dest_mail_send(const struct map_smtp *smtp, const struct map_dest *d,
                    const struct submission *sub, const struct map_form *form,
                    unsigned budget_ms, struct fm_result *out)
{
	struct exchange x = { .errbuf = "", .rcpt = NULL };
	struct smtp_url u;
	struct buf msg;
	enum mail_err me;
	CURL *h = NULL;
	curl_socket_t fd;
	CURLcode cc;
	long code = 0;

	fm_result_start(out);
	if ((me = mail_compose(smtp, d, sub, form, &msg)) != MAIL_OK) {
		fm_result_say(out, me == MAIL_ENOMEM ? FM_RETRY : FM_REJECTED, "%s",
		              mail_strerror(me));
		goto out;
	}
	if (!smtp_url_read(smtp->url, &u)) {
		fm_result_say(out, FM_RETRY, "the <smtp> url is not smtp:// or smtps:// with a "
		              "host and without user info");
		goto out;
	}
	if (budget_ms == 0) {
		fm_result_say(out, FM_RETRY, "delivery budget used up before the mail");
		goto out;
	}
	if (!envelope(smtp, d, &x)) {
		fm_result_say(out, FM_RETRY, "out of memory");
		goto out;
	}
	x.up.p = msg.p;
	x.up.left = msg.len;
	if (!(h = smtp_handle(smtp, &u, budget_ms, &x))) {
		fm_result_say(out, FM_RETRY, "cannot set up the SMTP connection");
		goto out;
	}
	out->calls = 1;
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	classify(cc, code, x.errbuf[0] ? x.errbuf : curl_easy_strerror(cc), &smtp->password, out);
	/* A server that did not answer in time would also keep QUIT waiting:
	 * it gets no goodbye. (libcurl keeps the connection of an exchange
	 * that failed while finishing, as one whose answer timed out after
	 * DATA.) */
	if (cc != CURLE_OK && curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
	    fd != CURL_SOCKET_BAD)
		shutdown(fd, SHUT_RDWR);
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(x.rcpt);
	buf_free(&msg);
}

void dest_mail_describe(const struct map_smtp *smtp, const struct map_dest *d,
                        const struct submission *sub, const struct map_form *form,
                        FILE *to)
{
	struct smtp_url u;
	struct buf msg;
	enum mail_err me;

	if (!smtp_url_read(smtp->url, &u)) {
		fputs("SMTP: the <smtp> url is not smtp:// or smtps:// with a host and without "
		      "user info\n", to);
	} else {
		fprintf(to, "SMTP %s", u.shown);
		if (smtp->user) {
			fputs(" (as ", to);
			fields_put_text(to, smtp->user);
			fputc(')', to);
		}
		fputc('\n', to);
	}
	fputs("MAIL FROM:<", to);
	fields_put_text(to, smtp->from_addr ? smtp->from_addr : "");
	fputs(">\n", to);
	for (size_t i = 0; i < d->n_to; i++) {
		fputs("RCPT TO:<", to);
		fields_put_text(to, d->to[i]);
		fputs(">\n", to);
	}
	fputc('\n', to);
	if ((me = mail_compose(smtp, d, sub, form, &msg)) != MAIL_OK)
		fprintf(to, "(no mail: %s)\n", mail_strerror(me));
	else
		fwrite(msg.p, 1, msg.len, to);
	buf_free(&msg);
}
