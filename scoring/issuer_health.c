/*
 * issuer_health: decayed Beta-Binomial estimates of per-attempt failure probability.
 */
#include "issuer_health.h"

#include <math.h>
#include <string.h>

#include "failclass.h"

/* Live-signal coefficients on the logit scale; scoring/README.md, "Issuer health", explains them. */
#define IH_COEF_429 4.0       /* all responses 429: odds x e^4 */
#define IH_COEF_5XX 4.0       /* all responses 5xx: odds x e^4 */
#define IH_COEF_LATENCY 0.4   /* per log1p(latency / 10s) */
#define IH_COEF_RESTARTS 0.7  /* per log1p(restarts in the last hour) */
#define IH_MIN_REQUESTS 5.0   /* fewer requests than this say nothing about shares */

double
ih_weight(int64_t dt, int64_t hl)
{
	if (hl <= 0)
		return 1.0;
	if (dt < 0)
		dt = 0;
	return exp2(-(double)dt / (double)hl);
}

static int64_t
ih_when(const struct sc_request *r)
{
	return r->rq_done > 0 ? r->rq_done : r->rq_time;
}

static int
ih_failed(const struct sc_request *r)
{
	return r->rq_outcome == SC_OUT_FAILED || r->rq_outcome == SC_OUT_DENIED;
}

/*
 * Failures of these classes are what the fault model carries, each with its own persistence
 * (evaluate.c adds them as faults). Counting them in the baseline as well would make every
 * attempt after the fault has cleared fail at the outage's rate: the same evidence twice, and
 * an outage that never ends.
 */
static int
ih_fault_class(enum sc_class c)
{
	return c == SC_CLASS_CONFIG || c == SC_CLASS_RATE_LIMIT || c == SC_CLASS_DNS ||
	       c == SC_CLASS_CA_UNAVAILABLE;
}

/*
 * Classes whose fault may be the issuer's as a whole, so that another certificate's success
 * says something about it (evaluate.c). Configuration, DNS and rate limits belong to a
 * certificate's names.
 */
static int
ih_wide_class(enum sc_class c)
{
	return c == SC_CLASS_CA_UNAVAILABLE || c == SC_CLASS_TRANSIENT || c == SC_CLASS_UNKNOWN;
}

/* Inserts t into the newest-first list of SC_RECENT_OK times, dropping the oldest. */
static void
ih_keep_recent(int64_t *recent, int64_t t)
{
	size_t i = SC_RECENT_OK;
	if (t <= recent[SC_RECENT_OK - 1])
		return;
	while (i > 0 && (recent[i - 1] == 0 || recent[i - 1] < t)) {
		if (i < SC_RECENT_OK)
			recent[i] = recent[i - 1];
		i--;
	}
	recent[i] = t;
}

void
ih_posterior(const struct sc_request *reqs, size_t n, double m0, double s0, int64_t now,
	     int64_t halflife, struct sc_issuer_estimate *out)
{
	double cls[SC_CLASS_COUNT] = {0};
	double fail = 0.0, ok = 0.0, base_fail = 0.0;
	int64_t latest = 0;
	memset(out, 0, sizeof(*out));
	if (!(m0 > 0.0 && m0 < 1.0))
		m0 = 0.05;
	if (!(s0 > 0.0))
		s0 = 10.0;
	for (size_t i = 0; reqs != NULL && i < n; i++) {
		const struct sc_request *r = &reqs[i];
		int64_t when = ih_when(r);
		double w;
		if (r->rq_outcome == SC_OUT_PENDING || when <= 0 || when > now)
			continue;
		w = ih_weight(now - when, halflife);
		if (ih_failed(r)) {
			struct fcl_result fr;
			fail += w;
			if (r->rq_outcome == SC_OUT_DENIED) {
				fr.cl_class = SC_CLASS_CONFIG;
			} else if (r->rq_class_known) {
				fr.cl_class = r->rq_class;
				if (fr.cl_class == SC_CLASS_OK)
					fr.cl_class = SC_CLASS_UNKNOWN;
			} else {
				fcl_classify(r->rq_reason, r->rq_message, &fr);
				if (fr.cl_class == SC_CLASS_OK)
					fr.cl_class = SC_CLASS_UNKNOWN;
			}
			cls[fr.cl_class] += w;
			if (!ih_fault_class(fr.cl_class))
				base_fail += w;
			if (when > out->ie_last_failure)
				out->ie_last_failure = when;
			if (ih_wide_class(fr.cl_class) && when > out->ie_last_wide_failure)
				out->ie_last_wide_failure = when;
		} else {
			ok += w;
			if (when > out->ie_last_success)
				out->ie_last_success = when;
			ih_keep_recent(out->ie_recent_ok, when);
		}
		if (when >= latest) {
			latest = when;
			out->ie_failing = ih_failed(r);
		}
	}
	if (out->ie_failing) {
		/* the current streak began with the first failure after the latest success */
		for (size_t i = 0; reqs != NULL && i < n; i++) {
			const struct sc_request *r = &reqs[i];
			int64_t when = ih_when(r);
			if (r->rq_outcome == SC_OUT_PENDING || when <= 0 || when > now || !ih_failed(r))
				continue;
			if (when > out->ie_last_success &&
			    (out->ie_failing_since == 0 || when < out->ie_failing_since))
				out->ie_failing_since = when;
		}
	}
	out->ie_prior_mean = m0;
	out->ie_alpha = m0 * s0 + fail;
	out->ie_beta = (1.0 - m0) * s0 + ok;
	out->ie_mean = out->ie_alpha / (out->ie_alpha + out->ie_beta);
	out->ie_base_conc = s0 + base_fail + ok;
	out->ie_base_mean = (m0 * s0 + base_fail) / out->ie_base_conc;
	out->ie_evidence = fail + ok;
	out->ie_failures = fail;
	out->ie_class = SC_CLASS_OK;
	if (fail > 0.0) {
		int best = SC_CLASS_UNKNOWN;
		for (int c = 1; c < SC_CLASS_COUNT; c++)
			if (cls[c] > cls[best])
				best = c;
		out->ie_class = (enum sc_class)best;
		out->ie_class_share = cls[best] / fail;
	}
	out->ie_lo = out->ie_mean;
	out->ie_hi = out->ie_mean;
}

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double
ih_beta_cf(double x, double a, double b)
{
	const double tiny = 1e-300;
	double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0), h;
	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	h = d;
	for (int m = 1; m <= 300; m++) {
		double m2 = 2.0 * m, num, del;
		num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
		d = 1.0 + num * d;
		c = 1.0 + num / c;
		if (fabs(d) < tiny)
			d = tiny;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		h *= d * c;
		num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
		d = 1.0 + num * d;
		c = 1.0 + num / c;
		if (fabs(d) < tiny)
			d = tiny;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) < 1e-12)
			break;
	}
	return h;
}

