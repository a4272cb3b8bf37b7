/*
 * assess: store records -> scoring input -> sc_evaluate (see assess.h).
 */
#include "assess.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "aricache.h"
#include "budget.h"
#include "certparse.h"
#include "learn.h"
#include "log.h"
#include "records.h"
#include "resource.h"
#include "signals.h"
#include "store.h"
#include "stuck.h"
#include "timefmt.h"
#include "tzdb.h"
#include "xalloc.h"

#define AS_CRS_PER_CERT 32     /* a certificate's own history: newest CRs kept */
#define AS_CRS_PER_CERT_ISS 8  /* per certificate in its issuer's history */
#define AS_ISSUER_HISTORY 8192 /* an issuer's history; the half-life makes older ones weightless */
#define AS_EVENTS 64           /* Events about a certificate and its requests, orders, challenges */
#define AS_WINDOWS 16          /* spec.renewal.windows kept */
#define AS_BUDGET_NAMES 128    /* names of a certificate looked up for its ACME budget */

#define AS_CACHE_MAX 4096      /* issuers a cache remembers; the oldest goes first */

/* One issuer seen by this context: its scoring view, history and estimate, built once. */
struct as_issuer {
	char *ai_key;                    /* "group/kind/ns/name" */
	char *ai_kind, *ai_name;         /* owned; ai_issuer's is_kind and is_name point here */
	char *ai_reason, *ai_message;    /* owned Ready reason/message when taken from a cache */
	int ai_found;                    /* the issuer object is in the store */
	struct sc_issuer ai_issuer;      /* history and reasons borrowed from the store */
	struct sc_request *ai_history;   /* owned */
	struct sc_issuer_estimate ai_est;
};

/* An issuer's estimate kept across contexts, with its own copies of what scoring reads. */
struct as_cached {
	char *ac_key;
	int64_t ac_at;                   /* the context time it was computed at */
	int ac_found;
	enum sc_tristate ac_ready;
	int64_t ac_ready_time;
	char *ac_reason, *ac_message;    /* owned, may be NULL */
	struct sc_issuer_estimate ac_est;
};

struct as_cache {
	pthread_mutex_t c_mu;
	int64_t c_ttl;
	struct as_cached *c_v;           /* owned array */
	size_t c_n, c_cap;
	struct tz_db *c_tz;              /* owned: zone files read once for all contexts */
};

/* What the anomaly pass found for one Certificate (its newest request). */
struct as_found {
	char *af_key;                    /* "ns/name" */
	struct sc_anomaly af_items[SC_MAX_ANOMALIES];
	size_t af_n;
};

struct as_ctx {
	struct as_found *a_found;        /* owned, sorted by af_key once a_found_ready */
	size_t a_nfound, a_capfound;
	struct as_cache *a_cache;        /* borrowed, may be NULL */
	struct store *a_st;
	struct sc_config a_cfg;
	int64_t a_now;
	struct as_issuer *a_iss;         /* owned array */
	size_t a_niss, a_capiss;
	struct tz_db *a_tz;              /* owned, made on the first named time zone; else NULL */
	struct sig_state *a_sig;         /* borrowed live signals, may be NULL */
	struct arc *a_ari;               /* borrowed ARI windows, may be NULL */
	const struct lm_model *a_model;  /* borrowed, may be NULL */
	struct bg_book *a_bg;            /* borrowed ACME budget counts (as_use_budgets), or NULL */
	struct bg_book *a_own_bg;        /* owned: made on the first ACME certificate without one */
	as_state_fn a_state_fn;          /* the executor's memory of its writes, or NULL */
	void *a_state_arg;
};

struct as_ctx *
as_new(struct store *st, const struct sc_config *cfg, int64_t now)
{
	struct as_ctx *a = xcalloc(1, sizeof *a);
	a->a_st = st;
	if (cfg)
		a->a_cfg = *cfg;
	else
		sc_config_default(&a->a_cfg);
	a->a_now = now;
	return a;
}

void
as_use_cache(struct as_ctx *a, struct as_cache *c)
{
	a->a_cache = c;
}

void
as_use_signals(struct as_ctx *a, struct sig_state *s)
{
	a->a_sig = s;
}

void
as_use_budgets(struct as_ctx *a, struct bg_book *b)
{
	a->a_bg = b;
}

/* The book a's budgets come from: the one set with as_use_budgets, else a's own, made now. */
static struct bg_book *
as_book(struct as_ctx *a)
{
	if (a->a_bg != NULL)
		return a->a_bg;
	if (a->a_own_bg == NULL)
		a->a_own_bg = bg_open(NULL, 0, INT64_MAX);
	return a->a_own_bg;
}

/*
 * The counts come from the book set with as_use_budgets, recounted when its ttl has passed;
 * without one, from a book this context makes and counts once (status, scan, explain: one
 * snapshot, one count).
 */
int
as_budget(struct as_ctx *a, const struct rec_cert *c, struct sc_budget *out, char *domain,
    size_t domlen)
{
	memset(out, 0, sizeof *out);
	if (domain && domlen)
		domain[0] = '\0';
	const struct rec_issuer *ri = store_cert_issuer(a->a_st, c);
	if (ri == NULL || ri->i_type != REC_ISSUER_ACME || !bg_known_ca(ri->i_acme_server))
		return 0;
	/* a's own book has a ttl without end: it counts once */
	struct bg_book *b = as_book(a);
	(void)bg_refresh(b, a->a_st, a->a_now);
	/* the next order asks for spec.dnsNames, and the commonName when it is not among them */
	const char *names[AS_BUDGET_NAMES];
	size_t n = 0;
	for (size_t i = 0; i < c->c_ndns && n < AS_BUDGET_NAMES - 1; i++)
		names[n++] = c->c_dns_names[i];
	if (c->c_common_name)
		names[n++] = c->c_common_name;
	char key[512];
	snprintf(key, sizeof key, "%s/%s", c->c_meta.m_ns, c->c_meta.m_name);
	/* with the books when the CA last refused: whether they explain a rate-limit refusal */
	return bg_lookup(b, ri->i_acme_server, key, names, n,
	    c->c_last_failure > 0 ? c->c_last_failure : 0, out, domain, domlen);
}

void
as_signals(struct as_ctx *a, const struct rec_cert *c, struct sc_signals *out)
{
	memset(out, 0, sizeof *out);
	if (a->a_sig == NULL)
		return;
	/* cert-manager labels its ACME requests with the host of the URL it called */
	char host[SIG_HOST_MAX] = "";
	const struct rec_issuer *ri = store_cert_issuer(a->a_st, c);
	if (ri && ri->i_type == REC_ISSUER_ACME && ri->i_acme_server &&
	    sig_url_host(ri->i_acme_server, host, sizeof host) != 0)
		host[0] = '\0';
	sig_get(a->a_sig, host, a->a_now, out);
}

