/*
 * Tests for store: upsert and delete, relist with synthesised deletions, the two Event
 * descriptors, certcast's own Events left out, index lookups in both arrival orders, the Event
 * cap, who is notified for each kind of change, and a reader/writer smoke test (run under ASan
 * by make test-san).
 */
#include "cc_err.h"
#include "log.h"
#include "resource.h"
#include "store.h"
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

/* ---- descriptors ---- */

static const struct res_desc *
desc(const char *name)
{
	const struct res_desc *t = res_table();
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (strcmp(t[i].rd_name, name) == 0)
			return &t[i];
	cr_assert_fail("no descriptor %s", name);
	return NULL;
}

#define D_CERT desc("certificates")
#define D_CR desc("certificaterequests")
#define D_ISSUER desc("issuers")
#define D_CISSUER desc("clusterissuers")
#define D_ORDER desc("orders")
#define D_CHALLENGE desc("challenges")
#define D_EV1 desc("events-cert-manager")
#define D_EV2 desc("events-acme")
#define D_POD desc("pods")

/* ---- objects ---- */

static char *
ts(int64_t sec)
{
	static _Thread_local char buf[8][TF_BUFSZ];
	static _Thread_local int slot;
	char *b = buf[slot++ % 8];
	cr_assert_eq(tf_format_time(sec, b, TF_BUFSZ), CC_OK);
	return b;
}

#define T0 INT64_C(1740000000) /* 2025-02-19T21:20:00Z */

static cJSON *
parse(char *text)
{
	cJSON *j = cJSON_Parse(text);
	cr_assert_not_null(j, "bad test JSON: %s", text);
	free(text);
	return j;
}

static cJSON *
mk_cert(const char *ns, const char *name, const char *rv, const char *ikind, const char *iname,
    const char *not_after)
{
	return parse(xasprintf("{\"kind\":\"Certificate\",\"metadata\":{\"namespace\":\"%s\","
	    "\"name\":\"%s\",\"resourceVersion\":\"%s\"},\"spec\":{\"secretName\":\"%s\","
	    "\"issuerRef\":{\"kind\":\"%s\",\"name\":\"%s\"}},\"status\":{\"notAfter\":\"%s\"}}",
	    ns, name, rv, name, ikind, iname, not_after));
}

static cJSON *
mk_cr(const char *ns, const char *name, const char *rv, const char *cert, int64_t created)
{
	return parse(xasprintf("{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\","
	    "\"resourceVersion\":\"%s\",\"creationTimestamp\":\"%s\",\"annotations\":"
	    "{\"cert-manager.io/certificate-name\":\"%s\"}},\"spec\":{\"issuerRef\":"
	    "{\"name\":\"x\"}},\"status\":{}}",
	    ns, name, rv, ts(created), cert));
}

static cJSON *
mk_owned(const char *ns, const char *name, const char *rv, const char *owner_kind,
    const char *owner, int64_t created)
{
	return parse(xasprintf("{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\","
	    "\"resourceVersion\":\"%s\",\"creationTimestamp\":\"%s\",\"ownerReferences\":"
	    "[{\"kind\":\"%s\",\"name\":\"%s\",\"controller\":true}]},\"spec\":{},"
	    "\"status\":{\"state\":\"pending\"}}",
	    ns, name, rv, ts(created), owner_kind, owner));
}

static cJSON *
mk_issuer(const char *ns, const char *name, const char *rv, const char *ready)
{
	if (ns != NULL)
		return parse(xasprintf("{\"kind\":\"Issuer\",\"metadata\":{\"namespace\":\"%s\","
		    "\"name\":\"%s\",\"resourceVersion\":\"%s\"},\"spec\":{\"ca\":{}},"
		    "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
		    ns, name, rv, ready));
	return parse(xasprintf("{\"kind\":\"ClusterIssuer\",\"metadata\":{\"name\":\"%s\","
	    "\"resourceVersion\":\"%s\"},\"spec\":{\"acme\":{\"server\":\"https://acme\"}},"
	    "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
	    name, rv, ready));
}

static cJSON *
mk_event(const char *ns, const char *name, const char *rv, const char *okind, const char *ons,
    const char *oname, int64_t last)
{
	return parse(xasprintf("{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\","
	    "\"resourceVersion\":\"%s\"},\"involvedObject\":{\"kind\":\"%s\",\"namespace\":"
	    "\"%s\",\"name\":\"%s\"},\"reason\":\"Issuing\",\"message\":\"m\",\"type\":"
	    "\"Normal\",\"count\":1,\"firstTimestamp\":\"%s\",\"lastTimestamp\":\"%s\"}",
	    ns, name, rv, okind, ons, oname, ts(last), ts(last)));
}

static cJSON *
mk_pod(const char *name, const char *rv, int restarts, const char *started)
{
	return parse(xasprintf("{\"metadata\":{\"namespace\":\"cert-manager\",\"name\":\"%s\","
	    "\"resourceVersion\":\"%s\"},\"status\":{\"phase\":\"Running\",\"startTime\":\"%s\","
	    "\"containerStatuses\":[{\"restartCount\":%d}]}}",
	    name, rv, started, restarts));
}

/* ---- notification recorder ---- */

struct notes {
	pthread_mutex_t n_mu;
	char *n_keys[4096];  /* "ns/name", owned */
	size_t n_len;
	size_t n_dropped;    /* past the array */
	struct store *n_store; /* when set, the callback reads the store under the read lock */
	size_t n_seen_cert;  /* callbacks that found the Certificate in the store */
};

static void
note_fn(void *arg, const char *ns, const char *name)
{
	struct notes *n = arg;
	if (n->n_store != NULL) {
		/* Notifications come outside the write lock: reading here must not deadlock. */
		store_rdlock(n->n_store);
		const struct rec_cert *c = store_cert_get(n->n_store, ns, name);
		store_unlock(n->n_store);
		pthread_mutex_lock(&n->n_mu);
		n->n_seen_cert += c != NULL;
		pthread_mutex_unlock(&n->n_mu);
	}
	pthread_mutex_lock(&n->n_mu);
	if (n->n_len < sizeof n->n_keys / sizeof n->n_keys[0])
		n->n_keys[n->n_len++] = xasprintf("%s/%s", ns, name);
	else
		n->n_dropped++;
	pthread_mutex_unlock(&n->n_mu);
}

static void
notes_clear(struct notes *n)
{
	for (size_t i = 0; i < n->n_len; i++)
		free(n->n_keys[i]);
	n->n_len = 0;
	n->n_dropped = 0;
}

static size_t
notes_has(struct notes *n, const char *key)
{
	size_t c = 0;
	for (size_t i = 0; i < n->n_len; i++)
		c += strcmp(n->n_keys[i], key) == 0;
	return c;
}

static struct store *s;
static struct notes nt;

static void
setup(void)
{
	int fd = open("/dev/null", O_WRONLY);
	log_set_fd(fd);
	memset(&nt, 0, sizeof nt);
	pthread_mutex_init(&nt.n_mu, NULL);
	s = store_new();
	store_set_notify(s, note_fn, &nt);
}

