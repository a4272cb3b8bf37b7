/*
 * explain: factors to words, bounded and always NUL-terminated.
 */
#include "explain.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cron.h"

#define EX_REASONS_TOP 5
#define EX_NEGLIGIBLE 1e-4

void
ex_add(struct sc_result *r, const char *name, double value, double contrib, const char *fmt, ...)
{
	struct sc_factor *f;
	va_list ap;
	if (r == NULL || r->r_nfactors >= SC_MAX_FACTORS)
		return;
	f = &r->r_factors[r->r_nfactors++];
	snprintf(f->f_name, sizeof(f->f_name), "%s", name != NULL ? name : "");
	f->f_value = value;
	f->f_contrib = isfinite(contrib) ? contrib : 0.0;
	va_start(ap, fmt);
	vsnprintf(f->f_text, sizeof(f->f_text), fmt, ap);
	va_end(ap);
}

void
ex_sort(struct sc_result *r)
{
	if (r == NULL)
		return;
	/* insertion sort: stable, and at most SC_MAX_FACTORS entries */
	for (uint32_t i = 1; i < r->r_nfactors; i++) {
		struct sc_factor cur = r->r_factors[i];
		uint32_t j = i;
		while (j > 0 && fabs(r->r_factors[j - 1].f_contrib) < fabs(cur.f_contrib)) {
			r->r_factors[j] = r->r_factors[j - 1];
			j--;
		}
		r->r_factors[j] = cur;
	}
}

int
ex_reasons(const struct sc_result *r, char *buf, size_t len)
{
	size_t used = 0;
	int any_big = 0, shown = 0, rc = SC_OK;
	if (buf == NULL || len == 0)
		return SC_ERR_NOSPACE;
	buf[0] = '\0';
	if (r == NULL)
		return SC_OK;
	for (uint32_t i = 0; i < r->r_nfactors; i++)
		if (fabs(r->r_factors[i].f_contrib) >= EX_NEGLIGIBLE)
			any_big = 1;
	for (uint32_t i = 0; i < r->r_nfactors && shown < EX_REASONS_TOP; i++) {
		const struct sc_factor *f = &r->r_factors[i];
		size_t n = strlen(f->f_text), sep = used > 0 ? 2 : 0;
		if (n == 0 || (any_big && fabs(f->f_contrib) < EX_NEGLIGIBLE))
			continue;
		if (used + sep + n + 1 > len) {
			rc = SC_ERR_NOSPACE;
			continue;
		}
		if (sep) {
			memcpy(buf + used, "; ", 2);
			used += 2;
		}
		/* ';' separates factors, so a sentence must not contain one */
		for (size_t k = 0; k < n; k++)
			buf[used + k] = f->f_text[k] == ';' ? ',' : f->f_text[k];
		used += n;
		buf[used] = '\0';
		shown++;
	}
	return rc;
}

void
ex_duration(int64_t secs, char *buf, size_t len)
{
	int64_t h, m, s;
	const char *sign = "";
	if (buf == NULL || len == 0)
		return;
	if (secs < 0) {
		sign = "-";
		secs = secs == INT64_MIN ? INT64_MAX : -secs;
	}
	h = secs / 3600;
	m = (secs % 3600) / 60;
	s = secs % 60;
	if (secs == 0)
		snprintf(buf, len, "0s");
	else if (h > 0 && m == 0 && s == 0)
		snprintf(buf, len, "%s%" PRId64 "h", sign, h);
	else if (h > 0 && s == 0)
		snprintf(buf, len, "%s%" PRId64 "h%" PRId64 "m", sign, h, m);
	else if (h > 0)
		snprintf(buf, len, "%s%" PRId64 "h%" PRId64 "m%" PRId64 "s", sign, h, m, s);
	else if (m > 0 && s == 0)
		snprintf(buf, len, "%s%" PRId64 "m", sign, m);
	else if (m > 0)
		snprintf(buf, len, "%s%" PRId64 "m%" PRId64 "s", sign, m, s);
	else
		snprintf(buf, len, "%s%" PRId64 "s", sign, s);
}

