/*
 * fuzz.h: what the libFuzzer harnesses of tests/fuzz/ share.
 *
 * A harness checks the contract of the code it drives, not only that it does
 * not crash: FUZZ_CHECK aborts (a crash to libFuzzer, which saves the input)
 * when a promise of the header is broken.
 */
#ifndef FMGATE_FUZZ_H
#define FMGATE_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "text.h"

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* The promises of form.h about parsed pairs, for the body-parser harnesses. */
static inline void fuzz_check_pairs(const struct form_pairs *p, const struct form_limits *lim)
{
	FUZZ_CHECK(p->n <= lim->max_fields && p->n <= p->cap);
	for (size_t i = 0; i < p->n; i++) {
		const struct form_pair *fp = &p->v[i];
		size_t nlen = strlen(fp->name);

		FUZZ_CHECK(nlen > 0 && nlen <= LIMIT_MAX_FIELD_NAME);
		FUZZ_CHECK(text_utf8_valid(fp->name, nlen));
		if (fp->too_long) {
			FUZZ_CHECK(fp->value[0] == '\0' && fp->value_len == 0);
		} else {
			FUZZ_CHECK(strlen(fp->value) == fp->value_len);
			FUZZ_CHECK(fp->value_len <= lim->max_value);
			FUZZ_CHECK(text_utf8_valid(fp->value, fp->value_len));
		}
		FUZZ_CHECK(form_get(p, fp->name) != NULL && form_count(p, fp->name) >= 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
