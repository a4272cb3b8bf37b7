/*
 * fuzz_kubeconfig: arbitrary bytes as a kubeconfig file, through kubeconfig_load_files: the
 * YAML, the clusters, users and contexts lists, the first-wins merge of several files, the
 * context chosen, base64 *-data fields, file references (relative ones against the file's
 * folder), exec plugin entries, then kubeconfig_dup and kubeconfig_free.
 *
 * A kubeconfig is whatever the user (or a tool) wrote. It must load or be refused with a
 * reason, never crash or leak. Loading never runs an exec plugin nor reads a token file;
 * kubeconfig_credentials does both, so the harness calls it only for static credentials (no
 * token file, and a literal token or no plugin), where it only copies.
 *
 * Input conventions, so that one input can reach every path:
 *   - a first line "#context: NAME" passes NAME as the context override;
 *   - a line "#8<" splits the input into two files, loaded as "A:MISSING:B" ($KUBECONFIG's
 *     merge, with a missing entry that must be skipped).
 * The files live in a private folder made once per process (removed at exit), next to a CA
 * bundle, a client certificate and key, and a token file that relative references may name.
 * stdin is /dev/null, so a reference to /dev/stdin cannot block.
 */
#include "cc_err.h"
#include "kubeconfig.h"
#include "log.h"
#include "scratch.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_SPLIT "\n#8<\n"
#define FZ_CTX "#context: "
#define FZ_NOW 1798761600 /* 2027-01-01T00:00:00Z */

static char fz_dir[4096];
static char fz_path_a[4200], fz_path_b[4200], fz_path_list[12800];

static const struct {
	const char *f_name;
	const char *f_text;
} fz_files[] = {
    {"ca.crt", "-----BEGIN CERTIFICATE-----\nMIIBfuzzCA\n-----END CERTIFICATE-----\n"},
    {"client.crt", "-----BEGIN CERTIFICATE-----\nMIIBfuzzclient\n-----END CERTIFICATE-----\n"},
    {"client.key", "-----BEGIN EC PRIVATE KEY-----\nMHcfuzzkey\n-----END EC PRIVATE KEY-----\n"},
    {"token", "fuzz-token-from-file\n"},
    {"empty", ""},
};

static void
fz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_kubeconfig: %s: %s\n", what, detail);
	abort();
}

/*
 * Make path hold exactly p[0..n). The file is rewritten in place (pwrite, then ftruncate to the
 * new length) rather than reopened with O_TRUNC: on ext4 a truncation to zero makes the next
 * close flush the file to disk, which made every run wait for the disk.
 */
static void
fz_write(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		fz_fail("cannot open", path);
	const char *c = p;
	off_t off = 0;
	while ((size_t)off < n) {
		ssize_t w = pwrite(fd, c + off, n - (size_t)off, off);
		if (w <= 0)
			fz_fail("cannot write", path);
		off += w;
	}
	if (ftruncate(fd, (off_t)n) != 0)
		fz_fail("cannot truncate", path);
	close(fd);
}

static void
fz_cleanup(void)
{
	char p[4300];
	unlink(fz_path_a);
	unlink(fz_path_b);
	for (size_t i = 0; i < sizeof fz_files / sizeof fz_files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", fz_dir, fz_files[i].f_name);
		unlink(p);
	}
	rmdir(fz_dir);
}

static void
fz_init(void)
{
	if (scratch_dir("fuzz-kubeconfig", fz_dir, sizeof fz_dir) != 0)
		fz_fail("mkdtemp", fz_dir);
	snprintf(fz_path_a, sizeof fz_path_a, "%s/config", fz_dir);
	snprintf(fz_path_b, sizeof fz_path_b, "%s/config2", fz_dir);
	snprintf(fz_path_list, sizeof fz_path_list, "%s:%s/missing:%s", fz_path_a, fz_dir,
	    fz_path_b);
	for (size_t i = 0; i < sizeof fz_files / sizeof fz_files[0]; i++) {
		char p[4300];
		snprintf(p, sizeof p, "%s/%s", fz_dir, fz_files[i].f_name);
		fz_write(p, fz_files[i].f_text, strlen(fz_files[i].f_text));
	}
	atexit(fz_cleanup);
	/* a reference to /dev/stdin (or /proc/self/fd/0) reads nothing instead of waiting */
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0 || dup2(nul, 0) < 0)
		fz_fail("cannot put /dev/null on stdin", "");
	/* warnings (proxy-url, interactiveMode) go through the logger, into /dev/null */
	log_set_fd(nul);
}

