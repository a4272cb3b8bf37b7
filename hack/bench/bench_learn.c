/*
 * bench_learn: speed and quality figures of the learned model, the anomaly baselines and the
 * certificate parser, in CPU time. A report, never a pass/fail: compare figures within one run.
 *
 *   - lm_update / lm_predict cost, and calibration (Brier, log loss, reliability table) on a
 *     synthetic relation with known probabilities, against the base rate and the truth;
 *   - an_observe cost with many namespaces, and checkpoint size per namespace;
 *   - cp_parse cost for a PEM chain.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "anomaly.h"
#include "certparse.h"
#include "testcert.h"
#include "learn.h"
#include "scoring.h"

/* CPU time of this process: on a shared machine it moves less than wall time. */
static double
bl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
bl_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double
bl_unif(uint64_t *s)
{
	return (double)(bl_next(s) >> 11) / 9007199254740992.0;
}

/* The synthetic truth: issuer health, Ready=False, configuration errors and 5xx raise risk. */
static double
bl_draw(uint64_t *s, struct lm_features *f)
{
	double z;

	memset(f, 0, sizeof(*f));
	f->f_issuer_fail_rate = bl_unif(s) * bl_unif(s);
	f->f_issuer_not_ready = bl_unif(s) < 0.1;
	f->f_class = bl_unif(s) < 0.15 ? (enum lm_class)(1 + bl_next(s) % 6) : LM_CLASS_NONE;
	f->f_http_5xx_rate = bl_unif(s) < 0.2 ? bl_unif(s) : 0;
	f->f_acme_429_rate = bl_unif(s) < 0.1 ? bl_unif(s) : 0;
	f->f_latency_s = 0.2 + 3 * bl_unif(s);
	f->f_pod_restarts_1h = (double)(bl_next(s) % 3);
	f->f_hours_since_failure = bl_unif(s) < 0.5 ? -1 : 100 * bl_unif(s);
	f->f_lifetime_days = bl_unif(s) < 0.5 ? 90 : 45;
	f->f_failed_attempts = (double)(bl_next(s) % 4);
	f->f_prior = NAN;
	z = -3.0 + 4.0 * f->f_issuer_fail_rate + 2.0 * f->f_issuer_not_ready +
	    2.5 * (f->f_class == LM_CLASS_CONFIG) + 3.0 * f->f_http_5xx_rate;
	return 1 / (1 + exp(-z));
}

static void
bl_learn(void)
{
	static const int sizes[] = { 100, 1000, 10000, 100000 };
	struct lm_model m;
	struct lm_features f;
	struct lm_calibration cal;
	uint64_t s = 42, s2;
	double t0, t1, sink = 0, truth, y;
	int i, k, n = 200000;
	char *buf;
	size_t need = 0;

	printf("learn: model of %d features, %zu bytes of state\n", LM_F_COUNT, sizeof(m));
	lm_init(&m, NULL);
	t0 = bl_now();
	for (i = 0; i < n; i++) {
		truth = bl_draw(&s, &f);
		lm_update(&m, &f, bl_unif(&s) < truth);
	}
	t1 = bl_now();
	printf("  lm_update   %8.0f ns/op\n", (t1 - t0) / n * 1e9);
	t0 = bl_now();
	for (i = 0; i < n; i++) {
		bl_draw(&s, &f);
		sink += lm_predict(&m, &f, NULL);
	}
	t1 = bl_now();
	printf("  lm_predict  %8.0f ns/op (incl. drawing inputs; sink %.1f)\n", (t1 - t0) / n * 1e9,
	       sink);
	lm_serialize(&m, NULL, 0, &need);
	buf = malloc(need + 1);
	t0 = bl_now();
	for (i = 0; i < 1000; i++)
		lm_serialize(&m, buf, need + 1, NULL);
	t1 = bl_now();
	printf("  checkpoint  %zu bytes, serialize %.1f us\n", need, (t1 - t0) / 1000 * 1e6);
	t0 = bl_now();
	for (i = 0; i < 1000; i++)
		lm_deserialize(&m, buf, need, NULL, 0);
	t1 = bl_now();
	printf("              deserialize %.1f us\n", (t1 - t0) / 1000 * 1e6);
	free(buf);

	printf("  held-out Brier after n outcomes (20000 test draws; lower is better):\n");
	printf("  %8s %8s %8s %8s %8s %8s\n", "n", "model", "base", "truth", "logloss", "skill");
	for (k = 0; k < 4; k++) {
		double bm = 0, bb = 0, bt = 0, ll = 0, pos = 0, p;
		double *ps = malloc(20000 * sizeof(*ps)), *ys = malloc(20000 * sizeof(*ys)),
		       *ts = malloc(20000 * sizeof(*ts));

		lm_init(&m, NULL);
		s = 7;
		for (i = 0; i < sizes[k]; i++) {
			truth = bl_draw(&s, &f);
			lm_update(&m, &f, bl_unif(&s) < truth);
		}
		s2 = 99;
		for (i = 0; i < 20000; i++) {
			ts[i] = bl_draw(&s2, &f);
			ps[i] = lm_predict(&m, &f, NULL);
			ys[i] = bl_unif(&s2) < ts[i];
			pos += ys[i];
		}
		for (i = 0; i < 20000; i++) {
			y = ys[i];
			p = ps[i];
			bm += (p - y) * (p - y);
			bb += (pos / 20000 - y) * (pos / 20000 - y);
			bt += (ts[i] - y) * (ts[i] - y);
			ll += y ? -log(p) : -log(1 - p);
		}
		printf("  %8d %8.4f %8.4f %8.4f %8.4f %8.3f\n", sizes[k], bm / 20000, bb / 20000,
		       bt / 20000, ll / 20000, 1 - bm / bb);
		free(ps);
		free(ys);
		free(ts);
	}
	lm_calibration(&m, &cal);
	printf("  prequential over the last 100000 updates: Brier %.4f (base-rate %.4f), log loss "
	       "%.4f\n",
	       cal.cal_brier, cal.cal_brier_base, cal.cal_logloss);
	printf("  reliability: %-9s %9s %9s %9s\n", "bin", "mean p", "observed", "count");
	for (i = 0; i < LM_CAL_BINS; i++) {
		const struct lm_bin *b = &cal.cal_bins[i];

		if (b->b_count == 0)
			continue;
		printf("               [%.1f,%.1f) %9.3f %9.3f %9.0f\n", i / 10.0, (i + 1) / 10.0,
		       b->b_sum_pred / b->b_count, b->b_sum_obs / b->b_count, b->b_count);
	}
}

