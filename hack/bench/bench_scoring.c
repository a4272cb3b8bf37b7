/*
 * bench_scoring: the cost of sc_evaluate() per certificate over a synthetic fleet of 100k
 * certificates (mixed lifetimes, 8 issuers with CertificateRequest history, a tenth of the
 * certificates failing with assorted classes, some with live signals, renewal windows and
 * ARI). Issuer estimates are computed once per issuer, as the controller does.
 *
 * A report, never a pass/fail: machines are shared, so compare the ratios printed by one run.
 * Usage: bench_scoring [certificates] (default 100000).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scoring.h"

#define BS_ISSUERS 8
#define BS_HISTORY 400
#define BS_NOW 1767225600LL
#define BS_D 86400LL

static uint64_t
bs_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double
bs_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *const bs_msgs[] = {
	"429 urn:ietf:params:acme:error:rateLimited: Error creating new order :: too many "
	"certificates already issued for \"example.com\". Retry after 2026-01-05T02:00:00Z",
	"Error accepting authorization: acme: authorization error for example.com: 400 "
	"urn:ietf:params:acme:error:dns: DNS problem: NXDOMAIN looking up TXT",
	"503 urn:ietf:params:acme:error:serverInternal: The service is down for maintenance",
	"400 urn:ietf:params:acme:error:caa: CAA record for example.com prevents issuance",
	"400 urn:ietf:params:acme:error:badNonce: JWS has an invalid anti-replay nonce",
	"the flux capacitor is out of sync",
};
#define BS_NMSGS (sizeof(bs_msgs) / sizeof(bs_msgs[0]))

struct bs_cert {
	struct sc_cert b_cert;   /* the certificate */
	int b_issuer;            /* index of its issuer */
	int b_signals;           /* has live signals */
	int b_ari;               /* has an ARI window */
	int b_failing;           /* in a failure streak */
};

