/*
 * sim_cc: observations -> sc_input -> sc_evaluate -> engine actions.
 *
 * Histories are small rings of struct sc_request whose reason and message point at the constant
 * strings the engine showed in se_view, so nothing is copied per outcome. The issuer estimate is
 * cached per issuer and recomputed when its history changes or a quarter hour has passed (its
 * evidence decays with a half-life of days, so a quarter hour changes nothing material).
 */
#include "sim_cc.h"

#include "budgetq.h"
#include "learn.h"
#include "scoring.h"
#include "sim_rand.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCC_CREQ 8      /* requests remembered per certificate */
#define SCC_IREQ 128    /* requests remembered per issuer */
#define SCC_DUP 8       /* issuance times remembered per certificate (duplicate budget) */
#define SCC_HOUR 3600
#define SCC_EST_TTL 900 /* issuer estimate cache lifetime */

struct scc_cert {
	struct sc_request cc_req[SCC_CREQ]; /* ring of its CRs, rq_time 0 = empty slot */
	int64_t cc_dup[SCC_DUP];            /* ring of its issuance times */
	int64_t cc_last_change;             /* certcast last changed renewBefore */
	int64_t cc_last_reissue;            /* certcast last set Issuing=True */
	int64_t cc_last_failover;           /* certcast last switched to the fallback */
	int64_t cc_attempt_t;               /* start of the attempt in flight */
	int64_t cc_nat_rt;                  /* renewal time under the user's spec, 0 none */
	int64_t cc_slot;                    /* its budget queue projection (bd_slot) */
	int64_t cc_refused_t;               /* start of its latest failed attempt (when the CA
					       judged that order), 0 none */
	uint32_t cc_refused_ver;            /* ... and the set of names it ordered */
	double cc_last_risk;                /* risk at the last evaluation, -1 none */
	struct lm_features cc_feat;         /* features at the start of the attempt in flight */
	uint8_t cc_req_head;                /* next slot of cc_req */
	uint8_t cc_dup_head;                /* next slot of cc_dup */
	uint8_t cc_attempt_new;             /* the attempt in flight orders a set never issued */
	uint32_t cc_attempt_ver;            /* ... and which set (se_view.v_names_ver) */
	uint32_t cc_dup_ver;                /* the set cc_dup counts */
	uint8_t cc_rb_adjusted;             /* renewBefore is certcast's, not the user's */
	uint8_t cc_has_feat;                /* cc_feat is valid */
	uint8_t cc_stuck_cls;               /* the attempt in flight was judged stuck: the class of
					       its cause + 1, 0 when not */
};

struct scc_issuer {
	struct sc_request ci_req[SCC_IREQ]; /* ring of its CRs across certificates */
	size_t ci_n;                        /* slots used */
	size_t ci_head;                     /* next slot */
	struct sc_issuer_estimate ci_est;   /* cached estimate */
	int64_t ci_est_t;                   /* when ci_est was computed, 0 = stale */
	uint32_t ci_fail_run;               /* consecutive failed outcomes lately */
	uint32_t ci_reissues;               /* certcast reissues in the current day */
	int64_t ci_reissue_day;             /* start of that day */
};

/*
 * Issuance times the controller saw per (issuer, registered domain), oldest first. Two windows
 * are kept: the current one from q_head, and the one before from q_keep, so that the books at a
 * refusal up to a window old can be read (bd_new_used_at_failure).
 */
struct scc_dq {
	int64_t *q_t;    /* owned */
	uint32_t q_keep; /* first kept */
	uint32_t q_head; /* first in the current window */
	uint32_t q_len;  /* end */
	uint32_t q_cap;  /* slots */
	int64_t q_proj_t;    /* when the queue projection of its certificates was made, 0 never */
	uint64_t q_proj_gen; /* s_gen it was made at */
};

struct scc_state {
	struct se_engine *s_e;          /* borrowed */
	const struct scn_scenario *s_s; /* borrowed */
	int s_enforce;                  /* apply decisions */
	struct sc_config s_cfg;         /* scoring configuration */
	struct lm_model s_lm;           /* learned per-attempt model */
	struct scc_cert *s_c;           /* per certificate */
	struct scc_issuer *s_i;         /* per issuer */
	uint32_t *s_gfirst;             /* per group: index of its first certificate */
	uint32_t s_ndom;                /* registered domains */
	struct scc_dq *s_dq;            /* [issuer * s_ndom + domain] */
	uint32_t *s_dfirst;             /* per domain: first slot in s_dcert (s_ndom + 1 entries) */
	uint32_t *s_dcert;              /* certificates ordered by registered domain */
	struct sc_result s_res;         /* scratch result (large; reused) */
	uint64_t s_gen;                 /* bumped by every change a queue projection reads */
	struct bq_cert *s_bq;           /* queue projection scratch: one domain's certificates */
	uint32_t *s_bq_cert;            /* ... their certificate indices */
	uint32_t *s_bq_heap;            /* ... bq_project's heap */
	int64_t *s_bq_issued;           /* ... and issuances (s_bq_issued_cap) */
	size_t s_bq_issued_cap;
	struct sc_request s_scratch[SCC_CREQ + 1]; /* scratch: the ring and the request in flight */
	struct sc_event s_ev;                  /* scratch: the in-flight Challenge's reason */
};

