/* actplan: the writes about one Certificate, decided from its record and its score. */
#include "actplan.h"

#include "assess.h"
#include "hash.h"
#include "timefmt.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
ap_format_risk(double risk, char *buf, size_t len)
{
	if (!(risk > 0.0))
		risk = 0.0; /* NaN, negatives and -0.0, which would print as "-0" */
	if (risk > 1.0)
		risk = 1.0;
	snprintf(buf, len, "%.6f", risk);
	char *dot = strchr(buf, '.');
	if (dot == NULL)
		return;
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
}

void
ap_format_issuer(const char *group, const char *kind, const char *name, char *buf, size_t len)
{
	if (group == NULL || group[0] == '\0' || strcmp(group, REC_CM_GROUP) == 0)
		snprintf(buf, len, "%s/%s", kind, name);
	else
		snprintf(buf, len, "%s.%s/%s", kind, group, name);
}

/* The level certcast last wrote: its memory first (the watch may lag), else the annotation. */
static int
ap_prev_level(const struct rec_cert *c, const struct ap_memory *m)
{
	if (m->m_level > 0)
		return m->m_level - 1;
	const char *v = rec_cert_annot(c, "certcast.io/risk-level");
	for (int l = SC_LEVEL_LOW; v && l <= SC_LEVEL_CRITICAL; l++)
		if (strcmp(v, sc_level_name((enum sc_level)l)) == 0)
			return l;
	return -1;
}

/* Whether the risk annotations are worth writing now. */
static int
ap_want_annotations(const struct ap_input *in, int prev_level)
{
	const struct rec_cert *c = in->ai_cert;
	const struct sc_result *r = in->ai_res;
	const struct ap_memory *m = in->ai_mem;
	const char *rv = rec_cert_annot(c, "certcast.io/risk");
	if (prev_level != (int)r->r_level)
		return 1;
	/*
	 * No annotation while the memory has the level: the watch has not brought certcast's
	 * write yet (or someone removed it), which waits for the interval as any other change.
	 */
	int moved = rv == NULL;
	if (rv) {
		char *end;
		double old = strtod(rv, &end);
		moved = end == rv || *end != '\0' || !(old >= 0.0 && old <= 1.0);
		double d = fabs(r->r_risk - old);
		moved = moved || (d > AP_RISK_ABS && d > AP_RISK_REL * old);
	}
	int64_t pf = 0;
	const char *pv = rec_cert_annot(c, "certcast.io/predicted-failure");
	if (pv && tf_parse_time(pv, &pf) != 0)
		pf = -1; /* unreadable: rewrite it */
	if ((pf == 0) != (r->r_predicted_failure == 0) || pf < 0 ||
	    llabs(pf - r->r_predicted_failure) >= AP_PFAIL_MOVE)
		moved = 1;
	if (!moved)
		return 0;
	return m->m_annot_time == 0 || in->ai_now - m->m_annot_time >= AP_ANNOT_INTERVAL;
}

static struct ap_event *
ap_event(struct ap_plan *p, int warning, const char *reason, const char *action)
{
	if (p->p_nev == AP_MAX_EVENTS)
		return NULL;
	struct ap_event *e = &p->p_ev[p->p_nev++];
	e->e_warning = warning;
	e->e_reason = reason;
	e->e_action = action;
	e->e_note[0] = '\0';
	return e;
}

/* The forecast in one paragraph, for RiskRaised. */
static void
ap_risk_note(const struct ap_input *in, const struct ap_plan *p, char *buf, size_t len)
{
	const struct sc_result *r = in->ai_res;
	int n = snprintf(buf, len,
	    "Risk %s (%s) that the certificate expires before cert-manager renews it", p->p_risk,
	    p->p_level);
	if (r->r_reasons[0] && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ": %s", r->r_reasons);
	if (n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ".");
	if (p->p_pfail[0] && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n,
		    " Renewal can no longer succeed after %s if the trend holds.", p->p_pfail);
	if (r->r_decision.d_note[0] && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " %s", r->r_decision.d_note);
	if (p->p_mode != SC_MODE_ENFORCE && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n,
		    " Mode observe: certcast reports and does not act on this certificate.");
}