int
main(int argc, char **argv)
{
	long n = 100000;
	uint64_t seed = 7;
	struct sc_request *hist;
	struct sc_issuer issuers[BS_ISSUERS];
	struct sc_issuer_estimate est[BS_ISSUERS];
	struct bs_cert *certs;
	struct sc_result *res;
	struct sc_config cfg;
	struct sc_window win = {"0 9 * * MON-FRI", 4 * 3600, 0};
	double t0, t1, t_est, sum_risk = 0, t_fail = 0, t_ok = 0;
	long n_fail = 0, n_ok = 0, actions = 0, levels[4] = {0};
	char name[64];

	if (argc > 1) {
		char *end;
		n = strtol(argv[1], &end, 10);
		if (*end != '\0' || n <= 0 || n > 10000000) {
			fprintf(stderr, "usage: %s [certificates]\n", argv[0]);
			return 2;
		}
	}
	hist = calloc((size_t)BS_ISSUERS * BS_HISTORY, sizeof(*hist));
	certs = calloc((size_t)n, sizeof(*certs));
	res = malloc(sizeof(*res));
	if (hist == NULL || certs == NULL || res == NULL) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	sc_config_default(&cfg);

	/* issuers: recent outcomes; two of them in trouble */
	for (int i = 0; i < BS_ISSUERS; i++) {
		double fail_p = i == 0 ? 0.6 : i == 1 ? 0.2 : 0.02;
		memset(&issuers[i], 0, sizeof(issuers[i]));
		issuers[i].is_kind = "ClusterIssuer";
		snprintf(name, sizeof(name), "issuer-%d", i);
		issuers[i].is_name = strdup(name);
		issuers[i].is_history = &hist[i * BS_HISTORY];
		issuers[i].is_nhistory = BS_HISTORY;
		for (int k = 0; k < BS_HISTORY; k++) {
			struct sc_request *r = &hist[i * BS_HISTORY + k];
			r->rq_done = BS_NOW - (int64_t)(bs_next(&seed) % (14 * BS_D));
			r->rq_time = r->rq_done - 60;
			r->rq_outcome = (double)(bs_next(&seed) % 1000) / 1000.0 < fail_p
						? SC_OUT_FAILED
						: SC_OUT_ISSUED;
			r->rq_reason = r->rq_outcome == SC_OUT_FAILED ? "Failed" : "Issued";
			r->rq_message = r->rq_outcome == SC_OUT_FAILED ? bs_msgs[i % BS_NMSGS] : NULL;
		}
	}

	/* the fleet */
	for (long c = 0; c < n; c++) {
		struct bs_cert *b = &certs[c];
		const int64_t lifetimes[] = {160 * 3600, 47 * BS_D, 90 * BS_D, 200 * BS_D, 398 * BS_D};
		int64_t life = lifetimes[bs_next(&seed) % 5];
		struct sc_cert *ct = &b->b_cert;
		b->b_issuer = (int)(bs_next(&seed) % BS_ISSUERS);
		ct->c_namespace = "bench";
		snprintf(name, sizeof(name), "cert-%ld", c);
		ct->c_name = strdup(name);
		ct->c_issuer_kind = "ClusterIssuer";
		ct->c_issuer_name = issuers[b->b_issuer].is_name;
		ct->c_not_before = BS_NOW - (int64_t)(bs_next(&seed) % (uint64_t)life);
		ct->c_not_after = ct->c_not_before + life;
		if (bs_next(&seed) % 4 == 0) {
			ct->c_spec.rs_renew_before_set = 1;
			ct->c_spec.rs_renew_before = life / 4;
		}
		if (bs_next(&seed) % 20 == 0) {
			ct->c_spec.rs_policy = SC_RENEWAL_RENEW_BEFORE;
			ct->c_spec.rs_windows = &win;
			ct->c_spec.rs_nwindows = 1;
		}
		if (bs_next(&seed) % 10 == 0) {
			int64_t ago = (int64_t)(bs_next(&seed) % (2 * BS_D)) + 60;
			b->b_failing = 1;
			ct->c_failed_attempts = (int32_t)(1 + bs_next(&seed) % 8);
			ct->c_last_failure = BS_NOW - ago;
			ct->c_issuing.cd_status = SC_FALSE;
			ct->c_issuing.cd_reason = "Failed";
			ct->c_issuing.cd_message = bs_msgs[bs_next(&seed) % BS_NMSGS];
			ct->c_issuing.cd_time = BS_NOW - ago;
		}
		b->b_signals = bs_next(&seed) % 3 == 0;
		b->b_ari = bs_next(&seed) % 50 == 0;
	}

	/* issuer estimates once per issuer, as the controller caches them */
	t0 = bs_now_s();
	for (int i = 0; i < BS_ISSUERS; i++)
		sc_issuer_estimate(&issuers[i], &cfg, BS_NOW, &est[i]);
	t_est = bs_now_s() - t0;

	t0 = bs_now_s();
	for (long c = 0; c < n; c++) {
		struct bs_cert *b = &certs[c];
		struct sc_input in;
		double a = 0;
		memset(&in, 0, sizeof(in));
		in.in_now = BS_NOW;
		in.in_cfg = &cfg;
		in.in_cert = b->b_cert;
		in.in_issuer = &issuers[b->b_issuer];
		in.in_issuer_est = &est[b->b_issuer];
		if (b->b_signals) {
			in.in_signals.sg_valid = 1;
			in.in_signals.sg_requests = 120;
			in.in_signals.sg_status_5xx = b->b_issuer == 0 ? 40 : 1;
			in.in_signals.sg_latency_s = 1.5;
		}
		if (b->b_ari) {
			in.in_ari.ar_valid = 1;
			in.in_ari.ar_start = b->b_cert.c_not_after - 20 * BS_D;
			in.in_ari.ar_end = b->b_cert.c_not_after - 18 * BS_D;
		}
		if (b->b_failing)
			a = bs_now_s();
		if (sc_evaluate(&in, res) != SC_OK) {
			fprintf(stderr, "sc_evaluate failed on cert %ld\n", c);
			return 1;
		}
		if (b->b_failing) {
			t_fail += bs_now_s() - a;
			n_fail++;
		} else {
			n_ok++;
		}
		sum_risk += res->r_risk;
		levels[res->r_level]++;
		actions += res->r_decision.d_rb != SC_RB_LEAVE || res->r_decision.d_reissue ||
			   res->r_decision.d_failover != SC_FO_NONE;
	}
	t1 = bs_now_s() - t0;
	t_ok = t1 - t_fail;

	printf("scoring benchmark: %ld certificates, %d issuers x %d CRs of history\n", n,
	       BS_ISSUERS, BS_HISTORY);
	printf("  issuer estimates:     %.1f us per issuer (with 90%% interval)\n",
	       t_est * 1e6 / BS_ISSUERS);
	printf("  sc_evaluate, all:     %.0f ns/cert (%.0f certs/s), %.3f s total\n", t1 * 1e9 / n,
	       n / t1, t1);
	if (n_ok > 0)
		printf("  sc_evaluate, healthy: %.0f ns/cert (%ld certs)\n",
		       t_ok * 1e9 / (double)n_ok, n_ok);
	if (n_fail > 0)
		printf("  sc_evaluate, failing: %.0f ns/cert (%ld certs)\n",
		       t_fail * 1e9 / (double)n_fail, n_fail);
	printf("  result size: %zu bytes; mean risk %.4f; levels low/medium/high/critical "
	       "%ld/%ld/%ld/%ld; certificates with an action %ld\n",
	       sizeof(*res), sum_risk / n, levels[0], levels[1], levels[2], levels[3], actions);
	for (long c = 0; c < n; c++)
		free((char *)certs[c].b_cert.c_name);
	for (int i = 0; i < BS_ISSUERS; i++)
		free((char *)issuers[i].is_name);
	free(certs);
	free(hist);
	free(res);
	return 0;
}
