/* reflector: LIST + WATCH of one resource into the store, in its own thread. See reflector.h. */
#include "reflector.h"

#include "buf.h"
#include "cc_err.h"
#include "linesplit.h"
#include "log.h"
#include "monotime.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REFL_RV_MAX 128          /* longest resourceVersion we keep; real ones are ~10 digits */
#define REFL_PATH_MAX 8192       /* request path with its query */
#define REFL_GONE_RETRIES 3      /* list restarts after expired continue tokens, in a row */
#define REFL_RESET_AFTER 120.0   /* seconds of health after which backoff starts over */

enum refl_ev { RE_ADDED, RE_MODIFIED, RE_DELETED, RE_BOOKMARK, RE_ERROR, RE_INVALID, RE_COUNT };
static const char *const refl_ev_labels[RE_COUNT] = {
	"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR", "invalid",
};

enum refl_why { RR_TIMEOUT, RR_GONE, RR_ERROR, RR_FORBIDDEN, RR_DECODE, RR_COUNT };
static const char *const refl_why_labels[RR_COUNT] = {
	"timeout", "gone", "error", "forbidden", "decode",
};

struct refl {
	struct refl_opts r_o;        /* options with defaults filled; strings below */
	char *r_ns;                  /* owned copy of ro_namespace, or NULL */
	char *r_pod_ns;              /* owned copy of ro_pod_namespace, or NULL */
	char *r_selector;            /* owned copy of ro_label_selector, or NULL */
	char r_coll[512];            /* collection path, fixed at creation */
	struct backoff r_backoff;    /* failure delays; thread only */
	struct ls_splitter *r_split; /* watch line splitter; thread only */

	pthread_t r_thread;          /* the loop, once started */
	int r_started;               /* refl_start succeeded */
	int r_joined;                /* refl_join done */
	pthread_mutex_t r_mu;        /* guards r_rv and the sleep */
	pthread_cond_t r_cv;         /* wakes the sleep on stop */
	atomic_int r_stop;           /* refl_stop was called */
	atomic_int r_synced;         /* first LIST applied */
	char r_rv[REFL_RV_MAX];      /* where the next watch starts; guarded by r_mu */

	atomic_ullong r_events[RE_COUNT];   /* by refl_ev */
	atomic_ullong r_restarts[RR_COUNT]; /* by refl_why */

	int r_stream_stop;           /* why the line callback ended the stream, or CC_OK */
	unsigned long long r_stream_lines; /* lines seen in the current stream */
};

/* ---- small helpers ---- */

static double
refl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copy s into out for a log line: control characters become '?', long text is cut. */
static const char *
refl_clean(const char *s, size_t n, char *out, size_t outsz)
{
	size_t j = 0;
	for (size_t i = 0; i < n && s[i] != '\0' && j + 4 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];
		out[j++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (j + 4 >= outsz && j > 0) {
		out[j++] = '.';
		out[j++] = '.';
		out[j++] = '.';
	}
	out[j] = '\0';
	return out;
}

/* Append s percent-encoded (everything but RFC 3986's unreserved characters). */
static int
refl_urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
		int rc = plain ? buf_append(b, s, 1) : buf_append(b, enc, 3);
		if (rc != CC_OK)
			return rc;
	}
	return CC_OK;
}

/* "&name=" + encoded value, when value is set. */
static int
refl_param(struct buf *b, const char *name, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return CC_OK;
	int rc = buf_printf(b, "&%s=", name);
	return rc != CC_OK ? rc : refl_urlenc(b, value);
}

static const char *
refl_label_selector(const struct refl *r)
{
	return r->r_o.ro_desc->rd_kind == RES_POD ? r->r_selector : NULL;
}

/* Where the reflector looks, in words, for messages. */
static void
refl_scope(const struct refl *r, char *out, size_t outsz)
{
	const struct res_desc *d = r->r_o.ro_desc;
	const char *ns = r->r_ns;
	if (d->rd_kind == RES_POD && r->r_pod_ns)
		ns = r->r_pod_ns;
	if (!d->rd_namespaced)
		snprintf(out, outsz, "at cluster scope");
	else if (ns && ns[0])
		snprintf(out, outsz, "in namespace \"%s\"", ns);
	else
		snprintf(out, outsz, "in all namespaces");
}

