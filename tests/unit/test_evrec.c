/*
 * Tests for evrec, the Event writer, against the scripted test server: the body (parsed back,
 * every field), the name and its MicroTime, the note cut to 1024 bytes on a character boundary,
 * the spam filter both ways (identical Events within 10 minutes kept back, anything else
 * posted; the per-object bucket and its refill), the bound on memory, the server's refusals
 * (403, 404, 422) with its message, arguments refused before any request, reportingInstance,
 * and several workers at once (also run under ThreadSanitizer by make test-tsan). Time is the
 * now_ns argument, so nothing here sleeps or depends on how long anything took.
 */
#include "evrec.h"

#include "cc_err.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "log.h"
#include "testhttp.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEC INT64_C(1000000000)
#define MIN (60 * SEC)
/* 2026-12-02T05:00:00.123456789Z */
#define T0 (INT64_C(1796187600) * SEC + 123456789)
#define EVENTS_PATH "/apis/events.k8s.io/v1/namespaces/"

#define STATUS(code, reason, msg) \
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"" msg \
	"\",\"reason\":\"" reason "\",\"code\":" #code "}"

/* ---- fixture: a test server that accepts every Event, a client, a writer ---- */

static struct th_server *srv;
static struct kube_client *kc;

static void
setup(void)
{
	int fd = open("/dev/null", O_WRONLY);
	log_set_fd(fd);
	cr_assert_eq(th_server_start(NULL, &srv), CC_OK);
	/* refusals first: routes are tried in order */
	struct th_route denied = {.tr_method = "POST", .tr_prefix = EVENTS_PATH "denied/",
	    .tr_status = 403,
	    .tr_body = STATUS(403, "Forbidden", "events.events.k8s.io is forbidden: User \\\"certcast\\\" "
				      "cannot create resource")};
	struct th_route invalid = {.tr_method = "POST", .tr_prefix = EVENTS_PATH "invalid/",
	    .tr_status = 422,
	    .tr_body = STATUS(422, "Invalid", "Event.events.k8s.io \\\"x\\\" is invalid: note: "
				      "Invalid value: can have at most 1024 characters")};
	struct th_route gone = {.tr_method = "POST", .tr_prefix = EVENTS_PATH "gone/",
	    .tr_status = 404, .tr_body = STATUS(404, "NotFound", "namespaces \\\"gone\\\" not found")};
	struct th_route ok = {.tr_method = "POST", .tr_prefix = EVENTS_PATH, .tr_status = 201,
	    .tr_body = "{}"};
	th_server_add_route(srv, &denied);
	th_server_add_route(srv, &invalid);
	th_server_add_route(srv, &gone);
	th_server_add_route(srv, &ok);
	struct kube_config cfg = {0};
	cfg.kc_server = (char *)th_server_url(srv);
	cfg.kc_namespace = "default";
	cfg.kc_token = "sekrit-token";
	struct kube_client_opts ko = {.kco_qps = -1}; /* no pacing: tests post hundreds */
	struct kube_error err;
	cr_assert_eq(kube_client_new(&cfg, &ko, &kc, &err), CC_OK, "%s", err.ke_message);
}

static void
teardown(void)
{
	kube_client_free(kc);
	th_server_free(srv);
}

TestSuite(evrec, .init = setup, .fini = teardown, .timeout = 60);

static struct er *
writer(int burst, int64_t refill, int64_t dedup, size_t max_objects)
{
	struct er_opts o = {.eo_client = kc, .eo_instance = "certcast-7d9f-abcde",
	    .eo_burst = burst, .eo_refill_ns = refill, .eo_dedup_ns = dedup,
	    .eo_max_objects = max_objects};
	return er_new(&o);
}

static const struct er_ref CERT = {NULL, NULL, "shop", "web", "0c1d2e3f-aaaa-4bbb-8ccc-123456789abc",
    "4711"};

/* Requests the server saw. */
static size_t
posts(void)
{
	return th_server_request_count(srv);
}

/* The body of request i, parsed; the caller deletes it. */
static cJSON *
body_of(size_t i)
{
	const struct th_request *q = th_server_request(srv, i);
	cr_assert_not_null(q, "no request %zu", i);
	cJSON *j = cJSON_Parse(q->tr_body);
	cr_assert_not_null(j, "request %zu: body is not JSON: %s", i, q->tr_body);
	return j;
}

