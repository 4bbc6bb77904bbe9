/*
 * buf.h: a growable byte buffer with a hard maximum, and the growth of capped
 * arrays.
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

/*
 * The same rule for arrays of elem-byte items: a full array of *cap items
 * grows to twice as many (first the first time), never past max. Returns
 * the new array and sets *cap; NULL, with v and *cap unchanged, when out of
 * memory or already at max. Whether a full array at max is refused or cut is
 * the caller's decision, made before calling.
 */
__attribute__((warn_unused_result))
void *buf_grow_array(void *v, size_t *cap, size_t elem, size_t first, size_t max);

#endif
