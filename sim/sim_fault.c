/*
 * sim_fault: outage, misconfiguration and DNS windows per scenario, and the per-attempt verdict.
 *
 * Windows are kept as sorted, merged arrays per issuer and per group, so a query is a binary
 * search. Random outages are drawn once from a sequence seeded by (seed, fault index), before any
 * policy runs.
 */
#include "sim_fault.h"

#include "cc_err.h"
#include "sim_rand.h"
#include "stuck.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct sf_wlist {
	struct sf_window *wl_w; /* owned, sorted by start, non-overlapping */
	size_t wl_n;            /* windows held */
	size_t wl_cap;          /* slots allocated */
};

/* A DNS fault, resolved to absolute times. */
struct sf_dns {
	const char *d_zone; /* borrowed from the scenario; NULL for every zone */
	int64_t d_start;    /* absolute */
	int64_t d_end;      /* absolute or SCN_NEVER */
	double d_prob;      /* failure probability per attempt inside the window */
};

struct sf_plan {
	const struct scn_scenario *p_s; /* borrowed */
	struct sf_wlist *p_down;        /* per issuer: outages */
	struct sf_wlist *p_iconf;       /* per issuer: misconfiguration */
	struct sf_wlist *p_gconf;       /* per group: misconfiguration */
	struct sf_dns *p_dns;           /* DNS faults */
	size_t p_ndns;                  /* count of p_dns */
	uint8_t *p_gdns;                /* [group * p_ndns + d]: fault d applies to group */
	struct sf_wlist *p_istuck;      /* per issuer: its challenges never validate */
	struct sf_wlist *p_gstuck;      /* per group: its zone's challenges never validate */
};

static int64_t
sf_abs(const struct scn_scenario *s, int64_t off)
{
	if (off == SCN_NEVER || off > INT64_MAX - s->s_start)
		return SCN_NEVER;
	return s->s_start + off;
}

static void
sf_wl_add(struct sf_wlist *wl, int64_t a, int64_t b)
{
	if (b <= a)
		return;
	if (wl->wl_n == wl->wl_cap) {
		wl->wl_cap = wl->wl_cap ? wl->wl_cap * 2 : 8;
		wl->wl_w = xrealloc(wl->wl_w, wl->wl_cap * sizeof(*wl->wl_w));
	}
	wl->wl_w[wl->wl_n++] = (struct sf_window){a, b};
}

static int
sf_wcmp(const void *a, const void *b)
{
	const struct sf_window *x = a, *y = b;
	return (x->w_start > y->w_start) - (x->w_start < y->w_start);
}

static void
sf_wl_merge(struct sf_wlist *wl)
{
	if (wl->wl_n < 2)
		return;
	qsort(wl->wl_w, wl->wl_n, sizeof(*wl->wl_w), sf_wcmp);
	size_t o = 0;
	for (size_t i = 1; i < wl->wl_n; i++) {
		if (wl->wl_w[i].w_start <= wl->wl_w[o].w_end) {
			if (wl->wl_w[i].w_end > wl->wl_w[o].w_end)
				wl->wl_w[o].w_end = wl->wl_w[i].w_end;
		} else {
			wl->wl_w[++o] = wl->wl_w[i];
		}
	}
	wl->wl_n = o + 1;
}

