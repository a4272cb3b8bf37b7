/*
 * Tests of scoring/policy: one table per rule (renewBefore search, validation, hysteresis both
 * ways, restore, jitter, ACME budgets, reissue, ARI, failover). Each case builds a certificate
 * and its forecast parameters the way sc_evaluate does, then checks the decision.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast.h"
#include "policy.h"
#include "scoring.h"

#define M 60LL
#define H 3600LL
#define D (24 * H)
#define NOW 1767225600LL

/* One policy situation: input, config, forecast parameters and the context over them. */
struct tp_world {
	struct sc_input w_in;
	struct sc_config w_cfg;
	struct fc_params w_p;
	struct pol_context w_ctx;
	struct sc_issuer w_fb;
};

/* A 6-day (shortlived) certificate issued 2 days ago on an issuer failing with rate q. */
static void
tp_world(struct tp_world *w, double q)
{
	memset(w, 0, sizeof(*w));
	sc_config_default(&w->w_cfg);
	w->w_in.in_now = NOW;
	w->w_in.in_cfg = &w->w_cfg;
	w->w_in.in_cert.c_namespace = "shop";
	w->w_in.in_cert.c_name = "web";
	w->w_in.in_cert.c_issuer_kind = "ClusterIssuer";
	w->w_in.in_cert.c_issuer_name = "letsencrypt";
	w->w_in.in_cert.c_not_before = NOW - 2 * D;
	w->w_in.in_cert.c_not_after = NOW + 4 * D;
	w->w_p.fp_now = NOW;
	w->w_p.fp_p = q;
	w->w_p.fp_attempt_duration = 0;
}

/* Recomputes the derived parts after a test changed the world; returns the risk. */
static double
tp_settle(struct tp_world *w)
{
	const struct sc_cert *c = &w->w_in.in_cert;
	struct fc_forecast f;
	int64_t rt = 0;
	w->w_ctx.pc_renewal_err = fc_renewal_time(c->c_not_before, c->c_not_after, &c->c_spec, &rt);
	w->w_p.fp_not_after = c->c_not_after;
	w->w_p.fp_first = fc_next_attempt(c, rt, NOW);
	w->w_p.fp_failed = c->c_failed_attempts;
	cr_assert_eq(fc_forecast(&w->w_p, 0, &f), SC_OK);
	w->w_ctx.pc_in = &w->w_in;
	w->w_ctx.pc_cfg = &w->w_cfg;
	w->w_ctx.pc_params = &w->w_p;
	w->w_ctx.pc_risk = f.ff_risk;
	w->w_ctx.pc_renewal_time = rt;
	w->w_ctx.pc_backoff_until = 0;
	if (c->c_last_failure > 0 && c->c_issuing.cd_status != SC_TRUE &&
	    c->c_last_failure + fc_backoff_delay(c->c_failed_attempts) > NOW)
		w->w_ctx.pc_backoff_until = c->c_last_failure + fc_backoff_delay(c->c_failed_attempts);
	w->w_ctx.pc_p_now_fail = fc_attempt_fail(&w->w_p, NOW);
	w->w_ctx.pc_fallback_p = -1;
	w->w_ctx.pc_primary_p = -1;
	return f.ff_risk;
}

static struct sc_decision
tp_decide(struct tp_world *w)
{
	struct sc_decision d;
	cr_assert_eq(pol_decide(&w->w_ctx, &d), SC_OK);
	return d;
}

