/*
 * Tests of sc_evaluate() end to end, its explanations (scoring/explain), and the properties
 * that must hold over generated grids of certificates: more failures never lower the risk,
 * more time left never raises it, risk stays in [0,1], levels follow the thresholds, and every
 * recommended renewBefore passes cert-manager's validation.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "explain.h"
#include "learn.h"
#include "policy.h"
#include "scoring.h"
#include "stuck.h"

#define M 60LL
#define H 3600LL
#define D (24 * H)
#define NOW 1767225600LL

static const char *const caa_msg =
	"The certificate request has failed to complete and will be retried: Failed to wait for "
	"order resource \"web-1-2299060280\" to become ready: order is in \"errored\" state: "
	"Failed to create Order: 400 urn:ietf:params:acme:error:caa: CAA record for example.com "
	"prevents issuance";
static const char *const outage_msg =
	"The certificate request has failed to complete and will be retried: 503 "
	"urn:ietf:params:acme:error:serverInternal: The service is down for maintenance";

/* A 90-day certificate issued days_old days ago; nothing failing. */
static void
te_input(struct sc_input *in, int64_t days_old)
{
	memset(in, 0, sizeof(*in));
	in->in_now = NOW;
	in->in_cert.c_namespace = "shop";
	in->in_cert.c_name = "web";
	in->in_cert.c_issuer_kind = "ClusterIssuer";
	in->in_cert.c_issuer_name = "letsencrypt";
	in->in_cert.c_not_before = NOW - days_old * D;
	in->in_cert.c_not_after = NOW - days_old * D + 90 * D;
}

/* Makes the certificate fail n times, the last one `ago` seconds ago, with message msg. */
static void
te_failing(struct sc_input *in, int32_t n, int64_t ago, const char *msg)
{
	in->in_cert.c_failed_attempts = n;
	in->in_cert.c_last_failure = NOW - ago;
	in->in_cert.c_issuing.cd_status = SC_FALSE;
	in->in_cert.c_issuing.cd_reason = "Failed";
	in->in_cert.c_issuing.cd_message = msg;
	in->in_cert.c_issuing.cd_time = NOW - ago;
}

static void
te_check_common(const struct sc_result *r, const char *name)
{
	cr_expect(r->r_risk >= 0.0 && r->r_risk <= 1.0, "%s: risk %g", name, r->r_risk);
	cr_expect_lt(strlen(r->r_reasons), (size_t)SC_REASONS_MAX, "%s", name);
	cr_expect_leq(r->r_nfactors, (uint32_t)SC_MAX_FACTORS, "%s", name);
	cr_expect_leq(r->r_nattempts, r->r_attempts_total, "%s", name);
	for (uint32_t i = 1; i < r->r_nfactors; i++)
		cr_expect_geq(fabs(r->r_factors[i - 1].f_contrib), fabs(r->r_factors[i].f_contrib),
			      "%s: factors sorted", name);
}

Test(evaluate, healthy_certificate_is_low)
{
	struct sc_input in;
	struct sc_result r;
	te_input(&in, 50);
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	te_check_common(&r, "healthy");
	cr_expect_eq(r.r_level, SC_LEVEL_LOW);
	cr_expect_lt(r.r_risk, 1e-6);
	cr_expect_eq(r.r_predicted_failure, 0);
	cr_expect_eq(r.r_renewal_time, NOW + 10 * D);
	cr_expect_eq(r.r_next_attempt, NOW + 10 * D);
	cr_expect_gt(r.r_attempts_total, 10);
	cr_expect_eq(r.r_decision.d_rb, SC_RB_LEAVE);
	cr_expect(!r.r_decision.d_reissue);
	cr_expect_eq(r.r_decision.d_failover, SC_FO_NONE);
	cr_expect_neq(r.r_reasons[0], '\0');
	cr_expect_eq(r.r_class, SC_CLASS_OK);
}

/*
 * A certificate whose names no longer match the spec is reissued by cert-manager at once, not
 * at its renewal time; after a failure, at the end of the backoff.
 */
Test(evaluate, spec_mismatch_makes_the_attempt_due_now)
{
	struct sc_input in;
	struct sc_result r;
	te_input(&in, 20);
	in.in_cert.c_spec_mismatch = 1;
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	te_check_common(&r, "mismatch");
	cr_expect_eq(r.r_next_attempt, NOW, "due at the renewal time instead");
	te_failing(&in, 2, 30 * M, outage_msg);
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect_eq(r.r_next_attempt, NOW - 30 * M + 2 * H, "backoff of the second failure");
	in.in_cert.c_spec_mismatch = 0;
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect_eq(r.r_next_attempt, NOW + 40 * D, "a matching spec waits for its renewal time");
}

Test(evaluate, configuration_failure_is_critical)
{
	struct sc_input in;
	struct sc_result r, fresh;
	/* 20 failures: cert-manager's backoff dates the streak about 20 days back */
	te_input(&in, 87);
	te_failing(&in, 20, H, caa_msg);
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	te_check_common(&r, "caa");
	cr_expect_eq(r.r_class, SC_CLASS_CONFIG);
	cr_expect_geq(r.r_level, SC_LEVEL_HIGH, "weeks old, three days left: %g", r.r_risk);
	cr_expect_gt(r.r_risk, 0.5);
	cr_expect_geq(r.r_predicted_failure, NOW);
	cr_expect_leq(r.r_predicted_failure, in.in_cert.c_not_after);
	cr_expect_eq(r.r_backoff_until, NOW + 31 * H, "32h after the twentieth failure");
	cr_expect_eq(r.r_next_attempt, NOW + 31 * H);
	cr_expect_not_null(strstr(r.r_reasons, "configuration"), "%s", r.r_reasons);
	cr_expect(!r.r_decision.d_reissue, "a configuration error will fail again");
	cr_expect_str_eq(r.r_factors[0].f_name, "fault");
	/* the same error an hour old with a month left: likely fixed by an operator in time */
	te_input(&in, 62);
	te_failing(&in, 1, H, caa_msg);
	cr_assert_eq(sc_evaluate(&in, &fresh), SC_OK);
	cr_expect_eq(fresh.r_class, SC_CLASS_CONFIG);
	cr_expect_lt(fresh.r_level, SC_LEVEL_HIGH, "fresh: %g", fresh.r_risk);
	cr_expect_lt(fresh.r_risk, r.r_risk);
	cr_expect_gt(r.r_risk, fresh.r_risk);
	cr_expect_gt(fresh.r_risk, 0.0);
}

