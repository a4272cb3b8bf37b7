/*
 * evaluate: sc_evaluate(), which ties the modules together for one certificate.
 *
 * Order: issuer estimate -> renewal time and next attempt -> current faults (failure classes
 * with their persistence, a stalled cert-manager, a stuck attempt) -> per-attempt baseline (certificate history on top of the issuer,
 * live signals, learned model) -> forecast -> counterfactual contributions -> predicted
 * failure time -> decision -> anomalies -> explanation.
 */
#include "scoring.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "explain.h"
#include "failclass.h"
#include "forecast.h"
#include "issuer_health.h"
#include "learn.h"
#include "policy.h"
#include "stuck.h"

#define EV_CERT_STRENGTH 20.0       /* most pseudo-counts the issuer lends a certificate */
#define EV_NO_CERT_HORIZON 86400    /* no certificate yet: risk of none within a day */
#define EV_EVENT_WINDOW 86400       /* Events older than this before the failure are stale */
#define EV_ISSUER_FAULT_MIN 2.0     /* decayed issuer failures for a full-strength fault */
#define EV_NOT_READY_PRESENT 0.95   /* an issuer that says Ready=False is broken */
#define EV_PF_GRID 48               /* grid for the latest safe start */
#define EV_ARI_URGENT_URL 0.9       /* P(the CA acts on a past window) with an explanation */
#define EV_ARI_URGENT 0.6           /* ... without one */
#define EV_ARI_ROUTINE 10           /* a window closing within lifetime/10 of the renewal */
#define EV_ARI_REVOKE_MAX (5 * 86400LL) /* widest window a revocation notice can leave */

/* Everything derived once and reused by the factors. */
struct ev_ctx {
	const struct sc_input *e_in;     /* the input */
	struct sc_config e_cfg;          /* resolved config */
	struct fc_params e_params;       /* forecast parameters of the current state */
	struct fc_forecast e_fc;         /* the forecast */
	int64_t e_renewal;               /* cert-manager's renewal time, 0 none */
	int e_renewal_rc;                /* fc_renewal_time() result */
	int64_t e_deadline;              /* notAfter, or now + a day without a certificate */
	int64_t e_backoff_until;         /* end of the running backoff, 0 none */
	double e_q_hist;                 /* baseline from history only */
	double e_q_sig;                  /* ... with live signals */
	double e_q;                      /* ... with the learned model: used */
	double e_sig_terms[4];           /* logit terms of the signals */
	double e_cert_evidence;          /* the certificate's own decayed outcomes */
	struct fcl_result e_cert_cls;    /* class of the certificate's failure */
	int e_cert_failing;              /* the certificate is in a failure streak */
	int64_t e_cert_seen;             /* when that failure was seen */
	int64_t e_cert_since;            /* when its failure streak began */
	int e_learned;                   /* a model was used */
	double e_ari_weight;             /* P(the ARI window's end is a deadline), 0 none */
	double e_ari_risk;               /* risk against that deadline */
	int64_t e_stall_since;           /* cert-manager overdue since (renewal + grace), 0 not */
	int e_stall_issuing;             /* ... because Issuing=True brought no request */
	struct sk_verdict e_stuck;       /* the running attempt, and whether it is stuck */
	struct lm_prediction e_lm;       /* its prediction (baseline features) */
	int e_books_unexplained;         /* the CA refused this certificate's order for a rate
					    limit that the budget's books do not explain */
};

static double
ev_clamp01(double x)
{
	if (!(x > 0.0))
		return 0.0;
	return x < 1.0 ? x : 1.0;
}

/* Latest finished CR outcome of the certificate: its index, or -1. */
static long
ev_latest_request(const struct sc_input *in, int want_failed)
{
	long best = -1;
	int64_t bt = 0;
	for (size_t i = 0; in->in_requests != NULL && i < in->in_nrequests; i++) {
		const struct sc_request *r = &in->in_requests[i];
		int64_t t = r->rq_done > 0 ? r->rq_done : r->rq_time;
		int failed = r->rq_outcome == SC_OUT_FAILED || r->rq_outcome == SC_OUT_DENIED;
		if (r->rq_outcome == SC_OUT_PENDING || t > in->in_now)
			continue;
		if (want_failed == 1 && !failed)
			continue;
		if (want_failed == 0 && failed)
			continue;
		if (best < 0 || t >= bt) {
			best = (long)i;
			bt = t;
		}
	}
	return best;
}

/* Keeps the more confident classification; ties go to the newer one (b). */
static void
ev_better(struct fcl_result *best, int64_t *best_t, const struct fcl_result *b, int64_t bt)
{
	if (b->cl_class == SC_CLASS_OK)
		return;
	if (best->cl_rule[0] == '\0' || b->cl_confidence > best->cl_confidence ||
	    (b->cl_confidence == best->cl_confidence && bt >= *best_t)) {
		*best = *b;
		if (bt > *best_t)
			*best_t = bt;
	}
}

