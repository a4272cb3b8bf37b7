/*
 * kube_client: libcurl requests and streams to the API server. See kube_client.h.
 *
 * Each call borrows a slot (one easy handle driven by its own multi handle) from a pool. The
 * multi interface is used even for single transfers so that kube_client_cancel() can wake a
 * waiting transfer at once with curl_multi_wakeup() instead of waiting for a progress tick, and
 * so that the idle timeout of a stream is measured by us, to the millisecond. A slot keeps its
 * connections between calls, so sequential calls reuse TLS sessions.
 */
#include "kube_client.h"

#include "cc_err.h"
#include "kubeconfig.h"
#include "log.h"
#include "ratelimit.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KUBE_ERRBODY_MAX (64 * 1024) /* enough for any Status object */

struct kube_slot {
	CURL *s_easy;            /* the transfer */
	CURLM *s_multi;          /* drives s_easy; owns its connection cache */
	int s_busy;              /* lent to a call; under c_mu */
	struct kube_slot *s_next;/* every slot, busy or not */
};

struct kube_stat {
	char st_verb[8];         /* "GET", ..., "WATCH" */
	long st_code;            /* HTTP status, 0 when none arrived */
	unsigned long long st_n; /* count */
};

struct kube_client {
	struct kube_config *c_cfg;     /* own copy, with its own credential cache */
	char *c_base;                  /* URL prefix requests go to */
	struct curl_slist *c_connect_to; /* reroutes c_base to the real server for tls-server-name */
	struct rl_bucket *c_rl;        /* paces everything but streams */
	long c_timeout_ms;             /* whole-request timeout */
	long c_connect_timeout_ms;     /* connect timeout */
	char *c_user_agent;            /* User-Agent */
	atomic_int c_canceled;         /* set once by kube_client_cancel */
	pthread_mutex_t c_mu;          /* guards slots and stats */
	pthread_cond_t c_cv;           /* wakes limiter waits on cancel */
	struct kube_slot *c_slots;     /* all slots */
	struct kube_stat *c_stats;     /* c_nstats series */
	size_t c_nstats;               /* count */
};

/* One transfer in progress. */
struct kube_xfer {
	CURL *x_easy;               /* the handle, for getinfo in callbacks */
	struct buf *x_body;         /* 2xx body sink for requests, or NULL */
	struct buf x_errbody;       /* non-2xx body, bounded and quietly cut */
	kube_chunk_fn x_fn;         /* 2xx sink for streams, or NULL */
	void *x_arg;                /* for x_fn */
	int x_fn_rc;                /* non-zero: x_fn asked to stop with this */
	int x_toobig;               /* the 2xx body overflowed x_body */
	long x_retry_after;         /* Retry-After seconds, 0 if none */
	struct timespec x_last;     /* when the last byte arrived */
};

static pthread_once_t kube_once = PTHREAD_ONCE_INIT;
static int kube_global_rc;

static void
kube_global_init(void)
{
	kube_global_rc = curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK ? CC_OK : CC_ERR_STATE;
}

static void
kube_err_set(struct kube_error *err, long http, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
kube_err_set(struct kube_error *err, long http, const char *reason, const char *fmt, ...)
{
	if (!err)
		return;
	err->ke_http = http;
	xstrlcpy(err->ke_reason, reason ? reason : "", sizeof err->ke_reason);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->ke_message, sizeof err->ke_message, fmt, ap);
	va_end(ap);
}

static long
kube_ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000L + (now.tv_nsec - t->tv_nsec) / 1000000L;
}

/* ---- client set-up ---- */

/*
 * For tls-server-name, requests go to https://NAME:PORT (so SNI and verification use NAME) and
 * CURLOPT_CONNECT_TO sends the connection to the real host.
 */
