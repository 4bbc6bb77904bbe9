/* test_url.c: the URL grammar and its agreement with libcurl (url.c). */
#include <string.h>

#include "url.h"
#include "t.h"

#define S URL_SOURCE
#define T_ URL_TARGET
#define A URL_ALLOW
#define B URL_API_BASE

/* want: the origin for URL_OK ("" for a path), else NULL. */
static const struct {
	const char *url;
	enum url_rules rules;
	enum url_err err;
	const char *want;
} cases[] = {
	/* Accepted, and how they normalise. */
	{ "https://www.example.com", S, URL_OK, "https://www.example.com" },
	{ "HTTPS://WWW.Example.COM:443/p?q#f", S, URL_OK, "https://www.example.com" },
	{ "http://a.com:80", S, URL_OK, "http://a.com" },
	{ "http://a.com:443", S, URL_OK, "http://a.com:443" },
	{ "https://a.com:080/", S, URL_OK, "https://a.com:80" },
	{ "https://a.com:65535", S, URL_OK, "https://a.com:65535" },
	{ "https://xn--mnchen-3ya.de/", S, URL_OK, "https://xn--mnchen-3ya.de" },
	{ "https://a.com/caf\xc3\xa9", S, URL_OK, "https://a.com" },
	{ "https://a-.b-c.d/%zz", S, URL_OK, "https://a-.b-c.d" },
	{ "https://a.com?q=@", S, URL_OK, "https://a.com" },
	/* Scheme. */
	{ NULL, S, URL_ESCHEME, NULL }, { "", S, URL_ESCHEME, NULL },
	{ "null", S, URL_ESCHEME, NULL }, { "ftp://a.com", S, URL_ESCHEME, NULL },
	{ "javascript:alert(1)", S, URL_ESCHEME, NULL }, { "https:/x", S, URL_ESCHEME, NULL },
	{ "https:x", S, URL_ESCHEME, NULL }, { "//a.com", S, URL_ESCHEME, NULL },
	{ "httpx://a.com", S, URL_ESCHEME, NULL },
	/* User info, in every spelling. */
	{ "https://user@a.com", S, URL_EUSER, NULL }, { "https://u:pw@a.com", S, URL_EUSER, NULL },
	{ "http://a.com@b.com", S, URL_EUSER, NULL }, { "https://@a.com", S, URL_EUSER, NULL },
	{ "https://a.com:1@b.com/", T_, URL_EUSER, NULL },
	/* Backslashes, white space, control and non-ASCII bytes. */
	{ "https://a.com\\@b.com", S, URL_EBACKSLASH, NULL },
	{ "https://a.com/\\x", S, URL_EBACKSLASH, NULL }, { "/\\evil.com", T_, URL_EBACKSLASH, NULL },
	{ "https://a .com", S, URL_EBYTES, NULL }, { "https://a.com/a b", S, URL_EBYTES, NULL },
	{ " https://a.com", S, URL_EBYTES, NULL }, { "https://a.com\r\nX: y", S, URL_EBYTES, NULL },
	{ "https://a.com/\x7f", S, URL_EBYTES, NULL }, { "https://a.com/\x01", S, URL_EBYTES, NULL },
	{ "https://a.com/\t", S, URL_EBYTES, NULL },
	{ "https://a.com/caf\xc3\xa9", T_, URL_EBYTES, NULL },
	{ "/caf\xc3\xa9", T_, URL_EBYTES, NULL },
	/* Hosts. */
	{ "https://m\xc3\xbcnchen.de", S, URL_EHOST, NULL },   /* IDN: punycode only */
	{ "https://ex%61mple.com", S, URL_EHOST, NULL },       /* curl would decode it */
	{ "https://exa%2fmple.com", S, URL_EHOST, NULL },
	{ "https://", S, URL_EHOST, NULL }, { "https:///x", S, URL_EHOST, NULL },
	{ "https:////a.com", S, URL_EHOST, NULL }, { "https://?x", S, URL_EHOST, NULL },
	{ "https://a.com.", S, URL_EHOST, NULL }, { "https://.a.com", S, URL_EHOST, NULL },
	{ "https://a..com", S, URL_EHOST, NULL }, { "https://a_b.com", S, URL_EHOST, NULL },
	{ "https://[::1]", S, URL_EHOST, NULL }, { "https://[::1]/", T_, URL_EHOST, NULL },
	{ "https://*.a.com", S, URL_EHOST, NULL },
	/* Hosts curl reads as another address than written. */
	{ "https://127.1/", S, URL_EHOST, NULL }, { "http://0x7f.0.0.1/", S, URL_EHOST, NULL },
	{ "https://2130706433/", S, URL_EHOST, NULL }, { "https://0/", S, URL_EHOST, NULL },
	/* Ports. */
	{ "https://a.com:", S, URL_EHOST, NULL }, { "https://a.com:/x", S, URL_EHOST, NULL },
	{ "https://a.com:0", S, URL_EHOST, NULL }, { "https://a.com:65536", S, URL_EHOST, NULL },
	{ "https://a.com:99999", S, URL_EHOST, NULL }, { "https://a.com:123456", S, URL_EHOST, NULL },
	{ "https://a.com:+80", S, URL_EHOST, NULL }, { "https://a.com:-1", S, URL_EHOST, NULL },
	{ "https://a.com:8a", S, URL_EHOST, NULL }, { "https://a.com:80:80", S, URL_EHOST, NULL },
	/* Redirect targets. */
	{ "/thanks.html", T_, URL_OK, "" }, { "/", T_, URL_OK, "" },
	{ "/a/b?x=1#y", T_, URL_OK, "" }, { "https://a.com/x?y#z", T_, URL_OK, "https://a.com" },
	{ "//evil.com", T_, URL_ESLASHES, NULL }, { "///evil.com", T_, URL_ESLASHES, NULL },
	{ "thanks.html", T_, URL_ESCHEME, NULL }, { "/thanks.html", S, URL_ESCHEME, NULL },
	/* Allow-list entries. */
	{ "https://www.example.com", A, URL_OK, "https://www.example.com" },
	{ "HTTP://Example.COM:8080", A, URL_OK, "http://example.com:8080" },
	{ "https://*.example.com", A, URL_OK, "https://example.com" },
	{ "https://*.example.com:8443", A, URL_OK, "https://example.com:8443" },
	{ "https://www.example.com/", A, URL_EPATH, NULL }, { "https://a.com?x", A, URL_EPATH, NULL },
	{ "https://a.com#x", A, URL_EPATH, NULL },
	{ "https://*.com", A, URL_EWILDCARD, NULL }, { "https://www.*.example.com", A, URL_EWILDCARD, NULL },
	{ "https://*", A, URL_EWILDCARD, NULL }, { "https://*.", A, URL_EHOST, NULL },
	{ "https://**.a.com", A, URL_EWILDCARD, NULL }, { "https://*.*.a.com", A, URL_EWILDCARD, NULL },
	{ "https://*a.com", A, URL_EWILDCARD, NULL }, { "https://*.a.com:*", A, URL_EWILDCARD, NULL },
	{ "https://user@a.com", A, URL_EUSER, NULL }, { "ftp://a.com", A, URL_ESCHEME, NULL },
	{ "https://a.com:0", A, URL_EHOST, NULL }, { "https://[::1]", A, URL_EHOST, NULL },
	/* API bases. */
	{ "https://acme.myfreshworks.com/crm/sales/api", B, URL_OK, "https://acme.myfreshworks.com" },
	{ "http://127.0.0.1:8080/x", B, URL_OK, "http://127.0.0.1:8080" },
	{ "http://127.255.0.1", B, URL_OK, "http://127.255.0.1" },
	{ "http://LOCALHOST/", B, URL_OK, "http://localhost" },
	{ "http://[::1]:80/x", B, URL_OK, "http://[::1]" },
	{ "https://[2001:db8::1]/x", B, URL_OK, "https://[2001:db8::1]" },
	{ "https://[2001:0DB8::1]/x", B, URL_OK, "https://[2001:0db8::1]" },
	{ "http://example.com/", B, URL_EPLAIN, NULL }, { "http://localhost.evil.com/", B, URL_EPLAIN, NULL },
	{ "http://127.0.0.1.evil.com/", B, URL_EPLAIN, NULL }, { "http://128.0.0.1/", B, URL_EPLAIN, NULL },
	{ "http://127.0.0.256/", B, URL_EPLAIN, NULL }, { "http://[::2]/", B, URL_EPLAIN, NULL },
	{ "http://[0::1]/", B, URL_EPLAIN, NULL },     /* loopback only as written: [::1] */
	{ "http://127.0.0.01/", B, URL_EHOST, NULL }, { "http://127.1/", B, URL_EHOST, NULL },
	{ "https://[fe80::1%25eth0]/", B, URL_EHOST, NULL }, { "https://[::1/", B, URL_EHOST, NULL },
	{ "https://[]/", B, URL_EHOST, NULL }, { "https://[g::1]/", B, URL_EHOST, NULL },
	{ "https://[::1]x/", B, URL_EHOST, NULL },
	{ "https://h/?q=1", B, URL_EQUERY, NULL }, { "https://h/#f", B, URL_EQUERY, NULL },
	{ "https://h/a@b", B, URL_EUSER, NULL }, { "https://h/\xc3\xa9", B, URL_EBYTES, NULL },
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct url u = { .host = "untouched" };
		enum url_err e = url_parse(cases[i].url, cases[i].rules, &u);
		char o[300];

		T(e == cases[i].err, "url_parse(%s, %d) = %d, want %d", cases[i].url ? cases[i].url : "NULL",
		  (int)cases[i].rules, (int)e, (int)cases[i].err);
		if (e != URL_OK || cases[i].err != URL_OK) {
			T(strcmp(u.host, "untouched") == 0, "out left alone on error: %s", cases[i].url);
			continue;
		}
		if (!u.host[0])
			strcpy(o, "");
		else
			T(url_origin(&u, o, sizeof o), "origin of %s fits", cases[i].url);
		T_STREQ(o, cases[i].want, "origin of %s", cases[i].url);
	}
}

