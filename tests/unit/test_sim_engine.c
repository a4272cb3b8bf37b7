/*
 * Engine: cert-manager's renewal and backoff timeline for one certificate, step by step; the
 * Issuing=True bypass; renewBefore not bypassing backoff; expired hours; rate-limit budgets
 * (renewals exempt from the per-domain limit, new name sets not, duplicates for both);
 * revocation with ARI; identical draws across policies; determinism.
 */
#include "cc_err.h"
#include "sim_engine.h"
#include "sim_fault.h"
#include "sim_scenario.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#define H 3600LL
#define D 86400LL

struct trace {
	struct se_trace t_rec[1024]; /* records */
	size_t t_n;                 /* count */
};

static void
trace_fn(void *arg, const struct se_trace *rec)
{
	struct trace *t = arg;
	if (t->t_n < sizeof(t->t_rec) / sizeof(t->t_rec[0]))
		t->t_rec[t->t_n++] = *rec;
}

struct world {
	struct scn_scenario *w_s;
	struct sf_plan *w_plan;
	struct se_engine *w_e;
};

static void
world_open(struct world *w, const char *yaml, enum scn_policy pol)
{
	struct scn_error err;
	int rc = scn_load_string(yaml, strlen(yaml), "engine.yaml", &w->w_s, &err);
	cr_assert_eq(rc, CC_OK, "%s", err.e_msg);
	sf_plan_new(w->w_s, &w->w_plan);
	se_new(w->w_s, w->w_plan, pol, 0, &w->w_e);
}

static void
world_close(struct world *w)
{
	se_free(w->w_e);
	sf_plan_free(w->w_plan);
	scn_free(w->w_s);
}

/* One 90-day certificate issued at the start, renewing at day 60; the issuer is misconfigured
 * from day 59 until day 66, so the attempts walk the whole backoff ladder including the cap. */
static const char *one_cert =
    "name: one\nseed: 3\nduration: 80d\n"
    "issuers:\n  - {name: ca, latency: 60s}\n"
    "certificates:\n  - {group: g, count: 1, issuer: ca, lifetime: 90d, age: [0d, 0d]}\n"
    "faults:\n  - {type: misconfig, issuer: ca, start: 59d, fixed_at: 66d}\n";

Test(sim_engine, renewal_and_backoff_timeline_step_by_step)
{
	struct world w;
	struct trace tr = {0};
	world_open(&w, one_cert, SCN_POL_CERT_MANAGER);
	se_set_trace(w.w_e, trace_fn, &tr);
	cr_assert_eq(se_run(w.w_e), CC_OK);
	const int64_t t0 = w.w_s->s_start;
	const int64_t lat = 60;
	/* cert-manager: renew at 2/3 of 90d = day 60; after the n-th failure wait 1h*2^(n-1),
	 * capped at 32h, from lastFailureTime (the end of the failed attempt). */
	const int64_t backoff_h[] = {1, 2, 4, 8, 16, 32, 32, 32, 32, 32, 32, 32};
	int64_t start = t0 + 60 * D;
	size_t i = 0, attempt = 0;
	for (;;) {
		cr_assert_lt(i + 1, tr.t_n, "trace ended early at attempt %zu", attempt);
		const struct se_trace *s = &tr.t_rec[i], *d = &tr.t_rec[i + 1];
		cr_assert_eq(s->tr_done, 0);
		cr_assert_eq(s->tr_time, start, "attempt %zu started at %+lld s from plan", attempt,
		    (long long)(s->tr_time - start));
		cr_assert_eq(d->tr_done, 1);
		cr_assert_eq(d->tr_time, start + lat);
		int in_fault = start < t0 + 66 * D;
		cr_assert_eq(d->tr_outcome, in_fault ? SF_CONFIG : SF_OK, "attempt %zu outcome %d",
		    attempt, d->tr_outcome);
		cr_assert_eq(d->tr_failed, in_fault ? attempt + 1 : 0);
		i += 2;
		if (!in_fault)
			break;
		start = d->tr_time + backoff_h[attempt] * H;
		attempt++;
	}
	/* Starts at 0, 1, 3, 7, 15, 31, 63, 95 and 127 h (plus latencies) after day 60 fall inside
	 * the fault, which ends 144 h after day 60; the next, near 159 h, succeeds. */
	cr_expect_eq(attempt, 9);
	/* After success the new certificate renews 60 days after its notBefore: past the horizon. */
	cr_expect_eq(i, tr.t_n, "no attempt after the success");
	const struct se_metrics *m = se_metrics(w.w_e);
	cr_expect_eq(m->m_attempts, attempt + 1);
	cr_expect_eq(m->m_failed, attempt);
	cr_expect_eq(m->m_issuances, 1);
	cr_expect_eq(m->m_outcomes[SF_CONFIG], attempt);
	cr_expect_eq(m->m_expired_s, 0, "renewed well before notAfter");
	world_close(&w);
}

