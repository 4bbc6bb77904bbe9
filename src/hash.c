/* hash.c: FNV-1a, 64 bits (see hash.h). */
#include "hash.h"

#define FNV_PRIME 1099511628211ULL

uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= FNV_PRIME;
	}
	return h;
}
