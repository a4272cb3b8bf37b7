/*
 * Tests for tlspair (the serving pair's checks and fingerprint) and tlsreload (polling the files
 * and swapping the served pair), on certificates made with OpenSSL here and real files in a
 * scratch folder.
 */
#include "buf.h"
#include "cc_err.h"
#include "log.h"
#include "metrics.h"
#include "scratch.h"
#include "testcert.h"
#include "tlspair.h"
#include "tlsreload.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#define NOW ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */
#define DAY 86400

static char dir[4096];

static void
setup(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
	cr_assert_eq(scratch_dir("tlspair", dir, sizeof dir), 0);
}

static void
teardown(void)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	(void)!system(cmd);
}

TestSuite(tlspair, .init = setup, .fini = teardown);

/* A CA made once per test, and leaves it signs. */
struct ca {
	EVP_PKEY *c_key;
	X509 *c_cert;
};

static struct ca
ca_new(void)
{
	struct ca c;
	c.c_key = tc_key("P-256");
	struct tc_spec s = {"test CA", "test CA", NULL, NOW - DAY, NOW + 365 * DAY, EVP_sha256(), 1,
	    1, NULL, 0};
	c.c_cert = tc_cert(c.c_key, c.c_key, &s);
	return c;
}

static void
ca_free(struct ca *c)
{
	X509_free(c->c_cert);
	EVP_PKEY_free(c->c_key);
}

/* Write a leaf of key kind into sub (a folder made under dir); returns the key (caller frees). */
static EVP_PKEY *
write_leaf(const struct ca *c, const char *sub, const char *kind, long serial, int64_t na)
{
	char d[4200];
	snprintf(d, sizeof d, "%s/%s", dir, sub);
	mkdir(d, 0700);
	EVP_PKEY *k = tc_key(kind);
	struct tc_spec s = {"test CA", "certcast.test", "DNS:localhost,IP:127.0.0.1", NOW - DAY, na,
	    EVP_sha256(), 0, serial, NULL, 0};
	X509 *x = tc_cert(k, c->c_key, &s);
	tc_write_pair(d, x, &c->c_cert, 1, k);
	X509_free(x);
	return k;
}

static void
path_of(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", dir, rel);
}

static void
write_text(const char *rel, const char *text)
{
	char p[4200];
	path_of(p, sizeof p, rel);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f, "%s", p);
	fputs(text, f);
	fclose(f);
}

/* Load cert/key (relative to dir) at NOW; the rc, with err and *out for the caller. */
static int
load(const char *cert, const char *key, struct tlp_pair **out, char *err, size_t errsz)
{
	char c[4200], k[4200];
	path_of(c, sizeof c, cert);
	path_of(k, sizeof k, key);
	return tlp_pair_load(c, k, NOW, out, err, errsz);
}

/* No message may ever quote the key: its PEM's base64 body starts with "MI". */
static void
expect_no_key_bytes(const char *err)
{
	cr_expect(strstr(err, "MI") == NULL, "the message may quote key bytes: %s", err);
	cr_expect(strstr(err, "PRIVATE KEY-----\n") == NULL, "%s", err);
}

struct bad_case {
	const char *bc_name;
	const char *bc_cert;   /* relative to dir */
	const char *bc_key;
	int bc_rc;
	const char *bc_file;   /* the file the message must name */
	const char *bc_reason; /* and a substring of its reason */
};

