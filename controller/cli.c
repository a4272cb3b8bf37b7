/* cli: argument parsing, help texts and dispatch to the subcommands. */
#include "cli.h"

#include "cc_err.h"
#include "ctl.h"
#include "log.h"
#include "resource.h"
#include "sim_main.h"
#include "status.h"
#include "status_remote.h"
#include "explain_cmd.h"
#include "scan.h"
#include "timefmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef CERTCAST_VERSION
#define CERTCAST_VERSION "0.0.0-dev"
#endif

#define CLI_EXIT_OK 0
#define CLI_EXIT_RUNTIME 1
#define CLI_EXIT_USAGE 2

struct cli_cmd_def {
	const char *cd_name;
	enum cli_cmd cd_id;
	const char *cd_summary;
};

static const struct cli_cmd_def cli_cmds[] = {
    {"controller", CLI_CMD_CONTROLLER, "run the controller: watch, forecast, act, serve /metrics"},
    {"status", CLI_CMD_STATUS, "list certificates and their renewal state, once"},
    {"explain", CLI_CMD_EXPLAIN, "show the forecast for one certificate and every factor behind it"},
    {"scan", CLI_CMD_SCAN, "like status, on a saved `kubectl get ... -o json` file"},
    {"simulate", CLI_CMD_SIMULATE, "run scoring and policy on a scenario in simulated time"},
    {"version", CLI_CMD_VERSION, "print the version"},
    {"help", CLI_CMD_HELP, "show help for a command"},
};
#define CLI_NCMDS (sizeof cli_cmds / sizeof cli_cmds[0])

static const char *
cli_cmd_name(enum cli_cmd c)
{
	for (size_t i = 0; i < CLI_NCMDS; i++)
		if (cli_cmds[i].cd_id == c)
			return cli_cmds[i].cd_name;
	return "";
}

/* How status and explain reach a controller beyond its URL: the same flags for both. */
static const char cli_controller_access_help[] =
    "  --controller-ca FILE        with an https:// --controller: trust the PEM\n"
    "                              CA certificates in FILE besides the system's\n"
    "                              (the controller's certificate is always\n"
    "                              verified)\n"
    "  --controller-token-file FILE\n"
    "                              send the Kubernetes token in FILE (e.g. from\n"
    "                              `kubectl create token`) to a controller with\n"
    "                              httpAuth kubernetes; over https://, or http://\n"
    "                              to a loopback address only\n";

static const char cli_global_flags_help[] =
    "global flags:\n"
    "  --kubeconfig PATH                 kubeconfig file (default: $KUBECONFIG, ~/.kube/config,\n"
    "                                    then in-cluster)\n"
    "  --context NAME                    kubeconfig context to use\n"
    "  --log-format json|text            log line format (default: text)\n"
    "  --log-level debug|info|warn|error lowest level logged (default: info; warn for status)\n"
    "  -h, --help                        show help\n"
    "  --version                         print the version\n";

static void
cli_usage_global(FILE *fp, const char *prog)
{
	fprintf(fp,
	    "usage: %s [global flags] COMMAND [flags]\n"
	    "\n"
	    "certcast keeps cert-manager certificates from expiring: it forecasts, for every\n"
	    "Certificate, the probability that it expires before cert-manager renews it, and acts\n"
	    "before that point.\n"
	    "\n"
	    "commands:\n",
	    prog);
	for (size_t i = 0; i < CLI_NCMDS; i++)
		fprintf(fp, "  %-12s %s\n", cli_cmds[i].cd_name, cli_cmds[i].cd_summary);
	fprintf(fp, "\n%s\n", cli_global_flags_help);
	fprintf(fp, "Run '%s COMMAND --help' for a command's flags.\n"
		    "exit status: 0 success, 1 runtime error, 2 usage error, 3 a certificate at risk "
		    "level critical (status)\n",
	    prog);
}