Test(sim_engine, issuing_true_bypasses_backoff_renew_before_does_not)
{
	struct world w;
	struct trace tr = {0};
	world_open(&w, one_cert, SCN_POL_CERT_MANAGER);
	se_set_trace(w.w_e, trace_fn, &tr);
	const int64_t t0 = w.w_s->s_start, T = t0 + 60 * D;
	/* Three failures end at T+60, T+3660+60, T+3720+7200+60 = T+10980; the next is due 4h later. */
	cr_assert_eq(se_run_until(w.w_e, T + 5 * H), CC_OK);
	cr_assert_eq(tr.t_n, 6);
	cr_assert_eq(tr.t_rec[5].tr_time, T + 10980);
	cr_assert_eq(tr.t_rec[5].tr_failed, 3);
	struct se_view v;
	se_observe(w.w_e, 0, &v);
	cr_expect_eq(v.v_failed, 3u);
	cr_expect_eq(v.v_last_failure, T + 10980);
	cr_expect_str_eq(v.v_last_reason, "Failed");
	cr_expect_not_null(v.v_last_message);

	/* A longer renewBefore moves the renewal time into the past but not the backoff. */
	cr_assert_eq(se_set_renew_before(w.w_e, 0, 45 * D), CC_OK);
	cr_assert_eq(se_run_until(w.w_e, T + 10980 + 4 * H - 1), CC_OK);
	cr_expect_eq(tr.t_n, 6, "renewBefore must not start an attempt during backoff");
	cr_assert_eq(se_run_until(w.w_e, T + 10980 + 4 * H + 1), CC_OK);
	cr_assert_eq(tr.t_n, 7);
	cr_expect_eq(tr.t_rec[6].tr_time, T + 10980 + 4 * H, "attempt 4 at the end of the 4h backoff");

	/* Issuing=True starts an attempt at once, in the middle of the next (8h) backoff. */
	cr_assert_eq(se_run_until(w.w_e, T + 20 * H), CC_OK);
	size_t before = tr.t_n;
	cr_assert_eq(se_trigger_issuing(w.w_e, 0), CC_OK);
	cr_assert_eq(tr.t_n, before + 1);
	cr_expect_eq(tr.t_rec[before].tr_time, T + 20 * H, "Issuing=True ignores the backoff");
	cr_expect_eq(se_trigger_issuing(w.w_e, 0), CC_ERR_STATE, "one attempt at a time");
	cr_expect_eq(se_metrics(w.w_e)->m_actions[SE_ACT_REISSUE], 1);
	world_close(&w);
}

Test(sim_engine, renew_before_validation)
{
	struct world w;
	world_open(&w, one_cert, SCN_POL_CERT_MANAGER);
	cr_expect_eq(se_set_renew_before(w.w_e, 0, 60), CC_ERR_INVAL, "below 5m");
	cr_expect_eq(se_set_renew_before(w.w_e, 0, 90 * D), CC_ERR_INVAL, "not below the lifetime");
	cr_expect_eq(se_set_renew_before(w.w_e, 0, 300), CC_OK, "5m is allowed");
	cr_expect_eq(se_set_renew_before(w.w_e, 0, 90 * D - 1), CC_OK);
	cr_expect_eq(se_set_renew_before(w.w_e, 0, 0), CC_OK, "unset restores the default");
	cr_expect_eq(se_set_issuer(w.w_e, 0, 5), CC_ERR_INVAL, "no such issuer");
	world_close(&w);
}

Test(sim_engine, expired_hours_accrue_until_the_end)
{
	struct world w;
	world_open(&w,
	    "name: x\nseed: 1\nduration: 20d\nissuers:\n  - {name: ca}\n"
	    "certificates:\n  - {group: g, count: 1, issuer: ca, lifetime: 10d, age: [0d, 0d]}\n"
	    "faults:\n  - {type: misconfig, group: g}\n",
	    SCN_POL_CERT_MANAGER);
	cr_assert_eq(se_run(w.w_e), CC_OK);
	const struct se_metrics *m = se_metrics(w.w_e);
	cr_expect_float_eq(m->m_expired_s, 10.0 * D, 1e-6, "expired from day 10 to day 20");
	cr_expect_float_eq(m->m_expired_class_s[SE_L47D], 10.0 * D, 1e-6);
	cr_expect_float_eq(m->m_expired_class_s[SE_L100D], 0, 1e-6);
	cr_expect_float_eq(m->m_expired_group_s[0], 10.0 * D, 1e-6);
	cr_expect_eq(m->m_expired_certs, 1);
	cr_expect_eq(m->m_issuances, 0);
	cr_expect_gt(m->m_failed, 10, "cert-manager keeps retrying at the 32h cap");
	cr_expect_eq(se_run(w.w_e), CC_ERR_STATE, "a run happens once");
	world_close(&w);
}

/* Successes in the trace within the sliding window (t - 7d, t], and the most in any. */
static int
max_in_window(const struct trace *tr)
{
	int most = 0;
	for (size_t i = 0; i < tr->t_n; i++) {
		if (!tr->t_rec[i].tr_done || tr->t_rec[i].tr_outcome != SF_OK)
			continue;
		int in_window = 0;
		for (size_t j = 0; j < tr->t_n; j++)
			in_window += tr->t_rec[j].tr_done && tr->t_rec[j].tr_outcome == SF_OK &&
			    tr->t_rec[j].tr_time <= tr->t_rec[i].tr_time &&
			    tr->t_rec[j].tr_time > tr->t_rec[i].tr_time - 7 * D;
		if (in_window > most)
			most = in_window;
	}
	return most;
}

