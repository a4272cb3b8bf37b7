/* status: rows from the store, and their table and JSON renderings. */
#include "status.h"
#include "assess.h"
#include "budget.h"

#include "buf.h"
#include "cc_err.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "log.h"
#include "records.h"
#include "reflector.h"
#include "resource.h"
#include "store.h"
#include "timefmt.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
status_parse_output(const char *s, enum status_output *out)
{
	if (s == NULL)
		return CC_ERR_INVAL;
	if (strcmp(s, "table") == 0)
		*out = STATUS_OUT_TABLE;
	else if (strcmp(s, "json") == 0)
		*out = STATUS_OUT_JSON;
	else if (strcmp(s, "wide") == 0)
		*out = STATUS_OUT_WIDE;
	else
		return CC_ERR_INVAL;
	return CC_OK;
}

static char *
status_dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

/* The reason of the last failure: the Issuing condition's when it reports one, else "Failed". */
static const char *
status_failure_reason(const struct rec_cert *c)
{
	if (c->c_issuing.c_status == REC_COND_FALSE && c->c_issuing.c_reason)
		return c->c_issuing.c_reason;
	return "Failed";
}

static void
status_fill_row(struct store *st, const struct rec_cert *c, struct status_row *r)
{
	const struct rec_meta *m = &c->c_meta;
	r->sr_ns = xstrdup(m->m_ns);
	r->sr_name = xstrdup(m->m_name);
	r->sr_issuer_kind = xstrdup(c->c_issuer.rf_kind ? c->c_issuer.rf_kind : "Issuer");
	r->sr_issuer_name = status_dup_or_empty(c->c_issuer.rf_name);
	r->sr_issuer_group = xstrdup(c->c_issuer.rf_group ? c->c_issuer.rf_group : REC_CM_GROUP);
	r->sr_ready = xstrdup(rec_cond_status_name(c->c_ready.c_status));
	r->sr_ready_reason = xstrdup(c->c_ready.c_reason);
	r->sr_not_after = c->c_not_after;
	r->sr_renewal_time = c->c_renewal_time;
	r->sr_has_renew_before = c->c_has_renew_before;
	r->sr_renew_before = c->c_renew_before;
	r->sr_has_renew_pct = c->c_has_renew_pct;
	r->sr_renew_pct = c->c_renew_pct;
	r->sr_failed_attempts = c->c_failed_attempts;
	r->sr_last_failure = c->c_last_failure;
	if (c->c_last_failure != REC_TIME_NONE)
		r->sr_failure_reason = xstrdup(status_failure_reason(c));
	r->sr_requests = (int)store_cert_crs(st, m->m_ns, m->m_name, NULL, 0);
	r->sr_secret = xstrdup(c->c_secret_name);
	r->sr_ndns = c->c_ndns;
	r->sr_dns = xcalloc(c->c_ndns ? c->c_ndns : 1, sizeof *r->sr_dns);
	for (size_t i = 0; i < c->c_ndns; i++)
		r->sr_dns[i] = xstrdup(c->c_dns_names[i]);
	r->sr_issuing = xstrdup(rec_cond_status_name(c->c_issuing.c_status));
	r->sr_issuing_reason = xstrdup(c->c_issuing.c_reason);
	/* status_rows_score fills these; then status_exit_code can return 3. */
	r->sr_risk = STATUS_RISK_UNKNOWN;
	r->sr_risk_value = NAN;
}

static int
status_row_cmp(const void *a, const void *b)
{
	const struct status_row *x = a, *y = b;
	int c = strcmp(x->sr_ns, y->sr_ns);
	return c ? c : strcmp(x->sr_name, y->sr_name);
}

void
status_rows_build(struct store *st, const char *ns, struct status_rows *out)
{
	memset(out, 0, sizeof *out);
	const char *filter = ns && ns[0] ? ns : NULL;
	store_rdlock(st);
	size_t cap = store_count(st, RES_CERTIFICATE);
	out->sr_rows = xcalloc(cap ? cap : 1, sizeof *out->sr_rows);
	struct store_iter it = {0};
	const struct rec_cert *c;
	while ((c = store_cert_next(st, filter, &it)) != NULL && out->sr_n < cap)
		status_fill_row(st, c, &out->sr_rows[out->sr_n++]);
	store_unlock(st);
	qsort(out->sr_rows, out->sr_n, sizeof *out->sr_rows, status_row_cmp);
}

