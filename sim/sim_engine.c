/*
 * sim_engine: cert-manager emulation on an event heap.
 *
 * Each certificate has at most one live "trigger" event (cert-manager's next look at it), one
 * "done" event while an attempt is in flight, and one "eval" event for the policy. Rescheduling
 * bumps a generation counter instead of deleting from the heap; stale events are dropped when
 * popped. That keeps every operation O(log n) and the heap near three entries per certificate.
 */
#include "sim_engine.h"

#include "cc_err.h"
#include "log.h"
#include "scoring.h"
#include "sim_heap.h"
#include "sim_policy.h"
#include "sim_rand.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

#define SE_NONE INT64_MAX
#define SE_MIN_RENEW_BEFORE 300 /* cert-manager rejects renewBefore below 5m */

enum se_ev {
	SE_EV_TRIGGER = 0, /* cert-manager re-checks a certificate */
	SE_EV_DONE = 1,    /* an attempt finishes */
	SE_EV_EVAL = 2,    /* policy evaluation of a certificate */
	SE_EV_TIMER = 3,   /* policy-wide timer; ev_cert is the id */
	SE_EV_REVOKE = 4,  /* revocation or ARI-window fault; ev_cert is the fault index */
};

struct se_cert {
	int64_t c_not_before;   /* current certificate */
	int64_t c_not_after;    /* as issued */
	int64_t c_valid_until;  /* not_after, or the revocation deadline */
	int64_t c_revealed;     /* when c_valid_until became knowable */
	int64_t c_renew_before; /* spec.renewBefore, 0 = unset */
	int64_t c_last_failure; /* lastFailureTime, 0 = none */
	int64_t c_ari_at;       /* ARI-chosen renewal time, SE_NONE when none */
	int64_t c_ari_lo;       /* published ARI window, 0 when none */
	int64_t c_ari_hi;
	int64_t c_alert_at;     /* first HIGH for this instance, SE_NONE when none */
	int64_t c_curve_at[SE_NCURVE]; /* first risk >= se_curve_risk[i], SE_NONE when none */
	double c_risk_h;        /* last risk noted by notAfter - H (se_horizon), < 0 when none */
	double c_forecast;      /* forecast for the attempt in flight, < 0 when none */
	uint32_t c_group;       /* group index */
	uint32_t c_domain;      /* registered-domain index */
	uint32_t c_attempts;    /* attempts ever made: k of the draws */
	uint32_t c_gen;         /* generation of the trigger event */
	uint32_t c_eval_gen;    /* generation of the eval event */
	uint32_t c_failed;      /* failedIssuanceAttempts */
	int16_t c_issuer;       /* spec.issuerRef */
	int16_t c_cur_issuer;   /* issuer of the current certificate */
	uint8_t c_inflight;     /* an attempt is running */
	uint8_t c_pending;      /* its outcome (decided at start from the state at start) */
	uint8_t c_last;         /* outcome of the last finished attempt, 0xff none */
	uint8_t c_exempt;       /* the attempt in flight carries ARI "replaces" */
	uint8_t c_stuck_zone;   /* a hanging attempt: a zone's DNS-01 (1) or an issuer's (0) */
	uint8_t c_hang;         /* the attempt in flight hangs on a stuck challenge */
	uint8_t c_ari_explained;/* the ARI window links an explanation (a revocation notice) */
	uint8_t c_dup_head;     /* next slot of the duplicate ring */
	uint16_t c_patches;     /* renewBefore changes during the current instance */
	uint16_t c_names_ver;   /* the spec's exact set of names: 0 as loaded, +1 per names-change */
	uint16_t c_cert_ver;    /* the set of the current certificate */
	uint16_t c_req_ver;     /* the set the attempt in flight orders */
	uint8_t c_req_new;      /* that set was never issued on the attempt's issuer: a new
				   certificate for Let's Encrypt, not a renewal */
};

/* Issuance times of one (issuer, registered domain), oldest first. */
struct se_dq {
	int64_t *q_t;   /* owned */
	uint32_t q_head;/* first live entry */
	uint32_t q_len; /* end of live entries */
	uint32_t q_cap; /* slots */
};

struct se_engine {
	const struct scn_scenario *e_s; /* borrowed */
	const struct sf_plan *e_plan;   /* borrowed */
	enum scn_policy e_pol;          /* policy under test */
	struct sp_policy *e_policy;     /* owned */
	struct sh_heap e_heap;          /* events */
	struct se_cert *e_c;            /* owned, e_n certificates */
	uint32_t e_n;
	int64_t e_now;                  /* simulated now */
	int64_t e_end;                  /* end of the horizon */
	uint32_t *e_gdom;               /* per group: first domain index */
	uint32_t e_ndom;                /* registered domains */
	struct se_dq *e_dq;             /* [issuer * e_ndom + domain] */
	int64_t *e_dup;                 /* [cert * e_dupn]: recent issuance times, ring */
	uint32_t e_dupn;                /* ring size: the largest duplicate budget */
	uint16_t *e_issued;             /* [cert * issuers + issuer]: 1 + the latest names version
					   that issuer issued for the certificate, 0 none */
	uint64_t *e_ext_next;           /* [fault]: the next order of an external-issuance fault
					   not yet put to the CA */
	int e_ari_replaces;             /* cert-manager sends ARI "replaces" (ari-only) */
	int e_started;                  /* the fleet was scheduled */
	int e_ran;                      /* se_run finished */
	void (*e_trace)(void *, const struct se_trace *); /* optional attempt trace */
	void *e_trace_arg;              /* its argument */
	struct se_metrics e_m;          /* totals */
};

