/*
 * kube_client against the scripted test server: status mapping, headers, bodies and their
 * limit, streams (order, stop, cancel, idle, cut), TLS verification both ways, client
 * certificates, tls-server-name, 401 refresh, the limiter's exemption for watches, counters,
 * and concurrent use. No assertion depends on how long anything took; timeouts on the tests
 * only stop a broken build from hanging.
 */
#include "kube_client.h"

#include "buf.h"
#include "cc_err.h"
#include "kubeconfig.h"
#include "log.h"
#include "testhttp.h"
#include "xalloc.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A config that points at srv; optional fields stay NULL. The client copies it. */
static struct kube_config
cfg_for(struct th_server *srv)
{
	struct kube_config cfg = {0};
	cfg.kc_server = (char *)th_server_url(srv);
	cfg.kc_namespace = "default";
	return cfg;
}

static struct kube_client *
client_for(const struct kube_config *cfg, const struct kube_client_opts *o)
{
	struct kube_client *c = NULL;
	struct kube_error err;
	int rc = kube_client_new(cfg, o, &c, &err);
	cr_assert_eq(rc, CC_OK, "kube_client_new: %s: %s", cc_strerror(rc), err.ke_message);
	return c;
}

static struct th_server *
start(int tls, int want_client_cert)
{
	struct th_opts o = {.to_tls = tls, .to_want_client_cert = want_client_cert};
	struct th_server *s = NULL;
	cr_assert_eq(th_server_start(&o, &s), CC_OK);
	return s;
}

/* ---- status mapping ---- */

#define STATUS(code, reason, msg) \
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"" msg \
	"\",\"reason\":\"" reason "\",\"code\":" #code "}"

struct status_case {
	const char *name;
	int status;
	const char *headers;
	const char *body;
	int want_rc;
	const char *want_reason;
	const char *want_msg;  /* substring of ke_message */
	long want_retry;
};

static const struct status_case status_cases[] = {
	{"200 ok", 200, NULL, "{\"kind\":\"Pod\"}", CC_OK, "", NULL, 0},
	{"201 created", 201, NULL, "{}", CC_OK, "", NULL, 0},
	{"204 no content", 204, NULL, NULL, CC_OK, "", NULL, 0},
	{"400 bad request", 400, NULL, STATUS(400, "BadRequest", "bad"), CC_ERR_INVAL, "BadRequest",
	    "bad", 0},
	{"401 unauthorized", 401, NULL, STATUS(401, "Unauthorized", "Unauthorized"),
	    CC_ERR_UNAUTHORIZED, "Unauthorized", "Unauthorized", 0},
	{"403 with Status", 403, NULL,
	    STATUS(403, "Forbidden", "certificates.cert-manager.io is forbidden: User cannot list"),
	    CC_ERR_FORBIDDEN, "Forbidden", "is forbidden: User cannot list", 0},
	{"404 not found", 404, NULL, STATUS(404, "NotFound", "certificates \\\"x\\\" not found"),
	    CC_ERR_NOTFOUND, "NotFound", "certificates \"x\" not found", 0},
	{"409 conflict", 409, NULL, STATUS(409, "Conflict", "the object has been modified"),
	    CC_ERR_CONFLICT, "Conflict", "has been modified", 0},
	{"410 gone", 410, NULL, STATUS(410, "Expired", "too old resource version: 1 (5)"),
	    CC_ERR_GONE, "Expired", "too old resource version", 0},
	{"422 invalid", 422, NULL, STATUS(422, "Invalid", "spec.renewBefore: Invalid value"),
	    CC_ERR_INVALID_OBJECT, "Invalid", "renewBefore", 0},
	{"429 with Retry-After header", 429, "Retry-After: 7\r\n",
	    STATUS(429, "TooManyRequests", "slow down"), CC_ERR_UNAVAILABLE, "TooManyRequests",
	    "slow down", 7},
	{"429 with retryAfterSeconds only", 429, NULL,
	    "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"message\":\"later\","
	    "\"details\":{\"retryAfterSeconds\":3},\"code\":429}",
	    CC_ERR_UNAVAILABLE, "TooManyRequests", "later", 3},
	{"header wins over details", 429, "Retry-After: 11\r\n",
	    "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"details\":{\"retryAfterSeconds\":3}}",
	    CC_ERR_UNAVAILABLE, "TooManyRequests", "HTTP 429", 11},
	{"date-form Retry-After is ignored", 503, "Retry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n",
	    STATUS(503, "ServiceUnavailable", "x"), CC_ERR_UNAVAILABLE, "ServiceUnavailable", "x", 0},
	{"500 internal", 500, NULL, STATUS(500, "InternalError", "etcd down"), CC_ERR_UNAVAILABLE,
	    "InternalError", "etcd down", 0},
	{"503 html page", 503, "Content-Type: text/html\r\n", "<html>\n<b>down</b></html>",
	    CC_ERR_UNAVAILABLE, "", "HTTP 503: <html> <b>down</b></html>", 0},
	{"504 gateway timeout", 504, NULL, STATUS(504, "Timeout", "timeout"), CC_ERR_TIMEOUT,
	    "Timeout", "timeout", 0},
	{"418 unmapped", 418, NULL, "{}", CC_ERR_HTTP, "", "HTTP 418", 0},
	{"malformed JSON body", 500, NULL, "{\"kind\":\"Status\",", CC_ERR_UNAVAILABLE, "",
	    "HTTP 500", 0},
	{"Status with wrong types", 403, NULL,
	    "{\"kind\":\"Status\",\"reason\":5,\"message\":[],\"details\":{\"retryAfterSeconds\":\"x\"}}",
	    CC_ERR_FORBIDDEN, "", "HTTP 403", 0},
};