static const char *
str_at(const cJSON *j, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
	if (b != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
emit(struct er *r, const struct er_ref *ref, int warning, const char *reason, const char *note,
    int64_t now)
{
	char err[512] = "";
	int rc = er_emit(r, ref, warning, reason, "Annotate", note, now, err, sizeof err);
	cr_expect_eq(rc, CC_OK, "%s: %s", reason, err);
	return rc;
}

/* Whether s is valid UTF-8 (RFC 3629), by an implementation independent of evrec's. */
static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned cp;
		int n;
		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			n = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			n = 3;
		} else {
			return 0;
		}
		p++;
		for (int i = 0; i < n; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (*p & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	}
	return 1;
}

/* ---- the body ---- */

struct body_case {
	const char *name;
	struct er_ref ref;
	int warning;
	const char *reason;
	const char *action;
	const char *note;
	int64_t now;
	const char *want_api_version; /* regarding.apiVersion */
	const char *want_kind;
	const char *want_type;
	const char *want_note;
	const char *want_time;        /* eventTime */
	const char *want_name;        /* metadata.name */
};

static const struct body_case body_cases[] = {
    {"defaults: a Certificate of cert-manager.io/v1, Normal",
	{NULL, NULL, "shop", "web", "0c1d2e3f-aaaa-4bbb-8ccc-123456789abc", "4711"}, 0,
	"RiskRaised", "Annotate", "risk 0.0132 (medium): issuer failing", T0, "cert-manager.io/v1",
	"Certificate", "Normal", "risk 0.0132 (medium): issuer failing",
	"2026-12-02T05:00:00.123456Z", "web.18ed571b0f51ed15"},
    {"Warning, explicit kind, no uid nor resourceVersion",
	{"cert-manager.io/v1", "Certificate", "team-b", "api.example.com", NULL, NULL}, 1,
	"IssuerFailover", "SwitchIssuer", "switched to ClusterIssuer/backup", T0 + SEC,
	"cert-manager.io/v1", "Certificate", "Warning", "switched to ClusterIssuer/backup",
	"2026-12-02T05:00:01.123456Z", "api.example.com.18ed571b4aecb715"},
    {"quotes, backslashes, newlines and control bytes are escaped, not lost",
	{NULL, NULL, "shop", "esc", "u-esc", NULL}, 1, "InvalidAnnotation", "Validate",
	"certcast.io/target-risk: \"0,5\" is not a number\\n\tline2\nline3\x01", T0 + 2 * SEC,
	"cert-manager.io/v1", "Certificate", "Warning",
	"certcast.io/target-risk: \"0,5\" is not a number\\n\tline2\nline3\x01",
	"2026-12-02T05:00:02.123456Z", "esc.18ed571b86878115"},
    {"no note is an empty note", {NULL, NULL, "shop", "empty", "u-empty", NULL}, 0, "RiskCleared",
	"Annotate", NULL, T0 + 3 * SEC, "cert-manager.io/v1", "Certificate", "Normal", "",
	"2026-12-02T05:00:03.123456Z", "empty.18ed571bc2224b15"},
    {"a byte that is not UTF-8 becomes '?'", {NULL, NULL, "shop", "bad", "u-bad", NULL}, 0,
	"AnomalyDetected", "Report", "issuer CN \xff\xfe unexpected, caf\xc3\xa9 kept", T0 + 4 * SEC,
	"cert-manager.io/v1", "Certificate", "Normal", "issuer CN ?? unexpected, caf\xc3\xa9 kept",
	"2026-12-02T05:00:04.123456Z", "bad.18ed571bfdbd1515"},
};

Test(evrec, body_table)
{
	struct er *r = writer(0, 0, 0, 0);
	for (size_t i = 0; i < sizeof body_cases / sizeof body_cases[0]; i++) {
		const struct body_case *c = &body_cases[i];
		size_t before = posts();
		char err[256] = "";
		int rc = er_emit(r, &c->ref, c->warning, c->reason, c->action, c->note, c->now, err,
		    sizeof err);
		cr_assert_eq(rc, CC_OK, "%s: %s", c->name, err);
		cr_assert_eq(posts(), before + 1, "%s: one request", c->name);
		const struct th_request *q = th_server_request(srv, before);
		cr_expect_str_eq(q->tr_method, "POST", "%s", c->name);
		char *path = xasprintf(EVENTS_PATH "%s/events", c->ref.ref_ns);
		cr_expect_str_eq(q->tr_target, path, "%s: path", c->name);
		free(path);
		cr_expect(strncmp(th_request_header(q, "Content-Type"), "application/json", 16) == 0,
		    "%s: content type", c->name);

		cJSON *j = body_of(before);
		cr_expect_str_eq(str_at(j, "apiVersion", NULL), "events.k8s.io/v1", "%s", c->name);
		cr_expect_str_eq(str_at(j, "kind", NULL), "Event", "%s", c->name);
		cr_expect_str_eq(str_at(j, "metadata", "name"), c->want_name, "%s: name", c->name);
		cr_expect_str_eq(str_at(j, "metadata", "namespace"), c->ref.ref_ns, "%s", c->name);
		cr_expect_str_eq(str_at(j, "eventTime", NULL), c->want_time, "%s: eventTime",
		    c->name);
		cr_expect_str_eq(str_at(j, "reportingController", NULL), "certcast", "%s", c->name);
		cr_expect_str_eq(str_at(j, "reportingInstance", NULL), "certcast-7d9f-abcde", "%s",
		    c->name);
		cr_expect_str_eq(str_at(j, "action", NULL), c->action, "%s", c->name);
		cr_expect_str_eq(str_at(j, "reason", NULL), c->reason, "%s", c->name);
		cr_expect_str_eq(str_at(j, "type", NULL), c->want_type, "%s", c->name);
		cr_expect_str_eq(str_at(j, "note", NULL), c->want_note, "%s: note", c->name);
		cr_expect_str_eq(str_at(j, "regarding", "apiVersion"), c->want_api_version, "%s",
		    c->name);
		cr_expect_str_eq(str_at(j, "regarding", "kind"), c->want_kind, "%s", c->name);
		cr_expect_str_eq(str_at(j, "regarding", "namespace"), c->ref.ref_ns, "%s", c->name);
		cr_expect_str_eq(str_at(j, "regarding", "name"), c->ref.ref_name, "%s", c->name);
		const char *uid = str_at(j, "regarding", "uid");
		const char *rv = str_at(j, "regarding", "resourceVersion");
		if (c->ref.ref_uid != NULL)
			cr_expect_str_eq(uid, c->ref.ref_uid, "%s: uid", c->name);
		else
			cr_expect_null(uid, "%s: no uid", c->name);
		if (c->ref.ref_rv != NULL)
			cr_expect_str_eq(rv, c->ref.ref_rv, "%s: resourceVersion", c->name);
		else
			cr_expect_null(rv, "%s: no resourceVersion", c->name);
		/* Exactly these members: nothing the events.k8s.io API refuses on create
		 * (count, source, first/lastTimestamp) and no series. */
		static const char *const top[] = {"apiVersion", "kind", "metadata", "eventTime",
		    "reportingController", "reportingInstance", "action", "reason", "type",
		    "regarding", "note"};
		cr_expect_eq(cJSON_GetArraySize(j), (int)(sizeof top / sizeof top[0]), "%s: %d members",
		    c->name, cJSON_GetArraySize(j));
		for (size_t k = 0; k < sizeof top / sizeof top[0]; k++)
			cr_expect_not_null(cJSON_GetObjectItemCaseSensitive(j, top[k]), "%s: %s",
			    c->name, top[k]);
		cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "metadata")), 2,
		    "%s: metadata has name and namespace only", c->name);
		cJSON_Delete(j);
	}
	struct er_stats st;
	er_stats(r, &st);
	cr_expect_eq(st.es_posted, sizeof body_cases / sizeof body_cases[0]);
	cr_expect_eq(st.es_failed + st.es_invalid + st.es_duplicate + st.es_rate_limited, 0);
	er_free(r);
}

