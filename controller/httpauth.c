/* httpauth: bearer tokens reviewed by the API server, on worker threads, with a cache. */
#include "httpauth.h"

#include "authreview.h"
#include "buf.h"
#include "cc_err.h"
#include "kube_client.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HAUTH_TOKEN_REVIEWS "/apis/authentication.k8s.io/v1/tokenreviews"
#define HAUTH_SARS "/apis/authorization.k8s.io/v1/subjectaccessreviews"
/* A review answer is a few hundred bytes; a user with many groups a few KiB. */
#define HAUTH_ANSWER_MAX (64u << 10)
#define HAUTH_DEFAULT_WORKERS 2
#define HAUTH_DEFAULT_QUEUE 64

enum hauth_job_state { HJ_QUEUED, HJ_RUNNING, HJ_DONE };

struct hauth_job {
	char *j_token;                 /* owned, wiped before it is freed */
	unsigned char j_hash[AUTHC_HASH_LEN]; /* SHA-256 of j_token */
	char *j_path;                  /* owned: the path answered */
	char *j_also;                  /* owned: a path only cached, or NULL */
	void *j_owner;                 /* handed back by hauth_take */
	hauth_wake_fn j_wake;          /* NULL for a background review */
	void *j_wake_arg;
	enum hauth_job_state j_state;  /* under a_mu */
	int j_abandoned;               /* under a_mu: nobody takes the answer */
	struct hauth_decision j_dec;   /* set by the worker */
	struct hauth_job *j_next;      /* in a_queue or a_done */
};

struct hauth {
	struct authc *a_cache;         /* owned */
	struct kube_client *a_client;  /* borrowed */
	hauth_post_fn a_post;
	void *a_post_arg;
	struct met_family *a_counter;  /* borrowed, may be NULL */
	pthread_mutex_t a_mu;          /* guards the lists, the states and a_quiet */
	pthread_cond_t a_cv;           /* a job was queued, or stop */
	struct hauth_job *a_queue, **a_queue_tail; /* waiting for a worker, oldest first */
	size_t a_queued;
	size_t a_queue_max;
	struct hauth_job *a_done, **a_done_tail;   /* finished, for hauth_take */
	int a_quiet;                   /* hauth_quiesce was called */
	int a_stop;                    /* the workers end */
	pthread_t *a_threads;
	int a_nthreads;
	atomic_ulong a_reviews;        /* reviews sent */
};

const char *
hauth_result_name(enum hauth_result r)
{
	switch (r) {
	case HAUTH_ALLOWED:
		return "allowed";
	case HAUTH_DENIED:
		return "denied";
	case HAUTH_UNAUTHENTICATED:
		return "unauthenticated";
	default:
		return "error";
	}
}

int
hauth_path_open(const char *path)
{
	return strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0;
}

static void
hauth_count(struct hauth *a, enum hauth_result r)
{
	if (a->a_counter == NULL)
		return;
	const char *lv[] = {hauth_result_name(r)};
	met_counter_add(a->a_counter, lv, 1);
}

static void
hauth_job_free(struct hauth_job *j)
{
	if (j == NULL)
		return;
	arv_wipe(j->j_token);
	free(j->j_token);
	free(j->j_path);
	free(j->j_also);
	free(j);
}

static int
hauth_kube_post(void *arg, const char *path, const char *body, struct buf *resp, char *err,
    size_t errsz)
{
	struct kube_error ke;
	long status = 0;
	memset(&ke, 0, sizeof ke);
	int rc = kube_request(arg, "POST", path, NULL, body, resp, &status, &ke);
	if (rc != CC_OK)
		snprintf(err, errsz, "%s (HTTP %ld): %.300s", cc_strerror(rc), status,
		    ke.ke_message);
	return rc;
}

/* One POST; err gets the reason, with any echo of the token withheld. */
static int
hauth_post(struct hauth *a, const char *token, const char *path, const char *body,
    struct buf *resp, char *err, size_t errsz)
{
	atomic_fetch_add(&a->a_reviews, 1);
	int rc = a->a_post(a->a_post_arg, path, body, resp, err, errsz);
	if (rc != CC_OK && token[0] && strstr(err, token) != NULL)
		snprintf(err, errsz,
		    "%s (the API server's message is withheld: it quotes the token)",
		    cc_strerror(rc));
	return rc;
}

