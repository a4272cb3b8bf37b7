/*
 * mutate: seeded random damage to a text, for the "bad input never crashes" tests. Each round
 * makes a few edits: a byte changed (to a character the grammar under test cares about, and
 * optionally now and then to NUL or 0xff), a run removed, a run duplicated, or the text cut
 * short. The same seed gives the same damage, so a failing round can be replayed.
 */
#ifndef MUTATE_H
#define MUTATE_H

#include <stddef.h>
#include <stdint.h>

struct mut_opts {
	const char *mo_alphabet; /* characters a changed byte takes */
	int mo_max_edits;        /* 1..this edits per round */
	int mo_change_weight;    /* how many of the edit kinds' draws change a byte (1 or 2) */
	int mo_odd_bytes;        /* also NUL (1 in 17) and 0xff (1 in 13) for changed bytes */
	size_t mo_max_remove;    /* longest run removed */
	size_t mo_max_dup;       /* longest run duplicated */
};

/* The next value of the xorshift64 generator at *s (never seed it with 0). */
uint64_t mut_next(uint64_t *s);

/*
 * Damage the n bytes at buf in place; the buffer holds cap bytes (duplication never grows
 * the text past cap). Returns the new length.
 */
size_t mut_apply(char *buf, size_t n, size_t cap, const struct mut_opts *o, uint64_t *seed);

#endif
