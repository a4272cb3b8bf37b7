/*
 * forecast: cert-manager's renewal time, backoff and attempt chain, and the risk over it.
 */
#include "forecast.h"

#include <math.h>
#include <string.h>

#include "cron.h"
#include "failclass.h"

int64_t
fc_renew_before(int64_t lifetime, const struct sc_renew_spec *spec)
{
	if (lifetime < 0)
		lifetime = 0;
	if (spec != NULL && spec->rs_renew_before_set && spec->rs_renew_before > 0 &&
	    spec->rs_renew_before < lifetime)
		return spec->rs_renew_before;
	/*
	 * cert-manager computes in nanoseconds and truncates the renewal time down to the second;
	 * in whole seconds that is rounding the renew-before span up.
	 */
	if (spec != NULL && spec->rs_pct_set && spec->rs_pct > 0 && spec->rs_pct < 100)
		return (lifetime * spec->rs_pct + 99) / 100;
	return (lifetime + 2) / 3;
}

/* Applies the windows of spec to the desired renewal time, as cert-manager v1.21 does. */
static int
fc_apply_windows(int64_t not_before, int64_t not_after, int64_t desired,
		 const struct sc_renew_spec *spec, int64_t *out)
{
	int have_after = 0;
	int64_t best_after = 0;
	for (size_t i = 0; i < spec->rs_nwindows; i++) {
		const struct sc_window *w = &spec->rs_windows[i];
		struct cron_expr ce;
		int64_t lo, hi, start;
		if (w->rw_duration <= 0 || cron_parse(w->rw_cron, &ce, NULL, 0) != SC_OK)
			return SC_ERR_PARSE;
		lo = not_before - w->rw_duration;
		hi = not_after + w->rw_duration;
		/* the desired time stands when it falls in the window that last opened before it */
		if (desired >= lo && lo < (desired < hi ? desired : hi)) {
			int64_t last = cron_prev(&ce, desired < hi ? desired : hi, lo, w->rw_tz_offset);
			if (last != 0 && desired <= last + w->rw_duration) {
				*out = desired;
				return SC_OK;
			}
		}
		start = cron_next(&ce, (desired > lo ? desired : lo) - 1, w->rw_tz_offset);
		if (start != 0 && start <= hi && (!have_after || start < best_after)) {
			best_after = start;
			have_after = 1;
		}
	}
	if (!have_after)
		return SC_ERR_NOWINDOW;
	*out = best_after;
	return SC_OK;
}

int
fc_renewal_time(int64_t not_before, int64_t not_after, const struct sc_renew_spec *spec,
		int64_t *out)
{
	int64_t desired;
	int rc;
	if (out == NULL)
		return SC_ERR_INVAL;
	*out = 0;
	if (not_after < not_before)
		return SC_ERR_INVAL;
	desired = not_after - fc_renew_before(not_after - not_before, spec);
	if (spec == NULL || spec->rs_policy == SC_RENEWAL_UNSET) {
		*out = desired;
		return SC_OK;
	}
	if (spec->rs_policy == SC_RENEWAL_DISABLED)
		return SC_ERR_DISABLED;
	if (spec->rs_nwindows == 0 || spec->rs_windows == NULL) {
		*out = desired;
		return SC_OK;
	}
	rc = fc_apply_windows(not_before, not_after, desired, spec, out);
	if (rc != SC_OK)
		*out = 0;
	return rc;
}

int64_t
fc_backoff_delay(int32_t failed_attempts)
{
	/* 2^(n-1) hours; n <= 0 rounds to 0 in cert-manager and is then raised to the 1h floor */
	if (failed_attempts <= 1)
		return FC_BACKOFF_INITIAL;
	if (failed_attempts > 6)
		return FC_BACKOFF_MAX;
	return FC_BACKOFF_INITIAL << (failed_attempts - 1);
}

int64_t
fc_next_attempt(const struct sc_cert *c, int64_t renewal_time, int64_t now)
{
	int64_t t;
	if (c == NULL)
		return 0;
	if (c->c_issuing.cd_status == SC_TRUE)
		return now;
	if (c->c_last_failure > 0) {
		t = c->c_last_failure + fc_backoff_delay(c->c_failed_attempts);
		if (renewal_time > t)
			t = renewal_time;
	} else {
		if (renewal_time == 0)
			return 0;
		t = renewal_time;
	}
	return t > now ? t : now;
}

static double
fc_clamp01(double x)
{
	if (!(x > 0.0))
		return 0.0;
	return x < 1.0 ? x : 1.0;
}

