/* ledger: the bounded set of request outcomes already learned (see ledger.h). */
#include "ledger.h"
#include "hash.h"

#include "cc_err.h"
#include "xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LDG_MIN 16

struct ldg_ent {
	uint64_t e_hash;
	int64_t e_when;
};

struct ldg {
	struct ldg_ent *l_ent;   /* owned, l_n used of l_max */
	size_t l_n, l_max;
	uint32_t *l_slot;        /* open addressing: entry index + 1, 0 empty */
	size_t l_nslot;          /* a power of two, at least twice l_max */
	int64_t l_floor;         /* outcomes at or before it count as learned */
};

/* The slot holding hash h, or the empty slot where it would go. */
static size_t
ldg_find(const struct ldg *l, uint64_t h)
{
	size_t mask = l->l_nslot - 1, i = (size_t)(h ^ (h >> 29)) & mask;
	while (l->l_slot[i] != 0 && l->l_ent[l->l_slot[i] - 1].e_hash != h)
		i = (i + 1) & mask;
	return i;
}

static void
ldg_reindex(struct ldg *l)
{
	memset(l->l_slot, 0, l->l_nslot * sizeof *l->l_slot);
	for (size_t k = 0; k < l->l_n; k++)
		l->l_slot[ldg_find(l, l->l_ent[k].e_hash)] = (uint32_t)(k + 1);
}

struct ldg *
ldg_new(size_t max)
{
	if (max < LDG_MIN)
		max = LDG_MIN;
	if (max > (1u << 24))
		max = 1u << 24; /* the slots hold 32-bit indexes; far more than a cluster needs */
	struct ldg *l = xcalloc(1, sizeof *l);
	l->l_max = max;
	l->l_ent = xcalloc(max, sizeof *l->l_ent);
	l->l_nslot = 1;
	while (l->l_nslot < 2 * max)
		l->l_nslot <<= 1;
	l->l_slot = xcalloc(l->l_nslot, sizeof *l->l_slot);
	l->l_floor = INT64_MIN;
	return l;
}

void
ldg_free(struct ldg *l)
{
	if (l == NULL)
		return;
	free(l->l_ent);
	free(l->l_slot);
	free(l);
}

static int
ldg_has_hash(const struct ldg *l, uint64_t h, int64_t when)
{
	if (when <= l->l_floor)
		return 1;
	return l->l_slot[ldg_find(l, h)] != 0;
}

int
ldg_has(const struct ldg *l, const char *id, int64_t when)
{
	return ldg_has_hash(l, hash_str(id), when);
}

static int
ldg_when_cmp(const void *x, const void *y)
{
	const struct ldg_ent *a = x, *b = y;
	return a->e_when < b->e_when ? -1 : a->e_when > b->e_when;
}

/* Full: drop the oldest quarter and raise the floor over them. */
static void
ldg_evict(struct ldg *l)
{
	qsort(l->l_ent, l->l_n, sizeof *l->l_ent, ldg_when_cmp);
	size_t drop = l->l_n / 4;
	if (drop == 0)
		drop = 1;
	if (l->l_ent[drop - 1].e_when > l->l_floor)
		l->l_floor = l->l_ent[drop - 1].e_when;
	/* entries tied with the new floor are covered by it as well */
	while (drop < l->l_n && l->l_ent[drop].e_when <= l->l_floor)
		drop++;
	memmove(l->l_ent, l->l_ent + drop, (l->l_n - drop) * sizeof *l->l_ent);
	l->l_n -= drop;
	ldg_reindex(l);
}

static int
ldg_add_hash(struct ldg *l, uint64_t h, int64_t when)
{
	if (ldg_has_hash(l, h, when))
		return 0;
	if (l->l_n == l->l_max) {
		ldg_evict(l);
		if (when <= l->l_floor)
			return 1; /* the floor now covers it */
	}
	l->l_ent[l->l_n].e_hash = h;
	l->l_ent[l->l_n].e_when = when;
	l->l_n++;
	l->l_slot[ldg_find(l, h)] = (uint32_t)l->l_n;
	return 1;
}

int
ldg_add(struct ldg *l, const char *id, int64_t when)
{
	return ldg_add_hash(l, hash_str(id), when);
}

size_t
ldg_count(const struct ldg *l)
{
	return l->l_n;
}

