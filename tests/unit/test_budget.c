/*
 * Tests for budget: CertificateRequests carrying real certificates (tests/support/testcert.h)
 * with chosen SANs and notBefore are fed to a store next to ACME and non-ACME issuers, counted
 * with bg_refresh, and read back with bg_lookup. The list is a small one in the PSL's format.
 */
#include "budget.h"
#include "cc_err.h"
#include "log.h"
#include "psl.h"
#include "records.h"
#include "resource.h"
#include "store.h"
#include "testcert.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOW 1780272000LL /* 2026-06-01T00:00:00Z */
#define HOUR 3600LL
#define DAY (24 * HOUR)
#define WEEK (7 * DAY)

static const char list[] = "com\norg\nuk\nco.uk\n// ===BEGIN PRIVATE DOMAINS===\ngithub.io\n";
static const char *const LE = "https://acme-v02.api.letsencrypt.org/directory";
static const char *const OTHER = "https://acme.other-ca.example/directory";

static EVP_PKEY *key;
static struct psl *psl;
static struct store *st;

static void
setup(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
	char err[128] = "";
	cr_assert_eq(psl_parse(list, sizeof list - 1, "list", &psl, err, sizeof err), CC_OK, "%s",
	    err);
	key = tc_key("P-256");
	st = store_new();
}

static void
teardown(void)
{
	store_free(st);
	psl_free(psl);
	EVP_PKEY_free(key);
}

TestSuite(budget, .init = setup, .fini = teardown);

static const struct res_desc *
desc(enum res_kind k)
{
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == k)
			return &res_table()[i];
	return NULL;
}

static void
apply(enum res_kind k, cJSON *o)
{
	char err[256] = "";
	int rc = store_apply(st, desc(k), STORE_SYNC, o, err, sizeof err);
	cr_assert_eq(rc, CC_OK, "apply: %s", err);
	cJSON_Delete(o);
}

static void
iso(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *
obj_new(const char *kind, const char *ns, const char *name, const char *rv)
{
	char t[40];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	if (ns)
		cJSON_AddStringToObject(md, "namespace", ns);
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "uid", name);
	cJSON_AddStringToObject(md, "resourceVersion", rv);
	iso(NOW - 400 * DAY, t, sizeof t);
	cJSON_AddStringToObject(md, "creationTimestamp", t);
	return o;
}

/* An Issuer (ns given) or ClusterIssuer: ACME at server, or a CA issuer when server is NULL. */
static void
add_issuer(const char *ns, const char *name, const char *server)
{
	cJSON *o = obj_new(ns ? "Issuer" : "ClusterIssuer", ns, name, "1");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	if (server) {
		cJSON *acme = cJSON_AddObjectToObject(spec, "acme");
		cJSON_AddStringToObject(acme, "server", server);
	} else {
		cJSON *ca = cJSON_AddObjectToObject(spec, "ca");
		cJSON_AddStringToObject(ca, "secretName", "ca");
	}
	apply(ns ? RES_ISSUER : RES_CLUSTERISSUER, o);
}

/* status.certificate as cert-manager writes it: base64 of a PEM bundle. */
static char *
cert_b64(const char *sans, int64_t nb)
{
	static long serial = 1;
	struct tc_spec s = {.issuer_cn = "Test CA", .cn = "leaf", .sans = sans, .nb = nb,
	    .na = nb + 90 * DAY, .md = EVP_sha256(), .serial = serial++};
	X509 *x = tc_cert(key, key, &s);
	size_t n;
	char *pem = tc_pem(&x, 1, &n);
	char *b = tc_b64(pem, n, &n);
	free(pem);
	X509_free(x);
	return b;
}

/*
 * A CertificateRequest ns/name (also its UID) at resourceVersion rv, for issuer kind/name,
 * carrying a certificate for sans from notBefore nb (sans NULL: no certificate yet).
 */
static void
add_cr_rv(const char *ns, const char *name, const char *rv, const char *kind, const char *iname,
    const char *sans, int64_t nb)
{
	cJSON *o = obj_new("CertificateRequest", ns, name, rv);
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "request", "");
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", iname);
	cJSON_AddStringToObject(ir, "kind", kind);
	if (sans) {
		char *b = cert_b64(sans, nb);
		cJSON *status = cJSON_AddObjectToObject(o, "status");
		cJSON_AddStringToObject(status, "certificate", b);
		free(b);
	}
	apply(RES_CERTIFICATEREQUEST, o);
}

