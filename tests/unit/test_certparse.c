/*
 * Tests of scoring/certparse with real certificates made here with OpenSSL: fields, input
 * forms, the baseline-free checks (weak key, SHA-1, wildcard, future notBefore, validity), the
 * checks anomaly.c runs with them (unexpected CA, key reuse, SANs outside the usual domains),
 * and malformed input that must fail cleanly.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "anomaly.h"
#include "certparse.h"
#include "scoring.h"
#include "testcert.h"

#define TC_NOW 1767225600 /* 2026-01-01T00:00:00Z */
#define TC_DAY 86400

/* Parses x (as PEM) and returns the result, failing the test on error. */
static struct cp_cert *
tc_parse(X509 *x)
{
	struct cp_cert *c = NULL;
	size_t len;
	char *pem = tc_pem(&x, 1, &len), err[200] = "";

	cr_assert_eq(cp_parse(pem, len, &c, err, sizeof(err)), SC_OK, "%s", err);
	free(pem);
	return c;
}

static size_t
tc_count(const struct an_report *r, enum an_type t)
{
	size_t i, n = 0;

	for (i = 0; i < r->r_count; i++)
		n += r->r_items[i].a_type == t;
	return n;
}

static const struct an_anomaly *
tc_find(const struct an_report *r, enum an_type t)
{
	size_t i;

	for (i = 0; i < r->r_count; i++)
		if (r->r_items[i].a_type == t)
			return &r->r_items[i];
	return NULL;
}

Test(certparse, fields_of_a_leaf)
{
	EVP_PKEY *ca = tc_key("P-256"), *k = tc_key("P-256");
	struct tc_spec cs = { "Test Root", "Test Root", NULL, TC_NOW - 10 * TC_DAY,
			      TC_NOW + 3650 * TC_DAY, EVP_sha256(), 1, 1 };
	struct tc_spec ls = { "Test Root", "web", "DNS:web.example.com,DNS:api.example.com,"
						  "IP:10.1.2.3,IP:2001:db8::1,URI:spiffe://c/ns/a,"
						  "email:ops@example.com",
			      TC_NOW - 3600, TC_NOW + 90 * TC_DAY - 3600, EVP_sha256(), 0, 0x1f2e3d };
	X509 *xs[2];
	struct cp_cert *c = NULL;
	unsigned char *der = NULL, md[32];
	unsigned int mdlen;
	size_t len;
	char *pem, err[200] = "";
	int l;

	xs[0] = tc_cert(k, ca, &ls);
	xs[1] = tc_cert(ca, ca, &cs);
	pem = tc_pem(xs, 2, &len);
	cr_assert_eq(cp_parse(pem, len, &c, err, sizeof(err)), SC_OK, "%s", err);
	cr_expect_str_eq(c->c_subject, "CN=web,O=certcast test");
	cr_expect_str_eq(c->c_issuer, "CN=Test Root,O=certcast test");
	cr_expect_str_eq(c->c_serial, "1F2E3D");
	cr_expect_eq(c->c_not_before, TC_NOW - 3600);
	cr_expect_eq(c->c_not_after, TC_NOW + 90 * TC_DAY - 3600);
	cr_assert_eq(c->c_nsans, 6);
	cr_expect_eq(c->c_sans[0].s_type, CP_SAN_DNS);
	cr_expect_str_eq(c->c_sans[0].s_value, "web.example.com");
	cr_expect_str_eq(c->c_sans[1].s_value, "api.example.com");
	cr_expect_eq(c->c_sans[2].s_type, CP_SAN_IP);
	cr_expect_str_eq(c->c_sans[2].s_value, "10.1.2.3");
	cr_expect_eq(c->c_sans[3].s_type, CP_SAN_IP);
	cr_expect_str_eq(c->c_sans[3].s_value, "2001:db8::1");
	cr_expect_eq(c->c_sans[4].s_type, CP_SAN_URI);
	cr_expect_str_eq(c->c_sans[4].s_value, "spiffe://c/ns/a");
	cr_expect_eq(c->c_sans[5].s_type, CP_SAN_EMAIL);
	cr_expect_str_eq(c->c_sans[5].s_value, "ops@example.com");
	cr_expect_eq(c->c_key_alg, CP_KEY_EC);
	cr_expect_eq(c->c_key_bits, 256);
	cr_expect_str_eq(c->c_curve, "P-256");
	cr_expect_str_eq(c->c_sig_alg, "ecdsa-with-SHA256");
	cr_expect_str_eq(c->c_sig_hash, "SHA256");
	cr_expect_eq(c->c_is_ca, 0);
	cr_expect_eq(c->c_chain_len, 2);
	/* The SPKI hash, computed independently from the key. */
	l = i2d_PUBKEY(k, &der);
	cr_assert_gt(l, 0);
	EVP_Digest(der, (size_t)l, md, &mdlen, EVP_sha256(), NULL);
	cr_expect_eq(memcmp(md, c->c_spki_sha256, 32), 0);
	OPENSSL_free(der);
	cp_free(c);
	/* The CA itself parses as a CA. */
	c = tc_parse(xs[1]);
	cr_expect_eq(c->c_is_ca, 1);
	cr_expect_eq(c->c_chain_len, 1);
	cp_free(c);
	free(pem);
	X509_free(xs[0]);
	X509_free(xs[1]);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(k);
}