void
status_rows_score(struct store *st, struct status_rows *rs, int64_t now,
    const struct sc_config *cfg)
{
	struct sc_result *res = xcalloc(1, sizeof *res); /* ~8 KiB: not on the stack */
	store_rdlock(st);
	struct as_ctx *a = as_new(st, cfg, now);
	(void)as_find_anomalies(a);
	for (size_t i = 0; i < rs->sr_n; i++) {
		struct status_row *r = &rs->sr_rows[i];
		const struct rec_cert *c = store_cert_get(st, r->sr_ns, r->sr_name);
		if (c == NULL)
			continue;
		(void)as_score(a, c, res, NULL, 0);
		r->sr_risk_value = res->r_risk;
		r->sr_risk = (enum status_risk)res->r_level;
		free(r->sr_risk_reasons);
		r->sr_risk_reasons = xstrdup(res->r_reasons);
		r->sr_predicted_failure = res->r_predicted_failure;
		r->sr_next_attempt = res->r_next_attempt;
		r->sr_nanomalies = res->r_nanomalies;
		for (uint32_t k = 0; k < res->r_nanomalies && k < STATUS_ANOMALIES_MAX; k++) {
			r->sr_anomalies[k].sa_type = xstrdup(res->r_anomalies[k].an_type);
			r->sr_anomalies[k].sa_severity = (int)res->r_anomalies[k].an_severity;
			r->sr_anomalies[k].sa_evidence = xstrdup(res->r_anomalies[k].an_evidence);
		}
		if (r->sr_nanomalies > STATUS_ANOMALIES_MAX)
			r->sr_nanomalies = STATUS_ANOMALIES_MAX;
		struct sc_budget bd;
		char dom[BG_DOMAIN_MAX];
		free(r->sr_budget_domain);
		r->sr_budget_domain = NULL;
		if (as_budget(a, c, &bd, dom, sizeof dom)) {
			r->sr_budget_domain = xstrdup(dom);
			r->sr_new_used = bd.bd_new_used;
			r->sr_new_limit = bd.bd_new_limit;
			r->sr_dup_used = bd.bd_dup_used;
			r->sr_dup_limit = bd.bd_dup_limit;
			r->sr_budget_window = bd.bd_window;
			r->sr_budget_refill = bd.bd_refill;
		}
	}
	as_free(a);
	store_unlock(st);
	free(res);
}

void
status_rows_free(struct status_rows *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->sr_n; i++) {
		struct status_row *r = &rs->sr_rows[i];
		free(r->sr_ns);
		free(r->sr_name);
		free(r->sr_issuer_kind);
		free(r->sr_issuer_name);
		free(r->sr_issuer_group);
		free(r->sr_ready);
		free(r->sr_ready_reason);
		free(r->sr_failure_reason);
		free(r->sr_secret);
		for (size_t k = 0; k < r->sr_ndns; k++)
			free(r->sr_dns[k]);
		free(r->sr_dns);
		free(r->sr_issuing);
		free(r->sr_issuing_reason);
		free(r->sr_risk_reasons);
		free(r->sr_budget_domain);
		for (size_t k = 0; k < r->sr_nanomalies; k++) {
			free(r->sr_anomalies[k].sa_type);
			free(r->sr_anomalies[k].sa_evidence);
		}
	}
	free(rs->sr_rows);
	rs->sr_rows = NULL;
	rs->sr_n = 0;
}

int
status_exit_code(const struct status_rows *rs)
{
	for (size_t i = 0; i < rs->sr_n; i++)
		if (rs->sr_rows[i].sr_risk == STATUS_RISK_CRITICAL)
			return 3;
	return 0;
}

/* "3d4h", "5h12m", "7m", "40s": the short age kubectl prints. */
static void
status_age(int64_t secs, char *out, size_t outsz)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400)
		snprintf(out, outsz, "%lldd%lldh", (long long)(secs / 86400),
		    (long long)(secs % 86400 / 3600));
	else if (secs >= 3600)
		snprintf(out, outsz, "%lldh%lldm", (long long)(secs / 3600),
		    (long long)(secs % 3600 / 60));
	else if (secs >= 60)
		snprintf(out, outsz, "%lldm", (long long)(secs / 60));
	else
		snprintf(out, outsz, "%llds", (long long)secs);
}

static void
status_time(int64_t t, char *out, size_t outsz)
{
	if (t == REC_TIME_NONE || tf_format_time(t, out, outsz) != CC_OK)
		snprintf(out, outsz, "-");
}