static void
teardown(void)
{
	store_free(s);
	notes_clear(&nt);
	pthread_mutex_destroy(&nt.n_mu);
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 60);

/* Apply and free obj, expecting rc; returns the message. */
static const char *
apply(const struct res_desc *d, enum store_event ev, cJSON *obj, int want)
{
	static char err[512];
	err[0] = '\0';
	int rc = store_apply(s, d, ev, obj, err, sizeof err);
	cJSON_Delete(obj);
	cr_assert_eq(rc, want, "store_apply: rc %d, want %d (%s)", rc, want, err);
	return err;
}

#define OK(d, obj) apply((d), STORE_ADDED, (obj), CC_OK)
#define DEL(d, obj) apply((d), STORE_DELETED, (obj), CC_OK)

static int64_t
cert_not_after(const char *ns, const char *name)
{
	store_rdlock(s);
	const struct rec_cert *c = store_cert_get(s, ns, name);
	int64_t v = c ? c->c_not_after : -1;
	store_unlock(s);
	return v;
}

Test(store, upsert_get_delete)
{
	OK(D_CERT, mk_cert("shop", "a", "1", "Issuer", "ca", ts(T0)));
	cr_expect_eq(cert_not_after("shop", "a"), T0);
	cr_expect_eq(cert_not_after("other", "a"), -1);
	cr_expect_eq(notes_has(&nt, "shop/a"), 1);
	store_rdlock(s);
	cr_expect_eq(store_count(s, RES_CERTIFICATE), 1);
	const struct rec_cert *c = store_cert_get(s, "shop", "a");
	cr_expect_eq(c->c_meta.m_desc, D_CERT->rd_id);
	store_unlock(s);

	apply(D_CERT, STORE_MODIFIED, mk_cert("shop", "a", "2", "Issuer", "ca", ts(T0 + 60)),
	    CC_OK);
	cr_expect_eq(cert_not_after("shop", "a"), T0 + 60);
	cr_expect_eq(notes_has(&nt, "shop/a"), 2);

	DEL(D_CERT, mk_cert("shop", "a", "3", "Issuer", "ca", ts(T0 + 60)));
	cr_expect_eq(cert_not_after("shop", "a"), -1);
	cr_expect_eq(notes_has(&nt, "shop/a"), 3);
	store_rdlock(s);
	cr_expect_eq(store_count(s, RES_CERTIFICATE), 0);
	store_unlock(s);
	/* Deleting what is not there is harmless and notifies nobody. */
	DEL(D_CERT, mk_cert("shop", "a", "3", "Issuer", "ca", ts(T0)));
	cr_expect_eq(nt.n_len, 3);
}

Test(store, unchanged_resource_version_is_quiet)
{
	OK(D_CERT, mk_cert("shop", "a", "7", "Issuer", "ca", ts(T0)));
	/* A relist brings the same version back: not decoded again, nobody notified. */
	apply(D_CERT, STORE_SYNC, mk_cert("shop", "a", "7", "Issuer", "ca", ts(T0 + 999)), CC_OK);
	cr_expect_eq(cert_not_after("shop", "a"), T0);
	cr_expect_eq(nt.n_len, 1);
	apply(D_CERT, STORE_SYNC, mk_cert("shop", "a", "8", "Issuer", "ca", ts(T0 + 999)), CC_OK);
	cr_expect_eq(cert_not_after("shop", "a"), T0 + 999);
	cr_expect_eq(nt.n_len, 2);
}

Test(store, bad_object_keeps_previous_record)
{
	OK(D_CERT, mk_cert("shop", "a", "1", "Issuer", "ca", ts(T0)));
	const char *err = apply(D_CERT, STORE_MODIFIED,
	    mk_cert("shop", "a", "2", "Issuer", "ca", "next tuesday"), CC_ERR_PARSE);
	cr_expect_str_eq(err,
	    "Certificate shop/a: status.notAfter: not an RFC 3339 time: \"next tuesday\"");
	cr_expect_eq(cert_not_after("shop", "a"), T0);
	store_rdlock(s);
	cr_expect_str_eq(store_cert_get(s, "shop", "a")->c_meta.m_rv, "1");
	store_unlock(s);
	cr_expect_eq(nt.n_len, 1);

	err = apply(D_CERT, STORE_ADDED, parse(xasprintf("{\"metadata\":{\"namespace\":\"x\"}}")),
	    CC_ERR_PARSE);
	cr_expect_str_eq(err, "Certificate: metadata.name: missing");
	err = apply(D_CERT, STORE_ADDED,
	    parse(xasprintf("{\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"x\",\"name\":\"y\"}}")),
	    CC_ERR_INVAL);
	cr_expect_str_eq(err, "Certificate: kind: expected Certificate, got \"Pod\"");
	err = apply(D_CISSUER, STORE_ADDED,
	    parse(xasprintf("{\"metadata\":{\"name\":\"le\",\"resourceVersion\":\"1\"},"
			    "\"spec\":{\"acme\":7}}")),
	    CC_ERR_PARSE);
	cr_expect_str_eq(err, "ClusterIssuer le: spec.acme: expected an object, got a number");
	store_rdlock(s);
	cr_expect_eq(store_count(s, RES_CERTIFICATE), 1);
	cr_expect_eq(store_count(s, RES_CLUSTERISSUER), 0);
	store_unlock(s);
}

Test(store, relist_synthesises_deletions)
{
	OK(D_CERT, mk_cert("ns", "a", "1", "Issuer", "ca", ts(T0)));
	OK(D_CERT, mk_cert("ns", "b", "1", "Issuer", "ca", ts(T0)));
	OK(D_CERT, mk_cert("ns", "c", "1", "Issuer", "ca", ts(T0)));
	OK(D_CERT, mk_cert("ns", "d", "1", "Issuer", "ca", ts(T0)));
	notes_clear(&nt);
	uint64_t gen = store_relist_begin(s, D_CERT);
	apply(D_CERT, STORE_SYNC, mk_cert("ns", "a", "1", "Issuer", "ca", ts(T0)), CC_OK);
	apply(D_CERT, STORE_SYNC, mk_cert("ns", "b", "2", "Issuer", "ca", ts(T0 + 5)), CC_OK);
	/* d comes back broken: it exists, so its last good record stays. */
	apply(D_CERT, STORE_SYNC, mk_cert("ns", "d", "2", "Issuer", "ca", "garbage"),
	    CC_ERR_PARSE);
	store_relist_end(s, D_CERT, gen);
	cr_expect_eq(cert_not_after("ns", "a"), T0);
	cr_expect_eq(cert_not_after("ns", "b"), T0 + 5);
	cr_expect_eq(cert_not_after("ns", "c"), -1, "c vanished during the relist");
	cr_expect_eq(cert_not_after("ns", "d"), T0);
	/* b changed and c was deleted: both notified; a unchanged: not. */
	cr_expect_eq(notes_has(&nt, "ns/b"), 1);
	cr_expect_eq(notes_has(&nt, "ns/c"), 1);
	cr_expect_eq(notes_has(&nt, "ns/a"), 0);
	cr_expect_eq(notes_has(&nt, "ns/d"), 0);
	store_rdlock(s);
	cr_expect_eq(store_count(s, RES_CERTIFICATE), 3);
	store_unlock(s);

	/* A relist of another kind touches nothing here. */
	gen = store_relist_begin(s, D_CR);
	store_relist_end(s, D_CR, gen);
	store_rdlock(s);
	cr_expect_eq(store_count(s, RES_CERTIFICATE), 3);
	store_unlock(s);

	/* A watch event between begin and end counts as seen. */
	gen = store_relist_begin(s, D_CERT);
	OK(D_CERT, mk_cert("ns", "a", "9", "Issuer", "ca", ts(T0)));
	store_relist_end(s, D_CERT, gen);
	store_rdlock(s);
	cr_expect_eq(store_count(s, RES_CERTIFICATE), 1);
	cr_expect_not_null(store_cert_get(s, "ns", "a"));
	store_unlock(s);
}

