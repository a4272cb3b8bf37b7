/* kubeconfig: kubectl-compatible loading, in-cluster config, token files and exec plugins. */
#include "kubeconfig.h"

#include "b64.h"
#include "buf.h"
#include "cc_err.h"
#include "log.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <yaml.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define KC_MAX_CONFIG (4 * 1024 * 1024)   /* one kubeconfig file */
#define KC_MAX_PEM (1024 * 1024)          /* a CA bundle, certificate or key file */
#define KC_MAX_TOKEN (64 * 1024)          /* a token file */
#define KC_MAX_EXEC_OUT (1024 * 1024)     /* an exec plugin's stdout */
#define KC_EXEC_TIMEOUT_MS 60000          /* an exec plugin that hangs is killed after this */
#define KC_TOKEN_REREAD_S 60              /* re-read a token file at least this often */

#define KC_EXEC_V1 "client.authentication.k8s.io/v1"
#define KC_EXEC_V1BETA1 "client.authentication.k8s.io/v1beta1"

struct kube_config_cache {
	pthread_mutex_t cc_mu;     /* guards all below; held across a plugin run */
	int cc_have_file;          /* cc_file_token is valid */
	char *cc_file_token;       /* last value read from kc_token_file */
	dev_t cc_dev;              /* identity of the file last read ... */
	ino_t cc_ino;
	off_t cc_size;
	struct timespec cc_mtime;  /* ... used to notice a rotation */
	time_t cc_read_at;         /* when it was read */
	int cc_have_exec;          /* the cc_exec_* fields are valid */
	char *cc_exec_token;       /* plugin answer: token or NULL */
	char *cc_exec_cert;        /* plugin answer: certificate PEM or NULL */
	char *cc_exec_key;         /* plugin answer: key PEM or NULL */
	time_t cc_exec_expiry;     /* 0 when the plugin gave none */
};

/* ---- small helpers ---- */

static int
kc_fail(char *errbuf, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
kc_fail(char *errbuf, size_t errlen, int code, const char *fmt, ...)
{
	if (errbuf && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/*
 * Read a whole file of at most max bytes into a NUL-terminated buffer. Returns CC_OK,
 * CC_ERR_TOOBIG, or CC_ERR_IO with *err_no set (ENOENT lets callers skip missing files).
 */
static int
kc_read_file(const char *path, size_t max, char **out, size_t *outlen, int *err_no)
{
	struct buf b;
	char tmp[8192];
	int rc = CC_OK;
	*out = NULL;
	if (outlen)
		*outlen = 0;
	*err_no = 0;
	buf_init(&b, max);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err_no = errno;
		return CC_ERR_IO;
	}
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err_no = errno;
			rc = CC_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if ((rc = buf_append(&b, tmp, (size_t)n)) != CC_OK)
			goto out;
	}
	if (outlen)
		*outlen = b.b_len;
	*out = b.b_len ? buf_detach(&b) : xstrdup("");
out:
	close(fd);
	buf_free(&b);
	return rc;
}

/* Directory part of path ("." when there is none); the caller frees it. */
static char *
kc_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* path made absolute against dir when relative; NULL stays NULL. The caller frees it. */
static char *
kc_resolve(const char *dir, const char *path)
{
	if (!path)
		return NULL;
	if (path[0] == '/' || !dir)
		return xstrdup(path);
	return xasprintf("%s/%s", dir, path);
}

/*
 * A copy of the n bytes at p with a NUL after them (NULL stays NULL). PEM and CA data are
 * counted bytes: a DER blob or a stray NUL must not cut the copy short of its length.
 */
static char *
kc_memdup(const char *p, size_t n)
{
	if (p == NULL)
		return NULL;
	char *d = xmalloc(n + 1);
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

static void
kc_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void
kc_exec_free(struct kube_exec *e)
{
	if (!e)
		return;
	free(e->ke_command);
	kc_strv_free(e->ke_args, e->ke_nargs);
	kc_strv_free(e->ke_env, e->ke_nenv);
	free(e->ke_api_version);
	free(e);
}

static struct kube_exec *
kc_exec_dup(const struct kube_exec *e)
{
	if (!e)
		return NULL;
	struct kube_exec *d = xcalloc(1, sizeof *d);
	d->ke_command = xstrdup(e->ke_command);
	d->ke_api_version = xstrdup(e->ke_api_version);
	d->ke_cluster_info = e->ke_cluster_info;
	d->ke_nargs = e->ke_nargs;
	d->ke_args = xcalloc(e->ke_nargs + 1, sizeof *d->ke_args);
	for (size_t i = 0; i < e->ke_nargs; i++)
		d->ke_args[i] = xstrdup(e->ke_args[i]);
	d->ke_nenv = e->ke_nenv;
	d->ke_env = xcalloc(e->ke_nenv + 1, sizeof *d->ke_env);
	for (size_t i = 0; i < e->ke_nenv; i++)
		d->ke_env[i] = xstrdup(e->ke_env[i]);
	return d;
}

/* ---- base64 and time ---- */

int
kubeconfig_b64decode(const char *in, char **out, size_t *outlen)
{
	size_t n = strlen(in), len = 0;
	char *res = xmalloc(B64_DECODED_MAX(n) + 1);
	*out = NULL;
	*outlen = 0;
	if (!b64_decode(in, n, (unsigned char *)res, &len, B64_PAD_OPTIONAL)) {
		free(res);
		return CC_ERR_PARSE;
	}
	res[len] = '\0';
	*out = res;
	*outlen = len;
	return CC_OK;
}

static char *
kc_b64encode(const char *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
	return out;
}

/* Parse exactly n digits at *p, advancing it. */
static int
kc_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
kubeconfig_parse_time(const char *s, time_t *out)
{
	const char *p = s;
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	if (!s || kc_digits(&p, 4, &y) || *p++ != '-' || kc_digits(&p, 2, &mo) || *p++ != '-' ||
	    kc_digits(&p, 2, &d))
		return CC_ERR_PARSE;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return CC_ERR_PARSE;
	p++;
	if (kc_digits(&p, 2, &h) || *p++ != ':' || kc_digits(&p, 2, &mi) || *p++ != ':' ||
	    kc_digits(&p, 2, &se))
		return CC_ERR_PARSE;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return CC_ERR_PARSE;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (kc_digits(&p, 2, &oh) || *p++ != ':' || kc_digits(&p, 2, &om) || oh > 23 || om > 59)
			return CC_ERR_PARSE;
	} else {
		return CC_ERR_PARSE;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return CC_ERR_PARSE;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
		return CC_ERR_PARSE;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
	    .tm_min = mi, .tm_sec = se};
	time_t t = timegm(&tm);
	*out = t - (time_t)sign * (oh * 3600 + om * 60);
	return CC_OK;
}

/* ---- YAML reading ---- */

/* One file being read: where errors point. */
struct kc_file {
	const char *kf_path;     /* as given */
	char *kf_dir;            /* for resolving relative paths */
	yaml_document_t *kf_doc; /* parsed document */
	char *kf_err;            /* error buffer */
	size_t kf_errlen;        /* its size */
};

static int
kc_node_fail(struct kc_file *f, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A structural error at node n: "file:line:col: message", CC_ERR_PARSE. */
static int
kc_node_fail(struct kc_file *f, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return kc_fail(f->kf_err, f->kf_errlen, CC_ERR_PARSE, "%s:%lu:%lu: %s", f->kf_path,
	    n ? (unsigned long)n->start_mark.line + 1 : 0UL,
	    n ? (unsigned long)n->start_mark.column + 1 : 0UL, msg);
}

static yaml_node_t *
kc_node(struct kc_file *f, int idx)
{
	return yaml_document_get_node(f->kf_doc, idx);
}

/* A plain null ("", "~", "null") stands for an absent value, as in the Go YAML decoder. */
static int
kc_is_null(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	const char *v = (const char *)n->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* The value under key in mapping map, or NULL. */
static yaml_node_t *
kc_get(struct kc_file *f, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = kc_node(f, p->key);
		if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
			return kc_node(f, p->value);
	}
	return NULL;
}

/* A string field: *out is a copy, or NULL when absent or null. */
static int
kc_str(struct kc_file *f, yaml_node_t *map, const char *key, char **out)
{
	*out = NULL;
	yaml_node_t *n = kc_get(f, map, key);
	if (!n || kc_is_null(n))
		return CC_OK;
	if (n->type != YAML_SCALAR_NODE)
		return kc_node_fail(f, n, "%s must be a string", key);
	*out = xstrdup((const char *)n->data.scalar.value);
	return CC_OK;
}

static int
kc_bool(struct kc_file *f, yaml_node_t *map, const char *key, int *out)
{
	*out = 0;
	yaml_node_t *n = kc_get(f, map, key);
	if (!n || kc_is_null(n))
		return CC_OK;
	const char *v = n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0)
		*out = 1;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0)
		*out = 0;
	else
		return kc_node_fail(f, n, "%s must be true or false", key);
	return CC_OK;
}

