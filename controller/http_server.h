/*
 * http_server: the controller's HTTP endpoint, on libwebsockets, in its own service thread.
 *
 *   /metrics   the metrics registry in Prometheus text format
 *   /healthz   200 while the process runs
 *   /readyz    503 until http_server_set_ready(s, 1), then 200
 *   /          the live page (live_page.h): every certificate's risk, kept current through
 *              a WebSocket on /live (subprotocol "certcast-live", live.h) when the options give
 *              a feed; only from this server's own page (Origin), at most HTTP_LIVE_MAX at once
 *   /explain/NAMESPACE/NAME[?format=json]
 *              the explanation of one certificate's forecast, from the handler given in the
 *              options: text/plain as `certcast explain` prints it, or JSON. 400 for a path that
 *              is not two Kubernetes names, 503 until ready (as /readyz), 404 for a certificate
 *              the handler does not know. /explain itself describes the endpoint.
 *   /status[?namespace=NS]
 *              every certificate's row of `certcast status -o json` (the same document),
 *              from the status handler given in the options. 400 for a query other than one
 *              namespace=DNS-LABEL, 503 until ready.
 *
 * Anything else is 404; methods other than GET are 405. Requests are answered from the service
 * thread, so the metrics collectors and the explain handler run there.
 *
 * With an authenticator in the options (httpAuth: kubernetes, httpauth.h) every path but
 * /healthz and /readyz needs "Authorization: Bearer TOKEN" that the API server authenticates
 * and authorizes (RBAC nonResourceURLs, verb get): 401 with "WWW-Authenticate: Bearer" for a
 * missing, malformed or unknown token, 403 naming the user and the path when RBAC says no,
 * 503 when the API server cannot answer. A review that is not cached runs on httpauth's
 * workers; the request waits for it without holding up the service thread. The /live
 * WebSocket is decided from the cache, which serving "/" fills for /live as well.
 *
 * libwebsockets hands over the path already percent-decoded and normalised: "//" and "/./"
 * collapsed, "/../" resolved, "+" read as a space, the query string apart. So an encoded "/"
 * (%2F) arrives as a slash and makes a third segment, and "/explain//ns/name" reaches the
 * router as "/explain/ns/name".
 *
 * With a certificate and key (struct http_server_opts) every endpoint is served over HTTPS
 * only, and the certificate is reloaded when its files change (tlsreload.h).
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stddef.h>

struct met_registry;
struct hauth;
struct http_server;
struct live;

/*
 * Split a listen address: "HOST:PORT", ":PORT" (every interface) or "[V6ADDR]:PORT". host gets
 * the host part without brackets ("" for every interface); port 0 asks for a free port. Returns
 * CC_OK or CC_ERR_INVAL with the reason in err ("port must be 0..65535", ...); host is then ""
 * and port untouched.
 */
int http_parse_addr(const char *addr, char *host, size_t hostsz, int *port, char *err,
    size_t errsz);

struct buf;

/*
 * Append the explanation of Certificate ns/name (valid names) to out, as JSON when json is
 * set, else as text. Returns CC_OK, CC_ERR_NOTFOUND for a certificate it does not know, or
 * another error (answered 500). Called on the service thread.
 */
typedef int (*http_explain_fn)(void *arg, const char *ns, const char *name, int json,
    struct buf *out);

/* Limits of an explain path's parts: Kubernetes' namespace (a DNS label) and name lengths. */
#define HTTP_NS_MAX 63
#define HTTP_NAME_MAX 253

/*
 * Split an explain path, "/explain/NAMESPACE/NAME" as the router sees it (decoded), into ns
 * (size > HTTP_NS_MAX) and name (size > HTTP_NAME_MAX). NAMESPACE must be a DNS label and NAME
 * a DNS subdomain (resource.h): so no further slash, no "%", no space, at most 63 and 253
 * characters. Returns CC_OK, or CC_ERR_INVAL with the reason in err; ns and name are then "".
 */
