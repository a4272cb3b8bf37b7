/*
 * lease: the decision (le_decide) as a table of named cases, each rule seen from both sides
 * (expired and live, ours and theirs, leading and not, renewDeadline passed and not, the remote
 * renewTime against our own observation clock); the records written (acquire, renew, take over,
 * release); the settings' relations; the Lease JSON read and written, malformed objects
 * included; and the election thread against a small fake of the API server's Lease endpoints
 * (create, get, update with resourceVersion, 409), with one and two electors.
 *
 * The threaded tests wait by polling with generous bounds; a bound only stops a broken build
 * from hanging. Where the point is that something must NOT happen before a moment (a lease is
 * taken only after it expired), the test measures from a moment that is surely earlier than
 * the elector's own, so a slow machine can only make the test pass later, never fail it.
 */
#include "lease.h"

#include "buf.h"
#include "cc_err.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "log.h"
#include "testhttp.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct le_durations dflt = {15000, 10000, 2000};

/* ---- the decision ---------------------------------------------------------------------------- */

struct decide_case {
	const char *dc_name;
	enum le_obs dc_obs;
	const char *dc_holder;   /* the record's holder; NULL: no record passed */
	int64_t dc_dur;          /* its leaseDurationSeconds */
	int64_t dc_renew_us;     /* its renewTime (never used for expiry) */
	double dc_observed;      /* when we saw it change */
	double dc_now;
	int dc_leading;
	double dc_renewed;       /* start of our last successful write */
	enum le_action dc_want;
	const char *dc_why;      /* substring of the reason */
};

#define T2000 946684800000000LL  /* 2000-01-01, far in the past on any wall clock */
#define T2100 4102444800000000LL /* 2100-01-01, far in the future */

