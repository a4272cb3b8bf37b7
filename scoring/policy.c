/*
 * policy: renewBefore, reissue and failover decisions with hysteresis, jitter and budgets.
 */
#include "policy.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"

#define POL_LE_NEW_LIMIT 50          /* Let's Encrypt: new certificates per domain per window */
#define POL_LE_DUP_LIMIT 5           /* Let's Encrypt: duplicates per window */
#define POL_MIN_STEP 300             /* a renewBefore change smaller than this is noise */
#define POL_MIN_STEP_FRAC 0.05       /* ... or smaller than this share of the current value */
#define POL_BACKOFF_OBSTACLE 1800    /* backoff must delay the next attempt at least this */
#define POL_MAX_RB_DIV 2             /* renewBefore at most lifetime / this */
#define POL_SPREAD_FILL 0.8          /* share of a budget window a spread plans to use */
#define POL_SPREAD_MIN_AGE_DIV 8     /* a spread renews no earlier than lifetime / this */

static void pol_note(struct sc_decision *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends a sentence to the decision's note (cut when full). */
static void
pol_note(struct sc_decision *d, const char *fmt, ...)
{
	size_t used = strlen(d->d_note);
	va_list ap;
	if (used + 3 >= sizeof(d->d_note))
		return;
	if (used > 0) {
		d->d_note[used++] = ' ';
		d->d_note[used] = '\0';
	}
	va_start(ap, fmt);
	vsnprintf(d->d_note + used, sizeof(d->d_note) - used, fmt, ap);
	va_end(ap);
}

static int64_t
pol_spec_duration(const struct sc_cert *c)
{
	return c->c_spec.rs_duration > 0 ? c->c_spec.rs_duration : FC_DEFAULT_DURATION;
}

int
pol_validate_renew_before(int64_t rb, const struct sc_cert *c, char *why, size_t whylen)
{
	const char *bad = NULL;
	if (c == NULL)
		bad = "no certificate";
	else if (c->c_spec.rs_pct_set)
		bad = "renewBeforePercentage is set; renewBefore may not be set with it";
	else if (rb < FC_MIN_RENEW_BEFORE)
		bad = "renewBefore must be at least 5m";
	else if (rb >= pol_spec_duration(c))
		bad = "renewBefore must be less than spec.duration";
	else if (c->c_not_after > 0 && rb >= c->c_not_after - c->c_not_before)
		bad = "renewBefore must be less than the certificate's lifetime";
	if (bad == NULL)
		return SC_OK;
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", bad);
	return SC_ERR_RANGE;
}

static uint64_t
pol_fnv(uint64_t h, const char *s)
{
	if (s != NULL)
		for (; *s != '\0'; s++) {
			h ^= (unsigned char)*s;
			h *= 0x100000001b3ULL;
		}
	/* a separator so that ("ab","c") and ("a","bc") differ */
	h ^= 0xff;
	h *= 0x100000001b3ULL;
	return h;
}

double
pol_unit_hash(uint64_t seed, const char *a, const char *b, const char *c)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (int i = 0; i < 8; i++) {
		h ^= (seed >> (8 * i)) & 0xff;
		h *= 0x100000001b3ULL;
	}
	h = pol_fnv(h, a);
	h = pol_fnv(h, b);
	h = pol_fnv(h, c);
	/* splitmix64's finaliser spreads FNV's weak low bits */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

int64_t
pol_jitter(const struct sc_config *cfg, const struct sc_cert *c, int64_t rb)
{
	double span;
	if (cfg == NULL || c == NULL || rb <= 0)
		return 0;
	span = cfg->cf_jitter_frac * (double)rb;
	if (span > (double)cfg->cf_jitter_max)
		span = (double)cfg->cf_jitter_max;
	if (!(span > 0.0))
		return 0;
	return (int64_t)floor(pol_unit_hash(cfg->cf_jitter_seed, c->c_issuer_name, c->c_namespace,
					    c->c_name) *
			      span);
}

void
pol_budget_limits(const struct sc_budget *b, uint32_t *new_limit, uint32_t *dup_limit)
{
	*new_limit = b->bd_new_limit > 0 ? b->bd_new_limit : POL_LE_NEW_LIMIT;
	*dup_limit = b->bd_dup_limit > 0 ? b->bd_dup_limit : POL_LE_DUP_LIMIT;
}

int
pol_budget_refusal_explained(const struct sc_budget *b)
{
	uint32_t new_limit, dup_limit;
	if (b == NULL || !b->bd_valid || !b->bd_at_failure)
		return -1;
	pol_budget_limits(b, &new_limit, &dup_limit);
	if (!b->bd_renewal && b->bd_new_used_at_failure >= new_limit)
		return 1;
	return b->bd_dup_used_at_failure >= dup_limit;
}

int
pol_budget_allows(const struct sc_budget *b, uint32_t reserve, int ari_exempt, char *why,
		  size_t whylen)
{
	uint32_t new_limit, dup_limit;
	if (b == NULL || !b->bd_valid || ari_exempt)
		return 1;
	pol_budget_limits(b, &new_limit, &dup_limit);
	/* a renewal of an exact set issued before does not draw on the domain's budget */
	if (!b->bd_renewal && (uint64_t)b->bd_new_used + reserve >= new_limit) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "ACME budget of the registered domain used: %u of %u",
				 b->bd_new_used, new_limit);
		return 0;
	}
	/* duplicates: keep no reserve, but never reach the limit itself */
	if (b->bd_dup_used + 1 > dup_limit) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "duplicate-certificate budget used: %u of %u",
				 b->bd_dup_used, dup_limit);
		return 0;
	}
	return 1;
}

