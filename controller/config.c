/* config: defaults, the strict YAML config file, and one parser per setting shared with flags. */
#include "config.h"

#include "act.h"
#include "cc_err.h"
#include "http_server.h"
#include "lease.h"
#include "psl.h"
#include "resource.h"
#include "scoring.h"
#include "timefmt.h"
#include "xalloc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* A config file is a few hundred bytes; anything far larger is a mistake. */
#define CFG_FILE_MAX (1u << 20)

enum cfg_id {
	CI_MODE,
	CI_HTTP_ADDR,
	CI_HTTP_AUTH,
	CI_HTTP_TLS_CERT,
	CI_HTTP_TLS_KEY,
	CI_NAMESPACE,
	CI_LEADER_ELECT,
	CI_LOG_FORMAT,
	CI_LOG_LEVEL,
	CI_CM_NAMESPACE,
	CI_CM_SELECTOR,
	CI_WORKERS,
	CI_QPS,
	CI_BURST,
	CI_TARGET_RISK,
	CI_MIN_RB,
	CI_MAX_RB,
	CI_RESYNC,
	CI_CM_METRICS_PORT,
	CI_CM_SCRAPE_INTERVAL,
	CI_STATE_FILE,
	CI_ARI,
	CI_PSL_FILE,
	CI_LEASE_NAME,
	CI_LEASE_NAMESPACE,
	CI_LEASE_DURATION,
	CI_RENEW_DEADLINE,
	CI_RETRY_PERIOD,
	CI_REISSUE_BUDGET,
	CI_FAILOVER_RESTORE,
};

/* What a YAML value must look like before its text is parsed. */
enum cfg_kind {
	CK_STRING,   /* any scalar */
	CK_BOOL,     /* plain true/false */
	CK_INT,      /* plain integer */
	CK_NUMBER,   /* plain number */
};

struct cfg_def {
	enum cfg_id cd_id;
	const char *cd_key;     /* file key */
	const char *cd_flag;    /* flag without the dashes */
	enum cfg_kind cd_kind;
	const char *cd_arg;     /* placeholder in --help */
	const char *cd_help;    /* one line for --help */
};

