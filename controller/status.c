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
	/* as written: explain shows it so, and the parts are read from it when printed */
	r->sr_last_action = xstrdup(rec_cert_annot(c, "certcast.io/last-action"));
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

/* A certificate's key, taken while the lock is held and looked up again under a later one. */
struct status_key {
	char *sk_ns, *sk_name;
};

static int
status_key_cmp(const void *a, const void *b)
{
	const struct status_key *x = a, *y = b;
	int c = strcmp(x->sk_ns, y->sk_ns);
	return c ? c : strcmp(x->sk_name, y->sk_name);
}

void
status_rows_collect(struct store *st, const char *ns, size_t batch, status_score_fn score,
    void *arg, struct status_rows *out)
{
	memset(out, 0, sizeof *out);
	const char *filter = ns && ns[0] ? ns : NULL;
	/* the keys first: a cursor into the store does not survive letting go of its lock */
	store_rdlock(st);
	size_t cap = store_count(st, RES_CERTIFICATE), n = 0;
	struct status_key *keys = xcalloc(cap ? cap : 1, sizeof *keys);
	struct store_iter it = {0};
	const struct rec_cert *c;
	while (n < cap && (c = store_cert_next(st, filter, &it)) != NULL) {
		keys[n].sk_ns = xstrdup(c->c_meta.m_ns);
		keys[n++].sk_name = xstrdup(c->c_meta.m_name);
	}
	store_unlock(st);
	/* sorted keys give sorted rows: no row is moved once built */
	qsort(keys, n, sizeof *keys, status_key_cmp);
	out->sr_rows = xcalloc(n ? n : 1, sizeof *out->sr_rows);
	if (batch == 0)
		batch = n ? n : 1;
	for (size_t i = 0; i < n;) {
		store_rdlock(st);
		for (size_t end = i + batch; i < n && i < end; i++) {
			c = store_cert_get(st, keys[i].sk_ns, keys[i].sk_name);
			if (c == NULL)
				continue; /* deleted since the keys were taken */
			struct status_row *r = &out->sr_rows[out->sr_n++];
			status_fill_row(st, c, r);
			score(arg, c, r);
		}
		store_unlock(st);
	}
	for (size_t i = 0; i < n; i++) {
		free(keys[i].sk_ns);
		free(keys[i].sk_name);
	}
	free(keys);
}

