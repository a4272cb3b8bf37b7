/*
 * Tests for assess: Certificates, CertificateRequests, Issuers, Orders and Events are built as
 * cJSON the way cert-manager writes them, fed to a store, and scored with as_score(). Every
 * comparison is a named case and is checked in both directions where it has two.
 */
#include "assess.h"
#include "aricache.h"
#include "cc_err.h"
#include "log.h"
#include "records.h"
#include "resource.h"
#include "scoring.h"
#include "signals.h"
#include "store.h"
#include "testcert.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
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

TestSuite(assess, .init = quiet);

/* Fixed "now": 2026-06-01T00:00:00Z. */
#define NOW 1780272000LL
#define MIN 60LL
#define HOUR 3600LL
#define DAY (24 * HOUR)
#define TEXT_MAX 16384

/* A real cert-manager failure message (CertificateRequest Ready=False, reason Failed). */
static const char *const rl_msg =
    "Failed to wait for order resource \"shop-1-2299060280\" to become ready: order is in "
    "\"errored\" state: Failed to finalize Order: 429 urn:ietf:params:acme:error:rateLimited: "
    "Error creating new order :: too many certificates already issued for \"example.com\"";
static const char *const outage_msg =
    "The certificate request has failed to complete and will be retried: Failed to wait for "
    "order resource \"x-1\" to become ready: order is in \"errored\" state: Failed to create "
    "Order: 503 Service Unavailable";
static const char *const denied_msg =
    "The CertificateRequest was denied by an approval controller";
static const char *const invalid_msg =
    "Failed to decode CSR in spec.request: error decoding certificate request PEM block";

/* ---------------------------------------------------------------------------------------- */
/* Building objects                                                                          */

static void
iso(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
add_time(cJSON *o, const char *key, int64_t t)
{
	char buf[40];
	iso(t, buf, sizeof buf);
	cJSON_AddStringToObject(o, key, buf);
}

/* Appends a condition to obj.status.conditions (status created when missing). */
static void
add_cond(cJSON *obj, const char *type, const char *status, const char *reason, const char *msg,
    int64_t ltt)
{
	cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
	if (st == NULL)
		st = cJSON_AddObjectToObject(obj, "status");
	cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
	if (conds == NULL)
		conds = cJSON_AddArrayToObject(st, "conditions");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", status);
	if (reason)
		cJSON_AddStringToObject(c, "reason", reason);
	if (msg)
		cJSON_AddStringToObject(c, "message", msg);
	add_time(c, "lastTransitionTime", ltt);
	cJSON_AddItemToArray(conds, c);
}

static cJSON *
obj_new(const char *kind, const char *ns, const char *name, int64_t created)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	if (ns)
		cJSON_AddStringToObject(md, "namespace", ns);
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "resourceVersion", "1");
	cJSON_AddStringToObject(md, "uid", name);
	add_time(md, "creationTimestamp", created);
	return o;
}

static const struct res_desc *
desc(enum res_kind k)
{
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == k)
			return &res_table()[i];
	return NULL;
}

/* Applies o as a list item and frees it. */
static void
apply(struct store *st, enum res_kind k, cJSON *o)
{
	char err[256] = "";
	int rc = store_apply(st, desc(k), STORE_SYNC, o, err, sizeof err);
	cr_assert_eq(rc, CC_OK, "apply: %s", err);
	cJSON_Delete(o);
}

enum cr_kind { CR_NONE = 0, CR_ISSUED, CR_FAILED, CR_DENIED, CR_INVALID, CR_PENDING };

/* One CertificateRequest of a certificate: created `ago` seconds before NOW, done a minute later. */
struct fx_cr {
	enum cr_kind k;
	int64_t ago;
	const char *msg; /* the failure message; NULL: the kind's default */
};

#define FX_CRS 6
#define FX_ANNOTS 6

struct fx_cert {
	const char *ns, *name;
	const char *ikind, *iname;    /* issuerRef; iname NULL: none */
	const char *igroup;           /* issuerRef.group, NULL: left out (cert-manager.io) */
	const char *renew_before;     /* spec.renewBefore, NULL: left out */
	int64_t nb_ago, na_in;        /* notBefore = NOW - nb_ago, notAfter = NOW + na_in; 0: absent */
	int failed;                   /* failedIssuanceAttempts */
	int64_t fail_ago;             /* lastFailureTime = NOW - this; 0: absent */
	const char *issuing;          /* Issuing condition status, NULL: none */
	const char *issuing_reason, *issuing_msg;
	int64_t issuing_ago;          /* Issuing's lastTransitionTime = NOW - this; 0: see below */
	int no_status;                /* leave status out entirely */
	const char *annots[FX_ANNOTS][2]; /* key (certcast.io/ prefix added), value */
	struct fx_cr crs[FX_CRS];     /* newest first is not required */
};

static cJSON *
cr_json(const char *ns, const char *name, const char *owner, int rev, const struct fx_cr *c)
{
	int64_t created = NOW - c->ago, done = created + MIN;
	cJSON *o = obj_new("CertificateRequest", ns, name, created);
	cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	cJSON *an = cJSON_AddObjectToObject(md, "annotations");
	char r[16];
	snprintf(r, sizeof r, "%d", rev);
	cJSON_AddStringToObject(an, "cert-manager.io/certificate-name", owner);
	cJSON_AddStringToObject(an, "cert-manager.io/certificate-revision", r);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "request", "");
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", "x");
	switch (c->k) {
	case CR_ISSUED:
		add_cond(o, "Approved", "True", "cert-manager.io", "approved", created);
		add_cond(o, "Ready", "True", "Issued", "Certificate fetched from issuer successfully",
		    done);
		break;
	case CR_FAILED:
		add_cond(o, "Approved", "True", "cert-manager.io", "approved", created);
		add_cond(o, "Ready", "False", "Failed", c->msg ? c->msg : rl_msg, done);
		add_time(cJSON_GetObjectItemCaseSensitive(o, "status"), "failureTime", done);
		break;
	case CR_DENIED:
		add_cond(o, "Denied", "True", "policy.cert-manager.io", c->msg ? c->msg : denied_msg,
		    done);
		add_cond(o, "Ready", "False", "Denied", "The CertificateRequest was denied", done);
		add_time(cJSON_GetObjectItemCaseSensitive(o, "status"), "failureTime", done);
		break;
	case CR_INVALID:
		add_cond(o, "InvalidRequest", "True", "InvalidRequest", c->msg ? c->msg : invalid_msg,
		    done);
		add_cond(o, "Ready", "False", "Failed", c->msg ? c->msg : invalid_msg, done);
		add_time(cJSON_GetObjectItemCaseSensitive(o, "status"), "failureTime", done);
		break;
	case CR_PENDING:
		add_cond(o, "Approved", "True", "cert-manager.io", "approved", created);
		add_cond(o, "Ready", "False", "Pending",
		    c->msg ? c->msg : "Waiting on certificate issuance from order x-1: \"pending\"",
		    created);
		break;
	case CR_NONE:
		break;
	}
	return o;
}

static cJSON *
cert_json(const struct fx_cert *f)
{
	cJSON *o = obj_new("Certificate", f->ns, f->name, NOW - 200 * DAY);
	cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	cJSON *an = cJSON_AddObjectToObject(md, "annotations");
	cJSON_AddStringToObject(an, "kubectl.kubernetes.io/last-applied-configuration", "{}");
	for (int i = 0; i < FX_ANNOTS && f->annots[i][0]; i++) {
		char k[128];
		snprintf(k, sizeof k, "certcast.io/%s", f->annots[i][0]);
		cJSON_AddStringToObject(an, k, f->annots[i][1]);
	}
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "secretName", f->name);
	cJSON *dns = cJSON_AddArrayToObject(spec, "dnsNames");
	cJSON_AddItemToArray(dns, cJSON_CreateString("shop.example.com"));
	if (f->iname) {
		cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
		cJSON_AddStringToObject(ir, "name", f->iname);
		if (f->ikind)
			cJSON_AddStringToObject(ir, "kind", f->ikind);
		if (f->igroup)
			cJSON_AddStringToObject(ir, "group", f->igroup);
	}
	if (f->renew_before)
		cJSON_AddStringToObject(spec, "renewBefore", f->renew_before);
	if (f->no_status)
		return o;
	cJSON *st = cJSON_AddObjectToObject(o, "status");
	if (f->na_in) {
		add_time(st, "notBefore", NOW - f->nb_ago);
		add_time(st, "notAfter", NOW + f->na_in);
	}
	if (f->failed)
		cJSON_AddNumberToObject(st, "failedIssuanceAttempts", f->failed);
	if (f->fail_ago)
		add_time(st, "lastFailureTime", NOW - f->fail_ago);
	add_cond(o, "Ready", f->na_in ? "True" : "False", f->na_in ? "Ready" : "DoesNotExist",
	    f->na_in ? "Certificate is up to date and has not expired" : "Issuing certificate",
	    f->na_in ? NOW - f->nb_ago : NOW - HOUR);
	if (f->issuing)
		add_cond(o, "Issuing", f->issuing, f->issuing_reason, f->issuing_msg,
		    f->issuing_ago ? NOW - f->issuing_ago
				   : f->fail_ago ? NOW - f->fail_ago : NOW - HOUR);
	return o;
}

/* Applies the certificate and its requests, named NAME-1, NAME-2, ... */
static void
add_cert(struct store *st, const struct fx_cert *f)
{
	apply(st, RES_CERTIFICATE, cert_json(f));
	for (int i = 0; i < FX_CRS && f->crs[i].k != CR_NONE; i++) {
		char name[128];
		snprintf(name, sizeof name, "%s-%d", f->name, i + 1);
		apply(st, RES_CERTIFICATEREQUEST, cr_json(f->ns, name, f->name, i + 1, &f->crs[i]));
	}
}

/* An ACME Issuer (ns given) or ClusterIssuer (ns NULL) with a Ready condition (NULL: none). */
static void
add_issuer(struct store *st, const char *ns, const char *name, const char *ready,
    const char *reason, const char *msg)
{
	cJSON *o = obj_new(ns ? "Issuer" : "ClusterIssuer", ns, name, NOW - 400 * DAY);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON *acme = cJSON_AddObjectToObject(spec, "acme");
	cJSON_AddStringToObject(acme, "server", "https://acme-v02.api.letsencrypt.org/directory");
	if (ready)
		add_cond(o, "Ready", ready, reason, msg, NOW - 2 * DAY);
	apply(st, ns ? RES_ISSUER : RES_CLUSTERISSUER, o);
}

static void
add_event_typed(struct store *st, const char *ns, const char *name, const char *kind,
    const char *objname, const char *type, const char *reason, const char *msg, int64_t ago)
{
	cJSON *o = obj_new("Event", ns, name, NOW - ago);
	cJSON *inv = cJSON_AddObjectToObject(o, "involvedObject");
	cJSON_AddStringToObject(inv, "kind", kind);
	cJSON_AddStringToObject(inv, "namespace", ns);
	cJSON_AddStringToObject(inv, "name", objname);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddStringToObject(o, "message", msg);
	cJSON_AddNumberToObject(o, "count", 3);
	add_time(o, "firstTimestamp", NOW - ago - HOUR);
	add_time(o, "lastTimestamp", NOW - ago);
	cJSON *src = cJSON_AddObjectToObject(o, "source");
	cJSON_AddStringToObject(src, "component", "cert-manager-orders");
	apply(st, RES_EVENT, o);
}

static void
add_event(struct store *st, const char *ns, const char *name, const char *kind,
    const char *objname, const char *reason, const char *msg, int64_t ago)
{
	add_event_typed(st, ns, name, kind, objname, "Warning", reason, msg, ago);
}

static void
add_order(struct store *st, const char *ns, const char *name, const char *cr, const char *state,
    const char *reason)
{
	cJSON *o = obj_new("Order", ns, name, NOW - HOUR);
	cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	cJSON *refs = cJSON_AddArrayToObject(md, "ownerReferences");
	cJSON *ref = cJSON_CreateObject();
	cJSON_AddStringToObject(ref, "kind", "CertificateRequest");
	cJSON_AddStringToObject(ref, "name", cr);
	cJSON_AddBoolToObject(ref, "controller", 1);
	cJSON_AddItemToArray(refs, ref);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON *dns = cJSON_AddArrayToObject(spec, "dnsNames");
	cJSON_AddItemToArray(dns, cJSON_CreateString("shop.example.com"));
	cJSON *st2 = cJSON_AddObjectToObject(o, "status");
	cJSON_AddStringToObject(st2, "state", state);
	cJSON_AddStringToObject(st2, "reason", reason);
	apply(st, RES_ORDER, o);
}

/*
 * n other certificates in ns on ClusterIssuer iname, each with two requests in the last days:
 * issued when ok, else failed with msg.
 */
