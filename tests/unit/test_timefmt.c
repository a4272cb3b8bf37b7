/* Tests for timefmt: RFC 3339 and Go duration parsing and printing, as tables of named cases. */
#include "cc_err.h"
#include "timefmt.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

struct time_case {
	const char *tc_name;  /* case name */
	const char *tc_in;    /* text to parse */
	int tc_rc;            /* expected return */
	int64_t tc_sec;       /* expected Unix seconds when tc_rc is CC_OK */
	int32_t tc_nsec;      /* expected fraction */
};

Test(timefmt, parse_rfc3339_table)
{
	static const struct time_case cases[] = {
	    {"epoch", "1970-01-01T00:00:00Z", CC_OK, 0, 0},
	    {"second before epoch", "1969-12-31T23:59:59Z", CC_OK, -1, 0},
	    {"march after leap century", "2000-03-01T00:00:00Z", CC_OK, 951868800, 0},
	    {"leap day", "2024-02-29T12:34:56Z", CC_OK, 1709210096, 0},
	    {"leap day in 1600", "1600-02-29T00:00:00Z", CC_OK, INT64_C(-11670998400), 0},
	    {"2100 is not leap", "2100-03-01T00:00:00Z", CC_OK, INT64_C(4107542400), 0},
	    {"end of June", "2025-06-30T23:59:59Z", CC_OK, 1751327999, 0},
	    {"first year", "0000-01-01T00:00:00Z", CC_OK, INT64_C(-62167219200), 0},
	    {"last second", "9999-12-31T23:59:59Z", CC_OK, INT64_C(253402300799), 0},
	    {"positive offset", "2025-01-15T10:00:00+02:00", CC_OK, 1736928000, 0},
	    {"negative half-hour offset", "2025-01-15T10:00:00-05:30", CC_OK, 1736955000, 0},
	    {"zero offset", "1970-01-01T00:00:00+00:00", CC_OK, 0, 0},
	    {"lower case t and z", "1970-01-01t00:00:01z", CC_OK, 1, 0},
	    {"micro time", "2024-02-29T12:34:56.123456Z", CC_OK, 1709210096, 123456000},
	    {"one fraction digit", "2024-02-29T12:34:56.5Z", CC_OK, 1709210096, 500000000},
	    {"nanoseconds", "2024-02-29T12:34:56.000000001Z", CC_OK, 1709210096, 1},
	    {"fraction before offset", "1970-01-01T01:00:00.25+01:00", CC_OK, 0, 250000000},
	    {"ten fraction digits", "2024-02-29T12:34:56.0000000001Z", CC_ERR_PARSE, 0, 0},
	    {"dot without digits", "2024-02-29T12:34:56.Z", CC_ERR_PARSE, 0, 0},
	    {"no zone", "2024-02-29T12:34:56", CC_ERR_PARSE, 0, 0},
	    {"date only", "2024-02-29", CC_ERR_PARSE, 0, 0},
	    {"space separator", "2024-02-29 12:34:56Z", CC_ERR_PARSE, 0, 0},
	    {"feb 29 in non-leap year", "2023-02-29T00:00:00Z", CC_ERR_PARSE, 0, 0},
	    {"feb 29 in 1900", "1900-02-29T00:00:00Z", CC_ERR_PARSE, 0, 0},
	    {"april 31", "2024-04-31T00:00:00Z", CC_ERR_PARSE, 0, 0},
	    {"month 13", "2024-13-01T00:00:00Z", CC_ERR_PARSE, 0, 0},
	    {"month 0", "2024-00-01T00:00:00Z", CC_ERR_PARSE, 0, 0},
	    {"day 0", "2024-01-00T00:00:00Z", CC_ERR_PARSE, 0, 0},
	    {"hour 24", "2024-01-01T24:00:00Z", CC_ERR_PARSE, 0, 0},
	    {"minute 60", "2024-01-01T00:60:00Z", CC_ERR_PARSE, 0, 0},
	    {"leap second refused like Go", "2016-12-31T23:59:60Z", CC_ERR_PARSE, 0, 0},
	    {"offset hour 24", "2024-01-01T00:00:00+24:00", CC_ERR_PARSE, 0, 0},
	    {"offset without colon", "2024-01-01T00:00:00+0200", CC_ERR_PARSE, 0, 0},
	    {"trailing text", "2024-01-01T00:00:00Zjunk", CC_ERR_PARSE, 0, 0},
	    {"two-digit year", "24-01-01T00:00:00Z", CC_ERR_PARSE, 0, 0},
	    {"sign in year", "+024-01-01T00:00:00Z", CC_ERR_PARSE, 0, 0},
	    {"empty", "", CC_ERR_PARSE, 0, 0},
	    {"words", "yesterday", CC_ERR_PARSE, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct time_case *c = &cases[i];
		int64_t sec = 77;
		int32_t nsec = 77;
		int rc = tf_parse_rfc3339(c->tc_in, &sec, &nsec);
		cr_expect_eq(rc, c->tc_rc, "%s: rc %d, want %d", c->tc_name, rc, c->tc_rc);
		if (c->tc_rc == CC_OK) {
			cr_expect_eq(sec, c->tc_sec, "%s: %lld, want %lld", c->tc_name,
			    (long long)sec, (long long)c->tc_sec);
			cr_expect_eq(nsec, c->tc_nsec, "%s: nsec %d, want %d", c->tc_name, nsec,
			    c->tc_nsec);
		} else {
			cr_expect_eq(sec, 77, "%s: output written on error", c->tc_name);
		}
	}
	cr_expect_eq(tf_parse_time(NULL, &(int64_t){0}), CC_ERR_PARSE);
}

Test(timefmt, parse_ms_and_order)
{
	int64_t a, b;
	cr_assert_eq(tf_parse_time_ms("2024-02-29T12:34:56.789999Z", &a), CC_OK);
	cr_expect_eq(a, INT64_C(1709210096789));
	cr_assert_eq(tf_parse_time_ms("2024-02-29T12:34:56.790Z", &b), CC_OK);
	/* Ordering holds in both directions, including across an offset. */
	cr_expect(a < b);
	cr_expect(!(b < a));
	cr_assert_eq(tf_parse_time("2024-02-29T14:00:00+02:00", &a), CC_OK);
	cr_assert_eq(tf_parse_time("2024-02-29T12:00:01Z", &b), CC_OK);
	cr_expect(a < b);
	cr_expect(!(b < a));
	cr_expect_eq(tf_parse_time_ms("nope", &a), CC_ERR_PARSE);
}

struct fmt_case {
	const char *fc_name;
	int64_t fc_val;      /* seconds, milliseconds or nanoseconds, per test */
	int fc_rc;
	const char *fc_out;
};

Test(timefmt, format_time_table)
{
	static const struct fmt_case cases[] = {
	    {"epoch", 0, CC_OK, "1970-01-01T00:00:00Z"},
	    {"before epoch", -1, CC_OK, "1969-12-31T23:59:59Z"},
	    {"leap day", 1709210096, CC_OK, "2024-02-29T12:34:56Z"},
	    {"first year", INT64_C(-62167219200), CC_OK, "0000-01-01T00:00:00Z"},
	    {"last second", INT64_C(253402300799), CC_OK, "9999-12-31T23:59:59Z"},
	    {"year 10000", INT64_C(253402300800), CC_ERR_INVAL, NULL},
	    {"year -1", INT64_C(-62167219201), CC_ERR_INVAL, NULL},
	    {"huge", INT64_MAX, CC_ERR_INVAL, NULL},
	    {"tiny", INT64_MIN, CC_ERR_INVAL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct fmt_case *c = &cases[i];
		char buf[TF_BUFSZ] = "untouched";
		int rc = tf_format_time(c->fc_val, buf, sizeof buf);
		cr_expect_eq(rc, c->fc_rc, "%s: rc %d", c->fc_name, rc);
		if (c->fc_rc != CC_OK)
			continue;
		cr_expect_str_eq(buf, c->fc_out, "%s: %s", c->fc_name, buf);
		/* And back: the printed text parses to the same second. */
		int64_t back = 0;
		cr_expect_eq(tf_parse_time(buf, &back), CC_OK, "%s: reparse", c->fc_name);
		cr_expect_eq(back, c->fc_val, "%s: reparsed %lld", c->fc_name, (long long)back);
	}
	char small[20];
	cr_expect_eq(tf_format_time(0, small, sizeof small), CC_ERR_TOOBIG);
}

Test(timefmt, format_time_ms_table)
{
	static const struct fmt_case cases[] = {
	    {"whole second", 1000, CC_OK, "1970-01-01T00:00:01Z"},
	    {"millis", 1709210096789, CC_OK, "2024-02-29T12:34:56.789Z"},
	    {"one ms before epoch", -1, CC_OK, "1969-12-31T23:59:59.999Z"},
	    {"leading zero ms", 5, CC_OK, "1970-01-01T00:00:00.005Z"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct fmt_case *c = &cases[i];
		char buf[TF_BUFSZ];
		cr_expect_eq(tf_format_time_ms(c->fc_val, buf, sizeof buf), c->fc_rc, "%s",
		    c->fc_name);
		cr_expect_str_eq(buf, c->fc_out, "%s: %s", c->fc_name, buf);
		int64_t back = 0;
		cr_expect_eq(tf_parse_time_ms(buf, &back), CC_OK, "%s", c->fc_name);
		cr_expect_eq(back, c->fc_val, "%s: reparsed %lld", c->fc_name, (long long)back);
	}
}

/* Kubernetes MicroTime (events.k8s.io eventTime): always six digits, rounded down. */
Test(timefmt, format_microtime_table)
{
	static const struct fmt_case cases[] = {
	    {"whole second", INT64_C(1709210096000000000), CC_OK, "2024-02-29T12:34:56.000000Z"},
	    {"micros", INT64_C(1709210096123456000), CC_OK, "2024-02-29T12:34:56.123456Z"},
	    {"nanos dropped", INT64_C(1709210096123456999), CC_OK, "2024-02-29T12:34:56.123456Z"},
	    {"leading zeros", INT64_C(1000001000), CC_OK, "1970-01-01T00:00:01.000001Z"},
	    {"one ns before epoch", -1, CC_OK, "1969-12-31T23:59:59.999999Z"},
	    {"epoch", 0, CC_OK, "1970-01-01T00:00:00.000000Z"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct fmt_case *c = &cases[i];
		char buf[TF_BUFSZ];
		cr_expect_eq(tf_format_microtime(c->fc_val, buf, sizeof buf), c->fc_rc, "%s",
		    c->fc_name);
		cr_expect_str_eq(buf, c->fc_out, "%s: %s", c->fc_name, buf);
		int64_t sec = 0;
		int32_t ns = 0;
		cr_expect_eq(tf_parse_rfc3339(buf, &sec, &ns), CC_OK, "%s: reparse", c->fc_name);
		cr_expect_eq(sec * 1000000000 + ns, c->fc_val - (c->fc_val % 1000 + 1000) % 1000,
		    "%s: reparsed", c->fc_name);
	}
	char small[27]; /* the 27 characters fit, their NUL does not */
	cr_expect_eq(tf_format_microtime(0, small, sizeof small), CC_ERR_TOOBIG);
}

/*
 * Found by fuzz_text: an offset moved 0000-01-01 or 9999-12-31 outside the years tf_format_time
 * prints, so a time that was read could not be written: an ACME server's renewal window of
 * "0000-01-01T00:00:00+01:00" made aripoll log two buffers tf_format_time never filled. Such
 * instants are refused when read; the edges themselves still read and print back.
 */
Test(timefmt, parse_refuses_instants_outside_printable_years)
{
	static const struct time_case cases[] = {
	    {"year -1 by offset", "0000-01-01T00:00:00+01:00", CC_ERR_INVAL, 0, 0},
	    {"year -1 by a minute", "0000-01-01T00:00:59.999+00:01", CC_ERR_INVAL, 0, 0},
	    {"year 10000 by offset", "9999-12-31T23:59:59-00:01", CC_ERR_INVAL, 0, 0},
	    {"year 10000 by the most", "9999-12-31T23:00:00-23:59", CC_ERR_INVAL, 0, 0},
	    {"first instant by offset", "0000-01-01T01:00:00+01:00", CC_OK, INT64_C(-62167219200),
		0},
	    {"last instant by offset", "9999-12-31T22:59:59-01:00", CC_OK, INT64_C(253402300799),
		0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct time_case *c = &cases[i];
		int64_t sec = 77, ms = 77, back = 0;
		char buf[TF_BUFSZ];
		cr_expect_eq(tf_parse_rfc3339(c->tc_in, &sec, NULL), c->tc_rc, "%s", c->tc_name);
		cr_expect_eq(tf_parse_time_ms(c->tc_in, &ms), c->tc_rc, "%s: ms", c->tc_name);
		if (c->tc_rc != CC_OK) {
			cr_expect_eq(sec, 77, "%s: output written on error", c->tc_name);
			continue;
		}
		cr_expect_eq(sec, c->tc_sec, "%s: %lld", c->tc_name, (long long)sec);
		cr_assert_eq(tf_format_time(sec, buf, sizeof buf), CC_OK, "%s", c->tc_name);
		cr_expect_eq(tf_parse_time(buf, &back), CC_OK, "%s: %s", c->tc_name, buf);
		cr_expect_eq(back, sec, "%s", c->tc_name);
	}
}

/*
 * Found by fuzz_text: the sub-second part was computed as ms - sec * 1000 (ns - sec * 10^9),
 * and sec * 1000 overflows for the most negative values (undefined behaviour, caught by
 * make test-san). The earliest nanosecond an int64 holds is a MicroTime in 1677.
 */
Test(timefmt, format_extremes_without_overflow)
{
	char buf[TF_BUFSZ];
	cr_expect_eq(tf_format_microtime(INT64_MIN, buf, sizeof buf), CC_OK);
	cr_expect_str_eq(buf, "1677-09-21T00:12:43.145224Z");
	cr_expect_eq(tf_format_microtime(INT64_MAX, buf, sizeof buf), CC_OK);
	cr_expect_str_eq(buf, "2262-04-11T23:47:16.854775Z");
	cr_expect_eq(tf_format_time_ms(INT64_MIN, buf, sizeof buf), CC_ERR_INVAL);
	cr_expect_eq(tf_format_time_ms(INT64_MAX, buf, sizeof buf), CC_ERR_INVAL);
	cr_expect_eq(tf_format_time_ms(INT64_C(-62167219200000), buf, sizeof buf), CC_OK);
	cr_expect_str_eq(buf, "0000-01-01T00:00:00Z");
	cr_expect_eq(tf_format_time_ms(INT64_C(-62167219200001), buf, sizeof buf), CC_ERR_INVAL);
}

struct dur_case {
	const char *dc_name;
	const char *dc_in;
	int dc_rc;
	int64_t dc_ns;  /* expected nanoseconds */
};

#define SEC INT64_C(1000000000)

Test(timefmt, duration_parse_ns_table)
{
	static const struct dur_case cases[] = {
	    {"cert-manager default", "2160h0m0s", CC_OK, 2160 * 3600 * SEC},
	    {"minutes", "90m", CC_OK, 90 * 60 * SEC},
	    {"hours and minutes", "1h30m", CC_OK, 90 * 60 * SEC},
	    {"hours only", "720h", CC_OK, 720 * 3600 * SEC},
	    {"seconds", "45s", CC_OK, 45 * SEC},
	    {"fraction", "1.5s", CC_OK, 1500000000},
	    {"fraction of hour", "1.5h", CC_OK, 5400 * SEC},
	    {"leading dot", ".5s", CC_OK, 500000000},
	    {"trailing dot", "5.s", CC_OK, 5 * SEC},
	    {"milliseconds", "300ms", CC_OK, 300000000},
	    {"microseconds us", "2us", CC_OK, 2000},
	    {"microseconds micro sign", "2\xc2\xb5s", CC_OK, 2000},
	    {"microseconds mu", "2\xce\xbcs", CC_OK, 2000},
	    {"nanoseconds", "7ns", CC_OK, 7},
	    {"units in any order", "1s1h", CC_OK, 3601 * SEC},
	    {"repeated unit", "1m1m", CC_OK, 120 * SEC},
	    {"bare zero", "0", CC_OK, 0},
	    {"negative zero", "-0", CC_OK, 0},
	    {"plus zero", "+0", CC_OK, 0},
	    {"zero seconds", "0s", CC_OK, 0},
	    {"negative", "-5m", CC_OK, -300 * SEC},
	    {"plus sign", "+5m", CC_OK, 300 * SEC},
	    {"largest", "9223372036854775807ns", CC_OK, INT64_MAX},
	    {"most negative", "-9223372036854775808ns", CC_OK, INT64_MIN},
	    {"one past largest", "9223372036854775808ns", CC_ERR_TOOBIG, 0},
	    {"too many hours", "2562048h", CC_ERR_TOOBIG, 0},
	    {"sum overflows", "2562047h2562047h", CC_ERR_TOOBIG, 0},
	    {"huge digits", "99999999999999999999999s", CC_ERR_TOOBIG, 0},
	    {"days are not Go", "90d", CC_ERR_PARSE, 0},
	    {"no unit", "90", CC_ERR_PARSE, 0},
	    {"unit only", "h", CC_ERR_PARSE, 0},
	    {"dot only", ".s", CC_ERR_PARSE, 0},
	    {"empty", "", CC_ERR_PARSE, 0},
	    {"sign only", "-", CC_ERR_PARSE, 0},
	    {"space", "1h 30m", CC_ERR_PARSE, 0},
	    {"upper case unit", "1H", CC_ERR_PARSE, 0},
	    {"double sign", "--1s", CC_ERR_PARSE, 0},
	    {"inner sign", "1h-30m", CC_ERR_PARSE, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct dur_case *c = &cases[i];
		int64_t ns = 77;
		int rc = tf_duration_parse_ns(c->dc_in, &ns);
		cr_expect_eq(rc, c->dc_rc, "%s: rc %d, want %d", c->dc_name, rc, c->dc_rc);
		if (c->dc_rc == CC_OK)
			cr_expect_eq(ns, c->dc_ns, "%s: %lld, want %lld", c->dc_name, (long long)ns,
			    (long long)c->dc_ns);
		else
			cr_expect_eq(ns, 77, "%s: output written on error", c->dc_name);
	}
	cr_expect_eq(tf_duration_parse_ns(NULL, &(int64_t){0}), CC_ERR_PARSE);
}

Test(timefmt, duration_parse_nonnegative)
{
	static const struct {
		const char *name, *in;
		int rc;
		int64_t sec, ms;
	} cases[] = {
	    {"hours", "2160h", CC_OK, 7776000, INT64_C(7776000000)},
	    {"fraction truncated", "1.9s", CC_OK, 1, 1900},
	    {"below a second", "500ms", CC_OK, 0, 500},
	    {"negative refused", "-5m", CC_ERR_INVAL, 0, 0},
	    {"negative zero accepted", "-0s", CC_OK, 0, 0},
	    {"malformed", "5 minutes", CC_ERR_PARSE, 0, 0},
	    {"overflow", "3000000h", CC_ERR_TOOBIG, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t sec = -7, ms = -7;
		cr_expect_eq(tf_duration_parse(cases[i].in, &sec), cases[i].rc, "%s", cases[i].name);
		cr_expect_eq(tf_duration_parse_ms(cases[i].in, &ms), cases[i].rc, "%s ms",
		    cases[i].name);
		if (cases[i].rc == CC_OK) {
			cr_expect_eq(sec, cases[i].sec, "%s: %lld", cases[i].name, (long long)sec);
			cr_expect_eq(ms, cases[i].ms, "%s: %lld ms", cases[i].name, (long long)ms);
		} else {
			cr_expect(sec == -7 && ms == -7, "%s: output written on error",
			    cases[i].name);
		}
	}
}

Test(timefmt, duration_format_seconds_table)
{
	static const struct fmt_case cases[] = {
	    {"zero", 0, CC_OK, "0s"},
	    {"seconds", 45, CC_OK, "45s"},
	    {"one minute", 60, CC_OK, "1m0s"},
	    {"five minutes", 300, CC_OK, "5m0s"},
	    {"ninety minutes", 5400, CC_OK, "1h30m0s"},
	    {"cert-manager default", 7776000, CC_OK, "2160h0m0s"},
	    {"all parts", 90061, CC_OK, "25h1m1s"},
	    {"negative", -300, CC_OK, "-5m0s"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct fmt_case *c = &cases[i];
		char buf[TF_BUFSZ];
		cr_expect_eq(tf_duration_format(c->fc_val, buf, sizeof buf), c->fc_rc, "%s",
		    c->fc_name);
		cr_expect_str_eq(buf, c->fc_out, "%s: %s", c->fc_name, buf);
		/* And back through the signed parser. */
		int64_t ns = 0;
		cr_expect_eq(tf_duration_parse_ns(buf, &ns), CC_OK, "%s", c->fc_name);
		cr_expect_eq(ns, c->fc_val * SEC, "%s: reparsed", c->fc_name);
	}
	char buf[TF_BUFSZ];
	cr_expect_eq(tf_duration_format(INT64_MIN, buf, sizeof buf), CC_OK);
	cr_expect_eq(buf[0], '-');
	char small[4];
	cr_expect_eq(tf_duration_format(5400, small, sizeof small), CC_ERR_TOOBIG);
}

Test(timefmt, duration_format_ms_table)
{
	static const struct fmt_case cases[] = {
	    {"zero", 0, CC_OK, "0s"},
	    {"millis", 500, CC_OK, "500ms"},
	    {"second and a half", 1500, CC_OK, "1.5s"},
	    {"quarter past a minute", 60250, CC_OK, "1m0.25s"},
	    {"trailing zero trimmed", 1010, CC_OK, "1.01s"},
	    {"hour", 3600000, CC_OK, "1h0m0s"},
	    {"negative millis", -20, CC_OK, "-20ms"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct fmt_case *c = &cases[i];
		char buf[TF_BUFSZ];
		cr_expect_eq(tf_duration_format_ms(c->fc_val, buf, sizeof buf), c->fc_rc, "%s",
		    c->fc_name);
		cr_expect_str_eq(buf, c->fc_out, "%s: %s", c->fc_name, buf);
		int64_t ns = 0;
		cr_expect_eq(tf_duration_parse_ns(buf, &ns), CC_OK, "%s", c->fc_name);
		cr_expect_eq(ns, c->fc_val * 1000000, "%s: reparsed", c->fc_name);
	}
}
