/*
 * sim_engine: discrete-event emulation of cert-manager for a fleet of certificates.
 *
 * One engine runs one policy over one scenario. It keeps each certificate's spec and status as
 * cert-manager would (notBefore/notAfter, renewBefore, failedIssuanceAttempts, lastFailureTime,
 * issuerRef), schedules issuance attempts at cert-manager's renewal time or at the end of its
 * backoff (both computed by the scoring library's fc_renewal_time / fc_backoff_delay, the one
 * implementation of that schedule), asks the fault plan for each attempt's outcome, enforces the
 * CA's rate-limit budgets, and accrues expired certificate-hours. The policy under test (sim_policy)
 * is called back at the points a controller would notice something and steers the certificate
 * only through the action functions below, which follow cert-manager's rules (renewBefore
 * validation, Issuing=True bypassing backoff, issuerRef changes).
 *
 * What a policy may read is limited to struct se_view: the fault plan's hidden state (outage
 * windows, misconfiguration, draws) is never exposed to it.
 *
 * Time is simulated unix seconds. Not thread-safe per engine; separate engines are independent.
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include "sim_fault.h"
#include "sim_scenario.h"

#include <stddef.h>
#include <stdint.h>

/* Lifetime classes of the report: upper bounds 7d, 47d, 100d, 200d, above. */
enum se_lclass { SE_L6D = 0, SE_L47D, SE_L100D, SE_L200D, SE_L398D, SE_NLCLASS };

/* Actions a policy took, counted per kind. */
enum se_action {
	SE_ACT_RENEW_BEFORE = 0, /* spec.renewBefore changed */
	SE_ACT_RESTORE = 1,      /* spec.renewBefore restored to the user's value */
	SE_ACT_REISSUE = 2,      /* Issuing=True set */
	SE_ACT_FAILOVER = 3,     /* issuerRef switched to the fallback */
	SE_ACT_ISSUER_BACK = 4,  /* issuerRef restored to the primary */
	SE_NACTIONS = 5,
};

/* Risk levels as the forecaster reports them (same order as the scoring library's). */
enum se_level { SE_LOW = 0, SE_MEDIUM = 1, SE_HIGH = 2, SE_CRITICAL = 3 };

/* Everything a controller could observe about one certificate. */
struct se_view {
	uint32_t v_group;           /* group index: namespace and names come from the scenario */
	int v_issuer;               /* spec.issuerRef now (issuer index) */
	int v_primary;              /* the user's issuer */
	int v_fallback;             /* certcast.io/fallback-issuer, or -1 */
	int64_t v_not_before;       /* status.notBefore of the current certificate */
	int64_t v_not_after;        /* status.notAfter as issued */
	int64_t v_lifetime;         /* spec.duration */
	int64_t v_renew_before;     /* spec.renewBefore, 0 when unset */
	int64_t v_user_renew_before;/* the user's value, 0 when unset */
	int v_pct;                  /* spec.renewBeforePercentage, 0 when unset */
	int64_t v_renewal_time;     /* status.renewalTime as cert-manager computes it */
	uint32_t v_failed;          /* status.failedIssuanceAttempts */
	int64_t v_last_failure;     /* status.lastFailureTime, 0 when none */
	int v_issuing;              /* Issuing=True: an attempt is in flight */
	const char *v_pending_reason; /* while it hangs: its Challenge's self-check reason, else
				       NULL */
	const char *v_last_reason;  /* reason of the last CertificateRequest, NULL before any */
	const char *v_last_message; /* its message, NULL before any */
	int64_t v_ari_lo;           /* ARI suggested window of the current certificate, */
	int64_t v_ari_hi;           /*   both 0 when the CA publishes none */
	const char *v_ari_url;      /* the window's explanationURL, NULL when none */
	uint32_t v_domain;          /* registered-domain index (for budgets) */
	uint32_t v_names_ver;       /* the spec's exact set of names, as a version number */
	int v_names_differ;         /* the current certificate's names are not the spec's */
	int v_names_new;            /* the spec's set was never issued on spec.issuerRef: the next
				       order is a new certificate, not a renewal, for the CA */
};