static size_t
events_of(const char *kind, const char *ns, const char *name, const struct rec_event **out,
    size_t max)
{
	store_rdlock(s);
	size_t n = store_events_of(s, kind, ns, name, out, max);
	store_unlock(s);
	return n;
}

Test(store, two_event_descriptors_relist_separately)
{
	OK(D_EV1, mk_event("ns", "e1", "1", "Certificate", "ns", "a", T0));
	OK(D_EV2, mk_event("ns", "e2", "1", "Order", "ns", "o", T0));
	OK(D_EV1, mk_event("ns", "e3", "1", "Certificate", "ns", "a", T0 + 1));
	/* Relisting the cert-manager.io Events with only e3 left deletes e1, never e2. */
	uint64_t gen = store_relist_begin(s, D_EV1);
	apply(D_EV1, STORE_SYNC, mk_event("ns", "e3", "1", "Certificate", "ns", "a", T0 + 1),
	    CC_OK);
	store_relist_end(s, D_EV1, gen);
	cr_expect_eq(events_of("Certificate", "ns", "a", NULL, 0), 1);
	cr_expect_eq(events_of("Order", "ns", "o", NULL, 0), 1);
	/* And the other way round: an empty acme relist removes e2 only. */
	gen = store_relist_begin(s, D_EV2);
	store_relist_end(s, D_EV2, gen);
	cr_expect_eq(events_of("Order", "ns", "o", NULL, 0), 0);
	cr_expect_eq(events_of("Certificate", "ns", "a", NULL, 0), 1);
}

/*
 * An Event reported by component (reportingComponent, "" for none) or src (source.component,
 * NULL for an empty source), in the core/v1 shape the reflectors read. The note mentions a rate
 * limit, which scoring would take for a rate-limit failure.
 */
static cJSON *
mk_event_by(const char *name, const char *rv, const char *okind, const char *oname,
    const char *component, const char *src)
{
	char *source = src ? xasprintf("{\"component\":\"%s\"}", src) : xstrdup("{}");
	const char *api = strcmp(okind, "Lease") == 0 ? "coordination.k8s.io/v1" : "cert-manager.io/v1";
	cJSON *j = parse(xasprintf("{\"metadata\":{\"namespace\":\"ns\",\"name\":\"%s\","
	    "\"resourceVersion\":\"%s\"},\"involvedObject\":{\"apiVersion\":"
	    "\"%s\",\"kind\":\"%s\",\"namespace\":\"ns\",\"name\":\"%s\"},"
	    "\"reason\":\"RiskRaised\",\"message\":\"risk 0.31: rate limit exceeded\","
	    "\"type\":\"Warning\",\"eventTime\":\"%s\",\"reportingComponent\":\"%s\","
	    "\"source\":%s}",
	    name, rv, api, okind, oname, ts(T0), component, source));
	free(source);
	return j;
}

/*
 * certcast's own Events are neither kept, nor linked, nor notified (it would reconcile on its
 * own output, and score its own words); cert-manager's with the same text are all three.
 */
Test(store, own_events_not_kept_linked_or_notified)
{
	OK(D_CERT, mk_cert("ns", "a", "1", "Issuer", "ca", ts(T0)));
	OK(D_CR, mk_cr("ns", "a-1", "1", "a", T0));
	static const struct {
		const char *name;
		const char *ev;        /* Event name */
		const char *okind;     /* what it is about */
		const char *oname;
		const char *component; /* reportingComponent */
		const char *src;       /* source.component, or NULL */
		bool kept;
	} rows[] = {
	    {"certcast's, about the certificate", "own-1", "Certificate", "a", "certcast", NULL,
		false},
	    {"certcast's, about its request", "own-2", "CertificateRequest", "a-1", "certcast",
		NULL, false},
	    {"certcast's, old-style source", "own-3", "Certificate", "a", "", "certcast", false},
	    {"certcast's leader election Event, about its Lease", "own-4", "Lease",
		"certcast-leader", "certcast", NULL, false},
	    {"cert-manager's, about the certificate", "cm-1", "Certificate", "a",
		"cert-manager-certificates-issuing", NULL, true},
	    {"cert-manager's, about its request", "cm-2", "CertificateRequest", "a-1", "",
		"cert-manager-certificaterequests-issuer-acme", true},
	};
	size_t kept = 0;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		notes_clear(&nt);
		OK(D_EV1, mk_event_by(rows[i].ev, "1", rows[i].okind, rows[i].oname,
		    rows[i].component, rows[i].src));
		kept += rows[i].kept;
		const struct rec_event *out[8];
		size_t n = events_of(rows[i].okind, "ns", rows[i].oname, out, 8);
		bool found = false;
		for (size_t k = 0; k < n && k < 8; k++)
			found |= strcmp(out[k]->ev_meta.m_name, rows[i].ev) == 0;
		cr_expect_eq(found, rows[i].kept, "%s: linked to its object %d, want %d",
		    rows[i].name, found, rows[i].kept);
		cr_expect_eq(notes_has(&nt, "ns/a"), rows[i].kept ? 1 : 0, "%s: notified %zu",
		    rows[i].name, nt.n_len);
		cr_expect_eq(nt.n_len, rows[i].kept ? 1 : 0, "%s: %zu notifications", rows[i].name,
		    nt.n_len);
		store_rdlock(s);
		cr_expect_eq(store_count(s, RES_EVENT), kept, "%s: Events kept", rows[i].name);
		store_unlock(s);
	}

	/* A relist that brings them back keeps what it kept, adds nothing, notifies nobody. */
	notes_clear(&nt);
	uint64_t gen = store_relist_begin(s, D_EV1);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		apply(D_EV1, STORE_SYNC, mk_event_by(rows[i].ev, "1", rows[i].okind, rows[i].oname,
		    rows[i].component, rows[i].src), CC_OK);
	store_relist_end(s, D_EV1, gen);
	cr_expect_eq(nt.n_len, 0, "relist: %zu notifications", nt.n_len);
	store_rdlock(s);
	cr_expect_eq(store_count(s, RES_EVENT), kept);
	store_unlock(s);
	/* Deleting one of certcast's (never kept) notifies nobody. */
	DEL(D_EV1, mk_event_by("own-1", "2", "Certificate", "a", "certcast", NULL));
	cr_expect_eq(nt.n_len, 0);

	/* Should a name once held by cert-manager's Event come back as certcast's, the old
	 * Event is gone: dropped, and its certificate told. */
	apply(D_EV1, STORE_MODIFIED, mk_event_by("cm-1", "2", "Certificate", "a", "certcast",
	    NULL), CC_OK);
	cr_expect_eq(events_of("Certificate", "ns", "a", NULL, 0), 0);
	cr_expect_eq(notes_has(&nt, "ns/a"), 1);
	store_rdlock(s);
	cr_expect_eq(store_count(s, RES_EVENT), kept - 1);
	store_unlock(s);
}

