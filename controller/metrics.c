/* metrics: labelled counters, gauges and histograms, and the Prometheus text writer. */
#include "metrics.h"
#include "hash.h"

#include "cc_err.h"
#include "log.h"
#include "xalloc.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct met_series {
	char *se_key;                 /* label values, length-prefixed, so no value can collide */
	size_t se_keylen;             /* bytes in se_key */
	uint64_t se_hash;             /* FNV-1a of se_key */
	char **se_values;             /* copies of the label values, mf_nlabels of them */
	double se_value;              /* counter or gauge value */
	unsigned long long *se_counts;/* histogram: observations per finite bucket (not cumulative) */
	double se_sum;                /* histogram: sum of observations */
	unsigned long long se_count;  /* histogram: number of observations */
	struct met_series *se_hnext;  /* next in the hash chain */
	struct met_series *se_prev;   /* creation order, for a stable output */
	struct met_series *se_next;
};

struct met_family {
	struct met_registry *mf_reg;  /* owner, whose lock guards everything below */
	char *mf_name;                /* metric name */
	char *mf_help;                /* HELP text, unescaped */
	enum met_type mf_type;
	char **mf_labels;             /* label names */
	size_t mf_nlabels;
	double *mf_buckets;           /* histogram upper bounds, strictly increasing, finite */
	size_t mf_nbuckets;
	struct met_series **mf_table; /* hash table of series */
	size_t mf_tsize;              /* slots in mf_table, a power of two */
	size_t mf_count;              /* series in the family */
	struct met_series *mf_head;   /* oldest series */
	struct met_series *mf_tail;   /* newest series */
	struct met_family *mf_next;   /* registration order */
};

struct met_collector {
	met_collect_fn mc_fn;
	void *mc_arg;
	struct met_collector *mc_next;
};

struct met_registry {
	pthread_mutex_t mr_mu;          /* guards families, series and the collector list */
	struct met_family *mr_head;     /* families in registration order */
	struct met_family *mr_tail;
	struct met_collector *mr_coll;  /* collectors in the order added */
	struct met_collector *mr_coll_tail;
};

struct met_registry *
met_registry_new(void)
{
	struct met_registry *r = xcalloc(1, sizeof *r);
	pthread_mutex_init(&r->mr_mu, NULL);
	return r;
}

static void
met_series_free(struct met_series *s, size_t nlabels)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < nlabels; i++)
		free(s->se_values[i]);
	free(s->se_values);
	free(s->se_counts);
	free(s->se_key);
	free(s);
}

static void
met_family_free(struct met_family *f)
{
	if (f == NULL)
		return;
	struct met_series *s = f->mf_head;
	while (s) {
		struct met_series *n = s->se_next;
		met_series_free(s, f->mf_nlabels);
		s = n;
	}
	for (size_t i = 0; i < f->mf_nlabels; i++)
		free(f->mf_labels[i]);
	free(f->mf_labels);
	free(f->mf_buckets);
	free(f->mf_table);
	free(f->mf_name);
	free(f->mf_help);
	free(f);
}

void
met_registry_free(struct met_registry *r)
{
	if (r == NULL)
		return;
	struct met_family *f = r->mr_head;
	while (f) {
		struct met_family *n = f->mf_next;
		met_family_free(f);
		f = n;
	}
	struct met_collector *c = r->mr_coll;
	while (c) {
		struct met_collector *n = c->mc_next;
		free(c);
		c = n;
	}
	pthread_mutex_destroy(&r->mr_mu);
	free(r);
}

static int
met_valid_name(const char *s, int allow_colon)
{
	if (s == NULL || s[0] == '\0')
		return 0;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		    (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return 0;
	}
	return 1;
}

static struct met_series *met_get(struct met_family *f, const char *const *lv, char *key,
    size_t keylen);

static struct met_family *
met_find_family(struct met_registry *r, const char *name)
{
	for (struct met_family *f = r->mr_head; f; f = f->mf_next)
		if (strcmp(f->mf_name, name) == 0)
			return f;
	return NULL;
}