static void
add_peers(struct store *st, const char *ns, const char *iname, int n, int ok, const char *msg)
{
	for (int i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof name, "%s-peer-%d", iname, i);
		struct fx_cert f = {
		    .ns = ns, .name = name, .ikind = "ClusterIssuer", .iname = iname,
		    .nb_ago = 10 * DAY, .na_in = 80 * DAY,
		    .crs = {{ok ? CR_ISSUED : CR_FAILED, (2 + i) * HOUR, msg},
			{ok ? CR_ISSUED : CR_FAILED, (20 + i) * HOUR, msg}},
		};
		add_cert(st, &f);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Scoring                                                                                   */

/* The result and explanation of one score. */
struct scored {
	int rc;
	struct sc_result r;
	char text[TEXT_MAX];
};

/* Scores ns/name of st with a fresh context (cfg NULL: defaults). */
static void
score_cfg(struct store *st, const struct sc_config *cfg, const char *ns, const char *name,
    struct scored *out)
{
	store_rdlock(st);
	const struct rec_cert *c = store_cert_get(st, ns, name);
	cr_assert_not_null(c, "%s/%s not in the store", ns, name);
	struct as_ctx *a = as_new(st, cfg, NOW);
	out->rc = as_score(a, c, &out->r, out->text, sizeof out->text);
	as_free(a);
	store_unlock(st);
}

static void
score(struct store *st, const char *ns, const char *name, struct scored *out)
{
	score_cfg(st, NULL, ns, name, out);
}

/* What every score must satisfy. */
static void
check_common(const struct scored *s, const char *what)
{
	cr_expect(s->rc == SC_OK || s->rc == SC_ERR_INVAL, "%s: rc %d", what, s->rc);
	cr_expect(s->r.r_risk >= 0.0 && s->r.r_risk <= 1.0, "%s: risk %g", what, s->r.r_risk);
	cr_expect(s->text[0] != '\0', "%s: empty explanation", what);
	cr_expect(memchr(s->text, '\0', sizeof s->text) != NULL, "%s: text not terminated", what);
}

/* Two scores that must agree in everything observable. */
static void
expect_same(const struct scored *a, const struct scored *b, const char *what)
{
	cr_expect_eq(a->rc, b->rc, "%s: rc", what);
	cr_expect(a->r.r_risk == b->r.r_risk, "%s: risk %.17g vs %.17g", what, a->r.r_risk,
	    b->r.r_risk);
	cr_expect_eq(a->r.r_level, b->r.r_level, "%s: level", what);
	cr_expect_eq(a->r.r_mode, b->r.r_mode, "%s: mode", what);
	cr_expect_eq(a->r.r_class, b->r.r_class, "%s: class", what);
	cr_expect_eq(a->r.r_predicted_failure, b->r.r_predicted_failure, "%s: predicted", what);
	cr_expect_eq(a->r.r_decision.d_rb, b->r.r_decision.d_rb, "%s: d_rb", what);
	cr_expect_eq(a->r.r_decision.d_rb_value, b->r.r_decision.d_rb_value, "%s: d_rb_value",
	    what);
	cr_expect_eq(a->r.r_decision.d_failover, b->r.r_decision.d_failover, "%s: failover", what);
	cr_expect_eq(a->r.r_decision.d_reissue, b->r.r_decision.d_reissue, "%s: reissue", what);
	cr_expect(a->r.r_decision.d_risk_after == b->r.r_decision.d_risk_after,
	    "%s: risk after", what);
	cr_expect_str_eq(a->r.r_reasons, b->r.r_reasons, "%s: reasons", what);
	cr_expect_str_eq(a->text, b->text, "%s: text differs:\n%s\n---\n%s", what, a->text,
	    b->text);
}

/* ---------------------------------------------------------------------------------------- */
/* Worlds                                                                                    */

/* A healthy ClusterIssuer with successful peers. */
static void
world_healthy_issuer(struct store *st, const char *iname)
{
	add_issuer(st, NULL, iname, "True", "ACMEAccountRegistered",
	    "The ACME account was registered with the ACME server");
	add_peers(st, "web", iname, 3, 1, NULL);
}

/* A ClusterIssuer that says Ready=False and whose peers' recent requests all failed. */
static void
world_failing_issuer(struct store *st, const char *iname, const char *msg)
{
	add_issuer(st, NULL, iname, "False", "ErrRegisterACMEAccount",
	    "Failed to register ACME account: 503 Service Unavailable");
	add_peers(st, "web", iname, 3, 0, msg);
}

/* The certificate of case 1: recently issued, 90 days, successful history. */
static const struct fx_cert fx_healthy = {
    .ns = "shop", .name = "shop", .ikind = "ClusterIssuer", .iname = "le-prod",
    .nb_ago = 5 * DAY, .na_in = 85 * DAY,
    .crs = {{CR_ISSUED, 5 * DAY, NULL}, {CR_ISSUED, 65 * DAY, NULL}},
};

/* The same certificate 2 hours before notAfter after 5 failures. */
static const struct fx_cert fx_dying = {
    .ns = "shop", .name = "shop", .ikind = "ClusterIssuer", .iname = "le-prod",
    .nb_ago = 90 * DAY - 2 * HOUR, .na_in = 2 * HOUR,
    .failed = 5, .fail_ago = 10 * MIN,
    .issuing = "False", .issuing_reason = "Failed",
    .issuing_msg = "The certificate request has failed to complete and will be retried: "
		   "Failed to wait for order resource \"shop-1-2299060280\" to become ready: "
		   "order is in \"errored\" state: Failed to finalize Order: 429 "
		   "urn:ietf:params:acme:error:rateLimited: Error creating new order :: too many "
		   "certificates already issued for \"example.com\"",
    .crs = {{CR_FAILED, 12 * MIN, NULL}, {CR_FAILED, 9 * HOUR, NULL},
	{CR_FAILED, 17 * HOUR, NULL}, {CR_ISSUED, 90 * DAY, NULL}},
};

/* ---------------------------------------------------------------------------------------- */
/* 1. healthy vs. about to expire                                                            */

Test(assess, healthy_vs_dying)
{
	struct store *st = store_new();
	world_healthy_issuer(st, "le-prod");
	add_cert(st, &fx_healthy);
	struct scored *ok = calloc(1, sizeof *ok), *bad = calloc(1, sizeof *bad);
	score(st, "shop", "shop", ok);
	store_free(st);

	st = store_new();
	world_healthy_issuer(st, "le-prod");
	add_cert(st, &fx_dying);
	/* the newest request's Order and the Events cert-manager writes about it */
	add_order(st, "shop", "shop-1-2299060280", "shop-1", "errored", rl_msg);
	add_event(st, "shop", "ev-1", "Order", "shop-1-2299060280", "Failed", rl_msg, 11 * MIN);
	add_event(st, "shop", "ev-2", "CertificateRequest", "shop-1", "OrderFailed", rl_msg,
	    11 * MIN);
	add_event(st, "shop", "ev-3", "Certificate", "shop", "Failed", rl_msg, 10 * MIN);
	score(st, "shop", "shop", bad);
	store_free(st);

	check_common(ok, "healthy");
	check_common(bad, "dying");
	cr_expect_eq(ok->rc, SC_OK);
	cr_expect_eq(bad->rc, SC_OK);
	cr_expect_eq(ok->r.r_level, SC_LEVEL_LOW, "healthy: level %s", sc_level_name(ok->r.r_level));
	cr_expect(ok->r.r_risk < 0.01, "healthy: risk %g is not small", ok->r.r_risk);
	cr_expect_eq(ok->r.r_class, SC_CLASS_OK);
	cr_expect(bad->r.r_risk > ok->r.r_risk, "dying %g <= healthy %g", bad->r.r_risk,
	    ok->r.r_risk);
	cr_expect(!(ok->r.r_risk > bad->r.r_risk), "healthy above dying");
	cr_expect(bad->r.r_level == SC_LEVEL_HIGH || bad->r.r_level == SC_LEVEL_CRITICAL,
	    "dying: level %s", sc_level_name(bad->r.r_level));
	cr_expect_eq(bad->r.r_class, SC_CLASS_RATE_LIMIT, "dying: class %s",
	    sc_class_name(bad->r.r_class));
	cr_expect_neq(bad->r.r_predicted_failure, 0, "dying: a predicted failure");
	cr_expect_eq(ok->r.r_predicted_failure, 0, "healthy: no predicted failure");
	free(ok);
	free(bad);
}


/* ---------------------------------------------------------------------------------------- */
/* 2. the issuer's history                                                                   */

struct hist_case {
	const char *h_name;
	struct fx_cert h_cert; /* ns/name/iname are filled in */
	int h_strict;          /* the failing issuer must score strictly higher */
};

static const struct hist_case hist_cases[] = {
    {"fresh certificate, never failed",
	{.nb_ago = 5 * DAY, .na_in = 85 * DAY, .crs = {{CR_ISSUED, 5 * DAY, NULL}}}, 0},
    {"in its renewal window, failed once",
	{.nb_ago = 70 * DAY, .na_in = 20 * DAY, .failed = 1, .fail_ago = 30 * MIN,
	    .issuing = "False", .issuing_reason = "Failed",
	    .issuing_msg = "The certificate request has failed to complete and will be retried",
	    .crs = {{CR_FAILED, 31 * MIN, "Failed to wait for order: context deadline exceeded"},
		{CR_ISSUED, 70 * DAY, NULL}}},
	1},
    {"a day left, failed once",
	{.nb_ago = 89 * DAY, .na_in = 1 * DAY, .failed = 1, .fail_ago = 30 * MIN,
	    .issuing = "False", .issuing_reason = "Failed",
	    .crs = {{CR_FAILED, 31 * MIN, "Failed to wait for order: context deadline exceeded"},
		{CR_ISSUED, 89 * DAY, NULL}}},
	1},
};

/* Both issuers and one copy of the case's certificate on each: shop/on-bad, shop/on-good. */
static struct store *
hist_store(const struct hist_case *hc)
{
	struct store *st = store_new();
	world_failing_issuer(st, "bad", outage_msg);
	world_healthy_issuer(st, "good");
	struct fx_cert f = hc->h_cert;
	f.ns = "shop";
	f.ikind = "ClusterIssuer";
	f.name = "on-bad";
	f.iname = "bad";
	add_cert(st, &f);
	f.name = "on-good";
	f.iname = "good";
	add_cert(st, &f);
	return st;
}

Test(assess, issuer_history_matters)
{
	struct scored *bad = calloc(1, sizeof *bad), *good = calloc(1, sizeof *good);
	for (size_t i = 0; i < sizeof hist_cases / sizeof hist_cases[0]; i++) {
		const struct hist_case *hc = &hist_cases[i];
		struct store *st = hist_store(hc);
		score(st, "shop", "on-bad", bad);
		score(st, "shop", "on-good", good);
		check_common(bad, hc->h_name);
		check_common(good, hc->h_name);
		cr_expect(bad->r.r_risk >= good->r.r_risk, "%s: failing issuer %g < healthy %g",
		    hc->h_name, bad->r.r_risk, good->r.r_risk);
		if (hc->h_strict) {
			cr_expect(bad->r.r_risk > good->r.r_risk, "%s: failing issuer %g <= healthy %g",
			    hc->h_name, bad->r.r_risk, good->r.r_risk);
			cr_expect(!(good->r.r_risk >= bad->r.r_risk), "%s: reversed", hc->h_name);
		}
		/* the estimates themselves, both ways */
		cr_expect(bad->r.r_issuer.ie_not_ready, "%s: bad issuer is not Ready", hc->h_name);
		cr_expect(!good->r.r_issuer.ie_not_ready, "%s: good issuer is Ready", hc->h_name);
		cr_expect(bad->r.r_issuer.ie_mean > good->r.r_issuer.ie_mean,
		    "%s: issuer means %g vs %g", hc->h_name, bad->r.r_issuer.ie_mean,
		    good->r.r_issuer.ie_mean);
		cr_expect(bad->r.r_issuer.ie_failures > 0.0, "%s: bad has failures", hc->h_name);
		cr_expect(bad->r.r_issuer.ie_failing, "%s: bad is failing", hc->h_name);
		/* the certificate's own failed request is the good issuer's latest outcome */
		if (!hc->h_strict)
			cr_expect(!good->r.r_issuer.ie_failing, "%s: good is not failing", hc->h_name);
		store_free(st);
	}
	free(bad);
	free(good);
}

/*
 * One context scores many certificates: the issuer estimate is built once, and the answer is
 * the same on the second call, and the same as a fresh context's.
 */
Test(assess, issuer_cache_is_stable)
{
	struct store *st = hist_store(&hist_cases[1]);
	struct scored *s[5];
	for (int i = 0; i < 5; i++)
		s[i] = calloc(1, sizeof *s[i]);
	store_rdlock(st);
	const struct rec_cert *cb = store_cert_get(st, "shop", "on-bad");
	const struct rec_cert *cg = store_cert_get(st, "shop", "on-good");
	cr_assert(cb && cg);
	struct as_ctx *a = as_new(st, NULL, NOW);
	s[0]->rc = as_score(a, cb, &s[0]->r, s[0]->text, sizeof s[0]->text);
	s[1]->rc = as_score(a, cg, &s[1]->r, s[1]->text, sizeof s[1]->text);
	s[2]->rc = as_score(a, cb, &s[2]->r, s[2]->text, sizeof s[2]->text);
	s[3]->rc = as_score(a, cg, &s[3]->r, s[3]->text, sizeof s[3]->text);
	as_free(a);
	store_unlock(st);
	expect_same(s[0], s[2], "on-bad, twice on one context");
	expect_same(s[1], s[3], "on-good, twice on one context");
	score(st, "shop", "on-bad", s[4]);
	expect_same(s[0], s[4], "on-bad, cached vs fresh context");
	score(st, "shop", "on-good", s[4]);
	expect_same(s[1], s[4], "on-good, cached vs fresh context");
	cr_expect(s[0]->r.r_risk > s[1]->r.r_risk, "the cache keeps the issuers apart");
	for (int i = 0; i < 5; i++)
		free(s[i]);
	store_free(st);
}

/* ---------------------------------------------------------------------------------------- */
/* 3. how CertificateRequest outcomes are read                                               */

struct outcome_case {
	const char *o_name;
	struct fx_cr o_cr;      /* the newest request */
	enum sc_class o_class;  /* the certificate's current fault */
	const char *o_rule;     /* the classification rule in the explanation, NULL: none */
	int o_failure;          /* counted as a failure in the issuer's history */
};

static const struct outcome_case outcome_cases[] = {
    {"Denied=True", {CR_DENIED, 10 * MIN, NULL}, SC_CLASS_CONFIG, "request-denied", 1},
    {"Ready=False Failed, rate limited", {CR_FAILED, 10 * MIN, NULL}, SC_CLASS_RATE_LIMIT,
	"acme-rate-limited", 1},
    {"Ready=False Failed, CA down", {CR_FAILED, 10 * MIN, outage_msg}, SC_CLASS_CA_UNAVAILABLE,
	"ca-503", 1},
    {"InvalidRequest=True", {CR_INVALID, 10 * MIN, NULL}, SC_CLASS_CONFIG,
	"reason-invalid-request", 1},
    {"pending", {CR_PENDING, 10 * MIN, NULL}, SC_CLASS_OK, NULL, 0},
    {"issued", {CR_ISSUED, 10 * MIN, NULL}, SC_CLASS_OK, NULL, 0},
};

Test(assess, request_outcomes)
{
	struct scored *s = calloc(1, sizeof *s);
	for (size_t i = 0; i < sizeof outcome_cases / sizeof outcome_cases[0]; i++) {
		const struct outcome_case *oc = &outcome_cases[i];
		struct store *st = store_new();
		world_healthy_issuer(st, "le-prod");
		/* in its renewal window; only the requests say how it is going */
		struct fx_cert f = {
		    .ns = "shop", .name = "shop", .ikind = "ClusterIssuer", .iname = "le-prod",
		    .nb_ago = 61 * DAY, .na_in = 29 * DAY,
		    .crs = {oc->o_cr, {CR_ISSUED, 61 * DAY, NULL}},
		};
		add_cert(st, &f);
		score(st, "shop", "shop", s);
		check_common(s, oc->o_name);
		cr_expect_eq(s->rc, SC_OK, "%s", oc->o_name);
		cr_expect_eq(s->r.r_class, oc->o_class, "%s: class %s, want %s", oc->o_name,
		    sc_class_name(s->r.r_class), sc_class_name(oc->o_class));
		if (oc->o_rule) {
			cr_expect(strstr(s->text, oc->o_rule) != NULL, "%s: no %s in\n%s", oc->o_name,
			    oc->o_rule, s->text);
			cr_expect(strstr(s->text, sc_class_name(oc->o_class)) != NULL, "%s",
			    oc->o_name);
		} else {
			cr_expect(strstr(s->text, "  fault ") == NULL, "%s: a fault factor in\n%s",
			    oc->o_name, s->text);
		}
		if (oc->o_failure)
			cr_expect(s->r.r_issuer.ie_failures > 0.0, "%s: not a failure for the issuer",
			    oc->o_name);
		else
			cr_expect(s->r.r_issuer.ie_failures == 0.0, "%s: a failure for the issuer (%g)",
			    oc->o_name, s->r.r_issuer.ie_failures);
		store_free(st);
	}
	free(s);
}

/* ---------------------------------------------------------------------------------------- */
/* 4. annotations                                                                            */

/* A 90-day certificate 30 days in whose user asked for renewal an hour before expiry. */
static const struct fx_cert fx_late = {
    .ns = "shop", .name = "shop", .ikind = "ClusterIssuer", .iname = "le-prod",
    .nb_ago = 30 * DAY, .na_in = 60 * DAY, .renew_before = "1h0m0s",
    .crs = {{CR_ISSUED, 30 * DAY, NULL}},
};

/* Scores f with the annotation key=value added (key NULL: none) in a store of its own. */
static void
score_annot(const struct fx_cert *base, const char *key, const char *value,
    const struct sc_config *cfg, struct scored *out)
{
	struct store *st = store_new();
	world_healthy_issuer(st, "le-prod");
	struct fx_cert f = *base;
	if (key) {
		int i = 0;
		while (i < FX_ANNOTS - 1 && f.annots[i][0])
			i++;
		f.annots[i][0] = key;
		f.annots[i][1] = value;
	}
	add_cert(st, &f);
	score_cfg(st, cfg, f.ns, f.name, out);
	store_free(st);
}

Test(assess, target_risk_changes_the_decision)
{
	struct scored *def = calloc(1, sizeof *def), *got = calloc(1, sizeof *got);

	/* renewBefore 1h: over the default target of 0.01, under 0.2 */
	score_annot(&fx_late, NULL, NULL, NULL, def);
	check_common(def, "1h, default target");
	cr_expect(def->r.r_risk > 0.01 && def->r.r_risk < 0.2, "risk %g", def->r.r_risk);
	cr_expect_eq(def->r.r_decision.d_rb, SC_RB_SET, "default target: renewBefore SET");
	cr_expect(def->r.r_decision.d_rb_value > 3600, "SET moves the renewal earlier");
	cr_expect(def->r.r_decision.d_risk_after < def->r.r_risk);
	cr_expect_neq(def->r.r_predicted_failure, 0);
	score_annot(&fx_late, "target-risk", "0.2", NULL, got);
	cr_expect(got->r.r_risk == def->r.r_risk, "the target does not change the risk");
	cr_expect_eq(got->r.r_decision.d_rb, SC_RB_LEAVE, "target 0.2: LEAVE");
	cr_expect_eq(got->r.r_predicted_failure, 0, "target 0.2: no predicted failure");

	/* renewBefore 2h: under the default target, over 0.001 */
	struct fx_cert f2 = fx_late;
	f2.renew_before = "2h0m0s";
	score_annot(&f2, NULL, NULL, NULL, def);
	cr_expect(def->r.r_risk < 0.01 && def->r.r_risk > 0.001 * 1.25, "risk %g", def->r.r_risk);
	cr_expect_eq(def->r.r_decision.d_rb, SC_RB_LEAVE, "2h, default target: LEAVE");
	score_annot(&f2, "target-risk", "0.001", NULL, got);
	cr_expect_eq(got->r.r_decision.d_rb, SC_RB_SET, "2h, target 0.001: SET");
	cr_expect(got->r.r_decision.d_risk_after < got->r.r_risk);
	free(def);
	free(got);
}

/* An annotation value that does not parse gives exactly what no annotation gives. */
struct garbage_case {
	const char *g_key;
	const char *g_value;
};

static const struct garbage_case garbage_cases[] = {
    {"target-risk", "abc"}, {"target-risk", " 0.2"}, {"target-risk", "0x0.2p0"}, {"target-risk", "1.5"}, {"target-risk", "-1"},
    {"target-risk", "0"}, {"target-risk", "1"}, {"target-risk", ""},
    {"target-risk", "0.2x"}, {"target-risk", "nan"}, {"target-risk", "inf"},
    {"min-renew-before", "abc"}, {"min-renew-before", "-5h"}, {"min-renew-before", "5"},
    {"min-renew-before", ""}, {"min-renew-before", "3h junk"},
    {"max-renew-before", "abc"}, {"max-renew-before", "-5h"}, {"max-renew-before", "10"},
    {"max-renew-before", "1d"}, {"mode", "ENFORCE"}, {"mode", "on"}, {"mode", ""},
    {"fallback-issuer", "Foo/x"}, {"fallback-issuer", "ClusterIssuer/"},
};

Test(assess, malformed_annotations_are_ignored)
{
	struct scored *none = calloc(1, sizeof *none), *got = calloc(1, sizeof *got);
	score_annot(&fx_late, NULL, NULL, NULL, none);
	check_common(none, "no annotation");
	cr_expect_eq(none->r.r_decision.d_rb, SC_RB_SET, "the baseline acts, so a change shows");
	for (size_t i = 0; i < sizeof garbage_cases / sizeof garbage_cases[0]; i++) {
		const struct garbage_case *g = &garbage_cases[i];
		char what[96];
		snprintf(what, sizeof what, "%s: \"%s\"", g->g_key, g->g_value);
		score_annot(&fx_late, g->g_key, g->g_value, NULL, got);
		check_common(got, what);
		expect_same(none, got, what);
	}
	free(none);
	free(got);
}

/* Valid bounds do change the decision (the other direction of the test above). */
Test(assess, renew_before_bounds)
{
	struct scored *none = calloc(1, sizeof *none), *got = calloc(1, sizeof *got);
	score_annot(&fx_late, NULL, NULL, NULL, none);
	cr_assert_eq(none->r.r_decision.d_rb, SC_RB_SET);
	int64_t v = none->r.r_decision.d_rb_value;
	cr_expect(v > 3600 && v < 3 * 3600, "unbounded value %lld", (long long)v);

	score_annot(&fx_late, "min-renew-before", "3h", NULL, got);
	cr_expect_eq(got->r.r_decision.d_rb, SC_RB_SET, "min 3h: SET");
	cr_expect(got->r.r_decision.d_rb_value >= 3 * 3600, "min 3h: value %lld",
	    (long long)got->r.r_decision.d_rb_value);

	score_annot(&fx_late, "max-renew-before", "1h", NULL, got);
	cr_expect_neq(got->r.r_decision.d_rb, SC_RB_SET, "max 1h: nothing above 1h to set");
	cr_expect(got->r.r_risk == none->r.r_risk, "bounds do not change the risk");

	/* a max below the min is raised to it rather than refused */
	struct fx_cert f = fx_late;
	f.annots[0][0] = "min-renew-before";
	f.annots[0][1] = "3h";
	score_annot(&f, "max-renew-before", "2h", NULL, got);
	cr_expect_eq(got->rc, SC_OK);
	cr_expect_eq(got->r.r_decision.d_rb, SC_RB_SET, "min 3h, max 2h: SET");
	cr_expect(got->r.r_decision.d_rb_value >= 3 * 3600, "min 3h max 2h: value %lld",
	    (long long)got->r.r_decision.d_rb_value);
	free(none);
	free(got);
}

struct mode_case {
	const char *m_value;   /* annotation, NULL: none */
	int m_cfg_enforce;     /* the controller runs in enforce mode */
	enum sc_mode m_want;
};

static const struct mode_case mode_cases[] = {
    {NULL, 0, SC_MODE_OBSERVE}, {"off", 0, SC_MODE_OFF}, {"observe", 0, SC_MODE_OBSERVE},
    {"enforce", 0, SC_MODE_ENFORCE}, {"Enforce", 0, SC_MODE_OBSERVE},
    {NULL, 1, SC_MODE_ENFORCE}, {"observe", 1, SC_MODE_OBSERVE}, {"off", 1, SC_MODE_OFF},
    {"bogus", 1, SC_MODE_ENFORCE},
};

Test(assess, mode_reaches_the_result)
{
	struct scored *s = calloc(1, sizeof *s);
	for (size_t i = 0; i < sizeof mode_cases / sizeof mode_cases[0]; i++) {
		const struct mode_case *mc = &mode_cases[i];
		struct sc_config cfg;
		sc_config_default(&cfg);
		cfg.cf_mode = mc->m_cfg_enforce ? SC_MODE_ENFORCE : SC_MODE_OBSERVE;
		score_annot(&fx_healthy, mc->m_value ? "mode" : NULL, mc->m_value, &cfg, s);
		cr_expect_eq(s->r.r_mode, mc->m_want, "mode %s (controller %s): got %d",
		    mc->m_value ? mc->m_value : "(none)", mc->m_cfg_enforce ? "enforce" : "observe",
		    (int)s->r.r_mode);
	}
	free(s);
}

/* What certcast wrote before: the saved original renewBefore is restored once safe. */
Test(assess, saved_original_is_restored)
{
	struct scored *s = calloc(1, sizeof *s);
	struct fx_cert f = fx_healthy;
	f.renew_before = "1440h0m0s"; /* certcast's value */
	score_annot(&f, NULL, NULL, NULL, s);
	cr_expect_neq(s->r.r_decision.d_rb, SC_RB_RESTORE, "nothing saved: nothing to restore");
	score_annot(&f, "original-renew-before", "unset", NULL, s);
	cr_expect_eq(s->r.r_decision.d_rb, SC_RB_RESTORE, "unset saved");
	cr_expect(s->r.r_decision.d_rb_unset, "restored to unset");
	score_annot(&f, "original-renew-before", "720h", NULL, s);
	cr_expect_eq(s->r.r_decision.d_rb, SC_RB_RESTORE, "720h saved");
	cr_expect(!s->r.r_decision.d_rb_unset);
	cr_expect_eq(s->r.r_decision.d_rb_value, 720 * HOUR);
	free(s);
}

/* ---------------------------------------------------------------------------------------- */
/* 5. as_parse_issuer_ref                                                                    */

struct ref_case {
	const char *r_in;
	size_t r_kindsz, r_namesz; /* 0: ample */
	int r_ok;
	const char *r_kind, *r_name;
};

static char long_name[300];

Test(assess, parse_issuer_ref)
{
	/* 254 bytes: one over a DNS subdomain's limit, made of valid 62-byte labels */
	memset(long_name, 0, sizeof long_name);
	memcpy(long_name, "Issuer/", 7);
	for (size_t i = 0; i < 254; i++)
		long_name[7 + i] = (i % 63 == 62) ? '.' : 'a';
	char exact[300];
	memcpy(exact, long_name, sizeof exact);
	exact[7 + 253] = '\0'; /* 253 bytes: the longest allowed, ends in a label */
	const struct ref_case cases[] = {
	    {"Issuer/x", 0, 0, 1, "Issuer", "x"},
	    {"ClusterIssuer/le-prod", 0, 0, 1, "ClusterIssuer", "le-prod"},
	    {"ClusterIssuer/a.b-c", 0, 0, 1, "ClusterIssuer", "a.b-c"},
	    {"Issuer/0abc.9", 0, 0, 1, "Issuer", "0abc.9"},
	    {exact, 0, 0, 1, "Issuer", exact + 7},
	    {"ClusterIssuer/le-prod", 14, 8, 1, "ClusterIssuer", "le-prod"}, /* exact fits */
	    {"", 0, 0, 0, NULL, NULL},
	    {"Issuer", 0, 0, 0, NULL, NULL},
	    {"Issuer/", 0, 0, 0, NULL, NULL},
	    {"issuer/x", 0, 0, 0, NULL, NULL},
	    {"clusterissuer/x", 0, 0, 0, NULL, NULL},
	    {"Foo/x", 0, 0, 0, NULL, NULL},
	    {"/x", 0, 0, 0, NULL, NULL},
	    {"IssuerX/x", 0, 0, 0, NULL, NULL},
	    {"Issuer/UPPER", 0, 0, 0, NULL, NULL},
	    {"Issuer/-x", 0, 0, 0, NULL, NULL},
	    {"Issuer/x-", 0, 0, 0, NULL, NULL},
	    {"Issuer/a..b", 0, 0, 0, NULL, NULL},
	    {"Issuer/a.", 0, 0, 0, NULL, NULL},
	    {"Issuer/.a", 0, 0, 0, NULL, NULL},
	    {"Issuer/a/b", 0, 0, 0, NULL, NULL},
	    {"Issuer/a_b", 0, 0, 0, NULL, NULL},
	    {"Issuer/a b", 0, 0, 0, NULL, NULL},
	    {long_name, 0, 0, 0, NULL, NULL},
	    {"ClusterIssuer/le-prod", 13, 0, 0, NULL, NULL}, /* kind buffer one short */
	    {"ClusterIssuer/le-prod", 0, 7, 0, NULL, NULL},  /* name buffer one short */
	    {"Issuer/x", 0, 1, 0, NULL, NULL},
	    {"Issuer/x", 1, 0, 0, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct ref_case *rc = &cases[i];
		char kind[32], name[300];
		size_t ks = rc->r_kindsz ? rc->r_kindsz : sizeof kind;
		size_t ns = rc->r_namesz ? rc->r_namesz : sizeof name;
		memset(kind, 'K', sizeof kind);
		memset(name, 'N', sizeof name);
		int ok = as_parse_issuer_ref(rc->r_in, kind, ks, name, ns);
		cr_expect_eq(ok, rc->r_ok, "\"%.40s\" (%zu, %zu): got %d", rc->r_in, ks, ns, ok);
		if (ok && rc->r_ok) {
			cr_expect_str_eq(kind, rc->r_kind, "\"%.40s\": kind", rc->r_in);
			cr_expect_str_eq(name, rc->r_name, "\"%.40s\": name", rc->r_in);
		}
		/* nothing is written past the sizes given */
		for (size_t k = ks; k < sizeof kind; k++)
			cr_expect_eq(kind[k], 'K', "\"%.40s\": kind written past %zu", rc->r_in, ks);
		for (size_t k = ns; k < sizeof name; k++)
			cr_expect_eq(name[k], 'N', "\"%.40s\": name written past %zu", rc->r_in, ns);
	}
	char k[16], n[16];
	cr_expect_eq(as_parse_issuer_ref(NULL, k, sizeof k, n, sizeof n), 0, "NULL");
	cr_expect_eq(as_parse_issuer_ref("Issuer/x", k, 0, n, sizeof n), 0, "kind size 0");
	cr_expect_eq(as_parse_issuer_ref("Issuer/x", k, sizeof k, n, 0), 0, "name size 0");
}

/* ---------------------------------------------------------------------------------------- */
/* 6. fallback issuer                                                                        */

/* Close to expiry on a primary that is down; a healthy backup exists (unless no_backup). */
static struct store *
fallback_store(const char *annot, const char *backup_ready, int no_backup)
{
	struct store *st = store_new();
	world_failing_issuer(st, "le-prod", outage_msg);
	if (!no_backup) {
		add_issuer(st, NULL, "backup", backup_ready, "ACMEAccountRegistered", "registered");
		add_peers(st, "web", "backup", 3, 1, NULL);
	}
	struct fx_cert f = {
	    .ns = "shop", .name = "shop", .ikind = "ClusterIssuer", .iname = "le-prod",
	    .nb_ago = 89 * DAY, .na_in = 1 * DAY, .failed = 3, .fail_ago = 20 * MIN,
	    .issuing = "False", .issuing_reason = "Failed", .issuing_msg = outage_msg,
	    .crs = {{CR_FAILED, 21 * MIN, outage_msg}, {CR_FAILED, 3 * HOUR, outage_msg},
		{CR_FAILED, 5 * HOUR, outage_msg}, {CR_ISSUED, 89 * DAY, NULL}},
	};
	if (annot) {
		f.annots[0][0] = "fallback-issuer";
		f.annots[0][1] = annot;
	}
	add_cert(st, &f);
	return st;
}

struct fb_case {
	const char *f_name;
	const char *f_annot;        /* certcast.io/fallback-issuer, NULL: none */
	const char *f_backup_ready; /* the backup's Ready status */
	int f_no_backup;            /* the backup is not in the store */
	enum sc_failover_action f_want;
};

static const struct fb_case fb_cases[] = {
    {"healthy fallback", "ClusterIssuer/backup", "True", 0, SC_FO_SWITCH},
    {"no annotation", NULL, "True", 0, SC_FO_NONE},
    {"fallback not Ready", "ClusterIssuer/backup", "False", 0, SC_FO_NONE},
    {"malformed annotation", "ClusterIssuer/Backup", "True", 0, SC_FO_NONE},
    {"wrong kind: no Issuer backup in shop", "Issuer/backup", "True", 0, SC_FO_NONE},
    {"fallback absent from the store", "ClusterIssuer/backup", "True", 1, SC_FO_NONE},
    {"fallback is the primary", "ClusterIssuer/le-prod", "True", 0, SC_FO_NONE},
};

Test(assess, fallback_failover)
{
	struct scored *s = calloc(1, sizeof *s);
	for (size_t i = 0; i < sizeof fb_cases / sizeof fb_cases[0]; i++) {
		const struct fb_case *fc = &fb_cases[i];
		struct store *st = fallback_store(fc->f_annot, fc->f_backup_ready, fc->f_no_backup);
		score(st, "shop", "shop", s);
		check_common(s, fc->f_name);
		cr_expect_eq(s->r.r_decision.d_failover, fc->f_want, "%s: failover %d, want %d\n%s",
		    fc->f_name, (int)s->r.r_decision.d_failover, (int)fc->f_want, s->text);
		if (fc->f_want == SC_FO_SWITCH)
			cr_expect(strstr(s->text, "switch to the fallback issuer") != NULL, "%s",
			    fc->f_name);
		store_free(st);
	}
	free(s);
}

/* ---------------------------------------------------------------------------------------- */
/* 7. missing pieces                                                                         */

Test(assess, never_issued)
{
	struct scored *s = calloc(1, sizeof *s), *again = calloc(1, sizeof *again);
	struct store *st = store_new();
	world_healthy_issuer(st, "le-prod");
	struct fx_cert f = {.ns = "shop", .name = "bare", .ikind = "ClusterIssuer",
	    .iname = "le-prod", .no_status = 1};
	add_cert(st, &f);
	struct fx_cert g = {.ns = "shop", .name = "pending", .ikind = "ClusterIssuer",
	    .iname = "le-prod", .issuing = "True", .issuing_reason = "DoesNotExist",
	    .crs = {{CR_PENDING, 5 * MIN, NULL}}};
	add_cert(st, &g);
	const char *names[] = {"bare", "pending"};
	for (int i = 0; i < 2; i++) {
		score(st, "shop", names[i], s);
		score(st, "shop", names[i], again);
		check_common(s, names[i]);
		/* no certificate yet is consistent: cert-manager issues at once */
		cr_expect_eq(s->rc, SC_OK, "%s: rc %d", names[i], s->rc);
		cr_expect_eq(s->r.r_renewal_time, NOW, "%s: renewal due now", names[i]);
		expect_same(s, again, names[i]);
	}
	/* the other answer: a notAfter before notBefore is the certificate's own inconsistency */
	struct fx_cert h = {.ns = "shop", .name = "backwards", .ikind = "ClusterIssuer",
	    .iname = "le-prod", .nb_ago = -10 * DAY, .na_in = 5 * DAY};
	add_cert(st, &h);
	score(st, "shop", "backwards", s);
	score(st, "shop", "backwards", again);
	check_common(s, "backwards");
	cr_expect_eq(s->rc, SC_ERR_INVAL);
	cr_expect(s->r.r_risk == 0.0 && s->r.r_level == SC_LEVEL_LOW);
	cr_expect(strstr(s->text, "inconsistent") != NULL, "says what:\n%s", s->text);
	expect_same(s, again, "backwards");
	store_free(st);
	free(s);
	free(again);
}

Test(assess, issuer_absent_or_unnamed)
{
	struct scored *s = calloc(1, sizeof *s);
	struct store *st = store_new();
	struct fx_cert f = fx_healthy;
	f.iname = "nowhere";
	add_cert(st, &f);
	struct fx_cert g = fx_dying;
	g.name = "dying";
	g.iname = "nowhere";
	add_cert(st, &g);
	struct fx_cert h = fx_healthy;
	h.name = "noref";
	h.iname = NULL; /* no issuerRef at all */
	add_cert(st, &h);
	struct fx_cert e = fx_healthy;
	e.name = "external";
	e.ikind = "AWSPCAClusterIssuer";
	e.igroup = "awspca.cert-manager.io";
	add_cert(st, &e);
	const char *names[] = {"shop", "dying", "noref", "external"};
	for (int i = 0; i < 4; i++) {
		score(st, "shop", names[i], s);
		check_common(s, names[i]);
		cr_expect_eq(s->rc, SC_OK, "%s", names[i]);
		cr_expect(!s->r.r_issuer.ie_not_ready, "%s: an absent issuer is not known to be down",
		    names[i]);
	}
	score(st, "shop", "shop", s);
	double healthy = s->r.r_risk;
	score(st, "shop", "dying", s);
	cr_expect(s->r.r_risk > healthy, "absent issuer: dying %g vs healthy %g", s->r.r_risk,
	    healthy);
	store_free(st);
	free(s);
}

/* ---------------------------------------------------------------------------------------- */
/* 8. the explanation text                                                                   */

Test(assess, explanation_text_bounds)
{
	static const size_t sizes[] = {1, 2, 16, 64, 200};
	struct store *st = store_new();
	world_healthy_issuer(st, "le-prod");
	add_cert(st, &fx_dying);
	store_rdlock(st);
	const struct rec_cert *c = store_cert_get(st, "shop", "shop");
	cr_assert_not_null(c);
	struct as_ctx *a = as_new(st, NULL, NOW);
	struct sc_result *r = calloc(1, sizeof *r);
	char *full = calloc(1, TEXT_MAX);
	cr_expect_eq(as_score(a, c, r, full, TEXT_MAX), SC_OK);
	size_t flen = strlen(full);
	cr_expect(flen > 0 && flen < TEXT_MAX, "full text %zu bytes", flen);
	cr_expect(strstr(full, "shop/shop") != NULL, "names the certificate:\n%s", full);
	cr_expect(strstr(full, "risk: ") != NULL);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char buf[256];
		memset(buf, 'Z', sizeof buf);
		cr_expect_eq(as_score(a, c, r, buf, sizes[i]), SC_OK, "size %zu", sizes[i]);
		cr_expect(memchr(buf, '\0', sizes[i]) != NULL, "size %zu: not terminated", sizes[i]);
		for (size_t k = sizes[i]; k < sizeof buf; k++)
			cr_expect_eq(buf[k], 'Z', "size %zu: written at %zu", sizes[i], k);
		/* whatever fits is the beginning of the full text, cut at a line */
		size_t n = strlen(buf);
		cr_expect(strncmp(buf, full, n) == 0, "size %zu: not a prefix", sizes[i]);
		cr_expect(n == 0 || buf[n - 1] == '\n', "size %zu: cut inside a line", sizes[i]);
	}
	/* no buffer, or a zero size: scored all the same */
	struct sc_result *r2 = calloc(1, sizeof *r2);
	cr_expect_eq(as_score(a, c, r2, NULL, 0), SC_OK);
	cr_expect(r2->r_risk == r->r_risk);
	char one = 'Z';
	cr_expect_eq(as_score(a, c, r2, &one, 0), SC_OK);
	cr_expect_eq(one, 'Z', "size 0: nothing written");
	as_free(a);
	store_unlock(st);
	store_free(st);
	free(r);
	free(r2);
	free(full);
}

/* ---------------------------------------------------------------------------------------- */
/* issuers of other API groups                                                               */

/*
 * An issuer of another API group may share kind and name with a cert-manager one in the same
 * namespace. They are different issuers: the order in which one context meets them must not
 * matter.
 */
Test(assess, issuer_groups_kept_apart)
{
	struct store *st = store_new();
	add_issuer(st, "shop", "ca", "True", "KeyPairVerified", "Signing CA verified");
	struct fx_cert cm = fx_healthy;
	cm.name = "cm";
	cm.ikind = "Issuer";
	cm.iname = "ca";
	cm.nb_ago = 61 * DAY;
	cm.na_in = 29 * DAY;
	add_cert(st, &cm);
	struct fx_cert ext = fx_dying;
	ext.name = "ext";
	ext.ikind = "Issuer";
	ext.iname = "ca";
	ext.igroup = "example.com";
	add_cert(st, &ext);

	struct scored *alone = calloc(1, sizeof *alone), *after = calloc(1, sizeof *after);
	struct scored *ext_alone = calloc(1, sizeof *ext_alone);
	score(st, "shop", "cm", alone);
	score(st, "shop", "ext", ext_alone);
	store_rdlock(st);
	struct as_ctx *a = as_new(st, NULL, NOW);
	struct sc_result *tmp = calloc(1, sizeof *tmp);
	(void)as_score(a, store_cert_get(st, "shop", "ext"), tmp, NULL, 0);
	after->rc = as_score(a, store_cert_get(st, "shop", "cm"), &after->r, after->text,
	    sizeof after->text);
	as_free(a);
	store_unlock(st);
	expect_same(alone, after, "cert-manager Issuer scored after an example.com Issuer");
	cr_expect_eq(alone->r.r_issuer.ie_failures, 0.0, "the cert-manager issuer never failed");
	cr_expect(ext_alone->r.r_issuer.ie_failures > 0.0, "the other one did");
	free(tmp);
	free(alone);
	free(after);
	free(ext_alone);
	store_free(st);
}

/*
 * Only cert-manager's ClusterIssuer is cluster-scoped (the store indexes any other group's
 * kinds by the certificate's namespace), so a kind named ClusterIssuer in another group still
 * gathers the history of its certificates.
 */
Test(assess, external_cluster_issuer_history)
{
	struct store *st = store_new();
	struct fx_cert f = fx_dying;
	f.ikind = "ClusterIssuer";
	f.iname = "ext";
	f.igroup = "example.com";
	add_cert(st, &f);
	struct fx_cert g = fx_healthy;
	g.name = "peer";
	g.ikind = "ClusterIssuer";
	g.iname = "ext";
	g.igroup = "example.com";
	add_cert(st, &g);
	struct scored *s = calloc(1, sizeof *s);
	score(st, "shop", "peer", s);
	check_common(s, "peer of an external ClusterIssuer");
	cr_expect(s->r.r_issuer.ie_failures > 0.0, "the failing certificate's requests count: %g",
	    s->r.r_issuer.ie_failures);
	cr_expect(s->r.r_issuer.ie_evidence > 0.0);
	free(s);
	store_free(st);
}

/* ---------------------------------------------------------------------------------------- */
/* Events: the certificate's, its requests' and their Orders', nobody else's                 */

static const char *const dns_msg =
    "Failed to finalize Order: acme: urn:ietf:params:acme:error:dns: DNS problem: NXDOMAIN "
    "looking up TXT for _acme-challenge.shop.example.com";

struct event_case {
	const char *e_name;
	const char *e_ns, *e_kind, *e_obj; /* e_kind NULL: no Event */
	const char *e_type;
	enum sc_class e_want;
};

static const struct event_case event_cases[] = {
    {"no event", NULL, NULL, NULL, NULL, SC_CLASS_UNKNOWN},
    {"on its Order", "shop", "Order", "shop-1-ord", "Warning", SC_CLASS_DNS},
    {"on its CertificateRequest", "shop", "CertificateRequest", "shop-1", "Warning",
	SC_CLASS_DNS},
    {"on the Certificate", "shop", "Certificate", "shop", "Warning", SC_CLASS_DNS},
    {"Normal, not Warning", "shop", "Order", "shop-1-ord", "Normal", SC_CLASS_UNKNOWN},
    {"on another certificate's Order", "shop", "Order", "other-1-ord", "Warning",
	SC_CLASS_UNKNOWN},
    {"same name, other namespace", "web", "Certificate", "shop", "Warning", SC_CLASS_UNKNOWN},
};

Test(assess, events_reach_the_classification)
{
	/* cert-manager's own words on the certificate and request say only "failed" */
	static const char *const vague =
	    "The certificate request has failed to complete and will be retried";
	struct scored *s = calloc(1, sizeof *s);
	for (size_t i = 0; i < sizeof event_cases / sizeof event_cases[0]; i++) {
		const struct event_case *ec = &event_cases[i];
		struct store *st = store_new();
		world_healthy_issuer(st, "le-prod");
		struct fx_cert f = {
		    .ns = "shop", .name = "shop", .ikind = "ClusterIssuer", .iname = "le-prod",
		    .nb_ago = 61 * DAY, .na_in = 29 * DAY, .failed = 1, .fail_ago = 30 * MIN,
		    .issuing = "False", .issuing_reason = "Failed", .issuing_msg = vague,
		    .crs = {{CR_FAILED, 31 * MIN, vague}, {CR_ISSUED, 61 * DAY, NULL}},
		};
		add_cert(st, &f);
		add_order(st, "shop", "shop-1-ord", "shop-1", "errored", vague);
		struct fx_cert o = f;
		o.name = "other";
		add_cert(st, &o);
		add_order(st, "shop", "other-1-ord", "other-1", "errored", vague);
		if (ec->e_kind)
			add_event_typed(st, ec->e_ns, "ev", ec->e_kind, ec->e_obj, ec->e_type,
			    "Failed", dns_msg, 30 * MIN);
		score(st, "shop", "shop", s);
		check_common(s, ec->e_name);
		cr_expect_eq(s->r.r_class, ec->e_want, "%s: class %s, want %s", ec->e_name,
		    sc_class_name(s->r.r_class), sc_class_name(ec->e_want));
		store_free(st);
	}
	free(s);
}

/* ---------------------------------------------------------------------------------------- */
/* renewal windows in named time zones                                                       */

/*
 * A 90-day certificate whose desired renewal time (2/3 of the lifetime) is at 00:00 UTC on
 * `at`, with one window "0 5 * * *" of an hour in zone tz (NULL: none given). Returns the
 * renewal time scoring computed.
 */
static int64_t
window_renewal(const char *tz, int64_t desired)
{
	struct store *st = store_new();
	world_healthy_issuer(st, "le-prod");
	struct fx_cert f = fx_healthy;
	f.nb_ago = NOW - (desired - 60 * DAY);
	f.na_in = desired + 30 * DAY - NOW;
	f.crs[1].k = CR_NONE;
	cJSON *o = cert_json(&f);
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(o, "spec");
	cJSON *ren = cJSON_AddObjectToObject(spec, "renewal");
	cJSON_AddStringToObject(ren, "policy", "RenewBefore");
	cJSON *wins = cJSON_AddArrayToObject(ren, "windows");
	cJSON *w = cJSON_CreateObject();
	cJSON_AddStringToObject(w, "cron", "0 5 * * *");
	cJSON_AddStringToObject(w, "windowDuration", "1h");
	if (tz)
		cJSON_AddStringToObject(w, "timezone", tz);
	cJSON_AddItemToArray(wins, w);
	apply(st, RES_CERTIFICATE, o);
	struct scored *s = calloc(1, sizeof *s);
	score(st, "shop", "shop", s);
	cr_assert_eq(s->rc, SC_OK, "%s: rc %d", tz ? tz : "(none)", s->rc);
	int64_t rt = s->r.r_renewal_time;
	free(s);
	store_free(st);
	return rt;
}

Test(assess, renewal_windows_in_time_zones)
{
	const int64_t june = NOW + 5 * DAY;          /* 2026-06-06T00:00:00Z */
	const int64_t november = NOW + 179 * DAY;    /* 2026-11-27T00:00:00Z */
	const struct {
		const char *name, *tz;
		int64_t desired, want; /* want: the window's opening in UTC */
	} cases[] = {
	    {"no zone is UTC", NULL, june, june + 5 * HOUR},
	    {"UTC", "UTC", june, june + 5 * HOUR},
	    {"Berlin in summer (+2)", "Europe/Berlin", june, june + 3 * HOUR},
	    {"Berlin in winter (+1), scored in June", "Europe/Berlin", november, november + 4 * HOUR},
	    {"Denver in summer (-6)", "America/Denver", june, june + 11 * HOUR},
	    {"Kolkata (+5:30): the window 23:30-00:30 UTC holds the desired time", "Asia/Kolkata",
		june, june},
	    {"Kolkata (+5:30), an hour later: the next window", "Asia/Kolkata", june + HOUR,
		june + 23 * HOUR + 30 * MIN},
	    {"Sydney in June (+10): 05:00 local is 19:00 UTC the day before", "Australia/Sydney", june,
		june + 19 * HOUR},
	    {"an unknown zone is read as UTC", "Mars/Olympus", june, june + 5 * HOUR},
	    {"a bad zone name is read as UTC", "../../etc/passwd", june, june + 5 * HOUR},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t got = window_renewal(cases[i].tz, cases[i].desired);
		cr_expect_eq(got, cases[i].want, "%s: renewal at %lld, want %lld (%+lld h)",
		    cases[i].name, (long long)got, (long long)cases[i].want,
		    (long long)(got - cases[i].want) / HOUR);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Live signals: cert-manager's ACME rates and its restarts reach the score                  */

/* A CA ClusterIssuer (no ACME server): only restarts apply to it. */
static void
add_ca_issuer(struct store *st, const char *name)
{
	cJSON *o = obj_new("ClusterIssuer", NULL, name, NOW - 400 * DAY);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON *ca = cJSON_AddObjectToObject(spec, "ca");
	cJSON_AddStringToObject(ca, "secretName", "root");
	add_cond(o, "Ready", "True", "KeyPairVerified", "Signing CA verified", NOW - 2 * DAY);
	apply(st, RES_CLUSTERISSUER, o);
}

/* Scores ns/name with the signals of sig. */
static void
score_sig(struct store *st, struct sig_state *sig, const char *ns, const char *name,
    struct scored *out, struct sc_signals *got)
{
	store_rdlock(st);
	const struct rec_cert *c = store_cert_get(st, ns, name);
	cr_assert_not_null(c);
	struct as_ctx *a = as_new(st, NULL, NOW);
	as_use_signals(a, sig);
	out->rc = as_score(a, c, &out->r, out->text, sizeof out->text);
	as_signals(a, c, got);
	as_free(a);
	store_unlock(st);
}

/* sig with one pod that restarted `restarts` times within the hour and, for host, 100 ACME
 * requests in the last minute of which s5xx failed. */
static struct sig_state *
sig_world(const char *host, double s5xx, int32_t restarts)
{
	struct sig_state *sig = sig_new(600);
	struct sig_pod pod = {"cm-pod-uid", restarts, restarts ? NOW - 5 * MIN : 0,
	    restarts ? NOW - 30 * MIN : NOW - 30 * DAY};
	sig_pods(sig, &pod, 1, NOW);
	struct sig_scrape sc;
	memset(&sc, 0, sizeof sc);
	sc.ss_n = 1;
	snprintf(sc.ss_hosts[0].st_host, sizeof sc.ss_hosts[0].st_host, "%s", host);
	sig_record(sig, "cm-pod-uid", &sc, 1, NOW - MIN);
	sc.ss_hosts[0].st_requests = 100;
	sc.ss_hosts[0].st_5xx = s5xx;
	sc.ss_hosts[0].st_dur_sum = 50;
	sc.ss_hosts[0].st_dur_count = 100;
	sig_record(sig, "cm-pod-uid", &sc, 1, NOW);
	return sig;
}

Test(assess, signals_reach_the_score)
{
	struct store *st = store_new();
	world_healthy_issuer(st, "le-prod");
	add_cert(st, &fx_healthy);
	struct scored *plain = calloc(1, sizeof *plain), *failing = calloc(1, sizeof *failing);
	struct scored *other = calloc(1, sizeof *other);
	struct sc_signals g;
	score(st, "shop", "shop", plain);

	/* the issuer's server host answers 90% 5xx */
	struct sig_state *sig = sig_world("acme-v02.api.letsencrypt.org", 90, 0);
	score_sig(st, sig, "shop", "shop", failing, &g);
	cr_expect_eq(g.sg_valid, 1);
	cr_expect(fabs(g.sg_requests - 100) < 1e-9 && fabs(g.sg_status_5xx - 90) < 1e-9,
	    "requests %g 5xx %g", g.sg_requests, g.sg_status_5xx);
	cr_expect(fabs(g.sg_latency_s - 0.5) < 1e-9);
	cr_expect(failing->r.r_p_next_fail > 5 * plain->r.r_p_next_fail,
	    "5xx must raise the next attempt's failure: %g vs %g", failing->r.r_p_next_fail,
	    plain->r.r_p_next_fail);
	cr_expect(failing->r.r_risk >= plain->r.r_risk);
	cr_expect(strstr(failing->text, "90% 5xx of 100 requests") != NULL, "%s", failing->text);
	cr_expect(strstr(plain->text, "cert-manager metrics") == NULL);
	sig_free(sig);

	/* another host failing changes nothing for this issuer */
	sig = sig_world("acme.other.example", 90, 0);
	score_sig(st, sig, "shop", "shop", other, &g);
	cr_expect_eq(g.sg_valid, 1, "a pod is known");
	cr_expect_eq(g.sg_requests, 0);
	cr_expect(fabs(other->r.r_p_next_fail - plain->r.r_p_next_fail) < 1e-12);
	sig_free(sig);
	store_free(st);
	free(plain);
	free(failing);
	free(other);
}

Test(assess, restarts_reach_a_non_acme_issuer)
{
	struct store *st = store_new();
	add_ca_issuer(st, "ca");
	struct fx_cert f = fx_healthy;
	f.iname = "ca";
	add_cert(st, &f);
	struct scored *plain = calloc(1, sizeof *plain), *restarting = calloc(1, sizeof *restarting);
	struct sc_signals g;
	score(st, "shop", "shop", plain);
	/* the ACME host fails too, but a CA issuer makes no ACME requests */
	struct sig_state *sig = sig_world("acme-v02.api.letsencrypt.org", 90, 6);
	score_sig(st, sig, "shop", "shop", restarting, &g);
	cr_expect_eq(g.sg_valid, 1);
	cr_expect_eq(g.sg_requests, 0);
	cr_expect_eq(g.sg_status_5xx, 0);
	cr_expect_eq(g.sg_restarts_1h, 6, "a pod started 30 minutes ago: all its restarts count");
	cr_expect(restarting->r.r_p_next_fail > plain->r.r_p_next_fail, "%g vs %g",
	    restarting->r.r_p_next_fail, plain->r.r_p_next_fail);
	cr_expect(strstr(restarting->text, "6 restarts in 1h") != NULL, "%s", restarting->text);
	sig_free(sig);
	store_free(st);
	free(plain);
	free(restarting);
}

/* ---------------------------------------------------------------------------------------- */
/* ACME renewal information (RFC 9773)                                                       */

/* Re-applies request name of shop/shop with a real issued certificate in status.certificate. */
static void
give_certificate(struct store *st, const char *name, int rev, int64_t ago, long serial)
{
	struct fx_cr fc = {CR_ISSUED, ago, NULL};
	cJSON *o = cr_json("shop", name, "shop", rev, &fc);
	/* a new resourceVersion, or the store keeps the record it has */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "resourceVersion",
	    cJSON_CreateString("2"));
	EVP_PKEY *k = tc_key("P-256");
	struct tc_spec sp = {.issuer_cn = "ARI CA", .cn = "shop.example.com",
	    .nb = NOW - ago, .na = NOW - ago + 90 * DAY, .md = EVP_sha256(), .serial = serial};
	X509 *x = tc_cert(k, k, &sp);
	size_t len, blen;
	char *pem = tc_pem(&x, 1, &len);
	char *b64 = tc_b64(pem, len, &blen);
	cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(o, "status"), "certificate", b64);
	free(b64);
	free(pem);
	X509_free(x);
	EVP_PKEY_free(k);
	apply(st, RES_CERTIFICATEREQUEST, o);
}

static void
score_ari(struct store *st, struct arc *ari, struct scored *out, struct sc_ari *seen)
{
	store_rdlock(st);
	const struct rec_cert *c = store_cert_get(st, "shop", "shop");
	cr_assert_not_null(c);
	struct as_ctx *a = as_new(st, NULL, NOW);
	as_use_ari(a, ari);
	char url[ARI_URL_MAX];
	as_ari(a, c, seen, url, sizeof url);
	seen->ar_url = NULL; /* url dies here */
	out->rc = as_score(a, c, &out->r, out->text, sizeof out->text);
	as_free(a);
	store_unlock(st);
}

/*
 * A window reaches the score only for the certificate it was asked about: the newest issued
 * request's. A "renew now" window that closes before cert-manager's renewal time raises the
 * risk and is named in the explanation; a routine one is only mentioned.
 */
Test(assess, ari_window_reaches_the_score)
{
	struct store *st = store_new();
	world_healthy_issuer(st, "le-prod");
	add_cert(st, &fx_healthy); /* shop-1 issued 5 days ago (current), shop-2 65 days ago */
	give_certificate(st, "shop-1", 1, 5 * DAY, 0x1001);
	give_certificate(st, "shop-2", 2, 65 * DAY, 0x1000);
	struct arc *ari = arc_new(0);
	struct scored *none = calloc(1, sizeof *none), *old = calloc(1, sizeof *old),
		      *now = calloc(1, sizeof *now), *routine = calloc(1, sizeof *routine);
	struct sc_ari seen;

	score_ari(st, ari, none, &seen);
	cr_expect_eq(seen.ar_valid, 0, "no answer yet");
	cr_expect_null(strstr(none->text, "CA asks for renewal"), "%s", none->text);

	/* an urgent window for the previous certificate must not be used for the current one */
	struct ari_window w = {.aw_start = NOW - DAY, .aw_end = NOW + DAY};
	snprintf(w.aw_url, sizeof w.aw_url, "https://ca.example/incident/42");
	arc_track(ari, "shop-2", "OLD.EAA", NOW);
	arc_answer(ari, "OLD.EAA", &w, HOUR, NOW);
	score_ari(st, ari, old, &seen);
	cr_expect_eq(seen.ar_valid, 0, "the old certificate's window was used");
	cr_expect(old->r.r_risk == none->r.r_risk, "risk moved: %g vs %g", old->r.r_risk,
	    none->r.r_risk);

	/* the same window for the current certificate */
	arc_track(ari, "shop-1", "CUR.EAE", NOW);
	arc_answer(ari, "CUR.EAE", &w, HOUR, NOW);
	score_ari(st, ari, now, &seen);
	cr_expect_eq(seen.ar_valid, 1);
	cr_expect_eq(seen.ar_start, NOW - DAY);
	cr_expect_eq(seen.ar_end, NOW + DAY);
	check_common(now, "urgent ari");
	cr_expect(now->r.r_risk > none->r.r_risk + 0.1, "urgent window: risk %g vs %g without",
	    now->r.r_risk, none->r.r_risk);
	cr_expect_not_null(strstr(now->text, "CA asks for renewal between"), "%s", now->text);
	cr_expect(now->r.r_decision.d_reissue, "an open urgent window asks for a reissue");

	/*
	 * a routine window around cert-manager's own renewal time (NOW + 55 days): mentioned, the
	 * risk stays where it was
	 */
	struct ari_window r = {.aw_start = NOW + 54 * DAY, .aw_end = NOW + 56 * DAY};
	arc_answer(ari, "CUR.EAE", &r, HOUR, NOW);
	score_ari(st, ari, routine, &seen);
	cr_expect_eq(seen.ar_start, NOW + 54 * DAY);
	cr_expect_not_null(strstr(routine->text, "CA suggests renewing between"), "%s",
	    routine->text);
	cr_expect(routine->r.r_risk == none->r.r_risk, "routine %g vs none %g", routine->r.r_risk,
	    none->r.r_risk);

	/* no cache: as before */
	score_ari(st, NULL, routine, &seen);
	cr_expect_eq(seen.ar_valid, 0);
	arc_free(ari);
	store_free(st);
	free(none);
	free(old);
	free(now);
	free(routine);
}

/* ---------------------------------------------------------------------------------------- */
/* a stuck attempt's cause comes from its Challenge                                          */

/* A Challenge of Order order in state `state` with status.reason reason (NULL: none). */
static void
add_challenge(struct store *st, const char *ns, const char *name, const char *order,
    const char *state, const char *reason)
{
	cJSON *o = obj_new("Challenge", ns, name, NOW - 3 * DAY);
	cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	cJSON *refs = cJSON_AddArrayToObject(md, "ownerReferences");
	cJSON *ref = cJSON_CreateObject();
	cJSON_AddStringToObject(ref, "kind", "Order");
	cJSON_AddStringToObject(ref, "name", order);
	cJSON_AddBoolToObject(ref, "controller", 1);
	cJSON_AddItemToArray(refs, ref);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "type", "HTTP-01");
	cJSON_AddStringToObject(spec, "dnsName", "shop.example.com");
	cJSON *s2 = cJSON_AddObjectToObject(o, "status");
	cJSON_AddStringToObject(s2, "state", state);
	if (reason)
		cJSON_AddStringToObject(s2, "reason", reason);
	cJSON_AddBoolToObject(s2, "presented", 1);
	cJSON_AddBoolToObject(s2, "processing", 1);
	apply(st, RES_CHALLENGE, o);
}