Test(tlspair, bad_pairs_are_refused_naming_the_file)
{
	struct ca c = ca_new();
	EVP_PKEY *k1 = write_leaf(&c, "a", "P-256", 11, NOW + 90 * DAY);
	EVP_PKEY *k2 = write_leaf(&c, "b", "rsa2048", 12, NOW + 90 * DAY);
	EVP_PKEY *k3 = write_leaf(&c, "old", "P-256", 13, NOW - 1);
	write_text("garbage.crt", "this is not a certificate\n");
	write_text("garbage.key", "neither is this a key\n");
	write_text("empty", "");
	write_text("broken-chain.crt", "");
	{
		/* a good leaf followed by a block that is not a certificate */
		char src[4200], dst[4200], cmd[20000];
		path_of(src, sizeof src, "a/tls.crt");
		path_of(dst, sizeof dst, "broken-chain.crt");
		snprintf(cmd, sizeof cmd,
		    "head -n $(grep -n 'END CERT' '%s' | head -1 | cut -d: -f1) '%s' > '%s' && "
		    "printf -- '-----BEGIN CERTIFICATE-----\\nnotbase64!!\\n"
		    "-----END CERTIFICATE-----\\n' >> '%s'",
		    src, src, dst, dst);
		cr_assert_eq(system(cmd), 0);
	}
	static const struct bad_case cases[] = {
	    {"missing certificate file", "nope/tls.crt", "a/tls.key", CC_ERR_IO, "nope/tls.crt",
		"No such file"},
	    {"missing key file", "a/tls.crt", "nope/tls.key", CC_ERR_IO, "nope/tls.key",
		"No such file"},
	    {"a folder for a file", "a", "a/tls.key", CC_ERR_IO, "/a", "not a regular file"},
	    {"empty certificate file", "empty", "a/tls.key", CC_ERR_PARSE, "empty", "is empty"},
	    {"certificate not PEM", "garbage.crt", "a/tls.key", CC_ERR_PARSE, "garbage.crt",
		"no PEM certificate"},
	    {"key not PEM", "a/tls.crt", "garbage.key", CC_ERR_PARSE, "garbage.key",
		"no unencrypted PEM private key"},
	    {"files swapped", "a/tls.key", "a/tls.crt", CC_ERR_PARSE, "a/tls.key",
		"no PEM certificate"},
	    {"bad certificate in the chain", "broken-chain.crt", "a/tls.key", CC_ERR_PARSE,
		"broken-chain.crt", "certificate 2 of the chain"},
	    {"key of another certificate (EC cert, RSA key)", "a/tls.crt", "b/tls.key",
		CC_ERR_INVAL, "b/tls.key", "does not belong to the certificate in"},
	    {"key of another certificate (RSA cert, EC key)", "b/tls.crt", "a/tls.key",
		CC_ERR_INVAL, "b/tls.crt", "does not belong"},
	    {"expired", "old/tls.crt", "old/tls.key", CC_ERR_TLS, "old/tls.crt",
		"expired at 2025-12-31T23:59:59Z"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct bad_case *bc = &cases[i];
		struct tlp_pair *p = (struct tlp_pair *)1;
		char err[512] = "";
		int rc = load(bc->bc_cert, bc->bc_key, &p, err, sizeof err);
		cr_expect_eq(rc, bc->bc_rc, "%s: rc %d (%s)", bc->bc_name, rc, err);
		cr_expect_null(p, "%s: a pair came back", bc->bc_name);
		cr_expect(strstr(err, bc->bc_file) != NULL, "%s: file not named: %s", bc->bc_name,
		    err);
		cr_expect(strstr(err, bc->bc_reason) != NULL, "%s: reason missing: %s",
		    bc->bc_name, err);
		expect_no_key_bytes(err);
		tlp_pair_free(p);
	}
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	ca_free(&c);
}

Test(tlspair, encrypted_key_is_refused_without_a_prompt)
{
	struct ca c = ca_new();
	EVP_PKEY *k = write_leaf(&c, "a", "P-256", 5, NOW + DAY);
	char p[4200];
	path_of(p, sizeof p, "enc.key");
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	cr_assert_eq(PEM_write_PKCS8PrivateKey(f, k, EVP_aes_128_cbc(), "pw", 2, NULL, NULL), 1);
	fclose(f);
	struct tlp_pair *pair = NULL;
	char err[512] = "";
	cr_expect_eq(load("a/tls.crt", "enc.key", &pair, err, sizeof err), CC_ERR_PARSE, "%s", err);
	cr_expect(strstr(err, "enc.key") != NULL, "%s", err);
	expect_no_key_bytes(err);
	EVP_PKEY_free(k);
	ca_free(&c);
}

Test(tlspair, file_over_the_limit_is_refused)
{
	struct ca c = ca_new();
	EVP_PKEY *k = write_leaf(&c, "a", "P-256", 5, NOW + DAY);
	char p[4200];
	path_of(p, sizeof p, "big.crt");
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	cr_assert_eq(ftruncate(fileno(f), TLP_FILE_MAX + 1), 0);
	fclose(f);
	struct tlp_pair *pair = NULL;
	char err[512] = "";
	cr_expect_eq(load("big.crt", "a/tls.key", &pair, err, sizeof err), CC_ERR_TOOBIG, "%s",
	    err);
	cr_expect(strstr(err, "big.crt") != NULL, "%s", err);
	EVP_PKEY_free(k);
	ca_free(&c);
}

struct good_case {
	const char *gc_name;
	const char *gc_kind;     /* tc_key's */
	const char *gc_describe; /* tp_key_kind */
};

Test(tlspair, ec_and_rsa_keys_are_taken)
{
	static const struct good_case cases[] = {
	    {"EC P-256", "P-256", "EC prime256v1"},
	    {"EC P-384", "P-384", "EC secp384r1"},
	    {"RSA 2048", "rsa2048", "RSA 2048"},
	    {"Ed25519", "ed25519", "ED25519"},
	};
	struct ca c = ca_new();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct good_case *gc = &cases[i];
		char sub[32];
		snprintf(sub, sizeof sub, "k%zu", i);
		EVP_PKEY *k = write_leaf(&c, sub, gc->gc_kind, 0x1000 + (long)i, NOW + 30 * DAY);
		char cp[64], kp[64], err[512] = "";
		snprintf(cp, sizeof cp, "%s/tls.crt", sub);
		snprintf(kp, sizeof kp, "%s/tls.key", sub);
		struct tlp_pair *p = NULL;
		cr_expect_eq(load(cp, kp, &p, err, sizeof err), CC_OK, "%s: %s", gc->gc_name, err);
		if (p != NULL) {
			char serial[16];
			snprintf(serial, sizeof serial, "%lX", 0x1000 + (long)i);
			cr_expect_str_eq(p->tp_serial, serial, "%s", gc->gc_name);
			cr_expect(strstr(p->tp_key_kind, gc->gc_describe) == p->tp_key_kind,
			    "%s: described as %s", gc->gc_name, p->tp_key_kind);
			cr_expect_eq(p->tp_not_after, NOW + 30 * DAY, "%s", gc->gc_name);
			cr_expect_eq(sk_X509_num(p->tp_chain), 1, "%s: the CA after the leaf",
			    gc->gc_name);
		}
		tlp_pair_free(p);
		EVP_PKEY_free(k);
	}
	ca_free(&c);
}

