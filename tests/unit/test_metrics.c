/* Tests for metrics: registration rules, text format, escaping, series removal, histograms. */
#include "buf.h"
#include "cc_err.h"
#include "log.h"
#include "metrics.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
quiet_logs(void)
{
	int fd = open("/dev/null", O_WRONLY);
	log_set_fd(fd);
}

static char *
render(struct met_registry *r)
{
	struct buf b;
	buf_init(&b, 1 << 24);
	cr_assert_eq(met_write(r, &b), CC_OK);
	return buf_detach(&b);
}

/* Number of occurrences of needle in hay. */
static int
count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

TestSuite(metrics, .init = quiet_logs);

struct name_case {
	const char *nc_name;   /* case name */
	const char *nc_metric; /* metric name */
	const char *nc_label;  /* one label name, or NULL */
	enum met_type nc_type;
	int nc_ok;             /* expected to register */
};

Test(metrics, registration_rules)
{
	static const struct name_case cases[] = {
	    {"plain name", "certcast_x", NULL, MET_GAUGE, 1},
	    {"colon allowed in metric names", "certcast:x", NULL, MET_GAUGE, 1},
	    {"leading digit", "1certcast", NULL, MET_GAUGE, 0},
	    {"dash", "cert-cast", NULL, MET_GAUGE, 0},
	    {"empty", "", NULL, MET_GAUGE, 0},
	    {"good label", "certcast_y", "namespace", MET_COUNTER, 1},
	    {"label with colon", "certcast_z", "a:b", MET_GAUGE, 0},
	    {"reserved label prefix", "certcast_w", "__name", MET_GAUGE, 0},
	    {"le on a gauge is fine", "certcast_v", "le", MET_GAUGE, 1},
	    {"le on a histogram is not", "certcast_u", "le", MET_HISTOGRAM, 0},
	};
	static const double bk[] = {1, 2};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct name_case *c = &cases[i];
		struct met_registry *r = met_registry_new();
		struct met_family *f = NULL;
		const char *labels[] = {c->nc_label};
		int hist = c->nc_type == MET_HISTOGRAM;
		int rc = met_register(r, c->nc_metric, "h", c->nc_type, labels, c->nc_label ? 1 : 0,
		    hist ? bk : NULL, hist ? 2 : 0, &f);
		if (c->nc_ok)
			cr_expect_eq(rc, CC_OK, "%s: rejected", c->nc_name);
		else
			cr_expect_eq(rc, CC_ERR_INVAL, "%s: accepted", c->nc_name);
		met_registry_free(r);
	}
}

Test(metrics, duplicate_and_bucket_errors)
{
	struct met_registry *r = met_registry_new();
	struct met_family *f;
	const char *l2[] = {"a", "a"};
	cr_expect_eq(met_register(r, "m", "h", MET_GAUGE, NULL, 0, NULL, 0, &f), CC_OK);
	cr_expect_eq(met_register(r, "m", "h", MET_COUNTER, NULL, 0, NULL, 0, &f), CC_ERR_INVAL);
	cr_expect_eq(met_register(r, "n", "h", MET_GAUGE, l2, 2, NULL, 0, &f), CC_ERR_INVAL);
	const double down[] = {2, 1}, same[] = {1, 1}, up[] = {1, 2};
	cr_expect_eq(met_register(r, "h1", "h", MET_HISTOGRAM, NULL, 0, down, 2, &f), CC_ERR_INVAL);
	cr_expect_eq(met_register(r, "h2", "h", MET_HISTOGRAM, NULL, 0, same, 2, &f), CC_ERR_INVAL);
	cr_expect_eq(met_register(r, "h3", "h", MET_HISTOGRAM, NULL, 0, NULL, 0, &f), CC_ERR_INVAL);
	cr_expect_eq(met_register(r, "g1", "h", MET_GAUGE, NULL, 0, up, 2, &f), CC_ERR_INVAL);
	cr_expect_eq(met_register(r, "h4", "h", MET_HISTOGRAM, NULL, 0, up, 2, &f), CC_OK);
	met_registry_free(r);
}