enum status_col {
	COL_NS,
	COL_NAME,
	COL_ISSUER,
	COL_READY,
	COL_NOT_AFTER,
	COL_RENEWAL,
	COL_RENEW_BEFORE,
	COL_FAILED,
	COL_LAST_FAILURE,
	COL_REQUESTS,
	COL_RISK,
	COL_SECRET,
	COL_DNS,
	COL_ISSUING,
	COL_COUNT
};

static const char *const status_headers[COL_COUNT] = {
	"NAMESPACE", "NAME", "ISSUER", "READY", "NOT AFTER", "RENEWAL TIME", "RENEW BEFORE",
	"FAILED ATTEMPTS", "LAST FAILURE", "REQUESTS", "RISK", "SECRET", "DNS NAMES", "ISSUING",
};

/* Cell text with control characters replaced, so that no object can break the layout. */
static char *
status_clean(char *s)
{
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

static const char *const status_risk_names[] = {"low", "medium", "high", "critical"};

/* "high (0.62)", "low (<0.001)", or "-" when not scored. */
static char *
status_risk_text(const struct status_row *r)
{
	if (r->sr_risk < STATUS_RISK_LOW || r->sr_risk > STATUS_RISK_CRITICAL ||
	    isnan(r->sr_risk_value))
		return xstrdup("-");
	if (r->sr_risk_value < 0.001)
		return xasprintf("%s (<0.001)", status_risk_names[r->sr_risk]);
	return xasprintf("%s (%.3f)", status_risk_names[r->sr_risk], r->sr_risk_value);
}

/* The cell of row r in column col, as a new string. */
static char *
status_cell(const struct status_row *r, enum status_col col, int64_t now)
{
	char t[TF_BUFSZ + 32], age[32];
	switch (col) {
	case COL_NS:
		return xstrdup(r->sr_ns);
	case COL_NAME:
		return xstrdup(r->sr_name);
	case COL_ISSUER:
		return xasprintf("%s/%s", r->sr_issuer_kind,
		    r->sr_issuer_name[0] ? r->sr_issuer_name : "-");
	case COL_READY:
		return xstrdup(r->sr_ready[0] ? r->sr_ready : "-");
	case COL_NOT_AFTER:
		status_time(r->sr_not_after, t, sizeof t);
		return xstrdup(t);
	case COL_RENEWAL:
		status_time(r->sr_renewal_time, t, sizeof t);
		return xstrdup(t);
	case COL_RENEW_BEFORE:
		if (r->sr_has_renew_before && tf_duration_format(r->sr_renew_before, t, sizeof t) ==
		    CC_OK)
			return xstrdup(t);
		if (r->sr_has_renew_pct)
			return xasprintf("%d%%", r->sr_renew_pct);
		return xstrdup("-");
	case COL_FAILED:
		return xasprintf("%d", r->sr_failed_attempts);
	case COL_LAST_FAILURE:
		if (r->sr_last_failure == REC_TIME_NONE)
			return xstrdup("-");
		status_age(now - r->sr_last_failure, age, sizeof age);
		return xasprintf("%s (%s ago)", r->sr_failure_reason ? r->sr_failure_reason : "Failed",
		    age);
	case COL_REQUESTS:
		return xasprintf("%d", r->sr_requests);
	case COL_RISK:
		return status_risk_text(r);
	case COL_SECRET:
		return xstrdup(r->sr_secret ? r->sr_secret : "-");
	case COL_DNS: {
		if (r->sr_ndns == 0)
			return xstrdup("-");
		struct buf b;
		buf_init(&b, 1 << 20);
		for (size_t i = 0; i < r->sr_ndns; i++)
			buf_printf(&b, "%s%s", i ? "," : "", r->sr_dns[i]);
		return buf_detach(&b);
	}
	case COL_ISSUING:
		if (r->sr_issuing[0] == '\0')
			return xstrdup("-");
		if (r->sr_issuing_reason)
			return xasprintf("%s (%s)", r->sr_issuing, r->sr_issuing_reason);
		return xstrdup(r->sr_issuing);
	default:
		return xstrdup("");
	}
}

/* Three spaces between columns and no padding after the last one, as kubectl prints. */
static void
status_put_cell(FILE *fp, const char *s, size_t width, int last)
{
	if (last)
		fprintf(fp, "%s\n", s);
	else
		fprintf(fp, "%-*s   ", (int)width, s);
}

void
status_print_table(FILE *fp, const struct status_rows *rs, int wide, int64_t now)
{
	size_t ncol = wide ? COL_COUNT : COL_SECRET;
	size_t width[COL_COUNT];
	char **cells = xcalloc(rs->sr_n * ncol + 1, sizeof *cells);
	for (size_t c = 0; c < ncol; c++)
		width[c] = strlen(status_headers[c]);
	for (size_t i = 0; i < rs->sr_n; i++) {
		for (size_t c = 0; c < ncol; c++) {
			char *s = status_clean(status_cell(&rs->sr_rows[i], (enum status_col)c, now));
			cells[i * ncol + c] = s;
			if (strlen(s) > width[c])
				width[c] = strlen(s);
		}
	}
	for (size_t c = 0; c < ncol; c++)
		status_put_cell(fp, status_headers[c], width[c], c + 1 == ncol);
	for (size_t i = 0; i < rs->sr_n; i++)
		for (size_t c = 0; c < ncol; c++)
			status_put_cell(fp, cells[i * ncol + c], width[c], c + 1 == ncol);
	for (size_t i = 0; i < rs->sr_n * ncol; i++)
		free(cells[i]);
	free(cells);
}

static cJSON *
status_json_time(int64_t t)
{
	char s[TF_BUFSZ];
	if (t == REC_TIME_NONE || tf_format_time(t, s, sizeof s) != CC_OK)
		return cJSON_CreateNull();
	return cJSON_CreateString(s);
}

static cJSON *
status_json_cond(const char *status, const char *reason)
{
	if (status[0] == '\0')
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", status);
	if (reason)
		cJSON_AddStringToObject(o, "reason", reason);
	else
		cJSON_AddNullToObject(o, "reason");
	return o;
}

static cJSON *
status_json_row(const struct status_row *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "namespace", r->sr_ns);
	cJSON_AddStringToObject(o, "name", r->sr_name);
	cJSON *iss = cJSON_AddObjectToObject(o, "issuer");
	cJSON_AddStringToObject(iss, "group", r->sr_issuer_group);
	cJSON_AddStringToObject(iss, "kind", r->sr_issuer_kind);
	cJSON_AddStringToObject(iss, "name", r->sr_issuer_name);
	cJSON_AddItemToObject(o, "ready", status_json_cond(r->sr_ready, r->sr_ready_reason));
	cJSON_AddItemToObject(o, "notAfter", status_json_time(r->sr_not_after));
	cJSON_AddItemToObject(o, "renewalTime", status_json_time(r->sr_renewal_time));
	char d[TF_BUFSZ];
	if (r->sr_has_renew_before && tf_duration_format(r->sr_renew_before, d, sizeof d) == CC_OK) {
		cJSON *rb = cJSON_AddObjectToObject(o, "renewBefore");
		cJSON_AddStringToObject(rb, "duration", d);
		cJSON_AddNumberToObject(rb, "seconds", (double)r->sr_renew_before);
	} else {
		cJSON_AddNullToObject(o, "renewBefore");
	}
	if (r->sr_has_renew_pct)
		cJSON_AddNumberToObject(o, "renewBeforePercentage", r->sr_renew_pct);
	else
		cJSON_AddNullToObject(o, "renewBeforePercentage");
	cJSON_AddNumberToObject(o, "failedIssuanceAttempts", r->sr_failed_attempts);
	if (r->sr_last_failure != REC_TIME_NONE) {
		cJSON *lf = cJSON_AddObjectToObject(o, "lastFailure");
		cJSON_AddStringToObject(lf, "reason",
		    r->sr_failure_reason ? r->sr_failure_reason : "Failed");
		cJSON_AddItemToObject(lf, "time", status_json_time(r->sr_last_failure));
	} else {
		cJSON_AddNullToObject(o, "lastFailure");
	}
	cJSON_AddNumberToObject(o, "requests", r->sr_requests);
	if (r->sr_secret)
		cJSON_AddStringToObject(o, "secretName", r->sr_secret);
	else
		cJSON_AddNullToObject(o, "secretName");
	cJSON *dns = cJSON_AddArrayToObject(o, "dnsNames");
	for (size_t i = 0; i < r->sr_ndns; i++)
		cJSON_AddItemToArray(dns, cJSON_CreateString(r->sr_dns[i]));
	cJSON_AddItemToObject(o, "issuing", status_json_cond(r->sr_issuing, r->sr_issuing_reason));
	if (r->sr_risk >= STATUS_RISK_LOW && r->sr_risk <= STATUS_RISK_CRITICAL &&
	    !isnan(r->sr_risk_value)) {
		cJSON_AddNumberToObject(o, "risk", r->sr_risk_value);
		cJSON_AddStringToObject(o, "riskLevel", status_risk_names[r->sr_risk]);
		cJSON_AddStringToObject(o, "riskReasons", r->sr_risk_reasons ? r->sr_risk_reasons : "");
		cJSON_AddItemToObject(o, "predictedFailure", status_json_time(r->sr_predicted_failure));
		cJSON_AddItemToObject(o, "nextAttempt", status_json_time(r->sr_next_attempt));
		static const char *const sev[] = {"info", "warning", "critical"};
		cJSON *an = cJSON_AddArrayToObject(o, "anomalies");
		for (size_t k = 0; k < r->sr_nanomalies; k++) {
			const struct status_anomaly *sa = &r->sr_anomalies[k];
			cJSON *x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "type", sa->sa_type);
			cJSON_AddStringToObject(x, "severity",
			    sa->sa_severity >= 0 && sa->sa_severity <= 2 ? sev[sa->sa_severity] : "info");
			cJSON_AddStringToObject(x, "evidence", sa->sa_evidence);
			cJSON_AddItemToArray(an, x);
		}
	} else {
		cJSON_AddNullToObject(o, "risk");
		cJSON_AddNullToObject(o, "riskLevel");
		cJSON_AddNullToObject(o, "riskReasons");
		cJSON_AddNullToObject(o, "predictedFailure");
		cJSON_AddNullToObject(o, "nextAttempt");
		cJSON_AddNullToObject(o, "anomalies");
	}
	if (r->sr_budget_domain) {
		char w[32];
		tf_duration_format(r->sr_budget_window, w, sizeof w);
		cJSON *b = cJSON_AddObjectToObject(o, "acmeBudget");
		cJSON_AddStringToObject(b, "registeredDomain", r->sr_budget_domain);
		cJSON *nb = cJSON_AddObjectToObject(b, "newCertificates");
		cJSON_AddNumberToObject(nb, "used", r->sr_new_used);
		cJSON_AddNumberToObject(nb, "limit", r->sr_new_limit);
		cJSON *db = cJSON_AddObjectToObject(b, "exactSet");
		cJSON_AddNumberToObject(db, "used", r->sr_dup_used);
		cJSON_AddNumberToObject(db, "limit", r->sr_dup_limit);
		cJSON_AddStringToObject(b, "window", w);
		cJSON_AddItemToObject(b, "refill", status_json_time(r->sr_budget_refill));
	} else {
		cJSON_AddNullToObject(o, "acmeBudget");
	}
	return o;
}

