/*
 * fuzz_execcred: arbitrary bytes as what a kubeconfig's exec credential plugin prints (an
 * ExecCredential: aws, gke-gcloud-auth-plugin, kubelogin, ...), through kubeconfig_exec_answer,
 * the check kubeconfig_credentials runs on the plugin's output, then the credentials it serves
 * from that answer. fuzz_kubeconfig loads the exec entry itself but never runs the plugin, so
 * this is the only way in.
 *
 * The plugin is another program, of another vendor and version: no output may crash, leak or
 * trip a sanitizer, and kubeconfig.h's promises must hold: a refused answer says why without
 * quoting the output (the token, the certificate and its key must not reach a log line), and an
 * accepted one is served as given (the token, certificate and key of its status, and the
 * expiry its expirationTimestamp names) until that time, and not after.
 *
 * Input: the plugin's whole standard output. Its command does not exist, so that asking for
 * credentials once the answer has expired must fail (the plugin would run again). Time is
 * fixed.
 */
#include "cc_err.h"
#include "kubeconfig.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1798761600 /* 2027-01-01T00:00:00Z */
#define FZ_SECRET_MIN 4   /* shorter strings may be words of a message by chance */

static FILE *fz_null;

static void
fz_fail(const char *what, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_execcred: %s (\"%s\", \"%s\")\n", what, a ? a : "(null)",
	    b ? b : "(null)");
	abort();
}

/* status.KEY of the answer when it is a non-empty string, as cJSON reads it; else NULL. */
static const char *
fz_status(const cJSON *root, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "status"), key);
	return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

/*
 * Every refusal's own words, from answers that earn each one: a secret that is a piece of
 * them ("k8s.io") is found in a message without being quoted from the answer.
 */
static char fz_words[4096];

static void
fz_learn_words(struct kube_config *cfg)
{
	static const char *const bad[] = {
	    "[]",
	    "{\"kind\":\"Secret\"}",
	    "{\"kind\":\"ExecCredential\",\"apiVersion\":\"v0\"}",
	    "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\"}",
	    "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
	    "\"status\":{\"clientCertificateData\":\"c\"}}",
	    "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
	    "\"status\":{}}",
	    "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
	    "\"status\":{\"token\":\"t\",\"expirationTimestamp\":5}}",
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[512] = "";
		if (kubeconfig_exec_answer(cfg, bad[i], strlen(bad[i]), FZ_NOW, err, sizeof err) ==
		    CC_OK)
			fz_fail("a canned bad answer was accepted", bad[i], NULL);
		n += (size_t)snprintf(fz_words + n, sizeof fz_words - n, "%s\n", err);
		if (n >= sizeof fz_words)
			abort();
	}
}

static void
fz_not_quoted(const char *err, const char *secret)
{
	if (secret != NULL && strlen(secret) >= FZ_SECRET_MIN && strstr(err, secret) != NULL &&
	    strstr(fz_words, secret) == NULL)
		fz_fail("a refusal quotes a secret of the answer", err, secret);
}

static void
fz_same(const char *what, const char *got, const char *want)
{
	if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0))
		fz_fail(what, got, want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kube_exec exec = {
		.ke_command = (char *)"/nonexistent/certcast-fuzz-credential-plugin",
		.ke_api_version = (char *)"client.authentication.k8s.io/v1",
	};
	static struct kube_config base = {
		.kc_server = (char *)"https://127.0.0.1:6443",
		.kc_exec = &exec,
		.kc_namespace = (char *)"default",
	};
	if (fz_null == NULL) {
		if ((fz_null = fopen("/dev/null", "w")) == NULL)
			abort();
		log_set_fd(fileno(fz_null));
	}
	/* exactly the output's bytes, so that a read past them is caught */
	char *out = malloc(size ? size : 1);
	if (out == NULL)
		abort();
	memcpy(out, data, size);
	cJSON *root = cJSON_ParseWithLength(out, size);
	struct kube_config *cfg = kubeconfig_dup(&base); /* a fresh credential cache */
	if (fz_words[0] == '\0')
		fz_learn_words(cfg);
	char err[512] = "";
	int rc = kubeconfig_exec_answer(cfg, out, size, FZ_NOW, err, sizeof err);
	const char *tok = fz_status(root, "token"), *crt = fz_status(root, "clientCertificateData"),
		   *key = fz_status(root, "clientKeyData");
	if (rc != CC_OK) {
		if (rc != CC_ERR_CONFIG || err[0] == '\0')
			fz_fail("a refusal that is not CC_ERR_CONFIG or says nothing", err,
			    cc_strerror(rc));
		fz_not_quoted(err, tok);
		fz_not_quoted(err, crt);
		fz_not_quoted(err, key);
		goto out;
	}
	if (tok == NULL && crt == NULL)
		fz_fail("an answer without a token or certificate was accepted", err, NULL);
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "status"), "expirationTimestamp");
	time_t want_exp = 0;
	if (cJSON_IsString(exp) && kubeconfig_parse_time(exp->valuestring, &want_exp) != CC_OK)
		fz_fail("an unreadable expirationTimestamp was accepted", exp->valuestring, NULL);
	struct kube_cred cr;
	rc = kubeconfig_credentials(cfg, FZ_NOW, 0, &cr, err, sizeof err);
	if (cJSON_IsString(exp) && want_exp <= FZ_NOW) {
		/* expired: the plugin runs again, and it does not exist */
		if (rc == CC_OK)
			fz_fail("an expired answer was served", exp->valuestring, NULL);
		goto out;
	}
	if (rc != CC_OK)
		fz_fail("an accepted answer is not served", err, NULL);
	fz_same("the token served is not the answer's", cr.cr_token, tok);
	fz_same("the certificate served is not the answer's", cr.cr_cert_pem, crt);
	fz_same("the key served is not the answer's", cr.cr_key_pem, key);
	if (cr.cr_expiry != want_exp || (crt && cr.cr_cert_len != strlen(crt)))
		fz_fail("the expiry or certificate length served differs", exp ? "exp" : "", NULL);
	kubeconfig_cred_clear(&cr);
out:
	kubeconfig_free(cfg);
	cJSON_Delete(root);
	free(out);
	return 0;
}
