/*
 * Tests of scoring/budgetq (who gets a registered domain's freed ACME slots) and of how
 * sc_evaluate reads its projection (sc_budget.bd_queue, bd_slot). Each table case is named;
 * each comparison is tried on both sides (one slot short / one spare, one second before and
 * after a window edge or a deadline).
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "budgetq.h"
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