/*
 * The one place that asks the scoring library for cert-manager's renewal time of c's current
 * certificate with the given renewBefore (0: none); 0 when the spec has no renewal time.
 */
static int64_t
se_renewal_at(const struct se_engine *e, const struct se_cert *c, int64_t renew_before)
{
	const struct scn_group *g = &e->e_s->s_groups[c->c_group];
	struct sc_renew_spec spec = {.rs_renew_before = renew_before,
	    .rs_renew_before_set = renew_before > 0, .rs_pct = g->g_pct,
	    .rs_pct_set = g->g_pct > 0, .rs_duration = g->g_lifetime};
	int64_t t = 0;
	if (fc_renewal_time(c->c_not_before, c->c_not_after, &spec, &t) != SC_OK)
		return 0;
	return t;
}

/* The renewal time cert-manager works to now; a valid certificate always has one. */
static int64_t
se_renewal_time(const struct se_engine *e, const struct se_cert *c)
{
	int64_t t = se_renewal_at(e, c, c->c_renew_before);
	if (t == 0)
		fatalx("no renewal time for a valid certificate (%lld..%lld)",
		    (long long)c->c_not_before, (long long)c->c_not_after);
	return t;
}

/* cert-manager's renewal time of c's current certificate under the user's own spec, or 0. */
static int64_t
se_user_renewal_time(const struct se_engine *e, const struct se_cert *c)
{
	return se_renewal_at(e, c, e->e_s->s_groups[c->c_group].g_renew_before);
}

/*
 * The renewal of c's still-valid certificate now: how much of an issuance it spent by coming
 * earlier than necessary (README, "issuance_overhead"). Necessary is the earliest of
 * cert-manager's renewal time under the user's spec, the revocation deadline and the end of
 * the window the CA publishes through ARI; renewing a span s earlier moves every later
 * renewal by s, which costs s / cycle issuances, cycle being the user's renewal interval.
 */
static void
se_account_early(struct se_engine *e, const struct se_cert *c)
{
	int64_t rt = se_user_renewal_time(e, c), ref = rt;
	if (e->e_now >= c->c_valid_until || rt <= c->c_not_before)
		return;
	if (c->c_valid_until < ref)
		ref = c->c_valid_until;
	if (c->c_ari_hi > c->c_ari_lo && c->c_ari_hi < ref)
		ref = c->c_ari_hi;
	if (e->e_now < ref)
		e->e_m.m_early += (double)(ref - e->e_now) / (double)(rt - c->c_not_before);
}

static int64_t
se_due(const struct se_engine *e, const struct se_cert *c)
{
	int64_t due = se_renewal_time(e, c);
	if (c->c_ari_at < due)
		due = c->c_ari_at;
	/*
	 * The issued certificate no longer has the spec's names: cert-manager's trigger policy
	 * chain (CurrentCertificateRequestNotValidForSpec, internal/controller/certificates/
	 * policies) asks for issuance at once. The failure backoff, which the trigger controller
	 * checks before the chain, is skipped when the newest request was for other names than
	 * the spec's (shouldBackoffReissuingOnFailure, pkg/controller/certificates/trigger): a
	 * spec changed during a backoff is ordered at once, and only a failure of the new names
	 * backs off again.
	 */
	if (c->c_cert_ver != c->c_names_ver)
		due = e->e_now;
	if (c->c_failed > 0 && c->c_req_ver == c->c_names_ver) {
		int64_t bo = c->c_last_failure + fc_backoff_delay((int32_t)c->c_failed);
		if (bo > due)
			due = bo;
	}
	return due;
}

static void
se_reschedule(struct se_engine *e, uint32_t ci)
{
	struct se_cert *c = &e->e_c[ci];
	c->c_gen++;
	if (c->c_inflight)
		return; /* the done event reschedules */
	int64_t due = se_due(e, c);
	if (due < e->e_now)
		due = e->e_now;
	if (due < e->e_end)
		sh_push(&e->e_heap, due, SE_EV_TRIGGER, ci, c->c_gen);
}

enum se_lclass
se_lclass_of(int64_t lifetime)
{
	const int64_t d = 86400;
	if (lifetime <= 7 * d)
		return SE_L6D;
	if (lifetime <= 47 * d)
		return SE_L47D;
	if (lifetime <= 100 * d)
		return SE_L100D;
	if (lifetime <= 200 * d)
		return SE_L200D;
	return SE_L398D;
}

const char *
se_lclass_name(enum se_lclass k)
{
	static const char *const names[SE_NLCLASS] = {"6d", "47d", "100d", "200d", "398d"};
	return (unsigned)k < SE_NLCLASS ? names[k] : "?";
}

const char *
se_action_name(enum se_action a)
{
	static const char *const names[SE_NACTIONS] = {"renew_before_adjusted",
	    "renew_before_restored", "reissue", "failover", "issuer_restored"};
	return (unsigned)a < SE_NACTIONS ? names[a] : "?";
}

static void
se_set_ari_window(struct se_engine *e, struct se_cert *c)
{
	const struct scn_issuer *is = &e->e_s->s_issuers[c->c_cur_issuer];
	c->c_ari_lo = c->c_ari_hi = 0;
	c->c_ari_explained = 0;
	if (!is->is_ari)
		return;
	double life = (double)(c->c_not_after - c->c_not_before);
	c->c_ari_lo = c->c_not_before + (int64_t)(life * is->is_ari_lo);
	c->c_ari_hi = c->c_not_before + (int64_t)(life * is->is_ari_hi);
}