/* The explanation's "stuck" factor text, or "" when there is none. */
static const char *
stuck_text(const struct scored *s)
{
	for (uint32_t i = 0; i < s->r.r_nfactors; i++)
		if (strcmp(s->r.r_factors[i].f_name, "stuck") == 0)
			return s->r.r_factors[i].f_text;
	return "";
}

Test(assess, challenge_names_the_stuck_cause)
{
	const char *why = "Waiting for HTTP-01 challenge propagation: wrong status code '404', "
			  "expected '200'";
	const struct {
		const char *name, *state, *reason;
		const char *want; /* in the stuck factor's text */
	} cases[] = {
	    {"a pending challenge failing its self-check", "pending", why, "cause configuration"},
	    {"no challenge reason", "pending", NULL, "cause unknown"},
	    {"a valid challenge says nothing", "valid", why, "cause unknown"},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct store *st = store_new();
		world_healthy_issuer(st, "le-prod");
		/* in its renewal window, a request pending for three days, Issuing=True before it */
		struct fx_cert f = {.ns = "shop", .name = "shop", .ikind = "ClusterIssuer",
		    .iname = "le-prod", .nb_ago = 75 * DAY, .na_in = 15 * DAY, .issuing = "True",
		    .issuing_reason = "Renewing", .issuing_msg = "Renewing certificate as renewal was "
		    "scheduled", .issuing_ago = 3 * DAY + HOUR,
		    .crs = {{CR_PENDING, 3 * DAY, NULL}, {CR_ISSUED, 75 * DAY, NULL}}};
		add_cert(st, &f);
		add_order(st, "shop", "shop-1-77", "shop-1", "pending", "");
		add_challenge(st, "shop", "shop-1-77-1", "shop-1-77", cases[k].state, cases[k].reason);
		struct scored *s = calloc(1, sizeof *s);
		score(st, "shop", "shop", s);
		const char *t = stuck_text(s);
		cr_expect(t[0] != '\0', "%s: no stuck factor (risk %g)", cases[k].name, s->r.r_risk);
		cr_expect(strstr(t, cases[k].want) != NULL, "%s: %s", cases[k].name, t);
		free(s);
		store_free(st);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* ACME budgets: certificates the ACME issuer's requests hold, counted for the score          */

#include "budget.h"
#include "psl.h"
#include "testcert.h"

#define LE_DIR "https://acme-v02.api.letsencrypt.org/directory"

/* A request of issuer ClusterIssuer/le-prod holding a certificate for sans from NOW - ago. */
static void
add_issued(struct store *st, EVP_PKEY *key, const char *name, const char *sans, int64_t ago)
{
	static long serial = 1000;
	struct tc_spec s = {.issuer_cn = "Test CA", .cn = "leaf", .sans = sans, .nb = NOW - ago,
	    .na = NOW - ago + 90 * DAY, .md = EVP_sha256(), .serial = serial++};
	X509 *x = tc_cert(key, key, &s);
	size_t n;
	char *pem = tc_pem(&x, 1, &n);
	char *b64 = tc_b64(pem, n, &n);
	cJSON *o = obj_new("CertificateRequest", "other", name, NOW - ago);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "request", "");
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", "le-prod");
	cJSON_AddStringToObject(ir, "kind", "ClusterIssuer");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "status"), "certificate", b64);
	apply(st, RES_CERTIFICATEREQUEST, o);
	free(b64);
	free(pem);
	X509_free(x);
}

