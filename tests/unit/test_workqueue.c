/*
 * workqueue: scripted steps against a fake clock for the rules, and real threads for the
 * "never processed twice at once" promise. No timing assertions.
 */
#include "cc_err.h"
#include "workqueue.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fake_clock {
	double fc_now; /* seconds */
};

static double
fake_now(void *arg)
{
	return ((struct fake_clock *)arg)->fc_now;
}

enum op {
	OP_END = 0,
	OP_ADD,       /* wq_add(key) */
	OP_AFTER,     /* wq_add_after(key, arg) */
	OP_RATE,      /* wq_add_rate_limited(key) */
	OP_FORGET,    /* wq_forget(key) */
	OP_GET,       /* wq_try_get must return key ("" means CC_ERR_NOTFOUND) */
	OP_DONE,      /* wq_done(key) */
	OP_ADVANCE,   /* clock += arg */
	OP_LEN,       /* wq_len == arg */
	OP_DELAYED,   /* wq_delayed_len == arg */
	OP_REQUEUES,  /* wq_num_requeues(key) == arg */
	OP_SHUTDOWN,  /* wq_shutdown; wq_try_get then says canceled */
};

struct step {
	enum op s_op;
	const char *s_key;
	double s_arg;
};

struct wq_case {
	const char *name;
	double base, cap;
	struct step steps[40];
};

