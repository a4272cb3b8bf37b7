/*
 * budget: ACME issuance counts from the store's CertificateRequests (see budget.h).
 *
 * Two kinds of table, both chained hashes keyed by strings: the parse cache (request UID ->
 * its certificate's identifier set, registered domains and issuance time, with the
 * resourceVersion it was read at) kept across recounts, and the tallies of one recount
 * ("CA \x1f set" -> certificates of that exact set; "CA \x1f domain" -> the new certificates
 * of that registered domain and the Certificates waiting for its slots), rebuilt by each
 * recount. The CA is the host of the issuer's ACME server URL. Two more tables of the same keys
 * hold every issuance the recount met, in the window or before it (sets: all; domains: the
 * first of each set), for the books at a refusal (bg_lookup_at); kept apart so that the
 * window's tallies, and which of them a lookup picks, are what they were without them.
 */
#include "budget.h"

#include "budgetq.h"
#include "cc_err.h"
#include "certparse.h"
#include "hash.h"
#include "log.h"
#include "psl.h"
#include "records.h"
#include "resource.h"
#include "signals.h"
#include "store.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* First member of every table entry. */
struct bg_link {
	char *l_key;
	struct bg_link *l_next;
};

struct bg_tab {
	struct bg_link **t_b;
	size_t t_size, t_n;
};

/* One request's certificate, as the parse left it. */
struct bg_parsed {
	struct bg_link p_link;  /* key: the request's UID (ns/name when it has none) */
	char *p_rv;             /* resourceVersion it was parsed at */
	int p_ok;               /* the certificate parsed */
	char *p_set;            /* identifier set: sorted, lower case, comma-separated */
	char **p_domains;       /* registered domains among its names, without repeats */
	size_t p_ndomains;
	int64_t p_nb;           /* issuance: notBefore, or the request's Ready time if later */
	uint64_t p_seen;        /* recount that last met it */
};

/* A Certificate whose next order asks for a set of names its CA never issued. */
struct bg_waiter {
	char *w_key;            /* "ns/name" */
	struct bq_cert w_q;     /* its attempts as cert-manager will make them (budgetq.h) */
};

/* A tally of one recount. */
struct bg_tally {
	struct bg_link t_link;  /* "CA \x1f set" or "CA \x1f domain" */
	uint32_t t_count;       /* sets: certificates in the window */
	int64_t t_oldest;       /* sets: the oldest of them */
	int64_t *t_times;       /* domains: new certificates in the window, ascending */
	size_t t_n, t_cap;
	struct bg_waiter *t_wait; /* domains: Certificates whose next order is a new set */
	size_t t_nwait, t_capwait;
	int t_projected;        /* domains: the waiters' bc_slot hold the queue projection */
};

struct bg_book {
	pthread_mutex_t b_mu;
	const struct psl *b_psl;   /* borrowed or b_own_psl */
	struct psl *b_own_psl;
	int64_t b_window, b_ttl;
	int64_t b_counted;         /* when the last complete recount was made, 0 never */
	size_t b_max_parses;       /* parses per bg_refresh, 0: no limit */
	int b_ready;               /* a recount has completed: the tallies hold every request */
	uint64_t b_tick;           /* recounts made */
	struct bg_tab b_cache;     /* of struct bg_parsed */
	struct bg_tab b_sets;      /* of struct bg_tally */
	struct bg_tab b_doms;      /* of struct bg_tally */
	struct bg_tab b_hsets;     /* of struct bg_tally: t_times holds every issuance of a set */
	struct bg_tab b_hdoms;     /* ... every new-set issuance of a registered domain */
	char *b_key;               /* scratch for tally keys */
	size_t b_keycap;
};

/* ---- tables ------------------------------------------------------------------------------ */

static size_t
bg_hash(const char *s, size_t size)
{
	return (size_t)(hash_str(s) & (size - 1));
}

static struct bg_link *
bg_tab_get(const struct bg_tab *t, const char *key)
{
	if (t->t_size == 0)
		return NULL;
	for (struct bg_link *l = t->t_b[bg_hash(key, t->t_size)]; l; l = l->l_next)
		if (strcmp(l->l_key, key) == 0)
			return l;
	return NULL;
}

