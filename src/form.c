/*
 * form.c: application/x-www-form-urlencoded and multipart/form-data bodies to
 * (name, value) pairs (see form.h).
 *
 * Every parse starts by emptying `out` and, on failure, frees what it had
 * built, so a caller never sees half a body. Each pair's strings are sized from
 * lengths checked against the limits first: a too-long value is validated in
 * place and never copied.
 */
#include "form.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "text.h"

#define PAIRS_INITIAL 8u  /* first allocation of the pairs array */

static const char MT_URLENCODED[] = "application/x-www-form-urlencoded";
static const char MT_MULTIPART[] = "multipart/form-data";

const char *form_strerror(enum form_err e)
{
	switch (e) {
	case FORM_OK:           return "ok";
	case FORM_EMALFORMED:   return "malformed form body";
	case FORM_ETOOMANY:     return "too many form fields";
	case FORM_EUNSUPPORTED: return "unsupported content type";
	case FORM_EFILE:        return "file uploads are not accepted";
	case FORM_ENOMEM:       return "out of memory";
	}
	return "unknown form error";
}

void form_pairs_free(struct form_pairs *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].value);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
	p->cap = 0;
}

bool form_pair_is(const struct form_pair *pair, const char *name)
{
	/* The first byte in line: most names differ there, and every mapped
	 * field is held against every pair. */
	return pair->name && pair->name[0] == name[0] && strcmp(pair->name, name) == 0;
}

size_t form_count(const struct form_pairs *p, const char *name)
{
	size_t n = 0;

	if (!p || !name)
		return 0;
	for (size_t i = 0; i < p->n; i++)
		if (form_pair_is(&p->v[i], name))
			n++;
	return n;
}

const struct form_pair *form_get(const struct form_pairs *p, const char *name)
{
	if (!p || !name)
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		if (form_pair_is(&p->v[i], name))
			return &p->v[i];
	return NULL;
}

/* Makes room for one more pair. The array doubles, but never past max_fields:
 * one pair too many is refused before anything is allocated for it. */
static enum form_err pairs_reserve(struct form_pairs *p, size_t max_fields)
{
	struct form_pair *v;

	if (p->n >= max_fields)
		return FORM_ETOOMANY;
	if (p->n < p->cap)
		return FORM_OK;
	if (!(v = buf_grow_array(p->v, &p->cap, sizeof *v, PAIRS_INITIAL, max_fields)))
		return FORM_ENOMEM;
	p->v = v;
	return FORM_OK;
}

static char *dup_bytes(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* A pair as found in the body, its name and value already checked. */
struct pair_src {
	const char *name;
	size_t nlen;        /* decoded length of the name */
	bool decode;        /* urlencoded: name and value are %-encoded */
	size_t name_raw;    /* bytes of the encoded name, when decode */
	const char *value;
	size_t vlen;        /* decoded length of the value */
	size_t value_raw;   /* bytes of the encoded value, when decode */
};

/* Appends a copy of the pair; a value over max_value becomes "" with
 * too_long set, without being copied. */
static enum form_err pairs_add(struct form_pairs *p, const struct form_limits *lim,
                               const struct pair_src *s)
{
	struct form_pair pair = { NULL, NULL, 0, false };
	enum form_err e;

	e = pairs_reserve(p, lim->max_fields);
	if (e != FORM_OK)
		goto fail;
	e = FORM_ENOMEM;
	if (s->decode) {
		pair.name = malloc(s->nlen + 1);
		if (!pair.name || text_urldecode(s->name, s->name_raw, pair.name, true) < 0)
			goto fail;
	} else {
		pair.name = dup_bytes(s->name, s->nlen);
		if (!pair.name)
			goto fail;
	}
	if (s->vlen > lim->max_value) {
		pair.too_long = true;
		pair.value = dup_bytes("", 0);
		if (!pair.value)
			goto fail;
	} else if (s->decode) {
		pair.value = malloc(s->vlen + 1);
		if (!pair.value || text_urldecode(s->value, s->value_raw, pair.value, true) < 0)
			goto fail;
		pair.value_len = s->vlen;
	} else {
		pair.value = dup_bytes(s->value, s->vlen);
		if (!pair.value)
			goto fail;
		pair.value_len = s->vlen;
	}
	p->v[p->n++] = pair;
	return FORM_OK;
fail:
	free(pair.name);
	free(pair.value);
	return e;
}

/* ---- application/x-www-form-urlencoded ---- */

/* Non-empty pieces between '&': the number of pairs the body would give. */
static size_t count_pieces(const char *buf, size_t len)
{
	size_t n = 0;
	bool in_piece = false;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '&') {
			in_piece = false;
		} else if (!in_piece) {
			in_piece = true;
			n++;
		}
	}
	return n;
}

