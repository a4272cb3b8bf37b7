/*
 * stuck: an issuance attempt that started and does not finish.
 *
 * What cert-manager does (checked against its source and issue tracker): an ACME challenge
 * whose self-check fails (HTTP-01 answering 404, a DNS-01 record that never appears) is retried
 * by the challenge controller with no deadline of its own (the maintainers call the behaviour
 * "WaitForever", cert-manager PR #2772); the order controller does nothing while challenges are
 * neither failed nor final (acmeorders/sync.go), so the CertificateRequest stays pending and the
 * Certificate keeps Issuing=True. The attempt ends only when the CA gives up on the order: Let's
 * Encrypt's Boulder keeps a pending authorization and an order for 168h (its RA configuration:
 * pendingAuthzLifetime and orderLifetime), after which the order is invalid, the request fails
 * (cert-manager issue #5434 shows such a failure after weeks of 404s) and the trigger
 * controller's backoff starts. Replacing the attempt takes a change of the request's spec:
 * cert-manager deletes a request that no longer matches the Certificate (pki.RequestMatchesSpec
 * compares the issuerRef too), so a failover replaces it; setting Issuing=True again does not.
 *
 * The evidence is the age of the newest CertificateRequest while it is still pending, against
 * how long the issuer's successful requests usually take (their median, created to done): far
 * beyond it a pending request is likelier stuck than slow.
 *
 * Pure: no I/O, no clock, no allocation (a fixed stack buffer for the median).
 */
#ifndef STUCK_H
#define STUCK_H

#include <stddef.h>
#include <stdint.h>

#include "failclass.h"
#include "scoring.h"

#define SK_ORDER_LIFETIME (7LL * 86400) /* Let's Encrypt: pending authz and order, 168h */
#define SK_DEFAULT_LATENCY 300LL         /* usual latency when the history is too short */
#define SK_MIN_SAMPLES 3                 /* finished requests needed for a median */
#define SK_MAX_SAMPLES 128               /* requests the median looks at */
#define SK_LATENCY_MULT 10               /* "a wide margin": ten times the usual latency ... */
#define SK_MIN_GRACE (2LL * 3600)        /* ... and never less than two hours */

/* Where the usual latency came from. */
enum sk_latency_src {
	SK_LAT_DEFAULT = 0, /* too little history: SK_DEFAULT_LATENCY */
	SK_LAT_ESTIMATE = 1, /* the issuer estimate's ie_latency */
	SK_LAT_HISTORY = 2, /* the median of the issuer's (and certificate's) issued requests */
};

/* The verdict on the certificate's running attempt. */
struct sk_verdict {
	int sk_pending;          /* the newest request is pending and is the running attempt */
	int64_t sk_created;      /* its creationTimestamp */
	int64_t sk_age;          /* now - created */
	int64_t sk_latency;      /* the issuer's usual latency, seconds */
	enum sk_latency_src sk_latency_src;
	int64_t sk_grace;        /* age beyond which a pending request counts as evidence */
	double sk_p;             /* P(the attempt is stuck), 0 when young or not pending */
	int64_t sk_end;          /* when the CA's order expires and the attempt fails */
	int64_t sk_since;        /* when the cause began: the start of the earliest request of
				    the issuer or certificate that hung past the grace and failed
				    since their latest success, else this request's start */
	struct fcl_result sk_cls; /* why, from the request's and Events' messages (UNKNOWN, rule ""
				     when none says) */
};

/*
 * Median created-to-done time of the issued requests in a and b (either may be NULL), as of
 * now; 0 when fewer than SK_MIN_SAMPLES. *n (may be NULL) gets the number of samples used.
 */
int64_t sk_latency(const struct sc_request *a, size_t na, const struct sc_request *b, size_t nb,
		   int64_t now, size_t *n);

/* P(stuck) of a pending attempt of the given age: 0 up to grace, then 1 - exp(-(age-grace)/grace). */
double sk_probability(int64_t age, int64_t grace);

/*
 * Looks at in's newest CertificateRequest. latency_hint > 0 is the issuer estimate's figure;
 * otherwise the median of the issuer's history and the certificate's own requests, else the
 * default. The attempt counts only while the Certificate says Issuing=True and that condition
 * did not turn True after the request was created (a manual bypass or a new issuance round
 * replaces it). P(stuck) is 0 up to the grace, then 1 - exp(-(age - grace) / grace). Never fails.
 */
void sk_assess(const struct sc_input *in, int64_t latency_hint, struct sk_verdict *out);

#endif
