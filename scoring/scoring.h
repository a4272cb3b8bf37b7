/*
 * scoring: the pure risk library of certcast (umbrella header).
 *
 * Plain structs go in, plain structs with an explanation come out. Nothing here reads a clock
 * (`now` is always a parameter), does I/O, keeps globals, logs or starts threads, so every
 * decision can be replayed as a table of named cases. All times are Unix seconds (UTC) in
 * int64_t; a time of 0 means "none". All durations are seconds.
 *
 * Ownership: every pointer inside an input struct is borrowed for the duration of the call and
 * may be NULL where the comment says so. Results are fixed-size values filled by the callee;
 * nothing returned needs freeing and nothing in the library allocates, so a result can be
 * reused across calls and copied with memcpy.
 *
 * Errors: functions that can fail return SC_OK (0) or a negative enum sc_err; detail goes into
 * the result's factors or an err buffer given by the caller.
 *
 * Thread-safety: every function is reentrant; distinct calls share nothing.
 *
 * Module headers, each with its own prefix: forecast.h (fc_: cert-manager's schedule and the
 * risk over it), failclass.h (fcl_: failure classes), issuer_health.h (ih_: Bayesian issuer
 * estimate), policy.h (pol_: decisions), explain.h (ex_: text). They are included at the end.
 * budgetq.h (bq_: who gets a registered domain's freed ACME slots) is the caller's to run; its
 * answer comes in through struct sc_budget.
 */
#ifndef SCORING_H
#define SCORING_H

#include <stddef.h>
#include <stdint.h>

enum sc_err {
	SC_OK = 0,
	SC_ERR_INVAL = -1,    /* bad argument (NULL where not allowed, impossible times) */
	SC_ERR_PARSE = -2,    /* malformed text input (cron expression, duration) */
	SC_ERR_RANGE = -3,    /* a value outside what cert-manager accepts */
	SC_ERR_NOSPACE = -4,  /* the caller's buffer is too small; output truncated */
	SC_ERR_DISABLED = -5, /* spec.renewal.policy is Disabled: no renewal time */
	SC_ERR_NOWINDOW = -6, /* no renewal window fits between notBefore and notAfter */
};

/* A short constant description of err; never NULL, also for unknown codes. */
const char *sc_strerror(int err);

/* ------------------------------------------------------------------------------------------ */
/* Shared vocabulary                                                                          */

/* Failure classes; the order matches enum lm_class in learn.h. */
enum sc_class {
	SC_CLASS_OK = 0,         /* no failure: the last attempt succeeded or none failed */
	SC_CLASS_CONFIG,         /* configuration error: heals only when someone fixes it */
	SC_CLASS_RATE_LIMIT,     /* CA rate limit: heals when its window refills */
	SC_CLASS_DNS,            /* DNS resolution or propagation, DNS-01 presentation */
	SC_CLASS_CA_UNAVAILABLE, /* CA down, 5xx, connection failures */
	SC_CLASS_TRANSIENT,      /* a one-off that normally clears on retry (bad nonce, timeout) */
	SC_CLASS_UNKNOWN,        /* failed, reason not recognised */
	SC_CLASS_COUNT,
};

/* "ok", "configuration", "rate-limit", "dns", "ca-unavailable", "transient", "unknown". */
const char *sc_class_name(enum sc_class c);

enum sc_level { SC_LEVEL_LOW = 0, SC_LEVEL_MEDIUM = 1, SC_LEVEL_HIGH = 2, SC_LEVEL_CRITICAL = 3 };

/* "low", "medium", "high", "critical". */
const char *sc_level_name(enum sc_level l);

enum sc_mode { SC_MODE_OBSERVE = 0, SC_MODE_ENFORCE = 1, SC_MODE_OFF = 2 };

/* A Kubernetes condition as certcast sees it. */
enum sc_tristate { SC_UNKNOWN = 0, SC_TRUE = 1, SC_FALSE = 2 };