Test(policy, validate_renew_before_table)
{
	struct sc_cert c;
	memset(&c, 0, sizeof(c));
	c.c_not_before = NOW;
	c.c_not_after = NOW + 47 * D;
	const struct {
		const char *name;
		int64_t rb;
		int pct;
		int64_t duration;
		int ok;
	} cases[] = {
		{"below 5m", 5 * M - 1, 0, 0, 0},
		{"exactly 5m", 5 * M, 0, 0, 1},
		{"just under the lifetime", 47 * D - 1, 0, 0, 1},
		{"equal to the lifetime", 47 * D, 0, 0, 0},
		{"above the default duration", 91 * D, 0, 0, 0},
		{"under spec.duration", 10 * D, 0, 30 * D, 1},
		{"equal to spec.duration", 30 * D, 0, 30 * D, 0},
		{"with renewBeforePercentage set", 10 * D, 1, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[128] = "";
		c.c_spec.rs_pct_set = cases[i].pct;
		c.c_spec.rs_pct = cases[i].pct ? 20 : 0;
		c.c_spec.rs_duration = cases[i].duration;
		int rc = pol_validate_renew_before(cases[i].rb, &c, why, sizeof(why));
		cr_expect_eq(rc == SC_OK, cases[i].ok, "%s: %s", cases[i].name, why);
		if (!cases[i].ok)
			cr_expect_neq(why[0], '\0', "%s: no reason", cases[i].name);
	}
	cr_expect_eq(pol_validate_renew_before(10 * D, NULL, NULL, 0), SC_ERR_RANGE);
}

Test(policy, renew_before_search_table)
{
	/*
	 * A shortlived certificate renews 2 days before expiry: attempts at +0 1 3 7 15 31h (6).
	 * Independent failures at rate q: risk q^6. Seven attempts need the renewal 63h ahead.
	 */
	const struct {
		const char *name;
		double q;
		enum sc_rb_action want;
	} cases[] = {
		{"healthy issuer: leave", 0.05, SC_RB_LEAVE},
		{"under the target: leave", 0.45, SC_RB_LEAVE},
		{"inside the hysteresis band: leave", 0.4713, SC_RB_LEAVE},
		{"over the band: move renewal earlier", 0.5, SC_RB_SET},
		{"much worse: still the smallest value that works", 0.55, SC_RB_SET},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_world w;
		struct sc_decision d;
		char why[128];
		tp_world(&w, cases[i].q);
		double risk = tp_settle(&w);
		d = tp_decide(&w);
		cr_expect_eq(d.d_rb, cases[i].want, "%s: action %d (risk %g)", cases[i].name, d.d_rb,
			     risk);
		if (d.d_rb != SC_RB_SET)
			continue;
		cr_expect_eq(pol_validate_renew_before(d.d_rb_value, &w.w_in.in_cert, why,
						       sizeof(why)), SC_OK, "%s: %s", cases[i].name, why);
		cr_expect_lt(d.d_risk_after, risk, "%s", cases[i].name);
		cr_expect_gt(d.d_rb_value, 2 * D, "%s: earlier than cert-manager's", cases[i].name);
		cr_expect_eq(d.d_rb_value % 60, d.d_jitter % 60 == 0 ? 0 : d.d_rb_value % 60);
		cr_expect(d.d_jitter >= 0 && d.d_jitter <= 6 * H, "%s", cases[i].name);
		if (d.d_risk_after <= w.w_cfg.cf_target_risk) {
			/* smallest: one minute less (before jitter) misses the target */
			int64_t base = d.d_rb_value - d.d_jitter;
			cr_expect_gt(pol_risk_with_renew_before(&w.w_ctx, base - 61),
				     w.w_cfg.cf_target_risk, "%s: not the smallest", cases[i].name);
			cr_expect_leq(pol_risk_with_renew_before(&w.w_ctx, base),
				      w.w_cfg.cf_target_risk, "%s", cases[i].name);
		}
	}
}

Test(policy, blocked_rules)
{
	struct tp_world w;
	struct sc_decision d;
	tp_world(&w, 0.5);
	w.w_in.in_cert.c_spec.rs_pct_set = 1;
	w.w_in.in_cert.c_spec.rs_pct = 33;
	tp_settle(&w);
	d = tp_decide(&w);
	cr_expect_eq(d.d_rb, SC_RB_BLOCKED, "renewBeforePercentage set");
	cr_expect_neq(d.d_note[0], '\0');

	tp_world(&w, 0.5);
	w.w_in.in_cert.c_spec.rs_policy = SC_RENEWAL_DISABLED;
	tp_settle(&w);
	d = tp_decide(&w);
	cr_expect_eq(d.d_rb, SC_RB_BLOCKED, "renewal Disabled");

	/* the bounds leave nothing: max below min */
	tp_world(&w, 0.5);
	w.w_cfg.cf_min_renew_before = 7 * D;
	tp_settle(&w);
	d = tp_decide(&w);
	cr_expect_eq(d.d_rb, SC_RB_BLOCKED, "bounds beyond the lifetime");

	/* the same world without the obstacle is allowed: both directions */
	tp_world(&w, 0.5);
	tp_settle(&w);
	d = tp_decide(&w);
	cr_expect_eq(d.d_rb, SC_RB_SET);
}

Test(policy, bounds_are_honoured)
{
	struct tp_world w;
	struct sc_decision d;
	tp_world(&w, 0.5);
	w.w_cfg.cf_max_renew_before = 50 * H; /* too small to reach the target */
	tp_settle(&w);
	d = tp_decide(&w);
	if (d.d_rb == SC_RB_SET)
		cr_expect_leq(d.d_rb_value, 50 * H);
	w.w_cfg.cf_max_renew_before = 0;
	w.w_cfg.cf_min_renew_before = 80 * H;
	tp_settle(&w);
	d = tp_decide(&w);
	cr_expect_eq(d.d_rb, SC_RB_SET);
	cr_expect_geq(d.d_rb_value, 80 * H);
}

Test(policy, hysteresis_on_changes)
{
	struct tp_world w;
	struct sc_decision d;
	/* changed an hour ago: wait */
	tp_world(&w, 0.5);
	w.w_in.in_state.st_last_change = NOW - H;
	tp_settle(&w);
	d = tp_decide(&w);
	cr_expect_eq(d.d_rb, SC_RB_LEAVE, "too soon after the last change");
	/* changed seven hours ago: act */
	w.w_in.in_state.st_last_change = NOW - 7 * H;
	d = tp_decide(&w);
	cr_expect_eq(d.d_rb, SC_RB_SET, "minimum interval passed");
}

Test(policy, restore_when_risk_subsides)
{
	const struct {
		const char *name;
		double q;
		int64_t last_change;
		int orig_set;
		enum sc_rb_action want;
	} cases[] = {
		{"risk with the original well under target: restore unset", 0.4, NOW - 7 * H, 0, SC_RB_RESTORE},
		{"restore a saved value", 0.4, NOW - 7 * H, 1, SC_RB_RESTORE},
		{"under target but inside the band: keep", 0.45, NOW - 7 * H, 0, SC_RB_LEAVE},
		{"subsided but changed recently: keep", 0.4, NOW - H, 0, SC_RB_LEAVE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_world w;
		struct sc_decision d;
		tp_world(&w, cases[i].q);
		/* certcast had moved renewBefore to 70h */
		w.w_in.in_cert.c_spec.rs_renew_before_set = 1;
		w.w_in.in_cert.c_spec.rs_renew_before = 70 * H;
		w.w_in.in_state.st_rb_adjusted = 1;
		w.w_in.in_state.st_orig_rb_set = cases[i].orig_set;
		w.w_in.in_state.st_orig_rb = 40 * H;
		w.w_in.in_state.st_last_change = cases[i].last_change;
		tp_settle(&w);
		d = tp_decide(&w);
		cr_expect_eq(d.d_rb, cases[i].want, "%s: got %d", cases[i].name, d.d_rb);
		if (d.d_rb == SC_RB_RESTORE) {
			cr_expect_eq(d.d_rb_unset, !cases[i].orig_set, "%s", cases[i].name);
			if (cases[i].orig_set)
				cr_expect_eq(d.d_rb_value, 40 * H, "%s", cases[i].name);
			cr_expect_leq(d.d_risk_after,
				      w.w_cfg.cf_target_risk * (1 - w.w_cfg.cf_hysteresis));
		}
	}
}

Test(policy, jitter_is_deterministic_and_bounded)
{
	struct sc_config cfg;
	struct sc_cert a, b;
	sc_config_default(&cfg);
	memset(&a, 0, sizeof(a));
	a.c_namespace = "shop";
	a.c_name = "web";
	a.c_issuer_name = "letsencrypt";
	b = a;
	b.c_name = "api";
	int64_t ja = pol_jitter(&cfg, &a, 10 * D);
	cr_expect_eq(ja, pol_jitter(&cfg, &a, 10 * D), "same inputs, same jitter");
	cr_expect(ja >= 0 && ja < 6 * H);
	int differ = 0;
	for (int i = 0; i < 16; i++) {
		char name[16];
		snprintf(name, sizeof(name), "c%d", i);
		b.c_name = name;
		int64_t j = pol_jitter(&cfg, &b, 10 * D);
		cr_expect(j >= 0 && j < 6 * H);
		differ += j != ja;
	}
	cr_expect_gt(differ, 12, "certificates spread out");
	cr_expect_lt(pol_jitter(&cfg, &a, H), (int64_t)(0.05 * H) + 1, "share of small values");
	cfg.cf_jitter_seed ^= 1;
	cr_expect_neq(pol_jitter(&cfg, &a, 10 * D), ja, "another seed, another spread");
	cfg.cf_jitter_frac = 0;
	cr_expect_eq(pol_jitter(&cfg, &a, 10 * D), 0);
	cr_expect_eq(pol_jitter(NULL, &a, 10 * D), 0);
	double u = pol_unit_hash(1, "a", "b", "c");
	cr_expect(u >= 0.0 && u < 1.0);
	cr_expect_neq(u, pol_unit_hash(1, "ab", "", "c"), "fields are separated");
}

Test(policy, budget_table)
{
	const struct {
		const char *name;
		int valid;
		uint32_t new_used, dup_used;
		int exempt;
		int want;
		int renewal;
	} cases[] = {
		{"no budget known", 0, 999, 999, 0, 1},
		{"room left", 1, 10, 0, 0, 1},
		{"one below the reserve", 1, 48, 0, 0, 1},
		{"reserve reached", 1, 49, 0, 0, 0},
		{"limit reached", 1, 50, 0, 0, 0},
		{"duplicates: one left", 1, 10, 4, 0, 1},
		{"duplicates used up", 1, 10, 5, 0, 0},
		{"ARI renewal with replaces is exempt", 1, 50, 5, 1, 1},
		{"renewal: the domain budget does not apply", 1, 50, 0, 0, 1, 1},
		{"renewal: the exact-set budget still does", 1, 50, 5, 0, 0, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sc_budget b;
		char why[128] = "";
		memset(&b, 0, sizeof(b));
		b.bd_valid = cases[i].valid;
		b.bd_new_used = cases[i].new_used;
		b.bd_dup_used = cases[i].dup_used;
		b.bd_renewal = cases[i].renewal;
		int got = pol_budget_allows(&b, 1, cases[i].exempt, why, sizeof(why));
		cr_expect_eq(got, cases[i].want, "%s", cases[i].name);
		if (!got)
			cr_expect_neq(why[0], '\0', "%s", cases[i].name);
	}
	cr_expect_eq(pol_budget_allows(NULL, 1, 0, NULL, 0), 1);
}

/* A certificate failing with a CA outage, 40h before expiry, in a 32h backoff. */
static void
tp_backoff_world(struct tp_world *w, double p_now_fail)
{
	tp_world(w, 0.05);
	w->w_in.in_cert.c_not_before = NOW - 44 * D;
	w->w_in.in_cert.c_not_after = NOW + 40 * H;
	w->w_in.in_cert.c_failed_attempts = 6;
	w->w_in.in_cert.c_last_failure = NOW - 2 * H;
	w->w_in.in_cert.c_issuing.cd_status = SC_FALSE;
	w->w_p.fp_nfaults = 1;
	w->w_p.fp_faults[0] = (struct fc_fault){.ft_class = SC_CLASS_CA_UNAVAILABLE,
						.ft_present = 0.3,
						.ft_fail = 0.95,
						.ft_seen = NOW - 2 * H,
						.ft_since = NOW - 3 * H};
	tp_settle(w);
	w->w_ctx.pc_p_now_fail = p_now_fail;
}

Test(policy, reissue_table)
{
	const struct {
		const char *name;
		double p_now_fail;
		int issuing;
		int64_t last_reissue;
		uint32_t used, budget;
		uint32_t acme_used;
		int security;
		int want;
		enum sc_reissue_reason reason;
	} cases[] = {
		{"backoff is the obstacle, next attempt likely fine", 0.1, 0, 0, 0, 0, 0, 0, 1, SC_REISSUE_BACKOFF},
		{"next attempt likely to fail too", 0.5, 0, 0, 0, 0, 0, 0, 0, SC_REISSUE_NONE},
		{"issuance already running", 0.1, 1, 0, 0, 0, 0, 0, 0, SC_REISSUE_NONE},
		{"certcast reissued 10 minutes ago", 0.1, 0, NOW - 600, 0, 0, 0, 0, 0, SC_REISSUE_NONE},
		{"certcast reissued 2 hours ago", 0.1, 0, NOW - 2 * H, 0, 0, 0, 0, 1, SC_REISSUE_BACKOFF},
		{"issuer reissue budget used", 0.1, 0, 0, 5, 5, 0, 0, 0, SC_REISSUE_NONE},
		{"issuer reissue budget left", 0.1, 0, 0, 4, 5, 0, 0, 1, SC_REISSUE_BACKOFF},
		{"ACME budget exhausted", 0.1, 0, 0, 0, 0, 50, 0, 0, SC_REISSUE_NONE},
		{"security anomaly", 0.9, 0, 0, 0, 0, 0, 1, 1, SC_REISSUE_SECURITY},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_world w;
		struct sc_decision d;
		tp_backoff_world(&w, cases[i].p_now_fail);
		if (cases[i].issuing)
			w.w_in.in_cert.c_issuing.cd_status = SC_TRUE;
		w.w_in.in_state.st_last_reissue = cases[i].last_reissue;
		w.w_in.in_state.st_reissues_used = cases[i].used;
		w.w_in.in_state.st_reissue_budget = cases[i].budget;
		w.w_in.in_budget.bd_valid = cases[i].acme_used > 0;
		w.w_in.in_budget.bd_new_used = cases[i].acme_used;
		w.w_ctx.pc_security = cases[i].security;
		d = tp_decide(&w);
		cr_expect_eq(d.d_reissue, cases[i].want, "%s", cases[i].name);
		cr_expect_eq(d.d_reissue_reason, cases[i].reason, "%s", cases[i].name);
		if (cases[i].acme_used >= 50)
			cr_expect(d.d_budget_blocked, "%s", cases[i].name);
	}
}

Test(policy, short_backoff_is_no_obstacle)
{
	struct tp_world w;
	struct sc_decision d;
	tp_backoff_world(&w, 0.1);
	w.w_in.in_cert.c_failed_attempts = 1;
	w.w_in.in_cert.c_last_failure = NOW - 40 * M; /* 20 minutes of backoff left */
	tp_settle(&w);
	w.w_ctx.pc_p_now_fail = 0.1;
	d = tp_decide(&w);
	cr_expect(!d.d_reissue);
}

Test(policy, ari_window)
{
	struct tp_world w;
	struct sc_decision d;
	/* a 90-day certificate whose CA asks for renewal in days 40-42 of its life */
	tp_world(&w, 0.01);
	w.w_in.in_cert.c_not_before = NOW - 41 * D;
	w.w_in.in_cert.c_not_after = NOW + 49 * D;
	w.w_in.in_ari.ar_valid = 1;
	w.w_in.in_ari.ar_start = NOW - 1 * D;
	w.w_in.in_ari.ar_end = NOW + 1 * D;
	w.w_in.in_ari.ar_url = "https://ca.example/incident";
	tp_settle(&w);
	/* the window opened a day ago and the jittered point lies before now for most keys */
	w.w_in.in_ari.ar_start = NOW - 2 * D;
	w.w_in.in_ari.ar_end = NOW - 1;
	d = tp_decide(&w);
	cr_expect(d.d_reissue, "past the ARI point, not renewing yet: reissue");
	cr_expect_eq(d.d_reissue_reason, SC_REISSUE_ARI);
	/*
	 * With the domain's budget spent: cert-manager without its ACMEUseARI gate orders without
	 * "replaces", so the reissue would be refused by the CA and is held back; with the gate
	 * the order is exempt and the reissue goes ahead.
	 */
	w.w_in.in_budget.bd_valid = 1;
	w.w_in.in_budget.bd_new_used = 50;
	d = tp_decide(&w);
	cr_expect(!d.d_reissue, "ARI reissue without replaces spends budget: held back");
	cr_expect(d.d_budget_blocked);
	w.w_cfg.cf_ari_replaces = 1;
	d = tp_decide(&w);
	cr_expect(d.d_reissue, "ARI reissue with replaces is exempt");
	cr_expect(!d.d_budget_blocked);
	w.w_cfg.cf_ari_replaces = 0;
	/* a window in the future: move renewBefore into it instead */
	w.w_in.in_budget.bd_valid = 0;
	w.w_in.in_ari.ar_start = NOW + 5 * D;
	w.w_in.in_ari.ar_end = NOW + 7 * D;
	d = tp_decide(&w);
	cr_expect(!d.d_reissue);
	cr_expect_eq(d.d_rb, SC_RB_SET);
	int64_t rt = w.w_in.in_cert.c_not_after - d.d_rb_value;
	cr_expect_geq(rt, NOW + 5 * D - 6 * H, "renewal lands in the window (less jitter)");
	cr_expect_leq(rt, NOW + 7 * D);
	/* no ARI: nothing to do for a healthy certificate */
	w.w_in.in_ari.ar_valid = 0;
	d = tp_decide(&w);
	cr_expect(!d.d_reissue);
	cr_expect_eq(d.d_rb, SC_RB_LEAVE);
}

/* A primary in a long CA outage, 3 days before expiry, with a fallback configured. */
static void
tp_outage_world(struct tp_world *w, double fallback_p)
{
	tp_world(w, 0.02);
	w->w_in.in_cert.c_not_before = NOW - 44 * D;
	w->w_in.in_cert.c_not_after = NOW + 3 * D;
	w->w_in.in_cert.c_failed_attempts = 5;
	w->w_in.in_cert.c_last_failure = NOW - H;
	w->w_p.fp_nfaults = 1;
	w->w_p.fp_faults[0] = (struct fc_fault){.ft_class = SC_CLASS_CA_UNAVAILABLE,
						.ft_present = 1.0,
						.ft_fail = 0.95,
						.ft_seen = NOW - H,
						.ft_since = NOW - 10 * D};
	w->w_fb.is_kind = "ClusterIssuer";
	w->w_fb.is_name = "zerossl";
	w->w_fb.is_ready.cd_status = SC_TRUE;
	w->w_in.in_fallback.fb_configured = 1;
	w->w_in.in_fallback.fb_other = &w->w_fb;
	tp_settle(w);
	w->w_ctx.pc_fallback_p = fallback_p;
}

Test(policy, failover_table)
{
	const struct {
		const char *name;
		double fb_p;
		enum sc_tristate fb_ready;
		int configured;
		enum sc_failover_action want;
	} cases[] = {
		{"healthy fallback, primary will not recover", 0.02, SC_TRUE, 1, SC_FO_SWITCH},
		{"fallback unhealthy", 0.45, SC_TRUE, 1, SC_FO_NONE},
		{"fallback just healthy enough", 0.29, SC_TRUE, 1, SC_FO_SWITCH},
		{"fallback not Ready", 0.02, SC_FALSE, 1, SC_FO_NONE},
		{"fallback health unknown", -1, SC_TRUE, 1, SC_FO_NONE},
		{"no fallback configured", 0.02, SC_TRUE, 0, SC_FO_NONE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_world w;
		struct sc_decision d;
		tp_outage_world(&w, cases[i].fb_p);
		w.w_fb.is_ready.cd_status = cases[i].fb_ready;
		w.w_in.in_fallback.fb_configured = cases[i].configured;
		d = tp_decide(&w);
		cr_expect_eq(d.d_failover, cases[i].want, "%s: got %d (risk %g)", cases[i].name,
			     d.d_failover, w.w_ctx.pc_risk);
		if (d.d_failover == SC_FO_SWITCH)
			cr_expect(!d.d_reissue, "%s: the switch replaces a reissue", cases[i].name);
	}
	/* a primary that recovers soon needs no failover */
	struct tp_world w;
	tp_outage_world(&w, 0.02);
	w.w_p.fp_faults[0].ft_present = 0.0;
	tp_settle(&w);
	w.w_ctx.pc_fallback_p = 0.02;
	cr_expect_eq(tp_decide(&w).d_failover, SC_FO_NONE);
}

/*
 * Restored once the primary has been healthy for cf_failover_restore_after (24h): healthy since
 * its last failure, when successes came after it.
 */
Test(policy, failover_restore_table)
{
	const struct {
		const char *name;
		double primary_p;
		int64_t last_failure, last_success;
		enum sc_tristate ready;
		enum sc_failover_action want;
	} cases[] = {
		{"primary healthy for 25h", 0.01, NOW - 25 * H, NOW - H, SC_TRUE, SC_FO_RESTORE},
		{"primary healthy for 23h", 0.01, NOW - 23 * H, NOW - H, SC_TRUE, SC_FO_NONE},
		{"primary still failing", 0.4, NOW - 25 * H, NOW - H, SC_TRUE, SC_FO_NONE},
		{"primary not Ready", 0.01, NOW - 25 * H, NOW - H, SC_FALSE, SC_FO_NONE},
		{"no success since its failure 25h ago", 0.01, NOW - 25 * H, NOW - 26 * H, SC_TRUE,
		    SC_FO_NONE},
		{"never succeeded", 0.01, NOW - 25 * H, 0, SC_TRUE, SC_FO_NONE},
		{"no failure known, succeeded 25h ago", 0.01, 0, NOW - 25 * H, SC_TRUE,
		    SC_FO_RESTORE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_world w;
		struct sc_issuer_estimate est;
		tp_world(&w, 0.02);
		memset(&est, 0, sizeof est);
		est.ie_last_failure = cases[i].last_failure;
		est.ie_last_success = cases[i].last_success;
		w.w_fb.is_ready.cd_status = cases[i].ready;
		w.w_in.in_fallback.fb_configured = 1;
		w.w_in.in_fallback.fb_active = 1;
		w.w_in.in_fallback.fb_other = &w.w_fb;
		w.w_in.in_fallback.fb_est = &est;
		tp_settle(&w);
		w.w_ctx.pc_primary_p = cases[i].primary_p;
		cr_expect_eq(tp_decide(&w).d_failover, cases[i].want, "%s", cases[i].name);
	}
}

/* Failed over: on the fallback (Ready), with est as the primary's estimate. */
static void
tp_on_fallback(struct tp_world *w, const struct sc_issuer_estimate *est)
{
	w->w_fb.is_ready.cd_status = SC_TRUE;
	w->w_in.in_fallback.fb_configured = 1;
	w->w_in.in_fallback.fb_active = 1;
	w->w_in.in_fallback.fb_other = &w->w_fb;
	w->w_in.in_fallback.fb_est = est;
}

/*
 * A primary no other certificate uses gives no evidence of recovery, so the certificate tries
 * it at the renewal the fallback would make anyway: in the hour before the renewal time, with
 * no failure of the primary for a day (counted from its last failure or from the fallback's
 * certificate), Ready not False, and a forecast on the primary under the target. Each
 * condition, both ways.
 */
Test(policy, failover_restore_trial_table)
{
	const struct {
		const char *name;
		int64_t renewal_in;    /* renewal time - NOW */
		int64_t last_failure;  /* the primary's */
		int64_t last_success;  /* the primary's */
		double primary_p;
		enum sc_tristate ready, issuing;
		int with_estimate;
		enum sc_failover_action want;
	} cases[] = {
		{"renewal in 30m, failed 60d ago, nothing since: try", 30 * M, NOW - 60 * D, 0, 0.05,
		    SC_TRUE, SC_UNKNOWN, 1, SC_FO_RESTORE},
		{"nothing known of the primary (its requests went with the failover): try", 30 * M, 0,
		    0, 0.05, SC_TRUE, SC_UNKNOWN, 1, SC_FO_RESTORE},
		{"successes since an old failure, estimate too poor to restore on: try", 30 * M,
		    NOW - 60 * D, NOW - 2 * H, 0.4, SC_TRUE, SC_UNKNOWN, 1, SC_FO_RESTORE},
		{"renewal in 2h: not yet", 2 * H, NOW - 60 * D, 0, 0.05, SC_TRUE, SC_UNKNOWN, 1,
		    SC_FO_NONE},
		{"renewal 10m ago: cert-manager is issuing from the fallback", -10 * M, NOW - 60 * D, 0,
		    0.05, SC_TRUE, SC_UNKNOWN, 1, SC_FO_NONE},
		{"primary failed 12h ago (for another certificate)", 30 * M, NOW - 12 * H, NOW - 11 * H,
		    0.05, SC_TRUE, SC_UNKNOWN, 1, SC_FO_NONE},
		{"primary not Ready", 30 * M, NOW - 60 * D, 0, 0.05, SC_FALSE, SC_UNKNOWN, 1,
		    SC_FO_NONE},
		{"an issuance is running", 30 * M, NOW - 60 * D, 0, 0.05, SC_TRUE, SC_TRUE, 1,
		    SC_FO_NONE},
		{"estimate pessimistic, a month of retries still enough: try", 30 * M, NOW - 60 * D, 0,
		    0.4, SC_TRUE, SC_UNKNOWN, 1, SC_FO_RESTORE},
		{"estimate so bad a month of retries is not enough", 30 * M, NOW - 60 * D, 0, 0.9,
		    SC_TRUE, SC_UNKNOWN, 1, SC_FO_NONE},
		{"no estimate of the primary", 30 * M, NOW - 60 * D, 0, 0.05, SC_TRUE, SC_UNKNOWN, 0,
		    SC_FO_NONE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_world w;
		struct sc_issuer_estimate est;
		struct sc_decision d;
		tp_world(&w, 0.02);
		/* a 90-day certificate from the fallback: renewal at two thirds of its life */
		w.w_in.in_cert.c_not_before = NOW + cases[i].renewal_in - 60 * D;
		w.w_in.in_cert.c_not_after = w.w_in.in_cert.c_not_before + 90 * D;
		w.w_in.in_cert.c_issuing.cd_status = cases[i].issuing;
		memset(&est, 0, sizeof est);
		est.ie_last_failure = cases[i].last_failure;
		est.ie_last_success = cases[i].last_success;
		est.ie_failing = cases[i].last_failure > cases[i].last_success;
		w.w_fb.is_ready.cd_status = cases[i].ready;
		w.w_in.in_fallback.fb_configured = 1;
		w.w_in.in_fallback.fb_active = 1;
		w.w_in.in_fallback.fb_other = &w.w_fb;
		w.w_in.in_fallback.fb_est = cases[i].with_estimate ? &est : NULL;
		tp_settle(&w);
		cr_assert_eq(w.w_ctx.pc_renewal_time, NOW + cases[i].renewal_in, "%s", cases[i].name);
		w.w_ctx.pc_primary_p = cases[i].primary_p;
		d = tp_decide(&w);
		cr_expect_eq(d.d_failover, cases[i].want, "%s: got %d", cases[i].name, d.d_failover);
		cr_expect_eq(d.d_failover_trial, d.d_failover == SC_FO_RESTORE, "%s", cases[i].name);
		if (d.d_failover == SC_FO_RESTORE)
			cr_expect(strstr(d.d_note, "tries the primary again") != NULL, "%s: %s",
			    cases[i].name, d.d_note);
	}

	struct tp_world w;
	struct sc_issuer_estimate est;
	memset(&est, 0, sizeof est);
	/* the fallback's certificate is 30 minutes old and nothing else is known: not yet */
	tp_world(&w, 0.02);
	w.w_in.in_cert.c_not_before = NOW - 30 * M;
	w.w_in.in_cert.c_not_after = NOW - 30 * M + 90 * D;
	w.w_in.in_cert.c_spec.rs_renew_before = 90 * D - 1 * H; /* renewal 30m from now */
	w.w_in.in_cert.c_spec.rs_renew_before_set = 1;
	tp_on_fallback(&w, &est);
	tp_settle(&w);
	cr_assert_eq(w.w_ctx.pc_renewal_time, NOW + 30 * M);
	w.w_ctx.pc_primary_p = 0.05;
	cr_expect_eq(tp_decide(&w).d_failover, SC_FO_NONE, "tried 30m after the failover");
	w.w_cfg.cf_failover_restore_after = 20 * M;
	cr_expect_eq(tp_decide(&w).d_failover, SC_FO_RESTORE, "not tried after restore-after");
	/* certcast failed over 10 minutes ago (a trial failed): its request is gone, the time is not */
	w.w_in.in_state.st_last_failover = NOW - 10 * M;
	cr_expect_eq(tp_decide(&w).d_failover, SC_FO_NONE, "tried 10m after a failover");
	w.w_in.in_state.st_last_failover = NOW - 25 * M;
	cr_expect_eq(tp_decide(&w).d_failover, SC_FO_RESTORE, "not tried 25m after a failover");

	/* a certificate too close to its end for a failed trial to be safe is not tried */
	tp_world(&w, 0.02);
	w.w_in.in_cert.c_not_before = NOW + 30 * M - 8 * H; /* 12h: renewal at 8h, 4h left */
	w.w_in.in_cert.c_not_after = w.w_in.in_cert.c_not_before + 12 * H;
	w.w_cfg.cf_failover_restore_after = H;
	est.ie_last_failure = NOW - 10 * D;
	est.ie_failing = 1;
	tp_on_fallback(&w, &est);
	tp_settle(&w);
	w.w_ctx.pc_primary_p = 0.29; /* three attempts at 0.29 each: 2.4% */
	cr_expect_eq(tp_decide(&w).d_failover, SC_FO_NONE, "risky trial taken");
	w.w_ctx.pc_primary_p = 0.02;
	cr_expect_eq(tp_decide(&w).d_failover, SC_FO_RESTORE, "safe trial not taken");
}

/*
 * The primary's failure behind the failover is gone with its request, and other certificates
 * keep issuing there: healthy since the failover, not since the latest success (which moves
 * with every issuance and never grows a day old on a busy issuer).
 */
Test(policy, failover_restore_busy_primary_without_known_failure_table)
{
	const struct {
		const char *name;
		int64_t last_success, last_failover;
		enum sc_failover_action want;
	} cases[] = {
		{"successes up to an hour ago, failover 25h ago", NOW - H, NOW - 25 * H, SC_FO_RESTORE},
		{"successes up to an hour ago, failover 23h ago", NOW - H, NOW - 23 * H, SC_FO_NONE},
		{"failover time unknown: only the latest success counts", NOW - H, 0, SC_FO_NONE},
		{"no success since the failover", NOW - 26 * H, NOW - 25 * H, SC_FO_NONE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_world w;
		struct sc_issuer_estimate est;
		tp_world(&w, 0.02);
		memset(&est, 0, sizeof est);
		est.ie_last_success = cases[i].last_success;
		tp_on_fallback(&w, &est);
		w.w_in.in_state.st_last_failover = cases[i].last_failover;
		tp_settle(&w);
		w.w_ctx.pc_primary_p = 0.03;
		struct sc_decision d = tp_decide(&w);
		cr_expect_eq(d.d_failover, cases[i].want, "%s: got %d", cases[i].name, d.d_failover);
		cr_expect(!d.d_failover_trial, "%s: not a trial", cases[i].name);
	}
}

Test(policy, bad_arguments)
{
	struct sc_decision d;
	struct pol_context ctx;
	memset(&ctx, 0, sizeof(ctx));
	cr_expect_eq(pol_decide(NULL, &d), SC_ERR_INVAL);
	cr_expect_eq(pol_decide(&ctx, &d), SC_ERR_INVAL);
	cr_expect_eq(pol_risk_with_renew_before(NULL, 10), 1.0);
}

/*
 * renewBefore stays on the spec for the next certificate: a value near the lifetime would
 * make cert-manager renew each new certificate at once. The search stops at half the
 * lifetime unless the operator's floor asks for more.
 */
Test(policy, renew_before_cap_table)
{
	const struct {
		const char *name;
		double q;
		int64_t floor;
		int64_t max_rb; /* largest allowed value */
	} cases[] = {
		/* q^9 under the target needs 127h of attempts, q^7 fits in 72h and helps */
		{"failing issuer: at most half the lifetime", 0.6, 0, 72 * H},
		{"less failing issuer: still at most half", 0.55, 0, 72 * H},
		{"operator floor above half: the floor", 0.6, 80 * H, 80 * H},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_world w;
		struct sc_decision d;
		char why[128];
		tp_world(&w, cases[i].q);
		w.w_in.in_cert.c_not_before = NOW - 20 * H; /* 6d certificate, young */
		w.w_in.in_cert.c_not_after = NOW + 124 * H;
		w.w_cfg.cf_min_renew_before = cases[i].floor > 0 ? cases[i].floor : 5 * M;
		tp_settle(&w);
		d = tp_decide(&w);
		cr_expect_eq(d.d_rb, SC_RB_SET, "%s: got %d", cases[i].name, d.d_rb);
		cr_expect_leq(d.d_rb_value, cases[i].max_rb, "%s: %lld", cases[i].name,
			      (long long)d.d_rb_value);
		cr_expect_eq(pol_validate_renew_before(d.d_rb_value, &w.w_in.in_cert, why,
						       sizeof(why)),
			     SC_OK, "%s: %s", cases[i].name, why);
		/* the next certificate under this value is not due at once */
		cr_expect_geq(144 * H - d.d_rb_value, 144 * H - cases[i].max_rb, "%s",
			      cases[i].name);
	}
}

/*
 * A certificate issued since certcast's change is a new instance: the minimum interval that
 * stops flapping within one instance does not hold the restore back. Both directions.
 */
Test(policy, restore_on_new_certificate_table)
{
	const struct {
		const char *name;
		int64_t not_before;  /* of the current certificate */
		int64_t last_change;
		enum sc_rb_action want;
	} cases[] = {
		{"renewed after the change an hour ago: restore", NOW - 30 * M, NOW - H, SC_RB_RESTORE},
		{"changed at the second of issuance, for it: wait", NOW - H, NOW - H, SC_RB_LEAVE},
		{"changed an hour ago, same certificate: wait", NOW - 2 * D, NOW - H, SC_RB_LEAVE},
		{"changed a day ago, same certificate: restore", NOW - 2 * D, NOW - D, SC_RB_RESTORE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_world w;
		struct sc_decision d;
		tp_world(&w, 0.3);
		w.w_in.in_cert.c_not_before = cases[i].not_before;
		w.w_in.in_cert.c_not_after = cases[i].not_before + 6 * D;
		w.w_in.in_cert.c_spec.rs_renew_before_set = 1;
		w.w_in.in_cert.c_spec.rs_renew_before = 70 * H;
		w.w_in.in_state.st_rb_adjusted = 1;
		w.w_in.in_state.st_last_change = cases[i].last_change;
		tp_settle(&w);
		d = tp_decide(&w);
		cr_expect_eq(d.d_rb, cases[i].want, "%s: got %d", cases[i].name, d.d_rb);
	}
}

/* A 90-day certificate, 10 days old, whose CA publishes a window at days 50-52 of its life. */
static void
tp_ari_world(struct tp_world *w)
{
	tp_world(w, 0.01);
	w->w_in.in_cert.c_not_before = NOW - 10 * D;
	w->w_in.in_cert.c_not_after = NOW + 80 * D;
	w->w_in.in_ari.ar_valid = 1;
	w->w_in.in_ari.ar_start = NOW + 40 * D;
	w->w_in.in_ari.ar_end = NOW + 42 * D;
	tp_settle(w);
}

/*
 * ARI placement is judged on the user's schedule: once certcast has moved the renewal into
 * the window, the next look keeps it there instead of restoring (and setting it again).
 */
Test(policy, ari_placement_does_not_flap)
{
	struct tp_world w;
	struct sc_decision d;
	int64_t rb;
	tp_ari_world(&w);
	d = tp_decide(&w);
	cr_expect_eq(d.d_rb, SC_RB_SET, "window before cert-manager's day 60: move into it");
	rb = d.d_rb_value;
	/* certcast's value is applied; seven hours later it looks again */
	w.w_in.in_cert.c_spec.rs_renew_before_set = 1;
	w.w_in.in_cert.c_spec.rs_renew_before = rb;
	w.w_in.in_state.st_rb_adjusted = 1;
	w.w_in.in_state.st_last_change = NOW - 7 * H;
	tp_settle(&w);
	d = tp_decide(&w);
	cr_expect_eq(d.d_rb, SC_RB_LEAVE, "still wanted: neither restore nor set, got %d", d.d_rb);
	/* the CA withdraws the window: the reason is gone, restore */
	w.w_in.in_ari.ar_valid = 0;
	d = tp_decide(&w);
	cr_expect_eq(d.d_rb, SC_RB_RESTORE, "no window any more: restore, got %d", d.d_rb);
	/* a window after cert-manager's own renewal time asks nothing of certcast */
	tp_ari_world(&w);
	w.w_in.in_ari.ar_start = NOW + 55 * D;
	w.w_in.in_ari.ar_end = NOW + 57 * D;
	d = tp_decide(&w);
	cr_expect_eq(d.d_rb, SC_RB_LEAVE, "window after the renewal time: leave, got %d", d.d_rb);
}

/*
 * Within one certificate renewBefore only grows; a new certificate under certcast's value
 * may come down to what it needs. Both directions.
 */
Test(policy, lower_only_on_new_certificate_table)
{
	const struct {
		const char *name;
		int fresh;
		enum sc_rb_action want;
	} cases[] = {
		{"new certificate: come down to the ARI placement", 1, SC_RB_SET},
		{"same certificate: keep the larger value", 0, SC_RB_LEAVE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_world w;
		struct sc_decision d;
		tp_ari_world(&w);
		/* the last certificate needed 60 days; this one's window needs about 39 */
		w.w_in.in_cert.c_spec.rs_renew_before_set = 1;
		w.w_in.in_cert.c_spec.rs_renew_before = 60 * D;
		w.w_in.in_state.st_rb_adjusted = 1;
		w.w_in.in_state.st_last_change = cases[i].fresh ? NOW - 11 * D : NOW - 9 * D;
		tp_settle(&w);
		d = tp_decide(&w);
		cr_expect_eq(d.d_rb, cases[i].want, "%s: got %d", cases[i].name, d.d_rb);
		if (d.d_rb == SC_RB_SET) {
			int64_t rt = w.w_in.in_cert.c_not_after - d.d_rb_value;
			cr_expect_lt(d.d_rb_value, 60 * D, "%s", cases[i].name);
			cr_expect_geq(rt, NOW + 40 * D - 6 * H, "%s: in the window", cases[i].name);
			cr_expect_leq(rt, NOW + 42 * D, "%s: in the window", cases[i].name);
		}
	}
}

/*
 * The backoff as obstacle: intermittent faults (DNS, one-offs) make every attempt another
 * chance, persistent ones (CA down, rate limit, configuration) make an early attempt only
 * load. Both directions for each class, and an expired certificate.
 */
Test(policy, reissue_by_fault_class_table)
{
	const struct {
		const char *name;
		enum sc_class cls;
		double present;
		double p_now_fail;
		int expired;
		int want;
	} cases[] = {
		{"DNS failing 60%: reissue", SC_CLASS_DNS, 1.0, 0.6, 0, 1},
		{"transient failing 60%: reissue", SC_CLASS_TRANSIENT, 1.0, 0.6, 0, 1},
		{"CA down, next attempt likely fails: wait", SC_CLASS_CA_UNAVAILABLE, 1.0, 0.6, 0, 0},
		{"CA fault unlikely present, attempt likely fine: reissue", SC_CLASS_CA_UNAVAILABLE, 0.1, 0.15, 0, 1},
		{"rate limit holds: wait", SC_CLASS_RATE_LIMIT, 1.0, 0.9, 0, 0},
		{"configuration error: wait", SC_CLASS_CONFIG, 1.0, 0.9, 0, 0},
		{"expired, CA back (attempt likely fine): reissue", SC_CLASS_CA_UNAVAILABLE, 0.1, 0.1, 1, 1},
		{"expired, CA still down: wait", SC_CLASS_CA_UNAVAILABLE, 1.0, 0.9, 1, 0},
		{"expired, DNS failing 60%: reissue", SC_CLASS_DNS, 1.0, 0.6, 1, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_world w;
		struct sc_decision d;
		tp_backoff_world(&w, cases[i].p_now_fail);
		w.w_p.fp_faults[0].ft_class = cases[i].cls;
		w.w_p.fp_faults[0].ft_present = cases[i].present;
		if (cases[i].expired) {
			w.w_in.in_cert.c_not_before = NOW - 47 * D;
			w.w_in.in_cert.c_not_after = NOW - 5 * H;
		}
		tp_settle(&w);
		if (cases[i].expired)
			w.w_ctx.pc_risk = 1.0; /* sc_evaluate's answer for an expired certificate */
		w.w_ctx.pc_p_now_fail = cases[i].p_now_fail;
		d = tp_decide(&w);
		cr_expect_eq(d.d_reissue, cases[i].want, "%s: got %d (risk %g)", cases[i].name,
			     d.d_reissue, w.w_ctx.pc_risk);
		if (d.d_reissue)
			cr_expect_eq(d.d_reissue_reason, SC_REISSUE_BACKOFF, "%s", cases[i].name);
	}
}

/*
 * Renewals bunching against the per-domain budget are spread over whole windows before
 * their renewal time. Both directions of the bunch against the budget; the plan is a
 * function of the certificate and the bunch only.
 */
Test(policy, spread_bunched_renewals_table)
{
	const struct {
		const char *name;
		int valid;
		uint32_t bunch;
		int want_some_moved;
	} cases[] = {
		{"200 due in a window of 50: spread", 1, 200, 1},
		{"51 due, 49 fit after the reserve: spread", 1, 51, 1},
		{"49 due, exactly what fits: leave", 1, 49, 0},
		{"10 due: leave", 1, 10, 0},
		{"bunch unknown: leave", 1, 0, 0},
		{"no ACME budget: leave", 0, 200, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int moved = 0;
		for (int k = 0; k < 24; k++) {
			struct tp_world w;
			struct sc_decision d, again;
			char name[16];
			/* a healthy 47-day certificate, 2 days old: due at day 31.3 */
			tp_world(&w, 0.01);
			snprintf(name, sizeof(name), "c%d", k);
			w.w_in.in_cert.c_name = name;
			w.w_in.in_cert.c_not_before = NOW - 2 * D;
			w.w_in.in_cert.c_not_after = NOW + 45 * D;
			w.w_in.in_budget.bd_valid = cases[i].valid;
			w.w_in.in_budget.bd_new_limit = 50;
			w.w_in.in_budget.bd_window = 7 * D;
			w.w_in.in_budget.bd_bunch = cases[i].bunch;
			tp_settle(&w);
			d = tp_decide(&w);
			again = tp_decide(&w);
			cr_expect_eq(d.d_rb, again.d_rb, "%s: deterministic", cases[i].name);
			cr_expect_eq(d.d_rb_value, again.d_rb_value, "%s: deterministic",
				     cases[i].name);
			if (d.d_rb != SC_RB_SET)
				continue;
			moved++;
			int64_t rt = w.w_in.in_cert.c_not_after - (d.d_rb_value - d.d_jitter);
			int64_t natural = w.w_in.in_cert.c_not_before + (47 * D - 47 * D / 3);
			int64_t shift = natural - rt;
			/* whole windows earlier (to the minute), never before day 47/8 */
			cr_expect_geq(shift, 7 * D - 60, "%s: at least one window", cases[i].name);
			cr_expect_leq(llabs(shift - (shift + 60) / (7 * D) * 7 * D), 60,
				      "%s: whole windows (%lld)", cases[i].name, (long long)shift);
			cr_expect_geq(rt, w.w_in.in_cert.c_not_before + 47 * D / 8 - 60, "%s",
				      cases[i].name);
		}
		if (cases[i].want_some_moved)
			cr_expect_gt(moved, 0, "%s: nobody moved", cases[i].name);
		else
			cr_expect_eq(moved, 0, "%s: %d moved", cases[i].name, moved);
	}
}
