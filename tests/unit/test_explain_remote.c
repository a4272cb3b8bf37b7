/*
 * Tests for explain_remote (the URL it builds, and `explain --controller` against a real
 * http_server with a stand-in handler), explain_fmt (text and JSON) and the name rules the
 * endpoint and the client share (resource.h).
 */
#include "buf.h"
#include "cc_err.h"
#include "explain_fmt.h"
#include "ctlget.h"
#include "explain_remote.h"
#include "http_server.h"
#include "log.h"
#include "resource.h"
#include "testhttp.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
quiet(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
}

TestSuite(explain_remote, .init = quiet);

struct url_case {
	const char *uc_name;
	const char *uc_base;
	const char *uc_ns, *uc_cert;
	const char *uc_want; /* the URL, or NULL when refused */
	const char *uc_err;  /* part of the reason when refused */
};

Test(explain_remote, url_table)
{
	static const struct url_case cases[] = {
	    {"port-forward", "http://127.0.0.1:9403", "shop", "web",
		"http://127.0.0.1:9403/explain/shop/web", NULL},
	    {"trailing slash", "http://127.0.0.1:9403/", "shop", "web",
		"http://127.0.0.1:9403/explain/shop/web", NULL},
	    {"several slashes", "http://h:1///", "shop", "web", "http://h:1/explain/shop/web", NULL},
	    {"https with a prefix", "https://ops.example/certcast/", "shop", "a.b",
		"https://ops.example/certcast/explain/shop/a.b", NULL},
	    {"scheme in capitals", "HTTP://h", "shop", "web", "HTTP://h/explain/shop/web", NULL},
	    {"ipv6", "http://[::1]:9403", "shop", "web", "http://[::1]:9403/explain/shop/web", NULL},
	    {"no scheme", "127.0.0.1:9403", "shop", "web", NULL, "must start with http://"},
	    {"other scheme", "ftp://h", "shop", "web", NULL, "must start with http://"},
	    {"file", "file:///etc/passwd", "shop", "web", NULL, "must start with http://"},
	    {"no host", "http:///x", "shop", "web", NULL, "has no host"},
	    {"empty", "", "shop", "web", NULL, "must start with http://"},
	    {"user information", "http://u:p@h", "shop", "web", NULL, "user information"},
	    {"query", "http://h/?x=1", "shop", "web", NULL, "query or fragment"},
	    {"fragment", "http://h/#x", "shop", "web", NULL, "query or fragment"},
	    {"space", "http://h /", "shop", "web", NULL, "space or control"},
	    {"bad namespace", "http://h", "Shop", "web", NULL, "invalid certificate"},
	    {"bad name", "http://h", "shop", "we/b", NULL, "invalid certificate"},
	    {"empty name", "http://h", "shop", "", NULL, "invalid certificate"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct url_case *c = &cases[i];
		char out[512] = "", err[256] = "";
		int rc = xr_url(c->uc_base, c->uc_ns, c->uc_cert, out, sizeof out, err, sizeof err);
		if (c->uc_want) {
			cr_expect_eq(rc, CC_OK, "%s: refused: %s", c->uc_name, err);
			cr_expect_str_eq(out, c->uc_want, "%s", c->uc_name);
		} else {
			cr_expect_eq(rc, CC_ERR_INVAL, "%s: accepted as %s", c->uc_name, out);
			cr_expect(strstr(err, c->uc_err), "%s: reason \"%s\" lacks \"%s\"", c->uc_name,
			    err, c->uc_err);
		}
	}
	char small[16], err[128];
	cr_expect_eq(xr_url("http://127.0.0.1:9403", "shop", "web", small, sizeof small, err,
			 sizeof err),
	    CC_ERR_INVAL, "an URL that does not fit");
}

struct name_case {
	const char *nc_name;
	const char *nc_s;
	int nc_label;     /* res_dns_label_ok */
	int nc_subdomain; /* res_dns_subdomain_ok */
};

Test(explain_remote, kubernetes_names_table)
{
	char l63[64], l64[65], s253[254], s254[255];
	memset(l63, 'a', 63);
	l63[63] = '\0';
	memset(l64, 'a', 64);
	l64[64] = '\0';
	memset(s253, 'b', 253);
	s253[253] = '\0';
	memset(s254, 'b', 254);
	s254[254] = '\0';
	const struct name_case cases[] = {
	    {"short", "web", 1, 1},
	    {"digits first", "0web", 1, 1},
	    {"dashes inside", "w-e-b", 1, 1},
	    {"dotted", "web.shop", 0, 1},
	    {"63", l63, 1, 1},
	    {"64: too long for a label, fine for a name", l64, 0, 1},
	    {"253", s253, 0, 1},
	    {"254", s254, 0, 0},
	    {"empty", "", 0, 0},
	    {"leading dash", "-web", 0, 0},
	    {"trailing dash", "web-", 0, 0},
	    {"dash before a dot", "web-.shop", 0, 0},
	    {"dash after a dot", "web.-shop", 0, 0},
	    {"leading dot", ".web", 0, 0},
	    {"trailing dot", "web.", 0, 0},
	    {"two dots", "web..shop", 0, 0},
	    {"upper case", "Web", 0, 0},
	    {"underscore", "w_b", 0, 0},
	    {"slash", "w/b", 0, 0},
	    {"percent", "w%2Fb", 0, 0},
	    {"space", "w b", 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct name_case *c = &cases[i];
		cr_expect_eq(!!res_dns_label_ok(c->nc_s), c->nc_label, "%s: label", c->nc_name);
		cr_expect_eq(!!res_dns_subdomain_ok(c->nc_s), c->nc_subdomain, "%s: subdomain",
		    c->nc_name);
	}
}

/* A result with two factors, as scoring would leave it. */
static struct xf_explanation *
sample(int with_model)
{
	struct xf_explanation *x = calloc(1, sizeof *x);
	x->xe_rc = SC_OK;
	x->xe_res.r_risk = 0.25;
	x->xe_res.r_level = SC_LEVEL_MEDIUM;
	x->xe_res.r_predicted_failure = 1773532800; /* 2026-03-15T00:00:00Z */
	x->xe_res.r_nfactors = 2;
	snprintf(x->xe_res.r_factors[0].f_name, 32, "fault");
	x->xe_res.r_factors[0].f_value = 0.5;
	x->xe_res.r_factors[0].f_contrib = 0.2;
	snprintf(x->xe_res.r_factors[0].f_text, 160, "a \"quoted\" fault");
	snprintf(x->xe_res.r_factors[1].f_name, 32, "schedule");
	x->xe_res.r_factors[1].f_value = 12;
	x->xe_res.r_factors[1].f_contrib = -0.05;
	snprintf(x->xe_res.r_factors[1].f_text, 160, "12 attempts");
	snprintf(x->xe_res.r_reasons, sizeof x->xe_res.r_reasons, "a fault");
	snprintf(x->xe_text, sizeof x->xe_text, "risk: 0.25 (medium)\nfactors:");
	if (with_model)
		lm_init(&x->xe_model, NULL);
	x->xe_has_model = with_model;
	return x;
}

Test(explain_remote, text_and_json)
{
	struct xf_explanation *x = sample(1);
	struct buf b;
	buf_init(&b, 1 << 20);
	cr_assert_eq(xf_text(&b, "shop", "web", "a note", x), CC_OK);
	cr_expect_str_eq(b.b_data, "Certificate shop/web\na note\nrisk: 0.25 (medium)\nfactors:\n"
				   "\nLearned model: 0 outcomes learned, 0 of them failures\n");
	buf_reset(&b);
	x->xe_rc = SC_ERR_INVAL;
	x->xe_has_model = 0;
	cr_assert_eq(xf_text(&b, "shop", "web", NULL, x), CC_OK);
	cr_expect_str_eq(b.b_data, "Certificate shop/web\nThe certificate's own data is "
				   "inconsistent; scored as low risk:\nrisk: 0.25 (medium)\n"
				   "factors:\n");
	buf_reset(&b);
	x->xe_rc = SC_OK;
	x->xe_has_model = 1;
	cr_assert_eq(xf_json(&b, "shop", "web", x), CC_OK);
	cJSON *o = cJSON_Parse(b.b_data);
	cr_assert_not_null(o, "not JSON: %s", b.b_data);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "namespace")->valuestring, "shop");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "name")->valuestring, "web");
	cr_expect_eq(cJSON_GetObjectItem(o, "risk")->valuedouble, 0.25);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "level")->valuestring, "medium");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "predictedFailure")->valuestring,
	    "2026-03-15T00:00:00Z");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(o, "consistent")));
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(o, "learnedModel")));
	cr_expect_str_eq(cJSON_GetObjectItem(o, "reasons")->valuestring, "a fault");
	cJSON *fs = cJSON_GetObjectItem(o, "factors");
	cr_assert_eq(cJSON_GetArraySize(fs), 2);
	cJSON *f0 = cJSON_GetArrayItem(fs, 0), *f1 = cJSON_GetArrayItem(fs, 1);
	cr_expect_str_eq(cJSON_GetObjectItem(f0, "name")->valuestring, "fault");
	cr_expect_eq(cJSON_GetObjectItem(f0, "contribution")->valuedouble, 0.2);
	cr_expect_str_eq(cJSON_GetObjectItem(f0, "text")->valuestring, "a \"quoted\" fault");
	cr_expect_eq(cJSON_GetObjectItem(f1, "value")->valuedouble, 12);
	cr_expect_eq(cJSON_GetObjectItem(f1, "contribution")->valuedouble, -0.05);
	cJSON_Delete(o);
	/* no predicted failure: null; inconsistent data: consistent false */
	buf_reset(&b);
	x->xe_res.r_predicted_failure = 0;
	x->xe_rc = SC_ERR_INVAL;
	cr_assert_eq(xf_json(&b, "shop", "web", x), CC_OK);
	o = cJSON_Parse(b.b_data);
	cr_assert_not_null(o);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(o, "predictedFailure")));
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(o, "consistent")));
	cJSON_Delete(o);
	/* a buffer too small says so */
	struct buf tiny;
	buf_init(&tiny, 16);
	cr_expect_eq(xf_text(&tiny, "shop", "web", NULL, x), CC_ERR_TOOBIG);
	buf_free(&tiny);
	buf_free(&b);
	free(x);
}

