/*
 * bench_store: memory per tracked Certificate (with two CertificateRequests, each carrying a
 * real 2-certificate status.certificate) and store_apply throughput.
 *
 * usage: bench_store [CERTS...]   (default: 10000 50000; run from the repository root)
 *
 * Each size runs in its own child process so that RSS starts clean. RSS is VmRSS from
 * /proc/self/status before and after loading; it includes allocator overhead and fragmentation
 * left by parsing, as in the controller. Timings are CPU time of the thread (the machine is
 * shared, so wall time would mostly measure the neighbours), cover store_apply alone (JSON
 * parsing is timed separately), and are a report, not a pass/fail.
 */
#include "cc_err.h"
#include "log.h"
#include "resource.h"
#include "store.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FIXTURE "tests/unit/fixtures/cm-certificaterequest.json"

static long
bench_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			char *end;
			kib = strtol(line + 6, &end, 10);
			break;
		}
	fclose(f);
	return kib;
}

static double
bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* status.certificate of the fixture: base64 of a PEM leaf + CA chain. */
static char *
bench_load_pem(void)
{
	FILE *f = fopen(FIXTURE, "rb");
	if (f == NULL) {
		fprintf(stderr, "bench_store: cannot open %s; run from the repository root\n",
		    FIXTURE);
		exit(2);
	}
	char *text = xmalloc(1 << 16);
	size_t n = fread(text, 1, (1 << 16) - 1, f);
	fclose(f);
	text[n] = '\0';
	cJSON *j = cJSON_Parse(text);
	free(text);
	const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "status"), "certificate");
	if (!cJSON_IsString(c)) {
		fprintf(stderr, "bench_store: %s has no status.certificate\n", FIXTURE);
		exit(2);
	}
	char *pem = xstrdup(c->valuestring);
	cJSON_Delete(j);
	return pem;
}

static char *
bench_cert_json(int i, int rv)
{
	return xasprintf(
	    "{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"metadata\":{"
	    "\"name\":\"app-%d-tls\",\"namespace\":\"team-%d\",\"uid\":\"5f0c2a3e-8d1b-4a47-9d3e-"
	    "%012d\",\"resourceVersion\":\"%d\",\"generation\":2,\"creationTimestamp\":"
	    "\"2025-01-10T08:00:00Z\",\"annotations\":{\"certcast.io/mode\":\"enforce\","
	    "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}},\"spec\":{"
	    "\"secretName\":\"app-%d-tls\",\"commonName\":\"app-%d.team-%d.example.com\","
	    "\"dnsNames\":[\"app-%d.team-%d.example.com\",\"www.app-%d.team-%d.example.com\"],"
	    "\"duration\":\"2160h0m0s\",\"renewBefore\":\"360h0m0s\",\"issuerRef\":{\"name\":"
	    "\"letsencrypt-prod\",\"kind\":\"ClusterIssuer\",\"group\":\"cert-manager.io\"},"
	    "\"privateKey\":{\"algorithm\":\"ECDSA\",\"size\":256,\"rotationPolicy\":\"Always\"},"
	    "\"revisionHistoryLimit\":2},\"status\":{\"conditions\":[{\"type\":\"Ready\","
	    "\"status\":\"True\",\"reason\":\"Ready\",\"message\":\"Certificate is up to date and "
	    "has not expired\",\"lastTransitionTime\":\"2025-03-01T09:12:44Z\","
	    "\"observedGeneration\":2}],\"notBefore\":\"2025-03-01T08:12:40Z\",\"notAfter\":"
	    "\"2025-05-30T08:12:39Z\",\"renewalTime\":\"2025-05-15T08:12:39Z\",\"revision\":2}}",
	    i, i % 100, i, rv, i, i, i % 100, i, i % 100, i, i % 100);
}

static char *
bench_cr_json(int i, int rev, const char *pem)
{
	return xasprintf(
	    "{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"CertificateRequest\",\"metadata\":"
	    "{\"name\":\"app-%d-tls-%d\",\"namespace\":\"team-%d\",\"uid\":\"c1d2e3f4-0a1b-4c2d-"
	    "8e3f-%012d\",\"resourceVersion\":\"%d\",\"creationTimestamp\":\"2025-03-01T08:12:"
	    "%02dZ\",\"annotations\":{\"cert-manager.io/certificate-name\":\"app-%d-tls\","
	    "\"cert-manager.io/certificate-revision\":\"%d\"},\"ownerReferences\":[{\"apiVersion\":"
	    "\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"name\":\"app-%d-tls\",\"uid\":\"x\","
	    "\"controller\":true}]},\"spec\":{\"duration\":\"2160h0m0s\",\"issuerRef\":{\"name\":"
	    "\"letsencrypt-prod\",\"kind\":\"ClusterIssuer\",\"group\":\"cert-manager.io\"},"
	    "\"request\":\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K\",\"usages\":["
	    "\"server auth\",\"digital signature\"],\"username\":"
	    "\"system:serviceaccount:cert-manager:cert-manager\"},\"status\":{\"conditions\":["
	    "{\"type\":\"Approved\",\"status\":\"True\",\"reason\":\"cert-manager.io\",\"message\":"
	    "\"Certificate request has been approved by cert-manager.io\",\"lastTransitionTime\":"
	    "\"2025-03-01T08:12:30Z\"},{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Issued\","
	    "\"message\":\"Certificate fetched from issuer successfully\",\"lastTransitionTime\":"
	    "\"2025-03-01T08:12:41Z\"}],\"certificate\":\"%s\"}}",
	    i, rev, i % 100, i * 2 + rev, 1000 + rev, rev * 10, i, rev, i, pem);
}