static int
kube_route_tls_name(struct kube_client *c, struct kube_error *err)
{
	const char *srv = c->c_cfg->kc_server;
	const char *name = c->c_cfg->kc_tls_server_name;
	const char *h = strstr(srv, "://");
	if (!h)
		goto bad;
	h += 3;
	const char *hend, *port = NULL;
	if (*h == '[') {
		hend = strchr(h, ']');
		if (!hend)
			goto bad;
		hend++;
	} else {
		hend = h + strcspn(h, ":/");
	}
	if (*hend == ':')
		port = hend + 1;
	size_t plen = port ? strcspn(port, "/") : 0;
	char *host = xstrndup(h, (size_t)(hend - h));
	char *p = port && plen ? xstrndup(port, plen) : xstrdup("443");
	char *rest = xstrdup(port ? port + plen : hend);
	char *rule = xasprintf("%s:%s:%s:%s", name, p, host, p);
	c->c_connect_to = curl_slist_append(NULL, rule);
	c->c_base = xasprintf("https://%s:%s%s", name, p, rest);
	free(host);
	free(p);
	free(rest);
	free(rule);
	if (!c->c_connect_to)
		fatalx("curl_slist_append failed");
	return CC_OK;
bad:
	kube_err_set(err, 0, NULL, "cannot apply tls-server-name to server URL %s", srv);
	return CC_ERR_CONFIG;
}

int
kube_client_new(const struct kube_config *cfg, const struct kube_client_opts *opts,
    struct kube_client **out, struct kube_error *err)
{
	struct kube_client_opts def = {0};
	struct kube_error scratch;
	if (!err)
		err = &scratch;
	memset(err, 0, sizeof *err);
	*out = NULL;
	if (!opts)
		opts = &def;
	pthread_once(&kube_once, kube_global_init);
	if (kube_global_rc != CC_OK) {
		kube_err_set(err, 0, NULL, "curl_global_init failed");
		return CC_ERR_STATE;
	}
	if (!cfg || !cfg->kc_server || !cfg->kc_server[0]) {
		kube_err_set(err, 0, NULL, "no API server URL in the configuration");
		return CC_ERR_CONFIG;
	}
	if (cfg->kc_cert_pem && !cfg->kc_key_pem) {
		kube_err_set(err, 0, NULL, "client certificate without a key");
		return CC_ERR_CONFIG;
	}

	struct kube_client *c = xcalloc(1, sizeof *c);
	pthread_mutex_init(&c->c_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->c_cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&c->c_canceled, 0);
	c->c_cfg = kubeconfig_dup(cfg);
	double qps = opts->kco_qps > 0 ? opts->kco_qps : (opts->kco_qps < 0 ? 0 : 20.0);
	int burst = opts->kco_burst > 0 ? opts->kco_burst : 40;
	c->c_rl = rl_new(qps, burst, NULL, NULL);
	c->c_timeout_ms = opts->kco_timeout_ms > 0 ? opts->kco_timeout_ms : 30000;
	c->c_connect_timeout_ms = opts->kco_connect_timeout_ms > 0 ? opts->kco_connect_timeout_ms : 10000;
	c->c_user_agent = opts->kco_user_agent ? xstrdup(opts->kco_user_agent)
					       : xstrdup("certcast/" CERTCAST_VERSION);
	int rc = CC_OK;
	if (c->c_cfg->kc_tls_server_name)
		rc = kube_route_tls_name(c, err);
	else
		c->c_base = xstrdup(c->c_cfg->kc_server);
	if (rc != CC_OK) {
		kube_client_free(c);
		return rc;
	}
	*out = c;
	return CC_OK;
}

void
kube_client_cancel(struct kube_client *c)
{
	if (!c)
		return;
	atomic_store(&c->c_canceled, 1);
	pthread_mutex_lock(&c->c_mu);
	for (struct kube_slot *s = c->c_slots; s; s = s->s_next)
		if (s->s_busy)
			curl_multi_wakeup(s->s_multi);
	pthread_cond_broadcast(&c->c_cv);
	pthread_mutex_unlock(&c->c_mu);
}

void
kube_client_free(struct kube_client *c)
{
	if (!c)
		return;
	struct kube_slot *s = c->c_slots;
	while (s) {
		struct kube_slot *next = s->s_next;
		curl_multi_cleanup(s->s_multi);
		curl_easy_cleanup(s->s_easy);
		free(s);
		s = next;
	}
	kubeconfig_free(c->c_cfg);
	free(c->c_base);
	curl_slist_free_all(c->c_connect_to);
	rl_free(c->c_rl);
	free(c->c_user_agent);
	free(c->c_stats);
	pthread_mutex_destroy(&c->c_mu);
	pthread_cond_destroy(&c->c_cv);
	free(c);
}