Test(evaluate, healed_outage_versus_fresh_outage)
{
	struct sc_input in;
	struct sc_result fresh, old, cleared;
	struct sc_issuer is;
	struct sc_request ok;
	te_input(&in, 88);
	in.in_cert.c_not_after = NOW + 40 * H; /* 40 hours left */
	in.in_cert.c_not_before = in.in_cert.c_not_after - 90 * D;
	te_failing(&in, 6, 5 * M, outage_msg);
	cr_assert_eq(sc_evaluate(&in, &fresh), SC_OK);
	te_failing(&in, 6, 20 * H, outage_msg);
	cr_assert_eq(sc_evaluate(&in, &old), SC_OK);
	cr_expect_eq(fresh.r_class, SC_CLASS_CA_UNAVAILABLE);
	cr_expect_gt(fresh.r_p_fault, old.r_p_fault, "an older sighting may have healed");
	cr_expect_lt(old.r_p_fault, fresh.r_p_fault);
	cr_expect(!old.r_decision.d_reissue, "no evidence yet that the outage is over");
	/* another certificate of the issuer was issued an hour ago: the outage is over */
	memset(&is, 0, sizeof(is));
	memset(&ok, 0, sizeof(ok));
	ok.rq_time = NOW - H - 60;
	ok.rq_done = NOW - H;
	ok.rq_outcome = SC_OUT_ISSUED;
	is.is_name = "letsencrypt";
	is.is_history = &ok;
	is.is_nhistory = 1;
	in.in_issuer = &is;
	cr_assert_eq(sc_evaluate(&in, &cleared), SC_OK);
	cr_expect_lt(cleared.r_p_fault, 0.2 * old.r_p_fault);
	/*
	 * 20h into a 32h backoff with 40h left: the backoff leaves one attempt, a reissue now
	 * leaves two; the backoff is the obstacle and the evidence says go
	 */
	cr_expect(cleared.r_decision.d_reissue, "%s", cleared.r_decision.d_note);
	cr_expect_eq(cleared.r_decision.d_reissue_reason, SC_REISSUE_BACKOFF);
	/* a DNS failure learns nothing from another certificate's success */
	te_failing(&in, 6, 20 * H, "DNS problem: NXDOMAIN looking up TXT for _acme-challenge.x");
	cr_assert_eq(sc_evaluate(&in, &cleared), SC_OK);
	in.in_issuer = NULL;
	cr_assert_eq(sc_evaluate(&in, &old), SC_OK);
	cr_expect_float_eq(cleared.r_p_fault, old.r_p_fault, 1e-9);
}

/*
 * The evidence that an outage has cleared grows with the issuer's successes since: one lucky
 * request leaves it likely, several settle it; successes followed by another failure of the
 * outage's kind count for nothing.
 */
Test(evaluate, issuer_recovery_needs_successes_after_the_last_failure)
{
	struct sc_input in;
	struct sc_result r;
	struct sc_issuer is;
	struct sc_request hist[SC_RECENT_OK + 2];
	double p[SC_RECENT_OK + 1];
	te_input(&in, 88);
	in.in_cert.c_not_after = NOW + 40 * H;
	in.in_cert.c_not_before = in.in_cert.c_not_after - 90 * D;
	te_failing(&in, 3, 30 * M, outage_msg);
	memset(&is, 0, sizeof(is));
	memset(hist, 0, sizeof(hist));
	is.is_name = "letsencrypt";
	is.is_history = hist;
	in.in_issuer = &is;
	for (int k = 0; k <= SC_RECENT_OK; k++) {
		is.is_nhistory = (size_t)k;
		if (k > 0) {
			hist[k - 1].rq_time = NOW - 20 * M + (k - 1) * M - 30;
			hist[k - 1].rq_done = NOW - 20 * M + (k - 1) * M;
			hist[k - 1].rq_outcome = SC_OUT_ISSUED;
		}
		cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
		p[k] = r.r_p_fault;
		if (k > 0)
			cr_expect_lt(p[k], p[k - 1], "%d successes since the failure", k);
	}
	cr_expect_gt(p[1], 0.3, "one success against a 95%% outage may be luck: %g", p[1]);
	cr_expect_lt(p[4], 0.01, "four settle it: %g", p[4]);
	/* the same successes, then another certificate meets the outage again */
	hist[SC_RECENT_OK].rq_time = NOW - 5 * M - 30;
	hist[SC_RECENT_OK].rq_done = NOW - 5 * M;
	hist[SC_RECENT_OK].rq_outcome = SC_OUT_FAILED;
	hist[SC_RECENT_OK].rq_reason = "Failed";
	hist[SC_RECENT_OK].rq_message = outage_msg;
	is.is_nhistory = SC_RECENT_OK + 1;
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect_gt(r.r_p_fault, p[1], "a failure after the successes: %g", r.r_p_fault);
	/* and one more success after that failure counts again */
	hist[SC_RECENT_OK + 1].rq_time = NOW - 2 * M - 30;
	hist[SC_RECENT_OK + 1].rq_done = NOW - 2 * M;
	hist[SC_RECENT_OK + 1].rq_outcome = SC_OUT_ISSUED;
	is.is_nhistory = SC_RECENT_OK + 2;
	{
		struct sc_result after;
		cr_assert_eq(sc_evaluate(&in, &after), SC_OK);
		cr_expect_lt(after.r_p_fault, r.r_p_fault);
	}
}

Test(evaluate, expired_and_invalid_inputs)
{
	struct sc_input in;
	struct sc_result r;
	te_input(&in, 91);
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect_eq(r.r_risk, 1.0);
	cr_expect_eq(r.r_level, SC_LEVEL_CRITICAL);
	cr_expect_eq(r.r_predicted_failure, in.in_cert.c_not_after);

	const struct {
		const char *name;
		int64_t now, nb, na;
	} bad[] = {
		{"no evaluation time", 0, NOW, NOW + D},
		{"notAfter before notBefore", NOW, NOW + D, NOW},
		{"notAfter without notBefore", NOW, 0, NOW + D},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		te_input(&in, 10);
		in.in_now = bad[i].now;
		in.in_cert.c_not_before = bad[i].nb;
		in.in_cert.c_not_after = bad[i].na;
		cr_expect_eq(sc_evaluate(&in, &r), SC_ERR_INVAL, "%s", bad[i].name);
		cr_expect_eq(r.r_risk, 0.0, "%s", bad[i].name);
		cr_expect_str_eq(r.r_factors[0].f_name, "invalid-input", "%s", bad[i].name);
	}
	cr_expect_eq(sc_evaluate(NULL, &r), SC_ERR_INVAL);
	cr_expect_eq(sc_evaluate(&in, NULL), SC_ERR_INVAL);
	struct sc_config cfg;
	sc_config_default(&cfg);
	cfg.cf_target_risk = 2.0;
	te_input(&in, 10);
	in.in_cfg = &cfg;
	cr_expect_eq(sc_evaluate(&in, &r), SC_ERR_INVAL, "config out of range");
}

