/*
 * robust: small robust-statistics building blocks for the anomaly baselines.
 *
 * Everything here is bounded: a frequency table holds at most RB_FREQ_CAP keys, a sample ring
 * at most RB_RING_CAP values, an hour histogram 24 bins. Counts decay exponentially with a
 * half-life so that an old habit fades; decay is applied lazily from a timestamp, so `now` is
 * always a parameter and nothing reads a clock. Structures are plain values (no allocation,
 * except the keys of a frequency table, which it owns). Not thread-safe per structure.
 */
#ifndef ROBUST_H
#define ROBUST_H

#include <stddef.h>
#include <stdint.h>

#define RB_FREQ_CAP 32    /* keys per frequency table */
#define RB_KEY_MAX 256    /* longest key kept, bytes including NUL; longer keys are cut */
#define RB_RING_CAP 64    /* samples kept for median/MAD */
#define RB_HOURS 24

/* Median of v[0..n) (n >= 1); v is reordered. Returns NaN when n == 0. */
double rb_median(double *v, size_t n);

/* Median absolute deviation around med of v[0..n); v is reordered. NaN when n == 0. */
double rb_mad(double *v, size_t n, double med);

/*
 * Upper tail of a Poisson distribution: P(X >= k) for mean lambda > 0. Accurate to a few
 * digits far into the tail (it sums terms in log space).
 */
double rb_poisson_sf(double lambda, unsigned k);

/* Factor by which a count decays over dt seconds with half-life hl (hl <= 0: no decay). */
double rb_decay(int64_t dt, int64_t hl);

/* A bounded table of keys with decayed counts. */
struct rb_freq {
	char *fq_key[RB_FREQ_CAP];   /* owned, NUL-terminated, NULL when the slot is free */
	double fq_cnt[RB_FREQ_CAP];  /* decayed counts as of fq_t */
	double fq_total;             /* decayed total, evicted keys included */
	int64_t fq_t;                /* time the counts were last decayed to */
	size_t fq_n;                 /* slots in use */
};

/* Empties t and frees its keys; t stays usable. Accepts NULL. */
void rb_freq_clear(struct rb_freq *t);

/*
 * Decays t to time now (half-life hl seconds) and adds w to key. When the table is full, the
 * key with the smallest count is evicted to make room. Returns 0, or -1 when out of memory.
 */
int rb_freq_add(struct rb_freq *t, const char *key, double w, int64_t now, int64_t hl);

/* Decayed count of key as of now (0 when absent). Does not change t. */
double rb_freq_count(const struct rb_freq *t, const char *key, int64_t now, int64_t hl);

/* Decayed total as of now. */
double rb_freq_total(const struct rb_freq *t, int64_t now, int64_t hl);

/* A ring of the latest samples for median/MAD. */
struct rb_ring {
	double rg_v[RB_RING_CAP]; /* samples, oldest overwritten first */
	size_t rg_n;              /* samples held, <= RB_RING_CAP */
	size_t rg_next;           /* slot the next sample goes to */
};

void rb_ring_push(struct rb_ring *r, double v);

/* Median and MAD of the samples held; both NaN when empty. */
void rb_ring_stats(const struct rb_ring *r, double *med, double *mad);

/* Decayed hour-of-day histogram (UTC hours, circular). */
struct rb_hours {
	double hr_cnt[RB_HOURS]; /* decayed counts as of hr_t */
	int64_t hr_t;            /* time of the last decay */
};

void rb_hours_add(struct rb_hours *h, int64_t when, int64_t now, int64_t hl);

/*
 * Share of the decayed mass within +-1 hour of when's hour (wrapping around midnight), divided
 * by the share a uniform spread would give (3/24). 1 means "as usual as any hour", values near
 * 0 mean "never at this time". Returns NaN when the histogram is empty.
 */
double rb_hours_density(const struct rb_hours *h, int64_t when);

/* Hourly request counts over the last week, for bursts against the usual rate. */
#define RB_RATE_SLOTS 168

struct rb_rate {
	uint32_t rt_cnt[RB_RATE_SLOTS]; /* requests per hour; slot = hour index % RB_RATE_SLOTS */
	int64_t rt_hour;                /* hour index (unix time / 3600) of the newest slot */
	uint32_t rt_hours;              /* complete hours of history, <= RB_RATE_SLOTS - 1 */
	int rt_used;                    /* 0 until the first request */
};

/*
 * Counts one request at time when, in its own hour. Requests may arrive out of order: one up
 * to a week older than the newest is counted where it belongs, an older one is ignored. Hours
 * without requests count as zero.
 */
void rb_rate_add(struct rb_rate *r, int64_t when);

/* Requests in the hour that contains now (0 when now is past it). */
uint32_t rb_rate_current(const struct rb_rate *r, int64_t now);

/*
 * The usual hourly rate from the complete hours before now's hour: the larger of the median
 * and the mean with the top 10% trimmed, so that one past burst does not raise it. Sets *hours
 * to the number of complete hours used. Returns 0 when there are none.
 */
double rb_rate_usual(const struct rb_rate *r, int64_t now, uint32_t *hours);

#endif
