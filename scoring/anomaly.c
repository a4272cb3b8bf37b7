/*
 * anomaly: per-namespace baselines and the anomalies scored against them. See anomaly.h.
 *
 * Layout: namespaces live in a plain array searched linearly (a few thousand at most; eviction
 * scans it once). Two FIFO sets with a hash index remember SPKI hashes (key reuse) and CR UIDs
 * (idempotence); when full, the oldest entry goes. The CA table maps an issuerRef to a
 * frequency table of issuer DNs.
 */
#include "anomaly.h"
#include "certparse.h"
#include "robust.h"
#include "scoring.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define AN_VERSION 1
#define AN_MAGIC "certcast-an"
#define AN_SHA_LINE 72      /* "sha256 " + 64 hex + "\n" */
#define AN_LINE_MAX 8192    /* longest checkpoint line accepted */
#define AN_DUR_MAD_FLOOR 0.0488 /* log(1.05): durations within 5% are the same duration */
#define AN_BURST_LAMBDA_MIN 0.1 /* requests per hour assumed even in a silent namespace */
#define AN_TIME_MAX (INT64_C(1) << 40) /* latest time accepted (year 36812): no overflow below */
#define AN_UID_REQ 1u       /* the request part of a UID was learned */
#define AN_UID_CERT 2u      /* the certificate part was learned */
#define AN_UID_KEY 4u       /* the key type was learned (from o_key or the certificate) */

enum an_dim { AN_DIM_ISSUER = 0, AN_DIM_USER, AN_DIM_SUFFIX, AN_DIM_KEY, AN_DIM_COUNT };

/* Checkpoint tags of the tables; none may equal a top-level tag ("ns", "ca", "key", "uid"). */
static const char *const an_dim_names[AN_DIM_COUNT] = { "issuer", "user", "suffix", "keytype" };

struct an_ns {
	char *ns_name;                     /* owned */
	int64_t ns_first;                  /* earliest observation time */
	int64_t ns_last;                   /* latest call that touched it (eviction order) */
	uint64_t ns_obs;                   /* request observations learned */
	int64_t ns_burst_hour;             /* hour index of the last burst reported, or -1 */
	struct rb_freq ns_tab[AN_DIM_COUNT]; /* issuers, requesters, DNS suffixes, key types */
	struct rb_ring ns_dur;             /* requested durations, seconds */
	struct rb_hours ns_hours;          /* hour of day of requests */
	struct rb_rate ns_rate;            /* requests per hour */
};

struct an_ca {
	char *ca_issuer;      /* owned issuerRef "Kind/name"; cluster-wide (ClusterIssuers) */
	int64_t ca_last;      /* latest use (eviction order) */
	struct rb_freq ca_dn; /* issuer DNs of the certificates it signed */
};

/* A FIFO of 64-bit keys with a linear-probing index; the payload arrays are the caller's. */
struct an_fifo {
	uint64_t *f_key;  /* ring of keys, f_cap entries */
	uint32_t *f_idx;  /* hash table: ring position + 1, 0 when empty; f_tab entries */
	size_t f_cap;     /* ring capacity */
	size_t f_tab;     /* table size, a power of two >= 2 * f_cap */
	size_t f_head;    /* ring position of the oldest entry */
	size_t f_n;       /* entries held */
};

struct an_key {
	unsigned char k_spki[32]; /* full SHA-256, to rule out a collision of the 64-bit index */
	char *k_ref;              /* owned "namespace/name" of the first certificate with it */
	int64_t k_time;           /* when first seen */
};

struct an_state {
	struct an_config st_cfg;  /* defaults filled */
	struct an_ns **st_ns;     /* owned namespaces */
	size_t st_nns;            /* in use */
	struct an_ca *st_ca;      /* owned CA tables, st_nca in use */
	size_t st_nca;
	struct an_fifo st_keys;   /* SPKI index */
	struct an_key *st_key;    /* payload by ring position */
	struct an_fifo st_uids;   /* observed UID hashes */
	uint8_t *st_uid_flags;    /* AN_UID_* by ring position */
};

static const char *const an_type_ids[AN_TYPE_COUNT] = {
	[AN_UNEXPECTED_ISSUER] = "unexpected-issuer",
	[AN_UNUSUAL_REQUESTER] = "unusual-requester",
	[AN_UNUSUAL_DNS_SUFFIX] = "unusual-dns-suffix",
	[AN_UNUSUAL_DURATION] = "unusual-duration",
	[AN_UNUSUAL_KEY] = "unusual-key",
	[AN_UNUSUAL_HOUR] = "unusual-hour",
	[AN_REQUEST_BURST] = "request-burst",
	[AN_UNEXPECTED_CA] = "unexpected-ca",
	[AN_WEAK_KEY] = "weak-key",
	[AN_SAN_OUTSIDE_DOMAINS] = "san-outside-domains",
	[AN_WILDCARD] = "wildcard",
	[AN_VALIDITY_MISMATCH] = "validity-mismatch",
	[AN_KEY_REUSE] = "key-reuse",
	[AN_NOT_BEFORE_FUTURE] = "not-before-future",
};

const char *
an_type_id(enum an_type t)
{
	if ((int)t < 0 || t >= AN_TYPE_COUNT)
		return "unknown";
	return an_type_ids[t];
}

const char *
an_severity_name(enum an_severity s)
{
	switch (s) {
	case AN_SEV_INFO:
		return "info";
	case AN_SEV_WARNING:
		return "warning";
	case AN_SEV_CRITICAL:
		return "critical";
	}
	return "info";
}

void
an_report_add(struct an_report *r, enum an_type t, enum an_severity s, double score,
	      const char *fmt, ...)
{
	struct an_anomaly *a;
	va_list ap;

	if (r->r_count >= AN_REPORT_MAX) {
		r->r_dropped++;
		return;
	}
	a = &r->r_items[r->r_count++];
	memset(a, 0, sizeof(*a));
	a->a_type = t;
	a->a_severity = s;
	a->a_score = score;
	/* Only these findings are fixed by a new certificate. */
	a->a_security = t == AN_WEAK_KEY || t == AN_KEY_REUSE;
	va_start(ap, fmt);
	vsnprintf(a->a_evidence, sizeof(a->a_evidence), fmt, ap);
	va_end(ap);
}

void
an_to_sc(const struct an_anomaly *a, struct sc_anomaly *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->an_type, sizeof(out->an_type), "%s", an_type_id(a->a_type));
	out->an_severity = a->a_severity == AN_SEV_CRITICAL  ? SC_SEV_CRITICAL
			   : a->a_severity == AN_SEV_WARNING ? SC_SEV_WARNING
							     : SC_SEV_INFO;
	out->an_score = a->a_score;
	out->an_security = a->a_security;
	snprintf(out->an_evidence, sizeof(out->an_evidence), "%s", a->a_evidence);
}

void
an_config_default(struct an_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->c_warmup_obs = 20;
	cfg->c_warmup_age = 86400;
	cfg->c_half_life = 30 * 86400;
	cfg->c_rare_share = 0.02;
	cfg->c_duration_z = 3.5;
	cfg->c_hour_density = 0.1;
	cfg->c_burst_min = 10;
	cfg->c_burst_p = 1e-4;
	cfg->c_fresh = 6 * 3600;
	cfg->c_skew = 300;
	cfg->c_validity_tol = 0.02;
	cfg->c_validity_tol_min = 3600;
	cfg->c_max_namespaces = 4096;
	cfg->c_max_issuers = 1024;
	cfg->c_max_keys = 8192;
	cfg->c_max_uids = 8192;
}

