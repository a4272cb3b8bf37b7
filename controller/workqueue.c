/* workqueue: deduplicating key queue with per-key backoff and delays. See workqueue.h. */
#include "workqueue.h"

#include "cc_err.h"
#include "log.h"
#include "monotime.h"
#include "xalloc.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WQ_NOT_DELAYED SIZE_MAX
#define WQ_MAX_SLEEP 1.0 /* seconds; bounds a blocking wait so an injected clock is re-read */

/*
 * Everything known about one key. An item lives in the hash table while it is queued,
 * processing, delayed or has failures on record, and is freed as soon as none of those holds.
 */
struct wq_item {
	char *wi_key;            /* owned */
	uint64_t wi_hash;        /* of wi_key */
	struct wq_item *wi_next; /* hash chain */
	int wi_dirty;            /* needs processing: queued, or re-added while processing */
	int wi_processing;       /* handed out, wq_done not called yet */
	size_t wi_heap;          /* index in wq_delay, or WQ_NOT_DELAYED */
	double wi_ready;         /* when a delayed key becomes ready */
	uint64_t wi_seq;         /* delay order among equal ready times */
	unsigned wi_failures;    /* for wq_add_rate_limited */
};

struct wq {
	pthread_mutex_t q_mu;       /* guards everything below */
	pthread_cond_t q_cv;        /* signalled on a new ready key, a new delay, and shutdown */
	struct wq_item **q_tab;     /* hash buckets */
	size_t q_tab_size;          /* power of two */
	size_t q_nitems;            /* items in the table */
	struct wq_item **q_fifo;    /* ring of ready keys (dirty and not processing) */
	size_t q_fifo_head;         /* index of the oldest */
	size_t q_fifo_len;          /* entries in use */
	size_t q_fifo_cap;          /* allocated entries */
	struct wq_item **q_delay;   /* min-heap by (wi_ready, wi_seq) */
	size_t q_delay_len;         /* entries in use */
	size_t q_delay_cap;         /* allocated entries */
	uint64_t q_seq;             /* next wi_seq */
	size_t q_processing;        /* items with wi_processing */
	int q_shutdown;             /* wq_shutdown was called */
	double q_base;              /* first failure delay */
	double q_cap;               /* largest failure delay */
	wq_clock_fn q_clock;        /* time source */
	void *q_clock_arg;          /* for q_clock */
};

static double
wq_monotonic(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
wq_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

struct wq *
wq_new(const struct wq_opts *opts)
{
	struct wq *q = xcalloc(1, sizeof *q);
	pthread_mutex_init(&q->q_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->q_cv, &ca);
	pthread_condattr_destroy(&ca);
	q->q_tab_size = 64;
	q->q_tab = xcalloc(q->q_tab_size, sizeof *q->q_tab);
	q->q_base = 0.005;
	q->q_cap = 1000;
	q->q_clock = wq_monotonic;
	if (opts) {
		if (opts->wo_base > 0)
			q->q_base = opts->wo_base;
		if (opts->wo_cap > 0)
			q->q_cap = opts->wo_cap;
		if (opts->wo_clock) {
			q->q_clock = opts->wo_clock;
			q->q_clock_arg = opts->wo_clock_arg;
		}
	}
	if (q->q_cap < q->q_base)
		q->q_cap = q->q_base;
	return q;
}

void
wq_free(struct wq *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->q_tab_size; i++) {
		struct wq_item *it = q->q_tab[i];
		while (it) {
			struct wq_item *next = it->wi_next;
			free(it->wi_key);
			free(it);
			it = next;
		}
	}
	free(q->q_tab);
	free(q->q_fifo);
	free(q->q_delay);
	pthread_cond_destroy(&q->q_cv);
	pthread_mutex_destroy(&q->q_mu);
	free(q);
}

/* --- hash table (caller holds q_mu) --- */

static struct wq_item *
wq_find(struct wq *q, const char *key)
{
	uint64_t h = wq_hash(key);
	for (struct wq_item *it = q->q_tab[h & (q->q_tab_size - 1)]; it; it = it->wi_next)
		if (it->wi_hash == h && strcmp(it->wi_key, key) == 0)
			return it;
	return NULL;
}