static const struct wq_case wq_cases[] = {
	{"a queued key is not queued twice", 0, 0, {
		{OP_ADD, "ns/a", 0}, {OP_ADD, "ns/b", 0}, {OP_ADD, "ns/a", 0}, {OP_LEN, NULL, 2},
		{OP_GET, "ns/a", 0}, {OP_GET, "ns/b", 0}, {OP_GET, "", 0}, {OP_LEN, NULL, 0}}},
	{"keys come out in the order they were added", 0, 0, {
		{OP_ADD, "c", 0}, {OP_ADD, "a", 0}, {OP_ADD, "b", 0},
		{OP_GET, "c", 0}, {OP_GET, "a", 0}, {OP_GET, "b", 0}}},
	{"a key being processed is not handed out again", 0, 0, {
		{OP_ADD, "k", 0}, {OP_GET, "k", 0}, {OP_ADD, "k", 0}, {OP_LEN, NULL, 0},
		{OP_GET, "", 0}, {OP_DONE, "k", 0}, {OP_LEN, NULL, 1}, {OP_GET, "k", 0},
		{OP_DONE, "k", 0}, {OP_GET, "", 0}}},
	{"several adds while processing give one re-run", 0, 0, {
		{OP_ADD, "k", 0}, {OP_GET, "k", 0}, {OP_ADD, "k", 0}, {OP_ADD, "k", 0},
		{OP_ADD, "k", 0}, {OP_DONE, "k", 0}, {OP_LEN, NULL, 1}, {OP_GET, "k", 0},
		{OP_DONE, "k", 0}, {OP_LEN, NULL, 0}, {OP_GET, "", 0}}},
	{"done without a re-add does not requeue", 0, 0, {
		{OP_ADD, "k", 0}, {OP_GET, "k", 0}, {OP_DONE, "k", 0}, {OP_LEN, NULL, 0},
		{OP_GET, "", 0}}},
	{"other keys flow while one is processing", 0, 0, {
		{OP_ADD, "a", 0}, {OP_GET, "a", 0}, {OP_ADD, "b", 0}, {OP_ADD, "a", 0},
		{OP_GET, "b", 0}, {OP_GET, "", 0}, {OP_DONE, "a", 0}, {OP_GET, "a", 0}}},
	{"rate limit doubles per failure up to the cap", 1, 8, {
		{OP_RATE, "k", 0}, {OP_REQUEUES, "k", 1}, {OP_DELAYED, NULL, 1}, {OP_GET, "", 0},
		{OP_ADVANCE, NULL, 0.999}, {OP_GET, "", 0}, {OP_ADVANCE, NULL, 0.002},
		{OP_GET, "k", 0}, {OP_DONE, "k", 0},
		{OP_RATE, "k", 0}, {OP_ADVANCE, NULL, 1.999}, {OP_GET, "", 0},
		{OP_ADVANCE, NULL, 0.002}, {OP_GET, "k", 0}, {OP_DONE, "k", 0},
		{OP_RATE, "k", 0}, {OP_ADVANCE, NULL, 3.999}, {OP_GET, "", 0},
		{OP_ADVANCE, NULL, 0.002}, {OP_GET, "k", 0}, {OP_DONE, "k", 0},
		{OP_RATE, "k", 0}, {OP_ADVANCE, NULL, 7.999}, {OP_GET, "", 0},
		{OP_ADVANCE, NULL, 0.002}, {OP_GET, "k", 0}, {OP_DONE, "k", 0},
		{OP_RATE, "k", 0}, {OP_REQUEUES, "k", 5}, {OP_ADVANCE, NULL, 7.999},
		{OP_GET, "", 0}, {OP_ADVANCE, NULL, 0.002}, {OP_GET, "k", 0}, {OP_DONE, "k", 0}}},
	{"forget starts the backoff over", 1, 100, {
		{OP_RATE, "k", 0}, {OP_RATE, "k", 0}, {OP_RATE, "k", 0}, {OP_REQUEUES, "k", 3},
		{OP_FORGET, "k", 0}, {OP_REQUEUES, "k", 0}, {OP_ADVANCE, NULL, 1.001},
		{OP_GET, "k", 0}, {OP_DONE, "k", 0}, {OP_RATE, "k", 0},
		{OP_ADVANCE, NULL, 0.999}, {OP_GET, "", 0}, {OP_ADVANCE, NULL, 0.002},
		{OP_GET, "k", 0}}},
	{"failures are per key", 1, 100, {
		{OP_RATE, "a", 0}, {OP_RATE, "a", 0}, {OP_RATE, "b", 0}, {OP_REQUEUES, "a", 2},
		{OP_REQUEUES, "b", 1}, {OP_REQUEUES, "c", 0}, {OP_ADVANCE, NULL, 1.001},
		{OP_GET, "a", 0}, {OP_GET, "b", 0}, {OP_GET, "", 0}}},
	{"delayed keys come out by ready time, ties in add order", 0, 0, {
		{OP_AFTER, "c", 3}, {OP_AFTER, "a", 1}, {OP_AFTER, "b", 2}, {OP_AFTER, "d", 2},
		{OP_DELAYED, NULL, 4}, {OP_LEN, NULL, 0}, {OP_ADVANCE, NULL, 10},
		{OP_GET, "a", 0}, {OP_GET, "b", 0}, {OP_GET, "d", 0}, {OP_GET, "c", 0},
		{OP_GET, "", 0}, {OP_DELAYED, NULL, 0}}},
	{"a delayed key becomes ready only when due", 0, 0, {
		{OP_AFTER, "a", 5}, {OP_ADD, "b", 0}, {OP_GET, "b", 0}, {OP_ADVANCE, NULL, 4.9},
		{OP_GET, "", 0}, {OP_ADVANCE, NULL, 0.2}, {OP_GET, "a", 0}}},
	{"the earlier of two delays wins", 0, 0, {
		{OP_AFTER, "k", 5}, {OP_AFTER, "k", 1}, {OP_AFTER, "k", 10}, {OP_DELAYED, NULL, 1},
		{OP_ADVANCE, NULL, 1.5}, {OP_GET, "k", 0}, {OP_DONE, "k", 0},
		{OP_ADVANCE, NULL, 20},
		{OP_GET, "", 0}}},
	{"zero or negative delay adds now", 0, 0, {
		{OP_AFTER, "a", 0}, {OP_AFTER, "b", -3}, {OP_DELAYED, NULL, 0}, {OP_GET, "a", 0},
		{OP_GET, "b", 0}}},
	{"a delayed key already queued is handed out once", 0, 0, {
		{OP_ADD, "k", 0}, {OP_AFTER, "k", 1}, {OP_ADVANCE, NULL, 2}, {OP_LEN, NULL, 1},
		{OP_GET, "k", 0}, {OP_GET, "", 0}}},
	{"a delay that ends during processing re-runs after done", 0, 0, {
		{OP_ADD, "k", 0}, {OP_GET, "k", 0}, {OP_AFTER, "k", 1}, {OP_ADVANCE, NULL, 2},
		{OP_GET, "", 0}, {OP_DONE, "k", 0}, {OP_GET, "k", 0}}},
	{"shutdown stops gets and ignores adds", 0, 0, {
		{OP_ADD, "a", 0}, {OP_SHUTDOWN, NULL, 0}, {OP_ADD, "b", 0}, {OP_AFTER, "c", 1},
		{OP_RATE, "d", 0}, {OP_DELAYED, NULL, 0}, {OP_REQUEUES, "d", 0}}},
	{"done during shutdown is harmless", 0, 0, {
		{OP_ADD, "a", 0}, {OP_GET, "a", 0}, {OP_ADD, "a", 0}, {OP_SHUTDOWN, NULL, 0},
		{OP_DONE, "a", 0}}},
};

