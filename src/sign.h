/*
 * sign.h: unforgeable userIds. A form field declared
 * <from-field name="uid" signed-with="KEYFILE"/> must hold "ID.SIGNATURE",
 * where SIGNATURE is the lower- or upper-case hex HMAC-SHA256 of ID under the
 * bytes of KEYFILE (trailing white space removed), as the site's own code
 * issues it (PHP: hash_hmac('sha256', $id, $key)). Anything else counts as no
 * userId from that field.
 *
 * Ownership: a sign_key holds its own copy of the key (a struct secret) and, once loaded, the
 * key prepared for HMAC (hmac.h); sign_key_free() wipes and releases both. A
 * zeroed sign_key is empty and verifies nothing.
 */
#ifndef FMGATE_SIGN_H
#define FMGATE_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "hmac.h"
#include "secret.h"

#define SIGN_KEY_MIN 16     /* bytes: shorter keys are refused */
#define SIGN_KEY_MAX 1024

struct sign_key {
	struct secret key;     /* the file's bytes (secret.h) */
	struct hmac_key mac;   /* them, prepared */
};

enum sign_err {
	SIGN_OK = 0,
	SIGN_EOPEN,     /* missing, unreadable, not a regular file */
	SIGN_EMODE,     /* group or others may read or write it */
	SIGN_EOWNER,    /* owned by a user other than root or the effective uid */
	SIGN_ESIZE,     /* shorter than SIGN_KEY_MIN or longer than SIGN_KEY_MAX */
	SIGN_ENOMEM,    /* or the key could not be prepared */
};

/* Reads the key file. On error *k is left empty. */
enum sign_err sign_key_load(const char *path, struct sign_key *k);
void sign_key_free(struct sign_key *k);
const char *sign_strerror(enum sign_err e);

/*
 * True when value[0..len) is "ID.HEX" with a non-empty ID and HEX the HMAC of
 * ID under k (compared in constant time); *id_len is then the length of ID.
 */
bool sign_verify(const struct sign_key *k, const char *value, size_t len, size_t *id_len);

#endif
