/* backoff: exact sequences with a scripted random source and clock; bounds with the real one. */
#include "backoff.h"
#include "cc_err.h"

#include <criterion/criterion.h>
#include <math.h>

struct script {
	double s_now;        /* fake clock, seconds */
	const double *s_u;   /* random values to hand out, in order */
	int s_i;             /* next one */
};

static double
script_clock(void *arg)
{
	return ((struct script *)arg)->s_now;
}

static double
script_rand(void *arg)
{
	struct script *s = arg;
	return s->s_u[s->s_i++];
}

struct step {
	double st_advance;  /* seconds added to the clock first */
	double st_u;        /* the random draw this step consumes */
	double st_want;     /* expected delay */
	unsigned st_fails;  /* expected failure count afterwards */
	int st_reset;       /* 1: call backoff_reset instead of backoff_next (st_u unused) */
};

struct bo_case {
	const char *name;
	struct backoff_opts opts;
	struct step steps[12];
	int nsteps;
};

#define FULL(base, cap, reset) {.bo_base = (base), .bo_cap = (cap), .bo_reset_after = (reset), \
	.bo_jitter = BACKOFF_FULL}
#define DECOR(base, cap, reset) {.bo_base = (base), .bo_cap = (cap), .bo_reset_after = (reset), \
	.bo_jitter = BACKOFF_DECORRELATED}

static const struct bo_case bo_cases[] = {
	{"full: doubling ceiling at the top of the range", FULL(1, 100, 0), {
		{0, 0.5, 0.5, 1, 0}, {0, 0.5, 1, 2, 0}, {0, 0.5, 2, 3, 0}, {0, 0.5, 4, 4, 0},
		{0, 0.5, 8, 5, 0}}, 5},
	{"full: zero draw waits zero", FULL(1, 100, 0), {
		{0, 0, 0, 1, 0}, {0, 0, 0, 2, 0}}, 2},
	{"full: ceiling stops at the cap", FULL(1, 10, 0), {
		{0, 0.5, 0.5, 1, 0}, {0, 0.5, 1, 2, 0}, {0, 0.5, 2, 3, 0}, {0, 0.5, 4, 4, 0},
		{0, 0.5, 5, 5, 0}, {0, 0.5, 5, 6, 0}, {0, 0.5, 5, 7, 0}}, 7},
	{"full: healthy period resets", FULL(2, 1000, 60), {
		{0, 0.5, 1, 1, 0}, {10, 0.5, 2, 2, 0}, {10, 0.5, 4, 3, 0}, {61, 0.5, 1, 1, 0},
		{1, 0.5, 2, 2, 0}}, 5},
	{"full: exactly the reset period does not reset", FULL(2, 1000, 60), {
		{0, 0.5, 1, 1, 0}, {60, 0.5, 2, 2, 0}, {60.001, 0.5, 1, 1, 0}}, 3},
	{"full: zero reset period never resets", FULL(1, 1000, 0), {
		{0, 0.5, 0.5, 1, 0}, {1e6, 0.5, 1, 2, 0}}, 2},
	{"full: explicit reset", FULL(1, 1000, 0), {
		{0, 0.5, 0.5, 1, 0}, {0, 0.5, 1, 2, 0}, {0, 0, 0, 0, 1}, {0, 0.5, 0.5, 1, 0}}, 4},
	{"decorrelated: grows from base by up to three times", DECOR(1, 1000, 0), {
		{0, 0, 1, 1, 0}, {0, 1.0 - 0x1p-30, 3, 2, 0}, {0, 0.5, 5, 3, 0},
		{0, 0.25, 4.5, 4, 0}}, 4},
	{"decorrelated: never below base", DECOR(5, 1000, 0), {
		{0, 0, 5, 1, 0}, {0, 0, 5, 2, 0}, {0, 0, 5, 3, 0}}, 3},
	{"decorrelated: capped", DECOR(1, 4, 0), {
		{0, 0.5, 2, 1, 0}, {0, 0.999, 3.997, 2, 0}, {0, 0.999, 3.997, 3, 0}}, 3},
	{"decorrelated: healthy period resets the growth", DECOR(1, 1000, 30), {
		{0, 0.5, 2, 1, 0}, {1, 0.5, 3.5, 2, 0}, {31, 0.5, 2, 1, 0}}, 3},
	{"out-of-range draws are clamped", FULL(1, 100, 0), {
		{0, -3, 0, 1, 0}, {0, NAN, 0, 2, 0}}, 2},
};

