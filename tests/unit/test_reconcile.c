/* Tests for reconcile: per-certificate gauges follow the store (appear, change, move, vanish). */
#include "cc_err.h"
#include "explain_fmt.h"
#include "model.h"
#include "scoring.h"
#include "log.h"
#include "metrics.h"
#include "reconcile.h"
#include "records.h"
#include "resource.h"
#include "signals.h"
#include "status.h"
#include "store.h"
#include "testcert.h"

#include <openssl/x509.h>
#include <stdlib.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
quiet(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
}

TestSuite(reconcile, .init = quiet);

static const struct res_desc *
cert_desc(void)
{
	return &res_table()[0];
}

/* A Certificate; renew_before and not_after may be NULL. */
static void
put_cert(struct store *st, enum store_event ev, const char *ns, const char *name,
    const char *ikind, const char *iname, const char *not_before, const char *not_after,
    const char *renew_before, const char *rv)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "namespace", ns);
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "resourceVersion", rv);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "secretName", name);
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", iname);
	cJSON_AddStringToObject(ir, "kind", ikind);
	if (renew_before)
		cJSON_AddStringToObject(spec, "renewBefore", renew_before);
	cJSON *sts = cJSON_AddObjectToObject(o, "status");
	if (not_before)
		cJSON_AddStringToObject(sts, "notBefore", not_before);
	if (not_after)
		cJSON_AddStringToObject(sts, "notAfter", not_after);
	char err[256] = "";
	cr_assert_eq(store_apply(st, cert_desc(), ev, o, err, sizeof err), CC_OK, "%s", err);
	cJSON_Delete(o);
}

static int
gauge(struct met_family *f, const char *ns, const char *name, const char *ik, const char *in,
    double *v)
{
	return met_value(f, MET_CERT_LABELS(ns, name, ik, in), v);
}

struct fixture {
	struct store *st;
	struct met_registry *reg;
	struct met_std ms;
	struct recon *rc;
};

static void
fx_init(struct fixture *f)
{
	f->st = store_new();
	f->reg = met_registry_new();
	cr_assert_eq(met_std_register(f->reg, "t", &f->ms), CC_OK);
	struct recon_opts o = {f->st, &f->ms};
	f->rc = recon_new(&o);
}

static void
fx_fini(struct fixture *f)
{
	recon_free(f->rc);
	met_registry_free(f->reg);
	store_free(f->st);
}

Test(reconcile, series_follow_the_certificate)
{
	struct fixture f;
	fx_init(&f);
	double v = 0;

	/* Appear. */
	put_cert(f.st, STORE_ADDED, "shop", "web", "Issuer", "ca", "2026-01-01T00:00:00Z",
	    "2026-04-01T00:00:00Z", "720h", "1");
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_expect_eq(gauge(f.ms.ms_cert_expiry, "shop", "web", "Issuer", "ca", &v), CC_OK);
	cr_expect_eq(v, 1775001600.0, "notAfter 2026-04-01T00:00:00Z");
	cr_expect_eq(gauge(f.ms.ms_cert_renew_before, "shop", "web", "Issuer", "ca", &v), CC_OK);
	cr_expect_eq(v, 720 * 3600.0);
	cr_expect_eq(recon_tracked(f.rc), 1);

	/* Idempotent. */
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_expect_eq(met_series_count(f.ms.ms_cert_expiry), 1);

	/* Change. */
	put_cert(f.st, STORE_MODIFIED, "shop", "web", "Issuer", "ca", "2026-03-01T00:00:00Z",
	    "2026-06-01T00:00:00Z", NULL, "2");
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_expect_eq(gauge(f.ms.ms_cert_expiry, "shop", "web", "Issuer", "ca", &v), CC_OK);
	cr_expect_eq(v, 1780272000.0, "notAfter 2026-06-01T00:00:00Z");
	cr_expect_eq(gauge(f.ms.ms_cert_renew_before, "shop", "web", "Issuer", "ca", &v), CC_OK);
	cr_expect_eq(v, (1780272000.0 - 1772323200.0) / 3, "a third of the lifetime by default");

	/* Move to another issuer: the old series goes, only the new one stays. */
	put_cert(f.st, STORE_MODIFIED, "shop", "web", "ClusterIssuer", "le", "2026-03-01T00:00:00Z",
	    "2026-06-01T00:00:00Z", NULL, "3");
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_expect_eq(gauge(f.ms.ms_cert_expiry, "shop", "web", "Issuer", "ca", &v), CC_ERR_NOTFOUND);
	cr_expect_eq(gauge(f.ms.ms_cert_expiry, "shop", "web", "ClusterIssuer", "le", &v), CC_OK);
	cr_expect_eq(met_series_count(f.ms.ms_cert_expiry), 1);
	cr_expect_eq(met_series_count(f.ms.ms_cert_renew_before), 1);

	/* Lose notAfter (reissued from scratch): expiry goes, renew_before stays. */
	put_cert(f.st, STORE_MODIFIED, "shop", "web", "ClusterIssuer", "le", NULL, NULL, "1h", "4");
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_expect_eq(met_series_count(f.ms.ms_cert_expiry), 0);
	cr_expect_eq(gauge(f.ms.ms_cert_renew_before, "shop", "web", "ClusterIssuer", "le", &v),
	    CC_OK);
	cr_expect_eq(v, 3600.0);

	/* Vanish. */
	put_cert(f.st, STORE_DELETED, "shop", "web", "ClusterIssuer", "le", NULL, NULL, NULL, "5");
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_expect_eq(met_series_count(f.ms.ms_cert_expiry), 0);
	cr_expect_eq(met_series_count(f.ms.ms_cert_renew_before), 0);
	cr_expect_eq(recon_tracked(f.rc), 0);

	/* A key that never existed is fine and creates nothing. */
	cr_expect_eq(recon_key(f.rc, "shop/never"), CC_OK);
	cr_expect_eq(recon_tracked(f.rc), 0);
	fx_fini(&f);
}

