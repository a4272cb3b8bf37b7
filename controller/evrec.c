/* evrec: certcast's Event writer, events.k8s.io/v1 Events with a spam filter (see evrec.h). */
#include "evrec.h"

#include "cc_err.h"
#include "hash.h"
#include "kube_client.h"
#include "log.h"
#include "records.h"
#include "resource.h"
#include "timefmt.h"
#include "utf8.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define ER_DEF_BURST 25                          /* client-go's defaultSpamBurst */
#define ER_DEF_REFILL_NS (INT64_C(300) * 1000000000) /* defaultSpamQPS, 1/300 */
#define ER_DEF_DEDUP_NS (INT64_C(600) * 1000000000)  /* defaultAggregateIntervalInSeconds */
#define ER_DEF_OBJECTS 4096                      /* client-go's maxLruCacheEntries */
#define ER_NAME_MAX 253                          /* an Event's name is a DNS subdomain */
#define ER_NOW_MIN INT64_C(100000000000000000)   /* 1e17 ns, 1973: below it, seconds */
#define ER_ELLIPSIS "\xe2\x80\xa6"              /* U+2026, after a cut note */
#define ER_PATH_MAX 128

/* One Event remembered for the identical check: a hash, never the text. */
struct er_slot {
	uint64_t sl_hash;   /* type, reason, action and note as sent; 0 when free */
	int64_t sl_posted;  /* when it was posted (or is being posted), now_ns */
};

/* What the filter knows about one object. */
struct er_obj {
	uint64_t o_key;             /* hash of the uid, else of kind/ns/name */
	int o_tokens;               /* tokens in the bucket */
	int64_t o_refilled;         /* now_ns up to which refills are counted */
	struct er_slot o_slots[ER_SLOTS];
	struct er_obj *o_hnext;     /* hash chain */
	struct er_obj *o_prev;      /* LRU list: towards the most recently used */
	struct er_obj *o_next;      /* towards the least recently used */
};

struct er {
	struct kube_client *r_client;   /* borrowed */
	char r_instance[ER_INSTANCE_MAX + 1]; /* reportingInstance */
	int r_burst;                    /* tokens per object */
	int64_t r_refill_ns;            /* one token back per this long */
	int64_t r_dedup_ns;             /* identical-Event window */
	size_t r_max_objects;           /* cap on r_nobjs */
	pthread_mutex_t r_mu;           /* guards everything below */
	struct er_obj **r_buckets;      /* hash table of objects, r_nbuckets (a power of 2) */
	size_t r_nbuckets;
	size_t r_nobjs;                 /* objects tracked */
	struct er_obj *r_lru_head;      /* most recently used */
	struct er_obj *r_lru_tail;      /* least recently used, the next to go */
	int64_t r_stamp;                /* last name stamp handed out */
	struct er_stats r_stats;        /* counters (es_objects filled on read) */
};

/* ---- text ---- */

/*
 * src into out as valid UTF-8 of at most max bytes (out holds max + 1). When src is longer, it
 * is cut before the first character that would not fit in max - strlen(tail) bytes and tail is
 * appended. Returns 1 when cut. The Go JSON decoder of the API server would turn each bad byte
 * into U+FFFD (three bytes), so bad bytes become '?' here, and the length is what it checks.
 */
static int
er_fit(const char *src, char *out, size_t max, const char *tail)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t len = strlen(src), room = max, o = 0;
	int cut = len > max;
	if (cut)
		room = max - strlen(tail);
	for (size_t i = 0; s[i] != '\0';) {
		size_t n = utf8_len(s + i);
		if (o + (n ? n : 1) > room)
			break;
		if (n == 0) {
			out[o++] = '?';
			i++;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
	}
	if (cut) {
		memcpy(out + o, tail, strlen(tail));
		o += strlen(tail);
	}
	out[o] = '\0';
	return cut;
}

int
er_note_fit(const char *note, char *out)
{
	return er_fit(note != NULL ? note : "", out, ER_NOTE_MAX, ER_ELLIPSIS);
}