static struct se_dq *
se_dq_of(struct se_engine *e, int issuer, uint32_t dom)
{
	return &e->e_dq[(size_t)issuer * e->e_ndom + dom];
}

/* Drop issuances older than the window; returns how many remain. */
static uint32_t
se_dq_count(struct se_dq *q, int64_t since)
{
	while (q->q_head < q->q_len && q->q_t[q->q_head] <= since)
		q->q_head++;
	if (q->q_head > 64 && q->q_head * 2 > q->q_len) {
		memmove(q->q_t, q->q_t + q->q_head, (q->q_len - q->q_head) * sizeof(*q->q_t));
		q->q_len -= q->q_head;
		q->q_head = 0;
	}
	return q->q_len - q->q_head;
}

static void
se_dq_add(struct se_dq *q, int64_t t)
{
	if (q->q_len == q->q_cap) {
		q->q_cap = q->q_cap ? q->q_cap * 2 : 16;
		q->q_t = xrealloc(q->q_t, q->q_cap * sizeof(*q->q_t));
	}
	q->q_t[q->q_len++] = t;
}

/*
 * When the next order of external-issuance fault fi comes (absolute), SE_NONE when its
 * orders are over. The i-th comes at start + i/per_day days: evenly spaced, so every run meets
 * the same load and it needs no draw.
 */
static int64_t
se_ext_time(const struct se_engine *e, size_t fi)
{
	const struct scn_scenario *s = e->e_s;
	const struct scn_fault *f = &s->s_faults[fi];
	double off = (double)f->f_start + (double)e->e_ext_next[fi] * 86400.0 / f->f_per_day;
	if (off >= (double)f->f_end || off >= (double)s->s_duration)
		return SE_NONE;
	return s->s_start + (int64_t)off;
}

/*
 * Put to the CA, oldest first, every order other accounts placed up to now for registered
 * domain dom on issuer. The CA judges each as it judges the fleet's new orders: accepted while
 * the domain's window has room, refused otherwise (the other team's order is lost; its next
 * comes on schedule). Called before the CA counts or books anything of the domain, so the queue
 * stays in time order: every order still pending is later than every issuance booked.
 */
static void
se_external(struct se_engine *e, int issuer, uint32_t dom)
{
	const struct scn_scenario *s = e->e_s;
	const struct scn_issuer *is = &s->s_issuers[issuer];
	struct se_dq *q = se_dq_of(e, issuer, dom);
	for (;;) {
		size_t next = 0;
		int64_t at = SE_NONE;
		/* several faults on one domain: take their orders in time order */
		for (size_t fi = 0; fi < s->s_nfaults; fi++) {
			const struct scn_fault *f = &s->s_faults[fi];
			if (f->f_kind != SCN_F_EXTERNAL || f->f_issuer != issuer ||
			    e->e_gdom[f->f_group] + f->f_dom != dom)
				continue;
			int64_t t = se_ext_time(e, fi);
			if (t != SE_NONE && t <= e->e_now && (at == SE_NONE || t < at)) {
				at = t;
				next = fi;
			}
		}
		if (at == SE_NONE)
			return;
		e->e_ext_next[next]++;
		if (se_dq_count(q, at - is->is_rl_window) < is->is_rl_domain) {
			se_dq_add(q, at);
			e->e_m.m_external++;
		} else {
			e->e_m.m_external_refused++;
		}
	}
}

/* Whether the spec's set of names was never issued for c on issuer: a new certificate. */
static int
se_names_new(const struct se_engine *e, uint32_t ci, int issuer)
{
	const struct se_cert *c = &e->e_c[ci];
	return e->e_issued[(size_t)ci * e->e_s->s_nissuers + (size_t)issuer] <= c->c_names_ver;
}

/*
 * The CA's verdict on a new order: over the per-domain or the duplicate budget. Let's Encrypt
 * holds only new certificates to "New Certificates per Registered Domain": an order for an
 * exact set of identifiers it issued before is a renewal, exempt from that limit but not from
 * "New Certificates per Exact Set of Identifiers" (its rate-limit documentation; Boulder issue
 * #7508). Both are sliding windows here (README, "rate limits").
 */
static int
se_rate_limited(struct se_engine *e, uint32_t ci, int issuer)
{
	const struct scn_issuer *is = &e->e_s->s_issuers[issuer];
	struct se_cert *c = &e->e_c[ci];
	if (!is->is_acme)
		return 0;
	se_external(e, issuer, c->c_domain);
	if (c->c_exempt)
		return 0;
	int64_t since = e->e_now - is->is_rl_window;
	if (c->c_req_new &&
	    se_dq_count(se_dq_of(e, issuer, c->c_domain), since) >= is->is_rl_domain)
		return 1;
	uint32_t dups = 0;
	for (uint32_t i = 0; i < e->e_dupn; i++) {
		int64_t t = e->e_dup[(size_t)ci * e->e_dupn + i];
		dups += t != 0 && t > since;
	}
	return dups >= is->is_rl_dup;
}

static void
se_record_issuance(struct se_engine *e, uint32_t ci, int issuer)
{
	struct se_cert *c = &e->e_c[ci];
	uint16_t *seen = &e->e_issued[(size_t)ci * e->e_s->s_nissuers + (size_t)issuer];
	if (*seen <= c->c_req_ver) /* from now on this set is a renewal on this issuer */
		*seen = (uint16_t)(c->c_req_ver + 1);
	if (!e->e_s->s_issuers[issuer].is_acme || c->c_exempt)
		return;
	if (c->c_req_new) {
		se_external(e, issuer, c->c_domain);
		se_dq_add(se_dq_of(e, issuer, c->c_domain), e->e_now);
	}
	e->e_dup[(size_t)ci * e->e_dupn + c->c_dup_head] = e->e_now;
	c->c_dup_head = (uint8_t)((c->c_dup_head + 1) % e->e_dupn);
}

