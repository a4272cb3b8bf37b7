/*
 * records: the compact form in which certcast keeps each watched object.
 *
 * A record holds only the fields certcast uses, never the JSON document. Every record struct
 * begins with a struct rec_meta, so a pointer to any record is also a pointer to its meta.
 *
 * Ownership: a record owns its char * fields and arrays. Its const char * fields are interned
 * (intern.h) in the table the record was decoded with, which must be passed to the free
 * function. Records handed out by the store are borrowed and read-only (see store.h).
 *
 * Conventions for absent values: times are REC_TIME_NONE (0; the Unix epoch itself never occurs
 * in these objects); optional numbers come with a *_has_* flag; optional strings are NULL.
 */
#ifndef RECORDS_H
#define RECORDS_H

#include "intern.h"
#include "resource.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REC_TIME_NONE 0               /* a time that was absent */
#define REC_MSG_MAX 1024              /* messages and reasons are cut to this many bytes */
#define REC_DER_MAX (64 * 1024)       /* largest decoded status.certificate kept */
#define REC_ANNOT_PREFIX "certcast.io/" /* the only annotations a Certificate record keeps */
#define REC_CM_GROUP "cert-manager.io"  /* issuerRef.group when it is empty */
#define REC_OWN_COMPONENT "certcast"    /* reportingController of certcast's own Events */

enum rec_cond_status {
	REC_COND_ABSENT = 0, /* no condition of that type */
	REC_COND_TRUE,
	REC_COND_FALSE,
	REC_COND_UNKNOWN,
};

/* One status condition of a known type. */
struct rec_cond {
	enum rec_cond_status c_status; /* ABSENT when the condition is not present */
	const char *c_reason;          /* interned, or NULL */
	char *c_message;               /* owned, at most REC_MSG_MAX bytes, or NULL */
	int64_t c_ltt;                 /* lastTransitionTime, Unix seconds */
	int64_t c_obs_gen;             /* observedGeneration */
	bool c_has_obs_gen;            /* observedGeneration was present */
};

/* Identity and bookkeeping shared by every record; first member of each record struct. */
struct rec_meta {
	enum res_kind m_kind;   /* which record struct this is */
	const char *m_ns;       /* interned; "" for cluster-scoped objects */
	char *m_name;           /* owned, never NULL */
	char *m_uid;            /* owned; "" when absent */
	char *m_rv;             /* owned resourceVersion; "" when absent */
	int64_t m_generation;   /* metadata.generation; 0 when absent */
	int64_t m_created;      /* creationTimestamp */
	int m_desc;             /* rd_id of the descriptor that fed the record; -1 if none */
	uint64_t m_seen;        /* store tick of the last apply, for relist (store-private) */
};

/* A reference to an issuer, as in spec.issuerRef. */
struct rec_ref {
	const char *rf_group;   /* interned; REC_CM_GROUP when empty */
	const char *rf_kind;    /* interned; "Issuer" when empty */
	const char *rf_name;    /* interned; NULL when absent */
};

/* One kept annotation of a Certificate. */
struct rec_annot {
	const char *ra_key;     /* interned, starts with REC_ANNOT_PREFIX */
	char *ra_value;         /* owned, as written (validation is the reader's job) */
};

/* One of spec.renewal.windows (cert-manager v1.21). */
struct rec_window {
	char *w_cron;           /* owned cron expression, or NULL */
	const char *w_tz;       /* interned timezone, or NULL (UTC) */
	int64_t w_duration;     /* windowDuration, seconds */
	bool w_has_duration;    /* windowDuration was present */
};

enum rec_key_alg {
	REC_KEY_UNSET = 0,      /* spec.privateKey.algorithm absent: cert-manager uses RSA */
	REC_KEY_RSA,
	REC_KEY_ECDSA,
	REC_KEY_ED25519,
	REC_KEY_OTHER,
};

enum rec_renewal_policy {
	REC_RENEWAL_UNSET = 0,  /* spec.renewal.policy absent: behaves as RenewBefore */
	REC_RENEWAL_RENEW_BEFORE,
	REC_RENEWAL_DISABLED,
	REC_RENEWAL_OTHER,      /* a value newer than certcast */
};

