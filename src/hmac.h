/*
 * hmac.h: HMAC-SHA256 (RFC 2104) with a key prepared once: the inner and
 * outer digest states of the key are computed when it is set, so each MAC
 * costs two digest copies and the message, not a fresh key setup (the
 * one-shot HMAC() fetched the algorithm and set up the key on every call, an
 * eighth of a submission's instructions). Used for the email hash of log
 * lines (redact.h) and for signed userIds (sign.h).
 *
 * Not for concurrent use: a key keeps one working state, and fmgate's
 * processes are single-threaded.
 *
 * Ownership: a struct hmac_key owns its digest states; zero-initialised it is
 * empty, hmac_key_set() (re)prepares it, hmac_key_free() releases it.
 */
#ifndef FMGATE_HMAC_H
#define FMGATE_HMAC_H

#include <stdbool.h>
#include <stddef.h>

#define HMAC_SHA256_SIZE 32   /* bytes of a MAC */
#define HMAC_MAX_KEY     4096u /* bytes of a key (longer keys are refused) */

struct evp_md_ctx_st;

struct hmac_key {
	struct evp_md_ctx_st *inner, *outer, *work;
	bool ready;
};

enum hmac_err {
	HMAC_OK = 0,
	HMAC_EKEY,      /* a key over HMAC_MAX_KEY bytes, or a MAC asked of an empty key */
	HMAC_ENOMEM,
	HMAC_ECRYPTO,   /* the digest failed (the crypto library refused) */
};

/* Prepares k for key[0..len) (a key longer than the digest's block is hashed
 * first, as RFC 2104 says). On error k is empty. */
enum hmac_err hmac_key_set(struct hmac_key *k, const void *key, size_t len);
void hmac_key_free(struct hmac_key *k);

/* The MAC of msg[0..n) under k into mac. */
enum hmac_err hmac_sha256(const struct hmac_key *k, const void *msg, size_t n,
                          unsigned char mac[HMAC_SHA256_SIZE]);

#endif