static void
se_start_attempt(struct se_engine *e, uint32_t ci)
{
	struct se_cert *c = &e->e_c[ci];
	int issuer = c->c_issuer;
	c->c_inflight = 1;
	c->c_gen++; /* any pending trigger is now stale */
	c->c_exempt = e->e_ari_replaces && e->e_s->s_issuers[issuer].is_ari;
	c->c_req_ver = c->c_names_ver;
	c->c_req_new = (uint8_t)se_names_new(e, ci, issuer);
	int limited = se_rate_limited(e, ci, issuer), zone = 0;
	c->c_pending = (uint8_t)sf_attempt(e->e_plan, ci, (int)c->c_group, issuer, c->c_attempts, e->e_now,
	    limited, &zone);
	c->c_stuck_zone = (uint8_t)zone;
	c->c_attempts++;
	e->e_m.m_attempts++;
	/* The CA counts a certificate when it accepts the order, so concurrent orders cannot all
	 * slip under the budget: book the issuance now. */
	if (c->c_pending == SF_OK)
		se_record_issuance(e, ci, issuer);
	c->c_forecast = sp_on_attempt_start(e->e_policy, ci);
	if (e->e_trace) {
		struct se_trace tr = {e->e_now, ci, 0, SF_OK, issuer, c->c_failed};
		e->e_trace(e->e_trace_arg, &tr);
	}
	int64_t lat = e->e_s->s_issuers[issuer].is_latency;
	c->c_hang = c->c_pending == SF_STUCK;
	if (c->c_hang) {
		/*
		 * The request hangs until the CA's order expires and then fails, unless the
		 * challenge is fixed first: then it validates at the next self-check and the
		 * order finishes as any other would at that moment.
		 */
		int64_t until = sf_stuck_until(e->e_plan, (int)c->c_group, issuer, e->e_now);
		if (until > 0 && until != SCN_NEVER && until - e->e_now < sf_hang()) {
			c->c_pending = (uint8_t)sf_attempt(e->e_plan, ci, (int)c->c_group, issuer,
			    c->c_attempts - 1, until, 0, NULL);
			if (c->c_pending == SF_OK)
				se_record_issuance(e, ci, issuer);
			lat = until - e->e_now + (lat > 0 ? lat : 1);
		} else {
			lat = sf_hang();
		}
	}
	/* tagged with the attempt count, so that an abandoned attempt's outcome is dropped */
	sh_push(&e->e_heap, e->e_now + (lat > 0 ? lat : 1), SE_EV_DONE, ci, c->c_attempts);
}

const double se_curve_risk[SE_NCURVE] = {0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99};

static void
se_clear_alerts(struct se_cert *c)
{
	c->c_alert_at = SE_NONE;
	for (int i = 0; i < SE_NCURVE; i++)
		c->c_curve_at[i] = SE_NONE;
	c->c_risk_h = -1;
}

/*
 * The warning an instance can be given, as recall demands it (README, "Alerts"): the alert
 * horizon, at most a quarter of the lifetime, and no earlier than its deadline was knowable.
 */
static int64_t
se_horizon(const struct se_engine *e, const struct se_cert *c)
{
	const struct scn_group *g = &e->e_s->s_groups[c->c_group];
	int64_t h = e->e_s->s_alert_horizon;
	if (g->g_lifetime / 4 < h)
		h = g->g_lifetime / 4;
	if (c->c_valid_until - c->c_revealed < h)
		h = c->c_valid_until - c->c_revealed;
	return h;
}

void
se_rel_add(struct se_metrics *m, double risk, int positive)
{
	if (!(risk >= 0)) { /* also NaN */
		m->m_rel_unforecast++;
		return;
	}
	if (risk > 1)
		risk = 1;
	int b = (int)(risk * SE_NREL);
	if (b >= SE_NREL)
		b = SE_NREL - 1; /* risk 1 */
	m->m_rel[b].rb_n++;
	m->m_rel[b].rb_sum_risk += risk;
	m->m_rel[b].rb_positive += positive ? 1 : 0;
	double d = risk - (positive ? 1.0 : 0.0);
	m->m_rel_brier_sum += d * d;
}

static void
se_add_lead(struct se_metrics *m, double lead)
{
	if (m->m_nleads == m->m_leads_cap) {
		m->m_leads_cap = m->m_leads_cap ? m->m_leads_cap * 2 : 64;
		m->m_leads = xrealloc(m->m_leads, m->m_leads_cap * sizeof(*m->m_leads));
	}
	m->m_leads[m->m_nleads++] = lead;
}

/*
 * Close the current certificate instance: renewed at t (renewed != 0) or still unrenewed at the
 * end of the horizon. Accrues expired time and judges the instance's alert (see README).
 */