Test(backoff, table)
{
	for (size_t c = 0; c < sizeof bo_cases / sizeof bo_cases[0]; c++) {
		const struct bo_case *tc = &bo_cases[c];
		double us[12];
		for (int i = 0; i < tc->nsteps; i++)
			us[i] = tc->steps[i].st_u;
		struct script sc = {.s_now = 500, .s_u = us};
		struct backoff_opts o = tc->opts;
		o.bo_clock = script_clock;
		o.bo_clock_arg = &sc;
		o.bo_rand = script_rand;
		o.bo_rand_arg = &sc;
		struct backoff b;
		cr_assert(backoff_init(&b, &o) == CC_OK, "%s: init", tc->name);
		for (int i = 0; i < tc->nsteps; i++) {
			const struct step *st = &tc->steps[i];
			sc.s_now += st->st_advance;
			sc.s_i = i;
			if (st->st_reset) {
				backoff_reset(&b);
			} else {
				double d = backoff_next(&b);
				cr_expect(fabs(d - st->st_want) < 1e-6,
				    "%s step %d: delay %.9f, want %.9f",
				    tc->name, i, d, st->st_want);
			}
			cr_expect(backoff_failures(&b) == st->st_fails,
			    "%s step %d: failures %u, want %u",
			    tc->name, i, backoff_failures(&b), st->st_fails);
		}
	}
}

struct bad_case {
	const char *name;
	struct backoff_opts opts;
};

static const struct bad_case bad_cases[] = {
	{"zero base", FULL(0, 10, 0)},
	{"negative base", FULL(-1, 10, 0)},
	{"cap below base", FULL(5, 4, 0)},
	{"negative reset", DECOR(1, 10, -1)},
	{"infinite cap", FULL(1, INFINITY, 0)},
	{"nan base", DECOR(NAN, 10, 0)},
	{"unknown jitter", {.bo_base = 1, .bo_cap = 2, .bo_jitter = (enum backoff_jitter)7}},
};

Test(backoff, init_rejects_bad_options)
{
	for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++) {
		struct backoff b;
		cr_expect(backoff_init(&b, &bad_cases[c].opts) == CC_ERR_INVAL, "%s accepted",
		    bad_cases[c].name);
	}
	struct backoff b;
	struct backoff_opts ok = FULL(1, 1, 0);
	cr_expect(backoff_init(&b, &ok) == CC_OK, "cap equal to base refused");
}

/* With the built-in generator: every delay inside its range, the ranges are actually used. */
Test(backoff, bounds_with_real_random)
{
	for (int style = 0; style < 2; style++) {
		struct backoff_opts o = style == 0 ? (struct backoff_opts)FULL(0.5, 30, 0)
		                                   : (struct backoff_opts)DECOR(0.5, 30, 0);
		struct backoff b;
		cr_assert(backoff_init(&b, &o) == CC_OK);
		double lo = INFINITY, hi = 0, prev = 0.5;
		int distinct = 0;
		for (int i = 0; i < 20000; i++) {
			if (i % 50 == 0) {
				backoff_reset(&b);
				prev = 0.5;
			}
			unsigned n = backoff_failures(&b);
			double d = backoff_next(&b);
			double top = style == 0 ? fmin(30, ldexp(0.5, (int)n)) : fmin(30, 3 * prev);
			double bottom = style == 0 ? 0 : 0.5;
			cr_assert(d >= bottom && d <= top,
			    "style %d draw %d: %.6f outside [%.6f, %.6f]",
			    style, i, d, bottom, top);
			if (d != prev)
				distinct++;
			lo = fmin(lo, d);
			hi = fmax(hi, d);
			prev = d;
		}
		/* Loose: only a broken generator would fail these. */
		cr_expect(hi > 25, "style %d: never came near the cap (max %.3f)", style, hi);
		cr_expect(lo < (style == 0 ? 0.1 : 0.6),
		    "style %d: never came near the floor (min %.3f)",
		    style, lo);
		cr_expect(distinct > 19000, "style %d: draws repeat (%d distinct)", style,
		    distinct);
	}
}

/* Two backoffs started together must not retry in lock-step. */
Test(backoff, independent_generators_diverge)
{
	struct backoff_opts o = DECOR(1, 1000, 0);
	struct backoff a, b;
	cr_assert(backoff_init(&a, &o) == CC_OK);
	cr_assert(backoff_init(&b, &o) == CC_OK);
	int same = 0;
	for (int i = 0; i < 10; i++)
		same += backoff_next(&a) == backoff_next(&b);
	cr_expect(same < 10, "two backoffs produced the same sequence");
}

Test(backoff, uniform_in_unit_interval)
{
	struct backoff_opts o = FULL(1, 2, 0);
	struct backoff b;
	cr_assert(backoff_init(&b, &o) == CC_OK);
	double sum = 0;
	for (int i = 0; i < 10000; i++) {
		double u = backoff_uniform(&b);
		cr_assert(u >= 0 && u < 1, "draw %d: %.17g", i, u);
		sum += u;
	}
	cr_expect(sum > 4500 && sum < 5500, "mean %.4f far from 0.5", sum / 10000);
}
