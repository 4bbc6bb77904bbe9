/*
 * test_form.c: urlencoded and multipart/form-data parsing (form.c), with the
 * limits at and one past their boundaries.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "t.h"

/* Byte strings carry their length: some hold NUL. */
#define B(s) s, sizeof(s) - 1
#define MAXP 8  /* expected pairs in one table row */

static const struct form_limits LIM = { 65536, 100, 4000 };

/* ---- a small growable buffer for bodies built at run time ---- */

struct sb {
	char *p;
	size_t n, cap;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			abort();
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_rep(struct sb *b, const char *s, size_t count)
{
	for (size_t i = 0; i < count; i++)
		sb_str(b, s);
}

static void sb_free(struct sb *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

/* ---- checking a result against a table row ---- */

/* exp: name, value, name, value, ..., NULL. A value of NULL after a name
 * means too_long (value "" expected). */
struct expect {
	const char *kv[2 * MAXP + 1];
};

static void check_pairs(const char *what, enum form_err got, enum form_err want,
                        const struct form_pairs *p, const struct expect *exp)
{
	size_t n = 0;

	T(got == want, "%s: got %s, want %s", what, form_strerror(got), form_strerror(want));
	if (got != FORM_OK || want != FORM_OK) {
		T(p->n == 0 && p->v == NULL, "%s: out is empty after a failure", what);
		return;
	}
	while (exp->kv[2 * n])
		n++;
	T(p->n == n, "%s: %zu pairs, want %zu", what, p->n, n);
	T(p->cap <= LIM.max_fields, "%s: cap %zu within max_fields", what, p->cap);
	for (size_t i = 0; i < n && i < p->n; i++) {
		const char *v = exp->kv[2 * i + 1];

		T_STREQ(p->v[i].name, exp->kv[2 * i], "%s: name %zu", what, i);
		T_STREQ(p->v[i].value, v ? v : "", "%s: value %zu", what, i);
		T(p->v[i].too_long == (v == NULL), "%s: too_long %zu", what, i);
		T(p->v[i].value_len == strlen(p->v[i].value), "%s: value_len %zu", what, i);
	}
}

/* ---- urlencoded ---- */

struct ue_case {
	const char *body;
	size_t len;
	enum form_err want;
	struct expect exp;
};

static void test_urlencoded_table(void)
{
	static const struct form_limits small = { 65536, 100, 5 };
	static const struct ue_case cases[] = {
		{ B(""), FORM_OK, { { NULL } } },
		{ B("a=1&b=2"), FORM_OK, { { "a", "1", "b", "2", NULL } } },
		{ B("&&a=1&&&b=2&"), FORM_OK, { { "a", "1", "b", "2", NULL } } },
		{ B("&"), FORM_OK, { { NULL } } },
		{ B("a"), FORM_OK, { { "a", "", NULL } } },
		{ B("a="), FORM_OK, { { "a", "", NULL } } },
		{ B("a=b=c"), FORM_OK, { { "a", "b=c", NULL } } },
		{ B("a+b=c+d"), FORM_OK, { { "a b", "c d", NULL } } },
		{ B("%61=%2B%26%3D"), FORM_OK, { { "a", "+&=", NULL } } },
		{ B("first=J%C3%BCrgen&last=M%C3%BCller"), FORM_OK,
		  { { "first", "J\xc3\xbcrgen", "last", "M\xc3\xbcller", NULL } } },
		{ B("n=caf\xc3\xa9"), FORM_OK, { { "n", "caf\xc3\xa9", NULL } } },  /* raw UTF-8 */
		{ B("msg=l1%0D%0Al2"), FORM_OK, { { "msg", "l1\r\nl2", NULL } } },
		{ B("e=%F0%9F%98%80"), FORM_OK, { { "e", "\xf0\x9f\x98\x80", NULL } } },
		{ B("t=a&t=b"), FORM_OK, { { "t", "a", "t", "b", NULL } } },
		/* empty names */
		{ B("=abc"), FORM_EMALFORMED, { { NULL } } },
		{ B("="), FORM_EMALFORMED, { { NULL } } },
		{ B("a=1&=2"), FORM_EMALFORMED, { { NULL } } },
		/* bad escapes, in names and values */
		{ B("%"), FORM_EMALFORMED, { { NULL } } },
		{ B("%4=1"), FORM_EMALFORMED, { { NULL } } },
		{ B("%zz=1"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%4"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%4&b=1"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%zz"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%g0"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=1&b=100%"), FORM_EMALFORMED, { { NULL } } },
		{ "a=%41", 4, FORM_EMALFORMED, { { NULL } } },  /* the length ends the escape */
		/* NUL, decoded or raw */
		{ B("a=%00"), FORM_EMALFORMED, { { NULL } } },
		{ B("a%00=1"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=1\0"), FORM_EMALFORMED, { { NULL } } },
		{ B("a\0=1"), FORM_EMALFORMED, { { NULL } } },
		/* invalid UTF-8 */
		{ B("a=%C0%80"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%C1%BF"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%E0%80%80"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%F0%80%80%80"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%ED%A0%80"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%F4%90%80%80"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%C3"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%E2%82"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%F0%9F%98"), FORM_EMALFORMED, { { NULL } } },
		{ B("a=%C3&b=%A9"), FORM_EMALFORMED, { { NULL } } },  /* no joining across pairs */
		{ B("a=\xff"), FORM_EMALFORMED, { { NULL } } },
		{ B("%C0%80=1"), FORM_EMALFORMED, { { NULL } } },
		{ B("\xed\xa0\x80=1"), FORM_EMALFORMED, { { NULL } } },
		/* a later bad pair spoils the body */
		{ B("a=1&b=2&c=%zz"), FORM_EMALFORMED, { { NULL } } },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct form_pairs p;
		char what[64];
		enum form_err e = form_parse_urlencoded(cases[i].body, cases[i].len, &LIM, &p);

		snprintf(what, sizeof what, "urlencoded case %zu", i);
		check_pairs(what, e, cases[i].want, &p, &cases[i].exp);
		form_pairs_free(&p);
	}

	/* max_value 5: at the limit and one past, counted after decoding */
	{
		static const struct ue_case vcases[] = {
			{ B("a=12345"), FORM_OK, { { "a", "12345", NULL } } },
			{ B("a=123456"), FORM_OK, { { "a", NULL, NULL } } },
			{ B("a=%41%41%41%41%41"), FORM_OK, { { "a", "AAAAA", NULL } } },
			{ B("a=%41%41%41%41%41%41"), FORM_OK, { { "a", NULL, NULL } } },
			{ B("a=%C3%A9%C3%A9x"), FORM_OK, { { "a", "\xc3\xa9\xc3\xa9x", NULL } } },
			{ B("a=%C3%A9%C3%A9%C3%A9"), FORM_OK, { { "a", NULL, NULL } } },
			{ B("a=123456789&b=ok"), FORM_OK, { { "a", NULL, "b", "ok", NULL } } },
			/* too long is no excuse for a bad value */
			{ B("a=123456789%zz"), FORM_EMALFORMED, { { NULL } } },
			{ B("a=123456789%00"), FORM_EMALFORMED, { { NULL } } },
			{ B("a=123456789%C0%80"), FORM_EMALFORMED, { { NULL } } },
			{ B("a=123456789%C3"), FORM_EMALFORMED, { { NULL } } },
		};

		for (size_t i = 0; i < sizeof vcases / sizeof vcases[0]; i++) {
			struct form_pairs p;
			char what[64];
			enum form_err e = form_parse_urlencoded(vcases[i].body, vcases[i].len,
			                                        &small, &p);

			snprintf(what, sizeof what, "urlencoded max_value case %zu", i);
			check_pairs(what, e, vcases[i].want, &p, &vcases[i].exp);
			form_pairs_free(&p);
		}
	}
}

static void test_urlencoded_limits(void)
{
	struct form_pairs p;
	struct sb b = { 0 };
	enum form_err e;

	/* Field name: 256 bytes (decoded) accepted, 257 refused. */
	sb_rep(&b, "n", LIMIT_MAX_FIELD_NAME);
	sb_str(&b, "=v");
	e = form_parse_urlencoded(b.p, b.n, &LIM, &p);
	T(e == FORM_OK && p.n == 1 && strlen(p.v[0].name) == LIMIT_MAX_FIELD_NAME,
	  "name of LIMIT_MAX_FIELD_NAME bytes");
	form_pairs_free(&p);
	sb_free(&b);

	sb_rep(&b, "n", LIMIT_MAX_FIELD_NAME + 1);
	sb_str(&b, "=v");
	e = form_parse_urlencoded(b.p, b.n, &LIM, &p);
	T(e == FORM_EMALFORMED, "name one byte over the limit: %s", form_strerror(e));
	form_pairs_free(&p);
	sb_free(&b);

	/* The name limit counts decoded bytes: 256 escapes are 768 raw bytes. */
	sb_rep(&b, "%41", LIMIT_MAX_FIELD_NAME);
	e = form_parse_urlencoded(b.p, b.n, &LIM, &p);
	T(e == FORM_OK && p.n == 1 && strlen(p.v[0].name) == LIMIT_MAX_FIELD_NAME,
	  "escaped name at the limit");
	form_pairs_free(&p);
	sb_str(&b, "+");
	e = form_parse_urlencoded(b.p, b.n, &LIM, &p);
	T(e == FORM_EMALFORMED, "escaped name one past the limit");
	form_pairs_free(&p);
	sb_free(&b);

	/* Default max_value (4000): at and one past. */
	sb_str(&b, "v=");
	sb_rep(&b, "x", LIM.max_value);
	e = form_parse_urlencoded(b.p, b.n, &LIM, &p);
	T(e == FORM_OK && p.n == 1 && !p.v[0].too_long && p.v[0].value_len == LIM.max_value,
	  "value of max_value bytes");
	form_pairs_free(&p);
	sb_str(&b, "x");
	e = form_parse_urlencoded(b.p, b.n, &LIM, &p);
	T(e == FORM_OK && p.n == 1 && p.v[0].too_long && p.v[0].value_len == 0 &&
	  strcmp(p.v[0].value, "") == 0, "value one past max_value: too_long, empty");
	form_pairs_free(&p);
	sb_free(&b);

	/* max_fields: at, one past, and empty pieces do not count. */
	{
		struct form_limits three = { 65536, 3, 4000 };
		struct form_limits zero = { 65536, 0, 4000 };

		e = form_parse_urlencoded(B("a=1&b=2&c=3"), &three, &p);
		T(e == FORM_OK && p.n == 3 && p.cap == 3, "3 fields with max_fields 3 (cap %zu)", p.cap);
		form_pairs_free(&p);
		e = form_parse_urlencoded(B("a=1&b=2&c=3&d=4"), &three, &p);
		T(e == FORM_ETOOMANY && p.n == 0 && p.v == NULL, "4 fields with max_fields 3");
		form_pairs_free(&p);
		e = form_parse_urlencoded(B("&a=1&&b=2&&&c=3&&"), &three, &p);
		T(e == FORM_OK && p.n == 3, "empty pieces are not fields");
		form_pairs_free(&p);
		/* Counted before anything is decoded: a flood is refused as such. */
		e = form_parse_urlencoded(B("a=%zz&b&c&d"), &three, &p);
		T(e == FORM_ETOOMANY, "count comes first: %s", form_strerror(e));
		form_pairs_free(&p);
		e = form_parse_urlencoded(B(""), &zero, &p);
		T(e == FORM_OK && p.n == 0, "empty body with max_fields 0");
		form_pairs_free(&p);
		e = form_parse_urlencoded(B("a"), &zero, &p);
		T(e == FORM_ETOOMANY, "one field with max_fields 0");
		form_pairs_free(&p);
	}

	/* The default 100 fields: at and one past; the array never outgrows it. */
	for (size_t extra = 0; extra < 2; extra++) {
		size_t n = LIM.max_fields + extra;

		for (size_t i = 0; i < n; i++)
			sb_str(&b, i ? "&f=v" : "f=v");
		e = form_parse_urlencoded(b.p, b.n, &LIM, &p);
		if (extra == 0)
			T(e == FORM_OK && p.n == n && p.cap >= n && p.cap <= LIM.max_fields &&
			  form_count(&p, "f") == n, "%zu fields (cap %zu)", n, p.cap);
		else
			T(e == FORM_ETOOMANY, "%zu fields: %s", n, form_strerror(e));
		form_pairs_free(&p);
		sb_free(&b);
	}

	/* Geometric growth stops at max_fields, not at the next power of two. */
	{
		struct form_limits ten = { 65536, 10, 4000 };

		for (size_t i = 0; i < 10; i++)
			sb_str(&b, "&x");
		e = form_parse_urlencoded(b.p, b.n, &ten, &p);
		T(e == FORM_OK && p.n == 10 && p.cap == 10, "10 of 10 fields: cap %zu", p.cap);
		form_pairs_free(&p);
		sb_free(&b);
	}
}

/* ---- multipart ---- */

#define CT "multipart/form-data; boundary=XyZ"
#define CD "Content-Disposition: form-data; "
#define PART(name, val) "--XyZ\r\n" CD "name=\"" name "\"\r\n\r\n" val "\r\n"
#define END "--XyZ--\r\n"

struct mp_case {
	const char *ct;
	const char *body;
	size_t len;
	enum form_err want;
	struct expect exp;
};

static void test_multipart_table(void)
{
	static const struct mp_case cases[] = {
		{ CT, B(PART("a", "1") PART("b", "2") END), FORM_OK,
		  { { "a", "1", "b", "2", NULL } } },
		/* boundary parameter forms */
		{ "multipart/form-data; boundary=\"XyZ\"", B(PART("a", "1") END), FORM_OK,
		  { { "a", "1", NULL } } },
		{ "multipart/form-data; BOUNDARY=XyZ", B(PART("a", "1") END), FORM_OK,
		  { { "a", "1", NULL } } },
		{ "Multipart/Form-Data;boundary=XyZ", B(PART("a", "1") END), FORM_OK,
		  { { "a", "1", NULL } } },
		{ "  multipart/form-data ; charset=utf-8; boundary=XyZ ", B(PART("a", "1") END),
		  FORM_OK, { { "a", "1", NULL } } },
		{ "multipart/form-data; boundary = XyZ", B(PART("a", "1") END), FORM_OK,
		  { { "a", "1", NULL } } },
		{ "multipart/form-data; foo=\"x;y\"; boundary=XyZ", B(PART("a", "1") END), FORM_OK,
		  { { "a", "1", NULL } } },
		{ "multipart/form-data; boundary=\"a b\"",
		  B("--a b\r\n" CD "name=\"a\"\r\n\r\n1\r\n--a b--"), FORM_OK, { { "a", "1", NULL } } },
		{ "multipart/form-data; boundary=\"'()+_,-./:=?\"",
		  B("--'()+_,-./:=?\r\n" CD "name=\"a\"\r\n\r\n1\r\n--'()+_,-./:=?--"), FORM_OK,
		  { { "a", "1", NULL } } },
		{ "multipart/form-data", B(PART("a", "1") END), FORM_EMALFORMED, { { NULL } } },
		{ "multipart/form-data;", B(PART("a", "1") END), FORM_EMALFORMED, { { NULL } } },
		{ "multipart/form-data; charset=utf-8", B(PART("a", "1") END), FORM_EMALFORMED,
		  { { NULL } } },
		{ "multipart/form-data; boundary=", B(PART("a", "1") END), FORM_EMALFORMED,
		  { { NULL } } },
		{ "multipart/form-data; boundary=\"\"", B(PART("a", "1") END), FORM_EMALFORMED,
		  { { NULL } } },
		{ "multipart/form-data; boundary=XyZ; boundary=XyZ", B(PART("a", "1") END),
		  FORM_EMALFORMED, { { NULL } } },
		{ "multipart/form-data; boundary=\"XyZ", B(PART("a", "1") END), FORM_EMALFORMED,
		  { { NULL } } },
		{ "multipart/form-data; boundary=\"Xy\\Z\"", B(PART("a", "1") END), FORM_EMALFORMED,
		  { { NULL } } },
		{ "multipart/form-data; boundary=\"a@b\"", B("--a@b\r\n" CD "name=\"a\"\r\n\r\n1\r\n--a@b--"),
		  FORM_EMALFORMED, { { NULL } } },
		{ "multipart/form-data; boundary=\"ab \"", B("--ab \r\n" CD "name=\"a\"\r\n\r\n1\r\n--ab --"),
		  FORM_EMALFORMED, { { NULL } } },
		{ "multipart/form-data; boundary=XyZ junk", B(PART("a", "1") END), FORM_EMALFORMED,
		  { { NULL } } },
		/* overall structure */
		{ CT, B("This is a preamble.\r\n" PART("a", "1") END), FORM_OK, { { "a", "1", NULL } } },
		{ CT, B("pre\0amble\r\n" PART("a", "1") END), FORM_OK, { { "a", "1", NULL } } },
		{ CT, B(PART("a", "1") "--XyZ--"), FORM_OK, { { "a", "1", NULL } } },
		{ CT, B(PART("a", "1") "--XyZ--  \r\nepilogue \0 ignored"), FORM_OK,
		  { { "a", "1", NULL } } },
		{ CT, B("--XyZ  \r\n" CD "name=\"a\"\r\n\r\n1\r\n--XyZ\t\r\n" CD "name=\"b\"\r\n\r\n2\r\n" END),
		  FORM_OK, { { "a", "1", "b", "2", NULL } } },
		{ CT, B("--XyZ--\r\n"), FORM_OK, { { NULL } } },
		{ CT, B(""), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("a=1&b=2"), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a", "1")), FORM_EMALFORMED, { { NULL } } },             /* no close */
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\r\n\r\n1"), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\r\n"), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\n"), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ"), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a", "1") "--XyZ--junk"), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZW\r\n" CD "name=\"a\"\r\n\r\n1\r\n" END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\n" CD "name=\"a\"\n\n1\n--XyZ--\n"), FORM_EMALFORMED, { { NULL } } },
		/* RFC 2046: without CRLF before it, "--XyZ" is preamble; only the close follows. */
		{ CT, B("preamble without CRLF--XyZ\r\n" CD "name=\"a\"\r\n\r\n1\r\n" END),
		  FORM_OK, { { NULL } } },
		/* values are raw bytes */
		{ CT, B(PART("a", "%41+b") END), FORM_OK, { { "a", "%41+b", NULL } } },
		{ CT, B(PART("a", "") END), FORM_OK, { { "a", "", NULL } } },
		{ CT, B(PART("a", "l1\r\nl2\r\n") END), FORM_OK, { { "a", "l1\r\nl2\r\n", NULL } } },
		{ CT, B(PART("a", "x--XyZ y") END), FORM_OK, { { "a", "x--XyZ y", NULL } } },
		{ CT, B(PART("a", "x\r\n--Xy") END), FORM_OK, { { "a", "x\r\n--Xy", NULL } } },
		{ CT, B(PART("a", "J\xc3\xbcrgen \xf0\x9f\x98\x80") END), FORM_OK,
		  { { "a", "J\xc3\xbcrgen \xf0\x9f\x98\x80", NULL } } },
		{ CT, B(PART("a", "x\r\n--XyZW") END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a", "x\0y") END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a", "\xc0\x80") END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a", "\xed\xa0\x80") END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a", "\xf4\x90\x80\x80") END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a", "\xe2\x82") END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a", "ok") PART("b", "\xff") END), FORM_EMALFORMED, { { NULL } } },
		/* names */
		{ CT, B(PART("J\xc3\xbcrgen", "1") END), FORM_OK, { { "J\xc3\xbcrgen", "1", NULL } } },
		{ CT, B(PART("a%22b", "1") END), FORM_OK, { { "a%22b", "1", NULL } } },
		{ CT, B(PART("a;b=c", "1") END), FORM_OK, { { "a;b=c", "1", NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=tok_en\r\n\r\n1\r\n" END), FORM_OK, { { "tok_en", "1", NULL } } },
		{ CT, B(PART("t", "a") PART("t", "b") END), FORM_OK, { { "t", "a", "t", "b", NULL } } },
		{ CT, B(PART("", "1") END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a\\", "1") END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\\\"b\"\r\n\r\n1\r\n" END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("\xc0\x80", "1") END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a\0b", "1") END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a\x01b", "1") END), FORM_EMALFORMED, { { NULL } } },  /* CTL in quotes */
		{ CT, B(PART("a\x7f", "1") END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B(PART("a\tb", "1") END), FORM_OK, { { "a\tb", "1", NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\r\n\r\n1\r\n" END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"; name=\"b\"\r\n\r\n1\r\n" END), FORM_EMALFORMED,
		  { { NULL } } },
		/* RFC 2231 names (RFC 7578 forbids them): the part is refused, so
		 * that "name*" can neither name the field nor contradict "name". */
		{ CT, B("--XyZ\r\n" CD "name*=UTF-8''email\r\n\r\n1\r\n" END), FORM_EMALFORMED,
		  { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"; name*=UTF-8''b\r\n\r\n1\r\n" END), FORM_EMALFORMED,
		  { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name*=UTF-8''b; name=\"a\"\r\n\r\n1\r\n" END), FORM_EMALFORMED,
		  { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"; NAME*0=\"b\"; name*1=c\r\n\r\n1\r\n" END),
		  FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"; Name*0* = UTF-8''b\r\n\r\n1\r\n" END),
		  FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"; name*=UTF-8''b c\r\n\r\n1\r\n" END),
		  FORM_EMALFORMED, { { NULL } } },
		/* ...unless it is an upload, whose own refusal comes first. */
		{ CT, B("--XyZ\r\n" CD "name*=UTF-8''b; filename=\"x.txt\"\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "filename=\"x.txt\"; name=\"a\"; name*=UTF-8''b\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"; names=\"b\"; name_=c\r\n\r\n1\r\n" END), FORM_OK,
		  { { "a", "1", NULL } } },
		/* part headers */
		{ CT, B("--XyZ\r\ncontent-disposition:form-data;name=\"a\"\r\n\r\n1\r\n" END), FORM_OK,
		  { { "a", "1", NULL } } },
		{ CT, B("--XyZ\r\nContent-Disposition: FORM-DATA ; NAME = \"a\" ; x=y \r\n\r\n1\r\n" END),
		  FORM_OK, { { "a", "1", NULL } } },
		{ CT, B("--XyZ\r\nX-Other: anything \"at all\r\n" CD "name=\"a\"\r\n\r\n1\r\n" END),
		  FORM_OK, { { "a", "1", NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\r\nContent-Type: text/plain\r\n\r\n1\r\n" END),
		  FORM_OK, { { "a", "1", NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\r\nContent-Type: Text/Plain; charset=UTF-8\r\n\r\n1\r\n" END),
		  FORM_OK, { { "a", "1", NULL } } },
		{ CT, B("--XyZ\r\n\r\n1\r\n" END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\nX-Other: 1\r\n\r\n1\r\n" END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\nContent-Disposition: form-data\r\n\r\n1\r\n" END), FORM_EMALFORMED,
		  { { NULL } } },
		{ CT, B("--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n" END),
		  FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\nContent-Disposition: form-data; name\r\n\r\n1\r\n" END), FORM_EMALFORMED,
		  { { NULL } } },
		{ CT, B("--XyZ\r\nContent-Disposition: form-data; name=\"a\" junk\r\n\r\n1\r\n" END),
		  FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\nContent-Disposition: form-data; name=\"a\";\r\n\r\n1\r\n" END),
		  FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\r\n" CD "name=\"b\"\r\n\r\n1\r\n" END), FORM_EMALFORMED,
		  { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\r\nNo colon here\r\n\r\n1\r\n" END), FORM_EMALFORMED,
		  { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\r\n: no name\r\n\r\n1\r\n" END), FORM_EMALFORMED,
		  { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\r\nBad Name: x\r\n\r\n1\r\n" END), FORM_EMALFORMED,
		  { { NULL } } },
		{ CT, B("--XyZ\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\n1\r\n" END),
		  FORM_EMALFORMED, { { NULL } } },   /* obsolete folding */
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\nX: y\r\n\r\n1\r\n" END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\rX: y\r\n\r\n1\r\n" END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\r\nX: a\0b\r\n\r\n1\r\n" END), FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\r\nContent-Type:\r\n\r\n1\r\n" END), FORM_EMALFORMED,
		  { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"a\"\r\nContent-Type: text/plain\r\nContent-Type: text/plain\r\n\r\n1\r\n" END),
		  FORM_EMALFORMED, { { NULL } } },
		/* files */
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; FILENAME*=UTF-8''a.txt\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "filename=\"C:\\x\\\"\r\n\r\nhi\r\n" END), FORM_EFILE, { { NULL } } },
		/* RFC 2231 continuations and RFC 5987 values, any case, spaces
		 * around '=': an upload by any name is refused, never a value. */
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; filename*0=\"a\"; filename*1=\".txt\"\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; filename*0*=UTF-8''a%20b\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; filename*=UTF-8''x\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; FileName*0 = \"x\"\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; filename = \"x\"\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; FILENAME*1*=%41\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; filename*0*=UTF-8''a b\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },   /* a value no grammar reads: still an upload */
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; filename\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "filename*0=x; name=\"f\"\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		/* Parameters that only start like one are not file names. */
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; filenames=x; file=y; xfilename=z\r\n\r\nhi\r\n" END),
		  FORM_OK, { { "f", "hi", NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; filenam=x\r\n\r\nhi\r\n" END),
		  FORM_OK, { { "f", "hi", NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"; filenamex y\r\n\r\nhi\r\n" END),
		  FORM_EMALFORMED, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B("--XyZ\r\n" CD "name=\"f\"\r\nContent-Type: text/plainx\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		{ CT, B(PART("a", "1") "--XyZ\r\n" CD "name=\"f\"; filename=\"x\"\r\n\r\nhi\r\n" END),
		  FORM_EFILE, { { NULL } } },
		/* A realistic browser body. */
		{ "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
		  B("------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
		    "Content-Disposition: form-data; name=\"email\"\r\n\r\n"
		    "ann@example.com\r\n"
		    "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
		    "Content-Disposition: form-data; name=\"first\"\r\n\r\n"
		    "Ann\r\n"
		    "------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n"),
		  FORM_OK, { { "email", "ann@example.com", "first", "Ann", NULL } } },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct form_pairs p;
		char what[64];
		enum form_err e = form_parse_multipart(cases[i].body, cases[i].len, cases[i].ct,
		                                       &LIM, &p);

		snprintf(what, sizeof what, "multipart case %zu", i);
		check_pairs(what, e, cases[i].want, &p, &cases[i].exp);
		form_pairs_free(&p);
	}
}

/* A multipart body of `count` parts named f, each with value `val`. */
static void mp_body(struct sb *b, size_t count, const char *val)
{
	for (size_t i = 0; i < count; i++) {
		sb_str(b, "--XyZ\r\n" CD "name=\"f\"\r\n\r\n");
		sb_str(b, val);
		sb_str(b, "\r\n");
	}
	sb_str(b, END);
}

static void test_multipart_limits(void)
{
	struct form_pairs p;
	struct sb b = { 0 }, ct = { 0 };
	enum form_err e;

	/* Boundary: 70 characters accepted, 71 refused. */
	for (size_t len = LIMIT_MAX_BOUNDARY; len <= LIMIT_MAX_BOUNDARY + 1; len++) {
		sb_str(&ct, "multipart/form-data; boundary=");
		sb_rep(&ct, "b", len);
		sb_str(&b, "--");
		sb_rep(&b, "b", len);
		sb_str(&b, "\r\n" CD "name=\"a\"\r\n\r\n1\r\n--");
		sb_rep(&b, "b", len);
		sb_str(&b, "--\r\n");
		e = form_parse_multipart(b.p, b.n, ct.p, &LIM, &p);
		if (len == LIMIT_MAX_BOUNDARY)
			T(e == FORM_OK && p.n == 1, "boundary of %zu chars: %s", len, form_strerror(e));
		else
			T(e == FORM_EMALFORMED, "boundary of %zu chars: %s", len, form_strerror(e));
		form_pairs_free(&p);
		sb_free(&b);
		sb_free(&ct);
	}

	/* Part headers: a block of LIMIT_MAX_MULTIPART_HEAD bytes accepted, one more refused. */
	for (size_t extra = 0; extra < 2; extra++) {
		const char *cd = CD "name=\"a\"\r\n";
		size_t pad = LIMIT_MAX_MULTIPART_HEAD - strlen(cd) - strlen("X-Pad: \r\n") + extra;

		sb_str(&b, "--XyZ\r\n");
		sb_str(&b, cd);
		sb_str(&b, "X-Pad: ");
		sb_rep(&b, "p", pad);
		sb_str(&b, "\r\n\r\nv\r\n" END);
		e = form_parse_multipart(b.p, b.n, CT, &LIM, &p);
		if (extra == 0)
			T(e == FORM_OK && p.n == 1, "part head at the limit: %s", form_strerror(e));
		else
			T(e == FORM_EMALFORMED, "part head one past the limit: %s", form_strerror(e));
		form_pairs_free(&p);
		sb_free(&b);
	}

	/* Field name: 256 bytes accepted, 257 refused. */
	for (size_t extra = 0; extra < 2; extra++) {
		sb_str(&b, "--XyZ\r\n" CD "name=\"");
		sb_rep(&b, "n", LIMIT_MAX_FIELD_NAME + extra);
		sb_str(&b, "\"\r\n\r\nv\r\n" END);
		e = form_parse_multipart(b.p, b.n, CT, &LIM, &p);
		if (extra == 0)
			T(e == FORM_OK && p.n == 1 && strlen(p.v[0].name) == LIMIT_MAX_FIELD_NAME,
			  "multipart name at the limit: %s", form_strerror(e));
		else
			T(e == FORM_EMALFORMED, "multipart name one past: %s", form_strerror(e));
		form_pairs_free(&p);
		sb_free(&b);
	}

	/* max_value: at the limit, one past (kept, too_long, empty), and a
	 * too-long value is still checked. */
	{
		struct form_limits five = { 65536, 100, 5 };

		mp_body(&b, 1, "12345");
		e = form_parse_multipart(b.p, b.n, CT, &five, &p);
		T(e == FORM_OK && p.n == 1 && !p.v[0].too_long && strcmp(p.v[0].value, "12345") == 0 &&
		  p.v[0].value_len == 5, "multipart value at max_value");
		form_pairs_free(&p);
		sb_free(&b);
		mp_body(&b, 1, "123456");
		e = form_parse_multipart(b.p, b.n, CT, &five, &p);
		T(e == FORM_OK && p.n == 1 && p.v[0].too_long && strcmp(p.v[0].value, "") == 0 &&
		  p.v[0].value_len == 0, "multipart value one past max_value");
		form_pairs_free(&p);
		sb_free(&b);
		mp_body(&b, 1, "123456\xff");
		e = form_parse_multipart(b.p, b.n, CT, &five, &p);
		T(e == FORM_EMALFORMED, "too long and invalid UTF-8: %s", form_strerror(e));
		form_pairs_free(&p);
		sb_free(&b);
	}

	/* max_fields: at and one past, with the default 100. */
	for (size_t extra = 0; extra < 2; extra++) {
		size_t n = LIM.max_fields + extra;

		mp_body(&b, n, "v");
		e = form_parse_multipart(b.p, b.n, CT, &LIM, &p);
		if (extra == 0)
			T(e == FORM_OK && p.n == n && p.cap <= LIM.max_fields && form_count(&p, "f") == n,
			  "multipart %zu fields (cap %zu)", n, p.cap);
		else
			T(e == FORM_ETOOMANY && p.n == 0 && p.v == NULL,
			  "multipart %zu fields: %s", n, form_strerror(e));
		form_pairs_free(&p);
		sb_free(&b);
	}
}

/* ---- dispatch and lookups ---- */

struct ct_case {
	const char *ct;
	enum form_err want;
};

static void test_dispatch(void)
{
	static const struct ct_case ue[] = {
		{ "application/x-www-form-urlencoded", FORM_OK },
		{ "Application/X-WWW-Form-Urlencoded", FORM_OK },
		{ "application/x-www-form-urlencoded; charset=UTF-8", FORM_OK },
		{ "  application/x-www-form-urlencoded\t ;charset=utf-8", FORM_OK },
		{ NULL, FORM_EUNSUPPORTED },
		{ "", FORM_EUNSUPPORTED },
		{ "   ", FORM_EUNSUPPORTED },
		{ "text/plain", FORM_EUNSUPPORTED },
		{ "application/json", FORM_EUNSUPPORTED },
		{ "application/x-www-form-urlencodedx", FORM_EUNSUPPORTED },
		{ "application/x-www-form", FORM_EUNSUPPORTED },
		{ "application/x-www-form-urlencoded x", FORM_EUNSUPPORTED },
		{ "multipart/mixed; boundary=XyZ", FORM_EUNSUPPORTED },
	};
	struct form_pairs p;
	enum form_err e;

	for (size_t i = 0; i < sizeof ue / sizeof ue[0]; i++) {
		e = form_parse(ue[i].ct, B("a=1"), &LIM, &p);
		T(e == ue[i].want, "dispatch \"%s\": %s", ue[i].ct ? ue[i].ct : "(null)",
		  form_strerror(e));
		if (e == FORM_OK)
			T(p.n == 1 && strcmp(p.v[0].value, "1") == 0, "dispatch \"%s\": pair", ue[i].ct);
		else
			T(p.n == 0 && p.v == NULL, "dispatch \"%s\": out empty", ue[i].ct);
		form_pairs_free(&p);
	}
	e = form_parse("Multipart/Form-Data; boundary=XyZ", B(PART("a", "1") END), &LIM, &p);
	T(e == FORM_OK && p.n == 1, "dispatch multipart: %s", form_strerror(e));
	form_pairs_free(&p);
	e = form_parse(CT, B("a=1"), &LIM, &p);
	T(e == FORM_EMALFORMED, "urlencoded body sent as multipart: %s", form_strerror(e));
	form_pairs_free(&p);
	e = form_parse_multipart(B(PART("a", "1") END),
	                         "application/x-www-form-urlencoded; boundary=XyZ", &LIM, &p);
	T(e == FORM_EUNSUPPORTED, "multipart parser checks the media type: %s", form_strerror(e));
	form_pairs_free(&p);
	e = form_parse_urlencoded(NULL, 0, &LIM, &p);
	T(e == FORM_OK && p.n == 0, "urlencoded NULL, 0");
	form_pairs_free(&p);
	e = form_parse(CT, NULL, 0, &LIM, &p);
	T(e == FORM_EMALFORMED, "multipart NULL, 0: %s", form_strerror(e));
	form_pairs_free(&p);
}

static void test_lookup_and_errors(void)
{
	struct form_pairs p;
	const struct form_pair *fp;
	enum form_err e;

	e = form_parse_urlencoded(B("t=a&x=1&t=b&t=c"), &LIM, &p);
	T(e == FORM_OK, "lookup body");
	T(form_count(&p, "t") == 3, "count t");
	T(form_count(&p, "x") == 1, "count x");
	T(form_count(&p, "y") == 0, "count absent");
	T(form_count(&p, "T") == 0, "names are case-sensitive");
	fp = form_get(&p, "t");
	T(fp && strcmp(fp->value, "a") == 0, "get returns the first");
	T(form_get(&p, "y") == NULL, "get absent");
	T(form_get(NULL, "t") == NULL && form_count(NULL, "t") == 0, "NULL pairs");
	form_pairs_free(&p);
	T(p.n == 0 && p.v == NULL && p.cap == 0, "free resets");
	form_pairs_free(&p);  /* twice is harmless */
	form_pairs_free(NULL);

	{
		static const enum form_err all[] = { FORM_OK, FORM_EMALFORMED, FORM_ETOOMANY,
		                                     FORM_EUNSUPPORTED, FORM_EFILE, FORM_ENOMEM };

		for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
			const char *s = form_strerror(all[i]);

			T(s && *s, "strerror %zu non-empty", i);
			for (size_t j = 0; j < i; j++)
				T(strcmp(s, form_strerror(all[j])) != 0, "strerror %zu and %zu differ", i, j);
		}
	}
}

int main(void)
{
	test_urlencoded_table();
	test_urlencoded_limits();
	test_multipart_table();
	test_multipart_limits();
	test_dispatch();
	test_lookup_and_errors();
	T_DONE();
}