static void
se_close_instance(struct se_engine *e, uint32_t ci, int64_t t, int renewed)
{
	struct se_cert *c = &e->e_c[ci];
	struct se_metrics *m = &e->e_m;
	const struct scn_group *g = &e->e_s->s_groups[c->c_group];
	int64_t na = c->c_valid_until;
	int64_t from = na > e->e_s->s_start ? na : e->e_s->s_start;
	if (t > from) {
		double s = (double)(t - from);
		m->m_expired_s += s;
		m->m_expired_class_s[se_lclass_of(g->g_lifetime)] += s;
		m->m_expired_group_s[c->c_group] += s;
	}
	if (t > na)
		m->m_expired_certs++;
	if (!m->m_forecasts)
		return;
	if (!renewed && na > t)
		return; /* outcome unknown within the horizon */
	int positive = t > na;
	int alerted = c->c_alert_at != SE_NONE;
	struct se_group_alerts *ga = &m->m_alerts_group[c->c_group];
	m->m_judged++;
	if (alerted) {
		m->m_alerts++;
		ga->ga_alerts++;
		if (positive) {
			m->m_alert_tp++;
			ga->ga_tp++;
			se_add_lead(m, (double)(na - c->c_alert_at));
		} else {
			m->m_alert_fp++;
		}
	}
	int64_t h = se_horizon(e, c);
	se_rel_add(m, c->c_risk_h, positive);
	for (int i = 0; i < SE_NCURVE; i++) {
		if (c->c_curve_at[i] == SE_NONE)
			continue;
		m->m_curve[i].cp_alerts++;
		if (positive) {
			m->m_curve[i].cp_tp++;
			if (c->c_curve_at[i] <= na - h)
				m->m_curve[i].cp_recalled++;
		}
	}
	if (positive) {
		m->m_positives++;
		ga->ga_positives++;
		if (alerted && c->c_alert_at <= na - h) {
			m->m_recalled++;
			ga->ga_recalled++;
		}
	}
}

static void
se_attempt_done(struct se_engine *e, uint32_t ci)
{
	struct se_cert *c = &e->e_c[ci];
	struct se_metrics *m = &e->e_m;
	const struct scn_group *g = &e->e_s->s_groups[c->c_group];
	enum sf_outcome o = (enum sf_outcome)c->c_pending;
	int issuer = c->c_issuer;
	c->c_inflight = 0;
	c->c_last = (uint8_t)o;
	m->m_outcomes[o]++;
	if (e->e_trace) {
		struct se_trace tr = {e->e_now, ci, 1, o, issuer, o == SF_OK ? 0 : c->c_failed + 1};
		e->e_trace(e->e_trace_arg, &tr);
	}
	if (c->c_forecast >= 0) {
		double y = o == SF_OK ? 0.0 : 1.0;
		m->m_brier_sum += (c->c_forecast - y) * (c->c_forecast - y);
		m->m_brier_n++;
	}
	if (o == SF_OK) {
		/* a certificate for new names is necessary whenever it comes, never early */
		if (c->c_req_ver == c->c_cert_ver)
			se_account_early(e, c);
		c->c_cert_ver = c->c_req_ver;
		c->c_patches = 0;
		se_close_instance(e, ci, e->e_now, 1);
		m->m_issuances++;
		c->c_not_before = e->e_now;
		c->c_not_after = e->e_now + g->g_lifetime;
		c->c_valid_until = c->c_not_after;
		c->c_revealed = e->e_now;
		c->c_failed = 0;
		c->c_last_failure = 0;
		c->c_ari_at = SE_NONE;
		se_clear_alerts(c);
		c->c_cur_issuer = (int16_t)issuer;
		se_set_ari_window(e, c);
		sp_on_attempt_done(e->e_policy, ci, issuer, 0);
		sp_on_issued(e->e_policy, ci);
	} else {
		m->m_failed++;
		c->c_failed++;
		c->c_last_failure = e->e_now;
		sp_on_attempt_done(e->e_policy, ci, issuer, 1);
	}
	se_reschedule(e, ci);
}

/* The CA republishes the ARI windows of the certificates whose window starts in a span. */
static void
se_ari_shift(struct se_engine *e, uint32_t fi)
{
	const struct scn_scenario *s = e->e_s;
	const struct scn_fault *f = &s->s_faults[fi];
	for (uint32_t ci = 0; ci < e->e_n; ci++) {
		struct se_cert *c = &e->e_c[ci];
		if (c->c_cur_issuer != f->f_issuer || c->c_ari_hi <= c->c_ari_lo)
			continue;
		if (c->c_ari_lo < s->s_start + f->f_aff_lo || c->c_ari_lo >= s->s_start + f->f_aff_hi)
			continue;
		c->c_ari_lo = s->s_start + f->f_win_lo;
		c->c_ari_hi = s->s_start + f->f_win_hi;
		sp_on_ari_change(e->e_policy, ci);
	}
}

/*
 * A names-change: the group's certificates get a new exact set of names. The new set has no
 * issuances yet (its duplicate count starts empty) and the old certificate stays valid until
 * its notAfter. A request hanging on a stuck challenge no longer matches the spec
 * (pki.RequestMatchesSpec compares the DNS names too): cert-manager deletes it and orders at
 * once, as for an issuerRef change. An ordinary request in flight ends within minutes; the
 * reissue follows its outcome, since the certificate it brings has the old names.
 */
static void
se_names_change(struct se_engine *e, uint32_t fi)
{
	const struct scn_fault *f = &e->e_s->s_faults[fi];
	for (uint32_t ci = 0; ci < e->e_n; ci++) {
		struct se_cert *c = &e->e_c[ci];
		if ((int)c->c_group != f->f_group)
			continue;
		c->c_names_ver++;
		memset(&e->e_dup[(size_t)ci * e->e_dupn], 0, e->e_dupn * sizeof(*e->e_dup));
		c->c_dup_head = 0;
		if (c->c_inflight && c->c_hang)
			c->c_inflight = 0;
		se_reschedule(e, ci);
	}
}