static int64_t scc_natural_rt(const struct se_view *v);

static int64_t
scc_interval(const struct scc_state *st, int64_t lifetime)
{
	if (st->s_s->s_eval_interval > 0)
		return st->s_s->s_eval_interval;
	int64_t i = lifetime / 20;
	return i < 86400 ? (i < SCC_HOUR ? SCC_HOUR : i) : 86400;
}

struct scc_state *
scc_new(struct se_engine *e, int enforce)
{
	struct scc_state *st = xcalloc(1, sizeof(*st));
	const struct scn_scenario *s = se_scenario(e);
	uint32_t n = se_ncerts(e);
	st->s_e = e;
	st->s_s = s;
	st->s_enforce = enforce;
	sc_config_default(&st->s_cfg);
	st->s_cfg.cf_target_risk = s->s_target_risk;
	st->s_cfg.cf_mode = enforce ? SC_MODE_ENFORCE : SC_MODE_OBSERVE;
	st->s_cfg.cf_jitter_seed = s->s_seed;
	lm_init(&st->s_lm, NULL);
	st->s_c = xcalloc(n ? n : 1, sizeof(*st->s_c));
	for (uint32_t i = 0; i < n; i++)
		st->s_c[i].cc_last_risk = -1;
	st->s_i = xcalloc(s->s_nissuers, sizeof(*st->s_i));
	st->s_gfirst = xcalloc(s->s_ngroups, sizeof(*st->s_gfirst));
	uint32_t first = 0;
	for (size_t g = 0; g < s->s_ngroups; g++) {
		st->s_gfirst[g] = first;
		first += s->s_groups[g].g_count;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct se_view v;
		se_observe(e, i, &v);
		if (v.v_domain + 1 > st->s_ndom)
			st->s_ndom = v.v_domain + 1;
	}
	st->s_dq = xcalloc((size_t)s->s_nissuers * (st->s_ndom ? st->s_ndom : 1), sizeof(*st->s_dq));
	/* The controller's store, indexed by registered domain (for the renewal bunch). */
	st->s_dfirst = xcalloc((size_t)st->s_ndom + 1, sizeof(*st->s_dfirst));
	st->s_dcert = xcalloc(n ? n : 1, sizeof(*st->s_dcert));
	for (uint32_t i = 0; i < n; i++) {
		struct se_view v;
		se_observe(e, i, &v);
		st->s_dfirst[v.v_domain + 1]++;
	}
	for (uint32_t d = 0; d < st->s_ndom; d++)
		st->s_dfirst[d + 1] += st->s_dfirst[d];
	{
		uint32_t *fill = xcalloc((size_t)st->s_ndom + 1, sizeof(*fill));
		for (uint32_t i = 0; i < n; i++) {
			struct se_view v;
			se_observe(e, i, &v);
			st->s_dcert[st->s_dfirst[v.v_domain] + fill[v.v_domain]++] = i;
			st->s_c[i].cc_nat_rt = scc_natural_rt(&v);
		}
		free(fill);
	}
	st->s_bq = xcalloc(n ? n : 1, sizeof(*st->s_bq));
	st->s_bq_cert = xcalloc(n ? n : 1, sizeof(*st->s_bq_cert));
	st->s_bq_heap = xcalloc(n ? n : 1, sizeof(*st->s_bq_heap));
	return st;
}

void
scc_free(struct scc_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < (size_t)st->s_s->s_nissuers * st->s_ndom; i++)
		free(st->s_dq[i].q_t);
	free(st->s_dq);
	free(st->s_bq);
	free(st->s_bq_cert);
	free(st->s_bq_heap);
	free(st->s_bq_issued);
	free(st->s_dfirst);
	free(st->s_dcert);
	free(st->s_gfirst);
	free(st->s_i);
	free(st->s_c);
	free(st);
}

