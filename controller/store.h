/*
 * store: the in-memory cache of watched objects, as compact records (records.h), with the
 * indexes the reconciler needs and a notification for every Certificate whose inputs changed.
 *
 * Writers are the reflector threads (store_apply, store_relist_*). Readers (reconciler, status,
 * metrics, HTTP) take the read lock with store_rdlock, call any number of accessors, and release
 * it with store_unlock. Every pointer an accessor returns is borrowed, read-only, and valid only
 * until that store_unlock. The lock prefers writers, so a thread must never take the read lock
 * twice (it could deadlock behind a waiting writer) and must never call store_apply while
 * holding it.
 *
 * Links between objects (a CertificateRequest's Certificate, an Order's CertificateRequest, an
 * Event's object, a Certificate's issuer) are kept by key, never by pointer, and are resolved
 * when read, so the order in which objects arrive does not matter.
 *
 * Notifications: after each write, outside the lock, the notify function is called once for
 * each Certificate key the write may have affected:
 *   - a Certificate added, changed or deleted: that Certificate;
 *   - a CertificateRequest: its owning Certificate (old and new owner when it moved);
 *   - an Order: the Certificate of its CertificateRequest; a Challenge: through its Order;
 *   - an Event: the Certificate it is about, directly or through its CertificateRequest, Order
 *     or Challenge; an Event about an Issuer or ClusterIssuer: all of that issuer's Certificates;
 *   - an Issuer or ClusterIssuer whose type, ACME server or Ready condition changed, or which
 *     was added or deleted: every Certificate referring to it (by-issuer index);
 *   - a Pod whose phase, readiness, restarts or last termination changed: every Certificate.
 *     This costs one callback per Certificate; there are few cert-manager pods and they change
 *     rarely, and the work queue collapses repeated keys.
 * An object re-applied with an unchanged resourceVersion (a relist) notifies nobody, nor does an
 * Event older than the STORE_EVENTS_PER_OBJECT already kept for its object. A link that
 * cannot be resolved yet (an Event about a CertificateRequest not seen yet) notifies nobody; the
 * missing object notifies when it arrives. The callback may take the read lock; it runs on the
 * writer's thread, and calls from different writers may interleave.
 *
 * certcast's own Events (rec_event.ev_own) are dropped on arrival: never kept, never linked,
 * never notified. They are its output, not its input: kept, every Event certcast posts about a
 * Certificate would wake that Certificate's reconcile, and scoring would read certcast's own
 * words as evidence (a RiskRaised note that mentions a rate limit is no rate-limit failure).
 */
#ifndef STORE_H
#define STORE_H

#include "records.h"
#include "resource.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_EVENTS_PER_OBJECT 32 /* newest Events kept per involved object */

enum store_event { STORE_ADDED, STORE_MODIFIED, STORE_DELETED, STORE_SYNC };

struct store;

/* ns and name are borrowed for the duration of the call. */
typedef void (*store_notify_fn)(void *arg, const char *ns, const char *name);

/* A new empty store. Free with store_free once no other thread uses it. */
struct store *store_new(void);
/* Free the store and every record. Accepts NULL. */
void store_free(struct store *s);
/*
 * certcast's own writes of a Certificate (DESIGN.md: certcast does not react to them): the watch
 * event of such a write is stored but notifies nobody. Before an annotation-only write is sent,
 * store_expect_own says which annotations it sets (vals[i] NULL: removes keys[i]; the strings are
 * copied); once the answer is in, store_mark_own gives the resourceVersion it produced (NULL
 * when the write failed). The event is recognised by that version, or, when it comes before the
 * answer, as the one that gave the object those annotations. store_mark_own without an expect
 * marks the version alone. One mark per object, the newest; one that no event claims expires
 * after two minutes, and at most 4096 are kept. Thread-safe; both take the write lock.
 */
void store_expect_own(struct store *s, const char *ns, const char *name, const char *const *keys,
    const char *const *vals, size_t n);
void store_mark_own(struct store *s, const char *ns, const char *name, const char *rv);