static void
refl_set_rv(struct refl *r, const char *rv)
{
	pthread_mutex_lock(&r->r_mu);
	xstrlcpy(r->r_rv, rv, sizeof r->r_rv);
	pthread_mutex_unlock(&r->r_mu);
}

/* A usable resourceVersion from obj.metadata, or NULL. */
static const char *
refl_obj_rv(const cJSON *obj)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
	if (!cJSON_IsString(rv) || rv->valuestring[0] == '\0' ||
	    strlen(rv->valuestring) >= REFL_RV_MAX)
		return NULL;
	return rv->valuestring;
}

static const char *
refl_json_type(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	return "an object";
}

static void
refl_count(atomic_ullong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Sleep up to secs, waking early on refl_stop. */
static void
refl_sleep(struct refl *r, double secs)
{
	struct timespec ts = mt_after(secs);
	pthread_mutex_lock(&r->r_mu);
	while (!atomic_load(&r->r_stop)) {
		int e = pthread_cond_timedwait(&r->r_cv, &r->r_mu, &ts);
		if (e == ETIMEDOUT)
			break;
		if (e != 0)
			fatalx("pthread_cond_timedwait: %s", strerror(e));
	}
	pthread_mutex_unlock(&r->r_mu);
}

/* ---- LIST ---- */

int
refl_list_page(struct refl *r, const char *body, size_t len, int page, char **cont, char *rv,
    size_t rvsz, size_t *nitems, struct kube_error *err)
{
	const struct res_desc *d = r->r_o.ro_desc;
	const char *end = NULL;
	char clean[96], errbuf[512];
	int rc = CC_ERR_PARSE;
	*cont = NULL;
	if (body == NULL)
		body = "";
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (root == NULL) {
		size_t at = end ? (size_t)(end - body) : 0;
		snprintf(err->ke_message, sizeof err->ke_message,
		    "LIST page %d: not JSON (syntax error near byte %zu of %zu)", page, at, len);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(err->ke_message, sizeof err->ke_message,
		    "LIST page %d: body is %s, not a list", page, refl_json_type(root));
		goto out;
	}
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
	if (kind && (!cJSON_IsString(kind) || strcmp(kind->valuestring, d->rd_list_kind) != 0)) {
		const char *k = cJSON_IsString(kind)
		    ? refl_clean(kind->valuestring, 64, clean, sizeof clean)
		    : refl_json_type(kind);
		snprintf(err->ke_message, sizeof err->ke_message,
		    "LIST page %d: kind is %s, want %s", page, k, d->rd_list_kind);
		goto out;
	}
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
	if (items && !cJSON_IsArray(items) && !cJSON_IsNull(items)) {
		snprintf(err->ke_message, sizeof err->ke_message,
		    "LIST page %d: items is %s, not an array", page, refl_json_type(items));
		goto out;
	}
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "metadata");
	const cJSON *jc = cJSON_GetObjectItemCaseSensitive(md, "continue");
	const cJSON *jrv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
	if (jc && !cJSON_IsString(jc) && !cJSON_IsNull(jc)) {
		snprintf(err->ke_message, sizeof err->ke_message,
		    "LIST page %d: metadata.continue is %s, not a string", page,
		    refl_json_type(jc));
		goto out;
	}
	int last = !cJSON_IsString(jc) || jc->valuestring[0] == '\0';
	if (last) {
		/* The watch must start exactly where this list ends. */
		if (!cJSON_IsString(jrv) || jrv->valuestring[0] == '\0' ||
		    strlen(jrv->valuestring) >= REFL_RV_MAX || strlen(jrv->valuestring) >= rvsz) {
			snprintf(err->ke_message, sizeof err->ke_message,
			    "LIST page %d: metadata.resourceVersion missing or unusable", page);
			goto out;
		}
		xstrlcpy(rv, jrv->valuestring, rvsz);
	}

	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, items) {
		i++;
		if (!cJSON_IsObject(it)) {
			log_warn("%s: LIST page %d item %d: %s, not an object; skipped",
			    d->rd_name, page, i, refl_json_type(it));
			refl_count(&r->r_events[RE_INVALID]);
			continue;
		}
		errbuf[0] = '\0';
		int arc = store_apply(r->r_o.ro_store, d, STORE_SYNC, it, errbuf, sizeof errbuf);
		if (arc != CC_OK) {
			log_warn("%s: LIST page %d item %d: %s; skipped", d->rd_name, page, i,
			    errbuf);
			refl_count(&r->r_events[RE_INVALID]);
			continue;
		}
		(*nitems)++;
	}
	if (!last)
		*cont = xstrdup(jc->valuestring);
	rc = CC_OK;
