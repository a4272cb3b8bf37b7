/*
 * forecast: the attempt schedule cert-manager will actually follow, and the probability that
 * every attempt in it fails before notAfter.
 *
 * The schedule follows cert-manager's code: the renewal time of pkg/util/pki (renewBefore when
 * 0 < renewBefore < lifetime, else renewBeforePercentage in (0,100), else 1/3 of the actual
 * lifetime before notAfter, truncated to the second; then spec.renewal's policy and windows),
 * and the trigger controller's backoff (1h * 2^(n-1) after lastFailureTime, at least 1h, at
 * most 32h from n >= 6). Setting Issuing=True bypasses the backoff (an attempt is running).
 *
 * The risk model (scoring/README.md, "Forecast"): a baseline per-attempt failure probability p whose
 * uncertainty makes attempts positively correlated (a two-point mixture with the variance of a
 * Beta of concentration kappa), plus persistent faults, each present now with some
 * probability and clearing over time by its class's survival curve. While a fault is present
 * an attempt fails with probability f + (1 - f) p. The heal time of "any fault" is the maximum
 * of independent heal times, so
 *   risk = sum_j [U(t_j) - U(t_j+1)] * prod_{k<=j} g_k * prod_{k>j} p
 * averaged over the mixture, where U(t) = P(some fault still present at t). A fault whose class
 * is uncertain (ft_alt_weight > 0; only the first such fault) is a mixture of two worlds, each
 * forecast on its own and weighted. A running attempt that may be stuck (fp_stuck > 0, see
 * stuck.h) is another such mixture, whose stuck world has its own schedule.
 *
 * Reentrant, no allocation.
 */
#ifndef FORECAST_H
#define FORECAST_H

#include <stddef.h>
#include <stdint.h>

#include "scoring.h"

#define FC_DEFAULT_DURATION (90LL * 24 * 3600) /* cert-manager's default spec.duration */
#define FC_MIN_RENEW_BEFORE (5LL * 60)          /* validation: renewBefore >= 5m */
#define FC_BACKOFF_INITIAL 3600LL               /* first backoff step, 1h */
#define FC_BACKOFF_MAX (32LL * 3600)            /* cap, reached at 6 failed attempts */
#define FC_MAX_CHAIN 4096                       /* attempts followed per forecast */
#define FC_MAX_FAULTS 4

/*
 * How long before notAfter cert-manager renews a certificate of the given actual lifetime
 * (notAfter - notBefore): cert-manager's desiredRenewalTime. spec may be NULL (defaults).
 */
int64_t fc_renew_before(int64_t lifetime, const struct sc_renew_spec *spec);

/*
 * cert-manager's renewal time for a certificate valid [not_before, not_after) with spec (NULL:
 * defaults). Returns SC_OK with *out set; SC_ERR_DISABLED when the policy is Disabled (no
 * renewal); SC_ERR_NOWINDOW when windows are set and none fits (cert-manager reports a window
 * error and sets no renewal time); SC_ERR_PARSE for a window whose cron does not parse;
 * SC_ERR_INVAL when not_after < not_before. *out is 0 on every error.
 * Windows: the desired time stands if it falls inside a window [start, start + duration) of
 * any entry; otherwise the earliest window start after it, up to notAfter + duration.
 */
int fc_renewal_time(int64_t not_before, int64_t not_after, const struct sc_renew_spec *spec,
		    int64_t *out);

/*
 * The trigger controller's backoff after failed_attempts failures (status
 * failedIssuanceAttempts; 0 with a lastFailureTime counts as the initial 1h): seconds.
 */
int64_t fc_backoff_delay(int32_t failed_attempts);

/*
 * When cert-manager next triggers an issuance of c, given its renewal time (0: none) and now:
 * now when Issuing=True; else the later of the renewal time and lastFailureTime + backoff
 * (and now). Returns 0 when nothing is due ever (no renewal time and no failure to retry).
 */
int64_t fc_next_attempt(const struct sc_cert *c, int64_t renewal_time, int64_t now);