void
ex_time(int64_t t, char *buf, size_t len)
{
	struct cron_tm tm;
	if (buf == NULL || len == 0)
		return;
	if (t == 0) {
		snprintf(buf, len, "none");
		return;
	}
	cron_gmtime(t, 0, &tm);
	snprintf(buf, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year, tm.tm_mon,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A bounded text writer that stops at the last whole line that fits. */
struct ex_out {
	char *o_buf;   /* caller's buffer */
	size_t o_len;  /* its size */
	size_t o_used; /* bytes written, excluding the NUL */
	int o_cut;     /* a line did not fit */
};

static void ex_line(struct ex_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ex_line(struct ex_out *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;
	if (o->o_cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (o->o_used + (size_t)n + 2 > o->o_len) {
		o->o_cut = 1;
		return;
	}
	memcpy(o->o_buf + o->o_used, line, (size_t)n);
	o->o_used += (size_t)n;
	o->o_buf[o->o_used++] = '\n';
	o->o_buf[o->o_used] = '\0';
}

static const char *
ex_rb_action(enum sc_rb_action a)
{
	switch (a) {
	case SC_RB_LEAVE:
		return "leave as is";
	case SC_RB_SET:
		return "set";
	case SC_RB_RESTORE:
		return "restore the original";
	case SC_RB_BLOCKED:
		return "blocked (report only)";
	}
	return "?";
}

static const char *
ex_reissue_reason(enum sc_reissue_reason r)
{
	switch (r) {
	case SC_REISSUE_NONE:
		return "none";
	case SC_REISSUE_BACKOFF:
		return "backoff is the obstacle and the next attempt should succeed";
	case SC_REISSUE_ARI:
		return "the CA's ARI window asks for renewal now";
	case SC_REISSUE_SECURITY:
		return "a security anomaly asks for a new certificate";
	}
	return "?";
}

int
ex_text(const struct sc_input *in, const struct sc_result *r, char *buf, size_t len)
{
	struct ex_out o = {buf, len, 0, 0};
	char t1[32], t2[32], d1[32];
	const struct sc_decision *d;
	if (buf == NULL || len == 0)
		return SC_ERR_NOSPACE;
	buf[0] = '\0';
	if (r == NULL)
		return SC_OK;
	d = &r->r_decision;
	if (in != NULL && in->in_cert.c_name != NULL)
		ex_line(&o, "certificate: %s/%s (issuer %s/%s)",
			in->in_cert.c_namespace ? in->in_cert.c_namespace : "",
			in->in_cert.c_name, in->in_cert.c_issuer_kind ? in->in_cert.c_issuer_kind : "",
			in->in_cert.c_issuer_name ? in->in_cert.c_issuer_name : "");
	ex_line(&o, "risk: %.4g (%s)", r->r_risk, sc_level_name(r->r_level));
	if (in != NULL) {
		ex_time(in->in_cert.c_not_after, t1, sizeof(t1));
		ex_line(&o, "expires: %s", t1);
	}
	ex_time(r->r_renewal_time, t1, sizeof(t1));
	ex_time(r->r_next_attempt, t2, sizeof(t2));
	ex_line(&o, "renewal time: %s, next attempt: %s", t1, t2);
	if (r->r_backoff_until != 0) {
		ex_time(r->r_backoff_until, t1, sizeof(t1));
		ex_line(&o, "backoff until: %s", t1);
	}
	ex_time(r->r_predicted_failure, t1, sizeof(t1));
	ex_line(&o, "predicted failure: %s", t1);
	ex_line(&o, "attempts left before expiry: %" PRIu32 " (if each one fails)",
		r->r_attempts_total);
	for (uint32_t i = 0; i < r->r_nattempts && i < 8; i++) {
		ex_time(r->r_attempts[i].at_time, t1, sizeof(t1));
		ex_line(&o, "  attempt %" PRIu32 ": %s  P(fail) %.3f  P(fault present) %.3f", i + 1,
			t1, r->r_attempts[i].at_p_fail, r->r_attempts[i].at_p_fault);
	}
	if (r->r_nattempts > 8)
		ex_line(&o, "  ... %" PRIu32 " more", r->r_attempts_total - 8);
	ex_line(&o, "per-attempt failure without a fault: %.4f; P(next attempt fails): %.4f",
		r->r_p_attempt, r->r_p_next_fail);
	ex_line(&o, "current fault: %s (confidence %.2f), P(present now) %.3f",
		sc_class_name(r->r_class), r->r_class_conf, r->r_p_fault);
	ex_line(&o,
		"issuer estimate: prior %.3f, evidence %.1f outcomes (%.1f failed), posterior "
		"mean %.4f, 90%% interval [%.4f, %.4f]%s",
		r->r_issuer.ie_prior_mean, r->r_issuer.ie_evidence, r->r_issuer.ie_failures,
		r->r_issuer.ie_mean, r->r_issuer.ie_lo, r->r_issuer.ie_hi,
		r->r_issuer.ie_not_ready ? ", issuer not Ready" : "");
	if (in != NULL && in->in_budget.bd_valid) {
		/* the counts the budget rules decide with, so a held-back reissue can be checked */
		const struct sc_budget *b = &in->in_budget;
		uint32_t nl, dl;
		pol_budget_limits(b, &nl, &dl);
		ex_duration(b->bd_window > 0 ? b->bd_window : 7 * 86400, d1, sizeof(d1));
		ex_time(b->bd_refill, t1, sizeof(t1));
		ex_line(&o,
			"ACME budget of %s: %" PRIu32 " of %" PRIu32 " new certificates in %s "
			"(renewals exempt), %" PRIu32 " of %" PRIu32 " for this exact set of names%s; "
			"oldest counted leaves the window: %s",
			in->in_cert.c_domain ? in->in_cert.c_domain : "the registered domain",
			b->bd_new_used, nl, d1, b->bd_dup_used, dl,
			b->bd_renewal ? ", issued before: a renewal" : "", t1);
		if (b->bd_at_failure && in->in_cert.c_last_failure > 0) {
			int expl = pol_budget_refusal_explained(b);
			ex_time(in->in_cert.c_last_failure, t1, sizeof(t1));
			ex_line(&o,
				"  at the last failure (%s): %" PRIu32 " of %" PRIu32 " new, %" PRIu32
				" of %" PRIu32 " for this exact set%s",
				t1, b->bd_new_used_at_failure, nl, b->bd_dup_used_at_failure, dl,
				r->r_class != SC_CLASS_RATE_LIMIT ? ""
				: expl == 1 ? "; the books explain the rate-limit refusal"
					    : "; the books do not explain the rate-limit refusal: the "
					      "CA counts issuances this cluster does not see");
		}
	}
	ex_line(&o, "factors (contribution to risk):");
	for (uint32_t i = 0; i < r->r_nfactors; i++)
		ex_line(&o, "  %-16s %+.4f  %s", r->r_factors[i].f_name, r->r_factors[i].f_contrib,
			r->r_factors[i].f_text);
	if (d->d_rb == SC_RB_SET || d->d_rb == SC_RB_RESTORE) {
		if (d->d_rb_unset)
			snprintf(d1, sizeof(d1), "unset");
		else
			ex_duration(d->d_rb_value, d1, sizeof(d1));
		ex_line(&o, "decision: renewBefore %s %s (risk after %.4g)", ex_rb_action(d->d_rb), d1,
			d->d_risk_after);
	} else {
		ex_line(&o, "decision: renewBefore %s", ex_rb_action(d->d_rb));
	}
	ex_line(&o, "decision: reissue now: %s%s", d->d_reissue ? "yes, " : "no",
		d->d_reissue ? ex_reissue_reason(d->d_reissue_reason) : "");
	ex_line(&o, "decision: failover: %s",
		d->d_failover == SC_FO_SWITCH	   ? "switch to the fallback issuer"
		: d->d_failover == SC_FO_RESTORE ? "restore the primary issuer"
						 : "none");
	if (d->d_note[0] != '\0')
		ex_line(&o, "note: %s", d->d_note);
	for (uint32_t i = 0; i < r->r_nanomalies; i++)
		ex_line(&o, "anomaly: %s (%s, score %.2f): %s", r->r_anomalies[i].an_type,
			r->r_anomalies[i].an_severity == SC_SEV_CRITICAL  ? "critical"
			: r->r_anomalies[i].an_severity == SC_SEV_WARNING ? "warning"
									  : "info",
			r->r_anomalies[i].an_score, r->r_anomalies[i].an_evidence);
	return o.o_cut ? SC_ERR_NOSPACE : SC_OK;
}
