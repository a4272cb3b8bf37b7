/*
 * scoring: the small shared parts of the umbrella API (names, errors, configuration, the issuer
 * estimate entry point). sc_evaluate() lives in evaluate.c.
 */
#include "scoring.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "failclass.h"
#include "issuer_health.h"
#include "stuck.h"

const char *
sc_strerror(int err)
{
	switch (err) {
	case SC_OK:
		return "ok";
	case SC_ERR_INVAL:
		return "invalid argument";
	case SC_ERR_PARSE:
		return "malformed input";
	case SC_ERR_RANGE:
		return "value out of range";
	case SC_ERR_NOSPACE:
		return "buffer too small";
	case SC_ERR_DISABLED:
		return "renewal disabled by spec.renewal.policy";
	case SC_ERR_NOWINDOW:
		return "no renewal window fits the certificate's validity";
	}
	return "unknown scoring error";
}

const char *
sc_class_name(enum sc_class c)
{
	static const char *const names[SC_CLASS_COUNT] = {
		[SC_CLASS_OK] = "ok",
		[SC_CLASS_CONFIG] = "configuration",
		[SC_CLASS_RATE_LIMIT] = "rate-limit",
		[SC_CLASS_DNS] = "dns",
		[SC_CLASS_CA_UNAVAILABLE] = "ca-unavailable",
		[SC_CLASS_TRANSIENT] = "transient",
		[SC_CLASS_UNKNOWN] = "unknown",
	};
	if ((int)c < 0 || c >= SC_CLASS_COUNT)
		return "unknown";
	return names[c];
}

const char *
sc_level_name(enum sc_level l)
{
	switch (l) {
	case SC_LEVEL_LOW:
		return "low";
	case SC_LEVEL_MEDIUM:
		return "medium";
	case SC_LEVEL_HIGH:
		return "high";
	case SC_LEVEL_CRITICAL:
		return "critical";
	}
	return "low";
}

void
sc_config_default(struct sc_config *cfg)
{
	if (cfg == NULL)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->cf_target_risk = 0.01;
	cfg->cf_level_medium = 0.01;
	cfg->cf_level_high = 0.50;
	cfg->cf_level_critical = 0.90;
	cfg->cf_min_renew_before = 5 * 60;
	cfg->cf_max_renew_before = 0;
	cfg->cf_hysteresis = 0.25;
	cfg->cf_min_change_interval = 6 * 3600;
	cfg->cf_jitter_seed = 0x63657274636173ULL; /* "certcas" */
	cfg->cf_jitter_frac = 0.05;
	cfg->cf_jitter_max = 6 * 3600;
	cfg->cf_mode = SC_MODE_OBSERVE;
	cfg->cf_attempt_duration = 300;
	cfg->cf_history_halflife = 3 * 86400;
	cfg->cf_prior_fail = 0.05;
	cfg->cf_prior_strength = 10.0;
	cfg->cf_corr_strength = 30.0;
	cfg->cf_reissue_max_fail = 0.2;
	cfg->cf_reissue_min_interval = 3600;
	cfg->cf_fallback_max_fail = 0.3;
	cfg->cf_failover_restore_after = 24 * 3600;
	cfg->cf_budget_reserve = 1;
	cfg->cf_ari_replaces = 0;
}

static int
sc_prob_ok(double p)
{
	return p > 0.0 && p < 1.0;
}

int
sc_config_check(const struct sc_config *cfg, char *err, size_t errlen)
{
	const char *bad = NULL;
	if (cfg == NULL)
		bad = "config missing";
	else if (!sc_prob_ok(cfg->cf_target_risk))
		bad = "target risk must be in (0,1)";
	else if (!sc_prob_ok(cfg->cf_level_medium) || !sc_prob_ok(cfg->cf_level_high) ||
		 !sc_prob_ok(cfg->cf_level_critical))
		bad = "level thresholds must be in (0,1)";
	else if (!(cfg->cf_level_medium <= cfg->cf_level_high &&
		   cfg->cf_level_high <= cfg->cf_level_critical))
		bad = "level thresholds must be ordered medium <= high <= critical";
	else if (cfg->cf_min_renew_before < 0 || cfg->cf_max_renew_before < 0)
		bad = "renewBefore bounds must not be negative";
	else if (cfg->cf_max_renew_before > 0 && cfg->cf_max_renew_before < cfg->cf_min_renew_before)
		bad = "max renewBefore is below min renewBefore";
	else if (!(cfg->cf_hysteresis >= 0.0 && cfg->cf_hysteresis < 1.0))
		bad = "hysteresis must be in [0,1)";
	else if (!(cfg->cf_jitter_frac >= 0.0 && cfg->cf_jitter_frac <= 1.0) || cfg->cf_jitter_max < 0)
		bad = "jitter must be a share in [0,1] and a non-negative maximum";
	else if (cfg->cf_attempt_duration < 0 || cfg->cf_history_halflife < 0 ||
		 cfg->cf_min_change_interval < 0 || cfg->cf_reissue_min_interval < 0 ||
		 cfg->cf_failover_restore_after < 0)
		bad = "durations must not be negative";
	else if (!sc_prob_ok(cfg->cf_prior_fail) || !(cfg->cf_prior_strength > 0.0))
		bad = "prior must be a probability in (0,1) with a positive strength";
	else if (!(cfg->cf_corr_strength >= 0.0))
		bad = "correlation strength must not be negative";
	else if (!(cfg->cf_reissue_max_fail >= 0.0 && cfg->cf_reissue_max_fail <= 1.0) ||
		 !(cfg->cf_fallback_max_fail >= 0.0 && cfg->cf_fallback_max_fail <= 1.0))
		bad = "reissue and fallback thresholds must be in [0,1]";
	if (bad == NULL)
		return SC_OK;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", bad);
	return SC_ERR_RANGE;
}

void
sc_issuer_estimate(const struct sc_issuer *issuer, const struct sc_config *cfg, int64_t now,
		   struct sc_issuer_estimate *out)
{
	struct sc_config def;
	if (out == NULL)
		return;
	if (cfg == NULL) {
		sc_config_default(&def);
		cfg = &def;
	}
	ih_posterior(issuer != NULL ? issuer->is_history : NULL,
		     issuer != NULL ? issuer->is_nhistory : 0, cfg->cf_prior_fail,
		     cfg->cf_prior_strength, now, cfg->cf_history_halflife, out);
	ih_interval(out);
	out->ie_latency = issuer != NULL ? sk_latency(issuer->is_history, issuer->is_nhistory, NULL,
						      0, now, NULL)
					 : 0;
	out->ie_ready_class = SC_CLASS_OK;
	if (issuer != NULL && issuer->is_ready.cd_status == SC_FALSE) {
		struct fcl_result fr;
		fcl_classify(issuer->is_ready.cd_reason, issuer->is_ready.cd_message, &fr);
		out->ie_not_ready = 1;
		/* an issuer that is not Ready is broken in some way even if the words are new */
		out->ie_ready_class = fr.cl_class == SC_CLASS_OK ? SC_CLASS_UNKNOWN : fr.cl_class;
	}
}
