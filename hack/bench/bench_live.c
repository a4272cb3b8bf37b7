/*
 * bench_live: the live page's feed (controller/live.h) at N certificates: turning scored rows
 * into messages. The first state (a snapshot), a state where 1% of the rows changed (snapshot and
 * update), and one where nothing shown changed (no message), each with the sizes of what a page
 * receives. The scoring itself is recon_status's, measured by the /status benchmark.
 *
 * usage: bench_live [CERTIFICATES...]   (default: 10000)
 *
 * Timings are CPU time of the thread (the machine is shared) and a report, not a pass/fail.
 */
#include "live.h"
#include "log.h"
#include "status.h"
#include "xalloc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOW 1796187600LL

static double
bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
none(void *arg, struct status_rows *out)
{
	(void)arg;
	memset(out, 0, sizeof *out);
}

/* Rows as a real cluster's look: names, an issuer, a reason sentence, some last actions. */
static void
rows(size_t n, size_t changed, struct status_rows *out)
{
	out->sr_n = n;
	out->sr_rows = xcalloc(n, sizeof *out->sr_rows);
	for (size_t i = 0; i < n; i++) {
		struct status_row *r = &out->sr_rows[i];
		r->sr_ns = xasprintf("team-%03zu", i % 200);
		r->sr_name = xasprintf("service-%06zu-tls", i);
		r->sr_issuer_kind = xstrdup("ClusterIssuer");
		r->sr_issuer_name = xstrdup(i % 3 ? "letsencrypt-prod" : "internal-ca");
		r->sr_ready = xstrdup("True");
		r->sr_not_after = NOW + 86400 * (int64_t)(10 + i % 80);
		r->sr_risk_value = (double)(i % 1000) / 20000.0 + (i < changed ? 0.3 : 0.0);
		r->sr_risk = r->sr_risk_value >= 0.5	  ? STATUS_RISK_HIGH
			     : r->sr_risk_value >= 0.01 ? STATUS_RISK_MEDIUM
							  : STATUS_RISK_LOW;
		r->sr_risk_reasons = xstrdup("issuer failure rate 1.2% (90% CI 0.4-3.1%) from 212.0 "
					     "recent outcomes; 14 attempts possible before expiry");
		r->sr_predicted_failure = i % 10 ? 0 : NOW + 3600 * (int64_t)(i % 97);
		if (i % 50 == 0)
			r->sr_last_action = xstrdup("RenewBeforeAdjusted 2026-12-01T10:00:00Z: "
						    "spec.renewBefore 720h");
	}
}

static void
run(size_t n)
{
	struct live_opts o = {none, NULL, NULL, NULL, 0};
	struct live *l = live_new(&o);
	struct status_rows rs;
	size_t len = 0;
	uint64_t seq = 0;

	rows(n, 0, &rs);
	double t0 = bench_now();
	int made = live_publish(l, &rs, NOW);
	double t_first = bench_now() - t0;
	unsigned char *snap = live_message(l, 0, 0, &len, &seq);
	size_t snap_len = len;
	free(snap);

	rows(n, n / 100, &rs);
	t0 = bench_now();
	made += live_publish(l, &rs, NOW + 2);
	double t_change = bench_now() - t0;
	unsigned char *upd = live_message(l, 1, 0, &len, &seq);
	size_t upd_len = upd ? len : 0;
	free(upd);

	rows(n, n / 100, &rs);
	t0 = bench_now();
	made += live_publish(l, &rs, NOW + 4);
	double t_same = bench_now() - t0;

	printf("live feed: %zu certificates (%d states made of 3 steps)\n", n, made);
	size_t shown = n > LIVE_ROWS_MAX ? LIVE_ROWS_MAX : n;
	printf("  first state:        %8.1f ms, snapshot %zu bytes, %zu rows (%.0f bytes a row)\n",
	    t_first * 1e3, snap_len, shown, (double)snap_len / (double)shown);
	printf("  1%% of rows changed: %8.1f ms, update %zu bytes\n", t_change * 1e3, upd_len);
	printf("  nothing changed:    %8.1f ms, no message\n", t_same * 1e3);
	live_free(l);
}

int
main(int argc, char **argv)
{
	log_set_fd(open("/dev/null", O_WRONLY));
	if (argc < 2) {
		run(10000);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		long n = strtol(argv[i], NULL, 10);
		if (n <= 0) {
			fprintf(stderr, "bench_live: \"%s\" is not a number of certificates\n", argv[i]);
			return 2;
		}
		run((size_t)n);
	}
	return 0;
}
