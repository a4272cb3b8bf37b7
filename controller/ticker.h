/*
 * ticker: a thread that runs a round now and then again every interval seconds until stopped,
 * for the controller's pollers (scraper.c: cert-manager's metrics, aripoll.c: ACME renewal
 * information). A stop wakes the wait between rounds at once; a round in progress sees the stop
 * through tk_stopping (or k_stop, for a libcurl progress callback) and cuts itself short.
 *
 * The struct is embedded in its owner and its fields are the owner's to read, not to write.
 */
#ifndef TICKER_H
#define TICKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct tk {
	pthread_t k_thread;
	int k_running;
	atomic_int k_stop;
	pthread_mutex_t k_mu;
	pthread_cond_t k_cv;          /* on CLOCK_MONOTONIC: a clock change does not stretch a wait */
	int64_t k_interval;           /* seconds between the starts of rounds' waits, >= 1 */
	void (*k_round)(void *arg);
	void *k_arg;
};

/* Ready t to run round(arg) every interval seconds (less than 1: 1). Starts nothing. */
void tk_init(struct tk *t, int64_t interval, void (*round)(void *arg), void *arg);
/* Start the thread; what names it in the error log. CC_OK or CC_ERR_IO. */
int tk_start(struct tk *t, const char *what);
/* True once tk_stop has been called. */
int tk_stopping(struct tk *t);
/* Ask the thread to stop, wake it and wait for it. Idempotent; fine if never started. */
void tk_stop(struct tk *t);
/* Release t's lock and condition, after tk_stop. */
void tk_destroy(struct tk *t);

#endif
