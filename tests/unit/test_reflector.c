/*
 * reflector against the scripted test HTTP server and a real store: pagination, watch events,
 * bookmarks, both kinds of 410, bad lines, 403, errors, the one-shot list and the set.
 *
 * Waits poll the store or the counters with a generous bound; the bound only stops a broken
 * build from hanging, nothing asserts how long anything took.
 */
#include "reflector.h"

#include "cc_err.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "log.h"
#include "resource.h"
#include "store.h"
#include "testhttp.h"
#include "xalloc.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CERTS "/apis/cert-manager.io/v1/certificates"
#define LIST2 CERTS "?limit=2"
#define WATCH CERTS "?watch=1"

/* ---- fixture ---- */

struct fx {
	struct th_server *f_srv;      /* scripted API server */
	struct kube_client *f_client; /* pointed at it */
	struct store *f_store;        /* real store */
	struct refl *f_refl;          /* under test, or NULL */
	pthread_mutex_t f_mu;         /* guards f_notes */
	char f_notes[4096];           /* "ns/name;" per store notification */
	char f_logpath[64];           /* captured log lines */
	int f_logfd;                  /* open on f_logpath */
};

static void
fx_notify(void *arg, const char *ns, const char *name)
{
	struct fx *f = arg;
	pthread_mutex_lock(&f->f_mu);
	size_t n = strlen(f->f_notes);
	snprintf(f->f_notes + n, sizeof f->f_notes - n, "%s/%s;", ns, name);
	pthread_mutex_unlock(&f->f_mu);
}

static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->f_mu, NULL);
	cr_assert(th_server_start(NULL, &f->f_srv) == CC_OK);
	struct kube_config cfg = {0};
	cfg.kc_server = (char *)th_server_url(f->f_srv);
	cfg.kc_namespace = "default";
	struct kube_client_opts co = {.kco_qps = -1}; /* no pacing in tests */
	struct kube_error err;
	cr_assert(kube_client_new(&cfg, &co, &f->f_client, &err) == CC_OK, "%s", err.ke_message);
	f->f_store = store_new();
	store_set_notify(f->f_store, fx_notify, f);
	snprintf(f->f_logpath, sizeof f->f_logpath, "/tmp/test_reflector.%d.log", (int)getpid());
	f->f_logfd = open(f->f_logpath, O_CREAT | O_TRUNC | O_RDWR, 0600);
	cr_assert(f->f_logfd >= 0);
	log_set_fd(f->f_logfd);
}

/* Options for the certificates descriptor with fast retries. */
static struct refl_opts
fx_opts(struct fx *f)
{
	struct refl_opts o = {
		.ro_client = f->f_client,
		.ro_store = f->f_store,
		.ro_desc = &res_table()[RES_CERTIFICATE],
		.ro_page_limit = 2,
		.ro_backoff_base = 0.01,
		.ro_backoff_cap = 0.05,
		.ro_forbidden_delay = 0.05,
		.ro_short_watch = -1,
	};
	return o;
}

static void
fx_start(struct fx *f, const struct refl_opts *o)
{
	cr_assert(refl_new(o, &f->f_refl) == CC_OK);
	cr_assert(refl_start(f->f_refl) == CC_OK);
	cr_assert(refl_start(f->f_refl) == CC_ERR_STATE, "started twice");
}

static void
fx_fini(struct fx *f)
{
	if (f->f_refl) {
		refl_stop(f->f_refl);
		kube_client_cancel(f->f_client); /* ends a held watch at once */
		refl_join(f->f_refl);
		refl_free(f->f_refl);
	}
	kube_client_free(f->f_client);
	th_server_free(f->f_srv);
	store_free(f->f_store);
	log_set_fd(-1);
	close(f->f_logfd);
	unlink(f->f_logpath);
	pthread_mutex_destroy(&f->f_mu);
}

/* The captured log so far; the caller frees it. */
static char *
fx_log(struct fx *f)
{
	FILE *fp = fopen(f->f_logpath, "r");
	cr_assert(fp);
	char *out = xcalloc(1, 1 << 20);
	size_t n = fread(out, 1, (1 << 20) - 1, fp);
	out[n] = '\0';
	fclose(fp);
	return out;
}

static int
fx_has_note(struct fx *f, const char *key)
{
	char want[300];
	snprintf(want, sizeof want, "%s;", key);
	pthread_mutex_lock(&f->f_mu);
	int found = strstr(f->f_notes, want) != NULL;
	pthread_mutex_unlock(&f->f_mu);
	return found;
}

static int
cert_present(struct fx *f, const char *ns, const char *name)
{
	store_rdlock(f->f_store);
	int found = store_cert_get(f->f_store, ns, name) != NULL;
	store_unlock(f->f_store);
	return found;
}

static size_t
cert_count(struct fx *f)
{
	store_rdlock(f->f_store);
	size_t n = store_count(f->f_store, RES_CERTIFICATE);
	store_unlock(f->f_store);
	return n;
}

/* Poll cond(f, arg) every 5 ms for at most 20 s. */
static int
wait_for(int (*cond)(struct fx *, const void *), struct fx *f, const void *arg)
{
	for (int i = 0; i < 4000; i++) {
		if (cond(f, arg))
			return 1;
		usleep(5000);
	}
	return cond(f, arg);
}

static int
c_synced(struct fx *f, const void *arg)
{
	(void)arg;
	return refl_has_synced(f->f_refl);
}

struct cnt {
	enum refl_stat c_what;   /* family */
	const char *c_label;     /* series */
	unsigned long long c_at_least; /* wanted */
};

static int
c_counter(struct fx *f, const void *arg)
{
	const struct cnt *c = arg;
	return refl_counter(f->f_refl, c->c_what, c->c_label) >= c->c_at_least;
}

static int
c_requests(struct fx *f, const void *arg)
{
	return th_server_request_count(f->f_srv) >= *(const size_t *)arg;
}

