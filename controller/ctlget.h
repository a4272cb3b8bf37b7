/*
 * ctlget: the CLI's GET from a running controller's HTTP endpoint (`--controller URL`), shared
 * by `explain --controller` (explain_remote.h) and `status --controller` (status_remote.h) so
 * that both accept the same URLs, keep the same limits and word their failures alike.
 *
 * The base URL is http://HOST[:PORT][/PREFIX] or https://..., without user information, a
 * query or a fragment. The GET goes through httpget.h: TLS verification on, no redirects,
 * http and https only; the proxy variables apply as they do to curl. An https:// controller is
 * verified against the system's CAs, plus the bundle of --controller-ca when given.
 */
#ifndef CTLGET_H
#define CTLGET_H

#include <stddef.h>
#include <stdio.h>

struct buf;

#define CG_CONNECT_TIMEOUT_MS 5000

/*
 * The URL of path (starting with "/", query allowed) on the controller at base, into out:
 * base is checked as above, its trailing slashes are dropped and path is appended unchanged
 * (the caller has made sure it needs no escaping). Returns CC_OK, or CC_ERR_INVAL with the
 * reason (naming base) in err.
 */
int cg_url(const char *base, const char *path, char *out, size_t outsz, char *err,
    size_t errsz);

/*
 * GET url into body (buf_init'ed by the caller; its limit is the largest answer taken),
 * connecting within CG_CONNECT_TIMEOUT_MS and done within timeout_ms. Returns 0 for a 200
 * answer; otherwise 1, with one line on errf that starts with "certcast CMD: ", names the URL
 * and says why: unreachable, late or too large, not found (404: the controller's first line,
 * or a hint that this may not be certcast's port), not ready (503) or another status, quoting
 * the first line of the controller's answer.
 */
int cg_fetch(const char *url, const char *cmd, long timeout_ms, struct buf *body, FILE *errf);

/* A --controller-ca file is a CA bundle of a few KiB; more is not one. */
#define CG_CA_MAX (1u << 20)
/* The longest token --controller-token-file may hold: what the controller reviews (8 KiB). */
#define CG_TOKEN_MAX 8192

/* How the CLI reaches a controller beyond its URL; NULL members: not given. */
struct cg_access {
	const char *ga_ca_file;    /* --controller-ca: PEM CAs trusted besides the system's */
	const char *ga_token_file; /* --controller-token-file: a Kubernetes bearer token */
};

/*
 * cg_fetch as acc says (NULL: as cg_fetch):
 * - ga_ca_file: trust its PEM CA certificates besides the system's, for a controller serving
 *   HTTPS with a certificate from a private CA (cert-manager's CA issuer);
 * - ga_token_file: send the token it holds (surrounding white space dropped) as
 *   "Authorization: Bearer", for a controller with httpAuth kubernetes. Only over https://,
 *   or over http:// to a loopback address (kubectl port-forward): anywhere else the token
 *   would cross the network in clear, and the call is refused. The token is never printed.
 * A 401 says whether a token is needed or the one given was not accepted.
 * Returns cg_fetch's codes, or 2 (usage) when a file cannot be read or is not what it should be
 * (over CG_CA_MAX or CG_TOKEN_MAX, no PEM certificate, not one token) or the token would go
 * over plain HTTP, with one line on errf naming the file.
 */
int cg_fetch_as(const char *url, const char *cmd, const struct cg_access *acc, long timeout_ms,
    struct buf *body, FILE *errf);

/* Whether the http(s) URL's host is a loopback address (127.0.0.0/8, ::1) or "localhost". */
int cg_url_loopback(const char *url);

#endif
