/* test_escape.c: text escaped for a terminal (esc_terminal). */
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

int main(void)
{
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
	T_STREQ(term("C:\\u001B", 256), "C:\\\\u001B", "a backslash doubles: no forged escape");
	T_STREQ(term("", 256), "", "empty");
	T_STREQ(term("abc\x1b", 6), "FULL:abc", "the maximum holds");
	T_DONE();
}
