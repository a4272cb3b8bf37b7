/* Tests for http_server: address parsing, and real requests over loopback with libcurl. */
#include "buf.h"
#include "cc_err.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
setup(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
teardown(void)
{
	curl_global_cleanup();
}

TestSuite(http_server, .init = setup, .fini = teardown);

struct addr_case {
	const char *ac_name;
	const char *ac_addr;
	int ac_ok;
	const char *ac_host; /* expected host when ok */
	int ac_port;
	const char *ac_err;  /* substring of the reason when not ok */
};

Test(http_server, parse_addr_table)
{
	static const struct addr_case cases[] = {
	    {"ipv4 host and port", "127.0.0.1:9403", 1, "127.0.0.1", 9403, NULL},
	    {"every interface", ":9403", 1, "", 9403, NULL},
	    {"ipv6 in brackets", "[::1]:8080", 1, "::1", 8080, NULL},
	    {"host name", "localhost:0", 1, "localhost", 0, NULL},
	    {"highest port", "0.0.0.0:65535", 1, "0.0.0.0", 65535, NULL},
	    {"empty", "", 0, NULL, 0, "empty"},
	    {"port only without colon", "9403", 0, NULL, 0, "missing :PORT"},
	    {"ipv6 without brackets", "::1:9403", 0, NULL, 0, "brackets"},
	    {"bracket without colon", "[::1]9403", 0, NULL, 0, "[IPV6]:PORT"},
	    {"not ipv6 in brackets", "[nothost]:1", 0, NULL, 0, "not an IPv6"},
	    {"missing port", "host:", 0, NULL, 0, "missing port"},
	    {"port not a number", "host:http", 0, NULL, 0, "0..65535"},
	    {"port too big", "host:65536", 0, NULL, 0, "0..65535"},
	    {"negative port", "host:-1", 0, NULL, 0, "0..65535"},
	    {"plus sign", "host:+1", 0, NULL, 0, "0..65535"},
	    {"space in host", "my host:1", 0, NULL, 0, "not a host name"},
	    {"trailing junk", "host:80x", 0, NULL, 0, "0..65535"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct addr_case *c = &cases[i];
		char host[64] = "unset", err[160] = "";
		int port = -7;
		int rc = http_parse_addr(c->ac_addr, host, sizeof host, &port, err, sizeof err);
		if (c->ac_ok) {
			cr_expect_eq(rc, CC_OK, "%s: rejected: %s", c->ac_name, err);
			cr_expect_str_eq(host, c->ac_host, "%s", c->ac_name);
			cr_expect_eq(port, c->ac_port, "%s", c->ac_name);
		} else {
			cr_expect_eq(rc, CC_ERR_INVAL, "%s: accepted", c->ac_name);
			cr_expect(strstr(err, c->ac_err), "%s: reason \"%s\" lacks \"%s\"", c->ac_name,
			    err, c->ac_err);
			cr_expect_eq(port, -7, "%s: port written on error", c->ac_name);
		}
	}
}

struct reply {
	long r_status;
	char r_ctype[128];
	struct buf r_body;
};

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct reply *r = arg;
	if (buf_append(&r->r_body, p, sz * n) != CC_OK)
		return 0;
	return sz * n;
}

/* One request to 127.0.0.1:port; method NULL means GET. */
static int
fetch(int port, const char *host, const char *method, const char *path, struct reply *r)
{
	char url[256];
	snprintf(url, sizeof url, "http://%s:%d%s", host, port, path);
	memset(r, 0, sizeof *r);
	buf_init(&r->r_body, 1 << 26);
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (method)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (method && strcmp(method, "POST") == 0)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "x=1");
	CURLcode cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->r_status);
		char *ct = NULL;
		curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
		snprintf(r->r_ctype, sizeof r->r_ctype, "%s", ct ? ct : "");
	}
	curl_easy_cleanup(h);
	return cc == CURLE_OK ? 0 : -1;
}

static const char *
body(struct reply *r)
{
	return r->r_body.b_data ? r->r_body.b_data : "";
}

