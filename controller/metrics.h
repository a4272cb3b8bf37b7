/*
 * metrics: a small registry of counters, gauges and histograms with labels, written out in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * A family is one metric name with a fixed list of label names. A series is one combination of
 * label values inside a family; it springs into existence on first use and can be deleted (a
 * certificate that goes away loses its series). A family without labels has its one series from
 * registration on, at zero, as Prometheus client libraries do. All calls on one registry are serialised by one
 * mutex, so any thread may update any family while another thread writes the text out.
 *
 * Label values are passed as an array holding exactly as many strings as the family has label
 * names (none for a family without labels: pass NULL). The strings are copied.
 */
#ifndef METRICS_H
#define METRICS_H

#include "buf.h"

#include <stddef.h>

enum met_type { MET_COUNTER = 0, MET_GAUGE, MET_HISTOGRAM };

struct met_registry;
struct met_family; /* owned by its registry; valid until met_registry_free */

/* A new empty registry; free it with met_registry_free. */
struct met_registry *met_registry_new(void);
/* Free the registry, its families and series. Accepts NULL. No call may be in flight. */
void met_registry_free(struct met_registry *r);

/*
 * Register a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
 * without a "__" prefix (and not "le" for histograms). buckets (histograms only) are the finite
 * upper bounds in strictly increasing order; +Inf is implied. help is copied. Returns CC_OK with
 * *out set, or CC_ERR_INVAL (bad name, label or buckets, or the name is already registered) with
 * the reason logged.
 */
int met_register(struct met_registry *r, const char *name, const char *help, enum met_type type,
    const char *const *label_names, size_t nlabels, const double *buckets, size_t nbuckets,
    struct met_family **out);

/* Add v (>= 0) to a counter series. CC_ERR_INVAL for a negative or NaN v or a non-counter. */
int met_counter_add(struct met_family *f, const char *const *label_values, double v);
/*
 * Set a counter series to an absolute value, for counts kept elsewhere (the API client's request
 * tally, the reflectors' event counts) and mirrored here at scrape time. The caller promises the
 * source never decreases. CC_ERR_INVAL for a NaN or negative v or a non-counter.
 */
int met_counter_set(struct met_family *f, const char *const *label_values, double v);
/* Set a gauge series. CC_ERR_INVAL for a non-gauge. */
int met_gauge_set(struct met_family *f, const char *const *label_values, double v);
/* Record one observation in a histogram series. CC_ERR_INVAL for NaN or a non-histogram. */
int met_histogram_observe(struct met_family *f, const char *const *label_values, double v);
/* Delete one series. CC_OK, or CC_ERR_NOTFOUND when it did not exist. */
int met_remove(struct met_family *f, const char *const *label_values);
/* Current value of a counter or gauge series (tests and collectors). CC_ERR_NOTFOUND if absent. */
int met_value(struct met_family *f, const char *const *label_values, double *out);
/* Number of series in the family. */
size_t met_series_count(struct met_family *f);

/*
 * A collector runs at the start of every met_write, outside the registry lock, so that it can
 * copy values kept elsewhere into families. It must not call met_write. Collectors run in the
 * order they were added; arg is borrowed until the registry is freed.
 */
typedef void (*met_collect_fn)(void *arg);
void met_add_collector(struct met_registry *r, met_collect_fn fn, void *arg);

/*
 * Append the whole registry to out in text format: families in registration order, each with
 * HELP and TYPE lines (families without series still get them), series in creation order.
 * Returns CC_OK, or CC_ERR_TOOBIG when out's limit is reached (out then holds a prefix).
 */
int met_write(struct met_registry *r, struct buf *out);

/* Content-Type of met_write's output. */
#define MET_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * The families of DESIGN.md's metrics table. The per-certificate gauges take the labels
 * namespace, name, issuer_kind, issuer_name (in that order).
 */
struct met_std {
	struct met_family *ms_cert_risk;             /* certcast_certificate_risk */
	struct met_family *ms_cert_risk_level;       /* certcast_certificate_risk_level */
	struct met_family *ms_cert_expiry;           /* ..._expiry_timestamp_seconds */
	struct met_family *ms_cert_predicted_failure;/* ..._predicted_failure_timestamp_seconds */
	struct met_family *ms_cert_renew_before;     /* ..._renew_before_seconds */
	struct met_family *ms_issuer_failure_prob;   /* certcast_issuer_failure_probability */
	struct met_family *ms_actions;               /* certcast_actions_total{action,mode} */
	struct met_family *ms_anomalies;             /* certcast_anomalies_total{type} */
	struct met_family *ms_watch_events;          /* certcast_watch_events_total{resource,type} */
	struct met_family *ms_watch_restarts;        /* certcast_watch_restarts_total{resource,reason} */
	struct met_family *ms_api_requests;          /* certcast_api_requests_total{verb,code} */
	struct met_family *ms_reconcile_duration;    /* certcast_reconcile_duration_seconds */
	struct met_family *ms_workqueue_depth;       /* certcast_workqueue_depth */
	struct met_family *ms_leader;                /* certcast_leader */
	struct met_family *ms_build_info;            /* certcast_build_info{version} = 1 */
	struct met_family *ms_cm_scrapes;            /* certcast_cert_manager_scrapes_total{result} */
	struct met_family *ms_ari_requests;          /* certcast_ari_requests_total{result} */
	struct met_family *ms_events;                /* certcast_events_total{result} */
	/* the learned model's calibration (additions to DESIGN.md's table) */
	struct met_family *ms_model_brier;           /* certcast_model_brier_score */
	struct met_family *ms_model_brier_base;      /* certcast_model_brier_score_baseline */
	struct met_family *ms_model_outcomes;        /* certcast_model_outcomes_total{outcome} */
	struct met_family *ms_model_rel_pred;        /* certcast_model_reliability_predicted{bin} */
	struct met_family *ms_model_rel_obs;         /* certcast_model_reliability_observed{bin} */
	struct met_family *ms_http_auth;             /* certcast_http_auth_total{result} */
};

/*
 * Register every family of the table in r and set build_info{version} to 1 and leader to 0.
 * Returns CC_OK, or CC_ERR_INVAL if one of the names is already taken in r.
 */
int met_std_register(struct met_registry *r, const char *version, struct met_std *out);

/* Labels of a per-certificate series, for met_std's certificate families. */
#define MET_CERT_LABELS(ns, name, ikind, iname) ((const char *const[]){(ns), (name), (ikind), (iname)})

#endif