static void
an_config_fill(struct an_config *c, const struct an_config *in)
{
	an_config_default(c);
	if (in == NULL)
		return;
	/* Zero (or nonsense) means "default", so callers set only what they care about. */
	if (in->c_warmup_obs > 0)
		c->c_warmup_obs = in->c_warmup_obs;
	if (in->c_warmup_age > 0)
		c->c_warmup_age = in->c_warmup_age;
	if (in->c_half_life > 0)
		c->c_half_life = in->c_half_life;
	if (in->c_rare_share > 0 && in->c_rare_share < 1)
		c->c_rare_share = in->c_rare_share;
	if (in->c_duration_z > 0)
		c->c_duration_z = in->c_duration_z;
	if (in->c_hour_density > 0 && in->c_hour_density < 1)
		c->c_hour_density = in->c_hour_density;
	if (in->c_burst_min > 0)
		c->c_burst_min = in->c_burst_min;
	if (in->c_burst_p > 0 && in->c_burst_p < 1)
		c->c_burst_p = in->c_burst_p;
	if (in->c_fresh > 0)
		c->c_fresh = in->c_fresh;
	if (in->c_skew > 0)
		c->c_skew = in->c_skew;
	if (in->c_validity_tol > 0)
		c->c_validity_tol = in->c_validity_tol;
	if (in->c_validity_tol_min > 0)
		c->c_validity_tol_min = in->c_validity_tol_min;
	if (in->c_max_namespaces > 0)
		c->c_max_namespaces = in->c_max_namespaces;
	if (in->c_max_issuers > 0)
		c->c_max_issuers = in->c_max_issuers;
	if (in->c_max_keys > 0)
		c->c_max_keys = in->c_max_keys;
	if (in->c_max_uids > 0)
		c->c_max_uids = in->c_max_uids;
}

/* ---- FIFO set ------------------------------------------------------------------------------ */

static int
an_fifo_init(struct an_fifo *f, size_t cap)
{
	size_t tab = 16;

	memset(f, 0, sizeof(*f));
	while (tab < 2 * cap)
		tab *= 2;
	f->f_key = calloc(cap, sizeof(*f->f_key));
	f->f_idx = calloc(tab, sizeof(*f->f_idx));
	if (f->f_key == NULL || f->f_idx == NULL) {
		free(f->f_key);
		free(f->f_idx);
		memset(f, 0, sizeof(*f));
		return SC_ERR_NOSPACE;
	}
	f->f_cap = cap;
	f->f_tab = tab;
	return SC_OK;
}

static void
an_fifo_free(struct an_fifo *f)
{
	free(f->f_key);
	free(f->f_idx);
	memset(f, 0, sizeof(*f));
}

static size_t
an_fifo_home(const struct an_fifo *f, uint64_t key)
{
	/* Keys are hashes already; mixing once more guards against poorly spread UIDs hashes. */
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & (f->f_tab - 1);
}

/* Ring position of key, or -1. */
static long
an_fifo_find(const struct an_fifo *f, uint64_t key)
{
	size_t i = an_fifo_home(f, key);

	while (f->f_idx[i] != 0) {
		size_t pos = f->f_idx[i] - 1;

		if (f->f_key[pos] == key)
			return (long)pos;
		i = (i + 1) & (f->f_tab - 1);
	}
	return -1;
}

/* Removes the table entry pointing at ring position pos (backward-shift deletion). */
static void
an_fifo_unindex(struct an_fifo *f, size_t pos)
{
	size_t mask = f->f_tab - 1, i = an_fifo_home(f, f->f_key[pos]), j, home;

	while (f->f_idx[i] != pos + 1)
		i = (i + 1) & mask;
	f->f_idx[i] = 0;
	for (j = (i + 1) & mask; f->f_idx[j] != 0; j = (j + 1) & mask) {
		home = an_fifo_home(f, f->f_key[f->f_idx[j] - 1]);
		/* Move j back into the hole when its home is not in the cyclic range (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			f->f_idx[i] = f->f_idx[j];
			f->f_idx[j] = 0;
			i = j;
		}
	}
}

/*
 * Appends key (which must not be present). When full, the oldest entry is dropped first and
 * *evicted is set to 1: the returned position then held the evicted entry's payload.
 */
static size_t
an_fifo_push(struct an_fifo *f, uint64_t key, int *evicted)
{
	size_t pos, i;

	*evicted = 0;
	if (f->f_n == f->f_cap) {
		an_fifo_unindex(f, f->f_head);
		f->f_head = (f->f_head + 1) % f->f_cap;
		f->f_n--;
		*evicted = 1;
	}
	pos = (f->f_head + f->f_n) % f->f_cap;
	f->f_key[pos] = key;
	f->f_n++;
	i = an_fifo_home(f, key);
	while (f->f_idx[i] != 0)
		i = (i + 1) & (f->f_tab - 1);
	f->f_idx[i] = (uint32_t)(pos + 1);
	return pos;
}

/* ---- state --------------------------------------------------------------------------------- */

static void
an_ns_free(struct an_ns *ns)
{
	int d;

	if (ns == NULL)
		return;
	for (d = 0; d < AN_DIM_COUNT; d++)
		rb_freq_clear(&ns->ns_tab[d]);
	free(ns->ns_name);
	free(ns);
}

void
an_free(struct an_state *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->st_nns; i++)
		an_ns_free(st->st_ns[i]);
	free(st->st_ns);
	for (i = 0; i < st->st_nca; i++) {
		free(st->st_ca[i].ca_issuer);
		rb_freq_clear(&st->st_ca[i].ca_dn);
	}
	free(st->st_ca);
	if (st->st_key != NULL)
		for (i = 0; i < st->st_keys.f_cap; i++)
			free(st->st_key[i].k_ref);
	free(st->st_key);
	an_fifo_free(&st->st_keys);
	free(st->st_uid_flags);
	an_fifo_free(&st->st_uids);
	free(st);
}

int
an_new(const struct an_config *cfg, struct an_state **out)
{
	struct an_state *st;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return SC_ERR_NOSPACE;
	an_config_fill(&st->st_cfg, cfg);
	st->st_ns = calloc(st->st_cfg.c_max_namespaces, sizeof(*st->st_ns));
	st->st_ca = calloc(st->st_cfg.c_max_issuers, sizeof(*st->st_ca));
	st->st_key = calloc(st->st_cfg.c_max_keys, sizeof(*st->st_key));
	st->st_uid_flags = calloc(st->st_cfg.c_max_uids, 1);
	if (st->st_ns == NULL || st->st_ca == NULL || st->st_key == NULL ||
	    st->st_uid_flags == NULL || an_fifo_init(&st->st_keys, st->st_cfg.c_max_keys) != SC_OK ||
	    an_fifo_init(&st->st_uids, st->st_cfg.c_max_uids) != SC_OK) {
		an_free(st);
		return SC_ERR_NOSPACE;
	}
	*out = st;
	return SC_OK;
}

static struct an_ns *
an_ns_find(const struct an_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->st_nns; i++)
		if (strcmp(st->st_ns[i]->ns_name, name) == 0)
			return st->st_ns[i];
	return NULL;
}

/* Finds or creates the namespace; the least recently used one makes room. NULL: no memory. */
static struct an_ns *
an_ns_get(struct an_state *st, const char *name, int64_t t)
{
	struct an_ns *ns = an_ns_find(st, name);
	size_t i, old = 0;

	if (ns != NULL)
		return ns;
	ns = calloc(1, sizeof(*ns));
	if (ns == NULL)
		return NULL;
	ns->ns_name = strdup(name);
	if (ns->ns_name == NULL) {
		free(ns);
		return NULL;
	}
	ns->ns_first = t;
	ns->ns_last = t;
	ns->ns_burst_hour = -1;
	if (st->st_nns == st->st_cfg.c_max_namespaces) {
		for (i = 1; i < st->st_nns; i++)
			if (st->st_ns[i]->ns_last < st->st_ns[old]->ns_last)
				old = i;
		an_ns_free(st->st_ns[old]);
		st->st_ns[old] = st->st_ns[--st->st_nns];
	}
	st->st_ns[st->st_nns++] = ns;
	return ns;
}

