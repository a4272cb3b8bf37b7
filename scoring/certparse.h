/*
 * certparse: the issued certificate of a CertificateRequest, parsed with OpenSSL into a plain
 * struct, and the checks that need nothing but the certificate and the request.
 *
 * Input is CertificateRequest status.certificate: a PEM bundle, DER (one or more concatenated
 * certificates), or either of these base64-encoded once more (the JSON form of a []byte field).
 * The first certificate is the leaf; the rest count towards the chain length (at most 64 are
 * read; at most 1024 SANs are kept). Input above CP_MAX_INPUT bytes, and truncated or
 * malformed input, anywhere in a bundle, is an error with a message, never a crash.
 * Cost: OpenSSL 3.0 spends 100-300 us of CPU decoding one certificate, so parse each
 * CertificateRequest once (anomaly.c remembers UIDs for that reason).
 *
 * Checks (cp_check) need no baseline: weak key or signature, wildcard SANs, validity different
 * from the requested duration, notBefore in the future. Checks against baselines (unexpected CA,
 * SANs outside the usual domains, key reuse) live in anomaly.c, which calls cp_check.
 * Errors: SC_OK (0) or a negative enum sc_err (scoring.h). Thread-safe: no shared state
 * (OpenSSL 1.1+/3 initialises itself).
 */
#ifndef CERTPARSE_H
#define CERTPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"

#define CP_MAX_INPUT (1u << 20) /* largest status.certificate accepted, bytes */
/*
 * Longest keyIdentifier or serial kept for the ARI identifier. RFC 5280 caps serials at 20
 * octets and CAs use 20-byte (SHA-1) key identifiers; 64 leaves room for odd ones, and a
 * longer one is dropped (length 0) rather than cut, since a cut identifier would name another
 * certificate.
 */
#define CP_ID_MAX 64
/* Room for the ARI identifier text of two CP_ID_MAX fields, the dot and the NUL. */
#define CP_ARI_ID_MAX 180

enum cp_key_alg {
	CP_KEY_UNKNOWN = 0,
	CP_KEY_RSA,
	CP_KEY_EC,
	CP_KEY_ED25519,
	CP_KEY_ED448,
	CP_KEY_DSA,
};

enum cp_san_type {
	CP_SAN_DNS = 0,
	CP_SAN_IP,
	CP_SAN_URI,
	CP_SAN_EMAIL,
};

struct cp_san {
	enum cp_san_type s_type; /* kind of name */
	char *s_value;           /* owned; IPs in text form */
};

struct cp_cert {
	char *c_subject;            /* owned, RFC 2253 form */
	char *c_issuer;             /* owned, RFC 2253 form: the CA that signed it */
	char *c_serial;             /* owned, upper-case hex */
	int64_t c_not_before;       /* unix seconds */
	int64_t c_not_after;        /* unix seconds */
	struct cp_san *c_sans;      /* owned array of c_nsans */
	size_t c_nsans;
	enum cp_key_alg c_key_alg;  /* public key algorithm */
	int c_key_bits;             /* RSA/DSA modulus bits, EC field bits, Ed25519 253 */
	char c_curve[32];           /* "P-256", "P-384", "secp256k1", ... or "" */
	char c_sig_alg[64];         /* signature algorithm long name, e.g. "sha256WithRSAEncryption" */
	char c_sig_hash[16];        /* "SHA256", "SHA1", "MD5", ... or "" when intrinsic (Ed25519) */
	unsigned char c_spki_sha256[32]; /* SHA-256 of the DER SubjectPublicKeyInfo */
	int c_is_ca;                /* basicConstraints CA:TRUE */
	/* For the ARI certificate identifier (RFC 9773 section 4.1); lengths 0 when absent. */
	unsigned char c_aki[CP_ID_MAX];        /* authorityKeyIdentifier keyIdentifier bytes */
	size_t c_aki_len;
	unsigned char c_serial_der[CP_ID_MAX]; /* serialNumber DER content octets (sign byte kept) */
	size_t c_serial_der_len;
	size_t c_chain_len;         /* certificates in the input, leaf included */
};

/*
 * Parses data[0..len). On success *out is a new cp_cert the caller frees with cp_free.
 * Returns SC_OK; SC_ERR_INVAL for NULL data/out; SC_ERR_RANGE when len > CP_MAX_INPUT;
 * SC_ERR_PARSE for empty, truncated or malformed input; SC_ERR_NOSPACE when memory runs out.
 * On failure *out is NULL and err (size errlen, may be 0) says what was wrong and where.
 */
int cp_parse(const void *data, size_t len, struct cp_cert **out, char *err, size_t errlen);

/*
 * The ARI certificate identifier of c (RFC 9773 section 4.1): base64url without padding of the
 * authorityKeyIdentifier keyIdentifier, ".", base64url without padding of the serial number's
 * DER content octets. Written to buf (len bytes, CP_ARI_ID_MAX is always enough). Returns SC_OK;
 * SC_ERR_INVAL when c is NULL or has no keyIdentifier or serial (no identifier exists: the CA
 * cannot be asked); SC_ERR_RANGE when buf is too small (buf then holds "").
 */
int cp_ari_id(const struct cp_cert *c, char *buf, size_t len);

/* Frees c and everything it owns; accepts NULL. */
void cp_free(struct cp_cert *c);

/* A short key label such as "RSA-2048", "EC-P256", "Ed25519" into buf (always terminated). */
void cp_key_label(const struct cp_cert *c, char *buf, size_t len);

/* What the request asked for; zero fields skip the related check. */
struct cp_expect {
	int64_t ce_duration;    /* requested duration, seconds; 0: unknown, skip the check */
	int64_t ce_skew;        /* allowed notBefore - now, seconds; 0: 300 */
	double ce_tol;          /* validity tolerance as a fraction of ce_duration; 0: 0.02 */
	int64_t ce_tol_min;     /* ... but at least this many seconds; 0: 3600 */
};

/*
 * Runs the baseline-free checks on c at time now and appends findings to out:
 * weak-key (critical: RSA/DSA < 2048 bits, EC < 256 bits, MD5 signature; warning: SHA-1
 * signature), wildcard (info, one per certificate), validity-mismatch (warning when the
 * certificate is valid longer than requested, info when shorter: ACME CAs often ignore the
 * requested duration) beyond max(ce_tol * duration, ce_tol_min), not-before-future (warning)
 * beyond ce_skew. e may be NULL. Returns the number of anomalies added.
 */
size_t cp_check(const struct cp_cert *c, const struct cp_expect *e, int64_t now,
		struct an_report *out);

#endif