void
status_print_json(FILE *fp, const struct status_rows *rs)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *items = cJSON_AddArrayToObject(doc, "items");
	for (size_t i = 0; i < rs->sr_n; i++)
		cJSON_AddItemToArray(items, status_json_row(&rs->sr_rows[i]));
	char *text = cJSON_Print(doc);
	if (text == NULL)
		fatalx("cJSON_Print: out of memory");
	fprintf(fp, "%s\n", text);
	free(text);
	cJSON_Delete(doc);
}

/* "certificates.cert-manager.io", or "events" for the core group. */
static void
status_resource_name(const struct res_desc *d, char *out, size_t outsz)
{
	if (d->rd_group[0])
		snprintf(out, outsz, "%s.%s", d->rd_plural, d->rd_group);
	else
		snprintf(out, outsz, "%s", d->rd_plural);
}

/* What `certcast status` lists: the certificates and what their rows are built from. */
static int
status_wanted(const struct res_desc *d)
{
	return d->rd_kind == RES_CERTIFICATE || d->rd_kind == RES_CERTIFICATEREQUEST ||
	    d->rd_kind == RES_ISSUER || d->rd_kind == RES_CLUSTERISSUER || d->rd_kind == RES_EVENT;
}

/*
 * List every wanted resource into st. Certificates and CertificateRequests must list; for the
 * others a 403 is a warning (a user with namespace rights only cannot list ClusterIssuers), any
 * other failure is an error. Returns CC_OK or the failing call's error, with the message on errf.
 */
