/*
 * Tests for status: rows built from a store filled with decoded objects, and their table and
 * JSON renderings. The expected output is computed here from the same fixture table that the
 * objects are generated from, never pasted.
 */
#include "cc_err.h"
#include "log.h"
#include "resource.h"
#include "status.h"
#include "store.h"

#include <cjson/cJSON.h>
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

TestSuite(status, .init = quiet);

/* Fixed "now" for ages: 2026-06-01T00:00:00Z. */
#define NOW 1780272000LL

struct fx_cert {
	const char *f_ns, *f_name;
	const char *f_ikind, *f_iname; /* f_ikind NULL: issuerRef.kind left out (means Issuer) */
	const char *f_ready;           /* Ready condition status, NULL for none */
	const char *f_not_after;       /* RFC 3339 as cert-manager writes it, or NULL */
	const char *f_renewal;         /* status.renewalTime or NULL */
	const char *f_renew_before;    /* spec.renewBefore in Go's canonical form, or NULL */
	long long f_rb_secs;           /* the same in seconds */
	int f_pct;                     /* spec.renewBeforePercentage, 0 for none */
	int f_failed;                  /* status.failedIssuanceAttempts */
	long long f_fail_ago;          /* lastFailureTime = NOW - this; 0 for none */
	const char *f_fail_cell;       /* the expected LAST FAILURE cell */
	const char *f_issuing;         /* Issuing condition status or NULL */
	const char *f_issuing_reason;
	const char *f_secret;
	const char *f_dns[3];
	int f_ncr;                     /* CertificateRequests owned by this certificate */
	const char *f_last_action;     /* certcast.io/last-action, or NULL */
	const char *f_action_cell;     /* the expected LAST ACTION cell (wide) */
};

static const struct fx_cert fx[] = {
    {"shop", "web", "Issuer", "shop-ca", "True", "2026-08-01T00:00:00Z", "2026-07-02T00:00:00Z",
	"720h0m0s", 2592000, 0, 0, 0, "-", NULL, NULL, "web-tls", {"web.shop.example", "www.shop.example", NULL}, 3,
	"RenewBeforeAdjusted 2026-05-31T22:00:00Z: spec.renewBefore 720h0m0s",
	"RenewBeforeAdjusted (2h0m ago)"},
    {"shop", "api", "ClusterIssuer", "letsencrypt", "True", "2026-06-11T00:00:00Z",
	"2026-05-12T00:00:00Z", NULL, 0, 0, 4, 3600, "Failed (1h0m ago)", "False", "Failed",
	"api-tls", {"api.shop.example", NULL, NULL}, 5, NULL, "-"},
    {"bank", "ledger", NULL, "bank-ca", "False", NULL, NULL, NULL, 0, 25, 1, 90061,
	"Failed (1d1h ago)", "True", "Issuing", "ledger-tls", {NULL, NULL, NULL}, 0,
	"edited by hand", "unreadable"},
    {"shop", "admin", "Issuer", "shop-ca", NULL, NULL, NULL, "5m0s", 300, 0, 0, 0, "-", NULL,
	NULL, NULL, {NULL, NULL, NULL}, 1, "ReissueTriggered 2026-05-29T00:00:00+02:00",
	"ReissueTriggered (3d2h ago)"},
    {"a-first", "zz", "ClusterIssuer", "internal", "Unknown", "2027-01-01T12:30:00Z", NULL,
	"2160h0m0s", 7776000, 0, 9, 45, "Failed (45s ago)", "False", "Failed", "zz",
	{"zz.example", NULL, NULL}, 2, NULL, "-"},
};
#define NFX (sizeof fx / sizeof fx[0])

static void
iso(long long t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *
cond(const char *type, const char *status, const char *reason)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", status);
	if (reason)
		cJSON_AddStringToObject(c, "reason", reason);
	cJSON_AddStringToObject(c, "lastTransitionTime", "2026-05-01T00:00:00Z");
	return c;
}

static cJSON *
cert_json(const struct fx_cert *f)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "cert-manager.io/v1");
	cJSON_AddStringToObject(o, "kind", "Certificate");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "namespace", f->f_ns);
	cJSON_AddStringToObject(md, "name", f->f_name);
	cJSON_AddStringToObject(md, "resourceVersion", "1");
	cJSON_AddStringToObject(md, "uid", "u");
	if (f->f_last_action) {
		cJSON *an = cJSON_AddObjectToObject(md, "annotations");
		cJSON_AddStringToObject(an, "certcast.io/last-action", f->f_last_action);
	}
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	if (f->f_secret)
		cJSON_AddStringToObject(spec, "secretName", f->f_secret);
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", f->f_iname);
	if (f->f_ikind)
		cJSON_AddStringToObject(ir, "kind", f->f_ikind);
	if (f->f_renew_before)
		cJSON_AddStringToObject(spec, "renewBefore", f->f_renew_before);
	if (f->f_pct)
		cJSON_AddNumberToObject(spec, "renewBeforePercentage", f->f_pct);
	cJSON *dns = cJSON_AddArrayToObject(spec, "dnsNames");
	for (int i = 0; i < 3 && f->f_dns[i]; i++)
		cJSON_AddItemToArray(dns, cJSON_CreateString(f->f_dns[i]));
	cJSON *st = cJSON_AddObjectToObject(o, "status");
	if (f->f_not_after)
		cJSON_AddStringToObject(st, "notAfter", f->f_not_after);
	if (f->f_renewal)
		cJSON_AddStringToObject(st, "renewalTime", f->f_renewal);
	if (f->f_failed)
		cJSON_AddNumberToObject(st, "failedIssuanceAttempts", f->f_failed);
	if (f->f_fail_ago) {
		char t[40];
		iso(NOW - f->f_fail_ago, t, sizeof t);
		cJSON_AddStringToObject(st, "lastFailureTime", t);
	}
	cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
	if (f->f_ready)
		cJSON_AddItemToArray(conds, cond("Ready", f->f_ready, "Ready"));
	if (f->f_issuing)
		cJSON_AddItemToArray(conds, cond("Issuing", f->f_issuing, f->f_issuing_reason));
	return o;
}