Test(kube_client, status_mapping_table)
{
	struct th_server *s = start(0, 0);
	for (size_t i = 0; i < sizeof status_cases / sizeof status_cases[0]; i++) {
		const struct status_case *tc = &status_cases[i];
		char prefix[32];
		snprintf(prefix, sizeof prefix, "/case/%zu/", i);
		struct th_route r = {.tr_method = "GET", .tr_prefix = prefix, .tr_status = tc->status,
		    .tr_headers = tc->headers, .tr_body = tc->body};
		th_server_add_route(s, &r);
	}
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	for (size_t i = 0; i < sizeof status_cases / sizeof status_cases[0]; i++) {
		const struct status_case *tc = &status_cases[i];
		char path[32];
		snprintf(path, sizeof path, "/case/%zu/", i);
		struct buf b;
		buf_init(&b, 1 << 16);
		long http = -1;
		struct kube_error err;
		int rc = kube_request(c, "GET", path, NULL, NULL, &b, &http, &err);
		cr_expect_eq(rc, tc->want_rc, "%s: rc %s, want %s", tc->name, cc_strerror(rc),
		    cc_strerror(tc->want_rc));
		cr_expect_eq(http, tc->status, "%s: http %ld", tc->name, http);
		if (rc == CC_OK) {
			cr_expect_str_eq(b.b_len ? b.b_data : "", tc->body ? tc->body : "", "%s: body",
			    tc->name);
		} else {
			cr_expect_eq(err.ke_http, tc->status, "%s: ke_http", tc->name);
			cr_expect_str_eq(err.ke_reason, tc->want_reason, "%s: reason", tc->name);
			cr_expect(strstr(err.ke_message, tc->want_msg), "%s: message \"%s\" lacks \"%s\"",
			    tc->name, err.ke_message, tc->want_msg);
			cr_expect_eq(err.ke_retry_after, tc->want_retry, "%s: retry %ld", tc->name,
			    err.ke_retry_after);
			cr_expect_str_eq(b.b_len ? b.b_data : "", tc->body ? tc->body : "",
			    "%s: error body handed back", tc->name);
		}
		buf_free(&b);
	}
	kube_client_free(c);
	th_server_free(s);
}

/*
 * Regression (found while fuzz_kerror was written): the Retry-After header was copied into 31
 * bytes before it was read, so a value after many blanks read as another number ("12" as
 * "1"), and any value up to LONG_MAX was kept, while retryAfterSeconds was bounded. Through
 * the server, so that it runs against the header callback itself.
 */
Test(kube_client, retry_after_header_read_whole_and_bounded)
{
	static const struct {
		const char *name;
		const char *headers;
		long want; /* the body's retryAfterSeconds (3) fills in for a refused header */
	} cases[] = {
	    {"after 30 blanks", "Retry-After:                              12\r\n", 12},
	    {"LONG_MAX is junk: the details fill in", "Retry-After: 9223372036854775807\r\n", 3},
	    {"just over the longest wait", "Retry-After: 1000000000\r\n", 3},
	    {"the longest wait", "Retry-After: 999999999\r\n", KUBE_RETRY_AFTER_MAX},
	    {"over the bound, the details fill in", "Retry-After: 99999999999\r\n", 3},
	};
	struct th_server *s = start(0, 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char prefix[32];
		snprintf(prefix, sizeof prefix, "/ra/%zu/", i);
		struct th_route r = {.tr_method = "GET", .tr_prefix = prefix, .tr_status = 429,
		    .tr_headers = cases[i].headers,
		    .tr_body = "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\","
			       "\"details\":{\"retryAfterSeconds\":3}}"};
		th_server_add_route(s, &r);
	}
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[32];
		snprintf(path, sizeof path, "/ra/%zu/", i);
		struct kube_error err;
		int rc = kube_request(c, "GET", path, NULL, NULL, NULL, NULL, &err);
		cr_expect_eq(rc, CC_ERR_UNAVAILABLE, "%s: rc %s", cases[i].name, cc_strerror(rc));
		cr_expect_eq(err.ke_retry_after, cases[i].want, "%s: retry %ld", cases[i].name,
		    err.ke_retry_after);
	}
	kube_client_free(c);
	th_server_free(s);
}