struct sc_condition {
	enum sc_tristate cd_status; /* SC_UNKNOWN also when the condition is absent */
	const char *cd_reason;      /* borrowed, may be NULL */
	const char *cd_message;     /* borrowed, may be NULL */
	int64_t cd_time;            /* lastTransitionTime, 0 when unknown */
};

struct sc_issuer_estimate; /* defined with the outputs below */

/* ------------------------------------------------------------------------------------------ */
/* Inputs                                                                                     */

/* One entry of spec.renewal.windows (cert-manager v1.21). */
struct sc_window {
	const char *rw_cron;  /* borrowed: 5-field cron, e.g. "0 10 * * 1-5" */
	int64_t rw_duration;  /* windowDuration, seconds, > 0 */
	int32_t rw_tz_offset; /* seconds east of UTC of the window's timezone (fixed, no DST) */
};

enum sc_renewal_policy {
	SC_RENEWAL_UNSET = 0,       /* spec.renewal absent: classic behaviour */
	SC_RENEWAL_RENEW_BEFORE = 1, /* policy RenewBefore, optionally with windows */
	SC_RENEWAL_DISABLED = 2,    /* policy Disabled: cert-manager never renews */
};

/* The renewal part of a Certificate spec: everything cert-manager's renewal time depends on. */
struct sc_renew_spec {
	int64_t rs_renew_before;            /* spec.renewBefore when rs_renew_before_set */
	int rs_renew_before_set;            /* spec.renewBefore present */
	int32_t rs_pct;                     /* spec.renewBeforePercentage when rs_pct_set */
	int rs_pct_set;                     /* spec.renewBeforePercentage present */
	int64_t rs_duration;                /* spec.duration, 0 when unset (cert-manager: 90d) */
	enum sc_renewal_policy rs_policy;   /* spec.renewal.policy */
	const struct sc_window *rs_windows; /* borrowed, rs_nwindows entries, may be NULL */
	size_t rs_nwindows;
};

/* A Certificate: spec and status. */
struct sc_cert {
	const char *c_namespace;     /* borrowed; with c_name the key for jitter and text */
	const char *c_name;          /* borrowed */
	const char *c_issuer_kind;   /* borrowed: "Issuer" or "ClusterIssuer" */
	const char *c_issuer_name;   /* borrowed */
	const char *c_domain;        /* borrowed registered domain (for ACME budgets), may be NULL */
	int c_acme;                  /* the issuer is ACME: rate limits apply */
	int64_t c_not_before;        /* status.notBefore, 0 when no certificate was issued yet */
	int64_t c_not_after;         /* status.notAfter, 0 when no certificate was issued yet */
	struct sc_renew_spec c_spec; /* renewal settings */
	int32_t c_failed_attempts;   /* status.failedIssuanceAttempts, 0 when unset */
	int64_t c_last_failure;      /* status.lastFailureTime, 0 when unset */
	int64_t c_status_renewal_time; /* status.renewalTime as cert-manager wrote it, 0 unknown:
					* past it with no attempt means cert-manager is not renewing */
	struct sc_condition c_issuing; /* the Issuing condition */
	struct sc_condition c_ready;   /* the Ready condition */
	int c_spec_mismatch;           /* the issued certificate no longer matches the spec (e.g.
					* its DNS names changed): cert-manager orders at once,
					* whatever the renewal time
					* (CurrentCertificateRequestNotValidForSpec), and skips a
					* failure backoff when the newest request is for the old
					* spec; 0 unknown. In a cluster cert-manager sets
					* Issuing=True within a sync, which the forecast reads. */
};

enum sc_outcome {
	SC_OUT_PENDING = 0, /* not finished */
	SC_OUT_ISSUED = 1,  /* Ready=True, certificate returned */
	SC_OUT_FAILED = 2,  /* Ready=False reason Failed (or InvalidRequest) */
	SC_OUT_DENIED = 3,  /* Denied condition True: an approver said no (configuration) */
};