static void
se_revoke(struct se_engine *e, uint32_t fi)
{
	if (e->e_s->s_faults[fi].f_kind == SCN_F_ARI_WINDOW) {
		se_ari_shift(e, fi);
		return;
	}
	if (e->e_s->s_faults[fi].f_kind == SCN_F_NAMES_CHANGE) {
		se_names_change(e, fi);
		return;
	}
	const struct scn_scenario *s = e->e_s;
	const struct scn_fault *f = &s->s_faults[fi];
	int64_t deadline = e->e_now + f->f_deadline;
	for (uint32_t ci = 0; ci < e->e_n; ci++) {
		struct se_cert *c = &e->e_c[ci];
		if (f->f_issuer >= 0 && c->c_cur_issuer != f->f_issuer)
			continue;
		if (f->f_group >= 0 && (int)c->c_group != f->f_group)
			continue;
		if (c->c_not_before >= e->e_now || rn_unit(s->s_seed, RN_REVOKE, fi, ci) >= f->f_prob)
			continue;
		if (deadline < c->c_valid_until) {
			c->c_valid_until = deadline;
			c->c_revealed = e->e_now;
		}
		if (s->s_issuers[c->c_cur_issuer].is_ari) {
			/* RFC 9773: a window in the past or at once means "renew now". */
			c->c_ari_lo = e->e_now;
			c->c_ari_hi = e->e_now + f->f_deadline / 2;
			/* a CA revoking for an incident must report it; its window links the report */
			c->c_ari_explained = 1;
			sp_on_ari_change(e->e_policy, ci);
		}
	}
}

int
se_new(const struct scn_scenario *s, const struct sf_plan *plan, enum scn_policy pol, int observe,
    struct se_engine **out)
{
	struct se_engine *e = xcalloc(1, sizeof(*e));
	e->e_s = s;
	e->e_plan = plan;
	e->e_pol = pol;
	e->e_now = s->s_start;
	e->e_end = s->s_start + s->s_duration;
	e->e_n = (uint32_t)s->s_ncerts;
	e->e_ari_replaces = pol == SCN_POL_ARI_ONLY;
	sh_init(&e->e_heap);
	e->e_m.m_expired_group_s = xcalloc(s->s_ngroups, sizeof(double));
	e->e_m.m_alerts_group = xcalloc(s->s_ngroups, sizeof(*e->e_m.m_alerts_group));
	e->e_gdom = xcalloc(s->s_ngroups, sizeof(*e->e_gdom));
	for (size_t g = 0; g < s->s_ngroups; g++) {
		const struct scn_group *gr = &s->s_groups[g];
		size_t same = g;
		for (size_t h = 0; h < g; h++) /* groups naming the same domains share budgets */
			if (strcmp(s->s_groups[h].g_domain, gr->g_domain) == 0 &&
			    s->s_groups[h].g_ndomains == gr->g_ndomains) {
				same = h;
				break;
			}
		if (same != g) {
			e->e_gdom[g] = e->e_gdom[same];
		} else {
			e->e_gdom[g] = e->e_ndom;
			e->e_ndom += gr->g_ndomains;
		}
	}
	e->e_dq = xcalloc((size_t)s->s_nissuers * e->e_ndom, sizeof(*e->e_dq));
	e->e_dupn = 1;
	for (size_t i = 0; i < s->s_nissuers; i++)
		if (s->s_issuers[i].is_rl_dup > e->e_dupn)
			e->e_dupn = s->s_issuers[i].is_rl_dup;
	e->e_dup = xcalloc((size_t)e->e_n * e->e_dupn, sizeof(*e->e_dup));
	e->e_issued = xcalloc((size_t)(e->e_n ? e->e_n : 1) * s->s_nissuers, sizeof(*e->e_issued));
	e->e_ext_next = xcalloc(s->s_nfaults ? s->s_nfaults : 1, sizeof(*e->e_ext_next));
	e->e_c = xcalloc(e->e_n ? e->e_n : 1, sizeof(*e->e_c));
	uint32_t ci = 0;
	for (size_t g = 0; g < s->s_ngroups; g++) {
		const struct scn_group *gr = &s->s_groups[g];
		e->e_m.m_class_certs[se_lclass_of(gr->g_lifetime)] += gr->g_count;
		for (uint32_t i = 0; i < gr->g_count; i++, ci++) {
			struct se_cert *c = &e->e_c[ci];
			double u = rn_unit(s->s_seed, RN_AGE, ci, 0);
			int64_t age = gr->g_age_lo + (int64_t)(u * (double)(gr->g_age_hi - gr->g_age_lo));
			c->c_group = (uint32_t)g;
			c->c_domain = e->e_gdom[g] + i % gr->g_ndomains;
			c->c_not_before = s->s_start - age;
			c->c_not_after = c->c_not_before + gr->g_lifetime;
			c->c_valid_until = c->c_not_after;
			c->c_revealed = c->c_not_before;
			c->c_renew_before = gr->g_renew_before;
			c->c_ari_at = SE_NONE;
			se_clear_alerts(c);
			c->c_forecast = -1;
			c->c_issuer = c->c_cur_issuer = (int16_t)gr->g_issuer;
			/* the initial certificate was issued for names version 0 by the group's issuer */
			e->e_issued[(size_t)ci * s->s_nissuers + (size_t)gr->g_issuer] = 1;
			c->c_last = 0xff;
			se_set_ari_window(e, c);
		}
	}
	e->e_m.m_forecasts = pol == SCN_POL_CERTCAST || (pol == SCN_POL_CERT_MANAGER && observe);
	e->e_policy = sp_new(e, pol, observe);
	*out = e;
	return CC_OK;
}

