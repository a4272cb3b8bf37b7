/* tlspair: read, fingerprint and check the HTTP server's certificate and key files. */
#include "tlspair.h"

#include "cc_err.h"
#include "timefmt.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

/* Read all of path (at most TLP_FILE_MAX bytes) into *out; what names the file in messages. */
static int
tlp_read_file(const char *path, const char *what, unsigned char **out, size_t *len, char *err,
    size_t errsz)
{
	int rc = CC_OK;
	unsigned char *b = NULL;
	size_t n = 0;
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cc_fail(err, errsz, CC_ERR_IO, "cannot read %s %s: %s", what, path,
		    strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = cc_fail(err, errsz, CC_ERR_IO, "cannot read %s %s: not a regular file", what,
		    path);
		goto out;
	}
	/* one byte over the limit tells "too big" from "exactly the limit" */
	b = xmalloc(TLP_FILE_MAX + 1);
	for (;;) {
		ssize_t r = read(fd, b + n, TLP_FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = cc_fail(err, errsz, CC_ERR_IO, "cannot read %s %s: %s", what, path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > TLP_FILE_MAX) {
			rc = cc_fail(err, errsz, CC_ERR_TOOBIG, "%s %s is over %u bytes", what,
			    path, TLP_FILE_MAX);
			goto out;
		}
	}
	if (n == 0) {
		rc = cc_fail(err, errsz, CC_ERR_PARSE, "%s %s is empty", what, path);
		goto out;
	}
	*out = b;
	*len = n;
	b = NULL;
out:
	if (b != NULL) {
		OPENSSL_cleanse(b, n);
		free(b);
	}
	close(fd);
	return rc;
}

static void
tlp_digest(struct tlp_files *f)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t lens[2] = {f->tf_cert_len, f->tf_key_len};
	unsigned int dl = 0;
	/* length prefixes: moving bytes from one file to the other must change the fingerprint */
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, lens, sizeof lens) != 1 ||
	    EVP_DigestUpdate(md, f->tf_cert, f->tf_cert_len) != 1 ||
	    EVP_DigestUpdate(md, f->tf_key, f->tf_key_len) != 1 ||
	    EVP_DigestFinal_ex(md, f->tf_digest, &dl) != 1 || dl != TLP_DIGEST_LEN)
		abort(); /* SHA-256 cannot fail short of running out of memory */
	EVP_MD_CTX_free(md);
}

int
tlp_files_read(const char *cert_path, const char *key_path, struct tlp_files *f, char *err,
    size_t errsz)
{
	memset(f, 0, sizeof *f);
	int rc = tlp_read_file(cert_path, "certificate file", &f->tf_cert, &f->tf_cert_len, err,
	    errsz);
	if (rc == CC_OK)
		rc = tlp_read_file(key_path, "key file", &f->tf_key, &f->tf_key_len, err, errsz);
	if (rc != CC_OK) {
		tlp_files_free(f);
		return rc;
	}
	tlp_digest(f);
	return CC_OK;
}

void
tlp_files_free(struct tlp_files *f)
{
	if (f == NULL)
		return;
	free(f->tf_cert);
	if (f->tf_key != NULL)
		OPENSSL_cleanse(f->tf_key, f->tf_key_len);
	free(f->tf_key);
	memset(f, 0, sizeof *f);
}

void
tlp_pair_free(struct tlp_pair *p)
{
	if (p == NULL)
		return;
	X509_free(p->tp_leaf);
	sk_X509_pop_free(p->tp_chain, X509_free);
	EVP_PKEY_free(p->tp_key);
	free(p);
}

/* An encrypted key is refused: there is no passphrase to give, and no prompt to ask. */
static int
tlp_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/* OpenSSL's reason for the last failure, as fixed text (never the input's bytes). */
static const char *
tlp_ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	return r ? r : "unknown reason";
}

static int
tlp_read_certs(const struct tlp_files *f, const char *path, struct tlp_pair *p, char *err,
    size_t errsz)
{
	int rc = CC_OK;
	BIO *b = BIO_new_mem_buf(f->tf_cert, (int)f->tf_cert_len);
	if (b == NULL)
		abort();
	ERR_clear_error();
	p->tp_leaf = PEM_read_bio_X509(b, NULL, tlp_no_passphrase, NULL);
	if (p->tp_leaf == NULL) {
		rc = cc_fail(err, errsz, CC_ERR_PARSE,
		    "certificate file %s: no PEM certificate (-----BEGIN CERTIFICATE-----): %s",
		    path, tlp_ssl_reason());
		goto out;
	}
	p->tp_chain = sk_X509_new_null();
	if (p->tp_chain == NULL)
		abort();
	for (;;) {
		ERR_clear_error();
		X509 *x = PEM_read_bio_X509(b, NULL, tlp_no_passphrase, NULL);
		if (x == NULL)
			break;
		if (sk_X509_push(p->tp_chain, x) <= 0)
			abort();
	}
	/* the loop ends at the end of the file, or at a block that is not a good certificate */
	unsigned long e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
		rc = cc_fail(err, errsz, CC_ERR_PARSE,
		    "certificate file %s: certificate %d of the chain is not a good PEM "
		    "certificate: %s",
		    path, sk_X509_num(p->tp_chain) + 2, tlp_ssl_reason());
out:
	ERR_clear_error();
	BIO_free(b);
	return rc;
}

