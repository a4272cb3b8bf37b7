/*
 * anomaly: per-namespace baselines of normal issuance, and what does not fit them.
 *
 * For each namespace certcast learns, with exponentially decaying counts, which issuers,
 * requesters (CertificateRequest spec.username), DNS suffixes and key types are usual, the
 * usual requested durations (median/MAD of log-durations), the usual hours of issuance
 * (circular histogram) and the usual hourly request rate. Cluster-wide it learns the CA
 * (issuer DN) each issuerRef usually signs with, and remembers which certificate first used
 * each public key (SPKI SHA-256). An observation is scored against the baseline first and then
 * added to it, so a new normal stops being flagged after a while.
 *
 * Warm-up: baseline anomalies are only raised in a namespace that has at least c_warmup_obs
 * observations spread over at least c_warmup_age seconds. Certificate checks that need no
 * baseline (weak-key, wildcard, validity-mismatch, not-before-future, key-reuse) are always on.
 *
 * Rules, each after warm-up and only for fresh observations (see History):
 *   unexpected-issuer, unusual-requester (warning), unusual-dns-suffix, unusual-key (info):
 *     the value's decayed share in its namespace table is below c_rare_share, in a table
 *     holding at least c_warmup_obs / 2 (decayed) entries; score = surprise in bits.
 *     DNS names are grouped by registered-domain-ish suffix (last two labels, three under
 *     "co.uk"-like second levels); one finding per request, for its rarest suffix.
 *   unusual-duration (info): modified z-score of log(duration) against the median/MAD of the
 *     last 64 durations (MAD at least log 1.05) above c_duration_z.
 *   unusual-hour (info): fewer requests within +-1 h of this hour (UTC, circular) than
 *     c_hour_density times what a uniform spread would give.
 *   request-burst (warning; critical when the tail is 1e-4 times rarer still): at least
 *     c_burst_min requests in the current hour and a Poisson tail below c_burst_p against the
 *     usual hourly rate (max of median and 10%-trimmed mean of the last week, >= 0.1/h), with
 *     24 h of history at least; reported once per namespace and hour.
 *   unexpected-ca (warning): the certificate's issuer DN has a share below c_rare_share among
 *     the DNs the same issuerRef used, once that issuerRef has c_warmup_obs certificates.
 *   san-outside-domains (warning): a DNS SAN that was not requested and whose suffix is rare
 *     in the namespace.
 *   key-reuse (warning within a namespace, critical across): the SPKI was first seen on
 *     another certificate (o_name needed; a renewal of the same certificate with its own key,
 *     rotationPolicy Never, is not reuse).
 *   weak-key, wildcard, validity-mismatch, not-before-future: see cp_check in certparse.h.
 *
 * Memory bound (documented, enforced): at most c_max_namespaces namespaces (the least recently
 * seen is evicted), each at most 4 frequency tables x RB_FREQ_CAP keys x RB_KEY_MAX bytes plus
 * 24 hour bins, 168 hourly counts and 64 durations: < 40 KiB worst case, about 4 KiB with
 * typical names. The CA table has at most c_max_issuers issuerRefs, the key-reuse set at most
 * c_max_keys keys (FIFO), the observed-UID set at most c_max_uids 64-bit hashes (FIFO).
 * A checkpoint takes about 2 KiB per namespace plus 20 bytes per UID and 90 per key.
 *
 * History: an observation whose o_time is more than c_fresh before now (an initial list after a
 * first start, say) trains the baselines but is not scored against them, because the baseline
 * it would be compared with is only partly built; certificate checks still run.
 *
 * Errors: SC_OK (0) or a negative enum sc_err (scoring.h): SC_ERR_INVAL for bad arguments,
 * SC_ERR_NOSPACE when memory runs out, SC_ERR_PARSE for an unreadable checkpoint.
 * Not thread-safe per state; distinct states are independent.
 */
#ifndef ANOMALY_H
#define ANOMALY_H

#include <stddef.h>
#include <stdint.h>

struct cp_cert;

/* Anomaly types; an_type_id() gives the stable string id used in Events and metrics. */
enum an_type {
	AN_UNEXPECTED_ISSUER = 0, /* "unexpected-issuer" */
	AN_UNUSUAL_REQUESTER,     /* "unusual-requester" */
	AN_UNUSUAL_DNS_SUFFIX,    /* "unusual-dns-suffix" */
	AN_UNUSUAL_DURATION,      /* "unusual-duration" */
	AN_UNUSUAL_KEY,           /* "unusual-key" */
	AN_UNUSUAL_HOUR,          /* "unusual-hour" */
	AN_REQUEST_BURST,         /* "request-burst" */
	AN_UNEXPECTED_CA,         /* "unexpected-ca" */
	AN_WEAK_KEY,              /* "weak-key" (weak key or weak signature hash) */
	AN_SAN_OUTSIDE_DOMAINS,   /* "san-outside-domains" */
	AN_WILDCARD,              /* "wildcard" */
	AN_VALIDITY_MISMATCH,     /* "validity-mismatch" */
	AN_KEY_REUSE,             /* "key-reuse" */
	AN_NOT_BEFORE_FUTURE,     /* "not-before-future" */
	AN_TYPE_COUNT,
};

enum an_severity {
	AN_SEV_INFO = 0,
	AN_SEV_WARNING = 1,
	AN_SEV_CRITICAL = 2,
};

#define AN_EVIDENCE_MAX 160 /* same as SC_EVIDENCE_MAX in scoring.h */
#define AN_REPORT_MAX 24

