/* intern: a reference-counted string table behind one mutex. */
#include "intern.h"
#include "hash.h"

#include "log.h"
#include "xalloc.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct intern_ent {
	struct intern_ent *ie_next; /* hash chain */
	uint64_t ie_hash;           /* of the string */
	size_t ie_refs;             /* outstanding intern_get calls */
	size_t ie_len;              /* strlen of ie_str */
	char ie_str[];              /* the shared copy */
};

struct intern {
	pthread_mutex_t in_mu;         /* guards everything below */
	struct intern_ent **in_bucket; /* chains, in_nbucket of them (a power of two) */
	size_t in_nbucket;
	size_t in_count;               /* distinct strings */
};

/* FNV-1a: short keys, good enough spread, no state. */
struct intern *
intern_new(void)
{
	struct intern *in = xcalloc(1, sizeof *in);
	pthread_mutex_init(&in->in_mu, NULL);
	in->in_nbucket = 64;
	in->in_bucket = xcalloc(in->in_nbucket, sizeof *in->in_bucket);
	return in;
}

void
intern_free(struct intern *in)
{
	if (in == NULL)
		return;
	for (size_t i = 0; i < in->in_nbucket; i++) {
		struct intern_ent *e = in->in_bucket[i], *next;
		for (; e != NULL; e = next) {
			next = e->ie_next;
			free(e);
		}
	}
	free(in->in_bucket);
	pthread_mutex_destroy(&in->in_mu);
	free(in);
}

/* Double the bucket array; called with the mutex held. */
static void
intern_grow(struct intern *in)
{
	size_t nb = in->in_nbucket * 2;
	struct intern_ent **b = xcalloc(nb, sizeof *b);
	for (size_t i = 0; i < in->in_nbucket; i++) {
		struct intern_ent *e = in->in_bucket[i], *next;
		for (; e != NULL; e = next) {
			next = e->ie_next;
			size_t j = e->ie_hash & (nb - 1);
			e->ie_next = b[j];
			b[j] = e;
		}
	}
	free(in->in_bucket);
	in->in_bucket = b;
	in->in_nbucket = nb;
}

const char *
intern_getn(struct intern *in, const char *s, size_t n)
{
	if (s == NULL)
		return NULL;
	n = strnlen(s, n);
	uint64_t h = hash_fnv1a(HASH_FNV_INIT, s, n);
	pthread_mutex_lock(&in->in_mu);
	struct intern_ent *e = in->in_bucket[h & (in->in_nbucket - 1)];
	for (; e != NULL; e = e->ie_next)
		if (e->ie_hash == h && e->ie_len == n && memcmp(e->ie_str, s, n) == 0)
			break;
	if (e == NULL) {
		if (in->in_count >= in->in_nbucket)
			intern_grow(in);
		e = xmalloc(sizeof *e + n + 1);
		e->ie_hash = h;
		e->ie_refs = 0;
		e->ie_len = n;
		memcpy(e->ie_str, s, n);
		e->ie_str[n] = '\0';
		size_t i = h & (in->in_nbucket - 1);
		e->ie_next = in->in_bucket[i];
		in->in_bucket[i] = e;
		in->in_count++;
	}
	e->ie_refs++;
	pthread_mutex_unlock(&in->in_mu);
	return e->ie_str;
}

const char *
intern_get(struct intern *in, const char *s)
{
	if (s == NULL)
		return NULL;
	return intern_getn(in, s, strlen(s));
}

void
intern_put(struct intern *in, const char *s)
{
	if (s == NULL)
		return;
	struct intern_ent *e = (struct intern_ent *)(void *)(s - offsetof(struct intern_ent, ie_str));
	pthread_mutex_lock(&in->in_mu);
	if (e->ie_refs == 0)
		fatalx("string \"%.40s\" released more often than taken", s);
	if (--e->ie_refs == 0) {
		struct intern_ent **pp = &in->in_bucket[e->ie_hash & (in->in_nbucket - 1)];
		while (*pp != NULL && *pp != e)
			pp = &(*pp)->ie_next;
		if (*pp == NULL)
			fatalx("string \"%.40s\" is not from this table", s);
		*pp = e->ie_next;
		in->in_count--;
		free(e);
	}
	pthread_mutex_unlock(&in->in_mu);
}

size_t
intern_count(struct intern *in)
{
	pthread_mutex_lock(&in->in_mu);
	size_t n = in->in_count;
	pthread_mutex_unlock(&in->in_mu);
	return n;
}
