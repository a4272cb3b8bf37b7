#include "ticker.h"

#include "cc_err.h"
#include "log.h"

#include <time.h>

void
tk_init(struct tk *t, int64_t interval, void (*round)(void *arg), void *arg)
{
	t->k_running = 0;
	atomic_init(&t->k_stop, 0);
	pthread_mutex_init(&t->k_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->k_cv, &ca);
	pthread_condattr_destroy(&ca);
	t->k_interval = interval < 1 ? 1 : interval;
	t->k_round = round;
	t->k_arg = arg;
}

static void *
tk_main(void *arg)
{
	struct tk *t = arg;
	while (!atomic_load(&t->k_stop)) {
		t->k_round(t->k_arg);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)t->k_interval;
		pthread_mutex_lock(&t->k_mu);
		while (!atomic_load(&t->k_stop) &&
		       pthread_cond_timedwait(&t->k_cv, &t->k_mu, &until) == 0)
			; /* a wakeup without a stop (spurious) waits on to the same deadline */
		pthread_mutex_unlock(&t->k_mu);
	}
	return NULL;
}

int
tk_start(struct tk *t, const char *what)
{
	if (pthread_create(&t->k_thread, NULL, tk_main, t) != 0) {
		log_error("cannot start the %s thread", what);
		return CC_ERR_IO;
	}
	t->k_running = 1;
	return CC_OK;
}

int
tk_stopping(struct tk *t)
{
	return atomic_load(&t->k_stop);
}

void
tk_stop(struct tk *t)
{
	/* under the lock: the thread cannot test the flag and then miss the broadcast */
	pthread_mutex_lock(&t->k_mu);
	atomic_store(&t->k_stop, 1);
	pthread_cond_broadcast(&t->k_cv);
	pthread_mutex_unlock(&t->k_mu);
	if (t->k_running) {
		pthread_join(t->k_thread, NULL);
		t->k_running = 0;
	}
}

void
tk_destroy(struct tk *t)
{
	pthread_cond_destroy(&t->k_cv);
	pthread_mutex_destroy(&t->k_mu);
}
