/* Scenario loader: a full valid file, defaults, and a table of bad files whose errors must name
 * the key and the line:column. */
#include "cc_err.h"
#include "sim_scenario.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct scn_scenario *
load_ok(const char *text)
{
	struct scn_scenario *s = NULL;
	struct scn_error err;
	int rc = scn_load_string(text, strlen(text), "t.yaml", &s, &err);
	cr_assert_eq(rc, CC_OK, "load failed: %s", err.e_msg);
	cr_assert_not_null(s);
	cr_assert_eq(err.e_msg[0], '\0');
	return s;
}

/* BASE with an ACME issuer (rate limits apply) */
#define BASE_ACME "name: t\nseed: 1\nduration: 10d\nissuers:\n  - {name: le, acme: true}\n" \
	     "certificates:\n  - group: web\n    count: 2\n    issuer: le\n    lifetime: 90d\n"

#define BASE "name: t\nseed: 1\nduration: 10d\nissuers:\n  - name: le\ncertificates:\n" \
	     "  - group: web\n    count: 2\n    issuer: le\n    lifetime: 90d\n"

Test(sim_scenario, full_file)
{
	const char *text =
	    "name: full\n"
	    "description: every key\n"
	    "seed: 42\n"
	    "start: 2026-03-15T00:00:00Z\n"
	    "duration: 365d\n"
	    "policies: [cert-manager, certcast]\n"
	    "alert_horizon: 3d\n"
	    "certcast:\n"
	    "  target_risk: 0.02\n"
	    "  eval_interval: 6h\n"
	    "issuers:\n"
	    "  - name: le\n"
	    "    kind: ClusterIssuer\n"
	    "    acme: true\n"
	    "    ari: true\n"
	    "    ari_window: [0.5, 0.6]\n"
	    "    failure_probability: 0.01\n"
	    "    latency: 2m\n"
	    "    rate_limits: {new_per_domain: 20, duplicates: 3, window: 72h}\n"
	    "  - name: backup\n"
	    "    kind: Issuer\n"
	    "certificates:\n"
	    "  - group: web\n"
	    "    count: 100\n"
	    "    issuer: le\n"
	    "    fallback_issuer: backup\n"
	    "    namespace: shop\n"
	    "    lifetime: 47d\n"
	    "    renew_before: 10d\n"
	    "    domain: shop.example\n"
	    "    domains: 4\n"
	    "    age: [1d, 20d]\n"
	    "  - group: api\n"
	    "    count: 5\n"
	    "    issuer: backup\n"
	    "    lifetime: 6d\n"
	    "    renew_before_percentage: 25\n"
	    "faults:\n"
	    "  - {type: outage, issuer: le, start: 10d, duration: 36h}\n"
	    "  - {type: random-outages, issuer: le, mean_interval: 30d, mean_duration: 4h}\n"
	    "  - {type: misconfig, group: api, start: 1d, fixed_at: 3d}\n"
	    "  - {type: misconfig, issuer: backup}\n"
	    "  - {type: dns, zone: shop.example, probability: 0.25}\n"
	    "  - {type: dns, start: 5d, duration: 1d}\n"
	    "  - {type: revocation, issuer: le, at: 50d, deadline: 5d, fraction: 0.5}\n"
	    "expect:\n"
	    "  - \"certcast.expired_hours == 0\"\n"
	    "  - \"certcast.issuances <= 1.1 * cert-manager.issuances\"\n";
	struct scn_scenario *s = load_ok(text);
	cr_expect_str_eq(s->s_name, "full");
	cr_expect_eq(s->s_seed, 42u);
	cr_expect_eq(s->s_start, 1773532800); /* 2026-03-15T00:00:00Z */
	cr_expect_eq(s->s_duration, 365 * 86400);
	cr_expect_eq(s->s_policies, (1u << SCN_POL_CERT_MANAGER) | (1u << SCN_POL_CERTCAST));
	cr_expect_eq(s->s_alert_horizon, 3 * 86400);
	cr_expect_float_eq(s->s_target_risk, 0.02, 1e-12);
	cr_expect_eq(s->s_eval_interval, 6 * 3600);
	cr_assert_eq(s->s_nissuers, 2);
	cr_expect(s->s_issuers[0].is_acme && s->s_issuers[0].is_ari);
	cr_expect_float_eq(s->s_issuers[0].is_ari_lo, 0.5, 1e-12);
	cr_expect_eq(s->s_issuers[0].is_latency, 120);
	cr_expect_eq(s->s_issuers[0].is_rl_domain, 20u);
	cr_expect_eq(s->s_issuers[0].is_rl_dup, 3u);
	cr_expect_eq(s->s_issuers[0].is_rl_window, 72 * 3600);
	cr_expect_str_eq(s->s_issuers[1].is_kind, "Issuer");
	cr_expect(!s->s_issuers[1].is_acme);
	cr_assert_eq(s->s_ngroups, 2);
	cr_expect_eq(s->s_groups[0].g_fallback, 1);
	cr_expect_eq(s->s_groups[0].g_renew_before, 10 * 86400);
	cr_expect_eq(s->s_groups[0].g_ndomains, 4u);
	cr_expect_eq(s->s_groups[0].g_age_lo, 86400);
	cr_expect_eq(s->s_groups[0].g_age_hi, 20 * 86400);
	cr_expect_eq(s->s_groups[1].g_pct, 25);
	cr_expect_eq(s->s_groups[1].g_fallback, -1);
	cr_expect_eq(s->s_ncerts, 105u);
	cr_assert_eq(s->s_nfaults, 7);
	cr_expect_eq(s->s_faults[0].f_kind, SCN_F_OUTAGE);
	cr_expect_eq(s->s_faults[0].f_end, 10 * 86400 + 36 * 3600);
	cr_expect_eq(s->s_faults[2].f_group, 1);
	cr_expect_eq(s->s_faults[2].f_end, 3 * 86400);
	cr_expect_eq(s->s_faults[3].f_end, SCN_NEVER, "misconfig without fixed_at never heals");
	cr_expect_str_eq(s->s_faults[4].f_zone, "shop.example");
	cr_expect_eq(s->s_faults[5].f_zone, NULL);
	cr_expect_float_eq(s->s_faults[5].f_prob, 1.0, 1e-12);
	cr_expect_eq(s->s_faults[6].f_deadline, 5 * 86400);
	cr_assert_eq(s->s_nexpects, 2);
	cr_expect_eq(s->s_expects[1].x_line, 48u);
	scn_free(s);
}