Test(metrics, counter_and_gauge_values)
{
	struct met_registry *r = met_registry_new();
	struct met_family *c, *g;
	const char *ln[] = {"verb"};
	cr_assert_eq(met_register(r, "t_requests_total", "Requests.", MET_COUNTER, ln, 1, NULL, 0, &c),
	    CC_OK);
	cr_assert_eq(met_register(r, "t_temp", "Temp.", MET_GAUGE, NULL, 0, NULL, 0, &g), CC_OK);
	const char *get[] = {"GET"}, *put[] = {"PUT"};
	cr_expect_eq(met_counter_add(c, get, 2), CC_OK);
	cr_expect_eq(met_counter_add(c, get, 3), CC_OK);
	cr_expect_eq(met_counter_add(c, put, 1), CC_OK);
	cr_expect_eq(met_counter_add(c, put, -1), CC_ERR_INVAL);
	cr_expect_eq(met_gauge_set(c, put, 1), CC_ERR_INVAL, "gauge op on a counter");
	cr_expect_eq(met_counter_add(g, NULL, 1), CC_ERR_INVAL, "counter op on a gauge");
	cr_expect_eq(met_gauge_set(g, NULL, -2.5), CC_OK);
	const char *nul[] = {NULL};
	cr_expect_eq(met_counter_add(c, nul, 1), CC_ERR_INVAL, "NULL label value");
	double v = 0;
	cr_expect_eq(met_value(c, get, &v), CC_OK);
	cr_expect_eq(v, 5);
	cr_expect_eq(met_counter_set(c, get, 7), CC_OK);
	cr_expect_eq(met_value(c, get, &v), CC_OK);
	cr_expect_eq(v, 7);
	char *t = render(r);
	cr_expect(strstr(t, "# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n"));
	cr_expect(strstr(t, "t_requests_total{verb=\"GET\"} 7\n"));
	cr_expect(strstr(t, "t_requests_total{verb=\"PUT\"} 1\n"));
	cr_expect(strstr(t, "# TYPE t_temp gauge\nt_temp -2.5\n"));
	cr_expect_null(strstr(t, "t_requests_total{verb=\"GET\"} 5\n"));
	/* GET was created first, so it comes first. */
	cr_expect_lt(strstr(t, "verb=\"GET\""), strstr(t, "verb=\"PUT\""));
	free(t);
	met_registry_free(r);
}

struct esc_case {
	const char *ec_name;
	const char *ec_in;
	const char *ec_out; /* as it must appear between the quotes */
};

