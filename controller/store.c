/*
 * store: hash tables of records per kind, secondary indexes kept as groups of entries sharing a
 * key, one rwlock, and notifications collected under the lock and delivered after it.
 */
#include "store.h"
#include "hash.h"

#include "cc_err.h"
#include "decode.h"
#include "intern.h"
#include "log.h"
#include "records.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_KEY_MAX 1024   /* longest secondary index key; longer links are not indexed */
#define STORE_NB_INIT 64     /* initial buckets of every table (a power of two) */

/* One record in its kind's table, and in at most one secondary index group. */
struct sent {
	struct sent *se_next;    /* primary hash chain */
	uint64_t se_hash;        /* hash of namespace and name */
	struct rec_meta *se_rec; /* the record, owned */
	struct sgroup *se_grp;   /* secondary index group, or NULL */
	struct sent *se_gprev;   /* neighbours in se_grp */
	struct sent *se_gnext;
};

/* The entries of one kind that share a secondary key (a CR's Certificate, an Event's object). */
struct sgroup {
	struct sgroup *g_next;   /* index hash chain */
	uint64_t g_hash;         /* hash of g_key */
	struct sent *g_head;     /* members, in no order */
	size_t g_n;              /* members */
	size_t g_klen;           /* bytes in g_key */
	char g_key[];            /* fields joined by NUL bytes */
};

struct stable {
	struct sent **t_b;       /* buckets */
	size_t t_nb;             /* bucket count, a power of two */
	size_t t_n;              /* entries */
};

struct sindex {
	struct sgroup **x_b;     /* buckets */
	size_t x_nb;             /* bucket count, a power of two */
	size_t x_n;              /* groups */
};

/* The one secondary index each kind is filed under (issuers and pods have none). */
enum store_idx {
	IDX_NONE = -1,
	IDX_CERT_BY_ISSUER = 0,
	IDX_CR_BY_CERT,
	IDX_ORDER_BY_CR,
	IDX_CH_BY_ORDER,
	IDX_EV_BY_OBJ,
	IDX_COUNT
};

static const enum store_idx store_kind_idx[RES_KIND_COUNT] = {
	[RES_CERTIFICATE] = IDX_CERT_BY_ISSUER,
	[RES_CERTIFICATEREQUEST] = IDX_CR_BY_CERT,
	[RES_ISSUER] = IDX_NONE,
	[RES_CLUSTERISSUER] = IDX_NONE,
	[RES_ORDER] = IDX_ORDER_BY_CR,
	[RES_CHALLENGE] = IDX_CH_BY_ORDER,
	[RES_EVENT] = IDX_EV_BY_OBJ,
	[RES_POD] = IDX_NONE,
};

struct store {
	pthread_rwlock_t s_lock;          /* writers: reflectors; readers: everyone else */
	struct intern *s_in;              /* strings of all records */
	struct stable s_tab[RES_KIND_COUNT]; /* primary tables */
	struct sindex s_idx[IDX_COUNT];   /* secondary indexes */
	uint64_t s_tick;                  /* bumped by every write; stamps m_seen */
	store_notify_fn s_notify;         /* set before writers start */
	void *s_notify_arg;
	struct sown *s_own;               /* certcast's own writes (store_mark_own), newest first */
	size_t s_nown;
};

/*
 * One own write of a Certificate (store.h, store_expect_own and store_mark_own): the
 * annotations it sets, known before it is sent, and the resourceVersion it produced, known once
 * the answer is in. Its watch event is recognised by either.
 */
struct sown {
	char *o_ns, *o_name;
	char *o_rv;          /* "" until the answer gives it */
	char **o_keys;       /* the annotations the write sets ... */
	char **o_vals;       /* ... to these values, NULL: removes it */
	size_t o_n;
	int o_seen;          /* its event came before the answer */
	struct timespec o_at; /* CLOCK_MONOTONIC when made: an unclaimed mark expires */
	struct sown *o_next;
};
#define STORE_OWN_MAX 4096 /* marks kept; an older one is dropped (its event then notifies) */
#define STORE_OWN_TTL 120  /* seconds an unclaimed mark is kept: the watch is far quicker */

/* Certificate keys to notify once the write lock is released. */
struct snote {
	char *sn_ns;    /* owned */
	char *sn_name;  /* owned */
};
struct snotes {
	struct snote *n_v;  /* owned array */
	size_t n_len;
	size_t n_cap;
};

static uint64_t
store_hash_key(const char *ns, const char *name)
{
	uint64_t h = hash_fnv1a(HASH_FNV_INIT, ns, strlen(ns) + 1);
	return hash_fnv1a(h, name, strlen(name));
}

/* Join fields with NUL bytes into buf; returns the length, or 0 when it does not fit. */
static size_t
store_join(char *buf, size_t len, const char *const *fields, size_t n)
{
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		size_t fl = strlen(fields[i]);
		if (off + fl + 1 > len)
			return 0;
		memcpy(buf + off, fields[i], fl + 1);
		off += fl + 1;
	}
	return off;
}

/* The by-issuer key; a ClusterIssuer is cluster-scoped, so the namespace is left out. */
static size_t
store_issuer_key(char *buf, size_t len, const char *group, const char *kind, const char *ns,
    const char *name)
{
	if (strcmp(group, REC_CM_GROUP) == 0 && strcmp(kind, "ClusterIssuer") == 0)
		ns = "";
	const char *f[] = {group, kind, ns, name};
	return store_join(buf, len, f, 4);
}

static size_t
store_pair_key(char *buf, size_t len, const char *ns, const char *name)
{
	const char *f[] = {ns, name};
	return store_join(buf, len, f, 2);
}

