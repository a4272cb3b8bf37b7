/* authcache: bounded, expiring decisions keyed by a token's hash and a path. */
#include "authcache.h"

#include "log.h"
#include "xalloc.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AUTHC_DEFAULT_MAX 1024
#define AUTHC_DEFAULT_ALLOW_MS (120 * 1000)
#define AUTHC_DEFAULT_DENY_MS (30 * 1000)

struct authc_entry {
	char ae_key[AUTHC_KEY_MAX];  /* authc_key(): hash and path, never the token */
	enum authc_result ae_res;    /* the decision */
	char ae_user[256];           /* whom it was made for; "" when unauthenticated */
	int64_t ae_expires;          /* clock ms after which it is not used */
};

struct authc {
	pthread_mutex_t c_mu;          /* guards everything below */
	struct authc_entry *c_ent;     /* c_len used of c_max */
	size_t c_len;
	size_t c_max;
	int64_t c_allow_ms;            /* TTL of an allowed decision */
	int64_t c_deny_ms;             /* TTL of a refusal */
	authc_clock_fn c_clock;
	void *c_clock_arg;
};

static int64_t
authc_mono_ms(void *arg)
{
	struct timespec ts;
	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct authc *
authc_new(const struct authc_opts *o)
{
	struct authc *c = xcalloc(1, sizeof *c);
	c->c_max = o && o->aco_max ? o->aco_max : AUTHC_DEFAULT_MAX;
	c->c_allow_ms = o && o->aco_allow_ttl_ms > 0 ? o->aco_allow_ttl_ms : AUTHC_DEFAULT_ALLOW_MS;
	c->c_deny_ms = o && o->aco_deny_ttl_ms > 0 ? o->aco_deny_ttl_ms : AUTHC_DEFAULT_DENY_MS;
	c->c_clock = o && o->aco_clock ? o->aco_clock : authc_mono_ms;
	c->c_clock_arg = o ? o->aco_clock_arg : NULL;
	c->c_ent = xcalloc(c->c_max, sizeof *c->c_ent);
	pthread_mutex_init(&c->c_mu, NULL);
	return c;
}

void
authc_free(struct authc *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->c_mu);
	free(c->c_ent);
	free(c);
}

void
authc_hash(const char *token, unsigned char out[AUTHC_HASH_LEN])
{
	unsigned int n = 0;
	if (EVP_Digest(token, strlen(token), out, &n, EVP_sha256(), NULL) != 1 ||
	    n != AUTHC_HASH_LEN)
		fatalx("OpenSSL cannot compute a SHA-256");
}

void
authc_key(const unsigned char hash[AUTHC_HASH_LEN], const char *path, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < AUTHC_HASH_LEN; i++) {
		out[2 * i] = hex[hash[i] >> 4];
		out[2 * i + 1] = hex[hash[i] & 15];
	}
	snprintf(out + 2 * AUTHC_HASH_LEN, AUTHC_KEY_MAX - 2 * AUTHC_HASH_LEN, " %.*s",
	    AUTHC_PATH_MAX, path);
}

/* The entry for key, or NULL. Called locked. */
static struct authc_entry *
authc_find(struct authc *c, const char *key)
{
	for (size_t i = 0; i < c->c_len; i++)
		if (strcmp(c->c_ent[i].ae_key, key) == 0)
			return &c->c_ent[i];
	return NULL;
}

int
authc_get(struct authc *c, const unsigned char hash[AUTHC_HASH_LEN], const char *path,
    enum authc_result *res, char *user, size_t usersz)
{
	char key[AUTHC_KEY_MAX];
	authc_key(hash, path, key);
	int64_t now = c->c_clock(c->c_clock_arg);
	int hit = 0;
	pthread_mutex_lock(&c->c_mu);
	struct authc_entry *e = authc_find(c, key);
	if (e != NULL && now < e->ae_expires) {
		*res = e->ae_res;
		if (user && usersz)
			snprintf(user, usersz, "%s", e->ae_user);
		hit = 1;
	}
	pthread_mutex_unlock(&c->c_mu);
	return hit;
}

/* Make room for one entry: drop every expired one, then, if still full, the soonest to expire. */
static void
authc_evict(struct authc *c, int64_t now)
{
	size_t j = 0;
	for (size_t i = 0; i < c->c_len; i++)
		if (now < c->c_ent[i].ae_expires)
			c->c_ent[j++] = c->c_ent[i];
	c->c_len = j;
	if (c->c_len < c->c_max)
		return;
	size_t victim = 0;
	for (size_t i = 1; i < c->c_len; i++)
		if (c->c_ent[i].ae_expires < c->c_ent[victim].ae_expires)
			victim = i;
	c->c_ent[victim] = c->c_ent[--c->c_len];
}

void
authc_put(struct authc *c, const unsigned char hash[AUTHC_HASH_LEN], const char *path,
    enum authc_result res, const char *user)
{
	char key[AUTHC_KEY_MAX];
	authc_key(hash, path, key);
	int64_t now = c->c_clock(c->c_clock_arg);
	pthread_mutex_lock(&c->c_mu);
	struct authc_entry *e = authc_find(c, key);
	if (e == NULL) {
		if (c->c_len >= c->c_max)
			authc_evict(c, now);
		e = &c->c_ent[c->c_len++];
		memcpy(e->ae_key, key, sizeof key);
	}
	e->ae_res = res;
	snprintf(e->ae_user, sizeof e->ae_user, "%s", user ? user : "");
	e->ae_expires = now + (res == AUTHC_ALLOWED ? c->c_allow_ms : c->c_deny_ms);
	pthread_mutex_unlock(&c->c_mu);
}

size_t
authc_len(struct authc *c)
{
	pthread_mutex_lock(&c->c_mu);
	size_t n = c->c_len;
	pthread_mutex_unlock(&c->c_mu);
	return n;
}