/* The i-th recorded request whose target starts with prefix, or NULL. */
static const struct th_request *
nth_request(struct fx *f, const char *prefix, int i)
{
	size_t n = th_server_request_count(f->f_srv);
	for (size_t k = 0; k < n; k++) {
		const struct th_request *r = th_server_request(f->f_srv, k);
		if (strncmp(r->tr_target, prefix, strlen(prefix)) == 0 && i-- == 0)
			return r;
	}
	return NULL;
}

static int
count_requests(struct fx *f, const char *prefix)
{
	int n = 0;
	while (nth_request(f, prefix, n))
		n++;
	return n;
}

/* Value of query parameter name in target, copied into out; 0 when absent. */
static int
query_param(const char *target, const char *name, char *out, size_t outsz)
{
	char key[64];
	snprintf(key, sizeof key, "%s=", name);
	const char *q = strchr(target, '?');
	while (q) {
		q++;
		if (strncmp(q, key, strlen(key)) == 0) {
			q += strlen(key);
			size_t n = strcspn(q, "&");
			if (n >= outsz)
				n = outsz - 1;
			memcpy(out, q, n);
			out[n] = '\0';
			return 1;
		}
		q = strchr(q, '&');
	}
	return 0;
}

/* ---- JSON builders ---- */

#define CERT(ns, name, rv) \
	"{\"apiVersion\":\"cert-manager.io/v1\",\"kind\":\"Certificate\",\"metadata\":{" \
	"\"name\":\"" name "\",\"namespace\":\"" ns "\",\"resourceVersion\":\"" rv "\"}," \
	"\"spec\":{\"secretName\":\"" \
	name "-tls\",\"dnsNames\":[\"" name ".example.com\"],\"issuerRef\":{\"name\":\"ca\"," \
	"\"kind\":\"Issuer\"}}}"
/* List items carry no kind, as the API server sends them. */
#define ITEM(ns, name, rv) \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\",\"resourceVersion\":\"" rv \
	"\"},\"spec\":{\"secretName\":\"" name "-tls\"}}"
#define LIST(rv, cont, items) \
	"{\"kind\":\"CertificateList\",\"apiVersion\":\"cert-manager.io/v1\",\"metadata\":{" \
	"\"resourceVersion\":\"" rv "\"" cont "},\"items\":[" items "]}"
#define CONT(tok) ",\"continue\":\"" tok "\""
#define EV(type, obj) "{\"type\":\"" type "\",\"object\":" obj "}\n"
#define BOOKMARK(rv) \
	EV("BOOKMARK", "{\"kind\":\"Certificate\",\"apiVersion\":\"cert-manager.io/v1\"," \
	"\"metadata\":{\"resourceVersion\":\"" rv "\"}}")
#define STATUS_OBJ(code, reason, msg) \
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\"," \
	"\"message\":\"" msg "\",\"reason\":\"" reason "\",\"code\":" #code "}"

static void
route(struct fx *f, const char *prefix, int status, const char *body, int times)
{
	struct th_route r = {.tr_method = "GET", .tr_prefix = prefix, .tr_status = status,
	    .tr_body = body, .tr_times = times};
	cr_assert(th_server_add_route(f->f_srv, &r) == CC_OK);
}

static void
stream_route(struct fx *f, const char *prefix, const char *const *chunks, int hold, int times)
{
	struct th_route r = {.tr_method = "GET", .tr_prefix = prefix, .tr_status = 200,
	    .tr_chunks = chunks, .tr_hold = hold, .tr_times = times};
	cr_assert(th_server_add_route(f->f_srv, &r) == CC_OK);
}

static const char *const no_chunks[] = {NULL};

/* ---- tests ---- */

Test(reflector, paginates_then_watches_from_the_final_version)
{
	struct fx f;
	fx_init(&f);
	/* Tokens with characters that must be percent-encoded in the query. */
	route(&f, LIST2 "&continue=t2%2B%2F%3D", 200,
	    LIST("103", "", ITEM("a", "e", "5")), 0);
	route(&f, LIST2 "&continue=t1%3D%3D", 200,
	    LIST("102", CONT("t2+/="), ITEM("a", "c", "3") "," ITEM("b", "d", "4")), 0);
	route(&f, LIST2, 200,
	    LIST("101", CONT("t1=="), ITEM("a", "a", "1") "," ITEM("a", "b", "2")), 0);
	stream_route(&f, WATCH, no_chunks, 1, 0);
	struct refl_opts o = fx_opts(&f);
	fx_start(&f, &o);

	cr_assert(wait_for(c_synced, &f, NULL), "never synced");
	cr_expect(cert_count(&f) == 5, "%zu certificates", cert_count(&f));
	cr_expect(cert_present(&f, "b", "d") && cert_present(&f, "a", "e"));
	size_t want = 4;
	cr_assert(wait_for(c_requests, &f, &want));
	cr_expect(count_requests(&f, LIST2) == 3);
	const struct th_request *w = nth_request(&f, WATCH, 0);
	cr_assert(w, "no watch request");
	char v[64];
	cr_expect(query_param(w->tr_target, "resourceVersion", v, sizeof v) &&
	    strcmp(v, "103") == 0,
	    "watch from %s", w->tr_target);
	cr_expect(query_param(w->tr_target, "allowWatchBookmarks", v, sizeof v) &&
	    strcmp(v, "true") == 0);
	cr_assert(query_param(w->tr_target, "timeoutSeconds", v, sizeof v));
	long t = strtol(v, NULL, 10);
	cr_expect(t >= 300 && t <= 600, "timeoutSeconds %ld", t);
	char rv[32];
	refl_resource_version(f.f_refl, rv, sizeof rv);
	cr_expect_str_eq(rv, "103");
	cr_expect(refl_counter(f.f_refl, REFL_STAT_EVENTS, "invalid") == 0);
	fx_fini(&f);
}

