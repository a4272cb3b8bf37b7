/*
 * Concurrency stress: every kind of thread the controller runs, at once, on one store, one
 * reconciler, one metrics registry, one learned model, one signals state and one ARI cache.
 * Meant to be run under ThreadSanitizer (make test-tsan) and AddressSanitizer as well as in the
 * plain build: the invariants at the end catch lost or doubled work, the sanitizers catch the
 * races that produce none of it visibly.
 *
 * The threads and what they stand for:
 *   - STRESS_WRITERS store writers (the reflectors' handlers): store_apply of Certificates and
 *     CertificateRequests, added, changed, moved between issuers and deleted, and now and then
 *     a relist of the Issuers (store_relist_*), each changed, as after a watch's 410;
 *   - STRESS_WORKERS reconcile workers, fed by the store's notifications through a work queue,
 *     as ctl.c wires them;
 *   - one HTTP-like thread: recon_explain with both renderings, recon_status with its JSON,
 *     and met_write (what /metrics serves) with a collector like the controller's;
 *   - one feeder: cert-manager's signals (sig_*), ARI windows (arc_*) and an ACME budget count
 *     (bg_refresh, under the store's read lock like the workers' counts);
 *   - one trainer: recon_learn_all, and what the checkpoint and the collector read of the model.
 * Everything runs for a number of operations, not for a time: the same work on every machine.
 */
#include "aricache.h"
#include "budget.h"
#include "buf.h"
#include "cc_err.h"
#include "explain_fmt.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "reconcile.h"
#include "records.h"
#include "resource.h"
#include "signals.h"
#include "status.h"
#include "store.h"
#include "testcert.h"
#include "workqueue.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STRESS_CERTS 300     /* Certificates, over STRESS_NS namespaces */
#define STRESS_NS 10
#define STRESS_CRS_MAX 6     /* requests kept per Certificate (below reconcile's learn window) */
#define STRESS_WRITERS 2
#define STRESS_WORKERS 2
#define STRESS_NOW 1773532800LL /* 2026-03-15T00:00:00Z */

static void
quiet(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
}

TestSuite(concurrency, .init = quiet, .timeout = 900);

/* Operations per writer (CERTCAST_STRESS_OPS, default 2000); the other threads scale with it. */
static long
stress_ops(void)
{
	const char *env = getenv("CERTCAST_STRESS_OPS");
	if (env && env[0]) {
		char *end;
		long n = strtol(env, &end, 10);
		if (*end == '\0' && n > 0)
			return n;
	}
	return 2000;
}

/*
 * The time every thread scores at: it moves one second every 16 readings, so the issuer cache
 * and the budget count (60-second lifetimes) expire and are rebuilt while workers use them.
 */
static atomic_llong clock_ticks;
static int64_t
stress_clock(void)
{
	return STRESS_NOW + (int64_t)(atomic_fetch_add(&clock_ticks, 1) / 16);
}

static const struct res_desc *
desc(enum res_kind k)
{
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == k)
			return &res_table()[i];
	return NULL;
}

/* A small deterministic generator per thread (xorshift), so a failing run can be repeated. */
static unsigned
rnd(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (unsigned)(*s >> 11);
}

struct stress {
	struct store *st;
	struct met_registry *reg;
	struct met_std ms;
	struct sig_state *sig;
	struct mdl *model;
	struct arc *ari;
	struct recon *rc;
	struct wq *queue;
	char *issued_b64;           /* one issued certificate (base64 of PEM) some requests carry */
	long ops;
	atomic_long reconciled;     /* recon_key calls by the workers */
	atomic_long bad_metric_lines;
	atomic_long bad_calls;      /* unexpected return codes seen off the main thread */
	atomic_ullong uids_made;    /* distinct finished requests ever applied */
	char bad_line[512];         /* the first bad metrics line, for the message */
	pthread_mutex_t bad_mu;
};

