/* ctl: wiring of the controller, its signal handling, workers and periodic resync. */
#include "ctl.h"

#include "act.h"
#include "evrec.h"
#include "buf.h"
#include "cc_err.h"
#include "explain_fmt.h"
#include "http_server.h"
#include "httpauth.h"
#include "status.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "lease.h"
#include "leaderev.h"
#include "live.h"
#include "log.h"
#include "learn.h"
#include "metrics.h"
#include "model.h"
#include "reconcile.h"
#include "scoring.h"
#include "reflector.h"
#include "scraper.h"
#include "aricache.h"
#include "aripoll.h"
#include "signals.h"
#include "store.h"
#include "tlspair.h"
#include "workqueue.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef CERTCAST_VERSION
#define CERTCAST_VERSION "0.0.0-dev"
#endif

/*
 * Set by a signal or ctl_request_stop; the main loop polls it and the pipe wakes it at once.
 * Atomic, not volatile sig_atomic_t: ctl_request_stop is meant for tests, which call it from
 * another thread, and a volatile flag written by one thread and read by another is a data
 * race. A lock-free atomic is as safe in a signal handler as sig_atomic_t.
 */
static atomic_int ctl_stop_flag;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "ctl_stop_flag is set from a signal handler");
static int ctl_wake[2] = {-1, -1}; /* ctl_run's thread only */
/* ctl_wake[1] for ctl_wakeup, which runs on any thread while ctl_run opens and closes the pipe */
static atomic_int ctl_wake_w = -1;

struct ctl {
	const struct cfg *c_cfg;         /* borrowed settings */
	struct kube_config *c_kc;        /* owned */
	struct kube_client *c_client;    /* owned; canceled by the reflector set on stop */
	struct store *c_store;           /* owned */
	struct wq *c_queue;              /* owned */
	struct met_registry *c_reg;      /* owned */
	struct met_std c_met;            /* families in c_reg */
	struct recon *c_recon;           /* owned */
	struct mdl *c_model;             /* owned: the learned model the workers share */
	struct refl_set *c_refl;         /* owned */
	struct http_server *c_http;      /* owned */
	struct hauth *c_auth;            /* owned: httpAuth kubernetes' reviews, else NULL */
	struct kube_client *c_auth_client; /* owned: their client (short timeout, own limiter) */
	struct live *c_live;             /* owned: the live page's feed */
	pthread_t *c_workers;            /* c_nworkers threads, started after the sync */
	int c_nworkers;
	int c_started;                   /* workers running */
	struct sig_state *c_sig;         /* owned: cert-manager's live signals */
	struct scr *c_scr;               /* owned: the thread feeding c_sig */
	struct arc *c_ari;               /* owned: ACME renewal windows, NULL when ari is off */
	struct arp *c_arp;               /* owned: the thread feeding c_ari */
	struct act *c_act;               /* owned: the writes of the workers */
	struct er *c_er;                 /* owned: their Events */
	struct kube_client *c_write_client; /* owned: the workers' writes; not canceled with the
	                                       watches, so that a stop finishes writes in flight */
	struct kube_client *c_lease_client; /* owned: leader election's own client (its timeout,
	                                       no limiter, not canceled with the watches) */
	struct le *c_le;                 /* owned: the elector; NULL without --leader-elect */
	struct lev *c_lev;               /* owned: the Events of its changes, posted off its thread;
	                                    NULL without --leader-elect */
};

static void
ctl_wakeup(void)
{
	atomic_store(&ctl_stop_flag, 1);
	int fd = atomic_load(&ctl_wake_w);
	if (fd >= 0) {
		char b = 1;
		ssize_t n = write(fd, &b, 1);
		(void)n; /* a full pipe already wakes the loop */
	}
}

static void
ctl_on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	ctl_wakeup();
	errno = saved;
}

void
ctl_request_stop(void)
{
	ctl_wakeup();
}

static double
ctl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Whether this replica may write now: the elector's answer with --leader-elect, else 1 (a single
 * replica leads). Any thread; cheap enough to ask before every write. The actuator takes it as its
 * is_leader callback with the struct ctl as arg.
 */
