/* request.c: a request's parameters and body, read under limits. */
#include "request.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "text.h"

/* Copies a parameter, or NULL when absent or over LIMIT_MAX_HEADER. An
 * oversized header is treated as absent rather than truncated, so that a
 * truncated Origin can never match an allow-list entry. */
static enum req_err copy_param(char **dst, req_param_fn param, void *ctx, const char *name)
{
	const char *v = param(ctx, name);

	*dst = NULL;
	if (!v || strnlen(v, LIMIT_MAX_HEADER + 1) > LIMIT_MAX_HEADER)
		return REQ_OK;
	*dst = strdup(v);
	return *dst ? REQ_OK : REQ_ENOMEM;
}

/*
 * X-Forwarded-For is read from its right end (request_client_addr), so one
 * over LIMIT_MAX_HEADER keeps its right-most whole entries that fit instead
 * of being dropped: dropped, it would make the proxy everyone's address, and
 * a client could leave its own budget by padding the header. A last entry
 * longer than the cap leaves nothing (the peer counts).
 */
static enum req_err copy_list_tail(char **dst, req_param_fn param, void *ctx, const char *name)
{
	const char *v = param(ctx, name);
	size_t len;

	*dst = NULL;
	if (!v)
		return REQ_OK;
	len = strlen(v);
	if (!(v = text_list_tail(v, len, LIMIT_MAX_HEADER, ',')))
		return REQ_OK;
	*dst = strdup(v);
	return *dst ? REQ_OK : REQ_ENOMEM;
}

static bool param_oversized(req_param_fn param, void *ctx, const char *name)
{
	const char *v = param(ctx, name);

	return v && strnlen(v, LIMIT_MAX_HEADER + 1) > LIMIT_MAX_HEADER;
}

/* The form id is the one path segment after the handler's URL: PATH_INFO
 * "/contact" (Apache, spawn-fcgi), or, where the server sets no PATH_INFO
 * (lighttpd with a prefix), the last segment of REQUEST_URI's path. */
static enum req_err find_form_id(struct request *r, req_param_fn param, void *ctx)
{
	const char *pi = param(ctx, "PATH_INFO");
	const char *seg = NULL;
	size_t len = 0;

	if (pi && *pi) {
		if (pi[0] != '/')
			return REQ_OK;
		seg = pi + 1;
		len = strlen(seg);
		if (len && seg[len - 1] == '/')
			len--;
	} else {
		const char *uri = param(ctx, "REQUEST_URI");
		const char *end, *slash;

		if (!uri || strnlen(uri, LIMIT_MAX_HEADER + 1) > LIMIT_MAX_HEADER)
			return REQ_OK;
		end = uri + strcspn(uri, "?#");
		if (end > uri && end[-1] == '/')
			end--;    /* "/forms/contact/" names "contact", as PATH_INFO does */
		slash = end;
		while (slash > uri && slash[-1] != '/')
			slash--;
		seg = slash;
		len = (size_t)(end - slash);
	}
	if (!map_form_id_valid(seg, len))
		return REQ_OK;
	r->form_id = strndup(seg, len);
	return r->form_id ? REQ_OK : REQ_ENOMEM;
}

enum req_err request_init(struct request *r, req_param_fn param, void *ctx)
{
	static const struct { size_t off; const char *name; } params[] = {
		{ offsetof(struct request, method), "REQUEST_METHOD" },
		{ offsetof(struct request, content_type), "CONTENT_TYPE" },
		{ offsetof(struct request, origin), "HTTP_ORIGIN" },
		{ offsetof(struct request, referer), "HTTP_REFERER" },
		{ offsetof(struct request, cookie), "HTTP_COOKIE" },
		{ offsetof(struct request, accept), "HTTP_ACCEPT" },
		{ offsetof(struct request, accept_language), "HTTP_ACCEPT_LANGUAGE" },
		{ offsetof(struct request, user_agent), "HTTP_USER_AGENT" },
		{ offsetof(struct request, remote_addr), "REMOTE_ADDR" },
		{ offsetof(struct request, proxy_header[MAP_PROXY_X_REAL_IP]), "HTTP_X_REAL_IP" },
		{ offsetof(struct request, proxy_header[MAP_PROXY_CF_CONNECTING_IP]), "HTTP_CF_CONNECTING_IP" },
		{ offsetof(struct request, proxy_header[MAP_PROXY_TRUE_CLIENT_IP]), "HTTP_TRUE_CLIENT_IP" },
		{ offsetof(struct request, ac_request_method), "HTTP_ACCESS_CONTROL_REQUEST_METHOD" },
	};
	const char *cl;
	enum req_err e = REQ_OK;