static size_t
cert_crs(const char *ns, const char *name, const struct rec_cr **out, size_t max)
{
	store_rdlock(s);
	size_t n = store_cert_crs(s, ns, name, out, max);
	store_unlock(s);
	return n;
}

Test(store, crs_of_certificate_in_both_arrival_orders)
{
	/* CRs first, Certificate later. */
	OK(D_CR, mk_cr("ns", "a-1", "1", "a", T0));
	OK(D_CR, mk_cr("ns", "a-3", "1", "a", T0 + 200));
	OK(D_CR, mk_cr("ns", "a-2", "1", "a", T0 + 100));
	OK(D_CR, mk_cr("other", "a-9", "1", "a", T0 + 999));
	cr_expect_eq(cert_crs("ns", "a", NULL, 0), 3);
	OK(D_CERT, mk_cert("ns", "a", "1", "Issuer", "ca", ts(T0)));
	const struct rec_cr *out[8];
	store_rdlock(s);
	size_t n = store_cert_crs(s, "ns", "a", out, 8);
	cr_assert_eq(n, 3);
	/* Newest first, checked pairwise in both directions. */
	cr_expect_str_eq(out[0]->r_meta.m_name, "a-3");
	cr_expect_str_eq(out[1]->r_meta.m_name, "a-2");
	cr_expect_str_eq(out[2]->r_meta.m_name, "a-1");
	for (size_t i = 0; i + 1 < n; i++) {
		cr_expect(out[i]->r_meta.m_created > out[i + 1]->r_meta.m_created);
		cr_expect(!(out[i + 1]->r_meta.m_created > out[i]->r_meta.m_created));
	}
	/* max smaller than the total: the newest ones, total still reported. */
	cr_expect_eq(store_cert_crs(s, "ns", "a", out, 1), 3);
	cr_expect_str_eq(out[0]->r_meta.m_name, "a-3");
	store_unlock(s);

	/* Certificate first, CR later. */
	OK(D_CERT, mk_cert("ns", "b", "1", "Issuer", "ca", ts(T0)));
	cr_expect_eq(cert_crs("ns", "b", NULL, 0), 0);
	OK(D_CR, mk_cr("ns", "b-1", "1", "b", T0));
	cr_expect_eq(cert_crs("ns", "b", out, 8), 1);
	/* A CR that changes owner moves between groups; both owners are told. */
	notes_clear(&nt);
	OK(D_CR, mk_cr("ns", "b-1", "2", "a", T0 + 300));
	cr_expect_eq(cert_crs("ns", "b", out, 8), 0);
	cr_expect_eq(cert_crs("ns", "a", out, 8), 4);
	cr_expect_str_eq(out[0]->r_meta.m_name, "b-1");
	cr_expect_eq(notes_has(&nt, "ns/a"), 1);
	cr_expect_eq(notes_has(&nt, "ns/b"), 1);
	/* Deleting a CR shrinks the group and notifies its Certificate. */
	notes_clear(&nt);
	DEL(D_CR, mk_cr("ns", "a-1", "9", "a", T0));
	cr_expect_eq(cert_crs("ns", "a", NULL, 0), 3);
	cr_expect_eq(notes_has(&nt, "ns/a"), 1);
}

Test(store, orders_and_challenges_in_both_arrival_orders)
{
	/* Challenge before its Order before its CR. */
	OK(D_CHALLENGE, mk_owned("ns", "ch-1", "1", "Order", "o-1", T0));
	OK(D_CHALLENGE, mk_owned("ns", "ch-0", "1", "Order", "o-1", T0));
	OK(D_ORDER, mk_owned("ns", "o-1", "1", "CertificateRequest", "cr-1", T0));
	OK(D_ORDER, mk_owned("ns", "o-2", "1", "CertificateRequest", "cr-1", T0 + 10));
	OK(D_CR, mk_cr("ns", "cr-1", "1", "a", T0));
	store_rdlock(s);
	const struct rec_order *os[4];
	const struct rec_challenge *cs[4];
	cr_assert_eq(store_cr_orders(s, "ns", "cr-1", os, 4), 2);
	cr_expect_str_eq(os[0]->o_meta.m_name, "o-2");
	cr_expect_str_eq(os[1]->o_meta.m_name, "o-1");
	cr_assert_eq(store_order_challenges(s, "ns", "o-1", cs, 4), 2);
	cr_expect_str_eq(cs[0]->ch_meta.m_name, "ch-0");
	cr_expect_str_eq(cs[1]->ch_meta.m_name, "ch-1");
	cr_expect_eq(store_order_challenges(s, "ns", "o-2", cs, 4), 0);
	cr_expect_not_null(store_order_get(s, "ns", "o-1"));
	cr_expect_not_null(store_cr_get(s, "ns", "cr-1"));
	cr_expect_null(store_cr_get(s, "other", "cr-1"));
	store_unlock(s);
}