/* Fill d for an API failure (not cached) and log it, never with the token. */
static void
hauth_api_error(struct hauth_decision *d, const char *what, const char *path, const char *why)
{
	d->hd_result = HAUTH_ERROR;
	d->hd_user[0] = '\0';
	snprintf(d->hd_why, sizeof d->hd_why, "the API server did not answer the %s", what);
	log_error("HTTP auth: %s for %s: %s", what, path, why);
}

/*
 * Review (token, path) and, when also is set, (token, also): a TokenReview, then one
 * SubjectAccessReview per path. Every definite answer goes into the cache. d gets the decision
 * for path.
 */
static void
hauth_review(struct hauth *a, const struct hauth_job *j, struct hauth_decision *d)
{
	struct arv_identity id;
	struct buf resp;
	char err[512];
	int authenticated = 0;
	memset(&id, 0, sizeof id);
	memset(d, 0, sizeof *d);
	buf_init(&resp, HAUTH_ANSWER_MAX);
	char *body = arv_token_review_body(j->j_token);
	int rc = hauth_post(a, j->j_token, HAUTH_TOKEN_REVIEWS, body, &resp, err, sizeof err);
	arv_wipe(body);
	free(body);
	if (rc == CC_OK)
		rc = arv_parse_token_review(resp.b_data, resp.b_len, &authenticated, &id, err,
		    sizeof err);
	if (rc != CC_OK) {
		hauth_api_error(d, "TokenReview", j->j_path, err);
		goto out;
	}
	if (!authenticated) {
		d->hd_result = HAUTH_UNAUTHENTICATED;
		snprintf(d->hd_why, sizeof d->hd_why, "the token is not valid");
		authc_put(a->a_cache, j->j_hash, j->j_path, AUTHC_UNAUTHENTICATED, "");
		if (j->j_also)
			authc_put(a->a_cache, j->j_hash, j->j_also, AUTHC_UNAUTHENTICATED, "");
		goto out;
	}
	snprintf(d->hd_user, sizeof d->hd_user, "%s", id.id_user);
	for (int k = 0; k < 2; k++) {
		const char *p = k == 0 ? j->j_path : j->j_also;
		if (p == NULL)
			break;
		int allowed = 0;
		char reason[128];
		body = arv_sar_body(&id, p);
		buf_reset(&resp);
		rc = hauth_post(a, j->j_token, HAUTH_SARS, body, &resp, err, sizeof err);
		free(body);
		if (rc == CC_OK)
			rc = arv_parse_sar(resp.b_data, resp.b_len, &allowed, reason,
			    sizeof reason, err, sizeof err);
		if (rc != CC_OK) {
			if (k == 0)
				hauth_api_error(d, "SubjectAccessReview", p, err);
			else
				log_warn("HTTP auth: SubjectAccessReview for %s: %s", p, err);
			break;
		}
		authc_put(a->a_cache, j->j_hash, p, allowed ? AUTHC_ALLOWED : AUTHC_DENIED,
		    id.id_user);
		if (k == 0)
			d->hd_result = allowed ? HAUTH_ALLOWED : HAUTH_DENIED;
		if (!allowed)
			log_debug("HTTP auth: user %s may not get %s%s%s", id.id_user, p,
			    reason[0] ? ": " : "", reason);
	}
out:
	arv_identity_free(&id);
	buf_free(&resp);
}

static void *
hauth_worker(void *arg)
{
	struct hauth *a = arg;
	pthread_mutex_lock(&a->a_mu);
	for (;;) {
		while (!a->a_stop && a->a_queue == NULL)
			pthread_cond_wait(&a->a_cv, &a->a_mu);
		if (a->a_stop)
			break;
		struct hauth_job *j = a->a_queue;
		a->a_queue = j->j_next;
		if (a->a_queue == NULL)
			a->a_queue_tail = &a->a_queue;
		a->a_queued--;
		j->j_next = NULL;
		if (j->j_abandoned) {
			/* its connection closed while it waited: no review is worth sending */
			hauth_job_free(j);
			continue;
		}
		j->j_state = HJ_RUNNING;
		pthread_mutex_unlock(&a->a_mu);
		struct hauth_decision d;
		hauth_review(a, j, &d);
		if (j->j_wake != NULL)
			hauth_count(a, d.hd_result);
		pthread_mutex_lock(&a->a_mu);
		j->j_dec = d;
		j->j_state = HJ_DONE;
		/* the token is not needed any more: wipe it before the job waits to be taken */
		arv_wipe(j->j_token);
		if (j->j_abandoned || j->j_wake == NULL) {
			hauth_job_free(j);
			continue;
		}
		*a->a_done_tail = j;
		a->a_done_tail = &j->j_next;
		/* under the lock: hauth_quiesce waits for a wake in progress */
		if (!a->a_quiet)
			j->j_wake(j->j_wake_arg);
	}
	pthread_mutex_unlock(&a->a_mu);
	return NULL;
}