/* ---- the name ---- */

Test(evrec, name_format)
{
	struct er *r = writer(0, 0, 0, 0);
	struct {
		const char *name;
		const char *obj;
		int64_t now;
		const char *want; /* NULL: a UUID */
	} cases[] = {
	    {"<name>.<now in ns, hex>, as client-go's GenerateEventName", "web", T0,
		"web.18ed571b0f51ed15"},
	    {"the same now again: one more, never a collision", "web", T0, "web.18ed571b0f51ed16"},
	    {"another object, the same now: still unique", "api", T0, "api.18ed571b0f51ed17"},
	    {"an earlier now: names keep increasing", "web", T0 - SEC, "web.18ed571b0f51ed18"},
	    {"a later now is itself", "web", T0 + MIN, "web.18ed572907994515"},
	    /* 236 + 1 + 16 = 253 bytes: the longest name that still fits */
	    {"253 bytes fits", NULL, T0 + 2 * MIN, NULL},
	    {"longer than 253 bytes: a UUID, as client-go falls back to", NULL, T0 + 3 * MIN, NULL},
	};
	char n236[237], n240[241];
	memset(n236, 'a', 236);
	n236[236] = '\0';
	memset(n240, 'b', 240);
	n240[240] = '\0';
	cases[5].obj = n236;
	cases[6].obj = n240;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct er_ref ref = {NULL, NULL, "shop", cases[i].obj, NULL, NULL};
		size_t before = posts();
		/* distinct notes: the identical check must not keep any back */
		char note[32];
		snprintf(note, sizeof note, "case %zu", i);
		emit(r, &ref, 0, "RiskRaised", note, cases[i].now);
		cr_assert_eq(posts(), before + 1, "%s", cases[i].name);
		cJSON *j = body_of(before);
		const char *got = str_at(j, "metadata", "name");
		if (cases[i].want != NULL) {
			cr_expect_str_eq(got, cases[i].want, "%s", cases[i].name);
		} else if (i == 5) {
			char *want = xasprintf("%s.18ed5736ffe09d15", n236);
			cr_expect_str_eq(got, want, "%s", cases[i].name);
			cr_expect_eq(strlen(got), 253);
			free(want);
		} else {
			cr_expect_eq(strlen(got), 36, "%s: %s", cases[i].name, got);
			for (size_t k = 0; k < 36; k++) {
				int dash = k == 8 || k == 13 || k == 18 || k == 23;
				cr_expect(dash ? got[k] == '-' : strchr("0123456789abcdef", got[k]) != NULL,
				    "%s: %s", cases[i].name, got);
			}
			cr_expect_eq(got[14], '4', "%s: version 4: %s", cases[i].name, got);
			cr_expect(strchr("89ab", got[19]) != NULL, "%s: variant: %s", cases[i].name, got);
		}
		cJSON_Delete(j);
	}
	er_free(r);
}