/*
 * P(some fault present at t), and the failure probability of an attempt given that some fault
 * is present: with independent faults, a present fault i fails the attempt with probability
 * f_i, so P(a fault fails it) = 1 - prod(1 - pi_i f_i), which divided by P(some present) gives
 * the conditional. Any fault growing likelier can then only make the attempt likelier to fail.
 */
static double
fc_presence(const struct fc_params *p, int64_t t, double *fail)
{
	double absent = 1.0, unfailed = 1.0, u;
	for (size_t i = 0; i < p->fp_nfaults; i++) {
		const struct fc_fault *f = &p->fp_faults[i];
		double pi = fc_clamp01(f->ft_present) *
			    (t < f->ft_lasts_until
				     ? 1.0
				     : fcl_survival_aged(f->ft_class, f->ft_window,
							 f->ft_retry_after, f->ft_since,
							 f->ft_seen, t));
		absent *= 1.0 - pi;
		unfailed *= 1.0 - pi * fc_clamp01(f->ft_fail);
	}
	u = 1.0 - absent;
	if (fail != NULL)
		*fail = u > 0.0 ? fc_clamp01((1.0 - unfailed) / u) : 0.0;
	return u;
}

/*
 * Splits p into its two worlds when a fault's class is uncertain: *a keeps the main class,
 * *b takes the alternative. Returns the weight of world b (0: no split, *a = *p).
 */
static double
fc_split(const struct fc_params *p, struct fc_params *a, struct fc_params *b)
{
	struct fcl_persist m;
	*a = *p;
	for (size_t i = 0; i < p->fp_nfaults; i++) {
		double w = p->fp_faults[i].ft_alt_weight;
		if (!(w > 0.0))
			continue;
		if (w > 1.0)
			w = 1.0;
		*b = *p;
		fcl_persistence(p->fp_faults[i].ft_alt_class, &m);
		b->fp_faults[i].ft_class = p->fp_faults[i].ft_alt_class;
		b->fp_faults[i].ft_fail = m.fp_fail;
		b->fp_faults[i].ft_window = 0;
		b->fp_faults[i].ft_retry_after = 0;
		b->fp_faults[i].ft_lasts_until = 0; /* known of the main class only */
		a->fp_faults[i].ft_alt_weight = 0.0;
		b->fp_faults[i].ft_alt_weight = 0.0;
		return w;
	}
	return 0.0;
}

static double
fc_attempt_fail1(const struct fc_params *p, int64_t t)
{
	double f, u, q = fc_clamp01(p->fp_p);
	u = fc_presence(p, t, &f);
	return fc_clamp01(u * (f + (1.0 - f) * q) + (1.0 - u) * q);
}

double
fc_stuck_split(const struct fc_params *p, struct fc_params *ok, struct fc_params *stuck)
{
	double s;
	int64_t end, hang;
	*ok = *p;
	s = fc_clamp01(p->fp_stuck);
	if (s == 0.0 || p->fp_first <= 0)
		return 0.0;
	ok->fp_stuck = 0.0;
	*stuck = *ok;
	/*
	 * The stuck world's chain starts with the running attempt itself, hanging from its start
	 * to the order's expiry (now, if that is already past): it fails only if the cause is
	 * still there then, since a fixed challenge validates at cert-manager's next self-check.
	 * Every further order hangs as long while the cause stays.
	 */
	end = p->fp_stuck_end > p->fp_now ? p->fp_stuck_end : p->fp_now;
	hang = p->fp_stuck_hang > 0 ? p->fp_stuck_hang : 0;
	stuck->fp_first = end - hang;
	stuck->fp_fail_duration = hang;
	if (p->fp_stuck_fault.ft_class != SC_CLASS_OK && p->fp_stuck_fault.ft_present > 0.0) {
		const struct fc_fault *sf = &p->fp_stuck_fault;
		size_t i;
		/*
		 * A fault of the same class already seen (the issuer failing for other
		 * certificates with the same words, this certificate's own last failure) is the
		 * same cause seen twice, not a second one that must heal too: merge them, dated
		 * from the older sighting.
		 */
		for (i = 0; i < stuck->fp_nfaults; i++) {
			struct fc_fault *f = &stuck->fp_faults[i];
			if (f->ft_class != sf->ft_class)
				continue;
			int64_t since = f->ft_since > 0 && f->ft_since < sf->ft_since ? f->ft_since
										: sf->ft_since;
			*f = *sf;
			f->ft_since = since;
			break;
		}
		if (i == stuck->fp_nfaults && stuck->fp_nfaults < FC_MAX_FAULTS)
			stuck->fp_faults[stuck->fp_nfaults++] = *sf;
	}
	return s;
}