const char *
kube_client_server(const struct kube_client *c)
{
	return c->c_cfg->kc_server;
}

void
kube_client_stats(struct kube_client *c, kube_stat_fn fn, void *arg)
{
	pthread_mutex_lock(&c->c_mu);
	size_t n = c->c_nstats;
	struct kube_stat *copy = n ? xmalloc(n * sizeof *copy) : NULL;
	if (n)
		memcpy(copy, c->c_stats, n * sizeof *copy);
	pthread_mutex_unlock(&c->c_mu);
	/* fn runs without the lock, so it may call back into the client. */
	for (size_t i = 0; i < n; i++)
		fn(arg, copy[i].st_verb, copy[i].st_code, copy[i].st_n);
	free(copy);
}

static void
kube_count(struct kube_client *c, const char *verb, long code)
{
	pthread_mutex_lock(&c->c_mu);
	size_t i;
	for (i = 0; i < c->c_nstats; i++)
		if (c->c_stats[i].st_code == code && strcmp(c->c_stats[i].st_verb, verb) == 0)
			break;
	if (i == c->c_nstats) {
		c->c_stats = xrealloc(c->c_stats, (c->c_nstats + 1) * sizeof *c->c_stats);
		memset(&c->c_stats[i], 0, sizeof c->c_stats[i]);
		xstrlcpy(c->c_stats[i].st_verb, verb, sizeof c->c_stats[i].st_verb);
		c->c_stats[i].st_code = code;
		c->c_nstats++;
	}
	c->c_stats[i].st_n++;
	pthread_mutex_unlock(&c->c_mu);
}

/* ---- slots ---- */

static struct kube_slot *
kube_slot_get(struct kube_client *c)
{
	pthread_mutex_lock(&c->c_mu);
	struct kube_slot *s;
	for (s = c->c_slots; s; s = s->s_next)
		if (!s->s_busy)
			break;
	if (!s) {
		s = xcalloc(1, sizeof *s);
		s->s_easy = curl_easy_init();
		s->s_multi = curl_multi_init();
		if (!s->s_easy || !s->s_multi)
			fatalx("curl_easy_init/curl_multi_init failed");
		s->s_next = c->c_slots;
		c->c_slots = s;
	}
	s->s_busy = 1;
	pthread_mutex_unlock(&c->c_mu);
	return s;
}

static void
kube_slot_put(struct kube_client *c, struct kube_slot *s)
{
	pthread_mutex_lock(&c->c_mu);
	s->s_busy = 0;
	pthread_mutex_unlock(&c->c_mu);
}

/* ---- rate limiting ---- */

/* Wait for a token; returns CC_OK or CC_ERR_CANCELED. */
static int
kube_pace(struct kube_client *c)
{
	double wait = rl_reserve(c->c_rl);
	if (wait <= 0)
		return atomic_load(&c->c_canceled) ? CC_ERR_CANCELED : CC_OK;
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	long long ns = (long long)dl.tv_nsec + (long long)(wait * 1e9);
	dl.tv_sec += (time_t)(ns / 1000000000LL);
	dl.tv_nsec = (long)(ns % 1000000000LL);
	int rc = CC_OK;
	pthread_mutex_lock(&c->c_mu);
	while (!atomic_load(&c->c_canceled)) {
		if (pthread_cond_timedwait(&c->c_cv, &c->c_mu, &dl) == ETIMEDOUT)
			break;
	}
	if (atomic_load(&c->c_canceled))
		rc = CC_ERR_CANCELED;
	pthread_mutex_unlock(&c->c_mu);
	return rc;
}

/* ---- what a failed response says ---- */

