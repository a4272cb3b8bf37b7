/*
 * explain_remote: `certcast explain NAMESPACE/NAME --controller URL`. Fetches
 * URL/explain/NAMESPACE/NAME from a running controller's HTTP endpoint (http_server.h), that
 * is, the explanation of the very number the controller publishes, and prints it unchanged.
 *
 * The URL rules, the GET and its messages are ctlget.h's (shared with `status --controller`):
 * plain HTTP or HTTPS with certificate and host name verification (the system's CAs, and
 * those of --controller-ca), no
 * redirects, CG_CONNECT_TIMEOUT_MS to connect and XR_TIMEOUT_MS in all, answers over
 * XR_BODY_MAX refused.
 */
#ifndef EXPLAIN_REMOTE_H
#define EXPLAIN_REMOTE_H

#include <stddef.h>
#include <stdio.h>

#define XR_TIMEOUT_MS 30000
#define XR_BODY_MAX (1u << 20) /* as much as the endpoint itself ever sends */

/*
 * The request URL for Certificate ns/name on the controller at base into out: base as
 * cg_url takes it (http://HOST[:PORT][/PREFIX] or https://..., without a query, a fragment or
 * user information; trailing slashes dropped), with "/explain/NS/NAME" appended. ns must be a
 * namespace name (DNS label) and name an object name (DNS subdomain), so nothing needs
 * escaping. Returns CC_OK, or CC_ERR_INVAL with the reason in err.
 */
int xr_url(const char *base, const char *ns, const char *name, char *out, size_t outsz, char *err,
    size_t errsz);

/*
 * The command: GET the explanation and print it on out. Exit code: 0; 1 when the controller
 * cannot be reached, answers late or too much, does not know the certificate (404), is not
 * ready (503) or answers another status (each said on errf, naming the URL and quoting the
 * controller's message); 2 for an unusable URL or names.
 */
int xr_run(const char *base, const char *ns, const char *name, FILE *out, FILE *errf);
/* xr_run with another limit on the answer's size (tests), max bytes. */
int xr_run_max(const char *base, const char *ns, const char *name, size_t max, FILE *out,
    FILE *errf);
struct cg_access;
/*
 * xr_run reaching the controller as acc says (ctlget.h: --controller-ca, --controller-token-file;
 * NULL: neither); 2 as well when one of those files is unusable (cg_fetch_as).
 */
int xr_run_as(const char *base, const struct cg_access *acc, const char *ns, const char *name,
    FILE *out, FILE *errf);

#endif
