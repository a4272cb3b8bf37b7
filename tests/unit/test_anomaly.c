/*
 * Tests of scoring/anomaly: named cases against a learned namespace baseline, in both
 * directions (the usual does not fire, the unusual does, only after warm-up), bursts against
 * the usual rate, the hour of day around midnight, idempotence per UID, memory bounds, and
 * save/restore of the baselines with corrupt checkpoints refused.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "anomaly.h"
#include "certparse.h"
#include "scoring.h"

#define T0 1767225600 /* 2026-01-01T00:00:00Z */
#define H 3600
#define D 86400

#define SA "system:serviceaccount:cert-manager:cert-manager"

struct ta_req {
	const char *issuer;
	const char *user;
	const char *dns;
	int64_t duration;
	const char *key;
};

static const struct ta_req ta_usual = { "ClusterIssuer/le-prod", SA, "api.shop.example.com",
					90 * D, "EC-P256" };

static unsigned ta_seq;

static void
ta_observe(struct an_state *st, const char *ns, const struct ta_req *q, int64_t t, int64_t now,
	   struct an_report *r)
{
	const char *names[1] = { q->dns };
	struct an_obs o;
	char uid[32];

	snprintf(uid, sizeof(uid), "uid-%u", ++ta_seq);
	memset(&o, 0, sizeof(o));
	o.o_uid = uid;
	o.o_namespace = ns;
	o.o_name = "cert";
	o.o_issuer = q->issuer;
	o.o_username = q->user;
	o.o_dns_names = names;
	o.o_ndns = q->dns != NULL ? 1 : 0;
	o.o_duration = q->duration;
	o.o_key = q->key;
	o.o_time = t;
	memset(r, 0, sizeof(*r));
	cr_assert_eq(an_observe(st, &o, now, r), SC_OK);
}

static struct an_state *
ta_new(void)
{
	struct an_state *st = NULL;

	cr_assert_eq(an_new(NULL, &st), SC_OK);
	cr_assert_not_null(st);
	return st;
}

/* Four days of office-hours requests (09:00-16:59 UTC) in namespace "shop". */
static void
ta_baseline(struct an_state *st)
{
	struct an_report r;
	int d, h;

	for (d = 0; d < 4; d++)
		for (h = 9; h < 17; h++) {
			int64_t t = T0 + d * D + h * H + 600;

			ta_observe(st, "shop", &ta_usual, t, t, &r);
			cr_assert_eq(r.r_count, 0, "baseline fired %s: %s",
				     r.r_count ? an_type_id(r.r_items[0].a_type) : "",
				     r.r_count ? r.r_items[0].a_evidence : "");
		}
}

static size_t
ta_count(const struct an_report *r, enum an_type t)
{
	size_t i, n = 0;

	for (i = 0; i < r->r_count; i++)
		n += r->r_items[i].a_type == t;
	return n;
}

