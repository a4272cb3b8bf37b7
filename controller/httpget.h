/*
 * httpget: one HTTP GET with libcurl, into a size-limited buf, the way every outbound fetch of
 * certcast's own (cert-manager's metrics, ACME renewal information, a controller's explanation)
 * needs it: no redirects, fixed protocols, connect and total timeouts, a stop flag that aborts a
 * transfer in flight, and optionally a PEM bundle trusted in addition to the system's CAs.
 * TLS verification is always on; there is no switch to turn it off.
 *
 * Thread-safe: each call uses its own handle. curl_global_init must have run (hg_global_init).
 */
#ifndef HTTPGET_H
#define HTTPGET_H

#include <stdatomic.h>
#include <stddef.h>

#include "buf.h"

struct hg_req {
	const char *hr_url;
	const char *hr_protocols;     /* curl's list, e.g. "http" or "https" or "http,https" */
	const char *hr_accept;        /* an Accept header value, or NULL */
	int hr_no_proxy;              /* never through a proxy (pod IPs, loopback) */
	const unsigned char *hr_ca;   /* PEM certificates trusted besides the system's, or NULL */
	const char *hr_bearer;        /* "Authorization: Bearer" this, or NULL; never in why */
	size_t hr_ca_len;
	long hr_connect_timeout_ms;
	long hr_timeout_ms;
	atomic_int *hr_stop;          /* non-zero aborts the transfer; NULL: never */
};

struct hg_resp {
	long hr_code;            /* the HTTP status, 0 when none arrived */
	char hr_retry_after[64]; /* the Retry-After header's value without its blanks, or "" (also
				    when it is longer than this) */
};

/*
 * The value of a response header line as curl hands it over ("Retry-After: 120\r\n", the name
 * in any case) into out (size outsz): up to the first CR, LF or NUL, without the blanks around
 * it. Returns 1 when the line is a Retry-After header, with out "" when its value does not fit
 * (cut, it would read as another value), else 0 with out "". Public for tests and fuzzing.
 */
int hg_retry_after_header(const char *line, size_t len, char *out, size_t outsz);

/* Room for any why hg_get writes (curl's error buffer is 256 bytes). */
#define HG_WHY_MAX 320

/* Once per process, before threads start. */
void hg_global_init(void);

/*
 * GET req->hr_url into body (its limit bounds the body, after decoding). Returns CC_OK with
 * resp filled for any HTTP status; otherwise CC_ERR_TOOBIG (body over its limit),
 * CC_ERR_CANCELED (stopped), CC_ERR_TIMEOUT or CC_ERR_IO, with why saying what went wrong.
 */
int hg_get(const struct hg_req *req, struct buf *body, struct hg_resp *resp, char *why,
    size_t whylen);

#endif