Test(evaluate, not_yet_issued)
{
	struct sc_input in;
	struct sc_result r;
	te_input(&in, 0);
	in.in_cert.c_not_before = 0;
	in.in_cert.c_not_after = 0;
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect_eq(r.r_next_attempt, NOW);
	cr_expect_eq(r.r_level, SC_LEVEL_LOW);
	{
		/* the schedule factor speaks of the first issuance, not of an expiry "in 0s" */
		const char *sched = NULL;
		for (size_t i = 0; i < r.r_nfactors; i++)
			if (strcmp(r.r_factors[i].f_name, "schedule") == 0)
				sched = r.r_factors[i].f_text;
		cr_assert_not_null(sched);
		cr_expect_not_null(strstr(sched, "not issued yet"), "%s", sched);
		cr_expect_not_null(strstr(sched, "within 24h"), "%s", sched);
		cr_expect_null(strstr(sched, "expiry"), "%s", sched);
	}
	te_failing(&in, 2, H, caa_msg);
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect_geq(r.r_level, SC_LEVEL_HIGH, "a first issuance failing on configuration");
}

Test(evaluate, renewal_disabled_and_bad_windows)
{
	struct sc_input in;
	struct sc_result r;
	struct sc_window w = {"61 * * * *", H, 0};
	te_input(&in, 50);
	in.in_cert.c_spec.rs_policy = SC_RENEWAL_DISABLED;
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect_eq(r.r_risk, 1.0);
	cr_expect_eq(r.r_renewal_time, 0);
	cr_expect_eq(r.r_decision.d_rb, SC_RB_BLOCKED);
	cr_expect_not_null(strstr(r.r_reasons, "Disabled"), "%s", r.r_reasons);

	in.in_cert.c_spec.rs_policy = SC_RENEWAL_RENEW_BEFORE;
	in.in_cert.c_spec.rs_windows = &w;
	in.in_cert.c_spec.rs_nwindows = 1;
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK, "a bad cron never fails the call");
	cr_expect_eq(r.r_risk, 1.0);
	cr_expect_not_null(strstr(r.r_reasons, "cron"), "%s", r.r_reasons);

	w.rw_cron = "0 10 * * *";
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect_lt(r.r_risk, 0.01);
	cr_expect_eq(r.r_renewal_time, NOW + 10 * D + 10 * H, "moved into the window");
}

Test(evaluate, issuer_state_moves_the_risk_both_ways)
{
	struct sc_input in;
	struct sc_result base, not_ready, failing;
	struct sc_issuer is;
	struct sc_request hist[6];
	te_input(&in, 85); /* 5 days left */
	memset(&is, 0, sizeof(is));
	is.is_kind = "ClusterIssuer";
	is.is_name = "letsencrypt";
	in.in_issuer = &is;
	cr_assert_eq(sc_evaluate(&in, &base), SC_OK);

	is.is_ready.cd_status = SC_FALSE;
	is.is_ready.cd_reason = "ErrInitIssuer";
	is.is_ready.cd_message = "Error initializing issuer: secrets \"ca-key-pair\" not found";
	is.is_ready.cd_time = NOW - 30 * D; /* broken for a month: no fix in sight */
	cr_assert_eq(sc_evaluate(&in, &not_ready), SC_OK);
	cr_expect_gt(not_ready.r_risk, base.r_risk);
	cr_expect_geq(not_ready.r_level, SC_LEVEL_HIGH);

	is.is_ready.cd_status = SC_TRUE;
	for (int i = 0; i < 6; i++) {
		memset(&hist[i], 0, sizeof(hist[i]));
		hist[i].rq_time = NOW - (i + 1) * 2 * H - 60;
		hist[i].rq_done = NOW - (i + 1) * 2 * H;
		hist[i].rq_outcome = SC_OUT_FAILED;
		hist[i].rq_reason = "Failed";
		hist[i].rq_message = outage_msg;
	}
	is.is_history = hist;
	is.is_nhistory = 6;
	cr_assert_eq(sc_evaluate(&in, &failing), SC_OK);
	cr_expect_gt(failing.r_risk, base.r_risk);
	cr_expect_gt(failing.r_issuer.ie_mean, base.r_issuer.ie_mean);
	cr_expect(failing.r_issuer.ie_failing);
	/* and back: the same history all successes brings it under the healthy prior */
	for (int i = 0; i < 6; i++)
		hist[i].rq_outcome = SC_OUT_ISSUED;
	cr_assert_eq(sc_evaluate(&in, &failing), SC_OK);
	cr_expect_leq(failing.r_risk, base.r_risk);
}

Test(evaluate, learned_model_adjusts_and_explains)
{
	struct sc_input in;
	struct sc_result with, without;
	struct lm_model m;
	te_input(&in, 85);
	lm_init(&m, NULL);
	cr_assert_eq(sc_evaluate(&in, &without), SC_OK);
	in.in_model = &m;
	cr_assert_eq(sc_evaluate(&in, &with), SC_OK);
	int found = 0;
	for (uint32_t i = 0; i < with.r_nfactors; i++)
		found |= strcmp(with.r_factors[i].f_name, "learned") == 0;
	cr_expect(found, "a learned factor when a model is given");
	for (uint32_t i = 0; i < without.r_nfactors; i++)
		cr_expect_str_neq(without.r_factors[i].f_name, "learned");
	cr_expect(with.r_p_attempt > 0.0 && with.r_p_attempt < 1.0);
}

Test(evaluate, anomalies_sorted_bounded_and_security_reissues)
{
	struct sc_input in;
	struct sc_result r;
	struct sc_anomaly an[11];
	te_input(&in, 20);
	for (int i = 0; i < 11; i++) {
		memset(&an[i], 0, sizeof(an[i]));
		snprintf(an[i].an_type, sizeof(an[i].an_type), "unusual-hour");
		an[i].an_severity = SC_SEV_INFO;
		an[i].an_score = i;
		snprintf(an[i].an_evidence, sizeof(an[i].an_evidence), "case %d", i);
	}
	an[4].an_severity = SC_SEV_CRITICAL;
	snprintf(an[4].an_type, sizeof(an[4].an_type), "weak-key");
	in.in_anomalies = an;
	in.in_nanomalies = 11;
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect_eq(r.r_nanomalies, SC_MAX_ANOMALIES);
	cr_expect_str_eq(r.r_anomalies[0].an_type, "weak-key");
	for (uint32_t i = 2; i < r.r_nanomalies; i++)
		cr_expect_geq(r.r_anomalies[i - 1].an_score, r.r_anomalies[i].an_score);
	cr_expect(!r.r_decision.d_reissue, "no security flag, no reissue");
	an[4].an_security = 1;
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect(r.r_decision.d_reissue);
	cr_expect_eq(r.r_decision.d_reissue_reason, SC_REISSUE_SECURITY);
}

static uint64_t
te_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *const te_msgs[] = {NULL,
				     "The certificate request has failed to complete and will be "
				     "retried: 400 urn:ietf:params:acme:error:caa: CAA forbids it",
				     "429 urn:ietf:params:acme:error:rateLimited: too many "
				     "certificates already issued",
				     "DNS problem: NXDOMAIN looking up TXT for _acme-challenge.x",
				     "503 urn:ietf:params:acme:error:serverInternal: busy",
				     "400 urn:ietf:params:acme:error:badNonce: stale nonce",
				     "something new and strange"};