/* A mapping field; *out NULL when absent or null. */
static int
kc_map(struct kc_file *f, yaml_node_t *map, const char *key, yaml_node_t **out)
{
	*out = NULL;
	yaml_node_t *n = kc_get(f, map, key);
	if (!n || kc_is_null(n))
		return CC_OK;
	if (n->type != YAML_MAPPING_NODE)
		return kc_node_fail(f, n, "%s must be a mapping", key);
	*out = n;
	return CC_OK;
}

static int
kc_seq(struct kc_file *f, yaml_node_t *map, const char *key, yaml_node_t **out)
{
	*out = NULL;
	yaml_node_t *n = kc_get(f, map, key);
	if (!n || kc_is_null(n))
		return CC_OK;
	if (n->type != YAML_SEQUENCE_NODE)
		return kc_node_fail(f, n, "%s must be a list", key);
	*out = n;
	return CC_OK;
}

/* ---- merged view of one or more files ---- */

struct kc_cluster {
	char *cl_name;      /* entry name */
	char *cl_file;      /* file it came from */
	char *cl_server;    /* server URL */
	char *cl_ca_file;   /* resolved path or NULL */
	char *cl_ca_data;   /* base64 or NULL */
	int cl_insecure;    /* insecure-skip-tls-verify */
	char *cl_tls_name;  /* tls-server-name */
	int cl_proxy;       /* proxy-url was set (ignored) */
};

struct kc_user {
	char *us_name;        /* entry name */
	char *us_file;        /* file it came from */
	char *us_cert_file;   /* resolved or NULL */
	char *us_cert_data;   /* base64 or NULL */
	char *us_key_file;    /* resolved or NULL */
	char *us_key_data;    /* base64 or NULL */
	char *us_token;       /* literal token or NULL */
	char *us_token_file;  /* resolved or NULL */
	struct kube_exec *us_exec; /* or NULL */
	int us_basic;         /* username/password present (unsupported) */
	int us_auth_provider; /* auth-provider present (unsupported) */
};

struct kc_context {
	char *cx_name;      /* entry name */
	char *cx_file;      /* file it came from */
	char *cx_cluster;   /* cluster name */
	char *cx_user;      /* user name or NULL */
	char *cx_namespace; /* or NULL */
};

struct kc_merged {
	struct kc_cluster *m_clusters; /* m_ncl entries */
	size_t m_ncl;
	struct kc_user *m_users;       /* m_nus entries */
	size_t m_nus;
	struct kc_context *m_ctxs;     /* m_ncx entries */
	size_t m_ncx;
	char *m_current;               /* first non-empty current-context */
	struct buf m_sources;          /* files read, ':'-separated, for messages */
	int m_nfiles;                  /* files actually read */
};

static void
kc_merged_free(struct kc_merged *m)
{
	for (size_t i = 0; i < m->m_ncl; i++) {
		struct kc_cluster *c = &m->m_clusters[i];
		free(c->cl_name);
		free(c->cl_file);
		free(c->cl_server);
		free(c->cl_ca_file);
		free(c->cl_ca_data);
		free(c->cl_tls_name);
	}
	free(m->m_clusters);
	for (size_t i = 0; i < m->m_nus; i++) {
		struct kc_user *u = &m->m_users[i];
		free(u->us_name);
		free(u->us_file);
		free(u->us_cert_file);
		free(u->us_cert_data);
		free(u->us_key_file);
		free(u->us_key_data);
		free(u->us_token);
		free(u->us_token_file);
		kc_exec_free(u->us_exec);
	}
	free(m->m_users);
	for (size_t i = 0; i < m->m_ncx; i++) {
		struct kc_context *c = &m->m_ctxs[i];
		free(c->cx_name);
		free(c->cx_file);
		free(c->cx_cluster);
		free(c->cx_user);
		free(c->cx_namespace);
	}
	free(m->m_ctxs);
	free(m->m_current);
	buf_free(&m->m_sources);
}

static struct kc_cluster *
kc_find_cluster(struct kc_merged *m, const char *name)
{
	for (size_t i = 0; i < m->m_ncl; i++)
		if (strcmp(m->m_clusters[i].cl_name, name) == 0)
			return &m->m_clusters[i];
	return NULL;
}

static struct kc_user *
kc_find_user(struct kc_merged *m, const char *name)
{
	for (size_t i = 0; i < m->m_nus; i++)
		if (strcmp(m->m_users[i].us_name, name) == 0)
			return &m->m_users[i];
	return NULL;
}

static struct kc_context *
kc_find_context(struct kc_merged *m, const char *name)
{
	for (size_t i = 0; i < m->m_ncx; i++)
		if (strcmp(m->m_ctxs[i].cx_name, name) == 0)
			return &m->m_ctxs[i];
	return NULL;
}

/*
 * Iterate a named list ("clusters", "users", "contexts"): for each item check it is a mapping
 * with a string name and a mapping body under bodykey, then call fn unless an earlier file
 * already defined that name (kubectl: the first definition wins).
 */
typedef int (*kc_item_fn)(struct kc_file *f, struct kc_merged *m, const char *name,
    yaml_node_t *body);

