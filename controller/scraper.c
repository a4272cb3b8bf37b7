/* scraper: pods from the store -> restarts and /metrics scrapes -> signals (see scraper.h). */
#include "scraper.h"
#include "ticker.h"

#include "buf.h"
#include "cc_err.h"
#include "httpget.h"
#include "log.h"
#include "metrics.h"
#include "records.h"
#include "signals.h"
#include "store.h"
#include "xalloc.h"


#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCR_LOGGED_MAX 256 /* pods whose last result is remembered for logging */

enum scr_result { SCR_OK = 0, SCR_MALFORMED, SCR_ERROR };

static const char *const scr_result_names[] = {"ok", "malformed", "error"};

/* A pod as copied out of the store, so that scrapes run without its lock. */
struct scr_pod {
	char *p_uid, *p_name, *p_ip;
	int32_t p_restarts;
	int64_t p_last_term, p_start;
	int p_scrape;                   /* Running, Ready and with an address */
};

struct scr_logged {
	char *l_uid;
	enum scr_result l_result;
};

struct scr {
	struct scr_opts s_o;
	struct tk s_tk;                 /* the thread that runs scr_round */
	uint64_t s_digest;              /* sig_digest after the last round */
	struct scr_logged s_logged[SCR_LOGGED_MAX];
	size_t s_nlogged;
};

static pthread_once_t scr_once = PTHREAD_ONCE_INIT;

static void
scr_global_init(void)
{
	hg_global_init();
}

static int64_t
scr_wall_clock(void)
{
	return (int64_t)time(NULL);
}

static void
scr_round_cb(void *arg)
{
	scr_round(arg);
}

struct scr *
scr_new(const struct scr_opts *o)
{
	pthread_once(&scr_once, scr_global_init);
	struct scr *s = xcalloc(1, sizeof *s);
	s->s_o = *o;
	if (s->s_o.so_interval < 1)
		s->s_o.so_interval = 1;
	if (s->s_o.so_clock == NULL)
		s->s_o.so_clock = scr_wall_clock;
	if (s->s_o.so_timeout_ms <= 0)
		s->s_o.so_timeout_ms = SCR_TIMEOUT_MS;
	if (s->s_o.so_body_max == 0)
		s->s_o.so_body_max = SCR_BODY_MAX;
	tk_init(&s->s_tk, s->s_o.so_interval, scr_round_cb, s);
	s->s_digest = sig_digest(o->so_signals, s->s_o.so_clock());
	return s;
}

/* ---- one scrape ---- */

/* GET url into body. CC_OK, or an error with why filled. */
static int
scr_fetch(struct scr *s, const char *url, struct buf *body, char *why, size_t whylen)
{
	struct hg_req q = {
	    .hr_url = url,
	    .hr_protocols = "http",
	    /* the text format; a newer client library would otherwise be free to answer otherwise */
	    .hr_accept = "text/plain;version=0.0.4;q=1,*/*;q=0.1",
	    .hr_no_proxy = 1, /* a pod IP is never reached through a proxy */
	    .hr_connect_timeout_ms = SCR_CONNECT_TIMEOUT_MS,
	    .hr_timeout_ms = s->s_o.so_timeout_ms,
	    .hr_stop = &s->s_tk.k_stop,
	};
	struct hg_resp r;
	int rc = hg_get(&q, body, &r, why, whylen);
	if (rc != CC_OK)
		return rc;
	if (r.hr_code != 200) {
		snprintf(why, whylen, "HTTP status %ld", r.hr_code);
		return CC_ERR_HTTP;
	}
	return CC_OK;
}

/* Log a pod's result only when it differs from its last one (failures repeat every round). */
static void
scr_log(struct scr *s, const struct scr_pod *p, enum scr_result r, const char *what)
{
	struct scr_logged *l = NULL;
	for (size_t i = 0; i < s->s_nlogged && l == NULL; i++)
		if (strcmp(s->s_logged[i].l_uid, p->p_uid) == 0)
			l = &s->s_logged[i];
	if (l == NULL) {
		if (s->s_nlogged == SCR_LOGGED_MAX) {
			free(s->s_logged[0].l_uid);
			s->s_logged[0] = s->s_logged[--s->s_nlogged];
		}
		l = &s->s_logged[s->s_nlogged++];
		l->l_uid = xstrdup(p->p_uid);
		l->l_result = SCR_OK;
	}
	if (r == l->l_result) {
		if (r != SCR_OK)
			log_debug("cert-manager pod %s: metrics scrape %s: %s", p->p_name,
			    scr_result_names[r], what);
		return;
	}
	if (r == SCR_OK)
		log_info("cert-manager pod %s: metrics scrape works again", p->p_name);
	else
		log_warn("cert-manager pod %s: metrics scrape %s: %s", p->p_name,
		    scr_result_names[r], what);
	l->l_result = r;
}

