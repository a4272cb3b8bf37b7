/*
 * config: the controller's settings, from three layers: built-in defaults, then the YAML config
 * file (--config), then command-line flags. Each layer overrides the one before.
 *
 * Every setting has one name in the file (camelCase, e.g. "httpAddr") and one flag (kebab-case,
 * e.g. "--http-addr"); cfg_set() takes either spelling, so the file loader and the CLI share one
 * parser per setting. The file is strict: an unknown key, a key given twice, or a value of the
 * wrong type is an error naming the key and its line:column.
 *
 * Not thread-safe; a struct cfg is filled once at start-up and then only read.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include "buf.h"
#include "log.h"

#include <stddef.h>
#include <stdint.h>

enum cfg_mode { CFG_MODE_OBSERVE = 0, CFG_MODE_ENFORCE = 1 };
/* Who may read the HTTP endpoints: anyone, or whom the API server authorizes (httpauth.h). */
enum cfg_http_auth { CFG_HTTP_AUTH_NONE = 0, CFG_HTTP_AUTH_KUBERNETES = 1 };

struct cfg {
	enum cfg_mode c_mode;          /* mode: observe | enforce */
	char *c_http_addr;             /* httpAddr: HOST:PORT, :PORT or [V6]:PORT */
	enum cfg_http_auth c_http_auth; /* httpAuth: none | kubernetes */
	char *c_http_tls_cert;         /* httpTLSCertFile: PEM certificate (chain); "" plain HTTP */
	char *c_http_tls_key;          /* httpTLSKeyFile: its PEM private key; both or neither */
	char *c_namespace;             /* namespace: watch only this one; "" for all */
	int c_leader_elect;            /* leaderElect: only the holder of the Lease writes */
	enum log_format c_log_format;  /* logFormat */
	enum log_level c_log_level;    /* logLevel */
	char *c_cm_namespace;          /* certManagerNamespace: where cert-manager's pods run */
	char *c_cm_selector;           /* certManagerPodSelector: label selector of those pods */
	int c_workers;                 /* workers: reconcile threads, 1..64 */
	int64_t c_failover_restore_after; /* failoverRestoreAfter, seconds (scoring's 24h default) */
	int c_reissue_budget;          /* reissueBudget: reissues per issuer and hour, 0 no limit */
	double c_qps;                  /* clientQPS: API request rate */
	int c_burst;                   /* clientBurst: API request burst */
	double c_target_risk;          /* targetRisk: highest acceptable risk, in (0, 1) */
	int64_t c_min_renew_before;    /* minRenewBefore, seconds, >= 300 */
	int64_t c_max_renew_before;    /* maxRenewBefore, seconds; 0: bounded by the lifetime only */
	int64_t c_resync;              /* resyncPeriod, seconds: every certificate is re-reconciled */
	int c_cm_metrics_port;         /* certManagerMetricsPort: 0 turns scraping off */
	int64_t c_cm_scrape_interval;  /* certManagerScrapeInterval, seconds */
	char *c_state_file;            /* stateFile: the learned model's checkpoint; "" for none */
	int c_ari;                     /* ari: ask ACME issuers for renewal windows (RFC 9773) */
	char *c_psl_file;              /* publicSuffixList: the list file for ACME budgets */
	char *c_lease_name;            /* leaseName: the Lease of leader election */
	char *c_lease_namespace;       /* leaseNamespace: "" for $POD_NAMESPACE, else "certcast" */
	int64_t c_lease_duration_ms;   /* leaseDuration: whole seconds, > renewDeadline */
	int64_t c_renew_deadline_ms;   /* renewDeadline: > retryPeriod */
	int64_t c_retry_period_ms;     /* retryPeriod: > 0 */
};

/* Fill c with the defaults (allocating its strings). Free with cfg_free. */
void cfg_defaults(struct cfg *c);
/* Free the strings in c; c may be reused after cfg_defaults. Accepts NULL. */
void cfg_free(struct cfg *c);

/*
 * Set one setting from text. name is the file key ("workers") or the flag without dashes
 * ("workers", "http-addr"). For a boolean, value NULL means true. On error returns CC_ERR_INVAL
 * (unknown name: CC_ERR_NOTFOUND) and writes the reason into err, e.g.
 * "must be observe or enforce"; c is then unchanged.
 */
int cfg_set(struct cfg *c, const char *name, const char *value, char *err, size_t errsz);

/* True when name is a setting's flag spelling; *is_bool tells whether it takes no value. */
int cfg_is_flag(const char *name, int *is_bool);

/*
 * Overlay the settings in the YAML file at path onto c. An empty file changes nothing. Returns
 * CC_OK, CC_ERR_IO (cannot read), CC_ERR_PARSE (not YAML, not a mapping) or CC_ERR_CONFIG (unknown
 * key, duplicate, wrong type, bad value), with err set to "PATH:LINE:COL: what". c is left
 * unchanged on error.
 */
int cfg_load_file(struct cfg *c, const char *path, char *err, size_t errsz);
/* The same for YAML text in memory; name stands for the path in messages. */
int cfg_load_string(struct cfg *c, const char *text, size_t len, const char *name, char *err,
    size_t errsz);

/*
 * Check relations between settings (min <= max renewBefore; retryPeriod < renewDeadline <
 * leaseDuration; httpTLSCertFile and httpTLSKeyFile both or neither). CC_OK or CC_ERR_CONFIG
 * with err naming the keys.
 */
int cfg_validate(const struct cfg *c, char *err, size_t errsz);

struct sc_config;
/*
 * The scoring settings c gives (scoring's defaults, with c's target risk, renewBefore bounds and
 * mode), as the controller scores with them and `explain --config` too; per-certificate
 * annotations refine them later.
 */
void cfg_scoring(const struct cfg *c, struct sc_config *out);

/*
 * The namespace of the leader election Lease: leaseNamespace when set, else $POD_NAMESPACE when
 * set, else "certcast". Borrowed from c or the environment. CC_OK, or CC_ERR_CONFIG when
 * $POD_NAMESPACE is not a namespace name (err says so).
 */
int cfg_lease_namespace(const struct cfg *c, const char **out, char *err, size_t errsz);

/* "observe" / "enforce". */
const char *cfg_mode_name(enum cfg_mode m);
/* "none" / "kubernetes". */
const char *cfg_http_auth_name(enum cfg_http_auth a);

/* Append one line per setting to out, "  --flag VALUE  what (file key: name, default: d)". */
void cfg_usage(struct buf *out);

#endif