static size_t
store_obj_key(char *buf, size_t len, const char *kind, const char *ns, const char *name)
{
	const char *f[] = {kind, ns, name};
	return store_join(buf, len, f, 3);
}

/* The secondary key of rec, or 0 when it links to nothing. */
static size_t
store_group_key(const struct rec_meta *rec, char *buf, size_t len)
{
	switch (rec->m_kind) {
	case RES_CERTIFICATE: {
		const struct rec_cert *c = (const void *)rec;
		if (c->c_issuer.rf_name == NULL)
			return 0;
		return store_issuer_key(buf, len, c->c_issuer.rf_group, c->c_issuer.rf_kind,
		    rec->m_ns, c->c_issuer.rf_name);
	}
	case RES_CERTIFICATEREQUEST: {
		const struct rec_cr *r = (const void *)rec;
		return r->r_cert_name ? store_pair_key(buf, len, rec->m_ns, r->r_cert_name) : 0;
	}
	case RES_ORDER: {
		const struct rec_order *o = (const void *)rec;
		return o->o_cr_name ? store_pair_key(buf, len, rec->m_ns, o->o_cr_name) : 0;
	}
	case RES_CHALLENGE: {
		const struct rec_challenge *ch = (const void *)rec;
		return ch->ch_order_name ? store_pair_key(buf, len, rec->m_ns, ch->ch_order_name) :
		    0;
	}
	case RES_EVENT: {
		const struct rec_event *ev = (const void *)rec;
		return store_obj_key(buf, len, ev->ev_obj_kind, ev->ev_obj_ns, ev->ev_obj_name);
	}
	default:
		return 0;
	}
}

/* ---- primary tables ---- */

static void
stable_init(struct stable *t)
{
	t->t_nb = STORE_NB_INIT;
	t->t_b = xcalloc(t->t_nb, sizeof *t->t_b);
	t->t_n = 0;
}

static struct sent *
stable_find(const struct stable *t, const char *ns, const char *name)
{
	uint64_t h = store_hash_key(ns, name);
	for (struct sent *e = t->t_b[h & (t->t_nb - 1)]; e != NULL; e = e->se_next)
		if (e->se_hash == h && strcmp(e->se_rec->m_name, name) == 0 &&
		    strcmp(e->se_rec->m_ns, ns) == 0)
			return e;
	return NULL;
}

static void
stable_insert(struct stable *t, struct sent *e)
{
	if (t->t_n >= t->t_nb) {
		size_t nb = t->t_nb * 2;
		struct sent **b = xcalloc(nb, sizeof *b);
		for (size_t i = 0; i < t->t_nb; i++) {
			struct sent *x = t->t_b[i], *next;
			for (; x != NULL; x = next) {
				next = x->se_next;
				x->se_next = b[x->se_hash & (nb - 1)];
				b[x->se_hash & (nb - 1)] = x;
			}
		}
		free(t->t_b);
		t->t_b = b;
		t->t_nb = nb;
	}
	struct sent **head = &t->t_b[e->se_hash & (t->t_nb - 1)];
	e->se_next = *head;
	*head = e;
	t->t_n++;
}

static void
stable_unlink(struct stable *t, struct sent *e)
{
	struct sent **pp = &t->t_b[e->se_hash & (t->t_nb - 1)];
	while (*pp != e) {
		if (*pp == NULL)
			fatalx("entry %s/%s missing from its table", e->se_rec->m_ns,
			    e->se_rec->m_name);
		pp = &(*pp)->se_next;
	}
	*pp = e->se_next;
	t->t_n--;
}

/* ---- secondary indexes ---- */

static void
sindex_init(struct sindex *x)
{
	x->x_nb = STORE_NB_INIT;
	x->x_b = xcalloc(x->x_nb, sizeof *x->x_b);
	x->x_n = 0;
}

static struct sgroup *
sindex_find(const struct sindex *x, const char *key, size_t klen)
{
	uint64_t h = hash_fnv1a(HASH_FNV_INIT, key, klen);
	for (struct sgroup *g = x->x_b[h & (x->x_nb - 1)]; g != NULL; g = g->g_next)
		if (g->g_hash == h && g->g_klen == klen && memcmp(g->g_key, key, klen) == 0)
			return g;
	return NULL;
}

static struct sgroup *
sindex_get(struct sindex *x, const char *key, size_t klen)
{
	struct sgroup *g = sindex_find(x, key, klen);
	if (g != NULL)
		return g;
	if (x->x_n >= x->x_nb) {
		size_t nb = x->x_nb * 2;
		struct sgroup **b = xcalloc(nb, sizeof *b);
		for (size_t i = 0; i < x->x_nb; i++) {
			struct sgroup *y = x->x_b[i], *next;
			for (; y != NULL; y = next) {
				next = y->g_next;
				y->g_next = b[y->g_hash & (nb - 1)];
				b[y->g_hash & (nb - 1)] = y;
			}
		}
		free(x->x_b);
		x->x_b = b;
		x->x_nb = nb;
	}
	g = xcalloc(1, sizeof *g + klen);
	g->g_hash = hash_fnv1a(HASH_FNV_INIT, key, klen);
	g->g_klen = klen;
	memcpy(g->g_key, key, klen);
	g->g_next = x->x_b[g->g_hash & (x->x_nb - 1)];
	x->x_b[g->g_hash & (x->x_nb - 1)] = g;
	x->x_n++;
	return g;
}

static void
sgroup_link(struct sgroup *g, struct sent *e)
{
	e->se_grp = g;
	e->se_gprev = NULL;
	e->se_gnext = g->g_head;
	if (g->g_head != NULL)
		g->g_head->se_gprev = e;
	g->g_head = e;
	g->g_n++;
}

