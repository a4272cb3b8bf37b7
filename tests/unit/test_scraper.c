/*
 * scraper: rounds against a scripted /metrics server on 127.0.0.1, with the pods in a store:
 * which pods are scraped, how each result is counted, and what reaches the signals.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cc_err.h"
#include "log.h"
#include "metrics.h"
#include "resource.h"
#include "scraper.h"
#include "signals.h"
#include "store.h"
#include "testhttp.h"

static void
quiet(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
}

TestSuite(scraper, .init = quiet);

static int64_t now_s = 1742400000;

static int64_t
test_clock(void)
{
	return now_s;
}

static const struct res_desc *
pod_desc(void)
{
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == RES_POD)
			return &res_table()[i];
	return NULL;
}

/* A cert-manager controller pod; ip NULL: none yet. */
static void
put_pod(struct store *st, const char *name, const char *uid, const char *phase, int ready,
    const char *ip, int restarts)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "namespace", "cert-manager");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "uid", uid);
	char rv[32];
	snprintf(rv, sizeof rv, "%d", restarts + 1);
	cJSON_AddStringToObject(md, "resourceVersion", rv);
	cJSON *status = cJSON_AddObjectToObject(o, "status");
	cJSON_AddStringToObject(status, "phase", phase);
	cJSON_AddStringToObject(status, "startTime", "2025-01-01T00:00:00Z");
	if (ip)
		cJSON_AddStringToObject(status, "podIP", ip);
	cJSON *conds = cJSON_AddArrayToObject(status, "conditions");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", "Ready");
	cJSON_AddStringToObject(c, "status", ready ? "True" : "False");
	cJSON_AddItemToArray(conds, c);
	cJSON *cs = cJSON_AddArrayToObject(status, "containerStatuses");
	cJSON *c0 = cJSON_CreateObject();
	cJSON_AddStringToObject(c0, "name", "cert-manager-controller");
	cJSON_AddNumberToObject(c0, "restartCount", restarts);
	cJSON_AddItemToArray(cs, c0);
	char err[256] = "";
	cr_assert_eq(store_apply(st, pod_desc(), STORE_ADDED, o, err, sizeof err), CC_OK, "%s", err);
	cJSON_Delete(o);
}

static char body_a[1024];
/*
 * Guards body_a: the test thread rewrites it between rounds while the server's connection
 * thread sends it. The round trip over the socket orders the two, but ThreadSanitizer cannot
 * see through a socket and reported the pair as a race (make test-tsan).
 */
static pthread_mutex_t body_mu = PTHREAD_MUTEX_INITIALIZER;

static void
set_body(char *b, double req, double s5xx)
{
	pthread_mutex_lock(&body_mu);
	snprintf(b, 512,
	    "# TYPE certmanager_http_acme_client_request_count counter\n"
	    "certmanager_http_acme_client_request_count{scheme=\"https\",host=\"acme.example\","
	    "action=\"new_order\",method=\"POST\",status=\"201\"} %g\n"
	    "certmanager_http_acme_client_request_count{scheme=\"https\",host=\"acme.example\","
	    "action=\"new_order\",method=\"POST\",status=\"503\"} %g\n",
	    req - s5xx, s5xx);
	pthread_mutex_unlock(&body_mu);
}

/* Answers /metrics from body_a; anything else 404. */
static void
handler(void *arg, const struct th_request *req, struct th_conn *conn)
{
	(void)arg;
	if (strcmp(req->tr_target, "/metrics") == 0) {
		char body[sizeof body_a];
		pthread_mutex_lock(&body_mu);
		memcpy(body, body_a, sizeof body);
		pthread_mutex_unlock(&body_mu);
		th_send_simple(conn, 200, "Content-Type: text/plain; version=0.0.4\r\n", body);
	} else
		th_send_simple(conn, 404, NULL, "not here\n");
}