Test(store, events_newest_first_and_capped)
{
	/* 40 Events about one Certificate, arriving in a scrambled order. */
	for (int i = 0; i < 40; i++) {
		int k = (i * 17) % 40;
		char name[32];
		snprintf(name, sizeof name, "a.%02d", k);
		OK(D_EV1, mk_event("ns", name, "1", "Certificate", "ns", "a", T0 + k * 60));
	}
	OK(D_EV1, mk_event("ns", "b.0", "1", "Certificate", "ns", "b", T0));
	const struct rec_event *out[64];
	size_t n = events_of("Certificate", "ns", "a", out, 64);
	cr_assert_eq(n, STORE_EVENTS_PER_OBJECT);
	/* The newest 32 are kept: a.39 down to a.08. */
	cr_expect_str_eq(out[0]->ev_meta.m_name, "a.39");
	cr_expect_str_eq(out[n - 1]->ev_meta.m_name, "a.08");
	for (size_t i = 0; i + 1 < n; i++) {
		cr_expect(out[i]->ev_last > out[i + 1]->ev_last);
		cr_expect(!(out[i + 1]->ev_last > out[i]->ev_last));
	}
	store_rdlock(s);
	cr_expect_eq(store_count(s, RES_EVENT), STORE_EVENTS_PER_OBJECT + 1);
	store_unlock(s);
	/* An Event older than all kept ones does not stay, and notifies nobody. */
	notes_clear(&nt);
	OK(D_EV1, mk_event("ns", "a.old", "1", "Certificate", "ns", "a", T0 - 3600));
	n = events_of("Certificate", "ns", "a", out, 64);
	cr_expect_eq(n, STORE_EVENTS_PER_OBJECT);
	cr_expect_str_eq(out[n - 1]->ev_meta.m_name, "a.08");
	cr_expect_eq(nt.n_len, 0);
	/* A newer one pushes the oldest kept one out, and notifies. */
	OK(D_EV1, mk_event("ns", "a.new", "1", "Certificate", "ns", "a", T0 + 7200));
	n = events_of("Certificate", "ns", "a", out, 64);
	cr_expect_eq(n, STORE_EVENTS_PER_OBJECT);
	cr_expect_str_eq(out[0]->ev_meta.m_name, "a.new");
	cr_expect_str_eq(out[n - 1]->ev_meta.m_name, "a.09");
	cr_expect_eq(notes_has(&nt, "ns/a"), 1);
	cr_expect_eq(events_of("Certificate", "ns", "b", out, 64), 1);
}

Test(store, issuer_index_and_lookup)
{
	OK(D_CERT, mk_cert("ns", "a", "1", "ClusterIssuer", "le", ts(T0)));
	OK(D_CERT, mk_cert("ns2", "b", "1", "ClusterIssuer", "le", ts(T0)));
	OK(D_CERT, mk_cert("ns", "c", "1", "Issuer", "le", ts(T0)));
	OK(D_CERT, mk_cert("ns2", "d", "1", "Issuer", "le", ts(T0)));
	OK(D_CISSUER, mk_issuer(NULL, "le", "1", "True"));
	OK(D_ISSUER, mk_issuer("ns", "le", "1", "False"));
	store_rdlock(s);
	const struct rec_cert *out[8];
	cr_expect_eq(store_issuer_certs(s, NULL, "ClusterIssuer", "whatever", "le", out, 8), 2);
	cr_expect_eq(store_issuer_certs(s, NULL, "Issuer", "ns", "le", out, 8), 1);
	cr_expect_str_eq(out[0]->c_meta.m_name, "c");
	cr_expect_eq(store_issuer_certs(s, NULL, "Issuer", "ns2", "le", out, 8), 1);
	cr_expect_eq(store_issuer_certs(s, "other.io", "Issuer", "ns", "le", out, 8), 0);

	const struct rec_issuer *ia = store_cert_issuer(s, store_cert_get(s, "ns", "a"));
	cr_assert_not_null(ia);
	cr_expect_eq(ia->i_meta.m_kind, RES_CLUSTERISSUER);
	cr_expect_eq(ia->i_type, REC_ISSUER_ACME);
	const struct rec_issuer *ic = store_cert_issuer(s, store_cert_get(s, "ns", "c"));
	cr_assert_not_null(ic);
	cr_expect_eq(ic->i_meta.m_kind, RES_ISSUER);
	cr_expect_eq(ic->i_ready.c_status, REC_COND_FALSE);
	/* d's Issuer lives in ns2 and has not arrived. */
	cr_expect_null(store_cert_issuer(s, store_cert_get(s, "ns2", "d")));
	cr_expect_eq(store_cert_issuer_type(s, store_cert_get(s, "ns", "a")), REC_ISSUER_ACME);
	cr_expect_eq(store_cert_issuer_type(s, store_cert_get(s, "ns", "c")), REC_ISSUER_CA);
	cr_expect_eq(store_cert_issuer_type(s, store_cert_get(s, "ns2", "d")), REC_ISSUER_UNKNOWN);
	cr_expect_not_null(store_issuer_get(s, RES_CLUSTERISSUER, "ignored", "le"));
	cr_expect_null(store_issuer_get(s, RES_ISSUER, "ns2", "le"));
	store_unlock(s);

	/* A Certificate moving to another issuer leaves the old group. */
	OK(D_CERT, mk_cert("ns", "a", "2", "Issuer", "le", ts(T0)));
	/* One of another API group is external, whether or not anything else is known. */
	cJSON *ext = mk_cert("ns", "e", "1", "AWSPCAIssuer", "pca", ts(T0));
	cJSON_AddStringToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(ext, "spec"), "issuerRef"),
	    "group", "awspca.cert-manager.io");
	OK(D_CERT, ext);
	store_rdlock(s);
	cr_expect_eq(store_cert_issuer_type(s, store_cert_get(s, "ns", "e")), REC_ISSUER_EXTERNAL);
	cr_expect_null(store_cert_issuer(s, store_cert_get(s, "ns", "e")));
	cr_expect_eq(store_issuer_certs(s, "awspca.cert-manager.io", "AWSPCAIssuer", "ns", "pca",
	    out, 8), 1);
	cr_expect_eq(store_issuer_certs(s, NULL, "ClusterIssuer", "", "le", out, 8), 1);
	cr_expect_eq(store_issuer_certs(s, NULL, "Issuer", "ns", "le", out, 8), 2);
	store_unlock(s);
}

Test(store, iteration)
{
	OK(D_CERT, mk_cert("ns", "a", "1", "Issuer", "ca", ts(T0)));
	OK(D_CERT, mk_cert("ns", "b", "1", "Issuer", "ca", ts(T0)));
	OK(D_CERT, mk_cert("other", "c", "1", "Issuer", "ca", ts(T0)));
	OK(D_POD, mk_pod("p", "1", 0, "2025-01-01T00:00:00Z"));
	store_rdlock(s);
	struct store_iter it = {0};
	int all = 0, in_ns = 0, pods = 0;
	while (store_cert_next(s, NULL, &it) != NULL)
		all++;
	memset(&it, 0, sizeof it);
	const struct rec_cert *c;
	while ((c = store_cert_next(s, "ns", &it)) != NULL) {
		cr_expect_str_eq(c->c_meta.m_ns, "ns");
		in_ns++;
	}
	memset(&it, 0, sizeof it);
	while (store_next(s, RES_POD, &it) != NULL)
		pods++;
	store_unlock(s);
	cr_expect_eq(all, 3);
	cr_expect_eq(in_ns, 2);
	cr_expect_eq(pods, 1);
}

