/* backoff: exponential delays with jitter and a reset after a healthy period. See backoff.h. */
#include "backoff.h"

#include "cc_err.h"

#include <math.h>
#include <stdint.h>
#include <time.h>

static double
backoff_monotonic(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: tiny, good enough to spread retries; not for anything secret. */
static uint64_t
backoff_mix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int
backoff_init(struct backoff *b, const struct backoff_opts *o)
{
	if (!isfinite(o->bo_base) || !isfinite(o->bo_cap) || !isfinite(o->bo_reset_after) ||
	    o->bo_base <= 0 || o->bo_cap < o->bo_base || o->bo_reset_after < 0)
		return CC_ERR_INVAL;
	if (o->bo_jitter != BACKOFF_FULL && o->bo_jitter != BACKOFF_DECORRELATED)
		return CC_ERR_INVAL;
	b->b_o = *o;
	if (b->b_o.bo_clock == NULL)
		b->b_o.bo_clock = backoff_monotonic;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* Different objects started in the same nanosecond still diverge through their address. */
	b->b_rng = ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^
	    (uint64_t)(uintptr_t)b;
	backoff_reset(b);
	return CC_OK;
}

double
backoff_uniform(struct backoff *b)
{
	if (b->b_o.bo_rand) {
		double u = b->b_o.bo_rand(b->b_o.bo_rand_arg);
		/* A sloppy source must not push delays out of their documented range. */
		if (!(u >= 0))
			u = 0;
		if (u >= 1)
			u = nextafter(1.0, 0.0);
		return u;
	}
	return (double)(backoff_mix(&b->b_rng) >> 11) * 0x1.0p-53;
}

void
backoff_reset(struct backoff *b)
{
	b->b_failures = 0;
	b->b_prev = b->b_o.bo_base;
	b->b_last_failure = b->b_o.bo_clock(b->b_o.bo_clock_arg);
}

unsigned
backoff_failures(const struct backoff *b)
{
	return b->b_failures;
}

double
backoff_next(struct backoff *b)
{
	double now = b->b_o.bo_clock(b->b_o.bo_clock_arg);
	if (b->b_o.bo_reset_after > 0 && b->b_failures > 0 &&
	    now - b->b_last_failure > b->b_o.bo_reset_after)
		backoff_reset(b);
	double base = b->b_o.bo_base, cap = b->b_o.bo_cap, u = backoff_uniform(b), d;

	if (b->b_o.bo_jitter == BACKOFF_FULL) {
		/* Clamping n keeps ldexp finite; fmin then applies the cap. */
		unsigned n = b->b_failures < 1000 ? b->b_failures : 1000;
		double ceiling = fmin(cap, ldexp(base, (int)n));
		d = u * ceiling;
	} else {
		double hi = fmin(cap, 3 * b->b_prev);
		d = base + u * (hi - base);
	}
	if (b->b_failures < UINT32_MAX)
		b->b_failures++;
	b->b_prev = d;
	b->b_last_failure = now;
	return d;
}