out:
	if (rc != CC_OK) {
		err->ke_http = 200;
		err->ke_reason[0] = '\0';
		err->ke_retry_after = 0;
	}
	cJSON_Delete(root);
	return rc;
}

/*
 * Every page into the store between relist_begin and relist_end. rv gets the list's
 * resourceVersion. The relist ends (deleting what vanished) only after the last page, so a list
 * that fails half-way deletes nothing.
 */
static int
refl_list(struct refl *r, char *rv, size_t rvsz, size_t *nitems, int *npages,
    struct kube_error *err)
{
	const struct res_desc *d = r->r_o.ro_desc;
	struct buf path, body;
	char *cont = NULL;
	int rc = CC_OK, gone = 0;
	long status = 0;
	uint64_t gen;

	buf_init(&path, REFL_PATH_MAX);
	buf_init(&body, r->r_o.ro_max_page);
restart:
	gen = store_relist_begin(r->r_o.ro_store, d);
	*nitems = 0;
	for (int page = 1;; page++) {
		if (atomic_load(&r->r_stop)) {
			rc = CC_ERR_CANCELED;
			goto out;
		}
		buf_reset(&path);
		buf_reset(&body);
		rc = buf_printf(&path, "%s?limit=%d", r->r_coll, r->r_o.ro_page_limit);
		if (rc != CC_OK ||
		    (rc = refl_param(&path, "continue", cont)) != CC_OK ||
		    (rc = refl_param(&path, "fieldSelector", d->rd_field_selector)) != CC_OK ||
		    (rc = refl_param(&path, "labelSelector", refl_label_selector(r))) != CC_OK) {
			snprintf(err->ke_message, sizeof err->ke_message, "LIST path too long");
			goto out;
		}
		rc = kube_request(r->r_o.ro_client, "GET", path.b_data, NULL, NULL, &body, &status,
		    err);
		if (rc == CC_ERR_GONE && cont != NULL && gone < REFL_GONE_RETRIES) {
			/* The continue token expired while we paged: begin the list again. */
			log_info("%s: continue token expired at page %d, restarting the list",
			    d->rd_name, page);
			refl_count(&r->r_restarts[RR_GONE]);
			gone++;
			free(cont);
			cont = NULL;
			goto restart;
		}
		if (rc != CC_OK)
			goto out;
		char *next = NULL;
		rc = refl_list_page(r, body.b_data, body.b_len, page, &next, rv, rvsz, nitems,
		    err);
		if (rc != CC_OK)
			goto out;
		free(cont);
		cont = next;
		*npages = page;
		if (cont == NULL)
			break;
	}
	store_relist_end(r->r_o.ro_store, d, gen);
out:
	free(cont);
	buf_free(&path);
	buf_free(&body);
	return rc;
}

/* ---- WATCH ---- */

static void
refl_bad_line(struct refl *r, const struct ls_line *l, const char *what)
{
	log_warn("%s: watch line %llu (stream byte %llu): %s; skipped", r->r_o.ro_desc->rd_name,
	    (unsigned long long)l->ll_lineno, (unsigned long long)l->ll_offset, what);
	refl_count(&r->r_events[RE_INVALID]);
}

