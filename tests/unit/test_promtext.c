/* promtext: the Prometheus text format, well-formed and malformed, and mutated at random. */
#include <criterion/criterion.h>
#include "mutate.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_err.h"
#include "promtext.h"

#define FIXTURES "tests/unit/fixtures/"

static char *
load_text(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof path, FIXTURES "%s", name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s (run from the repository root)", path);
	char *text = malloc(1 << 16);
	size_t n = fread(text, 1, (1 << 16) - 1, f);
	fclose(f);
	text[n] = '\0';
	*len = n;
	return text;
}

/* What the callback saw, as one line per sample: name{k=v,...} value [ts] type. */
struct seen {
	char text[4096];
	size_t n;
};

static void
record(void *arg, const struct pt_sample *s)
{
	struct seen *w = arg;
	char one[512];
	int k = snprintf(one, sizeof one, "%s{", s->s_name);
	for (size_t i = 0; i < s->s_nlabels && k > 0 && (size_t)k < sizeof one; i++)
		k += snprintf(one + k, sizeof one - (size_t)k, "%s%s=%s", i ? "," : "",
		    s->s_labels[i].l_name, s->s_labels[i].l_value);
	if (k > 0 && (size_t)k < sizeof one)
		k += snprintf(one + k, sizeof one - (size_t)k, "} %g", s->s_value);
	if (s->s_has_ts && k > 0 && (size_t)k < sizeof one)
		k += snprintf(one + k, sizeof one - (size_t)k, " @%lld", (long long)s->s_ts_ms);
	if (k > 0 && (size_t)k < sizeof one)
		snprintf(one + k, sizeof one - (size_t)k, " %s\n", pt_type_name(s->s_type));
	size_t l = strlen(one);
	if (w->n + l < sizeof w->text) {
		memcpy(w->text + w->n, one, l + 1);
		w->n += l;
	}
}

