/*
 * text.c: strict string helpers shared by the parsers (see text.h).
 */
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Incremental UTF-8 check (Unicode Table 3-7, "well-formed byte sequences"):
 * `need` continuation bytes are still expected, and the next one must lie in
 * [lo, hi]. Restricting the first continuation byte is what refuses overlong
 * forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points above
 * U+10FFFF (F4 90..BF); later ones are always 80..BF.
 */
struct utf8_state {
	unsigned need;
	unsigned char lo, hi;
};

static inline bool utf8_step(struct utf8_state *st, unsigned char c)
{
	/* Plain ASCII outside a sequence, the common case, decided first (the
	 * bounds below matter only from a lead byte on, which sets them). */
	if (st->need == 0 && c != 0 && c < 0x80)
		return true;
	if (st->need > 0) {
		if (c < st->lo || c > st->hi)
			return false;
		st->need--;
		st->lo = 0x80;
		st->hi = 0xBF;
		return true;
	}
	st->lo = 0x80;
	st->hi = 0xBF;
	if (c == 0x00)
		return false;
	if (c >= 0xC2 && c <= 0xDF) {
		st->need = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		st->need = 2;
		if (c == 0xE0)
			st->lo = 0xA0;
		else if (c == 0xED)
			st->hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		st->need = 3;
		if (c == 0xF0)
			st->lo = 0x90;
		else if (c == 0xF4)
			st->hi = 0x8F;
	} else {
		/* 80..BF without a lead byte, C0/C1 (always overlong), F5..FF. */
		return false;
	}
	return true;
}

bool text_utf8_valid(const char *s, size_t len)
{
	struct utf8_state st = { 0, 0x80, 0xBF };

	for (size_t i = 0; i < len; i++)
		if (!utf8_step(&st, (unsigned char)s[i]))
			return false;
	return st.need == 0;
}

/* LONG_MAX, spelled without <limits.h>: with -Isrc that name is src/limits.h. */
#define TEXT_LONG_MAX ((unsigned long)-1 >> 1)

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The one decoder behind text_urldecode and text_urldecode_check: writes to
 * dst when it is not NULL, checks UTF-8 when asked. False on a bad escape or a
 * decoded NUL (and, with check_utf8, on ill-formed UTF-8).
 */
static bool urldecode(const char *src, size_t len, char *dst, bool plus_is_space,
                      bool check_utf8, size_t *outlen)
{
	struct utf8_state st = { 0, 0x80, 0xBF };
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return false;
			hi = hexval((unsigned char)src[i + 1]);
			lo = hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == '\0')
			return false;
		if (check_utf8 && !utf8_step(&st, c))
			return false;
		if (dst)
			dst[o] = (char)c;
		o++;
	}
	if (check_utf8 && st.need != 0)
		return false;
	if (dst)
		dst[o] = '\0';
	*outlen = o;
	return true;
}

long text_urldecode(const char *src, size_t len, char *dst, bool plus_is_space)
{
	size_t n;

	/* The length is returned as a long; refuse what it cannot express. */
	if (len > TEXT_LONG_MAX)
		return -1;
	if (!urldecode(src, len, dst, plus_is_space, false, &n))
		return -1;
	return (long)n;
}

bool text_urldecode_check(const char *src, size_t len, bool plus_is_space,
                          size_t *decoded_len)
{
	if (len > TEXT_LONG_MAX)
		return false;
	return urldecode(src, len, NULL, plus_is_space, true, decoded_len);
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

char *text_trim(char *s)
{
	size_t start = 0, end = strlen(s);

	while (start < end && is_space((unsigned char)s[start]))
		start++;
	while (end > start && is_space((unsigned char)s[end - 1]))
		end--;
	memmove(s, s + start, end - start);
	s[end - start] = '\0';
	return s;
}

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

char *text_ascii_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)ascii_lower((unsigned char)*p);
	return s;
}

int text_icmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	while (*x && ascii_lower(*x) == ascii_lower(*y)) {
		x++;
		y++;
	}
	return ascii_lower(*x) - ascii_lower(*y);
}

bool text_ieq(const char *a, const char *b)
{
	return text_icmp(a, b) == 0;
}

bool text_parse_ll(const char *s, long long min, long long max, long long *out)
{
	const char *digits;
	char *end;
	long long v;

	if (!s)
		return false;
	/* strtoll alone would accept leading white space and '+'. */
	digits = (s[0] == '-') ? s + 1 : s;
	if (*digits < '0' || *digits > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool text_copy(char *dst, size_t dstsize, const char *src)
{
	size_t n;

	if (dstsize == 0)
		return false;
	/* strnlen: a long src is read no further than dst could hold. */
	n = strnlen(src, dstsize);
	if (n == dstsize) {
		memcpy(dst, src, dstsize - 1);
		dst[dstsize - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

size_t text_utf8_next(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len;
	uint32_t c, min;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

const char *text_list_tail(const char *s, size_t n, size_t max, char sep)
{
	const char *t;

	if (n <= max)
		return s;
	t = s + n - max;
	if (t[-1] == sep)
		return t;
	t = memchr(t, sep, max);
	return t ? t + 1 : NULL;
}

void text_utf8_repair(char *s)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k = text_utf8_next(s + i, n - i, &cp);

		if (k == 0)
			s[i++] = '?';
		else
			i += k;
	}
}

bool text_is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029;
}