double
ih_beta_cdf(double x, double a, double b)
{
	double lfront;
	if (!(a > 0.0) || !(b > 0.0))
		return NAN;
	if (x <= 0.0)
		return 0.0;
	if (x >= 1.0)
		return 1.0;
	/* lgamma_r: lgamma writes the global signgam, a data race between the workers */
	int sg;
	lfront = lgamma_r(a + b, &sg) - lgamma_r(a, &sg) - lgamma_r(b, &sg) + a * log(x) +
	    b * log1p(-x);
	/* the fraction converges fast on the side of the mean where x is small */
	if (x < (a + 1.0) / (a + b + 2.0))
		return exp(lfront) * ih_beta_cf(x, a, b) / a;
	return 1.0 - exp(lfront) * ih_beta_cf(1.0 - x, b, a) / b;
}

double
ih_beta_quantile(double q, double a, double b)
{
	double lo = 0.0, hi = 1.0;
	if (!(q > 0.0))
		return 0.0;
	if (!(q < 1.0))
		return 1.0;
	for (int i = 0; i < 40; i++) {
		double mid = 0.5 * (lo + hi);
		if (ih_beta_cdf(mid, a, b) < q)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

void
ih_interval(struct sc_issuer_estimate *out)
{
	if (out == NULL || !(out->ie_alpha > 0.0) || !(out->ie_beta > 0.0))
		return;
	out->ie_lo = ih_beta_quantile(0.05, out->ie_alpha, out->ie_beta);
	out->ie_hi = ih_beta_quantile(0.95, out->ie_alpha, out->ie_beta);
}

double
ih_cert_mean(const struct sc_issuer_estimate *issuer, double strength,
	     const struct sc_request *reqs, size_t n, int64_t now, int64_t halflife,
	     int64_t exclude_after, double *evidence)
{
	double m = 0.05, s = strength, fail = 0.0, ok = 0.0;
	if (issuer != NULL && issuer->ie_mean > 0.0 && issuer->ie_mean < 1.0) {
		double conc = issuer->ie_alpha + issuer->ie_beta;
		m = issuer->ie_mean;
		if (conc < s)
			s = conc;
	}
	if (!(s > 0.0))
		s = 1.0;
	for (size_t i = 0; reqs != NULL && i < n; i++) {
		const struct sc_request *r = &reqs[i];
		int64_t when = ih_when(r);
		double w;
		if (r->rq_outcome == SC_OUT_PENDING || when <= 0 || when > now)
			continue;
		if (exclude_after > 0 && when >= exclude_after && ih_failed(r))
			continue;
		w = ih_weight(now - when, halflife);
		if (ih_failed(r))
			fail += w;
		else
			ok += w;
	}
	if (evidence != NULL)
		*evidence = fail + ok;
	return (m * s + fail) / (s + fail + ok);
}

double
ih_apply_signals(double p, const struct sc_signals *sg, double terms[4])
{
	double t[4] = {0.0, 0.0, 0.0, 0.0}, z;
	if (!(p > 1e-9))
		p = 1e-9;
	if (!(p < 1.0 - 1e-9))
		p = 1.0 - 1e-9;
	if (sg != NULL && sg->sg_valid) {
		if (sg->sg_requests >= IH_MIN_REQUESTS) {
			double s429 = sg->sg_status_429 / sg->sg_requests;
			double s5xx = sg->sg_status_5xx / sg->sg_requests;
			t[0] = IH_COEF_429 * (s429 > 0.0 ? (s429 < 1.0 ? s429 : 1.0) : 0.0);
			t[1] = IH_COEF_5XX * (s5xx > 0.0 ? (s5xx < 1.0 ? s5xx : 1.0) : 0.0);
		}
		if (sg->sg_latency_s > 0.0)
			t[2] = IH_COEF_LATENCY * log1p(sg->sg_latency_s / 10.0);
		t[3] = IH_COEF_RESTARTS * log1p((double)sg->sg_restarts_1h);
	}
	if (terms != NULL)
		memcpy(terms, t, sizeof(t));
	z = log(p / (1.0 - p)) + t[0] + t[1] + t[2] + t[3];
	return 1.0 / (1.0 + exp(-z));
}
