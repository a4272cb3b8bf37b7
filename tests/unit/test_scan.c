/*
 * scan: loading a saved `kubectl get -o json` into the store (tracked kinds stored, others
 * ignored, a bad item reported by index and skipped without losing the rest, non-JSON refused),
 * and the command end to end on a file: rows scored, exit 3 for a critical certificate, -n, and
 * explain on the same store.
 */
#include <criterion/criterion.h>
#include "mutate.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>

#include "cc_err.h"
#include "explain_cmd.h"
#include "log.h"
#include "scan.h"
#include "store.h"
#include "testcert.h"
#include <cjson/cJSON.h>

static void
quiet(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
}

TestSuite(scan, .init = quiet);

/* 2026-06-01T00:00:00Z */
#define NOW 1780272000LL

/*
 * A healthy certificate, one that expires in two hours after six failed attempts (rate
 * limited), its issuer, a Secret (not tracked) and, in the middle, a Certificate whose notAfter
 * is not a time.
 */
static const char list_json[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
    "{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Issuer\",\"metadata\":{\"name\":\"le\","
    "\"namespace\":\"shop\"},\"spec\":{\"acme\":{\"server\":\"https://acme.example/dir\"}},"
    "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"ACMEAccountRegistered\","
    "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}},"
    "{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"metadata\":{\"name\":\"ok\","
    "\"namespace\":\"shop\"},\"spec\":{\"secretName\":\"ok-tls\",\"issuerRef\":{\"name\":\"le\"},"
    "\"dnsNames\":[\"ok.shop.example\"]},\"status\":{\"notBefore\":\"2026-05-20T00:00:00Z\","
    "\"notAfter\":\"2026-08-18T00:00:00Z\",\"renewalTime\":\"2026-07-19T00:00:00Z\","
    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\","
    "\"lastTransitionTime\":\"2026-05-20T00:00:00Z\"}]}},"
    "{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"metadata\":{\"name\":\"broken\","
    "\"namespace\":\"shop\"},\"status\":{\"notAfter\":\"next tuesday\"}},"
    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"ok-tls\",\"namespace\":\"shop\"}},"
    "{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"metadata\":{\"name\":\"dying\","
    "\"namespace\":\"bank\"},\"spec\":{\"secretName\":\"d-tls\",\"issuerRef\":{\"name\":\"le\"},"
    "\"dnsNames\":[\"dying.bank.example\"]},\"status\":{\"notBefore\":\"2026-03-03T02:00:00Z\","
    "\"notAfter\":\"2026-06-01T02:00:00Z\",\"renewalTime\":\"2026-05-02T02:00:00Z\","
    "\"failedIssuanceAttempts\":6,\"lastFailureTime\":\"2026-05-31T23:30:00Z\","
    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\","
    "\"lastTransitionTime\":\"2026-03-03T02:00:00Z\"},{\"type\":\"Issuing\",\"status\":\"False\","
    "\"reason\":\"Failed\",\"message\":\"The certificate request has failed to complete and will "
    "be retried: 429 urn:ietf:params:acme:error:rateLimited: too many certificates already "
    "issued\",\"lastTransitionTime\":\"2026-05-31T23:30:00Z\"}]}},"
    "7]}";

static char *
capture(FILE **fp, size_t *len, char **buf)
{
	*fp = open_memstream(buf, len);
	return *buf;
}

Test(scan, load_keeps_good_items_and_names_bad_ones)
{
	struct store *st = store_new();
	struct scan_stats ss;
	char *err = NULL;
	size_t elen = 0;
	FILE *ef;
	capture(&ef, &elen, &err);
	int rc = scan_load(st, list_json, strlen(list_json), "saved.json", ef, &ss);
	fclose(ef);
	cr_assert_eq(rc, CC_OK);
	cr_expect_eq(ss.ss_loaded, 3, "issuer and two certificates stored, got %zu", ss.ss_loaded);
	cr_expect_eq(ss.ss_ignored, 1, "the Secret is not tracked");
	cr_expect_eq(ss.ss_bad, 2, "the bad certificate and the number");
	cr_expect(strstr(err, "saved.json: items[2]: ") != NULL, "names file and index: %s", err);
	cr_expect(strstr(err, "status.notAfter") != NULL, "names the field: %s", err);
	cr_expect(strstr(err, "items[5]: not an object") != NULL, "%s", err);
	store_rdlock(st);
	cr_expect_eq(store_count(st, RES_CERTIFICATE), 2);
	cr_expect_eq(store_count(st, RES_ISSUER), 1);
	store_unlock(st);
	free(err);
	store_free(st);
}

Test(scan, load_refuses_what_is_not_a_json_object)
{
	static const char *const bad[] = {"", "{\"kind\":", "[1,2]", "\"text\"", "{\"items\": 3}x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct store *st = store_new();
		struct scan_stats ss;
		char *err = NULL;
		size_t elen = 0;
		FILE *ef;
		capture(&ef, &elen, &err);
		int rc = scan_load(st, bad[i], strlen(bad[i]), "f.json", ef, &ss);
		fclose(ef);
		cr_expect_eq(rc, CC_ERR_PARSE, "case %zu \"%s\"", i, bad[i]);
		cr_expect(strstr(err, "certcast scan: f.json: ") != NULL, "case %zu: %s", i, err);
		free(err);
		store_free(st);
	}
}

/* One object instead of a List is accepted too. */
Test(scan, load_single_object)
{
	static const char one[] =
	    "{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"metadata\":"
	    "{\"name\":\"solo\",\"namespace\":\"x\"},\"spec\":{\"issuerRef\":{\"name\":\"i\"}}}";
	struct store *st = store_new();
	struct scan_stats ss;
	cr_assert_eq(scan_load(st, one, strlen(one), "one.json", stderr, &ss), CC_OK);
	cr_expect_eq(ss.ss_loaded, 1);
	store_free(st);
}

static char *
write_tmp(const char *text)
{
	char *path = strdup("/tmp/certcast-scan-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int
run_scan(const char *path, const char *ns, enum status_output o, char **out, char **err)
{
	size_t ol = 0, el = 0;
	FILE *of = open_memstream(out, &ol), *ef = open_memstream(err, &el);
	struct scan_opts so = {path, ns, o, NOW};
	int code = scan_run(&so, stdin, of, ef);
	fclose(of);
	fclose(ef);
	return code;
}

Test(scan, run_scores_rows_and_exits_3_on_critical)
{
	char *path = write_tmp(list_json), *out = NULL, *err = NULL;
	int code = run_scan(path, NULL, STATUS_OUT_TABLE, &out, &err);
	cr_expect_eq(code, 3, "a critical certificate: exit 3 (stderr %s)", err);
	cr_expect(strstr(out, "critical (") != NULL, "dying is critical:\n%s", out);
	cr_expect(strstr(out, "low (") != NULL, "ok is low:\n%s", out);
	cr_expect(strstr(err, "2 items of saved") == NULL && strstr(err, "2 items of") != NULL,
	    "says how many were skipped: %s", err);
	free(out);
	free(err);
	/* -n shop leaves the critical one out: exit 0 */
	code = run_scan(path, "shop", STATUS_OUT_JSON, &out, &err);
	cr_expect_eq(code, 0);
	cr_expect(strstr(out, "\"riskLevel\":\t\"low\"") != NULL || strstr(out, "\"riskLevel\": \"low\"") != NULL,
	    "json carries the level:\n%s", out);
	cr_expect(strstr(out, "dying") == NULL);
	free(out);
	free(err);
	unlink(path);
	free(path);
}

/*
 * Leader election Events about Leases, as `kubectl get events -A -o json` saves them: certcast's
 * own (events.k8s.io/v1, seen through core/v1: reportingComponent certcast, source {}) and
 * cert-manager's (an old-style recorder). Neither is about a cert-manager object: the rows do
 * not change, and certcast's is not even kept.
 */
#define LEASE_EVENTS                                                                             \
	"{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":"                           \
	"\"certcast-leader.18a0f1c2d3e4f5a6\",\"namespace\":\"certcast\"},\"involvedObject\":"          \
	"{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"namespace\":\"certcast\","    \
	"\"name\":\"certcast-leader\",\"uid\":\"5e1f\"},\"reason\":\"LeaderElection\",\"message\":"   \
	"\"certcast-7d9f-abcde became leader\",\"type\":\"Normal\",\"eventTime\":"                     \
	"\"2026-05-31T23:00:00.000000Z\",\"action\":\"BecomeLeader\",\"reportingComponent\":"         \
	"\"certcast\",\"reportingInstance\":\"certcast-7d9f-abcde\",\"source\":{}},"                   \
	"{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":"                           \
	"\"cert-manager-controller.18a0f1c2d3e4f5a7\",\"namespace\":\"kube-system\"},"                  \
	"\"involvedObject\":{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","            \
	"\"namespace\":\"kube-system\",\"name\":\"cert-manager-controller\"},\"reason\":"              \
	"\"LeaderElection\",\"message\":\"cm-0 became leader\",\"type\":\"Normal\","                   \
	"\"firstTimestamp\":\"2026-05-31T23:00:00Z\",\"lastTimestamp\":\"2026-05-31T23:00:00Z\","       \
	"\"count\":1,\"source\":{\"component\":\"cert-manager-controller\"}},"

Test(scan, leader_election_events_about_leases_change_nothing)
{
	/* the same list with the two Events in front of its last (bad) item */
	const char *tail = strstr(list_json, "7]}");
	cr_assert_not_null(tail);
	size_t head = (size_t)(tail - list_json);
	size_t len = strlen(list_json) + sizeof LEASE_EVENTS;
	char *with = malloc(len);
	snprintf(with, len, "%.*s%s%s", (int)head, list_json, LEASE_EVENTS, tail);

	struct store *st = store_new();
	struct scan_stats ss;
	FILE *devnull = fopen("/dev/null", "w");
	cr_assert_eq(scan_load(st, with, strlen(with), "saved.json", devnull, &ss), CC_OK);
	fclose(devnull);
	store_rdlock(st);
	cr_expect_eq(store_count(st, RES_EVENT), 1, "cert-manager's kept, certcast's own dropped");
	store_unlock(st);
	store_free(st);

	char *p0 = write_tmp(list_json), *p1 = write_tmp(with);
	char *o0 = NULL, *e0 = NULL, *o1 = NULL, *e1 = NULL;
	int c0 = run_scan(p0, NULL, STATUS_OUT_JSON, &o0, &e0);
	int c1 = run_scan(p1, NULL, STATUS_OUT_JSON, &o1, &e1);
	cr_expect_eq(c1, c0, "same exit code");
	cr_expect_str_eq(o1, o0, "the same rows, byte for byte");
	free(o0);
	free(e0);
	free(o1);
	free(e1);
	unlink(p0);
	unlink(p1);
	free(p0);
	free(p1);
	free(with);
}

Test(scan, run_reports_unreadable_files)
{
	char *out = NULL, *err = NULL;
	int code = run_scan("/nonexistent/dir/saved.json", NULL, STATUS_OUT_TABLE, &out, &err);
	cr_expect_eq(code, 1);
	cr_expect(strstr(err, "cannot open /nonexistent/dir/saved.json") != NULL, "%s", err);
	free(out);
	free(err);
	char *path = write_tmp("not json at all");
	code = run_scan(path, NULL, STATUS_OUT_TABLE, &out, &err);
	cr_expect_eq(code, 1);
	cr_expect(strstr(err, "not valid JSON") != NULL, "%s", err);
	free(out);
	free(err);
	unlink(path);
	free(path);
}

Test(scan, explain_prints_every_part)
{
	struct store *st = store_new();
	struct scan_stats ss;
	FILE *devnull = fopen("/dev/null", "w");
	cr_assert_eq(scan_load(st, list_json, strlen(list_json), "saved.json", devnull, &ss), CC_OK);
	char *out = NULL, *err = NULL;
	size_t ol = 0, el = 0;
	FILE *of = open_memstream(&out, &ol), *ef = open_memstream(&err, &el);
	int code = xp_print(st, "bank", "dying", NOW, of, ef);
	fclose(of);
	fclose(ef);
	cr_expect_eq(code, 0);
	static const char *const parts[] = {"Certificate bank/dying", "risk: ", "(critical)",
	    "backoff until", "factors (contribution to risk):", "rate-limit", "decision:"};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		cr_expect(strstr(out, parts[i]) != NULL, "explain lacks \"%s\":\n%s", parts[i], out);
	free(out);
	free(err);
	out = err = NULL;
	of = open_memstream(&out, &ol);
	ef = open_memstream(&err, &el);
	code = xp_print(st, "bank", "absent", NOW, of, ef);
	fclose(of);
	fclose(ef);
	cr_expect_eq(code, 1);
	cr_expect(strstr(err, "certificate \"absent\" not found in namespace \"bank\"") != NULL, "%s",
	    err);
	free(out);
	free(err);
	fclose(devnull);
	store_free(st);
}

/*
 * A Certificate whose issued certificate (status.certificate of its request, base64 of PEM as
 * cert-manager writes it) has a 1024-bit RSA key: status carries a weak-key anomaly for it and
 * explain prints it; its neighbour with a P-256 key has none.
 */
static char *
issued_b64(const char *kind, const char *dns)
{
	EVP_PKEY *k = tc_key(kind);
	char sans[128];
	snprintf(sans, sizeof sans, "DNS:%s", dns);
	struct tc_spec sp = {"shop CA", dns, sans, NOW - 10 * 86400, NOW + 80 * 86400, EVP_sha256(),
	    0, 7};
	X509 *x = tc_cert(k, k, &sp);
	size_t plen, blen;
	char *pem = tc_pem(&x, 1, &plen);
	char *b64 = tc_b64(pem, plen, &blen);
	free(pem);
	X509_free(x);
	EVP_PKEY_free(k);
	return b64;
}

static char *
cert_and_request(const char *name, const char *kind, int first)
{
	char dns[64];
	snprintf(dns, sizeof dns, "%s.shop.example", name);
	char *b64 = issued_b64(kind, dns);
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);
	fprintf(fp,
	    "%s{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"metadata\":{\"name\":"
	    "\"%s\",\"namespace\":\"shop\",\"uid\":\"c-%s\"},\"spec\":{\"secretName\":\"%s-tls\","
	    "\"issuerRef\":{\"name\":\"ca\"},\"dnsNames\":[\"%s\"]},\"status\":{\"notBefore\":"
	    "\"2026-05-22T00:00:00Z\",\"notAfter\":\"2026-08-20T00:00:00Z\",\"conditions\":[{\"type\":"
	    "\"Ready\",\"status\":\"True\",\"reason\":\"Ready\",\"lastTransitionTime\":"
	    "\"2026-05-22T00:00:00Z\"}]}},"
	    "{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"CertificateRequest\",\"metadata\":{"
	    "\"name\":\"%s-1\",\"namespace\":\"shop\",\"uid\":\"r-%s\",\"creationTimestamp\":"
	    "\"2026-05-22T00:00:00Z\",\"annotations\":{\"cert-manager.io/certificate-name\":\"%s\","
	    "\"cert-manager.io/certificate-revision\":\"1\"}},\"spec\":{\"request\":\"\","
	    "\"issuerRef\":{\"name\":\"ca\"}},\"status\":{\"certificate\":\"%s\",\"conditions\":[{"
	    "\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Issued\",\"lastTransitionTime\":"
	    "\"2026-05-22T00:00:00Z\"}]}}",
	    first ? "" : ",", name, name, name, dns, name, name, name, b64);
	fclose(fp);
	free(b64);
	return out;
}

Test(scan, weak_key_of_the_issued_certificate_is_an_anomaly)
{
	char *weak = cert_and_request("weak", "rsa1024", 1), *good = cert_and_request("good", "P-256", 0);
	char *doc = NULL;
	size_t dlen = 0;
	FILE *fp = open_memstream(&doc, &dlen);
	fprintf(fp, "{\"kind\":\"List\",\"items\":[%s%s]}", weak, good);
	fclose(fp);
	free(weak);
	free(good);
	char *path = write_tmp(doc), *out = NULL, *err = NULL;
	int code = run_scan(path, NULL, STATUS_OUT_JSON, &out, &err);
	cr_expect(code == 0 || code == 3, "exit %d: %s", code, err);
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "json: %s", out);
	const cJSON *it;
	int seen_weak = 0, seen_good = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "items"))
	{
		const char *name = cJSON_GetObjectItemCaseSensitive(it, "name")->valuestring;
		const cJSON *an = cJSON_GetObjectItemCaseSensitive(it, "anomalies"), *x;
		int weakkey = 0;
		cJSON_ArrayForEach(x, an)
		{
			if (strcmp(cJSON_GetObjectItemCaseSensitive(x, "type")->valuestring, "weak-key") == 0)
				weakkey = 1;
		}
		if (strcmp(name, "weak") == 0) {
			seen_weak = 1;
			cr_expect(weakkey, "weak has a weak-key anomaly:\n%s", out);
		} else if (strcmp(name, "good") == 0) {
			seen_good = 1;
			cr_expect(!weakkey, "good has none:\n%s", out);
		}
	}
	cr_expect(seen_weak && seen_good);
	cJSON_Delete(j);
	free(out);
	free(err);
	/* explain says so too */
	struct store *st = store_new();
	struct scan_stats ss;
	cr_assert_eq(scan_load(st, doc, strlen(doc), "doc", stderr, &ss), CC_OK);
	size_t ol = 0, el = 0;
	out = err = NULL;
	FILE *of = open_memstream(&out, &ol), *ef = open_memstream(&err, &el);
	cr_expect_eq(xp_print(st, "shop", "weak", NOW, of, ef), 0);
	fclose(of);
	fclose(ef);
	cr_expect(strstr(out, "weak-key") != NULL, "explain names the anomaly:\n%s", out);
	free(out);
	free(err);
	store_free(st);
	unlink(path);
	free(path);
	free(doc);
}

