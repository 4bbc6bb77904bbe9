/* sign.c: HMAC-SHA256 signed userIds. */
#include "sign.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIGN_HEX (2 * HMAC_SHA256_SIZE)   /* hex digits of a signature */

enum sign_err sign_key_load(const char *path, struct sign_key *k)
{
	unsigned char buf[SIGN_KEY_MAX + 1];
	enum sign_err e = SIGN_OK;
	struct stat st;
	ssize_t n = 0;
	int fd;

	memset(k, 0, sizeof *k);
	/* O_NONBLOCK: a FIFO named as the key must not hang the loader. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		e = SIGN_EOPEN;
		goto out;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) {
		e = SIGN_EMODE;
		goto out;
	}
	n = read(fd, buf, sizeof buf);
	if (n < 0) {
		e = SIGN_EOPEN;
		goto out;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
	                 buf[n - 1] == '\t'))
		n--;
	if (n < SIGN_KEY_MIN || n > SIGN_KEY_MAX) {
		e = SIGN_ESIZE;
		goto out;
	}
	k->bytes = malloc((size_t)n);
	if (!k->bytes) {
		e = SIGN_ENOMEM;
		goto out;
	}
	memcpy(k->bytes, buf, (size_t)n);
	k->len = (size_t)n;
	/* Prepared once: a worker verifies many signatures under one key. */
	if (hmac_key_set(&k->mac, k->bytes, k->len) != HMAC_OK) {
		sign_key_free(k);
		e = SIGN_ENOMEM;
	}
out:
	OPENSSL_cleanse(buf, sizeof buf);
	if (fd >= 0)
		close(fd);
	return e;
}

void sign_key_free(struct sign_key *k)
{
	if (k->bytes)
		OPENSSL_cleanse(k->bytes, k->len);
	free(k->bytes);
	k->bytes = NULL;
	k->len = 0;
	hmac_key_free(&k->mac);
}

const char *sign_strerror(enum sign_err e)
{
	switch (e) {
	case SIGN_OK: return "ok";
	case SIGN_EOPEN: return "cannot read the key file";
	case SIGN_EMODE: return "the key file is readable or writable by group or others";
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