/* One parsed watch event. Returns CC_OK to go on, or a code that ends the stream. */
static int
refl_event(struct refl *r, const struct ls_line *l, const cJSON *root)
{
	const struct res_desc *d = r->r_o.ro_desc;
	char what[640], clean[96], errbuf[512];
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "object");

	if (type == NULL) {
		refl_bad_line(r, l, "no \"type\"");
		return CC_OK;
	}
	if (!cJSON_IsString(type)) {
		snprintf(what, sizeof what, "\"type\" is %s, not a string", refl_json_type(type));
		refl_bad_line(r, l, what);
		return CC_OK;
	}
	if (obj == NULL) {
		refl_bad_line(r, l, "no \"object\"");
		return CC_OK;
	}
	if (!cJSON_IsObject(obj)) {
		snprintf(what, sizeof what, "\"object\" is %s, not an object", refl_json_type(obj));
		refl_bad_line(r, l, what);
		return CC_OK;
	}

	const char *t = type->valuestring;
	enum store_event ev;
	enum refl_ev kind;
	if (strcmp(t, "ADDED") == 0) {
		ev = STORE_ADDED;
		kind = RE_ADDED;
	} else if (strcmp(t, "MODIFIED") == 0) {
		ev = STORE_MODIFIED;
		kind = RE_MODIFIED;
	} else if (strcmp(t, "DELETED") == 0) {
		ev = STORE_DELETED;
		kind = RE_DELETED;
	} else if (strcmp(t, "BOOKMARK") == 0) {
		const char *rv = refl_obj_rv(obj);
		if (rv == NULL) {
			refl_bad_line(r, l, "BOOKMARK without a usable metadata.resourceVersion");
			return CC_OK;
		}
		refl_set_rv(r, rv);
		refl_count(&r->r_events[RE_BOOKMARK]);
		log_debug("%s: bookmark, resourceVersion now %s", r->r_o.ro_desc->rd_name, rv);
		return CC_OK;
	} else if (strcmp(t, "ERROR") == 0) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "message");
		const char *m = "";
		if (cJSON_IsString(msg))
			m = refl_clean(msg->valuestring, 200, what, sizeof what);
		refl_count(&r->r_events[RE_ERROR]);
		if (cJSON_IsNumber(code) && code->valuedouble == 410) {
			log_info("%s: watch says 410 Gone (%s); relisting", d->rd_name, m);
			return CC_ERR_GONE;
		}
		log_warn("%s: watch ERROR event, code %.0f: %s; will watch again after a backoff",
		    d->rd_name, cJSON_IsNumber(code) ? code->valuedouble : 0.0, m);
		return CC_ERR_UNAVAILABLE;
	} else {
		snprintf(what, sizeof what, "unknown event type \"%s\"",
		    refl_clean(t, 32, clean, sizeof clean));
		refl_bad_line(r, l, what);
		return CC_OK;
	}

	errbuf[0] = '\0';
	if (store_apply(r->r_o.ro_store, d, ev, obj, errbuf, sizeof errbuf) != CC_OK) {
		snprintf(what, sizeof what, "%s event rejected: %s", t, errbuf);
		refl_bad_line(r, l, what);
		return CC_OK;
	}
	refl_count(&r->r_events[kind]);
	const char *rv = refl_obj_rv(obj);
	if (rv)
		refl_set_rv(r, rv);
	return CC_OK;
}

static int
refl_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

static int
refl_line(void *arg, const struct ls_line *l)
{
	struct refl *r = arg;
	char what[128];
	int rc = CC_OK;

	r->r_stream_lines++;
	if (l->ll_kind == LS_OVERSIZE) {
		snprintf(what, sizeof what, "line longer than the %zu-byte limit",
		    r->r_o.ro_max_line);
		refl_bad_line(r, l, what);
		return CC_OK;
	}
	if (l->ll_kind == LS_TRUNCATED) {
		snprintf(what, sizeof what, "stream ended inside a line (%zu bytes)", l->ll_len);
		refl_bad_line(r, l, what);
		return CC_OK;
	}
	if (refl_blank(l->ll_data, l->ll_len))
		return CC_OK; /* blank lines carry nothing */

	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(l->ll_data, l->ll_len, &end, 0);
	if (root == NULL) {
		size_t at = end ? (size_t)(end - l->ll_data) : 0;
		snprintf(what, sizeof what, "not JSON (syntax error near byte %zu of the line)",
		    at);
		refl_bad_line(r, l, what);
		return CC_OK;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(what, sizeof what, "line is %s, not a JSON object", refl_json_type(root));
		refl_bad_line(r, l, what);
	} else {
		rc = refl_event(r, l, root);
	}
	cJSON_Delete(root);
	if (rc != CC_OK)
		r->r_stream_stop = rc;
	return rc;
}

void
refl_stream_begin(struct refl *r)
{
	ls_reset(r->r_split);
	r->r_stream_stop = CC_OK;
	r->r_stream_lines = 0;
}

