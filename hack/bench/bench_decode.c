/*
 * bench_decode: how fast watch lines become store records, against the cost of the JSON parse
 * alone.
 *
 * usage: bench_decode [EVENTS] [CERTS]   (defaults: 20000 events over 2000 Certificates)
 *
 * The stream is realistic Certificate watch lines (~2.5 KB: labels, last-applied annotation,
 * managedFields, spec and status), one ADDED per Certificate then MODIFIED events with new
 * resourceVersions. Three ways through the same bytes, each run 3 times (median reported):
 *   parse only   cJSON_Parse + cJSON_Delete per line (the floor for any decode path)
 *   decode path  linesplit fed 16 KiB chunks -> cJSON -> event checks -> store_apply, which is
 *                what the reflector does per line, into a fresh store
 *   reflector    the real reflector over loopback HTTP (testhttp + kube_client), from start to
 *                the last event applied; includes the initial LIST and the socket
 * Timings use CLOCK_MONOTONIC. The machine is shared: compare ratios within one run, never
 * absolute numbers across runs.
 */
#include "cc_err.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "linesplit.h"
#include "log.h"
#include "reflector.h"
#include "resource.h"
#include "store.h"
#include "testhttp.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_RUNS 3
#define BENCH_CHUNK (16 * 1024)      /* bytes per feed, like a network read */
#define BENCH_HTTP_CHUNK (64 * 1024) /* bytes per HTTP chunk from the test server */

static double
bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
bench_arg(const char *s, long dflt)
{
	if (s == NULL)
		return dflt;
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || v <= 0 || v > 10000000) {
		fprintf(stderr, "bench_decode: bad number \"%s\"\n", s);
		exit(2);
	}
	return v;
}