static void
bg_tab_put(struct bg_tab *t, struct bg_link *l)
{
	if (t->t_n + 1 > t->t_size) {
		size_t size = t->t_size ? t->t_size * 2 : 256;
		struct bg_link **b = xcalloc(size, sizeof *b);
		for (size_t i = 0; i < t->t_size; i++) {
			struct bg_link *x = t->t_b[i];
			while (x) {
				struct bg_link *next = x->l_next;
				size_t h = bg_hash(x->l_key, size);
				x->l_next = b[h];
				b[h] = x;
				x = next;
			}
		}
		free(t->t_b);
		t->t_b = b;
		t->t_size = size;
	}
	size_t h = bg_hash(l->l_key, t->t_size);
	l->l_next = t->t_b[h];
	t->t_b[h] = l;
	t->t_n++;
}

static void
bg_parsed_clear(struct bg_parsed *p)
{
	free(p->p_rv);
	free(p->p_set);
	for (size_t i = 0; i < p->p_ndomains; i++)
		free(p->p_domains[i]);
	free(p->p_domains);
	p->p_rv = p->p_set = NULL;
	p->p_domains = NULL;
	p->p_ndomains = 0;
	p->p_ok = 0;
	p->p_nb = 0;
}

static void
bg_parsed_free(struct bg_link *l)
{
	struct bg_parsed *p = (struct bg_parsed *)l;
	bg_parsed_clear(p);
	free(l->l_key);
	free(p);
}

static void
bg_tally_free(struct bg_link *l)
{
	struct bg_tally *y = (struct bg_tally *)l;
	for (size_t i = 0; i < y->t_nwait; i++)
		free(y->t_wait[i].w_key);
	free(y->t_wait);
	free(((struct bg_tally *)l)->t_times);
	free(l->l_key);
	free(l);
}

/* Frees every entry for which keep (NULL: none) says no, with fr. */
static void
bg_tab_sweep(struct bg_tab *t, void (*fr)(struct bg_link *), int (*keep)(struct bg_link *, uint64_t),
    uint64_t arg)
{
	for (size_t i = 0; i < t->t_size; i++) {
		struct bg_link **pp = &t->t_b[i];
		while (*pp) {
			struct bg_link *l = *pp;
			if (keep && keep(l, arg)) {
				pp = &l->l_next;
				continue;
			}
			*pp = l->l_next;
			fr(l);
			t->t_n--;
		}
	}
}

static void
bg_tab_free(struct bg_tab *t, void (*fr)(struct bg_link *))
{
	bg_tab_sweep(t, fr, NULL, 0);
	free(t->t_b);
	memset(t, 0, sizeof *t);
}

static int
bg_parsed_seen(struct bg_link *l, uint64_t tick)
{
	return ((struct bg_parsed *)l)->p_seen == tick;
}

/* ---- identifiers ------------------------------------------------------------------------- */

static int
bg_strcmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A name as the CA compares it: lower case, no trailing dot. Owned. */
static char *
bg_norm(const char *s)
{
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		n--;
	char *o = xstrndup(s, n);
	for (char *p = o; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return o;
}

/*
 * Sorts v[0..n) (owned strings), drops repeats and empty names (freeing them), and returns the
 * set joined with ',' (owned; "" when none is left).
 */
static char *
bg_join_set(char **v, size_t n)
{
	size_t k = 0, len = 1;
	qsort(v, n, sizeof *v, bg_strcmp);
	for (size_t i = 0; i < n; i++) {
		if (v[i][0] == '\0' || (k > 0 && strcmp(v[k - 1], v[i]) == 0)) {
			free(v[i]);
			continue;
		}
		v[k++] = v[i];
		len += strlen(v[i]) + 1;
	}
	char *o = xmalloc(len), *p = o;
	for (size_t i = 0; i < k; i++) {
		size_t l = strlen(v[i]);
		if (i > 0)
			*p++ = ',';
		memcpy(p, v[i], l);
		p += l;
		free(v[i]);
	}
	*p = '\0';
	return o;
}

/* Adds the registered domain of name to the owned list *v (no repeats); 0 when unplaceable. */
static int
bg_add_domain(const struct psl *psl, const char *name, char ***v, size_t *n)
{
	char reg[BG_DOMAIN_MAX];
	if (psl_registered(psl, name, reg, sizeof reg, NULL, 0) < 0)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], reg) == 0)
			return 1;
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = xstrdup(reg);
	return 1;
}

/* Fills p (cleared first) from r at its resourceVersion and its parsed certificate pc (NULL:
 * it did not parse). */