/* One row of the notification table: after setup, applying change tells exactly these keys. */
Test(store, who_is_notified)
{
	OK(D_CERT, mk_cert("ns", "a", "1", "ClusterIssuer", "le", ts(T0)));
	OK(D_CERT, mk_cert("ns", "b", "1", "ClusterIssuer", "le", ts(T0)));
	OK(D_CERT, mk_cert("ns", "c", "1", "Issuer", "ca", ts(T0)));
	OK(D_CR, mk_cr("ns", "a-1", "1", "a", T0));
	OK(D_ORDER, mk_owned("ns", "o-1", "1", "CertificateRequest", "a-1", T0));
	OK(D_CHALLENGE, mk_owned("ns", "ch-1", "1", "Order", "o-1", T0));
	OK(D_CISSUER, mk_issuer(NULL, "le", "1", "True"));
	OK(D_ISSUER, mk_issuer("ns", "ca", "1", "True"));
	OK(D_POD, mk_pod("cm-1", "1", 0, "2025-01-01T00:00:00Z"));

	struct {
		const char *name;
		const struct res_desc *d;
		enum store_event ev;
		cJSON *obj;
		const char *want[4]; /* keys notified, NULL-terminated */
	} rows[] = {
	    {"certificate change", D_CERT, STORE_MODIFIED,
		mk_cert("ns", "a", "2", "ClusterIssuer", "le", ts(T0 + 1)), {"ns/a"}},
	    {"CR change: its certificate", D_CR, STORE_MODIFIED, mk_cr("ns", "a-1", "2", "a", T0),
		{"ns/a"}},
	    {"order change: through its CR", D_ORDER, STORE_MODIFIED,
		mk_owned("ns", "o-1", "2", "CertificateRequest", "a-1", T0), {"ns/a"}},
	    {"challenge change: through order and CR", D_CHALLENGE, STORE_MODIFIED,
		mk_owned("ns", "ch-1", "2", "Order", "o-1", T0), {"ns/a"}},
	    {"order of unknown CR: nobody", D_ORDER, STORE_ADDED,
		mk_owned("ns", "o-9", "1", "CertificateRequest", "nope", T0), {NULL}},
	    {"event about the certificate", D_EV1, STORE_ADDED,
		mk_event("ns", "e1", "1", "Certificate", "ns", "b", T0), {"ns/b"}},
	    {"event about a CR", D_EV1, STORE_ADDED,
		mk_event("ns", "e2", "1", "CertificateRequest", "ns", "a-1", T0), {"ns/a"}},
	    {"event about an order", D_EV2, STORE_ADDED,
		mk_event("ns", "e3", "1", "Order", "ns", "o-1", T0), {"ns/a"}},
	    {"event about a challenge", D_EV2, STORE_ADDED,
		mk_event("ns", "e4", "1", "Challenge", "ns", "ch-1", T0), {"ns/a"}},
	    {"event about a cluster issuer: its certificates", D_EV1, STORE_ADDED,
		mk_event("default", "e5", "1", "ClusterIssuer", "", "le", T0), {"ns/a", "ns/b"}},
	    {"issuer ready flips: its certificates", D_CISSUER, STORE_MODIFIED,
		mk_issuer(NULL, "le", "2", "False"), {"ns/a", "ns/b"}},
	    {"issuer new version, same content: nobody", D_CISSUER, STORE_MODIFIED,
		mk_issuer(NULL, "le", "3", "False"), {NULL}},
	    {"namespaced issuer change", D_ISSUER, STORE_MODIFIED,
		mk_issuer("ns", "ca", "2", "False"), {"ns/c"}},
	    {"pod restart: every certificate", D_POD, STORE_MODIFIED,
		mk_pod("cm-1", "2", 1, "2025-01-01T00:00:00Z"), {"ns/a", "ns/b", "ns/c"}},
	    {"pod new version, same content: nobody", D_POD, STORE_MODIFIED,
		mk_pod("cm-1", "3", 1, "2025-01-01T00:00:00Z"), {NULL}},
	    {"challenge deleted", D_CHALLENGE, STORE_DELETED,
		mk_owned("ns", "ch-1", "3", "Order", "o-1", T0), {"ns/a"}},
	    {"issuer deleted", D_ISSUER, STORE_DELETED, mk_issuer("ns", "ca", "3", "False"),
		{"ns/c"}},
	    {"certificate deleted", D_CERT, STORE_DELETED,
		mk_cert("ns", "b", "9", "ClusterIssuer", "le", ts(T0)), {"ns/b"}},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		notes_clear(&nt);
		char err[256] = "";
		int rc = store_apply(s, rows[i].d, rows[i].ev, rows[i].obj, err, sizeof err);
		cJSON_Delete(rows[i].obj);
		cr_expect_eq(rc, CC_OK, "%s: %s", rows[i].name, err);
		size_t want = 0;
		for (; want < 4 && rows[i].want[want] != NULL; want++)
			cr_expect_eq(notes_has(&nt, rows[i].want[want]), 1, "%s: %s not notified",
			    rows[i].name, rows[i].want[want]);
		cr_expect_eq(nt.n_len, want, "%s: %zu notifications, want %zu", rows[i].name,
		    nt.n_len, want);
	}
}

Test(store, notify_callback_may_read)
{
	nt.n_store = s;
	OK(D_CERT, mk_cert("ns", "a", "1", "Issuer", "ca", ts(T0)));
	OK(D_CR, mk_cr("ns", "a-1", "1", "a", T0));
	/* Both callbacks ran outside the write lock and saw the Certificate. */
	cr_expect_eq(nt.n_seen_cert, 2);
	nt.n_store = NULL;
}

/* ---- certcast's own writes (store_mark_own) ---- */

/*
 * One step of an own-write script: 'm' marks name at rv; 'e' brings the Certificate at rv (a
 * new notAfter each time, so the record changes); 's' re-applies it at rv unchanged (a relist);
 * 'c' brings a CertificateRequest of the same name owned by the Certificate. want is the number
 * of notifications for shop/name the step must cause.
 */
struct own_step {
	char op;
	const char *name, *rv;
	int want;
};

struct own_case {
	const char *name;
	struct own_step steps[10];
};

static const struct own_case own_cases[] = {
    {"the event at the marked version is stored and quiet",
	{{'e', "a", "1", 1}, {'m', "a", "2", 0}, {'e', "a", "2", 0}, {'e', "a", "3", 1}}},
    {"an event at another version notifies; the marked one, coming after it, is quiet",
	{{'e', "a", "1", 1}, {'m', "a", "5", 0}, {'e', "a", "4", 1}, {'e', "a", "5", 0},
	    {'e', "a", "6", 1}}},
    {"a mark after its event costs one notification, of the next event only",
	{{'e', "a", "1", 1}, {'e', "a", "2", 1}, {'m', "a", "2", 0}, {'e', "a", "3", 1},
	    {'e', "a", "4", 1}, {'m', "a", "5", 0}, {'e', "a", "5", 0}}},
    {"the newest mark replaces an older one",
	{{'e', "a", "1", 1}, {'m', "a", "2", 0}, {'m', "a", "3", 0}, {'e', "a", "3", 0},
	    {'e', "a", "2", 1}}},
    {"an older mark's version notifies, the newest's stays quiet",
	{{'e', "a", "1", 1}, {'m', "a", "2", 0}, {'m', "a", "3", 0}, {'e', "a", "2", 1},
	    {'e', "a", "3", 0}}},
    {"marks are per object",
	{{'e', "a", "1", 1}, {'e', "b", "1", 1}, {'m', "a", "2", 0}, {'e', "b", "2", 1},
	    {'e', "a", "2", 0}}},
    {"a mark made before the object is known",
	{{'m', "c", "1", 0}, {'e', "c", "1", 0}, {'e', "c", "2", 1}}},
    {"a CertificateRequest of the same name neither is quiet nor takes the mark",
	{{'e', "a", "1", 1}, {'m', "a", "2", 0}, {'c', "a", "2", 1}, {'e', "a", "2", 0}}},
    {"a relist of an unchanged version keeps the mark",
	{{'e', "a", "1", 1}, {'m', "a", "2", 0}, {'s', "a", "1", 0}, {'e', "a", "2", 0}}},
};

