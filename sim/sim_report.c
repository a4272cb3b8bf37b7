/* sim_report: turn engine totals into the JSON summary and evaluate expectations on it. */
#include "sim_report.h"

#include "cc_err.h"
#include "sim_check.h"

#include <math.h>
#include <stdlib.h>

static double
sr_round(double x)
{
	return round(x * 1e6) / 1e6;
}

static void
sr_num(cJSON *o, const char *k, double x)
{
	if (isfinite(x))
		cJSON_AddNumberToObject(o, k, sr_round(x));
	else
		cJSON_AddNullToObject(o, k);
}

static int
sr_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double
sr_median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), sr_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

cJSON *
sr_new(const struct scn_scenario *s)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "scenario", s->s_name);
	sr_num(root, "seed", (double)s->s_seed);
	sr_num(root, "certificates", (double)s->s_ncerts);
	sr_num(root, "horizon_hours", (double)s->s_duration / 3600.0);
	cJSON_AddObjectToObject(root, "policies");
	return root;
}

void
sr_add_policy(cJSON *root, const struct scn_scenario *s, enum scn_policy pol,
    const struct se_metrics *m, double model_brier, double model_n)
{
	cJSON *p = cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(root, "policies"),
	    scn_policy_name(pol));
	sr_num(p, "expired_hours", m->m_expired_s / 3600.0);
	cJSON *by = cJSON_AddObjectToObject(p, "expired_hours_by_class");
	for (int k = 0; k < SE_NLCLASS; k++)
		if (m->m_class_certs[k])
			sr_num(by, se_lclass_name((enum se_lclass)k), m->m_expired_class_s[k] / 3600.0);
	by = cJSON_AddObjectToObject(p, "expired_hours_by_group");
	for (size_t g = 0; g < s->s_ngroups; g++)
		sr_num(by, s->s_groups[g].g_name, m->m_expired_group_s[g] / 3600.0);
	sr_num(p, "expired_certificates", (double)m->m_expired_certs);
	sr_num(p, "issuances", (double)m->m_issuances);
	sr_num(p, "early_issuances", m->m_early);
	sr_num(p, "issuance_overhead", (double)m->m_issuances > m->m_early
	    ? m->m_early / ((double)m->m_issuances - m->m_early) : (m->m_early > 0 ? NAN : 0.0));
	sr_num(p, "renew_before_patches", (double)m->m_rb_patches);
	sr_num(p, "renew_before_patches_max", (double)m->m_rb_patches_max);
	sr_num(p, "attempts", (double)m->m_attempts);
	sr_num(p, "failed_attempts", (double)m->m_failed);
	by = cJSON_AddObjectToObject(p, "failures_by_class");
	for (int o = 1; o < SF_NOUTCOMES; o++)
		sr_num(by, sf_outcome_name((enum sf_outcome)o), (double)m->m_outcomes[o]);
	sr_num(p, "rate_limit_hits", (double)m->m_outcomes[SF_RATE_LIMIT]);
	for (size_t i = 0; i < s->s_nfaults; i++)
		if (s->s_faults[i].f_kind == SCN_F_EXTERNAL) { /* only where there are any */
			sr_num(p, "external_issuances", (double)m->m_external);
			sr_num(p, "external_refused", (double)m->m_external_refused);
			break;
		}
	sr_num(p, "events", (double)m->m_events);
	sr_num(p, "brier", m->m_brier_n ? m->m_brier_sum / (double)m->m_brier_n : NAN);
	sr_num(p, "forecast_attempts", (double)m->m_brier_n);
	sr_num(p, "model_brier", model_n > 0 ? model_brier : NAN);
	if (pol == SCN_POL_CERTCAST) {
		by = cJSON_AddObjectToObject(p, "actions");
		for (int a = 0; a < SE_NACTIONS; a++)
			sr_num(by, se_action_name((enum se_action)a), (double)m->m_actions[a]);
	}
}