Test(lease, decide_table)
{
	static const struct decide_case cases[] = {
	    /* no Lease, or nothing known */
	    {"absent, candidate: create it", LE_OBS_ABSENT, NULL, 0, 0, 0, 100, 0, 0, LE_ACQUIRE,
		"no lease"},
	    {"absent, leader within renewDeadline: create it again", LE_OBS_ABSENT, NULL, 0, 0, 0,
		100, 1, 95, LE_ACQUIRE, "no lease"},
	    {"absent, leader past renewDeadline: lost first", LE_OBS_ABSENT, NULL, 0, 0, 0, 100, 1,
		90, LE_LOST, "renewDeadline"},
	    {"read failed, candidate: wait", LE_OBS_UNKNOWN, NULL, 0, 0, 0, 100, 0, 0, LE_WAIT,
		"could not be read"},
	    {"read failed, leader 9.9s after its renewal: still leads, waits", LE_OBS_UNKNOWN, NULL,
		0, 0, 0, 100, 1, 90.1, LE_WAIT, "could not be read"},
	    {"read failed, leader 10s after its renewal: lost", LE_OBS_UNKNOWN, NULL, 0, 0, 0, 100,
		1, 90, LE_LOST, "renewDeadline"},
	    {"present without a record: wait", LE_OBS_PRESENT, NULL, 0, 0, 0, 100, 0, 0, LE_WAIT,
		"could not be read"},
	    /* ours */
	    {"ours, leader 9.9s after its renewal: renew", LE_OBS_PRESENT, "me", 15, T2000, 90, 100,
		1, 90.1, LE_RENEW, "ours"},
	    {"ours, leader exactly renewDeadline after its renewal: lost", LE_OBS_PRESENT, "me", 15,
		T2000, 90, 100, 1, 90, LE_LOST, "renewDeadline"},
	    {"ours, leader long past renewDeadline though the record is fresh: lost",
		LE_OBS_PRESENT, "me", 15, T2100, 100, 100, 1, 50, LE_LOST, "renewDeadline"},
	    {"ours, candidate (restarted under the same name): acquire at once", LE_OBS_PRESENT,
		"me", 15, T2100, 100, 100, 0, 0, LE_ACQUIRE, "names us"},
	    {"ours, candidate, our old lease long expired: acquire", LE_OBS_PRESENT, "me", 15,
		T2000, 0, 100, 0, 0, LE_ACQUIRE, "names us"},
	    {"a holder that only starts with our name is not us", LE_OBS_PRESENT, "m", 15, 0, 99,
		100, 0, 0, LE_WAIT, "another replica"},
	    {"a holder our name starts with is not us", LE_OBS_PRESENT, "me-2", 15, 0, 99, 100, 0,
		0, LE_WAIT, "another replica"},
	    /* released */
	    {"released, candidate: acquire at once, without waiting for its expiry",
		LE_OBS_PRESENT, "", 1, T2100, 100, 100, 0, 0, LE_ACQUIRE, "released"},
	    {"released with a long duration, candidate: still at once", LE_OBS_PRESENT, "", 3600,
		T2100, 100, 100, 0, 0, LE_ACQUIRE, "released"},
	    {"released by someone else, leader: lost", LE_OBS_PRESENT, "", 1, T2100, 100, 100, 1, 99,
		LE_LOST, "released by someone else"},
	    /* theirs: expiry by our observation clock */
	    {"theirs, seen 14.9s ago of 15s: wait", LE_OBS_PRESENT, "other", 15, T2100, 85.1, 100,
		0, 0, LE_WAIT, "another replica"},
	    {"theirs, seen exactly 15s ago of 15s: expired, acquire", LE_OBS_PRESENT, "other", 15,
		T2100, 85, 100, 0, 0, LE_ACQUIRE, "expired"},
	    {"theirs, seen 15.1s ago of 15s: expired, acquire", LE_OBS_PRESENT, "other", 15, T2100,
		84.9, 100, 0, 0, LE_ACQUIRE, "expired"},
	    {"theirs, renewTime in 2000 but just seen changing: wait (no wall clock compare)",
		LE_OBS_PRESENT, "other", 15, T2000, 100, 100, 0, 0, LE_WAIT, "another replica"},
	    {"theirs, renewTime in 2100 (skewed clock) but unchanged for 16s: acquire",
		LE_OBS_PRESENT, "other", 15, T2100, 84, 100, 0, 0, LE_ACQUIRE, "expired"},
	    {"theirs, their 60s duration counts, not our 15s: seen 30s ago, wait", LE_OBS_PRESENT,
		"other", 60, 0, 70, 100, 0, 0, LE_WAIT, "another replica"},
	    {"theirs, their 5s duration counts, not our 15s: seen 6s ago, acquire", LE_OBS_PRESENT,
		"other", 5, 0, 94, 100, 0, 0, LE_ACQUIRE, "expired"},
	    {"theirs without leaseDurationSeconds: expired at once", LE_OBS_PRESENT, "other", 0, 0,
		100, 100, 0, 0, LE_ACQUIRE, "expired"},
	    {"theirs, leader (they took it): lost at once", LE_OBS_PRESENT, "other", 15, T2100, 100,
		100, 1, 99, LE_LOST, "held by another"},
	    {"theirs and expired, leader: lost all the same (it is theirs now)", LE_OBS_PRESENT,
		"other", 15, T2000, 0, 100, 1, 99, LE_LOST, "held by another"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct decide_case *c = &cases[i];
		struct le_record r;
		memset(&r, 0, sizeof r);
		if (c->dc_holder)
			xstrlcpy(r.lr_holder, c->dc_holder, sizeof r.lr_holder);
		r.lr_duration_s = c->dc_dur;
		r.lr_renew_us = c->dc_renew_us;
		r.lr_acquire_us = LE_TIME_NONE;
		struct le_view v = {c->dc_obs, c->dc_holder ? &r : NULL, c->dc_observed, c->dc_now,
		    c->dc_leading, c->dc_renewed};
		const char *why = NULL;
		enum le_action a = le_decide(&v, "me", &dflt, &why);
		cr_expect_eq(a, c->dc_want, "%s: %s, want %s (%s)", c->dc_name, le_action_name(a),
		    le_action_name(c->dc_want), why ? why : "no reason");
		cr_expect(why != NULL && strstr(why, c->dc_why) != NULL, "%s: reason \"%s\" lacks \"%s\"",
		    c->dc_name, why ? why : "(null)", c->dc_why);
	}
	/* why may be NULL */
	struct le_view v = {LE_OBS_ABSENT, NULL, 0, 0, 0, 0};
	cr_expect_eq(le_decide(&v, "me", &dflt, NULL), LE_ACQUIRE, "why NULL");
}

/* ---- the records written --------------------------------------------------------------------- */

struct next_case {
	const char *nc_name;
	int nc_have;              /* a current record exists */
	const char *nc_holder;
	int64_t nc_acquire_us;
	int64_t nc_transitions;
	int64_t nc_want_acquire;  /* -1: now */
	int64_t nc_want_transitions;
};

Test(lease, next_record_table)
{
	const int64_t now = 1700000000123456LL, old = 1600000000000001LL;
	static const struct next_case cases[] = {
	    {"created: no transition, acquired now", 0, NULL, 0, 0, -1, 0},
	    {"renewed by us: acquireTime and transitions kept", 1, "me", old, 4, old, 4},
	    {"renewed by us without acquireTime: stays absent", 1, "me", LE_TIME_NONE, 2,
		LE_TIME_NONE, 2},
	    {"taken from another: one more transition, acquired now", 1, "other", old, 4, -1, 5},
	    {"taken after a release: one more transition", 1, "", old, 7, -1, 8},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct next_case *c = &cases[i];
		struct le_record cur, out;
		memset(&cur, 0, sizeof cur);
		if (c->nc_holder)
			xstrlcpy(cur.lr_holder, c->nc_holder, sizeof cur.lr_holder);
		cur.lr_duration_s = 99;
		cur.lr_acquire_us = c->nc_acquire_us;
		cur.lr_renew_us = old;
		cur.lr_transitions = c->nc_transitions;
		xstrlcpy(cur.lr_rv, "42", sizeof cur.lr_rv);
		le_next_record(c->nc_have ? &cur : NULL, "me", &dflt, now, &out);
		cr_expect_str_eq(out.lr_holder, "me", "%s: holder", c->nc_name);
		cr_expect_eq(out.lr_duration_s, 15, "%s: our leaseDuration, not the record's",
		    c->nc_name);
		cr_expect_eq(out.lr_renew_us, now, "%s: renewTime now", c->nc_name);
		int64_t wa = c->nc_want_acquire == -1 ? now : c->nc_want_acquire;
		cr_expect_eq(out.lr_acquire_us, wa, "%s: acquireTime %lld want %lld", c->nc_name,
		    (long long)out.lr_acquire_us, (long long)wa);
		cr_expect_eq(out.lr_transitions, c->nc_want_transitions, "%s: transitions %lld",
		    c->nc_name, (long long)out.lr_transitions);
		cr_expect_str_eq(out.lr_rv, "", "%s: no resourceVersion in a record to write",
		    c->nc_name);
	}
}

/*
 * Found by fuzz_lease: a Lease whose leaseTransitions is INT32_MAX was taken with 2147483648,
 * which the int32 field cannot hold: the API server refuses the write and le_record_parse the
 * answer, so no replica could ever lead. The count stops at INT32_MAX instead.
 */
Test(lease, next_record_transitions_stop_at_int32_max)
{
	static const char full[] =
	    "{\"kind\":\"Lease\",\"metadata\":{\"name\":\"l\",\"resourceVersion\":\"9\"},"
	    "\"spec\":{\"holderIdentity\":\"other\",\"leaseDurationSeconds\":15,"
	    "\"leaseTransitions\":2147483647}}";
	struct le_record cur, next, back;
	char *body = NULL, err[256] = "";
	cr_assert_eq(le_record_parse(full, strlen(full), &cur, err, sizeof err), CC_OK, "%s", err);
	cr_assert_eq(cur.lr_transitions, INT32_MAX);
	le_next_record(&cur, "me", &dflt, 1700000000000000LL, &next);
	cr_expect_eq(next.lr_transitions, INT32_MAX, "%lld", (long long)next.lr_transitions);
	cr_assert_eq(le_body(full, strlen(full), "ns", "l", &next, &body, err, sizeof err), CC_OK,
	    "%s", err);
	cr_expect_eq(le_record_parse(body, strlen(body), &back, err, sizeof err), CC_OK,
	    "the body written reads back: %s: %s", err, body);
	free(body);
}

Test(lease, release_record)
{
	struct le_record cur, out;
	memset(&cur, 0, sizeof cur);
	xstrlcpy(cur.lr_holder, "me", sizeof cur.lr_holder);
	cur.lr_duration_s = 15;
	cur.lr_acquire_us = 1;
	cur.lr_renew_us = 2;
	cur.lr_transitions = 6;
	le_release_record(&cur, 777, &out);
	cr_expect_str_eq(out.lr_holder, "", "holder cleared");
	cr_expect_eq(out.lr_duration_s, 1, "leaseDurationSeconds 1, as client-go releases");
	cr_expect_eq(out.lr_acquire_us, 777, "acquireTime now, as client-go releases");
	cr_expect_eq(out.lr_renew_us, 777, "renewTime now, as client-go releases");
	cr_expect_eq(out.lr_transitions, 6, "transitions kept");
	le_release_record(NULL, 5, &out);
	cr_expect_eq(out.lr_transitions, 0, "no record: 0");
}

Test(lease, record_same)
{
	struct le_record a, b;
	memset(&a, 0, sizeof a);
	xstrlcpy(a.lr_holder, "x", sizeof a.lr_holder);
	a.lr_renew_us = 5;
	b = a;
	xstrlcpy(b.lr_rv, "other", sizeof b.lr_rv);
	cr_expect(le_record_same(&a, &b), "the resourceVersion alone is no change");
	b.lr_renew_us = 6;
	cr_expect_not(le_record_same(&a, &b), "a renewal is a change");
	b = a;
	b.lr_transitions = 1;
	cr_expect_not(le_record_same(&a, &b), "transitions");
	b = a;
	b.lr_holder[0] = '\0';
	cr_expect_not(le_record_same(&a, &b), "holder");
	b = a;
	b.lr_duration_s = 3;
	cr_expect_not(le_record_same(&a, &b), "duration");
	b = a;
	b.lr_acquire_us = 3;
	cr_expect_not(le_record_same(&a, &b), "acquireTime");
}

/* ---- durations ------------------------------------------------------------------------------- */

struct dur_case {
	const char *uc_name;
	struct le_durations uc_d;
	int uc_rc;
	const char *uc_err;
};

Test(lease, durations_table)
{
	static const struct dur_case cases[] = {
	    {"client-go's defaults", {15000, 10000, 2000}, CC_OK, NULL},
	    {"small but ordered", {1000, 500, 100}, CC_OK, NULL},
	    {"zero lease", {0, 10000, 2000}, CC_ERR_INVAL, "more than 0"},
	    {"negative renewDeadline", {15000, -1, 2000}, CC_ERR_INVAL, "more than 0"},
	    {"zero retryPeriod", {15000, 10000, 0}, CC_ERR_INVAL, "more than 0"},
	    {"fractional lease", {1500, 1000, 100}, CC_ERR_INVAL, "leaseDuration (1.5s) must be whole seconds"},
	    {"renewDeadline equal to leaseDuration", {15000, 15000, 2000}, CC_ERR_INVAL,
		"renewDeadline (15s) must be shorter than leaseDuration (15s)"},
	    {"renewDeadline above leaseDuration", {5000, 10000, 2000}, CC_ERR_INVAL,
		"renewDeadline (10s) must be shorter than leaseDuration (5s)"},
	    {"retryPeriod equal to renewDeadline", {15000, 10000, 10000}, CC_ERR_INVAL,
		"retryPeriod (10s) must be shorter than renewDeadline (10s)"},
	    {"retryPeriod above renewDeadline", {15000, 3000, 4000}, CC_ERR_INVAL,
		"retryPeriod (4s) must be shorter than renewDeadline (3s)"},
	    {"over an hour", {7200000, 10000, 2000}, CC_ERR_INVAL, "at most 1h"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct dur_case *c = &cases[i];
		char err[256] = "";
		int rc = le_durations_check(&c->uc_d, err, sizeof err);
		cr_expect_eq(rc, c->uc_rc, "%s: rc %d (%s)", c->uc_name, rc, err);
		if (c->uc_err)
			cr_expect(strstr(err, c->uc_err) != NULL, "%s: \"%s\" lacks \"%s\"",
			    c->uc_name, err, c->uc_err);
	}
}

/* ---- JSON ------------------------------------------------------------------------------------ */

Test(lease, microtime)
{
	static const struct {
		int64_t us;
		const char *want;
	} cases[] = {
	    {0, "1970-01-01T00:00:00.000000Z"},
	    {1700000000123456LL, "2023-11-14T22:13:20.123456Z"},
	    {1700000000000001LL, "2023-11-14T22:13:20.000001Z"},
	    {-1, "1969-12-31T23:59:59.999999Z"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[40];
		cr_expect_eq(le_format_microtime(cases[i].us, buf, sizeof buf), CC_OK, "case %zu", i);
		cr_expect_str_eq(buf, cases[i].want, "case %zu: %s", i, buf);
	}
	char small[10];
	cr_expect_eq(le_format_microtime(0, small, sizeof small), CC_ERR_TOOBIG, "small buffer");
}

/* A Lease as kube-apiserver returns it. */
static const char api_lease[] =
    "{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\",\"metadata\":{\"name\":"
    "\"certcast-leader\",\"namespace\":\"certcast\",\"uid\":\"0b6f\",\"resourceVersion\":"
    "\"1234\",\"creationTimestamp\":\"2025-01-01T00:00:00Z\",\"labels\":{\"team\":\"a\"},"
    "\"annotations\":{\"note\":\"keep me\"},\"managedFields\":[{\"manager\":\"certcast\","
    "\"operation\":\"Update\",\"apiVersion\":\"coordination.k8s.io/v1\",\"fieldsType\":"
    "\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{}}}]},\"spec\":{\"holderIdentity\":\"pod-a\","
    "\"leaseDurationSeconds\":15,\"acquireTime\":\"2025-01-01T00:00:00.000001Z\","
    "\"renewTime\":\"2025-01-01T00:01:02.345678Z\",\"leaseTransitions\":3,"
    "\"preferredHolder\":\"pod-b\",\"strategy\":\"OldestEmulationVersion\"}}";

Test(lease, parse_apiserver_lease)
{
	struct le_record r;
	char err[256] = "";
	cr_assert_eq(le_record_parse(api_lease, strlen(api_lease), &r, err, sizeof err), CC_OK, "%s",
	    err);
	cr_expect_str_eq(r.lr_holder, "pod-a", "holder");
	cr_expect_eq(r.lr_duration_s, 15, "duration");
	cr_expect_eq(r.lr_acquire_us, 1735689600000001LL, "acquireTime to the microsecond");
	cr_expect_eq(r.lr_renew_us, 1735689662345678LL, "renewTime to the microsecond");
	cr_expect_eq(r.lr_transitions, 3, "transitions");
	cr_expect_str_eq(r.lr_rv, "1234", "resourceVersion");
	cr_expect_str_eq(r.lr_uid, "0b6f", "uid, for the Events about the Lease");
}

/* The uid only names the Lease in an Event: an odd one is left out, never a parse error. */
Test(lease, parse_uid_never_refuses_a_lease)
{
	static const struct {
		const char *name, *json, *uid;
	} cases[] = {
	    {"absent", "{\"metadata\":{\"resourceVersion\":\"7\"}}", ""},
	    {"a string", "{\"metadata\":{\"resourceVersion\":\"7\",\"uid\":\"u-1\"}}", "u-1"},
	    {"a number", "{\"metadata\":{\"resourceVersion\":\"7\",\"uid\":5}}", ""},
	    {"null", "{\"metadata\":{\"resourceVersion\":\"7\",\"uid\":null}}", ""},
	    {"an object", "{\"metadata\":{\"resourceVersion\":\"7\",\"uid\":{}}}", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct le_record r;
		char err[256] = "";
		cr_expect_eq(le_record_parse(cases[i].json, strlen(cases[i].json), &r, err, sizeof err),
		    CC_OK, "%s: %s", cases[i].name, err);
		cr_expect_str_eq(r.lr_uid, cases[i].uid, "%s", cases[i].name);
	}
	/* longer than any uid the API server hands out: left out */
	char *big = xmalloc(LE_UID_MAX + 100);
	int n = snprintf(big, LE_UID_MAX + 100, "{\"metadata\":{\"resourceVersion\":\"7\",\"uid\":\"");
	memset(big + n, 'u', LE_UID_MAX);
	snprintf(big + n + LE_UID_MAX, 100, "\"}}");
	struct le_record r;
	char err[256] = "";
	cr_expect_eq(le_record_parse(big, strlen(big), &r, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(r.lr_uid, "", "too long: unknown");
	free(big);
	/* not part of the spec: two records differing in uid alone are the same */
	struct le_record a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	xstrlcpy(b.lr_uid, "other", sizeof b.lr_uid);
	cr_expect(le_record_same(&a, &b), "uid not compared");
}

struct parse_case {
	const char *pc_name;
	const char *pc_json;
	int pc_rc;
	const char *pc_check;  /* error substring; for CC_OK "holder|dur|transitions|acq|renew" */
};

#define META "\"metadata\":{\"name\":\"l\",\"resourceVersion\":\"7\"}"

Test(lease, parse_table)
{
	static const struct parse_case cases[] = {
	    {"no spec: nobody holds it", "{" META "}", CC_OK, "|0|0|none|none"},
	    {"empty spec", "{" META ",\"spec\":{}}", CC_OK, "|0|0|none|none"},
	    {"nulls read as absent", "{" META ",\"spec\":{\"holderIdentity\":null,"
	     "\"leaseDurationSeconds\":null,\"renewTime\":null,\"acquireTime\":null,"
	     "\"leaseTransitions\":null}}", CC_OK, "|0|0|none|none"},
	    {"released lease", "{" META ",\"spec\":{\"holderIdentity\":\"\",\"leaseDurationSeconds\":1,"
	     "\"renewTime\":\"2025-01-01T00:00:00.000000Z\",\"leaseTransitions\":2}}", CC_OK,
		"|1|2|none|1735689600000000"},
	    {"RFC 3339 with an offset", "{" META ",\"spec\":{\"renewTime\":\"2025-01-01T01:00:00.5+01:00\"}}",
		CC_OK, "|0|0|none|1735689600500000"},
	    {"kind may be absent", "{" META ",\"spec\":{\"holderIdentity\":\"x\"}}", CC_OK,
		"x|0|0|none|none"},
	    {"not JSON", "{\"metadata\":", CC_ERR_PARSE, "not JSON"},
	    {"empty text", "", CC_ERR_PARSE, "not JSON"},
	    {"an array", "[1,2]", CC_ERR_PARSE, "expected a Lease object, got an array"},
	    {"another kind", "{\"kind\":\"Pod\"," META "}", CC_ERR_PARSE, "kind: \"Pod\", not Lease"},
	    {"kind not a string", "{\"kind\":7," META "}", CC_ERR_PARSE, "kind: expected a string"},
	    {"a Status instead", "{\"kind\":\"Status\",\"code\":500}", CC_ERR_PARSE,
		"kind: \"Status\", not Lease"},
	    {"no metadata", "{\"spec\":{}}", CC_ERR_PARSE, "metadata: missing"},
	    {"metadata not an object", "{\"metadata\":[]}", CC_ERR_PARSE,
		"metadata: expected an object, got an array"},
	    {"no resourceVersion", "{\"metadata\":{\"name\":\"l\"}}", CC_ERR_PARSE,
		"metadata.resourceVersion: missing"},
	    {"resourceVersion a number", "{\"metadata\":{\"resourceVersion\":7}}", CC_ERR_PARSE,
		"metadata.resourceVersion: expected a non-empty string, got a number"},
	    {"resourceVersion empty", "{\"metadata\":{\"resourceVersion\":\"\"}}", CC_ERR_PARSE,
		"metadata.resourceVersion: expected a non-empty string, got \"\""},
	    {"resourceVersion too long", "{\"metadata\":{\"resourceVersion\":"
	     "\"1234567890123456789012345678901234567890123456789012345678901234567890\"}}",
		CC_ERR_PARSE, "metadata.resourceVersion: longer than 63 bytes"},
	    {"spec a string", "{" META ",\"spec\":\"held\"}", CC_ERR_PARSE,
		"spec: expected an object, got a string"},
	    {"holder a number", "{" META ",\"spec\":{\"holderIdentity\":5}}", CC_ERR_PARSE,
		"spec.holderIdentity: expected a string, got a number"},
	    {"duration a string", "{" META ",\"spec\":{\"leaseDurationSeconds\":\"15\"}}",
		CC_ERR_PARSE, "spec.leaseDurationSeconds: expected an integer, got a string"},
	    {"duration fractional", "{" META ",\"spec\":{\"leaseDurationSeconds\":1.5}}",
		CC_ERR_PARSE, "spec.leaseDurationSeconds: 1.5 is not an integer"},
	    {"duration negative", "{" META ",\"spec\":{\"leaseDurationSeconds\":-15}}",
		CC_ERR_PARSE, "spec.leaseDurationSeconds: -15 is not an integer from 0"},
	    {"duration beyond int32", "{" META ",\"spec\":{\"leaseDurationSeconds\":3000000000}}",
		CC_ERR_PARSE, "spec.leaseDurationSeconds: 3e+09 is not an integer"},
	    {"transitions negative", "{" META ",\"spec\":{\"leaseTransitions\":-1}}", CC_ERR_PARSE,
		"spec.leaseTransitions: -1 is not an integer"},
	    {"renewTime not a time", "{" META ",\"spec\":{\"renewTime\":\"soon\"}}", CC_ERR_PARSE,
		"spec.renewTime: not a MicroTime: \"soon\""},
	    {"renewTime quoted safely", "{" META ",\"spec\":{\"renewTime\":\"a\\\"b\\nc\"}}",
		CC_ERR_PARSE, "spec.renewTime: not a MicroTime: \"a?b?c\""},
	    {"acquireTime a number", "{" META ",\"spec\":{\"acquireTime\":1700000000}}",
		CC_ERR_PARSE, "spec.acquireTime: expected a string, got a number"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct parse_case *c = &cases[i];
		struct le_record r;
		memset(&r, 0x5a, sizeof r);
		struct le_record before = r;
		char err[256] = "";
		int rc = le_record_parse(c->pc_json, strlen(c->pc_json), &r, err, sizeof err);
		cr_expect_eq(rc, c->pc_rc, "%s: rc %d (%s)", c->pc_name, rc, err);
		if (rc != CC_OK) {
			cr_expect(strstr(err, c->pc_check) != NULL, "%s: \"%s\" lacks \"%s\"",
			    c->pc_name, err, c->pc_check);
			cr_expect(memcmp(&r, &before, sizeof r) == 0, "%s: out changed on error",
			    c->pc_name);
			continue;
		}
		char acq[32], ren[32], got[512];
		if (r.lr_acquire_us == LE_TIME_NONE)
			snprintf(acq, sizeof acq, "none");
		else
			snprintf(acq, sizeof acq, "%lld", (long long)r.lr_acquire_us);
		if (r.lr_renew_us == LE_TIME_NONE)
			snprintf(ren, sizeof ren, "none");
		else
			snprintf(ren, sizeof ren, "%lld", (long long)r.lr_renew_us);
		snprintf(got, sizeof got, "%s|%lld|%lld|%s|%s", r.lr_holder,
		    (long long)r.lr_duration_s, (long long)r.lr_transitions, acq, ren);
		cr_expect_str_eq(got, c->pc_check, "%s: got %s", c->pc_name, got);
		cr_expect_str_eq(r.lr_rv, "7", "%s: rv", c->pc_name);
	}
	/* a holder longer than any identity we could have */
	char *big = xmalloc(LE_ID_MAX + 200);
	int n = snprintf(big, LE_ID_MAX + 200, "{%s,\"spec\":{\"holderIdentity\":\"", META);
	memset(big + n, 'h', LE_ID_MAX);
	snprintf(big + n + LE_ID_MAX, 200, "\"}}");
	struct le_record r;
	char err[256] = "";
	cr_expect_eq(le_record_parse(big, strlen(big), &r, err, sizeof err), CC_ERR_PARSE,
	    "long holder");
	cr_expect(strstr(err, "spec.holderIdentity: longer than 255 bytes") != NULL, "%s", err);
	free(big);
	cr_expect_eq(le_record_parse(NULL, 0, &r, err, sizeof err), CC_ERR_PARSE, "NULL text");
}

static struct le_record
rec_of(const char *holder, int64_t dur, int64_t acq, int64_t ren, int64_t tr)
{
	struct le_record r;
	memset(&r, 0, sizeof r);
	xstrlcpy(r.lr_holder, holder, sizeof r.lr_holder);
	r.lr_duration_s = dur;
	r.lr_acquire_us = acq;
	r.lr_renew_us = ren;
	r.lr_transitions = tr;
	return r;
}

Test(lease, body_create)
{
	struct le_record r = rec_of("pod-a", 15, 1700000000123456LL, 1700000000123456LL, 0);
	char *body = NULL, err[256] = "";
	cr_assert_eq(le_body(NULL, 0, "certcast", "certcast-leader", &r, &body, err, sizeof err),
	    CC_OK, "%s", err);
	cr_expect_str_eq(body,
	    "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":"
	    "\"certcast-leader\",\"namespace\":\"certcast\"},\"spec\":{\"holderIdentity\":\"pod-a\","
	    "\"leaseDurationSeconds\":15,\"acquireTime\":\"2023-11-14T22:13:20.123456Z\","
	    "\"renewTime\":\"2023-11-14T22:13:20.123456Z\",\"leaseTransitions\":0}}",
	    "%s", body);
	free(body);
}

Test(lease, body_update_keeps_metadata_replaces_spec)
{
	struct le_record r = rec_of("pod-b", 20, LE_TIME_NONE, 1700000000000000LL, 4);
	char *body = NULL, err[256] = "";
	cr_assert_eq(le_body(api_lease, strlen(api_lease), "certcast", "certcast-leader", &r, &body,
			 err, sizeof err),
	    CC_OK, "%s", err);
	cJSON *j = cJSON_Parse(body);
	cr_assert_not_null(j, "output is JSON: %s", body);
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion")->valuestring,
	    "1234", "the resourceVersion read guards the PUT");
	cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(
			     cJSON_GetObjectItemCaseSensitive(meta, "labels"), "team")
			     ->valuestring,
	    "a", "labels kept");
	cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(
			     cJSON_GetObjectItemCaseSensitive(meta, "annotations"), "note")
			     ->valuestring,
	    "keep me", "annotations kept");
	cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(j, "kind")->valuestring, "Lease", "kind");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(j, "spec");
	cr_expect_null(cJSON_GetObjectItemCaseSensitive(spec, "preferredHolder"),
	    "coordinated election fields dropped, as client-go does outside coordinated mode");
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(spec, "acquireTime")),
	    "an absent time is null");
	cJSON_Delete(j);
	struct le_record back;
	cr_assert_eq(le_record_parse(body, strlen(body), &back, err, sizeof err), CC_OK, "%s", err);
	cr_expect(le_record_same(&back, &r), "the spec reads back as written");
	cr_expect_str_eq(back.lr_rv, "1234", "rv");
	free(body);
}

Test(lease, body_release_spells_out_the_empty_holder)
{
	struct le_record r;
	le_release_record(NULL, 1700000000000000LL, &r);
	char *body = NULL, err[256] = "";
	cr_assert_eq(le_body(NULL, 0, "ns", "n", &r, &body, err, sizeof err), CC_OK, "%s", err);
	cr_expect(strstr(body, "\"holderIdentity\":\"\"") != NULL, "%s", body);
	cr_expect(strstr(body, "\"leaseDurationSeconds\":1,") != NULL, "%s", body);
	free(body);
}

/*
 * Found by fuzz_lease: a Lease text with "spec" twice. Only the first spec was dropped, so the
 * body kept the second beside the new one, and read back (cJSON takes the first key) it was not
 * the record written; Go's decoder would have taken the stale one had it come last.
 */
Test(lease, body_replaces_every_spec_of_a_duplicated_key)
{
	static const char twice[] =
	    "{\"kind\":\"Lease\",\"metadata\":{\"name\":\"l\",\"resourceVersion\":\"9\"},"
	    "\"spec\":{\"holderIdentity\":\"a\"},\"spec\":{\"holderIdentity\":\"b\","
	    "\"renewTime\":\"2026-06-31T00:00:00Z\"}}";
	struct le_record r = rec_of("me", 15, 1700000000000000LL, 1700000000000000LL, 2);
	char *body = NULL, err[256] = "";
	cr_assert_eq(le_body(twice, strlen(twice), "ns", "l", &r, &body, err, sizeof err), CC_OK,
	    "%s", err);
	const char *first = strstr(body, "\"spec\"");
	cr_assert_not_null(first, "%s", body);
	cr_expect_null(strstr(first + 1, "\"spec\""), "one spec only: %s", body);
	struct le_record back;
	cr_assert_eq(le_record_parse(body, strlen(body), &back, err, sizeof err), CC_OK, "%s: %s",
	    err, body);
	cr_expect(le_record_same(&back, &r), "the spec reads back as written: %s", body);
	free(body);
}

struct body_err_case {
	const char *bc_name;
	const char *bc_prev;
	const char *bc_err;
};

Test(lease, body_errors)
{
	static const struct body_err_case cases[] = {
	    {"prev not JSON", "{\"kind\":", "not JSON"},
	    {"prev another kind", "{\"kind\":\"ConfigMap\"," META "}", "kind: \"ConfigMap\", not Lease"},
	    {"prev without resourceVersion", "{\"metadata\":{\"name\":\"x\"}}",
		"metadata.resourceVersion: missing"},
	    {"prev of another Lease", "{\"metadata\":{\"name\":\"other\",\"resourceVersion\":\"1\"}}",
		"metadata.name: not \"l\""},
	    {"prev with a bad spec", "{" META ",\"spec\":{\"renewTime\":\"x\"}}",
		"spec.renewTime: not a MicroTime"},
	};
	struct le_record r = rec_of("me", 15, 0, 0, 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *body = (char *)"untouched", err[256] = "";
		int rc = le_body(cases[i].bc_prev, strlen(cases[i].bc_prev), "ns", "l", &r, &body, err,
		    sizeof err);
		cr_expect_eq(rc, CC_ERR_PARSE, "%s: rc %d", cases[i].bc_name, rc);
		cr_expect_null(body, "%s: no body", cases[i].bc_name);
		cr_expect(strstr(err, cases[i].bc_err) != NULL, "%s: \"%s\" lacks \"%s\"",
		    cases[i].bc_name, err, cases[i].bc_err);
	}
}

/* ---- identity and le_new --------------------------------------------------------------------- */

Test(lease, identity_from_pod_name)
{
	char id[LE_ID_MAX], err[128];
	setenv("POD_NAME", "certcast-6d4f9-abcde", 1);
	cr_expect_eq(le_default_identity(id, sizeof id, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(id, "certcast-6d4f9-abcde", "POD_NAME as it is");
	char big[LE_ID_MAX + 10];
	memset(big, 'p', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	setenv("POD_NAME", big, 1);
	cr_expect_eq(le_default_identity(id, sizeof id, err, sizeof err), CC_ERR_INVAL, "too long");
	cr_expect(strstr(err, "$POD_NAME is longer than 255 bytes") != NULL, "%s", err);
}

Test(lease, identity_from_host_name)
{
	unsetenv("POD_NAME");
	char a[LE_ID_MAX], b[LE_ID_MAX], host[256] = "", err[128];
	cr_assert_eq(le_default_identity(a, sizeof a, err, sizeof err), CC_OK, "%s", err);
	cr_assert_eq(le_default_identity(b, sizeof b, err, sizeof err), CC_OK, "%s", err);
	gethostname(host, sizeof host - 1);
	size_t hl = strlen(host);
	cr_expect(strncmp(a, host, hl) == 0 && a[hl] == '_', "host name, then _: %s", a);
	cr_expect_eq(strlen(a + hl + 1), 16, "16 hex digits: %s", a);
	cr_expect_eq(strspn(a + hl + 1, "0123456789abcdef"), 16, "hex: %s", a);
	cr_expect_str_neq(a, b, "two processes on one host differ");
	setenv("POD_NAME", "", 1);
	cr_assert_eq(le_default_identity(a, sizeof a, err, sizeof err), CC_OK, "%s", err);
	cr_expect(strncmp(a, host, hl) == 0, "an empty POD_NAME counts as unset: %s", a);
}

/* ---- a fake of the API server's Lease endpoints ---------------------------------------------- */

#define NS "kube-test"
#define NAME "lock"
#define COLL "/apis/coordination.k8s.io/v1/namespaces/" NS "/leases"
#define PATH COLL "/" NAME

struct fake {
	pthread_mutex_t f_mu;
	char *f_obj;        /* the stored Lease as JSON, or NULL */
	long f_rv;          /* last resourceVersion handed out */
	int f_fail;         /* 1: answer everything with a 500 */
	long f_hang_ms;     /* > 0: wait this long before answering */
	int f_ghost;        /* 1: "ghost" renews its lease before every GET */
	int f_gets, f_posts, f_puts, f_conflicts;
	char *f_last_put;   /* body of the last accepted PUT */
};

static void
fake_init(struct fake *f)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->f_mu, NULL);
	f->f_rv = 100;
}

static void
fake_free(struct fake *f)
{
	free(f->f_obj);
	free(f->f_last_put);
	pthread_mutex_destroy(&f->f_mu);
}

/* Store obj (taken) with a new resourceVersion; f_mu held. */
static void
fake_store(struct fake *f, cJSON *obj)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	char rv[32];
	snprintf(rv, sizeof rv, "%ld", ++f->f_rv);
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
	cJSON_AddStringToObject(meta, "resourceVersion", rv);
	if (cJSON_GetObjectItemCaseSensitive(meta, "uid") == NULL)
		cJSON_AddStringToObject(meta, "uid", "uid-" NAME); /* as the API server's create */
	free(f->f_obj);
	char *t = cJSON_PrintUnformatted(obj);
	f->f_obj = xstrdup(t);
	cJSON_free(t);
	cJSON_Delete(obj);
}

/* Put a Lease in place as another party would (holder, duration, renewTime). */
static void
fake_seed(struct fake *f, const char *holder, int dur, const char *renew, int transitions)
{
	char *t = xasprintf("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
			    "\"metadata\":{\"name\":\"" NAME "\",\"namespace\":\"" NS "\"},"
			    "\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":%d,"
			    "\"acquireTime\":\"%s\",\"renewTime\":\"%s\",\"leaseTransitions\":%d}}",
	    holder, dur, renew, renew, transitions);
	pthread_mutex_lock(&f->f_mu);
	fake_store(f, cJSON_Parse(t));
	pthread_mutex_unlock(&f->f_mu);
	free(t);
}

/* The stored Lease's spec; CC_ERR_NOTFOUND when there is none. */
static int
fake_record(struct fake *f, struct le_record *r)
{
	char err[256] = "";
	pthread_mutex_lock(&f->f_mu);
	int rc = f->f_obj ? le_record_parse(f->f_obj, strlen(f->f_obj), r, err, sizeof err) :
			    CC_ERR_NOTFOUND;
	pthread_mutex_unlock(&f->f_mu);
	cr_assert(rc == CC_OK || rc == CC_ERR_NOTFOUND, "the fake holds a bad Lease: %s", err);
	return rc;
}

#define STATUS(code, reason) \
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"" reason \
	"\",\"reason\":\"" reason "\",\"code\":" #code "}"

static void
fake_handler(void *arg, const struct th_request *req, struct th_conn *conn)
{
	struct fake *f = arg;
	const char *json = "Content-Type: application/json\r\n";
	pthread_mutex_lock(&f->f_mu);
	long hang = f->f_hang_ms;
	pthread_mutex_unlock(&f->f_mu);
	if (hang > 0 && th_conn_sleep(conn, hang) != CC_OK)
		return;
	pthread_mutex_lock(&f->f_mu);
	int status = 500;
	char *answer = NULL;
	if (f->f_fail) {
		answer = xstrdup(STATUS(500, "InternalError"));
	} else if (strcmp(req->tr_method, "GET") == 0 && strcmp(req->tr_target, PATH) == 0) {
		f->f_gets++;
		if (f->f_obj && f->f_ghost) {
			/* the ghost renews: a new renewTime, so the record keeps changing */
			cJSON *o = cJSON_Parse(f->f_obj);
			cJSON *spec = cJSON_GetObjectItemCaseSensitive(o, "spec");
			char t[40];
			le_format_microtime((int64_t)f->f_rv * 1000000, t, sizeof t);
			cJSON_DeleteItemFromObjectCaseSensitive(spec, "renewTime");
			cJSON_AddStringToObject(spec, "renewTime", t);
			fake_store(f, o);
		}
		status = f->f_obj ? 200 : 404;
		answer = xstrdup(f->f_obj ? f->f_obj : STATUS(404, "NotFound"));
	} else if (strcmp(req->tr_method, "POST") == 0 && strcmp(req->tr_target, COLL) == 0) {
		f->f_posts++;
		if (f->f_obj) {
			status = 409;
			answer = xstrdup(STATUS(409, "AlreadyExists"));
		} else {
			fake_store(f, cJSON_Parse(req->tr_body));
			status = 201;
			answer = xstrdup(f->f_obj);
		}
	} else if (strcmp(req->tr_method, "PUT") == 0 && strcmp(req->tr_target, PATH) == 0) {
		f->f_puts++;
		cJSON *o = cJSON_Parse(req->tr_body);
		const cJSON *rv = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(o, "metadata"), "resourceVersion");
		char cur[32];
		snprintf(cur, sizeof cur, "%ld", f->f_rv);
		if (f->f_obj == NULL) {
			status = 404;
			answer = xstrdup(STATUS(404, "NotFound"));
			cJSON_Delete(o);
		} else if (!cJSON_IsString(rv) || strcmp(rv->valuestring, cur) != 0) {
			f->f_conflicts++;
			status = 409;
			answer = xstrdup(STATUS(409, "Conflict"));
			cJSON_Delete(o);
		} else {
			free(f->f_last_put);
			f->f_last_put = xstrdup(req->tr_body);
			fake_store(f, o);
			status = 200;
			answer = xstrdup(f->f_obj);
		}
	} else {
		status = 404;
		answer = xstrdup(STATUS(404, "NotFound"));
	}
	pthread_mutex_unlock(&f->f_mu);
	th_send_simple(conn, status, json, answer);
	free(answer);
}