void
as_use_ari(struct as_ctx *a, struct arc *c)
{
	a->a_ari = c;
}

void
as_ari(struct as_ctx *a, const struct rec_cert *c, struct sc_ari *out, char *url, size_t urllen)
{
	memset(out, 0, sizeof *out);
	if (a->a_ari == NULL || store_cert_issuer_type(a->a_st, c) != REC_ISSUER_ACME)
		return;
	/* the current certificate is the newest issued request's; older ones are not looked at */
	const struct rec_cr *crs[AS_CRS_PER_CERT], *r = NULL;
	size_t n = store_cert_crs(a->a_st, c->c_meta.m_ns, c->c_meta.m_name, crs, AS_CRS_PER_CERT);
	for (size_t i = 0; i < n && i < AS_CRS_PER_CERT && r == NULL; i++)
		if (crs[i]->r_der_len > 0)
			r = crs[i];
	struct ari_window w;
	if (r == NULL || r->r_meta.m_uid[0] == '\0' || !arc_window_of(a->a_ari, r->r_meta.m_uid, &w))
		return;
	out->ar_valid = 1;
	out->ar_start = w.aw_start;
	out->ar_end = w.aw_end;
	if (w.aw_url[0] != '\0' && url != NULL && urllen > strlen(w.aw_url)) {
		memcpy(url, w.aw_url, strlen(w.aw_url) + 1);
		out->ar_url = url;
	}
}

struct as_cache *
as_cache_new(int64_t ttl)
{
	struct as_cache *c = xcalloc(1, sizeof *c);
	pthread_mutex_init(&c->c_mu, NULL);
	c->c_ttl = ttl;
	c->c_tz = tz_db_new(NULL);
	return c;
}

static void
as_cached_clear(struct as_cached *e)
{
	free(e->ac_key);
	free(e->ac_reason);
	free(e->ac_message);
	memset(e, 0, sizeof *e);
}

void
as_cache_free(struct as_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->c_n; i++)
		as_cached_clear(&c->c_v[i]);
	free(c->c_v);
	tz_db_free(c->c_tz);
	pthread_mutex_destroy(&c->c_mu);
	free(c);
}

size_t
as_cache_size(struct as_cache *c)
{
	pthread_mutex_lock(&c->c_mu);
	size_t n = c->c_n;
	pthread_mutex_unlock(&c->c_mu);
	return n;
}

static char *
as_dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/*
 * Fill ai from a fresh cached entry for its key. Returns 1 on a hit. A context whose time is
 * before the entry's (a clock step back) does not use it.
 */
static int
as_cache_take(struct as_cache *c, int64_t now, struct as_issuer *ai)
{
	int hit = 0;
	pthread_mutex_lock(&c->c_mu);
	for (size_t i = 0; i < c->c_n; i++) {
		struct as_cached *e = &c->c_v[i];
		if (strcmp(e->ac_key, ai->ai_key) != 0)
			continue;
		if (now >= e->ac_at && now - e->ac_at < c->c_ttl) {
			ai->ai_found = e->ac_found;
			ai->ai_issuer.is_ready.cd_status = e->ac_ready;
			ai->ai_issuer.is_ready.cd_time = e->ac_ready_time;
			ai->ai_reason = as_dup_or_null(e->ac_reason);
			ai->ai_message = as_dup_or_null(e->ac_message);
			ai->ai_issuer.is_ready.cd_reason = ai->ai_reason;
			ai->ai_issuer.is_ready.cd_message = ai->ai_message;
			ai->ai_est = e->ac_est;
			hit = 1;
		}
		break;
	}
	pthread_mutex_unlock(&c->c_mu);
	return hit;
}

/* Remember ai's estimate under its key, replacing an older one (or the oldest when full). */
static void
as_cache_put(struct as_cache *c, int64_t now, const struct as_issuer *ai)
{
	pthread_mutex_lock(&c->c_mu);
	struct as_cached *e = NULL;
	for (size_t i = 0; i < c->c_n && e == NULL; i++)
		if (strcmp(c->c_v[i].ac_key, ai->ai_key) == 0)
			e = &c->c_v[i];
	if (e == NULL && c->c_n >= AS_CACHE_MAX) {
		e = &c->c_v[0];
		for (size_t i = 1; i < c->c_n; i++)
			if (c->c_v[i].ac_at < e->ac_at)
				e = &c->c_v[i];
	}
	if (e == NULL) {
		if (c->c_n == c->c_cap) {
			c->c_cap = c->c_cap ? c->c_cap * 2 : 16;
			c->c_v = xrealloc(c->c_v, c->c_cap * sizeof *c->c_v);
		}
		e = &c->c_v[c->c_n++];
		memset(e, 0, sizeof *e);
	}
	as_cached_clear(e);
	e->ac_key = xstrdup(ai->ai_key);
	e->ac_at = now;
	e->ac_found = ai->ai_found;
	e->ac_ready = ai->ai_issuer.is_ready.cd_status;
	e->ac_ready_time = ai->ai_issuer.is_ready.cd_time;
	e->ac_reason = as_dup_or_null(ai->ai_issuer.is_ready.cd_reason);
	e->ac_message = as_dup_or_null(ai->ai_issuer.is_ready.cd_message);
	e->ac_est = ai->ai_est;
	pthread_mutex_unlock(&c->c_mu);
}

void
as_free(struct as_ctx *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->a_nfound; i++)
		free(a->a_found[i].af_key);
	free(a->a_found);
	tz_db_free(a->a_tz);
	bg_free(a->a_own_bg);
	for (size_t i = 0; i < a->a_niss; i++) {
		free(a->a_iss[i].ai_reason);
		free(a->a_iss[i].ai_message);
		free(a->a_iss[i].ai_key);
		free(a->a_iss[i].ai_kind);
		free(a->a_iss[i].ai_name);
		free(a->a_iss[i].ai_history);
	}
	free(a->a_iss);
	free(a);
}

static enum sc_tristate
as_tristate(enum rec_cond_status s)
{
	switch (s) {
	case REC_COND_TRUE:
		return SC_TRUE;
	case REC_COND_FALSE:
		return SC_FALSE;
	default:
		return SC_UNKNOWN;
	}
}

static void
as_cond(const struct rec_cond *rc, struct sc_condition *out)
{
	out->cd_status = as_tristate(rc->c_status);
	out->cd_reason = rc->c_reason;
	out->cd_message = rc->c_message;
	out->cd_time = rc->c_ltt;
}

/*
 * A CertificateRequest as history. cert-manager marks a final failure with Ready=False and
 * reason Failed (InvalidRequest=True for requests it will never sign), a refusal with
 * Denied=True; anything else is still pending.
 */