/* One CertificateRequest, as history. */
struct sc_request {
	int64_t rq_time;             /* creationTimestamp */
	int64_t rq_done;             /* time of the outcome (condition transition), 0 if pending */
	enum sc_outcome rq_outcome;  /* how it ended */
	const char *rq_reason;       /* borrowed Ready reason, may be NULL */
	const char *rq_message;      /* borrowed Ready message, may be NULL */
	int rq_class_known;          /* rq_class is fcl_classify's class of reason and message, set
					by a caller that keeps a history for many estimates (the
					words are then read once, not per estimate); 0: read them */
	enum sc_class rq_class;
};

/* An Event about the certificate or its CertificateRequest, Order or Challenge. */
struct sc_event {
	const char *ev_reason;  /* borrowed, e.g. "Failed", "PresentError" */
	const char *ev_message; /* borrowed */
	int64_t ev_time;        /* lastTimestamp (or eventTime) */
	uint32_t ev_count;      /* count, >= 1 */
	int ev_warning;         /* type Warning */
};

/* An Issuer or ClusterIssuer and the recent outcomes of all its certificates. */
struct sc_issuer {
	const char *is_kind;                 /* borrowed */
	const char *is_name;                 /* borrowed */
	struct sc_condition is_ready;        /* the issuer's Ready condition */
	const struct sc_request *is_history; /* borrowed, recent CRs of all its certificates */
	size_t is_nhistory;
};

/*
 * cert-manager's own metrics and pod state, as rates over a recent window (the controller
 * takes differences of counters between scrapes).
 */
struct sc_signals {
	int sg_valid;            /* 0: no metrics seen, the fields below are ignored */
	double sg_requests;      /* ACME client requests in the window */
	double sg_status_429;    /* ... of which answered 429 */
	double sg_status_5xx;    /* ... of which answered 5xx (or failed to connect) */
	double sg_latency_s;     /* mean ACME request latency, seconds */
	uint32_t sg_restarts_1h; /* cert-manager controller container restarts, last hour */
};

/* An ACME Renewal Information window (RFC 9773) for the current certificate. */
struct sc_ari {
	int ar_valid;        /* 0: no ARI answer */
	int64_t ar_start;    /* suggestedWindow.start */
	int64_t ar_end;      /* suggestedWindow.end */
	const char *ar_url;  /* borrowed explanationURL, may be NULL */
};

/*
 * ACME issuance budget of the certificate's registered domain, as counted by the controller
 * from issued certificates (Let's Encrypt: 50 new certificates per registered domain and 5
 * duplicates of one exact name set per sliding 7 days; ARI renewals with `replaces` exempt).
 */