static void
ap_invalid(const struct ap_input *in, struct ap_plan *p)
{
	const struct ap_memory *m = in->ai_mem;
	for (size_t i = 0; i < in->ai_nproblems; i++) {
		const struct as_annot_problem *pr = &in->ai_problems[i];
		char kv[1100];
		snprintf(kv, sizeof kv, "%s=%s", pr->ap_key, pr->ap_value);
		uint64_t h = hash_str(kv);
		int seen = 0;
		for (size_t k = 0; k < m->m_ninvalid && !seen; k++)
			seen = m->m_invalid[k] == h;
		if (seen)
			continue;
		struct ap_event *e = ap_event(p, 1, "InvalidAnnotation", "Validate");
		if (e == NULL)
			break; /* no room: not remembered, so reported by a later plan */
		snprintf(e->e_note, sizeof e->e_note, "%s=\"%.200s\" is ignored: %s.", pr->ap_key,
		    pr->ap_value, pr->ap_why);
		if (p->p_ninvalid < sizeof p->p_invalid / sizeof p->p_invalid[0])
			p->p_invalid[p->p_ninvalid++] = h;
	}
}

/* The enforce-mode actions of scoring's decision, as writes. */
static void
ap_actions(const struct ap_input *in, struct ap_plan *p)
{
	const struct rec_cert *c = in->ai_cert;
	const struct sc_decision *d = &in->ai_res->r_decision;
	if (d->d_rb == SC_RB_SET &&
	    !(c->c_has_renew_before && c->c_renew_before == d->d_rb_value)) {
		p->p_rb = AP_SPEC_SET;
		p->p_rb_value = d->d_rb_value;
		/* the user's value is saved once, before certcast's first change */
		if (rec_cert_annot(c, "certcast.io/original-renew-before") == NULL) {
			if (c->c_has_renew_before)
				tf_duration_format(c->c_renew_before, p->p_orig_rb, sizeof p->p_orig_rb);
			else
				xstrlcpy(p->p_orig_rb, "unset", sizeof p->p_orig_rb);
		}
	} else if (d->d_rb == SC_RB_RESTORE) {
		p->p_rb = AP_SPEC_RESTORE;
		p->p_rb_value = d->d_rb_value;
		p->p_rb_unset = d->d_rb_unset;
	}
	const char *ir_group = c->c_issuer.rf_group ? c->c_issuer.rf_group : REC_CM_GROUP;
	const char *ir_kind = c->c_issuer.rf_kind ? c->c_issuer.rf_kind : "Issuer";
	if (d->d_failover == SC_FO_SWITCH && c->c_issuer.rf_name) {
		const char *fb = rec_cert_annot(c, "certcast.io/fallback-issuer");
		if (fb && as_parse_issuer_ref(fb, p->p_fo_kind, sizeof p->p_fo_kind, p->p_fo_name,
			      sizeof p->p_fo_name)) {
			p->p_fo = AP_SPEC_SET;
			xstrlcpy(p->p_fo_group, REC_CM_GROUP, sizeof p->p_fo_group);
			if (rec_cert_annot(c, "certcast.io/original-issuer") == NULL)
				ap_format_issuer(ir_group, ir_kind, c->c_issuer.rf_name,
				    p->p_orig_issuer, sizeof p->p_orig_issuer);
		}
	} else if (d->d_failover == SC_FO_RESTORE) {
		/* back to the issuer certcast left, which only its annotation remembers */
		const char *o = rec_cert_annot(c, "certcast.io/original-issuer");
		if (o && as_parse_issuer_ref_any(o, p->p_fo_group, sizeof p->p_fo_group,
			     p->p_fo_kind, sizeof p->p_fo_kind, p->p_fo_name, sizeof p->p_fo_name))
			p->p_fo = AP_SPEC_RESTORE;
	}
	if (d->d_reissue) {
		p->p_reissue = 1;
		const char *why = d->d_reissue_reason == SC_REISSUE_ARI ? "the CA's ARI window is open"
				  : d->d_reissue_reason == SC_REISSUE_SECURITY
				      ? "a security anomaly asks for a new certificate"
				      : "cert-manager is backing off but the next attempt should succeed";
		snprintf(p->p_reissue_msg, sizeof p->p_reissue_msg,
		    "Re-issuance triggered by certcast: %s", why);
	}
}

