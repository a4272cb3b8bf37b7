/* Fault plan: window edges, precedence of fault kinds, DNS zones, deterministic draws, random
 * outages. */
#include "cc_err.h"
#include "sim_fault.h"
#include "sim_scenario.h"

#include <criterion/criterion.h>
#include <string.h>

#define H 3600LL
#define D 86400LL

static struct scn_scenario *
load(const char *yaml)
{
	struct scn_scenario *s = NULL;
	struct scn_error err;
	cr_assert_eq(scn_load_string(yaml, strlen(yaml), "f.yaml", &s, &err), CC_OK, "%s", err.e_msg);
	return s;
}

static const char *plan_yaml =
    "name: f\nseed: 5\nduration: 100d\n"
    "issuers:\n  - {name: le, acme: true}\n  - {name: ca}\n"
    "certificates:\n"
    "  - {group: a, count: 2, issuer: le, lifetime: 90d, domain: a.example}\n"
    "  - {group: b, count: 2, issuer: le, lifetime: 90d, domain: b.example}\n"
    "  - {group: c, count: 2, issuer: ca, lifetime: 90d, domain: a.example}\n"
    "faults:\n"
    "  - {type: outage, issuer: le, start: 10d, duration: 1d}\n"
    "  - {type: misconfig, group: b, start: 10d, fixed_at: 12d}\n"
    "  - {type: dns, zone: a.example, start: 20d, duration: 1d}\n"
    "  - {type: misconfig, issuer: ca, start: 30d}\n";

struct at_case {
	const char *name;
	int group;
	int issuer;
	int64_t t;      /* offset from the start */
	int limited;    /* rate-limit verdict passed in */
	enum sf_outcome want;
};

static const struct at_case at_cases[] = {
	{"healthy", 0, 0, 5 * D, 0, SF_OK},
	{"outage start is inclusive", 0, 0, 10 * D, 0, SF_CA_DOWN},
	{"outage end is exclusive", 0, 0, 11 * D, 0, SF_OK},
	{"just before the end", 0, 0, 11 * D - 1, 0, SF_CA_DOWN},
	{"configuration beats the outage", 1, 0, 10 * D + H, 0, SF_CONFIG},
	{"misconfig fixed", 1, 0, 12 * D, 0, SF_OK},
	{"rate limit when healthy", 0, 0, 5 * D, 1, SF_RATE_LIMIT},
	{"outage beats the rate limit", 0, 0, 10 * D, 1, SF_CA_DOWN},
	{"dns in its zone", 0, 0, 20 * D + H, 0, SF_DNS},
	{"dns not in another zone", 1, 0, 20 * D + H, 0, SF_OK},
	{"rate limit beats dns", 0, 0, 20 * D + H, 1, SF_RATE_LIMIT},
	{"dns only for ACME issuers", 2, 1, 20 * D + H, 0, SF_OK},
	{"outage of another issuer", 2, 1, 10 * D, 0, SF_OK},
	{"misconfig never fixed", 2, 1, 99 * D, 0, SF_CONFIG},
	{"not before it starts", 2, 1, 30 * D - 1, 0, SF_OK},
};

Test(sim_fault, attempt_outcomes)
{
	struct scn_scenario *s = load(plan_yaml);
	struct sf_plan *p = NULL;
	cr_assert_eq(sf_plan_new(s, &p), CC_OK);
	for (size_t i = 0; i < sizeof(at_cases) / sizeof(at_cases[0]); i++) {
		const struct at_case *ac = &at_cases[i];
		enum sf_outcome o = sf_attempt(p, 0, ac->group, ac->issuer, 0, s->s_start + ac->t,
		    ac->limited, NULL);
		cr_expect_eq(o, ac->want, "[%s] got %s want %s", ac->name, sf_outcome_name(o),
		    sf_outcome_name(ac->want));
	}
	cr_expect(sf_issuer_down(p, 0, s->s_start + 10 * D));
	cr_expect(!sf_issuer_down(p, 0, s->s_start + 11 * D));
	cr_expect(sf_issuer_down(p, 1, s->s_start + 31 * D), "misconfigured issuer counts as down");
	sf_plan_free(p);
	sf_plan_free(NULL);
	scn_free(s);
}