int
met_register(struct met_registry *r, const char *name, const char *help, enum met_type type,
    const char *const *label_names, size_t nlabels, const double *buckets, size_t nbuckets,
    struct met_family **out)
{
	if (!met_valid_name(name, 1)) {
		log_error("invalid metric name \"%s\"", name ? name : "(null)");
		return CC_ERR_INVAL;
	}
	if (type != MET_COUNTER && type != MET_GAUGE && type != MET_HISTOGRAM) {
		log_error("metric %s: unknown type %d", name, (int)type);
		return CC_ERR_INVAL;
	}
	for (size_t i = 0; i < nlabels; i++) {
		const char *l = label_names[i];
		if (!met_valid_name(l, 0) || strncmp(l, "__", 2) == 0 ||
		    (type == MET_HISTOGRAM && strcmp(l, "le") == 0)) {
			log_error("metric %s: invalid label name \"%s\"", name, l ? l : "(null)");
			return CC_ERR_INVAL;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(label_names[j], l) == 0) {
				log_error("metric %s: label \"%s\" given twice", name, l);
				return CC_ERR_INVAL;
			}
		}
	}
	if (type != MET_HISTOGRAM && nbuckets > 0) {
		log_error("metric %s: buckets given for a non-histogram", name);
		return CC_ERR_INVAL;
	}
	if (type == MET_HISTOGRAM && nbuckets == 0) {
		log_error("metric %s: a histogram needs at least one bucket", name);
		return CC_ERR_INVAL;
	}
	for (size_t i = 0; i < nbuckets; i++) {
		if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
			log_error("metric %s: bucket %zu is not finite and increasing", name, i);
			return CC_ERR_INVAL;
		}
	}

	pthread_mutex_lock(&r->mr_mu);
	if (met_find_family(r, name) != NULL) {
		pthread_mutex_unlock(&r->mr_mu);
		log_error("metric %s registered twice", name);
		return CC_ERR_INVAL;
	}
	struct met_family *f = xcalloc(1, sizeof *f);
	f->mf_reg = r;
	f->mf_name = xstrdup(name);
	f->mf_help = xstrdup(help ? help : "");
	f->mf_type = type;
	f->mf_nlabels = nlabels;
	f->mf_labels = xcalloc(nlabels ? nlabels : 1, sizeof *f->mf_labels);
	for (size_t i = 0; i < nlabels; i++)
		f->mf_labels[i] = xstrdup(label_names[i]);
	if (nbuckets) {
		f->mf_buckets = xcalloc(nbuckets, sizeof *f->mf_buckets);
		memcpy(f->mf_buckets, buckets, nbuckets * sizeof *buckets);
	}
	f->mf_nbuckets = nbuckets;
	f->mf_tsize = 16;
	f->mf_table = xcalloc(f->mf_tsize, sizeof *f->mf_table);
	if (r->mr_tail)
		r->mr_tail->mf_next = f;
	else
		r->mr_head = f;
	r->mr_tail = f;
	/* A family without labels has exactly one series: expose it (at zero) from the start. */
	if (nlabels == 0)
		met_get(f, NULL, xstrdup(""), 0);
	pthread_mutex_unlock(&r->mr_mu);
	*out = f;
	return CC_OK;
}

/* Build the lookup key: each value as "<len>:<bytes>". NULL values make it fail. */
static int
met_make_key(const struct met_family *f, const char *const *lv, char **key, size_t *keylen)
{
	size_t n = 0;
	for (size_t i = 0; i < f->mf_nlabels; i++) {
		if (lv == NULL || lv[i] == NULL) {
			log_error("metric %s: label %s has no value", f->mf_name, f->mf_labels[i]);
			return CC_ERR_INVAL;
		}
		n += strlen(lv[i]) + 24;
	}
	char *k = xmalloc(n + 1);
	size_t off = 0;
	for (size_t i = 0; i < f->mf_nlabels; i++) {
		size_t l = strlen(lv[i]);
		int w = snprintf(k + off, n + 1 - off, "%zu:", l);
		off += (size_t)w;
		memcpy(k + off, lv[i], l);
		off += l;
	}
	k[off] = '\0';
	*key = k;
	*keylen = off;
	return CC_OK;
}

static struct met_series *
met_lookup(struct met_family *f, const char *key, size_t keylen, uint64_t h)
{
	for (struct met_series *s = f->mf_table[h & (f->mf_tsize - 1)]; s; s = s->se_hnext)
		if (s->se_hash == h && s->se_keylen == keylen && memcmp(s->se_key, key, keylen) == 0)
			return s;
	return NULL;
}

