/* restarts: per-pod restartCount samples -> restarts in the last hour (see restarts.h). */
#include "restarts.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* An hour of samples RST_STEP apart, plus the one that is an hour old, plus slack. */
#define RST_SAMPLES (RST_HOUR / RST_STEP + 4)

struct rst_sample {
	int64_t s_time;
	int32_t s_count;
};

struct rst_pod {
	char *p_uid;
	int32_t p_count;           /* latest restartCount */
	int64_t p_seen;            /* time of the latest observation */
	int64_t p_last_term;
	int64_t p_start;
	int64_t p_gone;            /* 0 while present */
	struct rst_sample p_hist[RST_SAMPLES]; /* oldest first */
	size_t p_nhist;
};

struct rst_table {
	struct rst_pod *t_pods;    /* owned array */
	size_t t_n, t_cap;
};

struct rst_table *
rst_new(void)
{
	return xcalloc(1, sizeof(struct rst_table));
}

void
rst_free(struct rst_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->t_n; i++)
		free(t->t_pods[i].p_uid);
	free(t->t_pods);
	free(t);
}

size_t
rst_count(const struct rst_table *t)
{
	return t->t_n;
}

static void
rst_remove(struct rst_table *t, size_t i)
{
	free(t->t_pods[i].p_uid);
	t->t_pods[i] = t->t_pods[--t->t_n];
}

static struct rst_pod *
rst_get(struct rst_table *t, const char *uid, int64_t now)
{
	for (size_t i = 0; i < t->t_n; i++)
		if (strcmp(t->t_pods[i].p_uid, uid) == 0)
			return &t->t_pods[i];
	if (t->t_n == RST_MAX_PODS) {
		size_t old = 0;
		for (size_t i = 1; i < t->t_n; i++)
			if (t->t_pods[i].p_seen < t->t_pods[old].p_seen)
				old = i;
		rst_remove(t, old);
	}
	if (t->t_n == t->t_cap) {
		t->t_cap = t->t_cap ? 2 * t->t_cap : 8;
		t->t_pods = xrealloc(t->t_pods, t->t_cap * sizeof *t->t_pods);
	}
	struct rst_pod *p = &t->t_pods[t->t_n++];
	memset(p, 0, sizeof *p);
	p->p_uid = xstrdup(uid);
	p->p_seen = now;
	return p;
}

/* Drop samples older than the newest one at least an hour before now: it alone is needed. */
static void
rst_trim(struct rst_pod *p, int64_t now)
{
	size_t keep_from = 0;
	for (size_t i = 0; i < p->p_nhist; i++)
		if (p->p_hist[i].s_time <= now - RST_HOUR)
			keep_from = i;
	if (keep_from > 0) {
		memmove(p->p_hist, p->p_hist + keep_from, (p->p_nhist - keep_from) * sizeof *p->p_hist);
		p->p_nhist -= keep_from;
	}
}

void
rst_observe(struct rst_table *t, const char *uid, int32_t restarts, int64_t last_term,
    int64_t start_time, int64_t now)
{
	if (uid == NULL || uid[0] == '\0' || restarts < 0)
		return;
	struct rst_pod *p = rst_get(t, uid, now);
	if (p->p_nhist > 0 && restarts < p->p_hist[p->p_nhist - 1].s_count)
		p->p_nhist = 0; /* a count went down: the old samples say nothing about this one */
	p->p_count = restarts;
	p->p_seen = now;
	p->p_last_term = last_term;
	p->p_start = start_time;
	p->p_gone = 0;
	if (p->p_nhist == 0 || now - p->p_hist[p->p_nhist - 1].s_time >= RST_STEP) {
		rst_trim(p, now);
		if (p->p_nhist == RST_SAMPLES) { /* a clock jump: keep the newest */
			memmove(p->p_hist, p->p_hist + 1, (RST_SAMPLES - 1) * sizeof *p->p_hist);
			p->p_nhist--;
		}
		p->p_hist[p->p_nhist].s_time = now;
		p->p_hist[p->p_nhist].s_count = restarts;
		p->p_nhist++;
	}
}

void
rst_present(struct rst_table *t, const char *const *uids, size_t n, int64_t now)
{
	for (size_t i = 0; i < t->t_n; i++) {
		int found = 0;
		for (size_t k = 0; k < n && !found; k++)
			found = uids[k] && strcmp(uids[k], t->t_pods[i].p_uid) == 0;
		if (!found && t->t_pods[i].p_gone == 0)
			t->t_pods[i].p_gone = now;
	}
}

void
rst_prune(struct rst_table *t, int64_t now)
{
	for (size_t i = 0; i < t->t_n;) {
		if (t->t_pods[i].p_gone != 0 && t->t_pods[i].p_seen < now - RST_HOUR)
			rst_remove(t, i);
		else
			i++;
	}
}

static uint32_t
rst_pod_hour(const struct rst_pod *p, int64_t now)
{
	const int64_t from = now - RST_HOUR;
	if (p->p_seen < from)
		return 0; /* a gone pod's last word is older than the hour */
	const struct rst_sample *base = NULL;
	for (size_t i = 0; i < p->p_nhist; i++)
		if (p->p_hist[i].s_time <= from)
			base = &p->p_hist[i];
	int64_t n;
	if (base != NULL) {
		n = (int64_t)p->p_count - base->s_count;
	} else if (p->p_start != 0 && p->p_start >= from) {
		n = p->p_count;
	} else {
		n = p->p_nhist ? (int64_t)p->p_count - p->p_hist[0].s_count : 0;
		if (n < 1 && p->p_last_term != 0 && p->p_last_term >= from)
			n = 1;
	}
	return n > 0 ? (uint32_t)n : 0;
}

uint32_t
rst_last_hour(const struct rst_table *t, int64_t now)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < t->t_n; i++)
		sum += rst_pod_hour(&t->t_pods[i], now);
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}
