/*
 * redact.h: a keyed hash of an email for log lines, which carry that hash and
 * never submitted values (docs/behaviour.md, "Processes").
 *
 * The key is 32 random bytes in SPOOL/state/log.key (0600), made by the first
 * process that needs it, so every process of one installation writes the same
 * word for the same email and an operator can follow one visitor through the
 * log; without the key nobody can test a guessed email against it. When the
 * file cannot be read or made, the process uses a key of its own (logged
 * once): hashes then only compare within that process.
 */
#ifndef FMGATE_REDACT_H
#define FMGATE_REDACT_H

#include <stdbool.h>

#define REDACT_KEY_SIZE 32
#define REDACT_HEX_SIZE 17   /* 16 hex digits (64 bits of HMAC-SHA256) and NUL */

struct redact {
	unsigned char key[REDACT_KEY_SIZE];
	bool ready;
};

/* Loads or makes the installation's key under spool_dir. Never fails: see above. */
void redact_init(struct redact *r, const char *spool_dir);

/* The hash of an email, lower-cased first: 16 hex digits ("-" when r is not ready). */
void redact_email(const struct redact *r, const char *email, char out[REDACT_HEX_SIZE]);

#endif