Test(evaluate, more_failures_never_lower_the_risk)
{
	int checked = 0;
	for (size_t m = 1; m < sizeof(te_msgs) / sizeof(te_msgs[0]); m++)
		for (int64_t left = 2 * D; left <= 40 * D; left += 7 * D)
			for (int64_t ago = 10 * M; ago <= 30 * H; ago += 6 * H) {
				double prev = -1.0;
				for (int32_t n = 1; n <= 9; n++) {
					struct sc_input in;
					struct sc_result r;
					te_input(&in, 90 - left / D);
					te_failing(&in, n, ago, te_msgs[m]);
					cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
					cr_expect_geq(r.r_risk, prev - 1e-9,
						      "%s left %lldd ago %lldh n=%d: %g < %g",
						      te_msgs[m], (long long)(left / D),
						      (long long)(ago / H), n, r.r_risk, prev);
					prev = r.r_risk;
					checked++;
				}
			}
	cr_expect_gt(checked, 1000);
}

Test(evaluate, more_time_left_never_raises_the_risk)
{
	int checked = 0;
	const int64_t lifetimes[] = {6 * D + 16 * H, 47 * D, 90 * D};
	for (size_t m = 0; m < sizeof(te_msgs) / sizeof(te_msgs[0]); m++)
		for (size_t l = 0; l < sizeof(lifetimes) / sizeof(lifetimes[0]); l++)
			for (int rbset = 0; rbset < 2; rbset++) {
				double prev = 2.0;
				/* the same certificate with notAfter later and later */
				for (int64_t extra = 0; extra <= 20 * D; extra += D) {
					struct sc_input in;
					struct sc_result r;
					te_input(&in, 0);
					in.in_cert.c_not_before = NOW - lifetimes[l] + 2 * D;
					in.in_cert.c_not_after = NOW + 2 * D + extra;
					in.in_cert.c_spec.rs_renew_before_set = rbset;
					in.in_cert.c_spec.rs_renew_before = 3 * D;
					if (te_msgs[m] != NULL)
						te_failing(&in, 4, 3 * H, te_msgs[m]);
					cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
					cr_expect_leq(r.r_risk, prev + 1e-9, "%s life %lldd rb %d +%lldd",
						      te_msgs[m] ? te_msgs[m] : "healthy",
						      (long long)(lifetimes[l] / D), rbset,
						      (long long)(extra / D));
					prev = r.r_risk;
					checked++;
				}
			}
	cr_expect_gt(checked, 200);
}

Test(evaluate, random_grid_invariants)
{
	uint64_t s = 42;
	struct sc_config cfg;
	sc_config_default(&cfg);
	for (int k = 0; k < 3000; k++) {
		struct sc_input in;
		struct sc_result r;
		char why[128];
		int64_t life = (int64_t)(1 + te_next(&s) % 400) * D / 2;
		te_input(&in, 0);
		in.in_cfg = &cfg;
		in.in_cert.c_not_before = NOW - (int64_t)(te_next(&s) % (uint64_t)life);
		in.in_cert.c_not_after = in.in_cert.c_not_before + life;
		if (te_next(&s) % 3 == 0) {
			in.in_cert.c_spec.rs_renew_before_set = 1;
			in.in_cert.c_spec.rs_renew_before = (int64_t)(te_next(&s) % (uint64_t)(2 * life));
		}
		if (te_next(&s) % 5 == 0) {
			in.in_cert.c_spec.rs_pct_set = 1;
			in.in_cert.c_spec.rs_pct = (int32_t)(te_next(&s) % 101);
		}
		if (te_next(&s) % 2 == 0)
			te_failing(&in, (int32_t)(te_next(&s) % 10),
				   (int64_t)(te_next(&s) % (3 * D)) + 1,
				   te_msgs[te_next(&s) % (sizeof(te_msgs) / sizeof(te_msgs[0]))]);
		if (te_next(&s) % 4 == 0) {
			in.in_signals.sg_valid = 1;
			in.in_signals.sg_requests = (double)(te_next(&s) % 200);
			in.in_signals.sg_status_5xx = in.in_signals.sg_requests / 2;
			in.in_signals.sg_restarts_1h = (uint32_t)(te_next(&s) % 4);
		}
		if (te_next(&s) % 4 == 0) {
			in.in_state.st_rb_adjusted = 1;
			in.in_state.st_last_change = NOW - (int64_t)(te_next(&s) % (2 * D));
		}
		cr_assert_eq(sc_evaluate(&in, &r), SC_OK, "case %d", k);
		te_check_common(&r, "random");
		cr_expect(r.r_risk >= cfg.cf_level_critical ? r.r_level == SC_LEVEL_CRITICAL
			  : r.r_risk >= cfg.cf_level_high   ? r.r_level == SC_LEVEL_HIGH
			  : r.r_risk >= cfg.cf_level_medium ? r.r_level == SC_LEVEL_MEDIUM
							    : r.r_level == SC_LEVEL_LOW,
			  "case %d: level %d for risk %g", k, r.r_level, r.r_risk);
		if (r.r_decision.d_rb == SC_RB_SET)
			cr_expect_eq(pol_validate_renew_before(r.r_decision.d_rb_value, &in.in_cert,
							       why, sizeof(why)),
				     SC_OK, "case %d: %s (%lld)", k, why,
				     (long long)r.r_decision.d_rb_value);
		if (r.r_decision.d_rb == SC_RB_RESTORE && !r.r_decision.d_rb_unset)
			cr_expect_geq(r.r_decision.d_rb_value, 0);
		if (r.r_risk <= cfg.cf_target_risk)
			cr_expect_eq(r.r_predicted_failure, 0, "case %d", k);
	}
}

Test(explain, durations_and_times)
{
	const struct {
		int64_t s;
		const char *want;
	} cases[] = {
		{0, "0s"}, {45, "45s"}, {300, "5m"}, {330, "5m30s"}, {3600, "1h"}, {5400, "1h30m"},
		{864000, "240h"}, {3661, "1h1m1s"}, {-300, "-5m"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		ex_duration(cases[i].s, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].want);
	}
	char t[32];
	ex_time(NOW, t, sizeof(t));
	cr_expect_str_eq(t, "2026-01-01T00:00:00Z");
	ex_time(0, t, sizeof(t));
	cr_expect_str_eq(t, "none");
	ex_time(NOW + 59 * D + 13 * H + 7 * M + 5, t, sizeof(t));
	cr_expect_str_eq(t, "2026-03-01T13:07:05Z");
}

