/*
 * test_cookie.c: reading one cookie from the Cookie header (cookie.c).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "fmgate_limits.h"
#include "t.h"

struct cookie_case {
	const char *header;
	const char *name;
	size_t max_len;
	const char *want;   /* NULL: no value */
};

#define MAXC LIMIT_MAX_COOKIE_VALUE

/* No value for `name`; a wrong value is freed, not leaked. */
static bool absent(const char *header, const char *name, size_t max_len)
{
	char *v = cookie_get(header, name, max_len);
	bool none = v == NULL;

	if (v)
		printf("  got \"%s\", want none\n", v);
	free(v);
	return none;
}

static void test_table(void)
{
	static const struct cookie_case cases[] = {
		/* analytics.js */
		{ "ajs_user_id=%22user-42%22", "ajs_user_id", MAXC, "user-42" },
		{ "_ga=GA1.2.3.4; ajs_anonymous_id=%22a80b66d5-b86d-41bd-866f-fe04ee7841af%22; "
		  "ajs_user_id=%22user-42%22", "ajs_anonymous_id", MAXC,
		  "a80b66d5-b86d-41bd-866f-fe04ee7841af" },
		{ "ajs_user_id=\"user-42\"", "ajs_user_id", MAXC, "user-42" },
		{ "ajs_user_id=user-42", "ajs_user_id", MAXC, "user-42" },
		/* separators and white space */
		{ "a=1; b=2", "a", MAXC, "1" },
		{ "a=1; b=2", "b", MAXC, "2" },
		{ "a=1;b=2", "b", MAXC, "2" },
		{ "  a = 1 ;   b=2  ", "a", MAXC, "1" },
		{ "  a = 1 ;   b=2  ", "b", MAXC, "2" },
		{ "a=1;\tb=2\t", "b", MAXC, "2" },
		{ ";;a=1;;", "a", MAXC, "1" },
		{ "flag; a=1", "a", MAXC, "1" },      /* a piece without '=' is skipped */
		{ "a=b=c", "a", MAXC, "b=c" },
		/* exact, case-sensitive names */
		{ "a=1", "b", MAXC, NULL },
		{ "ab=1", "a", MAXC, NULL },
		{ "xa=1", "a", MAXC, NULL },
		{ "A=1", "a", MAXC, NULL },
		{ "a=1", "a=", MAXC, NULL },
		{ "a b=1", "b", MAXC, NULL },
		/* the first match decides */
		{ "a=1; a=2", "a", MAXC, "1" },
		{ "a=; a=2", "a", MAXC, NULL },
		{ "a=%zz; a=2", "a", MAXC, NULL },
		{ "a; a=2", "a", MAXC, "2" },         /* "a" alone is no cookie called a */
		/* quotes: one pair, from the decoded value */
		{ "a=\"abc\"", "a", MAXC, "abc" },
		{ "a=%22abc%22", "a", MAXC, "abc" },
		{ "a=%22abc\"", "a", MAXC, "abc" },
		{ "a=\"\"abc\"\"", "a", MAXC, "\"abc\"" },
		{ "a=\"abc", "a", MAXC, "\"abc" },
		{ "a=abc\"", "a", MAXC, "abc\"" },
		{ "a=%22abc", "a", MAXC, "\"abc" },
		{ "a=\"", "a", MAXC, "\"" },
		{ "a=\"\"", "a", MAXC, NULL },
		{ "a=%22%22", "a", MAXC, NULL },
		{ "a=\" x \"", "a", MAXC, " x " },
		/* decoding: '+' is not a space */
		{ "a=x+y", "a", MAXC, "x+y" },
		{ "a=x%20y", "a", MAXC, "x y" },
		{ "a=caf%C3%A9", "a", MAXC, "caf\xc3\xa9" },
		{ "a=caf\xc3\xa9", "a", MAXC, "caf\xc3\xa9" },
		{ "a=%7B%22k%22%3A1%7D", "a", MAXC, "{\"k\":1}" },
		{ "a=%", "a", MAXC, NULL },
		{ "a=%4", "a", MAXC, NULL },
		{ "a=%zz", "a", MAXC, NULL },
		{ "a=1%", "a", MAXC, NULL },
		{ "a=%00", "a", MAXC, NULL },
		{ "a=%22%00%22", "a", MAXC, NULL },
		{ "a=%C0%80", "a", MAXC, NULL },
		{ "a=%E0%80%80", "a", MAXC, NULL },
		{ "a=%ED%A0%80", "a", MAXC, NULL },
		{ "a=%F4%90%80%80", "a", MAXC, NULL },
		{ "a=%C3", "a", MAXC, NULL },
		{ "a=\xff", "a", MAXC, NULL },
		/* empty */
		{ "a=", "a", MAXC, NULL },
		{ "a=  ", "a", MAXC, NULL },
		{ "", "a", MAXC, NULL },
		{ "a=1", "", MAXC, NULL },
		/* max_len, after decoding and unquoting */
		{ "a=abcd", "a", 4, "abcd" },
		{ "a=abcde", "a", 4, NULL },
		{ "a=%22abcd%22", "a", 4, "abcd" },
		{ "a=%22abcde%22", "a", 4, NULL },
		{ "a=%41%42%43%44", "a", 4, "ABCD" },
		{ "a=%C3%A9%C3%A9", "a", 4, "\xc3\xa9\xc3\xa9" },
		{ "a=%C3%A9%C3%A9x", "a", 4, NULL },
		{ "a=x", "a", 0, NULL },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct cookie_case *c = &cases[i];
		char *v = cookie_get(c->header, c->name, c->max_len);

		T_STREQ(v, c->want, "cookie case %zu: \"%s\" name \"%s\"", i, c->header, c->name);
		free(v);
	}
	T(absent(NULL, "a", MAXC), "NULL header");
	T(absent("a=1", NULL, MAXC), "NULL name");
}

