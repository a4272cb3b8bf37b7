/*
 * linesplit: every case is run with the stream cut at every possible place (one cut, two cuts,
 * byte by byte), and must give the same reports each time.
 */
#include "buf.h"
#include "cc_err.h"
#include "linesplit.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* Reports rendered as text: "L<n>@<off>:<data>" for lines, "O<n>@<off>" for oversize lines and
 * "T<n>@<off>:<data>" for a truncated tail, separated by "|". */
struct rec {
	struct buf r_out;    /* rendered reports */
	size_t r_max;        /* the splitter's limit, to check oversize lengths against */
	int r_bad_len;       /* an oversize report claimed a length within the limit */
	int r_stop_at;       /* stop after this many reports (0: never) */
	int r_count;         /* reports so far */
};

static int
rec_cb(void *arg, const struct ls_line *l)
{
	struct rec *r = arg;
	static const char kinds[] = {'L', 'O', 'T'};
	if (r->r_out.b_len)
		buf_append_str(&r->r_out, "|");
	buf_printf(&r->r_out, "%c%llu@%llu", kinds[l->ll_kind], (unsigned long long)l->ll_lineno,
	    (unsigned long long)l->ll_offset);
	if (l->ll_kind == LS_OVERSIZE) {
		if (l->ll_len <= r->r_max || l->ll_data != NULL)
			r->r_bad_len = 1;
	} else {
		buf_append_str(&r->r_out, ":");
		buf_append(&r->r_out, l->ll_data, l->ll_len);
	}
	r->r_count++;
	if (r->r_stop_at && r->r_count >= r->r_stop_at)
		return CC_ERR_CANCELED;
	return CC_OK;
}

struct ls_case {
	const char *name;
	size_t max;
	const char *in;
	const char *want;
};

static const struct ls_case ls_cases[] = {
	{"empty stream", 8, "", ""},
	{"one line", 8, "abc\n", "L1@0:abc"},
	{"two lines", 8, "abc\nde\n", "L1@0:abc|L2@4:de"},
	{"empty lines kept", 8, "\n\na\n", "L1@0:|L2@1:|L3@2:a"},
	{"crlf stripped", 8, "ab\r\ncd\r\n", "L1@0:ab|L2@4:cd"},
	{"lone cr in the middle stays", 8, "a\rb\n", "L1@0:a\rb"},
	{"line exactly at the limit", 4, "abcd\nx\n", "L1@0:abcd|L2@5:x"},
	{"cr counts toward the limit", 4, "abcd\r\nx\n", "O1@0|L2@6:x"},
	{"oversize at start", 4, "abcdefgh\nok\n", "O1@0|L2@9:ok"},
	{"oversize in the middle", 4, "a\nabcdefghij\nb\n", "L1@0:a|O2@2|L3@13:b"},
	{"oversize at the end, terminated", 4, "a\nabcdefgh\n", "L1@0:a|O2@2"},
	{"oversize at the end, unterminated", 4, "a\nabcdefgh", "L1@0:a|O2@2"},
	{"two oversize lines in a row", 3, "abcd\nefgh\nij\n", "O1@0|O2@5|L3@10:ij"},
	{"truncated final line", 8, "abc\nde", "L1@0:abc|T2@4:de"},
	{"truncated keeps a cr", 8, "abc\nde\r", "L1@0:abc|T2@4:de\r"},
	{"only a truncated line", 8, "xyz", "T1@0:xyz"},
	{"zero limit passes empty lines only", 0, "\na\n\n", "L1@0:|O2@1|L3@3:"},
};

/* Feed in at the given cut points (sorted, each within the input) and finish. */
static void
run_cuts(const struct ls_case *tc, const size_t *cuts, size_t ncuts, const char *how)
{
	struct rec r = {.r_max = tc->max};
	buf_init(&r.r_out, 1 << 16);
	struct ls_splitter *s = ls_new(tc->max, rec_cb, &r);
	size_t len = strlen(tc->in), prev = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t at = i < ncuts ? cuts[i] : len;
		cr_assert(ls_feed(s, tc->in + prev, at - prev) == CC_OK);
		cr_assert(ls_alloc_bytes(s) <= tc->max + 1, "%s: allocated %zu over the limit %zu",
		    tc->name, ls_alloc_bytes(s), tc->max);
		prev = at;
	}
	cr_assert(ls_bytes(s) == len);
	cr_assert(ls_finish(s) == CC_OK);
	const char *got = r.r_out.b_data ? r.r_out.b_data : "";
	cr_expect(strcmp(got, tc->want) == 0, "%s (%s): got \"%s\", want \"%s\"", tc->name, how,
	    got, tc->want);
	cr_expect(!r.r_bad_len, "%s (%s): oversize report with a length within the limit",
	    tc->name, how);
	ls_free(s);
	buf_free(&r.r_out);
}