void
sr_add_alerts(cJSON *root, const struct scn_scenario *s, enum scn_policy pol,
    const struct se_metrics *m)
{
	cJSON *a = cJSON_AddObjectToObject(root, "alerts");
	cJSON_AddStringToObject(a, "policy", scn_policy_name(pol));
	cJSON_AddStringToObject(a, "mode", pol == SCN_POL_CERTCAST ? "enforce" : "observe");
	sr_num(a, "horizon_hours", (double)s->s_alert_horizon / 3600.0);
	sr_num(a, "judged", (double)m->m_judged);
	sr_num(a, "alerts", (double)m->m_alerts);
	sr_num(a, "tp", (double)m->m_alert_tp);
	sr_num(a, "fp", (double)m->m_alert_fp);
	sr_num(a, "positives", (double)m->m_positives);
	sr_num(a, "recalled", (double)m->m_recalled);
	sr_num(a, "precision", m->m_alerts ? (double)m->m_alert_tp / (double)m->m_alerts : NAN);
	sr_num(a, "recall", m->m_positives ? (double)m->m_recalled / (double)m->m_positives : NAN);
	double *leads = NULL;
	double med = NAN;
	if (m->m_nleads) {
		leads = malloc(m->m_nleads * sizeof(*leads));
		if (leads) {
			for (size_t i = 0; i < m->m_nleads; i++)
				leads[i] = m->m_leads[i];
			med = sr_median(leads, m->m_nleads) / 3600.0;
		}
	}
	sr_num(a, "median_lead_hours", med);
	free(leads);
	cJSON *curve = cJSON_AddArrayToObject(a, "curve");
	for (int i = 0; i < SE_NCURVE; i++) {
		const struct se_curve_point *cp = &m->m_curve[i];
		cJSON *o = cJSON_CreateObject();
		sr_num(o, "risk_at_least", se_curve_risk[i]);
		sr_num(o, "alerts", (double)cp->cp_alerts);
		sr_num(o, "tp", (double)cp->cp_tp);
		sr_num(o, "recalled", (double)cp->cp_recalled);
		sr_num(o, "precision", cp->cp_alerts ? (double)cp->cp_tp / (double)cp->cp_alerts : NAN);
		sr_num(o, "recall", m->m_positives ? (double)cp->cp_recalled / (double)m->m_positives : NAN);
		cJSON_AddItemToArray(curve, o);
	}
	cJSON *cal = cJSON_AddObjectToObject(a, "horizon_calibration");
	uint64_t nf = 0;
	for (int i = 0; i < SE_NREL; i++)
		nf += m->m_rel[i].rb_n;
	sr_num(cal, "forecasts", (double)nf);
	sr_num(cal, "unforecast", (double)m->m_rel_unforecast);
	sr_num(cal, "brier", nf ? m->m_rel_brier_sum / (double)nf : NAN);
	cJSON *bins = cJSON_AddArrayToObject(cal, "bins");
	for (int i = 0; i < SE_NREL; i++) {
		const struct se_rel_bin *rb = &m->m_rel[i];
		if (rb->rb_n == 0)
			continue;
		cJSON *o = cJSON_CreateObject();
		sr_num(o, "risk_from", (double)i / SE_NREL);
		sr_num(o, "risk_to", (double)(i + 1) / SE_NREL);
		sr_num(o, "n", (double)rb->rb_n);
		sr_num(o, "mean_risk", rb->rb_sum_risk / (double)rb->rb_n);
		sr_num(o, "expired", (double)rb->rb_positive);
		cJSON_AddItemToArray(bins, o);
	}
	cJSON *by = cJSON_AddObjectToObject(a, "by_group");
	for (size_t g = 0; g < s->s_ngroups; g++) {
		const struct se_group_alerts *ga = &m->m_alerts_group[g];
		cJSON *o = cJSON_AddObjectToObject(by, s->s_groups[g].g_name);
		sr_num(o, "alerts", (double)ga->ga_alerts);
		sr_num(o, "tp", (double)ga->ga_tp);
		sr_num(o, "fp", (double)(ga->ga_alerts - ga->ga_tp));
		sr_num(o, "positives", (double)ga->ga_positives);
		sr_num(o, "recalled", (double)ga->ga_recalled);
	}
}

int
sr_add_checks(cJSON *root, const struct scn_scenario *s)
{
	cJSON *arr = cJSON_AddArrayToObject(root, "checks");
	int failed = 0;
	for (size_t i = 0; i < s->s_nexpects; i++) {
		const struct scn_expect *x = &s->s_expects[i];
		char why[256] = "";
		double lhs, rhs;
		int ok = 0;
		cJSON *c = cJSON_CreateObject();
		int rc = sck_eval(x->x_text, root, &ok, &lhs, &rhs, why, sizeof(why));
		cJSON_AddStringToObject(c, "expect", x->x_text);
		sr_num(c, "line", (double)x->x_line);
		cJSON_AddBoolToObject(c, "ok", rc == CC_OK && ok);
		sr_num(c, "lhs", lhs);
		sr_num(c, "rhs", rhs);
		if (why[0])
			cJSON_AddStringToObject(c, "why", why);
		cJSON_AddItemToArray(arr, c);
		failed += !(rc == CC_OK && ok);
	}
	sr_num(root, "checks_passed", (double)s->s_nexpects - failed);
	sr_num(root, "checks_failed", (double)failed);
	return failed;
}