static void
bg_fill(const struct bg_book *b, const struct rec_cr *r, const struct cp_cert *pc,
    struct bg_parsed *p)
{
	bg_parsed_clear(p);
	p->p_rv = xstrdup(r->r_meta.m_rv);
	if (pc == NULL)
		return;
	char **names = xcalloc(pc->c_nsans ? pc->c_nsans : 1, sizeof *names);
	size_t n = 0;
	for (size_t i = 0; i < pc->c_nsans; i++) {
		const struct cp_san *s = &pc->c_sans[i];
		if (s->s_type != CP_SAN_DNS && s->s_type != CP_SAN_IP)
			continue;
		names[n++] = bg_norm(s->s_value);
		/* an IPv4 address is its own "registered domain" to Let's Encrypt */
		if (s->s_type == CP_SAN_IP && strchr(s->s_value, ':') == NULL) {
			p->p_domains = xrealloc(p->p_domains, (p->p_ndomains + 1) * sizeof(char *));
			p->p_domains[p->p_ndomains++] = xstrdup(s->s_value);
		} else if (s->s_type == CP_SAN_DNS) {
			(void)bg_add_domain(b->b_psl, names[n - 1], &p->p_domains, &p->p_ndomains);
		}
	}
	p->p_set = bg_join_set(names, n);
	free(names);
	/*
	 * The issuance time. CAs backdate notBefore (Boulder's own test configuration by an hour),
	 * so notBefore alone would let a certificate leave the count before it leaves the CA's;
	 * the request's Ready=True transition comes after the issuance, never before it.
	 */
	p->p_nb = pc->c_not_before;
	if (r->r_ready.c_status == REC_COND_TRUE && r->r_ready.c_ltt > p->p_nb)
		p->p_nb = r->r_ready.c_ltt;
	p->p_ok = 1;
}

/* Reads r's certificate into p. */
static void
bg_parse(const struct bg_book *b, const struct rec_cr *r, struct bg_parsed *p)
{
	struct cp_cert *pc = NULL;
	char err[200] = "";
	if (cp_parse(r->r_der, r->r_der_len, &pc, err, sizeof err) != SC_OK) {
		log_warn("CertificateRequest %s/%s: issued certificate does not parse, not counted "
			 "in ACME budgets: %s", r->r_meta.m_ns, r->r_meta.m_name, err);
		pc = NULL;
	}
	bg_fill(b, r, pc, p);
	cp_free(pc);
}

/* The cache key of r: its UID, else ns/name. Owned. */
static char *
bg_key(const struct rec_cr *r)
{
	return r->r_meta.m_uid[0] ? xstrdup(r->r_meta.m_uid)
				  : xasprintf("%s/%s", r->r_meta.m_ns, r->r_meta.m_name);
}

/* The cache entry of r, made empty when there is none. */
static struct bg_parsed *
bg_entry(struct bg_book *b, const struct rec_cr *r)
{
	/* a recount looks every request up: no allocation when it has a UID and an entry */
	struct bg_parsed *p = NULL;
	if (r->r_meta.m_uid[0])
		p = (struct bg_parsed *)bg_tab_get(&b->b_cache, r->r_meta.m_uid);
	if (p != NULL)
		return p;
	char *key = bg_key(r);
	p = (struct bg_parsed *)bg_tab_get(&b->b_cache, key);
	if (p != NULL) {
		free(key);
		return p;
	}
	p = xcalloc(1, sizeof *p);
	p->p_link.l_key = key;
	bg_tab_put(&b->b_cache, &p->p_link);
	return p;
}

void
bg_note(struct bg_book *b, const struct rec_cr *r, const struct cp_cert *pc)
{
	if (b == NULL || b->b_psl == NULL || r->r_der_len == 0)
		return;
	pthread_mutex_lock(&b->b_mu);
	struct bg_parsed *p = bg_entry(b, r);
	if (p->p_rv == NULL || strcmp(p->p_rv, r->r_meta.m_rv) != 0)
		bg_fill(b, r, pc, p);
	pthread_mutex_unlock(&b->b_mu);
}

/* ---- the book ---------------------------------------------------------------------------- */

struct bg_book *
bg_new(const struct psl *psl, int64_t window, int64_t ttl)
{
	struct bg_book *b = xcalloc(1, sizeof *b);
	pthread_mutex_init(&b->b_mu, NULL);
	b->b_psl = psl;
	b->b_window = window > 0 ? window : BG_WINDOW;
	b->b_ttl = ttl > 0 ? ttl : 0;
	return b;
}

