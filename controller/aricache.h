/*
 * aricache: the renewal windows learned from ACME servers (RFC 9773), one entry per ARI
 * certificate identifier, shared by the poller (which writes) and the reconcile workers (which
 * read). Each entry also remembers the CertificateRequest whose issued certificate the
 * identifier was computed from, so that a worker finds a certificate's window by its newest
 * issued request without parsing the certificate again, and a window never moves to another
 * certificate: a renewal issues a new request, whose certificate has a new serial and so a new
 * identifier and entry.
 *
 * Bounded: at most the size given to arc_new entries; when full, the entry seen longest ago
 * goes. Thread-safe (one mutex). Times are Unix seconds from the caller.
 */
#ifndef ARICACHE_H
#define ARICACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ari.h"

#define ARC_MAX_DEFAULT 16384
#define ARC_ID_MAX 180                /* certparse's CP_ARI_ID_MAX */
#define ARC_UID_MAX 64                /* a Kubernetes UID is 36 characters */

struct arc;

/* A cache holding at most max entries (0: ARC_MAX_DEFAULT). Never fails. */
struct arc *arc_new(size_t max);
void arc_free(struct arc *c);
size_t arc_size(struct arc *c);

/*
 * The identifier already computed for request uid into id (ARC_ID_MAX bytes). 1 when known
 * (id "" when the request's certificate has none, so it is not parsed again), 0 when not.
 */
int arc_id_of(struct arc *c, const char *uid, char *id, size_t idlen);

/*
 * Note that request uid's certificate has identifier id ("" for none) and was seen at now
 * (which keeps it from eviction). A new entry is due at once. Returns 1 for a new entry.
 * An over-long uid or id is refused (0, nothing stored).
 */
int arc_track(struct arc *c, const char *uid, const char *id, int64_t now);

/* Whether the entry of id is due for a call at now (unknown ids: 0). */
int arc_due(struct arc *c, const char *id, int64_t now);

/*
 * A call for id answered w; ask again after wait seconds. Returns 1 when the window or its
 * URL differ from what the entry held (the certificate should be scored again), else 0.
 */
int arc_answer(struct arc *c, const char *id, const struct ari_window *w, int64_t wait,
    int64_t now);

/*
 * A call for id failed; the next is ari_error_delay(failures in a row) later, or wait when
 * wait > 0 (a 404 or 429 with Retry-After). The window already known is kept: a CA that is
 * briefly down has not withdrawn its advice. Returns the failures in a row.
 */
unsigned arc_failed(struct arc *c, const char *id, int64_t wait, int64_t now);

/* The window known for request uid's certificate into out: 1 when there is one, else 0. */
int arc_window_of(struct arc *c, const char *uid, struct ari_window *out);

/* Drop entries not tracked since before cutoff (their requests left the store). */
size_t arc_prune(struct arc *c, int64_t cutoff);

#endif