/* Take e out of its group, freeing the group when it empties. */
static void
store_ungroup(struct store *s, struct sent *e)
{
	struct sgroup *g = e->se_grp;
	if (g == NULL)
		return;
	if (e->se_gprev != NULL)
		e->se_gprev->se_gnext = e->se_gnext;
	else
		g->g_head = e->se_gnext;
	if (e->se_gnext != NULL)
		e->se_gnext->se_gprev = e->se_gprev;
	e->se_grp = NULL;
	e->se_gprev = e->se_gnext = NULL;
	if (--g->g_n > 0)
		return;
	struct sindex *x = &s->s_idx[store_kind_idx[e->se_rec->m_kind]];
	struct sgroup **pp = &x->x_b[g->g_hash & (x->x_nb - 1)];
	while (*pp != g)
		pp = &(*pp)->g_next;
	*pp = g->g_next;
	x->x_n--;
	free(g);
}

/* Put e in the group its record's key names (after a change of record). */
static void
store_regroup(struct store *s, struct sent *e)
{
	char key[STORE_KEY_MAX];
	enum store_idx xi = store_kind_idx[e->se_rec->m_kind];
	size_t klen = xi == IDX_NONE ? 0 : store_group_key(e->se_rec, key, sizeof key);
	struct sgroup *g = e->se_grp;
	if (g != NULL && klen > 0 && g->g_klen == klen && memcmp(g->g_key, key, klen) == 0)
		return;
	store_ungroup(s, e);
	if (klen > 0)
		sgroup_link(sindex_get(&s->s_idx[xi], key, klen), e);
}

/* Remove e from every structure and free it with its record. */
static void
store_remove(struct store *s, struct sent *e)
{
	store_ungroup(s, e);
	stable_unlink(&s->s_tab[e->se_rec->m_kind], e);
	rec_free(s->s_in, e->se_rec);
	free(e);
}

/* ---- notifications ---- */

static void
snotes_add(struct snotes *n, const char *ns, const char *name)
{
	/* Old and new owners are usually the same; skip a repeat of a recent key. */
	for (size_t i = n->n_len; i > 0 && i + 4 > n->n_len; i--)
		if (strcmp(n->n_v[i - 1].sn_name, name) == 0 && strcmp(n->n_v[i - 1].sn_ns, ns) == 0)
			return;
	if (n->n_len == n->n_cap) {
		n->n_cap = n->n_cap ? n->n_cap * 2 : 8;
		n->n_v = xrealloc(n->n_v, n->n_cap * sizeof *n->n_v);
	}
	n->n_v[n->n_len].sn_ns = xstrdup(ns);
	n->n_v[n->n_len].sn_name = xstrdup(name);
	n->n_len++;
}

/* Deliver the collected notes (without the lock held) and free them. */
static void
snotes_flush(struct store *s, struct snotes *n, store_notify_fn fn, void *arg)
{
	(void)s;
	for (size_t i = 0; i < n->n_len; i++) {
		if (fn != NULL)
			fn(arg, n->n_v[i].sn_ns, n->n_v[i].sn_name);
		free(n->n_v[i].sn_ns);
		free(n->n_v[i].sn_name);
	}
	free(n->n_v);
	n->n_v = NULL;
	n->n_len = n->n_cap = 0;
}

static void
store_notes_issuer(struct store *s, const char *group, const char *kind, const char *ns,
    const char *name, struct snotes *n)
{
	char key[STORE_KEY_MAX];
	size_t klen = store_issuer_key(key, sizeof key, group, kind, ns, name);
	struct sgroup *g = klen ? sindex_find(&s->s_idx[IDX_CERT_BY_ISSUER], key, klen) : NULL;
	for (struct sent *e = g ? g->g_head : NULL; e != NULL; e = e->se_gnext)
		snotes_add(n, e->se_rec->m_ns, e->se_rec->m_name);
}

static const struct rec_cr *
store_find_cr(struct store *s, const char *ns, const char *name)
{
	struct sent *e = name ? stable_find(&s->s_tab[RES_CERTIFICATEREQUEST], ns, name) : NULL;
	return e ? (const struct rec_cr *)(const void *)e->se_rec : NULL;
}

static const struct rec_order *
store_find_order(struct store *s, const char *ns, const char *name)
{
	struct sent *e = name ? stable_find(&s->s_tab[RES_ORDER], ns, name) : NULL;
	return e ? (const struct rec_order *)(const void *)e->se_rec : NULL;
}

static void
store_notes_cr(struct store *s, const char *ns, const char *cr, struct snotes *n)
{
	const struct rec_cr *r = store_find_cr(s, ns, cr);
	if (r != NULL && r->r_cert_name != NULL)
		snotes_add(n, ns, r->r_cert_name);
}

static void
store_notes_order(struct store *s, const char *ns, const char *order, struct snotes *n)
{
	const struct rec_order *o = store_find_order(s, ns, order);
	if (o != NULL)
		store_notes_cr(s, ns, o->o_cr_name, n);
}

