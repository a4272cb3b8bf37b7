/* lease: leader election on a coordination.k8s.io/v1 Lease (client-go's rules, in C). */
#include "lease.h"

#include "buf.h"
#include "cc_err.h"
#include "decode.h"
#include "kube_client.h"
#include "log.h"
#include "monotime.h"
#include "resource.h"
#include "timefmt.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define LE_BODY_MAX (256 * 1024) /* a Lease is a few hundred bytes; managedFields add some */
#define LE_JITTER 1.2            /* client-go's JitterFactor for a candidate's retries */
#define LE_MAX_MS (3600 * 1000)  /* no duration above an hour */

struct le {
	struct kube_client *l_client;  /* borrowed */
	char *l_ns;                    /* owned: the Lease's namespace */
	char *l_name;                  /* owned: its name */
	char *l_path;                  /* owned: .../namespaces/NS/leases/NAME (GET, PUT) */
	char *l_coll;                  /* owned: .../namespaces/NS/leases (POST) */
	char l_id[LE_ID_MAX];          /* our identity */
	struct le_durations l_dur;     /* checked */
	le_changed_fn l_changed;       /* told of every change of leadership, or NULL */
	void *l_changed_arg;

	/* shared with every thread (le_is_leader) */
	atomic_int l_leading;          /* 1 while we lead, as far as the loop knows */
	_Atomic int64_t l_until_ms;    /* monotonic ms after which l_leading counts for nothing */

	/* the election thread's own; le_stop's after the join */
	pthread_t l_thread;
	int l_running;                 /* l_thread was started and not yet joined */
	int l_stopped;                 /* le_stop ran */
	pthread_mutex_t l_mu;          /* guards l_stop for the wait */
	pthread_cond_t l_cv;           /* on CLOCK_MONOTONIC; le_stop wakes the wait */
	int l_stop;                    /* under l_mu */
	int l_lead;                    /* the loop's own copy of l_leading */
	int l_have;                    /* l_rec and l_raw hold the Lease as last read or written */
	struct le_record l_rec;        /* that Lease's spec */
	char *l_raw;                   /* owned: its JSON text, the base of the next PUT */
	double l_observed;             /* monotonic s: when l_rec's spec last changed as we saw it */
	double l_renewed;              /* monotonic s: start of our last successful write */
	char l_seen[LE_ID_MAX];        /* the holder last logged */
	int l_read_fails;              /* failed reads in a row (the first is a warning) */
	int l_write_fails;             /* failed writes in a row (the first is a warning) */
	uint64_t l_rng;                /* jitter generator state */
};

/* ---- clocks ---------------------------------------------------------------------------------- */

static double
le_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t
le_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
le_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the pure part --------------------------------------------------------------------------- */

int
le_durations_check(const struct le_durations *d, char *err, size_t errsz)
{
	char a[TF_BUFSZ], b[TF_BUFSZ];
	if (d->ld_lease_ms <= 0 || d->ld_renew_ms <= 0 || d->ld_retry_ms <= 0)
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "leaseDuration, renewDeadline and retryPeriod must all be more than 0");
	if (d->ld_lease_ms % 1000 != 0) {
		tf_duration_format_ms(d->ld_lease_ms, a, sizeof a);
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "leaseDuration (%s) must be whole seconds: the Lease holds leaseDurationSeconds", a);
	}
	if (d->ld_lease_ms > LE_MAX_MS || d->ld_renew_ms > LE_MAX_MS || d->ld_retry_ms > LE_MAX_MS)
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "leaseDuration, renewDeadline and retryPeriod must be at most 1h");
	if (d->ld_renew_ms >= d->ld_lease_ms) {
		tf_duration_format_ms(d->ld_renew_ms, a, sizeof a);
		tf_duration_format_ms(d->ld_lease_ms, b, sizeof b);
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "renewDeadline (%s) must be shorter than leaseDuration (%s): a leader that cannot "
		    "renew must step down before another replica may take the lease", a, b);
	}
	if (d->ld_retry_ms >= d->ld_renew_ms) {
		tf_duration_format_ms(d->ld_retry_ms, a, sizeof a);
		tf_duration_format_ms(d->ld_renew_ms, b, sizeof b);
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "retryPeriod (%s) must be shorter than renewDeadline (%s): the leader retries a "
		    "failed renewal every retryPeriod until renewDeadline", a, b);
	}
	return CC_OK;
}