Test(metrics, label_value_escaping)
{
	static const struct esc_case cases[] = {
	    {"plain", "abc", "abc"},
	    {"double quote", "a\"b", "a\\\"b"},
	    {"backslash", "a\\b", "a\\\\b"},
	    {"newline", "a\nb", "a\\nb"},
	    {"all three", "\"\\\n", "\\\"\\\\\\n"},
	    {"empty", "", ""},
	    {"utf-8 untouched", "caf\xc3\xa9", "caf\xc3\xa9"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct met_registry *r = met_registry_new();
		struct met_family *g;
		const char *ln[] = {"v"};
		cr_assert_eq(met_register(r, "e", "x", MET_GAUGE, ln, 1, NULL, 0, &g), CC_OK);
		const char *lv[] = {cases[i].ec_in};
		cr_assert_eq(met_gauge_set(g, lv, 1), CC_OK);
		char *t = render(r);
		char want[128];
		snprintf(want, sizeof want, "e{v=\"%s\"} 1\n", cases[i].ec_out);
		cr_expect(strstr(t, want), "%s: got %s", cases[i].ec_name, t);
		free(t);
		met_registry_free(r);
	}
}

Test(metrics, help_escaping)
{
	struct met_registry *r = met_registry_new();
	struct met_family *g;
	cr_assert_eq(met_register(r, "e", "line1\nback\\slash \"q\"", MET_GAUGE, NULL, 0, NULL, 0, &g),
	    CC_OK);
	char *t = render(r);
	/* Quotes are not escaped in HELP; backslash and newline are. */
	cr_expect(strstr(t, "# HELP e line1\\nback\\\\slash \"q\"\n"), "got %s", t);
	free(t);
	met_registry_free(r);
}

Test(metrics, series_removal)
{
	struct met_registry *r = met_registry_new();
	struct met_std s;
	cr_assert_eq(met_std_register(r, "1.2.3", &s), CC_OK);
	cr_expect_eq(met_gauge_set(s.ms_cert_expiry, MET_CERT_LABELS("ns", "a", "Issuer", "ca"), 100),
	    CC_OK);
	cr_expect_eq(met_gauge_set(s.ms_cert_expiry, MET_CERT_LABELS("ns", "b", "Issuer", "ca"), 200),
	    CC_OK);
	cr_expect_eq(met_series_count(s.ms_cert_expiry), 2);
	char *t = render(r);
	cr_expect(strstr(t, "name=\"a\""));
	cr_expect(strstr(t, "name=\"b\""));
	free(t);
	cr_expect_eq(met_remove(s.ms_cert_expiry, MET_CERT_LABELS("ns", "a", "Issuer", "ca")), CC_OK);
	cr_expect_eq(met_remove(s.ms_cert_expiry, MET_CERT_LABELS("ns", "a", "Issuer", "ca")),
	    CC_ERR_NOTFOUND);
	cr_expect_eq(met_remove(s.ms_cert_expiry, MET_CERT_LABELS("ns", "b", "Issuer", "other")),
	    CC_ERR_NOTFOUND, "a different issuer is a different series");
	cr_expect_eq(met_series_count(s.ms_cert_expiry), 1);
	t = render(r);
	cr_expect_null(strstr(t, "name=\"a\""));
	cr_expect(strstr(t, "certcast_certificate_expiry_timestamp_seconds{namespace=\"ns\",name=\"b\","
			    "issuer_kind=\"Issuer\",issuer_name=\"ca\"} 200\n"));
	/* The family keeps its HELP and TYPE with no series left. */
	cr_expect_eq(met_remove(s.ms_cert_expiry, MET_CERT_LABELS("ns", "b", "Issuer", "ca")), CC_OK);
	free(t);
	t = render(r);
	cr_expect(strstr(t, "# TYPE certcast_certificate_expiry_timestamp_seconds gauge\n"));
	cr_expect_null(strstr(t, "certcast_certificate_expiry_timestamp_seconds{"));
	free(t);
	met_registry_free(r);
}

Test(metrics, label_values_do_not_collide)
{
	struct met_registry *r = met_registry_new();
	struct met_family *g;
	const char *ln[] = {"a", "b"};
	cr_assert_eq(met_register(r, "c", "x", MET_GAUGE, ln, 2, NULL, 0, &g), CC_OK);
	/* "ab"+"c" and "a"+"bc" must be two series. */
	const char *v1[] = {"ab", "c"}, *v2[] = {"a", "bc"};
	met_gauge_set(g, v1, 1);
	met_gauge_set(g, v2, 2);
	cr_expect_eq(met_series_count(g), 2);
	double v = 0;
	cr_expect_eq(met_value(g, v1, &v), CC_OK);
	cr_expect_eq(v, 1);
	cr_expect_eq(met_value(g, v2, &v), CC_OK);
	cr_expect_eq(v, 2);
	met_registry_free(r);
}

Test(metrics, histogram_buckets_cumulative)
{
	struct met_registry *r = met_registry_new();
	struct met_family *h;
	const double bk[] = {0.1, 1, 10};
	cr_assert_eq(met_register(r, "t_seconds", "T.", MET_HISTOGRAM, NULL, 0, bk, 3, &h), CC_OK);
	const double obs[] = {0.05, 0.1, 0.5, 5, 50, 1};
	double sum = 0;
	for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++) {
		cr_assert_eq(met_histogram_observe(h, NULL, obs[i]), CC_OK);
		sum += obs[i];
	}
	/* Expected cumulative counts computed from obs, so the test follows the data. */
	for (size_t b = 0; b < 3; b++) {
		int n = 0;
		for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
			n += obs[i] <= bk[b];
		char le[16], want[64];
		snprintf(le, sizeof le, "%g", bk[b]);
		snprintf(want, sizeof want, "t_seconds_bucket{le=\"%s\"} %d\n", le, n);
		char *t = render(r);
		cr_expect(strstr(t, want), "missing %s in %s", want, t);
		free(t);
	}
	char *t = render(r);
	cr_expect(strstr(t, "t_seconds_bucket{le=\"+Inf\"} 6\n"));
	cr_expect(strstr(t, "t_seconds_count 6\n"));
	char want[64];
	snprintf(want, sizeof want, "t_seconds_sum %g\n", sum);
	cr_expect(strstr(t, want), "missing %s in %s", want, t);
	cr_expect(strstr(t, "# TYPE t_seconds histogram\n"));
	cr_expect_eq(met_histogram_observe(h, NULL, 0.0 / 0.0), CC_ERR_INVAL);
	free(t);
	met_registry_free(r);
}