static cJSON *
cr_json(const char *ns, const char *name, const char *owner)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "CertificateRequest");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "namespace", ns);
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "resourceVersion", "1");
	cJSON_AddStringToObject(md, "creationTimestamp", "2026-05-01T00:00:00Z");
	cJSON *an = cJSON_AddObjectToObject(md, "annotations");
	if (owner) {
		cJSON_AddStringToObject(an, "cert-manager.io/certificate-name", owner);
		cJSON_AddStringToObject(an, "cert-manager.io/certificate-revision", "1");
	}
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "request", "");
	cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
	cJSON_AddStringToObject(ir, "name", "x");
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

static void
apply(struct store *st, enum res_kind k, cJSON *o)
{
	char err[256] = "";
	int rc = store_apply(st, desc(k), STORE_SYNC, o, err, sizeof err);
	cr_assert_eq(rc, CC_OK, "apply: %s", err);
	cJSON_Delete(o);
}

static struct store *
filled_store(void)
{
	struct store *st = store_new();
	for (size_t i = 0; i < NFX; i++) {
		apply(st, RES_CERTIFICATE, cert_json(&fx[i]));
		for (int k = 0; k < fx[i].f_ncr; k++) {
			char name[128];
			snprintf(name, sizeof name, "%s-%d", fx[i].f_name, k + 1);
			apply(st, RES_CERTIFICATEREQUEST, cr_json(fx[i].f_ns, name, fx[i].f_name));
		}
	}
	/* Requests that belong to nobody here must not be counted. */
	apply(st, RES_CERTIFICATEREQUEST, cr_json("shop", "orphan-1", NULL));
	apply(st, RES_CERTIFICATEREQUEST, cr_json("bank", "web-9", "web"));
	return st;
}

/* Indexes of fx in namespace-then-name order, optionally only in ns. */
static size_t
sorted_fx(const char *ns, size_t *idx)
{
	size_t n = 0;
	for (size_t i = 0; i < NFX; i++)
		if (ns == NULL || strcmp(fx[i].f_ns, ns) == 0)
			idx[n++] = i;
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++) {
			const struct fx_cert *x = &fx[idx[a]], *y = &fx[idx[b]];
			int c = strcmp(x->f_ns, y->f_ns);
			if (c > 0 || (c == 0 && strcmp(x->f_name, y->f_name) > 0)) {
				size_t t = idx[a];
				idx[a] = idx[b];
				idx[b] = t;
			}
		}
	return n;
}

static char *
capture_table(const struct status_rows *rs, int wide)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	status_print_table(fp, rs, wide, NOW);
	fclose(fp);
	return text;
}

#define NCOLS 15

/* The expected cells of fixture f, straight from the table above. */
static void
expected_cells(const struct fx_cert *f, char cells[NCOLS][160])
{
	snprintf(cells[0], 160, "%s", f->f_ns);
	snprintf(cells[1], 160, "%s", f->f_name);
	snprintf(cells[2], 160, "%s/%s", f->f_ikind ? f->f_ikind : "Issuer", f->f_iname);
	snprintf(cells[3], 160, "%s", f->f_ready ? f->f_ready : "-");
	snprintf(cells[4], 160, "%s", f->f_not_after ? f->f_not_after : "-");
	snprintf(cells[5], 160, "%s", f->f_renewal ? f->f_renewal : "-");
	if (f->f_renew_before)
		snprintf(cells[6], 160, "%s", f->f_renew_before);
	else if (f->f_pct)
		snprintf(cells[6], 160, "%d%%", f->f_pct);
	else
		snprintf(cells[6], 160, "-");
	snprintf(cells[7], 160, "%d", f->f_failed);
	snprintf(cells[8], 160, "%s", f->f_fail_cell);
	snprintf(cells[9], 160, "%d", f->f_ncr);
	snprintf(cells[10], 160, "-"); /* RISK: these rows are not scored */
	snprintf(cells[11], 160, "%s", f->f_secret ? f->f_secret : "-");
	cells[12][0] = '\0';
	for (int i = 0; i < 3 && f->f_dns[i]; i++)
		snprintf(cells[12] + strlen(cells[12]), 160 - strlen(cells[12]), "%s%s", i ? "," : "",
		    f->f_dns[i]);
	if (cells[12][0] == '\0')
		snprintf(cells[12], 160, "-");
	if (f->f_issuing && f->f_issuing_reason)
		snprintf(cells[13], 160, "%s (%s)", f->f_issuing, f->f_issuing_reason);
	else
		snprintf(cells[13], 160, "%s", f->f_issuing ? f->f_issuing : "-");
	snprintf(cells[14], 160, "%s", f->f_action_cell);
}