/* First attempt time if the renewal time were rt (0: no renewal time). */
static int64_t
pol_first_attempt(const struct pol_context *ctx, int64_t rt)
{
	const struct sc_cert *c = &ctx->pc_in->in_cert;
	return fc_next_attempt(c, rt, ctx->pc_in->in_now);
}

/* Renewal time with spec.renewBefore = rb (rb <= 0: unset), windows and policy kept. */
static int
pol_renewal_with(const struct pol_context *ctx, int64_t rb, int64_t *rt)
{
	const struct sc_cert *c = &ctx->pc_in->in_cert;
	struct sc_renew_spec spec = c->c_spec;
	spec.rs_renew_before_set = rb > 0;
	spec.rs_renew_before = rb > 0 ? rb : 0;
	int rc = fc_renewal_time(c->c_not_before, c->c_not_after, &spec, rt);
	/* names differing from the spec make cert-manager order now, whatever renewBefore says */
	if (rc == SC_OK && c->c_spec_mismatch && *rt > ctx->pc_in->in_now)
		*rt = ctx->pc_in->in_now;
	return rc;
}

double
pol_risk_with_renew_before(const struct pol_context *ctx, int64_t rb)
{
	struct fc_params p;
	struct fc_forecast f;
	int64_t rt = 0;
	if (ctx == NULL || ctx->pc_in == NULL || ctx->pc_params == NULL)
		return 1.0;
	(void)pol_renewal_with(ctx, rb, &rt);
	p = *ctx->pc_params;
	p.fp_first = pol_first_attempt(ctx, rt);
	if (fc_forecast(&p, 0, &f) != SC_OK)
		return 1.0;
	return f.ff_risk;
}

/*
 * The risk of the current schedule computed the same way as every alternative below (the
 * caller's pc_risk may be more conservative, see sc_evaluate); improvements are measured
 * against this one so that like is compared with like.
 */
static double
pol_risk_current(const struct pol_context *ctx)
{
	struct fc_forecast f;
	if (fc_forecast(ctx->pc_params, 0, &f) != SC_OK)
		return 1.0;
	return f.ff_risk;
}

/* Risk if an attempt started right now (Issuing=True bypasses the backoff). */
static double
pol_risk_reissue_now(const struct pol_context *ctx)
{
	struct fc_params p = *ctx->pc_params;
	struct fc_forecast f;
	p.fp_first = ctx->pc_in->in_now;
	if (fc_forecast(&p, 0, &f) != SC_OK)
		return 1.0;
	return f.ff_risk;
}

/* The renewBefore cert-manager uses today (the spec value, or its default). */
static int64_t
pol_effective_rb(const struct sc_cert *c)
{
	return fc_renew_before(c->c_not_after - c->c_not_before, &c->c_spec);
}

/* Rounds up to a whole minute so that the patched value reads well ("241h"). */
static int64_t
pol_round_minute(int64_t s)
{
	return (s + 59) / 60 * 60;
}

/*
 * The smallest rb in [lo, hi] whose risk is at most target, by bisection on a risk that falls
 * (weakly) as renewal starts earlier. Returns 0 when even hi misses the target.
 */
