/*
 * leaderev: the Events of this replica's leadership, as client-go's leaderelection records them
 * (resourcelock's RecordEvent): on the Lease (regarding kind Lease, apiVersion
 * coordination.k8s.io/v1, its namespace, name and uid), type Normal, reason LeaderElection, note
 * "<identity> became leader" or "<identity> stopped leading". An addition to DESIGN.md's Events,
 * which are otherwise all about Certificates.
 *
 * The election thread must never wait on the API server for an Event: a POST that hangs would
 * hold up the renewals and cost the lease. So lev_changed (lease.h's le_changed_fn) only copies
 * the change into a small queue, under a mutex that is never held across a request, and one
 * thread of its own posts the queue in order through an Event writer (evrec.h). A full queue
 * forgets its oldest change (counted and logged), so the newest state always gets out.
 *
 * The writer is a separate one, with evrec's spam filter but without its "identical within 10
 * minutes" rule: a leader that loses the Lease for a moment and takes it back says "became
 * leader" again, and dropping that repeat would leave "stopped leading" as the last word while
 * it leads. A flapping leader is still held back by the Lease's bucket (25 Events, one more
 * every 5 minutes).
 *
 * Not being the leader is no reason to keep quiet here: "stopped leading" is written by a
 * replica that no longer leads, as client-go does; these two Events are the only writes a
 * follower makes. Nothing is retried: a failed POST is one warning log line.
 *
 * Threads: lev_changed from any thread (the election thread, le_stop's caller); the rest from
 * the owner's thread.
 */
#ifndef LEADEREV_H
#define LEADEREV_H

#include <stddef.h>
#include <stdint.h>

#include "evrec.h"

struct le_change;
struct kube_client;
struct lev;

#define LEV_REASON "LeaderElection"
#define LEV_QUEUE_DEFAULT 16

struct lev_opts {
	struct kube_client *lvo_client; /* borrowed, never NULL; must outlive lev_free. Leader
	                                   election's own (its timeout, no limiter), so that a stop
	                                   does not wait long for an API server that is gone */
	const char *lvo_instance;       /* reportingInstance; NULL: evrec's ($POD_NAME, host) */
	size_t lvo_queue;               /* changes waiting at most; 0: LEV_QUEUE_DEFAULT */
};

/*
 * The note of a change, into out (outsz bytes): "<identity> became leader" or "<identity>
 * stopped leading", client-go's words; an identity too long for out is cut (evrec cuts the
 * note to 1024 bytes anyway). Pure.
 */
void lev_note(const char *identity, int leading, char *out, size_t outsz);

/*
 * The Event's "regarding" for ch: the Lease, its uid when known (NULL when ch's is ""). The
 * strings are ch's, borrowed. Pure.
 */
void lev_ref(const struct le_change *ch, struct er_ref *out);

/* A new poster, not running: lev_changed queues, nothing is posted until lev_start or lev_stop. */
struct lev *lev_new(const struct lev_opts *o);

/* Start the posting thread. CC_OK or CC_ERR_IO (logged). At most once. */
int lev_start(struct lev *v);

/*
 * le_changed_fn with a struct lev as arg: copy ch into the queue and wake the thread. Never
 * does I/O and never waits for a request. After lev_stop it does nothing.
 */
void lev_changed(void *arg, const struct le_change *ch);

/*
 * Post what is still queued (in order, one try each; after a failure the rest is dropped and
 * logged, since the API server is not answering), stop the thread and wait for it. Call it after
 * le_stop, so that "stopped leading" goes out. Idempotent; accepts NULL.
 */
void lev_stop(struct lev *v);

/* lev_stop, then free. Accepts NULL. */
void lev_free(struct lev *v);

/* The writer's counters (evrec's), for certcast_events_total. Thread-safe. */
void lev_stats(struct lev *v, struct er_stats *out);

/* Changes forgotten because the queue was full. Thread-safe. */
uint64_t lev_dropped(struct lev *v);

#endif