Test(explain, reasons_are_bounded_and_separated)
{
	struct sc_result r;
	char small[40], big[SC_REASONS_MAX];
	memset(&r, 0, sizeof(r));
	ex_add(&r, "a", 0, 0.5, "first; with a semicolon");
	ex_add(&r, "b", 0, -0.7, "second");
	ex_add(&r, "c", 0, 0.00001, "negligible");
	for (int i = 0; i < 20; i++)
		ex_add(&r, "x", 0, 0.01, "filler %d", i);
	cr_expect_eq(r.r_nfactors, SC_MAX_FACTORS, "extra factors dropped");
	ex_sort(&r);
	cr_expect_str_eq(r.r_factors[0].f_name, "b");
	cr_expect_str_eq(r.r_factors[1].f_name, "a");
	cr_assert_eq(ex_reasons(&r, big, sizeof(big)), SC_OK);
	cr_expect_not_null(strstr(big, "second; first, with a semicolon"), "%s", big);
	cr_expect_null(strstr(big, "negligible"));
	int seps = 0;
	for (const char *p = big; *p; p++)
		seps += *p == ';';
	cr_expect_eq(seps, 4, "five factors at most: %s", big);
	cr_expect_eq(ex_reasons(&r, small, sizeof(small)), SC_ERR_NOSPACE);
	cr_expect_lt(strlen(small), sizeof(small));
	cr_expect_eq(ex_reasons(&r, small, 0), SC_ERR_NOSPACE);
}

Test(explain, full_text_is_cut_cleanly)
{
	struct sc_input in;
	struct sc_result r;
	char big[8192], tiny[100];
	te_input(&in, 62);
	te_failing(&in, 3, D, caa_msg);
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_assert_eq(ex_text(&in, &r, big, sizeof(big)), SC_OK);
	cr_expect_not_null(strstr(big, "risk: "));
	cr_expect_not_null(strstr(big, "issuer estimate: prior"));
	cr_expect_not_null(strstr(big, "fault"));
	cr_expect_eq(ex_text(&in, &r, tiny, sizeof(tiny)), SC_ERR_NOSPACE);
	cr_expect_lt(strlen(tiny), sizeof(tiny));
	cr_expect_eq(tiny[strlen(tiny) - 1], '\n', "cut at a line boundary");
	cr_expect_eq(ex_text(NULL, &r, big, sizeof(big)), SC_OK);
}

/*
 * ARI windows as a deadline: a table of windows for a healthy 47-day certificate (cert-manager
 * renews at day 31.3). Routine windows sit just before the renewal time; a short "renew now"
 * window that closes well before it (a revocation notice) raises the risk even when the gap is
 * under a tenth of the lifetime, as long as it exceeds the window's own width. A window wider
 * than the five days a CA has to revoke is a scheduling request and sets no deadline.
 */
Test(evaluate, ari_window_as_deadline)
{
	static const struct {
		const char *name;
		int64_t start, end; /* from notBefore */
		int urgent;
	} cases[] = {
	    {"routine 0.64-0.66", 722 * H, 744 * H, 0},
	    {"short window, gap under its width", 700 * H, 740 * H, 0},
	    {"short window, gap over its width", 620 * H, 680 * H, 1},
	    {"long window, gap under a tenth of the lifetime", 500 * H, 700 * H, 0},
	    {"four-day window, gap over a tenth of the lifetime", 500 * H, 596 * H, 1},
	    {"five-day window: a revocation can still end it", 480 * H, 600 * H, 1},
	    {"a day wider than five: a scheduling request", 456 * H, 600 * H, 0},
	    {"long window, gap over a tenth of the lifetime: a scheduling request", 400 * H, 600 * H, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sc_input in;
		struct sc_result r, plain;
		memset(&in, 0, sizeof(in));
		in.in_now = NOW;
		in.in_cert.c_namespace = "shop";
		in.in_cert.c_name = "web";
		in.in_cert.c_issuer_kind = "ClusterIssuer";
		in.in_cert.c_issuer_name = "letsencrypt";
		in.in_cert.c_not_before = NOW - 620 * H;
		in.in_cert.c_not_after = in.in_cert.c_not_before + 47 * D;
		cr_assert_eq(sc_evaluate(&in, &plain), SC_OK);
		in.in_ari.ar_valid = 1;
		in.in_ari.ar_start = in.in_cert.c_not_before + cases[i].start;
		in.in_ari.ar_end = in.in_cert.c_not_before + cases[i].end;
		cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
		if (cases[i].urgent) {
			cr_expect_geq(r.r_level, SC_LEVEL_HIGH, "%s: %g", cases[i].name, r.r_risk);
			cr_expect_gt(r.r_risk, plain.r_risk, "%s", cases[i].name);
		} else {
			cr_expect_lt(r.r_level, SC_LEVEL_HIGH, "%s: %g", cases[i].name, r.r_risk);
			cr_expect_float_eq(r.r_risk, plain.r_risk, 1e-12, "%s", cases[i].name);
		}
	}
}

static int
te_has_factor(const struct sc_result *r, const char *name)
{
	for (uint32_t i = 0; i < r->r_nfactors; i++)
		if (strcmp(r->r_factors[i].f_name, name) == 0)
			return 1;
	return 0;
}

static int
te_factor_text_has(const struct sc_result *r, const char *name, const char *words)
{
	for (uint32_t i = 0; i < r->r_nfactors; i++)
		if (strcmp(r->r_factors[i].f_name, name) == 0 &&
		    strstr(r->r_factors[i].f_text, words) != NULL)
			return 1;
	return 0;
}

/*
 * cert-manager's renewal time passed with no attempt at all: cert-manager is not renewing.
 * Each case is the 90-day certificate 70 days old (renewal time 10 days ago at day 60) with
 * status.renewalTime at day 60 plus `shift`, against the same certificate that shows a sign of
 * cert-manager acting. Named cases, both directions.
 */
Test(evaluate, stalled_cert_manager)
{
	static const struct {
		const char *name;
		int64_t overdue;     /* now - status.renewalTime */
		int sign;            /* 0 none, 1 a request since, 2 Issuing=True, 3 a failure since,
					4 status.renewalTime unknown; 5 Issuing=True since `overdue`
					ago and no request since, 6 the same with a request made
					after it */
		int stalled;         /* the stall factor is expected */
	} cases[] = {
	    {"overdue 10 days, nothing happened", 10 * D, 0, 1},
	    {"overdue 2 hours, nothing happened", 2 * H, 0, 1},
	    {"within the grace (30 minutes)", 30 * M, 0, 0},
	    {"a request was created since", 10 * D, 1, 0},
	    {"an issuance is running", 10 * D, 2, 0},
	    {"it failed since (the backoff path)", 10 * D, 3, 0},
	    {"no status.renewalTime", 10 * D, 4, 0},
	    {"Issuing=True for 10 days and no request", 10 * D, 5, 1},
	    {"Issuing=True for 2 hours and no request", 2 * H, 5, 1},
	    {"Issuing=True for 30 minutes and no request yet", 30 * M, 5, 0},
	    {"Issuing=True for 10 days, a request made after it", 10 * D, 6, 0},
	};
	struct sc_request rq = {NOW - 5 * D, NOW - 5 * D + 60, SC_OUT_PENDING, NULL, NULL};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sc_input in;
		struct sc_result r;
		te_input(&in, 70);
		in.in_cert.c_status_renewal_time = cases[i].sign == 4 ? 0 : NOW - cases[i].overdue;
		if (cases[i].sign == 1) {
			rq.rq_time = NOW - cases[i].overdue + 60;
			in.in_requests = &rq;
			in.in_nrequests = 1;
		} else if (cases[i].sign == 2) {
			in.in_cert.c_issuing.cd_status = SC_TRUE;
		} else if (cases[i].sign == 3) {
			te_failing(&in, 1, 600, outage_msg);
		} else if (cases[i].sign >= 5) {
			in.in_cert.c_issuing.cd_status = SC_TRUE;
			in.in_cert.c_issuing.cd_reason = "Renewing";
			in.in_cert.c_issuing.cd_time = NOW - cases[i].overdue;
			if (cases[i].sign == 6) {
				rq.rq_time = NOW - cases[i].overdue + 30;
				in.in_requests = &rq;
				in.in_nrequests = 1;
			}
		}
		cr_assert_eq(sc_evaluate(&in, &r), SC_OK, "%s", cases[i].name);
		te_check_common(&r, cases[i].name);
		cr_expect_eq(te_has_factor(&r, "stalled"), cases[i].stalled, "%s: %s", cases[i].name,
		    r.r_reasons);
		if (cases[i].stalled && cases[i].sign == 5)
			cr_expect(strstr(r.r_reasons, "no CertificateRequest") != NULL ||
				      te_factor_text_has(&r, "stalled", "no CertificateRequest"),
			    "%s: the text says what is missing", cases[i].name);
	}
	/* the stall raises the risk, and more time overdue never lowers it */
	double prev = -1.0;
	static const int64_t overdue[] = {2 * H, 12 * H, 2 * D, 10 * D, 20 * D};
	for (size_t k = 0; k < sizeof(overdue) / sizeof(overdue[0]); k++) {
		struct sc_input in, calm;
		struct sc_result r, rc;
		te_input(&in, 70);
		in.in_cert.c_status_renewal_time = NOW - overdue[k];
		calm = in;
		rq.rq_time = NOW - 60;
		calm.in_requests = &rq;
		calm.in_nrequests = 1;
		cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
		cr_assert_eq(sc_evaluate(&calm, &rc), SC_OK);
		cr_expect_gt(r.r_risk, rc.r_risk, "overdue %llds: stalled %g vs acting %g",
		    (long long)overdue[k], r.r_risk, rc.r_risk);
		cr_expect_geq(r.r_risk, prev, "overdue %llds: %g after %g", (long long)overdue[k],
		    r.r_risk, prev);
		prev = r.r_risk;
	}
	/* a stall heals like a wrong setting (someone has to act), so 10 days still leave hope */
	cr_expect_gt(prev, 0.1, "20 days overdue with 10 days left: well over the target (%g)", prev);
}

