/* act: the writes of actplan's plans, and the memory of them. */
#include "act.h"

#include "assess.h"
#include "buf.h"
#include "cc_err.h"
#include "evrec.h"
#include "hash.h"
#include "kube_client.h"
#include "log.h"
#include "metrics.h"
#include "records.h"
#include "store.h"
#include "timefmt.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACT_RESP_MAX (4u << 20)     /* a Certificate object with its status */
#define ACT_REISSUE_WINDOW 3600     /* the reissue budget's window */
#define ACT_REVERTS_CONFLICT 2      /* reverts before certcast keeps its hands off */
#define ACT_EVENTS_MAX (1u << 20)   /* certcast's InvalidAnnotation Events on one object */
#define ACT_EVENTS_LIMIT 100        /* of them, asked for in one page */

/* What this process remembers of one Certificate. */
struct act_mem {
	char *m_key;                    /* "ns/name" */
	uint64_t m_hash;
	char m_uid[64];                 /* a new object under the same name starts afresh */
	struct ap_memory m_ap;
	int m_rb_set;                   /* certcast set spec.renewBefore to m_rb ... */
	int64_t m_rb;
	int m_rb_seen;                  /* ... and has seen it on the object since */
	char *m_iss;                    /* owned: the issuerRef certcast set, NULL none (rare: a
					 * pointer keeps the entry every certificate has small) */
	int m_iss_seen;
	int m_reverts;
	int m_conflict_seen;            /* certcast.io/manager-conflict seen on the object */
	int64_t m_last_change;          /* certcast's last renewBefore change */
	int64_t m_last_reissue;
	int64_t m_last_failover;        /* certcast's last switch to the fallback issuer */
	struct act_mem *m_next;
};

/* Reissues certcast triggered on one issuer within the window. */
struct act_issuer {
	char *i_key;
	int64_t *i_times;               /* ring of the newest ao_reissue_budget times */
	size_t i_n, i_cap;
	struct act_issuer *i_next;
};

struct act {
	struct act_opts a_o;
	pthread_mutex_t a_mu;
	struct act_mem **a_tab;
	size_t a_tsize, a_count;
	struct act_issuer *a_iss;
};

struct act *
act_new(const struct act_opts *o)
{
	struct act *a = xcalloc(1, sizeof *a);
	a->a_o = *o;
	pthread_mutex_init(&a->a_mu, NULL);
	a->a_tsize = 256;
	a->a_tab = xcalloc(a->a_tsize, sizeof *a->a_tab);
	return a;
}

void
act_free(struct act *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->a_tsize; i++)
		for (struct act_mem *m = a->a_tab[i], *nx; m; m = nx) {
			nx = m->m_next;
			free(m->m_key);
			free(m->m_iss);
			free(m);
		}
	for (struct act_issuer *is = a->a_iss, *nx; is; is = nx) {
		nx = is->i_next;
		free(is->i_key);
		free(is->i_times);
		free(is);
	}
	free(a->a_tab);
	pthread_mutex_destroy(&a->a_mu);
	free(a);
}

#define ACT_CONFLICT_KEY "certcast.io/manager-conflict"

/* a_mu held. The entry for ns/name, made when create is set; NULL otherwise when absent. */
static struct act_mem *
act_mem_get(struct act *a, const char *ns, const char *name, int create)
{
	char key[512]; /* a namespace (63) and a name (253) */
	snprintf(key, sizeof key, "%s/%s", ns, name);
	uint64_t h = hash_str(key);
	struct act_mem **pp = &a->a_tab[h & (a->a_tsize - 1)];
	for (struct act_mem *m = *pp; m; m = m->m_next)
		if (m->m_hash == h && strcmp(m->m_key, key) == 0)
			return m;
	if (!create)
		return NULL;
	if (a->a_count + 1 > a->a_tsize) {
		size_t nsz = a->a_tsize * 2;
		struct act_mem **t = xcalloc(nsz, sizeof *t);
		for (size_t i = 0; i < a->a_tsize; i++)
			for (struct act_mem *m = a->a_tab[i], *nx; m; m = nx) {
				nx = m->m_next;
				m->m_next = t[m->m_hash & (nsz - 1)];
				t[m->m_hash & (nsz - 1)] = m;
			}
		free(a->a_tab);
		a->a_tab = t;
		a->a_tsize = nsz;
		pp = &a->a_tab[h & (a->a_tsize - 1)];
	}
	struct act_mem *m = xcalloc(1, sizeof *m);
	m->m_key = xstrdup(key);
	m->m_hash = h;
	m->m_next = *pp;
	*pp = m;
	a->a_count++;
	return m;
}