static void
cli_usage_cmd(FILE *fp, const char *prog, enum cli_cmd c)
{
	switch (c) {
	case CLI_CMD_CONTROLLER: {
		struct buf b;
		buf_init(&b, 1 << 16);
		cfg_usage(&b);
		fprintf(fp,
		    "usage: %s controller [--config PATH] [flags]\n"
		    "\n"
		    "Watches cert-manager's resources, forecasts every certificate's renewal risk, and\n"
		    "serves /metrics, /healthz and /readyz. Flags override the config file, and the\n"
		    "file overrides the defaults.\n"
		    "\n"
		    "flags:\n"
		    "  %-40s YAML config file with the settings below\n%s\n%s",
		    prog, "--config PATH", b.b_data ? b.b_data : "", cli_global_flags_help);
		buf_free(&b);
		break;
	}
	case CLI_CMD_STATUS:
		fprintf(fp,
		    "usage: %s status [-n NAMESPACE | -A] [-o table|json|wide] [--controller URL\n"
		    "                 [--controller-ca FILE] [--controller-token-file FILE]]\n"
		    "\n"
		    "Lists Certificates, CertificateRequests, Issuers, ClusterIssuers and Events once\n"
		    "and prints one row per Certificate: issuer, readiness, notAfter, renewal time,\n"
		    "renewBefore, failed issuance attempts, the last failure, the number of\n"
		    "CertificateRequests and the risk. Rows are sorted by namespace, then name.\n"
		    "Scored here, the risk lacks the controller's live signals, ARI windows, learned\n"
		    "model and settings (a line on stderr says so); --controller prints the rows the\n"
		    "controller scores with them, the risk it publishes as certcast_certificate_risk.\n"
		    "\n"
		    "flags:\n"
		    "  --controller URL            fetch URL/status[?namespace=NS] from a running\n"
		    "                              controller (http:// or https://, e.g.\n"
		    "                              http://127.0.0.1:9403 after `kubectl -n certcast\n"
		    "                              port-forward svc/certcast 9403`) and print it\n"
		    "%s"
		    "  -n, --namespace NS          only this namespace (default: the context's, else "
		    "default)\n"
		    "  -A, --all-namespaces        every namespace\n"
		    "  -o, --output FORMAT         table (default), wide (adds secret, DNS names,\n"
		    "                              Issuing condition) or json\n"
		    "\n%s\n"
		    "exit status: 0, 1 on an API or kubeconfig error or when the controller cannot be\n"
		    "reached, is not ready or answers an error, 2 usage error (an unusable --controller\n"
		    "URL included), 3 when a certificate is at risk level critical\n",
		    prog, cli_controller_access_help, cli_global_flags_help);
		break;
	case CLI_CMD_EXPLAIN:
		fprintf(fp,
		    "usage: %s explain NAMESPACE/NAME [--config PATH] [--state-file FILE]\n"
		    "       %s explain NAMESPACE/NAME --controller URL [--controller-ca FILE]\n"
		    "                 [--controller-token-file FILE]\n"
		    "\n"
		    "Lists the certificate's namespace once, scores the certificate and prints the\n"
		    "whole forecast: risk and level, cert-manager's renewal schedule and the attempts it\n"
		    "can still make, the issuer's estimated failure probability, every factor with its\n"
		    "contribution to the risk, and what certcast would do. Scored here, it lacks the\n"
		    "controller's live signals, ARI windows and (without --state-file) learned model, and\n"
		    "says so in a line under the header; --controller prints the controller's own\n"
		    "explanation of the risk it publishes instead.\n"
		    "\n"
		    "flags:\n"
		    "  --controller URL            fetch URL/explain/NAMESPACE/NAME from a running\n"
		    "                              controller (http:// or https://, e.g.\n"
		    "                              http://127.0.0.1:9403 after `kubectl -n certcast\n"
		    "                              port-forward svc/certcast 9403`) and print it\n"
		    "%s"
		    "  --config PATH               the controller's YAML config file: score with its\n"
		    "                              targetRisk, minRenewBefore, maxRenewBefore, mode and\n"
		    "                              publicSuffixList\n"
		    "  --state-file FILE           a copy of the controller's state file: score with its\n"
		    "                              learned model (shown as the factor \"learned\") and\n"
		    "                              print the model's calibration; read only\n"
		    "\n"
		    "exit status: 0, 1 when the certificate is not found, on an API or kubeconfig error\n"
		    "or when the controller cannot be reached, is not ready or answers an error, 2 usage\n"
		    "error (an unusable --config file or --controller URL included)\n\n%s",
		    prog, prog, cli_controller_access_help, cli_global_flags_help);
		break;
	case CLI_CMD_SCAN:
		fprintf(fp,
		    "usage: %s scan -f FILE|- [-n NAMESPACE | -A] [-o table|json|wide] [--now TIME]\n"
		    "\n"
		    "Like status, on the output of\n"
		    "  kubectl get certificates,certificaterequests,events,issuers,clusterissuers -A -o "
		    "json\n"
		    "No cluster is needed. Objects of other kinds are ignored; a malformed object is\n"
		    "reported with its index, kind and name, and skipped.\n"
		    "\n"
		    "flags:\n"
		    "  -f, --filename FILE         the saved JSON, or - for standard input\n"
		    "  -n, --namespace NS          only this namespace (default: every namespace in "
		    "the file)\n"
		    "  -A, --all-namespaces        every namespace (the default)\n"
		    "  -o, --output FORMAT         table (default), wide or json\n"
		    "  --now TIME                  score as of this RFC 3339 time (default: now), to\n"
		    "                              read a file saved earlier as it was then\n"
		    "\n"
		    "exit status: 0, 1 when the file cannot be read or is not JSON, 2 usage error, 3 when\n"
		    "a certificate is at risk level critical\n\n%s",
		    prog, cli_global_flags_help);
		break;
	case CLI_CMD_VERSION:
		fprintf(fp, "usage: %s version\n\nPrints the version.\n", prog);
		break;
	case CLI_CMD_HELP:
		fprintf(fp, "usage: %s help [COMMAND]\n\nShows help for a command.\n", prog);
		break;
	default:
		cli_usage_global(fp, prog);
		break;
	}
}