/* ---- the note ---- */

/* n bytes of 'a' followed by tail. */
static char *
padded(size_t n, const char *tail)
{
	size_t t = strlen(tail);
	char *s = xmalloc(n + t + 1);
	memset(s, 'a', n);
	memcpy(s + n, tail, t + 1);
	return s;
}

Test(evrec, note_fit_table)
{
	static const struct {
		const char *name;
		size_t pad;       /* bytes of 'a' before tail */
		const char *tail;
		int want_cut;
		size_t want_len;  /* bytes of the result */
		size_t want_kept; /* of them, from the note (before any "…") */
	} cases[] = {
	    {"short: as is", 10, "", 0, 10, 10},
	    {"exactly 1024 bytes: as is", 1024, "", 0, 1024, 1024},
	    {"1024 bytes ending in a 2-byte character: as is", 1022, "\xc3\xa9", 0, 1024, 1024},
	    {"1025 bytes: 1021 kept and the ellipsis", 1025, "", 1, 1024, 1021},
	    {"2000 bytes", 2000, "", 1, 1024, 1021},
	    {"a 2-byte character across the edge goes whole", 1020, "\xc3\xa9zzzzz", 1, 1023, 1020},
	    {"a 3-byte character across the edge goes whole", 1019, "\xe2\x82\xac" "zzzzz", 1, 1022,
		1019},
	    {"a 3-byte character ending at the edge stays", 1018, "\xe2\x82\xac" "zzzzz", 1, 1024,
		1021},
	    {"a 4-byte character across the edge goes whole", 1018, "\xf0\x9f\x94\x92zzzz", 1, 1021,
		1018},
	    {"a bad byte at the edge is one '?'", 1020, "\xff" "zzzzzz", 1, 1024, 1021},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *in = padded(cases[i].pad, cases[i].tail);
		char out[ER_NOTE_MAX + 1];
		int cut = er_note_fit(in, out);
		cr_expect_eq(cut, cases[i].want_cut, "%s: cut %d", cases[i].name, cut);
		cr_expect_eq(strlen(out), cases[i].want_len, "%s: %zu bytes", cases[i].name,
		    strlen(out));
		cr_expect(strlen(out) <= ER_NOTE_MAX, "%s", cases[i].name);
		cr_expect(utf8_ok(out), "%s: valid UTF-8", cases[i].name);
		if (cut)
			cr_expect_str_eq(out + cases[i].want_kept, "\xe2\x80\xa6", "%s: ends in …",
			    cases[i].name);
		/* what is kept is the note's own beginning, except a bad byte's '?' */
		for (size_t k = 0; k < cases[i].want_kept && k < strlen(out); k++)
			if (in[k] != out[k]) {
				cr_expect_eq(out[k], '?', "%s: byte %zu", cases[i].name, k);
				break;
			}
		free(in);
	}
	char out[ER_NOTE_MAX + 1];
	cr_expect_eq(er_note_fit(NULL, out), 0);
	cr_expect_str_eq(out, "");
}

/* Through er_emit: the cut note is what is posted, and it is counted. */
Test(evrec, long_note_posted_cut)
{
	struct er *r = writer(0, 0, 0, 0);
	/* 2000 bytes of "é": a 2-byte character every other byte, so the edge splits one */
	char note[2001];
	for (size_t i = 0; i < 2000; i += 2)
		memcpy(note + i, "\xc3\xa9", 2);
	note[2000] = '\0';
	emit(r, &CERT, 1, "DiagnosticFailed", note, T0);
	cJSON *j = body_of(0);
	const char *got = str_at(j, "note", NULL);
	cr_assert_not_null(got);
	cr_expect_eq(strlen(got), 1020 + 3, "1020 bytes of é and the ellipsis: %zu", strlen(got));
	cr_expect(utf8_ok(got));
	cr_expect_eq(strncmp(got, note, 1020), 0);
	cr_expect_str_eq(got + 1020, "\xe2\x80\xa6");
	cJSON_Delete(j);
	struct er_stats st;
	er_stats(r, &st);
	cr_expect_eq(st.es_truncated, 1);
	cr_expect_eq(st.es_posted, 1);
	er_free(r);
}

/* ---- the spam filter ---- */

struct step {
	const char *name;
	const struct er_ref *ref;
	int64_t at;        /* now_ns */
	int warning;
	const char *reason;
	const char *note;
	int posted;        /* 1: the server gets it; 0: kept back */
};