struct hauth *
hauth_new(const struct hauth_opts *o)
{
	struct hauth *a = xcalloc(1, sizeof *a);
	a->a_cache = authc_new(o->hao_cache);
	a->a_client = o->hao_client;
	a->a_post = o->hao_post ? o->hao_post : hauth_kube_post;
	a->a_post_arg = o->hao_post ? o->hao_post_arg : o->hao_client;
	a->a_counter = o->hao_counter;
	a->a_queue_max = o->hao_queue_max ? o->hao_queue_max : HAUTH_DEFAULT_QUEUE;
	a->a_queue_tail = &a->a_queue;
	a->a_done_tail = &a->a_done;
	atomic_init(&a->a_reviews, 0);
	pthread_mutex_init(&a->a_mu, NULL);
	pthread_cond_init(&a->a_cv, NULL);
	/* the series exist from the first scrape on, at 0 */
	for (int r = HAUTH_ALLOWED; r <= HAUTH_ERROR && a->a_counter; r++) {
		const char *lv[] = {hauth_result_name((enum hauth_result)r)};
		met_counter_add(a->a_counter, lv, 0);
	}
	int n = o->hao_workers > 0 ? o->hao_workers : HAUTH_DEFAULT_WORKERS;
	a->a_threads = xcalloc((size_t)n, sizeof *a->a_threads);
	for (int i = 0; i < n; i++) {
		if (pthread_create(&a->a_threads[i], NULL, hauth_worker, a) != 0)
			fatalx("cannot start an HTTP auth worker");
		a->a_nthreads++;
	}
	return a;
}

static void
hauth_free_list(struct hauth_job *j)
{
	while (j != NULL) {
		struct hauth_job *next = j->j_next;
		hauth_job_free(j);
		j = next;
	}
}

void
hauth_free(struct hauth *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->a_mu);
	a->a_stop = 1;
	a->a_quiet = 1;
	pthread_cond_broadcast(&a->a_cv);
	pthread_mutex_unlock(&a->a_mu);
	for (int i = 0; i < a->a_nthreads; i++)
		pthread_join(a->a_threads[i], NULL);
	hauth_free_list(a->a_queue);
	hauth_free_list(a->a_done);
	free(a->a_threads);
	pthread_cond_destroy(&a->a_cv);
	pthread_mutex_destroy(&a->a_mu);
	authc_free(a->a_cache);
	free(a);
}

static enum hauth_result
hauth_from_cache(enum authc_result r)
{
	switch (r) {
	case AUTHC_ALLOWED:
		return HAUTH_ALLOWED;
	case AUTHC_DENIED:
		return HAUTH_DENIED;
	default:
		return HAUTH_UNAUTHENTICATED;
	}
}

/*
 * The token of hdr and its hash, or a decision: returns 1 with token and hash set, 0 with d
 * set to UNAUTHENTICATED.
 */
static int
hauth_token(const char *hdr, char *token, size_t tokensz, unsigned char *hash,
    struct hauth_decision *d)
{
	char why[160];
	memset(d, 0, sizeof *d);
	if (arv_parse_bearer(hdr, token, tokensz, why, sizeof why) != CC_OK) {
		d->hd_result = HAUTH_UNAUTHENTICATED;
		snprintf(d->hd_why, sizeof d->hd_why, "%s", why);
		return 0;
	}
	authc_hash(token, hash);
	return 1;
}

/* The cached decision for (hash, path) into d: 1 on a hit. */
static int
hauth_cached(struct hauth *a, const unsigned char *hash, const char *path,
    struct hauth_decision *d)
{
	enum authc_result r;
	if (!authc_get(a->a_cache, hash, path, &r, d->hd_user, sizeof d->hd_user))
		return 0;
	d->hd_result = hauth_from_cache(r);
	if (r == AUTHC_UNAUTHENTICATED)
		snprintf(d->hd_why, sizeof d->hd_why, "the token is not valid");
	return 1;
}