static const char *const events_chunks[] = {
	/* Cut in the middle of lines on purpose. */
	EV("ADDED", CERT("ns", "b", "6")) "{\"type\":\"MODI",
	"FIED\",\"object\":" CERT("ns", "a", "7") "}\n" EV("DELETED", CERT("ns", "a", "8")),
	BOOKMARK("20"),
	NULL,
};

Test(reflector, applies_watch_events_and_bookmarks)
{
	struct fx f;
	fx_init(&f);
	route(&f, LIST2, 200, LIST("5", "", ITEM("ns", "a", "5")), 0);
	stream_route(&f, WATCH, events_chunks, 1, 0);
	struct refl_opts o = fx_opts(&f);
	fx_start(&f, &o);

	struct cnt bm = {REFL_STAT_EVENTS, "BOOKMARK", 1};
	cr_assert(wait_for(c_counter, &f, &bm), "bookmark never arrived");
	cr_expect(cert_present(&f, "ns", "b"));
	cr_expect(!cert_present(&f, "ns", "a"), "a deleted by the watch is still there");
	cr_expect(refl_counter(f.f_refl, REFL_STAT_EVENTS, "ADDED") == 1);
	cr_expect(refl_counter(f.f_refl, REFL_STAT_EVENTS, "MODIFIED") == 1);
	cr_expect(refl_counter(f.f_refl, REFL_STAT_EVENTS, "DELETED") == 1);
	cr_expect(refl_counter(f.f_refl, REFL_STAT_EVENTS, "invalid") == 0);
	char rv[32];
	refl_resource_version(f.f_refl, rv, sizeof rv);
	cr_expect_str_eq(rv, "20");
	cr_expect(fx_has_note(&f, "ns/a") && fx_has_note(&f, "ns/b"));
	fx_fini(&f);
}

static const char *const bookmark_then_end[] = {BOOKMARK("50"), NULL};

Test(reflector, stream_end_rewatches_from_the_bookmark_without_relist)
{
	struct fx f;
	fx_init(&f);
	route(&f, LIST2, 200, LIST("5", "", ITEM("ns", "a", "5")), 1);
	stream_route(&f, WATCH, bookmark_then_end, 0, 1);
	stream_route(&f, WATCH, no_chunks, 1, 0);
	struct refl_opts o = fx_opts(&f);
	fx_start(&f, &o);

	struct cnt re = {REFL_STAT_RESTARTS, "timeout", 1};
	cr_assert(wait_for(c_counter, &f, &re));
	size_t want = 3;
	cr_assert(wait_for(c_requests, &f, &want));
	const struct th_request *w = nth_request(&f, WATCH, 1);
	cr_assert(w);
	char v[64];
	cr_expect(query_param(w->tr_target, "resourceVersion", v, sizeof v) && strcmp(v, "50") == 0,
	    "second watch: %s", w->tr_target);
	cr_expect(count_requests(&f, LIST2) == 1, "relisted after a normal stream end");
	cr_expect(refl_counter(f.f_refl, REFL_STAT_RESTARTS, "gone") == 0);
	cr_expect(cert_present(&f, "ns", "a"));
	fx_fini(&f);
}

static const char *const error_410[] = {
	EV("ERROR", STATUS_OBJ(410, "Expired", "too old resource version: 5 (90)")),
	EV("ADDED", CERT("ns", "never", "91")), /* after the error: must not be applied */
	NULL,
};

static int
c_gone_applied(struct fx *f, const void *arg)
{
	(void)arg;
	return !cert_present(f, "ns", "a") && cert_present(f, "ns", "c") &&
	    refl_counter(f->f_refl, REFL_STAT_RESTARTS, "gone") >= 1;
}

/* Both flavours of 410 lead to a relist that deletes what vanished meanwhile. */
static void
relist_case(int in_stream)
{
	struct fx f;
	fx_init(&f);
	route(&f, LIST2, 200, LIST("5", "", ITEM("ns", "a", "4") "," ITEM("ns", "b", "5")), 1);
	if (in_stream)
		stream_route(&f, WATCH, error_410, 1, 1);
	else
		route(&f, WATCH, 410, STATUS_OBJ(410, "Gone", "resource version too old"), 1);
	route(&f, LIST2, 200, LIST("100", "", ITEM("ns", "b", "5") "," ITEM("ns", "c", "99")), 0);
	stream_route(&f, WATCH, no_chunks, 1, 0);
	struct refl_opts o = fx_opts(&f);
	fx_start(&f, &o);

	cr_assert(wait_for(c_gone_applied, &f, NULL), "relist did not happen (in_stream %d)",
	    in_stream);
	cr_expect(cert_present(&f, "ns", "b"));
	cr_expect(!cert_present(&f, "ns", "never"), "event after the ERROR was applied");
	cr_expect(fx_has_note(&f, "ns/a"), "no notification for the synthesised deletion");
	size_t want = 4;
	cr_assert(wait_for(c_requests, &f, &want));
	const struct th_request *w = nth_request(&f, WATCH, 1);
	cr_assert(w);
	char v[64];
	cr_expect(query_param(w->tr_target, "resourceVersion", v, sizeof v) &&
	    strcmp(v, "100") == 0,
	    "watch after relist: %s", w->tr_target);
	cr_expect(refl_counter(f.f_refl, REFL_STAT_EVENTS, "ERROR") == (in_stream ? 1u : 0u));
	cr_expect(refl_counter(f.f_refl, REFL_STAT_RESTARTS, "gone") == 1);
	cr_expect(refl_counter(f.f_refl, REFL_STAT_RESTARTS, "error") == 0);
	char *log = fx_log(&f);
	cr_expect(strstr(log, "relist removed 1 vanished"), "log: %s", log);
	free(log);
	fx_fini(&f);
}

Test(reflector, in_stream_error_410_relists_and_deletes_vanished)
{
	relist_case(1);
}

Test(reflector, http_410_on_watch_relists_and_deletes_vanished)
{
	relist_case(0);
}