/*
 * Risk thresholds of the precision-recall curve (sim/README.md): alerts judged as if the alert
 * fired at the first forecast with risk >= each of these instead of at level high.
 */
#define SE_NCURVE 7
extern const double se_curve_risk[SE_NCURVE];

/* Alert judgement at one threshold of the curve. */
struct se_curve_point {
	uint64_t cp_alerts;   /* judged instances whose risk reached the threshold while valid */
	uint64_t cp_tp;       /* ... whose instance then expired */
	uint64_t cp_recalled; /* positives that reached it at least the horizon ahead */
};

/*
 * Calibration of the forecast made the horizon ahead: each judged instance's last risk at or
 * before notAfter - H (H as for recall), binned by that risk, against whether it expired.
 */
#define SE_NREL 10
struct se_rel_bin {
	uint64_t rb_n;        /* judged instances forecast in this bin */
	double rb_sum_risk;   /* sum of their forecasts */
	uint64_t rb_positive; /* ... of them that expired */
};

/* Alert judgement of one group (the same counts as the run's, split by group). */
struct se_group_alerts {
	uint64_t ga_alerts;    /* judged instances with an alert */
	uint64_t ga_tp;        /* ... whose instance then expired */
	uint64_t ga_positives; /* judged instances that expired unrenewed */
	uint64_t ga_recalled;  /* positives alerted at least the horizon ahead */
};

/* Totals of one run; seconds are simulated seconds. */
struct se_metrics {
	double m_expired_s;                  /* expired certificate-seconds */
	double m_expired_class_s[SE_NLCLASS];/* the same per lifetime class */
	double *m_expired_group_s;           /* owned, per group */
	uint64_t m_expired_certs;            /* certificate instances that expired */
	uint64_t m_class_certs[SE_NLCLASS];  /* certificates per lifetime class */
	uint64_t m_issuances;                /* successful attempts */
	uint64_t m_attempts;                 /* attempts started */
	uint64_t m_failed;                   /* failed attempts */
	uint64_t m_outcomes[SF_NOUTCOMES];   /* attempts per outcome */
	uint64_t m_events;                   /* events processed */
	uint64_t m_actions[SE_NACTIONS];     /* policy actions */
	double m_brier_sum;                  /* sum of (p - y)^2 over forecast attempts */
	uint64_t m_brier_n;                  /* attempts with a forecast */
	uint64_t m_alerts;                   /* judged instances with an alert */
	uint64_t m_alert_tp;                 /* ... whose instance then expired */
	uint64_t m_alert_fp;                 /* ... whose instance was renewed in time */
	uint64_t m_positives;                /* judged instances that expired unrenewed */
	uint64_t m_recalled;                 /* positives alerted at least the horizon ahead */
	uint64_t m_judged;                   /* instances whose outcome is known */
	struct se_group_alerts *m_alerts_group; /* owned, per group */
	struct se_curve_point m_curve[SE_NCURVE]; /* precision-recall curve over risk thresholds */
	struct se_rel_bin m_rel[SE_NREL];    /* the horizon-ahead forecast's reliability */
	double m_rel_brier_sum;              /* sum of (risk - outcome)^2 over those forecasts */
	uint64_t m_rel_unforecast;           /* judged instances with no forecast by then */
	double *m_leads;                     /* owned: lead seconds of true alerts */
	size_t m_nleads;                     /* count of m_leads */
	size_t m_leads_cap;                  /* slots of m_leads */
	double m_cert_days;                  /* certificate-days simulated */
	double m_early;                      /* issuances spent renewing before necessary */
	uint64_t m_rb_patches;               /* spec.renewBefore changes (set or restore) */
	uint32_t m_rb_patches_max;           /* most changes within one certificate instance */
	int m_forecasts;                     /* the policy reported risk levels */
	uint64_t m_external;                 /* other accounts' new certificates the CA issued
						(external-issuance faults) */
	uint64_t m_external_refused;         /* ... and their orders it refused, the domain's
						window being full */
};

struct se_engine;
struct sp_policy;