static int
sf_wl_has(const struct sf_wlist *wl, int64_t t)
{
	size_t lo = 0, hi = wl->wl_n;
	while (lo < hi) { /* first window starting after t */
		size_t mid = (lo + hi) / 2;
		if (wl->wl_w[mid].w_start <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && t < wl->wl_w[lo - 1].w_end;
}

/* End of the window of wl that contains t, 0 when none does. */
static int64_t
sf_wl_end(const struct sf_wlist *wl, int64_t t)
{
	size_t lo = 0, hi = wl->wl_n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (wl->wl_w[mid].w_start <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && t < wl->wl_w[lo - 1].w_end ? wl->wl_w[lo - 1].w_end : 0;
}

static void
sf_random_outages(const struct scn_scenario *s, size_t fi, struct sf_wlist *wl)
{
	const struct scn_fault *f = &s->s_faults[fi];
	struct rn_seq q;
	int64_t end = f->f_end == SCN_NEVER ? s->s_duration : f->f_end;
	double t = (double)f->f_start;
	rn_seq_init(&q, s->s_seed, RN_OUTAGES, fi);
	for (;;) {
		t += rn_seq_exp(&q, (double)f->f_mean_gap);
		if (t >= (double)end)
			break;
		double len = rn_seq_exp(&q, (double)f->f_mean_len);
		if (len < 60)
			len = 60; /* an outage shorter than a minute is not an outage */
		sf_wl_add(wl, sf_abs(s, (int64_t)t), sf_abs(s, (int64_t)(t + len)));
		t += len;
	}
}

int
sf_plan_new(const struct scn_scenario *s, struct sf_plan **out)
{
	struct sf_plan *p = xcalloc(1, sizeof(*p));
	p->p_s = s;
	p->p_down = xcalloc(s->s_nissuers, sizeof(*p->p_down));
	p->p_iconf = xcalloc(s->s_nissuers, sizeof(*p->p_iconf));
	p->p_gconf = xcalloc(s->s_ngroups, sizeof(*p->p_gconf));
	p->p_istuck = xcalloc(s->s_nissuers, sizeof(*p->p_istuck));
	p->p_gstuck = xcalloc(s->s_ngroups, sizeof(*p->p_gstuck));
	p->p_dns = xcalloc(s->s_nfaults ? s->s_nfaults : 1, sizeof(*p->p_dns));
	for (size_t i = 0; i < s->s_nfaults; i++) {
		const struct scn_fault *f = &s->s_faults[i];
		switch (f->f_kind) {
		case SCN_F_OUTAGE:
			sf_wl_add(&p->p_down[f->f_issuer], sf_abs(s, f->f_start), sf_abs(s, f->f_end));
			break;
		case SCN_F_RANDOM_OUTAGES:
			sf_random_outages(s, i, &p->p_down[f->f_issuer]);
			break;
		case SCN_F_MISCONFIG:
			if (f->f_issuer >= 0)
				sf_wl_add(&p->p_iconf[f->f_issuer], sf_abs(s, f->f_start), sf_abs(s, f->f_end));
			else
				sf_wl_add(&p->p_gconf[f->f_group], sf_abs(s, f->f_start), sf_abs(s, f->f_end));
			break;
		case SCN_F_DNS:
			p->p_dns[p->p_ndns++] = (struct sf_dns){f->f_zone, sf_abs(s, f->f_start),
			    sf_abs(s, f->f_end), f->f_prob};
			break;
		case SCN_F_STUCK:
			if (f->f_issuer >= 0) {
				sf_wl_add(&p->p_istuck[f->f_issuer], sf_abs(s, f->f_start),
				    sf_abs(s, f->f_end));
				break;
			}
			/* a zone's fault: the groups whose registered domain it is, on any ACME CA */
			for (size_t g = 0; g < s->s_ngroups; g++)
				if (strcmp(f->f_zone, s->s_groups[g].g_domain) == 0)
					sf_wl_add(&p->p_gstuck[g], sf_abs(s, f->f_start),
					    sf_abs(s, f->f_end));
			break;
		case SCN_F_REVOCATION:
		case SCN_F_ARI_WINDOW:
		case SCN_F_NAMES_CHANGE:
			break; /* the engine applies these: they change certificates, not attempts */
		case SCN_F_EXTERNAL:
			break; /* the engine's CA books them: they change the budget a policy meets */
		}
	}
	for (size_t i = 0; i < s->s_nissuers; i++) {
		sf_wl_merge(&p->p_down[i]);
		sf_wl_merge(&p->p_iconf[i]);
		sf_wl_merge(&p->p_istuck[i]);
	}
	for (size_t g = 0; g < s->s_ngroups; g++) {
		sf_wl_merge(&p->p_gconf[g]);
		sf_wl_merge(&p->p_gstuck[g]);
	}
	p->p_gdns = xcalloc(s->s_ngroups * (p->p_ndns ? p->p_ndns : 1), 1);
	for (size_t g = 0; g < s->s_ngroups; g++)
		for (size_t d = 0; d < p->p_ndns; d++)
			p->p_gdns[g * p->p_ndns + d] =
			    p->p_dns[d].d_zone == NULL || strcmp(p->p_dns[d].d_zone, s->s_groups[g].g_domain) == 0;
	*out = p;
	return CC_OK;
}

void
sf_plan_free(struct sf_plan *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->p_s->s_nissuers; i++) {
		free(p->p_down[i].wl_w);
		free(p->p_iconf[i].wl_w);
		free(p->p_istuck[i].wl_w);
	}
	for (size_t g = 0; g < p->p_s->s_ngroups; g++) {
		free(p->p_gconf[g].wl_w);
		free(p->p_gstuck[g].wl_w);
	}
	free(p->p_istuck);
	free(p->p_gstuck);
	free(p->p_down);
	free(p->p_iconf);
	free(p->p_gconf);
	free(p->p_dns);
	free(p->p_gdns);
	free(p);
}

enum sf_outcome
sf_attempt(const struct sf_plan *p, uint32_t cert, int g, int issuer, uint64_t k, int64_t t,
    int rate_limited, int *stuck_zone)
{
	const struct scn_scenario *s = p->p_s;
	const struct scn_issuer *is = &s->s_issuers[issuer];
	if (sf_wl_has(&p->p_gconf[g], t) || sf_wl_has(&p->p_iconf[issuer], t))
		return SF_CONFIG;
	if (sf_wl_has(&p->p_down[issuer], t))
		return SF_CA_DOWN;
	if (rate_limited)
		return SF_RATE_LIMIT;
	/* the order exists; its challenge is what never validates */
	if (is->is_acme && (sf_wl_has(&p->p_gstuck[g], t) || sf_wl_has(&p->p_istuck[issuer], t))) {
		if (stuck_zone != NULL)
			*stuck_zone = sf_wl_has(&p->p_gstuck[g], t);
		return SF_STUCK;
	}
	if (is->is_acme) {
		for (size_t d = 0; d < p->p_ndns; d++) {
			const struct sf_dns *dn = &p->p_dns[d];
			if (!p->p_gdns[(size_t)g * p->p_ndns + d] || t < dn->d_start || t >= dn->d_end)
				continue;
			/* One draw per (attempt, fault): overlapping faults stay independent. */
			if (rn_unit(s->s_seed, RN_DNS + 16 * (uint64_t)d, cert, k) < dn->d_prob)
				return SF_DNS;
		}
	}
	if (is->is_fail_p > 0 && rn_unit(s->s_seed, RN_TRANSIENT, cert, k) < is->is_fail_p)
		return SF_TRANSIENT;
	return SF_OK;
}

const struct sf_window *
sf_outages(const struct sf_plan *p, int issuer, size_t *n)
{
	*n = p->p_down[issuer].wl_n;
	return p->p_down[issuer].wl_w;
}

int
sf_issuer_down(const struct sf_plan *p, int issuer, int64_t t)
{
	return sf_wl_has(&p->p_down[issuer], t) || sf_wl_has(&p->p_iconf[issuer], t);
}

const char *
sf_outcome_name(enum sf_outcome o)
{
	static const char *const names[SF_NOUTCOMES] = {"ok", "configuration", "ca-unavailable",
	    "rate-limit", "dns", "transient", "stuck"};
	return (unsigned)o < SF_NOUTCOMES ? names[o] : "unknown";
}

const char *
sf_outcome_reason(enum sf_outcome o)
{
	/* cert-manager puts "Failed" on a failed request and "Issued" on success; the message
	 * carries the cause. */
	return o == SF_OK ? "Issued" : "Failed";
}

const char *
sf_outcome_message(enum sf_outcome o, int acme)
{
	switch (o) {
	case SF_OK:
		return "Certificate fetched from issuer successfully";
	case SF_CONFIG:
		return acme ? "Failed to create Order: 400 urn:ietf:params:acme:error:rejectedIdentifier: "
			      "Error creating new order :: Cannot issue for the requested identifier"
			    : "Error getting keypair for CA issuer: secret \"ca-key-pair\" not found";
	case SF_CA_DOWN:
		return acme ? "Failed to create Order: 503 urn:ietf:params:acme:error:serverInternal: "
			      "The service is down for maintenance or had an internal error"
			    : "error signing certificate: connect: connection refused";
	case SF_RATE_LIMIT:
		return "Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: Error creating "
		       "new order :: too many certificates already issued for this registered domain";
	case SF_DNS:
		return "Accepting challenge authorization failed: acme: authorization error: 400 "
		       "urn:ietf:params:acme:error:dns: DNS problem: SERVFAIL looking up TXT for "
		       "_acme-challenge";
	case SF_TRANSIENT:
		return "Failed to finalize Order: context deadline exceeded";
	case SF_STUCK:
		/* the order went invalid when its pending authorization expired */
		return "Failed to wait for order resource to become ready: order is in \"invalid\" "
		       "state: authorization expired before its challenge was validated";
	default:
		return "unknown";
	}
}

int64_t
sf_hang(void)
{
	return SK_ORDER_LIFETIME;
}

const char *
sf_stuck_reason(int zone)
{
	/* shaped like the Challenge's status.reason while its self-check keeps failing */
	return zone ? "Waiting for DNS-01 challenge propagation: DNS record for "
		      "\"_acme-challenge\" not yet propagated"
		    : "Waiting for HTTP-01 challenge propagation: wrong status code '404', "
		      "expected '200'";
}

int64_t
sf_stuck_until(const struct sf_plan *p, int g, int issuer, int64_t t)
{
	int64_t a = sf_wl_end(&p->p_gstuck[g], t), b = sf_wl_end(&p->p_istuck[issuer], t);
	return a > b ? a : b;
}