static void
met_grow(struct met_family *f)
{
	size_t nsize = f->mf_tsize * 2;
	struct met_series **nt = xcalloc(nsize, sizeof *nt);
	for (struct met_series *s = f->mf_head; s; s = s->se_next) {
		size_t slot = s->se_hash & (nsize - 1);
		s->se_hnext = nt[slot];
		nt[slot] = s;
	}
	free(f->mf_table);
	f->mf_table = nt;
	f->mf_tsize = nsize;
}

/* Find or create the series; takes ownership of key. Called with the lock held. */
static struct met_series *
met_get(struct met_family *f, const char *const *lv, char *key, size_t keylen)
{
	uint64_t h = hash_fnv1a(HASH_FNV_INIT, key, keylen);
	struct met_series *s = met_lookup(f, key, keylen, h);
	if (s) {
		free(key);
		return s;
	}
	if (f->mf_count + 1 > f->mf_tsize)
		met_grow(f);
	s = xcalloc(1, sizeof *s);
	s->se_key = key;
	s->se_keylen = keylen;
	s->se_hash = h;
	s->se_values = xcalloc(f->mf_nlabels ? f->mf_nlabels : 1, sizeof *s->se_values);
	for (size_t i = 0; i < f->mf_nlabels; i++)
		s->se_values[i] = xstrdup(lv[i]);
	if (f->mf_type == MET_HISTOGRAM)
		s->se_counts = xcalloc(f->mf_nbuckets, sizeof *s->se_counts);
	size_t slot = h & (f->mf_tsize - 1);
	s->se_hnext = f->mf_table[slot];
	f->mf_table[slot] = s;
	s->se_prev = f->mf_tail;
	if (f->mf_tail)
		f->mf_tail->se_next = s;
	else
		f->mf_head = s;
	f->mf_tail = s;
	f->mf_count++;
	return s;
}

enum met_op { MET_OP_ADD, MET_OP_SET, MET_OP_OBSERVE };

static int
met_update(struct met_family *f, enum met_type want, enum met_op op, const char *const *lv,
    double v)
{
	if (f == NULL || f->mf_type != want)
		return CC_ERR_INVAL;
	if (isnan(v) && want != MET_GAUGE)
		return CC_ERR_INVAL;
	if (want == MET_COUNTER && v < 0)
		return CC_ERR_INVAL;
	char *key;
	size_t keylen;
	int rc = met_make_key(f, lv, &key, &keylen);
	if (rc != CC_OK)
		return rc;
	pthread_mutex_lock(&f->mf_reg->mr_mu);
	struct met_series *s = met_get(f, lv, key, keylen);
	switch (op) {
	case MET_OP_ADD:
		s->se_value += v;
		break;
	case MET_OP_SET:
		s->se_value = v;
		break;
	case MET_OP_OBSERVE:
		for (size_t i = 0; i < f->mf_nbuckets; i++) {
			if (v <= f->mf_buckets[i]) {
				s->se_counts[i]++;
				break;
			}
		}
		s->se_sum += v;
		s->se_count++;
		break;
	}
	pthread_mutex_unlock(&f->mf_reg->mr_mu);
	return CC_OK;
}

int
met_counter_add(struct met_family *f, const char *const *label_values, double v)
{
	return met_update(f, MET_COUNTER, MET_OP_ADD, label_values, v);
}

int
met_counter_set(struct met_family *f, const char *const *label_values, double v)
{
	return met_update(f, MET_COUNTER, MET_OP_SET, label_values, v);
}

int
met_gauge_set(struct met_family *f, const char *const *label_values, double v)
{
	return met_update(f, MET_GAUGE, MET_OP_SET, label_values, v);
}

int
met_histogram_observe(struct met_family *f, const char *const *label_values, double v)
{
	return met_update(f, MET_HISTOGRAM, MET_OP_OBSERVE, label_values, v);
}

int
met_remove(struct met_family *f, const char *const *label_values)
{
	char *key;
	size_t keylen;
	int rc = met_make_key(f, label_values, &key, &keylen);
	if (rc != CC_OK)
		return rc;
	uint64_t h = hash_fnv1a(HASH_FNV_INIT, key, keylen);
	pthread_mutex_lock(&f->mf_reg->mr_mu);
	struct met_series **pp = &f->mf_table[h & (f->mf_tsize - 1)];
	struct met_series *s = NULL;
	for (; *pp; pp = &(*pp)->se_hnext) {
		if ((*pp)->se_hash == h && (*pp)->se_keylen == keylen &&
		    memcmp((*pp)->se_key, key, keylen) == 0) {
			s = *pp;
			*pp = s->se_hnext;
			break;
		}
	}
	if (s) {
		if (s->se_prev)
			s->se_prev->se_next = s->se_next;
		else
			f->mf_head = s->se_next;
		if (s->se_next)
			s->se_next->se_prev = s->se_prev;
		else
			f->mf_tail = s->se_prev;
		f->mf_count--;
	}
	pthread_mutex_unlock(&f->mf_reg->mr_mu);
	free(key);
	if (s == NULL)
		return CC_ERR_NOTFOUND;
	met_series_free(s, f->mf_nlabels);
	return CC_OK;
}