static void
add_cr(const char *name, const char *iname, const char *sans, int64_t nb)
{
	add_cr_rv("shop", name, "1", "Issuer", iname, sans, nb);
}

static struct bg_book *
count(void)
{
	struct bg_book *b = bg_new(psl, 0, 0);
	store_rdlock(st);
	(void)bg_refresh(b, st, NOW);
	store_unlock(st);
	return b;
}

/* The budget of a certificate for names (comma-separated) on server. */
static int
look(struct bg_book *b, const char *server, const char *names, struct sc_budget *out,
    char *dom, size_t domlen)
{
	char buf[512];
	const char *v[16];
	size_t n = 0;
	snprintf(buf, sizeof buf, "%s", names);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < 16;
	     t = strtok_r(NULL, ",", &save))
		v[n++] = t;
	return bg_lookup(b, server, NULL, v, n, 0, out, dom, domlen);
}

Test(budget, new_certificates_and_renewals)
{
	add_issuer("shop", "le", LE);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - 3 * DAY);
	add_cr("b-1", "le", "DNS:b.example.com,DNS:c.example.com", NOW - 2 * DAY);
	add_cr("d-1", "le", "DNS:d.shop.example.com", NOW - 1 * DAY);
	/* a renewal of a's exact set: not new, but a's set now holds two */
	add_cr("a-2", "le", "DNS:a.example.com", NOW - 1 * HOUR);
	/* the same names in another order and case: still b's exact set */
	add_cr("b-2", "le", "DNS:C.example.com,DNS:b.example.com", NOW - 2 * HOUR);
	struct bg_book *b = count();
	struct sc_budget bd;
	char dom[BG_DOMAIN_MAX];
	cr_assert_eq(look(b, LE, "a.example.com", &bd, dom, sizeof dom), 1);
	cr_expect_eq(bd.bd_valid, 1);
	cr_expect_str_eq(dom, "example.com");
	cr_expect_eq(bd.bd_new_used, 3, "new: %u (renewals must not count)", bd.bd_new_used);
	cr_expect_eq(bd.bd_dup_used, 2, "dup of a: %u", bd.bd_dup_used);
	cr_expect_eq(bd.bd_new_limit, 50);
	cr_expect_eq(bd.bd_dup_limit, 5);
	cr_expect_eq(bd.bd_window, WEEK);
	cr_expect_eq(bd.bd_refill, NOW - 3 * DAY + WEEK, "refill %lld",
	    (long long)bd.bd_refill);
	/* the lookup's own names: upper case, repeats, trailing dot, any order */
	cr_assert_eq(look(b, LE, "C.EXAMPLE.COM.,b.example.com,c.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_dup_used, 2, "dup of b: %u", bd.bd_dup_used);
	cr_expect_eq(bd.bd_new_used, 3);
	/* a set never issued: no duplicates, same domain budget */
	cr_assert_eq(look(b, LE, "new.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_dup_used, 0);
	cr_expect_eq(bd.bd_new_used, 3);
	bg_free(b);
}

Test(budget, renewal_of_a_set_first_issued_before_the_window)
{
	add_issuer("shop", "le", LE);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - 60 * DAY);
	add_cr("a-2", "le", "DNS:a.example.com", NOW - 1 * DAY);
	struct bg_book *b = count();
	struct sc_budget bd;
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 0, "a renewal counted as new: %u", bd.bd_new_used);
	cr_expect_eq(bd.bd_dup_used, 1);
	cr_expect_eq(bd.bd_refill, NOW - DAY + WEEK, "refill from the set when no new one");
	bg_free(b);
}

Test(budget, window_edges)
{
	add_issuer("shop", "le", LE);
	/* exactly one window old: left it; one second younger: still in */
	add_cr("old-1", "le", "DNS:old.example.com", NOW - WEEK);
	add_cr("edge-1", "le", "DNS:edge.example.com", NOW - WEEK + 1);
	/* issued after the recount's now (a clock ahead): counted */
	add_cr("future-1", "le", "DNS:future.example.com", NOW + HOUR);
	struct bg_book *b = count();
	struct sc_budget bd;
	cr_assert_eq(look(b, LE, "old.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 2, "new: %u", bd.bd_new_used);
	cr_expect_eq(bd.bd_dup_used, 0, "the old one is out of the window");
	cr_expect_eq(bd.bd_refill, NOW + 1, "refill %lld", (long long)bd.bd_refill);
	int64_t t[4];
	cr_expect_eq(bg_domain_times(b, LE, "example.com", t, 4), 2);
	cr_expect_eq(t[0], NOW - WEEK + 1);
	cr_expect_eq(t[1], NOW + HOUR);
	bg_free(b);
	/* the same store a second later: the edge one has left too */
	b = bg_new(psl, 0, 0);
	store_rdlock(st);
	(void)bg_refresh(b, st, NOW + 1);
	store_unlock(st);
	cr_assert_eq(look(b, LE, "edge.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 1);
	cr_expect_eq(bd.bd_dup_used, 0);
	bg_free(b);
}

Test(budget, servers_are_kept_apart)
{
	add_issuer("shop", "le", LE);
	add_issuer(NULL, "other", OTHER);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - 2 * DAY);
	add_cr_rv("shop", "a-2", "1", "ClusterIssuer", "other", "DNS:a.example.com", NOW - DAY);
	add_cr_rv("shop", "b-1", "1", "ClusterIssuer", "other", "DNS:b.example.com", NOW - DAY);
	struct bg_book *b = count();
	struct sc_budget bd;
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 1, "LE: %u", bd.bd_new_used);
	cr_expect_eq(bd.bd_dup_used, 1);
	/* on the other CA, a.example.com is new there: the first of its set on that server */
	cr_assert_eq(look(b, OTHER, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 2, "other: %u", bd.bd_new_used);
	cr_expect_eq(bd.bd_dup_used, 1);
	/* another spelling of the same CA's URL shares its budget */
	cr_assert_eq(look(b, "HTTPS://ACME-V02.API.LETSENCRYPT.ORG:443/directory/", "a.example.com",
	    &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 1);
	cr_expect_eq(bd.bd_dup_used, 1);
	/* a server nothing was issued by */
	cr_assert_eq(look(b, "https://nowhere.example/dir", "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 0);
	cr_expect_eq(bd.bd_dup_used, 0);
	cr_expect_eq(bd.bd_refill, 0);
	bg_free(b);
}

Test(budget, only_acme_issuers_count)
{
	add_issuer("shop", "le", LE);
	add_issuer("shop", "ca", NULL);
	add_cr("a-1", "ca", "DNS:a.example.com", NOW - DAY);
	add_cr("b-1", "missing", "DNS:b.example.com", NOW - DAY); /* issuer not in the store */
	add_cr("c-1", "le", NULL, 0);                            /* no certificate yet */
	struct bg_book *b = count();
	struct sc_budget bd;
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 0);
	cr_expect_eq(bd.bd_dup_used, 0);
	bg_free(b);
}

Test(budget, each_registered_domain_of_a_certificate_counts)
{
	add_issuer("shop", "le", LE);
	add_cr("m-1", "le", "DNS:www.example.org,DNS:www.example.co.uk,DNS:x.example.co.uk",
	    NOW - DAY);
	add_cr("n-1", "le", "DNS:api.example.co.uk", NOW - DAY);
	add_cr("p-1", "le", "DNS:me.github.io,IP:192.0.2.7", NOW - DAY);
	struct bg_book *b = count();
	struct sc_budget bd;
	char dom[BG_DOMAIN_MAX];
	cr_assert_eq(look(b, LE, "shop.example.org", &bd, dom, sizeof dom), 1);
	cr_expect_str_eq(dom, "example.org");
	cr_expect_eq(bd.bd_new_used, 1);
	/* a certificate spanning two domains is held to the fuller one */
	cr_assert_eq(look(b, LE, "a.example.org,a.example.co.uk", &bd, dom, sizeof dom), 1);
	cr_expect_str_eq(dom, "example.co.uk");
	cr_expect_eq(bd.bd_new_used, 2);
	/* private-section domain and an IPv4 address are their own registered domains */
	cr_assert_eq(look(b, LE, "you.github.io", &bd, dom, sizeof dom), 1);
	cr_expect_eq(bd.bd_new_used, 0, "github.io users do not share a budget");
	cr_assert_eq(look(b, LE, "me.github.io", &bd, dom, sizeof dom), 1);
	cr_expect_eq(bd.bd_new_used, 1);
	cr_expect_eq(bd.bd_dup_used, 0, "the issued set also held the IP address");
	int64_t t[2];
	cr_expect_eq(bg_domain_times(b, LE, "192.0.2.7", t, 2), 1);
	bg_free(b);
}

Test(budget, parses_are_cached_by_uid_and_resource_version)
{
	add_issuer("shop", "le", LE);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - DAY);
	add_cr("b-1", "le", "DNS:b.example.com", NOW - DAY);
	struct bg_book *b = bg_new(psl, 0, 0);
	store_rdlock(st);
	cr_expect_eq(bg_refresh(b, st, NOW), 2);
	cr_expect_eq(bg_refresh(b, st, NOW), 0, "nothing changed: nothing parsed");
	store_unlock(st);
	/* a new resourceVersion is parsed again, and its new certificate counted */
	add_cr_rv("shop", "b-1", "2", "Issuer", "le", "DNS:b.example.com,DNS:c.example.com",
	    NOW - HOUR);
	store_rdlock(st);
	cr_expect_eq(bg_refresh(b, st, NOW), 1);
	store_unlock(st);
	struct sc_budget bd;
	cr_assert_eq(look(b, LE, "b.example.com,c.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_dup_used, 1);
	cr_expect_eq(bd.bd_new_used, 2);
	bg_free(b);
}

Test(budget, ttl_holds_the_count)
{
	add_issuer("shop", "le", LE);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - DAY);
	struct bg_book *b = bg_new(psl, 0, 60);
	struct sc_budget bd;
	store_rdlock(st);
	cr_expect_eq(bg_refresh(b, st, NOW), 1);
	store_unlock(st);
	add_cr("b-1", "le", "DNS:b.example.com", NOW - HOUR);
	store_rdlock(st);
	cr_expect_eq(bg_refresh(b, st, NOW + 59), 0, "within the ttl: no recount");
	store_unlock(st);
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 1);
	store_rdlock(st);
	cr_expect_eq(bg_refresh(b, st, NOW + 60), 1, "ttl passed: recount");
	store_unlock(st);
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 2);
	bg_free(b);
}

Test(budget, unparseable_certificate_is_skipped)
{
	add_issuer("shop", "le", LE);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - DAY);
	/* a DER SEQUENCE that is no certificate: the store keeps it, certparse refuses it */
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
	size_t n;
	char *b64 = tc_b64(pem, sizeof pem - 1, &n);
	cJSON *o = obj_new("CertificateRequest", "shop", "bad-1", "1");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", "le");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "status"), "certificate", b64);
	free(b64);
	apply(RES_CERTIFICATEREQUEST, o);
	struct bg_book *b = bg_new(psl, 0, 0);
	store_rdlock(st);
	cr_expect_eq(bg_refresh(b, st, NOW), 2);
	cr_expect_eq(bg_refresh(b, st, NOW), 0, "the failure is remembered too");
	store_unlock(st);
	struct sc_budget bd;
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 1);
	bg_free(b);
}

Test(budget, without_a_list_budgets_are_off)
{
	add_issuer("shop", "le", LE);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - DAY);
	struct bg_book *b = bg_open("/nonexistent/public_suffix_list.dat", 0, 0);
	cr_expect_eq(bg_enabled(b), 0);
	store_rdlock(st);
	cr_expect_eq(bg_refresh(b, st, NOW), 0);
	store_unlock(st);
	struct sc_budget bd;
	bd.bd_valid = 7;
	cr_expect_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 0);
	cr_expect_eq(bd.bd_valid, 0);
	bg_free(b);
}

