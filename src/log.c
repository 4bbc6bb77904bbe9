/* log.c: escaped one-line log records on stderr. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const level_names[] = {
	[LOG_ERR] = "error", [LOG_WARN] = "warning", [LOG_INFO] = "info",
};

/* Without the fork hook, asked every time. */
static pid_t pid_seen;
static bool pid_hooked;

static void forget_pid(void)
{
	pid_seen = 0;
}

pid_t log_pid(void)
{
	if (!pid_hooked)
		pid_hooked = pthread_atfork(NULL, NULL, forget_pid) == 0;
	if (!pid_hooked)
		return getpid();
	if (!pid_seen)
		pid_seen = getpid();
	return pid_seen;
}

char *log_format(char *dst, unsigned dstsize, enum log_level level, const char *msg)
{
	static const char hex[] = "0123456789abcdef";
	int n = snprintf(dst, dstsize, "fmgate[%ld]: %s: ", (long)log_pid(),
	                 level_names[level]);
	size_t o = n < 0 ? 0 : (size_t)n;

	if (o >= dstsize)
		o = dstsize - 1;
	/* Leave room for "\n" and NUL; an escape takes at most 4 bytes. */
	for (const unsigned char *p = (const unsigned char *)msg; *p && o + 6 <= dstsize; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			dst[o++] = (char)*p;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[*p >> 4];
			dst[o++] = hex[*p & 15];
		}
	}
	dst[o++] = '\n';
	dst[o] = '\0';
	return dst;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[1024], line[4200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_format(line, sizeof line, level, msg);
	/* One write per line, so lines of concurrent workers never interleave. */
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return;
}
