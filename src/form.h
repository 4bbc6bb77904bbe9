/*
 * form.h: request bodies to (name, value) pairs.
 *
 * Pure functions over a buffer, so that unit tests and fuzzers call them
 * directly. Both parsers refuse: a bad %-escape, a decoded NUL, invalid UTF-8
 * in a name or value, a name longer than LIMIT_MAX_FIELD_NAME, and more than
 * lim->max_fields pairs. A value longer than lim->max_value (after decoding) is
 * not an error of the body: the pair is kept with too_long set and an empty
 * value, so that the mapping can report `too_long` for that field, or drop it
 * when the field is not mapped. Nothing longer than the limits is allocated.
 *
 * Multipart: parts with a filename parameter in any form (filename,
 * filename*, the RFC 2231 continuations filename*0, filename*0*..., any case,
 * even with a value this reader cannot parse) are file uploads, refused as
 * FORM_EFILE; a part without a name is malformed. Part headers other than
 * Content-Disposition and Content-Type are ignored; a part's Content-Type other
 * than text/plain (with any charset parameter) is FORM_EFILE too.
 *
 * Ownership: the pairs and their strings belong to `out`; release them with
 * form_pairs_free(), on success and on failure alike.
 */
#ifndef FMGATE_FORM_H
#define FMGATE_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "fmgate_limits.h"

struct form_pair {
	char *name;       /* decoded, NUL-terminated, valid UTF-8 */
	char *value;      /* decoded, NUL-terminated, valid UTF-8; "" when too_long */
	size_t value_len;
	bool too_long;    /* decoded value exceeded max_value */
};

struct form_pairs {
	struct form_pair *v;
	size_t n;
	size_t cap;
};

enum form_err {
	FORM_OK = 0,
	FORM_EMALFORMED,   /* bad syntax, bad escape, NUL, invalid UTF-8: 400 */
	FORM_ETOOMANY,     /* more than max_fields pairs: 413 */
	FORM_EUNSUPPORTED, /* content type neither urlencoded nor multipart: 415 */
	FORM_EFILE,        /* a multipart file part: 415 (uploads are not accepted) */
	FORM_ENOMEM,       /* allocation failed: 500 */
};

/* Parses an application/x-www-form-urlencoded body. Empty pieces between '&'
 * are skipped; a piece without '=' is a name with an empty value. */
enum form_err form_parse_urlencoded(const char *buf, size_t len,
                                    const struct form_limits *lim,
                                    struct form_pairs *out);

/* Parses a multipart/form-data body; content_type is the whole header value,
 * from which the boundary parameter is taken (quoted or not). */
enum form_err form_parse_multipart(const char *buf, size_t len,
                                   const char *content_type,
                                   const struct form_limits *lim,
                                   struct form_pairs *out);

/* Chooses the parser by content type (media type compared case-insensitively,
 * parameters allowed). A NULL or empty content type is FORM_EUNSUPPORTED. */
enum form_err form_parse(const char *content_type, const char *buf, size_t len,
                         const struct form_limits *lim, struct form_pairs *out);

/* Whether a pair is named `name`; the number of pairs named `name`, and the
 * first of them (NULL when none). */
bool form_pair_is(const struct form_pair *pair, const char *name);
size_t form_count(const struct form_pairs *p, const char *name);
const struct form_pair *form_get(const struct form_pairs *p, const char *name);

void form_pairs_free(struct form_pairs *p);

const char *form_strerror(enum form_err e);

#endif