/* The issuances after since; those at or before keep_since (< since) are forgotten. */
static uint32_t
scc_dq_count(struct scc_dq *q, int64_t since, int64_t keep_since, int64_t *oldest)
{
	while (q->q_head < q->q_len && q->q_t[q->q_head] <= since)
		q->q_head++;
	while (q->q_keep < q->q_head && q->q_t[q->q_keep] <= keep_since)
		q->q_keep++;
	if (q->q_keep > 64 && q->q_keep * 2 > q->q_len) {
		memmove(q->q_t, q->q_t + q->q_keep, (q->q_len - q->q_keep) * sizeof(*q->q_t));
		q->q_len -= q->q_keep;
		q->q_head -= q->q_keep;
		q->q_keep = 0;
	}
	*oldest = q->q_head < q->q_len ? q->q_t[q->q_head] : 0;
	return q->q_len - q->q_head;
}

/* The kept issuances in (from, to]: the books of a window that has ended. */
static uint32_t
scc_dq_count_in(const struct scc_dq *q, int64_t from, int64_t to)
{
	uint32_t n = 0;
	for (uint32_t i = q->q_keep; i < q->q_len; i++)
		n += q->q_t[i] > from && q->q_t[i] <= to;
	return n;
}

static const struct sc_issuer_estimate *
scc_estimate(struct scc_state *st, int issuer, int64_t now, struct sc_issuer *out)
{
	struct scc_issuer *ci = &st->s_i[issuer];
	const struct scn_issuer *si = &st->s_s->s_issuers[issuer];
	memset(out, 0, sizeof(*out));
	out->is_kind = si->is_kind;
	out->is_name = si->is_name;
	out->is_ready.cd_status = SC_TRUE; /* the simulated issuers never report Ready=False */
	out->is_history = ci->ci_req;
	out->is_nhistory = ci->ci_n;
	if (ci->ci_est_t == 0 || now - ci->ci_est_t >= SCC_EST_TTL) {
		sc_issuer_estimate(out, &st->s_cfg, now, &ci->ci_est);
		ci->ci_est_t = now;
	}
	return &ci->ci_est;
}

/* cert-manager's renewal time of the current certificate under the user's own spec. */
static int64_t
scc_natural_rt(const struct se_view *v)
{
	struct sc_renew_spec spec = {.rs_renew_before = v->v_user_renew_before,
	    .rs_renew_before_set = v->v_user_renew_before > 0, .rs_pct = v->v_pct,
	    .rs_pct_set = v->v_pct > 0, .rs_duration = v->v_lifetime};
	int64_t t = 0;
	(void)fc_renewal_time(v->v_not_before, v->v_not_after, &spec, &t);
	return t;
}

/*
 * How many certificates of c's registered domain would cert-manager order within half a
 * window of c under the users' specs, each for a set of names the CA never issued: what a
 * controller reads from its store to see orders bunching against the CA's per-domain budget.
 * Renewals are left out (Let's Encrypt exempts them from that budget), and so are
 * certificates whose names changed: cert-manager orders those at once, whatever their
 * renewal time, so moving renewal times cannot spread them.
 */
static uint32_t
scc_bunch(const struct scc_state *st, uint32_t c, uint32_t dom, int64_t window)
{
	int64_t t = st->s_c[c].cc_nat_rt;
	uint32_t k = 0;
	if (t == 0 || dom >= st->s_ndom)
		return 0;
	for (uint32_t i = st->s_dfirst[dom]; i < st->s_dfirst[dom + 1]; i++) {
		int64_t u = st->s_c[st->s_dcert[i]].cc_nat_rt;
		struct se_view v;
		if (u == 0 || u < t - window / 2 || u >= t + window / 2)
			continue;
		se_observe(st->s_e, st->s_dcert[i], &v);
		k += v.v_names_new && !v.v_names_differ;
	}
	return k;
}

/*
 * The queue projection (budgetq.h) for the certificates of registered domain dom on issuer
 * is: made once per domain and look from what the controller's store holds at now (each
 * Certificate's status and spec, the issuance times it counted) and kept in their cc_slot.
 * The attempt duration is the latest request's on the issuer, as its CR shows it; before any
 * request finished there is none, and no projection (returns 0; 1 when it holds): a guessed
 * duration drifts by the error at every retry (300s for 60s moved slots by an hour over 14
 * retries and named 12 wrong certificates in rate-limit).
 */
