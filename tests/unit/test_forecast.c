/*
 * Tests of scoring/forecast (and the cron evaluator behind renewal windows): cert-manager's
 * renewal time for every spec combination, the backoff sequence and its cap, the Issuing=True
 * bypass, windows, and the risk model's properties over generated grids.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cron.h"
#include "forecast.h"
#include "scoring.h"

#define H 3600LL
#define D (24 * H)
#define T0 1767225600LL /* 2026-01-01T00:00:00Z, a Thursday */

Test(forecast, epoch_constant_is_right)
{
	/* the tables below lean on T0; check it against the calendar code both ways */
	cr_assert_eq(cron_timegm(2026, 1, 1, 0, 0, 0), T0);
	cr_assert_neq(cron_timegm(2026, 1, 2, 0, 0, 0), T0);
	struct cron_tm tm;
	cron_gmtime(T0, 0, &tm);
	cr_assert_eq(tm.tm_year, 2026);
	cr_assert_eq(tm.tm_wday, 4);
	cron_gmtime(cron_timegm(2024, 2, 29, 23, 59, 58), 0, &tm);
	cr_assert(tm.tm_mon == 2 && tm.tm_mday == 29 && tm.tm_sec == 58);
}

struct rt_case {
	const char *name;
	int64_t lifetime;           /* notAfter - notBefore */
	int rb_set;
	int64_t rb;
	int pct_set;
	int32_t pct;
	enum sc_renewal_policy policy;
	const char *cron;           /* one window, or NULL */
	int64_t win;                /* its duration */
	int32_t tz;                 /* its offset */
	int rc;                     /* expected result */
	int64_t want;               /* expected renewal time, relative to notBefore */
};