/* A security anomaly, so that the policy wants a reissue: the budget then decides. */
static const struct sc_anomaly budget_weak_key = {
    .an_type = "weak-key", .an_severity = SC_SEV_CRITICAL, .an_score = 1.0, .an_security = 1,
    .an_evidence = "RSA-1024 key"};

struct budget_case {
	const char *what;
	int nnew;        /* distinct new certificates of example.com in the window */
	int ndup;        /* certificates of shop's own set {shop.example.com} in the window */
	int old;         /* ... and these were issued 8 days ago instead (out of the window) */
	int reissue;     /* the decision reissues */
	int blocked;     /* d_budget_blocked */
	const char *note;  /* in the decision's note, or NULL */
	const char *line;  /* in the explanation */
};

static const struct budget_case budget_cases[] = {
    {"under both limits: the reissue goes ahead", 10, 0, 0, 1, 0, NULL,
	"ACME budget of example.com: 10 of 50 new certificates in 168h (renewals exempt), 0 of 5"},
    {"domain budget used up to the reserve: held back", 49, 0, 0, 0, 1,
	"ACME budget of the registered domain used: 49 of 50", "49 of 50 new certificates"},
    {"renewals of one set do not spend the domain budget", 40, 4, 0, 1, 0, NULL,
	"41 of 50 new certificates in 168h (renewals exempt), 4 of 5 for this exact set"},
    {"exact set used: held back", 0, 5, 0, 0, 1, "duplicate-certificate budget used: 5 of 5",
	"1 of 50 new certificates in 168h (renewals exempt), 5 of 5 for this exact set"},
    {"issuances older than the window do not count", 49, 5, 1, 1, 0, NULL,
	"0 of 50 new certificates in 168h (renewals exempt), 0 of 5 for this exact set of names, "
	"issued before: a renewal"},
    {"a renewal goes ahead on a used domain budget", 48, 1, 0, 1, 0, NULL,
	"49 of 50 new certificates in 168h (renewals exempt), 1 of 5 for this exact set of names, "
	"issued before: a renewal"},
};