static const struct cfg_def cfg_defs[] = {
    {CI_MODE, "mode", "mode", CK_STRING, "observe|enforce",
	"observe writes annotations, Events and metrics; enforce also acts"},
    {CI_HTTP_ADDR, "httpAddr", "http-addr", CK_STRING, "ADDR",
	"listen address for /metrics /healthz /readyz: HOST:PORT, :PORT or [V6]:PORT"},
    {CI_HTTP_AUTH, "httpAuth", "http-auth", CK_STRING, "none|kubernetes",
	"kubernetes: every HTTP path but /healthz and /readyz needs a bearer token that the API "
	"server authenticates (TokenReview) and RBAC authorizes (SubjectAccessReview, "
	"nonResourceURLs, verb get)"},
    {CI_HTTP_TLS_CERT, "httpTLSCertFile", "http-tls-cert", CK_STRING, "PATH",
	"serve HTTPS only (TLS 1.2+) with this PEM certificate (chain), reloaded on change"},
    {CI_HTTP_TLS_KEY, "httpTLSKeyFile", "http-tls-key", CK_STRING, "PATH",
	"the PEM private key of --http-tls-cert (give both or neither)"},
    {CI_NAMESPACE, "namespace", "namespace", CK_STRING, "NS",
	"watch only this namespace (default: all)"},
    {CI_LEADER_ELECT, "leaderElect", "leader-elect", CK_BOOL, "",
	"leader election on a Lease: only the leader writes (for several replicas)"},
    {CI_LOG_FORMAT, "logFormat", "log-format", CK_STRING, "json|text", "log line format"},
    {CI_LOG_LEVEL, "logLevel", "log-level", CK_STRING, "debug|info|warn|error",
	"lowest level logged"},
    {CI_CM_NAMESPACE, "certManagerNamespace", "cert-manager-namespace", CK_STRING, "NS",
	"namespace of cert-manager's controller pods"},
    {CI_CM_SELECTOR, "certManagerPodSelector", "cert-manager-pod-selector", CK_STRING,
	"SELECTOR", "label selector of cert-manager's controller pods"},
    {CI_WORKERS, "workers", "workers", CK_INT, "N", "reconcile threads (1..64)"},
    {CI_REISSUE_BUDGET, "reissueBudget", "reissue-budget", CK_INT, "N",
	"reissues certcast may trigger per issuer and hour in enforce mode (0: no limit)"},
    {CI_FAILOVER_RESTORE, "failoverRestoreAfter", "failover-restore-after", CK_STRING,
	"DURATION", "a failed-over certificate goes back once its primary issuer has been "
	"healthy this long (>= 1m)"},
    {CI_QPS, "clientQPS", "client-qps", CK_NUMBER, "QPS", "API requests per second"},
    {CI_BURST, "clientBurst", "client-burst", CK_INT, "N", "API request burst"},
    {CI_TARGET_RISK, "targetRisk", "target-risk", CK_NUMBER, "P",
	"highest acceptable probability of expiring before renewal, 0 < P < 1"},
    {CI_MIN_RB, "minRenewBefore", "min-renew-before", CK_STRING, "DURATION",
	"lowest renewBefore certcast sets (>= 5m)"},
    {CI_MAX_RB, "maxRenewBefore", "max-renew-before", CK_STRING, "DURATION",
	"highest renewBefore certcast sets (0: the lifetime is the only bound)"},
    {CI_RESYNC, "resyncPeriod", "resync-period", CK_STRING, "DURATION",
	"re-reconcile every certificate this often (>= 10s)"},
    {CI_CM_METRICS_PORT, "certManagerMetricsPort", "cert-manager-metrics-port", CK_INT, "PORT",
	"port of cert-manager's controller /metrics, scraped on each pod's IP (0: do not scrape)"},
    {CI_CM_SCRAPE_INTERVAL, "certManagerScrapeInterval", "cert-manager-scrape-interval",
	CK_STRING, "DURATION", "how often cert-manager's pods are read and scraped (5s..10m)"},
    {CI_STATE_FILE, "stateFile", "state-file", CK_STRING, "PATH",
	"checkpoint of the learned model, loaded at start, written at resyncs and at stop"},
    {CI_ARI, "ari", "ari", CK_BOOL, "",
	"ask ACME issuers for renewal windows (RFC 9773 ARI); --ari=false turns it off"},
    {CI_PSL_FILE, "publicSuffixList", "public-suffix-list", CK_STRING, "PATH",
	"Public Suffix List file, for ACME budgets per registered domain"},
    {CI_LEASE_NAME, "leaseName", "lease-name", CK_STRING, "NAME",
	"name of the coordination.k8s.io Lease that leader election holds"},
    {CI_LEASE_NAMESPACE, "leaseNamespace", "lease-namespace", CK_STRING, "NS",
	"namespace of that Lease"},
    {CI_LEASE_DURATION, "leaseDuration", "lease-duration", CK_STRING, "DURATION",
	"a Lease not renewed for this long may be taken over (whole seconds)"},
    {CI_RENEW_DEADLINE, "renewDeadline", "renew-deadline", CK_STRING, "DURATION",
	"a leader that could not renew for this long stops writing (< leaseDuration)"},
    {CI_RETRY_PERIOD, "retryPeriod", "retry-period", CK_STRING, "DURATION",
	"how often the leader renews and the others try (< renewDeadline)"},
};
#define CFG_NDEFS (sizeof cfg_defs / sizeof cfg_defs[0])

#define CFG_DEFAULT_SELECTOR \
	"app.kubernetes.io/name=cert-manager,app.kubernetes.io/component=controller"

void
cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof *c);
	c->c_mode = CFG_MODE_OBSERVE;
	c->c_http_addr = xstrdup(":9403");
	c->c_http_auth = CFG_HTTP_AUTH_NONE;
	c->c_http_tls_cert = xstrdup("");
	c->c_http_tls_key = xstrdup("");
	c->c_namespace = xstrdup("");
	c->c_leader_elect = 0;
	c->c_log_format = LOG_FORMAT_TEXT;
	c->c_log_level = LOG_INFO;
	c->c_cm_namespace = xstrdup("cert-manager");
	c->c_cm_selector = xstrdup(CFG_DEFAULT_SELECTOR);
	c->c_workers = 2;
	c->c_reissue_budget = ACT_REISSUE_BUDGET;
	c->c_failover_restore_after = 24 * 3600;
	c->c_qps = 20;
	c->c_burst = 40;
	c->c_target_risk = 0.01;
	c->c_min_renew_before = 300;
	c->c_max_renew_before = 0;
	c->c_resync = 300;
	c->c_cm_metrics_port = 9402;
	c->c_cm_scrape_interval = 30;
	c->c_state_file = xstrdup("");
	c->c_ari = 1;
	c->c_psl_file = xstrdup(PSL_DEFAULT_PATH);
	c->c_lease_name = xstrdup("certcast-leader");
	c->c_lease_namespace = xstrdup("");
	c->c_lease_duration_ms = LE_DEFAULT_LEASE_MS;
	c->c_renew_deadline_ms = LE_DEFAULT_RENEW_MS;
	c->c_retry_period_ms = LE_DEFAULT_RETRY_MS;
}