static void
cert_name(int i, char *ns, size_t nssz, char *name, size_t namesz)
{
	snprintf(ns, nssz, "ns%d", i % STRESS_NS);
	snprintf(name, namesz, "c%d", i);
}

/* Certificate i, version rv, on Issuer ca (flip 0) or ACME ClusterIssuer le (flip 1). */
static int
put_cert(struct stress *s, int i, enum store_event ev, long rv, int flip)
{
	char ns[16], name[16], rvs[24], na[32];
	cert_name(i, ns, sizeof ns, name, sizeof name);
	snprintf(rvs, sizeof rvs, "%ld", rv);
	/* notAfter spread over the next months, moved by each version */
	snprintf(na, sizeof na, "2026-%02d-%02dT00:00:00Z", 4 + (int)(rv % 3), 1 + (i + (int)rv) % 28);
	cJSON *o = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "namespace", ns);
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "resourceVersion", rvs);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "secretName", name);
	char dns[64];
	snprintf(dns, sizeof dns, "%s.%s.example.com", name, ns);
	cJSON *names = cJSON_AddArrayToObject(spec, "dnsNames");
	cJSON_AddItemToArray(names, cJSON_CreateString(dns));
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", flip ? "le" : "ca");
	cJSON_AddStringToObject(ir, "kind", flip ? "ClusterIssuer" : "Issuer");
	cJSON *sts = cJSON_AddObjectToObject(o, "status");
	cJSON_AddStringToObject(sts, "notBefore", "2026-01-01T00:00:00Z");
	cJSON_AddStringToObject(sts, "notAfter", na);
	char err[256] = "";
	int rc = store_apply(s->st, desc(RES_CERTIFICATE), ev, o, err, sizeof err);
	cJSON_Delete(o);
	return rc;
}

/* The UID of request k of Certificate i. */
static void
cr_uid(int i, int k, char *uid, size_t n)
{
	snprintf(uid, n, "uid-c%d-r%d", i, k);
}

/* Request k of Certificate i, finished an hour after it was created; ev DELETED removes it. */
static int
put_cr(struct stress *s, int i, int k, enum store_event ev, int flip)
{
	char ns[16], cert[16], name[40], uid[64], created[32], done[32];
	cert_name(i, ns, sizeof ns, cert, sizeof cert);
	snprintf(name, sizeof name, "%s-%d", cert, k);
	cr_uid(i, k, uid, sizeof uid);
	/* k orders the requests in time: a minute apart, from the start of the year */
	int64_t t = 1767225600 + (int64_t)k * 60;
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
	tt += 3600;
	gmtime_r(&tt, &tm);
	strftime(done, sizeof done, "%Y-%m-%dT%H:%M:%SZ", &tm);
	int failed = (i + k) % 7 == 0;
	cJSON *o = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "namespace", ns);
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "uid", uid);
	cJSON_AddStringToObject(md, "resourceVersion", "1");
	cJSON_AddStringToObject(md, "creationTimestamp", created);
	cJSON *an = cJSON_AddObjectToObject(md, "annotations");
	cJSON_AddStringToObject(an, "cert-manager.io/certificate-name", cert);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "request", "");
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", flip ? "le" : "ca");
	cJSON_AddStringToObject(ir, "kind", flip ? "ClusterIssuer" : "Issuer");
	cJSON *sts = cJSON_AddObjectToObject(o, "status");
	cJSON *cond = cJSON_CreateObject();
	cJSON_AddStringToObject(cond, "type", "Ready");
	cJSON_AddStringToObject(cond, "status", failed ? "False" : "True");
	cJSON_AddStringToObject(cond, "reason", failed ? "Failed" : "Issued");
	cJSON_AddStringToObject(cond, "message",
	    failed ? "Failed to wait for order: context deadline exceeded" : "ok");
	cJSON_AddStringToObject(cond, "lastTransitionTime", done);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(sts, "conditions"), cond);
	/* one in four issued requests carries a certificate: anomalies, budgets, ARI */
	if (!failed && k % 4 == 0)
		cJSON_AddStringToObject(sts, "certificate", s->issued_b64);
	char err[256] = "";
	int rc = store_apply(s->st, desc(RES_CERTIFICATEREQUEST), ev, o, err, sizeof err);
	cJSON_Delete(o);
	return rc;
}