Test(budget, names_the_list_cannot_place)
{
	struct bg_book *b = count();
	struct sc_budget bd;
	cr_expect_eq(look(b, LE, "bad..name", &bd, NULL, 0), 0, "no placeable name: unknown");
	cr_expect_eq(look(b, LE, "bad..name,ok.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bg_lookup(b, NULL, NULL, NULL, 0, 0, &bd, NULL, 0), 0);
	bg_free(b);
}

Test(budget, renewal_flag)
{
	add_issuer("shop", "le", LE);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - 60 * DAY);
	struct bg_book *b = count();
	struct sc_budget bd;
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_renewal, 1, "issued before the window: still a renewal");
	cr_assert_eq(look(b, LE, "a.example.com,b.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_renewal, 0, "another set: new");
	cr_assert_eq(look(b, OTHER, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_renewal, 0, "another CA never issued it");
	bg_free(b);
}

Test(budget, parse_limit_spreads_the_first_count)
{
	add_issuer("shop", "le", LE);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - DAY);
	add_cr("b-1", "le", "DNS:b.example.com", NOW - DAY);
	add_cr("c-1", "le", "DNS:c.example.com", NOW - DAY);
	struct bg_book *b = bg_new(psl, 0, 3600);
	bg_set_parse_limit(b, 2);
	struct sc_budget bd;
	store_rdlock(st);
	cr_expect_eq(bg_refresh(b, st, NOW), 2);
	store_unlock(st);
	cr_expect_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 0, "partial: unknown, not 2");
	cr_expect_eq(bd.bd_valid, 0);
	store_rdlock(st);
	cr_expect_eq(bg_refresh(b, st, NOW + 1), 1, "goes on within the ttl");
	store_unlock(st);
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 3);
	/* later, more new requests than the limit: the last complete count stays */
	add_cr("d-1", "le", "DNS:d.example.com", NOW - HOUR);
	add_cr("e-1", "le", "DNS:e.example.com", NOW - HOUR);
	add_cr("f-1", "le", "DNS:f.example.com", NOW - HOUR);
	store_rdlock(st);
	cr_expect_eq(bg_refresh(b, st, NOW + 4000), 2);
	store_unlock(st);
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 3, "the complete count of before: %u", bd.bd_new_used);
	store_rdlock(st);
	cr_expect_eq(bg_refresh(b, st, NOW + 4001), 1);
	store_unlock(st);
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 6);
	bg_free(b);
}

