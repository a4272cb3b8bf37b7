/* Token bucket: scripted steps against a fake clock; no sleeping, no timing assertions. */
#include "ratelimit.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>

struct fake_clock {
	double fc_now; /* seconds */
};

static double
fake_now(void *arg)
{
	return ((struct fake_clock *)arg)->fc_now;
}

enum op { OP_END = 0, OP_RESERVE, OP_TRY, OP_TOKENS };

struct step {
	double st_advance; /* seconds added to the clock before the op */
	enum op st_op;
	double st_want;    /* wait (RESERVE, TRY when not taken), tokens (TOKENS) */
	int st_taken;      /* TRY: expected result */
};

struct rl_case {
	const char *name;
	double qps;
	int burst;
	struct step steps[12];
};

static const struct rl_case rl_cases[] = {
	{"burst is free, then paced", 10, 3, {
		{0, OP_RESERVE, 0, 0}, {0, OP_RESERVE, 0, 0}, {0, OP_RESERVE, 0, 0},
		{0, OP_RESERVE, 0.1, 0}, {0, OP_RESERVE, 0.2, 0}, {0, OP_END, 0, 0}}},
	{"refill restores tokens", 10, 2, {
		{0, OP_RESERVE, 0, 0}, {0, OP_RESERVE, 0, 0}, {0, OP_TOKENS, 0, 0},
		{0.1, OP_TOKENS, 1, 0}, {10, OP_TOKENS, 2, 0}, {0, OP_END, 0, 0}}},
	{"tokens never exceed burst", 100, 5, {
		{1000, OP_TOKENS, 5, 0}, {0, OP_END, 0, 0}}},
	{"try fails when empty and says how long", 2, 1, {
		{0, OP_TRY, 0, 1}, {0, OP_TRY, 0.5, 0}, {0.25, OP_TRY, 0.25, 0},
		{0.25, OP_TRY, 0, 1}, {0, OP_END, 0, 0}}},
	{"reservations queue up in order", 1, 1, {
		{0, OP_RESERVE, 0, 0}, {0, OP_RESERVE, 1, 0}, {0, OP_RESERVE, 2, 0},
		{0.5, OP_RESERVE, 2.5, 0}, {0, OP_END, 0, 0}}},
	{"try does not borrow", 1, 1, {
		{0, OP_RESERVE, 0, 0}, {0, OP_TRY, 1, 0}, {0, OP_TRY, 1, 0},
		{0, OP_TOKENS, 0, 0}, {0, OP_END, 0, 0}}},
	{"clock stepping back adds nothing", 10, 1, {
		{0, OP_RESERVE, 0, 0}, {-5, OP_TOKENS, 0, 0}, {5.05, OP_TOKENS, 0.5, 0},
		{0, OP_END, 0, 0}}},
	{"unlimited when qps is zero", 0, 1, {
		{0, OP_RESERVE, 0, 0}, {0, OP_RESERVE, 0, 0}, {0, OP_TRY, 0, 1},
		{0, OP_TRY, 0, 1}, {0, OP_END, 0, 0}}},
	{"burst below one acts as one", 4, 0, {
		{0, OP_TRY, 0, 1}, {0, OP_TRY, 0.25, 0}, {0, OP_END, 0, 0}}},
};

static void
run_case(const struct rl_case *tc)
{
	struct fake_clock fc = {.fc_now = 1000.0};
	struct rl_bucket *b = rl_new(tc->qps, tc->burst, fake_now, &fc);
	for (int i = 0; tc->steps[i].st_op != OP_END; i++) {
		const struct step *st = &tc->steps[i];
		fc.fc_now += st->st_advance;
		double got = 0;
		switch (st->st_op) {
		case OP_RESERVE:
			got = rl_reserve(b);
			cr_expect(fabs(got - st->st_want) < 1e-9, "%s step %d: wait %.6f, want %.6f",
			    tc->name, i, got, st->st_want);
			break;
		case OP_TRY: {
			double wait = -1;
			int taken = rl_try_take(b, &wait);
			cr_expect(taken == st->st_taken, "%s step %d: taken %d, want %d", tc->name, i,
			    taken, st->st_taken);
			if (!taken)
				cr_expect(fabs(wait - st->st_want) < 1e-9, "%s step %d: wait %.6f, want %.6f",
				    tc->name, i, wait, st->st_want);
			break;
		}
		case OP_TOKENS:
			got = rl_tokens(b);
			cr_expect(fabs(got - st->st_want) < 1e-9, "%s step %d: tokens %.6f, want %.6f",
			    tc->name, i, got, st->st_want);
			break;
		case OP_END:
			break;
		}
	}
	rl_free(b);
}

Test(ratelimit, table)
{
	for (size_t i = 0; i < sizeof rl_cases / sizeof rl_cases[0]; i++)
		run_case(&rl_cases[i]);
}

/* The boundary both ways: just before the refill completes no token, at it one. */
Test(ratelimit, refill_boundary_both_directions)
{
	struct fake_clock fc = {.fc_now = 0};
	struct rl_bucket *b = rl_new(4, 1, fake_now, &fc);
	cr_assert(rl_try_take(b, NULL));
	fc.fc_now = 0.2499;
	cr_expect(!rl_try_take(b, NULL), "a token appeared before 1/qps elapsed");
	fc.fc_now = 0.25;
	cr_expect(rl_try_take(b, NULL), "no token after 1/qps elapsed");
	rl_free(b);
}

struct hammer {
	struct rl_bucket *h_b;
	int h_n;
	double h_sum;
};

static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < h->h_n; i++)
		h->h_sum += rl_reserve(h->h_b);
	return NULL;
}

/*
 * With a frozen clock, N reservations from several threads must hand out exactly the waits
 * 0 (burst times) then 1/qps, 2/qps, ...: no token lost or given twice under contention.
 */
Test(ratelimit, concurrent_reservations_account_exactly)
{
	struct fake_clock fc = {.fc_now = 5};
	struct rl_bucket *b = rl_new(10, 4, fake_now, &fc);
	struct hammer h[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){.h_b = b, .h_n = 25};
		pthread_create(&t[i], NULL, hammer_main, &h[i]);
	}
	double sum = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		sum += h[i].h_sum;
	}
	/* 100 reservations, burst 4: waits are 0.1 * (1 + 2 + ... + 96). */
	double want = 0.1 * 96.0 * 97.0 / 2.0;
	cr_expect(fabs(sum - want) < 1e-6, "sum of waits %.6f, want %.6f", sum, want);
	cr_expect(fabs(rl_tokens(b) + 96.0) < 1e-9, "tokens %.3f", rl_tokens(b));
	rl_free(b);
}

Test(ratelimit, free_null)
{
	rl_free(NULL);
}

Test(ratelimit, real_clock_starts_full)
{
	struct rl_bucket *b = rl_new(1, 3, NULL, NULL);
	cr_expect(rl_try_take(b, NULL));
	cr_expect(rl_try_take(b, NULL));
	cr_expect(rl_try_take(b, NULL));
	rl_free(b);
}