int
refl_stream_feed(struct refl *r, const char *data, size_t len)
{
	if (r->r_stream_stop != CC_OK)
		return r->r_stream_stop; /* a line or refl_stop ended this stream already */
	if (atomic_load(&r->r_stop)) {
		r->r_stream_stop = CC_ERR_CANCELED;
		return CC_ERR_CANCELED;
	}
	return ls_feed(r->r_split, data, len);
}

int
refl_stream_end(struct refl *r, int rc, unsigned long long *lines)
{
	if (r->r_stream_stop != CC_OK) {
		ls_reset(r->r_split); /* the bytes after the stopping line mean nothing now */
		rc = r->r_stream_stop;
	} else {
		ls_finish(r->r_split);
	}
	if (lines != NULL)
		*lines = r->r_stream_lines;
	return rc;
}

static int
refl_chunk(void *arg, const char *data, size_t len)
{
	return refl_stream_feed(arg, data, len);
}

/* One watch request, until the stream ends. *lines gets the lines it carried. */
static int
refl_watch(struct refl *r, unsigned long long *lines, struct kube_error *err)
{
	const struct res_desc *d = r->r_o.ro_desc;
	struct buf path;
	char rv[REFL_RV_MAX];
	int span = r->r_o.ro_timeout_max - r->r_o.ro_timeout_min + 1;
	int timeout = r->r_o.ro_timeout_min + (int)(backoff_uniform(&r->r_backoff) * span);
	int rc;

	*lines = 0;
	if (timeout > r->r_o.ro_timeout_max)
		timeout = r->r_o.ro_timeout_max;
	pthread_mutex_lock(&r->r_mu);
	memcpy(rv, r->r_rv, sizeof rv);
	pthread_mutex_unlock(&r->r_mu);

	buf_init(&path, REFL_PATH_MAX);
	if ((rc = buf_printf(&path, "%s?watch=1&allowWatchBookmarks=true", r->r_coll)) != CC_OK ||
	    (rc = refl_param(&path, "resourceVersion", rv)) != CC_OK ||
	    (rc = buf_printf(&path, "&timeoutSeconds=%d", timeout)) != CC_OK ||
	    (rc = refl_param(&path, "fieldSelector", d->rd_field_selector)) != CC_OK ||
	    (rc = refl_param(&path, "labelSelector", refl_label_selector(r))) != CC_OK) {
		snprintf(err->ke_message, sizeof err->ke_message, "WATCH path too long");
		goto out;
	}
	refl_stream_begin(r);
	/* A server that stops sending even bookmarks is dead a minute after its own timeout. */
	rc = kube_stream(r->r_o.ro_client, path.b_data, (long)(timeout + 60) * 1000, refl_chunk, r,
	    err);
	rc = refl_stream_end(r, rc, lines);
out:
	buf_free(&path);
	return rc;
}

/* ---- the loop ---- */

/*
 * A 403 is usually an RBAC mistake that only a human fixes, so retries slow to ro_forbidden_delay.
 * But a restarted kube-apiserver also answers 403 for a few seconds until its authorizer cache
 * has filled, so the first retries follow the ordinary backoff and only its growth is capped.
 */
static double
refl_delay_forbidden(struct refl *r)
{
	double capped = r->r_o.ro_forbidden_delay * (0.75 + 0.5 * backoff_uniform(&r->r_backoff));
	double d = backoff_next(&r->r_backoff);
	return d < capped ? d : capped;
}

/* Count and log a failure of verb; returns how long to wait before the next try. */
static double
refl_failed(struct refl *r, const char *verb, int rc, const struct kube_error *err)
{
	const struct res_desc *d = r->r_o.ro_desc;
	char scope[160], msg[560];
	double delay;
	refl_scope(r, scope, sizeof scope);
	refl_clean(err->ke_message, sizeof err->ke_message, msg, sizeof msg);
	if (rc == CC_ERR_FORBIDDEN) {
		refl_count(&r->r_restarts[RR_FORBIDDEN]);
		delay = refl_delay_forbidden(r);
		log_error("%s: forbidden to %s %s.%s %s (%s); check certcast's RBAC, "
		    "retrying in %.1fs",
		    d->rd_name, verb, d->rd_plural, d->rd_group[0] ? d->rd_group : "core", scope,
		    msg, delay);
		return delay;
	}
	int decode = rc == CC_ERR_PARSE || rc == CC_ERR_TOOBIG;
	refl_count(&r->r_restarts[decode ? RR_DECODE : RR_ERROR]);
	delay = backoff_next(&r->r_backoff);
	if (rc == CC_ERR_UNAVAILABLE && err->ke_retry_after > 0 && err->ke_retry_after > delay)
		delay = (double)(err->ke_retry_after < 600 ? err->ke_retry_after : 600);
	log_warn("%s: %s %s failed: %s (HTTP %ld%s%s); retrying in %.1fs", d->rd_name, verb, scope,
	    cc_strerror(rc), err->ke_http, msg[0] ? ": " : "", msg, delay);
	return delay;
}

