/*
 * Tests of scoring/budgetq (who gets a registered domain's freed ACME slots) and of how
 * sc_evaluate reads its projection (sc_budget.bd_queue, bd_slot). Each table case is named;
 * each comparison is tried on both sides (one slot short / one spare, one second before and
 * after a window edge or a deadline).
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "budgetq.h"
#include "explain.h"
#include "forecast.h"
#include "policy.h"
#include "scoring.h"

#define M 60LL
#define H 3600LL
#define D (24 * H)
#define W (7 * D)
#define NOW 1767225600LL
#define LAT 60LL /* attempt start to outcome */

#define TB_MAX 8

struct tb_case {
	const char *name;
	uint32_t limit;
	size_t nused;
	int64_t used[TB_MAX]; /* relative to NOW */
	size_t n;
	int64_t next[TB_MAX];     /* relative to NOW; 0: not due */
	int32_t failed[TB_MAX];
	int64_t deadline[TB_MAX]; /* relative to NOW */
	int64_t horizon;          /* relative to NOW */
	int64_t want_slot[TB_MAX]; /* relative to NOW; -1: no slot by the horizon */
	int want_in_time[TB_MAX];
	uint32_t want_refused[TB_MAX];
};

/* The same backoff cert-manager applies: 1h after the first failure, doubling to 32h. */
static int64_t
tb_retry(int64_t t, int32_t failed_after)
{
	int64_t b = failed_after <= 1 ? H : failed_after > 6 ? 32 * H : H << (failed_after - 1);
	return t + LAT + b;
}

Test(budgetq, projection_table)
{
	/* an issuance 6 days 23 hours ago leaves the window in one hour */
	const int64_t old = -(W - H);
	const struct tb_case cases[] = {
		{"one slot spare: both accepted at once", 3, 1, {old}, 2, {H, H}, {0, 0},
		 {10 * D, 10 * D}, 20 * D, {H, H}, {1, 1}, {0, 0}},
		{"one slot short: the later index waits for the oldest issuance to leave", 2, 1,
		 {old}, 2, {30 * M, 30 * M}, {0, 0}, {10 * D, 10 * D}, 20 * D,
		 {30 * M, tb_retry(30 * M, 1)}, {1, 1}, {0, 1}},
		{"window edge: an attempt at exactly issuance + window is accepted", 1, 1, {old}, 1,
		 {H}, {0}, {10 * D}, 20 * D, {H}, {1}, {0}},
		{"window edge: one second earlier it is refused", 1, 1, {old}, 1, {H - 1}, {0},
		 {10 * D}, 20 * D, {tb_retry(H - 1, 1)}, {1}, {1}},
		{"the first to retry after a slot frees takes it", 1, 1, {old}, 2, {2 * H, H + M},
		 {6, 6}, {10 * D, 10 * D}, 3 * D, {-1, H + M}, {0, 1}, {3, 0}},
		{"ties go to the lower index", 1, 1, {old}, 2, {H + M, H + M}, {6, 6},
		 {10 * D, 10 * D}, 3 * D, {H + M, -1}, {1, 0}, {0, 3}},
		{"slot done exactly at the deadline is in time", 1, 0, {0}, 1, {D}, {0},
		 {D + LAT}, 20 * D, {D}, {1}, {0}},
		{"slot done one second after the deadline is late", 1, 0, {0}, 1, {D}, {0},
		 {D + LAT - 1}, 20 * D, {D}, {0}, {0}},
		{"a refused certificate past its deadline still takes a slot from others", 1, 1,
		 {-W + 2 * H}, 2, {H, 3 * H}, {0, 0}, {90 * M, 10 * D}, 3 * D,
		 {tb_retry(H, 1), -1}, {0, 0}, {1, 7}},
		{"no attempt due: left out", 1, 0, {0}, 2, {0, H}, {0, 0}, {10 * D, 10 * D}, 20 * D,
		 {-1, H}, {0, 1}, {0, 0}},
		{"overdue attempt is taken at now", 1, 0, {0}, 1, {-5 * H}, {0}, {10 * D}, 20 * D,
		 {0}, {1}, {0}},
		{"nothing by the horizon", 1, 1, {-H}, 1, {H}, {6}, {10 * D}, 2 * D, {-1}, {0},
		 {2}},
		{"a slot by the horizon", 1, 1, {-H}, 1, {H}, {6}, {10 * D}, 10 * D,
		 {H + 6 * (32 * H + LAT)}, {1}, {6}},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct tb_case *c = &cases[k];
		struct bq_cert q[TB_MAX];
		int64_t used[TB_MAX], issued[2 * TB_MAX];
		uint32_t heap[TB_MAX];
		struct bq_scratch s = {heap, issued};
		struct bq_budget b = {used, c->nused, c->limit, W, LAT};
		memset(q, 0, sizeof(q));
		for (size_t i = 0; i < c->nused; i++)
			used[i] = NOW + c->used[i];
		for (size_t i = 0; i < c->n; i++) {
			q[i].bc_next = c->next[i] == 0 ? 0 : NOW + c->next[i];
			q[i].bc_failed = c->failed[i];
			q[i].bc_deadline = NOW + c->deadline[i];
		}
		cr_assert_eq(bq_project(q, c->n, &b, NOW, NOW + c->horizon, &s), SC_OK, "%s",
			     c->name);
		for (size_t i = 0; i < c->n; i++) {
			int64_t want = c->want_slot[i] < 0 ? 0 : NOW + c->want_slot[i];
			cr_expect_eq(q[i].bc_slot, want, "%s: cert %zu slot %+lld want %+lld",
				     c->name, i, (long long)(q[i].bc_slot - NOW),
				     (long long)(want - NOW));
			cr_expect_eq(q[i].bc_in_time, c->want_in_time[i], "%s: cert %zu in time",
				     c->name, i);
			cr_expect_eq(q[i].bc_refused, c->want_refused[i], "%s: cert %zu refused %u",
				     c->name, i, q[i].bc_refused);
		}
	}
}

