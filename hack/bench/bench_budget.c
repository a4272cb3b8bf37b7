/*
 * bench_budget: the cost of ACME budget counts (controller/budget.h) for a store of N
 * CertificateRequests of one ACME issuer, each holding its own real certificate (its own name,
 * 500 registered domains): the first count (every certificate parsed), a recount (all parses
 * cached by UID and resourceVersion), and a lookup per Certificate.
 *
 * usage: bench_budget [REQUESTS...]   (default: 20000)
 *
 * Timings are CPU time of the thread (the machine is shared) and a report, not a pass/fail.
 */
#include "budget.h"
#include "cc_err.h"
#include "log.h"
#include "psl.h"
#include "resource.h"
#include "store.h"
#include "testcert.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOW 1780272000LL
#define LE "https://acme-v02.api.letsencrypt.org/directory"

static double
bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct res_desc *
bench_desc(enum res_kind k)
{
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == k)
			return &res_table()[i];
	return NULL;
}

static void
bench_apply(struct store *st, enum res_kind k, cJSON *o)
{
	char err[256];
	if (store_apply(st, bench_desc(k), STORE_SYNC, o, err, sizeof err) != CC_OK) {
		fprintf(stderr, "bench_budget: apply: %s\n", err);
		exit(1);
	}
	cJSON_Delete(o);
}

static void
bench_run(size_t n, const struct psl *psl)
{
	struct store *st = store_new();
	EVP_PKEY *key = tc_key("P-256");
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "ClusterIssuer");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "metadata"), "name", "le");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "acme"),
	    "server", LE);
	bench_apply(st, RES_CLUSTERISSUER, o);
	for (size_t i = 0; i < n; i++) {
		char name[64], sans[96], uid[32];
		snprintf(name, sizeof name, "cr-%zu", i);
		snprintf(uid, sizeof uid, "uid-%zu", i);
		snprintf(sans, sizeof sans, "DNS:svc-%zu.dom-%zu.com", i, i % 500);
		struct tc_spec s = {.issuer_cn = "CA", .cn = "leaf", .sans = sans,
		    .nb = NOW - (int64_t)(i % 14) * 86400, .na = NOW + 80 * 86400, .md = EVP_sha256(),
		    .serial = (long)i + 1};
		X509 *x = tc_cert(key, key, &s);
		size_t len;
		char *pem = tc_pem(&x, 1, &len);
		char *b64 = tc_b64(pem, len, &len);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kind", "CertificateRequest");
		cJSON *md = cJSON_AddObjectToObject(o, "metadata");
		cJSON_AddStringToObject(md, "namespace", "bench");
		cJSON_AddStringToObject(md, "name", name);
		cJSON_AddStringToObject(md, "uid", uid);
		cJSON_AddStringToObject(md, "resourceVersion", "1");
		cJSON *ir = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "issuerRef");
		cJSON_AddStringToObject(ir, "name", "le");
		cJSON_AddStringToObject(ir, "kind", "ClusterIssuer");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "status"), "certificate", b64);
		bench_apply(st, RES_CERTIFICATEREQUEST, o);
		free(b64);
		free(pem);
		X509_free(x);
	}
	struct bg_book *b = bg_new(psl, 0, 0);
	store_rdlock(st);
	double t0 = bench_now();
	size_t parsed = bg_refresh(b, st, NOW);
	double t1 = bench_now();
	size_t again = bg_refresh(b, st, NOW + 60);
	double t2 = bench_now();
	store_unlock(st);
	size_t used = 0;
	double t3 = bench_now();
	for (size_t i = 0; i < n; i++) {
		char nm[64];
		snprintf(nm, sizeof nm, "svc-%zu.dom-%zu.com", i, i % 500);
		const char *names[1] = {nm};
		struct sc_budget bd;
		if (bg_lookup(b, LE, NULL, names, 1, 0, &bd, NULL, 0))
			used += bd.bd_new_used;
	}
	double t4 = bench_now();
	printf("%zu requests: first count %.2f s (%zu parsed, %.0f us each), recount %.3f s "
	       "(%zu parsed), lookup %.1f us (mean used %.1f)\n",
	    n, t1 - t0, parsed, parsed ? (t1 - t0) * 1e6 / (double)parsed : 0.0, t2 - t1, again,
	    (t4 - t3) * 1e6 / (double)n, (double)used / (double)n);
	bg_free(b);
	EVP_PKEY_free(key);
	store_free(st);
}

int
main(int argc, char **argv)
{
	log_set_fd(open("/dev/null", O_WRONLY));
	static const char list[] = "com\n";
	struct psl *psl = NULL;
	char err[256];
	if (psl_load(NULL, &psl, err, sizeof err) != CC_OK &&
	    psl_parse(list, sizeof list - 1, "bench", &psl, err, sizeof err) != CC_OK) {
		fprintf(stderr, "bench_budget: %s\n", err);
		return 1;
	}
	if (argc < 2) {
		bench_run(20000, psl);
	} else {
		for (int i = 1; i < argc; i++) {
			char *end;
			long v = strtol(argv[i], &end, 10);
			if (*end != '\0' || v <= 0) {
				fprintf(stderr, "bench_budget: not a count: %s\n", argv[i]);
				return 2;
			}
			bench_run((size_t)v, psl);
		}
	}
	psl_free(psl);
	return 0;
}
