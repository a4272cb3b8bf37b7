/* decode: cJSON objects -> compact records, with errors that name the JSON path. */
#include "decode.h"

#include "b64.h"
#include "cc_err.h"
#include "timefmt.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEC_NAME_MAX 253          /* longest metadata.name (a DNS subdomain) */
#define DEC_NS_MAX 63             /* longest namespace (a DNS label) */
#define DEC_B64_MAX (256 * 1024)  /* longest status.certificate text worth decoding */

/* What every decoding helper needs: where strings are interned and where errors go. */
struct dc {
	struct intern *d_in;  /* intern table of the record being built */
	char *d_err;          /* caller's message buffer, may be NULL */
	size_t d_errlen;      /* its size */
};

/* Write "parent.key: message" (or "key: ..." at the top) and return CC_ERR_PARSE. */
static int __attribute__((format(printf, 4, 5)))
dc_fail(struct dc *dc, const char *parent, const char *key, const char *fmt, ...)
{
	if (dc->d_err != NULL && dc->d_errlen > 0) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		const char *dot = parent[0] != '\0' && key[0] != '\0' && key[0] != '[' ? "." : "";
		snprintf(dc->d_err, dc->d_errlen, "%s%s%s: %s", parent, dot, key, msg);
	}
	return CC_ERR_PARSE;
}

void
dec_quote(const char *s, char *buf, size_t len)
{
	size_t n = 0, i = 0;
	for (; s[i] != '\0' && i < DEC_QUOTE_MAX && n + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[n++] = c < 0x20 || c == 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
	}
	buf[n] = '\0';
	if (s[i] != '\0' && n + 4 <= len)
		memcpy(buf + n, "...", 4);
}

const char *
dec_type_name(const cJSON *v)
{
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "something else";
}

const cJSON *
dec_child(const cJSON *obj, const char *key)
{
	if (obj == NULL)
		return NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (v == NULL || cJSON_IsNull(v))
		return NULL;
	return v;
}

static int
dc_obj(struct dc *dc, const cJSON *parent, const char *ppath, const char *key, const cJSON **out)
{
	const cJSON *v = dec_child(parent, key);
	*out = NULL;
	if (v == NULL)
		return CC_OK;
	if (!cJSON_IsObject(v))
		return dc_fail(dc, ppath, key, "expected an object, got %s", dec_type_name(v));
	*out = v;
	return CC_OK;
}

static int
dc_arr(struct dc *dc, const cJSON *parent, const char *ppath, const char *key, const cJSON **out)
{
	const cJSON *v = dec_child(parent, key);
	*out = NULL;
	if (v == NULL)
		return CC_OK;
	if (!cJSON_IsArray(v))
		return dc_fail(dc, ppath, key, "expected an array, got %s", dec_type_name(v));
	*out = v;
	return CC_OK;
}

/* A borrowed string member; NULL when absent. */
static int
dc_str(struct dc *dc, const cJSON *parent, const char *ppath, const char *key, const char **out)
{
	const cJSON *v = dec_child(parent, key);
	*out = NULL;
	if (v == NULL)
		return CC_OK;
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return dc_fail(dc, ppath, key, "expected a string, got %s", dec_type_name(v));
	*out = v->valuestring;
	return CC_OK;
}

/* An owned copy of a string member, replacing *out (which must be NULL or owned). */
static int
dc_dup(struct dc *dc, const cJSON *parent, const char *ppath, const char *key, char **out)
{
	const char *s;
	int rc = dc_str(dc, parent, ppath, key, &s);
	if (rc == CC_OK && s != NULL) {
		free(*out);
		*out = xstrdup(s);
	}
	return rc;
}

/* An owned copy cut to REC_MSG_MAX bytes on a UTF-8 boundary, ending in "..." when cut. */
static char *
dc_msg_copy(const char *s)
{
	size_t n = strlen(s);
	if (n <= REC_MSG_MAX)
		return xstrndup(s, n);
	size_t cut = REC_MSG_MAX - 3;
	while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	char *m = xmalloc(cut + 4);
	memcpy(m, s, cut);
	memcpy(m + cut, "...", 4);
	return m;
}

static int
dc_msg(struct dc *dc, const cJSON *parent, const char *ppath, const char *key, char **out)
{
	const char *s;
	int rc = dc_str(dc, parent, ppath, key, &s);
	if (rc == CC_OK && s != NULL) {
		free(*out);
		*out = dc_msg_copy(s);
	}
	return rc;
}

/* An interned string member, replacing *out (which must be NULL or interned in dc's table). */
static int
dc_intern(struct dc *dc, const cJSON *parent, const char *ppath, const char *key,
    const char **out)
{
	const char *s;
	int rc = dc_str(dc, parent, ppath, key, &s);
	if (rc == CC_OK && s != NULL) {
		intern_put(dc->d_in, *out);
		*out = intern_get(dc->d_in, s);
	}
	return rc;
}

/* An integer member within [lo, hi]; *has (may be NULL) says whether it was present. */
static int
dc_int(struct dc *dc, const cJSON *parent, const char *ppath, const char *key, int64_t lo,
    int64_t hi, int64_t *out, bool *has)
{
	const cJSON *v = dec_child(parent, key);
	if (has != NULL)
		*has = false;
	if (v == NULL)
		return CC_OK;
	if (!cJSON_IsNumber(v))
		return dc_fail(dc, ppath, key, "expected an integer, got %s", dec_type_name(v));
	double d = v->valuedouble;
	if (!isfinite(d) || d != floor(d))
		return dc_fail(dc, ppath, key, "expected an integer, got %g", d);
	if (d < (double)lo || d > (double)hi)
		return dc_fail(dc, ppath, key, "%.0f is out of range [%lld, %lld]", d, (long long)lo,
		    (long long)hi);
	*out = (int64_t)d;
	if (has != NULL)
		*has = true;
	return CC_OK;
}

static int
dc_int32(struct dc *dc, const cJSON *parent, const char *ppath, const char *key, int32_t lo,
    int32_t *out, bool *has)
{
	int64_t v = 0;
	bool got = false;
	int rc = dc_int(dc, parent, ppath, key, lo, INT32_MAX, &v, &got);
	if (rc == CC_OK && got)
		*out = (int32_t)v;
	if (has != NULL)
		*has = got;
	return rc;
}

static int
dc_bool(struct dc *dc, const cJSON *parent, const char *ppath, const char *key, bool *out)
{
	const cJSON *v = dec_child(parent, key);
	if (v == NULL)
		return CC_OK;
	if (!cJSON_IsBool(v))
		return dc_fail(dc, ppath, key, "expected a boolean, got %s", dec_type_name(v));
	*out = cJSON_IsTrue(v);
	return CC_OK;
}