/* Issuer ca in every namespace, at version rv, as an event ev of a watch or a list item. */
static int
put_ns_issuers(struct stress *s, enum store_event ev, long rv)
{
	int bad = 0;
	char rvs[24];
	snprintf(rvs, sizeof rvs, "%ld", rv);
	for (int n = 0; n < STRESS_NS; n++) {
		char ns[16];
		snprintf(ns, sizeof ns, "ns%d", n);
		cJSON *o = cJSON_CreateObject();
		cJSON *md = cJSON_AddObjectToObject(o, "metadata");
		cJSON_AddStringToObject(md, "namespace", ns);
		cJSON_AddStringToObject(md, "name", "ca");
		cJSON_AddStringToObject(md, "resourceVersion", rvs);
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "ca");
		/* Ready flips with each version: an issuer change every Certificate on it hears of */
		cJSON *cond = cJSON_CreateObject();
		cJSON_AddStringToObject(cond, "type", "Ready");
		cJSON_AddStringToObject(cond, "status", rv % 2 ? "True" : "False");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(o, "status"),
					 "conditions"),
		    cond);
		if (store_apply(s->st, desc(RES_ISSUER), ev, o, NULL, 0) != CC_OK)
			bad++;
		cJSON_Delete(o);
	}
	return bad;
}

static void
put_issuers(struct stress *s)
{
	cr_assert_eq(put_ns_issuers(s, STORE_ADDED, 1), 0);
	cJSON *o = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", "le");
	cJSON_AddStringToObject(md, "resourceVersion", "1");
	cJSON *acme = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "acme");
	cJSON_AddStringToObject(acme, "server", "https://acme.example/directory");
	cr_assert_eq(store_apply(s->st, desc(RES_CLUSTERISSUER), STORE_ADDED, o, NULL, 0), CC_OK);
	cJSON_Delete(o);
}

/* What each writer knows of its own Certificates (writer w owns those with i % WRITERS == w). */
struct cert_state {
	int present;
	int flip;
	long rv;
	int first_cr, next_cr; /* requests [first_cr, next_cr) are in the store */
};
static struct cert_state certs[STRESS_CERTS];

/* The store's notification, as ctl_notify: queue the key. Runs on the writers' threads. */
static void
notify(void *arg, const char *ns, const char *name)
{
	struct stress *s = arg;
	char key[128];
	snprintf(key, sizeof key, "%s/%s", ns, name);
	wq_add(s->queue, key);
}

static void
bad_call(struct stress *s)
{
	atomic_fetch_add(&s->bad_calls, 1);
}

struct writer_arg {
	struct stress *s;
	int w;
};

