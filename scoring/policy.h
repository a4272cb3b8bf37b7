/*
 * policy: what certcast should do about one certificate, given its forecast.
 *
 * Rules (scoring/README.md, "Decision policy"), each a separate step of pol_decide():
 *  - renewBefore: the smallest value that brings the risk under the target, within the
 *    configured bounds and cert-manager's validation (>= 5m, < the lifetime and < spec.duration),
 *    and at most half the lifetime (the value stays on the spec for the next certificate, which
 *    must not fall due at once) unless the operator's floor is higher; rounded up to a minute,
 *    plus a deterministic jitter per issuer and certificate; never while renewBeforePercentage
 *    is set or the renewal policy is Disabled (reported instead); honouring renewal windows
 *    (the forecast applies them); moved into an ARI window that closes before the user's own
 *    renewal time; moved whole budget windows earlier when renewals of the registered domain
 *    bunch beyond its ACME budget (bd_bunch, spread by a hash of the certificate); hysteresis
 *    both ways (a material risk difference and a minimum time since the last change, within
 *    one certificate only growing); restore of the user's value when the risk with it has
 *    subsided and no placement asks for the change, at once on a new certificate.
 *  - reissue now: when the backoff is the obstacle and either the failures are intermittent
 *    (DNS, transient: each attempt is another chance) or the persistent faults leave the next
 *    attempt likely to succeed; when the ARI window is open and the renewal would come after
 *    it; or when a security anomaly asks for it; within the reissue budget and the ACME
 *    budgets.
 *  - failover: when a fallback is configured and healthy and the primary will not recover in
 *    time; restore when the primary has been healthy long enough.
 * Reentrant, no allocation.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "scoring.h"
#include "forecast.h"

/* What pol_decide() needs from the evaluation. */
struct pol_context {
	const struct sc_input *pc_in;       /* borrowed: the evaluation input */
	const struct sc_config *pc_cfg;     /* borrowed: the resolved config */
	const struct fc_params *pc_params;  /* borrowed: forecast parameters of the current state */
	double pc_risk;                     /* risk of the current schedule */
	int64_t pc_renewal_time;            /* cert-manager's renewal time now, 0 none */
	int pc_renewal_err;                 /* fc_renewal_time()'s result for the current spec */
	int64_t pc_backoff_until;           /* end of the running backoff, 0 none */
	double pc_p_now_fail;               /* P(an attempt started now fails) */
	double pc_fallback_p;               /* fallback's per-attempt failure probability, <0 unknown */
	double pc_primary_p;                /* while failed over: the primary's, <0 unknown */
	int pc_security;                    /* a security anomaly asks for a new certificate */
};

/*
 * Decides; out is overwritten. Returns SC_OK, or SC_ERR_INVAL when ctx or its borrowed
 * pointers are NULL.
 */
int pol_decide(const struct pol_context *ctx, struct sc_decision *out);

/*
 * Whether cert-manager's webhook would accept spec.renewBefore = rb for certificate c (its
 * spec.duration, default 90d, and its actual lifetime): rb >= 5m, rb < duration, rb < lifetime,
 * renewBeforePercentage not set. Returns SC_OK or SC_ERR_RANGE with the rule in why.
 */
int pol_validate_renew_before(int64_t rb, const struct sc_cert *c, char *why, size_t whylen);

/*
 * A number in [0,1) derived only from seed and the strings (any may be NULL): the same
 * inputs always give the same number (FNV-1a then a 64-bit finaliser).
 */
double pol_unit_hash(uint64_t seed, const char *a, const char *b, const char *c);

/*
 * The jitter added to a recommended renewBefore rb: pol_unit_hash(seed, issuer, namespace,
 * name) * min(cf_jitter_frac * rb, cf_jitter_max), in whole seconds.
 */
int64_t pol_jitter(const struct sc_config *cfg, const struct sc_cert *c, int64_t rb);

/* The domain's limits of b, Let's Encrypt's (50 new, 5 duplicates per window) where b leaves 0. */
void pol_budget_limits(const struct sc_budget *b, uint32_t *new_limit, uint32_t *dup_limit);

/*
 * Whether b's books explain a refusal by the CA (b->bd_at_failure): 1 when, in the window that
 * ended at the refusal, the registered domain's count had reached its limit and the order was
 * for a new set (a renewal is exempt from that limit), or the exact set's count had reached its
 * own; 0 when they had not (the CA counted issuances the books do not hold); -1 when b says
 * nothing about the refusal (not valid, or no counts at the failure).
 */
int pol_budget_refusal_explained(const struct sc_budget *b);

/*
 * Whether the ACME budget b leaves room for one more issuance now, keeping `reserve` back.
 * ari_exempt: an ARI renewal carrying `replaces`, exempt from Let's Encrypt's limits.
 * A renewal (bd_renewal) is held only to the exact-set limit.
 * Returns 1 (allowed) or 0 with the reason in why.
 */
int pol_budget_allows(const struct sc_budget *b, uint32_t reserve, int ari_exempt, char *why,
		      size_t whylen);

/*
 * The risk if spec.renewBefore were rb (keeping everything else): cert-manager's renewal time
 * with rb (windows applied) and the running backoff decide the first attempt.
 */
double pol_risk_with_renew_before(const struct pol_context *ctx, int64_t rb);

#endif
