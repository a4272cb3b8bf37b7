/* ratelimit: token bucket with an injectable clock. See ratelimit.h. */
#include "ratelimit.h"

#include "xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct rl_bucket {
	pthread_mutex_t rb_mu;  /* guards rb_tokens and rb_last */
	double rb_qps;          /* refill rate; <= 0 means unlimited */
	double rb_burst;        /* capacity */
	double rb_tokens;       /* may go negative: tokens lent to waiting callers */
	double rb_last;         /* clock reading at the last update */
	rl_clock_fn rb_clock;   /* time source */
	void *rb_clock_arg;     /* for rb_clock */
};

static double
rl_monotonic(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct rl_bucket *
rl_new(double qps, int burst, rl_clock_fn clock, void *clock_arg)
{
	struct rl_bucket *b = xcalloc(1, sizeof *b);
	pthread_mutex_init(&b->rb_mu, NULL);
	b->rb_qps = qps;
	b->rb_burst = burst < 1 ? 1.0 : (double)burst;
	b->rb_clock = clock ? clock : rl_monotonic;
	b->rb_clock_arg = clock_arg;
	b->rb_tokens = b->rb_burst;
	b->rb_last = b->rb_clock(b->rb_clock_arg);
	return b;
}

void
rl_free(struct rl_bucket *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->rb_mu);
	free(b);
}

/* Bring rb_tokens up to date. A clock that steps backwards adds nothing. Caller holds rb_mu. */
static void
rl_refill(struct rl_bucket *b)
{
	double now = b->rb_clock(b->rb_clock_arg);
	double dt = now - b->rb_last;
	if (dt > 0) {
		b->rb_tokens += dt * b->rb_qps;
		if (b->rb_tokens > b->rb_burst)
			b->rb_tokens = b->rb_burst;
	}
	if (now > b->rb_last)
		b->rb_last = now;
}

double
rl_reserve(struct rl_bucket *b)
{
	if (b->rb_qps <= 0)
		return 0.0;
	pthread_mutex_lock(&b->rb_mu);
	rl_refill(b);
	b->rb_tokens -= 1.0;
	double wait = b->rb_tokens < 0 ? -b->rb_tokens / b->rb_qps : 0.0;
	pthread_mutex_unlock(&b->rb_mu);
	return wait;
}

int
rl_try_take(struct rl_bucket *b, double *wait_s)
{
	if (b->rb_qps <= 0)
		return 1;
	int taken = 0;
	pthread_mutex_lock(&b->rb_mu);
	rl_refill(b);
	if (b->rb_tokens >= 1.0) {
		b->rb_tokens -= 1.0;
		taken = 1;
	} else if (wait_s) {
		*wait_s = (1.0 - b->rb_tokens) / b->rb_qps;
	}
	pthread_mutex_unlock(&b->rb_mu);
	return taken;
}

double
rl_tokens(struct rl_bucket *b)
{
	if (b->rb_qps <= 0)
		return b->rb_burst;
	pthread_mutex_lock(&b->rb_mu);
	rl_refill(b);
	double t = b->rb_tokens;
	pthread_mutex_unlock(&b->rb_mu);
	return t;
}
