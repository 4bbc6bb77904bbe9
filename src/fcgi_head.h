/*
 * fcgi_head.h: waits for the head of a FastCGI request (its begin record and
 * every parameter record) under a deadline and a size cap, without taking it
 * from the socket.
 *
 * libfcgi's FCGX_Accept_r reads the head itself with blocking reads, and
 * allocates each parameter at the length the peer declares: a peer that sends
 * nothing holds the worker forever, and one 60 MB parameter is 60 MB of
 * memory before fmgate sees a byte. So a worker first looks at the head with
 * recv(MSG_PEEK): only when the whole of it is in the socket's buffer, within
 * LIMIT_MAX_FCGI_HEAD bytes and well formed, does libfcgi read it (from memory
 * the kernel already holds, without blocking).
 *
 * Well formed is what web servers send: one FCGI_BEGIN_REQUEST for the
 * responder role (request id not 0, 8 bytes of body), then FCGI_PARAMS
 * records of the same id up to an empty one, whose name-value pairs each fit
 * in what was sent; neither the begin record nor the empty one is padded
 * (libfcgi 2.4 would read their padding as a record header). Anything else (management records, other roles, another
 * id, a pair declaring more bytes than the records hold) is FCGI_HEAD_BAD.
 *
 * Memory: fcgi_head_wait() uses a static buffer of LIMIT_MAX_FCGI_HEAD + 1
 * bytes (one process, one connection at a time); fcgi_head_parse() reads the
 * caller's bytes only.
 */
#ifndef FMGATE_FCGI_HEAD_H
#define FMGATE_FCGI_HEAD_H

#include <stddef.h>
#include <stdint.h>

enum fcgi_head_err {
	FCGI_HEAD_OK = 0,
	FCGI_HEAD_MORE,      /* fcgi_head_parse: complete so far, more bytes needed */
	FCGI_HEAD_IDLE,      /* nothing arrived before the deadline */
	FCGI_HEAD_TIMEOUT,   /* part of a head arrived, not all of it, before the deadline */
	FCGI_HEAD_TOO_LARGE, /* the head would exceed LIMIT_MAX_FCGI_HEAD bytes */
	FCGI_HEAD_BAD,       /* not a responder's begin record and parameters */
	FCGI_HEAD_CLOSED,    /* the peer closed the connection, or it failed */
};

/* Judges the first n bytes of a connection. */
enum fcgi_head_err fcgi_head_parse(const unsigned char *p, size_t n);

/*
 * Waits until fd holds a whole head, or deadline (clock_mono_ms()) passes.
 * Returns FCGI_HEAD_OK (the head is unread, in fd's buffer), or why not; never
 * FCGI_HEAD_MORE.
 */
enum fcgi_head_err fcgi_head_wait(int fd, int64_t deadline);

const char *fcgi_head_strerror(enum fcgi_head_err e);

#endif