/* Unlabelled families are scrapeable at zero before their first update; labelled ones are empty. */
Test(metrics, unlabelled_series_exist_from_the_start)
{
	struct met_registry *r = met_registry_new();
	struct met_std s;
	cr_assert_eq(met_std_register(r, "v", &s), CC_OK);
	char *t = render(r);
	cr_expect(strstr(t, "\ncertcast_workqueue_depth 0\n"), "%s", t);
	cr_expect(strstr(t, "\ncertcast_reconcile_duration_seconds_bucket{le=\"+Inf\"} 0\n"));
	cr_expect(strstr(t, "\ncertcast_reconcile_duration_seconds_count 0\n"));
	cr_expect(strstr(t, "\ncertcast_reconcile_duration_seconds_sum 0\n"));
	cr_expect_null(strstr(t, "certcast_certificate_expiry_timestamp_seconds{"));
	cr_expect_null(strstr(t, "certcast_actions_total{"));
	cr_expect_eq(met_series_count(s.ms_workqueue_depth), 1);
	cr_expect_eq(met_series_count(s.ms_actions), 0);
	free(t);
	met_registry_free(r);
}

Test(metrics, many_series_and_deletes)
{
	struct met_registry *r = met_registry_new();
	struct met_family *g;
	const char *ln[] = {"name"};
	cr_assert_eq(met_register(r, "many", "x", MET_GAUGE, ln, 1, NULL, 0, &g), CC_OK);
	char name[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof name, "c%d", i);
		const char *lv[] = {name};
		cr_assert_eq(met_gauge_set(g, lv, i), CC_OK);
	}
	for (int i = 0; i < 5000; i += 2) {
		snprintf(name, sizeof name, "c%d", i);
		const char *lv[] = {name};
		cr_assert_eq(met_remove(g, lv), CC_OK);
	}
	cr_expect_eq(met_series_count(g), 2500);
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof name, "c%d", i);
		const char *lv[] = {name};
		double v = -1;
		int rc = met_value(g, lv, &v);
		if (i % 2) {
			cr_assert_eq(rc, CC_OK, "c%d lost", i);
			cr_assert_eq(v, i);
		} else {
			cr_assert_eq(rc, CC_ERR_NOTFOUND, "c%d still there", i);
		}
	}
	char *t = render(r);
	cr_expect_eq(count_of(t, "\nmany{"), 2500);
	free(t);
	met_registry_free(r);
}

struct worker_arg {
	struct met_family *wa_f;
	int wa_id;
};

static void *
worker(void *p)
{
	struct worker_arg *a = p;
	char id[8];
	snprintf(id, sizeof id, "%d", a->wa_id % 2);
	const char *lv[] = {id};
	for (int i = 0; i < 20000; i++)
		met_counter_add(a->wa_f, lv, 1);
	return NULL;
}

static void *
writer(void *p)
{
	struct met_registry *r = p;
	for (int i = 0; i < 50; i++) {
		struct buf b;
		buf_init(&b, 1 << 20);
		met_write(r, &b);
		buf_free(&b);
	}
	return NULL;
}