int http_parse_explain_path(const char *path, char *ns, size_t nssz, char *name, size_t namesz,
    char *err, size_t errsz);
/*
 * Read one query argument of an explain request ("format=json", "format=text"; libwebsockets
 * hands them over one by one, decoded) into *json. Returns CC_OK, or CC_ERR_INVAL with the
 * reason in err for anything else.
 */
int http_parse_explain_arg(const char *arg, int *json, char *err, size_t errsz);

/*
 * Every certificate's status (namespace ns, "" for all) as the JSON document `certcast status
 * -o json` prints, into *body (malloc'ed; the server frees it after sending) and *len. Returns
 * CC_OK or an error (answered 500). Called on the service thread.
 */
typedef int (*http_status_fn)(void *arg, const char *ns, char **body, size_t *len);

/* The largest /status answer sent: about 100k certificates' rows. */
#define HTTP_STATUS_MAX (256u << 20)

/*
 * Read one query argument of a /status request (decoded, as libwebsockets hands them over):
 * "namespace=NS" with NS a DNS label, into ns (size > HTTP_NS_MAX), which must be "" before
 * (a second namespace is refused). Returns CC_OK, or CC_ERR_INVAL with the reason in err.
 */
int http_parse_status_arg(const char *arg, char *ns, size_t nssz, char *err, size_t errsz);

struct http_server_opts {
	const char *hso_addr;             /* listen address, see http_parse_addr */
	struct met_registry *hso_metrics; /* borrowed, must outlive the server; NULL: empty /metrics */
	http_explain_fn hso_explain;      /* NULL: /explain/... answers 404 */
	void *hso_explain_arg;            /* handed to hso_explain; must outlive the server */
	http_status_fn hso_status;        /* NULL: /status answers 404 */
	void *hso_status_arg;             /* handed to hso_status; must outlive the server */
	struct live *hso_live;            /* the live page's feed, NULL: none; must outlive the
	                                     server */
	struct hauth *hso_auth;           /* delegated authentication, NULL: none (httpAuth none);
	                                     must outlive the server */
	const char *hso_tls_cert;         /* PEM certificate (chain) file: serve HTTPS only, TLS
	                                     1.2 or later; NULL (with hso_tls_key): plain HTTP */
	const char *hso_tls_key;          /* its PEM private key file; both or neither */
	int hso_tls_poll_ms;              /* how often the files are looked at for a new pair;
	                                     0: TLR_POLL_MS (tlsreload.h) */
};

/*
 * Listen and start the service thread. Returns CC_OK with *out set, CC_ERR_INVAL (bad address,
 * only one of the TLS files), CC_ERR_IO (cannot resolve or bind) or the TLS pair's check error
 * (tlspair.h: unreadable, not PEM, key not matching, expired), with err filled. Stop with
 * http_server_stop.
 *
 * With TLS the pair is checked before anything listens, served from its files, and looked at
 * again every hso_tls_poll_ms on the service thread: a changed pair that passes the check is
 * served to new connections (connections open keep theirs), one that fails is logged and the
 * old one kept (tlsreload.h, which also says what metrics go into hso_metrics).
 */
int http_server_start(const struct http_server_opts *o, struct http_server **out, char *err,
    size_t errsz);
/* The port actually bound (useful after asking for port 0). */
int http_server_port(const struct http_server *s);
/*
 * Whether the service thread ended on an error of its own (logged when it happened): nothing is
 * served any more, probes included. Thread-safe; 0 for NULL.
 */
int http_server_failed(struct http_server *s);

/* Flip /readyz. Thread-safe. */
void http_server_set_ready(struct http_server *s, int ready);
/* The live feed has a new state: wake the service thread to offer it to the pages. Any thread. */
void http_server_live_wake(struct http_server *s);
/* Stop the thread, close every connection and free s. Accepts NULL. Not from the service thread. */
void http_server_stop(struct http_server *s);

#endif
