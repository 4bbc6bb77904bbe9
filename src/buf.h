/*
 * buf.h: a growable byte buffer with a hard maximum.
 *
 * Every buffer is created with the most it may ever hold; an append past it
 * fails (BUF_EFULL) instead of growing without end. The content is always
 * NUL-terminated. The buffer owns its memory; buf_free() releases it, and
 * buf_take() hands it to the caller.
 */
#ifndef FMGATE_BUF_H
#define FMGATE_BUF_H

#include <stddef.h>

struct buf {
	char *p;
	size_t len;
	size_t cap;
	size_t max;
};

enum buf_err { BUF_OK = 0, BUF_EFULL, BUF_ENOMEM };

void buf_init(struct buf *b, size_t max);
__attribute__((warn_unused_result))
enum buf_err buf_add(struct buf *b, const void *data, size_t len);
__attribute__((warn_unused_result))
enum buf_err buf_adds(struct buf *b, const char *s);
__attribute__((warn_unused_result, format(printf, 2, 3)))
enum buf_err buf_printf(struct buf *b, const char *fmt, ...);
/* The content ("" when empty; never NULL). */
const char *buf_str(const struct buf *b);
/* Gives the malloc'd content to the caller (NULL when empty) and resets b. */
char *buf_take(struct buf *b);
void buf_free(struct buf *b);

#endif
