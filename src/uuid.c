/*
 * uuid.c: random UUIDs and UTC timestamps (see uuid.h).
 */
#include "uuid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

/* Fills buf with n random bytes. getrandom may return fewer bytes than asked
 * or be interrupted by a signal; both mean "ask again". */
static bool random_bytes(unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		got += (size_t)r;
	}
	return true;
}

bool uuid_v4(char out[UUID_STR_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t i, o = 0;

	out[0] = '\0';
	if (!random_bytes(b, sizeof b))
		return false;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);  /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);  /* variant 10xx */
	for (i = 0; i < sizeof b; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[o] = '\0';
	return true;
}

/* n as `width` decimal digits at out. */
static void digits(char *out, long n, int width)
{
	for (int i = width - 1; i >= 0; i--, n /= 10)
		out[i] = (char)('0' + n % 10);
}

bool uuid_timestamp_at(const struct timespec *ts, char out[UUID_TS_SIZE])
{
	struct tm tm;

	out[0] = '\0';
	if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L ||
	    gmtime_r(&ts->tv_sec, &tm) == NULL ||
	    tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return false;
	/* "YYYY-MM-DDTHH:MM:SS.mmmZ", by hand: it is on every submission's path. */
	memcpy(out, "0000-00-00T00:00:00.000Z", UUID_TS_SIZE);
	digits(out, tm.tm_year + 1900L, 4);
	digits(out + 5, tm.tm_mon + 1L, 2);
	digits(out + 8, tm.tm_mday, 2);
	digits(out + 11, tm.tm_hour, 2);
	digits(out + 14, tm.tm_min, 2);
	digits(out + 17, tm.tm_sec, 2);
	digits(out + 20, ts->tv_nsec / 1000000L, 3);
	return true;
}

bool uuid_timestamp(char out[UUID_TS_SIZE])
{
	struct timespec ts;

	out[0] = '\0';
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return false;
	return uuid_timestamp_at(&ts, out);
}