static void
wq_grow_table(struct wq *q)
{
	size_t nsize = q->q_tab_size * 2;
	struct wq_item **ntab = xcalloc(nsize, sizeof *ntab);
	for (size_t i = 0; i < q->q_tab_size; i++) {
		struct wq_item *it = q->q_tab[i];
		while (it) {
			struct wq_item *next = it->wi_next;
			size_t b = it->wi_hash & (nsize - 1);
			it->wi_next = ntab[b];
			ntab[b] = it;
			it = next;
		}
	}
	free(q->q_tab);
	q->q_tab = ntab;
	q->q_tab_size = nsize;
}

static struct wq_item *
wq_find_or_make(struct wq *q, const char *key)
{
	struct wq_item *it = wq_find(q, key);
	if (it)
		return it;
	if (q->q_nitems >= q->q_tab_size)
		wq_grow_table(q);
	it = xcalloc(1, sizeof *it);
	it->wi_key = xstrdup(key);
	it->wi_hash = wq_hash(key);
	it->wi_heap = WQ_NOT_DELAYED;
	size_t b = it->wi_hash & (q->q_tab_size - 1);
	it->wi_next = q->q_tab[b];
	q->q_tab[b] = it;
	q->q_nitems++;
	return it;
}

/* Free it when nothing refers to it any more. */
static void
wq_maybe_drop(struct wq *q, struct wq_item *it)
{
	if (it->wi_dirty || it->wi_processing || it->wi_heap != WQ_NOT_DELAYED || it->wi_failures)
		return;
	struct wq_item **pp = &q->q_tab[it->wi_hash & (q->q_tab_size - 1)];
	while (*pp != it)
		pp = &(*pp)->wi_next;
	*pp = it->wi_next;
	q->q_nitems--;
	free(it->wi_key);
	free(it);
}

/* --- FIFO of ready keys --- */

static void
wq_fifo_push(struct wq *q, struct wq_item *it)
{
	if (q->q_fifo_len == q->q_fifo_cap) {
		size_t ncap = q->q_fifo_cap ? q->q_fifo_cap * 2 : 64;
		struct wq_item **n = xmalloc(ncap * sizeof *n);
		for (size_t i = 0; i < q->q_fifo_len; i++)
			n[i] = q->q_fifo[(q->q_fifo_head + i) % q->q_fifo_cap];
		free(q->q_fifo);
		q->q_fifo = n;
		q->q_fifo_cap = ncap;
		q->q_fifo_head = 0;
	}
	q->q_fifo[(q->q_fifo_head + q->q_fifo_len) % q->q_fifo_cap] = it;
	q->q_fifo_len++;
}

static struct wq_item *
wq_fifo_pop(struct wq *q)
{
	struct wq_item *it = q->q_fifo[q->q_fifo_head];
	q->q_fifo_head = (q->q_fifo_head + 1) % q->q_fifo_cap;
	q->q_fifo_len--;
	return it;
}

/* --- heap of delayed keys --- */

static int
wq_before(const struct wq_item *a, const struct wq_item *b)
{
	return a->wi_ready < b->wi_ready || (a->wi_ready == b->wi_ready && a->wi_seq < b->wi_seq);
}

static void
wq_heap_set(struct wq *q, size_t i, struct wq_item *it)
{
	q->q_delay[i] = it;
	it->wi_heap = i;
}

static void
wq_sift_up(struct wq *q, size_t i)
{
	struct wq_item *it = q->q_delay[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!wq_before(it, q->q_delay[parent]))
			break;
		wq_heap_set(q, i, q->q_delay[parent]);
		i = parent;
	}
	wq_heap_set(q, i, it);
}

static void
wq_sift_down(struct wq *q, size_t i)
{
	struct wq_item *it = q->q_delay[i];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct wq_item *best = it;
		if (l < q->q_delay_len && wq_before(q->q_delay[l], best)) {
			m = l;
			best = q->q_delay[l];
		}
		if (r < q->q_delay_len && wq_before(q->q_delay[r], best))
			m = r;
		if (m == i)
			break;
		wq_heap_set(q, i, q->q_delay[m]);
		i = m;
	}
	wq_heap_set(q, i, it);
}