static int
scc_project(struct scc_state *st, int issuer, uint32_t dom, struct scc_dq *q, int64_t now)
{
	struct scc_issuer *ci = &st->s_i[issuer];
	const struct scn_issuer *si = &st->s_s->s_issuers[issuer];
	struct bq_budget b = {.bb_limit = si->is_rl_domain, .bb_window = si->is_rl_window,
	    .bb_attempt = st->s_cfg.cf_attempt_duration};
	struct bq_scratch sc;
	int64_t oldest, horizon = now;
	size_t n = 0, nused;
	if (ci->ci_n == 0)
		return 0;
	{
		const struct sc_request *r = &ci->ci_req[(ci->ci_head + SCC_IREQ - 1) % SCC_IREQ];
		if (r->rq_done < r->rq_time)
			return 0;
		b.bb_attempt = r->rq_done - r->rq_time;
	}
	if (q->q_proj_t == now && q->q_proj_gen == st->s_gen)
		return 1;
	q->q_proj_t = now;
	q->q_proj_gen = st->s_gen;
	nused = scc_dq_count(q, now - si->is_rl_window, now - 2 * si->is_rl_window, &oldest);
	b.bb_used = q->q_t + q->q_head;
	b.bb_nused = nused;
	for (uint32_t i = st->s_dfirst[dom]; i < st->s_dfirst[dom + 1]; i++) {
		uint32_t c = st->s_dcert[i];
		struct se_view v;
		struct sc_cert cert;
		se_observe(st->s_e, c, &v);
		if (v.v_issuer != issuer || !v.v_names_new)
			continue; /* renewals do not wait for the domain's slots */
		memset(&cert, 0, sizeof(cert));
		cert.c_failed_attempts = (int32_t)v.v_failed;
		cert.c_last_failure = v.v_last_failure;
		cert.c_issuing.cd_status = v.v_issuing ? SC_TRUE : SC_FALSE;
		/* names differing from the spec make cert-manager order now, backoff permitting */
		st->s_bq[n].bc_next = fc_next_attempt(&cert,
		    v.v_names_differ && v.v_renewal_time > now ? now : v.v_renewal_time, now);
		st->s_bq[n].bc_failed = (int32_t)v.v_failed;
		st->s_bq[n].bc_deadline = v.v_not_after;
		if (v.v_not_after > horizon)
			horizon = v.v_not_after;
		st->s_bq_cert[n++] = c;
	}
	if (nused + n > st->s_bq_issued_cap) {
		st->s_bq_issued_cap = 2 * (nused + n);
		st->s_bq_issued = xrealloc(st->s_bq_issued, st->s_bq_issued_cap * sizeof(int64_t));
	}
	sc.bs_heap = st->s_bq_heap;
	sc.bs_issued = st->s_bq_issued;
	(void)bq_project(st->s_bq, n, &b, now, horizon, &sc);
	for (size_t k = 0; k < n; k++)
		st->s_c[st->s_bq_cert[k]].cc_slot = st->s_bq[k].bc_slot;
	return 1;
}