/* One flag occurrence, split into name and value. */
struct cli_flag {
	char fl_name[64];     /* long name, or the single short letter */
	int fl_short;         /* given as -x */
	const char *fl_inline;/* value after '=' (long) or after the letter (short), or NULL */
	const char *fl_text;  /* the argument as typed, for messages */
};

static int
cli_split_flag(const char *arg, struct cli_flag *f, char *err, size_t errsz)
{
	memset(f, 0, sizeof *f);
	f->fl_text = arg;
	if (arg[1] == '-') {
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t n = eq ? (size_t)(eq - name) : strlen(name);
		if (n == 0 || n >= sizeof f->fl_name)
			return cc_fail(err, errsz, CC_ERR_INVAL, "unknown flag \"%s\"", arg);
		memcpy(f->fl_name, name, n);
		f->fl_name[n] = '\0';
		f->fl_inline = eq ? eq + 1 : NULL;
	} else {
		f->fl_short = 1;
		f->fl_name[0] = arg[1];
		f->fl_name[1] = '\0';
		f->fl_inline = arg[2] ? arg + 2 : NULL;
	}
	return CC_OK;
}

/* The value of a flag that takes one: inline, else the next argument. */
static int
cli_flag_value(const struct cli_flag *f, const char *dashed, int argc, char **argv, int *i,
    const char **out, char *err, size_t errsz)
{
	if (f->fl_inline) {
		*out = f->fl_inline;
		return CC_OK;
	}
	if (*i + 1 >= argc)
		return cc_fail(err, errsz, CC_ERR_INVAL, "flag %s needs a value", dashed);
	*out = argv[++*i];
	return CC_OK;
}

static int
cli_no_value(const struct cli_flag *f, const char *dashed, char *err, size_t errsz)
{
	if (f->fl_inline)
		return cc_fail(err, errsz, CC_ERR_INVAL, "flag %s takes no value (got \"%s\")", dashed,
		    f->fl_inline);
	return CC_OK;
}