void
cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	free(c->c_http_addr);
	free(c->c_http_tls_cert);
	free(c->c_http_tls_key);
	c->c_http_tls_cert = c->c_http_tls_key = NULL;
	free(c->c_namespace);
	free(c->c_cm_namespace);
	free(c->c_cm_selector);
	free(c->c_state_file);
	free(c->c_psl_file);
	free(c->c_lease_name);
	free(c->c_lease_namespace);
	c->c_http_addr = c->c_namespace = c->c_cm_namespace = c->c_cm_selector = NULL;
	c->c_state_file = c->c_psl_file = c->c_lease_name = c->c_lease_namespace = NULL;
}

static void
cfg_copy(struct cfg *dst, const struct cfg *src)
{
	*dst = *src;
	dst->c_http_addr = xstrdup(src->c_http_addr);
	dst->c_http_tls_cert = xstrdup(src->c_http_tls_cert);
	dst->c_http_tls_key = xstrdup(src->c_http_tls_key);
	dst->c_namespace = xstrdup(src->c_namespace);
	dst->c_cm_namespace = xstrdup(src->c_cm_namespace);
	dst->c_cm_selector = xstrdup(src->c_cm_selector);
	dst->c_state_file = xstrdup(src->c_state_file);
	dst->c_psl_file = xstrdup(src->c_psl_file);
	dst->c_lease_name = xstrdup(src->c_lease_name);
	dst->c_lease_namespace = xstrdup(src->c_lease_namespace);
}

const char *
cfg_mode_name(enum cfg_mode m)
{
	return m == CFG_MODE_ENFORCE ? "enforce" : "observe";
}

const char *
cfg_http_auth_name(enum cfg_http_auth a)
{
	return a == CFG_HTTP_AUTH_KUBERNETES ? "kubernetes" : "none";
}

static const struct cfg_def *
cfg_find(const char *name)
{
	for (size_t i = 0; name && i < CFG_NDEFS; i++)
		if (strcmp(cfg_defs[i].cd_key, name) == 0 || strcmp(cfg_defs[i].cd_flag, name) == 0)
			return &cfg_defs[i];
	return NULL;
}

int
cfg_is_flag(const char *name, int *is_bool)
{
	for (size_t i = 0; name && i < CFG_NDEFS; i++) {
		if (strcmp(cfg_defs[i].cd_flag, name) == 0) {
			if (is_bool)
				*is_bool = cfg_defs[i].cd_kind == CK_BOOL;
			return 1;
		}
	}
	return 0;
}

static int
cfg_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	if (s == NULL || s[0] == '\0')
		return CC_ERR_INVAL;
	long v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < lo || v > hi)
		return CC_ERR_INVAL;
	*out = v;
	return CC_OK;
}

static int
cfg_parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	if (s == NULL || s[0] == '\0')
		return CC_ERR_INVAL;
	double v = strtod(s, &end);
	if (*end != '\0' || errno != 0 || !isfinite(v))
		return CC_ERR_INVAL;
	*out = v;
	return CC_OK;
}

static int
cfg_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return CC_OK;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return CC_OK;
		}
	}
	return CC_ERR_INVAL;
}

static int
cfg_parse_dur(const char *s, int64_t min, int allow_zero, int64_t *out, char *err, size_t errsz)
{
	int64_t v;
	if (s == NULL || tf_duration_parse(s, &v) != CC_OK)
		return cc_fail(err, errsz, CC_ERR_INVAL, "must be a Go duration such as 720h or 90m");
	if (v == 0 && allow_zero) {
		*out = 0;
		return CC_OK;
	}
	if (v < min) {
		char m[TF_BUFSZ];
		tf_duration_format(min, m, sizeof m);
		return cc_fail(err, errsz, CC_ERR_INVAL, "must be at least %s%s", m, allow_zero ? " (or 0)" : "");
	}
	*out = v;
	return CC_OK;
}