/* One watch line, with its "\n". Sizes and fields follow what cert-manager and kubectl leave. */
static char *
bench_line(int cert, int rv, int modified)
{
	int ns = cert % 50;
	return xasprintf(
	    "{\"type\":\"%s\",\"object\":{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":"
	    "\"Certificate\",\"metadata\":{\"name\":\"svc-%d-tls\",\"namespace\":\"team-%d\","
	    "\"uid\":\"6b1f3c9e-2d4a-4f1b-9c7e-%012d\",\"resourceVersion\":\"%d\","
	    "\"generation\":%d,"
	    "\"creationTimestamp\":\"2025-01-10T08:00:00Z\",\"labels\":{\"app.kubernetes.io/name\":"
	    "\"svc-%d\",\"app.kubernetes.io/part-of\":\"shop\",\"team\":\"team-%d\"},"
	    "\"annotations\":{\"certcast.io/mode\":\"observe\",\"kubectl.kubernetes.io/"
	    "last-applied-configuration\":\"{\\\"apiVersion\\\":\\\"cert-manager.io/v1\\\",\\\"kind"
	    "\\\":\\\"Certificate\\\",\\\"metadata\\\":{\\\"annotations\\\":{},"
	    "\\\"name\\\":\\\"svc-"
	    "%d-tls\\\",\\\"namespace\\\":\\\"team-%d\\\"},\\\"spec\\\":{\\\"dnsNames\\\":[\\\"svc-"
	    "%d.team-%d.example.com\\\"],\\\"issuerRef\\\":{\\\"kind\\\":\\\"ClusterIssuer\\\",\\\""
	    "name\\\":\\\"letsencrypt-prod\\\"},\\\"secretName\\\":\\\"svc-%d-tls\\\"}}\\n\"},"
	    "\"managedFields\":[{\"apiVersion\":\"cert-manager.io/v1\",\"fieldsType\":\"FieldsV1\","
	    "\"fieldsV1\":{\"f:metadata\":{\"f:annotations\":{\".\":{},\"f:kubectl.kubernetes.io/"
	    "last-applied-configuration\":{}},\"f:labels\":{\".\":{},\"f:team\":{}}},\"f:spec\":{"
	    "\".\":{},\"f:dnsNames\":{},\"f:issuerRef\":{\".\":{},\"f:kind\":{},\"f:name\":{}},"
	    "\"f:secretName\":{}}},\"manager\":\"kubectl-client-side-apply\",\"operation\":"
	    "\"Update\",\"time\":\"2025-01-10T08:00:00Z\"},{\"apiVersion\":\"cert-manager.io/v1\","
	    "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":{\".\":{},\"f:conditions\":{"
	    "\".\":{},\"k:{\\\"type\\\":\\\"Ready\\\"}\":{\".\":{},\"f:lastTransitionTime\":{},"
	    "\"f:message\":{},\"f:observedGeneration\":{},\"f:reason\":{},\"f:status\":{},"
	    "\"f:type\":{}}},\"f:notAfter\":{},\"f:notBefore\":{},\"f:renewalTime\":{},"
	    "\"f:revision\":{}}},\"manager\":\"cert-manager-certificates-readiness\",\"operation\":"
	    "\"Update\",\"subresource\":\"status\",\"time\":\"2025-03-01T09:12:44Z\"}]},\"spec\":{"
	    "\"secretName\":\"svc-%d-tls\",\"commonName\":\"svc-%d.team-%d.example.com\","
	    "\"dnsNames\":[\"svc-%d.team-%d.example.com\",\"www.svc-%d.team-%d.example.com\","
	    "\"api.svc-%d.team-%d.example.com\"],\"duration\":\"2160h0m0s\",\"renewBefore\":"
	    "\"360h0m0s\",\"issuerRef\":{\"name\":\"letsencrypt-prod\",\"kind\":\"ClusterIssuer\","
	    "\"group\":\"cert-manager.io\"},\"privateKey\":{\"algorithm\":\"ECDSA\",\"size\":256,"
	    "\"rotationPolicy\":\"Always\"},\"usages\":[\"server auth\",\"digital signature\","
	    "\"key encipherment\"],\"revisionHistoryLimit\":3},\"status\":{\"conditions\":[{"
	    "\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\",\"message\":\"Certificate "
	    "is up to date and has not expired\",\"lastTransitionTime\":\"2025-03-01T09:12:44Z\","
	    "\"observedGeneration\":%d}],\"notBefore\":\"2025-03-01T08:12:40Z\",\"notAfter\":"
	    "\"2025-05-30T08:12:39Z\",\"renewalTime\":\"2025-05-15T08:12:39Z\","
	    "\"revision\":%d}}}\n",
	    modified ? "MODIFIED" : "ADDED", cert, ns, cert, rv, 1 + rv % 7, cert, ns, cert, ns,
	    cert, ns, cert, cert, cert, ns, cert, ns, cert, ns, cert, ns, 1 + rv % 7, 1 + rv % 5);
}

struct bench_stream {
	char **bs_lines;     /* bs_n lines, each NUL-terminated and ending in "\n" */
	size_t bs_n;         /* events */
	char *bs_all;        /* the lines concatenated: the stream */
	size_t bs_len;       /* bytes in bs_all */
};

static void
bench_make(struct bench_stream *bs, long events, long certs)
{
	bs->bs_n = (size_t)events;
	bs->bs_lines = xcalloc(bs->bs_n, sizeof *bs->bs_lines);
	bs->bs_len = 0;
	for (size_t i = 0; i < bs->bs_n; i++) {
		int cert = (int)(i % (size_t)certs);
		bs->bs_lines[i] = bench_line(cert, 1000 + (int)i, i >= (size_t)certs);
		bs->bs_len += strlen(bs->bs_lines[i]);
	}
	bs->bs_all = xmalloc(bs->bs_len + 1);
	size_t at = 0;
	for (size_t i = 0; i < bs->bs_n; i++) {
		size_t n = strlen(bs->bs_lines[i]);
		memcpy(bs->bs_all + at, bs->bs_lines[i], n);
		at += n;
	}
	bs->bs_all[at] = '\0';
}

static void
bench_free(struct bench_stream *bs)
{
	for (size_t i = 0; i < bs->bs_n; i++)
		free(bs->bs_lines[i]);
	free(bs->bs_lines);
	free(bs->bs_all);
}

/* ---- parse only ---- */

static double
bench_parse_only(const struct bench_stream *bs)
{
	double t0 = bench_now();
	for (size_t i = 0; i < bs->bs_n; i++) {
		cJSON *j = cJSON_Parse(bs->bs_lines[i]);
		if (j == NULL) {
			fprintf(stderr, "bench_decode: line %zu does not parse\n", i + 1);
			exit(1);
		}
		cJSON_Delete(j);
	}
	return bench_now() - t0;
}

/* ---- the reflector's decode path, in process ---- */

struct bench_sink {
	struct store *bk_store;         /* fresh per run */
	const struct res_desc *bk_desc; /* certificates */
	size_t bk_applied;              /* events accepted */
	size_t bk_bad;                  /* events refused (should stay 0) */
};

static int
bench_on_line(void *arg, const struct ls_line *l)
{
	struct bench_sink *k = arg;
	char err[256];
	if (l->ll_kind != LS_LINE) {
		k->bk_bad++;
		return CC_OK;
	}
	cJSON *root = cJSON_ParseWithLengthOpts(l->ll_data, l->ll_len, NULL, 0);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "object");
	if (!cJSON_IsString(type) || !cJSON_IsObject(obj)) {
		k->bk_bad++;
	} else {
		enum store_event ev = strcmp(type->valuestring, "ADDED") == 0 ? STORE_ADDED
		                                                             : STORE_MODIFIED;
		if (store_apply(k->bk_store, k->bk_desc, ev, obj, err, sizeof err) == CC_OK)
			k->bk_applied++;
		else
			k->bk_bad++;
	}
	cJSON_Delete(root);
	return CC_OK;
}

