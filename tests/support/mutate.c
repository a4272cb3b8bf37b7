#include "mutate.h"

#include <string.h>

uint64_t
mut_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

size_t
mut_apply(char *buf, size_t n, size_t cap, const struct mut_opts *o, uint64_t *seed)
{
	size_t alen = strlen(o->mo_alphabet);
	int kinds = o->mo_change_weight + 3;
	int edits = 1 + (int)(mut_next(seed) % (uint64_t)o->mo_max_edits);
	for (int k = 0; k < edits && n > 0; k++) {
		size_t at = (size_t)(mut_next(seed) % n);
		int kind = (int)(mut_next(seed) % (uint64_t)kinds) - (o->mo_change_weight - 1);
		if (kind <= 0) { /* change a byte */
			uint64_t v = mut_next(seed);
			if (o->mo_odd_bytes && v % 17 == 0)
				buf[at] = '\0';
			else if (o->mo_odd_bytes && v % 13 == 0)
				buf[at] = (char)0xff;
			else
				buf[at] = o->mo_alphabet[v % alen];
		} else if (kind == 1) { /* remove a run */
			size_t run = 1 + (size_t)(mut_next(seed) % o->mo_max_remove);
			if (at + run > n)
				run = n - at;
			memmove(buf + at, buf + at + run, n - at - run);
			n -= run;
		} else if (kind == 2) { /* duplicate a run */
			size_t run = 1 + (size_t)(mut_next(seed) % o->mo_max_dup);
			if (at + run > n)
				run = n - at;
			if (n + run <= cap) {
				memmove(buf + at + run, buf + at, n - at);
				n += run;
			}
		} else { /* cut short */
			n = at;
		}
	}
	return n;
}