struct rec_cert {
	struct rec_meta c_meta;
	struct rec_annot *c_annots;  /* owned array of certcast.io/ annotations */
	size_t c_nannots;
	size_t c_other_annots;       /* annotations not kept */
	struct rec_ref c_issuer;     /* spec.issuerRef */
	char *c_secret_name;         /* owned, or NULL */
	char *c_common_name;         /* owned, or NULL */
	char **c_dns_names;          /* owned array of owned strings */
	size_t c_ndns;
	int64_t c_duration;          /* spec.duration, seconds */
	bool c_has_duration;
	int64_t c_renew_before;      /* spec.renewBefore, seconds */
	bool c_has_renew_before;
	int32_t c_renew_pct;         /* spec.renewBeforePercentage */
	bool c_has_renew_pct;
	enum rec_key_alg c_key_alg;  /* spec.privateKey.algorithm */
	int32_t c_key_size;          /* spec.privateKey.size; 0 when absent */
	int32_t c_rev_limit;         /* spec.revisionHistoryLimit */
	bool c_has_rev_limit;
	enum rec_renewal_policy c_renewal_policy; /* spec.renewal.policy */
	struct rec_window *c_windows; /* owned array, spec.renewal.windows */
	size_t c_nwindows;
	bool c_is_ca;                /* spec.isCA */
	struct rec_cond c_ready;     /* status condition Ready */
	struct rec_cond c_issuing;   /* status condition Issuing */
	int64_t c_not_before;        /* status.notBefore */
	int64_t c_not_after;         /* status.notAfter */
	int64_t c_renewal_time;      /* status.renewalTime */
	int64_t c_revision;          /* status.revision */
	bool c_has_revision;
	int32_t c_failed_attempts;   /* status.failedIssuanceAttempts; 0 when absent */
	int64_t c_last_failure;      /* status.lastFailureTime */
	bool c_has_next_key;         /* status.nextPrivateKeySecretName is set */
};

struct rec_cr {
	struct rec_meta r_meta;
	char *r_cert_name;           /* owned: owning Certificate, or NULL */
	int64_t r_revision;          /* annotation cert-manager.io/certificate-revision */
	bool r_has_revision;
	struct rec_ref r_issuer;     /* spec.issuerRef */
	const char *r_username;      /* interned spec.username, or NULL */
	int64_t r_duration;          /* spec.duration, seconds */
	bool r_has_duration;
	bool r_is_ca;                /* spec.isCA */
	uint32_t r_nusages;          /* entries in spec.usages */
	struct rec_cond r_ready;     /* condition Ready (reason Issued, Failed, Pending, Denied...) */
	struct rec_cond r_approved;  /* condition Approved */
	struct rec_cond r_denied;    /* condition Denied */
	struct rec_cond r_invalid;   /* condition InvalidRequest */
	int64_t r_failure_time;      /* status.failureTime */
	unsigned char *r_der;        /* owned: status.certificate as DER, chain concatenated */
	size_t r_der_len;            /* 0 when no certificate was issued */
	uint32_t r_ncerts;           /* certificates in r_der, leaf first */
};

enum rec_issuer_type {
	REC_ISSUER_UNKNOWN = 0,      /* no recognised issuer block in spec */
	REC_ISSUER_ACME,
	REC_ISSUER_CA,
	REC_ISSUER_SELFSIGNED,
	REC_ISSUER_VAULT,
	REC_ISSUER_VENAFI,
	REC_ISSUER_EXTERNAL,         /* issuerRef.group is not cert-manager.io */
};

#define REC_CA_MAX (256u << 10) /* largest caBundle kept: a few dozen CA certificates */

/* An Issuer, or a ClusterIssuer (m_kind RES_CLUSTERISSUER, m_ns ""). */
struct rec_issuer {
	struct rec_meta i_meta;
	enum rec_issuer_type i_type; /* from the spec block present */
	char *i_acme_server;         /* owned spec.acme.server, or NULL */
	unsigned char *i_acme_ca;    /* owned decoded spec.acme.caBundle (PEM), or NULL */
	size_t i_acme_ca_len;
	bool i_acme_ca_bad;          /* caBundle present but not base64 or over REC_CA_MAX */
	bool i_acme_skip_tls;        /* spec.acme.skipTLSVerify */
	struct rec_cond i_ready;     /* condition Ready */
};

enum rec_acme_state {
	REC_ACME_NONE = 0,           /* state empty or absent */
	REC_ACME_VALID,
	REC_ACME_READY,
	REC_ACME_PENDING,
	REC_ACME_PROCESSING,
	REC_ACME_INVALID,
	REC_ACME_EXPIRED,
	REC_ACME_ERRORED,
	REC_ACME_OTHER,
};

