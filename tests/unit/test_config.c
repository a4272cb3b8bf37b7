/* Tests for config: defaults, one parser per setting, the strict YAML file, precedence. */
#include "buf.h"
#include "cc_err.h"
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

Test(config, defaults)
{
	struct cfg c;
	cfg_defaults(&c);
	cr_expect_eq(c.c_mode, CFG_MODE_OBSERVE);
	cr_expect_str_eq(c.c_http_addr, ":9403");
	cr_expect_eq(c.c_http_auth, CFG_HTTP_AUTH_NONE, "no authentication unless asked for");
	cr_expect_str_eq(c.c_namespace, "");
	cr_expect_eq(c.c_leader_elect, 0);
	cr_expect_eq(c.c_ari, 1);
	cr_expect_eq(c.c_log_format, LOG_FORMAT_TEXT);
	cr_expect_eq(c.c_log_level, LOG_INFO);
	cr_expect_str_eq(c.c_cm_namespace, "cert-manager");
	cr_expect_str_eq(c.c_cm_selector,
	    "app.kubernetes.io/name=cert-manager,app.kubernetes.io/component=controller");
	cr_expect_eq(c.c_workers, 2);
	cr_expect_eq(c.c_reissue_budget, 10);
	cr_expect_eq(c.c_qps, 20);
	cr_expect_eq(c.c_burst, 40);
	cr_expect_eq(c.c_target_risk, 0.01);
	cr_expect_eq(c.c_min_renew_before, 300);
	cr_expect_eq(c.c_max_renew_before, 0);
	cr_expect_eq(c.c_resync, 300);
	cr_expect_eq(c.c_cm_metrics_port, 9402);
	cr_expect_eq(c.c_cm_scrape_interval, 30);
	cr_expect_str_eq(c.c_lease_name, "certcast-leader");
	cr_expect_str_eq(c.c_lease_namespace, "", "resolved from $POD_NAMESPACE at start");
	cr_expect_eq(c.c_lease_duration_ms, 15000, "client-go's leaseDuration");
	cr_expect_eq(c.c_renew_deadline_ms, 10000, "client-go's renewDeadline");
	cr_expect_eq(c.c_retry_period_ms, 2000, "client-go's retryPeriod");
	char err[128];
	cr_expect_eq(cfg_validate(&c, err, sizeof err), CC_OK);
	cfg_free(&c);
	cfg_free(NULL);
}

/* A snapshot of every field as text, to see exactly what a call changed. */
static void
snap(const struct cfg *c, char *out, size_t n)
{
	snprintf(out, n, "%d|%s|%s|%d|%d|%d|%s|%s|%d|%g|%d|%g|%lld|%lld|%lld|%d|%lld|%s|%s|%lld|%lld|%lld",
	    (int)c->c_mode, c->c_http_addr, c->c_namespace, c->c_leader_elect,
	    (int)c->c_log_format, (int)c->c_log_level, c->c_cm_namespace, c->c_cm_selector,
	    c->c_workers, c->c_qps, c->c_burst, c->c_target_risk, (long long)c->c_min_renew_before,
	    (long long)c->c_max_renew_before, (long long)c->c_resync, c->c_cm_metrics_port,
	    (long long)c->c_cm_scrape_interval, c->c_lease_name, c->c_lease_namespace,
	    (long long)c->c_lease_duration_ms, (long long)c->c_renew_deadline_ms,
	    (long long)c->c_retry_period_ms);
}

struct set_case {
	const char *sc_name;   /* case name */
	const char *sc_key;    /* file key or flag spelling */
	const char *sc_value;  /* NULL: boolean flag without value */
	int sc_rc;             /* expected result */
	const char *sc_check;  /* for success: the field as text after the call; else a reason */
};