/* Certificates affected by a change of an object of kind ns/name (an Event's subject). */
static void
store_notes_object(struct store *s, const char *kind, const char *ns, const char *name,
    struct snotes *n)
{
	if (strcmp(kind, "Certificate") == 0) {
		snotes_add(n, ns, name);
	} else if (strcmp(kind, "CertificateRequest") == 0) {
		store_notes_cr(s, ns, name, n);
	} else if (strcmp(kind, "Order") == 0) {
		store_notes_order(s, ns, name, n);
	} else if (strcmp(kind, "Challenge") == 0) {
		struct sent *e = stable_find(&s->s_tab[RES_CHALLENGE], ns, name);
		const struct rec_challenge *ch = e ? (const void *)e->se_rec : NULL;
		if (ch != NULL)
			store_notes_order(s, ns, ch->ch_order_name, n);
	} else if (strcmp(kind, "Issuer") == 0 || strcmp(kind, "ClusterIssuer") == 0) {
		store_notes_issuer(s, REC_CM_GROUP, kind, ns, name, n);
	}
}

/* Certificates whose inputs include rec. */
static void
store_notes_for(struct store *s, const struct rec_meta *rec, struct snotes *n)
{
	switch (rec->m_kind) {
	case RES_CERTIFICATE:
		snotes_add(n, rec->m_ns, rec->m_name);
		break;
	case RES_CERTIFICATEREQUEST: {
		const struct rec_cr *r = (const void *)rec;
		if (r->r_cert_name != NULL)
			snotes_add(n, rec->m_ns, r->r_cert_name);
		break;
	}
	case RES_ORDER:
		store_notes_cr(s, rec->m_ns, ((const struct rec_order *)(const void *)rec)->o_cr_name,
		    n);
		break;
	case RES_CHALLENGE:
		store_notes_order(s, rec->m_ns,
		    ((const struct rec_challenge *)(const void *)rec)->ch_order_name, n);
		break;
	case RES_EVENT: {
		const struct rec_event *ev = (const void *)rec;
		store_notes_object(s, ev->ev_obj_kind, ev->ev_obj_ns, ev->ev_obj_name, n);
		break;
	}
	case RES_ISSUER:
	case RES_CLUSTERISSUER:
		store_notes_issuer(s, REC_CM_GROUP, res_kind_name(rec->m_kind), rec->m_ns,
		    rec->m_name, n);
		break;
	case RES_POD: {
		const struct stable *t = &s->s_tab[RES_CERTIFICATE];
		for (size_t i = 0; i < t->t_nb; i++)
			for (struct sent *e = t->t_b[i]; e != NULL; e = e->se_next)
				snotes_add(n, e->se_rec->m_ns, e->se_rec->m_name);
		break;
	}
	default:
		break;
	}
}

static bool
store_streq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
store_cond_eq(const struct rec_cond *a, const struct rec_cond *b)
{
	/* Reasons are interned in one table, so equal strings are equal pointers. */
	return a->c_status == b->c_status && a->c_reason == b->c_reason &&
	    store_streq(a->c_message, b->c_message) && a->c_ltt == b->c_ltt &&
	    a->c_has_obs_gen == b->c_has_obs_gen && a->c_obs_gen == b->c_obs_gen;
}

/*
 * Whether a change from old to rec can matter to a Certificate. Only the kinds that fan out to
 * many Certificates are compared; for the others any new resourceVersion counts.
 */
static bool
store_changed(const struct rec_meta *old, const struct rec_meta *rec)
{
	if (rec->m_kind == RES_ISSUER || rec->m_kind == RES_CLUSTERISSUER) {
		const struct rec_issuer *a = (const void *)old, *b = (const void *)rec;
		return a->i_type != b->i_type || !store_streq(a->i_acme_server, b->i_acme_server) ||
		    !store_cond_eq(&a->i_ready, &b->i_ready);
	}
	if (rec->m_kind == RES_POD) {
		const struct rec_pod *a = (const void *)old, *b = (const void *)rec;
		return a->p_phase != b->p_phase || a->p_ready != b->p_ready ||
		    a->p_restarts != b->p_restarts || a->p_last_term != b->p_last_term ||
		    a->p_last_term_reason != b->p_last_term_reason ||
		    a->p_start_time != b->p_start_time;
	}
	return true;
}

/* ---- writes ---- */

/* Whether Event a is older than b: by last time, then first time, then name. */
static bool
store_event_older(const struct rec_meta *ma, const struct rec_meta *mb)
{
	const struct rec_event *a = (const void *)ma, *b = (const void *)mb;
	if (a->ev_last != b->ev_last)
		return a->ev_last < b->ev_last;
	if (a->ev_first != b->ev_first)
		return a->ev_first < b->ev_first;
	return strcmp(a->ev_meta.m_name, b->ev_meta.m_name) < 0;
}

/* The oldest Event of a group, the one to drop when the group is over its cap. */
static struct sent *
store_oldest_event(struct sgroup *g)
{
	struct sent *old = g->g_head;
	for (struct sent *e = g->g_head; e != NULL; e = e->se_gnext)
		if (store_event_older(e->se_rec, old->se_rec))
			old = e;
	return old;
}

/*
 * Whether a new Event would be dropped at once because its object already has the maximum of
 * newer ones; a relist brings such Events back every time, and they must not notify.
 */
static bool
store_event_unwanted(struct store *s, const struct rec_meta *rec)
{
	char key[STORE_KEY_MAX];
	size_t klen = store_group_key(rec, key, sizeof key);
	struct sgroup *g = klen ? sindex_find(&s->s_idx[IDX_EV_BY_OBJ], key, klen) : NULL;
	if (g == NULL || g->g_n < STORE_EVENTS_PER_OBJECT)
		return false;
	return store_event_older(rec, store_oldest_event(g)->se_rec);
}