/* A leader election duration: more than 0, at most 1h, in milliseconds. */
static int
cfg_parse_le_dur(const char *s, int64_t *out, char *err, size_t errsz)
{
	int64_t v;
	int rc = s ? tf_duration_parse_ms(s, &v) : CC_ERR_PARSE;
	if (rc == CC_ERR_INVAL)
		return cc_fail(err, errsz, CC_ERR_INVAL, "must be more than 0");
	if (rc != CC_OK)
		return cc_fail(err, errsz, CC_ERR_INVAL, "must be a Go duration such as 15s or 500ms");
	if (v <= 0)
		return cc_fail(err, errsz, CC_ERR_INVAL, "must be more than 0");
	if (v > 3600 * 1000)
		return cc_fail(err, errsz, CC_ERR_INVAL, "must be at most 1h");
	*out = v;
	return CC_OK;
}

static void
cfg_replace(char **slot, const char *v)
{
	free(*slot);
	*slot = xstrdup(v);
}

int
cfg_set(struct cfg *c, const char *name, const char *value, char *err, size_t errsz)
{
	const struct cfg_def *d = cfg_find(name);
	if (d == NULL) {
		cc_fail(err, errsz, CC_ERR_INVAL, "unknown setting");
		return CC_ERR_NOTFOUND;
	}
	if (value == NULL && d->cd_kind != CK_BOOL)
		return cc_fail(err, errsz, CC_ERR_INVAL, "needs a value");
	long l;
	double x;
	int b;
	int64_t dur;
	char why[160];
	switch (d->cd_id) {
	case CI_MODE:
		if (strcmp(value, "observe") == 0)
			c->c_mode = CFG_MODE_OBSERVE;
		else if (strcmp(value, "enforce") == 0)
			c->c_mode = CFG_MODE_ENFORCE;
		else
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be observe or enforce");
		break;
	case CI_HTTP_ADDR: {
		char host[256];
		int port;
		if (http_parse_addr(value, host, sizeof host, &port, why, sizeof why) != CC_OK)
			return cc_fail(err, errsz, CC_ERR_INVAL, "%s", why);
		cfg_replace(&c->c_http_addr, value);
		break;
	}
	case CI_HTTP_AUTH:
		if (strcmp(value, "none") == 0)
			c->c_http_auth = CFG_HTTP_AUTH_NONE;
		else if (strcmp(value, "kubernetes") == 0)
			c->c_http_auth = CFG_HTTP_AUTH_KUBERNETES;
		else
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be none or kubernetes");
		break;
	case CI_NAMESPACE:
		if (value[0] != '\0' && !res_dns_label_ok(value))
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be a namespace name (lower-case DNS label)");
		cfg_replace(&c->c_namespace, value);
		break;
	case CI_LEADER_ELECT:
		if (value == NULL)
			b = 1;
		else if (cfg_parse_bool(value, &b) != CC_OK)
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be true or false");
		c->c_leader_elect = b;
		break;
	case CI_ARI:
		if (value == NULL)
			b = 1;
		else if (cfg_parse_bool(value, &b) != CC_OK)
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be true or false");
		c->c_ari = b;
		break;
	case CI_LOG_FORMAT: {
		enum log_format f;
		if (log_parse_format(value, &f) != CC_OK)
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be json or text");
		c->c_log_format = f;
		break;
	}
	case CI_LOG_LEVEL: {
		enum log_level lv;
		if (log_parse_level(value, &lv) != CC_OK)
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be debug, info, warn or error");
		c->c_log_level = lv;
		break;
	}
	case CI_CM_NAMESPACE:
		if (!res_dns_label_ok(value))
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be a namespace name (lower-case DNS label)");
		cfg_replace(&c->c_cm_namespace, value);
		break;
	case CI_CM_SELECTOR:
		if (value[0] == '\0' || strlen(value) > 1024)
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be a non-empty label selector");
		for (const char *p = value; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				return cc_fail(err, errsz, CC_ERR_INVAL, "must be printable ASCII");
		cfg_replace(&c->c_cm_selector, value);
		break;
	case CI_WORKERS:
		if (cfg_parse_long(value, 1, 64, &l) != CC_OK)
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be an integer from 1 to 64");
		c->c_workers = (int)l;
		break;
	case CI_REISSUE_BUDGET:
		if (cfg_parse_long(value, 0, 100000, &l) != CC_OK)
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be an integer from 0 to 100000");
		c->c_reissue_budget = (int)l;
		break;
	case CI_FAILOVER_RESTORE:
		if (cfg_parse_dur(value, 60, 0, &dur, err, errsz) != CC_OK)
			return CC_ERR_INVAL;
		c->c_failover_restore_after = dur;
		break;
	case CI_QPS:
		if (cfg_parse_double(value, &x) != CC_OK || x <= 0 || x > 10000)
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be a number above 0 and at most 10000");
		c->c_qps = x;
		break;
	case CI_BURST:
		if (cfg_parse_long(value, 1, 100000, &l) != CC_OK)
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be an integer from 1 to 100000");
		c->c_burst = (int)l;
		break;
	case CI_TARGET_RISK:
		if (cfg_parse_double(value, &x) != CC_OK || !(x > 0 && x < 1))
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be a number between 0 and 1 (exclusive)");
		c->c_target_risk = x;
		break;
	case CI_MIN_RB:
		if (cfg_parse_dur(value, 300, 0, &dur, err, errsz) != CC_OK)
			return CC_ERR_INVAL;
		c->c_min_renew_before = dur;
		break;
	case CI_MAX_RB:
		if (cfg_parse_dur(value, 300, 1, &dur, err, errsz) != CC_OK)
			return CC_ERR_INVAL;
		c->c_max_renew_before = dur;
		break;
	case CI_RESYNC:
		if (cfg_parse_dur(value, 10, 0, &dur, err, errsz) != CC_OK)
			return CC_ERR_INVAL;
		c->c_resync = dur;
		break;
	case CI_CM_METRICS_PORT:
		if (cfg_parse_long(value, 0, 65535, &l) != CC_OK)
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be a port from 1 to 65535, or 0 to turn scraping off");
		c->c_cm_metrics_port = (int)l;
		break;
	case CI_CM_SCRAPE_INTERVAL:
		if (cfg_parse_dur(value, 5, 0, &dur, err, errsz) != CC_OK)
			return CC_ERR_INVAL;
		if (dur > 600)
			return cc_fail(err, errsz, CC_ERR_INVAL, "must be at most 10m (the rates cover 10m)");
		c->c_cm_scrape_interval = dur;
		break;
	case CI_STATE_FILE:
		/* "" turns the checkpoint off; a path ending in '/' names a folder, not a file */
		if (strlen(value) >= 4096 || (value[0] && value[strlen(value) - 1] == '/'))
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "must be a file path (shorter than 4096 bytes), or empty for none");
		for (const char *p = value; *p; p++)
			if ((unsigned char)*p < 0x20)
				return cc_fail(err, errsz, CC_ERR_INVAL, "must not hold control characters");
		cfg_replace(&c->c_state_file, value);
		break;
	case CI_HTTP_TLS_CERT:
	case CI_HTTP_TLS_KEY:
		/* "" turns TLS off; whether the file is usable is checked at start (tlspair.h) */
		if (strlen(value) >= 4096 || (value[0] && value[strlen(value) - 1] == '/'))
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "must be a file path (shorter than 4096 bytes), or empty for none");
		for (const char *p = value; *p; p++)
			if ((unsigned char)*p < 0x20)
				return cc_fail(err, errsz, CC_ERR_INVAL,
				    "must not hold control characters");
		cfg_replace(d->cd_id == CI_HTTP_TLS_CERT ? &c->c_http_tls_cert : &c->c_http_tls_key,
		    value);
		break;
	case CI_PSL_FILE:
		/* a file that cannot be read turns budgets off at start, with a log line */
		if (value[0] == '\0' || strlen(value) >= 4096 || value[strlen(value) - 1] == '/')
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "must be a file path (shorter than 4096 bytes)");
		for (const char *p = value; *p; p++)
			if ((unsigned char)*p < 0x20)
				return cc_fail(err, errsz, CC_ERR_INVAL, "must not hold control characters");
		cfg_replace(&c->c_psl_file, value);
		break;
	case CI_LEASE_NAME:
		if (!res_dns_subdomain_ok(value))
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "must be an object name (lower-case DNS subdomain)");
		cfg_replace(&c->c_lease_name, value);
		break;
	case CI_LEASE_NAMESPACE:
		if (value[0] != '\0' && !res_dns_label_ok(value))
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "must be a namespace name (lower-case DNS label), or empty for "
			    "$POD_NAMESPACE");
		cfg_replace(&c->c_lease_namespace, value);
		break;
	case CI_LEASE_DURATION:
		if (cfg_parse_le_dur(value, &dur, err, errsz) != CC_OK)
			return CC_ERR_INVAL;
		if (dur % 1000 != 0)
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "must be whole seconds (the Lease holds leaseDurationSeconds)");
		c->c_lease_duration_ms = dur;
		break;
	case CI_RENEW_DEADLINE:
		if (cfg_parse_le_dur(value, &dur, err, errsz) != CC_OK)
			return CC_ERR_INVAL;
		c->c_renew_deadline_ms = dur;
		break;
	case CI_RETRY_PERIOD:
		if (cfg_parse_le_dur(value, &dur, err, errsz) != CC_OK)
			return CC_ERR_INVAL;
		c->c_retry_period_ms = dur;
		break;
	}
	return CC_OK;
}

