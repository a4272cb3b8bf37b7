/* testcert: certificates made with OpenSSL for tests (see testcert.h). */
#include "testcert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* Tests must not go on with half a certificate: say what failed and stop. */
static void
tc_need(int ok, const char *what, const char *detail)
{
	if (ok)
		return;
	fprintf(stderr, "testcert: %s failed (%s)\n", what, detail ? detail : "");
	abort();
}

EVP_PKEY *
tc_key(const char *kind)
{
	EVP_PKEY *k = NULL;

	if (strcmp(kind, "rsa1024") == 0)
		k = EVP_RSA_gen(1024);
	else if (strcmp(kind, "rsa2048") == 0)
		k = EVP_RSA_gen(2048);
	else if (strcmp(kind, "ed25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		k = EVP_EC_gen(kind); /* "P-256", "P-224", "P-384" */
	tc_need(k != NULL, "key", kind);
	return k;
}


X509 *
tc_cert(EVP_PKEY *key, EVP_PKEY *signer, const struct tc_spec *s)
{
	X509 *x = X509_new();
	X509_NAME *sub = X509_NAME_new(), *iss = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	tc_need(x != NULL, "X509_new", s->cn);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), s->serial);
	X509_NAME_add_entry_by_txt(sub, "O", MBSTRING_ASC, (const unsigned char *)"certcast test", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(sub, "CN", MBSTRING_ASC, (const unsigned char *)s->cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(iss, "O", MBSTRING_ASC, (const unsigned char *)"certcast test", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_ASC, (const unsigned char *)s->issuer_cn, -1,
				   -1, 0);
	X509_set_subject_name(x, sub);
	X509_set_issuer_name(x, iss);
	X509_NAME_free(sub);
	X509_NAME_free(iss);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->nb);
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->na);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (s->sans != NULL) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, s->sans);
		tc_need(ext != NULL, "SAN", s->sans);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
				  s->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (s->aki != NULL) {
		AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();
		tc_need(ak != NULL, "AUTHORITY_KEYID_new", s->cn);
		ak->keyid = ASN1_OCTET_STRING_new();
		tc_need(ak->keyid != NULL &&
			    ASN1_OCTET_STRING_set(ak->keyid, s->aki, (int)s->aki_len) == 1 &&
			    X509_add1_ext_i2d(x, NID_authority_key_identifier, ak, 0, 0) == 1,
			"authorityKeyIdentifier", s->cn);
		AUTHORITY_KEYID_free(ak);
	}
	tc_need(X509_sign(x, signer, s->md) > 0, "signing", s->cn);
	return x;
}

char *
tc_pem(X509 *const *xs, size_t n, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long l;
	size_t i;

	for (i = 0; i < n; i++)
		tc_need(PEM_write_bio_X509(b, xs[i]) == 1, "PEM", "write");
	l = BIO_get_mem_data(b, &data);
	out = malloc((size_t)l + 1);
	tc_need(out != NULL, "malloc", "PEM");
	memcpy(out, data, (size_t)l);
	out[l] = '\0';
	*len = (size_t)l;
	BIO_free(b);
	return out;
}

unsigned char *
tc_der(X509 *const *xs, size_t n, size_t *len)
{
	unsigned char *out = NULL, *one;
	size_t i, total = 0;
	int l;

	for (i = 0; i < n; i++) {
		one = NULL;
		l = i2d_X509(xs[i], &one);
		tc_need(l > 0, "DER", "encode");
		out = realloc(out, total + (size_t)l);
		memcpy(out + total, one, (size_t)l);
		total += (size_t)l;
		OPENSSL_free(one);
	}
	*len = total;
	return out;
}

char *
tc_b64(const void *d, size_t n, size_t *len)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	int l = EVP_EncodeBlock((unsigned char *)out, d, (int)n);

	*len = (size_t)l;
	return out;
}


void
tc_write_pair(const char *dir, X509 *cert, X509 *const *chain, size_t n, EVP_PKEY *key)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/tls.crt", dir);
	FILE *f = fopen(path, "w");
	tc_need(f != NULL, "fopen", path);
	tc_need(PEM_write_X509(f, cert) == 1, "PEM", path);
	for (size_t i = 0; i < n; i++)
		tc_need(PEM_write_X509(f, chain[i]) == 1, "PEM", path);
	tc_need(fclose(f) == 0, "fclose", path);
	snprintf(path, sizeof path, "%s/tls.key", dir);
	f = fopen(path, "w");
	tc_need(f != NULL, "fopen", path);
	tc_need(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1, "PEM", path);
	tc_need(fclose(f) == 0, "fclose", path);
}
