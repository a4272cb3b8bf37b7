/* testhttp: scripted HTTP/1.1 (optionally TLS) server for tests. See testhttp.h. */
#include "testhttp.h"

#include "buf.h"
#include "cc_err.h"
#include "xalloc.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TH_MAX_HEAD (64 * 1024)        /* request line and headers */
#define TH_MAX_BODY (16 * 1024 * 1024) /* request body */

struct th_route_int {
	char *ri_method;   /* NULL matches any */
	char *ri_prefix;   /* never NULL; "" matches any */
	int ri_status;     /* 0: hang up without answering */
	char *ri_headers;  /* extra header block or NULL */
	char *ri_body;     /* whole body or NULL */
	char **ri_chunks;  /* NULL-terminated copy, or NULL */
	long ri_delay_ms;  /* before each chunk */
	int ri_cut;        /* drop the connection at the end */
	int ri_hold;       /* keep the stream open at the end */
	int ri_times;      /* use limit, 0 = none */
	int ri_used;       /* uses so far */
};

struct th_conn {
	struct th_server *c_srv;  /* owner */
	int c_fd;                 /* socket; closed by the server after join */
	SSL *c_ssl;               /* NULL without TLS */
	pthread_t c_tid;          /* connection thread */
	int c_done;               /* thread finished; under s_mu */
	int c_head_sent;          /* a status line went out for the current request */
	int c_chunked;            /* the current response uses chunked encoding */
	int c_close;              /* close after the current response */
	struct th_conn *c_next;   /* in s_conns */
};

struct th_server {
	int s_lfd;                      /* listening socket */
	int s_port;                     /* ephemeral port */
	char s_url[64];                 /* base URL */
	int s_stop[2];                  /* pipe, readable once stopping */
	int s_stopping;                 /* under s_mu */
	pthread_t s_accept_tid;         /* accept thread */
	SSL_CTX *s_ctx;                 /* NULL without TLS */
	char *s_ca_pem;                 /* CA certificate */
	char *s_client_cert_pem;        /* client certificate signed by the CA */
	char *s_client_key_pem;         /* its key */
	th_handler_fn s_handler;        /* or NULL */
	void *s_arg;                    /* for s_handler */
	pthread_mutex_t s_mu;           /* guards everything below */
	pthread_cond_t s_cv;            /* signalled when a request is recorded */
	struct th_route_int *s_routes;  /* s_nroutes entries */
	size_t s_nroutes;               /* count */
	struct th_request **s_reqs;     /* recorded requests, stable pointers */
	size_t s_nreqs;                 /* count */
	size_t s_reqcap;                /* allocated slots */
	struct th_conn *s_conns;        /* live and finished-but-unjoined connections */
	int s_open;                     /* connections not yet closed */
	int s_accepted;                 /* connections accepted since start */
};

/* ---- certificates ---- */

static char *
th_bio_string(BIO *bio)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);
	return n > 0 ? xstrndup(p, (size_t)n) : NULL;
}

static char *
th_cert_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *s = NULL;
	if (bio && PEM_write_bio_X509(bio, x))
		s = th_bio_string(bio);
	BIO_free(bio);
	return s;
}

static char *
th_key_pem(EVP_PKEY *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *s = NULL;
	if (bio && PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL))
		s = th_bio_string(bio);
	BIO_free(bio);
	return s;
}

static int
th_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	int ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

enum th_cert_kind { TH_CERT_CA, TH_CERT_SERVER, TH_CERT_CLIENT };

/*
 * A certificate for key, named cn, signed by issuer/issuer_key (self-signed when issuer is
 * NULL). Valid from an hour ago for a day, so clock skew between threads never matters.
 */