int
se_run_until(struct se_engine *e, int64_t t)
{
	const struct scn_scenario *s = e->e_s;
	struct sh_event ev;
	if (e->e_ran)
		return CC_ERR_STATE;
	if (t > e->e_end)
		t = e->e_end;
	if (!e->e_started) {
		e->e_started = 1;
		for (uint32_t ci = 0; ci < e->e_n; ci++) {
			sp_on_issued(e->e_policy, ci);
			se_reschedule(e, ci);
		}
		for (size_t i = 0; i < s->s_nfaults; i++)
			if (s->s_faults[i].f_kind == SCN_F_REVOCATION ||
			    s->s_faults[i].f_kind == SCN_F_ARI_WINDOW ||
			    s->s_faults[i].f_kind == SCN_F_NAMES_CHANGE)
				sh_push(&e->e_heap, s->s_start + s->s_faults[i].f_start, SE_EV_REVOKE,
				    (uint32_t)i, 0);
	}
	while (sh_len(&e->e_heap) > 0 && sh_peek(&e->e_heap)->ev_time < t) {
		sh_pop(&e->e_heap, &ev);
		e->e_now = ev.ev_time;
		struct se_cert *c = ev.ev_kind == SE_EV_TIMER || ev.ev_kind == SE_EV_REVOKE
		    ? NULL : &e->e_c[ev.ev_cert];
		switch (ev.ev_kind) {
		case SE_EV_TRIGGER:
			if (ev.ev_gen != c->c_gen || c->c_inflight)
				continue;
			se_start_attempt(e, ev.ev_cert);
			break;
		case SE_EV_DONE:
			if (ev.ev_gen != c->c_attempts || !c->c_inflight)
				continue; /* the attempt was abandoned (se_set_issuer) */
			se_attempt_done(e, ev.ev_cert);
			break;
		case SE_EV_EVAL:
			if (ev.ev_gen != c->c_eval_gen)
				continue;
			sp_on_eval(e->e_policy, ev.ev_cert);
			break;
		case SE_EV_TIMER:
			sp_on_timer(e->e_policy, ev.ev_cert);
			break;
		case SE_EV_REVOKE:
			se_revoke(e, ev.ev_cert);
			break;
		default:
			fatalx("unknown event kind %u", ev.ev_kind);
		}
		e->e_m.m_events++;
	}
	if (t > e->e_now)
		e->e_now = t;
	return CC_OK;
}

int
se_run(struct se_engine *e)
{
	int rc = se_run_until(e, e->e_end);
	if (rc != CC_OK)
		return rc;
	e->e_ran = 1;
	e->e_now = e->e_end;
	/* the CA's books of other accounts are kept up to date lazily; close them for the summary */
	for (size_t fi = 0; fi < e->e_s->s_nfaults; fi++) {
		const struct scn_fault *f = &e->e_s->s_faults[fi];
		if (f->f_kind == SCN_F_EXTERNAL)
			se_external(e, f->f_issuer, e->e_gdom[f->f_group] + f->f_dom);
	}
	for (uint32_t ci = 0; ci < e->e_n; ci++)
		se_close_instance(e, ci, e->e_end, 0);
	e->e_m.m_cert_days = (double)e->e_n * (double)e->e_s->s_duration / 86400.0;
	return CC_OK;
}

void
se_set_trace(struct se_engine *e, void (*fn)(void *arg, const struct se_trace *rec), void *arg)
{
	e->e_trace = fn;
	e->e_trace_arg = arg;
}

const struct se_metrics *
se_metrics(const struct se_engine *e)
{
	return &e->e_m;
}

int
se_model_calibration(const struct se_engine *e, double *brier, double *n)
{
	return sp_model_calibration(e->e_policy, brier, n);
}

void
se_free(struct se_engine *e)
{
	if (e == NULL)
		return;
	sp_free(e->e_policy);
	sh_free(&e->e_heap);
	if (e->e_dq)
		for (size_t i = 0; i < (size_t)e->e_s->s_nissuers * e->e_ndom; i++)
			free(e->e_dq[i].q_t);
	free(e->e_dq);
	free(e->e_dup);
	free(e->e_issued);
	free(e->e_ext_next);
	free(e->e_gdom);
	free(e->e_c);
	free(e->e_m.m_expired_group_s);
	free(e->e_m.m_alerts_group);
	free(e->e_m.m_leads);
	free(e);
}

int64_t
se_now(const struct se_engine *e)
{
	return e->e_now;
}

const struct scn_scenario *
se_scenario(const struct se_engine *e)
{
	return e->e_s;
}

uint32_t
se_ncerts(const struct se_engine *e)
{
	return e->e_n;
}