/*
 * A stuck issuance: an ACME certificate 80 days into 90 (renewal time passed at day 60) whose
 * newest CertificateRequest has been pending for `age`, Issuing=True set just before it. The
 * Challenge's self-check says why when `words` is set (HTTP-01 answering 404).
 */
static const char *const te_404 =
	"Waiting for HTTP-01 challenge propagation: wrong status code '404', expected '200'";

static void
te_stuck(struct sc_input *in, struct sc_request *rq, struct sc_event *ev, int64_t age, int words)
{
	te_input(in, 80);
	in->in_cert.c_acme = 1;
	in->in_cert.c_status_renewal_time = NOW - 20 * D;
	in->in_cert.c_issuing.cd_status = SC_TRUE;
	in->in_cert.c_issuing.cd_reason = "Renewing";
	in->in_cert.c_issuing.cd_time = NOW - age - 5;
	memset(rq, 0, sizeof(*rq));
	rq->rq_time = NOW - age;
	rq->rq_outcome = SC_OUT_PENDING;
	rq->rq_reason = "Pending";
	rq->rq_message = "Waiting on certificate issuance from order shop/web-1-2299060280: "
			 "\"pending\"";
	in->in_requests = rq;
	in->in_nrequests = 1;
	if (words) {
		memset(ev, 0, sizeof(*ev));
		ev->ev_reason = "PresentError";
		ev->ev_message = te_404;
		ev->ev_time = NOW - age + 2 * M;
		ev->ev_count = 1;
		ev->ev_warning = 0; /* the self-check's reason, surfaced as a Normal event */
		in->in_events = ev;
		in->in_nevents = 1;
	}
}

static const struct sc_factor *
te_factor(const struct sc_result *r, const char *name)
{
	for (uint32_t i = 0; i < r->r_nfactors; i++)
		if (strcmp(r->r_factors[i].f_name, name) == 0)
			return &r->r_factors[i];
	return NULL;
}