Test(metrics, concurrent_updates)
{
	struct met_registry *r = met_registry_new();
	struct met_family *c;
	const char *ln[] = {"w"};
	cr_assert_eq(met_register(r, "n_total", "x", MET_COUNTER, ln, 1, NULL, 0, &c), CC_OK);
	pthread_t th[4], wr;
	struct worker_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){c, i};
		pthread_create(&th[i], NULL, worker, &args[i]);
	}
	pthread_create(&wr, NULL, writer, r);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	pthread_join(wr, NULL);
	double v0 = 0, v1 = 0;
	met_value(c, (const char *[]){"0"}, &v0);
	met_value(c, (const char *[]){"1"}, &v1);
	cr_expect_eq(v0, 40000);
	cr_expect_eq(v1, 40000);
	met_registry_free(r);
}

static void
collect(void *arg)
{
	struct met_family *g = arg;
	double v = 0;
	met_value(g, NULL, &v);
	met_gauge_set(g, NULL, v + 1);
}

Test(metrics, collectors_run_on_write)
{
	struct met_registry *r = met_registry_new();
	struct met_family *g;
	cr_assert_eq(met_register(r, "scrapes", "x", MET_GAUGE, NULL, 0, NULL, 0, &g), CC_OK);
	met_add_collector(r, collect, g);
	char *t = render(r);
	cr_expect(strstr(t, "scrapes 1\n"));
	free(t);
	t = render(r);
	cr_expect(strstr(t, "scrapes 2\n"));
	cr_expect_null(strstr(t, "scrapes 1\n"));
	free(t);
	met_registry_free(r);
}

Test(metrics, output_limit)
{
	struct met_registry *r = met_registry_new();
	struct met_std s;
	cr_assert_eq(met_std_register(r, "v", &s), CC_OK);
	struct buf b;
	buf_init(&b, 64);
	cr_expect_eq(met_write(r, &b), CC_ERR_TOOBIG);
	buf_free(&b);
	met_registry_free(r);
}

Test(metrics, value_formatting)
{
	struct {
		double v;
		const char *s;
	} cases[] = {
	    {0, "0"}, {1, "1"}, {-3, "-3"}, {0.1, "0.1"}, {1234567890, "1234567890"},
	    {1.0 / 0.0, "+Inf"}, {-1.0 / 0.0, "-Inf"}, {0.0132, "0.0132"}, {1e-9, "1e-09"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct met_registry *r = met_registry_new();
		struct met_family *g;
		cr_assert_eq(met_register(r, "f", "x", MET_GAUGE, NULL, 0, NULL, 0, &g), CC_OK);
		met_gauge_set(g, NULL, cases[i].v);
		char *t = render(r);
		char want[64];
		snprintf(want, sizeof want, "\nf %s\n", cases[i].s);
		cr_expect(strstr(t, want), "value %s: got %s", cases[i].s, t);
		/* And it reads back to the same number. */
		char *line = strstr(t, "\nf ");
		cr_assert(line);
		cr_expect_eq(strtod(line + 3, NULL), cases[i].v);
		free(t);
		met_registry_free(r);
	}
}

/* Every family of DESIGN.md's table is there, with its type. */
Test(metrics, std_families)
{
	static const struct {
		const char *name, *type;
	} want[] = {
	    {"certcast_certificate_risk", "gauge"},
	    {"certcast_certificate_risk_level", "gauge"},
	    {"certcast_certificate_expiry_timestamp_seconds", "gauge"},
	    {"certcast_certificate_predicted_failure_timestamp_seconds", "gauge"},
	    {"certcast_certificate_renew_before_seconds", "gauge"},
	    {"certcast_issuer_failure_probability", "gauge"},
	    {"certcast_actions_total", "counter"},
	    {"certcast_anomalies_total", "counter"},
	    {"certcast_watch_events_total", "counter"},
	    {"certcast_watch_restarts_total", "counter"},
	    {"certcast_api_requests_total", "counter"},
	    {"certcast_reconcile_duration_seconds", "histogram"},
	    {"certcast_workqueue_depth", "gauge"},
	    {"certcast_leader", "gauge"},
	    {"certcast_build_info", "gauge"},
	    {"certcast_cert_manager_scrapes_total", "counter"},
	    {"certcast_ari_requests_total", "counter"},
	    {"certcast_events_total", "counter"},
	    /* the learned model's calibration, added to the table */
	    {"certcast_model_brier_score", "gauge"},
	    {"certcast_model_brier_score_baseline", "gauge"},
	    {"certcast_model_outcomes_total", "counter"},
	    {"certcast_model_reliability_predicted", "gauge"},
	    {"certcast_model_reliability_observed", "gauge"},
	    /* delegated HTTP authentication's decisions */
	    {"certcast_http_auth_total", "counter"},
	};
	struct met_registry *r = met_registry_new();
	struct met_std s;
	cr_assert_eq(met_std_register(r, "9.8.7", &s), CC_OK);
	char *t = render(r);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char line[160];
		snprintf(line, sizeof line, "# TYPE %s %s\n", want[i].name, want[i].type);
		cr_expect(strstr(t, line), "missing %s", line);
	}
	cr_expect_eq(count_of(t, "# TYPE "), (int)(sizeof want / sizeof want[0]));
	cr_expect(strstr(t, "certcast_build_info{version=\"9.8.7\"} 1\n"));
	cr_expect(strstr(t, "\ncertcast_leader 0\n"));
	cr_expect_null(strstr(t, "\ncertcast_model_brier_score "), "no Brier score before any outcome");
	struct met_std again;
	cr_expect_eq(met_std_register(r, "9.8.7", &again), CC_ERR_INVAL, "registered twice");
	free(t);
	met_registry_free(r);
}

