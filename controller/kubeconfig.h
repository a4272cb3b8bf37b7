/*
 * kubeconfig: where the API server is and how to prove who we are.
 *
 * Loading follows kubectl: an explicit path, else $KUBECONFIG (a colon-separated list merged with
 * kubectl's first-wins rule), else ~/.kube/config, else the in-cluster service account. The
 * result is one flat struct kube_config for the chosen context, with every file reference
 * already read and every *-data field already decoded, except the two credentials that change
 * while the process runs: a token file (re-read when it changes, for rotated service-account
 * tokens) and an exec plugin (run on demand, its answer cached until its expirationTimestamp).
 * Those are fetched through kubeconfig_credentials().
 *
 * Nothing in this module logs or puts in an error message a token, a key or a certificate.
 */
#ifndef KUBECONFIG_H
#define KUBECONFIG_H

#include <stddef.h>
#include <time.h>

/* Default location of the service-account files inside a pod. */
#define KUBECONFIG_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* A client.authentication.k8s.io exec plugin (users[].user.exec). */
struct kube_exec {
	char *ke_command;       /* absolute, or a bare name looked up in PATH */
	char **ke_args;         /* ke_nargs arguments, not counting the command */
	size_t ke_nargs;        /* count of ke_args */
	char **ke_env;          /* ke_nenv "NAME=value" strings added to our environment */
	size_t ke_nenv;         /* count of ke_env */
	char *ke_api_version;   /* client.authentication.k8s.io/v1 or /v1beta1 */
	int ke_cluster_info;    /* provideClusterInfo: pass the cluster in KUBERNETES_EXEC_INFO */
};

struct kube_config_cache; /* credentials fetched at run time; private to kubeconfig.c */

struct kube_config {
	char *kc_server;          /* "https://host:port", no trailing slash */
	char *kc_ca_pem;          /* CA bundle bytes, NUL-terminated, or NULL for the system store */
	size_t kc_ca_len;         /* bytes in kc_ca_pem */
	char *kc_cert_pem;        /* static client certificate (PEM) or NULL */
	size_t kc_cert_len;       /* bytes in kc_cert_pem */
	char *kc_key_pem;         /* its private key (PEM) or NULL; never logged */
	size_t kc_key_len;        /* bytes in kc_key_pem */
	char *kc_token;           /* static bearer token or NULL; never logged */
	char *kc_token_file;      /* absolute path of a token file or NULL; wins over kc_token */
	struct kube_exec *kc_exec;/* exec plugin or NULL; used only without a token */
	int kc_insecure;          /* insecure-skip-tls-verify */
	char *kc_tls_server_name; /* name to verify the server certificate against, or NULL */
	char *kc_namespace;       /* the context's namespace, "default" when unset */
	char *kc_context;         /* name of the context used, or NULL in-cluster */
	char *kc_source;          /* the file(s) it came from, or "in-cluster", for messages */
	struct kube_config_cache *kc_cache; /* owned; guarded internally */
};

/*
 * Find and load the configuration as kubectl does (see the top of this file). explicit_path is
 * the --kubeconfig flag or NULL. context overrides current-context when non-NULL. The
 * service-account directory for the in-cluster fallback is $CERTCAST_SERVICEACCOUNT_DIR when set
 * (tests), else KUBECONFIG_SA_DIR.
 *
 * Returns CC_OK with *out set (free with kubeconfig_free), or:
 *   CC_ERR_IO      a file that must exist could not be read,
 *   CC_ERR_PARSE   bad YAML or a field of the wrong type (errbuf has file:line:column),
 *   CC_ERR_CONFIG  a missing context/cluster/user (named in errbuf), bad base64, conflicting
 *                  fields, or no configuration found at all.
 * errbuf (errlen bytes, may be 0) always gets a one-line reason on failure. Thread-safe.
 */
int kubeconfig_load(const char *explicit_path, const char *context, struct kube_config **out,
    char *errbuf, size_t errlen);