static void
scr_pod_scrape(struct scr *s, const struct scr_pod *p, int64_t now)
{
	char url[128], why[HG_WHY_MAX + 64] = "";
	int v6 = strchr(p->p_ip, ':') != NULL;
	snprintf(url, sizeof url, "http://%s%s%s:%d/metrics", v6 ? "[" : "", p->p_ip, v6 ? "]" : "",
	    s->s_o.so_port);
	struct buf body;
	buf_init(&body, s->s_o.so_body_max);
	int rc = scr_fetch(s, url, &body, why, sizeof why);
	enum scr_result r = SCR_OK;
	if (rc == CC_ERR_CANCELED) {
		buf_free(&body);
		return; /* stopping: neither a result nor a sample */
	}
	if (rc != CC_OK) {
		r = SCR_ERROR;
	} else {
		struct sig_scrape *sc = xmalloc(sizeof *sc);
		struct pt_result pr;
		int prc = sig_scrape_parse(body.b_data ? body.b_data : "", body.b_len, sc, &pr);
		sig_record(s->s_o.so_signals, p->p_uid, sc, prc == CC_OK, now);
		if (prc != CC_OK) {
			r = SCR_MALFORMED;
			snprintf(why, sizeof why, "%zu of %zu lines not in the text format, first: %s",
			    pr.pr_errors, pr.pr_lines, pr.pr_first_error);
		}
		if (sc->ss_dropped_hosts)
			log_debug("cert-manager pod %s: %zu ACME hosts past %d ignored", p->p_name,
			    sc->ss_dropped_hosts, SIG_HOSTS_MAX);
		free(sc);
	}
	buf_free(&body);
	scr_log(s, p, r, why);
	if (s->s_o.so_scrapes) {
		const char *lv[] = {scr_result_names[r]};
		met_counter_add(s->s_o.so_scrapes, lv, 1);
	}
}

/* ---- rounds ---- */

static size_t
scr_read_pods(struct scr *s, struct scr_pod **out)
{
	struct store *st = s->s_o.so_store;
	store_rdlock(st);
	size_t n = store_count(st, RES_POD), k = 0;
	struct scr_pod *v = xcalloc(n ? n : 1, sizeof *v);
	struct store_iter it = {0};
	const struct rec_pod *p;
	while (k < n && (p = store_next(st, RES_POD, &it)) != NULL) {
		if (p->p_meta.m_uid[0] == '\0')
			continue;
		struct scr_pod *d = &v[k++];
		d->p_uid = xstrdup(p->p_meta.m_uid);
		d->p_name = xasprintf("%s/%s", p->p_meta.m_ns, p->p_meta.m_name);
		d->p_ip = p->p_ip ? xstrdup(p->p_ip) : NULL;
		d->p_restarts = p->p_restarts;
		d->p_last_term = p->p_last_term;
		d->p_start = p->p_start_time;
		d->p_scrape = p->p_phase == REC_POD_RUNNING && p->p_ready && p->p_ip != NULL;
	}
	store_unlock(st);
	*out = v;
	return k;
}

void
scr_round(struct scr *s)
{
	int64_t now = s->s_o.so_clock();
	struct scr_pod *pods;
	size_t n = scr_read_pods(s, &pods);
	struct sig_pod *sp = xcalloc(n ? n : 1, sizeof *sp);
	for (size_t i = 0; i < n; i++) {
		sp[i].sp_uid = pods[i].p_uid;
		sp[i].sp_restarts = pods[i].p_restarts;
		sp[i].sp_last_term = pods[i].p_last_term;
		sp[i].sp_start = pods[i].p_start;
	}
	sig_pods(s->s_o.so_signals, sp, n, now);
	free(sp);
	for (size_t i = 0; s->s_o.so_port > 0 && i < n && !tk_stopping(&s->s_tk); i++)
		if (pods[i].p_scrape)
			scr_pod_scrape(s, &pods[i], now);
	for (size_t i = 0; i < n; i++) {
		free(pods[i].p_uid);
		free(pods[i].p_name);
		free(pods[i].p_ip);
	}
	free(pods);
	sig_prune(s->s_o.so_signals, now);
	uint64_t d = sig_digest(s->s_o.so_signals, now);
	if (d != s->s_digest && !tk_stopping(&s->s_tk)) {
		s->s_digest = d;
		if (s->s_o.so_changed)
			s->s_o.so_changed(s->s_o.so_arg);
	}
}

int
scr_start(struct scr *s)
{
	return tk_start(&s->s_tk, "cert-manager metrics");
}

void
scr_free(struct scr *s)
{
	if (s == NULL)
		return;
	tk_stop(&s->s_tk);
	for (size_t i = 0; i < s->s_nlogged; i++)
		free(s->s_logged[i].l_uid);
	tk_destroy(&s->s_tk);
	free(s);
}