static void *
refl_main(void *arg)
{
	struct refl *r = arg;
	const struct res_desc *d = r->r_o.ro_desc;
	int need_list = 1;

	while (!atomic_load(&r->r_stop)) {
		struct kube_error err;
		memset(&err, 0, sizeof err);
		if (need_list) {
			char rv[REFL_RV_MAX];
			size_t n = 0;
			int pages = 0;
			int rc = refl_list(r, rv, sizeof rv, &n, &pages, &err);
			if (rc == CC_ERR_CANCELED)
				break;
			if (rc != CC_OK) {
				refl_sleep(r, refl_failed(r, "list", rc, &err));
				continue;
			}
			refl_set_rv(r, rv);
			if (!atomic_exchange(&r->r_synced, 1))
				log_info("%s: synced, %zu objects in %d page(s) at "
				    "resourceVersion %s",
				    d->rd_name, n, pages, rv);
			else
				log_debug("%s: relisted, %zu objects at resourceVersion %s",
				    d->rd_name, n, rv);
			need_list = 0;
		}

		unsigned long long lines = 0;
		double t0 = refl_now();
		int rc = refl_watch(r, &lines, &err);
		double lasted = refl_now() - t0;
		if (rc == CC_ERR_CANCELED)
			break; /* refl_stop, or the whole client was canceled */
		/* A 504 also maps to CC_ERR_TIMEOUT; only a silent healthy stream ends normally. */
		int idle = rc == CC_ERR_TIMEOUT && (err.ke_http == 0 ||
		    (err.ke_http >= 200 && err.ke_http < 300));
		if (rc == CC_OK || idle) {
			if (rc == CC_OK && lines == 0 && r->r_o.ro_short_watch >= 0 &&
			    lasted < r->r_o.ro_short_watch) {
				snprintf(err.ke_message, sizeof err.ke_message,
				    "watch closed after %.3fs without a line", lasted);
				refl_sleep(r, refl_failed(r, "watch", CC_ERR_UNAVAILABLE, &err));
				continue;
			}
			refl_count(&r->r_restarts[RR_TIMEOUT]);
			log_debug("%s: watch ended after %.0fs and %llu lines; watching again",
			    d->rd_name, lasted, lines);
			continue;
		}
		if (rc == CC_ERR_GONE) {
			/* Our resourceVersion is older than the server's history: list again. */
			refl_count(&r->r_restarts[RR_GONE]);
			need_list = 1;
			continue;
		}
		refl_sleep(r, refl_failed(r, "watch", rc, &err));
	}
	return NULL;
}

/* ---- life cycle ---- */

/* A copy of s, or NULL when s is NULL or empty. */
static char *
refl_dup_set(const char *s)
{
	return s && s[0] ? xstrdup(s) : NULL;
}

