/*
 * log.h: one line per event on stderr (the web server's error log).
 *
 * A line is "fmgate[PID]: LEVEL: message". Control characters and bytes
 * outside printable ASCII in the formatted message are written as \xNN, so no
 * request byte can forge a log line. Callers never pass submitted values or the
 * API key.
 */
#ifndef FMGATE_LOG_H
#define FMGATE_LOG_H

#include <sys/types.h>

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO };

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* This process's id, the PID of its lines: asked of the kernel once per
 * process, forgotten at fork, so also a cheap "was I forked?" test. */
pid_t log_pid(void);

/* Formats into a bounded buffer; for tests of the escaping. Returns dst. */
char *log_format(char *dst, unsigned dstsize, enum log_level level,
                 const char *msg);

#endif
