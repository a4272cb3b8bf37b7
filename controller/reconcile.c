/* reconcile: one Certificate key -> the per-certificate gauges. */
#include "reconcile.h"
#include "hash.h"

#include "act.h"
#include "anomaly.h"
#include "assess.h"
#include "budget.h"
#include "cc_err.h"
#include "explain_fmt.h"
#include "learn.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "records.h"
#include "status.h"
#include "store.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* cert-manager's default spec.duration. */
#define RECON_DEFAULT_LIFETIME (90LL * 24 * 3600)
/*
 * How long an issuer's estimate is reused across reconciles. Its history moves by the hour
 * (half-life three days), while re-walking it costs one pass over all the issuer's certificates.
 */
#define RECON_ISSUER_TTL 60
#define RECON_BUDGET_PARSES 500 /* certificates parsed per budget count: ~0.1 s under the lock */
/* A certificate's requests looked at for training, newest first (as assess scores them). */
#define RECON_LEARN_CRS 32
/* Certificates per store read lock in recon_learn_all. */
#define RECON_LEARN_BATCH 512
/*
 * Certificates scored per store read lock for /status: a few milliseconds each time, so that
 * the watches' writes wait no longer than for a reconcile batch.
 */
#define RECON_STATUS_BATCH 256

/* The label set under which a certificate's series were last written. */
struct recon_entry {
	char *re_key;               /* "namespace/name" */
	uint64_t re_hash;
	char *re_ns;                /* label values */
	char *re_name;
	char *re_ikind;
	char *re_iname;
	char *re_anom_uid;          /* the request whose findings re_anoms holds, or NULL */
	int re_anom_cert;           /* ... and its issued certificate was observed too */
	struct sc_anomaly re_anoms[SC_MAX_ANOMALIES];
	size_t re_nanoms;
	struct recon_entry *re_next;/* hash chain */
};

/* An issuer label pair and how many tracked certificates carry it. */
struct recon_issuer {
	char *ri_kind, *ri_name;
	size_t ri_refs;
};

struct recon {
	struct recon_issuer *r_iss;  /* owned; guarded by r_mu */
	size_t r_niss, r_capiss;
	struct store *r_store;       /* borrowed */
	struct met_std *r_met;       /* borrowed, may be NULL */
	struct sc_config r_cfg;      /* scoring settings */
	struct as_cache *r_cache;    /* issuer estimates shared by the workers */
	struct bg_book *r_budgets;   /* ACME budget counts shared by the workers */
	int64_t (*r_clock)(void);    /* now, Unix seconds */
	struct sig_state *r_sig;     /* borrowed live signals, may be NULL */
	struct arc *r_ari;           /* borrowed ACME renewal windows, may be NULL */
	struct mdl *r_model;         /* borrowed learned model, may be NULL; has its own lock */
	struct act *r_act;           /* borrowed executor of the writes, or NULL for none */
	struct an_state *r_an;       /* the streaming anomaly detector, NULL when out of memory */
	pthread_mutex_t r_an_mu;     /* an_state is not thread-safe */
	pthread_mutex_t r_mu;        /* guards the table only; never held across store calls */
	struct recon_entry **r_tab;  /* hash table of tracked certificates */
	size_t r_tsize;              /* slots, a power of two */
	size_t r_count;              /* entries */
};

static int64_t
recon_wall_clock(void)
{
	return (int64_t)time(NULL);
}