/*
 * 60 certificates of one registered domain all due on day 30, Let's Encrypt budgets. Each
 * renews a set of names issued before: Let's Encrypt counts that as a renewal, exempt from its
 * 50 new certificates per registered domain.
 */
static const char *burst =
    "name: rl\nseed: 2\nduration: 45d\n"
    "issuers:\n  - {name: le, acme: true, ari: true, ari_window: [0.66, 0.67]}\n"
    "certificates:\n  - {group: g, count: 60, issuer: le, lifetime: 90d, age: [30d, 30d],"
    " domain: one.example}\n";

Test(sim_engine, renewals_are_exempt_from_the_per_domain_limit)
{
	struct world w;
	struct trace tr = {0};
	world_open(&w, burst, SCN_POL_CERT_MANAGER);
	se_set_trace(w.w_e, trace_fn, &tr);
	cr_assert_eq(se_run(w.w_e), CC_OK);
	const struct se_metrics *m = se_metrics(w.w_e);
	cr_expect_eq(m->m_outcomes[SF_RATE_LIMIT], 0, "renewals refused by the domain limit");
	cr_expect_eq(m->m_issuances, 60);
	cr_expect_eq(max_in_window(&tr), 60, "all 60 renewed within one window");
	world_close(&w);

	/* cert-manager with ARI sends `replaces`: exempt as well. */
	world_open(&w, burst, SCN_POL_ARI_ONLY);
	cr_assert_eq(se_run(w.w_e), CC_OK);
	cr_expect_eq(se_metrics(w.w_e)->m_outcomes[SF_RATE_LIMIT], 0);
	cr_expect_eq(se_metrics(w.w_e)->m_issuances, 60);
	world_close(&w);
}

/*
 * The same 60 certificates, 30-day lifetimes issued at the start (cert-manager renews at day
 * 20), get a new SAN on day 1. Every reissue orders a set never issued: a new certificate.
 */
static const char *migration =
    "name: mig\nseed: 2\nduration: 40d\n"
    "issuers:\n  - {name: le, acme: true, latency: 60s}\n"
    "certificates:\n  - {group: g, count: 60, issuer: le, lifetime: 30d, age: [0d, 0d],"
    " domain: one.example}\n"
    "faults:\n  - {type: names-change, group: g, at: 1d}\n";

Test(sim_engine, names_change_reissues_at_once_and_counts_as_new)
{
	struct world w;
	struct trace tr = {0};
	world_open(&w, migration, SCN_POL_CERT_MANAGER);
	se_set_trace(w.w_e, trace_fn, &tr);
	int64_t t0 = se_scenario(w.w_e)->s_start;
	cr_assert_eq(se_run_until(w.w_e, t0 + 12 * D), CC_OK);
	const struct se_metrics *m = se_metrics(w.w_e);
	int first_hour = 0, refusals = 0;
	for (size_t i = 0; i < tr.t_n; i++) {
		const struct se_trace *r = &tr.t_rec[i];
		if (r->tr_done && r->tr_outcome == SF_OK && r->tr_time >= t0 + D &&
		    r->tr_time < t0 + D + H)
			first_hour++;
		refusals += r->tr_done && r->tr_outcome == SF_RATE_LIMIT;
	}
	cr_expect_eq(first_hour, 50, "reissued at once, as far as the domain's 50 new allow");
	cr_expect_geq(refusals, 10, "the other 10 new certificates refused");
	cr_expect_eq(refusals, (int)m->m_outcomes[SF_RATE_LIMIT], "trace incomplete");
	cr_expect_eq(m->m_issuances, 60, "every certificate reissued for its new names by day 12");
	cr_expect_leq(max_in_window(&tr), 50, "more than 50 new certificates in a window");
	cr_expect_eq(m->m_early, 0.0, "a reissue for new names counted as an early renewal");
	cr_expect_eq(m->m_expired_s, 0.0, "old certificates stay valid while the budget refills");

	/* Now the new sets were issued: reissuing all 60 within the hour is 60 renewals in a
	 * window that still holds the last new ones, and none is refused. */
	for (uint32_t ci = 0; ci < 60; ci++)
		cr_assert_eq(se_trigger_issuing(w.w_e, ci), CC_OK);
	size_t mark = tr.t_n;
	cr_assert_eq(se_run(w.w_e), CC_OK);
	int late_refusals = 0;
	for (size_t i = mark; i < tr.t_n; i++)
		late_refusals += tr.t_rec[i].tr_done && tr.t_rec[i].tr_outcome == SF_RATE_LIMIT;
	cr_expect_eq(late_refusals, 0, "renewals of the new sets refused by the domain limit");
	cr_expect_gt(max_in_window(&tr), 50, "the renewals did not all land in one window");
	cr_assert_lt(tr.t_n, sizeof(tr.t_rec) / sizeof(tr.t_rec[0]), "trace full");
	world_close(&w);
}