static int
ctl_is_leader(void *arg)
{
	const struct ctl *c = arg;
	return c->c_le ? le_is_leader(c->c_le) : 1;
}

/* Store notification: a Certificate's inputs changed; queue its key. Runs on writer threads. */
static void
ctl_notify(void *arg, const char *ns, const char *name)
{
	struct ctl *c = arg;
	char key[512];
	int n = snprintf(key, sizeof key, "%s/%s", ns, name);
	if (n > 0 && (size_t)n < sizeof key) {
		wq_add(c->c_queue, key);
		return;
	}
	char *k = xasprintf("%s/%s", ns, name);
	wq_add(c->c_queue, k);
	free(k);
}

/* Queue every Certificate in the store once (after the sync, and at every resync). */
static size_t
ctl_enqueue_all(struct ctl *c)
{
	store_rdlock(c->c_store);
	size_t n = store_count(c->c_store, RES_CERTIFICATE), k = 0;
	char **keys = xcalloc(n ? n : 1, sizeof *keys);
	struct store_iter it = {0};
	const struct rec_cert *rc;
	while (k < n && (rc = store_cert_next(c->c_store, NULL, &it)) != NULL)
		keys[k++] = xasprintf("%s/%s", rc->c_meta.m_ns, rc->c_meta.m_name);
	store_unlock(c->c_store);
	/* Outside the store lock: wq_add takes the queue's lock, never both at once. */
	for (size_t i = 0; i < k; i++) {
		wq_add(c->c_queue, keys[i]);
		free(keys[i]);
	}
	free(keys);
	return k;
}

static void *
ctl_worker(void *arg)
{
	struct ctl *c = arg;
	char *key;
	while (wq_get(c->c_queue, &key) == CC_OK) {
		double t0 = ctl_now();
		int rc = recon_key(c->c_recon, key);
		met_histogram_observe(c->c_met.ms_reconcile_duration, NULL, ctl_now() - t0);
		if (rc == CC_OK || !cc_err_retryable(rc))
			wq_forget(c->c_queue, key);
		else
			wq_add_rate_limited(c->c_queue, key);
		wq_done(c->c_queue, key);
		free(key);
	}
	return NULL;
}

static void
ctl_refl_stat(void *arg, enum refl_stat what, const char *resource, const char *label,
    unsigned long long count)
{
	struct ctl *c = arg;
	const char *lv[] = {resource, label};
	struct met_family *f =
	    what == REFL_STAT_EVENTS ? c->c_met.ms_watch_events : c->c_met.ms_watch_restarts;
	met_counter_set(f, lv, (double)count);
}

/* Request counts by (verb, code), summed over the API clients. */
struct ctl_api_sum {
	struct ctl_api_row {
		char r_verb[16];               /* "GET", "WATCH", ... */
		long r_code;                   /* HTTP status, 0 for none */
		unsigned long long r_n;        /* requests */
	} *as_rows;                            /* owned */
	size_t as_n;
};

static void
ctl_api_stat(void *arg, const char *verb, long code, unsigned long long count)
{
	struct ctl_api_sum *s = arg;
	for (size_t i = 0; i < s->as_n; i++) {
		if (s->as_rows[i].r_code == code && strcmp(s->as_rows[i].r_verb, verb) == 0) {
			s->as_rows[i].r_n += count;
			return;
		}
	}
	s->as_rows = xrealloc(s->as_rows, (s->as_n + 1) * sizeof *s->as_rows);
	struct ctl_api_row *r = &s->as_rows[s->as_n++];
	xstrlcpy(r->r_verb, verb, sizeof r->r_verb);
	r->r_code = code;
	r->r_n = count;
}

/* act_emit_fn: an Event through the Event writer, stamped with the wall clock. */
static int
ctl_emit(void *arg, const struct act_ref *obj, int warning, const char *reason,
    const char *action, const char *note, char *msg, size_t msglen)
{
	struct ctl *c = arg;
	struct er_ref ref;
	memset(&ref, 0, sizeof ref);
	ref.ref_ns = obj->ar_ns;
	ref.ref_name = obj->ar_name;
	ref.ref_uid = obj->ar_uid;
	ref.ref_rv = obj->ar_rv;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	return er_emit(c->c_er, &ref, warning, reason, action, note, now_ns, msg, msglen);
}