static X509 *
th_make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
    enum th_cert_kind kind)
{
	X509 *x = X509_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (!x || RAND_bytes(serial, sizeof serial) != 1)
		goto out;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof serial, NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	if (!X509_set_version(x, 2) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) || !X509_set_pubkey(x, key))
		goto out;
	X509_NAME *name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
		-1, 0))
		goto out;
	if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name))
		goto out;
	X509 *iss = issuer ? issuer : x;
	if (th_add_ext(x, iss, NID_subject_key_identifier, "hash") ||
	    th_add_ext(x, iss, NID_authority_key_identifier, "keyid:always"))
		goto out;
	switch (kind) {
	case TH_CERT_CA:
		if (th_add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE") ||
		    th_add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign"))
			goto out;
		break;
	case TH_CERT_SERVER:
		if (th_add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") ||
		    th_add_ext(x, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
		    th_add_ext(x, iss, NID_ext_key_usage, "serverAuth") ||
		    th_add_ext(x, iss, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"))
			goto out;
		break;
	case TH_CERT_CLIENT:
		if (th_add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") ||
		    th_add_ext(x, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
		    th_add_ext(x, iss, NID_ext_key_usage, "clientAuth"))
			goto out;
		break;
	}
	if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()))
		goto out;
	ok = 1;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

char *
th_make_unrelated_ca_pem(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = k ? th_make_cert(k, "th-unrelated-ca", NULL, NULL, TH_CERT_CA) : NULL;
	char *pem = x ? th_cert_pem(x) : NULL;
	X509_free(x);
	EVP_PKEY_free(k);
	return pem;
}

/* Build the CA, server and client certificates and the server's SSL_CTX. */
static int
th_tls_setup(struct th_server *s, int want_client_cert)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	EVP_PKEY *srv_key = EVP_EC_gen("P-256");
	EVP_PKEY *cli_key = EVP_EC_gen("P-256");
	X509 *ca = NULL, *srv = NULL, *cli = NULL;
	int rc = CC_ERR_TLS;

	if (!ca_key || !srv_key || !cli_key)
		goto out;
	ca = th_make_cert(ca_key, "th-test-ca", NULL, NULL, TH_CERT_CA);
	if (!ca)
		goto out;
	srv = th_make_cert(srv_key, "127.0.0.1", ca, ca_key, TH_CERT_SERVER);
	cli = th_make_cert(cli_key, "th-client", ca, ca_key, TH_CERT_CLIENT);
	if (!srv || !cli)
		goto out;
	s->s_ca_pem = th_cert_pem(ca);
	s->s_client_cert_pem = th_cert_pem(cli);
	s->s_client_key_pem = th_key_pem(cli_key);
	if (!s->s_ca_pem || !s->s_client_cert_pem || !s->s_client_key_pem)
		goto out;

	s->s_ctx = SSL_CTX_new(TLS_server_method());
	if (!s->s_ctx || SSL_CTX_use_certificate(s->s_ctx, srv) != 1 ||
	    SSL_CTX_use_PrivateKey(s->s_ctx, srv_key) != 1 ||
	    SSL_CTX_check_private_key(s->s_ctx) != 1)
		goto out;
	if (want_client_cert) {
		X509_STORE *st = SSL_CTX_get_cert_store(s->s_ctx);
		if (X509_STORE_add_cert(st, ca) != 1 || SSL_CTX_add_client_CA(s->s_ctx, ca) != 1)
			goto out;
		SSL_CTX_set_verify(s->s_ctx, SSL_VERIFY_PEER, NULL);
	}
	rc = CC_OK;
out:
	X509_free(ca);
	X509_free(srv);
	X509_free(cli);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(cli_key);
	return rc;
}

/* ---- requests ---- */

static void
th_request_free(struct th_request *r)
{
	if (!r)
		return;
	free(r->tr_method);
	free(r->tr_target);
	for (size_t i = 0; i < r->tr_nhdrs; i++) {
		free(r->tr_hdrs[i].th_name);
		free(r->tr_hdrs[i].th_value);
	}
	free(r->tr_hdrs);
	free(r->tr_body);
	free(r->tr_client_cn);
	free(r);
}

const char *
th_request_header(const struct th_request *r, const char *name)
{
	for (size_t i = 0; r && i < r->tr_nhdrs; i++) {
		if (strcasecmp(r->tr_hdrs[i].th_name, name) == 0)
			return r->tr_hdrs[i].th_value;
	}
	return NULL;
}

static char *
th_trim_dup(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return xstrndup(p, n);
}

/*
 * Parse the head (request line and headers, hlen bytes without the blank line) into a new
 * request. Returns NULL when the head is malformed.
 */
static struct th_request *
th_parse_head(const char *head, size_t hlen)
{
	struct th_request *r = xcalloc(1, sizeof *r);
	const char *end = head + hlen;
	const char *eol = memmem(head, hlen, "\r\n", 2);
	if (!eol)
		eol = end;
	const char *sp1 = memchr(head, ' ', (size_t)(eol - head));
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp1 == head || sp2 == sp1 + 1)
		goto bad;
	r->tr_method = xstrndup(head, (size_t)(sp1 - head));
	r->tr_target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	const char *p = eol < end ? eol + 2 : end;
	size_t cap = 0;
	while (p < end) {
		const char *le = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!le)
			le = end;
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (!colon || colon == p)
			goto bad;
		if (r->tr_nhdrs == cap) {
			cap = cap ? cap * 2 : 16;
			r->tr_hdrs = xrealloc(r->tr_hdrs, cap * sizeof *r->tr_hdrs);
		}
		r->tr_hdrs[r->tr_nhdrs].th_name = xstrndup(p, (size_t)(colon - p));
		r->tr_hdrs[r->tr_nhdrs].th_value = th_trim_dup(colon + 1, (size_t)(le - colon - 1));
		r->tr_nhdrs++;
		p = le < end ? le + 2 : end;
	}
	return r;
bad:
	th_request_free(r);
	return NULL;
}

