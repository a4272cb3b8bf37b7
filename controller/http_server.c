/*
 * http_server: /metrics, /healthz, /readyz, /explain/NS/NAME, /status, the live page (/) and its
 * WebSocket (/live) on libwebsockets, served by one thread.
 */
#include "http_server.h"

#include "buf.h"
#include "cc_err.h"
#include "httpauth.h"
#include "live.h"
#include "live_page.h"
#include "log.h"
#include "metrics.h"
#include "resource.h"
#include "timefmt.h"
#include "tlsreload.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

/* A scrape of tens of thousands of certificates is a few MB; this bounds a runaway registry. */
#define HTTP_BODY_MAX (64u << 20)
/* Bytes handed to lws per writable callback. */
#define HTTP_CHUNK 16384
/* One explanation is a few KiB of text; this bounds a runaway one. */
#define HTTP_EXPLAIN_MAX (1u << 20)
/* Query arguments of an explain request looked at, and the longest one. */
#define HTTP_EXPLAIN_ARGS 8
#define HTTP_EXPLAIN_ARG_MAX 64
#define HTTP_TEXT_PLAIN "text/plain; charset=utf-8"
/* Room for one /status query argument: "namespace=" and a 63-character label, and more. */
#define HTTP_STATUS_ARG_MAX 128
/* Live pages connected at once: each holds up to one message (a few MB at 10k certificates). */
#define HTTP_LIVE_MAX 32
/* An Authorization header longer than this cannot hold a bearer token httpauth accepts. */
#define HTTP_AUTH_HDR_MAX 8300
/* Request header bytes kept per connection: an HTTP_AUTH_HDR_MAX header and the usual rest. */
#define HTTP_HEADER_DATA_MAX 16384

struct http_server {
	struct lws_context *hs_ctx;        /* libwebsockets context, used by the thread only */
	struct met_registry *hs_metrics;   /* borrowed */
	http_explain_fn hs_explain;        /* NULL: no explanations */
	void *hs_explain_arg;              /* borrowed */
	http_status_fn hs_status;          /* NULL: no /status */
	void *hs_status_arg;               /* borrowed */
	struct live *hs_live;              /* borrowed; NULL: the page has no feed */
	struct hauth *hs_auth;             /* borrowed; NULL: no authentication */
	int hs_live_n;                     /* pages connected; the service thread's own */
	pthread_t hs_thread;               /* runs http_loop */
	atomic_int hs_stop;                /* set by http_server_stop */
	atomic_int hs_ready;               /* /readyz answer */
	atomic_int hs_failed;              /* the service loop ended on an error */
	char hs_addr[128];                 /* the listen address as given, for messages */
	int hs_port;                       /* bound port */
	char hs_iface[INET6_ADDRSTRLEN];   /* numeric bind address, "" for all */
	struct tlr *hs_tls;                /* owned; NULL: plain HTTP */
	SSL_CTX *hs_ssl_ctx;               /* the vhost's, owned by lws; NULL: plain HTTP */
	lws_sorted_usec_list_t hs_tls_sul; /* the timer that polls the TLS files */
	lws_usec_t hs_tls_poll_us;         /* its period */
};

/* Where a request stands with httpAuth: kubernetes. */
enum http_auth_state {
	HA_NONE = 0,        /* no review outstanding */
	HA_WAITING,         /* a review runs on httpauth's workers (ss_job) */
	HA_DECIDED,         /* ss_dec holds the answer; the next writable callback applies it */
};

/* One HTTP transaction's response, streamed out in chunks. */
struct http_session {
	char *ss_body;      /* owned response body */
	size_t ss_len;      /* bytes in ss_body */
	size_t ss_off;      /* bytes already written */
	enum http_auth_state ss_auth;  /* see http_auth_state */
	struct hauth_job *ss_job;      /* the review in flight (HA_WAITING), owned by httpauth */
	char *ss_path;                 /* owned copy of the path while a review runs */
	struct hauth_decision ss_dec;  /* the review's answer (HA_DECIDED) */
};

static const char http_explain_usage[] =
    "GET /explain/NAMESPACE/NAME explains the controller's forecast for one Certificate: the\n"
    "number certcast_certificate_risk publishes, scored on demand with the inputs the controller\n"
    "scores with (its settings, cert-manager's live signals, ARI windows, ACME budgets, the\n"
    "learned model). The text is what `certcast explain NAMESPACE/NAME` prints;\n"
    "?format=json gives risk, level, predicted failure and every factor with its contribution.\n"
    "`certcast explain NAMESPACE/NAME --controller URL` fetches it.\n";