/* Fill in everything sc_evaluate needs for certificate c at now. */
static void
scc_input(struct scc_state *st, uint32_t c, const struct se_view *v, struct sc_input *in,
    struct sc_issuer *iss, struct sc_issuer *fb, char *name, size_t namelen, char *dom,
    size_t domlen)
{
	const struct scn_scenario *s = st->s_s;
	const struct scn_group *g = &s->s_groups[v->v_group];
	const struct scn_issuer *si = &s->s_issuers[v->v_issuer];
	struct scc_cert *cc = &st->s_c[c];
	int64_t now = se_now(st->s_e);
	size_t nreq = 0;

	memset(in, 0, sizeof(*in));
	snprintf(name, namelen, "%s-%u", g->g_name, c - st->s_gfirst[v->v_group]);
	if (g->g_ndomains > 1)
		snprintf(dom, domlen, "%u.%s", (c - st->s_gfirst[v->v_group]) % g->g_ndomains,
		    g->g_domain);
	else
		snprintf(dom, domlen, "%s", g->g_domain);
	in->in_now = now;
	in->in_cfg = &st->s_cfg;
	in->in_cert.c_namespace = g->g_namespace;
	in->in_cert.c_name = name;
	in->in_cert.c_issuer_kind = si->is_kind;
	in->in_cert.c_issuer_name = si->is_name;
	in->in_cert.c_domain = dom;
	in->in_cert.c_acme = si->is_acme;
	in->in_cert.c_not_before = v->v_not_before;
	in->in_cert.c_not_after = v->v_not_after;
	in->in_cert.c_spec.rs_renew_before = v->v_renew_before;
	in->in_cert.c_spec.rs_renew_before_set = v->v_renew_before > 0;
	in->in_cert.c_spec.rs_pct = v->v_pct;
	in->in_cert.c_spec.rs_pct_set = v->v_pct > 0;
	in->in_cert.c_spec.rs_duration = v->v_lifetime;
	in->in_cert.c_failed_attempts = (int32_t)v->v_failed;
	in->in_cert.c_last_failure = v->v_last_failure;
	in->in_cert.c_issuing.cd_status = v->v_issuing ? SC_TRUE : SC_FALSE;
	in->in_cert.c_ready.cd_status = now < v->v_not_after ? SC_TRUE : SC_FALSE;
	in->in_cert.c_spec_mismatch = v->v_names_differ;
	for (int i = 0; i < SCC_CREQ; i++)
		if (cc->cc_req[i].rq_time)
			st->s_scratch[nreq++] = cc->cc_req[i];
	/*
	 * The request in flight, as a controller lists it: pending since the attempt began, with
	 * Issuing=True set then; while it hangs, its Challenge's self-check reason as an Event.
	 */
	if (v->v_issuing && cc->cc_attempt_t > 0) {
		struct sc_request *rq = &st->s_scratch[nreq++];
		memset(rq, 0, sizeof(*rq));
		rq->rq_time = cc->cc_attempt_t;
		rq->rq_outcome = SC_OUT_PENDING;
		rq->rq_reason = "Pending";
		in->in_cert.c_issuing.cd_time = cc->cc_attempt_t;
		if (v->v_pending_reason != NULL) {
			memset(&st->s_ev, 0, sizeof(st->s_ev));
			st->s_ev.ev_reason = "Presented";
			st->s_ev.ev_message = v->v_pending_reason;
			st->s_ev.ev_time = cc->cc_attempt_t + 60;
			st->s_ev.ev_count = 1;
			in->in_events = &st->s_ev;
			in->in_nevents = 1;
		}
	}
	in->in_requests = st->s_scratch;
	in->in_nrequests = nreq;
	in->in_issuer_est = scc_estimate(st, v->v_issuer, now, iss);
	in->in_issuer = iss;
	if (v->v_ari_hi > v->v_ari_lo) {
		in->in_ari.ar_valid = 1;
		in->in_ari.ar_start = v->v_ari_lo;
		in->in_ari.ar_end = v->v_ari_hi;
		in->in_ari.ar_url = v->v_ari_url;
	}
	if (si->is_acme) {
		int64_t since = now - si->is_rl_window, oldest = 0;
		struct scc_dq *q = &st->s_dq[(size_t)v->v_issuer * st->s_ndom + v->v_domain];
		in->in_budget.bd_valid = 1;
		in->in_budget.bd_new_used =
		    scc_dq_count(q, since, since - si->is_rl_window, &oldest);
		in->in_budget.bd_new_limit = si->is_rl_domain;
		in->in_budget.bd_dup_limit = si->is_rl_dup;
		in->in_budget.bd_window = si->is_rl_window;
		in->in_budget.bd_refill = oldest ? oldest + si->is_rl_window : 0;
		/* what the store says: the spec's set was issued before, so the CA renews it */
		in->in_budget.bd_renewal = !v->v_names_new;
		for (int i = 0; cc->cc_dup_ver == v->v_names_ver && i < SCC_DUP; i++)
			in->in_budget.bd_dup_used += cc->cc_dup[i] > since;
		/*
		 * The books when the CA refused the latest failed order, read now: orders the CA
		 * accepted just before it are booked only when they finish. Kept for a window.
		 */
		if (v->v_failed > 0 && cc->cc_refused_t > 0 && cc->cc_refused_t >= since) {
			int64_t t = cc->cc_refused_t, from = t - si->is_rl_window;
			in->in_budget.bd_at_failure = 1;
			in->in_budget.bd_new_used_at_failure = scc_dq_count_in(q, from, t);
			for (int i = 0; cc->cc_dup_ver == cc->cc_refused_ver && i < SCC_DUP; i++)
				in->in_budget.bd_dup_used_at_failure +=
				    cc->cc_dup[i] > from && cc->cc_dup[i] <= t;
		}
		/*
		 * Renewals draw nothing from the domain's budget, so they neither bunch against it
		 * nor wait in its queue; only a certificate ordering a new set does both.
		 */
		if (!in->in_budget.bd_renewal && !v->v_names_differ)
			in->in_budget.bd_bunch = scc_bunch(st, c, v->v_domain, si->is_rl_window);
		if (!in->in_budget.bd_renewal && scc_project(st, v->v_issuer, v->v_domain, q, now)) {
			in->in_budget.bd_queue = 1;
			in->in_budget.bd_slot = cc->cc_slot;
		}
	}
	if (v->v_fallback >= 0) {
		int active = v->v_issuer == v->v_fallback;
		int other = active ? v->v_primary : v->v_fallback;
		in->in_fallback.fb_configured = 1;
		in->in_fallback.fb_active = active;
		in->in_fallback.fb_est = scc_estimate(st, other, now, fb);
		in->in_fallback.fb_other = fb;
	}
	in->in_state.st_rb_adjusted = cc->cc_rb_adjusted;
	in->in_state.st_orig_rb_set = v->v_user_renew_before > 0;
	in->in_state.st_orig_rb = v->v_user_renew_before;
	in->in_state.st_last_change = cc->cc_last_change;
	in->in_state.st_last_risk = cc->cc_last_risk;
	in->in_state.st_last_reissue = cc->cc_last_reissue;
	in->in_state.st_last_failover = cc->cc_last_failover;
	in->in_state.st_reissues_used = st->s_i[v->v_issuer].ci_reissues;
	in->in_model = &st->s_lm;
}