/* What lo_changed was told, in order: "+" became leader, "-" stopped leading. */
struct heard {
	pthread_mutex_t h_mu;
	char h_seq[64];
	char h_why[8][64];
	char h_uid[8][64];
	int64_t h_when[8];
	int h_bad;             /* a change that did not name us and our Lease */
	const char *h_id;
};

static void
heard_fn(void *arg, const struct le_change *ch)
{
	struct heard *h = arg;
	pthread_mutex_lock(&h->h_mu);
	size_t n = strlen(h->h_seq);
	if (n + 1 < sizeof h->h_seq) {
		h->h_seq[n] = ch->lc_leading ? '+' : '-';
		h->h_seq[n + 1] = '\0';
	}
	if (n < 8) {
		xstrlcpy(h->h_why[n], ch->lc_why ? ch->lc_why : "(null)", sizeof h->h_why[n]);
		xstrlcpy(h->h_uid[n], ch->lc_uid ? ch->lc_uid : "(null)", sizeof h->h_uid[n]);
		h->h_when[n] = ch->lc_when_ns;
	}
	if (strcmp(ch->lc_identity, h->h_id) != 0 || strcmp(ch->lc_ns, NS) != 0 ||
	    strcmp(ch->lc_name, NAME) != 0)
		h->h_bad = 1;
	pthread_mutex_unlock(&h->h_mu);
}

