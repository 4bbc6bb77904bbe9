/*
 * instr.c: the parse, map and answer path of one submission, in process, for
 * callgrind (make bench-instr). Each run of one_submission() reads the CGI
 * parameters and the 8-field body, parses, validates, builds the identify
 * submission, turns it into the Freshmarketer upsert body (the stub delivery
 * stands where the network call would be) and serialises the 303.
 * Usage: instr MAPPING COUNT BODY [ORIGIN STATUS]   (FM_API_BASE, FM_API_KEY
 * and FMGATE_SPOOL set; the API is called once, for the field list). ORIGIN
 * and STATUS measure a refusal instead: the Origin sent, the status wanted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fm_client.h"
#include "handler.h"
#include "request.h"
#include "response.h"

static const char *body;
static const char *origin = "https://www.example.com";
static char body_len[24];

struct src { size_t pos; };

static const char *param(void *ctx, const char *name)
{
	static const char *const env[][2] = {
		{ "REQUEST_METHOD", "POST" },
		{ "CONTENT_TYPE", "application/x-www-form-urlencoded" },
		{ "CONTENT_LENGTH", body_len },
		{ "PATH_INFO", "/contact" },
		{ "REMOTE_ADDR", "203.0.113.7" },
		{ "HTTP_ORIGIN", NULL },
		{ "HTTP_REFERER", "https://www.example.com/contact.html?utm_source=news" },
		{ "HTTP_USER_AGENT", "Mozilla/5.0 (X11; Linux x86_64) bench" },
	};
	(void)ctx;
	if (strcmp(name, "HTTP_ORIGIN") == 0)
		return origin;
	for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
		if (strcmp(env[i][0], name) == 0)
			return env[i][1];
	return NULL;
}

static ssize_t reader(void *ctx, char *out, size_t len, int timeout_ms)
{
	struct src *s = ctx;
	size_t n = strlen(body) - s->pos;

	(void)timeout_ms;
	if (n > len)
		n = len;
	memcpy(out, body + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

/* Where fmgate would call the CRM: build the exact upsert body (labels
 * matched against the cached field list) and its text, as fm_deliver() does
 * before its call (fm_request_body() prints it once, like upsert()), send
 * nothing. */
static void stub_deliver(struct fm_client *c, const struct submission *sub,
                         const struct map_form *form, unsigned budget_ms,
                         struct fm_result *out)
{
	cJSON *req = fm_request_body(c, sub, form);

	(void)budget_ms;
	memset(out, 0, sizeof *out);
	out->outcome = req ? FM_DELIVERED : FM_RETRY;
	out->http_status = 200;
	cJSON_Delete(req);
}

/* One submission, start to end; callgrind counts inside this function. */
__attribute__((noinline)) static int one_submission(struct app *app)
{
	struct request req;
	struct response res;
	struct buf out;
	struct src s = { 0 };
	int status;

	response_init(&res);
	buf_init(&out, RESP_MAX_BODY + 16384);
	if (request_init(&req, param, NULL) == REQ_OK)
		handler_handle(app, &req, reader, &s, &res);
	status = response_serialise(&res, &out) == RESP_OK ? res.status : 500;
	buf_free(&out);
	request_free(&req);
	response_free(&res);
	return status;
}

int main(int argc, char **argv)
{
	struct app app;
	long n = argc > 2 ? atol(argv[2]) : 1000;
	int want = argc > 5 ? atoi(argv[5]) : 303;

	if (argc < 4 || n < 1 || argc == 5) {
		fprintf(stderr, "usage: instr MAPPING COUNT BODY [ORIGIN STATUS]\n");
		return 2;
	}
	body = argv[3];
	if (argc > 4)
		origin = argv[4];
	snprintf(body_len, sizeof body_len, "%zu", strlen(body));
	if (app_init(&app, argv[1]) != 0)
		return 1;
	app.deliver = stub_deliver;
	/* The first submission fetches the field list into the cache; callgrind
	 * counts only one_submission(), so it is run once outside it. */
	{
		struct request req;
		struct response res;
		struct src s = { 0 };

		response_init(&res);
		if (request_init(&req, param, NULL) == REQ_OK)
			handler_handle(&app, &req, reader, &s, &res);
		request_free(&req);
		response_free(&res);
	}
	for (long i = 0; i < n; i++) {
		if (one_submission(&app) != want) {
			fprintf(stderr, "submission %ld was not answered %d\n", i, want);
			app_free(&app);
			return 1;
		}
	}
	app_free(&app);
	printf("%ld submissions\n", n);
	return 0;
}