/* An RFC 3339 time member, in Unix seconds; untouched when absent. */
static int
dc_time(struct dc *dc, const cJSON *parent, const char *ppath, const char *key, int64_t *out)
{
	const char *s;
	int64_t t;
	int rc = dc_str(dc, parent, ppath, key, &s);
	if (rc != CC_OK || s == NULL)
		return rc;
	if (tf_parse_time(s, &t) != CC_OK) {
		char q[64];
		dec_quote(s, q, sizeof q);
		return dc_fail(dc, ppath, key, "not an RFC 3339 time: \"%s\"", q);
	}
	*out = t;
	return CC_OK;
}

/* A non-negative Go duration member, in seconds. */
static int
dc_dur(struct dc *dc, const cJSON *parent, const char *ppath, const char *key, int64_t *out,
    bool *has)
{
	const char *s;
	int64_t d;
	*has = false;
	int rc = dc_str(dc, parent, ppath, key, &s);
	if (rc != CC_OK || s == NULL)
		return rc;
	rc = tf_duration_parse(s, &d);
	if (rc != CC_OK) {
		char q[64];
		dec_quote(s, q, sizeof q);
		const char *why = rc == CC_ERR_INVAL ? "must not be negative" :
		    rc == CC_ERR_TOOBIG ? "out of range" : "not a Go duration";
		return dc_fail(dc, ppath, key, "%s: \"%s\"", why, q);
	}
	*out = d;
	*has = true;
	return CC_OK;
}

/* Fill c from one condition object at path; c is cleared first (a repeated type: last wins). */
static int
dc_cond(struct dc *dc, const cJSON *o, const char *path, struct rec_cond *c)
{
	const char *st;
	intern_put(dc->d_in, c->c_reason);
	free(c->c_message);
	memset(c, 0, sizeof *c);
	int rc = dc_str(dc, o, path, "status", &st);
	if (rc != CC_OK)
		return rc;
	if (st != NULL && strcmp(st, "True") == 0)
		c->c_status = REC_COND_TRUE;
	else if (st != NULL && strcmp(st, "False") == 0)
		c->c_status = REC_COND_FALSE;
	else if (st != NULL && strcmp(st, "Unknown") == 0)
		c->c_status = REC_COND_UNKNOWN;
	else
		return dc_fail(dc, path, "status", "expected True, False or Unknown");
	if ((rc = dc_intern(dc, o, path, "reason", &c->c_reason)) != CC_OK ||
	    (rc = dc_msg(dc, o, path, "message", &c->c_message)) != CC_OK ||
	    (rc = dc_time(dc, o, path, "lastTransitionTime", &c->c_ltt)) != CC_OK)
		return rc;
	return dc_int(dc, o, path, "observedGeneration", 0, INT64_MAX, &c->c_obs_gen,
	    &c->c_has_obs_gen);
}

/* A condition type certcast keeps, and where it goes. */
struct dc_cond_slot {
	const char *cs_type;    /* condition type */
	struct rec_cond *cs_to; /* destination in the record */
};

/* Walk status.conditions, filling the slots whose type appears; other types are skipped. */
static int
dc_conds(struct dc *dc, const cJSON *status, const struct dc_cond_slot *slots, size_t nslots)
{
	const cJSON *arr, *o;
	int rc = dc_arr(dc, status, "status", "conditions", &arr);
	size_t i = 0;
	if (rc != CC_OK || arr == NULL)
		return rc;
	cJSON_ArrayForEach(o, arr) {
		char path[48];
		const char *type;
		snprintf(path, sizeof path, "status.conditions[%zu]", i++);
		if (!cJSON_IsObject(o))
			return dc_fail(dc, path, "", "expected an object, got %s", dec_type_name(o));
		if ((rc = dc_str(dc, o, path, "type", &type)) != CC_OK)
			return rc;
		if (type == NULL)
			return dc_fail(dc, path, "type", "missing");
		for (size_t j = 0; j < nslots; j++)
			if (strcmp(type, slots[j].cs_type) == 0 &&
			    (rc = dc_cond(dc, o, path, slots[j].cs_to)) != CC_OK)
				return rc;
	}
	return CC_OK;
}

/* spec.issuerRef, with cert-manager's defaults for an empty group or kind. */
static int
dc_ref(struct dc *dc, const cJSON *spec, struct rec_ref *r)
{
	const cJSON *o;
	const char *group = NULL, *kind = NULL;
	int rc = dc_obj(dc, spec, "spec", "issuerRef", &o);
	if (rc != CC_OK || o == NULL)
		return rc;
	if ((rc = dc_intern(dc, o, "spec.issuerRef", "name", &r->rf_name)) != CC_OK ||
	    (rc = dc_str(dc, o, "spec.issuerRef", "kind", &kind)) != CC_OK ||
	    (rc = dc_str(dc, o, "spec.issuerRef", "group", &group)) != CC_OK)
		return rc;
	/* These name the by-issuer index key, so they are held to Kubernetes name lengths. */
	if (r->rf_name != NULL && strlen(r->rf_name) > DEC_NAME_MAX)
		return dc_fail(dc, "spec.issuerRef", "name", "longer than %d bytes", DEC_NAME_MAX);
	if (kind != NULL && strlen(kind) > DEC_NAME_MAX)
		return dc_fail(dc, "spec.issuerRef", "kind", "longer than %d bytes", DEC_NAME_MAX);
	if (group != NULL && strlen(group) > DEC_NAME_MAX)
		return dc_fail(dc, "spec.issuerRef", "group", "longer than %d bytes", DEC_NAME_MAX);
	r->rf_kind = intern_get(dc->d_in, kind != NULL && kind[0] != '\0' ? kind : "Issuer");
	r->rf_group = intern_get(dc->d_in, group != NULL && group[0] != '\0' ? group : REC_CM_GROUP);
	return CC_OK;
}

/* Count the entries of an array of strings, checking each. */
static int
dc_strings(struct dc *dc, const cJSON *parent, const char *ppath, const char *key, char ***out,
    size_t *n)
{
	const cJSON *arr, *v;
	int rc = dc_arr(dc, parent, ppath, key, &arr);
	size_t i = 0, cnt;
	*n = 0;
	if (rc != CC_OK || arr == NULL)
		return rc;
	cnt = (size_t)cJSON_GetArraySize(arr);
	if (out != NULL && cnt > 0)
		*out = xcalloc(cnt, sizeof **out);
	cJSON_ArrayForEach(v, arr) {
		if (!cJSON_IsString(v) || v->valuestring == NULL) {
			char k[64];
			snprintf(k, sizeof k, "%s[%zu]", key, i);
			return dc_fail(dc, ppath, k, "expected a string, got %s", dec_type_name(v));
		}
		if (out != NULL)
			(*out)[i] = xstrdup(v->valuestring);
		*n = ++i;
	}
	return CC_OK;
}

