/*
 * lease: leader election on a coordination.k8s.io/v1 Lease, with client-go's leaderelection
 * semantics (tools/leaderelection, LeaseLock), so that certcast replicas and client-go
 * controllers read each other's Leases the same way.
 *
 * - A candidate takes the Lease when it does not exist (POST), when its holderIdentity is empty
 *   (released), when it names us, or when it has expired. Expiry is judged as client-go judges
 *   it: by when WE saw the record last change, on our monotonic clock, plus the record's
 *   leaseDurationSeconds; the remote renewTime is never compared with our wall clock, so clock
 *   skew between nodes does not matter.
 * - The leader renews every retryPeriod by PUT with the resourceVersion it last wrote; a 409
 *   means someone else wrote in between, and the Lease is read again at once.
 * - The leader steps down (le_is_leader turns 0) the moment it reads a record naming someone
 *   else, and renewDeadline after the start of its last successful write even when the loop is
 *   stuck in a request. renewDeadline < leaseDuration is what keeps two leaders apart: others
 *   wait leaseDuration from their sight of that write.
 * - leaseTransitions grows by one when the holder changes; acquireTime is kept while the holder
 *   stays; acquireTime and renewTime are MicroTime ("2006-01-02T15:04:05.000000Z").
 * - On le_stop a leader releases the Lease as client-go's ReleaseOnCancel does: holderIdentity
 *   "", leaseDurationSeconds 1, acquireTime and renewTime now, leaseTransitions kept, so that a
 *   candidate takes over at its next try instead of after leaseDuration.
 *
 * The decision (le_decide) and the records written (le_next_record, le_release_record) are pure
 * functions of their arguments; the JSON of a Lease goes through le_record_parse and le_body.
 * Only le_start's thread and le_stop do I/O.
 *
 * Threads: le_is_leader may be called from any thread at any time between le_new and le_free;
 * every other function on one struct le belongs to the thread that owns it (ctl's main thread).
 * Errors follow cc_err.h.
 */
#ifndef LEASE_H
#define LEASE_H

#include <stddef.h>
#include <stdint.h>

struct kube_client;
struct le;

#define LE_ID_MAX 256        /* identities and holderIdentity values, NUL included */
#define LE_RV_MAX 64         /* metadata.resourceVersion, NUL included */
#define LE_UID_MAX 128       /* metadata.uid, NUL included */
#define LE_TIME_NONE INT64_MIN /* an absent acquireTime or renewTime */

/* client-go's defaults (LeaseDuration 15s, RenewDeadline 10s, RetryPeriod 2s). */
#define LE_DEFAULT_LEASE_MS 15000
#define LE_DEFAULT_RENEW_MS 10000
#define LE_DEFAULT_RETRY_MS 2000

struct le_durations {
	int64_t ld_lease_ms;  /* leaseDuration: a lease not renewed for this long may be taken;
	                         whole seconds, as leaseDurationSeconds holds it */
	int64_t ld_renew_ms;  /* renewDeadline: a leader that could not renew for this long steps
	                         down; < ld_lease_ms */
	int64_t ld_retry_ms;  /* retryPeriod: between attempts; < ld_renew_ms */
};

/*
 * Check the relations client-go checks (all > 0, leaseDuration whole seconds, retryPeriod <
 * renewDeadline < leaseDuration). CC_OK, or CC_ERR_INVAL with err naming the settings by their
 * config keys.
 */
int le_durations_check(const struct le_durations *d, char *err, size_t errsz);

/* The spec of a Lease and its resourceVersion. */
struct le_record {
	char lr_holder[LE_ID_MAX];  /* spec.holderIdentity; "" when absent or released */
	int64_t lr_duration_s;      /* spec.leaseDurationSeconds; 0 when absent */
	int64_t lr_acquire_us;      /* spec.acquireTime, Unix microseconds, or LE_TIME_NONE */
	int64_t lr_renew_us;        /* spec.renewTime, Unix microseconds, or LE_TIME_NONE */
	int64_t lr_transitions;     /* spec.leaseTransitions; 0 when absent */
	char lr_rv[LE_RV_MAX];      /* metadata.resourceVersion; "" in records to be written */
	char lr_uid[LE_UID_MAX];    /* metadata.uid; "" when absent, not a string or too long (it
	                               only names the Lease in an Event: never a reason to refuse
	                               one), and in records to be written */
};

/* True when a and b hold the same spec (the resourceVersion and uid are not compared). */
int le_record_same(const struct le_record *a, const struct le_record *b);

/* What the last read of the Lease found. */
enum le_obs {
	LE_OBS_UNKNOWN = 0,  /* the read failed: nothing is known */
	LE_OBS_ABSENT,       /* 404: there is no Lease */
	LE_OBS_PRESENT,      /* lv_rec holds it */
};

/* Everything le_decide looks at. Times are monotonic seconds; only differences matter. */
struct le_view {
	enum le_obs lv_obs;
	const struct le_record *lv_rec; /* with LE_OBS_PRESENT; borrowed */
	double lv_observed;   /* when lv_rec's spec last changed as we saw it (or we wrote it) */
	double lv_now;        /* now */
	int lv_leading;       /* we lead now */
	double lv_renewed;    /* with lv_leading: start of our last successful write */
};

enum le_action {
	LE_WAIT = 0,  /* someone else holds a live lease, or nothing is known: try again later */
	LE_ACQUIRE,   /* take it: POST when absent, else PUT with us as holder */
	LE_RENEW,     /* ours and we lead: PUT a new renewTime */
	LE_LOST,      /* we led and must stop writing now: another holder, or renewDeadline passed */
};

/* "wait", "acquire", "renew", "lost". */
const char *le_action_name(enum le_action a);

