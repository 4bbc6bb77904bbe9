/*
 * t.h: the unit tests' harness. Each test program checks with T() and ends with
 * T_DONE(), which prints "N passed, N failed" (read by tests/run.sh) and exits
 * non-zero on any failure.
 */
#ifndef FMGATE_T_H
#define FMGATE_T_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed;

#define T(cond, ...) do { \
	if (cond) { t_passed++; } \
	else { t_failed++; printf("not ok: %s:%d: ", __FILE__, __LINE__); \
	       printf(__VA_ARGS__); printf("\n"); } \
} while (0)

#define T_STREQ(a, b, ...) do { \
	const char *t_a_ = (a), *t_b_ = (b); \
	int t_ok_ = (t_a_ && t_b_) ? strcmp(t_a_, t_b_) == 0 : t_a_ == t_b_; \
	if (!t_ok_) printf("  got \"%s\", want \"%s\"\n", t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)"); \
	T(t_ok_, __VA_ARGS__); \
} while (0)

#define T_DONE() do { \
	printf("%d passed, %d failed\n", t_passed, t_failed); \
	return t_failed ? 1 : 0; \
} while (0)

#endif