struct sc_budget {
	int bd_valid;          /* 0: not an ACME issuer or unknown; no budget checks */
	uint32_t bd_new_used;  /* certificates issued for the registered domain in the window */
	uint32_t bd_new_limit; /* 0: use 50 */
	uint32_t bd_dup_used;  /* certificates for this exact set of names in the window */
	uint32_t bd_dup_limit; /* 0: use 5 */
	int64_t bd_window;     /* 0: use 7 days */
	int64_t bd_refill;     /* when the oldest counted issuance leaves the window, 0 unknown */
	int bd_renewal;        /* the certificate's next order asks for an exact set of names
				  the CA issued before: Let's Encrypt counts it a renewal, exempt
				  from the per-registered-domain limit (not from the exact-set
				  one); 0 for a new set or unknown */
	uint32_t bd_bunch;     /* certificates of the registered domain (this one included) whose
				  renewal time under the users' own specs lies within half a
				  window of this one's; 0 unknown */
	/*
	 * The per-domain queue projection (budgetq.h), made by the caller once per domain and
	 * look from every Certificate of the domain on this issuer (next attempt by cert-manager's
	 * backoff, failedIssuanceAttempts, notAfter) and the issuance times counted in the window.
	 * With it a rate-limit fault lasts exactly until this certificate's accepted attempt,
	 * provided the books explain the refusal (bd_at_failure below). controller/budget.c
	 * and the simulator (sim/README.md) fill these.
	 */
	int bd_queue;          /* 1: bd_slot holds a projection; 0: none (the fault's own model) */
	int64_t bd_slot;       /* start of this certificate's first attempt the CA will accept,
				  0: none before its deadline */
	/*
	 * The books when the CA refused the certificate's latest failed order (at its
	 * c_last_failure, or as near as the caller knows it): the same two counts as above, in
	 * the window that ended then, from every issuance the caller has seen by now. A CA such
	 * as Let's Encrypt counts every account's and every cluster's certificates of a domain,
	 * so this cluster's books are only a lower bound of what the CA counted. When they show
	 * the limit reached then (the per-domain one for a new set, or the exact-set one), they
	 * explain the refusal and the queue projection can be trusted to say when it ends; when
	 * they do not, someone else's issuances filled the budget and the projection, built from
	 * the books, cannot shorten the refusal's own model (evaluate.c, ev_budget_queue).
	 */
	int bd_at_failure;                /* 1: the two counts below hold; 0 unknown (the
					     projection is trusted, as before these existed) */
	uint32_t bd_new_used_at_failure;  /* bd_new_used in the window ending at the refusal */
	uint32_t bd_dup_used_at_failure;  /* bd_dup_used in the window ending at the refusal */
};

/* The certificate's fallback issuer (annotation certcast.io/fallback-issuer). */
struct sc_fallback {
	int fb_configured;         /* an annotation names a fallback */
	int fb_active;             /* the certificate currently uses the fallback */
	const struct sc_issuer *fb_other; /* borrowed: the issuer NOT in use (the fallback, or
					   * the primary while failed over); may be NULL */
	const struct sc_issuer_estimate *fb_est; /* borrowed estimate of fb_other, or NULL */
};

/* What certcast did before, read back from its annotations. */
struct sc_state {
	int st_rb_adjusted;       /* certcast changed spec.renewBefore (original is saved) */
	int st_orig_rb_set;       /* the saved original was a value, not "unset" */
	int64_t st_orig_rb;       /* the saved original when st_orig_rb_set */
	int64_t st_last_change;   /* when certcast last changed renewBefore, 0 never */
	double st_last_risk;      /* risk it wrote last time (for hysteresis), NaN/negative none */
	int64_t st_last_reissue;  /* when certcast last triggered a reissue, 0 never */
	uint32_t st_reissues_used;  /* reissues certcast triggered on this issuer in the window */
	uint32_t st_reissue_budget; /* allowed per issuer and window, 0: unlimited */
	int64_t st_last_failover; /* when certcast last switched to the fallback, 0 unknown: the
	                             primary failed then (its request is gone with the switch) */
};

/* An anomaly found by anomaly.h / certparse.h, carried into the result. */
enum sc_severity { SC_SEV_INFO = 0, SC_SEV_WARNING = 1, SC_SEV_CRITICAL = 2 };

#define SC_EVIDENCE_MAX 160

struct sc_anomaly {
	char an_type[32];                /* stable id: "unexpected-issuer", "weak-key", ... */
	enum sc_severity an_severity;    /* info, warning, critical */
	double an_score;                 /* detector's score, larger is stranger */
	int an_security;                 /* 1: a reason to replace the certificate now */
	char an_evidence[SC_EVIDENCE_MAX]; /* short text: what and against which baseline */
};