Test(linesplit, table_every_cut)
{
	for (size_t c = 0; c < sizeof ls_cases / sizeof ls_cases[0]; c++) {
		const struct ls_case *tc = &ls_cases[c];
		size_t len = strlen(tc->in);
		run_cuts(tc, NULL, 0, "whole");
		for (size_t a = 0; a <= len; a++) {
			size_t one[1] = {a};
			run_cuts(tc, one, 1, "one cut");
			for (size_t b = a; b <= len; b++) {
				size_t two[2] = {a, b};
				run_cuts(tc, two, 2, "two cuts");
			}
		}
		size_t bytes[64];
		cr_assert(len <= 64);
		for (size_t i = 0; i < len; i++)
			bytes[i] = i;
		run_cuts(tc, bytes, len, "byte by byte");
	}
}

Test(linesplit, callback_stop_is_returned)
{
	struct rec r = {.r_max = 16, .r_stop_at = 2};
	buf_init(&r.r_out, 4096);
	struct ls_splitter *s = ls_new(16, rec_cb, &r);
	cr_expect(ls_feed(s, "a\nb\nc\n", 6) == CC_ERR_CANCELED);
	cr_expect_str_eq(r.r_out.b_data, "L1@0:a|L2@2:b");
	cr_expect(r.r_count == 2, "callback ran %d times after asking to stop", r.r_count);
	ls_free(s);
	buf_free(&r.r_out);
}

Test(linesplit, finish_resets_for_a_new_stream)
{
	struct rec r = {.r_max = 16};
	buf_init(&r.r_out, 4096);
	struct ls_splitter *s = ls_new(16, rec_cb, &r);
	cr_assert(ls_feed(s, "one\ntw", 6) == CC_OK);
	cr_expect(ls_lines(s) == 1);
	cr_assert(ls_finish(s) == CC_OK);
	cr_expect(ls_lines(s) == 0 && ls_bytes(s) == 0);
	cr_assert(ls_feed(s, "new\n", 4) == CC_OK);
	cr_expect_str_eq(r.r_out.b_data, "L1@0:one|T2@4:tw|L1@0:new");
	ls_free(s);
	buf_free(&r.r_out);
}

Test(linesplit, reset_drops_partial_and_skip_state)
{
	struct rec r = {.r_max = 4};
	buf_init(&r.r_out, 4096);
	struct ls_splitter *s = ls_new(4, rec_cb, &r);
	cr_assert(ls_feed(s, "abcdefg", 7) == CC_OK); /* oversize, now skipping */
	ls_reset(s);
	cr_assert(ls_feed(s, "ok\n", 3) == CC_OK);
	cr_assert(ls_finish(s) == CC_OK);
	cr_expect_str_eq(r.r_out.b_data, "O1@0|L1@0:ok");
	ls_free(s);
	buf_free(&r.r_out);
}

/* A long oversize line fed in many chunks is reported once and never stored. */
Test(linesplit, huge_line_is_not_buffered)
{
	struct rec r = {.r_max = 1024};
	buf_init(&r.r_out, 4096);
	struct ls_splitter *s = ls_new(1024, rec_cb, &r);
	char chunk[4096];
	memset(chunk, 'x', sizeof chunk);
	for (int i = 0; i < 256; i++) {
		cr_assert(ls_feed(s, chunk, sizeof chunk) == CC_OK);
		cr_assert(ls_alloc_bytes(s) <= 1025);
	}
	cr_assert(ls_feed(s, "\nfine\n", 6) == CC_OK);
	cr_assert(ls_finish(s) == CC_OK);
	char want[64];
	snprintf(want, sizeof want, "O1@0|L2@%d:fine", 256 * 4096 + 1);
	cr_expect_str_eq(r.r_out.b_data, want);
	ls_free(s);
	buf_free(&r.r_out);
}

Test(linesplit, free_accepts_null)
{
	ls_free(NULL);
}