/* A line longer than the 512-byte limit used in the bad-lines test. */
#define LONG64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define LONG512 LONG64 LONG64 LONG64 LONG64 LONG64 LONG64 LONG64 LONG64

static const char *const bad_lines[] = {
	"this is not json\n",                                        /* line 1, byte 0 */
	"{\"type\":\"ADDED\",\"object\":\"" LONG512 "\"}\n",         /* 2: oversize */
	"{\"type\":\"ADDED\",\"object\":\"a string\"}\n",            /* 3 */
	"{\"type\":5,\"object\":" CERT("ns", "t", "9") "}\n",        /* 4 */
	"{\"type\":\"ADDED\",\"object\":{\"spec\":{}}}\n",           /* 5: no metadata */
	"{\"object\":" CERT("ns", "u", "9") "}\n",                   /* 6: no type */
	"{\"type\":\"ADDED\"}\n",                                    /* 7: no object */
	"[1,2,3]\n",                                                 /* 8: not an object */
	"{\"type\":\"SURPRISE\",\"object\":{}}\n",                   /* 9 */
	"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}\n",     /* 10 */
	"\n",                                                        /* 11: blank, ignored */
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}}}\n", /* 12: no namespace */
	EV("ADDED", CERT("ns", "good", "30")),                        /* 13: fine */
	"{\"type\":\"ADDED\",\"obj",                                  /* 14: truncated */
	NULL,
};