static enum form_err urlencoded_piece(const char *s, size_t len,
                                      const struct form_limits *lim,
                                      struct form_pairs *out)
{
	const char *eq = memchr(s, '=', len);
	struct pair_src src = { 0 };

	src.decode = true;
	src.name = s;
	src.name_raw = eq ? (size_t)(eq - s) : len;
	src.value = eq ? eq + 1 : s + len;
	src.value_raw = eq ? len - src.name_raw - 1 : 0;
	if (src.name_raw == 0)
		return FORM_EMALFORMED;
	if (!text_urldecode_check(src.name, src.name_raw, true, &src.nlen) ||
	    src.nlen > LIMIT_MAX_FIELD_NAME)
		return FORM_EMALFORMED;
	/* Checked in full even when too long: a bad value is a bad body. */
	if (!text_urldecode_check(src.value, src.value_raw, true, &src.vlen))
		return FORM_EMALFORMED;
	return pairs_add(out, lim, &src);
}

enum form_err form_parse_urlencoded(const char *buf, size_t len,
                                    const struct form_limits *lim,
                                    struct form_pairs *out)
{
	enum form_err e = FORM_OK;
	size_t i = 0;

	memset(out, 0, sizeof *out);
	if (len == 0)
		return FORM_OK;
	/* Refuse a flood before decoding or allocating any of it. */
	if (count_pieces(buf, len) > lim->max_fields)
		return FORM_ETOOMANY;
	while (i < len) {
		const char *amp = memchr(buf + i, '&', len - i);
		size_t plen = amp ? (size_t)(amp - (buf + i)) : len - i;

		if (plen > 0) {
			e = urlencoded_piece(buf + i, plen, lim, out);
			if (e != FORM_OK)
				goto fail;
		}
		i += plen + 1;
	}
	return FORM_OK;
fail:
	form_pairs_free(out);
	return e;
}

/* ---- shared bits of header syntax ---- */

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* s[0..n) equals the NUL-terminated lit, ASCII case-insensitively. */
static bool ieq_n(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lit[i] == '\0' || lower((unsigned char)s[i]) != lower((unsigned char)lit[i]))
			return false;
	return lit[i] == '\0';
}

/* The media type of a Content-Type value (before any ';', white space
 * trimmed) is `want`. */
static bool media_type_is(const char *ct, const char *want)
{
	size_t n = 0;

	if (!ct)
		return false;
	while (is_ows((unsigned char)*ct))
		ct++;
	while (ct[n] != '\0' && ct[n] != ';')
		n++;
	while (n > 0 && is_ows((unsigned char)ct[n - 1]))
		n--;
	return ieq_n(ct, n, want);
}

/* A cursor over s[0..n), for header values read like a grammar. */
struct cur {
	const char *s;
	size_t n, i;
};

static void cur_ows(struct cur *c)
{
	while (c->i < c->n && is_ows((unsigned char)c->s[c->i]))
		c->i++;
}

static bool cur_eat(struct cur *c, char ch)
{
	if (c->i < c->n && c->s[c->i] == ch) {
		c->i++;
		return true;
	}
	return false;
}

/* A token; false when empty. */
static bool cur_token(struct cur *c, const char **tok, size_t *len)
{
	size_t start = c->i;

	while (c->i < c->n && is_tchar((unsigned char)c->s[c->i]))
		c->i++;
	*tok = c->s + start;
	*len = c->i - start;
	return *len > 0;
}

