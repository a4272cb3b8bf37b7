/*
 * Tests of scoring/failclass: real cert-manager reasons and messages and ACME problem types
 * map to the right class (the strings below are what cert-manager, Let's Encrypt and cloud DNS
 * providers actually print), "retry after" times are read, and each class's survival curve
 * behaves as documented.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cron.h"
#include "failclass.h"
#include "scoring.h"

#define H 3600LL
#define D (24 * H)

struct cl_case {
	const char *name;
	const char *reason;
	const char *message;
	enum sc_class want;
	int64_t window; /* expected rate-limit window, -1: don't care */
};

/* Real messages cert-manager and ACME CAs emit, with the class each must get. */
static const struct cl_case real_cases[] = {
		{"LE registered-domain limit inside cert-manager's wrapping", "Failed",
		 "The certificate request has failed to complete and will be retried: Failed to wait "
		 "for order resource \"shop-1-2299060280\" to become ready: order is in \"errored\" "
		 "state: Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: Error "
		 "creating new order :: too many certificates already issued for \"cloudns.ph\". "
		 "Retry after 2023-05-29T02:00:00Z: see https://letsencrypt.org/docs/rate-limits/",
		 SC_CLASS_RATE_LIMIT, 7 * D},
		{"LE failed-validation limit", "Failed",
		 "429 urn:ietf:params:acme:error:rateLimited: Error creating new order :: too many "
		 "failed authorizations recently: see https://letsencrypt.org/docs/failed-validation-limit/",
		 SC_CLASS_RATE_LIMIT, 1 * H},
		{"LE duplicate-certificate limit", NULL,
		 "acme: urn:ietf:params:acme:error:rateLimited: Error finalizing order :: too many "
		 "certificates (5) already issued for this exact set of domains in the last 168 hours",
		 SC_CLASS_RATE_LIMIT, 7 * D},
		{"LE new-orders limit", NULL,
		 "429 urn:ietf:params:acme:error:rateLimited: Error creating new order :: too many new "
		 "orders recently: see https://letsencrypt.org/docs/rate-limits/",
		 SC_CLASS_RATE_LIMIT, 3 * H},
		{"DNS-01 secondary validation timeout", "Failed",
		 "Error accepting authorization: acme: authorization error for example.com: 400 "
		 "urn:ietf:params:acme:error:dns: During secondary validation: DNS problem: query timed "
		 "out looking up TXT for _acme-challenge.example.com",
		 SC_CLASS_DNS, -1},
		{"NXDOMAIN", NULL,
		 "DNS problem: NXDOMAIN looking up A for www.example.com - check that a DNS record "
		 "exists for this domain",
		 SC_CLASS_DNS, -1},
		{"SERVFAIL on CAA", NULL,
		 "DNS problem: SERVFAIL looking up CAA for example.com - the domain's nameservers may "
		 "be malfunctioning",
		 SC_CLASS_DNS, -1},
		{"DNS-01 propagation wait", "Pending",
		 "Waiting for DNS-01 challenge propagation: DNS record for \"example.com\" not yet "
		 "propagated",
		 SC_CLASS_DNS, -1},
		{"HTTP-01 self check cannot resolve", "Pending",
		 "Waiting for HTTP-01 challenge propagation: failed to perform self check GET request "
		 "'http://example.com/.well-known/acme-challenge/abc': Get "
		 "\"http://example.com/.well-known/acme-challenge/abc\": dial tcp: lookup example.com on "
		 "10.96.0.10:53: no such host",
		 SC_CLASS_DNS, -1},
		{"HTTP-01 self check 404", "Pending",
		 "Waiting for HTTP-01 challenge propagation: wrong status code '404', expected '200'",
		 SC_CLASS_CONFIG, -1},
		{"Route53 credentials refused", "PresentError",
		 "Error presenting challenge: error getting route53 credentials: AccessDenied: User is "
		 "not authorized to perform: route53:ChangeResourceRecordSets",
		 SC_CLASS_CONFIG, -1},
		{"DNS provider error without a cause", "PresentError",
		 "Error presenting challenge: unexpected response from provider", SC_CLASS_DNS, -1},
		{"CAA forbids the CA", "Failed",
		 "400 urn:ietf:params:acme:error:caa: CAA record for example.com prevents issuance",
		 SC_CLASS_CONFIG, -1},
		{"HTTP-01 answered 404 to the CA", "Failed",
		 "403 urn:ietf:params:acme:error:unauthorized: Invalid response from "
		 "http://example.com/.well-known/acme-challenge/x: 404",
		 SC_CLASS_CONFIG, -1},
		{"name the CA will not issue for", "Failed",
		 "400 urn:ietf:params:acme:error:rejectedIdentifier: Error creating new order :: Cannot "
		 "issue for \"localhost\": Domain name does not end with a valid public suffix (TLD)",
		 SC_CLASS_CONFIG, -1},
		{"bad nonce", "Failed",
		 "400 urn:ietf:params:acme:error:badNonce: JWS has an invalid anti-replay nonce",
		 SC_CLASS_TRANSIENT, -1},
		{"ACME server internal error", "Failed",
		 "500 urn:ietf:params:acme:error:serverInternal: Error retrieving account",
		 SC_CLASS_CA_UNAVAILABLE, -1},
		{"CA refuses connections", "Failed",
		 "Get \"https://acme-v02.api.letsencrypt.org/directory\": dial tcp 172.65.32.248:443: "
		 "connect: connection refused",
		 SC_CLASS_CA_UNAVAILABLE, -1},
		{"Vault sealed or down", "VaultError",
		 "Error making API request. URL: PUT https://vault:8200/v1/pki/sign/web Code: 503. "
		 "Errors: * Vault is sealed (503 Service Unavailable)",
		 SC_CLASS_CA_UNAVAILABLE, -1},
		{"approver denied the request", "Denied",
		 "The CertificateRequest was denied by an approval controller", SC_CLASS_CONFIG, -1},
		{"issuer missing", "IssuerNotFound",
		 "Referenced \"Issuer\" not found: issuer.cert-manager.io \"letsencrypt\" not found",
		 SC_CLASS_CONFIG, -1},
		{"CA issuer without its key pair", "ErrInitIssuer",
		 "Error initializing issuer: secrets \"ca-key-pair\" not found", SC_CLASS_CONFIG, -1},
		{"account registration cannot resolve the CA", "ErrRegisterACMEAccount",
		 "Failed to register ACME account: Get \"https://acme.example/directory\": dial tcp: "
		 "lookup acme.example on 10.96.0.10:53: no such host",
		 SC_CLASS_DNS, -1},
		{"account registration with no detail", "ErrRegisterACMEAccount",
		 "Failed to register ACME account", SC_CLASS_CONFIG, -1},
		{"optimistic-lock conflict", "Failed",
		 "Operation cannot be fulfilled on certificaterequests.cert-manager.io \"x\": the object "
		 "has been modified; please apply your changes to the latest version and try again",
		 SC_CLASS_TRANSIENT, -1},
		{"timeout to the CA", "Failed", "context deadline exceeded", SC_CLASS_TRANSIENT, -1},
		{"invalid order without detail", "Failed",
		 "The certificate request has failed to complete and will be retried: Failed to wait "
		 "for order resource \"web-1-2299060280\" to become ready: order is in \"invalid\" "
		 "state:",
		 SC_CLASS_CONFIG, -1},
		{"unknown words", "Failed", "the flux capacitor is out of sync", SC_CLASS_UNKNOWN, -1},
		{"nothing at all", NULL, NULL, SC_CLASS_UNKNOWN, -1},
		{"a secret mentioned, not missing", "Failed", "stored new private key in temporary "
		 "Secret resource", SC_CLASS_UNKNOWN, -1},
		{"issued is not a failure", "Issued", "Certificate fetched from issuer successfully",
		 SC_CLASS_OK, -1},
		{"Ready=False trigger reason is not a failure", "DoesNotExist",
		 "Issuing certificate as Secret does not exist", SC_CLASS_OK, -1},
		{"manual renewal is not a failure", "ManuallyTriggered",
		 "Certificate re-issuance manually triggered", SC_CLASS_OK, -1},
	};

