/* hmac.c: HMAC-SHA256 with the key's digest states prepared once (hmac.h). */
#include "hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#define BLOCK 64   /* SHA-256's block size in bytes */

/* ctx = SHA-256 state after one block of the key XOR `with`. */
static bool pad_state(EVP_MD_CTX *ctx, const unsigned char *key, size_t len, unsigned char with)
{
	unsigned char pad[BLOCK];
	bool ok;

	memset(pad, with, sizeof pad);
	for (size_t i = 0; i < len; i++)
		pad[i] ^= key[i];
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, pad, sizeof pad);
	OPENSSL_cleanse(pad, sizeof pad);
	return ok;
}

enum hmac_err hmac_key_set(struct hmac_key *k, const void *key, size_t len)
{
	unsigned char hashed[HMAC_SHA256_SIZE];
	unsigned int hlen = 0;
	enum hmac_err e = HMAC_OK;

	k->ready = false;
	if (len > HMAC_MAX_KEY)
		return HMAC_EKEY;
	if ((!k->inner && !(k->inner = EVP_MD_CTX_new())) ||
	    (!k->outer && !(k->outer = EVP_MD_CTX_new())) ||
	    (!k->work && !(k->work = EVP_MD_CTX_new())))
		return HMAC_ENOMEM;
	if (len > BLOCK) {
		if (!EVP_Digest(key, len, hashed, &hlen, EVP_sha256(), NULL)) {
			e = HMAC_ECRYPTO;
			goto out;
		}
		key = hashed;
		len = hlen;
	}
	if (!pad_state(k->inner, key, len, 0x36) || !pad_state(k->outer, key, len, 0x5c))
		e = HMAC_ECRYPTO;
	k->ready = e == HMAC_OK;
out:
	OPENSSL_cleanse(hashed, sizeof hashed);
	return e;
}

void hmac_key_free(struct hmac_key *k)
{
	EVP_MD_CTX_free(k->inner);
	EVP_MD_CTX_free(k->outer);
	EVP_MD_CTX_free(k->work);
	memset(k, 0, sizeof *k);
}

enum hmac_err hmac_sha256(const struct hmac_key *k, const void *msg, size_t n,
                          unsigned char mac[HMAC_SHA256_SIZE])
{
	unsigned char inner[EVP_MAX_MD_SIZE];
	unsigned int ilen = 0, mlen = 0;

	if (!k->ready)
		return HMAC_EKEY;
	if (!EVP_MD_CTX_copy_ex(k->work, k->inner) || !EVP_DigestUpdate(k->work, msg, n) ||
	    !EVP_DigestFinal_ex(k->work, inner, &ilen) || !EVP_MD_CTX_copy_ex(k->work, k->outer) ||
	    !EVP_DigestUpdate(k->work, inner, ilen) || !EVP_DigestFinal_ex(k->work, mac, &mlen) ||
	    mlen != HMAC_SHA256_SIZE)
		return HMAC_ECRYPTO;
	return HMAC_OK;
}