static void
run_case(const struct wq_case *tc)
{
	struct fake_clock fc = {.fc_now = 100};
	struct wq_opts o = {.wo_base = tc->base, .wo_cap = tc->cap, .wo_clock = fake_now,
	    .wo_clock_arg = &fc};
	struct wq *q = wq_new(&o);
	int shut = 0;
	for (int i = 0; tc->steps[i].s_op != OP_END; i++) {
		const struct step *st = &tc->steps[i];
		char *k = NULL;
		int rc;
		switch (st->s_op) {
		case OP_ADD:
			wq_add(q, st->s_key);
			break;
		case OP_AFTER:
			wq_add_after(q, st->s_key, st->s_arg);
			break;
		case OP_RATE:
			wq_add_rate_limited(q, st->s_key);
			break;
		case OP_FORGET:
			wq_forget(q, st->s_key);
			break;
		case OP_GET:
			rc = wq_try_get(q, &k);
			if (st->s_key[0] == '\0') {
				cr_expect(rc == CC_ERR_NOTFOUND && k == NULL,
				    "%s step %d: got %s (rc %d)",
				    tc->name, i, k ? k : "nothing", rc);
			} else {
				cr_expect(rc == CC_OK && k && strcmp(k, st->s_key) == 0,
				    "%s step %d: got %s (rc %d), want %s", tc->name, i,
				    k ? k : "nothing",
				    rc, st->s_key);
			}
			free(k);
			break;
		case OP_DONE:
			wq_done(q, st->s_key);
			break;
		case OP_ADVANCE:
			fc.fc_now += st->s_arg;
			break;
		case OP_LEN:
			cr_expect(wq_len(q) == (size_t)st->s_arg, "%s step %d: len %zu, want %g",
			    tc->name, i, wq_len(q), st->s_arg);
			break;
		case OP_DELAYED:
			cr_expect(wq_delayed_len(q) == (size_t)st->s_arg,
			    "%s step %d: delayed %zu, want %g",
			    tc->name, i, wq_delayed_len(q), st->s_arg);
			break;
		case OP_REQUEUES:
			cr_expect(wq_num_requeues(q, st->s_key) == (unsigned)st->s_arg,
			    "%s step %d: requeues %u, want %g", tc->name, i,
			    wq_num_requeues(q, st->s_key), st->s_arg);
			break;
		case OP_SHUTDOWN:
			wq_shutdown(q);
			shut = 1;
			break;
		case OP_END:
			break;
		}
	}
	if (shut) {
		char *k = NULL;
		cr_expect(wq_try_get(q, &k) == CC_ERR_CANCELED && k == NULL,
		    "%s: get after shutdown",
		    tc->name);
		cr_expect(wq_shutting_down(q));
	} else {
		cr_expect(!wq_shutting_down(q));
	}
	wq_free(q);
}