void
ap_decide(const struct ap_input *in, struct ap_plan *p)
{
	const struct sc_result *r = in->ai_res;
	memset(p, 0, sizeof *p);
	p->p_mode = r->r_mode;
	if (p->p_mode == SC_MODE_OFF)
		return; /* writes nothing about the certificate, not even that its values are bad */
	ap_format_risk(r->r_risk, p->p_risk, sizeof p->p_risk);
	xstrlcpy(p->p_level, sc_level_name(r->r_level), sizeof p->p_level);
	xstrlcpy(p->p_reasons, r->r_reasons, sizeof p->p_reasons);
	if (r->r_predicted_failure != 0)
		tf_format_time(r->r_predicted_failure, p->p_pfail, sizeof p->p_pfail);
	p->p_level_num = (int)r->r_level;
	xstrlcpy(p->p_detail, r->r_decision.d_note, sizeof p->p_detail);

	int prev = ap_prev_level(in->ai_cert, in->ai_mem);
	p->p_annotate = ap_want_annotations(in, prev);
	struct ap_event *e;
	if (r->r_level >= SC_LEVEL_HIGH && prev < SC_LEVEL_HIGH &&
	    (e = ap_event(p, 1, "RiskRaised", "Forecast")) != NULL)
		ap_risk_note(in, p, e->e_note, sizeof e->e_note);
	else if (r->r_level < SC_LEVEL_HIGH && prev >= SC_LEVEL_HIGH &&
		 (e = ap_event(p, 0, "RiskCleared", "Forecast")) != NULL)
		snprintf(e->e_note, sizeof e->e_note,
		    "Risk %s (%s): the certificate is expected to renew in time again.", p->p_risk,
		    p->p_level);
	for (size_t i = 0; i < in->ai_nnew; i++) {
		const struct sc_anomaly *an = &in->ai_new[i];
		if ((e = ap_event(p, an->an_severity != SC_SEV_INFO, "AnomalyDetected", "Detect")))
			snprintf(e->e_note, sizeof e->e_note, "%s (%s): %s", an->an_type,
			    an->an_severity == SC_SEV_CRITICAL	 ? "critical"
			    : an->an_severity == SC_SEV_WARNING ? "warning"
								  : "info",
			    an->an_evidence);
	}
	ap_invalid(in, p);
	if (p->p_mode == SC_MODE_ENFORCE && !in->ai_mem->m_conflict)
		ap_actions(in, p);
}

void
ap_describe(const struct rec_cert *c, enum sc_mode mode, char *buf, size_t len)
{
	static const char *const names[] = {"observe", "enforce", "off"};
	const char *own = rec_cert_annot(c, "certcast.io/mode");
	const char *m = (unsigned)mode < 3 ? names[mode] : "?";
	int from_annot = own && strcmp(own, m) == 0;
	size_t n = 0;
	int w = snprintf(buf, len, "certcast mode: %s (%s)%s\n", m,
	    from_annot ? "certcast.io/mode" : "the controller's",
	    mode == SC_MODE_ENFORCE ? ""
	    : mode == SC_MODE_OFF   ? ": certcast writes nothing about it"
				    : ": annotations and Events only, no actions");
	if (w < 0 || (size_t)w >= len)
		return;
	n = (size_t)w;
	const char *v;
	if ((v = rec_cert_annot(c, "certcast.io/last-action")) != NULL && n < len) {
		w = snprintf(buf + n, len - n, "certcast last action: %.400s\n", v);
		if (w > 0)
			n += (size_t)w < len - n ? (size_t)w : len - n - 1;
	}
	if ((v = rec_cert_annot(c, "certcast.io/original-renew-before")) != NULL && n < len) {
		w = snprintf(buf + n, len - n, "kept for a restore: spec.renewBefore %.64s\n", v);
		if (w > 0)
			n += (size_t)w < len - n ? (size_t)w : len - n - 1;
	}
	if ((v = rec_cert_annot(c, "certcast.io/original-issuer")) != NULL && n < len) {
		w = snprintf(buf + n, len - n, "kept for a restore: spec.issuerRef %.300s\n", v);
		if (w > 0)
			n += (size_t)w < len - n ? (size_t)w : len - n - 1;
	}
	if ((v = rec_cert_annot(c, "certcast.io/manager-conflict")) != NULL && n < len)
		snprintf(buf + n, len - n,
		    "certcast takes no action (certcast.io/manager-conflict): %.300s\n", v);
}

int
ap_patches(const struct ap_plan *p)
{
	return p->p_annotate || p->p_rb != AP_SPEC_NONE || p->p_fo != AP_SPEC_NONE;
}
