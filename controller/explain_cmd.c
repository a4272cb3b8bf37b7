/*
 * explain_cmd: `certcast explain NAMESPACE/NAME`. Lists what status lists in the certificate's
 * namespace, scores the one certificate and prints the scoring library's whole explanation:
 * risk and level, cert-manager's schedule, the issuer estimate, every factor with its
 * contribution, the decision and the anomalies.
 */
#include "explain_cmd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assess.h"
#include "cc_err.h"
#include "records.h"
#include "status.h"
#include "store.h"
#include "xalloc.h"

#define XP_TEXT_MAX (64 * 1024) /* the explanation; ex_text cuts at a line boundary */

int
xp_print(struct store *st, const char *ns, const char *name, int64_t now, FILE *out, FILE *errf)
{
	store_rdlock(st);
	const struct rec_cert *c = store_cert_get(st, ns, name);
	if (c == NULL) {
		store_unlock(st);
		fprintf(errf, "certcast explain: certificate \"%s\" not found in namespace \"%s\"\n", name,
		    ns);
		return 1;
	}
	struct sc_result *res = xcalloc(1, sizeof *res);
	char *text = xcalloc(1, XP_TEXT_MAX);
	struct as_ctx *a = as_new(st, NULL, now);
	(void)as_find_anomalies(a);
	int rc = as_score(a, c, res, text, XP_TEXT_MAX);
	as_free(a);
	store_unlock(st);
	fprintf(out, "Certificate %s/%s\n", ns, name);
	if (rc != SC_OK)
		fprintf(out, "The certificate's own data is inconsistent; scored as low risk:\n");
	fputs(text, out);
	if (text[0] && text[strlen(text) - 1] != '\n')
		fputc('\n', out);
	fflush(out);
	free(text);
	free(res);
	return 0;
}

int
xp_run(const struct xp_opts *o, FILE *out, FILE *errf)
{
	const char *slash = strchr(o->xo_target, '/');
	if (slash == NULL) { /* cli_parse checks this; a direct caller may not */
		fprintf(errf, "certcast explain: invalid certificate \"%s\": expected NAMESPACE/NAME\n",
		    o->xo_target);
		return 2;
	}
	char ns[256];
	size_t nl = (size_t)(slash - o->xo_target);
	if (nl >= sizeof ns) {
		fprintf(errf, "certcast explain: namespace too long\n");
		return 2;
	}
	memcpy(ns, o->xo_target, nl);
	ns[nl] = '\0';
	struct status_opts so;
	memset(&so, 0, sizeof so);
	so.so_kubeconfig = o->xo_kubeconfig;
	so.so_context = o->xo_context;
	so.so_namespace = ns;
	char got_ns[256];
	struct store *st = store_new();
	int code = 1;
	if (status_load(&so, "explain", st, got_ns, sizeof got_ns, errf) == CC_OK)
		code = xp_print(st, ns, slash + 1, (int64_t)time(NULL), out, errf);
	store_free(st);
	return code;
}
