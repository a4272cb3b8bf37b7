/* The simulate command end to end on small scenarios: exit codes, JSON layout, expectations,
 * bad input, and the certcast policy acting through sc_evaluate (failover, ARI). */
#include "sim_main.h"

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *
write_tmp(const char *text)
{
	char *path = strdup("/tmp/test_sim_main_XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Runs `simulate ARGS... -o out FILE`; returns the exit code and the parsed summary. */
static int
run(const char *yaml, const char *policy, cJSON **summary)
{
	char *in = write_tmp(yaml), *out = write_tmp("");
	char *argv[8];
	int argc = 0;
	argv[argc++] = "simulate";
	if (policy) {
		argv[argc++] = "--policy";
		argv[argc++] = (char *)policy;
	}
	argv[argc++] = "--compact";
	argv[argc++] = "-o";
	argv[argc++] = out;
	argv[argc++] = in;
	argv[argc] = NULL;
	int rc = sim_main(argc, argv);
	*summary = NULL;
	FILE *f = fopen(out, "r");
	if (f) {
		static char buf[1 << 20];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		*summary = cJSON_Parse(buf);
	}
	unlink(in);
	unlink(out);
	free(in);
	free(out);
	return rc;
}

static double
num(const cJSON *root, const char *pol, const char *key)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "policies"), pol);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
	cr_assert(cJSON_IsNumber(v), "%s.%s is not a number", pol, key);
	return v->valuedouble;
}

/* The primary issuer breaks for good on day 20; a healthy fallback is configured. */
static const char *failover_yaml =
    "name: failover\nseed: 21\nduration: 120d\n"
    "issuers:\n  - {name: primary, acme: true}\n  - {name: backup, acme: true}\n"
    "certificates:\n  - {group: g, count: 40, issuer: primary, fallback_issuer: backup,"
    " lifetime: 47d, domains: 10}\n"
    "faults:\n  - {type: misconfig, issuer: primary, start: 20d}\n"
    "expect:\n  - \"cert-manager.expired_hours > 0\"\n  - \"certcast.expired_hours == 0\"\n"
    "  - \"certcast.actions.failover > 0\"\n";

Test(sim_main, certcast_fails_over_where_cert_manager_expires)
{
	cJSON *s;
	int rc = run(failover_yaml, NULL, &s);
	cr_assert_not_null(s);
	cr_expect_eq(rc, 0, "all expectations held (exit %d)", rc);
	cr_expect_gt(num(s, "cert-manager", "expired_hours"), 0);
	cr_expect_eq(num(s, "certcast", "expired_hours"), 0);
	cr_expect_eq(cJSON_GetObjectItemCaseSensitive(s, "checks_failed")->valuedouble, 0);
	cr_expect(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(s, "alerts")));
	cr_expect(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(s, "alerts"), "judged")));
	cJSON_Delete(s);
}

Test(sim_main, failed_expectation_exits_3)
{
	const char *yaml = "name: f\nseed: 1\nduration: 30d\nissuers: [{name: ca}]\n"
			   "certificates: [{group: g, count: 5, issuer: ca, lifetime: 10d}]\n"
			   "expect:\n  - \"cert-manager.issuances == 0\"\n  - \"cert-manager.issuances > 0\"\n";
	cJSON *s;
	int rc = run(yaml, "cert-manager", &s);
	cr_assert_not_null(s);
	cr_expect_eq(rc, 3);
	cr_expect_eq(cJSON_GetObjectItemCaseSensitive(s, "checks_failed")->valuedouble, 1);
	cr_expect_eq(cJSON_GetObjectItemCaseSensitive(s, "checks_passed")->valuedouble, 1);
	cr_expect_null(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(s, "policies"), "certcast"), "--policy limits the runs");
	cJSON_Delete(s);
}

Test(sim_main, bad_scenario_exits_1_and_writes_nothing)
{
	cJSON *s;
	int rc = run("name: x\nseed: 1\nduration: -1d\n", NULL, &s);
	cr_expect_eq(rc, 1);
	cr_expect_null(s);
}

Test(sim_main, usage_errors_exit_2)
{
	char *a1[] = {"simulate", NULL};
	cr_expect_eq(sim_main(1, a1), 2, "no scenario");
	char *a2[] = {"simulate", "--policy", "nope", "x.yaml", NULL};
	cr_expect_eq(sim_main(4, a2), 2, "unknown policy");
	char *a3[] = {"simulate", "--frobnicate", "x.yaml", NULL};
	cr_expect_eq(sim_main(3, a3), 2, "unknown flag");
	char *a4[] = {"simulate", "a.yaml", "b.yaml", NULL};
	cr_expect_eq(sim_main(3, a4), 2, "two scenarios");
	char *a5[] = {"simulate", "--help", NULL};
	cr_expect_eq(sim_main(2, a5), 0);
}

/* The CA moves the ARI window of the certificates due in a coming outage. */
static const char *ari_yaml =
    "name: ari\nseed: 5\nduration: 100d\n"
    "issuers:\n  - {name: le, acme: true, ari: true}\n"
    "certificates:\n  - {group: g, count: 60, issuer: le, lifetime: 47d, domains: 10}\n"
    "faults:\n  - {type: outage, issuer: le, start: 40d, duration: 20d}\n"
    "  - {type: ari-window, issuer: le, at: 30d, affects: [38d, 62d], window: [31d, 37d]}\n";

Test(sim_main, ari_window_moves_protect_ari_aware_policies)
{
	cJSON *s;
	int rc = run(ari_yaml, NULL, &s);
	cr_assert_not_null(s);
	cr_expect_eq(rc, 0);
	cr_expect_gt(num(s, "cert-manager", "expired_hours"), 0, "cert-manager ignores ARI");
	cr_expect_eq(num(s, "ari-only", "expired_hours"), 0);
	cr_expect_eq(num(s, "certcast", "expired_hours"), 0);
	cJSON_Delete(s);
}