struct recon *
recon_new(const struct recon_opts *o)
{
	struct recon *r = xcalloc(1, sizeof *r);
	r->r_store = o->ro_store;
	r->r_met = o->ro_metrics;
	if (o->ro_scoring)
		r->r_cfg = *o->ro_scoring;
	else
		sc_config_default(&r->r_cfg);
	r->r_cache = as_cache_new(RECON_ISSUER_TTL);
	/* recounted once a minute at most, like the issuer estimates: a count walks every request */
	r->r_budgets = bg_open(o->ro_psl_file, 0, RECON_ISSUER_TTL);
	bg_set_parse_limit(r->r_budgets, RECON_BUDGET_PARSES);
	r->r_model = o->ro_model;
	r->r_act = o->ro_act;
	/*
	 * The controller sees every request of the cluster: room for that many UIDs and keys, so
	 * that a resync never meets a forgotten request again (it would be learned and reported
	 * twice). About 1 MiB of UIDs and 6 MiB of keys at the limits.
	 */
	struct an_config ac;
	an_config_default(&ac);
	ac.c_max_uids = 131072;
	ac.c_max_keys = 65536;
	if (an_new(&ac, &r->r_an) != SC_OK)
		r->r_an = NULL; /* scoring goes on without anomalies */
	pthread_mutex_init(&r->r_an_mu, NULL);
	r->r_clock = o->ro_clock ? o->ro_clock : recon_wall_clock;
	r->r_sig = o->ro_signals;
	r->r_ari = o->ro_ari;
	pthread_mutex_init(&r->r_mu, NULL);
	r->r_tsize = 64;
	r->r_tab = xcalloc(r->r_tsize, sizeof *r->r_tab);
	return r;
}

static void
recon_entry_free(struct recon_entry *e)
{
	if (e == NULL)
		return;
	free(e->re_key);
	free(e->re_ns);
	free(e->re_name);
	free(e->re_ikind);
	free(e->re_iname);
	free(e->re_anom_uid);
	free(e);
}

void
recon_free(struct recon *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->r_tsize; i++) {
		struct recon_entry *e = r->r_tab[i];
		while (e) {
			struct recon_entry *n = e->re_next;
			recon_entry_free(e);
			e = n;
		}
	}
	free(r->r_tab);
	for (size_t i = 0; i < r->r_niss; i++) {
		free(r->r_iss[i].ri_kind);
		free(r->r_iss[i].ri_name);
	}
	free(r->r_iss);
	as_cache_free(r->r_cache);
	bg_free(r->r_budgets);
	an_free(r->r_an);
	pthread_mutex_destroy(&r->r_an_mu);
	pthread_mutex_destroy(&r->r_mu);
	free(r);
}

size_t
recon_tracked(struct recon *r)
{
	pthread_mutex_lock(&r->r_mu);
	size_t n = r->r_count;
	pthread_mutex_unlock(&r->r_mu);
	return n;
}

/* The link that points at key's entry (*link NULL when there is none). Called with r_mu held. */
static struct recon_entry **
recon_link(struct recon *r, const char *key)
{
	uint64_t h = hash_str(key);
	struct recon_entry **pp = &r->r_tab[h & (r->r_tsize - 1)];
	while (*pp && !((*pp)->re_hash == h && strcmp((*pp)->re_key, key) == 0))
		pp = &(*pp)->re_next;
	return pp;
}

/* Unlink and return the entry for key, or NULL. Called with r_mu held. */
static struct recon_entry *
recon_take(struct recon *r, const char *key)
{
	struct recon_entry **pp = recon_link(r, key);
	struct recon_entry *e = *pp;
	if (e) {
		*pp = e->re_next;
		r->r_count--;
	}
	return e;
}

/* Insert e (not present). Called with r_mu held. */
static void
recon_put(struct recon *r, struct recon_entry *e)
{
	if (r->r_count + 1 > r->r_tsize) {
		size_t ns = r->r_tsize * 2;
		struct recon_entry **nt = xcalloc(ns, sizeof *nt);
		for (size_t i = 0; i < r->r_tsize; i++) {
			struct recon_entry *x = r->r_tab[i];
			while (x) {
				struct recon_entry *n = x->re_next;
				x->re_next = nt[x->re_hash & (ns - 1)];
				nt[x->re_hash & (ns - 1)] = x;
				x = n;
			}
		}
		free(r->r_tab);
		r->r_tab = nt;
		r->r_tsize = ns;
	}
	size_t slot = e->re_hash & (r->r_tsize - 1);
	e->re_next = r->r_tab[slot];
	r->r_tab[slot] = e;
	r->r_count++;
}

/*
 * One more (delta 1) or one fewer (-1) tracked certificate on issuer kind/name. When the last
 * one goes, so does the issuer's failure-probability series: nothing scores it any more.
 */