/* certcast_api_requests_total: the watches' client plus the workers' and leader election's. */
static void
ctl_api_stats(struct ctl *c)
{
	struct ctl_api_sum s = {NULL, 0};
	kube_client_stats(c->c_client, ctl_api_stat, &s);
	if (c->c_write_client)
		kube_client_stats(c->c_write_client, ctl_api_stat, &s);
	if (c->c_lease_client)
		kube_client_stats(c->c_lease_client, ctl_api_stat, &s);
	for (size_t i = 0; i < s.as_n; i++) {
		char cs[24];
		snprintf(cs, sizeof cs, "%ld", s.as_rows[i].r_code);
		const char *lv[] = {s.as_rows[i].r_verb, cs};
		met_counter_set(c->c_met.ms_api_requests, lv, (double)s.as_rows[i].r_n);
	}
	free(s.as_rows);
}

/* The learned model's calibration into its families. */
static void
ctl_model_stats(struct ctl *c)
{
	struct lm_calibration cal;
	uint64_t nf = 0, ns = 0;
	mdl_calibration(c->c_model, &cal, &nf, &ns);
	const char *const fl[] = {"failed"}, *const sl[] = {"succeeded"};
	met_counter_set(c->c_met.ms_model_outcomes, fl, (double)nf);
	met_counter_set(c->c_met.ms_model_outcomes, sl, (double)ns);
	if (cal.cal_n <= 0)
		return; /* no score yet: a Brier of 0 would read as perfect */
	met_gauge_set(c->c_met.ms_model_brier, NULL, cal.cal_brier);
	met_gauge_set(c->c_met.ms_model_brier_base, NULL, cal.cal_brier_base);
	for (int i = 0; i < LM_CAL_BINS; i++) {
		const struct lm_bin *b = &cal.cal_bins[i];
		if (b->b_count <= 0)
			continue;
		char edge[8];
		snprintf(edge, sizeof edge, "%.1f", (double)i / LM_CAL_BINS);
		const char *const bl[] = {edge};
		met_gauge_set(c->c_met.ms_model_rel_pred, bl, b->b_sum_pred / b->b_count);
		met_gauge_set(c->c_met.ms_model_rel_obs, bl, b->b_sum_obs / b->b_count);
	}
}

/* Runs at every scrape: copies counts kept by the reflectors, the client and the queue. */
static void
ctl_collect(void *arg)
{
	struct ctl *c = arg;
	if (c->c_refl)
		refl_set_stats(c->c_refl, ctl_refl_stat, c);
	if (c->c_client)
		ctl_api_stats(c);
	met_gauge_set(c->c_met.ms_leader, NULL, ctl_is_leader(c));
	if (c->c_queue)
		met_gauge_set(c->c_met.ms_workqueue_depth, NULL, (double)wq_len(c->c_queue));
	if (c->c_model)
		ctl_model_stats(c);
	if (c->c_er) {
		struct er_stats es, ls;
		er_stats(c->c_er, &es);
		if (c->c_lev) {
			/* the leader election Events are certcast's Events too */
			lev_stats(c->c_lev, &ls);
			es.es_posted += ls.es_posted;
			es.es_failed += ls.es_failed;
			es.es_invalid += ls.es_invalid;
			es.es_duplicate += ls.es_duplicate;
			es.es_rate_limited += ls.es_rate_limited;
		}
		const struct {
			const char *result;
			uint64_t n;
		} ev[] = {{"posted", es.es_posted}, {"failed", es.es_failed + es.es_invalid},
		    {"duplicate", es.es_duplicate}, {"rate_limited", es.es_rate_limited}};
		for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
			const char *const lv[] = {ev[i].result};
			met_counter_set(c->c_met.ms_events, lv, (double)ev[i].n);
		}
	}
}

/*
 * /explain/NS/NAME on the HTTP thread: the forecast scored with the workers' own inputs
 * (recon_explain), in `certcast explain`'s words or as JSON.
 */