/*
 * Another account orders 10 new certificates a day for one.example from day 0 to day 14, one
 * every 2.4 hours: the first 50 fill the window by day 4.9, and from day 7 each slot that frees
 * is taken by its next order at the very moment it frees, so the fleet never finds one free. The fleet's 20 `mig` certificates get a
 * new SAN on day 10 (new sets); the 10 `old` ones renew their sets on day 5 (30-day lifetime,
 * 15 days old: due at 2/3).
 */
static const char *crowded =
    "name: crowded\nseed: 8\nduration: 30d\n"
    "issuers:\n  - {name: le, acme: true, latency: 60s}\n"
    "certificates:\n"
    "  - {group: mig, count: 20, issuer: le, lifetime: 30d, age: [0d, 0d], domain: one.example}\n"
    "  - {group: old, count: 10, issuer: le, lifetime: 30d, age: [15d, 15d], domain: one.example}\n"
    "faults:\n"
    "  - {type: external-issuance, issuer: le, domain: one.example, duration: 14d, per_day: 10}\n"
    "  - {type: names-change, group: mig, at: 10d}\n";

Test(sim_engine, external_issuances_use_up_the_domain_budget_unseen)
{
	struct world w;
	struct trace tr = {0};
	world_open(&w, crowded, SCN_POL_CERT_MANAGER);
	se_set_trace(w.w_e, trace_fn, &tr);
	const int64_t t0 = se_scenario(w.w_e)->s_start;
	cr_assert_eq(se_run_until(w.w_e, t0 + 14 * D), CC_OK);
	const struct se_metrics *m = se_metrics(w.w_e);
	int renewed = 0, mig_ok = 0, mig_refused = 0;
	for (size_t i = 0; i < tr.t_n; i++) {
		const struct se_trace *r = &tr.t_rec[i];
		if (!r->tr_done)
			continue;
		if (r->tr_cert >= 20) {
			renewed += r->tr_outcome == SF_OK;
			continue;
		}
		mig_ok += r->tr_outcome == SF_OK;
		mig_refused += r->tr_outcome == SF_RATE_LIMIT;
	}
	/* Renewals of sets issued before are exempt: the full window does not touch them. */
	cr_expect_eq(renewed, 10, "renewals refused by a window full of other accounts' issuances");
	/* Every new set ordered while the other account's load runs is refused. */
	cr_expect_eq(mig_ok, 0, "a new set slipped into a window the other account keeps full");
	cr_expect_geq(mig_refused, 20 * 5, "each migrating certificate walks its backoff");
	cr_expect_eq(mig_refused, (int)m->m_outcomes[SF_RATE_LIMIT]);
	/* The CA books the other account's orders as the fleet's come (lazily): by the fleet's
	 * last order before day 14 (backoff at most 32h) at least 50 + the slots freed since day 7. */
	cr_expect_geq(m->m_external, 50 + 40, "the other account's issuances were not booked");
	cr_expect_leq(m->m_external, 50 + 50);
	/* The fleet's own books (what a cluster sees, what sim_cc counts from its requests' outcomes)
	 * hold no new certificate of the domain at any refusal: the refusals are unexplained. */
	cr_expect_eq(max_in_window(&tr), 10, "the fleet's own issuances in a window: the renewals");

	/* The load ends on day 14; its issuances leave the window by day 21, and the migration goes
	 * through at the next attempts after that (backoff at most 32h). */
	size_t mark = tr.t_n;
	cr_assert_eq(se_run(w.w_e), CC_OK);
	int first_ok = 0;
	int64_t last_ok = 0;
	for (size_t i = mark; i < tr.t_n; i++) {
		const struct se_trace *r = &tr.t_rec[i];
		if (!r->tr_done || r->tr_cert >= 20 || r->tr_outcome != SF_OK)
			continue;
		first_ok++;
		if (r->tr_time > last_ok)
			last_ok = r->tr_time;
	}
	cr_expect_eq(first_ok, 20, "the migration did not finish once the load aged out");
	cr_expect_leq(last_ok, t0 + 21 * D + 33 * H);
	/* The CA's books in the end: the other account's 50 of days 0 to 4.9 accepted, its orders
	 * of days 5 to 6.9 refused, those of days 7 to 11.9 each take the slot that frees at that
	 * moment, and those of days 12 to 13.9 are refused again: the refused orders of days 5 to
	 * 6.9 free no slot a week later. */
	cr_expect_eq(m->m_external, 50 + 50, "the other account's issuances");
	cr_expect_eq(m->m_external_refused, 20 + 20, "the other account's refused orders");
	cr_assert_lt(tr.t_n, sizeof(tr.t_rec) / sizeof(tr.t_rec[0]), "trace full");
	world_close(&w);

	/* Every policy meets the same CA: the ARI run's `replaces` does not exempt new sets. */
	world_open(&w, crowded, SCN_POL_ARI_ONLY);
	cr_assert_eq(se_run_until(w.w_e, t0 + 14 * D), CC_OK);
	cr_expect_gt(se_metrics(w.w_e)->m_outcomes[SF_RATE_LIMIT], 0);
	world_close(&w);
}