void
cfg_scoring(const struct cfg *c, struct sc_config *out)
{
	sc_config_default(out);
	out->cf_target_risk = c->c_target_risk;
	out->cf_min_renew_before = c->c_min_renew_before;
	out->cf_max_renew_before = c->c_max_renew_before;
	out->cf_failover_restore_after = c->c_failover_restore_after;
	out->cf_mode = c->c_mode == CFG_MODE_ENFORCE ? SC_MODE_ENFORCE : SC_MODE_OBSERVE;
}

int
cfg_validate(const struct cfg *c, char *err, size_t errsz)
{
	if (c->c_max_renew_before != 0 && c->c_max_renew_before < c->c_min_renew_before) {
		char lo[TF_BUFSZ], hi[TF_BUFSZ];
		tf_duration_format(c->c_min_renew_before, lo, sizeof lo);
		tf_duration_format(c->c_max_renew_before, hi, sizeof hi);
		snprintf(err, errsz, "maxRenewBefore (%s) is below minRenewBefore (%s)", hi, lo);
		return CC_ERR_CONFIG;
	}
	if ((c->c_http_tls_cert[0] == '\0') != (c->c_http_tls_key[0] == '\0')) {
		snprintf(err, errsz, "httpTLSCertFile (--http-tls-cert) and httpTLSKeyFile "
				     "(--http-tls-key) go together: %s is set, %s is not",
		    c->c_http_tls_cert[0] ? "the certificate" : "the key",
		    c->c_http_tls_cert[0] ? "the key" : "the certificate");
		return CC_ERR_CONFIG;
	}
	struct le_durations d = {c->c_lease_duration_ms, c->c_renew_deadline_ms,
	    c->c_retry_period_ms};
	if (le_durations_check(&d, err, errsz) != CC_OK)
		return CC_ERR_CONFIG;
	return CC_OK;
}