/*
 * The name of the owner of the given kind from metadata.ownerReferences; the controller
 * reference wins over others. *out is left alone when there is none.
 */
static int
dc_owner(struct dc *dc, const cJSON *meta, const char *kind, char **out)
{
	const cJSON *arr, *o;
	const char *best = NULL;
	bool best_ctl = false;
	size_t i = 0;
	int rc = dc_arr(dc, meta, "metadata", "ownerReferences", &arr);
	if (rc != CC_OK || arr == NULL)
		return rc;
	cJSON_ArrayForEach(o, arr) {
		char path[48];
		const char *k, *name;
		bool ctl = false;
		snprintf(path, sizeof path, "metadata.ownerReferences[%zu]", i++);
		if (!cJSON_IsObject(o))
			return dc_fail(dc, path, "", "expected an object, got %s", dec_type_name(o));
		if ((rc = dc_str(dc, o, path, "kind", &k)) != CC_OK ||
		    (rc = dc_str(dc, o, path, "name", &name)) != CC_OK ||
		    (rc = dc_bool(dc, o, path, "controller", &ctl)) != CC_OK)
			return rc;
		if (k == NULL || name == NULL || strcmp(k, kind) != 0)
			continue;
		if (name[0] == '\0' || strlen(name) > DEC_NAME_MAX)
			return dc_fail(dc, path, "name", "empty or longer than %d bytes",
			    DEC_NAME_MAX);
		if (best == NULL || (ctl && !best_ctl)) {
			best = name;
			best_ctl = ctl;
		}
	}
	if (best != NULL) {
		free(*out);
		*out = xstrdup(best);
	}
	return CC_OK;
}

int
dec_key(enum res_kind kind, const cJSON *obj, struct dec_key *key, char *err, size_t errlen)
{
	struct dc dc = {NULL, err, errlen};
	const cJSON *meta;
	const char *k, *name, *ns, *rv;
	int rc;
	if (!cJSON_IsObject(obj))
		return dc_fail(&dc, "", "object", "expected a JSON object");
	if ((rc = dc_str(&dc, obj, "", "kind", &k)) != CC_OK)
		return rc;
	if (k != NULL && strcmp(k, res_kind_name(kind)) != 0) {
		char q[64];
		dec_quote(k, q, sizeof q);
		dc_fail(&dc, "", "kind", "expected %s, got \"%s\"", res_kind_name(kind), q);
		return CC_ERR_INVAL;
	}
	if ((rc = dc_obj(&dc, obj, "", "metadata", &meta)) != CC_OK)
		return rc;
	if (meta == NULL)
		return dc_fail(&dc, "", "metadata", "missing");
	if ((rc = dc_str(&dc, meta, "metadata", "name", &name)) != CC_OK ||
	    (rc = dc_str(&dc, meta, "metadata", "namespace", &ns)) != CC_OK ||
	    (rc = dc_str(&dc, meta, "metadata", "resourceVersion", &rv)) != CC_OK)
		return rc;
	if (name == NULL || name[0] == '\0')
		return dc_fail(&dc, "metadata", "name", "missing");
	if (strlen(name) > DEC_NAME_MAX)
		return dc_fail(&dc, "metadata", "name", "longer than %d bytes", DEC_NAME_MAX);
	if (kind == RES_CLUSTERISSUER) {
		ns = "";
	} else {
		if (ns == NULL || ns[0] == '\0')
			return dc_fail(&dc, "metadata", "namespace", "missing");
		if (strlen(ns) > DEC_NS_MAX)
			return dc_fail(&dc, "metadata", "namespace", "longer than %d bytes",
			    DEC_NS_MAX);
	}
	key->k_ns = ns;
	key->k_name = name;
	key->k_rv = rv != NULL ? rv : "";
	return CC_OK;
}

/* metadata -> m; *metap gets the metadata object for kind-specific fields. */
static int
dc_meta(struct dc *dc, enum res_kind kind, const cJSON *obj, struct rec_meta *m,
    const cJSON **metap)
{
	struct dec_key key;
	const char *uid;
	int rc = dec_key(kind, obj, &key, dc->d_err, dc->d_errlen);
	if (rc != CC_OK)
		return rc;
	const cJSON *meta = dec_child(obj, "metadata");
	*metap = meta;
	m->m_ns = intern_get(dc->d_in, key.k_ns);
	m->m_name = xstrdup(key.k_name);
	m->m_rv = xstrdup(key.k_rv);
	if ((rc = dc_str(dc, meta, "metadata", "uid", &uid)) != CC_OK)
		return rc;
	m->m_uid = xstrdup(uid != NULL ? uid : "");
	if ((rc = dc_int(dc, meta, "metadata", "generation", 0, INT64_MAX, &m->m_generation,
	    NULL)) != CC_OK)
		return rc;
	return dc_time(dc, meta, "metadata", "creationTimestamp", &m->m_created);
}

/* One annotation value as a string; path written as metadata.annotations["key"]. */
static int
dc_annot(struct dc *dc, const cJSON *annots, const char *key, const char **out)
{
	char k[300];
	const cJSON *v = dec_child(annots, key);
	*out = NULL;
	if (v == NULL)
		return CC_OK;
	snprintf(k, sizeof k, "[\"%s\"]", key);
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return dc_fail(dc, "metadata.annotations", k, "expected a string, got %s",
		    dec_type_name(v));
	*out = v->valuestring;
	return CC_OK;
}

static int
dc_cert_annots(struct dc *dc, const cJSON *meta, struct rec_cert *c)
{
	const cJSON *annots, *v;
	size_t plen = strlen(REC_ANNOT_PREFIX), n = 0;
	int rc = dc_obj(dc, meta, "metadata", "annotations", &annots);
	if (rc != CC_OK || annots == NULL)
		return rc;
	cJSON_ArrayForEach(v, annots) {
		const char *val;
		if (v->string == NULL)
			continue;
		if ((rc = dc_annot(dc, annots, v->string, &val)) != CC_OK)
			return rc;
		if (strncmp(v->string, REC_ANNOT_PREFIX, plen) == 0)
			n++;
		else
			c->c_other_annots++;
	}
	if (n == 0)
		return CC_OK;
	c->c_annots = xcalloc(n, sizeof *c->c_annots);
	cJSON_ArrayForEach(v, annots) {
		if (v->string == NULL || strncmp(v->string, REC_ANNOT_PREFIX, plen) != 0 ||
		    !cJSON_IsString(v))
			continue;
		c->c_annots[c->c_nannots].ra_key = intern_get(dc->d_in, v->string);
		c->c_annots[c->c_nannots].ra_value = xstrdup(v->valuestring);
		c->c_nannots++;
	}
	return CC_OK;
}