static void
run_steps(struct er *r, const struct step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t before = posts();
		emit(r, steps[i].ref, steps[i].warning, steps[i].reason, steps[i].note, steps[i].at);
		cr_expect_eq(posts() - before, (size_t)steps[i].posted, "%s: %s", steps[i].name,
		    steps[i].posted ? "not posted" : "posted");
	}
}

static const struct er_ref OTHER = {NULL, NULL, "shop", "api", "99999999-aaaa-4bbb-8ccc-000000000000",
    NULL};

/* Identical Events within 10 minutes are kept back; any difference, or the window's end, posts. */
Test(evrec, identical_within_window)
{
	struct er *r = writer(0, 0, 0, 0); /* client-go's defaults */
	const struct step steps[] = {
	    {"first", &CERT, T0, 0, "RiskRaised", "risk 0.31", 1},
	    {"same, a second later: kept back", &CERT, T0 + SEC, 0, "RiskRaised", "risk 0.31", 0},
	    {"same, just under 10 minutes later: kept back", &CERT, T0 + 10 * MIN - 1, 0,
		"RiskRaised", "risk 0.31", 0},
	    {"another note: posted", &CERT, T0 + 2 * SEC, 0, "RiskRaised", "risk 0.32", 1},
	    {"another reason, same note: posted", &CERT, T0 + 3 * SEC, 0, "RiskCleared",
		"risk 0.31", 1},
	    {"another type, same reason and note: posted", &CERT, T0 + 4 * SEC, 1, "RiskRaised",
		"risk 0.31", 1},
	    {"another object, same Event: posted", &OTHER, T0 + 5 * SEC, 0, "RiskRaised",
		"risk 0.31", 1},
	    {"10 minutes after the first: posted again", &CERT, T0 + 10 * MIN, 0, "RiskRaised",
		"risk 0.31", 1},
	    {"and kept back again for 10 minutes from then", &CERT, T0 + 15 * MIN, 0,
		"RiskRaised", "risk 0.31", 0},
	    {"a clock that went back is within the window", &CERT, T0, 0, "RiskRaised",
		"risk 0.31", 0},
	};
	run_steps(r, steps, sizeof steps / sizeof steps[0]);
	struct er_stats st;
	er_stats(r, &st);
	cr_expect_eq(st.es_posted, 6);
	cr_expect_eq(st.es_duplicate, 4);
	cr_expect_eq(st.es_rate_limited, 0);
	cr_expect_eq(st.es_objects, 2);
	er_free(r);
}

/* The note compared is the note as sent: two long notes that differ only past the cut are one. */
Test(evrec, identical_after_cut)
{
	struct er *r = writer(0, 0, 0, 0);
	char *a = padded(1500, "tail one"), *b = padded(1500, "tail two");
	const struct step steps[] = {
	    {"long note", &CERT, T0, 0, "AnomalyDetected", a, 1},
	    {"differs only past the cut: kept back", &CERT, T0 + SEC, 0, "AnomalyDetected", b, 0},
	};
	run_steps(r, steps, 2);
	free(a);
	free(b);
	er_free(r);
}

/* The per-object bucket: 25 at once, then one every 5 minutes, never more than 25 saved up. */
Test(evrec, bucket_burst_and_refill)
{
	struct er *r = writer(0, 0, 0, 0); /* client-go's defaults: 25, one per 5 minutes */
	char note[32];
	size_t k = 0;
	for (; k < 25; k++) {
		snprintf(note, sizeof note, "n%zu", k);
		size_t before = posts();
		emit(r, &CERT, 0, "RiskRaised", note, T0 + (int64_t)k);
		cr_expect_eq(posts(), before + 1, "burst: event %zu posted", k);
	}
	const struct step steps[] = {
	    {"26th at once: kept back", &CERT, T0 + 30, 0, "RiskRaised", "n25", 0},
	    {"another object has its own bucket", &OTHER, T0 + 31, 0, "RiskRaised", "n25", 1},
	    {"just under 5 minutes: still empty", &CERT, T0 + 5 * MIN - 1, 0, "RiskRaised", "n26",
		0},
	    {"5 minutes: one token back", &CERT, T0 + 5 * MIN, 0, "RiskRaised", "n27", 1},
	    {"and only one", &CERT, T0 + 5 * MIN + 1, 0, "RiskRaised", "n28", 0},
	    /* kept back by the bucket is not remembered as posted: no duplicate later */
	    {"the one kept back, once a token is back: posted", &CERT, T0 + 10 * MIN, 0,
		"RiskRaised", "n25", 1},
	};
	run_steps(r, steps, sizeof steps / sizeof steps[0]);
	struct er_stats st;
	er_stats(r, &st);
	cr_expect_eq(st.es_rate_limited, 3);
	cr_expect_eq(st.es_duplicate, 0);

	/* After three hours (36 refills) the bucket holds 25, not 36. */
	int64_t later = T0 + 190 * MIN;
	size_t posted = 0;
	for (k = 0; k < 40; k++) {
		snprintf(note, sizeof note, "later %zu", k);
		size_t before = posts();
		emit(r, &CERT, 0, "RiskRaised", note, later);
		posted += posts() - before;
	}
	cr_expect_eq(posted, 25, "a full bucket after a long pause: %zu posted", posted);
	er_free(r);
}

