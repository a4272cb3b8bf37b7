/* sim_heap: array-backed binary min-heap of simulator events. */
#include "sim_heap.h"

#include "log.h"
#include "xalloc.h"

#include <stdlib.h>

static int
sh_less(const struct sh_event *a, const struct sh_event *b)
{
	if (a->ev_time != b->ev_time)
		return a->ev_time < b->ev_time;
	return a->ev_seq < b->ev_seq;
}

void
sh_init(struct sh_heap *h)
{
	h->h_ev = NULL;
	h->h_len = 0;
	h->h_cap = 0;
	h->h_seq = 0;
}

void
sh_push(struct sh_heap *h, int64_t t, uint32_t kind, uint32_t cert, uint32_t gen)
{
	if (h->h_len == h->h_cap) {
		h->h_cap = h->h_cap ? h->h_cap * 2 : 1024;
		h->h_ev = xrealloc(h->h_ev, h->h_cap * sizeof(*h->h_ev));
	}
	struct sh_event ev = {.ev_time = t, .ev_seq = h->h_seq++, .ev_cert = cert, .ev_gen = gen,
	    .ev_kind = kind};
	size_t i = h->h_len++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!sh_less(&ev, &h->h_ev[parent]))
			break;
		h->h_ev[i] = h->h_ev[parent];
		i = parent;
	}
	h->h_ev[i] = ev;
}

size_t
sh_len(const struct sh_heap *h)
{
	return h->h_len;
}

const struct sh_event *
sh_peek(const struct sh_heap *h)
{
	return h->h_len ? &h->h_ev[0] : NULL;
}

void
sh_pop(struct sh_heap *h, struct sh_event *out)
{
	if (h->h_len == 0)
		fatalx("pop from an empty event heap");
	*out = h->h_ev[0];
	struct sh_event last = h->h_ev[--h->h_len];
	size_t n = h->h_len, i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct sh_event *best = &last;
		if (l < n && sh_less(&h->h_ev[l], best)) {
			m = l;
			best = &h->h_ev[l];
		}
		if (r < n && sh_less(&h->h_ev[r], best))
			m = r;
		if (m == i)
			break;
		h->h_ev[i] = h->h_ev[m];
		i = m;
	}
	if (n)
		h->h_ev[i] = last;
}

void
sh_free(struct sh_heap *h)
{
	if (h == NULL)
		return;
	free(h->h_ev);
	h->h_ev = NULL;
	h->h_len = h->h_cap = 0;
}