struct rec_order {
	struct rec_meta o_meta;
	char *o_cr_name;             /* owned: owning CertificateRequest, or NULL */
	enum rec_acme_state o_state; /* status.state */
	char *o_reason;              /* owned status.reason, at most REC_MSG_MAX bytes, or NULL */
	int64_t o_failure_time;      /* status.failureTime */
	uint32_t o_ndns;             /* entries in spec.dnsNames */
	char *o_url;                 /* owned status.url, or NULL */
};

enum rec_challenge_type {
	REC_CHALLENGE_UNSET = 0,
	REC_CHALLENGE_HTTP01,
	REC_CHALLENGE_DNS01,
	REC_CHALLENGE_OTHER,
};

struct rec_challenge {
	struct rec_meta ch_meta;
	char *ch_order_name;         /* owned: owning Order, or NULL */
	enum rec_challenge_type ch_type; /* spec.type */
	char *ch_dns_name;           /* owned spec.dnsName, or NULL */
	enum rec_acme_state ch_state; /* status.state */
	char *ch_reason;             /* owned status.reason, at most REC_MSG_MAX bytes, or NULL */
	bool ch_presented;           /* status.presented */
	bool ch_processing;          /* status.processing */
};

enum rec_event_type {
	REC_EVENT_OTHER = 0,
	REC_EVENT_NORMAL,
	REC_EVENT_WARNING,
};

struct rec_event {
	struct rec_meta ev_meta;
	const char *ev_obj_kind;     /* interned involvedObject.kind, never NULL */
	const char *ev_obj_ns;       /* interned involvedObject.namespace; "" when absent */
	char *ev_obj_name;           /* owned involvedObject.name, never NULL */
	char *ev_obj_uid;            /* owned involvedObject.uid, or NULL */
	const char *ev_reason;       /* interned, or NULL */
	char *ev_message;            /* owned, at most REC_MSG_MAX bytes, or NULL */
	enum rec_event_type ev_type; /* type */
	int32_t ev_count;            /* count, else series.count, else 1 */
	int64_t ev_first;            /* firstTimestamp, else eventTime, else ev_last */
	int64_t ev_last;             /* lastTimestamp, else series.lastObservedTime, else eventTime */
	const char *ev_component;    /* interned reportingComponent, else source.component, or NULL */
	bool ev_own;                 /* reported by certcast: either component is REC_OWN_COMPONENT */
};

enum rec_pod_phase {
	REC_POD_UNKNOWN = 0,
	REC_POD_PENDING,
	REC_POD_RUNNING,
	REC_POD_SUCCEEDED,
	REC_POD_FAILED,
};

struct rec_pod {
	struct rec_meta p_meta;
	enum rec_pod_phase p_phase;  /* status.phase */
	bool p_ready;                /* condition Ready is True */
	int32_t p_restarts;          /* sum of containerStatuses[].restartCount */
	int64_t p_last_term;         /* latest lastState.terminated.finishedAt of any container */
	const char *p_last_term_reason; /* interned reason of that termination, or NULL */
	int64_t p_start_time;        /* status.startTime */
	char *p_ip;                  /* owned status.podIP, or NULL (not scheduled or not yet set) */
};

/* Free any record and all it owns, releasing its interned strings to in. Accepts NULL. */
void rec_free(struct intern *in, void *rec);

/* The value of a kept annotation of c, or NULL. key includes the prefix. */
const char *rec_cert_annot(const struct rec_cert *c, const char *key);

/* True when ref points at a cert-manager.io Issuer or ClusterIssuer (one certcast watches). */
bool rec_ref_is_cm(const struct rec_ref *ref);

/* Short constant names for logs and output; never NULL. */
const char *rec_cond_status_name(enum rec_cond_status s);  /* "True", "False", "Unknown", "" */
const char *rec_issuer_type_name(enum rec_issuer_type t);  /* "acme", "ca", "selfSigned", ... */
const char *rec_acme_state_name(enum rec_acme_state s);    /* "valid", "pending", ... or "" */
const char *rec_key_alg_name(enum rec_key_alg a);          /* "RSA", "ECDSA", "Ed25519", ... */
const char *rec_pod_phase_name(enum rec_pod_phase p);      /* "Running", ... */

#endif