void
act_forget(struct act *a, const char *ns, const char *name)
{
	char *key = xasprintf("%s/%s", ns, name);
	uint64_t h = hash_str(key);
	pthread_mutex_lock(&a->a_mu);
	for (struct act_mem **pp = &a->a_tab[h & (a->a_tsize - 1)]; *pp; pp = &(*pp)->m_next) {
		struct act_mem *m = *pp;
		if (m->m_hash == h && strcmp(m->m_key, key) == 0) {
			*pp = m->m_next;
			free(m->m_key);
			free(m->m_iss);
			free(m);
			a->a_count--;
			break;
		}
	}
	pthread_mutex_unlock(&a->a_mu);
	free(key);
}

/* a_mu held. The reissues of issuer key inside the window before now. */
static struct act_issuer *
act_issuer_get(struct act *a, const char *key, int64_t now)
{
	struct act_issuer *is;
	for (is = a->a_iss; is; is = is->i_next)
		if (strcmp(is->i_key, key) == 0)
			break;
	if (is == NULL) {
		is = xcalloc(1, sizeof *is);
		is->i_key = xstrdup(key);
		is->i_next = a->a_iss;
		a->a_iss = is;
	}
	size_t k = 0;
	for (size_t i = 0; i < is->i_n; i++)
		if (now - is->i_times[i] < ACT_REISSUE_WINDOW)
			is->i_times[k++] = is->i_times[i];
	is->i_n = k;
	return is;
}

static void
act_issuer_key(const struct rec_cert *c, char *buf, size_t len)
{
	char ref[AP_REF_MAX];
	ap_format_issuer(c->c_issuer.rf_group, c->c_issuer.rf_kind ? c->c_issuer.rf_kind : "Issuer",
	    c->c_issuer.rf_name ? c->c_issuer.rf_name : "", ref, sizeof ref);
	/* a ClusterIssuer is one for every namespace; an Issuer is the namespace's own */
	int cluster = c->c_issuer.rf_kind && strcmp(c->c_issuer.rf_kind, "ClusterIssuer") == 0;
	snprintf(buf, len, "%s/%s", cluster ? "" : c->c_meta.m_ns, ref);
}

void
act_fill_state(void *arg, const struct rec_cert *c, int64_t now, struct sc_state *st)
{
	struct act *a = arg;
	char ik[AP_REF_MAX + 256];
	act_issuer_key(c, ik, sizeof ik);
	pthread_mutex_lock(&a->a_mu);
	const struct act_mem *m = act_mem_get(a, c->c_meta.m_ns, c->c_meta.m_name, 0);
	if (m && strcmp(m->m_uid, c->c_meta.m_uid) == 0) {
		if (m->m_last_change > st->st_last_change)
			st->st_last_change = m->m_last_change;
		if (m->m_last_reissue > st->st_last_reissue)
			st->st_last_reissue = m->m_last_reissue;
		if (m->m_last_failover > st->st_last_failover)
			st->st_last_failover = m->m_last_failover;
	}
	st->st_reissue_budget = a->a_o.ao_reissue_budget;
	if (a->a_o.ao_reissue_budget) {
		struct act_issuer *is = act_issuer_get(a, ik, now);
		st->st_reissues_used = (uint32_t)is->i_n;
	}
	pthread_mutex_unlock(&a->a_mu);
}

/* a_mu held. Counts a revert of a spec value certcast wrote; returns 1 on the conflict. */
static int
act_revert(struct act_mem *m, const char *what, const char *was, const char *now_v,
    struct act_job *job)
{
	m->m_reverts++;
	log_warn("certificate %s: %s was changed from %s (set by certcast) to %s by another writer "
		 "(revert %d)",
	    m->m_key, what, was, now_v, m->m_reverts);
	if (m->m_reverts < ACT_REVERTS_CONFLICT || m->m_ap.m_conflict)
		return 0;
	m->m_ap.m_conflict = 1;
	snprintf(job->j_conflict, sizeof job->j_conflict,
	    "%s was changed from %s to %s by another writer", what, was, now_v);
	return 1;
}