static void
th_record(struct th_server *s, struct th_request *r)
{
	pthread_mutex_lock(&s->s_mu);
	if (s->s_nreqs == s->s_reqcap) {
		s->s_reqcap = s->s_reqcap ? s->s_reqcap * 2 : 16;
		s->s_reqs = xrealloc(s->s_reqs, s->s_reqcap * sizeof *s->s_reqs);
	}
	s->s_reqs[s->s_nreqs++] = r;
	pthread_cond_broadcast(&s->s_cv);
	pthread_mutex_unlock(&s->s_mu);
}

size_t
th_server_request_count(struct th_server *s)
{
	pthread_mutex_lock(&s->s_mu);
	size_t n = s->s_nreqs;
	pthread_mutex_unlock(&s->s_mu);
	return n;
}

const struct th_request *
th_server_request(struct th_server *s, size_t i)
{
	pthread_mutex_lock(&s->s_mu);
	const struct th_request *r = i < s->s_nreqs ? s->s_reqs[i] : NULL;
	pthread_mutex_unlock(&s->s_mu);
	return r;
}

int
th_server_wait_requests(struct th_server *s, size_t n, long timeout_ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	int rc = CC_OK;
	pthread_mutex_lock(&s->s_mu);
	while (s->s_nreqs < n) {
		if (pthread_cond_timedwait(&s->s_cv, &s->s_mu, &dl) == ETIMEDOUT) {
			rc = s->s_nreqs < n ? CC_ERR_TIMEOUT : CC_OK;
			break;
		}
	}
	pthread_mutex_unlock(&s->s_mu);
	return rc;
}

int
th_server_open_connections(struct th_server *s)
{
	pthread_mutex_lock(&s->s_mu);
	int n = s->s_open;
	pthread_mutex_unlock(&s->s_mu);
	return n;
}

int
th_server_accepted(struct th_server *s)
{
	pthread_mutex_lock(&s->s_mu);
	int n = s->s_accepted;
	pthread_mutex_unlock(&s->s_mu);
	return n;
}

/* ---- connection I/O ---- */

static int
th_stopping(struct th_server *s)
{
	pthread_mutex_lock(&s->s_mu);
	int v = s->s_stopping;
	pthread_mutex_unlock(&s->s_mu);
	return v;
}