static int
http_host_ok(const char *h)
{
	for (; *h; h++) {
		char c = *h;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* http_parse_addr's work; host may hold part of a refused address. */
static int
http_split_addr(const char *addr, char *host, size_t hostsz, int *port, char *err,
    size_t errsz)
{
	if (addr == NULL || addr[0] == '\0')
		return cc_fail(err, errsz, CC_ERR_INVAL, "empty address");
	const char *hs = addr, *he, *ps;
	if (addr[0] == '[') {
		hs = addr + 1;
		he = strchr(hs, ']');
		if (he == NULL || he[1] != ':')
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "expected [IPV6]:PORT, e.g. [::1]:9403");
		ps = he + 2;
	} else {
		he = strrchr(addr, ':');
		if (he == NULL)
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "missing :PORT (use HOST:PORT, :PORT or [IPV6]:PORT)");
		if (memchr(addr, ':', (size_t)(he - addr)) != NULL)
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "an IPv6 address needs brackets, e.g. [::1]:9403");
		ps = he + 1;
	}
	size_t hl = (size_t)(he - hs);
	if (hl + 1 > hostsz)
		return cc_fail(err, errsz, CC_ERR_INVAL, "host is too long");
	memcpy(host, hs, hl);
	host[hl] = '\0';
	if (addr[0] == '[') {
		struct in6_addr a6;
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return cc_fail(err, errsz, CC_ERR_INVAL, "\"%s\" is not an IPv6 address", host);
	} else if (!http_host_ok(host)) {
		return cc_fail(err, errsz, CC_ERR_INVAL, "\"%s\" is not a host name or address", host);
	}
	if (ps[0] == '\0')
		return cc_fail(err, errsz, CC_ERR_INVAL, "missing port number");
	char *end;
	errno = 0;
	long p = strtol(ps, &end, 10);
	if (*end != '\0' || errno != 0 || p < 0 || p > 65535 || ps[0] < '0' || ps[0] > '9')
		return cc_fail(err, errsz, CC_ERR_INVAL, "port \"%s\" must be a number 0..65535", ps);
	*port = (int)p;
	return CC_OK;
}

int
http_parse_addr(const char *addr, char *host, size_t hostsz, int *port, char *err, size_t errsz)
{
	int rc = http_split_addr(addr, host, hostsz, port, err, errsz);
	/* the host part is copied before it is checked: a refusal must not leave it behind */
	if (rc != CC_OK && hostsz > 0)
		host[0] = '\0';
	return rc;
}

/*
 * Answer status with body (owned, sent in chunks) and, when xname is set, one more header
 * (xname as lws wants it, "www-authenticate:", with its value xval).
 */
static int
http_respond_x(struct lws *wsi, struct http_session *ss, unsigned int status, const char *ctype,
    char *body, size_t len, const char *xname, const char *xval)
{
	unsigned char hdr[LWS_PRE + 1024];
	unsigned char *start = &hdr[LWS_PRE], *p = start, *end = &hdr[sizeof hdr - 1];
	ss->ss_body = body;
	ss->ss_len = len;
	ss->ss_off = 0;
	if (lws_add_http_common_headers(wsi, status, ctype, (lws_filepos_t)len, &p, end))
		return 1;
	/* A scrape must never be served from a cache. */
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
		(const unsigned char *)"no-store", 8, &p, end))
		return 1;
	if (xname != NULL && lws_add_http_header_by_name(wsi, (const unsigned char *)xname,
				 (const unsigned char *)xval, (int)strlen(xval), &p, end))
		return 1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int
http_respond(struct lws *wsi, struct http_session *ss, unsigned int status, const char *ctype,
    char *body, size_t len)
{
	return http_respond_x(wsi, ss, status, ctype, body, len, NULL, NULL);
}

int
http_parse_explain_path(const char *path, char *ns, size_t nssz, char *name, size_t namesz,
    char *err, size_t errsz)
{
	static const char prefix[] = "/explain/";
	if (nssz)
		ns[0] = '\0';
	if (namesz)
		name[0] = '\0';
	if (path == NULL || strncmp(path, prefix, sizeof prefix - 1) != 0)
		return cc_fail(err, errsz, CC_ERR_INVAL, "the path does not start with %s", prefix);
	const char *p = path + sizeof prefix - 1;
	const char *slash = strchr(p, '/');
	if (slash == NULL)
		return cc_fail(err, errsz, CC_ERR_INVAL, "expected NAMESPACE/NAME after %s", prefix);
	size_t nl = (size_t)(slash - p);
	const char *n = slash + 1;
	if (nl == 0)
		return cc_fail(err, errsz, CC_ERR_INVAL, "the namespace is empty");
	if (n[0] == '\0')
		return cc_fail(err, errsz, CC_ERR_INVAL, "the name is empty");
	if (strchr(n, '/'))
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "more than NAMESPACE/NAME (a further \"/\", or an encoded one)");
	/* lengths first: the messages must not quote kilobytes of path back */
	if (nl > HTTP_NS_MAX)
		return cc_fail(err, errsz, CC_ERR_INVAL, "the namespace is longer than %d characters",
		    HTTP_NS_MAX);
	size_t ml = strlen(n);
	if (ml > HTTP_NAME_MAX)
		return cc_fail(err, errsz, CC_ERR_INVAL, "the name is longer than %d characters",
		    HTTP_NAME_MAX);
	if (nl >= nssz || ml >= namesz)
		return cc_fail(err, errsz, CC_ERR_INVAL, "no room for the names");
	memcpy(ns, p, nl);
	ns[nl] = '\0';
	memcpy(name, n, ml + 1);
	int rc = CC_OK;
	if (!res_dns_label_ok(ns))
		rc = cc_fail(err, errsz, CC_ERR_INVAL,
		    "namespace \"%s\" is not a Kubernetes namespace name (a DNS label)", ns);
	else if (!res_dns_subdomain_ok(name))
		rc = cc_fail(err, errsz, CC_ERR_INVAL,
		    "name \"%s\" is not a Kubernetes object name (a DNS subdomain)", name);
	if (rc != CC_OK)
		ns[0] = name[0] = '\0';
	return rc;
}

