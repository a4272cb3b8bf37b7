/*
 * kube_client: HTTP calls to the Kubernetes API server over libcurl.
 *
 * One client is shared by all threads; each call uses its own curl easy handle (taken from a
 * small pool), so calls may run concurrently. TLS verification is always on unless the
 * kubeconfig says insecure-skip-tls-verify. A client-side token bucket (QPS, burst) paces every
 * request except watch streams, which are long-lived. Nothing in this module logs a header, a
 * token or a key.
 */
#ifndef KUBE_CLIENT_H
#define KUBE_CLIENT_H

#include "buf.h"

#include <stddef.h>

struct kube_config; /* kubeconfig.h: where to connect and how to authenticate */
struct kube_client;

/* What went wrong with a call, for messages and retries. Filled on every failure. */
struct kube_error {
	long ke_http;          /* HTTP status, 0 when none arrived */
	char ke_reason[64];    /* Kubernetes Status.reason ("Forbidden", "Expired", ...) or "" */
	char ke_message[512];  /* Status.message, or the transport error in words */
	long ke_retry_after;   /* seconds from Retry-After or Status.details.retryAfterSeconds, 0 if none */
};

/*
 * The longest wait a failed response may ask for, in seconds (about 31 years): a Retry-After
 * header or Status.details.retryAfterSeconds beyond it is not a wait but junk, and is ignored.
 */
#define KUBE_RETRY_AFTER_MAX 999999999L

/*
 * Read a response header line as curl hands it over ("Retry-After: 7\r\n", the name in any
 * case). Returns 1 with *secs the delay (1..KUBE_RETRY_AFTER_MAX) when the line is a Retry-After
 * header with delta-seconds; otherwise 0 with *secs 0: another header, the HTTP-date form (the
 * API server does not send it), or a value that is not a whole number in range. Public so that
 * tests and fuzzing reach it without a server.
 */
int kube_retry_after_header(const char *line, size_t len, long *secs);

/*
 * Fill err from a failed response, as kube_request does: ke_http is code; when body[0..len)
 * (need not be NUL-terminated; NULL when len is 0) is a Status object, ke_reason and
 * ke_message are its reason and message (cut to fit; the message "HTTP CODE" when it has
 * none), else ke_reason is "" and ke_message "HTTP CODE: " and the body's first 160 bytes with
 * every byte that is not printable ASCII made a space. ke_retry_after is retry_after_hdr (what
 * kube_retry_after_header read) when in 1..KUBE_RETRY_AFTER_MAX, else
 * Status.details.retryAfterSeconds when in that range, else 0. Public for tests and fuzzing.
 */
void kube_error_from_response(struct kube_error *err, long code, const char *body, size_t len,
    long retry_after_hdr);

struct kube_client_opts {
	double kco_qps;            /* sustained requests per second; default 20 */
	int kco_burst;             /* bucket size; default 40 */
	long kco_timeout_ms;       /* whole-request timeout for non-watch calls; default 30000 */
	long kco_connect_timeout_ms; /* default 10000 */
	const char *kco_user_agent;/* default "certcast/VERSION" */
};

/*
 * Make a client for cfg. cfg is copied; the caller keeps ownership of cfg.
 * Returns CC_OK, CC_ERR_CONFIG (unusable credentials) or CC_ERR_TLS, with err filled.
 * opts may be NULL for the defaults; kco_qps < 0 turns the limiter off.
 *
 * Per call: credentials come from kubeconfig_credentials() (a token file is re-read when it
 * rotates, an exec plugin re-run when its answer expires); on a 401 with refreshable credentials
 * they are refreshed once and the call retried once. Transport failures map to CC_ERR_UNAVAILABLE
 * (connect/resolve), CC_ERR_TLS (verification), CC_ERR_TIMEOUT, or CC_ERR_IO (the connection
 * broke or the server sent something that is not HTTP).
 */
int kube_client_new(const struct kube_config *cfg, const struct kube_client_opts *opts,
    struct kube_client **out, struct kube_error *err);
/* Stop the client: in-flight streams return CC_ERR_CANCELED soon after. Thread-safe. */
void kube_client_cancel(struct kube_client *c);
/* Free the client; no call may be in flight. Accepts NULL. */
void kube_client_free(struct kube_client *c);

/*
 * One request. verb is "GET", "POST", "PUT", "PATCH" or "DELETE"; path includes the query string.
 * body may be NULL; content_type defaults to application/json. The response body goes into
 * resp_body (which the caller has buf_init'ed with a limit). Returns CC_OK for 2xx, else the
 * cc_err for the status (403 -> CC_ERR_FORBIDDEN, 410 -> CC_ERR_GONE, ...) with err filled from
 * the Status object in the body. *http_status gets the status when non-NULL.
 * A 2xx body over resp_body's limit fails with CC_ERR_TOOBIG and leaves resp_body as it was; it
 * is never cut short. On a non-2xx status resp_body gets the error body if it fits (the status
 * decides the result either way). resp_body may be NULL to discard the body.
 */
int kube_request(struct kube_client *c, const char *verb, const char *path,
    const char *content_type, const char *body, struct buf *resp_body, long *http_status,
    struct kube_error *err);

/*
 * Called with each chunk of a streaming response as it arrives. Return CC_OK to go on, anything
 * else to end the stream (kube_stream then returns that value).
 */
typedef int (*kube_chunk_fn)(void *arg, const char *data, size_t len);

/*
 * A streaming GET (a watch). Chunks go to fn until the server ends the stream, fn stops it, the
 * client is canceled, or no byte arrives for idle_timeout_ms (then CC_ERR_TIMEOUT). A non-2xx
 * status returns the mapped error with err filled and calls fn for nothing. Chunks arrive as
 * the network delivers them, not split at lines. A stream the server ends cleanly returns CC_OK;
 * one whose connection breaks returns CC_ERR_IO. idle_timeout_ms <= 0 means no idle limit.
 * Streams are not paced by the limiter.
 */
int kube_stream(struct kube_client *c, const char *path, long idle_timeout_ms, kube_chunk_fn fn,
    void *arg, struct kube_error *err);

/*
 * Count of requests by verb and code, for certcast_api_requests_total. fn is called per series,
 * without any lock held. Streams count under the verb "WATCH"; attempts that got no HTTP status
 * (connection refused, TLS failure, cancel before the headers) count under code 0. A 401 that is
 * retried after a credential refresh counts as two requests.
 */
typedef void (*kube_stat_fn)(void *arg, const char *verb, long code, unsigned long long count);
void kube_client_stats(struct kube_client *c, kube_stat_fn fn, void *arg);

/* The server's base URL, e.g. "https://127.0.0.1:6443"; borrowed, valid while c lives. */
const char *kube_client_server(const struct kube_client *c);

#endif