struct bg_book *
bg_open(const char *path, int64_t window, int64_t ttl)
{
	struct psl *p = NULL;
	char err[512];
	if (psl_load(path, &p, err, sizeof err) != CC_OK) {
		log_warn("public suffix list unusable, ACME rate-limit budgets are off: %s "
			 "(install the Debian package publicsuffix or set publicSuffixList)", err);
		p = NULL;
	}
	struct bg_book *b = bg_new(p, window, ttl);
	b->b_own_psl = p;
	return b;
}

void
bg_free(struct bg_book *b)
{
	if (b == NULL)
		return;
	bg_tab_free(&b->b_cache, bg_parsed_free);
	bg_tab_free(&b->b_sets, bg_tally_free);
	bg_tab_free(&b->b_doms, bg_tally_free);
	bg_tab_free(&b->b_hsets, bg_tally_free);
	bg_tab_free(&b->b_hdoms, bg_tally_free);
	psl_free(b->b_own_psl);
	free(b->b_key);
	pthread_mutex_destroy(&b->b_mu);
	free(b);
}

void
bg_set_parse_limit(struct bg_book *b, size_t max)
{
	pthread_mutex_lock(&b->b_mu);
	b->b_max_parses = max;
	pthread_mutex_unlock(&b->b_mu);
}

int
bg_known_ca(const char *server)
{
	char host[256];
	if (server == NULL || sig_url_host(server, host, sizeof host) != 0)
		return 0;
	/* production only: staging's limits are far higher and are not what 50/5 say */
	return strcmp(host, "acme-v02.api.letsencrypt.org") == 0;
}

int
bg_enabled(const struct bg_book *b)
{
	return b != NULL && b->b_psl != NULL;
}

/* One counted certificate of a recount. */
struct bg_item {
	const struct bg_parsed *i_p;
	const char *i_ca;     /* the CA key (bg_ca), owned by the recount's list of CAs */
};

static int
bg_item_cmp(const void *x, const void *y)
{
	const struct bg_item *a = x, *c = y;
	if (a->i_p->p_nb != c->i_p->p_nb)
		return a->i_p->p_nb < c->i_p->p_nb ? -1 : 1;
	return strcmp(a->i_p->p_link.l_key, c->i_p->p_link.l_key);
}

/* The ACME server of r's issuer, or NULL when it is not a known ACME issuer. */
static const char *
bg_server(struct store *st, const struct rec_cr *r)
{
	const struct rec_ref *ref = &r->r_issuer;
	if (ref->rf_name == NULL || !rec_ref_is_cm(ref))
		return NULL;
	int cluster = ref->rf_kind && strcmp(ref->rf_kind, "ClusterIssuer") == 0;
	const struct rec_issuer *ri = store_issuer_get(st, cluster ? RES_CLUSTERISSUER : RES_ISSUER,
	    cluster ? "" : r->r_meta.m_ns, ref->rf_name);
	if (ri == NULL || ri->i_type != REC_ISSUER_ACME || ri->i_acme_server == NULL)
		return NULL;
	return ri->i_acme_server;
}

/*
 * The CA of server, the first part of its counts' keys: its URL's host (lower case, port only
 * when not the default), so ".../directory" and ".../directory/" or an upper-case spelling of
 * one CA share one budget, as they do at the CA. A URL without a host is used as written.
 * Owned.
 */
static char *
bg_ca(const char *server)
{
	char host[256];
	return xstrdup(sig_url_host(server, host, sizeof host) == 0 ? host : server);
}

/* "ca \x1f what" in b's scratch key (valid until the next call). */
static const char *
bg_tally_key(struct bg_book *b, const char *ca, const char *what)
{
	size_t lc = strlen(ca), lw = strlen(what);
	if (lc + lw + 2 > b->b_keycap) {
		b->b_keycap = 2 * (lc + lw + 2);
		b->b_key = xrealloc(b->b_key, b->b_keycap);
	}
	memcpy(b->b_key, ca, lc);
	b->b_key[lc] = '\x1f';
	memcpy(b->b_key + lc + 1, what, lw + 1);
	return b->b_key;
}

static struct bg_tally *
bg_tally_get(struct bg_book *b, struct bg_tab *t, const char *ca, const char *what,
    int *created)
{
	const char *key = bg_tally_key(b, ca, what);
	struct bg_tally *y = (struct bg_tally *)bg_tab_get(t, key);
	*created = y == NULL;
	if (y)
		return y;
	y = xcalloc(1, sizeof *y);
	y->t_link.l_key = xstrdup(key);
	bg_tab_put(t, &y->t_link);
	return y;
}

