/* restarts: cumulative restartCount samples -> restarts in the last hour. */
#include <criterion/criterion.h>

#include "restarts.h"

#define T0 1742400000LL /* an arbitrary "now" */

/* Before an hour of samples exists, a pod that started long ago shows only what grows. */
Test(restarts, growth_without_an_hour_of_samples)
{
	struct rst_table *t = rst_new();
	int64_t start = T0 - 86400;
	rst_observe(t, "a", 5, T0 - 7200, start, T0);
	cr_expect_eq(rst_last_hour(t, T0), 0, "5 old restarts are not in the hour");
	rst_observe(t, "a", 7, T0 + 600, start, T0 + 630);
	cr_expect_eq(rst_last_hour(t, T0 + 630), 2);
	rst_free(t);
}

/* No sample an hour old, a termination within the hour: at least one restart. */
Test(restarts, recent_termination_counts_once)
{
	struct rst_table *t = rst_new();
	rst_observe(t, "a", 9, T0 - 300, T0 - 86400, T0);
	cr_expect_eq(rst_last_hour(t, T0), 1);
	/* the same termination more than an hour later is no longer in the hour */
	rst_observe(t, "a", 9, T0 - 300, T0 - 86400, T0 + 3600);
	cr_expect_eq(rst_last_hour(t, T0 + 3600), 0);
	rst_free(t);
}

/* A pod that started within the hour: every restart it has is in the hour. */
Test(restarts, young_pod_counts_all)
{
	struct rst_table *t = rst_new();
	rst_observe(t, "a", 4, T0 - 60, T0 - 1800, T0);
	cr_expect_eq(rst_last_hour(t, T0), 4);
	/* the same pod, once its start is more than an hour back and no restart since */
	for (int64_t now = T0 + 60; now <= T0 + 3700; now += 60)
		rst_observe(t, "a", 4, T0 - 60, T0 - 1800, now);
	cr_expect_eq(rst_last_hour(t, T0 + 3700), 0);
	rst_free(t);
}

/* With samples an hour old, the count is exactly the growth since then. */
Test(restarts, sample_an_hour_old)
{
	struct rst_table *t = rst_new();
	int64_t start = T0 - 86400;
	int32_t count = 10;
	/* one restart every 20 minutes for two hours, sampled every 30 s */
	for (int64_t now = T0; now <= T0 + 7200; now += 30) {
		if (now > T0 && (now - T0) % 1200 == 0)
			count++;
		rst_observe(t, "a", count, now, start, now);
	}
	/* the window starts at +3600 (that sample already holds its restart): +4800, +6000, +7200 */
	cr_expect_eq(rst_last_hour(t, T0 + 7200), 3);
	rst_free(t);
}

/* A deleted pod's restarts still count within the hour, then are forgotten. */
Test(restarts, gone_pod)
{
	struct rst_table *t = rst_new();
	int64_t start = T0 - 86400;
	rst_observe(t, "a", 1, 0, start, T0);
	rst_observe(t, "a", 3, T0 + 100, start, T0 + 120);
	rst_observe(t, "b", 0, 0, T0 + 130, T0 + 130);
	const char *present[] = {"b"};
	rst_present(t, present, 1, T0 + 150);
	cr_expect_eq(rst_last_hour(t, T0 + 150), 2);
	rst_prune(t, T0 + 150);
	cr_expect_eq(rst_count(t), 2, "a gone pod stays while its last hour counts");
	cr_expect_eq(rst_last_hour(t, T0 + 120 + 3601), 0);
	rst_prune(t, T0 + 120 + 3601);
	cr_expect_eq(rst_count(t), 1);
	rst_free(t);
}

/* Two pods add up; a count going down (never for one UID) restarts that pod's history. */
Test(restarts, sum_and_bad_counts)
{
	struct rst_table *t = rst_new();
	int64_t start = T0 - 86400;
	rst_observe(t, "a", 2, 0, start, T0);
	rst_observe(t, "b", 5, 0, start, T0);
	rst_observe(t, "a", 3, 0, start, T0 + 60);
	rst_observe(t, "b", 7, 0, start, T0 + 60);
	cr_expect_eq(rst_last_hour(t, T0 + 60), 3);
	rst_observe(t, "b", 1, 0, start, T0 + 120);
	cr_expect_eq(rst_last_hour(t, T0 + 120), 1, "b starts again from 1");
	rst_observe(t, "", 9, 0, start, T0);
	rst_observe(t, NULL, 9, 0, start, T0);
	rst_observe(t, "c", -1, 0, start, T0);
	cr_expect_eq(rst_count(t), 2, "no UID or a negative count is ignored");
	rst_free(t);
}
