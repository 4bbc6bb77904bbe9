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

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