/* The tally of ca and what in t, or NULL. */
static const struct bg_tally *
bg_tally_find(struct bg_book *b, const struct bg_tab *t, const char *ca, const char *what)
{
	return (const struct bg_tally *)bg_tab_get(t, bg_tally_key(b, ca, what));
}

/*
 * The identifier set (owned, "" when no name is left) and the registered domains (owned list,
 * *nd of them) of names[0..n) as an order would ask for them.
 */
static char *
bg_names(const struct psl *psl, const char *const *names, size_t n, char ***doms, size_t *nd)
{
	char **v = xcalloc(n ? n : 1, sizeof *v);
	*doms = NULL;
	*nd = 0;
	for (size_t i = 0; i < n; i++) {
		v[i] = bg_norm(names[i] ? names[i] : "");
		if (v[i][0])
			(void)bg_add_domain(psl, v[i], doms, nd);
	}
	char *set = bg_join_set(v, n);
	free(v);
	return set;
}

static void
bg_free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The index of server's CA in the recount's list (added when new). */
static size_t
bg_ca_index(const char *server, const char ***srv, char ***cas, size_t *ncas)
{
	size_t ci = 0;
	while (ci < *ncas && (*srv)[ci] != server)
		ci++;
	if (ci == *ncas) {
		*srv = xrealloc(*srv, (*ncas + 1) * sizeof **srv);
		*cas = xrealloc(*cas, (*ncas + 1) * sizeof **cas);
		(*srv)[*ncas] = server;
		(*cas)[(*ncas)++] = bg_ca(server);
	}
	return ci;
}

#define BG_NAMES_MAX 128 /* names of a Certificate considered */
#define BG_ATTEMPT 300   /* an order's start to its outcome, seconds (sc_config's default) */

/*
 * The waiters of each registered domain: the Certificates of ACME issuers that cert-manager is
 * ordering for and whose order asks for a set of names their CA never issued (new
 * Certificates, changed dnsNames). Those orders draw on the domain's budget; renewals do not.
 * cert-manager orders at once (Issuing=True) or when its backoff after the last failure ends.
 */
static void
bg_waiters(struct bg_book *b, struct store *st, int64_t now, const char ***srv, char ***cas,
    size_t *ncas)
{
	struct store_iter it = {0};
	const struct rec_cert *c;
	while ((c = store_cert_next(st, NULL, &it)) != NULL) {
		/*
		 * Only Certificates cert-manager is ordering for now (Issuing=True, none issued
		 * yet) or retrying (failed attempts): a set looks new also when its requests were
		 * pruned, and a valid certificate whose renewal is weeks away is not in the queue.
		 * Checked first: most Certificates are not ordering, and the rest costs more.
		 */
		if (c->c_issuing.c_status != REC_COND_TRUE && c->c_not_after != 0 &&
		    c->c_failed_attempts <= 0)
			continue;
		const struct rec_issuer *ri = store_cert_issuer(st, c);
		if (ri == NULL || ri->i_type != REC_ISSUER_ACME || ri->i_acme_server == NULL)
			continue;
		const char *names[BG_NAMES_MAX];
		size_t nn = 0, nd;
		for (size_t i = 0; i < c->c_ndns && nn < BG_NAMES_MAX - 1; i++)
			names[nn++] = c->c_dns_names[i];
		if (c->c_common_name)
			names[nn++] = c->c_common_name;
		char **doms;
		char *set = bg_names(b->b_psl, names, nn, &doms, &nd);
		size_t ci = bg_ca_index(ri->i_acme_server, srv, cas, ncas); /* may move *cas */
		const char *ca = (*cas)[ci];
		if (nd == 0 || bg_tally_find(b, &b->b_sets, ca, set) != NULL) {
			free(set);
			bg_free_list(doms, nd);
			continue; /* nothing to place, or a renewal */
		}
		struct sc_cert sc;
		memset(&sc, 0, sizeof sc);
		sc.c_failed_attempts = c->c_failed_attempts;
		sc.c_last_failure = c->c_last_failure;
		sc.c_issuing.cd_status = c->c_issuing.c_status == REC_COND_TRUE ? SC_TRUE : SC_FALSE;
		sc.c_issuing.cd_time = c->c_issuing.c_ltt;
		struct bq_cert q = {.bc_next = fc_next_attempt(&sc, now, now),
		    .bc_failed = c->c_failed_attempts, .bc_deadline = c->c_not_after};
		for (size_t d = 0; d < nd; d++) {
			int created;
			struct bg_tally *y = bg_tally_get(b, &b->b_doms, ca, doms[d], &created);
			if (y->t_nwait == y->t_capwait) {
				y->t_capwait = y->t_capwait ? y->t_capwait * 2 : 8;
				y->t_wait = xrealloc(y->t_wait, y->t_capwait * sizeof *y->t_wait);
			}
			y->t_wait[y->t_nwait].w_key = xasprintf("%s/%s", c->c_meta.m_ns,
			    c->c_meta.m_name);
			y->t_wait[y->t_nwait++].w_q = q;
		}
		free(set);
		bg_free_list(doms, nd);
	}
}