static void
as_request(const struct rec_cr *r, struct sc_request *out)
{
	memset(out, 0, sizeof *out);
	out->rq_time = r->r_meta.m_created;
	if (r->r_denied.c_status == REC_COND_TRUE) {
		out->rq_outcome = SC_OUT_DENIED;
		out->rq_reason = r->r_denied.c_reason ? r->r_denied.c_reason : "Denied";
		out->rq_message = r->r_denied.c_message;
		out->rq_done = r->r_denied.c_ltt;
	} else if (r->r_ready.c_status == REC_COND_TRUE) {
		out->rq_outcome = SC_OUT_ISSUED;
		out->rq_reason = r->r_ready.c_reason;
		out->rq_message = r->r_ready.c_message;
		out->rq_done = r->r_ready.c_ltt;
	} else if (r->r_invalid.c_status == REC_COND_TRUE ||
		   (r->r_ready.c_status == REC_COND_FALSE && r->r_ready.c_reason &&
		    (strcmp(r->r_ready.c_reason, "Failed") == 0 ||
		     strcmp(r->r_ready.c_reason, "Denied") == 0))) {
		out->rq_outcome = SC_OUT_FAILED;
		const struct rec_cond *why = r->r_invalid.c_status == REC_COND_TRUE ? &r->r_invalid
										  : &r->r_ready;
		out->rq_reason = why->c_reason;
		out->rq_message = why->c_message;
		out->rq_done = r->r_failure_time != REC_TIME_NONE ? r->r_failure_time : why->c_ltt;
	} else {
		out->rq_outcome = SC_OUT_PENDING;
		out->rq_reason = r->r_ready.c_reason;
		out->rq_message = r->r_ready.c_message;
	}
	if (out->rq_done != 0 && out->rq_done < out->rq_time)
		out->rq_done = out->rq_time; /* clocks of different writers; keep the order sane */
}

/*
 * A request for an issuer's history, its failure's class read once: the history serves every
 * estimate made from this context, and the learning sweep makes one per outcome it learns.
 */
static void
as_history_request(const struct rec_cr *r, struct sc_request *out)
{
	as_request(r, out);
	if (out->rq_outcome == SC_OUT_FAILED) {
		struct fcl_result fr;
		fcl_classify(out->rq_reason, out->rq_message, &fr);
		out->rq_class = fr.cl_class;
		out->rq_class_known = 1;
	}
}

static const char *
as_nonnull(const char *s)
{
	return s ? s : "";
}

/*
 * The index of the issuer entry for kind/ns/name, built on first use. An index, not a pointer:
 * a later lookup may grow the array.
 */
static size_t
as_issuer_get(struct as_ctx *a, const char *group, const char *kind, const char *ns,
    const char *name)
{
	int cm = strcmp(group, REC_CM_GROUP) == 0;
	/*
	 * Only cert-manager's ClusterIssuer is cluster-scoped: the store indexes any other group's
	 * kinds by the certificate's namespace, whatever they are called. The group is part of the
	 * key because another API group may reuse cert-manager's kind and name in one namespace,
	 * and the two must not share an entry (history, Ready condition).
	 */
	int cluster = cm && strcmp(kind, "ClusterIssuer") == 0;
	const char *kns = cluster ? "" : ns;
	char *key = xasprintf("%s/%s/%s/%s", group, kind, kns, name);
	for (size_t i = 0; i < a->a_niss; i++)
		if (strcmp(a->a_iss[i].ai_key, key) == 0) {
			free(key);
			return i;
		}
	if (a->a_niss == a->a_capiss) {
		a->a_capiss = a->a_capiss ? a->a_capiss * 2 : 8;
		a->a_iss = xrealloc(a->a_iss, a->a_capiss * sizeof *a->a_iss);
	}
	struct as_issuer *ai = &a->a_iss[a->a_niss++];
	memset(ai, 0, sizeof *ai);
	ai->ai_key = key;
	/*
	 * Copied: the entry outlives this call and the fallback's kind and name are as_score's
	 * stack buffers, which a later as_score on this context would read dead.
	 */
	ai->ai_kind = xstrdup(kind);
	ai->ai_name = xstrdup(name);
	ai->ai_issuer.is_kind = ai->ai_kind;
	ai->ai_issuer.is_name = ai->ai_name;
	/*
	 * The controller scores one certificate per reconcile; the issuer's history spans all its
	 * certificates, so without the cache each reconcile would walk them all again.
	 */
	if (a->a_cache && as_cache_take(a->a_cache, a->a_now, ai))
		return (size_t)(ai - a->a_iss);
	const struct rec_issuer *ri = NULL;
	if (cm)
		ri = store_issuer_get(a->a_st, cluster ? RES_CLUSTERISSUER : RES_ISSUER, kns, name);
	if (ri) {
		ai->ai_found = 1;
		as_cond(&ri->i_ready, &ai->ai_issuer.is_ready);
	}
	/* Every certificate on this issuer contributes its newest requests. */
	size_t ncerts = store_issuer_certs(a->a_st, group, kind, kns, name, NULL, 0);
	const struct rec_cert **certs = xcalloc(ncerts ? ncerts : 1, sizeof *certs);
	ncerts = store_issuer_certs(a->a_st, group, kind, kns, name, certs, ncerts);
	size_t cap = ncerts * AS_CRS_PER_CERT_ISS;
	if (cap > AS_ISSUER_HISTORY)
		cap = AS_ISSUER_HISTORY;
	ai->ai_history = xcalloc(cap ? cap : 1, sizeof *ai->ai_history);
	size_t n = 0;
	const struct rec_cr *crs[AS_CRS_PER_CERT_ISS];
	for (size_t i = 0; i < ncerts && n < cap; i++) {
		size_t k = store_cert_crs(a->a_st, certs[i]->c_meta.m_ns, certs[i]->c_meta.m_name, crs,
		    AS_CRS_PER_CERT_ISS);
		if (k > AS_CRS_PER_CERT_ISS)
			k = AS_CRS_PER_CERT_ISS;
		for (size_t j = 0; j < k && n < cap; j++)
			as_history_request(crs[j], &ai->ai_history[n++]);
	}
	free(certs);
	ai->ai_issuer.is_history = ai->ai_history;
	ai->ai_issuer.is_nhistory = n;
	sc_issuer_estimate(&ai->ai_issuer, &a->a_cfg, a->a_now, &ai->ai_est);
	if (a->a_cache)
		as_cache_put(a->a_cache, a->a_now, ai);
	return (size_t)(ai - a->a_iss);
}

void
as_use_state(struct as_ctx *a, as_state_fn fn, void *arg)
{
	a->a_state_fn = fn;
	a->a_state_arg = arg;
}