/* Queue a review; NULL when the queue is full (token is then wiped by the caller). */
static struct hauth_job *
hauth_enqueue(struct hauth *a, const char *token, const unsigned char *hash, const char *path,
    const char *also, void *owner, hauth_wake_fn wake, void *wake_arg)
{
	pthread_mutex_lock(&a->a_mu);
	if (a->a_queued >= a->a_queue_max) {
		pthread_mutex_unlock(&a->a_mu);
		return NULL;
	}
	struct hauth_job *j = xcalloc(1, sizeof *j);
	j->j_token = xstrdup(token);
	memcpy(j->j_hash, hash, AUTHC_HASH_LEN);
	j->j_path = xstrdup(path);
	j->j_also = also ? xstrdup(also) : NULL;
	j->j_owner = owner;
	j->j_wake = wake;
	j->j_wake_arg = wake_arg;
	j->j_state = HJ_QUEUED;
	*a->a_queue_tail = j;
	a->a_queue_tail = &j->j_next;
	a->a_queued++;
	pthread_cond_signal(&a->a_cv);
	pthread_mutex_unlock(&a->a_mu);
	return j;
}

int
hauth_begin(struct hauth *a, const char *hdr, const char *path, const char *also,
    void *owner, hauth_wake_fn wake, void *wake_arg, struct hauth_job **job,
    struct hauth_decision *d)
{
	char token[ARV_TOKEN_MAX + 1];
	unsigned char hash[AUTHC_HASH_LEN];
	int rc = HAUTH_DONE;
	*job = NULL;
	if (!hauth_token(hdr, token, sizeof token, hash, d)) {
		hauth_count(a, d->hd_result);
		return HAUTH_DONE;
	}
	if (hauth_cached(a, hash, path, d) &&
	    (also == NULL || d->hd_result == HAUTH_UNAUTHENTICATED ||
		authc_get(a->a_cache, hash, also, &(enum authc_result){0}, NULL, 0))) {
		hauth_count(a, d->hd_result);
		goto out;
	}
	*job = hauth_enqueue(a, token, hash, path, also, owner, wake, wake_arg);
	if (*job != NULL) {
		rc = HAUTH_PENDING;
		goto out;
	}
	memset(d, 0, sizeof *d);
	d->hd_result = HAUTH_ERROR;
	snprintf(d->hd_why, sizeof d->hd_why, "too many requests wait for the API server's review");
	log_warn("HTTP auth: %zu reviews wait already; answering 503 for %s", a->a_queue_max, path);
	hauth_count(a, d->hd_result);
	rc = HAUTH_BUSY;
out:
	explicit_bzero(token, sizeof token);
	return rc;
}

void
hauth_abandon(struct hauth *a, struct hauth_job *job)
{
	if (a == NULL || job == NULL)
		return;
	pthread_mutex_lock(&a->a_mu);
	job->j_abandoned = 1;
	pthread_mutex_unlock(&a->a_mu);
}

int
hauth_take(struct hauth *a, void **owner, struct hauth_decision *d)
{
	int got = 0;
	pthread_mutex_lock(&a->a_mu);
	while (!got && a->a_done != NULL) {
		struct hauth_job *j = a->a_done;
		a->a_done = j->j_next;
		if (a->a_done == NULL)
			a->a_done_tail = &a->a_done;
		if (!j->j_abandoned) {
			*owner = j->j_owner;
			*d = j->j_dec;
			got = 1;
		}
		hauth_job_free(j);
	}
	pthread_mutex_unlock(&a->a_mu);
	return got;
}

int
hauth_peek(struct hauth *a, const char *hdr, const char *path, struct hauth_decision *d)
{
	char token[ARV_TOKEN_MAX + 1];
	unsigned char hash[AUTHC_HASH_LEN];
	int hit = 1;
	if (!hauth_token(hdr, token, sizeof token, hash, d))
		goto out;
	if (!hauth_cached(a, hash, path, d)) {
		hit = 0;
		d->hd_result = HAUTH_UNAUTHENTICATED;
		snprintf(d->hd_why, sizeof d->hd_why,
		    "no decision yet for this token and path (one is being made: retry)");
		(void)hauth_enqueue(a, token, hash, path, NULL, NULL, NULL, NULL);
	}
out:
	hauth_count(a, d->hd_result);
	explicit_bzero(token, sizeof token);
	return hit;
}

void
hauth_quiesce(struct hauth *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->a_mu);
	a->a_quiet = 1;
	pthread_mutex_unlock(&a->a_mu);
}

unsigned long
hauth_reviews(struct hauth *a)
{
	return atomic_load(&a->a_reviews);
}