/* Tunables. sc_config_default() documents every default; scoring/README.md explains them. */
struct sc_config {
	double cf_target_risk;        /* highest acceptable risk; default 0.01 */
	double cf_level_medium;       /* risk >= this is medium; default 0.01 */
	double cf_level_high;         /* risk >= this is high (likelier than not); default 0.50 */
	double cf_level_critical;     /* risk >= this is critical; default 0.90 */
	int64_t cf_min_renew_before;  /* lower bound of a recommendation; default 5m */
	int64_t cf_max_renew_before;  /* upper bound, 0: only "below the lifetime"; default 0 */
	double cf_hysteresis;         /* relative risk margin before acting/restoring; 0.25 */
	int64_t cf_min_change_interval; /* between two renewBefore changes; default 6h */
	uint64_t cf_jitter_seed;      /* seed of the deterministic jitter */
	double cf_jitter_frac;        /* jitter up to this share of renewBefore; default 0.05 */
	int64_t cf_jitter_max;        /* and at most this; default 6h */
	enum sc_mode cf_mode;         /* carried through to the result; scoring ignores it */
	int64_t cf_attempt_duration;  /* time from trigger to outcome of one attempt; 300s */
	int64_t cf_history_halflife;  /* decay of CR evidence; default 3 days */
	double cf_prior_fail;         /* prior per-attempt failure probability; 0.05 */
	double cf_prior_strength;     /* prior pseudo-observations; default 10 */
	double cf_corr_strength;      /* cap on the Beta concentration (correlation); 30 */
	double cf_reissue_max_fail;   /* reissue only if P(next attempt fails) <= this; 0.2 */
	int64_t cf_reissue_min_interval; /* between two certcast reissues; default 1h */
	double cf_fallback_max_fail;  /* fallback counts as healthy below this; 0.3 */
	int64_t cf_failover_restore_after; /* primary healthy this long before restoring; 24h */
	uint32_t cf_budget_reserve;   /* ACME issuances kept back for cert-manager's own; 1 */
	int cf_ari_replaces;          /* cert-manager's ACMEUseARI gate is on, so its orders carry
				 * ARI "replaces" and renewals in the window are exempt from
				 * the CA's limits; default 0 (the gate is alpha and off) */
};

/* Fills cfg with the defaults listed above. */
void sc_config_default(struct sc_config *cfg);

/*
 * Checks cfg: probabilities in (0,1), levels ordered, bounds non-negative and ordered.
 * Returns SC_OK or SC_ERR_RANGE with the first offending field named in err (size errlen).
 */
int sc_config_check(const struct sc_config *cfg, char *err, size_t errlen);

struct lm_model;           /* learn.h: the online model; optional */

/* Everything sc_evaluate() looks at for one certificate. Zero-initialise, then fill. */
struct sc_input {
	int64_t in_now;                       /* the evaluation time */
	const struct sc_config *in_cfg;       /* borrowed, NULL: defaults */
	struct sc_cert in_cert;               /* the certificate */
	const struct sc_request *in_requests; /* borrowed: its CRs, any order, may be NULL */
	size_t in_nrequests;
	const struct sc_event *in_events;     /* borrowed: its Events, any order, may be NULL */
	size_t in_nevents;
	const struct sc_issuer *in_issuer;    /* borrowed: its issuer, may be NULL */
	const struct sc_issuer_estimate *in_issuer_est; /* precomputed (sc_issuer_estimate), or NULL */
	struct sc_signals in_signals;         /* cert-manager metrics */
	struct sc_ari in_ari;                 /* ARI window */
	struct sc_budget in_budget;           /* ACME budget of the registered domain */
	struct sc_fallback in_fallback;       /* fallback issuer */
	struct sc_state in_state;             /* certcast's previous actions */
	const struct lm_model *in_model;      /* borrowed learned model, may be NULL */
	const struct sc_anomaly *in_anomalies; /* borrowed, found by anomaly/certparse */
	size_t in_nanomalies;
};

/* ------------------------------------------------------------------------------------------ */
/* Outputs                                                                                    */

#define SC_RECENT_OK 8