/* A bunch of n certificates due together against a budget of limit: exactly limit win. */
Test(budgetq, bunch_gets_exactly_the_budget_per_window)
{
	enum { N = 120 };
	struct bq_cert q[N];
	int64_t issued[N];
	uint32_t heap[N];
	struct bq_scratch s = {heap, issued};
	struct bq_budget b = {NULL, 0, 50, W, LAT};
	uint32_t first = 0, second = 0, third = 0, none = 0;
	memset(q, 0, sizeof(q));
	for (int i = 0; i < N; i++) {
		q[i].bc_next = NOW + i * M;
		q[i].bc_deadline = NOW + 10 * D;
	}
	cr_assert_eq(bq_project(q, N, &b, NOW, NOW + 30 * D, &s), SC_OK);
	for (int i = 0; i < N; i++) {
		if (q[i].bc_slot == 0)
			none++;
		else if (q[i].bc_slot < NOW + W)
			first++;
		else if (q[i].bc_slot < NOW + 2 * W)
			second++;
		else
			third++;
		cr_expect(q[i].bc_slot == 0 ||
			  q[i].bc_in_time == (q[i].bc_slot + LAT <= NOW + 10 * D));
	}
	cr_expect_eq(first, 50, "first window: %u", first);
	cr_expect_eq(second, 50, "second window: %u", second);
	cr_expect_eq(third, N - 100, "third window: %u", third);
	cr_expect_eq(none, 0);
	/* one slot more per window: one certificate more in each */
	b.bb_limit = 51;
	memset(q, 0, sizeof(q));
	for (int i = 0; i < N; i++) {
		q[i].bc_next = NOW + i * M;
		q[i].bc_deadline = NOW + 10 * D;
	}
	first = second = third = 0;
	cr_assert_eq(bq_project(q, N, &b, NOW, NOW + 30 * D, &s), SC_OK);
	for (int i = 0; i < N; i++) {
		if (q[i].bc_slot != 0 && q[i].bc_slot < NOW + W)
			first++;
		else if (q[i].bc_slot != 0 && q[i].bc_slot < NOW + 2 * W)
			second++;
		else if (q[i].bc_slot != 0)
			third++;
	}
	cr_expect_eq(first, 51);
	cr_expect_eq(second, 51);
	cr_expect_eq(third, N - 102);
}

