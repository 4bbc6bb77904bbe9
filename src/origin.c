/* origin.c: origin parsing and allow-list matching. */
#include "origin.h"

#include <stdio.h>
#include <string.h>

#include "text.h"

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool origin_of_url(const char *url, char out[ORIGIN_MAX])
{
	const char *p, *host, *end;
	size_t hostlen, schemelen;
	long long port = -1;
	char portbuf[8];
	int n;

	if (!url || strlen(url) > LIMIT_MAX_URL)
		return false;
	if (strncasecmp(url, "https://", 8) == 0)
		schemelen = 5;
	else if (strncasecmp(url, "http://", 7) == 0)
		schemelen = 4;
	else
		return false;
	host = url + schemelen + 3;
	/* The authority ends at the first '/', '?' or '#'; a backslash there is
	 * read as '/' by browsers, so it is refused rather than guessed at. */
	end = host + strcspn(host, "/?#\\");
	if (*end == '\\')
		return false;
	for (p = host; p < end && host_char(*p); p++)
		;
	hostlen = (size_t)(p - host);
	if (hostlen == 0 || hostlen > 253 || host[0] == '.' || host[hostlen - 1] == '.' ||
	    memmem(host, hostlen, "..", 2))
		return false;
	if (p < end) {
		size_t plen;

		if (*p != ':')
			return false;    /* userinfo, IPv6 literals, stray bytes */
		plen = (size_t)(end - p - 1);
		if (plen == 0 || plen >= sizeof portbuf)
			return false;
		memcpy(portbuf, p + 1, plen);
		portbuf[plen] = '\0';
		if (!text_parse_ll(portbuf, 1, 65535, &port))
			return false;
	}
	for (p = end; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '\\')
			return false;
	if ((schemelen == 5 && port == 443) || (schemelen == 4 && port == 80))
		port = -1;
	if (port >= 0)
		n = snprintf(out, ORIGIN_MAX, "%.*s://%.*s:%lld", (int)schemelen, url,
		             (int)hostlen, host, port);
	else
		n = snprintf(out, ORIGIN_MAX, "%.*s://%.*s", (int)schemelen, url,
		             (int)hostlen, host);
	if (n < 0 || n >= ORIGIN_MAX)
		return false;
	text_ascii_lower(out);
	return true;
}

/* Does the allow-list entry match the normalised origin? */
static bool entry_matches(const char *entry, const char *origin)
{
	char norm[ORIGIN_MAX], base[ORIGIN_MAX];
	const char *sep = strstr(entry, "://");
	size_t plen, olen, blen;
	int n;

	if (!sep || strncmp(sep + 3, "*.", 2) != 0)
		return origin_of_url(entry, norm) && strcmp(norm, origin) == 0;
	/* Wildcard: normalise the entry without its "*." label, then require
	 * the origin to be "scheme://LABELS." followed by that base's host. */
	plen = (size_t)(sep - entry) + 3;
	n = snprintf(base, sizeof base, "%.*s%s", (int)plen, entry, sep + 5);
	if (n < 0 || (size_t)n >= sizeof base || !origin_of_url(base, norm))
		return false;
	olen = strlen(origin);
	blen = strlen(norm) - plen;          /* "example.com[:port]" */
	return strncmp(origin, norm, plen) == 0 && olen > plen + blen + 1 &&
	       origin[olen - blen - 1] == '.' &&
	       strcmp(origin + olen - blen, norm + plen) == 0;
}

bool origin_in_list(const struct map_form *f, const char *origin)
{
	for (size_t i = 0; i < f->n_allow_origins; i++)
		if (entry_matches(f->allow_origins[i], origin))
			return true;
	return false;
}

bool origin_next_allowed(const struct map_form *f, const char *next)
{
	char o[ORIGIN_MAX];

	if (!next || !*next || strlen(next) > LIMIT_MAX_URL)
		return false;
	if (next[0] == '/') {
		if (next[1] == '/' || next[1] == '\\')
			return false;
		for (const unsigned char *p = (const unsigned char *)next; *p; p++)
			if (*p <= 0x20 || *p >= 0x7f || *p == '\\')
				return false;
		return true;
	}
	return origin_of_url(next, o) && origin_in_list(f, o);
}
