/*
 * hash.h: FNV-1a, 64 bits: the one non-cryptographic hash of fmgate. It names
 * spool files (the userId's hash), fingerprints the API key in SPOOL/state and
 * places throttle keys, so its values are stable across processes, versions
 * and machines: changing it would orphan every spooled file.
 *
 * Ownership: pure; nothing is kept.
 */
#ifndef FMGATE_HASH_H
#define FMGATE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV_INIT 14695981039346656037ULL   /* the FNV-1a 64 offset basis */

/* FNV-1a over n bytes at p, continuing from h (start with HASH_FNV_INIT). */
uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n);

#endif