/* kube_retry_after_header alone: every line curl could hand over, accepted and refused. */
Test(kube_client, retry_after_header_table)
{
	static const struct {
		const char *name;
		const char *line;
		int want_ok;
		long want;
	} cases[] = {
	    {"plain", "Retry-After: 7\r\n", 1, 7},
	    {"lower case, HTTP/2", "retry-after: 30\r\n", 1, 30},
	    {"no blank, no CRLF", "RETRY-AFTER:5", 1, 5},
	    {"tabs and trailing blanks", "Retry-After:\t 0009 \t\r\n", 1, 9},
	    {"the longest wait", "Retry-After: 999999999\r\n", 1, KUBE_RETRY_AFTER_MAX},
	    {"one over", "Retry-After: 1000000000\r\n", 0, 0},
	    {"zero", "Retry-After: 0\r\n", 0, 0},
	    {"negative", "Retry-After: -4\r\n", 0, 0},
	    {"plus sign", "Retry-After: +4\r\n", 0, 0},
	    {"junk after", "Retry-After: 4x\r\n", 0, 0},
	    {"no value", "Retry-After: \r\n", 0, 0},
	    {"HTTP-date", "Retry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n", 0, 0},
	    {"another header", "Content-Type: application/json\r\n", 0, 0},
	    {"name without colon", "Retry-After 7\r\n", 0, 0},
	    {"a byte that folds to ':'", "Retry-After\x1a 7\r\n", 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long secs = -1;
		int ok = kube_retry_after_header(cases[i].line, strlen(cases[i].line), &secs);
		cr_expect_eq(ok, cases[i].want_ok, "%s: ok %d", cases[i].name, ok);
		cr_expect_eq(secs, cases[i].want, "%s: secs %ld", cases[i].name, secs);
	}
	/* the length given is the line: a NUL inside it, or a shorter length, is honoured */
	long secs = -1;
	cr_expect_eq(kube_retry_after_header("Retry-After: 1\0002\r\n", 18, &secs), 0);
	cr_expect_eq(kube_retry_after_header("Retry-After: 12\r\n", 14, &secs), 1);
	cr_expect_eq(secs, 1);
}

/* ---- requests: headers, verbs, bodies ---- */

Test(kube_client, bearer_and_headers_sent)
{
	struct th_server *s = start(0, 0);
	struct th_route r = {.tr_status = 200, .tr_body = "{}"};
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	cfg.kc_token = "sekrit-token";
	struct kube_client_opts o = {.kco_user_agent = "certcast-test/1"};
	struct kube_client *c = client_for(&cfg, &o);
	struct buf b;
	buf_init(&b, 1024);
	cr_assert_eq(kube_request(c, "GET", "/api/v1/namespaces?limit=5", NULL, NULL, &b, NULL, NULL),
	    CC_OK);
	const struct th_request *q = th_server_request(s, 0);
	cr_assert_not_null(q);
	cr_expect_str_eq(q->tr_method, "GET");
	cr_expect_str_eq(q->tr_target, "/api/v1/namespaces?limit=5");
	cr_expect_str_eq(th_request_header(q, "Authorization"), "Bearer sekrit-token");
	cr_expect_str_eq(th_request_header(q, "User-Agent"), "certcast-test/1");
	cr_expect_str_eq(th_request_header(q, "Accept"), "application/json");
	kube_client_free(c);

	/* And the other direction: no token configured, no Authorization header. */
	cfg.kc_token = NULL;
	c = client_for(&cfg, NULL);
	buf_reset(&b);
	cr_assert_eq(kube_request(c, "GET", "/x", NULL, NULL, &b, NULL, NULL), CC_OK);
	q = th_server_request(s, 1);
	cr_assert_not_null(q);
	cr_expect_null(th_request_header(q, "Authorization"));
	cr_expect(strncmp(th_request_header(q, "User-Agent"), "certcast/", 9) == 0);
	buf_free(&b);
	kube_client_free(c);
	th_server_free(s);
}

struct verb_case {
	const char *verb;
	const char *ctype;
	const char *body;
	const char *want_ctype;
	const char *want_body;
};

static const struct verb_case verb_cases[] = {
	{"POST", NULL, "{\"a\":1}", "application/json", "{\"a\":1}"},
	{"PUT", "application/json", "{\"b\":2}", "application/json", "{\"b\":2}"},
	{"PATCH", "application/merge-patch+json", "{\"metadata\":{}}", "application/merge-patch+json",
	    "{\"metadata\":{}}"},
	{"PATCH", "application/apply-patch+yaml", "a: 1\n", "application/apply-patch+yaml", "a: 1\n"},
	{"DELETE", NULL, NULL, NULL, ""},
	{"DELETE", NULL, "{\"kind\":\"DeleteOptions\"}", "application/json",
	    "{\"kind\":\"DeleteOptions\"}"},
	{"GET", NULL, NULL, NULL, ""},
};

Test(kube_client, verbs_and_bodies)
{
	struct th_server *s = start(0, 0);
	struct th_route r = {.tr_status = 200, .tr_body = "{}"};
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	/* A body large enough that curl would otherwise ask for 100-continue. */
	char *big = xmalloc(200001);
	memset(big, 'x', 200000);
	big[0] = '"';
	big[199999] = '"';
	big[200000] = '\0';
	size_t n = sizeof verb_cases / sizeof verb_cases[0];
	for (size_t i = 0; i <= n; i++) {
		const struct verb_case *vc = i < n ? &verb_cases[i] : NULL;
		const char *verb = vc ? vc->verb : "PUT";
		const char *body = vc ? vc->body : big;
		struct buf b;
		buf_init(&b, 1024);
		cr_expect_eq(kube_request(c, verb, "/v", vc ? vc->ctype : NULL, body, &b, NULL, NULL),
		    CC_OK, "%s", verb);
		const struct th_request *q = th_server_request(s, i);
		cr_assert_not_null(q);
		cr_expect_str_eq(q->tr_method, verb);
		const char *ct = th_request_header(q, "Content-Type");
		if (vc && !vc->want_ctype)
			cr_expect_null(ct, "%s: no content type without a body", verb);
		else
			cr_expect(ct && strcmp(ct, vc ? vc->want_ctype : "application/json") == 0,
			    "%s: content type %s", verb, ct ? ct : "(none)");
		cr_expect_str_eq(q->tr_body, vc ? vc->want_body : big, "%s: body", verb);
		cr_expect_null(th_request_header(q, "Expect"), "%s: no Expect header", verb);
		buf_free(&b);
	}
	free(big);
	kube_client_free(c);
	th_server_free(s);
}

/* Sequential calls reuse one connection (and one TLS session); a server-side close forces a new one. */
Test(kube_client, connections_are_reused)
{
	for (int tls = 0; tls < 2; tls++) {
		struct th_server *s = start(tls, 0);
		struct th_route once = {.tr_prefix = "/close", .tr_status = 200, .tr_body = "{}",
		    .tr_headers = "Connection: close\r\n"};
		struct th_route r = {.tr_status = 200, .tr_body = "{}"};
		th_server_add_route(s, &once);
		th_server_add_route(s, &r);
		struct kube_config cfg = cfg_for(s);
		if (tls) {
			cfg.kc_ca_pem = (char *)th_server_ca_pem(s);
			cfg.kc_ca_len = strlen(cfg.kc_ca_pem);
		}
		struct kube_client *c = client_for(&cfg, NULL);
		for (int i = 0; i < 5; i++)
			cr_expect_eq(kube_request(c, "GET", "/x", NULL, NULL, NULL, NULL, NULL), CC_OK);
		cr_expect_eq(th_server_accepted(s), 1, "tls=%d: five calls, one connection", tls);
		cr_expect_eq(kube_request(c, "GET", "/close", NULL, NULL, NULL, NULL, NULL), CC_OK);
		cr_expect_eq(kube_request(c, "GET", "/x", NULL, NULL, NULL, NULL, NULL), CC_OK);
		cr_expect_eq(th_server_accepted(s), 2, "tls=%d: a new connection after the server closed",
		    tls);
		kube_client_free(c);
		th_server_free(s);
	}
}

Test(kube_client, bad_arguments)
{
	struct th_server *s = start(0, 0);
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	struct kube_error err;
	long http = 99;
	cr_expect_eq(kube_request(c, "BREW", "/x", NULL, NULL, NULL, &http, &err), CC_ERR_INVAL);
	cr_expect_eq(http, 0);
	cr_expect_eq(kube_request(c, "GET", "x", NULL, NULL, NULL, NULL, &err), CC_ERR_INVAL);
	cr_expect_eq(kube_request(c, NULL, "/x", NULL, NULL, NULL, NULL, &err), CC_ERR_INVAL);
	cr_expect_eq(th_server_request_count(s), 0, "nothing reached the server");
	kube_client_free(c);

	struct kube_client *c2 = (struct kube_client *)0x1;
	struct kube_config empty = {0};
	cr_expect_eq(kube_client_new(&empty, NULL, &c2, &err), CC_ERR_CONFIG);
	cr_expect_null(c2);
	struct kube_config half = cfg_for(s);
	half.kc_cert_pem = "CERT";
	half.kc_cert_len = 4;
	cr_expect_eq(kube_client_new(&half, NULL, &c2, &err), CC_ERR_CONFIG);
	kube_client_free(NULL);
	kube_client_cancel(NULL);
	th_server_free(s);
}

/* ---- body limits ---- */

struct limit_case {
	const char *name;
	int status;
	size_t limit;
	int want_rc;
	size_t want_len;
};

/* The body is 100 bytes; the boundary is checked from both sides. */
static const struct limit_case limit_cases[] = {
	{"limit above the body", 200, 1000, CC_OK, 100},
	{"limit equal to the body", 200, 100, CC_OK, 100},
	{"limit one short", 200, 99, CC_ERR_TOOBIG, 0},
	{"limit far too small", 200, 10, CC_ERR_TOOBIG, 0},
	{"error status still reported over the limit", 403, 10, CC_ERR_FORBIDDEN, 0},
	{"error body handed back when it fits", 403, 100, CC_ERR_FORBIDDEN, 100},
};

Test(kube_client, body_limit_table)
{
	struct th_server *s = start(0, 0);
	char body[101];
	memset(body, 'b', 100);
	body[100] = '\0';
	struct th_route ok = {.tr_prefix = "/ok", .tr_status = 200, .tr_body = body};
	struct th_route no = {.tr_prefix = "/no", .tr_status = 403, .tr_body = body};
	th_server_add_route(s, &ok);
	th_server_add_route(s, &no);
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	for (size_t i = 0; i < sizeof limit_cases / sizeof limit_cases[0]; i++) {
		const struct limit_case *lc = &limit_cases[i];
		struct buf b;
		buf_init(&b, lc->limit);
		struct kube_error err;
		int rc = kube_request(c, "GET", lc->status == 200 ? "/ok" : "/no", NULL, NULL, &b, NULL,
		    &err);
		cr_expect_eq(rc, lc->want_rc, "%s: rc %s", lc->name, cc_strerror(rc));
		cr_expect_eq(b.b_len, lc->want_len, "%s: %zu bytes kept", lc->name, b.b_len);
		if (rc == CC_ERR_TOOBIG)
			cr_expect(strstr(err.ke_message, "larger than"), "%s: %s", lc->name, err.ke_message);
		buf_free(&b);
	}
	/* The client stays usable after an aborted transfer. */
	struct buf b;
	buf_init(&b, 1000);
	cr_expect_eq(kube_request(c, "GET", "/ok", NULL, NULL, &b, NULL, NULL), CC_OK);
	buf_free(&b);
	kube_client_free(c);
	th_server_free(s);
}

Test(kube_client, null_body_sink_discards)
{
	struct th_server *s = start(0, 0);
	struct th_route r = {.tr_status = 200, .tr_body = "{\"big\":true}"};
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	cr_expect_eq(kube_request(c, "DELETE", "/x", NULL, NULL, NULL, NULL, NULL), CC_OK);
	kube_client_free(c);
	th_server_free(s);
}

/* ---- streams ---- */

struct collect {
	struct buf co_buf;        /* everything received */
	atomic_int co_chunks;     /* calls so far */
	int co_stop_at;           /* return co_stop_rc on this call (1-based); 0 never */
	int co_stop_rc;
};

static int
collect_fn(void *arg, const char *data, size_t len)
{
	struct collect *co = arg;
	int n = atomic_fetch_add(&co->co_chunks, 1) + 1;
	if (buf_append(&co->co_buf, data, len) != CC_OK)
		return CC_ERR_TOOBIG;
	if (co->co_stop_at && n >= co->co_stop_at)
		return co->co_stop_rc;
	return CC_OK;
}

Test(kube_client, stream_delivers_chunks_in_order)
{
	struct th_server *s = start(0, 0);
	const char *chunks[] = {"{\"type\":\"ADDED\",\"n\":1}\n", "{\"type\":\"MODIFIED\",",
	    "\"n\":2}\n", "{\"type\":\"DELETED\",\"n\":3}\n", NULL};
	struct th_route r = {.tr_method = "GET", .tr_prefix = "/watch", .tr_status = 200,
	    .tr_chunks = chunks, .tr_delay_ms = 5};
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	cfg.kc_token = "tok";
	struct kube_client *c = client_for(&cfg, NULL);
	struct collect co = {0};
	buf_init(&co.co_buf, 1 << 16);
	struct kube_error err;
	int rc = kube_stream(c, "/watch?watch=1", 10000, collect_fn, &co, &err);
	cr_expect_eq(rc, CC_OK, "a stream the server ends cleanly is CC_OK: %s", err.ke_message);
	cr_expect_str_eq(co.co_buf.b_data, "{\"type\":\"ADDED\",\"n\":1}\n{\"type\":\"MODIFIED\","
	    "\"n\":2}\n{\"type\":\"DELETED\",\"n\":3}\n");
	cr_expect_str_eq(th_request_header(th_server_request(s, 0), "Authorization"), "Bearer tok");
	buf_free(&co.co_buf);
	kube_client_free(c);
	th_server_free(s);
}

Test(kube_client, stream_consumer_can_stop)
{
	struct th_server *s = start(0, 0);
	const char *chunks[] = {"a\n", "b\n", "c\n", NULL};
	struct th_route r = {.tr_status = 200, .tr_chunks = chunks, .tr_delay_ms = 5, .tr_hold = 1};
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	struct collect co = {.co_stop_at = 2, .co_stop_rc = CC_ERR_PARSE};
	buf_init(&co.co_buf, 1 << 16);
	int rc = kube_stream(c, "/watch", 60000, collect_fn, &co, NULL);
	cr_expect_eq(rc, CC_ERR_PARSE, "the consumer's code comes back: %s", cc_strerror(rc));
	cr_expect_str_eq(co.co_buf.b_data, "a\nb\n");
	buf_free(&co.co_buf);
	kube_client_free(c);
	th_server_free(s);
}

Test(kube_client, stream_error_status_calls_nothing)
{
	struct th_server *s = start(0, 0);
	struct th_route r = {.tr_status = 410,
	    .tr_body = STATUS(410, "Expired", "too old resource version: 5 (99)")};
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	struct collect co = {0};
	buf_init(&co.co_buf, 1 << 16);
	struct kube_error err;
	int rc = kube_stream(c, "/watch", 5000, collect_fn, &co, &err);
	cr_expect_eq(rc, CC_ERR_GONE);
	cr_expect_eq(atomic_load(&co.co_chunks), 0);
	cr_expect_str_eq(err.ke_reason, "Expired");
	cr_expect_eq(err.ke_http, 410);
	buf_free(&co.co_buf);
	kube_client_free(c);
	th_server_free(s);
}

Test(kube_client, stream_cut_mid_way_is_an_io_error)
{
	struct th_server *s = start(0, 0);
	const char *chunks[] = {"{\"type\":\"ADDED\"}\n", "{\"type\":\"MOD", NULL};
	struct th_route r = {.tr_status = 200, .tr_chunks = chunks, .tr_cut = 1};
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	struct collect co = {0};
	buf_init(&co.co_buf, 1 << 16);
	struct kube_error err;
	int rc = kube_stream(c, "/watch", 5000, collect_fn, &co, &err);
	cr_expect_eq(rc, CC_ERR_IO, "a cut stream must not look like a clean end: %s",
	    cc_strerror(rc));
	cr_expect_eq(err.ke_http, 200);
	cr_expect_str_eq(co.co_buf.b_data, "{\"type\":\"ADDED\"}\n{\"type\":\"MOD");
	buf_free(&co.co_buf);
	kube_client_free(c);
	th_server_free(s);
}

Test(kube_client, stream_idle_timeout)
{
	struct th_server *s = start(0, 0);
	const char *chunks[] = {"first\n", NULL};
	struct th_route r = {.tr_status = 200, .tr_chunks = chunks, .tr_hold = 1};
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	struct collect co = {0};
	buf_init(&co.co_buf, 1 << 16);
	struct kube_error err;
	int rc = kube_stream(c, "/watch", 200, collect_fn, &co, &err);
	cr_expect_eq(rc, CC_ERR_TIMEOUT, "%s", cc_strerror(rc));
	cr_expect_str_eq(co.co_buf.b_data, "first\n");
	buf_free(&co.co_buf);
	kube_client_free(c);
	th_server_free(s);
}

struct streamer {
	struct kube_client *sr_c;
	struct collect sr_co;
	int sr_rc;
};

static void *
streamer_main(void *arg)
{
	struct streamer *st = arg;
	/* The idle bound turns a cancel that does not work into a failure rather than a hang. */
	st->sr_rc = kube_stream(st->sr_c, "/watch", 60000, collect_fn, &st->sr_co, NULL);
	return NULL;
}

Test(kube_client, cancel_stops_a_stream)
{
	struct th_server *s = start(0, 0);
	const char *chunks[] = {"hello\n", NULL};
	struct th_route r = {.tr_status = 200, .tr_chunks = chunks, .tr_hold = 1};
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	struct streamer st = {.sr_c = c};
	buf_init(&st.sr_co.co_buf, 1 << 16);
	pthread_t t;
	pthread_create(&t, NULL, streamer_main, &st);
	/* Wait until the stream is really flowing; the bound only stops a broken build hanging. */
	for (int i = 0; i < 30000 && atomic_load(&st.sr_co.co_chunks) == 0; i++)
		usleep(1000);
	cr_assert_gt(atomic_load(&st.sr_co.co_chunks), 0, "the stream never started");
	kube_client_cancel(c);
	pthread_join(t, NULL);
	cr_expect_eq(st.sr_rc, CC_ERR_CANCELED, "%s", cc_strerror(st.sr_rc));
	/* A canceled client refuses new work without touching the network. */
	size_t before = th_server_request_count(s);
	struct kube_error err;
	cr_expect_eq(kube_request(c, "GET", "/x", NULL, NULL, NULL, NULL, &err), CC_ERR_CANCELED);
	cr_expect_eq(kube_stream(c, "/watch", 0, collect_fn, &st.sr_co, &err), CC_ERR_CANCELED);
	cr_expect_eq(th_server_request_count(s), before);
	buf_free(&st.sr_co.co_buf);
	kube_client_free(c);
	th_server_free(s);
}

/* ---- transport failures and bad responses ---- */

static void
garbage_handler(void *arg, const struct th_request *req, struct th_conn *conn)
{
	(void)arg;
	if (strcmp(req->tr_target, "/garbage") == 0) {
		th_send_raw(conn, "NOT HTTP AT ALL\r\n\r\n", 19);
		th_conn_close_after(conn);
	} else if (strcmp(req->tr_target, "/badchunk") == 0) {
		th_send_head(conn, 200, NULL, -1);
		th_send_chunk(conn, "ok\n", 3);
		th_send_raw(conn, "zz\r\nnot a chunk\r\n", 17);
		th_conn_close_after(conn);
	} else if (strcmp(req->tr_target, "/short") == 0) {
		th_send_head(conn, 200, NULL, 1000);
		th_send_raw(conn, "{\"partial\":", 11);
		th_conn_close_after(conn);
	}
}

struct bad_case {
	const char *name;
	const char *path;
	int stream;
	int want_rc;
};

static const struct bad_case bad_cases[] = {
	{"not HTTP", "/garbage", 0, CC_ERR_IO},
	{"broken chunk framing", "/badchunk", 1, CC_ERR_IO},
	{"body shorter than Content-Length", "/short", 0, CC_ERR_IO},
};

Test(kube_client, bad_responses_are_errors_not_crashes)
{
	struct th_opts o = {.to_handler = garbage_handler};
	struct th_server *s = NULL;
	cr_assert_eq(th_server_start(&o, &s), CC_OK);
	struct th_route hang = {.tr_prefix = "/nothing", .tr_status = 0};
	th_server_add_route(s, &hang);
	struct kube_config cfg = cfg_for(s);
	struct kube_client *c = client_for(&cfg, NULL);
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct kube_error err;
		struct buf b;
		buf_init(&b, 1 << 16);
		struct collect co = {0};
		buf_init(&co.co_buf, 1 << 16);
		int rc = bc->stream ? kube_stream(c, bc->path, 5000, collect_fn, &co, &err)
				    : kube_request(c, "GET", bc->path, NULL, NULL, &b, NULL, &err);
		cr_expect_eq(rc, bc->want_rc, "%s: %s (%s)", bc->name, cc_strerror(rc), err.ke_message);
		cr_expect(err.ke_message[0], "%s: a message says what happened", bc->name);
		cr_expect_eq(b.b_len, 0, "%s: no partial body kept", bc->name);
		buf_free(&b);
		buf_free(&co.co_buf);
	}
	struct kube_error err;
	int rc = kube_request(c, "GET", "/nothing", NULL, NULL, NULL, NULL, &err);
	cr_expect_eq(rc, CC_ERR_IO, "empty reply: %s", cc_strerror(rc));
	kube_client_free(c);
	th_server_free(s);
}