Test(sim_scenario, defaults)
{
	struct scn_scenario *s = load_ok(BASE);
	cr_expect_eq(s->s_policies, (1u << SCN_POL_COUNT) - 1, "all four policies by default");
	cr_expect_eq(s->s_start, 1767225600);
	cr_expect_eq(s->s_alert_horizon, 7 * 86400);
	cr_expect_eq(s->s_issuers[0].is_rl_domain, 50u, "Let's Encrypt: 50 per registered domain");
	cr_expect_eq(s->s_issuers[0].is_rl_dup, 5u, "Let's Encrypt: 5 duplicates");
	cr_expect_eq(s->s_issuers[0].is_rl_window, 7 * 86400);
	cr_expect_str_eq(s->s_groups[0].g_namespace, "default");
	cr_expect_str_eq(s->s_groups[0].g_domain, "web.example");
	cr_expect_eq(s->s_groups[0].g_age_lo, 0);
	cr_expect_lt(s->s_groups[0].g_age_hi, 60 * 86400, "initial ages stay before the renewal time");
	cr_expect_eq(s->s_nfaults, 0);
	scn_free(s);
}

/*
 * Found by fuzz_scenario: a lifetime under 1h30m gave a default age range [0, negative], so the
 * engine dated the initial certificates up to 20 minutes in the future (notBefore after the
 * start). The range stays 0 <= low <= high < lifetime, as an explicit age must.
 */
Test(sim_scenario, short_lifetime_default_age_range)
{
	static const char *const lifetimes[] = {"1h", "80m", "1h29m", "1h30m", "1h31m"};
	for (size_t i = 0; i < sizeof lifetimes / sizeof lifetimes[0]; i++) {
		char text[512];
		snprintf(text, sizeof text,
		    "name: t\nseed: 1\nduration: 1d\nissuers: [{name: le}]\n"
		    "certificates: [{group: w, count: 3, issuer: le, lifetime: %s}]\n",
		    lifetimes[i]);
		struct scn_scenario *s = load_ok(text);
		const struct scn_group *g = &s->s_groups[0];
		cr_expect_eq(g->g_age_lo, 0, "%s", lifetimes[i]);
		cr_expect_geq(g->g_age_hi, g->g_age_lo, "lifetime %s: age range [%lld, %lld]",
		    lifetimes[i], (long long)g->g_age_lo, (long long)g->g_age_hi);
		cr_expect_lt(g->g_age_hi, g->g_lifetime, "%s", lifetimes[i]);
		scn_free(s);
	}
}

