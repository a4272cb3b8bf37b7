/* Tests for cli: flag parsing (good and bad), precedence through --config, help and exit codes. */
#include "cc_err.h"
#include "cli.h"
#include "config.h"
#include "log.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
quiet(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
}

TestSuite(cli, .init = quiet);

#define MAXARGS 16

/* Split a space-separated command line into argv (no quoting needed by these tests). */
static int
split(const char *line, char *storage, size_t sz, char **argv)
{
	snprintf(storage, sz, "%s", line);
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(storage, " ", &save); t && n < MAXARGS - 1;
	    t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	return n;
}

struct parse_case {
	const char *pc_name;
	const char *pc_line;     /* argv joined by spaces, argv[0] first */
	int pc_rc;               /* CC_OK or CC_ERR_INVAL */
	enum cli_cmd pc_cmd;     /* on success */
	const char *pc_err;      /* substring of the error on failure */
};

Test(cli, parse_table)
{
	static const struct parse_case cases[] = {
	    /* good */
	    {"no command", "certcast", CC_OK, CLI_CMD_NONE, NULL},
	    {"status", "certcast status", CC_OK, CLI_CMD_STATUS, NULL},
	    {"controller", "certcast controller", CC_OK, CLI_CMD_CONTROLLER, NULL},
	    {"version command", "certcast version", CC_OK, CLI_CMD_VERSION, NULL},
	    {"global flag before", "certcast --kubeconfig /k status", CC_OK, CLI_CMD_STATUS, NULL},
	    {"global flag after", "certcast status --context c1", CC_OK, CLI_CMD_STATUS, NULL},
	    {"inline values", "certcast status -ojson --namespace=shop", CC_OK, CLI_CMD_STATUS,
		NULL},
	    {"explain target", "certcast explain shop/web", CC_OK, CLI_CMD_EXPLAIN, NULL},
	    {"explain --controller", "certcast explain shop/web --controller http://127.0.0.1:9403",
		CC_OK, CLI_CMD_EXPLAIN, NULL},
	    {"explain --config and --state-file", "certcast explain shop/web --config c --state-file f",
		CC_OK, CLI_CMD_EXPLAIN, NULL},
	    {"scan stdin", "certcast scan -f -", CC_OK, CLI_CMD_SCAN, NULL},
	    {"controller settings", "certcast controller --mode enforce --http-addr=127.0.0.1:0",
		CC_OK, CLI_CMD_CONTROLLER, NULL},
	    {"bare bool flag", "certcast controller --leader-elect", CC_OK, CLI_CMD_CONTROLLER,
		NULL},
	    {"help with bad flags still helps", "certcast status --bogus --help", CC_OK,
		CLI_CMD_STATUS, NULL},
	    {"double dash", "certcast explain -- shop/web", CC_OK, CLI_CMD_EXPLAIN, NULL},
	    {"simulate passes flags through", "certcast simulate --policy x --bogus s.yaml", CC_OK,
		CLI_CMD_SIMULATE, NULL},
	    /* bad */
	    {"unknown command", "certcast frobnicate", CC_ERR_INVAL, 0,
		"unknown command \"frobnicate\""},
	    {"unknown global flag", "certcast --bogus status", CC_ERR_INVAL, 0,
		"unknown flag \"--bogus\""},
	    {"unknown status flag", "certcast status --bogus", CC_ERR_INVAL, 0,
		"unknown flag \"--bogus\" for certcast status"},
	    {"command flag before command", "certcast -A status", CC_ERR_INVAL, 0,
		"unknown flag \"-A\" (command flags go after the command)"},
	    {"controller flag on status", "certcast status --mode enforce", CC_ERR_INVAL, 0,
		"unknown flag \"--mode\" for certcast status"},
	    {"bad output", "certcast status -o yaml", CC_ERR_INVAL, 0,
		"invalid value \"yaml\" for flag -o: must be table, json or wide"},
	    {"bad output long", "certcast status --output=xml", CC_ERR_INVAL, 0,
		"invalid value \"xml\" for flag --output"},
	    {"bad namespace", "certcast status -n Shop", CC_ERR_INVAL, 0,
		"invalid value \"Shop\" for flag -n"},
	    {"-n and -A", "certcast status -n shop -A", CC_ERR_INVAL, 0, "cannot be combined"},
	    {"missing value", "certcast status -n", CC_ERR_INVAL, 0, "flag -n needs a value"},
	    {"missing kubeconfig value", "certcast status --kubeconfig", CC_ERR_INVAL, 0,
		"flag --kubeconfig needs a value"},
	    {"bad log format", "certcast --log-format xml status", CC_ERR_INVAL, 0,
		"invalid value \"xml\" for flag --log-format: must be json or text"},
	    {"bad log level", "certcast status --log-level=loud", CC_ERR_INVAL, 0,
		"invalid value \"loud\" for flag --log-level"},
	    {"bad mode", "certcast controller --mode=yolo", CC_ERR_INVAL, 0,
		"invalid value \"yolo\" for flag --mode: must be observe or enforce"},
	    {"bad workers", "certcast controller --workers 0", CC_ERR_INVAL, 0,
		"invalid value \"0\" for flag --workers"},
	    {"bad addr", "certcast controller --http-addr 9403", CC_ERR_INVAL, 0,
		"invalid value \"9403\" for flag --http-addr"},
	    {"bad bool", "certcast controller --leader-elect=maybe", CC_ERR_INVAL, 0,
		"invalid value \"maybe\" for flag --leader-elect"},
	    {"value on -A", "certcast status --all-namespaces=yes", CC_ERR_INVAL, 0,
		"flag --all-namespaces takes no value"},
	    {"value on --version", "certcast --version=1", CC_ERR_INVAL, 0, "takes no value"},
	    {"explain without target", "certcast explain", CC_ERR_INVAL, 0,
		"explain needs NAMESPACE/NAME"},
	    {"explain bad target", "certcast explain web", CC_ERR_INVAL, 0,
		"invalid certificate \"web\": expected NAMESPACE/NAME"},
	    {"explain two slashes", "certcast explain a/b/c", CC_ERR_INVAL, 0, "expected"},
	    {"explain two targets", "certcast explain a/b c/d", CC_ERR_INVAL, 0,
		"unexpected argument \"c/d\""},
	    {"explain --controller and --state-file", "certcast explain a/b --controller http://h --state-file f",
		CC_ERR_INVAL, 0, "flag --controller cannot be combined with --state-file"},
	    {"explain --controller and --config", "certcast explain a/b --config c.yaml --controller http://h",
		CC_ERR_INVAL, 0, "flag --controller cannot be combined with --config"},
	    {"explain empty --controller", "certcast explain a/b --controller=", CC_ERR_INVAL, 0,
		"flag --controller needs a URL"},
	    {"explain --controller without value", "certcast explain a/b --controller", CC_ERR_INVAL, 0,
		"flag --controller needs a value"},
	    {"status --controller", "certcast status --controller http://h -n shop -o wide", CC_OK,
		CLI_CMD_STATUS, NULL},
	    {"status token without --controller", "certcast status --controller-token-file t",
		CC_ERR_INVAL, 0, "flag --controller-token-file needs --controller URL"},
	    {"explain token without --controller", "certcast explain a/b --controller-token-file t",
		CC_ERR_INVAL, 0, "flag --controller-token-file needs --controller URL"},
	    {"explain empty token file", "certcast explain a/b --controller http://h "
		"--controller-token-file=", CC_ERR_INVAL, 0,
		"flag --controller-token-file needs a file name"},
	    {"status token file",
		"certcast status --controller https://h --controller-token-file t", CC_OK,
		CLI_CMD_STATUS, NULL},
	    {"explain token file", "certcast explain a/b --controller https://h "
		"--controller-token-file t", CC_OK, CLI_CMD_EXPLAIN, NULL},
	    {"status empty --controller", "certcast status --controller=", CC_ERR_INVAL, 0,
		"flag --controller needs a URL"},
	    {"status --controller without value", "certcast status -A --controller", CC_ERR_INVAL,
		0, "flag --controller needs a value"},
	    {"scan has no --controller", "certcast scan -f x --controller http://h", CC_ERR_INVAL, 0,
		"unknown flag \"--controller\" for certcast scan"},
	    {"scan without file", "certcast scan", CC_ERR_INVAL, 0, "scan needs -f FILE"},
	    {"status extra arg", "certcast status web", CC_ERR_INVAL, 0,
		"unexpected argument \"web\" for certcast status"},
	    {"plugin spelling", "/usr/bin/kubectl-certcast status --bogus", CC_ERR_INVAL, 0,
		"unknown flag \"--bogus\" for kubectl certcast status"},
	    {"first error wins", "certcast status --bogus -o yaml", CC_ERR_INVAL, 0,
		"unknown flag \"--bogus\""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct parse_case *pc = &cases[i];
		char storage[512], *argv[MAXARGS], err[512] = "";
		int argc = split(pc->pc_line, storage, sizeof storage, argv);
		struct cli_args a;
		int rc = cli_parse(argc, argv, &a, err, sizeof err);
		cr_expect_eq(rc, pc->pc_rc, "%s: rc %d want %d (%s)", pc->pc_name, rc, pc->pc_rc, err);
		if (pc->pc_rc == CC_OK)
			cr_expect_eq(a.ca_cmd, pc->pc_cmd, "%s: command %d want %d", pc->pc_name,
			    (int)a.ca_cmd, (int)pc->pc_cmd);
		else
			cr_expect(strstr(err, pc->pc_err), "%s: error \"%s\" lacks \"%s\"", pc->pc_name,
			    err, pc->pc_err);
	}
}

Test(cli, parse_fields)
{
	char storage[512], *argv[MAXARGS], err[256];
	struct cli_args a;
	int argc = split("certcast --kubeconfig /k --context c1 status -n shop -o wide --log-level "
			 "debug",
	    storage, sizeof storage, argv);
	cr_assert_eq(cli_parse(argc, argv, &a, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(a.ca_kubeconfig, "/k");
	cr_expect_str_eq(a.ca_context, "c1");
	cr_expect_str_eq(a.ca_namespace, "shop");
	cr_expect_eq(a.ca_all_namespaces, 0);
	cr_expect_eq(a.ca_output, STATUS_OUT_WIDE);
	cr_expect_str_eq(a.ca_log_level, "debug");
	cr_expect_null(a.ca_log_format);
	cr_expect_str_eq(a.ca_prog, "certcast");

	argc = split("kubectl-certcast status -A -ojson", storage, sizeof storage, argv);
	cr_assert_eq(cli_parse(argc, argv, &a, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(a.ca_all_namespaces, 1);
	cr_expect_null(a.ca_namespace);
	cr_expect_eq(a.ca_output, STATUS_OUT_JSON);
	cr_expect_str_eq(a.ca_prog, "kubectl certcast");

	argc = split("certcast simulate --policy certcast s.yaml", storage, sizeof storage, argv);
	cr_assert_eq(cli_parse(argc, argv, &a, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(a.ca_sub_argc, 4);
	cr_expect_str_eq(a.ca_sub_argv[0], "simulate");
	cr_expect_str_eq(a.ca_sub_argv[3], "s.yaml");

	argc = split("certcast scan --filename=/tmp/x.json", storage, sizeof storage, argv);
	cr_assert_eq(cli_parse(argc, argv, &a, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(a.ca_file, "/tmp/x.json");

	argc = split("certcast explain shop/web", storage, sizeof storage, argv);
	cr_assert_eq(cli_parse(argc, argv, &a, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(a.ca_target, "shop/web");

	argc = split("certcast status", storage, sizeof storage, argv);
	cr_assert_eq(cli_parse(argc, argv, &a, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(a.ca_output, STATUS_OUT_TABLE, "table is the default");
	cr_expect_null(a.ca_namespace);
	cr_expect_null(a.ca_controller, "scored here unless --controller is given");

	argc = split("certcast status -A --controller=http://127.0.0.1:9403/", storage,
	    sizeof storage, argv);
	cr_assert_eq(cli_parse(argc, argv, &a, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(a.ca_controller, "http://127.0.0.1:9403/");
	cr_expect_eq(a.ca_all_namespaces, 1);
}

static char *
write_tmp(const char *text)
{
	char *path = strdup("/tmp/certcast-cli-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* defaults < file < flags, through the real command line. */
Test(cli, config_precedence)
{
	char *path = write_tmp("mode: enforce\nworkers: 4\nlogLevel: warn\nhttpAddr: \":1111\"\n");
	char line[512], storage[512], *argv[MAXARGS], err[512] = "";
	snprintf(line, sizeof line,
	    "certcast controller --workers 8 --config %s --log-level=error --leader-elect=false",
	    path);
	int argc = split(line, storage, sizeof storage, argv);
	struct cli_args a;
	cr_assert_eq(cli_parse(argc, argv, &a, err, sizeof err), CC_OK, "%s", err);
	struct cfg c;
	cr_assert_eq(cli_build_config(&a, &c, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(c.c_workers, 8, "flag beats file, even when given before --config");
	cr_expect_eq(c.c_mode, CFG_MODE_ENFORCE, "file beats default");
	cr_expect_eq(c.c_log_level, LOG_ERROR, "global flag beats file");
	cr_expect_str_eq(c.c_http_addr, ":1111", "file beats default");
	cr_expect_eq(c.c_burst, 40, "default when nobody sets it");
	cr_expect_eq(c.c_leader_elect, 0);
	cfg_free(&c);

	/* Without flags, the file's values stand. */
	snprintf(line, sizeof line, "certcast controller --config=%s", path);
	argc = split(line, storage, sizeof storage, argv);
	cr_assert_eq(cli_parse(argc, argv, &a, err, sizeof err), CC_OK, "%s", err);
	cr_assert_eq(cli_build_config(&a, &c, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(c.c_workers, 4);
	cr_expect_eq(c.c_log_level, LOG_WARN);
	cfg_free(&c);
	unlink(path);
	free(path);
}

Test(cli, config_errors_surface)
{
	char *path = write_tmp("mode: enforce\nwrkers: 4\n");
	char line[512], storage[512], *argv[MAXARGS], err[512] = "";
	snprintf(line, sizeof line, "certcast controller --config %s", path);
	int argc = split(line, storage, sizeof storage, argv);
	struct cli_args a;
	cr_assert_eq(cli_parse(argc, argv, &a, err, sizeof err), CC_OK, "%s", err);
	struct cfg c;
	cr_expect_eq(cli_build_config(&a, &c, err, sizeof err), CC_ERR_CONFIG);
	char want[300];
	snprintf(want, sizeof want, "%s:2:1: unknown key \"wrkers\"", path);
	cr_expect(strstr(err, want), "got %s", err);
	unlink(path);
	free(path);

	/* min above max only shows when both layers are combined. */
	path = write_tmp("maxRenewBefore: 1h\n");
	snprintf(line, sizeof line, "certcast controller --config %s --min-renew-before 2h", path);
	argc = split(line, storage, sizeof storage, argv);
	cr_assert_eq(cli_parse(argc, argv, &a, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(cli_build_config(&a, &c, err, sizeof err), CC_ERR_CONFIG);
	cr_expect(strstr(err, "maxRenewBefore"), "got %s", err);
	unlink(path);
	free(path);
}

struct run_case {
	const char *rc_name;
	const char *rc_line;
	int rc_exit;
	const char *rc_out;  /* substring of stdout, or NULL */
	const char *rc_err;  /* substring of stderr, or NULL */
};

static int
run_line(const char *line, char **out, char **err)
{
	char storage[512], *argv[MAXARGS];
	int argc = split(line, storage, sizeof storage, argv);
	size_t ol = 0, el = 0;
	FILE *o = open_memstream(out, &ol);
	FILE *e = open_memstream(err, &el);
	int code = cli_run(argc, argv, o, e);
	fclose(o);
	fclose(e);
	return code;
}

Test(cli, run_exit_codes)
{
	static const struct run_case cases[] = {
	    {"global help", "certcast --help", 0, "usage: certcast [global flags] COMMAND", NULL},
	    {"help lists commands", "certcast -h", 0, "simulate", NULL},
	    {"help command", "certcast help status", 0, "usage: certcast status [-n NAMESPACE | -A]",
		NULL},
	    {"status help", "certcast status --help", 0, "-o, --output FORMAT", NULL},
	    {"controller help lists settings", "certcast controller --help", 0, "--resync-period",
		NULL},
	    {"controller help lists config", "certcast controller -h", 0, "--config PATH", NULL},
	    {"explain help", "certcast explain --help", 0, "usage: certcast explain", NULL},
	    {"scan help", "certcast scan --help", 0, "usage: certcast scan -f FILE|-", NULL},
	    {"version flag", "certcast --version", 0, "certcast " CERTCAST_VERSION "\n", NULL},
	    {"version command", "certcast version", 0, "certcast " CERTCAST_VERSION "\n", NULL},
	    {"version after command", "certcast status --version", 0, "certcast ", NULL},
	    {"plugin help", "kubectl-certcast --help", 0, "usage: kubectl certcast", NULL},
	    {"no command", "certcast", 2, NULL, "usage: certcast"},
	    {"unknown command", "certcast frob", 2, NULL, "certcast: unknown command \"frob\""},
	    {"unknown flag", "certcast status --frob", 2, NULL, "Run 'certcast status --help'"},
	    {"bad value", "certcast status -o yaml", 2, NULL, "invalid value \"yaml\" for flag -o"},
	    {"scan missing file", "certcast scan -f /nonexistent/saved.json", 1, NULL,
		"certcast scan: cannot open /nonexistent/saved.json: No such file or directory"},
	    {"scan bad --now", "certcast scan -f x.json --now yesterday", 2, NULL,
		"invalid value \"yesterday\" for flag --now: must be an RFC 3339 time"},
	    {"scan bad -o", "certcast scan -f x.json -o yaml", 2, NULL,
		"invalid value \"yaml\" for flag -o"},
	    {"scan help lists --now", "certcast scan --help", 0, "--now TIME", NULL},
	    {"explain help says what", "certcast explain --help", 0, "every factor", NULL},
	    {"explain help lists --controller", "certcast explain --help", 0, "--controller URL", NULL},
	    {"explain help lists --config", "certcast explain --help", 0, "--config PATH", NULL},
	    {"status help lists --controller", "certcast status --help", 0, "--controller URL",
		NULL},
	    {"status --controller not http", "certcast status -n a --controller ftp://h", 2, NULL,
		"certcast status: controller URL \"ftp://h\" must start with http:// or https://"},
	    {"status --controller with a query", "certcast status -A --controller http://h/?a=b", 2,
		NULL, "must not have a query or fragment"},
	    {"status --controller unreachable", "certcast status -n a --controller http://127.0.0.1:1",
		1, NULL, "certcast status: cannot get http://127.0.0.1:1/status?namespace=a"},
	    {"status --controller, no kubeconfig for the namespace",
		"certcast status --kubeconfig /nonexistent/kc --controller http://127.0.0.1:1", 1,
		NULL, "certcast status: kubeconfig (for the namespace; -n NS or -A need none)"},
	    {"explain --controller not http", "certcast explain a/b --controller ftp://h", 2, NULL,
		"must start with http:// or https://"},
	    {"explain missing --config file", "certcast explain a/b --config /nonexistent/c.yaml", 2,
		NULL, "/nonexistent/c.yaml: cannot open"},
	    {"leader election with a lease shorter than renewDeadline",
		"certcast controller --leader-elect --lease-duration 5s", 2, NULL,
		"renewDeadline (10s) must be shorter than leaseDuration (5s)"},
	    {"leader election with a bad lease name", "certcast controller --lease-name Bad", 2,
		NULL, "invalid value \"Bad\" for flag --lease-name: must be an object name"},
	    {"missing config file", "certcast controller --config /nonexistent/certcast.yaml", 2,
		NULL, "/nonexistent/certcast.yaml: cannot open"},
	    {"plugin error names plugin", "kubectl-certcast frob", 2, NULL,
		"kubectl certcast: unknown command"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct run_case *rc = &cases[i];
		char *out = NULL, *err = NULL;
		int code = run_line(rc->rc_line, &out, &err);
		cr_expect_eq(code, rc->rc_exit, "%s: exit %d want %d; stderr: %s", rc->rc_name, code,
		    rc->rc_exit, err);
		if (rc->rc_out)
			cr_expect(strstr(out, rc->rc_out), "%s: stdout lacks \"%s\": %s", rc->rc_name,
			    rc->rc_out, out);
		if (rc->rc_err)
			cr_expect(strstr(err, rc->rc_err), "%s: stderr lacks \"%s\": %s", rc->rc_name,
			    rc->rc_err, err);
		if (rc->rc_exit == 0)
			cr_expect_str_eq(err, "", "%s: unexpected stderr", rc->rc_name);
		else
			cr_expect_str_eq(out, "", "%s: unexpected stdout", rc->rc_name);
		free(out);
		free(err);
	}
}
