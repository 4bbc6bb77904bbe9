/* response.c: an HTTP answer, and its CGI serialisation. */
#include "response.h"

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