static double
bench_decode_path(const struct bench_stream *bs)
{
	struct bench_sink k = {.bk_store = store_new(), .bk_desc = &res_table()[RES_CERTIFICATE]};
	struct ls_splitter *sp = ls_new(8u << 20, bench_on_line, &k);
	double t0 = bench_now();
	for (size_t at = 0; at < bs->bs_len; at += BENCH_CHUNK) {
		size_t n = bs->bs_len - at < BENCH_CHUNK ? bs->bs_len - at : BENCH_CHUNK;
		ls_feed(sp, bs->bs_all + at, n);
	}
	ls_finish(sp);
	double dt = bench_now() - t0;
	if (k.bk_applied != bs->bs_n || k.bk_bad != 0) {
		fprintf(stderr, "bench_decode: %zu applied, %zu refused of %zu\n", k.bk_applied,
		    k.bk_bad, bs->bs_n);
		exit(1);
	}
	ls_free(sp);
	store_free(k.bk_store);
	return dt;
}

/* ---- the real reflector over loopback HTTP ---- */

static double
bench_reflector(const struct bench_stream *bs, const char *const *chunks)
{
	struct th_server *srv = NULL;
	if (th_server_start(NULL, &srv) != CC_OK) {
		fprintf(stderr, "bench_decode: cannot start the test server\n");
		exit(1);
	}
	struct th_route list = {.tr_method = "GET",
	    .tr_prefix = "/apis/cert-manager.io/v1/certificates?limit=",
	    .tr_status = 200,
	    .tr_body = "{\"kind\":\"CertificateList\",\"metadata\":{\"resourceVersion\":\"999\"},"
	               "\"items\":[]}"};
	struct th_route watch = {.tr_method = "GET",
	    .tr_prefix = "/apis/cert-manager.io/v1/certificates?watch=1",
	    .tr_status = 200, .tr_chunks = chunks, .tr_hold = 1};
	th_server_add_route(srv, &list);
	th_server_add_route(srv, &watch);
	struct kube_config cfg = {0};
	cfg.kc_server = (char *)th_server_url(srv);
	struct kube_client_opts co = {.kco_qps = -1};
	struct kube_client *c = NULL;
	struct kube_error err;
	if (kube_client_new(&cfg, &co, &c, &err) != CC_OK) {
		fprintf(stderr, "bench_decode: client: %s\n", err.ke_message);
		exit(1);
	}
	struct store *st = store_new();
	struct refl_opts ro = {.ro_client = c, .ro_store = st,
	    .ro_desc = &res_table()[RES_CERTIFICATE]};
	struct refl *r = NULL;
	if (refl_new(&ro, &r) != CC_OK)
		exit(1);
	double t0 = bench_now(), dt = 0;
	refl_start(r);
	for (;;) {
		unsigned long long n = refl_counter(r, REFL_STAT_EVENTS, "ADDED") +
		    refl_counter(r, REFL_STAT_EVENTS, "MODIFIED");
		if (n >= bs->bs_n) {
			dt = bench_now() - t0;
			break;
		}
		if (refl_counter(r, REFL_STAT_EVENTS, "invalid") > 0 || bench_now() - t0 > 300) {
			fprintf(stderr, "bench_decode: reflector got %llu events, %llu invalid\n",
			    n, refl_counter(r, REFL_STAT_EVENTS, "invalid"));
			exit(1);
		}
		usleep(200);
	}
	refl_stop(r);
	kube_client_cancel(c);
	refl_join(r);
	refl_free(r);
	store_free(st);
	kube_client_free(c);
	th_server_free(srv);
	return dt;
}

