/*
 * Tests for leaderev, the Events of leadership changes, against the scripted test server: the
 * note and the Lease as the Event's object (pure); every field of the Events posted, in the
 * order of the changes, a repeat included (no identical-Event rule here); a change queued while
 * a POST is held by the server returns without waiting for it (the server is released by the
 * test, never by a clock); what is still queued goes out at the stop, even without a thread; a
 * full queue forgets its oldest; a failure at the stop drops the rest; nothing is taken after
 * the stop.
 */
#include "leaderev.h"

#include "cc_err.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "lease.h"
#include "log.h"
#include "testhttp.h"
#include "timefmt.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEC INT64_C(1000000000)
/* 2026-12-02T05:00:00.123456789Z */
#define T0 (INT64_C(1796187600) * SEC + 123456789)
#define EVENTS "/apis/events.k8s.io/v1/namespaces/"

#define STATUS(code, reason, msg) \
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"" msg \
	"\",\"reason\":\"" reason "\",\"code\":" #code "}"

/* ---- fixture: a server (one namespace refuses, one holds its POSTs), a client ---- */

static struct th_server *srv;
static struct kube_client *kc;
static atomic_int held;    /* POSTs in namespace "held" wait while this is 1 */
static atomic_int holding; /* how many such POSTs are waiting now */

static void
handler(void *arg, const struct th_request *req, struct th_conn *conn)
{
	(void)arg;
	if (strncmp(req->tr_target, EVENTS "held/", strlen(EVENTS "held/")) != 0)
		return; /* the routes answer */
	atomic_fetch_add(&holding, 1);
	while (atomic_load(&held) && th_conn_sleep(conn, 5) == CC_OK)
		;
	atomic_fetch_sub(&holding, 1);
	th_send_simple(conn, 201, "Content-Type: application/json\r\n", "{}");
}

static void
setup(void)
{
	int fd = open("/dev/null", O_WRONLY);
	log_set_fd(fd);
	atomic_store(&held, 0);
	atomic_store(&holding, 0);
	struct th_opts so = {.to_handler = handler};
	cr_assert_eq(th_server_start(&so, &srv), CC_OK);
	struct th_route down = {.tr_method = "POST", .tr_prefix = EVENTS "down/", .tr_status = 500,
	    .tr_body = STATUS(500, "InternalError", "etcd is gone")};
	struct th_route ok = {.tr_method = "POST", .tr_prefix = EVENTS, .tr_status = 201,
	    .tr_body = "{}"};
	th_server_add_route(srv, &down);
	th_server_add_route(srv, &ok);
	struct kube_config cfg = {0};
	cfg.kc_server = (char *)th_server_url(srv);
	cfg.kc_namespace = "default";
	cfg.kc_token = "sekrit-token";
	struct kube_client_opts ko = {.kco_qps = -1};
	struct kube_error err;
	cr_assert_eq(kube_client_new(&cfg, &ko, &kc, &err), CC_OK, "%s", err.ke_message);
}

static void
teardown(void)
{
	atomic_store(&held, 0);
	kube_client_free(kc);
	th_server_free(srv);
}

TestSuite(leaderev, .init = setup, .fini = teardown, .timeout = 60);

static struct lev *
poster(size_t queue)
{
	struct lev_opts o = {.lvo_client = kc, .lvo_instance = "certcast-7d9f-abcde",
	    .lvo_queue = queue};
	return lev_new(&o);
}

/* A change of identity id on Lease ns/certcast-leader, n ns after T0. */
static void
change(struct lev *v, const char *ns, const char *id, int leading, int64_t n)
{
	struct le_change ch = {leading, id, ns, "certcast-leader", "5e1f-lease-uid", T0 + n,
	    "why"};
	lev_changed(v, &ch);
}

static cJSON *
body_of(size_t i)
{
	const struct th_request *q = th_server_request(srv, i);
	cr_assert_not_null(q, "no request %zu", i);
	cJSON *j = cJSON_Parse(q->tr_body);
	cr_assert_not_null(j, "request %zu: body is not JSON: %s", i, q->tr_body);
	return j;
}