int
cfg_lease_namespace(const struct cfg *c, const char **out, char *err, size_t errsz)
{
	if (c->c_lease_namespace[0] != '\0') {
		*out = c->c_lease_namespace;
		return CC_OK;
	}
	const char *pod = getenv("POD_NAMESPACE");
	if (pod == NULL || pod[0] == '\0') {
		*out = "certcast";
		return CC_OK;
	}
	if (!res_dns_label_ok(pod))
		return cc_fail(err, errsz, CC_ERR_CONFIG,
		    "$POD_NAMESPACE \"%.64s\" is not a namespace name; set leaseNamespace", pod);
	*out = pod;
	return CC_OK;
}

static const char *
cfg_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? "a plain scalar" :
									 "a quoted string";
	default:
		return "nothing";
	}
}

/* Error text "NAME:LINE:COL: ..." for node n (marks are 0-based, people count from 1). */
static int cfg_at(char *err, size_t errsz, const char *name, const yaml_node_t *n, int rc,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int
cfg_at(char *err, size_t errsz, const char *name, const yaml_node_t *n, int rc, const char *fmt,
    ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n)
		snprintf(err, errsz, "%s:%zu:%zu: %s", name, n->start_mark.line + 1,
		    n->start_mark.column + 1, msg);
	else
		snprintf(err, errsz, "%s: %s", name, msg);
	return rc;
}

static const char *
cfg_kind_word(enum cfg_kind k)
{
	switch (k) {
	case CK_BOOL:
		return "true or false";
	case CK_INT:
		return "an integer";
	case CK_NUMBER:
		return "a number";
	default:
		return "a string";
	}
}