Test(evaluate, stuck_attempt_named_cases)
{
	static const struct {
		const char *name;
		int64_t age;   /* how long the request has been pending */
		int variant;   /* 0 as built; 1 a newer finished request; 2 Issuing=False;
				  3 Issuing turned True after the request (manual bypass);
				  4 not ACME; 5 a newer pending request (a new attempt) */
		int stuck;     /* the stuck factor is expected */
	} cases[] = {
	    {"young pending (10 minutes)", 10 * M, 0, 0},
	    {"slow but within the grace (100 minutes)", 100 * M, 0, 0},
	    {"old pending (3 days)", 3 * D, 0, 1},
	    {"just past the order's expiry (7 days 10 minutes)", 7 * D + 10 * M, 0, 1},
	    {"a newer request finished", 3 * D, 1, 0},
	    {"Issuing is False: the request is left over", 3 * D, 2, 0},
	    {"Issuing turned True after the request (bypass)", 3 * D, 3, 0},
	    {"not an ACME issuer: no order expires", 3 * D, 4, 0},
	    {"a newer request was just created", 3 * D, 5, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sc_input in;
		struct sc_request rq[2];
		struct sc_event ev;
		struct sc_result r;
		te_stuck(&in, &rq[0], &ev, cases[i].age, 1);
		if (cases[i].variant == 1 || cases[i].variant == 5) {
			rq[1] = rq[0];
			rq[1].rq_time = NOW - 10 * M;
			rq[1].rq_done = cases[i].variant == 1 ? NOW - 8 * M : 0;
			rq[1].rq_outcome = cases[i].variant == 1 ? SC_OUT_FAILED : SC_OUT_PENDING;
			in.in_requests = rq;
			in.in_nrequests = 2;
		} else if (cases[i].variant == 2) {
			in.in_cert.c_issuing.cd_status = SC_FALSE;
		} else if (cases[i].variant == 3) {
			in.in_cert.c_issuing.cd_time = NOW - 30 * M;
		} else if (cases[i].variant == 4) {
			in.in_cert.c_acme = 0;
		}
		cr_assert_eq(sc_evaluate(&in, &r), SC_OK, "%s", cases[i].name);
		te_check_common(&r, cases[i].name);
		cr_expect_eq(te_has_factor(&r, "stuck"), cases[i].stuck, "%s: %s", cases[i].name,
			     r.r_reasons);
		cr_expect(!r.r_decision.d_reissue, "%s: Issuing=True is already set", cases[i].name);
	}
}

Test(evaluate, stuck_attempt_raises_risk_and_names_the_cause)
{
	struct sc_input in;
	struct sc_request rq;
	struct sc_event ev;
	struct sc_result young, old, silent, expired;
	const struct sc_factor *f;
	te_stuck(&in, &rq, &ev, 10 * M, 1);
	cr_assert_eq(sc_evaluate(&in, &young), SC_OK);
	te_stuck(&in, &rq, &ev, 3 * D, 1);
	cr_assert_eq(sc_evaluate(&in, &old), SC_OK);
	cr_expect_gt(old.r_risk, young.r_risk + 0.05, "stuck %g vs young %g", old.r_risk,
		     young.r_risk);
	cr_expect_lt(young.r_risk, 0.01, "an ordinary attempt with 10 days left: %g",
		     young.r_risk);
	f = te_factor(&old, "stuck");
	cr_assert_not_null(f);
	cr_expect_gt(f->f_value, 0.99, "3 days against a 2h grace: P(stuck) %g", f->f_value);
	cr_expect_gt(f->f_contrib, 0.0);
	cr_expect_not_null(strstr(f->f_text, "configuration"), "%s", f->f_text);
	cr_expect_not_null(strstr(f->f_text, "cfg-self-check-status"), "%s", f->f_text);
	cr_expect_not_null(strstr(f->f_text, "assumed"), "no history: the default: %s", f->f_text);
	cr_expect_eq(old.r_class, SC_CLASS_CONFIG);
	cr_expect(!old.r_decision.d_reissue);
	cr_expect_not_null(strstr(old.r_decision.d_note, "stuck"), "%s", old.r_decision.d_note);
	cr_expect_null(strstr(young.r_decision.d_note, "stuck"), "%s", young.r_decision.d_note);
	/* the schedule: the running attempt, then the next one after the order expires + 1h */
	cr_assert_geq(old.r_nattempts, 1);
	cr_expect_eq(old.r_attempts[0].at_time, NOW);
	if (old.r_nattempts > 1)
		cr_expect_geq(old.r_attempts[1].at_time, NOW - 3 * D + 7 * D + H);
	cr_expect_gt(old.r_predicted_failure, 0);
	cr_expect_lt(old.r_predicted_failure, young.r_predicted_failure > 0
						      ? young.r_predicted_failure
						      : in.in_cert.c_not_after);
	/* without words the cause is unknown, and it says so */
	te_stuck(&in, &rq, &ev, 3 * D, 0);
	cr_assert_eq(sc_evaluate(&in, &silent), SC_OK);
	f = te_factor(&silent, "stuck");
	cr_assert_not_null(f);
	cr_expect_not_null(strstr(f->f_text, "unknown"), "%s", f->f_text);
	/* just past the expiry: the retry comes an hour from now */
	te_stuck(&in, &rq, &ev, 7 * D + 10 * M, 1);
	cr_assert_eq(sc_evaluate(&in, &expired), SC_OK);
	cr_assert_geq(expired.r_nattempts, 2);
	cr_expect_eq(expired.r_attempts[1].at_time, NOW + H, "%lld",
		     (long long)(expired.r_attempts[1].at_time - NOW));
}

Test(evaluate, stuck_attempt_failover_not_reissue)
{
	struct sc_input in;
	struct sc_request rq;
	struct sc_event ev;
	struct sc_issuer fb;
	struct sc_result r;
	te_stuck(&in, &rq, &ev, 5 * D, 1);
	/* five days stuck with two days left after the expiry: the fallback is the way out */
	in.in_cert.c_not_after = NOW + 4 * D;
	in.in_cert.c_not_before = in.in_cert.c_not_after - 90 * D;
	memset(&fb, 0, sizeof(fb));
	fb.is_kind = "ClusterIssuer";
	fb.is_name = "zerossl";
	fb.is_ready.cd_status = SC_TRUE;
	in.in_fallback.fb_configured = 1;
	in.in_fallback.fb_other = &fb;
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect_geq(r.r_level, SC_LEVEL_HIGH, "%g", r.r_risk);
	cr_expect(!r.r_decision.d_reissue);
	cr_expect_eq(r.r_decision.d_failover, SC_FO_SWITCH, "%s", r.r_decision.d_note);
}

Test(evaluate, stuck_latency_from_history)
{
	struct sc_input in;
	struct sc_request rq, hist[8];
	struct sc_event ev;
	struct sc_issuer is;
	struct sc_issuer_estimate est;
	struct sc_result r;
	struct sk_verdict v;
	/* the issuer's requests take 30 minutes (a slow DNS-01 zone): 3 hours is not yet odd */
	memset(&is, 0, sizeof(is));
	for (int i = 0; i < 8; i++) {
		memset(&hist[i], 0, sizeof(hist[i]));
		hist[i].rq_time = NOW - (i + 1) * D;
		hist[i].rq_done = hist[i].rq_time + 30 * M + i * M;
		hist[i].rq_outcome = SC_OUT_ISSUED;
	}
	hist[7].rq_done = hist[7].rq_time + 3 * D; /* one outlier does not move the median */
	is.is_history = hist;
	is.is_nhistory = 8;
	te_stuck(&in, &rq, &ev, 3 * H, 1);
	in.in_issuer = &is;
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect(!te_has_factor(&r, "stuck"), "%s", r.r_reasons);
	cr_expect_eq(r.r_issuer.ie_latency, 33 * M + 30, "median %lld",
		     (long long)r.r_issuer.ie_latency);
	/* a precomputed estimate without the figure: derived from the history all the same */
	sc_issuer_estimate(&is, NULL, NOW, &est);
	est.ie_latency = 0;
	in.in_issuer_est = &est;
	sk_assess(&in, est.ie_latency, &v);
	cr_expect_eq(v.sk_latency_src, SK_LAT_HISTORY);
	cr_expect_eq(v.sk_grace, 10 * (33 * M + 30));
	cr_expect_eq(v.sk_p, 0.0);
	/* the same age on an issuer whose requests take 2 minutes: stuck */
	for (int i = 0; i < 8; i++)
		hist[i].rq_done = hist[i].rq_time + 2 * M;
	in.in_issuer_est = NULL;
	cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
	cr_expect(te_has_factor(&r, "stuck"), "%s", r.r_reasons);
	sk_assess(&in, 0, &v);
	cr_expect_eq(v.sk_grace, SK_MIN_GRACE, "the floor beats 10 x 2m");
	cr_expect_eq(v.sk_since, rq.rq_time, "no earlier hang: the cause dates from this request");
	/* most recent requests hung for a week and failed: the usual latency is still that of
	 * the successes, and the cause dates from the earliest hang */
	{
		struct sc_request mixed[20];
		for (int i = 0; i < 20; i++) {
			mixed[i] = hist[i % 8];
			mixed[i].rq_time -= 20 * D; /* the successes came before the trouble */
			mixed[i].rq_done -= 20 * D;
			if (i >= 8) {
				mixed[i].rq_time = NOW - 12 * D + i * H;
				mixed[i].rq_done = mixed[i].rq_time + 7 * D;
				mixed[i].rq_outcome = SC_OUT_FAILED;
			}
		}
		is.is_history = mixed;
		is.is_nhistory = 20;
		sk_assess(&in, 0, &v);
		cr_expect_eq(v.sk_latency, 2 * M, "%lld", (long long)v.sk_latency);
		cr_expect_eq(v.sk_since, NOW - 12 * D + 8 * H);
		is.is_history = hist;
	}
	/* too little history: the default */
	is.is_nhistory = 2;
	sk_assess(&in, 0, &v);
	cr_expect_eq(v.sk_latency_src, SK_LAT_DEFAULT);
	cr_expect_eq(v.sk_latency, SK_DEFAULT_LATENCY);
}

/*
 * Monotonicity. "Older" is the same request seen later: as the clock runs on it the risk never
 * falls (more evidence it is stuck, less time left, the same expiry). At one fixed moment a
 * request created earlier is likelier stuck but its order also expires sooner, so the retry
 * comes sooner: there the stuck factor's probability never falls, while the risk may (the
 * expiry is what cert-manager waits for; stuck_older_order_expires_sooner pins that down).
 */
Test(evaluate, stuck_monotone_and_valid)
{
	static const int64_t ages[] = {2 * H, 3 * H, 6 * H, 12 * H, D, 2 * D, 3 * D, 4 * D,
				       5 * D, 6 * D, 7 * D - H, 7 * D + 10 * M, 8 * D};
	static const int64_t left[] = {1 * D, 3 * D, 6 * D, 9 * D, 14 * D, 20 * D, 40 * D};
	int checked = 0;
	/* the same request as the clock runs, for several notAfter; with and without words */
	for (int words = 0; words < 2; words++)
		for (size_t j = 0; j < sizeof(left) / sizeof(left[0]); j++) {
			double prev = -1.0, prev_p = -1.0;
			for (int64_t t = 0; t <= 10 * D && t < left[j]; t += 3 * H) {
				struct sc_input in;
				struct sc_request rq;
				struct sc_event ev;
				struct sc_result r;
				const struct sc_factor *f;
				char why[128];
				double p;
				te_stuck(&in, &rq, &ev, 10 * M, words);
				in.in_cert.c_not_after = NOW + left[j];
				in.in_cert.c_not_before = in.in_cert.c_not_after - 90 * D;
				in.in_now = NOW + t;
				cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
				te_check_common(&r, "stuck clock");
				cr_expect_geq(r.r_risk, prev - 1e-12,
					      "older never lowers: t %llds left %llds: %g after %g",
					      (long long)t, (long long)left[j], r.r_risk, prev);
				prev = r.r_risk;
				f = te_factor(&r, "stuck");
				p = f != NULL ? f->f_value : 0.0;
				cr_expect_geq(p, prev_p, "P(stuck) t %llds", (long long)t);
				prev_p = p;
				if (r.r_decision.d_rb == SC_RB_SET)
					cr_expect_eq(pol_validate_renew_before(
							     r.r_decision.d_rb_value, &in.in_cert, why,
							     sizeof(why)),
						     SC_OK, "%s", why);
				checked++;
			}
		}
	/* at one moment: P(stuck) never falls with the age; more time to notAfter never raises
	 * the risk */
	for (size_t j = 0; j < sizeof(left) / sizeof(left[0]); j++) {
		double prev_p = -1.0;
		for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
			struct sc_input in;
			struct sc_request rq;
			struct sc_event ev;
			struct sc_result r;
			const struct sc_factor *f;
			te_stuck(&in, &rq, &ev, ages[i], 1);
			in.in_cert.c_not_after = NOW + left[j];
			in.in_cert.c_not_before = in.in_cert.c_not_after - 90 * D;
			cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
			f = te_factor(&r, "stuck");
			cr_expect_geq(f != NULL ? f->f_value : 0.0, prev_p, "age %llds",
				      (long long)ages[i]);
			prev_p = f != NULL ? f->f_value : 0.0;
		}
	}
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		double prev = 2.0;
		for (size_t j = 0; j < sizeof(left) / sizeof(left[0]); j++) {
			struct sc_input in;
			struct sc_request rq;
			struct sc_event ev;
			struct sc_result r;
			char why[128];
			te_stuck(&in, &rq, &ev, ages[i], 1);
			in.in_cert.c_not_after = NOW + left[j];
			in.in_cert.c_not_before = in.in_cert.c_not_after - 90 * D;
			cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
			te_check_common(&r, "stuck grid");
			cr_expect_leq(r.r_risk, prev + 1e-12,
				      "more time never raises: age %llds left %llds: %g after %g",
				      (long long)ages[i], (long long)left[j], r.r_risk, prev);
			prev = r.r_risk;
			if (r.r_decision.d_rb == SC_RB_SET)
				cr_expect_eq(pol_validate_renew_before(r.r_decision.d_rb_value,
								       &in.in_cert, why, sizeof(why)),
					     SC_OK, "%s", why);
			checked++;
		}
	}
	cr_expect_gt(checked, 150);
}