static char *
expected_table(const char *ns, int wide)
{
	static const char *const hdr[NCOLS] = {"NAMESPACE", "NAME", "ISSUER", "READY", "NOT AFTER",
	    "RENEWAL TIME", "RENEW BEFORE", "FAILED ATTEMPTS", "LAST FAILURE", "REQUESTS", "RISK",
	    "SECRET", "DNS NAMES", "ISSUING", "LAST ACTION"};
	size_t ncol = wide ? 15 : 11, idx[NFX], n = sorted_fx(ns, idx);
	static char cells[NFX][NCOLS][160];
	size_t w[NCOLS];
	for (size_t c = 0; c < ncol; c++)
		w[c] = strlen(hdr[c]);
	for (size_t r = 0; r < n; r++) {
		expected_cells(&fx[idx[r]], cells[r]);
		for (size_t c = 0; c < ncol; c++)
			if (strlen(cells[r][c]) > w[c])
				w[c] = strlen(cells[r][c]);
	}
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	for (size_t r = 0; r <= n; r++) {
		for (size_t c = 0; c < ncol; c++) {
			const char *s = r == 0 ? hdr[c] : cells[r - 1][c];
			if (c + 1 < ncol)
				fprintf(fp, "%s%*s", s, (int)(w[c] - strlen(s) + 3), "");
			else
				fprintf(fp, "%s\n", s);
		}
	}
	fclose(fp);
	return text;
}

Test(status, table_all_namespaces)
{
	struct store *st = filled_store();
	struct status_rows rs;
	status_rows_build(st, NULL, &rs);
	cr_assert_eq(rs.sr_n, NFX);
	char *got = capture_table(&rs, 0), *want = expected_table(NULL, 0);
	cr_expect_str_eq(got, want, "table differs:\n--- got\n%s--- want\n%s", got, want);
	free(got);
	free(want);
	got = capture_table(&rs, 1);
	want = expected_table(NULL, 1);
	cr_expect_str_eq(got, want, "wide table differs:\n--- got\n%s--- want\n%s", got, want);
	free(got);
	free(want);
	cr_expect_eq(status_exit_code(&rs), 0, "no risk levels yet: exit 0");
	status_rows_free(&rs);
	store_free(st);
}

Test(status, table_one_namespace)
{
	struct store *st = filled_store();
	const char *nss[] = {"shop", "bank", "nowhere"};
	for (size_t k = 0; k < 3; k++) {
		struct status_rows rs;
		status_rows_build(st, nss[k], &rs);
		size_t idx[NFX];
		cr_expect_eq(rs.sr_n, sorted_fx(nss[k], idx), "%s", nss[k]);
		for (size_t i = 0; i < rs.sr_n; i++)
			cr_expect_str_eq(rs.sr_rows[i].sr_ns, nss[k], "row from another namespace");
		char *got = capture_table(&rs, 0), *want = expected_table(nss[k], 0);
		cr_expect_str_eq(got, want, "%s:\n--- got\n%s--- want\n%s", nss[k], got, want);
		free(got);
		free(want);
		status_rows_free(&rs);
	}
	store_free(st);
}

static const cJSON *
item_named(const cJSON *items, const char *ns, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "namespace");
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(it, "name");
		if (cJSON_IsString(a) && cJSON_IsString(b) && !strcmp(a->valuestring, ns) &&
		    !strcmp(b->valuestring, name))
			return it;
	}
	return NULL;
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
jnull(const cJSON *o, const char *k)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, k));
}

static double
jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsNumber(v), "%s is not a number", k);
	return v->valuedouble;
}

