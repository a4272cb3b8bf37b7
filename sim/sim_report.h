/*
 * sim_report: the JSON summary of a simulation.
 *
 * Layout (documented field by field in sim/README.md):
 *   {"scenario", "seed", "certificates", "horizon_hours",
 *    "policies": {"<policy>": {expired_hours, expired_hours_by_class{6d..398d},
 *                  expired_hours_by_group{...}, expired_certificates, issuances, attempts,
 *                  failed_attempts, failures_by_class{...}, rate_limit_hits, events,
 *                  brier, forecast_attempts, model_brier, actions{...} (certcast only)}},
 *    "alerts": {...}  (the forecaster in observe mode on the cert-manager run),
 *    "checks": [{"expect", "line", "ok", "lhs", "rhs", "why"}], "checks_passed", "checks_failed"}
 * Numbers are rounded to a millionth so the output is stable across compilers.
 * Builders return new cJSON trees the caller deletes with cJSON_Delete (exactly once).
 */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include "sim_engine.h"
#include "sim_scenario.h"

#include <cjson/cJSON.h>

/* A new summary with the scenario's header fields and an empty "policies" object. */
cJSON *sr_new(const struct scn_scenario *s);

/* Add one policy's totals (m borrowed). model_brier/model_n < 0 when there is no learned
 * model. */
void sr_add_policy(cJSON *root, const struct scn_scenario *s, enum scn_policy pol,
    const struct se_metrics *m, double model_brier, double model_n);

/* Add the "alerts" section from a run whose forecaster reported risk levels. */
void sr_add_alerts(cJSON *root, const struct scn_scenario *s, enum scn_policy pol,
    const struct se_metrics *m);

/* Evaluate the scenario's expectations against root and add "checks". Returns the number that
 * failed. */
int sr_add_checks(cJSON *root, const struct scn_scenario *s);

/* Median of v[0..n) (v is reordered); NAN when n == 0. */
double sr_median(double *v, size_t n);

#endif