Test(budgetq, bad_arguments)
{
	struct bq_cert q[1];
	int64_t issued[2];
	uint32_t heap[1];
	struct bq_scratch s = {heap, issued};
	struct bq_budget b = {NULL, 0, 50, W, LAT};
	memset(q, 0, sizeof(q));
	cr_expect_eq(bq_project(NULL, 1, &b, NOW, NOW + D, &s), SC_ERR_INVAL);
	cr_expect_eq(bq_project(q, 1, NULL, NOW, NOW + D, &s), SC_ERR_INVAL);
	cr_expect_eq(bq_project(q, 1, &b, NOW, NOW + D, NULL), SC_ERR_INVAL);
	b.bb_limit = 0;
	cr_expect_eq(bq_project(q, 1, &b, NOW, NOW + D, &s), SC_ERR_INVAL);
	b.bb_limit = 50;
	b.bb_window = 0;
	cr_expect_eq(bq_project(q, 1, &b, NOW, NOW + D, &s), SC_ERR_INVAL);
	b.bb_window = W;
	b.bb_nused = 1;
	cr_expect_eq(bq_project(q, 1, &b, NOW, NOW + D, &s), SC_ERR_INVAL, "used without times");
	b.bb_nused = 0;
	cr_expect_eq(bq_project(q, 0, &b, NOW, NOW + D, NULL), SC_OK, "empty queue");
	cr_expect_eq(bq_project(q, 1, &b, NOW, NOW + D, &s), SC_OK);
}

/* ---- sc_evaluate with the projection ---------------------------------------------------- */

static const char *const rl_msg =
	"Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: Error creating new "
	"order :: too many certificates already issued for this registered domain";

/*
 * A 47-day certificate 34 days old, refused by the per-domain budget six times, the last an
 * hour ago: cert-manager retries in 31 hours, then every 32 hours until notAfter in 13 days.
 */
static void
tb_input(struct sc_input *in, int queue, int64_t slot)
{
	memset(in, 0, sizeof(*in));
	in->in_now = NOW;
	in->in_cert.c_namespace = "rollout";
	in->in_cert.c_name = "web-7";
	in->in_cert.c_issuer_kind = "ClusterIssuer";
	in->in_cert.c_issuer_name = "letsencrypt";
	in->in_cert.c_domain = "rollout.example";
	in->in_cert.c_acme = 1;
	in->in_cert.c_not_before = NOW - 34 * D;
	in->in_cert.c_not_after = NOW + 13 * D;
	in->in_cert.c_failed_attempts = 6;
	in->in_cert.c_last_failure = NOW - H;
	in->in_cert.c_issuing.cd_status = SC_FALSE;
	in->in_cert.c_issuing.cd_reason = "Failed";
	in->in_cert.c_issuing.cd_message = rl_msg;
	in->in_cert.c_issuing.cd_time = NOW - H;
	in->in_budget.bd_valid = 1;
	in->in_budget.bd_new_used = 50;
	in->in_budget.bd_new_limit = 50;
	in->in_budget.bd_window = W;
	in->in_budget.bd_queue = queue;
	in->in_budget.bd_slot = slot;
}

struct te_case {
	const char *name;
	int queue;
	int64_t slot;     /* relative to NOW, 0: none */
	int fail;         /* make the certificate rate-limited */
	double min_risk;  /* inclusive */
	double max_risk;  /* inclusive */
};

Test(budgetq, evaluate_reads_the_projection)
{
	/* cert-manager's attempts: now + 31h, then every 32h (plus the attempt's 5 minutes) */
	const int64_t a1 = 31 * H, a2 = a1 + 5 * M + 32 * H;
	const struct te_case cases[] = {
		{"no slot before the deadline: near-certain expiry", 1, 0, 1, 0.9, 1.0},
		{"slot after the deadline: the same", 1, 14 * D, 1, 0.9, 1.0},
		{"slot at the next attempt, well before the deadline: low", 1, a1, 1, 0.0, 0.05},
		{"slot at the second attempt: still low", 1, a2, 1, 0.0, 0.05},
		{"healthy certificate, slot at its first attempt: low", 1, 10 * D, 0, 0.0, 0.01},
		{"healthy certificate, no slot before the deadline: near-certain", 1, 0, 0, 0.9,
		 1.0},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct te_case *c = &cases[k];
		struct sc_input in;
		struct sc_result r;
		tb_input(&in, c->queue, c->slot ? NOW + c->slot : 0);
		if (!c->fail) {
			/* a fresh certificate renewing in 10 days (2/3 of 47 days in) */
			in.in_cert.c_failed_attempts = 0;
			in.in_cert.c_last_failure = 0;
			in.in_cert.c_issuing.cd_status = SC_UNKNOWN;
			in.in_cert.c_issuing.cd_reason = NULL;
			in.in_cert.c_issuing.cd_message = NULL;
			in.in_cert.c_not_before = NOW - (int64_t)(47 * D * 2 / 3) + 10 * D;
			in.in_cert.c_not_after = in.in_cert.c_not_before + 47 * D;
		}
		cr_assert_eq(sc_evaluate(&in, &r), SC_OK, "%s", c->name);
		cr_expect(r.r_risk >= c->min_risk && r.r_risk <= c->max_risk, "%s: risk %g",
			  c->name, r.r_risk);
	}
}