static int
kc_each_named(struct kc_file *f, struct kc_merged *m, yaml_node_t *root, const char *list,
    const char *bodykey, int (*exists)(struct kc_merged *, const char *), kc_item_fn fn)
{
	yaml_node_t *seq;
	int rc = kc_seq(f, root, list, &seq);
	if (rc != CC_OK || !seq)
		return rc;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *item = kc_node(f, *it);
		if (!item || item->type != YAML_MAPPING_NODE)
			return kc_node_fail(f, item, "each entry of %s must be a mapping", list);
		char *name = NULL;
		yaml_node_t *body = NULL;
		if ((rc = kc_str(f, item, "name", &name)) != CC_OK)
			return rc;
		if (!name || !name[0]) {
			free(name);
			return kc_node_fail(f, item, "an entry of %s has no name", list);
		}
		if ((rc = kc_map(f, item, bodykey, &body)) != CC_OK) {
			free(name);
			return rc;
		}
		if (!exists(m, name))
			rc = fn(f, m, name, body);
		free(name);
		if (rc != CC_OK)
			return rc;
	}
	return CC_OK;
}

static int
kc_has_cluster(struct kc_merged *m, const char *name)
{
	return kc_find_cluster(m, name) != NULL;
}

static int
kc_has_user(struct kc_merged *m, const char *name)
{
	return kc_find_user(m, name) != NULL;
}

static int
kc_has_context(struct kc_merged *m, const char *name)
{
	return kc_find_context(m, name) != NULL;
}

static int
kc_add_cluster(struct kc_file *f, struct kc_merged *m, const char *name, yaml_node_t *body)
{
	struct kc_cluster c = {.cl_name = xstrdup(name), .cl_file = xstrdup(f->kf_path)};
	char *ca = NULL, *proxy = NULL;
	int rc;
	if ((rc = kc_str(f, body, "server", &c.cl_server)) != CC_OK ||
	    (rc = kc_str(f, body, "certificate-authority", &ca)) != CC_OK ||
	    (rc = kc_str(f, body, "certificate-authority-data", &c.cl_ca_data)) != CC_OK ||
	    (rc = kc_bool(f, body, "insecure-skip-tls-verify", &c.cl_insecure)) != CC_OK ||
	    (rc = kc_str(f, body, "tls-server-name", &c.cl_tls_name)) != CC_OK ||
	    (rc = kc_str(f, body, "proxy-url", &proxy)) != CC_OK)
		goto out;
	c.cl_ca_file = kc_resolve(f->kf_dir, ca);
	c.cl_proxy = proxy && proxy[0];
	m->m_clusters = xrealloc(m->m_clusters, (m->m_ncl + 1) * sizeof *m->m_clusters);
	m->m_clusters[m->m_ncl++] = c;
	memset(&c, 0, sizeof c);
out:
	free(ca);
	free(proxy);
	free(c.cl_name);
	free(c.cl_file);
	free(c.cl_server);
	free(c.cl_ca_data);
	free(c.cl_tls_name);
	return rc;
}

static int
kc_parse_exec(struct kc_file *f, const char *user, yaml_node_t *n, struct kube_exec **out)
{
	struct kube_exec *e = xcalloc(1, sizeof *e);
	yaml_node_t *args = NULL, *env = NULL;
	char *interactive = NULL;
	int rc;
	*out = NULL;
	if ((rc = kc_str(f, n, "command", &e->ke_command)) != CC_OK ||
	    (rc = kc_str(f, n, "apiVersion", &e->ke_api_version)) != CC_OK ||
	    (rc = kc_bool(f, n, "provideClusterInfo", &e->ke_cluster_info)) != CC_OK ||
	    (rc = kc_str(f, n, "interactiveMode", &interactive)) != CC_OK ||
	    (rc = kc_seq(f, n, "args", &args)) != CC_OK ||
	    (rc = kc_seq(f, n, "env", &env)) != CC_OK)
		goto out;
	if (!e->ke_command || !e->ke_command[0]) {
		rc = kc_node_fail(f, n, "user \"%s\": exec has no command", user);
		goto out;
	}
	if (!e->ke_api_version || (strcmp(e->ke_api_version, KC_EXEC_V1) != 0 &&
	    strcmp(e->ke_api_version, KC_EXEC_V1BETA1) != 0)) {
		rc = kc_node_fail(f, n, "user \"%s\": exec apiVersion must be %s or %s", user,
		    KC_EXEC_V1, KC_EXEC_V1BETA1);
		goto out;
	}
	if (interactive && strcmp(interactive, "Always") == 0)
		log_warn("user \"%s\" in %s: exec interactiveMode Always cannot be honoured; the "
		    "plugin runs without a terminal", user, f->kf_path);
	/* Only a command that names a relative path is taken relative to the kubeconfig. */
	if (e->ke_command[0] != '/' && strchr(e->ke_command, '/')) {
		char *abs = kc_resolve(f->kf_dir, e->ke_command);
		free(e->ke_command);
		e->ke_command = abs;
	}
	size_t na = args ? (size_t)(args->data.sequence.items.top - args->data.sequence.items.start) : 0;
	e->ke_args = xcalloc(na + 1, sizeof *e->ke_args);
	for (size_t i = 0; i < na; i++) {
		yaml_node_t *a = kc_node(f, args->data.sequence.items.start[i]);
		if (!a || a->type != YAML_SCALAR_NODE) {
			rc = kc_node_fail(f, a, "user \"%s\": exec args must be strings", user);
			goto out;
		}
		e->ke_args[e->ke_nargs++] = xstrdup((const char *)a->data.scalar.value);
	}
	size_t ne = env ? (size_t)(env->data.sequence.items.top - env->data.sequence.items.start) : 0;
	e->ke_env = xcalloc(ne + 1, sizeof *e->ke_env);
	for (size_t i = 0; i < ne; i++) {
		yaml_node_t *v = kc_node(f, env->data.sequence.items.start[i]);
		char *name = NULL, *value = NULL;
		if (!v || v->type != YAML_MAPPING_NODE) {
			rc = kc_node_fail(f, v, "user \"%s\": exec env entries must be mappings", user);
			goto out;
		}
		if ((rc = kc_str(f, v, "name", &name)) != CC_OK ||
		    (rc = kc_str(f, v, "value", &value)) != CC_OK) {
			free(name);
			free(value);
			goto out;
		}
		if (!name || !name[0] || strchr(name, '=')) {
			free(name);
			free(value);
			rc = kc_node_fail(f, v, "user \"%s\": exec env entry needs a valid name", user);
			goto out;
		}
		e->ke_env[e->ke_nenv++] = xasprintf("%s=%s", name, value ? value : "");
		free(name);
		free(value);
	}
	*out = e;
	e = NULL;
out:
	free(interactive);
	kc_exec_free(e);
	return rc;
}