struct bad_case {
	const char *name;
	const char *text;
	const char *want; /* substring of the message */
};

static const struct bad_case bad_cases[] = {
	{"unknown top-level key", BASE "colour: blue\n", "t.yaml:11:1: (top level): unknown key 'colour'"},
	{"unknown issuer key", "name: t\nseed: 1\nduration: 10d\nissuers:\n  - name: le\n    acmee: true\n"
	    "certificates:\n  - {group: w, count: 1, issuer: le, lifetime: 90d}\n",
	    "t.yaml:6:5: issuers[0]: unknown key 'acmee'"},
	{"missing name", "seed: 1\nduration: 10d\nissuers: [{name: le}]\n"
	    "certificates: [{group: w, count: 1, issuer: le, lifetime: 90d}]\n",
	    "missing required key 'name'"},
	{"missing certificates", "name: t\nseed: 1\nduration: 10d\nissuers: [{name: le}]\n",
	    "missing required key 'certificates'"},
	{"missing lifetime", "name: t\nseed: 1\nduration: 10d\nissuers: [{name: le}]\n"
	    "certificates:\n  - group: w\n    count: 1\n    issuer: le\n",
	    "t.yaml:6:5: certificates[0]: missing required key 'lifetime'"},
	{"seed is a string", "name: t\nseed: lots\nduration: 10d\nissuers: [{name: le}]\n"
	    "certificates: [{group: w, count: 1, issuer: le, lifetime: 90d}]\n",
	    "t.yaml:2:7: seed: expected a non-negative integer, got 'lots'"},
	{"quoted number", "name: t\nseed: \"1\"\nduration: 10d\nissuers: [{name: le}]\n"
	    "certificates: [{group: w, count: 1, issuer: le, lifetime: 90d}]\n",
	    "seed: expected a non-negative integer"},
	{"negative duration", "name: t\nseed: 1\nduration: -10d\nissuers: [{name: le}]\n"
	    "certificates: [{group: w, count: 1, issuer: le, lifetime: 90d}]\n",
	    "t.yaml:3:11: duration: negative duration '-10d'"},
	{"negative outage duration", BASE "faults:\n  - type: outage\n    issuer: le\n    start: 1d\n"
	    "    duration: -2h\n", "t.yaml:15:15: faults[0].duration: negative duration '-2h'"},
	{"bad duration unit", BASE "faults:\n  - {type: outage, issuer: le, start: 1y, duration: 2h}\n",
	    "faults[0].start: expected a duration"},
	{"bool as string", "name: t\nseed: 1\nduration: 10d\nissuers:\n  - name: le\n    acme: yes\n"
	    "certificates: [{group: w, count: 1, issuer: le, lifetime: 90d}]\n",
	    "t.yaml:6:11: issuers[0].acme: expected true or false, got 'yes'"},
	{"list where mapping", "name: t\nseed: 1\nduration: 10d\nissuers:\n  - [le]\n"
	    "certificates: [{group: w, count: 1, issuer: le, lifetime: 90d}]\n",
	    "t.yaml:5:5: issuers[0]: expected a mapping, got a list"},
	{"mapping where scalar", "name: {a: 1}\nseed: 1\n", "t.yaml:1:7: name: expected a scalar, got a mapping"},
	{"unknown issuer reference", "name: t\nseed: 1\nduration: 10d\nissuers: [{name: le}]\n"
	    "certificates:\n  - {group: w, count: 1, issuer: zerossl, lifetime: 90d}\n",
	    "certificates[0].issuer: no issuer named 'zerossl'"},
	{"unknown fault type", BASE "faults:\n  - type: meteor\n", "t.yaml:12:11: faults[0].type: unknown fault type 'meteor'"},
	{"fault key of another type", BASE "faults:\n  - {type: dns, issuer: le}\n",
	    "faults[0]: unknown key 'issuer'"},
	{"misconfig needs a scope", BASE "faults:\n  - {type: misconfig, start: 1d}\n",
	    "misconfig needs exactly one of 'issuer' or 'group'"},
	{"stuck needs a scope", BASE "faults:\n  - {type: stuck, start: 1d, duration: 2d}\n",
	    "stuck needs exactly one of 'issuer' or 'zone'"},
	{"stuck with both scopes", BASE "faults:\n  - {type: stuck, issuer: le, zone: a.example, "
	    "duration: 2d}\n", "stuck needs exactly one of 'issuer' or 'zone'"},
	{"stuck needs a duration", BASE "faults:\n  - {type: stuck, issuer: le, start: 1d}\n",
	    "faults[0]: missing required key 'duration'"},
	{"stuck on a non-ACME issuer", BASE "faults:\n  - {type: stuck, issuer: le, duration: 2d}\n",
	    "issuer 'le' is not ACME"},
	{"stuck key of another type", BASE "faults:\n  - {type: stuck, issuer: le, duration: 2d, "
	    "probability: 0.5}\n", "faults[0]: unknown key 'probability'"},
	{"fixed before start", BASE "faults:\n  - {type: misconfig, issuer: le, start: 5d, fixed_at: 2d}\n",
	    "fixed_at must be after start"},
	{"renewBefore too long", "name: t\nseed: 1\nduration: 10d\nissuers: [{name: le}]\n"
	    "certificates:\n  - {group: w, count: 1, issuer: le, lifetime: 6d, renew_before: 7d}\n",
	    "renew_before must be less than lifetime"},
	{"renewBefore too short", "name: t\nseed: 1\nduration: 10d\nissuers: [{name: le}]\n"
	    "certificates:\n  - {group: w, count: 1, issuer: le, lifetime: 6d, renew_before: 1m}\n",
	    "below the minimum of 300s"},
	{"both renewBefore and percentage", "name: t\nseed: 1\nduration: 10d\nissuers: [{name: le}]\n"
	    "certificates:\n  - {group: w, count: 1, issuer: le, lifetime: 6d, renew_before: 1d,"
	    " renew_before_percentage: 30}\n", "may not both be set"},
	{"count zero", "name: t\nseed: 1\nduration: 10d\nissuers: [{name: le}]\n"
	    "certificates:\n  - {group: w, count: 0, issuer: le, lifetime: 90d}\n",
	    "certificates[0].count: 0 is out of range"},
	{"probability above one", BASE "faults:\n  - {type: dns, probability: 1.5}\n",
	    "faults[0].probability: 1.5 is out of range [0, 1]"},
	{"duplicate key", "name: t\nname: u\n", "t.yaml:2:1: (top level): duplicate key 'name'"},
	{"duplicate issuer", "name: t\nseed: 1\nduration: 10d\nissuers: [{name: le}, {name: le}]\n"
	    "certificates: [{group: w, count: 1, issuer: le, lifetime: 90d}]\n",
	    "duplicate issuer name 'le'"},
	{"unknown policy", BASE "policies: [cert-manager, yolo]\n", "t.yaml:11:26: policies[1]: unknown policy 'yolo'"},
	{"rate limits on a non-ACME issuer", "name: t\nseed: 1\nduration: 10d\nissuers:\n  - name: ca\n"
	    "    rate_limits: {new_per_domain: 5}\n"
	    "certificates: [{group: w, count: 1, issuer: ca, lifetime: 90d}]\n",
	    "rate limits apply to ACME issuers only"},
	{"bad expectation", BASE "expect:\n  - \"certcast.expired_hours =< 0\"\n",
	    "t.yaml:12:5: expect[0]: expected a comparison"},
	{"not YAML", "name: [unclosed\n", "t.yaml:2:1: not valid YAML"},
	{"empty document", "", "the document is empty"},
	{"bad start time", BASE "start: yesterday\n", "start: expected an RFC 3339 UTC time"},
	{"names-change needs a group", BASE "faults:\n  - {type: names-change, at: 3d}\n",
	    "faults[0]: missing required key 'group'"},
	{"names-change of an unknown group",
	    BASE "faults:\n  - {type: names-change, group: shop, at: 3d}\n",
	    "faults[0].group: no certificate group named 'shop'"},
	{"names-change needs at", BASE "faults:\n  - {type: names-change, group: web}\n",
	    "faults[0]: missing required key 'at'"},
	{"names-change takes no issuer", BASE "faults:\n  - {type: names-change, group: web, at: 3d, "
	    "issuer: le}\n", "faults[0]: unknown key 'issuer'"},
	{"names-change at a negative time",
	    BASE "faults:\n  - {type: names-change, group: web, at: -1d}\n",
	    "faults[0].at: negative duration '-1d'"},
	{"external-issuance needs a domain", BASE_ACME "faults:\n  - {type: external-issuance, "
	    "issuer: le, per_day: 5}\n", "faults[0]: missing required key 'domain'"},
	{"external-issuance needs per_day", BASE_ACME "faults:\n  - {type: external-issuance, "
	    "issuer: le, domain: web.example}\n", "faults[0]: missing required key 'per_day'"},
	{"external-issuance needs an issuer", BASE_ACME "faults:\n  - {type: external-issuance, "
	    "domain: web.example, per_day: 5}\n", "faults[0]: missing required key 'issuer'"},
	{"external-issuance of an unknown domain", BASE_ACME "faults:\n  - {type: external-issuance, "
	    "issuer: le, domain: other.example, per_day: 5}\n",
	    "t.yaml:12:51: faults[0].domain: no certificate group has the registered domain 'other.example'"},
	{"external-issuance zero per day", BASE_ACME "faults:\n  - {type: external-issuance, "
	    "issuer: le, domain: web.example, per_day: 0}\n", "per_day must be above 0"},
	{"external-issuance negative per day", BASE_ACME "faults:\n  - {type: external-issuance, "
	    "issuer: le, domain: web.example, per_day: -3}\n",
	    "faults[0].per_day: -3 is out of range"},
	{"external-issuance per day not a number", BASE_ACME "faults:\n  - {type: external-issuance, "
	    "issuer: le, domain: web.example, per_day: lots}\n", "faults[0].per_day:"},
	{"external-issuance negative duration", BASE_ACME "faults:\n  - {type: external-issuance, "
	    "issuer: le, domain: web.example, per_day: 5, duration: -1d}\n",
	    "faults[0].duration: negative duration '-1d'"},
	{"external-issuance unknown key", BASE_ACME "faults:\n  - {type: external-issuance, "
	    "issuer: le, domain: web.example, per_day: 5, probability: 0.5}\n",
	    "faults[0]: unknown key 'probability'"},
	{"external-issuance on a non-ACME issuer", BASE "faults:\n  - {type: external-issuance, "
	    "issuer: le, domain: web.example, per_day: 5}\n", "issuer 'le' is not ACME"},
	{"external-issuance past a spread group's domains", BASE_ACME "  - {group: api, count: 4, "
	    "issuer: le, lifetime: 90d, domains: 4}\nfaults:\n  - {type: external-issuance, "
	    "issuer: le, domain: 4.api.example, per_day: 5}\n",
	    "no certificate group has the registered domain '4.api.example'"},
	{"ari window reversed", "name: t\nseed: 1\nduration: 10d\nissuers:\n  - {name: le, ari: true, "
	    "ari_window: [0.7, 0.6]}\ncertificates: [{group: w, count: 1, issuer: le, lifetime: 90d}]\n",
	    "the window must start before it ends"},
};

