/*
 * fuzz_multipart.c: form_parse_multipart() and the Content-Type parameters
 * it reads.
 *
 * Two parses per input. First the whole input is a body under the fixed
 * boundary of the seeds (a browser's). Then the input's first line (up to
 * CRLF) is the Content-Type header, boundary parameter and all, and the rest
 * is the body, through form_parse() so the dispatch is fuzzed too. Each parse
 * runs with the default limits and with tiny ones; every pair is checked
 * against form.h's promises.
 */
#include <stdbool.h>
#include <string.h>

#include "form.h"
#include "text.h"
#include "fuzz.h"

#define SEED_CT "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"
#define MAX_CT  512u   /* bytes of a fuzzed Content-Type line */

static void parse(const char *ct, const char *buf, size_t len, bool dispatch)
{
	static const struct form_limits lims[] = {
		{ LIMIT_DEFAULT_MAX_BODY, LIMIT_DEFAULT_MAX_FIELDS, LIMIT_DEFAULT_MAX_VALUE },
		{ 64, 2, 4 },
	};

	for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++) {
		struct form_pairs p;
		enum form_err e = dispatch ? form_parse(ct, buf, len, &lims[i], &p)
		                           : form_parse_multipart(buf, len, ct, &lims[i], &p);

		if (e == FORM_OK)
			fuzz_check_pairs(&p, &lims[i]);
		else
			FUZZ_CHECK(p.n == 0 && form_strerror(e) != NULL);
		form_pairs_free(&p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	const char *eol = memmem(buf, size, "\r\n", 2);
	char ct[MAX_CT + 1];
	size_t ctlen;

	parse(SEED_CT, buf, size, false);
	if (!eol || (size_t)(eol - buf) > MAX_CT)
		return 0;
	ctlen = (size_t)(eol - buf);
	memcpy(ct, buf, ctlen);
	ct[ctlen] = '\0';
	/* A header value holds no NUL: one in the line ends it, as in a CGI
	 * variable. */
	parse(ct, eol + 2, size - ctlen - 2, true);
	return 0;
}
