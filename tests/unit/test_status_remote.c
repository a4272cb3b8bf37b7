/*
 * Tests for status_remote (`status --controller URL`): the URL it asks, and the command against
 * a real http_server whose /status handler is a stand-in serving rows made here, printed as the
 * local command prints the same rows; and for ctlget's URL rules, which explain shares.
 */
#include "buf.h"
#include "cc_err.h"
#include "ctlget.h"
#include "http_server.h"
#include "log.h"
#include "status.h"
#include "status_remote.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
quiet(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
}

TestSuite(status_remote, .init = quiet);

struct url_case {
	const char *uc_name;
	const char *uc_base;
	const char *uc_ns;
	const char *uc_want; /* the URL, or NULL when refused */
	const char *uc_err;  /* part of the reason when refused */
};

Test(status_remote, url_table)
{
	static const struct url_case cases[] = {
	    {"every namespace", "http://127.0.0.1:9403", "", "http://127.0.0.1:9403/status", NULL},
	    {"one namespace", "http://127.0.0.1:9403", "shop",
		"http://127.0.0.1:9403/status?namespace=shop", NULL},
	    {"trailing slashes", "http://h:1//", "a", "http://h:1/status?namespace=a", NULL},
	    {"https with a prefix", "https://ops.example/certcast/", "",
		"https://ops.example/certcast/status", NULL},
	    {"ipv6", "http://[::1]:9403", "", "http://[::1]:9403/status", NULL},
	    {"no scheme", "127.0.0.1:9403", "", NULL, "must start with http://"},
	    {"other scheme", "ftp://h", "a", NULL, "must start with http://"},
	    {"no host", "https:///status", "", NULL, "has no host"},
	    {"user information", "http://u@h", "", NULL, "user information"},
	    {"a query of its own", "http://h/?namespace=x", "", NULL, "query or fragment"},
	    {"a fragment", "http://h#x", "", NULL, "query or fragment"},
	    {"a control character", "http://h/\x01", "", NULL, "space or control"},
	    {"bad namespace", "http://h", "Shop", NULL, "invalid namespace \"Shop\""},
	    {"namespace with a query in it", "http://h", "a&b=c", NULL, "invalid namespace"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct url_case *c = &cases[i];
		char out[512] = "", err[256] = "";
		int rc = srm_url(c->uc_base, c->uc_ns, out, sizeof out, err, sizeof err);
		if (c->uc_want) {
			cr_expect_eq(rc, CC_OK, "%s: refused: %s", c->uc_name, err);
			cr_expect_str_eq(out, c->uc_want, "%s", c->uc_name);
		} else {
			cr_expect_eq(rc, CC_ERR_INVAL, "%s: accepted as %s", c->uc_name, out);
			cr_expect(strstr(err, c->uc_err), "%s: reason \"%s\" lacks \"%s\"", c->uc_name,
			    err, c->uc_err);
		}
	}
	char small[20], err[128];
	cr_expect_eq(cg_url("http://127.0.0.1:9403", "/status", small, sizeof small, err,
			 sizeof err),
	    CC_ERR_INVAL, "a URL that does not fit");
	cr_expect(strstr(err, "too long"), "%s", err);
}

/* 2026-06-01T00:00:00Z: far from the rows' times, so ages print alike whenever this runs. */
#define T0 1780272000LL

/* Rows the stand-in serves for namespace ns: "shop" has a critical one, "calm" none. */
static void
rows_for(const char *ns, struct status_rows *rs)
{
	static const char *const names[] = {"api", "web"};
	size_t n = strcmp(ns, "empty") == 0 ? 0 : 2;
	rs->sr_n = n;
	rs->sr_rows = calloc(2, sizeof *rs->sr_rows);
	for (size_t i = 0; i < n; i++) {
		struct status_row *r = &rs->sr_rows[i];
		r->sr_ns = strdup(ns[0] ? ns : "all");
		r->sr_name = strdup(names[i]);
		r->sr_issuer_kind = strdup("Issuer");
		r->sr_issuer_name = strdup("ca");
		r->sr_issuer_group = strdup("cert-manager.io");
		r->sr_ready = strdup("True");
		r->sr_not_after = T0 + 3600 * (long long)(i + 1);
		r->sr_requests = 1;
		r->sr_dns = calloc(1, sizeof *r->sr_dns);
		r->sr_issuing = strdup("");
		int critical = i == 0 && strcmp(ns, "calm") != 0;
		r->sr_risk = critical ? STATUS_RISK_CRITICAL : STATUS_RISK_LOW;
		r->sr_risk_value = critical ? 0.9969 : 0.0123;
		r->sr_risk_reasons = strdup(critical ? "stalled" : "");
	}
}

static char seen_ns[80];

/* The /status stand-in: rows_for(ns) as JSON; "junk" gets something else, "huge" a lot. */
static int
stand_in(void *arg, const char *ns, char **body, size_t *len)
{
	(void)arg;
	snprintf(seen_ns, sizeof seen_ns, "%s", ns);
	if (strcmp(ns, "junk") == 0) {
		*body = strdup("{\"items\":[{\"namespace\":\"a\"}]}\n");
	} else if (strcmp(ns, "huge") == 0) {
		*body = malloc(200001);
		memset(*body, ' ', 200000);
		(*body)[200000] = '\0';
	} else {
		struct status_rows rs;
		rows_for(ns, &rs);
		*body = status_json_text(&rs);
		status_rows_free(&rs);
	}
	*len = strlen(*body);
	return CC_OK;
}

/* What the local command prints for rows_for(ns) in output o (ages as of now). */
static char *
local_print(const char *ns, enum status_output o)
{
	struct status_rows rs;
	rows_for(ns, &rs);
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len), *devnull = fopen("/dev/null", "w");
	(void)status_print(&rs, o, ns, (int64_t)time(NULL), fp, devnull);
	fclose(fp);
	fclose(devnull);
	status_rows_free(&rs);
	return text;
}