static int64_t
pol_search_rb(const struct pol_context *ctx, int64_t lo, int64_t hi, double target)
{
	if (pol_risk_with_renew_before(ctx, hi) > target)
		return 0;
	if (pol_risk_with_renew_before(ctx, lo) <= target)
		return lo;
	while (hi - lo > 60) {
		int64_t mid = lo + (hi - lo) / 2;
		if (pol_risk_with_renew_before(ctx, mid) <= target)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/* The ARI point: a deterministic spot inside the suggested window for this certificate. */
static int64_t
pol_ari_point(const struct pol_context *ctx)
{
	const struct sc_ari *a = &ctx->pc_in->in_ari;
	const struct sc_cert *c = &ctx->pc_in->in_cert;
	double u;
	if (!a->ar_valid || a->ar_end < a->ar_start)
		return 0;
	u = pol_unit_hash(ctx->pc_cfg->cf_jitter_seed ^ 0x415249ULL, c->c_issuer_name,
			  c->c_namespace, c->c_name);
	return a->ar_start + (int64_t)floor(u * (double)(a->ar_end - a->ar_start));
}

/*
 * Renewals bunching against the CA's per-domain budget (bd_bunch certificates due within one
 * window, more than the budget serves): cert-manager would renew them together and the
 * excess would fail into its backoff, some past notAfter. Spread the bunch over whole windows
 * before its renewal time instead: each certificate takes window k in [0, m) from a hash of
 * its name, m windows holding POL_SPREAD_FILL of the budget each. The bunch is counted on the
 * users' own schedules, so moving certificates does not change it and the plan is stable
 * until they renew. Returns the renewBefore that moves this certificate to its window, 0 when
 * it stays (k = 0, no bunch, or no budget known).
 */
static int64_t
pol_spread_rb(const struct pol_context *ctx)
{
	const struct sc_input *in = ctx->pc_in;
	const struct sc_budget *b = &in->in_budget;
	const struct sc_cert *c = &in->in_cert;
	const struct sc_state *st = &in->in_state;
	uint32_t limit, dup_limit;
	int64_t window, rt = 0, orig, target, lifetime, earliest;
	double cap;
	uint32_t m, k;

	if (!b->bd_valid || b->bd_bunch == 0 || c->c_not_after <= 0)
		return 0;
	pol_budget_limits(b, &limit, &dup_limit);
	if (limit > ctx->pc_cfg->cf_budget_reserve)
		limit -= ctx->pc_cfg->cf_budget_reserve;
	if (b->bd_bunch <= limit)
		return 0;
	window = b->bd_window > 0 ? b->bd_window : 7 * 86400;
	cap = floor((double)limit * POL_SPREAD_FILL);
	if (cap < 1.0)
		cap = 1.0;
	m = (uint32_t)ceil((double)b->bd_bunch / cap);
	/* the user's schedule, not certcast's: the plan must not chase its own changes */
	orig = st->st_rb_adjusted ? (st->st_orig_rb_set ? st->st_orig_rb : 0)
				  : (c->c_spec.rs_renew_before_set ? c->c_spec.rs_renew_before : 0);
	if (pol_renewal_with(ctx, orig, &rt) != SC_OK || rt == 0)
		return 0;
	lifetime = c->c_not_after - c->c_not_before;
	earliest = c->c_not_before + lifetime / POL_SPREAD_MIN_AGE_DIV;
	if (rt <= earliest)
		return 0;
	/* fewer windows fit before the renewal time: fill them fuller rather than stack two */
	if ((int64_t)(m - 1) * window > rt - earliest)
		m = (uint32_t)((rt - earliest) / window) + 1;
	k = (uint32_t)floor(pol_unit_hash(ctx->pc_cfg->cf_jitter_seed ^ 0x5350524541ULL,
					  c->c_issuer_name, c->c_namespace, c->c_name) *
			    (double)m);
	if (k == 0)
		return 0;
	target = rt - (int64_t)k * window;
	return c->c_not_after - target;
}

static void
pol_renew_before(const struct pol_context *ctx, struct sc_decision *d)
{
	const struct sc_input *in = ctx->pc_in;
	const struct sc_cert *c = &in->in_cert;
	const struct sc_state *st = &in->in_state;
	const struct sc_config *cfg = ctx->pc_cfg;
	double h = cfg->cf_hysteresis, target = cfg->cf_target_risk, risk = ctx->pc_risk, cur_risk;
	int64_t now = in->in_now, lifetime, lo, hi, rb, cur, want_ari = 0, ari_pt, want_spread;
	int recent, fresh, lower;
	char why[120];

	d->d_rb = SC_RB_LEAVE;
	d->d_risk_after = risk;
	if (c->c_not_after <= 0 || c->c_not_after <= now)
		return;
	lifetime = c->c_not_after - c->c_not_before;
	recent = st->st_last_change > 0 && now - st->st_last_change < cfg->cf_min_change_interval;
	/*
	 * A certificate issued after the last change is a new instance: the change did its job,
	 * and restoring now is not a flap (the minimum interval guards one instance's schedule).
	 * A change at the very second of issuance was made for this certificate.
	 */
	fresh = st->st_last_change > 0 && c->c_not_before > st->st_last_change;
	if (fresh)
		recent = 0;

	want_spread = pol_spread_rb(ctx);

	/*
	 * ARI: renew inside the suggested window when the user's own schedule would renew after
	 * it. Judged on the user's schedule, not the current one: once certcast has moved the
	 * renewal into the window the reason still holds, and restoring it would only flap.
	 */
	ari_pt = pol_ari_point(ctx);
	if (ari_pt > now && ari_pt < c->c_not_after) {
		int64_t orig = st->st_rb_adjusted ? (st->st_orig_rb_set ? st->st_orig_rb : 0)
			       : (c->c_spec.rs_renew_before_set ? c->c_spec.rs_renew_before : 0);
		int64_t rt_orig = 0;
		if (pol_renewal_with(ctx, orig, &rt_orig) == SC_OK && rt_orig > in->in_ari.ar_end)
			want_ari = c->c_not_after - ari_pt;
	}

	/* restore the user's value once the risk with it has clearly subsided */
	if (st->st_rb_adjusted && want_spread == 0 && want_ari == 0) {
		int64_t orig = st->st_orig_rb_set ? st->st_orig_rb : 0;
		double r_orig = pol_risk_with_renew_before(ctx, orig);
		if (r_orig <= target * (1.0 - h) && !(ctx->pc_in->in_ari.ar_valid &&
						      now >= ctx->pc_in->in_ari.ar_start)) {
			if (recent) {
				pol_note(d, "Risk has subsided but renewBefore changed less than the "
					    "minimum interval ago; restoring later.");
				return;
			}
			d->d_rb = SC_RB_RESTORE;
			d->d_rb_value = orig;
			d->d_rb_unset = !st->st_orig_rb_set;
			d->d_risk_after = r_orig;
			pol_note(d, "Risk with the original renewBefore is %.3g, under the target.",
				 r_orig);
			return;
		}
	}

	if (want_spread > want_ari)
		want_ari = want_spread; /* both place the renewal, neither needs a risk */
	if (risk <= target && want_ari == 0)
		return;
	if (c->c_spec.rs_policy == SC_RENEWAL_DISABLED) {
		d->d_rb = SC_RB_BLOCKED;
		pol_note(d, "Renewal is Disabled by spec.renewal.policy: reporting instead of "
			    "changing renewBefore.");
		return;
	}
	if (c->c_spec.rs_pct_set) {
		d->d_rb = SC_RB_BLOCKED;
		pol_note(d, "renewBeforePercentage is set: reporting instead of changing "
			    "renewBefore.");
		return;
	}
	if (risk <= target * (1.0 + h) && want_ari == 0 && !st->st_rb_adjusted)
		return; /* inside the hysteresis band: not material yet */

	lo = cfg->cf_min_renew_before > FC_MIN_RENEW_BEFORE ? cfg->cf_min_renew_before
							    : FC_MIN_RENEW_BEFORE;
	/*
	 * renewBefore stays on the spec for the next certificate until restored: a value near the
	 * lifetime would make cert-manager renew each new certificate at once, over and over into
	 * the duplicate limit. Half the lifetime bounds the issuance rate at twice the natural one
	 * even if the restore never comes; renewing right now is the reissue rule's job.
	 */
	hi = lifetime / POL_MAX_RB_DIV;
	if (hi < lo)
		hi = lo; /* the operator's floor wins over the cap; validation still applies */
	if (lifetime - 1 < hi)
		hi = lifetime - 1;
	if (pol_spec_duration(c) - 1 < hi)
		hi = pol_spec_duration(c) - 1;
	if (cfg->cf_max_renew_before > 0 && cfg->cf_max_renew_before < hi)
		hi = cfg->cf_max_renew_before;
	hi = hi / 60 * 60; /* whole minutes, still below the limits */
	if (hi < lo) {
		d->d_rb = SC_RB_BLOCKED;
		pol_note(d, "The renewBefore bounds leave no valid value for this lifetime.");
		return;
	}

	rb = 0;
	cur_risk = pol_risk_current(ctx);
	if (risk > target) {
		rb = pol_search_rb(ctx, lo, hi, target);
		if (rb == 0) {
			/* the target is out of reach: take the best the bounds allow, if it helps */
			double r_hi = pol_risk_with_renew_before(ctx, hi);
			if (r_hi <= cur_risk * (1.0 - h))
				rb = hi;
			pol_note(d, "No renewBefore within bounds brings the risk under %.3g.",
				 target);
		}
	}
	if (want_ari > rb)
		rb = want_ari;
	if (rb == 0)
		return;
	rb = pol_round_minute(rb);
	d->d_jitter = pol_jitter(cfg, c, rb);
	rb += d->d_jitter;
	if (want_spread > 0 && rb == want_spread + d->d_jitter) {
		/* a spread's window may lie before half the lifetime; it is restored on renewal */
		int64_t shi = lifetime - lifetime / POL_SPREAD_MIN_AGE_DIV;
		if (shi > hi && rb > hi)
			hi = shi / 60 * 60;
	}
	if (rb > hi)
		rb = hi;
	if (rb < lo)
		rb = lo;
	cur = pol_effective_rb(c);
	/*
	 * Within one certificate renewBefore only grows (hysteresis). A new certificate under
	 * certcast's value starts afresh: what it needs may be less than what the last one did,
	 * and keeping the larger value would renew every later certificate early.
	 */
	lower = st->st_rb_adjusted && fresh && rb < cur;
	if (rb <= cur && !lower) {
		/* renewing earlier than today is not what is missing: backoff or the issuer is */
		d->d_jitter = 0;
		return;
	}
	if (llabs(rb - cur) < POL_MIN_STEP ||
	    (double)llabs(rb - cur) < POL_MIN_STEP_FRAC * (double)cur) {
		d->d_jitter = 0;
		return;
	}
	if (recent) {
		d->d_jitter = 0;
		pol_note(d, "renewBefore changed less than the minimum interval ago; waiting.");
		return;
	}
	if (pol_validate_renew_before(rb, c, why, sizeof(why)) != SC_OK) {
		d->d_jitter = 0;
		d->d_rb = SC_RB_BLOCKED;
		pol_note(d, "%s.", why);
		return;
	}
	d->d_risk_after = pol_risk_with_renew_before(ctx, rb);
	if (!lower && want_ari == 0 && d->d_risk_after > cur_risk * (1.0 - h)) {
		/* not a material improvement: changing the spec would only be noise */
		d->d_risk_after = risk;
		d->d_jitter = 0;
		return;
	}
	{
		/* a renewal time already past means cert-manager issues at once: budget applies */
		int64_t rt = 0;
		(void)pol_renewal_with(ctx, rb, &rt);
		if (rt != 0 && rt <= now &&
		    !pol_budget_allows(&in->in_budget, cfg->cf_budget_reserve, 0, why, sizeof(why))) {
			d->d_rb = SC_RB_BLOCKED;
			d->d_budget_blocked = 1;
			d->d_risk_after = risk;
			d->d_jitter = 0;
			pol_note(d, "Holding back an immediate renewal: %s.", why);
			return;
		}
	}
	d->d_rb = SC_RB_SET;
	d->d_rb_value = rb;
	if (want_ari == rb - d->d_jitter || (want_ari > 0 && risk <= target))
		pol_note(d, "renewBefore moves the renewal into the ARI window.");
	else
		pol_note(d, "renewBefore moves the renewal earlier so the risk falls to %.3g.",
			 d->d_risk_after);
}

/*
 * Whether faults that fail every attempt until they clear (the CA down, a rate limit holding,
 * a wrong configuration, or a failure not understood) alone make an attempt now likelier to
 * fail than cf_reissue_max_fail. Against those an early attempt only adds load. Intermittent
 * faults (a DNS provider failing some challenges, one-off errors) fail attempts independently:
 * each extra attempt is another chance and a failed order costs no issuance budget, so
 * cert-manager's backoff is then the obstacle worth bypassing.
 */
static int
pol_retry_futile(const struct pol_context *ctx)
{
	const struct fc_params *p = ctx->pc_params;
	double pass = 1.0;
	for (size_t i = 0; i < p->fp_nfaults; i++) {
		const struct fc_fault *ft = &p->fp_faults[i];
		switch (ft->ft_class) {
		case SC_CLASS_CA_UNAVAILABLE:
		case SC_CLASS_RATE_LIMIT:
		case SC_CLASS_CONFIG:
		case SC_CLASS_UNKNOWN:
			pass *= 1.0 - ft->ft_present * ft->ft_fail;
			break;
		case SC_CLASS_DNS:
		case SC_CLASS_TRANSIENT:
		case SC_CLASS_OK:
		case SC_CLASS_COUNT:
			break;
		}
	}
	return 1.0 - pass > ctx->pc_cfg->cf_reissue_max_fail;
}

static void
pol_reissue(const struct pol_context *ctx, struct sc_decision *d)
{
	const struct sc_input *in = ctx->pc_in;
	const struct sc_cert *c = &in->in_cert;
	const struct sc_state *st = &in->in_state;
	const struct sc_config *cfg = ctx->pc_cfg;
	int64_t now = in->in_now, ari_pt;
	enum sc_reissue_reason why_r = SC_REISSUE_NONE;
	int exempt = 0;
	char why[120];

	if (c->c_issuing.cd_status == SC_TRUE) {
		/*
		 * An issuance is already running. When it looks stuck, Issuing=True again changes
		 * nothing: cert-manager keeps the pending request while it matches the spec, and a
		 * new order would meet the same broken challenge. Only a changed spec replaces it.
		 */
		if (ctx->pc_params->fp_stuck >= 0.5)
			pol_note(d, "The running attempt looks stuck; a reissue cannot replace it.");
		return;
	}
	if (st->st_last_reissue > 0 && now - st->st_last_reissue < cfg->cf_reissue_min_interval)
		return;

	if (ctx->pc_security) {
		why_r = SC_REISSUE_SECURITY;
	} else if ((ari_pt = pol_ari_point(ctx)) != 0 && now >= ari_pt &&
		   c->c_not_after > now &&
		   (ctx->pc_renewal_time == 0 || ctx->pc_renewal_time > now) &&
		   (c->c_not_before < in->in_ari.ar_start)) {
		/*
		 * Inside (or past) the window and cert-manager is not renewing yet. The order
		 * cert-manager then places carries "replaces", and so escapes the CA's limits, only
		 * when its ACMEUseARI gate is on; otherwise it spends budget like any other.
		 */
		why_r = SC_REISSUE_ARI;
		exempt = cfg->cf_ari_replaces;
	} else if (ctx->pc_backoff_until > now + POL_BACKOFF_OBSTACLE &&
		   ctx->pc_risk > cfg->cf_target_risk) {
		int expired = c->c_not_after > 0 && now >= c->c_not_after;
		if (pol_retry_futile(ctx)) {
			if (ctx->pc_p_now_fail > cfg->cf_reissue_max_fail)
				return; /* the evidence says the next attempt would fail too */
			/* expired: every attempt is a chance to end the outage, risk stays 1 */
			if (!expired && pol_risk_reissue_now(ctx) >
					    pol_risk_current(ctx) * (1.0 - cfg->cf_hysteresis))
				return;
		}
		/*
		 * Otherwise the failures are intermittent and an attempt is an independent chance.
		 * One reissue alone raises failedIssuanceAttempts and so the next backoff, but
		 * certcast repeats it at most every cf_reissue_min_interval while the risk stays
		 * over the target: the attempts come at that pace instead of a doubling backoff.
		 */
		why_r = SC_REISSUE_BACKOFF;
	}
	if (why_r == SC_REISSUE_NONE)
		return;
	if (st->st_reissue_budget > 0 && st->st_reissues_used >= st->st_reissue_budget) {
		pol_note(d, "Reissue wanted but the issuer's reissue budget (%u) is used.",
			 st->st_reissue_budget);
		return;
	}
	if (!pol_budget_allows(&in->in_budget, cfg->cf_budget_reserve, exempt, why, sizeof(why))) {
		d->d_budget_blocked = 1;
		pol_note(d, "Reissue wanted but held back: %s.", why);
		return;
	}
	d->d_reissue = 1;
	d->d_reissue_reason = why_r;
	if (why_r == SC_REISSUE_BACKOFF)
		pol_note(d, "cert-manager is backing off but P(next attempt fails) is %.2f: "
			    "reissuing now.", ctx->pc_p_now_fail);
	else if (why_r == SC_REISSUE_ARI)
		pol_note(d, "The ARI window is open: renewing now.");
	else
		pol_note(d, "A security anomaly asks for a new certificate.");
}

/* Whether the current faults would follow the certificate to another issuer. */
static double
pol_fallback_risk(const struct pol_context *ctx)
{
	struct fc_params p = *ctx->pc_params;
	struct fc_forecast f;
	size_t k = 0;
	p.fp_first = ctx->pc_in->in_now; /* a new issuerRef makes cert-manager issue at once */
	/*
	 * A stuck request is replaced too: cert-manager deletes a request whose issuerRef no
	 * longer matches the Certificate (pki.RequestMatchesSpec). What kept its challenge from
	 * validating may be the certificate's own (an ingress answering 404 breaks HTTP-01 for any
	 * ACME CA), so half of it follows, as for the faults below; the fallback's own failures
	 * are quick, since no order of the primary is waited on.
	 */
	if (p.fp_stuck > 0.0) {
		struct fc_fault sf = p.fp_stuck_fault;
		if (p.fp_nfaults < FC_MAX_FAULTS && sf.ft_class != SC_CLASS_CA_UNAVAILABLE &&
		    sf.ft_class != SC_CLASS_RATE_LIMIT && sf.ft_class != SC_CLASS_OK) {
			sf.ft_present = p.fp_stuck; /* halved with the others below */
			p.fp_faults[p.fp_nfaults++] = sf;
		}
		p.fp_stuck = 0.0;
		p.fp_fail_duration = 0;
	}
	p.fp_p = ctx->pc_fallback_p;
	for (size_t i = 0; i < p.fp_nfaults; i++) {
		struct fc_fault ft = p.fp_faults[i];
		switch (ft.ft_class) {
		case SC_CLASS_CA_UNAVAILABLE:
		case SC_CLASS_RATE_LIMIT:
			continue; /* belongs to the primary CA */
		case SC_CLASS_DNS:
		case SC_CLASS_CONFIG:
		case SC_CLASS_TRANSIENT:
		case SC_CLASS_UNKNOWN:
		case SC_CLASS_OK:
		case SC_CLASS_COUNT:
			/* may be the certificate's own (names, zone): assume half follow it */
			ft.ft_present *= 0.5;
			break;
		}
		p.fp_faults[k++] = ft;
	}
	p.fp_nfaults = k;
	if (fc_forecast(&p, 0, &f) != SC_OK)
		return 1.0;
	return f.ff_risk;
}

/*
 * Whether a certificate failed over to its fallback should try the primary again at its
 * renewal, for want of other evidence. The restore rule below waits for successes of other
 * certificates on the primary; when none use it, none come, and the certificate would stay on
 * the fallback for good. (Its own failed request on the primary is no help either: cert-manager
 * deletes a request that no longer matches the spec, so it left the store at the failover.)
 *
 * So the renewal cert-manager is about to make anyway goes to the primary, once no failure of
 * the primary has been seen for cf_failover_restore_after: counted from the latest of the
 * primary's last failure, certcast's last failover (st_last_failover: a failure of the primary
 * caused it, and a failed trial ends in one) and the notBefore of the certificate the fallback
 * issued, which came after the failover (for when st_last_failover is unknown). The trial costs
 * no extra issuance and is made with the last third of the lifetime left, so a failure leaves
 * time to fail over again (pol_failover does, as before). It is taken only when the primary's
 * Ready is not False and the forecast on the primary from now, with its estimate as it stands
 * (pessimistic while its last outcome was a failure), is under the target; and in the hour
 * before the renewal time, not after it: by then cert-manager is issuing from the fallback, and
 * a new issuerRef would throw that request away. Writes the quiet time (seconds) to *quiet.
 */
#define POL_TRIAL_LEAD 3600

static int
pol_restore_trial(const struct pol_context *ctx, int64_t *quiet)
{
	const struct sc_input *in = ctx->pc_in;
	const struct sc_fallback *fb = &in->in_fallback;
	const struct sc_config *cfg = ctx->pc_cfg;
	const struct sc_issuer_estimate *pe = fb->fb_est;
	int64_t now = in->in_now, from;
	if (pe == NULL || fb->fb_other == NULL || fb->fb_other->is_ready.cd_status == SC_FALSE)
		return 0;
	from = pe->ie_last_failure > in->in_cert.c_not_before ? pe->ie_last_failure
							       : in->in_cert.c_not_before;
	if (in->in_state.st_last_failover > from)
		from = in->in_state.st_last_failover;
	if (from <= 0 || now - from < cfg->cf_failover_restore_after)
		return 0;
	if (!(ctx->pc_primary_p >= 0.0))
		return 0;
	if (ctx->pc_renewal_time <= 0 || now >= ctx->pc_renewal_time ||
	    now < ctx->pc_renewal_time - POL_TRIAL_LEAD)
		return 0;
	if (in->in_cert.c_issuing.cd_status == SC_TRUE)
		return 0; /* an issuance is running: a new issuerRef would cancel it */
	struct fc_params p = *ctx->pc_params;
	struct fc_forecast f;
	p.fp_first = now; /* a new issuerRef makes cert-manager issue at once */
	p.fp_p = ctx->pc_primary_p;
	if (fc_forecast(&p, 0, &f) != SC_OK)
		return 0;
	*quiet = now - from;
	return f.ff_risk <= cfg->cf_target_risk * (1.0 - cfg->cf_hysteresis);
}

/*
 * Since when the primary issuer of a certificate failed over has been healthy, from its
 * estimate and certcast's last failover; 0 when it is not (or nothing is known of it).
 *
 * Healthy since its last failure, as long as successes came after it. The failure behind the
 * failover left the store with its request (cert-manager deletes a request that no longer
 * matches the spec), but certcast's failover says the primary failed then: when that is the
 * latest failure known, the primary is healthy since the failover if it succeeded after it.
 * Without that, "healthy" would count from the latest success when no failure is known, which
 * moves with every issuance: a primary busy with other certificates would never look healthy
 * for long, and one that last succeeded before the failover would look healthy from before it.
 */
static int64_t
pol_primary_ok_since(const struct sc_input *in)
{
	const struct sc_issuer_estimate *pe = in->in_fallback.fb_est;
	int64_t fo = in->in_state.st_last_failover;
	if (pe == NULL)
		return 0;
	if (fo > 0 && fo > pe->ie_last_failure)
		return pe->ie_last_success > fo ? fo : 0;
	if (pe->ie_last_success > pe->ie_last_failure)
		return pe->ie_last_failure ? pe->ie_last_failure : pe->ie_last_success;
	return 0;
}

static void
pol_failover(const struct pol_context *ctx, struct sc_decision *d)
{
	const struct sc_input *in = ctx->pc_in;
	const struct sc_fallback *fb = &in->in_fallback;
	const struct sc_config *cfg = ctx->pc_cfg;
	double h = cfg->cf_hysteresis, target = cfg->cf_target_risk, after;
	int64_t quiet = 0;

	if (!fb->fb_configured)
		return;
	if (fb->fb_active) {
		int64_t ok_since = pol_primary_ok_since(in);
		if (ctx->pc_primary_p >= 0.0 && ctx->pc_primary_p <= cfg->cf_fallback_max_fail &&
		    ok_since > 0 && in->in_now - ok_since >= cfg->cf_failover_restore_after &&
		    !(fb->fb_other != NULL && fb->fb_other->is_ready.cd_status == SC_FALSE)) {
			d->d_failover = SC_FO_RESTORE;
			pol_note(d, "The primary issuer has been healthy long enough: switching back.");
		} else if (pol_restore_trial(ctx, &quiet)) {
			d->d_failover = SC_FO_RESTORE;
			d->d_failover_trial = 1;
			pol_note(d, "No failure of the primary issuer seen for at least %.1f days, and "
				    "too few of its certificates to show it healthy; the renewal is due, "
				    "so it tries the primary again (a failure there fails it over "
				    "again).",
			    (double)quiet / 86400.0);
		}
		return;
	}
	if (fb->fb_other == NULL || fb->fb_other->is_ready.cd_status == SC_FALSE)
		return;
	if (!(ctx->pc_fallback_p >= 0.0) || ctx->pc_fallback_p > cfg->cf_fallback_max_fail)
		return;
	after = pol_risk_current(ctx);
	if (d->d_rb == SC_RB_SET && d->d_risk_after < after)
		after = d->d_risk_after;
	if (d->d_reissue)
		after = after < pol_risk_reissue_now(ctx) ? after : pol_risk_reissue_now(ctx);
	if (after <= target * (1.0 + h))
		return; /* the primary still gets there in time, with certcast's help */
	{
		double r_fb = pol_fallback_risk(ctx);
		if (r_fb <= after * (1.0 - h) && r_fb < after) {
			d->d_failover = SC_FO_SWITCH;
			/* the fallback issuance replaces a reissue on the primary */
			d->d_reissue = 0;
			d->d_reissue_reason = SC_REISSUE_NONE;
			pol_note(d, "The primary issuer will not recover in time (risk %.3g); the "
				    "fallback brings it to %.3g.", after, r_fb);
		}
	}
}

int
pol_decide(const struct pol_context *ctx, struct sc_decision *out)
{
	if (ctx == NULL || out == NULL || ctx->pc_in == NULL || ctx->pc_cfg == NULL ||
	    ctx->pc_params == NULL)
		return SC_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	out->d_risk_after = ctx->pc_risk;
	pol_renew_before(ctx, out);
	pol_reissue(ctx, out);
	pol_failover(ctx, out);
	return SC_OK;
}
