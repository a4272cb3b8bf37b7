/*
 * ratelimit: a token bucket that paces requests to the API server, like client-go's QPS/burst.
 *
 * The bucket holds up to `burst` tokens and refills at `qps` tokens per second. A caller that
 * reserves a token always gets one, possibly borrowed from the future: the returned delay says
 * how long it must wait before using it. Reservations are first come, first served, so waiting
 * callers cannot starve each other. The clock is injectable so the logic is testable without
 * sleeping. All functions are thread-safe.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

/* Monotonic time in seconds; only differences matter. */
typedef double (*rl_clock_fn)(void *arg);

struct rl_bucket;

/*
 * A bucket that starts full. qps <= 0 means unlimited (every reservation is free); burst < 1 is
 * treated as 1. clock NULL uses CLOCK_MONOTONIC; clock_arg is passed to it and must outlive the
 * bucket. The caller frees the bucket with rl_free.
 */
struct rl_bucket *rl_new(double qps, int burst, rl_clock_fn clock, void *clock_arg);
/* Accepts NULL. */
void rl_free(struct rl_bucket *b);

/* Take a token; returns the seconds (>= 0) to wait before acting on it. Never fails. */
double rl_reserve(struct rl_bucket *b);
/*
 * Take a token only if one is available now. Returns 1 when taken, 0 when not; on 0, *wait_s
 * (when non-NULL) gets the seconds until one would be available.
 */
int rl_try_take(struct rl_bucket *b, double *wait_s);
/* Tokens available now (negative while reservations are outstanding). For tests and metrics. */
double rl_tokens(struct rl_bucket *b);

#endif
