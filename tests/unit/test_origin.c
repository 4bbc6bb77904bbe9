/* Origins, allow lists and `_next` targets (origin.c). */
#include "escape.h"
#include "origin.h"
#include "t.h"

static char *list[] = { "https://www.example.com", "https://*.example.org",
                        "http://localhost:8080" };
static struct url urls[3];
static const struct map_form form = { .id = "f", .allow_origins = list, .allow_urls = urls,
                                      .n_allow_origins = 3 };

static const char *norm(const char *url)
{
	static char out[ORIGIN_MAX];
	struct url u;

	return origin_read(url, &u) && url_origin(&u, out, sizeof out) ? out : NULL;
}

/* An origin's verdict against the list; not an origin: not in it. */
static bool in_list(const char *origin)
{
	struct url u;

	return origin_read(origin, &u) && origin_in_list(&form, &u);
}

int main(void)
{
	/* As the mapping loader reads them. */
	for (size_t i = 0; i < 3; i++)
		T(url_parse(list[i], URL_ALLOW, &urls[i]) == URL_OK, "entry %zu read", i);
	static const struct { const char *url, *want; } cases[] = {
		{ "https://www.example.com", "https://www.example.com" },
		{ "https://WWW.Example.COM/path?q#f", "https://www.example.com" },
		{ "HTTPS://www.example.com:443/", "https://www.example.com" },
		{ "http://www.example.com:80", "http://www.example.com" },
		{ "http://localhost:8080/x", "http://localhost:8080" },
		{ "https://a.example.org:8443", "https://a.example.org:8443" },
		{ "null", NULL }, { "", NULL }, { "ftp://x.com", NULL },
		{ "javascript:alert(1)", NULL }, { "https://", NULL },
		{ "https://user@www.example.com", NULL }, { "https://user:pw@www.example.com", NULL },
		{ "https://www.example.com:0", NULL }, { "https://www.example.com:65536", NULL },
		{ "https://www.example.com:", NULL }, { "https://www.example.com:+80", NULL },
		{ "https://[::1]", NULL }, { "https://www.example.com\\@evil.com", NULL },
		{ "https://www.exa mple.com", NULL }, { "https://www.example.com/a b", NULL },
		{ "https://www.example.com\r\nX: y", NULL }, { "https://.example.com", NULL },
		{ "https://example.com.", NULL }, { "https://a..example.org", NULL }, { "//www.example.com", NULL },
		/* Read alike by url.c and libcurl, or refused. */
		{ "https:/www.example.com", NULL }, { "https:///www.example.com", NULL },
		{ "https://ex%61mple.com", NULL }, { "https://127.1", NULL }, { "http://0x7f.0.0.1/", NULL },
		{ "https://www.example.com/caf\xc3\xa9", "https://www.example.com" },
		{ "https://www.example.com:080", "https://www.example.com:80" },
		{ "https://xn--mnchen-3ya.de/", "https://xn--mnchen-3ya.de" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		T_STREQ(norm(cases[i].url), cases[i].want, "origin_read(%s)", cases[i].url);

	static const struct { const char *origin; int in; } m[] = {
		{ "https://www.example.com", 1 }, { "https://a.example.org", 1 },
		{ "https://a.b.example.org", 1 }, { "http://localhost:8080", 1 },
		{ "https://example.org", 0 },        /* wildcard never matches the apex */
		{ "https://evilexample.org", 0 },    /* dot-bounded */
		{ "https://example.org.evil.com", 0 }, { "http://a.example.org", 0 },
		{ "https://a.example.org:8443", 0 }, { "https://example.com", 0 },
		{ "https://www.example.com.evil.com", 0 }, { "http://localhost", 0 },
		{ "https://a-b.example.org", 1 }, { "https://.example.org", 0 }, { "https://a.example.org.", 0 },
		{ "not an origin", 0 },
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		T(in_list(m[i].origin) == (m[i].in != 0), "in_list(%s)", m[i].origin);

	static const struct { const char *next; int ok; } n[] = {
		{ "/thanks.html", 1 }, { "/a/b?x=1#y", 1 }, { "https://www.example.com/ok", 1 },
		{ "https://shop.example.org/", 1 },
		{ "//evil.com", 0 }, { "/\\evil.com", 0 }, { "/a\\b", 0 }, { "https://evil.com/", 0 },
		{ "https://www.example.com@evil.com/", 0 }, { "javascript:alert(1)", 0 },
		{ "thanks.html", 0 }, { "", 0 }, { "/a b", 0 }, { "/a\r\nSet-Cookie: x", 0 },
		{ "/\x7f", 0 }, { "data:text/html,x", 0 }, { "https://example.org/", 0 },
		{ "https://www.example.com:443/x", 1 }, { "https://a.example.org:8443/", 0 },
		{ "///evil.com", 0 }, { "https:/www.example.com/", 0 }, { "https://127.1/", 0 },
		{ "https://www.example.com/caf\xc3\xa9", 0 }, { NULL, 0 },
		/* Non-ASCII anywhere: refused here, where the success URL can
		 * still be chosen, since Location would refuse it after the
		 * submission was delivered. */
		{ "https://shop.example.org/\xc3\xbc", 0 }, { "/\xc3\xbc", 0 },
		{ "https://www.example.com/?q=\xc3\xbc", 0 }, { "https://www.example.com/#\xc3\xbc", 0 },
		{ "/a\x80", 0 }, { "/a\xff", 0 }, { "https://www.ex\xc3\xa4mple.com/", 0 },
		{ "/a%C3%BC", 1 },
	};
	for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
		T(origin_next_allowed(&form, n[i].next) == (n[i].ok != 0), "next(%s)", n[i].next);
		/* What is allowed always goes out as a Location header. */
		T(!origin_next_allowed(&form, n[i].next) || esc_header_safe(n[i].next),
		  "next(%s) allowed only when a header may hold it", n[i].next);
	}
	T_DONE();
}
