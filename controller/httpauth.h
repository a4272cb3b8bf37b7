/*
 * httpauth: Kubernetes delegated authentication and authorization for the HTTP server
 * (httpAuth: kubernetes), the way controller-runtime's metrics filter and kube-rbac-proxy do it.
 *
 * A request carries "Authorization: Bearer TOKEN". A TokenReview tells who the token belongs to;
 * a SubjectAccessReview with nonResourceAttributes {path, verb "get"} tells whether that user may
 * get the path, so RBAC grants it with nonResourceURLs ("/metrics", "/status", "/explain/" and a
 * star, ...). /healthz and /readyz stay open for the kubelet's probes (hauth_path_open).
 *
 * Decisions are cached by token hash and path (authcache.h): allowed for 2 minutes, refusals for
 * 30 seconds. API errors are not cached. A miss does not block the caller: the review runs on one
 * of this module's worker threads, and the answer comes back through hauth_take after the wake
 * function given with the request ran (the HTTP server's is lws_cancel_service). A WebSocket
 * upgrade is decided on the spot (hauth_peek): from the cache only, which serving the live page
 * fills for /live as well; a miss is refused and reviewed in the background, so a retry within
 * the TTL gets in.
 *
 * Every decision is counted in certcast_http_auth_total{result}. Nothing here logs a token or an
 * Authorization header; API errors are logged with the status and message only.
 *
 * Lifetimes: jobs belong to this module. An owner that goes away calls hauth_abandon; after
 * hauth_quiesce no wake function runs any more (call it before what the wake touches is freed).
 */
#ifndef HTTPAUTH_H
#define HTTPAUTH_H

#include "authcache.h"

#include <stddef.h>

struct buf;
struct kube_client;
struct met_family;

enum hauth_result {
	HAUTH_ALLOWED = 0,       /* answer the request */
	HAUTH_DENIED,            /* 403 */
	HAUTH_UNAUTHENTICATED,   /* 401: no, a malformed or an unknown token */
	HAUTH_ERROR,             /* 503: the API server could not answer */
};

struct hauth_decision {
	enum hauth_result hd_result;
	char hd_user[256];       /* the user name for ALLOWED and DENIED, else "" */
	char hd_why[160];        /* for UNAUTHENTICATED and ERROR: what went wrong, no secrets */
};

/*
 * POST body to the API server path (the review collections); the answer into resp (limited by
 * the caller). Returns CC_OK on 2xx, else an error with err filled. The default is kube_request
 * on hao_client; tests inject their own.
 */
typedef int (*hauth_post_fn)(void *arg, const char *path, const char *body, struct buf *resp,
    char *err, size_t errsz);
/* Wake the owner of a finished job, from a worker thread. */
typedef void (*hauth_wake_fn)(void *arg);

struct hauth_opts {
	struct kube_client *hao_client;   /* borrowed; used when hao_post is NULL */
	hauth_post_fn hao_post;           /* NULL: kube_request on hao_client */
	void *hao_post_arg;               /* handed to hao_post */
	struct met_family *hao_counter;   /* certcast_http_auth_total{result}; NULL: not counted */
	const struct authc_opts *hao_cache; /* NULL: authcache's defaults */
	int hao_workers;                  /* review threads; 0: 2 */
	size_t hao_queue_max;             /* reviews waiting at most; 0: 64 (more: 503) */
};

struct hauth;
struct hauth_job;

/* Make the authenticator and start its workers. Free with hauth_free. */
struct hauth *hauth_new(const struct hauth_opts *o);
/* Stop the workers, drop every job and free a. Accepts NULL. Not with requests in flight. */
void hauth_free(struct hauth *a);

/* Whether path is served without a token (the kubelet's probes). */
int hauth_path_open(const char *path);

/* The result's label value in certcast_http_auth_total. */
const char *hauth_result_name(enum hauth_result r);

enum hauth_begin { HAUTH_DONE = 0, HAUTH_PENDING, HAUTH_BUSY };

/*
 * Start deciding whether the request with Authorization header hdr (NULL when absent) may get
 * path. also (may be NULL) is a second path reviewed for the same token and cached, not
 * answered (the live page's /live). Returns
 *   HAUTH_DONE     *d is the decision (from the cache, or a header without a bearer token);
 *   HAUTH_PENDING  *job is set; wake(wake_arg) runs once the decision is ready for hauth_take;
 *   HAUTH_BUSY     too many reviews wait already: answer 503 (*d says so).
 * The token is copied; hdr may be freed on return.
 */
int hauth_begin(struct hauth *a, const char *hdr, const char *path, const char *also,
    void *owner, hauth_wake_fn wake, void *wake_arg, struct hauth_job **job,
    struct hauth_decision *d);

/* The owner of job went away: its decision is dropped, its wake does not run. Accepts NULL. */
void hauth_abandon(struct hauth *a, struct hauth_job *job);

/*
 * The next finished job whose owner is still there: returns 1 with *owner and *d set (the job
 * is freed), 0 when there is none.
 */
int hauth_take(struct hauth *a, void **owner, struct hauth_decision *d);

/*
 * Decide from the cache only, for a caller that cannot wait (a WebSocket upgrade). Returns 1
 * with *d set on a hit or a header without a bearer token; 0 on a miss (*d says
 * UNAUTHENTICATED), after queueing a review of (token, path) so that a retry finds it.
 */
int hauth_peek(struct hauth *a, const char *hdr, const char *path, struct hauth_decision *d);

/* No wake function runs after this returns. Any thread; idempotent. */
void hauth_quiesce(struct hauth *a);

/* The reviews the workers made (TokenReviews and SubjectAccessReviews): tests. */
unsigned long hauth_reviews(struct hauth *a);

#endif
