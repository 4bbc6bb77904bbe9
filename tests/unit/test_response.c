/* Bounded buffers, escaping per context, answers and their serialisation
 * (buf.c, escape.c, response.c, log.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "escape.h"
#include "log.h"
#include "response.h"
#include "t.h"

/* Percent-decodes s[0..n) into out (a query value: + is a space). */
static void unescape(const char *s, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1) {
			*out++ = (char)v;
			i += 2;
		} else {
			*out++ = s[i] == '+' ? ' ' : s[i];
		}
	}
	*out = '\0';
}

/* The errors parameter of url, decoded once, as a browser's URLSearchParams
 * would: into out ("" when absent). */
static void errors_param(const char *url, char *out)
{
	const char *p = strstr(url, "&errors=");
	size_t n;

	*out = '\0';
	if (!p)
		return;
	p += strlen("&errors=");
	n = strcspn(p, "&#");
	unescape(p, n, out);
}

/* response_failure_url: the parameters, their place, their escaping, and
 * the errors list cut at LIMIT_MAX_URL. */
static void failure_urls(void)
{
	static const struct field_error errs[] = {
		{ "invalid_value", "a,b:c&d#e \xc3\xa9" },
		{ "missing_email", "email" },
		{ "captcha", NULL },
	};
	char list[LIMIT_MAX_URL * 3], field[512];
	char base[LIMIT_MAX_URL + 1];
	struct buf u;
	const char *colon;

	buf_init(&u, LIMIT_MAX_URL * 4);
	T(response_failure_url(&u, "https://x.example/f", "rate_limited", NULL, 0) == BUF_OK, "no field errors");
	T_STREQ(buf_str(&u), "https://x.example/f?error=rate_limited", "error only, ? added");
	buf_free(&u);
	T(response_failure_url(&u, "https://x.example/f#a?b", "body_too_large", NULL, 0) == BUF_OK, "? in the fragment");
	T_STREQ(buf_str(&u), "https://x.example/f?error=body_too_large#a?b", "a ? in the fragment is not a query");
	buf_free(&u);
	T(response_failure_url(&u, "/f?lang=de&x=1#form", errs[0].code, errs, 3) == BUF_OK, "three errors");
	T_STREQ(buf_str(&u), "/f?lang=de&x=1&error=invalid_value&field=a%2Cb%3Ac%26d%23e%20%C3%A9"
	        "&errors=invalid_value%3Aa%252Cb%253Ac%2526d%2523e%2520%25C3%25A9%2Cmissing_email%3Aemail%2Ccaptcha#form",
	        "error, field, errors before the fragment, after the query");
	errors_param(buf_str(&u), list);
	T_STREQ(list, "invalid_value:a%2Cb%3Ac%26d%23e%20%C3%A9,missing_email:email,captcha", "the list, decoded once");
	colon = strchr(list, ':');
	unescape(colon + 1, strcspn(colon + 1, ","), field);
	T_STREQ(field, errs[0].field, "the first field name, decoded again");
	buf_free(&u);
	T(response_failure_url(&u, "/f", "captcha", errs + 2, 1) == BUF_OK, "a field-less error");
	T_STREQ(buf_str(&u), "/f?error=captcha&errors=captcha", "no field parameter");
	buf_free(&u);

	/* A base that leaves room for exactly the first entry (and the fragment). */
	{
		const char *tail = "&error=missing_email&field=email&errors=missing_email%3Aemail#f";
		size_t fill = LIMIT_MAX_URL - strlen(tail) - strlen("/?q=");

		memcpy(base, "/?q=", 4);
		memset(base + 4, 'p', fill);
		strcpy(base + 4 + fill, "#f");
		T(response_failure_url(&u, base, "missing_email", errs + 1, 2) == BUF_OK, "at the limit");
		T(u.len == LIMIT_MAX_URL, "an entry that ends the URL at LIMIT_MAX_URL fits (%zu)", u.len);
		T(strcmp(buf_str(&u) + u.len - strlen(tail), tail) == 0, "the second entry is left off");
		buf_free(&u);
		base[4] = '\0';
		memset(base + 4, 'p', fill + 1);
		strcpy(base + 5 + fill, "#f");
		T(response_failure_url(&u, base, "missing_email", errs + 1, 2) == BUF_OK, "one over");
		T(strstr(buf_str(&u), "&errors=") == NULL, "no room for the first entry: no errors parameter");
		T(strstr(buf_str(&u), "&error=missing_email&field=email#f") != NULL, "error and field all the same");
		buf_free(&u);
	}
	/* A list is a prefix: after an entry that does not fit, a shorter one
	 * that would is left off too (the list keeps the form's order). */
	{
		static char huge[LIMIT_MAX_FIELD_NAME + 1];
		struct field_error three[3] = {
			{ "missing_field", "first" }, { "too_long", huge }, { "captcha", NULL },
		};

		memset(huge, 'h', LIMIT_MAX_FIELD_NAME);
		memset(base, 'p', LIMIT_MAX_URL - 200);
		base[0] = '/';
		base[LIMIT_MAX_URL - 200] = '\0';
		T(response_failure_url(&u, base, "missing_field", three, 3) == BUF_OK, "prefix");
		errors_param(buf_str(&u), list);
		T_STREQ(list, "missing_field:first", "only the entries before the first that does not fit");
		buf_free(&u);
	}
	/* field= is measured too: a 2000-byte failure URL and a long field name
	 * give error= alone (it once made a 2282-byte Location). */
	{
		static char huge[LIMIT_MAX_FIELD_NAME + 1];
		struct field_error one = { "too_long", huge };

		memset(huge, 'h', LIMIT_MAX_FIELD_NAME);
		memset(base, 'p', 2000);
		base[0] = '/';
		base[2000] = '\0';
		T(response_failure_url(&u, base, "too_long", &one, 1) == BUF_OK, "a long field name");
		T(u.len <= LIMIT_MAX_URL, "within the limit (%zu)", u.len);
		T(strcmp(buf_str(&u) + 2000, "?error=too_long") == 0, "error= alone: %s", buf_str(&u) + 2000);
		buf_free(&u);
	}
	/* field= that ends the URL at LIMIT_MAX_URL fits; one byte more does not,
	 * and error= goes in even after a failure URL at the limit. */
	{
		struct field_error one = { "invalid_email", "email" };
		const char *tail = "?error=invalid_email&field=email#f";
		size_t fill = LIMIT_MAX_URL - strlen(tail) - 1;

		base[0] = '/';
		memset(base + 1, 'p', fill);
		strcpy(base + 1 + fill, "#f");
		T(response_failure_url(&u, base, "invalid_email", &one, 1) == BUF_OK, "field at the limit");
		T(u.len == LIMIT_MAX_URL && strstr(buf_str(&u), tail) != NULL, "field= kept at the limit (%zu)", u.len);
		buf_free(&u);
		memset(base + 1, 'p', fill + 1);
		strcpy(base + 2 + fill, "#f");
		T(response_failure_url(&u, base, "invalid_email", &one, 1) == BUF_OK, "field one over");
		T(strstr(buf_str(&u), "&field=") == NULL && strstr(buf_str(&u), "?error=invalid_email#f") != NULL,
		  "field= left out one byte over");
		buf_free(&u);
		memset(base + 1, 'p', LIMIT_MAX_URL - 1);
		base[LIMIT_MAX_URL] = '\0';
		T(response_failure_url(&u, base, "invalid_email", &one, 1) == BUF_OK, "a base at the limit");
		T(strcmp(buf_str(&u) + LIMIT_MAX_URL, "?error=invalid_email") == 0, "error= all the same");
		buf_free(&u);
	}
	/* Many errors: a prefix of them, within the limit. */
	{
		struct field_error many[LIMIT_MAX_ERRORS];
		char names[LIMIT_MAX_ERRORS][80];
		size_t kept = 0;

		for (size_t i = 0; i < LIMIT_MAX_ERRORS; i++) {
			snprintf(names[i], sizeof names[i], "field_%02zu_%060zu", i, i);
			many[i] = (struct field_error){ "missing_field", names[i] };
		}
		T(response_failure_url(&u, "https://x.example/contact.html#form", "missing_field", many,
		                       LIMIT_MAX_ERRORS) == BUF_OK, "32 errors");
		T(u.len <= LIMIT_MAX_URL, "within the limit (%zu)", u.len);
		errors_param(buf_str(&u), list);
		for (const char *p = list; *p; p += strcspn(p, ","), p += *p == ',') {
			T(strncmp(p, "missing_field:", 14) == 0 && strncmp(p + 14, names[kept], strlen(names[kept])) == 0,
			  "entry %zu in order", kept);
			kept++;
		}
		T(kept > 10 && kept < LIMIT_MAX_ERRORS, "a prefix is kept (%zu)", kept);
		T(strcmp(buf_str(&u) + u.len - 5, "#form") == 0, "the fragment is kept");
		buf_free(&u);
	}
}

