/*
 * fuzz_urlencoded.c: form_parse_urlencoded() and the %-decoder under it.
 *
 * The input is a request body. It is parsed twice, with the default limits
 * and with tiny ones (so the too-many and too-long paths are reached by short
 * inputs), and every pair is checked against form.h's promises. The decoder's
 * two entry points must agree on every input.
 */
#include <stdbool.h>
#include <string.h>

#include "form.h"
#include "text.h"
#include "fuzz.h"

static void parse(const char *buf, size_t len, const struct form_limits *lim)
{
	struct form_pairs p;
	enum form_err e = form_parse_urlencoded(buf, len, lim, &p);

	if (e == FORM_OK)
		fuzz_check_pairs(&p, lim);
	else
		FUZZ_CHECK(p.n == 0 && form_strerror(e) != NULL);
	form_pairs_free(&p);
	/* The same through the dispatcher, with parameters on the media type. */
	e = form_parse("Application/X-WWW-Form-Urlencoded; charset=UTF-8", buf, len, lim, &p);
	if (e == FORM_OK)
		fuzz_check_pairs(&p, lim);
	form_pairs_free(&p);
}

static void decoder(const char *buf, size_t len)
{
	char *dst = malloc(len + 1);
	size_t checked = 0;
	bool ok;
	long n;

	if (!dst)
		return;
	for (int plus = 0; plus < 2; plus++) {
		ok = text_urldecode_check(buf, len, plus, &checked);
		n = text_urldecode(buf, len, dst, plus);
		/* The check adds UTF-8 validity; where it passes, decoding does too
		 * and gives the length it announced. */
		if (ok)
			FUZZ_CHECK(n >= 0 && (size_t)n == checked);
		if (n >= 0) {
			FUZZ_CHECK((size_t)n <= len && dst[n] == '\0' && strlen(dst) == (size_t)n);
			FUZZ_CHECK(ok == text_utf8_valid(dst, (size_t)n));
		}
	}
	free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct form_limits deflim = {
		LIMIT_DEFAULT_MAX_BODY, LIMIT_DEFAULT_MAX_FIELDS, LIMIT_DEFAULT_MAX_VALUE };
	static const struct form_limits tiny = { 64, 3, 5 };
	const char *buf = (const char *)data;

	parse(buf, size, &deflim);
	parse(buf, size, &tiny);
	decoder(buf, size);
	return 0;
}
