/*
 * robust: bounded, decaying statistics for the anomaly baselines. See robust.h.
 */
#include "robust.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
rb_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
rb_median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	/* n is at most a few hundred here, so sorting beats a selection algorithm's bookkeeping. */
	qsort(v, n, sizeof(*v), rb_cmp_double);
	if (n % 2)
		return v[n / 2];
	return 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double
rb_mad(double *v, size_t n, double med)
{
	size_t i;

	if (n == 0)
		return NAN;
	for (i = 0; i < n; i++)
		v[i] = fabs(v[i] - med);
	return rb_median(v, n);
}

double
rb_poisson_sf(double lambda, unsigned k)
{
	double lt, sum = 0, term;
	unsigned i;

	if (k == 0)
		return 1.0;
	if (!(lambda > 0))
		return 0.0;
	if ((double)k <= lambda) {
		/* Near or below the mean the tail is large; 1 - CDF is accurate enough there. */
		double cdf = 0;

		int sg; /* lgamma_r: lgamma writes the global signgam, a data race between threads */
		for (i = 0; i < k; i++)
			cdf += exp(-lambda + i * log(lambda) - lgamma_r(i + 1.0, &sg));
		return cdf >= 1.0 ? 0.0 : 1.0 - cdf;
	}
	/* Beyond the mean the terms shrink at least geometrically: sum them from k upwards. */
	int sg; /* lgamma_r, as above */
	lt = -lambda + k * log(lambda) - lgamma_r(k + 1.0, &sg);
	for (i = 0; i < 1000; i++) {
		term = exp(lt);
		sum += term;
		if (term < sum * 1e-12)
			break;
		lt += log(lambda) - log((double)k + i + 1);
	}
	return sum > 1.0 ? 1.0 : sum;
}

double
rb_decay(int64_t dt, int64_t hl)
{
	if (hl <= 0 || dt <= 0)
		return 1.0;
	return exp2(-(double)dt / (double)hl);
}

void
rb_freq_clear(struct rb_freq *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < RB_FREQ_CAP; i++)
		free(t->fq_key[i]);
	memset(t, 0, sizeof(*t));
}

static void
rb_freq_decay(struct rb_freq *t, int64_t now, int64_t hl)
{
	double f;
	size_t i;

	if (now <= t->fq_t) {
		/* Time never runs backwards for a table: late events count at the table's time. */
		return;
	}
	f = rb_decay(now - t->fq_t, hl);
	for (i = 0; i < RB_FREQ_CAP; i++)
		t->fq_cnt[i] *= f;
	t->fq_total *= f;
	t->fq_t = now;
}

static int
rb_freq_find(const struct rb_freq *t, const char *key)
{
	size_t i;

	for (i = 0; i < RB_FREQ_CAP; i++)
		if (t->fq_key[i] != NULL && strncmp(t->fq_key[i], key, RB_KEY_MAX - 1) == 0 &&
		    strlen(t->fq_key[i]) == (strnlen(key, RB_KEY_MAX - 1)))
			return (int)i;
	return -1;
}

int
rb_freq_add(struct rb_freq *t, const char *key, double w, int64_t now, int64_t hl)
{
	size_t i, victim = 0, klen;
	int at;
	char *k;

	rb_freq_decay(t, now, hl);
	t->fq_total += w;
	at = rb_freq_find(t, key);
	if (at >= 0) {
		t->fq_cnt[at] += w;
		return 0;
	}
	klen = strnlen(key, RB_KEY_MAX - 1);
	k = malloc(klen + 1);
	if (k == NULL) {
		t->fq_total -= w;
		return -1;
	}
	memcpy(k, key, klen);
	k[klen] = '\0';
	/* A free slot if there is one, otherwise the weakest key makes room (space-saving). */
	for (i = 0; i < RB_FREQ_CAP; i++) {
		if (t->fq_key[i] == NULL) {
			victim = i;
			break;
		}
		if (t->fq_cnt[i] < t->fq_cnt[victim])
			victim = i;
	}
	if (t->fq_key[victim] == NULL)
		t->fq_n++;
	free(t->fq_key[victim]);
	t->fq_key[victim] = k;
	t->fq_cnt[victim] = w;
	return 0;
}

double
rb_freq_count(const struct rb_freq *t, const char *key, int64_t now, int64_t hl)
{
	int at = rb_freq_find(t, key);

	if (at < 0)
		return 0.0;
	return t->fq_cnt[at] * (now > t->fq_t ? rb_decay(now - t->fq_t, hl) : 1.0);
}

double
rb_freq_total(const struct rb_freq *t, int64_t now, int64_t hl)
{
	return t->fq_total * (now > t->fq_t ? rb_decay(now - t->fq_t, hl) : 1.0);
}

void
rb_ring_push(struct rb_ring *r, double v)
{
	r->rg_v[r->rg_next] = v;
	r->rg_next = (r->rg_next + 1) % RB_RING_CAP;
	if (r->rg_n < RB_RING_CAP)
		r->rg_n++;
}