/* Lengths: LIMIT_MAX_URL bytes pass, one more does not; labels and hosts. */
static void test_lengths(void)
{
	char url[LIMIT_MAX_URL + 2], host[URL_MAX_HOST + 2], o[16];
	struct url u;

	memset(url, 'a', sizeof url);
	memcpy(url, "https://a.com/", 14);
	url[LIMIT_MAX_URL] = '\0';
	T(url_parse(url, URL_SOURCE, NULL) == URL_OK, "LIMIT_MAX_URL bytes");
	url[LIMIT_MAX_URL] = 'a';
	url[LIMIT_MAX_URL + 1] = '\0';
	T(url_parse(url, URL_SOURCE, NULL) == URL_ELONG, "one byte over LIMIT_MAX_URL");
	url[0] = '/';
	T(url_parse(url, URL_TARGET, NULL) == URL_ELONG, "an overlong path");

	memset(host, 'a', sizeof host);
	T(url_host_name(host, 63), "a 63-byte label");
	T(!url_host_name(host, 64), "a 64-byte label");
	for (size_t i = 63; i < sizeof host; i += 64)
		host[i] = '.';
	T(url_host_name(host, URL_MAX_HOST), "a 253-byte name");
	T(!url_host_name(host, URL_MAX_HOST + 1), "a 254-byte name");
	T(!url_host_name("", 0) && !url_host_name(".", 1) && !url_host_name("a.", 2) &&
	  !url_host_name("a b", 3) && url_host_name("a-b.c", 5), "host names");

	memcpy(url, "https://", 8);
	memcpy(url + 8, host, URL_MAX_HOST);
	url[8 + URL_MAX_HOST] = '\0';
	T(url_parse(url, URL_SOURCE, &u) == URL_OK && strlen(u.host) == URL_MAX_HOST,
	  "a URL with the longest host");
	T(!url_origin(&u, o, sizeof o), "url_origin says when it does not fit");
	url[8 + 63] = 'a';
	T(url_parse(url, URL_SOURCE, NULL) == URL_EHOST, "a URL with a 127-byte label");
}

static void test_strerror(void)
{
	for (int e = URL_OK; e <= URL_ENOMEM; e++) {
		const char *s = url_strerror((enum url_err)e);

		T(s && *s, "strerror(%d)", e);
		for (int f = URL_OK; f < e; f++)
			T(strcmp(s, url_strerror((enum url_err)f)) != 0, "strerror(%d) != (%d)", e, f);
	}
	T(strcmp(url_strerror((enum url_err)99), "is not a valid URL") == 0, "strerror unknown");
}

int main(void)
{
	test_table();
	test_lengths();
	test_strerror();
	T_DONE();
}
