/* signals: cert-manager's exposition -> per-host totals -> window rates, and restarts. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_err.h"
#include "signals.h"

#define T0 1742400000LL
#define LE "acme-v02.api.letsencrypt.org"

static char *
load_text(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof path, "tests/unit/fixtures/%s", name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s (run from the repository root)", path);
	char *text = malloc(1 << 16);
	size_t n = fread(text, 1, (1 << 16) - 1, f);
	fclose(f);
	text[n] = '\0';
	*len = n;
	return text;
}

static int
near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

Test(signals, exposition_totals_per_host)
{
	size_t len;
	char *text = load_text("cm-metrics.txt", &len);
	struct sig_scrape sc;
	struct pt_result r;
	cr_assert_eq(sig_scrape_parse(text, len, &sc, &r), CC_OK, "%s", r.pr_first_error);
	cr_assert_eq(sc.ss_n, 2);
	const struct sig_totals *le = strcmp(sc.ss_hosts[0].st_host, LE) == 0 ? &sc.ss_hosts[0]
									      : &sc.ss_hosts[1];
	const struct sig_totals *st = le == &sc.ss_hosts[0] ? &sc.ss_hosts[1] : &sc.ss_hosts[0];
	cr_expect_str_eq(le->st_host, LE);
	cr_expect(near(le->st_requests, 20));
	cr_expect(near(le->st_429, 2));
	cr_expect(near(le->st_5xx, 1));
	cr_expect(near(le->st_dur_sum, 6.0));
	cr_expect(near(le->st_dur_count, 17));
	cr_expect_str_eq(st->st_host, "acme-staging-v02.api.letsencrypt.org");
	cr_expect(near(st->st_requests, 3));
	cr_expect(near(st->st_5xx, 3), "status 999 (no response) counts as a server failure");
	free(text);
}

/* Older cert-manager labels the path, newer ones the action; hosts are normalised. */
Test(signals, exposition_variants)
{
	const char *text =
	    "certmanager_http_acme_client_request_count{scheme=\"https\",host=\"ACME.Example:443\","
	    "path=\"/acme/new-order\",method=\"POST\",status=\"500\"} 4\n"
	    "certmanager_http_acme_client_request_count_total{scheme=\"http\",host=\"acme.example:80\","
	    "path=\"/x\",method=\"POST\",status=\"200\"} 6\n"
	    "certmanager_http_acme_client_request_count{host=\"acme.example\",status=\"nope\"} 1\n"
	    "certmanager_http_acme_client_request_count{host=\"acme.example\",status=\"200\"} NaN\n"
	    "certmanager_http_acme_client_request_count{host=\"acme.example\",status=\"200\"} -3\n"
	    "certmanager_http_acme_client_request_count{status=\"200\"} 8\n"
	    "certmanager_http_acme_client_request_count{host=\"other:14000\",status=\"429\"} 2\n"
	    "certmanager_http_acme_client_request_count{host=\"broken\" 9\n";
	struct sig_scrape sc;
	struct pt_result r;
	cr_assert_eq(sig_scrape_parse(text, strlen(text), &sc, &r), CC_ERR_PARSE);
	cr_expect_eq(r.pr_errors, 1);
	cr_assert_eq(sc.ss_n, 2);
	cr_expect_str_eq(sc.ss_hosts[0].st_host, "acme.example");
	cr_expect(near(sc.ss_hosts[0].st_requests, 11), "a bad status still counts as a request");
	cr_expect(near(sc.ss_hosts[0].st_5xx, 4));
	cr_expect_str_eq(sc.ss_hosts[1].st_host, "other:14000");
	cr_expect(near(sc.ss_hosts[1].st_429, 2));
}