/* Is the certificate failing now, and what kind of failure is it? */
static void
ev_cert_fault(struct ev_ctx *e)
{
	const struct sc_input *in = e->e_in;
	const struct sc_cert *c = &in->in_cert;
	long lf = ev_latest_request(in, 1), ls = ev_latest_request(in, 0);
	int64_t t_fail = 0, t_ok = 0, seen = 0;
	struct fcl_result best, fr;

	memset(&best, 0, sizeof(best));
	best.cl_class = SC_CLASS_UNKNOWN;
	best.cl_confidence = 0.3;
	best.cl_rule = "";
	if (lf >= 0) {
		const struct sc_request *r = &in->in_requests[lf];
		t_fail = r->rq_done > 0 ? r->rq_done : r->rq_time;
	}
	if (ls >= 0) {
		const struct sc_request *r = &in->in_requests[ls];
		t_ok = r->rq_done > 0 ? r->rq_done : r->rq_time;
	}
	e->e_cert_failing = c->c_last_failure > 0 || (lf >= 0 && t_fail > t_ok) ||
			    (c->c_issuing.cd_status == SC_FALSE && c->c_issuing.cd_reason != NULL &&
			     strcmp(c->c_issuing.cd_reason, "Failed") == 0);
	if (!e->e_cert_failing)
		return;
	seen = c->c_last_failure > t_fail ? c->c_last_failure : t_fail;
	if (seen == 0)
		seen = c->c_issuing.cd_time > 0 ? c->c_issuing.cd_time : in->in_now;

	if (lf >= 0 && t_fail > t_ok) {
		const struct sc_request *r = &in->in_requests[lf];
		if (r->rq_outcome == SC_OUT_DENIED) {
			fr.cl_class = SC_CLASS_CONFIG;
			fr.cl_confidence = 0.95;
			fr.cl_window = 0;
			fr.cl_retry_after = 0;
			fr.cl_rule = "request-denied";
		} else {
			fcl_classify(r->rq_reason, r->rq_message, &fr);
		}
		ev_better(&best, &seen, &fr, t_fail);
	}
	if (c->c_issuing.cd_status == SC_FALSE) {
		fcl_classify(c->c_issuing.cd_reason, c->c_issuing.cd_message, &fr);
		ev_better(&best, &seen, &fr, c->c_issuing.cd_time);
	}
	if (c->c_ready.cd_status == SC_FALSE) {
		fcl_classify(NULL, c->c_ready.cd_message, &fr);
		if (fr.cl_rule[0] != '\0')
			ev_better(&best, &seen, &fr, c->c_ready.cd_time);
	}
	for (size_t i = 0; in->in_events != NULL && i < in->in_nevents; i++) {
		const struct sc_event *ev = &in->in_events[i];
		if (!ev->ev_warning || ev->ev_time > in->in_now ||
		    (seen > 0 && ev->ev_time < seen - EV_EVENT_WINDOW))
			continue;
		fcl_classify(ev->ev_reason, ev->ev_message, &fr);
		ev_better(&best, &seen, &fr, ev->ev_time);
	}
	e->e_cert_cls = best;
	e->e_cert_seen = seen;
	/* the streak began with the first failure after the latest success ... */
	e->e_cert_since = 0;
	for (size_t i = 0; in->in_requests != NULL && i < in->in_nrequests; i++) {
		const struct sc_request *r = &in->in_requests[i];
		int64_t t = r->rq_done > 0 ? r->rq_done : r->rq_time;
		if ((r->rq_outcome != SC_OUT_FAILED && r->rq_outcome != SC_OUT_DENIED) ||
		    t > in->in_now || t <= t_ok)
			continue;
		if (e->e_cert_since == 0 || t < e->e_cert_since)
			e->e_cert_since = t;
	}
	/*
	 * ... or earlier: failedIssuanceAttempts counts the whole streak while the history kept
	 * may be short, so the backoff steps cert-manager took since it began date it too
	 */
	if (c->c_last_failure > 0) {
		int64_t t = c->c_last_failure;
		for (int32_t k = 1; k < c->c_failed_attempts && k < 1024; k++)
			t -= fc_backoff_delay(k);
		if (e->e_cert_since == 0 || t < e->e_cert_since)
			e->e_cert_since = t;
	}
	if (e->e_cert_since == 0 || e->e_cert_since > seen)
		e->e_cert_since = seen;
}

/* Adds a fault; the class's failure probability while present comes from its model. */
static struct fc_fault *
ev_add_fault(struct fc_params *p, enum sc_class cls, double present, int64_t since, int64_t seen,
	     int64_t window, int64_t retry_after)
{
	struct fcl_persist m;
	struct fc_fault *f;
	if (p->fp_nfaults >= FC_MAX_FAULTS || !(present > 0.0) || cls == SC_CLASS_OK)
		return NULL;
	fcl_persistence(cls, &m);
	f = &p->fp_faults[p->fp_nfaults++];
	f->ft_class = cls;
	f->ft_present = ev_clamp01(present);
	f->ft_fail = m.fp_fail;
	f->ft_seen = seen;
	f->ft_since = since;
	f->ft_window = window;
	f->ft_retry_after = retry_after;
	f->ft_lasts_until = 0;
	f->ft_alt_class = SC_CLASS_UNKNOWN;
	f->ft_alt_weight = 0.0;
	return f;
}

/*
 * The issuer issued for other certificates after this one's failure. For a fault that hits the
 * whole issuer (an outage, a one-off) that is evidence it has cleared: by Bayes, with the fault
 * present each such success has probability 1 - f, without it 1 - q, so k of them weigh
 * ((1 - f) / (1 - q))^k. One success against an outage that fails 95% of attempts leaves it
 * likely (a lucky request); a handful settle it, which is what lets certcast reissue minutes
 * after a CA comes back instead of waiting out cert-manager's backoff. Only the successes after
 * the issuer's latest failure of such a class count: a failure after a success says the fault
 * was still there. The fault then continues from the latest success with the updated
 * probability. Configuration, DNS and rate limits belong to the certificate's names and learn
 * nothing from someone else's success.
 */
static void
ev_issuer_success_update(struct fc_fault *f, const struct sc_issuer_estimate *est, double q)
{
	double s, lp, la;
	int64_t after = f->ft_seen, last = est->ie_last_success;
	int k = 0;
	if (f->ft_class != SC_CLASS_CA_UNAVAILABLE && f->ft_class != SC_CLASS_TRANSIENT &&
	    f->ft_class != SC_CLASS_UNKNOWN)
		return;
	if (est->ie_last_wide_failure > after)
		after = est->ie_last_wide_failure;
	while (k < SC_RECENT_OK && est->ie_recent_ok[k] > after)
		k++;
	if (k == 0 || last <= f->ft_seen)
		return;
	s = f->ft_present * fcl_survival_aged(f->ft_class, f->ft_window, f->ft_retry_after,
					      f->ft_since, f->ft_seen, last);
	lp = s * pow(1.0 - f->ft_fail, k);
	la = (1.0 - s) * pow(1.0 - q, k);
	f->ft_present = lp + la > 0.0 ? lp / (lp + la) : 0.0;
	f->ft_seen = last;
}

/*
 * cert-manager triggers an issuance at its renewal time and the attempt ends within minutes.
 * Past status.renewalTime by the grace with no attempt at all (no request since, no failure
 * since, no Issuing=True, no new certificate), cert-manager is not renewing this certificate:
 * its controller is down, stuck, or not watching this namespace. Uses cert-manager's own
 * status.renewalTime, not the one computed from the spec: right after a change of renewBefore
 * the computed time jumps into the past before cert-manager has had a chance to act.
 *
 * The other half: Issuing=True for longer than the grace with no CertificateRequest created
 * since (and no new certificate). cert-manager's key manager and request manager act within
 * seconds of Issuing=True, so nothing after an hour means they cannot: the request is refused
 * at creation (an admission webhook down or rejecting it), the next private key cannot be
 * stored, or the controller is down. A pending request instead is the stuck model's case
 * (scoring/stuck.h). EV_STALL_SKEW allows for the request's creationTimestamp and the
 * condition's lastTransitionTime coming from different clocks.
 */