Test(tlspair, legacy_rsa_and_ec_key_formats_are_taken)
{
	struct ca c = ca_new();
	EVP_PKEY *ke = write_leaf(&c, "ec", "P-256", 21, NOW + DAY);
	EVP_PKEY *kr = write_leaf(&c, "rsa", "rsa2048", 22, NOW + DAY);
	/* cert-manager writes "EC PRIVATE KEY" / "RSA PRIVATE KEY" (SEC1, PKCS#1) by default */
	char cmd[50000], e[4200], r[4200];
	path_of(e, sizeof e, "ec/tls.key");
	path_of(r, sizeof r, "rsa/tls.key");
	snprintf(cmd, sizeof cmd,
	    "openssl ec -in '%s' -out '%s.sec1' 2>/dev/null && mv '%s.sec1' '%s' && "
	    "openssl rsa -traditional -in '%s' -out '%s.p1' 2>/dev/null && mv '%s.p1' '%s' && "
	    "grep -q 'BEGIN EC PRIVATE KEY' '%s' && grep -q 'BEGIN RSA PRIVATE KEY' '%s'",
	    e, e, e, e, r, r, r, r, e, r);
	cr_assert_eq(system(cmd), 0, "openssl could not rewrite the keys");
	struct tlp_pair *p = NULL;
	char err[512] = "";
	cr_expect_eq(load("ec/tls.crt", "ec/tls.key", &p, err, sizeof err), CC_OK, "%s", err);
	tlp_pair_free(p);
	p = NULL;
	cr_expect_eq(load("rsa/tls.crt", "rsa/tls.key", &p, err, sizeof err), CC_OK, "%s", err);
	tlp_pair_free(p);
	EVP_PKEY_free(ke);
	EVP_PKEY_free(kr);
	ca_free(&c);
}

