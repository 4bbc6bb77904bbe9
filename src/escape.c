/* escape.c: escaping by output context. */
#include "escape.h"

#include <string.h>

#include "text.h"

enum buf_err esc_html(struct buf *b, const char *s)
{
	enum buf_err e = BUF_OK;

	for (; *s && e == BUF_OK; s++) {
		switch (*s) {
		case '&': e = buf_adds(b, "&amp;"); break;
		case '<': e = buf_adds(b, "&lt;"); break;
		case '>': e = buf_adds(b, "&gt;"); break;
		case '"': e = buf_adds(b, "&quot;"); break;
		case '\'': e = buf_adds(b, "&#39;"); break;
		default: e = buf_add(b, s, 1); break;
		}
	}
	return e;
}

enum buf_err esc_url_component(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	enum buf_err e = BUF_OK;

	for (const unsigned char *p = (const unsigned char *)s; *p && e == BUF_OK; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			e = buf_add(b, p, 1);
		} else {
			char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			e = buf_add(b, enc, 3);
		}
	}
	return e;
}

bool esc_header_safe(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* Characters that reorder or hide the text around them. */
static bool is_bidi(uint32_t c)
{
	return c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

enum buf_err esc_terminal(struct buf *b, const char *s)
{
	size_t left = strlen(s), n;
	enum buf_err e = BUF_OK;
	uint32_t c;

	while (left && e == BUF_OK) {
		n = text_utf8_next(s, left, &c);
		if (!n) {
			e = buf_printf(b, "\\x%02X", (unsigned char)*s);
			n = 1;
		} else if (c == '\\') {
			e = buf_adds(b, "\\\\");
		} else if (text_is_control(c) || is_bidi(c)) {
			e = buf_printf(b, "\\u%04X", (unsigned)c);
		} else {
			e = buf_add(b, s, n);
		}
		s += n;
		left -= n;
	}
	return e;
}