Test(status, json_fields)
{
	struct store *st = filled_store();
	struct status_rows rs;
	status_rows_build(st, NULL, &rs);
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	status_print_json(fp, &rs);
	fclose(fp);
	cJSON *doc = cJSON_Parse(text);
	cr_assert_not_null(doc, "not JSON: %s", text);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	cr_assert(cJSON_IsArray(items));
	cr_expect_eq(cJSON_GetArraySize(items), (int)NFX);

	/* Order: namespace then name. */
	size_t idx[NFX];
	sorted_fx(NULL, idx);
	for (size_t i = 0; i < NFX; i++) {
		const cJSON *it = cJSON_GetArrayItem(items, (int)i);
		cr_expect_str_eq(jstr(it, "namespace"), fx[idx[i]].f_ns);
		cr_expect_str_eq(jstr(it, "name"), fx[idx[i]].f_name);
	}

	for (size_t i = 0; i < NFX; i++) {
		const struct fx_cert *f = &fx[i];
		const cJSON *it = item_named(items, f->f_ns, f->f_name);
		cr_assert_not_null(it, "%s/%s missing", f->f_ns, f->f_name);
		const cJSON *iss = cJSON_GetObjectItemCaseSensitive(it, "issuer");
		cr_expect_str_eq(jstr(iss, "kind"), f->f_ikind ? f->f_ikind : "Issuer");
		cr_expect_str_eq(jstr(iss, "name"), f->f_iname);
		cr_expect_str_eq(jstr(iss, "group"), "cert-manager.io");
		const cJSON *ready = cJSON_GetObjectItemCaseSensitive(it, "ready");
		if (f->f_ready)
			cr_expect_str_eq(jstr(ready, "status"), f->f_ready);
		else
			cr_expect(cJSON_IsNull(ready), "%s: ready should be null", f->f_name);
		if (f->f_not_after)
			cr_expect_str_eq(jstr(it, "notAfter"), f->f_not_after);
		else
			cr_expect(jnull(it, "notAfter"));
		if (f->f_renewal)
			cr_expect_str_eq(jstr(it, "renewalTime"), f->f_renewal);
		else
			cr_expect(jnull(it, "renewalTime"));
		if (f->f_renew_before) {
			const cJSON *rb = cJSON_GetObjectItemCaseSensitive(it, "renewBefore");
			cr_expect_str_eq(jstr(rb, "duration"), f->f_renew_before);
			cr_expect_eq(jnum(rb, "seconds"), (double)f->f_rb_secs);
		} else {
			cr_expect(jnull(it, "renewBefore"), "%s", f->f_name);
		}
		if (f->f_pct)
			cr_expect_eq(jnum(it, "renewBeforePercentage"), f->f_pct);
		else
			cr_expect(jnull(it, "renewBeforePercentage"));
		cr_expect_eq(jnum(it, "failedIssuanceAttempts"), f->f_failed);
		cr_expect_eq(jnum(it, "requests"), f->f_ncr, "%s: requests", f->f_name);
		if (f->f_fail_ago) {
			const cJSON *lf = cJSON_GetObjectItemCaseSensitive(it, "lastFailure");
			char t[40];
			iso(NOW - f->f_fail_ago, t, sizeof t);
			cr_expect_str_eq(jstr(lf, "time"), t);
			const char *want_reason =
			    f->f_issuing && !strcmp(f->f_issuing, "False") ? f->f_issuing_reason : "Failed";
			cr_expect_str_eq(jstr(lf, "reason"), want_reason);
		} else {
			cr_expect(jnull(it, "lastFailure"));
		}
		if (f->f_secret)
			cr_expect_str_eq(jstr(it, "secretName"), f->f_secret);
		else
			cr_expect(jnull(it, "secretName"));
		const cJSON *dns = cJSON_GetObjectItemCaseSensitive(it, "dnsNames");
		int nd = 0;
		while (nd < 3 && f->f_dns[nd])
			nd++;
		cr_expect_eq(cJSON_GetArraySize(dns), nd);
		for (int k = 0; k < nd; k++)
			cr_expect_str_eq(cJSON_GetArrayItem(dns, k)->valuestring, f->f_dns[k]);
		const cJSON *issuing = cJSON_GetObjectItemCaseSensitive(it, "issuing");
		if (f->f_issuing) {
			cr_expect_str_eq(jstr(issuing, "status"), f->f_issuing);
			cr_expect_str_eq(jstr(issuing, "reason"), f->f_issuing_reason);
		} else {
			cr_expect(cJSON_IsNull(issuing));
		}
		cr_expect(jnull(it, "riskLevel"));
		const cJSON *la = cJSON_GetObjectItemCaseSensitive(it, "lastAction");
		if (f->f_last_action)
			cr_expect_str_eq(jstr(la, "text"), f->f_last_action, "%s", f->f_name);
		else
			cr_expect(cJSON_IsNull(la), "%s: lastAction should be null", f->f_name);
	}
	cJSON_Delete(doc);
	free(text);
	status_rows_free(&rs);
	store_free(st);
}

Test(status, empty_store)
{
	struct store *st = store_new();
	struct status_rows rs;
	status_rows_build(st, NULL, &rs);
	cr_expect_eq(rs.sr_n, 0);
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	status_print_json(fp, &rs);
	fclose(fp);
	cJSON *doc = cJSON_Parse(text);
	cr_assert_not_null(doc);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "items")), 0);
	cJSON_Delete(doc);
	free(text);
	char *t = capture_table(&rs, 0);
	cr_expect(strncmp(t, "NAMESPACE   NAME   ISSUER", 25) == 0, "header only: %s", t);
	free(t);
	status_rows_free(&rs);
	store_free(st);
}

/* A malformed Certificate is refused by the store and so never becomes a row. */
Test(status, bad_object_skipped)
{
	struct store *st = filled_store();
	struct fx_cert bad = fx[0];
	bad.f_name = "broken";
	bad.f_not_after = "soon";
	cJSON *o = cert_json(&bad);
	char err[256] = "";
	cr_expect_neq(store_apply(st, desc(RES_CERTIFICATE), STORE_SYNC, o, err, sizeof err), CC_OK);
	cr_expect(strstr(err, "notAfter"), "error names the field: %s", err);
	cJSON_Delete(o);
	struct status_rows rs;
	status_rows_build(st, NULL, &rs);
	cr_expect_eq(rs.sr_n, NFX);
	for (size_t i = 0; i < rs.sr_n; i++)
		cr_expect_str_neq(rs.sr_rows[i].sr_name, "broken");
	status_rows_free(&rs);
	store_free(st);
}

/* Control characters in a reason cannot break the table's lines. */
Test(status, control_characters_cleaned)
{
	struct store *st = store_new();
	struct fx_cert f = fx[1];
	f.f_issuing_reason = "Bad\nReason";
	apply(st, RES_CERTIFICATE, cert_json(&f));
	struct status_rows rs;
	status_rows_build(st, NULL, &rs);
	char *t = capture_table(&rs, 1);
	int lines = 0;
	for (char *p = t; *p; p++)
		lines += *p == '\n';
	cr_expect_eq(lines, 2, "header and one row: %s", t);
	cr_expect(strstr(t, "Bad?Reason"));
	free(t);
	status_rows_free(&rs);
	store_free(st);
}