static int
dc_renewal(struct dc *dc, const cJSON *spec, struct rec_cert *c)
{
	const cJSON *ren, *wins, *w;
	const char *policy;
	size_t i = 0;
	int rc = dc_obj(dc, spec, "spec", "renewal", &ren);
	if (rc != CC_OK || ren == NULL)
		return rc;
	if ((rc = dc_str(dc, ren, "spec.renewal", "policy", &policy)) != CC_OK)
		return rc;
	if (policy == NULL || policy[0] == '\0')
		c->c_renewal_policy = REC_RENEWAL_UNSET;
	else if (strcmp(policy, "RenewBefore") == 0)
		c->c_renewal_policy = REC_RENEWAL_RENEW_BEFORE;
	else if (strcmp(policy, "Disabled") == 0)
		c->c_renewal_policy = REC_RENEWAL_DISABLED;
	else
		c->c_renewal_policy = REC_RENEWAL_OTHER;
	if ((rc = dc_arr(dc, ren, "spec.renewal", "windows", &wins)) != CC_OK || wins == NULL)
		return rc;
	size_t n = (size_t)cJSON_GetArraySize(wins);
	if (n == 0)
		return CC_OK;
	c->c_windows = xcalloc(n, sizeof *c->c_windows);
	cJSON_ArrayForEach(w, wins) {
		char path[48];
		struct rec_window *rw = &c->c_windows[i];
		snprintf(path, sizeof path, "spec.renewal.windows[%zu]", i++);
		if (!cJSON_IsObject(w))
			return dc_fail(dc, path, "", "expected an object, got %s", dec_type_name(w));
		c->c_nwindows = i;
		if ((rc = dc_dup(dc, w, path, "cron", &rw->w_cron)) != CC_OK ||
		    (rc = dc_intern(dc, w, path, "timezone", &rw->w_tz)) != CC_OK ||
		    (rc = dc_dur(dc, w, path, "windowDuration", &rw->w_duration,
			&rw->w_has_duration)) != CC_OK)
			return rc;
	}
	return CC_OK;
}

static int
dc_certificate(struct dc *dc, const cJSON *obj, struct rec_cert *c)
{
	const cJSON *meta, *spec, *status, *pk;
	const char *alg, *next;
	int rc;
	if ((rc = dc_meta(dc, RES_CERTIFICATE, obj, &c->c_meta, &meta)) != CC_OK ||
	    (rc = dc_cert_annots(dc, meta, c)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "spec", &spec)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "status", &status)) != CC_OK)
		return rc;
	if ((rc = dc_ref(dc, spec, &c->c_issuer)) != CC_OK ||
	    (rc = dc_dup(dc, spec, "spec", "secretName", &c->c_secret_name)) != CC_OK ||
	    (rc = dc_dup(dc, spec, "spec", "commonName", &c->c_common_name)) != CC_OK ||
	    (rc = dc_strings(dc, spec, "spec", "dnsNames", &c->c_dns_names, &c->c_ndns)) != CC_OK ||
	    (rc = dc_dur(dc, spec, "spec", "duration", &c->c_duration, &c->c_has_duration)) !=
		CC_OK ||
	    (rc = dc_dur(dc, spec, "spec", "renewBefore", &c->c_renew_before,
		&c->c_has_renew_before)) != CC_OK ||
	    (rc = dc_int32(dc, spec, "spec", "renewBeforePercentage", INT32_MIN, &c->c_renew_pct,
		&c->c_has_renew_pct)) != CC_OK ||
	    (rc = dc_int32(dc, spec, "spec", "revisionHistoryLimit", INT32_MIN, &c->c_rev_limit,
		&c->c_has_rev_limit)) != CC_OK ||
	    (rc = dc_bool(dc, spec, "spec", "isCA", &c->c_is_ca)) != CC_OK ||
	    (rc = dc_renewal(dc, spec, c)) != CC_OK ||
	    (rc = dc_obj(dc, spec, "spec", "privateKey", &pk)) != CC_OK)
		return rc;
	if ((rc = dc_str(dc, pk, "spec.privateKey", "algorithm", &alg)) != CC_OK ||
	    (rc = dc_int32(dc, pk, "spec.privateKey", "size", 0, &c->c_key_size, NULL)) != CC_OK)
		return rc;
	if (alg == NULL || alg[0] == '\0')
		c->c_key_alg = REC_KEY_UNSET;
	else if (strcmp(alg, "RSA") == 0)
		c->c_key_alg = REC_KEY_RSA;
	else if (strcmp(alg, "ECDSA") == 0)
		c->c_key_alg = REC_KEY_ECDSA;
	else if (strcmp(alg, "Ed25519") == 0)
		c->c_key_alg = REC_KEY_ED25519;
	else
		c->c_key_alg = REC_KEY_OTHER;

	const struct dc_cond_slot slots[] = {
	    {"Ready", &c->c_ready},
	    {"Issuing", &c->c_issuing},
	};
	if ((rc = dc_conds(dc, status, slots, 2)) != CC_OK ||
	    (rc = dc_time(dc, status, "status", "notBefore", &c->c_not_before)) != CC_OK ||
	    (rc = dc_time(dc, status, "status", "notAfter", &c->c_not_after)) != CC_OK ||
	    (rc = dc_time(dc, status, "status", "renewalTime", &c->c_renewal_time)) != CC_OK ||
	    (rc = dc_time(dc, status, "status", "lastFailureTime", &c->c_last_failure)) != CC_OK ||
	    (rc = dc_int(dc, status, "status", "revision", 0, INT64_MAX, &c->c_revision,
		&c->c_has_revision)) != CC_OK ||
	    (rc = dc_int32(dc, status, "status", "failedIssuanceAttempts", 0,
		&c->c_failed_attempts, NULL)) != CC_OK ||
	    (rc = dc_str(dc, status, "status", "nextPrivateKeySecretName", &next)) != CC_OK)
		return rc;
	c->c_has_next_key = next != NULL && next[0] != '\0';
	return CC_OK;
}