int
met_value(struct met_family *f, const char *const *label_values, double *out)
{
	char *key;
	size_t keylen;
	int rc = met_make_key(f, label_values, &key, &keylen);
	if (rc != CC_OK)
		return rc;
	pthread_mutex_lock(&f->mf_reg->mr_mu);
	struct met_series *s = met_lookup(f, key, keylen, hash_fnv1a(HASH_FNV_INIT, key, keylen));
	rc = CC_ERR_NOTFOUND;
	if (s) {
		*out = f->mf_type == MET_HISTOGRAM ? (double)s->se_count : s->se_value;
		rc = CC_OK;
	}
	pthread_mutex_unlock(&f->mf_reg->mr_mu);
	free(key);
	return rc;
}

size_t
met_series_count(struct met_family *f)
{
	pthread_mutex_lock(&f->mf_reg->mr_mu);
	size_t n = f->mf_count;
	pthread_mutex_unlock(&f->mf_reg->mr_mu);
	return n;
}

void
met_add_collector(struct met_registry *r, met_collect_fn fn, void *arg)
{
	struct met_collector *c = xcalloc(1, sizeof *c);
	c->mc_fn = fn;
	c->mc_arg = arg;
	pthread_mutex_lock(&r->mr_mu);
	if (r->mr_coll_tail)
		r->mr_coll_tail->mc_next = c;
	else
		r->mr_coll = c;
	r->mr_coll_tail = c;
	pthread_mutex_unlock(&r->mr_mu);
}