int
kube_retry_after_header(const char *line, size_t len, long *secs)
{
	static const char name[] = "retry-after:";
	size_t i = sizeof name - 1;
	long v = 0;
	*secs = 0;
	if (len < i || strncasecmp(line, name, i) != 0)
		return 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	size_t digits = i;
	/*
	 * The whole value is read, however long: a copy cut to a fixed size would read another
	 * number. The HTTP-date form is not used by the API server and is refused like junk.
	 */
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		if (v > (KUBE_RETRY_AFTER_MAX - (line[i] - '0')) / 10)
			return 0;
		v = v * 10 + (line[i] - '0');
	}
	if (i == digits || v == 0)
		return 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
		i++;
	if (i != len)
		return 0;
	*secs = v;
	return 1;
}

/* ---- callbacks ---- */

static int
kube_is_2xx(long code)
{
	return code >= 200 && code < 300;
}

static size_t
kube_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct kube_xfer *x = arg;
	size_t len = size * n;
	long code = 0;
	clock_gettime(CLOCK_MONOTONIC, &x->x_last);
	curl_easy_getinfo(x->x_easy, CURLINFO_RESPONSE_CODE, &code);
	if (!kube_is_2xx(code)) {
		/* Only the Status object matters in an error body; the rest may be dropped. */
		size_t room = x->x_errbody.b_max - x->x_errbody.b_len;
		buf_append(&x->x_errbody, p, len < room ? len : room);
		return len;
	}
	if (x->x_fn) {
		int rc = x->x_fn(x->x_arg, p, len);
		if (rc != CC_OK) {
			x->x_fn_rc = rc;
			return 0; /* makes curl stop with CURLE_WRITE_ERROR */
		}
		return len;
	}
	if (x->x_body && buf_append(x->x_body, p, len) != CC_OK) {
		x->x_toobig = 1;
		return 0;
	}
	return len;
}

static size_t
kube_on_header(char *p, size_t size, size_t n, void *arg)
{
	struct kube_xfer *x = arg;
	size_t len = size * n;
	clock_gettime(CLOCK_MONOTONIC, &x->x_last);
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		x->x_retry_after = 0; /* a new response (after 100 Continue) starts over */
		return len;
	}
	long secs;
	if (kube_retry_after_header(p, len, &secs))
		x->x_retry_after = secs;
	return len;
}

/* ---- result mapping ---- */

static int
kube_map_status(long code)
{
	if (kube_is_2xx(code))
		return CC_OK;
	switch (code) {
	case 400: return CC_ERR_INVAL;
	case 401: return CC_ERR_UNAUTHORIZED;
	case 403: return CC_ERR_FORBIDDEN;
	case 404: return CC_ERR_NOTFOUND;
	case 409: return CC_ERR_CONFLICT;
	case 410: return CC_ERR_GONE;
	case 413: return CC_ERR_TOOBIG;
	case 422: return CC_ERR_INVALID_OBJECT;
	case 429: return CC_ERR_UNAVAILABLE;
	case 504: return CC_ERR_TIMEOUT;
	}
	if (code >= 500 && code < 600)
		return CC_ERR_UNAVAILABLE;
	return CC_ERR_HTTP;
}

static int
kube_map_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return CC_ERR_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return CC_ERR_UNAVAILABLE;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return CC_ERR_TLS;
	case CURLE_URL_MALFORMAT:
		return CC_ERR_INVAL;
	default:
		return CC_ERR_IO;
	}
}

/* Copy printable text, so a binary or HTML error page cannot mangle a log line. */
static void
kube_snippet(char *dst, size_t dstsz, const char *src, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < dstsz; i++) {
		unsigned char ch = (unsigned char)src[i];
		dst[k++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : ' ';
	}
	dst[k] = '\0';
}

