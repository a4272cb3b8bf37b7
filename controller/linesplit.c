/* linesplit: bounded newline splitting of a chunked byte stream. See linesplit.h. */
#include "linesplit.h"

#include "buf.h"
#include "cc_err.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct ls_splitter {
	struct buf ls_part;     /* the current line's bytes when it straddles chunks */
	size_t ls_max;          /* limit on one line, without its "\n" */
	int ls_skipping;        /* 1: the current line broke the limit, drop bytes to its "\n" */
	uint64_t ls_lineno;     /* number of the current (not yet complete) line */
	uint64_t ls_line_start; /* stream offset of the current line's first byte */
	uint64_t ls_fed;        /* bytes fed since the stream started */
	ls_fn ls_cb;            /* where lines go */
	void *ls_cb_arg;        /* for ls_cb */
};

struct ls_splitter *
ls_new(size_t max_line, ls_fn fn, void *arg)
{
	struct ls_splitter *s = xcalloc(1, sizeof *s);
	buf_init(&s->ls_part, max_line);
	s->ls_max = max_line;
	s->ls_cb = fn;
	s->ls_cb_arg = arg;
	ls_reset(s);
	return s;
}

void
ls_free(struct ls_splitter *s)
{
	if (s == NULL)
		return;
	buf_free(&s->ls_part);
	free(s);
}

void
ls_reset(struct ls_splitter *s)
{
	buf_reset(&s->ls_part);
	s->ls_skipping = 0;
	s->ls_lineno = 1;
	s->ls_line_start = 0;
	s->ls_fed = 0;
}

uint64_t
ls_lines(const struct ls_splitter *s)
{
	return s->ls_lineno - 1;
}

uint64_t
ls_bytes(const struct ls_splitter *s)
{
	return s->ls_fed;
}

size_t
ls_alloc_bytes(const struct ls_splitter *s)
{
	return s->ls_part.b_cap;
}

static int
ls_emit(struct ls_splitter *s, enum ls_kind kind, const char *data, size_t len)
{
	if (kind == LS_LINE && len > 0 && data[len - 1] == '\r')
		len--;
	struct ls_line l = {
		.ll_kind = kind,
		.ll_data = data,
		.ll_len = len,
		.ll_lineno = s->ls_lineno,
		.ll_offset = s->ls_line_start,
	};
	return s->ls_cb(s->ls_cb_arg, &l);
}

/* The current line ended at stream offset nl_off (the "\n" itself); start the next one. */
static void
ls_next_line(struct ls_splitter *s, uint64_t nl_off)
{
	buf_reset(&s->ls_part);
	s->ls_skipping = 0;
	s->ls_lineno++;
	s->ls_line_start = nl_off + 1;
}

int
ls_feed(struct ls_splitter *s, const char *data, size_t len)
{
	uint64_t base = s->ls_fed;
	size_t pos = 0;
	int rc = CC_OK;

	s->ls_fed += len;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;
		size_t seg = end - pos;
		size_t have = s->ls_part.b_len;

		if (s->ls_skipping) {
			/* Already reported; nothing of this line is kept. */
		} else if (seg > s->ls_max - have) {
			s->ls_skipping = 1;
			buf_reset(&s->ls_part);
			rc = ls_emit(s, LS_OVERSIZE, NULL, have + seg);
		} else if (nl && have == 0) {
			/* The common case: the whole line is inside this chunk, so no copy. */
			rc = ls_emit(s, LS_LINE, data + pos, seg);
		} else {
			if (buf_append(&s->ls_part, data + pos, seg) != CC_OK)
				abort(); /* cannot happen: checked against the limit above */
			if (nl)
				rc = ls_emit(s, LS_LINE, s->ls_part.b_data, s->ls_part.b_len);
		}
		if (nl)
			ls_next_line(s, base + end);
		if (rc != CC_OK)
			goto out;
		pos = nl ? end + 1 : len;
	}
out:
	return rc;
}

int
ls_finish(struct ls_splitter *s)
{
	int rc = CC_OK;
	if (!s->ls_skipping && s->ls_part.b_len > 0)
		rc = ls_emit(s, LS_TRUNCATED, s->ls_part.b_data, s->ls_part.b_len);
	ls_reset(s);
	return rc;
}