Test(kube_client, stalled_request_times_out)
{
	struct th_server *s = start(0, 0);
	struct th_route r = {.tr_status = 200, .tr_body = "{\"items\":[", .tr_hold = 1};
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	struct kube_client_opts o = {.kco_timeout_ms = 300};
	struct kube_client *c = client_for(&cfg, &o);
	struct buf b;
	buf_init(&b, 1024);
	struct kube_error err;
	int rc = kube_request(c, "GET", "/slow", NULL, NULL, &b, NULL, &err);
	cr_expect_eq(rc, CC_ERR_TIMEOUT, "%s: %s", cc_strerror(rc), err.ke_message);
	cr_expect_eq(b.b_len, 0, "the partial body is not handed back");
	cr_expect(cc_err_retryable(rc));
	buf_free(&b);
	kube_client_free(c);
	th_server_free(s);
}

Test(kube_client, connection_refused_is_unavailable)
{
	struct th_server *s = start(0, 0);
	char *url = xstrdup(th_server_url(s));
	th_server_free(s); /* the port is now closed */
	struct kube_config cfg = {.kc_server = url};
	struct kube_client *c = client_for(&cfg, NULL);
	struct kube_error err;
	long http = -1;
	int rc = kube_request(c, "GET", "/x", NULL, NULL, NULL, &http, &err);
	cr_expect_eq(rc, CC_ERR_UNAVAILABLE, "%s: %s", cc_strerror(rc), err.ke_message);
	cr_expect_eq(http, 0);
	cr_expect_eq(err.ke_http, 0);
	cr_expect(cc_err_retryable(rc));
	kube_client_free(c);
	free(url);
}