/* Apply a decision in enforce mode; returns 1 when an attempt was started. */
static int
scc_apply(struct scc_state *st, uint32_t c, const struct se_view *v, const struct sc_result *r)
{
	struct se_engine *e = st->s_e;
	struct scc_cert *cc = &st->s_c[c];
	const struct sc_decision *d = &r->r_decision;
	int64_t now = se_now(e);
	int started = 0;
	if (d->d_failover == SC_FO_SWITCH && v->v_fallback >= 0) {
		se_set_issuer(e, c, v->v_fallback);
		cc->cc_last_failover = now;
	}
	else if (d->d_failover == SC_FO_RESTORE)
		se_set_issuer(e, c, v->v_primary);
	if (d->d_rb == SC_RB_SET) {
		if (se_set_renew_before(e, c, d->d_rb_value) == 0) {
			cc->cc_rb_adjusted = 1;
			cc->cc_last_change = now;
		}
	} else if (d->d_rb == SC_RB_RESTORE) {
		if (se_set_renew_before(e, c, d->d_rb_unset ? 0 : d->d_rb_value) == 0) {
			cc->cc_rb_adjusted = 0;
			cc->cc_last_change = now;
		}
	}
	if (d->d_reissue && !v->v_issuing) {
		struct scc_issuer *ci = &st->s_i[v->v_issuer];
		if (now - ci->ci_reissue_day >= 86400) {
			ci->ci_reissue_day = now;
			ci->ci_reissues = 0;
		}
		if (se_trigger_issuing(e, c) == 0) {
			ci->ci_reissues++;
			cc->cc_last_reissue = now;
			started = 1;
		}
	}
	return started;
}

static void
scc_schedule(struct scc_state *st, uint32_t c, const struct se_view *v, const struct sc_result *r)
{
	int64_t now = se_now(st->s_e);
	int64_t iv = scc_interval(st, v->v_lifetime);
	int64_t next, target = v->v_renewal_time;
	int ari = v->v_ari_hi > v->v_ari_lo;
	if (ari && v->v_ari_lo < target)
		target = v->v_ari_lo;
	if (v->v_issuing) {
		/* the outcome evaluates again; an attempt that hangs is looked at hourly meanwhile */
		next = now + SCC_HOUR;
	} else if (v->v_failed > 0) {
		/* Failing: look again when cert-manager's backoff ends, at least hourly early in the
		 * backoff and at most every 12h; a recovery of the issuer sweeps at once instead. */
		next = r->r_backoff_until;
		if (next < now + SCC_HOUR)
			next = now + SCC_HOUR;
		if (next > now + 12 * SCC_HOUR)
			next = now + 12 * SCC_HOUR;
		/* Acting and still at risk: a reissue may be due once its minimum interval ends. */
		if (st->s_enforce && r->r_risk > st->s_cfg.cf_target_risk &&
		    next > now + st->s_cfg.cf_reissue_min_interval)
			next = now + (st->s_cfg.cf_reissue_min_interval > 0
					     ? st->s_cfg.cf_reissue_min_interval : SCC_HOUR);
	} else if (r->r_level >= SC_LEVEL_MEDIUM || now >= target) {
		next = now + SCC_HOUR; /* needs attention: a controller's requeue after an hour */
	} else if (target - now <= iv) {
		next = target; /* look again the moment it becomes due */
	} else {
		/* Healthy and far from renewal: outcomes and ARI changes evaluate at once, so
		 * halving the distance (at least one interval, at most a week) loses nothing. */
		int64_t half = (target - now) / 2;
		next = now + (half < iv ? iv : (half > 7 * 86400 ? 7 * 86400 : half));
	}
	se_schedule_eval(st->s_e, c, next);
}

/*
 * An attempt the forecaster judged stuck (likelier than not) fails because of what keeps its
 * challenge from validating, not at the healthy rate: its training example for the learned
 * model carries that class, as a failing certificate's does, so the hang does not teach the
 * model that healthy attempts fail.
 */