Test(anomaly, baseline_cases_both_directions)
{
	static const struct {
		const char *name;
		struct ta_req q;
		int hour;            /* UTC hour of the probe */
		enum an_type want;   /* AN_TYPE_COUNT: nothing may fire */
	} cases[] = {
		{ "usual request", { "ClusterIssuer/le-prod", SA, "api.shop.example.com", 90 * D,
				     "EC-P256" }, 11, AN_TYPE_COUNT },
		{ "other host, same domain", { "ClusterIssuer/le-prod", SA, "www.example.com", 90 * D,
					       "EC-P256" }, 14, AN_TYPE_COUNT },
		{ "new issuer", { "Issuer/self-signed", SA, "api.shop.example.com", 90 * D, "EC-P256" },
		  11, AN_UNEXPECTED_ISSUER },
		{ "new requester", { "ClusterIssuer/le-prod", "alice@example.com",
				     "api.shop.example.com", 90 * D, "EC-P256" }, 11,
		  AN_UNUSUAL_REQUESTER },
		{ "new DNS domain", { "ClusterIssuer/le-prod", SA, "login.bank-example.net", 90 * D,
				      "EC-P256" }, 11, AN_UNUSUAL_DNS_SUFFIX },
		{ "co.uk is grouped by three labels", { "ClusterIssuer/le-prod", SA,
							"shop.example.co.uk", 90 * D, "EC-P256" }, 11,
		  AN_UNUSUAL_DNS_SUFFIX },
		{ "one-year duration", { "ClusterIssuer/le-prod", SA, "api.shop.example.com", 365 * D,
					 "EC-P256" }, 11, AN_UNUSUAL_DURATION },
		{ "duration within 5%", { "ClusterIssuer/le-prod", SA, "api.shop.example.com",
					  90 * D + 2 * D, "EC-P256" }, 11, AN_TYPE_COUNT },
		{ "new key type", { "ClusterIssuer/le-prod", SA, "api.shop.example.com", 90 * D,
				    "RSA-4096" }, 11, AN_UNUSUAL_KEY },
		{ "3 am request", { "ClusterIssuer/le-prod", SA, "api.shop.example.com", 90 * D,
				    "EC-P256" }, 3, AN_UNUSUAL_HOUR },
		{ "first office hour", { "ClusterIssuer/le-prod", SA, "api.shop.example.com", 90 * D,
					 "EC-P256" }, 9, AN_TYPE_COUNT },
		{ "unknown fields are not judged", { NULL, NULL, NULL, 0, NULL }, 12, AN_TYPE_COUNT },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct an_state *st = ta_new();
		struct an_report r;
		int64_t t = T0 + 5 * D + cases[i].hour * H + 1800;

		ta_baseline(st);
		ta_observe(st, "shop", &cases[i].q, t, t, &r);
		if (cases[i].want == AN_TYPE_COUNT) {
			cr_expect_eq(r.r_count, 0, "%s: fired %s (%s)", cases[i].name,
				     r.r_count ? an_type_id(r.r_items[0].a_type) : "",
				     r.r_count ? r.r_items[0].a_evidence : "");
		} else {
			cr_expect_eq(r.r_count, 1, "%s: %zu findings, first %s", cases[i].name,
				     r.r_count, r.r_count ? an_type_id(r.r_items[0].a_type) : "-");
			cr_expect_eq(ta_count(&r, cases[i].want), 1, "%s", cases[i].name);
			if (r.r_count > 0) {
				cr_expect_gt(r.r_items[0].a_score, 0, "%s", cases[i].name);
				cr_expect_neq(r.r_items[0].a_evidence[0], '\0');
			}
		}
		/* The same oddity in a namespace that is still warming up is not flagged. */
		{
			struct an_report w;

			ta_observe(st, "fresh-ns", &ta_usual, t - 600, t - 600, &w);
			ta_observe(st, "fresh-ns", &cases[i].q, t, t, &w);
			cr_expect_eq(w.r_count, 0, "%s: fired during warm-up", cases[i].name);
		}
		an_free(st);
	}
}

Test(anomaly, warmup_needs_count_and_age)
{
	struct an_state *st = ta_new();
	struct an_report r;
	struct ta_req odd = ta_usual;
	int i;

	odd.issuer = "Issuer/odd";
	/* 60 requests within fifteen minutes: enough of them, but not old enough. */
	for (i = 0; i < 60; i++)
		ta_observe(st, "quick", &ta_usual, T0 + 10 * H + i * 15, T0 + 10 * H + i * 15, &r);
	ta_observe(st, "quick", &odd, T0 + 10 * H + 900, T0 + 10 * H + 900, &r);
	cr_expect_eq(ta_count(&r, AN_UNEXPECTED_ISSUER), 0, "flagged before the warm-up age");
	/* A day later the same oddity (once in 61) is flagged. */
	ta_observe(st, "quick", &odd, T0 + 34 * H, T0 + 34 * H, &r);
	cr_expect_eq(ta_count(&r, AN_UNEXPECTED_ISSUER), 1, "not flagged after warm-up");
	cr_expect_eq(an_namespace_obs(st, "quick"), 62);
	cr_expect_eq(an_namespace_obs(st, "nope"), 0);
	an_free(st);
}

Test(anomaly, a_new_normal_stops_being_flagged)
{
	struct an_state *st = ta_new();
	struct an_report r;
	struct ta_req moved = ta_usual;
	int64_t t = T0 + 5 * D + 10 * H;
	int i, flagged = 0, last = 1;

	ta_baseline(st);
	moved.issuer = "ClusterIssuer/zerossl";
	for (i = 0; i < 40; i++, t += 600) {
		ta_observe(st, "shop", &moved, t, t, &r);
		flagged += (int)ta_count(&r, AN_UNEXPECTED_ISSUER);
		last = (int)ta_count(&r, AN_UNEXPECTED_ISSUER);
	}
	cr_expect_geq(flagged, 1);
	cr_expect_lt(flagged, 5, "flagged %d times", flagged);
	cr_expect_eq(last, 0);
	an_free(st);
}