static void
recon_issuer_ref(struct recon *r, const char *kind, const char *name, int delta)
{
	pthread_mutex_lock(&r->r_mu);
	size_t i = 0;
	while (i < r->r_niss && !(strcmp(r->r_iss[i].ri_kind, kind) == 0 &&
				    strcmp(r->r_iss[i].ri_name, name) == 0))
		i++;
	if (i == r->r_niss && delta > 0) {
		if (r->r_niss == r->r_capiss) {
			r->r_capiss = r->r_capiss ? r->r_capiss * 2 : 8;
			r->r_iss = xrealloc(r->r_iss, r->r_capiss * sizeof *r->r_iss);
		}
		r->r_iss[r->r_niss].ri_kind = xstrdup(kind);
		r->r_iss[r->r_niss].ri_name = xstrdup(name);
		r->r_iss[r->r_niss].ri_refs = 0;
		r->r_niss++;
	}
	if (i < r->r_niss) {
		struct recon_issuer *ri = &r->r_iss[i];
		if (delta > 0) {
			ri->ri_refs++;
		} else if (ri->ri_refs > 0 && --ri->ri_refs == 0) {
			if (r->r_met) {
				const char *const il[] = {ri->ri_kind, ri->ri_name};
				met_remove(r->r_met->ms_issuer_failure_prob, il);
			}
			free(ri->ri_kind);
			free(ri->ri_name);
			*ri = r->r_iss[--r->r_niss];
		}
	}
	pthread_mutex_unlock(&r->r_mu);
}

static void
recon_drop_series(struct recon *r, const struct recon_entry *e)
{
	if (e == NULL)
		return;
	recon_issuer_ref(r, e->re_ikind, e->re_iname, -1);
	if (r->r_met == NULL)
		return;
	const char *const *lv = MET_CERT_LABELS(e->re_ns, e->re_name, e->re_ikind, e->re_iname);
	met_remove(r->r_met->ms_cert_expiry, lv);
	met_remove(r->r_met->ms_cert_renew_before, lv);
	met_remove(r->r_met->ms_cert_risk, lv);
	met_remove(r->r_met->ms_cert_risk_level, lv);
	met_remove(r->r_met->ms_cert_predicted_failure, lv);
}

int64_t
recon_effective_renew_before(const struct rec_cert *c)
{
	if (c->c_has_renew_before)
		return c->c_renew_before;
	int64_t life = RECON_DEFAULT_LIFETIME;
	if (c->c_not_before != REC_TIME_NONE && c->c_not_after != REC_TIME_NONE &&
	    c->c_not_after > c->c_not_before)
		life = c->c_not_after - c->c_not_before;
	else if (c->c_has_duration && c->c_duration > 0)
		life = c->c_duration;
	if (c->c_has_renew_pct)
		return life * c->c_renew_pct / 100;
	return life / 3;
}

/* What one reconcile read from the store, copied so the lock is not held while writing metrics. */
struct recon_view {
	int rv_present;            /* the Certificate exists */
	char rv_ikind[256];        /* issuer labels */
	char rv_iname[256];
	int64_t rv_not_after;      /* REC_TIME_NONE when unknown */
	int64_t rv_renew_before;   /* effective, seconds */
	double rv_risk;            /* scoring's risk and level */
	int rv_level;
	int64_t rv_predicted_failure; /* 0: none */
	int rv_issuer_scored;      /* rv_issuer_fail holds the issuer's estimate */
	double rv_issuer_fail;
	char rv_anom_uid[128];     /* newest request's UID, "" none */
	int rv_anom_cert;          /* its issued certificate has been observed */
	struct sc_anomaly rv_anoms[SC_MAX_ANOMALIES]; /* its findings */
	size_t rv_nanoms;
	char rv_new_types[SC_MAX_ANOMALIES][32]; /* types found by this reconcile (the metric) */
	size_t rv_nnew;
	size_t rv_new_from;        /* rv_anoms[rv_new_from..rv_nanoms) are the new findings */
	struct act_job *rv_job;    /* the writes to make, or NULL */
};

/*
 * Feed c's requests, oldest first, to the streaming anomaly detector and keep the findings of
 * the newest one in v. The detector learns each request once (by UID and stage), so the first
 * reconcile that sees a request or its issued certificate reports, later ones report nothing:
 * the findings are carried in the entry (old) until a newer request replaces them.
 */
