/*
 * learn: an online model of the probability that one issuance attempt fails.
 *
 * Logistic regression trained one CertificateRequest outcome at a time (label: failed or not),
 * with AdaGrad step sizes, L2 regularisation and inputs standardised online (running mean and
 * variance per feature). The bias starts at logit(base rate), so a fresh model predicts the
 * base rate instead of 0.5. Until the model has seen enough outcomes its answer is blended, in
 * logit space, with a prior estimate supplied by the caller (scoring core's hand-built
 * estimate); the blend weight is n_eff / (n_eff + prior_strength), where n_eff is the model's
 * decayed count of training outcomes.
 *
 * Every prediction is explainable: the final logit is exactly p_base + sum(p_contrib[i]).
 * Calibration is measured prequentially: each lm_update() first scores the outcome with the
 * prediction it would have made, then learns from it.
 *
 * Memory: struct lm_model is a fixed-size value (no allocation); copy it freely. Its fields
 * are private to learn.c: use the functions. Not thread-safe per model.
 * Errors: SC_OK (0) or a negative enum sc_err from scoring.h, with a message in the caller's err
 * buffer where one is given.
 */
#ifndef LEARN_H
#define LEARN_H

#include <stddef.h>
#include <stdint.h>

/* The failure class of the latest failed attempt, as a one-hot input. Order is stable. */
enum lm_class {
	LM_CLASS_NONE = 0,       /* no failure seen, or the last attempt succeeded */
	LM_CLASS_CONFIG,         /* configuration error: does not heal by itself */
	LM_CLASS_RATE_LIMIT,     /* CA rate limit: heals when the window refills */
	LM_CLASS_DNS,            /* DNS / challenge propagation */
	LM_CLASS_CA_UNAVAILABLE, /* CA down, 5xx, timeouts */
	LM_CLASS_TRANSIENT,      /* a one-off that normally heals on retry */
	LM_CLASS_UNKNOWN,        /* failed, reason not recognised */
	LM_CLASS_COUNT,
};

/* Index of each model input; also the index into lm_prediction.p_contrib. Order is stable. */
enum lm_feature {
	LM_F_ISSUER_FAIL_RATE = 0, /* issuer's Bayesian recent failure rate, 0..1 */
	LM_F_FAILED_ATTEMPTS,      /* log1p(failedIssuanceAttempts) */
	LM_F_CLASS_CONFIG,         /* one-hot of enum lm_class (NONE is all zero) */
	LM_F_CLASS_RATE_LIMIT,
	LM_F_CLASS_DNS,
	LM_F_CLASS_CA_UNAVAILABLE,
	LM_F_CLASS_TRANSIENT,
	LM_F_CLASS_UNKNOWN,
	LM_F_ISSUER_NOT_READY,     /* 1 when the issuer's Ready condition is False */
	LM_F_ACME_429_RATE,        /* share of ACME responses that were 429, 0..1 */
	LM_F_HTTP_5XX_RATE,        /* share of CA responses that were 5xx, 0..1 */
	LM_F_LATENCY,              /* log1p(request latency in seconds) */
	LM_F_POD_RESTARTS,         /* log1p(controller pod restarts in the last hour) */
	LM_F_RECENT_FAILURE,       /* exp(-hours since last failure / 24); 0 when never failed */
	LM_F_LIFETIME,             /* log1p(certificate lifetime in days) */
	LM_F_COUNT,
};

/* Raw signals about one attempt, in natural units; learn.c transforms them (see enum). */
struct lm_features {
	double f_issuer_fail_rate;   /* 0..1, Bayesian estimate from recent CR outcomes */
	double f_failed_attempts;    /* status.failedIssuanceAttempts, >= 0 */
	enum lm_class f_class;       /* class of the latest failure */
	int f_issuer_not_ready;      /* issuer Ready=False */
	double f_acme_429_rate;      /* 0..1 */
	double f_http_5xx_rate;      /* 0..1 */
	double f_latency_s;          /* seconds, >= 0 */
	double f_pod_restarts_1h;    /* restarts of cert-manager's controller, last hour */
	double f_hours_since_failure;/* hours; negative or NaN: never failed */
	double f_lifetime_days;      /* certificate lifetime, days */
	double f_prior;              /* caller's non-learned estimate 0..1; NaN: model base rate */
};

struct lm_config {
	double c_base_rate;      /* prior failure probability per attempt, (0,1); default 0.05 */
	double c_eta;            /* AdaGrad step size; default 0.2 */
	double c_l2;             /* L2 penalty per update on standardised weights; default 1e-4 */
	double c_prior_strength; /* n_eff at which model and prior weigh equally; default 50 */
	double c_forget;         /* per-update decay of n_eff and statistics, [0,1); default 0 */
};

#define LM_CAL_BINS 10

/* One bin of the reliability table: predictions in [i/10, (i+1)/10). */
struct lm_bin {
	double b_sum_pred; /* sum of predicted probabilities */
	double b_sum_obs;  /* number of failures observed */
	double b_count;    /* predictions that fell in the bin */
};

