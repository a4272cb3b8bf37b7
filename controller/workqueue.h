/*
 * workqueue: the keys ("namespace/name") of Certificates waiting to be reconciled.
 *
 * It holds keys, not events, with client-go's rules:
 *   - a key already waiting is not queued twice, however often it is added;
 *   - a key handed out by wq_get is never handed out again until wq_done: if it is added while
 *     being processed it is marked dirty and queued again by wq_done;
 *   - failures back off per key (wq_add_rate_limited: base * 2^failures, capped) until wq_forget;
 *   - wq_add_after delays a key; a key waiting twice keeps the earlier time;
 *   - wq_shutdown wakes every getter; from then on wq_get says "shut down" and adds are ignored.
 * Keys are handed out in the order they became ready.
 *
 * All functions are thread-safe (one mutex, one condition variable). Time comes from an
 * injectable clock so delays can be tested without sleeping; blocking waits sleep in real time
 * for at most a second at a time and then look at the clock again.
 */
#ifndef WORKQUEUE_H
#define WORKQUEUE_H

#include <stddef.h>

/* Monotonic seconds; only differences matter. */
typedef double (*wq_clock_fn)(void *arg);

struct wq_opts {
	double wo_base;         /* first failure delay, seconds; default (0) 0.005 */
	double wo_cap;          /* largest failure delay, seconds; default (0) 1000 */
	wq_clock_fn wo_clock;   /* NULL: CLOCK_MONOTONIC */
	void *wo_clock_arg;     /* for wo_clock; must outlive the queue */
};

struct wq;

/* A new empty queue; opts may be NULL for the defaults. Free with wq_free. */
struct wq *wq_new(const struct wq_opts *opts);
/* Free the queue and every key in it. No thread may be inside a wq_ call. Accepts NULL. */
void wq_free(struct wq *q);

/* Queue key (copied) now, unless it is already waiting (see the rules above). */
void wq_add(struct wq *q, const char *key);
/* Queue key after delay seconds (<= 0: now). An earlier pending time for the key wins. */
void wq_add_after(struct wq *q, const char *key, double delay);
/* Queue key after its per-key failure delay, and count one more failure for it. */
void wq_add_rate_limited(struct wq *q, const char *key);
/* Forget key's failures: its next rate-limited add starts from the base delay again. */
void wq_forget(struct wq *q, const char *key);
/* Failures counted for key since its last wq_forget. */
unsigned wq_num_requeues(struct wq *q, const char *key);

/*
 * Wait for a ready key. Returns CC_OK with *key set to a copy the caller frees after calling
 * wq_done, or CC_ERR_CANCELED once the queue is shut down (*key is then NULL).
 */
int wq_get(struct wq *q, char **key);
/*
 * The same without waiting: CC_OK with a key, CC_ERR_NOTFOUND when none is ready now,
 * CC_ERR_CANCELED after shutdown.
 */
int wq_try_get(struct wq *q, char **key);
/* Processing of key (from wq_get) is over; re-queues it if it was added meanwhile. */
void wq_done(struct wq *q, const char *key);

/* Stop: wake every getter; later gets return CC_ERR_CANCELED, adds are ignored. Idempotent. */
void wq_shutdown(struct wq *q);
/* 1 once wq_shutdown was called. */
int wq_shutting_down(struct wq *q);

/* Keys ready and waiting to be handed out (the depth gauge). */
size_t wq_len(struct wq *q);
/* Keys waiting for a delay to pass. */
size_t wq_delayed_len(struct wq *q);
/* Keys handed out and not yet done. */
size_t wq_processing_len(struct wq *q);

#endif