/* The fingerprint of the files at cert/key (relative to dir). */
static void
digest_of(const char *cert, const char *key, unsigned char d[TLP_DIGEST_LEN])
{
	char c[4200], k[4200], err[512] = "";
	struct tlp_files f;
	path_of(c, sizeof c, cert);
	path_of(k, sizeof k, key);
	cr_assert_eq(tlp_files_read(c, k, &f, err, sizeof err), CC_OK, "%s", err);
	memcpy(d, f.tf_digest, TLP_DIGEST_LEN);
	tlp_files_free(&f);
}

/* Point dir/cur at dir/target in one rename, as kubelet's atomic writer swaps "..data". */
static void
swap_link(const char *target)
{
	char tmp[4200], cur[4200];
	path_of(tmp, sizeof tmp, "cur.tmp");
	path_of(cur, sizeof cur, "cur");
	unlink(tmp);
	cr_assert_eq(symlink(target, tmp), 0);
	cr_assert_eq(rename(tmp, cur), 0);
}

Test(tlspair, watch_sees_symlink_swap_and_in_place_rewrite_but_not_unchanged_files)
{
	struct ca c = ca_new();
	EVP_PKEY *k1 = write_leaf(&c, "a", "P-256", 1, NOW + DAY);
	EVP_PKEY *k2 = write_leaf(&c, "b", "P-256", 2, NOW + DAY);
	swap_link("a");
	struct tlp_watch w;
	memset(&w, 0, sizeof w);
	unsigned char d[TLP_DIGEST_LEN];
	digest_of("cur/tls.crt", "cur/tls.key", d);
	cr_expect_eq(tlp_watch_changed(&w, d), 1, "the first look is a change");
	digest_of("cur/tls.crt", "cur/tls.key", d);
	cr_expect_eq(tlp_watch_changed(&w, d), 0, "unchanged files");
	swap_link("b");
	digest_of("cur/tls.crt", "cur/tls.key", d);
	cr_expect_eq(tlp_watch_changed(&w, d), 1, "symlink swap");
	digest_of("cur/tls.crt", "cur/tls.key", d);
	cr_expect_eq(tlp_watch_changed(&w, d), 0, "unchanged after the swap");

	/* same size, same mtime, other bytes: only the content tells */
	char p[4200];
	path_of(p, sizeof p, "b/tls.crt");
	struct stat before;
	cr_assert_eq(stat(p, &before), 0);
	FILE *f = fopen(p, "r+");
	cr_assert_not_null(f);
	fseek(f, 70, SEEK_SET);
	int ch = fgetc(f);
	fseek(f, 70, SEEK_SET);
	fputc(ch == 'A' ? 'B' : 'A', f);
	fclose(f);
	struct timespec ts[2] = {before.st_atim, before.st_mtim};
	cr_assert_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
	digest_of("cur/tls.crt", "cur/tls.key", d);
	cr_expect_eq(tlp_watch_changed(&w, d), 1, "in-place rewrite with the same mtime");
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	ca_free(&c);
}

/* ---- tlsreload ---- */

struct applied {
	int a_calls;
	char a_serial[100];
	int a_fail; /* answer an error */
};

