/* test_hash.c: FNV-1a 64 (hash.h) and HMAC-SHA256 with a prepared key (hmac.h). */
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "hmac.h"
#include "t.h"

static void hex_of(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* The MAC of msg under key, as hex ("" when refused). */
static const char *mac_hex(struct hmac_key *k, const void *key, size_t klen, const char *msg)
{
	static char out[2 * HMAC_SHA256_SIZE + 1];
	unsigned char mac[HMAC_SHA256_SIZE];

	out[0] = '\0';
	if (hmac_key_set(k, key, klen) == HMAC_OK && hmac_sha256(k, msg, strlen(msg), mac) == HMAC_OK)
		hex_of(mac, sizeof mac, out);
	return out;
}

static void test_fnv(void)
{
	/* The published FNV-1a 64 test values; spool file names depend on them. */
	T(hash_fnv1a(HASH_FNV_INIT, "", 0) == 0xcbf29ce484222325ULL, "empty");
	T(hash_fnv1a(HASH_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL, "\"a\"");
	T(hash_fnv1a(HASH_FNV_INIT, "foobar", 6) == 0x85944171f73967e8ULL, "\"foobar\"");
	T(hash_fnv1a(hash_fnv1a(HASH_FNV_INIT, "foo", 3), "bar", 3) == 0x85944171f73967e8ULL,
	  "continued from a prefix: the same as in one go");
}

static void test_hmac(void)
{
	struct hmac_key k = { 0 };
	unsigned char key[200], mac[HMAC_SHA256_SIZE];

	/* RFC 4231, test cases 1, 2 and 6 (a key longer than a block). */
	memset(key, 0x0b, 20);
	T_STREQ(mac_hex(&k, key, 20, "Hi There"),
	        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", "RFC 4231 case 1");
	T_STREQ(mac_hex(&k, "Jefe", 4, "what do ya want for nothing?"),
	        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "RFC 4231 case 2");
	memset(key, 0xaa, 131);
	T_STREQ(mac_hex(&k, key, 131, "Test Using Larger Than Block-Size Key - Hash Key First"),
	        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", "RFC 4231 case 6");
	/* Either side of the block size (Python's hmac module). */
	memset(key, 'k', 65);
	T_STREQ(mac_hex(&k, key, 64, "x"),
	        "f91c4c403625fb06910ef93999265bbd2d62baeaec6ff36455498cc124fe3e66", "a 64-byte key");
	T_STREQ(mac_hex(&k, key, 65, "x"),
	        "75092ca3ee2b307470c227697b42b3e65376aa3bae98fb5a1f7b7536daa9588a", "a 65-byte key");
	/* The prepared key serves many messages. */
	for (int i = 0; i < 3; i++)
		T(hmac_sha256(&k, "x", 1, mac) == HMAC_OK, "again %d", i);
	{
		char h[2 * HMAC_SHA256_SIZE + 1];

		hex_of(mac, sizeof mac, h);
		T_STREQ(h, "75092ca3ee2b307470c227697b42b3e65376aa3bae98fb5a1f7b7536daa9588a",
		        "the same MAC each time");
	}
	T(hmac_key_set(&k, key, HMAC_MAX_KEY + 1) == HMAC_EKEY && !k.ready, "a key over the limit");
	T(hmac_sha256(&k, "x", 1, mac) == HMAC_EKEY, "and no MAC from it");
	hmac_key_free(&k);
	T(!k.ready && !k.inner, "freed: empty");
	hmac_key_free(&k);
	T(hmac_sha256(&k, "x", 1, mac) == HMAC_EKEY, "an empty key makes no MAC");
}

int main(void)
{
	test_fnv();
	test_hmac();
	T_DONE();
}