/* The projection moves the risk both ways against the fault's own model. */
Test(budgetq, evaluate_projection_both_ways)
{
	struct sc_input in;
	struct sc_result none, late, early;
	tb_input(&in, 0, 0);
	cr_assert_eq(sc_evaluate(&in, &none), SC_OK);
	tb_input(&in, 1, 0);
	cr_assert_eq(sc_evaluate(&in, &late), SC_OK);
	tb_input(&in, 1, NOW + 31 * H);
	cr_assert_eq(sc_evaluate(&in, &early), SC_OK);
	cr_expect_gt(late.r_risk, none.r_risk, "no slot: %g vs model %g", late.r_risk, none.r_risk);
	cr_expect_lt(early.r_risk, none.r_risk, "slot: %g vs model %g", early.r_risk, none.r_risk);
	cr_expect_geq(late.r_level, SC_LEVEL_CRITICAL);
	cr_expect_leq(early.r_level, SC_LEVEL_MEDIUM);
	/* the duplicate limit is not in the projection: the fault's own model stays */
	tb_input(&in, 1, 0);
	in.in_budget.bd_dup_used = 5;
	cr_assert_eq(sc_evaluate(&in, &late), SC_OK);
	cr_expect_float_eq(late.r_risk, none.r_risk, 1e-12);
	/* not an ACME budget: ignored */
	tb_input(&in, 1, 0);
	in.in_budget.bd_valid = 0;
	cr_assert_eq(sc_evaluate(&in, &late), SC_OK);
	cr_expect_float_eq(late.r_risk, none.r_risk, 1e-12);
}

/* A later slot never lowers the risk; the risk stays in [0, 1]. */
Test(budgetq, later_slot_never_lowers_risk)
{
	double prev = -1.0;
	for (int64_t s = H; s <= 15 * D; s += 7 * H) {
		struct sc_input in;
		struct sc_result r;
		tb_input(&in, 1, NOW + s);
		cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
		cr_expect(r.r_risk >= 0.0 && r.r_risk <= 1.0);
		cr_expect_geq(r.r_risk, prev - 1e-12, "slot +%lldh: %g after %g",
			      (long long)(s / H), r.r_risk, prev);
		prev = r.r_risk;
	}
}

/* Other certificates' rate-limit failures on the issuer: the projection decides for this one. */
Test(budgetq, issuer_rate_limit_fault_follows_the_projection)
{
	struct sc_issuer_estimate est;
	struct sc_input in;
	struct sc_result model, late, early;
	memset(&est, 0, sizeof(est));
	sc_issuer_estimate(NULL, NULL, NOW, &est);
	est.ie_failing = 1;
	est.ie_class = SC_CLASS_RATE_LIMIT;
	est.ie_class_share = 1.0;
	est.ie_failures = 1.0; /* half strength: a weak sign on its own */
	est.ie_failing_since = NOW - 2 * H;
	est.ie_last_failure = NOW - H;
	tb_input(&in, 0, 0);
	/* not failing itself: due now (renewal time passed), no failure recorded */
	in.in_cert.c_failed_attempts = 0;
	in.in_cert.c_last_failure = 0;
	in.in_cert.c_issuing.cd_status = SC_UNKNOWN;
	in.in_cert.c_issuing.cd_reason = NULL;
	in.in_cert.c_issuing.cd_message = NULL;
	in.in_issuer_est = &est;
	cr_assert_eq(sc_evaluate(&in, &model), SC_OK);
	in.in_budget.bd_queue = 1;
	in.in_budget.bd_slot = 0;
	cr_assert_eq(sc_evaluate(&in, &late), SC_OK);
	in.in_budget.bd_slot = NOW;
	cr_assert_eq(sc_evaluate(&in, &early), SC_OK);
	cr_expect_geq(late.r_risk, 0.9, "refused until the deadline: %g", late.r_risk);
	cr_expect_gt(late.r_risk, model.r_risk);
	cr_expect_lt(early.r_risk, 0.01, "accepted now: %g", early.r_risk);
	cr_expect_leq(early.r_risk, model.r_risk);
}