Test(sim_scenario, external_issuance_fault)
{
	const char *text = BASE_ACME "  - {group: api, count: 4, issuer: le, lifetime: 90d, "
	    "domains: 4}\nfaults:\n"
	    "  - {type: external-issuance, issuer: le, domain: web.example, start: 2d, duration: 3d, "
	    "per_day: 7.5}\n"
	    "  - {type: external-issuance, issuer: le, domain: 2.api.example, per_day: 40}\n";
	struct scn_scenario *s = load_ok(text);
	cr_assert_eq(s->s_nfaults, 2);
	const struct scn_fault *f = &s->s_faults[0];
	cr_expect_eq(f->f_kind, SCN_F_EXTERNAL);
	cr_expect_eq(f->f_issuer, 0);
	cr_expect_eq(f->f_group, 0);
	cr_expect_eq(f->f_dom, 0u);
	cr_expect_str_eq(f->f_zone, "web.example");
	cr_expect_eq(f->f_start, 2 * 86400);
	cr_expect_eq(f->f_end, 5 * 86400);
	cr_expect_float_eq(f->f_per_day, 7.5, 1e-12);
	f = &s->s_faults[1];
	cr_expect_eq(f->f_group, 1, "a spread group's domain");
	cr_expect_eq(f->f_dom, 2u);
	cr_expect_eq(f->f_start, 0);
	cr_expect_eq(f->f_end, SCN_NEVER, "no duration: until the end");
	scn_free(s);
}