/* The sequence heard so far, copied. */
static void
heard_seq(struct heard *h, char *out, size_t outsz)
{
	pthread_mutex_lock(&h->h_mu);
	xstrlcpy(out, h->h_seq, outsz);
	pthread_mutex_unlock(&h->h_mu);
}

struct rig {
	struct fake r_fake;
	struct th_server *r_srv;
	struct kube_client *r_client;
};

static void
rig_start(struct rig *r, long timeout_ms)
{
	fake_init(&r->r_fake);
	struct th_opts o = {.to_handler = fake_handler, .to_arg = &r->r_fake};
	cr_assert_eq(th_server_start(&o, &r->r_srv), CC_OK, "fake API server");
	struct kube_config cfg = {0};
	cfg.kc_server = (char *)th_server_url(r->r_srv);
	cfg.kc_namespace = "default";
	struct kube_client_opts ko = {.kco_qps = -1, .kco_timeout_ms = timeout_ms};
	struct kube_error ke;
	cr_assert_eq(kube_client_new(&cfg, &ko, &r->r_client, &ke), CC_OK, "%s", ke.ke_message);
}

static void
rig_stop(struct rig *r)
{
	kube_client_free(r->r_client);
	th_server_free(r->r_srv);
	fake_free(&r->r_fake);
}