/* Insert or replace rec (taking ownership), collecting notifications. Write lock held. */
static void
store_upsert(struct store *s, struct rec_meta *rec, struct snotes *n)
{
	struct stable *t = &s->s_tab[rec->m_kind];
	struct sent *e = stable_find(t, rec->m_ns, rec->m_name);
	struct rec_meta *old = NULL;
	if (e == NULL && rec->m_kind == RES_EVENT && store_event_unwanted(s, rec)) {
		rec_free(s->s_in, rec);
		return;
	}
	/*
	 * certcast's own Events are its output, never its input (store.h): kept, each one it posts
	 * would wake the reconcile of the Certificate it is about, a loop that only the Event
	 * writer's spam filter would bound, and scoring would take certcast's words as evidence.
	 * The API server leaves them out of the watches already (resource.c); this covers saved
	 * lists (scan) and servers that cannot.
	 */
	if (rec->m_kind == RES_EVENT && ((const struct rec_event *)(const void *)rec)->ev_own) {
		if (e != NULL) { /* its name held another Event before: that one is gone */
			store_notes_for(s, e->se_rec, n);
			store_remove(s, e);
		}
		rec_free(s->s_in, rec);
		return;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof *e);
		e->se_hash = store_hash_key(rec->m_ns, rec->m_name);
		e->se_rec = rec;
		stable_insert(t, e);
	} else {
		old = e->se_rec;
	}
	if (old == NULL || store_changed(old, rec)) {
		/* The old record's links first: a CertificateRequest may have moved. */
		if (old != NULL)
			store_notes_for(s, old, n);
		e->se_rec = rec;
		store_notes_for(s, rec, n);
	}
	e->se_rec = rec;
	if (old != NULL)
		rec_free(s->s_in, old);
	store_regroup(s, e);
	if (rec->m_kind == RES_EVENT && e->se_grp != NULL &&
	    e->se_grp->g_n > STORE_EVENTS_PER_OBJECT)
		store_remove(s, store_oldest_event(e->se_grp));
}