static int
kc_add_user(struct kc_file *f, struct kc_merged *m, const char *name, yaml_node_t *body)
{
	struct kc_user u = {.us_name = xstrdup(name), .us_file = xstrdup(f->kf_path)};
	char *cert = NULL, *key = NULL, *tokfile = NULL, *user = NULL, *pass = NULL;
	yaml_node_t *exec = NULL, *ap = NULL;
	int rc;
	if ((rc = kc_str(f, body, "client-certificate", &cert)) != CC_OK ||
	    (rc = kc_str(f, body, "client-certificate-data", &u.us_cert_data)) != CC_OK ||
	    (rc = kc_str(f, body, "client-key", &key)) != CC_OK ||
	    (rc = kc_str(f, body, "client-key-data", &u.us_key_data)) != CC_OK ||
	    (rc = kc_str(f, body, "token", &u.us_token)) != CC_OK ||
	    (rc = kc_str(f, body, "tokenFile", &tokfile)) != CC_OK ||
	    (rc = kc_str(f, body, "username", &user)) != CC_OK ||
	    (rc = kc_str(f, body, "password", &pass)) != CC_OK ||
	    (rc = kc_map(f, body, "exec", &exec)) != CC_OK ||
	    (rc = kc_map(f, body, "auth-provider", &ap)) != CC_OK)
		goto out;
	if (exec && (rc = kc_parse_exec(f, name, exec, &u.us_exec)) != CC_OK)
		goto out;
	u.us_cert_file = kc_resolve(f->kf_dir, cert);
	u.us_key_file = kc_resolve(f->kf_dir, key);
	u.us_token_file = kc_resolve(f->kf_dir, tokfile);
	u.us_basic = (user && user[0]) || (pass && pass[0]);
	u.us_auth_provider = ap != NULL;
	m->m_users = xrealloc(m->m_users, (m->m_nus + 1) * sizeof *m->m_users);
	m->m_users[m->m_nus++] = u;
	memset(&u, 0, sizeof u);
out:
	free(cert);
	free(key);
	free(tokfile);
	free(user);
	free(pass);
	free(u.us_name);
	free(u.us_file);
	free(u.us_cert_data);
	free(u.us_key_data);
	free(u.us_token);
	kc_exec_free(u.us_exec);
	return rc;
}

static int
kc_add_context(struct kc_file *f, struct kc_merged *m, const char *name, yaml_node_t *body)
{
	struct kc_context c = {.cx_name = xstrdup(name), .cx_file = xstrdup(f->kf_path)};
	int rc;
	if ((rc = kc_str(f, body, "cluster", &c.cx_cluster)) != CC_OK ||
	    (rc = kc_str(f, body, "user", &c.cx_user)) != CC_OK ||
	    (rc = kc_str(f, body, "namespace", &c.cx_namespace)) != CC_OK)
		goto out;
	m->m_ctxs = xrealloc(m->m_ctxs, (m->m_ncx + 1) * sizeof *m->m_ctxs);
	m->m_ctxs[m->m_ncx++] = c;
	memset(&c, 0, sizeof c);
out:
	free(c.cx_name);
	free(c.cx_file);
	free(c.cx_cluster);
	free(c.cx_user);
	free(c.cx_namespace);
	return rc;
}

/*
 * Read one file into m. A missing file is skipped when !must_exist (as kubectl skips missing
 * entries of $KUBECONFIG).
 */
static int
kc_merge_file(const char *path, int must_exist, struct kc_merged *m, char *errbuf, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int err_no = 0;
	yaml_parser_t parser;
	yaml_document_t doc;
	int have_parser = 0, have_doc = 0;
	struct kc_file f = {.kf_path = path, .kf_err = errbuf, .kf_errlen = errlen};
	int rc = kc_read_file(path, KC_MAX_CONFIG, &text, &len, &err_no);
	if (rc == CC_ERR_IO && err_no == ENOENT && !must_exist)
		return CC_OK;
	if (rc == CC_ERR_TOOBIG)
		return kc_fail(errbuf, errlen, CC_ERR_TOOBIG, "%s: larger than %d bytes", path,
		    KC_MAX_CONFIG);
	if (rc != CC_OK)
		return kc_fail(errbuf, errlen, CC_ERR_IO, "%s: %s", path, strerror(err_no));
	if (m->m_sources.b_len)
		buf_append_str(&m->m_sources, ":");
	buf_append_str(&m->m_sources, path);
	m->m_nfiles++;

	if (!yaml_parser_initialize(&parser))
		fatalx("yaml_parser_initialize failed");
	have_parser = 1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		/* libyaml names where it gave up and, for unclosed constructs, where they began. */
		char began[128] = "";
		if (parser.context)
			snprintf(began, sizeof began, " %s that began at %lu:%lu", parser.context,
			    (unsigned long)parser.context_mark.line + 1,
			    (unsigned long)parser.context_mark.column + 1);
		rc = kc_fail(errbuf, errlen, CC_ERR_PARSE, "%s:%lu:%lu: %s%s", path,
		    (unsigned long)parser.problem_mark.line + 1,
		    (unsigned long)parser.problem_mark.column + 1,
		    parser.problem ? parser.problem : "invalid YAML", began);
		goto out;
	}
	have_doc = 1;
	f.kf_doc = &doc;
	f.kf_dir = kc_dirname(path);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || kc_is_null(root))
		goto out; /* an empty file is an empty config */
	if (root->type != YAML_MAPPING_NODE) {
		rc = kc_node_fail(&f, root, "a kubeconfig must be a mapping");
		goto out;
	}
	char *cur = NULL;
	if ((rc = kc_str(&f, root, "current-context", &cur)) != CC_OK)
		goto out;
	if (cur && cur[0] && !m->m_current)
		m->m_current = cur;
	else
		free(cur);
	if ((rc = kc_each_named(&f, m, root, "clusters", "cluster", kc_has_cluster,
		 kc_add_cluster)) != CC_OK ||
	    (rc = kc_each_named(&f, m, root, "users", "user", kc_has_user, kc_add_user)) != CC_OK ||
	    (rc = kc_each_named(&f, m, root, "contexts", "context", kc_has_context,
		 kc_add_context)) != CC_OK)
		goto out;
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	free(f.kf_dir);
	free(text);
	return rc;
}

/* Read a file that a config entry names; errors mention what it is for and whose it is. */
static int
kc_read_ref(const char *path, size_t max, const char *what, const char *owner, char **out,
    size_t *outlen, char *errbuf, size_t errlen)
{
	int err_no;
	int rc = kc_read_file(path, max, out, outlen, &err_no);
	if (rc == CC_ERR_TOOBIG)
		return kc_fail(errbuf, errlen, CC_ERR_CONFIG, "%s: %s %s is larger than %zu bytes",
		    owner, what, path, max);
	if (rc != CC_OK)
		return kc_fail(errbuf, errlen, CC_ERR_IO, "%s: cannot read %s %s: %s", owner, what,
		    path, strerror(err_no));
	return CC_OK;
}

/* Decode one *-data field; the value never goes into the message. */
static int
kc_decode_ref(const char *b64, const char *what, const char *owner, char **out, size_t *outlen,
    char *errbuf, size_t errlen)
{
	if (kubeconfig_b64decode(b64, out, outlen) != CC_OK)
		return kc_fail(errbuf, errlen, CC_ERR_CONFIG, "%s: %s is not valid base64", owner,
		    what);
	return CC_OK;
}

static struct kube_config_cache *
kc_cache_new(void)
{
	struct kube_config_cache *cc = xcalloc(1, sizeof *cc);
	pthread_mutex_init(&cc->cc_mu, NULL);
	return cc;
}

