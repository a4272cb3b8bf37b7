/*
 * cc_err: the one error convention of certcast.
 *
 * Every fallible function in controller/ and sim/ returns an int that is CC_OK (0) or one of the
 * negative codes below. Detail that a code cannot carry (an HTTP status, a Kubernetes Status
 * message, a file position) travels in an out-parameter owned by the caller, never in errno.
 * Out of memory is not a code: xalloc aborts.
 */
#ifndef CC_ERR_H
#define CC_ERR_H

#include <stddef.h>

enum cc_err {
	CC_OK = 0,
	CC_ERR_INVAL = -1,       /* bad argument or bad input value */
	CC_ERR_IO = -2,          /* file or socket I/O failed */
	CC_ERR_HTTP = -3,        /* an HTTP status we do not map further */
	CC_ERR_PARSE = -4,       /* malformed JSON, YAML, PEM, duration ... */
	CC_ERR_TOOBIG = -5,      /* input over its size limit */
	CC_ERR_GONE = -6,        /* 410: resourceVersion too old, relist */
	CC_ERR_FORBIDDEN = -7,   /* 403 */
	CC_ERR_UNAUTHORIZED = -8,/* 401 */
	CC_ERR_NOTFOUND = -9,    /* 404 */
	CC_ERR_CONFLICT = -10,   /* 409: resourceVersion mismatch or already exists */
	CC_ERR_TIMEOUT = -11,    /* deadline passed */
	CC_ERR_CANCELED = -12,   /* stopped on request (shutdown) */
	CC_ERR_CONFIG = -13,     /* unusable kubeconfig or config file */
	CC_ERR_UNAVAILABLE = -14,/* 5xx, 429, connection refused: retry later */
	CC_ERR_TLS = -15,        /* certificate verification or TLS set-up failed */
	CC_ERR_INVALID_OBJECT = -16, /* 422: the API server rejected the object */
	CC_ERR_STATE = -17,      /* call not valid in the current state */
};

/* A short constant description of err; never NULL, also for unknown codes. */
const char *cc_strerror(int err);

/*
 * Format a message into err (when err is non-NULL and errsz > 0) and return rc: the one-line
 * "fail with a reason" used by every parser and validator that reports into a caller's buffer.
 */
int cc_fail(char *err, size_t errsz, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* True for codes worth retrying with backoff (network, 5xx, 429, timeouts, conflicts). */
int cc_err_retryable(int err);

#endif