/* The stand-in controller: knows shop/web; "big/web" answers more than the client takes. */
static int
stand_in(void *arg, const char *ns, const char *name, int json, struct buf *out)
{
	(void)arg;
	(void)json;
	if (strcmp(ns, "big") == 0) {
		static char chunk[4096];
		memset(chunk, 'x', sizeof chunk);
		for (int i = 0; i < 32; i++) /* 128 KiB */
			cr_assert_eq(buf_append(out, chunk, sizeof chunk), CC_OK);
		return CC_OK;
	}
	if (strcmp(ns, "shop") != 0 || strcmp(name, "web") != 0)
		return CC_ERR_NOTFOUND;
	return buf_printf(out, "Certificate shop/web\nrisk: 0.25 (medium)\n");
}

/* xr_run's exit code, standard output and standard error. */
static int
run_max(const char *base, const char *ns, const char *name, size_t max, char **out, char **err)
{
	size_t ol = 0, el = 0;
	*out = *err = NULL;
	FILE *of = open_memstream(out, &ol), *ef = open_memstream(err, &el);
	int code = max ? xr_run_max(base, ns, name, max, of, ef) : xr_run(base, ns, name, of, ef);
	fclose(of);
	fclose(ef);
	return code;
}

static int
run(const char *base, const char *ns, const char *name, char **out, char **err)
{
	return run_max(base, ns, name, 0, out, err);
}