Test(failclass, real_messages_table)
{
	for (size_t i = 0; i < sizeof(real_cases) / sizeof(real_cases[0]); i++) {
		const struct cl_case *c = &real_cases[i];
		struct fcl_result r;
		fcl_classify(c->reason, c->message, &r);
		cr_expect_eq(r.cl_class, c->want, "%s: got %s (rule %s), want %s", c->name,
			     sc_class_name(r.cl_class), r.cl_rule, sc_class_name(c->want));
		cr_expect(r.cl_confidence > 0.0 && r.cl_confidence <= 1.0, "%s", c->name);
		if (c->want != SC_CLASS_UNKNOWN)
			cr_expect_neq(r.cl_rule[0], '\0', "%s: no rule named", c->name);
		if (c->window >= 0)
			cr_expect_eq(r.cl_window, c->window, "%s: window %lld", c->name,
				     (long long)r.cl_window);
		if (c->want != SC_CLASS_RATE_LIMIT)
			cr_expect_eq(r.cl_window, 0, "%s: a window outside rate limits", c->name);
	}
}

Test(failclass, specific_beats_generic)
{
	struct fcl_result a, b;
	/* the ACME type decides even when the wrapper says "errored" */
	fcl_classify("Failed", "order is in \"errored\" state: 429 urn:ietf:params:acme:error:"
			       "rateLimited: slow down", &a);
	fcl_classify("Failed", "order is in \"errored\" state:", &b);
	cr_expect_eq(a.cl_class, SC_CLASS_RATE_LIMIT);
	cr_expect_neq(b.cl_class, SC_CLASS_RATE_LIMIT);
	cr_expect_gt(a.cl_confidence, b.cl_confidence);
	/* matching ignores case */
	fcl_classify(NULL, "DNS PROBLEM: nxdomain", &a);
	cr_expect_eq(a.cl_class, SC_CLASS_DNS);
}

