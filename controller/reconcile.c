/* reconcile: one Certificate key -> the per-certificate gauges. */
#include "reconcile.h"

#include "assess.h"
#include "cc_err.h"
#include "log.h"
#include "metrics.h"
#include "records.h"
#include "store.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdint.h>
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

/* The label set under which a certificate's series were last written. */
struct recon_entry {
	char *re_key;               /* "namespace/name" */
	uint64_t re_hash;
	char *re_ns;                /* label values */
	char *re_name;
	char *re_ikind;
	char *re_iname;
	struct recon_entry *re_next;/* hash chain */
};

struct recon {
	struct store *r_store;       /* borrowed */
	struct met_std *r_met;       /* borrowed, may be NULL */
	struct sc_config r_cfg;      /* scoring settings */
	struct as_cache *r_cache;    /* issuer estimates shared by the workers */
	int64_t (*r_clock)(void);    /* now, Unix seconds */
	pthread_mutex_t r_mu;        /* guards the table only; never held across store calls */
	struct recon_entry **r_tab;  /* hash table of tracked certificates */
	size_t r_tsize;              /* slots, a power of two */
	size_t r_count;              /* entries */
};

static uint64_t
recon_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

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
	r->r_clock = o->ro_clock ? o->ro_clock : recon_wall_clock;
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
	as_cache_free(r->r_cache);
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

/* Unlink and return the entry for key, or NULL. Called with r_mu held. */
static struct recon_entry *
recon_take(struct recon *r, const char *key)
{
	uint64_t h = recon_hash(key);
	struct recon_entry **pp = &r->r_tab[h & (r->r_tsize - 1)];
	for (; *pp; pp = &(*pp)->re_next) {
		if ((*pp)->re_hash == h && strcmp((*pp)->re_key, key) == 0) {
			struct recon_entry *e = *pp;
			*pp = e->re_next;
			r->r_count--;
			return e;
		}
	}
	return NULL;
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

static void
recon_drop_series(struct recon *r, const struct recon_entry *e)
{
	if (r->r_met == NULL || e == NULL)
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
};

/* Score c (store read lock held) into v. */
static void
recon_score(struct recon *r, const struct rec_cert *c, struct recon_view *v)
{
	struct sc_result *res = xmalloc(sizeof *res); /* ~8 KiB: off the worker's stack */
	struct as_ctx *a = as_new(r->r_store, &r->r_cfg, r->r_clock());
	as_use_cache(a, r->r_cache);
	(void)as_score(a, c, res, NULL, 0); /* an inconsistent certificate scores 0, explained */
	as_free(a);
	v->rv_risk = res->r_risk;
	v->rv_level = (int)res->r_level;
	v->rv_predicted_failure = res->r_predicted_failure;
	v->rv_issuer_scored = c->c_issuer.rf_name != NULL;
	v->rv_issuer_fail = res->r_issuer.ie_mean;
	free(res);
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
		recon_score(r, c, &v);
	}
	store_unlock(r->r_store);

	pthread_mutex_lock(&r->r_mu);
	struct recon_entry *old = recon_take(r, key);
	pthread_mutex_unlock(&r->r_mu);

	if (!v.rv_present) {
		recon_drop_series(r, old);
		recon_entry_free(old);
		free(ns);
		return CC_OK;
	}
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
		e->re_hash = recon_hash(key);
		e->re_ns = xstrdup(ns);
		e->re_name = xstrdup(name);
		e->re_ikind = xstrdup(v.rv_ikind);
		e->re_iname = xstrdup(v.rv_iname);
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
	return CC_OK;
}
