/*
 * cli: the command line of the certcast binary (also installed as kubectl-certcast).
 *
 *   certcast [global flags] COMMAND [flags]
 *   COMMAND: controller | status | explain | scan | simulate | version | help
 *
 * Global flags (--kubeconfig, --context, --log-format, --log-level, --help, --version) are
 * accepted before or after the command. Exit codes: 0 success, 1 runtime error, 2 usage error
 * (including an invalid config file), 3 from `status` when a certificate is at risk level
 * critical (and from `simulate` when an expectation failed).
 *
 * `simulate` hands everything after the word "simulate" to sim_main() (sim/sim_main.h), which
 * parses its own flags. `explain` and `scan` parse their arguments and then report that they are
 * not available in this build yet (exit 2).
 */
#ifndef CLI_H
#define CLI_H

#include "config.h"
#include "status.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_cmd {
	CLI_CMD_NONE = 0,
	CLI_CMD_CONTROLLER,
	CLI_CMD_STATUS,
	CLI_CMD_EXPLAIN,
	CLI_CMD_SCAN,
	CLI_CMD_SIMULATE,
	CLI_CMD_VERSION,
	CLI_CMD_HELP,
};

#define CLI_MAX_SETTINGS 64

/* The parsed command line. Every string is borrowed from argv. */
struct cli_args {
	enum cli_cmd ca_cmd;            /* CLI_CMD_NONE when no command was given */
	const char *ca_prog;            /* "certcast" or "kubectl certcast", for messages */
	int ca_help;                    /* --help / -h / `help` seen */
	int ca_version;                 /* --version seen */
	const char *ca_kubeconfig;      /* --kubeconfig, or NULL */
	const char *ca_context;         /* --context, or NULL */
	const char *ca_log_format;      /* --log-format, validated, or NULL */
	const char *ca_log_level;       /* --log-level, validated, or NULL */
	const char *ca_config;          /* controller or explain --config, or NULL */
	const char *ca_set_name[CLI_MAX_SETTINGS];  /* controller settings from flags, in order */
	const char *ca_set_value[CLI_MAX_SETTINGS]; /* their values; NULL for a bare boolean */
	size_t ca_nset;
	const char *ca_namespace;       /* status -n, or NULL */
	int ca_all_namespaces;          /* status -A */
	enum status_output ca_output;   /* status -o */
	const char *ca_target;          /* explain NAMESPACE/NAME */
	const char *ca_state_file;      /* explain --state-file, or NULL */
	const char *ca_controller;      /* explain --controller URL, or NULL */
	const char *ca_controller_ca;   /* --controller-ca FILE: a CA bundle to trust, or NULL */
	const char *ca_controller_token; /* --controller-token-file FILE: a bearer token, or NULL */
	const char *ca_file;            /* scan -f */
	int64_t ca_now;                 /* scan --now, 0 when not given */
	const char *ca_help_topic;      /* `help COMMAND`: the command asked about, or NULL */
	int ca_sub_argc;                /* simulate: arguments from "simulate" on */
	char **ca_sub_argv;
};

/*
 * Parse argv (argv[0] is the program path; its base name "kubectl-certcast" selects the plugin
 * spelling in messages). Returns CC_OK, or CC_ERR_INVAL with err naming the flag and value
 * ("invalid value \"xml\" for flag --log-format: must be json or text"). When --help is present
 * the result is CC_OK with ca_help set even if other arguments were wrong.
 */
int cli_parse(int argc, char **argv, struct cli_args *a, char *err, size_t errsz);

/*
 * The controller's settings for parsed args: defaults, then --config's file, then the flags in
 * order. out is filled (free with cfg_free) on CC_OK; on error err says what and where
 * (CC_ERR_IO/CC_ERR_PARSE/CC_ERR_CONFIG/CC_ERR_TOOBIG from the file, CC_ERR_CONFIG from
 * cfg_validate).
 */
int cli_build_config(const struct cli_args *a, struct cfg *out, char *err, size_t errsz);

/* Run a command line, writing help and errors to out/err; returns the exit code. */
int cli_run(int argc, char **argv, FILE *out, FILE *err);

/* The process entry: cli_run on stdout and stderr. */
int cli_main(int argc, char **argv);

#endif