#include "certparse.h"

/* A certificate parsed elsewhere (the anomaly detector) is not parsed again by the count. */
Test(budget, noted_parses_are_reused)
{
	add_issuer("shop", "le", LE);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - DAY);
	add_cr("b-1", "le", "DNS:b.example.com", NOW - DAY);
	struct bg_book *b = bg_new(psl, 0, 0);
	store_rdlock(st);
	const struct rec_cr *r = store_cr_get(st, "shop", "a-1");
	cr_assert_not_null(r);
	struct cp_cert *pc = NULL;
	char err[128] = "";
	cr_assert_eq(cp_parse(r->r_der, r->r_der_len, &pc, err, sizeof err), SC_OK, "%s", err);
	bg_note(b, r, pc);
	cp_free(pc);
	/* a request whose certificate did not parse elsewhere is not tried again either */
	bg_note(b, store_cr_get(st, "shop", "b-1"), NULL);
	cr_expect_eq(bg_refresh(b, st, NOW), 0, "both were given");
	store_unlock(st);
	struct sc_budget bd;
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 1, "a counted, b (no parse) not: %u", bd.bd_new_used);
	cr_expect_eq(bd.bd_dup_used, 1);
	bg_free(b);
}

Test(budget, known_cas)
{
	cr_expect_eq(bg_known_ca("https://acme-v02.api.letsencrypt.org/directory"), 1);
	cr_expect_eq(bg_known_ca("https://ACME-V02.API.LetsEncrypt.org/directory"), 1);
	cr_expect_eq(bg_known_ca("https://acme-staging-v02.api.letsencrypt.org/directory"), 0,
	    "staging has other limits");
	cr_expect_eq(bg_known_ca("https://acme.zerossl.com/v2/DV90"), 0);
	cr_expect_eq(bg_known_ca("https://acme-v02.api.letsencrypt.org.evil.example/directory"), 0);
	cr_expect_eq(bg_known_ca("not a url"), 0);
	cr_expect_eq(bg_known_ca(NULL), 0);
}

