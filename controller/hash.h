/*
 * hash: 64-bit FNV-1a, the one hash of the controller's in-memory tables (interned strings,
 * store keys, metric series, reconcile state, the learned-request ledger) and of the model
 * checkpoint's checksum. None of these faces an attacker who picks keys to collide at scale
 * (keys are Kubernetes names the API server already bounds), so a fast, simple hash is enough;
 * hash_fnv1a can be chained to hash several pieces as one.
 */
#ifndef HASH_H
#define HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV_INIT UINT64_C(14695981039346656037)

/* Continue the FNV-1a hash h over the n bytes at p (start with HASH_FNV_INIT). */
static inline uint64_t
hash_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* The hash of a NUL-terminated string. */
static inline uint64_t
hash_str(const char *s)
{
	uint64_t h = HASH_FNV_INIT;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

#endif
