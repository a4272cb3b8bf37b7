/* Tests for http_server: address parsing, and real requests over loopback with libcurl. */
#include "buf.h"
#include "cc_err.h"
#include "http_server.h"
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "xalloc.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
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
			cr_expect_str_eq(host, "", "%s: host left behind on error", c->ac_name);
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
	static char url[16384]; /* tests run one request at a time per process */
	snprintf(url, sizeof url, "http://%s:%d%s", host, port, path);
	memset(r, 0, sizeof *r);
	buf_init(&r->r_body, 1 << 26);
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* the server, not curl, sees "//" and "/./" */
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

/* A string of n copies of c (static storage, n < 600). */
static const char *
repeat(char c, size_t n)
{
	static char b[4][600];
	static int k;
	char *p = b[k++ % 4];
	memset(p, c, n);
	p[n] = '\0';
	return p;
}

struct xpath_case {
	const char *xc_name;
	const char *xc_path;  /* as the router sees it: libwebsockets has decoded it */
	int xc_ok;
	const char *xc_ns;    /* when ok */
	const char *xc_cert;
	const char *xc_err;   /* part of the reason when not ok */
};

Test(http_server, parse_explain_path_table)
{
	char ns63[80], name253[300], ns64[80], name254[300];
	snprintf(ns63, sizeof ns63, "/explain/%s/web", repeat('n', 63));
	snprintf(ns64, sizeof ns64, "/explain/%s/web", repeat('n', 64));
	/* 253 characters: labels of 63 joined by dots, the longest name Kubernetes allows */
	snprintf(name253, sizeof name253, "/explain/shop/%s.%s.%s.%s", repeat('a', 63),
	    repeat('b', 63), repeat('c', 63), repeat('d', 61));
	snprintf(name254, sizeof name254, "/explain/shop/%s.%s.%s.%s", repeat('a', 63),
	    repeat('b', 63), repeat('c', 63), repeat('d', 62));
	const struct xpath_case cases[] = {
	    {"plain", "/explain/shop/web", 1, "shop", "web", NULL},
	    {"dotted name", "/explain/shop/web.example.com", 1, "shop", "web.example.com", NULL},
	    {"digits and dashes", "/explain/team-1/a-0", 1, "team-1", "a-0", NULL},
	    {"a label over 63 in a name is allowed", "/explain/shop/x", 1, "shop", "x", NULL},
	    {"longest namespace", ns63, 1, repeat('n', 63), "web", NULL},
	    {"longest name", name253, 1, "shop", name253 + 14, NULL},
	    {"namespace too long", ns64, 0, NULL, NULL, "longer than 63"},
	    {"name too long", name254, 0, NULL, NULL, "longer than 253"},
	    {"no name", "/explain/shop", 0, NULL, NULL, "expected NAMESPACE/NAME"},
	    {"empty name", "/explain/shop/", 0, NULL, NULL, "name is empty"},
	    {"empty namespace", "/explain//web", 0, NULL, NULL, "namespace is empty"},
	    {"trailing slash", "/explain/shop/web/", 0, NULL, NULL, "more than NAMESPACE/NAME"},
	    {"three segments", "/explain/shop/web/x", 0, NULL, NULL, "more than NAMESPACE/NAME"},
	    {"decoded %2F", "/explain/shop/we/b", 0, NULL, NULL, "more than NAMESPACE/NAME"},
	    {"undecoded percent", "/explain/shop/we%2Fb", 0, NULL, NULL, "not a Kubernetes object"},
	    {"decoded + is a space", "/explain/shop/a b", 0, NULL, NULL, "not a Kubernetes object"},
	    {"decoded %3F", "/explain/shop/web?format=json", 0, NULL, NULL, "not a Kubernetes"},
	    {"upper case name", "/explain/shop/Web", 0, NULL, NULL, "not a Kubernetes object"},
	    {"upper case namespace", "/explain/Shop/web", 0, NULL, NULL, "not a Kubernetes name"},
	    {"dot in namespace", "/explain/sh.op/web", 0, NULL, NULL, "not a Kubernetes name"},
	    {"name starts with a dash", "/explain/shop/-web", 0, NULL, NULL, "not a Kubernetes"},
	    {"name ends with a dot", "/explain/shop/web.", 0, NULL, NULL, "not a Kubernetes"},
	    {"two dots", "/explain/shop/a..b", 0, NULL, NULL, "not a Kubernetes object"},
	    {"dot dot", "/explain/shop/..", 0, NULL, NULL, "not a Kubernetes object"},
	    {"control character", "/explain/shop/we\tb", 0, NULL, NULL, "not a Kubernetes"},
	    {"utf-8", "/explain/shop/w\xc3\xa9" "b", 0, NULL, NULL, "not a Kubernetes object"},
	    {"other prefix", "/explained/shop/web", 0, NULL, NULL, "does not start with"},
	    {"no prefix", "shop/web", 0, NULL, NULL, "does not start with"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct xpath_case *c = &cases[i];
		char ns[HTTP_NS_MAX + 1] = "x", name[HTTP_NAME_MAX + 1] = "x", err[256] = "";
		int rc = http_parse_explain_path(c->xc_path, ns, sizeof ns, name, sizeof name, err,
		    sizeof err);
		if (c->xc_ok) {
			cr_expect_eq(rc, CC_OK, "%s: rejected: %s", c->xc_name, err);
			cr_expect_str_eq(ns, c->xc_ns, "%s", c->xc_name);
			cr_expect_str_eq(name, c->xc_cert, "%s", c->xc_name);
		} else {
			cr_expect_eq(rc, CC_ERR_INVAL, "%s: accepted", c->xc_name);
			cr_expect(strstr(err, c->xc_err), "%s: reason \"%s\" lacks \"%s\"", c->xc_name,
			    err, c->xc_err);
			cr_expect_str_eq(ns, "", "%s: namespace left behind", c->xc_name);
			cr_expect_str_eq(name, "", "%s: name left behind", c->xc_name);
			cr_expect(strlen(err) < 200, "%s: the reason quotes too much", c->xc_name);
		}
	}
	/* a single label longer than 63 is still a valid object name */
	char longlabel[120], ns[HTTP_NS_MAX + 1], name[HTTP_NAME_MAX + 1], err[256];
	snprintf(longlabel, sizeof longlabel, "/explain/shop/%s", repeat('l', 100));
	cr_expect_eq(http_parse_explain_path(longlabel, ns, sizeof ns, name, sizeof name, err,
			 sizeof err),
	    CC_OK, "%s", err);
}

struct xarg_case {
	const char *ac_name;
	const char *ac_arg;
	int ac_ok;
	int ac_json;
};

Test(http_server, parse_explain_arg_table)
{
	static const struct xarg_case cases[] = {
	    {"json", "format=json", 1, 1},
	    {"text", "format=text", 1, 0},
	    {"other format", "format=xml", 0, 0},
	    {"upper case", "format=JSON", 0, 0},
	    {"no value", "format", 0, 0},
	    {"empty value", "format=", 0, 0},
	    {"other argument", "x=1", 0, 0},
	    {"empty", "", 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct xarg_case *c = &cases[i];
		int json = 7;
		char err[160] = "";
		int rc = http_parse_explain_arg(c->ac_arg, &json, err, sizeof err);
		if (c->ac_ok) {
			cr_expect_eq(rc, CC_OK, "%s", c->ac_name);
			cr_expect_eq(json, c->ac_json, "%s", c->ac_name);
		} else {
			cr_expect_eq(rc, CC_ERR_INVAL, "%s: accepted", c->ac_name);
			cr_expect_eq(json, 7, "%s: written on error", c->ac_name);
			cr_expect(strstr(err, "format=json"), "%s: %s", c->ac_name, err);
		}
	}
}

/* A stand-in for the controller's handler: knows shop/web; counts its calls. */
static int fake_calls;

static int
fake_explain(void *arg, const char *ns, const char *name, int json, struct buf *out)
{
	cr_expect_str_eq(arg, "the arg");
	fake_calls++;
	if (strcmp(ns, "shop") != 0 || strcmp(name, "web") != 0)
		return CC_ERR_NOTFOUND;
	return json ? buf_printf(out, "{\"risk\":0.5}\n") :
		      buf_printf(out, "Certificate %s/%s\nrisk: 0.5 (high)\n", ns, name);
}

struct xroute_case {
	const char *rc_name;
	const char *rc_path;
	long rc_status;
	const char *rc_ctype; /* part of the content type */
	const char *rc_body;  /* part of the body */
};

Test(http_server, explain_endpoint)
{
	struct http_server *s = NULL;
	char err[256] = "";
	char hugename[700];
	snprintf(hugename, sizeof hugename, "/explain/shop/%s", repeat('a', 590));
	struct http_server_opts o = {"127.0.0.1:0", NULL, fake_explain, "the arg"};
	cr_assert_eq(http_server_start(&o, &s, err, sizeof err), CC_OK, "%s", err);
	int port = http_server_port(s);
	struct reply r;

	/* before the first sync: 503 for a good path, but a bad one is still a 400 */
	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/explain/shop/web", &r), 0);
	cr_expect_eq(r.r_status, 503);
	cr_expect(strstr(body(&r), "not ready"), "%s", body(&r));
	buf_free(&r.r_body);
	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/explain/shop/web/x", &r), 0);
	cr_expect_eq(r.r_status, 400);
	buf_free(&r.r_body);
	cr_expect_eq(fake_calls, 0, "the handler ran before the sync");

	http_server_set_ready(s, 1);
	const struct xroute_case cases[] = {
	    {"text", "/explain/shop/web", 200, "text/plain", "Certificate shop/web\nrisk: 0.5"},
	    {"explicit text", "/explain/shop/web?format=text", 200, "text/plain", "risk: 0.5"},
	    {"json", "/explain/shop/web?format=json", 200, "application/json", "{\"risk\":0.5}"},
	    {"encoded letters", "/explain/sh%6Fp/w%65b", 200, "text/plain", "Certificate shop/web"},
	    {"unknown certificate", "/explain/shop/other", 404, "text/plain",
		"certificate \"other\" in namespace \"shop\""},
	    {"unknown namespace", "/explain/bank/web", 404, "text/plain", "not found"},
	    {"usage", "/explain", 200, "text/plain", "GET /explain/NAMESPACE/NAME"},
	    {"usage with slash", "/explain/", 200, "text/plain", "?format=json"},
	    {"no name", "/explain/shop", 400, "text/plain", "expected NAMESPACE/NAME"},
	    {"trailing slash", "/explain/shop/web/", 400, "text/plain", "bad request"},
	    {"encoded slash", "/explain/shop/we%2Fb", 400, "text/plain", "more than NAMESPACE"},
	    {"encoded question mark", "/explain/shop/web%3Fformat=json", 400, "text/plain",
		"not a Kubernetes object name"},
	    {"plus", "/explain/shop/a+b", 400, "text/plain", "not a Kubernetes object name"},
	    {"upper case", "/explain/shop/WEB", 400, "text/plain", "not a Kubernetes object name"},
	    {"too long", hugename, 400, "text/plain", "longer than 253"},
	    {"bad format", "/explain/shop/web?format=xml", 400, "text/plain", "format=json"},
	    {"extra argument", "/explain/shop/web?format=json&x=1", 400, "text/plain", "x=1"},
	    {"other route", "/explainx/shop/web", 404, "text/plain", "not found"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct xroute_case *c = &cases[i];
		cr_assert_eq(fetch(port, "127.0.0.1", NULL, c->rc_path, &r), 0, "%s", c->rc_name);
		cr_expect_eq(r.r_status, c->rc_status, "%s: status %ld", c->rc_name, r.r_status);
		cr_expect(strstr(r.r_ctype, c->rc_ctype), "%s: content type %s", c->rc_name,
		    r.r_ctype);
		cr_expect(strstr(body(&r), c->rc_body), "%s: body lacks \"%s\": %s", c->rc_name,
		    c->rc_body, body(&r));
		buf_free(&r.r_body);
	}
	/* far over any limit: refused by libwebsockets or by the parser, never a crash */
	char *monster = malloc(9001);
	memcpy(monster, "/explain/shop/", 14);
	memset(monster + 14, 'a', 9000 - 14);
	monster[9000] = '\0';
	if (fetch(port, "127.0.0.1", NULL, monster, &r) == 0)
		cr_expect(r.r_status >= 400 && r.r_status < 500, "a 9000-byte path got %ld",
		    r.r_status);
	buf_free(&r.r_body);
	free(monster);
	/* the index page links to the endpoint */
	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/", &r), 0);
	cr_expect(strstr(body(&r), "href=\"/explain\""), "%s", body(&r));
	buf_free(&r.r_body);
	/* the server still answers after all that */
	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/healthz", &r), 0);
	cr_expect_eq(r.r_status, 200);
	buf_free(&r.r_body);
	http_server_stop(s);
}

/* Without a handler, /explain/... is simply not there. */
Test(http_server, explain_without_handler)
{
	struct http_server *s = NULL;
	char err[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", NULL};
	cr_assert_eq(http_server_start(&o, &s, err, sizeof err), CC_OK, "%s", err);
	http_server_set_ready(s, 1);
	struct reply r;
	cr_assert_eq(fetch(http_server_port(s), "127.0.0.1", NULL, "/explain/shop/web", &r), 0);
	cr_expect_eq(r.r_status, 404);
	buf_free(&r.r_body);
	http_server_stop(s);
}

/* ---- /status ---- */

struct sarg_case {
	const char *sa_name;
	const char *sa_arg;
	const char *sa_before; /* ns already read from an earlier argument */
	const char *sa_ns;     /* the namespace read, or NULL when refused */
	const char *sa_err;    /* part of the reason when refused */
};

Test(http_server, parse_status_arg_table)
{
	static char long63[80], long64[80];
	snprintf(long63, sizeof long63, "namespace=%s", repeat('a', 63));
	snprintf(long64, sizeof long64, "namespace=%s", repeat('a', 64));
	const struct sarg_case cases[] = {
	    {"a namespace", "namespace=shop", "", "shop", NULL},
	    {"digits and dashes", "namespace=team-1", "", "team-1", NULL},
	    {"63 characters", long63, "", long63 + 10, NULL},
	    {"64 characters", long64, "", NULL, "longer than 63"},
	    {"empty value", "namespace=", "", NULL, "not a Kubernetes namespace name"},
	    {"no value", "namespace", "", NULL, "only namespace=NAMESPACE"},
	    {"upper case", "namespace=Shop", "", NULL, "not a Kubernetes namespace name"},
	    {"a dot", "namespace=a.b", "", NULL, "not a Kubernetes namespace name"},
	    {"a space (a decoded +)", "namespace=a b", "", NULL, "not a Kubernetes namespace name"},
	    {"a slash", "namespace=a/b", "", NULL, "not a Kubernetes namespace name"},
	    {"leading dash", "namespace=-a", "", NULL, "not a Kubernetes namespace name"},
	    {"key in capitals", "Namespace=shop", "", NULL, "unknown query argument"},
	    {"another argument", "format=json", "", NULL, "only namespace=NAMESPACE"},
	    {"empty", "", "", NULL, "unknown query argument"},
	    {"given twice", "namespace=bank", "shop", NULL, "namespace given twice"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct sarg_case *c = &cases[i];
		char ns[HTTP_NS_MAX + 1], err[256] = "";
		snprintf(ns, sizeof ns, "%s", c->sa_before);
		int rc = http_parse_status_arg(c->sa_arg, ns, sizeof ns, err, sizeof err);
		if (c->sa_ns) {
			cr_expect_eq(rc, CC_OK, "%s: refused: %s", c->sa_name, err);
			cr_expect_str_eq(ns, c->sa_ns, "%s", c->sa_name);
		} else {
			cr_expect_eq(rc, CC_ERR_INVAL, "%s: accepted as \"%s\"", c->sa_name, ns);
			cr_expect_str_eq(ns, c->sa_before, "%s: written on error", c->sa_name);
			cr_expect(strstr(err, c->sa_err), "%s: reason \"%s\" lacks \"%s\"", c->sa_name,
			    err, c->sa_err);
		}
	}
}

/* A stand-in for the controller's /status handler: echoes the namespace it was asked for. */
static int status_calls;
static char status_last_ns[HTTP_NS_MAX + 1];

static int
fake_status(void *arg, const char *ns, char **body, size_t *len)
{
	cr_expect_str_eq(arg, "the status arg");
	status_calls++;
	snprintf(status_last_ns, sizeof status_last_ns, "%s", ns);
	if (strcmp(ns, "broken") == 0)
		return CC_ERR_IO;
	size_t n = strlen(ns) + 32;
	*body = malloc(n);
	*len = (size_t)snprintf(*body, n, "{\"items\":[],\"ns\":\"%s\"}\n", ns);
	return CC_OK;
}

struct sroute_case {
	const char *sr_name;
	const char *sr_path;
	long sr_status;
	const char *sr_body; /* part of the body */
	const char *sr_ns;   /* the namespace the handler saw, NULL when it must not run */
};

Test(http_server, status_endpoint)
{
	struct http_server *s = NULL;
	char err[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", NULL, fake_explain, "the arg", fake_status,
	    "the status arg"};
	cr_assert_eq(http_server_start(&o, &s, err, sizeof err), CC_OK, "%s", err);
	int port = http_server_port(s);
	struct reply r;

	/* before the first sync: 503, but a bad query is still a 400; the handler never runs */
	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/status", &r), 0);
	cr_expect_eq(r.r_status, 503);
	cr_expect(strstr(body(&r), "not ready"), "%s", body(&r));
	buf_free(&r.r_body);
	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/status?namespace=Shop", &r), 0);
	cr_expect_eq(r.r_status, 400);
	buf_free(&r.r_body);
	cr_expect_eq(status_calls, 0, "the handler ran before the sync");

	http_server_set_ready(s, 1);
	char longarg[300];
	snprintf(longarg, sizeof longarg, "/status?namespace=%s", repeat('a', 200));
	const struct sroute_case cases[] = {
	    {"every namespace", "/status", 200, "{\"items\":[],\"ns\":\"\"}", ""},
	    {"one namespace", "/status?namespace=shop", 200, "\"ns\":\"shop\"", "shop"},
	    {"encoded letters", "/status?namespace=sh%6Fp", 200, "\"ns\":\"shop\"", "shop"},
	    {"handler error", "/status?namespace=broken", 500, "cannot list the certificates",
		"broken"},
	    {"bad namespace", "/status?namespace=Shop", 400, "not a Kubernetes namespace name",
		NULL},
	    {"plus is a space", "/status?namespace=a+b", 400, "not a Kubernetes namespace name",
		NULL},
	    {"encoded slash", "/status?namespace=a%2Fb", 400, "not a Kubernetes namespace name",
		NULL},
	    {"empty namespace", "/status?namespace=", 400, "expected /status or", NULL},
	    {"twice", "/status?namespace=a&namespace=b", 400, "namespace given twice", NULL},
	    {"other argument", "/status?format=json", 400, "only namespace=NAMESPACE", NULL},
	    {"a long argument", longarg, 400, "too many or too long", NULL},
	    {"a subpath", "/status/shop", 404, "not found", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct sroute_case *c = &cases[i];
		int before = status_calls;
		status_last_ns[0] = '#';
		cr_assert_eq(fetch(port, "127.0.0.1", NULL, c->sr_path, &r), 0, "%s", c->sr_name);
		cr_expect_eq(r.r_status, c->sr_status, "%s: status %ld", c->sr_name, r.r_status);
		cr_expect(strstr(r.r_ctype, c->sr_status == 200 ? "application/json" : "text/plain"),
		    "%s: content type %s", c->sr_name, r.r_ctype);
		cr_expect(strstr(body(&r), c->sr_body), "%s: body lacks \"%s\": %s", c->sr_name,
		    c->sr_body, body(&r));
		if (c->sr_ns) {
			cr_expect_eq(status_calls, before + 1, "%s: handler not run", c->sr_name);
			cr_expect_str_eq(status_last_ns, c->sr_ns, "%s", c->sr_name);
		} else {
			cr_expect_eq(status_calls, before, "%s: handler ran", c->sr_name);
		}
		buf_free(&r.r_body);
	}
	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/", &r), 0);
	cr_expect(strstr(body(&r), "href=\"/status\""), "the index links to /status: %s", body(&r));
	buf_free(&r.r_body);
	http_server_stop(s);

	/* without a handler, /status is not there */
	struct http_server_opts none = {"127.0.0.1:0", NULL};
	cr_assert_eq(http_server_start(&none, &s, err, sizeof err), CC_OK, "%s", err);
	http_server_set_ready(s, 1);
	cr_assert_eq(fetch(http_server_port(s), "127.0.0.1", NULL, "/status", &r), 0);
	cr_expect_eq(r.r_status, 404);
	buf_free(&r.r_body);
	http_server_stop(s);
}

/* ---- the live page's WebSocket (/live) ---- */

struct live_src {
	atomic_int risk_milli;
	struct http_server *srv; /* set once the server runs; the feed wakes it */
};

static void
live_src_rows(void *arg, struct status_rows *out)
{
	struct live_src *ls = arg;
	out->sr_n = 1;
	out->sr_rows = xcalloc(1, sizeof *out->sr_rows);
	struct status_row *r = &out->sr_rows[0];
	r->sr_ns = xstrdup("shop");
	r->sr_name = xstrdup("web");
	r->sr_issuer_kind = xstrdup("Issuer");
	r->sr_issuer_name = xstrdup("ca");
	r->sr_risk_value = atomic_load(&ls->risk_milli) / 1000.0;
	r->sr_risk = r->sr_risk_value >= 0.5 ? STATUS_RISK_HIGH : STATUS_RISK_LOW;
}

static void
live_src_wake(void *arg)
{
	struct live_src *ls = arg;
	http_server_live_wake(ls->srv);
}

/*
 * Open a WebSocket on path with the certcast-live subprotocol, Host host and Origin origin
 * (NULL: none). Returns the socket with the reply's status in *status, or -1.
 */
static int ws_open_proto(int port, const char *path, const char *host, const char *origin,
    const char *proto, int *status);

static int
ws_open(int port, const char *path, const char *host, const char *origin, int *status)
{
	return ws_open_proto(port, path, host, origin, "certcast-live", status);
}

/* As ws_open, with Sec-WebSocket-Protocol proto (NULL: none). */
static int
ws_open_proto(int port, const char *path, const char *host, const char *origin,
    const char *proto, int *status)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	char req[1024], o[300] = "", pr[128] = "";
	if (origin)
		snprintf(o, sizeof o, "Origin: %s\r\n", origin);
	if (proto)
		snprintf(pr, sizeof pr, "Sec-WebSocket-Protocol: %s\r\n", proto);
	int n = snprintf(req, sizeof req,
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	    "%s%s\r\n",
	    path, host, pr, o);
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	/* the reply's head, byte by byte so that no frame after it is swallowed */
	char head[2048];
	size_t h = 0;
	while (h + 1 < sizeof head && read(fd, head + h, 1) == 1) {
		h++;
		if (h >= 4 && memcmp(head + h - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	head[h] = '\0';
	*status = 0;
	sscanf(head, "HTTP/1.1 %d", status);
	if (*status == 101 && proto)
		cr_expect(strstr(head, proto) != NULL, "the subprotocol: %s", head);
	return fd;
}

static int
read_full(int fd, void *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* One text frame from the server (unmasked, unfragmented), malloc'ed; NULL on anything else. */
static char *
ws_text(int fd)
{
	unsigned char h[2];
	if (read_full(fd, h, 2) != 0 || h[0] != 0x81 || (h[1] & 0x80))
		return NULL;
	uint64_t len = h[1] & 0x7f;
	if (len == 126 || len == 127) {
		unsigned char e[8];
		size_t k = len == 126 ? 2 : 8;
		if (read_full(fd, e, k) != 0)
			return NULL;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | e[i];
	}
	if (len > (1u << 24))
		return NULL;
	char *s = xmalloc((size_t)len + 1);
	if (read_full(fd, s, (size_t)len) != 0) {
		free(s);
		return NULL;
	}
	s[len] = '\0';
	return s;
}

Test(http_server, live_feed_over_websocket, .timeout = 60)
{
	struct live_src src;
	atomic_init(&src.risk_milli, 10);
	src.srv = NULL;
	struct live_opts lo = {live_src_rows, &src, live_src_wake, &src, 100};
	struct live *l = live_new(&lo);
	struct http_server *s = NULL;
	char err[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", NULL, NULL, NULL, NULL, NULL, l};
	cr_assert_eq(http_server_start(&o, &s, err, sizeof err), CC_OK, "%s", err);
	src.srv = s;
	cr_assert_eq(live_start(l), CC_OK);
	int port = http_server_port(s), st;
	char host[64], self[96];
	snprintf(host, sizeof host, "127.0.0.1:%d", port);
	snprintf(self, sizeof self, "http://127.0.0.1:%d", port);

	/* the page itself */
	struct reply r;
	cr_assert_eq(fetch(port, "127.0.0.1", NULL, "/", &r), 0);
	cr_expect(strstr(body(&r), "'certcast-live'") != NULL, "the page opens the feed");
	buf_free(&r.r_body);

	/* refused: another site's page, another path */
	int bad = ws_open(port, "/live", host, "http://evil.example", &st);
	cr_expect_neq(st, 101, "a page from elsewhere is refused");
	if (bad >= 0)
		close(bad);
	bad = ws_open(port, "/status", host, NULL, &st);
	cr_expect_neq(st, 101, "the feed is only at /live");
	if (bad >= 0)
		close(bad);
	const char *paths[] = {"/live", "/metrics", "/"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		bad = ws_open_proto(port, paths[i], host, NULL, NULL, &st);
		cr_expect_neq(st, 101, "%s: a WebSocket without the subprotocol is refused", paths[i]);
		if (bad >= 0)
			close(bad);
		bad = ws_open_proto(port, paths[i], host, "http://evil.example", "chat", &st);
		cr_expect_neq(st, 101, "%s: one with another subprotocol too", paths[i]);
		if (bad >= 0)
			close(bad);
	}

	/* this server's own page: a snapshot at once, then an update when a risk moves */
	int fd = ws_open(port, "/live", host, self, &st);
	cr_assert_geq(fd, 0);
	cr_assert_eq(st, 101);
	char *m = ws_text(fd);
	cr_assert_not_null(m, "a first message");
	cr_expect(strstr(m, "\"type\":\"snapshot\"") && strstr(m, "\"key\":\"shop/web\"") &&
		      strstr(m, "\"level\":\"low\""),
	    "%s", m);
	free(m);
	atomic_store(&src.risk_milli, 800);
	m = ws_text(fd);
	cr_assert_not_null(m, "an update");
	cr_expect(strstr(m, "\"type\":\"update\"") && strstr(m, "\"level\":\"high\""), "%s", m);
	free(m);
	/* a client without Origin (a script, not someone's browser) may read it too */
	int fd2 = ws_open(port, "/live", host, NULL, &st);
	cr_expect_eq(st, 101);
	m = ws_text(fd2);
	cr_expect(m && strstr(m, "\"type\":\"snapshot\"") && strstr(m, "\"level\":\"high\""), "%s",
	    m ? m : "(none)");
	free(m);
	close(fd2);
	close(fd);
	live_stop(l);
	http_server_stop(s);
	live_free(l);
}
