/*
 * secret.h: a secret read from a file: the Freshmarketer API key's rule for
 * every key, password and secret (docs/deploy.md): a regular file, not a
 * link, that neither group nor others may read or write; trailing white
 * space is not part of it.
 *
 * Ownership: a struct secret owns its bytes, NUL-terminated (len excludes
 * the NUL); secret_free() wipes and releases them. A zeroed secret is empty.
 */
#ifndef FMGATE_SECRET_H
#define FMGATE_SECRET_H

#include <stddef.h>

struct secret {
	char *bytes;
	size_t len;
};

enum secret_err {
	SECRET_OK = 0,
	SECRET_EOPEN,   /* missing, unreadable, a link, not a regular file */
	SECRET_EMODE,   /* group or others may read or write it */
	SECRET_ESIZE,   /* shorter than min or longer than max bytes */
	SECRET_ENOMEM,
};

/* Reads the file at `path` (min..max bytes once trailing white space is cut;
 * max at most 65536). On error *s is left empty. */
enum secret_err secret_load(const char *path, size_t min, size_t max, struct secret *s);
void secret_free(struct secret *s);
const char *secret_strerror(enum secret_err e);

#endif