uint64_t
an_namespace_obs(const struct an_state *st, const char *ns)
{
	const struct an_ns *n;
	char name[RB_KEY_MAX];

	if (st == NULL || ns == NULL)
		return 0;
	snprintf(name, sizeof(name), "%s", ns); /* stored names are cut like this */
	n = an_ns_find(st, name);
	return n == NULL ? 0 : n->ns_obs;
}

static struct an_ca *
an_ca_get(struct an_state *st, const char *issuer, int64_t t)
{
	struct an_ca *ca;
	size_t i, old = 0;
	char *name;

	for (i = 0; i < st->st_nca; i++)
		if (strcmp(st->st_ca[i].ca_issuer, issuer) == 0)
			return &st->st_ca[i];
	name = strdup(issuer);
	if (name == NULL)
		return NULL;
	if (st->st_nca == st->st_cfg.c_max_issuers) {
		for (i = 1; i < st->st_nca; i++)
			if (st->st_ca[i].ca_last < st->st_ca[old].ca_last)
				old = i;
		free(st->st_ca[old].ca_issuer);
		rb_freq_clear(&st->st_ca[old].ca_dn);
		st->st_ca[old] = st->st_ca[--st->st_nca];
	}
	ca = &st->st_ca[st->st_nca++];
	memset(ca, 0, sizeof(*ca));
	ca->ca_issuer = name;
	ca->ca_last = t;
	return ca;
}

static uint64_t
an_fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t
an_spki_key(const unsigned char spki[32])
{
	uint64_t k = 0;
	int i;

	for (i = 0; i < 8; i++)
		k = (k << 8) | spki[i];
	return k;
}

/* ---- helpers for scoring ------------------------------------------------------------------- */

/*
 * The registered-domain-ish suffix of a DNS name: the last two labels, or three when the
 * second-level label is a common public second level under a two-letter TLD ("co.uk",
 * "com.au"). A leading "*." and a trailing dot are ignored; the result is lower case.
 * This is a heuristic, not the Public Suffix List: it only groups names for baselines.
 */
static void
an_dns_suffix(const char *name, char *out, size_t len)
{
	static const char *const second[] = { "co", "com", "net", "org", "gov", "ac", "edu",
					      "ne", "or", "go", "gv", "mil", "ltd", "plc" };
	char tmp[RB_KEY_MAX];
	size_t n, i, dots = 0, labels, want;
	const char *p;

	if (strncmp(name, "*.", 2) == 0)
		name += 2;
	n = strnlen(name, sizeof(tmp) - 1);
	for (i = 0; i < n; i++)
		tmp[i] = (char)tolower((unsigned char)name[i]);
	tmp[n] = '\0';
	while (n > 0 && tmp[n - 1] == '.')
		tmp[--n] = '\0';
	for (i = 0; i < n; i++)
		dots += tmp[i] == '.';
	labels = dots + 1;
	want = 2;
	if (labels >= 3) {
		const char *tld = strrchr(tmp, '.') + 1;
		const char *sl;
		size_t sll;

		/* Find the second-level label: between the last two dots. */
		for (p = tld - 2; p > tmp && *p != '.'; p--)
			;
		sl = *p == '.' ? p + 1 : p;
		sll = (size_t)(tld - 1 - sl);
		if (strlen(tld) == 2)
			for (i = 0; i < sizeof(second) / sizeof(second[0]); i++)
				if (strlen(second[i]) == sll && strncmp(sl, second[i], sll) == 0)
					want = 3;
	}
	if (labels <= want) {
		snprintf(out, len, "%s", tmp);
		return;
	}
	/* Keep the last `want` labels. */
	for (p = tmp + n; p > tmp; p--)
		if (p[-1] == '.' && --want == 0)
			break;
	snprintf(out, len, "%s", p);
}

/* The key with the largest count, and its share; "" when the table is empty. */
static void
an_top(const struct rb_freq *t, const char **key, double *share)
{
	size_t i, best = RB_FREQ_CAP;

	*key = "";
	*share = 0;
	for (i = 0; i < RB_FREQ_CAP; i++)
		if (t->fq_key[i] != NULL && (best == RB_FREQ_CAP || t->fq_cnt[i] > t->fq_cnt[best]))
			best = i;
	if (best == RB_FREQ_CAP || !(t->fq_total > 0))
		return;
	*key = t->fq_key[best];
	*share = t->fq_cnt[best] / t->fq_total;
}

static int
an_warm(const struct an_state *st, const struct an_ns *ns, int64_t t)
{
	return ns->ns_obs >= st->st_cfg.c_warmup_obs && t - ns->ns_first >= st->st_cfg.c_warmup_age;
}

/*
 * Scores key against table t. Returns 1 with the surprise (bits) and share when the key is rare,
 * 0 when usual or when the table holds too little to judge.
 */
static int
an_rare(const struct an_state *st, const struct rb_freq *t, const char *key, int64_t now,
	double *bits, double *share)
{
	int64_t hl = st->st_cfg.c_half_life;
	double c = rb_freq_count(t, key, now, hl), n = rb_freq_total(t, now, hl);

	if (n < 0.5 * st->st_cfg.c_warmup_obs)
		return 0;
	*share = c / n;
	*bits = -log2((c + 0.5) / (n + 1));
	return *share < st->st_cfg.c_rare_share;
}

static void
an_dim(struct an_state *st, struct an_ns *ns, enum an_dim d, const char *key, int score,
       int64_t now, struct an_report *out)
{
	static const struct {
		enum an_type type;
		enum an_severity sev;
		const char *what;
	} dims[AN_DIM_COUNT] = {
		[AN_DIM_ISSUER] = { AN_UNEXPECTED_ISSUER, AN_SEV_WARNING, "issuer" },
		[AN_DIM_USER] = { AN_UNUSUAL_REQUESTER, AN_SEV_WARNING, "requester" },
		[AN_DIM_SUFFIX] = { AN_UNUSUAL_DNS_SUFFIX, AN_SEV_INFO, "DNS suffix" },
		[AN_DIM_KEY] = { AN_UNUSUAL_KEY, AN_SEV_INFO, "key type" },
	};
	double bits, share, tshare;
	const char *top;

	if (key[0] == '\0')
		return;
	if (score && an_rare(st, &ns->ns_tab[d], key, now, &bits, &share)) {
		an_top(&ns->ns_tab[d], &top, &tshare);
		an_report_add(out, dims[d].type, dims[d].sev, bits,
			      "%s '%.60s' is %s in namespace %.40s (%.1f%% of recent requests; "
			      "usual: '%.40s' %.0f%%)",
			      dims[d].what, key, share > 0 ? "rare" : "new", ns->ns_name, 100 * share,
			      top, 100 * tshare);
	}
}

/* Learns key in dimension d; SC_OK or SC_ERR_NOSPACE. */
static int
an_learn(struct an_state *st, struct an_ns *ns, enum an_dim d, const char *key, int64_t now)
{
	if (key[0] == '\0')
		return SC_OK; /* nothing to learn, and checkpoints cannot hold an empty key */
	return rb_freq_add(&ns->ns_tab[d], key, 1.0, now, st->st_cfg.c_half_life) == 0
		       ? SC_OK
		       : SC_ERR_NOSPACE;
}

