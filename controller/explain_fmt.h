/*
 * explain_fmt: the words of `certcast explain` and of the controller's /explain endpoint, from
 * one place, so that the two print the same thing for the same scoring: a header line, the
 * scoring library's explanation (scoring/explain.h's ex_text) and, when a learned model took
 * part, its calibration. The JSON form carries the numbers behind the text: risk, level,
 * predicted failure, the short reasons and every factor with its contribution.
 */
#ifndef EXPLAIN_FMT_H
#define EXPLAIN_FMT_H

#include "learn.h"
#include "scoring.h"

#include <stddef.h>

struct buf;

#define XF_TEXT_MAX (64 * 1024) /* the explanation; ex_text cuts it at a line boundary */

/* One certificate scored for an explanation. About 100 KiB: allocate it, not on a stack. */
struct xf_explanation {
	int xe_rc;                 /* as_score's: SC_OK, or SC_ERR_INVAL (own data inconsistent) */
	struct sc_result xe_res;   /* the result */
	char xe_text[XF_TEXT_MAX]; /* ex_text's explanation, NUL-terminated */
	char xe_actions[1024];     /* ap_describe's lines (mode, last action, kept values), or "" */
	int xe_has_model;          /* a learned model took part: xe_model is a copy of it */
	struct lm_model xe_model;
};

/*
 * Append the explanation of Certificate ns/name to out as `certcast explain` prints it:
 * "Certificate NS/NAME", then note on a line of its own (NULL: none), then the text and the
 * model's calibration. Returns CC_OK, or CC_ERR_TOOBIG at out's limit.
 */
int xf_text(struct buf *out, const char *ns, const char *name, const char *note,
    const struct xf_explanation *x);

/*
 * Append the same as one JSON object: namespace, name, risk, level, predictedFailure (RFC 3339
 * or null), consistent (false when the certificate's own data was inconsistent), reasons,
 * factors [{name, value, contribution, text}] (largest contribution first) and learnedModel.
 * Returns CC_OK, or CC_ERR_TOOBIG at out's limit.
 */
int xf_json(struct buf *out, const char *ns, const char *name, const struct xf_explanation *x);

#endif