Test(reconcile, many_certificates)
{
	struct fixture f;
	fx_init(&f);
	char name[32], key[64];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "c%d", i);
		put_cert(f.st, STORE_ADDED, i % 2 ? "a" : "b", name, "Issuer", "ca",
		    "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z", NULL, "1");
		snprintf(key, sizeof key, "%s/%s", i % 2 ? "a" : "b", name);
		cr_assert_eq(recon_key(f.rc, key), CC_OK);
	}
	cr_expect_eq(recon_tracked(f.rc), 300);
	cr_expect_eq(met_series_count(f.ms.ms_cert_expiry), 300);
	for (int i = 0; i < 300; i += 3) {
		snprintf(name, sizeof name, "c%d", i);
		put_cert(f.st, STORE_DELETED, i % 2 ? "a" : "b", name, "Issuer", "ca", NULL, NULL, NULL,
		    "2");
		snprintf(key, sizeof key, "%s/%s", i % 2 ? "a" : "b", name);
		cr_assert_eq(recon_key(f.rc, key), CC_OK);
	}
	cr_expect_eq(recon_tracked(f.rc), 200);
	cr_expect_eq(met_series_count(f.ms.ms_cert_expiry), 200);
	fx_fini(&f);
}

Test(reconcile, malformed_keys)
{
	struct fixture f;
	fx_init(&f);
	const char *bad[] = {"", "noslash", "/name", "ns/", "a/b/c"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(recon_key(f.rc, bad[i]), CC_ERR_INVAL, "\"%s\"", bad[i]);
	cr_expect_eq(recon_key(f.rc, NULL), CC_ERR_INVAL);
	fx_fini(&f);
}

Test(reconcile, no_metrics_is_fine)
{
	struct store *st = store_new();
	struct recon_opts o = {st, NULL};
	struct recon *rc = recon_new(&o);
	put_cert(st, STORE_ADDED, "n", "c", "Issuer", "ca", NULL, "2026-04-01T00:00:00Z", NULL, "1");
	cr_expect_eq(recon_key(rc, "n/c"), CC_OK);
	recon_free(rc);
	recon_free(NULL);
	store_free(st);
}

struct rb_case {
	const char *rb_name;
	int has_rb;
	int64_t rb;
	int has_pct;
	int pct;
	int64_t nb, na;     /* notBefore/notAfter, 0 for absent */
	int has_dur;
	int64_t dur;
	int64_t want;
};

Test(reconcile, effective_renew_before)
{
	static const struct rb_case cases[] = {
	    {"explicit", 1, 3600, 0, 0, 1000, 1000 + 90 * 86400, 0, 0, 3600},
	    {"explicit beats percentage", 1, 600, 1, 50, 0, 0, 0, 0, 600},
	    {"percentage of actual lifetime", 0, 0, 1, 25, 100000, 500000, 0, 0, 100000},
	    {"percentage of spec.duration", 0, 0, 1, 50, 0, 0, 1, 7200, 3600},
	    {"third of actual lifetime", 0, 0, 0, 0, 100, 300100, 1, 999, 100000},
	    {"notBefore missing: spec.duration", 0, 0, 0, 0, 0, 300000, 1, 999, 333},
	    {"third of spec.duration", 0, 0, 0, 0, 0, 0, 1, 3000, 1000},
	    {"third of 90 days", 0, 0, 0, 0, 0, 0, 0, 0, 30 * 86400},
	    {"notAfter before notBefore ignored", 0, 0, 0, 0, 500, 100, 1, 300, 100},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct rb_case *c = &cases[i];
		struct rec_cert rc;
		memset(&rc, 0, sizeof rc);
		rc.c_has_renew_before = c->has_rb;
		rc.c_renew_before = c->rb;
		rc.c_has_renew_pct = c->has_pct;
		rc.c_renew_pct = c->pct;
		rc.c_not_before = c->nb;
		rc.c_not_after = c->na;
		rc.c_has_duration = c->has_dur;
		rc.c_duration = c->dur;
		int64_t got = recon_effective_renew_before(&rc);
		cr_expect_eq(got, c->want, "%s: got %lld want %lld", c->rb_name, (long long)got,
		    (long long)c->want);
	}
}

/* 2026-03-31T22:00:00Z: two hours before the test certificate's notAfter of 2026-04-01. */
static int64_t
late_clock(void)
{
	return 1774994400LL;
}

/* 2026-01-02T00:00:00Z: a day after its notBefore. */
static int64_t
early_clock(void)
{
	return 1767312000LL;
}

static void
risk_at(int64_t (*clock)(void), double *risk, double *level, int *has_pf, double *issuer_fail,
    size_t *series)
{
	struct fixture f;
	f.st = store_new();
	f.reg = met_registry_new();
	cr_assert_eq(met_std_register(f.reg, "t", &f.ms), CC_OK);
	struct recon_opts o = {f.st, &f.ms, NULL, clock};
	f.rc = recon_new(&o);
	/* cert-manager scheduled the renewal for 2026-03-02 (a third of 90 days before notAfter) */
	cJSON *obj = cJSON_Parse("{\"metadata\":{\"namespace\":\"shop\",\"name\":\"web\","
			       "\"resourceVersion\":\"1\"},\"spec\":{\"secretName\":\"web\","
			       "\"issuerRef\":{\"name\":\"ca\",\"kind\":\"Issuer\"}},"
			       "\"status\":{\"notBefore\":\"2026-01-01T00:00:00Z\","
			       "\"notAfter\":\"2026-04-01T00:00:00Z\","
			       "\"renewalTime\":\"2026-03-02T00:00:00Z\"}}");
	char err[256] = "";
	cr_assert_eq(store_apply(f.st, cert_desc(), STORE_ADDED, obj, err, sizeof err), CC_OK, "%s",
	    err);
	cJSON_Delete(obj);
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_assert_eq(gauge(f.ms.ms_cert_risk, "shop", "web", "Issuer", "ca", risk), CC_OK);
	cr_assert_eq(gauge(f.ms.ms_cert_risk_level, "shop", "web", "Issuer", "ca", level), CC_OK);
	double pf;
	*has_pf = gauge(f.ms.ms_cert_predicted_failure, "shop", "web", "Issuer", "ca", &pf) == CC_OK;
	const char *const il[] = {"Issuer", "ca"};
	cr_assert_eq(met_value(f.ms.ms_issuer_failure_prob, il, issuer_fail), CC_OK);
	/* the certificate goes: every per-certificate series goes with it */
	put_cert(f.st, STORE_DELETED, "shop", "web", "Issuer", "ca", NULL, NULL, NULL, "2");
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	*series = met_series_count(f.ms.ms_cert_risk) + met_series_count(f.ms.ms_cert_risk_level) +
	    met_series_count(f.ms.ms_cert_predicted_failure);
	fx_fini(&f);
}

/*
 * The risk gauges come from scoring: a certificate a day into its life is low risk with no
 * predicted failure; the same one two hours before notAfter, with no attempt at all although
 * cert-manager's renewal time passed a month ago (cert-manager is not renewing it), is critical
 * with a predicted failure.
 */
Test(reconcile, risk_gauges_follow_scoring)
{
	double risk_e, level_e, risk_l, level_l, fail_e, fail_l;
	int pf_e, pf_l;
	size_t left_e, left_l;
	risk_at(early_clock, &risk_e, &level_e, &pf_e, &fail_e, &left_e);
	risk_at(late_clock, &risk_l, &level_l, &pf_l, &fail_l, &left_l);
	cr_expect(risk_e >= 0.0 && risk_e <= 1.0 && risk_l >= 0.0 && risk_l <= 1.0);
	cr_expect_eq(level_e, 0.0, "a day after issuance: low (risk %g)", risk_e);
	cr_expect(!pf_e, "no predicted failure early");
	cr_expect_eq(level_l, 3.0, "two hours left, not renewed: critical (risk %g)", risk_l);
	cr_expect(risk_l > risk_e);
	cr_expect(pf_l, "a predicted failure late");
	cr_expect(fail_e > 0.0 && fail_e < 1.0, "the issuer's estimate is a probability: %g", fail_e);
	cr_expect_eq(left_e, 0);
	cr_expect_eq(left_l, 0);
}

/* A CertificateRequest for shop/web issued with a certificate for key kind (base64 of PEM). */
static void
put_issued_cr(struct store *st, const char *name, const char *uid, const char *kind,
    const char *created)
{
	EVP_PKEY *k = tc_key(kind);
	struct tc_spec sp = {"shop CA", "web.shop.example", "DNS:web.shop.example", 1767225600,
	    1767225600 + 90 * 86400, EVP_sha256(), 0, 3};
	X509 *x = tc_cert(k, k, &sp);
	size_t plen, blen;
	char *pem = tc_pem(&x, 1, &plen), *b64 = tc_b64(pem, plen, &blen);
	cJSON *o = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "namespace", "shop");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "uid", uid);
	cJSON_AddStringToObject(md, "resourceVersion", "1");
	cJSON_AddStringToObject(md, "creationTimestamp", created);
	cJSON *an = cJSON_AddObjectToObject(md, "annotations");
	cJSON_AddStringToObject(an, "cert-manager.io/certificate-name", "web");
	cJSON_AddStringToObject(an, "cert-manager.io/certificate-revision", "1");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "request", "");
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", "ca");
	cJSON_AddStringToObject(ir, "kind", "Issuer");
	cJSON *sts = cJSON_AddObjectToObject(o, "status");
	cJSON_AddStringToObject(sts, "certificate", b64);
	char err[256] = "";
	const struct res_desc *d = NULL;
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == RES_CERTIFICATEREQUEST)
			d = &res_table()[i];
	cr_assert_eq(store_apply(st, d, STORE_ADDED, o, err, sizeof err), CC_OK, "%s", err);
	cJSON_Delete(o);
	free(pem);
	free(b64);
	X509_free(x);
	EVP_PKEY_free(k);
}