/*
 * Load one kubeconfig file or a colon-separated list of them, merged first-wins, as $KUBECONFIG
 * would. Missing files in a list are skipped; a single path must exist. Same results as
 * kubeconfig_load.
 */
int kubeconfig_load_files(const char *paths, const char *context, struct kube_config **out,
    char *errbuf, size_t errlen);

/*
 * The in-cluster configuration: server from KUBERNETES_SERVICE_HOST/_PORT, token file, CA and
 * namespace from sa_dir (NULL for KUBECONFIG_SA_DIR). Returns CC_OK, or CC_ERR_CONFIG when not
 * running in a cluster / CC_ERR_IO when the token cannot be read, with errbuf filled.
 */
int kubeconfig_in_cluster(const char *sa_dir, struct kube_config **out, char *errbuf,
    size_t errlen);

/* A deep copy with an empty credential cache. The caller frees it. */
struct kube_config *kubeconfig_dup(const struct kube_config *cfg);

/* Free everything, including cached credentials. Accepts NULL. */
void kubeconfig_free(struct kube_config *cfg);

/* The credentials to send now. Every field is a copy the caller clears. */
struct kube_cred {
	char *cr_token;      /* bearer token or NULL; never logged */
	char *cr_cert_pem;   /* client certificate or NULL */
	size_t cr_cert_len;  /* bytes */
	char *cr_key_pem;    /* its key or NULL; never logged */
	size_t cr_key_len;   /* bytes */
	time_t cr_expiry;    /* when an exec credential expires, 0 when unknown */
};

/*
 * Fill out with the credentials to use at time now (seconds since the epoch). A token file is
 * re-read when it has changed (inode, size, mtime) or a minute has passed; an exec plugin runs
 * when nothing is cached or the cached answer has expired. force re-reads / re-runs regardless
 * (after a 401). Thread-safe: concurrent callers share one plugin run.
 *
 * Returns CC_OK, or CC_ERR_IO (token file unreadable), CC_ERR_CONFIG (plugin failed, timed out
 * or answered nonsense), with errbuf filled and out zeroed. When a refresh fails but a previous
 * token-file value exists, that value is returned with CC_OK and a warning is logged.
 */
int kubeconfig_credentials(struct kube_config *cfg, time_t now, int force, struct kube_cred *out,
    char *errbuf, size_t errlen);

/*
 * Check an exec plugin's answer (its standard output, json[0..len), need not be
 * NUL-terminated) as kubeconfig_credentials does after running the plugin of cfg (which must
 * have kc_exec): an ExecCredential of the plugin's apiVersion whose status has a token, or a
 * client certificate with its key, or both, and optionally an RFC 3339 expirationTimestamp.
 * Returns CC_OK with the answer cached in cfg, served until it expires at that time (seen
 * against now; already expired is logged); or CC_ERR_CONFIG with errbuf filled, which never
 * quotes the output (it holds the credential), and the cache as it was. Not locked: only for a
 * cfg no other thread uses (kubeconfig_credentials calls it with the cache locked). Public so
 * that tests and fuzzing reach it without running a plugin.
 */
int kubeconfig_exec_answer(struct kube_config *cfg, const char *json, size_t len, time_t now,
    char *errbuf, size_t errlen);

/* 1 when credentials can change at run time (token file or exec plugin), so a 401 may heal. */
int kubeconfig_refreshable(const struct kube_config *cfg);

/* Free the fields of a kube_cred and zero it. Accepts NULL. */
void kubeconfig_cred_clear(struct kube_cred *cr);

/*
 * Parse an RFC 3339 timestamp ("2026-03-05T17:30:20Z", fractions and offsets allowed) into
 * seconds since the epoch. Returns CC_OK or CC_ERR_PARSE. Exposed for tests.
 */
int kubeconfig_parse_time(const char *s, time_t *out);

/*
 * Decode base64 (whitespace ignored, padding optional) into a new NUL-terminated buffer.
 * Returns CC_OK with *out and *outlen set (caller frees), or CC_ERR_PARSE. Exposed for tests.
 */
int kubeconfig_b64decode(const char *in, char **out, size_t *outlen);

#endif
