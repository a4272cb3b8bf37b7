/*
 * sim_policy: the policies the simulator compares, as callbacks from the engine.
 *
 *   cert-manager  cert-manager's own schedule; with observe set, the certcast forecaster runs
 *                 alongside and only reports risk levels (for alert precision and recall).
 *   fixed-30d     renewBefore 30d on every certificate, clamped to cert-manager's rules.
 *   ari-only      cert-manager with ARI: renew at a random time inside the CA's suggested window
 *                 when that comes before the renewal time.
 *   certcast      cert-manager steered by the scoring library (sc_evaluate): renewBefore changes,
 *                 reissue now, failover to the fallback issuer, built only from what a controller
 *                 observes (se_view and the outcomes of CertificateRequests).
 *
 * The engine owns the policy and calls the hooks from its single thread.
 */
#ifndef SIM_POLICY_H
#define SIM_POLICY_H

#include "sim_engine.h"

#include <stdint.h>

struct sp_policy;

/* A policy of kind for engine e (borrowed; the engine frees the policy before itself). */
struct sp_policy *sp_new(struct se_engine *e, enum scn_policy kind, int observe);
void sp_free(struct sp_policy *p);

/* Certificate c holds a new certificate (including the fleet's initial ones at the start). */
void sp_on_issued(struct sp_policy *p, uint32_t c);

/* An attempt for c starts now; returns the policy's forecast probability that it fails, or a
 * negative value when the policy makes no forecast. */
double sp_on_attempt_start(struct sp_policy *p, uint32_t c);

/* The attempt for c finished; failed says how, and se_observe shows the request's reason and
 * message. issuer is the issuer it was sent to. */
void sp_on_attempt_done(struct sp_policy *p, uint32_t c, int issuer, int failed);

/* The CA changed the ARI window of c's certificate (e.g. a revocation). */
void sp_on_ari_change(struct sp_policy *p, uint32_t c);

/* A scheduled evaluation of c (se_schedule_eval) is due. */
void sp_on_eval(struct sp_policy *p, uint32_t c);

/* A policy-wide timer (se_schedule_timer) is due. */
void sp_on_timer(struct sp_policy *p, uint32_t id);

/* Calibration of the learned per-attempt model, when the policy has one: sets *brier and *n and
 * returns 1, else returns 0. */
int sp_model_calibration(const struct sp_policy *p, double *brier, double *n);

#endif