int
le_record_same(const struct le_record *a, const struct le_record *b)
{
	return strcmp(a->lr_holder, b->lr_holder) == 0 && a->lr_duration_s == b->lr_duration_s &&
	    a->lr_acquire_us == b->lr_acquire_us && a->lr_renew_us == b->lr_renew_us &&
	    a->lr_transitions == b->lr_transitions;
}

const char *
le_action_name(enum le_action a)
{
	switch (a) {
	case LE_ACQUIRE:
		return "acquire";
	case LE_RENEW:
		return "renew";
	case LE_LOST:
		return "lost";
	default:
		return "wait";
	}
}

enum le_action
le_decide(const struct le_view *v, const char *identity, const struct le_durations *d,
    const char **why)
{
	const char *scratch;
	if (why == NULL)
		why = &scratch;
	if (v->lv_leading && v->lv_now - v->lv_renewed >= (double)d->ld_renew_ms / 1000) {
		*why = "could not renew the lease within renewDeadline";
		return LE_LOST;
	}
	if (v->lv_obs == LE_OBS_UNKNOWN || (v->lv_obs == LE_OBS_PRESENT && v->lv_rec == NULL)) {
		*why = "the lease could not be read";
		return LE_WAIT;
	}
	if (v->lv_obs == LE_OBS_ABSENT) {
		*why = "there is no lease";
		return LE_ACQUIRE;
	}
	const struct le_record *r = v->lv_rec;
	int ours = strcmp(r->lr_holder, identity) == 0;
	if (v->lv_leading && !ours) {
		*why = r->lr_holder[0] ? "the lease is held by another replica" :
					 "the lease was released by someone else";
		return LE_LOST;
	}
	if (ours) {
		*why = v->lv_leading ? "the lease is ours" : "the lease names us";
		return v->lv_leading ? LE_RENEW : LE_ACQUIRE;
	}
	if (r->lr_holder[0] == '\0') {
		*why = "the lease was released";
		return LE_ACQUIRE;
	}
	/* client-go's isLeaseValid: our sighting of the record, plus its own duration */
	if (v->lv_observed + (double)r->lr_duration_s > v->lv_now) {
		*why = "the lease is held by another replica";
		return LE_WAIT;
	}
	*why = "the lease held by another replica expired";
	return LE_ACQUIRE;
}

void
le_next_record(const struct le_record *cur, const char *identity, const struct le_durations *d,
    int64_t now_us, struct le_record *out)
{
	memset(out, 0, sizeof *out);
	xstrlcpy(out->lr_holder, identity, sizeof out->lr_holder);
	out->lr_duration_s = d->ld_lease_ms / 1000;
	out->lr_renew_us = now_us;
	out->lr_acquire_us = now_us;
	if (cur == NULL)
		return; /* created: no transition yet */
	if (strcmp(cur->lr_holder, identity) == 0) {
		out->lr_acquire_us = cur->lr_acquire_us;
		out->lr_transitions = cur->lr_transitions;
	} else if (cur->lr_transitions < INT32_MAX) {
		out->lr_transitions = cur->lr_transitions + 1;
	} else {
		/* leaseTransitions is an int32: past it the write is refused, and nobody leads */
		out->lr_transitions = INT32_MAX;
	}
}

