/* aricache: bounded ARI windows by certificate identifier and request UID (see aricache.h). */
#include "aricache.h"

#include "xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct arc_entry {
	char e_id[ARC_ID_MAX];
	char e_uid[ARC_UID_MAX];
	int64_t e_seen;                  /* last arc_track */
	int64_t e_next;                  /* when to call again */
	unsigned e_failures;             /* failed calls in a row */
	int e_has;                       /* e_win holds an answer */
	struct ari_window e_win;
};

struct arc {
	pthread_mutex_t c_mu;
	struct arc_entry *c_v;           /* owned, c_n used of c_max; linear search (see arc_new) */
	size_t c_n, c_max;
};

struct arc *
arc_new(size_t max)
{
	/*
	 * A linear array: entries are looked up once per certificate per reconcile and poll
	 * round, and a string compare over 16k entries costs far less than the certificate
	 * parse or the HTTPS call each lookup stands for.
	 */
	struct arc *c = xcalloc(1, sizeof *c);
	pthread_mutex_init(&c->c_mu, NULL);
	c->c_max = max ? max : ARC_MAX_DEFAULT;
	return c;
}

void
arc_free(struct arc *c)
{
	if (c == NULL)
		return;
	free(c->c_v);
	pthread_mutex_destroy(&c->c_mu);
	free(c);
}

size_t
arc_size(struct arc *c)
{
	pthread_mutex_lock(&c->c_mu);
	size_t n = c->c_n;
	pthread_mutex_unlock(&c->c_mu);
	return n;
}

static struct arc_entry *
arc_by_uid(struct arc *c, const char *uid)
{
	for (size_t i = 0; i < c->c_n; i++)
		if (strcmp(c->c_v[i].e_uid, uid) == 0)
			return &c->c_v[i];
	return NULL;
}

static struct arc_entry *
arc_by_id(struct arc *c, const char *id)
{
	if (id[0] == '\0')
		return NULL;
	for (size_t i = 0; i < c->c_n; i++)
		if (strcmp(c->c_v[i].e_id, id) == 0)
			return &c->c_v[i];
	return NULL;
}

int
arc_id_of(struct arc *c, const char *uid, char *id, size_t idlen)
{
	pthread_mutex_lock(&c->c_mu);
	const struct arc_entry *e = arc_by_uid(c, uid);
	int known = e != NULL && strlen(e->e_id) < idlen;
	if (known)
		memcpy(id, e->e_id, strlen(e->e_id) + 1);
	pthread_mutex_unlock(&c->c_mu);
	return known;
}

int
arc_track(struct arc *c, const char *uid, const char *id, int64_t now)
{
	if (strlen(uid) >= ARC_UID_MAX || uid[0] == '\0' || strlen(id) >= ARC_ID_MAX)
		return 0;
	pthread_mutex_lock(&c->c_mu);
	struct arc_entry *e = arc_by_uid(c, uid);
	int fresh = 0;
	if (e != NULL && strcmp(e->e_id, id) != 0) {
		/* the request's certificate changed (it cannot, but a UID is not a promise) */
		memset(e, 0, sizeof *e);
		fresh = 1;
	} else if (e == NULL) {
		if (c->c_v == NULL)
			c->c_v = xcalloc(c->c_max, sizeof *c->c_v);
		if (c->c_n == c->c_max) {
			size_t old = 0;
			for (size_t i = 1; i < c->c_n; i++)
				if (c->c_v[i].e_seen < c->c_v[old].e_seen)
					old = i;
			e = &c->c_v[old];
		} else {
			e = &c->c_v[c->c_n++];
		}
		memset(e, 0, sizeof *e);
		fresh = 1;
	}
	if (fresh) {
		memcpy(e->e_uid, uid, strlen(uid) + 1);
		memcpy(e->e_id, id, strlen(id) + 1);
		e->e_next = now;
	}
	e->e_seen = now;
	pthread_mutex_unlock(&c->c_mu);
	return fresh;
}

int
arc_due(struct arc *c, const char *id, int64_t now)
{
	pthread_mutex_lock(&c->c_mu);
	const struct arc_entry *e = arc_by_id(c, id);
	int due = e != NULL && now >= e->e_next;
	pthread_mutex_unlock(&c->c_mu);
	return due;
}

int
arc_answer(struct arc *c, const char *id, const struct ari_window *w, int64_t wait, int64_t now)
{
	int changed = 0;
	pthread_mutex_lock(&c->c_mu);
	struct arc_entry *e = arc_by_id(c, id);
	if (e != NULL) {
		changed = !e->e_has || e->e_win.aw_start != w->aw_start ||
		    e->e_win.aw_end != w->aw_end || strcmp(e->e_win.aw_url, w->aw_url) != 0;
		e->e_win = *w;
		e->e_has = 1;
		e->e_failures = 0;
		e->e_next = now + wait;
	}
	pthread_mutex_unlock(&c->c_mu);
	return changed;
}

unsigned
arc_failed(struct arc *c, const char *id, int64_t wait, int64_t now)
{
	unsigned n = 0;
	pthread_mutex_lock(&c->c_mu);
	struct arc_entry *e = arc_by_id(c, id);
	if (e != NULL) {
		if (e->e_failures < 1000)
			e->e_failures++;
		n = e->e_failures;
		e->e_next = now + (wait > 0 ? wait : ari_error_delay(n));
	}
	pthread_mutex_unlock(&c->c_mu);
	return n;
}

int
arc_window_of(struct arc *c, const char *uid, struct ari_window *out)
{
	pthread_mutex_lock(&c->c_mu);
	const struct arc_entry *e = arc_by_uid(c, uid);
	int has = e != NULL && e->e_has;
	if (has)
		*out = e->e_win;
	pthread_mutex_unlock(&c->c_mu);
	return has;
}

size_t
arc_prune(struct arc *c, int64_t cutoff)
{
	size_t k = 0, gone = 0;
	pthread_mutex_lock(&c->c_mu);
	for (size_t i = 0; i < c->c_n; i++) {
		if (c->c_v[i].e_seen < cutoff) {
			gone++;
			continue;
		}
		if (k != i)
			c->c_v[k] = c->c_v[i];
		k++;
	}
	c->c_n = k;
	pthread_mutex_unlock(&c->c_mu);
	return gone;
}