static void *
writer(void *p)
{
	struct writer_arg *wa = p;
	struct stress *s = wa->s;
	unsigned long long seed = 0x9E3779B97F4A7C15ULL * (unsigned long long)(wa->w + 1);
	for (long op = 0; op < s->ops; op++) {
		/*
		 * Not faster than the workers follow: otherwise the writers are done before the
		 * workers get going, and the queue's deduplication leaves little to reconcile.
		 */
		while (wq_len(s->queue) > 16)
			usleep(100);
		if (wa->w == 0 && op % 250 == 249) {
			/*
			 * The Issuers' reflector after a 410: a relist of every Issuer, changed, so
			 * that each notifies all its Certificates while the other writer goes on.
			 */
			uint64_t gen = store_relist_begin(s->st, desc(RES_ISSUER));
			if (put_ns_issuers(s, STORE_SYNC, 2 + op / 250) != 0)
				bad_call(s);
			store_relist_end(s->st, desc(RES_ISSUER), gen);
			continue;
		}
		int i = (int)(rnd(&seed) % (STRESS_CERTS / STRESS_WRITERS)) * STRESS_WRITERS + wa->w;
		struct cert_state *cs = &certs[i];
		unsigned what = rnd(&seed) % 10;
		if (!cs->present) {
			/* re-created, with the requests it had (a deleted owner's requests stay) */
			cs->present = 1;
			if (put_cert(s, i, STORE_ADDED, ++cs->rv, cs->flip) != CC_OK)
				bad_call(s);
		} else if (what == 0) {
			cs->present = 0;
			if (put_cert(s, i, STORE_DELETED, ++cs->rv, cs->flip) != CC_OK)
				bad_call(s);
		} else if (what == 1) {
			/* moved to the other issuer: its series must move with it */
			cs->flip = !cs->flip;
			if (put_cert(s, i, STORE_MODIFIED, ++cs->rv, cs->flip) != CC_OK)
				bad_call(s);
		} else if (what <= 5) {
			if (put_cert(s, i, STORE_MODIFIED, ++cs->rv, cs->flip) != CC_OK)
				bad_call(s);
		} else {
			/* a new request finished; the oldest goes past STRESS_CRS_MAX */
			if (put_cr(s, i, cs->next_cr++, STORE_ADDED, cs->flip) != CC_OK)
				bad_call(s);
			atomic_fetch_add(&s->uids_made, 1);
			if (cs->next_cr - cs->first_cr > STRESS_CRS_MAX &&
			    put_cr(s, i, cs->first_cr++, STORE_DELETED, cs->flip) != CC_OK)
				bad_call(s);
		}
	}
	return NULL;
}

/* A reconcile worker, as ctl_worker. */
static void *
worker(void *p)
{
	struct stress *s = p;
	char *key;
	while (wq_get(s->queue, &key) == CC_OK) {
		if (recon_key(s->rc, key) != CC_OK)
			bad_call(s);
		met_histogram_observe(s->ms.ms_reconcile_duration, NULL, 0.001);
		wq_forget(s->queue, key);
		wq_done(s->queue, key);
		free(key);
		atomic_fetch_add(&s->reconciled, 1);
	}
	return NULL;
}

/* A metric name: [a-zA-Z_:][a-zA-Z0-9_:]*. Returns its length (0: none). */
static size_t
metric_name(const char *p)
{
	size_t n = 0;
	if (!(isalpha((unsigned char)p[0]) || p[0] == '_' || p[0] == ':'))
		return 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == ':')
		n++;
	return n;
}

/*
 * One line of the text format: "# HELP name text", "# TYPE name type", or
 * name{label="value",...} value (labels optional). 1 when it is one of them.
 */
static int
metric_line_ok(const char *l)
{
	if (strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0)
		return metric_name(l + 7) > 0;
	size_t n = metric_name(l);
	if (n == 0)
		return 0;
	const char *p = l + n;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			size_t ln = metric_name(p);
			if (ln == 0 || p[ln] != '=' || p[ln + 1] != '"')
				return 0;
			p += ln + 2;
			while (*p && *p != '"') {
				if (*p == '\\') {
					if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
						return 0;
					p++;
				}
				p++;
			}
			if (*p != '"')
				return 0;
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return 0;
		}
		p++;
	}
	if (*p != ' ')
		return 0;
	p++;
	char *end;
	(void)strtod(p, &end);
	return end != p && *end == '\0';
}

/* Check every line of a met_write; count (and keep the first of) the bad ones. */
static void
check_metrics_text(struct stress *s, const struct buf *b)
{
	char *text = strndup(b->b_data ? b->b_data : "", b->b_len);
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (metric_line_ok(l))
			continue;
		if (atomic_fetch_add(&s->bad_metric_lines, 1) == 0) {
			pthread_mutex_lock(&s->bad_mu);
			snprintf(s->bad_line, sizeof s->bad_line, "%s", l);
			pthread_mutex_unlock(&s->bad_mu);
		}
	}
	free(text);
}