void
se_observe(const struct se_engine *e, uint32_t ci, struct se_view *v)
{
	const struct se_cert *c = &e->e_c[ci];
	const struct scn_group *g = &e->e_s->s_groups[c->c_group];
	v->v_group = c->c_group;
	v->v_issuer = c->c_issuer;
	v->v_primary = g->g_issuer;
	v->v_fallback = g->g_fallback;
	v->v_not_before = c->c_not_before;
	v->v_not_after = c->c_not_after;
	v->v_lifetime = g->g_lifetime;
	v->v_renew_before = c->c_renew_before;
	v->v_user_renew_before = g->g_renew_before;
	v->v_pct = g->g_pct;
	v->v_renewal_time = se_renewal_time(e, c);
	v->v_failed = c->c_failed;
	v->v_last_failure = c->c_last_failure;
	v->v_issuing = c->c_inflight;
	v->v_pending_reason = c->c_inflight && c->c_hang ? sf_stuck_reason(c->c_stuck_zone) : NULL;
	v->v_last_reason = c->c_last == 0xff ? NULL : sf_outcome_reason((enum sf_outcome)c->c_last);
	v->v_last_message = c->c_last == 0xff ? NULL
	    : sf_outcome_message((enum sf_outcome)c->c_last, e->e_s->s_issuers[c->c_cur_issuer].is_acme);
	v->v_ari_lo = c->c_ari_lo;
	v->v_ari_hi = c->c_ari_hi;
	v->v_ari_url = c->c_ari_explained ? "https://ca.example/incidents/revocation" : NULL;
	v->v_domain = c->c_domain;
	v->v_names_ver = c->c_names_ver;
	v->v_names_differ = c->c_cert_ver != c->c_names_ver;
	/* while an order is in flight its certificate is not in the store yet: the order's own
	 * standing, as the CA judged it when accepting it */
	v->v_names_new = c->c_inflight ? c->c_req_new : se_names_new(e, ci, c->c_issuer);
}

int
se_set_renew_before(struct se_engine *e, uint32_t ci, int64_t rb)
{
	struct se_cert *c = &e->e_c[ci];
	const struct scn_group *g = &e->e_s->s_groups[c->c_group];
	if (g->g_pct || (rb != 0 && (rb < SE_MIN_RENEW_BEFORE || rb >= g->g_lifetime)))
		return CC_ERR_INVAL;
	if (rb == c->c_renew_before)
		return CC_OK;
	c->c_renew_before = rb;
	e->e_m.m_rb_patches++;
	if (++c->c_patches > e->e_m.m_rb_patches_max)
		e->e_m.m_rb_patches_max = c->c_patches;
	e->e_m.m_actions[rb == g->g_renew_before ? SE_ACT_RESTORE : SE_ACT_RENEW_BEFORE]++;
	se_reschedule(e, ci);
	return CC_OK;
}

int
se_trigger_issuing(struct se_engine *e, uint32_t ci)
{
	if (e->e_c[ci].c_inflight)
		return CC_ERR_STATE;
	e->e_m.m_actions[SE_ACT_REISSUE]++;
	se_start_attempt(e, ci);
	return CC_OK;
}

int
se_set_issuer(struct se_engine *e, uint32_t ci, int issuer)
{
	struct se_cert *c = &e->e_c[ci];
	if (issuer < 0 || (size_t)issuer >= e->e_s->s_nissuers)
		return CC_ERR_INVAL;
	if (issuer == c->c_issuer)
		return CC_OK;
	c->c_issuer = (int16_t)issuer;
	e->e_m.m_actions[issuer == e->e_s->s_groups[c->c_group].g_issuer ? SE_ACT_ISSUER_BACK
									  : SE_ACT_FAILOVER]++;
	/*
	 * cert-manager deletes a request whose issuerRef no longer matches the Certificate
	 * (pki.RequestMatchesSpec) and creates one for the new issuer at once; the deleted one is
	 * no failure. Only a hanging request is replaced here: an ordinary one ends within minutes,
	 * and keeping it keeps the other scenarios' attempts and draws as they were.
	 */
	if (c->c_inflight && c->c_hang) {
		c->c_inflight = 0;
		c->c_gen++;
		sh_push(&e->e_heap, e->e_now, SE_EV_TRIGGER, ci, c->c_gen);
	}
	return CC_OK;
}

void
se_set_ari_time(struct se_engine *e, uint32_t ci, int64_t t)
{
	if (e->e_c[ci].c_ari_at == t)
		return;
	e->e_c[ci].c_ari_at = t;
	se_reschedule(e, ci);
}

void
se_schedule_eval(struct se_engine *e, uint32_t ci, int64_t t)
{
	struct se_cert *c = &e->e_c[ci];
	c->c_eval_gen++;
	if (t < e->e_now)
		t = e->e_now;
	if (t < e->e_end)
		sh_push(&e->e_heap, t, SE_EV_EVAL, ci, c->c_eval_gen);
}

void
se_schedule_timer(struct se_engine *e, int64_t t, uint32_t id)
{
	if (t < e->e_now)
		t = e->e_now;
	if (t < e->e_end)
		sh_push(&e->e_heap, t, SE_EV_TIMER, id, 0);
}

void
se_note_risk(struct se_engine *e, uint32_t ci, enum se_level level, double risk)
{
	struct se_cert *c = &e->e_c[ci];
	/* A forecast after expiry is no forecast: only alerts raised while valid count. */
	if (e->e_now >= c->c_valid_until)
		return;
	if (level >= SE_HIGH && c->c_alert_at == SE_NONE)
		c->c_alert_at = e->e_now;
	for (int i = 0; i < SE_NCURVE; i++)
		if (risk >= se_curve_risk[i] && c->c_curve_at[i] == SE_NONE)
			c->c_curve_at[i] = e->e_now;
	/*
	 * A revocation moves the deadline, and the horizon point with it, earlier; the notes made
	 * before it came before the new point too, so the latest note by the point is kept right.
	 */
	if (e->e_now <= c->c_valid_until - se_horizon(e, c))
		c->c_risk_h = risk;
}