struct run_case {
	const char *rc_name;
	const char *rc_ns;   /* -n, or NULL for -A */
	enum status_output rc_out;
	size_t rc_max;       /* 0: SRM_BODY_MAX */
	int rc_exit;
	int rc_same;         /* stdout is what the local command prints for these rows */
	const char *rc_seen; /* the namespace the handler was asked for, NULL when not asked */
	const char *rc_err;  /* part of stderr, or NULL for none at all */
};

Test(status_remote, against_a_server)
{
	struct http_server *s = NULL;
	char e[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", NULL, NULL, NULL, stand_in, NULL};
	cr_assert_eq(http_server_start(&o, &s, e, sizeof e), CC_OK, "%s", e);
	char base[64];
	snprintf(base, sizeof base, "http://127.0.0.1:%d/", http_server_port(s));

	static const struct run_case cases[] = {
	    {"not ready", "shop", STATUS_OUT_JSON, 0, 1, 0, NULL,
		"status?namespace=shop: the controller is not ready yet: not ready"},
	    {"json, a critical row", "shop", STATUS_OUT_JSON, 0, 3, 1, "shop", NULL},
	    {"table", "shop", STATUS_OUT_TABLE, 0, 3, 1, "shop", NULL},
	    {"wide", "shop", STATUS_OUT_WIDE, 0, 3, 1, "shop", NULL},
	    {"nothing critical", "calm", STATUS_OUT_TABLE, 0, 0, 1, "calm", NULL},
	    {"every namespace", NULL, STATUS_OUT_JSON, 0, 3, 1, "", NULL},
	    {"empty namespace, table", "empty", STATUS_OUT_TABLE, 0, 0, 1, "empty",
		"No certificates found in namespace empty."},
	    {"empty namespace, json", "empty", STATUS_OUT_JSON, 0, 0, 1, "empty", NULL},
	    {"not a status document", "junk", STATUS_OUT_JSON, 0, 1, 0, "junk",
		"/status?namespace=junk: not a status document: items[0]: field \"name\""},
	    {"over the limit", "huge", STATUS_OUT_JSON, 65536, 1, 0, "huge",
		"/status?namespace=huge: the answer is over 65536 bytes; refused"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct run_case *rc = &cases[i];
		if (i == 1)
			http_server_set_ready(s, 1);
		struct status_opts so = {NULL, NULL, rc->rc_ns, rc->rc_ns == NULL, rc->rc_out, base};
		char *out = NULL, *err = NULL;
		size_t ol = 0, el = 0;
		FILE *fo = open_memstream(&out, &ol), *fe = open_memstream(&err, &el);
		seen_ns[0] = '#';
		seen_ns[1] = '\0';
		int code = srm_run_max(&so, rc->rc_max ? rc->rc_max : SRM_BODY_MAX, fo, fe);
		fclose(fo);
		fclose(fe);
		cr_expect_eq(code, rc->rc_exit, "%s: exit %d; stderr: %s", rc->rc_name, code, err);
		if (rc->rc_same) {
			char *want = local_print(rc->rc_ns ? rc->rc_ns : "", rc->rc_out);
			cr_expect_str_eq(out, want, "%s: printed differently", rc->rc_name);
			free(want);
		} else {
			cr_expect_str_eq(out, "", "%s: printed something", rc->rc_name);
		}
		if (rc->rc_seen)
			cr_expect_str_eq(seen_ns, rc->rc_seen, "%s: the handler was asked", rc->rc_name);
		if (rc->rc_err)
			cr_expect(strstr(err, rc->rc_err), "%s: stderr lacks \"%s\": %s", rc->rc_name,
			    rc->rc_err, err);
		else if (rc->rc_exit != 1)
			cr_expect_str_eq(err, "", "%s: stderr", rc->rc_name);
		free(out);
		free(err);
	}

	/* another status is quoted: a path the server does not have is its 404 */
	char *e404 = NULL;
	size_t l404 = 0;
	FILE *f404 = open_memstream(&e404, &l404);
	char url[128];
	snprintf(url, sizeof url, "%sstatus/x", base);
	struct buf b;
	buf_init(&b, 4096);
	cr_expect_eq(cg_fetch(url, "status", 5000, &b, f404), 1);
	buf_free(&b);
	fclose(f404);
	cr_expect(strstr(e404, "certcast status: http://127.0.0.1:") && strstr(e404, "/status/x: not found"),
	    "%s", e404);
	free(e404);

	/* no -n: the kubeconfig context's namespace, read from the file for that alone */
	char kc[] = "/tmp/certcast-srm-XXXXXX";
	int fd = mkstemp(kc);
	cr_assert(fd >= 0);
	static const char yaml[] =
	    "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
	    "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n"
	    "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    namespace: calm\n"
	    "users:\n- name: u\n  user:\n    token: t\n";
	cr_assert_eq(write(fd, yaml, sizeof yaml - 1), (ssize_t)(sizeof yaml - 1));
	close(fd);
	struct status_opts so = {kc, NULL, NULL, 0, STATUS_OUT_JSON, base};
	FILE *devnull = fopen("/dev/null", "w");
	cr_expect_eq(srm_run(&so, devnull, devnull), 0, "calm has nothing critical");
	cr_expect_str_eq(seen_ns, "calm", "the context's namespace was asked for");
	unlink(kc);

	/* an unusable URL is a usage error, before the kubeconfig is even looked at */
	struct status_opts bad = {"/nonexistent/kubeconfig", NULL, NULL, 0, STATUS_OUT_JSON,
	    "ftp://h"};
	cr_expect_eq(srm_run(&bad, devnull, devnull), 2);

	/* nothing listens any more: the message names the URL */
	http_server_stop(s);
	char *err = NULL;
	size_t el = 0;
	FILE *fe = open_memstream(&err, &el);
	struct status_opts gone = {NULL, NULL, "shop", 0, STATUS_OUT_JSON, base};
	cr_expect_eq(srm_run(&gone, devnull, fe), 1);
	fclose(fe);
	cr_expect(strstr(err, "certcast status: cannot get http://127.0.0.1:"), "%s", err);
	free(err);
	fclose(devnull);
}

/* Where --controller-token-file may go over plain http://: loopback hosts only. */
Test(status_remote, url_loopback_table)
{
	static const struct {
		const char *url;
		int want;
	} cases[] = {
	    {"http://127.0.0.1:9403", 1},
	    {"http://127.1.2.3/prefix", 1},
	    {"http://localhost:9403", 1},
	    {"HTTP://LOCALHOST", 1},
	    {"http://[::1]:9403", 1},
	    {"http://[::1]", 1},
	    {"http://128.0.0.1:9403", 0},
	    {"http://10.0.0.1", 0},
	    {"http://[::2]:9403", 0},
	    {"http://localhost.example.com", 0},
	    {"http://127.0.0.1.example.com", 0},
	    {"http://[::1", 0},
	    {"http://", 0},
	    {"127.0.0.1:9403", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		cr_expect_eq(cg_url_loopback(cases[i].url), cases[i].want, "%s", cases[i].url);
}