static void
scc_note_stuck(struct scc_state *st, uint32_t c)
{
	const struct sc_result *r = &st->s_res;
	for (uint32_t i = 0; i < r->r_nfactors; i++)
		if (strcmp(r->r_factors[i].f_name, "stuck") == 0 && r->r_factors[i].f_value >= 0.5) {
			st->s_c[c].cc_stuck_cls = (uint8_t)(r->r_class + 1);
			return;
		}
}

static void
scc_evaluate(struct scc_state *st, uint32_t c, int may_act)
{
	struct se_view v;
	struct sc_input in;
	struct sc_issuer iss, fb;
	char name[96], dom[160];
	se_observe(st->s_e, c, &v);
	scc_input(st, c, &v, &in, &iss, &fb, name, sizeof(name), dom, sizeof(dom));
	sc_evaluate(&in, &st->s_res);
	st->s_c[c].cc_last_risk = st->s_res.r_risk;
	scc_note_stuck(st, c);
	se_note_risk(st->s_e, c, (enum se_level)st->s_res.r_level, st->s_res.r_risk);
	if (may_act && st->s_enforce) {
		int started = scc_apply(st, c, &v, &st->s_res);
		st->s_gen++; /* a changed renewBefore or issuer moves the queue */
		if (started)
			return; /* the attempt's outcome evaluates again */
	}
	se_observe(st->s_e, c, &v);
	scc_schedule(st, c, &v, &st->s_res);
}

void
scc_on_issued(struct scc_state *st, uint32_t c)
{
	struct se_view v;
	se_observe(st->s_e, c, &v);
	st->s_c[c].cc_nat_rt = scc_natural_rt(&v);
	scc_evaluate(st, c, 1);
}

double
scc_attempt_forecast(struct scc_state *st, uint32_t c)
{
	struct se_view v;
	struct sc_input in;
	struct sc_issuer iss, fb;
	char name[96], dom[160];
	struct scc_cert *cc = &st->s_c[c];
	const struct sc_result *r = &st->s_res;
	int64_t now = se_now(st->s_e);
	st->s_gen++; /* an attempt started: Issuing=True */
	se_observe(st->s_e, c, &v);
	scc_input(st, c, &v, &in, &iss, &fb, name, sizeof(name), dom, sizeof(dom));
	/* Score the attempt as if it had not started: the forecast precedes the outcome. */
	in.in_cert.c_issuing.cd_status = SC_FALSE;
	sc_evaluate(&in, &st->s_res);
	cc->cc_attempt_t = now;
	cc->cc_attempt_new = (uint8_t)v.v_names_new;
	cc->cc_attempt_ver = v.v_names_ver;
	cc->cc_stuck_cls = 0;
	/* a controller resyncs a Certificate whose request does not finish: the outcome's own
	 * evaluation replaces this for every attempt that ends within the hour */
	se_schedule_eval(st->s_e, c, now + SCC_HOUR);
	memset(&cc->cc_feat, 0, sizeof(cc->cc_feat));
	cc->cc_feat.f_issuer_fail_rate = r->r_issuer.ie_mean;
	cc->cc_feat.f_failed_attempts = v.v_failed;
	cc->cc_feat.f_class = (enum lm_class)r->r_class;
	cc->cc_feat.f_issuer_not_ready = r->r_issuer.ie_not_ready;
	cc->cc_feat.f_latency_s = (double)st->s_s->s_issuers[v.v_issuer].is_latency;
	cc->cc_feat.f_hours_since_failure =
	    v.v_last_failure ? (double)(now - v.v_last_failure) / 3600.0 : -1;
	cc->cc_feat.f_lifetime_days = (double)v.v_lifetime / 86400.0;
	cc->cc_feat.f_prior = NAN;
	cc->cc_feat.f_acme_429_rate = NAN;
	cc->cc_feat.f_http_5xx_rate = NAN;
	cc->cc_has_feat = 1;
	return r->r_p_next_fail;
}

/*
 * The learned model is the failure rate of attempts in a healthy state; a failure for a reason
 * the fault model carries (a rate limit, the CA down, DNS, a wrong setting) is that fault's
 * evidence and is not learned, as the controller does (assess.h, as_request_fault_failure).
 * Learned, the rate-limit scenario's 150 refusals of one instant taught the model that healthy
 * attempts fail (0.96 and more), and every refused certificate was alerted (precision 0.09;
 * 0.78 without them).
 */
static int
scc_fault_failure(const struct se_view *v)
{
	struct fcl_result fr;
	fcl_classify(v->v_last_reason, v->v_last_message, &fr);
	return fr.cl_class == SC_CLASS_RATE_LIMIT || fr.cl_class == SC_CLASS_CA_UNAVAILABLE ||
	       fr.cl_class == SC_CLASS_DNS || fr.cl_class == SC_CLASS_CONFIG;
}