void
status_row_set_score(struct status_row *r, struct as_ctx *a, const struct rec_cert *c,
    const struct sc_result *res)
{
	r->sr_risk_value = res->r_risk;
	r->sr_risk = (enum status_risk)res->r_level;
	free(r->sr_risk_reasons);
	r->sr_risk_reasons = xstrdup(res->r_reasons);
	r->sr_predicted_failure = res->r_predicted_failure;
	r->sr_next_attempt = res->r_next_attempt;
	for (size_t k = 0; k < r->sr_nanomalies; k++) {
		free(r->sr_anomalies[k].sa_type);
		free(r->sr_anomalies[k].sa_evidence);
	}
	r->sr_nanomalies = res->r_nanomalies;
	if (r->sr_nanomalies > STATUS_ANOMALIES_MAX)
		r->sr_nanomalies = STATUS_ANOMALIES_MAX;
	for (size_t k = 0; k < r->sr_nanomalies; k++) {
		r->sr_anomalies[k].sa_type = xstrdup(res->r_anomalies[k].an_type);
		r->sr_anomalies[k].sa_severity = (int)res->r_anomalies[k].an_severity;
		r->sr_anomalies[k].sa_evidence = xstrdup(res->r_anomalies[k].an_evidence);
	}
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
		status_row_set_score(r, a, c, res);
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
		free(r->sr_last_action);
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

void
status_last_action_parse(const char *v, struct status_last_action *out)
{
	memset(out, 0, sizeof *out);
	if (v == NULL || !as_parse_last_action(v, out->la_reason, sizeof out->la_reason,
			     &out->la_time))
		return;
	out->la_ok = 1;
	/* "REASON TIME: detail": the time has colons of its own, so the detail follows the first
	 * ": " after the reason, as as_parse_last_action splits it */
	const char *d = strstr(strchr(v, ' ') + 1, ": ");
	out->la_detail = d ? d + 2 : NULL;
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
	COL_LAST_ACTION,
	COL_COUNT
};

static const char *const status_headers[COL_COUNT] = {
	"NAMESPACE", "NAME", "ISSUER", "READY", "NOT AFTER", "RENEWAL TIME", "RENEW BEFORE",
	"FAILED ATTEMPTS", "LAST FAILURE", "REQUESTS", "RISK", "SECRET", "DNS NAMES", "ISSUING",
	"LAST ACTION",
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
	case COL_LAST_ACTION: {
		/* as LAST FAILURE: the reason and how long ago; -o json and explain give the rest */
		struct status_last_action la;
		if (r->sr_last_action == NULL)
			return xstrdup("-");
		status_last_action_parse(r->sr_last_action, &la);
		if (!la.la_ok)
			return xstrdup("unreadable");
		status_age(now - la.la_time, age, sizeof age);
		return xasprintf("%s (%s ago)", la.la_reason, age);
	}
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

/* null, or the value as written and its parts (each null when not in certcast's format). */
static cJSON *
status_json_last_action(const char *v)
{
	if (v == NULL)
		return cJSON_CreateNull();
	struct status_last_action la;
	status_last_action_parse(v, &la);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "text", v);
	if (la.la_ok) {
		cJSON_AddStringToObject(o, "reason", la.la_reason);
		cJSON_AddItemToObject(o, "time", status_json_time(la.la_time));
	} else {
		cJSON_AddNullToObject(o, "reason");
		cJSON_AddNullToObject(o, "time");
	}
	if (la.la_detail)
		cJSON_AddStringToObject(o, "detail", la.la_detail);
	else
		cJSON_AddNullToObject(o, "detail");
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
	cJSON_AddItemToObject(o, "lastAction", status_json_last_action(r->sr_last_action));
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

char *
status_json_text(const struct status_rows *rs)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *items = cJSON_AddArrayToObject(doc, "items");
	for (size_t i = 0; i < rs->sr_n; i++)
		cJSON_AddItemToArray(items, status_json_row(&rs->sr_rows[i]));
	char *text = cJSON_Print(doc);
	if (text == NULL)
		fatalx("cJSON_Print: out of memory");
	cJSON_Delete(doc);
	/* the newline the command has always printed after the document */
	size_t n = strlen(text);
	char *out = xmalloc(n + 2);
	memcpy(out, text, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	free(text);
	return out;
}

void
status_print_json(FILE *fp, const struct status_rows *rs)
{
	char *text = status_json_text(rs);
	fputs(text, fp);
	free(text);
}

/* ---- reading the document back (a controller's /status) ---- */

/* The reader's place in the document, for messages: which item, which field. */
struct status_rd {
	size_t rd_item;
	const char *rd_field;
	int rd_bad;
};

static const cJSON *
status_rd_get(struct status_rd *d, const cJSON *o, const char *field)
{
	if (d->rd_bad)
		return NULL;
	d->rd_field = field;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
	if (v == NULL)
		d->rd_bad = 1; /* the writer always writes every field, null or not */
	return v;
}

/* A string field; NULL (and no error) for null when nullable. */
static char *
status_rd_str(struct status_rd *d, const cJSON *o, const char *field, int nullable)
{
	const cJSON *v = status_rd_get(d, o, field);
	if (v == NULL)
		return NULL;
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	if (!(nullable && cJSON_IsNull(v)))
		d->rd_bad = 1;
	return NULL;
}

/* A number field that must be a whole number within lo..hi. */
static int64_t
status_rd_int(struct status_rd *d, const cJSON *o, const char *field, double lo, double hi)
{
	const cJSON *v = status_rd_get(d, o, field);
	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
	    v->valuedouble != (double)(int64_t)v->valuedouble) {
		d->rd_bad = 1;
		return 0;
	}
	return (int64_t)v->valuedouble;
}

/* An RFC 3339 time field or null (REC_TIME_NONE). */
static int64_t
status_rd_time(struct status_rd *d, const cJSON *o, const char *field)
{
	const cJSON *v = status_rd_get(d, o, field);
	int64_t t = REC_TIME_NONE;
	if (v == NULL || cJSON_IsNull(v))
		return REC_TIME_NONE;
	if (!cJSON_IsString(v) || tf_parse_time(v->valuestring, &t) != CC_OK)
		d->rd_bad = 1;
	return t;
}

/* A condition, {"status","reason"} or null, into *status ("" for null) and *reason. */
static void
status_rd_cond(struct status_rd *d, const cJSON *o, const char *field, char **status,
    char **reason)
{
	const cJSON *v = status_rd_get(d, o, field);
	if (v && cJSON_IsObject(v)) {
		*status = status_rd_str(d, v, "status", 0);
		*reason = status_rd_str(d, v, "reason", 1);
		d->rd_field = field;
	} else if (v && !cJSON_IsNull(v)) {
		d->rd_bad = 1;
	}
	if (*status == NULL)
		*status = xstrdup("");
}

static int
status_risk_from_name(const char *s)
{
	for (int i = STATUS_RISK_LOW; i <= STATUS_RISK_CRITICAL; i++)
		if (s && strcmp(s, status_risk_names[i]) == 0)
			return i;
	return STATUS_RISK_UNKNOWN;
}

static void
status_rd_risk(struct status_rd *d, const cJSON *o, struct status_row *r)
{
	const cJSON *risk = status_rd_get(d, o, "risk");
	if (risk && cJSON_IsNull(risk))
		return; /* not scored: the row keeps its unknown risk */
	if (risk == NULL || !cJSON_IsNumber(risk) || !(risk->valuedouble >= 0 && risk->valuedouble <= 1)) {
		d->rd_bad = 1;
		return;
	}
	r->sr_risk_value = risk->valuedouble;
	char *level = status_rd_str(d, o, "riskLevel", 0);
	r->sr_risk = (enum status_risk)status_risk_from_name(level);
	if (level && r->sr_risk == STATUS_RISK_UNKNOWN)
		d->rd_bad = 1;
	free(level);
	r->sr_risk_reasons = status_rd_str(d, o, "riskReasons", 0);
	r->sr_predicted_failure = status_rd_time(d, o, "predictedFailure");
	r->sr_next_attempt = status_rd_time(d, o, "nextAttempt");
	const cJSON *an = status_rd_get(d, o, "anomalies");
	if (an && !cJSON_IsArray(an))
		d->rd_bad = 1;
	if (an == NULL || d->rd_bad)
		return;
	static const char *const sev[] = {"info", "warning", "critical"};
	const cJSON *x;
	cJSON_ArrayForEach(x, an) {
		if (r->sr_nanomalies == STATUS_ANOMALIES_MAX || !cJSON_IsObject(x)) {
			d->rd_bad = 1;
			return;
		}
		struct status_anomaly *sa = &r->sr_anomalies[r->sr_nanomalies++];
		sa->sa_type = status_rd_str(d, x, "type", 0);
		sa->sa_evidence = status_rd_str(d, x, "evidence", 0);
		char *sv = status_rd_str(d, x, "severity", 0);
		sa->sa_severity = -1;
		for (int k = 0; k < 3; k++)
			if (sv && strcmp(sv, sev[k]) == 0)
				sa->sa_severity = k;
		if (sa->sa_severity < 0)
			d->rd_bad = 1;
		free(sv);
		d->rd_field = "anomalies";
		if (d->rd_bad)
			return;
	}
}

/*
 * lastAction: its text is the annotation, the rest is derived from it when printed again. Absent
 * is read as null: a controller from before the field does not send it.
 */
static void
status_rd_last_action(struct status_rd *d, const cJSON *o, struct status_row *r)
{
	if (d->rd_bad)
		return;
	const cJSON *la = cJSON_GetObjectItemCaseSensitive(o, "lastAction");
	if (la == NULL || cJSON_IsNull(la))
		return;
	d->rd_field = "lastAction";
	if (!cJSON_IsObject(la)) {
		d->rd_bad = 1;
		return;
	}
	r->sr_last_action = status_rd_str(d, la, "text", 0);
	d->rd_field = "lastAction";
}

static void
status_rd_budget(struct status_rd *d, const cJSON *o, struct status_row *r)
{
	const cJSON *b = status_rd_get(d, o, "acmeBudget");
	if (b == NULL || cJSON_IsNull(b))
		return;
	if (!cJSON_IsObject(b)) {
		d->rd_bad = 1;
		return;
	}
	r->sr_budget_domain = status_rd_str(d, b, "registeredDomain", 0);
	const cJSON *nb = status_rd_get(d, b, "newCertificates");
	const cJSON *db = status_rd_get(d, b, "exactSet");
	if (d->rd_bad)
		return;
	r->sr_new_used = (uint32_t)status_rd_int(d, nb, "used", 0, UINT32_MAX);
	r->sr_new_limit = (uint32_t)status_rd_int(d, nb, "limit", 0, UINT32_MAX);
	r->sr_dup_used = (uint32_t)status_rd_int(d, db, "used", 0, UINT32_MAX);
	r->sr_dup_limit = (uint32_t)status_rd_int(d, db, "limit", 0, UINT32_MAX);
	char *w = status_rd_str(d, b, "window", 0);
	if (w && tf_duration_parse(w, &r->sr_budget_window) != CC_OK)
		d->rd_bad = 1;
	free(w);
	r->sr_budget_refill = status_rd_time(d, b, "refill");
	d->rd_field = "acmeBudget";
}

/* One item into r (zeroed). Sets d->rd_bad on the first problem. */
static void
status_rd_row(struct status_rd *d, const cJSON *o, struct status_row *r)
{
	r->sr_risk = STATUS_RISK_UNKNOWN;
	r->sr_risk_value = NAN;
	r->sr_ns = status_rd_str(d, o, "namespace", 0);
	r->sr_name = status_rd_str(d, o, "name", 0);
	const cJSON *iss = status_rd_get(d, o, "issuer");
	if (iss && !cJSON_IsObject(iss))
		d->rd_bad = 1;
	if (iss && !d->rd_bad) {
		r->sr_issuer_group = status_rd_str(d, iss, "group", 0);
		r->sr_issuer_kind = status_rd_str(d, iss, "kind", 0);
		r->sr_issuer_name = status_rd_str(d, iss, "name", 0);
	}
	status_rd_cond(d, o, "ready", &r->sr_ready, &r->sr_ready_reason);
	r->sr_not_after = status_rd_time(d, o, "notAfter");
	r->sr_renewal_time = status_rd_time(d, o, "renewalTime");
	const cJSON *rb = status_rd_get(d, o, "renewBefore");
	if (rb && cJSON_IsObject(rb)) {
		r->sr_has_renew_before = 1;
		r->sr_renew_before = status_rd_int(d, rb, "seconds", -9.2e18, 9.2e18);
	} else if (rb && !cJSON_IsNull(rb)) {
		d->rd_bad = 1;
	}
	const cJSON *pct = status_rd_get(d, o, "renewBeforePercentage");
	if (pct && !cJSON_IsNull(pct)) {
		r->sr_has_renew_pct = 1;
		r->sr_renew_pct = (int)status_rd_int(d, o, "renewBeforePercentage", 0, 100);
	}
	r->sr_failed_attempts = (int)status_rd_int(d, o, "failedIssuanceAttempts", 0, INT32_MAX);
	const cJSON *lf = status_rd_get(d, o, "lastFailure");
	if (lf && cJSON_IsObject(lf)) {
		r->sr_failure_reason = status_rd_str(d, lf, "reason", 0);
		r->sr_last_failure = status_rd_time(d, lf, "time");
		d->rd_field = "lastFailure";
		if (r->sr_last_failure == REC_TIME_NONE)
			d->rd_bad = 1;
	} else if (lf && !cJSON_IsNull(lf)) {
		d->rd_bad = 1;
	}
	r->sr_requests = (int)status_rd_int(d, o, "requests", 0, INT32_MAX);
	r->sr_secret = status_rd_str(d, o, "secretName", 1);
	const cJSON *dns = status_rd_get(d, o, "dnsNames");
	size_t nd = dns && cJSON_IsArray(dns) ? (size_t)cJSON_GetArraySize(dns) : 0;
	if (dns && !cJSON_IsArray(dns))
		d->rd_bad = 1;
	r->sr_dns = xcalloc(nd ? nd : 1, sizeof *r->sr_dns);
	const cJSON *x;
	if (dns && cJSON_IsArray(dns))
		cJSON_ArrayForEach(x, dns) {
			if (!cJSON_IsString(x) || r->sr_ndns == nd) {
				d->rd_bad = 1;
				break;
			}
			r->sr_dns[r->sr_ndns++] = xstrdup(x->valuestring);
		}
	status_rd_cond(d, o, "issuing", &r->sr_issuing, &r->sr_issuing_reason);
	status_rd_last_action(d, o, r);
	status_rd_risk(d, o, r);
	status_rd_budget(d, o, r);
	/* what every printer dereferences must be there even after a problem */
	if (r->sr_ns == NULL)
		r->sr_ns = xstrdup("");
	if (r->sr_name == NULL)
		r->sr_name = xstrdup("");
	if (r->sr_issuer_kind == NULL)
		r->sr_issuer_kind = xstrdup("Issuer");
	if (r->sr_issuer_name == NULL)
		r->sr_issuer_name = xstrdup("");
	if (r->sr_issuer_group == NULL)
		r->sr_issuer_group = xstrdup(REC_CM_GROUP);
}

int
status_rows_from_json(const char *text, size_t len, struct status_rows *out, char *err,
    size_t errsz)
{
	memset(out, 0, sizeof *out);
	cJSON *doc = cJSON_ParseWithLength(text, len);
	if (doc == NULL)
		return cc_fail(err, errsz, CC_ERR_PARSE, "not JSON");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	if (!cJSON_IsObject(doc) || !cJSON_IsArray(items)) {
		cJSON_Delete(doc);
		return cc_fail(err, errsz, CC_ERR_PARSE, "no \"items\" array");
	}
	size_t n = (size_t)cJSON_GetArraySize(items);
	out->sr_rows = xcalloc(n ? n : 1, sizeof *out->sr_rows);
	struct status_rd d = {0, "", 0};
	const cJSON *it;
	cJSON_ArrayForEach(it, items) {
		if (!cJSON_IsObject(it)) {
			d.rd_bad = 1;
			d.rd_field = "(the item itself)";
			break;
		}
		status_rd_row(&d, it, &out->sr_rows[out->sr_n++]);
		if (d.rd_bad)
			break;
		d.rd_item++;
	}
	cJSON_Delete(doc);
	if (!d.rd_bad)
		return CC_OK;
	status_rows_free(out);
	return cc_fail(err, errsz, CC_ERR_PARSE, "items[%zu]: field \"%s\" is missing or malformed",
	    d.rd_item, d.rd_field);
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

/* -A: "", -n's, else the context's (kc may be NULL when -n or -A decided), else "default". */
static const char *
status_pick_namespace(const struct status_opts *o, const struct kube_config *kc)
{
	if (o->so_all)
		return "";
	if (o->so_namespace)
		return o->so_namespace;
	return kc && kc->kc_namespace && kc->kc_namespace[0] ? kc->kc_namespace : "default";
}

int
status_namespace(const struct status_opts *o, const char *cmd, char *ns, size_t nssz,
    FILE *errf)
{
	struct kube_config *kc = NULL;
	if (!o->so_all && o->so_namespace == NULL) {
		/* only the context knows which namespace "no -n" means, as for kubectl */
		char msg[1024];
		int rc = kubeconfig_load(o->so_kubeconfig, o->so_context, &kc, msg, sizeof msg);
		if (rc != CC_OK) {
			fprintf(errf, "certcast %s: kubeconfig (for the namespace; -n NS or -A need "
				      "none): %s\n",
			    cmd, msg);
			return rc;
		}
	}
	snprintf(ns, nssz, "%s", status_pick_namespace(o, kc));
	kubeconfig_free(kc);
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
	const char *ns = status_pick_namespace(o, kc);
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
		/* on errf: -o json on out must stay one document */
		fprintf(errf, "%s\n", STATUS_LOCAL_NOTE);
		code = status_print(&rows, o->so_output, ns, now, out, errf);
	}
	status_rows_free(&rows);
	store_free(st);
	return code;
}
