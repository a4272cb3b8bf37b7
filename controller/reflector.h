/*
 * reflector: keeps the store in step with one kind of object on the API server, the client-go
 * way: LIST (paginated) then WATCH from the list's resourceVersion, for ever.
 *
 * One reflector serves one descriptor of res_table() and runs in its own thread:
 *   - LIST with limit=500 and continue tokens; every item goes to store_apply(STORE_SYNC)
 *     between store_relist_begin/end, so objects that vanished while we were not watching are
 *     deleted (with notification). An expired continue token (410) restarts the list.
 *   - WATCH from the final page's resourceVersion, with allowWatchBookmarks=true and a random
 *     timeoutSeconds in [300, 600]. ADDED, MODIFIED and DELETED go to store_apply; BOOKMARK
 *     only advances the resourceVersion; ERROR with code 410, or HTTP 410 on the request,
 *     relists; other ERRORs back off and watch again from the last resourceVersion.
 *   - A stream that ends normally (the server's timeout) is watched again at once, without a
 *     relist. A stream that ends within a second without a single line counts as an error.
 *   - A bad line (oversize, truncated, not JSON, wrong types, unknown type, rejected by the
 *     store) is logged with the resource, its line number and byte offset in the stream and what
 *     was wrong, counted as an event of type "invalid", and skipped; the stream goes on.
 *   - Failures back off with decorrelated jitter (backoff.h); the sequence resets after two
 *     healthy minutes. 403 is logged naming the verb, resource and namespace and retried slowly,
 *     since RBAC may be fixed while we wait.
 *
 * Threads: refl_start runs the loop in a new thread. refl_has_synced, refl_counter, refl_stats,
 * refl_resource_version and refl_stop may be called from any thread. The client, store and
 * descriptor are borrowed and must outlive the reflector.
 *
 * Stopping: refl_stop sets a flag that the stream callback checks at every chunk and wakes any
 * backoff sleep, so the thread ends at once unless it is waiting on a silent connection; then it
 * ends at the next byte from the server (bookmarks come about once a minute) or as soon as the
 * client is canceled (kube_client_cancel). refl_set_stop does the latter when the set owns
 * its client. Nothing here logs a token or a header.
 */
#ifndef REFLECTOR_H
#define REFLECTOR_H

#include "backoff.h"
#include "kube_client.h"
#include "resource.h"
#include "store.h"

#include <stddef.h>

/* Counter families, for certcast_watch_events_total and certcast_watch_restarts_total. */
enum refl_stat {
	REFL_STAT_EVENTS = 0,  /* label: ADDED MODIFIED DELETED BOOKMARK ERROR invalid */
	REFL_STAT_RESTARTS,    /* label: timeout gone error forbidden decode */
};

struct refl_opts {
	struct kube_client *ro_client;   /* borrowed */
	struct store *ro_store;          /* borrowed */
	const struct res_desc *ro_desc;  /* borrowed; one of res_table() in production */
	const char *ro_namespace;        /* only this namespace; NULL or "" for all (copied) */
	const char *ro_pod_namespace;    /* RES_POD only: cert-manager's namespace, NULL (copied) */
	const char *ro_label_selector;   /* RES_POD only: label selector, or NULL (copied) */
	size_t ro_max_line;              /* longest watch line; 0: 8 MiB */
	size_t ro_max_page;              /* largest LIST page body; 0: 256 MiB */
	int ro_page_limit;               /* items per LIST page; 0: 500 */
	int ro_timeout_min;              /* watch timeoutSeconds range; 0: 300 */
	int ro_timeout_max;              /* 0: 600 */
	double ro_backoff_base;          /* seconds; 0: 0.8 */
	double ro_backoff_cap;           /* seconds; 0: 30 */
	double ro_forbidden_delay;       /* seconds to wait after a 403; 0: 60 (jittered +-25%) */
	double ro_short_watch;           /* a watch that ends with no line within this many seconds
	                                    is an error; 0: 1, negative: never */
};

struct refl;

/*
 * Make a reflector (not started). o is copied (strings too). Returns CC_OK with *out, or
 * CC_ERR_INVAL (missing client, store or descriptor; bad limits) with the reason logged.
 */
int refl_new(const struct refl_opts *o, struct refl **out);
/* Start the thread. CC_OK, or CC_ERR_STATE when already started. */
int refl_start(struct refl *r);
/* Ask the thread to end (see "Stopping" above). Returns at once; idempotent; thread-safe. */
void refl_stop(struct refl *r);
/* Wait for the thread to end; refl_stop first. No-op when never started. */
void refl_join(struct refl *r);
/* Free a reflector whose thread is joined (or never started). Accepts NULL. */
void refl_free(struct refl *r);

/* 1 once the first full LIST has been applied to the store. */
int refl_has_synced(struct refl *r);
/* Copy the resourceVersion the next watch would start from ("" before the first list). */
void refl_resource_version(struct refl *r, char *out, size_t outsz);
/* The descriptor's short name ("certificates"); borrowed from the descriptor. */
const char *refl_name(const struct refl *r);

