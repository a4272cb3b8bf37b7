/*
 * Tests of scoring/robust: median and MAD, the Poisson tail, decaying bounded frequency tables,
 * the circular hour histogram and the hourly rate ring.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "robust.h"

#define T0 1767225600 /* 2026-01-01T00:00:00Z, a whole hour and day */

Test(robust, median_and_mad)
{
	static const struct {
		const char *name;
		double v[7];
		size_t n;
		double med, mad;
	} cases[] = {
		{ "odd count", { 3, 1, 2 }, 3, 2, 1 },
		{ "even count", { 4, 1, 3, 2 }, 4, 2.5, 1 },
		{ "one outlier does not move it", { 1, 2, 3, 4, 1000 }, 5, 3, 1 },
		{ "all equal", { 5, 5, 5, 5 }, 4, 5, 0 },
		{ "single", { -7 }, 1, -7, 0 },
	};
	double tmp[7], med, mad;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(tmp, cases[i].v, sizeof(tmp));
		med = rb_median(tmp, cases[i].n);
		cr_expect_float_eq(med, cases[i].med, 1e-12, "%s: median %f", cases[i].name, med);
		memcpy(tmp, cases[i].v, sizeof(tmp));
		mad = rb_mad(tmp, cases[i].n, med); /* once: Criterion's macros may evaluate twice */
		cr_expect_float_eq(mad, cases[i].mad, 1e-12, "%s: MAD %f", cases[i].name, mad);
	}
	cr_expect(isnan(rb_median(tmp, 0)));
	cr_expect(isnan(rb_mad(tmp, 0, 0)));
}

Test(robust, poisson_tail)
{
	static const struct {
		double lambda;
		unsigned k;
		double want; /* reference values computed from the CDF */
	} cases[] = {
		{ 2, 0, 1.0 },
		{ 2, 1, 0.8646647167633873 },
		{ 2, 3, 0.3233235838169366 },
		{ 2, 10, 4.649807501e-05 },
		{ 0.1, 5, 7.6678e-08 },
		{ 50, 40, 0.935429631078867 },
	};
	double p, prev = 2;
	unsigned k;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = rb_poisson_sf(cases[i].lambda, cases[i].k);
		cr_expect(fabs(p - cases[i].want) <= 1e-3 * cases[i].want, "P(X>=%u | %g) = %g, want %g",
			  cases[i].k, cases[i].lambda, p, cases[i].want);
	}
	/* The tail only shrinks as k grows, and never leaves [0, 1]. */
	for (k = 0; k < 60; k++) {
		p = rb_poisson_sf(3.5, k);
		cr_assert(p >= 0 && p <= 1);
		cr_assert(p <= prev, "k %u", k);
		prev = p;
	}
	cr_expect_eq(rb_poisson_sf(0, 3), 0.0);
}

Test(robust, frequency_table_decays_and_evicts)
{
	struct rb_freq t;
	int64_t hl = 10 * 86400;
	char key[32];
	int i;

	memset(&t, 0, sizeof(t));
	cr_assert_eq(rb_freq_add(&t, "a", 4, T0, hl), 0);
	cr_assert_eq(rb_freq_add(&t, "b", 1, T0, hl), 0);
	cr_expect_float_eq(rb_freq_count(&t, "a", T0, hl), 4, 1e-12);
	cr_expect_float_eq(rb_freq_total(&t, T0, hl), 5, 1e-12);
	/* One half-life later everything counts half. */
	cr_expect_float_eq(rb_freq_count(&t, "a", T0 + hl, hl), 2, 1e-9);
	cr_expect_float_eq(rb_freq_total(&t, T0 + hl, hl), 2.5, 1e-9);
	cr_expect_eq(rb_freq_count(&t, "zzz", T0, hl), 0);
	/* A full table makes room by evicting its weakest key, never the strongest. */
	for (i = 0; i < RB_FREQ_CAP + 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		cr_assert_eq(rb_freq_add(&t, key, 1, T0 + 1, hl), 0);
	}
	cr_expect_eq(t.fq_n, RB_FREQ_CAP);
	cr_expect_gt(rb_freq_count(&t, "a", T0 + 1, hl), 3.9);
	cr_expect_eq(rb_freq_count(&t, "b", T0 + 1, hl), 0, "the weakest key stayed");
	snprintf(key, sizeof(key), "k%d", RB_FREQ_CAP + 4);
	cr_expect_float_eq(rb_freq_count(&t, key, T0 + 1, hl), 1, 1e-12, "the newest key is gone");
	/* The total keeps the evicted mass: shares stay honest. */
	cr_expect_gt(rb_freq_total(&t, T0 + 1, hl), RB_FREQ_CAP + 9.9);
	/* Events out of order do not decay the table backwards. */
	cr_assert_eq(rb_freq_add(&t, "a", 1, T0, hl), 0);
	cr_expect_gt(rb_freq_count(&t, "a", T0 + 1, hl), 4.9);
	rb_freq_clear(&t);
	cr_expect_eq(t.fq_n, 0);
	rb_freq_clear(NULL);
}