static int
ctl_explain(void *arg, const char *ns, const char *name, int json, struct buf *out)
{
	struct ctl *c = arg;
	struct xf_explanation *x = xmalloc(sizeof *x); /* ~100 KiB: off the HTTP thread's stack */
	int rc = recon_explain(c->c_recon, ns, name, x);
	if (rc == CC_OK)
		rc = json ? xf_json(out, ns, name, x) : xf_text(out, ns, name, NULL, x);
	free(x);
	return rc;
}

/*
 * /status on the HTTP thread: `certcast status -o json`'s document, every row scored with the
 * workers' own inputs (recon_status).
 */
static int
ctl_status(void *arg, const char *ns, char **body, size_t *len)
{
	struct ctl *c = arg;
	struct status_rows rows;
	recon_status(c->c_recon, ns, &rows);
	*body = status_json_text(&rows);
	*len = strlen(*body);
	status_rows_free(&rows);
	return CC_OK;
}

/* The live page's rows: /status's, scored the same way, on the feed's thread. */
static void
ctl_live_rows(void *arg, struct status_rows *out)
{
	struct ctl *c = arg;
	recon_status(c->c_recon, NULL, out);
}

/* The feed has a new state: the HTTP thread offers it to the pages. */
static void
ctl_live_wake(void *arg)
{
	struct ctl *c = arg;
	http_server_live_wake(c->c_http);
}

/* The scraper saw cert-manager's signals change: every certificate's risk may have moved. */
static void
ctl_signals_changed(void *arg)
{
	size_t n = ctl_enqueue_all(arg);
	log_debug("cert-manager signals changed: %zu certificates queued", n);
}

/* Start feeding c_sig from cert-manager's pods (restarts always, metrics unless port 0). */
static int
ctl_start_scraper(struct ctl *c)
{
	const struct cfg *cfg = c->c_cfg;
	struct scr_opts so;
	memset(&so, 0, sizeof so);
	so.so_store = c->c_store;
	so.so_signals = c->c_sig;
	so.so_port = cfg->c_cm_metrics_port;
	so.so_interval = cfg->c_cm_scrape_interval;
	so.so_scrapes = c->c_met.ms_cm_scrapes;
	so.so_changed = ctl_signals_changed;
	so.so_arg = c;
	if (so.so_port > 0) {
		/* every result is a series from the start, so that rate() sees the first one */
		static const char *const results[] = {"ok", "malformed", "error"};
		for (size_t i = 0; i < 3; i++)
			met_counter_add(c->c_met.ms_cm_scrapes, &results[i], 0);
		log_info("scraping cert-manager's metrics on port %d every %llds", so.so_port,
		    (long long)so.so_interval);
	}
	c->c_scr = scr_new(&so);
	return scr_start(c->c_scr);
}

/* Start asking ACME servers for renewal windows (unless ari is off). */
static int
ctl_start_ari(struct ctl *c)
{
	if (c->c_ari == NULL) {
		log_info("ACME renewal information (ARI) is off");
		return CC_OK;
	}
	struct arp_opts ao;
	memset(&ao, 0, sizeof ao);
	ao.ao_store = c->c_store;
	ao.ao_cache = c->c_ari;
	ao.ao_requests = c->c_met.ms_ari_requests;
	/* a new or moved window changes that certificate's inputs: queue it, as the store would */
	ao.ao_changed = ctl_notify;
	ao.ao_arg = c;
	static const char *const results[] = {"ok", "malformed", "notfound", "error"};
	for (size_t i = 0; i < 4; i++)
		met_counter_add(c->c_met.ms_ari_requests, &results[i], 0);
	c->c_arp = arp_new(&ao);
	return arp_start(c->c_arp);
}

static int
ctl_start_workers(struct ctl *c)
{
	c->c_workers = xcalloc((size_t)c->c_nworkers, sizeof *c->c_workers);
	for (int i = 0; i < c->c_nworkers; i++) {
		if (pthread_create(&c->c_workers[i], NULL, ctl_worker, c) != 0) {
			log_error("cannot start worker %d", i);
			c->c_nworkers = i;
			return CC_ERR_IO;
		}
	}
	c->c_started = 1;
	return CC_OK;
}