/*
 * The controller's streaming anomaly detector: a request whose issued certificate has a
 * 1024-bit RSA key counts one weak-key in certcast_anomalies_total, once however often the
 * certificate is reconciled (a resync finds nothing new); a newer request with a sound key
 * adds nothing.
 */
Test(reconcile, anomalies_are_counted_once)
{
	struct fixture f;
	fx_init(&f);
	double v = 0;
	const char *const weak[] = {"weak-key"};
	put_cert(f.st, STORE_ADDED, "shop", "web", "Issuer", "ca", "2026-01-01T00:00:00Z",
	    "2026-04-01T00:00:00Z", NULL, "1");
	put_issued_cr(f.st, "web-1", "uid-1", "rsa1024", "2026-01-01T00:00:00Z");
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_expect_eq(met_value(f.ms.ms_anomalies, weak, &v), CC_OK, "weak-key counted");
	cr_expect_eq(v, 1.0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_expect_eq(met_value(f.ms.ms_anomalies, weak, &v), CC_OK);
	cr_expect_eq(v, 1.0, "resyncs count nothing again (%g)", v);
	put_issued_cr(f.st, "web-2", "uid-2", "P-256", "2026-02-01T00:00:00Z");
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_expect_eq(met_value(f.ms.ms_anomalies, weak, &v), CC_OK);
	cr_expect_eq(v, 1.0, "a sound key adds no weak-key (%g)", v);
	fx_fini(&f);
}

/* The issuer's failure-probability series lives as long as some certificate uses the issuer. */
Test(reconcile, issuer_series_follow_their_certificates)
{
	struct fixture f;
	fx_init(&f);
	double v;
	const char *const ca[] = {"Issuer", "ca"}, *const le[] = {"ClusterIssuer", "le"};
	put_cert(f.st, STORE_ADDED, "shop", "a", "Issuer", "ca", "2026-01-01T00:00:00Z",
	    "2026-04-01T00:00:00Z", NULL, "1");
	put_cert(f.st, STORE_ADDED, "shop", "b", "Issuer", "ca", "2026-01-01T00:00:00Z",
	    "2026-04-01T00:00:00Z", NULL, "1");
	cr_assert_eq(recon_key(f.rc, "shop/a"), CC_OK);
	cr_assert_eq(recon_key(f.rc, "shop/b"), CC_OK);
	cr_expect_eq(met_value(f.ms.ms_issuer_failure_prob, ca, &v), CC_OK);
	/* a moves to another issuer: both issuers have a series */
	put_cert(f.st, STORE_MODIFIED, "shop", "a", "ClusterIssuer", "le", "2026-01-01T00:00:00Z",
	    "2026-04-01T00:00:00Z", NULL, "2");
	cr_assert_eq(recon_key(f.rc, "shop/a"), CC_OK);
	cr_expect_eq(met_value(f.ms.ms_issuer_failure_prob, ca, &v), CC_OK, "b still uses ca");
	cr_expect_eq(met_value(f.ms.ms_issuer_failure_prob, le, &v), CC_OK);
	/* b goes: ca has no certificate left, its series goes */
	put_cert(f.st, STORE_DELETED, "shop", "b", "Issuer", "ca", NULL, NULL, NULL, "3");
	cr_assert_eq(recon_key(f.rc, "shop/b"), CC_OK);
	cr_expect_eq(met_value(f.ms.ms_issuer_failure_prob, ca, &v), CC_ERR_NOTFOUND);
	cr_expect_eq(met_value(f.ms.ms_issuer_failure_prob, le, &v), CC_OK);
	put_cert(f.st, STORE_DELETED, "shop", "a", "ClusterIssuer", "le", NULL, NULL, NULL, "4");
	cr_assert_eq(recon_key(f.rc, "shop/a"), CC_OK);
	cr_expect_eq(met_series_count(f.ms.ms_issuer_failure_prob), 0);
	fx_fini(&f);
}

/* ---- live signals ---- */

#define SIG_NOW 1773532800LL /* 2026-03-15T00:00:00Z */

static int64_t
sig_clock(void)
{
	return SIG_NOW;
}

/* An ACME ClusterIssuer whose server is on host acme.example. */
static void
put_acme_clusterissuer(struct store *st, const char *name)
{
	const struct res_desc *d = NULL;
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == RES_CLUSTERISSUER)
			d = &res_table()[i];
	cr_assert_not_null(d);
	cJSON *o = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "resourceVersion", "1");
	cJSON *acme = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "acme");
	cJSON_AddStringToObject(acme, "server", "https://acme.example/directory");
	char err[256] = "";
	cr_assert_eq(store_apply(st, d, STORE_ADDED, o, err, sizeof err), CC_OK, "%s", err);
	cJSON_Delete(o);
}