static void
an_duration(struct an_state *st, struct an_ns *ns, int64_t dur, int score, struct an_report *out)
{
	double logs[RB_RING_CAP], x, med, mad, z;
	size_t i, n = ns->ns_dur.rg_n;

	if (dur <= 0)
		return;
	x = log((double)dur);
	if (score && n >= st->st_cfg.c_warmup_obs / 2 && n > 0) {
		/* Durations compare by ratio, so the statistics run on their logarithms. */
		for (i = 0; i < n; i++)
			logs[i] = log(ns->ns_dur.rg_v[i]);
		med = rb_median(logs, n);
		mad = rb_mad(logs, n, med); /* the sorted order does not matter to it */
		if (mad < AN_DUR_MAD_FLOOR)
			mad = AN_DUR_MAD_FLOOR;
		/* The modified z-score of Iglewicz and Hoaglin: 0.6745 makes MAD comparable to sd. */
		z = 0.6745 * (x - med) / mad;
		if (fabs(z) > st->st_cfg.c_duration_z)
			an_report_add(out, AN_UNUSUAL_DURATION, AN_SEV_INFO, fabs(z),
				      "requested duration %.1fh differs from the namespace's usual "
				      "%.1fh (modified z %.1f)",
				      (double)dur / 3600, exp(med) / 3600, z);
	}
	/* Seconds, not logarithms, are kept: they are exact and short in a checkpoint. */
	rb_ring_push(&ns->ns_dur, (double)dur);
}

static void
an_hour(struct an_state *st, struct an_ns *ns, int64_t t, int64_t now, int score,
	struct an_report *out)
{
	double dens, total = 0;
	int i;

	for (i = 0; i < RB_HOURS; i++)
		total += ns->ns_hours.hr_cnt[i];
	if (score && total >= 0.5 * st->st_cfg.c_warmup_obs) {
		dens = rb_hours_density(&ns->ns_hours, t);
		if (dens < st->st_cfg.c_hour_density) {
			double floor = 1.0 / (total + 1) * 8; /* one request's worth of density */

			an_report_add(out, AN_UNUSUAL_HOUR, AN_SEV_INFO,
				      -log2(dens > floor ? dens : floor),
				      "request at %02d:%02d UTC, an hour this namespace rarely uses "
				      "(%.0f%% of the usual density)",
				      (int)((t % 86400 + 86400) % 86400 / 3600),
				      (int)((t % 3600 + 3600) % 3600 / 60), 100 * dens);
		}
	}
	rb_hours_add(&ns->ns_hours, t, now, st->st_cfg.c_half_life);
}

static void
an_burst(struct an_state *st, struct an_ns *ns, int64_t t, int64_t now, int score,
	 struct an_report *out)
{
	uint32_t cur, hours;
	double usual, lam, p;
	int64_t hour = t / 3600;

	rb_rate_add(&ns->ns_rate, t);
	/* Only a request in the current hour can be part of a burst happening now. */
	if (!score || hour != now / 3600 || ns->ns_burst_hour == hour)
		return;
	cur = rb_rate_current(&ns->ns_rate, now);
	if (cur < st->st_cfg.c_burst_min)
		return; /* cheap test first: the usual rate needs a sort */
	usual = rb_rate_usual(&ns->ns_rate, now, &hours);
	if (hours < 24)
		return;
	lam = usual > AN_BURST_LAMBDA_MIN ? usual : AN_BURST_LAMBDA_MIN;
	p = rb_poisson_sf(lam, cur);
	if (p >= st->st_cfg.c_burst_p)
		return;
	ns->ns_burst_hour = hour;
	an_report_add(out, AN_REQUEST_BURST,
		      p < st->st_cfg.c_burst_p * 1e-4 ? AN_SEV_CRITICAL : AN_SEV_WARNING,
		      -log10(p > 1e-300 ? p : 1e-300),
		      "%u requests in namespace %.40s this hour against a usual %.2f per hour over "
		      "%u hours (Poisson tail %.1e)",
		      cur, ns->ns_name, usual, hours, p);
}

/* ---- certificate part ---------------------------------------------------------------------- */

static int
an_cert_ca(struct an_state *st, const struct an_obs *o, int64_t now, struct an_report *out)
{
	struct an_ca *ca;
	double c, n, share, tshare;
	const char *top;
	int64_t hl = st->st_cfg.c_half_life;

	if (o->o_issuer == NULL || o->o_cert->c_issuer == NULL)
		return SC_OK;
	if (o->o_issuer[0] == '\0' || o->o_cert->c_issuer[0] == '\0')
		return SC_OK;
	ca = an_ca_get(st, o->o_issuer, now);
	if (ca == NULL)
		return SC_ERR_NOSPACE;
	ca->ca_last = now > ca->ca_last ? now : ca->ca_last;
	c = rb_freq_count(&ca->ca_dn, o->o_cert->c_issuer, now, hl);
	n = rb_freq_total(&ca->ca_dn, now, hl);
	share = n > 0 ? c / n : 0;
	if (n >= st->st_cfg.c_warmup_obs && share < st->st_cfg.c_rare_share) {
		an_top(&ca->ca_dn, &top, &tshare);
		an_report_add(out, AN_UNEXPECTED_CA, AN_SEV_WARNING, -log2((c + 0.5) / (n + 1)),
			      "%.40s signed with CA '%.50s' instead of its usual '%.50s' (%.0f%%)",
			      o->o_issuer, o->o_cert->c_issuer, top, 100 * tshare);
	}
	return rb_freq_add(&ca->ca_dn, o->o_cert->c_issuer, 1.0, now, hl) == 0 ? SC_OK
										: SC_ERR_NOSPACE;
}

static int
an_requested_suffix(const struct an_obs *o, const char *suffix)
{
	char s[RB_KEY_MAX];
	size_t i;

	for (i = 0; i < o->o_ndns; i++) {
		if (o->o_dns_names[i] == NULL)
			continue;
		an_dns_suffix(o->o_dns_names[i], s, sizeof(s));
		if (strcmp(s, suffix) == 0)
			return 1;
	}
	return 0;
}

static void
an_cert_sans(struct an_state *st, struct an_ns *ns, const struct an_obs *o, int64_t now,
	     int warm, struct an_report *out)
{
	char s[RB_KEY_MAX];
	size_t i;
	double bits, share;

	if (!warm)
		return;
	for (i = 0; i < o->o_cert->c_nsans; i++) {
		if (o->o_cert->c_sans[i].s_type != CP_SAN_DNS)
			continue;
		an_dns_suffix(o->o_cert->c_sans[i].s_value, s, sizeof(s));
		/* A name that was asked for is judged by unusual-dns-suffix, not here. */
		if (an_requested_suffix(o, s))
			continue;
		if (an_rare(st, &ns->ns_tab[AN_DIM_SUFFIX], s, now, &bits, &share)) {
			an_report_add(out, AN_SAN_OUTSIDE_DOMAINS, AN_SEV_WARNING, bits,
				      "certificate names '%.60s', outside the namespace's usual "
				      "domains and not requested",
				      o->o_cert->c_sans[i].s_value);
			return;
		}
	}
}