Test(forecast, renewal_time_table)
{
	const int64_t L = 90 * D;
	const struct rt_case cases[] = {
		{"default is 2/3 of the lifetime", L, 0, 0, 0, 0, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 60 * D},
		{"renewBefore below lifetime", L, 1, 10 * D, 0, 0, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 80 * D},
		{"renewBefore equal to lifetime falls back", L, 1, L, 0, 0, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 60 * D},
		{"renewBefore above lifetime falls back", L, 1, L + 1, 0, 0, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 60 * D},
		{"renewBefore just under lifetime", L, 1, L - 1, 0, 0, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 1},
		{"renewBefore zero is ignored", L, 1, 0, 0, 0, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 60 * D},
		{"percentage 25", L, 0, 0, 1, 25, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, L - L / 4},
		{"renewBefore wins over percentage", L, 1, 5 * D, 1, 50, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 85 * D},
		{"invalid renewBefore then percentage", L, 1, 2 * L, 1, 50, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 45 * D},
		{"percentage 0 is ignored", L, 0, 0, 1, 0, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 60 * D},
		{"percentage 100 is ignored", L, 0, 0, 1, 100, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 60 * D},
		{"percentage 99", L, 0, 0, 1, 99, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, L - (L * 99 + 99) / 100},
		{"odd lifetime truncates down to the second", 10, 0, 0, 0, 0, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 6},
		{"odd percentage truncates down", 10, 0, 0, 1, 33, SC_RENEWAL_UNSET, NULL, 0, 0, SC_OK, 6},
		{"policy Disabled gives no time", L, 0, 0, 0, 0, SC_RENEWAL_DISABLED, NULL, 0, 0, SC_ERR_DISABLED, 0},
		{"policy RenewBefore without windows", L, 1, 10 * D, 0, 0, SC_RENEWAL_RENEW_BEFORE, NULL, 0, 0, SC_OK, 80 * D},
		{"window contains the desired time", L, 1, 30 * D - 10 * H - 1800, 0, 0, SC_RENEWAL_RENEW_BEFORE, "0 10 * * *", 2 * H, 0, SC_OK, 60 * D + 10 * H + 1800},
		{"desired at the window's end stays", L, 1, 30 * D - 12 * H, 0, 0, SC_RENEWAL_RENEW_BEFORE, "0 10 * * *", 2 * H, 0, SC_OK, 60 * D + 12 * H},
		{"desired after the window moves to the next one", L, 1, 30 * D - 13 * H, 0, 0, SC_RENEWAL_RENEW_BEFORE, "0 10 * * *", 2 * H, 0, SC_OK, 61 * D + 10 * H},
		{"desired before the window moves to its start", L, 1, 30 * D - 9 * H, 0, 0, SC_RENEWAL_RENEW_BEFORE, "0 10 * * *", 2 * H, 0, SC_OK, 60 * D + 10 * H},
		{"window in another time zone", L, 1, 30 * D - 11 * H, 0, 0, SC_RENEWAL_RENEW_BEFORE, "0 10 * * *", 2 * H, 2 * 3600, SC_OK, 61 * D + 8 * H},
		{"inside the window only in its own time zone", L, 1, 30 * D - 9 * H, 0, 0, SC_RENEWAL_RENEW_BEFORE, "0 10 * * *", 2 * H, 2 * 3600, SC_OK, 60 * D + 9 * H},
		{"weekday window skips the weekend", L, 1, 32 * D, 0, 0, SC_RENEWAL_RENEW_BEFORE, "0 9 * * MON-FRI", H, 0, SC_OK, 60 * D + 9 * H},
		{"window that never fits", L, 0, 0, 0, 0, SC_RENEWAL_RENEW_BEFORE, "0 0 31 2 *", H, 0, SC_ERR_NOWINDOW, 0},
		{"window with a bad cron", L, 0, 0, 0, 0, SC_RENEWAL_RENEW_BEFORE, "61 * * * *", H, 0, SC_ERR_PARSE, 0},
		{"window with zero duration", L, 0, 0, 0, 0, SC_RENEWAL_RENEW_BEFORE, "0 10 * * *", 0, 0, SC_ERR_PARSE, 0},
		{"window opening after notAfter plus duration", 3 * D, 0, 0, 0, 0, SC_RENEWAL_RENEW_BEFORE, "0 0 1 6 *", H, 0, SC_ERR_NOWINDOW, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rt_case *c = &cases[i];
		struct sc_window w = {c->cron, c->win, c->tz};
		struct sc_renew_spec spec = {c->rb, c->rb_set, c->pct, c->pct_set, 0, c->policy,
					     c->cron ? &w : NULL, c->cron ? 1 : 0};
		int64_t got = -1;
		int rc = fc_renewal_time(T0, T0 + c->lifetime, &spec, &got);
		cr_expect_eq(rc, c->rc, "%s: rc %d, want %d", c->name, rc, c->rc);
		if (c->rc == SC_OK) {
			cr_expect_eq(got, T0 + c->want, "%s: got %+lld s from notBefore, want %+lld",
				     c->name, (long long)(got - T0), (long long)c->want);
			cr_expect_leq(got, T0 + c->lifetime + (c->cron ? c->win : 0), "%s", c->name);
		} else {
			cr_expect_eq(got, 0, "%s: no time on error", c->name);
		}
	}
}

Test(forecast, renewal_time_rejects_bad_validity)
{
	int64_t out = 42;
	cr_assert_eq(fc_renewal_time(T0 + 10, T0, NULL, &out), SC_ERR_INVAL);
	cr_assert_eq(out, 0);
	cr_assert_eq(fc_renewal_time(T0, T0 + 90 * D, NULL, NULL), SC_ERR_INVAL);
	cr_assert_eq(fc_renewal_time(T0, T0 + 90 * D, NULL, &out), SC_OK);
	cr_assert_eq(out, T0 + 60 * D);
}

Test(forecast, backoff_sequence_and_cap)
{
	const struct {
		const char *name;
		int32_t n;
		int64_t want;
	} cases[] = {
		{"unset counter with a failure time", 0, 1 * H},
		{"negative counter", -3, 1 * H},
		{"first failure", 1, 1 * H},
		{"second", 2, 2 * H},
		{"third", 3, 4 * H},
		{"fourth", 4, 8 * H},
		{"fifth", 5, 16 * H},
		{"sixth reaches the cap", 6, 32 * H},
		{"seventh stays at the cap", 7, 32 * H},
		{"hundredth stays at the cap", 100, 32 * H},
		{"largest counter", INT32_MAX, 32 * H},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = fc_backoff_delay(cases[i].n);
		cr_expect_eq(got, cases[i].want, "%s: %lld", cases[i].name, (long long)got);
	}
	/* the sequence never falls and never passes the cap */
	for (int32_t n = 0; n < 64; n++) {
		cr_expect_leq(fc_backoff_delay(n), fc_backoff_delay(n + 1), "n=%d", n);
		cr_expect_leq(fc_backoff_delay(n), FC_BACKOFF_MAX);
		cr_expect_geq(fc_backoff_delay(n), FC_BACKOFF_INITIAL);
	}
}

Test(forecast, next_attempt_table)
{
	const int64_t now = T0 + 70 * D, rt = T0 + 60 * D;
	const struct {
		const char *name;
		enum sc_tristate issuing;
		int32_t failed;
		int64_t last_failure;
		int64_t renewal;
		int64_t want;
	} cases[] = {
		{"due and healthy: now", SC_UNKNOWN, 0, 0, rt, now},
		{"not due yet: the renewal time", SC_UNKNOWN, 0, 0, now + 5 * H, now + 5 * H},
		{"backing off after 3 failures", SC_FALSE, 3, now - 1 * H, rt, now + 3 * H},
		{"backoff over: now", SC_FALSE, 3, now - 5 * H, rt, now},
		{"backoff ends before the renewal time", SC_FALSE, 1, now - 30 * 60, now + 2 * H, now + 2 * H},
		{"Issuing=True bypasses the backoff", SC_TRUE, 5, now - 1 * H, rt, now},
		{"Issuing=True before the renewal time", SC_TRUE, 0, 0, now + 9 * D, now},
		{"no renewal time, no failure: never", SC_UNKNOWN, 0, 0, 0, 0},
		{"no renewal time, failing: after the backoff", SC_FALSE, 2, now - 1 * H, 0, now + 1 * H},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sc_cert c;
		memset(&c, 0, sizeof(c));
		c.c_issuing.cd_status = cases[i].issuing;
		c.c_failed_attempts = cases[i].failed;
		c.c_last_failure = cases[i].last_failure;
		int64_t got = fc_next_attempt(&c, cases[i].renewal, now);
		cr_expect_eq(got, cases[i].want, "%s: %+lld from now", cases[i].name,
			     (long long)(got - now));
	}
	cr_expect_eq(fc_next_attempt(NULL, rt, now), 0);
}

struct cron_case {
	const char *name;
	const char *expr;
	int ok;
};

Test(cron, parse_table)
{
	const struct cron_case cases[] = {
		{"every minute", "* * * * *", 1},
		{"daily at ten", "0 10 * * *", 1},
		{"ranges, lists, steps", "0,30 8-18/2 1-15 */3 MON-FRI", 1},
		{"month and day names", "0 0 * jan,JUL sun", 1},
		{"sunday as 7", "0 0 * * 7", 1},
		{"question mark in a day field", "0 0 ? * 1", 1},
		{"single value with a step", "5/15 * * * *", 1},
		{"macro", "@daily", 1},
		{"macro with spaces around", "  @weekly  ", 1},
		{"extra spaces between fields", "0   10 *  * *", 1},
		{"minute out of range", "60 * * * *", 0},
		{"hour out of range", "0 24 * * *", 0},
		{"day zero", "0 0 0 * *", 0},
		{"month thirteen", "0 0 1 13 *", 0},
		{"weekday eight", "0 0 * * 8", 0},
		{"reversed range", "0 5-3 * * *", 0},
		{"zero step", "*/0 * * * *", 0},
		{"empty step", "*/ * * * *", 0},
		{"four fields", "0 0 * *", 0},
		{"six fields", "0 0 0 * * *", 0},
		{"letters in minutes", "ab * * * *", 0},
		{"question mark in minutes", "? * * * *", 0},
		{"unknown macro", "@fortnightly", 0},
		{"empty", "", 0},
		{"trailing comma", "1, * * * *", 0},
		{"garbage after a value", "1x * * * *", 0},
		{"very long field", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26 * * * *", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cron_expr ce;
		char err[128] = "";
		int rc = cron_parse(cases[i].expr, &ce, err, sizeof(err));
		if (cases[i].ok)
			cr_expect_eq(rc, SC_OK, "%s: %s", cases[i].name, err);
		else {
			cr_expect_eq(rc, SC_ERR_PARSE, "%s: accepted", cases[i].name);
			cr_expect_neq(err[0], '\0', "%s: no message", cases[i].name);
		}
	}
	cr_expect_eq(cron_parse(NULL, NULL, NULL, 0), SC_ERR_PARSE);
}

Test(cron, next_and_prev_table)
{
	const struct {
		const char *name;
		const char *expr;
		int64_t after;   /* relative to T0 (Thursday 00:00) */
		int64_t next;    /* expected, relative to T0; -1: none */
	} cases[] = {
		{"next minute", "* * * * *", 0, 60},
		{"strictly after", "0 10 * * *", 10 * H, D + 10 * H},
		{"later the same day", "0 10 * * *", 9 * H + 59 * 60, 10 * H},
		{"monday from thursday", "0 9 * * MON", 0, 4 * D + 9 * H},
		{"sunday as 7", "30 1 * * 7", 0, 3 * D + H + 1800},
		{"day-of-month OR weekday when both set", "0 0 15 * FRI", 0, D},
		{"day-of-month AND star weekday", "0 0 15 * *", 0, 14 * D},
		{"february 29 in 2028", "0 0 29 2 *", 0, cron_timegm(2028, 2, 29, 0, 0, 0) - T0},
		{"every 15 minutes from 5", "5/15 * * * *", 6 * 60, 20 * 60},
		{"impossible date", "0 0 30 2 *", 0, -1},
		{"yearly macro", "@yearly", 0, cron_timegm(2027, 1, 1, 0, 0, 0) - T0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cron_expr ce;
		int64_t got, want;
		cr_assert_eq(cron_parse(cases[i].expr, &ce, NULL, 0), SC_OK, "%s", cases[i].name);
		got = cron_next(&ce, T0 + cases[i].after, 0);
		want = cases[i].next < 0 ? 0 : T0 + cases[i].next;
		cr_expect_eq(got, want, "%s: next %+lld, want %+lld", cases[i].name,
			     (long long)(got - T0), (long long)(want - T0));
		if (want != 0) {
			/* both directions: prev from the answer finds it, and nothing in between */
			cr_expect_eq(cron_prev(&ce, want, T0 + cases[i].after, 0), want, "%s: prev",
				     cases[i].name);
			cr_expect(cron_matches(&ce, want, 0), "%s: matches", cases[i].name);
			if (want - 60 > T0 + cases[i].after)
				cr_expect_leq(cron_prev(&ce, want - 60, T0 + cases[i].after + 1, 0),
					      T0 + cases[i].after, "%s: a match in between",
					      cases[i].name);
		}
	}
}

Test(cron, next_agrees_with_matches_on_a_grid)
{
	const char *exprs[] = {"*/7 3-5 * * *", "0 0 1,15 * *", "45 23 * * SAT", "0 12 * 2 1-3"};
	for (size_t e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		struct cron_expr ce;
		cr_assert_eq(cron_parse(exprs[e], &ce, NULL, 0), SC_OK);
		int64_t t = T0 - 7 * D;
		for (int k = 0; k < 40; k++) {
			int64_t n = cron_next(&ce, t, 3600);
			cr_assert_gt(n, t, "%s", exprs[e]);
			cr_expect(cron_matches(&ce, n, 3600), "%s", exprs[e]);
			/* no match was skipped: step minute by minute over short gaps */
			if (n - t < 3 * D)
				for (int64_t m = (t / 60 + 1) * 60; m < n; m += 60)
					cr_expect(!cron_matches(&ce, m, 3600), "%s skipped %lld",
						  exprs[e], (long long)m);
			t = n;
		}
	}
}

/* A forecast with the given baseline and no faults, first attempt at first. */
static void
tf_params(struct fc_params *p, int64_t now, int64_t first, int64_t not_after, double q)
{
	memset(p, 0, sizeof(*p));
	p->fp_now = now;
	p->fp_first = first;
	p->fp_not_after = not_after;
	p->fp_p = q;
	p->fp_attempt_duration = 0;
}

Test(forecast, chain_follows_backoff)
{
	struct fc_params p;
	struct fc_forecast f;
	const int64_t want[] = {0, 1 * H, 3 * H, 7 * H, 15 * H, 31 * H, 63 * H, 95 * H, 127 * H};
	tf_params(&p, T0, T0, T0 + 127 * H, 0.5);
	cr_assert_eq(fc_forecast(&p, 1, &f), SC_OK);
	cr_assert_eq(f.ff_total, 9);
	for (size_t i = 0; i < 9; i++)
		cr_expect_eq(f.ff_attempts[i].at_time, T0 + want[i], "attempt %zu", i + 1);
	cr_expect_eq(f.ff_last_attempt, T0 + 127 * H);
	/* without faults and correlation, attempts are independent */
	cr_expect_float_eq(f.ff_risk, pow(0.5, 9), 1e-12);
	/* one second less and the last attempt no longer fits */
	p.fp_not_after -= 1;
	cr_assert_eq(fc_forecast(&p, 0, &f), SC_OK);
	cr_expect_eq(f.ff_total, 8);
	cr_expect_float_eq(f.ff_risk, pow(0.5, 8), 1e-12);
	/* an attempt needs its duration before notAfter */
	p.fp_not_after += 1;
	p.fp_attempt_duration = 1;
	cr_assert_eq(fc_forecast(&p, 0, &f), SC_OK);
	cr_expect_lt(f.ff_total, 9);
}

Test(forecast, no_attempt_left_is_certain_failure)
{
	struct fc_params p;
	struct fc_forecast f;
	tf_params(&p, T0, T0 + 10 * D, T0 + 5 * D, 0.01);
	cr_assert_eq(fc_forecast(&p, 1, &f), SC_OK);
	cr_expect_eq(f.ff_total, 0);
	cr_expect_eq(f.ff_risk, 1.0);
	tf_params(&p, T0, 0, T0 + 5 * D, 0.01);
	cr_assert_eq(fc_forecast(&p, 1, &f), SC_OK);
	cr_expect_eq(f.ff_risk, 1.0);
	cr_expect_eq(fc_forecast(NULL, 0, &f), SC_ERR_INVAL);
	cr_expect_eq(fc_forecast(&p, 0, NULL), SC_ERR_INVAL);
}

Test(forecast, persistent_fault_dominates)
{
	struct fc_params p;
	struct fc_forecast f;
	double sure;
	tf_params(&p, T0, T0, T0 + 3 * D, 0.05);
	p.fp_nfaults = 1;
	p.fp_faults[0] = (struct fc_fault){.ft_class = SC_CLASS_CONFIG, .ft_present = 1.0, .ft_fail = 1.0, .ft_seen = T0, .ft_window = 0, .ft_retry_after = 0, .ft_since = T0 - 60 * D};
	cr_assert_eq(fc_forecast(&p, 1, &f), SC_OK);
	sure = f.ff_risk;
	cr_expect_gt(sure, 0.8, "a configuration fault two months old outlasts three days");
	p.fp_faults[0].ft_present = 0.6;
	cr_assert_eq(fc_forecast(&p, 1, &f), SC_OK);
	cr_expect_gt(f.ff_risk, 0.6 * sure - 0.01, "the fault's probability scales the risk");
	cr_expect_lt(f.ff_risk, 0.6 * sure + 0.01);
	/* the same fault seen for the first time now is less sure to last, and with a month
	 * left an operator likely fixes it in time */
	p.fp_faults[0].ft_present = 1.0;
	p.fp_faults[0].ft_since = T0;
	cr_assert_eq(fc_forecast(&p, 1, &f), SC_OK);
	cr_expect_lt(f.ff_risk, sure);
	p.fp_not_after = T0 + 30 * D;
	cr_assert_eq(fc_forecast(&p, 1, &f), SC_OK);
	cr_expect_lt(f.ff_risk, 0.1);
	p.fp_not_after = T0 + 3 * D;
	/* a transient fault heals: far less risk than a persistent one of the same strength */
	p.fp_faults[0].ft_since = T0 - 60 * D;
	p.fp_faults[0].ft_class = SC_CLASS_TRANSIENT;
	p.fp_faults[0].ft_fail = 0.5;
	cr_assert_eq(fc_forecast(&p, 1, &f), SC_OK);
	cr_expect_lt(f.ff_risk, 0.01);
	cr_expect_gt(f.ff_p_first_fail, 0.05);
}

Test(forecast, rate_limit_heals_at_retry_after)
{
	struct fc_params p;
	struct fc_forecast f;
	tf_params(&p, T0, T0, T0 + 3 * D, 1e-6);
	p.fp_nfaults = 1;
	p.fp_faults[0] = (struct fc_fault){.ft_class = SC_CLASS_RATE_LIMIT, .ft_present = 1.0, .ft_fail = 1.0, .ft_seen = T0, .ft_window = 0, .ft_retry_after = T0 + 10 * D, .ft_since = T0};
	cr_assert_eq(fc_forecast(&p, 0, &f), SC_OK);
	cr_expect_float_eq(f.ff_risk, 1.0, 1e-9, "limited until after notAfter");
	p.fp_faults[0].ft_retry_after = T0 + 2 * D;
	cr_assert_eq(fc_forecast(&p, 0, &f), SC_OK);
	cr_expect_lt(f.ff_risk, 1e-5, "attempts after the retry-after time succeed");
}

/* The grid: baseline rates, fault strengths and classes, deadlines. */
Test(forecast, properties_over_a_grid)
{
	const double qs[] = {0.0, 0.01, 0.05, 0.2, 0.5, 0.9};
	const double pis[] = {0.0, 0.3, 0.9};
	const enum sc_class cls[] = {SC_CLASS_CONFIG, SC_CLASS_DNS, SC_CLASS_CA_UNAVAILABLE,
				     SC_CLASS_TRANSIENT, SC_CLASS_RATE_LIMIT, SC_CLASS_UNKNOWN};
	const double kappas[] = {0.0, 5.0, 30.0};
	int checked = 0;
	for (size_t a = 0; a < sizeof(qs) / sizeof(qs[0]); a++)
		for (size_t b = 0; b < sizeof(pis) / sizeof(pis[0]); b++)
			for (size_t c = 0; c < sizeof(cls) / sizeof(cls[0]); c++)
				for (size_t k = 0; k < sizeof(kappas) / sizeof(kappas[0]); k++) {
					struct fc_params p;
					struct fc_forecast f;
					double prev = 2.0;
					tf_params(&p, T0, T0 + H, T0 + 2 * D, qs[a]);
					p.fp_kappa = kappas[k];
					p.fp_nfaults = 1;
					p.fp_faults[0] = (struct fc_fault){.ft_class = cls[c], .ft_present = pis[b], .ft_fail = 0.95, .ft_seen = T0 - H, .ft_window = 0, .ft_retry_after = 0, .ft_since = T0 - 2 * H};
					/* more time left never raises the risk */
					for (int64_t na = T0 + 2 * D; na <= T0 + 60 * D; na += 2 * D) {
						p.fp_not_after = na;
						cr_assert_eq(fc_forecast(&p, 0, &f), SC_OK);
						cr_expect(f.ff_risk >= 0.0 && f.ff_risk <= 1.0);
						cr_expect_leq(f.ff_risk, prev + 1e-12,
							      "q=%g pi=%g %s k=%g na=%lld", qs[a], pis[b],
							      sc_class_name(cls[c]), kappas[k],
							      (long long)(na - T0));
						prev = f.ff_risk;
						checked++;
					}
					/* a stronger fault or a worse baseline never lowers it */
					double base = prev;
					p.fp_faults[0].ft_present = pis[b] + 0.05;
					cr_assert_eq(fc_forecast(&p, 0, &f), SC_OK);
					cr_expect_geq(f.ff_risk, base - 1e-12, "stronger fault");
					p.fp_faults[0].ft_present = pis[b];
					p.fp_p = qs[a] + 0.05;
					cr_assert_eq(fc_forecast(&p, 0, &f), SC_OK);
					cr_expect_geq(f.ff_risk, base - 1e-12, "worse baseline q=%g k=%g",
						      qs[a], kappas[k]);
				}
	cr_expect_gt(checked, 1000);
}

Test(forecast, correlation_makes_runs_of_failures_likelier)
{
	struct fc_params p;
	struct fc_forecast ind, cor;
	tf_params(&p, T0, T0, T0 + 20 * D, 0.1);
	cr_assert_eq(fc_forecast(&p, 0, &ind), SC_OK);
	p.fp_kappa = 10.0;
	cr_assert_eq(fc_forecast(&p, 0, &cor), SC_OK);
	cr_expect_gt(cor.ff_risk, ind.ff_risk);
	cr_expect_lt(ind.ff_risk, cor.ff_risk * 0.5);
}

Test(forecast, older_outages_are_expected_to_last_longer)
{
	struct fc_params p;
	struct fc_forecast young, old;
	tf_params(&p, T0, T0, T0 + 5 * D, 0.01);
	p.fp_nfaults = 1;
	p.fp_faults[0] = (struct fc_fault){.ft_class = SC_CLASS_CA_UNAVAILABLE, .ft_present = 1.0, .ft_fail = 0.95, .ft_seen = T0, .ft_window = 0, .ft_retry_after = 0, .ft_since = T0};
	cr_assert_eq(fc_forecast(&p, 0, &young), SC_OK);
	p.fp_faults[0].ft_since = T0 - 4 * D;
	cr_assert_eq(fc_forecast(&p, 0, &old), SC_OK);
	cr_expect_gt(old.ff_risk, young.ff_risk);
	cr_expect_gt(fc_fault_presence(&p, T0 + D), 0.2);
	cr_expect_leq(fc_fault_presence(&p, T0 + D), 1.0);
	cr_expect_gt(fc_attempt_fail(&p, T0), fc_attempt_fail(&p, T0 + 5 * D));
}

Test(forecast, renew_before_helper)
{
	struct sc_renew_spec spec;
	memset(&spec, 0, sizeof(spec));
	cr_expect_eq(fc_renew_before(90 * D, NULL), 30 * D);
	cr_expect_eq(fc_renew_before(-5, NULL), 0);
	spec.rs_renew_before_set = 1;
	spec.rs_renew_before = 89 * D;
	cr_expect_eq(fc_renew_before(90 * D, &spec), 89 * D);
	cr_expect_eq(fc_renew_before(89 * D, &spec), (89 * D + 2) / 3);
}

/* A failing attempt that takes longer spaces the chain; the deadline still counts a quick one. */
Test(forecast, fail_duration_spaces_the_chain)
{
	struct fc_params p;
	struct fc_forecast f;
	tf_params(&p, T0, T0, T0 + 20 * D, 0.5);
	p.fp_attempt_duration = 5 * 60;
	p.fp_fail_duration = 7 * D;
	cr_assert_eq(fc_forecast(&p, 1, &f), SC_OK);
	cr_assert_eq(f.ff_total, 3, "T0, T0+7d+1h, T0+14d+3h");
	cr_expect_eq(f.ff_attempts[1].at_time, T0 + 7 * D + H);
	cr_expect_eq(f.ff_attempts[2].at_time, T0 + 14 * D + 3 * H);
	/* the last one still counts 5 minutes before notAfter, though a failure would take 7d */
	p.fp_not_after = T0 + 14 * D + 3 * H + 5 * 60;
	cr_assert_eq(fc_forecast(&p, 0, &f), SC_OK);
	cr_expect_eq(f.ff_total, 3);
}

/*
 * A running attempt stuck with probability s: the risk mixes the ordinary world and the stuck
 * one, whose chain starts with the running attempt itself; it fails only if the cause is still
 * there when the order expires, and cert-manager's backoff follows.
 */
Test(forecast, stuck_attempt_mixes_two_worlds)
{
	struct fc_params p, ok, stuck;
	struct fc_forecast f, fa, fb, g;
	double s, u;
	tf_params(&p, T0, T0, T0 + 6 * D, 0.05);
	p.fp_attempt_duration = 300;
	p.fp_failed = 2;
	p.fp_stuck = 0.8;
	p.fp_stuck_end = T0 + 4 * D;
	p.fp_stuck_hang = 7 * D;
	p.fp_stuck_fault = (struct fc_fault){.ft_class = SC_CLASS_CONFIG, .ft_present = 1.0,
					     .ft_fail = 1.0, .ft_seen = T0, .ft_since = T0 - 3 * D};
	s = fc_stuck_split(&p, &ok, &stuck);
	cr_expect_float_eq(s, 0.8, 1e-12);
	cr_expect_eq(ok.fp_stuck, 0.0);
	cr_expect_eq(stuck.fp_stuck, 0.0);
	cr_expect_eq(stuck.fp_failed, 2);
	cr_expect_eq(stuck.fp_first, T0 - 3 * D, "the running attempt, from its start");
	cr_expect_eq(stuck.fp_fail_duration, 7 * D);
	cr_expect_eq(stuck.fp_nfaults, 1);
	cr_assert_eq(fc_forecast(&p, 1, &f), SC_OK);
	cr_assert_eq(fc_forecast(&ok, 0, &fa), SC_OK);
	cr_assert_eq(fc_forecast(&stuck, 1, &fb), SC_OK);
	cr_expect_float_eq(f.ff_risk, 0.2 * fa.ff_risk + 0.8 * fb.ff_risk, 1e-12);
	cr_expect_gt(f.ff_risk, fa.ff_risk);
	/* the running attempt fails if the cause lasts to the expiry, 4 days on */
	u = fcl_survival_aged(SC_CLASS_CONFIG, 0, 0, T0 - 3 * D, T0, T0 + 4 * D);
	cr_expect_float_eq(fb.ff_p_first_fail, u + (1.0 - u) * 0.05, 1e-9);
	/* likelier stuck than not: the list is the running attempt (now), then the retry after
	 * the expiry and the 4h backoff of a third failure */
	cr_assert_geq(f.ff_n, 2);
	cr_expect_eq(f.ff_attempts[0].at_time, T0);
	cr_expect_eq(f.ff_attempts[1].at_time, T0 + 4 * D + 4 * H);
	cr_expect_eq(f.ff_total, fb.ff_total);
	cr_expect_float_eq(f.ff_p_first_fail, 0.2 * fa.ff_p_first_fail + 0.8 * fb.ff_p_first_fail,
			   1e-12);
	cr_expect_float_eq(fc_fault_presence(&p, T0 + D),
			   0.8 * fcl_survival_aged(SC_CLASS_CONFIG, 0, 0, T0 - 3 * D, T0, T0 + D),
			   1e-12);
	/* a likelier stuck attempt never lowers the risk */
	double prev = -1.0;
	for (double x = 0.0; x <= 1.0; x += 0.125) {
		p.fp_stuck = x;
		cr_assert_eq(fc_forecast(&p, 0, &g), SC_OK);
		cr_expect_geq(g.ff_risk, prev, "P(stuck) %g: %g after %g", x, g.ff_risk, prev);
		cr_expect(g.ff_risk >= 0.0 && g.ff_risk <= 1.0);
		prev = g.ff_risk;
	}
	/* an expiry at notAfter: only the running attempt, which succeeds if the cause clears */
	p.fp_stuck = 1.0;
	p.fp_stuck_end = T0 + 6 * D;
	cr_assert_eq(fc_forecast(&p, 0, &g), SC_OK);
	cr_expect_eq(g.ff_total, 1);
	cr_expect_lt(g.ff_risk, 1.0);
	cr_expect_gt(g.ff_risk, 0.5);
	/* an expiry already past is "now": the retry comes after the backoff from now */
	p.fp_stuck_end = T0 - D;
	(void)fc_stuck_split(&p, &ok, &stuck);
	cr_expect_eq(stuck.fp_first, T0 - 7 * D);
	cr_assert_eq(fc_forecast(&stuck, 1, &g), SC_OK);
	cr_assert_geq(g.ff_n, 2);
	cr_expect_eq(g.ff_attempts[1].at_time, T0 + 4 * H);
}
