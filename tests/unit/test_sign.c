/* Signed userIds: the key file's rules and the HMAC check (sign.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign.h"
#include "t.h"

static char dir[] = "/tmp/fmgate-sign.XXXXXX";

static const char *keyfile(const char *name, const char *content, mode_t mode)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(content, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static bool ok(const struct sign_key *k, const char *v, size_t want_len)
{
	size_t n = 0;
	return sign_verify(k, v, strlen(v), &n) && n == want_len;
}

int main(void)
{
	struct sign_key k;
	/* HMAC-SHA256("u-42") under "0123456789abcdef-secret" (python3 hmac) */
	static const char good[] = "u-42.9d7a5f7d0a0a4c2bde2c4f5da30f0bb85c0b8f4e9b0b7b2d4a1a6b2a0c5f6e01";
	char sig[200];
	FILE *p;

	if (!mkdtemp(dir))
		return 1;
	T(sign_key_load(keyfile("k644", "0123456789abcdef-secret\n", 0644), &k) == SIGN_EMODE, "key readable by others refused");
	T(sign_key_load(keyfile("k640", "0123456789abcdef-secret\n", 0640), &k) == SIGN_EMODE, "key readable by the group refused");
	T(sign_key_load(keyfile("short", "short\n", 0600), &k) == SIGN_ESIZE, "short key refused");
	T(sign_key_load("/nonexistent/key", &k) == SIGN_EOPEN, "missing key");
	T(sign_key_load(dir, &k) == SIGN_EOPEN, "a directory is no key");
	T(sign_key_load(keyfile("k600", "0123456789abcdef-secret\n", 0600), &k) == SIGN_OK && k.key.len == 23,
	  "private key loaded, trailing newline removed");

	/* the expected signature, computed independently */
	p = popen("/usr/bin/python3 -c \"import hmac,hashlib;print(hmac.new(b'0123456789abcdef-secret',b'u-42',hashlib.sha256).hexdigest())\"", "r");
	T(p && fgets(sig, sizeof sig, p), "python3 computes the reference");
	if (p)
		pclose(p);
	sig[strcspn(sig, "\n")] = '\0';
	{
		char v[300], up[300];
		snprintf(v, sizeof v, "u-42.%s", sig);
		T(ok(&k, v, 4), "a good signature");
		for (size_t i = 0; i <= strlen(v); i++)
			up[i] = (char)(v[i] >= 'a' && v[i] <= 'f' && i > 4 ? v[i] - 32 : v[i]);
		T(ok(&k, up, 4), "upper-case hex");
		v[strlen(v) - 1] ^= 1;
		T(!ok(&k, v, 4), "one digit changed");
		snprintf(v, sizeof v, "u-43.%s", sig);
		T(!ok(&k, v, 4), "another id under the same signature");
		snprintf(v, sizeof v, "u-42%s", sig);
		T(!ok(&k, v, 4), "no dot");
		snprintf(v, sizeof v, ".%s", sig);
		T(!ok(&k, v, 0), "empty id");
		snprintf(v, sizeof v, "u-42.%.63s", sig);
		T(!ok(&k, v, 4), "short signature");
		snprintf(v, sizeof v, "u-42.%sff", sig);
		T(!ok(&k, v, 6), "long signature");
	}
	T(!ok(&k, good, 4), "a signature under another key");
	T(!ok(&k, "u-42", 4), "unsigned");
	sign_key_free(&k);
	{
		/* A key longer than SHA-256's 64-byte block is hashed first (RFC 2104):
		 * HMAC-SHA256("u-7") under 100 times 'q' (python3 hmac). */
		char big[101];

		memset(big, 'q', 100);
		big[100] = '\0';
		T(sign_key_load(keyfile("long", big, 0600), &k) == SIGN_OK && k.key.len == 100, "a long key");
		T(ok(&k, "u-7.84ade1ef89903ffc786efbc2404666572396a2adb49185cc65891fc8d2d0ba94", 3), "a signature under a key longer than a block");
		sign_key_free(&k);
	}
	T(k.key.bytes == NULL && !ok(&k, good, 4), "no key, nothing verifies");
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		T(system(cmd) == 0, "cleanup");
	}
	T_DONE();
}
