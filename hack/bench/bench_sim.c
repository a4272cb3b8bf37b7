/*
 * bench_sim: simulator throughput. 100k certificates over 90 simulated days, once with the
 * cert-manager default policy (no forecaster) and once with the certcast policy, on a fleet with
 * transient failures and an outage so that backoff and evaluation paths run. Prints
 * certificate-days per second and events per second; a report, never a pass/fail.
 *
 *   bench_sim [CERTIFICATES [DAYS]]
 */
#include "cc_err.h"
#include "sim_engine.h"
#include "sim_fault.h"
#include "sim_scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
bench_arg(const char *s, long dflt, long lo, long hi)
{
	char *end = NULL;
	if (s == NULL)
		return dflt;
	long v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "bench_sim: '%s' must be an integer in [%ld, %ld]\n", s, lo, hi);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	long certs = bench_arg(argc > 1 ? argv[1] : NULL, 100000, 1, 1000000);
	long days = bench_arg(argc > 2 ? argv[2] : NULL, 90, 1, 3650);
	char yaml[2048];
	snprintf(yaml, sizeof(yaml),
	    "name: bench\nseed: 1\nduration: %ldd\n"
	    "issuers:\n"
	    "  - {name: le, acme: true, ari: true, failure_probability: 0.02}\n"
	    "  - {name: backup, acme: true, failure_probability: 0.02}\n"
	    "certificates:\n"
	    "  - {group: short, count: %ld, issuer: le, fallback_issuer: backup, lifetime: 47d,"
	    " domains: 5000}\n"
	    "  - {group: long, count: %ld, issuer: le, lifetime: 90d, domains: 5000}\n"
	    "faults:\n"
	    "  - {type: outage, issuer: le, start: 30d, duration: 36h}\n",
	    days, certs / 2, certs - certs / 2);
	struct scn_scenario *s = NULL;
	struct scn_error err;
	if (scn_load_string(yaml, strlen(yaml), "bench", &s, &err) != CC_OK) {
		fprintf(stderr, "bench_sim: %s\n", err.e_msg);
		return 1;
	}
	struct sf_plan *plan = NULL;
	sf_plan_new(s, &plan);
	printf("bench_sim: %ld certificates, %ld simulated days\n", certs, days);
	const enum scn_policy pols[] = {SCN_POL_CERT_MANAGER, SCN_POL_CERTCAST};
	for (size_t i = 0; i < 2; i++) {
		struct se_engine *e = NULL;
		double t0 = bench_now();
		se_new(s, plan, pols[i], 0, &e);
		if (se_run(e) != CC_OK) {
			fprintf(stderr, "bench_sim: run failed\n");
			return 1;
		}
		double secs = bench_now() - t0;
		const struct se_metrics *m = se_metrics(e);
		printf("  %-12s %8.2f s  %12.0f certificate-days/s  %10.0f events/s  (%llu events, "
		       "%llu attempts, %.0f expired hours)\n",
		    scn_policy_name(pols[i]), secs, m->m_cert_days / secs, (double)m->m_events / secs,
		    (unsigned long long)m->m_events, (unsigned long long)m->m_attempts,
		    m->m_expired_s / 3600.0);
		se_free(e);
	}
	sf_plan_free(plan);
	scn_free(s);
	return 0;
}