/* ---- a refusal this cluster's books do not explain ---------------------------------------- */

/*
 * Let's Encrypt counts every account's certificates of a registered domain, so a cluster's
 * books are a lower bound of the CA's. When the CA refused although the books showed room at
 * the refusal, the projection (built from the books) must not end the fault: the refusal's own
 * model stands, and the projection may only lengthen it. When the books were full at the
 * refusal, they explain it and the projection is trusted, as in the simulator.
 */
static const char *const rl_live_msg =
	"Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: too many "
	"certificates (50) already issued for \"example.com\" in the last 168h0m0s";

/*
 * The certificate of the live report: refused once, a minute ago, for a new set of names;
 * cert-manager retries in an hour; notAfter in three days. books < 0: no counts at the
 * refusal; else that many of 50 then. The projection (slot relative to NOW, 0: none before
 * the deadline) is given.
 */
static void
tb_refused(struct sc_input *in, const char *msg, int books, int64_t slot)
{
	tb_input(in, 1, slot ? NOW + slot : 0);
	in->in_cert.c_not_before = NOW - 87 * D;
	in->in_cert.c_not_after = NOW + 3 * D;
	in->in_cert.c_failed_attempts = 1;
	in->in_cert.c_last_failure = NOW - M;
	in->in_cert.c_issuing.cd_message = msg;
	in->in_cert.c_issuing.cd_time = NOW - M;
	in->in_budget.bd_new_used = books < 0 ? 0 : (uint32_t)books;
	if (books >= 0) {
		in->in_budget.bd_at_failure = 1;
		in->in_budget.bd_new_used_at_failure = (uint32_t)books;
	}
}

/* P(fault present) at the first attempt at or after t (relative to NOW); -1 when none. */
static double
tb_fault_at(const struct sc_result *r, int64_t t)
{
	for (uint32_t i = 0; i < r->r_nattempts; i++)
		if (r->r_attempts[i].at_time >= NOW + t)
			return r->r_attempts[i].at_p_fault;
	return -1.0;
}

struct tu_case {
	const char *name;
	int books;        /* the domain's count at the refusal, -1 unknown */
	int64_t slot;     /* relative to NOW */
	double min_risk;  /* inclusive */
	double max_risk;  /* inclusive */
	double min_fault; /* P(fault present) at the next attempt, at least */
	double max_fault; /* ... at most */
};

Test(budgetq, unexplained_refusal_keeps_the_fault)
{
	/* cert-manager's next attempt: an hour after the failure */
	const int64_t next = H - M;
	const struct tu_case cases[] = {
		/* the bug: books 0 of 50, the projection says the next attempt is accepted */
		{"books 0 of 50 at the refusal: the refusal's model stands", 0, next, 0.2, 1.0,
		 0.9, 1.0},
		{"books 49 of 50 at the refusal: one short, still unexplained", 49, next, 0.2, 1.0,
		 0.9, 1.0},
		/* the same input with the domain full at the refusal: the books explain it */
		{"books 50 of 50 at the refusal: the projection ends the fault", 50, next, 0.0,
		 0.01, 0.0, 0.1},
		{"no counts at the refusal: the projection is trusted, as before", -1, next, 0.0,
		 0.01, 0.0, 0.1},
		/* a projection later than the fault's own model lengthens it either way */
		{"books 0 of 50, no slot before the deadline: certain", 0, 0, 0.9, 1.0, 0.9, 1.0},
		{"books 50 of 50, no slot before the deadline: certain", 50, 0, 0.9, 1.0, 0.9, 1.0},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct tu_case *c = &cases[k];
		struct sc_input in;
		struct sc_result r;
		tb_refused(&in, rl_live_msg, c->books, c->slot);
		cr_assert_eq(sc_evaluate(&in, &r), SC_OK, "%s", c->name);
		cr_expect(r.r_risk >= c->min_risk && r.r_risk <= c->max_risk, "%s: risk %g",
			  c->name, r.r_risk);
		double pf = tb_fault_at(&r, next);
		cr_expect(pf >= c->min_fault && pf <= c->max_fault,
			  "%s: P(fault) at the next attempt %g", c->name, pf);
	}
}

