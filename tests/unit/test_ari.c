/*
 * Tests of controller/ari (renewalInfo answers, directories, Retry-After, error waits) and
 * controller/aricache (windows by identifier and request, bounds, change detection).
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ari.h"
#include "aricache.h"
#include "cc_err.h"
#include "mutate.h"
#include "timefmt.h"

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

static int64_t
t(const char *s)
{
	int64_t v;
	cr_assert_eq(tf_parse_time(s, &v), CC_OK, "bad test time %s", s);
	return v;
}

static int
parse(const char *body, struct ari_window *w, char *err, size_t errlen)
{
	return ari_parse(body, strlen(body), w, err, errlen);
}

Test(ari, parses_a_valid_answer)
{
	struct ari_window w;
	char err[160];
	cr_assert_eq(parse("{\"suggestedWindow\":{\"start\":\"2026-02-01T00:00:00Z\","
			   "\"end\":\"2026-02-03T12:00:00+02:00\"},"
			   "\"explanationURL\":\"https://ca.example/why\",\"extra\":[1,2]}",
			 &w, err, sizeof err),
	    CC_OK, "%s", err);
	cr_expect_eq(w.aw_start, t("2026-02-01T00:00:00Z"));
	cr_expect_eq(w.aw_end, t("2026-02-03T10:00:00Z"));
	cr_expect_str_eq(w.aw_url, "https://ca.example/why");

	/* no explanationURL, fractions, trailing white space */
	cr_assert_eq(parse("{\"suggestedWindow\":{\"end\":\"2026-02-02T00:00:00.5Z\","
			   "\"start\":\"2026-02-01T00:00:00.123Z\"}}\n ",
			 &w, err, sizeof err),
	    CC_OK, "%s", err);
	cr_expect_eq(w.aw_start, t("2026-02-01T00:00:00Z"));
	cr_expect_str_eq(w.aw_url, "");
}