/* Kubernetes' CamelCase reasons and actions: [A-Z][A-Za-z0-9]*, 1..max bytes. */
static int
er_camel_ok(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n == 0 || n > max || s[0] < 'A' || s[0] > 'Z')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

/* A printable copy of an argument for a message: control bytes become '?', at most 64 bytes. */
static void
er_quote(const char *s, char *buf, size_t len)
{
	size_t i = 0;
	for (; s != NULL && s[i] != '\0' && i < 64 && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
}

/* A random (version 4) UUID, client-go's name when "<name>.<hex>" is too long. */
static void
er_uuid(char *buf, size_t len)
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof b) {
		ssize_t n = getrandom(b + got, sizeof b - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(buf, len,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	    b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	    b[15]);
}

/* ---- the filter (r_mu held) ---- */

static void
er_lru_unlink(struct er *r, struct er_obj *o)
{
	if (o->o_prev != NULL)
		o->o_prev->o_next = o->o_next;
	else
		r->r_lru_head = o->o_next;
	if (o->o_next != NULL)
		o->o_next->o_prev = o->o_prev;
	else
		r->r_lru_tail = o->o_prev;
	o->o_prev = o->o_next = NULL;
}

static void
er_lru_front(struct er *r, struct er_obj *o)
{
	o->o_next = r->r_lru_head;
	o->o_prev = NULL;
	if (r->r_lru_head != NULL)
		r->r_lru_head->o_prev = o;
	r->r_lru_head = o;
	if (r->r_lru_tail == NULL)
		r->r_lru_tail = o;
}

static struct er_obj *
er_find(struct er *r, uint64_t key)
{
	struct er_obj *o = r->r_buckets[key & (r->r_nbuckets - 1)];
	while (o != NULL && o->o_key != key)
		o = o->o_hnext;
	return o;
}

/* Forget the least recently used object. */
static void
er_evict(struct er *r)
{
	struct er_obj *o = r->r_lru_tail;
	struct er_obj **pp = &r->r_buckets[o->o_key & (r->r_nbuckets - 1)];
	while (*pp != o)
		pp = &(*pp)->o_hnext;
	*pp = o->o_hnext;
	er_lru_unlink(r, o);
	free(o);
	r->r_nobjs--;
	r->r_stats.es_evicted++;
}

/* The object with key, made the most recently used; created (with a full bucket) if new. */
static struct er_obj *
er_touch(struct er *r, uint64_t key, int64_t now)
{
	struct er_obj *o = er_find(r, key);
	if (o != NULL) {
		er_lru_unlink(r, o);
		er_lru_front(r, o);
		return o;
	}
	while (r->r_nobjs >= r->r_max_objects)
		er_evict(r);
	o = xcalloc(1, sizeof *o);
	o->o_key = key;
	o->o_tokens = r->r_burst;
	o->o_refilled = now;
	size_t b = key & (r->r_nbuckets - 1);
	o->o_hnext = r->r_buckets[b];
	r->r_buckets[b] = o;
	er_lru_front(r, o);
	r->r_nobjs++;
	return o;
}

/* Tokens earned since o_refilled, up to the burst. A clock going back earns nothing. */
static void
er_refill(struct er *r, struct er_obj *o, int64_t now)
{
	if (now <= o->o_refilled)
		return;
	int64_t earned = (now - o->o_refilled) / r->r_refill_ns;
	if (earned >= r->r_burst - o->o_tokens) {
		o->o_tokens = r->r_burst;
		o->o_refilled = now;
	} else {
		o->o_tokens += (int)earned;
		o->o_refilled += earned * r->r_refill_ns;
	}
}

/* Hash of the object an Event is about: its uid when known, else kind/ns/name. */
static uint64_t
er_obj_key(const struct er_ref *obj, const char *kind)
{
	uint64_t h = HASH_FNV_INIT;
	if (obj->ref_uid != NULL && obj->ref_uid[0] != '\0')
		return hash_fnv1a(h, obj->ref_uid, strlen(obj->ref_uid));
	h = hash_fnv1a(h, kind, strlen(kind) + 1);
	h = hash_fnv1a(h, obj->ref_ns, strlen(obj->ref_ns) + 1);
	return hash_fnv1a(h, obj->ref_name, strlen(obj->ref_name));
}

/* Hash of what makes two Events identical; never 0 (0 marks a free slot). */
static uint64_t
er_event_key(const char *type, const char *reason, const char *action, const char *note)
{
	uint64_t h = HASH_FNV_INIT;
	h = hash_fnv1a(h, type, strlen(type) + 1);
	h = hash_fnv1a(h, reason, strlen(reason) + 1);
	h = hash_fnv1a(h, action, strlen(action) + 1);
	h = hash_fnv1a(h, note, strlen(note));
	return h != 0 ? h : 1;
}

/* ---- life cycle ---- */

struct er *
er_new(const struct er_opts *opts)
{
	struct er *r = xcalloc(1, sizeof *r);
	r->r_client = opts->eo_client;
	r->r_burst = opts->eo_burst > 0 ? opts->eo_burst : ER_DEF_BURST;
	r->r_refill_ns = opts->eo_refill_ns > 0 ? opts->eo_refill_ns : ER_DEF_REFILL_NS;
	r->r_dedup_ns = opts->eo_dedup_ns > 0 ? opts->eo_dedup_ns : ER_DEF_DEDUP_NS;
	r->r_max_objects = opts->eo_max_objects > 0 ? opts->eo_max_objects : ER_DEF_OBJECTS;
	r->r_nbuckets = 16;
	while (r->r_nbuckets < r->r_max_objects && r->r_nbuckets < ((size_t)1 << 20))
		r->r_nbuckets <<= 1;
	r->r_buckets = xcalloc(r->r_nbuckets, sizeof *r->r_buckets);
	pthread_mutex_init(&r->r_mu, NULL);

	const char *inst = opts->eo_instance;
	char host[256];
	if (inst == NULL || inst[0] == '\0')
		inst = getenv("POD_NAME");
	if ((inst == NULL || inst[0] == '\0') && gethostname(host, sizeof host) == 0) {
		host[sizeof host - 1] = '\0';
		inst = host;
	}
	if (inst == NULL || inst[0] == '\0')
		inst = REC_OWN_COMPONENT;
	er_fit(inst, r->r_instance, ER_INSTANCE_MAX, "");
	return r;
}

void
er_free(struct er *r)
{
	if (r == NULL)
		return;
	while (r->r_lru_head != NULL) {
		struct er_obj *o = r->r_lru_head;
		r->r_lru_head = o->o_next;
		free(o);
	}
	free(r->r_buckets);
	pthread_mutex_destroy(&r->r_mu);
	free(r);
}

const char *
er_instance(const struct er *r)
{
	return r->r_instance;
}

void
er_stats(struct er *r, struct er_stats *out)
{
	pthread_mutex_lock(&r->r_mu);
	*out = r->r_stats;
	out->es_objects = r->r_nobjs;
	pthread_mutex_unlock(&r->r_mu);
}

/* ---- emitting ---- */

/* The Event as JSON; the caller frees the string. */
static char *
er_body(const struct er *r, const struct er_ref *obj, const char *api_version, const char *kind,
    const char *name, const char *type, const char *reason, const char *action, const char *note,
    const char *event_time)
{
	cJSON *ev = cJSON_CreateObject(), *meta, *reg;
	cJSON_AddStringToObject(ev, "apiVersion", "events.k8s.io/v1");
	cJSON_AddStringToObject(ev, "kind", "Event");
	meta = cJSON_AddObjectToObject(ev, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", obj->ref_ns);
	cJSON_AddStringToObject(ev, "eventTime", event_time);
	cJSON_AddStringToObject(ev, "reportingController", REC_OWN_COMPONENT);
	cJSON_AddStringToObject(ev, "reportingInstance", r->r_instance);
	cJSON_AddStringToObject(ev, "action", action);
	cJSON_AddStringToObject(ev, "reason", reason);
	cJSON_AddStringToObject(ev, "type", type);
	reg = cJSON_AddObjectToObject(ev, "regarding");
	cJSON_AddStringToObject(reg, "apiVersion", api_version);
	cJSON_AddStringToObject(reg, "kind", kind);
	cJSON_AddStringToObject(reg, "namespace", obj->ref_ns);
	cJSON_AddStringToObject(reg, "name", obj->ref_name);
	if (obj->ref_uid != NULL && obj->ref_uid[0] != '\0')
		cJSON_AddStringToObject(reg, "uid", obj->ref_uid);
	if (obj->ref_rv != NULL && obj->ref_rv[0] != '\0')
		cJSON_AddStringToObject(reg, "resourceVersion", obj->ref_rv);
	cJSON_AddStringToObject(ev, "note", note);
	char *s = cJSON_PrintUnformatted(ev);
	cJSON_Delete(ev);
	if (s == NULL)
		fatalx("cJSON_PrintUnformatted failed"); /* only when malloc does */
	return s;
}

/* Refuse arguments the API server would refuse, or that would make a bad path. */
static int
er_check(const struct er_ref *obj, const char *kind, const char *api_version, const char *reason,
    const char *action, int64_t now_ns, char *errbuf, size_t errlen)
{
	char q[72];
	if (obj == NULL || obj->ref_ns == NULL || !res_dns_label_ok(obj->ref_ns)) {
		er_quote(obj != NULL ? obj->ref_ns : NULL, q, sizeof q);
		return cc_fail(errbuf, errlen, CC_ERR_INVAL,
		    "Event not posted: namespace \"%s\" is not a DNS label", q);
	}
	if (obj->ref_name == NULL || obj->ref_name[0] == '\0' ||
	    strlen(obj->ref_name) > ER_NAME_MAX) {
		er_quote(obj->ref_name, q, sizeof q);
		return cc_fail(errbuf, errlen, CC_ERR_INVAL,
		    "Event not posted: object name \"%s\" is empty or too long", q);
	}
	if (kind[0] == '\0' || api_version[0] == '\0')
		return cc_fail(errbuf, errlen, CC_ERR_INVAL,
		    "Event not posted: empty kind or apiVersion");
	if (!er_camel_ok(reason, ER_REASON_MAX)) {
		er_quote(reason, q, sizeof q);
		return cc_fail(errbuf, errlen, CC_ERR_INVAL,
		    "Event not posted: reason \"%s\" is not CamelCase of 1 to %d bytes", q,
		    ER_REASON_MAX);
	}
	if (!er_camel_ok(action, ER_ACTION_MAX)) {
		er_quote(action, q, sizeof q);
		return cc_fail(errbuf, errlen, CC_ERR_INVAL,
		    "Event not posted: action \"%s\" is not CamelCase of 1 to %d bytes", q,
		    ER_ACTION_MAX);
	}
	if (now_ns < ER_NOW_MIN)
		return cc_fail(errbuf, errlen, CC_ERR_INVAL,
		    "Event not posted: time %lld is not Unix nanoseconds", (long long)now_ns);
	return CC_OK;
}

int
er_emit(struct er *r, const struct er_ref *obj, int warning, const char *reason,
    const char *action, const char *note, int64_t now_ns, char *errbuf, size_t errlen)
{
	const char *kind = obj != NULL && obj->ref_kind != NULL ? obj->ref_kind : "Certificate";
	const char *api_version = obj != NULL && obj->ref_api_version != NULL ?
	    obj->ref_api_version : "cert-manager.io/v1";
	const char *type = warning ? "Warning" : "Normal";
	char fitted[ER_NOTE_MAX + 1], name[ER_NAME_MAX + 1], when[TF_BUFSZ];
	char path[ER_PATH_MAX];
	char *body = NULL;
	int rc = er_check(obj, kind, api_version, reason, action, now_ns, errbuf, errlen);
	if (rc == CC_OK && tf_format_microtime(now_ns, when, sizeof when) != CC_OK)
		rc = cc_fail(errbuf, errlen, CC_ERR_INVAL, "Event not posted: time out of range");
	if (rc != CC_OK) {
		pthread_mutex_lock(&r->r_mu);
		r->r_stats.es_invalid++;
		pthread_mutex_unlock(&r->r_mu);
		return rc;
	}
	int cut = er_note_fit(note, fitted);
	uint64_t okey = er_obj_key(obj, kind);
	uint64_t ekey = er_event_key(type, reason, action, fitted);

	/* The filter decides, and reserves the slot so that a concurrent identical call sees
	 * this one as posted. */
	pthread_mutex_lock(&r->r_mu);
	struct er_obj *o = er_touch(r, okey, now_ns);
	struct er_slot *slot = NULL, *oldest = &o->o_slots[0];
	for (size_t i = 0; i < ER_SLOTS; i++) {
		struct er_slot *sl = &o->o_slots[i];
		if (sl->sl_hash == ekey)
			slot = sl;
		if (sl->sl_hash == 0 || (oldest->sl_hash != 0 && sl->sl_posted < oldest->sl_posted))
			oldest = sl;
	}
	if (slot != NULL && now_ns - slot->sl_posted < r->r_dedup_ns) {
		r->r_stats.es_duplicate++;
		pthread_mutex_unlock(&r->r_mu);
		return CC_OK;
	}
	er_refill(r, o, now_ns);
	if (o->o_tokens < 1) {
		r->r_stats.es_rate_limited++;
		pthread_mutex_unlock(&r->r_mu);
		return CC_OK;
	}
	o->o_tokens--;
	if (slot == NULL)
		slot = oldest;
	struct er_slot before = *slot;
	slot->sl_hash = ekey;
	slot->sl_posted = now_ns;
	int64_t stamp = now_ns > r->r_stamp ? now_ns : r->r_stamp + 1;
	r->r_stamp = stamp;
	r->r_stats.es_truncated += cut != 0;
	pthread_mutex_unlock(&r->r_mu);

	int n = snprintf(name, sizeof name, "%s.%llx", obj->ref_name, (unsigned long long)stamp);
	if (n < 0 || (size_t)n >= sizeof name)
		er_uuid(name, sizeof name);
	snprintf(path, sizeof path, "/apis/events.k8s.io/v1/namespaces/%s/events", obj->ref_ns);
	body = er_body(r, obj, api_version, kind, name, type, reason, action, fitted, when);
	struct kube_error kerr;
	long http = 0;
	rc = kube_request(r->r_client, "POST", path, "application/json", body, NULL, &http, &kerr);
	free(body);

	pthread_mutex_lock(&r->r_mu);
	if (rc == CC_OK) {
		r->r_stats.es_posted++;
	} else {
		r->r_stats.es_failed++;
		/* Not posted: forget the reservation unless another call has taken the slot. */
		o = er_find(r, okey);
		for (size_t i = 0; o != NULL && i < ER_SLOTS; i++)
			if (o->o_slots[i].sl_hash == ekey && o->o_slots[i].sl_posted == now_ns) {
				o->o_slots[i] = before;
				break;
			}
	}
	pthread_mutex_unlock(&r->r_mu);
	if (rc != CC_OK) {
		char q[72];
		er_quote(obj->ref_name, q, sizeof q);
		if (http != 0)
			cc_fail(errbuf, errlen, rc, "Event %s on %s %s/%s: HTTP %ld%s%s: %s", reason,
			    kind, obj->ref_ns, q, http, kerr.ke_reason[0] ? " " : "", kerr.ke_reason,
			    kerr.ke_message);
		else
			cc_fail(errbuf, errlen, rc, "Event %s on %s %s/%s: %s: %s", reason, kind,
			    obj->ref_ns, q, cc_strerror(rc), kerr.ke_message);
	}
	return rc;
}