/* A header of `len` bytes that ends with "; a=1" (or holds it at the start). */
static char *header_of(size_t len, bool target_last)
{
	const char *target = "a=1";
	size_t tlen = strlen(target);
	char *h = malloc(len + 1);

	if (!h || len < tlen + 2 + 4)
		abort();
	if (target_last) {
		/* "p=xxxx...; a=1" */
		memcpy(h, "p=", 2);
		memset(h + 2, 'x', len - 2 - 2 - tlen);
		memcpy(h + len - 2 - tlen, "; ", 2);
		memcpy(h + len - tlen, target, tlen);
	} else {
		/* "a=1; p=xxxx..." */
		memcpy(h, target, tlen);
		memcpy(h + tlen, "; p=", 4);
		memset(h + tlen + 4, 'x', len - tlen - 4);
	}
	h[len] = '\0';
	return h;
}

static void test_header_limit(void)
{
	char *h, *v;

	/* A cookie wholly before the cut is found, however long the header. */
	h = header_of(LIMIT_MAX_HEADER * 4, false);
	v = cookie_get(h, "a", MAXC);
	T_STREQ(v, "1", "first cookie of a huge header");
	free(v);
	T(absent(h, "p", MAXC), "a cookie cut by the limit is absent");
	free(h);

	/* The last cookie: found when the header is one byte short of the limit,
	 * absent when it reaches the limit (it may have been cut there). */
	h = header_of(LIMIT_MAX_HEADER - 1, true);
	v = cookie_get(h, "a", MAXC);
	T_STREQ(v, "1", "last cookie, header LIMIT_MAX_HEADER - 1 bytes");
	free(v);
	free(h);
	h = header_of(LIMIT_MAX_HEADER, true);
	T(absent(h, "a", MAXC), "last cookie, header LIMIT_MAX_HEADER bytes");
	free(h);
	h = header_of(LIMIT_MAX_HEADER + 1, true);
	T(absent(h, "a", MAXC), "last cookie past the limit");
	free(h);

	/* A long value: at max_len and one past. */
	{
		char buf[LIMIT_MAX_COOKIE_VALUE + 16];

		memcpy(buf, "a=", 2);
		memset(buf + 2, 'v', LIMIT_MAX_COOKIE_VALUE);
		buf[2 + LIMIT_MAX_COOKIE_VALUE] = '\0';
		v = cookie_get(buf, "a", LIMIT_MAX_COOKIE_VALUE);
		T(v && strlen(v) == LIMIT_MAX_COOKIE_VALUE, "value of LIMIT_MAX_COOKIE_VALUE bytes");
		free(v);
		buf[2 + LIMIT_MAX_COOKIE_VALUE] = 'v';
		buf[3 + LIMIT_MAX_COOKIE_VALUE] = '\0';
		T(absent(buf, "a", LIMIT_MAX_COOKIE_VALUE), "value one byte too long");
	}
}

int main(void)
{
	test_table();
	test_header_limit();
	T_DONE();
}