	memset(r, 0, sizeof *r);
	r->content_length = -1;
	for (size_t i = 0; i < sizeof params / sizeof params[0] && e == REQ_OK; i++)
		e = copy_param((char **)((char *)r + params[i].off), param, ctx, params[i].name);
	if (e == REQ_OK)
		e = copy_list_tail(&r->proxy_header[MAP_PROXY_X_FORWARDED_FOR], param, ctx,
		                   "HTTP_X_FORWARDED_FOR");
	r->origin_oversized = param_oversized(param, ctx, "HTTP_ORIGIN");
	r->referer_oversized = param_oversized(param, ctx, "HTTP_REFERER");
	if (e == REQ_OK)
		e = find_form_id(r, param, ctx);
	cl = param(ctx, "CONTENT_LENGTH");
	/* An empty CONTENT_LENGTH means no body; an absent one, read to the end. */
	if (e == REQ_OK && cl && !*cl) {
		r->content_length = 0;
	} else if (e == REQ_OK && cl) {
		long long n;
		if (cl[0] != '-' && text_parse_ll(cl, 0, 0x7fffffffffffffffLL, &n))
			r->content_length = n;
		else
			r->content_length_bad = true;
	}
	return e;
}

enum req_err request_read_body(struct request *r, req_read_fn rd, void *ctx,
                               size_t max_body, unsigned timeout_ms)
{
	size_t want, got = 0;
	bool to_eof = r->content_length < 0;
	long long deadline = clock_mono_ms() + timeout_ms;

	if (r->content_length_bad)
		return REQ_EBADLENGTH;
	if (!to_eof && (unsigned long long)r->content_length > max_body)
		return REQ_ETOOLARGE;
	/* Reading to end of input: one byte over the limit tells it is over. */
	want = to_eof ? max_body + 1 : (size_t)r->content_length;
	r->body = malloc(want + 1);
	if (!r->body)
		return REQ_ENOMEM;
	while (got < want) {
		long long left = deadline - clock_mono_ms();
		ssize_t n;

		if (left <= 0)
			return REQ_ETIMEOUT;
		n = rd(ctx, r->body + got, want - got, left > INT_MAX ? INT_MAX : (int)left);
		if (n == REQ_READ_TIMEOUT)
			return REQ_ETIMEOUT;
		if (n < 0)
			return REQ_EREAD;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	r->body[got] = '\0';
	r->body_len = got;
	if (to_eof && got > max_body)
		return REQ_ETOOLARGE;
	if (!to_eof && got < want)
		return REQ_ESHORT;
	return REQ_OK;
}

/* The first <trusted-proxy> whose range holds a, or NULL. */
static const struct map_proxy *proxy_of(const struct netaddr *a, const struct map_settings *s)
{
	for (size_t i = 0; i < s->n_trusted_proxies; i++)
		if (netrange_has(&s->trusted_proxies[i].range, a))
			return &s->trusted_proxies[i];
	return NULL;
}

/* s[0..len) without the spaces and tabs around it, parsed as an address. */
static bool parse_trimmed(const char *s, size_t len, struct netaddr *out)
{
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return netaddr_parse(s, len, out);
}

/* X-Forwarded-For, right to left (each hop appends the address it saw): the
 * first entry outside every trusted range, else the left-most. False when an
 * entry on the way is not an address. */
static bool forwarded_for(const char *xff, const struct map_settings *s, struct netaddr *out)
{
	const char *end = xff + strlen(xff);

	for (;;) {
		const char *seg = end;

		while (seg > xff && seg[-1] != ',')
			seg--;
		if (!parse_trimmed(seg, (size_t)(end - seg), out))
			return false;
		if (seg == xff || !proxy_of(out, s))
			return true;
		end = seg - 1;    /* the comma */
	}
}

bool request_client_addr(const struct request *r, const struct map_settings *s,
                         struct netaddr *out)
{
	const struct map_proxy *p;
	const char *h;
	struct netaddr a;

	if (!r->remote_addr || !netaddr_parse(r->remote_addr, strlen(r->remote_addr), out))
		return false;
	if (!(p = proxy_of(out, s)) || !(h = r->proxy_header[p->header]))
		return true;
	if (p->header == MAP_PROXY_X_FORWARDED_FOR ? forwarded_for(h, s, &a)
	                                          : parse_trimmed(h, strlen(h), &a))
		*out = a;
	return true;
}

bool request_wants_json(const struct request *r)
{
	const char *a = r->accept, *json, *html;

	if (!a)
		return false;
	json = strcasestr(a, "application/json");
	html = strcasestr(a, "text/html");
	return json && (!html || json < html);
}

void request_free(struct request *r)
{
	free(r->method);
	free(r->form_id);
	free(r->content_type);
	free(r->origin);
	free(r->referer);
	free(r->cookie);
	free(r->accept);
	free(r->accept_language);
	free(r->user_agent);
	free(r->remote_addr);
	for (size_t i = 0; i < MAP_PROXY_HEADERS; i++)
		free(r->proxy_header[i]);
	free(r->ac_request_method);
	free(r->body);
	memset(r, 0, sizeof *r);
	r->content_length = -1;
}

const char *request_strerror(enum req_err e)
{
	switch (e) {
	case REQ_OK: return "ok";
	case REQ_ETOOLARGE: return "request body too large";
	case REQ_EBADLENGTH: return "malformed Content-Length";
	case REQ_ESHORT: return "request body shorter than Content-Length";
	case REQ_EREAD: return "request body could not be read";
	case REQ_ETIMEOUT: return "request body not received in time";
	case REQ_ENOMEM: return "out of memory";
	}
	return "unknown error";
}