static double fc_fault_presence0(const struct fc_params *p, int64_t t);
static double fc_attempt_fail0(const struct fc_params *p, int64_t t);

double
fc_fault_presence(const struct fc_params *p, int64_t t)
{
	struct fc_params a, b;
	double s;
	if (p == NULL)
		return 0.0;
	s = fc_stuck_split(p, &a, &b);
	if (s == 0.0)
		return fc_fault_presence0(p, t);
	/* in the stuck world the cause of the hang is one of the faults */
	return (1.0 - s) * fc_fault_presence0(&a, t) + s * fc_fault_presence0(&b, t);
}

double
fc_attempt_fail(const struct fc_params *p, int64_t t)
{
	struct fc_params a, b;
	double s;
	if (p == NULL)
		return 1.0;
	s = fc_stuck_split(p, &a, &b);
	if (s == 0.0)
		return fc_attempt_fail0(p, t);
	return (1.0 - s) * fc_attempt_fail0(&a, t) + s * fc_attempt_fail0(&b, t);
}

static double
fc_fault_presence0(const struct fc_params *p, int64_t t)
{
	struct fc_params a, b;
	double w;
	w = fc_split(p, &a, &b);
	if (w == 0.0)
		return fc_presence(p, t, NULL);
	return (1.0 - w) * fc_presence(&a, t, NULL) + w * fc_presence(&b, t, NULL);
}

static double
fc_attempt_fail0(const struct fc_params *p, int64_t t)
{
	struct fc_params a, b;
	double w;
	w = fc_split(p, &a, &b);
	if (w == 0.0)
		return fc_attempt_fail1(p, t);
	return (1.0 - w) * fc_attempt_fail1(&a, t) + w * fc_attempt_fail1(&b, t);
}

static int fc_pass(const struct fc_params *p, int want_list, struct fc_forecast *out);
static int fc_forecast0(const struct fc_params *p, int want_list, struct fc_forecast *out);

/*
 * The stuck world and the ordinary one have different schedules, so unlike the class split
 * their lists cannot be mixed entry by entry. The list follows the likelier world: when the
 * attempt is more likely stuck than not, the running attempt comes first (it fails unless it
 * is not stuck after all) and then the stuck world's attempts after the order expires.
 */
int
fc_forecast(const struct fc_params *p, int want_list, struct fc_forecast *out)
{
	struct fc_params a, b;
	struct fc_forecast fb;
	double s;
	if (p == NULL || out == NULL)
		return SC_ERR_INVAL;
	s = fc_stuck_split(p, &a, &b);
	if (s == 0.0)
		return fc_forecast0(p, want_list, out);
	(void)fc_forecast0(&a, want_list, out);
	(void)fc_forecast0(&b, want_list, &fb);
	{
		double first = (1.0 - s) * out->ff_p_first_fail + s * fb.ff_p_first_fail;
		double risk = (1.0 - s) * out->ff_risk + s * fb.ff_risk;
		double fault = (1.0 - s) * out->ff_p_fault_now + s;
		if (s >= 0.5) {
			/* the stuck world's first entry is the running attempt: shown as running now */
			out->ff_n = 0;
			if (want_list) {
				for (uint32_t i = 0; i < fb.ff_n; i++)
					out->ff_attempts[i] = fb.ff_attempts[i];
				out->ff_n = fb.ff_n;
				if (fb.ff_n > 0) {
					out->ff_attempts[0].at_time = p->fp_first;
					out->ff_attempts[0].at_p_fault = fault;
					out->ff_attempts[0].at_p_fail = first;
				}
			}
			out->ff_total = fb.ff_total;
			out->ff_last_attempt = fb.ff_total > 1 ? fb.ff_last_attempt : p->fp_first;
		}
		out->ff_risk = fc_clamp01(risk);
		out->ff_p_first_fail = fc_clamp01(first);
		out->ff_p_fault_now = fc_clamp01(fault);
	}
	return SC_OK;
}

static int
fc_forecast0(const struct fc_params *p, int want_list, struct fc_forecast *out)
{
	struct fc_params a, b;
	struct fc_forecast fb;
	double w;
	w = fc_split(p, &a, &b);
	if (w == 0.0)
		return fc_pass(p, want_list, out);
	(void)fc_pass(&a, want_list, out);
	(void)fc_pass(&b, want_list, &fb);
	/* same schedule in both worlds: only the probabilities mix */
	out->ff_risk = (1.0 - w) * out->ff_risk + w * fb.ff_risk;
	out->ff_p_first_fail = (1.0 - w) * out->ff_p_first_fail + w * fb.ff_p_first_fail;
	out->ff_p_fault_now = (1.0 - w) * out->ff_p_fault_now + w * fb.ff_p_fault_now;
	for (uint32_t i = 0; i < out->ff_n; i++) {
		struct sc_attempt *x = &out->ff_attempts[i];
		x->at_p_fault = (1.0 - w) * x->at_p_fault + w * fb.ff_attempts[i].at_p_fault;
		x->at_p_fail = (1.0 - w) * x->at_p_fail + w * fb.ff_attempts[i].at_p_fail;
	}
	return SC_OK;
}