Test(store, own_writes_are_quiet)
{
	for (size_t i = 0; i < sizeof own_cases / sizeof own_cases[0]; i++) {
		const struct own_case *k = &own_cases[i];
		/* a fresh store per case */
		store_free(s);
		s = store_new();
		store_set_notify(s, note_fn, &nt);
		int64_t na = T0;
		for (size_t j = 0; j < 10 && k->steps[j].op; j++) {
			const struct own_step *st = &k->steps[j];
			char key[64];
			snprintf(key, sizeof key, "shop/%s", st->name);
			notes_clear(&nt);
			switch (st->op) {
			case 'm':
				store_mark_own(s, "shop", st->name, st->rv);
				break;
			case 'e':
				na += 60;
				OK(D_CERT, mk_cert("shop", st->name, st->rv, "Issuer", "ca", ts(na)));
				cr_expect_eq(cert_not_after("shop", st->name), na,
				    "%s: step %zu: the record was not stored", k->name, j);
				break;
			case 's':
				apply(D_CERT, STORE_SYNC,
				    mk_cert("shop", st->name, st->rv, "Issuer", "ca", ts(na)), CC_OK);
				break;
			case 'c': {
				char cr[64];
				snprintf(cr, sizeof cr, "%s", st->name);
				OK(D_CR, mk_cr("shop", cr, st->rv, st->name, T0));
				break;
			}
			}
			cr_expect_eq(notes_has(&nt, key), (size_t)st->want,
			    "%s: step %zu (%c %s@%s): %zu notifications, want %d", k->name, j, st->op,
			    st->name, st->rv, notes_has(&nt, key), st->want);
		}
	}
}

/* A Certificate at rv with certcast's risk annotations (NULL: left out). */
static cJSON *
mk_cert_annot(const char *name, const char *rv, const char *risk, const char *pfail)
{
	char an[256] = "";
	size_t n = 0;
	if (risk)
		n += (size_t)snprintf(an + n, sizeof an - n, "\"certcast.io/risk\":\"%s\"", risk);
	if (pfail)
		snprintf(an + n, sizeof an - n, "%s\"certcast.io/predicted-failure\":\"%s\"",
		    n ? "," : "", pfail);
	return parse(xasprintf("{\"kind\":\"Certificate\",\"metadata\":{\"namespace\":\"shop\","
	    "\"name\":\"%s\",\"resourceVersion\":\"%s\",\"annotations\":{%s}},\"spec\":"
	    "{\"secretName\":\"x\",\"issuerRef\":{\"name\":\"ca\"}},\"status\":{}}",
	    name, rv, an));
}

/*
 * The event of an annotation write that comes before the write's answer: recognised as the one
 * that gave the object the annotations the write sets, and only that one.
 */
Test(store, own_write_recognised_before_its_answer)
{
	const char *keys[] = {"certcast.io/risk", "certcast.io/predicted-failure"};
	const char *set[] = {"0.2", NULL};
	OK(D_CERT, mk_cert_annot("a", "1", "0.1", "2026-12-03T00:00:00Z"));
	cr_expect_eq(notes_has(&nt, "shop/a"), 1);
	notes_clear(&nt);
	store_expect_own(s, "shop", "a", keys, set, 2);
	/* cert-manager's write comes first: the annotations are still the old ones */
	OK(D_CERT, mk_cert_annot("a", "2", "0.1", "2026-12-03T00:00:00Z"));
	cr_expect_eq(notes_has(&nt, "shop/a"), 1, "someone else's event notifies");
	notes_clear(&nt);
	/* then certcast's: risk 0.2, predicted-failure gone */
	OK(D_CERT, mk_cert_annot("a", "3", "0.2", NULL));
	cr_expect_eq(notes_has(&nt, "shop/a"), 0, "the write's own event is quiet");
	/* the answer comes last and clears the mark; a later event notifies */
	store_mark_own(s, "shop", "a", "3");
	OK(D_CERT, mk_cert_annot("a", "4", "0.2", NULL));
	cr_expect_eq(notes_has(&nt, "shop/a"), 1, "the next event, same annotations, notifies");
	notes_clear(&nt);

	/* annotations that were already there before: no event of this write can be told */
	store_expect_own(s, "shop", "a", keys, set, 2);
	OK(D_CERT, mk_cert_annot("a", "5", "0.2", NULL));
	cr_expect_eq(notes_has(&nt, "shop/a"), 1, "no change to the annotations: not the write's");
	notes_clear(&nt);
	store_mark_own(s, "shop", "a", "6");
	OK(D_CERT, mk_cert_annot("a", "6", "0.2", NULL));
	cr_expect_eq(notes_has(&nt, "shop/a"), 0, "then its version is");

	/* a failed write forgets its mark: the values, arriving from someone else, notify */
	const char *set3[] = {"0.3", NULL};
	store_expect_own(s, "shop", "a", keys, set3, 2);
	store_mark_own(s, "shop", "a", NULL);
	OK(D_CERT, mk_cert_annot("a", "7", "0.3", NULL));
	cr_expect_eq(notes_has(&nt, "shop/a"), 1, "a failed write's mark is gone");
	notes_clear(&nt);

	/* a partial change is not the write (every annotation must be as it sets it) */
	const char *set4[] = {"0.4", "2027-01-01T00:00:00Z"};
	store_expect_own(s, "shop", "a", keys, set4, 2);
	OK(D_CERT, mk_cert_annot("a", "8", "0.4", NULL));
	cr_expect_eq(notes_has(&nt, "shop/a"), 1, "half of it is someone else's");
	notes_clear(&nt);
	OK(D_CERT, mk_cert_annot("a", "9", "0.4", "2027-01-01T00:00:00Z"));
	cr_expect_eq(notes_has(&nt, "shop/a"), 0, "the whole of it is the write's");
	notes_clear(&nt);
	/* an event after it, before the answer, is someone else's */
	OK(D_CERT, mk_cert_annot("a", "10", "0.4", "2027-01-01T00:00:00Z"));
	cr_expect_eq(notes_has(&nt, "shop/a"), 1, "recognised once only");
	notes_clear(&nt);
	/* another object is not concerned */
	store_expect_own(s, "shop", "a", keys, set, 2);
	OK(D_CERT, mk_cert_annot("b", "11", "0.2", NULL));
	cr_expect_eq(notes_has(&nt, "shop/b"), 1, "marks are per object");
}

