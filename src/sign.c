/* sign.c: HMAC-SHA256 signed userIds. */
#include "sign.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"

#define SIGN_HEX (2 * HMAC_SHA256_SIZE)   /* hex digits of a signature */

enum sign_err sign_key_load(const char *path, struct sign_key *k)
{
	memset(k, 0, sizeof *k);
	switch (secret_load(path, SIGN_KEY_MIN, SIGN_KEY_MAX, &k->key)) {
	case SECRET_OK:     break;
	case SECRET_EOPEN:  return SIGN_EOPEN;
	case SECRET_EMODE:  return SIGN_EMODE;
	case SECRET_EOWNER: return SIGN_EOWNER;
	case SECRET_ESIZE:  return SIGN_ESIZE;
	case SECRET_ENOMEM: return SIGN_ENOMEM;
	}
	/* Prepared once: a worker verifies many signatures under one key. */
	if (hmac_key_set(&k->mac, k->key.bytes, k->key.len) != HMAC_OK) {
		sign_key_free(k);
		return SIGN_ENOMEM;
	}
	return SIGN_OK;
}

void sign_key_free(struct sign_key *k)
{
	secret_free(&k->key);
	hmac_key_free(&k->mac);
}

const char *sign_strerror(enum sign_err e)
{
	switch (e) {
	case SIGN_OK: return "ok";
	case SIGN_EOPEN: return "cannot read the key file";
	case SIGN_EMODE: return "the key file is readable or writable by group or others";
	case SIGN_EOWNER: return "the key file belongs to a user other than root or the one fmgate runs as";
	case SIGN_ESIZE: return "the key must hold 16 to 1024 bytes";
	case SIGN_ENOMEM: return "out of memory";
	}
	return "unknown error";
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

bool sign_verify(const struct sign_key *k, const char *value, size_t len, size_t *id_len)
{
	unsigned char want[HMAC_SHA256_SIZE], got[HMAC_SHA256_SIZE];
	const char *sig;
	size_t idl;

	if (!k->mac.ready || len < SIGN_HEX + 2)
		return false;
	idl = len - SIGN_HEX - 1;
	if (value[idl] != '.')
		return false;
	sig = value + idl + 1;
	for (size_t i = 0; i < SIGN_HEX / 2; i++) {
		int hi = hexval(sig[2 * i]), lo = hexval(sig[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		got[i] = (unsigned char)(hi << 4 | lo);
	}
	if (hmac_sha256(&k->mac, value, idl, want) != HMAC_OK ||
	    CRYPTO_memcmp(want, got, sizeof got) != 0)
		return false;
	*id_len = idl;
	return true;
}