Test(reflector, bad_lines_are_logged_counted_and_skipped)
{
	struct fx f;
	fx_init(&f);
	route(&f, LIST2, 200, LIST("5", "", ""), 1);
	stream_route(&f, WATCH, bad_lines, 0, 1);
	stream_route(&f, WATCH, no_chunks, 1, 0);
	struct refl_opts o = fx_opts(&f);
	o.ro_max_line = 512;
	fx_start(&f, &o);

	struct cnt re = {REFL_STAT_RESTARTS, "timeout", 1};
	cr_assert(wait_for(c_counter, &f, &re), "stream end not seen");
	cr_expect(cert_present(&f, "ns", "good"), "valid event after bad lines was lost");
	cr_expect(cert_count(&f) == 1);
	cr_expect(refl_counter(f.f_refl, REFL_STAT_EVENTS, "invalid") == 12, "invalid %llu",
	    refl_counter(f.f_refl, REFL_STAT_EVENTS, "invalid"));
	cr_expect(refl_counter(f.f_refl, REFL_STAT_EVENTS, "ADDED") == 1);
	char rv[32];
	refl_resource_version(f.f_refl, rv, sizeof rv);
	cr_expect_str_eq(rv, "30");

	char *log = fx_log(&f);
	static const char *const want[] = {
		"certificates: watch line 1 (stream byte 0): not JSON",
		"watch line 2 (stream byte 17): line longer than the 512-byte limit",
		"watch line 3 ", "\"object\" is a string, not an object",
		"watch line 4 ", "\"type\" is a number, not a string",
		"watch line 5 ", "metadata: missing",
		"watch line 6 ", "no \"type\"",
		"watch line 7 ", "no \"object\"",
		"watch line 8 ", "line is an array, not a JSON object",
		"watch line 9 ", "unknown event type \"SURPRISE\"",
		"watch line 10 ", "BOOKMARK without a usable metadata.resourceVersion",
		"watch line 12 ", "metadata.namespace: missing",
		"watch line 14 ", "stream ended inside a line",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_expect(strstr(log, want[i]), "log lacks \"%s\":\n%s", want[i], log);
	cr_expect(!strstr(log, "watch line 11 "), "blank line reported");
	cr_expect(!strstr(log, "watch line 13 "), "good line reported");
	free(log);
	fx_fini(&f);
}

static const char *const add_then_500[] = {
	EV("ADDED", CERT("ns", "x", "40")),
	EV("ERROR", STATUS_OBJ(500, "InternalError", "etcd is sad")),
	NULL,
};

Test(reflector, other_errors_back_off_and_rewatch_without_relist)
{
	struct fx f;
	fx_init(&f);
	route(&f, LIST2, 200, LIST("5", "", ""), 1);
	stream_route(&f, WATCH, add_then_500, 1, 1);
	route(&f, WATCH, 503, STATUS_OBJ(503, "ServiceUnavailable", "try later"), 1);
	stream_route(&f, WATCH, no_chunks, 1, 0);
	struct refl_opts o = fx_opts(&f);
	fx_start(&f, &o);

	struct cnt re = {REFL_STAT_RESTARTS, "error", 2};
	cr_assert(wait_for(c_counter, &f, &re));
	size_t want = 4;
	cr_assert(wait_for(c_requests, &f, &want));
	for (int i = 1; i <= 2; i++) {
		const struct th_request *w = nth_request(&f, WATCH, i);
		cr_assert(w);
		char v[64];
		cr_expect(query_param(w->tr_target, "resourceVersion", v, sizeof v) &&
		    strcmp(v, "40") == 0, "watch %d: %s", i, w->tr_target);
	}
	cr_expect(count_requests(&f, LIST2) == 1, "relisted after a non-410 error");
	cr_expect(cert_present(&f, "ns", "x"));
	cr_expect(refl_counter(f.f_refl, REFL_STAT_EVENTS, "ERROR") == 1);
	char *log = fx_log(&f);
	cr_expect(strstr(log, "code 500: etcd is sad"), "log: %s", log);
	free(log);
	fx_fini(&f);
}

Test(reflector, forbidden_is_logged_clearly_and_retried)
{
	struct fx f;
	fx_init(&f);
	route(&f, "/apis/cert-manager.io/v1/namespaces/team-a/certificates?limit=2", 403,
	    STATUS_OBJ(403, "Forbidden", "no"), 1);
	route(&f, "/apis/cert-manager.io/v1/namespaces/team-a/certificates?limit=2", 200,
	    LIST("7", "", ITEM("team-a", "z", "7")), 0);
	route(&f, "/apis/cert-manager.io/v1/namespaces/team-a/certificates?watch=1", 403,
	    STATUS_OBJ(403, "Forbidden", "no watch for you"), 1);
	stream_route(&f, "/apis/cert-manager.io/v1/namespaces/team-a/certificates?watch=1",
	    no_chunks, 1, 0);
	struct refl_opts o = fx_opts(&f);
	o.ro_namespace = "team-a";
	fx_start(&f, &o);

	struct cnt re = {REFL_STAT_RESTARTS, "forbidden", 2};
	cr_assert(wait_for(c_counter, &f, &re));
	cr_assert(wait_for(c_synced, &f, NULL));
	cr_expect(cert_present(&f, "team-a", "z"));
	char *log = fx_log(&f);
	cr_expect(strstr(log, "forbidden to list certificates.cert-manager.io in namespace "
	    "\"team-a\""), "log: %s", log);
	cr_expect(strstr(log, "forbidden to watch certificates.cert-manager.io in namespace "
	    "\"team-a\" (no watch for you)"), "log: %s", log);
	cr_expect(strstr(log, "RBAC"));
	free(log);
	fx_fini(&f);
}

Test(reflector, expired_continue_token_restarts_the_list)
{
	struct fx f;
	fx_init(&f);
	route(&f, LIST2 "&continue=p2", 410, STATUS_OBJ(410, "Expired",
	    "The provided continue parameter is too old"), 1);
	route(&f, LIST2 "&continue=p2", 200, LIST("60", "", ITEM("ns", "c", "60")), 0);
	route(&f, LIST2, 200, LIST("50", CONT("p2"), ITEM("ns", "a", "1") "," ITEM("ns", "b", "2")),
	    0);
	stream_route(&f, WATCH, no_chunks, 1, 0);
	struct refl_opts o = fx_opts(&f);
	fx_start(&f, &o);

	cr_assert(wait_for(c_synced, &f, NULL));
	cr_expect(cert_count(&f) == 3);
	cr_expect(count_requests(&f, LIST2) == 4, "%d list requests", count_requests(&f, LIST2));
	cr_expect(count_requests(&f, LIST2 "&continue=") == 2);
	cr_expect(refl_counter(f.f_refl, REFL_STAT_RESTARTS, "gone") == 1);
	char rv[32];
	refl_resource_version(f.f_refl, rv, sizeof rv);
	cr_expect_str_eq(rv, "60");
	fx_fini(&f);
}

Test(reflector, broken_list_body_backs_off_as_decode)
{
	struct fx f;
	fx_init(&f);
	route(&f, LIST2, 200, "{\"kind\":\"CertificateList\",\"items\":[", 1);
	route(&f, LIST2, 200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"1\"}}", 1);
	route(&f, LIST2, 200, LIST("9", "", ITEM("ns", "a", "9") ",\"junk\""), 0);
	stream_route(&f, WATCH, no_chunks, 1, 0);
	struct refl_opts o = fx_opts(&f);
	fx_start(&f, &o);

	cr_assert(wait_for(c_synced, &f, NULL));
	cr_expect(refl_counter(f.f_refl, REFL_STAT_RESTARTS, "decode") == 2);
	cr_expect(refl_counter(f.f_refl, REFL_STAT_EVENTS, "invalid") == 1,
	    "junk item not counted");
	cr_expect(cert_present(&f, "ns", "a"));
	char *log = fx_log(&f);
	cr_expect(strstr(log, "LIST page 1: not JSON"), "log: %s", log);
	cr_expect(strstr(log, "LIST page 1: kind is PodList, want CertificateList"), "log: %s",
	    log);
	cr_expect(strstr(log, "LIST page 1 item 2: a string, not an object"), "log: %s", log);
	free(log);
	fx_fini(&f);
}

Test(reflector, stop_interrupts_a_backoff_sleep)
{
	struct fx f;
	fx_init(&f);
	route(&f, LIST2, 500, STATUS_OBJ(500, "InternalError", "down"), 0);
	struct refl_opts o = fx_opts(&f);
	o.ro_backoff_base = 3600;
	o.ro_backoff_cap = 3600;
	fx_start(&f, &o);
	struct cnt re = {REFL_STAT_RESTARTS, "error", 1};
	cr_assert(wait_for(c_counter, &f, &re));
	/* Without a client cancel: the flag alone must wake the hour-long sleep. */
	refl_stop(f.f_refl);
	refl_join(f.f_refl);
	cr_expect(!refl_has_synced(f.f_refl));
	refl_free(f.f_refl);
	f.f_refl = NULL;
	fx_fini(&f);
}

/* A watch that closes at once without a line is a fault, not a normal end: back off. */
Test(reflector, empty_short_watch_counts_as_an_error)
{
	struct fx f;
	fx_init(&f);
	route(&f, LIST2, 200, LIST("5", "", ""), 1);
	stream_route(&f, WATCH, no_chunks, 0, 1);
	stream_route(&f, WATCH, no_chunks, 1, 0);
	struct refl_opts o = fx_opts(&f);
	o.ro_short_watch = 60; /* generous, so a slow machine cannot turn it into a normal end */
	fx_start(&f, &o);

	struct cnt re = {REFL_STAT_RESTARTS, "error", 1};
	cr_assert(wait_for(c_counter, &f, &re));
	size_t want = 3;
	cr_assert(wait_for(c_requests, &f, &want));
	cr_expect(refl_counter(f.f_refl, REFL_STAT_RESTARTS, "timeout") == 0);
	cr_expect(count_requests(&f, LIST2) == 1);
	char *log = fx_log(&f);
	cr_expect(strstr(log, "without a line"), "log: %s", log);
	free(log);
	fx_fini(&f);
}

Test(reflector, oversized_list_page_is_refused)
{
	struct fx f;
	fx_init(&f);
	route(&f, LIST2, 200, LIST("5", "", ITEM("ns", "a", "1") "," ITEM("ns", "b", "2")), 0);
	struct refl_opts o = fx_opts(&f);
	o.ro_max_page = 64;
	struct kube_error err;
	int rc = refl_list_once(&o, NULL, 0, &err);
	cr_expect(rc == CC_ERR_TOOBIG, "rc %d (%s)", rc, cc_strerror(rc));
	cr_expect(cert_count(&f) == 0);
	o.ro_max_page = 0; /* the default is plenty */
	cr_expect(refl_list_once(&o, NULL, 0, &err) == CC_OK);
	cr_expect(cert_count(&f) == 2);
	fx_fini(&f);
}

Test(reflector, list_once_pages_and_deletes_vanished)
{
	struct fx f;
	fx_init(&f);
	/* A record the server no longer has, as left by an earlier list. */
	cJSON *old = cJSON_Parse(ITEM("ns", "old", "1"));
	cr_assert(store_apply(f.f_store, &res_table()[RES_CERTIFICATE], STORE_SYNC, old, NULL, 0) ==
	    CC_OK);
	cJSON_Delete(old);
	route(&f, LIST2 "&continue=k", 200, LIST("77", "", ITEM("ns", "c", "3")), 0);
	route(&f, LIST2, 200, LIST("70", CONT("k"), ITEM("ns", "a", "1") "," ITEM("ns", "b", "2")),
	    0);
	struct refl_opts o = fx_opts(&f);
	char rv[32] = "";
	struct kube_error err;
	cr_assert(refl_list_once(&o, rv, sizeof rv, &err) == CC_OK, "%s", err.ke_message);
	cr_expect_str_eq(rv, "77");
	cr_expect(cert_count(&f) == 3);
	cr_expect(!cert_present(&f, "ns", "old"));
	cr_expect(count_requests(&f, WATCH) == 0);
	fx_fini(&f);
}

struct once_case {
	const char *name;
	int status;
	const char *body;
	int want;
	const char *want_msg;
};

static const struct once_case once_cases[] = {
	{"forbidden", 403, STATUS_OBJ(403, "Forbidden", "nope"), CC_ERR_FORBIDDEN, "nope"},
	{"server error", 500, STATUS_OBJ(500, "InternalError", "boom"), CC_ERR_UNAVAILABLE, "boom"},
	{"not json", 200, "<html>", CC_ERR_PARSE, "not JSON"},
	{"array body", 200, "[]", CC_ERR_PARSE, "an array, not a list"},
	{"wrong kind", 200, "{\"kind\":\"PodList\"}", CC_ERR_PARSE, "kind is PodList"},
	{"items not array", 200, "{\"items\":{},\"metadata\":{\"resourceVersion\":\"1\"}}",
	    CC_ERR_PARSE, "items is an object"},
	{"no resourceVersion", 200, "{\"items\":[]}", CC_ERR_PARSE, "resourceVersion missing"},
	{"continue not string", 200, "{\"items\":[],\"metadata\":{\"continue\":5}}", CC_ERR_PARSE,
	    "metadata.continue is a number"},
	{"empty list is fine", 200, "{\"items\":null,\"metadata\":{\"resourceVersion\":\"3\"}}",
	    CC_OK, ""},
};

Test(reflector, list_once_errors)
{
	for (size_t i = 0; i < sizeof once_cases / sizeof once_cases[0]; i++) {
		const struct once_case *tc = &once_cases[i];
		struct fx f;
		fx_init(&f);
		route(&f, LIST2, tc->status, tc->body, 0);
		struct refl_opts o = fx_opts(&f);
		struct kube_error err;
		int rc = refl_list_once(&o, NULL, 0, &err);
		cr_expect(rc == tc->want, "%s: rc %d (%s), want %d", tc->name, rc, cc_strerror(rc),
		    tc->want);
		cr_expect(strstr(err.ke_message, tc->want_msg), "%s: message \"%s\"", tc->name,
		    err.ke_message);
		fx_fini(&f);
	}
}

struct path_case {
	const char *name;
	int desc;
	const char *ns;
	const char *pod_ns;
	const char *selector;
	const char *want;
};

static const struct path_case path_cases[] = {
	{"events: field selector encoded (certcast's own left out), namespaced", 6, "team-a", NULL, NULL,
	    "/api/v1/namespaces/team-a/events?limit=2&fieldSelector="
	    "involvedObject.apiVersion%3Dcert-manager.io%2Fv1%2Csource%21%3Dcertcast"},
	{"acme events, all namespaces", 7, NULL, NULL, NULL,
	    "/api/v1/events?limit=2&fieldSelector="
	    "involvedObject.apiVersion%3Dacme.cert-manager.io%2Fv1%2Csource%21%3Dcertcast"},
	{"pods: cert-manager namespace and label selector", 8, "team-a", "cert-manager",
	    "app.kubernetes.io/instance=cert-manager",
	    "/api/v1/namespaces/cert-manager/pods?limit=2&labelSelector="
	    "app.kubernetes.io%2Finstance%3Dcert-manager"},
	{"cluster issuers ignore the namespace", 3, "team-a", NULL, "ignored=1",
	    "/apis/cert-manager.io/v1/clusterissuers?limit=2"},
};

Test(reflector, list_paths_and_selectors)
{
	for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
		const struct path_case *tc = &path_cases[i];
		struct fx f;
		fx_init(&f);
		const struct res_desc *d = &res_table()[tc->desc];
		char body[256];
		snprintf(body, sizeof body,
		    "{\"kind\":\"%s\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}",
		    d->rd_list_kind);
		route(&f, NULL, 200, body, 0);
		struct refl_opts o = fx_opts(&f);
		o.ro_desc = d;
		o.ro_namespace = tc->ns;
		o.ro_pod_namespace = tc->pod_ns;
		o.ro_label_selector = tc->selector;
		struct kube_error err;
		cr_expect(refl_list_once(&o, NULL, 0, &err) == CC_OK, "%s: %s", tc->name,
		    err.ke_message);
		const struct th_request *r = th_server_request(f.f_srv, 0);
		cr_assert(r);
		cr_expect_str_eq(r->tr_target, tc->want, "%s", tc->name);
		fx_fini(&f);
	}
}