Test(sim_scenario, names_change_fault)
{
	const char *text = BASE "faults:\n  - {type: names-change, group: web, at: 30d}\n";
	struct scn_scenario *s = NULL;
	struct scn_error err;
	cr_assert_eq(scn_load_string(text, strlen(text), "t.yaml", &s, &err), CC_OK, "%s", err.e_msg);
	cr_assert_eq(s->s_nfaults, 1);
	cr_expect_eq(s->s_faults[0].f_kind, SCN_F_NAMES_CHANGE);
	cr_expect_eq(s->s_faults[0].f_group, 0);
	cr_expect_eq(s->s_faults[0].f_issuer, -1);
	cr_expect_eq(s->s_faults[0].f_start, 30 * 86400);
	scn_free(s);
}

Test(sim_scenario, bad_files_name_key_and_position)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct scn_scenario *s = (struct scn_scenario *)1;
		struct scn_error err;
		int rc = scn_load_string(bc->text, strlen(bc->text), "t.yaml", &s, &err);
		cr_expect_neq(rc, CC_OK, "[%s] accepted a bad file", bc->name);
		cr_expect_null(s, "[%s] left a scenario behind", bc->name);
		cr_expect(strstr(err.e_msg, bc->want) != NULL, "[%s] message '%s' lacks '%s'", bc->name,
		    err.e_msg, bc->want);
	}
}