int
as_parse_issuer_ref_any(const char *v, char *group, size_t groupsz, char *kind, size_t kindsz,
    char *name, size_t namesz)
{
	/* "KIND/NAME" (cert-manager.io) or "KIND.GROUP/NAME" (an external issuer) */
	const char *slash = v ? strchr(v, '/') : NULL;
	if (slash == NULL || slash == v || groupsz == 0 || kindsz == 0 || namesz == 0)
		return 0;
	const char *dot = memchr(v, '.', (size_t)(slash - v));
	size_t kl = (size_t)((dot ? dot : slash) - v);
	const char *g = dot ? dot + 1 : REC_CM_GROUP;
	size_t gl = dot ? (size_t)(slash - g) : strlen(REC_CM_GROUP);
	const char *n = slash + 1;
	size_t nl = strlen(n);
	if (kl == 0 || kl >= kindsz || gl == 0 || gl >= groupsz || nl >= namesz ||
	    !res_dns_subdomain_ok(n))
		return 0;
	for (size_t i = 0; i < kl; i++)
		if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z') ||
			(v[i] >= '0' && v[i] <= '9')))
			return 0;
	memcpy(kind, v, kl);
	kind[kl] = '\0';
	memcpy(group, g, gl);
	group[gl] = '\0';
	if (dot && !res_dns_subdomain_ok(group))
		return 0;
	memcpy(name, n, nl + 1);
	return 1;
}

int
as_parse_issuer_ref(const char *v, char *kind, size_t kindsz, char *name, size_t namesz)
{
	if (v == NULL || kindsz == 0 || namesz == 0)
		return 0;
	const char *slash = strchr(v, '/');
	if (slash == NULL)
		return 0;
	size_t kl = (size_t)(slash - v);
	if (!((kl == 6 && strncmp(v, "Issuer", 6) == 0) ||
	      (kl == 13 && strncmp(v, "ClusterIssuer", 13) == 0)))
		return 0;
	const char *n = slash + 1;
	size_t nl = strlen(n);
	if (!res_dns_subdomain_ok(n) || kl >= kindsz || nl >= namesz)
		return 0;
	memcpy(kind, v, kl);
	kind[kl] = '\0';
	memcpy(name, n, nl + 1);
	return 1;
}

/*
 * The user's per-certificate settings. A value that does not parse is ignored (the certificate
 * is still scored); with pr non-NULL each such value is listed there too, for the
 * InvalidAnnotation Event. One parser serves both, so that what is reported as ignored is
 * exactly what scoring ignores.
 */
static size_t
as_user_config_ex(const struct rec_cert *c, struct sc_config *cfg, struct as_annot_problem *pr,
    size_t max)
{
	const char *v;
	int64_t d;
	char *end;
	size_t n = 0;
#define AS_PROBLEM(k, val, w)                                                                     \
	do {                                                                                      \
		if (pr && n < max) {                                                              \
			pr[n].ap_key = (k);                                                       \
			pr[n].ap_value = (val);                                                   \
			pr[n].ap_why = (w);                                                       \
		}                                                                                 \
		n++;                                                                              \
	} while (0)
	/* a plain decimal such as 0.01 or 1e-3: strtod alone also takes " 0.2" and hex floats */
	if ((v = rec_cert_annot(c, "certcast.io/target-risk")) != NULL) {
		double t = -1.0;
		if ((v[0] == '.' || (v[0] >= '0' && v[0] <= '9')) &&
		    strspn(v, "0123456789.eE-") == strlen(v)) {
			t = strtod(v, &end);
			if (end == v || *end != '\0')
				t = -1.0;
		}
		if (t > 0.0 && t < 1.0)
			cfg->cf_target_risk = t;
		else
			AS_PROBLEM("certcast.io/target-risk", v,
			    "not a decimal probability strictly between 0 and 1, such as 0.01");
	}
	if ((v = rec_cert_annot(c, "certcast.io/min-renew-before")) != NULL) {
		if (tf_duration_parse(v, &d) == 0 && d >= 0)
			cfg->cf_min_renew_before = d;
		else
			AS_PROBLEM("certcast.io/min-renew-before", v,
			    "not a non-negative Go duration such as 240h");
	}
	if ((v = rec_cert_annot(c, "certcast.io/max-renew-before")) != NULL) {
		if (tf_duration_parse(v, &d) == 0 && d >= 0)
			cfg->cf_max_renew_before = d;
		else
			AS_PROBLEM("certcast.io/max-renew-before", v,
			    "not a non-negative Go duration such as 720h");
	}
	if (cfg->cf_max_renew_before > 0 && cfg->cf_max_renew_before < cfg->cf_min_renew_before) {
		cfg->cf_max_renew_before = cfg->cf_min_renew_before;
		if ((v = rec_cert_annot(c, "certcast.io/max-renew-before")) != NULL)
			AS_PROBLEM("certcast.io/max-renew-before", v,
			    "below the minimum renewBefore; the minimum is used as the maximum");
	}
	if ((v = rec_cert_annot(c, "certcast.io/mode")) != NULL) {
		if (strcmp(v, "observe") == 0)
			cfg->cf_mode = SC_MODE_OBSERVE;
		else if (strcmp(v, "enforce") == 0)
			cfg->cf_mode = SC_MODE_ENFORCE;
		else if (strcmp(v, "off") == 0)
			cfg->cf_mode = SC_MODE_OFF;
		else
			AS_PROBLEM("certcast.io/mode", v, "not observe, enforce or off");
	}
	if ((v = rec_cert_annot(c, "certcast.io/fallback-issuer")) != NULL) {
		char k[16], nm[254];
		if (!as_parse_issuer_ref(v, k, sizeof k, nm, sizeof nm))
			AS_PROBLEM("certcast.io/fallback-issuer", v,
			    "not Issuer/NAME or ClusterIssuer/NAME with NAME a DNS subdomain");
	}
#undef AS_PROBLEM
	return n;
}

static void
as_user_config(const struct rec_cert *c, struct sc_config *cfg)
{
	(void)as_user_config_ex(c, cfg, NULL, 0);
}

size_t
as_annotation_problems(const struct rec_cert *c, const struct sc_config *base,
    struct as_annot_problem *out, size_t max)
{
	struct sc_config cfg;
	if (base)
		cfg = *base;
	else
		sc_config_default(&cfg);
	return as_user_config_ex(c, &cfg, out, max);
}