/* Shortest decimal that reads back as v, in the spellings the text format accepts. */
static void
met_fmt_value(double v, char *out, size_t outsz)
{
	if (isnan(v)) {
		xstrlcpy(out, "NaN", outsz);
		return;
	}
	if (isinf(v)) {
		xstrlcpy(out, v > 0 ? "+Inf" : "-Inf", outsz);
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(out, outsz, "%.0f", v);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, outsz, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* Escape for HELP (backslash, newline) or label values (also the double quote). */
static int
met_put_escaped(struct buf *b, const char *s, int quote)
{
	int rc = CC_OK;
	size_t start = 0, i = 0;
	for (; s[i] && rc == CC_OK; i++) {
		const char *rep = NULL;
		if (s[i] == '\\')
			rep = "\\\\";
		else if (s[i] == '\n')
			rep = "\\n";
		else if (quote && s[i] == '"')
			rep = "\\\"";
		if (rep == NULL)
			continue;
		rc = buf_append(b, s + start, i - start);
		if (rc == CC_OK)
			rc = buf_append_str(b, rep);
		start = i + 1;
	}
	if (rc == CC_OK)
		rc = buf_append(b, s + start, i - start);
	return rc;
}

/* name{l1="v1",...,extra="x"} value\n; extra_name may be NULL. */
static int
met_put_sample(struct buf *b, const struct met_family *f, const char *suffix,
    const struct met_series *s, const char *extra_name, const char *extra_value, double v)
{
	char num[40];
	int rc = buf_printf(b, "%s%s", f->mf_name, suffix);
	int any = 0;
	for (size_t i = 0; rc == CC_OK && i < f->mf_nlabels; i++) {
		rc = buf_printf(b, "%s%s=\"", any ? "," : "{", f->mf_labels[i]);
		if (rc == CC_OK)
			rc = met_put_escaped(b, s->se_values[i], 1);
		if (rc == CC_OK)
			rc = buf_append_str(b, "\"");
		any = 1;
	}
	if (rc == CC_OK && extra_name) {
		rc = buf_printf(b, "%s%s=\"%s\"", any ? "," : "{", extra_name, extra_value);
		any = 1;
	}
	if (rc == CC_OK && any)
		rc = buf_append_str(b, "}");
	met_fmt_value(v, num, sizeof num);
	if (rc == CC_OK)
		rc = buf_printf(b, " %s\n", num);
	return rc;
}

static int
met_put_family(struct buf *b, const struct met_family *f)
{
	static const char *const type_names[] = {"counter", "gauge", "histogram"};
	int rc = buf_printf(b, "# HELP %s ", f->mf_name);
	if (rc == CC_OK)
		rc = met_put_escaped(b, f->mf_help, 0);
	if (rc == CC_OK)
		rc = buf_printf(b, "\n# TYPE %s %s\n", f->mf_name, type_names[f->mf_type]);
	for (const struct met_series *s = f->mf_head; rc == CC_OK && s; s = s->se_next) {
		if (f->mf_type != MET_HISTOGRAM) {
			rc = met_put_sample(b, f, "", s, NULL, NULL, s->se_value);
			continue;
		}
		unsigned long long cum = 0;
		char le[40];
		for (size_t i = 0; rc == CC_OK && i < f->mf_nbuckets; i++) {
			cum += s->se_counts[i];
			met_fmt_value(f->mf_buckets[i], le, sizeof le);
			rc = met_put_sample(b, f, "_bucket", s, "le", le, (double)cum);
		}
		if (rc == CC_OK)
			rc = met_put_sample(b, f, "_bucket", s, "le", "+Inf", (double)s->se_count);
		if (rc == CC_OK)
			rc = met_put_sample(b, f, "_sum", s, NULL, NULL, s->se_sum);
		if (rc == CC_OK)
			rc = met_put_sample(b, f, "_count", s, NULL, NULL, (double)s->se_count);
	}
	return rc;
}

int
met_write(struct met_registry *r, struct buf *out)
{
	pthread_mutex_lock(&r->mr_mu);
	struct met_collector *c = r->mr_coll;
	pthread_mutex_unlock(&r->mr_mu);
	while (c) {
		c->mc_fn(c->mc_arg);
		pthread_mutex_lock(&r->mr_mu);
		c = c->mc_next;
		pthread_mutex_unlock(&r->mr_mu);
	}
	int rc = CC_OK;
	pthread_mutex_lock(&r->mr_mu);
	for (const struct met_family *f = r->mr_head; rc == CC_OK && f; f = f->mf_next)
		rc = met_put_family(out, f);
	pthread_mutex_unlock(&r->mr_mu);
	return rc;
}

int
met_std_register(struct met_registry *r, const char *version, struct met_std *out)
{
	static const char *const cert_l[] = {"namespace", "name", "issuer_kind", "issuer_name"};
	static const char *const issuer_l[] = {"issuer_kind", "issuer_name"};
	static const char *const action_l[] = {"action", "mode"};
	static const char *const type_l[] = {"type"};
	static const char *const result_l[] = {"result"};
	static const char *const watch_l[] = {"resource", "type"};
	static const char *const restart_l[] = {"resource", "reason"};
	static const char *const api_l[] = {"verb", "code"};
	static const char *const version_l[] = {"version"};
	static const char *const outcome_l[] = {"outcome"};
	static const char *const bin_l[] = {"bin"};
	/* From half a millisecond (a store read) to ten seconds (several API writes). */
	static const double recon_b[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	    0.25, 0.5, 1, 2.5, 5, 10};
	const struct {
		struct met_family **slot;
		const char *name;
		const char *help;
		enum met_type type;
		const char *const *labels;
		size_t nlabels;
	} defs[] = {
	    {&out->ms_cert_risk, "certcast_certificate_risk",
		"Probability that the certificate expires before a successful renewal.", MET_GAUGE,
		cert_l, 4},
	    {&out->ms_cert_risk_level, "certcast_certificate_risk_level",
		"Risk level: 0 low, 1 medium, 2 high, 3 critical.", MET_GAUGE, cert_l, 4},
	    {&out->ms_cert_expiry, "certcast_certificate_expiry_timestamp_seconds",
		"The certificate's notAfter as a Unix timestamp.", MET_GAUGE, cert_l, 4},
	    {&out->ms_cert_predicted_failure,
		"certcast_certificate_predicted_failure_timestamp_seconds",
		"Time after which renewal can no longer succeed before notAfter, if the trend holds.",
		MET_GAUGE, cert_l, 4},
	    {&out->ms_cert_renew_before, "certcast_certificate_renew_before_seconds",
		"Effective renewBefore of the certificate in seconds.", MET_GAUGE, cert_l, 4},
	    {&out->ms_issuer_failure_prob, "certcast_issuer_failure_probability",
		"Estimated probability that one issuance attempt at this issuer fails.", MET_GAUGE,
		issuer_l, 2},
	    {&out->ms_actions, "certcast_actions_total", "Actions taken, by action and mode.",
		MET_COUNTER, action_l, 2},
	    {&out->ms_anomalies, "certcast_anomalies_total", "Anomalies detected, by type.",
		MET_COUNTER, type_l, 1},
	    {&out->ms_watch_events, "certcast_watch_events_total",
		"Watch events received, by resource and event type.", MET_COUNTER, watch_l, 2},
	    {&out->ms_watch_restarts, "certcast_watch_restarts_total",
		"Watches restarted, by resource and reason.", MET_COUNTER, restart_l, 2},
	    {&out->ms_api_requests, "certcast_api_requests_total",
		"Requests to the Kubernetes API server, by verb and HTTP status code.", MET_COUNTER,
		api_l, 2},
	    {&out->ms_reconcile_duration, "certcast_reconcile_duration_seconds",
		"Time spent reconciling one certificate.", MET_HISTOGRAM, NULL, 0},
	    {&out->ms_workqueue_depth, "certcast_workqueue_depth",
		"Keys waiting in the work queue.", MET_GAUGE, NULL, 0},
	    {&out->ms_leader, "certcast_leader", "1 when this replica is the leader, else 0.",
		MET_GAUGE, NULL, 0},
	    {&out->ms_build_info, "certcast_build_info", "Build information; the value is 1.",
		MET_GAUGE, version_l, 1},
	    {&out->ms_cm_scrapes, "certcast_cert_manager_scrapes_total",
		"Scrapes of cert-manager's controller metrics, by result (ok, malformed, error).",
		MET_COUNTER, result_l, 1},
	    {&out->ms_ari_requests, "certcast_ari_requests_total",
		"ACME Renewal Information (RFC 9773) calls, by result (ok, malformed, notfound, "
		"error).", MET_COUNTER, result_l, 1},
	    {&out->ms_events, "certcast_events_total",
		"Events certcast wrote about Certificates, by result (posted, failed, duplicate and "
		"rate_limited: kept back by the spam filter).", MET_COUNTER, result_l, 1},
	    {&out->ms_model_brier, "certcast_model_brier_score",
		"Mean squared error of the learned model's per-attempt failure forecasts, each made "
		"before the outcome was learned.", MET_GAUGE, NULL, 0},
	    {&out->ms_model_brier_base, "certcast_model_brier_score_baseline",
		"The same for always forecasting the failure rate seen so far (the model should be "
		"lower).", MET_GAUGE, NULL, 0},
	    {&out->ms_model_outcomes, "certcast_model_outcomes_total",
		"CertificateRequest outcomes the learned model was trained on, by outcome; kept "
		"across restarts with the state file.", MET_COUNTER, outcome_l, 1},
	    {&out->ms_model_rel_pred, "certcast_model_reliability_predicted",
		"Reliability table: mean forecast failure probability in each tenth (bin = lower "
		"edge).", MET_GAUGE, bin_l, 1},
	    {&out->ms_model_rel_obs, "certcast_model_reliability_observed",
		"Reliability table: observed failure share of the outcomes in each tenth.", MET_GAUGE,
		bin_l, 1},
	    {&out->ms_http_auth, "certcast_http_auth_total",
		"Requests to the HTTP endpoints decided by delegated authentication (httpAuth: "
		"kubernetes), by result (allowed, denied, unauthenticated, error).", MET_COUNTER,
		result_l, 1},
	};
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
		int hist = defs[i].type == MET_HISTOGRAM;
		int rc = met_register(r, defs[i].name, defs[i].help, defs[i].type, defs[i].labels,
		    defs[i].nlabels, hist ? recon_b : NULL,
		    hist ? sizeof recon_b / sizeof recon_b[0] : 0, defs[i].slot);
		if (rc != CC_OK)
			return rc;
	}
	const char *v[] = {version ? version : "unknown"};
	met_gauge_set(out->ms_build_info, v, 1);
	met_gauge_set(out->ms_leader, NULL, 0);
	/* no forecast scored yet: absent, rather than a Brier score of 0 that reads as perfect */
	met_remove(out->ms_model_brier, NULL);
	met_remove(out->ms_model_brier_base, NULL);
	return CC_OK;
}