/* A printable copy of an object name for messages (names from the API are already clean). */
static void
store_clean(const char *s, char *buf, size_t len)
{
	size_t i = 0;
	for (; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
}

static void
store_errf(char *errbuf, size_t errlen, enum res_kind kind, const struct dec_key *key,
    const char *msg)
{
	char ns[80], name[280];
	if (errbuf == NULL || errlen == 0)
		return;
	if (key == NULL) {
		snprintf(errbuf, errlen, "%s: %s", res_kind_name(kind), msg);
		return;
	}
	store_clean(key->k_ns, ns, sizeof ns);
	store_clean(key->k_name, name, sizeof name);
	if (ns[0] != '\0')
		snprintf(errbuf, errlen, "%s %s/%s: %s", res_kind_name(kind), ns, name, msg);
	else
		snprintf(errbuf, errlen, "%s %s: %s", res_kind_name(kind), name, msg);
}

static void
store_own_free(struct sown *o)
{
	free(o->o_ns);
	free(o->o_name);
	free(o->o_rv);
	for (size_t i = 0; i < o->o_n; i++) {
		free(o->o_keys[i]);
		free(o->o_vals[i]);
	}
	free(o->o_keys);
	free(o->o_vals);
	free(o);
}

/* Write lock held. The link to ns/name's mark, or to the list's end (*pp NULL). */
static struct sown **
store_own_find(struct store *s, const char *ns, const char *name)
{
	struct sown **pp = &s->s_own;
	while (*pp && (strcmp((*pp)->o_name, name) != 0 || strcmp((*pp)->o_ns, ns) != 0))
		pp = &(*pp)->o_next;
	return pp;
}

static void
store_own_unlink(struct store *s, struct sown **pp)
{
	struct sown *o = *pp;
	*pp = o->o_next;
	store_own_free(o);
	s->s_nown--;
}

/* Write lock held. Puts o first, in place of ns/name's older mark; the oldest goes past the cap. */
static void
store_own_insert(struct store *s, struct sown *o)
{
	struct sown **pp = store_own_find(s, o->o_ns, o->o_name);
	if (*pp)
		store_own_unlink(s, pp); /* one mark per object: the newest write's */
	o->o_next = s->s_own;
	s->s_own = o;
	if (++s->s_nown > STORE_OWN_MAX) {
		pp = &s->s_own;
		while ((*pp)->o_next)
			pp = &(*pp)->o_next;
		store_own_unlink(s, pp);
	}
}

/* Whether c (NULL: none) carries every annotation of o as o sets it. */
static bool
store_own_matches(const struct sown *o, const struct rec_cert *c)
{
	if (c == NULL || o->o_n == 0)
		return false;
	for (size_t i = 0; i < o->o_n; i++) {
		const char *v = rec_cert_annot(c, o->o_keys[i]);
		if (o->o_vals[i] == NULL ? v != NULL : v == NULL || strcmp(v, o->o_vals[i]) != 0)
			return false;
	}
	return true;
}

/*
 * Write lock held. Whether the event bringing Certificate ns/name at rv (record now, the stored
 * one before it old, NULL for none) is an own write's. It is when rv is the one the answer gave,
 * or, before the answer, when this event is the one that gave the object the write's
 * annotations: they were not all there before and are now. Nobody else writes those values, so
 * that change is the write's, whichever event brings it first; an event of someone else's
 * before or after it changes something else and leaves the mark waiting. A recognised mark goes
 * (or waits for its answer, which then removes it); an unclaimed one expires.
 */
static int
store_own_take(struct store *s, const char *ns, const char *name, const char *rv,
    const struct rec_cert *old, const struct rec_cert *now)
{
	struct sown **pp = store_own_find(s, ns, name);
	struct sown *o = *pp;
	if (o == NULL)
		return 0;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (t.tv_sec - o->o_at.tv_sec > STORE_OWN_TTL) {
		store_own_unlink(s, pp);
		return 0;
	}
	int mine = o->o_rv[0] ? strcmp(o->o_rv, rv) == 0
			      : !o->o_seen && store_own_matches(o, now) && !store_own_matches(o, old);
	if (!mine)
		return 0;
	if (o->o_rv[0])
		store_own_unlink(s, pp);
	else
		o->o_seen = 1;
	return 1;
}

void
store_expect_own(struct store *s, const char *ns, const char *name, const char *const *keys,
    const char *const *vals, size_t n)
{
	struct sown *o = xcalloc(1, sizeof *o);
	o->o_ns = xstrdup(ns);
	o->o_name = xstrdup(name);
	o->o_rv = xstrdup("");
	o->o_keys = xcalloc(n ? n : 1, sizeof *o->o_keys);
	o->o_vals = xcalloc(n ? n : 1, sizeof *o->o_vals);
	for (size_t i = 0; i < n; i++) {
		o->o_keys[i] = xstrdup(keys[i]);
		o->o_vals[i] = vals[i] ? xstrdup(vals[i]) : NULL;
	}
	o->o_n = n;
	clock_gettime(CLOCK_MONOTONIC, &o->o_at);
	pthread_rwlock_wrlock(&s->s_lock);
	store_own_insert(s, o);
	pthread_rwlock_unlock(&s->s_lock);
}

void
store_mark_own(struct store *s, const char *ns, const char *name, const char *rv)
{
	pthread_rwlock_wrlock(&s->s_lock);
	struct sown **pp = store_own_find(s, ns, name);
	if (rv == NULL || rv[0] == '\0') {
		/* the write failed, or its answer named no version: nothing more to recognise */
		if (*pp)
			store_own_unlink(s, pp);
	} else if (*pp && (*pp)->o_seen) {
		store_own_unlink(s, pp); /* its event came first and was recognised */
	} else if (*pp) {
		free((*pp)->o_rv);
		(*pp)->o_rv = xstrdup(rv);
	} else {
		struct sown *o = xcalloc(1, sizeof *o);
		o->o_ns = xstrdup(ns);
		o->o_name = xstrdup(name);
		o->o_rv = xstrdup(rv);
		clock_gettime(CLOCK_MONOTONIC, &o->o_at);
		store_own_insert(s, o);
	}
	pthread_rwlock_unlock(&s->s_lock);
}

int
store_apply(struct store *s, const struct res_desc *d, enum store_event ev, const cJSON *obj,
    char *errbuf, size_t errlen)
{
	enum res_kind kind = d->rd_kind;
	struct snotes n = {0};
	struct dec_key key;
	char err[512];
	void *rec = NULL;
	struct sent *e;
	store_notify_fn fn;
	void *arg;
	int rc = dec_key(kind, obj, &key, err, sizeof err);
	if (rc != CC_OK) {
		store_errf(errbuf, errlen, kind, NULL, err);
		return rc;
	}
	if (ev == STORE_DELETED) {
		pthread_rwlock_wrlock(&s->s_lock);
		e = stable_find(&s->s_tab[kind], key.k_ns, key.k_name);
		if (e != NULL) {
			store_notes_for(s, e->se_rec, &n);
			store_remove(s, e);
		}
		fn = s->s_notify;
		arg = s->s_notify_arg;
		pthread_rwlock_unlock(&s->s_lock);
		snotes_flush(s, &n, fn, arg);
		return CC_OK;
	}
	/* A relist brings back objects unchanged; those need no decoding and no notification. */
	if (key.k_rv[0] != '\0') {
		pthread_rwlock_wrlock(&s->s_lock);
		e = stable_find(&s->s_tab[kind], key.k_ns, key.k_name);
		bool same = e != NULL && strcmp(e->se_rec->m_rv, key.k_rv) == 0;
		if (same) {
			e->se_rec->m_seen = ++s->s_tick;
			e->se_rec->m_desc = d->rd_id;
		}
		pthread_rwlock_unlock(&s->s_lock);
		if (same)
			return CC_OK;
	}
	rc = dec_record(s->s_in, kind, obj, &rec, err, sizeof err);
	pthread_rwlock_wrlock(&s->s_lock);
	if (rc != CC_OK) {
		/* The object still exists, so a relist must keep its last good record. */
		e = stable_find(&s->s_tab[kind], key.k_ns, key.k_name);
		if (e != NULL)
			e->se_rec->m_seen = ++s->s_tick;
		pthread_rwlock_unlock(&s->s_lock);
		store_errf(errbuf, errlen, kind, &key, err);
		return rc;
	}
	struct rec_meta *m = rec;
	m->m_desc = d->rd_id;
	m->m_seen = ++s->s_tick;
	/* a Certificate notifies only itself, so the event of an own write notifies nobody */
	int own = 0;
	if (kind == RES_CERTIFICATE && s->s_own != NULL) {
		struct sent *was = stable_find(&s->s_tab[kind], key.k_ns, key.k_name);
		own = store_own_take(s, key.k_ns, key.k_name, key.k_rv,
		    was ? (const struct rec_cert *)was->se_rec : NULL, (const struct rec_cert *)rec);
	}
	store_upsert(s, m, &n);
	fn = s->s_notify;
	arg = s->s_notify_arg;
	pthread_rwlock_unlock(&s->s_lock);
	snotes_flush(s, &n, own ? NULL : fn, arg);
	return CC_OK;
}

uint64_t
store_relist_begin(struct store *s, const struct res_desc *d)
{
	(void)d;
	pthread_rwlock_wrlock(&s->s_lock);
	uint64_t gen = ++s->s_tick;
	pthread_rwlock_unlock(&s->s_lock);
	return gen;
}

void
store_relist_end(struct store *s, const struct res_desc *d, uint64_t gen)
{
	struct snotes n = {0};
	struct sent **gone = NULL;
	size_t ngone = 0, cap = 0;
	pthread_rwlock_wrlock(&s->s_lock);
	struct stable *t = &s->s_tab[d->rd_kind];
	for (size_t i = 0; i < t->t_nb; i++) {
		for (struct sent *e = t->t_b[i]; e != NULL; e = e->se_next) {
			if (e->se_rec->m_desc != d->rd_id || e->se_rec->m_seen > gen)
				continue;
			if (ngone == cap) {
				cap = cap ? cap * 2 : 16;
				gone = xrealloc(gone, cap * sizeof *gone);
			}
			gone[ngone++] = e;
		}
	}
	/* Notes first, while every link can still be resolved; then the removals. */
	for (size_t i = 0; i < ngone; i++)
		store_notes_for(s, gone[i]->se_rec, &n);
	for (size_t i = 0; i < ngone; i++)
		store_remove(s, gone[i]);
	store_notify_fn fn = s->s_notify;
	void *arg = s->s_notify_arg;
	pthread_rwlock_unlock(&s->s_lock);
	if (ngone > 0)
		log_info("%s: relist removed %zu vanished objects", d->rd_name, ngone);
	free(gone);
	snotes_flush(s, &n, fn, arg);
}

/* ---- life cycle ---- */

struct store *
store_new(void)
{
	struct store *s = xcalloc(1, sizeof *s);
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* Reflectors must not starve behind a steady stream of readers. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	if (pthread_rwlock_init(&s->s_lock, &attr) != 0)
		fatalx("pthread_rwlock_init failed");
	pthread_rwlockattr_destroy(&attr);
	s->s_in = intern_new();
	for (int k = 0; k < RES_KIND_COUNT; k++)
		stable_init(&s->s_tab[k]);
	for (int x = 0; x < IDX_COUNT; x++)
		sindex_init(&s->s_idx[x]);
	return s;
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	for (struct sown *o = s->s_own, *nx; o; o = nx) {
		nx = o->o_next;
		store_own_free(o);
	}
	for (int k = 0; k < RES_KIND_COUNT; k++) {
		struct stable *t = &s->s_tab[k];
		for (size_t i = 0; i < t->t_nb; i++) {
			struct sent *e = t->t_b[i], *next;
			for (; e != NULL; e = next) {
				next = e->se_next;
				rec_free(s->s_in, e->se_rec);
				free(e);
			}
		}
		free(t->t_b);
	}
	for (int x = 0; x < IDX_COUNT; x++) {
		struct sindex *ix = &s->s_idx[x];
		for (size_t i = 0; i < ix->x_nb; i++) {
			struct sgroup *g = ix->x_b[i], *next;
			for (; g != NULL; g = next) {
				next = g->g_next;
				free(g);
			}
		}
		free(ix->x_b);
	}
	intern_free(s->s_in);
	pthread_rwlock_destroy(&s->s_lock);
	free(s);
}

void
store_set_notify(struct store *s, store_notify_fn fn, void *arg)
{
	pthread_rwlock_wrlock(&s->s_lock);
	s->s_notify = fn;
	s->s_notify_arg = arg;
	pthread_rwlock_unlock(&s->s_lock);
}

/* ---- reads ---- */

void
store_rdlock(struct store *s)
{
	pthread_rwlock_rdlock(&s->s_lock);
}

void
store_unlock(struct store *s)
{
	pthread_rwlock_unlock(&s->s_lock);
}

size_t
store_count(struct store *s, enum res_kind kind)
{
	if ((int)kind < 0 || kind >= RES_KIND_COUNT)
		return 0;
	return s->s_tab[kind].t_n;
}

static const void *
store_get(struct store *s, enum res_kind kind, const char *ns, const char *name)
{
	if (ns == NULL || name == NULL)
		return NULL;
	struct sent *e = stable_find(&s->s_tab[kind], ns, name);
	return e ? e->se_rec : NULL;
}

const struct rec_cert *
store_cert_get(struct store *s, const char *ns, const char *name)
{
	return store_get(s, RES_CERTIFICATE, ns, name);
}

const struct rec_cr *
store_cr_get(struct store *s, const char *ns, const char *name)
{
	return store_get(s, RES_CERTIFICATEREQUEST, ns, name);
}

const struct rec_order *
store_order_get(struct store *s, const char *ns, const char *name)
{
	return store_get(s, RES_ORDER, ns, name);
}

const struct rec_issuer *
store_issuer_get(struct store *s, enum res_kind kind, const char *ns, const char *name)
{
	if (kind == RES_CLUSTERISSUER)
		return store_get(s, kind, "", name);
	if (kind != RES_ISSUER)
		return NULL;
	return store_get(s, kind, ns, name);
}

const struct rec_issuer *
store_cert_issuer(struct store *s, const struct rec_cert *c)
{
	if (!rec_ref_is_cm(&c->c_issuer))
		return NULL;
	if (strcmp(c->c_issuer.rf_kind, "ClusterIssuer") == 0)
		return store_get(s, RES_CLUSTERISSUER, "", c->c_issuer.rf_name);
	return store_get(s, RES_ISSUER, c->c_meta.m_ns, c->c_issuer.rf_name);
}

enum rec_issuer_type
store_cert_issuer_type(struct store *s, const struct rec_cert *c)
{
	if (c->c_issuer.rf_group != NULL && strcmp(c->c_issuer.rf_group, REC_CM_GROUP) != 0)
		return REC_ISSUER_EXTERNAL;
	const struct rec_issuer *is = store_cert_issuer(s, c);
	return is != NULL ? is->i_type : REC_ISSUER_UNKNOWN;
}

const void *
store_next(struct store *s, enum res_kind kind, struct store_iter *it)
{
	if ((int)kind < 0 || kind >= RES_KIND_COUNT)
		return NULL;
	const struct stable *t = &s->s_tab[kind];
	const struct sent *e = it->it_entry;
	if (e != NULL)
		e = e->se_next;
	while (e == NULL && it->it_bucket < t->t_nb)
		e = t->t_b[it->it_bucket++];
	it->it_entry = e;
	return e ? e->se_rec : NULL;
}

const struct rec_cert *
store_cert_next(struct store *s, const char *ns, struct store_iter *it)
{
	const struct rec_cert *c;
	while ((c = store_next(s, RES_CERTIFICATE, it)) != NULL)
		if (ns == NULL || strcmp(c->c_meta.m_ns, ns) == 0)
			return c;
	return NULL;
}

typedef int (*store_cmp_fn)(const void *, const void *);

/*
 * Copy the members of the group under key into out, sorted by cmp, at most max of them.
 * Returns the member count.
 */
static size_t
store_group_list(struct store *s, enum store_idx xi, const char *key, size_t klen,
    store_cmp_fn cmp, const void **out, size_t max)
{
	struct sgroup *g = klen ? sindex_find(&s->s_idx[xi], key, klen) : NULL;
	if (g == NULL)
		return 0;
	size_t n = g->g_n, i = 0;
	if (max == 0)
		return n;
	const void **all = xmalloc(n * sizeof *all);
	for (struct sent *e = g->g_head; e != NULL; e = e->se_gnext)
		all[i++] = e->se_rec;
	if (cmp != NULL)
		qsort(all, n, sizeof *all, cmp);
	memcpy(out, all, (n < max ? n : max) * sizeof *all);
	free(all);
	return n;
}

/* Newer first: larger a before smaller. */
static int
store_desc64(int64_t a, int64_t b)
{
	return a > b ? -1 : a < b ? 1 : 0;
}

static int
store_cmp_cr(const void *pa, const void *pb)
{
	const struct rec_cr *a = *(const void *const *)pa, *b = *(const void *const *)pb;
	int c = store_desc64(a->r_meta.m_created, b->r_meta.m_created);
	if (c == 0)
		c = store_desc64(a->r_has_revision ? a->r_revision : -1,
		    b->r_has_revision ? b->r_revision : -1);
	return c != 0 ? c : -strcmp(a->r_meta.m_name, b->r_meta.m_name);
}

static int
store_cmp_order(const void *pa, const void *pb)
{
	const struct rec_order *a = *(const void *const *)pa, *b = *(const void *const *)pb;
	int c = store_desc64(a->o_meta.m_created, b->o_meta.m_created);
	return c != 0 ? c : -strcmp(a->o_meta.m_name, b->o_meta.m_name);
}

static int
store_cmp_challenge(const void *pa, const void *pb)
{
	const struct rec_challenge *a = *(const void *const *)pa, *b = *(const void *const *)pb;
	return strcmp(a->ch_meta.m_name, b->ch_meta.m_name);
}

static int
store_cmp_event(const void *pa, const void *pb)
{
	const struct rec_event *a = *(const void *const *)pa, *b = *(const void *const *)pb;
	int c = store_desc64(a->ev_last, b->ev_last);
	if (c == 0)
		c = store_desc64(a->ev_first, b->ev_first);
	return c != 0 ? c : -strcmp(a->ev_meta.m_name, b->ev_meta.m_name);
}

size_t
store_cert_crs(struct store *s, const char *ns, const char *name, const struct rec_cr **out,
    size_t max)
{
	char key[STORE_KEY_MAX];
	size_t klen = store_pair_key(key, sizeof key, ns, name);
	return store_group_list(s, IDX_CR_BY_CERT, key, klen, store_cmp_cr, (const void **)out,
	    max);
}

size_t
store_cr_orders(struct store *s, const char *ns, const char *name, const struct rec_order **out,
    size_t max)
{
	char key[STORE_KEY_MAX];
	size_t klen = store_pair_key(key, sizeof key, ns, name);
	return store_group_list(s, IDX_ORDER_BY_CR, key, klen, store_cmp_order,
	    (const void **)out, max);
}

size_t
store_order_challenges(struct store *s, const char *ns, const char *name,
    const struct rec_challenge **out, size_t max)
{
	char key[STORE_KEY_MAX];
	size_t klen = store_pair_key(key, sizeof key, ns, name);
	return store_group_list(s, IDX_CH_BY_ORDER, key, klen, store_cmp_challenge,
	    (const void **)out, max);
}

size_t
store_events_of(struct store *s, const char *kind, const char *ns, const char *name,
    const struct rec_event **out, size_t max)
{
	char key[STORE_KEY_MAX];
	size_t klen = store_obj_key(key, sizeof key, kind, ns, name);
	return store_group_list(s, IDX_EV_BY_OBJ, key, klen, store_cmp_event, (const void **)out,
	    max);
}

size_t
store_issuer_certs(struct store *s, const char *group, const char *kind, const char *ns,
    const char *name, const struct rec_cert **out, size_t max)
{
	char key[STORE_KEY_MAX];
	size_t klen = store_issuer_key(key, sizeof key, group ? group : REC_CM_GROUP, kind,
	    ns ? ns : "", name);
	return store_group_list(s, IDX_CERT_BY_ISSUER, key, klen, NULL, (const void **)out, max);
}