void
kube_error_from_response(struct kube_error *err, long code, const char *body, size_t len,
    long retry_after_hdr)
{
	err->ke_http = code;
	err->ke_reason[0] = '\0';
	err->ke_retry_after = retry_after_hdr > 0 && retry_after_hdr <= KUBE_RETRY_AFTER_MAX
	    ? retry_after_hdr : 0;
	cJSON *root = len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *kind = root ? cJSON_GetObjectItemCaseSensitive(root, "kind") : NULL;
	if (cJSON_IsString(kind) && strcmp(kind->valuestring, "Status") == 0) {
		const cJSON *reason = cJSON_GetObjectItemCaseSensitive(root, "reason");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
		const cJSON *det = cJSON_GetObjectItemCaseSensitive(root, "details");
		const cJSON *ra = cJSON_IsObject(det)
		    ? cJSON_GetObjectItemCaseSensitive(det, "retryAfterSeconds") : NULL;
		if (cJSON_IsString(reason))
			xstrlcpy(err->ke_reason, reason->valuestring, sizeof err->ke_reason);
		if (cJSON_IsString(msg))
			xstrlcpy(err->ke_message, msg->valuestring, sizeof err->ke_message);
		else
			snprintf(err->ke_message, sizeof err->ke_message, "HTTP %ld", code);
		/* The header is the transport's word; the Status detail fills in when it is absent. */
		if (!err->ke_retry_after && cJSON_IsNumber(ra) && ra->valuedouble >= 1 &&
		    ra->valuedouble <= KUBE_RETRY_AFTER_MAX)
			err->ke_retry_after = (long)ra->valuedouble;
	} else {
		char snip[200];
		kube_snippet(snip, sizeof snip, body ? body : "", len < 160 ? len : 160);
		snprintf(err->ke_message, sizeof err->ke_message, "HTTP %ld%s%s", code,
		    snip[0] ? ": " : "", snip);
	}
	cJSON_Delete(root);
}

/* ---- one transfer ---- */

struct kube_call {
	const char *kc_verb;         /* HTTP method */
	const char *kc_stat_verb;    /* label for the counters */
	const char *kc_path;         /* path and query */
	const char *kc_ctype;        /* request content type */
	const char *kc_body;         /* request body or NULL */
	int kc_stream;               /* no overall timeout; idle timeout instead */
	long kc_idle_ms;             /* for streams; <= 0 none */
};

static void
kube_set_blob(CURL *e, CURLoption opt, const char *data, size_t len)
{
	struct curl_blob b = {.data = (void *)data, .len = len, .flags = CURL_BLOB_COPY};
	curl_easy_setopt(e, opt, &b);
}

enum kube_end { KUBE_END_DONE, KUBE_END_CANCELED, KUBE_END_IDLE };

/*
 * Run the slot's transfer until curl finishes it, the client is canceled, or a stream has been
 * silent for its idle limit. curl_multi_poll sleeps until there is I/O, a curl timer fires, or
 * kube_client_cancel wakes it. *result gets curl's verdict when the transfer finished.
 */
static enum kube_end
kube_drive(struct kube_client *c, struct kube_slot *s, const struct kube_call *call,
    struct kube_xfer *x, CURLcode *result, char *curlerr)
{
	clock_gettime(CLOCK_MONOTONIC, &x->x_last);
	*result = CURLE_OK;
	if (curl_multi_add_handle(s->s_multi, s->s_easy) != CURLM_OK)
		fatalx("curl_multi_add_handle failed");
	for (;;) {
		int running = 0;
		CURLMcode mc = curl_multi_perform(s->s_multi, &running);
		if (mc != CURLM_OK) {
			snprintf(curlerr, CURL_ERROR_SIZE, "%s", curl_multi_strerror(mc));
			*result = CURLE_RECV_ERROR;
			return KUBE_END_DONE;
		}
		int left, done = 0;
		CURLMsg *m;
		while ((m = curl_multi_info_read(s->s_multi, &left))) {
			if (m->msg == CURLMSG_DONE && m->easy_handle == s->s_easy) {
				*result = m->data.result;
				done = 1;
			}
		}
		if (done || !running)
			return KUBE_END_DONE;
		if (atomic_load(&c->c_canceled))
			return KUBE_END_CANCELED;
		long wait = 1000;
		if (call->kc_stream && call->kc_idle_ms > 0) {
			long left_ms = call->kc_idle_ms - kube_ms_since(&x->x_last);
			if (left_ms <= 0)
				return KUBE_END_IDLE;
			if (left_ms < wait)
				wait = left_ms;
		}
		curl_multi_poll(s->s_multi, NULL, 0, (int)wait, NULL);
	}
}

/*
 * Run one attempt with the credentials in cr. Returns the cc_err for the outcome, *http the
 * status (0 when none).
 */