Test(assess, acme_budget_reaches_the_decision_and_explanation)
{
	static const char list[] = "com\nco.uk\n";
	struct psl *p = NULL;
	char err[128] = "";
	cr_assert_eq(psl_parse(list, sizeof list - 1, "list", &p, err, sizeof err), CC_OK);
	EVP_PKEY *key = tc_key("P-256");
	for (size_t i = 0; i < sizeof budget_cases / sizeof *budget_cases; i++) {
		const struct budget_case *bc = &budget_cases[i];
		struct store *st = store_new();
		world_healthy_issuer(st, "le-prod");
		add_cert(st, &fx_healthy);
		for (int k = 0; k < bc->nnew; k++) {
			char name[32], sans[64];
			snprintf(name, sizeof name, "new-%d", k);
			snprintf(sans, sizeof sans, "DNS:host%d.example.com", k);
			add_issued(st, key, name, sans, bc->old ? 8 * DAY : (k + 1) * HOUR);
		}
		for (int k = 0; k < bc->ndup; k++) {
			char name[32];
			snprintf(name, sizeof name, "dup-%d", k);
			add_issued(st, key, name, "DNS:shop.example.com", bc->old ? 8 * DAY : (k + 1) * MIN);
		}
		struct bg_book *b = bg_new(p, 0, 0);
		struct scored s;
		struct sc_budget bd;
		char dom[BG_DOMAIN_MAX];
		store_rdlock(st);
		const struct rec_cert *c = store_cert_get(st, "shop", "shop");
		struct as_ctx *a = as_new(st, NULL, NOW);
		as_use_budgets(a, b);
		as_set_anomalies(a, "shop", "shop", &budget_weak_key, 1);
		s.rc = as_score(a, c, &s.r, s.text, sizeof s.text);
		cr_expect_eq(as_budget(a, c, &bd, dom, sizeof dom), 1, "%s: budget unknown", bc->what);
		as_free(a);
		store_unlock(st);
		check_common(&s, bc->what);
		cr_expect_str_eq(dom, "example.com", "%s", bc->what);
		cr_expect_eq(s.r.r_decision.d_reissue, bc->reissue, "%s: reissue %d\n%s", bc->what,
		    s.r.r_decision.d_reissue, s.text);
		cr_expect_eq(s.r.r_decision.d_budget_blocked, bc->blocked, "%s: blocked %d\n%s",
		    bc->what, s.r.r_decision.d_budget_blocked, s.text);
		if (bc->note)
			cr_expect(strstr(s.r.r_decision.d_note, bc->note) != NULL, "%s: note '%s'",
			    bc->what, s.r.r_decision.d_note);
		cr_expect(strstr(s.text, bc->line) != NULL, "%s: explanation lacks '%s':\n%s",
		    bc->what, bc->line, s.text);
		bg_free(b);
		store_free(st);
	}
	EVP_PKEY_free(key);
	psl_free(p);
}