static int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
bench_median(double *v)
{
	qsort(v, BENCH_RUNS, sizeof *v, bench_cmp);
	return v[BENCH_RUNS / 2];
}

static void
bench_row(const char *name, double secs, const struct bench_stream *bs, double base)
{
	printf("  %-12s %8.3f s  %9.0f events/s  %7.1f MB/s  %6.1f us/event  %5.2fx parse\n", name,
	    secs, (double)bs->bs_n / secs, (double)bs->bs_len / secs / 1e6,
	    1e6 * secs / (double)bs->bs_n, secs / base);
}

int
main(int argc, char **argv)
{
	long events = bench_arg(argc > 1 ? argv[1] : NULL, 20000);
	long certs = bench_arg(argc > 2 ? argv[2] : NULL, 2000);
	if (certs > events)
		certs = events;
	log_setup(LOG_FORMAT_TEXT, LOG_WARN);

	struct bench_stream bs;
	bench_make(&bs, events, certs);
	size_t nchunks = (bs.bs_len + BENCH_HTTP_CHUNK - 1) / BENCH_HTTP_CHUNK;
	char **chunks = xcalloc(nchunks + 1, sizeof *chunks);
	for (size_t i = 0; i < nchunks; i++) {
		size_t at = i * BENCH_HTTP_CHUNK;
		size_t n = bs.bs_len - at < BENCH_HTTP_CHUNK ? bs.bs_len - at : BENCH_HTTP_CHUNK;
		chunks[i] = xstrndup(bs.bs_all + at, n);
	}

	printf("bench_decode: %zu Certificate watch events over %ld objects, %.1f MB, %.0f bytes "
	    "per line (median of %d runs)\n", bs.bs_n, certs, (double)bs.bs_len / 1e6,
	    (double)bs.bs_len / (double)bs.bs_n, BENCH_RUNS);
	double p[BENCH_RUNS], d[BENCH_RUNS], r[BENCH_RUNS];
	for (int i = 0; i < BENCH_RUNS; i++) {
		p[i] = bench_parse_only(&bs);
		d[i] = bench_decode_path(&bs);
		r[i] = bench_reflector(&bs, (const char *const *)chunks);
	}
	double pm = bench_median(p), dm = bench_median(d), rm = bench_median(r);
	bench_row("parse only", pm, &bs, pm);
	bench_row("decode path", dm, &bs, pm);
	bench_row("reflector", rm, &bs, pm);
	printf("  decode path minus parse: %.1f us/event (linesplit, event checks, store_apply)\n",
	    1e6 * (dm - pm) / (double)bs.bs_n);

	for (size_t i = 0; i < nchunks; i++)
		free(chunks[i]);
	free(chunks);
	bench_free(&bs);
	return 0;
}