/* The field of c that the key names, as text. */
static void
field_text(const struct cfg *c, const char *key, char *out, size_t n)
{
	if (!strcmp(key, "mode"))
		snprintf(out, n, "%s", cfg_mode_name(c->c_mode));
	else if (!strcmp(key, "httpAddr") || !strcmp(key, "http-addr"))
		snprintf(out, n, "%s", c->c_http_addr);
	else if (!strcmp(key, "httpAuth") || !strcmp(key, "http-auth"))
		snprintf(out, n, "%s", cfg_http_auth_name(c->c_http_auth));
	else if (!strcmp(key, "namespace"))
		snprintf(out, n, "%s", c->c_namespace);
	else if (!strcmp(key, "leaderElect") || !strcmp(key, "leader-elect"))
		snprintf(out, n, "%d", c->c_leader_elect);
	else if (!strcmp(key, "ari"))
		snprintf(out, n, "%d", c->c_ari);
	else if (!strcmp(key, "logFormat") || !strcmp(key, "log-format"))
		snprintf(out, n, "%d", (int)c->c_log_format);
	else if (!strcmp(key, "logLevel") || !strcmp(key, "log-level"))
		snprintf(out, n, "%d", (int)c->c_log_level);
	else if (!strcmp(key, "certManagerNamespace") || !strcmp(key, "cert-manager-namespace"))
		snprintf(out, n, "%s", c->c_cm_namespace);
	else if (!strcmp(key, "certManagerPodSelector"))
		snprintf(out, n, "%s", c->c_cm_selector);
	else if (!strcmp(key, "workers"))
		snprintf(out, n, "%d", c->c_workers);
	else if (!strcmp(key, "reissueBudget"))
		snprintf(out, n, "%d", c->c_reissue_budget);
	else if (!strcmp(key, "failoverRestoreAfter") || !strcmp(key, "failover-restore-after"))
		snprintf(out, n, "%lld", (long long)c->c_failover_restore_after);
	else if (!strcmp(key, "clientQPS") || !strcmp(key, "client-qps"))
		snprintf(out, n, "%g", c->c_qps);
	else if (!strcmp(key, "clientBurst"))
		snprintf(out, n, "%d", c->c_burst);
	else if (!strcmp(key, "targetRisk") || !strcmp(key, "target-risk"))
		snprintf(out, n, "%g", c->c_target_risk);
	else if (!strcmp(key, "minRenewBefore") || !strcmp(key, "min-renew-before"))
		snprintf(out, n, "%lld", (long long)c->c_min_renew_before);
	else if (!strcmp(key, "maxRenewBefore") || !strcmp(key, "max-renew-before"))
		snprintf(out, n, "%lld", (long long)c->c_max_renew_before);
	else if (!strcmp(key, "resyncPeriod") || !strcmp(key, "resync-period"))
		snprintf(out, n, "%lld", (long long)c->c_resync);
	else if (!strcmp(key, "certManagerMetricsPort") || !strcmp(key, "cert-manager-metrics-port"))
		snprintf(out, n, "%d", c->c_cm_metrics_port);
	else if (!strcmp(key, "certManagerScrapeInterval") ||
		 !strcmp(key, "cert-manager-scrape-interval"))
		snprintf(out, n, "%lld", (long long)c->c_cm_scrape_interval);
	else if (!strcmp(key, "leaseName") || !strcmp(key, "lease-name"))
		snprintf(out, n, "%s", c->c_lease_name);
	else if (!strcmp(key, "leaseNamespace") || !strcmp(key, "lease-namespace"))
		snprintf(out, n, "%s", c->c_lease_namespace);
	else if (!strcmp(key, "leaseDuration") || !strcmp(key, "lease-duration"))
		snprintf(out, n, "%lld", (long long)c->c_lease_duration_ms);
	else if (!strcmp(key, "renewDeadline") || !strcmp(key, "renew-deadline"))
		snprintf(out, n, "%lld", (long long)c->c_renew_deadline_ms);
	else if (!strcmp(key, "retryPeriod") || !strcmp(key, "retry-period"))
		snprintf(out, n, "%lld", (long long)c->c_retry_period_ms);
	else
		snprintf(out, n, "?");
}

