/* redact.c: HMAC-SHA256 of emails under the installation's log key. */
#include "redact.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hmac.h"
#include "log.h"
#include "statedir.h"

#define KEY_FILE "log.key"   /* in SPOOL/state */

static bool read_key(struct statedir *sd, unsigned char key[REDACT_KEY_SIZE])
{
	char *s = NULL;
	size_t n = 0;
	bool ok = statedir_read(sd, KEY_FILE, REDACT_KEY_SIZE, &s, &n) == STATEDIR_OK &&
	          n == REDACT_KEY_SIZE;

	if (ok)
		memcpy(key, s, REDACT_KEY_SIZE);
	if (s)
		explicit_bzero(s, n);
	free(s);
	return ok;
}

/* Makes the key file; another process may win the race, then we read its. */
static bool make_key(struct statedir *sd, unsigned char key[REDACT_KEY_SIZE])
{
	unsigned char fresh[REDACT_KEY_SIZE];
	enum statedir_err e;

	if (getrandom(fresh, sizeof fresh, 0) != (ssize_t)sizeof fresh)
		return false;
	e = statedir_write(sd, KEY_FILE, fresh, sizeof fresh, STATEDIR_KEEP);
	explicit_bzero(fresh, sizeof fresh);
	return (e == STATEDIR_OK || e == STATEDIR_EEXIST) && read_key(sd, key);
}

void redact_init(struct redact *r, const char *spool_dir)
{
	enum statedir_err e;
	/* A folder this process may not write still lends the key it holds. */
	struct statedir *sd = statedir_open(spool_dir, STATEDIR_WRITE, &e);
	bool writer = sd != NULL;

	if (!sd)
		sd = statedir_open(spool_dir, STATEDIR_READ, &e);
	r->ready = sd && (read_key(sd, r->key) || (writer && make_key(sd, r->key)));
	statedir_close(sd);
	if (r->ready)
		return;
	log_msg(LOG_WARN, "cannot read or make %s/%s/" KEY_FILE ": email hashes in this "
	        "process's log lines compare only with each other", spool_dir, STATEDIR_NAME);
	r->ready = getrandom(r->key, sizeof r->key, 0) == (ssize_t)sizeof r->key;
}

/* The prepared key for the last key used, for the life of the process. */
static struct {
	unsigned char key[REDACT_KEY_SIZE];
	struct hmac_key mac;
} pre;

void redact_email(const struct redact *r, const char *email, char out[REDACT_HEX_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[HMAC_SHA256_SIZE], low[256];
	size_t n = strlen(email);

	if (!r->ready || n > sizeof low) {
		out[0] = '-';
		out[1] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++)
		low[i] = (unsigned char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
	if ((!pre.mac.ready || memcmp(pre.key, r->key, REDACT_KEY_SIZE) != 0) &&
	    hmac_key_set(&pre.mac, r->key, REDACT_KEY_SIZE) == HMAC_OK)
		memcpy(pre.key, r->key, REDACT_KEY_SIZE);
	if (hmac_sha256(&pre.mac, low, n, mac) != HMAC_OK) {
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