static void
recon_anomalies(struct recon *r, const struct rec_cert *c, const struct recon_entry *old,
    int64_t now, struct recon_view *v)
{
	const struct rec_cr *crs[4];
	size_t n = store_cert_crs(r->r_store, c->c_meta.m_ns, c->c_meta.m_name, crs, 4);
	if (n > 4)
		n = 4;
	if (n == 0 || r->r_an == NULL)
		return;
	const char *uid = crs[0]->r_meta.m_uid;
	int has_cert = crs[0]->r_der_len > 0;
	xstrlcpy(v->rv_anom_uid, uid, sizeof v->rv_anom_uid);
	v->rv_anom_cert = has_cert;
	size_t from = n; /* observe crs[from-1] .. crs[0] */
	if (old && old->re_anom_uid && strcmp(old->re_anom_uid, uid) == 0) {
		memcpy(v->rv_anoms, old->re_anoms, old->re_nanoms * sizeof *v->rv_anoms);
		v->rv_nanoms = old->re_nanoms;
		if (old->re_anom_cert || !has_cert)
			return; /* nothing new to show the detector: no work on a resync */
		from = 1;   /* the newest request got its certificate */
	} else if (old) {
		from = 1;   /* a new request; the older ones were observed before */
	}
	struct an_report *rep = xmalloc(sizeof *rep);
	v->rv_new_from = v->rv_nanoms;
	pthread_mutex_lock(&r->r_an_mu);
	for (size_t i = from; i-- > 0;) {
		memset(rep, 0, sizeof *rep);
		(void)as_observe_request(r->r_an, crs[i], c, now, rep, r->r_budgets);
		if (i != 0 || rep->r_count == 0)
			continue;
		/* new findings for the newest request: the certificate part may come later */
		for (size_t k = 0; k < rep->r_count; k++) {
			if (v->rv_nnew < SC_MAX_ANOMALIES)
				xstrlcpy(v->rv_new_types[v->rv_nnew++], an_type_id(rep->r_items[k].a_type),
				    sizeof v->rv_new_types[0]);
			if (v->rv_nanoms < SC_MAX_ANOMALIES)
				an_to_sc(&rep->r_items[k], &v->rv_anoms[v->rv_nanoms++]);
		}
	}
	pthread_mutex_unlock(&r->r_an_mu);
	free(rep);
	as_sort_anomalies(v->rv_anoms, v->rv_nanoms);
}

/*
 * Train the model on c's requests that have reached an outcome and were not learned before,
 * oldest first (store read lock held). A resync finds them all in the ledger and does no more
 * than one lookup per request.
 */
static size_t
recon_learn(struct recon *r, const struct rec_cert *c, int64_t now, struct as_ctx **ap)
{
	const struct rec_cr *crs[RECON_LEARN_CRS];
	size_t n = store_cert_crs(r->r_store, c->c_meta.m_ns, c->c_meta.m_name, crs,
	    RECON_LEARN_CRS);
	if (n > RECON_LEARN_CRS)
		n = RECON_LEARN_CRS;
	size_t learned = 0;
	for (size_t i = n; i-- > 0;) {
		const struct rec_cr *q = crs[i];
		int failed;
		int64_t when;
		if (!as_request_outcome(q, &failed, &when) ||
		    (failed && as_request_fault_failure(q)))
			continue; /* pending, or a fault's evidence (assess.h) */
		char id[300];
		/* the UID names a request for good; without one, its name and creation time */
		if (q->r_meta.m_uid[0])
			xstrlcpy(id, q->r_meta.m_uid, sizeof id);
		else
			snprintf(id, sizeof id, "%s/%s@%lld", q->r_meta.m_ns, q->r_meta.m_name,
			    (long long)q->r_meta.m_created);
		if (mdl_is_learned(r->r_model, id, when))
			continue;
		/* no issuer cache here: the features need the issuer's history itself */
		if (*ap == NULL)
			*ap = as_new(r->r_store, &r->r_cfg, now);
		struct lm_features f;
		as_request_features(*ap, c, crs, n, i, &f);
		if (mdl_learn(r->r_model, id, when, &f, failed)) {
			learned++;
			log_debug("learned model: CertificateRequest %s/%s %s", q->r_meta.m_ns,
			    q->r_meta.m_name, failed ? "failed" : "succeeded");
		}
	}
	return learned;
}