void
act_prepare(struct act *a, const struct rec_cert *c, const struct sc_result *res,
    const struct sc_anomaly *new, size_t nnew, int64_t now, struct act_job *job)
{
	memset(job, 0, sizeof *job);
	xstrlcpy(job->j_ns, c->c_meta.m_ns, sizeof job->j_ns);
	xstrlcpy(job->j_name, c->c_meta.m_name, sizeof job->j_name);
	xstrlcpy(job->j_uid, c->c_meta.m_uid, sizeof job->j_uid);
	xstrlcpy(job->j_rv, c->c_meta.m_rv, sizeof job->j_rv);
	act_issuer_key(c, job->j_issuer, sizeof job->j_issuer);
	struct as_annot_problem pr[8];
	size_t npr = as_annotation_problems(c, a->a_o.ao_scoring, pr, 8);
	if (npr > 8)
		npr = 8;

	char cur[AP_REF_MAX];
	ap_format_issuer(c->c_issuer.rf_group, c->c_issuer.rf_kind ? c->c_issuer.rf_kind : "Issuer",
	    c->c_issuer.rf_name ? c->c_issuer.rf_name : "", cur, sizeof cur);
	struct ap_memory mem;
	pthread_mutex_lock(&a->a_mu);
	struct act_mem *m = act_mem_get(a, c->c_meta.m_ns, c->c_meta.m_name, 1);
	if (strcmp(m->m_uid, c->c_meta.m_uid) != 0) {
		/* another object under this name: nothing certcast did applies to it */
		char *k = m->m_key;
		uint64_t h = m->m_hash;
		struct act_mem *nx = m->m_next;
		free(m->m_iss);
		memset(m, 0, sizeof *m);
		m->m_key = k;
		m->m_hash = h;
		m->m_next = nx;
		xstrlcpy(m->m_uid, c->c_meta.m_uid, sizeof m->m_uid);
	}
	if (m->m_rb_set) {
		if (c->c_has_renew_before && c->c_renew_before == m->m_rb) {
			m->m_rb_seen = 1;
		} else if (m->m_rb_seen) {
			char was[32], now_v[32] = "unset";
			tf_duration_format(m->m_rb, was, sizeof was);
			if (c->c_has_renew_before)
				tf_duration_format(c->c_renew_before, now_v, sizeof now_v);
			m->m_rb_set = 0;
			(void)act_revert(m, "spec.renewBefore", was, now_v, job);
		}
	}
	if (m->m_iss) {
		if (strcmp(m->m_iss, cur) == 0) {
			m->m_iss_seen = 1;
		} else if (m->m_iss_seen) {
			char was[AP_REF_MAX];
			xstrlcpy(was, m->m_iss, sizeof was);
			free(m->m_iss);
			m->m_iss = NULL;
			(void)act_revert(m, "spec.issuerRef", was, cur, job);
		}
	}
	/*
	 * The conflict lives in certcast.io/manager-conflict, so that a restart keeps it and a
	 * user can hand the certificate back by removing it. The memory only bridges the moment
	 * between finding the conflict and seeing the annotation.
	 */
	const char *cv = rec_cert_annot(c, ACT_CONFLICT_KEY);
	if (cv) {
		m->m_conflict_seen = 1;
	} else if (m->m_ap.m_conflict && m->m_conflict_seen) {
		log_info("certificate %s: %s removed: certcast acts on it again", m->m_key,
		    ACT_CONFLICT_KEY);
		m->m_ap.m_conflict = 0;
		m->m_reverts = 0;
		m->m_conflict_seen = 0;
	}
	mem = m->m_ap;
	if (cv)
		mem.m_conflict = 1;
	pthread_mutex_unlock(&a->a_mu);

	struct ap_input in = {c, res, &mem, pr, npr, new, nnew, now};
	ap_decide(&in, &job->j_plan);
}

/* "<Reason> <time>: detail", the certcast.io/last-action value as_parse_last_action reads. */
static void
act_last_action(char *buf, size_t len, const char *reason, int64_t now, const char *detail)
{
	char t[40];
	tf_format_time(now, t, sizeof t);
	snprintf(buf, len, "%s %s: %s", reason, t, detail);
}

/* The single action a patch carries, for last-action and its Event (NULL: annotations only). */
static const char *
act_patch_action(const struct ap_plan *p, char *detail, size_t len)
{
	char d[32];
	if (p->p_fo == AP_SPEC_SET || p->p_fo == AP_SPEC_RESTORE) {
		char ref[AP_REF_MAX];
		ap_format_issuer(p->p_fo_group, p->p_fo_kind, p->p_fo_name, ref, sizeof ref);
		snprintf(detail, len, "spec.issuerRef %s", ref);
		return p->p_fo == AP_SPEC_SET ? "IssuerFailover" : "IssuerRestored";
	}
	if (p->p_rb == AP_SPEC_SET || (p->p_rb == AP_SPEC_RESTORE && !p->p_rb_unset)) {
		tf_duration_format(p->p_rb_value, d, sizeof d);
		snprintf(detail, len, "spec.renewBefore %s", d);
	} else if (p->p_rb == AP_SPEC_RESTORE) {
		snprintf(detail, len, "spec.renewBefore unset");
	}
	if (p->p_rb == AP_SPEC_SET)
		return "RenewBeforeAdjusted";
	if (p->p_rb == AP_SPEC_RESTORE)
		return "RenewBeforeRestored";
	return NULL;
}