Test(config, set_table)
{
	static const struct set_case cases[] = {
	    {"mode enforce", "mode", "enforce", CC_OK, "enforce"},
	    {"mode observe", "mode", "observe", CC_OK, "observe"},
	    {"mode off is per-certificate only", "mode", "off", CC_ERR_INVAL, "observe or enforce"},
	    {"mode case matters", "mode", "Enforce", CC_ERR_INVAL, "observe or enforce"},
	    {"httpAuth kubernetes", "httpAuth", "kubernetes", CC_OK, "kubernetes"},
	    {"http-auth none", "http-auth", "none", CC_OK, "none"},
	    {"httpAuth other value", "httpAuth", "rbac", CC_ERR_INVAL,
		"must be none or kubernetes"},
	    {"httpAuth empty", "http-auth", "", CC_ERR_INVAL, "must be none or kubernetes"},
	    {"httpAuth case matters", "httpAuth", "Kubernetes", CC_ERR_INVAL, "none or kubernetes"},
	    {"addr ipv4", "httpAddr", "127.0.0.1:8080", CC_OK, "127.0.0.1:8080"},
	    {"addr flag spelling", "http-addr", "[::1]:9", CC_OK, "[::1]:9"},
	    {"addr without port", "httpAddr", "localhost", CC_ERR_INVAL, ":PORT"},
	    {"addr bad port", "httpAddr", ":99999", CC_ERR_INVAL, "0..65535"},
	    {"namespace", "namespace", "team-a", CC_OK, "team-a"},
	    {"namespace empty is all", "namespace", "", CC_OK, ""},
	    {"namespace upper case", "namespace", "Team", CC_ERR_INVAL, "DNS label"},
	    {"namespace trailing dash", "namespace", "team-", CC_ERR_INVAL, "DNS label"},
	    {"leader bare flag", "leader-elect", NULL, CC_OK, "1"},
	    {"leader false", "leaderElect", "false", CC_OK, "0"},
	    {"leader True", "leaderElect", "True", CC_OK, "1"},
	    {"leader yes is not YAML 1.2 bool", "leaderElect", "yes", CC_ERR_INVAL, "true or false"},
	    {"ari off", "ari", "false", CC_OK, "0"},
	    {"ari bare flag", "ari", NULL, CC_OK, "1"},
	    {"ari not a bool", "ari", "sometimes", CC_ERR_INVAL, "true or false"},
	    {"log json", "logFormat", "json", CC_OK, "1"},
	    {"log xml", "log-format", "xml", CC_ERR_INVAL, "json or text"},
	    {"level debug", "logLevel", "debug", CC_OK, "0"},
	    {"level loud", "log-level", "loud", CC_ERR_INVAL, "debug, info, warn or error"},
	    {"cm namespace", "certManagerNamespace", "cm", CC_OK, "cm"},
	    {"cm namespace empty", "cert-manager-namespace", "", CC_ERR_INVAL, "DNS label"},
	    {"selector", "certManagerPodSelector", "app=cm", CC_OK, "app=cm"},
	    {"selector empty", "certManagerPodSelector", "", CC_ERR_INVAL, "non-empty"},
	    {"selector control char", "certManagerPodSelector", "a=\tb", CC_ERR_INVAL, "printable"},
	    {"workers 8", "workers", "8", CC_OK, "8"},
	    {"reissueBudget 0 lifts the limit", "reissueBudget", "0", CC_OK, "0"},
	    {"reissueBudget 25", "reissueBudget", "25", CC_OK, "25"},
	    {"reissueBudget negative", "reissueBudget", "-1", CC_ERR_INVAL, "0 to 100000"},
	    {"reissueBudget text", "reissueBudget", "ten", CC_ERR_INVAL, "0 to 100000"},
	    {"failoverRestoreAfter 2h", "failoverRestoreAfter", "2h", CC_OK, "7200"},
	    {"failover-restore-after 1m", "failover-restore-after", "1m", CC_OK, "60"},
	    {"failoverRestoreAfter under a minute", "failoverRestoreAfter", "30s", CC_ERR_INVAL,
		"at least 1m"},
	    {"failoverRestoreAfter 0", "failoverRestoreAfter", "0", CC_ERR_INVAL, "at least 1m"},
	    {"failoverRestoreAfter not a duration", "failoverRestoreAfter", "a day", CC_ERR_INVAL,
		"Go duration"},
	    {"workers 0", "workers", "0", CC_ERR_INVAL, "1 to 64"},
	    {"workers 65", "workers", "65", CC_ERR_INVAL, "1 to 64"},
	    {"workers text", "workers", "four", CC_ERR_INVAL, "1 to 64"},
	    {"workers trailing junk", "workers", "4x", CC_ERR_INVAL, "1 to 64"},
	    {"workers overflow", "workers", "99999999999999999999", CC_ERR_INVAL, "1 to 64"},
	    {"qps 5.5", "clientQPS", "5.5", CC_OK, "5.5"},
	    {"qps zero", "client-qps", "0", CC_ERR_INVAL, "above 0"},
	    {"qps nan", "clientQPS", "nan", CC_ERR_INVAL, "above 0"},
	    {"burst", "clientBurst", "100", CC_OK, "100"},
	    {"burst negative", "client-burst", "-1", CC_ERR_INVAL, "1 to 100000"},
	    {"risk", "targetRisk", "0.05", CC_OK, "0.05"},
	    {"risk one", "target-risk", "1", CC_ERR_INVAL, "between 0 and 1"},
	    {"risk zero", "targetRisk", "0", CC_ERR_INVAL, "between 0 and 1"},
	    {"min rb 240h", "minRenewBefore", "240h", CC_OK, "864000"},
	    {"min rb 4m", "min-renew-before", "4m", CC_ERR_INVAL, "at least 5m0s"},
	    {"min rb zero", "minRenewBefore", "0", CC_ERR_INVAL, "at least"},
	    {"min rb not a duration", "minRenewBefore", "ten days", CC_ERR_INVAL, "Go duration"},
	    {"min rb negative", "minRenewBefore", "-1h", CC_ERR_INVAL, "Go duration"},
	    {"max rb zero", "maxRenewBefore", "0", CC_OK, "0"},
	    {"max rb 1h30m", "max-renew-before", "1h30m", CC_OK, "5400"},
	    {"max rb 1m", "maxRenewBefore", "1m", CC_ERR_INVAL, "or 0"},
	    {"resync 30s", "resyncPeriod", "30s", CC_OK, "30"},
	    {"resync 1s", "resync-period", "1s", CC_ERR_INVAL, "at least 10s"},
	    {"metrics port", "certManagerMetricsPort", "19402", CC_OK, "19402"},
	    {"metrics port off", "cert-manager-metrics-port", "0", CC_OK, "0"},
	    {"metrics port too high", "certManagerMetricsPort", "65536", CC_ERR_INVAL, "1 to 65535"},
	    {"metrics port negative", "cert-manager-metrics-port", "-1", CC_ERR_INVAL, "or 0"},
	    {"metrics port text", "certManagerMetricsPort", "http", CC_ERR_INVAL, "port"},
	    {"scrape 1m", "certManagerScrapeInterval", "1m", CC_OK, "60"},
	    {"scrape 1s", "cert-manager-scrape-interval", "1s", CC_ERR_INVAL, "at least 5s"},
	    {"scrape 1h", "certManagerScrapeInterval", "1h", CC_ERR_INVAL, "at most 10m"},
	    {"lease name", "leaseName", "shop-certcast", CC_OK, "shop-certcast"},
	    {"lease name with dots", "lease-name", "certcast.example.com", CC_OK,
		"certcast.example.com"},
	    {"lease name upper case", "leaseName", "Certcast", CC_ERR_INVAL, "DNS subdomain"},
	    {"lease name empty", "leaseName", "", CC_ERR_INVAL, "DNS subdomain"},
	    {"lease namespace", "leaseNamespace", "ops", CC_OK, "ops"},
	    {"lease namespace empty is $POD_NAMESPACE", "lease-namespace", "", CC_OK, ""},
	    {"lease namespace bad", "leaseNamespace", "ops_1", CC_ERR_INVAL, "DNS label"},
	    {"lease duration 30s", "leaseDuration", "30s", CC_OK, "30000"},
	    {"lease duration 1m", "lease-duration", "1m", CC_OK, "60000"},
	    {"lease duration fractional", "leaseDuration", "1500ms", CC_ERR_INVAL, "whole seconds"},
	    {"lease duration zero", "leaseDuration", "0s", CC_ERR_INVAL, "more than 0"},
	    {"lease duration negative", "leaseDuration", "-15s", CC_ERR_INVAL, "more than 0"},
	    {"lease duration not a duration", "leaseDuration", "15", CC_ERR_INVAL, "Go duration"},
	    {"lease duration 2h", "leaseDuration", "2h", CC_ERR_INVAL, "at most 1h"},
	    {"renew deadline 500ms", "renewDeadline", "500ms", CC_OK, "500"},
	    {"renew deadline zero", "renew-deadline", "0", CC_ERR_INVAL, "more than 0"},
	    {"retry period 250ms", "retryPeriod", "250ms", CC_OK, "250"},
	    {"retry period words", "retry-period", "often", CC_ERR_INVAL, "Go duration"},
	    {"unknown", "colour", "red", CC_ERR_NOTFOUND, "unknown setting"},
	    {"value needed", "workers", NULL, CC_ERR_INVAL, "needs a value"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct set_case *sc = &cases[i];
		struct cfg c;
		cfg_defaults(&c);
		char before[1024], after[1024], err[256] = "", field[256];
		snap(&c, before, sizeof before);
		int rc = cfg_set(&c, sc->sc_key, sc->sc_value, err, sizeof err);
		snap(&c, after, sizeof after);
		cr_expect_eq(rc, sc->sc_rc, "%s: rc %d, want %d (%s)", sc->sc_name, rc, sc->sc_rc, err);
		if (sc->sc_rc == CC_OK) {
			field_text(&c, sc->sc_key, field, sizeof field);
			cr_expect_str_eq(field, sc->sc_check, "%s", sc->sc_name);
		} else {
			cr_expect(strstr(err, sc->sc_check), "%s: reason \"%s\" lacks \"%s\"",
			    sc->sc_name, err, sc->sc_check);
			cr_expect_str_eq(after, before, "%s: config changed on error", sc->sc_name);
		}
		cfg_free(&c);
	}
}

Test(config, flags_known)
{
	int b = -1;
	cr_expect(cfg_is_flag("http-addr", &b));
	cr_expect_eq(b, 0);
	cr_expect(cfg_is_flag("leader-elect", &b));
	cr_expect_eq(b, 1);
	cr_expect_not(cfg_is_flag("httpAddr", &b), "file spelling is not a flag");
	cr_expect_not(cfg_is_flag("nope", &b));
}

static const char full_yaml[] = "# every setting\n"
				"mode: enforce\n"
				"httpAddr: \"127.0.0.1:9999\"\n"
				"namespace: shop\n"
				"leaderElect: false\n"
				"logFormat: json\n"
				"logLevel: warn\n"
				"certManagerNamespace: cm-system\n"
				"certManagerPodSelector: app=cert-manager\n"
				"workers: 4\n"
				"clientQPS: 7.5\n"
				"clientBurst: 15\n"
				"targetRisk: 0.002\n"
				"minRenewBefore: 24h\n"
				"maxRenewBefore: 720h\n"
				"resyncPeriod: 2m\n"
				"leaseName: cc-lock\n"
				"leaseNamespace: ops\n"
				"leaseDuration: 30s\n"
				"renewDeadline: 20s\n"
				"retryPeriod: 4s\n";

Test(config, file_sets_every_key)
{
	struct cfg c;
	cfg_defaults(&c);
	char err[256] = "";
	cr_assert_eq(cfg_load_string(&c, full_yaml, strlen(full_yaml), "full.yaml", err, sizeof err),
	    CC_OK, "%s", err);
	cr_expect_eq(c.c_mode, CFG_MODE_ENFORCE);
	cr_expect_str_eq(c.c_http_addr, "127.0.0.1:9999");
	cr_expect_str_eq(c.c_namespace, "shop");
	cr_expect_eq(c.c_leader_elect, 0);
	cr_expect_eq(c.c_log_format, LOG_FORMAT_JSON);
	cr_expect_eq(c.c_log_level, LOG_WARN);
	cr_expect_str_eq(c.c_cm_namespace, "cm-system");
	cr_expect_str_eq(c.c_cm_selector, "app=cert-manager");
	cr_expect_eq(c.c_workers, 4);
	cr_expect_eq(c.c_qps, 7.5);
	cr_expect_eq(c.c_burst, 15);
	cr_expect_eq(c.c_target_risk, 0.002);
	cr_expect_eq(c.c_min_renew_before, 86400);
	cr_expect_eq(c.c_max_renew_before, 720 * 3600);
	cr_expect_eq(c.c_resync, 120);
	cr_expect_str_eq(c.c_lease_name, "cc-lock");
	cr_expect_str_eq(c.c_lease_namespace, "ops");
	cr_expect_eq(c.c_lease_duration_ms, 30000);
	cr_expect_eq(c.c_renew_deadline_ms, 20000);
	cr_expect_eq(c.c_retry_period_ms, 4000);
	cr_expect_eq(cfg_validate(&c, err, sizeof err), CC_OK, "%s", err);
	cfg_free(&c);
}

struct file_case {
	const char *fc_name;
	const char *fc_yaml;
	int fc_rc;
	const char *fc_err; /* expected substring, with NAME:LINE:COL */
};

Test(config, file_errors)
{
	static const struct file_case cases[] = {
	    {"unknown key", "mode: observe\ncolour: red\n", CC_ERR_CONFIG,
		"t.yaml:2:1: unknown key \"colour\""},
	    {"flag spelling as key", "http-addr: \":1\"\n", CC_ERR_CONFIG,
		"t.yaml:1:1: unknown key \"http-addr\" (did you mean \"httpAddr\"?)"},
	    {"key twice", "workers: 2\nmode: observe\nworkers: 3\n", CC_ERR_CONFIG,
		"t.yaml:3:1: key \"workers\" given twice (first at line 1)"},
	    {"mapping for int", "workers:\n  n: 2\n", CC_ERR_CONFIG,
		"t.yaml:2:3: workers: expected an integer, got a mapping"},
	    {"quoted int", "workers: \"2\"\n", CC_ERR_CONFIG,
		"t.yaml:1:10: workers: expected an integer, got a quoted string"},
	    {"list for string", "mode: [observe]\n", CC_ERR_CONFIG,
		"t.yaml:1:7: mode: expected a string, got a list"},
	    {"quoted bool", "leaderElect: 'true'\n", CC_ERR_CONFIG,
		"t.yaml:1:14: leaderElect: expected true or false, got a quoted string"},
	    {"float for int", "clientBurst: 1.5\n", CC_ERR_CONFIG,
		"t.yaml:1:14: clientBurst: invalid value \"1.5\": must be an integer"},
	    {"bad enum", "\n\nmode:   bogus\n", CC_ERR_CONFIG,
		"t.yaml:3:9: mode: invalid value \"bogus\": must be observe or enforce"},
	    {"bad duration", "resyncPeriod: 5 minutes\n", CC_ERR_CONFIG,
		"t.yaml:1:15: resyncPeriod: invalid value \"5 minutes\": must be a Go duration"},
	    {"null value", "targetRisk:\n", CC_ERR_CONFIG,
		"t.yaml:1:12: targetRisk: invalid value \"\": must be a number"},
	    {"not yaml", "mode: observe\n  workers: [1\n", CC_ERR_PARSE, "t.yaml:2:"},
	    {"tab indentation", "mode:\n\t- x\n", CC_ERR_PARSE, "t.yaml:2:1: not valid YAML"},
	    {"list at top", "- mode\n- workers\n", CC_ERR_PARSE,
		"t.yaml:1:1: the config must be a mapping of settings, not a list"},
	    {"scalar at top", "observe\n", CC_ERR_PARSE,
		"t.yaml:1:1: the config must be a mapping of settings, not a plain scalar"},
	    {"two documents", "mode: observe\n---\nmode: enforce\n", CC_ERR_PARSE,
		"t.yaml:3:1: only one YAML document is allowed"},
	    {"complex key", "? [a]\n: 1\n", CC_ERR_CONFIG, "t.yaml:1:3: keys must be plain names"},
	    {"bad lease duration", "leaderElect: true\nleaseDuration: 0s\n", CC_ERR_CONFIG,
		"t.yaml:2:16: leaseDuration: invalid value \"0s\": must be more than 0"},
	    {"bad lease name", "leaseName: My_Lease\n", CC_ERR_CONFIG,
		"t.yaml:1:12: leaseName: invalid value \"My_Lease\": must be an object name"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct file_case *fc = &cases[i];
		struct cfg c;
		cfg_defaults(&c);
		char before[1024], after[1024], err[512] = "";
		snap(&c, before, sizeof before);
		int rc = cfg_load_string(&c, fc->fc_yaml, strlen(fc->fc_yaml), "t.yaml", err,
		    sizeof err);
		snap(&c, after, sizeof after);
		cr_expect_eq(rc, fc->fc_rc, "%s: rc %d want %d (%s)", fc->fc_name, rc, fc->fc_rc, err);
		cr_expect(strstr(err, fc->fc_err), "%s: got \"%s\", want \"%s\"", fc->fc_name, err,
		    fc->fc_err);
		cr_expect_str_eq(after, before, "%s: config changed on error", fc->fc_name);
		cfg_free(&c);
	}
}

Test(config, error_leaves_earlier_keys_unapplied)
{
	struct cfg c;
	cfg_defaults(&c);
	char err[256];
	const char *y = "workers: 9\nmode: enforce\nbogus: 1\n";
	cr_expect_eq(cfg_load_string(&c, y, strlen(y), "x", err, sizeof err), CC_ERR_CONFIG);
	cr_expect_eq(c.c_workers, 2);
	cr_expect_eq(c.c_mode, CFG_MODE_OBSERVE);
	cfg_free(&c);
}

Test(config, empty_and_comment_only_files)
{
	const char *texts[] = {"", "# nothing here\n", "\n\n", "---\n"};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		struct cfg c;
		cfg_defaults(&c);
		char err[256] = "", before[1024], after[1024];
		snap(&c, before, sizeof before);
		cr_expect_eq(cfg_load_string(&c, texts[i], strlen(texts[i]), "e", err, sizeof err),
		    CC_OK, "text %zu: %s", i, err);
		snap(&c, after, sizeof after);
		cr_expect_str_eq(after, before);
		cfg_free(&c);
	}
}

/* defaults < file < flags: each layer wins only for what it sets. */
Test(config, precedence)
{
	struct cfg c;
	cfg_defaults(&c);
	char err[256];
	const char *y = "workers: 4\nmode: enforce\nlogLevel: warn\n";
	cr_assert_eq(cfg_load_string(&c, y, strlen(y), "p", err, sizeof err), CC_OK);
	cr_assert_eq(cfg_set(&c, "workers", "8", err, sizeof err), CC_OK);
	cr_assert_eq(cfg_set(&c, "http-addr", "127.0.0.1:1", err, sizeof err), CC_OK);
	cr_expect_eq(c.c_workers, 8, "flag beats file");
	cr_expect_eq(c.c_mode, CFG_MODE_ENFORCE, "file beats default");
	cr_expect_eq(c.c_log_level, LOG_WARN, "file beats default");
	cr_expect_str_eq(c.c_http_addr, "127.0.0.1:1", "flag beats default");
	cr_expect_eq(c.c_burst, 40, "default stays when nobody sets it");
	cfg_free(&c);
}

Test(config, validate_min_max)
{
	struct cfg c;
	cfg_defaults(&c);
	char err[256] = "";
	cr_assert_eq(cfg_set(&c, "minRenewBefore", "48h", err, sizeof err), CC_OK);
	cr_assert_eq(cfg_set(&c, "maxRenewBefore", "24h", err, sizeof err), CC_OK);
	cr_expect_eq(cfg_validate(&c, err, sizeof err), CC_ERR_CONFIG);
	cr_expect(strstr(err, "maxRenewBefore (24h0m0s) is below minRenewBefore (48h0m0s)"), "%s",
	    err);
	cr_assert_eq(cfg_set(&c, "maxRenewBefore", "48h", err, sizeof err), CC_OK);
	cr_expect_eq(cfg_validate(&c, err, sizeof err), CC_OK, "equal bounds are fine");
	cr_assert_eq(cfg_set(&c, "maxRenewBefore", "0", err, sizeof err), CC_OK);
	cr_expect_eq(cfg_validate(&c, err, sizeof err), CC_OK, "0 means unbounded");
	cfg_free(&c);
}

Test(config, load_file)
{
	char path[] = "/tmp/certcast-cfg-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	const char *y = "workers: 3\n";
	cr_assert_eq(write(fd, y, strlen(y)), (ssize_t)strlen(y));
	close(fd);
	struct cfg c;
	cfg_defaults(&c);
	char err[512] = "";
	cr_expect_eq(cfg_load_file(&c, path, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(c.c_workers, 3);
	unlink(path);
	cr_expect_eq(cfg_load_file(&c, path, err, sizeof err), CC_ERR_IO);
	cr_expect(strstr(err, path), "error names the file: %s", err);
	cr_expect_eq(c.c_workers, 3);

	/* Over the size limit. */
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	char block[4096];
	memset(block, '#', sizeof block);
	for (int i = 0; i < 300; i++)
		cr_assert_eq(write(fd, block, sizeof block), (ssize_t)sizeof block);
	close(fd);
	cr_expect_eq(cfg_load_file(&c, path, err, sizeof err), CC_ERR_TOOBIG);
	unlink(path);
	cfg_free(&c);
}

Test(config, usage_lists_every_flag)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	cfg_usage(&b);
	const char *flags[] = {"--mode", "--http-addr", "--http-auth", "--namespace",
	    "--leader-elect",
	    "--log-format", "--log-level", "--cert-manager-namespace", "--cert-manager-pod-selector",
	    "--workers", "--client-qps", "--client-burst", "--target-risk", "--min-renew-before",
	    "--max-renew-before", "--resync-period", "--cert-manager-metrics-port",
	    "--cert-manager-scrape-interval", "--lease-name", "--lease-namespace",
	    "--lease-duration", "--renew-deadline", "--retry-period"};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		cr_expect(strstr(b.b_data, flags[i]), "missing %s", flags[i]);
		int is_bool;
		cr_expect(cfg_is_flag(flags[i] + 2, &is_bool), "%s not a flag", flags[i]);
	}
	cr_expect(strstr(b.b_data, "default: :9403"));
	cr_expect(strstr(b.b_data, "(file key: leaseDuration; default: 15s)"), "lease default");
	cr_expect(strstr(b.b_data, "(file key: renewDeadline; default: 10s)"), "renew default");
	cr_expect(strstr(b.b_data, "(file key: retryPeriod; default: 2s)"), "retry default");
	cr_expect(strstr(b.b_data, "default: $POD_NAMESPACE, else certcast"), "namespace default");
	buf_free(&b);
}

struct le_rel_case {
	const char *lc_name;
	const char *lc_yaml;
	int lc_rc;
	const char *lc_err;
};

/* leader election's durations: retryPeriod < renewDeadline < leaseDuration, as client-go asks */
Test(config, validate_lease_durations)
{
	static const struct le_rel_case cases[] = {
	    {"defaults", "", CC_OK, NULL},
	    {"all three ordered", "leaseDuration: 6s\nrenewDeadline: 4s\nretryPeriod: 1s\n", CC_OK,
		NULL},
	    {"lease shorter than the default renewDeadline", "leaseDuration: 5s\n", CC_ERR_CONFIG,
		"renewDeadline (10s) must be shorter than leaseDuration (5s)"},
	    {"renewDeadline equal to leaseDuration", "renewDeadline: 15s\n", CC_ERR_CONFIG,
		"renewDeadline (15s) must be shorter than leaseDuration (15s)"},
	    {"retryPeriod equal to renewDeadline", "retryPeriod: 10s\n", CC_ERR_CONFIG,
		"retryPeriod (10s) must be shorter than renewDeadline (10s)"},
	    {"retryPeriod above a short renewDeadline", "renewDeadline: 1s\n", CC_ERR_CONFIG,
		"retryPeriod (2s) must be shorter than renewDeadline (1s)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct le_rel_case *lc = &cases[i];
		struct cfg c;
		cfg_defaults(&c);
		char err[512] = "";
		cr_assert_eq(cfg_load_string(&c, lc->lc_yaml, strlen(lc->lc_yaml), "t.yaml", err,
				 sizeof err),
		    CC_OK, "%s: %s", lc->lc_name, err);
		int rc = cfg_validate(&c, err, sizeof err);
		cr_expect_eq(rc, lc->lc_rc, "%s: rc %d (%s)", lc->lc_name, rc, err);
		if (lc->lc_err)
			cr_expect(strstr(err, lc->lc_err) != NULL, "%s: \"%s\" lacks \"%s\"",
			    lc->lc_name, err, lc->lc_err);
		cfg_free(&c);
	}
}

/* leaseNamespace, else $POD_NAMESPACE, else certcast */
Test(config, lease_namespace)
{
	struct cfg c;
	cfg_defaults(&c);
	const char *ns = NULL;
	char err[256] = "";
	unsetenv("POD_NAMESPACE");
	cr_expect_eq(cfg_lease_namespace(&c, &ns, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(ns, "certcast", "neither set");
	setenv("POD_NAMESPACE", "team-a", 1);
	cr_expect_eq(cfg_lease_namespace(&c, &ns, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(ns, "team-a", "the pod's namespace");
	setenv("POD_NAMESPACE", "", 1);
	cr_expect_eq(cfg_lease_namespace(&c, &ns, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(ns, "certcast", "empty counts as unset");
	setenv("POD_NAMESPACE", "Not A Namespace", 1);
	cr_expect_eq(cfg_lease_namespace(&c, &ns, err, sizeof err), CC_ERR_CONFIG, "bad env");
	cr_expect(strstr(err, "$POD_NAMESPACE \"Not A Namespace\" is not a namespace name"), "%s",
	    err);
	cr_assert_eq(cfg_set(&c, "leaseNamespace", "ops", err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(cfg_lease_namespace(&c, &ns, err, sizeof err), CC_OK, "the key wins: %s", err);
	cr_expect_str_eq(ns, "ops", "the key wins over the environment");
	cfg_free(&c);
}

/* stateFile: empty by default (no checkpoint), a path by key or flag, a folder path refused. */
Test(config, state_file)
{
	struct cfg c;
	char err[256] = "";
	cfg_defaults(&c);
	cr_expect_str_eq(c.c_state_file, "", "no checkpoint unless asked");
	cr_expect_eq(cfg_set(&c, "state-file", "/var/lib/certcast/model.state", err, sizeof err), CC_OK,
	    "%s", err);
	cr_expect_str_eq(c.c_state_file, "/var/lib/certcast/model.state");
	cr_expect_eq(cfg_set(&c, "stateFile", "/var/lib/certcast/", err, sizeof err), CC_ERR_INVAL);
	cr_expect(strstr(err, "file path") != NULL, "%s", err);
	cr_expect_str_eq(c.c_state_file, "/var/lib/certcast/model.state", "unchanged on error");
	cr_expect_eq(cfg_set(&c, "stateFile", "", err, sizeof err), CC_OK, "empty turns it off");
	cr_expect_str_eq(c.c_state_file, "");
	const char *y = "stateFile: /tmp/s\n";
	cr_expect_eq(cfg_load_string(&c, y, strlen(y), "t.yaml", err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(c.c_state_file, "/tmp/s");
	cfg_free(&c);
}

/* publicSuffixList: the Debian package's file by default, a path by key or flag, "" refused. */
Test(config, public_suffix_list)
{
	struct cfg c;
	char err[256] = "";
	cfg_defaults(&c);
	cr_expect_str_eq(c.c_psl_file, "/usr/share/publicsuffix/public_suffix_list.dat");
	cr_expect_eq(cfg_set(&c, "public-suffix-list", "/etc/certcast/psl.dat", err, sizeof err),
	    CC_OK, "%s", err);
	cr_expect_str_eq(c.c_psl_file, "/etc/certcast/psl.dat");
	cr_expect_eq(cfg_set(&c, "publicSuffixList", "", err, sizeof err), CC_ERR_INVAL);
	cr_expect(strstr(err, "file path") != NULL, "%s", err);
	cr_expect_eq(cfg_set(&c, "publicSuffixList", "/etc/", err, sizeof err), CC_ERR_INVAL);
	cr_expect_str_eq(c.c_psl_file, "/etc/certcast/psl.dat", "unchanged on error");
	const char *y = "publicSuffixList: /tmp/psl.dat\n";
	cr_expect_eq(cfg_load_string(&c, y, strlen(y), "t.yaml", err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(c.c_psl_file, "/tmp/psl.dat");
	struct buf b;
	buf_init(&b, 1 << 16);
	cfg_usage(&b);
	cr_expect(strstr(b.b_data, "--public-suffix-list PATH") != NULL);
	buf_free(&b);
	cfg_free(&c);
}

Test(config, http_auth_in_file_and_usage)
{
	struct cfg c;
	char err[256];
	cfg_defaults(&c);
	const char *y = "httpAuth: kubernetes\n";
	cr_expect_eq(cfg_load_string(&c, y, strlen(y), "t.yaml", err, sizeof err), CC_OK, "%s",
	    err);
	cr_expect_eq(c.c_http_auth, CFG_HTTP_AUTH_KUBERNETES);
	const char *bad = "httpAuth: basic\n";
	cr_expect_eq(cfg_load_string(&c, bad, strlen(bad), "t.yaml", err, sizeof err),
	    CC_ERR_CONFIG);
	cr_expect_str_eq(err,
	    "t.yaml:1:11: httpAuth: invalid value \"basic\": must be none or kubernetes");
	cr_expect_eq(c.c_http_auth, CFG_HTTP_AUTH_KUBERNETES, "unchanged on error");
	struct buf b;
	buf_init(&b, 1 << 16);
	cfg_usage(&b);
	cr_expect(strstr(b.b_data, "--http-auth none|kubernetes") != NULL);
	cr_expect(strstr(b.b_data, "(file key: httpAuth; default: none)") != NULL);
	buf_free(&b);
	cfg_free(&c);
}

/* httpTLSCertFile / httpTLSKeyFile: plain HTTP by default, both or neither. */
Test(config, http_tls_files)
{
	struct cfg c;
	char err[256] = "";
	cfg_defaults(&c);
	cr_expect_str_eq(c.c_http_tls_cert, "", "plain HTTP unless asked");
	cr_expect_str_eq(c.c_http_tls_key, "");
	cr_expect_eq(cfg_validate(&c, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(cfg_set(&c, "http-tls-cert", "/tls/tls.crt", err, sizeof err), CC_OK, "%s",
	    err);
	cr_expect_eq(cfg_validate(&c, err, sizeof err), CC_ERR_CONFIG,
	    "a certificate without a key");
	cr_expect(strstr(err, "httpTLSKeyFile") != NULL && strstr(err, "the key is not") != NULL,
	    "%s", err);
	cr_expect_eq(cfg_set(&c, "httpTLSKeyFile", "/tls/tls.key", err, sizeof err), CC_OK, "%s",
	    err);
	cr_expect_eq(cfg_validate(&c, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(cfg_set(&c, "http-tls-cert", "", err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(cfg_validate(&c, err, sizeof err), CC_ERR_CONFIG,
	    "a key without a certificate");
	cr_expect(strstr(err, "the certificate is not") != NULL, "%s", err);
	cr_expect_eq(cfg_set(&c, "httpTLSCertFile", "/tls/", err, sizeof err), CC_ERR_INVAL);
	cr_expect_eq(cfg_set(&c, "httpTLSCertFile", "/tls/a\nb", err, sizeof err), CC_ERR_INVAL);
	const char *y = "httpTLSCertFile: /etc/tls/tls.crt\nhttpTLSKeyFile: /etc/tls/tls.key\n";
	cr_expect_eq(cfg_load_string(&c, y, strlen(y), "t.yaml", err, sizeof err), CC_OK, "%s",
	    err);
	cr_expect_str_eq(c.c_http_tls_cert, "/etc/tls/tls.crt");
	cr_expect_str_eq(c.c_http_tls_key, "/etc/tls/tls.key");
	cr_expect_eq(cfg_validate(&c, err, sizeof err), CC_OK, "%s", err);
	struct buf b;
	buf_init(&b, 1 << 16);
	cfg_usage(&b);
	cr_expect(strstr(b.b_data, "--http-tls-cert PATH") != NULL);
	cr_expect(strstr(b.b_data, "--http-tls-key PATH") != NULL);
	buf_free(&b);
	cfg_free(&c);
}