/* Unexplained, with room projected by the next attempt: exactly the fault's own model. */
Test(budgetq, unexplained_refusal_is_the_fault_model)
{
	struct sc_input in;
	struct sc_result model, doubted, trusted;
	char text[8192];
	tb_refused(&in, rl_live_msg, 0, H - M);
	in.in_budget.bd_queue = 0;
	cr_assert_eq(sc_evaluate(&in, &model), SC_OK);
	tb_refused(&in, rl_live_msg, 0, H - M);
	cr_assert_eq(sc_evaluate(&in, &doubted), SC_OK);
	tb_refused(&in, rl_live_msg, 50, H - M);
	cr_assert_eq(sc_evaluate(&in, &trusted), SC_OK);
	cr_expect_float_eq(doubted.r_risk, model.r_risk, 1e-12, "doubted %g, model %g",
			   doubted.r_risk, model.r_risk);
	cr_expect_gt(doubted.r_risk, 10.0 * trusted.r_risk, "doubted %g, trusted %g",
		     doubted.r_risk, trusted.r_risk);
	/* the factor says why, and carries the difference */
	int found = 0;
	for (uint32_t i = 0; i < doubted.r_nfactors; i++) {
		const struct sc_factor *f = &doubted.r_factors[i];
		if (strcmp(f->f_name, "unseen-issuance") != 0)
			continue;
		found = 1;
		cr_expect(strstr(f->f_text, "books show 0 of 50 for the registered domain") != NULL,
			  "%s", f->f_text);
		cr_expect(strstr(f->f_text, "does not see") != NULL, "%s", f->f_text);
		cr_expect_float_eq(f->f_contrib, doubted.r_risk - trusted.r_risk, 1e-9,
				   "contribution %g", f->f_contrib);
	}
	cr_expect(found, "no unseen-issuance factor");
	for (uint32_t i = 0; i < trusted.r_nfactors; i++)
		cr_expect(strcmp(trusted.r_factors[i].f_name, "unseen-issuance") != 0,
			  "explained refusal has the factor");
	tb_refused(&in, rl_live_msg, 0, H - M);
	cr_assert_eq(ex_text(&in, &doubted, text, sizeof(text)), SC_OK);
	cr_expect(strstr(text, ": 0 of 50 new, 0 of 5 for this exact set; the books do not "
			       "explain the rate-limit refusal") != NULL,
		  "%s", text);
	tb_refused(&in, rl_live_msg, 50, H - M);
	cr_assert_eq(ex_text(&in, &trusted, text, sizeof(text)), SC_OK);
	cr_expect(strstr(text, "the books explain the rate-limit refusal") != NULL, "%s", text);
}

/* The exact-set limit explains a refusal of a renewal; the domain count does not. */
Test(budgetq, refusal_explained_by_the_exact_set)
{
	const struct {
		const char *name;
		int renewal;
		uint32_t new_at, dup_at;
		int want;
	} cases[] = {
		{"new set, domain full", 0, 50, 0, 1},
		{"new set, domain one short", 0, 49, 0, 0},
		{"renewal, domain full: exempt, unexplained", 1, 50, 4, 0},
		{"renewal, exact set full", 1, 0, 5, 1},
		{"new set, exact set full", 0, 0, 5, 1},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct sc_budget b;
		memset(&b, 0, sizeof(b));
		b.bd_valid = 1;
		b.bd_renewal = cases[k].renewal;
		b.bd_at_failure = 1;
		b.bd_new_used_at_failure = cases[k].new_at;
		b.bd_dup_used_at_failure = cases[k].dup_at;
		cr_expect_eq(pol_budget_refusal_explained(&b), cases[k].want, "%s", cases[k].name);
		b.bd_at_failure = 0;
		cr_expect_eq(pol_budget_refusal_explained(&b), -1, "%s: unknown", cases[k].name);
	}
}

struct tr_case {
	const char *name;
	int books;            /* at the refusal */
	int64_t retry;        /* the message's "retry after", relative to NOW; 0: none */
	int64_t slot;         /* the projection, relative to NOW */
	int64_t until;        /* the fault lasts until then (relative to NOW) */
};