#define EV_STALL_GRACE 3600LL
#define EV_STALL_SKEW 120LL
#define EV_STALL_SCALE (6 * 3600.0) /* overdue this long: likelier stuck than slow */

static int64_t
ev_stalled_since(const struct ev_ctx *e, int *issuing)
{
	const struct sc_input *in = e->e_in;
	const struct sc_cert *c = &in->in_cert;
	int64_t rt = c->c_status_renewal_time, now = in->in_now;
	*issuing = 0;
	if (c->c_not_after <= 0 || now >= c->c_not_after)
		return 0;
	if (c->c_issuing.cd_status == SC_TRUE) {
		int64_t it = c->c_issuing.cd_time;
		if (it <= 0 || it > now || now - it < EV_STALL_GRACE || c->c_not_before >= it)
			return 0;
		for (size_t i = 0; i < in->in_nrequests; i++)
			if (in->in_requests[i].rq_time >= it - EV_STALL_SKEW)
				return 0;
		*issuing = 1;
		return it + EV_STALL_GRACE;
	}
	if (rt <= 0 || now - rt < EV_STALL_GRACE)
		return 0;
	if (c->c_issuing.cd_status == SC_TRUE || c->c_last_failure >= rt || c->c_not_before >= rt)
		return 0;
	for (size_t i = 0; i < in->in_nrequests; i++)
		if (in->in_requests[i].rq_time >= rt)
			return 0;
	return rt + EV_STALL_GRACE;
}

static void
ev_faults(struct ev_ctx *e, const struct sc_issuer_estimate *est)
{
	const struct sc_input *in = e->e_in;
	struct fc_params *p = &e->e_params;
	p->fp_nfaults = 0;
	if (e->e_cert_failing) {
		/*
		 * A failure was seen for sure; which class it is, is a matter of confidence. The
		 * rest of the probability goes to "unknown", which heals at its own pace: one
		 * fault in two possible worlds, not two faults.
		 */
		double conf = ev_clamp01(e->e_cert_cls.cl_confidence);
		struct fc_fault *f;
		int64_t since = e->e_cert_since;
		/* the same trouble across the issuer tells how long it has really lasted */
		if (est->ie_failing && est->ie_class == e->e_cert_cls.cl_class &&
		    est->ie_failing_since > 0 && est->ie_failing_since < since)
			since = est->ie_failing_since;
		f = ev_add_fault(p, e->e_cert_cls.cl_class, 1.0, since, e->e_cert_seen,
				 e->e_cert_cls.cl_window, e->e_cert_cls.cl_retry_after);
		if (f != NULL && e->e_cert_cls.cl_class != SC_CLASS_UNKNOWN)
			f->ft_alt_weight = 1.0 - conf;
		if (f != NULL)
			ev_issuer_success_update(f, est, e->e_q);
	}
	/* the issuer failing for other certificates: an outage or limit that reaches this one */
	if (est->ie_failing && est->ie_class != SC_CLASS_OK &&
	    !(e->e_cert_failing && est->ie_class == e->e_cert_cls.cl_class)) {
		double strength = est->ie_failures / EV_ISSUER_FAULT_MIN;
		double w = est->ie_class_share * (strength < 1.0 ? strength : 1.0);
		if (est->ie_class != SC_CLASS_CA_UNAVAILABLE && est->ie_class != SC_CLASS_RATE_LIMIT &&
		    est->ie_class != SC_CLASS_CONFIG)
			w *= 0.5; /* DNS zones and one-offs are usually someone else's */
		ev_add_fault(p, est->ie_class, w, est->ie_failing_since, est->ie_last_failure, 0, 0);
	}
	if (est->ie_not_ready) {
		const struct sc_issuer *is = in->in_issuer;
		int64_t since = is != NULL && is->is_ready.cd_time > 0 ? is->is_ready.cd_time
								       : in->in_now;
		/* observed not Ready right now; it has been so since the transition */
		ev_add_fault(p, est->ie_ready_class, EV_NOT_READY_PRESENT, since, in->in_now, 0, 0);
	}
	/* last, so that the factors can take it out alone */
	int stall_issuing = 0;
	int64_t stall = e->e_cert_failing ? 0 : ev_stalled_since(e, &stall_issuing);
	e->e_stall_since = 0;
	e->e_stall_issuing = stall_issuing;
	if (stall > 0 &&
	    /* no attempt is made at all until someone acts: it persists like a wrong setting */
	    ev_add_fault(p, SC_CLASS_CONFIG,
			 1.0 - exp(-(double)(in->in_now - stall) / EV_STALL_SCALE), stall, in->in_now,
			 0, 0) != NULL)
		e->e_stall_since = stall;
}

/*
 * The per-domain queue projection (budgetq.h) says when the CA will accept this certificate's
 * order. A rate-limit fault lasts until then, or through the deadline when that is too late;
 * when the budget will refuse the next attempt, the fault is certain, however weakly the
 * issuer's other failures suggested it, and a certificate not failing yet has it ahead. Half
 * the shortest backoff absorbs the forecast's and the projection's attempt durations. The
 * duplicate-certificate limit is not in the projection: then the fault's own model stays.
 *
 * The projection replays the issuances this cluster's books hold, and the CA may count more:
 * Let's Encrypt's per-domain limit counts every account's certificates of the domain. So when
 * the CA refused this certificate and the books do not explain it (trust_books 0), the
 * projection can only lengthen the fault: the books show no room before its slot, so the fault
 * is certain until then, but the refusal's own model (the window refilling, or the time the CA
 * named) still holds after it. A "retry after" the CA wrote is never shortened either: with
 * trusted books the fault ends at the later of the two.
 */
static void
ev_queue_apply(const struct ev_ctx *e, struct fc_params *p, int trust_books)
{
	const struct sc_budget *b = &e->e_in->in_budget;
	uint32_t new_limit, dup_limit;
	int64_t until;
	int found = 0;
	pol_budget_limits(b, &new_limit, &dup_limit);
	if (!b->bd_valid || !b->bd_queue || p->fp_first <= 0 || b->bd_dup_used >= dup_limit)
		return;
	until = b->bd_slot > 0 && b->bd_slot + p->fp_attempt_duration <= e->e_deadline
			? b->bd_slot - FC_BACKOFF_INITIAL / 2
			: e->e_deadline + 1;
	for (size_t i = 0; i < p->fp_nfaults; i++) {
		struct fc_fault *f = &p->fp_faults[i];
		if (f->ft_class != SC_CLASS_RATE_LIMIT)
			continue;
		found = 1;
		if (until > p->fp_first)
			f->ft_present = 1.0;
		if (!trust_books) {
			if (until > f->ft_lasts_until)
				f->ft_lasts_until = until;
			continue;
		}
		if (until > f->ft_retry_after)
			f->ft_retry_after = until;
	}
	if (!found && until > p->fp_first)
		(void)ev_add_fault(p, SC_CLASS_RATE_LIMIT, 1.0, e->e_in->in_now, e->e_in->in_now, 0,
				   until);
}

