/*
 * authcache: the decisions of delegated HTTP authentication, kept for a while so that a scrape
 * every 15 s costs the API server nothing after the first.
 *
 * An entry is keyed by the SHA-256 of the bearer token and the request path, never the token
 * itself: the cache holds nothing a reader of the process' memory could replay. Allowed
 * decisions live longer than refusals (a new RoleBinding takes effect within the refusal TTL).
 * The cache is bounded: when full, expired entries go first, then the entry closest to its
 * expiry, so a flood of bad tokens pushes out refusals before it pushes out allowed scrapers.
 *
 * Thread-safe: the HTTP service thread reads, the review workers write.
 */
#ifndef AUTHCACHE_H
#define AUTHCACHE_H

#include <stddef.h>
#include <stdint.h>

#define AUTHC_HASH_LEN 32 /* SHA-256 */
/* Room for a key's text: 64 hex digits, a space, and a path of up to AUTHC_PATH_MAX bytes. */
#define AUTHC_PATH_MAX 512
#define AUTHC_KEY_MAX (2 * AUTHC_HASH_LEN + 1 + AUTHC_PATH_MAX + 1)

enum authc_result {
	AUTHC_ALLOWED = 0,        /* authenticated and allowed to get the path */
	AUTHC_DENIED,             /* authenticated, not allowed */
	AUTHC_UNAUTHENTICATED,    /* the API server does not know the token */
};

/* Milliseconds on a clock that never goes back. */
typedef int64_t (*authc_clock_fn)(void *arg);

struct authc_opts {
	size_t aco_max;               /* entries kept at most; 0: 1024 */
	int64_t aco_allow_ttl_ms;     /* how long an allowed decision holds; 0: 2 minutes */
	int64_t aco_deny_ttl_ms;      /* the same for a refusal; 0: 30 seconds */
	authc_clock_fn aco_clock;     /* NULL: CLOCK_MONOTONIC */
	void *aco_clock_arg;          /* handed to aco_clock; must outlive the cache */
};

struct authc;

/* A new empty cache (o may be NULL for the defaults). Free with authc_free. */
struct authc *authc_new(const struct authc_opts *o);
/* Free c and its entries. Accepts NULL. */
void authc_free(struct authc *c);

/* out = SHA-256(token). */
void authc_hash(const char *token, unsigned char out[AUTHC_HASH_LEN]);

/*
 * The key an entry is stored under: the hash in lower-case hex, a space, the path (cut at
 * AUTHC_PATH_MAX bytes). out must hold AUTHC_KEY_MAX bytes.
 */
void authc_key(const unsigned char hash[AUTHC_HASH_LEN], const char *path, char *out);

/*
 * Look up a live decision for (hash, path). Returns 1 with *res set and user (may be NULL)
 * filled with the user name the decision was made for ("" for an unauthenticated one), cut to
 * usersz; 0 when there is none or it expired.
 */
int authc_get(struct authc *c, const unsigned char hash[AUTHC_HASH_LEN], const char *path,
    enum authc_result *res, char *user, size_t usersz);

/* Store a decision (replacing one for the same key), evicting as the header says. */
void authc_put(struct authc *c, const unsigned char hash[AUTHC_HASH_LEN], const char *path,
    enum authc_result res, const char *user);

/* Entries held now, expired ones included until they are evicted. */
size_t authc_len(struct authc *c);

#endif