/* The controller's collector (ctl_collect): queue depth and the model's calibration. */
static void
collect(void *arg)
{
	struct stress *s = arg;
	met_gauge_set(s->ms.ms_workqueue_depth, NULL, (double)wq_len(s->queue));
	struct lm_calibration cal;
	uint64_t nf = 0, nsu = 0;
	mdl_calibration(s->model, &cal, &nf, &nsu);
	const char *const fl[] = {"failed"}, *const sl[] = {"succeeded"};
	met_counter_set(s->ms.ms_model_outcomes, fl, (double)nf);
	met_counter_set(s->ms.ms_model_outcomes, sl, (double)nsu);
	if (cal.cal_n > 0)
		met_gauge_set(s->ms.ms_model_brier, NULL, cal.cal_brier);
}

/* The HTTP thread: /explain (text and JSON), /status, /metrics. */
static void *
http_like(void *p)
{
	struct stress *s = p;
	unsigned long long seed = 0xC0FFEEULL;
	struct xf_explanation *x = malloc(sizeof *x);
	long n = s->ops / 2;
	for (long op = 0; op < n; op++) {
		int i = (int)(rnd(&seed) % STRESS_CERTS);
		char ns[16], name[16];
		cert_name(i, ns, sizeof ns, name, sizeof name);
		int rc = recon_explain(s->rc, ns, name, x);
		if (rc == CC_OK) {
			struct buf b;
			buf_init(&b, 4u << 20);
			if ((op & 1 ? xf_json(&b, ns, name, x) : xf_text(&b, ns, name, NULL, x)) != CC_OK)
				bad_call(s);
			buf_free(&b);
		} else if (rc != CC_ERR_NOTFOUND) {
			bad_call(s);
		}
		if (op % 8 == 0) {
			struct buf b;
			buf_init(&b, 64u << 20);
			if (met_write(s->reg, &b) != CC_OK)
				bad_call(s);
			check_metrics_text(s, &b);
			buf_free(&b);
		}
		if (op % 100 == 0) {
			struct status_rows rows;
			recon_status(s->rc, op % 200 == 0 ? NULL : ns, &rows);
			char *json = status_json_text(&rows);
			if (json == NULL || json[0] != '{')
				bad_call(s);
			free(json);
			status_rows_free(&rows);
		}
	}
	free(x);
	return NULL;
}

/* The scraper's and the ARI poller's writes, and a budget count as the workers make it. */
static void *
feeder(void *p)
{
	struct stress *s = p;
	unsigned long long seed = 0xFEEDULL;
	struct bg_book *book = bg_open(NULL, 0, 0);
	double req = 0, s5xx = 0;
	for (long op = 0; op < s->ops; op++) {
		int64_t now = stress_clock();
		/* cert-manager's pod and a scrape of its ACME counters */
		struct sig_pod pod = {"cm-pod", (int32_t)(op / 500), 0, STRESS_NOW - 86400};
		sig_pods(s->sig, &pod, 1, now);
		struct sig_scrape sc;
		memset(&sc, 0, sizeof sc);
		sc.ss_n = 1;
		snprintf(sc.ss_hosts[0].st_host, sizeof sc.ss_hosts[0].st_host, "acme.example");
		req += 10;
		s5xx += rnd(&seed) % 3;
		sc.ss_hosts[0].st_requests = req;
		sc.ss_hosts[0].st_5xx = s5xx;
		sig_record(s->sig, "cm-pod", &sc, 1, now);
		struct sc_signals sg;
		sig_get(s->sig, "acme.example", now, &sg);
		(void)sig_digest(s->sig, now);
		if (op % 64 == 0)
			sig_prune(s->sig, now);
		/* the ARI poller: a request's identifier, a window or a failure, pruning */
		int i = (int)(rnd(&seed) % STRESS_CERTS);
		char uid[64], id[ARC_ID_MAX];
		cr_uid(i, (int)(rnd(&seed) % 8) * 4, uid, sizeof uid);
		snprintf(id, sizeof id, "id-%s", uid);
		(void)arc_track(s->ari, uid, id, now);
		if (arc_due(s->ari, id, now)) {
			if (rnd(&seed) % 5 == 0) {
				(void)arc_failed(s->ari, id, 0, now);
			} else {
				struct ari_window w = {now + 86400 * (int64_t)(1 + op % 5),
				    now + 86400 * (int64_t)(2 + op % 5), ""};
				(void)arc_answer(s->ari, id, &w, 3600, now);
			}
		}
		struct ari_window got;
		(void)arc_window_of(s->ari, uid, &got);
		if (op % 256 == 0)
			(void)arc_prune(s->ari, now - 3600);
		/* a budget count: the public recount, under the read lock as its contract says */
		if (op % 50 == 0) {
			store_rdlock(s->st);
			(void)bg_refresh(book, s->st, now);
			store_unlock(s->st);
			const char *names[] = {"c1.ns1.example.com"};
			struct sc_budget bd;
			(void)bg_lookup(book, "https://acme.example/directory", "ns1/c1", names, 1, 0, &bd,
			    NULL, 0);
		}
	}
	bg_free(book);
	return NULL;
}