/* An elector that tells h (when not NULL) of its changes. */
static struct le *
elector_heard(struct rig *r, const char *id, struct le_durations d, struct heard *h)
{
	struct le_opts o = {r->r_client, NS, NAME, id, d, NULL, NULL};
	if (h != NULL) {
		memset(h, 0, sizeof *h);
		pthread_mutex_init(&h->h_mu, NULL);
		h->h_id = id;
		o.lo_changed = heard_fn;
		o.lo_changed_arg = h;
	}
	struct le *l = NULL;
	char err[256] = "";
	cr_assert_eq(le_new(&o, &l, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(le_is_leader(l), 0, "%s: not leader before it runs", id);
	cr_assert_eq(le_start(l), CC_OK, "start %s", id);
	return l;
}

static struct le *
elector(struct rig *r, const char *id, struct le_durations d)
{
	return elector_heard(r, id, d, NULL);
}

static double
mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Poll until le_is_leader(l) == want; returns the seconds it took, or -1 after limit seconds. */
static double
wait_leader(const struct le *l, int want, double limit)
{
	double t0 = mono();
	while (mono() - t0 < limit) {
		if (le_is_leader(l) == want)
			return mono() - t0;
		nap(10);
	}
	return -1;
}

/*
 * Poll until h has heard want ("+-"...); 1 when it has, 0 after limit seconds. lo_changed runs
 * just after le_is_leader changed, so a test that saw the flag move waits for it here.
 */
static int
heard_wait(struct heard *h, const char *want, double limit)
{
	double t0 = mono();
	char seq[64];
	do {
		heard_seq(h, seq, sizeof seq);
		if (strcmp(seq, want) == 0)
			return 1;
		nap(10);
	} while (mono() - t0 < limit);
	return 0;
}

/* Fast settings for tests: a 2s lease, renewDeadline 1s, retries every 100ms. */
static const struct le_durations quick = {2000, 1000, 100};

Test(lease, one_elector_creates_renews_and_releases, .timeout = 60)
{
	struct rig r;
	rig_start(&r, 5000);
	struct heard h;
	struct le *l = elector_heard(&r, "solo", quick, &h);
	cr_assert_geq(wait_leader(l, 1, 20), 0, "becomes leader");
	cr_expect(heard_wait(&h, "+", 20), "told once that it became leader: %s", h.h_seq);
	cr_expect_str_eq(h.h_why[0], "there is no lease", "why: it created the Lease");
	struct le_record rec;
	cr_assert_eq(fake_record(&r.r_fake, &rec), CC_OK, "a Lease was created");
	cr_expect_str_eq(rec.lr_holder, "solo", "it names us");
	cr_expect_eq(rec.lr_duration_s, 2, "our leaseDuration");
	cr_expect_eq(rec.lr_transitions, 0, "a new Lease starts at 0 transitions");
	cr_expect_eq(rec.lr_acquire_us, rec.lr_renew_us, "acquired and renewed at once");
	int64_t acquired = rec.lr_acquire_us;
	/* renewals go on: renewTime moves, acquireTime stays */
	double t0 = mono();
	struct le_record now = rec;
	while (mono() - t0 < 20 && now.lr_renew_us == rec.lr_renew_us) {
		nap(20);
		cr_assert_eq(fake_record(&r.r_fake, &now), CC_OK, "still there");
	}
	cr_expect_gt(now.lr_renew_us, rec.lr_renew_us, "renewTime moves");
	cr_expect_eq(now.lr_acquire_us, acquired, "acquireTime stays");
	cr_expect_str_eq(now.lr_holder, "solo", "still ours");
	cr_expect_eq(le_is_leader(l), 1, "still leads");
	pthread_mutex_lock(&r.r_fake.f_mu);
	int posts = r.r_fake.f_posts;
	pthread_mutex_unlock(&r.r_fake.f_mu);
	cr_expect_eq(posts, 1, "created once, renewed by PUT");
	cr_expect_str_eq(le_identity(l), "solo", "identity");
	char seq[64];
	heard_seq(&h, seq, sizeof seq);
	cr_expect_str_eq(seq, "+", "renewals are no change");

	le_stop(l);
	cr_expect_eq(le_is_leader(l), 0, "not leader once stopped");
	/* le_stop tells on its own thread, after the release: no wait */
	heard_seq(&h, seq, sizeof seq);
	cr_expect_str_eq(seq, "+-", "told that it stopped leading");
	cr_expect_str_eq(h.h_why[1], "stopping", "why");
	cr_expect_str_eq(h.h_uid[0], "uid-" NAME, "the Lease's uid, from the create's answer");
	cr_expect_str_eq(h.h_uid[1], "uid-" NAME, "and at the stop");
	cr_expect_gt(h.h_when[0], INT64_C(1500000000) * 1000000000, "a wall clock time in ns");
	cr_expect_geq(h.h_when[1], h.h_when[0], "in order");
	cr_expect_eq(h.h_bad, 0, "every change names us and our Lease");
	cr_assert_eq(fake_record(&r.r_fake, &rec), CC_OK, "the Lease stays");
	cr_expect_str_eq(rec.lr_holder, "", "released: holderIdentity cleared");
	cr_expect_eq(rec.lr_duration_s, 1, "released: leaseDurationSeconds 1");
	cr_expect_eq(rec.lr_transitions, 0, "released: transitions kept");
	cr_expect_eq(rec.lr_acquire_us, rec.lr_renew_us, "released: both times now");
	cr_expect_geq(rec.lr_renew_us, now.lr_renew_us, "released after the last renewal");
	pthread_mutex_lock(&r.r_fake.f_mu);
	cr_expect(r.r_fake.f_last_put && strstr(r.r_fake.f_last_put, "\"holderIdentity\":\"\""),
	    "the release PUT spells out the empty holder: %s", r.r_fake.f_last_put);
	pthread_mutex_unlock(&r.r_fake.f_mu);
	le_stop(l); /* idempotent */
	le_free(l);
	le_free(NULL);
	heard_seq(&h, seq, sizeof seq);
	cr_expect_str_eq(seq, "+-", "a second stop and the free tell nothing more");
	rig_stop(&r);
}

Test(lease, two_electors_one_leads_and_the_other_takes_over_on_release, .timeout = 60)
{
	struct rig r;
	rig_start(&r, 5000);
	/* a long lease: a takeover faster than it can only come from the release */
	struct le_durations d = {30000, 1000, 100};
	struct heard ha, hb;
	struct le *a = elector_heard(&r, "a", d, &ha), *b = elector_heard(&r, "b", d, &hb);
	double t0 = mono();
	while (mono() - t0 < 20 && !le_is_leader(a) && !le_is_leader(b))
		nap(10);
	struct le *lead = le_is_leader(a) ? a : b, *other = lead == a ? b : a;
	cr_assert_eq(le_is_leader(lead), 1, "one of them leads");
	/* for a while (many retry periods), never both */
	int both = 0, lead_ok = 1;
	for (int i = 0; i < 100; i++) {
		both |= le_is_leader(a) && le_is_leader(b);
		lead_ok &= le_is_leader(lead);
		nap(10);
	}
	cr_expect_eq(both, 0, "never two leaders");
	cr_expect_eq(lead_ok, 1, "the leader stays leader");
	struct le_record rec;
	cr_assert_eq(fake_record(&r.r_fake, &rec), CC_OK, "lease");
	cr_expect_str_eq(rec.lr_holder, le_identity(lead), "the Lease names the leader");

	struct heard *hl = lead == a ? &ha : &hb, *ho = lead == a ? &hb : &ha;
	cr_expect(heard_wait(hl, "+", 20), "the leader was told: %s", hl->h_seq);
	char seq[64];
	heard_seq(ho, seq, sizeof seq);
	cr_expect_str_eq(seq, "", "the other was told nothing");
	double t1 = mono();
	le_stop(lead);
	heard_seq(hl, seq, sizeof seq);
	cr_expect_str_eq(seq, "+-", "the leader stopped leading");
	double took = wait_leader(other, 1, 25);
	cr_assert_geq(took, 0, "the other takes over");
	cr_expect(heard_wait(ho, "+", 20), "the other became leader: %s", ho->h_seq);
	cr_expect_str_eq(ho->h_why[0], "the lease was released", "after the release");
	cr_expect_eq(ha.h_bad + hb.h_bad, 0, "every change names its elector and the Lease");
	cr_expect_lt(mono() - t1, 20, "well within the 30s lease: the release, not the expiry");
	cr_assert_eq(fake_record(&r.r_fake, &rec), CC_OK, "lease");
	cr_expect_str_eq(rec.lr_holder, le_identity(other), "the Lease names the new leader");
	cr_expect_eq(rec.lr_transitions, 1, "one transition");
	cr_expect_eq(rec.lr_duration_s, 30, "its leaseDuration again");
	le_free(lead);
	le_free(other);
	rig_stop(&r);
}

Test(lease, a_lease_left_behind_is_taken_only_after_it_expires_on_our_clock, .timeout = 60)
{
	struct rig r;
	rig_start(&r, 5000);
	/* renewTime in 2000: by the wall clock long expired; we must count from our first sight */
	fake_seed(&r.r_fake, "ghost", 2, "2000-01-01T00:00:00.000000Z", 4);
	double t0 = mono();
	struct le *l = elector(&r, "heir", quick);
	double took = wait_leader(l, 1, 30);
	cr_assert_geq(took, 0, "takes over in the end");
	cr_expect_geq(mono() - t0, 2.0, "not before the ghost's 2s passed from our first sight");
	struct le_record rec;
	cr_assert_eq(fake_record(&r.r_fake, &rec), CC_OK, "lease");
	cr_expect_str_eq(rec.lr_holder, "heir", "ours now");
	cr_expect_eq(rec.lr_transitions, 5, "one more transition");
	cr_expect_gt(rec.lr_acquire_us, 946684800000000LL, "acquired now, not in 2000");
	le_free(l);
	rig_stop(&r);
}

Test(lease, a_lease_that_keeps_being_renewed_is_never_taken, .timeout = 60)
{
	struct rig r;
	rig_start(&r, 5000);
	fake_seed(&r.r_fake, "ghost", 1, "2000-01-01T00:00:00.000000Z", 0);
	pthread_mutex_lock(&r.r_fake.f_mu);
	r.r_fake.f_ghost = 1;
	pthread_mutex_unlock(&r.r_fake.f_mu);
	struct le *l = elector(&r, "patient", quick);
	/* three times the ghost's 1s lease, each read showing a fresh renewal */
	int led = 0;
	double t0 = mono();
	while (mono() - t0 < 3.0) {
		led |= le_is_leader(l);
		nap(10);
	}
	cr_expect_eq(led, 0, "never leads while the holder renews");
	pthread_mutex_lock(&r.r_fake.f_mu);
	int gets = r.r_fake.f_gets;
	r.r_fake.f_ghost = 0; /* the ghost dies */
	pthread_mutex_unlock(&r.r_fake.f_mu);
	cr_expect_gt(gets, 5, "it kept reading (%d reads)", gets);
	cr_expect_geq(wait_leader(l, 1, 20), 0, "takes over once the renewals stop");
	le_free(l);
	rig_stop(&r);
}

Test(lease, failing_renewals_drop_the_flag_by_renew_deadline, .timeout = 60)
{
	struct rig r;
	rig_start(&r, 5000);
	struct heard h;
	struct le *l = elector_heard(&r, "frail", quick, &h);
	cr_assert_geq(wait_leader(l, 1, 20), 0, "leads");
	pthread_mutex_lock(&r.r_fake.f_mu);
	r.r_fake.f_fail = 1;
	pthread_mutex_unlock(&r.r_fake.f_mu);
	double took = wait_leader(l, 0, 20);
	cr_expect_geq(took, 0, "steps down");
	cr_expect_lt(took, 1.5, "within renewDeadline (1s) of its last renewal, not at expiry");
	pthread_mutex_lock(&r.r_fake.f_mu);
	r.r_fake.f_fail = 0;
	pthread_mutex_unlock(&r.r_fake.f_mu);
	cr_expect_geq(wait_leader(l, 1, 20), 0, "leads again when the API server is back");
	cr_expect(heard_wait(&h, "+-+", 20), "became, stopped, became again: %s", h.h_seq);
	cr_expect_str_eq(h.h_why[1], "could not renew the lease within renewDeadline", "why");
	struct le_record rec;
	cr_assert_eq(fake_record(&r.r_fake, &rec), CC_OK, "lease");
	cr_expect_eq(rec.lr_transitions, 0, "still the same holder: no transition");
	le_free(l);
	rig_stop(&r);
}

Test(lease, a_hung_renewal_cannot_extend_the_term, .timeout = 60)
{
	struct rig r;
	rig_start(&r, 8000); /* the request timeout is far beyond renewDeadline */
	struct le *l = elector(&r, "stuck", quick);
	cr_assert_geq(wait_leader(l, 1, 20), 0, "leads");
	pthread_mutex_lock(&r.r_fake.f_mu);
	r.r_fake.f_hang_ms = 4000;
	pthread_mutex_unlock(&r.r_fake.f_mu);
	double took = wait_leader(l, 0, 20);
	cr_expect_geq(took, 0, "steps down while its thread still waits for an answer");
	cr_expect_lt(took, 2.5, "by renewDeadline, not by the 4s answer or the 8s timeout");
	pthread_mutex_lock(&r.r_fake.f_mu);
	r.r_fake.f_hang_ms = 0;
	pthread_mutex_unlock(&r.r_fake.f_mu);
	le_free(l);
	rig_stop(&r);
}

/*
 * Renewals answered after 500ms with renewDeadline 1s and retries every 100ms: each starts at
 * least 600ms after the one before it began, so it is answered at least 100ms after that term
 * ran out, yet soon enough that the next round renews without reading the Lease first. The flag
 * drops for that moment and comes back; each pause is told as a step down and a new term,
 * never passed over in silence. (A loaded machine only makes the pauses longer, and one past
 * renewDeadline is told by the read that follows, with its own reason.)
 */
Test(lease, a_renewal_answered_late_is_told_as_a_pause, .timeout = 60)
{
	struct rig r;
	struct heard h;
	char seq[64];
	rig_start(&r, 8000);
	struct le *l = elector_heard(&r, "slow", quick, &h);
	cr_assert_geq(wait_leader(l, 1, 20), 0, "leads");
	cr_assert(heard_wait(&h, "+", 5), "told it leads");
	pthread_mutex_lock(&r.r_fake.f_mu);
	r.r_fake.f_hang_ms = 500;
	pthread_mutex_unlock(&r.r_fake.f_mu);
	double t0 = mono();
	do {
		heard_seq(&h, seq, sizeof seq);
		if (strncmp(seq, "+-+", 3) == 0)
			break;
		nap(10);
	} while (mono() - t0 < 20);
	pthread_mutex_lock(&r.r_fake.f_mu);
	r.r_fake.f_hang_ms = 0;
	pthread_mutex_unlock(&r.r_fake.f_mu);
	cr_expect_eq(strncmp(seq, "+-+", 3), 0, "a late answer is a step down and a new term: %s",
	    seq);
	cr_expect_geq(wait_leader(l, 1, 20), 0, "leads again once answers are quick");
	heard_seq(&h, seq, sizeof seq);
	for (size_t i = 0; seq[i] != '\0'; i++)
		cr_expect_eq(seq[i], i % 2 == 0 ? '+' : '-', "alternates: %s", seq);
	pthread_mutex_lock(&h.h_mu);
	cr_expect(strcmp(h.h_why[1], "a renewal was answered after renewDeadline") == 0 ||
		      strcmp(h.h_why[1], "could not renew the lease within renewDeadline") == 0,
	    "why: %s", h.h_why[1]);
	cr_expect_not(h.h_bad);
	pthread_mutex_unlock(&h.h_mu);
	le_free(l);
	rig_stop(&r);
}

Test(lease, someone_else_takes_the_lease_the_flag_drops_at_once, .timeout = 60)
{
	struct rig r;
	rig_start(&r, 5000);
	struct le_durations d = {5000, 4000, 100};
	struct heard h;
	struct le *l = elector_heard(&r, "victim", d, &h);
	cr_assert_geq(wait_leader(l, 1, 20), 0, "leads");
	/* an administrator (or a rogue) writes another holder */
	fake_seed(&r.r_fake, "usurper", 5, "2030-01-01T00:00:00.000000Z", 9);
	double took = wait_leader(l, 0, 20);
	cr_expect_geq(took, 0, "steps down");
	cr_expect_lt(took, 2.0, "at the next renewal, long before renewDeadline (4s)");
	struct le_record rec;
	cr_assert_eq(fake_record(&r.r_fake, &rec), CC_OK, "lease");
	cr_expect_str_eq(rec.lr_holder, "usurper", "the usurper's record is left alone");
	cr_expect(heard_wait(&h, "+-", 20), "told it stopped leading: %s", h.h_seq);
	cr_expect_str_eq(h.h_why[1], "the lease is held by another replica", "why");
	le_free(l);
	char seq[64];
	heard_seq(&h, seq, sizeof seq);
	cr_expect_str_eq(seq, "+-", "no second \"stopped\" at the free: it no longer led");
	rig_stop(&r);
}

Test(lease, stop_when_not_leading_writes_nothing, .timeout = 60)
{
	struct rig r;
	rig_start(&r, 5000);
	fake_seed(&r.r_fake, "ghost", 30, "2030-01-01T00:00:00.000000Z", 0);
	struct heard h;
	struct le *l = elector_heard(&r, "bystander", quick, &h);
	double t0 = mono();
	while (mono() - t0 < 20) {
		pthread_mutex_lock(&r.r_fake.f_mu);
		int gets = r.r_fake.f_gets;
		pthread_mutex_unlock(&r.r_fake.f_mu);
		if (gets >= 2)
			break;
		nap(10);
	}
	le_stop(l);
	pthread_mutex_lock(&r.r_fake.f_mu);
	cr_expect_eq(r.r_fake.f_puts + r.r_fake.f_posts, 0, "no write by a candidate");
	pthread_mutex_unlock(&r.r_fake.f_mu);
	struct le_record rec;
	cr_assert_eq(fake_record(&r.r_fake, &rec), CC_OK, "lease");
	cr_expect_str_eq(rec.lr_holder, "ghost", "untouched");
	char seq[64];
	heard_seq(&h, seq, sizeof seq);
	cr_expect_str_eq(seq, "", "never led: nothing to tell");
	le_free(l);
	rig_stop(&r);
}

Test(lease, new_refuses_bad_options)
{
	struct rig r;
	rig_start(&r, 1000);
	static const struct {
		const char *name, *ns, *lease, *id;
		struct le_durations d;
		const char *err;
	} cases[] = {
	    {"bad namespace", "Bad_NS", "l", "me", {15000, 10000, 2000}, "lease namespace \"Bad_NS\""},
	    {"bad name", "ns", "no/slash", "me", {15000, 10000, 2000}, "lease name \"no/slash\""},
	    {"empty identity", "ns", "l", "", {15000, 10000, 2000}, "identity must be 1 to 255"},
	    {"bad durations", "ns", "l", "me", {15000, 15000, 2000}, "renewDeadline (15s)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct le_opts o = {r.r_client, cases[i].ns, cases[i].lease, cases[i].id, cases[i].d,
		    NULL, NULL};
		struct le *l = (struct le *)&r; /* must become NULL */
		char err[256] = "";
		cr_expect_eq(le_new(&o, &l, err, sizeof err), CC_ERR_INVAL, "%s", cases[i].name);
		cr_expect_null(l, "%s: no elector", cases[i].name);
		cr_expect(strstr(err, cases[i].err) != NULL, "%s: \"%s\" lacks \"%s\"", cases[i].name,
		    err, cases[i].err);
	}
	struct le_opts o = {NULL, "ns", "l", "me", {15000, 10000, 2000}, NULL, NULL};
	struct le *l = NULL;
	char err[128];
	cr_expect_eq(le_new(&o, &l, err, sizeof err), CC_ERR_INVAL, "no client");
	/* never started: stop and free are fine */
	o.lo_client = r.r_client;
	cr_assert_eq(le_new(&o, &l, err, sizeof err), CC_OK, "%s", err);
	le_free(l);
	rig_stop(&r);
}