/*
 * A parameter value: a token, or a quoted string. The quoted string ends at
 * the next '"' with no escape processing, as browsers write it (WHATWG
 * escapes '"' in names as %22 and leaves '\' alone); a value with a backslash
 * is reported through *backslash, since RFC 2045 senders would mean an escape
 * by it and the two readings differ.
 */
static bool cur_param_value(struct cur *c, const char **val, size_t *len, bool *backslash)
{
	size_t start;

	*backslash = false;
	if (!cur_eat(c, '"'))
		return cur_token(c, val, len);
	start = c->i;
	while (c->i < c->n && c->s[c->i] != '"') {
		unsigned char ch = (unsigned char)c->s[c->i];

		if (ch == '\\')
			*backslash = true;
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return false;
		c->i++;
	}
	if (c->i == c->n)
		return false;
	*val = c->s + start;
	*len = c->i - start;
	c->i++;
	return true;
}

/* One ";" OWS name OWS "=" OWS value. False on bad syntax. */
static bool cur_param(struct cur *c, const char **name, size_t *nlen,
                      const char **val, size_t *vlen, bool *backslash)
{
	if (!cur_eat(c, ';'))
		return false;
	cur_ows(c);
	if (!cur_token(c, name, nlen))
		return false;
	cur_ows(c);
	if (!cur_eat(c, '='))
		return false;
	cur_ows(c);
	return cur_param_value(c, val, vlen, backslash);
}

/* ---- multipart/form-data ---- */

/* RFC 2046 bcharsnospace; a boundary may also hold spaces, not at its end. */
static bool is_bchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("'()+_,-./:=? ", c) != NULL;
}

/* The delimiter "\r\n--" BOUNDARY; the body's first one may lack the CRLF. */
struct delim {
	char s[4 + LIMIT_MAX_BOUNDARY];
	size_t len;
};

static enum form_err mp_boundary(const char *ct, struct delim *d)
{
	struct cur c = { ct, strlen(ct), 0 };
	const char *b = NULL;
	size_t blen = 0;

	while (c.i < c.n && c.s[c.i] != ';')
		c.i++;
	while (c.i < c.n) {
		const char *name, *val;
		size_t nlen, vlen;
		bool backslash;

		if (!cur_param(&c, &name, &nlen, &val, &vlen, &backslash))
			return FORM_EMALFORMED;
		cur_ows(&c);
		if (!ieq_n(name, nlen, "boundary"))
			continue;
		/* A backslash fails the bchar check below. */
		if (b)
			return FORM_EMALFORMED;
		b = val;
		blen = vlen;
	}
	if (!b || blen == 0 || blen > LIMIT_MAX_BOUNDARY || b[blen - 1] == ' ')
		return FORM_EMALFORMED;
	for (size_t i = 0; i < blen; i++)
		if (!is_bchar((unsigned char)b[i]))
			return FORM_EMALFORMED;
	memcpy(d->s, "\r\n--", 4);
	memcpy(d->s + 4, b, blen);
	d->len = 4 + blen;
	return FORM_OK;
}

/* What the headers of one part said. */
struct part_head {
	bool disposition, content_type, file, text_plain;
	const char *name;
	size_t nlen;
};

/*
 * A parameter called base, or base followed by '*': RFC 5987's "base*" and the
 * RFC 2231 continuations "base*0", "base*0*", "base*1"..., in any case.
 */
static bool is_param_family(const char *name, size_t n, const char *base)
{
	size_t blen = strlen(base);

	return n >= blen && ieq_n(name, blen, base) && (n == blen || name[blen] == '*');
}

/*
 * Any parameter that names a file. Whatever a sender means by the rest, a part
 * that names a file is an upload, and its body must never become a field's
 * value.
 */
static bool is_filename_param(const char *name, size_t n)
{
	return is_param_family(name, n, "filename");
}