static int
kube_attempt(struct kube_client *c, const struct kube_call *call, const struct kube_cred *cr,
    struct kube_xfer *x, long *http, struct kube_error *err)
{
	struct kube_slot *s = kube_slot_get(c);
	CURL *e = s->s_easy;
	struct curl_slist *hdrs = NULL;
	char *auth = NULL, *ctype = NULL, *url = NULL;
	char curlerr[CURL_ERROR_SIZE] = "";
	int rc = CC_OK;
	CURLcode result = CURLE_OK;

	*http = 0;
	curl_easy_reset(e);
	x->x_easy = e;
	url = xasprintf("%s%s", c->c_base, call->kc_path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->c_user_agent);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->c_connect_timeout_ms);
	if (!call->kc_stream)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->c_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, kube_on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, kube_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	if (c->c_connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->c_connect_to);

	const struct kube_config *cfg = c->c_cfg;
	if (cfg->kc_insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (cfg->kc_ca_pem)
		kube_set_blob(e, CURLOPT_CAINFO_BLOB, cfg->kc_ca_pem, cfg->kc_ca_len);
	if (cr->cr_cert_pem && cr->cr_key_pem) {
		kube_set_blob(e, CURLOPT_SSLCERT_BLOB, cr->cr_cert_pem, cr->cr_cert_len);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		kube_set_blob(e, CURLOPT_SSLKEY_BLOB, cr->cr_key_pem, cr->cr_key_len);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}

	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
	if (cr->cr_token) {
		auth = xasprintf("Authorization: Bearer %s", cr->cr_token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (strcmp(call->kc_verb, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		if (call->kc_body || strcmp(call->kc_verb, "DELETE") != 0) {
			const char *b = call->kc_body ? call->kc_body : "";
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(b));
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, b);
			ctype = xasprintf("Content-Type: %s",
			    call->kc_ctype ? call->kc_ctype : "application/json");
			hdrs = curl_slist_append(hdrs, ctype);
		}
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->kc_verb);
	}
	if (!hdrs)
		fatalx("curl_slist_append failed");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);

	enum kube_end how = kube_drive(c, s, call, x, &result, curlerr);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, http);
	/* Removing a handle mid-transfer aborts it and closes that connection. */
	curl_multi_remove_handle(s->s_multi, e);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);

	if (how == KUBE_END_CANCELED) {
		rc = CC_ERR_CANCELED;
		kube_err_set(err, *http, NULL, "canceled");
	} else if (how == KUBE_END_IDLE) {
		rc = CC_ERR_TIMEOUT;
		kube_err_set(err, *http, NULL, "no data for %ld ms", call->kc_idle_ms);
	} else if (x->x_fn_rc != CC_OK) {
		rc = x->x_fn_rc;
		kube_err_set(err, *http, NULL, "stream stopped by its consumer: %s", cc_strerror(rc));
	} else if (x->x_toobig) {
		rc = CC_ERR_TOOBIG;
		kube_err_set(err, *http, NULL, "response body larger than %zu bytes",
		    x->x_body ? x->x_body->b_max : (size_t)0);
	} else if (*http && !kube_is_2xx(*http)) {
		/* The status decides even if the body was cut short. */
		rc = kube_map_status(*http);
		if (err)
			kube_error_from_response(err, *http, x->x_errbody.b_data,
			    x->x_errbody.b_len, x->x_retry_after);
	} else if (result != CURLE_OK) {
		rc = kube_map_curl(result);
		kube_err_set(err, *http, NULL, "%s", curlerr[0] ? curlerr : curl_easy_strerror(result));
	} else if (!*http) {
		rc = CC_ERR_IO;
		kube_err_set(err, 0, NULL, "no response");
	}
	kube_count(c, call->kc_stat_verb, *http);
	long ver = 0;
	curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &ver);
	log_debug("%s %s -> %ld over %s: %s", call->kc_stat_verb, call->kc_path, *http,
	    ver == CURL_HTTP_VERSION_2_0 ? "HTTP/2" : ver ? "HTTP/1.1" : "nothing", cc_strerror(rc));

	curl_slist_free_all(hdrs);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	free(ctype);
	free(url);
	kube_slot_put(c, s);
	return rc;
}