/* One scrape of pod "cm" at t: cumulative requests and 5xx for acme.example. */
static void
scrape_at(struct sig_state *sig, int64_t t, double req, double s5xx)
{
	struct sig_scrape sc;
	memset(&sc, 0, sizeof sc);
	sc.ss_n = 1;
	snprintf(sc.ss_hosts[0].st_host, sizeof sc.ss_hosts[0].st_host, "acme.example");
	sc.ss_hosts[0].st_requests = req;
	sc.ss_hosts[0].st_5xx = s5xx;
	sig_record(sig, "cm", &sc, 1, t);
}

/*
 * The issuer's failure probability and the certificate's risk follow the live signals of the
 * issuer's ACME host: 5xx answers raise them, a healthy window brings them back.
 */
Test(reconcile, signals_move_the_issuer_gauge)
{
	struct fixture f;
	f.st = store_new();
	f.reg = met_registry_new();
	cr_assert_eq(met_std_register(f.reg, "t", &f.ms), CC_OK);
	struct sig_state *sig = sig_new(600);
	struct recon_opts o = {f.st, &f.ms, NULL, sig_clock};
	o.ro_signals = sig;
	f.rc = recon_new(&o);
	put_acme_clusterissuer(f.st, "le");
	put_cert(f.st, STORE_ADDED, "shop", "web", "ClusterIssuer", "le", "2026-01-01T00:00:00Z",
	    "2026-04-01T00:00:00Z", NULL, "1");
	const char *const le[] = {"ClusterIssuer", "le"};
	double calm = 0, failing = 0, again = 0, risk_calm = 0, risk_failing = 0;

	/* healthy traffic: 200 requests, no errors */
	scrape_at(sig, SIG_NOW - 120, 0, 0);
	scrape_at(sig, SIG_NOW - 60, 200, 0);
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_assert_eq(met_value(f.ms.ms_issuer_failure_prob, le, &calm), CC_OK);
	cr_assert_eq(gauge(f.ms.ms_cert_risk, "shop", "web", "ClusterIssuer", "le", &risk_calm),
	    CC_OK);

	/* the next 100 requests all answered 503 */
	scrape_at(sig, SIG_NOW, 300, 100);
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	cr_assert_eq(met_value(f.ms.ms_issuer_failure_prob, le, &failing), CC_OK);
	cr_assert_eq(gauge(f.ms.ms_cert_risk, "shop", "web", "ClusterIssuer", "le", &risk_failing),
	    CC_OK);
	cr_expect(failing > 2 * calm, "5xx must raise the issuer's probability: %g -> %g", calm,
	    failing);
	cr_expect(risk_failing >= risk_calm, "risk %g -> %g", risk_calm, risk_failing);

	/* no signals at all: the gauge is the history's estimate, as before signals existed */
	struct recon_opts o2 = {f.st, &f.ms, NULL, sig_clock};
	struct recon *plain = recon_new(&o2);
	cr_assert_eq(recon_key(plain, "shop/web"), CC_OK);
	cr_assert_eq(met_value(f.ms.ms_issuer_failure_prob, le, &again), CC_OK);
	cr_expect(again < failing, "%g vs %g", again, failing);
	recon_free(plain);

	fx_fini(&f);
	sig_free(sig);
}

