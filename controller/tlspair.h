/*
 * tlspair: the HTTP server's certificate and key files (httpTLSCertFile, httpTLSKeyFile), read
 * and checked before they are served: both readable and PEM, the key matching the first
 * certificate of the certificate file (the serving one; the rest is its chain), and that
 * certificate not expired. A message names the file and says what is wrong with it; it never
 * quotes the key's bytes, and neither does anything else here.
 *
 * The files are read whole, at most TLP_FILE_MAX bytes each, and fingerprinted (SHA-256 over both)
 * so that a change is seen however it is made: rewritten in place within the same second, or a
 * symlink moved to another folder, as kubelet does for a Secret volume (stat of the path
 * follows the link, but a content change is what matters, and reading is cheap at this size).
 *
 * Not thread-safe per object; the functions keep no global state.
 */
#ifndef TLSPAIR_H
#define TLSPAIR_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* A certificate chain or key file is a few KiB; more is not one. */
#define TLP_FILE_MAX (1u << 20)
#define TLP_DIGEST_LEN 32

/* Both files' bytes as read, and their fingerprint. */
struct tlp_files {
	unsigned char *tf_cert;                 /* owned; the certificate file */
	size_t tf_cert_len;
	unsigned char *tf_key;                  /* owned; the key file, wiped when freed */
	size_t tf_key_len;
	unsigned char tf_digest[TLP_DIGEST_LEN]; /* SHA-256 of both, each length-prefixed */
};

/*
 * Read both files into f (zeroed first). Returns CC_OK; or CC_ERR_IO (cannot open or read),
 * CC_ERR_TOOBIG (over TLP_FILE_MAX) or CC_ERR_PARSE (empty), with err naming the file and the
 * reason. On error f holds nothing to free, but tlp_files_free may still be called.
 */
int tlp_files_read(const char *cert_path, const char *key_path, struct tlp_files *f, char *err,
    size_t errsz);
/* Wipe and free what f holds; f can be read into again. Accepts NULL. */
void tlp_files_free(struct tlp_files *f);

/* A checked pair, ready to serve. */
struct tlp_pair {
	X509 *tp_leaf;             /* owned; the serving certificate */
	STACK_OF(X509) *tp_chain;  /* owned; the certificates after it in the file (may be empty) */
	EVP_PKEY *tp_key;          /* owned; the private key */
	int64_t tp_not_after;      /* the leaf's notAfter, Unix seconds */
	char tp_serial[100];       /* the leaf's serial number in hex, for logs */
	char tp_key_kind[64];      /* "RSA 2048", "EC prime256v1", ... for logs */
	unsigned char tp_digest[TLP_DIGEST_LEN]; /* the files' fingerprint (tlp_files) */
};

/*
 * Check f (read from cert_path and key_path, which name them in messages) at time now (Unix
 * seconds): the certificate file holds one or more PEM certificates and nothing else, the key
 * file one PEM private key (unencrypted), the key belongs to the first certificate, and that
 * certificate's notAfter is after now. Returns CC_OK with *out set (free with tlp_pair_free), or
 * CC_ERR_PARSE (not PEM, not a certificate or key), CC_ERR_INVAL (key does not match) or
 * CC_ERR_TLS (expired), with err naming the file and the reason; *out is then NULL.
 */
int tlp_pair_check(const struct tlp_files *f, const char *cert_path, const char *key_path,
    int64_t now, struct tlp_pair **out, char *err, size_t errsz);
/* tlp_files_read, then tlp_pair_check: what start-up does. */
int tlp_pair_load(const char *cert_path, const char *key_path, int64_t now, struct tlp_pair **out,
    char *err, size_t errsz);
/* Free p and everything it owns. Accepts NULL. */
void tlp_pair_free(struct tlp_pair *p);

struct ssl_st;
/*
 * Make one connection (an OpenSSL SSL, in its certificate callback) present p and nothing
 * else: every certificate it inherited from its SSL_CTX is dropped first. An SSL_CTX keeps one
 * certificate per key type, so loading an RSA pair into one that served an EC pair leaves the EC
 * one offered too; per connection there is no such left-over. CC_OK, or CC_ERR_TLS.
 */
int tlp_ssl_use(struct ssl_st *ssl, const struct tlp_pair *p);

/*
 * Change detection: the fingerprint of the files last looked at. A zeroed struct has seen
 * nothing, so the first files always count as a change.
 */
struct tlp_watch {
	unsigned char tw_seen[TLP_DIGEST_LEN]; /* fingerprint of the last files seen */
	int tw_have;                           /* tw_seen is set */
};

/* Whether digest differs from the one last seen; either way it becomes the one last seen. */
int tlp_watch_changed(struct tlp_watch *w, const unsigned char digest[TLP_DIGEST_LEN]);

#endif