int
refl_new(const struct refl_opts *o, struct refl **out)
{
	*out = NULL;
	if (o == NULL || o->ro_client == NULL || o->ro_store == NULL || o->ro_desc == NULL) {
		log_error("reflector needs a client, a store and a descriptor");
		return CC_ERR_INVAL;
	}
	struct refl_opts v = *o;
	if (v.ro_max_line == 0)
		v.ro_max_line = 8u << 20;
	if (v.ro_max_page == 0)
		v.ro_max_page = 256u << 20;
	if (v.ro_page_limit == 0)
		v.ro_page_limit = 500;
	if (v.ro_timeout_min == 0)
		v.ro_timeout_min = 300;
	if (v.ro_timeout_max == 0)
		v.ro_timeout_max = 600;
	if (v.ro_backoff_base == 0)
		v.ro_backoff_base = 0.8;
	if (v.ro_backoff_cap == 0)
		v.ro_backoff_cap = 30;
	if (v.ro_forbidden_delay == 0)
		v.ro_forbidden_delay = 60;
	if (v.ro_short_watch == 0)
		v.ro_short_watch = 1;
	if (v.ro_page_limit < 0 || v.ro_timeout_min < 1 || v.ro_timeout_max < v.ro_timeout_min ||
	    !(v.ro_forbidden_delay > 0) || !isfinite(v.ro_forbidden_delay)) {
		log_error("%s: bad reflector limits", v.ro_desc->rd_name);
		return CC_ERR_INVAL;
	}
	struct refl *r = xcalloc(1, sizeof *r);
	pthread_mutex_init(&r->r_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->r_cv, &ca);
	pthread_condattr_destroy(&ca);
	struct backoff_opts bo = {
		.bo_base = v.ro_backoff_base,
		.bo_cap = v.ro_backoff_cap,
		.bo_reset_after = REFL_RESET_AFTER,
		.bo_jitter = BACKOFF_DECORRELATED,
	};
	if (backoff_init(&r->r_backoff, &bo) != CC_OK) {
		log_error("%s: bad backoff %g..%g", v.ro_desc->rd_name, v.ro_backoff_base,
		    v.ro_backoff_cap);
		refl_free(r);
		return CC_ERR_INVAL;
	}
	r->r_ns = refl_dup_set(v.ro_namespace);
	r->r_pod_ns = refl_dup_set(v.ro_pod_namespace);
	r->r_selector = refl_dup_set(v.ro_label_selector);
	v.ro_namespace = r->r_ns;
	v.ro_pod_namespace = r->r_pod_ns;
	v.ro_label_selector = r->r_selector;
	r->r_o = v;
	if (res_collection_path(v.ro_desc, r->r_ns, r->r_pod_ns, r->r_coll, sizeof r->r_coll) !=
	    CC_OK) {
		log_error("%s: collection path too long", v.ro_desc->rd_name);
		refl_free(r);
		return CC_ERR_INVAL;
	}
	r->r_split = ls_new(v.ro_max_line, refl_line, r);
	*out = r;
	return CC_OK;
}

int
refl_start(struct refl *r)
{
	if (r->r_started)
		return CC_ERR_STATE;
	int e = pthread_create(&r->r_thread, NULL, refl_main, r);
	if (e != 0)
		fatalx("pthread_create: %s", strerror(e));
	r->r_started = 1;
	return CC_OK;
}

void
refl_stop(struct refl *r)
{
	pthread_mutex_lock(&r->r_mu);
	atomic_store(&r->r_stop, 1);
	pthread_cond_broadcast(&r->r_cv);
	pthread_mutex_unlock(&r->r_mu);
}

void
refl_join(struct refl *r)
{
	if (!r->r_started || r->r_joined)
		return;
	pthread_join(r->r_thread, NULL);
	r->r_joined = 1;
}

void
refl_free(struct refl *r)
{
	if (r == NULL)
		return;
	if (r->r_started && !r->r_joined)
		fatalx("%s: reflector freed while its thread runs", r->r_o.ro_desc->rd_name);
	ls_free(r->r_split);
	pthread_cond_destroy(&r->r_cv);
	pthread_mutex_destroy(&r->r_mu);
	free(r->r_ns);
	free(r->r_pod_ns);
	free(r->r_selector);
	free(r);
}

int
refl_has_synced(struct refl *r)
{
	return atomic_load(&r->r_synced);
}

void
refl_resource_version(struct refl *r, char *out, size_t outsz)
{
	pthread_mutex_lock(&r->r_mu);
	xstrlcpy(out, r->r_rv, outsz);
	pthread_mutex_unlock(&r->r_mu);
}

const char *
refl_name(const struct refl *r)
{
	return r->r_o.ro_desc->rd_name;
}

unsigned long long
refl_counter(struct refl *r, enum refl_stat what, const char *label)
{
	if (what == REFL_STAT_EVENTS) {
		for (int i = 0; i < RE_COUNT; i++)
			if (strcmp(label, refl_ev_labels[i]) == 0)
				return atomic_load(&r->r_events[i]);
	} else if (what == REFL_STAT_RESTARTS) {
		for (int i = 0; i < RR_COUNT; i++)
			if (strcmp(label, refl_why_labels[i]) == 0)
				return atomic_load(&r->r_restarts[i]);
	}
	return 0;
}