int
http_parse_explain_arg(const char *arg, int *json, char *err, size_t errsz)
{
	if (strcmp(arg, "format=json") == 0)
		*json = 1;
	else if (strcmp(arg, "format=text") == 0)
		*json = 0;
	else
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "unknown query argument \"%.64s\" (only format=text or format=json)", arg);
	return CC_OK;
}

int
http_parse_status_arg(const char *arg, char *ns, size_t nssz, char *err, size_t errsz)
{
	static const char key[] = "namespace=";
	if (strncmp(arg, key, sizeof key - 1) != 0)
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "unknown query argument \"%.64s\" (only namespace=NAMESPACE)", arg);
	const char *v = arg + sizeof key - 1;
	size_t n = strlen(v);
	if (ns[0] != '\0')
		return cc_fail(err, errsz, CC_ERR_INVAL, "namespace given twice");
	if (n > HTTP_NS_MAX)
		return cc_fail(err, errsz, CC_ERR_INVAL, "the namespace is longer than %d characters",
		    HTTP_NS_MAX);
	if (!res_dns_label_ok(v))
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "namespace \"%s\" is not a Kubernetes namespace name (a DNS label)", v);
	if (n >= nssz)
		return cc_fail(err, errsz, CC_ERR_INVAL, "no room for the namespace");
	memcpy(ns, v, n + 1);
	return CC_OK;
}