char *
act_patch_body(const struct act_job *job, int64_t now)
{
	const struct ap_plan *p = &job->j_plan;
	if (!ap_patches(p) && !job->j_conflict[0])
		return NULL;
	cJSON *root = cJSON_CreateObject();
	cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
	cJSON *an = cJSON_AddObjectToObject(meta, "annotations");
	if (job->j_conflict[0]) {
		char t[40], v[256];
		tf_format_time(now, t, sizeof t);
		snprintf(v, sizeof v, "%s: %s", t, job->j_conflict);
		cJSON_AddStringToObject(an, ACT_CONFLICT_KEY, v);
	}
	if (p->p_annotate) {
		cJSON_AddStringToObject(an, "certcast.io/risk", p->p_risk);
		cJSON_AddStringToObject(an, "certcast.io/risk-level", p->p_level);
		cJSON_AddStringToObject(an, "certcast.io/risk-reasons", p->p_reasons);
		if (p->p_pfail[0])
			cJSON_AddStringToObject(an, "certcast.io/predicted-failure", p->p_pfail);
		else
			cJSON_AddNullToObject(an, "certcast.io/predicted-failure");
	}
	if (p->p_rb != AP_SPEC_NONE || p->p_fo != AP_SPEC_NONE) {
		/* a spec change is made against the view it was decided on, or not at all */
		cJSON_AddStringToObject(meta, "resourceVersion", job->j_rv);
		cJSON *spec = cJSON_AddObjectToObject(root, "spec");
		char d[32], detail[400], la[512];
		if (p->p_rb == AP_SPEC_SET || (p->p_rb == AP_SPEC_RESTORE && !p->p_rb_unset)) {
			tf_duration_format(p->p_rb_value, d, sizeof d);
			cJSON_AddStringToObject(spec, "renewBefore", d);
		} else if (p->p_rb == AP_SPEC_RESTORE) {
			cJSON_AddNullToObject(spec, "renewBefore");
		}
		if (p->p_rb == AP_SPEC_SET && p->p_orig_rb[0])
			cJSON_AddStringToObject(an, "certcast.io/original-renew-before", p->p_orig_rb);
		else if (p->p_rb == AP_SPEC_RESTORE)
			cJSON_AddNullToObject(an, "certcast.io/original-renew-before");
		if (p->p_fo != AP_SPEC_NONE) {
			cJSON *ir = cJSON_AddObjectToObject(spec, "issuerRef");
			cJSON_AddStringToObject(ir, "name", p->p_fo_name);
			cJSON_AddStringToObject(ir, "kind", p->p_fo_kind);
			cJSON_AddStringToObject(ir, "group", p->p_fo_group);
			if (p->p_fo == AP_SPEC_SET && p->p_orig_issuer[0])
				cJSON_AddStringToObject(an, "certcast.io/original-issuer",
				    p->p_orig_issuer);
			else if (p->p_fo == AP_SPEC_RESTORE)
				cJSON_AddNullToObject(an, "certcast.io/original-issuer");
		}
		const char *reason = act_patch_action(p, detail, sizeof detail);
		if (reason && p->p_rb != AP_SPEC_NONE && p->p_fo != AP_SPEC_NONE) {
			/* both at once: the failover names itself, the renewBefore goes in the detail */
			size_t n = strlen(detail);
			if (p->p_rb == AP_SPEC_SET || !p->p_rb_unset)
				tf_duration_format(p->p_rb_value, d, sizeof d);
			else
				xstrlcpy(d, "unset", sizeof d);
			snprintf(detail + n, sizeof detail - n, ", spec.renewBefore %s", d);
		}
		act_last_action(la, sizeof la, reason, now, detail);
		cJSON_AddStringToObject(an, "certcast.io/last-action", la);
	}
	char *s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

int
act_set_issuing(void *obj, const char *msg, int64_t now)
{
	cJSON *o = obj;
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
	if (!cJSON_IsObject(meta) || !cJSON_IsString(kind) || strcmp(kind->valuestring, "Certificate"))
		return -1;
	cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
	cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
	if (!cJSON_IsObject(st)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "status");
		st = cJSON_AddObjectToObject(o, "status");
	}
	cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
	if (!cJSON_IsArray(conds)) {
		cJSON_DeleteItemFromObjectCaseSensitive(st, "conditions");
		conds = cJSON_AddArrayToObject(st, "conditions");
	}
	cJSON *c;
	int idx = 0, found = -1;
	cJSON_ArrayForEach(c, conds)
	{
		cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "type");
		if (cJSON_IsString(t) && strcmp(t->valuestring, "Issuing") == 0) {
			cJSON *s = cJSON_GetObjectItemCaseSensitive(c, "status");
			if (cJSON_IsString(s) && strcmp(s->valuestring, "True") == 0)
				return 1;
			found = idx;
		}
		idx++;
	}
	char t[40];
	tf_format_time(now, t, sizeof t);
	cJSON *nc = cJSON_CreateObject();
	cJSON_AddStringToObject(nc, "type", "Issuing");
	cJSON_AddStringToObject(nc, "status", "True");
	cJSON_AddStringToObject(nc, "reason", "CertcastTriggered");
	cJSON_AddStringToObject(nc, "message", msg);
	cJSON_AddStringToObject(nc, "lastTransitionTime", t);
	if (cJSON_IsNumber(gen))
		cJSON_AddNumberToObject(nc, "observedGeneration", gen->valuedouble);
	if (found >= 0)
		cJSON_ReplaceItemInArray(conds, found, nc);
	else
		cJSON_AddItemToArray(conds, nc);
	return 0;
}

