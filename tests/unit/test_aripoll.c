/*
 * Tests of controller/aripoll against a scripted HTTPS server (testhttp, its own throw-away CA):
 * the identifier asked for, the window reaching the cache with Retry-After, the changed callback,
 * trust only through the issuer's caBundle, skipTLSVerify issuers never asked, and malformed,
 * 404, redirect and error answers counted without a window. Rounds run on the test's thread
 * with a fake clock, so nothing depends on timing.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "aricache.h"
#include "aripoll.h"
#include "cc_err.h"
#include "log.h"
#include "metrics.h"
#include "resource.h"
#include "store.h"
#include "testcert.h"
#include "testhttp.h"

#define NOW 1780272000LL /* 2026-06-01T00:00:00Z */
#define DAY 86400LL

/* RFC 9773's example identifier: this keyIdentifier and serial 0x87654321 */
static const unsigned char kid[] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
    0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};
#define ID "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"

static int64_t fake_now = NOW;
static int64_t
clock_fake(void)
{
	return fake_now;
}

static void
quiet(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
	fake_now = NOW;
}

TestSuite(aripoll, .init = quiet);

static const struct res_desc *
desc(enum res_kind k)
{
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == k)
			return &res_table()[i];
	return NULL;
}

static void
apply_text(struct store *st, enum res_kind k, const char *json)
{
	cJSON *o = cJSON_Parse(json);
	cr_assert_not_null(o, "bad test JSON: %s", json);
	char err[256] = "";
	cr_assert_eq(store_apply(st, desc(k), STORE_SYNC, o, err, sizeof err), CC_OK, "%s", err);
	cJSON_Delete(o);
}

/* acme_extra: more members of spec.acme, e.g. ",\"caBundle\":\"...\"" */
static void
add_issuer(struct store *st, const char *server, const char *acme_extra)
{
	char *j = NULL;
	cr_assert(asprintf(&j,
		      "{\"kind\":\"ClusterIssuer\",\"metadata\":{\"name\":\"ca1\",\"uid\":\"i1\","
		      "\"resourceVersion\":\"1\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
		      "\"spec\":{\"acme\":{\"server\":\"%s\"%s}}}",
		      server, acme_extra) > 0);
	apply_text(st, RES_CLUSTERISSUER, j);
	free(j);
}

/* Certificate web/shop on ClusterIssuer ca1, with request shop-1 holding a real certificate. */
static void
add_cert(struct store *st)
{
	apply_text(st, RES_CERTIFICATE,
	    "{\"kind\":\"Certificate\",\"metadata\":{\"namespace\":\"web\",\"name\":\"shop\","
	    "\"uid\":\"c1\",\"resourceVersion\":\"1\",\"creationTimestamp\":\"2026-05-01T00:00:00Z\"},"
	    "\"spec\":{\"secretName\":\"shop\",\"dnsNames\":[\"shop.example\"],"
	    "\"issuerRef\":{\"name\":\"ca1\",\"kind\":\"ClusterIssuer\"}},"
	    "\"status\":{\"notBefore\":\"2026-05-01T00:00:00Z\",\"notAfter\":\"2026-07-30T00:00:00Z\"}}");
	EVP_PKEY *k = tc_key("P-256");
	struct tc_spec sp = {.issuer_cn = "ARI CA", .cn = "shop.example", .nb = NOW - 31 * DAY,
	    .na = NOW + 59 * DAY, .md = EVP_sha256(), .serial = 0x87654321L, .aki = kid,
	    .aki_len = sizeof kid};
	X509 *x = tc_cert(k, k, &sp);
	size_t len, blen;
	char *pem = tc_pem(&x, 1, &len);
	char *b64 = tc_b64(pem, len, &blen);
	char *j = NULL;
	cr_assert(asprintf(&j,
		      "{\"kind\":\"CertificateRequest\",\"metadata\":{\"namespace\":\"web\","
		      "\"name\":\"shop-1\",\"uid\":\"cr-uid-1\",\"resourceVersion\":\"1\","
		      "\"creationTimestamp\":\"2026-05-01T00:00:00Z\",\"annotations\":{"
		      "\"cert-manager.io/certificate-name\":\"shop\"}},"
		      "\"spec\":{\"request\":\"\",\"issuerRef\":{\"name\":\"ca1\",\"kind\":\"ClusterIssuer\"}},"
		      "\"status\":{\"certificate\":\"%s\",\"conditions\":[{\"type\":\"Ready\","
		      "\"status\":\"True\",\"reason\":\"Issued\"}]}}",
		      b64) > 0);
	apply_text(st, RES_CERTIFICATEREQUEST, j);
	free(j);
	free(b64);
	free(pem);
	X509_free(x);
	EVP_PKEY_free(k);
}