static int
bg_waiter_cmp(const void *x, const void *y)
{
	return strcmp(((const struct bg_waiter *)x)->w_key, ((const struct bg_waiter *)y)->w_key);
}

/*
 * Replays the waiters of domain tally y against its counted issuances (budgetq.h), once per
 * recount, and sorts them by key for the lookups. Attempts take BG_ATTEMPT from start to
 * outcome; the replay runs past every waiter's deadline and at least two windows past its
 * next attempt, by when a slot has freed for it unless others keep taking them.
 */
static void
bg_project(struct bg_book *b, struct bg_tally *y)
{
	if (y->t_projected)
		return;
	y->t_projected = 1;
	if (y->t_nwait == 0)
		return;
	struct bq_cert *q = xcalloc(y->t_nwait, sizeof *q);
	for (size_t i = 0; i < y->t_nwait; i++)
		q[i] = y->t_wait[i].w_q;
	struct bq_budget bb = {.bb_used = y->t_times, .bb_nused = y->t_n,
	    .bb_limit = BG_NEW_LIMIT, .bb_window = b->b_window, .bb_attempt = BG_ATTEMPT};
	struct bq_scratch sc = {.bs_heap = xcalloc(y->t_nwait, sizeof(uint32_t)),
	    .bs_issued = xcalloc(y->t_nwait + y->t_n, sizeof(int64_t))};
	/* far enough that a slot of 0 means "not before the deadline", as scoring reads it */
	int64_t horizon = b->b_counted + 2 * b->b_window;
	for (size_t i = 0; i < y->t_nwait; i++) {
		if (q[i].bc_deadline > horizon)
			horizon = q[i].bc_deadline;
		if (q[i].bc_next + 2 * b->b_window > horizon)
			horizon = q[i].bc_next + 2 * b->b_window;
	}
	if (bq_project(q, y->t_nwait, &bb, b->b_counted, horizon, &sc) ==
	    SC_OK)
		for (size_t i = 0; i < y->t_nwait; i++)
			y->t_wait[i].w_q = q[i];
	else
		for (size_t i = 0; i < y->t_nwait; i++)
			y->t_wait[i].w_q.bc_slot = -1; /* no projection */
	qsort(y->t_wait, y->t_nwait, sizeof *y->t_wait, bg_waiter_cmp);
	free(sc.bs_heap);
	free(sc.bs_issued);
	free(q);
}

/* Appends t to y's times (the caller adds them in ascending order). */
static void
bg_times_add(struct bg_tally *y, int64_t t)
{
	if (y->t_n == y->t_cap) {
		y->t_cap = y->t_cap ? y->t_cap * 2 : 8;
		y->t_times = xrealloc(y->t_times, y->t_cap * sizeof *y->t_times);
	}
	y->t_times[y->t_n++] = t;
}

/* How many of y's ascending times (NULL: none) lie in (from, to]. */
static uint32_t
bg_times_in(const struct bg_tally *y, int64_t from, int64_t to)
{
	if (y == NULL)
		return 0;
	size_t lo = 0, hi = y->t_n; /* first time > from */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (y->t_times[mid] <= from)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t first = lo;
	hi = y->t_n; /* first time > to */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (y->t_times[mid] <= to)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)(lo - first);
}

static void
bg_free_cas(char **cas, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cas[i]);
	free(cas);
}