static int
fake_apply(void *arg, const struct tlp_pair *next, const struct tlp_pair *prev, char *err,
    size_t errsz)
{
	struct applied *a = arg;
	cr_expect_not_null(prev);
	a->a_calls++;
	if (a->a_fail)
		return cc_fail(err, errsz, CC_ERR_TLS, "refused by the test");
	snprintf(a->a_serial, sizeof a->a_serial, "%s", next->tp_serial);
	return CC_OK;
}

/* The value of one series in the registry's text, or -1 when absent. */
static double
metric(struct met_registry *r, const char *series)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	cr_assert_eq(met_write(r, &b), CC_OK);
	buf_append(&b, "", 1);
	double v = -1;
	const char *at = strstr(b.b_data, series);
	while (at != NULL && at != b.b_data && at[-1] != '\n')
		at = strstr(at + 1, series);
	if (at != NULL)
		v = strtod(at + strlen(series), NULL);
	buf_free(&b);
	return v;
}

#define OK_SERIES "certcast_http_tls_reloads_total{result=\"ok\"} "
#define ERR_SERIES "certcast_http_tls_reloads_total{result=\"error\"} "
#define EXPIRY_SERIES "certcast_http_tls_certificate_expiry_timestamp_seconds "

static struct tlr *
reloader(struct met_registry *reg, struct applied *a)
{
	char c[4200], k[4200], err[512] = "";
	path_of(c, sizeof c, "cur/tls.crt");
	path_of(k, sizeof k, "cur/tls.key");
	struct tlr_opts o = {c, k, reg, fake_apply, a};
	struct tlr *r = NULL;
	cr_assert_eq(tlr_new(&o, NOW, &r, err, sizeof err), CC_OK, "%s", err);
	return r;
}

Test(tlspair, reload_symlink_swap_is_served_and_unchanged_files_are_not_reloaded)
{
	struct ca c = ca_new();
	EVP_PKEY *k1 = write_leaf(&c, "a", "P-256", 0xA1, NOW + 10 * DAY);
	EVP_PKEY *k2 = write_leaf(&c, "b", "rsa2048", 0xB2, NOW + 20 * DAY);
	swap_link("a");
	struct met_registry *reg = met_registry_new();
	struct applied a = {0};
	struct tlr *r = reloader(reg, &a);
	cr_expect_str_eq(tlr_served(r)->tp_serial, "A1");
	cr_expect_eq(metric(reg, EXPIRY_SERIES), (double)(NOW + 10 * DAY));
	cr_expect_eq(metric(reg, OK_SERIES), 0);
	cr_expect_eq(metric(reg, ERR_SERIES), 0);

	cr_expect_eq(tlr_poll(r, NOW), TLR_UNCHANGED);
	cr_expect_eq(tlr_poll(r, NOW), TLR_UNCHANGED);
	cr_expect_eq(a.a_calls, 0, "unchanged files were applied");

	swap_link("b");
	cr_expect_eq(tlr_poll(r, NOW), TLR_RELOADED);
	cr_expect_eq(a.a_calls, 1);
	cr_expect_str_eq(a.a_serial, "B2");
	cr_expect_str_eq(tlr_served(r)->tp_serial, "B2");
	cr_expect_eq(metric(reg, EXPIRY_SERIES), (double)(NOW + 20 * DAY));
	cr_expect_eq(metric(reg, OK_SERIES), 1);
	cr_expect_eq(tlr_poll(r, NOW), TLR_UNCHANGED);
	cr_expect_eq(a.a_calls, 1, "applied again without a change");
	tlr_free(r);
	met_registry_free(reg);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	ca_free(&c);
}