/* At most 4096 marks: one more drops the oldest, whose event then notifies. */
Test(store, own_marks_are_bounded)
{
	char name[32];
	for (int i = 0; i < 4096; i++) {
		snprintf(name, sizeof name, "c%d", i);
		store_mark_own(s, "shop", name, "1");
	}
	/* all 4096 kept: the oldest is still quiet */
	OK(D_CERT, mk_cert("shop", "c0", "1", "Issuer", "ca", ts(T0)));
	cr_expect_eq(nt.n_len, 0, "the oldest of 4096 marks was dropped");
	/* c0's mark is gone with its event; two more make 4097, and c1 is the oldest */
	store_mark_own(s, "shop", "c0", "2");
	store_mark_own(s, "shop", "d0", "1");
	OK(D_CERT, mk_cert("shop", "c1", "1", "Issuer", "ca", ts(T0)));
	cr_expect_eq(notes_has(&nt, "shop/c1"), 1, "the dropped mark still silenced its event");
	notes_clear(&nt);
	const char *quiet[][2] = {{"c2", "1"}, {"c4095", "1"}, {"c0", "2"}, {"d0", "1"}};
	for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
		OK(D_CERT, mk_cert("shop", quiet[i][0], quiet[i][1], "Issuer", "ca", ts(T0 + 60)));
		cr_expect_eq(nt.n_len, 0, "%s@%s notified: its mark was dropped", quiet[i][0],
		    quiet[i][1]);
	}
}

/* Marks and events from different threads (make test-tsan). */
static void *
own_marker(void *arg)
{
	(void)arg;
	char name[16], rv[16];
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof name, "m%d", i % 50);
		snprintf(rv, sizeof rv, "%d", i);
		store_mark_own(s, "shop", name, rv);
	}
	return NULL;
}

Test(store, own_marks_from_another_thread)
{
	pthread_t t;
	pthread_create(&t, NULL, own_marker, NULL);
	for (int i = 0; i < 2000; i++) {
		char name[16], rv[16];
		snprintf(name, sizeof name, "m%d", i % 50);
		snprintf(rv, sizeof rv, "%d", i);
		OK(D_CERT, mk_cert("shop", name, rv, "Issuer", "ca", ts(T0 + i)));
	}
	pthread_join(t, NULL);
	store_rdlock(s);
	cr_expect_eq(store_count(s, RES_CERTIFICATE), 50);
	store_unlock(s);
	/* whatever raced, a mark made now still silences its event */
	store_mark_own(s, "shop", "m0", "9999");
	notes_clear(&nt);
	OK(D_CERT, mk_cert("shop", "m0", "9999", "Issuer", "ca", ts(T0)));
	cr_expect_eq(nt.n_len, 0);
}

/* ---- concurrency smoke test ---- */

#define SMOKE_CERTS 200
#define SMOKE_ROUNDS 15

struct smoke {
	atomic_int sm_stop;     /* readers run until set (volatile was a data race: make test-tsan) */
	long sm_reads;          /* successful reads, per reader */
};

static void *
smoke_cert_writer(void *arg)
{
	(void)arg;
	for (int r = 0; r < SMOKE_ROUNDS; r++) {
		uint64_t gen = store_relist_begin(s, D_CERT);
		for (int i = 0; i < SMOKE_CERTS; i++) {
			/* Every third round drops the odd ones, so the relist deletes them. */
			if (r % 3 == 2 && i % 2 == 1)
				continue;
			char name[16], rv[16];
			snprintf(name, sizeof name, "c%d", i);
			snprintf(rv, sizeof rv, "%d", r);
			cJSON *j = mk_cert("ns", name, rv, "ClusterIssuer", "le", ts(T0 + r));
			cr_expect_eq(store_apply(s, D_CERT, STORE_SYNC, j, NULL, 0), CC_OK);
			cJSON_Delete(j);
		}
		store_relist_end(s, D_CERT, gen);
	}
	return NULL;
}

static void *
smoke_cr_writer(void *arg)
{
	(void)arg;
	for (int r = 0; r < SMOKE_ROUNDS; r++) {
		for (int i = 0; i < SMOKE_CERTS; i++) {
			char name[16], cert[16], rv[16];
			snprintf(name, sizeof name, "c%d-%d", i, r % 4);
			snprintf(cert, sizeof cert, "c%d", i);
			snprintf(rv, sizeof rv, "%d", r);
			cJSON *j = mk_cr("ns", name, rv, cert, T0 + r);
			cr_expect_eq(store_apply(s, D_CR, STORE_MODIFIED, j, NULL, 0), CC_OK);
			cJSON_Delete(j);
			if (i % 10 == 0) {
				j = mk_event("ns", name, rv, "CertificateRequest", "ns", name,
				    T0 + r);
				cr_expect_eq(store_apply(s, D_EV1, STORE_ADDED, j, NULL, 0), CC_OK);
				cJSON_Delete(j);
			}
		}
	}
	return NULL;
}

static void *
smoke_reader(void *arg)
{
	struct smoke *sm = arg;
	const struct rec_cr *crs[8];
	while (!atomic_load(&sm->sm_stop)) {
		store_rdlock(s);
		struct store_iter it = {0};
		const struct rec_cert *c;
		while ((c = store_cert_next(s, "ns", &it)) != NULL) {
			size_t n = store_cert_crs(s, "ns", c->c_meta.m_name, crs, 8);
			for (size_t i = 0; i < n && i < 8; i++)
				cr_expect_str_eq(crs[i]->r_cert_name, c->c_meta.m_name);
			if (store_cert_issuer(s, c) != NULL)
				sm->sm_reads++;
			sm->sm_reads++;
		}
		store_unlock(s);
	}
	return NULL;
}

Test(store, readers_and_writers_smoke)
{
	struct smoke sm[2] = {{0}, {0}};
	pthread_t w1, w2, r[2];
	OK(D_CISSUER, mk_issuer(NULL, "le", "1", "True"));
	for (int i = 0; i < 2; i++)
		pthread_create(&r[i], NULL, smoke_reader, &sm[i]);
	pthread_create(&w1, NULL, smoke_cert_writer, NULL);
	pthread_create(&w2, NULL, smoke_cr_writer, NULL);
	pthread_join(w1, NULL);
	pthread_join(w2, NULL);
	for (int i = 0; i < 2; i++) {
		atomic_store(&sm[i].sm_stop, 1);
		pthread_join(r[i], NULL);
	}
	store_rdlock(s);
	/* Round 14 (14 % 3 == 2) dropped the odd Certificates; every CR survives. */
	cr_expect_eq(store_count(s, RES_CERTIFICATE), SMOKE_CERTS / 2);
	cr_expect_eq(store_count(s, RES_CERTIFICATEREQUEST), SMOKE_CERTS * 4);
	cr_expect_eq(store_cert_crs(s, "ns", "c0", NULL, 0), 4);
	store_unlock(s);
	cr_expect_gt(nt.n_len + nt.n_dropped, 0);
}
