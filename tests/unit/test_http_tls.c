/*
 * Tests for http_server over TLS: real HTTPS requests over loopback with libcurl (verifying
 * against the test's CA), the certificate a handshake is served read with OpenSSL, and the
 * reload of the files while the server runs.
 */
#include "buf.h"
#include "cc_err.h"
#include "http_server.h"
#include "live_page.h"
#include "log.h"
#include "metrics.h"
#include "scratch.h"
#include "testcert.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#define DAY 86400

static char dir[1024];

static void
setup(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cr_assert_eq(scratch_dir("httptls", dir, sizeof dir), 0);
}

static void
teardown(void)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	(void)!system(cmd);
	curl_global_cleanup();
}

TestSuite(http_tls, .init = setup, .fini = teardown);

struct ca {
	EVP_PKEY *c_key;
	X509 *c_cert;
	const char *c_name; /* its CN, the leaves' issuer */
};

/* A CA, written to dir/NAME.crt for the clients. */
static struct ca
ca_new(const char *name)
{
	struct ca c;
	int64_t now = (int64_t)time(NULL);
	c.c_key = tc_key("P-256");
	struct tc_spec s = {name, name, NULL, now - DAY, now + 365 * DAY, EVP_sha256(), 1, 1,
	    NULL, 0};
	c.c_cert = tc_cert(c.c_key, c.c_key, &s);
	c.c_name = name;
	char p[1200];
	snprintf(p, sizeof p, "%s/%s.crt", dir, name);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	PEM_write_X509(f, c.c_cert);
	fclose(f);
	return c;
}

static void
ca_free(struct ca *c)
{
	X509_free(c->c_cert);
	EVP_PKEY_free(c->c_key);
}

/* A serving pair for 127.0.0.1 in dir/sub, of key kind, with serial. */
static void
write_leaf(const struct ca *c, const char *sub, const char *kind, long serial)
{
	char d[1200];
	int64_t now = (int64_t)time(NULL);
	snprintf(d, sizeof d, "%s/%s", dir, sub);
	mkdir(d, 0700);
	EVP_PKEY *k = tc_key(kind);
	struct tc_spec s = {c->c_name, "certcast.test", "DNS:localhost,IP:127.0.0.1", now - DAY,
	    now + 30 * DAY, EVP_sha256(), 0, serial, NULL, 0};
	X509 *x = tc_cert(k, c->c_key, &s);
	tc_write_pair(d, x, NULL, 0, k);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* dir/cur points at dir/target, swapped in one rename as kubelet does. */
static void
swap_link(const char *target)
{
	char tmp[1200], cur[1200];
	snprintf(tmp, sizeof tmp, "%s/cur.tmp", dir);
	snprintf(cur, sizeof cur, "%s/cur", dir);
	unlink(tmp);
	cr_assert_eq(symlink(target, tmp), 0);
	cr_assert_eq(rename(tmp, cur), 0);
}

static struct http_server *
start(struct met_registry *reg, int poll_ms)
{
	char cert[1200], key[1200], err[512] = "";
	snprintf(cert, sizeof cert, "%s/cur/tls.crt", dir);
	snprintf(key, sizeof key, "%s/cur/tls.key", dir);
	struct http_server_opts o = {"127.0.0.1:0", reg, NULL, NULL, NULL, NULL, NULL};
	o.hso_tls_cert = cert;
	o.hso_tls_key = key;
	o.hso_tls_poll_ms = poll_ms;
	struct http_server *s = NULL;
	cr_assert_eq(http_server_start(&o, &s, err, sizeof err), CC_OK, "%s", err);
	return s;
}

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	return buf_append(arg, p, sz * n) == CC_OK ? sz * n : 0;
}

/* GET scheme://127.0.0.1:port/path trusting dir/CA.crt; the status, or -1 on a failure. */
static long
get(const char *scheme, int port, const char *path, const char *ca, struct buf *b)
{
	char url[256], cafile[1200];
	snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", scheme, port, path);
	snprintf(cafile, sizeof cafile, "%s/%s.crt", dir, ca);
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	long code = -1;
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return code;
}

/* The serial (hex) of the certificate a verified handshake with port gets, into out. */
static int
served_serial(int port, const char *ca, char *out, size_t outsz)
{
	char cafile[1200], addr[64];
	snprintf(cafile, sizeof cafile, "%s/%s.crt", dir, ca);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_load_verify_locations(ctx, cafile, NULL);
	BIO *b = BIO_new_ssl_connect(ctx);
	SSL *ssl = NULL;
	BIO_get_ssl(b, &ssl);
	BIO_set_conn_hostname(b, addr);
	int rc = -1;
	if (BIO_do_connect(b) == 1 && BIO_do_handshake(b) == 1 &&
	    SSL_get_verify_result(ssl) == X509_V_OK) {
		X509 *x = SSL_get1_peer_certificate(ssl);
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		char *hex = BN_bn2hex(bn);
		snprintf(out, outsz, "%s", hex);
		OPENSSL_free(hex);
		BN_free(bn);
		X509_free(x);
		rc = 0;
	}
	ERR_clear_error();
	BIO_free_all(b);
	SSL_CTX_free(ctx);
	return rc;
}

/* Wait up to ms for the served serial to become want. */
static int
wait_serial(int port, const char *want, int ms)
{
	char got[100] = "";
	for (int waited = 0; waited <= ms; waited += 50) {
		if (served_serial(port, "ca", got, sizeof got) == 0 && strcmp(got, want) == 0)
			return 1;
		usleep(50 * 1000);
	}
	return 0;
}