struct world {
	struct th_server *srv;
	struct store *st;
	struct arc *ari;
	struct met_registry *reg;
	struct met_std met;
	struct arp *poll;
	int changed;
	char changed_key[128];
};

static void
on_changed(void *arg, const char *ns, const char *name)
{
	struct world *w = arg;
	w->changed++;
	snprintf(w->changed_key, sizeof w->changed_key, "%s/%s", ns, name);
}

/* A TLS server whose /dir points renewalInfo at /ari; acme_extra as add_issuer's, where "%CA%"
 * stands for the server CA's caBundle. */
static void
world_start(struct world *w, const char *acme_extra)
{
	memset(w, 0, sizeof *w);
	struct th_opts to = {.to_tls = 1};
	cr_assert_eq(th_server_start(&to, &w->srv), CC_OK);
	char *dir = NULL;
	cr_assert(asprintf(&dir, "{\"newNonce\":\"%s/nonce\",\"renewalInfo\":\"%s/ari\"}",
		      th_server_url(w->srv), th_server_url(w->srv)) > 0);
	struct th_route r = {.tr_method = "GET", .tr_prefix = "/dir", .tr_status = 200,
	    .tr_body = dir};
	th_server_add_route(w->srv, &r);
	free(dir);
	w->st = store_new();
	char *server = NULL, *extra = NULL;
	cr_assert(asprintf(&server, "%s/dir", th_server_url(w->srv)) > 0);
	const char *ca = th_server_ca_pem(w->srv);
	size_t blen;
	char *b64 = tc_b64(ca, strlen(ca), &blen);
	const char *mark = strstr(acme_extra, "%CA%");
	if (mark)
		cr_assert(asprintf(&extra, "%.*s%s%s", (int)(mark - acme_extra), acme_extra, b64,
			      mark + 4) > 0);
	else
		extra = strdup(acme_extra);
	add_issuer(w->st, server, extra);
	add_cert(w->st);
	free(b64);
	free(server);
	free(extra);
	w->ari = arc_new(0);
	w->reg = met_registry_new();
	cr_assert_eq(met_std_register(w->reg, "test", &w->met), CC_OK);
	struct arp_opts ao = {.ao_store = w->st, .ao_cache = w->ari,
	    .ao_requests = w->met.ms_ari_requests, .ao_changed = on_changed, .ao_arg = w,
	    .ao_clock = clock_fake, .ao_timeout_ms = 5000};
	w->poll = arp_new(&ao);
}

static void
world_free(struct world *w)
{
	arp_free(w->poll);
	arc_free(w->ari);
	store_free(w->st);
	met_registry_free(w->reg);
	th_server_free(w->srv);
}

static double
count(struct world *w, const char *result)
{
	const char *lv[] = {result};
	double v = 0;
	if (met_value(w->met.ms_ari_requests, lv, &v) != CC_OK)
		return 0;
	return v;
}

/* Calls to renewalInfo recorded so far (the directory is fetched again after a day). */
static size_t
ari_calls(struct world *w)
{
	size_t n = 0;
	for (size_t i = 0; i < th_server_request_count(w->srv); i++)
		n += strncmp(th_server_request(w->srv, i)->tr_target, "/ari/", 5) == 0;
	return n;
}

static void
route_ari(struct world *w, int status, const char *headers, const char *body)
{
	struct th_route r = {.tr_method = "GET", .tr_prefix = "/ari/", .tr_status = status,
	    .tr_headers = headers, .tr_body = body};
	th_server_add_route(w->srv, &r);
}

static const char *const window_json =
    "{\"suggestedWindow\":{\"start\":\"2026-06-02T00:00:00Z\",\"end\":\"2026-06-03T00:00:00Z\"},"
    "\"explanationURL\":\"https://ca.example/why\"}";