static void
wq_heap_push(struct wq *q, struct wq_item *it)
{
	if (q->q_delay_len == q->q_delay_cap) {
		q->q_delay_cap = q->q_delay_cap ? q->q_delay_cap * 2 : 64;
		q->q_delay = xrealloc(q->q_delay, q->q_delay_cap * sizeof *q->q_delay);
	}
	wq_heap_set(q, q->q_delay_len++, it);
	wq_sift_up(q, it->wi_heap);
}

static struct wq_item *
wq_heap_pop(struct wq *q)
{
	struct wq_item *top = q->q_delay[0];
	top->wi_heap = WQ_NOT_DELAYED;
	if (--q->q_delay_len > 0) {
		wq_heap_set(q, 0, q->q_delay[q->q_delay_len]);
		wq_sift_down(q, 0);
	}
	return top;
}

/* --- the rules (caller holds q_mu) --- */

static void
wq_add_locked(struct wq *q, struct wq_item *it)
{
	if (q->q_shutdown || it->wi_dirty)
		return;
	it->wi_dirty = 1;
	if (it->wi_processing)
		return; /* wq_done queues it */
	wq_fifo_push(q, it);
	pthread_cond_signal(&q->q_cv);
}

static void
wq_add_after_locked(struct wq *q, struct wq_item *it, double delay)
{
	if (q->q_shutdown)
		return;
	if (!(delay > 0)) {
		wq_add_locked(q, it);
		return;
	}
	double ready = q->q_clock(q->q_clock_arg) + delay;
	if (it->wi_heap != WQ_NOT_DELAYED) {
		if (ready < it->wi_ready) {
			it->wi_ready = ready;
			wq_sift_up(q, it->wi_heap);
		}
	} else {
		it->wi_ready = ready;
		it->wi_seq = q->q_seq++;
		wq_heap_push(q, it);
	}
	/* A getter sleeping until a later deadline must recompute it. */
	pthread_cond_broadcast(&q->q_cv);
}

/* Move every key whose delay has passed to the ready FIFO; returns the next deadline or inf. */
static double
wq_promote(struct wq *q, double now)
{
	while (q->q_delay_len > 0 && q->q_delay[0]->wi_ready <= now) {
		struct wq_item *it = wq_heap_pop(q);
		wq_add_locked(q, it);
		wq_maybe_drop(q, it);
	}
	return q->q_delay_len > 0 ? q->q_delay[0]->wi_ready : INFINITY;
}

static void
wq_hand_out(struct wq *q, char **key)
{
	struct wq_item *it = wq_fifo_pop(q);
	it->wi_dirty = 0;
	it->wi_processing = 1;
	q->q_processing++;
	*key = xstrdup(it->wi_key);
}

/* --- public functions --- */

void
wq_add(struct wq *q, const char *key)
{
	pthread_mutex_lock(&q->q_mu);
	if (!q->q_shutdown) {
		struct wq_item *it = wq_find_or_make(q, key);
		wq_add_locked(q, it);
		wq_maybe_drop(q, it);
	}
	pthread_mutex_unlock(&q->q_mu);
}

void
wq_add_after(struct wq *q, const char *key, double delay)
{
	pthread_mutex_lock(&q->q_mu);
	if (!q->q_shutdown) {
		struct wq_item *it = wq_find_or_make(q, key);
		wq_add_after_locked(q, it, delay);
		wq_maybe_drop(q, it);
	}
	pthread_mutex_unlock(&q->q_mu);
}

void
wq_add_rate_limited(struct wq *q, const char *key)
{
	pthread_mutex_lock(&q->q_mu);
	if (!q->q_shutdown) {
		struct wq_item *it = wq_find_or_make(q, key);
		unsigned n = it->wi_failures < 1000 ? it->wi_failures : 1000;
		double delay = fmin(q->q_cap, ldexp(q->q_base, (int)n));
		if (it->wi_failures < UINT32_MAX)
			it->wi_failures++;
		wq_add_after_locked(q, it, delay);
	}
	pthread_mutex_unlock(&q->q_mu);
}