/* Strict decimal int64, for annotation values. */
static bool
dc_parse_i64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || s[0] == ' ' || s[0] == '+')
		return false;
	*out = v;
	return true;
}

static int
dc_certificaterequest(struct dc *dc, const cJSON *obj, struct rec_cr *r)
{
	const cJSON *meta, *spec, *status, *annots;
	const char *cert_name, *rev, *pem;
	size_t nusages;
	int rc;
	if ((rc = dc_meta(dc, RES_CERTIFICATEREQUEST, obj, &r->r_meta, &meta)) != CC_OK ||
	    (rc = dc_obj(dc, meta, "metadata", "annotations", &annots)) != CC_OK ||
	    (rc = dc_annot(dc, annots, "cert-manager.io/certificate-name", &cert_name)) != CC_OK ||
	    (rc = dc_annot(dc, annots, "cert-manager.io/certificate-revision", &rev)) != CC_OK)
		return rc;
	if (cert_name != NULL && strlen(cert_name) > DEC_NAME_MAX)
		return dc_fail(dc, "metadata.annotations", "[\"cert-manager.io/certificate-name\"]",
		    "longer than %d bytes", DEC_NAME_MAX);
	if (cert_name != NULL && cert_name[0] != '\0')
		r->r_cert_name = xstrdup(cert_name);
	else if ((rc = dc_owner(dc, meta, "Certificate", &r->r_cert_name)) != CC_OK)
		return rc;
	if (rev != NULL) {
		if (!dc_parse_i64(rev, &r->r_revision) || r->r_revision < 0) {
			char q[64];
			dec_quote(rev, q, sizeof q);
			return dc_fail(dc, "metadata.annotations",
			    "[\"cert-manager.io/certificate-revision\"]",
			    "not a non-negative integer: \"%s\"", q);
		}
		r->r_has_revision = true;
	}
	if ((rc = dc_obj(dc, obj, "", "spec", &spec)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "status", &status)) != CC_OK ||
	    (rc = dc_ref(dc, spec, &r->r_issuer)) != CC_OK ||
	    (rc = dc_intern(dc, spec, "spec", "username", &r->r_username)) != CC_OK ||
	    (rc = dc_dur(dc, spec, "spec", "duration", &r->r_duration, &r->r_has_duration)) !=
		CC_OK ||
	    (rc = dc_bool(dc, spec, "spec", "isCA", &r->r_is_ca)) != CC_OK ||
	    (rc = dc_strings(dc, spec, "spec", "usages", NULL, &nusages)) != CC_OK)
		return rc;
	r->r_nusages = nusages > UINT32_MAX ? UINT32_MAX : (uint32_t)nusages;
	const struct dc_cond_slot slots[] = {
	    {"Ready", &r->r_ready},
	    {"Approved", &r->r_approved},
	    {"Denied", &r->r_denied},
	    {"InvalidRequest", &r->r_invalid},
	};
	if ((rc = dc_conds(dc, status, slots, 4)) != CC_OK ||
	    (rc = dc_time(dc, status, "status", "failureTime", &r->r_failure_time)) != CC_OK ||
	    (rc = dc_str(dc, status, "status", "certificate", &pem)) != CC_OK)
		return rc;
	if (pem != NULL && pem[0] != '\0') {
		char why[128];
		size_t len;
		if (dec_cert_bundle(pem, &r->r_der, &len, &r->r_ncerts, why, sizeof why) != CC_OK)
			return dc_fail(dc, "status", "certificate", "%s", why);
		r->r_der_len = len;
	}
	return CC_OK;
}

/*
 * spec.acme.caBundle: base64 of PEM CA certificates that certcast adds to the system's trust
 * when it asks the ACME server for renewal information. A value that is a string but not
 * base64 (or too large) does not drop the issuer, whose Ready condition and history still
 * matter: it is marked bad, and the ARI poller reports it and leaves the issuer alone.
 */
static int
dc_ca_bundle(struct dc *dc, const cJSON *acme, struct rec_issuer *is)
{
	const char *v = NULL;
	int rc = dc_str(dc, acme, "spec.acme", "caBundle", &v);
	if (rc != CC_OK || v == NULL || v[0] == '\0')
		return rc;
	size_t n = strlen(v), len = 0;
	if (n > REC_CA_MAX / 3 * 4 + 4) {
		is->i_acme_ca_bad = true;
		return CC_OK;
	}
	unsigned char *out = xmalloc(B64_DECODED_MAX(n) + 1);
	if (!b64_decode(v, n, out, &len, 0) || len == 0 || len > REC_CA_MAX) {
		free(out);
		is->i_acme_ca_bad = true;
		return CC_OK;
	}
	out[len] = '\0';
	is->i_acme_ca = out;
	is->i_acme_ca_len = len;
	return CC_OK;
}

static int
dc_issuer(struct dc *dc, enum res_kind kind, const cJSON *obj, struct rec_issuer *is)
{
	static const struct {
		const char *key;
		enum rec_issuer_type type;
	} types[] = {
	    {"acme", REC_ISSUER_ACME},
	    {"ca", REC_ISSUER_CA},
	    {"selfSigned", REC_ISSUER_SELFSIGNED},
	    {"vault", REC_ISSUER_VAULT},
	    {"venafi", REC_ISSUER_VENAFI},
	};
	const cJSON *meta, *spec, *status, *blk;
	int rc;
	if ((rc = dc_meta(dc, kind, obj, &is->i_meta, &meta)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "spec", &spec)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "status", &status)) != CC_OK)
		return rc;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		if ((rc = dc_obj(dc, spec, "spec", types[i].key, &blk)) != CC_OK)
			return rc;
		if (blk != NULL && is->i_type == REC_ISSUER_UNKNOWN)
			is->i_type = types[i].type;
		if (blk != NULL && types[i].type == REC_ISSUER_ACME &&
		    ((rc = dc_dup(dc, blk, "spec.acme", "server", &is->i_acme_server)) != CC_OK ||
			(rc = dc_bool(dc, blk, "spec.acme", "skipTLSVerify", &is->i_acme_skip_tls)) !=
			    CC_OK ||
			(rc = dc_ca_bundle(dc, blk, is)) != CC_OK))
			return rc;
	}
	const struct dc_cond_slot slots[] = {{"Ready", &is->i_ready}};
	return dc_conds(dc, status, slots, 1);
}

static int
dc_acme_state(struct dc *dc, const cJSON *status, enum rec_acme_state *out)
{
	static const char *const names[] = {"", "valid", "ready", "pending", "processing",
	    "invalid", "expired", "errored"};
	const char *s;
	int rc = dc_str(dc, status, "status", "state", &s);
	if (rc != CC_OK || s == NULL)
		return rc;
	*out = REC_ACME_OTHER;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0)
			*out = (enum rec_acme_state)i;
	return CC_OK;
}

