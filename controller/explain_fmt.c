/* explain_fmt: an explanation as text (what `certcast explain` prints) or as JSON. */
#include "explain_fmt.h"

#include "buf.h"
#include "cc_err.h"
#include "timefmt.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* The learned model's calibration, under the forecast. */
static int
xf_calibration(struct buf *out, const struct lm_model *m)
{
	struct lm_calibration cal;
	lm_calibration(m, &cal);
	int rc = buf_printf(out, "\nLearned model: %.0f outcomes learned, %.0f of them failures\n",
	    cal.cal_n, cal.cal_base_rate * cal.cal_n);
	if (rc != CC_OK || cal.cal_n <= 0)
		return rc;
	rc = buf_printf(out,
	    "  Brier score %.4f (forecasting the observed failure rate instead: %.4f)\n"
	    "  reliability:  forecast   outcomes   mean forecast   observed failures\n",
	    cal.cal_brier, cal.cal_brier_base);
	for (int i = 0; rc == CC_OK && i < LM_CAL_BINS; i++) {
		const struct lm_bin *b = &cal.cal_bins[i];
		if (b->b_count <= 0)
			continue;
		rc = buf_printf(out, "                %.1f-%.1f   %8.0f   %13.3f   %17.3f\n",
		    (double)i / LM_CAL_BINS, (double)(i + 1) / LM_CAL_BINS, b->b_count,
		    b->b_sum_pred / b->b_count, b->b_sum_obs / b->b_count);
	}
	return rc;
}

int
xf_text(struct buf *out, const char *ns, const char *name, const char *note,
    const struct xf_explanation *x)
{
	int rc = buf_printf(out, "Certificate %s/%s\n", ns, name);
	if (rc == CC_OK && note)
		rc = buf_printf(out, "%s\n", note);
	if (rc == CC_OK && x->xe_rc != SC_OK)
		rc = buf_append_str(out, "The certificate's own data is inconsistent; scored as low "
					 "risk:\n");
	if (rc == CC_OK)
		rc = buf_append_str(out, x->xe_text);
	size_t tl = strlen(x->xe_text);
	if (rc == CC_OK && tl > 0 && x->xe_text[tl - 1] != '\n')
		rc = buf_append_str(out, "\n");
	if (rc == CC_OK && x->xe_actions[0])
		rc = buf_append_str(out, x->xe_actions);
	if (rc == CC_OK && x->xe_has_model)
		rc = xf_calibration(out, &x->xe_model);
	return rc;
}

int
xf_json(struct buf *out, const char *ns, const char *name, const struct xf_explanation *x)
{
	const struct sc_result *r = &x->xe_res;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "namespace", ns);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddNumberToObject(o, "risk", r->r_risk);
	cJSON_AddStringToObject(o, "level", sc_level_name(r->r_level));
	char t[TF_BUFSZ];
	if (r->r_predicted_failure != 0 &&
	    tf_format_time(r->r_predicted_failure, t, sizeof t) == CC_OK)
		cJSON_AddStringToObject(o, "predictedFailure", t);
	else
		cJSON_AddNullToObject(o, "predictedFailure");
	cJSON_AddBoolToObject(o, "consistent", x->xe_rc == SC_OK);
	cJSON_AddStringToObject(o, "reasons", r->r_reasons);
	cJSON *fs = cJSON_AddArrayToObject(o, "factors");
	for (uint32_t i = 0; i < r->r_nfactors && i < SC_MAX_FACTORS; i++) {
		const struct sc_factor *f = &r->r_factors[i];
		cJSON *jf = cJSON_CreateObject();
		cJSON_AddStringToObject(jf, "name", f->f_name);
		cJSON_AddNumberToObject(jf, "value", f->f_value);
		cJSON_AddNumberToObject(jf, "contribution", f->f_contrib);
		cJSON_AddStringToObject(jf, "text", f->f_text);
		cJSON_AddItemToArray(fs, jf);
	}
	cJSON_AddBoolToObject(o, "learnedModel", x->xe_has_model);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	int rc = s ? buf_printf(out, "%s\n", s) : CC_ERR_TOOBIG;
	free(s);
	return rc;
}