Test(sim_fault, transient_and_dns_draws_depend_only_on_seed_cert_attempt)
{
	const char *yaml = "name: d\nseed: 8\nduration: 100d\n"
			   "issuers:\n  - {name: le, acme: true, failure_probability: 0.25}\n"
			   "certificates:\n  - {group: a, count: 1, issuer: le, lifetime: 90d}\n"
			   "faults:\n  - {type: dns, probability: 0.2}\n";
	struct scn_scenario *s = load(yaml);
	struct sf_plan *p = NULL, *q = NULL;
	sf_plan_new(s, &p);
	sf_plan_new(s, &q);
	int fails = 0, dns = 0, differ_by_time = 0;
	for (uint64_t k = 0; k < 4000; k++) {
		enum sf_outcome a = sf_attempt(p, (uint32_t)(k % 7), 0, 0, k, s->s_start + D, 0, NULL);
		enum sf_outcome b = sf_attempt(q, (uint32_t)(k % 7), 0, 0, k, s->s_start + 50 * D, 0, NULL);
		differ_by_time += a != b;
		fails += a != SF_OK;
		dns += a == SF_DNS;
	}
	cr_expect_eq(differ_by_time, 0, "same attempt, same luck, whatever the time or plan copy");
	/* P(fail) = 1 - 0.8 * 0.75 = 0.4; P(dns) = 0.2. */
	cr_expect(fails > 1450 && fails < 1750, "failures %d of 4000", fails);
	cr_expect(dns > 650 && dns < 950, "dns failures %d of 4000", dns);
	sf_plan_free(p);
	sf_plan_free(q);
	scn_free(s);
}

Test(sim_fault, random_outages_are_reproducible_and_bounded)
{
	const char *yaml = "name: r\nseed: 13\nduration: 365d\n"
			   "issuers:\n  - {name: le}\n"
			   "certificates:\n  - {group: a, count: 1, issuer: le, lifetime: 90d}\n"
			   "faults:\n  - {type: random-outages, issuer: le, mean_interval: 10d,"
			   " mean_duration: 6h, start: 30d, end: 300d}\n";
	struct scn_scenario *s = load(yaml);
	struct sf_plan *p = NULL, *q = NULL;
	sf_plan_new(s, &p);
	sf_plan_new(s, &q);
	size_t n = 0, m = 0;
	const struct sf_window *w = sf_outages(p, 0, &n), *w2 = sf_outages(q, 0, &m);
	cr_assert_eq(n, m);
	cr_expect(n >= 10 && n <= 50, "about 27 outages expected in 270 days, got %zu", n);
	double total = 0;
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(w[i].w_start, w2[i].w_start);
		cr_expect_eq(w[i].w_end, w2[i].w_end);
		cr_expect_geq(w[i].w_start, s->s_start + 30 * D);
		cr_expect_lt(w[i].w_start, s->s_start + 300 * D);
		cr_expect_gt(w[i].w_end, w[i].w_start);
		if (i)
			cr_expect_gt(w[i].w_start, w[i - 1].w_end, "windows are merged and sorted");
		total += (double)(w[i].w_end - w[i].w_start);
	}
	cr_expect(total / (double)n > 2 * H && total / (double)n < 14 * H, "mean length %f h",
	    total / (double)n / H);
	sf_plan_free(p);
	sf_plan_free(q);
	scn_free(s);
}

Test(sim_fault, outcome_names_and_messages)
{
	for (int o = 0; o < SF_NOUTCOMES; o++) {
		cr_expect_neq(strcmp(sf_outcome_name((enum sf_outcome)o), "unknown"), 0);
		cr_expect_not_null(sf_outcome_message((enum sf_outcome)o, 1));
		cr_expect_not_null(sf_outcome_message((enum sf_outcome)o, 0));
	}
	cr_expect(strstr(sf_outcome_message(SF_RATE_LIMIT, 1), "rateLimited") != NULL);
	cr_expect(strstr(sf_outcome_message(SF_DNS, 1), "error:dns") != NULL);
	cr_expect_str_eq(sf_outcome_reason(SF_OK), "Issued");
	cr_expect_str_eq(sf_outcome_reason(SF_CONFIG), "Failed");
}

