/*
 * secret.h: a secret read from a file, by one rule for every key, password
 * and secret (the Freshmarketer API key, CAPTCHA secrets, signing keys, the
 * SMTP password, webhook secrets, the Segment write key; docs/deploy.md): a
 * regular file, not a link, that neither group nor others may read or write,
 * owned by root or by the user fmgate runs as (its effective uid), since its
 * owner can rewrite it or open it up at any time; trailing white space is not
 * part of it. The file is opened first and judged by fstat() on that
 * descriptor, so what is judged is what is read.
 *
 * Ownership: a struct secret owns its bytes, NUL-terminated (len excludes
 * the NUL); secret_free() wipes and releases them. A zeroed secret is empty.
 */
#ifndef FMGATE_SECRET_H
#define FMGATE_SECRET_H

#include <stddef.h>

#define SECRET_READ_MAX 65536u  /* the largest max a caller may ask */

struct secret {
	char *bytes;
	size_t len;
};

enum secret_err {
	SECRET_OK = 0,
	SECRET_EOPEN,   /* missing, unreadable, a link, not a regular file */
	SECRET_EMODE,   /* group or others may read or write it */
	SECRET_EOWNER,  /* owned by a user other than root or the effective uid */
	SECRET_ESIZE,   /* shorter than min or longer than max bytes */
	SECRET_ENOMEM,
};

/* Reads the file at `path` (min..max bytes once trailing white space is cut;
 * max at most SECRET_READ_MAX). On error *s is left empty. */
enum secret_err secret_load(const char *path, size_t min, size_t max, struct secret *s);
void secret_free(struct secret *s);
const char *secret_strerror(enum secret_err e);

#endif