size_t
recon_learn_all(struct recon *r)
{
	if (r->r_model == NULL)
		return 0;
	int64_t now = r->r_clock();
	/* the keys first: a cursor into the store does not survive letting go of its lock */
	store_rdlock(r->r_store);
	size_t n = store_count(r->r_store, RES_CERTIFICATE), k = 0;
	char **ns = xcalloc(n ? n : 1, sizeof *ns), **names = xcalloc(n ? n : 1, sizeof *names);
	struct store_iter it = {0};
	const struct rec_cert *c;
	while (k < n && (c = store_cert_next(r->r_store, NULL, &it)) != NULL) {
		ns[k] = xstrdup(c->c_meta.m_ns);
		names[k++] = xstrdup(c->c_meta.m_name);
	}
	store_unlock(r->r_store);
	size_t learned = 0;
	for (size_t i = 0; i < k;) {
		/*
		 * One context per batch: an issuer's history is built once per batch instead of once
		 * per outcome, and the read lock is let go between batches so the watches can write.
		 */
		store_rdlock(r->r_store);
		struct as_ctx *a = NULL;
		for (size_t end = i + RECON_LEARN_BATCH; i < k && i < end; i++)
			if ((c = store_cert_get(r->r_store, ns[i], names[i])) != NULL)
				learned += recon_learn(r, c, now, &a);
		as_free(a);
		store_unlock(r->r_store);
	}
	for (size_t i = 0; i < k; i++) {
		free(ns[i]);
		free(names[i]);
	}
	free(ns);
	free(names);
	return learned;
}

/*
 * A scoring context for c (store read lock held) with every input the controller has: its
 * settings, the shared issuer cache, cert-manager's live signals, ARI windows, ACME budgets,
 * the anomalies an[0..nan) and, when there is a learned model, a copy of it taken now into lm
 * (the caller's; it must outlive the context). Reconcile and the /explain endpoint both score
 * through here, so that the endpoint explains the very number the metrics publish.
 */
static struct as_ctx *
recon_ctx(struct recon *r, const struct rec_cert *c, int64_t now, const struct sc_anomaly *an,
    size_t nan, struct lm_model *lm)
{
	struct as_ctx *a = as_new(r->r_store, &r->r_cfg, now);
	as_use_cache(a, r->r_cache);
	as_use_signals(a, r->r_sig);
	as_use_ari(a, r->r_ari);
	as_use_budgets(a, r->r_budgets);
	if (r->r_model) {
		/* a copy: the workers keep training the shared model meanwhile */
		mdl_snapshot(r->r_model, lm);
		as_set_model(a, lm);
	}
	if (nan)
		as_set_anomalies(a, c->c_meta.m_ns, c->c_meta.m_name, an, nan);
	if (r->r_act)
		as_use_state(a, act_fill_state, r->r_act);
	return a;
}

/* Score c (store read lock held) into v. */
static void
recon_score(struct recon *r, const struct rec_cert *c, const struct recon_entry *old,
    struct recon_view *v)
{
	struct sc_result *res = xmalloc(sizeof *res); /* ~8 KiB: off the worker's stack */
	int64_t now = r->r_clock();
	struct lm_model *lm = r->r_model ? xmalloc(sizeof *lm) : NULL;
	if (r->r_model) {
		/* train on c's new outcomes first, so that the score uses what they taught */
		struct as_ctx *la = NULL;
		(void)recon_learn(r, c, now, &la);
		as_free(la);
	}
	recon_anomalies(r, c, old, now, v);
	struct as_ctx *a = recon_ctx(r, c, now, v->rv_anoms, v->rv_nanoms, lm);
	(void)as_score(a, c, res, NULL, 0); /* an inconsistent certificate scores 0, explained */
	if (r->r_act && v->rv_job) {
		size_t from = v->rv_new_from < v->rv_nanoms ? v->rv_new_from : v->rv_nanoms;
		act_prepare(r->r_act, c, res, v->rv_anoms + from, v->rv_nanoms - from, now,
		    v->rv_job);
	}
	struct sc_signals sg;
	as_signals(a, c, &sg);
	as_free(a);
	free(lm);
	v->rv_risk = res->r_risk;
	v->rv_level = (int)res->r_level;
	v->rv_predicted_failure = res->r_predicted_failure;
	v->rv_issuer_scored = c->c_issuer.rf_name != NULL;
	/* the issuer's gauge moves with the live signals its certificates are scored with */
	v->rv_issuer_fail = sg.sg_valid ? ih_apply_signals(res->r_issuer.ie_mean, &sg, NULL)
					: res->r_issuer.ie_mean;
	free(res);
}