int
as_parse_last_action(const char *v, char *action, size_t actionsz, int64_t *when)
{
	/* "<Reason> <RFC 3339 time>[: detail]", as act.c writes it */
	const char *sp = v ? strchr(v, ' ') : NULL;
	if (sp == NULL || sp == v || (size_t)(sp - v) >= actionsz)
		return 0;
	char t[40];
	/* the time has colons of its own: it ends at the first ": " or at the end */
	const char *detail = strstr(sp + 1, ": ");
	size_t tl = detail ? (size_t)(detail - (sp + 1)) : strlen(sp + 1);
	if (tl == 0 || tl >= sizeof t)
		return 0;
	memcpy(t, sp + 1, tl);
	t[tl] = '\0';
	if (tf_parse_time(t, when) != 0)
		return 0;
	memcpy(action, v, (size_t)(sp - v));
	action[sp - v] = '\0';
	return 1;
}

/* What certcast wrote before, read back for hysteresis and restores. */
static void
as_state(const struct rec_cert *c, struct sc_state *st)
{
	const char *v;
	int64_t d;
	memset(st, 0, sizeof *st);
	st->st_last_risk = NAN;
	if ((v = rec_cert_annot(c, "certcast.io/original-renew-before")) != NULL) {
		st->st_rb_adjusted = 1;
		if (strcmp(v, "unset") != 0 && tf_duration_parse(v, &d) == 0 && d > 0) {
			st->st_orig_rb_set = 1;
			st->st_orig_rb = d;
		}
	}
	if ((v = rec_cert_annot(c, "certcast.io/risk")) != NULL) {
		char *end;
		double r = strtod(v, &end);
		if (end != v && *end == '\0' && r >= 0.0 && r <= 1.0)
			st->st_last_risk = r;
	}
	/*
	 * The last action's time survives a restart in its annotation; the executor's memory
	 * (as_use_state) knows more while the process lives.
	 */
	char act[40];
	if ((v = rec_cert_annot(c, "certcast.io/last-action")) != NULL &&
	    as_parse_last_action(v, act, sizeof act, &d)) {
		if (strcmp(act, "ReissueTriggered") == 0)
			st->st_last_reissue = d;
		else if (strncmp(act, "RenewBefore", 11) == 0)
			st->st_last_change = d;
		else if (strcmp(act, "IssuerFailover") == 0)
			st->st_last_failover = d;
	}
}

/* Appends the Events about kind ns/name to ev (at most max in all). */
static size_t
as_events_of(struct store *st, const char *kind, const char *ns, const char *name,
    struct sc_event *ev, size_t n, size_t max)
{
	const struct rec_event *got[AS_EVENTS];
	if (n >= max)
		return n;
	size_t k = store_events_of(st, kind, ns, name, got, max - n);
	if (k > max - n)
		k = max - n;
	for (size_t i = 0; i < k; i++) {
		struct sc_event *e = &ev[n++];
		e->ev_reason = as_nonnull(got[i]->ev_reason);
		e->ev_message = as_nonnull(got[i]->ev_message);
		e->ev_time = got[i]->ev_last;
		e->ev_count = got[i]->ev_count > 0 ? (uint32_t)got[i]->ev_count : 1;
		e->ev_warning = got[i]->ev_type == REC_EVENT_WARNING;
	}
	return n;
}

/*
 * What the newest request's Challenges say. A challenge whose self-check keeps failing is the
 * usual reason an order hangs (scoring/stuck.h), and cert-manager puts the why only on the
 * Challenge: its status.reason ("Waiting for HTTP-01 challenge propagation: wrong status code
 * '404', expected '200'") and its Events. The status holds now, so it enters as a warning
 * dated now; a valid challenge, or one with no reason, says nothing.
 */
static size_t
as_challenge_events(struct as_ctx *a, const char *ns, const struct rec_order *o,
    struct sc_event *ev, size_t n)
{
	const struct rec_challenge *chs[4];
	size_t nch = store_order_challenges(a->a_st, ns, o->o_meta.m_name, chs, 4);
	for (size_t k = 0; k < nch && k < 4; k++) {
		const struct rec_challenge *ch = chs[k];
		n = as_events_of(a->a_st, "Challenge", ns, ch->ch_meta.m_name, ev, n, AS_EVENTS);
		if (n >= AS_EVENTS || ch->ch_reason == NULL || ch->ch_reason[0] == '\0' ||
		    (ch->ch_state != REC_ACME_PENDING && ch->ch_state != REC_ACME_INVALID &&
			ch->ch_state != REC_ACME_ERRORED))
			continue;
		struct sc_event *e = &ev[n++];
		e->ev_reason = "ChallengeStatus";
		e->ev_message = ch->ch_reason;
		e->ev_time = a->a_now;
		e->ev_count = 1;
		e->ev_warning = 1;
	}
	return n;
}

static int
as_found_cmp(const void *x, const void *y)
{
	return strcmp(((const struct as_found *)x)->af_key, ((const struct as_found *)y)->af_key);
}

static const struct as_found *
as_found_get(const struct as_ctx *a, const char *ns, const char *name)
{
	if (a->a_nfound == 0)
		return NULL;
	char *key = xasprintf("%s/%s", ns, name);
	struct as_found k = {.af_key = key};
	const struct as_found *f = bsearch(&k, a->a_found, a->a_nfound, sizeof *a->a_found,
	    as_found_cmp);
	free(key);
	return f;
}

static int
as_cr_time_cmp(const void *x, const void *y)
{
	const struct rec_cr *a = *(const struct rec_cr *const *)x, *b = *(const struct rec_cr *const *)y;
	if (a->r_meta.m_created != b->r_meta.m_created)
		return a->r_meta.m_created < b->r_meta.m_created ? -1 : 1;
	int c = strcmp(a->r_meta.m_ns, b->r_meta.m_ns);
	return c ? c : strcmp(a->r_meta.m_name, b->r_meta.m_name);
}

/* The requested key as certparse labels it: "RSA-2048", "EC-P256", "Ed25519". */
static void
as_key_label(const struct rec_cert *c, char *buf, size_t len)
{
	switch (c->c_key_alg) {
	case REC_KEY_ECDSA:
		snprintf(buf, len, "EC-P%d", c->c_key_size > 0 ? (int)c->c_key_size : 256);
		break;
	case REC_KEY_ED25519:
		snprintf(buf, len, "Ed25519");
		break;
	case REC_KEY_OTHER:
		buf[0] = '\0';
		break;
	default: /* unset means RSA, 2048 bits unless sized */
		snprintf(buf, len, "RSA-%d", c->c_key_size > 0 ? (int)c->c_key_size : 2048);
		break;
	}
}

/* Most severe first, then strongest. */
static int
as_anom_cmp(const void *x, const void *y)
{
	const struct sc_anomaly *a = x, *b = y;
	if (a->an_severity != b->an_severity)
		return a->an_severity > b->an_severity ? -1 : 1;
	return a->an_score > b->an_score ? -1 : a->an_score < b->an_score;
}