Test(certparse, input_forms)
{
	EVP_PKEY *k = tc_key("P-256");
	struct tc_spec s = { "Form CA", "form", "DNS:form.example.org", TC_NOW, TC_NOW + TC_DAY,
			     EVP_sha256(), 0, 7 };
	X509 *xs[3];
	size_t plen, dlen, blen, i;
	char *pem, *b64, *ws, err[200];
	unsigned char *der;
	struct tc_form {
		const char *name;
		const void *data;
		size_t len;
		size_t chain;
	} cases[6];
	struct cp_cert *c;

	xs[0] = tc_cert(k, k, &s);
	s.serial = 8;
	xs[1] = tc_cert(k, k, &s);
	s.serial = 9;
	xs[2] = tc_cert(k, k, &s);
	pem = tc_pem(xs, 3, &plen);
	der = tc_der(xs, 3, &dlen);
	b64 = tc_b64(pem, plen, &blen);
	ws = malloc(plen + 4);
	memcpy(ws, "\n \t ", 4);
	memcpy(ws + 4, pem, plen);
	cases[0] = (struct tc_form){ "PEM bundle", pem, plen, 3 };
	cases[1] = (struct tc_form){ "DER chain", der, dlen, 3 };
	cases[2] = (struct tc_form){ "base64 of PEM", b64, blen, 3 };
	cases[3] = (struct tc_form){ "PEM after whitespace", ws, plen + 4, 3 };
	{
		size_t one;
		unsigned char *d1 = tc_der(xs, 1, &one);

		free(d1);
		cases[4] = (struct tc_form){ "single DER", der, one, 1 };
	}
	{
		size_t b2;
		char *bd = tc_b64(der, dlen, &b2);

		cases[5] = (struct tc_form){ "base64 of DER", bd, b2, 3 };
	}
	for (i = 0; i < 6; i++) {
		c = NULL;
		err[0] = '\0';
		cr_expect_eq(cp_parse(cases[i].data, cases[i].len, &c, err, sizeof(err)), SC_OK,
			     "%s: %s", cases[i].name, err);
		if (c == NULL)
			continue;
		cr_expect_eq(c->c_chain_len, cases[i].chain, "%s: chain %zu", cases[i].name,
			     c->c_chain_len);
		cr_expect_str_eq(c->c_serial, "07", "%s", cases[i].name);
		cp_free(c);
	}
	free((void *)cases[5].data);
	free(ws);
	free(b64);
	free(der);
	free(pem);
	for (i = 0; i < 3; i++)
		X509_free(xs[i]);
	EVP_PKEY_free(k);
}