void
wq_forget(struct wq *q, const char *key)
{
	pthread_mutex_lock(&q->q_mu);
	struct wq_item *it = wq_find(q, key);
	if (it) {
		it->wi_failures = 0;
		wq_maybe_drop(q, it);
	}
	pthread_mutex_unlock(&q->q_mu);
}

unsigned
wq_num_requeues(struct wq *q, const char *key)
{
	pthread_mutex_lock(&q->q_mu);
	struct wq_item *it = wq_find(q, key);
	unsigned n = it ? it->wi_failures : 0;
	pthread_mutex_unlock(&q->q_mu);
	return n;
}

int
wq_try_get(struct wq *q, char **key)
{
	int rc = CC_OK;
	*key = NULL;
	pthread_mutex_lock(&q->q_mu);
	if (q->q_shutdown) {
		rc = CC_ERR_CANCELED;
		goto out;
	}
	wq_promote(q, q->q_clock(q->q_clock_arg));
	if (q->q_fifo_len == 0) {
		rc = CC_ERR_NOTFOUND;
		goto out;
	}
	wq_hand_out(q, key);
out:
	pthread_mutex_unlock(&q->q_mu);
	return rc;
}

int
wq_get(struct wq *q, char **key)
{
	int rc = CC_OK;
	*key = NULL;
	pthread_mutex_lock(&q->q_mu);
	for (;;) {
		if (q->q_shutdown) {
			rc = CC_ERR_CANCELED;
			goto out;
		}
		double now = q->q_clock(q->q_clock_arg);
		double next = wq_promote(q, now);
		if (q->q_fifo_len > 0)
			break;
		if (isinf(next)) {
			pthread_cond_wait(&q->q_cv, &q->q_mu);
			continue;
		}
		double wait = fmin(next - now, WQ_MAX_SLEEP);
		struct timespec ts = mt_after(wait);
		int e = pthread_cond_timedwait(&q->q_cv, &q->q_mu, &ts);
		if (e != 0 && e != ETIMEDOUT)
			fatalx("pthread_cond_timedwait: %s", strerror(e));
	}
	wq_hand_out(q, key);
out:
	pthread_mutex_unlock(&q->q_mu);
	return rc;
}

void
wq_done(struct wq *q, const char *key)
{
	pthread_mutex_lock(&q->q_mu);
	struct wq_item *it = wq_find(q, key);
	if (it == NULL || !it->wi_processing) {
		pthread_mutex_unlock(&q->q_mu);
		log_warn("key %s was not being processed", key);
		return;
	}
	it->wi_processing = 0;
	q->q_processing--;
	if (it->wi_dirty && !q->q_shutdown) {
		wq_fifo_push(q, it);
		pthread_cond_signal(&q->q_cv);
	} else {
		it->wi_dirty = 0;
	}
	wq_maybe_drop(q, it);
	pthread_mutex_unlock(&q->q_mu);
}

void
wq_shutdown(struct wq *q)
{
	pthread_mutex_lock(&q->q_mu);
	q->q_shutdown = 1;
	pthread_cond_broadcast(&q->q_cv);
	pthread_mutex_unlock(&q->q_mu);
}

int
wq_shutting_down(struct wq *q)
{
	pthread_mutex_lock(&q->q_mu);
	int s = q->q_shutdown;
	pthread_mutex_unlock(&q->q_mu);
	return s;
}

size_t
wq_len(struct wq *q)
{
	pthread_mutex_lock(&q->q_mu);
	size_t n = q->q_fifo_len;
	pthread_mutex_unlock(&q->q_mu);
	return n;
}

size_t
wq_delayed_len(struct wq *q)
{
	pthread_mutex_lock(&q->q_mu);
	size_t n = q->q_delay_len;
	pthread_mutex_unlock(&q->q_mu);
	return n;
}

size_t
wq_processing_len(struct wq *q)
{
	pthread_mutex_lock(&q->q_mu);
	size_t n = q->q_processing;
	pthread_mutex_unlock(&q->q_mu);
	return n;
}