Test(anomaly, hour_of_day_wraps_around_midnight)
{
	static const struct {
		const char *name;
		int minute_of_day;
		int fires;
	} cases[] = {
		{ "23:30, inside the night shift", 23 * 60 + 30, 0 },
		{ "00:30, inside, across midnight", 30, 0 },
		{ "01:59, next to the shift's last hour", 60 + 59, 0 },
		{ "22:10, next to its first hour", 22 * 60 + 10, 0 },
		{ "12:00, the opposite side of the clock", 12 * 60, 1 },
		{ "05:00, well outside", 5 * 60, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct an_state *st = ta_new();
		struct an_report r;
		int d, k;
		int64_t t;

		/* A namespace whose renewals run from 23:00 to 00:59 UTC. */
		for (d = 0; d < 5; d++)
			for (k = 0; k < 6; k++) {
				t = T0 + d * D + 23 * H + k * 20 * 60;
				ta_observe(st, "night", &ta_usual, t, t, &r);
			}
		t = T0 + 6 * D + cases[i].minute_of_day * 60;
		ta_observe(st, "night", &ta_usual, t, t, &r);
		cr_expect_eq(ta_count(&r, AN_UNUSUAL_HOUR), (size_t)cases[i].fires, "%s: %s",
			     cases[i].name, r.r_count ? r.r_items[0].a_evidence : "nothing");
		an_free(st);
	}
}

Test(anomaly, hour_just_before_midnight_covers_just_after)
{
	static const struct {
		const char *name;
		int minute_of_day;
		int fires;
	} cases[] = {
		{ "00:10, one hour after the usual 23h", 10, 0 },
		{ "22:50, one hour before it", 22 * 60 + 50, 0 },
		{ "23:59, inside", 23 * 60 + 59, 0 },
		{ "01:30, two hours after", 90, 1 },
		{ "21:00, two hours before", 21 * 60, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct an_state *st = ta_new();
		struct an_report r;
		int d, k;
		int64_t t;

		/* Every renewal of this namespace runs between 23:00 and 23:59 UTC. */
		for (d = 0; d < 6; d++)
			for (k = 0; k < 5; k++) {
				t = T0 + d * D + 23 * H + k * 10 * 60;
				ta_observe(st, "late", &ta_usual, t, t, &r);
			}
		t = T0 + 7 * D + cases[i].minute_of_day * 60;
		ta_observe(st, "late", &ta_usual, t, t, &r);
		cr_expect_eq(ta_count(&r, AN_UNUSUAL_HOUR), (size_t)cases[i].fires, "%s: %s",
			     cases[i].name, r.r_count ? r.r_items[0].a_evidence : "nothing");
		an_free(st);
	}
}

/* Three days at two requests per hour, around the clock. */
static void
ta_steady(struct an_state *st, const char *ns)
{
	struct an_report r;
	int h;

	for (h = 0; h < 72; h++) {
		ta_observe(st, ns, &ta_usual, T0 + h * H + 300, T0 + h * H + 300, &r);
		cr_assert_eq(r.r_count, 0, "steady hour %d fired %s", h,
			     r.r_count ? r.r_items[0].a_evidence : "");
		ta_observe(st, ns, &ta_usual, T0 + h * H + 2100, T0 + h * H + 2100, &r);
		cr_assert_eq(r.r_count, 0, "steady hour %d fired", h);
	}
}

Test(anomaly, burst_versus_steady_rate)
{
	static const struct {
		const char *name;
		int requests; /* in hour 72 */
		int bursts;   /* request-burst findings expected in that hour */
	} cases[] = {
		{ "usual two", 2, 0 },
		{ "a few more than usual", 6, 0 },
		{ "thirty at once", 30, 1 },
		{ "two hundred at once, reported once", 200, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct an_state *st = ta_new();
		struct an_report r;
		int k, bursts = 0;
		enum an_severity worst = AN_SEV_INFO;

		ta_steady(st, "web");
		for (k = 0; k < cases[i].requests; k++) {
			int64_t t = T0 + 72 * H + 60 + k * 10;
			size_t j;

			ta_observe(st, "web", &ta_usual, t, t, &r);
			for (j = 0; j < r.r_count; j++) {
				cr_expect_eq(r.r_items[j].a_type, AN_REQUEST_BURST, "%s: %s", cases[i].name,
					     r.r_items[j].a_evidence);
				bursts++;
				if (r.r_items[j].a_severity > worst)
					worst = r.r_items[j].a_severity;
			}
		}
		cr_expect_eq(bursts, cases[i].bursts, "%s: %d bursts", cases[i].name, bursts);
		if (cases[i].requests >= 30)
			cr_expect_geq(worst, AN_SEV_WARNING);
		an_free(st);
	}
}

Test(anomaly, no_burst_without_history)
{
	struct an_state *st = ta_new();
	struct an_report r;
	int k, n = 0;

	/* A new namespace that starts with 50 requests: there is no usual rate to beat yet. */
	for (k = 0; k < 50; k++) {
		ta_observe(st, "new", &ta_usual, T0 + k * 30, T0 + k * 30, &r);
		n += (int)r.r_count;
	}
	cr_expect_eq(n, 0);
	an_free(st);
}

Test(anomaly, history_trains_but_is_not_judged)
{
	struct an_state *st = ta_new();
	struct an_report r;
	struct ta_req odd = ta_usual;
	int64_t now = T0 + 10 * D;

	ta_baseline(st);
	odd.issuer = "Issuer/odd";
	/* Seen only now, but created a week ago: an initial list after a first start. */
	ta_observe(st, "shop", &odd, T0 + 3 * D + 12 * H, now, &r);
	cr_expect_eq(r.r_count, 0);
	/* A request created just now is judged. */
	odd.issuer = "Issuer/odd-too";
	ta_observe(st, "shop", &odd, now - 60, now, &r);
	cr_expect_eq(ta_count(&r, AN_UNEXPECTED_ISSUER), 1);
	an_free(st);
}

static struct cp_cert *
ta_fake_cert(unsigned char key_byte, const char *dns)
{
	struct cp_cert *c = calloc(1, sizeof(*c));

	c->c_subject = strdup("CN=x");
	c->c_issuer = strdup("CN=Fake CA");
	c->c_serial = strdup("01");
	c->c_not_before = T0;
	c->c_not_after = T0 + 90 * D;
	c->c_key_alg = CP_KEY_EC;
	c->c_key_bits = 256;
	snprintf(c->c_curve, sizeof(c->c_curve), "P-256");
	snprintf(c->c_sig_hash, sizeof(c->c_sig_hash), "SHA256");
	memset(c->c_spki_sha256, key_byte, 32);
	c->c_chain_len = 1;
	if (dns != NULL) {
		c->c_sans = calloc(1, sizeof(*c->c_sans));
		c->c_sans[0].s_type = CP_SAN_DNS;
		c->c_sans[0].s_value = strdup(dns);
		c->c_nsans = 1;
	}
	return c;
}

Test(anomaly, idempotent_per_uid_and_stage)
{
	struct an_state *st = ta_new();
	struct an_report r;
	struct an_obs o;
	const char *names[1] = { "a.example.com" };
	struct cp_cert *c = ta_fake_cert(7, "*.example.com");

	memset(&o, 0, sizeof(o));
	o.o_uid = "0b1c-uid";
	o.o_namespace = "ns";
	o.o_name = "a";
	o.o_issuer = "Issuer/x";
	o.o_dns_names = names;
	o.o_ndns = 1;
	o.o_time = T0;
	memset(&r, 0, sizeof(r));
	cr_assert_eq(an_observe(st, &o, T0, &r), SC_OK);
	cr_expect_eq(an_namespace_obs(st, "ns"), 1);
	cr_assert_eq(an_observe(st, &o, T0 + 60, &r), SC_OK);
	cr_expect_eq(an_namespace_obs(st, "ns"), 1, "a repeat was learned again");
	/* The certificate stage runs once: the wildcard shows the first time only. */
	o.o_cert = c;
	memset(&r, 0, sizeof(r));
	cr_assert_eq(an_observe(st, &o, T0 + 120, &r), SC_OK);
	cr_expect_eq(ta_count(&r, AN_WILDCARD), 1);
	cr_expect_eq(an_namespace_obs(st, "ns"), 1);
	memset(&r, 0, sizeof(r));
	cr_assert_eq(an_observe(st, &o, T0 + 180, &r), SC_OK);
	cr_expect_eq(r.r_count, 0);
	/* Without a UID every call counts. */
	o.o_uid = NULL;
	o.o_cert = NULL;
	cr_assert_eq(an_observe(st, &o, T0 + 240, &r), SC_OK);
	cr_assert_eq(an_observe(st, &o, T0 + 300, &r), SC_OK);
	cr_expect_eq(an_namespace_obs(st, "ns"), 3);
	cp_free(c);
	an_free(st);
}

Test(anomaly, bad_arguments)
{
	struct an_state *st = ta_new();
	struct an_report r;
	struct an_obs o;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	cr_expect_eq(an_observe(st, &o, T0, &r), SC_ERR_INVAL, "no namespace");
	o.o_namespace = "";
	cr_expect_eq(an_observe(st, &o, T0, &r), SC_ERR_INVAL, "empty namespace");
	o.o_namespace = "ns";
	cr_expect_eq(an_observe(NULL, &o, T0, &r), SC_ERR_INVAL);
	cr_expect_eq(an_observe(st, NULL, T0, &r), SC_ERR_INVAL);
	cr_expect_eq(an_observe(st, &o, T0, NULL), SC_ERR_INVAL);
	cr_expect_eq(an_observe(st, &o, T0, &r), SC_OK, "the minimal observation");
	an_free(st);
	an_free(NULL);
}

Test(anomaly, memory_is_bounded)
{
	struct an_config cfg;
	struct an_state *st = NULL;
	struct an_report r;
	struct an_obs o;
	char ns[32], user[32], *text = NULL, *p;
	size_t len, fe = 0;
	int i;

	an_config_default(&cfg);
	cfg.c_max_namespaces = 4;
	cfg.c_max_keys = 3;
	cfg.c_max_uids = 5;
	cr_assert_eq(an_new(&cfg, &st), SC_OK);
	memset(&o, 0, sizeof(o));
	/* Ten namespaces: only the four most recent stay. */
	for (i = 0; i < 10; i++) {
		snprintf(ns, sizeof(ns), "ns%d", i);
		o.o_namespace = ns;
		memset(&r, 0, sizeof(r));
		cr_assert_eq(an_observe(st, &o, T0 + i, &r), SC_OK);
	}
	cr_expect_eq(an_namespace_obs(st, "ns0"), 0);
	cr_expect_eq(an_namespace_obs(st, "ns5"), 0);
	cr_expect_eq(an_namespace_obs(st, "ns6"), 1);
	cr_expect_eq(an_namespace_obs(st, "ns9"), 1);
	/* A hundred requesters in one namespace: the table keeps at most RB_FREQ_CAP. */
	o.o_namespace = "ns9";
	for (i = 0; i < 100; i++) {
		snprintf(user, sizeof(user), "user-%d", i);
		o.o_username = user;
		cr_assert_eq(an_observe(st, &o, T0 + 100 + i, &r), SC_OK);
	}
	cr_assert_eq(an_serialize(st, &text, &len), SC_OK);
	p = strstr(text, "\nns ns9 ");
	cr_assert_not_null(p);
	for (p = strstr(p, "\nuser "); p != NULL && strncmp(p, "\nsuffix ", 8) != 0;
	     p = strchr(p + 1, '\n'))
		fe += strncmp(p, "\nfe ", 4) == 0;
	cr_expect_eq(fe, 32, "requester entries kept: %zu", fe);
	free(text);
	an_free(st);
}

Test(anomaly, key_and_uid_sets_are_fifo)
{
	struct an_config cfg;
	struct an_state *st = NULL;
	struct an_report r;
	struct an_obs o;
	struct cp_cert *c[5];
	char name[16], uid[16];
	int i;

	an_config_default(&cfg);
	cfg.c_max_keys = 3;
	cfg.c_max_uids = 4;
	cr_assert_eq(an_new(&cfg, &st), SC_OK);
	for (i = 0; i < 5; i++)
		c[i] = ta_fake_cert((unsigned char)(i + 1), NULL);
	memset(&o, 0, sizeof(o));
	o.o_namespace = "ns";
	/* Keys 1..4 by certificates c0..c3: key 1 falls out of the three-key memory. */
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		o.o_name = name;
		o.o_cert = c[i];
		memset(&r, 0, sizeof(r));
		cr_assert_eq(an_observe(st, &o, T0 + i, &r), SC_OK);
		cr_expect_eq(ta_count(&r, AN_KEY_REUSE), 0);
	}
	o.o_name = "other";
	o.o_cert = c[3];
	memset(&r, 0, sizeof(r));
	an_observe(st, &o, T0 + 10, &r);
	cr_expect_eq(ta_count(&r, AN_KEY_REUSE), 1, "a remembered key is reuse");
	o.o_cert = c[0];
	memset(&r, 0, sizeof(r));
	an_observe(st, &o, T0 + 11, &r);
	cr_expect_eq(ta_count(&r, AN_KEY_REUSE), 0, "the oldest key was forgotten");
	/* UIDs: the oldest of five is forgotten and counts again. */
	o.o_cert = NULL;
	for (i = 0; i < 5; i++) {
		snprintf(uid, sizeof(uid), "u%d", i);
		o.o_uid = uid;
		an_observe(st, &o, T0 + 20 + i, &r);
	}
	cr_expect_eq(an_namespace_obs(st, "ns"), 6 + 5);
	o.o_uid = "u4";
	an_observe(st, &o, T0 + 30, &r);
	cr_expect_eq(an_namespace_obs(st, "ns"), 11, "a remembered UID counted twice");
	o.o_uid = "u0";
	an_observe(st, &o, T0 + 31, &r);
	cr_expect_eq(an_namespace_obs(st, "ns"), 12, "a forgotten UID is new again");
	for (i = 0; i < 5; i++)
		cp_free(c[i]);
	an_free(st);
}

Test(anomaly, ids_and_conversion)
{
	static const char *const want[AN_TYPE_COUNT] = {
		"unexpected-issuer", "unusual-requester", "unusual-dns-suffix", "unusual-duration",
		"unusual-key", "unusual-hour", "request-burst", "unexpected-ca", "weak-key",
		"san-outside-domains", "wildcard", "validity-mismatch", "key-reuse",
		"not-before-future",
	};
	struct an_report r;
	struct sc_anomaly sc;
	char longtext[400];
	int i;

	for (i = 0; i < AN_TYPE_COUNT; i++)
		cr_expect_str_eq(an_type_id((enum an_type)i), want[i]);
	cr_expect_str_eq(an_type_id(AN_TYPE_COUNT), "unknown");
	cr_expect_str_eq(an_severity_name(AN_SEV_INFO), "info");
	cr_expect_str_eq(an_severity_name(AN_SEV_WARNING), "warning");
	cr_expect_str_eq(an_severity_name(AN_SEV_CRITICAL), "critical");
	memset(&r, 0, sizeof(r));
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	an_report_add(&r, AN_WEAK_KEY, AN_SEV_CRITICAL, 3.0, "%s", longtext);
	cr_expect_eq(strlen(r.r_items[0].a_evidence), AN_EVIDENCE_MAX - 1);
	an_to_sc(&r.r_items[0], &sc);
	cr_expect_str_eq(sc.an_type, "weak-key");
	cr_expect_eq(sc.an_severity, SC_SEV_CRITICAL);
	cr_expect_eq(sc.an_security, 1);
	cr_expect_eq(sc.an_score, 3.0);
	cr_expect_eq(strlen(sc.an_evidence), SC_EVIDENCE_MAX - 1);
	an_report_add(&r, AN_UNUSUAL_HOUR, AN_SEV_INFO, 1.0, "x");
	an_to_sc(&r.r_items[1], &sc);
	cr_expect_eq(sc.an_security, 0);
	cr_expect_eq(sc.an_severity, SC_SEV_INFO);
	/* A full report counts what it had to drop. */
	for (i = 0; i < AN_REPORT_MAX + 3; i++)
		an_report_add(&r, AN_WILDCARD, AN_SEV_INFO, 1.0, "w");
	cr_expect_eq(r.r_count, AN_REPORT_MAX);
	cr_expect_eq(r.r_dropped, 5);
}

/* ---- checkpoints --------------------------------------------------------------------------- */

/* A state with every kind of content: namespaces, CA tables, keys, UIDs, odd characters. */
static struct an_state *
ta_rich(void)
{
	struct an_state *st = ta_new();
	struct an_report r;
	struct an_obs o;
	struct cp_cert *c = ta_fake_cert(9, "x.shop.example.com");
	const char *names[2] = { "x.shop.example.com", "*.Shop.Example.com." };

	ta_baseline(st);
	ta_steady(st, "web");
	memset(&o, 0, sizeof(o));
	o.o_uid = "with cert";
	o.o_namespace = "odd ns %/\n";
	o.o_name = "n a m e";
	o.o_issuer = "Issuer/with space";
	o.o_username = "-dash first";
	o.o_dns_names = names;
	o.o_ndns = 2;
	o.o_duration = 30 * D;
	o.o_time = T0 + 3 * D;
	o.o_cert = c;
	memset(&r, 0, sizeof(r));
	cr_assert_eq(an_observe(st, &o, T0 + 3 * D, &r), SC_OK);
	cp_free(c);
	return st;
}

static char *
ta_save(const struct an_state *st, size_t *len)
{
	char *text = NULL;

	cr_assert_eq(an_serialize(st, &text, len), SC_OK);
	cr_assert_not_null(text);
	cr_assert_eq(strlen(text), *len);
	return text;
}

Test(anomaly, save_restore_is_identical)
{
	struct an_state *a = ta_rich(), *b = NULL;
	char *t1, *t2, err[160] = "";
	size_t l1, l2;
	int k;

	t1 = ta_save(a, &l1);
	cr_assert_eq(an_deserialize(NULL, t1, l1, &b, err, sizeof(err)), SC_OK, "%s", err);
	t2 = ta_save(b, &l2);
	cr_expect_eq(l1, l2);
	cr_expect_str_eq(t1, t2);
	free(t2);
	/* Both judge the same probes the same way, and keep learning alike. */
	for (k = 0; k < 12; k++) {
		static const char *const issuers[3] = { "ClusterIssuer/le-prod", "Issuer/x",
							"Issuer/with space" };
		struct ta_req q = ta_usual;
		struct an_report ra, rb;
		int64_t t = T0 + 6 * D + k * 7 * H;
		size_t i;

		q.issuer = issuers[k % 3];
		ta_seq = 1000 + (unsigned)k;
		ta_observe(a, k % 2 ? "shop" : "web", &q, t, t, &ra);
		ta_seq = 1000 + (unsigned)k;
		ta_observe(b, k % 2 ? "shop" : "web", &q, t, t, &rb);
		cr_assert_eq(ra.r_count, rb.r_count, "probe %d", k);
		for (i = 0; i < ra.r_count; i++) {
			cr_expect_eq(ra.r_items[i].a_type, rb.r_items[i].a_type);
			cr_expect_eq(ra.r_items[i].a_score, rb.r_items[i].a_score);
			cr_expect_str_eq(ra.r_items[i].a_evidence, rb.r_items[i].a_evidence);
		}
	}
	free(t1);
	t1 = ta_save(a, &l1);
	t2 = ta_save(b, &l2);
	cr_expect_str_eq(t1, t2);
	free(t1);
	free(t2);
	an_free(a);
	an_free(b);
}

/* Replaces the trailing checksum so that an edited body passes it. */
static void
ta_reseal(char *buf, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0, i;
	size_t body = len - 72;

	cr_assert_eq(EVP_Digest(buf, body, md, &mdlen, EVP_sha256(), NULL), 1);
	for (i = 0; i < 32; i++)
		snprintf(buf + body + 7 + 2 * i, 3, "%02x", md[i]);
	buf[len - 1] = '\n';
}

static int
ta_load(const char *buf, size_t len, char *err, size_t errlen)
{
	struct an_state *st = (struct an_state *)(uintptr_t)1;
	int rc;

	err[0] = '\0';
	rc = an_deserialize(NULL, buf, len, &st, err, errlen);
	if (rc == SC_OK) {
		an_free(st);
		return rc;
	}
	cr_expect_null(st);
	cr_expect_neq(err[0], '\0');
	return rc;
}

Test(anomaly, truncated_baselines_rejected)
{
	struct an_state *a = ta_rich();
	size_t len, cut;
	char *text = ta_save(a, &len), err[160];

	for (cut = 0; cut < len; cut += 1 + cut / 500) {
		char *copy = malloc(cut + 1);

		memcpy(copy, text, cut);
		cr_assert_eq(ta_load(copy, cut, err, sizeof(err)), SC_ERR_PARSE, "prefix %zu/%zu", cut,
			     len);
		free(copy);
	}
	cr_expect_eq(ta_load(text, len, err, sizeof(err)), SC_OK, "%s", err);
	free(text);
	an_free(a);
}

Test(anomaly, corrupt_baselines_rejected_with_reason)
{
	static const struct {
		const char *name;
		const char *from;
		const char *to;
		int reseal;
		const char *why;
	} cases[] = {
		{ "edited count", "\nhours ", "\nhours 1", 0, "checksum" },
		{ "wrong version", "certcast-an 1", "certcast-an 7", 1, "version" },
		{ "bad magic", "certcast-an", "certcast-lm", 0, "not certcast baselines" },
		{ "unknown line", "\nhours ", "\nminutes ", 1, "malformed" },
		{ "namespace without its rate", "\nrate ", "\n#ate ", 1, "malformed" },
		{ "bad escape", "odd%20ns", "odd%2xns", 1, "malformed" },
		{ "NUL escape", "odd%20ns", "odd%00ns", 1, "malformed" },
		{ "more durations than the ring", "\ndur 32 ", "\ndur 99 ", 1, "malformed" },
		{ "entry outside a table", "\nhours ", "\nfe x 0x1p+0\nhours ", 1, "malformed" },
		{ "entry before any table", "\nns ", "\nfe x 0x1p+0\nns ", 1, "malformed" },
		{ "rate run past the ring", " 0x", " 0x9", 1, "malformed" },
		{ "rate run of zero", " 0x", " 0x0 ", 1, "malformed" },
		{ "key hash too short", "\nkey ", "\nkey 00", 1, "malformed" },
		{ "uid flags out of range", "\nuid ", "\nuid 0 ", 1, "malformed" },
	};
	struct an_state *a = ta_rich();
	size_t len, i;
	char *orig = ta_save(a, &len), err[160];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t fl = strlen(cases[i].from), tl = strlen(cases[i].to), nl;
		char *at = strstr(orig, cases[i].from), *buf;

		cr_assert_not_null(at, "%s: pattern missing", cases[i].name);
		nl = len - fl + tl;
		buf = malloc(nl + 1);
		memcpy(buf, orig, (size_t)(at - orig));
		memcpy(buf + (at - orig), cases[i].to, tl);
		memcpy(buf + (at - orig) + tl, at + fl, len - (size_t)(at - orig) - fl + 1);
		if (cases[i].reseal)
			ta_reseal(buf, nl);
		cr_expect_eq(ta_load(buf, nl, err, sizeof(err)), SC_ERR_PARSE, "%s accepted",
			     cases[i].name);
		cr_expect_not_null(strstr(err, cases[i].why), "%s: '%s'", cases[i].name, err);
		free(buf);
	}
	cr_expect_eq(ta_load(orig, len, err, sizeof(err)), SC_OK, "%s", err);
	free(orig);
	an_free(a);
}

Test(anomaly, garbage_baselines_rejected)
{
	char buf[3000], err[160];
	uint64_t s = 99;
	size_t n, i;
	int k;

	cr_expect_eq(ta_load("", 0, err, sizeof(err)), SC_ERR_PARSE);
	cr_expect_eq(ta_load(NULL, 0, err, sizeof(err)), SC_ERR_PARSE);
	for (k = 0; k < 200; k++) {
		n = 1 + (size_t)(s % sizeof(buf));
		for (i = 0; i < n; i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			buf[i] = (char)(s >> 56);
		}
		if (k % 2)
			memcpy(buf, "certcast-an 1\n", n < 14 ? n : 14);
		cr_assert_eq(ta_load(buf, n, err, sizeof(err)), SC_ERR_PARSE, "random %d accepted", k);
	}
}

Test(anomaly, long_names_survive_a_checkpoint)
{
	struct an_state *a = ta_new(), *b = NULL;
	struct an_report r;
	struct an_obs o;
	char ns[300], issuer[400], user[500], err[160] = "", *text;
	size_t len;

	memset(ns, 'n', sizeof(ns) - 1);
	ns[sizeof(ns) - 1] = '\0';
	memset(issuer, ' ', sizeof(issuer) - 1);
	issuer[sizeof(issuer) - 1] = '\0';
	memset(user, '%', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	memset(&o, 0, sizeof(o));
	o.o_namespace = ns;
	o.o_issuer = issuer;
	o.o_username = user;
	memset(&r, 0, sizeof(r));
	cr_assert_eq(an_observe(a, &o, T0, &r), SC_OK);
	cr_expect_eq(an_namespace_obs(a, ns), 1);
	text = ta_save(a, &len);
	cr_assert_eq(an_deserialize(NULL, text, len, &b, err, sizeof(err)), SC_OK, "%s", err);
	cr_expect_eq(an_namespace_obs(b, ns), 1, "the long namespace is found after a restore");
	cr_assert_eq(an_observe(b, &o, T0 + 1, &r), SC_OK);
	cr_expect_eq(an_namespace_obs(b, ns), 2);
	free(text);
	an_free(a);
	an_free(b);
}

/* Random edits that pass the checksum must be refused or restore a usable state, never crash. */
Test(anomaly, resealed_mutations_never_crash)
{
	static const char alphabet[] = "0123456789-x. \nabcdefnsuidkeyratehours%";
	struct an_state *a = ta_rich();
	size_t len, i;
	char *orig = ta_save(a, &len), err[160];
	uint64_t s = 7;
	int k, ok = 0, bad = 0;

	for (k = 0; k < 400; k++) {
		char *buf = malloc(len + 1);
		struct an_state *b = NULL;
		int edits = 1 + (int)(s % 3), rc;

		memcpy(buf, orig, len + 1);
		for (i = 0; i < (size_t)edits; i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			/* Only the body: the checksum line is rewritten below. */
			buf[(s >> 20) % (len - 72)] = alphabet[(s >> 8) % (sizeof(alphabet) - 1)];
		}
		ta_reseal(buf, len);
		rc = an_deserialize(NULL, buf, len, &b, err, sizeof(err));
		if (rc == SC_OK) {
			struct an_report r;
			char *again;
			size_t l2;

			ok++;
			ta_observe(b, "shop", &ta_usual, T0 + 9 * D, T0 + 9 * D, &r);
			cr_assert_eq(an_serialize(b, &again, &l2), SC_OK);
			free(again);
			an_free(b);
		} else {
			bad++;
			cr_assert_eq(rc, SC_ERR_PARSE);
			cr_assert_null(b);
		}
		free(buf);
	}
	cr_expect_gt(bad, 0);
	cr_log_info("resealed mutations: %d restored, %d refused", ok, bad);
	free(orig);
	an_free(a);
}
