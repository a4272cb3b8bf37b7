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

/*
 * cg_fetch trusting the PEM CA certificates in ca_file (NULL: none) besides the system's: for a
 * controller serving HTTPS with a certificate from a private CA (cert-manager's CA issuer).
 * Returns cg_fetch's codes, or 2 (usage) when ca_file cannot be read, is over CG_CA_MAX or holds
 * no PEM certificate, with one line on errf naming the file.
 */
int cg_fetch_ca(const char *url, const char *cmd, const char *ca_file, long timeout_ms,
    struct buf *body, FILE *errf);

#endif