static int
fz_streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static int
fz_memeq(const char *a, size_t al, const char *b, size_t bl)
{
	return (a == NULL && b == NULL) || (a && b && al == bl && memcmp(a, b, al) == 0);
}

/* What kubeconfig.h promises of a loaded config, and that kubeconfig_dup copies all of it. */
static void
fz_check(const struct kube_config *kc)
{
	if (kc->kc_server == NULL ||
	    (strncmp(kc->kc_server, "https://", 8) != 0 &&
		strncmp(kc->kc_server, "http://", 7) != 0))
		fz_fail("server without a scheme", kc->kc_server ? kc->kc_server : "(null)");
	size_t sl = strlen(kc->kc_server);
	if (sl > 0 && kc->kc_server[sl - 1] == '/')
		fz_fail("server keeps a trailing slash", kc->kc_server);
	if (kc->kc_namespace == NULL || kc->kc_namespace[0] == '\0')
		fz_fail("no namespace", "");
	if (kc->kc_context == NULL || kc->kc_source == NULL || kc->kc_cache == NULL)
		fz_fail("context, source or cache missing", "");
	if (!kc->kc_cert_pem != !kc->kc_key_pem)
		fz_fail("a client certificate without its key, or the other way round", "");
	if (kc->kc_insecure && kc->kc_ca_pem)
		fz_fail("insecure-skip-tls-verify together with a CA", "");
	if ((kc->kc_ca_pem && kc->kc_ca_pem[kc->kc_ca_len] != '\0') ||
	    (kc->kc_cert_pem && kc->kc_cert_pem[kc->kc_cert_len] != '\0') ||
	    (kc->kc_key_pem && kc->kc_key_pem[kc->kc_key_len] != '\0'))
		fz_fail("PEM data not NUL-terminated", "");
	if (kc->kc_exec) {
		const struct kube_exec *e = kc->kc_exec;
		if (e->ke_command == NULL || e->ke_command[0] == '\0' || e->ke_api_version == NULL)
			fz_fail("exec without command or apiVersion", "");
		for (size_t i = 0; i < e->ke_nenv; i++)
			if (strchr(e->ke_env[i], '=') == NULL || e->ke_env[i][0] == '=')
				fz_fail("exec env entry is not NAME=value", e->ke_env[i]);
	}
	(void)kubeconfig_refreshable(kc);

	struct kube_config *d = kubeconfig_dup(kc);
	if (d == NULL || d->kc_cache == NULL || d->kc_cache == kc->kc_cache)
		fz_fail("kubeconfig_dup", "no copy, or a shared cache");
	if (!fz_streq(d->kc_server, kc->kc_server) || !fz_streq(d->kc_token, kc->kc_token) ||
	    !fz_streq(d->kc_token_file, kc->kc_token_file) ||
	    !fz_streq(d->kc_tls_server_name, kc->kc_tls_server_name) ||
	    !fz_streq(d->kc_namespace, kc->kc_namespace) ||
	    !fz_streq(d->kc_context, kc->kc_context) || !fz_streq(d->kc_source, kc->kc_source) ||
	    d->kc_insecure != kc->kc_insecure ||
	    !fz_memeq(d->kc_ca_pem, d->kc_ca_len, kc->kc_ca_pem, kc->kc_ca_len) ||
	    !fz_memeq(d->kc_cert_pem, d->kc_cert_len, kc->kc_cert_pem, kc->kc_cert_len) ||
	    !fz_memeq(d->kc_key_pem, d->kc_key_len, kc->kc_key_pem, kc->kc_key_len) ||
	    !d->kc_exec != !kc->kc_exec)
		fz_fail("kubeconfig_dup", "the copy differs");
	if (kc->kc_exec) {
		const struct kube_exec *a = kc->kc_exec, *b = d->kc_exec;
		int same = fz_streq(a->ke_command, b->ke_command) &&
		    fz_streq(a->ke_api_version, b->ke_api_version) && a->ke_nargs == b->ke_nargs &&
		    a->ke_nenv == b->ke_nenv && a->ke_cluster_info == b->ke_cluster_info;
		for (size_t i = 0; same && i < a->ke_nargs; i++)
			same = fz_streq(a->ke_args[i], b->ke_args[i]);
		for (size_t i = 0; same && i < a->ke_nenv; i++)
			same = fz_streq(a->ke_env[i], b->ke_env[i]);
		if (!same)
			fz_fail("kubeconfig_dup", "the exec plugin's copy differs");
	}
	/* static credentials only: a token file is read and a plugin run by this call otherwise */
	if (d->kc_token_file == NULL && (d->kc_token != NULL || d->kc_exec == NULL)) {
		struct kube_cred cr;
		char err[256] = "";
		if (kubeconfig_credentials(d, FZ_NOW, 0, &cr, err, sizeof err) != CC_OK)
			fz_fail("static credentials refused", err);
		if (!fz_streq(cr.cr_token, kc->kc_token) ||
		    !fz_memeq(cr.cr_cert_pem, cr.cr_cert_len, kc->kc_cert_pem, kc->kc_cert_len) ||
		    !fz_memeq(cr.cr_key_pem, cr.cr_key_len, kc->kc_key_pem, kc->kc_key_len))
			fz_fail("kubeconfig_credentials", "the static credentials differ");
		kubeconfig_cred_clear(&cr);
	}
	kubeconfig_free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_dir[0] == '\0')
		fz_init();
	const char *text = (const char *)data;
	char context[256];
	const char *ctx = NULL;
	size_t cl = strlen(FZ_CTX);
	if (size >= cl && memcmp(text, FZ_CTX, cl) == 0) {
		const char *eol = memchr(text + cl, '\n', size - cl);
		size_t n = (eol ? (size_t)(eol - text) : size) - cl;
		if (n < sizeof context && memchr(text + cl, '\0', n) == NULL) {
			memcpy(context, text + cl, n);
			context[n] = '\0';
			ctx = context;
		}
	}
	const char *paths = fz_path_a;
	const char *cut = NULL;
	size_t sl = strlen(FZ_SPLIT);
	for (size_t i = 0; i + sl <= size; i++) {
		if (memcmp(text + i, FZ_SPLIT, sl) == 0) {
			cut = text + i;
			break;
		}
	}
	if (cut) {
		fz_write(fz_path_a, text, (size_t)(cut - text) + 1);
		fz_write(fz_path_b, cut + sl, size - (size_t)(cut + sl - text));
		paths = fz_path_list;
	} else {
		fz_write(fz_path_a, text, size);
	}

	struct kube_config *kc = NULL;
	char err[512] = "";
	int rc = kubeconfig_load_files(paths, ctx, &kc, err, sizeof err);
	if (rc == CC_OK) {
		if (kc == NULL)
			fz_fail("CC_OK without a config", "");
		fz_check(kc);
	} else {
		if (kc != NULL)
			fz_fail("an error with a config", err);
		if (err[0] == '\0')
			fz_fail("refused without a reason", cc_strerror(rc));
		if (rc != CC_ERR_IO && rc != CC_ERR_PARSE && rc != CC_ERR_CONFIG &&
		    rc != CC_ERR_TOOBIG)
			fz_fail("unexpected return code", cc_strerror(rc));
	}
	kubeconfig_free(kc);
	return 0;
}