Test(robust, long_keys_are_cut_consistently)
{
	struct rb_freq t;
	char key[600];

	memset(&t, 0, sizeof(t));
	memset(key, 'x', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	cr_assert_eq(rb_freq_add(&t, key, 1, T0, 0), 0);
	cr_expect_eq(strlen(t.fq_key[0]), RB_KEY_MAX - 1);
	cr_expect_float_eq(rb_freq_count(&t, key, T0, 0), 1, 1e-12);
	cr_assert_eq(rb_freq_add(&t, key, 1, T0, 0), 0);
	cr_expect_eq(t.fq_n, 1);
	rb_freq_clear(&t);
}

Test(robust, ring_keeps_the_latest)
{
	struct rb_ring r;
	double med, mad;
	int i;

	memset(&r, 0, sizeof(r));
	rb_ring_stats(&r, &med, &mad);
	cr_expect(isnan(med) && isnan(mad));
	for (i = 0; i < RB_RING_CAP; i++)
		rb_ring_push(&r, 1000);
	for (i = 0; i < RB_RING_CAP; i++)
		rb_ring_push(&r, i % 2 ? 11 : 9);
	rb_ring_stats(&r, &med, &mad);
	cr_expect_float_eq(med, 10, 1e-12, "old samples leaked into the median: %f", med);
	cr_expect_float_eq(mad, 1, 1e-12);
}

Test(robust, hour_density_is_circular)
{
	static const struct {
		const char *name;
		int hour;
		int usual;
	} cases[] = {
		{ "23h, in the window", 23, 1 }, { "0h, in the window", 0, 1 },
		{ "1h, next to it", 1, 1 },       { "22h, next to it", 22, 1 },
		{ "12h, far away", 12, 0 },       { "3h, two hours out", 3, 0 },
	};
	struct rb_hours h;
	double d;
	size_t i;
	int k;

	memset(&h, 0, sizeof(h));
	cr_expect(isnan(rb_hours_density(&h, T0)));
	for (k = 0; k < 10; k++) {
		rb_hours_add(&h, T0 + 23 * 3600 + k, T0, 0);
		rb_hours_add(&h, T0 + k, T0, 0);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d = rb_hours_density(&h, T0 + 5 * 86400 + cases[i].hour * 3600 + 1234);
		cr_expect_eq(d > 1.0, cases[i].usual, "%s: density %f", cases[i].name, d);
		cr_expect_eq(d < 0.1, !cases[i].usual, "%s: density %f", cases[i].name, d);
	}
	/* Mass only at 23h: midnight's neighbour on the left is 23h, and 23h's on the right is 0h. */
	memset(&h, 0, sizeof(h));
	rb_hours_add(&h, T0 + 23 * 3600, T0, 0);
	cr_expect_float_eq(rb_hours_density(&h, T0 + 86400 + 600), 8.0, 1e-12);
	cr_expect_float_eq(rb_hours_density(&h, T0 + 22 * 3600), 8.0, 1e-12);
	cr_expect_eq(rb_hours_density(&h, T0 + 3600), 0.0);
	memset(&h, 0, sizeof(h));
	rb_hours_add(&h, T0, T0, 0);
	cr_expect_float_eq(rb_hours_density(&h, T0 + 23 * 3600), 8.0, 1e-12);
	cr_expect_eq(rb_hours_density(&h, T0 + 22 * 3600), 0.0);
}

Test(robust, hourly_rate)
{
	struct rb_rate r;
	uint32_t hours;
	double u;
	int h, k;

	memset(&r, 0, sizeof(r));
	cr_expect_eq(rb_rate_usual(&r, T0, &hours), 0);
	cr_expect_eq(hours, 0);
	/* 48 hours with 3 requests each, one hour with a burst of 60. */
	for (h = 0; h < 48; h++)
		for (k = 0; k < (h == 20 ? 60 : 3); k++)
			rb_rate_add(&r, T0 + h * 3600 + k);
	cr_expect_eq(rb_rate_current(&r, T0 + 47 * 3600 + 100), 3);
	cr_expect_eq(rb_rate_current(&r, T0 + 48 * 3600), 0);
	u = rb_rate_usual(&r, T0 + 47 * 3600 + 100, &hours);
	cr_expect_eq(hours, 47);
	cr_expect_float_eq(u, 3, 1e-9, "one past burst raised the usual rate to %f", u);
	/* Silent hours after the last request count as zeros. */
	u = rb_rate_usual(&r, T0 + 200 * 3600, &hours);
	cr_expect_eq(hours, RB_RATE_SLOTS - 1);
	cr_expect_lt(u, 1.0);
	/* A late request lands in its own hour, one older than a week is ignored. */
	rb_rate_add(&r, T0 + 46 * 3600 + 5);
	cr_expect_eq(rb_rate_current(&r, T0 + 47 * 3600), 3);
	rb_rate_add(&r, T0 - 30 * 86400);
	u = rb_rate_usual(&r, T0 + 47 * 3600 + 100, &hours);
	cr_expect_eq(hours, 47);
	cr_expect_float_eq(u, 3, 1e-9);
	/* A late request before the history began extends it. */
	rb_rate_add(&r, T0 - 5 * 3600);
	u = rb_rate_usual(&r, T0 + 47 * 3600 + 100, &hours);
	cr_expect_eq(hours, 52);
}

Test(robust, decay_factor)
{
	cr_expect_float_eq(rb_decay(100, 100), 0.5, 1e-12);
	cr_expect_float_eq(rb_decay(200, 100), 0.25, 1e-12);
	cr_expect_eq(rb_decay(0, 100), 1.0);
	cr_expect_eq(rb_decay(-5, 100), 1.0);
	cr_expect_eq(rb_decay(100, 0), 1.0);
}
