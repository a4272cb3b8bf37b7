/*
 * act: carries out actplan's plans against the API server, and remembers what it wrote.
 *
 * A reconcile prepares a job under the store's read lock (act_prepare: the plan, the object's
 * identity, and what the memory says about reverts) and applies it after letting go of the lock
 * (act_apply), so that no watch waits for an HTTP round trip.
 *
 * - Only the leader writes (ao_is_leader); the others prepare and drop their jobs.
 * - Annotations and spec changes go in one JSON merge patch. A spec change carries the
 *   resourceVersion the plan was made from, so that a write based on a stale view fails with
 *   409 and the key is retried on a fresh one; an annotation-only patch needs no precondition
 *   (it only ever sets certcast's own keys).
 * - A reissue is cmctl renew's write: GET the Certificate, set Issuing=True (reason
 *   CertcastTriggered) in its status, PUT the status subresource with that resourceVersion.
 *   Reissues per issuer are bounded by ao_reissue_budget per hour (scoring holds the excess
 *   back and says so), and the time is kept in certcast.io/last-action so that a restart
 *   still honours scoring's minimum interval between two reissues.
 * - Manager conflict: once a spec value certcast wrote has been seen on the object, a later
 *   different value is a revert by someone else. At the second revert certcast stops acting on
 *   that certificate (it still annotates and reports), writes certcast.io/manager-conflict
 *   ("TIME: what changed"), emits ManagerConflict and counts
 *   certcast_actions_total{action="manager-conflict"}. While the annotation is there certcast
 *   takes no action on the certificate, across restarts too; removing it hands the
 *   certificate back. The revert count itself is the process's: a restart starts it afresh
 *   (the annotations certcast has cannot tell a revert already counted from a new one).
 * - InvalidAnnotation: once per value. The values reported are the process's memory; before
 *   posting one it has not reported, act_apply lists certcast's own InvalidAnnotation Events on
 *   the object's uid (core/v1, fieldSelector reason and source) and leaves out a note the API
 *   server still holds, so a restart or a new leader does not repeat it while the Event lives
 *   (the API server's --event-ttl, 1 h by default). A failed lookup finds nothing: a duplicate
 *   rather than a missing report.
 * - Own writes: the resourceVersion an annotation-only patch produced is marked in the store
 *   (store_mark_own), so that the watch event it causes does not queue another reconcile.
 *
 * Thread-safe: the memory has its own lock, never held across a store call or an HTTP call.
 */
#ifndef ACT_H
#define ACT_H

#include "actplan.h"

#include <stddef.h>
#include <stdint.h>

struct kube_client;
struct store;
struct met_std;
struct rec_cert;
struct sc_result;
struct sc_state;
struct as_annot_problem;

/* The object an Event is about. */
struct act_ref {
	const char *ar_ns, *ar_name, *ar_uid, *ar_rv;
};

/* Emits one Event; returns a cc_err, with msg filled on failure. */
typedef int (*act_emit_fn)(void *arg, const struct act_ref *obj, int warning, const char *reason,
    const char *action, const char *note, char *msg, size_t msglen);

struct act_opts {
	struct kube_client *ao_client;  /* borrowed; NULL: nothing is written (tests of prepare) */
	struct store *ao_store;         /* borrowed, may be NULL: own writes are marked in it */
	struct met_std *ao_met;         /* borrowed, may be NULL */
	int (*ao_is_leader)(void *arg); /* NULL: this process always leads */
	void *ao_leader_arg;
	act_emit_fn ao_emit;            /* NULL: no Events */
	void *ao_emit_arg;
	uint32_t ao_reissue_budget;     /* reissues per issuer per hour; 0: unlimited */
	const struct sc_config *ao_scoring; /* borrowed: the settings annotations refine (their
					 * problems are judged against it); NULL: scoring's defaults */
};


#define ACT_REISSUE_BUDGET 10       /* the default reissueBudget (config.c) */

struct act;
struct act *act_new(const struct act_opts *o);
void act_free(struct act *a);

/* One reconcile's writes, prepared under the store's lock. */
struct act_job {
	char j_ns[254], j_name[254], j_uid[64], j_rv[32];
	char j_issuer[AP_REF_MAX + 256]; /* "ns/KIND.GROUP/NAME": the issuer reissues count against */
	char j_conflict[160];           /* a revert that made this the second one: ManagerConflict */
	struct ap_plan j_plan;
};

/*
 * Prepare the job for c, scored as res (store read lock held). new[0..nnew) are the findings
 * new with this reconcile. Reverts of certcast's spec writes are counted here.
 */
void act_prepare(struct act *a, const struct rec_cert *c, const struct sc_result *res,
    const struct sc_anomaly *new, size_t nnew, int64_t now, struct act_job *job);

/*
 * Carry the job out (no lock held). Returns CC_OK, or a retryable cc_err (a 409 on a spec
 * write, the API server unavailable) for the key to be retried. A write the API server refuses
 * for good (403, 422) is reported with a DiagnosticFailed Event and a log line, its level is
 * remembered as written (so that RiskRaised is not repeated and the annotations are tried
 * again at the interval), and returns CC_OK. A 404 (deleted meanwhile) ends the job quietly.
 */
int act_apply(struct act *a, const struct act_job *job, int64_t now);

/* Forget ns/name (the Certificate is gone). */
void act_forget(struct act *a, const char *ns, const char *name);

/* as_state_fn (assess.h): completes st with what this process remembers writing to c. */
void act_fill_state(void *arg, const struct rec_cert *c, int64_t now, struct sc_state *st);

/* The merge patch job's plan writes, or NULL when it writes nothing to the object (tests). */
char *act_patch_body(const struct act_job *job, int64_t now);

/*
 * Set condition Issuing=True (reason CertcastTriggered, message msg, observedGeneration the
 * object's generation) in the Certificate object obj, as cmctl renew does. Returns 0 when set,
 * 1 when Issuing is already True (nothing to do), -1 when obj is not a Certificate.
 */
int act_set_issuing(void *obj, const char *msg, int64_t now);

#endif
