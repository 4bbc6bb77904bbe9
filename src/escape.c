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

/*
 * The format characters (Unicode general category Cf, as of Unicode 15, the
 * whole tag block): invisible, they reorder (the bidirectional controls), join
 * or hide the text around them, so a reader cannot see what is there.
 */
static const struct { uint32_t lo, hi; } format_chars[] = {
	{ 0x00ad, 0x00ad },	/* soft hyphen */
	{ 0x0600, 0x0605 },	/* Arabic number signs */
	{ 0x061c, 0x061c },	/* Arabic letter mark (bidi) */
	{ 0x06dd, 0x06dd },	/* Arabic end of ayah */
	{ 0x070f, 0x070f },	/* Syriac abbreviation mark */
	{ 0x0890, 0x0891 },	/* Arabic pound and piastre marks above */
	{ 0x08e2, 0x08e2 },	/* Arabic disputed end of ayah */
	{ 0x180e, 0x180e },	/* Mongolian vowel separator */
	{ 0x200b, 0x200f },	/* zero width space, (non-)joiner, LRM, RLM (bidi) */
	{ 0x202a, 0x202e },	/* bidi embeddings and overrides */
	{ 0x2060, 0x2064 },	/* word joiner, invisible operators */
	{ 0x2066, 0x206f },	/* bidi isolates, deprecated format characters */
	{ 0xfeff, 0xfeff },	/* zero width no-break space (BOM) */
	{ 0xfff9, 0xfffb },	/* interlinear annotation */
	{ 0x110bd, 0x110bd },	/* Kaithi number sign */
	{ 0x110cd, 0x110cd },	/* Kaithi number sign above */
	{ 0x13430, 0x1343f },	/* Egyptian hieroglyph format controls */
	{ 0x1bca0, 0x1bca3 },	/* shorthand format controls */
	{ 0x1d173, 0x1d17a },	/* musical symbol begin/end beam, tie, slur, phrase */
	{ 0xe0000, 0xe007f },	/* tags (language tag, tag letters, cancel tag) */
};

static bool is_format(uint32_t c)
{
	for (size_t i = 0; i < sizeof format_chars / sizeof *format_chars; i++)
		if (c >= format_chars[i].lo && c <= format_chars[i].hi)
			return true;
	return false;
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
		} else if (text_is_control(c) || is_format(c)) {
			/* eight digits past the BMP: \uE0041 would read as U+E004 "1" */
			e = buf_printf(b, c > 0xffff ? "\\U%08X" : "\\u%04X", (unsigned)c);
		} else {
			e = buf_add(b, s, n);
		}
		s += n;
		left -= n;
	}
	return e;
}