/* ---- TLS ---- */

struct tls_case {
	const char *name;
	int ca;          /* 0 none (system store), 1 the server's CA, 2 an unrelated CA */
	int insecure;
	const char *tls_name;
	int want_rc;
};

static const struct tls_case tls_cases[] = {
	{"right CA verifies", 1, 0, NULL, CC_OK},
	{"wrong CA fails", 2, 0, NULL, CC_ERR_TLS},
	{"system store does not know a test CA", 0, 0, NULL, CC_ERR_TLS},
	{"insecure skips verification", 0, 1, NULL, CC_OK},
	{"tls-server-name that the certificate has", 1, 0, "localhost", CC_OK},
	{"tls-server-name that it lacks", 1, 0, "api.wrong.example", CC_ERR_TLS},
};

Test(kube_client, tls_verification_table)
{
	struct th_server *s = start(1, 0);
	struct th_route r = {.tr_status = 200, .tr_body = "{}"};
	th_server_add_route(s, &r);
	char *other = th_make_unrelated_ca_pem();
	cr_assert_not_null(other);
	for (size_t i = 0; i < sizeof tls_cases / sizeof tls_cases[0]; i++) {
		const struct tls_case *tc = &tls_cases[i];
		struct kube_config cfg = cfg_for(s);
		const char *ca = tc->ca == 1 ? th_server_ca_pem(s) : tc->ca == 2 ? other : NULL;
		cfg.kc_ca_pem = (char *)ca;
		cfg.kc_ca_len = ca ? strlen(ca) : 0;
		cfg.kc_insecure = tc->insecure;
		cfg.kc_tls_server_name = (char *)tc->tls_name;
		struct kube_client *c = client_for(&cfg, NULL);
		struct kube_error err;
		size_t before = th_server_request_count(s);
		int rc = kube_request(c, "GET", "/tls", NULL, NULL, NULL, NULL, &err);
		cr_expect_eq(rc, tc->want_rc, "%s: %s (%s)", tc->name, cc_strerror(rc), err.ke_message);
		cr_expect_eq(th_server_request_count(s), before + (rc == CC_OK),
		    "%s: a request reaches the server only after verification", tc->name);
		if (rc == CC_OK && tc->tls_name) {
			const struct th_request *q = th_server_request(s, before);
			cr_expect(q && strstr(th_request_header(q, "Host"), tc->tls_name),
			    "%s: Host header", tc->name);
		}
		cr_expect_str_eq(kube_client_server(c), th_server_url(s), "%s: server()", tc->name);
		kube_client_free(c);
	}
	free(other);
	th_server_free(s);
}