/* response_redirect: a 303 only with its Location. */
static void redirects(void)
{
	static const char *const unsafe[] = {
		"https://x/caf\xc3\xa9", "/\xc3\xbc", "https://x/\r\nSet-Cookie: a=1", "/a\x7f", "/a\tb",
	};
	struct response r;

	for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
		response_init(&r);
		T(response_redirect(&r, unsafe[i]) == RESP_EUNSAFE, "redirect %zu refused", i);
		T(r.status == 500 && r.n_headers == 0, "redirect %zu: status and headers unchanged", i);
		response_free(&r);
	}
	response_init(&r);
	T(response_redirect(&r, "https://x/thanks?a=1") == RESP_OK, "redirect");
	T(r.status == 303 && r.n_headers == 1 && strcmp(r.headers[0].name, "Location") == 0 &&
	  strcmp(r.headers[0].value, "https://x/thanks?a=1") == 0, "303 with its Location");
	response_free(&r);
}

int main(void)
{
	struct buf b;
	struct response r;
	char line[256];

	buf_init(&b, 8);
	T(buf_adds(&b, "12345678") == BUF_OK && b.len == 8, "fills to the max");
	T(buf_adds(&b, "9") == BUF_EFULL && b.len == 8, "refuses past the max");
	T(buf_printf(&b, "%d", 1) == BUF_EFULL, "printf past the max");
	buf_free(&b);
	buf_init(&b, 4096);
	T(buf_printf(&b, "%s-%zu", "x", (size_t)3000) == BUF_OK && strcmp(buf_str(&b), "x-3000") == 0, "printf with %%zu");
	buf_free(&b);
	{
		char big[3000];
		memset(big, 'q', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		buf_init(&b, 4096);
		T(buf_printf(&b, "<%s>", big) == BUF_OK && b.len == sizeof big + 1, "printf longer than 1 KiB");
		buf_free(&b);
	}

	buf_init(&b, 1024);
	T(esc_html(&b, "<a href=\"x\">'&'</a>") == BUF_OK, "html");
	T_STREQ(buf_str(&b), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;", "html escaped");
	buf_free(&b);
	T(esc_url_component(&b, "a b&c=d/é~._-") == BUF_OK, "url");
	T_STREQ(buf_str(&b), "a%20b%26c%3Dd%2F%C3%A9~._-", "url escaped");
	buf_free(&b);
	T(esc_header_safe("https://x/y?a=1&b=2"), "plain header value");
	T(!esc_header_safe("a\r\nX: y"), "CRLF refused");
	T(!esc_header_safe("a\nb"), "LF refused");
	T(!esc_header_safe("a\tb"), "tab refused");
	T(!esc_header_safe("caf\xc3\xa9"), "non-ASCII refused");

	response_init(&r);
	r.status = 303;
	T(response_header(&r, "Location", "https://x/\r\nSet-Cookie: a=1") == RESP_EUNSAFE, "unsafe header refused");
	T(response_header(&r, "Location", "https://x/thanks") == RESP_OK, "header added");
	buf_init(&b, 4096);
	T(response_serialise(&r, &b) == RESP_OK, "serialise");
	T(strncmp(buf_str(&b), "Status: 303 See Other\r\nLocation: https://x/thanks\r\n", 50) == 0, "status and header first");
	T(strstr(buf_str(&b), "Set-Cookie") == NULL, "refused header absent");
	T(strcmp(buf_str(&b) + b.len - 4, "\r\n\r\n") == 0, "no body after the blank line");
	buf_free(&b);
	response_reset(&r, 422);
	r.content_type = "text/html; charset=utf-8";
	T(buf_adds(&r.body, "<p>é</p>") == BUF_OK, "body");
	buf_init(&b, 4096);
	T(response_serialise(&r, &b) == RESP_OK, "serialise with body");
	T(strstr(buf_str(&b), "Content-Length: 9\r\n") != NULL, "byte length of the body");
	T(strstr(buf_str(&b), "Status: 422 Unprocessable Content\r\n") == buf_str(&b), "status line");
	buf_free(&b);
	for (int i = 0; i < RESP_MAX_HEADERS; i++)
		T(response_header(&r, "X-A", "1") == RESP_OK, "header %d", i);
	T(response_header(&r, "X-A", "1") == RESP_EFULL, "header table full");
	T(response_redirect(&r, "https://x/thanks") == RESP_EFULL && r.status == 422,
	  "no room for Location: no 303 either");
	response_free(&r);
	redirects();

	log_format(line, sizeof line, LOG_INFO, "a\nb\r\x1b[31m\\ \xc3\xa9 ok");
	T(strstr(line, ": info: a\\x0ab\\x0d\\x1b[31m\\x5c \\xc3\\xa9 ok\n") != NULL, "log escapes controls: %s", line);
	T(strchr(line, '\n') == line + strlen(line) - 1, "one line");
	{
		char longmsg[600];
		memset(longmsg, '\n', sizeof longmsg - 1);
		longmsg[sizeof longmsg - 1] = '\0';
		log_format(line, sizeof line, LOG_ERR, longmsg);
		T(strlen(line) < sizeof line && line[strlen(line) - 1] == '\n', "long escaped message cut, still one line");
	}
	failure_urls();
	T_DONE();
}
