/*
 * sim_scenario: strict YAML scenario loader.
 *
 * The file is loaded into a libyaml document and walked node by node, so every message can quote
 * the node's position. Each mapping is first checked against the list of keys it may hold (unknown
 * and duplicate keys are errors), then fields are fetched one by one with type and range checks.
 */
#include "sim_scenario.h"

#include "cc_err.h"
#include "sim_check.h"
#include "xalloc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#define SCN_MAX_FILE (4u << 20)       /* a scenario is small; refuse anything huge */
#define SCN_MAX_CERTS 2000000ull      /* bounds the engine's memory */
#define SCN_MAX_ITEMS 1000            /* issuers, groups, faults or expectations per list */
#define SCN_DEFAULT_START 1767225600  /* 2026-01-01T00:00:00Z */
#define SCN_MIN_RENEW_BEFORE 300      /* cert-manager: renewBefore >= 5m */

static const char *const scn_policy_names[SCN_POL_COUNT] = {
	"cert-manager", "fixed-30d", "ari-only", "certcast"};

struct scn_ctx {
	yaml_document_t *c_doc;   /* borrowed */
	const char *c_name;       /* file name for messages */
	struct scn_error *c_err;  /* where the first error goes */
	struct scn_scenario *c_s; /* scenario being filled */
};

const char *
scn_policy_name(enum scn_policy p)
{
	if ((int)p < 0 || p >= SCN_POL_COUNT)
		return "unknown";
	return scn_policy_names[p];
}

int
scn_policy_parse(const char *s, enum scn_policy *out)
{
	for (int i = 0; i < SCN_POL_COUNT; i++) {
		if (s && strcmp(s, scn_policy_names[i]) == 0) {
			*out = (enum scn_policy)i;
			return CC_OK;
		}
	}
	return CC_ERR_INVAL;
}

int
scn_parse_duration(const char *s, int64_t *out)
{
	if (s == NULL || *s == '\0')
		return CC_ERR_INVAL;
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return CC_OK;
	}
	double total = 0;
	const char *p = s;
	while (*p) {
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return CC_ERR_INVAL; /* also rejects a sign */
		char *end = NULL;
		errno = 0;
		double v = strtod(p, &end);
		if (errno != 0 || end == p || !isfinite(v))
			return CC_ERR_INVAL;
		double unit;
		switch (*end) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return CC_ERR_INVAL;
		}
		total += v * unit;
		p = end + 1;
	}
	if (total > 1e15)
		return CC_ERR_INVAL;
	*out = (int64_t)llround(total);
	return CC_OK;
}

