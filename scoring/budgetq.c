/*
 * budgetq: the per-domain queue projection (see budgetq.h).
 *
 * A binary min-heap of certificate indices keyed by (next attempt, index) orders the attempts;
 * the issuances form one ascending array (the counted ones first, then those the replay
 * accepts, which come in time order), so the count in the window is its length minus a head
 * that only moves forward.
 */
#include "budgetq.h"

#include "forecast.h"
#include "scoring.h"

static int
bq_before(const struct bq_cert *q, uint32_t a, uint32_t b)
{
	if (q[a].bc_next != q[b].bc_next)
		return q[a].bc_next < q[b].bc_next;
	return a < b;
}

static void
bq_down(const struct bq_cert *q, uint32_t *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		uint32_t t;
		if (l < n && bq_before(q, h[l], h[m]))
			m = l;
		if (r < n && bq_before(q, h[r], h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

int
bq_project(struct bq_cert *q, size_t n, const struct bq_budget *b, int64_t now,
	   int64_t horizon, struct bq_scratch *s)
{
	size_t nh = 0, head = 0, len = 0;
	if ((n > 0 && (q == NULL || s == NULL || s->bs_heap == NULL || s->bs_issued == NULL)) ||
	    b == NULL || b->bb_limit == 0 || b->bb_window <= 0 || b->bb_attempt < 0 ||
	    (b->bb_nused > 0 && b->bb_used == NULL) || n > UINT32_MAX)
		return SC_ERR_INVAL;
	if (n == 0)
		return SC_OK;
	for (size_t i = 0; i < b->bb_nused; i++)
		s->bs_issued[len++] = b->bb_used[i];
	for (size_t i = 0; i < n; i++) {
		q[i].bc_slot = 0;
		q[i].bc_refused = 0;
		q[i].bc_in_time = 0;
		if (q[i].bc_next <= 0)
			continue;
		if (q[i].bc_next < now)
			q[i].bc_next = now; /* overdue: cert-manager triggers it at once */
		s->bs_heap[nh++] = (uint32_t)i;
	}
	for (size_t i = nh / 2; i-- > 0;)
		bq_down(q, s->bs_heap, nh, i);
	while (nh > 0) {
		uint32_t c = s->bs_heap[0];
		struct bq_cert *x = &q[c];
		int64_t t = x->bc_next;
		if (t > horizon)
			break;
		/* the CA's window at t: issuances in (t - window, t] */
		while (head < len && s->bs_issued[head] <= t - b->bb_window)
			head++;
		if (len - head < b->bb_limit) {
			x->bc_slot = t;
			x->bc_in_time = x->bc_deadline <= 0 || t + b->bb_attempt <= x->bc_deadline;
			s->bs_issued[len++] = t;
			s->bs_heap[0] = s->bs_heap[--nh];
		} else {
			x->bc_refused++;
			if (x->bc_failed < INT32_MAX)
				x->bc_failed++;
			x->bc_next = t + b->bb_attempt + fc_backoff_delay(x->bc_failed);
		}
		bq_down(q, s->bs_heap, nh, 0);
	}
	return SC_OK;
}