/* Run promtool's linter on text; returns its exit status, or -1 when promtool is missing. */
static int
promtool_check(const char *text)
{
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		return -1;
	char path[] = "/tmp/certcast-metrics-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	size_t n = strlen(text);
	cr_assert_eq(write(fd, text, n), (ssize_t)n);
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s > %s.out 2>&1", path, path);
	int st = system(cmd);
	char out[300];
	snprintf(out, sizeof out, "%s.out", path);
	FILE *fp = fopen(out, "r");
	if (fp) {
		char line[512];
		while (fgets(line, sizeof line, fp))
			cr_log_info("promtool: %s", line);
		fclose(fp);
	}
	unlink(out);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(metrics, promtool_accepts_output)
{
	struct met_registry *r = met_registry_new();
	struct met_std s;
	cr_assert_eq(met_std_register(r, "0.1.0", &s), CC_OK);
	met_gauge_set(s.ms_cert_expiry, MET_CERT_LABELS("ns", "we\"ird\\name\n", "Issuer", "ca"),
	    1.7e9);
	met_gauge_set(s.ms_cert_renew_before, MET_CERT_LABELS("ns", "a", "ClusterIssuer", "ca"), 3600);
	met_gauge_set(s.ms_cert_risk, MET_CERT_LABELS("ns", "a", "ClusterIssuer", "ca"), 0.0132);
	met_counter_add(s.ms_watch_events, (const char *[]){"certificates", "ADDED"}, 3);
	met_counter_add(s.ms_api_requests, (const char *[]){"GET", "200"}, 10);
	met_histogram_observe(s.ms_reconcile_duration, NULL, 0.003);
	met_gauge_set(s.ms_workqueue_depth, NULL, 4);
	char *t = render(r);
	int rc = promtool_check(t);
	if (rc == -1)
		cr_log_warn("promtool not installed; format checked by the other tests only");
	else
		cr_expect_eq(rc, 0, "promtool rejected:\n%s", t);
	free(t);

	/* Make sure the check can fail: a counter without _total is a lint error. */
	struct met_registry *bad = met_registry_new();
	struct met_family *c;
	cr_assert_eq(met_register(bad, "certcast_things", "x", MET_COUNTER, NULL, 0, NULL, 0, &c),
	    CC_OK);
	met_counter_add(c, NULL, 1);
	t = render(bad);
	rc = promtool_check(t);
	if (rc != -1)
		cr_expect_neq(rc, 0, "promtool accepted a counter without _total");
	free(t);
	met_registry_free(bad);
	met_registry_free(r);
}