static void
kc_cache_free(struct kube_config_cache *cc)
{
	if (!cc)
		return;
	free(cc->cc_file_token);
	free(cc->cc_exec_token);
	free(cc->cc_exec_cert);
	free(cc->cc_exec_key);
	pthread_mutex_destroy(&cc->cc_mu);
	free(cc);
}

/* Turn the merged files into the config for one context. */
static int
kc_resolve_context(struct kc_merged *m, const char *context, struct kube_config **out,
    char *errbuf, size_t errlen)
{
	const char *src = m->m_sources.b_len ? m->m_sources.b_data : "(no file)";
	const char *name = context && context[0] ? context : m->m_current;
	struct kube_config *cfg = NULL;
	char owner[320];
	int rc;
	if (!name)
		return kc_fail(errbuf, errlen, CC_ERR_CONFIG, "%s: no current-context is set", src);
	struct kc_context *cx = kc_find_context(m, name);
	if (!cx)
		return kc_fail(errbuf, errlen, CC_ERR_CONFIG, "%s: context \"%s\" not found", src, name);
	if (!cx->cx_cluster || !cx->cx_cluster[0])
		return kc_fail(errbuf, errlen, CC_ERR_CONFIG, "%s: context \"%s\" names no cluster",
		    cx->cx_file, name);
	struct kc_cluster *cl = kc_find_cluster(m, cx->cx_cluster);
	if (!cl)
		return kc_fail(errbuf, errlen, CC_ERR_CONFIG,
		    "%s: cluster \"%s\" (used by context \"%s\") not found", src, cx->cx_cluster, name);
	struct kc_user *us = NULL;
	if (cx->cx_user && cx->cx_user[0]) {
		us = kc_find_user(m, cx->cx_user);
		if (!us)
			return kc_fail(errbuf, errlen, CC_ERR_CONFIG,
			    "%s: user \"%s\" (used by context \"%s\") not found", src, cx->cx_user, name);
	}

	cfg = xcalloc(1, sizeof *cfg);
	cfg->kc_cache = kc_cache_new();
	cfg->kc_context = xstrdup(name);
	cfg->kc_source = xstrdup(src);
	cfg->kc_namespace = xstrdup(cx->cx_namespace && cx->cx_namespace[0] ? cx->cx_namespace : "default");

	snprintf(owner, sizeof owner, "%s: cluster \"%s\"", cl->cl_file, cl->cl_name);
	if (!cl->cl_server || !cl->cl_server[0]) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "%s has no server", owner);
		goto out;
	}
	if (strncmp(cl->cl_server, "https://", 8) != 0 && strncmp(cl->cl_server, "http://", 7) != 0) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG,
		    "%s: server must start with https:// or http://", owner);
		goto out;
	}
	/* "https://" or "https:///" alone would be stripped to "https:" below: no host at all */
	const char *host = cl->cl_server + (cl->cl_server[4] == 's' ? 8 : 7);
	if (host[0] == '\0' || host[0] == '/') {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "%s: server \"%s\" names no host",
		    owner, cl->cl_server);
		goto out;
	}
	cfg->kc_server = xstrdup(cl->cl_server);
	for (size_t n = strlen(cfg->kc_server); n > 0 && cfg->kc_server[n - 1] == '/'; n--)
		cfg->kc_server[n - 1] = '\0';
	if (cl->cl_ca_data && cl->cl_ca_data[0]) {
		if (cl->cl_ca_file)
			log_warn("%s: both certificate-authority and -data are set; using the data", owner);
		rc = kc_decode_ref(cl->cl_ca_data, "certificate-authority-data", owner, &cfg->kc_ca_pem,
		    &cfg->kc_ca_len, errbuf, errlen);
	} else if (cl->cl_ca_file) {
		rc = kc_read_ref(cl->cl_ca_file, KC_MAX_PEM, "certificate-authority", owner,
		    &cfg->kc_ca_pem, &cfg->kc_ca_len, errbuf, errlen);
	} else {
		rc = CC_OK;
	}
	if (rc != CC_OK)
		goto out;
	cfg->kc_insecure = cl->cl_insecure;
	if (cfg->kc_insecure && cfg->kc_ca_pem) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG,
		    "%s: insecure-skip-tls-verify cannot be combined with a certificate authority", owner);
		goto out;
	}
	cfg->kc_tls_server_name = cl->cl_tls_name && cl->cl_tls_name[0] ? xstrdup(cl->cl_tls_name) : NULL;
	if (cl->cl_proxy)
		log_warn("%s: proxy-url is not supported and is ignored", owner);

	if (!us) {
		rc = CC_OK;
		goto done;
	}
	snprintf(owner, sizeof owner, "%s: user \"%s\"", us->us_file, us->us_name);
	if (us->us_auth_provider) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG,
		    "%s: auth-provider is not supported; use an exec plugin", owner);
		goto out;
	}
	if (us->us_basic) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG,
		    "%s: username/password (basic auth) is not supported", owner);
		goto out;
	}
	rc = CC_OK;
	if (us->us_cert_data && us->us_cert_data[0])
		rc = kc_decode_ref(us->us_cert_data, "client-certificate-data", owner,
		    &cfg->kc_cert_pem, &cfg->kc_cert_len, errbuf, errlen);
	else if (us->us_cert_file)
		rc = kc_read_ref(us->us_cert_file, KC_MAX_PEM, "client-certificate", owner,
		    &cfg->kc_cert_pem, &cfg->kc_cert_len, errbuf, errlen);
	if (rc != CC_OK)
		goto out;
	if (us->us_key_data && us->us_key_data[0])
		rc = kc_decode_ref(us->us_key_data, "client-key-data", owner, &cfg->kc_key_pem,
		    &cfg->kc_key_len, errbuf, errlen);
	else if (us->us_key_file)
		rc = kc_read_ref(us->us_key_file, KC_MAX_PEM, "client-key", owner, &cfg->kc_key_pem,
		    &cfg->kc_key_len, errbuf, errlen);
	if (rc != CC_OK)
		goto out;
	if (!cfg->kc_cert_pem != !cfg->kc_key_pem) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "%s: %s without %s", owner,
		    cfg->kc_cert_pem ? "client-certificate" : "client-key",
		    cfg->kc_cert_pem ? "client-key" : "client-certificate");
		goto out;
	}
	cfg->kc_token = us->us_token && us->us_token[0] ? xstrdup(us->us_token) : NULL;
	cfg->kc_token_file = xstrdup(us->us_token_file);
	cfg->kc_exec = kc_exec_dup(us->us_exec);
	rc = CC_OK;
done:
	*out = cfg;
	cfg = NULL;
out:
	kubeconfig_free(cfg);
	return rc;
}

int
kubeconfig_load_files(const char *paths, const char *context, struct kube_config **out,
    char *errbuf, size_t errlen)
{
	struct kc_merged m = {0};
	char *list = xstrdup(paths);
	char *save = NULL;
	int single = strchr(paths, ':') == NULL;
	int rc = CC_OK;
	*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	buf_init(&m.m_sources, 64 * 1024);
	for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		if (!p[0])
			continue;
		if ((rc = kc_merge_file(p, single, &m, errbuf, errlen)) != CC_OK)
			goto out;
	}
	if (m.m_nfiles == 0) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "none of the kubeconfig files exist: %s",
		    paths);
		goto out;
	}
	rc = kc_resolve_context(&m, context, out, errbuf, errlen);