static int
dc_order(struct dc *dc, const cJSON *obj, struct rec_order *o)
{
	const cJSON *meta, *spec, *status;
	size_t ndns;
	int rc;
	if ((rc = dc_meta(dc, RES_ORDER, obj, &o->o_meta, &meta)) != CC_OK ||
	    (rc = dc_owner(dc, meta, "CertificateRequest", &o->o_cr_name)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "spec", &spec)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "status", &status)) != CC_OK ||
	    (rc = dc_strings(dc, spec, "spec", "dnsNames", NULL, &ndns)) != CC_OK ||
	    (rc = dc_acme_state(dc, status, &o->o_state)) != CC_OK ||
	    (rc = dc_msg(dc, status, "status", "reason", &o->o_reason)) != CC_OK ||
	    (rc = dc_time(dc, status, "status", "failureTime", &o->o_failure_time)) != CC_OK ||
	    (rc = dc_dup(dc, status, "status", "url", &o->o_url)) != CC_OK)
		return rc;
	o->o_ndns = ndns > UINT32_MAX ? UINT32_MAX : (uint32_t)ndns;
	return CC_OK;
}

static int
dc_challenge(struct dc *dc, const cJSON *obj, struct rec_challenge *ch)
{
	const cJSON *meta, *spec, *status;
	const char *type;
	int rc;
	if ((rc = dc_meta(dc, RES_CHALLENGE, obj, &ch->ch_meta, &meta)) != CC_OK ||
	    (rc = dc_owner(dc, meta, "Order", &ch->ch_order_name)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "spec", &spec)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "status", &status)) != CC_OK ||
	    (rc = dc_str(dc, spec, "spec", "type", &type)) != CC_OK ||
	    (rc = dc_dup(dc, spec, "spec", "dnsName", &ch->ch_dns_name)) != CC_OK ||
	    (rc = dc_acme_state(dc, status, &ch->ch_state)) != CC_OK ||
	    (rc = dc_msg(dc, status, "status", "reason", &ch->ch_reason)) != CC_OK ||
	    (rc = dc_bool(dc, status, "status", "presented", &ch->ch_presented)) != CC_OK ||
	    (rc = dc_bool(dc, status, "status", "processing", &ch->ch_processing)) != CC_OK)
		return rc;
	if (type == NULL || type[0] == '\0')
		ch->ch_type = REC_CHALLENGE_UNSET;
	else if (strcmp(type, "HTTP-01") == 0)
		ch->ch_type = REC_CHALLENGE_HTTP01;
	else if (strcmp(type, "DNS-01") == 0)
		ch->ch_type = REC_CHALLENGE_DNS01;
	else
		ch->ch_type = REC_CHALLENGE_OTHER;
	return CC_OK;
}

static int
dc_event(struct dc *dc, const cJSON *obj, struct rec_event *ev)
{
	const cJSON *meta, *inv, *series, *source;
	const char *type, *kind, *name, *ns;
	int64_t count = 0, scount = 0, first = REC_TIME_NONE, last = REC_TIME_NONE;
	int64_t evtime = REC_TIME_NONE, slast = REC_TIME_NONE;
	bool has_count = false, has_scount = false;
	int rc;
	if ((rc = dc_meta(dc, RES_EVENT, obj, &ev->ev_meta, &meta)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "involvedObject", &inv)) != CC_OK)
		return rc;
	if (inv == NULL)
		return dc_fail(dc, "", "involvedObject", "missing");
	if ((rc = dc_str(dc, inv, "involvedObject", "kind", &kind)) != CC_OK ||
	    (rc = dc_str(dc, inv, "involvedObject", "name", &name)) != CC_OK ||
	    (rc = dc_str(dc, inv, "involvedObject", "namespace", &ns)) != CC_OK ||
	    (rc = dc_dup(dc, inv, "involvedObject", "uid", &ev->ev_obj_uid)) != CC_OK)
		return rc;
	if (kind == NULL || kind[0] == '\0')
		return dc_fail(dc, "involvedObject", "kind", "missing");
	if (name == NULL || name[0] == '\0')
		return dc_fail(dc, "involvedObject", "name", "missing");
	if (strlen(name) > DEC_NAME_MAX)
		return dc_fail(dc, "involvedObject", "name", "longer than %d bytes", DEC_NAME_MAX);
	if (strlen(kind) > DEC_NAME_MAX)
		return dc_fail(dc, "involvedObject", "kind", "longer than %d bytes", DEC_NAME_MAX);
	if (ns != NULL && strlen(ns) > DEC_NS_MAX)
		return dc_fail(dc, "involvedObject", "namespace", "longer than %d bytes",
		    DEC_NS_MAX);
	ev->ev_obj_kind = intern_get(dc->d_in, kind);
	ev->ev_obj_ns = intern_get(dc->d_in, ns != NULL ? ns : "");
	ev->ev_obj_name = xstrdup(name);
	if ((rc = dc_intern(dc, obj, "", "reason", &ev->ev_reason)) != CC_OK ||
	    (rc = dc_msg(dc, obj, "", "message", &ev->ev_message)) != CC_OK ||
	    (rc = dc_str(dc, obj, "", "type", &type)) != CC_OK ||
	    (rc = dc_int(dc, obj, "", "count", 0, INT32_MAX, &count, &has_count)) != CC_OK ||
	    (rc = dc_time(dc, obj, "", "firstTimestamp", &first)) != CC_OK ||
	    (rc = dc_time(dc, obj, "", "lastTimestamp", &last)) != CC_OK ||
	    (rc = dc_time(dc, obj, "", "eventTime", &evtime)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "series", &series)) != CC_OK ||
	    (rc = dc_int(dc, series, "series", "count", 0, INT32_MAX, &scount, &has_scount)) !=
		CC_OK ||
	    (rc = dc_time(dc, series, "series", "lastObservedTime", &slast)) != CC_OK ||
	    (rc = dc_intern(dc, obj, "", "reportingComponent", &ev->ev_component)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "source", &source)) != CC_OK)
		return rc;
	/* An empty reportingComponent is what old-style recorders send; fall back to source. */
	if (ev->ev_component != NULL && ev->ev_component[0] == '\0') {
		intern_put(dc->d_in, ev->ev_component);
		ev->ev_component = NULL;
	}
	if (ev->ev_component == NULL &&
	    (rc = dc_intern(dc, source, "source", "component", &ev->ev_component)) != CC_OK)
		return rc;
	/*
	 * certcast's own Events, by either name of the reporter: reportingController, which the
	 * core/v1 view calls reportingComponent (with source left empty), or an old-style
	 * recorder's source.component. The store drops them (store.h says why).
	 */
	const char *src;
	if ((rc = dc_str(dc, source, "source", "component", &src)) != CC_OK)
		return rc;
	ev->ev_own = (src != NULL && strcmp(src, REC_OWN_COMPONENT) == 0) ||
	    (ev->ev_component != NULL && strcmp(ev->ev_component, REC_OWN_COMPONENT) == 0);
	if (type != NULL && strcmp(type, "Normal") == 0)
		ev->ev_type = REC_EVENT_NORMAL;
	else if (type != NULL && strcmp(type, "Warning") == 0)
		ev->ev_type = REC_EVENT_WARNING;
	else
		ev->ev_type = REC_EVENT_OTHER;
	ev->ev_count = has_count && count > 0 ? (int32_t)count :
	    has_scount && scount > 0 ? (int32_t)scount : 1;
	ev->ev_last = last != REC_TIME_NONE ? last : slast != REC_TIME_NONE ? slast : evtime;
	ev->ev_first = first != REC_TIME_NONE ? first :
	    evtime != REC_TIME_NONE ? evtime : ev->ev_last;
	return CC_OK;
}

