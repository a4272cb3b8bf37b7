/*
 * live: the feed of the live page (GET / on the controller's HTTP address). A page connects a
 * WebSocket to /live (subprotocol "certcast-live") and receives JSON text messages:
 *
 *   {"type":"snapshot","seq":N,"time":T,"rows":[ROW...]}       on connect, and after a gap
 *   {"type":"update","seq":N,"time":T,"upsert":[ROW...],"remove":["ns/name",...]}
 *
 * ROW: {"key","namespace","name","issuer" ("Kind/name"),"ready","notAfter","risk","level",
 * "predictedFailure","nextAttempt","lastAction","reasons","anomalies"}, times RFC 3339 or null.
 * The rows are `certcast status`'s, scored with the controller's own inputs (recon_status).
 *
 * Who does what: a producer thread (live_start) re-scores every interval while at least one page
 * is connected, and at once when one connects; it turns the rows into one JSON string each and
 * compares them with the previous set, so a message goes out only when something shown changed.
 * The risk is rounded to three significant digits for that comparison: it creeps with the clock,
 * and a message every interval for a change in the fifth digit would be noise. Each change gets
 * the next seq and two messages, the whole state (snapshot) and the difference from the state
 * before (update); a page that has seq N-1 gets the update, any other gets the snapshot. So a
 * slow page skips states but never shows a wrong one.
 *
 * Threads: live_clients, live_kick and live_message from any thread (the HTTP thread); the
 * producer is the feed's own. live_publish is the producer's step, public for the tests.
 */
#ifndef LIVE_H
#define LIVE_H

#include <stddef.h>
#include <stdint.h>

struct status_rows;
struct live;

/* Fill out with every certificate's row as of now (recon_status); the feed frees it. */
typedef void (*live_rows_fn)(void *arg, struct status_rows *out);
/* A new message is there: make the HTTP thread offer it to the pages (lws_cancel_service). */
typedef void (*live_wake_fn)(void *arg);

#define LIVE_INTERVAL_MS_DEFAULT 2000
/* The most rows a message carries; beyond it the riskiest are kept, and "truncated" says so. */
#define LIVE_ROWS_MAX 20000

struct live_opts {
	live_rows_fn lo_rows;  /* never NULL */
	void *lo_rows_arg;     /* borrowed; must outlive live_free */
	live_wake_fn lo_wake;  /* may be NULL (tests) */
	void *lo_wake_arg;
	int64_t lo_interval_ms; /* between re-scorings while a page is connected; 0: default */
};

/* A feed, its producer not started. Never fails (allocation failure aborts). */
struct live *live_new(const struct live_opts *o);
/* Start the producer thread. CC_OK or CC_ERR_IO (logged). */
int live_start(struct live *l);
/*
 * Stop the producer (it neither scores nor wakes anyone after this returns); the messages
 * already made are still served. Idempotent; accepts NULL.
 */
void live_stop(struct live *l);
/* Stop the producer and free everything. Accepts NULL. No other call may be in flight. */
void live_free(struct live *l);
/* A page connected (+1) or went away (-1). The first one wakes the producer. */
void live_clients(struct live *l, int delta);
/* Produce now instead of at the next interval (a page connected). */
void live_kick(struct live *l);

/*
 * The message for a page that has applied seq have (0: nothing yet): NULL when it is up to
 * date, else a malloc'ed buffer of pre + *len bytes with the message at offset pre (room for
 * libwebsockets' header), and *seq the seq it brings the page to.
 */
unsigned char *live_message(struct live *l, uint64_t have, size_t pre, size_t *len,
    uint64_t *seq);

/*
 * One producer step on rows (taken over and freed) at time now (epoch seconds): 1 when it made
 * a new state (and messages), 0 when nothing shown changed.
 */
int live_publish(struct live *l, struct status_rows *rows, int64_t now);

/* The current seq (0 before the first state). */
uint64_t live_seq(struct live *l);

#endif