int
as_observe_request(struct an_state *an, const struct rec_cr *r, const struct rec_cert *c,
    int64_t now, struct an_report *rep, struct bg_book *bk)
{
	const char *ns = r->r_meta.m_ns;
	char issuer[300], key[32] = "";
	snprintf(issuer, sizeof issuer, "%s/%s", r->r_issuer.rf_kind ? r->r_issuer.rf_kind : "Issuer",
	    r->r_issuer.rf_name ? r->r_issuer.rf_name : "");
	struct an_obs o;
	memset(&o, 0, sizeof o);
	o.o_uid = r->r_meta.m_uid[0] ? r->r_meta.m_uid : NULL;
	o.o_namespace = ns;
	o.o_name = r->r_cert_name;
	o.o_issuer = issuer;
	o.o_username = r->r_username;
	o.o_duration = r->r_has_duration ? r->r_duration : 0;
	o.o_time = r->r_meta.m_created;
	if (c) {
		o.o_dns_names = (const char *const *)c->c_dns_names;
		o.o_ndns = c->c_ndns;
		as_key_label(c, key, sizeof key);
		o.o_key = key[0] ? key : NULL;
	}
	struct cp_cert *pc = NULL;
	char perr[160] = "";
	int bad = 0;
	if (r->r_der_len > 0 && cp_parse(r->r_der, r->r_der_len, &pc, perr, sizeof perr) != SC_OK) {
		/* the request still trains the baselines; only its certificate checks are lost */
		log_warn("CertificateRequest %s/%s: issued certificate does not parse: %s", ns,
		    r->r_meta.m_name, perr);
		pc = NULL;
		bad = 1;
	}
	o.o_cert = pc;
	if (r->r_der_len > 0)
		bg_note(bk, r, pc); /* one parse for the anomalies and the ACME budget */
	int rc = an_observe(an, &o, now, rep);
	cp_free(pc);
	return rc != SC_OK ? rc : bad;
}

void
as_sort_anomalies(struct sc_anomaly *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof *v, as_anom_cmp);
}

void
as_set_anomalies(struct as_ctx *a, const char *ns, const char *name, const struct sc_anomaly *v,
    size_t n)
{
	for (size_t i = 0; i < a->a_nfound; i++)
		free(a->a_found[i].af_key);
	free(a->a_found);
	a->a_found = xcalloc(1, sizeof *a->a_found);
	a->a_nfound = a->a_capfound = 1;
	a->a_found[0].af_key = xasprintf("%s/%s", ns, name);
	for (size_t i = 0; i < n && i < SC_MAX_ANOMALIES; i++)
		a->a_found[0].af_items[a->a_found[0].af_n++] = v[i];
}

size_t
as_find_anomalies(struct as_ctx *a)
{
	size_t ncr = store_count(a->a_st, RES_CERTIFICATEREQUEST), n = 0, bad = 0;
	const struct rec_cr **crs = xcalloc(ncr ? ncr : 1, sizeof *crs);
	struct store_iter it = {0};
	const struct rec_cr *r;
	while (n < ncr && (r = store_next(a->a_st, RES_CERTIFICATEREQUEST, &it)) != NULL)
		crs[n++] = r;
	qsort(crs, n, sizeof *crs, as_cr_time_cmp);
	struct an_state *an = NULL;
	if (an_new(NULL, &an) != SC_OK) {
		free(crs);
		return 0;
	}
	struct an_report *rep = xmalloc(sizeof *rep);
	for (size_t i = 0; i < n; i++) {
		r = crs[i];
		const char *ns = r->r_meta.m_ns;
		const struct rec_cert *c = r->r_cert_name ? store_cert_get(a->a_st, ns, r->r_cert_name)
							  : NULL;
		memset(rep, 0, sizeof *rep);
		if (as_observe_request(an, r, c, a->a_now, rep, as_book(a)) > 0)
			bad++;
		/* only the newest request speaks for its certificate */
		const struct rec_cr *newest = NULL;
		if (c == NULL || store_cert_crs(a->a_st, ns, c->c_meta.m_name, &newest, 1) == 0 ||
		    newest != r)
			continue;
		if (a->a_nfound == a->a_capfound) {
			a->a_capfound = a->a_capfound ? a->a_capfound * 2 : 64;
			a->a_found = xrealloc(a->a_found, a->a_capfound * sizeof *a->a_found);
		}
		struct as_found *f = &a->a_found[a->a_nfound++];
		memset(f, 0, sizeof *f);
		f->af_key = xasprintf("%s/%s", ns, c->c_meta.m_name);
		for (size_t k = 0; k < rep->r_count && f->af_n < SC_MAX_ANOMALIES; k++)
			an_to_sc(&rep->r_items[k], &f->af_items[f->af_n++]);
		qsort(f->af_items, f->af_n, sizeof *f->af_items, as_anom_cmp);
	}
	free(rep);
	an_free(an);
	free(crs);
	if (a->a_nfound > 1) /* a_found is NULL when nothing was found: qsort must not see it */
		qsort(a->a_found, a->a_nfound, sizeof *a->a_found, as_found_cmp);
	return bad;
}

/*
 * The UTC offset of window i's time zone at time at. scoring takes one fixed offset per
 * window, so the caller reads the zone at the moment the windows matter (see as_score). A zone
 * certcast cannot read is reported once and the window read as UTC.
 */
static int32_t
as_tz_offset(struct as_ctx *a, const struct rec_cert *c, size_t i, int64_t at)
{
	const char *zone = c->c_windows[i].w_tz;
	if (zone == NULL || *zone == '\0')
		return 0;
	struct tz_db *db = a->a_cache != NULL ? a->a_cache->c_tz : a->a_tz;
	if (db == NULL)
		db = a->a_tz = tz_db_new(NULL);
	int32_t off;
	int first;
	char err[512];
	if (tz_db_offset(db, zone, at, &off, err, sizeof err, &first) != 0 && first)
		log_warn("Certificate %s/%s: spec.renewal.windows[%zu].timezone: %s; certcast reads "
		    "windows in this zone as UTC", c->c_meta.m_ns, c->c_meta.m_name, i, err);
	return off;
}

