/*
 * stuck: is the running issuance attempt stuck (stuck.h says what cert-manager does)?
 */
#include "stuck.h"

#include <math.h>
#include <string.h>

#include "robust.h"

#define SK_BYPASS_SLACK 60 /* Issuing turns True seconds before the request is created */

/*
 * Adds the issued requests of r to v (a ring once full, so every part of r can count). Only
 * successes: failures end either fast (a refused order) or after hanging, and once most recent
 * requests hang their durations would make hanging look usual.
 */
static void
sk_collect(const struct sc_request *r, size_t n, int64_t now, double *v, size_t *nv,
	   size_t *seen)
{
	for (size_t i = 0; r != NULL && i < n; i++) {
		if (r[i].rq_outcome != SC_OUT_ISSUED || r[i].rq_time <= 0 ||
		    r[i].rq_done < r[i].rq_time || r[i].rq_done > now)
			continue;
		v[*seen % SK_MAX_SAMPLES] = (double)(r[i].rq_done - r[i].rq_time);
		(*seen)++;
		if (*nv < SK_MAX_SAMPLES)
			(*nv)++;
	}
}

int64_t
sk_latency(const struct sc_request *a, size_t na, const struct sc_request *b, size_t nb,
	   int64_t now, size_t *n)
{
	double v[SK_MAX_SAMPLES];
	size_t nv = 0, seen = 0;
	double med;
	sk_collect(a, na, now, v, &nv, &seen);
	sk_collect(b, nb, now, v, &nv, &seen);
	if (n != NULL)
		*n = nv;
	if (nv < SK_MIN_SAMPLES)
		return 0;
	/* the median: one request that waited out a long DNS propagation does not move it */
	med = rb_median(v, nv);
	return med >= 1.0 ? (int64_t)med : 1;
}

/*
 * Other requests that hung past the grace and then failed, after the latest success among r,
 * are earlier sightings of the same trouble: the cause is as old as the earliest of them.
 */
static void
sk_since(const struct sc_request *r, size_t n, int64_t grace, int64_t now, int64_t *since)
{
	int64_t ok = 0;
	for (size_t i = 0; r != NULL && i < n; i++)
		if (r[i].rq_outcome == SC_OUT_ISSUED && r[i].rq_done <= now && r[i].rq_done > ok)
			ok = r[i].rq_done;
	for (size_t i = 0; r != NULL && i < n; i++) {
		if (r[i].rq_outcome != SC_OUT_FAILED || r[i].rq_done > now || r[i].rq_time <= ok ||
		    r[i].rq_time <= 0 || r[i].rq_done - r[i].rq_time <= grace)
			continue;
		if (r[i].rq_time < *since)
			*since = r[i].rq_time;
	}
}

/* Keeps the more confident of two classifications; a text no rule matched never wins. */
static void
sk_better(struct fcl_result *best, const char *reason, const char *message)
{
	struct fcl_result r;
	if (reason == NULL && message == NULL)
		return;
	fcl_classify(reason, message, &r);
	if (r.cl_rule == NULL || r.cl_rule[0] == '\0' || r.cl_class == SC_CLASS_OK)
		return;
	if (best->cl_rule[0] == '\0' || r.cl_confidence > best->cl_confidence)
		*best = r;
}

double
sk_probability(int64_t age, int64_t grace)
{
	if (grace <= 0 || age <= grace)
		return 0.0;
	/*
	 * Past the grace, each further grace without an outcome makes "merely slow" e times less
	 * likely: an ordinary attempt that is late by ten times its usual time is rare already.
	 */
	return 1.0 - exp(-(double)(age - grace) / (double)grace);
}

void
sk_assess(const struct sc_input *in, int64_t latency_hint, struct sk_verdict *out)
{
	const struct sc_request *newest = NULL;
	const struct sc_cert *c;
	int64_t now;
	memset(out, 0, sizeof(*out));
	out->sk_cls.cl_class = SC_CLASS_UNKNOWN;
	out->sk_cls.cl_rule = "";
	if (in == NULL)
		return;
	c = &in->in_cert;
	now = in->in_now;

	for (size_t i = 0; in->in_requests != NULL && i < in->in_nrequests; i++) {
		const struct sc_request *r = &in->in_requests[i];
		if (r->rq_time <= 0 || r->rq_time > now)
			continue;
		if (newest == NULL || r->rq_time > newest->rq_time)
			newest = r;
	}
	/* a finished newest request, or none, means nothing is in flight to be stuck */
	if (newest == NULL || newest->rq_outcome != SC_OUT_PENDING)
		return;
	/* cert-manager keeps Issuing=True while it waits; without it the request is left over */
	if (c->c_issuing.cd_status != SC_TRUE)
		return;
	/* Issuing turned True after this request: a new round (a manual bypass) owns the attempt */
	if (c->c_issuing.cd_time > newest->rq_time + SK_BYPASS_SLACK)
		return;

	out->sk_pending = 1;
	out->sk_created = newest->rq_time;
	out->sk_age = now - newest->rq_time;
	out->sk_end = newest->rq_time + SK_ORDER_LIFETIME;
	if (latency_hint > 0) {
		out->sk_latency = latency_hint;
		out->sk_latency_src = SK_LAT_ESTIMATE;
	} else {
		const struct sc_issuer *is = in->in_issuer;
		out->sk_latency = sk_latency(is != NULL ? is->is_history : NULL,
					     is != NULL ? is->is_nhistory : 0, in->in_requests,
					     in->in_nrequests, now, NULL);
		out->sk_latency_src = SK_LAT_HISTORY;
		if (out->sk_latency <= 0) {
			out->sk_latency = SK_DEFAULT_LATENCY;
			out->sk_latency_src = SK_LAT_DEFAULT;
		}
	}
	out->sk_grace = out->sk_latency > SK_MIN_GRACE / SK_LATENCY_MULT
				? out->sk_latency * SK_LATENCY_MULT
				: SK_MIN_GRACE;
	out->sk_p = sk_probability(out->sk_age, out->sk_grace);
	out->sk_since = newest->rq_time;
	if (out->sk_p > 0.0) {
		const struct sc_issuer *is = in->in_issuer;
		sk_since(is != NULL ? is->is_history : NULL, is != NULL ? is->is_nhistory : 0,
			 out->sk_grace, now, &out->sk_since);
		sk_since(in->in_requests, in->in_nrequests, out->sk_grace, now, &out->sk_since);
	}

	/* why: the request's own words, then what the Order's and Challenge's Events say */
	sk_better(&out->sk_cls, newest->rq_reason, newest->rq_message);
	for (size_t i = 0; in->in_events != NULL && i < in->in_nevents; i++) {
		const struct sc_event *ev = &in->in_events[i];
		if (ev->ev_time < newest->rq_time || ev->ev_time > now)
			continue;
		sk_better(&out->sk_cls, ev->ev_reason, ev->ev_message);
	}
}