out:
	kc_merged_free(&m);
	free(list);
	return rc;
}

int
kubeconfig_in_cluster(const char *sa_dir, struct kube_config **out, char *errbuf, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct kube_config *cfg = NULL;
	char *path = NULL, *data = NULL;
	size_t len = 0;
	int err_no, rc;
	*out = NULL;
	if (!sa_dir)
		sa_dir = KUBECONFIG_SA_DIR;
	if (!host || !host[0] || !port || !port[0])
		return kc_fail(errbuf, errlen, CC_ERR_CONFIG,
		    "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are "
		    "not set");
	char *end = NULL;
	errno = 0;
	long pn = strtol(port, &end, 10);
	if (errno || end == port || *end || pn < 1 || pn > 65535)
		return kc_fail(errbuf, errlen, CC_ERR_CONFIG, "KUBERNETES_SERVICE_PORT \"%.16s\" is not "
		    "a port number", port);

	cfg = xcalloc(1, sizeof *cfg);
	cfg->kc_cache = kc_cache_new();
	/* An IPv6 service address needs brackets in a URL. */
	cfg->kc_server = strchr(host, ':') ? xasprintf("https://[%s]:%ld", host, pn)
					   : xasprintf("https://%s:%ld", host, pn);
	cfg->kc_source = xasprintf("in-cluster (%s)", sa_dir);

	path = xasprintf("%s/token", sa_dir);
	rc = kc_read_file(path, KC_MAX_TOKEN, &data, &len, &err_no);
	if (rc != CC_OK) {
		rc = kc_fail(errbuf, errlen, rc == CC_ERR_TOOBIG ? CC_ERR_CONFIG : CC_ERR_IO,
		    "in-cluster: cannot read the service-account token %s: %s", path,
		    rc == CC_ERR_TOOBIG ? "too large" : strerror(err_no));
		goto out;
	}
	free(data);
	data = NULL;
	cfg->kc_token_file = path;
	path = NULL;

	path = xasprintf("%s/ca.crt", sa_dir);
	if (kc_read_file(path, KC_MAX_PEM, &cfg->kc_ca_pem, &cfg->kc_ca_len, &err_no) != CC_OK) {
		log_warn("in-cluster: no usable CA bundle at %s (%s); using the system store", path,
		    err_no ? strerror(err_no) : "too large");
		free(cfg->kc_ca_pem);
		cfg->kc_ca_pem = NULL;
		cfg->kc_ca_len = 0;
	}
	free(path);
	path = xasprintf("%s/namespace", sa_dir);
	if (kc_read_file(path, 4096, &data, &len, &err_no) == CC_OK) {
		char *s = data;
		while (*s && isspace((unsigned char)*s))
			s++;
		size_t n = strlen(s);
		while (n && isspace((unsigned char)s[n - 1]))
			n--;
		if (n)
			cfg->kc_namespace = xstrndup(s, n);
	}
	if (!cfg->kc_namespace)
		cfg->kc_namespace = xstrdup("default");
	*out = cfg;
	cfg = NULL;
	rc = CC_OK;
out:
	free(path);
	free(data);
	kubeconfig_free(cfg);
	return rc;
}

int
kubeconfig_load(const char *explicit_path, const char *context, struct kube_config **out,
    char *errbuf, size_t errlen)
{
	*out = NULL;
	if (explicit_path && explicit_path[0]) {
		/* --kubeconfig names exactly one file, which must exist. */
		struct kc_merged m = {0};
		buf_init(&m.m_sources, 64 * 1024);
		int rc = kc_merge_file(explicit_path, 1, &m, errbuf, errlen);
		if (rc == CC_OK)
			rc = kc_resolve_context(&m, context, out, errbuf, errlen);
		kc_merged_free(&m);
		return rc;
	}
	const char *sa = getenv("CERTCAST_SERVICEACCOUNT_DIR");
	const char *env = getenv("KUBECONFIG");
	if (env && env[0]) {
		/* Like kubectl, a $KUBECONFIG whose files are all missing means no kubeconfig. */
		int rc = kubeconfig_load_files(env, context, out, errbuf, errlen);
		if (rc == CC_ERR_CONFIG && !*out && getenv("KUBERNETES_SERVICE_HOST")) {
			int any = 0;
			char *list = xstrdup(env), *save = NULL;
			for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save))
				any |= p[0] && access(p, F_OK) == 0;
			free(list);
			if (!any)
				return kubeconfig_in_cluster(sa, out, errbuf, errlen);
		}
		return rc;
	}
	const char *home = getenv("HOME");
	if (home && home[0]) {
		char *path = xasprintf("%s/.kube/config", home);
		if (access(path, F_OK) == 0) {
			int rc = kubeconfig_load(path, context, out, errbuf, errlen);
			free(path);
			return rc;
		}
		free(path);
	}
	int rc = kubeconfig_in_cluster(sa, out, errbuf, errlen);
	if (rc == CC_ERR_CONFIG && !getenv("KUBERNETES_SERVICE_HOST"))
		return kc_fail(errbuf, errlen, CC_ERR_CONFIG,
		    "no kubeconfig found (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not running "
		    "in a cluster");
	return rc;
}

struct kube_config *
kubeconfig_dup(const struct kube_config *c)
{
	if (!c)
		return NULL;
	struct kube_config *d = xcalloc(1, sizeof *d);
	d->kc_server = xstrdup(c->kc_server);
	if (c->kc_ca_pem) {
		d->kc_ca_pem = kc_memdup(c->kc_ca_pem, c->kc_ca_len);
		d->kc_ca_len = c->kc_ca_len;
	}
	if (c->kc_cert_pem) {
		d->kc_cert_pem = kc_memdup(c->kc_cert_pem, c->kc_cert_len);
		d->kc_cert_len = c->kc_cert_len;
	}
	if (c->kc_key_pem) {
		d->kc_key_pem = kc_memdup(c->kc_key_pem, c->kc_key_len);
		d->kc_key_len = c->kc_key_len;
	}
	d->kc_token = xstrdup(c->kc_token);
	d->kc_token_file = xstrdup(c->kc_token_file);
	d->kc_exec = kc_exec_dup(c->kc_exec);
	d->kc_insecure = c->kc_insecure;
	d->kc_tls_server_name = xstrdup(c->kc_tls_server_name);
	d->kc_namespace = xstrdup(c->kc_namespace);
	d->kc_context = xstrdup(c->kc_context);
	d->kc_source = xstrdup(c->kc_source);
	d->kc_cache = kc_cache_new();
	return d;
}

/* Overwrite secrets before freeing them, so they do not linger in freed heap memory. */
static void
kc_free_secret(char *s, size_t len)
{
	if (!s)
		return;
	explicit_bzero(s, len ? len : strlen(s));
	free(s);
}