int
as_score(struct as_ctx *a, const struct rec_cert *c, struct sc_result *out, char *text,
    size_t textlen)
{
	struct sc_config cfg = a->a_cfg;
	struct sc_input in;
	struct sc_request reqs[AS_CRS_PER_CERT];
	struct sc_event evs[AS_EVENTS];
	struct sc_window wins[AS_WINDOWS];
	const struct rec_cr *crs[AS_CRS_PER_CERT];
	const char *ns = c->c_meta.m_ns, *name = c->c_meta.m_name;
	char ari_url[ARI_URL_MAX];

	as_user_config(c, &cfg);
	memset(&in, 0, sizeof in);
	in.in_now = a->a_now;
	in.in_cfg = &cfg;

	struct sc_cert *sc = &in.in_cert;
	sc->c_namespace = ns;
	sc->c_name = name;
	sc->c_issuer_kind = c->c_issuer.rf_kind ? c->c_issuer.rf_kind : "Issuer";
	sc->c_issuer_name = as_nonnull(c->c_issuer.rf_name);
	sc->c_acme = store_cert_issuer_type(a->a_st, c) == REC_ISSUER_ACME;
	sc->c_not_before = c->c_not_before;
	sc->c_not_after = c->c_not_after;
	/*
	 * cert-manager writes notBefore with notAfter; a status written by hand or by an old
	 * version may carry only notAfter. The lifetime is then the requested duration (90 days
	 * when unset, cert-manager's default), which is what the schedule depends on.
	 */
	if (sc->c_not_after != 0 && sc->c_not_before == 0)
		sc->c_not_before = sc->c_not_after - (c->c_has_duration && c->c_duration > 0
							     ? c->c_duration
							     : 90 * 86400);
	sc->c_failed_attempts = c->c_failed_attempts;
	sc->c_last_failure = c->c_last_failure;
	sc->c_status_renewal_time = c->c_renewal_time;
	as_cond(&c->c_issuing, &sc->c_issuing);
	as_cond(&c->c_ready, &sc->c_ready);
	struct sc_renew_spec *rs = &sc->c_spec;
	rs->rs_renew_before_set = c->c_has_renew_before;
	rs->rs_renew_before = c->c_renew_before;
	rs->rs_pct_set = c->c_has_renew_pct;
	rs->rs_pct = c->c_renew_pct;
	rs->rs_duration = c->c_has_duration ? c->c_duration : 0;
	rs->rs_policy = c->c_renewal_policy == REC_RENEWAL_DISABLED ? SC_RENEWAL_DISABLED
	    : c->c_renewal_policy == REC_RENEWAL_RENEW_BEFORE       ? SC_RENEWAL_RENEW_BEFORE
								    : SC_RENEWAL_UNSET;
	/*
	 * Windows matter from cert-manager's desired renewal time on (now, once that has
	 * passed), so their zones are read then: a window in Europe/Berlin for a November renewal
	 * opens at its winter offset even when scored in June. A daylight-saving change between
	 * that moment and the window that finally opens is not seen.
	 */
	int64_t tz_at = a->a_now;
	if (c->c_nwindows > 0 && sc->c_not_before != 0 && sc->c_not_after > sc->c_not_before) {
		int64_t want = sc->c_not_after -
		    fc_renew_before(sc->c_not_after - sc->c_not_before, rs);
		if (want > tz_at)
			tz_at = want;
	}
	size_t nw = 0;
	for (size_t i = 0; i < c->c_nwindows && nw < AS_WINDOWS; i++) {
		const struct rec_window *w = &c->c_windows[i];
		if (w->w_cron == NULL || !w->w_has_duration || w->w_duration <= 0)
			continue;
		wins[nw].rw_cron = w->w_cron;
		wins[nw].rw_duration = w->w_duration;
		wins[nw].rw_tz_offset = as_tz_offset(a, c, i, tz_at);
		nw++;
	}
	rs->rs_windows = nw ? wins : NULL;
	rs->rs_nwindows = nw;

	/* its CertificateRequests, and the Events about it and them */
	size_t ncr = store_cert_crs(a->a_st, ns, name, crs, AS_CRS_PER_CERT);
	if (ncr > AS_CRS_PER_CERT)
		ncr = AS_CRS_PER_CERT;
	for (size_t i = 0; i < ncr; i++)
		as_request(crs[i], &reqs[i]);
	in.in_requests = ncr ? reqs : NULL;
	in.in_nrequests = ncr;
	size_t nev = as_events_of(a->a_st, "Certificate", ns, name, evs, 0, AS_EVENTS);
	for (size_t i = 0; i < ncr && i < 4; i++) { /* the newest requests carry today's errors */
		const char *crn = crs[i]->r_meta.m_name;
		nev = as_events_of(a->a_st, "CertificateRequest", ns, crn, evs, nev, AS_EVENTS);
		const struct rec_order *ords[2];
		size_t no = store_cr_orders(a->a_st, ns, crn, ords, 2);
		for (size_t j = 0; j < no && j < 2; j++) {
			nev = as_events_of(a->a_st, "Order", ns, ords[j]->o_meta.m_name, evs, nev,
			    AS_EVENTS);
			if (i == 0)
				nev = as_challenge_events(a, ns, ords[j], evs, nev);
		}
	}
	in.in_events = nev ? evs : NULL;
	in.in_nevents = nev;

	/* the issuer, its estimate, and the fallback */
	size_t pi = SIZE_MAX, fi = SIZE_MAX, oi = SIZE_MAX;
	if (c->c_issuer.rf_name)
		pi = as_issuer_get(a, c->c_issuer.rf_group ? c->c_issuer.rf_group : REC_CM_GROUP,
		    sc->c_issuer_kind, ns, c->c_issuer.rf_name);
	const char *fbv = rec_cert_annot(c, "certcast.io/fallback-issuer");
	char fkind[16], fname[254];
	if (fbv && as_parse_issuer_ref(fbv, fkind, sizeof fkind, fname, sizeof fname))
		fi = as_issuer_get(a, REC_CM_GROUP, fkind, ns, fname);
	if (fi != SIZE_MAX && fi == pi) {
		/* failed over by certcast: the primary it left is in certcast.io/original-issuer */
		char og[254], ok[64], on[254];
		const char *ov = rec_cert_annot(c, "certcast.io/original-issuer");
		if (ov && as_parse_issuer_ref_any(ov, og, sizeof og, ok, sizeof ok, on, sizeof on))
			oi = as_issuer_get(a, og, ok, ns, on);
	}
	/* pointers into a_iss only now: as_issuer_get may move the array */
	if (pi != SIZE_MAX) {
		in.in_issuer = &a->a_iss[pi].ai_issuer;
		in.in_issuer_est = &a->a_iss[pi].ai_est;
	}
	if (fi != SIZE_MAX) {
		in.in_fallback.fb_configured = 1;
		if (fi == pi) {
			in.in_fallback.fb_active = 1;
			if (oi != SIZE_MAX && oi != pi && a->a_iss[oi].ai_found) {
				in.in_fallback.fb_other = &a->a_iss[oi].ai_issuer;
				in.in_fallback.fb_est = &a->a_iss[oi].ai_est;
			}
		} else if (a->a_iss[fi].ai_found) {
			/*
			 * Only an issuer the store holds is offered: one that does not exist (a typo,
			 * the wrong kind, not created yet) has no history, reads as the healthy prior,
			 * and failing over to it would leave the certificate with no issuer at all.
			 */
			in.in_fallback.fb_other = &a->a_iss[fi].ai_issuer;
			in.in_fallback.fb_est = &a->a_iss[fi].ai_est;
		}
	}
	as_state(c, &in.in_state);
	if (a->a_state_fn)
		a->a_state_fn(a->a_state_arg, c, a->a_now, &in.in_state);
	as_signals(a, c, &in.in_signals);
	as_ari(a, c, &in.in_ari, ari_url, sizeof ari_url);
	char domain[BG_DOMAIN_MAX];
	if (sc->c_acme) {
		(void)as_budget(a, c, &in.in_budget, domain, sizeof domain);
		sc->c_domain = domain[0] ? domain : NULL;
	}
	in.in_model = a->a_model;
	const struct as_found *af = as_found_get(a, ns, name);
	if (af && af->af_n) {
		in.in_anomalies = af->af_items;
		in.in_nanomalies = af->af_n;
	}

	int rc = sc_evaluate(&in, out);
	if (text && textlen) {
		text[0] = '\0';
		(void)ex_text(&in, out, text, textlen);
	}
	return rc;
}

