/*
 * Tests for decode: realistic cert-manager objects (tests/unit/fixtures/cm-*.json) and an Event
 * of certcast's own (certcast-event.json) decode into the expected records, and each malformed
 * field is refused with a message naming its path.
 */
#include "cc_err.h"
#include "decode.h"
#include "intern.h"
#include "records.h"
#include "timefmt.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURES "tests/unit/fixtures/"

static cJSON *
load(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, FIXTURES "%s", name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s (run from the repository root)", path);
	static char text[1 << 16];
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	cJSON *j = cJSON_Parse(text);
	cr_assert_not_null(j, "%s is not JSON", path);
	return j;
}

static int64_t
t(const char *s)
{
	int64_t v;
	cr_assert_eq(tf_parse_time(s, &v), CC_OK, "bad test time %s", s);
	return v;
}

/* Decode a fixture; the caller frees with rec_free(in, rec). */
static void *
decode_ok(struct intern *in, enum res_kind kind, const char *fixture)
{
	cJSON *j = load(fixture);
	void *rec = NULL;
	char err[256] = "";
	int rc = dec_record(in, kind, j, &rec, err, sizeof err);
	cJSON_Delete(j);
	cr_assert_eq(rc, CC_OK, "%s: %s", fixture, err);
	cr_assert_not_null(rec);
	return rec;
}

static struct intern *in;

static void
setup(void)
{
	in = intern_new();
}

static void
teardown(void)
{
	/* Every interned string went back with its record. */
	cr_expect_eq(intern_count(in), 0, "%zu interned strings leaked", intern_count(in));
	intern_free(in);
}

TestSuite(decode, .init = setup, .fini = teardown);

Test(decode, certificate_fixture)
{
	struct rec_cert *c = decode_ok(in, RES_CERTIFICATE, "cm-certificate.json");
	cr_expect_eq(c->c_meta.m_kind, RES_CERTIFICATE);
	cr_expect_str_eq(c->c_meta.m_ns, "shop");
	cr_expect_str_eq(c->c_meta.m_name, "shop-tls");
	cr_expect_str_eq(c->c_meta.m_uid, "5f0c2a3e-8d1b-4a47-9d3e-2b6f1c0e9a11");
	cr_expect_str_eq(c->c_meta.m_rv, "48213");
	cr_expect_eq(c->c_meta.m_generation, 3);
	cr_expect_eq(c->c_meta.m_created, t("2025-01-10T08:00:00Z"));
	cr_expect_eq(c->c_meta.m_desc, -1);
	/* Only certcast.io/ annotations are kept; the rest are counted. */
	cr_expect_eq(c->c_nannots, 3);
	cr_expect_eq(c->c_other_annots, 2);
	cr_expect_str_eq(rec_cert_annot(c, "certcast.io/mode"), "enforce");
	cr_expect_str_eq(rec_cert_annot(c, "certcast.io/min-renew-before"), "240h");
	cr_expect_null(rec_cert_annot(c, "certcast.io/fallback-issuer"));
	cr_expect_null(rec_cert_annot(c, "argocd.argoproj.io/tracking-id"));
	cr_expect_str_eq(c->c_issuer.rf_name, "letsencrypt-prod");
	cr_expect_str_eq(c->c_issuer.rf_kind, "ClusterIssuer");
	cr_expect_str_eq(c->c_issuer.rf_group, "cert-manager.io");
	cr_expect(rec_ref_is_cm(&c->c_issuer));
	cr_expect_str_eq(c->c_secret_name, "shop-tls");
	cr_expect_str_eq(c->c_common_name, "shop.example.com");
	cr_assert_eq(c->c_ndns, 2);
	cr_expect_str_eq(c->c_dns_names[1], "www.shop.example.com");
	cr_expect(c->c_has_duration);
	cr_expect_eq(c->c_duration, 2160 * 3600);
	cr_expect(c->c_has_renew_before);
	cr_expect_eq(c->c_renew_before, 360 * 3600);
	cr_expect(!c->c_has_renew_pct);
	cr_expect_eq(c->c_key_alg, REC_KEY_ECDSA);
	cr_expect_eq(c->c_key_size, 256);
	cr_expect(c->c_has_rev_limit);
	cr_expect_eq(c->c_rev_limit, 3);
	cr_expect_eq(c->c_renewal_policy, REC_RENEWAL_RENEW_BEFORE);
	cr_assert_eq(c->c_nwindows, 2);
	cr_expect_str_eq(c->c_windows[0].w_cron, "0 4 * * 2");
	cr_expect_str_eq(c->c_windows[0].w_tz, "America/Chicago");
	cr_expect_eq(c->c_windows[0].w_duration, 3 * 3600);
	cr_expect_eq(c->c_windows[1].w_duration, 4 * 3600);
	cr_expect(!c->c_is_ca);
	cr_expect_eq(c->c_ready.c_status, REC_COND_TRUE);
	cr_expect_str_eq(c->c_ready.c_reason, "Ready");
	cr_expect_eq(c->c_ready.c_ltt, t("2025-03-01T09:12:44Z"));
	cr_expect(c->c_ready.c_has_obs_gen);
	cr_expect_eq(c->c_ready.c_obs_gen, 3);
	cr_expect_eq(c->c_issuing.c_status, REC_COND_FALSE);
	cr_expect_str_eq(c->c_issuing.c_reason, "Failed");
	cr_expect_not_null(strstr(c->c_issuing.c_message, "shop-tls-7-2870041342"));
	cr_expect_eq(c->c_not_before, t("2025-03-01T08:12:40Z"));
	cr_expect_eq(c->c_not_after, t("2025-05-30T08:12:39Z"));
	cr_expect_eq(c->c_renewal_time, t("2025-05-15T08:12:39Z"));
	cr_expect(c->c_has_revision);
	cr_expect_eq(c->c_revision, 7);
	cr_expect_eq(c->c_failed_attempts, 2);
	cr_expect_eq(c->c_last_failure, t("2025-03-20T02:00:11Z"));
	cr_expect(c->c_has_next_key);
	rec_free(in, c);
}