/* A backdated notBefore: the request's Ready time keeps the certificate in the window. */
Test(budget, issuance_time_is_the_later_of_not_before_and_ready)
{
	add_issuer("shop", "le", LE);
	char t[40];
	char *b64 = cert_b64("DNS:a.example.com", NOW - WEEK - HOUR);
	cJSON *o = obj_new("CertificateRequest", "shop", "a-1", "1");
	cJSON *ir = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "issuerRef");
	cJSON_AddStringToObject(ir, "name", "le");
	cJSON *status = cJSON_AddObjectToObject(o, "status");
	cJSON_AddStringToObject(status, "certificate", b64);
	cJSON *cond = cJSON_CreateObject();
	cJSON_AddStringToObject(cond, "type", "Ready");
	cJSON_AddStringToObject(cond, "status", "True");
	cJSON_AddStringToObject(cond, "reason", "Issued");
	iso(NOW - WEEK + 60, t, sizeof t);
	cJSON_AddStringToObject(cond, "lastTransitionTime", t);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(status, "conditions"), cond);
	free(b64);
	apply(RES_CERTIFICATEREQUEST, o);
	struct bg_book *b = count();
	struct sc_budget bd;
	cr_assert_eq(look(b, LE, "a.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 1, "notBefore is out of the window, the issuance is not");
	cr_expect_eq(bd.bd_refill, NOW + 60);
	bg_free(b);
}

/* A Certificate shop/name on Issuer le for dns, Issuing=True (cert-manager about to order). */
static void
add_waiting_cert(const char *name, const char *dns, int failed, int64_t fail_ago)
{
	char t[40];
	cJSON *o = obj_new("Certificate", "shop", name, "1");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "secretName", name);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "dnsNames"), cJSON_CreateString(dns));
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", "le");
	cJSON_AddStringToObject(ir, "kind", "Issuer");
	cJSON *status = cJSON_AddObjectToObject(o, "status");
	if (failed) {
		cJSON_AddNumberToObject(status, "failedIssuanceAttempts", failed);
		iso(NOW - fail_ago, t, sizeof t);
		cJSON_AddStringToObject(status, "lastFailureTime", t);
	}
	cJSON *cond = cJSON_CreateObject();
	cJSON_AddStringToObject(cond, "type", "Issuing");
	cJSON_AddStringToObject(cond, "status", failed ? "False" : "True");
	iso(NOW - HOUR, t, sizeof t);
	cJSON_AddStringToObject(cond, "lastTransitionTime", t);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(status, "conditions"), cond);
	apply(RES_CERTIFICATE, o);
}