/*
 * The stream functions the watch goes through, fed by hand a byte at a time (no thread, no
 * server): lines cut anywhere still apply, a line past the limit is skipped, ERROR 410 ends the
 * stream and everything fed after it is ignored.
 */
Test(reflector, stream_fed_by_hand_a_byte_at_a_time)
{
	static const char body[] = EV("ADDED", ITEM("ns", "a", "7")) "\r\n" BOOKMARK("9")
	    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"too-long-for-the-limit\"}}}\n"
	    EV("ERROR", STATUS_OBJ(410, "Expired", "too old")) EV("ADDED", ITEM("ns", "b", "8"));
	struct fx f;
	fx_init(&f);
	struct refl_opts o = fx_opts(&f);
	o.ro_max_line = 300;
	cr_assert(refl_new(&o, &f.f_refl) == CC_OK);
	refl_stream_begin(f.f_refl);
	int rc = CC_OK;
	size_t i = 0;
	for (; i < sizeof body - 1 && rc == CC_OK; i++)
		rc = refl_stream_feed(f.f_refl, body + i, 1);
	cr_expect_eq(rc, CC_ERR_GONE, "the 410 ends the stream: %d", rc);
	cr_expect(i < sizeof body - 1, "the ERROR line ended the feeding");
	cr_expect_eq(refl_stream_feed(f.f_refl, body + i, sizeof body - 1 - i), CC_ERR_GONE,
	    "a stream that ended reads nothing more");
	unsigned long long lines = 0;
	cr_expect_eq(refl_stream_end(f.f_refl, CC_OK, &lines), CC_ERR_GONE);
	cr_expect_eq(lines, 5, "ADDED, blank, BOOKMARK, oversize, ERROR: %llu", lines);
	cr_expect(cert_present(&f, "ns", "a"));
	cr_expect(!cert_present(&f, "ns", "b"), "nothing after the ERROR is applied");
	char rv[32];
	refl_resource_version(f.f_refl, rv, sizeof rv);
	cr_expect_str_eq(rv, "9");
	cr_expect_eq(refl_counter(f.f_refl, REFL_STAT_EVENTS, "invalid"), 1, "the long line");
	cr_expect_eq(refl_counter(f.f_refl, REFL_STAT_EVENTS, "ERROR"), 1);

	/* the next stream starts afresh; its truncated last line is reported at the end */
	refl_stream_begin(f.f_refl);
	static const char part[] = EV("ADDED", ITEM("ns", "b", "8")) "{\"type\":\"ADD";
	cr_expect_eq(refl_stream_feed(f.f_refl, part, sizeof part - 1), CC_OK);
	cr_expect_eq(refl_stream_end(f.f_refl, CC_ERR_TIMEOUT, &lines), CC_ERR_TIMEOUT,
	    "the transport's result when no line ended the stream");
	cr_expect_eq(lines, 2);
	cr_expect(cert_present(&f, "ns", "b"));
	cr_expect_eq(refl_counter(f.f_refl, REFL_STAT_EVENTS, "invalid"), 2, "the truncated line");
	fx_fini(&f);
}