Test(certparse, key_and_signature_strength)
{
	static const struct {
		const char *name;
		const char *key;
		int sha1;      /* sign with SHA-1 instead of SHA-256 */
		const char *label;
		int weak;      /* weak-key expected */
		enum an_severity sev;
	} cases[] = {
		{ "RSA 1024 is weak", "rsa1024", 0, "RSA-1024", 1, AN_SEV_CRITICAL },
		{ "RSA 2048 is fine", "rsa2048", 0, "RSA-2048", 0, AN_SEV_INFO },
		{ "EC P-256 is fine", "P-256", 0, "EC-P256", 0, AN_SEV_INFO },
		{ "EC P-384 is fine", "P-384", 0, "EC-P384", 0, AN_SEV_INFO },
		{ "EC P-224 is weak", "P-224", 0, "EC-P224", 1, AN_SEV_CRITICAL },
		{ "SHA-1 signature", "P-256", 1, "EC-P256", 1, AN_SEV_WARNING },
		{ "Ed25519 is fine", "ed25519", 0, "Ed25519", 0, AN_SEV_INFO },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *k = tc_key(cases[i].key);
		int ed = strcmp(cases[i].key, "ed25519") == 0;
		struct tc_spec s = { "Key CA", "k", "DNS:k.example.com", TC_NOW - 60,
				     TC_NOW + 30 * TC_DAY, ed ? NULL : cases[i].sha1 ? EVP_sha1() : EVP_sha256(),
				     0, 1 };
		X509 *x = tc_cert(k, k, &s);
		struct cp_cert *c = tc_parse(x);
		struct an_report r;
		const struct an_anomaly *a;
		char label[64];

		memset(&r, 0, sizeof(r));
		cp_key_label(c, label, sizeof(label));
		cr_expect_str_eq(label, cases[i].label, "%s", cases[i].name);
		cp_check(c, NULL, TC_NOW, &r);
		a = tc_find(&r, AN_WEAK_KEY);
		cr_expect_eq(a != NULL, cases[i].weak, "%s: weak-key %s", cases[i].name,
			     a != NULL ? a->a_evidence : "absent");
		if (a != NULL && cases[i].weak) {
			cr_expect_eq(a->a_severity, cases[i].sev, "%s", cases[i].name);
			cr_expect_eq(a->a_security, 1);
		}
		cr_expect_eq(r.r_count, (size_t)cases[i].weak, "%s: nothing else fires",
			     cases[i].name);
		if (cases[i].sha1)
			cr_expect_str_eq(c->c_sig_hash, "SHA1");
		cp_free(c);
		X509_free(x);
		EVP_PKEY_free(k);
	}
}

Test(certparse, time_and_name_checks)
{
	static const struct {
		const char *name;
		const char *sans;
		int64_t nb_off;   /* notBefore - now */
		int64_t life;     /* notAfter - notBefore */
		int64_t req;      /* requested duration, 0: unknown */
		enum an_type want; /* AN_TYPE_COUNT: nothing */
		enum an_severity sev;
	} cases[] = {
		{ "plain", "DNS:a.example.com", -60, 90 * TC_DAY, 90 * TC_DAY, AN_TYPE_COUNT, 0 },
		{ "wildcard", "DNS:a.example.com,DNS:*.example.com", -60, 90 * TC_DAY, 0, AN_WILDCARD,
		  AN_SEV_INFO },
		{ "notBefore one hour ahead", "DNS:a.example.com", 3600, 90 * TC_DAY, 0,
		  AN_NOT_BEFORE_FUTURE, AN_SEV_WARNING },
		{ "notBefore within skew", "DNS:a.example.com", 120, 90 * TC_DAY, 0, AN_TYPE_COUNT, 0 },
		{ "longer than requested", "DNS:a.example.com", -60, 365 * TC_DAY, 90 * TC_DAY,
		  AN_VALIDITY_MISMATCH, AN_SEV_WARNING },
		{ "shorter than requested", "DNS:a.example.com", -60, 30 * TC_DAY, 90 * TC_DAY,
		  AN_VALIDITY_MISMATCH, AN_SEV_INFO },
		{ "within tolerance", "DNS:a.example.com", -60, 90 * TC_DAY + 1800, 90 * TC_DAY,
		  AN_TYPE_COUNT, 0 },
		{ "duration unknown", "DNS:a.example.com", -60, 5 * TC_DAY, 0, AN_TYPE_COUNT, 0 },
	};
	EVP_PKEY *k = tc_key("P-256");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tc_spec s = { "Time CA", "t", cases[i].sans, TC_NOW + cases[i].nb_off,
				     TC_NOW + cases[i].nb_off + cases[i].life, EVP_sha256(), 0, 1 };
		X509 *x = tc_cert(k, k, &s);
		struct cp_cert *c = tc_parse(x);
		struct cp_expect e = { cases[i].req, 0, 0, 0 };
		struct an_report r;
		size_t n;

		memset(&r, 0, sizeof(r));
		n = cp_check(c, &e, TC_NOW, &r);
		cr_expect_eq(n, r.r_count);
		if (cases[i].want == AN_TYPE_COUNT) {
			cr_expect_eq(r.r_count, 0, "%s: unexpected %s (%s)", cases[i].name,
				     r.r_count ? an_type_id(r.r_items[0].a_type) : "",
				     r.r_count ? r.r_items[0].a_evidence : "");
		} else {
			cr_expect_eq(r.r_count, 1, "%s: %zu findings", cases[i].name, r.r_count);
			cr_expect_eq(tc_count(&r, cases[i].want), 1, "%s", cases[i].name);
			if (r.r_count == 1)
				cr_expect_eq(r.r_items[0].a_severity, cases[i].sev, "%s", cases[i].name);
		}
		cp_free(c);
		X509_free(x);
	}
	EVP_PKEY_free(k);
}