/*
 * A reconciler with every input the controller gives it (strict settings, live signals, a
 * learned model) and one ACME certificate with an issued request (rsa1024: an anomaly to keep),
 * for the tests that compare what is asked on demand with what the reconcile published.
 */
static void
fx_live(struct fixture *f, struct sc_config *strict, struct sig_state **sig, struct mdl **model)
{
	f->st = store_new();
	f->reg = met_registry_new();
	cr_assert_eq(met_std_register(f->reg, "t", &f->ms), CC_OK);
	*sig = sig_new(600);
	*model = mdl_new(0);
	sc_config_default(strict);
	strict->cf_target_risk = 1e-9;
	struct recon_opts o = {f->st, &f->ms, strict, sig_clock};
	o.ro_signals = *sig;
	o.ro_model = *model;
	f->rc = recon_new(&o);
	put_acme_clusterissuer(f->st, "le");
	put_cert(f->st, STORE_ADDED, "shop", "web", "ClusterIssuer", "le", "2026-01-01T00:00:00Z",
	    "2026-03-20T00:00:00Z", NULL, "1");
	put_issued_cr(f->st, "web-1", "uid-1", "rsa1024", "2026-01-01T00:00:00Z");
}

/* ---- explanations ---- */

/*
 * recon_explain scores with what the reconcile scored with: at the same instant its risk is the
 * gauge's to the last bit, with the live signals, the learned model and the settings taking
 * part, and the anomalies the reconcile kept, which it neither counts nor observes again.
 */