/* The controller's resync, as ctl_enqueue_all: every Certificate's key, read under the lock. */
static void
resync(struct stress *s)
{
	char **keys = calloc(STRESS_CERTS, sizeof *keys);
	size_t k = 0;
	store_rdlock(s->st);
	struct store_iter it = {0};
	const struct rec_cert *c;
	while (k < STRESS_CERTS && (c = store_cert_next(s->st, NULL, &it)) != NULL) {
		size_t n = strlen(c->c_meta.m_ns) + strlen(c->c_meta.m_name) + 2;
		keys[k] = malloc(n);
		snprintf(keys[k++], n, "%s/%s", c->c_meta.m_ns, c->c_meta.m_name);
	}
	store_unlock(s->st);
	for (size_t i = 0; i < k; i++) {
		wq_add(s->queue, keys[i]);
		free(keys[i]);
	}
	free(keys);
}

/*
 * The controller's main loop: the start-up learning pass, resyncs, and what the checkpoint
 * reads of the model.
 */
static void *
trainer(void *p)
{
	struct stress *s = p;
	long n = s->ops / 200 + 1;
	for (long op = 0; op < n; op++) {
		(void)recon_learn_all(s->rc);
		resync(s);
		struct buf b;
		buf_init(&b, MDL_FILE_MAX);
		if (mdl_encode(s->model, &b) != CC_OK)
			bad_call(s);
		buf_free(&b);
		struct lm_model lm;
		mdl_snapshot(s->model, &lm);
		(void)mdl_unsaved(s->model);
	}
	return NULL;
}