/*
 * status.podIP, kept only when it is a plain IPv4 or IPv6 address: it becomes part of a URL the
 * controller fetches, so anything else (a host name, a path, a space) is refused here.
 */
static int
dc_pod_ip(struct dc *dc, const cJSON *status, char **out)
{
	const char *ip;
	int rc = dc_str(dc, status, "status", "podIP", &ip);
	if (rc != CC_OK || ip == NULL || ip[0] == '\0')
		return rc;
	unsigned char addr[16];
	if (inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1) {
		char q[DEC_QUOTE_MAX + 4];
		dec_quote(ip, q, sizeof q);
		return dc_fail(dc, "status", "podIP", "\"%s\" is not an IP address", q);
	}
	*out = xstrdup(ip);
	return CC_OK;
}

static int
dc_pod(struct dc *dc, const cJSON *obj, struct rec_pod *p)
{
	static const char *const phases[] = {"Unknown", "Pending", "Running", "Succeeded",
	    "Failed"};
	const cJSON *meta, *status, *arr, *o;
	const char *phase;
	size_t i = 0;
	int rc;
	if ((rc = dc_meta(dc, RES_POD, obj, &p->p_meta, &meta)) != CC_OK ||
	    (rc = dc_obj(dc, obj, "", "status", &status)) != CC_OK ||
	    (rc = dc_str(dc, status, "status", "phase", &phase)) != CC_OK ||
	    (rc = dc_time(dc, status, "status", "startTime", &p->p_start_time)) != CC_OK ||
	    (rc = dc_pod_ip(dc, status, &p->p_ip)) != CC_OK)
		return rc;
	for (size_t j = 0; phase != NULL && j < sizeof phases / sizeof phases[0]; j++)
		if (strcmp(phase, phases[j]) == 0)
			p->p_phase = (enum rec_pod_phase)j;
	struct rec_cond ready = {0};
	const struct dc_cond_slot slots[] = {{"Ready", &ready}};
	rc = dc_conds(dc, status, slots, 1);
	p->p_ready = ready.c_status == REC_COND_TRUE;
	intern_put(dc->d_in, ready.c_reason);
	free(ready.c_message);
	if (rc != CC_OK || (rc = dc_arr(dc, status, "status", "containerStatuses", &arr)) != CC_OK)
		return rc;
	cJSON_ArrayForEach(o, arr) {
		char path[64], tpath[96];
		const cJSON *last, *term;
		int64_t restarts = 0, fin = REC_TIME_NONE;
		snprintf(path, sizeof path, "status.containerStatuses[%zu]", i++);
		if (!cJSON_IsObject(o))
			return dc_fail(dc, path, "", "expected an object, got %s", dec_type_name(o));
		if ((rc = dc_int(dc, o, path, "restartCount", 0, INT32_MAX, &restarts, NULL)) !=
			CC_OK ||
		    (rc = dc_obj(dc, o, path, "lastState", &last)) != CC_OK)
			return rc;
		p->p_restarts = restarts > INT32_MAX - p->p_restarts ? INT32_MAX :
		    p->p_restarts + (int32_t)restarts;
		snprintf(tpath, sizeof tpath, "%s.lastState", path);
		if ((rc = dc_obj(dc, last, tpath, "terminated", &term)) != CC_OK)
			return rc;
		if (term == NULL)
			continue;
		snprintf(tpath, sizeof tpath, "%s.lastState.terminated", path);
		if ((rc = dc_time(dc, term, tpath, "finishedAt", &fin)) != CC_OK)
			return rc;
		if (p->p_last_term == REC_TIME_NONE || fin > p->p_last_term) {
			p->p_last_term = fin;
			intern_put(dc->d_in, p->p_last_term_reason);
			p->p_last_term_reason = NULL;
			if ((rc = dc_intern(dc, term, tpath, "reason", &p->p_last_term_reason)) !=
			    CC_OK)
				return rc;
		}
	}
	return rc;
}

static const size_t dec_sizes[RES_KIND_COUNT] = {
	[RES_CERTIFICATE] = sizeof(struct rec_cert),
	[RES_CERTIFICATEREQUEST] = sizeof(struct rec_cr),
	[RES_ISSUER] = sizeof(struct rec_issuer),
	[RES_CLUSTERISSUER] = sizeof(struct rec_issuer),
	[RES_ORDER] = sizeof(struct rec_order),
	[RES_CHALLENGE] = sizeof(struct rec_challenge),
	[RES_EVENT] = sizeof(struct rec_event),
	[RES_POD] = sizeof(struct rec_pod),
};