/* A flag whose value must not be empty (a file name, a URL): its value into *out. */
static int
cli_nonempty_value(const struct cli_flag *f, const char *dashed, int argc, char **argv, int *i,
    const char **out, const char *what, char *err, size_t errsz)
{
	const char *v = NULL;
	int rc = cli_flag_value(f, dashed, argc, argv, i, &v, err, errsz);
	if (rc == CC_OK && v[0] == '\0')
		rc = cc_fail(err, errsz, CC_ERR_INVAL, "flag %s needs %s", dashed, what);
	if (rc == CC_OK)
		*out = v;
	return rc;
}

/* Handle one flag; *i may advance past its value. */
static int
cli_one_flag(struct cli_args *a, int argc, char **argv, int *i, char *err, size_t errsz)
{
	struct cli_flag f;
	int rc = cli_split_flag(argv[*i], &f, err, errsz);
	if (rc != CC_OK)
		return rc;
	const char *n = f.fl_name;
	char dashed[80];
	snprintf(dashed, sizeof dashed, "%s%s", f.fl_short ? "-" : "--", n);
	const char *v = NULL;
	int is_bool = 0;

	if ((f.fl_short && !strcmp(n, "h")) || (!f.fl_short && !strcmp(n, "help"))) {
		a->ca_help = 1;
		return cli_no_value(&f, dashed, err, errsz);
	}
	if (!f.fl_short && !strcmp(n, "version")) {
		a->ca_version = 1;
		return cli_no_value(&f, dashed, err, errsz);
	}
	if (!f.fl_short && (!strcmp(n, "kubeconfig") || !strcmp(n, "context"))) {
		rc = cli_flag_value(&f, dashed, argc, argv, i, &v, err, errsz);
		if (rc != CC_OK)
			return rc;
		if (v[0] == '\0')
			return cc_fail(err, errsz, CC_ERR_INVAL, "flag %s needs a non-empty value", dashed);
		if (!strcmp(n, "kubeconfig"))
			a->ca_kubeconfig = v;
		else
			a->ca_context = v;
		return CC_OK;
	}
	if (!f.fl_short && (!strcmp(n, "log-format") || !strcmp(n, "log-level"))) {
		rc = cli_flag_value(&f, dashed, argc, argv, i, &v, err, errsz);
		if (rc != CC_OK)
			return rc;
		enum log_format lf;
		enum log_level ll;
		if (!strcmp(n, "log-format")) {
			if (log_parse_format(v, &lf) != CC_OK)
				return cc_fail(err, errsz, CC_ERR_INVAL,
				    "invalid value \"%s\" for flag %s: must be json or text", v, dashed);
			a->ca_log_format = v;
		} else {
			if (log_parse_level(v, &ll) != CC_OK)
				return cc_fail(err, errsz, CC_ERR_INVAL,
				    "invalid value \"%s\" for flag %s: must be debug, info, warn or "
				    "error",
				    v, dashed);
			a->ca_log_level = v;
		}
		return CC_OK;
	}

	switch (a->ca_cmd) {
	case CLI_CMD_CONTROLLER:
		if (!f.fl_short && !strcmp(n, "config")) {
			rc = cli_flag_value(&f, dashed, argc, argv, i, &v, err, errsz);
			if (rc == CC_OK && v[0] == '\0')
				rc = cc_fail(err, errsz, CC_ERR_INVAL, "flag %s needs a non-empty value", dashed);
			if (rc == CC_OK)
				a->ca_config = v;
			return rc;
		}
		if (!f.fl_short && cfg_is_flag(n, &is_bool)) {
			if (!is_bool) {
				rc = cli_flag_value(&f, dashed, argc, argv, i, &v, err, errsz);
				if (rc != CC_OK)
					return rc;
			} else {
				v = f.fl_inline;
			}
			/* Check the value now, so that a bad flag is a usage error. */
			struct cfg scratch;
			char why[256];
			cfg_defaults(&scratch);
			rc = cfg_set(&scratch, n, v, why, sizeof why);
			cfg_free(&scratch);
			if (rc != CC_OK)
				return cc_fail(err, errsz, CC_ERR_INVAL, "invalid value \"%s\" for flag %s: %s",
				    v ? v : "", dashed, why);
			if (a->ca_nset >= CLI_MAX_SETTINGS)
				return cc_fail(err, errsz, CC_ERR_INVAL, "too many flags");
			/* A stable pointer into argv; "=value" after it is cut when applied. */
			a->ca_set_name[a->ca_nset] = f.fl_text + 2;
			a->ca_set_value[a->ca_nset] = v;
			a->ca_nset++;
			return CC_OK;
		}
		break;
	case CLI_CMD_EXPLAIN:
		if (!f.fl_short && !strcmp(n, "state-file"))
			return cli_nonempty_value(&f, dashed, argc, argv, i, &a->ca_state_file,
			    "a file name", err, errsz);
		if (!f.fl_short && !strcmp(n, "config"))
			return cli_nonempty_value(&f, dashed, argc, argv, i, &a->ca_config,
			    "a file name", err, errsz);
		if (!f.fl_short && !strcmp(n, "controller"))
			return cli_nonempty_value(&f, dashed, argc, argv, i, &a->ca_controller,
			    "a URL such as http://127.0.0.1:9403", err, errsz);
		if (!f.fl_short && !strcmp(n, "controller-ca"))
			return cli_nonempty_value(&f, dashed, argc, argv, i, &a->ca_controller_ca,
			    "a file name", err, errsz);
		if (!f.fl_short && !strcmp(n, "controller-token-file"))
			return cli_nonempty_value(&f, dashed, argc, argv, i, &a->ca_controller_token,
			    "a file name", err, errsz);
		break;
	case CLI_CMD_SCAN:
		if ((f.fl_short && !strcmp(n, "f")) || (!f.fl_short && !strcmp(n, "filename"))) {
			rc = cli_flag_value(&f, dashed, argc, argv, i, &v, err, errsz);
			if (rc == CC_OK && v[0] == '\0')
				rc = cc_fail(err, errsz, CC_ERR_INVAL, "flag %s needs a file name or -", dashed);
			if (rc == CC_OK)
				a->ca_file = v;
			return rc;
		}
		if (!f.fl_short && !strcmp(n, "now")) {
			rc = cli_flag_value(&f, dashed, argc, argv, i, &v, err, errsz);
			if (rc != CC_OK)
				return rc;
			if (tf_parse_time(v, &a->ca_now) != CC_OK || a->ca_now <= 0)
				return cc_fail(err, errsz, CC_ERR_INVAL,
				    "invalid value \"%s\" for flag %s: must be an RFC 3339 time", v,
				    dashed);
			return CC_OK;
		}
		/* -n, -A and -o mean what they mean for status */
		__attribute__((fallthrough));
	case CLI_CMD_STATUS:
		if (a->ca_cmd == CLI_CMD_STATUS && !f.fl_short && !strcmp(n, "controller"))
			return cli_nonempty_value(&f, dashed, argc, argv, i, &a->ca_controller,
			    "a URL such as http://127.0.0.1:9403", err, errsz);
		if (a->ca_cmd == CLI_CMD_STATUS && !f.fl_short && !strcmp(n, "controller-ca"))
			return cli_nonempty_value(&f, dashed, argc, argv, i, &a->ca_controller_ca,
			    "a file name", err, errsz);
		if (a->ca_cmd == CLI_CMD_STATUS && !f.fl_short &&
		    !strcmp(n, "controller-token-file"))
			return cli_nonempty_value(&f, dashed, argc, argv, i, &a->ca_controller_token,
			    "a file name", err, errsz);
		if ((f.fl_short && !strcmp(n, "n")) || (!f.fl_short && !strcmp(n, "namespace"))) {
			rc = cli_flag_value(&f, dashed, argc, argv, i, &v, err, errsz);
			if (rc != CC_OK)
				return rc;
			if (!res_dns_label_ok(v))
				return cc_fail(err, errsz, CC_ERR_INVAL,
				    "invalid value \"%s\" for flag %s: must be a namespace name", v,
				    dashed);
			a->ca_namespace = v;
			return CC_OK;
		}
		if ((f.fl_short && !strcmp(n, "A")) ||
		    (!f.fl_short && !strcmp(n, "all-namespaces"))) {
			a->ca_all_namespaces = 1;
			return cli_no_value(&f, dashed, err, errsz);
		}
		if ((f.fl_short && !strcmp(n, "o")) || (!f.fl_short && !strcmp(n, "output"))) {
			rc = cli_flag_value(&f, dashed, argc, argv, i, &v, err, errsz);
			if (rc != CC_OK)
				return rc;
			if (status_parse_output(v, &a->ca_output) != CC_OK)
				return cc_fail(err, errsz, CC_ERR_INVAL,
				    "invalid value \"%s\" for flag %s: must be table, json or wide", v,
				    dashed);
			return CC_OK;
		}
		break;
	default:
		break;
	}
	if (a->ca_cmd == CLI_CMD_NONE)
		return cc_fail(err, errsz, CC_ERR_INVAL, "unknown flag \"%s\" (command flags go after the command)",
		    f.fl_text);
	return cc_fail(err, errsz, CC_ERR_INVAL, "unknown flag \"%s\" for %s %s", f.fl_text, a->ca_prog,
	    cli_cmd_name(a->ca_cmd));
}