/* Set the notification callback (NULL for none). Call before the writers start. */
void store_set_notify(struct store *s, store_notify_fn fn, void *arg);

/*
 * Apply one watch event or list item (STORE_SYNC) from descriptor d. ADDED, MODIFIED and SYNC
 * decode obj and insert or replace the record for its key; DELETED removes the record (only
 * metadata is read). obj is borrowed. On error, returns CC_ERR_PARSE (malformed object) or
 * CC_ERR_INVAL (an object of another kind), writes "Kind ns/name: path: problem" into errbuf
 * (size errlen; errbuf may be NULL) and leaves the previous record for that key as it was,
 * though still counted as seen by a running relist. Thread-safe.
 */
int store_apply(struct store *s, const struct res_desc *d, enum store_event ev, const cJSON *obj,
    char *errbuf, size_t errlen);

/*
 * Relist of descriptor d: call begin before applying the list's items, then end with the value
 * begin returned. end deletes every record fed by d that was not applied since begin, notifying
 * as for a deletion. Records fed by other descriptors (the second Event descriptor) are kept.
 * Thread-safe.
 */
uint64_t store_relist_begin(struct store *s, const struct res_desc *d);
void store_relist_end(struct store *s, const struct res_desc *d, uint64_t gen);

/* Take and release the read lock around accessor calls. */
void store_rdlock(struct store *s);
void store_unlock(struct store *s);

/*
 * Accessors. All require the read lock, return borrowed pointers valid until store_unlock, and
 * accept ns "" for cluster-scoped objects. List accessors fill out[0..max) and return the total
 * number of matches, which may exceed max (call with max 0 to count).
 */

/* Records of a kind in this store. */
size_t store_count(struct store *s, enum res_kind kind);

const struct rec_cert *store_cert_get(struct store *s, const char *ns, const char *name);
const struct rec_cr *store_cr_get(struct store *s, const char *ns, const char *name);
const struct rec_order *store_order_get(struct store *s, const char *ns, const char *name);
/* kind is RES_ISSUER or RES_CLUSTERISSUER (ns ignored for the latter). */
const struct rec_issuer *store_issuer_get(struct store *s, enum res_kind kind, const char *ns,
    const char *name);
/* The Issuer or ClusterIssuer c refers to, or NULL (absent, or not a cert-manager.io issuer). */
const struct rec_issuer *store_cert_issuer(struct store *s, const struct rec_cert *c);

/* The type of c's issuer: EXTERNAL for another API group, UNKNOWN when not (yet) known. */
enum rec_issuer_type store_cert_issuer_type(struct store *s, const struct rec_cert *c);

/* Iteration over all records of a kind, in no particular order. Zero the cursor to start. */
struct store_iter {
	size_t it_bucket;       /* next bucket to visit */
	const void *it_entry;   /* private */
};
/* The next record of kind (cast to its struct), or NULL at the end. */
const void *store_next(struct store *s, enum res_kind kind, struct store_iter *it);
/* The next Certificate, only in namespace ns when ns is not NULL; NULL at the end. */
const struct rec_cert *store_cert_next(struct store *s, const char *ns, struct store_iter *it);

/* CertificateRequests owned by Certificate ns/name, newest first (creation time, revision). */
size_t store_cert_crs(struct store *s, const char *ns, const char *name,
    const struct rec_cr **out, size_t max);
/* Orders of CertificateRequest ns/name, newest first. */
size_t store_cr_orders(struct store *s, const char *ns, const char *name,
    const struct rec_order **out, size_t max);
/* Challenges of Order ns/name, by name. */
size_t store_order_challenges(struct store *s, const char *ns, const char *name,
    const struct rec_challenge **out, size_t max);
/* Events about the object kind ns/name ("Certificate", ...), newest first (last time). */
size_t store_events_of(struct store *s, const char *kind, const char *ns, const char *name,
    const struct rec_event **out, size_t max);
/* Certificates whose issuerRef points at kind/name (ns for kind "Issuer"), in no order. */
size_t store_issuer_certs(struct store *s, const char *group, const char *kind, const char *ns,
    const char *name, const struct rec_cert **out, size_t max);

#endif