/* Cut b back to len bytes (len <= b_len); buf.h has no such call, and only this file needs it. */
static void
kube_buf_truncate(struct buf *b, size_t len)
{
	if (len >= b->b_len)
		return;
	b->b_len = len;
	b->b_data[len] = '\0';
}

/*
 * The request/stream driver: credentials, pacing, one attempt, and one retry after a 401 when
 * the credentials can be refreshed (rotated token file, exec plugin).
 */
static int
kube_call_run(struct kube_client *c, const struct kube_call *call, struct buf *body,
    kube_chunk_fn fn, void *arg, long *http_status, struct kube_error *err)
{
	struct kube_error scratch;
	long http = 0;
	int rc = CC_OK;
	if (!err)
		err = &scratch;
	memset(err, 0, sizeof *err);
	if (http_status)
		*http_status = 0;
	if (!call->kc_path || call->kc_path[0] != '/') {
		kube_err_set(err, 0, NULL, "path must start with '/'");
		return CC_ERR_INVAL;
	}
	if (atomic_load(&c->c_canceled)) {
		kube_err_set(err, 0, NULL, "canceled");
		return CC_ERR_CANCELED;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!call->kc_stream && (rc = kube_pace(c)) != CC_OK) {
			kube_err_set(err, 0, NULL, "canceled");
			return rc;
		}
		struct kube_cred cr;
		char cerr[256] = "";
		rc = kubeconfig_credentials(c->c_cfg, time(NULL), attempt > 0, &cr, cerr, sizeof cerr);
		if (rc != CC_OK) {
			kube_err_set(err, 0, NULL, "credentials: %s", cerr);
			return rc;
		}
		struct kube_xfer x = {.x_body = body, .x_fn = fn, .x_arg = arg};
		buf_init(&x.x_errbody, KUBE_ERRBODY_MAX);
		size_t body_start = body ? body->b_len : 0;
		rc = kube_attempt(c, call, &cr, &x, &http, err);
		kubeconfig_cred_clear(&cr);
		if (rc != CC_OK && body) {
			/* No partial 2xx body survives a failure; an error body is kept if it fits. */
			kube_buf_truncate(body, body_start);
			if (x.x_errbody.b_len)
				buf_append(body, x.x_errbody.b_data, x.x_errbody.b_len);
		}
		buf_free(&x.x_errbody);
		if (http_status)
			*http_status = http;
		if (rc == CC_ERR_UNAUTHORIZED && attempt == 0 && kubeconfig_refreshable(c->c_cfg)) {
			log_info("%s %s: 401, refreshing credentials and retrying once", call->kc_verb,
			    call->kc_stream ? "(watch)" : "(request)");
			if (body)
				kube_buf_truncate(body, body_start);
			continue;
		}
		break;
	}
	return rc;
}

int
kube_request(struct kube_client *c, const char *verb, const char *path, const char *content_type,
    const char *body, struct buf *resp_body, long *http_status, struct kube_error *err)
{
	static const char *const verbs[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
	const char *v = NULL;
	for (size_t i = 0; verb && i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verb, verbs[i]) == 0)
			v = verbs[i];
	if (!v) {
		if (err) {
			memset(err, 0, sizeof *err);
			kube_err_set(err, 0, NULL, "unsupported verb");
		}
		if (http_status)
			*http_status = 0;
		return CC_ERR_INVAL;
	}
	struct kube_call call = {.kc_verb = v, .kc_stat_verb = v, .kc_path = path,
	    .kc_ctype = content_type, .kc_body = body};
	return kube_call_run(c, &call, resp_body, NULL, NULL, http_status, err);
}

int
kube_stream(struct kube_client *c, const char *path, long idle_timeout_ms, kube_chunk_fn fn,
    void *arg, struct kube_error *err)
{
	struct kube_call call = {.kc_verb = "GET", .kc_stat_verb = "WATCH", .kc_path = path,
	    .kc_stream = 1, .kc_idle_ms = idle_timeout_ms};
	return kube_call_run(c, &call, NULL, fn, arg, NULL, err);
}