/* "2026-01-01T00:00:00Z" only: scenarios are written by hand and need nothing more. */
static int
scn_parse_time(const char *s, int64_t *out)
{
	struct tm tm = {0};
	char tail[8] = {0};
	int n = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%7s", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, tail);
	if (n != 7 || strcmp(tail, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return CC_ERR_INVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return CC_OK;
}

static int
scn_fail(struct scn_ctx *cx, const yaml_node_t *node, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
scn_fail(struct scn_ctx *cx, const yaml_node_t *node, const char *path, const char *fmt, ...)
{
	char what[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	unsigned long line = node ? (unsigned long)node->start_mark.line + 1 : 0;
	unsigned long col = node ? (unsigned long)node->start_mark.column + 1 : 0;
	snprintf(cx->c_err->e_msg, sizeof(cx->c_err->e_msg), "%s:%lu:%lu: %s: %s", cx->c_name, line,
	    col, path && *path ? path : "(top level)", what);
	return CC_ERR_INVAL;
}

static const char *
scn_kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static const char *
scn_scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* Every key of map must be a scalar from allowed (NULL-terminated) and appear once. */
static int
scn_check_keys(struct scn_ctx *cx, yaml_node_t *map, const char *path, const char *const *allowed)
{
	if (map->type != YAML_MAPPING_NODE)
		return scn_fail(cx, map, path, "expected a mapping, got %s", scn_kind_name(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(cx->c_doc, p->key);
		if (k == NULL || k->type != YAML_SCALAR_NODE)
			return scn_fail(cx, k ? k : map, path, "keys must be plain strings");
		const char *key = scn_scalar(k);
		int known = 0;
		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(*a, key) == 0;
		if (!known) {
			char hint[200] = "";
			size_t off = 0;
			for (const char *const *a = allowed; *a && off < sizeof(hint); a++)
				off += (size_t)snprintf(hint + off, sizeof(hint) - off, "%s%s",
				    a == allowed ? "" : ", ", *a);
			return scn_fail(cx, k, path, "unknown key '%s' (allowed: %s)", key, hint);
		}
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = yaml_document_get_node(cx->c_doc, q->key);
			if (strcmp(scn_scalar(k2), key) == 0)
				return scn_fail(cx, k, path, "duplicate key '%s'", key);
		}
	}
	return CC_OK;
}

/* The value under key in map, or NULL. A fault's type is read before its keys are checked, so
 * a key that is not a scalar is skipped here rather than read as one. */
static yaml_node_t *
scn_get(struct scn_ctx *cx, yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(cx->c_doc, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE && strcmp(scn_scalar(k), key) == 0)
			return yaml_document_get_node(cx->c_doc, p->value);
	}
	return NULL;
}

/* Build "path.key" for messages. */
static void
scn_sub(char *dst, size_t n, const char *path, const char *key)
{
	int w = snprintf(dst, n, "%s%s%s", path && *path ? path : "", path && *path ? "." : "", key);
	if (w < 0 || (size_t)w >= n)
		dst[n - 1] = '\0'; /* a cut path still points the reader to the right place */
}

/* Fetch a scalar field. *found says whether it was present; missing required is an error. */
static int
scn_field(struct scn_ctx *cx, yaml_node_t *map, const char *path, const char *key, int required,
    yaml_node_t **out)
{
	char sub[256];
	scn_sub(sub, sizeof(sub), path, key);
	yaml_node_t *v = scn_get(cx, map, key);
	*out = NULL;
	if (v == NULL) {
		if (required)
			return scn_fail(cx, map, path, "missing required key '%s'", key);
		return CC_OK;
	}
	if (v->type != YAML_SCALAR_NODE)
		return scn_fail(cx, v, sub, "expected a scalar, got %s", scn_kind_name(v));
	*out = v;
	return CC_OK;
}

static int
scn_get_str(struct scn_ctx *cx, yaml_node_t *map, const char *path, const char *key, int required,
    char **out)
{
	yaml_node_t *v;
	int rc = scn_field(cx, map, path, key, required, &v);
	if (rc == CC_OK && v) {
		if (scn_scalar(v)[0] == '\0') {
			char sub[256];
			scn_sub(sub, sizeof(sub), path, key);
			return scn_fail(cx, v, sub, "must not be empty");
		}
		free(*out);
		*out = xstrdup(scn_scalar(v));
	}
	return rc;
}

/* Numbers and booleans must be plain scalars: a quoted "42" is a string, not a number. */
static int
scn_is_plain(const yaml_node_t *v)
{
	return v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int
scn_get_uint(struct scn_ctx *cx, yaml_node_t *map, const char *path, const char *key, int required,
    uint64_t lo, uint64_t hi, uint64_t *out)
{
	yaml_node_t *v;
	int rc = scn_field(cx, map, path, key, required, &v);
	if (rc != CC_OK || v == NULL)
		return rc;
	char sub[256];
	scn_sub(sub, sizeof(sub), path, key);
	const char *s = scn_scalar(v);
	char *end = NULL;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (!scn_is_plain(v) || s[0] < '0' || s[0] > '9' || errno != 0 || end == s || *end != '\0')
		return scn_fail(cx, v, sub, "expected a non-negative integer, got '%s'", s);
	if (x < lo || x > hi)
		return scn_fail(cx, v, sub, "%llu is out of range [%llu, %llu]", x,
		    (unsigned long long)lo, (unsigned long long)hi);
	*out = x;
	return CC_OK;
}

static int
scn_num(struct scn_ctx *cx, yaml_node_t *v, const char *sub, double lo, double hi, double *out)
{
	if (v->type != YAML_SCALAR_NODE)
		return scn_fail(cx, v, sub, "expected a number, got %s", scn_kind_name(v));
	const char *s = scn_scalar(v);
	char *end = NULL;
	errno = 0;
	double x = strtod(s, &end);
	if (!scn_is_plain(v) || errno != 0 || end == s || *end != '\0' || !isfinite(x))
		return scn_fail(cx, v, sub, "expected a number, got '%s'", s);
	if (x < lo || x > hi)
		return scn_fail(cx, v, sub, "%g is out of range [%g, %g]", x, lo, hi);
	*out = x;
	return CC_OK;
}

static int
scn_get_double(struct scn_ctx *cx, yaml_node_t *map, const char *path, const char *key,
    int required, double lo, double hi, double *out)
{
	yaml_node_t *v;
	int rc = scn_field(cx, map, path, key, required, &v);
	if (rc != CC_OK || v == NULL)
		return rc;
	char sub[256];
	scn_sub(sub, sizeof(sub), path, key);
	return scn_num(cx, v, sub, lo, hi, out);
}

static int
scn_get_bool(struct scn_ctx *cx, yaml_node_t *map, const char *path, const char *key, int *out)
{
	yaml_node_t *v;
	int rc = scn_field(cx, map, path, key, 0, &v);
	if (rc != CC_OK || v == NULL)
		return rc;
	char sub[256];
	scn_sub(sub, sizeof(sub), path, key);
	const char *s = scn_scalar(v);
	if (scn_is_plain(v) && strcmp(s, "true") == 0)
		*out = 1;
	else if (scn_is_plain(v) && strcmp(s, "false") == 0)
		*out = 0;
	else
		return scn_fail(cx, v, sub, "expected true or false, got '%s'", s);
	return CC_OK;
}

static int
scn_dur_node(struct scn_ctx *cx, yaml_node_t *v, const char *sub, int64_t min, int64_t *out)
{
	if (v->type != YAML_SCALAR_NODE)
		return scn_fail(cx, v, sub, "expected a duration, got %s", scn_kind_name(v));
	const char *s = scn_scalar(v);
	if (s[0] == '-')
		return scn_fail(cx, v, sub, "negative duration '%s'", s);
	int64_t d;
	if (scn_parse_duration(s, &d) != CC_OK)
		return scn_fail(cx, v, sub, "expected a duration such as 90s, 5m, 2h, 30d or 1h30m, got '%s'",
		    s);
	if (d < min)
		return scn_fail(cx, v, sub, "duration '%s' is below the minimum of %llds", s,
		    (long long)min);
	*out = d;
	return CC_OK;
}

static int
scn_get_dur(struct scn_ctx *cx, yaml_node_t *map, const char *path, const char *key, int required,
    int64_t min, int64_t *out)
{
	yaml_node_t *v;
	char sub[256];
	scn_sub(sub, sizeof(sub), path, key);
	v = scn_get(cx, map, key);
	if (v == NULL) {
		if (required)
			return scn_fail(cx, map, path, "missing required key '%s'", key);
		return CC_OK;
	}
	return scn_dur_node(cx, v, sub, min, out);
}

/* A list of exactly two items, such as [0.6, 0.66] or [0d, 60d]. */
static int
scn_pair(struct scn_ctx *cx, yaml_node_t *v, const char *sub, yaml_node_t **a, yaml_node_t **b)
{
	if (v->type != YAML_SEQUENCE_NODE ||
	    v->data.sequence.items.top - v->data.sequence.items.start != 2)
		return scn_fail(cx, v, sub, "expected a list of two values [low, high]");
	*a = yaml_document_get_node(cx->c_doc, v->data.sequence.items.start[0]);
	*b = yaml_document_get_node(cx->c_doc, v->data.sequence.items.start[1]);
	return CC_OK;
}

/* A list node under key (required or not); *n is its length, 0 when absent. */
static int
scn_get_list(struct scn_ctx *cx, yaml_node_t *map, const char *path, const char *key, int required,
    yaml_node_t **out, size_t *n)
{
	char sub[256];
	scn_sub(sub, sizeof(sub), path, key);
	yaml_node_t *v = scn_get(cx, map, key);
	*out = NULL;
	*n = 0;
	if (v == NULL)
		return required ? scn_fail(cx, map, path, "missing required key '%s'", key) : CC_OK;
	if (v->type != YAML_SEQUENCE_NODE)
		return scn_fail(cx, v, sub, "expected a list, got %s", scn_kind_name(v));
	*n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (*n > SCN_MAX_ITEMS)
		return scn_fail(cx, v, sub, "too many entries (%zu, at most %d)", *n, SCN_MAX_ITEMS);
	if (required && *n == 0)
		return scn_fail(cx, v, sub, "must hold at least one entry");
	*out = v;
	return CC_OK;
}

static yaml_node_t *
scn_item(struct scn_ctx *cx, yaml_node_t *seq, size_t i)
{
	return yaml_document_get_node(cx->c_doc, seq->data.sequence.items.start[i]);
}

static int
scn_load_issuer(struct scn_ctx *cx, yaml_node_t *m, const char *path, struct scn_issuer *is)
{
	static const char *const keys[] = {"name", "kind", "acme", "ari", "ari_window",
	    "failure_probability", "latency", "rate_limits", NULL};
	static const char *const rl_keys[] = {"new_per_domain", "duplicates", "window", NULL};
	int rc = scn_check_keys(cx, m, path, keys);
	if (rc != CC_OK)
		return rc;
	is->is_ari_lo = 0.64;
	is->is_ari_hi = 0.66;
	is->is_latency = 60;
	is->is_rl_domain = 50;
	is->is_rl_dup = 5;
	is->is_rl_window = 7 * 86400;
	if ((rc = scn_get_str(cx, m, path, "name", 1, &is->is_name)) != CC_OK ||
	    (rc = scn_get_str(cx, m, path, "kind", 0, &is->is_kind)) != CC_OK ||
	    (rc = scn_get_bool(cx, m, path, "acme", &is->is_acme)) != CC_OK ||
	    (rc = scn_get_bool(cx, m, path, "ari", &is->is_ari)) != CC_OK ||
	    (rc = scn_get_double(cx, m, path, "failure_probability", 0, 0, 1, &is->is_fail_p)) != CC_OK ||
	    (rc = scn_get_dur(cx, m, path, "latency", 0, 0, &is->is_latency)) != CC_OK)
		return rc;
	if (strchr(is->is_name, '.') || strchr(is->is_name, ' '))
		return scn_fail(cx, scn_get(cx, m, "name"), path,
		    "name '%s' may not contain dots or spaces", is->is_name);
	if (is->is_kind == NULL)
		is->is_kind = xstrdup("ClusterIssuer");
	else if (strcmp(is->is_kind, "Issuer") != 0 && strcmp(is->is_kind, "ClusterIssuer") != 0)
		return scn_fail(cx, scn_get(cx, m, "kind"), path,
		    "kind must be Issuer or ClusterIssuer, got '%s'", is->is_kind);
	char sub[256];
	yaml_node_t *w = scn_get(cx, m, "ari_window");
	if (w) {
		yaml_node_t *a, *b;
		scn_sub(sub, sizeof(sub), path, "ari_window");
		if ((rc = scn_pair(cx, w, sub, &a, &b)) != CC_OK ||
		    (rc = scn_num(cx, a, sub, 0, 1, &is->is_ari_lo)) != CC_OK ||
		    (rc = scn_num(cx, b, sub, 0, 1, &is->is_ari_hi)) != CC_OK)
			return rc;
		if (!(is->is_ari_lo < is->is_ari_hi))
			return scn_fail(cx, w, sub, "the window must start before it ends");
		if (!is->is_ari)
			return scn_fail(cx, w, sub, "ari_window needs ari: true");
	}
	yaml_node_t *rl = scn_get(cx, m, "rate_limits");
	if (rl) {
		uint64_t x;
		scn_sub(sub, sizeof(sub), path, "rate_limits");
		if (!is->is_acme)
			return scn_fail(cx, rl, sub, "rate limits apply to ACME issuers only (set acme: true)");
		if ((rc = scn_check_keys(cx, rl, sub, rl_keys)) != CC_OK)
			return rc;
		x = is->is_rl_domain;
		if ((rc = scn_get_uint(cx, rl, sub, "new_per_domain", 0, 1, 100000, &x)) != CC_OK)
			return rc;
		is->is_rl_domain = (uint32_t)x;
		x = is->is_rl_dup;
		if ((rc = scn_get_uint(cx, rl, sub, "duplicates", 0, 1, 64, &x)) != CC_OK)
			return rc;
		is->is_rl_dup = (uint32_t)x;
		if ((rc = scn_get_dur(cx, rl, sub, "window", 0, 60, &is->is_rl_window)) != CC_OK)
			return rc;
	}
	return CC_OK;
}

static int
scn_ref(struct scn_ctx *cx, yaml_node_t *m, const char *path, const char *key, int issuer,
    int required, int *out)
{
	char *name = NULL;
	int rc = scn_get_str(cx, m, path, key, required, &name);
	*out = -1;
	if (rc == CC_OK && name) {
		*out = issuer ? scn_issuer_index(cx->c_s, name) : scn_group_index(cx->c_s, name);
		if (*out < 0) {
			char sub[256];
			scn_sub(sub, sizeof(sub), path, key);
			rc = scn_fail(cx, scn_get(cx, m, key), sub, "no %s named '%s'",
			    issuer ? "issuer" : "certificate group", name);
		}
	}
	free(name);
	return rc;
}

static int
scn_load_group(struct scn_ctx *cx, yaml_node_t *m, const char *path, struct scn_group *g)
{
	static const char *const keys[] = {"group", "count", "issuer", "fallback_issuer", "namespace",
	    "lifetime", "renew_before", "renew_before_percentage", "domain", "domains", "age", NULL};
	int rc = scn_check_keys(cx, m, path, keys);
	uint64_t x = 0;
	if (rc != CC_OK)
		return rc;
	if ((rc = scn_get_str(cx, m, path, "group", 1, &g->g_name)) != CC_OK)
		return rc;
	if (strchr(g->g_name, '.') || strchr(g->g_name, ' '))
		return scn_fail(cx, scn_get(cx, m, "group"), path,
		    "group name '%s' may not contain dots or spaces", g->g_name);
	if ((rc = scn_get_uint(cx, m, path, "count", 1, 1, 1000000, &x)) != CC_OK)
		return rc;
	g->g_count = (uint32_t)x;
	if ((rc = scn_ref(cx, m, path, "issuer", 1, 1, &g->g_issuer)) != CC_OK ||
	    (rc = scn_ref(cx, m, path, "fallback_issuer", 1, 0, &g->g_fallback)) != CC_OK ||
	    (rc = scn_get_str(cx, m, path, "namespace", 0, &g->g_namespace)) != CC_OK ||
	    (rc = scn_get_dur(cx, m, path, "lifetime", 1, 3600, &g->g_lifetime)) != CC_OK ||
	    (rc = scn_get_dur(cx, m, path, "renew_before", 0, SCN_MIN_RENEW_BEFORE,
		 &g->g_renew_before)) != CC_OK ||
	    (rc = scn_get_str(cx, m, path, "domain", 0, &g->g_domain)) != CC_OK)
		return rc;
	if (g->g_fallback >= 0 && g->g_fallback == g->g_issuer)
		return scn_fail(cx, scn_get(cx, m, "fallback_issuer"), path,
		    "fallback_issuer must differ from issuer");
	if (g->g_renew_before >= g->g_lifetime)
		return scn_fail(cx, scn_get(cx, m, "renew_before"), path,
		    "renew_before must be less than lifetime (cert-manager rejects it)");
	x = 0;
	if ((rc = scn_get_uint(cx, m, path, "renew_before_percentage", 0, 1, 99, &x)) != CC_OK)
		return rc;
	g->g_pct = (int)x;
	if (g->g_pct && g->g_renew_before)
		return scn_fail(cx, scn_get(cx, m, "renew_before_percentage"), path,
		    "renew_before and renew_before_percentage may not both be set");
	x = 1;
	if ((rc = scn_get_uint(cx, m, path, "domains", 0, 1, 1000000, &x)) != CC_OK)
		return rc;
	g->g_ndomains = (uint32_t)x;
	if (g->g_namespace == NULL)
		g->g_namespace = xstrdup("default");
	if (g->g_domain == NULL)
		g->g_domain = xasprintf("%s.example", g->g_name);
	/* By default the fleet starts anywhere from new to an hour before cert-manager's 2/3
	 * point; a lifetime under 1h30m has no such hour, and its certificates start new (a
	 * negative bound would date them in the future). */
	g->g_age_lo = 0;
	g->g_age_hi = g->g_lifetime * 2 / 3 - 3600;
	if (g->g_age_hi < 0)
		g->g_age_hi = 0;
	yaml_node_t *age = scn_get(cx, m, "age");
	if (age) {
		char sub[256];
		yaml_node_t *a, *b;
		scn_sub(sub, sizeof(sub), path, "age");
		if ((rc = scn_pair(cx, age, sub, &a, &b)) != CC_OK ||
		    (rc = scn_dur_node(cx, a, sub, 0, &g->g_age_lo)) != CC_OK ||
		    (rc = scn_dur_node(cx, b, sub, 0, &g->g_age_hi)) != CC_OK)
			return rc;
		if (g->g_age_lo > g->g_age_hi || g->g_age_hi >= g->g_lifetime)
			return scn_fail(cx, age, sub, "need low <= high < lifetime");
	}
	return CC_OK;
}

/* A required [low, high] pair of durations with low < high. */
static int
scn_span(struct scn_ctx *cx, yaml_node_t *m, const char *path, const char *key, int64_t *lo,
    int64_t *hi)
{
	char sub[256];
	yaml_node_t *v = scn_get(cx, m, key), *a, *b;
	int rc;
	if (v == NULL)
		return scn_fail(cx, m, path, "missing required key '%s'", key);
	scn_sub(sub, sizeof(sub), path, key);
	if ((rc = scn_pair(cx, v, sub, &a, &b)) != CC_OK || (rc = scn_dur_node(cx, a, sub, 0, lo)) != CC_OK ||
	    (rc = scn_dur_node(cx, b, sub, 0, hi)) != CC_OK)
		return rc;
	if (*lo >= *hi)
		return scn_fail(cx, v, sub, "need low < high");
	return CC_OK;
}

/*
 * Which group's registered domain name is: a group's own domain, or for a group spread over n
 * domains one of "0.<domain>" .. "<n-1>.<domain>" (the names sim_cc gives them). The first group
 * naming it wins: groups naming the same domains share its budget (sim_engine).
 */
static int
scn_domain_of_group(const struct scn_scenario *s, const char *name, int *group, uint32_t *dom)
{
	for (size_t g = 0; g < s->s_ngroups; g++) {
		const struct scn_group *gr = &s->s_groups[g];
		if (gr->g_ndomains == 1) {
			if (strcmp(name, gr->g_domain) == 0) {
				*group = (int)g;
				*dom = 0;
				return 1;
			}
			continue;
		}
		char *end = NULL;
		if (name[0] < '0' || name[0] > '9')
			continue;
		unsigned long i = strtoul(name, &end, 10);
		if (*end == '.' && strcmp(end + 1, gr->g_domain) == 0 && i < gr->g_ndomains) {
			*group = (int)g;
			*dom = (uint32_t)i;
			return 1;
		}
	}
	return 0;
}

static int
scn_load_fault(struct scn_ctx *cx, yaml_node_t *m, const char *path, struct scn_fault *f)
{
	static const char *const k_outage[] = {"type", "issuer", "start", "duration", NULL};
	static const char *const k_random[] = {"type", "issuer", "mean_interval", "mean_duration",
	    "start", "end", NULL};
	static const char *const k_misconf[] = {"type", "issuer", "group", "start", "fixed_at", NULL};
	static const char *const k_dns[] = {"type", "zone", "probability", "start", "duration", NULL};
	static const char *const k_revoke[] = {"type", "issuer", "group", "at", "deadline",
	    "fraction", NULL};
	static const char *const k_ari[] = {"type", "issuer", "at", "affects", "window", NULL};
	static const char *const k_stuck[] = {"type", "issuer", "zone", "start", "duration", NULL};
	static const char *const k_names[] = {"type", "group", "at", NULL};
	static const char *const k_ext[] = {"type", "issuer", "domain", "start", "duration",
	    "per_day", NULL};
	char *type = NULL;
	int64_t dur = 0;
	int rc;
	if (m->type != YAML_MAPPING_NODE)
		return scn_fail(cx, m, path, "expected a mapping, got %s", scn_kind_name(m));
	if ((rc = scn_get_str(cx, m, path, "type", 1, &type)) != CC_OK)
		goto out;
	f->f_line = (unsigned)m->start_mark.line + 1;
	f->f_issuer = f->f_group = -1;
	f->f_end = SCN_NEVER;
	f->f_prob = 1.0;
	if (strcmp(type, "outage") == 0) {
		f->f_kind = SCN_F_OUTAGE;
		if ((rc = scn_check_keys(cx, m, path, k_outage)) != CC_OK ||
		    (rc = scn_ref(cx, m, path, "issuer", 1, 1, &f->f_issuer)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "start", 1, 0, &f->f_start)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "duration", 1, 1, &dur)) != CC_OK)
			goto out;
		f->f_end = f->f_start + dur;
	} else if (strcmp(type, "random-outages") == 0) {
		f->f_kind = SCN_F_RANDOM_OUTAGES;
		if ((rc = scn_check_keys(cx, m, path, k_random)) != CC_OK ||
		    (rc = scn_ref(cx, m, path, "issuer", 1, 1, &f->f_issuer)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "mean_interval", 1, 60, &f->f_mean_gap)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "mean_duration", 1, 1, &f->f_mean_len)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "start", 0, 0, &f->f_start)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "end", 0, 0, &f->f_end)) != CC_OK)
			goto out;
		if (f->f_end <= f->f_start) {
			rc = scn_fail(cx, scn_get(cx, m, "end"), path, "end must be after start");
			goto out;
		}
	} else if (strcmp(type, "misconfig") == 0) {
		f->f_kind = SCN_F_MISCONFIG;
		if ((rc = scn_check_keys(cx, m, path, k_misconf)) != CC_OK ||
		    (rc = scn_ref(cx, m, path, "issuer", 1, 0, &f->f_issuer)) != CC_OK ||
		    (rc = scn_ref(cx, m, path, "group", 0, 0, &f->f_group)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "start", 0, 0, &f->f_start)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "fixed_at", 0, 0, &f->f_end)) != CC_OK)
			goto out;
		if ((f->f_issuer < 0) == (f->f_group < 0)) {
			rc = scn_fail(cx, m, path, "misconfig needs exactly one of 'issuer' or 'group'");
			goto out;
		}
		if (f->f_end <= f->f_start) {
			rc = scn_fail(cx, scn_get(cx, m, "fixed_at"), path, "fixed_at must be after start");
			goto out;
		}
	} else if (strcmp(type, "dns") == 0) {
		f->f_kind = SCN_F_DNS;
		dur = -1;
		if ((rc = scn_check_keys(cx, m, path, k_dns)) != CC_OK ||
		    (rc = scn_get_str(cx, m, path, "zone", 0, &f->f_zone)) != CC_OK ||
		    (rc = scn_get_double(cx, m, path, "probability", 0, 0, 1, &f->f_prob)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "start", 0, 0, &f->f_start)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "duration", 0, 1, &dur)) != CC_OK)
			goto out;
		if (dur > 0)
			f->f_end = f->f_start + dur;
		if (f->f_prob <= 0) {
			rc = scn_fail(cx, scn_get(cx, m, "probability"), path,
			    "probability must be above 0 (remove the fault instead)");
			goto out;
		}
	} else if (strcmp(type, "revocation") == 0) {
		f->f_kind = SCN_F_REVOCATION;
		if ((rc = scn_check_keys(cx, m, path, k_revoke)) != CC_OK ||
		    (rc = scn_ref(cx, m, path, "issuer", 1, 0, &f->f_issuer)) != CC_OK ||
		    (rc = scn_ref(cx, m, path, "group", 0, 0, &f->f_group)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "at", 1, 0, &f->f_start)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "deadline", 1, 60, &f->f_deadline)) != CC_OK ||
		    (rc = scn_get_double(cx, m, path, "fraction", 0, 0, 1, &f->f_prob)) != CC_OK)
			goto out;
		f->f_end = f->f_start + f->f_deadline;
	} else if (strcmp(type, "ari-window") == 0) {
		f->f_kind = SCN_F_ARI_WINDOW;
		if ((rc = scn_check_keys(cx, m, path, k_ari)) != CC_OK ||
		    (rc = scn_ref(cx, m, path, "issuer", 1, 1, &f->f_issuer)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "at", 1, 0, &f->f_start)) != CC_OK ||
		    (rc = scn_span(cx, m, path, "affects", &f->f_aff_lo, &f->f_aff_hi)) != CC_OK ||
		    (rc = scn_span(cx, m, path, "window", &f->f_win_lo, &f->f_win_hi)) != CC_OK)
			goto out;
		if (!cx->c_s->s_issuers[f->f_issuer].is_ari) {
			rc = scn_fail(cx, scn_get(cx, m, "issuer"), path,
			    "issuer '%s' does not publish ARI (set ari: true)",
			    cx->c_s->s_issuers[f->f_issuer].is_name);
			goto out;
		}
	} else if (strcmp(type, "stuck") == 0) {
		f->f_kind = SCN_F_STUCK;
		if ((rc = scn_check_keys(cx, m, path, k_stuck)) != CC_OK ||
		    (rc = scn_ref(cx, m, path, "issuer", 1, 0, &f->f_issuer)) != CC_OK ||
		    (rc = scn_get_str(cx, m, path, "zone", 0, &f->f_zone)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "start", 0, 0, &f->f_start)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "duration", 1, 1, &dur)) != CC_OK)
			goto out;
		f->f_end = f->f_start + dur;
		if ((f->f_issuer < 0) == (f->f_zone == NULL)) {
			rc = scn_fail(cx, m, path, "stuck needs exactly one of 'issuer' or 'zone'");
			goto out;
		}
		if (f->f_issuer >= 0 && !cx->c_s->s_issuers[f->f_issuer].is_acme) {
			rc = scn_fail(cx, scn_get(cx, m, "issuer"), path,
			    "issuer '%s' is not ACME: only ACME challenges get stuck (set acme: true)",
			    cx->c_s->s_issuers[f->f_issuer].is_name);
			goto out;
		}
	} else if (strcmp(type, "names-change") == 0) {
		f->f_kind = SCN_F_NAMES_CHANGE;
		if ((rc = scn_check_keys(cx, m, path, k_names)) != CC_OK ||
		    (rc = scn_ref(cx, m, path, "group", 0, 1, &f->f_group)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "at", 1, 0, &f->f_start)) != CC_OK)
			goto out;
		f->f_end = f->f_start;
	} else if (strcmp(type, "external-issuance") == 0) {
		f->f_kind = SCN_F_EXTERNAL;
		dur = -1;
		if ((rc = scn_check_keys(cx, m, path, k_ext)) != CC_OK ||
		    (rc = scn_ref(cx, m, path, "issuer", 1, 1, &f->f_issuer)) != CC_OK ||
		    (rc = scn_get_str(cx, m, path, "domain", 1, &f->f_zone)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "start", 0, 0, &f->f_start)) != CC_OK ||
		    (rc = scn_get_dur(cx, m, path, "duration", 0, 1, &dur)) != CC_OK ||
		    (rc = scn_get_double(cx, m, path, "per_day", 1, 0, 1e6, &f->f_per_day)) != CC_OK)
			goto out;
		if (dur > 0)
			f->f_end = f->f_start + dur;
		if (f->f_per_day <= 0) {
			rc = scn_fail(cx, scn_get(cx, m, "per_day"), path,
			    "per_day must be above 0 (remove the fault instead)");
			goto out;
		}
		/* Only a per-domain budget is shared with other accounts; a CA without one (not
		 * ACME here) has nothing for their certificates to use up. */
		if (!cx->c_s->s_issuers[f->f_issuer].is_acme) {
			rc = scn_fail(cx, scn_get(cx, m, "issuer"), path,
			    "issuer '%s' is not ACME: it has no per-domain limit to share (set acme: true)",
			    cx->c_s->s_issuers[f->f_issuer].is_name);
			goto out;
		}
		if (!scn_domain_of_group(cx->c_s, f->f_zone, &f->f_group, &f->f_dom)) {
			char sub[256];
			scn_sub(sub, sizeof(sub), path, "domain");
			rc = scn_fail(cx, scn_get(cx, m, "domain"), sub,
			    "no certificate group has the registered domain '%s'", f->f_zone);
			goto out;
		}
	} else {
		char sub[256];
		scn_sub(sub, sizeof(sub), path, "type");
		rc = scn_fail(cx, scn_get(cx, m, "type"), sub,
		    "unknown fault type '%s' (known: outage, random-outages, misconfig, dns, revocation, "
		    "ari-window, stuck, names-change, external-issuance)", type);
	}
