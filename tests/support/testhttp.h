/*
 * testhttp: a small scripted HTTP/1.1 server for tests, on 127.0.0.1 with an ephemeral port.
 *
 * The server runs in its own threads (one accept thread, one thread per connection) and answers
 * either from a handler callback or from a table of routes. Every request it reads is recorded,
 * so a test can check what the client sent. With TLS on, the server makes a throw-away CA and a
 * server certificate for 127.0.0.1/localhost at start-up, and a client certificate signed by the
 * same CA, so tests can exercise verification both ways.
 *
 * Lifetime: everything the server hands out (URL, PEM strings, recorded requests) is borrowed and
 * stays valid until th_server_free(). th_server_free() stops the server: it wakes every delay and
 * held stream, closes every connection and joins every thread before it returns.
 *
 * Errors follow cc_err.h: CC_OK or a negative code. Only tests link this file.
 */
#ifndef TESTHTTP_H
#define TESTHTTP_H

#include <stddef.h>

struct th_server;
struct th_conn; /* one client connection, valid only inside a handler call */

struct th_header {
	char *th_name;  /* as the client spelled it */
	char *th_value; /* leading and trailing blanks removed */
};

/* One request as the server read it. */
struct th_request {
	char *tr_method;             /* "GET", "PUT", ... */
	char *tr_target;             /* path and query, as on the request line */
	struct th_header *tr_hdrs;   /* tr_nhdrs entries, in arrival order */
	size_t tr_nhdrs;             /* count of tr_hdrs */
	char *tr_body;               /* NUL-terminated; "" when there was none */
	size_t tr_body_len;          /* bytes in tr_body, excluding the NUL */
	char *tr_client_cn;          /* CN of the TLS client certificate, or NULL */
};

/*
 * A scripted response. Strings are copied by th_server_add_route(). Routes are tried in the order
 * they were added; the first whose method and path prefix match, and whose use count is not
 * exhausted, answers. A request no route matches gets a 404 with a Kubernetes Status body.
 */
struct th_route {
	const char *tr_method;        /* "GET" ...; NULL matches any method */
	const char *tr_prefix;        /* prefix of the path+query; NULL or "" matches any */
	int tr_status;                /* HTTP status; 0 closes the connection without an answer */
	const char *tr_headers;       /* extra header lines, each ending in "\r\n"; or NULL */
	const char *tr_body;          /* whole body, sent with Content-Length; ignored with tr_chunks */
	const char *const *tr_chunks; /* NULL-terminated; when set, sent with chunked encoding */
	long tr_delay_ms;             /* pause before each chunk (and before a whole body) */
	int tr_cut;                   /* 1: after the last chunk (or the body) drop the connection
	                                 without ending the response properly */
	int tr_hold;                  /* 1: after the chunks keep the stream open until the client
	                                 leaves or the server stops; with tr_body, announce more
	                                 bytes than are sent and stall the same way */
	int tr_times;                 /* answer at most this many requests; 0 = no limit */
};

/*
 * A handler answers one request by calling the th_send_* functions below. It runs on the
 * connection's thread; several may run at once. When the handler returns without having sent
 * a status line, the routes are consulted as if there were no handler. A handler that waits must
 * wait with th_conn_sleep() or th_conn_wait_peer_close(), which th_server_free() can interrupt.
 */
typedef void (*th_handler_fn)(void *arg, const struct th_request *req, struct th_conn *conn);

struct th_opts {
	int to_tls;                /* 1: serve HTTPS with a CA made at start-up */
	int to_want_client_cert;   /* 1 (with TLS): ask for a client certificate; not required */
	th_handler_fn to_handler;  /* or NULL to use the routes only */
	void *to_arg;              /* passed to to_handler */
};

/* Start a server; opts may be NULL (plain HTTP, routes only). Returns CC_OK or CC_ERR_IO/TLS. */
int th_server_start(const struct th_opts *opts, struct th_server **out);
/* Stop and free the server (see the lifetime note at the top). Accepts NULL. */
void th_server_free(struct th_server *s);

/* "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT"; borrowed. */
const char *th_server_url(const struct th_server *s);
int th_server_port(const struct th_server *s);
/* PEM of the CA that signed the server and client certificates; NULL without TLS. Borrowed. */
const char *th_server_ca_pem(const struct th_server *s);
/* A client certificate (CN "th-client") and its key, signed by the server's CA; NULL without TLS. */
const char *th_server_client_cert_pem(const struct th_server *s);
const char *th_server_client_key_pem(const struct th_server *s);

/*
 * Make a CA certificate unrelated to any server, for "wrong CA" tests. The caller frees the
 * string. Returns NULL only if OpenSSL fails.
 */
char *th_make_unrelated_ca_pem(void);

/* Add a route (deep copy). Thread-safe; may be called while the server runs. Returns CC_OK. */
int th_server_add_route(struct th_server *s, const struct th_route *r);
/* Forget every route and reset use counts. Thread-safe. */
void th_server_clear_routes(struct th_server *s);

/* Requests recorded so far. Thread-safe. */
size_t th_server_request_count(struct th_server *s);
/* The i-th recorded request, borrowed until th_server_free; NULL when i is out of range. */
const struct th_request *th_server_request(struct th_server *s, size_t i);
/*
 * Wait until at least n requests have been recorded or timeout_ms passed. Returns CC_OK or
 * CC_ERR_TIMEOUT. The timeout is a safety bound so a broken test cannot hang, not an assertion.
 */
int th_server_wait_requests(struct th_server *s, size_t n, long timeout_ms);
/* Connections currently open (accepted and not yet closed by either side). Thread-safe. */
int th_server_open_connections(struct th_server *s);
/* Connections accepted since start, so tests can check that a client reuses them. */
int th_server_accepted(struct th_server *s);

/* Case-insensitive header lookup on a recorded request; NULL when absent. */
const char *th_request_header(const struct th_request *r, const char *name);

/*
 * Handler-side sending. Each returns CC_OK or CC_ERR_IO when the client has gone.
 * th_send_head writes the status line and headers: content_length >= 0 adds Content-Length,
 * -1 selects chunked encoding. extra_headers is a block of "Name: value\r\n" lines or NULL.
 */
int th_send_head(struct th_conn *c, int status, const char *extra_headers, long content_length);
/* One chunk in chunked mode (len 0 is skipped, it would end the stream), or raw body bytes. */
int th_send_chunk(struct th_conn *c, const void *data, size_t len);
/* The terminating zero-length chunk of a chunked response. */
int th_send_end(struct th_conn *c);
/* Bytes straight to the socket, for deliberately broken framing. */
int th_send_raw(struct th_conn *c, const void *data, size_t len);
/* A complete response with Content-Length. body may be NULL. */
int th_send_simple(struct th_conn *c, int status, const char *extra_headers, const char *body);
/* Close the connection after the handler returns instead of keeping it alive. */
void th_conn_close_after(struct th_conn *c);
/*
 * Sleep ms, waking early when the server stops. Returns CC_OK after the full sleep or
 * CC_ERR_CANCELED when the server is stopping.
 */
int th_conn_sleep(struct th_conn *c, long ms);
/*
 * Block until the client closes the connection or the server stops; for held streams.
 * Returns CC_OK when the client left, CC_ERR_CANCELED when the server is stopping.
 */
int th_conn_wait_peer_close(struct th_conn *c);

#endif
