/*
 * testcert: real X.509 certificates made with OpenSSL for tests (keys of a given kind, a
 * certificate from a spec, PEM, DER and base64 encodings). Every helper aborts the test binary
 * with a message when OpenSSL fails, so it needs no test framework (benchmarks link it too).
 */
#ifndef TESTCERT_H
#define TESTCERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* "rsa1024", "rsa2048", "ed25519", or an EC curve name ("P-256", "P-224", "P-384"). */
EVP_PKEY *tc_key(const char *kind);

struct tc_spec {
	const char *issuer_cn; /* issuer CN, also the CA's subject */
	const char *cn;        /* subject CN */
	const char *sans;      /* X509v3 config form: "DNS:a.example,IP:10.0.0.1", or NULL */
	int64_t nb, na;        /* validity */
	const EVP_MD *md;      /* signature hash; NULL for Ed25519 */
	int is_ca;
	long serial;
	const unsigned char *aki; /* authorityKeyIdentifier keyIdentifier, or NULL for none */
	size_t aki_len;
};

/* A certificate for key, signed by signer, as spec says. Free with X509_free. */
X509 *tc_cert(EVP_PKEY *key, EVP_PKEY *signer, const struct tc_spec *s);

/* The n certificates as one PEM bundle / DER concatenation / base64 (malloc'd, NUL-ended). */
char *tc_pem(X509 *const *xs, size_t n, size_t *len);
unsigned char *tc_der(X509 *const *xs, size_t n, size_t *len);
char *tc_b64(const void *d, size_t n, size_t *len);

/*
 * Write a serving pair into folder dir as dir/tls.crt (cert, then the n certificates of chain)
 * and dir/tls.key (key, unencrypted PKCS#8 PEM), as a Secret volume holds them.
 */
void tc_write_pair(const char *dir, X509 *cert, X509 *const *chain, size_t n, EVP_PKEY *key);

#endif