struct world {
	struct th_server *srv;
	struct store *st;
	struct sig_state *sig;
	struct met_registry *reg;
	struct met_std ms;
	struct scr *scr;
	int changed;
};

static void
on_changed(void *arg)
{
	((struct world *)arg)->changed++;
}

static void
world_init(struct world *w, int port_override)
{
	memset(w, 0, sizeof *w);
	struct th_opts to = {0, 0, handler, NULL};
	cr_assert_eq(th_server_start(&to, &w->srv), CC_OK);
	w->st = store_new();
	w->sig = sig_new(600);
	w->reg = met_registry_new();
	cr_assert_eq(met_std_register(w->reg, "t", &w->ms), CC_OK);
	struct scr_opts so;
	memset(&so, 0, sizeof so);
	so.so_store = w->st;
	so.so_signals = w->sig;
	so.so_port = port_override >= 0 ? port_override : th_server_port(w->srv);
	so.so_interval = 30;
	so.so_scrapes = w->ms.ms_cm_scrapes;
	so.so_changed = on_changed;
	so.so_arg = w;
	so.so_clock = test_clock;
	so.so_timeout_ms = 5000;
	w->scr = scr_new(&so);
}

static void
world_fini(struct world *w)
{
	scr_free(w->scr);
	th_server_free(w->srv);
	met_registry_free(w->reg);
	sig_free(w->sig);
	store_free(w->st);
}

static double
scrapes(struct world *w, const char *result)
{
	double v = 0;
	const char *lv[] = {result};
	if (met_value(w->ms.ms_cm_scrapes, lv, &v) != CC_OK)
		return 0;
	return v;
}

Test(scraper, only_running_ready_pods_with_an_address)
{
	struct world w;
	world_init(&w, -1);
	set_body(body_a, 10, 0);
	put_pod(w.st, "cm-1", "u1", "Running", 1, "127.0.0.1", 0);
	put_pod(w.st, "cm-2", "u2", "Running", 0, "127.0.0.1", 0);  /* not ready */
	put_pod(w.st, "cm-3", "u3", "Pending", 0, NULL, 0);         /* no address */
	put_pod(w.st, "cm-4", "u4", "Succeeded", 1, "127.0.0.1", 0); /* finished */
	scr_round(w.scr);
	cr_expect_eq(th_server_request_count(w.srv), 1);
	const struct th_request *r = th_server_request(w.srv, 0);
	cr_assert_not_null(r);
	cr_expect_str_eq(r->tr_method, "GET");
	cr_expect_str_eq(r->tr_target, "/metrics");
	const char *accept = th_request_header(r, "Accept");
	cr_expect(accept && strstr(accept, "text/plain;version=0.0.4"), "Accept: %s",
	    accept ? accept : "(none)");
	cr_expect_eq(scrapes(&w, "ok"), 1);
	world_fini(&w);
}

Test(scraper, rates_reach_the_signals)
{
	struct world w;
	world_init(&w, -1);
	put_pod(w.st, "cm-1", "u1", "Running", 1, "127.0.0.1", 0);
	set_body(body_a, 100, 0);
	scr_round(w.scr);
	int changed_once = w.changed;
	now_s += 30;
	set_body(body_a, 150, 40);
	scr_round(w.scr);
	struct sc_signals g;
	sig_get(w.sig, "acme.example", now_s, &g);
	cr_expect_eq(g.sg_valid, 1);
	cr_expect(fabs(g.sg_requests - 50) < 1e-9, "%g", g.sg_requests);
	cr_expect(fabs(g.sg_status_5xx - 40) < 1e-9, "%g", g.sg_status_5xx);
	cr_expect_gt(w.changed, changed_once, "new rates must trigger a rescore");
	/* the same counters again: nothing new, no rescore */
	int before = w.changed;
	now_s += 1;
	scr_round(w.scr);
	cr_expect_eq(w.changed, before);
	cr_expect_eq(scrapes(&w, "ok"), 3);
	world_fini(&w);
}