static enum form_err mp_disposition(const char *v, size_t n, struct part_head *h)
{
	struct cur c = { v, n, 0 };
	const char *tok;
	size_t tlen;
	bool starred = false;

	if (h->disposition)
		return FORM_EMALFORMED;
	h->disposition = true;
	if (!cur_token(&c, &tok, &tlen) || !ieq_n(tok, tlen, "form-data"))
		return FORM_EMALFORMED;
	cur_ows(&c);
	while (c.i < c.n) {
		const char *pname = NULL, *val;
		size_t pnlen = 0, vlen;
		bool backslash;

		/* A file's name in a syntax this reader refuses (an RFC 2231
		 * value is not always a token) still marks an upload. */
		if (!cur_param(&c, &pname, &pnlen, &val, &vlen, &backslash)) {
			h->file = h->file || is_filename_param(pname, pnlen);
			return h->file ? FORM_EFILE : FORM_EMALFORMED;
		}
		cur_ows(&c);
		if (is_filename_param(pname, pnlen)) {
			h->file = true;
		} else if (ieq_n(pname, pnlen, "name")) {
			if (h->name || backslash)
				return FORM_EMALFORMED;
			h->name = val;
			h->nlen = vlen;
		} else if (is_param_family(pname, pnlen, "name")) {
			/* RFC 7578 forbids "name*" in form-data and browsers never
			 * send it: read or ignored, it could name another field
			 * than the "name" beside it, as another reader sees it.
			 * An upload's own refusal comes first, wherever its
			 * filename stands. */
			starred = true;
		}
	}
	return starred && !h->file ? FORM_EMALFORMED : FORM_OK;
}

static enum form_err mp_content_type(const char *v, size_t n, struct part_head *h)
{
	size_t mlen = 0;

	if (h->content_type || n == 0)
		return FORM_EMALFORMED;
	h->content_type = true;
	while (mlen < n && v[mlen] != ';')
		mlen++;
	while (mlen > 0 && is_ows((unsigned char)v[mlen - 1]))
		mlen--;
	h->text_plain = ieq_n(v, mlen, "text/plain");
	return FORM_OK;
}

/* One header line (without its CRLF). */
static enum form_err mp_header_line(const char *l, size_t n, struct part_head *h)
{
	const char *colon = memchr(l, ':', n);
	size_t nlen, vstart, vend;

	/* No obsolete line folding; no name without a colon. */
	if (!colon || colon == l)
		return FORM_EMALFORMED;
	nlen = (size_t)(colon - l);
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar((unsigned char)l[i]))
			return FORM_EMALFORMED;
	for (size_t i = nlen + 1; i < n; i++)
		if (l[i] == '\0' || l[i] == '\r' || l[i] == '\n')
			return FORM_EMALFORMED;
	vstart = nlen + 1;
	vend = n;
	while (vstart < vend && is_ows((unsigned char)l[vstart]))
		vstart++;
	while (vend > vstart && is_ows((unsigned char)l[vend - 1]))
		vend--;
	if (ieq_n(l, nlen, "Content-Disposition"))
		return mp_disposition(l + vstart, vend - vstart, h);
	if (ieq_n(l, nlen, "Content-Type"))
		return mp_content_type(l + vstart, vend - vstart, h);
	return FORM_OK;
}

/*
 * One part, from just after its delimiter line to just after the delimiter
 * that ends it (*pos is moved there). The header block, each line with its
 * CRLF but not the blank line, is at most LIMIT_MAX_MULTIPART_HEAD bytes.
 */
static enum form_err mp_part(const char *buf, size_t len, size_t *pos,
                             const struct delim *d, const struct form_limits *lim,
                             struct form_pairs *out)
{
	const char *head = buf + *pos, *end, *dl;
	size_t rest = len - *pos, window, hlen, body;
	struct part_head h = { 0 };
	struct pair_src src = { 0 };
	enum form_err e;