static void
bl_anomaly(void)
{
	static const char *const issuers[3] = { "ClusterIssuer/le-prod", "ClusterIssuer/le-prod",
						"Issuer/internal-ca" };
	struct an_state *st = NULL;
	struct an_report r;
	struct an_obs o;
	char ns[32], uid[32], name[32], dns[64], *text = NULL;
	const char *names[1] = { dns };
	int64_t t = 1767225600;
	size_t len = 0;
	double t0, t1;
	int i, nns = 500, n = 200000, found = 0;

	if (an_new(NULL, &st) != SC_OK)
		return;
	memset(&o, 0, sizeof(o));
	o.o_dns_names = names;
	o.o_ndns = 1;
	o.o_username = "system:serviceaccount:cert-manager:cert-manager";
	o.o_duration = 90 * 86400;
	o.o_key = "EC-P256";
	t0 = bl_now();
	for (i = 0; i < n; i++) {
		snprintf(ns, sizeof(ns), "team-%d", i % nns);
		snprintf(uid, sizeof(uid), "uid-%d", i);
		snprintf(name, sizeof(name), "cert-%d", i % 97);
		snprintf(dns, sizeof(dns), "svc%d.team-%d.example.com", i % 13, i % nns);
		o.o_uid = uid;
		o.o_namespace = ns;
		o.o_name = name;
		o.o_issuer = issuers[i % 3];
		o.o_time = t + (int64_t)i * 30;
		memset(&r, 0, sizeof(r));
		an_observe(st, &o, o.o_time, &r);
		found += (int)r.r_count;
	}
	t1 = bl_now();
	printf("anomaly: %d observations over %d namespaces\n", n, nns);
	printf("  an_observe  %8.0f ns/op (%d findings on this regular stream)\n",
	       (t1 - t0) / n * 1e9, found);
	t0 = bl_now();
	an_serialize(st, &text, &len);
	t1 = bl_now();
	printf("  checkpoint  %zu bytes (%.0f per namespace, UIDs included), %.1f ms\n", len,
	       (double)len / nns, (t1 - t0) * 1e3);
	an_free(st);
	st = NULL;
	t0 = bl_now();
	an_deserialize(NULL, text, len, &st, NULL, 0);
	t1 = bl_now();
	printf("              restore %.1f ms\n", (t1 - t0) * 1e3);
	free(text);
	an_free(st);
}

static void
bl_certparse(void)
{
	EVP_PKEY *k = tc_key("P-256");
	struct tc_spec sp = {"bench", "bench", "DNS:bench.example", 1767225600,
	    1767225600 + 90 * 86400, EVP_sha256(), 0, 1};
	X509 *x = tc_cert(k, k, &sp);
	X509 *chain[2] = {x, x};
	struct cp_cert *c;
	size_t len;
	char *pem = tc_pem(chain, 2, &len);
	double t0, t1;
	int i, n = 20000;

	t0 = bl_now();
	for (i = 0; i < n; i++) {
		if (cp_parse(pem, len, &c, NULL, 0) == SC_OK)
			cp_free(c);
	}
	t1 = bl_now();
	printf("certparse: cp_parse of a 2-certificate PEM chain (%zu bytes): %.1f us/op\n", len,
	       (t1 - t0) / n * 1e6);
	/* the store keeps DER (decode.c turns status.certificate's PEM into DER once) */
	size_t dlen;
	unsigned char *der = tc_der(chain, 2, &dlen);
	t0 = bl_now();
	for (i = 0; i < n; i++) {
		if (cp_parse(der, dlen, &c, NULL, 0) == SC_OK)
			cp_free(c);
	}
	t1 = bl_now();
	printf("certparse: cp_parse of the same chain as DER (%zu bytes): %.1f us/op\n", dlen,
	       (t1 - t0) / n * 1e6);
	free(der);
	free(pem);
	X509_free(x);
	EVP_PKEY_free(k);
}

int
main(void)
{
	bl_learn();
	bl_anomaly();
	bl_certparse();
	return 0;
}