Test(scraper, malformed_and_failed_scrapes_are_counted)
{
	struct world w;
	world_init(&w, -1);
	put_pod(w.st, "cm-1", "u1", "Running", 1, "127.0.0.1", 0);
	set_body(body_a, 10, 0);
	scr_round(w.scr);
	/* one bad line first: counted as malformed, the good lines after it still used */
	char good[512];
	set_body(good, 30, 5);
	pthread_mutex_lock(&body_mu);
	snprintf(body_a, sizeof body_a, "garbage{ 1\n%s", good);
	pthread_mutex_unlock(&body_mu);
	now_s += 30;
	scr_round(w.scr);
	cr_expect_eq(scrapes(&w, "malformed"), 1);
	struct sc_signals g;
	sig_get(w.sig, "acme.example", now_s, &g);
	cr_expect(fabs(g.sg_requests - 20) < 1e-9, "%g", g.sg_requests);
	world_fini(&w);

	/* nothing listens on the port: an error, and nothing recorded */
	world_init(&w, 1);
	put_pod(w.st, "cm-1", "u1", "Running", 1, "127.0.0.1", 0);
	scr_round(w.scr);
	cr_expect_eq(scrapes(&w, "error"), 1);
	cr_expect_eq(scrapes(&w, "ok"), 0);
	world_fini(&w);
}

Test(scraper, port_zero_reads_restarts_only)
{
	struct world w;
	world_init(&w, 0);
	put_pod(w.st, "cm-1", "u1", "Running", 1, "127.0.0.1", 2);
	scr_round(w.scr);
	now_s += 60;
	put_pod(w.st, "cm-1", "u1", "Running", 1, "127.0.0.1", 5);
	scr_round(w.scr);
	cr_expect_eq(th_server_request_count(w.srv), 0);
	struct sc_signals g;
	sig_get(w.sig, NULL, now_s, &g);
	cr_expect_eq(g.sg_valid, 1);
	cr_expect_eq(g.sg_restarts_1h, 3);
	cr_expect_eq(scrapes(&w, "ok") + scrapes(&w, "error"), 0);
	world_fini(&w);
}

/* A body over the limit is refused as an error, not cut and parsed. */
Test(scraper, body_limit)
{
	struct world w;
	memset(&w, 0, sizeof w);
	struct th_opts to = {0, 0, handler, NULL};
	cr_assert_eq(th_server_start(&to, &w.srv), CC_OK);
	w.st = store_new();
	w.sig = sig_new(600);
	w.reg = met_registry_new();
	cr_assert_eq(met_std_register(w.reg, "t", &w.ms), CC_OK);
	struct scr_opts so;
	memset(&so, 0, sizeof so);
	so.so_store = w.st;
	so.so_signals = w.sig;
	so.so_port = th_server_port(w.srv);
	so.so_interval = 30;
	so.so_scrapes = w.ms.ms_cm_scrapes;
	so.so_clock = test_clock;
	so.so_body_max = 64;
	w.scr = scr_new(&so);
	set_body(body_a, 10, 0);
	put_pod(w.st, "cm-1", "u1", "Running", 1, "127.0.0.1", 0);
	scr_round(w.scr);
	cr_expect_eq(scrapes(&w, "error"), 1);
	struct sc_signals g;
	sig_get(w.sig, "acme.example", now_s, &g);
	cr_expect_eq(g.sg_requests, 0);
	world_fini(&w);
}

/* The thread starts, runs a round at once, and stops promptly when freed. */
Test(scraper, thread_runs_and_stops)
{
	struct world w;
	world_init(&w, -1);
	set_body(body_a, 10, 0);
	put_pod(w.st, "cm-1", "u1", "Running", 1, "127.0.0.1", 0);
	cr_assert_eq(scr_start(w.scr), CC_OK);
	cr_expect_eq(th_server_wait_requests(w.srv, 1, 10000), CC_OK);
	world_fini(&w); /* joins the thread, which waits 30 s between rounds unless told */
}
