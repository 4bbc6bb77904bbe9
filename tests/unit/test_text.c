/*
 * test_text.c: the strict string helpers of text.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "text.h"

/* <limits.h> would be src/limits.h here (-Isrc); the cases are 64-bit. */
_Static_assert(sizeof(long long) == sizeof(int64_t), "long long is 64 bits");
#define LL_MIN INT64_MIN
#define LL_MAX INT64_MAX

/* Byte strings carry their length: some hold NUL. */
#define B(s) s, sizeof(s) - 1

struct utf8_case {
	const char *s;
	size_t len;
	bool valid;
	const char *what;
};

static void test_utf8(void)
{
	static const struct utf8_case cases[] = {
		{ B(""), true, "empty" },
		{ B("hello"), true, "ASCII" },
		{ B("\x01\x1f\x7f"), true, "controls other than NUL" },
		{ B("a\0b"), false, "embedded NUL" },
		{ B("\0"), false, "lone NUL" },
		{ B("\xc2\x80"), true, "U+0080, smallest 2-byte" },
		{ B("\xc3\xa9"), true, "e acute" },
		{ B("\xdf\xbf"), true, "U+07FF" },
		{ B("\xe0\xa0\x80"), true, "U+0800, smallest 3-byte" },
		{ B("\xe2\x82\xac"), true, "euro sign" },
		{ B("\xed\x9f\xbf"), true, "U+D7FF, just below surrogates" },
		{ B("\xee\x80\x80"), true, "U+E000, just above surrogates" },
		{ B("\xef\xbf\xbf"), true, "U+FFFF" },
		{ B("\xf0\x90\x80\x80"), true, "U+10000, smallest 4-byte" },
		{ B("\xf0\x9f\x98\x80"), true, "emoji" },
		{ B("\xf4\x8f\xbf\xbf"), true, "U+10FFFF" },
		{ B("\xc0\x80"), false, "overlong NUL (C0 80)" },
		{ B("\xc1\xbf"), false, "overlong 2-byte (C1)" },
		{ B("\xe0\x80\x80"), false, "overlong 3-byte NUL" },
		{ B("\xe0\x9f\xbf"), false, "overlong 3-byte U+07FF" },
		{ B("\xf0\x80\x80\x80"), false, "overlong 4-byte NUL" },
		{ B("\xf0\x8f\xbf\xbf"), false, "overlong 4-byte U+FFFF" },
		{ B("\xed\xa0\x80"), false, "surrogate U+D800" },
		{ B("\xed\xbf\xbf"), false, "surrogate U+DFFF" },
		{ B("\xf4\x90\x80\x80"), false, "U+110000" },
		{ B("\xf5\x80\x80\x80"), false, "lead byte F5" },
		{ B("\xff"), false, "byte FF" },
		{ B("\xfe"), false, "byte FE" },
		{ B("\x80"), false, "lone continuation" },
		{ B("a\xbf"), false, "continuation after ASCII" },
		{ B("\xc3"), false, "truncated 2-byte" },
		{ B("\xe2\x82"), false, "truncated 3-byte" },
		{ B("\xf0\x9f\x98"), false, "truncated 4-byte" },
		{ B("\xc3\x41"), false, "lead byte then ASCII" },
		{ B("\xe2\x82\xac\xe2"), false, "valid then truncated" },
		{ B("\xe2\x28\xa1"), false, "bad second byte" },
		{ B("\xc3\xa9\xc3\xa9"), true, "two sequences" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		T(text_utf8_valid(cases[i].s, cases[i].len) == cases[i].valid,
		  "utf8 %s: want %s", cases[i].what, cases[i].valid ? "valid" : "invalid");
}

struct dec_case {
	const char *src;
	size_t len;
	bool plus;
	long want_len;      /* -1: refused */
	const char *want;   /* when want_len >= 0 */
};

static void test_urldecode(void)
{
	static const struct dec_case cases[] = {
		{ B(""), true, 0, "" },
		{ B("abc"), true, 3, "abc" },
		{ B("a+b"), true, 3, "a b" },
		{ B("a+b"), false, 3, "a+b" },
		{ B("%2B"), true, 1, "+" },
		{ B("%41%42"), false, 2, "AB" },
		{ B("%4a%4A"), false, 2, "JJ" },
		{ B("%25"), false, 1, "%" },
		{ B("%2525"), false, 3, "%25" },
		{ B("%C3%A9t%C3%A9"), true, 5, "\xc3\xa9t\xc3\xa9" },
		{ B("%0D%0A"), true, 2, "\r\n" },
		{ B("%C0%80"), true, 2, "\xc0\x80" },  /* UTF-8 is not its business */
		{ B("%"), true, -1, NULL },
		{ B("%4"), true, -1, NULL },
		{ B("a%4"), true, -1, NULL },
		{ B("%zz"), true, -1, NULL },
		{ B("%4g"), true, -1, NULL },
		{ B("%g4"), true, -1, NULL },
		{ B("100%"), true, -1, NULL },
		{ B("%%41"), true, -1, NULL },
		{ B("% 41"), true, -1, NULL },
		{ B("%00"), true, -1, NULL },
		{ B("a%00b"), true, -1, NULL },
		{ B("a\0b"), true, -1, NULL },
		{ "%41", 2, true, -1, NULL },   /* the length, not a NUL, ends the input */
		{ "%41", 1, true, -1, NULL },
		{ "ab%41", 2, true, 2, "ab" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct dec_case *c = &cases[i];
		char *dst = malloc(c->len + 1);
		long n;

		if (!dst)
			abort();
		memset(dst, 'x', c->len + 1);
		n = text_urldecode(c->src, c->len, dst, c->plus);
		T(n == c->want_len, "urldecode case %zu: got %ld, want %ld", i, n, c->want_len);
		if (n >= 0 && c->want_len >= 0) {
			T((size_t)n == strlen(c->want) && memcmp(dst, c->want, (size_t)n) == 0,
			  "urldecode case %zu: bytes", i);
			T(dst[n] == '\0', "urldecode case %zu: NUL-terminated", i);
		}
		free(dst);
	}
}

struct check_case {
	const char *src;
	size_t len;
	bool plus;
	bool ok;
	size_t want_len;
};

static void test_urldecode_check(void)
{
	static const struct check_case cases[] = {
		{ B(""), true, true, 0 },
		{ B("a+b"), true, true, 3 },
		{ B("%41%42c"), true, true, 3 },
		{ B("J%C3%BCrgen"), true, true, 7 },
		{ B("\xc3%A9"), true, true, 2 },  /* raw lead byte, escaped continuation */
		{ B("%F0%9F%98%80"), true, true, 4 },
		{ B("%"), true, false, 0 },
		{ B("%4"), true, false, 0 },
		{ B("%zz"), true, false, 0 },
		{ B("%00"), true, false, 0 },
		{ B("a\0"), true, false, 0 },
		{ B("%C0%80"), true, false, 0 },
		{ B("%C1%BF"), true, false, 0 },
		{ B("%E0%80%80"), true, false, 0 },
		{ B("%F0%80%80%80"), true, false, 0 },
		{ B("%ED%A0%80"), true, false, 0 },
		{ B("%ED%BF%BF"), true, false, 0 },
		{ B("%F4%90%80%80"), true, false, 0 },
		{ B("%C3"), true, false, 0 },
		{ B("%E2%82"), true, false, 0 },
		{ B("%F0%9F%98"), true, false, 0 },
		{ B("%FF"), true, false, 0 },
		{ B("\xff"), true, false, 0 },
		{ "%41", 2, true, false, 0 },
		{ "%C3%A9", 3, true, false, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct check_case *c = &cases[i];
		size_t n = 12345;
		bool ok = text_urldecode_check(c->src, c->len, c->plus, &n);

		T(ok == c->ok, "urldecode_check case %zu: want %s", i, c->ok ? "ok" : "refused");
		if (ok && c->ok)
			T(n == c->want_len, "urldecode_check case %zu: length %zu, want %zu",
			  i, n, c->want_len);
	}
	/* The checked length is enough room for the decoding. */
	{
		const char src[] = "%41%42%43+d";
		size_t n = 0;
		char *dst;

		T(text_urldecode_check(src, strlen(src), true, &n) && n == 5, "check length 5");
		dst = malloc(n + 1);
		if (!dst)
			abort();
		T(text_urldecode(src, strlen(src), dst, true) == 5, "decode into checked size");
		T_STREQ(dst, "ABC d", "decode into checked size: bytes");
		free(dst);
	}
}

struct str_case {
	const char *in;
	const char *want;
};

static void test_trim_lower_ieq(void)
{
	static const struct str_case trims[] = {
		{ "", "" },
		{ "   ", "" },
		{ "a", "a" },
		{ " a ", "a" },
		{ "\t\r\n\f\va b\v\f\n\r\t", "a b" },
		{ "ab  ", "ab" },
		{ "  ab", "ab" },
		{ "a  b", "a  b" },
		{ "\xc2\xa0x", "\xc2\xa0x" },  /* only ASCII white space */
	};
	static const struct str_case lowers[] = {
		{ "", "" },
		{ "AbC-Z09@[`{", "abc-z09@[`{" },
		{ "\xc3\x89T\xc3\x89", "\xc3\x89t\xc3\x89" },  /* non-ASCII untouched */
	};
	char buf[64];

	for (size_t i = 0; i < sizeof trims / sizeof trims[0]; i++) {
		T(text_copy(buf, sizeof buf, trims[i].in), "trim copy %zu", i);
		T(text_trim(buf) == buf, "trim returns s %zu", i);
		T_STREQ(buf, trims[i].want, "trim case %zu", i);
	}
	for (size_t i = 0; i < sizeof lowers / sizeof lowers[0]; i++) {
		T(text_copy(buf, sizeof buf, lowers[i].in), "lower copy %zu", i);
		T(text_ascii_lower(buf) == buf, "lower returns s %zu", i);
		T_STREQ(buf, lowers[i].want, "lower case %zu", i);
	}
	T(text_ieq("", ""), "ieq empty");
	T(text_ieq("Content-Type", "content-type"), "ieq mixed case");
	T(text_ieq("ABC", "abc"), "ieq upper/lower");
	T(!text_ieq("abc", "abcd"), "ieq prefix");
	T(!text_ieq("abcd", "abc"), "ieq longer");
	T(!text_ieq("abc", "abd"), "ieq differ");
	T(!text_ieq("a", ""), "ieq vs empty");
	T(!text_ieq("\xc3\xa9", "\xc3\x89"), "ieq is ASCII only");
	T(!text_ieq("@", "`"), "ieq: @ and ` are not a case pair");
}

struct ll_case {
	const char *s;
	long long min, max;
	bool ok;
	long long want;
};

static void test_parse_ll(void)
{
	static const struct ll_case cases[] = {
		{ "0", 0, 10, true, 0 },
		{ "-0", -5, 5, true, 0 },
		{ "42", LL_MIN, LL_MAX, true, 42 },
		{ "-42", LL_MIN, LL_MAX, true, -42 },
		{ "007", 0, 10, true, 7 },
		{ "9223372036854775807", LL_MIN, LL_MAX, true, LL_MAX },
		{ "-9223372036854775808", LL_MIN, LL_MAX, true, LL_MIN },
		{ "9223372036854775808", LL_MIN, LL_MAX, false, 0 },
		{ "-9223372036854775809", LL_MIN, LL_MAX, false, 0 },
		{ "99999999999999999999999", LL_MIN, LL_MAX, false, 0 },
		{ "10", 0, 10, true, 10 },   /* at max */
		{ "11", 0, 10, false, 0 },   /* one past max */
		{ "1", 1, 10, true, 1 },     /* at min */
		{ "0", 1, 10, false, 0 },    /* one below min */
		{ "-1", 0, 10, false, 0 },
		{ "", 0, 10, false, 0 },
		{ "-", 0, 10, false, 0 },
		{ "+5", 0, 10, false, 0 },
		{ "--5", -10, 10, false, 0 },
		{ "-+5", -10, 10, false, 0 },
		{ " 5", 0, 10, false, 0 },
		{ "5 ", 0, 10, false, 0 },
		{ "\t5", 0, 10, false, 0 },
		{ "5\n", 0, 10, false, 0 },
		{ "0x10", 0, 100, false, 0 },
		{ "1e3", 0, 10000, false, 0 },
		{ "1.0", 0, 10, false, 0 },
		{ "12a", 0, 100, false, 0 },
		{ "a12", 0, 100, false, 0 },
		{ "- 5", -10, 10, false, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct ll_case *c = &cases[i];
		long long v = -12345;
		bool ok = text_parse_ll(c->s, c->min, c->max, &v);

		T(ok == c->ok, "parse_ll \"%s\": want %s", c->s, c->ok ? "ok" : "refused");
		if (ok && c->ok)
			T(v == c->want, "parse_ll \"%s\": got %lld, want %lld", c->s, v, c->want);
	}
	{
		long long v = 0;

		T(!text_parse_ll(NULL, 0, 10, &v), "parse_ll NULL");
	}
}

static void test_copy(void)
{
	char buf[4];

	memset(buf, 'x', sizeof buf);
	T(text_copy(buf, sizeof buf, "abc"), "copy exact fit");
	T_STREQ(buf, "abc", "copy exact fit: bytes");
	memset(buf, 'x', sizeof buf);
	T(!text_copy(buf, sizeof buf, "abcd"), "copy one too long");
	T_STREQ(buf, "abc", "copy one too long: truncated and terminated");
	T(!text_copy(buf, sizeof buf, "abcdefghijklmnop"), "copy much too long");
	T_STREQ(buf, "abc", "copy much too long: truncated");
	T(text_copy(buf, sizeof buf, ""), "copy empty");
	T_STREQ(buf, "", "copy empty: bytes");
	T(text_copy(buf, 1, ""), "copy empty into 1");
	T(!text_copy(buf, 1, "a"), "copy into 1");
	T_STREQ(buf, "", "copy into 1: empty result");
	buf[0] = 'q';
	T(!text_copy(buf, 0, ""), "copy into 0");
	T(buf[0] == 'q', "copy into 0 writes nothing");
}

int main(void)
{
	{
		static const char l[] = "a, bb, ccc";
		const char *e = l + sizeof l - 1;

		T(text_list_tail(l, sizeof l - 1, 64, ',') == l, "list tail: fits whole");
		T(text_list_tail(l, sizeof l - 1, 8, ',') == e - 8, "list tail: cut at the sep before the window");
		T(text_list_tail(l, sizeof l - 1, 6, ',') == e - 4, "list tail: cut after a sep in the window");
		T(text_list_tail(l, sizeof l - 1, 3, ',') == NULL, "list tail: the last entry too long");
	}
	{
		static const struct { const char *in, *out; } r[] = {
			{ "plain", "plain" }, { "caf\xc3\xa9", "caf\xc3\xa9" },
			{ "cut \xc3", "cut ?" }, { "cut \xe2\x82", "cut ??" },
			{ "stray \xff byte", "stray ? byte" }, { "\xc0\xaf overlong", "?? overlong" },
			{ "\xed\xa0\x80 surrogate", "??? surrogate" }, { "", "" },
		};
		for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
			char b[64];

			snprintf(b, sizeof b, "%s", r[i].in);
			text_utf8_repair(b);
			T_STREQ(b, r[i].out, "repair case %zu", i);
			T(text_utf8_valid(b, strlen(b)), "repaired case %zu is UTF-8", i);
		}
	}
	test_utf8();
	test_urldecode();
	test_urldecode_check();
	test_trim_lower_ieq();
	test_parse_ll();
	test_copy();
	T_DONE();
}
