/*
 * linesplit: cut a byte stream that arrives in arbitrary chunks into newline-terminated lines.
 *
 * A watch stream is one JSON document per line, but the network delivers it in pieces that split
 * lines anywhere. The splitter keeps at most one partial line, bounded by a limit fixed at
 * creation, so a broken or hostile server cannot make it buffer without end: a line longer than
 * the limit is reported once and then skipped up to its newline without being stored. Line
 * numbers start at 1 and offsets count bytes from the start of the stream, so every complaint
 * can say where it happened.
 *
 * A splitter is used by one thread at a time; it has no lock.
 */
#ifndef LINESPLIT_H
#define LINESPLIT_H

#include <stddef.h>
#include <stdint.h>

enum ls_kind {
	LS_LINE = 0,   /* a complete line, without its "\n" (and without a "\r" before it) */
	LS_OVERSIZE,   /* a line over the limit; ll_data is NULL, ll_len the bytes seen so far */
	LS_TRUNCATED,  /* the stream ended inside a line; ll_data holds what arrived */
};

/* One report. ll_data is borrowed: valid only during the callback, and not NUL-terminated. */
struct ls_line {
	enum ls_kind ll_kind;  /* what happened */
	const char *ll_data;   /* the line's bytes, or NULL for LS_OVERSIZE */
	size_t ll_len;         /* bytes in ll_data (LS_OVERSIZE: bytes seen when the limit broke) */
	uint64_t ll_lineno;    /* 1-based line number in the stream */
	uint64_t ll_offset;    /* stream offset of the line's first byte */
};

/*
 * Called for each line and each problem, in stream order. Return CC_OK to go on; any other value
 * stops ls_feed/ls_finish, which return it. The splitter may be fed again afterwards: the bytes
 * after the stopping line are dropped, so callers normally reset or free it.
 */
typedef int (*ls_fn)(void *arg, const struct ls_line *line);

struct ls_splitter;

/*
 * A splitter whose lines may hold up to max_line bytes (not counting the "\n"; a "\r" before it
 * counts). It never allocates more than max_line + 1 bytes for a partial line, and allocates
 * nothing until a line straddles two chunks. fn is called with arg. Free with ls_free.
 */
struct ls_splitter *ls_new(size_t max_line, ls_fn fn, void *arg);
/* Free the splitter and its partial line. Accepts NULL. */
void ls_free(struct ls_splitter *s);

/*
 * Feed the next len bytes of the stream. Complete lines are reported before it returns; an
 * incomplete tail is kept for the next call. Returns CC_OK or the callback's stopping value.
 */
int ls_feed(struct ls_splitter *s, const char *data, size_t len);

/*
 * The stream has ended: a partial line left over is reported as LS_TRUNCATED (a line already
 * reported as oversize is not reported again). The splitter is then reset for a new stream.
 * Returns CC_OK or the callback's stopping value.
 */
int ls_finish(struct ls_splitter *s);

/* Forget any partial line and start counting lines and bytes from zero, for a new stream. */
void ls_reset(struct ls_splitter *s);

/* Lines completed so far in this stream (good or oversize), and bytes fed. */
uint64_t ls_lines(const struct ls_splitter *s);
uint64_t ls_bytes(const struct ls_splitter *s);
/* Bytes allocated for the partial line now; never above max_line + 1. For tests. */
size_t ls_alloc_bytes(const struct ls_splitter *s);

#endif