struct bench_clock {
	double bc_parse;  /* seconds in cJSON_Parse */
	double bc_apply;  /* seconds in store_apply */
	long bc_n;        /* applies */
};

static void
bench_apply(struct store *s, const struct res_desc *d, char *text, struct bench_clock *bc)
{
	char err[256];
	double t0 = bench_now();
	cJSON *j = cJSON_Parse(text);
	double t1 = bench_now();
	free(text);
	if (j == NULL) {
		fprintf(stderr, "bench_store: generated JSON does not parse\n");
		exit(1);
	}
	int rc = store_apply(s, d, STORE_ADDED, j, err, sizeof err);
	double t2 = bench_now();
	cJSON_Delete(j);
	if (rc != CC_OK) {
		fprintf(stderr, "bench_store: %s\n", err);
		exit(1);
	}
	bc->bc_parse += t1 - t0;
	bc->bc_apply += t2 - t1;
	bc->bc_n++;
}

static void
bench_run(int n, const char *pem)
{
	const struct res_desc *t = res_table();
	const struct res_desc *dcert = &t[0], *dcr = &t[1];
	struct bench_clock cert = {0}, cr = {0}, upd = {0}, same = {0};
	long rss0 = bench_rss_kib();
	struct store *s = store_new();
	for (int i = 0; i < n; i++) {
		bench_apply(s, dcert, bench_cert_json(i, 1), &cert);
		bench_apply(s, dcr, bench_cr_json(i, 1, pem), &cr);
		bench_apply(s, dcr, bench_cr_json(i, 2, pem), &cr);
	}
	long rss1 = bench_rss_kib();
	/* A changed Certificate replaces its record; an unchanged one (relist) is skipped. */
	for (int i = 0; i < n; i++)
		bench_apply(s, dcert, bench_cert_json(i, 2), &upd);
	uint64_t gen = store_relist_begin(s, dcert);
	for (int i = 0; i < n; i++)
		bench_apply(s, dcert, bench_cert_json(i, 2), &same);
	store_relist_end(s, dcert, gen);
	long rss2 = bench_rss_kib();

	store_rdlock(s);
	size_t ncert = store_count(s, RES_CERTIFICATE), ncr = store_count(s, RES_CERTIFICATEREQUEST);
	const struct rec_cr *crs[2];
	size_t got = store_cert_crs(s, "team-1", "app-1-tls", crs, 2);
	size_t der = got > 0 ? crs[0]->r_der_len : 0;
	store_unlock(s);
	if (ncert != (size_t)n || ncr != 2 * (size_t)n || got != 2) {
		fprintf(stderr, "bench_store: store holds %zu certs, %zu CRs\n", ncert, ncr);
		exit(1);
	}
	printf("certificates %d (+%d CRs, %zu bytes of DER each, %zu-byte base64 text)\n", n,
	    2 * n, der, strlen(pem));
	printf("  rss before %ld KiB, after load %ld KiB, after updates %ld KiB\n", rss0, rss1,
	    rss2);
	printf("  rss per certificate with 2 CRs: %.0f bytes\n",
	    (double)(rss1 - rss0) * 1024.0 / n);
	printf("  store_apply Certificate add:     %8.0f /s  (%.1f us each; parse %.1f us)\n",
	    cert.bc_n / cert.bc_apply, 1e6 * cert.bc_apply / cert.bc_n,
	    1e6 * cert.bc_parse / cert.bc_n);
	printf("  store_apply CR add (with cert):  %8.0f /s  (%.1f us each; parse %.1f us)\n",
	    cr.bc_n / cr.bc_apply, 1e6 * cr.bc_apply / cr.bc_n, 1e6 * cr.bc_parse / cr.bc_n);
	printf("  store_apply Certificate change:  %8.0f /s  (%.1f us each)\n",
	    upd.bc_n / upd.bc_apply, 1e6 * upd.bc_apply / upd.bc_n);
	printf("  store_apply relist, unchanged:   %8.0f /s  (%.1f us each)\n",
	    same.bc_n / same.bc_apply, 1e6 * same.bc_apply / same.bc_n);
	double t0 = bench_now();
	store_free(s);
	printf("  store_free: %.1f ms\n", 1e3 * (bench_now() - t0));
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	int sizes[8] = {10000, 50000};
	int nsizes = 2;
	if (argc > 1) {
		nsizes = 0;
		for (int i = 1; i < argc && nsizes < 8; i++) {
			char *end;
			long v = strtol(argv[i], &end, 10);
			if (*end != '\0' || v < 1 || v > 10000000) {
				fprintf(stderr, "usage: bench_store [CERTS...]\n");
				return 2;
			}
			sizes[nsizes++] = (int)v;
		}
	}
	int fd = open("/dev/null", O_WRONLY);
	log_set_fd(fd);
	char *pem = bench_load_pem();
	for (int i = 0; i < nsizes; i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			bench_run(sizes[i], pem);
			_exit(0);
		}
		int st;
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "bench_store: run with %d certificates failed\n", sizes[i]);
			return 1;
		}
	}
	free(pem);
	return 0;
}
