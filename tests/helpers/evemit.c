/*
 * evemit: post certcast Events through evrec, for tests/integration/test_events.sh. Not
 * installed; the Makefile builds it as BUILD/helpers/evemit.
 *
 *   evemit [--kubeconfig PATH] --ns NS --name NAME [--uid UID] [--rv RV] [--kind KIND]
 *          [--api-version V] [--warning] --reason R [--action A] [--note TEXT | --note-file F]
 *          [--now-ns N] [--instance I] [--repeat N]
 *
 * Posts the Event --repeat times (default 1) through one writer, at --now-ns (default: now)
 * plus one second per repeat, so repeats fall in the spam filter's window. Prints the writer's
 * counters as one JSON line on stdout. Exit status: 0 when every call returned CC_OK, 1 when
 * one failed (its message on stderr, from er_emit), 2 for bad usage.
 */
#include "cc_err.h"
#include "evrec.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, len = 0;
	char *s = xmalloc(cap);
	size_t n;
	while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2)
			s = xrealloc(s, cap *= 2);
	}
	fclose(f);
	s[len] = '\0';
	return s;
}

static int
usage(const char *why)
{
	fprintf(stderr, "evemit: %s\nusage: evemit [--kubeconfig PATH] --ns NS --name NAME "
			"[--uid UID] [--rv RV] [--kind KIND] [--api-version V] [--warning] "
			"--reason R [--action A] [--note TEXT | --note-file F] [--now-ns N] "
			"[--instance I] [--repeat N]\n",
	    why);
	return 2;
}

int
main(int argc, char **argv)
{
	struct er_ref ref = {0};
	const char *kubeconfig = NULL, *reason = NULL, *action = "Annotate", *instance = NULL;
	char *note = NULL;
	int warning = 0;
	long repeat = 1;
	int64_t now = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--warning") == 0) {
			warning = 1;
			continue;
		}
		if (v == NULL)
			return usage("a flag without its value");
		i++;
		if (strcmp(a, "--kubeconfig") == 0)
			kubeconfig = v;
		else if (strcmp(a, "--ns") == 0)
			ref.ref_ns = v;
		else if (strcmp(a, "--name") == 0)
			ref.ref_name = v;
		else if (strcmp(a, "--uid") == 0)
			ref.ref_uid = v;
		else if (strcmp(a, "--rv") == 0)
			ref.ref_rv = v;
		else if (strcmp(a, "--kind") == 0)
			ref.ref_kind = v;
		else if (strcmp(a, "--api-version") == 0)
			ref.ref_api_version = v;
		else if (strcmp(a, "--reason") == 0)
			reason = v;
		else if (strcmp(a, "--action") == 0)
			action = v;
		else if (strcmp(a, "--instance") == 0)
			instance = v;
		else if (strcmp(a, "--note") == 0 || strcmp(a, "--note-file") == 0) {
			free(note);
			note = a[6] == '\0' ? xstrdup(v) : read_file(v);
			if (note == NULL)
				return usage("cannot read --note-file");
		} else if (strcmp(a, "--now-ns") == 0)
			now = strtoll(v, NULL, 10);
		else if (strcmp(a, "--repeat") == 0)
			repeat = strtol(v, NULL, 10);
		else
			return usage("unknown flag");
	}
	if (ref.ref_ns == NULL || ref.ref_name == NULL || reason == NULL || repeat < 1)
		return usage("--ns, --name and --reason are required");
	if (now == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	}

	struct kube_config *cfg = NULL;
	struct kube_client *kc = NULL;
	struct kube_error kerr;
	char err[1024];
	int rc = kubeconfig_load(kubeconfig, NULL, &cfg, err, sizeof err);
	if (rc != CC_OK) {
		fprintf(stderr, "evemit: kubeconfig: %s\n", err);
		return 1;
	}
	rc = kube_client_new(cfg, NULL, &kc, &kerr);
	kubeconfig_free(cfg);
	if (rc != CC_OK) {
		fprintf(stderr, "evemit: client: %s\n", kerr.ke_message);
		return 1;
	}
	struct er_opts o = {.eo_client = kc, .eo_instance = instance};
	struct er *r = er_new(&o);
	int status = 0;
	for (long k = 0; k < repeat; k++) {
		err[0] = '\0';
		rc = er_emit(r, &ref, warning, reason, action, note, now + k * 1000000000, err,
		    sizeof err);
		if (rc != CC_OK) {
			fprintf(stderr, "evemit: %s (%s)\n", err, cc_strerror(rc));
			status = 1;
		}
	}
	struct er_stats st;
	er_stats(r, &st);
	printf("{\"posted\":%llu,\"failed\":%llu,\"invalid\":%llu,\"duplicate\":%llu,"
	       "\"rateLimited\":%llu,\"truncated\":%llu,\"instance\":\"%s\"}\n",
	    (unsigned long long)st.es_posted, (unsigned long long)st.es_failed,
	    (unsigned long long)st.es_invalid, (unsigned long long)st.es_duplicate,
	    (unsigned long long)st.es_rate_limited, (unsigned long long)st.es_truncated,
	    er_instance(r));
	er_free(r);
	kube_client_free(kc);
	free(note);
	return status;
}