void
le_release_record(const struct le_record *cur, int64_t now_us, struct le_record *out)
{
	memset(out, 0, sizeof *out);
	out->lr_duration_s = 1;
	out->lr_acquire_us = now_us;
	out->lr_renew_us = now_us;
	out->lr_transitions = cur ? cur->lr_transitions : 0;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

int
le_format_microtime(int64_t us, char *buf, size_t len)
{
	int64_t sec = us / 1000000, frac = us % 1000000;
	if (frac < 0) {
		frac += 1000000;
		sec--;
	}
	char whole[TF_BUFSZ];
	int rc = tf_format_time(sec, whole, sizeof whole); /* "YYYY-MM-DDTHH:MM:SSZ" */
	if (rc != CC_OK)
		return rc;
	size_t n = strlen(whole);
	int w = snprintf(buf, len, "%.*s.%06lldZ", (int)(n - 1), whole, (long long)frac);
	return w < 0 || (size_t)w >= len ? CC_ERR_TOOBIG : CC_OK;
}


/* An integer member in [0, INT32_MAX] (Go's *int32); *out untouched when absent. */
static int
le_int32(const cJSON *spec, const char *key, int64_t *out, char *err, size_t errsz)
{
	const cJSON *v = dec_child(spec, key);
	if (v == NULL)
		return CC_OK;
	if (!cJSON_IsNumber(v))
		return cc_fail(err, errsz, CC_ERR_PARSE, "spec.%s: expected an integer, got %s", key,
		    dec_type_name(v));
	double x = v->valuedouble;
	if (!isfinite(x) || x != floor(x) || x < 0 || x > 2147483647.0)
		return cc_fail(err, errsz, CC_ERR_PARSE,
		    "spec.%s: %g is not an integer from 0 to 2147483647", key, x);
	*out = (int64_t)x;
	return CC_OK;
}

/* A MicroTime member into Unix microseconds; *out untouched when absent. */
static int
le_time(const cJSON *spec, const char *key, int64_t *out, char *err, size_t errsz)
{
	const cJSON *v = dec_child(spec, key);
	if (v == NULL)
		return CC_OK;
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return cc_fail(err, errsz, CC_ERR_PARSE, "spec.%s: expected a string, got %s", key,
		    dec_type_name(v));
	int64_t sec;
	int32_t nsec;
	if (tf_parse_rfc3339(v->valuestring, &sec, &nsec) != CC_OK) {
		char q[DEC_QUOTE_MAX + 4];
		dec_quote(v->valuestring, q, sizeof q);
		return cc_fail(err, errsz, CC_ERR_PARSE, "spec.%s: not a MicroTime: \"%s\"", key, q);
	}
	*out = sec * 1000000 + nsec / 1000;
	return CC_OK;
}

/* The object's kind, when present, must be Lease. */
static int
le_check_kind(const cJSON *root, char *err, size_t errsz)
{
	const cJSON *k = dec_child(root, "kind");
	if (k == NULL)
		return CC_OK;
	if (!cJSON_IsString(k) || k->valuestring == NULL)
		return cc_fail(err, errsz, CC_ERR_PARSE, "kind: expected a string, got %s",
		    dec_type_name(k));
	if (strcmp(k->valuestring, "Lease") != 0) {
		char q[DEC_QUOTE_MAX + 4];
		dec_quote(k->valuestring, q, sizeof q);
		return cc_fail(err, errsz, CC_ERR_PARSE, "kind: \"%s\", not Lease", q);
	}
	return CC_OK;
}

static int
le_parse_tree(const cJSON *root, struct le_record *out, char *err, size_t errsz)
{
	struct le_record r;
	memset(&r, 0, sizeof r);
	r.lr_acquire_us = r.lr_renew_us = LE_TIME_NONE;
	if (!cJSON_IsObject(root))
		return cc_fail(err, errsz, CC_ERR_PARSE, "expected a Lease object, got %s",
		    dec_type_name(root));
	int rc = le_check_kind(root, err, errsz);
	if (rc != CC_OK)
		return rc;
	const cJSON *meta = dec_child(root, "metadata");
	if (meta == NULL)
		return cc_fail(err, errsz, CC_ERR_PARSE, "metadata: missing");
	if (!cJSON_IsObject(meta))
		return cc_fail(err, errsz, CC_ERR_PARSE, "metadata: expected an object, got %s",
		    dec_type_name(meta));
	const cJSON *rv = dec_child(meta, "resourceVersion");
	if (rv == NULL)
		return cc_fail(err, errsz, CC_ERR_PARSE, "metadata.resourceVersion: missing");
	if (!cJSON_IsString(rv) || rv->valuestring == NULL || rv->valuestring[0] == '\0')
		return cc_fail(err, errsz, CC_ERR_PARSE,
		    "metadata.resourceVersion: expected a non-empty string, got %s",
		    cJSON_IsString(rv) ? "\"\"" : dec_type_name(rv));
	if (xstrlcpy(r.lr_rv, rv->valuestring, sizeof r.lr_rv) != 0)
		return cc_fail(err, errsz, CC_ERR_PARSE,
		    "metadata.resourceVersion: longer than %d bytes", LE_RV_MAX - 1);
	/* the uid only names the Lease in an Event (leaderev.h): an odd one is left out, no more */
	const cJSON *uid = dec_child(meta, "uid");
	if (cJSON_IsString(uid) && uid->valuestring != NULL &&
	    xstrlcpy(r.lr_uid, uid->valuestring, sizeof r.lr_uid) != 0)
		r.lr_uid[0] = '\0';
	const cJSON *spec = dec_child(root, "spec");
	if (spec != NULL && !cJSON_IsObject(spec))
		return cc_fail(err, errsz, CC_ERR_PARSE, "spec: expected an object, got %s",
		    dec_type_name(spec));
	if (spec != NULL) {
		const cJSON *h = dec_child(spec, "holderIdentity");
		if (h != NULL && (!cJSON_IsString(h) || h->valuestring == NULL))
			return cc_fail(err, errsz, CC_ERR_PARSE,
			    "spec.holderIdentity: expected a string, got %s", dec_type_name(h));
		if (h != NULL && xstrlcpy(r.lr_holder, h->valuestring, sizeof r.lr_holder) != 0)
			return cc_fail(err, errsz, CC_ERR_PARSE,
			    "spec.holderIdentity: longer than %d bytes", LE_ID_MAX - 1);
		if ((rc = le_int32(spec, "leaseDurationSeconds", &r.lr_duration_s, err, errsz)) !=
			CC_OK ||
		    (rc = le_int32(spec, "leaseTransitions", &r.lr_transitions, err, errsz)) != CC_OK ||
		    (rc = le_time(spec, "acquireTime", &r.lr_acquire_us, err, errsz)) != CC_OK ||
		    (rc = le_time(spec, "renewTime", &r.lr_renew_us, err, errsz)) != CC_OK)
			return rc;
	}
	*out = r;
	return CC_OK;
}

int
le_record_parse(const char *json, size_t len, struct le_record *out, char *err, size_t errsz)
{
	cJSON *root = json ? cJSON_ParseWithLength(json, len) : NULL;
	if (root == NULL)
		return cc_fail(err, errsz, CC_ERR_PARSE, "not JSON");
	int rc = le_parse_tree(root, out, err, errsz);
	cJSON_Delete(root);
	return rc;
}

static void
le_add_time(cJSON *spec, const char *key, int64_t us)
{
	char t[TF_BUFSZ];
	if (us == LE_TIME_NONE || le_format_microtime(us, t, sizeof t) != CC_OK)
		cJSON_AddNullToObject(spec, key);
	else
		cJSON_AddStringToObject(spec, key, t);
}

/* The spec of rec as JSON, every field present, as client-go's LeaderElectionRecordToLeaseSpec. */
static cJSON *
le_spec_json(const struct le_record *rec)
{
	cJSON *spec = cJSON_CreateObject();
	if (spec == NULL)
		fatalx("cJSON: out of memory");
	cJSON_AddStringToObject(spec, "holderIdentity", rec->lr_holder);
	cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (double)rec->lr_duration_s);
	le_add_time(spec, "acquireTime", rec->lr_acquire_us);
	le_add_time(spec, "renewTime", rec->lr_renew_us);
	cJSON_AddNumberToObject(spec, "leaseTransitions", (double)rec->lr_transitions);
	return spec;
}

