/*
 * explain_cmd: `certcast explain NAMESPACE/NAME`. Lists what status lists in the certificate's
 * namespace, scores the one certificate and prints the scoring library's whole explanation:
 * risk and level, cert-manager's schedule, the issuer estimate, every factor with its
 * contribution, the decision and the anomalies. With --state-file, the controller's learned
 * model takes part (read from a copy of its checkpoint) and its calibration is printed.
 */
#include "explain_cmd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assess.h"
#include "cc_err.h"
#include "learn.h"
#include "model.h"
#include "records.h"
#include "status.h"
#include "store.h"
#include "xalloc.h"

#define XP_TEXT_MAX (64 * 1024) /* the explanation; ex_text cuts at a line boundary */

/* The model's calibration, as `explain --state-file` prints it under the forecast. */
static void
xp_calibration(const struct lm_model *m, FILE *out)
{
	struct lm_calibration cal;
	lm_calibration(m, &cal);
	fprintf(out, "\nLearned model: %.0f outcomes learned, %.0f of them failures\n", cal.cal_n,
	    cal.cal_base_rate * cal.cal_n);
	if (cal.cal_n <= 0)
		return;
	fprintf(out, "  Brier score %.4f (forecasting the observed failure rate instead: %.4f)\n",
	    cal.cal_brier, cal.cal_brier_base);
	fprintf(out, "  reliability:  forecast   outcomes   mean forecast   observed failures\n");
	for (int i = 0; i < LM_CAL_BINS; i++) {
		const struct lm_bin *b = &cal.cal_bins[i];
		if (b->b_count <= 0)
			continue;
		fprintf(out, "                %.1f-%.1f   %8.0f   %13.3f   %17.3f\n",
		    (double)i / LM_CAL_BINS, (double)(i + 1) / LM_CAL_BINS, b->b_count,
		    b->b_sum_pred / b->b_count, b->b_sum_obs / b->b_count);
	}
}

int
xp_print(struct store *st, const char *ns, const char *name, int64_t now, FILE *out, FILE *errf)
{
	return xp_print_model(st, ns, name, now, NULL, out, errf);
}

int
xp_print_model(struct store *st, const char *ns, const char *name, int64_t now,
    const struct lm_model *m, FILE *out, FILE *errf)
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
	as_set_model(a, m);
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
	if (m)
		xp_calibration(m, out);
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
	struct lm_model *lm = NULL;
	if (o->xo_state_file) {
		/* asked for on the command line: an unusable file is an error, not a quiet fallback */
		struct mdl *m = mdl_new(0);
		char err[512] = "";
		if (mdl_load(m, o->xo_state_file, err, sizeof err) != CC_OK) {
			fprintf(errf, "certcast explain: state file %s\n", err);
			mdl_free(m);
			return 1;
		}
		lm = xmalloc(sizeof *lm);
		mdl_snapshot(m, lm);
		mdl_free(m);
	}
	char got_ns[256];
	struct store *st = store_new();
	int code = 1;
	if (status_load(&so, "explain", st, got_ns, sizeof got_ns, errf) == CC_OK)
		code = xp_print_model(st, ns, slash + 1, (int64_t)time(NULL), lm, out, errf);
	store_free(st);
	free(lm);
	return code;
}