Test(workqueue, table)
{
	for (size_t i = 0; i < sizeof wq_cases / sizeof wq_cases[0]; i++)
		run_case(&wq_cases[i]);
}

/* --- threads --- */

#define NKEYS 64
#define NWORKERS 4
#define NPRODUCERS 2
#define ADDS_PER_PRODUCER 20000

struct stress {
	struct wq *s_q;
	atomic_int s_busy[NKEYS];      /* workers inside key i right now */
	atomic_uint s_added[NKEYS];    /* generation of the last add of key i */
	atomic_uint s_seen[NKEYS];     /* generation read when processing of key i last began */
	atomic_int s_overlap;          /* times a key was processed twice at once */
	atomic_long s_runs;            /* keys processed */
	atomic_int s_bad_key;          /* a key we never added came out */
};

static int
key_index(const char *k)
{
	char *end = NULL;
	long v = strtol(k + 3, &end, 10);
	if (strncmp(k, "ns/", 3) != 0 || end == k + 3 || *end != '\0' || v < 0 || v >= NKEYS)
		return -1;
	return (int)v;
}

static void *
stress_worker(void *arg)
{
	struct stress *s = arg;
	char *k;
	while (wq_get(s->s_q, &k) == CC_OK) {
		int i = key_index(k);
		if (i < 0) {
			atomic_store(&s->s_bad_key, 1);
		} else {
			if (atomic_fetch_add(&s->s_busy[i], 1) != 0)
				atomic_fetch_add(&s->s_overlap, 1);
			atomic_store(&s->s_seen[i], atomic_load(&s->s_added[i]));
			for (int y = 0; y < 3; y++)
				sched_yield(); /* widen the window for an overlap to show */
			atomic_fetch_sub(&s->s_busy[i], 1);
			atomic_fetch_add(&s->s_runs, 1);
		}
		wq_done(s->s_q, k);
		free(k);
	}
	return NULL;
}

struct producer {
	struct stress *p_s;   /* shared state */
	unsigned p_seed;      /* for rand_r */
};

static void *
stress_producer(void *arg)
{
	struct producer *p = arg;
	char key[32];
	for (int n = 0; n < ADDS_PER_PRODUCER; n++) {
		int i = rand_r(&p->p_seed) % NKEYS;
		snprintf(key, sizeof key, "ns/%d", i);
		/* Bump the generation before adding, so a run that starts after the add sees it. */
		atomic_fetch_add(&p->p_s->s_added[i], 1);
		wq_add(p->p_s->s_q, key);
	}
	return NULL;
}

Test(workqueue, never_processes_one_key_twice_at_once)
{
	static struct stress s;
	memset(&s, 0, sizeof s);
	s.s_q = wq_new(NULL);
	pthread_t w[NWORKERS], p[NPRODUCERS];
	struct producer pa[NPRODUCERS];
	for (int i = 0; i < NWORKERS; i++)
		cr_assert(pthread_create(&w[i], NULL, stress_worker, &s) == 0);
	for (int i = 0; i < NPRODUCERS; i++) {
		pa[i] = (struct producer){.p_s = &s, .p_seed = 17u + (unsigned)i};
		cr_assert(pthread_create(&p[i], NULL, stress_producer, &pa[i]) == 0);
	}
	for (int i = 0; i < NPRODUCERS; i++)
		pthread_join(p[i], NULL);
	/* Drain: safety bound only, the queue empties in milliseconds. */
	for (int spin = 0; spin < 60000; spin++) {
		if (wq_len(s.s_q) == 0 && wq_processing_len(s.s_q) == 0)
			break;
		usleep(1000);
	}
	cr_expect(wq_len(s.s_q) == 0 && wq_processing_len(s.s_q) == 0, "queue did not drain");
	wq_shutdown(s.s_q);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(w[i], NULL);

	cr_expect(atomic_load(&s.s_overlap) == 0, "%d overlapping runs", atomic_load(&s.s_overlap));
	cr_expect(!atomic_load(&s.s_bad_key));
	for (int i = 0; i < NKEYS; i++)
		cr_expect(atomic_load(&s.s_seen[i]) == atomic_load(&s.s_added[i]),
		    "key %d: last add %u not processed (last run saw %u)", i,
		    atomic_load(&s.s_added[i]), atomic_load(&s.s_seen[i]));
	long runs = atomic_load(&s.s_runs);
	cr_expect(runs >= NKEYS && runs <= NPRODUCERS * ADDS_PER_PRODUCER, "%ld runs", runs);
	wq_free(s.s_q);
}

