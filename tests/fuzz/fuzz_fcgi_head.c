/*
 * fuzz_fcgi_head.c: fcgi_head_parse(), the look at a FastCGI request's head
 * (begin record, parameter records) that a worker takes before libfcgi reads
 * it.
 *
 * The input is the first bytes of a connection. fcgi_head.h promises that a
 * head is judged on the bytes so far: a verdict other than "more" never
 * changes with more bytes, so every prefix of the input says "more" up to
 * one length, the head's, and the input's verdict from there on. An
 * accepted head is at most LIMIT_MAX_FCGI_HEAD bytes and holds a begin
 * record and an empty parameter record (24 bytes at least); "more" is never
 * the verdict past LIMIT_MAX_FCGI_HEAD bytes; only the parse's verdicts
 * come back (never a waiting one).
 */
#include "fcgi_head.h"
#include "fmgate_limits.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static enum fcgi_head_err parse(const uint8_t *p, size_t k)
{
	enum fcgi_head_err e = fcgi_head_parse(p, k);

	FUZZ_CHECK(e == FCGI_HEAD_OK || e == FCGI_HEAD_MORE || e == FCGI_HEAD_TOO_LARGE ||
	           e == FCGI_HEAD_BAD);
	FUZZ_CHECK(e != FCGI_HEAD_MORE || k <= LIMIT_MAX_FCGI_HEAD);
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum fcgi_head_err all = parse(data, size);
	size_t lo = 0, hi = size;

	if (all == FCGI_HEAD_MORE) {
		/* A prefix of an unfinished head is unfinished. */
		FUZZ_CHECK(parse(data, size / 2) == FCGI_HEAD_MORE);
		FUZZ_CHECK(size == 0 || parse(data, size - 1) == FCGI_HEAD_MORE);
		return 0;
	}
	/* The shortest prefix with the final verdict: "more" below it (checked
	 * at each step of the search), that verdict from it on. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		enum fcgi_head_err e = parse(data, mid);

		FUZZ_CHECK(e == FCGI_HEAD_MORE || e == all);
		if (e == FCGI_HEAD_MORE)
			lo = mid + 1;
		else
			hi = mid;
	}
	FUZZ_CHECK(parse(data, lo) == all);
	FUZZ_CHECK(lo == 0 || parse(data, lo - 1) == FCGI_HEAD_MORE);
	FUZZ_CHECK(parse(data, lo + (size - lo) / 2) == all);
	if (all == FCGI_HEAD_OK)
		FUZZ_CHECK(lo >= 24 && lo <= LIMIT_MAX_FCGI_HEAD && lo <= size);
	return 0;
}