static void
an_hex(const unsigned char *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int
an_cert_key_reuse(struct an_state *st, const struct an_obs *o, int64_t now,
		  struct an_report *out)
{
	char ref[RB_KEY_MAX], hex[17];
	uint64_t k = an_spki_key(o->o_cert->c_spki_sha256);
	long at = an_fifo_find(&st->st_keys, k);
	struct an_key *e;
	size_t pos, nsl;
	int ev;

	/* Kubernetes caps namespaces at 63 bytes, so the name keeps the rest of the room. */
	snprintf(ref, sizeof(ref), "%.63s/%.190s", o->o_namespace,
		 o->o_name != NULL ? o->o_name : "?");
	if (at >= 0 && memcmp(st->st_key[at].k_spki, o->o_cert->c_spki_sha256, 32) == 0) {
		e = &st->st_key[at];
		/* A certificate renewed with its own key (rotationPolicy: Never) is no reuse. */
		if (o->o_name == NULL || strcmp(e->k_ref, ref) == 0)
			return SC_OK;
		nsl = strnlen(o->o_namespace, 63); /* as cut in ref */
		an_hex(o->o_cert->c_spki_sha256, 8, hex);
		an_report_add(out, AN_KEY_REUSE,
			      strncmp(e->k_ref, o->o_namespace, nsl) == 0 && e->k_ref[nsl] == '/'
				      ? AN_SEV_WARNING
				      : AN_SEV_CRITICAL,
			      1.0, "public key %s... already used by certificate %.80s", hex, e->k_ref);
		return SC_OK;
	}
	if (at >= 0)
		return SC_OK; /* a 64-bit index collision: keep the first, do not guess */
	pos = an_fifo_push(&st->st_keys, k, &ev);
	e = &st->st_key[pos];
	free(e->k_ref);
	e->k_ref = strdup(ref);
	memcpy(e->k_spki, o->o_cert->c_spki_sha256, 32);
	e->k_time = now;
	return e->k_ref == NULL ? SC_ERR_NOSPACE : SC_OK;
}

/* ---- observe ------------------------------------------------------------------------------- */

static int
an_observe_request(struct an_state *st, struct an_ns *ns, const struct an_obs *o, int64_t t,
		   int64_t now, int score, int learn_key, struct an_report *out)
{
	char s[RB_KEY_MAX], worst[RB_KEY_MAX] = "";
	double bits, share, worst_bits = -1;
	size_t i;
	int rc = SC_OK;

	if (o->o_issuer != NULL) {
		an_dim(st, ns, AN_DIM_ISSUER, o->o_issuer, score, now, out);
		rc |= an_learn(st, ns, AN_DIM_ISSUER, o->o_issuer, now);
	}
	if (o->o_username != NULL) {
		an_dim(st, ns, AN_DIM_USER, o->o_username, score, now, out);
		rc |= an_learn(st, ns, AN_DIM_USER, o->o_username, now);
	}
	/* One finding per request for its rarest suffix; every distinct suffix is learned once. */
	for (i = 0; i < o->o_ndns && score; i++) {
		if (o->o_dns_names[i] == NULL)
			continue;
		an_dns_suffix(o->o_dns_names[i], s, sizeof(s));
		if (an_rare(st, &ns->ns_tab[AN_DIM_SUFFIX], s, now, &bits, &share) && bits > worst_bits) {
			worst_bits = bits;
			snprintf(worst, sizeof(worst), "%s", s);
		}
	}
	if (worst_bits >= 0)
		an_dim(st, ns, AN_DIM_SUFFIX, worst, score, now, out);
	for (i = 0; i < o->o_ndns; i++) {
		size_t j;
		char prev[RB_KEY_MAX];
		int dup = 0;

		if (o->o_dns_names[i] == NULL)
			continue;
		an_dns_suffix(o->o_dns_names[i], s, sizeof(s));
		for (j = 0; j < i && !dup; j++) {
			if (o->o_dns_names[j] == NULL)
				continue;
			an_dns_suffix(o->o_dns_names[j], prev, sizeof(prev));
			dup = strcmp(prev, s) == 0;
		}
		if (!dup)
			rc |= an_learn(st, ns, AN_DIM_SUFFIX, s, now);
	}
	if (learn_key && o->o_key != NULL) {
		an_dim(st, ns, AN_DIM_KEY, o->o_key, score, now, out);
		rc |= an_learn(st, ns, AN_DIM_KEY, o->o_key, now);
	}
	an_duration(st, ns, o->o_duration, score, out);
	an_hour(st, ns, t, now, score, out);
	an_burst(st, ns, t, now, score, out);
	ns->ns_obs++;
	return rc != SC_OK ? SC_ERR_NOSPACE : SC_OK;
}

int
an_observe(struct an_state *st, const struct an_obs *obs, int64_t now, struct an_report *out)
{
	struct an_obs cut;
	const struct an_obs *o = &cut;
	struct cp_expect ex;
	struct an_ns *ns;
	int64_t t;
	long upos = -1;
	unsigned flags = 0;
	int rc = SC_OK, warm, score, ev;
	char label[64], nsname[RB_KEY_MAX], issuer[RB_KEY_MAX];

	if (st == NULL || obs == NULL || out == NULL || obs->o_namespace == NULL ||
	    obs->o_namespace[0] == '\0' || now <= 0 || now > AN_TIME_MAX)
		return SC_ERR_INVAL;
	/* Names are cut to what a checkpoint can hold, so a restored state finds them again. */
	cut = *obs;
	snprintf(nsname, sizeof(nsname), "%s", obs->o_namespace);
	cut.o_namespace = nsname;
	if (obs->o_issuer != NULL) {
		snprintf(issuer, sizeof(issuer), "%s", obs->o_issuer);
		cut.o_issuer = issuer;
	}
	t = o->o_time > 0 && o->o_time <= AN_TIME_MAX ? o->o_time : now;
	if (o->o_uid != NULL) {
		uint64_t h = an_fnv(o->o_uid);

		upos = an_fifo_find(&st->st_uids, h);
		if (upos < 0) {
			upos = (long)an_fifo_push(&st->st_uids, h, &ev);
			st->st_uid_flags[upos] = 0;
		}
		flags = st->st_uid_flags[upos];
	}
	ns = an_ns_get(st, o->o_namespace, t);
	if (ns == NULL)
		return SC_ERR_NOSPACE;
	if (now > ns->ns_last)
		ns->ns_last = now;
	if (t < ns->ns_first)
		ns->ns_first = t;
	warm = an_warm(st, ns, t);
	/* History trains the baseline; only fresh requests are judged against it. */
	score = warm && t >= now - st->st_cfg.c_fresh;
	if (!(flags & AN_UID_REQ)) {
		int key_now = o->o_cert == NULL && o->o_key != NULL;

		rc = an_observe_request(st, ns, o, t, now, score, key_now, out);
		flags |= AN_UID_REQ | (key_now ? AN_UID_KEY : 0);
	}
	if (o->o_cert != NULL && !(flags & AN_UID_CERT)) {
		memset(&ex, 0, sizeof(ex));
		ex.ce_duration = o->o_duration;
		ex.ce_skew = st->st_cfg.c_skew;
		ex.ce_tol = st->st_cfg.c_validity_tol;
		ex.ce_tol_min = st->st_cfg.c_validity_tol_min;
		cp_check(o->o_cert, &ex, now, out);
		if (!(flags & AN_UID_KEY)) {
			cp_key_label(o->o_cert, label, sizeof(label));
			an_dim(st, ns, AN_DIM_KEY, label, score, now, out);
			rc |= an_learn(st, ns, AN_DIM_KEY, label, now);
			flags |= AN_UID_KEY;
		}
		an_cert_sans(st, ns, o, now, score, out);
		rc |= an_cert_ca(st, o, now, out);
		rc |= an_cert_key_reuse(st, o, now, out);
		flags |= AN_UID_CERT;
	}
	if (upos >= 0)
		st->st_uid_flags[upos] = (uint8_t)flags;
	return rc != SC_OK ? SC_ERR_NOSPACE : SC_OK;
}

/* ---- checkpoint ---------------------------------------------------------------------------- */

struct an_sb {
	char *sb_buf; /* owned, NUL-terminated */
	size_t sb_len;
	size_t sb_cap;
	int sb_oom;   /* sticky: an append failed */
};

static void an_put(struct an_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
an_put(struct an_sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->sb_oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->sb_buf + b->sb_len, b->sb_cap - b->sb_len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->sb_oom = 1;
			return;
		}
		if ((size_t)n < b->sb_cap - b->sb_len) {
			b->sb_len += (size_t)n;
			return;
		}
		{
			size_t cap = b->sb_cap * 2 + (size_t)n + 1;
			char *p = realloc(b->sb_buf, cap);

			if (p == NULL) {
				b->sb_oom = 1;
				return;
			}
			b->sb_buf = p;
			b->sb_cap = cap;
		}
	}
}