/* A persistent fault, for the risk model. */
struct fc_fault {
	enum sc_class ft_class;   /* its class (for survival and text) */
	double ft_present;        /* P(present at ft_seen) */
	double ft_fail;           /* P(an attempt fails while present) */
	int64_t ft_seen;          /* when it was last observed present */
	int64_t ft_since;         /* when it was first observed (its age), 0: unknown, new */
	enum sc_class ft_alt_class; /* what it may be instead, when ft_alt_weight > 0 */
	double ft_alt_weight;     /* P(it is really ft_alt_class): a mixture, not a second fault */
	int64_t ft_window;        /* rate-limit window from the text, 0 unknown */
	int64_t ft_retry_after;   /* absolute "retry after", 0 unknown */
	int64_t ft_lasts_until;   /* present (with ft_present) until then whatever the class's
				     model says, 0 none: a lower bound on its end known from
				     elsewhere (a rate limit's queue projection, evaluate.c) */
};

/* Inputs of one forecast. */
struct fc_params {
	int64_t fp_now;             /* evaluation time */
	int64_t fp_not_after;       /* deadline: an attempt counts if it ends by then */
	int64_t fp_first;           /* first attempt time (>= now), 0: no attempt at all */
	int32_t fp_failed;          /* failedIssuanceAttempts before the first attempt */
	int64_t fp_attempt_duration;/* trigger to outcome, seconds */
	double fp_p;                /* baseline per-attempt failure probability */
	double fp_kappa;            /* Beta concentration of p (<= 0: p is exact) */
	struct fc_fault fp_faults[FC_MAX_FAULTS]; /* current faults */
	size_t fp_nfaults;
	int64_t fp_fail_duration;   /* trigger to outcome of a FAILING attempt, 0: as above. The
				     * deadline test keeps fp_attempt_duration (a success is
				     * quick); the spacing of the all-fail chain uses this, and
				     * such an attempt fails only if a fault is still there at
				     * its end (or the deadline) */
	/*
	 * A running attempt that may be stuck (an ACME challenge that never validates): with
	 * probability fp_stuck the attempt at fp_first began fp_stuck_hang before fp_stuck_end
	 * (the CA's order expires then) and hangs while fp_stuck_fault (what keeps the challenge
	 * from validating) persists: it fails at fp_stuck_end if the cause is still there, and
	 * cert-manager's backoff follows; every further order hangs the same way. 0 (the
	 * default): the attempt at fp_first is an ordinary one.
	 */
	double fp_stuck;
	int64_t fp_stuck_end;
	int64_t fp_stuck_hang;
	struct fc_fault fp_stuck_fault;
};

struct fc_forecast {
	double ff_risk;            /* P(every attempt fails), 1 when none remain */
	uint32_t ff_total;         /* attempts before the deadline along the all-fail path */
	uint32_t ff_n;             /* listed in ff_attempts */
	struct sc_attempt ff_attempts[SC_MAX_ATTEMPTS];
	int64_t ff_last_attempt;   /* time of the last attempt, 0 when none */
	double ff_p_first_fail;    /* P(the first attempt fails) */
	double ff_p_fault_now;     /* P(some fault present now) */
};

/*
 * Runs the risk model on p. want_list 0 skips filling ff_attempts (faster, for searches).
 * Returns SC_OK, or SC_ERR_INVAL for NULL arguments.
 */
int fc_forecast(const struct fc_params *p, int want_list, struct fc_forecast *out);

/*
 * Splits p into its two worlds when the running attempt may be stuck: *ok, the attempt at
 * fp_first is an ordinary one; *stuck, the chain starts with the running attempt at its own
 * start (fp_stuck_end - fp_stuck_hang), every failing attempt takes fp_stuck_hang, and
 * fp_stuck_fault is one of the faults. Returns P(stuck) (0: *ok = *p, *stuck untouched).
 * Neither world is stuck again.
 */
double fc_stuck_split(const struct fc_params *p, struct fc_params *ok, struct fc_params *stuck);

/* P(some fault of p is present at time t) (t >= p->fp_now). */
double fc_fault_presence(const struct fc_params *p, int64_t t);

/* P(an attempt at time t fails): a fault present (prob. U) or the baseline, as in the model. */
double fc_attempt_fail(const struct fc_params *p, int64_t t);

#endif
