/*
 * issuer_health: a Bayesian estimate of the probability that one issuance attempt fails, from
 * CertificateRequest outcomes weighted by age (exponential decay with a half-life), a Beta
 * prior, and the issuer's Ready condition; plus the hierarchical step from the issuer to one
 * certificate (the issuer's posterior becomes the certificate's prior).
 *
 * Explainable: prior, evidence count, posterior mean and a 90% credible interval. Reentrant,
 * no allocation. sc_issuer_estimate() in scoring.h is the entry point; the functions below are
 * the parts, exposed for tests and for the explanation.
 */
#ifndef ISSUER_HEALTH_H
#define ISSUER_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "scoring.h"

/* Weight of evidence of age dt seconds with half-life hl (dt < 0 counts as 0; hl <= 0: 1). */
double ih_weight(int64_t dt, int64_t hl);

/*
 * Posterior of the failure probability given prior mean m0 and strength s0 (pseudo-counts)
 * and outcomes reqs[0..n) decayed to now. Pending requests are ignored. Fills alpha, beta,
 * mean, evidence, failures, last_failure, last_success, failing, dominant class and share in
 * out; the interval and the Ready fields are left to the caller (see ih_interval). The
 * baseline (ie_base_mean, ie_base_conc) is the same posterior without the failures of the
 * classes that heal as faults (configuration, rate limit, DNS, CA unavailable): the
 * per-attempt probability once the current faults have cleared.
 */
void ih_posterior(const struct sc_request *reqs, size_t n, double m0, double s0, int64_t now,
		  int64_t halflife, struct sc_issuer_estimate *out);

/* Regularised incomplete beta I_x(a, b), for a, b > 0 and x in [0,1]. */
double ih_beta_cdf(double x, double a, double b);

/* The q-quantile of Beta(a, b) (bisection on ih_beta_cdf, error below 1e-6). */
double ih_beta_quantile(double q, double a, double b);

/* Fills out->ie_lo and out->ie_hi with the 5% and 95% quantiles of the posterior. */
void ih_interval(struct sc_issuer_estimate *out);

/*
 * The certificate's own failure probability: its outcomes reqs[0..n) (decayed) on top of a
 * prior taken from the issuer estimate with at most `strength` pseudo-counts. Outcomes after
 * `exclude_after` (its current failure streak, which the fault model covers) are skipped; 0
 * skips none. Writes the certificate's evidence count to *evidence (may be NULL).
 */
double ih_cert_mean(const struct sc_issuer_estimate *issuer, double strength,
		    const struct sc_request *reqs, size_t n, int64_t now, int64_t halflife,
		    int64_t exclude_after, double *evidence);

/*
 * Multiplies the odds of p by the live signals: 429 and 5xx shares, latency and controller
 * restarts (coefficients documented in scoring/README.md). Each term's change of logit is written to
 * terms[0..4) when terms is not NULL, in that order. Returns the adjusted probability.
 */
double ih_apply_signals(double p, const struct sc_signals *sg, double terms[4]);

#endif