/*
 * The decision, pure. identity is ours. *why (when why is non-NULL) gets a constant phrase for
 * logs and tests ("held by another replica", "renewDeadline passed", ...). Rules, in order:
 * leading and now >= renewed + renewDeadline: LOST; read failed: WAIT; absent: ACQUIRE; leading
 * and the record names someone else (or nobody): LOST; the record names us: RENEW when leading,
 * else ACQUIRE; names nobody: ACQUIRE; names another whose lease is live (observed +
 * leaseDurationSeconds > now): WAIT; expired: ACQUIRE.
 */
enum le_action le_decide(const struct le_view *v, const char *identity,
    const struct le_durations *d, const char **why);

/*
 * The spec to write for LE_ACQUIRE or LE_RENEW, pure: holder identity, leaseDurationSeconds from
 * d, renewTime now_us (Unix microseconds); acquireTime and leaseTransitions kept when cur names
 * identity, else acquireTime now_us and leaseTransitions cur's + 1 (0 when cur is NULL: the
 * Lease is created; at most INT32_MAX, the most the field holds). out->lr_rv is "".
 */
void le_next_record(const struct le_record *cur, const char *identity,
    const struct le_durations *d, int64_t now_us, struct le_record *out);
/* The released spec (client-go's release): holder "", duration 1, both times now_us. */
void le_release_record(const struct le_record *cur, int64_t now_us, struct le_record *out);

/*
 * Read a Lease object (the JSON text of a GET, PUT or POST answer, len bytes). Absent or null
 * spec fields take the defaults in struct le_record. CC_OK, or CC_ERR_PARSE with err naming the
 * JSON path and what was wrong ("spec.renewTime: not a MicroTime: \"soon\""), out unchanged.
 */
int le_record_parse(const char *json, size_t len, struct le_record *out, char *err, size_t errsz);

/*
 * The body of a write of spec rec to Lease ns/name. prev (prevlen bytes) is the Lease as last
 * read or written: its apiVersion, kind and metadata (labels, annotations, resourceVersion...)
 * are kept and only its spec is replaced, as client-go's LeaseLock.Update does; prev NULL makes
 * a new object for a POST. The spec has every field (holderIdentity "" included); an absent time
 * is null. On CC_OK *out is a new string the caller frees; CC_ERR_PARSE (prev is not a Lease
 * object) with err, *out NULL.
 */
int le_body(const char *prev, size_t prevlen, const char *ns, const char *name,
    const struct le_record *rec, char **out, char *err, size_t errsz);

/* Write Unix microseconds as a MicroTime, "2006-01-02T15:04:05.000000Z" (buf >= 28 bytes). */
int le_format_microtime(int64_t us, char *buf, size_t len);

/*
 * Our identity, as client-go's users make it: $POD_NAME when set (and not empty), else the host
 * name, "_" and 16 random hex digits. CC_OK, or CC_ERR_INVAL when $POD_NAME does not fit in
 * LE_ID_MAX (err says so).
 */
int le_default_identity(char *out, size_t outsz, char *err, size_t errsz);

/*
 * A change of this replica's leadership, as the election thread saw it: the moments it logs
 * "became leader" and "lost leadership", and le_stop's release (after the release was tried, as
 * client-go records "stopped leading" after ReleaseOnCancel). Everything is borrowed for the
 * call.
 */
struct le_change {
	int lc_leading;           /* 1: became leader; 0: stopped leading */
	const char *lc_identity;  /* ours */
	const char *lc_ns;        /* the Lease's namespace */
	const char *lc_name;      /* its name */
	const char *lc_uid;       /* its metadata.uid as last read or written; "" when unknown */
	int64_t lc_when_ns;       /* the wall clock at the change, Unix nanoseconds */
	const char *lc_why;       /* the phrase of the log line ("the lease was released", ...) */
};

/*
 * Told of every change, on the election thread (or le_stop's caller), after le_is_leader has
 * already changed. It runs where the renewals run: it must return at once, without I/O or
 * waiting on anything the API server decides (leaderev.h queues and posts elsewhere).
 */
typedef void (*le_changed_fn)(void *arg, const struct le_change *ch);

struct le_opts {
	struct kube_client *lo_client; /* borrowed; must outlive le_stop. A client of its own, not
	                                  canceled when the watches stop, so the release can go out */
	const char *lo_namespace;      /* the Lease's namespace; copied */
	const char *lo_name;           /* the Lease's name; copied */
	const char *lo_identity;       /* copied; NULL: le_default_identity */
	struct le_durations lo_dur;    /* checked with le_durations_check */
	le_changed_fn lo_changed;      /* NULL: nobody is told */
	void *lo_changed_arg;          /* its arg */
};

/*
 * A new elector, not yet running (le_is_leader is 0). CC_OK with *out set, or CC_ERR_INVAL with
 * err (bad namespace, name, identity or durations).
 */
int le_new(const struct le_opts *o, struct le **out, char *err, size_t errsz);

/* Start the election thread. CC_OK or CC_ERR_IO (no thread: logged). At most once. */
int le_start(struct le *l);

/*
 * 1 while this replica leads, else 0. Thread-safe and cheap (two atomic loads and a monotonic
 * clock read): call it before every write. It turns 0 by itself renewDeadline after the last
 * successful renewal, whatever the election thread is doing.
 */
int le_is_leader(const struct le *l);

/* Our identity; borrowed, valid until le_free. */
const char *le_identity(const struct le *l);

/*
 * Stop the thread (waiting for a request in flight, which the client's timeout bounds), turn
 * le_is_leader to 0, and release the Lease if the API server still names us. Call it once the
 * writers have stopped: writes in flight have then finished. Idempotent.
 */
void le_stop(struct le *l);

/* le_stop, then free. Accepts NULL. */
void le_free(struct le *l);

#endif