/*
 * certcast.io/last-action as status shows it: the wide table's LAST ACTION cell (the reason and
 * how long ago, as LAST FAILURE), and -o json's lastAction (the text as written, and its parts).
 */
Test(status, last_action_cell_and_json)
{
	static const struct {
		const char *name, *value;
		const char *reason, *time, *detail; /* NULL: null in JSON */
		const char *cell;
	} cases[] = {
	    {"a failover", "IssuerFailover 2026-05-31T23:00:00Z: spec.issuerRef Issuer/backup",
		"IssuerFailover", "2026-05-31T23:00:00Z", "spec.issuerRef Issuer/backup",
		"IssuerFailover (1h0m ago)"},
	    {"a reissue", "ReissueTriggered 2026-05-31T23:59:30Z: status.conditions Issuing=True",
		"ReissueTriggered", "2026-05-31T23:59:30Z", "status.conditions Issuing=True",
		"ReissueTriggered (30s ago)"},
	    {"an offset, and a detail with \": \" of its own",
		"RenewBeforeRestored 2026-05-31T12:00:00+01:00: spec.renewBefore: 720h0m0s",
		"RenewBeforeRestored", "2026-05-31T11:00:00Z", "spec.renewBefore: 720h0m0s",
		"RenewBeforeRestored (13h0m ago)"},
	    {"no detail", "RenewBeforeAdjusted 2026-05-29T00:00:00Z", "RenewBeforeAdjusted",
		"2026-05-29T00:00:00Z", NULL, "RenewBeforeAdjusted (3d0h ago)"},
	    {"control characters", "Risk\x01Raised 2026-05-31T23:00:00Z: a\nb", "Risk\x01Raised",
		"2026-05-31T23:00:00Z", "a\nb", "Risk?Raised (1h0m ago)"},
	    {"empty", "", NULL, NULL, NULL, "unreadable"},
	    {"a reason alone", "IssuerFailover", NULL, NULL, NULL, "unreadable"},
	    {"not a time", "IssuerFailover yesterday: spec.issuerRef", NULL, NULL, NULL,
		"unreadable"},
	    {"no reason", " 2026-05-31T23:00:00Z: x", NULL, NULL, NULL, "unreadable"},
	    {"a reason longer than any", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 2026-05-31T23:00:00Z",
		NULL, NULL, NULL, "unreadable"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct store *st = store_new();
		struct fx_cert f = fx[1];
		f.f_last_action = cases[i].value;
		apply(st, RES_CERTIFICATE, cert_json(&f));
		struct status_rows rs;
		status_rows_build(st, NULL, &rs);
		cr_assert_eq(rs.sr_n, 1);
		cr_expect_str_eq(rs.sr_rows[0].sr_last_action, cases[i].value, "%s", cases[i].name);

		char *t = NULL;
		size_t tlen = 0;
		FILE *fp = open_memstream(&t, &tlen);
		status_print_table(fp, &rs, 1, NOW);
		fclose(fp);
		const char *row = strchr(t, '\n') + 1;
		size_t rl = strlen(row), cl = strlen(cases[i].cell);
		cr_expect(rl > cl + 1 && strncmp(row + rl - cl - 1, cases[i].cell, cl) == 0,
		    "%s: the row ends in \"%s\": %s", cases[i].name, cases[i].cell, row);
		cr_expect(strstr(t, " LAST ACTION\n") == row - strlen(" LAST ACTION\n"),
		    "%s: the header ends in LAST ACTION: %s", cases[i].name, t);
		free(t);
		t = capture_table(&rs, 0);
		cr_expect(strstr(t, "LAST ACTION") == NULL, "%s: not in the default table",
		    cases[i].name);
		free(t);

		char *text = status_json_text(&rs);
		cJSON *doc = cJSON_Parse(text);
		cr_assert_not_null(doc, "%s: not JSON: %s", cases[i].name, text);
		const cJSON *la = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "items"), 0), "lastAction");
		cr_assert(cJSON_IsObject(la), "%s: lastAction is an object", cases[i].name);
		cr_expect_str_eq(jstr(la, "text"), cases[i].value, "%s: text as written",
		    cases[i].name);
		static const char *const keys[] = {"reason", "time", "detail"};
		const char *want[] = {cases[i].reason, cases[i].time, cases[i].detail};
		for (size_t k = 0; k < 3; k++) {
			if (want[k])
				cr_expect_str_eq(jstr(la, keys[k]), want[k], "%s: %s", cases[i].name,
				    keys[k]);
			else
				cr_expect(jnull(la, keys[k]), "%s: %s is null", cases[i].name, keys[k]);
		}
		cr_expect_eq(cJSON_GetArraySize(la), 4, "%s: text, reason, time, detail",
		    cases[i].name);
		/* and back: the same document */
		struct status_rows back;
		char err[256] = "";
		cr_assert_eq(status_rows_from_json(text, strlen(text), &back, err, sizeof err), CC_OK,
		    "%s: %s", cases[i].name, err);
		char *again = status_json_text(&back);
		cr_expect_str_eq(again, text, "%s: read back", cases[i].name);
		free(again);
		status_rows_free(&back);
		cJSON_Delete(doc);
		free(text);
		status_rows_free(&rs);
		store_free(st);
	}
}

struct exit_case {
	const char *ec_name;
	enum status_risk ec_levels[3];
	size_t ec_n;
	int ec_exit;
};