static void
act_count(struct act *a, const char *action, enum sc_mode mode)
{
	if (a->a_o.ao_met == NULL)
		return;
	const char *const lv[] = {action, mode == SC_MODE_ENFORCE ? "enforce" : "observe"};
	met_counter_add(a->a_o.ao_met->ms_actions, lv, 1);
}

static void
act_emit(struct act *a, const struct act_job *job, const char *rv, int warning,
    const char *reason, const char *action, const char *note)
{
	if (a->a_o.ao_emit == NULL)
		return;
	struct act_ref ref = {job->j_ns, job->j_name, job->j_uid, rv};
	char msg[512];
	int rc = a->a_o.ao_emit(a->a_o.ao_emit_arg, &ref, warning, reason, action, note, msg,
	    sizeof msg);
	if (rc != CC_OK)
		log_warn("certificate %s/%s: Event %s not written: %s", job->j_ns, job->j_name,
		    reason, msg);
}

/* The object path of the job's Certificate, with suffix ("" or "/status"). */
static char *
act_path(const struct act_job *job, const char *suffix)
{
	return xasprintf("/apis/cert-manager.io/v1/namespaces/%s/certificates/%s%s", job->j_ns,
	    job->j_name, suffix);
}

/* A write the API server refused: log it, say so on the object, and whether to retry. */
static int
act_refused(struct act *a, const struct act_job *job, const char *what, int rc,
    const struct kube_error *ke)
{
	if (rc == CC_ERR_NOTFOUND)
		return rc; /* deleted meanwhile: the watch brings the deletion; act_apply stops */
	if (cc_err_retryable(rc)) {
		log_info("certificate %s/%s: %s: %s (%s); will retry", job->j_ns, job->j_name, what,
		    cc_strerror(rc), ke->ke_message);
		return rc;
	}
	log_warn("certificate %s/%s: %s refused: %s: %s", job->j_ns, job->j_name, what,
	    cc_strerror(rc), ke->ke_message);
	char note[AP_NOTE_MAX];
	snprintf(note, sizeof note, "certcast could not %s: %s (HTTP %ld): %.700s", what,
	    cc_strerror(rc), ke->ke_http, ke->ke_message);
	act_emit(a, job, job->j_rv, 1, "DiagnosticFailed", "Write", note);
	return CC_OK;
}

/* The resourceVersion in an object's JSON text, into rv; "" when absent. */
static void
act_rv_of(const struct buf *b, char *rv, size_t len)
{
	rv[0] = '\0';
	cJSON *o = b->b_data ? cJSON_ParseWithLength(b->b_data, b->b_len) : NULL;
	cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "resourceVersion");
	if (cJSON_IsString(r))
		xstrlcpy(rv, r->valuestring, len);
	cJSON_Delete(o);
}

/*
 * Tell the store which annotations the patch body sets, read back from the body itself so that
 * the two can never disagree.
 */
static void
act_expect_own(struct store *st, const struct act_job *job, const char *body)
{
	const char *keys[16], *vals[16];
	size_t n = 0;
	cJSON *o = body ? cJSON_Parse(body) : NULL;
	const cJSON *an = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(o, "metadata"), "annotations");
	const cJSON *v;
	cJSON_ArrayForEach(v, an)
	{
		if (n == sizeof keys / sizeof keys[0])
			break;
		keys[n] = v->string;
		vals[n] = cJSON_IsString(v) ? v->valuestring : NULL;
		n++;
	}
	if (n > 0)
		store_expect_own(st, job->j_ns, job->j_name, keys, vals, n);
	cJSON_Delete(o);
}