/* Bayesian estimate of an issuer's per-attempt failure probability (issuer_health.h). */
struct sc_issuer_estimate {
	double ie_alpha;          /* posterior Beta alpha (prior + decayed failures) */
	double ie_beta;           /* posterior Beta beta (prior + decayed successes) */
	double ie_prior_mean;     /* prior mean */
	double ie_mean;           /* posterior mean */
	double ie_lo;             /* 5% quantile of the posterior */
	double ie_hi;             /* 95% quantile */
	double ie_evidence;       /* decayed count of outcomes behind the posterior */
	double ie_failures;       /* ... of which failures */
	enum sc_class ie_class;   /* dominant class of the recent failures, SC_CLASS_OK if none */
	double ie_class_share;    /* share of recent decayed failures in that class */
	int64_t ie_last_failure;  /* latest failure seen, 0 none */
	int64_t ie_last_success;  /* latest success seen, 0 none */
	/*
	 * The latest successes, newest first, 0 past the last one: how many the issuer has had
	 * since a given failure is the strength of the evidence that a fault across the issuer
	 * has cleared (evaluate.c). SC_RECENT_OK of them are enough to settle it.
	 */
	int64_t ie_recent_ok[SC_RECENT_OK];
	int64_t ie_last_wide_failure; /* latest failure of a class that can hit the whole issuer
				       * (CA unavailable, transient, unknown), 0 none */
	int ie_failing;           /* the latest finished outcome was a failure */
	int64_t ie_failing_since; /* first failure after the latest success, 0 when not failing */
	int ie_not_ready;         /* the issuer's Ready condition is False */
	enum sc_class ie_ready_class; /* class of the Ready=False reason */
	double ie_base_mean;      /* posterior mean without the failures a fault model carries */
	double ie_base_conc;      /* ... and its concentration (alpha + beta) */
	int64_t ie_latency;       /* median created-to-done time of its issued requests,
				     seconds; 0 when too few to say (stuck.h) */
};

/*
 * Estimates issuer's failure probability from its history and Ready condition as of now, with
 * cfg's prior and half-life (cfg NULL: defaults). issuer NULL gives the prior. Never fails.
 */
void sc_issuer_estimate(const struct sc_issuer *issuer, const struct sc_config *cfg, int64_t now,
			struct sc_issuer_estimate *out);

/* One issuance attempt cert-manager can still make before notAfter, if all before it fail. */
struct sc_attempt {
	int64_t at_time;     /* when cert-manager triggers it */
	double at_p_fault;   /* probability that the current fault is still present then */
	double at_p_fail;    /* marginal probability that this attempt fails */
};

#define SC_MAX_ATTEMPTS 64 /* attempts listed; more may exist (sr_attempts_total) */
#define SC_MAX_FACTORS 16
#define SC_MAX_ANOMALIES 8
#define SC_REASONS_MAX 256 /* certcast.io/risk-reasons, NUL included */
#define SC_NOTE_MAX 200

/* A factor behind the risk: what, how much, and a sentence. */
struct sc_factor {
	char f_name[32];   /* stable id, e.g. "fault", "backoff", "issuer-history" */
	double f_value;    /* the factor's own value (a probability, hours, a count ...) */
	double f_contrib;  /* risk with the factor minus risk without it (may be negative) */
	char f_text[160];  /* one short sentence, no trailing period */
};

enum sc_rb_action {
	SC_RB_LEAVE = 0,   /* leave spec.renewBefore as is */
	SC_RB_SET = 1,     /* set spec.renewBefore to d_rb_value */
	SC_RB_RESTORE = 2, /* restore the user's original (d_rb_value, or unset if d_rb_unset) */
	SC_RB_BLOCKED = 3, /* a change would help but a rule forbids it: report d_note instead */
};