/* Read up to n bytes; returns the count, 0 on orderly close, -1 on error. */
static ssize_t
th_read(struct th_conn *c, void *p, size_t n)
{
	if (c->c_ssl) {
		int r = SSL_read(c->c_ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		return r > 0 ? r : (SSL_get_error(c->c_ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
	}
	for (;;) {
		ssize_t r = recv(c->c_fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

int
th_send_raw(struct th_conn *c, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w;
		if (c->c_ssl) {
			int r = SSL_write(c->c_ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
			w = r > 0 ? r : -1;
		} else {
			w = send(c->c_fd, p, len, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
		}
		if (w <= 0)
			return CC_ERR_IO;
		p += w;
		len -= (size_t)w;
	}
	return CC_OK;
}

static const char *
th_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	}
	return "Status";
}

int
th_send_head(struct th_conn *c, int status, const char *extra_headers, long content_length)
{
	struct buf b;
	buf_init(&b, TH_MAX_HEAD);
	int rc = buf_printf(&b, "HTTP/1.1 %d %s\r\n", status, th_reason(status));
	if (rc == CC_OK && extra_headers)
		rc = buf_append_str(&b, extra_headers);
	if (rc == CC_OK && !(extra_headers && strcasestr(extra_headers, "content-type:")))
		rc = buf_append_str(&b, "Content-Type: application/json\r\n");
	if (rc == CC_OK && content_length >= 0)
		rc = buf_printf(&b, "Content-Length: %ld\r\n", content_length);
	else if (rc == CC_OK)
		rc = buf_append_str(&b, "Transfer-Encoding: chunked\r\n");
	if (rc == CC_OK && c->c_close)
		rc = buf_append_str(&b, "Connection: close\r\n");
	if (rc == CC_OK)
		rc = buf_append_str(&b, "\r\n");
	if (rc == CC_OK)
		rc = th_send_raw(c, b.b_data, b.b_len);
	buf_free(&b);
	c->c_head_sent = 1;
	c->c_chunked = content_length < 0;
	return rc;
}

int
th_send_chunk(struct th_conn *c, const void *data, size_t len)
{
	if (!c->c_chunked)
		return th_send_raw(c, data, len);
	if (len == 0)
		return CC_OK;
	char sz[32];
	int n = snprintf(sz, sizeof sz, "%zx\r\n", len);
	int rc = th_send_raw(c, sz, (size_t)n);
	if (rc == CC_OK)
		rc = th_send_raw(c, data, len);
	if (rc == CC_OK)
		rc = th_send_raw(c, "\r\n", 2);
	return rc;
}

int
th_send_end(struct th_conn *c)
{
	return th_send_raw(c, "0\r\n\r\n", 5);
}

int
th_send_simple(struct th_conn *c, int status, const char *extra_headers, const char *body)
{
	size_t n = body ? strlen(body) : 0;
	int rc = th_send_head(c, status, extra_headers, (long)n);
	if (rc == CC_OK && n)
		rc = th_send_raw(c, body, n);
	return rc;
}

void
th_conn_close_after(struct th_conn *c)
{
	c->c_close = 1;
}

int
th_conn_sleep(struct th_conn *c, long ms)
{
	struct pollfd p = {.fd = c->c_srv->s_stop[0], .events = POLLIN};
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
		if (spent >= ms)
			return CC_OK;
		int r = poll(&p, 1, (int)(ms - spent));
		if (r > 0)
			return CC_ERR_CANCELED;
	}
}

int
th_conn_wait_peer_close(struct th_conn *c)
{
	struct pollfd p[2] = {{.fd = c->c_fd, .events = POLLIN},
	    {.fd = c->c_srv->s_stop[0], .events = POLLIN}};
	char scratch[512];
	for (;;) {
		if (th_stopping(c->c_srv))
			return CC_ERR_CANCELED;
		int r = poll(p, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || p[1].revents)
			return CC_ERR_CANCELED;
		if (p[0].revents) {
			if (th_stopping(c->c_srv))
				return CC_ERR_CANCELED;
			/* Anything the client sends on a held stream is discarded. */
			if (th_read(c, scratch, sizeof scratch) <= 0)
				return CC_OK;
		}
	}
}

/* ---- routes ---- */

static void
th_route_clear(struct th_route_int *ri)
{
	free(ri->ri_method);
	free(ri->ri_prefix);
	free(ri->ri_headers);
	free(ri->ri_body);
	for (size_t i = 0; ri->ri_chunks && ri->ri_chunks[i]; i++)
		free(ri->ri_chunks[i]);
	free(ri->ri_chunks);
}

int
th_server_add_route(struct th_server *s, const struct th_route *r)
{
	struct th_route_int ri = {
	    .ri_method = xstrdup(r->tr_method),
	    .ri_prefix = xstrdup(r->tr_prefix ? r->tr_prefix : ""),
	    .ri_status = r->tr_status,
	    .ri_headers = xstrdup(r->tr_headers),
	    .ri_body = xstrdup(r->tr_body),
	    .ri_delay_ms = r->tr_delay_ms,
	    .ri_cut = r->tr_cut,
	    .ri_hold = r->tr_hold,
	    .ri_times = r->tr_times,
	};
	if (r->tr_chunks) {
		size_t n = 0;
		while (r->tr_chunks[n])
			n++;
		ri.ri_chunks = xcalloc(n + 1, sizeof *ri.ri_chunks);
		for (size_t i = 0; i < n; i++)
			ri.ri_chunks[i] = xstrdup(r->tr_chunks[i]);
	}
	pthread_mutex_lock(&s->s_mu);
	s->s_routes = xrealloc(s->s_routes, (s->s_nroutes + 1) * sizeof *s->s_routes);
	s->s_routes[s->s_nroutes++] = ri;
	pthread_mutex_unlock(&s->s_mu);
	return CC_OK;
}

void
th_server_clear_routes(struct th_server *s)
{
	pthread_mutex_lock(&s->s_mu);
	for (size_t i = 0; i < s->s_nroutes; i++)
		th_route_clear(&s->s_routes[i]);
	free(s->s_routes);
	s->s_routes = NULL;
	s->s_nroutes = 0;
	pthread_mutex_unlock(&s->s_mu);
}

/* Copy the matching route out under the lock, so clear_routes cannot pull it away. */
static int
th_route_take(struct th_server *s, const struct th_request *req, struct th_route_int *copy)
{
	int found = 0;
	pthread_mutex_lock(&s->s_mu);
	for (size_t i = 0; i < s->s_nroutes && !found; i++) {
		struct th_route_int *ri = &s->s_routes[i];
		if (ri->ri_method && strcmp(ri->ri_method, req->tr_method) != 0)
			continue;
		if (strncmp(req->tr_target, ri->ri_prefix, strlen(ri->ri_prefix)) != 0)
			continue;
		if (ri->ri_times > 0 && ri->ri_used >= ri->ri_times)
			continue;
		ri->ri_used++;
		*copy = *ri;
		copy->ri_method = xstrdup(ri->ri_method);
		copy->ri_prefix = xstrdup(ri->ri_prefix);
		copy->ri_headers = xstrdup(ri->ri_headers);
		copy->ri_body = xstrdup(ri->ri_body);
		copy->ri_chunks = NULL;
		if (ri->ri_chunks) {
			size_t n = 0;
			while (ri->ri_chunks[n])
				n++;
			copy->ri_chunks = xcalloc(n + 1, sizeof *copy->ri_chunks);
			for (size_t k = 0; k < n; k++)
				copy->ri_chunks[k] = xstrdup(ri->ri_chunks[k]);
		}
		found = 1;
	}
	pthread_mutex_unlock(&s->s_mu);
	return found;
}

static void
th_serve_route(struct th_conn *c, const struct th_request *req)
{
	struct th_route_int ri;
	if (!th_route_take(c->c_srv, req, &ri)) {
		char body[512];
		char target[200];
		xstrlcpy(target, req->tr_target, sizeof target);
		for (char *p = target; *p; p++) {
			if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
				*p = '_';
		}
		snprintf(body, sizeof body,
		    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
		    "\"message\":\"testhttp: no route for %s %s\",\"reason\":\"NotFound\",\"code\":404}",
		    req->tr_method, target);
		th_send_simple(c, 404, NULL, body);
		return;
	}
	if (ri.ri_status == 0) {
		c->c_close = 1;
		goto out;
	}
	if (ri.ri_cut)
		c->c_close = 1;
	if (ri.ri_chunks) {
		if (th_send_head(c, ri.ri_status, ri.ri_headers, -1) != CC_OK) {
			c->c_close = 1;
			goto out;
		}
		for (size_t i = 0; ri.ri_chunks[i]; i++) {
			if ((ri.ri_delay_ms > 0 && th_conn_sleep(c, ri.ri_delay_ms) != CC_OK) ||
			    th_send_chunk(c, ri.ri_chunks[i], strlen(ri.ri_chunks[i])) != CC_OK) {
				c->c_close = 1;
				goto out;
			}
		}
		if (ri.ri_cut)
			goto out;
		if (ri.ri_hold) {
			th_conn_wait_peer_close(c);
			c->c_close = 1;
			goto out;
		}
		if (th_send_end(c) != CC_OK)
			c->c_close = 1;
		goto out;
	}
	size_t n = ri.ri_body ? strlen(ri.ri_body) : 0;
	/*
	 * A cut or held body promises more bytes than it sends: cut then hangs up (a short read),
	 * held stalls (the client's own timeout must end it).
	 */
	long announced = (long)n + (ri.ri_cut || ri.ri_hold ? 64 : 0);
	if (ri.ri_delay_ms > 0 && th_conn_sleep(c, ri.ri_delay_ms) != CC_OK) {
		c->c_close = 1;
		goto out;
	}
	if (th_send_head(c, ri.ri_status, ri.ri_headers, announced) != CC_OK ||
	    (n && th_send_raw(c, ri.ri_body, n) != CC_OK)) {
		c->c_close = 1;
		goto out;
	}
	if (ri.ri_hold) {
		th_conn_wait_peer_close(c);
		c->c_close = 1;
	}
out:
	th_route_clear(&ri);
}

/* ---- connection thread ---- */

/* Fill rb until it holds a whole head; returns the head length (without CRLFCRLF) or -1. */
static long
th_read_head(struct th_conn *c, struct buf *rb)
{
	char tmp[4096];
	for (;;) {
		if (rb->b_len) {
			const char *e = memmem(rb->b_data, rb->b_len, "\r\n\r\n", 4);
			if (e)
				return (long)(e - rb->b_data);
		}
		if (rb->b_len > TH_MAX_HEAD)
			return -1;
		ssize_t n = th_read(c, tmp, sizeof tmp);
		if (n <= 0 || buf_append(rb, tmp, (size_t)n) != CC_OK)
			return -1;
	}
}

/* Read one request; returns it (recorded by the caller) or NULL when the connection is done. */
static struct th_request *
th_read_request(struct th_conn *c, struct buf *rb)
{
	long hlen = th_read_head(c, rb);
	if (hlen < 0)
		return NULL;
	struct th_request *r = th_parse_head(rb->b_data, (size_t)hlen);
	buf_consume(rb, (size_t)hlen + 4);
	if (!r) {
		th_send_simple(c, 400, NULL, "{\"kind\":\"Status\",\"code\":400}");
		return NULL;
	}
	const char *te = th_request_header(r, "Transfer-Encoding");
	if (te && strcasecmp(te, "identity") != 0) {
		th_send_simple(c, 501, NULL, "{\"kind\":\"Status\",\"code\":501}");
		th_request_free(r);
		return NULL;
	}
	const char *cl = th_request_header(r, "Content-Length");
	long long want = 0;
	if (cl) {
		char *end = NULL;
		errno = 0;
		want = strtoll(cl, &end, 10);
		if (errno || end == cl || *end || want < 0 || want > TH_MAX_BODY) {
			th_send_simple(c, 400, NULL, "{\"kind\":\"Status\",\"code\":400}");
			th_request_free(r);
			return NULL;
		}
	}
	const char *expect = th_request_header(r, "Expect");
	if (expect && strcasecmp(expect, "100-continue") == 0 && want > 0 &&
	    rb->b_len < (size_t)want) {
		if (th_send_raw(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) != CC_OK)
			goto fail;
	}
	char tmp[8192];
	while (rb->b_len < (size_t)want) {
		ssize_t n = th_read(c, tmp, sizeof tmp);
		if (n <= 0 || buf_append(rb, tmp, (size_t)n) != CC_OK)
			goto fail;
	}
	r->tr_body = xstrndup(want ? rb->b_data : "", (size_t)want);
	r->tr_body_len = (size_t)want;
	buf_consume(rb, (size_t)want);
	if (c->c_ssl) {
		X509 *peer = SSL_get1_peer_certificate(c->c_ssl);
		if (peer) {
			char cn[256];
			if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
				sizeof cn) > 0)
				r->tr_client_cn = xstrdup(cn);
			X509_free(peer);
		}
	}
	const char *conn = th_request_header(r, "Connection");
	if (conn && strcasecmp(conn, "close") == 0)
		c->c_close = 1;
	return r;
fail:
	th_request_free(r);
	return NULL;
}

static void *
th_conn_main(void *arg)
{
	struct th_conn *c = arg;
	struct th_server *s = c->c_srv;
	struct buf rb;
	buf_init(&rb, TH_MAX_HEAD + TH_MAX_BODY + 8192);

	if (s->s_ctx) {
		c->c_ssl = SSL_new(s->s_ctx);
		if (!c->c_ssl || SSL_set_fd(c->c_ssl, c->c_fd) != 1 || SSL_accept(c->c_ssl) != 1) {
			ERR_clear_error();
			goto out;
		}
	}
	while (!th_stopping(s)) {
		struct th_request *r = th_read_request(c, &rb);
		if (!r)
			break;
		th_record(s, r);
		c->c_head_sent = 0;
		c->c_chunked = 0;
		if (s->s_handler)
			s->s_handler(s->s_arg, r, c);
		if (!c->c_head_sent)
			th_serve_route(c, r);
		if (c->c_close)
			break;
	}
out:
	if (c->c_ssl) {
		SSL_shutdown(c->c_ssl);
		SSL_free(c->c_ssl);
		c->c_ssl = NULL;
		ERR_clear_error();
	}
	shutdown(c->c_fd, SHUT_RDWR);
	buf_free(&rb);
	pthread_mutex_lock(&s->s_mu);
	c->c_done = 1;
	s->s_open--;
	pthread_mutex_unlock(&s->s_mu);
	return NULL;
}

/* Join and free connections whose thread has finished. Called without s_mu held. */
static void
th_reap(struct th_server *s, int all)
{
	for (;;) {
		struct th_conn *victim = NULL;
		pthread_mutex_lock(&s->s_mu);
		for (struct th_conn **pp = &s->s_conns; *pp; pp = &(*pp)->c_next) {
			if (all || (*pp)->c_done) {
				victim = *pp;
				*pp = victim->c_next;
				break;
			}
		}
		pthread_mutex_unlock(&s->s_mu);
		if (!victim)
			return;
		pthread_join(victim->c_tid, NULL);
		close(victim->c_fd);
		free(victim);
	}
}

static void *
th_accept_main(void *arg)
{
	struct th_server *s = arg;
	struct pollfd p[2] = {{.fd = s->s_lfd, .events = POLLIN}, {.fd = s->s_stop[0], .events = POLLIN}};
	for (;;) {
		int r = poll(p, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || p[1].revents)
			break;
		int fd = accept(s->s_lfd, NULL, NULL);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct th_conn *c = xcalloc(1, sizeof *c);
		c->c_srv = s;
		c->c_fd = fd;
		pthread_mutex_lock(&s->s_mu);
		if (s->s_stopping) {
			pthread_mutex_unlock(&s->s_mu);
			close(fd);
			free(c);
			break;
		}
		if (pthread_create(&c->c_tid, NULL, th_conn_main, c) != 0) {
			pthread_mutex_unlock(&s->s_mu);
			close(fd);
			free(c);
			continue;
		}
		s->s_open++;
		s->s_accepted++;
		c->c_next = s->s_conns;
		s->s_conns = c;
		pthread_mutex_unlock(&s->s_mu);
		th_reap(s, 0);
	}
	return NULL;
}

/* ---- server ---- */

int
th_server_start(const struct th_opts *opts, struct th_server **out)
{
	struct th_opts none = {0};
	if (!opts)
		opts = &none;
	*out = NULL;
	/* A client that hangs up mid-write must not kill the test process. */
	signal(SIGPIPE, SIG_IGN);

	struct th_server *s = xcalloc(1, sizeof *s);
	s->s_lfd = -1;
	s->s_stop[0] = s->s_stop[1] = -1;
	pthread_mutex_init(&s->s_mu, NULL);
	pthread_cond_init(&s->s_cv, NULL);
	s->s_handler = opts->to_handler;
	s->s_arg = opts->to_arg;
	int rc = CC_ERR_IO;

	if (opts->to_tls && (rc = th_tls_setup(s, opts->to_want_client_cert)) != CC_OK)
		goto out;
	rc = CC_ERR_IO;
	if (pipe(s->s_stop) != 0)
		goto out;
	s->s_lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->s_lfd < 0)
		goto out;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	if (bind(s->s_lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s->s_lfd, 64) != 0 ||
	    getsockname(s->s_lfd, (struct sockaddr *)&sa, &sl) != 0)
		goto out;
	s->s_port = ntohs(sa.sin_port);
	snprintf(s->s_url, sizeof s->s_url, "%s://127.0.0.1:%d", s->s_ctx ? "https" : "http",
	    s->s_port);
	if (pthread_create(&s->s_accept_tid, NULL, th_accept_main, s) != 0)
		goto out;
	*out = s;
	return CC_OK;
out:
	if (s->s_lfd >= 0)
		close(s->s_lfd);
	if (s->s_stop[0] >= 0) {
		close(s->s_stop[0]);
		close(s->s_stop[1]);
	}
	SSL_CTX_free(s->s_ctx);
	free(s->s_ca_pem);
	free(s->s_client_cert_pem);
	free(s->s_client_key_pem);
	pthread_mutex_destroy(&s->s_mu);
	pthread_cond_destroy(&s->s_cv);
	free(s);
	return rc;
}

void
th_server_free(struct th_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->s_mu);
	s->s_stopping = 1;
	pthread_mutex_unlock(&s->s_mu);
	if (write(s->s_stop[1], "x", 1) != 1) {
		/* The pipe is empty and ours; a failed write leaves nothing to recover. */
	}
	pthread_join(s->s_accept_tid, NULL);
	pthread_mutex_lock(&s->s_mu);
	for (struct th_conn *c = s->s_conns; c; c = c->c_next)
		shutdown(c->c_fd, SHUT_RDWR);
	pthread_mutex_unlock(&s->s_mu);
	th_reap(s, 1);

	close(s->s_lfd);
	close(s->s_stop[0]);
	close(s->s_stop[1]);
	th_server_clear_routes(s);
	for (size_t i = 0; i < s->s_nreqs; i++)
		th_request_free(s->s_reqs[i]);
	free(s->s_reqs);
	SSL_CTX_free(s->s_ctx);
	free(s->s_ca_pem);
	free(s->s_client_cert_pem);
	free(s->s_client_key_pem);
	pthread_mutex_destroy(&s->s_mu);
	pthread_cond_destroy(&s->s_cv);
	free(s);
}

const char *
th_server_url(const struct th_server *s)
{
	return s->s_url;
}

int
th_server_port(const struct th_server *s)
{
	return s->s_port;
}

const char *
th_server_ca_pem(const struct th_server *s)
{
	return s->s_ca_pem;
}

const char *
th_server_client_cert_pem(const struct th_server *s)
{
	return s->s_client_cert_pem;
}

const char *
th_server_client_key_pem(const struct th_server *s)
{
	return s->s_client_key_pem;
}
