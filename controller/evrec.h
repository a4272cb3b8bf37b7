/*
 * evrec: certcast's Event writer. It posts events.k8s.io/v1 Events about a Certificate, with
 * reportingController REC_OWN_COMPONENT ("certcast"), and keeps repeats and floods of them off
 * the API server. What to say, and when, is the caller's business (the actuator); this module
 * only writes.
 *
 * The spam filter, in the spirit of client-go's (tools/record: EventSourceObjectSpamFilter,
 * burst 25, one more every 5 minutes; identical Events within 10 minutes are not new):
 *   - an Event identical to one posted about the same object (same type, reason, action and
 *     note as sent) less than eo_dedup_ns ago is not posted again;
 *   - every other Event takes a token from its object's bucket (eo_burst tokens, one back
 *     every eo_refill_ns); with the bucket empty it is not posted.
 * Both are counted (er_stats). Identical Events are dropped, not folded into a series PATCH
 * as tools/events does: that library keys its series on type, reason and action only, so a
 * later note ("risk 0.31") would be counted under the first one ("risk 0.02") and never shown,
 * and its counts reach the server only from a background flusher. certcast's writes are
 * already hysteretic; a repeat is re-posted once the window has passed, so an ongoing
 * condition stays visible while the API server keeps Events (an hour by default).
 *
 * Memory: at most eo_max_objects objects are tracked, each a fixed-size record (the bucket and
 * hashes of its last ER_SLOTS Events, never the text); past that the least recently used object
 * is forgotten (its bucket starts full again, as in client-go's LRU).
 *
 * Threads: one writer serves every reconcile worker; er_emit may be called concurrently. One
 * mutex guards the filter and the counters; it is never held during the POST.
 */
#ifndef EVREC_H
#define EVREC_H

#include <stddef.h>
#include <stdint.h>

#define ER_NOTE_MAX 1024    /* bytes of note the API server accepts */
#define ER_REASON_MAX 128   /* bytes of reason */
#define ER_ACTION_MAX 128   /* bytes of action */
#define ER_INSTANCE_MAX 128 /* bytes of reportingInstance */
#define ER_SLOTS 16         /* recent Events remembered per object, for the identical check */

struct kube_client;
struct er;

struct er_opts {
	struct kube_client *eo_client; /* borrowed, never NULL; must outlive the writer */
	const char *eo_instance;       /* reportingInstance; NULL: $POD_NAME, else the host name */
	int eo_burst;                  /* tokens per object; 0: 25 */
	int64_t eo_refill_ns;          /* one token back per this many ns; 0: 5 minutes */
	int64_t eo_dedup_ns;           /* identical Events are not reposted within; 0: 10 minutes */
	size_t eo_max_objects;         /* objects tracked; 0: 4096 */
};

/* The object an Event is about (events.k8s.io "regarding"). Strings are borrowed for the call. */
struct er_ref {
	const char *ref_api_version; /* NULL: "cert-manager.io/v1" */
	const char *ref_kind;        /* NULL: "Certificate" */
	const char *ref_ns;          /* namespace, required (a DNS label); the Event goes there */
	const char *ref_name;        /* required */
	const char *ref_uid;         /* metadata.uid, or NULL/"" when unknown */
	const char *ref_rv;          /* metadata.resourceVersion, or NULL/"" */
};

/* What the filter did so far, for metrics. */
struct er_stats {
	uint64_t es_posted;       /* Events the API server accepted */
	uint64_t es_failed;       /* POSTs that failed */
	uint64_t es_invalid;      /* calls refused before any POST (bad reason, action, object) */
	uint64_t es_duplicate;    /* not posted: identical to one posted within the window */
	uint64_t es_rate_limited; /* not posted: the object's bucket was empty */
	uint64_t es_truncated;    /* Events sent with their note cut to ER_NOTE_MAX bytes */
	uint64_t es_evicted;      /* objects forgotten to stay within eo_max_objects */
	size_t es_objects;        /* objects tracked now */
};

/*
 * A new writer; opts is copied (eo_instance too). reportingInstance is eo_instance, else
 * $POD_NAME, else the host name, else "certcast", cut to ER_INSTANCE_MAX bytes. Free with
 * er_free once no er_emit is running.
 */
struct er *er_new(const struct er_opts *opts);
/* Accepts NULL. */
void er_free(struct er *r);

/*
 * Post one Event about obj: type Warning when warning, else Normal; reason and action in
 * CamelCase ([A-Z][A-Za-z0-9]*, at most 128 bytes); note free text (NULL is ""), made valid
 * UTF-8 (a bad byte becomes '?') and, when over ER_NOTE_MAX bytes, cut at a character boundary
 * with "…" appended. now_ns is the time of the Event in Unix nanoseconds: it becomes eventTime
 * (MicroTime) and names the Event "<obj name>.<now_ns in hex>" as client-go names them (a
 * random UUID when that would exceed 253 bytes); calls with the same now_ns get now_ns + 1, + 2
 * ... so that names never collide within a process. The filter's clock is now_ns too.
 *
 * Returns CC_OK when the API server accepted the Event, and also when the filter kept it back
 * (counted in er_stats; nothing is written to errbuf). Otherwise CC_ERR_INVAL for bad
 * arguments (nothing posted, no token spent; now_ns below 1e17, that is in seconds by mistake,
 * is one), or the error of kube_request (CC_ERR_FORBIDDEN, CC_ERR_NOTFOUND for a missing
 * namespace, CC_ERR_INVALID_OBJECT for a 422, CC_ERR_UNAVAILABLE ...). On an error errbuf
 * (errlen bytes; may be NULL) gets one line naming the reason, the object, the HTTP status and
 * the API server's message; it never holds a credential. A failed POST spends its token (the
 * bucket bounds attempts) but is not remembered as posted, so the caller may try again.
 * Thread-safe.
 */
int er_emit(struct er *r, const struct er_ref *obj, int warning, const char *reason,
    const char *action, const char *note, int64_t now_ns, char *errbuf, size_t errlen);

/* The counters and the number of objects tracked now. Thread-safe. */
void er_stats(struct er *r, struct er_stats *out);

/* reportingInstance as the writer sends it; borrowed, valid while r lives. */
const char *er_instance(const struct er *r);

/*
 * note as er_emit sends it: into out (at least ER_NOTE_MAX + 1 bytes), valid UTF-8, at most
 * ER_NOTE_MAX bytes. Returns 1 when it was cut, else 0. Pure; exposed for tests.
 */
int er_note_fit(const char *note, char *out);

#endif