enum sc_reissue_reason {
	SC_REISSUE_NONE = 0,
	SC_REISSUE_BACKOFF = 1,  /* backoff is the obstacle and the next attempt should succeed */
	SC_REISSUE_ARI = 2,      /* the CA's ARI window says renew now */
	SC_REISSUE_SECURITY = 3, /* a security anomaly asks for a new certificate */
};

enum sc_failover_action {
	SC_FO_NONE = 0,
	SC_FO_SWITCH = 1,  /* switch spec.issuerRef to the fallback */
	SC_FO_RESTORE = 2, /* the primary is healthy again: switch back */
};

/* What certcast should do (applied by the controller in enforce mode only). */
struct sc_decision {
	enum sc_rb_action d_rb;      /* renewBefore action */
	int64_t d_rb_value;          /* the value for SET and RESTORE (when !d_rb_unset) */
	int d_rb_unset;              /* RESTORE: the original was unset, remove the field */
	double d_risk_after;         /* forecast risk if the renewBefore action is applied */
	int64_t d_jitter;            /* jitter included in d_rb_value */
	int d_reissue;               /* set Issuing=True now */
	enum sc_reissue_reason d_reissue_reason;
	enum sc_failover_action d_failover;
	int d_failover_trial;        /* RESTORE without evidence of the primary's health: its
	                                renewal tries it (policy.c, pol_restore_trial) */
	int d_budget_blocked;        /* an issuance was held back by an ACME budget */
	char d_note[SC_NOTE_MAX];    /* why, in one or two short sentences */
};

struct sc_result {
	double r_risk;                /* P(no attempt succeeds before notAfter), 0..1 */
	enum sc_level r_level;        /* from the config's thresholds */
	enum sc_mode r_mode;          /* the config's mode, carried through */
	int64_t r_predicted_failure;  /* time after which renewal can no longer succeed, 0 none */
	int64_t r_renewal_time;       /* cert-manager's renewal time, 0 none (Disabled, no window) */
	int64_t r_next_attempt;       /* next attempt time, 0 none before notAfter */
	int64_t r_backoff_until;      /* end of cert-manager's current backoff, 0 none */
	double r_p_next_fail;         /* P(the next attempt fails) */
	double r_p_attempt;           /* per-attempt failure probability without the fault */
	double r_p_fault;             /* P(a persistent fault is present now) */
	enum sc_class r_class;        /* class of the current fault (OK when none) */
	double r_class_conf;          /* confidence of that classification */
	uint32_t r_attempts_total;    /* attempts left before notAfter along the all-fail path */
	uint32_t r_nattempts;         /* listed in r_attempts, <= SC_MAX_ATTEMPTS */
	struct sc_attempt r_attempts[SC_MAX_ATTEMPTS];
	struct sc_issuer_estimate r_issuer; /* the issuer estimate used */
	struct sc_decision r_decision;
	uint32_t r_nfactors;
	struct sc_factor r_factors[SC_MAX_FACTORS]; /* sorted by |f_contrib|, largest first */
	uint32_t r_nanomalies;
	struct sc_anomaly r_anomalies[SC_MAX_ANOMALIES]; /* most severe first */
	char r_reasons[SC_REASONS_MAX]; /* top factors, "; "-separated, for the annotation */
};

/*
 * Scores one certificate: forecast, issuer health, failure class, learned adjustment,
 * anomalies, decision and explanation. in and out must not be NULL. Returns SC_OK, or
 * SC_ERR_INVAL when in_now <= 0 or notAfter < notBefore (out then holds risk 0, level low and
 * one factor saying what was wrong). Malformed parts (a bad cron window, an unknown reason)
 * are explained in the factors and handled as cert-manager would; they never fail the call.
 * out is overwritten entirely. Reentrant; allocates nothing.
 */
int sc_evaluate(const struct sc_input *in, struct sc_result *out);

#include "failclass.h"
#include "forecast.h"
#include "issuer_health.h"
#include "policy.h"
#include "explain.h"

#endif