/* One certificate of a day's lifetime: renewed every 16 hours, more often than 5 a week. */
static const char *daily =
    "name: dup\nseed: 6\nduration: 14d\n"
    "issuers:\n  - {name: le, acme: true}\n"
    "certificates:\n  - {group: g, count: 1, issuer: le, lifetime: 1d, age: [0d, 0d],"
    " domain: one.example}\n";

Test(sim_engine, duplicate_limit_holds_renewals)
{
	struct world w;
	struct trace tr = {0};
	world_open(&w, daily, SCN_POL_CERT_MANAGER);
	se_set_trace(w.w_e, trace_fn, &tr);
	cr_assert_eq(se_run(w.w_e), CC_OK);
	cr_expect_gt(se_metrics(w.w_e)->m_outcomes[SF_RATE_LIMIT], 0, "no renewal refused");
	cr_expect_eq(max_in_window(&tr), 5, "not 5 renewals per exact set and window");
	world_close(&w);
}

static const char *revoke =
    "name: rv\nseed: 4\nduration: 40d\n"
    "issuers:\n  - {name: le, acme: true, ari: true}\n"
    "certificates:\n  - {group: g, count: 20, issuer: le, lifetime: 90d, domains: 20}\n"
    "faults:\n  - {type: revocation, issuer: le, at: 10d, deadline: 3d}\n";

Test(sim_engine, revocation_deadline_and_ari)
{
	struct world w;
	world_open(&w, revoke, SCN_POL_CERT_MANAGER);
	cr_assert_eq(se_run(w.w_e), CC_OK);
	const struct se_metrics *m = se_metrics(w.w_e);
	cr_expect_gt(m->m_expired_s, 0, "revoked certificates are invalid after the deadline");
	cr_expect_gt(m->m_expired_certs, 0);
	world_close(&w);

	world_open(&w, revoke, SCN_POL_ARI_ONLY);
	struct se_view v;
	cr_assert_eq(se_run_until(w.w_e, w.w_s->s_start + 10 * D + 1), CC_OK);
	se_observe(w.w_e, 0, &v);
	cr_expect_eq(v.v_ari_lo, w.w_s->s_start + 10 * D, "the ARI window opens at the revocation");
	cr_expect_eq(v.v_ari_hi, w.w_s->s_start + 10 * D + 3 * D / 2);
	cr_assert_eq(se_run(w.w_e), CC_OK);
	cr_expect_eq(se_metrics(w.w_e)->m_expired_s, 0, "ARI-aware renewal beats the deadline");
	world_close(&w);
}

static const char *flaky =
    "name: fl\nseed: 11\nduration: 200d\n"
    "issuers:\n  - {name: ca, failure_probability: 0.3}\n"
    "certificates:\n  - {group: g, count: 200, issuer: ca, lifetime: 90d}\n";

Test(sim_engine, same_draws_for_every_policy)
{
	/* For 90-day certificates fixed-30d is cert-manager's default (30d = 1/3): the runs must
	 * match exactly, attempt for attempt, because the draws depend only on (seed, cert, k). */
	struct world a, b;
	world_open(&a, flaky, SCN_POL_CERT_MANAGER);
	world_open(&b, flaky, SCN_POL_FIXED_30D);
	cr_assert_eq(se_run(a.w_e), CC_OK);
	cr_assert_eq(se_run(b.w_e), CC_OK);
	const struct se_metrics *ma = se_metrics(a.w_e), *mb = se_metrics(b.w_e);
	cr_expect_gt(ma->m_failed, 0);
	cr_expect_eq(ma->m_attempts, mb->m_attempts);
	cr_expect_eq(ma->m_failed, mb->m_failed);
	cr_expect_eq(ma->m_issuances, mb->m_issuances);
	cr_expect_eq(ma->m_expired_s, mb->m_expired_s);
	world_close(&a);
	world_close(&b);
}

Test(sim_engine, runs_are_deterministic)
{
	struct world a, b;
	world_open(&a, flaky, SCN_POL_ARI_ONLY);
	world_open(&b, flaky, SCN_POL_ARI_ONLY);
	cr_assert_eq(se_run(a.w_e), CC_OK);
	cr_assert_eq(se_run(b.w_e), CC_OK);
	cr_expect_eq(memcmp(se_metrics(a.w_e)->m_outcomes, se_metrics(b.w_e)->m_outcomes,
			 sizeof(se_metrics(a.w_e)->m_outcomes)), 0);
	cr_expect_eq(se_metrics(a.w_e)->m_events, se_metrics(b.w_e)->m_events);
	world_close(&a);
	world_close(&b);
}

struct lclass_case {
	const char *name;
	int64_t lifetime;
	enum se_lclass want;
};