/* Not an ACME issuer: no budget, and the explanation says none. */
Test(assess, no_acme_budget_for_other_issuers)
{
	struct store *st = store_new();
	cJSON *o = obj_new("ClusterIssuer", NULL, "le-prod", NOW - 400 * DAY);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "ca"),
	    "secretName", "ca");
	apply(st, RES_CLUSTERISSUER, o);
	add_cert(st, &fx_healthy);
	struct scored s;
	struct sc_budget bd;
	score(st, "shop", "shop", &s);
	check_common(&s, "ca issuer");
	cr_expect(strstr(s.text, "ACME budget") == NULL, "%s", s.text);
	store_rdlock(st);
	struct as_ctx *a = as_new(st, NULL, NOW);
	cr_expect_eq(as_budget(a, store_cert_get(st, "shop", "shop"), &bd, NULL, 0), 0);
	cr_expect_eq(bd.bd_valid, 0);
	as_free(a);
	store_unlock(st);
	store_free(st);
}

/* An ACME CA other than Let's Encrypt's production API: its limits are not LE's, no budget. */
Test(assess, no_acme_budget_for_other_cas)
{
	static const char list[] = "com\n";
	struct psl *p = NULL;
	cr_assert_eq(psl_parse(list, sizeof list - 1, "list", &p, NULL, 0), CC_OK);
	EVP_PKEY *key = tc_key("P-256");
	struct store *st = store_new();
	cJSON *o = obj_new("ClusterIssuer", NULL, "le-prod", NOW - 400 * DAY);
	cJSON *acme = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "acme");
	cJSON_AddStringToObject(acme, "server", "https://acme.zerossl.com/v2/DV90");
	apply(st, RES_CLUSTERISSUER, o);
	add_cert(st, &fx_healthy);
	add_issued(st, key, "n-1", "DNS:a.example.com", HOUR);
	struct bg_book *b = bg_new(p, 0, 0);
	struct scored s;
	struct sc_budget bd;
	store_rdlock(st);
	const struct rec_cert *c = store_cert_get(st, "shop", "shop");
	struct as_ctx *a = as_new(st, NULL, NOW);
	as_use_budgets(a, b);
	s.rc = as_score(a, c, &s.r, s.text, sizeof s.text);
	cr_expect_eq(as_budget(a, c, &bd, NULL, 0), 0);
	as_free(a);
	store_unlock(st);
	cr_expect(strstr(s.text, "ACME budget") == NULL, "%s", s.text);
	bg_free(b);
	store_free(st);
	EVP_PKEY_free(key);
	psl_free(p);
}

/*
 * The live report: Let's Encrypt refused the order ("too many certificates (50) already issued")
 * while this cluster's books held no certificate of the domain: other clusters and accounts
 * filled it. The queue projection, built from the books, says the next attempt in an hour is
 * accepted; the fault must not end on that. With the books showing the domain full at the
 * refusal, and every one of those issuances leaving the window before the next attempt, the
 * projection is trusted and the fault ends, as in the simulator.
 */
Test(assess, acme_refusal_the_books_do_not_explain)
{
	static const char list[] = "com\n";
	static const char *const msg =
	    "Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: too many "
	    "certificates (50) already issued for \"example.com\" in the last 168h0m0s";
	struct psl *p = NULL;
	cr_assert_eq(psl_parse(list, sizeof list - 1, "list", &p, NULL, 0), CC_OK);
	EVP_PKEY *key = tc_key("P-256");
	static const struct fx_cert refused = {
	    .ns = "shop", .name = "shop", .ikind = "ClusterIssuer", .iname = "le-prod",
	    .nb_ago = 87 * DAY, .na_in = 3 * DAY, .failed = 1, .fail_ago = 5 * MIN,
	    .issuing = "False", .issuing_reason = "Failed", .issuing_msg = msg,
	    .crs = {{CR_FAILED, 6 * MIN, msg}}};
	double risk[2];
	for (int full = 0; full < 2; full++) {
		struct store *st = store_new();
		world_healthy_issuer(st, "le-prod");
		add_cert(st, &refused);
		/* full: 50 new certificates that leave the window 30 to 50 minutes from now */
		for (int k = 0; full && k < 50; k++) {
			char name[32], sans[64];
			snprintf(name, sizeof name, "new-%d", k);
			snprintf(sans, sizeof sans, "DNS:host%d.example.com", k);
			add_issued(st, key, name, sans, 7 * DAY - 30 * MIN - k * 24);
		}
		struct bg_book *b = bg_new(p, 0, 0);
		struct scored *s = calloc(1, sizeof *s);
		struct sc_budget bd;
		const char *what = full ? "full" : "empty";
		store_rdlock(st);
		const struct rec_cert *c = store_cert_get(st, "shop", "shop");
		struct as_ctx *a = as_new(st, NULL, NOW);
		as_use_budgets(a, b);
		s->rc = as_score(a, c, &s->r, s->text, sizeof s->text);
		cr_expect_eq(as_budget(a, c, &bd, NULL, 0), 1);
		as_free(a);
		store_unlock(st);
		check_common(s, what);
		cr_expect_eq(s->r.r_class, SC_CLASS_RATE_LIMIT, "%s: class %d", what, s->r.r_class);
		cr_expect_eq(bd.bd_queue, 1, "%s: no projection", what);
		cr_expect_eq(bd.bd_slot, NOW - 5 * MIN + HOUR, "%s: slot %lld", what,
		    (long long)bd.bd_slot);
		cr_expect_eq(bd.bd_at_failure, 1, "%s: no books at the refusal", what);
		cr_expect_eq(bd.bd_new_used_at_failure, full ? 50u : 0u, "%s: %u at the refusal",
		    what, bd.bd_new_used_at_failure);
		cr_expect(strstr(s->text, full ? "the books explain the rate-limit refusal"
					       : "the books do not explain the rate-limit refusal") !=
			NULL,
		    "%s:\n%s", what, s->text);
		cr_expect((strstr(s->text, "unseen-issuance") != NULL) == !full, "%s:\n%s", what,
		    s->text);
		cr_expect_gt(s->r.r_nattempts, 0);
		if (s->r.r_nattempts > 0)
			cr_expect(full ? s->r.r_attempts[0].at_p_fault < 0.1
				       : s->r.r_attempts[0].at_p_fault > 0.9,
			    "%s: P(fault) at the next attempt %g", what,
			    s->r.r_attempts[0].at_p_fault);
		risk[full] = s->r.r_risk;
		free(s);
		bg_free(b);
		store_free(st);
	}
	cr_expect(risk[0] > 0.2 && risk[1] < 0.01,
	    "risk with the refusal unexplained %g, explained %g", risk[0], risk[1]);
	EVP_PKEY_free(key);
	psl_free(p);
}

