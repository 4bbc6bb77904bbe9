/*
 * fuzz_cookie.c: cookie_get() over a Cookie header.
 *
 * The input is the header value (a CGI variable ends at a NUL, so the input
 * is cut there). The cookies the mapping usually names are looked up, with
 * the usual and a tiny max_len, and each answer is checked against cookie.h:
 * NULL, or a non-empty, NUL-free, well-formed UTF-8 string of at most max_len
 * bytes. Inputs longer than LIMIT_MAX_HEADER reach the cut-off rule.
 */
#include <string.h>

#include "cookie.h"
#include "fmgate_limits.h"
#include "text.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "ajs_user_id", "ajs_anonymous_id", "a", "_ga" };
	static const size_t max_lens[] = { LIMIT_MAX_COOKIE_VALUE, 3 };
	char *header = malloc(size + 1);

	if (!header)
		return 0;
	memcpy(header, data, size);
	header[size] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		for (size_t j = 0; j < sizeof max_lens / sizeof max_lens[0]; j++) {
			char *v = cookie_get(header, names[i], max_lens[j]);

			if (v) {
				size_t n = strlen(v);

				FUZZ_CHECK(n > 0 && n <= max_lens[j]);
				FUZZ_CHECK(text_utf8_valid(v, n));
			}
			free(v);
		}
	}
	FUZZ_CHECK(cookie_get(NULL, "a", 10) == NULL);
	free(header);
	return 0;
}