Test(explain_remote, against_a_server)
{
	struct http_server *s = NULL;
	char e[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", NULL, stand_in, NULL};
	cr_assert_eq(http_server_start(&o, &s, e, sizeof e), CC_OK, "%s", e);
	char base[64];
	snprintf(base, sizeof base, "http://127.0.0.1:%d", http_server_port(s));
	char *out, *err;

	/* not ready yet: 503, exit 1, naming the URL */
	cr_expect_eq(run(base, "shop", "web", &out, &err), 1);
	cr_expect_str_eq(out, "");
	cr_expect(strstr(err, "/explain/shop/web: the controller is not ready yet: not ready"),
	    "%s", err);
	free(out);
	free(err);
	http_server_set_ready(s, 1);

	cr_expect_eq(run(base, "shop", "web", &out, &err), 0, "%s", err);
	cr_expect_str_eq(out, "Certificate shop/web\nrisk: 0.25 (medium)\n");
	cr_expect_str_eq(err, "");
	free(out);
	free(err);

	cr_expect_eq(run(base, "shop", "nope", &out, &err), 1);
	cr_expect(strstr(err, "/explain/shop/nope: not found: certificate \"nope\""), "%s", err);
	free(out);
	free(err);

	cr_expect_eq(run(base, "big", "web", &out, &err), 0, "128 KiB is within the limit");
	cr_expect_eq(strlen(out), 131072);
	free(out);
	free(err);
	cr_expect_eq(run_max(base, "big", "web", 65536, &out, &err), 1);
	cr_expect(strstr(err, "/explain/big/web: the answer is over 65536 bytes; refused"), "%s",
	    err);
	cr_expect(out[0] == '\0', "a refused answer is not printed");
	free(out);
	free(err);

	cr_expect_eq(run(base, "Shop", "web", &out, &err), 2, "names are checked before asking");
	free(out);
	free(err);

	/* nothing listens any more: the message names the URL */
	http_server_stop(s);
	cr_expect_eq(run(base, "shop", "web", &out, &err), 1);
	cr_expect(strstr(err, "cannot get http://127.0.0.1:"), "%s", err);
	free(out);
	free(err);
}

/* Write pem to a new file under /tmp; the path into path. */
static void
write_ca(const char *pem, char *path, size_t pathsz)
{
	snprintf(path, pathsz, "/tmp/certcast-xr-ca.XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs(pem, f);
	fclose(f);
}

/* --controller-ca: an https:// controller with a private CA is verified against that CA. */
Test(explain_remote, https_with_controller_ca)
{
	struct th_opts to = {.to_tls = 1};
	struct th_server *ts = NULL;
	cr_assert_eq(th_server_start(&to, &ts), CC_OK);
	struct th_route r = {.tr_method = "GET", .tr_prefix = "/explain/shop/web", .tr_status = 200,
	    .tr_body = "Certificate shop/web\n"};
	th_server_add_route(ts, &r);
	char ca[64], other[64], notpem[64];
	write_ca(th_server_ca_pem(ts), ca, sizeof ca);
	char *unrelated = th_make_unrelated_ca_pem();
	write_ca(unrelated, other, sizeof other);
	free(unrelated);
	write_ca("not a certificate\n", notpem, sizeof notpem);
	const char *base = th_server_url(ts);
	cr_assert(strncmp(base, "https://", 8) == 0);
	size_t ol = 0, el = 0;
	char *out = NULL, *err = NULL;
	FILE *of = open_memstream(&out, &ol), *ef = open_memstream(&err, &el);
	struct cg_access acc = {ca, NULL};
	cr_expect_eq(xr_run_as(base, &acc, "shop", "web", of, ef), 0);
	fflush(of);
	fflush(ef);
	cr_expect_str_eq(out, "Certificate shop/web\n", "%s", err);
	fclose(of);
	fclose(ef);
	free(out);
	free(err);

	static const struct {
		const char *name;
		const char *ca; /* NULL: the system's CAs only */
		int code;
		const char *msg;
	} cases[] = {
	    {"system CAs only", NULL, 1, "certificate"},
	    {"another CA", NULL, 1, "certificate"},
	    {"missing CA file", "/nonexistent/ca.crt", 2, "cannot read --controller-ca"},
	    {"CA file not PEM", NULL, 2, "holds no PEM certificate"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *file = cases[i].ca;
		if (i == 1)
			file = other;
		if (i == 3)
			file = notpem;
		out = err = NULL;
		of = open_memstream(&out, &ol);
		ef = open_memstream(&err, &el);
		struct cg_access a1 = {file, NULL};
		int code = xr_run_as(base, &a1, "shop", "web", of, ef);
		fclose(of);
		fclose(ef);
		cr_expect_eq(code, cases[i].code, "%s: exit %d: %s", cases[i].name, code, err);
		cr_expect(strstr(err, cases[i].msg) != NULL, "%s: %s", cases[i].name, err);
		cr_expect_str_eq(out, "", "%s", cases[i].name);
		free(out);
		free(err);
	}
	unlink(ca);
	unlink(other);
	unlink(notpem);
	th_server_free(ts);
}

/* Run explain against base with acc; out and err are malloc'ed (free them). */
static int
run_as(const char *base, const struct cg_access *acc, char **out, char **err)
{
	size_t ol = 0, el = 0;
	*out = *err = NULL;
	FILE *of = open_memstream(out, &ol), *ef = open_memstream(err, &el);
	int code = xr_run_as(base, acc, "shop", "web", of, ef);
	fclose(of);
	fclose(ef);
	return code;
}

/*
 * --controller-token-file: the token goes as a bearer header to an https:// controller or a
 * loopback http:// one, and nowhere else; it never appears in what the command prints.
 */
Test(explain_remote, controller_token_file)
{
	struct th_opts to = {.to_tls = 1};
	struct th_server *tls = NULL, *plain = NULL;
	cr_assert_eq(th_server_start(&to, &tls), CC_OK);
	cr_assert_eq(th_server_start(NULL, &plain), CC_OK);
	struct th_route ok = {.tr_method = "GET", .tr_prefix = "/explain/shop/web",
	    .tr_status = 200, .tr_body = "Certificate shop/web\n"};
	th_server_add_route(tls, &ok);
	th_server_add_route(plain, &ok);
	char ca[64], tok[64], empty[64], spaced[64], huge[64];
	write_ca(th_server_ca_pem(tls), ca, sizeof ca);
	write_ca("  s3cr3t-t0ken.abc\n", tok, sizeof tok);
	write_ca("\n \n", empty, sizeof empty);
	write_ca("two tokens\n", spaced, sizeof spaced);
	char *big = malloc(CG_TOKEN_MAX + 2);
	memset(big, 'x', CG_TOKEN_MAX + 1);
	big[CG_TOKEN_MAX + 1] = '\0';
	write_ca(big, huge, sizeof huge);
	free(big);
	char *out, *err;

	struct cg_access acc = {ca, tok};
	cr_expect_eq(run_as(th_server_url(tls), &acc, &out, &err), 0, "%s", err);
	cr_expect_str_eq(out, "Certificate shop/web\n");
	cr_expect_null(strstr(err, "s3cr3t"), "%s", err);
	free(out);
	free(err);
	const struct th_request *rq = th_server_request(tls, th_server_request_count(tls) - 1);
	cr_assert_not_null(rq);
	cr_expect_str_eq(th_request_header(rq, "Authorization"), "Bearer s3cr3t-t0ken.abc",
	    "sent, without the white space around it");

	/* http:// to 127.0.0.1 (kubectl port-forward) is loopback: sent */
	struct cg_access lo = {NULL, tok};
	cr_expect_eq(run_as(th_server_url(plain), &lo, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	rq = th_server_request(plain, th_server_request_count(plain) - 1);
	cr_expect_str_eq(th_request_header(rq, "Authorization"), "Bearer s3cr3t-t0ken.abc");

	/* without the flag no header goes */
	cr_expect_eq(run_as(th_server_url(plain), NULL, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	rq = th_server_request(plain, th_server_request_count(plain) - 1);
	cr_expect_null(th_request_header(rq, "Authorization"));

	static const struct {
		const char *name;
		const char *base;
		int which; /* 0 tok, 1 empty, 2 spaced, 3 huge, 4 missing */
		const char *msg;
	} cases[] = {
	    {"plain http to another host", "http://192.0.2.1:9403", 0,
		"refusing to send the token"},
	    {"plain http to a name", "http://certcast.example:9403", 0, "over plain http://"},
	    {"empty file", NULL, 1, "is empty"},
	    {"two words", NULL, 2, "not one token"},
	    {"over the limit", NULL, 3, "holds over 8192 bytes"},
	    {"missing file", NULL, 4, "cannot read --controller-token-file /nonexistent/token"},
	};
	size_t before = th_server_request_count(tls);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *files[] = {tok, empty, spaced, huge, "/nonexistent/token"};
		struct cg_access a = {ca, files[cases[i].which]};
		const char *base = cases[i].base ? cases[i].base : th_server_url(tls);
		int code = run_as(base, &a, &out, &err);
		cr_expect_eq(code, 2, "%s: exit %d: %s", cases[i].name, code, err);
		cr_expect(strstr(err, cases[i].msg) != NULL, "%s: %s", cases[i].name, err);
		cr_expect_null(strstr(err, "s3cr3t"), "%s: %s", cases[i].name, err);
		cr_expect_str_eq(out, "", "%s", cases[i].name);
		free(out);
		free(err);
	}
	cr_expect_eq(th_server_request_count(tls), before, "refused before any request");

	/* a 401: without a token it says how to give one; with one, that it was not accepted */
	th_server_clear_routes(plain);
	struct th_route no = {.tr_method = "GET", .tr_status = 401,
	    .tr_headers = "WWW-Authenticate: Bearer\r\n",
	    .tr_body = "unauthorized: no Authorization header\n"};
	th_server_add_route(plain, &no);
	cr_expect_eq(run_as(th_server_url(plain), NULL, &out, &err), 1);
	cr_expect(strstr(err, "give one with --controller-token-file FILE") != NULL, "%s", err);
	free(out);
	free(err);
	cr_expect_eq(run_as(th_server_url(plain), &lo, &out, &err), 1);
	cr_expect(strstr(err, "did not accept the token of --controller-token-file") != NULL, "%s",
	    err);
	cr_expect_null(strstr(err, "s3cr3t"), "%s", err);
	free(out);
	free(err);

	unlink(ca);
	unlink(tok);
	unlink(empty);
	unlink(spaced);
	unlink(huge);
	th_server_free(tls);
	th_server_free(plain);
}