/*
 * Bad input never crashes, leaks or hangs: 3000 seeded mutations of the saved list (bytes
 * changed, removed, duplicated, the text cut short) go through load, rows, scoring, anomalies
 * and both printers. Each either loads (with the bad items reported) or is refused as not
 * JSON. Under `make test-san` this runs with AddressSanitizer and UBSan.
 */
Test(scan, mutated_files_are_handled)
{
	const struct mut_opts mo = {"{}[]\":,0123456789.-eE \\tnulltrueTZ/", 4, 1, 0, 16, 64};
	uint64_t seed = 0x5ca11ab1e5eedULL;
	size_t base = strlen(list_json), loaded = 0, refused = 0;
	FILE *devnull = fopen("/dev/null", "w");
	char *buf = malloc(2 * base + 1);
	for (int round = 0; round < 3000; round++) {
		size_t n = base;
		memcpy(buf, list_json, base);
		n = mut_apply(buf, n, 2 * base, &mo, &seed);
		buf[n] = '\0';
		struct store *st = store_new();
		struct scan_stats ss;
		int rc = scan_load(st, buf, n, "fuzz.json", devnull, &ss);
		cr_assert(rc == CC_OK || rc == CC_ERR_PARSE, "round %d: rc %d", round, rc);
		if (rc == CC_OK) {
			loaded++;
			struct status_rows rows;
			status_rows_build(st, NULL, &rows);
			status_rows_score(st, &rows, NOW, NULL);
			(void)status_print(&rows, STATUS_OUT_JSON, "", NOW, devnull, devnull);
			(void)status_print(&rows, STATUS_OUT_WIDE, "", NOW, devnull, devnull);
			status_rows_free(&rows);
		} else {
			refused++;
		}
		store_free(st);
	}
	free(buf);
	fclose(devnull);
	cr_expect_gt(loaded, 100, "some mutations stay JSON (%zu)", loaded);
	cr_expect_gt(refused, 100, "and some do not (%zu)", refused);
}
