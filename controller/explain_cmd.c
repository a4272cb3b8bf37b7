/*
 * explain_cmd: `certcast explain NAMESPACE/NAME`. Lists what status lists in the certificate's
 * namespace, scores the one certificate and prints the scoring library's whole explanation:
 * risk and level, cert-manager's schedule, the issuer estimate, every factor with its
 * contribution, the decision and the anomalies. With --state-file, the controller's learned
 * model takes part (read from a copy of its checkpoint) and its calibration is printed; with
 * --config, the settings file's scoring settings. With --controller URL, nothing is scored
 * here: the controller's own explanation is fetched (explain_remote.h) and printed.
 */
#include "explain_cmd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actplan.h"
#include "assess.h"
#include "budget.h"
#include "buf.h"
#include "cc_err.h"
#include "config.h"
#include "ctlget.h"
#include "explain_fmt.h"
#include "explain_remote.h"
#include "learn.h"
#include "model.h"
#include "records.h"
#include "status.h"
#include "store.h"
#include "xalloc.h"

int
xp_print(struct store *st, const char *ns, const char *name, int64_t now, FILE *out, FILE *errf)
{
	return xp_print_model(st, ns, name, now, NULL, out, errf);
}

int
xp_print_model(struct store *st, const char *ns, const char *name, int64_t now,
    const struct lm_model *m, FILE *out, FILE *errf)
{
	struct xp_inputs in = {NULL, m, NULL, NULL};
	return xp_print_inputs(st, ns, name, now, &in, out, errf);
}

int
xp_print_inputs(struct store *st, const char *ns, const char *name, int64_t now,
    const struct xp_inputs *in, FILE *out, FILE *errf)
{
	store_rdlock(st);
	const struct rec_cert *c = store_cert_get(st, ns, name);
	if (c == NULL) {
		store_unlock(st);
		fprintf(errf, "certcast explain: certificate \"%s\" not found in namespace \"%s\"\n", name,
		    ns);
		return 1;
	}
	struct xf_explanation *x = xcalloc(1, sizeof *x);
	struct as_ctx *a = as_new(st, in->xi_cfg, now);
	as_use_budgets(a, in->xi_budgets);
	if (in->xi_model) {
		x->xe_model = *in->xi_model;
		x->xe_has_model = 1;
		as_set_model(a, &x->xe_model);
	}
	(void)as_find_anomalies(a);
	x->xe_rc = as_score(a, c, &x->xe_res, x->xe_text, sizeof x->xe_text);
	ap_describe(c, x->xe_res.r_mode, x->xe_actions, sizeof x->xe_actions);
	as_free(a);
	store_unlock(st);
	struct buf b;
	buf_init(&b, 2 * XF_TEXT_MAX); /* the text and the calibration table fit well within */
	(void)xf_text(&b, ns, name, in->xi_note, x);
	if (b.b_data)
		fputs(b.b_data, out);
	fflush(out);
	buf_free(&b);
	free(x);
	return 0;
}

/* Load the controller's settings file for its scoring settings; exit code 0, or 2 as controller. */
static int
xp_load_config(const char *path, struct cfg *c, FILE *errf)
{
	char err[768];
	cfg_defaults(c);
	int rc = cfg_load_file(c, path, err, sizeof err);
	if (rc == CC_OK)
		rc = cfg_validate(c, err, sizeof err);
	if (rc != CC_OK) {
		fprintf(errf, "certcast explain: %s\n", err);
		cfg_free(c);
		return 2;
	}
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
	if (o->xo_controller) {
		struct cg_access acc = {o->xo_controller_ca, o->xo_controller_token};
		return xr_run_as(o->xo_controller, &acc, ns, slash + 1, out, errf);
	}
	struct cfg cfg;
	struct sc_config scfg;
	struct xp_inputs in = {NULL, NULL, NULL, NULL};
	if (o->xo_config) {
		/* a settings file that would stop the controller stops explain too: same words */
		int code = xp_load_config(o->xo_config, &cfg, errf);
		if (code != 0)
			return code;
		cfg_scoring(&cfg, &scfg);
		in.xi_cfg = &scfg;
		in.xi_budgets = bg_open(cfg.c_psl_file, 0, INT64_MAX);
		cfg_free(&cfg);
	}
	struct status_opts so;
	memset(&so, 0, sizeof so);
	so.so_kubeconfig = o->xo_kubeconfig;
	so.so_context = o->xo_context;
	so.so_namespace = ns;
	struct lm_model *lm = NULL;
	int code = 1;
	struct store *st = NULL;
	if (o->xo_state_file) {
		/* asked for on the command line: an unusable file is an error, not a quiet fallback */
		struct mdl *m = mdl_new(0);
		char err[512] = "";
		if (mdl_load(m, o->xo_state_file, err, sizeof err) != CC_OK) {
			fprintf(errf, "certcast explain: state file %s\n", err);
			mdl_free(m);
			goto out;
		}
		lm = xmalloc(sizeof *lm);
		mdl_snapshot(m, lm);
		mdl_free(m);
	}
	in.xi_model = lm;
	/*
	 * Say where the number comes from: the controller scores with inputs this process does not
	 * have, so its metric can differ from what is printed here.
	 */
	const char *note = lm ?
	    "Computed here with the learned model of --state-file, without the controller's live "
	    "signals and ARI windows: --controller URL shows the controller's own number." :
	    "Computed here, without the controller's live signals, ARI windows and learned model: "
	    "--controller URL shows the controller's own number (--state-file FILE adds its model).";
	in.xi_note = note;
	char got_ns[256];
	st = store_new();
	if (status_load(&so, "explain", st, got_ns, sizeof got_ns, errf) == CC_OK)
		code = xp_print_inputs(st, ns, slash + 1, (int64_t)time(NULL), &in, out, errf);
out:
	store_free(st);
	free(lm);
	bg_free(in.xi_budgets);
	return code;
}