static int
look_key(struct bg_book *b, const char *cert, const char *name, struct sc_budget *out)
{
	const char *v[1] = {name};
	return bg_lookup(b, LE, cert, v, 1, 0, out, NULL, 0);
}

Test(budget, queue_projection_for_new_sets)
{
	add_issuer("shop", "le", LE);
	/* the domain's budget is used up: 50 new certificates, the oldest six days ago */
	for (int k = 0; k < 50; k++) {
		char name[32], sans[64];
		snprintf(name, sizeof name, "old-%d", k);
		snprintf(sans, sizeof sans, "DNS:host%d.example.com", k);
		add_cr(name, "le", sans, NOW - 6 * DAY + k * 600);
	}
	add_waiting_cert("w1", "w1.example.com", 0, 0);
	add_waiting_cert("w2", "w2.example.com", 0, 0);
	add_waiting_cert("host3", "host3.example.com", 0, 0); /* a renewal: no queue */
	add_waiting_cert("other", "w.example.org", 0, 0);     /* another domain, all free */
	struct bg_book *b = count();
	struct sc_budget bd, bd2;
	int64_t refill = NOW - 6 * DAY + WEEK;
	cr_assert_eq(look_key(b, "shop/w1", "w1.example.com", &bd), 1);
	cr_expect_eq(bd.bd_new_used, 50);
	cr_expect_eq(bd.bd_refill, refill);
	cr_expect_eq(bd.bd_queue, 1, "a new set waits in the domain's queue");
	cr_expect(bd.bd_slot > refill && bd.bd_slot < NOW + 3 * DAY,
	    "slot %lld: after the first issuance leaves the window, on a backoff retry",
	    (long long)bd.bd_slot);
	cr_assert_eq(look_key(b, "shop/w2", "w2.example.com", &bd2), 1);
	cr_expect_eq(bd2.bd_queue, 1);
	cr_expect(bd2.bd_slot >= bd.bd_slot, "w2 %lld before w1 %lld", (long long)bd2.bd_slot,
	    (long long)bd.bd_slot);
	cr_assert_eq(look_key(b, "shop/host3", "host3.example.com", &bd), 1);
	cr_expect_eq(bd.bd_renewal, 1);
	cr_expect_eq(bd.bd_queue, 0, "a renewal draws on no domain budget");
	cr_assert_eq(look_key(b, "shop/other", "w.example.org", &bd), 1);
	cr_expect_eq(bd.bd_queue, 1);
	cr_expect_eq(bd.bd_slot, NOW, "room left: cert-manager's order now is accepted");
	/* without a key, or for a Certificate the recount did not see: no projection */
	cr_assert_eq(look_key(b, NULL, "w1.example.com", &bd), 1);
	cr_expect_eq(bd.bd_queue, 0);
	cr_assert_eq(look_key(b, "shop/unknown", "w9.example.com", &bd), 1);
	cr_expect_eq(bd.bd_queue, 0);
	bg_free(b);
}