void
kubeconfig_free(struct kube_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->kc_server);
	free(cfg->kc_ca_pem);
	free(cfg->kc_cert_pem);
	kc_free_secret(cfg->kc_key_pem, cfg->kc_key_len);
	kc_free_secret(cfg->kc_token, 0);
	free(cfg->kc_token_file);
	kc_exec_free(cfg->kc_exec);
	free(cfg->kc_tls_server_name);
	free(cfg->kc_namespace);
	free(cfg->kc_context);
	free(cfg->kc_source);
	if (cfg->kc_cache) {
		kc_free_secret(cfg->kc_cache->cc_file_token, 0);
		cfg->kc_cache->cc_file_token = NULL;
		kc_free_secret(cfg->kc_cache->cc_exec_token, 0);
		cfg->kc_cache->cc_exec_token = NULL;
		kc_free_secret(cfg->kc_cache->cc_exec_key, 0);
		cfg->kc_cache->cc_exec_key = NULL;
	}
	kc_cache_free(cfg->kc_cache);
	free(cfg);
}

void
kubeconfig_cred_clear(struct kube_cred *cr)
{
	if (!cr)
		return;
	kc_free_secret(cr->cr_token, 0);
	free(cr->cr_cert_pem);
	kc_free_secret(cr->cr_key_pem, cr->cr_key_len);
	memset(cr, 0, sizeof *cr);
}

int
kubeconfig_refreshable(const struct kube_config *cfg)
{
	return cfg && (cfg->kc_token_file || (cfg->kc_exec && !cfg->kc_token));
}

/* ---- token file ---- */

/* Bring the cached token-file value up to date. Caller holds cc_mu. */
static int
kc_token_file_refresh(struct kube_config *cfg, time_t now, int force, char *errbuf, size_t errlen)
{
	struct kube_config_cache *cc = cfg->kc_cache;
	struct stat st;
	int err_no = 0;
	if (stat(cfg->kc_token_file, &st) != 0) {
		err_no = errno;
		goto failed;
	}
	int changed = !cc->cc_have_file || force || st.st_dev != cc->cc_dev ||
	    st.st_ino != cc->cc_ino || st.st_size != cc->cc_size ||
	    st.st_mtim.tv_sec != cc->cc_mtime.tv_sec || st.st_mtim.tv_nsec != cc->cc_mtime.tv_nsec ||
	    now - cc->cc_read_at >= KC_TOKEN_REREAD_S || now < cc->cc_read_at;
	if (!changed)
		return CC_OK;
	char *data = NULL;
	size_t len = 0;
	int rc = kc_read_file(cfg->kc_token_file, KC_MAX_TOKEN, &data, &len, &err_no);
	if (rc != CC_OK) {
		if (rc == CC_ERR_TOOBIG)
			err_no = EFBIG;
		goto failed;
	}
	while (len && isspace((unsigned char)data[len - 1]))
		data[--len] = '\0';
	if (len == 0) {
		free(data);
		err_no = ENODATA;
		goto failed;
	}
	kc_free_secret(cc->cc_file_token, 0);
	cc->cc_file_token = data;
	cc->cc_have_file = 1;
	cc->cc_dev = st.st_dev;
	cc->cc_ino = st.st_ino;
	cc->cc_size = st.st_size;
	cc->cc_mtime = st.st_mtim;
	cc->cc_read_at = now;
	return CC_OK;
failed:
	if (cc->cc_have_file) {
		log_warn("token file %s: %s; keeping the previous token", cfg->kc_token_file,
		    err_no == ENODATA ? "empty" : strerror(err_no));
		return CC_OK;
	}
	return kc_fail(errbuf, errlen, CC_ERR_IO, "token file %s: %s", cfg->kc_token_file,
	    err_no == ENODATA ? "empty" : strerror(err_no));
}

/* ---- exec plugin ---- */

/* KUBERNETES_EXEC_INFO for the plugin: the ExecCredential request it expects on its env. */
static char *
kc_exec_info(const struct kube_config *cfg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", cfg->kc_exec->ke_api_version);
	cJSON_AddStringToObject(o, "kind", "ExecCredential");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddBoolToObject(spec, "interactive", 0);
	if (cfg->kc_exec->ke_cluster_info) {
		cJSON *cl = cJSON_AddObjectToObject(spec, "cluster");
		cJSON_AddStringToObject(cl, "server", cfg->kc_server);
		if (cfg->kc_tls_server_name)
			cJSON_AddStringToObject(cl, "tls-server-name", cfg->kc_tls_server_name);
		if (cfg->kc_insecure)
			cJSON_AddBoolToObject(cl, "insecure-skip-tls-verify", 1);
		if (cfg->kc_ca_pem) {
			char *b64 = kc_b64encode(cfg->kc_ca_pem, cfg->kc_ca_len);
			cJSON_AddStringToObject(cl, "certificate-authority-data", b64);
			free(b64);
		}
	}
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		fatalx("cJSON_PrintUnformatted failed");
	char *r = xstrdup(s);
	cJSON_free(s);
	return r;
}

/* The plugin's environment: ours, with its env entries and KUBERNETES_EXEC_INFO on top. */
static char **
kc_exec_envp(const struct kube_config *cfg, char *info)
{
	const struct kube_exec *e = cfg->kc_exec;
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **envp = xcalloc(n + e->ke_nenv + 2, sizeof *envp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		int shadowed = nl == strlen("KUBERNETES_EXEC_INFO") &&
		    strncmp(environ[i], "KUBERNETES_EXEC_INFO", nl) == 0;
		for (size_t j = 0; j < e->ke_nenv && !shadowed; j++)
			shadowed = strncmp(e->ke_env[j], environ[i], nl) == 0 && e->ke_env[j][nl] == '=';
		if (!shadowed)
			envp[k++] = xstrdup(environ[i]);
	}
	for (size_t j = 0; j < e->ke_nenv; j++)
		envp[k++] = xstrdup(e->ke_env[j]);
	envp[k++] = xasprintf("KUBERNETES_EXEC_INFO=%s", info);
	envp[k] = NULL;
	return envp;
}

static void
kc_envp_free(char **envp)
{
	for (size_t i = 0; envp && envp[i]; i++)
		free(envp[i]);
	free(envp);
}

/*
 * Run the plugin and collect its stdout (bounded). stdin is /dev/null because a controller has
 * no terminal; stderr is inherited so the plugin's own messages reach the log.
 */