/* A retry-after the CA wrote is never shortened by the projection; a later slot is kept. */
Test(budgetq, retry_after_and_slot_take_the_later)
{
	/* the attempts: +59m, +3h, +7h, +15h, +31h, +63h (then the deadline at +72h) */
	const struct tr_case cases[] = {
		{"explained, retry after later than the slot: retry after wins", 50, 40 * H,
		 H - M, 40 * H},
		{"explained, slot later than the retry after: the slot wins", 50, 2 * H, 40 * H,
		 40 * H - FC_BACKOFF_INITIAL / 2},
		{"unexplained, retry after later than the slot: retry after wins", 0, 40 * H,
		 H - M, 40 * H},
		{"unexplained, slot later than the retry after: the slot wins", 0, 2 * H, 40 * H,
		 40 * H - FC_BACKOFF_INITIAL / 2},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct tr_case *c = &cases[k];
		char msg[256], iso[32];
		time_t t = (time_t)(NOW + c->retry);
		struct tm tm;
		struct sc_input in;
		struct sc_result r;
		gmtime_r(&t, &tm);
		strftime(iso, sizeof(iso), "%Y-%m-%d %H:%M:%S UTC", &tm);
		snprintf(msg, sizeof(msg), "%s, retry after %s", rl_live_msg, iso);
		tb_refused(&in, msg, c->books, c->slot);
		cr_assert_eq(sc_evaluate(&in, &r), SC_OK, "%s", c->name);
		cr_assert_gt(r.r_nattempts, 5, "%s", c->name);
		for (uint32_t i = 0; i < r.r_nattempts; i++) {
			const struct sc_attempt *a = &r.r_attempts[i];
			if (a->at_time < NOW + c->until)
				cr_expect_geq(a->at_p_fault, 0.95, "%s: attempt %u at +%llds: %g",
					      c->name, i + 1, (long long)(a->at_time - NOW),
					      a->at_p_fault);
			else
				cr_expect_leq(a->at_p_fault, 0.05, "%s: attempt %u at +%llds: %g",
					      c->name, i + 1, (long long)(a->at_time - NOW),
					      a->at_p_fault);
		}
	}
}

/*
 * The properties with the books in play: the risk stays in [0, 1], more failures never lower
 * it, and doubting the books (a refusal they do not explain) never lowers it either.
 */
Test(budgetq, books_properties)
{
	const int64_t slots[] = {0, H - M, 5 * H, 31 * H, 2 * D, 4 * D};
	const int books[] = {-1, 0, 25, 49, 50};
	for (size_t s = 0; s < sizeof(slots) / sizeof(slots[0]); s++) {
		double trusted_by_n[9] = {0};
		for (size_t b = 0; b < sizeof(books) / sizeof(books[0]); b++) {
			double prev = -1.0;
			for (int n = 1; n <= 8; n++) {
				struct sc_input in;
				struct sc_result r;
				tb_refused(&in, rl_live_msg, books[b], slots[s]);
				in.in_cert.c_failed_attempts = n;
				cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
				cr_expect(r.r_risk >= 0.0 && r.r_risk <= 1.0, "risk %g", r.r_risk);
				cr_expect_geq(r.r_risk, prev - 1e-12,
					      "slot %lld, books %d: %d failures %g after %g",
					      (long long)slots[s], books[b], n, r.r_risk, prev);
				prev = r.r_risk;
				if (books[b] == 50)
					trusted_by_n[n] = r.r_risk;
			}
		}
		for (size_t b = 0; b < sizeof(books) / sizeof(books[0]); b++) {
			for (int n = 1; n <= 8 && books[b] >= 0 && books[b] < 50; n++) {
				struct sc_input in;
				struct sc_result r;
				tb_refused(&in, rl_live_msg, books[b], slots[s]);
				in.in_cert.c_failed_attempts = n;
				cr_assert_eq(sc_evaluate(&in, &r), SC_OK);
				cr_expect_geq(r.r_risk, trusted_by_n[n] - 1e-12,
					      "slot %lld, books %d, %d failures: doubted %g < "
					      "trusted %g",
					      (long long)slots[s], books[b], n, r.r_risk,
					      trusted_by_n[n]);
			}
		}
	}
}