/* Stuck challenges: an issuer's (HTTP-01) or a zone's (DNS-01), windows, precedence. */
Test(sim_fault, stuck_challenges)
{
	static const char *yaml =
	    "name: f\nseed: 5\nduration: 100d\n"
	    "issuers:\n  - {name: le, acme: true}\n  - {name: zs, acme: true}\n  - {name: ca}\n"
	    "certificates:\n"
	    "  - {group: a, count: 2, issuer: le, lifetime: 90d, domain: a.example}\n"
	    "  - {group: b, count: 2, issuer: le, lifetime: 90d, domain: b.example}\n"
	    "  - {group: c, count: 2, issuer: ca, lifetime: 90d, domain: b.example}\n"
	    "faults:\n"
	    "  - {type: stuck, issuer: le, start: 10d, duration: 5d}\n"
	    "  - {type: stuck, zone: b.example, start: 30d, duration: 2d}\n"
	    "  - {type: outage, issuer: le, start: 12d, duration: 1d}\n";
	static const struct {
		const char *name;
		int group, issuer;
		int64_t t;
		int limited;
		enum sf_outcome want;
		int zone;
	} cases[] = {
	    {"before the issuer's window", 0, 0, 10 * D - 1, 0, SF_OK, 0},
	    {"in the issuer's window", 0, 0, 10 * D, 0, SF_STUCK, 0},
	    {"after it (end exclusive)", 0, 0, 15 * D, 0, SF_OK, 0},
	    {"another ACME issuer escapes it", 0, 1, 11 * D, 0, SF_OK, 0},
	    {"the outage comes first (no order)", 0, 0, 12 * D + H, 0, SF_CA_DOWN, 0},
	    {"the rate limit comes first (no order)", 0, 0, 11 * D, 1, SF_RATE_LIMIT, 0},
	    {"a zone's: any ACME issuer", 1, 1, 31 * D, 0, SF_STUCK, 1},
	    {"a zone's: not another zone", 0, 1, 31 * D, 0, SF_OK, 0},
	    {"a zone's: not without ACME", 2, 2, 31 * D, 0, SF_OK, 0},
	};
	struct scn_scenario *s = load(yaml);
	struct sf_plan *p = NULL;
	cr_assert_eq(sf_plan_new(s, &p), CC_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int zone = -1;
		enum sf_outcome o = sf_attempt(p, 0, cases[i].group, cases[i].issuer, 0,
		    s->s_start + cases[i].t, cases[i].limited, &zone);
		cr_expect_eq(o, cases[i].want, "[%s] got %s", cases[i].name, sf_outcome_name(o));
		if (o == SF_STUCK)
			cr_expect_eq(zone, cases[i].zone, "[%s]", cases[i].name);
	}
	cr_expect_eq(sf_stuck_until(p, 0, 0, s->s_start + 11 * D), s->s_start + 15 * D);
	cr_expect_eq(sf_stuck_until(p, 1, 1, s->s_start + 31 * D), s->s_start + 32 * D);
	cr_expect_eq(sf_stuck_until(p, 0, 0, s->s_start + 20 * D), 0, "no window there");
	cr_expect_eq(sf_hang(), 7 * D);
	cr_expect_not_null(strstr(sf_stuck_reason(1), "DNS-01"));
	cr_expect_not_null(strstr(sf_stuck_reason(0), "404"));
	cr_expect_str_eq(sf_outcome_name(SF_STUCK), "stuck");
	sf_plan_free(p);
	scn_free(s);
}

/*
 * A names-change alters certificates, not the outcome of an attempt: the engine applies it
 * (a new set for the CA's budgets). The plan leaves every attempt as it was.
 */
Test(sim_fault, names_change_leaves_outcomes_alone)
{
	const char *yaml = "name: n\nseed: 9\nduration: 60d\n"
			   "issuers:\n  - {name: le, acme: true}\n"
			   "certificates:\n  - {group: a, count: 1, issuer: le, lifetime: 90d}\n"
			   "faults:\n  - {type: names-change, group: a, at: 30d}\n";
	struct scn_scenario *s = load(yaml);
	struct sf_plan *p = NULL;
	cr_assert_eq(sf_plan_new(s, &p), CC_OK);
	const int64_t at[] = {0, 30 * D - 1, 30 * D, 30 * D + H, 59 * D};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		cr_expect_eq(sf_attempt(p, 0, 0, 0, 0, s->s_start + at[i], 0, NULL), SF_OK,
		    "attempt at %lld failed", (long long)at[i]);
		cr_expect_eq(sf_attempt(p, 0, 0, 0, 0, s->s_start + at[i], 1, NULL), SF_RATE_LIMIT,
		    "the CA's verdict is passed in, not made here");
		cr_expect(!sf_issuer_down(p, 0, s->s_start + at[i]));
	}
	sf_plan_free(p);
	scn_free(s);
}