Test(reconcile, explain_is_the_published_number)
{
	struct fixture f;
	struct sig_state *sig;
	struct mdl *model;
	struct sc_config strict;
	fx_live(&f, &strict, &sig, &model);
	scrape_at(sig, SIG_NOW - 120, 0, 0);
	scrape_at(sig, SIG_NOW - 60, 200, 0);
	scrape_at(sig, SIG_NOW, 300, 90); /* 5xx answers: the signals move the risk */
	cr_assert_eq(recon_key(f.rc, "shop/web"), CC_OK);
	double risk = -1, level = -1, weak = 0;
	cr_assert_eq(gauge(f.ms.ms_cert_risk, "shop", "web", "ClusterIssuer", "le", &risk), CC_OK);
	cr_assert_eq(gauge(f.ms.ms_cert_risk_level, "shop", "web", "ClusterIssuer", "le", &level),
	    CC_OK);

	struct xf_explanation *x = malloc(sizeof *x);
	cr_assert_eq(recon_explain(f.rc, "shop", "web", x), CC_OK);
	cr_expect_eq(x->xe_rc, SC_OK);
	cr_expect_eq(x->xe_res.r_risk, risk, "explained %.17g, published %.17g", x->xe_res.r_risk,
	    risk);
	cr_expect_eq((double)x->xe_res.r_level, level);
	cr_expect(x->xe_has_model, "the learned model took part");
	cr_expect(strstr(x->xe_text, "weak-key"), "the kept anomaly is explained:\n%s", x->xe_text);
	cr_expect(strstr(x->xe_text, "cert-manager") || strstr(x->xe_text, "5xx") ||
		strstr(x->xe_text, "signals"),
	    "the live signals are a factor:\n%s", x->xe_text);
	const char *const wl[] = {"weak-key"};
	cr_expect_eq(met_value(f.ms.ms_anomalies, wl, &weak), CC_OK);
	cr_expect_eq(weak, 1.0, "explaining counted the anomaly again (%g)", weak);

	/* the same certificate scored without the controller's inputs: another number */
	struct recon_opts o2 = {f.st, NULL, NULL, sig_clock};
	struct recon *plain = recon_new(&o2);
	struct xf_explanation *y = malloc(sizeof *y);
	cr_assert_eq(recon_explain(plain, "shop", "web", y), CC_OK);
	cr_expect_neq(y->xe_res.r_risk, x->xe_res.r_risk, "signals made no difference: %g",
	    y->xe_res.r_risk);
	cr_expect(!y->xe_has_model);
	cr_expect(strstr(y->xe_text, "weak-key") == NULL, "never reconciled: no kept anomaly");
	cr_expect_neq(strcmp(x->xe_res.r_decision.d_note, y->xe_res.r_decision.d_note), 0,
	    "the settings' target risk made no difference: \"%s\"", x->xe_res.r_decision.d_note);
	recon_free(plain);
	free(y);

	cr_expect_eq(recon_explain(f.rc, "shop", "nope", x), CC_ERR_NOTFOUND);
	cr_expect_eq(recon_explain(f.rc, "bank", "web", x), CC_ERR_NOTFOUND);
	free(x);
	fx_fini(&f);
	mdl_free(model);
	sig_free(sig);
}

/* ---- /status: every row scored as the reconcile scored it ---- */

/* Row r's risk, level and predicted failure are the gauges of its certificate, to the bit. */
static void
expect_row_is_published(struct fixture *f, const struct status_row *r, const char *ikind)
{
	double risk = -1, level = -1, pf = 0;
	cr_assert_eq(gauge(f->ms.ms_cert_risk, r->sr_ns, r->sr_name, ikind, r->sr_issuer_name,
			 &risk),
	    CC_OK, "%s/%s has no risk gauge", r->sr_ns, r->sr_name);
	cr_assert_eq(gauge(f->ms.ms_cert_risk_level, r->sr_ns, r->sr_name, ikind,
			 r->sr_issuer_name, &level),
	    CC_OK);
	cr_expect_eq(r->sr_risk_value, risk, "%s/%s: row %.17g, gauge %.17g", r->sr_ns, r->sr_name,
	    r->sr_risk_value, risk);
	cr_expect_eq((double)r->sr_risk, level, "%s/%s: level", r->sr_ns, r->sr_name);
	int has_pf = gauge(f->ms.ms_cert_predicted_failure, r->sr_ns, r->sr_name, ikind,
			 r->sr_issuer_name, &pf) == CC_OK;
	cr_expect_eq(has_pf, r->sr_predicted_failure != 0, "%s/%s: predicted failure", r->sr_ns,
	    r->sr_name);
	if (has_pf)
		cr_expect_eq((double)r->sr_predicted_failure, pf, "%s/%s", r->sr_ns, r->sr_name);
}

struct rs_case {
	const char *rs_name;
	const char *rs_ns;       /* the namespace asked for; NULL all */
	const char *rs_keys;     /* the rows expected, "ns/name" separated by spaces, in order */
};

/*
 * recon_status gives every certificate the row `certcast status` prints, scored with the
 * reconcile's inputs (live signals, the learned model, the settings, the kept anomalies): its
 * risk, level and predicted failure are the gauges', where local scoring (status_rows_score)
 * gives the ACME certificate another risk. Asking counts no anomaly again.
 */