out:
	free(type);
	return rc;
}

static int
scn_load_root(struct scn_ctx *cx, yaml_node_t *root)
{
	static const char *const keys[] = {"name", "description", "seed", "start", "duration",
	    "policies", "alert_horizon", "certcast", "issuers", "certificates", "faults", "expect",
	    NULL};
	static const char *const cc_keys[] = {"target_risk", "eval_interval", NULL};
	struct scn_scenario *s = cx->c_s;
	char path[256];
	yaml_node_t *list, *v;
	size_t n;
	uint64_t seed = 0;
	int rc;
	if (root == NULL)
		return scn_fail(cx, NULL, "", "the document is empty");
	if ((rc = scn_check_keys(cx, root, "", keys)) != CC_OK ||
	    (rc = scn_get_str(cx, root, "", "name", 1, &s->s_name)) != CC_OK ||
	    (rc = scn_get_str(cx, root, "", "description", 0, &s->s_description)) != CC_OK ||
	    (rc = scn_get_uint(cx, root, "", "seed", 1, 0, UINT64_MAX, &seed)) != CC_OK ||
	    (rc = scn_get_dur(cx, root, "", "duration", 1, 3600, &s->s_duration)) != CC_OK ||
	    (rc = scn_get_dur(cx, root, "", "alert_horizon", 0, 3600, &s->s_alert_horizon)) != CC_OK)
		return rc;
	s->s_seed = seed;
	if ((rc = scn_field(cx, root, "", "start", 0, &v)) != CC_OK)
		return rc;
	if (v && scn_parse_time(scn_scalar(v), &s->s_start) != CC_OK)
		return scn_fail(cx, v, "start", "expected an RFC 3339 UTC time like 2026-01-01T00:00:00Z, "
		    "got '%s'", scn_scalar(v));
	if ((v = scn_get(cx, root, "certcast")) != NULL) {
		if ((rc = scn_check_keys(cx, v, "certcast", cc_keys)) != CC_OK ||
		    (rc = scn_get_double(cx, v, "certcast", "target_risk", 0, 1e-9, 0.5,
			 &s->s_target_risk)) != CC_OK ||
		    (rc = scn_get_dur(cx, v, "certcast", "eval_interval", 0, 60, &s->s_eval_interval)) !=
			CC_OK)
			return rc;
	}
	if ((rc = scn_get_list(cx, root, "", "policies", 0, &list, &n)) != CC_OK)
		return rc;
	if (list) {
		s->s_policies = 0;
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *it = scn_item(cx, list, i);
			enum scn_policy p;
			snprintf(path, sizeof(path), "policies[%zu]", i);
			if (it->type != YAML_SCALAR_NODE || scn_policy_parse(scn_scalar(it), &p) != CC_OK)
				return scn_fail(cx, it, path, "unknown policy%s%s%s (known: cert-manager, "
				    "fixed-30d, ari-only, certcast)", it->type == YAML_SCALAR_NODE ? " '" : "",
				    it->type == YAML_SCALAR_NODE ? scn_scalar(it) : "",
				    it->type == YAML_SCALAR_NODE ? "'" : "");
			s->s_policies |= 1u << p;
		}
		if (s->s_policies == 0)
			return scn_fail(cx, list, "policies", "must name at least one policy");
	}
	if ((rc = scn_get_list(cx, root, "", "issuers", 1, &list, &n)) != CC_OK)
		return rc;
	s->s_issuers = xcalloc(n, sizeof(*s->s_issuers));
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "issuers[%zu]", i);
		if ((rc = scn_load_issuer(cx, scn_item(cx, list, i), path, &s->s_issuers[i])) != CC_OK) {
			s->s_nissuers = i + 1;
			return rc;
		}
		s->s_nissuers = i + 1;
		if (scn_issuer_index(s, s->s_issuers[i].is_name) != (int)i)
			return scn_fail(cx, scn_item(cx, list, i), path, "duplicate issuer name '%s'",
			    s->s_issuers[i].is_name);
	}
	if ((rc = scn_get_list(cx, root, "", "certificates", 1, &list, &n)) != CC_OK)
		return rc;
	s->s_groups = xcalloc(n, sizeof(*s->s_groups));
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "certificates[%zu]", i);
		s->s_ngroups = i + 1;
		if ((rc = scn_load_group(cx, scn_item(cx, list, i), path, &s->s_groups[i])) != CC_OK)
			return rc;
		if (scn_group_index(s, s->s_groups[i].g_name) != (int)i)
			return scn_fail(cx, scn_item(cx, list, i), path, "duplicate group name '%s'",
			    s->s_groups[i].g_name);
		s->s_ncerts += s->s_groups[i].g_count;
		if (s->s_ncerts > SCN_MAX_CERTS)
			return scn_fail(cx, scn_item(cx, list, i), path,
			    "more than %llu certificates in total", SCN_MAX_CERTS);
	}
	if ((rc = scn_get_list(cx, root, "", "faults", 0, &list, &n)) != CC_OK)
		return rc;
	s->s_faults = xcalloc(n ? n : 1, sizeof(*s->s_faults));
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "faults[%zu]", i);
		s->s_nfaults = i + 1;
		if ((rc = scn_load_fault(cx, scn_item(cx, list, i), path, &s->s_faults[i])) != CC_OK)
			return rc;
	}
	if ((rc = scn_get_list(cx, root, "", "expect", 0, &list, &n)) != CC_OK)
		return rc;
	s->s_expects = xcalloc(n ? n : 1, sizeof(*s->s_expects));
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = scn_item(cx, list, i);
		char why[200];
		snprintf(path, sizeof(path), "expect[%zu]", i);
		if (it->type != YAML_SCALAR_NODE)
			return scn_fail(cx, it, path, "expected a string such as "
			    "\"certcast.expired_hours == 0\", got %s", scn_kind_name(it));
		if (sck_validate(scn_scalar(it), why, sizeof(why)) != CC_OK)
			return scn_fail(cx, it, path, "%s", why);
		s->s_nexpects = i + 1;
		s->s_expects[i].x_text = xstrdup(scn_scalar(it));
		s->s_expects[i].x_line = (unsigned)it->start_mark.line + 1;
	}
	return CC_OK;
}