Test(kube_client, client_certificate_presented)
{
	struct th_server *s = start(1, 1);
	struct th_route r = {.tr_status = 200, .tr_body = "{}"};
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	cfg.kc_ca_pem = (char *)th_server_ca_pem(s);
	cfg.kc_ca_len = strlen(cfg.kc_ca_pem);
	cfg.kc_cert_pem = (char *)th_server_client_cert_pem(s);
	cfg.kc_cert_len = strlen(cfg.kc_cert_pem);
	cfg.kc_key_pem = (char *)th_server_client_key_pem(s);
	cfg.kc_key_len = strlen(cfg.kc_key_pem);
	struct kube_client *c = client_for(&cfg, NULL);
	struct kube_error err;
	cr_assert_eq(kube_request(c, "GET", "/me", NULL, NULL, NULL, NULL, &err), CC_OK, "%s",
	    err.ke_message);
	const struct th_request *q = th_server_request(s, 0);
	cr_expect(q && q->tr_client_cn && strcmp(q->tr_client_cn, "th-client") == 0);
	kube_client_free(c);

	cfg.kc_cert_pem = cfg.kc_key_pem = NULL;
	cfg.kc_cert_len = cfg.kc_key_len = 0;
	c = client_for(&cfg, NULL);
	cr_assert_eq(kube_request(c, "GET", "/me", NULL, NULL, NULL, NULL, &err), CC_OK, "%s",
	    err.ke_message);
	q = th_server_request(s, 1);
	cr_expect(q && !q->tr_client_cn, "no certificate configured, none presented");
	kube_client_free(c);
	th_server_free(s);
}

/* ---- 401 and credential refresh ---- */

static char tmpdir[256];

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
write_file(const char *path, const char *content, int mode)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	cr_assert_not_null(f);
	fputs(content, f);
	fclose(f);
	chmod(tmp, (mode_t)mode);
	cr_assert_eq(rename(tmp, path), 0);
	free(tmp);
}

struct rotate {
	char *ro_token_path;  /* rotated by the handler on first sight of "old" */
	const char *ro_good;  /* the bearer value that is accepted */
};