/* The merge patch; on success the memory learns what was written. */
static int
act_patch(struct act *a, const struct act_job *job, int64_t now, char *rv, size_t rvlen)
{
	const struct ap_plan *p = &job->j_plan;
	char *body = act_patch_body(job, now);
	char *path = act_path(job, "");
	char detail[400];
	const char *reason = act_patch_action(p, detail, sizeof detail);
	/* an annotation-only write: its event must not queue a reconcile (store.h) */
	int own = reason == NULL && a->a_o.ao_store != NULL;
	if (own)
		act_expect_own(a->a_o.ao_store, job, body);
	struct buf resp;
	buf_init(&resp, ACT_RESP_MAX);
	struct kube_error ke;
	memset(&ke, 0, sizeof ke);
	int rc = kube_request(a->a_o.ao_client, "PATCH", path, "application/merge-patch+json", body,
	    &resp, NULL, &ke);
	free(body);
	free(path);
	if (rc != CC_OK) {
		if (own)
			store_mark_own(a->a_o.ao_store, job->j_ns, job->j_name, NULL);
		buf_free(&resp);
		rc = act_refused(a, job, reason ? "change the Certificate's spec"
						 : "annotate the Certificate", rc, &ke);
		if (rc == CC_OK && p->p_annotate) {
			/*
			 * Refused for good (RBAC, a webhook): remember the level as if written, so
			 * that RiskRaised is not repeated at every reconcile and the write is
			 * tried again at the annotation interval, not at once.
			 */
			pthread_mutex_lock(&a->a_mu);
			struct act_mem *m = act_mem_get(a, job->j_ns, job->j_name, 1);
			m->m_ap.m_annot_time = now;
			m->m_ap.m_level = p->p_level_num + 1;
			pthread_mutex_unlock(&a->a_mu);
		}
		return rc;
	}
	act_rv_of(&resp, rv, rvlen);
	buf_free(&resp);
	if (own)
		store_mark_own(a->a_o.ao_store, job->j_ns, job->j_name, rv);

	pthread_mutex_lock(&a->a_mu);
	struct act_mem *m = act_mem_get(a, job->j_ns, job->j_name, 1);
	if (p->p_annotate) {
		m->m_ap.m_annot_time = now;
		m->m_ap.m_level = p->p_level_num + 1;
	}
	if (p->p_rb == AP_SPEC_SET) {
		m->m_rb_set = 1;
		m->m_rb = p->p_rb_value;
		m->m_rb_seen = 0;
	} else if (p->p_rb == AP_SPEC_RESTORE) {
		m->m_rb_set = 0;
	}
	if (p->p_rb != AP_SPEC_NONE)
		m->m_last_change = now;
	if (p->p_fo == AP_SPEC_SET) {
		char ref[AP_REF_MAX];
		ap_format_issuer(p->p_fo_group, p->p_fo_kind, p->p_fo_name, ref, sizeof ref);
		free(m->m_iss);
		m->m_iss = xstrdup(ref);
		m->m_iss_seen = 0;
		m->m_last_failover = now;
	} else if (p->p_fo == AP_SPEC_RESTORE) {
		free(m->m_iss);
		m->m_iss = NULL;
	}
	pthread_mutex_unlock(&a->a_mu);

	if (p->p_annotate)
		act_count(a, "annotate", p->p_mode);
	if (reason) {
		static const struct {
			const char *reason, *metric;
		} names[] = {{"RenewBeforeAdjusted", "renew-before-adjust"},
		    {"RenewBeforeRestored", "renew-before-restore"}, {"IssuerFailover", "failover"},
		    {"IssuerRestored", "failover-restore"}};
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strcmp(names[i].reason, reason) == 0)
				act_count(a, names[i].metric, p->p_mode);
		if (p->p_rb != AP_SPEC_NONE && p->p_fo != AP_SPEC_NONE)
			act_count(a, p->p_rb == AP_SPEC_SET ? "renew-before-adjust"
							    : "renew-before-restore",
			    p->p_mode);
		char note[AP_NOTE_MAX];
		snprintf(note, sizeof note, "Set %s. %s", detail, p->p_detail);
		act_emit(a, job, rv, 0, reason, "Enforce", note);
		log_info("certificate %s/%s: %s: %s", job->j_ns, job->j_name, reason, detail);
	}
	return CC_OK;
}