static void
stress_init(struct stress *s)
{
	memset(s, 0, sizeof *s);
	memset(certs, 0, sizeof certs);
	atomic_store(&clock_ticks, 0);
	pthread_mutex_init(&s->bad_mu, NULL);
	s->ops = stress_ops();
	s->st = store_new();
	s->reg = met_registry_new();
	cr_assert_eq(met_std_register(s->reg, "t", &s->ms), CC_OK);
	s->sig = sig_new(600);
	s->model = mdl_new(0);
	s->ari = arc_new(256); /* small: eviction happens while workers read */
	s->queue = wq_new(NULL);
	struct recon_opts o = {s->st, &s->ms, NULL, stress_clock};
	o.ro_signals = s->sig;
	o.ro_model = s->model;
	o.ro_ari = s->ari;
	s->rc = recon_new(&o);
	met_add_collector(s->reg, collect, s);

	EVP_PKEY *k = tc_key("P-256");
	struct tc_spec sp = {"stress CA", "c1.ns1.example.com", "DNS:c1.ns1.example.com",
	    1767225600, 1767225600 + 90 * 86400, EVP_sha256(), 0, 7};
	X509 *xc = tc_cert(k, k, &sp);
	size_t plen, blen;
	char *pem = tc_pem(&xc, 1, &plen);
	s->issued_b64 = tc_b64(pem, plen, &blen);
	free(pem);
	X509_free(xc);
	EVP_PKEY_free(k);

	/* the starting cluster, applied before anyone listens, as the first list is */
	put_issuers(s);
	for (int i = 0; i < STRESS_CERTS; i++) {
		certs[i].present = 1;
		certs[i].flip = i % 3 == 0;
		certs[i].rv = 1;
		cr_assert_eq(put_cert(s, i, STORE_ADDED, 1, certs[i].flip), CC_OK);
		for (int k2 = 0; k2 < 3; k2++) {
			cr_assert_eq(put_cr(s, i, k2, STORE_ADDED, certs[i].flip), CC_OK);
			atomic_fetch_add(&s->uids_made, 1);
		}
		certs[i].next_cr = 3;
	}
	store_set_notify(s->st, notify, s);
	/* the first sync queues every Certificate, as ctl_enqueue_all */
	for (int i = 0; i < STRESS_CERTS; i++) {
		char ns[16], name[16], key[40];
		cert_name(i, ns, sizeof ns, name, sizeof name);
		snprintf(key, sizeof key, "%s/%s", ns, name);
		wq_add(s->queue, key);
	}
}

static void
stress_fini(struct stress *s)
{
	recon_free(s->rc);
	wq_free(s->queue);
	met_registry_free(s->reg);
	store_free(s->st);
	arc_free(s->ari);
	sig_free(s->sig);
	mdl_free(s->model);
	free(s->issued_b64);
	pthread_mutex_destroy(&s->bad_mu);
}