size_t
bg_refresh(struct bg_book *b, struct store *st, int64_t now)
{
	size_t parsed = 0;
	int incomplete = 0;
	pthread_mutex_lock(&b->b_mu);
	if (b->b_psl == NULL ||
	    (b->b_counted != 0 && now >= b->b_counted && now - b->b_counted < b->b_ttl)) {
		pthread_mutex_unlock(&b->b_mu);
		return 0;
	}
	uint64_t tick = ++b->b_tick;
	size_t ncr = store_count(st, RES_CERTIFICATEREQUEST), n = 0;
	struct bg_item *items = xcalloc(ncr ? ncr : 1, sizeof *items);
	struct store_iter it = {0};
	const struct rec_cr *r;
	/* the CAs met, by the issuer's server string (few, and each kept by its issuer record) */
	const char **srv = NULL;
	char **cas = NULL;
	size_t ncas = 0;
	while (n < ncr && (r = store_next(st, RES_CERTIFICATEREQUEST, &it)) != NULL) {
		if (r->r_der_len == 0)
			continue;
		const char *server = bg_server(st, r);
		if (server == NULL)
			continue;
		size_t ci = bg_ca_index(server, &srv, &cas, &ncas);
		struct bg_parsed *p = bg_entry(b, r);
		p->p_seen = tick;
		if (p->p_rv == NULL || strcmp(p->p_rv, r->r_meta.m_rv) != 0) {
			if (b->b_max_parses > 0 && parsed >= b->b_max_parses) {
				incomplete = 1; /* the next call goes on; its parse stays stale */
				continue;
			}
			bg_parse(b, r, p);
			parsed++;
		}
		if (p->p_ok && p->p_set[0] != '\0')
			items[n++] = (struct bg_item){p, cas[ci]};
	}
	/* requests gone from the store leave the cache */
	bg_tab_sweep(&b->b_cache, bg_parsed_free, bg_parsed_seen, tick);
	if (incomplete) {
		/*
		 * Counts from part of the requests would say there is room where there may be
		 * none: the last complete tallies stay (none at first: lookups say "unknown"),
		 * and the recount goes on at the next call whatever the ttl.
		 */
		bg_free_cas(cas, ncas);
		free(srv);
		free(items);
		pthread_mutex_unlock(&b->b_mu);
		return parsed;
	}
	bg_tab_sweep(&b->b_sets, bg_tally_free, NULL, 0);
	bg_tab_sweep(&b->b_doms, bg_tally_free, NULL, 0);
	bg_tab_sweep(&b->b_hsets, bg_tally_free, NULL, 0);
	bg_tab_sweep(&b->b_hdoms, bg_tally_free, NULL, 0);
	qsort(items, n, sizeof *items, bg_item_cmp);
	int64_t since = now - b->b_window;
	for (size_t i = 0; i < n; i++) {
		const struct bg_parsed *p = items[i].i_p;
		int first;
		struct bg_tally *set = bg_tally_get(b, &b->b_sets, items[i].i_ca, p->p_set, &first);
		int created;
		bg_times_add(bg_tally_get(b, &b->b_hsets, items[i].i_ca, p->p_set, &created), p->p_nb);
		for (size_t d = 0; first && d < p->p_ndomains; d++)
			bg_times_add(bg_tally_get(b, &b->b_hdoms, items[i].i_ca, p->p_domains[d],
			    &created), p->p_nb);
		if (p->p_nb <= since)
			continue; /* out of the window; it still makes later ones renewals */
		if (set->t_count++ == 0)
			set->t_oldest = p->p_nb;
		if (!first)
			continue; /* a renewal: exempt from the per-domain limit */
		for (size_t d = 0; d < p->p_ndomains; d++)
			bg_times_add(bg_tally_get(b, &b->b_doms, items[i].i_ca, p->p_domains[d],
			    &created), p->p_nb);
	}
	bg_waiters(b, st, now, &srv, &cas, &ncas);
	bg_free_cas(cas, ncas);
	free(srv);
	free(items);
	b->b_counted = now;
	b->b_ready = 1;
	pthread_mutex_unlock(&b->b_mu);
	return parsed;
}