/* Prequential calibration figures; every mean is over the outcomes seen by lm_update(). */
struct lm_calibration {
	double cal_n;          /* outcomes scored */
	double cal_brier;      /* mean (p - y)^2 of the blended prediction */
	double cal_logloss;    /* mean -log likelihood (p clamped to [1e-6, 1-1e-6]) */
	double cal_brier_base; /* Brier of predicting the running base rate instead */
	double cal_base_rate;  /* observed failure rate so far */
	struct lm_bin cal_bins[LM_CAL_BINS]; /* reliability table */
};

/* A prediction with its explanation. */
struct lm_prediction {
	double p_prob;                   /* blended probability that the attempt fails */
	double p_model;                  /* the model's own probability */
	double p_prior;                  /* the prior used in the blend */
	double p_weight;                 /* weight of the model in the blend, 0..1 */
	double p_base;                   /* logit terms not tied to a feature (bias and prior) */
	double p_contrib[LM_F_COUNT];    /* logit contribution of each feature, already weighted */
};

/* Private state; sized by value so that callers can embed it. */
struct lm_model {
	struct lm_config m_cfg;           /* as given to lm_init, defaults filled */
	double m_bias;                    /* intercept, on the logit scale */
	double m_bias_g2;                 /* AdaGrad accumulator of the intercept */
	double m_w[LM_F_COUNT];           /* weights on standardised inputs */
	double m_g2[LM_F_COUNT];          /* AdaGrad accumulators */
	double m_mean[LM_F_COUNT];        /* running mean of each input */
	double m_var[LM_F_COUNT];         /* running variance of each input */
	double m_stat_n[LM_F_COUNT];      /* observations behind mean/var (capped) */
	double m_n_eff;                   /* decayed number of training outcomes */
	uint64_t m_updates;               /* total lm_update calls */
	double m_seen;                    /* outcomes behind m_seen_pos (base-rate forecast) */
	double m_seen_pos;                /* failures among them */
	double m_cal_n;                   /* outcomes scored since the last calibration reset */
	double m_cal_sse;                 /* sum of squared errors, blended */
	double m_cal_ll;                  /* sum of log losses, blended */
	double m_cal_sse_base;            /* sum of squared errors of the base-rate forecast */
	double m_cal_pos;                 /* failures seen */
	struct lm_bin m_bins[LM_CAL_BINS];/* reliability table */
};

/* Fills cfg with the documented defaults. */
void lm_config_default(struct lm_config *cfg);

/*
 * Resets m to a fresh model. cfg may be NULL (defaults); zero or out-of-range fields take their
 * default. Never fails.
 */
void lm_init(struct lm_model *m, const struct lm_config *cfg);

/*
 * Predicts the failure probability of an attempt described by f, with its explanation in *out
 * (may be NULL when only the number is wanted). Each p_contrib[i] is the feature's pull on the
 * logit relative to a typical input (its running mean), so 0 means "as usual". A non-finite
 * input counts as unknown and contributes nothing (f_hours_since_failure: NaN means "never
 * failed"). m and f must not be NULL. Returns p_prob, in [0, 1]. Does not change m.
 */
double lm_predict(const struct lm_model *m, const struct lm_features *f, struct lm_prediction *out);

/*
 * Learns from one outcome (failed != 0: the attempt failed), with f as they were when the
 * attempt started. Call once per CertificateRequest outcome: the model has no memory of which
 * outcomes it saw. Records calibration of the prediction made before learning. m and f must
 * not be NULL.
 */
void lm_update(struct lm_model *m, const struct lm_features *f, int failed);

/* Copies the calibration figures so far into *out. */
void lm_calibration(const struct lm_model *m, struct lm_calibration *out);

/*
 * Forgets the calibration figures (not the model), e.g. to measure a trained model apart from
 * its warm-up. The count behind the base-rate forecast is kept.
 */
void lm_calibration_reset(struct lm_model *m);

/* The model's effective sample size (decayed count of outcomes). */
double lm_n_eff(const struct lm_model *m);

/* Stable short name of a feature ("issuer_fail_rate", ...), or "?" when out of range. */
const char *lm_feature_name(enum lm_feature f);

/*
 * Writes m as versioned text ("certcast-lm 1" ... "sha256 HEX") into buf of size len,
 * NUL-terminated. *need (may be NULL) receives the length without the NUL. Returns SC_OK, or
 * SC_ERR_NOSPACE when len is too small (nothing useful in buf; call again with *need + 1 bytes).
 * Doubles are written as hex floats so that a restored model predicts identically.
 */
int lm_serialize(const struct lm_model *m, char *buf, size_t len, size_t *need);

/*
 * Restores a model written by lm_serialize from buf[0..len). On any problem (truncated, bad
 * checksum, wrong version, unknown or malformed line) returns SC_ERR_PARSE, leaves *m untouched
 * and writes what and where (line number) into err (size errlen, may be 0).
 */
int lm_deserialize(struct lm_model *m, const char *buf, size_t len, char *err, size_t errlen);

#endif