static const char *
str_at(const cJSON *j, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
	if (b != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The note of request i, copied into out. */
static void
note_of(size_t i, char *out, size_t outsz)
{
	cJSON *j = body_of(i);
	const char *n = str_at(j, "note", NULL);
	xstrlcpy(out, n ? n : "(none)", outsz);
	cJSON_Delete(j);
}

/* ---- pure ---- */

Test(leaderev, note_in_client_gos_words)
{
	char b[64];
	lev_note("ctl-a", 1, b, sizeof b);
	cr_expect_str_eq(b, "ctl-a became leader");
	lev_note("ctl-a", 0, b, sizeof b);
	cr_expect_str_eq(b, "ctl-a stopped leading");
	lev_note(NULL, 1, b, sizeof b);
	cr_expect_str_eq(b, " became leader", "no identity: never a crash");
	char small[8];
	lev_note("a-very-long-identity", 1, small, sizeof small);
	cr_expect_str_eq(small, "a-very-", "cut to the buffer");
}

Test(leaderev, the_event_is_about_the_lease)
{
	struct le_change ch = {1, "ctl-a", "certcast", "certcast-leader", "uid-1", T0, "why"};
	struct er_ref r;
	lev_ref(&ch, &r);
	cr_expect_str_eq(r.ref_api_version, "coordination.k8s.io/v1");
	cr_expect_str_eq(r.ref_kind, "Lease");
	cr_expect_str_eq(r.ref_ns, "certcast");
	cr_expect_str_eq(r.ref_name, "certcast-leader");
	cr_expect_str_eq(r.ref_uid, "uid-1");
	cr_expect_null(r.ref_rv, "no resourceVersion: it changes at every renewal");
	ch.lc_uid = "";
	lev_ref(&ch, &r);
	cr_expect_null(r.ref_uid, "an unknown uid is left out");
	ch.lc_uid = NULL;
	lev_ref(&ch, &r);
	cr_expect_null(r.ref_uid, "NULL too");
}

/* ---- posting ---- */

Test(leaderev, every_change_is_posted_in_order_on_the_lease)
{
	struct lev *v = poster(0);
	cr_assert_eq(lev_start(v), CC_OK);
	change(v, "certcast", "ctl-a", 1, 0);
	change(v, "certcast", "ctl-a", 0, 1000);
	change(v, "certcast", "ctl-a", 1, 2000); /* the same note again: posted all the same */
	lev_stop(v);
	cr_assert_eq(th_server_request_count(srv), 3, "three Events");
	static const char *const notes[] = {"ctl-a became leader", "ctl-a stopped leading",
	    "ctl-a became leader"};
	static const char *const actions[] = {"BecomeLeader", "StopLeading", "BecomeLeader"};
	for (size_t i = 0; i < 3; i++) {
		const struct th_request *q = th_server_request(srv, i);
		cr_expect_str_eq(q->tr_method, "POST");
		cr_expect_str_eq(q->tr_target, EVENTS "certcast/events", "in the Lease's namespace");
		cJSON *j = body_of(i);
		cr_expect_str_eq(str_at(j, "apiVersion", NULL), "events.k8s.io/v1");
		cr_expect_str_eq(str_at(j, "kind", NULL), "Event");
		cr_expect_str_eq(str_at(j, "type", NULL), "Normal");
		cr_expect_str_eq(str_at(j, "reason", NULL), "LeaderElection");
		cr_expect_str_eq(str_at(j, "action", NULL), actions[i], "%zu", i);
		cr_expect_str_eq(str_at(j, "note", NULL), notes[i], "%zu", i);
		cr_expect_str_eq(str_at(j, "reportingController", NULL), "certcast");
		cr_expect_str_eq(str_at(j, "reportingInstance", NULL), "certcast-7d9f-abcde");
		cr_expect_str_eq(str_at(j, "regarding", "apiVersion"), "coordination.k8s.io/v1");
		cr_expect_str_eq(str_at(j, "regarding", "kind"), "Lease");
		cr_expect_str_eq(str_at(j, "regarding", "namespace"), "certcast");
		cr_expect_str_eq(str_at(j, "regarding", "name"), "certcast-leader");
		cr_expect_str_eq(str_at(j, "regarding", "uid"), "5e1f-lease-uid");
		cr_expect_str_eq(str_at(j, "metadata", "namespace"), "certcast");
		char want[64];
		tf_format_microtime(T0 + (int64_t)i * 1000, want, sizeof want);
		cr_expect_str_eq(str_at(j, "eventTime", NULL), want, "the time of the change");
		cJSON_Delete(j);
	}
	struct er_stats st;
	lev_stats(v, &st);
	cr_expect_eq(st.es_posted, 3);
	cr_expect_eq(st.es_duplicate, 0, "no identical-Event rule");
	cr_expect_eq(lev_dropped(v), 0);
	lev_free(v);
	lev_free(NULL);
}

Test(leaderev, a_change_never_waits_for_a_post_in_flight)
{
	atomic_store(&held, 1);
	struct lev *v = poster(0);
	cr_assert_eq(lev_start(v), CC_OK);
	change(v, "held", "ctl-a", 1, 0);
	/* a bound, not an assertion: the POST reaches the server and is held there */
	cr_assert_eq(th_server_wait_requests(srv, 1, 20000), CC_OK, "the first POST arrives");
	while (atomic_load(&holding) == 0)
		usleep(1000);
	/* the election thread's calls: they return while the POST is still held */
	for (int i = 1; i <= 5; i++)
		change(v, "held", "ctl-a", i % 2 == 0, i);
	struct er_stats st;
	lev_stats(v, &st);
	cr_expect_eq(st.es_posted, 0, "the first POST is still held by the server");
	cr_expect_eq(atomic_load(&holding), 1, "and only that one was sent");
	atomic_store(&held, 0);
	lev_stop(v); /* the rest goes out before the stop returns */
	lev_stats(v, &st);
	cr_expect_eq(st.es_posted, 6, "every change posted in the end");
	char n[64];
	note_of(5, n, sizeof n);
	cr_expect_str_eq(n, "ctl-a stopped leading", "the last change last");
	lev_free(v);
}

Test(leaderev, the_stop_posts_what_is_queued_even_without_a_thread)
{
	struct lev *v = poster(0);
	change(v, "certcast", "ctl-b", 1, 0);
	change(v, "certcast", "ctl-b", 0, 1);
	cr_expect_eq(th_server_request_count(srv), 0, "nothing posted before the stop");
	lev_stop(v);
	cr_expect_eq(th_server_request_count(srv), 2, "both posted at the stop");
	change(v, "certcast", "ctl-b", 1, 2);
	lev_stop(v); /* idempotent */
	cr_expect_eq(th_server_request_count(srv), 2, "nothing taken after the stop");
	lev_free(v);
}

Test(leaderev, a_full_queue_forgets_its_oldest)
{
	struct lev *v = poster(2);
	change(v, "certcast", "c1", 1, 0);
	change(v, "certcast", "c2", 1, 1);
	change(v, "certcast", "c3", 1, 2);
	change(v, "certcast", "c4", 0, 3);
	cr_expect_eq(lev_dropped(v), 2, "c1 and c2 forgotten");
	lev_stop(v);
	cr_assert_eq(th_server_request_count(srv), 2);
	char n[64];
	note_of(0, n, sizeof n);
	cr_expect_str_eq(n, "c3 became leader");
	note_of(1, n, sizeof n);
	cr_expect_str_eq(n, "c4 stopped leading", "the newest says how things stand");
	lev_free(v);
}

Test(leaderev, a_failure_at_the_stop_drops_the_rest)
{
	struct lev *v = poster(0);
	change(v, "down", "ctl-a", 0, 0);
	change(v, "down", "ctl-b", 1, 1);
	change(v, "down", "ctl-c", 1, 2);
	lev_stop(v);
	cr_expect_eq(th_server_request_count(srv), 1, "one try: the API server does not answer");
	cr_expect_eq(lev_dropped(v), 2, "the rest dropped");
	struct er_stats st;
	lev_stats(v, &st);
	cr_expect_eq(st.es_failed, 1);
	lev_free(v);
}

Test(leaderev, a_failure_while_running_keeps_going)
{
	struct lev *v = poster(0);
	cr_assert_eq(lev_start(v), CC_OK);
	change(v, "down", "ctl-a", 1, 0);
	/* until the first POST has failed (a failure during the stop would drop the rest) */
	struct er_stats st;
	do {
		usleep(1000);
		lev_stats(v, &st);
	} while (st.es_failed == 0);
	change(v, "certcast", "ctl-a", 0, 1);
	lev_stop(v);
	cr_expect_eq(th_server_request_count(srv), 2, "the next change is posted all the same");
	cr_expect_eq(lev_dropped(v), 0);
	lev_free(v);
}

Test(leaderev, changes_that_cannot_name_the_lease_are_not_queued)
{
	struct lev *v = poster(0);
	char big[LE_ID_MAX + 10];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct le_change bad[] = {
	    {1, NULL, "certcast", "l", "", T0, ""},
	    {1, "a", NULL, "l", "", T0, ""},
	    {1, "a", "certcast", NULL, "", T0, ""},
	    {1, big, "certcast", "l", "", T0, ""},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		lev_changed(v, &bad[i]);
	/* a uid too long is left out, the Event still goes */
	char uid[LE_UID_MAX + 10];
	memset(uid, 'u', sizeof uid - 1);
	uid[sizeof uid - 1] = '\0';
	struct le_change ok = {1, "a", "certcast", "l", uid, T0, ""};
	lev_changed(v, &ok);
	lev_stop(v);
	cr_assert_eq(th_server_request_count(srv), 1, "only the good one");
	cJSON *j = body_of(0);
	cr_expect_null(str_at(j, "regarding", "uid"), "no uid");
	cr_expect_str_eq(str_at(j, "regarding", "name"), "l");
	cJSON_Delete(j);
	lev_free(v);
}
