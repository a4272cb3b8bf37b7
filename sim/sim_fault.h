/*
 * sim_fault: the fault processes of a scenario, turned into a plan that answers "what happens to
 * attempt k of certificate c at time t".
 *
 * The plan is built once per scenario from the seed and is read-only afterwards, so every policy
 * run consults the same outage windows, misconfiguration windows and DNS faults, and the same
 * per-attempt draws (hash of seed, certificate, attempt number). Rate-limit budgets depend on a
 * policy's own issuances; the engine keeps them and passes the verdict in. The plan never tells a
 * policy anything: only the engine calls it. Thread-safe for concurrent readers.
 */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include "sim_scenario.h"

#include <stddef.h>
#include <stdint.h>

/* The outcome of one issuance attempt; values index per-class counters. */
enum sf_outcome {
	SF_OK = 0,        /* issued */
	SF_CONFIG = 1,    /* configuration error (issuer or certificate) */
	SF_CA_DOWN = 2,   /* the CA is unavailable */
	SF_RATE_LIMIT = 3,/* the CA's rate limit refused the order */
	SF_DNS = 4,       /* DNS-01 validation failed */
	SF_TRANSIENT = 5, /* a one-off error */
	SF_STUCK = 6,     /* the ACME challenge never validates: the request hangs until the
			     CA's order expires (sf_hang), then fails */
	SF_NOUTCOMES = 7,
};

struct sf_window {
	int64_t w_start; /* absolute unix seconds, inclusive */
	int64_t w_end;   /* exclusive; SCN_NEVER for open-ended */
};

struct sf_plan; /* opaque */

/* Build the plan for s (borrowed; must outlive the plan). Returns CC_OK; never fails otherwise. */
int sf_plan_new(const struct scn_scenario *s, struct sf_plan **out);
void sf_plan_free(struct sf_plan *p);

/*
 * The outcome of attempt k (0-based, per certificate) of certificate cert of group g, sent to
 * issuer at absolute time t. rate_limited is the engine's budget verdict for this attempt. Faults
 * are checked in the order a real request meets them: configuration, CA availability, rate limit
 * (all at the order's creation), a stuck challenge, DNS validation, then a transient failure draw.
 * *stuck_zone (may be NULL) is set for SF_STUCK: 1 when a zone's fault (DNS-01) caused it, 0 for
 * an issuer's (its HTTP-01 solver).
 */
enum sf_outcome sf_attempt(const struct sf_plan *p, uint32_t cert, int g, int issuer, uint64_t k,
    int64_t t, int rate_limited, int *stuck_zone);

/*
 * How long a stuck request hangs before it fails: the CA's order lifetime, the one the scoring
 * library assumes (scoring/stuck.h, Let's Encrypt's 168h).
 */
int64_t sf_hang(void);

/*
 * When the stuck challenge of an attempt of group g on issuer, started at t, is fixed: the end
 * of the stuck window(s) covering t (the later one when the issuer's and the zone's overlap),
 * SCN_NEVER when open-ended, 0 when none covers t. A fixed challenge validates at
 * cert-manager's next self-check, so the request finishes then if its order has not expired.
 */
int64_t sf_stuck_until(const struct sf_plan *p, int g, int issuer, int64_t t);

/*
 * While a stuck request hangs, what the Challenge's self-check says (cert-manager's status
 * reason, which a controller can read): a DNS-01 record that does not propagate for a zone's
 * fault, an HTTP-01 answer of 404 for an issuer's.
 */
const char *sf_stuck_reason(int zone);

/* Outage windows of an issuer (merged, sorted), borrowed for the plan's life; for reports/tests. */
const struct sf_window *sf_outages(const struct sf_plan *p, int issuer, size_t *n);

/* True when the issuer is down, or misconfigured, at t (for tests and the oracle in reports). */
int sf_issuer_down(const struct sf_plan *p, int issuer, int64_t t);

/* Short stable name of an outcome ("ok", "configuration", "ca-unavailable", "rate-limit",
 * "dns", "transient"). */
const char *sf_outcome_name(enum sf_outcome o);

/*
 * What cert-manager would have written on the failed CertificateRequest / Order for this outcome:
 * a condition reason and a message shaped like the real ones, for the policies to classify. The
 * strings are constant. For SF_OK both are about success.
 */
const char *sf_outcome_reason(enum sf_outcome o);
const char *sf_outcome_message(enum sf_outcome o, int acme);

#endif