/* Accept only ro_good; on a stale token, rotate the file (as kubelet would) and answer 401. */
static void
rotate_handler(void *arg, const struct th_request *req, struct th_conn *conn)
{
	struct rotate *ro = arg;
	const char *auth = th_request_header(req, "Authorization");
	char want[128];
	snprintf(want, sizeof want, "Bearer %s", ro->ro_good);
	if (auth && strcmp(auth, want) == 0) {
		th_send_simple(conn, 200, NULL, "{\"ok\":true}");
		return;
	}
	if (ro->ro_token_path)
		write_file(ro->ro_token_path, ro->ro_good, 0600);
	th_send_simple(conn, 401, NULL, STATUS(401, "Unauthorized", "Unauthorized"));
}

Test(kube_client, unauthorized_token_file_refreshed_once)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/cc-kclient-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	struct rotate ro = {.ro_token_path = xasprintf("%s/token", tmpdir), .ro_good = "new-token"};
	write_file(ro.ro_token_path, "old-token", 0600);
	struct th_opts o = {.to_handler = rotate_handler, .to_arg = &ro};
	struct th_server *s = NULL;
	cr_assert_eq(th_server_start(&o, &s), CC_OK);
	struct kube_config cfg = cfg_for(s);
	cfg.kc_token_file = ro.ro_token_path;

	/* Capture the log, to prove no token reaches it. */
	char *logpath = xasprintf("%s/log", tmpdir);
	int logfd = open(logpath, O_CREAT | O_RDWR | O_TRUNC, 0600);
	cr_assert(logfd >= 0);
	log_set_fd(logfd);

	struct kube_client *c = client_for(&cfg, NULL);
	struct buf b;
	buf_init(&b, 1024);
	struct kube_error err;
	long http = 0;
	int rc = kube_request(c, "GET", "/api", NULL, NULL, &b, &http, &err);
	cr_expect_eq(rc, CC_OK, "%s: %s", cc_strerror(rc), err.ke_message);
	cr_expect_eq(http, 200);
	cr_expect_str_eq(b.b_data, "{\"ok\":true}", "the 401 body does not leak into the result");
	cr_expect_eq(th_server_request_count(s), 2);
	cr_expect_str_eq(th_request_header(th_server_request(s, 0), "Authorization"), "Bearer old-token");
	cr_expect_str_eq(th_request_header(th_server_request(s, 1), "Authorization"), "Bearer new-token");

	/* Still rejected after the refresh: exactly one retry, then the 401 comes back. */
	ro.ro_good = "never";
	ro.ro_token_path = NULL;
	rc = kube_request(c, "GET", "/api", NULL, NULL, NULL, &http, &err);
	cr_expect_eq(rc, CC_ERR_UNAUTHORIZED);
	cr_expect_eq(th_server_request_count(s), 4);

	log_set_fd(-1);
	char logtext[8192] = "";
	ssize_t n = pread(logfd, logtext, sizeof logtext - 1, 0);
	close(logfd);
	cr_assert(n >= 0);
	logtext[n] = '\0';
	cr_expect(strstr(logtext, "401"), "the refresh is logged: %s", logtext);
	cr_expect(!strstr(logtext, "old-token") && !strstr(logtext, "new-token"),
	    "a token reached the log: %s", logtext);

	buf_free(&b);
	kube_client_free(c);
	th_server_free(s);
	free(logpath);
	free(cfg.kc_token_file);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

Test(kube_client, unauthorized_exec_plugin_rerun)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/cc-kclient-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	char *script = xasprintf("%s/plug.sh", tmpdir);
	char *text = xasprintf("#!/bin/sh\n"
	    "n=$(cat %s/count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > %s/count\n"
	    "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
	    "\"status\":{\"token\":\"tok-%%s\"}}' $n\n", tmpdir, tmpdir);
	write_file(script, text, 0700);
	struct rotate ro = {.ro_good = "tok-2"};
	struct th_opts o = {.to_handler = rotate_handler, .to_arg = &ro};
	struct th_server *s = NULL;
	cr_assert_eq(th_server_start(&o, &s), CC_OK);
	struct kube_exec ex = {.ke_command = script, .ke_api_version =
	    "client.authentication.k8s.io/v1"};
	struct kube_config cfg = cfg_for(s);
	cfg.kc_exec = &ex;
	struct kube_client *c = client_for(&cfg, NULL);
	struct kube_error err;
	int rc = kube_request(c, "GET", "/api", NULL, NULL, NULL, NULL, &err);
	cr_expect_eq(rc, CC_OK, "%s: %s", cc_strerror(rc), err.ke_message);
	cr_expect_eq(th_server_request_count(s), 2);
	cr_expect_str_eq(th_request_header(th_server_request(s, 1), "Authorization"), "Bearer tok-2");
	/* The refreshed credential is cached: the next call does not run the plugin again. */
	cr_expect_eq(kube_request(c, "GET", "/api", NULL, NULL, NULL, NULL, &err), CC_OK);
	cr_expect_str_eq(th_request_header(th_server_request(s, 2), "Authorization"), "Bearer tok-2");
	kube_client_free(c);
	th_server_free(s);
	free(script);
	free(text);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

Test(kube_client, unauthorized_static_token_not_retried)
{
	struct rotate ro = {.ro_good = "nope"};
	struct th_opts o = {.to_handler = rotate_handler, .to_arg = &ro};
	struct th_server *s = NULL;
	cr_assert_eq(th_server_start(&o, &s), CC_OK);
	struct kube_config cfg = cfg_for(s);
	cfg.kc_token = "static";
	struct kube_client *c = client_for(&cfg, NULL);
	struct kube_error err;
	cr_expect_eq(kube_request(c, "GET", "/api", NULL, NULL, NULL, NULL, &err),
	    CC_ERR_UNAUTHORIZED);
	cr_expect_eq(th_server_request_count(s), 1, "nothing to refresh, so no retry");
	kube_client_free(c);
	th_server_free(s);
}

Test(kube_client, credential_failure_is_reported)
{
	struct th_server *s = start(0, 0);
	struct kube_config cfg = cfg_for(s);
	cfg.kc_token_file = "/nonexistent/certcast/token";
	struct kube_client *c = client_for(&cfg, NULL);
	struct kube_error err;
	cr_expect_eq(kube_request(c, "GET", "/api", NULL, NULL, NULL, NULL, &err), CC_ERR_IO);
	cr_expect(strstr(err.ke_message, "credentials"), "%s", err.ke_message);
	cr_expect_eq(th_server_request_count(s), 0);
	kube_client_free(c);
	th_server_free(s);
}

/* ---- rate limiting ---- */