int64_t
ldg_floor(const struct ldg *l)
{
	return l->l_floor;
}

int
ldg_format(const struct ldg *l, struct buf *out)
{
	if (buf_printf(out, "floor %" PRId64 "\nentries %zu\n", l->l_floor, l->l_n) != CC_OK)
		return CC_ERR_TOOBIG;
	for (size_t k = 0; k < l->l_n; k++)
		if (buf_printf(out, "%016" PRIx64 " %" PRId64 "\n", l->l_ent[k].e_hash,
			l->l_ent[k].e_when) != CC_OK)
			return CC_ERR_TOOBIG;
	return CC_OK;
}

/* A cursor over the lines of the text being parsed. */
struct ldg_rd {
	const char *r_p, *r_end;
	size_t r_line;
	char r_buf[96];            /* the current line, NUL-terminated */
};

/* The next line into r_buf. 0 at the end, -1 for a line that is too long or unterminated. */
static int
ldg_line(struct ldg_rd *r)
{
	if (r->r_p >= r->r_end)
		return 0;
	r->r_line++;
	const char *nl = memchr(r->r_p, '\n', (size_t)(r->r_end - r->r_p));
	if (nl == NULL)
		return -1;
	size_t n = (size_t)(nl - r->r_p);
	if (n >= sizeof r->r_buf || memchr(r->r_p, '\0', n) != NULL)
		return -1;
	memcpy(r->r_buf, r->r_p, n);
	r->r_buf[n] = '\0';
	r->r_p = nl + 1;
	return 1;
}

/* A decimal int64 spanning s exactly (optional '-', digits only). */
static int
ldg_int(const char *s, int64_t *out)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	if (d[0] == '\0' || strspn(d, "0123456789") != strlen(d))
		return -1;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int
ldg_fail(char *err, size_t errsz, size_t line, const char *what)
{
	if (errsz)
		snprintf(err, errsz, "ledger line %zu: %s", line, what);
	return CC_ERR_PARSE;
}

int
ldg_parse(struct ldg *l, const char *text, size_t len, char *err, size_t errsz)
{
	struct ldg_rd r = {text, text + len, 0, ""};
	int64_t floor, n;
	if (ldg_line(&r) != 1 || strncmp(r.r_buf, "floor ", 6) != 0 ||
	    ldg_int(r.r_buf + 6, &floor) != 0)
		return ldg_fail(err, errsz, r.r_line, "expected \"floor TIME\"");
	if (ldg_line(&r) != 1 || strncmp(r.r_buf, "entries ", 8) != 0 ||
	    ldg_int(r.r_buf + 8, &n) != 0 || n < 0)
		return ldg_fail(err, errsz, r.r_line, "expected \"entries COUNT\"");
	if ((uint64_t)n > l->l_max)
		return ldg_fail(err, errsz, r.r_line, "more entries than the ledger holds");
	struct ldg *t = ldg_new(l->l_max);
	t->l_floor = floor;
	for (int64_t k = 0; k < n; k++) {
		if (ldg_line(&r) != 1) {
			ldg_free(t);
			return ldg_fail(err, errsz, r.r_line + (r.r_p >= r.r_end), "missing entry");
		}
		int64_t when;
		char *sp = strchr(r.r_buf, ' ');
		if (sp == NULL || sp - r.r_buf != 16 || strspn(r.r_buf, "0123456789abcdef") != 16 ||
		    ldg_int(sp + 1, &when) != 0) {
			ldg_free(t);
			return ldg_fail(err, errsz, r.r_line, "expected \"HASH16 TIME\"");
		}
		*sp = '\0';
		uint64_t h = strtoull(r.r_buf, NULL, 16);
		if (when <= floor || ldg_has_hash(t, h, when)) {
			ldg_free(t);
			return ldg_fail(err, errsz, r.r_line, "entry repeated or at or before the floor");
		}
		ldg_add_hash(t, h, when);
	}
	if (r.r_p != r.r_end) {
		ldg_free(t);
		return ldg_fail(err, errsz, r.r_line + 1, "unexpected text after the entries");
	}
	/* take t's contents; l keeps its identity */
	struct ldg tmp = *l;
	*l = *t;
	*t = tmp;
	ldg_free(t);
	return CC_OK;
}