int
scn_load_string(const char *text, size_t len, const char *name, struct scn_scenario **out,
    struct scn_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int have_parser = 0, have_doc = 0, rc;
	struct scn_scenario *s = xcalloc(1, sizeof(*s));
	struct scn_ctx cx = {.c_doc = &doc, .c_name = name ? name : "scenario", .c_err = err, .c_s = s};

	*out = NULL;
	err->e_msg[0] = '\0';
	s->s_start = SCN_DEFAULT_START;
	s->s_alert_horizon = 7 * 86400;
	s->s_policies = (1u << SCN_POL_COUNT) - 1;
	s->s_target_risk = 0.01;
	if (len > SCN_MAX_FILE) {
		snprintf(err->e_msg, sizeof(err->e_msg), "%s: larger than %u bytes", cx.c_name,
		    SCN_MAX_FILE);
		rc = CC_ERR_TOOBIG;
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err->e_msg, sizeof(err->e_msg), "%s: cannot start the YAML parser", cx.c_name);
		rc = CC_ERR_PARSE;
		goto out;
	}
	have_parser = 1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err->e_msg, sizeof(err->e_msg), "%s:%lu:%lu: not valid YAML: %s", cx.c_name,
		    (unsigned long)parser.problem_mark.line + 1,
		    (unsigned long)parser.problem_mark.column + 1,
		    parser.problem ? parser.problem : "unknown problem");
		rc = CC_ERR_PARSE;
		goto out;
	}
	have_doc = 1;
	rc = scn_load_root(&cx, yaml_document_get_root_node(&doc));
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	if (rc != CC_OK) {
		scn_free(s);
		return rc;
	}
	*out = s;
	return CC_OK;
}