Test(promtext, well_formed_cases)
{
	static const struct {
		const char *name, *in, *want;
	} cases[] = {
	    {"bare sample", "up 1\n", "up{} 1 untyped\n"},
	    {"no final newline", "up 1", "up{} 1 untyped\n"},
	    {"crlf", "up 1\r\nx 2\r\n", "up{} 1 untyped\nx{} 2 untyped\n"},
	    {"empty and blank lines", "\n  \n\t\nup 1\n\n", "up{} 1 untyped\n"},
	    {"comments", "# hello\n#\n#x\n# HELPER text\nup 1\n", "up{} 1 untyped\n"},
	    {"help with escapes", "# HELP up a \\\\ b \\n c\nup 1\n", "up{} 1 untyped\n"},
	    {"counter type", "# TYPE a counter\na 3\n", "a{} 3 counter\n"},
	    {"counter _total", "# TYPE a counter\na_total 3\n", "a_total{} 3 counter\n"},
	    {"summary parts", "# TYPE d summary\nd{quantile=\"0.5\"} 1\nd_sum 4\nd_count 2\n",
		"d{quantile=0.5} 1 summary\nd_sum{} 4 summary\nd_count{} 2 summary\n"},
	    {"histogram parts", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n",
		"h_bucket{le=+Inf} 2 histogram\nh_count{} 2 histogram\n"},
	    {"gauge _sum is not a part", "# TYPE g gauge\ng_sum 1\n", "g_sum{} 1 untyped\n"},
	    {"labels", "a{x=\"1\",y=\"two\"} 5\n", "a{x=1,y=two} 5 untyped\n"},
	    {"trailing comma", "a{x=\"1\",} 5\n", "a{x=1} 5 untyped\n"},
	    {"empty label set", "a{} 5\n", "a{} 5 untyped\n"},
	    {"blanks inside labels", "a { x = \"1\" , y=\"2\" } 5\n", "a{x=1,y=2} 5 untyped\n"},
	    {"no blank after brace", "a{x=\"1\"}5\n", "a{x=1} 5 untyped\n"},
	    {"escapes in value", "a{p=\"q\\\"r\\\\s\\nt\"} 1\n", "a{p=q\"r\\s\nt} 1 untyped\n"},
	    {"comma and brace in value", "a{p=\"x,}=y\"} 1\n", "a{p=x,}=y} 1 untyped\n"},
	    {"empty value", "a{p=\"\"} 1\n", "a{p=} 1 untyped\n"},
	    {"utf-8 value", "a{p=\"\xc3\xa9t\xc3\xa9\"} 1\n", "a{p=\xc3\xa9t\xc3\xa9} 1 untyped\n"},
	    {"timestamp", "a 1 1742428812000\n", "a{} 1 @1742428812000 untyped\n"},
	    {"negative timestamp", "a 1 -5\n", "a{} 1 @-5 untyped\n"},
	    {"tabs", "a\t1\t7\n", "a{} 1 @7 untyped\n"},
	    {"exponent", "a 1.5e+09\n", "a{} 1.5e+09 untyped\n"},
	    {"negative", "a -0.25\n", "a{} -0.25 untyped\n"},
	    {"nan", "a NaN\n", "a{} nan untyped\n"},
	    {"inf", "a +Inf\nb -Inf\nc Inf\n", "a{} inf untyped\nb{} -inf untyped\nc{} inf untyped\n"},
	    {"colon in name", "job:rate:5m 2\n", "job:rate:5m{} 2 untyped\n"},
	    {"leading blanks", "   a 1\n", "a{} 1 untyped\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct seen w = {{0}, 0};
		struct pt_result r;
		int rc = pt_parse(cases[i].in, strlen(cases[i].in), record, &w, &r);
		cr_expect_eq(rc, CC_OK, "%s: %s", cases[i].name, r.pr_first_error);
		cr_expect_eq(r.pr_errors, 0, "%s", cases[i].name);
		cr_expect_str_eq(w.text, cases[i].want, "%s", cases[i].name);
	}
}

Test(promtext, malformed_cases)
{
	static const struct {
		const char *name, *in, *want; /* want: the whole first error message */
	} cases[] = {
	    {"bad name start", "1a 1\n", "line 1 column 1: expected a metric name"},
	    {"dash in name", "a-b 1\n", "line 1 column 2: unexpected character in metric name"},
	    {"no value", "a\n", "line 1 column 2: missing value"},
	    {"no value after labels", "a{x=\"1\"}\n", "line 1 column 9: missing value"},
	    {"word value", "a one\n", "line 1 column 3: not a number: \"one\""},
	    {"hex value", "a 0x10\n", "line 1 column 3: not a number: \"0x10\""},
	    {"infinity spelled out", "a infinity\n", "line 1 column 3: not a number: \"infinity\""},
	    {"float timestamp", "a 1 2.5\n", "line 1 column 5: not a timestamp in milliseconds: \"2.5\""},
	    {"timestamp overflow", "a 1 99999999999999999999\n",
		"line 1 column 5: not a timestamp in milliseconds: \"99999999999999999999\""},
	    {"text after timestamp", "a 1 2 3\n", "line 1 column 7: unexpected text after the timestamp"},
	    {"unclosed labels", "a{x=\"1\" 1\n", "line 1 column 9: expected ',' or '}' after a label value"},
	    {"unclosed value", "a{x=\"1} 1\n", "line 1 column 10: label value not closed"},
	    {"unquoted value", "a{x=1} 1\n", "line 1 column 5: expected '\"' to open the label value"},
	    {"missing equals", "a{x \"1\"} 1\n", "line 1 column 5: expected '=' after label name"},
	    {"bad label name", "a{1x=\"1\"} 1\n", "line 1 column 3: expected a label name or '}'"},
	    {"colon in label name", "a{x:y=\"1\"} 1\n", "line 1 column 4: expected '=' after label name"},
	    {"duplicate label", "a{x=\"1\",x=\"2\"} 1\n", "line 1 column 9: label x given twice"},
	    {"bad escape", "a{x=\"\\t\"} 1\n", "line 1 column 6: invalid escape in label value (only \\\\, \\\" and \\n)"},
	    {"open brace only", "a{\n", "line 1 column 3: label set not closed"},
	    {"unknown type", "# TYPE a countr\n",
		"line 1 column 10: unknown metric type (counter, gauge, histogram, summary or untyped)"},
	    {"type without type", "# TYPE a\n",
		"line 1 column 9: unknown metric type (counter, gauge, histogram, summary or untyped)"},
	    {"type twice", "# TYPE a gauge\n# TYPE a counter\n", "line 2 column 8: second TYPE line for a"},
	    {"text after type", "# TYPE a gauge now\n", "line 1 column 16: unexpected text after the metric type"},
	    {"help without name", "# HELP\n", "line 1 column 7: expected a blank after HELP"},
	    {"help bad name", "# HELP 9 x\n", "line 1 column 8: expected a metric name"},
	    {"help bad escape", "# HELP a x\\y\n", "line 1 column 11: invalid escape in HELP text (only \\\\ and \\n)"},
	    {"nul byte", "a 1\0\n", "line 1 column 4: NUL byte"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pt_result r;
		size_t len = strlen(cases[i].in);
		if (strcmp(cases[i].name, "nul byte") == 0)
			len = 5;
		int rc = pt_parse(cases[i].in, len, NULL, NULL, &r);
		cr_expect_eq(rc, CC_ERR_PARSE, "%s", cases[i].name);
		cr_expect_eq(r.pr_errors, 1, "%s", cases[i].name);
		cr_expect_str_eq(r.pr_first_error, cases[i].want, "%s", cases[i].name);
	}
}

Test(promtext, too_many_labels)
{
	char line[PT_MAX_LABELS * 16 + 32];
	size_t n = 0;
	n += (size_t)snprintf(line + n, sizeof line - n, "a{");
	for (int i = 0; i <= PT_MAX_LABELS; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, "l%d=\"v\",", i);
	snprintf(line + n, sizeof line - n, "} 1\n");
	struct pt_result r;
	cr_assert_eq(pt_parse(line, strlen(line), NULL, NULL, &r), CC_ERR_PARSE);
	cr_expect(strstr(r.pr_first_error, "more than 64 labels") != NULL, "%s", r.pr_first_error);
}

/* A line past PT_LINE_MAX is refused; the next line still counts. */
Test(promtext, overlong_line)
{
	size_t n = PT_LINE_MAX + 64;
	char *text = malloc(n + 16);
	memset(text, 'a', n);
	memcpy(text + n, " 1\nb 2\n", 7);
	struct pt_result r;
	cr_assert_eq(pt_parse(text, n + 7, NULL, NULL, &r), CC_ERR_PARSE);
	cr_expect_eq(r.pr_errors, 1);
	cr_expect_eq(r.pr_samples, 1);
	cr_expect(strstr(r.pr_first_error, "line 1 column 1048577: line longer than") != NULL, "%s",
	    r.pr_first_error);
	free(text);
}

/* One bad line costs only itself: the lines after it are still read, and the error names it. */
Test(promtext, bad_line_loses_only_itself)
{
	const char *text = "# TYPE a counter\n"
			   "a{x=\"1\"} 1\n"
			   "a{x=\"2\" 2\n"
			   "a{x=\"3\"} 3\n"
			   "b oops\n"
			   "c 4\n";
	struct seen w = {{0}, 0};
	struct pt_result r;
	cr_assert_eq(pt_parse(text, strlen(text), record, &w, &r), CC_ERR_PARSE);
	cr_expect_eq(r.pr_errors, 2);
	cr_expect_eq(r.pr_samples, 3);
	cr_expect_eq(r.pr_lines, 6);
	cr_expect_str_eq(r.pr_first_error, "line 3 column 9: expected ',' or '}' after a label value");
	cr_expect_str_eq(w.text, "a{x=1} 1 counter\na{x=3} 3 counter\nc{} 4 untyped\n");
}

struct acme_sum {
	double requests, dur_sum, dur_count;
	size_t samples;
};

static void
sum_acme(void *arg, const struct pt_sample *s)
{
	struct acme_sum *a = arg;
	a->samples++;
	const char *host = pt_label(s, "host");
	if (host == NULL || strcmp(host, "acme-v02.api.letsencrypt.org") != 0)
		return;
	if (strcmp(s->s_name, "certmanager_http_acme_client_request_count") == 0) {
		cr_expect_eq(s->s_type, PT_COUNTER);
		a->requests += s->s_value;
	} else if (strcmp(s->s_name, "certmanager_http_acme_client_request_duration_seconds_sum") == 0) {
		cr_expect_eq(s->s_type, PT_SUMMARY);
		a->dur_sum += s->s_value;
	} else if (strcmp(s->s_name, "certmanager_http_acme_client_request_duration_seconds_count") == 0) {
		a->dur_count += s->s_value;
	}
}

/* A cert-manager controller's exposition, as served, parses whole. */
Test(promtext, cert_manager_exposition)
{
	size_t len;
	char *text = load_text("cm-metrics.txt", &len);
	struct acme_sum a = {0};
	struct pt_result r;
	cr_assert_eq(pt_parse(text, len, sum_acme, &a, &r), CC_OK, "%s", r.pr_first_error);
	cr_expect_eq(a.samples, 24);
	cr_expect_eq(r.pr_samples, 24);
	cr_expect(fabs(a.requests - 20.0) < 1e-9);
	cr_expect(fabs(a.dur_sum - 6.0) < 1e-9);
	cr_expect(fabs(a.dur_count - 17.0) < 1e-9);
	free(text);
}

struct fz_check {
	size_t samples;
	size_t bad; /* samples that broke an invariant */
};

static void
fz_sample(void *arg, const struct pt_sample *s)
{
	struct fz_check *c = arg;
	c->samples++;
	if (s->s_name == NULL || s->s_name[0] == '\0' || s->s_line == 0 ||
	    s->s_nlabels > PT_MAX_LABELS)
		c->bad++;
	for (size_t i = 0; i < s->s_nlabels; i++)
		if (s->s_labels[i].l_name == NULL || s->s_labels[i].l_name[0] == '\0' ||
		    s->s_labels[i].l_value == NULL)
			c->bad++;
}

/*
 * Bad input never crashes, leaks or loses the count: 4000 seeded mutations of a real-looking
 * exposition (bytes changed to characters the grammar cares about, runs removed or
 * duplicated, the text cut short). Every line is either a sample, a comment or one counted
 * error whose message names its line; samples never outnumber lines. Run it under
 * `make test-san` for AddressSanitizer and UBSan.
 */
Test(promtext, mutations)
{
	const struct mut_opts mo = {"{}\"=,\\ \t\n#0123456789.eE+-NaInfx_:\r", 6, 2, 1, 24, 80};
	size_t base;
	char *orig = load_text("cm-metrics.txt", &base);
	char *buf = malloc(2 * base + 1);
	uint64_t seed = 0x9402feedbeefULL;
	size_t clean = 0, dirty = 0;
	for (int round = 0; round < 4000; round++) {
		size_t n = base;
		memcpy(buf, orig, base);
		n = mut_apply(buf, n, 2 * base, &mo, &seed);
		/* exactly n bytes: the parser must not read past them (ASan sees the heap end) */
		char *exact = malloc(n ? n : 1);
		memcpy(exact, buf, n);
		struct fz_check c = {0, 0};
		struct pt_result r;
		int rc = pt_parse(exact, n, fz_sample, &c, &r);
		free(exact);
		cr_assert_eq(c.bad, 0, "round %d: a sample broke an invariant", round);
		cr_assert_eq(c.samples, r.pr_samples, "round %d", round);
		cr_assert_leq(r.pr_samples + r.pr_errors, r.pr_lines, "round %d", round);
		if (rc == CC_OK) {
			cr_assert_eq(r.pr_errors, 0);
			clean++;
		} else {
			cr_assert_eq(rc, CC_ERR_PARSE, "round %d: rc %d", round, rc);
			cr_assert_gt(r.pr_errors, 0);
			cr_assert(strncmp(r.pr_first_error, "line ", 5) == 0, "round %d: %s", round,
			    r.pr_first_error);
			cr_assert(strstr(r.pr_first_error, " column ") != NULL, "round %d", round);
			dirty++;
		}
	}
	/* the mutations must exercise both outcomes, or the test proves little */
	cr_expect_gt(clean, 100);
	cr_expect_gt(dirty, 1000);
	free(buf);
	free(orig);
}

struct type_count {
	size_t counters, summaries, untyped;
};

static void
count_types(void *arg, const struct pt_sample *s)
{
	struct type_count *t = arg;
	if (s->s_type == PT_COUNTER)
		t->counters++;
	else if (s->s_type == PT_SUMMARY)
		t->summaries++;
	else if (s->s_type == PT_UNTYPED)
		t->untyped++;
}

/*
 * Found while fuzzing: every TYPE line and every sample scanned all the declarations before it,
 * so 200,000 families (4.5 MiB, well under the scraper's 16 MiB) took two minutes of CPU, and
 * the 16 MiB limit about half an hour, with the scraper thread stuck in it. Now a hash: the
 * whole parse takes a fraction of a second, and the types still come out right.
 */
Test(promtext, many_families_parse_in_linear_time, .timeout = 30)
{
	const size_t n = 200000;
	size_t cap = n * 64, len = 0;
	char *text = malloc(cap);
	cr_assert_not_null(text);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "# TYPE m%zu %s\n", i,
		    i % 2 ? "counter" : "summary");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "m%zu%s 1\n", i,
		    i % 2 ? "_total" : "_sum");
	len += (size_t)snprintf(text + len, cap - len, "# TYPE m7 gauge\nm7_count 1\nz_sum 1\n");
	struct type_count t = {0, 0, 0};
	struct pt_result r;
	cr_assert_eq(pt_parse(text, len, count_types, &t, &r), CC_ERR_PARSE);
	cr_expect_eq(r.pr_errors, 1, "the second TYPE line of m7");
	cr_expect_str_eq(r.pr_first_error, "line 400001 column 8: second TYPE line for m7");
	cr_expect_eq(t.counters, n / 2);
	cr_expect_eq(t.summaries, n / 2);
	cr_expect_eq(t.untyped, 2, "m7_count (m7 is a counter) and z_sum (no family): %zu",
	    t.untyped);
	free(text);
}