/*
 * Build an engine for scenario s and fault plan plan (both borrowed, must outlive the engine)
 * running policy pol. observe asks the cert-manager policy to run the certcast forecaster
 * without acting (for alert precision and recall); other policies ignore it. Returns CC_OK.
 */
int se_new(const struct scn_scenario *s, const struct sf_plan *plan, enum scn_policy pol,
    int observe, struct se_engine **out);

/* Process every event before t (t at most the end of the horizon), then stop with now = t.
 * Lets tests act between events. Returns CC_OK, or CC_ERR_STATE after se_run. */
int se_run_until(struct se_engine *e, int64_t t);

/* Run to the end of the horizon and close the books (expired time of certificates still
 * unrenewed, alert judgements). Returns CC_OK; a second call is CC_ERR_STATE. */
int se_run(struct se_engine *e);

/* One attempt as a test or a trace sees it. */
struct se_trace {
	int64_t tr_time;        /* when it started or finished */
	uint32_t tr_cert;       /* certificate index */
	int tr_done;            /* 0: started, 1: finished */
	enum sf_outcome tr_outcome; /* outcome (when finished) */
	int tr_issuer;          /* issuer it went to */
	uint32_t tr_failed;     /* failedIssuanceAttempts after it (when finished) */
};

/* Call fn(arg, rec) at every attempt start and finish; fn NULL turns it off. */
void se_set_trace(struct se_engine *e, void (*fn)(void *arg, const struct se_trace *rec),
    void *arg);

/* The run's totals, borrowed until se_free. Complete only after se_run. */
const struct se_metrics *se_metrics(const struct se_engine *e);

/*
 * Count one judged instance in the horizon calibration: its forecast made the horizon ahead
 * (risk < 0 or NaN: none was made by then), and whether it expired.
 */
void se_rel_add(struct se_metrics *m, double risk, int positive);

/* The policy's learned-model calibration (prequential Brier and count); returns 0 when the
 * policy has no model. */
int se_model_calibration(const struct se_engine *e, double *brier, double *n);

void se_free(struct se_engine *e);

/* --- for policies (sim_policy) --- */

/* Simulated now, and the scenario, borrowed. */
int64_t se_now(const struct se_engine *e);
const struct scn_scenario *se_scenario(const struct se_engine *e);
uint32_t se_ncerts(const struct se_engine *e);

/* Fill *v with what a controller sees of certificate c. */
void se_observe(const struct se_engine *e, uint32_t c, struct se_view *v);

/* Set spec.renewBefore (0 = unset it). CC_ERR_INVAL when cert-manager would reject it (below 5m,
 * at or above the lifetime) or when renewBeforePercentage is set. */
int se_set_renew_before(struct se_engine *e, uint32_t c, int64_t rb);

/* Set Issuing=True: an attempt starts now, bypassing the backoff. CC_ERR_STATE when one is
 * already in flight. */
int se_trigger_issuing(struct se_engine *e, uint32_t c);

/* Point spec.issuerRef at issuer (an index). Takes effect at the next attempt; a request hanging
 * on a stuck challenge is replaced at once, as cert-manager replaces a request that no longer
 * matches the spec. */
int se_set_issuer(struct se_engine *e, uint32_t c, int issuer);

/* For ARI-aware cert-manager (ari-only): renew at t if that is before the renewal time.
 * INT64_MAX clears it. */
void se_set_ari_time(struct se_engine *e, uint32_t c, int64_t t);

/* Ask for sp_on_eval(c) at t; replaces the certificate's previous request. */
void se_schedule_eval(struct se_engine *e, uint32_t c, int64_t t);

/* Ask for sp_on_timer(id) at t (policy-wide timers, e.g. issuer sweeps). */
void se_schedule_timer(struct se_engine *e, int64_t t, uint32_t id);

/* Report the forecaster's risk level for c now; the first HIGH or above per certificate
 * instance is its alert. */
void se_note_risk(struct se_engine *e, uint32_t c, enum se_level level, double risk);

/* Lifetime class of a lifetime in seconds, and its name ("6d", "47d", ...). */
enum se_lclass se_lclass_of(int64_t lifetime);
const char *se_lclass_name(enum se_lclass k);
const char *se_action_name(enum se_action a);

#endif
