/*
 * sim_policy: the four policies.
 *
 * The baselines are a few lines each. The certcast policy rebuilds, from observations only, what
 * the controller would hold: each issuer's recent CertificateRequest outcomes, each certificate's
 * own failures with their messages, the ARI window; it calls sc_evaluate at the moments a
 * controller would reconcile (an outcome, a periodic resync, an ARI change, an issuer-wide sweep
 * when the issuer's health moves) and applies the recommendation through the engine's actions.
 */
#include "sim_policy.h"

#include "sim_rand.h"
#include "sim_cc.h"
#include "xalloc.h"

#include <stdlib.h>

#define SP_30D (30 * 86400LL)

struct sp_policy {
	struct se_engine *p_e;           /* borrowed: the engine owns us */
	const struct scn_scenario *p_s;  /* borrowed */
	enum scn_policy p_kind;          /* which policy */
	struct scc_state *p_cc;          /* certcast forecaster, NULL for pure baselines */
};

struct sp_policy *
sp_new(struct se_engine *e, enum scn_policy kind, int observe)
{
	struct sp_policy *p = xcalloc(1, sizeof(*p));
	p->p_e = e;
	p->p_s = se_scenario(e);
	p->p_kind = kind;
	if (kind == SCN_POL_CERTCAST)
		p->p_cc = scc_new(e, 1);
	else if (kind == SCN_POL_CERT_MANAGER && observe)
		p->p_cc = scc_new(e, 0);
	return p;
}

void
sp_free(struct sp_policy *p)
{
	if (p == NULL)
		return;
	scc_free(p->p_cc);
	free(p);
}

/* ari-only: pick a time uniformly inside the window, as RFC 9773 asks clients to. */
static void
sp_ari_pick(struct sp_policy *p, uint32_t c)
{
	struct se_view v;
	se_observe(p->p_e, c, &v);
	if (v.v_ari_hi <= v.v_ari_lo) {
		se_set_ari_time(p->p_e, c, INT64_MAX);
		return;
	}
	double u = rn_unit(p->p_s->s_seed, RN_ARI_PICK, c, (uint64_t)v.v_not_before ^ (uint64_t)v.v_ari_lo);
	se_set_ari_time(p->p_e, c, v.v_ari_lo + (int64_t)(u * (double)(v.v_ari_hi - v.v_ari_lo)));
}

void
sp_on_issued(struct sp_policy *p, uint32_t c)
{
	switch (p->p_kind) {
	case SCN_POL_FIXED_30D: {
		struct se_view v;
		se_observe(p->p_e, c, &v);
		/* 30d where cert-manager accepts it; a lifetime of 30d or less keeps the default. */
		if (v.v_pct == 0 && SP_30D < v.v_lifetime)
			se_set_renew_before(p->p_e, c, SP_30D);
		break;
	}
	case SCN_POL_ARI_ONLY:
		sp_ari_pick(p, c);
		break;
	default:
		break;
	}
	if (p->p_cc)
		scc_on_issued(p->p_cc, c);
}

double
sp_on_attempt_start(struct sp_policy *p, uint32_t c)
{
	return p->p_cc ? scc_attempt_forecast(p->p_cc, c) : -1.0;
}

void
sp_on_attempt_done(struct sp_policy *p, uint32_t c, int issuer, int failed)
{
	if (p->p_cc)
		scc_on_outcome(p->p_cc, c, issuer, failed);
}

void
sp_on_ari_change(struct sp_policy *p, uint32_t c)
{
	if (p->p_kind == SCN_POL_ARI_ONLY)
		sp_ari_pick(p, c);
	if (p->p_cc)
		scc_on_ari_change(p->p_cc, c);
}

void
sp_on_eval(struct sp_policy *p, uint32_t c)
{
	if (p->p_cc)
		scc_on_eval(p->p_cc, c);
}

void
sp_on_timer(struct sp_policy *p, uint32_t id)
{
	if (p->p_cc)
		scc_on_timer(p->p_cc, id);
}

int
sp_model_calibration(const struct sp_policy *p, double *brier, double *n)
{
	return p->p_cc ? scc_model_calibration(p->p_cc, brier, n) : 0;
}
