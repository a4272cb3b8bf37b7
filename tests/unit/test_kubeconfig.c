/*
 * kubeconfig: parsing as a table of named cases, merging, the loading order, in-cluster config,
 * token-file rotation and exec plugins (small shell scripts written by the tests).
 *
 * Criterion runs every Test in its own process, so setenv() here cannot leak between tests.
 */
#include "kubeconfig.h"

#include "cc_err.h"
#include "log.h"
#include "xalloc.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- temp files ---- */

static char tmpdir[256];

static void
mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/cc-kubeconfig-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
rm_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

/* Write content to tmpdir/rel (creating one level of subdirectory); returns the full path. */
static char *
put(const char *rel, const char *content, int mode)
{
	char *path = xasprintf("%s/%s", tmpdir, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0700);
	*slash = '/';
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	cr_assert_not_null(f, "fopen %s", tmp);
	fputs(content, f);
	fclose(f);
	chmod(tmp, (mode_t)mode);
	/* rename, as kubelet's atomic writer does, so a rewrite is a new inode */
	cr_assert_eq(rename(tmp, path), 0);
	free(tmp);
	return path;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- the parsing table ---- */

#define ABSENT "\001absent" /* the field must be NULL */

struct aux {
	const char *ax_rel;     /* path under the temp dir */
	const char *ax_content; /* file content */
};

struct kc_case {
	const char *name;
	const char *yaml;        /* written to tmpdir/cfg/config */
	struct aux aux[3];       /* other files the config refers to */
	const char *context;     /* override, or NULL */
	int want_rc;
	const char *want_err[3]; /* substrings of the error message */
	const char *no_err;      /* must not appear in the error message */
	const char *server, *ns, *token, *ca, *cert, *key, *tls_name;
	const char *token_file_suffix, *exec_cmd_suffix;
	int insecure;
};

#define HEAD "apiVersion: v1\nkind: Config\n"
#define CL(srv) "clusters:\n- name: c\n  cluster:\n    server: " srv "\n"
#define CX(extra) "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n" extra
#define US(body) "users:\n- name: u\n  user:\n" body

static const struct kc_case kc_cases[] = {
	{.name = "inline token, default namespace",
	 .yaml = HEAD "current-context: x\n" CL("https://k:6443") CX("") US("    token: abc\n"),
	 .server = "https://k:6443", .ns = "default", .token = "abc", .ca = ABSENT,
	 .cert = ABSENT, .key = ABSENT, .tls_name = ABSENT, .token_file_suffix = ABSENT,
	 .exec_cmd_suffix = ABSENT},
	{.name = "namespace from the context, trailing slash stripped",
	 .yaml = HEAD "current-context: x\n" CL("https://k:6443//")
	     CX("    namespace: team-a\n") US("    token: abc\n"),
	 .server = "https://k:6443", .ns = "team-a"},
	{.name = "data fields are base64-decoded",
	 .yaml = HEAD "current-context: x\n"
	     "clusters:\n- name: c\n  cluster:\n    server: https://k\n"
	     "    certificate-authority-data: Q0EtQllURVMK\n"
	     CX("") US("    client-certificate-data: Q0VSVC1CWVRFUw==\n"
		       "    client-key-data: S0VZLUJZVEVT\n"),
	 .ca = "CA-BYTES\n", .cert = "CERT-BYTES", .key = "KEY-BYTES", .token = ABSENT},
	{.name = "file fields resolve against the kubeconfig's directory",
	 .yaml = HEAD "current-context: x\n"
	     "clusters:\n- name: c\n  cluster:\n    server: https://k\n"
	     "    certificate-authority: pki/ca.pem\n"
	     CX("") US("    client-certificate: pki/c.pem\n    client-key: pki/k.pem\n"
		       "    tokenFile: tok\n"),
	 .aux = {{"cfg/pki/ca.pem", "CAFILE"}, {"cfg/pki/c.pem", "CERTFILE"},
	     {"cfg/pki/k.pem", "KEYFILE"}},
	 .ca = "CAFILE", .cert = "CERTFILE", .key = "KEYFILE", .token_file_suffix = "/cfg/tok"},
	{.name = "data wins over file",
	 .yaml = HEAD "current-context: x\n"
	     "clusters:\n- name: c\n  cluster:\n    server: https://k\n"
	     "    certificate-authority: nope.pem\n    certificate-authority-data: Q0EtQllURVMK\n"
	     CX("") US("    token: t\n"),
	 .ca = "CA-BYTES\n"},
	{.name = "insecure and tls-server-name",
	 .yaml = HEAD "current-context: x\n"
	     "clusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1\n"
	     "    insecure-skip-tls-verify: true\n    tls-server-name: api.example\n"
	     CX("") US("    token: t\n"),
	 .insecure = 1, .tls_name = "api.example"},
	{.name = "proxy-url is ignored, not fatal",
	 .yaml = HEAD "current-context: x\n"
	     "clusters:\n- name: c\n  cluster:\n    server: https://k\n    proxy-url: http://p:3128\n"
	     CX("") US("    token: t\n"),
	 .server = "https://k"},
	{.name = "null values count as absent",
	 .yaml = HEAD "current-context: x\npreferences: {}\n"
	     "clusters:\n- name: c\n  cluster:\n    server: https://k\n    certificate-authority: ~\n"
	     CX("") US("    token: null\n    client-key:\n"),
	 .token = ABSENT, .ca = ABSENT, .key = ABSENT},
	{.name = "a context without a user is anonymous",
	 .yaml = HEAD "current-context: x\n" CL("https://k")
	     "contexts:\n- name: x\n  context:\n    cluster: c\n",
	 .token = ABSENT, .cert = ABSENT},
	{.name = "exec plugin fields",
	 .yaml = HEAD "current-context: x\n" CL("https://k") CX("")
	     US("    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
		"      command: ./bin/plug\n      args: [\"--a\", \"b\"]\n"
		"      env:\n      - name: FOO\n        value: bar\n"),
	 .exec_cmd_suffix = "/cfg/./bin/plug", .token = ABSENT},
	{.name = "context override picks another context",
	 .yaml = HEAD "current-context: x\n"
	     "clusters:\n- name: c\n  cluster:\n    server: https://k\n"
	     "- name: c2\n  cluster:\n    server: https://other\n"
	     "contexts:\n- name: x\n  context:\n    cluster: c\n"
	     "- name: y\n  context:\n    cluster: c2\n    namespace: ns-y\n",
	 .context = "y", .server = "https://other", .ns = "ns-y"},

	{.name = "missing context is named",
	 .yaml = HEAD "current-context: nope\n" CL("https://k") CX("") US("    token: t\n"),
	 .want_rc = CC_ERR_CONFIG, .want_err = {"context \"nope\" not found"}},
	{.name = "missing context override is named",
	 .yaml = HEAD "current-context: x\n" CL("https://k") CX("") US("    token: t\n"),
	 .context = "ghost", .want_rc = CC_ERR_CONFIG, .want_err = {"context \"ghost\" not found"}},
	{.name = "missing cluster is named with its context",
	 .yaml = HEAD "current-context: x\n"
	     "clusters:\n- name: other\n  cluster:\n    server: https://k\n" CX("") US("    token: t\n"),
	 .want_rc = CC_ERR_CONFIG, .want_err = {"cluster \"c\"", "context \"x\"", "not found"}},
	{.name = "missing user is named with its context",
	 .yaml = HEAD "current-context: x\n" CL("https://k")
	     "contexts:\n- name: x\n  context:\n    cluster: c\n    user: ghost\n",
	 .want_rc = CC_ERR_CONFIG, .want_err = {"user \"ghost\"", "context \"x\"", "not found"}},
	{.name = "no current-context",
	 .yaml = HEAD CL("https://k") CX("") US("    token: t\n"),
	 .want_rc = CC_ERR_CONFIG, .want_err = {"no current-context"}},
	{.name = "empty file",
	 .yaml = "",
	 .want_rc = CC_ERR_CONFIG, .want_err = {"no current-context"}},
	{.name = "bad YAML names line and column",
	 .yaml = HEAD "current-context: x\nclusters:\n  - name: c\n   bad: [\n",
	 .want_rc = CC_ERR_PARSE, .want_err = {"cfg/config:6:"}},
	{.name = "unclosed quote names line and column",
	 .yaml = HEAD "current-context: \"x\n",
	 .want_rc = CC_ERR_PARSE, .want_err = {"cfg/config:4:1", "quoted scalar that began at 3:18"}},
	{.name = "wrong type names line and column",
	 .yaml = HEAD "current-context: x\nclusters:\n  name: c\n",
	 .want_rc = CC_ERR_PARSE, .want_err = {"cfg/config:5:3", "clusters must be a list"}},
	{.name = "a scalar where a string is needed",
	 .yaml = HEAD "current-context: x\n" "clusters:\n- name: c\n  cluster:\n    server: [a]\n"
	     CX(""),
	 .want_rc = CC_ERR_PARSE, .want_err = {"cfg/config:7:13", "server must be a string"}},
	{.name = "root that is not a mapping",
	 .yaml = "- a\n- b\n",
	 .want_rc = CC_ERR_PARSE, .want_err = {"cfg/config:1:1", "must be a mapping"}},
	{.name = "unnamed entry",
	 .yaml = HEAD "current-context: x\nusers:\n- user:\n    token: t\n",
	 .want_rc = CC_ERR_PARSE, .want_err = {"cfg/config:5:3", "has no name"}},
	{.name = "bad boolean",
	 .yaml = HEAD "current-context: x\n"
	     "clusters:\n- name: c\n  cluster:\n    server: https://k\n    insecure-skip-tls-verify: maybe\n"
	     CX(""),
	 .want_rc = CC_ERR_PARSE, .want_err = {"cfg/config:8:31", "true or false"}},
	{.name = "bad base64 never echoes the value",
	 .yaml = HEAD "current-context: x\n" CL("https://k") CX("")
	     US("    client-certificate-data: Q0VSVC1CWVRFUw==\n"
		"    client-key-data: SECRET*KEY*MATERIAL\n"),
	 .want_rc = CC_ERR_CONFIG, .want_err = {"user \"u\"", "client-key-data is not valid base64"},
	 .no_err = "SECRET"},
	{.name = "certificate without key",
	 .yaml = HEAD "current-context: x\n" CL("https://k") CX("")
	     US("    client-certificate-data: Q0VSVC1CWVRFUw==\n"),
	 .want_rc = CC_ERR_CONFIG, .want_err = {"client-certificate without client-key"}},
	{.name = "insecure together with a CA",
	 .yaml = HEAD "current-context: x\n"
	     "clusters:\n- name: c\n  cluster:\n    server: https://k\n"
	     "    insecure-skip-tls-verify: true\n    certificate-authority-data: Q0EtQllURVMK\n"
	     CX("") US("    token: t\n"),
	 .want_rc = CC_ERR_CONFIG, .want_err = {"cluster \"c\"", "insecure-skip-tls-verify"}},
	{.name = "missing CA file names cluster and path",
	 .yaml = HEAD "current-context: x\n"
	     "clusters:\n- name: c\n  cluster:\n    server: https://k\n    certificate-authority: gone.pem\n"
	     CX("") US("    token: t\n"),
	 .want_rc = CC_ERR_IO, .want_err = {"cluster \"c\"", "cfg/gone.pem"}},
	{.name = "no server",
	 .yaml = HEAD "current-context: x\nclusters:\n- name: c\n  cluster: {}\n" CX("")
	     US("    token: t\n"),
	 .want_rc = CC_ERR_CONFIG, .want_err = {"cluster \"c\" has no server"}},
	{.name = "server without scheme",
	 .yaml = HEAD "current-context: x\n" CL("k:6443") CX("") US("    token: t\n"),
	 .want_rc = CC_ERR_CONFIG, .want_err = {"https://"}},
	{.name = "auth-provider is refused",
	 .yaml = HEAD "current-context: x\n" CL("https://k") CX("")
	     US("    auth-provider:\n      name: gcp\n"),
	 .want_rc = CC_ERR_CONFIG, .want_err = {"user \"u\"", "auth-provider"}},
	{.name = "basic auth is refused",
	 .yaml = HEAD "current-context: x\n" CL("https://k") CX("")
	     US("    username: admin\n    password: hunter2\n"),
	 .want_rc = CC_ERR_CONFIG, .want_err = {"basic auth"}, .no_err = "hunter2"},
	{.name = "exec without apiVersion",
	 .yaml = HEAD "current-context: x\n" CL("https://k") CX("")
	     US("    exec:\n      command: plug\n"),
	 .want_rc = CC_ERR_PARSE, .want_err = {"user \"u\"", "apiVersion"}},
	{.name = "exec with an unknown apiVersion",
	 .yaml = HEAD "current-context: x\n" CL("https://k") CX("")
	     US("    exec:\n      command: plug\n      apiVersion: client.authentication.k8s.io/v1alpha1\n"),
	 .want_rc = CC_ERR_PARSE, .want_err = {"apiVersion must be"}},
	{.name = "exec env entry without a name",
	 .yaml = HEAD "current-context: x\n" CL("https://k") CX("")
	     US("    exec:\n      command: plug\n      apiVersion: client.authentication.k8s.io/v1\n"
		"      env:\n      - value: x\n"),
	 .want_rc = CC_ERR_PARSE, .want_err = {"env entry"}},
};

static void
check_field(const char *tc, const char *what, const char *want, const char *got)
{
	if (!want)
		return;
	if (strcmp(want, ABSENT) == 0) {
		cr_expect_null(got, "%s: %s should be absent", tc, what);
		return;
	}
	cr_expect_not_null(got, "%s: %s missing", tc, what);
	if (got)
		cr_expect_str_eq(got, want, "%s: %s", tc, what);
}

static void
run_kc_case(const struct kc_case *tc)
{
	mk_tmpdir();
	char *cfgpath = put("cfg/config", tc->yaml, 0600);
	for (int i = 0; i < 3 && tc->aux[i].ax_rel; i++)
		free(put(tc->aux[i].ax_rel, tc->aux[i].ax_content, 0600));
	struct kube_config *cfg = (struct kube_config *)0x1;
	char err[512] = "";
	int rc = kubeconfig_load_files(cfgpath, tc->context, &cfg, err, sizeof err);
	cr_expect_eq(rc, tc->want_rc, "%s: rc %d (%s), want %d; err: %s", tc->name, rc,
	    cc_strerror(rc), tc->want_rc, err);
	if (rc != CC_OK) {
		cr_expect_null(cfg, "%s: out must be NULL on failure", tc->name);
		cr_expect(err[0], "%s: empty error message", tc->name);
		for (int i = 0; i < 3 && tc->want_err[i]; i++)
			cr_expect(strstr(err, tc->want_err[i]), "%s: error \"%s\" lacks \"%s\"", tc->name,
			    err, tc->want_err[i]);
		if (tc->no_err)
			cr_expect(!strstr(err, tc->no_err), "%s: error leaks \"%s\"", tc->name, tc->no_err);
	} else if (cfg) {
		check_field(tc->name, "server", tc->server, cfg->kc_server);
		check_field(tc->name, "namespace", tc->ns, cfg->kc_namespace);
		check_field(tc->name, "token", tc->token, cfg->kc_token);
		check_field(tc->name, "ca", tc->ca, cfg->kc_ca_pem);
		check_field(tc->name, "cert", tc->cert, cfg->kc_cert_pem);
		check_field(tc->name, "key", tc->key, cfg->kc_key_pem);
		check_field(tc->name, "tls-server-name", tc->tls_name, cfg->kc_tls_server_name);
		if (tc->ca && strcmp(tc->ca, ABSENT) != 0 && cfg->kc_ca_pem)
			cr_expect_eq(cfg->kc_ca_len, strlen(tc->ca), "%s: ca length", tc->name);
		if (tc->token_file_suffix && strcmp(tc->token_file_suffix, ABSENT) == 0)
			cr_expect_null(cfg->kc_token_file, "%s: token file", tc->name);
		else if (tc->token_file_suffix)
			cr_expect(cfg->kc_token_file && ends_with(cfg->kc_token_file, tc->token_file_suffix),
			    "%s: token file %s", tc->name, cfg->kc_token_file);
		if (tc->exec_cmd_suffix && strcmp(tc->exec_cmd_suffix, ABSENT) == 0)
			cr_expect_null(cfg->kc_exec, "%s: exec", tc->name);
		else if (tc->exec_cmd_suffix)
			cr_expect(cfg->kc_exec && ends_with(cfg->kc_exec->ke_command, tc->exec_cmd_suffix),
			    "%s: exec command", tc->name);
		cr_expect_eq(cfg->kc_insecure, tc->insecure, "%s: insecure", tc->name);
		cr_expect_str_eq(cfg->kc_context, tc->context ? tc->context : "x", "%s: context",
		    tc->name);
	}
	if (rc != CC_OK)
		cfg = NULL;
	kubeconfig_free(cfg);
	free(cfgpath);
	rm_tmpdir();
}

Test(kubeconfig, parse_table)
{
	for (size_t i = 0; i < sizeof kc_cases / sizeof kc_cases[0]; i++)
		run_kc_case(&kc_cases[i]);
}

Test(kubeconfig, exec_fields_in_detail)
{
	mk_tmpdir();
	char *p = put("config", HEAD "current-context: x\n" CL("https://k") CX("")
	    US("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
	       "      command: aws\n      args: [eks, get-token]\n      provideClusterInfo: true\n"
	       "      env:\n      - name: A\n        value: \"1\"\n      - name: B\n"), 0600);
	struct kube_config *cfg = NULL;
	char err[256];
	cr_assert_eq(kubeconfig_load_files(p, NULL, &cfg, err, sizeof err), CC_OK, "%s", err);
	cr_assert_not_null(cfg->kc_exec);
	cr_expect_str_eq(cfg->kc_exec->ke_command, "aws", "bare names stay for PATH lookup");
	cr_assert_eq(cfg->kc_exec->ke_nargs, 2);
	cr_expect_str_eq(cfg->kc_exec->ke_args[0], "eks");
	cr_expect_str_eq(cfg->kc_exec->ke_args[1], "get-token");
	cr_assert_eq(cfg->kc_exec->ke_nenv, 2);
	cr_expect_str_eq(cfg->kc_exec->ke_env[0], "A=1");
	cr_expect_str_eq(cfg->kc_exec->ke_env[1], "B=");
	cr_expect_eq(cfg->kc_exec->ke_cluster_info, 1);
	cr_expect(kubeconfig_refreshable(cfg));

	struct kube_config *d = kubeconfig_dup(cfg);
	cr_assert_neq(d, cfg);
	cr_expect_neq(d->kc_exec, cfg->kc_exec);
	cr_expect_str_eq(d->kc_exec->ke_args[1], "get-token");
	cr_expect_neq(d->kc_cache, cfg->kc_cache);
	kubeconfig_free(cfg);
	cr_expect_str_eq(d->kc_server, "https://k", "the copy outlives the original");
	kubeconfig_free(d);
	kubeconfig_free(NULL);
	free(p);
	rm_tmpdir();
}

/* ---- merging ---- */

static const char *merge_a =
    HEAD "current-context: ctx-a\n"
    "clusters:\n- name: shared\n  cluster:\n    server: https://from-a\n"
    "contexts:\n- name: ctx-a\n  context:\n    cluster: shared\n    namespace: ns-a\n";
static const char *merge_b =
    HEAD "current-context: ctx-b\n"
    "clusters:\n- name: shared\n  cluster:\n    server: https://from-b\n"
    "- name: only-b\n  cluster:\n    server: https://only-b\n    certificate-authority: ca.pem\n"
    "contexts:\n- name: ctx-b\n  context:\n    cluster: shared\n    namespace: ns-b\n"
    "- name: ctx-only-b\n  context:\n    cluster: only-b\n";

struct merge_case {
	const char *name;
	const char *order;   /* "ab", "ba", "a-b" (a missing file between) */
	const char *context; /* override */
	const char *server;
	const char *ns;
	const char *ca;
};

static const struct merge_case merge_cases[] = {
	{"first file's current-context and cluster win", "ab", NULL, "https://from-a", "ns-a", NULL},
	{"reversed order, the other file wins", "ba", NULL, "https://from-b", "ns-b", NULL},
	{"a missing file in the list is skipped", "a-b", NULL, "https://from-a", "ns-a", NULL},
	{"entries only in a later file are usable", "ab", "ctx-only-b", "https://only-b", "default",
	    "CA-OF-B"},
	{"a later file's context uses the first file's cluster of that name", "ab", "ctx-b",
	    "https://from-a", "ns-b", NULL},
};

Test(kubeconfig, merge_first_wins)
{
	for (size_t i = 0; i < sizeof merge_cases / sizeof merge_cases[0]; i++) {
		const struct merge_case *mc = &merge_cases[i];
		mk_tmpdir();
		char *a = put("one/config", merge_a, 0600);
		char *b = put("two/config", merge_b, 0600);
		free(put("two/ca.pem", "CA-OF-B", 0600));
		char *list;
		if (strcmp(mc->order, "ab") == 0)
			list = xasprintf("%s:%s", a, b);
		else if (strcmp(mc->order, "ba") == 0)
			list = xasprintf("%s:%s", b, a);
		else
			list = xasprintf("%s::%s/missing/config:%s", a, tmpdir, b);
		struct kube_config *cfg = NULL;
		char err[512] = "";
		int rc = kubeconfig_load_files(list, mc->context, &cfg, err, sizeof err);
		cr_expect_eq(rc, CC_OK, "%s: %s", mc->name, err);
		if (cfg) {
			cr_expect_str_eq(cfg->kc_server, mc->server, "%s", mc->name);
			cr_expect_str_eq(cfg->kc_namespace, mc->ns, "%s", mc->name);
			if (mc->ca)
				cr_expect(cfg->kc_ca_pem && strcmp(cfg->kc_ca_pem, mc->ca) == 0,
				    "%s: CA resolved against the second file's directory", mc->name);
			else
				cr_expect_null(cfg->kc_ca_pem, "%s", mc->name);
		}
		kubeconfig_free(cfg);
		free(list);
		free(a);
		free(b);
		rm_tmpdir();
	}
}

Test(kubeconfig, merge_all_missing_is_an_error)
{
	struct kube_config *cfg = NULL;
	char err[512] = "";
	int rc = kubeconfig_load_files("/nonexistent/a:/nonexistent/b", NULL, &cfg, err, sizeof err);
	cr_expect_eq(rc, CC_ERR_CONFIG);
	cr_expect(strstr(err, "/nonexistent/a"), "%s", err);
	cr_expect_null(cfg);
}

/* ---- loading order ---- */

#define ORDER_CFG_FMT \
	HEAD "current-context: x\nclusters:\n- name: c\n  cluster:\n    server: https://%s\n" \
	"contexts:\n- name: x\n  context:\n    cluster: c\n"

static char *
put_order_cfg(const char *rel, const char *host)
{
	char *text = xasprintf(ORDER_CFG_FMT, host);
	char *p = put(rel, text, 0600);
	free(text);
	return p;
}

static void
put_sa_dir(void)
{
	free(put("sa/token", "sa-token\n", 0600));
	free(put("sa/ca.crt", "SA-CA", 0600));
	free(put("sa/namespace", " kube-system \n", 0600));
}

struct order_case {
	const char *name;
	int explicit_;   /* pass --kubeconfig */
	int env;         /* set $KUBECONFIG */
	int home;        /* create ~/.kube/config */
	int in_cluster;  /* set KUBERNETES_SERVICE_HOST/PORT */
	const char *want_server;
	int want_rc;
};

static const struct order_case order_cases[] = {
	{"explicit beats everything", 1, 1, 1, 1, "https://explicit", CC_OK},
	{"KUBECONFIG beats home", 0, 1, 1, 1, "https://env", CC_OK},
	{"home beats in-cluster", 0, 0, 1, 1, "https://home", CC_OK},
	{"in-cluster as the last resort", 0, 0, 0, 1, "https://10.96.0.1:443", CC_OK},
	{"nothing at all", 0, 0, 0, 0, NULL, CC_ERR_CONFIG},
};

Test(kubeconfig, loading_order)
{
	for (size_t i = 0; i < sizeof order_cases / sizeof order_cases[0]; i++) {
		const struct order_case *oc = &order_cases[i];
		mk_tmpdir();
		char *ex = put_order_cfg("explicit/config", "explicit");
		char *env = put_order_cfg("env/config", "env");
		char *home = xasprintf("%s/home", tmpdir);
		mkdir(home, 0700);
		if (oc->home)
			free(put_order_cfg("home/.kube/config", "home"));
		put_sa_dir();
		char *sa = xasprintf("%s/sa", tmpdir);
		setenv("HOME", home, 1);
		setenv("CERTCAST_SERVICEACCOUNT_DIR", sa, 1);
		if (oc->env)
			setenv("KUBECONFIG", env, 1);
		else
			unsetenv("KUBECONFIG");
		if (oc->in_cluster) {
			setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
			setenv("KUBERNETES_SERVICE_PORT", "443", 1);
		} else {
			unsetenv("KUBERNETES_SERVICE_HOST");
			unsetenv("KUBERNETES_SERVICE_PORT");
		}
		struct kube_config *cfg = NULL;
		char err[512] = "";
		int rc = kubeconfig_load(oc->explicit_ ? ex : NULL, NULL, &cfg, err, sizeof err);
		cr_expect_eq(rc, oc->want_rc, "%s: rc %d: %s", oc->name, rc, err);
		if (oc->want_server && cfg)
			cr_expect_str_eq(cfg->kc_server, oc->want_server, "%s", oc->name);
		if (!oc->want_server)
			cr_expect(strstr(err, "no kubeconfig found"), "%s: %s", oc->name, err);
		kubeconfig_free(cfg);
		free(ex);
		free(env);
		free(home);
		free(sa);
		rm_tmpdir();
	}
}

Test(kubeconfig, explicit_path_must_exist)
{
	struct kube_config *cfg = NULL;
	char err[512] = "";
	cr_expect_eq(kubeconfig_load("/nonexistent/kubeconfig", NULL, &cfg, err, sizeof err),
	    CC_ERR_IO);
	cr_expect(strstr(err, "/nonexistent/kubeconfig"), "%s", err);
	cr_expect_null(cfg);
}

Test(kubeconfig, kubeconfig_env_with_missing_files_falls_back_to_in_cluster)
{
	mk_tmpdir();
	put_sa_dir();
	char *sa = xasprintf("%s/sa", tmpdir);
	setenv("CERTCAST_SERVICEACCOUNT_DIR", sa, 1);
	setenv("KUBECONFIG", "/nonexistent/one:/nonexistent/two", 1);
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	struct kube_config *cfg = NULL;
	char err[512] = "";
	cr_expect_eq(kubeconfig_load(NULL, NULL, &cfg, err, sizeof err), CC_OK, "%s", err);
	cr_expect(cfg && strcmp(cfg->kc_server, "https://10.0.0.1:6443") == 0);
	kubeconfig_free(cfg);
	free(sa);
	rm_tmpdir();
}

/* ---- in-cluster ---- */

Test(kubeconfig, in_cluster_from_temp_dir)
{
	mk_tmpdir();
	put_sa_dir();
	char *sa = xasprintf("%s/sa", tmpdir);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	struct kube_config *cfg = NULL;
	char err[512] = "";
	cr_assert_eq(kubeconfig_in_cluster(sa, &cfg, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(cfg->kc_server, "https://10.96.0.1:443");
	cr_expect_str_eq(cfg->kc_namespace, "kube-system", "namespace is trimmed");
	cr_expect_str_eq(cfg->kc_ca_pem, "SA-CA");
	cr_expect(ends_with(cfg->kc_token_file, "/sa/token"));
	cr_expect_null(cfg->kc_token, "the token is read through the rotating file, not copied");
	cr_expect(kubeconfig_refreshable(cfg));
	struct kube_cred cr;
	cr_assert_eq(kubeconfig_credentials(cfg, 1000, 0, &cr, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(cr.cr_token, "sa-token", "trailing newline dropped");
	cr_expect_null(cr.cr_cert_pem);
	kubeconfig_cred_clear(&cr);
	kubeconfig_free(cfg);
	free(sa);
	rm_tmpdir();
}

struct ic_case {
	const char *name;
	const char *host, *port; /* NULL: unset */
	int token;               /* write a token file */
	int ca;                  /* write ca.crt */
	int ns;                  /* write namespace */
	int want_rc;
	const char *server;
	const char *want_ns;
	const char *want_err;
};

static const struct ic_case ic_cases[] = {
	{"ipv6 host gets brackets", "fd00::1", "443", 1, 1, 1, CC_OK, "https://[fd00::1]:443",
	    "kube-system", NULL},
	{"no namespace file means default", "h", "6443", 1, 1, 0, CC_OK, "https://h:6443", "default",
	    NULL},
	{"no CA file still loads", "h", "6443", 1, 0, 1, CC_OK, "https://h:6443", "kube-system", NULL},
	{"no host", NULL, "443", 1, 1, 1, CC_ERR_CONFIG, NULL, NULL, "KUBERNETES_SERVICE_HOST"},
	{"no port", "h", NULL, 1, 1, 1, CC_ERR_CONFIG, NULL, NULL, "KUBERNETES_SERVICE_HOST"},
	{"bad port", "h", "44x", 1, 1, 1, CC_ERR_CONFIG, NULL, NULL, "not a port"},
	{"port out of range", "h", "70000", 1, 1, 1, CC_ERR_CONFIG, NULL, NULL, "not a port"},
	{"no token", "h", "443", 0, 1, 1, CC_ERR_IO, NULL, NULL, "/sa/token"},
};

Test(kubeconfig, in_cluster_table)
{
	for (size_t i = 0; i < sizeof ic_cases / sizeof ic_cases[0]; i++) {
		const struct ic_case *c = &ic_cases[i];
		mk_tmpdir();
		char *sa = xasprintf("%s/sa", tmpdir);
		mkdir(sa, 0700);
		if (c->token)
			free(put("sa/token", "t", 0600));
		if (c->ca)
			free(put("sa/ca.crt", "CA", 0600));
		if (c->ns)
			free(put("sa/namespace", "kube-system", 0600));
		if (c->host)
			setenv("KUBERNETES_SERVICE_HOST", c->host, 1);
		else
			unsetenv("KUBERNETES_SERVICE_HOST");
		if (c->port)
			setenv("KUBERNETES_SERVICE_PORT", c->port, 1);
		else
			unsetenv("KUBERNETES_SERVICE_PORT");
		struct kube_config *cfg = NULL;
		char err[512] = "";
		int rc = kubeconfig_in_cluster(sa, &cfg, err, sizeof err);
		cr_expect_eq(rc, c->want_rc, "%s: rc %d: %s", c->name, rc, err);
		if (rc == CC_OK && cfg) {
			cr_expect_str_eq(cfg->kc_server, c->server, "%s", c->name);
			cr_expect_str_eq(cfg->kc_namespace, c->want_ns, "%s", c->name);
			cr_expect_eq(cfg->kc_ca_pem != NULL, c->ca, "%s: CA", c->name);
		} else {
			cr_expect_null(cfg, "%s", c->name);
			cr_expect(strstr(err, c->want_err), "%s: %s", c->name, err);
		}
		kubeconfig_free(cfg);
		free(sa);
		rm_tmpdir();
	}
}

/* ---- token file rotation ---- */

static struct kube_config *
load_token_file_cfg(void)
{
	char *p = put("cfg/config", HEAD "current-context: x\n" CL("https://k") CX("")
	    US("    tokenFile: token\n    token: static-is-ignored\n"), 0600);
	struct kube_config *cfg = NULL;
	char err[256];
	cr_assert_eq(kubeconfig_load_files(p, NULL, &cfg, err, sizeof err), CC_OK, "%s", err);
	free(p);
	return cfg;
}

static char *
token_at(struct kube_config *cfg, time_t now, int force, int *rc)
{
	struct kube_cred cr;
	char err[256] = "";
	*rc = kubeconfig_credentials(cfg, now, force, &cr, err, sizeof err);
	char *t = xstrdup(cr.cr_token);
	kubeconfig_cred_clear(&cr);
	return t;
}

Test(kubeconfig, token_file_rotation)
{
	mk_tmpdir();
	int rc;
	struct kube_config *cfg = load_token_file_cfg();
	char *tf = put("cfg/token", "first\n", 0600);
	char *t = token_at(cfg, 1000, 0, &rc);
	cr_expect_eq(rc, CC_OK);
	cr_expect_str_eq(t, "first", "tokenFile wins over token");
	free(t);

	free(put("cfg/token", "second-token", 0600));
	t = token_at(cfg, 1001, 0, &rc);
	cr_expect_str_eq(t, "second-token", "a rotated file (new inode) is re-read at once");
	free(t);

	/* Rewrite in place with the same size and mtime: only the periodic re-read notices. */
	struct stat st;
	cr_assert_eq(stat(tf, &st), 0);
	int fd = open(tf, O_WRONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "SECOND-TOKEN", 12), 12);
	close(fd);
	struct timespec times[2] = {st.st_atim, st.st_mtim};
	cr_assert_eq(utimensat(AT_FDCWD, tf, times, 0), 0);
	t = token_at(cfg, 1030, 0, &rc);
	cr_expect_str_eq(t, "second-token", "an unchanged-looking file is not re-read within a minute");
	free(t);
	t = token_at(cfg, 1030, 1, &rc);
	cr_expect_str_eq(t, "SECOND-TOKEN", "force re-reads");
	free(t);

	fd = open(tf, O_WRONLY);
	cr_assert_eq(write(fd, "THIRD--TOKEN", 12), 12);
	close(fd);
	cr_assert_eq(utimensat(AT_FDCWD, tf, times, 0), 0);
	t = token_at(cfg, 1090, 0, &rc);
	cr_expect_str_eq(t, "THIRD--TOKEN", "re-read after a minute even if it looks unchanged");
	free(t);

	/* A vanished file keeps the last good token rather than failing every request. */
	unlink(tf);
	t = token_at(cfg, 1200, 0, &rc);
	cr_expect_eq(rc, CC_OK);
	cr_expect_str_eq(t, "THIRD--TOKEN");
	free(t);
	free(tf);
	kubeconfig_free(cfg);
	rm_tmpdir();
}

Test(kubeconfig, token_file_missing_or_empty_at_first_use)
{
	mk_tmpdir();
	int rc;
	struct kube_config *cfg = load_token_file_cfg();
	char *t = token_at(cfg, 1000, 0, &rc);
	cr_expect_eq(rc, CC_ERR_IO);
	cr_expect_null(t);
	free(put("cfg/token", " \n", 0600));
	t = token_at(cfg, 1001, 0, &rc);
	cr_expect_eq(rc, CC_ERR_IO, "a blank token file is an error, not an empty token");
	cr_expect_null(t);
	free(put("cfg/token", "ok", 0600));
	t = token_at(cfg, 1002, 0, &rc);
	cr_expect_eq(rc, CC_OK);
	cr_expect_str_eq(t, "ok");
	free(t);
	kubeconfig_free(cfg);
	rm_tmpdir();
}

Test(kubeconfig, static_credentials)
{
	mk_tmpdir();
	char *p = put("config", HEAD "current-context: x\n" CL("https://k") CX("")
	    US("    token: tok\n    client-certificate-data: Q0VSVC1CWVRFUw==\n"
	       "    client-key-data: S0VZLUJZVEVT\n"), 0600);
	struct kube_config *cfg = NULL;
	char err[256];
	cr_assert_eq(kubeconfig_load_files(p, NULL, &cfg, err, sizeof err), CC_OK, "%s", err);
	cr_expect(!kubeconfig_refreshable(cfg), "a literal token cannot heal a 401");
	struct kube_cred cr;
	cr_assert_eq(kubeconfig_credentials(cfg, 0, 1, &cr, err, sizeof err), CC_OK);
	cr_expect_str_eq(cr.cr_token, "tok");
	cr_expect_str_eq(cr.cr_cert_pem, "CERT-BYTES");
	cr_expect_eq(cr.cr_cert_len, 10);
	cr_expect_str_eq(cr.cr_key_pem, "KEY-BYTES");
	kubeconfig_cred_clear(&cr);
	cr_expect_null(cr.cr_token);
	kubeconfig_cred_clear(NULL);
	kubeconfig_free(cfg);
	free(p);
	rm_tmpdir();
}

/*
 * Found by fuzz_kubeconfig: a server of only a scheme ("https:///") loaded, its slashes stripped
 * to "https:", and every request then went to a URL without a host.
 */
Test(kubeconfig, server_without_host_refused)
{
	static const char *const servers[] = {"https://", "https:///", "http://", "http:////"};
	for (size_t i = 0; i < sizeof servers / sizeof servers[0]; i++) {
		mk_tmpdir();
		char *yaml = xasprintf(
		    HEAD "current-context: x\n" CL("%s") CX("") US("    token: t\n"), servers[i]);
		char *p = put("config", yaml, 0600);
		struct kube_config *cfg = NULL;
		char err[512] = "";
		cr_expect_eq(kubeconfig_load_files(p, NULL, &cfg, err, sizeof err), CC_ERR_CONFIG,
		    "%s loaded as %s", servers[i], cfg ? cfg->kc_server : "-");
		cr_expect(strstr(err, "cluster \"c\"") && strstr(err, "names no host"), "%s: %s",
		    servers[i], err);
		kubeconfig_free(cfg);
		free(p);
		free(yaml);
		rm_tmpdir();
	}
}

/*
 * Found by fuzz_kubeconfig: *-data fields are counted bytes and may hold a NUL (a DER
 * certificate, say). kubeconfig_dup and kubeconfig_credentials copied them with xstrndup, which
 * stops at the first NUL, but kept the full length, so kube_client handed curl a CA blob, client
 * certificate and key longer than their buffers (a heap over-read).
 */
Test(kubeconfig, binary_data_fields_copied_whole)
{
	/* "CA\0DER\x01", "CERT\0X", "KEY\0\0Y" */
	static const char ca[] = "CA\0DER\x01", cert[] = "CERT\0X", key[] = "KEY\0\0Y";
	mk_tmpdir();
	char *p = put("config", HEAD "current-context: x\n"
	    "clusters:\n- name: c\n  cluster:\n    server: https://k\n"
	    "    certificate-authority-data: Q0EAREVSAQ==\n" CX("")
	    US("    client-certificate-data: Q0VSVABY\n    client-key-data: S0VZAABZ\n"), 0600);
	struct kube_config *cfg = NULL;
	char err[256] = "";
	cr_assert_eq(kubeconfig_load_files(p, NULL, &cfg, err, sizeof err), CC_OK, "%s", err);
	cr_assert_eq(cfg->kc_ca_len, sizeof ca - 1);
	cr_assert_eq(memcmp(cfg->kc_ca_pem, ca, sizeof ca), 0, "decoded CA bytes");
	struct kube_config *d = kubeconfig_dup(cfg);
	cr_assert_eq(d->kc_ca_len, sizeof ca - 1);
	cr_expect_eq(memcmp(d->kc_ca_pem, ca, sizeof ca), 0, "the copy holds every CA byte");
	cr_assert_eq(d->kc_cert_len, sizeof cert - 1);
	cr_expect_eq(memcmp(d->kc_cert_pem, cert, sizeof cert), 0, "every certificate byte");
	cr_assert_eq(d->kc_key_len, sizeof key - 1);
	cr_expect_eq(memcmp(d->kc_key_pem, key, sizeof key), 0, "every key byte");
	struct kube_cred cr;
	cr_assert_eq(kubeconfig_credentials(d, 0, 0, &cr, err, sizeof err), CC_OK, "%s", err);
	cr_assert_eq(cr.cr_cert_len, sizeof cert - 1);
	cr_expect_eq(memcmp(cr.cr_cert_pem, cert, sizeof cert), 0, "credentials: certificate");
	cr_assert_eq(cr.cr_key_len, sizeof key - 1);
	cr_expect_eq(memcmp(cr.cr_key_pem, key, sizeof key), 0, "credentials: key");
	kubeconfig_cred_clear(&cr);
	kubeconfig_free(d);
	kubeconfig_free(cfg);
	free(p);
	rm_tmpdir();
}

/* ---- exec plugins ---- */

/*
 * The plugin counts its runs in $DIR/count and answers with the token "tok-N". What else it
 * prints is chosen by $MODE, so one script serves every case.
 */
static const char *plugin_script =
    "#!/bin/sh\n"
    "n=$(cat \"$DIR/count\" 2>/dev/null || echo 0)\n"
    "n=$((n + 1))\n"
    "echo \"$n\" > \"$DIR/count\"\n"
    "AV=${AV:-client.authentication.k8s.io/v1}\n"
    "case \"$MODE\" in\n"
    "token) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":"
    "{\"token\":\"tok-%s\",\"expirationTimestamp\":\"%s\"}}' \"$AV\" \"$n\" \"$EXP\" ;;\n"
    "noexp) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":"
    "{\"token\":\"tok-%s\"}}' \"$AV\" \"$n\" ;;\n"
    "cert) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":"
    "{\"clientCertificateData\":\"CERT-%s\",\"clientKeyData\":\"KEY-%s\"}}' \"$AV\" \"$n\" \"$n\" ;;\n"
    "certnokey) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":"
    "{\"clientCertificateData\":\"CERT\"}}' \"$AV\" ;;\n"
    "empty) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":{}}' \"$AV\" ;;\n"
    "nostatus) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\"}' \"$AV\" ;;\n"
    "wrongkind) printf '{\"apiVersion\":\"%s\",\"kind\":\"Secret\",\"status\":{\"token\":\"x\"}}' \"$AV\" ;;\n"
    "badexp) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":"
    "{\"token\":\"x\",\"expirationTimestamp\":\"tomorrow\"}}' \"$AV\" ;;\n"
    "garbage) printf 'SECRET-GARBAGE not json' ;;\n"
    "fail) echo 'plugin: no credentials' >&2; exit 3 ;;\n"
    "info) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}'"
    " \"$AV\" \"$(printf '%s' \"$KUBERNETES_EXEC_INFO\" | tr -d '\"{}:,' )\" ;;\n"
    "args) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}'"
    " \"$AV\" \"$*\" ;;\n"
    "esac\n";

/* Write the plugin and a kubeconfig that runs it with env MODE=mode and extra env lines. */
static struct kube_config *
exec_cfg(const char *mode, const char *api_version, const char *extra_env)
{
	char *script = put("plugin/plug.sh", plugin_script, 0700);
	free(script);
	char *text = xasprintf(HEAD "current-context: x\n" CL("https://k") CX("")
	    US("    exec:\n      apiVersion: %s\n      command: ../plugin/plug.sh\n"
	       "      args: [\"one\", \"two words\"]\n"
	       "      env:\n      - name: DIR\n        value: %s\n"
	       "      - name: MODE\n        value: %s\n%s"),
	    api_version, tmpdir, mode, extra_env ? extra_env : "");
	char *p = put("cfg/config", text, 0600);
	struct kube_config *cfg = NULL;
	char err[256];
	cr_assert_eq(kubeconfig_load_files(p, NULL, &cfg, err, sizeof err), CC_OK, "%s", err);
	free(text);
	free(p);
	return cfg;
}

static int
run_count(void)
{
	char *p = xasprintf("%s/count", tmpdir);
	FILE *f = fopen(p, "r");
	int n = 0;
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	free(p);
	return n;
}

Test(kubeconfig, exec_token_cached_until_expiry)
{
	mk_tmpdir();
	time_t exp;
	cr_assert_eq(kubeconfig_parse_time("2030-01-01T00:00:00Z", &exp), CC_OK);
	struct kube_config *cfg = exec_cfg("token", "client.authentication.k8s.io/v1",
	    "      - name: EXP\n        value: \"2030-01-01T00:00:00Z\"\n");
	cr_expect(kubeconfig_refreshable(cfg));
	struct kube_cred cr;
	char err[256] = "";
	cr_assert_eq(kubeconfig_credentials(cfg, exp - 100, 0, &cr, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(cr.cr_token, "tok-1");
	cr_expect_eq(cr.cr_expiry, exp);
	kubeconfig_cred_clear(&cr);
	cr_assert_eq(kubeconfig_credentials(cfg, exp - 1, 0, &cr, err, sizeof err), CC_OK);
	cr_expect_str_eq(cr.cr_token, "tok-1", "served from the cache before expiry");
	kubeconfig_cred_clear(&cr);
	cr_expect_eq(run_count(), 1);
	cr_assert_eq(kubeconfig_credentials(cfg, exp, 0, &cr, err, sizeof err), CC_OK);
	cr_expect_str_eq(cr.cr_token, "tok-2", "re-run at expiry");
	kubeconfig_cred_clear(&cr);
	cr_assert_eq(kubeconfig_credentials(cfg, exp - 50, 1, &cr, err, sizeof err), CC_OK);
	cr_expect_str_eq(cr.cr_token, "tok-3", "force re-runs even while valid");
	kubeconfig_cred_clear(&cr);
	cr_expect_eq(run_count(), 3);
	kubeconfig_free(cfg);
	rm_tmpdir();
}

/*
 * Regression (found by fuzz_execcred): an answer that expired at 1970-01-01T00:00:00Z read as
 * expiry 0, which means "no expiry", and was served for ever instead of running the plugin.
 */
Test(kubeconfig, exec_expired_at_the_epoch_runs_the_plugin_again)
{
	mk_tmpdir();
	struct kube_config *cfg = exec_cfg("token", "client.authentication.k8s.io/v1",
	    "      - name: EXP\n        value: \"1970-01-01T00:00:00Z\"\n");
	struct kube_cred cr;
	char err[256] = "";
	for (int i = 1; i <= 2; i++) {
		int rc = kubeconfig_credentials(cfg, 1000, 0, &cr, err, sizeof err);
		cr_assert_eq(rc, CC_OK, "%s", err);
		cr_expect(cr.cr_expiry != 0 && cr.cr_expiry <= 1000, "expiry %lld read as none",
		    (long long)cr.cr_expiry);
		kubeconfig_cred_clear(&cr);
		cr_expect_eq(run_count(), i, "an expired answer was served from the cache");
	}
	kubeconfig_free(cfg);
	rm_tmpdir();
}

Test(kubeconfig, exec_without_expiry_is_cached_until_forced)
{
	mk_tmpdir();
	struct kube_config *cfg = exec_cfg("noexp", "client.authentication.k8s.io/v1beta1", NULL);
	setenv("AV", "client.authentication.k8s.io/v1beta1", 1);
	struct kube_cred cr;
	char err[256] = "";
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(kubeconfig_credentials(cfg, 1000 + i * 100000, 0, &cr, err, sizeof err),
		    CC_OK, "%s", err);
		cr_expect_str_eq(cr.cr_token, "tok-1");
		cr_expect_eq(cr.cr_expiry, 0);
		kubeconfig_cred_clear(&cr);
	}
	cr_assert_eq(kubeconfig_credentials(cfg, 1000, 1, &cr, err, sizeof err), CC_OK);
	cr_expect_str_eq(cr.cr_token, "tok-2");
	kubeconfig_cred_clear(&cr);
	kubeconfig_free(cfg);
	rm_tmpdir();
}

struct cred_thread {
	struct kube_config *ct_cfg;
	int ct_rc;
	char ct_token[64];
};

static void *
cred_main(void *arg)
{
	struct cred_thread *ct = arg;
	struct kube_cred cr;
	char err[256];
	ct->ct_rc = kubeconfig_credentials(ct->ct_cfg, 1000, 0, &cr, err, sizeof err);
	snprintf(ct->ct_token, sizeof ct->ct_token, "%s", cr.cr_token ? cr.cr_token : "");
	kubeconfig_cred_clear(&cr);
	return NULL;
}

Test(kubeconfig, concurrent_callers_share_one_plugin_run)
{
	mk_tmpdir();
	struct kube_config *cfg = exec_cfg("noexp", "client.authentication.k8s.io/v1", NULL);
	struct cred_thread ct[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		ct[i] = (struct cred_thread){.ct_cfg = cfg};
		pthread_create(&t[i], NULL, cred_main, &ct[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(ct[i].ct_rc, CC_OK);
		cr_expect_str_eq(ct[i].ct_token, "tok-1");
	}
	cr_expect_eq(run_count(), 1, "the plugin ran once for all callers");
	kubeconfig_free(cfg);
	rm_tmpdir();
}

/* What a user needs to know is logged; what must stay secret is not. */
Test(kubeconfig, warnings_are_logged_without_secrets)
{
	mk_tmpdir();
	char *logpath = xasprintf("%s/log", tmpdir);
	int fd = open(logpath, O_CREAT | O_RDWR | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	log_set_fd(fd);
	char *p = put("cfg/config", HEAD "current-context: x\n"
	    "clusters:\n- name: c\n  cluster:\n    server: https://k\n    proxy-url: http://p:3128\n"
	    "    certificate-authority: ca.pem\n    certificate-authority-data: Q0EtQllURVMK\n"
	    CX("") US("    token: TOPSECRET\n    client-certificate-data: Q0VSVC1CWVRFUw==\n"
		      "    client-key-data: S0VZLUJZVEVT\n"), 0600);
	struct kube_config *cfg = NULL;
	char err[256];
	cr_assert_eq(kubeconfig_load_files(p, NULL, &cfg, err, sizeof err), CC_OK, "%s", err);
	log_set_fd(-1);
	char text[4096] = "";
	ssize_t n = pread(fd, text, sizeof text - 1, 0);
	close(fd);
	cr_assert(n >= 0);
	text[n] = '\0';
	cr_expect(strstr(text, "proxy-url is not supported"), "log: %s", text);
	cr_expect(strstr(text, "cluster \"c\""), "the warning names the cluster: %s", text);
	cr_expect(strstr(text, "certificate-authority and -data"), "log: %s", text);
	cr_expect(!strstr(text, "TOPSECRET") && !strstr(text, "KEY-BYTES") &&
	    !strstr(text, "S0VZLUJZVEVT"), "a secret reached the log: %s", text);
	kubeconfig_free(cfg);
	free(p);
	free(logpath);
	rm_tmpdir();
}

Test(kubeconfig, exec_client_certificate)
{
	mk_tmpdir();
	struct kube_config *cfg = exec_cfg("cert", "client.authentication.k8s.io/v1", NULL);
	struct kube_cred cr;
	char err[256] = "";
	cr_assert_eq(kubeconfig_credentials(cfg, 1000, 0, &cr, err, sizeof err), CC_OK, "%s", err);
	cr_expect_null(cr.cr_token);
	cr_expect_str_eq(cr.cr_cert_pem, "CERT-1");
	cr_expect_eq(cr.cr_cert_len, 6);
	cr_expect_str_eq(cr.cr_key_pem, "KEY-1");
	kubeconfig_cred_clear(&cr);
	kubeconfig_free(cfg);
	rm_tmpdir();
}

Test(kubeconfig, exec_gets_args_env_and_exec_info)
{
	mk_tmpdir();
	struct kube_config *cfg = exec_cfg("args", "client.authentication.k8s.io/v1", NULL);
	struct kube_cred cr;
	char err[256] = "";
	cr_assert_eq(kubeconfig_credentials(cfg, 1000, 0, &cr, err, sizeof err), CC_OK, "%s", err);
	cr_expect_str_eq(cr.cr_token, "one two words", "arguments passed one by one");
	kubeconfig_cred_clear(&cr);
	kubeconfig_free(cfg);

	cfg = exec_cfg("info", "client.authentication.k8s.io/v1", NULL);
	cr_assert_eq(kubeconfig_credentials(cfg, 1000, 0, &cr, err, sizeof err), CC_OK, "%s", err);
	cr_expect(strstr(cr.cr_token, "kindExecCredential"), "KUBERNETES_EXEC_INFO: %s", cr.cr_token);
	cr_expect(strstr(cr.cr_token, "interactivefalse"), "KUBERNETES_EXEC_INFO: %s", cr.cr_token);
	kubeconfig_cred_clear(&cr);
	kubeconfig_free(cfg);
	rm_tmpdir();
}

struct exec_bad_case {
	const char *name;
	const char *mode;
	const char *av_env;  /* the apiVersion the plugin answers with, or NULL for v1 */
	const char *want_err;
};

static const struct exec_bad_case exec_bad_cases[] = {
	{"non-zero exit", "fail", NULL, "exited with status 3"},
	{"not JSON", "garbage", NULL, "not a JSON object"},
	{"apiVersion mismatch", "noexp", "client.authentication.k8s.io/v1beta1", "apiVersion"},
	{"wrong kind", "wrongkind", NULL, "ExecCredential"},
	{"no status", "nostatus", NULL, "no status"},
	{"empty status", "empty", NULL, "neither a token nor"},
	{"certificate without key", "certnokey", NULL, "must come together"},
	{"bad expiration", "badexp", NULL, "expirationTimestamp"},
};

Test(kubeconfig, exec_bad_answers)
{
	for (size_t i = 0; i < sizeof exec_bad_cases / sizeof exec_bad_cases[0]; i++) {
		const struct exec_bad_case *c = &exec_bad_cases[i];
		mk_tmpdir();
		if (c->av_env)
			setenv("AV", c->av_env, 1);
		else
			unsetenv("AV");
		struct kube_config *cfg = exec_cfg(c->mode, "client.authentication.k8s.io/v1", NULL);
		struct kube_cred cr;
		char err[256] = "";
		int rc = kubeconfig_credentials(cfg, 1000, 0, &cr, err, sizeof err);
		cr_expect_eq(rc, CC_ERR_CONFIG, "%s: rc %d", c->name, rc);
		cr_expect_null(cr.cr_token, "%s: no token on failure", c->name);
		cr_expect(strstr(err, c->want_err), "%s: error \"%s\"", c->name, err);
		cr_expect(!strstr(err, "SECRET"), "%s: output leaked into \"%s\"", c->name, err);
		/* Failure is not cached: the next call runs the plugin again. */
		rc = kubeconfig_credentials(cfg, 1000, 0, &cr, err, sizeof err);
		cr_expect_eq(run_count(), 2, "%s: plugin re-run after a failure", c->name);
		kubeconfig_cred_clear(&cr);
		kubeconfig_free(cfg);
		rm_tmpdir();
	}
}

Test(kubeconfig, exec_missing_command)
{
	mk_tmpdir();
	char *p = put("config", HEAD "current-context: x\n" CL("https://k") CX("")
	    US("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
	       "      command: certcast-no-such-plugin-xyz\n"), 0600);
	struct kube_config *cfg = NULL;
	char err[256] = "";
	cr_assert_eq(kubeconfig_load_files(p, NULL, &cfg, err, sizeof err), CC_OK, "%s", err);
	struct kube_cred cr;
	int rc = kubeconfig_credentials(cfg, 1000, 0, &cr, err, sizeof err);
	/* posix_spawnp either fails outright or the child exits 127, depending on the libc. */
	cr_expect_eq(rc, CC_ERR_CONFIG);
	cr_expect(strstr(err, "certcast-no-such-plugin-xyz"), "%s", err);
	kubeconfig_free(cfg);
	free(p);
	rm_tmpdir();
}

/* ---- pure helpers ---- */

struct b64_case {
	const char *name;
	const char *in;
	int rc;
	const char *out;
	size_t len;
};

static const struct b64_case b64_cases[] = {
	{"empty", "", CC_OK, "", 0},
	{"padded", "aGVsbG8=", CC_OK, "hello", 5},
	{"unpadded", "aGVsbG8", CC_OK, "hello", 5},
	{"two pad", "aGk=", CC_OK, "hi", 2},
	{"newlines and spaces", "aGVs\nbG8g\r\n d29y bGQ=", CC_OK, "hello world", 11},
	{"binary zero", "AAE=", CC_OK, "\0\1", 2},
	{"stray byte", "aGV*bG8=", CC_ERR_PARSE, NULL, 0},
	{"data after padding", "aGk=aGk=", CC_ERR_PARSE, NULL, 0},
	{"single leftover char", "aGVsb", CC_ERR_PARSE, NULL, 0},
	{"too much padding", "aGk===", CC_ERR_PARSE, NULL, 0},
	{"url-safe alphabet is not standard", "a-_b", CC_ERR_PARSE, NULL, 0},
};

Test(kubeconfig, base64_table)
{
	for (size_t i = 0; i < sizeof b64_cases / sizeof b64_cases[0]; i++) {
		const struct b64_case *c = &b64_cases[i];
		char *out = (char *)0x1;
		size_t len = 99;
		int rc = kubeconfig_b64decode(c->in, &out, &len);
		cr_expect_eq(rc, c->rc, "%s: rc %d", c->name, rc);
		if (rc == CC_OK) {
			cr_expect_eq(len, c->len, "%s: len %zu", c->name, len);
			cr_expect(memcmp(out, c->out, c->len) == 0, "%s: bytes", c->name);
			cr_expect_eq(out[len], '\0', "%s: NUL-terminated", c->name);
			free(out);
		} else {
			cr_expect_null(out, "%s", c->name);
		}
	}
}

struct time_case {
	const char *name;
	const char *in;
	int rc;
	long long want; /* seconds since the epoch */
};

static const struct time_case time_cases[] = {
	{"epoch", "1970-01-01T00:00:00Z", CC_OK, 0},
	{"plain UTC", "2026-03-15T12:30:45Z", CC_OK, 1773577845},
	{"fraction ignored", "2026-03-15T12:30:45.999999999Z", CC_OK, 1773577845},
	{"positive offset", "2026-03-15T14:30:45+02:00", CC_OK, 1773577845},
	{"negative offset", "2026-03-15T04:00:45-08:30", CC_OK, 1773577845},
	{"lower-case t and z", "2026-03-15t12:30:45z", CC_OK, 1773577845},
	{"leap day", "2028-02-29T00:00:00Z", CC_OK, 1835395200},
	{"no leap day", "2027-02-29T00:00:00Z", CC_ERR_PARSE, 0},
	{"no zone", "2026-03-15T12:30:45", CC_ERR_PARSE, 0},
	{"date only", "2026-03-15", CC_ERR_PARSE, 0},
	{"month 13", "2026-13-01T00:00:00Z", CC_ERR_PARSE, 0},
	{"trailing junk", "2026-03-15T12:30:45Zjunk", CC_ERR_PARSE, 0},
	{"empty fraction", "2026-03-15T12:30:45.Z", CC_ERR_PARSE, 0},
	{"words", "tomorrow", CC_ERR_PARSE, 0},
};

Test(kubeconfig, rfc3339_table)
{
	for (size_t i = 0; i < sizeof time_cases / sizeof time_cases[0]; i++) {
		const struct time_case *c = &time_cases[i];
		time_t t = -1;
		int rc = kubeconfig_parse_time(c->in, &t);
		cr_expect_eq(rc, c->rc, "%s: rc %d", c->name, rc);
		if (rc == CC_OK)
			cr_expect_eq((long long)t, c->want, "%s: %lld, want %lld", c->name, (long long)t,
			    c->want);
	}
	/* Ordering in both directions across an offset. */
	time_t a, b;
	cr_assert_eq(kubeconfig_parse_time("2026-01-01T00:00:00+01:00", &a), CC_OK);
	cr_assert_eq(kubeconfig_parse_time("2026-01-01T00:00:00Z", &b), CC_OK);
	cr_expect_lt(a, b);
	cr_expect_gt(b, a);
	cr_expect_eq(b - a, 3600);
}