struct an_anomaly {
	enum an_type a_type;              /* what */
	enum an_severity a_severity;      /* how bad */
	double a_score;                   /* strength: surprise in bits, or a z-like score */
	int a_security;                   /* 1: a reason to replace the certificate now */
	char a_evidence[AN_EVIDENCE_MAX]; /* one human sentence with the numbers behind it */
};

/* Anomalies found by one call; a caller-owned value, no allocation. */
struct an_report {
	struct an_anomaly r_items[AN_REPORT_MAX]; /* r_items[0..r_count) */
	size_t r_count;                           /* anomalies found */
	size_t r_dropped;                         /* found but not stored (report full) */
};

struct an_config {
	uint32_t c_warmup_obs;     /* observations before baseline anomalies; default 20 */
	int64_t c_warmup_age;      /* seconds from a namespace's first observation; default 86400 */
	int64_t c_half_life;       /* decay of counts, seconds; default 30 days */
	double c_rare_share;       /* a value below this share of its namespace is rare; 0.02 */
	double c_duration_z;       /* modified z-score limit for durations; default 3.5 */
	double c_hour_density;     /* flag hours below this density vs uniform; default 0.1 */
	uint32_t c_burst_min;      /* least requests in one hour for a burst; default 10 */
	double c_burst_p;          /* Poisson tail probability for a burst; default 1e-4 */
	int64_t c_fresh;           /* older observations only train; seconds; default 6h */
	int64_t c_skew;            /* notBefore tolerance for clock skew, seconds; default 300 */
	double c_validity_tol;     /* validity tolerance, fraction of requested; default 0.02 */
	int64_t c_validity_tol_min;/* ... but at least this many seconds; default 3600 */
	uint32_t c_max_namespaces; /* default 4096 */
	uint32_t c_max_issuers;    /* issuerRefs with a CA table; default 1024 */
	uint32_t c_max_keys;       /* SPKI hashes remembered; default 8192 */
	uint32_t c_max_uids;       /* observed CR UIDs remembered; default 8192 */
};

/*
 * One CertificateRequest as the anomaly detector sees it. All pointers are borrowed for the
 * call. Optional fields may be NULL / 0.
 */
struct an_obs {
	const char *o_uid;             /* CR metadata.uid: makes observing idempotent; optional */
	const char *o_namespace;       /* required */
	const char *o_name;            /* Certificate name (for evidence and key reuse); optional */
	const char *o_issuer;          /* issuerRef as "Kind/name"; optional */
	const char *o_username;        /* CR spec.username; optional */
	const char *const *o_dns_names;/* requested DNS names; optional */
	size_t o_ndns;                 /* entries in o_dns_names */
	int64_t o_duration;            /* requested duration, seconds; 0: unknown */
	const char *o_key;             /* requested key, e.g. "RSA-2048"; used when no o_cert */
	int64_t o_time;                /* CR creationTimestamp, unix seconds */
	const struct cp_cert *o_cert;  /* issued certificate (borrowed), NULL while pending */
};

struct an_state;

void an_config_default(struct an_config *cfg);

/*
 * Creates an empty state into *out (caller frees with an_free). cfg may be NULL (defaults);
 * zero fields take their default. Returns SC_OK, or SC_ERR_NOSPACE when memory runs out.
 */
int an_new(const struct an_config *cfg, struct an_state **out);

/* Frees everything; accepts NULL. */
void an_free(struct an_state *st);

/*
 * Scores one observation against the baselines, then learns from it. Found anomalies are
 * appended to out (which the caller zeroes once; it may collect several calls).
 * Idempotent per UID and stage: once a UID has been observed without a certificate, a repeat
 * without one reports and learns nothing; likewise once with a certificate. The request part
 * (issuer, requester, names, duration, hour, rate) is learned at the first sighting of a UID;
 * the certificate part when o_cert is first given. Without o_uid every call counts.
 * now must be a Unix time in (0, 2^40]; an o_time outside that range counts as now.
 * Returns SC_OK, SC_ERR_INVAL (NULL st/obs/out, no namespace, bad now) or SC_ERR_NOSPACE (no
 * memory; the observation may then be partly learned).
 */
int an_observe(struct an_state *st, const struct an_obs *obs, int64_t now, struct an_report *out);

struct sc_anomaly;

/* Copies a into the scoring core's form (scoring.h), cutting the evidence if needed. */
void an_to_sc(const struct an_anomaly *a, struct sc_anomaly *out);

/* Number of observations learned in namespace ns so far (0 when unknown). */
uint64_t an_namespace_obs(const struct an_state *st, const char *ns);

/* Stable id of a type ("unexpected-issuer", ...); "unknown" when out of range. */
const char *an_type_id(enum an_type t);

/* "info", "warning" or "critical". */
const char *an_severity_name(enum an_severity s);

/*
 * Appends an anomaly to r (used by certparse checks too). Drops it (r_dropped++) when full.
 * The evidence is printf-formatted and cut at AN_EVIDENCE_MAX - 1 bytes.
 */
void an_report_add(struct an_report *r, enum an_type t, enum an_severity s, double score,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Writes the baselines as versioned text ending in a SHA-256 line into a new buffer. On
 * success *out (caller frees with free()) and *outlen (without the NUL) are set. Returns SC_OK,
 * or SC_ERR_NOSPACE when memory runs out.
 */
int an_serialize(const struct an_state *st, char **out, size_t *outlen);

/*
 * Restores baselines written by an_serialize. cfg as for an_new (limits apply to the restored
 * data: the oldest entries go first). On corrupt, truncated or wrong-version input returns
 * SC_ERR_PARSE, sets *out to NULL and writes what and where (line number) into err (size errlen).
 */
int an_deserialize(const struct an_config *cfg, const char *buf, size_t len,
		   struct an_state **out, char *err, size_t errlen);

#endif