Test(reconcile, status_rows_are_the_published_numbers)
{
	struct fixture f;
	struct sig_state *sig;
	struct mdl *model;
	struct sc_config strict;
	fx_live(&f, &strict, &sig, &model);
	/* two hours left, its renewal time a month gone and no attempt: critical */
	cJSON *obj = cJSON_Parse("{\"metadata\":{\"namespace\":\"shop\",\"name\":\"old\","
			       "\"resourceVersion\":\"1\"},\"spec\":{\"secretName\":\"old\","
			       "\"issuerRef\":{\"name\":\"ca\",\"kind\":\"Issuer\"}},"
			       "\"status\":{\"notBefore\":\"2025-12-15T02:00:00Z\","
			       "\"notAfter\":\"2026-03-15T02:00:00Z\","
			       "\"renewalTime\":\"2026-02-13T02:00:00Z\"}}");
	char err[256] = "";
	cr_assert_eq(store_apply(f.st, cert_desc(), STORE_ADDED, obj, err, sizeof err), CC_OK, "%s",
	    err);
	cJSON_Delete(obj);
	put_cert(f.st, STORE_ADDED, "bank", "ledger", "Issuer", "ca", "2026-03-01T00:00:00Z",
	    "2026-05-30T00:00:00Z", "720h", "1");
	put_cert(f.st, STORE_ADDED, "shop", "fresh", "Issuer", "ca", NULL, NULL, NULL, "1");
	scrape_at(sig, SIG_NOW - 120, 0, 0);
	scrape_at(sig, SIG_NOW - 60, 200, 0);
	scrape_at(sig, SIG_NOW, 300, 90);
	static const char *const keys[] = {"shop/web", "shop/old", "bank/ledger", "shop/fresh"};
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(recon_key(f.rc, keys[i]), CC_OK);

	static const struct rs_case cases[] = {
	    {"every namespace", NULL, "bank/ledger shop/fresh shop/old shop/web"},
	    {"every namespace, empty string", "", "bank/ledger shop/fresh shop/old shop/web"},
	    {"one namespace", "shop", "shop/fresh shop/old shop/web"},
	    {"the other", "bank", "bank/ledger"},
	    {"a namespace without certificates", "nowhere", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct rs_case *rc = &cases[i];
		struct status_rows rows;
		recon_status(f.rc, rc->rs_ns, &rows);
		char got[256] = "";
		for (size_t k = 0; k < rows.sr_n; k++) {
			const struct status_row *r = &rows.sr_rows[k];
			size_t l = strlen(got);
			snprintf(got + l, sizeof got - l, "%s%s/%s", k ? " " : "", r->sr_ns, r->sr_name);
			expect_row_is_published(&f, r, r->sr_issuer_kind);
		}
		cr_expect_str_eq(got, rc->rs_keys, "%s", rc->rs_name);
		status_rows_free(&rows);
	}

	struct status_rows rows;
	recon_status(f.rc, "shop", &rows);
	cr_assert_eq(rows.sr_n, 3);
	const struct status_row *old = &rows.sr_rows[1], *web = &rows.sr_rows[2];
	cr_expect_eq(old->sr_risk, STATUS_RISK_CRITICAL, "two hours left: critical (%g)",
	    old->sr_risk_value);
	cr_expect_eq(status_exit_code(&rows), 3, "so status exits 3");
	cr_expect_eq(web->sr_nanomalies, 1, "the kept anomaly is in the row");
	if (web->sr_nanomalies)
		cr_expect_str_eq(web->sr_anomalies[0].sa_type, "weak-key");
	double weak = 0;
	const char *const wl[] = {"weak-key"};
	cr_expect_eq(met_value(f.ms.ms_anomalies, wl, &weak), CC_OK);
	cr_expect_eq(weak, 1.0, "listing counted the anomaly again (%g)", weak);
	/* the row is recon_explain's number too */
	struct xf_explanation *x = malloc(sizeof *x);
	cr_assert_eq(recon_explain(f.rc, "shop", "web", x), CC_OK);
	cr_expect_eq(x->xe_res.r_risk, web->sr_risk_value);
	free(x);

	/* scored here, without the controller's inputs: another number for the ACME certificate */
	struct status_rows local;
	status_rows_build(f.st, "shop", &local);
	status_rows_score(f.st, &local, SIG_NOW, NULL);
	cr_assert_eq(local.sr_n, 3);
	cr_expect_neq(local.sr_rows[2].sr_risk_value, web->sr_risk_value,
	    "the controller's inputs made no difference: %g", web->sr_risk_value);
	status_rows_free(&local);
	status_rows_free(&rows);

	/* a certificate deleted is gone from the rows at once, before its key is reconciled */
	put_cert(f.st, STORE_DELETED, "shop", "fresh", "Issuer", "ca", NULL, NULL, NULL, "2");
	recon_status(f.rc, "shop", &rows);
	cr_expect_eq(rows.sr_n, 2);
	status_rows_free(&rows);
	fx_fini(&f);
	mdl_free(model);
	sig_free(sig);
}

/* Request number k of certificate ns/cert on Issuer issuer, issued or failed an hour later. */
static void
put_plain_cr(struct store *st, const char *ns, const char *cert, const char *issuer, int k,
    int failed)
{
	char name[64], created[32], done[32];
	snprintf(name, sizeof name, "%s-%d", cert, k);
	snprintf(created, sizeof created, "2026-0%d-01T00:00:00Z", 1 + k);
	snprintf(done, sizeof done, "2026-0%d-01T01:00:00Z", 1 + k);
	cJSON *o = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "namespace", ns);
	cJSON_AddStringToObject(md, "name", name);
	char uid[160];
	snprintf(uid, sizeof uid, "uid-%s-%s", ns, name);
	cJSON_AddStringToObject(md, "uid", uid);
	cJSON_AddStringToObject(md, "resourceVersion", "1");
	cJSON_AddStringToObject(md, "creationTimestamp", created);
	cJSON *an = cJSON_AddObjectToObject(md, "annotations");
	cJSON_AddStringToObject(an, "cert-manager.io/certificate-name", cert);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "request", "");
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", issuer);
	cJSON_AddStringToObject(ir, "kind", "Issuer");
	cJSON *cond = cJSON_CreateObject();
	cJSON_AddStringToObject(cond, "type", "Ready");
	cJSON_AddStringToObject(cond, "status", failed ? "False" : "True");
	cJSON_AddStringToObject(cond, "reason", failed ? "Failed" : "Issued");
	cJSON_AddStringToObject(cond, "message",
	    failed ? "Failed to wait for order: context deadline exceeded" : "ok");
	cJSON_AddStringToObject(cond, "lastTransitionTime", done);
	cJSON *conds = cJSON_AddArrayToObject(cJSON_AddObjectToObject(o, "status"), "conditions");
	cJSON_AddItemToArray(conds, cond);
	char err[256] = "";
	const struct res_desc *d = NULL;
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == RES_CERTIFICATEREQUEST)
			d = &res_table()[i];
	cr_assert_eq(store_apply(st, d, STORE_ADDED, o, err, sizeof err), CC_OK, "%s", err);
	cJSON_Delete(o);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * /status at scale: every row of N certificates (CERTCAST_STATUS_BENCH, default 2000) over 20
 * namespaces and 10 issuers is the published number, and the time it takes is reported (a
 * measurement, not a bar: machines differ).
 */