Test(concurrency, every_thread_at_once)
{
	static struct stress s; /* large: off the test's stack */
	stress_init(&s);

	pthread_t wr[STRESS_WRITERS], wk[STRESS_WORKERS], http, feed, train;
	struct writer_arg wa[STRESS_WRITERS];
	for (int i = 0; i < STRESS_WORKERS; i++)
		cr_assert_eq(pthread_create(&wk[i], NULL, worker, &s), 0);
	for (int i = 0; i < STRESS_WRITERS; i++) {
		wa[i] = (struct writer_arg){&s, i};
		cr_assert_eq(pthread_create(&wr[i], NULL, writer, &wa[i]), 0);
	}
	cr_assert_eq(pthread_create(&http, NULL, http_like, &s), 0);
	cr_assert_eq(pthread_create(&feed, NULL, feeder, &s), 0);
	cr_assert_eq(pthread_create(&train, NULL, trainer, &s), 0);

	for (int i = 0; i < STRESS_WRITERS; i++)
		pthread_join(wr[i], NULL);
	pthread_join(http, NULL);
	pthread_join(feed, NULL);
	pthread_join(train, NULL);
	/* the workers drain what the writers queued, then stop as the controller stops them */
	while (wq_len(s.queue) > 0 || wq_processing_len(s.queue) > 0)
		usleep(1000);
	wq_shutdown(s.queue);
	for (int i = 0; i < STRESS_WORKERS; i++)
		pthread_join(wk[i], NULL);

	cr_expect_eq(atomic_load(&s.bad_calls), 0, "unexpected return codes off the main thread");
	cr_expect_eq(atomic_load(&s.bad_metric_lines), 0, "bad metrics line, the first: \"%s\"",
	    s.bad_line);
	cr_expect(atomic_load(&s.reconciled) >= STRESS_CERTS, "the workers reconciled (%ld)",
	    atomic_load(&s.reconciled));

	fprintf(stderr, "concurrency: %ld writer ops each, %ld reconciles by the workers\n", s.ops,
	    atomic_load(&s.reconciled));

	/* A final reconcile of every key: the table is the store's Certificates, no more, no less. */
	for (int i = 0; i < STRESS_CERTS; i++) {
		char ns[16], name[16], key[40];
		cert_name(i, ns, sizeof ns, name, sizeof name);
		snprintf(key, sizeof key, "%s/%s", ns, name);
		cr_assert_eq(recon_key(s.rc, key), CC_OK);
	}
	store_rdlock(s.st);
	size_t in_store = store_count(s.st, RES_CERTIFICATE);
	store_unlock(s.st);
	size_t present = 0;
	for (int i = 0; i < STRESS_CERTS; i++)
		present += (size_t)certs[i].present;
	cr_expect_eq(in_store, present, "the store holds what the writers left (%zu, %zu)",
	    in_store, present);
	cr_expect_eq(recon_tracked(s.rc), in_store, "tracked %zu, in the store %zu",
	    recon_tracked(s.rc), in_store);
	cr_expect_eq(met_series_count(s.ms.ms_cert_risk), in_store, "risk series %zu for %zu",
	    met_series_count(s.ms.ms_cert_risk), in_store);
	cr_expect_eq(met_series_count(s.ms.ms_cert_renew_before), in_store);
	for (int i = 0; i < STRESS_CERTS; i++) {
		char ns[16], name[16];
		cert_name(i, ns, sizeof ns, name, sizeof name);
		const char *ik = certs[i].flip ? "ClusterIssuer" : "Issuer";
		const char *in = certs[i].flip ? "le" : "ca";
		double v;
		int rc = met_value(s.ms.ms_cert_risk, MET_CERT_LABELS(ns, name, ik, in), &v);
		cr_expect_eq(rc, certs[i].present ? CC_OK : CC_ERR_NOTFOUND,
		    "%s/%s: risk series %s with its current issuer %s/%s", ns, name,
		    certs[i].present ? "missing" : "left behind", ik, in);
	}
	/* the issuer series (labelled kind and name, not namespace): one per issuer still in use */
	int used_le = 0, used_ca = 0;
	for (int i = 0; i < STRESS_CERTS; i++) {
		if (certs[i].present && certs[i].flip)
			used_le = 1;
		else if (certs[i].present)
			used_ca = 1;
	}
	cr_expect_eq(met_series_count(s.ms.ms_issuer_failure_prob), (size_t)(used_le + used_ca),
	    "issuer series %zu for %d issuers in use", met_series_count(s.ms.ms_issuer_failure_prob),
	    used_le + used_ca);

	/* each outcome learned once: never more than were made, and nothing left to learn */
	cr_expect_eq(recon_learn_all(s.rc), 0, "a final pass finds everything learned");
	struct lm_calibration cal;
	uint64_t nf = 0, nsu = 0;
	mdl_calibration(s.model, &cal, &nf, &nsu);
	cr_expect(nf + nsu <= atomic_load(&s.uids_made), "learned %llu of %llu outcomes made",
	    (unsigned long long)(nf + nsu), (unsigned long long)atomic_load(&s.uids_made));
	/* (the requests of a deleted Certificate need not have been learned: nothing walks them) */
	size_t crs_now = 0;
	for (int i = 0; i < STRESS_CERTS; i++)
		if (certs[i].present)
			crs_now += (size_t)(certs[i].next_cr - certs[i].first_cr);
	cr_expect(nf + nsu >= crs_now, "every request of a present Certificate learned (%llu < %zu)",
	    (unsigned long long)(nf + nsu), crs_now);

	/* /status lists exactly the store's Certificates; /metrics still parses */
	struct status_rows rows;
	recon_status(s.rc, NULL, &rows);
	cr_expect_eq(rows.sr_n, in_store);
	status_rows_free(&rows);
	struct buf b;
	buf_init(&b, 64u << 20);
	cr_assert_eq(met_write(s.reg, &b), CC_OK);
	check_metrics_text(&s, &b);
	buf_free(&b);
	cr_expect_eq(atomic_load(&s.bad_metric_lines), 0, "bad metrics line: \"%s\"", s.bad_line);

	stress_fini(&s);
}