/*
 * Applies the queue projection. The books are doubted only for the certificate's own
 * rate-limit refusal, and only when they say they do not explain it; without counts at the
 * refusal (pol_budget_refusal_explained -1) they are trusted, as before those counts existed.
 */
static void
ev_budget_queue(struct ev_ctx *e)
{
	const struct sc_budget *b = &e->e_in->in_budget;
	e->e_books_unexplained = b->bd_queue && e->e_cert_failing &&
				 e->e_cert_cls.cl_class == SC_CLASS_RATE_LIMIT &&
				 pol_budget_refusal_explained(b) == 0;
	ev_queue_apply(e, &e->e_params, !e->e_books_unexplained);
}

/*
 * A pending request far older than the issuer's usual latency is an attempt that may be stuck
 * (stuck.h): with that probability the running attempt ends only when the CA's order expires,
 * fails, and cert-manager's backoff follows; a new order meets the same broken challenge while
 * the cause persists. The cause is the class the request's and Events' words name; without
 * words it is "unknown". ACME only: the order's expiry is what ends the wait (another issuer's
 * pending request has no such end, and is left to the other faults).
 */
static void
ev_stuck(struct ev_ctx *e, const struct sc_issuer_estimate *est)
{
	const struct sc_input *in = e->e_in;
	struct fc_params *p = &e->e_params;
	struct fc_fault *f = &p->fp_stuck_fault;
	struct fcl_persist m;
	sk_assess(in, est->ie_latency, &e->e_stuck);
	p->fp_stuck = 0.0;
	if (!in->in_cert.c_acme || !(e->e_stuck.sk_p > 0.0) || p->fp_first <= 0)
		return;
	p->fp_stuck = e->e_stuck.sk_p;
	p->fp_stuck_end = e->e_stuck.sk_end;
	p->fp_stuck_hang = SK_ORDER_LIFETIME;
	memset(f, 0, sizeof(*f));
	fcl_persistence(e->e_stuck.sk_cls.cl_class, &m);
	f->ft_class = e->e_stuck.sk_cls.cl_class;
	f->ft_present = 1.0; /* in the stuck world the cause is there now */
	f->ft_fail = m.fp_fail;
	f->ft_since = e->e_stuck.sk_since;
	f->ft_seen = in->in_now;
	f->ft_window = e->e_stuck.sk_cls.cl_window;
	f->ft_retry_after = e->e_stuck.sk_cls.cl_retry_after;
	f->ft_alt_class = SC_CLASS_UNKNOWN;
	if (f->ft_class != SC_CLASS_UNKNOWN)
		f->ft_alt_weight = 1.0 - ev_clamp01(e->e_stuck.sk_cls.cl_confidence);
}

static enum lm_class
ev_lm_class(enum sc_class c)
{
	switch (c) {
	case SC_CLASS_OK:
		return LM_CLASS_NONE;
	case SC_CLASS_CONFIG:
		return LM_CLASS_CONFIG;
	case SC_CLASS_RATE_LIMIT:
		return LM_CLASS_RATE_LIMIT;
	case SC_CLASS_DNS:
		return LM_CLASS_DNS;
	case SC_CLASS_CA_UNAVAILABLE:
		return LM_CLASS_CA_UNAVAILABLE;
	case SC_CLASS_TRANSIENT:
		return LM_CLASS_TRANSIENT;
	case SC_CLASS_UNKNOWN:
	case SC_CLASS_COUNT:
		break;
	}
	return LM_CLASS_UNKNOWN;
}

/* The learned model's inputs for a healthy-state attempt (the fault model covers faults). */
static void
ev_features(const struct ev_ctx *e, const struct sc_issuer_estimate *est, enum sc_class cls,
	    struct lm_features *f)
{
	const struct sc_input *in = e->e_in;
	const struct sc_signals *sg = &in->in_signals;
	memset(f, 0, sizeof(*f));
	f->f_issuer_fail_rate = est->ie_mean;
	f->f_failed_attempts = cls == SC_CLASS_OK ? 0.0 : (double)in->in_cert.c_failed_attempts;
	f->f_class = ev_lm_class(cls);
	f->f_issuer_not_ready = est->ie_not_ready;
	f->f_acme_429_rate = NAN;
	f->f_http_5xx_rate = NAN;
	f->f_latency_s = NAN;
	f->f_pod_restarts_1h = NAN;
	if (sg->sg_valid) {
		if (sg->sg_requests > 0.0) {
			f->f_acme_429_rate = sg->sg_status_429 / sg->sg_requests;
			f->f_http_5xx_rate = sg->sg_status_5xx / sg->sg_requests;
		}
		f->f_latency_s = sg->sg_latency_s;
		f->f_pod_restarts_1h = (double)sg->sg_restarts_1h;
	}
	f->f_hours_since_failure = NAN;
	if (cls != SC_CLASS_OK && e->e_cert_seen > 0)
		f->f_hours_since_failure = (double)(in->in_now - e->e_cert_seen) / 3600.0;
	f->f_lifetime_days = in->in_cert.c_not_after > in->in_cert.c_not_before
				     ? (double)(in->in_cert.c_not_after - in->in_cert.c_not_before) /
					       86400.0
				     : NAN;
	f->f_prior = e->e_q_sig;
}

static double
ev_risk(const struct fc_params *p)
{
	struct fc_forecast f;
	if (fc_forecast(p, 0, &f) != SC_OK)
		return 1.0;
	return f.ff_risk;
}

/*
 * The latest start time s in [now, deadline] such that an attempt chain beginning at s (the
 * backoff state kept) would keep the risk at or under target: the point after which too few
 * attempts remain. With a stuck attempt the chain cannot start before it ends, so s is the
 * latest end of the stuck attempt (the running request failing) that still leaves enough.
 * Returns 0 when no start qualifies.
 */
