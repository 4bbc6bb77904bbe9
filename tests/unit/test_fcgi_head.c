/* fcgi_head_parse (fcgi_head.c): a FastCGI request head is judged from the
 * bytes so far: complete, incomplete, over LIMIT_MAX_FCGI_HEAD (known from a
 * record's header, before its bytes arrive), or not a responder's request. */
#include <string.h>

#include "fcgi_head.h"
#include "fmgate_limits.h"
#include "t.h"

static unsigned char buf[4 * LIMIT_MAX_FCGI_HEAD];
static size_t len;

static void rec(unsigned type, unsigned id, const void *content, size_t clen, unsigned pad)
{
	unsigned char h[8] = { 1, (unsigned char)type, (unsigned char)(id >> 8), (unsigned char)id,
	                       (unsigned char)(clen >> 8), (unsigned char)clen, (unsigned char)pad, 0 };

	memcpy(buf + len, h, 8);
	if (content)
		memcpy(buf + len + 8, content, clen);
	else
		memset(buf + len + 8, 'x', clen);
	memset(buf + len + 8 + clen, 0, pad);
	len += 8 + clen + pad;
}

static void begin(unsigned id, unsigned role)
{
	unsigned char b[8] = { (unsigned char)(role >> 8), (unsigned char)role, 0 };

	len = 0;
	rec(1, id, b, 8, 0);
}

/* A head whose one parameter has a v-byte value, in records of at most
 * 1000 bytes; returns its length. */
static size_t one_value(size_t v)
{
	static unsigned char p[2 * LIMIT_MAX_FCGI_HEAD];
	size_t n = 0;

	p[n++] = 1;
	p[n++] = (unsigned char)(0x80 | v >> 24);
	p[n++] = (unsigned char)(v >> 16);
	p[n++] = (unsigned char)(v >> 8);
	p[n++] = (unsigned char)v;
	p[n++] = 'X';
	memset(p + n, 'x', v);
	n += v;
	begin(1, 1);
	for (size_t off = 0; off < n; off += 1000)
		rec(4, 1, p + off, n - off < 1000 ? n - off : 1000, 0);
	rec(4, 1, "", 0, 0);
	return len;
}

static const unsigned char path[] = "\x09\x08PATH_INFO/contact";

int main(void)
{
	/* A whole head, and each of its prefixes is incomplete. */
	begin(1, 1);
	rec(4, 1, path, sizeof path - 1, 3);
	rec(4, 1, "", 0, 0);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_OK, "a whole head");
	for (size_t n = 0; n < len; n++)
		T(fcgi_head_parse(buf, n) == FCGI_HEAD_MORE, "a prefix of %zu bytes: more", n);
	/* The body may follow in the same bytes. */
	rec(5, 1, "email=a", 7, 0);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_OK, "head and body");

	/* Not a responder's request. */
	begin(1, 2);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_BAD, "the authorizer role");
	begin(0, 1);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_BAD, "request id 0 (a management record)");
	len = 0;
	rec(9, 0, "", 0, 0);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_BAD, "FCGI_GET_VALUES first");
	begin(1, 1);
	rec(4, 2, path, sizeof path - 1, 0);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_BAD, "parameters of another request");
	begin(1, 1);
	rec(5, 1, "", 0, 0);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_BAD, "stdin before the parameters end");
	begin(1, 1);
	buf[0] = 2;
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_BAD, "version 2");
	/* A pair that declares more than was sent: libfcgi would allocate it. */
	begin(1, 1);
	rec(4, 1, "\x09\xff\xff\xff\xffPATH_INFO", 14, 0);
	rec(4, 1, "", 0, 0);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_BAD, "a value longer than the parameters");
	begin(1, 1);
	rec(4, 1, "\x89\x00", 2, 0);
	rec(4, 1, "", 0, 0);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_BAD, "a length cut short");
	/* A pair may span records. */
	begin(1, 1);
	rec(4, 1, path, 5, 0);
	rec(4, 1, path + 5, sizeof path - 1 - 5, 0);
	rec(4, 1, "", 0, 0);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_OK, "a pair over two records");

	/* The cap: known from a record's header. */
	begin(1, 1);
	rec(4, 1, NULL, 65535, 0);
	T(fcgi_head_parse(buf, 8 + 8 + 8) == FCGI_HEAD_TOO_LARGE, "a 64 KiB record: too large at its header");
	/* One parameter of v bytes, in records of 1000: the largest head that
	 * fits is whole, one byte more is too large. */
	size_t v = 60000;

	while (one_value(v + 1) <= LIMIT_MAX_FCGI_HEAD)
		v++;
	T(one_value(v) == LIMIT_MAX_FCGI_HEAD || one_value(v + 1) > LIMIT_MAX_FCGI_HEAD, "cap found");
	one_value(v);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_OK, "a %zu-byte head: whole", len);
	one_value(v + 1);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_TOO_LARGE, "a %zu-byte head: too large", len);
	begin(1, 1);
	while (len <= LIMIT_MAX_FCGI_HEAD)
		rec(4, 1, NULL, 1000, 0);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_TOO_LARGE, "records past the cap");
	begin(1, 1);
	rec(4, 1, "", 0, 0);
	rec(4, 1, NULL, 0, 255);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_OK, "the first empty record ends the parameters");

	/* Padding libfcgi 2.4 would read as the next record's header: on the
	 * begin record, a parameters header fmgate never judged; on the empty
	 * record, a header read as the body's. Known from the header alone. */
	len = 0;
	rec(1, 1, "\0\1\0\0\0\0\0\0", 8, 8);
	T(fcgi_head_parse(buf, 8) == FCGI_HEAD_BAD, "a padded begin record");
	rec(4, 1, path, sizeof path - 1, 0);
	rec(4, 1, "", 0, 0);
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_BAD, "a padded begin record, then a whole head");
	begin(1, 1);
	rec(4, 1, path, sizeof path - 1, 0);
	rec(4, 1, "", 0, 1);
	T(fcgi_head_parse(buf, len - 1) == FCGI_HEAD_BAD, "a padded empty record");
	T(fcgi_head_parse(buf, len) == FCGI_HEAD_BAD, "a padded empty record, with its padding");

	for (int a = FCGI_HEAD_OK; a <= FCGI_HEAD_CLOSED; a++)
		for (int b = FCGI_HEAD_OK; b < a; b++)
			T(strcmp(fcgi_head_strerror(a), fcgi_head_strerror(b)) != 0, "strerror %d == %d", a, b);
	T_DONE();
}