static int
cli_positional(struct cli_args *a, int argc, char **argv, int i, int *stop, char *err,
    size_t errsz)
{
	const char *arg = argv[i];
	if (a->ca_cmd == CLI_CMD_NONE) {
		for (size_t k = 0; k < CLI_NCMDS; k++) {
			if (strcmp(arg, cli_cmds[k].cd_name) == 0) {
				a->ca_cmd = cli_cmds[k].cd_id;
				if (a->ca_cmd == CLI_CMD_SIMULATE) {
					/* sim_main parses the rest itself, with "simulate" as argv[0]. */
					a->ca_sub_argc = argc - i;
					a->ca_sub_argv = argv + i;
					*stop = 1;
				}
				if (a->ca_cmd == CLI_CMD_HELP)
					a->ca_help = 1;
				return CC_OK;
			}
		}
		return cc_fail(err, errsz, CC_ERR_INVAL, "unknown command \"%s\" (commands: controller, status, "
					    "explain, scan, simulate, version)",
		    arg);
	}
	if (a->ca_cmd == CLI_CMD_HELP && a->ca_help_topic == NULL) {
		for (size_t k = 0; k < CLI_NCMDS; k++)
			if (strcmp(arg, cli_cmds[k].cd_name) == 0)
				a->ca_help_topic = arg;
		if (a->ca_help_topic == NULL)
			return cc_fail(err, errsz, CC_ERR_INVAL, "unknown command \"%s\"", arg);
		return CC_OK;
	}
	if (a->ca_cmd == CLI_CMD_EXPLAIN && a->ca_target == NULL) {
		const char *slash = strchr(arg, '/');
		if (slash == NULL || slash == arg || slash[1] == '\0' || strchr(slash + 1, '/'))
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "invalid certificate \"%s\": expected NAMESPACE/NAME", arg);
		a->ca_target = arg;
		return CC_OK;
	}
	return cc_fail(err, errsz, CC_ERR_INVAL, "unexpected argument \"%s\" for %s %s", arg, a->ca_prog,
	    cli_cmd_name(a->ca_cmd));
}