struct blocked {
	struct kube_client *bl_c;
	int bl_rc;
	atomic_int bl_done;
};

static void *
blocked_main(void *arg)
{
	struct blocked *bl = arg;
	bl->bl_rc = kube_request(bl->bl_c, "GET", "/limited", NULL, NULL, NULL, NULL, NULL);
	atomic_store(&bl->bl_done, 1);
	return NULL;
}

/*
 * With one token per ~3 hours, the second request must wait for the limiter (it never reaches
 * the server), while a watch goes straight through; cancel releases the waiting request.
 */
Test(kube_client, limiter_paces_requests_but_not_watches)
{
	struct th_server *s = start(0, 0);
	const char *chunks[] = {"w\n", NULL};
	struct th_route w = {.tr_prefix = "/watch", .tr_status = 200, .tr_chunks = chunks};
	struct th_route r = {.tr_status = 200, .tr_body = "{}"};
	th_server_add_route(s, &w);
	th_server_add_route(s, &r);
	struct kube_config cfg = cfg_for(s);
	struct kube_client_opts o = {.kco_qps = 0.0001, .kco_burst = 1};
	struct kube_client *c = client_for(&cfg, &o);
	cr_expect_eq(kube_request(c, "GET", "/first", NULL, NULL, NULL, NULL, NULL), CC_OK);

	struct blocked bl = {.bl_c = c};
	pthread_t t;
	pthread_create(&t, NULL, blocked_main, &bl);

	struct collect co = {0};
	buf_init(&co.co_buf, 1024);
	cr_expect_eq(kube_stream(c, "/watch", 5000, collect_fn, &co, NULL), CC_OK,
	    "watches are exempt from the limiter");
	cr_expect_str_eq(co.co_buf.b_data, "w\n");
	buf_free(&co.co_buf);

	cr_expect_eq(th_server_request_count(s), 2, "the paced request has not been sent");
	cr_expect_eq(atomic_load(&bl.bl_done), 0);
	kube_client_cancel(c);
	for (int i = 0; i < 30000 && !atomic_load(&bl.bl_done); i++)
		usleep(1000);
	cr_assert(atomic_load(&bl.bl_done), "cancel did not release the limiter wait");
	pthread_join(t, NULL);
	cr_expect_eq(bl.bl_rc, CC_ERR_CANCELED);
	cr_expect_eq(th_server_request_count(s), 2, "a canceled wait sends nothing");
	kube_client_free(c);
	th_server_free(s);
}

/* ---- counters and concurrency ---- */

struct statrow {
	char verb[8];
	long code;
	unsigned long long n;
};

struct statset {
	struct statrow rows[16];
	int nrows;
};

static void
stat_fn(void *arg, const char *verb, long code, unsigned long long count)
{
	struct statset *ss = arg;
	cr_assert_lt(ss->nrows, 16);
	snprintf(ss->rows[ss->nrows].verb, sizeof ss->rows[0].verb, "%s", verb);
	ss->rows[ss->nrows].code = code;
	ss->rows[ss->nrows].n = count;
	ss->nrows++;
}

static unsigned long long
stat_get(const struct statset *ss, const char *verb, long code)
{
	for (int i = 0; i < ss->nrows; i++)
		if (strcmp(ss->rows[i].verb, verb) == 0 && ss->rows[i].code == code)
			return ss->rows[i].n;
	return 0;
}

struct hammer {
	struct kube_client *h_c;
	int h_n;
	int h_ok;
};

static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < h->h_n; i++) {
		struct buf b;
		buf_init(&b, 1024);
		if (kube_request(h->h_c, i % 2 ? "GET" : "PUT", "/h", NULL, "{}", &b, NULL, NULL) ==
		    CC_OK && strcmp(b.b_data, "{\"h\":1}") == 0)
			h->h_ok++;
		buf_free(&b);
	}
	return NULL;
}

Test(kube_client, counters_and_concurrent_use)
{
	struct th_server *s = start(1, 0);
	struct th_route h = {.tr_prefix = "/h", .tr_status = 200, .tr_body = "{\"h\":1}"};
	struct th_route nf = {.tr_prefix = "/nf", .tr_status = 404, .tr_body = "{}"};
	const char *chunks[] = {"x\n", NULL};
	struct th_route w = {.tr_prefix = "/w", .tr_status = 200, .tr_chunks = chunks};
	th_server_add_route(s, &h);
	th_server_add_route(s, &nf);
	th_server_add_route(s, &w);
	struct kube_config cfg = cfg_for(s);
	cfg.kc_ca_pem = (char *)th_server_ca_pem(s);
	cfg.kc_ca_len = strlen(cfg.kc_ca_pem);
	struct kube_client_opts o = {.kco_qps = -1}; /* unlimited */
	struct kube_client *c = client_for(&cfg, &o);

	enum { NT = 6, PER = 10 };
	struct hammer hs[NT];
	pthread_t t[NT];
	for (int i = 0; i < NT; i++) {
		hs[i] = (struct hammer){.h_c = c, .h_n = PER};
		pthread_create(&t[i], NULL, hammer_main, &hs[i]);
	}
	int ok = 0;
	for (int i = 0; i < NT; i++) {
		pthread_join(t[i], NULL);
		ok += hs[i].h_ok;
	}
	cr_expect_eq(ok, NT * PER, "every concurrent request succeeded with its own body");
	cr_expect_eq(kube_request(c, "GET", "/nf", NULL, NULL, NULL, NULL, NULL), CC_ERR_NOTFOUND);
	cr_expect_eq(kube_request(c, "GET", "/nf", NULL, NULL, NULL, NULL, NULL), CC_ERR_NOTFOUND);
	cr_expect_eq(kube_stream(c, "/w", 5000, collect_fn, &(struct collect){0}, NULL), CC_ERR_TOOBIG,
	    "the collector has a zero limit, so its error comes back");

	struct statset ss = {0};
	kube_client_stats(c, stat_fn, &ss);
	cr_expect_eq(stat_get(&ss, "GET", 200), NT * PER / 2);
	cr_expect_eq(stat_get(&ss, "PUT", 200), NT * PER / 2);
	cr_expect_eq(stat_get(&ss, "GET", 404), 2);
	cr_expect_eq(stat_get(&ss, "WATCH", 200), 1);
	cr_expect_eq(stat_get(&ss, "GET", 500), 0, "no invented series");
	cr_expect_eq(ss.nrows, 4);
	kube_client_free(c);
	th_server_free(s);
}