Test(status, exit_code_hook)
{
	static const struct exit_case cases[] = {
	    {"none", {0}, 0, 0},
	    {"unknown", {STATUS_RISK_UNKNOWN}, 1, 0},
	    {"high is not critical", {STATUS_RISK_LOW, STATUS_RISK_HIGH}, 2, 0},
	    {"one critical", {STATUS_RISK_LOW, STATUS_RISK_CRITICAL, STATUS_RISK_MEDIUM}, 3, 3},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct status_row rows[3];
		memset(rows, 0, sizeof rows);
		for (size_t k = 0; k < cases[i].ec_n; k++)
			rows[k].sr_risk = cases[i].ec_levels[k];
		struct status_rows rs = {rows, cases[i].ec_n};
		cr_expect_eq(status_exit_code(&rs), cases[i].ec_exit, "%s", cases[i].ec_name);
	}
}

Test(status, parse_output)
{
	enum status_output o;
	cr_expect_eq(status_parse_output("table", &o), CC_OK);
	cr_expect_eq(o, STATUS_OUT_TABLE);
	cr_expect_eq(status_parse_output("json", &o), CC_OK);
	cr_expect_eq(o, STATUS_OUT_JSON);
	cr_expect_eq(status_parse_output("wide", &o), CC_OK);
	cr_expect_eq(o, STATUS_OUT_WIDE);
	cr_expect_eq(status_parse_output("yaml", &o), CC_ERR_INVAL);
	cr_expect_eq(status_parse_output("JSON", &o), CC_ERR_INVAL);
	cr_expect_eq(status_parse_output(NULL, &o), CC_ERR_INVAL);
}

/* ---- the document read back (status --controller) ---- */

static char *
capture_print(const struct status_rows *rs, enum status_output o, int *code)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	FILE *devnull = fopen("/dev/null", "w");
	*code = status_print(rs, o, "", NOW, fp, devnull);
	fclose(devnull);
	fclose(fp);
	return text;
}

/*
 * Rows whose every field is set, risk levels through critical, anomalies and a budget: what a
 * controller's rows can hold that the fixture store does not produce.
 */
static void
full_rows(struct status_rows *rs)
{
	static const char *const names[] = {"a", "b", "c"};
	rs->sr_n = 3;
	rs->sr_rows = calloc(3, sizeof *rs->sr_rows);
	for (size_t i = 0; i < 3; i++) {
		struct status_row *r = &rs->sr_rows[i];
		r->sr_ns = strdup("edge");
		r->sr_name = strdup(names[i]);
		r->sr_issuer_kind = strdup("ClusterIssuer");
		r->sr_issuer_name = strdup("le");
		r->sr_issuer_group = strdup("cert-manager.io");
		r->sr_ready = strdup(i == 2 ? "" : "True");
		r->sr_ready_reason = i == 0 ? strdup("Ready") : NULL;
		r->sr_not_after = NOW + 86400 * (long long)(i + 1);
		r->sr_renewal_time = i == 1 ? 0 : NOW - 3600;
		r->sr_has_renew_before = i == 0;
		r->sr_renew_before = i == 0 ? 1234567 : 0;
		r->sr_has_renew_pct = i == 1;
		r->sr_renew_pct = i == 1 ? 33 : 0;
		r->sr_failed_attempts = (int)i * 3;
		r->sr_last_failure = i ? NOW - 7200 * (long long)i : 0;
		r->sr_failure_reason = i ? strdup("Failed") : NULL;
		r->sr_requests = 7;
		r->sr_secret = i == 2 ? NULL : strdup("tls");
		r->sr_ndns = i;
		r->sr_dns = calloc(3, sizeof *r->sr_dns);
		for (size_t k = 0; k < i; k++)
			r->sr_dns[k] = strdup(k ? "www.edge.example" : "edge.example");
		r->sr_issuing = strdup(i == 1 ? "False" : "");
		r->sr_issuing_reason = i == 1 ? strdup("Failed") : NULL;
		r->sr_last_action = i == 0 ? strdup("IssuerFailover 2026-05-31T23:00:00Z: spec.issuerRef "
						    "Issuer/backup") :
		    i == 1			   ? strdup("not certcast's \"format\"") :
						     NULL;
		/* a risk that needs all 17 digits, and the edges of the range */
		r->sr_risk = i == 0 ? STATUS_RISK_LOW : i == 1 ? STATUS_RISK_HIGH : STATUS_RISK_CRITICAL;
		r->sr_risk_value = i == 0 ? 0.0 : i == 1 ? 0.1 + 0.2 : 1.0;
		r->sr_risk_reasons = strdup(i ? "backoff; issuer failing" : "");
		r->sr_predicted_failure = i == 2 ? NOW + 600 : 0;
		r->sr_next_attempt = i ? NOW + 1800 : 0;
		r->sr_nanomalies = i;
		for (size_t k = 0; k < i; k++) {
			r->sr_anomalies[k].sa_type = strdup(k ? "wildcard" : "weak-key");
			r->sr_anomalies[k].sa_severity = (int)k + 1;
			r->sr_anomalies[k].sa_evidence = strdup("RSA 1024 \"quoted\"\n");
		}
		if (i == 2) {
			r->sr_budget_domain = strdup("edge.example");
			r->sr_new_used = 49;
			r->sr_new_limit = 50;
			r->sr_dup_used = 5;
			r->sr_dup_limit = 5;
			r->sr_budget_window = 7 * 86400;
			r->sr_budget_refill = NOW + 100;
		}
	}
}

