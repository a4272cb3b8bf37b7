/*
 * ticker: the first round runs at once, a stop wakes the wait between rounds (an hour here:
 * without the wake the test would hang until Criterion's timeout fails it), the
 * stop wins over the next round, and stopping a ticker that never started is harmless.
 */
#include "cc_err.h"
#include "ticker.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

struct counter {
	atomic_int rounds;
	struct tk *tk;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void
count_round(void *arg)
{
	struct counter *c = arg;
	pthread_mutex_lock(&c->mu);
	atomic_fetch_add(&c->rounds, 1);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

Test(ticker, first_round_at_once_and_stop_wakes_the_wait, .timeout = 30)
{
	struct tk t;
	struct counter c = {.tk = &t};
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	tk_init(&t, 3600, count_round, &c);
	cr_expect_eq(tk_stopping(&t), 0);
	cr_assert_eq(tk_start(&t, "test"), CC_OK);
	pthread_mutex_lock(&c.mu);
	while (atomic_load(&c.rounds) == 0)
		pthread_cond_wait(&c.cv, &c.mu);
	pthread_mutex_unlock(&c.mu);
	tk_stop(&t); /* returns only if the hour-long wait was woken */
	cr_expect_eq(atomic_load(&c.rounds), 1, "one round, then the stop");
	cr_expect_eq(tk_stopping(&t), 1);
	tk_stop(&t); /* idempotent */
	tk_destroy(&t);
	pthread_cond_destroy(&c.cv);
	pthread_mutex_destroy(&c.mu);
}

Test(ticker, never_started)
{
	struct tk t;
	struct counter c = {.tk = &t};
	tk_init(&t, 0, count_round, &c);
	cr_expect_eq(t.k_interval, 1, "an interval under a second is one second");
	tk_stop(&t);
	cr_expect_eq(tk_stopping(&t), 1);
	cr_expect_eq(atomic_load(&c.rounds), 0);
	tk_destroy(&t);
}
