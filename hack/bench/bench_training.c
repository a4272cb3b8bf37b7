/*
 * bench_training: what the controller's learned model costs in reconcile, and its checkpoint.
 *
 * usage: bench_training [CERTS ...]   (defaults: 1000 4000)
 *
 * CERTS Certificates on one ClusterIssuer (the common single Let's Encrypt issuer), each with
 * one finished CertificateRequest. Reported:
 *   sweep        recon_learn_all, as the controller runs it after the first sync: every outcome
 *                is new, and the issuer's history is walked once per batch of certificates
 *   first pass   every certificate reconciled once after the sweep (nothing left to learn)
 *   alone        without the sweep (CERTS <= 4000 only): the first pass learns, each outcome
 *                walking its issuer's history on its own; what the sweep saves
 *   resync pass  every certificate again: every outcome is in the ledger, nothing is learned
 *   checkpoint   encode + decode of the model and ledger, and the text's size
 * Timings use CLOCK_MONOTONIC. The machine is shared: compare within one run.
 */
#include "buf.h"
#include "cc_err.h"
#include "learn.h"
#include "log.h"
#include "model.h"
#include "reconcile.h"
#include "records.h"
#include "resource.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
bt_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 2026-02-01T02:00:00Z, a month after the requests. */
static int64_t
bt_clock(void)
{
	return 1769911200LL;
}

static void
bt_apply(struct store *st, enum res_kind k, const char *json)
{
	const struct res_desc *d = NULL;
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == k)
			d = &res_table()[i];
	cJSON *o = cJSON_Parse(json);
	char err[256] = "";
	if (d == NULL || o == NULL || store_apply(st, d, STORE_ADDED, o, err, sizeof err) != CC_OK) {
		fprintf(stderr, "bench_training: cannot build the store: %s\n", err);
		exit(1);
	}
	cJSON_Delete(o);
}

static void
bt_run(long n)
{
	struct store *st = store_new();
	char json[1024];
	for (long i = 0; i < n; i++) {
		snprintf(json, sizeof json,
		    "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"c%ld\",\"resourceVersion\":\"1\"},"
		    "\"spec\":{\"secretName\":\"s%ld\",\"issuerRef\":{\"name\":\"le\","
		    "\"kind\":\"ClusterIssuer\"}},\"status\":{\"notBefore\":\"2026-01-01T00:00:00Z\","
		    "\"notAfter\":\"2026-04-01T00:00:00Z\"}}", i, i);
		bt_apply(st, RES_CERTIFICATE, json);
		/* every tenth failed, so the model sees both outcomes */
		const char *cond = i % 10 == 0
		    ? "{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"Failed\","
		      "\"message\":\"DNS problem\",\"lastTransitionTime\":\"2026-01-01T00:01:00Z\"}"
		    : "{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Issued\","
		      "\"lastTransitionTime\":\"2026-01-01T00:01:00Z\"}";
		snprintf(json, sizeof json,
		    "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"c%ld-1\",\"uid\":\"uid-%ld\","
		    "\"resourceVersion\":\"1\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
		    "\"annotations\":{\"cert-manager.io/certificate-name\":\"c%ld\"}},"
		    "\"spec\":{\"request\":\"\",\"issuerRef\":{\"name\":\"le\","
		    "\"kind\":\"ClusterIssuer\"}},\"status\":{\"conditions\":[%s]}}", i, i, i, cond);
		bt_apply(st, RES_CERTIFICATEREQUEST, json);
	}
	char key[64];
	double alone = -1;
	if (n <= 4000) {
		struct mdl *m0 = mdl_new(0);
		struct recon_opts o0 = {st, NULL, NULL, bt_clock, .ro_model = m0};
		struct recon *r0 = recon_new(&o0);
		double t0 = bt_now();
		for (long i = 0; i < n; i++) {
			snprintf(key, sizeof key, "ns/c%ld", i);
			(void)recon_key(r0, key);
		}
		alone = bt_now() - t0;
		recon_free(r0);
		mdl_free(m0);
	}
	struct mdl *m = mdl_new(0);
	struct recon_opts o = {st, NULL, NULL, bt_clock, .ro_model = m};
	struct recon *r = recon_new(&o);
	double t[3];
	double ts = bt_now();
	size_t swept = recon_learn_all(r);
	t[2] = bt_now() - ts;
	for (int pass = 0; pass < 2; pass++) {
		double t0 = bt_now();
		for (long i = 0; i < n; i++) {
			snprintf(key, sizeof key, "ns/c%ld", i);
			(void)recon_key(r, key);
		}
		t[pass] = bt_now() - t0;
	}
	struct lm_calibration cal;
	mdl_calibration(m, &cal, NULL, NULL);
	struct buf b;
	buf_init(&b, MDL_FILE_MAX);
	double t0 = bt_now();
	int rc = mdl_encode(m, &b);
	struct mdl *back = mdl_new(0);
	char err[256] = "";
	if (rc == CC_OK)
		rc = mdl_decode(back, b.b_data, b.b_len, err, sizeof err);
	double tc = bt_now() - t0;
	char al[48] = "n/a";
	if (alone >= 0)
		snprintf(al, sizeof al, "%.3f s", alone);
	printf("%6ld certificates: sweep %.3f s (%zu outcomes learned, %.1f us each), first pass "
	       "%.3f s, alone %s, resync pass %.3f s, checkpoint %zu bytes encode+decode %.1f ms"
	       "%s%s\n",
	    n, t[2], swept, swept ? 1e6 * t[2] / (double)swept : 0.0, t[0], al, t[1], b.b_len,
	    1e3 * tc, rc == CC_OK ? "" : " FAILED: ", err);
	if ((double)swept != cal.cal_n)
		printf("        the model holds %.0f outcomes, not %zu\n", cal.cal_n, swept);
	buf_free(&b);
	mdl_free(back);
	recon_free(r);
	mdl_free(m);
	store_free(st);
}

int
main(int argc, char **argv)
{
	log_set_fd(open("/dev/null", O_WRONLY));
	if (argc < 2) {
		bt_run(1000);
		bt_run(4000);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		char *end;
		long n = strtol(argv[i], &end, 10);
		if (end == argv[i] || *end != '\0' || n <= 0 || n > 1000000) {
			fprintf(stderr, "bench_training: CERTS must be a count, got \"%s\"\n", argv[i]);
			return 2;
		}
		bt_run(n);
	}
	return 0;
}