/* One world's forecast: the chain and the sum over heal times. */
static int
fc_pass(const struct fc_params *p, int want_list, struct fc_forecast *out)
{
	double q, pts[2], h[2] = {0.0, 0.0}, g[2] = {1.0, 1.0};
	double u_prev = 1.0;
	int npts = 1;
	int64_t t, d, df;
	int32_t failed;
	uint32_t n = 0;

	if (p == NULL || out == NULL)
		return SC_ERR_INVAL;
	out->ff_total = 0;
	out->ff_n = 0;
	out->ff_last_attempt = 0;
	out->ff_p_fault_now = fc_presence(p, p->fp_now, NULL);

	/*
	 * Baseline uncertainty as two equally likely rates q -+ sd, sd the standard deviation of a
	 * Beta(kappa q, kappa (1-q)), narrowed where it would leave [0,1]: a long run of failures
	 * is then likelier than under independence, as it is when an issuer has a bad day.
	 */
	q = fc_clamp01(p->fp_p);
	pts[0] = q;
	if (p->fp_kappa > 0.0) {
		double sd = sqrt(q * (1.0 - q) / (p->fp_kappa + 1.0));
		if (sd > q)
			sd = q;
		if (sd > 1.0 - q)
			sd = 1.0 - q;
		if (sd > 0.0) {
			pts[0] = q - sd;
			pts[1] = q + sd;
			npts = 2;
		}
	}

	d = p->fp_attempt_duration > 0 ? p->fp_attempt_duration : 0;
	df = p->fp_fail_duration > 0 ? p->fp_fail_duration : d;
	failed = p->fp_failed < 0 ? 0 : p->fp_failed;
	t = p->fp_first;
	/*
	 * One pass over the all-fail chain. With U_j the probability that some fault is still
	 * present at attempt j (U_0 = 1, U_{n+1} = 0), G_j the product of the fault-phase failure
	 * probabilities of attempts 1..j, the risk for a baseline rate r is
	 *   H_n = sum_j (U_j - U_{j+1}) G_j r^(n-j),  built as H_j = H_{j-1} r + (U_j - U_{j+1}) G_j
	 * where the weight of term j is only known once U_{j+1} is.
	 */
	while (t > 0 && t + d <= p->fp_not_after && n < FC_MAX_CHAIN) {
		/*
		 * An attempt that hangs while the fault lasts (fp_fail_duration set) fails only if
		 * the fault is still there when it would give up, or at the deadline: a fault
		 * that clears earlier lets it finish then.
		 */
		int64_t at = df > d ? (t + df < p->fp_not_after ? t + df : p->fp_not_after) : t;
		double f, u = fc_presence(p, at, &f);
		for (int k = 0; k < npts; k++) {
			h[k] = h[k] * pts[k] + (u_prev - u) * g[k];
			g[k] *= f + (1.0 - f) * pts[k];
		}
		if (n == 0)
			out->ff_p_first_fail = fc_clamp01(u * (f + (1.0 - f) * q) + (1.0 - u) * q);
		if (want_list && n < SC_MAX_ATTEMPTS) {
			struct sc_attempt *a = &out->ff_attempts[n];
			a->at_time = t;
			a->at_p_fault = u;
			a->at_p_fail = fc_clamp01(u * (f + (1.0 - f) * q) + (1.0 - u) * q);
			out->ff_n = n + 1;
		}
		out->ff_last_attempt = t;
		u_prev = u;
		n++;
		failed = failed < INT32_MAX ? failed + 1 : failed;
		t = t + df + fc_backoff_delay(failed);
	}
	out->ff_total = n;
	if (n == 0) {
		out->ff_risk = 1.0;
		out->ff_p_first_fail = 1.0;
		return SC_OK;
	}
	/* close the sum: H_n = H_{n-1} r + (U_n - 0) G_n, averaged over the mixture */
	{
		double risk = 0.0;
		for (int k = 0; k < npts; k++)
			risk += h[k] * pts[k] + u_prev * g[k];
		out->ff_risk = fc_clamp01(risk / npts);
	}
	return SC_OK;
}