/*
 * The findings the last reconcile of ns/name kept, into an (SC_MAX_ANOMALIES room); returns
 * how many. They are not observed again: that would count them twice. Takes r_mu only.
 */
static size_t
recon_kept_anomalies(struct recon *r, const char *ns, const char *name, struct sc_anomaly *an)
{
	size_t nan = 0;
	char *key = xasprintf("%s/%s", ns, name);
	pthread_mutex_lock(&r->r_mu);
	const struct recon_entry *e = *recon_link(r, key);
	if (e) {
		nan = e->re_nanoms;
		memcpy(an, e->re_anoms, nan * sizeof *an);
	}
	pthread_mutex_unlock(&r->r_mu);
	free(key);
	return nan;
}

int
recon_explain(struct recon *r, const char *ns, const char *name, struct xf_explanation *out)
{
	memset(out, 0, sizeof *out);
	struct sc_anomaly an[SC_MAX_ANOMALIES];
	size_t nan = recon_kept_anomalies(r, ns, name, an);
	int64_t now = r->r_clock();
	int rc = CC_OK;
	store_rdlock(r->r_store);
	const struct rec_cert *c = store_cert_get(r->r_store, ns, name);
	if (c == NULL) {
		rc = CC_ERR_NOTFOUND;
	} else {
		struct as_ctx *a = recon_ctx(r, c, now, an, nan, &out->xe_model);
		out->xe_has_model = r->r_model != NULL;
		out->xe_rc = as_score(a, c, &out->xe_res, out->xe_text, sizeof out->xe_text);
		ap_describe(c, out->xe_res.r_mode, out->xe_actions, sizeof out->xe_actions);
		as_free(a);
	}
	store_unlock(r->r_store);
	return rc;
}

/* What recon_status_row needs besides the certificate: one instant and scratch space. */
struct recon_status_arg {
	struct recon *sa_r;
	int64_t sa_now;
	struct sc_result *sa_res;  /* ~8 KiB, reused */
	struct lm_model *sa_lm;    /* the model's copy for the certificate at hand, or NULL */
};

/* status_score_fn: score c as recon_explain does (store read lock held) into its row. */
static void
recon_status_row(void *arg, const struct rec_cert *c, struct status_row *row)
{
	struct recon_status_arg *sa = arg;
	struct recon *r = sa->sa_r;
	struct sc_anomaly an[SC_MAX_ANOMALIES];
	/* r_mu under the store's read lock: nothing takes them the other way round */
	size_t nan = recon_kept_anomalies(r, c->c_meta.m_ns, c->c_meta.m_name, an);
	struct as_ctx *a = recon_ctx(r, c, sa->sa_now, an, nan, sa->sa_lm);
	(void)as_score(a, c, sa->sa_res, NULL, 0); /* an inconsistent certificate scores 0, explained */
	status_row_set_score(row, a, c, sa->sa_res);
	as_free(a);
}

void
recon_status(struct recon *r, const char *ns, struct status_rows *out)
{
	struct recon_status_arg sa = {r, r->r_clock(), xmalloc(sizeof *sa.sa_res),
	    r->r_model ? xmalloc(sizeof *sa.sa_lm) : NULL};
	status_rows_collect(r->r_store, ns, RECON_STATUS_BATCH, recon_status_row, &sa, out);
	free(sa.sa_res);
	free(sa.sa_lm);
}