Test(reconcile, status_at_scale, .timeout = 600)
{
	long n = 2000;
	const char *env = getenv("CERTCAST_STATUS_BENCH");
	if (env && env[0]) {
		char *end;
		n = strtol(env, &end, 10);
		cr_assert(*end == '\0' && n > 0, "CERTCAST_STATUS_BENCH=%s", env);
	}
	struct fixture f;
	f.st = store_new();
	f.reg = met_registry_new();
	cr_assert_eq(met_std_register(f.reg, "t", &f.ms), CC_OK);
	struct mdl *model = mdl_new(0);
	struct recon_opts o = {f.st, &f.ms, NULL, sig_clock};
	o.ro_model = model;
	f.rc = recon_new(&o);
	char ns[32], name[32], key[80], issuer[32], na[32];
	for (long i = 0; i < n; i++) {
		snprintf(ns, sizeof ns, "ns%ld", i % 20);
		snprintf(name, sizeof name, "c%ld", i);
		snprintf(issuer, sizeof issuer, "ca%ld", i % 10);
		/* notAfter spread over the next 90 days, so that the levels differ */
		snprintf(na, sizeof na, "2026-%02ld-%02ldT00:00:00Z", 3 + i % 3, 16 + i % 12);
		put_cert(f.st, STORE_ADDED, ns, name, "Issuer", issuer, "2026-01-01T00:00:00Z", na,
		    NULL, "1");
		/* two requests each, one in ten of them failed: issuer histories to walk */
		for (int k = 0; k < 2; k++)
			put_plain_cr(f.st, ns, name, issuer, k, (i + k) % 10 == 0);
	}
	/*
	 * As after the controller's first sync: the model learns every outcome, then each
	 * certificate is reconciled. (Reconciled one by one while the model still learns, an
	 * early certificate's gauge would hold the model of its time: an input that moved.)
	 */
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_expect_eq(recon_learn_all(f.rc), (size_t)(2 * n), "every outcome learned once");
	for (long i = 0; i < n; i++) {
		snprintf(key, sizeof key, "ns%ld/c%ld", i % 20, i);
		cr_assert_eq(recon_key(f.rc, key), CC_OK);
	}
	double recon_ms = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct status_rows rows;
	recon_status(f.rc, NULL, &rows);
	double score_ms = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *text = status_json_text(&rows);
	double json_ms = ms_since(&t0);
	cr_assert_eq(rows.sr_n, (size_t)n);
	for (size_t i = 0; i < rows.sr_n; i++)
		expect_row_is_published(&f, &rows.sr_rows[i], "Issuer");
	fprintf(stderr,
	    "recon_status: %ld certificates (%ld requests) scored in %.0f ms (%.1f us each; "
	    "reconciling them all: %.0f ms); JSON %zu bytes in %.0f ms\n",
	    n, 2 * n, score_ms, score_ms * 1e3 / (double)n, recon_ms, strlen(text), json_ms);
	free(text);
	status_rows_free(&rows);
	fx_fini(&f);
	mdl_free(model);
}