struct trip_case {
	const char *tc_name;
	int tc_kind; /* 0 fixture rows unscored, 1 fixture rows scored, 2 full_rows */
};

/*
 * JSON -> rows -> JSON is the identity, and the rows read back print the same table, wide
 * table and exit code as the rows written: `status --controller` prints what the controller's
 * rows would print here.
 */
Test(status, json_round_trip)
{
	static const struct trip_case cases[] = {
	    {"fixture, not scored (nulls)", 0},
	    {"fixture, scored", 1},
	    {"every field, critical", 2},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct trip_case *tc = &cases[i];
		struct status_rows rs, back;
		struct store *st = NULL;
		if (tc->tc_kind == 2) {
			full_rows(&rs);
		} else {
			st = filled_store();
			status_rows_build(st, NULL, &rs);
			if (tc->tc_kind == 1)
				status_rows_score(st, &rs, NOW, NULL);
		}
		char *text = status_json_text(&rs), err[256] = "";
		cr_assert_eq(status_rows_from_json(text, strlen(text), &back, err, sizeof err), CC_OK,
		    "%s: %s", tc->tc_name, err);
		cr_expect_eq(back.sr_n, rs.sr_n, "%s", tc->tc_name);
		char *again = status_json_text(&back);
		cr_expect_str_eq(again, text, "%s: JSON differs", tc->tc_name);
		static const enum status_output outs[] = {STATUS_OUT_TABLE, STATUS_OUT_WIDE,
		    STATUS_OUT_JSON};
		for (size_t k = 0; k < 3; k++) {
			int c1, c2;
			char *p1 = capture_print(&rs, outs[k], &c1), *p2 = capture_print(&back, outs[k], &c2);
			cr_expect_str_eq(p2, p1, "%s: output %zu differs", tc->tc_name, k);
			cr_expect_eq(c2, c1, "%s: exit code", tc->tc_name);
			cr_expect_eq(c1, tc->tc_kind == 2 ? 3 : status_exit_code(&rs), "%s", tc->tc_name);
			free(p1);
			free(p2);
		}
		free(text);
		free(again);
		status_rows_free(&rs);
		status_rows_free(&back);
		store_free(st);
	}
}

struct bad_doc {
	const char *bd_name;
	const char *bd_text;
	const char *bd_err;
};