Test(failclass, retry_after_table)
{
	const struct {
		const char *name;
		const char *msg;
		int64_t want;
	} cases[] = {
		{"RFC 3339 with Z", "too many certificates. Retry after 2023-05-29T02:00:00Z: see",
		 cron_timegm(2023, 5, 29, 2, 0, 0)},
		{"space and UTC", "retry after 2024-05-01 12:00:00 UTC", cron_timegm(2024, 5, 1, 12, 0, 0)},
		{"fractional seconds", "retry after 2024-05-01T12:00:00.123Z",
		 cron_timegm(2024, 5, 1, 12, 0, 0)},
		{"no retry after", "too many certificates", 0},
		{"no zone", "retry after 2024-05-01 12:00:00", 0},
		{"other zone", "retry after 2024-05-01 12:00:00 CET", 0},
		{"month 13", "retry after 2024-13-01 12:00:00 UTC", 0},
		{"hour 24", "retry after 2024-05-01 24:00:00 UTC", 0},
		{"February 30", "retry after 2024-02-30 12:00:00 UTC", 0},
		{"April 31", "retry after 2024-04-31 12:00:00 UTC", 0},
		{"February 29 of a leap year", "retry after 2024-02-29 12:00:00 UTC",
		 cron_timegm(2024, 2, 29, 12, 0, 0)},
		{"February 29 of 2023", "retry after 2023-02-29 12:00:00 UTC", 0},
		{"February 29 of 2100", "retry after 2100-02-29 12:00:00 UTC", 0},
		{"February 29 of 2000", "retry after 2000-02-29 12:00:00 UTC",
		 cron_timegm(2000, 2, 29, 12, 0, 0)},
		{"before 1970", "retry after 1969-12-31 23:59:59 UTC", 0},
		{"the epoch's first day", "retry after 1970-01-02 00:00:00 UTC", 86400},
		{"cut short", "retry after 2024-05", 0},
		{"letters", "retry after tomorrow", 0},
		{"NULL", NULL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(fcl_retry_after(cases[i].msg), cases[i].want, "%s", cases[i].name);
	struct fcl_result r;
	fcl_classify("Failed", "urn:ietf:params:acme:error:rateLimited: too many certificates "
			       "already issued. Retry after 2023-05-29T02:00:00Z", &r);
	cr_expect_eq(r.cl_retry_after, cron_timegm(2023, 5, 29, 2, 0, 0));
}

Test(failclass, survival_by_class)
{
	const int64_t t0 = 1767225600LL;
	/* configuration waits for an operator: a fresh one is likely fixed within two months, one
	 * that has already lasted three weeks likely outlasts the next week; "ok" is never present */
	cr_expect_lt(fcl_survival(SC_CLASS_CONFIG, 0, 0, t0, t0 + 60 * D), 0.05);
	cr_expect_gt(fcl_survival(SC_CLASS_CONFIG, 0, 0, t0, t0 + 53 * H), 0.5);
	cr_expect_gt(fcl_survival(SC_CLASS_CONFIG, 0, 0, t0, t0 + H), 0.9);
	cr_expect_gt(fcl_survival_aged(SC_CLASS_CONFIG, 0, 0, t0 - 23 * D, t0, t0 + 7 * D), 0.5);
	cr_expect_lt(fcl_survival_aged(SC_CLASS_CONFIG, 0, 0, t0 - D, t0, t0 + 21 * D), 0.5);
	cr_expect_gt(fcl_survival_aged(SC_CLASS_CONFIG, 0, 0, t0 - 10 * D, t0, t0 + 7 * D),
		     fcl_survival_aged(SC_CLASS_CONFIG, 0, 0, t0 - 9 * D, t0, t0 + 7 * D));
	cr_expect_lt(fcl_survival_aged(SC_CLASS_CONFIG, 0, 0, t0 - 9 * D, t0, t0 + 7 * D),
		     fcl_survival_aged(SC_CLASS_CONFIG, 0, 0, t0 - 10 * D, t0, t0 + 7 * D));
	cr_expect_eq(fcl_survival(SC_CLASS_OK, 0, 0, t0, t0 + 1), 0.0);
	/* at or before the sighting the fault is present */
	for (int c = 0; c < SC_CLASS_COUNT; c++) {
		cr_expect_eq(fcl_survival((enum sc_class)c, 0, 0, t0, t0), 1.0);
		cr_expect_eq(fcl_survival((enum sc_class)c, 0, 0, t0, t0 - H), 1.0);
	}
	/* transient clears fast, outages in hours, DNS slower, unknown slower still */
	cr_expect_lt(fcl_survival(SC_CLASS_TRANSIENT, 0, 0, t0, t0 + 2 * H), 0.05);
	cr_expect_lt(fcl_survival(SC_CLASS_CA_UNAVAILABLE, 0, 0, t0, t0 + 2 * H),
		     fcl_survival(SC_CLASS_DNS, 0, 0, t0, t0 + 2 * H));
	cr_expect_lt(fcl_survival(SC_CLASS_DNS, 0, 0, t0, t0 + 2 * H),
		     fcl_survival(SC_CLASS_UNKNOWN, 0, 0, t0, t0 + 2 * H));
	/* a rate limit with a known retry time: present before, gone after */
	cr_expect_eq(fcl_survival(SC_CLASS_RATE_LIMIT, 0, t0 + 5 * H, t0, t0 + 5 * H - 1), 1.0);
	cr_expect_eq(fcl_survival(SC_CLASS_RATE_LIMIT, 0, t0 + 5 * H, t0, t0 + 5 * H), 0.0);
	/* with a window: uniform refill over it */
	cr_expect_float_eq(fcl_survival(SC_CLASS_RATE_LIMIT, H, 0, t0, t0 + H / 2), 0.5, 1e-12);
	cr_expect_eq(fcl_survival(SC_CLASS_RATE_LIMIT, H, 0, t0, t0 + H), 0.0);
	cr_expect_float_eq(fcl_survival(SC_CLASS_RATE_LIMIT, 0, 0, t0, t0 + 7 * D / 2), 0.5, 1e-12);
	/* the heavy tail: the same hour ahead is likelier to stay bad for an old outage */
	cr_expect_gt(fcl_survival_aged(SC_CLASS_CA_UNAVAILABLE, 0, 0, t0 - 3 * D, t0, t0 + 6 * H),
		     fcl_survival_aged(SC_CLASS_CA_UNAVAILABLE, 0, 0, t0, t0, t0 + 6 * H));
	cr_expect_eq(fcl_survival_aged(SC_CLASS_CA_UNAVAILABLE, 0, 0, t0 + H, t0, t0 + 6 * H),
		     fcl_survival(SC_CLASS_CA_UNAVAILABLE, 0, 0, t0, t0 + 6 * H),
		     "a first sighting after the last one counts as new");
}

/*
 * Configuration faults wait for a person who notices them, at a nearly steady rate: what
 * decides whether one outlasts a certificate is mostly the time left, only a little its age.
 * Each case is checked on both sides of even odds.
 */
Test(failclass, config_survival_table)
{
	static const struct {
		const char *name;
		int64_t age, ahead; /* how long it has lasted; how far ahead; seconds */
		int likely;         /* expected to outlast `ahead` with P > 0.5 */
	} cases[] = {
		{"fresh, a short-lived certificate's 53h of slack", 0, 53 * H, 1},
		{"a day old, the next week", D, 7 * D, 1},
		{"a week old, the next week (a 47-day certificate's alert)", 7 * D, 7 * D, 1},
		{"eight days old, the next 7.7 days", 8 * D, 7 * D + 17 * H, 1},
		{"a month old, the next week", 30 * D, 7 * D, 1},
		{"fresh, the next three weeks", 0, 21 * D, 0},
		{"a week old, the next two weeks", 7 * D, 14 * D, 0},
		{"a month old, the next three weeks", 30 * D, 21 * D, 0},
	};
	const int64_t t0 = 1767225600LL;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double s = fcl_survival_aged(SC_CLASS_CONFIG, 0, 0, t0 - cases[i].age, t0,
					     t0 + cases[i].ahead);
		if (cases[i].likely) {
			cr_expect_gt(s, 0.5, "%s: %.3f", cases[i].name, s);
			cr_expect_lt(0.5, s, "%s: %.3f", cases[i].name, s);
		} else {
			cr_expect_lt(s, 0.5, "%s: %.3f", cases[i].name, s);
			cr_expect_gt(0.5, s, "%s: %.3f", cases[i].name, s);
		}
	}
	/* the age still counts, a little: an older fault is never likelier fixed */
	for (int64_t age = 0; age < 60 * D; age += D) {
		double young = fcl_survival_aged(SC_CLASS_CONFIG, 0, 0, t0 - age, t0, t0 + 7 * D);
		double old = fcl_survival_aged(SC_CLASS_CONFIG, 0, 0, t0 - age - D, t0, t0 + 7 * D);
		cr_expect_gt(old, young, "age %lld", (long long)(age / D));
		cr_expect_lt(young, old, "age %lld", (long long)(age / D));
		cr_expect_lt(old - young, 0.01, "the lift per day of age stays mild");
	}
}

Test(failclass, survival_never_rises)
{
	const int64_t t0 = 1767225600LL;
	for (int c = 0; c < SC_CLASS_COUNT; c++)
		for (int64_t age = 0; age <= 4 * D; age += D) {
			double prev = 1.0;
			for (int64_t dt = 0; dt <= 30 * D; dt += 3 * H) {
				double s = fcl_survival_aged((enum sc_class)c, 0, 0, t0 - age, t0, t0 + dt);
				cr_expect(s >= 0.0 && s <= 1.0);
				cr_expect_leq(s, prev + 1e-15, "%s age %lld dt %lld",
					      sc_class_name((enum sc_class)c), (long long)age,
					      (long long)dt);
				prev = s;
			}
		}
}

Test(failclass, persistence_models_are_sane)
{
	for (int c = 0; c < SC_CLASS_COUNT; c++) {
		struct fcl_persist m;
		fcl_persistence((enum sc_class)c, &m);
		cr_expect(m.fp_fail >= 0.0 && m.fp_fail <= 1.0);
		if (m.fp_heal == FCL_HEAL_LOMAX)
			cr_expect_gt(m.fp_shape, 1.0, "finite mean needs alpha > 1");
		if (m.fp_heal != FCL_HEAL_NEVER)
			cr_expect_gt(m.fp_mean, 0);
	}
	struct fcl_persist cfg, tr, bad;
	fcl_persistence(SC_CLASS_CONFIG, &cfg);
	fcl_persistence(SC_CLASS_TRANSIENT, &tr);
	fcl_persistence((enum sc_class)99, &bad);
	cr_expect_eq(cfg.fp_heal, FCL_HEAL_LOMAX, "configuration waits for a person: heavy tail");
	cr_expect_eq(cfg.fp_fail, 1.0);
	cr_expect_gt(cfg.fp_fail, tr.fp_fail);
	cr_expect_eq(bad.fp_heal, FCL_HEAL_LOMAX, "out of range reads as unknown");
	cr_expect_str_eq(sc_class_name(SC_CLASS_RATE_LIMIT), "rate-limit");
	cr_expect_str_eq(sc_class_name((enum sc_class)42), "unknown");
}

/*
 * A message is lowercased once for the rule search when it fits a 4 KiB buffer and searched in
 * place otherwise: both ways must classify every table message alike, in any letter case, also
 * behind padding that pushes it past the buffer.
 */
Test(failclass, long_messages_classify_as_short_ones)
{
	static char buf[3 * 4096];
	for (size_t i = 0; i < sizeof real_cases / sizeof real_cases[0]; i++) {
		const struct cl_case *c = &real_cases[i];
		if (c->message == NULL)
			continue;
		struct fcl_result s, l;
		fcl_classify(c->reason, c->message, &s);
		size_t pad = 4096 - 7 + i % 13; /* around the buffer's edge */
		memset(buf, 'x', pad);
		buf[pad] = ' ';
		size_t j = 0;
		for (; c->message[j] != '\0' && pad + 1 + j < sizeof buf - 1; j++) {
			char ch = c->message[j];
			/* upper-case every other letter: the search ignores case */
			buf[pad + 1 + j] = (j % 2 && ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
		}
		buf[pad + 1 + j] = '\0';
		fcl_classify(c->reason, buf, &l);
		cr_expect_eq(l.cl_class, s.cl_class, "%s: %s padded, %s plain", c->name,
		    sc_class_name(l.cl_class), sc_class_name(s.cl_class));
		cr_expect_str_eq(l.cl_rule, s.cl_rule, "%s", c->name);
	}
}