Test(sim_scenario, missing_file_is_io_error)
{
	struct scn_scenario *s = NULL;
	struct scn_error err;
	cr_expect_eq(scn_load_file("/nonexistent/x.yaml", &s, &err), CC_ERR_IO);
	cr_expect_null(s);
	cr_expect(strstr(err.e_msg, "/nonexistent/x.yaml") != NULL);
}

struct dur_case {
	const char *name;
	const char *text;
	int ok;
	int64_t want;
};

static const struct dur_case dur_cases[] = {
	{"seconds", "90s", 1, 90},
	{"minutes", "5m", 1, 300},
	{"hours", "2h", 1, 7200},
	{"days", "30d", 1, 2592000},
	{"compound", "1h30m", 1, 5400},
	{"fraction", "0.5h", 1, 1800},
	{"zero", "0", 1, 0},
	{"negative", "-1h", 0, 0},
	{"no unit", "15", 0, 0},
	{"unknown unit", "3w", 0, 0},
	{"empty", "", 0, 0},
	{"trailing junk", "1hx", 0, 0},
	{"plus sign", "+1h", 0, 0},
};

Test(sim_scenario, durations)
{
	for (size_t i = 0; i < sizeof(dur_cases) / sizeof(dur_cases[0]); i++) {
		const struct dur_case *dc = &dur_cases[i];
		int64_t v = -7;
		int rc = scn_parse_duration(dc->text, &v);
		cr_expect_eq(rc == CC_OK, dc->ok, "[%s] '%s' rc=%d", dc->name, dc->text, rc);
		if (dc->ok)
			cr_expect_eq(v, dc->want, "[%s] got %lld", dc->name, (long long)v);
		else
			cr_expect_eq(v, -7, "[%s] wrote a value on failure", dc->name);
	}
}

Test(sim_scenario, policy_names_round_trip)
{
	for (int p = 0; p < SCN_POL_COUNT; p++) {
		enum scn_policy q;
		cr_expect_eq(scn_policy_parse(scn_policy_name((enum scn_policy)p), &q), CC_OK);
		cr_expect_eq((int)q, p);
	}
	enum scn_policy q;
	cr_expect_eq(scn_policy_parse("Cert-Manager", &q), CC_ERR_INVAL, "names are case-sensitive");
	cr_expect_eq(scn_policy_parse(NULL, &q), CC_ERR_INVAL);
}
