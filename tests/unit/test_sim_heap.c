/* Event heap: order by time, FIFO among equal times, growth, and the rand helpers it relies on. */
#include "sim_heap.h"
#include "sim_rand.h"

#include <criterion/criterion.h>

Test(sim_heap, pops_in_time_order_with_fifo_ties)
{
	struct sh_heap h;
	struct sh_event ev;
	sh_init(&h);
	/* 5000 events with many equal times; cert carries the push order within a time. */
	enum { N = 5000 };
	uint32_t seen[50] = {0};
	for (uint32_t i = 0; i < N; i++) {
		int64_t t = (int64_t)(rn_hash(1, 99, i, 0) % 50);
		sh_push(&h, t, 0, i, 0);
	}
	cr_assert_eq(sh_len(&h), N);
	int64_t last_t = -1;
	uint32_t last_c = 0;
	for (uint32_t i = 0; i < N; i++) {
		cr_assert_not_null(sh_peek(&h));
		int64_t peek = sh_peek(&h)->ev_time;
		sh_pop(&h, &ev);
		cr_assert_eq(ev.ev_time, peek);
		cr_assert_geq(ev.ev_time, last_t, "time went backwards at pop %u", i);
		if (ev.ev_time == last_t)
			cr_assert_gt(ev.ev_cert, last_c, "equal times popped out of push order");
		last_t = ev.ev_time;
		last_c = ev.ev_cert;
		seen[ev.ev_time]++;
	}
	cr_expect_eq(sh_len(&h), 0);
	cr_expect_null(sh_peek(&h));
	uint32_t total = 0;
	for (int i = 0; i < 50; i++)
		total += seen[i];
	cr_expect_eq(total, N, "every event came out once");
	sh_free(&h);
	sh_free(NULL);
}

Test(sim_heap, carries_fields_and_interleaves)
{
	struct sh_heap h;
	struct sh_event ev;
	sh_init(&h);
	sh_push(&h, 30, 2, 7, 11);
	sh_push(&h, 10, 1, 8, 12);
	sh_pop(&h, &ev);
	cr_expect_eq(ev.ev_time, 10);
	cr_expect_eq(ev.ev_kind, 1u);
	cr_expect_eq(ev.ev_cert, 8u);
	cr_expect_eq(ev.ev_gen, 12u);
	sh_push(&h, 20, 3, 9, 13);
	sh_pop(&h, &ev);
	cr_expect_eq(ev.ev_time, 20, "an event pushed after a pop still sorts first");
	sh_pop(&h, &ev);
	cr_expect_eq(ev.ev_time, 30);
	cr_expect_eq(ev.ev_kind, 2u);
	sh_free(&h);
}

Test(sim_rand, draws_are_pure_and_separated)
{
	cr_expect_eq(rn_hash(1, 2, 3, 4), rn_hash(1, 2, 3, 4));
	cr_expect_neq(rn_hash(1, 2, 3, 4), rn_hash(2, 2, 3, 4), "seed matters");
	cr_expect_neq(rn_hash(1, 2, 3, 4), rn_hash(1, 3, 3, 4), "stream matters");
	cr_expect_neq(rn_hash(1, 2, 3, 4), rn_hash(1, 2, 4, 3), "argument order matters");
	double sum = 0;
	int below = 0;
	for (int i = 0; i < 20000; i++) {
		double u = rn_unit(5, RN_TRANSIENT, (uint64_t)i, 0);
		cr_assert(u >= 0 && u < 1);
		sum += u;
		below += u < 0.1;
	}
	cr_expect(sum / 20000 > 0.48 && sum / 20000 < 0.52, "mean %f", sum / 20000);
	cr_expect(below > 1800 && below < 2200, "P(u < 0.1) off: %d of 20000", below);
}

Test(sim_rand, exponential_mean)
{
	struct rn_seq q, q2;
	rn_seq_init(&q, 9, RN_OUTAGES, 0);
	rn_seq_init(&q2, 9, RN_OUTAGES, 0);
	double sum = 0;
	for (int i = 0; i < 20000; i++) {
		double x = rn_seq_exp(&q, 100.0);
		cr_assert(x >= 0);
		cr_assert_eq(x, rn_seq_exp(&q2, 100.0), "same seed, same sequence");
		sum += x;
	}
	cr_expect(sum / 20000 > 95 && sum / 20000 < 105, "mean %f", sum / 20000);
}
