/*
 * sim_rand: counter-based randomness for the simulator.
 *
 * Every random draw is a pure function of (seed, stream, a, b): no generator state is shared
 * between policies, so each policy run sees exactly the same luck. Streams separate the purposes
 * (transient failures, DNS failures, revocation picks, initial ages ...), so that adding a draw for
 * one purpose never shifts another. All functions are pure and thread-safe.
 */
#ifndef SIM_RAND_H
#define SIM_RAND_H

#include <stdint.h>

/* Purposes of draws; values are part of the scenario's reproducibility, never renumber them. */
enum rn_stream {
	RN_AGE = 1,        /* initial certificate age */
	RN_TRANSIENT = 2,  /* transient failure of attempt k of certificate c */
	RN_DNS = 3,        /* DNS failure of attempt k of certificate c */
	RN_REVOKE = 4,     /* whether certificate c is hit by revocation fault f */
	RN_OUTAGES = 5,    /* random outage process of fault f */
	RN_ARI_PICK = 6,   /* the time a client picks inside an ARI window */
	RN_EVAL_PHASE = 7, /* phase of a policy's periodic evaluation */
};

/* A 64-bit hash of the four words (splitmix64 finaliser chained); the same inputs give the same
 * output on every platform. */
uint64_t rn_hash(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);

/* The same draw as a double uniform in [0, 1). */
double rn_unit(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);

/* A sequential generator for processes that need many draws (random outages): its state is
 * derived from (seed, stream, a) only, so two policies that build it alike draw alike. */
struct rn_seq {
	uint64_t q_state; /* splitmix64 counter */
};

void rn_seq_init(struct rn_seq *q, uint64_t seed, uint64_t stream, uint64_t a);
/* Next draw, uniform in [0, 1). */
double rn_seq_unit(struct rn_seq *q);
/* Next draw from an exponential distribution with the given mean (> 0). */
double rn_seq_exp(struct rn_seq *q, double mean);

#endif