/*
 * refl_list_page, the handler every LIST page goes through, fed by hand: each page shape with
 * what it gives back (token, resourceVersion, items taken) or why it is refused, and that a
 * refused page changes nothing.
 */
Test(reflector, list_page_by_hand)
{
	static const struct {
		const char *name;
		const char *body;
		int want_rc;
		const char *want_cont; /* NULL: the last page */
		const char *want_rv;   /* what rv holds after ("-" as before) */
		size_t want_items;
		const char *want_msg;  /* a piece of the refusal */
	} cases[] = {
	    {"last page", LIST("41", "", ITEM("ns", "a", "40") "," ITEM("ns", "b", "41")), CC_OK,
		NULL, "41", 2, NULL},
	    {"a middle page keeps rv", LIST("", CONT("tok"), ITEM("ns", "c", "3")), CC_OK, "tok",
		"-", 1, NULL},
	    {"empty continue is the last page", LIST("5", CONT(""), ""), CC_OK, NULL, "5", 0,
		NULL},
	    {"no kind, null items", "{\"metadata\":{\"resourceVersion\":\"6\"},\"items\":null}",
		CC_OK, NULL, "6", 0, NULL},
	    {"bad items are skipped", LIST("7", "", "5,null,{\"metadata\":{}}," ITEM("ns", "d",
		"7")), CC_OK, NULL, "7", 1, NULL},
	    {"not JSON", "<html>", CC_ERR_PARSE, NULL, "-", 0, "not JSON"},
	    {"another kind", "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"1\"}}",
		CC_ERR_PARSE, NULL, "-", 0, "kind is PodList"},
	    {"items an object", "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":{}}",
		CC_ERR_PARSE, NULL, "-", 0, "items is an object"},
	    {"continue a number", "{\"metadata\":{\"continue\":1},\"items\":[]}", CC_ERR_PARSE,
		NULL, "-", 0, "metadata.continue is a number"},
	    {"last page without rv", LIST("", "", ITEM("ns", "e", "1")), CC_ERR_PARSE, NULL, "-", 0,
		"resourceVersion missing"},
	    {"rv longer than the buffer", LIST("1234567890123456", "", ITEM("ns", "f", "1")),
		CC_ERR_PARSE, NULL, "-", 0, "resourceVersion missing or unusable"},
	};
	struct fx f;
	fx_init(&f);
	struct refl_opts o = fx_opts(&f);
	cr_assert(refl_new(&o, &f.f_refl) == CC_OK);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char rv[16] = "-", *cont = NULL;
		size_t n = 0;
		struct kube_error err;
		memset(&err, 0, sizeof err);
		const char *body = cases[i].body;
		int rc = refl_list_page(f.f_refl, body, strlen(body), 1, &cont, rv, sizeof rv, &n,
		    &err);
		cr_expect_eq(rc, cases[i].want_rc, "%s: rc %s", cases[i].name, cc_strerror(rc));
		if (cases[i].want_cont)
			cr_expect(cont && strcmp(cont, cases[i].want_cont) == 0, "%s: token %s",
			    cases[i].name, cont ? cont : "(none)");
		else
			cr_expect_null(cont, "%s: a token after the last page", cases[i].name);
		cr_expect_str_eq(rv, cases[i].want_rv, "%s: rv", cases[i].name);
		cr_expect_eq(n, cases[i].want_items, "%s: %zu items", cases[i].name, n);
		if (cases[i].want_msg)
			cr_expect(strstr(err.ke_message, cases[i].want_msg) && err.ke_http == 200,
			    "%s: \"%s\"", cases[i].name, err.ke_message);
		free(cont);
	}
	cr_expect(cert_present(&f, "ns", "a") && cert_present(&f, "ns", "d"));
	cr_expect(!cert_present(&f, "ns", "e"), "a refused page applied an item");
	fx_fini(&f);
}