Test(tlspair, reload_bad_pair_keeps_the_old_one_and_is_counted_once)
{
	struct ca c = ca_new();
	EVP_PKEY *k1 = write_leaf(&c, "a", "P-256", 0xA1, NOW + 10 * DAY);
	EVP_PKEY *k2 = write_leaf(&c, "b", "P-256", 0xB2, NOW + 20 * DAY);
	swap_link("a");
	struct met_registry *reg = met_registry_new();
	struct applied a = {0};
	struct tlr *r = reloader(reg, &a);

	/* b's certificate with a's key: a mismatch */
	char cmd[9000], ak[4200], bk[4200];
	path_of(ak, sizeof ak, "a/tls.key");
	path_of(bk, sizeof bk, "b/tls.key");
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", ak, bk);
	cr_assert_eq(system(cmd), 0);
	swap_link("b");
	cr_expect_eq(tlr_poll(r, NOW), TLR_REFUSED);
	cr_expect_eq(a.a_calls, 0, "a bad pair was applied");
	cr_expect_str_eq(tlr_served(r)->tp_serial, "A1");
	cr_expect_eq(metric(reg, ERR_SERIES), 1);
	cr_expect_eq(metric(reg, EXPIRY_SERIES), (double)(NOW + 10 * DAY));
	cr_expect_eq(tlr_poll(r, NOW), TLR_UNCHANGED, "the same bad files again");
	cr_expect_eq(metric(reg, ERR_SERIES), 1, "counted twice");

	/* a missing file: refused once, however long it stays missing */
	swap_link("nowhere");
	cr_expect_eq(tlr_poll(r, NOW), TLR_REFUSED);
	cr_expect_eq(tlr_poll(r, NOW), TLR_REFUSED);
	cr_expect_eq(metric(reg, ERR_SERIES), 2);

	/* back to the served files: nothing to do */
	swap_link("a");
	cr_expect_eq(tlr_poll(r, NOW), TLR_UNCHANGED);
	cr_expect_eq(a.a_calls, 0);

	/* the key fixed: the new pair is served */
	EVP_PKEY *k3 = write_leaf(&c, "b", "P-256", 0xB3, NOW + 30 * DAY);
	swap_link("b");
	cr_expect_eq(tlr_poll(r, NOW), TLR_RELOADED);
	cr_expect_str_eq(tlr_served(r)->tp_serial, "B3");
	cr_expect_eq(metric(reg, OK_SERIES), 1);

	/* the server refusing a good pair keeps the old one too */
	EVP_PKEY *k4 = write_leaf(&c, "c", "P-256", 0xC4, NOW + 40 * DAY);
	a.a_fail = 1;
	swap_link("c");
	cr_expect_eq(tlr_poll(r, NOW), TLR_REFUSED);
	cr_expect_str_eq(tlr_served(r)->tp_serial, "B3");
	cr_expect_eq(metric(reg, ERR_SERIES), 3);
	cr_expect_eq(metric(reg, EXPIRY_SERIES), (double)(NOW + 30 * DAY));

	/* an expired renewal is refused (now has moved past it) */
	EVP_PKEY *k5 = write_leaf(&c, "d", "P-256", 0xD5, NOW + 5);
	a.a_fail = 0;
	swap_link("d");
	cr_expect_eq(tlr_poll(r, NOW + 6), TLR_REFUSED);
	cr_expect_str_eq(tlr_served(r)->tp_serial, "B3");
	tlr_free(r);
	met_registry_free(reg);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	EVP_PKEY_free(k4);
	EVP_PKEY_free(k5);
	ca_free(&c);
}

Test(tlspair, reloader_refuses_a_bad_pair_at_start)
{
	struct ca c = ca_new();
	EVP_PKEY *k = write_leaf(&c, "a", "P-256", 1, NOW - 10);
	swap_link("a");
	char cp[4200], kp[4200], err[512] = "";
	path_of(cp, sizeof cp, "cur/tls.crt");
	path_of(kp, sizeof kp, "cur/tls.key");
	struct tlr_opts o = {cp, kp, NULL, NULL, NULL};
	struct tlr *r = (struct tlr *)1;
	cr_expect_eq(tlr_new(&o, NOW, &r, err, sizeof err), CC_ERR_TLS);
	cr_expect_null(r);
	cr_expect(strstr(err, cp) != NULL && strstr(err, "expired") != NULL, "%s", err);
	EVP_PKEY_free(k);
	ca_free(&c);
}