int
cli_parse(int argc, char **argv, struct cli_args *a, char *err, size_t errsz)
{
	memset(a, 0, sizeof *a);
	a->ca_prog = "certcast";
	const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : (argc > 0 && argv[0] ? argv[0] : "");
	if (strcmp(base, "kubectl-certcast") == 0)
		a->ca_prog = "kubectl certcast";

	int rc = CC_OK, flags_done = 0, stop = 0;
	char first[512] = "";
	for (int i = 1; i < argc && !stop; i++) {
		const char *arg = argv[i];
		int r;
		if (!flags_done && strcmp(arg, "--") == 0) {
			flags_done = 1;
			continue;
		}
		if (!flags_done && arg[0] == '-' && arg[1] != '\0')
			r = cli_one_flag(a, argc, argv, &i, first[0] ? err : first,
			    first[0] ? errsz : sizeof first);
		else
			r = cli_positional(a, argc, argv, i, &stop, first[0] ? err : first,
			    first[0] ? errsz : sizeof first);
		if (r != CC_OK && rc == CC_OK)
			rc = r;
	}
	if (rc == CC_OK) {
		if (a->ca_cmd == CLI_CMD_STATUS && a->ca_all_namespaces && a->ca_namespace)
			rc = cc_fail(first, sizeof first, CC_ERR_INVAL,
			    "flags -n/--namespace and -A/--all-namespaces cannot be combined");
		else if (a->ca_controller_ca && !a->ca_controller)
			rc = cc_fail(first, sizeof first, CC_ERR_INVAL,
			    "flag --controller-ca needs --controller URL");
		else if (a->ca_controller_token && !a->ca_controller)
			rc = cc_fail(first, sizeof first, CC_ERR_INVAL,
			    "flag --controller-token-file needs --controller URL");
		else if (a->ca_cmd == CLI_CMD_EXPLAIN && a->ca_target == NULL && !a->ca_version)
			rc = cc_fail(first, sizeof first, CC_ERR_INVAL, "explain needs NAMESPACE/NAME");
		else if (a->ca_cmd == CLI_CMD_EXPLAIN && a->ca_controller &&
		    (a->ca_state_file || a->ca_config))
			/* the controller scores with its own model and settings; these would be ignored */
			rc = cc_fail(first, sizeof first, CC_ERR_INVAL,
			    "flag --controller cannot be combined with --%s (the controller scores "
			    "with its own)",
			    a->ca_state_file ? "state-file" : "config");
		else if (a->ca_cmd == CLI_CMD_SCAN && a->ca_file == NULL && !a->ca_version)
			rc = cc_fail(first, sizeof first, CC_ERR_INVAL, "scan needs -f FILE (or -f - for stdin)");
	}
	if (a->ca_help)
		return CC_OK;
	if (rc != CC_OK)
		snprintf(err, errsz, "%s", first);
	return rc;
}