static const struct lclass_case lclass_cases[] = {
	{"LE shortlived 160h", 160 * H, SE_L6D}, {"6 days", 6 * D, SE_L6D},
	{"7 days edge", 7 * D, SE_L6D}, {"just above 7d", 7 * D + 1, SE_L47D},
	{"45 days", 45 * D, SE_L47D}, {"47 days", 47 * D, SE_L47D}, {"90 days", 90 * D, SE_L100D},
	{"100 days", 100 * D, SE_L100D}, {"200 days", 200 * D, SE_L200D},
	{"398 days", 398 * D, SE_L398D},
};

Test(sim_engine, lifetime_classes)
{
	for (size_t i = 0; i < sizeof(lclass_cases) / sizeof(lclass_cases[0]); i++)
		cr_expect_eq(se_lclass_of(lclass_cases[i].lifetime), lclass_cases[i].want, "[%s]",
		    lclass_cases[i].name);
	cr_expect_str_eq(se_lclass_name(SE_L47D), "47d");
	cr_expect_str_eq(se_lclass_name(SE_L398D), "398d");
}

/* One healthy 90-day certificate issued at the start; cert-manager renews it at day 60. */
static const char *healthy_cert =
    "name: healthy\nseed: 5\nduration: 80d\n"
    "issuers:\n  - {name: ca, latency: 60s, ari: true, ari_window: [0.64, 0.66]}\n"
    "certificates:\n  - {group: g, count: 1, issuer: ca, lifetime: 90d, age: [0d, 0d]}\n";

/*
 * early_issuances: a renewal at or after the necessary time costs nothing, one before it
 * costs the advance over the user's renewal interval; necessary is the earliest of
 * cert-manager's time under the user's spec and the end of the CA's ARI window.
 */