/* Without a book of its own, a context counts with the installed list (when there is one). */
Test(assess, acme_budget_from_the_installed_list)
{
	if (access(PSL_DEFAULT_PATH, R_OK) != 0) {
		cr_log_warn("%s not installed; skipping", PSL_DEFAULT_PATH);
		return;
	}
	EVP_PKEY *key = tc_key("P-256");
	struct store *st = store_new();
	world_healthy_issuer(st, "le-prod");
	add_cert(st, &fx_healthy);
	add_issued(st, key, "n-1", "DNS:a.example.com", HOUR);
	add_issued(st, key, "n-2", "DNS:b.example.com", HOUR);
	struct scored s;
	score(st, "shop", "shop", &s);
	cr_expect(strstr(s.text, "ACME budget of example.com: 2 of 50") != NULL, "%s", s.text);
	store_free(st);
	EVP_PKEY_free(key);
}

/*
 * The queue projection reaches the risk: a certificate expiring in 20 hours whose next order
 * is a new set of names (Issuing=True) waits behind a full domain budget whose first slot frees
 * only after its deadline; with room in the budget the same certificate is fine.
 */
Test(assess, acme_budget_queue_reaches_the_risk)
{
	static const char list[] = "com\n";
	struct psl *p = NULL;
	cr_assert_eq(psl_parse(list, sizeof list - 1, "list", &p, NULL, 0), CC_OK);
	EVP_PKEY *key = tc_key("P-256");
	static const struct fx_cert waiting = {
	    .ns = "shop", .name = "shop", .ikind = "ClusterIssuer", .iname = "le-prod",
	    .nb_ago = 90 * DAY - 20 * HOUR, .na_in = 20 * HOUR, .issuing = "True",
	    .issuing_reason = "DoesNotMatch", .issuing_msg = "dnsNames changed"};
	double risk[2];
	for (int full = 0; full < 2; full++) {
		struct store *st = store_new();
		world_healthy_issuer(st, "le-prod");
		add_cert(st, &waiting);
		for (int k = 0; k < (full ? 50 : 10); k++) {
			char name[32], sans[64];
			snprintf(name, sizeof name, "new-%d", k);
			snprintf(sans, sizeof sans, "DNS:host%d.example.com", k);
			add_issued(st, key, name, sans, 6 * DAY - k * 600);
		}
		struct bg_book *b = bg_new(p, 0, 0);
		struct scored *s = calloc(1, sizeof *s);
		struct sc_budget bd;
		store_rdlock(st);
		const struct rec_cert *c = store_cert_get(st, "shop", "shop");
		struct as_ctx *a = as_new(st, NULL, NOW);
		as_use_budgets(a, b);
		s->rc = as_score(a, c, &s->r, s->text, sizeof s->text);
		cr_expect_eq(as_budget(a, c, &bd, NULL, 0), 1);
		as_free(a);
		store_unlock(st);
		check_common(s, full ? "full" : "room");
		cr_expect_eq(bd.bd_queue, 1, "%s: no projection", full ? "full" : "room");
		if (full)
			cr_expect(bd.bd_slot == 0 || bd.bd_slot > NOW + 20 * HOUR,
			    "full: slot %lld before the deadline", (long long)bd.bd_slot);
		else
			cr_expect_eq(bd.bd_slot, NOW, "room: accepted now");
		risk[full] = s->r.r_risk;
		free(s);
		bg_free(b);
		store_free(st);
	}
	cr_expect(risk[1] > 0.9 && risk[0] < 0.5, "risk with room %g, with the budget full %g",
	    risk[0], risk[1]);
	EVP_PKEY_free(key);
	psl_free(p);
}

/* ---------------------------------------------------------------------------------------- */
/* What the executor needs from assess: annotation problems, last-action, original-issuer    */

/* The problems as_annotation_problems finds on f (decoded through a store). */
static size_t
problems_of(const struct fx_cert *f, struct as_annot_problem *out, size_t max, char *vals,
    size_t vlen)
{
	struct store *st = store_new();
	add_cert(st, f);
	store_rdlock(st);
	const struct rec_cert *c = store_cert_get(st, f->ns, f->name);
	cr_assert_not_null(c);
	size_t n = as_annotation_problems(c, NULL, out, max);
	/* the values are borrowed from the record: copy them out before it goes */
	size_t off = 0;
	vals[0] = '\0';
	for (size_t i = 0; i < n && i < max && off < vlen; i++)
		off += (size_t)snprintf(vals + off, vlen - off, "%s%s=%s", i ? "," : "",
		    out[i].ap_key, out[i].ap_value);
	store_unlock(st);
	store_free(st);
	return n;
}

struct prob_case {
	const char *name;
	const char *annots[FX_ANNOTS][2];
	const char *want; /* "key=value,..." with the certcast.io/ prefix, "" none */
	const char *why;  /* substring of the first problem's reason */
};

static const struct prob_case prob_cases[] = {
    /* every user annotation, good values */
    {"none", {{NULL}}, "", NULL},
    {"good values", {{"target-risk", "0.05"}, {"min-renew-before", "240h"},
	{"max-renew-before", "720h"}, {"mode", "enforce"}, {"fallback-issuer", "ClusterIssuer/backup"}},
	"", NULL},
    {"good, other spellings", {{"target-risk", "1e-3"}, {"min-renew-before", "0s"},
	{"max-renew-before", "0"}, {"mode", "off"}, {"fallback-issuer", "Issuer/a.b-c"}}, "", NULL},
    {"mode observe", {{"mode", "observe"}}, "", NULL},
    {"certcast's own annotations are not the user's", {{"risk", "abc"}, {"risk-level", "x"},
	{"last-action", "?"}, {"original-issuer", "?"}, {"original-renew-before", "x"}}, "", NULL},
    /* target-risk */
    {"target-risk abc", {{"target-risk", "abc"}}, "certcast.io/target-risk=abc", "probability"},
    {"target-risk 0", {{"target-risk", "0"}}, "certcast.io/target-risk=0", NULL},
    {"target-risk 1", {{"target-risk", "1"}}, "certcast.io/target-risk=1", NULL},
    {"target-risk 1.5", {{"target-risk", "1.5"}}, "certcast.io/target-risk=1.5", NULL},
    {"target-risk -0.1", {{"target-risk", "-0.1"}}, "certcast.io/target-risk=-0.1", NULL},
    {"target-risk with a blank", {{"target-risk", " 0.2"}}, "certcast.io/target-risk= 0.2", NULL},
    {"target-risk hex", {{"target-risk", "0x0.2p0"}}, "certcast.io/target-risk=0x0.2p0", NULL},
    {"target-risk empty", {{"target-risk", ""}}, "certcast.io/target-risk=", NULL},
    /* bounds */
    {"min-renew-before abc", {{"min-renew-before", "abc"}}, "certcast.io/min-renew-before=abc",
	"Go duration"},
    {"min-renew-before negative", {{"min-renew-before", "-5h"}},
	"certcast.io/min-renew-before=-5h", NULL},
    {"min-renew-before without a unit", {{"min-renew-before", "5"}},
	"certcast.io/min-renew-before=5", NULL},
    {"max-renew-before in days", {{"max-renew-before", "1d"}}, "certcast.io/max-renew-before=1d",
	"Go duration"},
    {"max below min", {{"min-renew-before", "3h"}, {"max-renew-before", "2h"}},
	"certcast.io/max-renew-before=2h", "below the minimum"},
    {"max equal to min", {{"min-renew-before", "3h"}, {"max-renew-before", "3h"}}, "", NULL},
    {"max above min", {{"min-renew-before", "3h"}, {"max-renew-before", "3h1s"}}, "", NULL},
    /* mode */
    {"mode ENFORCE", {{"mode", "ENFORCE"}}, "certcast.io/mode=ENFORCE", "observe, enforce or off"},
    {"mode empty", {{"mode", ""}}, "certcast.io/mode=", NULL},
    /* fallback */
    {"fallback of an unknown kind", {{"fallback-issuer", "Foo/x"}},
	"certcast.io/fallback-issuer=Foo/x", "Issuer/NAME or ClusterIssuer/NAME"},
    {"fallback without a name", {{"fallback-issuer", "ClusterIssuer/"}},
	"certcast.io/fallback-issuer=ClusterIssuer/", NULL},
    {"fallback with an upper-case name", {{"fallback-issuer", "Issuer/UPPER"}},
	"certcast.io/fallback-issuer=Issuer/UPPER", NULL},
    /* several: in a fixed order */
    {"three at once", {{"fallback-issuer", "Foo/x"}, {"mode", "on"}, {"target-risk", "abc"},
	{"min-renew-before", "1h"}},
	"certcast.io/target-risk=abc,certcast.io/mode=on,certcast.io/fallback-issuer=Foo/x", NULL},
};

Test(assess, annotation_problems)
{
	for (size_t i = 0; i < sizeof prob_cases / sizeof prob_cases[0]; i++) {
		const struct prob_case *k = &prob_cases[i];
		struct fx_cert f = fx_healthy;
		memcpy(f.annots, k->annots, sizeof f.annots);
		struct as_annot_problem pr[8];
		char vals[1024];
		size_t n = problems_of(&f, pr, 8, vals, sizeof vals);
		cr_expect_str_eq(vals, k->want, "%s: \"%s\", want \"%s\"", k->name, vals, k->want);
		size_t want_n = k->want[0] ? 1 : 0;
		for (const char *p = k->want; *p; p++)
			want_n += *p == ',';
		cr_expect_eq(n, want_n, "%s: %zu problems", k->name, n);
		for (size_t j = 0; j < n && j < 8; j++)
			cr_expect(pr[j].ap_why && pr[j].ap_why[0], "%s: no reason", k->name);
		if (k->why && n > 0)
			cr_expect(strstr(pr[0].ap_why, k->why) != NULL, "%s: why \"%s\"", k->name,
			    pr[0].ap_why);
	}
}

