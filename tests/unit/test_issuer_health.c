/*
 * Tests of scoring/issuer_health: the decayed Beta-Binomial posterior, its credible interval
 * (checked against closed forms of the incomplete beta function), the step from issuer to
 * certificate, the live signals, and the sc_issuer_estimate() entry point.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "issuer_health.h"
#include "scoring.h"

#define H 3600LL
#define D (24 * H)
#define NOW 1767225600LL

static struct sc_request
ih_req(int64_t ago, enum sc_outcome o, const char *msg)
{
	struct sc_request r;
	memset(&r, 0, sizeof(r));
	r.rq_time = NOW - ago - 60;
	r.rq_done = NOW - ago;
	r.rq_outcome = o;
	r.rq_reason = o == SC_OUT_FAILED ? "Failed" : "Issued";
	r.rq_message = msg;
	return r;
}

/* More successes than the list holds: the newest SC_RECENT_OK, in order, whatever the input order. */
Test(issuer_health, recent_successes_keep_the_newest)
{
	struct sc_request reqs[SC_RECENT_OK + 5];
	struct sc_issuer_estimate e;
	const int64_t order[] = {7, 2, 12, 0, 9, 4, 11, 1, 5, 10, 3, 8, 6};
	cr_assert_eq(sizeof(order) / sizeof(order[0]), sizeof(reqs) / sizeof(reqs[0]));
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		reqs[i] = ih_req((order[i] + 1) * H, SC_OUT_ISSUED, NULL);
	ih_posterior(reqs, sizeof(reqs) / sizeof(reqs[0]), 0.05, 10.0, NOW, 3 * D, &e);
	for (int k = 0; k < SC_RECENT_OK; k++)
		cr_expect_eq(e.ie_recent_ok[k], NOW - (k + 1) * H, "slot %d", k);
	cr_expect_eq(e.ie_last_wide_failure, 0);
	/* two at the same second both count */
	reqs[1] = reqs[0];
	ih_posterior(reqs, 2, 0.05, 10.0, NOW, 3 * D, &e);
	cr_expect_eq(e.ie_recent_ok[0], NOW - 8 * H);
	cr_expect_eq(e.ie_recent_ok[1], NOW - 8 * H);
	cr_expect_eq(e.ie_recent_ok[2], 0);
}

