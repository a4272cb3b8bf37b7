/*
 * budgetq: who gets the next slots of a registered domain's ACME budget.
 *
 * When more certificates of one registered domain want new certificates than the CA's
 * per-domain budget allows (Let's Encrypt: 50 per sliding 7 days), the CA refuses the rest and
 * cert-manager retries each refused certificate on its own backoff (1h doubling to 32h after
 * lastFailureTime). A slot frees when an issuance counted in the window leaves it; the first
 * certificate to retry after that takes it. Given what a controller sees at `now` (every
 * Certificate of the domain with its next attempt and failedIssuanceAttempts, and when each
 * certificate counted in the window was issued), that race is deterministic: bq_project()
 * replays it and says when each certificate's order will be accepted.
 *
 * Left out on purpose: the duplicate-certificate limit, attempts that fail for other reasons
 * (the forecast's baseline covers those), and renewals after a certificate's new issuance
 * (a certificate renewed in the replay leaves the queue).
 *
 * Pure: no clock, no I/O, no allocation; the caller lends the scratch space.
 */
#ifndef BUDGETQ_H
#define BUDGETQ_H

#include <stddef.h>
#include <stdint.h>

/* One certificate of the domain, as the controller sees it at now. */
struct bq_cert {
	int64_t bc_next;     /* cert-manager's next attempt (fc_next_attempt), 0: none due;
				overwritten by the replay */
	int32_t bc_failed;   /* status.failedIssuanceAttempts before that attempt; overwritten */
	int64_t bc_deadline; /* notAfter of the current certificate, 0: none */
	int64_t bc_slot;     /* out: start of the attempt the CA accepts, 0: none by the horizon */
	uint32_t bc_refused; /* out: attempts refused before it (or before the horizon) */
	int bc_in_time;      /* out: accepted and done by bc_deadline (any time if it is 0) */
};

/* The domain's budget as counted at now. */
struct bq_budget {
	const int64_t *bb_used; /* borrowed: issuance times counted in the window, ascending */
	size_t bb_nused;
	uint32_t bb_limit;      /* new certificates per window, > 0 */
	int64_t bb_window;      /* the sliding window, seconds, > 0 */
	int64_t bb_attempt;     /* an attempt's start to its outcome (lastFailureTime), >= 0 */
};

/*
 * Scratch for bq_project(): bs_heap holds n entries and bs_issued bb_nused + n, both owned by
 * the caller and reused across calls.
 */
struct bq_scratch {
	uint32_t *bs_heap;
	int64_t *bs_issued;
};

/*
 * Replays cert-manager's attempts of the n certificates in q against the budget b from now
 * until horizon: attempts in time order (ties by index), each accepted when fewer than
 * bb_limit issuances lie in (t - bb_window, t], else refused and retried bb_attempt plus
 * cert-manager's backoff later. Fills every bc_slot and bc_refused. An issuance at t counts
 * until t + bb_window, as the CA's sliding window does. Refused certificates keep retrying
 * past their own deadline, as cert-manager does, and keep taking slots from the others.
 * Cost O((n + refusals) log n). Returns 0, or SC_ERR_INVAL for bad arguments.
 */
int bq_project(struct bq_cert *q, size_t n, const struct bq_budget *b, int64_t now,
	       int64_t horizon, struct bq_scratch *s);

#endif
