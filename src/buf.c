/* buf.c: bounded growable buffer. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* Makes room for `extra` more bytes plus the NUL, within the maximum. */
static enum buf_err buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return BUF_EFULL;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return BUF_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->p, cap);
	if (!p)
		return BUF_ENOMEM;
	b->p = p;
	b->cap = cap;
	return BUF_OK;
}

enum buf_err buf_add(struct buf *b, const void *data, size_t len)
{
	enum buf_err e = buf_reserve(b, len);

	if (e != BUF_OK)
		return e;
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return BUF_OK;
}

enum buf_err buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* One vsnprintf() when the text fits the room already there (the usual
 * case: answers are small), a second one only after growing. */
enum buf_err buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	enum buf_err e;
	size_t room;
	int n;

	if (!b->p && (e = buf_reserve(b, b->max < 128 ? b->max : 128)) != BUF_OK)
		return e;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->p[b->len] = '\0';
		return BUF_EFULL;
	}
	if ((size_t)n >= room) {
		b->p[b->len] = '\0';
		if ((e = buf_reserve(b, (size_t)n)) != BUF_OK)
			return e;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return BUF_OK;
}

const char *buf_str(const struct buf *b)
{
	return b->p ? b->p : "";
}

char *buf_take(struct buf *b)
{
	char *p = b->p;

	buf_init(b, b->max);
	return p;
}

void buf_free(struct buf *b)
{
	free(b->p);
	buf_init(b, b->max);
}

void *buf_grow_array(void *v, size_t *cap, size_t elem, size_t first, size_t max)
{
	size_t n = *cap == 0 ? first : *cap > max / 2 ? max : *cap * 2;
	void *nv;

	if (n > max)
		n = max;
	if (n <= *cap || elem == 0 || n > SIZE_MAX / elem)
		return NULL;
	nv = realloc(v, n * elem);
	if (nv)
		*cap = n;
	return nv;
}