static int
status_list_all(struct kube_client *client, struct store *st, const char *ns, const char *cmd,
    FILE *errf)
{
	for (size_t i = 0; i < RES_DESC_COUNT; i++) {
		const struct res_desc *d = &res_table()[i];
		if (!status_wanted(d))
			continue;
		struct refl_opts ro;
		memset(&ro, 0, sizeof ro);
		ro.ro_client = client;
		ro.ro_store = st;
		ro.ro_desc = d;
		ro.ro_namespace = ns;
		struct kube_error ke;
		memset(&ke, 0, sizeof ke);
		int rc = refl_list_once(&ro, NULL, 0, &ke);
		if (rc == CC_OK)
			continue;
		char res[128], where[160];
		status_resource_name(d, res, sizeof res);
		if (d->rd_namespaced && ns && ns[0])
			snprintf(where, sizeof where, "in namespace \"%s\"", ns);
		else
			snprintf(where, sizeof where, "at the cluster scope");
		int essential = d->rd_kind == RES_CERTIFICATE || d->rd_kind == RES_CERTIFICATEREQUEST;
		if (rc == CC_ERR_FORBIDDEN && !essential) {
			fprintf(errf, "warning: forbidden: cannot list %s %s; continuing without them: %s\n",
			    res, where, ke.ke_message);
			continue;
		}
		if (rc == CC_ERR_FORBIDDEN)
			fprintf(errf, "certcast %s: forbidden: cannot list %s %s: %s\n", cmd, res, where,
			    ke.ke_message);
		else if (rc == CC_ERR_UNAUTHORIZED)
			fprintf(errf, "certcast %s: unauthorized: cannot list %s %s: %s\n", cmd, res,
			    where, ke.ke_message);
		else
			fprintf(errf, "certcast %s: cannot list %s %s: %s%s%s\n", cmd, res, where,
			    cc_strerror(rc), ke.ke_message[0] ? ": " : "", ke.ke_message);
		return rc;
	}
	return CC_OK;
}

