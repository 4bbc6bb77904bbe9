/* url.c: fmgate's URL grammar, cross-checked with libcurl's URL API. */
#include "url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

#define MAX_LABEL 63u
#define MAX_PORT_DIGITS 5u
#define MAX_PORT 65535u

/* The authority as the grammar reads it. */
struct authority {
	const char *host;   /* into the URL, after any "*." */
	size_t host_len;
	unsigned port;      /* as written; 0 when none */
	bool ipv6;
	bool wildcard;
};

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool url_host_name(const char *h, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > URL_MAX_HOST)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (h[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (is_alnum(h[i]) || h[i] == '-') {
			if (++label > MAX_LABEL)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* Length, then byte by byte: the first bad byte names the problem. */
static enum url_err bytes_problem(const char *s, enum url_rules rules)
{
	if (strnlen(s, LIMIT_MAX_URL + 1) > LIMIT_MAX_URL)
		return URL_ELONG;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || (*p > 0x7f && rules != URL_SOURCE))
			return URL_EBYTES;
		if (*p == '\\')
			return URL_EBACKSLASH;
	}
	return URL_OK;
}

/* "[...]" holding an IPv6 address; its binary form into addr. */
static bool ipv6_literal(const char *h, size_t n, unsigned char addr[16])
{
	char inner[INET6_ADDRSTRLEN];

	if (n < 3 || h[0] != '[' || h[n - 1] != ']' || n - 2 >= sizeof inner)
		return false;
	memcpy(inner, h + 1, n - 2);
	inner[n - 2] = '\0';
	return inet_pton(AF_INET6, inner, addr) == 1;
}

/* ":digits" in s[0..n), 1 to MAX_PORT. */
static bool port_of(const char *s, size_t n, unsigned *port)
{
	unsigned v = 0;

	if (n < 2 || n > MAX_PORT_DIGITS + 1 || s[0] != ':')
		return false;
	for (size_t i = 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*port = v;
	return v >= 1 && v <= MAX_PORT;
}

/* host[:port] in s[0..n), which holds no '@'. */
static enum url_err read_authority(const char *s, size_t n, enum url_rules rules,
                                   struct authority *a)
{
	unsigned char addr[16];
	const char *end;

	memset(a, 0, sizeof *a);
	if (rules == URL_ALLOW && memchr(s, '*', n)) {
		if (n < 2 || s[0] != '*' || s[1] != '.' || memchr(s + 2, '*', n - 2))
			return URL_EWILDCARD;
		a->wildcard = true;
		s += 2;
		n -= 2;
	}
	if (rules == URL_API_BASE && n > 0 && s[0] == '[') {
		end = memchr(s, ']', n);
		a->host_len = end ? (size_t)(end - s) + 1 : n;
		a->ipv6 = true;
		if (!ipv6_literal(s, a->host_len, addr))
			return URL_EHOST;
	} else {
		end = memchr(s, ':', n);
		a->host_len = end ? (size_t)(end - s) : n;
		if (!url_host_name(s, a->host_len))
			return URL_EHOST;
	}
	/* "*.com" would open a whole top-level domain. */
	if (a->wildcard && !memchr(s, '.', a->host_len))
		return URL_EWILDCARD;
	a->host = s;
	if (a->host_len < n && !port_of(s + a->host_len, n - a->host_len, &a->port))
		return URL_EHOST;
	return URL_OK;
}

static bool same_host(const char *curl_host, const struct authority *a)
{
	unsigned char mine[16], theirs[16];

	if (a->ipv6)
		return ipv6_literal(a->host, a->host_len, mine) &&
		       ipv6_literal(curl_host, strlen(curl_host), theirs) &&
		       memcmp(mine, theirs, sizeof mine) == 0;
	return strlen(curl_host) == a->host_len &&
	       strncasecmp(curl_host, a->host, a->host_len) == 0;
}

/* Does libcurl read s (scheme_len bytes of "http(s)://") as the grammar did? */
static enum url_err curl_agrees(const char *s, size_t scheme_len, bool https,
                                const struct authority *a)
{
	char copy[LIMIT_MAX_URL + 1];
	char *scheme = NULL, *host = NULL, *port = NULL;
	enum url_err err = URL_EHOST;
	CURLUcode rc;
	CURLU *h;

	/* libcurl refuses '*' in a host: it reads the entry without "*.". */
	if (a->wildcard) {
		snprintf(copy, sizeof copy, "%.*s%s", (int)scheme_len, s, s + scheme_len + 2);
		s = copy;
	}
	if (!(h = curl_url()))
		return URL_ENOMEM;
	rc = curl_url_set(h, CURLUPART_URL, s, CURLU_DISALLOW_USER);
	if (rc == CURLUE_OK)
		rc = curl_url_get(h, CURLUPART_SCHEME, &scheme, 0);
	if (rc == CURLUE_OK)
		rc = curl_url_get(h, CURLUPART_HOST, &host, 0);
	if (rc == CURLUE_OK && (rc = curl_url_get(h, CURLUPART_PORT, &port, 0)) == CURLUE_NO_PORT)
		rc = CURLUE_OK;
	if (rc == CURLUE_OUT_OF_MEMORY)
		err = URL_ENOMEM;
	else if (rc == CURLUE_OK && strcmp(scheme, https ? "https" : "http") == 0 &&
	         same_host(host, a) && (port ? strtoul(port, NULL, 10) : 0) == a->port)
		err = URL_OK;
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(h);
	return err;
}

/* 127.0.0.0/8 as four plain decimal octets (no leading zeros, which some
 * resolvers read as octal). */
static bool is_loopback_v4(const char *h)
{
	const char *p = h;

	for (unsigned octet = 0; octet < 4; octet++) {
		const char *start = p;
		unsigned v = 0;

		while (*p >= '0' && *p <= '9' && p - start < 3)
			v = v * 10 + (unsigned)(*p++ - '0');
		if (p == start || v > 255 || (p - start > 1 && *start == '0') ||
		    (octet == 0 && v != 127))
			return false;
		if (octet < 3 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

bool url_host_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	       is_loopback_v4(host);
}

enum url_err url_parse(const char *s, enum url_rules rules, struct url *out)
{
	struct url u = {0};
	struct authority a;
	const char *auth;
	size_t scheme_len, auth_len;
	enum url_err err;

	if (!s)
		return URL_ESCHEME;
	if ((err = bytes_problem(s, rules)) != URL_OK)
		return err;
	if (rules == URL_TARGET && s[0] == '/') {
		if (s[1] == '/')
			return URL_ESLASHES;
		goto done;
	}
	if (strncasecmp(s, "https://", 8) == 0)
		scheme_len = 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		scheme_len = 7;
	else
		return URL_ESCHEME;
	u.https = scheme_len == 8;
	auth = s + scheme_len;
	auth_len = strcspn(auth, "/?#");
	if (rules == URL_ALLOW && auth[auth_len])
		return URL_EPATH;
	if (rules == URL_API_BASE && strpbrk(s, "?#"))
		return URL_EQUERY;
	if (memchr(auth, '@', auth_len) || (rules == URL_API_BASE && strchr(s, '@')))
		return URL_EUSER;
	if ((err = read_authority(auth, auth_len, rules, &a)) != URL_OK ||
	    (err = curl_agrees(s, scheme_len, u.https, &a)) != URL_OK)
		return err;
	memcpy(u.host, a.host, a.host_len);
	text_ascii_lower(u.host);
	u.wildcard = a.wildcard;
	u.port = a.port == (u.https ? 443u : 80u) ? 0 : a.port;
	if (rules == URL_API_BASE && !u.https && !url_host_loopback(u.host))
		return URL_EPLAIN;
done:
	if (out)
		*out = u;
	return URL_OK;
}

bool url_origin(const struct url *u, char *out, size_t size)
{
	const char *scheme = u->https ? "https" : "http";
	int n = u->port ? snprintf(out, size, "%s://%s:%u", scheme, u->host, u->port)
	                : snprintf(out, size, "%s://%s", scheme, u->host);

	return n >= 0 && (size_t)n < size;
}

const char *url_strerror(enum url_err e)
{
	switch (e) {
	case URL_OK: return "is a valid URL";
	case URL_ELONG: return "is too long";
	case URL_EBYTES: return "holds white space, control or non-ASCII characters (percent-encode them)";
	case URL_EBACKSLASH: return "holds a backslash";
	case URL_ESCHEME: return "must be an absolute http(s) URL";
	case URL_ESLASHES: return "starts with \"//\" (a host of the visitor's choosing); write https://host/path";
	case URL_EUSER: return "must not hold user info ('@')";
	case URL_EHOST: return "has no valid host[:port]";
	case URL_EPATH: return "must be scheme://host[:port] with no path (not even a trailing '/')";
	case URL_EWILDCARD: return "has no valid host[:port] (\"*.\" may only open a host: https://*.example.com)";
	case URL_EQUERY: return "must not hold a query or fragment";
	case URL_EPLAIN: return "must be https, or plain http to 127.0.0.1, [::1] or localhost";
	case URL_ENOMEM: return "could not be read: out of memory";
	}
	return "is not a valid URL";
}