int
le_body(const char *prev, size_t prevlen, const char *ns, const char *name,
    const struct le_record *rec, char **out, char *err, size_t errsz)
{
	cJSON *root = NULL;
	int rc = CC_OK;
	*out = NULL;
	if (prev != NULL) {
		root = cJSON_ParseWithLength(prev, prevlen);
		if (root == NULL) {
			rc = cc_fail(err, errsz, CC_ERR_PARSE, "not JSON");
			goto out;
		}
		struct le_record check;
		if ((rc = le_parse_tree(root, &check, err, errsz)) != CC_OK)
			goto out;
		const cJSON *n = dec_child(cJSON_GetObjectItemCaseSensitive(root, "metadata"), "name");
		if (!cJSON_IsString(n) || n->valuestring == NULL || strcmp(n->valuestring, name) != 0) {
			rc = cc_fail(err, errsz, CC_ERR_PARSE, "metadata.name: not \"%s\"", name);
			goto out;
		}
		/*
		 * Every spec goes: with a key given twice, cJSON read the first and Go's decoder
		 * takes the last, and the body must hold no spec but the one written.
		 */
		while (cJSON_GetObjectItemCaseSensitive(root, "spec") != NULL)
			cJSON_DeleteItemFromObjectCaseSensitive(root, "spec");
	} else {
		root = cJSON_CreateObject();
		if (root == NULL)
			fatalx("cJSON: out of memory");
		cJSON_AddStringToObject(root, "apiVersion", "coordination.k8s.io/v1");
		cJSON_AddStringToObject(root, "kind", "Lease");
		cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
		cJSON_AddStringToObject(meta, "name", name);
		cJSON_AddStringToObject(meta, "namespace", ns);
	}
	cJSON_AddItemToObject(root, "spec", le_spec_json(rec));
	char *text = cJSON_PrintUnformatted(root);
	if (text == NULL)
		fatalx("cJSON: out of memory");
	*out = xstrdup(text); /* the caller frees with free(), whatever cJSON's allocator is */
	cJSON_free(text);
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- identity -------------------------------------------------------------------------------- */

int
le_default_identity(char *out, size_t outsz, char *err, size_t errsz)
{
	const char *pod = getenv("POD_NAME");
	if (pod != NULL && pod[0] != '\0') {
		if (strlen(pod) >= outsz || strlen(pod) >= LE_ID_MAX)
			return cc_fail(err, errsz, CC_ERR_INVAL, "$POD_NAME is longer than %d bytes",
			    LE_ID_MAX - 1);
		xstrlcpy(out, pod, outsz);
		return CC_OK;
	}
	char host[200];
	if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
		xstrlcpy(host, "certcast", sizeof host);
	host[sizeof host - 1] = '\0';
	unsigned char rnd[8];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		/* no entropy source: the clocks still tell two processes apart */
		uint64_t x = (uint64_t)le_wall_us() ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)le_mono_ms();
		memcpy(rnd, &x, sizeof rnd);
	}
	char hex[17];
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	int n = snprintf(out, outsz, "%s_%s", host, hex);
	if (n < 0 || (size_t)n >= outsz)
		return cc_fail(err, errsz, CC_ERR_INVAL, "identity buffer too small");
	return CC_OK;
}

