/*
 * fuzz_config: arbitrary bytes as the controller's YAML config file (--config), through
 * cfg_load_string onto the defaults, cfg_validate and cfg_scoring.
 *
 * The file is written by people, and its loader is strict: every input must either load or be
 * refused with a message naming the place, never crash or leak. The harness also holds the
 * loader to its promises: a refused file leaves the settings as they were, a loaded one has
 * every setting inside the range its parser documents, and writing the loaded settings back
 * as YAML (strings double-quoted and escaped, durations as Go durations) loads to the very
 * same settings.
 */
#include "buf.h"
#include "cc_err.h"
#include "config.h"
#include "scoring.h"
#include "timefmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ERRSZ 512

static void
fz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_config: %s: %s\n", what, detail);
	abort();
}

/* Every field of c as one line of text, to compare two configs. */
static void
fz_snap(const struct cfg *c, struct buf *out)
{
	if (buf_printf(out,
		"%d|%s|%s|%d|%d|%d|%s|%s|%d|%d|%a|%d|%a|%lld|%lld|%lld|%d|%lld|%s|%d|%s|%s|%s|"
		"%lld|%lld|%lld",
		(int)c->c_mode, c->c_http_addr, c->c_namespace, c->c_leader_elect,
		(int)c->c_log_format, (int)c->c_log_level, c->c_cm_namespace, c->c_cm_selector,
		c->c_workers, c->c_reissue_budget, c->c_qps, c->c_burst, c->c_target_risk,
		(long long)c->c_min_renew_before, (long long)c->c_max_renew_before,
		(long long)c->c_resync, c->c_cm_metrics_port, (long long)c->c_cm_scrape_interval,
		c->c_state_file, c->c_ari, c->c_psl_file, c->c_lease_name, c->c_lease_namespace,
		(long long)c->c_lease_duration_ms, (long long)c->c_renew_deadline_ms,
		(long long)c->c_retry_period_ms) != CC_OK)
		fz_fail("snapshot", "buffer limit");
}

/*
 * key: "VALUE" with YAML double-quoted escapes. The value came out of libyaml, so it is valid
 * UTF-8; every code point outside printable ASCII is written as \UXXXXXXXX, since an escape may
 * have produced one that libyaml does not accept raw (a C1 control, say).
 */
static void
fz_put_str(struct buf *y, const char *key, const char *v)
{
	(void)buf_printf(y, "%s: \"", key);
	for (const unsigned char *p = (const unsigned char *)v; *p;) {
		if (*p == '"' || *p == '\\') {
			(void)buf_printf(y, "\\%c", *p++);
			continue;
		}
		if (*p >= 0x20 && *p < 0x7f) {
			(void)buf_append(y, p++, 1);
			continue;
		}
		uint32_t cp = *p;
		int more = 0;
		if (*p >= 0xf0)
			cp = *p & 0x07, more = 3;
		else if (*p >= 0xe0)
			cp = *p & 0x0f, more = 2;
		else if (*p >= 0xc0)
			cp = *p & 0x1f, more = 1;
		p++;
		for (; more > 0; more--) {
			if ((*p & 0xc0) != 0x80)
				fz_fail("a loaded string is not UTF-8", key);
			cp = cp << 6 | (*p++ & 0x3f);
		}
		(void)buf_printf(y, "\\U%08x", (unsigned)cp);
	}
	(void)buf_append_str(y, "\"\n");
}

static void
fz_put_dur(struct buf *y, const char *key, int64_t sec)
{
	char d[TF_BUFSZ];
	if (tf_duration_format(sec, d, sizeof d) != CC_OK)
		fz_fail("tf_duration_format refused a loaded duration", key);
	(void)buf_printf(y, "%s: %s\n", key, d);
}

static void
fz_put_dur_ms(struct buf *y, const char *key, int64_t ms)
{
	char d[TF_BUFSZ];
	if (tf_duration_format_ms(ms, d, sizeof d) != CC_OK)
		fz_fail("tf_duration_format_ms refused a loaded duration", key);
	(void)buf_printf(y, "%s: %s\n", key, d);
}

/* The loaded settings as a config file. Bytes above 0x7e in strings pass through as they are. */
static void
fz_write_yaml(const struct cfg *c, struct buf *y)
{
	static const char *const fmt[] = {"text", "json"};
	static const char *const lvl[] = {"debug", "info", "warn", "error"};
	(void)buf_printf(y, "mode: %s\n", cfg_mode_name(c->c_mode));
	fz_put_str(y, "httpAddr", c->c_http_addr);
	fz_put_str(y, "namespace", c->c_namespace);
	(void)buf_printf(y, "leaderElect: %s\n", c->c_leader_elect ? "true" : "false");
	(void)buf_printf(y, "logFormat: %s\n", fmt[c->c_log_format]);
	(void)buf_printf(y, "logLevel: %s\n", lvl[c->c_log_level]);
	fz_put_str(y, "certManagerNamespace", c->c_cm_namespace);
	fz_put_str(y, "certManagerPodSelector", c->c_cm_selector);
	(void)buf_printf(y, "workers: %d\n", c->c_workers);
	(void)buf_printf(y, "reissueBudget: %d\n", c->c_reissue_budget);
	(void)buf_printf(y, "clientQPS: %.17g\n", c->c_qps);
	(void)buf_printf(y, "clientBurst: %d\n", c->c_burst);
	(void)buf_printf(y, "targetRisk: %.17g\n", c->c_target_risk);
	fz_put_dur(y, "minRenewBefore", c->c_min_renew_before);
	fz_put_dur(y, "maxRenewBefore", c->c_max_renew_before);
	fz_put_dur(y, "resyncPeriod", c->c_resync);
	(void)buf_printf(y, "certManagerMetricsPort: %d\n", c->c_cm_metrics_port);
	fz_put_dur(y, "certManagerScrapeInterval", c->c_cm_scrape_interval);
	fz_put_str(y, "stateFile", c->c_state_file);
	(void)buf_printf(y, "ari: %s\n", c->c_ari ? "true" : "false");
	fz_put_str(y, "publicSuffixList", c->c_psl_file);
	fz_put_str(y, "leaseName", c->c_lease_name);
	fz_put_str(y, "leaseNamespace", c->c_lease_namespace);
	fz_put_dur_ms(y, "leaseDuration", c->c_lease_duration_ms);
	fz_put_dur_ms(y, "renewDeadline", c->c_renew_deadline_ms);
	fz_put_dur_ms(y, "retryPeriod", c->c_retry_period_ms);
}