static int
cfg_apply_doc(struct cfg *c, yaml_document_t *doc, const char *name, char *err, size_t errsz)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (root == NULL)
		return CC_OK; /* an empty file keeps every default */
	if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0 &&
	    root->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return CC_OK; /* only comments */
	if (root->type != YAML_MAPPING_NODE)
		return cfg_at(err, errsz, name, root, CC_ERR_PARSE,
		    "the config must be a mapping of settings, not %s", cfg_node_kind(root));
	yaml_node_pair_t *start = root->data.mapping.pairs.start;
	yaml_node_pair_t *top = root->data.mapping.pairs.top;
	for (yaml_node_pair_t *p = start; p < top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE)
			return cfg_at(err, errsz, name, k, CC_ERR_CONFIG, "keys must be plain names");
		const char *key = (const char *)k->data.scalar.value;
		const struct cfg_def *d = NULL;
		for (size_t i = 0; i < CFG_NDEFS; i++)
			if (strcmp(cfg_defs[i].cd_key, key) == 0)
				d = &cfg_defs[i];
		if (d == NULL) {
			const struct cfg_def *f = cfg_find(key);
			if (f)
				return cfg_at(err, errsz, name, k, CC_ERR_CONFIG,
				    "unknown key \"%s\" (did you mean \"%s\"?)", key, f->cd_key);
			return cfg_at(err, errsz, name, k, CC_ERR_CONFIG, "unknown key \"%s\"", key);
		}
		for (yaml_node_pair_t *q = start; q < p; q++) {
			yaml_node_t *k2 = yaml_document_get_node(doc, q->key);
			if (k2 && k2->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)k2->data.scalar.value, key) == 0)
				return cfg_at(err, errsz, name, k, CC_ERR_CONFIG,
				    "key \"%s\" given twice (first at line %zu)", key,
				    k2->start_mark.line + 1);
		}
		int plain = v->type == YAML_SCALAR_NODE &&
		    v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (v->type != YAML_SCALAR_NODE || (d->cd_kind != CK_STRING && !plain))
			return cfg_at(err, errsz, name, v, CC_ERR_CONFIG, "%s: expected %s, got %s", key,
			    cfg_kind_word(d->cd_kind), cfg_node_kind(v));
		const char *val = (const char *)v->data.scalar.value;
		if (strlen(val) != v->data.scalar.length)
			return cfg_at(err, errsz, name, v, CC_ERR_CONFIG,
			    "%s: value contains a NUL byte", key);
		char why[256];
		if (cfg_set(c, key, val, why, sizeof why) != CC_OK)
			return cfg_at(err, errsz, name, v, CC_ERR_CONFIG, "%s: invalid value \"%s\": %s",
			    key, val, why);
	}
	return CC_OK;
}

int
cfg_load_string(struct cfg *c, const char *text, size_t len, const char *name, char *err,
    size_t errsz)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int have_doc = 0, rc = CC_OK;
	struct cfg work;
	cfg_copy(&work, c);
	if (!yaml_parser_initialize(&parser))
		fatalx("libyaml: cannot initialise a parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errsz, "%s:%zu:%zu: not valid YAML: %s", name,
		    parser.problem_mark.line + 1, parser.problem_mark.column + 1,
		    parser.problem ? parser.problem : "unknown problem");
		rc = CC_ERR_PARSE;
		goto out;
	}
	have_doc = 1;
	rc = cfg_apply_doc(&work, &doc, name, err, errsz);
	if (rc != CC_OK)
		goto out;
	/* One document only: a second one would be silently ignored otherwise. */
	yaml_document_t doc2;
	if (!yaml_parser_load(&parser, &doc2)) {
		snprintf(err, errsz, "%s:%zu:%zu: not valid YAML: %s", name,
		    parser.problem_mark.line + 1, parser.problem_mark.column + 1,
		    parser.problem ? parser.problem : "unknown problem");
		rc = CC_ERR_PARSE;
		goto out;
	}
	yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
	if (r2 != NULL) {
		cfg_at(err, errsz, name, r2, CC_ERR_PARSE, "only one YAML document is allowed");
		rc = CC_ERR_PARSE;
	}
	yaml_document_delete(&doc2);
out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc == CC_OK) {
		cfg_free(c);
		*c = work;
	} else {
		cfg_free(&work);
	}
	return rc;
}

int
cfg_load_file(struct cfg *c, const char *path, char *err, size_t errsz)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
		return CC_ERR_IO;
	}
	struct buf b;
	buf_init(&b, CFG_FILE_MAX);
	char chunk[4096];
	size_t n;
	int rc = CC_OK;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
		if (buf_append(&b, chunk, n) != CC_OK) {
			snprintf(err, errsz, "%s: larger than %u bytes", path, CFG_FILE_MAX);
			rc = CC_ERR_TOOBIG;
			goto out;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errsz, "%s: cannot read: %s", path, strerror(errno));
		rc = CC_ERR_IO;
		goto out;
	}
	rc = cfg_load_string(c, b.b_data ? b.b_data : "", b.b_len, path, err, errsz);