/* The counts now into out (bg_lookup's part), the fullest domain's name into domain. Locked. */
static void
bg_fill_now(struct bg_book *b, const char *ca, const char *set, char **doms, size_t nd,
    const char *key, struct sc_budget *out, char *domain, size_t domlen)
{
	const struct bg_tally *s = bg_tally_find(b, &b->b_sets, ca, set);
	struct bg_tally *best = NULL;
	size_t bi = 0;
	for (size_t i = 0; i < nd; i++) {
		struct bg_tally *d = (struct bg_tally *)bg_tally_find(b, &b->b_doms, ca, doms[i]);
		if (d && (best == NULL || d->t_n > best->t_n)) {
			best = d;
			bi = i;
		}
	}
	out->bd_valid = 1;
	out->bd_new_used = best ? (uint32_t)best->t_n : 0;
	out->bd_new_limit = BG_NEW_LIMIT;
	out->bd_dup_used = s ? s->t_count : 0;
	out->bd_dup_limit = BG_DUP_LIMIT;
	out->bd_window = b->b_window;
	/* the set tally exists once the set was issued, in the window or before it */
	out->bd_renewal = s != NULL;
	if (best && best->t_n > 0)
		out->bd_refill = best->t_times[0] + b->b_window;
	else if (s && s->t_count > 0)
		out->bd_refill = s->t_oldest + b->b_window;
	if (domain && domlen)
		xstrlcpy(domain, doms[bi], domlen);
	/* a new set waits for a slot of the fullest domain: its place in that queue */
	if (!out->bd_renewal && best != NULL && key != NULL) {
		bg_project(b, best);
		struct bg_waiter k = {.w_key = (char *)key};
		const struct bg_waiter *w = best->t_nwait == 0 ? NULL
		    : bsearch(&k, best->t_wait, best->t_nwait, sizeof k, bg_waiter_cmp);
		if (w != NULL && w->w_q.bc_slot >= 0) {
			out->bd_queue = 1;
			out->bd_slot = w->w_q.bc_slot;
		}
	}
}

/* The books at time at into out (bg_lookup_at's part). Locked. */
static void
bg_fill_at(struct bg_book *b, const char *ca, const char *set, char **doms, size_t nd,
    int64_t at, struct sc_budget *out)
{
	int64_t from = at - b->b_window, to = at + BG_REFUSAL_SLACK;
	uint32_t most = 0;
	for (size_t i = 0; i < nd; i++) {
		uint32_t k = bg_times_in(bg_tally_find(b, &b->b_hdoms, ca, doms[i]), from, to);
		if (k > most)
			most = k;
	}
	out->bd_at_failure = 1;
	out->bd_new_used_at_failure = most;
	out->bd_dup_used_at_failure = bg_times_in(bg_tally_find(b, &b->b_hsets, ca, set), from, to);
}

/*
 * Both lookups: the names read once (the Public Suffix List walk is most of a lookup's cost),
 * one lock, then the counts now (now != 0) and the books at a failure (at > 0).
 */
static int
bg_look(struct bg_book *b, const char *server, const char *key, const char *const *names,
    size_t n, int now, int64_t at, struct sc_budget *out, char *domain, size_t domlen)
{
	if (b == NULL || b->b_psl == NULL || server == NULL || n == 0)
		return 0;
	char **doms;
	size_t nd;
	char *set = bg_names(b->b_psl, names, n, &doms, &nd);
	char *ca = bg_ca(server);
	pthread_mutex_lock(&b->b_mu);
	int ok = nd > 0 && b->b_ready;
	if (ok && now)
		bg_fill_now(b, ca, set, doms, nd, key, out, domain, domlen);
	if (ok && at > 0)
		bg_fill_at(b, ca, set, doms, nd, at, out);
	pthread_mutex_unlock(&b->b_mu);
	bg_free_list(doms, nd);
	free(set);
	free(ca);
	return ok;
}

int
bg_lookup(struct bg_book *b, const char *server, const char *key, const char *const *names,
    size_t n, int64_t failed_at, struct sc_budget *out, char *domain, size_t domlen)
{
	memset(out, 0, sizeof *out);
	if (domain && domlen)
		domain[0] = '\0';
	return bg_look(b, server, key, names, n, 1, failed_at, out, domain, domlen);
}

int
bg_lookup_at(struct bg_book *b, const char *server, const char *const *names, size_t n,
    int64_t at, struct sc_budget *out)
{
	if (at <= 0)
		return 0;
	return bg_look(b, server, NULL, names, n, 0, at, out, NULL, 0);
}

size_t
bg_domain_times(struct bg_book *b, const char *server, const char *domain, int64_t *out,
    size_t max)
{
	if (b == NULL || server == NULL || domain == NULL)
		return 0;
	char *ca = bg_ca(server);
	pthread_mutex_lock(&b->b_mu);
	const struct bg_tally *d = bg_tally_find(b, &b->b_doms, ca, domain);
	size_t n = d ? d->t_n : 0;
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = d->t_times[i];
	pthread_mutex_unlock(&b->b_mu);
	free(ca);
	return n;
}