Test(budget, queue_projection_follows_the_backoff)
{
	add_issuer("shop", "le", LE);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - DAY);
	/* failed twice, the last failure 10 minutes ago: cert-manager waits 2h from it */
	add_waiting_cert("w", "w.example.com", 2, 10 * 60);
	struct bg_book *b = count();
	struct sc_budget bd;
	cr_assert_eq(look_key(b, "shop/w", "w.example.com", &bd), 1);
	cr_expect_eq(bd.bd_queue, 1);
	cr_expect_eq(bd.bd_slot, NOW - 10 * 60 + 2 * HOUR, "slot %lld", (long long)bd.bd_slot);
	bg_free(b);
}

/* A valid certificate not being renewed is in no queue, even when its set looks new. */
Test(budget, no_queue_for_a_certificate_not_ordering)
{
	add_issuer("shop", "le", LE);
	add_cr("a-1", "le", "DNS:a.example.com", NOW - DAY);
	cJSON *o = obj_new("Certificate", "shop", "calm", "1");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "dnsNames"),
	    cJSON_CreateString("calm.example.com"));
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", "le");
	char t[40];
	cJSON *status = cJSON_AddObjectToObject(o, "status");
	iso(NOW - 10 * DAY, t, sizeof t);
	cJSON_AddStringToObject(status, "notBefore", t);
	iso(NOW + 80 * DAY, t, sizeof t);
	cJSON_AddStringToObject(status, "notAfter", t);
	apply(RES_CERTIFICATE, o);
	struct bg_book *b = count();
	struct sc_budget bd;
	cr_assert_eq(look_key(b, "shop/calm", "calm.example.com", &bd), 1);
	cr_expect_eq(bd.bd_renewal, 0, "its requests are not in the store");
	cr_expect_eq(bd.bd_queue, 0);
	bg_free(b);
}

/* A list that cannot be read: one warning naming the file and saying budgets are off. */
Test(budget, missing_list_is_one_log_line)
{
	char path[] = "/tmp/test_budget_log_XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	log_set_fd(fd);
	struct bg_book *b = bg_open("/nonexistent/psl.dat", 0, 0);
	store_rdlock(st);
	(void)bg_refresh(b, st, NOW);
	(void)bg_refresh(b, st, NOW + 3600);
	store_unlock(st);
	bg_free(b);
	log_set_fd(open("/dev/null", O_WRONLY));
	char buf[4096] = "";
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	unlink(path);
	buf[n] = '\0';
	size_t lines = 0;
	for (char *q = buf; *q; q++)
		lines += *q == '\n';
	cr_expect_eq(lines, 1, "log:\n%s", buf);
	cr_expect(strstr(buf, "/nonexistent/psl.dat") != NULL, "%s", buf);
	cr_expect(strstr(buf, "budgets are off") != NULL, "%s", buf);
}