/* Options change the limits. */
Test(evrec, bucket_options)
{
	struct er *r = writer(2, SEC, MIN, 0);
	const struct step steps[] = {
	    {"1 of 2", &CERT, T0, 0, "RiskRaised", "a", 1},
	    {"2 of 2", &CERT, T0, 0, "RiskRaised", "b", 1},
	    {"burst spent", &CERT, T0, 0, "RiskRaised", "c", 0},
	    {"a second later: one back", &CERT, T0 + SEC, 0, "RiskRaised", "c", 1},
	    {"identical within the minute", &CERT, T0 + 30 * SEC, 0, "RiskRaised", "a", 0},
	    {"a minute later: posted", &CERT, T0 + MIN, 0, "RiskRaised", "a", 1},
	};
	run_steps(r, steps, sizeof steps / sizeof steps[0]);
	er_free(r);
}

/* ---- memory ---- */

Test(evrec, objects_bounded_oldest_forgotten)
{
	struct er *r = writer(0, 0, 0, 4);
	char uid[16];
	for (int i = 0; i < 10; i++) {
		snprintf(uid, sizeof uid, "uid-%d", i);
		struct er_ref ref = {NULL, NULL, "shop", "c", uid, NULL};
		emit(r, &ref, 0, "RiskRaised", "same", T0 + i);
	}
	struct er_stats st;
	er_stats(r, &st);
	cr_expect_eq(st.es_objects, 4, "objects tracked: %zu", st.es_objects);
	cr_expect_eq(st.es_evicted, 6);
	cr_expect_eq(st.es_posted, 10);
	/* the newest four are remembered, the older ones forgotten */
	struct er_ref newest = {NULL, NULL, "shop", "c", "uid-9", NULL};
	struct er_ref oldest = {NULL, NULL, "shop", "c", "uid-0", NULL};
	const struct step steps[] = {
	    {"the newest object: remembered, kept back", &newest, T0 + 20, 0, "RiskRaised", "same",
		0},
	    {"the oldest object: forgotten, posted again", &oldest, T0 + 21, 0, "RiskRaised",
		"same", 1},
	};
	run_steps(r, steps, 2);
	er_stats(r, &st);
	cr_expect_eq(st.es_objects, 4);
	/* a use makes an object the newest: uid-9 was just used, uid-6 is now the oldest */
	struct er_ref u6 = {NULL, NULL, "shop", "c", "uid-6", NULL};
	struct er_ref u10 = {NULL, NULL, "shop", "c", "uid-10", NULL};
	emit(r, &u10, 0, "RiskRaised", "same", T0 + 22);
	const struct step again[] = {
	    {"the one used recently survived", &newest, T0 + 23, 0, "RiskRaised", "same", 0},
	    {"the least recently used went", &u6, T0 + 24, 0, "RiskRaised", "same", 1},
	};
	run_steps(r, again, 2);
	er_free(r);
}

/* Without a uid, the object is known by kind, namespace and name. */
Test(evrec, object_without_uid)
{
	struct er *r = writer(0, 0, 0, 0);
	struct er_ref a = {NULL, NULL, "shop", "web", NULL, NULL};
	struct er_ref a2 = {NULL, NULL, "shop", "web", "", "12"};
	struct er_ref b = {NULL, NULL, "other", "web", NULL, NULL};
	const struct step steps[] = {
	    {"first", &a, T0, 0, "RiskRaised", "x", 1},
	    {"same names, empty uid: the same object", &a2, T0 + 1, 0, "RiskRaised", "x", 0},
	    {"another namespace: another object", &b, T0 + 2, 0, "RiskRaised", "x", 1},
	};
	run_steps(r, steps, 3);
	er_free(r);
}

/* ---- failures ---- */