int
recon_key(struct recon *r, const char *key)
{
	const char *slash = key ? strchr(key, '/') : NULL;
	if (slash == NULL || slash == key || slash[1] == '\0' || strchr(slash + 1, '/')) {
		log_warn("dropping malformed key \"%s\"", key ? key : "(null)");
		return CC_ERR_INVAL;
	}
	char *ns = xstrndup(key, (size_t)(slash - key));
	const char *name = slash + 1;
	struct recon_view v;
	memset(&v, 0, sizeof v);
	if (r->r_act)
		v.rv_job = xmalloc(sizeof *v.rv_job); /* ~20 KiB: off the worker's stack */

	pthread_mutex_lock(&r->r_mu);
	struct recon_entry *old = recon_take(r, key);
	pthread_mutex_unlock(&r->r_mu);

	store_rdlock(r->r_store);
	const struct rec_cert *c = store_cert_get(r->r_store, ns, name);
	if (c) {
		v.rv_present = 1;
		xstrlcpy(v.rv_ikind, c->c_issuer.rf_kind ? c->c_issuer.rf_kind : "Issuer",
		    sizeof v.rv_ikind);
		xstrlcpy(v.rv_iname, c->c_issuer.rf_name ? c->c_issuer.rf_name : "",
		    sizeof v.rv_iname);
		v.rv_not_after = c->c_not_after;
		v.rv_renew_before = recon_effective_renew_before(c);
		recon_score(r, c, old, &v);
	}
	store_unlock(r->r_store);

	if (!v.rv_present) {
		recon_drop_series(r, old);
		recon_entry_free(old);
		if (r->r_act)
			act_forget(r->r_act, ns, name);
		free(v.rv_job);
		free(ns);
		return CC_OK;
	}
	/* the writes, with no lock held: a watch never waits for an HTTP round trip */
	int rc = r->r_act ? act_apply(r->r_act, v.rv_job, r->r_clock()) : CC_OK;
	free(v.rv_job);
	if (old && (strcmp(old->re_ikind, v.rv_ikind) != 0 || strcmp(old->re_iname, v.rv_iname) != 0)) {
		/* The issuer is a label: its old series would linger as a second certificate. */
		recon_drop_series(r, old);
		recon_entry_free(old);
		old = NULL;
	}
	struct recon_entry *e = old;
	if (e == NULL) {
		e = xcalloc(1, sizeof *e);
		e->re_key = xstrdup(key);
		e->re_hash = hash_str(key);
		e->re_ns = xstrdup(ns);
		e->re_name = xstrdup(name);
		e->re_ikind = xstrdup(v.rv_ikind);
		e->re_iname = xstrdup(v.rv_iname);
		recon_issuer_ref(r, e->re_ikind, e->re_iname, 1);
	}
	free(e->re_anom_uid);
	e->re_anom_uid = v.rv_anom_uid[0] ? xstrdup(v.rv_anom_uid) : NULL;
	memcpy(e->re_anoms, v.rv_anoms, v.rv_nanoms * sizeof *e->re_anoms);
	e->re_nanoms = v.rv_nanoms;
	e->re_anom_cert = v.rv_anom_cert;
	/* counted once, when found: the detector reports each request (and stage) once */
	for (size_t k = 0; r->r_met && k < v.rv_nnew; k++) {
		const char *const tl[] = {v.rv_new_types[k]};
		met_counter_add(r->r_met->ms_anomalies, tl, 1);
	}
	if (r->r_met) {
		const char *const *lv = MET_CERT_LABELS(e->re_ns, e->re_name, e->re_ikind, e->re_iname);
		if (v.rv_not_after != REC_TIME_NONE)
			met_gauge_set(r->r_met->ms_cert_expiry, lv, (double)v.rv_not_after);
		else
			met_remove(r->r_met->ms_cert_expiry, lv);
		met_gauge_set(r->r_met->ms_cert_renew_before, lv, (double)v.rv_renew_before);
		met_gauge_set(r->r_met->ms_cert_risk, lv, v.rv_risk);
		met_gauge_set(r->r_met->ms_cert_risk_level, lv, (double)v.rv_level);
		if (v.rv_predicted_failure != 0)
			met_gauge_set(r->r_met->ms_cert_predicted_failure, lv,
			    (double)v.rv_predicted_failure);
		else
			met_remove(r->r_met->ms_cert_predicted_failure, lv);
		if (v.rv_issuer_scored) {
			const char *const il[] = {e->re_ikind, e->re_iname};
			met_gauge_set(r->r_met->ms_issuer_failure_prob, il, v.rv_issuer_fail);
		}
	}
	pthread_mutex_lock(&r->r_mu);
	recon_put(r, e);
	pthread_mutex_unlock(&r->r_mu);
	free(ns);
	return rc;
}