int
scn_load_file(const char *path, struct scn_scenario **out, struct scn_error *err)
{
	FILE *f = NULL;
	char *text = NULL;
	int rc = CC_OK;
	size_t len = 0;

	*out = NULL;
	err->e_msg[0] = '\0';
	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err->e_msg, sizeof(err->e_msg), "%s: cannot open: %s", path, strerror(errno));
		rc = CC_ERR_IO;
		goto out;
	}
	text = xmalloc(SCN_MAX_FILE + 1);
	len = fread(text, 1, SCN_MAX_FILE + 1, f);
	if (ferror(f)) {
		snprintf(err->e_msg, sizeof(err->e_msg), "%s: read error", path);
		rc = CC_ERR_IO;
		goto out;
	}
	rc = scn_load_string(text, len, path, out, err);
out:
	if (f)
		fclose(f);
	free(text);
	return rc;
}

int
scn_issuer_index(const struct scn_scenario *s, const char *name)
{
	for (size_t i = 0; i < s->s_nissuers; i++)
		if (s->s_issuers[i].is_name && strcmp(s->s_issuers[i].is_name, name) == 0)
			return (int)i;
	return -1;
}

int
scn_group_index(const struct scn_scenario *s, const char *name)
{
	for (size_t i = 0; i < s->s_ngroups; i++)
		if (s->s_groups[i].g_name && strcmp(s->s_groups[i].g_name, name) == 0)
			return (int)i;
	return -1;
}

void
scn_free(struct scn_scenario *s)
{
	if (s == NULL)
		return;
	free(s->s_name);
	free(s->s_description);
	for (size_t i = 0; i < s->s_nissuers; i++) {
		free(s->s_issuers[i].is_name);
		free(s->s_issuers[i].is_kind);
	}
	free(s->s_issuers);
	for (size_t i = 0; i < s->s_ngroups; i++) {
		free(s->s_groups[i].g_name);
		free(s->s_groups[i].g_namespace);
		free(s->s_groups[i].g_domain);
	}
	free(s->s_groups);
	for (size_t i = 0; i < s->s_nfaults; i++)
		free(s->s_faults[i].f_zone);
	free(s->s_faults);
	for (size_t i = 0; i < s->s_nexpects; i++)
		free(s->s_expects[i].x_text);
	free(s->s_expects);
	free(s);
}