void
scc_on_outcome(struct scc_state *st, uint32_t c, int issuer, int failed)
{
	struct se_view v;
	struct scc_cert *cc = &st->s_c[c];
	struct scc_issuer *ci = &st->s_i[issuer];
	int64_t now = se_now(st->s_e);
	st->s_gen++; /* an outcome: a new certificate, or a failure and its backoff */
	se_observe(st->s_e, c, &v);
	struct sc_request rq = {.rq_time = cc->cc_attempt_t ? cc->cc_attempt_t : now, .rq_done = now,
	    .rq_outcome = failed ? SC_OUT_FAILED : SC_OUT_ISSUED, .rq_reason = v.v_last_reason,
	    .rq_message = v.v_last_message};
	if (failed) {
		/* read once: the issuer's history serves every estimate until it leaves the ring */
		struct fcl_result fr;
		fcl_classify(rq.rq_reason, rq.rq_message, &fr);
		rq.rq_class = fr.cl_class;
		rq.rq_class_known = 1;
	}
	cc->cc_req[cc->cc_req_head] = rq;
	cc->cc_req_head = (uint8_t)((cc->cc_req_head + 1) % SCC_CREQ);
	ci->ci_req[ci->ci_head] = rq;
	ci->ci_head = (ci->ci_head + 1) % SCC_IREQ;
	if (ci->ci_n < SCC_IREQ)
		ci->ci_n++;
	ci->ci_est_t = 0;
	if (cc->cc_has_feat && !(failed && scc_fault_failure(&v))) {
		if (cc->cc_stuck_cls > 0)
			cc->cc_feat.f_class = (enum lm_class)(cc->cc_stuck_cls - 1);
		lm_update(&st->s_lm, &cc->cc_feat, failed);
		cc->cc_has_feat = 0;
	}
	cc->cc_stuck_cls = 0;
	if (failed) {
		cc->cc_refused_t = rq.rq_time;
		cc->cc_refused_ver = cc->cc_attempt_ver;
	}
	cc->cc_attempt_t = 0;
	if (failed) {
		ci->ci_fail_run++;
	} else {
		/* The first success after a run of failures is the evidence a controller waits for:
		 * look at every certificate stuck in backoff on this issuer now. */
		if (ci->ci_fail_run >= 3)
			se_schedule_timer(st->s_e, now, (uint32_t)issuer);
		ci->ci_fail_run = 0;
	}
	if (!failed) {
		const struct scn_issuer *si = &st->s_s->s_issuers[issuer];
		/* only a new set draws on the registered domain's budget; a renewal does not */
		if (si->is_acme && cc->cc_attempt_new) {
			struct scc_dq *q = &st->s_dq[(size_t)issuer * st->s_ndom + v.v_domain];
			if (q->q_len == q->q_cap) {
				q->q_cap = q->q_cap ? q->q_cap * 2 : 16;
				q->q_t = xrealloc(q->q_t, q->q_cap * sizeof(*q->q_t));
			}
			/* counted when the CA accepted the order: the CR's creation time */
			q->q_t[q->q_len++] = rq.rq_time;
		}
		if (cc->cc_attempt_ver != cc->cc_dup_ver) { /* the first of a new exact set */
			memset(cc->cc_dup, 0, sizeof(cc->cc_dup));
			cc->cc_dup_head = 0;
			cc->cc_dup_ver = cc->cc_attempt_ver;
		}
		cc->cc_dup[cc->cc_dup_head] = now;
		cc->cc_dup_head = (uint8_t)((cc->cc_dup_head + 1) % SCC_DUP);
		/* A new certificate: certcast's renewBefore served its purpose. */
		return; /* scc_on_issued follows and evaluates */
	}
	scc_evaluate(st, c, 1);
}

void
scc_on_ari_change(struct scc_state *st, uint32_t c)
{
	scc_evaluate(st, c, 1);
}

void
scc_on_eval(struct scc_state *st, uint32_t c)
{
	scc_evaluate(st, c, 1);
}

/* Timer id = issuer index: the issuer recovered; re-evaluate its failing certificates. */
void
scc_on_timer(struct scc_state *st, uint32_t id)
{
	uint32_t n = se_ncerts(st->s_e);
	for (uint32_t c = 0; c < n; c++) {
		struct se_view v;
		se_observe(st->s_e, c, &v);
		if (v.v_failed > 0 && !v.v_issuing && v.v_issuer == (int)id)
			scc_evaluate(st, c, 1);
	}
}

int
scc_model_calibration(const struct scc_state *st, double *brier, double *n)
{
	struct lm_calibration cal;
	lm_calibration(&st->s_lm, &cal);
	*brier = cal.cal_brier;
	*n = cal.cal_n;
	return 1;
}