/* The ranges config.h and cfg_set document for a loaded config. */
static void
fz_check_ranges(const struct cfg *c)
{
	const char *bad = NULL;
	if (c->c_mode != CFG_MODE_OBSERVE && c->c_mode != CFG_MODE_ENFORCE)
		bad = "mode";
	else if (c->c_workers < 1 || c->c_workers > 64)
		bad = "workers";
	else if (c->c_reissue_budget < 0 || c->c_reissue_budget > 100000)
		bad = "reissueBudget";
	else if (!(c->c_qps > 0 && c->c_qps <= 10000))
		bad = "clientQPS";
	else if (c->c_burst < 1 || c->c_burst > 100000)
		bad = "clientBurst";
	else if (!(c->c_target_risk > 0 && c->c_target_risk < 1))
		bad = "targetRisk";
	else if (c->c_min_renew_before < 300)
		bad = "minRenewBefore";
	else if (c->c_max_renew_before != 0 && c->c_max_renew_before < 300)
		bad = "maxRenewBefore";
	else if (c->c_resync < 10)
		bad = "resyncPeriod";
	else if (c->c_cm_metrics_port < 0 || c->c_cm_metrics_port > 65535)
		bad = "certManagerMetricsPort";
	else if (c->c_cm_scrape_interval < 5 || c->c_cm_scrape_interval > 600)
		bad = "certManagerScrapeInterval";
	else if (c->c_lease_duration_ms <= 0 || c->c_lease_duration_ms > 3600000 ||
	    c->c_lease_duration_ms % 1000 != 0)
		bad = "leaseDuration";
	else if (c->c_renew_deadline_ms <= 0 || c->c_renew_deadline_ms > 3600000)
		bad = "renewDeadline";
	else if (c->c_retry_period_ms <= 0 || c->c_retry_period_ms > 3600000)
		bad = "retryPeriod";
	else if (c->c_psl_file[0] == '\0')
		bad = "publicSuffixList";
	if (bad)
		fz_fail("a loaded setting is out of its documented range", bad);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	struct buf before, after, yaml;
	char err[FZ_ERRSZ] = "";

	buf_init(&before, 1 << 20);
	buf_init(&after, 1 << 20);
	buf_init(&yaml, 1 << 20);
	cfg_defaults(&c);
	fz_snap(&c, &before);
	/* cfg_load_string takes len bytes, no terminator needed: give it exactly the input */
	int rc = cfg_load_string(&c, (const char *)data, size, "fuzz.yaml", err, sizeof err);
	fz_snap(&c, &after);
	if (rc != CC_OK) {
		if (rc != CC_ERR_PARSE && rc != CC_ERR_CONFIG)
			fz_fail("unexpected return code", cc_strerror(rc));
		if (err[0] == '\0')
			fz_fail("refused without a message", cc_strerror(rc));
		if (strncmp(err, "fuzz.yaml:", 10) != 0)
			fz_fail("message does not name the file", err);
		if (after.b_len != before.b_len || memcmp(after.b_data, before.b_data, after.b_len))
			fz_fail("a refused file changed the settings", err);
		goto out;
	}
	fz_check_ranges(&c);
	struct sc_config sc;
	cfg_scoring(&c, &sc);
	if (cfg_validate(&c, err, sizeof err) != CC_OK && err[0] == '\0')
		fz_fail("cfg_validate failed without a message", "");

	/* written back and loaded again onto the defaults, the settings are the same */
	fz_write_yaml(&c, &yaml);
	struct cfg c2;
	cfg_defaults(&c2);
	rc = cfg_load_string(&c2, yaml.b_data, yaml.b_len, "rewritten.yaml", err, sizeof err);
	if (rc != CC_OK) {
		fprintf(stderr, "%.*s", (int)yaml.b_len, yaml.b_data);
		fz_fail("the loaded settings written back do not load", err);
	}
	struct buf again;
	buf_init(&again, 1 << 20);
	fz_snap(&c2, &again);
	if (again.b_len != after.b_len || memcmp(again.b_data, after.b_data, after.b_len)) {
		fprintf(stderr, "first:  %.*s\nsecond: %.*s\n", (int)after.b_len, after.b_data,
		    (int)again.b_len, again.b_data);
		fz_fail("the settings written back load differently", "");
	}
	buf_free(&again);
	cfg_free(&c2);
out:
	cfg_free(&c);
	buf_free(&before);
	buf_free(&after);
	buf_free(&yaml);
	return 0;
}