/* Percent-encodes s so that it is one space-free token; "-" stands for NULL or "". */
static void
an_put_str(struct an_sb *b, const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	char tok[3 * RB_KEY_MAX + 4]; /* every byte of a longest key escaped */
	size_t i, n = 0;

	if (s == NULL || *s == '\0') {
		an_put(b, " -");
		return;
	}
	for (i = 0; s[i] != '\0' && n + 4 < sizeof(tok); i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '.' || c == '_' || c == '/' || c == ':' || c == '@' ||
		    c == '=' || c == '*' || c == ',' || (c == '-' && i > 0)) {
			tok[n++] = (char)c;
		} else {
			tok[n++] = '%';
			tok[n++] = hexd[c >> 4];
			tok[n++] = hexd[c & 15];
		}
	}
	tok[n] = '\0';
	an_put(b, " %s", tok);
}

static void
an_put_freq(struct an_sb *b, const char *tag, const struct rb_freq *t)
{
	size_t i;

	an_put(b, "%s %" PRId64 " %.17g\n", tag, t->fq_t, t->fq_total);
	for (i = 0; i < RB_FREQ_CAP; i++) {
		if (t->fq_key[i] == NULL)
			continue;
		an_put(b, "fe");
		an_put_str(b, t->fq_key[i]);
		an_put(b, " %.17g\n", t->fq_cnt[i]);
	}
}

static int
an_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return SC_ERR_INVAL;
	an_hex(md, 32, hex);
	return SC_OK;
}

int
an_serialize(const struct an_state *st, char **out, size_t *outlen)
{
	struct an_sb b = { NULL, 0, 0, 0 };
	char hex[65];
	size_t i, k, pos, run;
	int d;

	*out = NULL;
	*outlen = 0;
	b.sb_cap = 4096;
	b.sb_buf = malloc(b.sb_cap);
	if (b.sb_buf == NULL)
		return SC_ERR_NOSPACE;
	b.sb_buf[0] = '\0';
	an_put(&b, "%s %d\n", AN_MAGIC, AN_VERSION);
	for (i = 0; i < st->st_nns; i++) {
		const struct an_ns *ns = st->st_ns[i];

		an_put(&b, "ns");
		an_put_str(&b, ns->ns_name);
		an_put(&b, " %" PRId64 " %" PRId64 " %" PRIu64 " %" PRId64 "\n", ns->ns_first,
		       ns->ns_last, ns->ns_obs, ns->ns_burst_hour);
		for (d = 0; d < AN_DIM_COUNT; d++)
			an_put_freq(&b, an_dim_names[d], &ns->ns_tab[d]);
		an_put(&b, "dur %zu", ns->ns_dur.rg_n);
		/* Oldest first, so that reloading by pushing restores the ring's order. */
		for (k = 0; k < ns->ns_dur.rg_n; k++) {
			pos = (ns->ns_dur.rg_next + RB_RING_CAP - ns->ns_dur.rg_n + k) % RB_RING_CAP;
			an_put(&b, " %.17g", ns->ns_dur.rg_v[pos]);
		}
		an_put(&b, "\nhours %" PRId64, ns->ns_hours.hr_t);
		for (k = 0; k < RB_HOURS; k++)
			an_put(&b, " %.17g", ns->ns_hours.hr_cnt[k]);
		an_put(&b, "\nrate %d %" PRId64 " %" PRIu32, ns->ns_rate.rt_used, ns->ns_rate.rt_hour,
		       ns->ns_rate.rt_hours);
		/* Runs of one count (mostly zeros) are written "COUNTxRUN" to keep the line short. */
		for (k = 0; k < RB_RATE_SLOTS; k = run) {
			for (run = k + 1; run < RB_RATE_SLOTS &&
					  ns->ns_rate.rt_cnt[run] == ns->ns_rate.rt_cnt[k];
			     run++)
				;
			if (run - k >= 3) {
				an_put(&b, " %" PRIu32 "x%zu", ns->ns_rate.rt_cnt[k], run - k);
			} else {
				run = k + 1;
				an_put(&b, " %" PRIu32, ns->ns_rate.rt_cnt[k]);
			}
		}
		an_put(&b, "\n");
	}
	for (i = 0; i < st->st_nca; i++) {
		an_put(&b, "ca");
		an_put_str(&b, st->st_ca[i].ca_issuer);
		an_put(&b, " %" PRId64 "\n", st->st_ca[i].ca_last);
		an_put_freq(&b, "dn", &st->st_ca[i].ca_dn);
	}
	for (k = 0; k < st->st_keys.f_n; k++) {
		const struct an_key *e;

		pos = (st->st_keys.f_head + k) % st->st_keys.f_cap;
		e = &st->st_key[pos];
		an_hex(e->k_spki, 32, hex);
		an_put(&b, "key %s %" PRId64, hex, e->k_time);
		an_put_str(&b, e->k_ref);
		an_put(&b, "\n");
	}
	for (k = 0; k < st->st_uids.f_n; k++) {
		pos = (st->st_uids.f_head + k) % st->st_uids.f_cap;
		an_put(&b, "uid %016" PRIx64 " %u\n", st->st_uids.f_key[pos], st->st_uid_flags[pos]);
	}
	if (!b.sb_oom && an_sha256_hex(b.sb_buf, b.sb_len, hex) == SC_OK)
		an_put(&b, "sha256 %s\n", hex);
	else
		b.sb_oom = 1;
	if (b.sb_oom) {
		free(b.sb_buf);
		return SC_ERR_NOSPACE;
	}
	*out = b.sb_buf;
	*outlen = b.sb_len;
	return SC_OK;
}

/* ---- restore ------------------------------------------------------------------------------- */

