/*
 * restarts: how often cert-manager's controller containers restarted in the last hour.
 *
 * A pod's restartCount (summed over its containers, struct rec_pod) only ever grows, so a count
 * over a window needs samples over time. Each pod (by UID) keeps its latest count and a
 * history of (time, count) samples at least RST_STEP apart, pruned to the newest one that is an
 * hour old. The restarts of the last hour of one pod are then:
 *   1. with a sample an hour old: the count now minus that sample's count;
 *   2. else, when the pod started within the hour (status.startTime): its whole count, since
 *      every restart it has happened after it started;
 *   3. else: the growth since the oldest sample, and at least 1 when a container's
 *      lastState.terminated.finishedAt lies within the hour (a restart just before certcast
 *      began watching would otherwise be invisible until an hour of samples exists).
 * Rule 3 undercounts several restarts before the first sample; it never overcounts, which
 * matters more: restarts raise every certificate's risk.
 *
 * A pod that disappears (deleted, replaced by a rollout) keeps counting what it did in the hour
 * until its last sample is an hour old; a replacement pod is a new UID starting from its own
 * count. Not thread-safe: the owner (signals.h) serialises calls.
 */
#ifndef RESTARTS_H
#define RESTARTS_H

#include <stddef.h>
#include <stdint.h>

#define RST_HOUR 3600
#define RST_STEP 60        /* seconds between kept samples of one pod */
#define RST_MAX_PODS 1024  /* pods remembered; past it, the one seen longest ago goes */

struct rst_table;

struct rst_table *rst_new(void);
void rst_free(struct rst_table *t);

/*
 * Record what the store says about pod uid at now: the summed restartCount, the latest
 * termination time (0 none) and the start time (0 unknown). A count lower than the last one
 * (never for one UID, but a store may be wrong) starts the pod's history again.
 */
void rst_observe(struct rst_table *t, const char *uid, int32_t restarts, int64_t last_term,
    int64_t start_time, int64_t now);

/* The pods in uids[0..n) are the ones present at now; any other known pod is gone since now. */
void rst_present(struct rst_table *t, const char *const *uids, size_t n, int64_t now);

/* Forget gone pods whose last observation is more than an hour before now. */
void rst_prune(struct rst_table *t, int64_t now);

/* Restarts of all known pods (present or gone) within the hour before now. */
uint32_t rst_last_hour(const struct rst_table *t, int64_t now);

/* Pods known, present or gone. */
size_t rst_count(const struct rst_table *t);

#endif
