/*
 * fuzz_watch: arbitrary bytes as the body of a watch response, through the reflector's own
 * stream code (refl_stream_begin/feed/end, the path its thread takes): line splitting with a
 * line limit, each line's JSON event, the store and its indexes, the resourceVersion, the
 * counters and every log line (written to /dev/null, at debug level, as text or JSON).
 *
 * The API server is trusted to send what its schema says, but the stream crosses proxies and
 * apiserver aggregation, and objects of CRDs keep unknown fields: no stream may crash, leak or
 * trip a sanitizer, and the reflector must go on after any bad line.
 *
 * Input: byte 0 picks the resource (low 4 bits, modulo the 9 descriptors the reflector set
 * watches), the line limit (bits 4-5: the 8 MiB default, 4096, 300, 40) and the log format (bit
 * 6: JSON). Byte 1 seeds the chunk sizes (0: the whole body in one piece; else pieces of 1 to
 * 2^(byte1 % 12) bytes from a PRNG it seeds), so that lines split anywhere. The rest is the
 * body. An ERROR line ends a stream as on the wire: after 410 Gone the records of the resource
 * are dropped as an empty relist drops them, and the rest of the body is a new stream, as the
 * next watch would be. Finally the store is read back through every index and as status rows
 * (unscored: fuzz_scan scores).
 */
#include "cc_err.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "log.h"
#include "reflector.h"
#include "resource.h"
#include "status.h"
#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1798761600 /* 2027-01-01T00:00:00Z */
#define FZ_LIST_MAX 64    /* records asked of each list accessor */

static FILE *fz_null;
static struct kube_client *fz_client; /* never connects: the harness feeds the stream itself */
static unsigned long fz_notes;

static const size_t fz_max_lines[4] = {0, 4096, 300, 40};

static void
fz_init(void)
{
	if ((fz_null = fopen("/dev/null", "w")) == NULL)
		abort();
	log_set_fd(fileno(fz_null));
	struct kube_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.kc_server = (char *)"https://127.0.0.1:1";
	cfg.kc_namespace = (char *)"default";
	struct kube_client_opts co = {.kco_qps = -1};
	struct kube_error err;
	if (kube_client_new(&cfg, &co, &fz_client, &err) != CC_OK)
		abort();
}

/* The notification callback takes the read lock, as the controller's does. */
static void
fz_notify(void *arg, const char *ns, const char *name)
{
	struct store *st = arg;
	store_rdlock(st);
	(void)store_cert_get(st, ns, name);
	store_unlock(st);
	fz_notes++;
}

static uint32_t
fz_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Every accessor over every record, so that a broken index shows up under ASan. */
static void
fz_read_back(struct store *st)
{
	const struct rec_cr *crs[FZ_LIST_MAX];
	const struct rec_order *orders[FZ_LIST_MAX];
	const struct rec_challenge *chs[FZ_LIST_MAX];
	const struct rec_event *evs[FZ_LIST_MAX];
	const struct rec_cert *certs[FZ_LIST_MAX];
	struct store_iter it;

	store_rdlock(st);
	for (int k = 0; k < RES_KIND_COUNT; k++) {
		size_t n = 0;
		memset(&it, 0, sizeof it);
		while (store_next(st, (enum res_kind)k, &it) != NULL)
			n++;
		if (n != store_count(st, (enum res_kind)k)) {
			fprintf(stderr, "fuzz_watch: %s: %zu records iterated, %zu counted\n",
			    res_kind_name((enum res_kind)k), n, store_count(st, (enum res_kind)k));
			abort();
		}
	}
	const struct rec_cert *c;
	memset(&it, 0, sizeof it);
	while ((c = store_cert_next(st, NULL, &it)) != NULL) {
		const char *ns = c->c_meta.m_ns, *name = c->c_meta.m_name;
		(void)store_cert_issuer(st, c);
		(void)store_cert_issuer_type(st, c);
		(void)store_events_of(st, "Certificate", ns, name, evs, FZ_LIST_MAX);
		size_t ncr = store_cert_crs(st, ns, name, crs, FZ_LIST_MAX);
		for (size_t i = 0; i < ncr && i < FZ_LIST_MAX; i++) {
			size_t no = store_cr_orders(st, crs[i]->r_meta.m_ns, crs[i]->r_meta.m_name,
			    orders, FZ_LIST_MAX);
			for (size_t j = 0; j < no && j < FZ_LIST_MAX; j++)
				(void)store_order_challenges(st, orders[j]->o_meta.m_ns,
				    orders[j]->o_meta.m_name, chs, FZ_LIST_MAX);
		}
	}
	const struct rec_issuer *is;
	for (int k = RES_ISSUER; k <= RES_CLUSTERISSUER; k++) {
		memset(&it, 0, sizeof it);
		while ((is = store_next(st, (enum res_kind)k, &it)) != NULL)
			(void)store_issuer_certs(st, "cert-manager.io",
			    k == RES_ISSUER ? "Issuer" : "ClusterIssuer", is->i_meta.m_ns,
			    is->i_meta.m_name, certs, FZ_LIST_MAX);
	}
	store_unlock(st);

	struct status_rows rows = {NULL, 0};
	status_rows_build(st, "", &rows); /* scoring is fuzz_scan's: here the store's links */
	status_print_table(fz_null, &rows, 1, FZ_NOW);
	status_rows_free(&rows);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_null == NULL)
		fz_init();
	if (size < 2)
		return 0;
	const struct res_desc *d = &res_table()[(data[0] & 0x0f) % RES_DESC_COUNT];
	log_setup(data[0] & 0x40 ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT, LOG_DEBUG);
	uint32_t x = data[1] * 2654435761u + 1;
	size_t most = (size_t)1 << (data[1] % 12);
	const char *body = (const char *)data + 2;
	size_t len = size - 2;

	struct store *st = store_new();
	store_set_notify(st, fz_notify, st);
	struct refl_opts o = {
		.ro_client = fz_client,
		.ro_store = st,
		.ro_desc = d,
		.ro_namespace = "shop",
		.ro_max_line = fz_max_lines[(data[0] >> 4) & 3],
	};
	struct refl *r = NULL;
	if (refl_new(&o, &r) != CC_OK)
		abort();

	size_t at = 0;
	while (at < len) {
		refl_stream_begin(r);
		int rc = CC_OK;
		while (at < len && rc == CC_OK) {
			size_t n = data[1] == 0 ? len - at : 1 + fz_rand(&x) % most;
			if (n > len - at)
				n = len - at;
			rc = refl_stream_feed(r, body + at, n);
			at += n;
		}
		unsigned long long lines = 0;
		rc = refl_stream_end(r, rc, &lines);
		if (rc == CC_ERR_GONE) {
			/* the relist that follows finds nothing: what the stream made vanishes */
			uint64_t gen = store_relist_begin(st, d);
			store_relist_end(st, d, gen);
		} else if (rc != CC_OK && rc != CC_ERR_UNAVAILABLE) {
			fprintf(stderr, "fuzz_watch: stream ended with %s\n", cc_strerror(rc));
			abort();
		}
	}

	char rv[128];
	refl_resource_version(r, rv, sizeof rv);
	(void)refl_counter(r, REFL_STAT_EVENTS, "invalid");
	fz_read_back(st);
	refl_free(r);
	store_free(st);
	return 0;
}