static int
tlp_read_key(const struct tlp_files *f, const char *path, struct tlp_pair *p, char *err,
    size_t errsz)
{
	BIO *b = BIO_new_mem_buf(f->tf_key, (int)f->tf_key_len);
	if (b == NULL)
		abort();
	ERR_clear_error();
	p->tp_key = PEM_read_bio_PrivateKey(b, NULL, tlp_no_passphrase, NULL);
	int rc = CC_OK;
	if (p->tp_key == NULL)
		rc = cc_fail(err, errsz, CC_ERR_PARSE,
		    "key file %s: no unencrypted PEM private key (-----BEGIN PRIVATE KEY-----, "
		    "RSA or EC PRIVATE KEY): %s",
		    path, tlp_ssl_reason());
	ERR_clear_error();
	BIO_free(b);
	return rc;
}

static void
tlp_describe(struct tlp_pair *p)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(p->tp_leaf);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	snprintf(p->tp_serial, sizeof p->tp_serial, "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
	char grp[32] = "";
	size_t gl = 0;
	const char *kind = EVP_PKEY_get0_type_name(p->tp_key);
	if (EVP_PKEY_get_group_name(p->tp_key, grp, sizeof grp, &gl) == 1)
		snprintf(p->tp_key_kind, sizeof p->tp_key_kind, "%s %s", kind ? kind : "?", grp);
	else
		snprintf(p->tp_key_kind, sizeof p->tp_key_kind, "%s %d", kind ? kind : "?",
		    EVP_PKEY_get_bits(p->tp_key));
}

int
tlp_pair_check(const struct tlp_files *f, const char *cert_path, const char *key_path,
    int64_t now, struct tlp_pair **out, char *err, size_t errsz)
{
	*out = NULL;
	if (f->tf_cert_len > TLP_FILE_MAX || f->tf_key_len > TLP_FILE_MAX)
		return cc_fail(err, errsz, CC_ERR_TOOBIG, "certificate or key file over %u bytes",
		    TLP_FILE_MAX);
	struct tlp_pair *p = xcalloc(1, sizeof *p);
	memcpy(p->tp_digest, f->tf_digest, sizeof p->tp_digest);
	int rc = tlp_read_certs(f, cert_path, p, err, errsz);
	if (rc == CC_OK)
		rc = tlp_read_key(f, key_path, p, err, errsz);
	if (rc != CC_OK)
		goto out;
	ERR_clear_error();
	if (X509_check_private_key(p->tp_leaf, p->tp_key) != 1) {
		ERR_clear_error();
		rc = cc_fail(err, errsz, CC_ERR_INVAL,
		    "key file %s does not belong to the certificate in %s (their public keys "
		    "differ)",
		    key_path, cert_path);
		goto out;
	}
	struct tm tm;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(p->tp_leaf), &tm) != 1) {
		rc = cc_fail(err, errsz, CC_ERR_PARSE, "certificate file %s: unreadable notAfter",
		    cert_path);
		goto out;
	}
	p->tp_not_after = (int64_t)timegm(&tm);
	if (p->tp_not_after <= now) {
		char when[TF_BUFSZ];
		tf_format_time(p->tp_not_after, when, sizeof when);
		rc = cc_fail(err, errsz, CC_ERR_TLS,
		    "certificate file %s: the certificate expired at %s", cert_path, when);
		goto out;
	}
	tlp_describe(p);
	*out = p;
	p = NULL;
out:
	tlp_pair_free(p);
	return rc;
}

int
tlp_pair_load(const char *cert_path, const char *key_path, int64_t now, struct tlp_pair **out,
    char *err, size_t errsz)
{
	struct tlp_files f;
	*out = NULL;
	int rc = tlp_files_read(cert_path, key_path, &f, err, errsz);
	if (rc == CC_OK)
		rc = tlp_pair_check(&f, cert_path, key_path, now, out, err, errsz);
	tlp_files_free(&f);
	return rc;
}

int
tlp_watch_changed(struct tlp_watch *w, const unsigned char digest[TLP_DIGEST_LEN])
{
	int changed = !w->tw_have || memcmp(w->tw_seen, digest, TLP_DIGEST_LEN) != 0;
	memcpy(w->tw_seen, digest, TLP_DIGEST_LEN);
	w->tw_have = 1;
	return changed;
}

int
tlp_ssl_use(SSL *ssl, const struct tlp_pair *p)
{
	SSL_certs_clear(ssl);
	int ok = SSL_use_cert_and_key(ssl, p->tp_leaf, p->tp_key, p->tp_chain, 1) == 1;
	ERR_clear_error();
	return ok ? CC_OK : CC_ERR_TLS;
}