Test(http_server, endpoints)
{
	struct met_registry *reg = met_registry_new();
	struct met_std ms;
	cr_assert_eq(met_std_register(reg, "1.0.0", &ms), CC_OK);
	met_gauge_set(ms.ms_workqueue_depth, NULL, 5);
	struct http_server *s = NULL;
	char err[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", reg};
	cr_assert_eq(http_server_start(&o, &s, err, sizeof err), CC_OK, "%s", err);
	int port = http_server_port(s);
	cr_assert_gt(port, 0);
	struct reply r;

	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/healthz", &r), 0);
	cr_expect_eq(r.r_status, 200);
	cr_expect_str_eq(body(&r), "ok\n");
	buf_free(&r.r_body);

	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/readyz", &r), 0);
	cr_expect_eq(r.r_status, 503);
	cr_expect(strstr(body(&r), "not ready"));
	buf_free(&r.r_body);
	http_server_set_ready(s, 1);
	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/readyz", &r), 0);
	cr_expect_eq(r.r_status, 200);
	buf_free(&r.r_body);
	http_server_set_ready(s, 0);
	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/readyz", &r), 0);
	cr_expect_eq(r.r_status, 503, "readiness can be withdrawn");
	buf_free(&r.r_body);

	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/metrics", &r), 0);
	cr_expect_eq(r.r_status, 200);
	cr_expect(strstr(r.r_ctype, "text/plain") && strstr(r.r_ctype, "version=0.0.4"),
	    "content type %s", r.r_ctype);
	cr_expect(strstr(body(&r), "\ncertcast_workqueue_depth 5\n"));
	cr_expect(strstr(body(&r), "certcast_build_info{version=\"1.0.0\"} 1\n"));
	buf_free(&r.r_body);

	/* The query string does not change the route. */
	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/metrics?x=1", &r), 0);
	cr_expect_eq(r.r_status, 200);
	buf_free(&r.r_body);

	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/", &r), 0);
	cr_expect_eq(r.r_status, 200);
	cr_expect(strstr(r.r_ctype, "text/html"));
	cr_expect(strstr(body(&r), "<html"));
	buf_free(&r.r_body);

	const char *missing[] = {"/nope", "/metricsx", "/healthz/extra", "/readyz2"};
	for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
		cr_assert_eq(fetch(port, "127.0.0.1", NULL, missing[i], &r), 0);
		cr_expect_eq(r.r_status, 404, "%s", missing[i]);
		buf_free(&r.r_body);
	}

	cr_assert_eq(fetch(port, "127.0.0.1", "POST", "/metrics", &r), 0);
	cr_expect_eq(r.r_status, 405);
	buf_free(&r.r_body);

	http_server_stop(s);
	met_registry_free(reg);
}

/* A body far larger than one write chunk arrives whole and identical to met_write's output. */
Test(http_server, large_metrics_body)
{
	struct met_registry *reg = met_registry_new();
	struct met_family *g;
	const char *ln[] = {"namespace", "name"};
	cr_assert_eq(met_register(reg, "big", "x", MET_GAUGE, ln, 2, NULL, 0, &g), CC_OK);
	char name[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof name, "certificate-%05d", i);
		met_gauge_set(g, (const char *[]){"some-namespace", name}, i);
	}
	struct buf want;
	buf_init(&want, 1 << 26);
	cr_assert_eq(met_write(reg, &want), CC_OK);
	cr_assert_gt(want.b_len, 100000);

	struct http_server *s = NULL;
	char err[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", reg};
	cr_assert_eq(http_server_start(&o, &s, err, sizeof err), CC_OK, "%s", err);
	struct reply r;
	for (int round = 0; round < 2; round++) {
		cr_assert_eq(fetch(http_server_port(s), "127.0.0.1", NULL, "/metrics", &r), 0);
		cr_expect_eq(r.r_status, 200);
		cr_expect_eq(r.r_body.b_len, want.b_len);
		cr_expect(r.r_body.b_len == want.b_len &&
		    memcmp(r.r_body.b_data, want.b_data, want.b_len) == 0);
		buf_free(&r.r_body);
	}
	http_server_stop(s);
	buf_free(&want);
	met_registry_free(reg);
}

Test(http_server, ipv6_loopback)
{
	struct http_server *s = NULL;
	char err[256] = "";
	struct http_server_opts o = {"[::1]:0", NULL};
	int rc = http_server_start(&o, &s, err, sizeof err);
	if (rc != CC_OK) {
		/* Some sandboxes have no IPv6 at all; then binding must fail cleanly, not crash. */
		cr_expect_eq(rc, CC_ERR_IO);
		cr_log_warn("no IPv6 loopback here: %s", err);
		return;
	}
	struct reply r;
	cr_assert_eq(fetch(http_server_port(s), "[::1]", NULL, "/healthz", &r), 0);
	cr_expect_eq(r.r_status, 200);
	buf_free(&r.r_body);
	http_server_stop(s);
}

Test(http_server, bind_errors)
{
	struct http_server *a = NULL, *b = NULL;
	char err[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", NULL};
	cr_assert_eq(http_server_start(&o, &a, err, sizeof err), CC_OK, "%s", err);
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", http_server_port(a));
	struct http_server_opts o2 = {addr, NULL};
	cr_expect_eq(http_server_start(&o2, &b, err, sizeof err), CC_ERR_IO, "second bind succeeded");
	cr_expect(strstr(err, addr), "error names the address: %s", err);
	struct http_server_opts o3 = {"nonsense", NULL};
	cr_expect_eq(http_server_start(&o3, &b, err, sizeof err), CC_ERR_INVAL);
	cr_expect(strstr(err, "nonsense"), "%s", err);
	http_server_stop(a);
	http_server_stop(NULL);
}
