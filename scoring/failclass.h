/*
 * failclass: which kind of failure a condition reason, Event or ACME error message describes,
 * and how such a failure persists over time.
 *
 * The rules are a const table built from the reason strings cert-manager emits (Certificate,
 * CertificateRequest, Issuer conditions; issuing, requestmanager, ACME order and challenge
 * controllers' Events) and the ACME error types of RFC 8555 section 6.7
 * (urn:ietf:params:acme:error:*). Matching is on the reason (exact) and on message substrings
 * (case-insensitive), most specific first. The persistence table in failclass.c gives the numbers and where
 * they come from. Reentrant; no allocation.
 */
#ifndef FAILCLASS_H
#define FAILCLASS_H

#include <stdint.h>

#include "scoring.h"

/* How a fault of a class clears by itself. */
enum fcl_heal {
	FCL_HEAL_NEVER = 0,   /* stays until someone changes something */
	FCL_HEAL_EXP = 1,     /* clears at a constant hazard: mean fp_mean */
	FCL_HEAL_WINDOW = 2,  /* clears when a rate-limit window refills: uniform over fp_mean */
	FCL_HEAL_AT = 3,      /* clears at a known time (a "retry after" in the message) */
	FCL_HEAL_LOMAX = 4,   /* heavy tail: the longer it has lasted, the longer it will last */
};

/* The persistence model of a class. */
struct fcl_persist {
	enum fcl_heal fp_heal;  /* how it heals */
	int64_t fp_mean;        /* EXP: mean time to clear; WINDOW: window length; seconds */
	double fp_fail;         /* P(an attempt fails while the fault is present) */
	double fp_shape;        /* LOMAX: shape alpha (> 1); scale = fp_mean * (alpha - 1) */
};

/* The outcome of classifying one piece of text. */
struct fcl_result {
	enum sc_class cl_class;  /* SC_CLASS_UNKNOWN when nothing matched a failure text */
	double cl_confidence;    /* 0..1: how sure the rule is */
	int64_t cl_window;       /* rate limits: the window the text names, seconds, 0 unknown */
	int64_t cl_retry_after;  /* absolute "retry after" time parsed from the text, 0 none */
	const char *cl_rule;     /* static name of the matching rule, "" when none matched */
};

/*
 * Classifies a failure given its reason (exact cert-manager reason, may be NULL) and message
 * (free text, may be NULL). Never fails: unrecognised text gives SC_CLASS_UNKNOWN with low
 * confidence, and a success reason ("Issued", "Ready", "Ready"-like) gives SC_CLASS_OK.
 */
void fcl_classify(const char *reason, const char *message, struct fcl_result *out);

/* The persistence model of class c (for SC_CLASS_OK: never present, fp_fail 0). */
void fcl_persistence(enum sc_class c, struct fcl_persist *out);

/*
 * P(a fault of class c seen at time t0 is still present at time t >= t0). window and
 * retry_after refine rate limits (0: unknown, use the class default). 1 when t <= t0.
 */
double fcl_survival(enum sc_class c, int64_t window, int64_t retry_after, int64_t t0, int64_t t);

/*
 * Like fcl_survival, for a fault first seen at `since` and last seen present at `seen`: the
 * heavy-tailed classes (LOMAX) condition on the age seen - since, so an outage that has lasted
 * a day is expected to last longer than one that began a minute ago. since 0 or after seen
 * means "new". P(present at t | present at seen), 1 when t <= seen.
 */
double fcl_survival_aged(enum sc_class c, int64_t window, int64_t retry_after, int64_t since,
			 int64_t seen, int64_t t);

/*
 * Parses the "retry after 2024-05-01 12:00:00 UTC" tail of an ACME rate-limit message (Let's
 * Encrypt's form, also "retry after 2024-05-01T12:00:00Z"). Returns the Unix time, or 0 for
 * none, for a date that does not exist and for one before 1970.
 */
int64_t fcl_retry_after(const char *message);

#endif