out:
	fclose(fp);
	buf_free(&b);
	return rc;
}

static void
cfg_default_text(const struct cfg_def *d, const struct cfg *c, char *out, size_t outsz)
{
	switch (d->cd_id) {
	case CI_MODE:
		snprintf(out, outsz, "%s", cfg_mode_name(c->c_mode));
		break;
	case CI_HTTP_ADDR:
		snprintf(out, outsz, "%s", c->c_http_addr);
		break;
	case CI_HTTP_AUTH:
		snprintf(out, outsz, "%s", cfg_http_auth_name(c->c_http_auth));
		break;
	case CI_NAMESPACE:
		snprintf(out, outsz, "all");
		break;
	case CI_LEADER_ELECT:
		snprintf(out, outsz, "false");
		break;
	case CI_LOG_FORMAT:
		snprintf(out, outsz, "text");
		break;
	case CI_LOG_LEVEL:
		snprintf(out, outsz, "info");
		break;
	case CI_CM_NAMESPACE:
		snprintf(out, outsz, "%s", c->c_cm_namespace);
		break;
	case CI_CM_SELECTOR:
		snprintf(out, outsz, "%s", c->c_cm_selector);
		break;
	case CI_WORKERS:
		snprintf(out, outsz, "%d", c->c_workers);
		break;
	case CI_REISSUE_BUDGET:
		snprintf(out, outsz, "%d", c->c_reissue_budget);
		break;
	case CI_FAILOVER_RESTORE:
		tf_duration_format(c->c_failover_restore_after, out, outsz);
		break;
	case CI_QPS:
		snprintf(out, outsz, "%g", c->c_qps);
		break;
	case CI_BURST:
		snprintf(out, outsz, "%d", c->c_burst);
		break;
	case CI_TARGET_RISK:
		snprintf(out, outsz, "%g", c->c_target_risk);
		break;
	case CI_MIN_RB:
		tf_duration_format(c->c_min_renew_before, out, outsz);
		break;
	case CI_MAX_RB:
		snprintf(out, outsz, "0");
		break;
	case CI_RESYNC:
		tf_duration_format(c->c_resync, out, outsz);
		break;
	case CI_CM_METRICS_PORT:
		snprintf(out, outsz, "%d", c->c_cm_metrics_port);
		break;
	case CI_CM_SCRAPE_INTERVAL:
		tf_duration_format(c->c_cm_scrape_interval, out, outsz);
		break;
	case CI_STATE_FILE:
		snprintf(out, outsz, "none");
		break;
	case CI_ARI:
		snprintf(out, outsz, "%s", c->c_ari ? "true" : "false");
		break;
	case CI_HTTP_TLS_CERT:
	case CI_HTTP_TLS_KEY:
		snprintf(out, outsz, "none: plain HTTP");
		break;
	case CI_PSL_FILE:
		snprintf(out, outsz, "%s", c->c_psl_file);
		break;
	case CI_LEASE_NAME:
		snprintf(out, outsz, "%s", c->c_lease_name);
		break;
	case CI_LEASE_NAMESPACE:
		snprintf(out, outsz, "$POD_NAMESPACE, else certcast");
		break;
	case CI_LEASE_DURATION:
		tf_duration_format_ms(c->c_lease_duration_ms, out, outsz);
		break;
	case CI_RENEW_DEADLINE:
		tf_duration_format_ms(c->c_renew_deadline_ms, out, outsz);
		break;
	case CI_RETRY_PERIOD:
		tf_duration_format_ms(c->c_retry_period_ms, out, outsz);
		break;
	}
}

void
cfg_usage(struct buf *out)
{
	struct cfg def;
	cfg_defaults(&def);
	for (size_t i = 0; i < CFG_NDEFS; i++) {
		const struct cfg_def *d = &cfg_defs[i];
		char flag[64], dv[160];
		snprintf(flag, sizeof flag, "--%s%s%s", d->cd_flag, d->cd_arg[0] ? " " : "",
		    d->cd_arg);
		cfg_default_text(d, &def, dv, sizeof dv);
		buf_printf(out, "  %-40s %s\n  %-40s (file key: %s; default: %s)\n", flag, d->cd_help,
		    "", d->cd_key, dv);
	}
	cfg_free(&def);
}
