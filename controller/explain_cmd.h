/*
 * explain_cmd: the `certcast explain NAMESPACE/NAME` command (the words come from scoring's
 * explain.h; this file fetches, scores and prints).
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
};

struct lm_model;

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

/*
 * The command: load the state file when given (an unusable one is an error naming it: exit 1),
 * list the target's namespace from the API server, then xp_print_model. Exit code.
 */
int xp_run(const struct xp_opts *o, FILE *out, FILE *errf);

#endif