/* cmctl renew's write: Issuing=True on the status subresource, guarded by resourceVersion. */
static int
act_reissue(struct act *a, const struct act_job *job, int64_t now)
{
	const struct ap_plan *p = &job->j_plan;
	char *path = act_path(job, ""), *spath = act_path(job, "/status");
	struct buf resp;
	buf_init(&resp, ACT_RESP_MAX);
	struct kube_error ke;
	memset(&ke, 0, sizeof ke);
	int rc = kube_request(a->a_o.ao_client, "GET", path, NULL, NULL, &resp, NULL, &ke);
	cJSON *o = NULL;
	char *body = NULL;
	int set = -1;
	if (rc == CC_OK) {
		o = cJSON_ParseWithLength(resp.b_data ? resp.b_data : "", resp.b_len);
		set = o ? act_set_issuing(o, p->p_reissue_msg, now) : -1;
		if (set == 0)
			body = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(o);
	buf_reset(&resp);
	if (rc == CC_OK && set == 0)
		rc = kube_request(a->a_o.ao_client, "PUT", spath, NULL, body, &resp, NULL, &ke);
	free(body);
	free(path);
	free(spath);
	char rv[32];
	if (rc == CC_OK)
		act_rv_of(&resp, rv, sizeof rv);
	buf_free(&resp);
	if (rc != CC_OK)
		return act_refused(a, job, "trigger a reissue", rc, &ke);
	if (set != 0) {
		if (set < 0)
			log_warn("certificate %s/%s: the API server's answer is not a Certificate; "
				 "no reissue", job->j_ns, job->j_name);
		return CC_OK; /* already issuing: cert-manager is at it */
	}
	pthread_mutex_lock(&a->a_mu);
	act_mem_get(a, job->j_ns, job->j_name, 1)->m_last_reissue = now;
	struct act_issuer *is = act_issuer_get(a, job->j_issuer, now);
	if (is->i_n == is->i_cap) {
		is->i_cap = is->i_cap ? is->i_cap * 2 : 8;
		is->i_times = xrealloc(is->i_times, is->i_cap * sizeof *is->i_times);
	}
	is->i_times[is->i_n++] = now;
	pthread_mutex_unlock(&a->a_mu);
	act_count(a, "reissue", p->p_mode);
	char note[AP_NOTE_MAX];
	snprintf(note, sizeof note, "%s. %s", p->p_reissue_msg, p->p_detail);
	act_emit(a, job, rv, 0, "ReissueTriggered", "Enforce", note);
	log_info("certificate %s/%s: ReissueTriggered: %s", job->j_ns, job->j_name,
	    p->p_reissue_msg);

	/* the time, where a restart finds it (scoring's minimum interval between reissues) */
	char la[512], *lab, *ppath = act_path(job, "");
	act_last_action(la, sizeof la, "ReissueTriggered", now, "status.conditions Issuing=True");
	cJSON *pb = cJSON_CreateObject();
	cJSON_AddStringToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(pb, "metadata"), "annotations"),
	    "certcast.io/last-action", la);
	lab = cJSON_PrintUnformatted(pb);
	cJSON_Delete(pb);
	memset(&ke, 0, sizeof ke);
	rc = kube_request(a->a_o.ao_client, "PATCH", ppath, "application/merge-patch+json", lab,
	    NULL, NULL, &ke);
	free(lab);
	free(ppath);
	if (rc != CC_OK)
		log_warn("certificate %s/%s: last-action not recorded: %s: %s", job->j_ns,
		    job->j_name, cc_strerror(rc), ke.ke_message);
	return CC_OK;
}

/*
 * Which of the plan's InvalidAnnotation Events certcast already posted on this object, as far
 * as the API server still keeps them: posted[i] is set for each p_ev[i] whose note (as er_emit
 * sends it) is the message of one of certcast's InvalidAnnotation Events regarding the object's
 * uid. The memory of values reported lives in the process; this lookup is what keeps a restart
 * or a new leader from reporting each value once more. One LIST, only for a plan that reports
 * an invalid value this process has not reported (once per value and process). Events expire
 * (the API server's --event-ttl, 1 h by default): after that a value is reported again. Any
 * failure (the server, the body) finds nothing: a duplicate rather than a missing report.
 */