/* A reported value is exactly one scoring ignores: the score is as without it. */
Test(assess, annotation_problems_are_what_scoring_ignores)
{
	struct scored *none = calloc(1, sizeof *none), *got = calloc(1, sizeof *got);
	score_annot(&fx_late, NULL, NULL, NULL, none);
	cr_assert_eq(none->r.r_decision.d_rb, SC_RB_SET);
	const struct {
		const char *key, *value;
		int reported;
	} rows[] = {
	    {"target-risk", "abc", 1}, {"target-risk", "0.2", 0}, {"max-renew-before", "1d", 1},
	    {"max-renew-before", "1h", 0}, {"min-renew-before", "5", 1},
	    {"min-renew-before", "3h", 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct fx_cert f = fx_late;
		f.annots[0][0] = rows[i].key;
		f.annots[0][1] = rows[i].value;
		struct as_annot_problem pr[4];
		char vals[256];
		size_t n = problems_of(&f, pr, 4, vals, sizeof vals);
		cr_expect_eq(n, (size_t)rows[i].reported, "%s=%s: %zu problems", rows[i].key,
		    rows[i].value, n);
		score_annot(&fx_late, rows[i].key, rows[i].value, NULL, got);
		int same = got->r.r_decision.d_rb == none->r.r_decision.d_rb &&
			   got->r.r_decision.d_rb_value == none->r.r_decision.d_rb_value &&
			   got->r.r_predicted_failure == none->r.r_predicted_failure;
		cr_expect_eq(same, rows[i].reported, "%s=%s: reported %d, but ignored %d",
		    rows[i].key, rows[i].value, rows[i].reported, same);
	}
	free(none);
	free(got);
}

Test(assess, annotation_problems_past_max)
{
	struct fx_cert f = fx_healthy;
	f.annots[0][0] = "target-risk";
	f.annots[0][1] = "abc";
	f.annots[1][0] = "mode";
	f.annots[1][1] = "on";
	f.annots[2][0] = "fallback-issuer";
	f.annots[2][1] = "x";
	struct as_annot_problem pr[3];
	memset(pr, 0, sizeof pr);
	pr[1].ap_key = "sentinel";
	char vals[256];
	cr_expect_eq(problems_of(&f, pr, 1, vals, sizeof vals), 3, "the count goes past max");
	cr_expect_str_eq(pr[0].ap_key, "certcast.io/target-risk");
	cr_expect_str_eq(pr[1].ap_key, "sentinel", "written past max");
	cr_expect_eq(problems_of(&f, NULL, 0, vals, sizeof vals), 3, "counting with max 0");
}

/* "Below the minimum" is judged against the settings in force, not scoring's defaults. */
Test(assess, annotation_problems_against_the_controllers_minimum)
{
	struct fx_cert f = fx_healthy;
	f.annots[0][0] = "max-renew-before";
	f.annots[0][1] = "8m";
	struct store *st = store_new();
	add_cert(st, &f);
	store_rdlock(st);
	const struct rec_cert *c = store_cert_get(st, f.ns, f.name);
	cr_assert_not_null(c);
	struct sc_config base;
	sc_config_default(&base);
	struct as_annot_problem pr[2];
	cr_expect_eq(as_annotation_problems(c, &base, pr, 2), 0, "8m is above the default 5m");
	base.cf_min_renew_before = 600;
	cr_expect_eq(as_annotation_problems(c, &base, pr, 2), 1, "8m is below a 10m minimum");
	cr_expect_str_eq(pr[0].ap_key, "certcast.io/max-renew-before");
	store_unlock(st);
	store_free(st);
}

Test(assess, parse_last_action)
{
	const struct {
		const char *in;
		size_t actsz; /* 0: ample */
		int ok;
		const char *action;
		int64_t when;
	} rows[] = {
	    {"RenewBeforeAdjusted 2026-06-01T00:00:00Z: spec.renewBefore 2h0m0s", 0, 1,
		"RenewBeforeAdjusted", NOW},
	    {"ReissueTriggered 2026-06-01T00:00:00Z", 0, 1, "ReissueTriggered", NOW},
	    {"IssuerFailover 2026-06-01T02:00:00+02:00: spec.issuerRef ClusterIssuer/backup", 0, 1,
		"IssuerFailover", NOW},
	    {"IssuerRestored 2026-06-01T00:00:00.750Z: x: y", 0, 1, "IssuerRestored", NOW},
	    {"ReissueTriggered 2026-06-01T00:00:00Z", 17, 1, "ReissueTriggered", NOW},
	    {"ReissueTriggered 2026-06-01T00:00:00Z", 16, 0, NULL, 0},
	    {"RenewBeforeAdjusted yesterday: x", 0, 0, NULL, 0},
	    {"RenewBeforeAdjusted 2026-13-01T00:00:00Z: x", 0, 0, NULL, 0},
	    {"RenewBeforeAdjusted 2026-06-01T00:00:00Z:x", 0, 0, NULL, 0},
	    {"RenewBeforeAdjusted 2026-06-01 00:00:00Z", 0, 0, NULL, 0},
	    {"RenewBeforeAdjusted", 0, 0, NULL, 0},
	    {"RenewBeforeAdjusted ", 0, 0, NULL, 0},
	    {"RenewBeforeAdjusted : x", 0, 0, NULL, 0},
	    {" RenewBeforeAdjusted 2026-06-01T00:00:00Z", 0, 0, NULL, 0},
	    {" 2026-06-01T00:00:00Z", 0, 0, NULL, 0}, /* no action */
	    {"", 0, 0, NULL, 0},
	    {"A 2026-06-01T00:00:00Z0000000000000000000000000000000", 0, 0, NULL, 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char action[40];
		int64_t when = -1;
		size_t sz = rows[i].actsz ? rows[i].actsz : sizeof action;
		int ok = as_parse_last_action(rows[i].in, action, sz, &when);
		cr_expect_eq(ok, rows[i].ok, "\"%s\" (%zu): %d", rows[i].in, sz, ok);
		if (ok && rows[i].ok) {
			cr_expect_str_eq(action, rows[i].action, "\"%s\": action %s", rows[i].in,
			    action);
			cr_expect_eq(when, rows[i].when, "\"%s\": when %lld", rows[i].in,
			    (long long)when);
		}
	}
	char a[8];
	int64_t w;
	cr_expect_eq(as_parse_last_action(NULL, a, sizeof a, &w), 0, "NULL");
}

Test(assess, parse_issuer_ref_any)
{
	const struct {
		const char *in;
		size_t gsz, ksz, nsz; /* 0: ample */
		int ok;
		const char *group, *kind, *name;
	} rows[] = {
	    {"Issuer/x", 0, 0, 0, 1, "cert-manager.io", "Issuer", "x"},
	    {"ClusterIssuer/le-prod", 0, 0, 0, 1, "cert-manager.io", "ClusterIssuer", "le-prod"},
	    {"Kind.group.example/x", 0, 0, 0, 1, "group.example", "Kind", "x"},
	    {"AWSPCAClusterIssuer.awspca.cert-manager.io/pca", 0, 0, 0, 1, "awspca.cert-manager.io",
		"AWSPCAClusterIssuer", "pca"},
	    {"Issuer.cert-manager.io/a.b-c", 0, 0, 0, 1, "cert-manager.io", "Issuer", "a.b-c"},
	    {"Issuer2/x", 0, 0, 0, 1, "cert-manager.io", "Issuer2", "x"},
	    {"Issuer/x", 16, 7, 2, 1, "cert-manager.io", "Issuer", "x"}, /* exact fits */
	    {"Issuer/x", 15, 0, 0, 0, NULL, NULL, NULL},                /* group one short */
	    {"Issuer/x", 0, 6, 0, 0, NULL, NULL, NULL},                 /* kind one short */
	    {"Issuer/x", 0, 0, 1, 0, NULL, NULL, NULL},                 /* name one short */
	    {"Kind.ex.io/x", 6, 0, 0, 1, "ex.io", "Kind", "x"},
	    {"Kind.ex.io/x", 5, 0, 0, 0, NULL, NULL, NULL},
	    {"", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"x", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"/x", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Issuer/", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Issuer/UPPER", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Issuer/a_b", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Issuer/-x", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Issuer/a/b", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Iss-uer/x", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Iss_uer/x", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Is suer/x", 0, 0, 0, 0, NULL, NULL, NULL},
	    {".group.example/x", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Kind./x", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Kind.Group.Example/x", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Kind.group..example/x", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Kind.-group.example/x", 0, 0, 0, 0, NULL, NULL, NULL},
	    {"Kind.group_x.example/x", 0, 0, 0, 0, NULL, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char g[300], k[80], n[300];
		size_t gs = rows[i].gsz ? rows[i].gsz : sizeof g;
		size_t ks = rows[i].ksz ? rows[i].ksz : sizeof k;
		size_t ns = rows[i].nsz ? rows[i].nsz : sizeof n;
		memset(g, 'G', sizeof g);
		memset(k, 'K', sizeof k);
		memset(n, 'N', sizeof n);
		int ok = as_parse_issuer_ref_any(rows[i].in, g, gs, k, ks, n, ns);
		cr_expect_eq(ok, rows[i].ok, "\"%s\" (%zu, %zu, %zu): %d", rows[i].in, gs, ks, ns,
		    ok);
		if (ok && rows[i].ok) {
			cr_expect_str_eq(g, rows[i].group, "\"%s\": group %s", rows[i].in, g);
			cr_expect_str_eq(k, rows[i].kind, "\"%s\": kind %s", rows[i].in, k);
			cr_expect_str_eq(n, rows[i].name, "\"%s\": name %s", rows[i].in, n);
		}
		for (size_t q = gs; q < sizeof g; q++)
			cr_expect_eq(g[q], 'G', "\"%s\": group written past %zu", rows[i].in, gs);
		for (size_t q = ks; q < sizeof k; q++)
			cr_expect_eq(k[q], 'K', "\"%s\": kind written past %zu", rows[i].in, ks);
		for (size_t q = ns; q < sizeof n; q++)
			cr_expect_eq(n[q], 'N', "\"%s\": name written past %zu", rows[i].in, ns);
	}
	char g[32], k[32], n[32];
	cr_expect_eq(as_parse_issuer_ref_any(NULL, g, sizeof g, k, sizeof k, n, sizeof n), 0);
	cr_expect_eq(as_parse_issuer_ref_any("Issuer/x", g, 0, k, sizeof k, n, sizeof n), 0);
	cr_expect_eq(as_parse_issuer_ref_any("Issuer/x", g, sizeof g, k, 0, n, sizeof n), 0);
	cr_expect_eq(as_parse_issuer_ref_any("Issuer/x", g, sizeof g, k, sizeof k, n, 0), 0);
}

/*
 * Failed over by certcast: the certificate is on its fallback, and certcast.io/original-issuer
 * names the primary it left. Scoring sees the primary's health through it (fb_other) and
 * restores once the primary has been healthy for cf_failover_restore_after (24h).
 */
static struct store *
failed_over_store(const char *original, const char *primary_ready, int64_t fail_ago)
{
	struct store *st = store_new();
	/* the fallback, healthy, with the certificate on it */
	add_issuer(st, NULL, "backup", "True", "ACMEAccountRegistered", "registered");
	add_peers(st, "web", "backup", 3, 1, NULL);
	/* the primary: its peers failed fail_ago ago; successes after it unless it still fails */
	add_issuer(st, NULL, "le-prod", primary_ready, primary_ready[0] == 'T' ? "Registered" : "Err",
	    "x");
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof name, "prim-%d", i);
		struct fx_cert p = {
		    .ns = "web", .name = name, .ikind = "ClusterIssuer", .iname = "le-prod",
		    .nb_ago = 10 * DAY, .na_in = 80 * DAY,
		    .crs = {{CR_FAILED, fail_ago + i * MIN, outage_msg}},
		};
		if (primary_ready[0] == 'T') {
			p.crs[1] = (struct fx_cr){CR_ISSUED, 2 * HOUR + i * MIN, NULL};
			p.crs[2] = (struct fx_cr){CR_ISSUED, 3 * HOUR + i * MIN, NULL};
			p.crs[3] = (struct fx_cr){CR_ISSUED, 4 * HOUR + i * MIN, NULL};
		}
		add_cert(st, &p);
	}
	struct fx_cert f = {
	    .ns = "shop", .name = "shop", .ikind = "ClusterIssuer", .iname = "backup",
	    .nb_ago = 5 * DAY, .na_in = 85 * DAY,
	    .annots = {{"fallback-issuer", "ClusterIssuer/backup"}},
	    .crs = {{CR_ISSUED, 5 * DAY, NULL}},
	};
	if (original) {
		f.annots[1][0] = "original-issuer";
		f.annots[1][1] = original;
	}
	add_cert(st, &f);
	return st;
}

Test(assess, original_issuer_brings_the_primary_back)
{
	const struct {
		const char *name;
		const char *original;
		const char *ready;
		int64_t fail_ago;
		enum sc_failover_action want;
	} rows[] = {
	    {"primary healthy for 30h", "ClusterIssuer/le-prod", "True", 30 * HOUR, SC_FO_RESTORE},
	    {"primary healthy for 25h", "ClusterIssuer/le-prod", "True", 25 * HOUR, SC_FO_RESTORE},
	    {"primary healthy for 10h only", "ClusterIssuer/le-prod", "True", 10 * HOUR, SC_FO_NONE},
	    {"primary still failing", "ClusterIssuer/le-prod", "False", 20 * MIN, SC_FO_NONE},
	    {"no original-issuer: the primary is unknown", NULL, "True", 30 * HOUR, SC_FO_NONE},
	    {"original-issuer malformed", "le-prod", "True", 30 * HOUR, SC_FO_NONE},
	    {"original-issuer not in the store", "ClusterIssuer/gone", "True", 30 * HOUR,
		SC_FO_NONE},
	    {"original-issuer is the fallback itself", "ClusterIssuer/backup", "True", 30 * HOUR,
		SC_FO_NONE},
	};
	struct scored *s = calloc(1, sizeof *s);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct store *st = failed_over_store(rows[i].original, rows[i].ready, rows[i].fail_ago);
		score(st, "shop", "shop", s);
		check_common(s, rows[i].name);
		cr_expect_eq(s->r.r_decision.d_failover, rows[i].want, "%s: failover %d, want %d\n%s",
		    rows[i].name, (int)s->r.r_decision.d_failover, (int)rows[i].want, s->text);
		if (rows[i].want == SC_FO_RESTORE)
			cr_expect(strstr(s->text, "restore the primary issuer") != NULL, "%s: %s",
			    rows[i].name, s->text);
		store_free(st);
	}
	free(s);
}

/* The executor's memory (as_use_state) reaches the decision, after the annotations. */
static int state_calls;
static int64_t state_now;
static int64_t state_last_change;
static int64_t state_seen_failover; /* st_last_failover as the annotations left it */

static void
state_fn(void *arg, const struct rec_cert *c, int64_t now, struct sc_state *st)
{
	(void)arg;
	cr_expect_str_eq(c->c_meta.m_name, "shop");
	state_calls++;
	state_now = now;
	state_seen_failover = st->st_last_failover;
	if (state_last_change)
		st->st_last_change = state_last_change;
}

Test(assess, state_hook_and_last_action_reach_the_decision)
{
	char recent[128], old[128], ts_recent[40], ts_old[40];
	iso(NOW - MIN, ts_recent, sizeof ts_recent);
	iso(NOW - 7 * HOUR, ts_old, sizeof ts_old);
	snprintf(recent, sizeof recent, "RenewBeforeAdjusted %s: spec.renewBefore 2h0m0s",
	    ts_recent);
	snprintf(old, sizeof old, "RenewBeforeAdjusted %s: spec.renewBefore 2h0m0s", ts_old);
	char failover[128];
	snprintf(failover, sizeof failover, "IssuerFailover %s: spec.issuerRef Issuer/x", ts_recent);
	const struct {
		const char *name;
		const char *last_action; /* NULL: none */
		int64_t memory;          /* what the hook says, 0: nothing */
		enum sc_rb_action want;
	} rows[] = {
	    {"nothing before", NULL, 0, SC_RB_SET},
	    {"a change a minute ago in last-action", recent, 0, SC_RB_LEAVE},
	    {"a change 7h ago in last-action", old, 0, SC_RB_SET},
	    {"a failover a minute ago is no renewBefore change", failover, 0, SC_RB_SET},
	    {"a malformed last-action", "RenewBeforeAdjusted soon", 0, SC_RB_SET},
	    {"the memory: a change a minute ago", NULL, NOW - MIN, SC_RB_LEAVE},
	    {"the memory: a change 7h ago", NULL, NOW - 7 * HOUR, SC_RB_SET},
	    {"the memory wins over an older last-action", old, NOW - MIN, SC_RB_LEAVE},
	};
	struct scored *s = calloc(1, sizeof *s);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct store *st = store_new();
		world_healthy_issuer(st, "le-prod");
		struct fx_cert f = fx_late;
		if (rows[i].last_action) {
			f.annots[0][0] = "last-action";
			f.annots[0][1] = rows[i].last_action;
		}
		add_cert(st, &f);
		state_calls = 0;
		state_now = 0;
		state_last_change = rows[i].memory;
		store_rdlock(st);
		const struct rec_cert *c = store_cert_get(st, "shop", "shop");
		struct as_ctx *a = as_new(st, NULL, NOW);
		as_use_state(a, state_fn, NULL);
		s->rc = as_score(a, c, &s->r, s->text, sizeof s->text);
		as_free(a);
		store_unlock(st);
		cr_expect_eq(state_calls, 1, "%s: hook called %d times", rows[i].name, state_calls);
		cr_expect_eq(state_now, NOW, "%s: hook's now", rows[i].name);
		cr_expect_eq(state_seen_failover, rows[i].last_action == failover ? NOW - MIN : 0,
		    "%s: the failover's time from last-action", rows[i].name);
		cr_expect_eq(s->r.r_decision.d_rb, rows[i].want, "%s: renewBefore %d, want %d\n%s",
		    rows[i].name, (int)s->r.r_decision.d_rb, (int)rows[i].want, s->text);
		store_free(st);
	}
	free(s);
}