Test(issuer_health, weight_halves_per_half_life)
{
	const struct {
		const char *name;
		int64_t dt, hl;
		double want;
	} cases[] = {
		{"now", 0, 3 * D, 1.0},
		{"one half-life", 3 * D, 3 * D, 0.5},
		{"two half-lives", 6 * D, 3 * D, 0.25},
		{"future counts as now", -D, 3 * D, 1.0},
		{"no decay", 100 * D, 0, 1.0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_float_eq(ih_weight(cases[i].dt, cases[i].hl), cases[i].want, 1e-12, "%s",
				   cases[i].name);
	cr_expect_gt(ih_weight(H, 3 * D), ih_weight(2 * H, 3 * D));
	cr_expect_lt(ih_weight(2 * H, 3 * D), ih_weight(H, 3 * D));
}

Test(issuer_health, posterior_counts_and_decay)
{
	struct sc_request reqs[] = {
		ih_req(1 * H, SC_OUT_FAILED, "503 urn:ietf:params:acme:error:serverInternal: busy"),
		ih_req(2 * H, SC_OUT_FAILED, "503 urn:ietf:params:acme:error:serverInternal: busy"),
		ih_req(3 * H, SC_OUT_FAILED, "DNS problem: NXDOMAIN looking up A for x.example"),
		ih_req(3 * D, SC_OUT_ISSUED, NULL),
		ih_req(6 * D, SC_OUT_ISSUED, NULL),
		ih_req(0, SC_OUT_PENDING, NULL), /* pending: ignored */
	};
	struct sc_issuer_estimate e;
	reqs[5].rq_done = 0;
	ih_posterior(reqs, 6, 0.05, 10.0, NOW, 3 * D, &e);
	double w1 = ih_weight(H, 3 * D), w2 = ih_weight(2 * H, 3 * D), w3 = ih_weight(3 * H, 3 * D);
	cr_expect_float_eq(e.ie_failures, w1 + w2 + w3, 1e-12);
	cr_expect_float_eq(e.ie_evidence, w1 + w2 + w3 + 0.5 + 0.25, 1e-12);
	cr_expect_float_eq(e.ie_alpha, 0.5 + w1 + w2 + w3, 1e-12);
	cr_expect_float_eq(e.ie_beta, 9.5 + 0.75, 1e-12);
	cr_expect_float_eq(e.ie_mean, e.ie_alpha / (e.ie_alpha + e.ie_beta), 1e-12);
	cr_expect_eq(e.ie_class, SC_CLASS_CA_UNAVAILABLE);
	cr_expect_float_eq(e.ie_class_share, (w1 + w2) / (w1 + w2 + w3), 1e-12);
	cr_expect(e.ie_failing);
	cr_expect_eq(e.ie_last_failure, NOW - H);
	cr_expect_eq(e.ie_last_success, NOW - 3 * D);
	cr_expect_eq(e.ie_failing_since, NOW - 3 * H);
	cr_expect_gt(e.ie_mean, 0.05, "failures raise the estimate above the prior");

	/* the successes newest first; only CA, one-off and unknown failures are issuer-wide */
	cr_expect_eq(e.ie_recent_ok[0], NOW - 3 * D);
	cr_expect_eq(e.ie_recent_ok[1], NOW - 6 * D);
	cr_expect_eq(e.ie_recent_ok[2], 0);
	cr_expect_eq(e.ie_last_wide_failure, NOW - H);
	ih_posterior(reqs + 2, 1, 0.05, 10.0, NOW, 3 * D, &e);
	cr_expect_eq(e.ie_last_wide_failure, 0, "a DNS failure is the zone's, not the issuer's");
	cr_expect_eq(e.ie_last_failure, NOW - 3 * H);
	ih_posterior(reqs, 6, 0.05, 10.0, NOW, 3 * D, &e);
	/* both directions: successes alone pull it below the prior */
	ih_posterior(reqs + 3, 2, 0.05, 10.0, NOW, 3 * D, &e);
	cr_expect_lt(e.ie_mean, 0.05);
	cr_expect(!e.ie_failing);
	cr_expect_eq(e.ie_failing_since, 0);
	cr_expect_eq(e.ie_class, SC_CLASS_OK);

	/* no history: the prior; bad prior arguments fall back to the defaults */
	ih_posterior(NULL, 0, 0.2, 5.0, NOW, 3 * D, &e);
	cr_expect_float_eq(e.ie_mean, 0.2, 1e-12);
	ih_posterior(NULL, 0, -1.0, NAN, NOW, 3 * D, &e);
	cr_expect_float_eq(e.ie_mean, 0.05, 1e-12);
	cr_expect_float_eq(e.ie_alpha + e.ie_beta, 10.0, 1e-12);
}

Test(issuer_health, older_failures_weigh_less)
{
	struct sc_request fresh[] = {ih_req(H, SC_OUT_FAILED, "x"), ih_req(H, SC_OUT_FAILED, "x")};
	struct sc_request stale[] = {ih_req(9 * D, SC_OUT_FAILED, "x"),
				     ih_req(9 * D, SC_OUT_FAILED, "x")};
	struct sc_issuer_estimate a, b;
	ih_posterior(fresh, 2, 0.05, 10.0, NOW, 3 * D, &a);
	ih_posterior(stale, 2, 0.05, 10.0, NOW, 3 * D, &b);
	cr_expect_gt(a.ie_mean, b.ie_mean);
	cr_expect_lt(b.ie_mean, a.ie_mean);
	cr_expect_gt(b.ie_mean, 0.05);
}

Test(issuer_health, beta_cdf_closed_forms)
{
	const struct {
		const char *name;
		double x, a, b, want;
	} cases[] = {
		{"uniform", 0.3, 1, 1, 0.3},
		{"symmetric at the middle", 0.5, 7, 7, 0.5},
		{"a=2 b=1 is x^2", 0.6, 2, 1, 0.36},
		{"a=1 b=2 is 1-(1-x)^2", 0.6, 1, 2, 1 - 0.16},
		{"a=2 b=2 is 3x^2-2x^3", 0.25, 2, 2, 3 * 0.0625 - 2 * 0.015625},
		{"a=1 b=5", 0.1, 1, 5, 1 - pow(0.9, 5)},
		{"a=0.5 b=0.5 arcsine", 0.25, 0.5, 0.5, 2 / M_PI * asin(0.5)},
		{"large parameters, far tail", 0.9, 5, 95, 1.0},
		{"below zero", -1, 2, 3, 0.0},
		{"above one", 2, 2, 3, 1.0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_float_eq(ih_beta_cdf(cases[i].x, cases[i].a, cases[i].b), cases[i].want,
				   1e-9, "%s: %.12f", cases[i].name,
				   ih_beta_cdf(cases[i].x, cases[i].a, cases[i].b));
	cr_expect(isnan(ih_beta_cdf(0.5, 0, 1)));
	/* increasing in x, and the quantile inverts it */
	for (double a = 0.5; a < 40; a *= 2.3)
		for (double b = 0.7; b < 90; b *= 2.9) {
			double prev = -1;
			for (double x = 0.01; x < 1; x += 0.07) {
				double c = ih_beta_cdf(x, a, b);
				cr_expect_geq(c, prev - 1e-12, "a=%g b=%g x=%g", a, b, x);
				prev = c;
			}
			for (double q = 0.05; q < 1; q += 0.3) {
				double x = ih_beta_quantile(q, a, b);
				cr_expect_float_eq(ih_beta_cdf(x, a, b), q, 1e-6, "a=%g b=%g q=%g", a, b, q);
			}
		}
	cr_expect_eq(ih_beta_quantile(0, 2, 2), 0.0);
	cr_expect_eq(ih_beta_quantile(1, 2, 2), 1.0);
}

Test(issuer_health, interval_brackets_the_mean_and_narrows)
{
	struct sc_issuer_estimate few, many;
	memset(&few, 0, sizeof(few));
	memset(&many, 0, sizeof(many));
	few.ie_alpha = 1;
	few.ie_beta = 9;
	few.ie_mean = 0.1;
	many.ie_alpha = 10;
	many.ie_beta = 90;
	many.ie_mean = 0.1;
	ih_interval(&few);
	ih_interval(&many);
	cr_expect_lt(few.ie_lo, few.ie_mean);
	cr_expect_gt(few.ie_hi, few.ie_mean);
	cr_expect_lt(many.ie_lo, many.ie_mean);
	cr_expect_gt(many.ie_hi, many.ie_mean);
	cr_expect_lt(many.ie_hi - many.ie_lo, few.ie_hi - few.ie_lo, "more evidence, narrower");
	ih_interval(NULL); /* tolerated */
}

Test(issuer_health, certificate_on_top_of_the_issuer)
{
	struct sc_issuer_estimate is;
	struct sc_request mine[] = {ih_req(H, SC_OUT_FAILED, "x"), ih_req(2 * H, SC_OUT_FAILED, "x"),
				    ih_req(2 * D, SC_OUT_ISSUED, NULL)};
	double ev, base, with, without;
	memset(&is, 0, sizeof(is));
	is.ie_alpha = 1;
	is.ie_beta = 49;
	is.ie_mean = 0.02;
	base = ih_cert_mean(&is, 20, NULL, 0, NOW, 3 * D, 0, &ev);
	cr_expect_float_eq(base, 0.02, 1e-12, "no history of its own: the issuer's rate");
	cr_expect_eq(ev, 0.0);
	with = ih_cert_mean(&is, 20, mine, 3, NOW, 3 * D, 0, &ev);
	cr_expect_gt(with, base);
	cr_expect_gt(ev, 2.0);
	/* the current streak (after the last success) is the fault model's, not the baseline's */
	without = ih_cert_mean(&is, 20, mine, 3, NOW, 3 * D, NOW - 2 * D + 1, &ev);
	cr_expect_lt(without, with);
	cr_expect_leq(without, base);
	/* a weak issuer prior lends at most its own strength */
	is.ie_alpha = 0.1;
	is.ie_beta = 0.9;
	is.ie_mean = 0.1;
	cr_expect_gt(ih_cert_mean(&is, 20, mine, 2, NOW, 3 * D, 0, NULL), 0.5);
}

Test(issuer_health, signals_raise_the_odds)
{
	struct sc_signals sg;
	double t[4];
	memset(&sg, 0, sizeof(sg));
	cr_expect_float_eq(ih_apply_signals(0.05, &sg, t), 0.05, 1e-9, "not valid: unchanged");
	cr_expect_float_eq(ih_apply_signals(0.05, NULL, NULL), 0.05, 1e-9);
	sg.sg_valid = 1;
	sg.sg_requests = 100;
	cr_expect_float_eq(ih_apply_signals(0.05, &sg, t), 0.05, 1e-9, "healthy metrics");
	const struct {
		const char *name;
		double r429, r5xx, lat;
		uint32_t restarts;
		int term;
	} cases[] = {
		{"429s", 30, 0, 0, 0, 0},
		{"5xx", 0, 30, 0, 0, 1},
		{"slow", 0, 0, 30, 0, 2},
		{"restarts", 0, 0, 0, 3, 3},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double lo, hi;
		sg.sg_status_429 = cases[i].r429;
		sg.sg_status_5xx = cases[i].r5xx;
		sg.sg_latency_s = cases[i].lat;
		sg.sg_restarts_1h = cases[i].restarts;
		lo = ih_apply_signals(0.05, &sg, t);
		cr_expect_gt(lo, 0.05, "%s", cases[i].name);
		cr_expect_gt(t[cases[i].term], 0.0, "%s", cases[i].name);
		sg.sg_status_429 *= 2;
		sg.sg_status_5xx *= 2;
		sg.sg_latency_s *= 2;
		sg.sg_restarts_1h *= 2;
		hi = ih_apply_signals(0.05, &sg, NULL);
		cr_expect_gt(hi, lo, "%s: more is worse", cases[i].name);
	}
	/* too few requests say nothing about shares */
	memset(&sg, 0, sizeof(sg));
	sg.sg_valid = 1;
	sg.sg_requests = 2;
	sg.sg_status_5xx = 2;
	cr_expect_float_eq(ih_apply_signals(0.05, &sg, NULL), 0.05, 1e-9);
}

Test(issuer_health, estimate_entry_point)
{
	struct sc_request hist[] = {ih_req(H, SC_OUT_ISSUED, NULL), ih_req(2 * H, SC_OUT_ISSUED, NULL)};
	struct sc_issuer is;
	struct sc_issuer_estimate e;
	memset(&is, 0, sizeof(is));
	is.is_kind = "ClusterIssuer";
	is.is_name = "letsencrypt";
	is.is_history = hist;
	is.is_nhistory = 2;
	sc_issuer_estimate(&is, NULL, NOW, &e);
	cr_expect(!e.ie_not_ready);
	cr_expect_lt(e.ie_lo, e.ie_mean);
	cr_expect_gt(e.ie_hi, e.ie_mean);
	is.is_ready.cd_status = SC_FALSE;
	is.is_ready.cd_reason = "ErrRegisterACMEAccount";
	is.is_ready.cd_message = "Failed to register ACME account: 400 "
				 "urn:ietf:params:acme:error:invalidContact: invalid contact domain";
	sc_issuer_estimate(&is, NULL, NOW, &e);
	cr_expect(e.ie_not_ready);
	cr_expect_eq(e.ie_ready_class, SC_CLASS_CONFIG);
	is.is_ready.cd_reason = "SomethingNew";
	is.is_ready.cd_message = "???";
	sc_issuer_estimate(&is, NULL, NOW, &e);
	cr_expect_eq(e.ie_ready_class, SC_CLASS_UNKNOWN, "not Ready is broken even in new words");
	sc_issuer_estimate(NULL, NULL, NOW, &e);
	cr_expect_float_eq(e.ie_mean, 0.05, 1e-12);
	sc_issuer_estimate(NULL, NULL, NOW, NULL); /* tolerated */
}

/*
 * The baseline leaves out the failures whose class heals as a fault (the fault model carries
 * them) and keeps the ones that are just bad luck: a table of one failure each, against the
 * same successes.
 */
Test(issuer_health, baseline_leaves_out_fault_classes)
{
	static const struct {
		const char *name;
		const char *msg;
		int counted; /* stays in the baseline */
	} cases[] = {
	    {"outage", "Failed to finalize order: 503 Service Unavailable", 0},
	    {"dns", "DNS problem: SERVFAIL looking up TXT for _acme-challenge.a.example", 0},
	    {"rate limit", "urn:ietf:params:acme:error:rateLimited: too many certificates already issued", 0},
	    {"configuration", "urn:ietf:params:acme:error:rejectedIdentifier: CAA record forbids issuance", 0},
	    {"transient", "urn:ietf:params:acme:error:badNonce: JWS has an invalid anti-replay nonce", 1},
	    {"unknown", "something nobody has seen before", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sc_request r[5];
		struct sc_issuer_estimate e;
		for (int k = 0; k < 4; k++)
			r[k] = ih_req((k + 2) * H, SC_OUT_ISSUED, NULL);
		r[4] = ih_req(H, SC_OUT_FAILED, cases[i].msg);
		ih_posterior(r, 5, 0.05, 10.0, NOW, 3 * D, &e);
		cr_expect_float_eq(e.ie_base_conc, e.ie_alpha + e.ie_beta - (cases[i].counted ? 0.0 : e.ie_failures),
				   1e-9, "%s", cases[i].name);
		if (cases[i].counted) {
			cr_expect_float_eq(e.ie_base_mean, e.ie_mean, 1e-12, "%s", cases[i].name);
		} else {
			cr_expect_lt(e.ie_base_mean, e.ie_mean, "%s", cases[i].name);
			cr_expect_gt(e.ie_mean, e.ie_base_mean, "%s", cases[i].name);
			cr_expect_lt(e.ie_base_mean, 0.05, "%s: four successes on a 5%% prior", cases[i].name);
		}
	}
}

/*
 * A history may carry each failure's class, read once by its keeper (rq_class_known): the
 * posterior then takes that class and does not read the words again; without it, the words
 * decide. Both ways the counts are the same, only the class split follows the source.
 */
Test(issuer_health, a_class_read_once_is_used)
{
	static const struct {
		const char *name;
		int known;
		enum sc_class cls;
		enum sc_class want;
		double base_failures; /* failures counted in the baseline (non-fault classes) */
	} cases[] = {
	    {"the words decide: CA unavailable (a fault class)", 0, SC_CLASS_OK, SC_CLASS_CA_UNAVAILABLE, 0},
	    {"a kept class wins: transient", 1, SC_CLASS_TRANSIENT, SC_CLASS_TRANSIENT, 2},
	    {"a kept class wins: configuration", 1, SC_CLASS_CONFIG, SC_CLASS_CONFIG, 0},
	    {"a kept OK counts as unknown", 1, SC_CLASS_OK, SC_CLASS_UNKNOWN, 2},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sc_request reqs[] = {
		    ih_req(1 * H, SC_OUT_FAILED, "503 urn:ietf:params:acme:error:serverInternal: busy"),
		    ih_req(2 * H, SC_OUT_FAILED, "503 urn:ietf:params:acme:error:serverInternal: busy"),
		};
		for (size_t j = 0; j < 2; j++) {
			reqs[j].rq_class_known = cases[i].known;
			reqs[j].rq_class = cases[i].cls;
		}
		struct sc_issuer_estimate e;
		ih_posterior(reqs, 2, 0.05, 10.0, NOW, 3 * D, &e);
		cr_expect_eq(e.ie_class, cases[i].want, "%s: class %d", cases[i].name, (int)e.ie_class);
		/* the baseline leaves out the fault classes' failures */
		double base = e.ie_base_mean * e.ie_base_conc - 0.05 * 10.0;
		cr_expect(fabs(base - cases[i].base_failures * ih_weight(2 * H, 3 * D)) < 0.2,
		    "%s: baseline failures %.3f", cases[i].name, base);
		cr_expect_float_eq(e.ie_failures, ih_weight(1 * H, 3 * D) + ih_weight(2 * H, 3 * D), 1e-9,
		    "%s: both failures counted", cases[i].name);
	}
}
