/* fcgi_head.c: a FastCGI request's head, looked at before libfcgi reads it. */
#include "fcgi_head.h"

#include <errno.h>
#include <fastcgi.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "fmgate_limits.h"

/* Bytes that wait unread keep poll() returning at once: when a look found
 * nothing new, the next one comes after this pause. */
#define FCGI_HEAD_NAP_MS 10

/* One length of a name-value pair (1 byte, or 4 with the top bit set) at
 * *i; -1 when the parameters end inside it. */
static long pair_len(const unsigned char *q, size_t m, size_t *i)
{
	long v;

	if (*i >= m)
		return -1;
	if (!(q[*i] & 0x80))
		return q[(*i)++];
	if (m - *i < 4)
		return -1;
	v = (long)(q[*i] & 0x7f) << 24 | (long)q[*i + 1] << 16 | (long)q[*i + 2] << 8 | q[*i + 3];
	*i += 4;
	return v;
}

/* Every pair of the parameters' m bytes holds the bytes it declares: what
 * libfcgi allocates per pair stays within what was sent. */
static enum fcgi_head_err check_pairs(const unsigned char *q, size_t m)
{
	size_t i = 0;

	while (i < m) {
		long nl = pair_len(q, m, &i), vl = nl < 0 ? -1 : pair_len(q, m, &i);

		if (vl < 0 || (size_t)nl > m - i || (size_t)vl > m - i - (size_t)nl)
			return FCGI_HEAD_BAD;
		i += (size_t)nl + (size_t)vl;
	}
	return FCGI_HEAD_OK;
}

enum fcgi_head_err fcgi_head_parse(const unsigned char *p, size_t n)
{
	static unsigned char params[LIMIT_MAX_FCGI_HEAD];
	size_t off = 0, m = 0;
	unsigned id = 0;

	for (;;) {
		const unsigned char *h = p + off;
		size_t clen, end;
		unsigned rid;

		if (n - off < FCGI_HEADER_LEN)
			return off + FCGI_HEADER_LEN > LIMIT_MAX_FCGI_HEAD ? FCGI_HEAD_TOO_LARGE :
			       FCGI_HEAD_MORE;
		rid = (unsigned)h[2] << 8 | h[3];
		clen = (size_t)h[4] << 8 | h[5];
		end = off + FCGI_HEADER_LEN + clen + h[6];
		if (h[0] != FCGI_VERSION_1)
			return FCGI_HEAD_BAD;
		if (off == 0 && (h[1] != FCGI_BEGIN_REQUEST || rid == FCGI_NULL_REQUEST_ID ||
		                 clen != 8))
			return FCGI_HEAD_BAD;
		if (off > 0 && (h[1] != FCGI_PARAMS || rid != id))
			return FCGI_HEAD_BAD;
		/* libfcgi 2.4 reads the begin record's 8 bytes and forgets its
		 * padding, and forgets the final empty record's too: it would take
		 * the padding for the next record's header, one fmgate never saw.
		 * Web servers pad neither. */
		if (h[6] != 0 && (off == 0 || clen == 0))
			return FCGI_HEAD_BAD;
		/* Known from the header alone: no need to wait for the bytes. */
		if (end > LIMIT_MAX_FCGI_HEAD)
			return FCGI_HEAD_TOO_LARGE;
		if (end > n)
			return FCGI_HEAD_MORE;
		if (off == 0) {
			if (((unsigned)h[8] << 8 | h[9]) != FCGI_RESPONDER)
				return FCGI_HEAD_BAD;
			id = rid;
		} else if (clen == 0) {
			return check_pairs(params, m);
		} else {
			memcpy(params + m, h + FCGI_HEADER_LEN, clen);
			m += clen;
		}
		off = end;
	}
}

static void nap(int64_t left)
{
	struct timespec ts = { 0, (left < FCGI_HEAD_NAP_MS ? left : FCGI_HEAD_NAP_MS) * 1000000L };

	nanosleep(&ts, NULL);
}

enum fcgi_head_err fcgi_head_wait(int fd, int64_t deadline)
{
	static unsigned char buf[LIMIT_MAX_FCGI_HEAD + 1];
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };
	ssize_t n, seen = 0;
	int64_t left;
	enum fcgi_head_err e;

	while ((left = deadline - clock_mono_ms()) > 0) {
		int r = poll(&pfd, 1, (int)left);

		if (r < 0 && errno != EINTR)
			return FCGI_HEAD_CLOSED;
		if (r <= 0)
			continue;
		n = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return FCGI_HEAD_CLOSED;
		e = fcgi_head_parse(buf, (size_t)n);
		if (e != FCGI_HEAD_MORE)
			return e;
		/* The peer sends no more: the rest of the head never comes. */
		if (pfd.revents & POLLRDHUP)
			return FCGI_HEAD_CLOSED;
		if (n == seen)
			nap(left);
		seen = n;
	}
	return seen > 0 ? FCGI_HEAD_TIMEOUT : FCGI_HEAD_IDLE;
}

const char *fcgi_head_strerror(enum fcgi_head_err e)
{
	switch (e) {
	case FCGI_HEAD_OK: return "a whole request head";
	case FCGI_HEAD_MORE: return "an incomplete request head";
	case FCGI_HEAD_IDLE: return "nothing sent within the read timeout";
	case FCGI_HEAD_TIMEOUT: return "no whole request head within the read timeout";
	case FCGI_HEAD_TOO_LARGE: return "request head over the size limit";
	case FCGI_HEAD_BAD: return "not a FastCGI responder request";
	case FCGI_HEAD_CLOSED: return "the connection closed before a request";
	}
	return "unknown FastCGI head error";
}