void
refl_stats(struct refl *r, refl_stat_fn fn, void *arg)
{
	const char *name = r->r_o.ro_desc->rd_name;
	for (int i = 0; i < RE_COUNT; i++)
		fn(arg, REFL_STAT_EVENTS, name, refl_ev_labels[i], atomic_load(&r->r_events[i]));
	for (int i = 0; i < RR_COUNT; i++)
		fn(arg, REFL_STAT_RESTARTS, name, refl_why_labels[i],
		    atomic_load(&r->r_restarts[i]));
}

int
refl_list_once(const struct refl_opts *o, char *rv, size_t rvsz, struct kube_error *err)
{
	struct refl *r = NULL;
	char got[REFL_RV_MAX];
	size_t n = 0;
	int pages = 0;
	memset(err, 0, sizeof *err);
	int rc = refl_new(o, &r);
	if (rc != CC_OK) {
		snprintf(err->ke_message, sizeof err->ke_message, "bad reflector options");
		goto out;
	}
	rc = refl_list(r, got, sizeof got, &n, &pages, err);
	if (rc == CC_OK && rv != NULL)
		xstrlcpy(rv, got, rvsz);
	if (rc == CC_OK)
		log_debug("%s: listed %zu objects in %d page(s)", r->r_o.ro_desc->rd_name, n,
		    pages);
out:
	refl_free(r);
	return rc;
}

/* ---- set ---- */

struct refl_set {
	struct refl *rs_refl[RES_DESC_COUNT]; /* one per descriptor */
	size_t rs_n;                          /* reflectors made */
	struct kube_client *rs_client;        /* borrowed */
	int rs_cancel;                        /* cancel rs_client on stop */
};

int
refl_set_start(const struct refl_set_opts *o, struct refl_set **out)
{
	struct refl_set *s = xcalloc(1, sizeof *s);
	const struct res_desc *tab = res_table();
	int rc = CC_OK;
	*out = NULL;
	s->rs_client = o->rso_client;
	s->rs_cancel = o->rso_cancel_client_on_stop;
	for (size_t i = 0; i < RES_DESC_COUNT; i++) {
		struct refl_opts ro = {0};
		if (o->rso_tuning)
			ro = *o->rso_tuning;
		ro.ro_client = o->rso_client;
		ro.ro_store = o->rso_store;
		ro.ro_desc = &tab[i];
		ro.ro_namespace = o->rso_namespace;
		ro.ro_pod_namespace = o->rso_pod_namespace;
		ro.ro_label_selector = o->rso_pod_selector;
		if ((rc = refl_new(&ro, &s->rs_refl[i])) != CC_OK)
			goto out;
		s->rs_n++;
	}
	for (size_t i = 0; i < s->rs_n; i++)
		refl_start(s->rs_refl[i]);
	*out = s;
out:
	if (rc != CC_OK)
		refl_set_free(s);
	return rc;
}

int
refl_set_has_synced(struct refl_set *s)
{
	for (size_t i = 0; i < s->rs_n; i++)
		if (!refl_has_synced(s->rs_refl[i]))
			return 0;
	return s->rs_n > 0;
}

void
refl_set_stop(struct refl_set *s)
{
	for (size_t i = 0; i < s->rs_n; i++)
		refl_stop(s->rs_refl[i]);
	if (s->rs_cancel && s->rs_client)
		kube_client_cancel(s->rs_client);
	for (size_t i = 0; i < s->rs_n; i++)
		refl_join(s->rs_refl[i]);
}

void
refl_set_free(struct refl_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->rs_n; i++)
		refl_free(s->rs_refl[i]);
	free(s);
}

void
refl_set_stats(struct refl_set *s, refl_stat_fn fn, void *arg)
{
	for (size_t i = 0; i < s->rs_n; i++)
		refl_stats(s->rs_refl[i], fn, arg);
}

size_t
refl_set_count(const struct refl_set *s)
{
	return s->rs_n;
}

struct refl *
refl_set_get(struct refl_set *s, size_t i)
{
	return i < s->rs_n ? s->rs_refl[i] : NULL;
}
