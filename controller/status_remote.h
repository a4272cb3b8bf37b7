/*
 * status_remote: `certcast status --controller URL`. Fetches URL/status[?namespace=NS] from a
 * running controller (http_server.h), that is, every certificate's row scored with the
 * controller's own inputs (its settings, live signals, ARI windows, ACME budgets, learned
 * model: the risk certcast_certificate_risk publishes), reads the document back into rows and
 * prints them as the local command does (status.h), so -o table, wide and json look the same
 * and the exit code means the same.
 *
 * The URL rules and the GET are ctlget.h's: http or https with verification, no redirects,
 * CG_CONNECT_TIMEOUT_MS to connect, SRM_TIMEOUT_MS in all, answers over SRM_BODY_MAX refused.
 */
#ifndef STATUS_REMOTE_H
#define STATUS_REMOTE_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

/* Scoring 100k certificates and sending their ~200 MB through a port-forward takes a while. */
#define SRM_TIMEOUT_MS 120000
/* The controller's own bound on /status (http_server.h's HTTP_STATUS_MAX). */
#define SRM_BODY_MAX (256u << 20)

/*
 * The request URL for namespace ns ("" for every namespace) on the controller at base into out
 * (cg_url's rules for base): base/status, or base/status?namespace=NS. ns must be a DNS label,
 * so nothing needs escaping. Returns CC_OK, or CC_ERR_INVAL with the reason in err.
 */
int srm_url(const char *base, const char *ns, char *out, size_t outsz, char *err, size_t errsz);

/*
 * The command: resolve the namespace as the local command does (-n, -A, else the kubeconfig
 * context's; the kubeconfig is read only for that), GET the rows and print them in
 * o->so_output. Exit code: status_exit_code() of the rows (3 when one is critical); 1 when the
 * kubeconfig is needed and unusable, or the controller cannot be reached, answers late, too
 * much, not a status document, or an error (each said on errf, naming the URL); 2 for an
 * unusable URL.
 */
int srm_run(const struct status_opts *o, FILE *out, FILE *errf);
/* srm_run with another limit on the answer's size (tests), max bytes. */
int srm_run_max(const struct status_opts *o, size_t max, FILE *out, FILE *errf);

#endif