static int
an_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes a token from an_put_str into out (size RB_KEY_MAX). SC_OK or SC_ERR_PARSE. */
static int
an_unstr(const char *tok, char *out)
{
	size_t n = 0;
	int hi, lo;

	if (strcmp(tok, "-") == 0) {
		out[0] = '\0';
		return SC_OK;
	}
	for (; *tok != '\0'; tok++) {
		if (n + 1 >= RB_KEY_MAX)
			return SC_ERR_PARSE;
		if (*tok != '%') {
			out[n++] = *tok;
			continue;
		}
		hi = an_hexval((unsigned char)tok[1]);
		lo = hi < 0 ? -1 : an_hexval((unsigned char)tok[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return SC_ERR_PARSE;
		out[n++] = (char)(hi * 16 + lo);
		tok += 2;
	}
	out[n] = '\0';
	return SC_OK;
}

static int
an_i64(const char *tok, int64_t *v)
{
	char *end;
	long long x;

	if (tok == NULL)
		return SC_ERR_PARSE;
	x = strtoll(tok, &end, 10);
	if (end == tok || *end != '\0')
		return SC_ERR_PARSE;
	*v = (int64_t)x;
	return SC_OK;
}

/* A time (or hour index) in [0, AN_TIME_MAX], so that differences cannot overflow. */
static int
an_time(const char *tok, int64_t *v)
{
	if (an_i64(tok, v) != SC_OK || *v < 0 || *v > AN_TIME_MAX)
		return SC_ERR_PARSE;
	return SC_OK;
}

static int
an_dbl(const char *tok, double *v)
{
	char *end;

	if (tok == NULL)
		return SC_ERR_PARSE;
	*v = strtod(tok, &end);
	if (end == tok || *end != '\0' || !isfinite(*v))
		return SC_ERR_PARSE;
	return SC_OK;
}

/* A count with an optional repeat, "7" or "0x12"; the repeat is at least 1. */
static int
an_run(const char *tok, int64_t *v, size_t *n)
{
	char num[24], *end;
	const char *x;
	long long r;
	size_t l;

	if (tok == NULL)
		return SC_ERR_PARSE;
	x = strchr(tok, 'x');
	l = x != NULL ? (size_t)(x - tok) : strlen(tok);
	if (l == 0 || l >= sizeof(num))
		return SC_ERR_PARSE;
	memcpy(num, tok, l);
	num[l] = '\0';
	if (an_i64(num, v) != SC_OK || *v < 0 || *v > UINT32_MAX)
		return SC_ERR_PARSE;
	*n = 1;
	if (x != NULL) {
		r = strtoll(x + 1, &end, 10);
		if (end == x + 1 || *end != '\0' || r < 1 || r > RB_RATE_SLOTS)
			return SC_ERR_PARSE;
		*n = (size_t)r;
	}
	return SC_OK;
}

/* Reading context: the namespace / CA table the indented lines belong to. */
struct an_rd {
	struct an_state *rd_st;  /* being filled */
	struct an_ns *rd_ns;     /* current namespace, NULL before the first */
	struct rb_freq *rd_freq; /* table "fe" lines go to */
	uint32_t rd_ns_parts;    /* bit per part seen for the current namespace */
};

static int
an_rd_freq(struct rb_freq *t, char **save)
{
	int64_t ts;
	double total;

	if (an_time(strtok_r(NULL, " ", save), &ts) != SC_OK ||
	    an_dbl(strtok_r(NULL, " ", save), &total) != SC_OK || total < 0 ||
	    strtok_r(NULL, " ", save) != NULL)
		return SC_ERR_PARSE;
	t->fq_t = ts;
	t->fq_total = total;
	return SC_OK;
}

static int
an_rd_fe(struct rb_freq *t, char **save)
{
	char key[RB_KEY_MAX];
	const char *tok = strtok_r(NULL, " ", save);
	double c;
	size_t i;

	if (t == NULL || tok == NULL || an_unstr(tok, key) != SC_OK || key[0] == '\0' ||
	    an_dbl(strtok_r(NULL, " ", save), &c) != SC_OK || c < 0 ||
	    strtok_r(NULL, " ", save) != NULL || t->fq_n >= RB_FREQ_CAP)
		return SC_ERR_PARSE;
	for (i = 0; i < RB_FREQ_CAP; i++)
		if (t->fq_key[i] != NULL && strcmp(t->fq_key[i], key) == 0)
			return SC_ERR_PARSE;
	for (i = 0; i < RB_FREQ_CAP && t->fq_key[i] != NULL; i++)
		;
	t->fq_key[i] = strdup(key);
	if (t->fq_key[i] == NULL)
		return SC_ERR_NOSPACE;
	t->fq_cnt[i] = c;
	t->fq_n++;
	return SC_OK;
}

static int
an_rd_ns(struct an_rd *rd, char **save)
{
	char name[RB_KEY_MAX];
	const char *tok = strtok_r(NULL, " ", save);
	int64_t first, last, obs, burst;

	if (tok == NULL || an_unstr(tok, name) != SC_OK || name[0] == '\0' ||
	    an_time(strtok_r(NULL, " ", save), &first) != SC_OK ||
	    an_time(strtok_r(NULL, " ", save), &last) != SC_OK ||
	    an_i64(strtok_r(NULL, " ", save), &obs) != SC_OK || obs < 0 ||
	    an_i64(strtok_r(NULL, " ", save), &burst) != SC_OK || burst < -1 ||
	    burst > AN_TIME_MAX || strtok_r(NULL, " ", save) != NULL ||
	    an_ns_find(rd->rd_st, name) != NULL)
		return SC_ERR_PARSE;
	rd->rd_ns = an_ns_get(rd->rd_st, name, first);
	if (rd->rd_ns == NULL)
		return SC_ERR_NOSPACE;
	rd->rd_ns->ns_last = last;
	rd->rd_ns->ns_obs = (uint64_t)obs;
	rd->rd_ns->ns_burst_hour = burst;
	rd->rd_freq = NULL;
	rd->rd_ns_parts = 0;
	return SC_OK;
}

static int
an_rd_ns_part(struct an_rd *rd, const char *tag, char **save)
{
	struct an_ns *ns = rd->rd_ns;
	int64_t v, h;
	double x;
	size_t k, n, i;
	int d;

	if (ns == NULL)
		return SC_ERR_PARSE;
	for (d = 0; d < AN_DIM_COUNT; d++) {
		if (strcmp(tag, an_dim_names[d]) == 0) {
			if (rd->rd_ns_parts & (1u << d))
				return SC_ERR_PARSE;
			rd->rd_ns_parts |= 1u << d;
			rd->rd_freq = &ns->ns_tab[d];
			return an_rd_freq(rd->rd_freq, save);
		}
	}
	rd->rd_freq = NULL; /* "fe" lines belong to the frequency tables only */
	if (strcmp(tag, "dur") == 0) {
		if (an_i64(strtok_r(NULL, " ", save), &v) != SC_OK || v < 0 || v > RB_RING_CAP ||
		    (rd->rd_ns_parts & 16u))
			return SC_ERR_PARSE;
		n = (size_t)v;
		for (k = 0; k < n; k++) {
			if (an_dbl(strtok_r(NULL, " ", save), &x) != SC_OK || !(x >= 1))
				return SC_ERR_PARSE;
			rb_ring_push(&ns->ns_dur, x);
		}
		rd->rd_ns_parts |= 16u;
	} else if (strcmp(tag, "hours") == 0) {
		if (an_time(strtok_r(NULL, " ", save), &v) != SC_OK || (rd->rd_ns_parts & 32u))
			return SC_ERR_PARSE;
		ns->ns_hours.hr_t = v;
		for (k = 0; k < RB_HOURS; k++)
			if (an_dbl(strtok_r(NULL, " ", save), &ns->ns_hours.hr_cnt[k]) != SC_OK ||
			    ns->ns_hours.hr_cnt[k] < 0)
				return SC_ERR_PARSE;
		rd->rd_ns_parts |= 32u;
	} else if (strcmp(tag, "rate") == 0) {
		if (an_i64(strtok_r(NULL, " ", save), &v) != SC_OK || (v != 0 && v != 1) ||
		    an_time(strtok_r(NULL, " ", save), &h) != SC_OK || (rd->rd_ns_parts & 64u))
			return SC_ERR_PARSE;
		ns->ns_rate.rt_used = (int)v;
		ns->ns_rate.rt_hour = h;
		if (an_i64(strtok_r(NULL, " ", save), &v) != SC_OK || v < 0 || v >= RB_RATE_SLOTS)
			return SC_ERR_PARSE;
		ns->ns_rate.rt_hours = (uint32_t)v;
		for (k = 0; k < RB_RATE_SLOTS; k += n) {
			if (an_run(strtok_r(NULL, " ", save), &v, &n) != SC_OK ||
			    n > RB_RATE_SLOTS - k)
				return SC_ERR_PARSE;
			for (i = 0; i < n; i++)
				ns->ns_rate.rt_cnt[k + i] = (uint32_t)v;
		}
		rd->rd_ns_parts |= 64u;
	} else {
		return SC_ERR_PARSE;
	}
	return strtok_r(NULL, " ", save) == NULL ? SC_OK : SC_ERR_PARSE;
}

static int
an_rd_ca(struct an_rd *rd, char **save)
{
	char name[RB_KEY_MAX];
	const char *tok = strtok_r(NULL, " ", save);
	struct an_ca *ca;
	size_t i;
	int64_t last;

	if (tok == NULL || an_unstr(tok, name) != SC_OK || name[0] == '\0' ||
	    an_time(strtok_r(NULL, " ", save), &last) != SC_OK || strtok_r(NULL, " ", save) != NULL)
		return SC_ERR_PARSE;
	for (i = 0; i < rd->rd_st->st_nca; i++)
		if (strcmp(rd->rd_st->st_ca[i].ca_issuer, name) == 0)
			return SC_ERR_PARSE;
	ca = an_ca_get(rd->rd_st, name, last);
	if (ca == NULL)
		return SC_ERR_NOSPACE;
	rd->rd_ns = NULL;
	rd->rd_freq = NULL;
	/* "dn" must follow at once; remember where it goes through rd_freq's sibling. */
	rd->rd_freq = &ca->ca_dn;
	rd->rd_ns_parts = 1u << 8; /* expecting "dn" */
	return SC_OK;
}

static int
an_rd_key(struct an_rd *rd, char **save)
{
	struct an_state *st = rd->rd_st;
	const char *hex = strtok_r(NULL, " ", save), *tok;
	unsigned char spki[32];
	char ref[RB_KEY_MAX];
	int64_t when;
	size_t i, pos;
	int hi, lo, ev;
	struct an_key *e;

	if (hex == NULL || strlen(hex) != 64)
		return SC_ERR_PARSE;
	for (i = 0; i < 32; i++) {
		hi = an_hexval((unsigned char)hex[2 * i]);
		lo = an_hexval((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return SC_ERR_PARSE;
		spki[i] = (unsigned char)(hi * 16 + lo);
	}
	tok = NULL;
	if (an_time(strtok_r(NULL, " ", save), &when) != SC_OK ||
	    (tok = strtok_r(NULL, " ", save)) == NULL || an_unstr(tok, ref) != SC_OK ||
	    strtok_r(NULL, " ", save) != NULL ||
	    an_fifo_find(&st->st_keys, an_spki_key(spki)) >= 0)
		return SC_ERR_PARSE;
	pos = an_fifo_push(&st->st_keys, an_spki_key(spki), &ev);
	e = &st->st_key[pos];
	free(e->k_ref);
	e->k_ref = strdup(ref);
	memcpy(e->k_spki, spki, 32);
	e->k_time = when;
	return e->k_ref == NULL ? SC_ERR_NOSPACE : SC_OK;
}

static int
an_rd_uid(struct an_rd *rd, char **save)
{
	struct an_state *st = rd->rd_st;
	const char *tok = strtok_r(NULL, " ", save);
	unsigned long long h;
	int64_t fl;
	char *end;
	size_t pos;
	int ev;

	if (tok == NULL || strlen(tok) != 16)
		return SC_ERR_PARSE;
	h = strtoull(tok, &end, 16);
	if (*end != '\0' || an_i64(strtok_r(NULL, " ", save), &fl) != SC_OK || fl < 0 || fl > 7 ||
	    strtok_r(NULL, " ", save) != NULL || an_fifo_find(&st->st_uids, (uint64_t)h) >= 0)
		return SC_ERR_PARSE;
	pos = an_fifo_push(&st->st_uids, (uint64_t)h, &ev);
	st->st_uid_flags[pos] = (uint8_t)fl;
	return SC_OK;
}

static int
an_rd_line(struct an_rd *rd, char *line)
{
	char *save = NULL, *tag = strtok_r(line, " ", &save);
	int rc;

	if (tag == NULL)
		return SC_ERR_PARSE;
	if (rd->rd_ns_parts == (1u << 8)) {
		/* Right after "ca": only its "dn" table may come. */
		if (strcmp(tag, "dn") != 0)
			return SC_ERR_PARSE;
		rd->rd_ns_parts = 1u << 9;
		return an_rd_freq(rd->rd_freq, &save);
	}
	if (strcmp(tag, "fe") == 0)
		return an_rd_fe(rd->rd_freq, &save);
	if (rd->rd_ns != NULL && rd->rd_ns_parts != 127u && strcmp(tag, "ns") != 0 &&
	    strcmp(tag, "ca") != 0 && strcmp(tag, "key") != 0 && strcmp(tag, "uid") != 0)
		return an_rd_ns_part(rd, tag, &save);
	/* Any other line closes the current namespace, which must then be complete. */
	if (rd->rd_ns != NULL && rd->rd_ns_parts != 127u)
		return SC_ERR_PARSE;
	rd->rd_ns = NULL;
	rd->rd_freq = NULL;
	rd->rd_ns_parts = 0;
	if (strcmp(tag, "ns") == 0)
		rc = an_rd_ns(rd, &save);
	else if (strcmp(tag, "ca") == 0)
		rc = an_rd_ca(rd, &save);
	else if (strcmp(tag, "key") == 0)
		rc = an_rd_key(rd, &save);
	else if (strcmp(tag, "uid") == 0)
		rc = an_rd_uid(rd, &save);
	else
		rc = SC_ERR_PARSE;
	return rc;
}

static void an_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
an_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
an_deserialize(const struct an_config *cfg, const char *buf, size_t len, struct an_state **out,
	       char *err, size_t errlen)
{
	struct an_rd rd;
	struct an_state *st = NULL;
	char *line = NULL, hex[65], *end;
	const char *p, *nl, *stop;
	size_t ml = strlen(AN_MAGIC), n, start;
	unsigned lineno = 1;
	long ver;
	int rc = SC_ERR_PARSE;

	*out = NULL;
	if (buf == NULL || len == 0) {
		an_err(err, errlen, "empty input");
		return SC_ERR_PARSE;
	}
	if (len < ml + 2 || memcmp(buf, AN_MAGIC " ", ml + 1) != 0) {
		an_err(err, errlen, "line 1: not certcast baselines (expected '%s <version>')",
		       AN_MAGIC);
		return SC_ERR_PARSE;
	}
	nl = memchr(buf, '\n', len);
	n = nl == NULL ? len : (size_t)(nl - buf);
	{
		char first[64];

		if (n >= sizeof(first)) {
			an_err(err, errlen, "line 1: too long");
			return SC_ERR_PARSE;
		}
		memcpy(first, buf, n);
		first[n] = '\0';
		ver = strtol(first + ml + 1, &end, 10);
		if (end == first + ml + 1 || *end != '\0') {
			an_err(err, errlen, "line 1: malformed version");
			return SC_ERR_PARSE;
		}
	}
	if (ver != AN_VERSION) {
		an_err(err, errlen, "line 1: unsupported version %ld (this build reads %d)", ver,
		       AN_VERSION);
		return SC_ERR_PARSE;
	}
	if (len < AN_SHA_LINE || buf[len - 1] != '\n' ||
	    (start = len - AN_SHA_LINE, (start > 0 && buf[start - 1] != '\n')) ||
	    memcmp(buf + start, "sha256 ", 7) != 0) {
		an_err(err, errlen, "truncated: no 'sha256' checksum line at the end");
		return SC_ERR_PARSE;
	}
	if (an_sha256_hex(buf, start, hex) != SC_OK || memcmp(buf + start + 7, hex, 64) != 0) {
		an_err(err, errlen, "checksum mismatch: the content was changed or damaged");
		return SC_ERR_PARSE;
	}
	rc = an_new(cfg, &st);
	if (rc != SC_OK) {
		an_err(err, errlen, "out of memory");
		return rc;
	}
	line = malloc(AN_LINE_MAX);
	if (line == NULL) {
		rc = SC_ERR_NOSPACE;
		an_err(err, errlen, "out of memory");
		goto out;
	}
	memset(&rd, 0, sizeof(rd));
	rd.rd_st = st;
	stop = buf + start;
	for (p = nl + 1; p < stop; p = nl + 1) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(stop - p));
		n = (size_t)(nl - p);
		if (n >= AN_LINE_MAX || memchr(p, '\0', n) != NULL) {
			rc = SC_ERR_PARSE;
			an_err(err, errlen, "line %u: too long or contains NUL", lineno);
			goto out;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		rc = an_rd_line(&rd, line);
		if (rc != SC_OK) {
			an_err(err, errlen, "line %u: %s", lineno,
			       rc == SC_ERR_NOSPACE ? "out of memory" : "malformed, unknown or out of place");
			goto out;
		}
	}
	if ((rd.rd_ns != NULL && rd.rd_ns_parts != 127u) || rd.rd_ns_parts == (1u << 8)) {
		rc = SC_ERR_PARSE;
		an_err(err, errlen, "line %u: incomplete namespace or CA entry at the end", lineno);
		goto out;
	}
	rc = SC_OK;
	*out = st;
	st = NULL;
out:
	free(line);
	an_free(st);
	return rc;
}
