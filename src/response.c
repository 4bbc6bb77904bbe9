/* response.c: an HTTP answer, and its CGI serialisation. */
#include "response.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

void response_init(struct response *r)
{
	memset(r, 0, sizeof *r);
	r->status = 500;
	buf_init(&r->body, RESP_MAX_BODY);
}

void response_free(struct response *r)
{
	for (size_t i = 0; i < r->n_headers; i++)
		free(r->headers[i].value);
	r->n_headers = 0;
	r->content_type = NULL;
	buf_free(&r->body);
}

void response_reset(struct response *r, int status)
{
	response_free(r);
	r->status = status;
}

enum resp_err response_header(struct response *r, const char *name, const char *value)
{
	if (!esc_header_safe(value))
		return RESP_EUNSAFE;
	if (r->n_headers == RESP_MAX_HEADERS)
		return RESP_EFULL;
	r->headers[r->n_headers].value = strdup(value);
	if (!r->headers[r->n_headers].value)
		return RESP_ENOMEM;
	r->headers[r->n_headers++].name = name;
	return RESP_OK;
}

enum resp_err response_redirect(struct response *r, const char *url)
{
	enum resp_err e = response_header(r, "Location", url);

	if (e == RESP_OK)
		r->status = 303;
	return e;
}

const char *response_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return "Unknown";
}

/* Appends errs[i] to the errors list in u when the URL then stays within
 * LIMIT_MAX_URL with `tail` bytes still to come. *fits is false when not. */
static enum buf_err errors_entry(struct buf *u, const struct field_error *err, bool first,
                                 size_t tail, bool *fits)
{
	struct buf raw, enc;
	enum buf_err e;

	buf_init(&raw, LIMIT_MAX_URL);
	buf_init(&enc, LIMIT_MAX_URL * 3);
	e = buf_adds(&raw, first ? "" : ",");
	if (e == BUF_OK)
		e = buf_adds(&raw, err->code);
	if (e == BUF_OK && err->field) {
		e = buf_adds(&raw, ":");
		if (e == BUF_OK)
			e = esc_url_component(&raw, err->field);
	}
	if (e == BUF_OK)
		e = buf_adds(&enc, first ? "&errors=" : "");
	if (e == BUF_OK)
		e = esc_url_component(&enc, buf_str(&raw));
	/* An entry too long for a buffer is one that cannot fit the URL either. */
	*fits = e == BUF_OK && u->len + enc.len + tail <= LIMIT_MAX_URL;
	if (e == BUF_EFULL)
		e = BUF_OK;
	if (*fits)
		e = buf_add(u, buf_str(&enc), enc.len);
	buf_free(&raw);
	buf_free(&enc);
	return e;
}

/* Appends &field=FIELD to u when the URL then stays within LIMIT_MAX_URL
 * with `tail` bytes still to come; leaves it off otherwise. */
static enum buf_err field_param(struct buf *u, const char *field, size_t tail)
{
	struct buf enc;
	enum buf_err e;

	buf_init(&enc, LIMIT_MAX_URL * 3);
	e = buf_adds(&enc, "&field=");
	if (e == BUF_OK)
		e = esc_url_component(&enc, field);
	/* A name too long for the buffer cannot fit the URL either. */
	if (e == BUF_OK && u->len + enc.len + tail <= LIMIT_MAX_URL)
		e = buf_add(u, buf_str(&enc), enc.len);
	else if (e == BUF_EFULL)
		e = BUF_OK;
	buf_free(&enc);
	return e;
}

enum buf_err response_failure_url(struct buf *u, const char *base, const char *code,
                                  const struct field_error *errs, size_t n)
{
	size_t head = strcspn(base, "#"), tail = strlen(base + head);
	const char *q = memchr(base, '?', head);
	bool fits = true;
	enum buf_err e = buf_add(u, base, head);

	if (e == BUF_OK)
		e = buf_adds(u, q ? "&error=" : "?error=");
	if (e == BUF_OK)
		e = esc_url_component(u, code);
	if (e == BUF_OK && n > 0 && errs[0].field)
		e = field_param(u, errs[0].field, tail);
	for (size_t i = 0; e == BUF_OK && fits && i < n; i++)
		e = errors_entry(u, &errs[i], i == 0, tail, &fits);
	if (e == BUF_OK)
		e = buf_adds(u, base + head);
	return e;
}

enum resp_err response_serialise(const struct response *r, struct buf *out)
{
	enum buf_err e;

	/* snprintf-based formatting: libfcgi's printf does not know %zu. */
	e = buf_printf(out, "Status: %d %s\r\n", r->status, response_reason(r->status));
	/* Names and values were checked when set: copied as they are, without
	 * a format to interpret (this runs for every answer). */
	for (size_t i = 0; i < r->n_headers && e == BUF_OK; i++) {
		e = buf_adds(out, r->headers[i].name);
		if (e == BUF_OK)
			e = buf_adds(out, ": ");
		if (e == BUF_OK)
			e = buf_adds(out, r->headers[i].value);
		if (e == BUF_OK)
			e = buf_adds(out, "\r\n");
	}
	if (e == BUF_OK && r->content_type)
		e = buf_printf(out, "Content-Type: %s\r\nContent-Length: %zu\r\n",
		               r->content_type, r->body.len);
	if (e == BUF_OK)
		e = buf_adds(out, "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n");
	if (e == BUF_OK && r->content_type)
		e = buf_add(out, buf_str(&r->body), r->body.len);
	return e == BUF_OK ? RESP_OK : e == BUF_EFULL ? RESP_EFULL : RESP_ENOMEM;
}