Test(aripoll, window_reaches_the_cache_with_retry_after)
{
	struct world w;
	world_start(&w, ",\"caBundle\":\"%CA%\"");
	route_ari(&w, 200, "Retry-After: 7200\r\n", window_json);
	arp_round(w.poll);
	cr_expect_eq(count(&w, "ok"), 1);
	cr_expect_eq(count(&w, "error"), 0);
	/* the directory, then the identifier of RFC 9773's example under renewalInfo */
	size_t n = th_server_request_count(w.srv);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(th_server_request(w.srv, 0)->tr_target, "/dir");
	cr_expect_str_eq(th_server_request(w.srv, 1)->tr_target, "/ari/" ID);
	struct ari_window got;
	cr_assert_eq(arc_window_of(w.ari, "cr-uid-1", &got), 1);
	cr_expect_eq(got.aw_start, NOW + DAY);
	cr_expect_eq(got.aw_end, NOW + 2 * DAY);
	cr_expect_str_eq(got.aw_url, "https://ca.example/why");
	cr_expect_eq(w.changed, 1);
	cr_expect_str_eq(w.changed_key, "web/shop");

	/* not due again before Retry-After: no call */
	fake_now = NOW + 7199;
	arp_round(w.poll);
	cr_expect_eq(th_server_request_count(w.srv), 2);
	/* due: the directory is kept, the same answer changes nothing */
	fake_now = NOW + 7200;
	arp_round(w.poll);
	cr_expect_eq(th_server_request_count(w.srv), 3);
	cr_expect_eq(w.changed, 1);
	cr_expect_eq(count(&w, "ok"), 2);
	world_free(&w);
}

/* Without the issuer's caBundle the server's CA is not trusted: the call fails, no window. */
Test(aripoll, verification_stays_on)
{
	struct world w;
	world_start(&w, "");
	route_ari(&w, 200, NULL, window_json);
	arp_round(w.poll);
	cr_expect_eq(th_server_request_count(w.srv), 0, "a request got through unverified");
	cr_expect_eq(count(&w, "error"), 1, "the directory call is an error");
	cr_expect_eq(count(&w, "ok"), 0);
	struct ari_window got;
	cr_expect_eq(arc_window_of(w.ari, "cr-uid-1", &got), 0);
	cr_expect_eq(w.changed, 0);
	world_free(&w);
}

Test(aripoll, skip_tls_verify_is_never_asked)
{
	struct world w;
	world_start(&w, ",\"caBundle\":\"%CA%\",\"skipTLSVerify\":true");
	route_ari(&w, 200, NULL, window_json);
	arp_round(w.poll);
	fake_now += DAY;
	arp_round(w.poll);
	cr_expect_eq(th_server_request_count(w.srv), 0);
	cr_expect_eq(count(&w, "ok") + count(&w, "error"), 0);
	world_free(&w);
}

struct bad_case {
	const char *name;
	int status;
	const char *headers, *body;
	const char *result;
	int64_t next; /* seconds until the next call */
};

static const struct bad_case bad_cases[] = {
    {"malformed window", 200, NULL, "{\"suggestedWindow\":{\"start\":\"soon\"}}", "malformed",
	300},
    {"not JSON", 200, NULL, "<html>hello</html>", "malformed", 300},
    {"unknown certificate", 404, NULL, "{\"type\":\"urn:ietf:params:acme:error:malformed\"}",
	"notfound", 86400},
    {"server error", 500, NULL, "oops", "error", 300},
    {"rate limited with Retry-After", 429, "Retry-After: 5400\r\n", "", "error", 5400},
    /* regression: httpget cut the header to 63 bytes first, and read this as 540 */
    {"Retry-After after 60 blanks is read whole", 429,
	"Retry-After:                                                            5400\r\n", "",
	"error", 5400},
    {"redirect to another host", 302, "Location: https://elsewhere.example/ari\r\n", "", "error",
	300},
};

Test(aripoll, bad_answers_are_counted_without_a_window)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		struct world w;
		fake_now = NOW;
		world_start(&w, ",\"caBundle\":\"%CA%\"");
		route_ari(&w, c->status, c->headers, c->body);
		arp_round(w.poll);
		cr_expect_eq(count(&w, c->result), 1, "%s: not counted as %s", c->name, c->result);
		cr_expect_eq(count(&w, "ok"), 0, "%s", c->name);
		struct ari_window got;
		cr_expect_eq(arc_window_of(w.ari, "cr-uid-1", &got), 0, "%s: a window", c->name);
		cr_expect_eq(w.changed, 0, "%s", c->name);
		cr_expect_eq(th_server_request_count(w.srv), 2, "%s: a redirect was followed",
		    c->name);
		/* the next call waits as long as the case says, and not a second less */
		fake_now = NOW + c->next - 1;
		arp_round(w.poll);
		cr_expect_eq(ari_calls(&w), 1, "%s: asked too early", c->name);
		fake_now = NOW + c->next;
		arp_round(w.poll);
		cr_expect_eq(ari_calls(&w), 2, "%s: not asked again", c->name);
		world_free(&w);
	}
}
