/*
 * sim_cc: the certcast controller inside the simulator.
 *
 * It rebuilds, from what a controller can observe (se_view, the reason and message of each
 * finished CertificateRequest, issued certificates per registered domain, ARI windows), the
 * inputs of sc_evaluate, calls it when a controller would reconcile, and in enforce mode applies
 * the decision through the engine: renewBefore changes and restores, Issuing=True, failover and
 * restore of the issuer. In observe mode it only reports risk levels (for alert precision and
 * recall). It trains the learned per-attempt model (learn.h) on every outcome.
 *
 * Evaluation schedule: after each outcome of the certificate, when its ARI window changes, and
 * periodically: hourly while the certificate needs attention (failures, an attempt due, risk at
 * medium or above, an open ARI window), every eval interval near its renewal time, and less often
 * while it is healthy and far from renewal.
 *
 * Owned by the policy (sim_policy); single-threaded like the engine.
 */
#ifndef SIM_CC_H
#define SIM_CC_H

#include "sim_engine.h"

#include <stdint.h>

struct scc_state;

/* New state for engine e (borrowed). enforce == 0: observe only. */
struct scc_state *scc_new(struct se_engine *e, int enforce);
void scc_free(struct scc_state *st);

void scc_on_issued(struct scc_state *st, uint32_t c);
/* Forecast P(the attempt starting now for c fails), from sc_evaluate. */
double scc_attempt_forecast(struct scc_state *st, uint32_t c);
void scc_on_outcome(struct scc_state *st, uint32_t c, int issuer, int failed);
void scc_on_ari_change(struct scc_state *st, uint32_t c);
void scc_on_eval(struct scc_state *st, uint32_t c);
void scc_on_timer(struct scc_state *st, uint32_t id);

/* The learned model's prequential Brier score and sample count; returns 1. */
int scc_model_calibration(const struct scc_state *st, double *brier, double *n);

#endif