Test(signals, url_host)
{
	static const struct {
		const char *url, *want;
	} cases[] = {
	    {"https://acme-v02.api.letsencrypt.org/directory", LE},
	    {"https://ACME.example:443/dir", "acme.example"},
	    {"https://pebble:14000/dir", "pebble:14000"},
	    {"http://ca.local:80/dir", "ca.local"},
	    {"http://ca.local:443/dir", "ca.local:443"},
	    {"https://ca.local:80/dir", "ca.local:80"},
	    {"https://user:pw@ca.local/dir", "ca.local"},
	    {"https://[fd00::1]:8443/dir?x", "[fd00::1]:8443"},
	    {"https://ca.local", "ca.local"},
	    {"ca.local/dir", NULL},
	    {"https:///dir", NULL},
	    {"://x", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char h[SIG_HOST_MAX];
		int rc = sig_url_host(cases[i].url, h, sizeof h);
		if (cases[i].want == NULL) {
			cr_expect_eq(rc, -1, "%s", cases[i].url);
			continue;
		}
		cr_expect_eq(rc, 0, "%s", cases[i].url);
		cr_expect_str_eq(h, cases[i].want, "%s", cases[i].url);
	}
	char tiny[4];
	cr_expect_eq(sig_url_host("https://long.example/", tiny, sizeof tiny), -1);
	cr_expect_eq(sig_url_host(NULL, tiny, sizeof tiny), -1);
}

/* One scrape of host LE: cumulative counts as cert-manager would serve them. */
static struct sig_scrape
scrape(double req, double s429, double s5xx, double dsum, double dcount)
{
	struct sig_scrape sc;
	memset(&sc, 0, sizeof sc);
	sc.ss_n = 1;
	snprintf(sc.ss_hosts[0].st_host, SIG_HOST_MAX, "%s", LE);
	sc.ss_hosts[0].st_requests = req;
	sc.ss_hosts[0].st_429 = s429;
	sc.ss_hosts[0].st_5xx = s5xx;
	sc.ss_hosts[0].st_dur_sum = dsum;
	sc.ss_hosts[0].st_dur_count = dcount;
	return sc;
}

Test(signals, no_data_is_not_valid)
{
	struct sig_state *s = sig_new(600);
	struct sc_signals g;
	sig_get(s, LE, T0, &g);
	cr_expect_eq(g.sg_valid, 0);
	sig_get(s, NULL, T0, &g);
	cr_expect_eq(g.sg_valid, 0);
	/* a single scrape is only a baseline: no rate yet */
	struct sig_scrape sc = scrape(100, 0, 0, 10, 100);
	sig_record(s, "p1", &sc, 1, T0);
	sig_get(s, LE, T0, &g);
	cr_expect_eq(g.sg_valid, 0);
	sig_free(s);
}

Test(signals, window_rates)
{
	struct sig_state *s = sig_new(600);
	struct sc_signals g;
	struct sig_scrape sc = scrape(100, 1, 2, 50, 100);
	sig_record(s, "p1", &sc, 1, T0);
	sc = scrape(120, 3, 12, 70, 120);
	sig_record(s, "p1", &sc, 1, T0 + 30);
	sig_get(s, LE, T0 + 30, &g);
	cr_expect_eq(g.sg_valid, 1);
	cr_expect(near(g.sg_requests, 20));
	cr_expect(near(g.sg_status_429, 2));
	cr_expect(near(g.sg_status_5xx, 10));
	cr_expect(near(g.sg_latency_s, 1.0), "20 s over 20 requests");
	/* another host, and a non-ACME issuer, see none of it */
	sig_get(s, "acme.other", T0 + 30, &g);
	cr_expect_eq(g.sg_valid, 0);
	sig_get(s, "ACME-V02.api.letsencrypt.org", T0 + 30, &g);
	cr_expect(near(g.sg_requests, 20), "hosts compare without case");
	/* 20 minutes on, only the last 10 count: base is the newest sample at or before T0+600 */
	for (int i = 2; i <= 40; i++) {
		sc = scrape(120 + 5.0 * (i - 1), 3, 12, 70 + 0.5 * (i - 1), 120 + 5.0 * (i - 1));
		sig_record(s, "p1", &sc, 1, T0 + 30 * i);
	}
	sig_get(s, LE, T0 + 1200, &g);
	cr_expect(near(g.sg_requests, 100), "20 scrapes of 5 requests: %g", g.sg_requests);
	cr_expect(near(g.sg_status_5xx, 0));
	cr_expect(near(g.sg_latency_s, 0.1));
	sig_free(s);
}

/* A restarted process starts its counters from zero: the new values are all increase. */
Test(signals, counter_reset)
{
	struct sig_state *s = sig_new(600);
	struct sc_signals g;
	struct sig_scrape sc = scrape(1000, 0, 0, 100, 1000);
	sig_record(s, "p1", &sc, 1, T0);
	sc = scrape(1010, 0, 0, 101, 1010);
	sig_record(s, "p1", &sc, 1, T0 + 30);
	sc = scrape(7, 0, 6, 7, 7);
	sig_record(s, "p1", &sc, 1, T0 + 60);
	sig_get(s, LE, T0 + 60, &g);
	cr_expect(near(g.sg_requests, 17), "10 before the reset, 7 after: %g", g.sg_requests);
	cr_expect(near(g.sg_status_5xx, 6));
	sc = scrape(9, 0, 6, 9, 9);
	sig_record(s, "p1", &sc, 1, T0 + 90);
	sig_get(s, LE, T0 + 90, &g);
	cr_expect(near(g.sg_requests, 19));
	sig_free(s);
}

/* A host gone from a complete scrape means a restart; a malformed scrape never does. */
Test(signals, host_vanishes_and_partial_scrapes)
{
	struct sig_state *s = sig_new(600);
	struct sc_signals g;
	struct sig_scrape sc = scrape(50, 0, 0, 5, 50);
	sig_record(s, "p1", &sc, 1, T0);
	struct sig_scrape none;
	memset(&none, 0, sizeof none);
	sig_record(s, "p1", &none, 1, T0 + 30);
	sc = scrape(80, 0, 0, 8, 80); /* restarted and made 80 requests since */
	sig_record(s, "p1", &sc, 1, T0 + 60);
	sig_get(s, LE, T0 + 60, &g);
	cr_expect(near(g.sg_requests, 80), "%g", g.sg_requests);

	/* a scrape that lost a line looks lower; it is no reset, and the next one is exact */
	sc = scrape(60, 0, 0, 6, 60);
	sig_record(s, "p1", &sc, 0, T0 + 90);
	sig_get(s, LE, T0 + 90, &g);
	cr_expect(near(g.sg_requests, 80), "%g", g.sg_requests);
	sc = scrape(85, 0, 0, 8.5, 85);
	sig_record(s, "p1", &sc, 1, T0 + 120);
	sig_get(s, LE, T0 + 120, &g);
	cr_expect(near(g.sg_requests, 85), "%g", g.sg_requests);
	sig_free(s);
}

/* Missed scrapes cost nothing; a series with nothing new in the window stops counting. */
Test(signals, missing_scrapes_and_stale_series)
{
	struct sig_state *s = sig_new(600);
	struct sc_signals g;
	struct sig_scrape sc = scrape(10, 0, 0, 1, 10);
	sig_record(s, "p1", &sc, 1, T0);
	sc = scrape(20, 0, 5, 2, 20);
	sig_record(s, "p1", &sc, 1, T0 + 30);
	/* scrapes at +60 .. +270 failed */
	sc = scrape(60, 0, 25, 6, 60);
	sig_record(s, "p1", &sc, 1, T0 + 300);
	sig_get(s, LE, T0 + 300, &g);
	cr_expect(near(g.sg_requests, 50));
	cr_expect(near(g.sg_status_5xx, 25));
	/* nothing since +300: at +899 the series still speaks (from its sample at +30), at +901 it
	 * is stale */
	sig_get(s, LE, T0 + 899, &g);
	cr_expect(near(g.sg_requests, 40), "%g", g.sg_requests);
	sig_get(s, LE, T0 + 901, &g);
	cr_expect_eq(g.sg_valid, 0);
	sig_prune(s, T0 + 901);
	sig_get(s, LE, T0 + 300, &g);
	cr_expect_eq(g.sg_valid, 0, "pruned");
	sig_free(s);
}

/* Two pods add up; a pod gone keeps its last increase until it leaves the window. */
Test(signals, pods_add_up_and_go)
{
	struct sig_state *s = sig_new(600);
	struct sc_signals g;
	struct sig_scrape a0 = scrape(10, 0, 0, 1, 10), a1 = scrape(30, 0, 10, 3, 30);
	struct sig_scrape b0 = scrape(0, 0, 0, 0, 0), b1 = scrape(5, 5, 0, 1, 5);
	sig_record(s, "a", &a0, 1, T0);
	sig_record(s, "b", &b0, 1, T0);
	sig_record(s, "a", &a1, 1, T0 + 30);
	sig_record(s, "b", &b1, 1, T0 + 30);
	sig_get(s, LE, T0 + 30, &g);
	cr_expect(near(g.sg_requests, 25));
	cr_expect(near(g.sg_status_429, 5));
	cr_expect(near(g.sg_status_5xx, 10));
	cr_expect(near(g.sg_latency_s, 3.0 / 25.0));
	/* a is deleted: b goes on being scraped */
	struct sig_scrape b2 = scrape(6, 5, 0, 1.1, 6);
	sig_record(s, "b", &b2, 1, T0 + 60);
	sig_get(s, LE, T0 + 60, &g);
	cr_expect(near(g.sg_requests, 26), "a's 20 still in the window");
	for (int i = 3; i <= 22; i++) {
		b2 = scrape(6 + (i - 2), 5, 0, 1.1, 6 + (i - 2));
		sig_record(s, "b", &b2, 1, T0 + 30 * i);
	}
	sig_prune(s, T0 + 660);
	sig_get(s, LE, T0 + 660, &g);
	cr_expect(near(g.sg_requests, 20), "a left the window, b made 20 since +60: %g",
	    g.sg_requests);
	sig_free(s);
}

/* Restarts reach every issuer, ACME or not; a non-ACME issuer gets no request counts. */
Test(signals, restarts_for_every_issuer)
{
	struct sig_state *s = sig_new(600);
	struct sc_signals g;
	struct sig_pod pods[] = {{"a", 3, T0 - 100, T0 - 86400}, {"b", 0, 0, T0 - 86400}};
	sig_pods(s, pods, 2, T0);
	sig_get(s, NULL, T0, &g);
	cr_expect_eq(g.sg_valid, 1);
	cr_expect_eq(g.sg_restarts_1h, 1, "a recent termination, no history yet");
	cr_expect(near(g.sg_requests, 0));
	pods[0].sp_restarts = 6;
	sig_pods(s, pods, 2, T0 + 60);
	struct sig_scrape s0 = scrape(0, 0, 0, 0, 0), s1 = scrape(10, 0, 10, 1, 10);
	sig_record(s, "a", &s0, 1, T0);
	sig_record(s, "a", &s1, 1, T0 + 60);
	sig_get(s, LE, T0 + 60, &g);
	cr_expect_eq(g.sg_restarts_1h, 3);
	cr_expect(near(g.sg_status_5xx, 10));
	sig_get(s, "", T0 + 60, &g);
	cr_expect_eq(g.sg_restarts_1h, 3);
	cr_expect(near(g.sg_requests, 0));
	sig_free(s);
}

Test(signals, digest_follows_changes)
{
	struct sig_state *s = sig_new(600);
	uint64_t d0 = sig_digest(s, T0);
	struct sig_scrape s0 = scrape(0, 0, 0, 0, 0), s1 = scrape(10, 0, 10, 1, 10);
	sig_record(s, "a", &s0, 1, T0);
	sig_record(s, "a", &s1, 1, T0 + 30);
	uint64_t d1 = sig_digest(s, T0 + 30);
	cr_expect_neq(d0, d1);
	s1 = scrape(10, 0, 10, 1, 10);
	sig_record(s, "a", &s1, 1, T0 + 60);
	cr_expect_eq(sig_digest(s, T0 + 60), d1, "no new requests: nothing to rescore");
	struct sig_pod p = {"a", 2, 0, T0 - 60};
	sig_pods(s, &p, 1, T0 + 60);
	cr_expect_neq(sig_digest(s, T0 + 60), d1);
	sig_free(s);
}

/* An issuer on plain HTTP at port 443 and cert-manager's label for it meet on one host. */
Test(signals, issuer_and_label_hosts_meet)
{
	const char *text =
	    "certmanager_http_acme_client_request_count{scheme=\"http\",host=\"ca.local:443\","
	    "status=\"503\"} 4\n";
	struct sig_scrape sc;
	cr_assert_eq(sig_scrape_parse(text, strlen(text), &sc, NULL), CC_OK);
	struct sig_state *s = sig_new(600);
	struct sig_scrape zero = sc;
	zero.ss_hosts[0].st_requests = zero.ss_hosts[0].st_5xx = 0;
	sig_record(s, "p", &zero, 1, T0);
	sig_record(s, "p", &sc, 1, T0 + 30);
	char h[SIG_HOST_MAX];
	cr_assert_eq(sig_url_host("http://CA.local:443/directory", h, sizeof h), 0);
	struct sc_signals g;
	sig_get(s, h, T0 + 30, &g);
	cr_expect(near(g.sg_status_5xx, 4), "host %s: %g", h, g.sg_status_5xx);
	sig_free(s);
}

/*
 * Found by fuzz_promtext: counters near DBL_MAX, each finite, added up to +Inf per host, so the
 * requests signal (and the rates and digest computed from it) became infinite or NaN.
 */
Test(signals, huge_counters_keep_signals_finite)
{
	const char *first =
	    "certmanager_http_acme_client_request_count{host=\"a.example\",status=\"200\"} 1\n";
	const char *second =
	    "certmanager_http_acme_client_request_count{host=\"a.example\",status=\"200\"} 1e308\n"
	    "certmanager_http_acme_client_request_count{host=\"a.example\",status=\"429\"} 1e308\n"
	    "certmanager_http_acme_client_request_duration_seconds_sum{host=\"a.example\"} 1e308\n"
	    "certmanager_http_acme_client_request_duration_seconds_sum{host=\"a.example\"} 1e308\n";
	struct sig_state *s = sig_new(600);
	struct sig_scrape sc;
	struct sc_signals g;
	cr_assert_eq(sig_scrape_parse(first, strlen(first), &sc, NULL), CC_OK);
	sig_record(s, "p1", &sc, 1, T0);
	cr_assert_eq(sig_scrape_parse(second, strlen(second), &sc, NULL), CC_OK);
	cr_expect(isfinite(sc.ss_hosts[0].st_requests) && isfinite(sc.ss_hosts[0].st_dur_sum));
	sig_record(s, "p1", &sc, 1, T0 + 30);
	sig_get(s, "a.example", T0 + 30, &g);
	cr_expect(isfinite(g.sg_requests) && isfinite(g.sg_status_429) &&
	    isfinite(g.sg_latency_s), "requests %g, 429 %g, latency %g", g.sg_requests,
	    g.sg_status_429, g.sg_latency_s);
	sig_free(s);
}

/* Found by fuzz_promtext: a count that grew by a fraction divided the duration sum into +Inf. */
Test(signals, fractional_count_gives_no_infinite_latency)
{
	struct sig_state *s = sig_new(600);
	struct sc_signals g;
	struct sig_scrape sc = scrape(0, 0, 0, 0, 0);
	sig_record(s, "p1", &sc, 1, T0);
	sc = scrape(1, 0, 0, 1e15, 1e-300);
	sig_record(s, "p1", &sc, 1, T0 + 30);
	sig_get(s, LE, T0 + 30, &g);
	cr_expect(isfinite(g.sg_latency_s), "latency %g", g.sg_latency_s);
	sig_free(s);
}