/* Answer with a short text message. */
static int
http_reply(struct lws *wsi, struct http_session *ss, unsigned int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
http_reply(struct lws *wsi, struct http_session *ss, unsigned int status, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	return http_respond(wsi, ss, status, HTTP_TEXT_PLAIN, xstrdup(line), strlen(line));
}

/* /explain and /explain/NAMESPACE/NAME[?format=json]. */
static int
http_explain(struct lws *wsi, struct http_server *srv, struct http_session *ss, const char *uri)
{
	if (strcmp(uri, "/explain") == 0 || strcmp(uri, "/explain/") == 0)
		return http_reply(wsi, ss, 200, "%s", http_explain_usage);
	char ns[HTTP_NS_MAX + 1], name[HTTP_NAME_MAX + 1], why[256];
	if (http_parse_explain_path(uri, ns, sizeof ns, name, sizeof name, why, sizeof why) != CC_OK)
		return http_reply(wsi, ss, 400,
		    "bad request: %s; expected /explain/NAMESPACE/NAME[?format=json]\n", why);
	int json = 0;
	for (int i = 0;; i++) {
		int fl = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
		if (fl <= 0)
			break;
		char arg[HTTP_EXPLAIN_ARG_MAX];
		if (i >= HTTP_EXPLAIN_ARGS || fl >= (int)sizeof arg ||
		    lws_hdr_copy_fragment(wsi, arg, (int)sizeof arg, WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
			return http_reply(wsi, ss, 400,
			    "bad request: too many or too long query arguments (only format=text "
			    "or format=json)\n");
		if (http_parse_explain_arg(arg, &json, why, sizeof why) != CC_OK)
			return http_reply(wsi, ss, 400, "bad request: %s\n", why);
	}
	if (srv->hs_explain == NULL)
		return http_reply(wsi, ss, 404, "not found: this server explains no certificates\n");
	if (!atomic_load(&srv->hs_ready))
		return http_reply(wsi, ss, 503,
		    "not ready: the first list of every watched resource is not done; nothing is "
		    "scored yet\n");
	struct buf b;
	buf_init(&b, HTTP_EXPLAIN_MAX);
	int rc = srv->hs_explain(srv->hs_explain_arg, ns, name, json, &b);
	if (rc != CC_OK) {
		buf_free(&b);
		if (rc == CC_ERR_NOTFOUND)
			return http_reply(wsi, ss, 404,
			    "not found: certificate \"%s\" in namespace \"%s\" is not in the "
			    "controller's store (not there, or outside the namespace it watches)\n",
			    name, ns);
		log_error("explaining %s/%s: %s", ns, name, cc_strerror(rc));
		return http_reply(wsi, ss, 500, "cannot explain %s/%s: %s\n", ns, name,
		    cc_strerror(rc));
	}
	size_t len = b.b_len;
	return http_respond(wsi, ss, 200, json ? "application/json" : HTTP_TEXT_PLAIN,
	    buf_detach(&b), len);
}

/* /status[?namespace=NS]: every certificate's row, as `certcast status -o json` prints them. */
static int
http_status(struct lws *wsi, struct http_server *srv, struct http_session *ss)
{
	char ns[HTTP_NS_MAX + 1] = "", why[256];
	for (int i = 0;; i++) {
		int fl = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
		if (fl <= 0)
			break;
		char arg[HTTP_STATUS_ARG_MAX];
		if (i >= HTTP_EXPLAIN_ARGS || fl >= (int)sizeof arg ||
		    lws_hdr_copy_fragment(wsi, arg, (int)sizeof arg, WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
			return http_reply(wsi, ss, 400,
			    "bad request: too many or too long query arguments (only "
			    "namespace=NAMESPACE)\n");
		if (http_parse_status_arg(arg, ns, sizeof ns, why, sizeof why) != CC_OK)
			return http_reply(wsi, ss, 400, "bad request: %s; expected /status or "
							"/status?namespace=NAMESPACE\n",
			    why);
	}
	if (srv->hs_status == NULL)
		return http_reply(wsi, ss, 404, "not found: this server lists no certificates\n");
	if (!atomic_load(&srv->hs_ready))
		return http_reply(wsi, ss, 503,
		    "not ready: the first list of every watched resource is not done; nothing is "
		    "scored yet\n");
	char *body = NULL;
	size_t len = 0;
	int rc = srv->hs_status(srv->hs_status_arg, ns, &body, &len);
	if (rc == CC_OK && len > HTTP_STATUS_MAX) {
		/* a bound for the client too: status --controller refuses more than this */
		free(body);
		log_error("/status: %zu bytes, over the %u-byte limit", len, HTTP_STATUS_MAX);
		return http_reply(wsi, ss, 500,
		    "the status of every certificate is over %u bytes; ask for one namespace "
		    "(?namespace=NAMESPACE)\n",
		    HTTP_STATUS_MAX);
	}
	if (rc != CC_OK) {
		free(body);
		log_error("/status: %s", cc_strerror(rc));
		return http_reply(wsi, ss, 500, "cannot list the certificates: %s\n", cc_strerror(rc));
	}
	return http_respond(wsi, ss, 200, "application/json", body, len);
}

static int
http_route(struct lws *wsi, struct http_server *srv, struct http_session *ss, const char *uri)
{
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return http_respond(wsi, ss, 405, "text/plain; charset=utf-8",
		    xstrdup("method not allowed\n"), 19);
	if (strcmp(uri, "/healthz") == 0)
		return http_respond(wsi, ss, 200, "text/plain; charset=utf-8", xstrdup("ok\n"), 3);
	if (strcmp(uri, "/readyz") == 0) {
		if (atomic_load(&srv->hs_ready))
			return http_respond(wsi, ss, 200, "text/plain; charset=utf-8", xstrdup("ok\n"),
			    3);
		const char *m = "not ready: the first list of every watched resource is not done\n";
		return http_respond(wsi, ss, 503, "text/plain; charset=utf-8", xstrdup(m),
		    strlen(m));
	}
	if (strcmp(uri, "/metrics") == 0) {
		struct buf b;
		buf_init(&b, HTTP_BODY_MAX);
		int rc = srv->hs_metrics ? met_write(srv->hs_metrics, &b) : CC_OK;
		if (rc != CC_OK) {
			log_error("metrics text over %u bytes: %s", HTTP_BODY_MAX, cc_strerror(rc));
			buf_free(&b);
			const char *m = "metrics output too large\n";
			return http_respond(wsi, ss, 500, "text/plain; charset=utf-8", xstrdup(m),
			    strlen(m));
		}
		size_t len = b.b_len;
		return http_respond(wsi, ss, 200, MET_CONTENT_TYPE, buf_detach(&b), len);
	}
	if (strncmp(uri, "/explain", 8) == 0 && (uri[8] == '\0' || uri[8] == '/'))
		return http_explain(wsi, srv, ss, uri);
	if (strcmp(uri, "/status") == 0)
		return http_status(wsi, srv, ss);
	if (strcmp(uri, "/") == 0 || strcmp(uri, "/index.html") == 0)
		return http_respond(wsi, ss, 200, "text/html; charset=utf-8",
		    xstrdup(live_page_html), live_page_len);
	return http_respond(wsi, ss, 404, "text/plain; charset=utf-8", xstrdup("not found\n"), 10);
}

/*
 * The Authorization header, malloc'ed (wipe it with http_auth_free_header), NULL when absent,
 * "" when too long to hold a token httpauth accepts (lws' own header limit, HTTP_HEADER_DATA_MAX,
 * usually refuses such a request first).
 */
static char *
http_auth_header(struct lws *wsi)
{
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n <= 0 || n > HTTP_AUTH_HDR_MAX)
		return n > 0 ? xstrdup("") : NULL;
	char *h = xmalloc((size_t)n + 1);
	if (lws_hdr_copy(wsi, h, n + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
		h[0] = '\0';
	return h;
}

static void
http_auth_free_header(char *h)
{
	if (h != NULL) {
		explicit_bzero(h, strlen(h));
		free(h);
	}
}

/* Answer a request that httpauth did not let through: 401, 403 or 503. */
static int
http_auth_refuse(struct lws *wsi, struct http_session *ss, const char *uri,
    const struct hauth_decision *d)
{
	char line[768];
	switch (d->hd_result) {
	case HAUTH_UNAUTHENTICATED:
		snprintf(line, sizeof line,
		    "unauthorized: %s; send Authorization: Bearer TOKEN with a Kubernetes token\n",
		    d->hd_why);
		return http_respond_x(wsi, ss, 401, HTTP_TEXT_PLAIN, xstrdup(line), strlen(line),
		    "www-authenticate:", "Bearer");
	case HAUTH_DENIED:
		snprintf(line, sizeof line,
		    "forbidden: user \"%.256s\" may not get path \"%.256s\" (RBAC: grant the verb "
		    "get on this nonResourceURL)\n",
		    d->hd_user, uri);
		return http_reply(wsi, ss, 403, "%s", line);
	default:
		return http_reply(wsi, ss, 503,
		    "service unavailable: %s; try again later\n", d->hd_why);
	}
}

/* A review finished (httpauth's worker thread): wake the service loop to pick it up. */
static void
http_auth_wake(void *arg)
{
	lws_cancel_service(arg);
}

/*
 * The gate in front of http_route with httpAuth: kubernetes; returns what the callback returns.
 * A decision the cache holds is applied at once. A review that must ask the API server leaves
 * the request waiting (HA_WAITING), without blocking this thread: it is answered from the
 * writable callback once http_auth_collect hands the decision over.
 */
static int
http_auth_gate(struct lws *wsi, struct http_server *srv, struct http_session *ss,
    const char *uri)
{
	char *hdr = http_auth_header(wsi);
	struct hauth_decision d;
	struct hauth_job *job = NULL;
	/* the live page's own WebSocket is decided from the cache: fill it for /live too */
	int page = strcmp(uri, "/") == 0 || strcmp(uri, "/index.html") == 0;
	const char *also = page && srv->hs_live ? "/live" : NULL;
	int r = hauth_begin(srv->hs_auth, hdr, uri, also, wsi, http_auth_wake,
	    lws_get_context(wsi), &job, &d);
	http_auth_free_header(hdr);
	if (r == HAUTH_PENDING) {
		ss->ss_auth = HA_WAITING;
		ss->ss_job = job;
		ss->ss_path = xstrdup(uri);
		return 0;
	}
	if (d.hd_result == HAUTH_ALLOWED)
		return http_route(wsi, srv, ss, uri);
	return http_auth_refuse(wsi, ss, uri, &d);
}

/* Hand every finished review to its request (service thread, after lws_cancel_service). */
static void
http_auth_collect(struct http_server *srv)
{
	void *owner;
	struct hauth_decision d;
	while (hauth_take(srv->hs_auth, &owner, &d)) {
		struct lws *w = owner;
		struct http_session *ss = lws_wsi_user(w);
		if (ss == NULL || ss->ss_auth != HA_WAITING)
			continue;
		ss->ss_auth = HA_DECIDED;
		ss->ss_job = NULL;
		ss->ss_dec = d;
		lws_callback_on_writable(w);
	}
}

/* The decision arrived: answer the request that waited for it. */
static int
http_auth_resume(struct lws *wsi, struct http_server *srv, struct http_session *ss)
{
	char *path = ss->ss_path;
	ss->ss_path = NULL;
	ss->ss_auth = HA_NONE;
	int rc;
	if (ss->ss_dec.hd_result == HAUTH_ALLOWED)
		rc = http_route(wsi, srv, ss, path);
	else
		rc = http_auth_refuse(wsi, ss, path, &ss->ss_dec);
	free(path);
	return rc;
}

/* Forget the request's review: the connection closes or a new request starts. */
static void
http_auth_reset(struct http_server *srv, struct http_session *ss)
{
	if (ss->ss_job != NULL)
		hauth_abandon(srv->hs_auth, ss->ss_job);
	ss->ss_job = NULL;
	free(ss->ss_path);
	ss->ss_path = NULL;
	ss->ss_auth = HA_NONE;
}

static int
http_write_more(struct lws *wsi, struct http_session *ss)
{
	static unsigned char chunk[LWS_PRE + HTTP_CHUNK]; /* only the service thread writes */
	if (ss->ss_body == NULL)
		return 0;
	size_t n = ss->ss_len - ss->ss_off;
	if (n > HTTP_CHUNK)
		n = HTTP_CHUNK;
	int last = ss->ss_off + n == ss->ss_len;
	memcpy(chunk + LWS_PRE, ss->ss_body + ss->ss_off, n);
	if (lws_write(wsi, chunk + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
	    (int)n)
		return -1;
	ss->ss_off += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	free(ss->ss_body);
	ss->ss_body = NULL;
	/* Keep-alive: ready for the next request on this connection, or close it. */
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

/*
 * Each handshake presents the pair tlsreload serves now: set per connection, from memory, in
 * OpenSSL's certificate callback (on the service thread, like tlr_poll, so no lock). Swapping the
 * SSL_CTX's certificate instead (lws_tls_cert_updated) would leave the old one offered whenever
 * the key type changes (OpenSSL keeps one certificate per key type), and would read the files
 * again after they were checked.
 */
static int
http_tls_cert_cb(SSL *ssl, void *arg)
{
	struct http_server *srv = arg;
	return tlp_ssl_use(ssl, tlr_served(srv->hs_tls)) == CC_OK ? 1 : 0;
}

/*
 * lws made the vhost's SSL_CTX (during lws_create_context, on the starting thread): refuse
 * anything before TLS 1.2 on it, and hook the certificate callback.
 */
static int
http_tls_ctx_created(struct http_server *srv, void *sslctx)
{
	if (srv == NULL || sslctx == NULL || srv->hs_tls == NULL)
		return 0;
	srv->hs_ssl_ctx = sslctx;
	SSL_CTX_set_cert_cb(srv->hs_ssl_ctx, http_tls_cert_cb, srv);
	return SSL_CTX_set_min_proto_version(srv->hs_ssl_ctx, TLS1_2_VERSION) == 1 ? 0 : 1;
}

static int
http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct http_session *ss = user;
	struct http_server *srv = lws_context_user(lws_get_context(wsi));
	switch (reason) {
	case LWS_CALLBACK_HTTP: {
		free(ss->ss_body);
		ss->ss_body = NULL;
		const char *uri = in ? (const char *)in : "/";
		if (srv->hs_auth == NULL || hauth_path_open(uri))
			return http_route(wsi, srv, ss, uri);
		http_auth_reset(srv, ss);
		return http_auth_gate(wsi, srv, ss, uri);
	}
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* a review finished (or the live feed moved, which the live protocol handles) */
		if (srv != NULL && srv->hs_auth != NULL)
			http_auth_collect(srv);
		break;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/*
		 * lws hands a WebSocket that names no protocol of ours to the first one, this one:
		 * the only WebSocket served is the live feed's, so any other upgrade is refused
		 */
		log_warn("refused a WebSocket without the certcast-live subprotocol");
		return 1;
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		return http_tls_ctx_created(srv, user);
	case LWS_CALLBACK_HTTP_BODY:
		return 0; /* no endpoint takes a body; it is read and dropped */
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		/* lws holds writes back until a request body is consumed; resume the reply now. */
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (ss->ss_auth == HA_DECIDED)
			return http_auth_resume(wsi, srv, ss);
		return http_write_more(wsi, ss);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (ss) {
			free(ss->ss_body);
			ss->ss_body = NULL;
			http_auth_reset(srv, ss);
		}
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* One page's WebSocket: the seq of the last message it was sent. */
struct live_session {
	uint64_t ls_have;
	int ls_counted; /* counted in hs_live_n and live_clients */
};

/*
 * Whether a WebSocket upgrade may go ahead: only on /live, only with a feed, at most
 * HTTP_LIVE_MAX pages, and only from this server's own page. The last is the guard against
 * cross-site WebSocket hijacking: a browser lets any site open a WebSocket anywhere (no
 * same-origin rule, unlike fetch), so a page elsewhere could read the feed through a user's
 * port-forward. Browsers always send Origin; a client without one (a script) is not a browser
 * acting for someone else, and may read what /status gives it anyway.
 */
static int
http_live_allowed(struct lws *wsi, const struct http_server *srv, char *why, size_t whysz)
{
	char uri[64], origin[300], host[300];
	if (srv->hs_live == NULL)
		return snprintf(why, whysz, "no live feed"), 0;
	if (lws_hdr_copy(wsi, uri, (int)sizeof uri, WSI_TOKEN_GET_URI) < 0 ||
	    strcmp(uri, "/live") != 0)
		return snprintf(why, whysz, "the feed is at /live"), 0;
	if (srv->hs_live_n >= HTTP_LIVE_MAX)
		return snprintf(why, whysz, "%d pages connected already", HTTP_LIVE_MAX), 0;
	if (srv->hs_auth != NULL) {
		/* no waiting here: the upgrade is decided now, from what serving "/" cached */
		char *hdr = http_auth_header(wsi);
		struct hauth_decision d;
		hauth_peek(srv->hs_auth, hdr, "/live", &d);
		http_auth_free_header(hdr);
		if (d.hd_result == HAUTH_DENIED)
			return snprintf(why, whysz, "user \"%.100s\" may not get /live",
				   d.hd_user),
			       0;
		if (d.hd_result != HAUTH_ALLOWED)
			return snprintf(why, whysz, "not authenticated: %s", d.hd_why), 0;
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
		return 1;
	if (lws_hdr_copy(wsi, origin, (int)sizeof origin, WSI_TOKEN_ORIGIN) < 0 ||
	    lws_hdr_copy(wsi, host, (int)sizeof host, WSI_TOKEN_HOST) < 0)
		return snprintf(why, whysz, "Origin or Host too long"), 0;
	const char *o = strstr(origin, "://");
	if (o == NULL || strcmp(o + 3, host) != 0)
		return snprintf(why, whysz, "Origin %.120s is not this server (%.120s)", origin, host),
		       0;
	return 1;
}

static int
http_live_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len)
{
	struct live_session *ls = user;
	struct http_server *srv = lws_context_user(lws_get_context(wsi));
	char why[400];
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (!http_live_allowed(wsi, srv, why, sizeof why)) {
			log_warn("/live: refused a WebSocket: %s", why);
			return 1;
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		ls->ls_have = 0;
		ls->ls_counted = 1;
		srv->hs_live_n++;
		live_clients(srv->hs_live, 1);
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE: {
		size_t n = 0;
		uint64_t seq = 0;
		unsigned char *m = live_message(srv->hs_live, ls->ls_have, LWS_PRE, &n, &seq);
		if (m == NULL)
			return 0;
		/* lws keeps what the socket does not take and sends it before the next writable */
		int w = lws_write(wsi, m + LWS_PRE, n, LWS_WRITE_TEXT);
		free(m);
		if (w < (int)n)
			return -1;
		ls->ls_have = seq;
		if (live_seq(srv->hs_live) != seq)
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_RECEIVE:
		return 0; /* the page sends nothing that matters */
	case LWS_CALLBACK_CLOSED:
		if (ls != NULL && ls->ls_counted) {
			ls->ls_counted = 0;
			srv->hs_live_n--;
			live_clients(srv->hs_live, -1);
		}
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* http_server_live_wake: a new state; every page gets a writable callback */
		if (srv != NULL && srv->hs_live != NULL)
			lws_callback_on_writable_all_protocol(lws_get_context(wsi),
			    lws_get_protocol(wsi));
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols http_protocols[] = {
    {"http", http_callback, sizeof(struct http_session), 0, 0, NULL, 0},
    {"certcast-live", http_live_callback, sizeof(struct live_session), 512, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void
http_lws_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_error("libwebsockets: %.*s", (int)n, line);
	else
		log_warn("libwebsockets: %.*s", (int)n, line);
}

/* The poll timer: on the service thread, so lws and the SSL_CTX need no lock. */
static void
http_tls_tick(lws_sorted_usec_list_t *sul)
{
	struct http_server *srv = lws_container_of(sul, struct http_server, hs_tls_sul);
	(void)tlr_poll(srv->hs_tls, (int64_t)time(NULL));
	lws_sul_schedule(srv->hs_ctx, 0, &srv->hs_tls_sul, http_tls_tick, srv->hs_tls_poll_us);
}

/*
 * Check the pair and set info up to serve it: HTTPS only, TLS 1.2 or later (SSLv3 lws turns off
 * itself; http_tls_ctx_created sets the floor on the SSL_CTX as well).
 */
static int
http_tls_setup(struct http_server *srv, const struct http_server_opts *o,
    struct lws_context_creation_info *info, char *err, size_t errsz)
{
	if ((o->hso_tls_cert == NULL) != (o->hso_tls_key == NULL))
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "TLS needs both a certificate file and a key file, or neither");
	if (o->hso_tls_cert == NULL)
		return CC_OK;
	/* nothing to apply: http_tls_cert_cb reads the served pair at every handshake */
	struct tlr_opts to = {o->hso_tls_cert, o->hso_tls_key, o->hso_metrics, NULL, NULL};
	int rc = tlr_new(&to, (int64_t)time(NULL), &srv->hs_tls, err, errsz);
	if (rc != CC_OK)
		return rc;
	srv->hs_tls_poll_us =
	    (lws_usec_t)(o->hso_tls_poll_ms > 0 ? o->hso_tls_poll_ms : TLR_POLL_MS) * LWS_US_PER_MS;
	info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info->ssl_cert_filepath = tlr_cert_path(srv->hs_tls);
	info->ssl_private_key_filepath = tlr_key_path(srv->hs_tls);
	info->ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
	/*
	 * HTTP/1.1 only, as over plain HTTP: lws 4.1 offers h2 by ALPN, and over h2 the chunked
	 * replies of http_write_more end the service loop after the first few KiB (seen with curl).
	 */
	info->alpn = "http/1.1";
	return CC_OK;
}

/* After lws_create_context: the callback is in place; start polling the files. */
static int
http_tls_started(struct http_server *srv, char *err, size_t errsz)
{
	if (srv->hs_tls == NULL)
		return CC_OK;
	if (srv->hs_ssl_ctx == NULL)
		return cc_fail(err, errsz, CC_ERR_TLS, "libwebsockets made no TLS context");
	lws_sul_schedule(srv->hs_ctx, 0, &srv->hs_tls_sul, http_tls_tick, srv->hs_tls_poll_us);
	return CC_OK;
}

static void *
http_loop(void *arg)
{
	struct http_server *srv = arg;
	while (!atomic_load(&srv->hs_stop))
		if (lws_service(srv->hs_ctx, 0) < 0) {
			/*
			 * Nothing is served from here on, probes included: say so, and let the
			 * controller end rather than run on without its endpoint.
			 */
			if (!atomic_load(&srv->hs_stop)) {
				log_error("HTTP server on %s: the service loop failed; nothing is "
					  "served any more", srv->hs_addr);
				atomic_store(&srv->hs_failed, 1);
			}
			break;
		}
	return NULL;
}

/* Turn a host name into the numeric address lws binds to. */
static int
http_resolve(const char *host, char *out, size_t outsz, char *err, size_t errsz)
{
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	int g = getaddrinfo(host, NULL, &hints, &res);
	if (g != 0 || res == NULL) {
		snprintf(err, errsz, "cannot resolve \"%s\": %s", host, gai_strerror(g));
		return CC_ERR_IO;
	}
	const void *a = res->ai_family == AF_INET6 ?
	    (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr :
	    (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
	inet_ntop(res->ai_family, a, out, (socklen_t)outsz);
	freeaddrinfo(res);
	return CC_OK;
}

/*
 * Try the bind ourselves first: it gives the reason in words ("Address already in use"), and
 * libwebsockets 4.1 leaks a little memory when context creation fails on a bind error.
 */
static int
http_probe_bind(const char *iface, int port, char *err, size_t errsz)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	int fam = AF_INET6;
	if (iface[0] && strchr(iface, ':') == NULL) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		fam = a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, iface, &a->sin_addr);
		sl = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (iface[0])
			inet_pton(AF_INET6, iface, &a->sin6_addr);
		else
			a->sin6_addr = in6addr_any;
		sl = sizeof *a;
	}
	int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && fam == AF_INET6 && iface[0] == '\0') {
		/* No IPv6 in this kernel: lws will fall back to IPv4 as well. */
		return CC_OK;
	}
	if (fd < 0) {
		snprintf(err, errsz, "cannot open a socket: %s", strerror(errno));
		return CC_ERR_IO;
	}
	int one = 1, rc = CC_OK;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		snprintf(err, errsz, "%s", strerror(errno));
		rc = CC_ERR_IO;
	}
	close(fd);
	return rc;
}

int
http_server_start(const struct http_server_opts *o, struct http_server **out, char *err,
    size_t errsz)
{
	char host[256], why[160];
	int port, rc;
	rc = http_parse_addr(o->hso_addr, host, sizeof host, &port, why, sizeof why);
	if (rc != CC_OK) {
		snprintf(err, errsz, "invalid listen address \"%s\": %s",
		    o->hso_addr ? o->hso_addr : "", why);
		return rc;
	}
	struct http_server *srv = xcalloc(1, sizeof *srv);
	srv->hs_metrics = o->hso_metrics;
	srv->hs_explain = o->hso_explain;
	srv->hs_explain_arg = o->hso_explain_arg;
	srv->hs_status = o->hso_status;
	srv->hs_status_arg = o->hso_status_arg;
	srv->hs_live = o->hso_live;
	srv->hs_auth = o->hso_auth;
	atomic_init(&srv->hs_stop, 0);
	atomic_init(&srv->hs_ready, 0);
	atomic_init(&srv->hs_failed, 0);
	snprintf(srv->hs_addr, sizeof srv->hs_addr, "%s", o->hso_addr);
	if (host[0] != '\0') {
		rc = http_resolve(host, srv->hs_iface, sizeof srv->hs_iface, err, errsz);
		if (rc != CC_OK)
			goto out;
	}
	char why2[160];
	rc = http_probe_bind(srv->hs_iface, port, why2, sizeof why2);
	if (rc != CC_OK) {
		snprintf(err, errsz, "cannot listen on %s: %s", o->hso_addr, why2);
		goto out;
	}
	lws_set_log_level(LLL_ERR | LLL_WARN, http_lws_log);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = port;
	info.iface = srv->hs_iface[0] ? srv->hs_iface : NULL;
	info.protocols = http_protocols;
	info.user = srv;
	info.server_string = "certcast";
	info.count_threads = 1;
	info.options = LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	/*
	 * lws keeps 4 KiB of request headers by default and closes a connection whose headers do
	 * not fit, without an answer: a bearer token (httpAuth kubernetes) of an OIDC provider
	 * can pass 4 KiB. This room holds the longest header httpauth looks at, and the rest.
	 */
	info.max_http_header_data = HTTP_HEADER_DATA_MAX;
	/* An IPv4 bind address needs an IPv4 socket. */
	if (srv->hs_iface[0] && strchr(srv->hs_iface, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	rc = http_tls_setup(srv, o, &info, err, errsz);
	if (rc != CC_OK)
		goto out;
	srv->hs_ctx = lws_create_context(&info);
	if (srv->hs_ctx == NULL) {
		snprintf(err, errsz, "cannot listen on %s (%s)", o->hso_addr,
		    srv->hs_tls ? "address in use or not available, or TLS set-up failed" :
				  "address in use or not available");
		rc = CC_ERR_IO;
		goto out;
	}
	rc = http_tls_started(srv, err, errsz);
	if (rc != CC_OK)
		goto out;
	struct lws_vhost *vh = lws_get_vhost_by_name(srv->hs_ctx, "default");
	srv->hs_port = vh ? lws_get_vhost_listen_port(vh) : port;
	if (srv->hs_port <= 0) {
		snprintf(err, errsz, "cannot listen on %s", o->hso_addr);
		rc = CC_ERR_IO;
		goto out;
	}
	if (pthread_create(&srv->hs_thread, NULL, http_loop, srv) != 0) {
		snprintf(err, errsz, "cannot start the HTTP thread");
		rc = CC_ERR_IO;
		goto out;
	}
	if (srv->hs_tls != NULL) {
		const struct tlp_pair *p = tlr_served(srv->hs_tls);
		char na[TF_BUFSZ];
		tf_format_time(p->tp_not_after, na, sizeof na);
		log_info("serving HTTPS on %s (port %d): certificate serial %s (%s key, "
			 "notAfter %s) from %s",
		    o->hso_addr, srv->hs_port, p->tp_serial, p->tp_key_kind, na,
		    tlr_cert_path(srv->hs_tls));
	} else {
		log_info("serving HTTP on %s (port %d)", o->hso_addr, srv->hs_port);
	}
	*out = srv;
	return CC_OK;
out:
	if (srv->hs_ctx)
		lws_context_destroy(srv->hs_ctx);
	tlr_free(srv->hs_tls);
	free(srv);
	return rc;
}

int
http_server_port(const struct http_server *s)
{
	return s->hs_port;
}

int
http_server_failed(struct http_server *s)
{
	return s != NULL && atomic_load(&s->hs_failed);
}

void
http_server_set_ready(struct http_server *s, int ready)
{
	atomic_store(&s->hs_ready, ready ? 1 : 0);
}

void
http_server_live_wake(struct http_server *s)
{
	if (s != NULL)
		lws_cancel_service(s->hs_ctx);
}

void
http_server_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->hs_stop, 1);
	lws_cancel_service(s->hs_ctx);
	pthread_join(s->hs_thread, NULL);
	/* a review finishing from now on must not wake a context that is going away */
	hauth_quiesce(s->hs_auth);
	lws_context_destroy(s->hs_ctx);
	tlr_free(s->hs_tls);
	free(s);
}
