/*
 * backoff: how long to wait before retrying something that keeps failing.
 *
 * Delays grow exponentially from a base up to a cap, with jitter so that many clients failing at
 * once (every reflector after an API server restart) do not retry in lock-step. Two jitter
 * styles are offered:
 *   full:          uniform in [0, min(cap, base * 2^n)] for the n-th consecutive failure;
 *   decorrelated:  uniform in [base, min(cap, 3 * previous delay)], never below base.
 * As in client-go's backoff manager, the sequence starts over by itself when the previous
 * failure lies more than reset_after seconds in the past: the thing has been healthy for a
 * while, so the next failure is treated as the first.
 *
 * The clock and the random source are injectable so that tests see exact sequences. A struct
 * backoff belongs to one thread (each reflector has its own); there is no lock.
 */
#ifndef BACKOFF_H
#define BACKOFF_H

#include <stdint.h>

/* Monotonic seconds; only differences matter. */
typedef double (*backoff_clock_fn)(void *arg);
/* A uniform random number in [0, 1). */
typedef double (*backoff_rand_fn)(void *arg);

enum backoff_jitter {
	BACKOFF_FULL = 0,     /* AWS "full jitter" */
	BACKOFF_DECORRELATED, /* AWS "decorrelated jitter" */
};

struct backoff_opts {
	double bo_base;              /* seconds, > 0 */
	double bo_cap;               /* seconds, >= bo_base */
	double bo_reset_after;       /* seconds without failure that reset the sequence; 0: never */
	enum backoff_jitter bo_jitter; /* style */
	backoff_clock_fn bo_clock;   /* NULL: CLOCK_MONOTONIC */
	void *bo_clock_arg;          /* for bo_clock; must outlive the backoff */
	backoff_rand_fn bo_rand;     /* NULL: an internal generator seeded from the clock */
	void *bo_rand_arg;           /* for bo_rand; must outlive the backoff */
};

/* Embeddable; treat the fields as private and use the functions. */
struct backoff {
	struct backoff_opts b_o;  /* copy of the options */
	unsigned b_failures;      /* consecutive failures counted so far */
	double b_prev;            /* the last delay (decorrelated jitter grows from it) */
	double b_last_failure;    /* clock reading at the last backoff_next */
	uint64_t b_rng;           /* state of the internal generator */
};

/*
 * Set b up from o (copied). Returns CC_OK, or CC_ERR_INVAL when base is not positive, cap is
 * below base, reset_after is negative, or a value is not finite; b is then unusable.
 */
int backoff_init(struct backoff *b, const struct backoff_opts *o);

/*
 * Record a failure now and return the seconds to wait before the next attempt. Starts over
 * first when the previous failure is more than reset_after old. Never fails.
 */
double backoff_next(struct backoff *b);

/* Start over now: the next failure gets a first-attempt delay. Call after a clear success. */
void backoff_reset(struct backoff *b);

/* Consecutive failures counted (0 after a reset). */
unsigned backoff_failures(const struct backoff *b);

/* A uniform number in [0, 1) from b's random source, for callers that jitter other things. */
double backoff_uniform(struct backoff *b);

#endif