static int64_t
ev_latest_safe_start(const struct ev_ctx *e, double target)
{
	struct fc_params p = e->e_params;
	int64_t now = e->e_in->in_now, end = e->e_deadline - p.fp_attempt_duration;
	int64_t lo = 0, hi = 0, step;
	/* a stuck attempt holds the chain: what moves is when it ends, not when it started */
	int64_t *start = p.fp_stuck > 0.0 ? &p.fp_stuck_end : &p.fp_first;
	if (end < now)
		return 0;
	step = (end - now) / EV_PF_GRID;
	if (step < 60)
		step = 60;
	for (int64_t s = end; s >= now; s -= step) {
		*start = s;
		if (ev_risk(&p) <= target) {
			lo = s;
			hi = s + step < end ? s + step : end;
			break;
		}
		if (s == now)
			break;
		if (s - step < now)
			s = now + step;
	}
	if (lo == 0)
		return 0;
	while (hi - lo > 60) {
		int64_t mid = lo + (hi - lo) / 2;
		*start = mid;
		if (ev_risk(&p) <= target)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static enum sc_level
ev_level(const struct sc_config *cfg, double risk)
{
	if (risk >= cfg->cf_level_critical)
		return SC_LEVEL_CRITICAL;
	if (risk >= cfg->cf_level_high)
		return SC_LEVEL_HIGH;
	if (risk >= cfg->cf_level_medium)
		return SC_LEVEL_MEDIUM;
	return SC_LEVEL_LOW;
}

static void
ev_anomalies(const struct sc_input *in, struct sc_result *out, int *security)
{
	*security = 0;
	for (size_t i = 0; in->in_anomalies != NULL && i < in->in_nanomalies; i++) {
		const struct sc_anomaly *a = &in->in_anomalies[i];
		uint32_t n = out->r_nanomalies, j;
		if (a->an_security)
			*security = 1;
		/* keep the most severe, then the strangest; drop the weakest when full */
		if (n == SC_MAX_ANOMALIES) {
			const struct sc_anomaly *last = &out->r_anomalies[n - 1];
			if (a->an_severity < last->an_severity ||
			    (a->an_severity == last->an_severity && a->an_score <= last->an_score))
				continue;
			n--;
		}
		j = n;
		while (j > 0 && (out->r_anomalies[j - 1].an_severity < a->an_severity ||
				 (out->r_anomalies[j - 1].an_severity == a->an_severity &&
				  out->r_anomalies[j - 1].an_score < a->an_score))) {
			out->r_anomalies[j] = out->r_anomalies[j - 1];
			j--;
		}
		out->r_anomalies[j] = *a;
		out->r_anomalies[j].an_type[sizeof(a->an_type) - 1] = '\0';
		out->r_anomalies[j].an_evidence[SC_EVIDENCE_MAX - 1] = '\0';
		out->r_nanomalies = n + 1;
	}
}

static const char *
ev_heal_text(enum sc_class c)
{
	switch (c) {
	case SC_CLASS_CONFIG:
		return "does not heal by itself";
	case SC_CLASS_RATE_LIMIT:
		return "heals when the rate-limit window refills";
	case SC_CLASS_DNS:
		return "typically clears within about 12h";
	case SC_CLASS_CA_UNAVAILABLE:
		return "CA outages typically last about 4h";
	case SC_CLASS_TRANSIENT:
		return "usually clears within minutes";
	case SC_CLASS_UNKNOWN:
	case SC_CLASS_OK:
	case SC_CLASS_COUNT:
		break;
	}
	return "assumed to clear within about a day";
}

/* The factors: each a counterfactual forecast with one cause removed. */
static void
ev_factors(struct ev_ctx *e, const struct sc_issuer_estimate *est, struct sc_result *out)
{
	const struct sc_input *in = e->e_in;
	const struct sc_cert *c = &in->in_cert;
	double risk = out->r_risk;
	struct fc_params p;
	char t1[32], d1[32];

	int stalled = e->e_stall_since > 0 && e->e_params.fp_nfaults > 0;
	if (stalled) {
		p = e->e_params;
		p.fp_nfaults--; /* the stall is the last fault */
		ex_time(e->e_stall_since - EV_STALL_GRACE, t1, sizeof(t1));
		ex_duration(in->in_now - (e->e_stall_since - EV_STALL_GRACE), d1, sizeof(d1));
		if (e->e_stall_issuing)
			ex_add(out, "stalled",
			       e->e_params.fp_faults[e->e_params.fp_nfaults - 1].ft_present,
			       risk - ev_risk(&p),
			       "Issuing=True since %s (%s ago) and no CertificateRequest: creating one "
			       "fails (webhook, key Secret) or the controller is down",
			       t1, d1);
		else
			ex_add(out, "stalled",
			       e->e_params.fp_faults[e->e_params.fp_nfaults - 1].ft_present,
			       risk - ev_risk(&p),
			       "cert-manager has made no attempt since its renewal time %s (%s ago): its "
			       "controller may be down or stuck",
			       t1, d1);
	}
	if (e->e_params.fp_stuck > 0.0) {
		const struct sk_verdict *v = &e->e_stuck;
		char d2[32];
		p = e->e_params;
		p.fp_stuck = 0.0;
		ex_duration(v->sk_age, d1, sizeof(d1));
		ex_duration(v->sk_latency, d2, sizeof(d2));
		ex_time(v->sk_end, t1, sizeof(t1));
		ex_add(out, "stuck", v->sk_p, risk - ev_risk(&p),
		       "request pending %s (usual %s%s): P(stuck) %.2f; order expires %s, then "
		       "backoff; cause %s (%s)",
		       d1, d2, v->sk_latency_src == SK_LAT_DEFAULT ? ", assumed" : "", v->sk_p, t1,
		       sc_class_name(v->sk_cls.cl_class),
		       v->sk_cls.cl_rule[0] ? v->sk_cls.cl_rule : "no message says");
	}
	if (e->e_params.fp_nfaults > (size_t)stalled) {
		p = e->e_params;
		p.fp_nfaults = 0;
		if (e->e_cert_failing) {
			ex_duration(in->in_now - e->e_cert_seen, d1, sizeof(d1));
			ex_add(out, "fault", out->r_p_fault, risk - ev_risk(&p),
			       "%s failure (%s) seen %s ago, P(still present) %.2f: %s",
			       sc_class_name(e->e_cert_cls.cl_class),
			       e->e_cert_cls.cl_rule[0] ? e->e_cert_cls.cl_rule : "no rule matched", d1,
			       out->r_p_fault, ev_heal_text(e->e_cert_cls.cl_class));
		} else {
			ex_add(out, "issuer-fault", out->r_p_fault, risk - ev_risk(&p),
			       "issuer %s is failing for other certificates (%s), P(fault) %.2f",
			       c->c_issuer_name ? c->c_issuer_name : "?",
			       sc_class_name(est->ie_not_ready ? est->ie_ready_class : est->ie_class),
			       out->r_p_fault);
		}
	}
	if (e->e_books_unexplained) {
		/* what doubting the books costs: the forecast had the projection been trusted */
		const struct sc_budget *b = &in->in_budget;
		uint32_t nl, dl;
		pol_budget_limits(b, &nl, &dl);
		p = e->e_params;
		for (size_t i = 0; i < p.fp_nfaults; i++)
			if (p.fp_faults[i].ft_class == SC_CLASS_RATE_LIMIT)
				p.fp_faults[i].ft_lasts_until = 0;
		ev_queue_apply(e, &p, 1);
		ex_add(out, "unseen-issuance",
		       (double)(b->bd_renewal ? b->bd_dup_used_at_failure
					      : b->bd_new_used_at_failure),
		       risk - ev_risk(&p),
		       "the CA refused although this cluster's books show %u of %u %s then: it "
		       "counts issuances this cluster does not see",
		       b->bd_renewal ? b->bd_dup_used_at_failure : b->bd_new_used_at_failure,
		       b->bd_renewal ? dl : nl,
		       b->bd_renewal ? "for this exact set of names" : "for the registered domain");
	}
	if (e->e_backoff_until > in->in_now) {
		p = e->e_params;
		p.fp_failed = 0;
		p.fp_first = e->e_renewal > in->in_now ? e->e_renewal : in->in_now;
		ex_time(e->e_backoff_until, t1, sizeof(t1));
		ex_add(out, "backoff", (double)(e->e_backoff_until - in->in_now) / 3600.0,
		       risk - ev_risk(&p),
		       "cert-manager backs off after %d failed attempts: next try %s",
		       (int)c->c_failed_attempts, t1);
	}
	p = e->e_params;
	p.fp_p = est->ie_prior_mean;
	ex_add(out, "issuer-history", e->e_q_hist, risk - ev_risk(&p),
	       "issuer failure rate %.1f%% (90%% CI %.1f-%.1f%%) from %.1f recent outcomes, "
	       "certificate %.1f%%",
	       100.0 * est->ie_mean, 100.0 * est->ie_lo, 100.0 * est->ie_hi, est->ie_evidence,
	       100.0 * e->e_q_hist);
	if (fabs(e->e_sig_terms[0]) + fabs(e->e_sig_terms[1]) + fabs(e->e_sig_terms[2]) +
		fabs(e->e_sig_terms[3]) > 1e-12) {
		const struct sc_signals *sg = &in->in_signals;
		double z = log(e->e_q / (1.0 - e->e_q));
		for (int k = 0; k < 4; k++)
			z -= e->e_sig_terms[k];
		p = e->e_params;
		p.fp_p = 1.0 / (1.0 + exp(-z));
		ex_add(out, "signals", e->e_q_sig - e->e_q_hist, risk - ev_risk(&p),
		       "cert-manager metrics: %.0f%% 429, %.0f%% 5xx of %.0f requests, latency %.1fs, "
		       "%u restarts in 1h",
		       sg->sg_requests > 0 ? 100.0 * sg->sg_status_429 / sg->sg_requests : 0.0,
		       sg->sg_requests > 0 ? 100.0 * sg->sg_status_5xx / sg->sg_requests : 0.0,
		       sg->sg_requests, sg->sg_latency_s, sg->sg_restarts_1h);
	}
	if (e->e_learned) {
		p = e->e_params;
		p.fp_p = e->e_q_sig;
		ex_add(out, "learned", e->e_q - e->e_q_sig, risk - ev_risk(&p),
		       "learned model puts the per-attempt failure at %.1f%% (model weight %.2f)",
		       100.0 * e->e_q, e->e_lm.p_weight);
	}
	if (e->e_renewal_rc == SC_ERR_DISABLED) {
		ex_add(out, "renewal-disabled", 1.0, risk, "spec.renewal.policy is Disabled: "
							  "cert-manager will not renew");
	} else if (e->e_renewal_rc == SC_ERR_NOWINDOW || e->e_renewal_rc == SC_ERR_PARSE) {
		ex_add(out, "renewal-window", 1.0, risk,
		       e->e_renewal_rc == SC_ERR_PARSE ? "a renewal window's cron does not parse: "
							 "cert-manager sets no renewal time"
						       : "no renewal window fits before notAfter: "
							 "cert-manager sets no renewal time");
	}
	ex_time(e->e_renewal, t1, sizeof(t1));
	if (c->c_not_after > 0) {
		ex_duration(c->c_not_after > in->in_now ? c->c_not_after - in->in_now : 0, d1,
			    sizeof(d1));
		ex_add(out, "schedule", (double)out->r_attempts_total, 0.0,
		       "%u attempts possible before expiry in %s (renewal time %s)",
		       out->r_attempts_total, d1, t1);
	} else {
		/* nothing expires yet: the risk is that of no certificate within the horizon */
		ex_duration(e->e_deadline - in->in_now, d1, sizeof(d1));
		ex_add(out, "schedule", (double)out->r_attempts_total, 0.0,
		       "not issued yet: %u attempts possible within %s (first due %s)",
		       out->r_attempts_total, d1, t1);
	}
	if (in->in_ari.ar_valid) {
		char t2[32];
		double contrib = 0.0;
		ex_time(in->in_ari.ar_start, t1, sizeof(t1));
		ex_time(in->in_ari.ar_end, t2, sizeof(t2));
		if (e->e_ari_weight > 0.0) {
			contrib = e->e_ari_weight * (e->e_ari_risk - e->e_fc.ff_risk);
			ex_add(out, "ari", e->e_ari_weight, contrib,
			       "CA asks for renewal between %s and %s, before cert-manager's "
			       "renewal time: it may revoke after the window",
			       t1, t2);
		} else {
			ex_add(out, "ari", 0.0, 0.0, "CA suggests renewing between %s and %s", t1, t2);
		}
	}
	for (uint32_t i = 0; i < out->r_nanomalies && i < 2; i++)
		ex_add(out, "anomaly", out->r_anomalies[i].an_score, 0.0, "%s: %s",
		       out->r_anomalies[i].an_type, out->r_anomalies[i].an_evidence);
}

/*
 * A longer backoff pushes the next attempts later, where a healing fault is likelier gone; the
 * model would then score more failures as less risk. The forecast never counts cert-manager's
 * longer wait as good news: the risk is the largest over the schedules of the same failure with
 * fewer failed attempts (the backoff stops growing at 6, so at most 7 schedules).
 */
static double
ev_backoff_envelope(struct ev_ctx *e, double risk)
{
	const struct sc_cert *c = &e->e_in->in_cert;
	struct sc_cert fewer = *c;
	if (c->c_last_failure <= 0 || c->c_issuing.cd_status == SC_TRUE || c->c_failed_attempts <= 0)
		return risk;
	for (int32_t k = 0; k < c->c_failed_attempts && k <= 6; k++) {
		struct fc_params p = e->e_params;
		double r;
		fewer.c_failed_attempts = k;
		p.fp_failed = k;
		p.fp_first = fc_next_attempt(&fewer, e->e_renewal, e->e_in->in_now);
		r = ev_risk(&p);
		if (r > risk)
			risk = r;
	}
	return risk;
}

/*
 * An ARI window that closes before cert-manager's renewal time is the CA asking for an earlier
 * renewal than cert-manager will make, as it does before a mass revocation (RFC 9773). The CA
 * may then revoke after the window: the deadline becomes the window's end with a probability
 * (higher when the CA links an explanation, as incident notices do).
 */
static double
ev_ari_deadline(struct ev_ctx *e, double risk)
{
	const struct sc_ari *a = &e->e_in->in_ari;
	struct fc_params p;
	double w;
	const struct sc_cert *c = &e->e_in->in_cert;
	if (!a->ar_valid || a->ar_end <= a->ar_start || c->c_not_after <= 0 ||
	    a->ar_end >= c->c_not_after || c->c_not_before >= a->ar_start)
		return risk;
	/*
	 * Routine windows sit near cert-manager's own 2/3 point (they spread load) and close a
	 * small fraction of their own width before it. A window that closes before cert-manager
	 * would renew by more than a tenth of the lifetime, or by more than its own width (a short
	 * "renew now" window, as a CA publishes ahead of a revocation), is a signal.
	 */
	if (e->e_renewal != 0) {
		int64_t gap = e->e_renewal - a->ar_end;
		int64_t routine = (c->c_not_after - c->c_not_before) / EV_ARI_ROUTINE;
		if (a->ar_end - a->ar_start < routine)
			routine = a->ar_end - a->ar_start;
		if (gap <= routine)
			return risk;
	}
	/*
	 * The Baseline Requirements (4.9.1.1) give a CA at most five days to revoke, so a window
	 * that leaves more is a scheduling request (moving renewals ahead of planned work), not a
	 * notice that the certificate dies at its end. In the ari scenario such windows made the
	 * window's end a deadline for 334 certificates of which 96 expired: worse than a coin.
	 */
	if (a->ar_end - a->ar_start > EV_ARI_REVOKE_MAX)
		return risk;
	w = a->ar_url != NULL && a->ar_url[0] != '\0' ? EV_ARI_URGENT_URL : EV_ARI_URGENT;
	p = e->e_params;
	p.fp_not_after = a->ar_end > e->e_in->in_now ? a->ar_end : e->e_in->in_now;
	e->e_ari_weight = w;
	e->e_ari_risk = ev_risk(&p);
	return (1.0 - w) * risk + w * e->e_ari_risk;
}

/* Fills out with the "invalid input" answer. */
static int
ev_invalid(struct sc_result *out, const char *why)
{
	out->r_risk = 0.0;
	out->r_level = SC_LEVEL_LOW;
	ex_add(out, "invalid-input", 0.0, 0.0, "%s", why);
	(void)ex_reasons(out, out->r_reasons, sizeof(out->r_reasons));
	return SC_ERR_INVAL;
}

/* Per-attempt failure probability of a healthy-state attempt. */
static void
ev_baseline(struct ev_ctx *e, const struct sc_issuer_estimate *est)
{
	const struct sc_input *in = e->e_in;
	struct sc_issuer_estimate base = *est;
	int64_t streak = 0;
	long ls = ev_latest_request(in, 0);
	/*
	 * The baseline is the failure rate once today's faults have cleared: the issuer's
	 * outages, DNS trouble and limits are in the fault model with their own persistence, so
	 * here they would count twice and never heal.
	 */
	if (est->ie_base_conc > 0.0) {
		base.ie_mean = est->ie_base_mean;
		base.ie_alpha = est->ie_base_mean * est->ie_base_conc;
		base.ie_beta = est->ie_base_conc - base.ie_alpha;
	}
	/* the current failure streak is the fault model's evidence; don't count it twice */
	if (e->e_cert_failing) {
		streak = 1;
		if (ls >= 0) {
			const struct sc_request *r = &in->in_requests[ls];
			streak = (r->rq_done > 0 ? r->rq_done : r->rq_time) + 1;
		}
	}
	e->e_q_hist = ih_cert_mean(&base, EV_CERT_STRENGTH, in->in_requests, in->in_nrequests,
				   in->in_now, e->e_cfg.cf_history_halflife, streak,
				   &e->e_cert_evidence);
	e->e_q_sig = ih_apply_signals(e->e_q_hist, &in->in_signals, e->e_sig_terms);
	e->e_q = e->e_q_sig;
	if (in->in_model != NULL) {
		struct lm_features f;
		ev_features(e, &base, SC_CLASS_OK, &f);
		e->e_q = ev_clamp01(lm_predict(in->in_model, &f, &e->e_lm));
		e->e_learned = 1;
	}
	/* keep the baseline off the exact ends so that the logit arithmetic stays finite */
	if (e->e_q < 1e-6)
		e->e_q = 1e-6;
	if (e->e_q > 1.0 - 1e-6)
		e->e_q = 1.0 - 1e-6;
}

int
sc_evaluate(const struct sc_input *in, struct sc_result *out)
{
	struct ev_ctx e;
	struct sc_issuer_estimate est;
	struct pol_context pc;
	const struct sc_cert *c;
	int64_t now;
	int security = 0;

	if (out == NULL)
		return SC_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (in == NULL)
		return ev_invalid(out, "no input");
	memset(&e, 0, sizeof(e));
	e.e_in = in;
	c = &in->in_cert;
	now = in->in_now;
	if (in->in_cfg != NULL)
		e.e_cfg = *in->in_cfg;
	else
		sc_config_default(&e.e_cfg);
	out->r_mode = e.e_cfg.cf_mode;
	if (now <= 0)
		return ev_invalid(out, "evaluation time missing");
	if (c->c_not_after < c->c_not_before || (c->c_not_after > 0 && c->c_not_before <= 0))
		return ev_invalid(out, "certificate validity is inconsistent (notAfter before "
				       "notBefore)");
	if (sc_config_check(&e.e_cfg, NULL, 0) != SC_OK)
		return ev_invalid(out, "configuration out of range");

	/* issuer */
	if (in->in_issuer_est != NULL)
		est = *in->in_issuer_est;
	else
		sc_issuer_estimate(in->in_issuer, &e.e_cfg, now, &est);
	out->r_issuer = est;

	/* cert-manager's schedule */
	if (c->c_not_after > 0) {
		e.e_renewal_rc = fc_renewal_time(c->c_not_before, c->c_not_after, &c->c_spec,
						 &e.e_renewal);
		/* a spec the certificate no longer matches is due now, not at its renewal time */
		if (c->c_spec_mismatch && e.e_renewal_rc == SC_OK && e.e_renewal > now)
			e.e_renewal = now;
		e.e_deadline = c->c_not_after;
	} else {
		/* no certificate yet: cert-manager issues at once; ask for one within a day */
		e.e_renewal_rc = SC_OK;
		e.e_renewal = now;
		e.e_deadline = now + EV_NO_CERT_HORIZON;
	}
	out->r_renewal_time = e.e_renewal;
	if (c->c_last_failure > 0 && c->c_issuing.cd_status != SC_TRUE) {
		int64_t b = c->c_last_failure + fc_backoff_delay(c->c_failed_attempts);
		if (b > now)
			e.e_backoff_until = b;
	}
	out->r_backoff_until = e.e_backoff_until;

	/* faults and the baseline */
	ev_cert_fault(&e);
	ev_baseline(&e, &est);
	e.e_params.fp_now = now;
	e.e_params.fp_not_after = e.e_deadline;
	e.e_params.fp_first = fc_next_attempt(c, e.e_renewal, now);
	e.e_params.fp_failed = c->c_failed_attempts;
	e.e_params.fp_attempt_duration = e.e_cfg.cf_attempt_duration;
	e.e_params.fp_p = e.e_q;
	e.e_params.fp_kappa = est.ie_alpha + est.ie_beta + e.e_cert_evidence;
	if (e.e_params.fp_kappa > e.e_cfg.cf_corr_strength)
		e.e_params.fp_kappa = e.e_cfg.cf_corr_strength;
	ev_faults(&e, &est);
	ev_budget_queue(&e);
	ev_stuck(&e, &est);

	/* the forecast */
	(void)fc_forecast(&e.e_params, 1, &e.e_fc);
	out->r_risk = ev_backoff_envelope(&e, e.e_fc.ff_risk);
	out->r_risk = ev_ari_deadline(&e, out->r_risk);
	if (c->c_not_after > 0 && now >= c->c_not_after)
		out->r_risk = 1.0; /* already expired: the event has happened */
	out->r_level = ev_level(&e.e_cfg, out->r_risk);
	out->r_next_attempt = e.e_fc.ff_total > 0 ? e.e_params.fp_first : 0;
	out->r_p_next_fail = e.e_fc.ff_total > 0 ? e.e_fc.ff_p_first_fail : 1.0;
	out->r_p_attempt = e.e_q;
	out->r_p_fault = e.e_fc.ff_p_fault_now;
	out->r_class = e.e_cert_failing ? e.e_cert_cls.cl_class
			: e.e_params.fp_nfaults > 0 ? e.e_params.fp_faults[0].ft_class
			: e.e_params.fp_stuck >= 0.5 ? e.e_stuck.sk_cls.cl_class
						    : SC_CLASS_OK;
	out->r_class_conf = e.e_cert_failing ? e.e_cert_cls.cl_confidence
			    : e.e_params.fp_nfaults > 0 ? e.e_params.fp_faults[0].ft_present
			    : e.e_params.fp_stuck >= 0.5 ? e.e_params.fp_stuck
							: 0.0;
	out->r_attempts_total = e.e_fc.ff_total;
	out->r_nattempts = e.e_fc.ff_n;
	memcpy(out->r_attempts, e.e_fc.ff_attempts, sizeof(out->r_attempts[0]) * e.e_fc.ff_n);

	/* the point after which too few attempts remain */
	if (c->c_not_after > 0 && now >= c->c_not_after) {
		out->r_predicted_failure = c->c_not_after;
	} else if (out->r_risk > e.e_cfg.cf_target_risk) {
		int64_t s = ev_latest_safe_start(&e, e.e_cfg.cf_target_risk);
		if (s >= now && s > 0)
			out->r_predicted_failure = s;
		else if (e.e_fc.ff_last_attempt > 0)
			out->r_predicted_failure = e.e_fc.ff_last_attempt;
		else
			out->r_predicted_failure = now;
	}

	/* anomalies, then the decision */
	ev_anomalies(in, out, &security);
	memset(&pc, 0, sizeof(pc));
	pc.pc_in = in;
	pc.pc_cfg = &e.e_cfg;
	pc.pc_params = &e.e_params;
	pc.pc_risk = out->r_risk;
	pc.pc_renewal_time = e.e_renewal;
	pc.pc_renewal_err = e.e_renewal_rc;
	pc.pc_backoff_until = e.e_backoff_until;
	pc.pc_p_now_fail = fc_attempt_fail(&e.e_params, now);
	pc.pc_fallback_p = -1.0;
	pc.pc_primary_p = -1.0;
	if (in->in_fallback.fb_configured && in->in_fallback.fb_other != NULL) {
		struct sc_issuer_estimate fe;
		if (in->in_fallback.fb_est != NULL)
			fe = *in->in_fallback.fb_est;
		else
			sc_issuer_estimate(in->in_fallback.fb_other, &e.e_cfg, now, &fe);
		if (in->in_fallback.fb_active)
			pc.pc_primary_p = fe.ie_failing ? fe.ie_hi : fe.ie_mean;
		else
			pc.pc_fallback_p = fe.ie_failing ? fe.ie_hi : fe.ie_mean;
	}
	pc.pc_security = security;
	(void)pol_decide(&pc, &out->r_decision);

	/* explanation */
	ev_factors(&e, &est, out);
	ex_sort(out);
	(void)ex_reasons(out, out->r_reasons, sizeof(out->r_reasons));
	return SC_OK;
}