void
rb_ring_stats(const struct rb_ring *r, double *med, double *mad)
{
	double tmp[RB_RING_CAP];
	double m;

	memcpy(tmp, r->rg_v, sizeof(tmp));
	/* Until the ring has wrapped, the samples are the first rg_n slots. */
	m = rb_median(tmp, r->rg_n);
	*med = m;
	memcpy(tmp, r->rg_v, sizeof(tmp));
	*mad = rb_mad(tmp, r->rg_n, m);
}

static int64_t
rb_hour_of(int64_t t)
{
	int64_t h = (t / 3600) % 24;

	return h < 0 ? h + 24 : h;
}

static void
rb_hours_decay(struct rb_hours *h, int64_t now, int64_t hl)
{
	double f;
	int i;

	if (now <= h->hr_t)
		return;
	f = rb_decay(now - h->hr_t, hl);
	for (i = 0; i < RB_HOURS; i++)
		h->hr_cnt[i] *= f;
	h->hr_t = now;
}

void
rb_hours_add(struct rb_hours *h, int64_t when, int64_t now, int64_t hl)
{
	rb_hours_decay(h, now, hl);
	h->hr_cnt[rb_hour_of(when)] += 1.0;
}

double
rb_hours_density(const struct rb_hours *h, int64_t when)
{
	double total = 0, near;
	int64_t hr = rb_hour_of(when);
	int i;

	/* Decay scales every bin alike, so the shares need no decay to be computed. */
	for (i = 0; i < RB_HOURS; i++)
		total += h->hr_cnt[i];
	if (!(total > 0))
		return NAN;
	near = h->hr_cnt[(hr + 23) % 24] + h->hr_cnt[hr] + h->hr_cnt[(hr + 1) % 24];
	return (near / total) / (3.0 / 24.0);
}

static size_t
rb_rate_slot(int64_t hour)
{
	int64_t m = hour % RB_RATE_SLOTS;

	return (size_t)(m < 0 ? m + RB_RATE_SLOTS : m);
}

/* Moves the ring forward so that its newest slot is hour; the hours skipped are empty. */
static void
rb_rate_advance(struct rb_rate *r, int64_t hour)
{
	int64_t gap = hour - r->rt_hour, i;

	if (gap <= 0)
		return;
	if (gap > RB_RATE_SLOTS)
		gap = RB_RATE_SLOTS;
	for (i = 1; i <= gap; i++)
		r->rt_cnt[rb_rate_slot(r->rt_hour + i)] = 0;
	r->rt_hours += (uint32_t)(hour - r->rt_hour > RB_RATE_SLOTS ? RB_RATE_SLOTS : hour - r->rt_hour);
	if (r->rt_hours > RB_RATE_SLOTS - 1)
		r->rt_hours = RB_RATE_SLOTS - 1;
	r->rt_hour = hour;
}

static int64_t
rb_hour_index(int64_t t)
{
	return t >= 0 ? t / 3600 : -((-t + 3599) / 3600);
}

void
rb_rate_add(struct rb_rate *r, int64_t when)
{
	int64_t hour = rb_hour_index(when);
	size_t slot;

	if (!r->rt_used) {
		memset(r->rt_cnt, 0, sizeof(r->rt_cnt));
		r->rt_hour = hour;
		r->rt_hours = 0;
		r->rt_used = 1;
	}
	rb_rate_advance(r, hour);
	if (hour < r->rt_hour - (RB_RATE_SLOTS - 1))
		return;
	/* A late request older than the history so far extends it backwards. */
	if (hour < r->rt_hour - (int64_t)r->rt_hours)
		r->rt_hours = (uint32_t)(r->rt_hour - hour);
	slot = rb_rate_slot(hour);
	if (r->rt_cnt[slot] < UINT32_MAX)
		r->rt_cnt[slot]++;
}

uint32_t
rb_rate_current(const struct rb_rate *r, int64_t now)
{
	if (!r->rt_used || rb_hour_index(now) != r->rt_hour)
		return 0;
	return r->rt_cnt[rb_rate_slot(r->rt_hour)];
}

double
rb_rate_usual(const struct rb_rate *r, int64_t now, uint32_t *hours)
{
	double v[RB_RATE_SLOTS], med, trim = 0;
	int64_t cur = rb_hour_index(now), h;
	size_t n = 0, keep, i;

	*hours = 0;
	if (!r->rt_used)
		return 0.0;
	/* Complete hours are those before now's hour that the ring still holds. */
	for (h = cur - 1; h >= cur - (RB_RATE_SLOTS - 1); h--) {
		if (h > r->rt_hour)
			v[n++] = 0; /* silent hours since the last request */
		else if (h > r->rt_hour - 1 - (int64_t)r->rt_hours)
			v[n++] = r->rt_cnt[rb_rate_slot(h)];
		else
			break;
	}
	*hours = (uint32_t)n;
	if (n == 0)
		return 0.0;
	med = rb_median(v, n); /* sorts v ascending */
	keep = n - n / 10;
	for (i = 0; i < keep; i++)
		trim += v[i];
	trim /= (double)keep;
	return med > trim ? med : trim;
}
