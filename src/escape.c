/* escape.c: escaping by output context. */
#include "escape.h"

#include <string.h>

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