/* ---- the elector ----------------------------------------------------------------------------- */

int
le_new(const struct le_opts *o, struct le **out, char *err, size_t errsz)
{
	*out = NULL;
	if (o->lo_client == NULL)
		return cc_fail(err, errsz, CC_ERR_INVAL, "no API client");
	if (o->lo_namespace == NULL || !res_dns_label_ok(o->lo_namespace))
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "lease namespace \"%s\" is not a namespace name (lower-case DNS label)",
		    o->lo_namespace ? o->lo_namespace : "");
	if (o->lo_name == NULL || !res_dns_subdomain_ok(o->lo_name))
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "lease name \"%s\" is not an object name (lower-case DNS subdomain)",
		    o->lo_name ? o->lo_name : "");
	int rc = le_durations_check(&o->lo_dur, err, errsz);
	if (rc != CC_OK)
		return rc;
	char id[LE_ID_MAX];
	if (o->lo_identity != NULL) {
		if (o->lo_identity[0] == '\0' || xstrlcpy(id, o->lo_identity, sizeof id) != 0)
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "identity must be 1 to %d bytes", LE_ID_MAX - 1);
	} else if ((rc = le_default_identity(id, sizeof id, err, errsz)) != CC_OK) {
		return rc;
	}
	struct le *l = xcalloc(1, sizeof *l);
	l->l_client = o->lo_client;
	l->l_ns = xstrdup(o->lo_namespace);
	l->l_name = xstrdup(o->lo_name);
	l->l_coll = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", l->l_ns);
	l->l_path = xasprintf("%s/%s", l->l_coll, l->l_name);
	memcpy(l->l_id, id, sizeof id);
	l->l_dur = o->lo_dur;
	l->l_changed = o->lo_changed;
	l->l_changed_arg = o->lo_changed_arg;
	atomic_init(&l->l_leading, 0);
	atomic_init(&l->l_until_ms, 0);
	pthread_mutex_init(&l->l_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->l_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (getrandom(&l->l_rng, sizeof l->l_rng, 0) != (ssize_t)sizeof l->l_rng)
		l->l_rng = (uint64_t)le_wall_us();
	l->l_rng |= 1;
	*out = l;
	return CC_OK;
}

