/*
 * sim_heap: the simulator's event queue, a binary min-heap keyed by time.
 *
 * Events with equal times pop in the order they were pushed (a sequence number breaks ties), so a
 * run is deterministic. An event names a certificate and carries the certificate's generation at
 * push time: the engine bumps a certificate's generation when its schedule changes and drops
 * popped events whose generation is stale, instead of searching the heap to delete them.
 * Not thread-safe; one heap per engine.
 */
#ifndef SIM_HEAP_H
#define SIM_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct sh_event {
	int64_t ev_time;  /* simulated unix seconds */
	uint64_t ev_seq;  /* push order, breaks ties */
	uint32_t ev_cert; /* certificate index, or an engine-defined id for global events */
	uint32_t ev_gen;  /* generation of the target when pushed */
	uint32_t ev_kind; /* engine-defined event type */
};

struct sh_heap {
	struct sh_event *h_ev; /* owned array, h_cap slots */
	size_t h_len;          /* events held */
	size_t h_cap;          /* slots allocated */
	uint64_t h_seq;        /* next sequence number */
};

/* Start an empty heap; allocates nothing. */
void sh_init(struct sh_heap *h);
/* Add an event; grows the array as needed (aborts on out of memory). O(log n). */
void sh_push(struct sh_heap *h, int64_t t, uint32_t kind, uint32_t cert, uint32_t gen);
/* Number of events held. */
size_t sh_len(const struct sh_heap *h);
/* Remove the earliest event into *out. Calling it on an empty heap is a broken invariant (fatalx).
 * O(log n). */
void sh_pop(struct sh_heap *h, struct sh_event *out);
/* Earliest event, borrowed until the next push or pop; NULL when empty. */
const struct sh_event *sh_peek(const struct sh_heap *h);
/* Free the array; the heap may be reused after sh_init. Accepts NULL. */
void sh_free(struct sh_heap *h);

#endif