/* One counter; 0 for labels not seen or unknown. */
unsigned long long refl_counter(struct refl *r, enum refl_stat what, const char *label);
/* Called once per counter series of a reflector; resource and label are borrowed for the call. */
typedef void (*refl_stat_fn)(void *arg, enum refl_stat what, const char *resource,
    const char *label, unsigned long long count);
/* Report every series of r (zeros included, so that metrics exist from the start). */
void refl_stats(struct refl *r, refl_stat_fn fn, void *arg);

/*
 * LIST every page of o->ro_desc into o->ro_store once, synthesising deletions as a relist does;
 * no watch, no thread, no retry (for `certcast status`). rv (size rvsz, may be NULL) gets the
 * list's resourceVersion. Returns CC_OK, the request's error with err filled (CC_ERR_FORBIDDEN,
 * CC_ERR_UNAVAILABLE, ...), or CC_ERR_PARSE for a body that is not a list (err->ke_message says
 * what). Bad items are logged and skipped, as in the reflector.
 */
int refl_list_once(const struct refl_opts *o, char *rv, size_t rvsz, struct kube_error *err);

/*
 * One LIST page body, applied as the thread's list applies each page it gets: a List object
 * whose kind (if present) is the descriptor's rd_list_kind, items an array or null (each item
 * that is not an object, or that store_apply(STORE_SYNC) rejects, is logged, counted as
 * "invalid" and skipped), metadata.continue a string or null, and on the last page (no or an
 * empty continue) a metadata.resourceVersion shorter than rvsz and 128 bytes, copied into rv.
 * remainingItemCount and other fields are not read. It is public so that tests and fuzzing can
 * feed pages without a server (the thread's list goes through it); call it only on a reflector
 * whose thread is not started, between store_relist_begin and store_relist_end as the list does.
 *
 * page (from 1) is only for messages. On CC_OK, *nitems grew by the items the store took and
 * *cont is the next continue token (malloc'ed, the caller frees) or NULL after the last page.
 * On CC_ERR_PARSE nothing was applied, *cont is NULL, and err says what was wrong with the
 * page (ke_http 200). body may be NULL when len is 0; it need not be NUL-terminated.
 */
int refl_list_page(struct refl *r, const char *body, size_t len, int page, char **cont, char *rv,
    size_t rvsz, size_t *nitems, struct kube_error *err);

/*
 * The bytes of one watch response, handled as the thread handles them; the thread's own watch
 * goes through these three, so tests and fuzzing can feed a stream without a server. Use them
 * only on a reflector whose thread is not started.
 *
 * refl_stream_begin starts a stream: lines and byte offsets count from zero. refl_stream_feed
 * takes the next bytes of the response body in the pieces they arrived in; they are cut into
 * lines of at most ro_max_line bytes, and each line is a watch event: ADDED, MODIFIED and
 * DELETED go to the store, BOOKMARK moves the resourceVersion, ERROR ends the stream; a bad line
 * is logged (line, byte offset, what was wrong), counted as "invalid" and skipped. It returns
 * CC_OK to go on, or what ended the stream: CC_ERR_GONE (ERROR with code 410: relist),
 * CC_ERR_UNAVAILABLE (another ERROR: back off, watch again), CC_ERR_CANCELED (refl_stop); once
 * it has, every later feed returns the same and reads nothing. refl_stream_end ends the stream
 * with rc, the transport's result: a partial last line is reported as truncated unless a line
 * ended the stream, whose code is then returned instead of rc. *lines (may be NULL) gets the
 * lines the stream carried, blank and bad ones included.
 */
void refl_stream_begin(struct refl *r);
int refl_stream_feed(struct refl *r, const char *data, size_t len);
int refl_stream_end(struct refl *r, int rc, unsigned long long *lines);

/* --- a set: one reflector per descriptor of res_table() --- */

struct refl_set_opts {
	struct kube_client *rso_client;  /* borrowed */
	struct store *rso_store;         /* borrowed */
	const char *rso_namespace;       /* as ro_namespace */
	const char *rso_pod_namespace;   /* as ro_pod_namespace */
	const char *rso_pod_selector;    /* as ro_label_selector */
	int rso_cancel_client_on_stop;   /* 1: refl_set_stop also cancels the client (give the set
	                                    a client of its own so that writes are not cut) */
	const struct refl_opts *rso_tuning; /* limits and delays for every reflector, or NULL */
};

struct refl_set;

/* Make and start one reflector per descriptor. CC_OK with *out, or the first refl_new error. */
int refl_set_start(const struct refl_set_opts *o, struct refl_set **out);
/* 1 once every reflector has synced: the controller starts reconciling only then. */
int refl_set_has_synced(struct refl_set *s);
/* Stop every reflector (and cancel the client when asked to), then join them all. */
void refl_set_stop(struct refl_set *s);
/* Free the set; refl_set_stop first. Accepts NULL. */
void refl_set_free(struct refl_set *s);
/* refl_stats over every reflector of the set. */
void refl_set_stats(struct refl_set *s, refl_stat_fn fn, void *arg);
/* Number of reflectors, and one of them (for tests and status pages); NULL when out of range. */
size_t refl_set_count(const struct refl_set *s);
struct refl *refl_set_get(struct refl_set *s, size_t i);

#endif