int
le_is_leader(const struct le *l)
{
	/* The deadline is checked here too: a renewal stuck in a request must not extend the term. */
	return atomic_load(&l->l_leading) && le_mono_ms() < atomic_load(&l->l_until_ms);
}

const char *
le_identity(const struct le *l)
{
	return l->l_id;
}

/* Uniform in [0, 1), xorshift64*: only the candidates' retry spread depends on it. */
static double
le_rand(struct le *l)
{
	l->l_rng ^= l->l_rng >> 12;
	l->l_rng ^= l->l_rng << 25;
	l->l_rng ^= l->l_rng >> 27;
	return (double)((l->l_rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* Tell lo_changed that le_is_leader changed (it already has): on this thread, at once. */
static void
le_tell(struct le *l, int leading, const char *why)
{
	if (l->l_changed == NULL)
		return;
	struct le_change ch = {leading, l->l_id, l->l_ns, l->l_name,
	    l->l_have ? l->l_rec.lr_uid : "", le_wall_us() * 1000, why};
	l->l_changed(l->l_changed_arg, &ch);
}

static void le_step_down(struct le *l, const char *why);

/*
 * A write of the Lease that started at `started` succeeded: the term runs renewDeadline from
 * then. When the term before it ran out while the request was in flight, le_is_leader has said
 * 0 since (certcast's writes stopped), so that is said first, as a step down, and the return
 * after it as a new term: otherwise the pause would leave no trace in the log or the Events.
 * A write answered so late that the term it buys is already over makes no leader; the next
 * round renews.
 */
static void
le_become_leader(struct le *l, double started, const char *why)
{
	int64_t until = (int64_t)(started * 1000) + l->l_dur.ld_renew_ms, now = le_mono_ms();
	if (l->l_lead && now >= atomic_load(&l->l_until_ms))
		le_step_down(l, "a renewal was answered after renewDeadline");
	atomic_store(&l->l_until_ms, until);
	if (l->l_lead || now >= until)
		return;
	atomic_store(&l->l_leading, 1);
	l->l_lead = 1;
	xstrlcpy(l->l_seen, l->l_id, sizeof l->l_seen);
	log_info("became leader: lease %s/%s held as %s (%s; leaseTransitions %lld)", l->l_ns,
	    l->l_name, l->l_id, why, (long long)l->l_rec.lr_transitions);
	le_tell(l, 1, why);
}

static void
le_step_down(struct le *l, const char *why)
{
	atomic_store(&l->l_leading, 0);
	if (!l->l_lead)
		return;
	l->l_lead = 0;
	log_warn("lost leadership: %s (lease %s/%s, holder now \"%s\")", why, l->l_ns, l->l_name,
	    l->l_have ? l->l_rec.lr_holder : "?");
	le_tell(l, 0, why);
}

/* Keep a Lease read or written: its spec, its text, and when its spec last changed. */
static void
le_keep(struct le *l, const struct le_record *r, struct buf *body, double seen)
{
	if (!l->l_have || !le_record_same(&l->l_rec, r))
		l->l_observed = seen;
	l->l_rec = *r;
	free(l->l_raw);
	l->l_raw = buf_detach(body);
	l->l_have = 1;
}

static void
le_forget(struct le *l)
{
	l->l_have = 0;
	free(l->l_raw);
	l->l_raw = NULL;
}

/* GET the Lease. LE_OBS_PRESENT updates l_rec; LE_OBS_ABSENT forgets it. */
static enum le_obs
le_read(struct le *l)
{
	struct buf body;
	buf_init(&body, LE_BODY_MAX);
	struct kube_error ke;
	enum le_obs obs = LE_OBS_UNKNOWN;
	int rc = kube_request(l->l_client, "GET", l->l_path, NULL, NULL, &body, NULL, &ke);
	double seen = le_mono();
	if (rc == CC_ERR_NOTFOUND) {
		le_forget(l);
		obs = LE_OBS_ABSENT;
		goto out;
	}
	if (rc != CC_OK) {
		if (l->l_read_fails++ == 0)
			log_warn("reading lease %s/%s: %s: %s", l->l_ns, l->l_name, cc_strerror(rc),
			    ke.ke_message);
		goto out;
	}
	struct le_record r;
	char err[256];
	if (le_record_parse(body.b_data, body.b_len, &r, err, sizeof err) != CC_OK) {
		if (l->l_read_fails++ == 0)
			log_warn("lease %s/%s: bad answer: %s", l->l_ns, l->l_name, err);
		goto out;
	}
	if (l->l_read_fails > 0)
		log_info("lease %s/%s readable again", l->l_ns, l->l_name);
	l->l_read_fails = 0;
	le_keep(l, &r, &body, seen);
	obs = LE_OBS_PRESENT;
	if (strcmp(r.lr_holder, l->l_seen) != 0) {
		/* client-go's OnNewLeader, as a log line */
		xstrlcpy(l->l_seen, r.lr_holder, sizeof l->l_seen);
		if (r.lr_holder[0] == '\0')
			log_info("lease %s/%s is released", l->l_ns, l->l_name);
		else if (strcmp(r.lr_holder, l->l_id) != 0)
			log_info("lease %s/%s is held by %s", l->l_ns, l->l_name, r.lr_holder);
	}
out:
	buf_free(&body);
	return obs;
}

/*
 * Write rec: PUT on the Lease as last read or written (its resourceVersion guards the write), or
 * POST when there is none. On CC_OK the answer becomes l_rec. Returns kube_request's result, or
 * CC_ERR_PARSE when the answer was not a Lease (then l_rec is forgotten and read again later).
 */
static int
le_put(struct le *l, const struct le_record *rec, const char *what)
{
	char *text = NULL, err[256];
	struct buf body;
	buf_init(&body, LE_BODY_MAX);
	int rc = le_body(l->l_have ? l->l_raw : NULL, l->l_have ? strlen(l->l_raw) : 0, l->l_ns,
	    l->l_name, rec, &text, err, sizeof err);
	if (rc != CC_OK) {
		log_error("lease %s/%s: cannot build the %s: %s", l->l_ns, l->l_name, what, err);
		le_forget(l);
		goto out;
	}
	struct kube_error ke;
	double started = le_mono();
	rc = kube_request(l->l_client, l->l_have ? "PUT" : "POST", l->l_have ? l->l_path : l->l_coll,
	    NULL, text, &body, NULL, &ke);
	if (rc == CC_ERR_CONFLICT) {
		/* someone else wrote first: for a candidate that is the race lost */
		log_debug("lease %s/%s: %s: conflict (%s)", l->l_ns, l->l_name, what, ke.ke_message);
		goto out;
	}
	if (rc != CC_OK) {
		if (l->l_write_fails++ == 0 || l->l_lead)
			log_warn("lease %s/%s: %s failed: %s: %s", l->l_ns, l->l_name, what,
			    cc_strerror(rc), ke.ke_message);
		goto out;
	}
	l->l_write_fails = 0;
	struct le_record r;
	if ((rc = le_record_parse(body.b_data, body.b_len, &r, err, sizeof err)) != CC_OK) {
		log_error("lease %s/%s: %s: bad answer: %s", l->l_ns, l->l_name, what, err);
		le_forget(l);
		goto out;
	}
	le_keep(l, &r, &body, started);
	l->l_observed = started;
	l->l_renewed = started;
out:
	free(text);
	buf_free(&body);
	return rc;
}

/* One round: renew, or read, decide and maybe write. */
static void
le_round(struct le *l)
{
	double dl = (double)l->l_dur.ld_renew_ms / 1000;
	struct le_record next;
	/*
	 * client-go's fast path: a leader renews on the object it last wrote, without reading
	 * first; any failure falls through to a read.
	 */
	if (l->l_lead && l->l_have && strcmp(l->l_rec.lr_holder, l->l_id) == 0 &&
	    le_mono() - l->l_renewed < dl) {
		le_next_record(&l->l_rec, l->l_id, &l->l_dur, le_wall_us(), &next);
		if (le_put(l, &next, "renewal") == CC_OK) {
			le_become_leader(l, l->l_renewed, "renewed");
			return;
		}
	}
	/* Two passes at most: a 409 means the Lease moved under us; read it again at once. */
	for (int pass = 0; pass < 2; pass++) {
		enum le_obs obs = le_read(l);
		struct le_view v = {obs, obs == LE_OBS_PRESENT ? &l->l_rec : NULL, l->l_observed,
		    le_mono(), l->l_lead, l->l_renewed};
		const char *why;
		enum le_action a = le_decide(&v, l->l_id, &l->l_dur, &why);
		if (a == LE_LOST) {
			le_step_down(l, why);
			v.lv_leading = 0;
			a = le_decide(&v, l->l_id, &l->l_dur, &why);
		}
		log_debug("lease %s/%s: %s (%s)", l->l_ns, l->l_name, le_action_name(a), why);
		if (a != LE_ACQUIRE && a != LE_RENEW)
			return;
		le_next_record(l->l_have ? &l->l_rec : NULL, l->l_id, &l->l_dur, le_wall_us(), &next);
		int rc = le_put(l, &next, a == LE_RENEW ? "renewal" : "acquisition");
		if (rc == CC_OK) {
			le_become_leader(l, l->l_renewed, why);
			return;
		}
		if (rc != CC_ERR_CONFLICT)
			return;
	}
}

static int
le_stopping(struct le *l)
{
	pthread_mutex_lock(&l->l_mu);
	int s = l->l_stop;
	pthread_mutex_unlock(&l->l_mu);
	return s;
}

static void *
le_main(void *arg)
{
	struct le *l = arg;
	while (!le_stopping(l)) {
		le_round(l);
		/* a leader renews every retryPeriod; candidates spread out, as client-go's jitter */
		double wait = (double)l->l_dur.ld_retry_ms / 1000;
		if (!l->l_lead)
			wait += wait * LE_JITTER * le_rand(l);
		struct timespec until = mt_after(wait);
		pthread_mutex_lock(&l->l_mu);
		while (!l->l_stop && pthread_cond_timedwait(&l->l_cv, &l->l_mu, &until) == 0)
			; /* a wakeup without a stop (spurious) waits on to the same deadline */
		pthread_mutex_unlock(&l->l_mu);
	}
	return NULL;
}

int
le_start(struct le *l)
{
	if (l->l_running || l->l_stopped)
		return CC_ERR_STATE;
	log_info("leader election: lease %s/%s, identity %s", l->l_ns, l->l_name, l->l_id);
	if (pthread_create(&l->l_thread, NULL, le_main, l) != 0) {
		log_error("cannot start the leader election thread");
		return CC_ERR_IO;
	}
	l->l_running = 1;
	return CC_OK;
}

/* client-go's release: only while the API server still names us, guarded by its resourceVersion. */
static void
le_release(struct le *l)
{
	if (le_read(l) != LE_OBS_PRESENT || strcmp(l->l_rec.lr_holder, l->l_id) != 0)
		return;
	struct le_record rel;
	le_release_record(&l->l_rec, le_wall_us(), &rel);
	if (le_put(l, &rel, "release") == CC_OK)
		log_info("released lease %s/%s", l->l_ns, l->l_name);
	else
		log_warn("could not release lease %s/%s: another replica takes over once it expires",
		    l->l_ns, l->l_name);
}

void
le_stop(struct le *l)
{
	if (l == NULL || l->l_stopped)
		return;
	l->l_stopped = 1;
	pthread_mutex_lock(&l->l_mu);
	l->l_stop = 1;
	pthread_cond_broadcast(&l->l_cv);
	pthread_mutex_unlock(&l->l_mu);
	if (l->l_running) {
		pthread_join(l->l_thread, NULL);
		l->l_running = 0;
	}
	int was = l->l_lead;
	atomic_store(&l->l_leading, 0);
	l->l_lead = 0;
	if (was)
		log_info("stopping: no longer leader of lease %s/%s", l->l_ns, l->l_name);
	if (was || (l->l_have && strcmp(l->l_rec.lr_holder, l->l_id) == 0))
		le_release(l);
	/* after the release, as client-go records "stopped leading" after ReleaseOnCancel */
	if (was)
		le_tell(l, 0, "stopping");
}

void
le_free(struct le *l)
{
	if (l == NULL)
		return;
	le_stop(l);
	pthread_cond_destroy(&l->l_cv);
	pthread_mutex_destroy(&l->l_mu);
	free(l->l_raw);
	free(l->l_ns);
	free(l->l_name);
	free(l->l_path);
	free(l->l_coll);
	free(l);
}
