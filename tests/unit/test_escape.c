/* test_escape.c: text escaped for a terminal (esc_terminal). */
#include <stdint.h>
#include <stdlib.h>

#include "escape.h"
#include "t.h"

/* s escaped, in a static buffer (tests only). */
static const char *term(const char *s, size_t max)
{
	static char out[512];
	struct buf b;
	enum buf_err e;

	buf_init(&b, max);
	e = esc_terminal(&b, s);
	snprintf(out, sizeof out, "%s%s", e == BUF_OK ? "" : "FULL:", buf_str(&b));
	buf_free(&b);
	return out;
}

/* c as UTF-8 between "a" and "z", in a static buffer (tests only). */
static const char *around(uint32_t c)
{
	static char s[8];
	unsigned char *p = (unsigned char *)s;

	*p++ = 'a';
	if (c < 0x80) {
		*p++ = c;
	} else if (c < 0x800) {
		*p++ = 0xc0 | c >> 6;
		*p++ = 0x80 | (c & 0x3f);
	} else if (c < 0x10000) {
		*p++ = 0xe0 | c >> 12;
		*p++ = 0x80 | (c >> 6 & 0x3f);
		*p++ = 0x80 | (c & 0x3f);
	} else {
		*p++ = 0xf0 | c >> 18;
		*p++ = 0x80 | (c >> 12 & 0x3f);
		*p++ = 0x80 | (c >> 6 & 0x3f);
		*p++ = 0x80 | (c & 0x3f);
	}
	*p++ = 'z';
	*p = 0;
	return s;
}

/* Every format character (Cf) range's ends are escaped; the neighbours shown. */
static void format_chars(void)
{
	static const uint32_t cf[] = {
		0x00ad, 0x0600, 0x0605, 0x061c, 0x06dd, 0x070f, 0x0890, 0x0891, 0x08e2,
		0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202e, 0x2060,
		0x2064, 0x2066, 0x2069, 0x206a, 0x206f, 0xfeff, 0xfff9, 0xfffb, 0x110bd,
		0x110cd, 0x13430, 0x1343f, 0x1bca0, 0x1bca3, 0x1d173, 0x1d17a, 0xe0000,
		0xe0001, 0xe0020, 0xe0041, 0xe007f,
	};
	static const uint32_t shown[] = {
		0x00ac, 0x00ae, 0x0606, 0x061b, 0x061d, 0x200a, 0x2010, 0x205f, 0x2070,
		0xfffc, 0x1d172, 0x1d17b, 0xe0080, 0xe0100,
	};
	char want[32];

	for (size_t i = 0; i < sizeof cf / sizeof *cf; i++) {
		snprintf(want, sizeof want, cf[i] > 0xffff ? "a\\U%08Xz" : "a\\u%04Xz",
		         (unsigned)cf[i]);
		T_STREQ(term(around(cf[i]), 256), want, "U+%04X is a format character", (unsigned)cf[i]);
	}
	for (size_t i = 0; i < sizeof shown / sizeof *shown; i++)
		T_STREQ(term(around(shown[i]), 256), around(shown[i]), "U+%04X is shown",
		        (unsigned)shown[i]);
}

int main(void)
{
	format_chars();
	T_STREQ(term("pay\xe2\x80\x8bpal\xc2\xad.com", 256), "pay\\u200Bpal\\u00AD.com",
	        "a zero width space and a soft hyphen cannot hide in a name");
	T_STREQ(term("\xef\xbb\xbf" "ok\xf3\xa0\x80\x81\xf3\xa0\x81\xa8\xf3\xa0\x81\xa9", 256),
	        "\\uFEFFok\\U000E0001\\U000E0068\\U000E0069", "a BOM and tag characters (hidden text)");
	T_STREQ(term("rejected http=422 Invalid email", 256), "rejected http=422 Invalid email",
	        "plain text as is");
	T_STREQ(term("Café – naïve 日本", 256), "Café – naïve 日本", "UTF-8 letters as is");
	T_STREQ(term("a\x1b[2J\x1b]0;title\x07z", 256), "a\\u001B[2J\\u001B]0;title\\u0007z",
	        "ESC and BEL: the escape sequences are shown, not run");
	T_STREQ(term("line\nfake line\r\t", 256), "line\\u000Afake line\\u000D\\u0009",
	        "line ends and tabs cannot fake a line");
	T_STREQ(term("x\x7fy", 256), "x\\u007Fy", "DEL");
	T_STREQ(term("\xc2\x9b" "31m", 256), "\\u009B31m", "a C1 control (CSI) in UTF-8");
	T_STREQ(term("\x9b" "31m", 256), "\\x9B31m", "a lone C1 byte (an 8-bit terminal's CSI)");
	T_STREQ(term("\xe2\x80\xae" "gpj.exe", 256), "\\u202Egpj.exe", "a right-to-left override");
	T_STREQ(term("a\xe2\x81\xa6" "b\xe2\x81\xa9" "c\xe2\x80\x8f", 256), "a\\u2066b\\u2069c\\u200F",
	        "isolates and marks");
	T_STREQ(term("a\xe2\x80\xa8" "b", 256), "a\\u2028b", "a line separator");
	T_STREQ(term("\xff\xc3(", 256), "\\xFF\\xC3(", "ill-formed UTF-8 byte by byte");
	T_STREQ(term("\xed\xa0\x80", 256), "\\xED\\xA0\\x80", "a surrogate is ill-formed");
	T_STREQ(term("\xc0\xaf" "\xe0\x80\xaf", 256), "\\xC0\\xAF\\xE0\\x80\\xAF",
	        "overlong forms of / are ill-formed");
	T_STREQ(term("\xf4\x90\x80\x80" "\xf5\x80", 256), "\\xF4\\x90\\x80\\x80\\xF5\\x80",
	        "past U+10FFFF is ill-formed");
	T_STREQ(term("a\xe2\x80", 256), "a\\xE2\\x80", "a sequence cut short at the end");
	T_STREQ(term("\xe2\x80" "b", 256), "\\xE2\\x80b", "a sequence cut short by ASCII");
	T_STREQ(term("C:\\u001B", 256), "C:\\\\u001B", "a backslash doubles: no forged escape");
	T_STREQ(term("", 256), "", "empty");
	T_STREQ(term("abc\x1b", 6), "FULL:abc", "the maximum holds");
	T_DONE();
}