void
as_set_model(struct as_ctx *a, const struct lm_model *m)
{
	a->a_model = m;
}

int
as_request_outcome(const struct rec_cr *r, int *failed, int64_t *when)
{
	struct sc_request rq;
	as_request(r, &rq);
	if (rq.rq_outcome == SC_OUT_PENDING)
		return 0;
	*failed = rq.rq_outcome != SC_OUT_ISSUED;
	*when = rq.rq_done > 0 ? rq.rq_done : rq.rq_time;
	return 1;
}

int
as_request_fault_failure(const struct rec_cr *r)
{
	struct sc_request rq;
	struct fcl_result fr;
	as_request(r, &rq);
	if (rq.rq_outcome == SC_OUT_DENIED)
		return 1; /* a policy refused it: scoring reads a denial as a wrong setting */
	if (rq.rq_outcome != SC_OUT_FAILED)
		return 0;
	fcl_classify(rq.rq_reason, rq.rq_message, &fr);
	return fr.cl_class == SC_CLASS_RATE_LIMIT || fr.cl_class == SC_CLASS_CA_UNAVAILABLE ||
	    fr.cl_class == SC_CLASS_DNS || fr.cl_class == SC_CLASS_CONFIG;
}

void
as_request_features(struct as_ctx *a, const struct rec_cert *c, const struct rec_cr *const *crs,
    size_t n, size_t i, struct lm_features *f)
{
	const struct rec_cr *r = crs[i];
	int64_t created = r->r_meta.m_created;
	memset(f, 0, sizeof *f);
	f->f_acme_429_rate = NAN;
	f->f_http_5xx_rate = NAN;
	f->f_latency_s = NAN;
	f->f_pod_restarts_1h = NAN;
	f->f_prior = NAN; /* trained on its own: the prior is a scoring-time blend */
	f->f_hours_since_failure = NAN;
	f->f_class = LM_CLASS_NONE;

	/* the certificate's history before this request: older ones come after i */
	int streak_open = 1, failed;
	int64_t when;
	for (size_t j = i + 1; j < n; j++) {
		if (!as_request_outcome(crs[j], &failed, &when) || when > created)
			continue; /* still pending then, or finished after this one started */
		if (failed && isnan(f->f_hours_since_failure)) {
			f->f_hours_since_failure = (double)(created - when) / 3600.0;
			struct sc_request rq;
			struct fcl_result fr;
			as_request(crs[j], &rq);
			fcl_classify(rq.rq_reason, rq.rq_message, &fr);
			/* scoring.h keeps enum sc_class in enum lm_class's order */
			f->f_class = fr.cl_class == SC_CLASS_OK ? LM_CLASS_UNKNOWN
								  : (enum lm_class)fr.cl_class;
		}
		if (failed && streak_open)
			f->f_failed_attempts += 1.0;
		else
			streak_open = 0;
	}
	if (f->f_failed_attempts == 0.0)
		f->f_class = LM_CLASS_NONE; /* the last attempt before this one succeeded */

	/* the requested lifetime, else the certificate's */
	int64_t life = 90 * 86400;
	if (r->r_has_duration && r->r_duration > 0)
		life = r->r_duration;
	else if (c->c_has_duration && c->c_duration > 0)
		life = c->c_duration;
	else if (c->c_not_before != REC_TIME_NONE && c->c_not_after != REC_TIME_NONE &&
		 c->c_not_after > c->c_not_before)
		life = c->c_not_after - c->c_not_before;
	f->f_lifetime_days = (double)life / 86400.0;

	/* the issuer the request went to, as its history stood when the request was created */
	const struct rec_ref *ref = r->r_issuer.rf_name ? &r->r_issuer : &c->c_issuer;
	if (ref->rf_name == NULL) {
		f->f_issuer_fail_rate = a->a_cfg.cf_prior_fail;
		return;
	}
	size_t k = as_issuer_get(a, ref->rf_group ? ref->rf_group : REC_CM_GROUP,
	    ref->rf_kind ? ref->rf_kind : "Issuer", c->c_meta.m_ns, ref->rf_name);
	struct sc_issuer iss = a->a_iss[k].ai_issuer;
	/* a Ready=False that began later says nothing about this moment */
	if (iss.is_ready.cd_time > created)
		iss.is_ready.cd_status = SC_UNKNOWN;
	struct sc_issuer_estimate est;
	sc_issuer_estimate(&iss, &a->a_cfg, created, &est);
	f->f_issuer_fail_rate = est.ie_mean;
	f->f_issuer_not_ready = est.ie_not_ready;

	/*
	 * A request that failed only after hanging far beyond the issuer's usual latency was a
	 * stuck attempt (scoring/stuck.h): its failure came from what kept it hanging (a challenge
	 * that never validated), not from a healthy attempt's odds. Learned as healthy, a cluster
	 * with a broken challenge would teach the model that healthy attempts fail; it is learned
	 * with its own failure's class instead, as the simulator does.
	 */
	if (as_request_outcome(r, &failed, &when) && failed && when > created) {
		int64_t lat = est.ie_latency > 0 ? est.ie_latency : SK_DEFAULT_LATENCY;
		int64_t grace = lat * SK_LATENCY_MULT > SK_MIN_GRACE ? lat * SK_LATENCY_MULT
								      : SK_MIN_GRACE;
		if (when - created > grace) {
			struct sc_request rq;
			struct fcl_result fr;
			as_request(r, &rq);
			fcl_classify(rq.rq_reason, rq.rq_message, &fr);
			f->f_class = fr.cl_class == SC_CLASS_OK ? LM_CLASS_UNKNOWN
								  : (enum lm_class)fr.cl_class;
		}
	}
}