Test(sim_engine, early_issuances_and_renew_before_patches)
{
	const struct {
		const char *name;
		int64_t set_rb;      /* renewBefore set at day 1, 0 none */
		int64_t reissue_at;  /* Issuing=True at this offset, 0 none */
		double want_early;   /* in issuances */
		uint64_t patches;
	} cases[] = {
		{"cert-manager's own schedule: nothing early", 0, 0, 0.0, 0},
		/* necessary: the ARI window's end at day 59.4; done a latency after the start */
		{"renewBefore 45d: 14.4 of the 60-day interval early", 45 * D, 0,
		    (double)(144 * D / 10 - 60) / (double)(60 * D), 1},
		{"renewBefore 30d (the default): after the window, nothing early", 30 * D, 0, 0.0, 1},
		{"Issuing=True 10h before the window ends", 0, 594 * D / 10 - 10 * H,
		    (double)(10 * H - 60) / (double)(60 * D), 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world w;
		world_open(&w, healthy_cert, SCN_POL_CERT_MANAGER);
		const int64_t t0 = w.w_s->s_start;
		cr_assert_eq(se_run_until(w.w_e, t0 + D), CC_OK);
		if (cases[i].set_rb)
			cr_assert_eq(se_set_renew_before(w.w_e, 0, cases[i].set_rb), CC_OK);
		if (cases[i].reissue_at) {
			cr_assert_eq(se_run_until(w.w_e, t0 + cases[i].reissue_at), CC_OK);
			cr_assert_eq(se_trigger_issuing(w.w_e, 0), CC_OK);
		}
		cr_assert_eq(se_run(w.w_e), CC_OK);
		const struct se_metrics *m = se_metrics(w.w_e);
		cr_expect_geq(m->m_issuances, 1, "%s", cases[i].name);
		cr_expect(fabs(m->m_early - cases[i].want_early) < 1e-6, "%s: early %g, want %g",
			  cases[i].name, m->m_early, cases[i].want_early);
		cr_expect_eq(m->m_rb_patches, cases[i].patches, "%s", cases[i].name);
		cr_expect_eq(m->m_rb_patches_max, (uint32_t)cases[i].patches, "%s", cases[i].name);
		world_close(&w);
	}
}

/* Patches are counted per certificate instance: a renewal starts the count again. */
Test(sim_engine, renew_before_patches_per_instance)
{
	struct world w;
	world_open(&w, healthy_cert, SCN_POL_CERT_MANAGER);
	const int64_t t0 = w.w_s->s_start;
	cr_assert_eq(se_run_until(w.w_e, t0 + D), CC_OK);
	cr_assert_eq(se_set_renew_before(w.w_e, 0, 40 * D), CC_OK);
	cr_assert_eq(se_set_renew_before(w.w_e, 0, 40 * D), CC_OK);
	cr_expect_eq(se_metrics(w.w_e)->m_rb_patches, 1, "an unchanged value is no patch");
	cr_assert_eq(se_set_renew_before(w.w_e, 0, 41 * D), CC_OK);
	cr_expect_eq(se_metrics(w.w_e)->m_rb_patches_max, 2, "two on the first certificate");
	/* renewed at day 49; the restore is the second certificate's first patch */
	cr_assert_eq(se_run_until(w.w_e, t0 + 50 * D), CC_OK);
	cr_assert_eq(se_metrics(w.w_e)->m_issuances, 1);
	cr_assert_eq(se_set_renew_before(w.w_e, 0, 0), CC_OK);
	cr_expect_eq(se_metrics(w.w_e)->m_rb_patches, 3);
	cr_expect_eq(se_metrics(w.w_e)->m_rb_patches_max, 2);
	world_close(&w);
}

/*
 * A stuck challenge: the request started at day 60 hangs for the order's 7 days, fails, and the
 * retry an hour later hangs again; a failover replaces the hanging request at once and the
 * deleted request is no failure.
 */
static const char *stuck_cert =
    "name: stuck\nseed: 3\nduration: 85d\n"
    "issuers:\n  - {name: le, acme: true, latency: 60s}\n  - {name: zs, acme: true, latency: 60s}\n"
    "certificates:\n  - {group: g, count: 1, issuer: le, fallback_issuer: zs, lifetime: 90d,"
    " age: [0d, 0d], domain: g.example}\n"
    "faults:\n  - {type: stuck, issuer: le, start: 59d, duration: 10d}\n";

Test(sim_engine, stuck_request_hangs_then_fails_and_failover_replaces_it)
{
	struct world w;
	struct trace tr = {0};
	struct se_view v;
	world_open(&w, stuck_cert, SCN_POL_CERT_MANAGER);
	se_set_trace(w.w_e, trace_fn, &tr);
	const int64_t T = w.w_s->s_start + 60 * D;
	cr_assert_eq(se_run_until(w.w_e, T + 3 * D), CC_OK);
	cr_assert_eq(tr.t_n, 1, "one attempt started, none finished");
	se_observe(w.w_e, 0, &v);
	cr_expect(v.v_issuing);
	cr_assert_not_null(v.v_pending_reason);
	cr_expect_not_null(strstr(v.v_pending_reason, "404"));
	cr_expect_eq(se_trigger_issuing(w.w_e, 0), CC_ERR_STATE, "Issuing=True changes nothing");
	cr_assert_eq(se_run_until(w.w_e, T + 7 * D + 2 * H), CC_OK);
	cr_assert_eq(tr.t_n, 3);
	cr_expect_eq(tr.t_rec[1].tr_time, T + 7 * D, "fails when the order expires");
	cr_expect_eq(tr.t_rec[1].tr_outcome, SF_STUCK);
	cr_expect_eq(tr.t_rec[2].tr_time, T + 7 * D + H, "the retry after the 1h backoff");
	se_observe(w.w_e, 0, &v);
	cr_expect_eq(v.v_failed, 1u);
	cr_expect_not_null(strstr(v.v_last_message, "invalid"));
	/* failover while the retry hangs: replaced at once, on the fallback, which issues */
	cr_assert_eq(se_set_issuer(w.w_e, 0, 1), CC_OK);
	cr_assert_eq(se_run_until(w.w_e, T + 7 * D + 3 * H), CC_OK);
	cr_assert_eq(tr.t_n, 5);
	cr_expect_eq(tr.t_rec[3].tr_time, T + 7 * D + 2 * H);
	cr_expect_eq(tr.t_rec[3].tr_issuer, 1);
	cr_expect_eq(tr.t_rec[4].tr_outcome, SF_OK);
	const struct se_metrics *m = se_metrics(w.w_e);
	cr_expect_eq(m->m_failed, 1, "the replaced request is no failure");
	cr_expect_eq(m->m_outcomes[SF_STUCK], 1);
	cr_expect_eq(m->m_issuances, 1);
	/* the abandoned request's outcome never arrives */
	cr_assert_eq(se_run(w.w_e), CC_OK);
	cr_expect_eq(se_metrics(w.w_e)->m_outcomes[SF_STUCK], 1);
	world_close(&w);

	/* without the failover, the retry hangs until the challenge is fixed (day 69), then the
	 * order finishes at the next self-check (one latency later) */
	struct trace tr2 = {0};
	world_open(&w, stuck_cert, SCN_POL_CERT_MANAGER);
	se_set_trace(w.w_e, trace_fn, &tr2);
	cr_assert_eq(se_run_until(w.w_e, T + 10 * D), CC_OK);
	cr_assert_eq(tr2.t_n, 4);
	cr_expect_eq(tr2.t_rec[3].tr_time, T + 9 * D + 60);
	cr_expect_eq(tr2.t_rec[3].tr_outcome, SF_OK);
	cr_expect_eq(tr2.t_rec[3].tr_issuer, 0);
	world_close(&w);
}

/* The horizon-ahead calibration's binning: bin edges, the clamp, and forecasts never made. */
struct rel_case {
	const char *name;
	double risk;
	int positive;
	int bin; /* -1: counted as unforecast */
};

static const struct rel_case rel_cases[] = {
    {"zero, renewed", 0.0, 0, 0},
    {"just under an edge", 0.0999, 1, 0},
    {"on an edge goes up", 0.1, 1, 1},
    {"middle", 0.55, 0, 5},
    {"one is the top bin", 1.0, 1, 9},
    {"above one is clamped", 1.5, 1, 9},
    {"no forecast", -1, 1, -1},
    {"NaN is no forecast", NAN, 0, -1},
};

Test(sim_engine, horizon_calibration_bins)
{
	for (size_t i = 0; i < sizeof rel_cases / sizeof rel_cases[0]; i++) {
		const struct rel_case *k = &rel_cases[i];
		struct se_metrics m;
		memset(&m, 0, sizeof m);
		se_rel_add(&m, k->risk, k->positive);
		for (int b = 0; b < SE_NREL; b++)
			cr_expect_eq(m.m_rel[b].rb_n, b == k->bin ? 1u : 0u, "%s: bin %d", k->name, b);
		cr_expect_eq(m.m_rel_unforecast, k->bin < 0 ? 1u : 0u, "%s", k->name);
		if (k->bin >= 0) {
			double r = k->risk > 1 ? 1 : k->risk;
			cr_expect_float_eq(m.m_rel[k->bin].rb_sum_risk, r, 1e-12, "%s", k->name);
			cr_expect_eq(m.m_rel[k->bin].rb_positive, (uint64_t)k->positive, "%s", k->name);
			double d = r - k->positive;
			cr_expect_float_eq(m.m_rel_brier_sum, d * d, 1e-12, "%s: brier", k->name);
		} else {
			cr_expect_eq(m.m_rel_brier_sum, 0, "%s: no brier term", k->name);
		}
	}
}

/* Certificates of all ages whose issuer breaks on day 59 for good. */
static const char *never_fixed_many =
    "name: nf\nseed: 3\nduration: 120d\n"
    "issuers:\n  - {name: ca, latency: 60s}\n"
    "certificates:\n  - {group: g, count: 40, issuer: ca, lifetime: 90d}\n"
    "faults:\n  - {type: misconfig, issuer: ca, start: 59d}\n";

/* In a whole observed run every judged instance is counted once, and no more expire than did. */
Test(sim_engine, horizon_calibration_counts_every_judged_instance_once)
{
	struct world w;
	world_open(&w, never_fixed_many, SCN_POL_CERT_MANAGER);
	se_free(w.w_e);
	cr_assert_eq(se_new(w.w_s, w.w_plan, SCN_POL_CERT_MANAGER, 1, &w.w_e), CC_OK);
	cr_assert_eq(se_run(w.w_e), CC_OK);
	const struct se_metrics *m = se_metrics(w.w_e);
	uint64_t n = m->m_rel_unforecast, pos = 0;
	for (int b = 0; b < SE_NREL; b++) {
		n += m->m_rel[b].rb_n;
		pos += m->m_rel[b].rb_positive;
	}
	cr_expect_gt(m->m_judged, 0);
	cr_expect_gt(m->m_positives, 0, "the misconfiguration is never fixed: some expire");
	cr_expect_eq(n, m->m_judged);
	cr_expect_leq(pos, m->m_positives);
	cr_expect_gt(pos, 0, "expired certificates were forecast the horizon ahead");
	world_close(&w);
}

/*
 * A spec changed during a failure backoff: the newest request is for the old names, so
 * cert-manager's trigger skips the backoff and orders at once; the new names' own failure backs
 * off again (shouldBackoffReissuingOnFailure, pkg/controller/certificates/trigger).
 */
static const char *names_in_backoff =
    "name: nb\nseed: 3\nduration: 70d\n"
    "issuers:\n  - {name: ca, latency: 60s}\n"
    "certificates:\n  - {group: g, count: 1, issuer: ca, lifetime: 90d, age: [0d, 0d]}\n"
    "faults:\n  - {type: misconfig, issuer: ca, start: 59d, fixed_at: 66d}\n"
    "  - {type: names-change, group: g, at: 61d12h}\n";

Test(sim_engine, names_change_during_backoff_orders_at_once)
{
	struct world w;
	struct trace tr = {0};
	world_open(&w, names_in_backoff, SCN_POL_CERT_MANAGER);
	se_set_trace(w.w_e, trace_fn, &tr);
	int64_t t0 = se_scenario(w.w_e)->s_start, change = t0 + 61 * D + 12 * H;
	cr_assert_eq(se_run(w.w_e), CC_OK);
	int64_t before = 0, at = -1, after = -1;
	for (size_t i = 0; i < tr.t_n; i++) {
		const struct se_trace *r = &tr.t_rec[i];
		if (r->tr_done)
			continue;
		if (r->tr_time < change)
			before = r->tr_time;
		else if (at < 0)
			at = r->tr_time;
		else if (after < 0)
			after = r->tr_time;
	}
	/*
	 * attempts at 60d, +1h, +3h, +7h, +15h, 61d7h (each later by the minutes its failures
	 * took): the next would be due at 62d15h
	 */
	cr_expect(before >= t0 + 61 * D + 7 * H && before < t0 + 61 * D + 8 * H,
	    "the backoff ladder before the change: %lld s after day 61", (long long)(before - t0 - 61 * D));
	cr_expect_eq(at, change, "the changed spec waited for the old names' backoff");
	/* its failure is the 7th: 32h from the failure, which comes a latency after the start */
	cr_expect_geq(after, change + 32 * H, "the new names' failure did not back off");
	world_close(&w);
}