int
dec_record(struct intern *in, enum res_kind kind, const cJSON *obj, void **out, char *err,
    size_t errlen)
{
	struct dc dc = {in, err, errlen};
	int rc;
	*out = NULL;
	if ((int)kind < 0 || kind >= RES_KIND_COUNT) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "unknown record kind %d", (int)kind);
		return CC_ERR_INVAL;
	}
	void *rec = xcalloc(1, dec_sizes[kind]);
	struct rec_meta *m = rec;
	m->m_kind = kind;
	m->m_desc = -1;
	switch (kind) {
	case RES_CERTIFICATE:
		rc = dc_certificate(&dc, obj, rec);
		break;
	case RES_CERTIFICATEREQUEST:
		rc = dc_certificaterequest(&dc, obj, rec);
		break;
	case RES_ISSUER:
	case RES_CLUSTERISSUER:
		rc = dc_issuer(&dc, kind, obj, rec);
		break;
	case RES_ORDER:
		rc = dc_order(&dc, obj, rec);
		break;
	case RES_CHALLENGE:
		rc = dc_challenge(&dc, obj, rec);
		break;
	case RES_EVENT:
		rc = dc_event(&dc, obj, rec);
		break;
	default:
		rc = dc_pod(&dc, obj, rec);
		break;
	}
	if (rc != CC_OK) {
		rec_free(in, rec);
		return rc;
	}
	*out = rec;
	return CC_OK;
}

/* ---- status.certificate: base64 (JSON []byte) of a PEM bundle, kept as DER ---- */

/*
 * Length of the DER SEQUENCE at p (header included), or 0 when p[0..n) does not start with a
 * well-formed definite-length SEQUENCE that fits.
 */
static size_t
dc_der_seq_len(const unsigned char *p, size_t n)
{
	if (n < 2 || p[0] != 0x30)
		return 0;
	size_t len, hdr;
	if (p[1] < 0x80) {
		len = p[1];
		hdr = 2;
	} else {
		size_t nb = p[1] & 0x7f;
		if (nb == 0 || nb > 4 || n < 2 + nb)
			return 0;
		len = 0;
		for (size_t i = 0; i < nb; i++)
			len = len << 8 | p[2 + i];
		hdr = 2 + nb;
	}
	if (len > n - hdr)
		return 0;
	return hdr + len;
}

/* Append one DER certificate to the bundle being built, within REC_DER_MAX. */
static int
dc_bundle_add(unsigned char *der, size_t cap, size_t *len, uint32_t *ncerts,
    const unsigned char *p, size_t n, char *err, size_t errlen)
{
	/* an empty PEM block decodes to nothing, which dc_der_seq_len's 0 would match */
	if (n == 0)
		return cc_fail(err, errlen, CC_ERR_PARSE, "certificate %u is empty", *ncerts + 1);
	if (dc_der_seq_len(p, n) != n)
		return cc_fail(err, errlen, CC_ERR_PARSE, "certificate %u is not DER", *ncerts + 1);
	if (n > REC_DER_MAX - *len || n > cap - *len)
		return cc_fail(err, errlen, CC_ERR_PARSE, "larger than %d KiB", REC_DER_MAX / 1024);
	memcpy(der + *len, p, n);
	*len += n;
	(*ncerts)++;
	return CC_OK;
}

#define PEM_BEGIN "-----BEGIN "
#define PEM_END "-----END "
#define PEM_DASHES "-----"

int
dec_cert_bundle(const char *b64, unsigned char **der, size_t *len, uint32_t *ncerts, char *err,
    size_t errlen)
{
	size_t n = strnlen(b64, DEC_B64_MAX + 1), plen = 0, dlen = 0;
	uint32_t cnt = 0;
	unsigned char *pem = NULL, *out = NULL;
	int rc = CC_OK;
	*der = NULL;
	*len = 0;
	*ncerts = 0;
	if (n > DEC_B64_MAX)
		return cc_fail(err, errlen, CC_ERR_PARSE, "larger than %d KiB", REC_DER_MAX / 1024);
	pem = xmalloc(n / 4 * 3 + 4);
	if (!b64_decode(b64, n, pem, &plen, 0)) {
		rc = cc_fail(err, errlen, CC_ERR_PARSE, "not valid base64");
		goto out;
	}
	pem[plen] = '\0';
	/* DER is never longer than the text it came from, so size the buffer by that. */
	size_t cap = plen < REC_DER_MAX ? plen + 1 : REC_DER_MAX;
	out = xmalloc(cap);
	if (plen > 0 && pem[0] == 0x30) {
		/* Already DER: one or more certificates back to back. */
		size_t off = 0;
		while (off < plen && rc == CC_OK) {
			size_t one = dc_der_seq_len(pem + off, plen - off);
			if (one == 0) {
				rc = cc_fail(err, errlen, CC_ERR_PARSE, "certificate %u is not DER",
				    cnt + 1);
				break;
			}
			rc = dc_bundle_add(out, cap, &dlen, &cnt, pem + off, one, err, errlen);
			off += one;
		}
		if (rc != CC_OK)
			goto out;
	} else {
		if (memchr(pem, '\0', plen) != NULL) {
			rc = cc_fail(err, errlen, CC_ERR_PARSE, "neither PEM nor DER");
			goto out;
		}
		const char *p = (const char *)pem;
		unsigned char *body = xmalloc(plen / 4 * 3 + 4);
		while (rc == CC_OK && (p = strstr(p, PEM_BEGIN)) != NULL) {
			const char *label = p + strlen(PEM_BEGIN);
			const char *le = strstr(label, PEM_DASHES);
			if (le == NULL) {
				rc = cc_fail(err, errlen, CC_ERR_PARSE, "PEM header not terminated");
				break;
			}
			const char *start = le + strlen(PEM_DASHES);
			const char *end = strstr(start, PEM_END);
			if (end == NULL) {
				rc = cc_fail(err, errlen, CC_ERR_PARSE, "PEM block %u has no END line",
				    cnt + 1);
				break;
			}
			bool is_cert = (size_t)(le - label) == strlen("CERTIFICATE") &&
			    memcmp(label, "CERTIFICATE", strlen("CERTIFICATE")) == 0;
			/* Anything but a certificate (never expected here) is skipped, not kept. */
			if (is_cert) {
				size_t blen;
				if (!b64_decode(start, (size_t)(end - start), body, &blen, 0))
					rc = cc_fail(err, errlen, CC_ERR_PARSE,
					    "PEM block %u is not valid base64", cnt + 1);
				else
					rc = dc_bundle_add(out, cap, &dlen, &cnt, body, blen, err,
					    errlen);
			}
			p = end + strlen(PEM_END);
		}
		free(body);
		if (rc != CC_OK)
			goto out;
		if (cnt == 0) {
			rc = cc_fail(err, errlen, CC_ERR_PARSE, "no PEM CERTIFICATE block");
			goto out;
		}
	}
	if (cnt == 0) {
		rc = cc_fail(err, errlen, CC_ERR_PARSE, "empty");
		goto out;
	}
	*der = xrealloc(out, dlen);
	out = NULL;
	*len = dlen;
	*ncerts = cnt;
out:
	free(out);
	free(pem);
	return rc;
}