struct getter {
	struct wq *g_q;    /* queue */
	int g_rc;          /* what wq_get returned */
	char *g_key;       /* what it handed out */
};

static void *
getter_main(void *arg)
{
	struct getter *g = arg;
	g->g_rc = wq_get(g->g_q, &g->g_key);
	return NULL;
}

Test(workqueue, shutdown_wakes_blocked_getters)
{
	struct wq *q = wq_new(NULL);
	struct getter g[3];
	pthread_t t[3];
	for (int i = 0; i < 3; i++) {
		g[i] = (struct getter){.g_q = q, .g_rc = 99};
		cr_assert(pthread_create(&t[i], NULL, getter_main, &g[i]) == 0);
	}
	/* A delayed key far in the future must not keep them asleep either. */
	wq_add_after(q, "later", 3600);
	wq_shutdown(q);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		cr_expect(g[i].g_rc == CC_ERR_CANCELED && g[i].g_key == NULL, "getter %d: rc %d", i,
		    g[i].g_rc);
	}
	wq_shutdown(q); /* idempotent */
	wq_free(q);
}

Test(workqueue, blocked_getter_wakes_for_a_delayed_key)
{
	struct wq *q = wq_new(NULL);
	struct getter g = {.g_q = q, .g_rc = 99};
	pthread_t t;
	cr_assert(pthread_create(&t, NULL, getter_main, &g) == 0);
	wq_add_after(q, "soon", 0.05);
	pthread_join(t, NULL);
	cr_expect(g.g_rc == CC_OK && g.g_key && strcmp(g.g_key, "soon") == 0);
	wq_done(q, "soon");
	free(g.g_key);
	wq_free(q);
}

Test(workqueue, blocked_getter_wakes_for_an_add)
{
	struct wq *q = wq_new(NULL);
	struct getter g = {.g_q = q, .g_rc = 99};
	pthread_t t;
	cr_assert(pthread_create(&t, NULL, getter_main, &g) == 0);
	wq_add(q, "now");
	pthread_join(t, NULL);
	cr_expect(g.g_rc == CC_OK && g.g_key && strcmp(g.g_key, "now") == 0);
	free(g.g_key);
	wq_free(q); /* still processing: freed anyway */
}

Test(workqueue, done_for_an_unknown_key_is_harmless)
{
	struct wq *q = wq_new(NULL);
	wq_done(q, "never/seen");
	wq_add(q, "a");
	wq_done(q, "a"); /* queued, not processing */
	cr_expect(wq_len(q) == 1);
	wq_free(q);
	wq_free(NULL);
}

/* Many keys force the table and the ring to grow; everything still comes out once, in order. */
Test(workqueue, grows_and_keeps_order)
{
	struct wq *q = wq_new(NULL);
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "ns/k%d", i);
		wq_add(q, key);
		wq_add(q, key);
	}
	cr_expect(wq_len(q) == 5000);
	for (int i = 0; i < 5000; i++) {
		char *k = NULL;
		snprintf(key, sizeof key, "ns/k%d", i);
		cr_assert(wq_try_get(q, &k) == CC_OK);
		cr_expect_str_eq(k, key);
		wq_done(q, k);
		free(k);
	}
	char *k = NULL;
	cr_expect(wq_try_get(q, &k) == CC_ERR_NOTFOUND);
	wq_free(q);
}
