/*
 * explain_cmd: the `certcast explain NAMESPACE/NAME` command (the words come from scoring's
 * explain.h and explain_fmt.h; this file fetches, scores and prints, or with --controller has
 * the controller's explanation fetched).
 */
#ifndef EXPLAIN_CMD_H
#define EXPLAIN_CMD_H

#include <stdint.h>
#include <stdio.h>

struct store;

struct xp_opts {
	const char *xo_kubeconfig; /* --kubeconfig or NULL */
	const char *xo_context;    /* --context or NULL */
	const char *xo_target;     /* NAMESPACE/NAME */
	const char *xo_state_file; /* --state-file: the controller's checkpoint, read only; or NULL */
	const char *xo_config;     /* --config: the controller's settings file, or NULL */
	const char *xo_controller; /* --controller URL: print the controller's explanation, or NULL */
	const char *xo_controller_ca; /* --controller-ca: PEM CAs trusted besides the system's */
	const char *xo_controller_token; /* --controller-token-file: a bearer token, or NULL */
};

struct lm_model;
struct sc_config;
struct bg_book;

/* What scoring here uses besides the store. */
struct xp_inputs {
	const struct sc_config *xi_cfg;  /* borrowed settings; NULL: scoring's defaults */
	const struct lm_model *xi_model; /* borrowed learned model; NULL: none */
	struct bg_book *xi_budgets;      /* borrowed ACME budget book; NULL: the default list's */
	const char *xi_note;             /* a line printed under the header; NULL: none */
};

/*
 * Score Certificate ns/name of st as of now and print its explanation on out. Returns 0, or 1
 * (with a message on errf) when the certificate is not in st. Takes the store's read lock.
 */
int xp_print(struct store *st, const char *ns, const char *name, int64_t now, FILE *out,
    FILE *errf);

/*
 * xp_print scoring with the learned model m (borrowed; NULL: none, as xp_print), followed by
 * the model's calibration: outcomes learned, Brier score against forecasting the observed
 * failure rate, and the reliability table.
 */
int xp_print_model(struct store *st, const char *ns, const char *name, int64_t now,
    const struct lm_model *m, FILE *out, FILE *errf);

/* xp_print scoring with in (explain_fmt.h's xf_text prints; in->xi_note under the header). */
int xp_print_inputs(struct store *st, const char *ns, const char *name, int64_t now,
    const struct xp_inputs *in, FILE *out, FILE *errf);

/*
 * The command. With xo_controller: fetch and print the controller's explanation (xr_run).
 * Otherwise: load the settings file when given (an unusable one is an error naming it: exit 2,
 * as for the controller), the state file when given (an unusable one: exit 1), list the
 * target's namespace from the API server, then xp_print_inputs with a note saying the forecast
 * was computed here and how to see the controller's own. Exit code.
 */
int xp_run(const struct xp_opts *o, FILE *out, FILE *errf);

#endif
