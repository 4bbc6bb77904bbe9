/* redact.c: HMAC-SHA256 of emails under the installation's log key. */
#include "redact.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "limits.h"
#include "log.h"

static bool read_key(const char *path, unsigned char key[REDACT_KEY_SIZE])
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, key, REDACT_KEY_SIZE);
	close(fd);
	return n == REDACT_KEY_SIZE;
}

/* Makes the key file; another process may win the race, then we read its. */
static bool make_key(const char *dir, const char *path, unsigned char key[REDACT_KEY_SIZE])
{
	unsigned char fresh[REDACT_KEY_SIZE];
	char tmp[LIMIT_MAX_URL + 64];
	int fd, n;
	bool ok;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return false;
	if (getrandom(fresh, sizeof fresh, 0) != (ssize_t)sizeof fresh)
		return false;
	n = snprintf(tmp, sizeof tmp, "%s/.log.key.%ld", dir, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof tmp)
		return false;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	ok = io_write_all(fd, (const char *)fresh, sizeof fresh) == 0 && fsync(fd) == 0;
	close(fd);
	/* link() fails when the key exists already: the first writer wins. */
	if (ok && link(tmp, path) != 0 && errno != EEXIST)
		ok = false;
	unlink(tmp);
	return ok && read_key(path, key);
}

void redact_init(struct redact *r, const char *spool_dir)
{
	char dir[LIMIT_MAX_URL + 16], path[LIMIT_MAX_URL + 32];
	int a = snprintf(dir, sizeof dir, "%s/state", spool_dir);
	int b = snprintf(path, sizeof path, "%s/state/log.key", spool_dir);

	r->ready = false;
	if (a > 0 && (size_t)a < sizeof dir && b > 0 && (size_t)b < sizeof path &&
	    (read_key(path, r->key) || make_key(dir, path, r->key))) {
		r->ready = true;
		return;
	}
	log_msg(LOG_WARN, "cannot read or make %s/state/log.key: email hashes in this "
	        "process's log lines compare only with each other", spool_dir);
	r->ready = getrandom(r->key, sizeof r->key, 0) == (ssize_t)sizeof r->key;
}

/*
 * HMAC-SHA256 with the key's inner and outer digest states prepared once
 * (RFC 2104): the one-shot HMAC() fetched the algorithm and set up the key on
 * every call, an eighth of a submission's instructions. The states are kept
 * for the last key used, for the life of the process.
 */
static struct {
	unsigned char key[REDACT_KEY_SIZE];
	EVP_MD_CTX *inner, *outer, *work;
	bool ready;
} pre;

static bool pad_state(EVP_MD_CTX *ctx, const unsigned char *key, unsigned char with)
{
	unsigned char pad[64];
	bool ok;

	memset(pad, with, sizeof pad);
	for (size_t i = 0; i < REDACT_KEY_SIZE; i++)
		pad[i] ^= key[i];
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, pad, sizeof pad);
	explicit_bzero(pad, sizeof pad);
	return ok;
}

static bool prepare(const unsigned char key[REDACT_KEY_SIZE])
{
	if (pre.ready && memcmp(pre.key, key, REDACT_KEY_SIZE) == 0)
		return true;
	pre.ready = false;
	if ((!pre.inner && !(pre.inner = EVP_MD_CTX_new())) ||
	    (!pre.outer && !(pre.outer = EVP_MD_CTX_new())) ||
	    (!pre.work && !(pre.work = EVP_MD_CTX_new())) ||
	    !pad_state(pre.inner, key, 0x36) || !pad_state(pre.outer, key, 0x5c))
		return false;
	memcpy(pre.key, key, REDACT_KEY_SIZE);
	pre.ready = true;
	return true;
}

static bool hmac_sha256(const unsigned char key[REDACT_KEY_SIZE], const unsigned char *msg,
                        size_t n, unsigned char mac[EVP_MAX_MD_SIZE])
{
	unsigned char inner[EVP_MAX_MD_SIZE];
	unsigned int ilen = 0, mlen = 0;

	return prepare(key) && EVP_MD_CTX_copy_ex(pre.work, pre.inner) &&
	       EVP_DigestUpdate(pre.work, msg, n) && EVP_DigestFinal_ex(pre.work, inner, &ilen) &&
	       EVP_MD_CTX_copy_ex(pre.work, pre.outer) &&
	       EVP_DigestUpdate(pre.work, inner, ilen) && EVP_DigestFinal_ex(pre.work, mac, &mlen) &&
	       mlen >= 8;
}

void redact_email(const struct redact *r, const char *email, char out[REDACT_HEX_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE], low[256];
	size_t n = strlen(email);

	if (!r->ready || n > sizeof low) {
		out[0] = '-';
		out[1] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++)
		low[i] = (unsigned char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
	if (!hmac_sha256(r->key, low, n, mac)) {
		out[0] = '-';
		out[1] = '\0';
		return;
	}
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[16] = '\0';
}