static void
act_invalid_posted(struct act *a, const struct act_job *job, int *posted)
{
	const struct ap_plan *p = &job->j_plan;
	size_t want = 0;
	for (size_t i = 0; i < p->p_nev; i++)
		want += strcmp(p->p_ev[i].e_reason, "InvalidAnnotation") == 0;
	if (want == 0 || job->j_uid[0] == '\0')
		return;
	/* the core/v1 view: an events.k8s.io Event's note is its message, and the source field
	 * is its reportingController (what the reflectors' source!=certcast relies on) */
	char *path = xasprintf("/api/v1/namespaces/%s/events?fieldSelector=involvedObject.uid%%3D%s"
			       "%%2Creason%%3DInvalidAnnotation%%2Csource%%3D" REC_OWN_COMPONENT
			       "&limit=%d",
	    job->j_ns, job->j_uid, ACT_EVENTS_LIMIT);
	struct buf resp;
	buf_init(&resp, ACT_EVENTS_MAX);
	struct kube_error ke;
	memset(&ke, 0, sizeof ke);
	int rc = kube_request(a->a_o.ao_client, "GET", path, NULL, NULL, &resp, NULL, &ke);
	free(path);
	cJSON *o = rc == CC_OK ? cJSON_ParseWithLength(resp.b_data ? resp.b_data : "", resp.b_len)
			       : NULL;
	buf_free(&resp);
	if (rc != CC_OK) {
		log_info("certificate %s/%s: earlier InvalidAnnotation Events not looked up: %s: %s",
		    job->j_ns, job->j_name, cc_strerror(rc), ke.ke_message);
		return;
	}
	cJSON *items = cJSON_GetObjectItemCaseSensitive(o, "items");
	char *fit = xmalloc(ER_NOTE_MAX + 1);
	for (size_t i = 0; i < p->p_nev && cJSON_IsArray(items); i++) {
		if (strcmp(p->p_ev[i].e_reason, "InvalidAnnotation") != 0)
			continue;
		(void)er_note_fit(p->p_ev[i].e_note, fit);
		const cJSON *it;
		cJSON_ArrayForEach(it, items)
		{
			const cJSON *msg = cJSON_GetObjectItemCaseSensitive(it, "message");
			if (cJSON_IsString(msg) && strcmp(msg->valuestring, fit) == 0) {
				posted[i] = 1;
				log_info("certificate %s/%s: not reporting again what an InvalidAnnotation "
					 "Event still on it says: %s",
				    job->j_ns, job->j_name, fit);
				break;
			}
		}
	}
	free(fit);
	cJSON_Delete(o);
}

int
act_apply(struct act *a, const struct act_job *job, int64_t now)
{
	const struct ap_plan *p = &job->j_plan;
	if (p->p_mode == SC_MODE_OFF || a->a_o.ao_client == NULL)
		return CC_OK;
	if (a->a_o.ao_is_leader && !a->a_o.ao_is_leader(a->a_o.ao_leader_arg))
		return CC_OK; /* only the leader writes; the next leader decides afresh */
	char rv[32];
	xstrlcpy(rv, job->j_rv, sizeof rv);
	int rc = CC_OK;
	if (job->j_conflict[0]) {
		char note[AP_NOTE_MAX];
		snprintf(note, sizeof note,
		    "%s, twice. certcast stops changing this certificate (it still reports). Settle "
		    "who owns the field, then remove the annotation %s to let certcast act again, "
		    "or set certcast.io/mode: observe.",
		    job->j_conflict, ACT_CONFLICT_KEY);
		act_emit(a, job, rv, 1, "ManagerConflict", "Enforce", note);
		act_count(a, "manager-conflict", p->p_mode);
	}
	if (ap_patches(p) || job->j_conflict[0])
		rc = act_patch(a, job, now, rv, sizeof rv);
	if (rc == CC_ERR_NOTFOUND)
		return CC_OK; /* gone: no Events about it, no reissue */
	if (rc != CC_OK)
		return rc;
	/* the Events of the forecast, on the object as it now is */
	int posted[AP_MAX_EVENTS] = {0};
	if (a->a_o.ao_emit)
		act_invalid_posted(a, job, posted);
	for (size_t i = 0; i < p->p_nev; i++)
		if (!posted[i])
			act_emit(a, job, rv, p->p_ev[i].e_warning, p->p_ev[i].e_reason,
			    p->p_ev[i].e_action, p->p_ev[i].e_note);
	if (p->p_ninvalid) {
		pthread_mutex_lock(&a->a_mu);
		struct ap_memory *m = &act_mem_get(a, job->j_ns, job->j_name, 1)->m_ap;
		for (size_t i = 0; i < p->p_ninvalid; i++) {
			size_t cap = sizeof m->m_invalid / sizeof m->m_invalid[0];
			/* the oldest report makes room: at worst it is reported again */
			if (m->m_ninvalid == cap) {
				memmove(m->m_invalid, m->m_invalid + 1, (cap - 1) * sizeof *m->m_invalid);
				m->m_ninvalid--;
			}
			m->m_invalid[m->m_ninvalid++] = p->p_invalid[i];
		}
		pthread_mutex_unlock(&a->a_mu);
	}
	if (p->p_reissue && p->p_rb == AP_SPEC_NONE && p->p_fo == AP_SPEC_NONE)
		rc = act_reissue(a, job, now);
	/*
	 * With a spec change in the same plan the reissue waits for the next reconcile: a changed
	 * issuerRef makes cert-manager issue at once anyway, and scoring decides again on the
	 * object as it now is.
	 */
	return rc == CC_ERR_NOTFOUND ? CC_OK : rc;
}