static void
tc_expect_bad(const void *d, size_t len, const char *what)
{
	struct cp_cert *c = (struct cp_cert *)(uintptr_t)1;
	char err[200];
	int rc;

	err[0] = '\0';
	rc = cp_parse(d, len, &c, err, sizeof(err));
	cr_expect_neq(rc, SC_OK, "%s: accepted", what);
	cr_expect_null(c, "%s: out not cleared", what);
	cr_expect_neq(err[0], '\0', "%s: no message", what);
	if (rc == SC_OK)
		cp_free(c);
}

Test(certparse, malformed_input_fails_cleanly)
{
	EVP_PKEY *k = tc_key("P-256");
	struct tc_spec s = { "Bad CA", "bad", "DNS:bad.example.com", TC_NOW, TC_NOW + TC_DAY,
			     EVP_sha256(), 0, 3 };
	X509 *x = tc_cert(k, k, &s), *two[2] = { x, x };
	size_t plen, dlen, p2len, cut, i, n;
	char *pem = tc_pem(&x, 1, &plen), *pem2 = tc_pem(two, 2, &p2len), what[64], buf[2048];
	unsigned char *der = tc_der(&x, 1, &dlen);
	uint64_t seed = 0x1234;
	struct cp_cert *c = NULL;
	char err[200];

	tc_expect_bad("", 0, "empty");
	tc_expect_bad(" \n\t", 3, "whitespace");
	tc_expect_bad("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", 54, "empty PEM");
	tc_expect_bad("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 59,
		      "PEM with a bad body");
	tc_expect_bad("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 59,
		      "not a certificate");
	tc_expect_bad("hello world", 11, "text");
	tc_expect_bad("aGVsbG8=", 8, "base64 of text");
	/* Every truncation of the PEM that loses part of the certificate is refused. */
	for (cut = 0; cut + 30 < plen; cut += 7) {
		snprintf(what, sizeof(what), "PEM cut at %zu/%zu", cut, plen);
		tc_expect_bad(pem, cut, what);
	}
	/* Every truncation of the DER, byte by byte. */
	for (cut = 1; cut < dlen; cut++) {
		snprintf(what, sizeof(what), "DER cut at %zu/%zu", cut, dlen);
		tc_expect_bad(der, cut, what);
	}
	/* A bundle whose second certificate is cut short is damaged as a whole. */
	snprintf(what, sizeof(what), "bundle cut in the second certificate");
	tc_expect_bad(pem2, plen + (p2len - plen) / 2, what);
	/* The same for DER, at every byte of the second certificate (only checked as DER). */
	{
		size_t d2len;
		unsigned char *der2 = tc_der(two, 2, &d2len);

		for (cut = dlen + 1; cut < d2len; cut++) {
			snprintf(what, sizeof(what), "DER bundle cut at %zu/%zu", cut, d2len);
			tc_expect_bad(der2, cut, what);
		}
		/* a second element that is not a DER sequence at all */
		der2[dlen] = 0x04;
		tc_expect_bad(der2, d2len, "DER bundle whose second element is not a sequence");
		free(der2);
	}
	/* Random bytes, with and without a DER-looking first byte. */
	for (i = 0; i < 300; i++) {
		n = 1 + (size_t)(seed % sizeof(buf));
		for (cut = 0; cut < n; cut++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			buf[cut] = (char)(seed >> 56);
		}
		if (i % 3 == 0)
			buf[0] = 0x30;
		snprintf(what, sizeof(what), "random %zu", i);
		tc_expect_bad(buf, n, what);
	}
	/* Limits and arguments. */
	{
		size_t big = CP_MAX_INPUT + 1;
		char *huge = calloc(1, big);

		cr_expect_eq(cp_parse(huge, big, &c, err, sizeof(err)), SC_ERR_RANGE);
		cr_expect_null(c);
		free(huge);
	}
	cr_expect_eq(cp_parse(NULL, 10, &c, err, sizeof(err)), SC_ERR_INVAL);
	cr_expect_eq(cp_parse(pem, plen, NULL, err, sizeof(err)), SC_ERR_INVAL);
	cr_expect_eq(cp_parse("junk", 4, &c, NULL, 0), SC_ERR_PARSE);
	/* The intact inputs still parse: the failures above are the damage, not the data. */
	cr_expect_eq(cp_parse(pem, plen, &c, err, sizeof(err)), SC_OK, "%s", err);
	cp_free(c);
	cr_expect_eq(cp_parse(der, dlen, &c, err, sizeof(err)), SC_OK, "%s", err);
	cp_free(c);
	cp_free(NULL);
	free(pem);
	free(pem2);
	free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* ---- checks with baselines, through an_observe --------------------------------------------- */

struct tc_env {
	struct an_state *st;
	EVP_PKEY *ca1, *ca2;
};

static void
tc_env_init(struct tc_env *e)
{
	struct an_config cfg;

	an_config_default(&cfg);
	cfg.c_warmup_obs = 10;
	cfg.c_warmup_age = 3600;
	cr_assert_eq(an_new(&cfg, &e->st), SC_OK);
	e->ca1 = tc_key("P-256");
	e->ca2 = tc_key("P-256");
}

static void
tc_env_free(struct tc_env *e)
{
	an_free(e->st);
	EVP_PKEY_free(e->ca1);
	EVP_PKEY_free(e->ca2);
}

/* Issues a certificate for ns/name and observes it; returns the report. */
static void
tc_issue(struct tc_env *e, const char *ns, const char *name, const char *dns, EVP_PKEY *key,
	 EVP_PKEY *ca, const char *ca_cn, int64_t t, struct an_report *r)
{
	char sans[300], uid[64];
	const char *names[1] = { dns };
	struct tc_spec s = { ca_cn, name, sans, t, t + 90 * TC_DAY, EVP_sha256(), 0, t };
	static unsigned seq;
	struct an_obs o;
	struct cp_cert *c;
	X509 *x;

	snprintf(sans, sizeof(sans), "DNS:%s", dns);
	x = tc_cert(key, ca, &s);
	c = tc_parse(x);
	snprintf(uid, sizeof(uid), "uid-%u", ++seq);
	memset(&o, 0, sizeof(o));
	o.o_uid = uid;
	o.o_namespace = ns;
	o.o_name = name;
	o.o_issuer = "ClusterIssuer/corp-ca";
	o.o_username = "system:serviceaccount:cert-manager:cert-manager";
	o.o_dns_names = names;
	o.o_ndns = 1;
	o.o_duration = 90 * TC_DAY;
	o.o_time = t;
	o.o_cert = c;
	memset(r, 0, sizeof(*r));
	cr_assert_eq(an_observe(e->st, &o, t, r), SC_OK);
	cp_free(c);
	X509_free(x);
}

Test(certparse, unexpected_ca_after_warmup)
{
	struct tc_env e;
	struct an_report r;
	EVP_PKEY *k = tc_key("P-256");
	int64_t t = TC_NOW;
	int i;

	tc_env_init(&e);
	for (i = 0; i < 30; i++, t += 3600) {
		EVP_PKEY *ki = tc_key("P-256");
		char name[32];

		snprintf(name, sizeof(name), "app%d", i);
		tc_issue(&e, "shop", name, "app.shop.example.com", ki, e.ca1, "Corp CA 1", t, &r);
		cr_expect_eq(tc_count(&r, AN_UNEXPECTED_CA), 0, "usual CA flagged at %d", i);
		EVP_PKEY_free(ki);
	}
	/* The usual CA still passes; a different CA for the same issuerRef does not. */
	tc_issue(&e, "shop", "usual", "app.shop.example.com", k, e.ca1, "Corp CA 1", t, &r);
	cr_expect_eq(tc_count(&r, AN_UNEXPECTED_CA), 0);
	tc_issue(&e, "shop", "odd", "app.shop.example.com", e.ca2, e.ca2, "Rogue CA", t + 60, &r);
	cr_expect_eq(tc_count(&r, AN_UNEXPECTED_CA), 1);
	cr_expect_not_null(strstr(r.r_items[0].a_evidence, "Rogue CA"), "%s",
			   r.r_items[0].a_evidence);
	EVP_PKEY_free(k);
	tc_env_free(&e);
}

Test(certparse, unexpected_ca_not_during_warmup)
{
	struct tc_env e;
	struct an_report r;
	EVP_PKEY *k = tc_key("P-256");

	tc_env_init(&e);
	tc_issue(&e, "new", "a", "a.new.example.com", k, e.ca1, "Corp CA 1", TC_NOW, &r);
	tc_issue(&e, "new", "b", "b.new.example.com", e.ca2, e.ca2, "Other CA", TC_NOW + 60, &r);
	cr_expect_eq(tc_count(&r, AN_UNEXPECTED_CA), 0);
	EVP_PKEY_free(k);
	tc_env_free(&e);
}

Test(certparse, key_reuse_across_certificates)
{
	static const struct {
		const char *name;
		const char *ns;   /* second certificate */
		const char *cert;
		int fires;
		enum an_severity sev;
	} cases[] = {
		{ "renewal of the same certificate", "team-a", "web", 0, AN_SEV_INFO },
		{ "another certificate, same namespace", "team-a", "api", 1, AN_SEV_WARNING },
		{ "another namespace", "team-b", "web", 1, AN_SEV_CRITICAL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tc_env e;
		struct an_report r;
		EVP_PKEY *k = tc_key("P-256"), *other = tc_key("P-256");
		const struct an_anomaly *a;

		tc_env_init(&e);
		tc_issue(&e, "team-a", "web", "web.a.example.com", k, e.ca1, "Corp CA 1", TC_NOW, &r);
		cr_expect_eq(tc_count(&r, AN_KEY_REUSE), 0, "%s: first use", cases[i].name);
		tc_issue(&e, cases[i].ns, cases[i].cert, "x.a.example.com", k, e.ca1, "Corp CA 1",
			 TC_NOW + 600, &r);
		a = tc_find(&r, AN_KEY_REUSE);
		cr_expect_eq(a != NULL, cases[i].fires, "%s", cases[i].name);
		if (a != NULL) {
			cr_expect_eq(a->a_severity, cases[i].sev, "%s", cases[i].name);
			cr_expect_not_null(strstr(a->a_evidence, "team-a/web"), "%s", a->a_evidence);
			cr_expect_eq(a->a_security, 1);
		}
		/* A fresh key never fires, in any of the cases. */
		tc_issue(&e, cases[i].ns, cases[i].cert, "x.a.example.com", other, e.ca1, "Corp CA 1",
			 TC_NOW + 1200, &r);
		cr_expect_eq(tc_count(&r, AN_KEY_REUSE), 0, "%s: fresh key", cases[i].name);
		EVP_PKEY_free(k);
		EVP_PKEY_free(other);
		tc_env_free(&e);
	}
}

Test(certparse, san_outside_usual_domains)
{
	struct tc_env e;
	struct an_report r;
	EVP_PKEY *k = tc_key("P-256");
	int64_t t = TC_NOW;
	int i;
	struct an_obs o;
	struct cp_cert *c;
	X509 *x;
	const char *asked[1] = { "pay.shop.example.com" };
	struct tc_spec s = { "Corp CA 1", "pay", "DNS:pay.shop.example.com,DNS:login.evil.test", 0, 0,
			     EVP_sha256(), 0, 99 };

	tc_env_init(&e);
	for (i = 0; i < 30; i++, t += 3600) {
		char name[32];

		snprintf(name, sizeof(name), "svc%d", i);
		tc_issue(&e, "shop", name, i % 2 ? "a.shop.example.com" : "b.shop.example.com", k,
			 e.ca1, "Corp CA 1", t, &r);
		cr_expect_eq(tc_count(&r, AN_SAN_OUTSIDE_DOMAINS), 0);
	}
	/* The CA added a name nobody asked for, in a domain the namespace never uses. */
	s.nb = t;
	s.na = t + 90 * TC_DAY;
	x = tc_cert(k, e.ca1, &s);
	c = tc_parse(x);
	memset(&o, 0, sizeof(o));
	o.o_uid = "odd-one";
	o.o_namespace = "shop";
	o.o_name = "pay";
	o.o_issuer = "ClusterIssuer/corp-ca";
	o.o_dns_names = asked;
	o.o_ndns = 1;
	o.o_time = t;
	o.o_cert = c;
	memset(&r, 0, sizeof(r));
	cr_assert_eq(an_observe(e.st, &o, t, &r), SC_OK);
	cr_expect_eq(tc_count(&r, AN_SAN_OUTSIDE_DOMAINS), 1);
	if (tc_find(&r, AN_SAN_OUTSIDE_DOMAINS) != NULL)
		cr_expect_not_null(strstr(tc_find(&r, AN_SAN_OUTSIDE_DOMAINS)->a_evidence, "evil.test"));
	cp_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
	tc_env_free(&e);
}

/* Bit flips in a real certificate: refused with a message, or parsed into a usable struct. */
Test(certparse, mutated_certificates_never_crash)
{
	EVP_PKEY *k = tc_key("P-256");
	struct tc_spec s = { "Flip CA", "flip", "DNS:flip.example.com,IP:10.0.0.1,URI:https://x/y",
			     TC_NOW, TC_NOW + TC_DAY, EVP_sha256(), 0, 11 };
	X509 *x = tc_cert(k, k, &s);
	size_t dlen, i;
	unsigned char *der = tc_der(&x, 1, &dlen), *buf = malloc(dlen);
	uint64_t seed = 77;
	int n, ok = 0, bad = 0;

	for (n = 0; n < 1500; n++) {
		struct cp_cert *c = NULL;
		struct an_report r;
		char err[200] = "", label[64];

		memcpy(buf, der, dlen);
		for (i = 0; i < 1 + (size_t)(n % 4); i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			buf[(seed >> 17) % dlen] ^= (unsigned char)(1u << ((seed >> 7) % 8));
		}
		if (cp_parse(buf, dlen, &c, err, sizeof(err)) == SC_OK) {
			ok++;
			memset(&r, 0, sizeof(r));
			cp_check(c, NULL, TC_NOW, &r);
			cp_key_label(c, label, sizeof(label));
			cr_assert_not_null(c->c_subject);
			cr_assert_not_null(c->c_issuer);
			cp_free(c);
		} else {
			bad++;
			cr_assert_null(c);
			cr_assert_neq(err[0], '\0');
		}
	}
	cr_log_info("bit flips: %d parsed, %d refused", ok, bad);
	cr_expect_gt(bad, 0);
	cr_expect_gt(ok, 0);
	free(buf);
	free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

/*
 * The ARI identifier of RFC 9773's own example (section 4.1): keyIdentifier
 * 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4 and serial 0x87654321, whose DER
 * content needs a leading zero byte because its top bit is set.
 */
Test(certparse, ari_identifier_of_a_real_certificate)
{
	static const unsigned char kid[] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1,
	    0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};
	EVP_PKEY *ca = tc_key("P-256"), *k = tc_key("P-256");
	struct tc_spec sp = {.issuer_cn = "ARI CA", .cn = "ari.example", .nb = TC_NOW,
	    .na = TC_NOW + 90 * TC_DAY, .md = EVP_sha256(), .serial = 0x87654321L,
	    .aki = kid, .aki_len = sizeof kid};
	X509 *x = tc_cert(k, ca, &sp);
	struct cp_cert *c = tc_parse(x);
	char id[CP_ARI_ID_MAX];
	cr_assert_eq(cp_ari_id(c, id, sizeof id), SC_OK);
	cr_expect_str_eq(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	cr_expect_eq(c->c_serial_der_len, 5);
	/* too small a buffer: refused, never cut */
	char small[20] = "x";
	cr_expect_eq(cp_ari_id(c, small, sizeof small), SC_ERR_RANGE);
	cr_expect_str_eq(small, "");
	cp_free(c);
	X509_free(x);

	/* a serial whose top bit is clear needs no sign byte: 0x12 -> "Eg" */
	sp.serial = 0x12;
	x = tc_cert(k, ca, &sp);
	c = tc_parse(x);
	cr_assert_eq(cp_ari_id(c, id, sizeof id), SC_OK);
	cr_expect_str_eq(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.Eg");
	cp_free(c);
	X509_free(x);

	/* no authorityKeyIdentifier: there is no identifier to ask for */
	sp.aki = NULL;
	x = tc_cert(k, ca, &sp);
	c = tc_parse(x);
	cr_expect_eq(c->c_aki_len, 0);
	cr_expect_eq(cp_ari_id(c, id, sizeof id), SC_ERR_INVAL);
	cr_expect_eq(cp_ari_id(NULL, id, sizeof id), SC_ERR_INVAL);
	cp_free(c);
	X509_free(x);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(k);
}