int
cli_build_config(const struct cli_args *a, struct cfg *out, char *err, size_t errsz)
{
	int rc;
	char why[512];
	cfg_defaults(out);
	if (a->ca_config) {
		rc = cfg_load_file(out, a->ca_config, err, errsz);
		if (rc != CC_OK)
			goto out;
	}
	/* Global logging flags are settings too, and flags beat the file. */
	if (a->ca_log_format)
		cfg_set(out, "logFormat", a->ca_log_format, why, sizeof why);
	if (a->ca_log_level)
		cfg_set(out, "logLevel", a->ca_log_level, why, sizeof why);
	for (size_t i = 0; i < a->ca_nset; i++) {
		/* ca_set_name may carry "=value" after the name: cut it. */
		char name[64];
		size_t n = strcspn(a->ca_set_name[i], "=");
		if (n >= sizeof name)
			n = sizeof name - 1;
		memcpy(name, a->ca_set_name[i], n);
		name[n] = '\0';
		rc = cfg_set(out, name, a->ca_set_value[i], why, sizeof why);
		if (rc != CC_OK) {
			snprintf(err, errsz, "invalid value \"%s\" for flag --%s: %s",
			    a->ca_set_value[i] ? a->ca_set_value[i] : "", name, why);
			rc = CC_ERR_CONFIG;
			goto out;
		}
	}
	rc = cfg_validate(out, err, errsz);
out:
	if (rc != CC_OK)
		cfg_free(out);
	return rc;
}

static void
cli_setup_logs(const struct cli_args *a, enum log_level dflt)
{
	enum log_format lf = LOG_FORMAT_TEXT;
	enum log_level ll = dflt;
	if (a->ca_log_format)
		log_parse_format(a->ca_log_format, &lf);
	if (a->ca_log_level)
		log_parse_level(a->ca_log_level, &ll);
	log_setup(lf, ll);
}