/* Wait up to ms for a wake-up byte; drains the pipe. */
static void
ctl_sleep(int ms)
{
	struct pollfd p = {ctl_wake[0], POLLIN, 0};
	if (poll(&p, 1, ms) > 0) {
		char b[64];
		while (read(ctl_wake[0], b, sizeof b) > 0)
			;
	}
}

static void
ctl_teardown(struct ctl *c)
{
	/* The order matters: no writer may touch the store or the queue after it is freed. */
	live_stop(c->c_live); /* it scores from the store; its messages stay served */
	scr_free(c->c_scr);
	c->c_scr = NULL;
	arp_free(c->c_arp);
	c->c_arp = NULL;
	if (c->c_refl) {
		refl_set_stop(c->c_refl);
		log_info("watches stopped");
	}
	if (c->c_queue)
		wq_shutdown(c->c_queue);
	for (int i = 0; c->c_started && i < c->c_nworkers; i++)
		pthread_join(c->c_workers[i], NULL);
	if (c->c_started)
		log_info("workers drained");
	/* no write is in flight any more: hand the lease over (released, not left to expire) */
	le_stop(c->c_le);
	/* then say so: "stopped leading" was queued by le_stop (bounded by renewDeadline) */
	lev_stop(c->c_lev);
	/* after the workers: nothing learns any more, so the file holds all that was learned */
	if (c->c_model && c->c_cfg->c_state_file[0])
		(void)mdl_checkpoint(c->c_model, c->c_cfg->c_state_file);
	http_server_stop(c->c_http);
	c->c_http = NULL;
	hauth_free(c->c_auth); /* after the server, whose connections own its jobs */
	c->c_auth = NULL;
	kube_client_free(c->c_auth_client);
	c->c_auth_client = NULL;
	live_free(c->c_live); /* after the server, which serves its messages */
	c->c_live = NULL;
	refl_set_free(c->c_refl);
	c->c_refl = NULL;
	free(c->c_workers);
	recon_free(c->c_recon);
	act_free(c->c_act); /* after the workers, its only callers */
	c->c_act = NULL;
	er_free(c->c_er);
	c->c_er = NULL;
	arc_free(c->c_ari); /* after the poller and the workers, its writer and readers */
	c->c_ari = NULL;
	sig_free(c->c_sig);
	mdl_free(c->c_model);
	wq_free(c->c_queue);
	c->c_queue = NULL;
	store_free(c->c_store);
	le_free(c->c_le);
	c->c_le = NULL;
	lev_free(c->c_lev); /* after the elector, which tells it */
	c->c_lev = NULL;
	kube_client_free(c->c_lease_client);
	c->c_lease_client = NULL;
	kube_client_free(c->c_write_client);
	c->c_write_client = NULL;
	kube_client_free(c->c_client);
	c->c_client = NULL;
	kubeconfig_free(c->c_kc);
	met_registry_free(c->c_reg);
}