/*
 * At one moment, a request created three days earlier is retried three days sooner: the
 * schedule follows each order's own expiry. Whether that lowers the risk depends on the cause
 * (an earlier retry meets a cause that had less time to be fixed), so only the schedule and
 * the level are pinned here.
 */
Test(evaluate, stuck_older_order_expires_sooner)
{
	struct sc_input in;
	struct sc_request rq;
	struct sc_event ev;
	struct sc_result three, six;
	te_stuck(&in, &rq, &ev, 3 * D, 1);
	in.in_cert.c_not_after = NOW + 5 * D;
	in.in_cert.c_not_before = in.in_cert.c_not_after - 90 * D;
	cr_assert_eq(sc_evaluate(&in, &three), SC_OK);
	te_stuck(&in, &rq, &ev, 6 * D, 1);
	in.in_cert.c_not_after = NOW + 5 * D;
	in.in_cert.c_not_before = in.in_cert.c_not_after - 90 * D;
	cr_assert_eq(sc_evaluate(&in, &six), SC_OK);
	cr_assert_geq(three.r_nattempts, 2);
	cr_assert_geq(six.r_nattempts, 2);
	cr_expect_eq(three.r_attempts[1].at_time, NOW + 4 * D + H);
	cr_expect_eq(six.r_attempts[1].at_time, NOW + D + H);
	/* a second broken order would hang past notAfter: one real retry either way */
	cr_expect_eq(three.r_attempts_total, 2);
	cr_expect_eq(six.r_attempts_total, 2);
	cr_expect_geq(three.r_level, SC_LEVEL_HIGH, "%g", three.r_risk);
	cr_expect_geq(six.r_level, SC_LEVEL_HIGH, "%g", six.r_risk);
}