static int
cli_controller(const struct cli_args *a, FILE *errf)
{
	struct cfg c;
	char err[768];
	cli_setup_logs(a, LOG_INFO);
	if (cli_build_config(a, &c, err, sizeof err) != CC_OK) {
		fprintf(errf, "%s controller: %s\n", a->ca_prog, err);
		return CLI_EXIT_USAGE;
	}
	log_setup(c.c_log_format, c.c_log_level);
	struct ctl_opts o = {&c, a->ca_kubeconfig, a->ca_context};
	int code = ctl_run(&o);
	cfg_free(&c);
	return code;
}

int
cli_run(int argc, char **argv, FILE *out, FILE *errf)
{
	struct cli_args a;
	char err[768] = "";
	int rc = cli_parse(argc, argv, &a, err, sizeof err);
	if (rc != CC_OK) {
		fprintf(errf, "%s: %s\n", a.ca_prog, err);
		fprintf(errf, "Run '%s%s%s --help' for usage.\n", a.ca_prog,
		    a.ca_cmd != CLI_CMD_NONE ? " " : "", cli_cmd_name(a.ca_cmd));
		return CLI_EXIT_USAGE;
	}
	if (a.ca_cmd == CLI_CMD_SIMULATE) {
		/* Global flags given before the word "simulate" still set up logging. */
		cli_setup_logs(&a, LOG_INFO);
		return sim_main(a.ca_sub_argc, a.ca_sub_argv);
	}
	if (a.ca_help) {
		enum cli_cmd topic = a.ca_cmd;
		if (a.ca_cmd == CLI_CMD_HELP) {
			topic = CLI_CMD_NONE;
			for (size_t k = 0; a.ca_help_topic && k < CLI_NCMDS; k++)
				if (strcmp(a.ca_help_topic, cli_cmds[k].cd_name) == 0)
					topic = cli_cmds[k].cd_id;
			if (topic == CLI_CMD_SIMULATE) {
				char *sub[] = {"simulate", "--help", NULL};
				return sim_main(2, sub);
			}
		}
		cli_usage_cmd(out, a.ca_prog, topic);
		return CLI_EXIT_OK;
	}
	if (a.ca_version || a.ca_cmd == CLI_CMD_VERSION) {
		fprintf(out, "certcast %s\n", CERTCAST_VERSION);
		return CLI_EXIT_OK;
	}
	switch (a.ca_cmd) {
	case CLI_CMD_NONE:
		cli_usage_global(errf, a.ca_prog);
		return CLI_EXIT_USAGE;
	case CLI_CMD_CONTROLLER:
		return cli_controller(&a, errf);
	case CLI_CMD_STATUS: {
		cli_setup_logs(&a, LOG_WARN);
		struct status_opts so = {a.ca_kubeconfig, a.ca_context, a.ca_namespace,
		    a.ca_all_namespaces, a.ca_output, a.ca_controller, a.ca_controller_ca,
		    a.ca_controller_token};
		return so.so_controller ? srm_run(&so, out, errf) : status_run(&so, out, errf);
	}
	case CLI_CMD_EXPLAIN: {
		cli_setup_logs(&a, LOG_WARN);
		struct xp_opts xo = {a.ca_kubeconfig, a.ca_context, a.ca_target, a.ca_state_file,
		    a.ca_config, a.ca_controller, a.ca_controller_ca, a.ca_controller_token};
		return xp_run(&xo, out, errf);
	}
	case CLI_CMD_SCAN: {
		cli_setup_logs(&a, LOG_WARN);
		struct scan_opts so = {a.ca_file, a.ca_all_namespaces ? NULL : a.ca_namespace,
		    a.ca_output, a.ca_now ? a.ca_now : (int64_t)time(NULL)};
		return scan_run(&so, stdin, out, errf);
	}
	default:
		break;
	}
	cli_usage_global(errf, a.ca_prog);
	return CLI_EXIT_USAGE;
}

int
cli_main(int argc, char **argv)
{
	return cli_run(argc, argv, stdout, stderr);
}