static int
kc_exec_spawn(const struct kube_config *cfg, struct buf *outb, char *errbuf, size_t errlen)
{
	const struct kube_exec *e = cfg->kc_exec;
	char *info = kc_exec_info(cfg);
	char **envp = kc_exec_envp(cfg, info);
	char **argv = xcalloc(e->ke_nargs + 2, sizeof *argv);
	int pfd[2] = {-1, -1};
	pid_t pid = -1;
	int rc = CC_ERR_CONFIG;
	posix_spawn_file_actions_t fa;
	int have_fa = 0;

	argv[0] = e->ke_command;
	for (size_t i = 0; i < e->ke_nargs; i++)
		argv[i + 1] = e->ke_args[i];
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		rc = kc_fail(errbuf, errlen, CC_ERR_IO, "exec plugin %s: pipe: %s", e->ke_command,
		    strerror(errno));
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa) != 0)
		fatalx("posix_spawn_file_actions_init failed");
	have_fa = 1;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	int serr = strchr(e->ke_command, '/')
	    ? posix_spawn(&pid, e->ke_command, &fa, NULL, argv, envp)
	    : posix_spawnp(&pid, e->ke_command, &fa, NULL, argv, envp);
	close(pfd[1]);
	pfd[1] = -1;
	if (serr != 0) {
		pid = -1;
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "exec plugin %s: cannot start: %s",
		    e->ke_command, strerror(serr));
		goto out;
	}

	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	char tmp[4096];
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
		if (spent >= KC_EXEC_TIMEOUT_MS) {
			rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "exec plugin %s: no answer within %d s",
			    e->ke_command, KC_EXEC_TIMEOUT_MS / 1000);
			goto kill;
		}
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int pr = poll(&p, 1, (int)(KC_EXEC_TIMEOUT_MS - spent));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		ssize_t n = read(pfd[0], tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_append(outb, tmp, (size_t)n) != CC_OK) {
			rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG,
			    "exec plugin %s: output larger than %d bytes", e->ke_command, KC_MAX_EXEC_OUT);
			goto kill;
		}
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = CC_OK;
	else if (WIFEXITED(status))
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "exec plugin %s exited with status %d",
		    e->ke_command, WEXITSTATUS(status));
	else
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "exec plugin %s was killed by signal %d",
		    e->ke_command, WTERMSIG(status));
	goto out;
kill:
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	pid = -1;
out:
	if (have_fa)
		posix_spawn_file_actions_destroy(&fa);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(argv);
	kc_envp_free(envp);
	free(info);
	return rc;
}

/* Messages never quote the output: it holds the credential. */
int
kubeconfig_exec_answer(struct kube_config *cfg, const char *json, size_t len, time_t now,
    char *errbuf, size_t errlen)
{
	struct kube_config_cache *cc = cfg->kc_cache;
	const char *cmd = cfg->kc_exec->ke_command;
	int rc = CC_ERR_CONFIG;
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!root || !cJSON_IsObject(root)) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "exec plugin %s: output is not a JSON "
		    "object", cmd);
		goto out;
	}
	const cJSON *av = cJSON_GetObjectItemCaseSensitive(root, "apiVersion");
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "ExecCredential") != 0) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "exec plugin %s: kind is not "
		    "ExecCredential", cmd);
		goto out;
	}
	if (!cJSON_IsString(av) || strcmp(av->valuestring, cfg->kc_exec->ke_api_version) != 0) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "exec plugin %s: apiVersion does not "
		    "match %s", cmd, cfg->kc_exec->ke_api_version);
		goto out;
	}
	if (!cJSON_IsObject(st)) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "exec plugin %s: no status", cmd);
		goto out;
	}
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(st, "token");
	const cJSON *crt = cJSON_GetObjectItemCaseSensitive(st, "clientCertificateData");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(st, "clientKeyData");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(st, "expirationTimestamp");
	int has_tok = cJSON_IsString(tok) && tok->valuestring[0];
	int has_crt = cJSON_IsString(crt) && crt->valuestring[0];
	int has_key = cJSON_IsString(key) && key->valuestring[0];
	if (has_crt != has_key) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "exec plugin %s: clientCertificateData and "
		    "clientKeyData must come together", cmd);
		goto out;
	}
	if (!has_tok && !has_crt) {
		rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "exec plugin %s: status has neither a "
		    "token nor a client certificate", cmd);
		goto out;
	}
	time_t expiry = 0;
	if (exp && !cJSON_IsNull(exp)) {
		if (!cJSON_IsString(exp) || kubeconfig_parse_time(exp->valuestring, &expiry) != CC_OK) {
			rc = kc_fail(errbuf, errlen, CC_ERR_CONFIG, "exec plugin %s: expirationTimestamp "
			    "is not an RFC 3339 time", cmd);
			goto out;
		}
		/* 0 means "no expiry"; the epoch itself is as long past as the second before it */
		if (expiry == 0)
			expiry = -1;
		if (expiry <= now)
			log_warn("exec plugin %s returned a credential that has already expired", cmd);
	}
	kc_free_secret(cc->cc_exec_token, 0);
	free(cc->cc_exec_cert);
	kc_free_secret(cc->cc_exec_key, 0);
	cc->cc_exec_token = has_tok ? xstrdup(tok->valuestring) : NULL;
	cc->cc_exec_cert = has_crt ? xstrdup(crt->valuestring) : NULL;
	cc->cc_exec_key = has_key ? xstrdup(key->valuestring) : NULL;
	cc->cc_exec_expiry = expiry;
	cc->cc_have_exec = 1;
	rc = CC_OK;
out:
	cJSON_Delete(root);
	return rc;
}

static int
kc_exec_refresh(struct kube_config *cfg, time_t now, int force, char *errbuf, size_t errlen)
{
	struct kube_config_cache *cc = cfg->kc_cache;
	if (cc->cc_have_exec && !force && (cc->cc_exec_expiry == 0 || now < cc->cc_exec_expiry))
		return CC_OK;
	struct buf out;
	buf_init(&out, KC_MAX_EXEC_OUT);
	int rc = kc_exec_spawn(cfg, &out, errbuf, errlen);
	if (rc == CC_OK)
		rc = kubeconfig_exec_answer(cfg, out.b_data ? out.b_data : "", out.b_len, now,
		    errbuf, errlen);
	if (out.b_data)
		explicit_bzero(out.b_data, out.b_len);
	buf_free(&out);
	if (rc != CC_OK) {
		/* A rejected or expired answer must not be served again. */
		cc->cc_have_exec = 0;
	}
	return rc;
}

int
kubeconfig_credentials(struct kube_config *cfg, time_t now, int force, struct kube_cred *out,
    char *errbuf, size_t errlen)
{
	struct kube_config_cache *cc = cfg->kc_cache;
	int rc = CC_OK;
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&cc->cc_mu);
	if (cfg->kc_token_file) {
		if ((rc = kc_token_file_refresh(cfg, now, force, errbuf, errlen)) != CC_OK)
			goto out;
		out->cr_token = xstrdup(cc->cc_file_token);
	} else if (cfg->kc_token) {
		out->cr_token = xstrdup(cfg->kc_token);
	} else if (cfg->kc_exec) {
		if ((rc = kc_exec_refresh(cfg, now, force, errbuf, errlen)) != CC_OK)
			goto out;
		out->cr_token = xstrdup(cc->cc_exec_token);
		if (cc->cc_exec_cert) {
			out->cr_cert_pem = xstrdup(cc->cc_exec_cert);
			out->cr_cert_len = strlen(cc->cc_exec_cert);
			out->cr_key_pem = xstrdup(cc->cc_exec_key);
			out->cr_key_len = strlen(cc->cc_exec_key);
		}
		out->cr_expiry = cc->cc_exec_expiry;
	}
	if (!out->cr_cert_pem && cfg->kc_cert_pem) {
		out->cr_cert_pem = kc_memdup(cfg->kc_cert_pem, cfg->kc_cert_len);
		out->cr_cert_len = cfg->kc_cert_len;
		out->cr_key_pem = kc_memdup(cfg->kc_key_pem, cfg->kc_key_len);
		out->cr_key_len = cfg->kc_key_len;
	}
out:
	pthread_mutex_unlock(&cc->cc_mu);
	if (rc != CC_OK)
		kubeconfig_cred_clear(out);
	return rc;
}
