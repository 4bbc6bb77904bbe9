/* test_redact.c: the keyed hash of emails in log lines (redact.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redact.h"
#include "t.h"

static void key_of(struct redact *r, unsigned char first)
{
	for (int i = 0; i < REDACT_KEY_SIZE; i++)
		r->key[i] = (unsigned char)(i * 7 + 1);
	r->key[0] = first;
	r->ready = true;
}

/* Expected values: HMAC-SHA256 by Python's hmac module, first 8 bytes. */
static void test_vectors(void)
{
	struct redact a, b;
	char out[REDACT_HEX_SIZE];

	key_of(&a, 1);
	key_of(&b, 1 ^ 0xff);
	redact_email(&a, "ann@example.com", out);
	T_STREQ(out, "dcac8e4c612d0c17", "HMAC-SHA256 of the email, 16 hex digits");
	redact_email(&a, "Ann@EXAMPLE.com", out);
	T_STREQ(out, "dcac8e4c612d0c17", "lower-cased before hashing");
	redact_email(&a, "", out);
	T_STREQ(out, "61441727616675ef", "the empty string");
	/* A second key in one process: the prepared state follows the key. */
	redact_email(&b, "ann@example.com", out);
	T_STREQ(out, "28a5f3fea9430d47", "another key, another hash");
	redact_email(&a, "ann@example.com", out);
	T_STREQ(out, "dcac8e4c612d0c17", "back to the first key");
	for (int i = 0; i < 1000; i++)
		redact_email(&a, "ann@example.com", out);
	T_STREQ(out, "dcac8e4c612d0c17", "stable over many calls");
}

static void test_not_ready(void)
{
	struct redact r;
	char out[REDACT_HEX_SIZE], big[300];

	key_of(&r, 1);
	r.ready = false;
	redact_email(&r, "ann@example.com", out);
	T_STREQ(out, "-", "no key: -");
	r.ready = true;
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	redact_email(&r, big, out);
	T_STREQ(out, "-", "an email over 256 bytes: -");
}

static void test_key_file(void)
{
	char dir[] = "/tmp/fmgate-redact.XXXXXX", path[128];
	struct redact a, b;
	char ha[REDACT_HEX_SIZE], hb[REDACT_HEX_SIZE];
	struct stat sb;

	if (!mkdtemp(dir)) {
		T(0, "mkdtemp");
		return;
	}
	redact_init(&a, dir);
	redact_init(&b, dir);
	T(a.ready && b.ready, "key made and read");
	snprintf(path, sizeof path, "%s/state/log.key", dir);
	T(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == REDACT_KEY_SIZE,
	  "log.key: 32 bytes, 0600");
	redact_email(&a, "ann@example.com", ha);
	redact_email(&b, "ann@example.com", hb);
	T_STREQ(ha, hb, "two processes' keys hash alike");
	unlink(path);
	snprintf(path, sizeof path, "%s/state", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	test_vectors();
	test_not_ready();
	test_key_file();
	T_DONE();
}