Test(status, json_reader_refusals)
{
	/* one good item, edited */
	static const char good[] =
	    "{\"namespace\":\"a\",\"name\":\"b\",\"issuer\":{\"group\":\"cert-manager.io\","
	    "\"kind\":\"Issuer\",\"name\":\"ca\"},\"ready\":null,\"notAfter\":null,"
	    "\"renewalTime\":null,\"renewBefore\":null,\"renewBeforePercentage\":null,"
	    "\"failedIssuanceAttempts\":0,\"lastFailure\":null,\"requests\":0,\"secretName\":null,"
	    "\"dnsNames\":[],\"issuing\":null,\"risk\":null,\"riskLevel\":null,\"riskReasons\":null,"
	    "\"predictedFailure\":null,\"nextAttempt\":null,\"anomalies\":null,\"acmeBudget\":null}";
	char ok[2048];
	snprintf(ok, sizeof ok, "{\"items\":[%s]}", good);
	struct status_rows rs;
	char err[256] = "";
	cr_assert_eq(status_rows_from_json(ok, strlen(ok), &rs, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(rs.sr_n, 1);
	cr_expect_eq(rs.sr_rows[0].sr_risk, STATUS_RISK_UNKNOWN);
	cr_expect_null(rs.sr_rows[0].sr_last_action,
	    "no lastAction (a controller from before it): read as null");
	status_rows_free(&rs);
	/* lastAction: null, or an object whose text is the annotation */
	static const struct {
		const char *name, *value, *err; /* err NULL: accepted */
	} las[] = {
	    {"null", "null", NULL},
	    {"text only", "{\"text\":\"X 2026-05-31T23:00:00Z\"}", NULL},
	    {"parts that disagree are derived again", "{\"text\":\"x\",\"reason\":\"Y\"}", NULL},
	    {"a string", "\"IssuerFailover 2026-05-31T23:00:00Z\"", "field \"lastAction\""},
	    {"no text", "{\"reason\":\"X\"}", "field \"lastAction\""},
	    {"text a number", "{\"text\":5}", "field \"lastAction\""},
	};
	for (size_t i = 0; i < sizeof las / sizeof las[0]; i++) {
		char doc[4096];
		snprintf(doc, sizeof doc, "{\"items\":[%.*s,\"lastAction\":%s}]}", (int)strlen(good) - 1,
		    good, las[i].value);
		err[0] = '\0';
		int rc = status_rows_from_json(doc, strlen(doc), &rs, err, sizeof err);
		if (las[i].err == NULL) {
			cr_expect_eq(rc, CC_OK, "%s: %s", las[i].name, err);
		} else {
			cr_expect_eq(rc, CC_ERR_PARSE, "%s: accepted", las[i].name);
			cr_expect(strstr(err, las[i].err), "%s: \"%s\" lacks \"%s\"", las[i].name, err,
			    las[i].err);
		}
		status_rows_free(&rs);
	}

	static const struct bad_doc cases[] = {
	    {"not JSON", "{\"items\":[", "not JSON"},
	    {"empty", "", "not JSON"},
	    {"no items", "{\"rows\":[]}", "no \"items\" array"},
	    {"items not an array", "{\"items\":{}}", "no \"items\" array"},
	    {"an array", "[]", "no \"items\" array"},
	    {"item not an object", "{\"items\":[1]}", "items[0]"},
	    {"missing name", "{\"items\":[{\"namespace\":\"a\"}]}", "items[0]: field \"name\""},
	    {"time not RFC 3339",
		"{\"items\":[{\"namespace\":\"a\",\"name\":\"b\",\"issuer\":{\"group\":\"g\","
		"\"kind\":\"Issuer\",\"name\":\"ca\"},\"ready\":null,\"notAfter\":\"soon\"}]}",
		"field \"notAfter\""},
	    {"risk out of range", "RISK:2", "field \"risk\""},
	    {"unknown level", "LEVEL:\"dire\"", "field \"riskLevel\""},
	    {"negative attempts", "ATTEMPTS:-1", "field \"failedIssuanceAttempts\""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct bad_doc *bd = &cases[i];
		char doc[4096];
		const char *t = bd->bd_text;
		/* edits of the good item: KEY:VALUE replaces that field's value */
		if (strncmp(t, "RISK:", 5) == 0 || strncmp(t, "LEVEL:", 6) == 0 ||
		    strncmp(t, "ATTEMPTS:", 9) == 0) {
			const char *v = strchr(t, ':') + 1;
			const char *field = t[0] == 'R' ? "\"risk\":null" :
			    t[0] == 'L'			    ? "\"riskLevel\":null" :
								      "\"failedIssuanceAttempts\":0";
			char item[2048];
			snprintf(item, sizeof item, "%s", good);
			char *at = strstr(item, field);
			cr_assert_not_null(at);
			size_t klen = strcspn(field, ":") + 1, flen = strlen(field);
			char tail[2048];
			snprintf(tail, sizeof tail, "%s", at + flen);
			snprintf(at + klen, sizeof item - (size_t)(at - item) - klen, "%s%s", v, tail);
			if (t[0] == 'L') { /* a level needs a risk to be read */
				char *r = strstr(item, "\"risk\":null");
				memcpy(r, "\"risk\":0.50", 11);
			}
			snprintf(doc, sizeof doc, "{\"items\":[%s,%s]}", good, item);
		} else {
			snprintf(doc, sizeof doc, "%s", t);
		}
		memset(&rs, 0, sizeof rs);
		err[0] = '\0';
		cr_expect_eq(status_rows_from_json(doc, strlen(doc), &rs, err, sizeof err),
		    CC_ERR_PARSE, "%s: accepted %s", bd->bd_name, doc);
		cr_expect(strstr(err, bd->bd_err), "%s: reason \"%s\" lacks \"%s\"", bd->bd_name, err,
		    bd->bd_err);
		cr_expect_eq(rs.sr_n, 0, "%s: rows left after a refusal", bd->bd_name);
		if (strchr(bd->bd_text, ':') && bd->bd_text[0] != '{')
			cr_expect(strstr(err, "items[1]"), "%s: the second item is named: %s",
			    bd->bd_name, err);
	}
}

/* ---- rows collected in batches (the controller's /status) ---- */

struct collect_count {
	size_t cc_calls;
	int cc_mismatch;
};

/* A scorer that checks it is handed the row's own certificate, and marks the row. */
static void
count_score(void *arg, const struct rec_cert *c, struct status_row *r)
{
	struct collect_count *k = arg;
	k->cc_calls++;
	if (strcmp(c->c_meta.m_ns, r->sr_ns) != 0 || strcmp(c->c_meta.m_name, r->sr_name) != 0)
		k->cc_mismatch = 1;
	r->sr_risk = STATUS_RISK_MEDIUM;
	r->sr_risk_value = 0.5;
	r->sr_risk_reasons = strdup("counted");
}

struct collect_case {
	const char *cl_name;
	const char *cl_ns;
	size_t cl_batch;
};

/* Any batch size gives the rows status_rows_build gives, in its order, each scored once. */
Test(status, collect_in_batches)
{
	static const struct collect_case cases[] = {
	    {"one lock", NULL, 0},
	    {"one certificate per lock", NULL, 1},
	    {"two per lock", "", 2},
	    {"larger than the store", NULL, 1000},
	    {"one namespace", "shop", 1},
	    {"an empty namespace", "nowhere", 3},
	};
	struct store *st = filled_store();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct collect_case *cl = &cases[i];
		struct status_rows built, got;
		status_rows_build(st, cl->cl_ns, &built);
		struct collect_count k = {0, 0};
		status_rows_collect(st, cl->cl_ns, cl->cl_batch, count_score, &k, &got);
		cr_expect_eq(got.sr_n, built.sr_n, "%s", cl->cl_name);
		cr_expect_eq(k.cc_calls, built.sr_n, "%s: scored %zu times", cl->cl_name, k.cc_calls);
		cr_expect(!k.cc_mismatch, "%s: a row scored with another certificate", cl->cl_name);
		for (size_t r = 0; r < built.sr_n; r++) {
			built.sr_rows[r].sr_risk = STATUS_RISK_MEDIUM;
			built.sr_rows[r].sr_risk_value = 0.5;
			built.sr_rows[r].sr_risk_reasons = strdup("counted");
		}
		char *a = status_json_text(&built), *b = status_json_text(&got);
		cr_expect_str_eq(b, a, "%s: rows differ", cl->cl_name);
		free(a);
		free(b);
		status_rows_free(&built);
		status_rows_free(&got);
	}
	store_free(st);
}
