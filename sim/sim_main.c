/* sim_main: argument handling and the run of every policy over one scenario. */
#include "sim_main.h"

#include "cc_err.h"
#include "log.h"
#include "sim_engine.h"
#include "sim_fault.h"
#include "sim_policy.h"
#include "sim_report.h"
#include "sim_scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CERTCAST_VERSION
#define CERTCAST_VERSION "0.0.0-dev"
#endif

static void
sim_usage(FILE *f)
{
	fprintf(f,
	    "usage: certcast simulate [options] SCENARIO.yaml\n"
	    "\n"
	    "Runs cert-manager's schedule under the scenario's faults for each policy\n"
	    "(cert-manager, fixed-30d, ari-only, certcast) on identical random draws and prints\n"
	    "a JSON summary: expired certificate-hours, issuances, failed attempts, rate-limit hits,\n"
	    "alert precision/recall, Brier score and certcast's actions. See sim/README.md.\n"
	    "\n"
	    "options:\n"
	    "  --policy NAME   run only this policy (repeatable); default: the scenario's list\n"
	    "  --no-observe    do not run the forecaster alongside the cert-manager policy\n"
	    "  --compact       print the JSON on one line\n"
	    "  -o, --output F  write the summary to F instead of standard output\n"
	    "  -h, --help      show this help\n"
	    "  --version       print the version\n"
	    "\n"
	    "exit status: 0 all expectations held, 3 some failed, 2 usage error, 1 runtime error\n");
}

struct sim_args {
	const char *a_path;    /* scenario file */
	const char *a_out;     /* output file, NULL for stdout */
	unsigned a_policies;   /* bit per policy chosen on the command line, 0 = scenario's */
	int a_observe;         /* run the forecaster on the cert-manager run */
	int a_compact;         /* one-line JSON */
};

/* Returns -1 to continue, or an exit code to stop with. */
static int
sim_parse_args(int argc, char **argv, struct sim_args *a)
{
	a->a_observe = 1;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			sim_usage(stdout);
			return 0;
		} else if (strcmp(arg, "--version") == 0) {
			printf("certcast %s\n", CERTCAST_VERSION);
			return 0;
		} else if (strcmp(arg, "--policy") == 0 || strncmp(arg, "--policy=", 9) == 0) {
			const char *v = arg[8] == '=' ? arg + 9 : (i + 1 < argc ? argv[++i] : NULL);
			enum scn_policy p;
			if (v == NULL || scn_policy_parse(v, &p) != CC_OK) {
				fprintf(stderr, "certcast simulate: --policy: unknown policy '%s' (known: "
				    "cert-manager, fixed-30d, ari-only, certcast)\n", v ? v : "");
				return 2;
			}
			a->a_policies |= 1u << p;
		} else if (strcmp(arg, "--no-observe") == 0) {
			a->a_observe = 0;
		} else if (strcmp(arg, "--compact") == 0) {
			a->a_compact = 1;
		} else if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "certcast simulate: %s needs a file name\n", arg);
				return 2;
			}
			a->a_out = argv[++i];
		} else if (arg[0] == '-' && arg[1] != '\0') {
			fprintf(stderr, "certcast simulate: unknown flag '%s' (see --help)\n", arg);
			return 2;
		} else if (a->a_path) {
			fprintf(stderr, "certcast simulate: one scenario at a time (got '%s' and '%s')\n",
			    a->a_path, arg);
			return 2;
		} else {
			a->a_path = arg;
		}
	}
	if (a->a_path == NULL) {
		sim_usage(stderr);
		return 2;
	}
	return -1;
}

int
sim_main(int argc, char **argv)
{
	struct sim_args a = {0};
	struct scn_scenario *s = NULL;
	struct sf_plan *plan = NULL;
	struct scn_error err;
	cJSON *root = NULL;
	char *text = NULL;
	int rc, code;

	if ((code = sim_parse_args(argc, argv, &a)) >= 0)
		return code;
	code = 1;
	if ((rc = scn_load_file(a.a_path, &s, &err)) != CC_OK) {
		fprintf(stderr, "certcast simulate: %s\n", err.e_msg);
		goto out;
	}
	sf_plan_new(s, &plan);
	root = sr_new(s);
	unsigned pols = a.a_policies ? a.a_policies : s->s_policies;
	for (int p = 0; p < SCN_POL_COUNT; p++) {
		struct se_engine *e = NULL;
		if (!(pols & (1u << p)))
			continue;
		int observe = p == SCN_POL_CERT_MANAGER && a.a_observe;
		se_new(s, plan, (enum scn_policy)p, observe, &e);
		if ((rc = se_run(e)) != CC_OK) {
			fprintf(stderr, "certcast simulate: policy %s: %s\n",
			    scn_policy_name((enum scn_policy)p), cc_strerror(rc));
			se_free(e);
			goto out;
		}
		double brier = -1, n = -1;
		if (!se_model_calibration(e, &brier, &n))
			brier = n = -1;
		sr_add_policy(root, s, (enum scn_policy)p, se_metrics(e), brier, n);
		if (observe)
			sr_add_alerts(root, s, (enum scn_policy)p, se_metrics(e));
		se_free(e);
	}
	int failed = sr_add_checks(root, s);
	text = a.a_compact ? cJSON_PrintUnformatted(root) : cJSON_Print(root);
	if (text == NULL) {
		fprintf(stderr, "certcast simulate: cannot format the summary\n");
		goto out;
	}
	FILE *f = a.a_out ? fopen(a.a_out, "w") : stdout;
	if (f == NULL) {
		fprintf(stderr, "certcast simulate: cannot write %s\n", a.a_out);
		goto out;
	}
	int werr = fprintf(f, "%s\n", text) < 0;
	if (f != stdout)
		werr |= fclose(f) != 0;
	else
		werr |= fflush(f) != 0;
	if (werr) {
		fprintf(stderr, "certcast simulate: write error on %s\n", a.a_out ? a.a_out : "stdout");
		goto out;
	}
	code = failed ? 3 : 0;
out:
	free(text);
	cJSON_Delete(root);
	sf_plan_free(plan);
	scn_free(s);
	return code;
}