Test(reflector, new_rejects_bad_options)
{
	struct fx f;
	fx_init(&f);
	struct refl *r = NULL;
	struct refl_opts o = fx_opts(&f);
	o.ro_store = NULL;
	cr_expect(refl_new(&o, &r) == CC_ERR_INVAL && r == NULL);
	o = fx_opts(&f);
	o.ro_timeout_min = 700;
	cr_expect(refl_new(&o, &r) == CC_ERR_INVAL && r == NULL);
	o = fx_opts(&f);
	o.ro_backoff_base = 5;
	o.ro_backoff_cap = 1;
	cr_expect(refl_new(&o, &r) == CC_ERR_INVAL && r == NULL);
	cr_expect(refl_new(NULL, &r) == CC_ERR_INVAL);
	o = fx_opts(&f);
	cr_expect(refl_new(&o, &r) == CC_OK);
	cr_expect_str_eq(refl_name(r), "certificates");
	refl_join(r); /* never started: a no-op */
	refl_free(r);
	refl_free(NULL);
	fx_fini(&f);
}

/* ---- the set ---- */

/* Answers every LIST with an empty list of the right kind and holds every WATCH open. */
static void
set_handler(void *arg, const struct th_request *req, struct th_conn *conn)
{
	(void)arg;
	if (strstr(req->tr_target, "watch=1")) {
		th_send_head(conn, 200, "Content-Type: application/json\r\n", -1);
		th_conn_wait_peer_close(conn);
		return;
	}
	const struct res_desc *tab = res_table();
	for (int i = 0; i < RES_DESC_COUNT; i++) {
		char path[256];
		res_collection_path(&tab[i], NULL, "cert-manager", path, sizeof path);
		size_t n = strlen(path);
		if (strncmp(req->tr_target, path, n) == 0 && req->tr_target[n] == '?') {
			char body[256];
			snprintf(body, sizeof body,
			    "{\"kind\":\"%s\",\"metadata\":{\"resourceVersion\":\"%d\"},"
			    "\"items\":[]}",
			    tab[i].rd_list_kind, 10 + i);
			th_send_simple(conn, 200, "Content-Type: application/json\r\n", body);
			return;
		}
	}
}

struct stat_tally {
	int st_series;     /* calls */
	int st_events;     /* REFL_STAT_EVENTS calls */
	int st_restarts;   /* REFL_STAT_RESTARTS calls */
	int st_pods;       /* calls for resource "pods" */
};

static void
tally(void *arg, enum refl_stat what, const char *resource, const char *label,
    unsigned long long count)
{
	struct stat_tally *t = arg;
	(void)label;
	(void)count;
	t->st_series++;
	if (what == REFL_STAT_EVENTS)
		t->st_events++;
	else
		t->st_restarts++;
	if (strcmp(resource, "pods") == 0)
		t->st_pods++;
}

Test(reflector, set_syncs_every_resource_and_stops)
{
	struct th_server *srv = NULL;
	struct th_opts to = {.to_handler = set_handler};
	cr_assert(th_server_start(&to, &srv) == CC_OK);
	struct kube_config cfg = {0};
	cfg.kc_server = (char *)th_server_url(srv);
	struct kube_client_opts co = {.kco_qps = -1};
	struct kube_client *c = NULL;
	struct kube_error err;
	cr_assert(kube_client_new(&cfg, &co, &c, &err) == CC_OK);
	struct store *st = store_new();
	struct refl_set_opts so = {.rso_client = c, .rso_store = st,
	    .rso_cancel_client_on_stop = 1, .rso_pod_namespace = "cert-manager"};
	struct refl_set *set = NULL;
	cr_assert(refl_set_start(&so, &set) == CC_OK);
	cr_expect(refl_set_count(set) == RES_DESC_COUNT);
	cr_expect(refl_set_get(set, RES_DESC_COUNT) == NULL);
	int synced = 0;
	for (int i = 0; i < 4000 && !synced; i++) {
		synced = refl_set_has_synced(set);
		if (!synced)
			usleep(5000);
	}
	cr_expect(synced, "the set never synced");
	for (size_t i = 0; i < refl_set_count(set); i++)
		cr_expect(refl_has_synced(refl_set_get(set, i)), "%s not synced",
		    refl_name(refl_set_get(set, i)));
	struct stat_tally t = {0};
	refl_set_stats(set, tally, &t);
	cr_expect(t.st_series == RES_DESC_COUNT * 11, "%d series", t.st_series);
	cr_expect(t.st_events == RES_DESC_COUNT * 6 && t.st_restarts == RES_DESC_COUNT * 5);
	cr_expect(t.st_pods == 11);
	refl_set_stop(set);
	refl_set_free(set);
	kube_client_free(c);
	store_free(st);
	th_server_free(srv);
}