Test(ari, refuses_malformed_answers_naming_the_field)
{
	static const struct {
		const char *name, *body, *want;
	} cases[] = {
	    {"empty", "", "empty body"},
	    {"not json", "suggestedWindow", "not JSON"},
	    {"array", "[]", "not a JSON object"},
	    {"two documents", "{} {}", "data after the JSON value"},
	    {"no window", "{\"explanationURL\":\"https://x\"}", "suggestedWindow: missing"},
	    {"window string", "{\"suggestedWindow\":\"soon\"}", "suggestedWindow: not an object"},
	    {"no start", "{\"suggestedWindow\":{\"end\":\"2026-02-01T00:00:00Z\"}}",
		"suggestedWindow.start: missing"},
	    {"start number",
		"{\"suggestedWindow\":{\"start\":1767225600,\"end\":\"2026-02-01T00:00:00Z\"}}",
		"suggestedWindow.start: not a string"},
	    {"end without zone",
		"{\"suggestedWindow\":{\"start\":\"2026-02-01T00:00:00Z\",\"end\":\"2026-02-02T00:00:00\"}}",
		"suggestedWindow.end: not an RFC 3339 time"},
	    {"end a date",
		"{\"suggestedWindow\":{\"start\":\"2026-02-01T00:00:00Z\",\"end\":\"2026-02-02\"}}",
		"suggestedWindow.end: not an RFC 3339 time"},
	    {"end before start",
		"{\"suggestedWindow\":{\"start\":\"2026-02-02T00:00:00Z\",\"end\":\"2026-02-01T00:00:00Z\"}}",
		"start is not before end"},
	    {"empty window",
		"{\"suggestedWindow\":{\"start\":\"2026-02-02T00:00:00Z\",\"end\":\"2026-02-02T00:00:00Z\"}}",
		"start is not before end"},
	    {"url number",
		"{\"suggestedWindow\":{\"start\":\"2026-02-01T00:00:00Z\",\"end\":\"2026-02-02T00:00:00Z\"},"
		"\"explanationURL\":7}",
		"explanationURL: not a string"},
	    {"url javascript",
		"{\"suggestedWindow\":{\"start\":\"2026-02-01T00:00:00Z\",\"end\":\"2026-02-02T00:00:00Z\"},"
		"\"explanationURL\":\"javascript:alert(1)\"}",
		"explanationURL: not an http(s) URL"},
	    {"url with newline",
		"{\"suggestedWindow\":{\"start\":\"2026-02-01T00:00:00Z\",\"end\":\"2026-02-02T00:00:00Z\"},"
		"\"explanationURL\":\"https://x/\\nlog-injection\"}",
		"explanationURL: not an http(s) URL"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ari_window w;
		char err[160] = "";
		memset(&w, 0x5a, sizeof w);
		cr_expect_eq(parse(cases[i].body, &w, err, sizeof err), CC_ERR_PARSE, "%s",
		    cases[i].name);
		cr_expect_not_null(strstr(err, cases[i].want), "%s: got \"%s\"", cases[i].name, err);
		cr_expect_eq(w.aw_start, 0, "%s: out not zeroed", cases[i].name);
		cr_expect_eq(w.aw_url[0], '\0', "%s", cases[i].name);
	}
	/* a body over the limit is refused before parsing */
	struct ari_window w;
	char err[160];
	cr_expect_eq(ari_parse("{}", ARI_BODY_MAX + 1, &w, err, sizeof err), CC_ERR_PARSE);
	cr_expect_not_null(strstr(err, "over"));
	/* not NUL-terminated: only len bytes are read */
	const char *body = "{\"suggestedWindow\":{\"start\":\"2026-02-01T00:00:00Z\","
			   "\"end\":\"2026-02-02T00:00:00Z\"}}GARBAGE";
	cr_expect_eq(ari_parse(body, strlen(body) - 7, &w, err, sizeof err), CC_OK, "%s", err);
}

/*
 * Random damage to a valid answer (tests/support/mutate: bytes changed to JSON and time
 * characters, runs cut or duplicated): the parser returns OK or PARSE with a message, and an
 * OK answer always has start < end. Meant to run under ASan and UBSan too.
 */
Test(ari, random_mutations_never_crash)
{
	const char *base = "{\"suggestedWindow\":{\"start\":\"2026-02-01T00:00:00Z\","
			   "\"end\":\"2026-02-03T00:00:00Z\"},\"explanationURL\":\"https://ca.example/x\"}";
	const struct mut_opts mo = {.mo_alphabet = "{}[]\",:0123456789-TZ.+ \\tnufl",
	    .mo_max_edits = 4, .mo_change_weight = 2, .mo_odd_bytes = 1, .mo_max_remove = 12,
	    .mo_max_dup = 12};
	size_t n = strlen(base), cap = 2 * n;
	uint64_t seed = 0x9773;
	char *buf = malloc(cap);
	size_t ok = 0;
	for (int round = 0; round < 20000; round++) {
		memcpy(buf, base, n);
		size_t len = mut_apply(buf, n, cap, &mo, &seed);
		struct ari_window w;
		char err[160] = "";
		int rc = ari_parse(buf, len, &w, err, sizeof err);
		cr_assert(rc == CC_OK || rc == CC_ERR_PARSE, "round %d: rc %d", round, rc);
		if (rc == CC_OK) {
			ok++;
			cr_assert_lt(w.aw_start, w.aw_end, "round %d", round);
		} else {
			cr_assert_neq(err[0], '\0', "round %d: no message", round);
		}
	}
	/* the damage is neither always fatal nor always harmless */
	cr_expect(ok > 0 && ok < 20000, "%zu of 20000 rounds parsed", ok);
	free(buf);
}

Test(ari, directory_renewal_info)
{
	char url[ARI_URL_MAX], err[160];
	const char *d = "{\"newNonce\":\"https://ca/nonce\",\"renewalInfo\":\"https://ca/ari\"}";
	cr_assert_eq(ari_directory_parse(d, strlen(d), url, sizeof url, err, sizeof err), CC_OK);
	cr_expect_str_eq(url, "https://ca/ari");
	d = "{\"newNonce\":\"https://ca/nonce\"}";
	cr_expect_eq(ari_directory_parse(d, strlen(d), url, sizeof url, err, sizeof err),
	    CC_ERR_NOTFOUND);
	d = "{\"renewalInfo\":\"http://ca/ari\"}";
	cr_expect_eq(ari_directory_parse(d, strlen(d), url, sizeof url, err, sizeof err),
	    CC_ERR_PARSE);
	cr_expect_not_null(strstr(err, "renewalInfo: not an https URL"));
	d = "<html>";
	cr_expect_eq(ari_directory_parse(d, strlen(d), url, sizeof url, err, sizeof err),
	    CC_ERR_PARSE);
	char small[8];
	d = "{\"renewalInfo\":\"https://ca.example/ari\"}";
	cr_expect_eq(ari_directory_parse(d, strlen(d), small, sizeof small, err, sizeof err),
	    CC_ERR_PARSE);
	cr_expect_str_eq(small, "");
}

Test(ari, retry_after)
{
	cr_expect_eq(ari_retry_after(NULL, NOW), ARI_RETRY_DEFAULT);
	cr_expect_eq(ari_retry_after("", NOW), ARI_RETRY_DEFAULT);
	cr_expect_eq(ari_retry_after("7200", NOW), 7200);
	cr_expect_eq(ari_retry_after(" 7200 \r", NOW), 7200);
	cr_expect_eq(ari_retry_after("1", NOW), ARI_RETRY_MIN);
	cr_expect_eq(ari_retry_after("0", NOW), ARI_RETRY_MIN);
	cr_expect_eq(ari_retry_after("31536000", NOW), ARI_RETRY_MAX);
	cr_expect_eq(ari_retry_after("99999999999999999999999999", NOW), ARI_RETRY_MAX);
	cr_expect_eq(ari_retry_after("-5", NOW), ARI_RETRY_DEFAULT);
	cr_expect_eq(ari_retry_after("12abc", NOW), ARI_RETRY_DEFAULT);
	cr_expect_eq(ari_retry_after("soon", NOW), ARI_RETRY_DEFAULT);
	/* HTTP-date: 2026-01-01T03:00:00Z is 3 h after NOW */
	cr_expect_eq(ari_retry_after("Thu, 01 Jan 2026 03:00:00 GMT", NOW), 3 * 3600);
	cr_expect_eq(ari_retry_after("Wed, 31 Dec 2025 03:00:00 GMT", NOW), ARI_RETRY_MIN);
	cr_expect_eq(ari_retry_after("Sat, 10 Jan 2026 00:00:00 GMT", NOW), ARI_RETRY_MAX);
	cr_expect_eq(ari_retry_after("Thu, 01 Foo 2026 03:00:00 GMT", NOW), ARI_RETRY_DEFAULT);
	cr_expect_eq(ari_retry_after("Thu, 01 Jan 2026 03:00:00 UTC", NOW), ARI_RETRY_DEFAULT);
}

Test(ari, error_delay_doubles_to_a_cap)
{
	cr_expect_eq(ari_error_delay(1), 300);
	cr_expect_eq(ari_error_delay(2), 600);
	cr_expect_eq(ari_error_delay(3), 1200);
	cr_expect_eq(ari_error_delay(8), ARI_ERROR_MAX);
	cr_expect_eq(ari_error_delay(4000000000u), ARI_ERROR_MAX);
}

static struct ari_window
win(int64_t s, int64_t e, const char *url)
{
	struct ari_window w;
	memset(&w, 0, sizeof w);
	w.aw_start = s;
	w.aw_end = e;
	snprintf(w.aw_url, sizeof w.aw_url, "%s", url);
	return w;
}

Test(aricache, windows_by_request_and_change)
{
	struct arc *c = arc_new(0);
	struct ari_window w = win(NOW + 100, NOW + 200, ""), got;
	char id[ARC_ID_MAX];
	cr_expect_eq(arc_id_of(c, "uid-1", id, sizeof id), 0);
	cr_expect_eq(arc_track(c, "uid-1", "AAAA.AQ", NOW), 1);
	cr_expect_eq(arc_track(c, "uid-1", "AAAA.AQ", NOW + 5), 0);
	cr_expect_eq(arc_id_of(c, "uid-1", id, sizeof id), 1);
	cr_expect_str_eq(id, "AAAA.AQ");
	cr_expect_eq(arc_due(c, "AAAA.AQ", NOW), 1, "a new entry is due at once");
	cr_expect_eq(arc_window_of(c, "uid-1", &got), 0);
	cr_expect_eq(arc_answer(c, "AAAA.AQ", &w, 3600, NOW), 1, "first answer is a change");
	cr_expect_eq(arc_due(c, "AAAA.AQ", NOW + 3599), 0);
	cr_expect_eq(arc_due(c, "AAAA.AQ", NOW + 3600), 1);
	cr_expect_eq(arc_window_of(c, "uid-1", &got), 1);
	cr_expect_eq(got.aw_start, NOW + 100);
	cr_expect_eq(arc_answer(c, "AAAA.AQ", &w, 3600, NOW + 3600), 0, "same answer");
	w.aw_end = NOW + 300;
	cr_expect_eq(arc_answer(c, "AAAA.AQ", &w, 3600, NOW + 7200), 1, "moved end");
	w = win(NOW + 100, NOW + 300, "https://ca/why");
	cr_expect_eq(arc_answer(c, "AAAA.AQ", &w, 3600, NOW + 7200), 1, "new URL");

	/* a renewal: a new request with a new serial does not see the old window */
	cr_expect_eq(arc_track(c, "uid-2", "AAAA.Ag", NOW), 1);
	cr_expect_eq(arc_window_of(c, "uid-2", &got), 0);
	/* an answer for an unknown identifier changes nothing */
	cr_expect_eq(arc_answer(c, "BBBB.AQ", &w, 3600, NOW), 0);

	/* a certificate without an identifier is remembered as such, never due */
	cr_expect_eq(arc_track(c, "uid-3", "", NOW), 1);
	cr_expect_eq(arc_id_of(c, "uid-3", id, sizeof id), 1);
	cr_expect_str_eq(id, "");
	cr_expect_eq(arc_due(c, "", NOW + 99999), 0);
	arc_free(c);
}

Test(aricache, failures_back_off_and_keep_the_window)
{
	struct arc *c = arc_new(0);
	struct ari_window w = win(NOW + 100, NOW + 200, ""), got;
	arc_track(c, "uid-1", "AAAA.AQ", NOW);
	arc_answer(c, "AAAA.AQ", &w, 3600, NOW);
	cr_expect_eq(arc_failed(c, "AAAA.AQ", 0, NOW + 3600), 1);
	cr_expect_eq(arc_due(c, "AAAA.AQ", NOW + 3600 + 299), 0);
	cr_expect_eq(arc_due(c, "AAAA.AQ", NOW + 3600 + 300), 1);
	cr_expect_eq(arc_failed(c, "AAAA.AQ", 0, NOW + 3900), 2);
	cr_expect_eq(arc_due(c, "AAAA.AQ", NOW + 3900 + 599), 0);
	cr_expect_eq(arc_window_of(c, "uid-1", &got), 1, "a failure keeps the known window");
	/* a server's Retry-After on an error wins over the doubling */
	cr_expect_eq(arc_failed(c, "AAAA.AQ", 7200, NOW + 4500), 3);
	cr_expect_eq(arc_due(c, "AAAA.AQ", NOW + 4500 + 7199), 0);
	/* a success resets the count */
	arc_answer(c, "AAAA.AQ", &w, 3600, NOW + 20000);
	cr_expect_eq(arc_failed(c, "AAAA.AQ", 0, NOW + 30000), 1);
	arc_free(c);
}

Test(aricache, bounded_and_pruned)
{
	struct arc *c = arc_new(3);
	arc_track(c, "a", "A.AQ", NOW + 1);
	arc_track(c, "b", "B.AQ", NOW + 2);
	arc_track(c, "c", "C.AQ", NOW + 3);
	arc_track(c, "a", "A.AQ", NOW + 4); /* a seen again: b is now the oldest */
	cr_expect_eq(arc_track(c, "d", "D.AQ", NOW + 5), 1);
	cr_expect_eq(arc_size(c), 3);
	char id[ARC_ID_MAX];
	cr_expect_eq(arc_id_of(c, "b", id, sizeof id), 0, "the oldest went");
	cr_expect_eq(arc_id_of(c, "a", id, sizeof id), 1);
	cr_expect_eq(arc_prune(c, NOW + 5), 2);
	cr_expect_eq(arc_size(c), 1);
	cr_expect_eq(arc_id_of(c, "d", id, sizeof id), 1);
	/* over-long names are refused, not cut */
	char big[300];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	cr_expect_eq(arc_track(c, big, "A.AQ", NOW), 0);
	cr_expect_eq(arc_track(c, "e", big, NOW), 0);
	cr_expect_eq(arc_size(c), 1);
	arc_free(c);
}