Test(evrec, server_refusals_table)
{
	static const struct {
		const char *name;
		const char *ns;
		int want_rc;
		const char *want[3]; /* substrings of the message */
	} cases[] = {
	    {"403: RBAC", "denied", CC_ERR_FORBIDDEN,
		{"HTTP 403 Forbidden", "cannot create resource", "RiskRaised on Certificate denied/web"}},
	    {"422: invalid", "invalid", CC_ERR_INVALID_OBJECT,
		{"HTTP 422 Invalid", "can have at most 1024 characters", NULL}},
	    {"404: no such namespace", "gone", CC_ERR_NOTFOUND,
		{"HTTP 404 NotFound", "namespaces \"gone\" not found", NULL}},
	};
	struct er *r = writer(0, 0, 0, 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct er_ref ref = {NULL, NULL, cases[i].ns, "web", "u-1", NULL};
		char err[512] = "";
		size_t before = posts();
		int rc = er_emit(r, &ref, 1, "RiskRaised", "Annotate", "risk 0.5", T0, err,
		    sizeof err);
		cr_expect_eq(rc, cases[i].want_rc, "%s: rc %d (%s)", cases[i].name, rc, err);
		cr_expect_eq(posts(), before + 1, "%s: one request", cases[i].name);
		for (size_t k = 0; k < 3 && cases[i].want[k] != NULL; k++)
			cr_expect(strstr(err, cases[i].want[k]) != NULL, "%s: '%s' not in: %s",
			    cases[i].name, cases[i].want[k], err);
		cr_expect(strstr(err, "sekrit") == NULL, "%s: the token leaked: %s", cases[i].name,
		    err);
		cr_expect(strchr(err, '\n') == NULL, "%s: one line", cases[i].name);
		/* a failed POST is not remembered: the same Event is tried again */
		err[0] = '\0';
		rc = er_emit(r, &ref, 1, "RiskRaised", "Annotate", "risk 0.5", T0 + SEC, err,
		    sizeof err);
		cr_expect_eq(rc, cases[i].want_rc, "%s: again: rc %d", cases[i].name, rc);
		cr_expect_eq(posts(), before + 2, "%s: tried again", cases[i].name);
	}
	struct er_stats st;
	er_stats(r, &st);
	cr_expect_eq(st.es_failed, 6);
	cr_expect_eq(st.es_posted, 0);
	cr_expect_eq(st.es_duplicate, 0);
	er_free(r);
}

/* A server that is not there: a transport error, named, and retryable. */
Test(evrec, server_unreachable)
{
	struct kube_config cfg = {0};
	cfg.kc_server = "http://127.0.0.1:1";
	cfg.kc_namespace = "default";
	struct kube_client *dead = NULL;
	struct kube_error kerr;
	cr_assert_eq(kube_client_new(&cfg, NULL, &dead, &kerr), CC_OK);
	struct er_opts o = {.eo_client = dead, .eo_instance = "i"};
	struct er *r = er_new(&o);
	char err[512] = "";
	int rc = er_emit(r, &CERT, 0, "RiskRaised", "Annotate", "x", T0, err, sizeof err);
	cr_expect_eq(rc, CC_ERR_UNAVAILABLE, "rc %d: %s", rc, err);
	cr_expect(cc_err_retryable(rc));
	cr_expect(strstr(err, "Event RiskRaised on Certificate shop/web") != NULL, "%s", err);
	er_free(r);
	kube_client_free(dead);
}

Test(evrec, bad_arguments_table)
{
	char long_reason[130];
	memset(long_reason, 'A', 129);
	long_reason[129] = '\0';
	char long_name[260];
	memset(long_name, 'n', 254);
	long_name[254] = '\0';
	struct er_ref good = CERT;
	struct er_ref bad_ns = {NULL, NULL, "Bad_NS", "web", NULL, NULL};
	struct er_ref path_ns = {NULL, NULL, "a/../b", "web", NULL, NULL};
	struct er_ref no_ns = {NULL, NULL, NULL, "web", NULL, NULL};
	struct er_ref no_name = {NULL, NULL, "shop", "", NULL, NULL};
	struct er_ref too_long = {NULL, NULL, "shop", long_name, NULL, NULL};
	const struct {
		const char *name;
		const struct er_ref *ref;
		const char *reason;
		const char *action;
		int64_t now;
		const char *want; /* substring of the message */
	} cases[] = {
	    {"namespace not a DNS label", &bad_ns, "RiskRaised", "Annotate", T0,
		"namespace \"Bad_NS\" is not a DNS label"},
	    {"namespace with a path in it", &path_ns, "RiskRaised", "Annotate", T0,
		"namespace \"a/../b\""},
	    {"no namespace", &no_ns, "RiskRaised", "Annotate", T0, "namespace"},
	    {"no object", NULL, "RiskRaised", "Annotate", T0, "namespace"},
	    {"empty name", &no_name, "RiskRaised", "Annotate", T0, "object name"},
	    {"name over 253 bytes", &too_long, "RiskRaised", "Annotate", T0, "too long"},
	    {"no reason", &good, NULL, "Annotate", T0, "reason \"\""},
	    {"reason with a space", &good, "Risk raised", "Annotate", T0, "reason \"Risk raised\""},
	    {"reason in lower case", &good, "riskRaised", "Annotate", T0, "not CamelCase"},
	    {"reason over 128 bytes", &good, long_reason, "Annotate", T0, "1 to 128 bytes"},
	    {"no action", &good, "RiskRaised", "", T0, "action \"\""},
	    {"action with a dash", &good, "RiskRaised", "Patch-Spec", T0, "action \"Patch-Spec\""},
	    {"now in seconds by mistake", &good, "RiskRaised", "Annotate", T0 / SEC,
		"is not Unix nanoseconds"},
	};
	struct er *r = writer(0, 0, 0, 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[512] = "";
		int rc = er_emit(r, cases[i].ref, 0, cases[i].reason, cases[i].action, "n",
		    cases[i].now, err, sizeof err);
		cr_expect_eq(rc, CC_ERR_INVAL, "%s: rc %d", cases[i].name, rc);
		cr_expect(strstr(err, cases[i].want) != NULL, "%s: '%s' not in: %s", cases[i].name,
		    cases[i].want, err);
	}
	cr_expect_eq(posts(), 0, "nothing reached the server");
	struct er_stats st;
	er_stats(r, &st);
	cr_expect_eq(st.es_invalid, sizeof cases / sizeof cases[0]);
	cr_expect_eq(st.es_objects, 0, "no object tracked, no token spent");
	/* and a NULL errbuf is fine */
	cr_expect_eq(er_emit(r, &bad_ns, 0, "RiskRaised", "Annotate", "n", T0, NULL, 0),
	    CC_ERR_INVAL);
	er_free(r);
}