Test(http_tls, https_endpoints_verify_against_the_ca)
{
	struct ca c = ca_new("ca");
	struct ca other = ca_new("other");
	write_leaf(&c, "a", "P-256", 0xA1);
	swap_link("a");
	struct met_registry *reg = met_registry_new();
	struct http_server *s = start(reg, 0);
	int port = http_server_port(s);
	struct buf b;
	buf_init(&b, 1 << 20);
	cr_expect_eq(get("https", port, "/healthz", "ca", &b), 200);
	buf_free(&b);
	buf_init(&b, 1 << 20);
	cr_expect_eq(get("https", port, "/metrics", "ca", &b), 200);
	buf_append(&b, "", 1);
	cr_expect(strstr(b.b_data, "\ncertcast_http_tls_certificate_expiry_timestamp_seconds ") !=
		NULL,
	    "%s", b.b_data);
	cr_expect(strstr(b.b_data, "certcast_http_tls_reloads_total{result=\"ok\"} 0") != NULL,
	    "%s", b.b_data);
	buf_free(&b);
	/* a reply of several TLS records, twice: curl would take h2 if offered, which broke here */
	for (int i = 0; i < 2; i++) {
		buf_init(&b, 1 << 20);
		cr_expect_eq(get("https", port, "/", "ca", &b), 200, "request %d", i);
		cr_expect_eq(b.b_len, live_page_len, "request %d", i);
		buf_free(&b);
	}
	buf_init(&b, 1 << 20);
	cr_expect_eq(get("http", port, "/healthz", "ca", &b), -1, "plain HTTP was answered");
	buf_free(&b);
	buf_init(&b, 1 << 20);
	cr_expect_eq(get("https", port, "/healthz", "other", &b), -1,
	    "a client trusting another CA got an answer");
	buf_free(&b);
	http_server_stop(s);
	met_registry_free(reg);
	ca_free(&c);
	ca_free(&other);
}

Test(http_tls, reload_serves_the_new_pair_and_keeps_the_old_one_for_a_bad_pair)
{
	struct ca c = ca_new("ca");
	write_leaf(&c, "a", "P-256", 0xA1);
	write_leaf(&c, "b", "rsa2048", 0xB2);
	write_leaf(&c, "bad", "P-256", 0xBAD);
	write_leaf(&c, "other", "P-256", 0x07);
	char cmd[8000];
	/* bad: its own certificate with another pair's key */
	snprintf(cmd, sizeof cmd, "cp '%s/other/tls.key' '%s/bad/tls.key'", dir, dir);
	cr_assert_eq(system(cmd), 0);
	swap_link("a");
	struct met_registry *reg = met_registry_new();
	struct http_server *s = start(reg, 100);
	int port = http_server_port(s);
	cr_expect(wait_serial(port, "A1", 0), "the first pair is not served");
	swap_link("b");
	cr_expect(wait_serial(port, "B2", 5000), "the renewed pair is not served");
	swap_link("bad");
	usleep(600 * 1000);
	cr_expect(wait_serial(port, "B2", 0), "a bad pair replaced the good one");
	struct buf b;
	buf_init(&b, 1 << 20);
	cr_expect_eq(get("https", port, "/metrics", "ca", &b), 200);
	buf_append(&b, "", 1);
	cr_expect(strstr(b.b_data, "certcast_http_tls_reloads_total{result=\"ok\"} 1") != NULL,
	    "%s", b.b_data);
	cr_expect(strstr(b.b_data, "certcast_http_tls_reloads_total{result=\"error\"} 1") != NULL,
	    "%s", b.b_data);
	buf_free(&b);
	/* an in-place rewrite (not atomic) ends up served too */
	snprintf(cmd, sizeof cmd, "cat '%s/a/tls.key' > '%s/bad/tls.key' && cat '%s/a/tls.crt' > "
				  "'%s/bad/tls.crt'",
	    dir, dir, dir, dir);
	cr_assert_eq(system(cmd), 0);
	cr_expect(wait_serial(port, "A1", 5000), "the repaired pair is not served");
	http_server_stop(s);
	met_registry_free(reg);
	ca_free(&c);
}

Test(http_tls, start_refuses_half_a_pair_and_bad_files)
{
	struct ca c = ca_new("ca");
	write_leaf(&c, "a", "P-256", 0xA1);
	char cert[1200], key[1200], err[512] = "";
	snprintf(cert, sizeof cert, "%s/a/tls.crt", dir);
	snprintf(key, sizeof key, "%s/a/tls.crt", dir); /* a certificate where the key should be */
	struct http_server_opts o = {"127.0.0.1:0", NULL, NULL, NULL, NULL, NULL, NULL};
	o.hso_tls_cert = cert;
	struct http_server *s = NULL;
	cr_expect_eq(http_server_start(&o, &s, err, sizeof err), CC_ERR_INVAL);
	cr_expect(strstr(err, "both") != NULL, "%s", err);
	cr_expect_null(s);
	o.hso_tls_key = key;
	cr_expect_eq(http_server_start(&o, &s, err, sizeof err), CC_ERR_PARSE);
	cr_expect(strstr(err, key) != NULL && strstr(err, "private key") != NULL, "%s", err);
	cr_expect_null(s);
	ca_free(&c);
}