static int
ctl_setup_signals(struct sigaction *old_term, struct sigaction *old_int)
{
	if (pipe2(ctl_wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_error("pipe: %s", strerror(errno));
		return CC_ERR_IO;
	}
	atomic_store(&ctl_wake_w, ctl_wake[1]);
	atomic_store(&ctl_stop_flag, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ctl_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, old_term);
	sigaction(SIGINT, &sa, old_int);
	/* A peer closing a socket mid-write must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	return CC_OK;
}

static void
ctl_restore_signals(const struct sigaction *old_term, const struct sigaction *old_int)
{
	sigaction(SIGTERM, old_term, NULL);
	sigaction(SIGINT, old_int, NULL);
	atomic_store(&ctl_wake_w, -1);
	close(ctl_wake[0]);
	close(ctl_wake[1]);
	ctl_wake[0] = ctl_wake[1] = -1;
}

/*
 * --leader-elect: leader election's own client and the elector's thread. CC_OK, CC_ERR_CONFIG
 * (settings: the lease's namespace, name, identity) or another code (no client or thread).
 */
static int
ctl_start_lease(struct ctl *c)
{
	const struct cfg *cfg = c->c_cfg;
	char msg[512];
	const char *ns;
	if (cfg_lease_namespace(cfg, &ns, msg, sizeof msg) != CC_OK) {
		log_error("leader election: %s", msg);
		return CC_ERR_CONFIG;
	}
	/*
	 * Its own client: a renewal must not queue behind a relist in the limiter, must give up
	 * within renewDeadline, and must still work for the release after the watches stopped.
	 */
	struct kube_client_opts ko;
	memset(&ko, 0, sizeof ko);
	ko.kco_qps = -1;
	ko.kco_timeout_ms = (long)cfg->c_renew_deadline_ms;
	ko.kco_connect_timeout_ms =
	    cfg->c_renew_deadline_ms < 10000 ? (long)cfg->c_renew_deadline_ms : 10000;
	struct kube_error ke;
	memset(&ke, 0, sizeof ke);
	int rc = kube_client_new(c->c_kc, &ko, &c->c_lease_client, &ke);
	if (rc != CC_OK) {
		log_error("leader election's API client: %s: %s", cc_strerror(rc), ke.ke_message);
		return rc;
	}
	struct le_opts lo;
	memset(&lo, 0, sizeof lo);
	lo.lo_client = c->c_lease_client;
	lo.lo_namespace = ns;
	lo.lo_name = cfg->c_lease_name;
	lo.lo_dur.ld_lease_ms = cfg->c_lease_duration_ms;
	lo.lo_dur.ld_renew_ms = cfg->c_renew_deadline_ms;
	lo.lo_dur.ld_retry_ms = cfg->c_retry_period_ms;
	/*
	 * Its Events ("became leader", "stopped leading") go through the same client, never from
	 * the election thread itself: a POST that hangs must not hold up a renewal.
	 */
	struct lev_opts vo;
	memset(&vo, 0, sizeof vo);
	vo.lvo_client = c->c_lease_client;
	c->c_lev = lev_new(&vo);
	lo.lo_changed = lev_changed;
	lo.lo_changed_arg = c->c_lev;
	if (le_new(&lo, &c->c_le, msg, sizeof msg) != CC_OK) {
		log_error("leader election: %s", msg);
		return CC_ERR_CONFIG;
	}
	if ((rc = lev_start(c->c_lev)) != CC_OK)
		return rc;
	return le_start(c->c_le);
}

/* The delegated authentication of the HTTP endpoints (httpAuth: kubernetes). */
static int
ctl_start_auth(struct ctl *c)
{
	/*
	 * Its own client: a review waits at most 5 s (the request waits for it), and a burst of
	 * scrapes with new tokens must not queue behind a relist in the watches' limiter.
	 */
	struct kube_client_opts ko;
	memset(&ko, 0, sizeof ko);
	ko.kco_qps = c->c_cfg->c_qps;
	ko.kco_burst = c->c_cfg->c_burst;
	ko.kco_timeout_ms = 5000;
	ko.kco_connect_timeout_ms = 3000;
	struct kube_error ke;
	memset(&ke, 0, sizeof ke);
	int rc = kube_client_new(c->c_kc, &ko, &c->c_auth_client, &ke);
	if (rc != CC_OK) {
		log_error("HTTP authentication's API client: %s: %s", cc_strerror(rc),
		    ke.ke_message);
		return rc;
	}
	struct hauth_opts ho;
	memset(&ho, 0, sizeof ho);
	ho.hao_client = c->c_auth_client;
	ho.hao_counter = c->c_met.ms_http_auth;
	c->c_auth = hauth_new(&ho);
	log_info("HTTP authentication: kubernetes (TokenReview and SubjectAccessReview; "
		 "/healthz and /readyz stay open)");
	return CC_OK;
}

int
ctl_run(const struct ctl_opts *o)
{
	const struct cfg *cfg = o->co_cfg;
	struct ctl c;
	memset(&c, 0, sizeof c);
	c.c_cfg = cfg;
	c.c_nworkers = cfg->c_workers;
	struct sigaction old_term, old_int;
	if (ctl_setup_signals(&old_term, &old_int) != CC_OK)
		return 1;
	int code = 1;
	char msg[1024];

	log_info("certcast %s starting: mode %s, namespace %s, %d workers, HTTP auth %s",
	    CERTCAST_VERSION, cfg_mode_name(cfg->c_mode),
	    cfg->c_namespace[0] ? cfg->c_namespace : "(all)", cfg->c_workers,
	    cfg_http_auth_name(cfg->c_http_auth));

	/*
	 * The serving pair before anything else: a bad file is a settings mistake, said at once
	 * and as one (exit 2), not after the API server has been reached. The server checks the
	 * pair again when it starts, and whenever the files change.
	 */
	if (cfg->c_http_tls_cert[0] != '\0') {
		struct tlp_pair *pair = NULL;
		if (tlp_pair_load(cfg->c_http_tls_cert, cfg->c_http_tls_key, (int64_t)time(NULL),
			&pair, msg, sizeof msg) != CC_OK) {
			log_error("HTTP TLS: %s", msg);
			code = 2;
			goto out;
		}
		tlp_pair_free(pair);
	}
	int rc = kubeconfig_load(o->co_kubeconfig, o->co_context, &c.c_kc, msg, sizeof msg);
	if (rc != CC_OK) {
		log_error("kubeconfig: %s", msg);
		goto out;
	}
	struct kube_client_opts ko;
	memset(&ko, 0, sizeof ko);
	ko.kco_qps = cfg->c_qps;
	ko.kco_burst = cfg->c_burst;
	struct kube_error ke;
	memset(&ke, 0, sizeof ke);
	rc = kube_client_new(c.c_kc, &ko, &c.c_client, &ke);
	if (rc != CC_OK) {
		log_error("API client for %s: %s: %s", c.c_kc->kc_server, cc_strerror(rc),
		    ke.ke_message);
		goto out;
	}
	log_info("API server %s (kubeconfig %s)", kube_client_server(c.c_client),
	    c.c_kc->kc_source ? c.c_kc->kc_source : "?");
	/* the same settings, its own limiter: the watches' cancel at stop must not cut a write */
	rc = kube_client_new(c.c_kc, &ko, &c.c_write_client, &ke);
	if (rc != CC_OK) {
		log_error("API client for writes: %s: %s", cc_strerror(rc), ke.ke_message);
		goto out;
	}
	if (cfg->c_leader_elect) {
		rc = ctl_start_lease(&c);
		if (rc != CC_OK) {
			code = rc == CC_ERR_CONFIG ? 2 : 1;
			goto out;
		}
	} else {
		log_info("leader election is off: this replica writes as the only one");
	}

	c.c_reg = met_registry_new();
	if (met_std_register(c.c_reg, CERTCAST_VERSION, &c.c_met) != CC_OK)
		fatalx("metric families registered twice");
	/* the collector keeps it current from the first scrape on */
	met_gauge_set(c.c_met.ms_leader, NULL, ctl_is_leader(&c));
	c.c_queue = wq_new(NULL);
	c.c_store = store_new();
	store_set_notify(c.c_store, ctl_notify, &c);
	/* the settings the user gave scoring; per-certificate annotations refine them */
	struct sc_config scfg;
	cfg_scoring(cfg, &scfg);
	c.c_sig = sig_new(SIG_WINDOW_DEFAULT);
	c.c_model = mdl_new(0);
	if (cfg->c_state_file[0])
		mdl_restore(c.c_model, cfg->c_state_file);
	struct recon_opts ro = {c.c_store, &c.c_met, &scfg, NULL};
	ro.ro_signals = c.c_sig;
	ro.ro_model = c.c_model;
	c.c_ari = cfg->c_ari ? arc_new(0) : NULL;
	ro.ro_ari = c.c_ari;
	ro.ro_psl_file = cfg->c_psl_file;
	struct act_opts ao;
	memset(&ao, 0, sizeof ao);
	ao.ao_client = c.c_write_client;
	ao.ao_store = c.c_store;
	ao.ao_met = &c.c_met;
	ao.ao_reissue_budget = (uint32_t)cfg->c_reissue_budget;
	ao.ao_scoring = &scfg; /* lives until ctl_run returns, after the workers */
	ao.ao_is_leader = ctl_is_leader; /* asked before every write: it drops by itself */
	struct er_opts eo;
	memset(&eo, 0, sizeof eo);
	eo.eo_client = c.c_write_client;
	c.c_er = er_new(&eo);
	ao.ao_emit = ctl_emit;
	ao.ao_emit_arg = &c;
	ao.ao_leader_arg = &c;
	c.c_act = act_new(&ao);
	ro.ro_act = c.c_act;
	c.c_recon = recon_new(&ro);

	struct live_opts lo = {ctl_live_rows, &c, ctl_live_wake, &c, 0};
	c.c_live = live_new(&lo);
	if (cfg->c_http_auth == CFG_HTTP_AUTH_KUBERNETES && ctl_start_auth(&c) != CC_OK)
		goto out;
	struct http_server_opts ho = {cfg->c_http_addr, c.c_reg, ctl_explain, &c, ctl_status, &c,
	    c.c_live, c.c_auth};
	if (cfg->c_http_tls_cert[0] != '\0') {
		ho.hso_tls_cert = cfg->c_http_tls_cert;
		ho.hso_tls_key = cfg->c_http_tls_key;
	}
	rc = http_server_start(&ho, &c.c_http, msg, sizeof msg);
	if (rc != CC_OK) {
		log_error("%s", msg);
		goto out;
	}
	/* after the server: the feed's wake-ups go to it */
	rc = live_start(c.c_live);
	if (rc != CC_OK)
		goto out;

	struct refl_set_opts so;
	memset(&so, 0, sizeof so);
	so.rso_client = c.c_client;
	so.rso_store = c.c_store;
	so.rso_namespace = cfg->c_namespace;
	so.rso_pod_namespace = cfg->c_cm_namespace;
	so.rso_pod_selector = cfg->c_cm_selector;
	so.rso_cancel_client_on_stop = 1;
	rc = refl_set_start(&so, &c.c_refl);
	if (rc != CC_OK) {
		log_error("cannot start the watches: %s", cc_strerror(rc));
		goto out;
	}
	/* Collect only once everything it reads exists. */
	met_add_collector(c.c_reg, ctl_collect, &c);

	double start = ctl_now(), next_resync = 0;
	int led = 1; /* the first sync queues everything anyway */
	while (!atomic_load(&ctl_stop_flag)) {
		if (http_server_failed(c.c_http)) {
			/* no probes, no metrics: a restart brings the endpoint back */
			log_error("exiting: the HTTP endpoint stopped serving");
			goto out;
		}
		if (!c.c_started && refl_set_has_synced(c.c_refl)) {
			/* the history in one sweep, before the workers would learn it one by one */
			double t0 = ctl_now();
			size_t learned = recon_learn_all(c.c_recon);
			if (learned)
				log_info("learned model: %zu request outcomes learned from the cluster's "
					 "history in %.2fs", learned, ctl_now() - t0);
			if (ctl_start_workers(&c) != CC_OK || ctl_start_scraper(&c) != CC_OK ||
			    ctl_start_ari(&c) != CC_OK)
				goto out;
			size_t n = ctl_enqueue_all(&c);
			http_server_set_ready(c.c_http, 1);
			log_info("every watched resource listed after %.2fs; reconciling %zu "
				 "certificates",
			    ctl_now() - start, n);
			next_resync = ctl_now() + (double)cfg->c_resync;
		}
		int leads = ctl_is_leader(&c);
		if (c.c_started && leads && !led) {
			/*
			 * A new leader writes what the old one left unwritten now, not at the next
			 * resync: as a follower it scored and dropped every write.
			 */
			size_t n = ctl_enqueue_all(&c);
			log_info("leading: reconciling %zu certificates to write what they call for", n);
		}
		led = leads;
		if (c.c_started && ctl_now() >= next_resync) {
			size_t n = ctl_enqueue_all(&c);
			log_debug("resync: %zu certificates queued", n);
			if (cfg->c_state_file[0])
				(void)mdl_checkpoint(c.c_model, cfg->c_state_file);
			next_resync = ctl_now() + (double)cfg->c_resync;
		}
		ctl_sleep(c.c_started ? 1000 : 100);
	}
	log_info("stop requested; shutting down");
	http_server_set_ready(c.c_http, 0);
	code = 0;
out:
	ctl_teardown(&c);
	ctl_restore_signals(&old_term, &old_int);
	if (code == 0)
		log_info("stopped cleanly");
	return code;
}