/* ---- reportingInstance ---- */

Test(evrec, instance)
{
	char host[256] = "";
	gethostname(host, sizeof host);
	char long_inst[300];
	memset(long_inst, 'i', 299);
	long_inst[299] = '\0';
	const struct {
		const char *name;
		const char *opt;      /* eo_instance */
		const char *pod_name; /* $POD_NAME, NULL unset */
		const char *want;     /* NULL: the host name */
		size_t want_len;      /* when want is NULL and this is not 0 */
	} cases[] = {
	    {"the option wins", "certcast-0", "pod-1", "certcast-0", 0},
	    {"then $POD_NAME", NULL, "certcast-5d8c7-x2x9z", "certcast-5d8c7-x2x9z", 0},
	    {"an empty $POD_NAME is not one", NULL, "", NULL, 0},
	    {"then the host name", NULL, NULL, NULL, 0},
	    {"cut to 128 bytes", long_inst, NULL, NULL, 128},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].pod_name != NULL)
			setenv("POD_NAME", cases[i].pod_name, 1);
		else
			unsetenv("POD_NAME");
		struct er_opts o = {.eo_client = kc, .eo_instance = cases[i].opt};
		struct er *r = er_new(&o);
		const char *got = er_instance(r);
		if (cases[i].want != NULL)
			cr_expect_str_eq(got, cases[i].want, "%s", cases[i].name);
		else if (cases[i].want_len != 0)
			cr_expect_eq(strlen(got), cases[i].want_len, "%s: %zu", cases[i].name,
			    strlen(got));
		else
			cr_expect_str_eq(got, host[0] ? host : "certcast", "%s", cases[i].name);
		er_free(r);
	}
	unsetenv("POD_NAME");
	er_free(NULL);
}

/* ---- several workers at once ---- */

#define WORKERS 8
#define PER_WORKER 40

struct worker {
	struct er *w_r;
	int w_id;
	int w_errors;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	char uid[16], note[32];
	for (int i = 0; i < PER_WORKER; i++) {
		/* four objects shared by all workers; half the notes repeat across workers */
		snprintf(uid, sizeof uid, "uid-%d", i % 4);
		snprintf(note, sizeof note, "note %d", i % 2 ? i : i + 1000 * w->w_id);
		struct er_ref ref = {NULL, NULL, "shop", "c", uid, NULL};
		char err[256];
		if (er_emit(w->w_r, &ref, 0, "RiskRaised", "Annotate", note, T0 + i * SEC, err,
			sizeof err) != CC_OK)
			w->w_errors++;
	}
	return NULL;
}

Test(evrec, concurrent_workers)
{
	struct er *r = writer(1000, 0, 0, 0); /* a bucket big enough that only duplicates stop */
	pthread_t th[WORKERS];
	struct worker w[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){r, i, 0};
		cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(w[i].w_errors, 0, "worker %d", i);
	}
	struct er_stats st;
	er_stats(r, &st);
	cr_expect_eq(st.es_posted + st.es_duplicate, WORKERS * PER_WORKER, "posted %llu dup %llu",
	    (unsigned long long)st.es_posted, (unsigned long long)st.es_duplicate);
	/* the notes each worker alone sends, once each; the shared ones once for all workers */
	cr_expect_eq(st.es_posted, WORKERS * PER_WORKER / 2 + PER_WORKER / 2, "posted %llu",
	    (unsigned long long)st.es_posted);
	cr_expect_eq(posts(), st.es_posted);
	/* every name unique */
	size_t n = posts();
	char **names = xcalloc(n, sizeof *names);
	for (size_t i = 0; i < n; i++) {
		cJSON *j = body_of(i);
		names[i] = xstrdup(str_at(j, "metadata", "name"));
		cJSON_Delete(j);
		for (size_t k = 0; k < i; k++)
			cr_expect(strcmp(names[i], names[k]) != 0, "name %s twice", names[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	cr_expect_eq(st.es_objects, 4);
	er_free(r);
}