/* Parse each DER certificate of a bundle with OpenSSL; returns how many parsed. */
static int
der_count(const unsigned char *der, size_t len, char *leaf_cn, size_t cnlen)
{
	const unsigned char *p = der, *end = der + len;
	int n = 0;
	while (p < end) {
		X509 *x = d2i_X509(NULL, &p, (long)(end - p));
		if (x == NULL)
			return -1;
		if (n == 0)
			X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, leaf_cn,
			    (int)cnlen);
		X509_free(x);
		n++;
	}
	return n;
}

Test(decode, certificaterequest_fixture)
{
	struct rec_cr *r = decode_ok(in, RES_CERTIFICATEREQUEST, "cm-certificaterequest.json");
	cr_expect_str_eq(r->r_meta.m_name, "shop-tls-7");
	cr_expect_str_eq(r->r_cert_name, "shop-tls");
	cr_expect(r->r_has_revision);
	cr_expect_eq(r->r_revision, 7);
	cr_expect_str_eq(r->r_issuer.rf_kind, "ClusterIssuer");
	cr_expect_str_eq(r->r_username, "system:serviceaccount:cert-manager:cert-manager");
	cr_expect_eq(r->r_duration, 2160 * 3600);
	cr_expect_eq(r->r_nusages, 2);
	cr_expect_eq(r->r_approved.c_status, REC_COND_TRUE);
	cr_expect_eq(r->r_ready.c_status, REC_COND_TRUE);
	cr_expect_str_eq(r->r_ready.c_reason, "Issued");
	cr_expect_eq(r->r_denied.c_status, REC_COND_ABSENT);
	cr_expect_eq(r->r_invalid.c_status, REC_COND_ABSENT);
	cr_expect_eq(r->r_failure_time, REC_TIME_NONE);
	/* The PEM chain arrives as DER that OpenSSL reads back: leaf first, then the CA. */
	cr_assert_gt(r->r_der_len, 0);
	cr_expect_eq(r->r_ncerts, 2);
	char cn[128] = "";
	cr_expect_eq(der_count(r->r_der, r->r_der_len, cn, sizeof cn), 2);
	cr_expect_str_eq(cn, "shop.example.com");
	rec_free(in, r);
}

Test(decode, certificaterequest_failed_owner_from_reference)
{
	struct rec_cr *r =
	    decode_ok(in, RES_CERTIFICATEREQUEST, "cm-certificaterequest-failed.json");
	/* No certificate-name annotation: the controller ownerReference of kind Certificate. */
	cr_expect_str_eq(r->r_cert_name, "shop-tls");
	cr_expect(!r->r_has_revision);
	/* Empty group defaults to cert-manager.io. */
	cr_expect_str_eq(r->r_issuer.rf_group, REC_CM_GROUP);
	cr_expect_eq(r->r_ready.c_status, REC_COND_FALSE);
	cr_expect_str_eq(r->r_ready.c_reason, "Failed");
	cr_expect_not_null(strstr(r->r_ready.c_message, "rateLimited"));
	cr_expect_eq(r->r_failure_time, t("2025-03-20T02:00:11Z"));
	cr_expect_eq(r->r_der_len, 0);
	cr_expect_null(r->r_der);
	cr_expect_eq(r->r_nusages, 0);
	rec_free(in, r);
}