/* The names (comma-separated) as bg_lookup_at takes them. */
static int
look_at(struct bg_book *b, const char *server, const char *names, int64_t at,
    struct sc_budget *out)
{
	char buf[512];
	const char *v[16];
	size_t n = 0;
	snprintf(buf, sizeof buf, "%s", names);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < 16;
	     t = strtok_r(NULL, ",", &save))
		v[n++] = t;
	return bg_lookup_at(b, server, v, n, at, out);
}

/*
 * The books at a refusal three days ago: the window that ended then holds issuances that have
 * left the current one, and not those made since; an order accepted just before the refusal
 * counts when its certificate is issued within BG_REFUSAL_SLACK of it.
 */
Test(budget, books_at_a_refusal)
{
	const int64_t at = NOW - 3 * DAY;
	add_issuer("shop", "le", LE);
	add_cr("d-1", "le", "DNS:d.example.com", at - WEEK);          /* left that window */
	add_cr("a-1", "le", "DNS:a.example.com", NOW - 9 * DAY);
	add_cr("b-1", "le", "DNS:b.example.com", NOW - 9 * DAY + HOUR);
	add_cr("x-1", "le", "DNS:x.example.com", NOW - 9 * DAY + 2 * HOUR);
	add_cr("x-2", "le", "DNS:x.example.com", NOW - 4 * DAY);      /* renewal: x's set only */
	add_cr("e-1", "le", "DNS:e.example.com", at + BG_REFUSAL_SLACK); /* the burst: counted */
	add_cr("f-1", "le", "DNS:f.example.com", at + BG_REFUSAL_SLACK + 1); /* after it */
	add_cr("c-1", "le", "DNS:c.example.com", NOW - 2 * DAY);
	struct bg_book *b = count();
	struct sc_budget bd;
	const struct {
		const char *what, *server, *names;
		int64_t at;
		int ok;
		uint32_t new_at, dup_at;
	} cases[] = {
	    {"three days ago, x's set", LE, "x.example.com", at, 1, 4, 2},
	    {"three days ago, a new set", LE, "new.example.com", at, 1, 4, 0},
	    {"now: the current window, as bg_lookup counts it", LE, "x.example.com", NOW, 1, 3, 1},
	    {"before any issuance", LE, "x.example.com", NOW - 30 * DAY, 1, 0, 0},
	    {"another CA: its own, empty books", OTHER, "x.example.com", at, 1, 0, 0},
	    {"no failure time", LE, "x.example.com", 0, 0, 0, 0},
	    {"no name the list can place", LE, "bad..name", at, 0, 0, 0},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		memset(&bd, 0, sizeof bd);
		bd.bd_new_used = 77; /* left alone */
		cr_expect_eq(look_at(b, cases[k].server, cases[k].names, cases[k].at, &bd),
		    cases[k].ok, "%s", cases[k].what);
		cr_expect_eq(bd.bd_at_failure, cases[k].ok, "%s", cases[k].what);
		cr_expect_eq(bd.bd_new_used_at_failure, cases[k].new_at, "%s: new %u",
		    cases[k].what, bd.bd_new_used_at_failure);
		cr_expect_eq(bd.bd_dup_used_at_failure, cases[k].dup_at, "%s: dup %u",
		    cases[k].what, bd.bd_dup_used_at_failure);
		cr_expect_eq(bd.bd_new_used, 77, "%s: the rest of out is left alone",
		    cases[k].what);
	}
	/* the window's own counts are what they were */
	cr_assert_eq(look(b, LE, "x.example.com", &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 3, "new now: %u", bd.bd_new_used);
	cr_expect_eq(bd.bd_dup_used, 1);
	cr_expect_eq(bd.bd_at_failure, 0, "bg_lookup says nothing of a refusal");
	/* one lookup with the failure time gives both, as the two separate ones do */
	const char *x[] = {"x.example.com"};
	cr_assert_eq(bg_lookup(b, LE, NULL, x, 1, at, &bd, NULL, 0), 1);
	cr_expect_eq(bd.bd_new_used, 3);
	cr_expect_eq(bd.bd_dup_used, 1);
	cr_expect_eq(bd.bd_at_failure, 1);
	cr_expect_eq(bd.bd_new_used_at_failure, 4);
	cr_expect_eq(bd.bd_dup_used_at_failure, 2);
	bg_free(b);
}