int
status_load(const struct status_opts *o, const char *cmd, struct store *st, char *ns_out,
    size_t nssz, FILE *errf)
{
	struct kube_config *kc = NULL;
	struct kube_client *client = NULL;
	char msg[1024];
	int rc = kubeconfig_load(o->so_kubeconfig, o->so_context, &kc, msg, sizeof msg);
	if (rc != CC_OK) {
		fprintf(errf, "certcast %s: kubeconfig: %s\n", cmd, msg);
		goto out;
	}
	const char *ns = "";
	if (!o->so_all)
		ns = o->so_namespace ? o->so_namespace :
		    (kc->kc_namespace && kc->kc_namespace[0] ? kc->kc_namespace : "default");
	snprintf(ns_out, nssz, "%s", ns);
	struct kube_client_opts ko;
	memset(&ko, 0, sizeof ko);
	struct kube_error ke;
	memset(&ke, 0, sizeof ke);
	rc = kube_client_new(kc, &ko, &client, &ke);
	if (rc != CC_OK) {
		fprintf(errf, "certcast %s: cannot talk to %s: %s: %s\n", cmd,
		    kc->kc_server ? kc->kc_server : "the API server", cc_strerror(rc), ke.ke_message);
		goto out;
	}
	rc = status_list_all(client, st, ns, cmd, errf);
out:
	kube_client_free(client);
	kubeconfig_free(kc);
	return rc;
}

int
status_print(const struct status_rows *rs, enum status_output output, const char *ns,
    int64_t now, FILE *out, FILE *errf)
{
	if (output == STATUS_OUT_JSON) {
		status_print_json(out, rs);
	} else if (rs->sr_n == 0) {
		if (ns && ns[0])
			fprintf(errf, "No certificates found in namespace %s.\n", ns);
		else
			fprintf(errf, "No certificates found.\n");
	} else {
		status_print_table(out, rs, output == STATUS_OUT_WIDE, now);
	}
	fflush(out);
	return status_exit_code(rs);
}

int
status_run(const struct status_opts *o, FILE *out, FILE *errf)
{
	struct store *st = store_new();
	struct status_rows rows = {NULL, 0};
	char ns[256];
	int code = 1;
	if (status_load(o, "status", st, ns, sizeof ns, errf) == CC_OK) {
		int64_t now = (int64_t)time(NULL);
		status_rows_build(st, ns, &rows);
		status_rows_score(st, &rows, now, NULL);
		code = status_print(&rows, o->so_output, ns, now, out, errf);
	}
	status_rows_free(&rows);
	store_free(st);
	return code;
}
