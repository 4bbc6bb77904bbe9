/*
 * cookie.c: one cookie from the Cookie request header (see cookie.h).
 *
 * A header longer than LIMIT_MAX_HEADER is not refused as a whole: only its
 * first LIMIT_MAX_HEADER bytes are read, and a cookie that reaches that cut is
 * treated as absent, because its value may be truncated. Without reading
 * further, a header of exactly LIMIT_MAX_HEADER bytes cannot be told from a
 * longer one, so its last cookie is treated as cut too. Cookies wholly before
 * the cut are found as usual: a large cookie jar does not hide the analytics
 * ids, and a truncated id is never returned.
 */
#include "cookie.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fmgate_limits.h"
#include "text.h"

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* The value v[0..n) (at most LIMIT_MAX_HEADER bytes), decoded and unquoted,
 * as a malloc'd string; NULL when it is not acceptable. */
static char *cookie_value(const char *v, size_t n, size_t max_len)
{
	char dec[LIMIT_MAX_HEADER + 1];
	const char *s = dec;
	long len;
	char *out;

	len = text_urldecode(v, n, dec, false);
	if (len < 0)
		return NULL;
	/* analytics.js JSON-quotes its ids; with %22 the quotes appear only now. */
	if (len >= 2 && dec[0] == '"' && dec[len - 1] == '"') {
		s = dec + 1;
		len -= 2;
	}
	if (len == 0 || (size_t)len > max_len || !text_utf8_valid(s, (size_t)len))
		return NULL;
	out = malloc((size_t)len + 1);
	if (!out)
		return NULL;
	memcpy(out, s, (size_t)len);
	out[len] = '\0';
	return out;
}

char *cookie_get(const char *header, const char *name, size_t max_len)
{
	size_t hlen, nlen, i = 0;
	bool cut;

	if (!header || !name || name[0] == '\0')
		return NULL;
	nlen = strlen(name);
	hlen = strnlen(header, LIMIT_MAX_HEADER);
	cut = hlen == LIMIT_MAX_HEADER;
	while (i < hlen) {
		const char *semi = memchr(header + i, ';', hlen - i);
		size_t s = i, e = semi ? (size_t)(semi - header) : hlen, ne;
		const char *eq;

		if (!semi && cut)
			return NULL;
		i = e + 1;
		while (s < e && is_ows(header[s]))
			s++;
		while (e > s && is_ows(header[e - 1]))
			e--;
		eq = memchr(header + s, '=', e - s);
		if (!eq)
			continue;
		ne = (size_t)(eq - header);
		while (ne > s && is_ows(header[ne - 1]))
			ne--;
		if (ne - s != nlen || memcmp(header + s, name, nlen) != 0)
			continue;
		s = (size_t)(eq - header) + 1;
		while (s < e && is_ows(header[s]))
			s++;
		/* The first cookie of that name decides, valid or not. */
		return cookie_value(header + s, e - s, max_len);
	}
	return NULL;
}