/* The ACME block's TLS settings, which the ARI poller uses; a bad caBundle keeps the issuer. */
Test(decode, issuer_acme_tls)
{
	cJSON *j = load("cm-clusterissuer-acme.json");
	cJSON *acme = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "spec"), "acme");
	cr_assert_not_null(acme);
	/* "-----BEGIN CERTIFICATE-----\n" in base64 */
	cJSON_AddStringToObject(acme, "caBundle", "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==");
	cJSON_AddBoolToObject(acme, "skipTLSVerify", 1);
	void *rec = NULL;
	char err[256] = "";
	cr_assert_eq(dec_record(in, RES_CLUSTERISSUER, j, &rec, err, sizeof err), CC_OK, "%s", err);
	struct rec_issuer *is = rec;
	cr_expect_eq(is->i_acme_ca_len, 28);
	cr_expect_eq(memcmp(is->i_acme_ca, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	cr_expect(!is->i_acme_ca_bad);
	cr_expect(is->i_acme_skip_tls);
	rec_free(in, is);

	cJSON_ReplaceItemInObject(acme, "caBundle", cJSON_CreateString("%%% not base64"));
	cr_assert_eq(dec_record(in, RES_CLUSTERISSUER, j, &rec, err, sizeof err), CC_OK, "%s", err);
	is = rec;
	cr_expect_null(is->i_acme_ca);
	cr_expect(is->i_acme_ca_bad);
	cr_expect_str_eq(is->i_acme_server, "https://acme-v02.api.letsencrypt.org/directory");
	rec_free(in, is);

	cJSON_ReplaceItemInObject(acme, "skipTLSVerify", cJSON_CreateString("yes"));
	cr_expect_neq(dec_record(in, RES_CLUSTERISSUER, j, &rec, err, sizeof err), CC_OK);
	cr_expect_str_eq(err, "spec.acme.skipTLSVerify: expected a boolean, got a string");
	cJSON_Delete(j);
}

Test(decode, issuers)
{
	struct rec_issuer *ci = decode_ok(in, RES_CLUSTERISSUER, "cm-clusterissuer-acme.json");
	cr_expect_eq(ci->i_meta.m_kind, RES_CLUSTERISSUER);
	cr_expect_str_eq(ci->i_meta.m_ns, "");
	cr_expect_eq(ci->i_type, REC_ISSUER_ACME);
	cr_expect_str_eq(rec_issuer_type_name(ci->i_type), "acme");
	cr_expect_str_eq(ci->i_acme_server, "https://acme-v02.api.letsencrypt.org/directory");
	cr_expect_null(ci->i_acme_ca);
	cr_expect(!ci->i_acme_skip_tls);
	cr_expect_eq(ci->i_ready.c_status, REC_COND_TRUE);
	cr_expect_str_eq(ci->i_ready.c_reason, "ACMEAccountRegistered");
	rec_free(in, ci);

	struct rec_issuer *is = decode_ok(in, RES_ISSUER, "cm-issuer-ca.json");
	cr_expect_str_eq(is->i_meta.m_ns, "shop");
	cr_expect_eq(is->i_type, REC_ISSUER_CA);
	cr_expect_null(is->i_acme_server);
	cr_expect_eq(is->i_ready.c_status, REC_COND_FALSE);
	cr_expect_str_eq(is->i_ready.c_reason, "ErrGetKeyPair");
	cr_expect_eq(is->i_ready.c_ltt, t("2025-02-11T07:00:00Z"));
	rec_free(in, is);
}

Test(decode, order_and_challenge)
{
	struct rec_order *o = decode_ok(in, RES_ORDER, "cm-order.json");
	cr_expect_str_eq(o->o_cr_name, "shop-tls-8");
	cr_expect_eq(o->o_state, REC_ACME_ERRORED);
	cr_expect_str_eq(rec_acme_state_name(o->o_state), "errored");
	cr_expect_not_null(strstr(o->o_reason, "rateLimited"));
	cr_expect_eq(o->o_failure_time, t("2025-03-20T02:00:10Z"));
	cr_expect_eq(o->o_ndns, 2);
	cr_expect_str_eq(o->o_url, "https://acme-v02.api.letsencrypt.org/acme/order/123456789/987654321");
	rec_free(in, o);

	struct rec_challenge *ch = decode_ok(in, RES_CHALLENGE, "cm-challenge.json");
	cr_expect_str_eq(ch->ch_order_name, "shop-tls-8-2870041342");
	cr_expect_eq(ch->ch_type, REC_CHALLENGE_HTTP01);
	cr_expect_str_eq(ch->ch_dns_name, "shop.example.com");
	cr_expect_eq(ch->ch_state, REC_ACME_PENDING);
	cr_expect(ch->ch_presented);
	cr_expect(ch->ch_processing);
	cr_expect_not_null(strstr(ch->ch_reason, "404"));
	rec_free(in, ch);
}

Test(decode, events_old_and_new_style)
{
	struct rec_event *e = decode_ok(in, RES_EVENT, "cm-event-core.json");
	cr_expect_str_eq(e->ev_obj_kind, "CertificateRequest");
	cr_expect_str_eq(e->ev_obj_ns, "shop");
	cr_expect_str_eq(e->ev_obj_name, "shop-tls-8");
	cr_expect_str_eq(e->ev_obj_uid, "d2e3f405-1b2c-4d3e-9f40-516273849506");
	cr_expect_str_eq(e->ev_reason, "OrderFailed");
	cr_expect_eq(e->ev_type, REC_EVENT_WARNING);
	cr_expect_eq(e->ev_count, 4);
	cr_expect_eq(e->ev_first, t("2025-03-20T02:00:11Z"));
	cr_expect_eq(e->ev_last, t("2025-03-20T03:10:40Z"));
	/* reportingComponent is "" in old-style events: source.component is used. */
	cr_expect_str_eq(e->ev_component, "cert-manager-certificaterequests-issuer-acme");
	rec_free(in, e);

	struct rec_event *s = decode_ok(in, RES_EVENT, "cm-event-series.json");
	cr_expect_str_eq(s->ev_obj_kind, "Certificate");
	cr_expect_eq(s->ev_count, 3);
	cr_expect_eq(s->ev_first, t("2025-03-20T02:00:12Z"));
	cr_expect_eq(s->ev_last, t("2025-03-20T05:00:12Z"));
	cr_expect(s->ev_first < s->ev_last);
	cr_expect_str_eq(s->ev_component, "cert-manager-certificates-issuing");
	rec_free(in, s);
}

/*
 * certcast's own Events, flagged for the store to drop, by either name of the reporter; anyone
 * else's (cert-manager's, or a component whose name only resembles certcast) is not flagged.
 * certcast-event.json is the core/v1 view, as the API server returned it, of an Event certcast
 * created through events.k8s.io/v1: reportingComponent "certcast", source {}, no count and no
 * first/last timestamps, only eventTime.
 */
Test(decode, own_events_flagged)
{
	struct rec_event *o = decode_ok(in, RES_EVENT, "certcast-event.json");
	cr_expect(o->ev_own, "an events.k8s.io Event certcast created is its own");
	cr_expect_str_eq(o->ev_component, "certcast");
	cr_expect_str_eq(o->ev_obj_kind, "Certificate");
	cr_expect_eq(o->ev_type, REC_EVENT_WARNING);
	cr_expect_eq(o->ev_count, 1);
	cr_expect_eq(o->ev_first, t("2026-12-02T05:00:00Z"), "eventTime stands for both times");
	cr_expect_eq(o->ev_last, o->ev_first);
	rec_free(in, o);

	static const struct {
		const char *name;
		const char *component; /* reportingComponent, JSON */
		const char *source;    /* source, JSON */
		bool own;
	} cases[] = {
	    {"reportingComponent certcast (events.k8s.io)", "\"certcast\"", "{}", true},
	    {"source.component certcast (old-style recorder)", "\"\"",
		"{\"component\":\"certcast\"}", true},
	    {"either is enough", "\"certcast\"", "{\"component\":\"cert-manager\"}", true},
	    {"cert-manager, new style", "\"cert-manager-certificates-issuing\"", "{}", false},
	    {"cert-manager, old style", "\"\"", "{\"component\":\"cert-manager\"}", false},
	    {"a name that only starts like certcast", "\"certcast-helper\"", "{}", false},
	    {"case matters, as in the API", "\"Certcast\"", "{}", false},
	    {"no reporter at all", "null", "null", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = xasprintf("{\"metadata\":{\"namespace\":\"ns\",\"name\":\"e\"},"
		    "\"involvedObject\":{\"kind\":\"Certificate\",\"namespace\":\"ns\","
		    "\"name\":\"a\"},\"reason\":\"RiskRaised\",\"message\":\"rate limit\","
		    "\"reportingComponent\":%s,\"source\":%s}",
		    cases[i].component, cases[i].source);
		cJSON *j = cJSON_Parse(text);
		free(text);
		cr_assert_not_null(j, "%s: bad test JSON", cases[i].name);
		void *rec = NULL;
		char err[256] = "";
		int rc = dec_record(in, RES_EVENT, j, &rec, err, sizeof err);
		cJSON_Delete(j);
		cr_assert_eq(rc, CC_OK, "%s: %s", cases[i].name, err);
		cr_expect_eq(((struct rec_event *)rec)->ev_own, cases[i].own, "%s: ev_own %d",
		    cases[i].name, ((struct rec_event *)rec)->ev_own);
		rec_free(in, rec);
	}
	/* The fixtures of cert-manager's Events are not certcast's. */
	struct rec_event *e = decode_ok(in, RES_EVENT, "cm-event-core.json");
	cr_expect(!e->ev_own);
	rec_free(in, e);
	e = decode_ok(in, RES_EVENT, "cm-event-series.json");
	cr_expect(!e->ev_own);
	rec_free(in, e);
}

Test(decode, pod_fixture)
{
	struct rec_pod *p = decode_ok(in, RES_POD, "cm-pod.json");
	cr_expect_str_eq(p->p_meta.m_ns, "cert-manager");
	cr_expect_eq(p->p_phase, REC_POD_RUNNING);
	cr_expect(p->p_ready);
	cr_expect_eq(p->p_restarts, 4);
	/* The latest termination of any container wins. */
	cr_expect_eq(p->p_last_term, t("2025-03-19T23:39:58Z"));
	cr_expect_str_eq(p->p_last_term_reason, "OOMKilled");
	cr_expect_eq(p->p_start_time, t("2025-03-18T12:00:00Z"));
	cr_expect_str_eq(p->p_ip, "10.244.1.17");
	rec_free(in, p);
}


/*
 * Set the value at path (dots, [N] and ["key"] segments) to the JSON text val, creating objects
 * on the way; val NULL deletes it.
 */
static void
set_path(cJSON *root, const char *path, const char *val)
{
	cJSON *cur = root;
	const char *p = path;
	for (;;) {
		char key[512];
		int idx = -1;
		size_t k = 0;
		if (*p == '[' && p[1] == '"') {
			p += 2;
			while (*p != '"')
				key[k++] = *p++;
			p += 2;
		} else if (*p == '[') {
			idx = (int)strtol(p + 1, (char **)&p, 10);
			p++;
		} else {
			while (*p != '\0' && *p != '.' && *p != '[')
				key[k++] = *p++;
		}
		key[k] = '\0';
		if (*p == '.')
			p++;
		bool last = *p == '\0';
		if (last) {
			cJSON *v = val ? cJSON_Parse(val) : NULL;
			cr_assert(val == NULL || v != NULL, "bad test JSON %s", val);
			if (idx >= 0) {
				if (v)
					cJSON_ReplaceItemInArray(cur, idx, v);
				else
					cJSON_DeleteItemFromArray(cur, idx);
			} else {
				cJSON_DeleteItemFromObjectCaseSensitive(cur, key);
				if (v)
					cJSON_AddItemToObject(cur, key, v);
			}
			return;
		}
		cJSON *next = idx >= 0 ? cJSON_GetArrayItem(cur, idx) :
		    cJSON_GetObjectItemCaseSensitive(cur, key);
		if (next == NULL) {
			cr_assert(idx < 0, "no element %d in %s", idx, path);
			next = cJSON_AddObjectToObject(cur, key);
		}
		cur = next;
	}
}

static char *
b64(const void *data, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	return out;
}

/* A JSON string literal holding base64 of s. */
static char *
b64_json(const char *s)
{
	char *b = b64(s, strlen(s));
	char *j = xasprintf("\"%s\"", b);
	free(b);
	return j;
}

struct bad_case {
	const char *bc_name;     /* case name */
	enum res_kind bc_kind;
	const char *bc_fixture;
	const char *bc_path;     /* field to change */
	const char *bc_value;    /* new JSON value, NULL to delete */
	int bc_rc;               /* expected error */
	const char *bc_msg;      /* expected message */
};

static void
check_bad(const struct bad_case *c)
{
	cJSON *j = load(c->bc_fixture);
	void *rec = (void *)1;
	char err[512] = "";
	/* The unchanged fixture decodes, so the change is what the error is about. */
	cr_assert_eq(dec_record(in, c->bc_kind, j, &rec, err, sizeof err), CC_OK, "%s: %s",
	    c->bc_name, err);
	rec_free(in, rec);
	set_path(j, c->bc_path, c->bc_value);
	rec = (void *)1;
	err[0] = '\0';
	int rc = dec_record(in, c->bc_kind, j, &rec, err, sizeof err);
	cJSON_Delete(j);
	cr_expect_eq(rc, c->bc_rc, "%s: rc %d, want %d (%s)", c->bc_name, rc, c->bc_rc, err);
	cr_expect_null(rec, "%s: record returned with an error", c->bc_name);
	cr_expect_str_eq(err, c->bc_msg, "%s:\n got  %s\n want %s", c->bc_name, err, c->bc_msg);
	if (rc == CC_OK)
		rec_free(in, rec);
}

#define CERT RES_CERTIFICATE, "cm-certificate.json"
#define CR RES_CERTIFICATEREQUEST, "cm-certificaterequest.json"
#define P CC_ERR_PARSE

Test(decode, malformed_fields_name_their_path)
{
	char *long_name = xmalloc(300 + 3);
	long_name[0] = '"';
	memset(long_name + 1, 'a', 300);
	memcpy(long_name + 301, "\"", 2);
	const struct bad_case cases[] = {
	    {"bad notAfter", CERT, "status.notAfter", "\"soon\"", P,
		"status.notAfter: not an RFC 3339 time: \"soon\""},
	    {"bad creation time", CERT, "metadata.creationTimestamp", "\"2025-02-30T00:00:00Z\"",
		P, "metadata.creationTimestamp: not an RFC 3339 time: \"2025-02-30T00:00:00Z\""},
	    {"time as number", CERT, "status.renewalTime", "1700000000", P,
		"status.renewalTime: expected a string, got a number"},
	    {"no metadata", CERT, "metadata", NULL, P, "metadata: missing"},
	    {"metadata not object", CERT, "metadata", "[]", P,
		"metadata: expected an object, got an array"},
	    {"no name", CERT, "metadata.name", NULL, P, "metadata.name: missing"},
	    {"empty name", CERT, "metadata.name", "\"\"", P, "metadata.name: missing"},
	    {"long name", CERT, "metadata.name", long_name, P,
		"metadata.name: longer than 253 bytes"},
	    {"no namespace", CERT, "metadata.namespace", NULL, P, "metadata.namespace: missing"},
	    {"namespace number", CERT, "metadata.namespace", "5", P,
		"metadata.namespace: expected a string, got a number"},
	    {"other kind", CERT, "kind", "\"Secret\"", CC_ERR_INVAL,
		"kind: expected Certificate, got \"Secret\""},
	    {"spec array", CERT, "spec", "[]", P, "spec: expected an object, got an array"},
	    {"days in duration", CERT, "spec.duration", "\"90d\"", P,
		"spec.duration: not a Go duration: \"90d\""},
	    {"negative renewBefore", CERT, "spec.renewBefore", "\"-5m\"", P,
		"spec.renewBefore: must not be negative: \"-5m\""},
	    {"huge duration", CERT, "spec.duration", "\"9999999h\"", P,
		"spec.duration: out of range: \"9999999h\""},
	    {"dnsNames element", CERT, "spec.dnsNames", "[\"a.example\", 3]", P,
		"spec.dnsNames[1]: expected a string, got a number"},
	    {"dnsNames string", CERT, "spec.dnsNames", "\"a.example\"", P,
		"spec.dnsNames: expected an array, got a string"},
	    {"isCA string", CERT, "spec.isCA", "\"yes\"", P,
		"spec.isCA: expected a boolean, got a string"},
	    {"fractional revision", CERT, "status.revision", "1.5", P,
		"status.revision: expected an integer, got 1.5"},
	    {"negative attempts", CERT, "status.failedIssuanceAttempts", "-1", P,
		"status.failedIssuanceAttempts: -1 is out of range [0, 2147483647]"},
	    {"key size string", CERT, "spec.privateKey.size", "\"256\"", P,
		"spec.privateKey.size: expected an integer, got a string"},
	    {"percentage too big", CERT, "spec.renewBeforePercentage", "3000000000", P,
		"spec.renewBeforePercentage: 3000000000 is out of range [-2147483648, "
		"2147483647]"},
	    {"condition status", CERT, "status.conditions[0].status", "\"Maybe\"", P,
		"status.conditions[0].status: expected True, False or Unknown"},
	    {"condition not object", CERT, "status.conditions[1]", "7", P,
		"status.conditions[1]: expected an object, got a number"},
	    {"condition without type", CERT, "status.conditions[0].type", NULL, P,
		"status.conditions[0].type: missing"},
	    {"condition time", CERT, "status.conditions[1].lastTransitionTime",
		"\"2025-13-01T00:00:00Z\"", P,
		"status.conditions[1].lastTransitionTime: not an RFC 3339 time: "
		"\"2025-13-01T00:00:00Z\""},
	    {"conditions object", CERT, "status.conditions", "{}", P,
		"status.conditions: expected an array, got an object"},
	    {"window duration", CERT, "spec.renewal.windows[1].windowDuration", "\"forever\"", P,
		"spec.renewal.windows[1].windowDuration: not a Go duration: \"forever\""},
	    {"window not object", CERT, "spec.renewal.windows[0]", "\"0 4 * * 2\"", P,
		"spec.renewal.windows[0]: expected an object, got a string"},
	    {"policy number", CERT, "spec.renewal.policy", "1", P,
		"spec.renewal.policy: expected a string, got a number"},
	    {"annotation number", CERT, "metadata.annotations[\"certcast.io/mode\"]", "1", P,
		"metadata.annotations[\"certcast.io/mode\"]: expected a string, got a number"},
	    {"issuer name too long", CERT, "spec.issuerRef.name", long_name, P,
		"spec.issuerRef.name: longer than 253 bytes"},
	    {"value with control bytes quoted safely", CERT, "status.notBefore",
		"\"bad\\nline\\u001b[31m\"", P,
		"status.notBefore: not an RFC 3339 time: \"bad?line?[31m\""},
	    {"revision annotation", CR,
		"metadata.annotations[\"cert-manager.io/certificate-revision\"]", "\"seven\"", P,
		"metadata.annotations[\"cert-manager.io/certificate-revision\"]: not a "
		"non-negative integer: \"seven\""},
	    {"certificate not base64", CR, "status.certificate", "\"!!!not base64!!!\"", P,
		"status.certificate: not valid base64"},
	    {"certificate number", CR, "status.certificate", "12", P,
		"status.certificate: expected a string, got a number"},
	    {"usages element", CR, "spec.usages[0]", "{}", P,
		"spec.usages[0]: expected a string, got an object"},
	    {"failureTime", CR, "status.failureTime", "\"tomorrow\"", P,
		"status.failureTime: not an RFC 3339 time: \"tomorrow\""},
	    {"owner reference not object", RES_ORDER, "cm-order.json",
		"metadata.ownerReferences[0]", "\"x\"", P,
		"metadata.ownerReferences[0]: expected an object, got a string"},
	    {"order state number", RES_ORDER, "cm-order.json", "status.state", "3", P,
		"status.state: expected a string, got a number"},
	    {"presented string", RES_CHALLENGE, "cm-challenge.json", "status.presented",
		"\"true\"", P, "status.presented: expected a boolean, got a string"},
	    {"acme block string", RES_CLUSTERISSUER, "cm-clusterissuer-acme.json", "spec.acme",
		"\"x\"", P, "spec.acme: expected an object, got a string"},
	    {"issuer kind mismatch", RES_ISSUER, "cm-issuer-ca.json", "kind",
		"\"ClusterIssuer\"", CC_ERR_INVAL,
		"kind: expected Issuer, got \"ClusterIssuer\""},
	    {"event without object", RES_EVENT, "cm-event-core.json", "involvedObject", NULL, P,
		"involvedObject: missing"},
	    {"event object kind", RES_EVENT, "cm-event-core.json", "involvedObject.kind", NULL,
		P, "involvedObject.kind: missing"},
	    {"event count", RES_EVENT, "cm-event-core.json", "count", "\"4\"", P,
		"count: expected an integer, got a string"},
	    {"event series time", RES_EVENT, "cm-event-series.json", "series.lastObservedTime",
		"\"later\"", P, "series.lastObservedTime: not an RFC 3339 time: \"later\""},
	    {"pod restarts", RES_POD, "cm-pod.json", "status.containerStatuses[0].restartCount",
		"\"3\"", P,
		"status.containerStatuses[0].restartCount: expected an integer, got a string"},
	    {"pod IP number", RES_POD, "cm-pod.json", "status.podIP", "10", P,
		"status.podIP: expected a string, got a number"},
	    {"pod IP not an address", RES_POD, "cm-pod.json", "status.podIP",
		"\"evil.example/x?y\"", P,
		"status.podIP: \"evil.example/x?y\" is not an IP address"},
	    {"pod termination time", RES_POD, "cm-pod.json",
		"status.containerStatuses[1].lastState.terminated.finishedAt", "\"x\"", P,
		"status.containerStatuses[1].lastState.terminated.finishedAt: not an RFC 3339 "
		"time: \"x\""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_bad(&cases[i]);
	free(long_name);
}

/* The fixture's PEM chain repeated until its DER passes 64 KiB, as a JSON string of base64. */
static char *
big_bundle_json(size_t times)
{
	cJSON *j = load("cm-certificaterequest.json");
	const char *text =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "status"), "certificate")->valuestring;
	unsigned char *pem = xmalloc(strlen(text));
	int n = EVP_DecodeBlock(pem, (const unsigned char *)text, (int)strlen(text));
	cr_assert_gt(n, 0);
	while (n > 0 && pem[n - 1] == '\0')
		n--;
	char *rep = xmalloc((size_t)n * times);
	for (size_t i = 0; i < times; i++)
		memcpy(rep + i * (size_t)n, pem, (size_t)n);
	char *b = b64(rep, (size_t)n * times);
	char *out = xasprintf("\"%s\"", b);
	free(b);
	free(rep);
	free(pem);
	cJSON_Delete(j);
	return out;
}

Test(decode, bad_status_certificate)
{
	static char big[300 * 1024];
	memset(big, 'A', sizeof big - 1);
	char *hello = b64_json("hello, not a certificate");
	char *bad_body = b64_json("-----BEGIN CERTIFICATE-----\nMII*garbage*\n"
				  "-----END CERTIFICATE-----\n");
	char *no_end = b64_json("-----BEGIN CERTIFICATE-----\nMIIB\n");
	unsigned char junk[48];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 7 + 1);
	char *jb = b64(junk, sizeof junk);
	char *not_der_pem = xasprintf("-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n",
	    jb);
	char *not_der = b64_json(not_der_pem);
	char *big_json = xasprintf("\"%s\"", big);
	/* 60 copies of a 2-certificate chain: about 68 KiB of DER. */
	char *many = big_bundle_json(60);
	const struct bad_case cases[] = {
	    {"no PEM block", CR, "status.certificate", hello, P,
		"status.certificate: no PEM CERTIFICATE block"},
	    {"bad PEM body", CR, "status.certificate", bad_body, P,
		"status.certificate: PEM block 1 is not valid base64"},
	    {"PEM without END", CR, "status.certificate", no_end, P,
		"status.certificate: PEM block 1 has no END line"},
	    {"PEM of junk", CR, "status.certificate", not_der, P,
		"status.certificate: certificate 1 is not DER"},
	    {"text too long", CR, "status.certificate", big_json, P,
		"status.certificate: larger than 64 KiB"},
	    {"DER over the limit", CR, "status.certificate", many, P,
		"status.certificate: larger than 64 KiB"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_bad(&cases[i]);
	free(hello);
	free(bad_body);
	free(no_end);
	free(jb);
	free(not_der_pem);
	free(not_der);
	free(big_json);
	free(many);
}

Test(decode, cert_bundle_forms)
{
	/* The fixture's chain, taken back out of its JSON, in several encodings. */
	cJSON *j = load("cm-certificaterequest.json");
	const char *text =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "status"), "certificate")->valuestring;
	unsigned char *der;
	size_t len;
	uint32_t n;
	char err[128];
	cr_assert_eq(dec_cert_bundle(text, &der, &len, &n, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(n, 2);

	/* DER given directly (base64 of DER) gives the same bytes. */
	char *b = b64(der, len);
	unsigned char *der2;
	size_t len2;
	uint32_t n2;
	cr_assert_eq(dec_cert_bundle(b, &der2, &len2, &n2, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(n2, 2);
	cr_expect_eq(len2, len);
	cr_expect(memcmp(der, der2, len) == 0);
	free(der2);
	free(b);

	/* CRLF line ends and a non-certificate block before the chain are tolerated. */
	unsigned char *pem = xmalloc(len * 2 + 4096);
	size_t plen = 0;
	int dl = EVP_DecodeBlock(pem, (const unsigned char *)text, (int)strlen(text));
	cr_assert_gt(dl, 0);
	plen = (size_t)dl;
	while (plen > 0 && pem[plen - 1] == '\0')
		plen--;
	struct {
		char *s;   /* text */
		size_t n;  /* length */
	} crlf = {xmalloc(plen * 2 + 128), 0};
	const char *pre = "-----BEGIN EC PARAMETERS-----\r\nBggqhkjOPQMBBw==\r\n"
			  "-----END EC PARAMETERS-----\r\n";
	memcpy(crlf.s, pre, strlen(pre));
	crlf.n = strlen(pre);
	for (size_t i = 0; i < plen; i++) {
		if (pem[i] == '\n')
			crlf.s[crlf.n++] = '\r';
		crlf.s[crlf.n++] = (char)pem[i];
	}
	char *cb = b64(crlf.s, crlf.n);
	cr_assert_eq(dec_cert_bundle(cb, &der2, &len2, &n2, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(n2, 2);
	cr_expect(len2 == len && memcmp(der, der2, len) == 0);
	free(der2);
	free(cb);
	free(crlf.s);
	free(pem);

	/* A private key block alone is not a certificate, and is not kept. */
	char *kb = b64("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n"
		       "-----END PRIVATE KEY-----\n",
	    strlen("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n"
		   "-----END PRIVATE KEY-----\n"));
	der2 = (unsigned char *)1;
	cr_expect_eq(dec_cert_bundle(kb, &der2, &len2, &n2, err, sizeof err), CC_ERR_PARSE);
	cr_expect_null(der2);
	cr_expect_str_eq(err, "no PEM CERTIFICATE block");
	free(kb);

	/* Padding rules: one stray '=' in the middle is refused. */
	cr_expect_eq(dec_cert_bundle("QU=JD", &der2, &len2, &n2, err, sizeof err), CC_ERR_PARSE);
	cr_expect_str_eq(err, "not valid base64");
	free(der);
	cJSON_Delete(j);
}

/*
 * Found by fuzz_certparse: a PEM CERTIFICATE block with nothing inside decoded to zero bytes,
 * which passed the DER check (a zero length both ways), so the bundle was "one certificate" in
 * zero bytes of DER. An empty block is an error, wherever it is in the bundle.
 */
Test(decode, cert_bundle_empty_pem_block_is_refused)
{
	const char *empty = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
	char *eb = b64(empty, strlen(empty));
	unsigned char *der = (unsigned char *)1;
	size_t len = 1;
	uint32_t n = 1;
	char err[128] = "";
	cr_expect_eq(dec_cert_bundle(eb, &der, &len, &n, err, sizeof err), CC_ERR_PARSE);
	cr_expect_null(der);
	cr_expect_eq(len, 0);
	cr_expect_eq(n, 0);
	cr_expect_str_eq(err, "certificate 1 is empty");
	free(eb);

	/* after a good certificate too: the whole bundle is refused, as for a block of junk */
	cJSON *j = load("cm-certificaterequest.json");
	const char *text =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "status"), "certificate")->valuestring;
	unsigned char pem[16384];
	int pl = EVP_DecodeBlock(pem, (const unsigned char *)text, (int)strlen(text));
	cr_assert_gt(pl, 0);
	size_t plen = (size_t)pl;
	while (plen > 0 && pem[plen - 1] == '\0')
		plen--;
	cr_assert_lt(plen + strlen(empty), sizeof pem);
	memcpy(pem + plen, empty, strlen(empty));
	char *gb = b64(pem, plen + strlen(empty));
	cr_expect_eq(dec_cert_bundle(gb, &der, &len, &n, err, sizeof err), CC_ERR_PARSE);
	cr_expect_null(der);
	cr_expect_str_eq(err, "certificate 3 is empty");
	free(gb);
	cJSON_Delete(j);
}

Test(decode, null_means_absent_and_defaults)
{
	cJSON *j = load("cm-certificate.json");
	set_path(j, "spec.duration", "null");
	set_path(j, "spec.issuerRef.kind", "\"\"");
	set_path(j, "spec.issuerRef.group", NULL);
	set_path(j, "spec.privateKey", NULL);
	set_path(j, "spec.renewal", "{\"policy\": \"Disabled\"}");
	set_path(j, "status", "null");
	set_path(j, "metadata.annotations", NULL);
	void *rec = NULL;
	char err[256];
	cr_assert_eq(dec_record(in, RES_CERTIFICATE, j, &rec, err, sizeof err), CC_OK, "%s", err);
	struct rec_cert *c = rec;
	cr_expect(!c->c_has_duration);
	cr_expect_str_eq(c->c_issuer.rf_kind, "Issuer");
	cr_expect_str_eq(c->c_issuer.rf_group, "cert-manager.io");
	cr_expect_eq(c->c_key_alg, REC_KEY_UNSET);
	cr_expect_eq(c->c_renewal_policy, REC_RENEWAL_DISABLED);
	cr_expect_eq(c->c_nwindows, 0);
	cr_expect_eq(c->c_ready.c_status, REC_COND_ABSENT);
	cr_expect_eq(c->c_not_after, REC_TIME_NONE);
	cr_expect(!c->c_has_revision);
	cr_expect_eq(c->c_nannots, 0);
	cr_expect_eq(c->c_other_annots, 0);
	rec_free(in, c);
	/* An external issuer is not one certcast watches. */
	set_path(j, "spec.issuerRef.group", "\"awspca.cert-manager.io\"");
	set_path(j, "spec.issuerRef.kind", "\"AWSPCAClusterIssuer\"");
	cr_assert_eq(dec_record(in, RES_CERTIFICATE, j, &rec, err, sizeof err), CC_OK, "%s", err);
	c = rec;
	cr_expect(!rec_ref_is_cm(&c->c_issuer));
	rec_free(in, c);
	cJSON_Delete(j);
}

Test(decode, long_message_cut_on_utf8_boundary)
{
	cJSON *j = load("cm-event-core.json");
	/* 3000 two-byte characters: a cut at an odd byte would split one. */
	char *msg = xmalloc(2 + 6000 + 2);
	msg[0] = '"';
	for (int i = 0; i < 3000; i++)
		memcpy(msg + 1 + 2 * i, "\xc3\xa9", 2);
	memcpy(msg + 6001, "\"", 2);
	set_path(j, "message", msg);
	void *rec = NULL;
	char err[256];
	cr_assert_eq(dec_record(in, RES_EVENT, j, &rec, err, sizeof err), CC_OK, "%s", err);
	struct rec_event *e = rec;
	size_t n = strlen(e->ev_message);
	cr_expect_leq(n, REC_MSG_MAX);
	cr_expect_gt(n, REC_MSG_MAX - 8);
	cr_expect_str_eq(e->ev_message + n - 3, "...");
	/* Every byte before the marker pairs up into é. */
	cr_expect_eq((n - 3) % 2, 0);
	cr_expect_eq((unsigned char)e->ev_message[n - 5], 0xc3);
	rec_free(in, e);
	free(msg);
	cJSON_Delete(j);
}

Test(decode, key_only)
{
	cJSON *j = load("cm-clusterissuer-acme.json");
	struct dec_key k;
	char err[128];
	cr_assert_eq(dec_key(RES_CLUSTERISSUER, j, &k, err, sizeof err), CC_OK);
	cr_expect_str_eq(k.k_ns, "");
	cr_expect_str_eq(k.k_name, "letsencrypt-prod");
	cr_expect_str_eq(k.k_rv, "1201");
	cr_expect_eq(dec_key(RES_ISSUER, j, &k, err, sizeof err), CC_ERR_INVAL);
	cJSON_Delete(j);
	cJSON *arr = cJSON_Parse("[1,2]");
	cr_expect_eq(dec_key(RES_POD, arr, &k, err, sizeof err), CC_ERR_PARSE);
	cr_expect_str_eq(err, "object: expected a JSON object");
	cJSON_Delete(arr);
}

/* The address the scraper fetches from: IPv4, IPv6, or nothing while the pod is unscheduled. */
Test(decode, pod_ip)
{
	static const struct {
		const char *value; /* JSON text, NULL to delete */
		const char *want;  /* NULL: no address kept */
	} cases[] = {
	    {"\"10.0.0.7\"", "10.0.0.7"},
	    {"\"fd00::1:7\"", "fd00::1:7"},
	    {"\"\"", NULL},
	    {"null", NULL},
	    {NULL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *j = load("cm-pod.json");
		set_path(j, "status.podIP", cases[i].value);
		void *rec = NULL;
		char err[256] = "";
		cr_assert_eq(dec_record(in, RES_POD, j, &rec, err, sizeof err), CC_OK, "case %zu: %s",
		    i, err);
		struct rec_pod *p = rec;
		if (cases[i].want)
			cr_expect_str_eq(p->p_ip, cases[i].want, "case %zu", i);
		else
			cr_expect_null(p->p_ip, "case %zu", i);
		rec_free(in, p);
		cJSON_Delete(j);
	}
}