	window = rest < LIMIT_MAX_MULTIPART_HEAD + 2 ? rest : LIMIT_MAX_MULTIPART_HEAD + 2;
	/* A part that starts with the blank line has no Content-Disposition. */
	if (window < 2 || (head[0] == '\r' && head[1] == '\n'))
		return FORM_EMALFORMED;
	end = memmem(head, window, "\r\n\r\n", 4);
	if (!end)
		return FORM_EMALFORMED;
	hlen = (size_t)(end - head) + 2;
	for (size_t i = 0; i < hlen;) {
		const char *eol = memmem(head + i, hlen - i, "\r\n", 2);
		size_t llen = (size_t)(eol - (head + i));

		e = mp_header_line(head + i, llen, &h);
		if (e != FORM_OK)
			return e;
		i += llen + 2;
	}
	if (h.file)
		return FORM_EFILE;
	if (!h.name || h.nlen == 0 || h.nlen > LIMIT_MAX_FIELD_NAME ||
	    !text_utf8_valid(h.name, h.nlen))
		return FORM_EMALFORMED;
	if (h.content_type && !h.text_plain)
		return FORM_EFILE;

	body = *pos + hlen + 2;
	dl = memmem(buf + body, len - body, d->s, d->len);
	if (!dl)
		return FORM_EMALFORMED;
	src.name = h.name;
	src.nlen = h.nlen;
	src.value = buf + body;
	src.vlen = (size_t)(dl - (buf + body));
	/* Values are raw bytes: NUL and bad UTF-8 are refused, even when long. */
	if (!text_utf8_valid(src.value, src.vlen))
		return FORM_EMALFORMED;
	e = pairs_add(out, lim, &src);
	if (e != FORM_OK)
		return e;
	*pos = (size_t)(dl - buf) + d->len;
	return FORM_OK;
}

static bool at(const char *buf, size_t len, size_t pos, const char *lit, size_t n)
{
	return len - pos >= n && memcmp(buf + pos, lit, n) == 0;
}

enum form_err form_parse_multipart(const char *buf, size_t len,
                                   const char *content_type,
                                   const struct form_limits *lim,
                                   struct form_pairs *out)
{
	struct delim d;
	size_t pos;
	enum form_err e;

	memset(out, 0, sizeof *out);
	if (!media_type_is(content_type, MT_MULTIPART))
		return FORM_EUNSUPPORTED;
	e = mp_boundary(content_type, &d);
	if (e != FORM_OK)
		return e;
	e = FORM_EMALFORMED;
	if (len == 0)
		goto fail;
	/* The first delimiter opens the body, or ends a preamble (ignored). */
	if (at(buf, len, 0, d.s + 2, d.len - 2)) {
		pos = d.len - 2;
	} else {
		const char *first = memmem(buf, len, d.s, d.len);

		if (!first)
			goto fail;
		pos = (size_t)(first - buf) + d.len;
	}
	for (;;) {
		/* After a delimiter: "--" closes the body; otherwise transport
		 * padding and CRLF, then a part. */
		if (at(buf, len, pos, "--", 2)) {
			pos += 2;
			while (pos < len && is_ows((unsigned char)buf[pos]))
				pos++;
			/* Anything after the close delimiter's CRLF is an epilogue. */
			if (pos != len && !at(buf, len, pos, "\r\n", 2))
				goto fail;
			return FORM_OK;
		}
		while (pos < len && is_ows((unsigned char)buf[pos]))
			pos++;
		if (!at(buf, len, pos, "\r\n", 2))
			goto fail;
		pos += 2;
		e = mp_part(buf, len, &pos, &d, lim, out);
		if (e != FORM_OK)
			goto fail;
		e = FORM_EMALFORMED;
	}
fail:
	form_pairs_free(out);
	return e;
}

enum form_err form_parse(const char *content_type, const char *buf, size_t len,
                         const struct form_limits *lim, struct form_pairs *out)
{
	if (media_type_is(content_type, MT_URLENCODED))
		return form_parse_urlencoded(buf, len, lim, out);
	if (media_type_is(content_type, MT_MULTIPART))
		return form_parse_multipart(buf, len, content_type, lim, out);
	memset(out, 0, sizeof *out);
	return FORM_EUNSUPPORTED;
}
