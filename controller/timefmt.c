/* timefmt: RFC 3339 times and Go durations, parsed and printed without libc's time zone state. */
#include "timefmt.h"

#include "cc_err.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Unix seconds of 0000-01-01T00:00:00Z and of 9999-12-31T23:59:59Z: the printable range. */
#define TF_MIN_SEC INT64_C(-62167219200)
#define TF_MAX_SEC INT64_C(253402300799)

#define TF_NS_LIMIT (UINT64_C(1) << 63) /* magnitude of Go's most negative duration */

static bool
tf_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/* Exactly n decimal digits at p. */
static bool
tf_digits(const char *p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!tf_isdigit(p[i]))
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return true;
}

static bool
tf_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
tf_month_days(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && tf_leap(y) ? 29 : days[m - 1];
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date. Years are shifted to start in March so
 * that the leap day is the last day of a year, which makes the day-of-year a linear formula.
 */
int64_t
tf_days_from_civil(int64_t y, int m, int d)
{
	if (m <= 2)
		y--;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mar = m > 2 ? m - 3 : m + 9;
	int64_t doy = (153 * mar + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of tf_days_from_civil. */
void
tf_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int
tf_parse_rfc3339(const char *s, int64_t *sec, int32_t *nsec)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0;
	int32_t frac = 0;
	if (s == NULL || strnlen(s, 20) < 20)
		return CC_ERR_PARSE;
	if (!tf_digits(s, 4, &y) || s[4] != '-' || !tf_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !tf_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !tf_digits(s + 11, 2, &h) || s[13] != ':' || !tf_digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !tf_digits(s + 17, 2, &se))
		return CC_ERR_PARSE;
	const char *p = s + 19;
	if (*p == '.') {
		int n = 0;
		p++;
		while (tf_isdigit(*p)) {
			if (++n > 9)
				return CC_ERR_PARSE;
			frac = frac * 10 + (*p++ - '0');
		}
		if (n == 0)
			return CC_ERR_PARSE;
		for (; n < 9; n++)
			frac *= 10;
	}
	int sign = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (!tf_digits(p + 1, 2, &oh) || p[3] != ':' || !tf_digits(p + 4, 2, &om))
			return CC_ERR_PARSE;
		p += 6;
	} else {
		return CC_ERR_PARSE;
	}
	if (*p != '\0')
		return CC_ERR_PARSE;
	if (mo < 1 || mo > 12 || d < 1 || d > tf_month_days(y, mo) || h > 23 || mi > 59 ||
	    se > 59 || oh > 23 || om > 59)
		return CC_ERR_PARSE;
	int64_t t = tf_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	/* an offset can carry 0000-01-01 or 9999-12-31 out of the years every time prints in */
	if (t < TF_MIN_SEC || t > TF_MAX_SEC)
		return CC_ERR_INVAL;
	*sec = t;
	if (nsec != NULL)
		*nsec = frac;
	return CC_OK;
}

int
tf_parse_time(const char *s, int64_t *sec)
{
	return tf_parse_rfc3339(s, sec, NULL);
}

int
tf_parse_time_ms(const char *s, int64_t *ms)
{
	int64_t sec;
	int32_t ns;
	int rc = tf_parse_rfc3339(s, &sec, &ns);
	if (rc != CC_OK)
		return rc;
	*ms = sec * 1000 + ns / 1000000;
	return CC_OK;
}

/* Floor division, so that times before 1970 fall in the right day. */
static int64_t
tf_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* sec as RFC 3339 UTC, with frac ("" or ".ddd...") before the Z. */
static int
tf_format(int64_t sec, const char *frac, char *buf, size_t len)
{
	if (sec < TF_MIN_SEC || sec > TF_MAX_SEC)
		return CC_ERR_INVAL;
	int64_t days = tf_floordiv(sec, 86400);
	int64_t rem = sec - days * 86400;
	int64_t y;
	int m, d;
	tf_civil_from_days(days, &y, &m, &d);
	int n = snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d%sZ", (long long)y, m, d,
	    (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac);
	if (n < 0 || (size_t)n >= len)
		return CC_ERR_TOOBIG;
	return CC_OK;
}

int
tf_format_time(int64_t sec, char *buf, size_t len)
{
	return tf_format(sec, "", buf, len);
}

/*
 * v split into whole units (rounded down) and the non-negative rest below one unit. The rest
 * comes from the remainder, not from v - whole * unit: near INT64_MIN the product overflows.
 */
static int64_t
tf_split(int64_t v, int64_t unit, int64_t *rest)
{
	int64_t whole = v / unit, r = v % unit;
	if (r < 0) {
		r += unit;
		whole--;
	}
	*rest = r;
	return whole;
}

int
tf_format_time_ms(int64_t ms, char *buf, size_t len)
{
	int64_t rest, sec = tf_split(ms, 1000, &rest);
	char frac[8] = "";
	if (rest != 0)
		snprintf(frac, sizeof frac, ".%03d", (int)rest);
	return tf_format(sec, frac, buf, len);
}

int
tf_format_microtime(int64_t ns, char *buf, size_t len)
{
	int64_t rest, sec = tf_split(ns, 1000000000, &rest);
	char frac[8];
	snprintf(frac, sizeof frac, ".%06d", (int)(rest / 1000));
	return tf_format(sec, frac, buf, len);
}

struct tf_unit {
	const char *u_name;  /* as Go spells it */
	uint64_t u_ns;       /* nanoseconds per unit */
};

static const struct tf_unit tf_units[] = {
	{"ns", 1},
	{"us", 1000},
	{"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
	{"\xce\xbcs", 1000}, /* U+03BC Greek small mu */
	{"ms", 1000000},
	{"s", 1000000000},
	{"m", UINT64_C(60) * 1000000000},
	{"h", UINT64_C(3600) * 1000000000},
};

int
tf_duration_parse_ns(const char *s, int64_t *ns)
{
	if (s == NULL)
		return CC_ERR_PARSE;
	const char *p = s;
	bool neg = false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*ns = 0;
		return CC_OK;
	}
	if (*p == '\0')
		return CC_ERR_PARSE;
	uint64_t total = 0;
	while (*p != '\0') {
		uint64_t v = 0, f = 0;
		double scale = 1;
		bool pre = false, post = false;
		while (tf_isdigit(*p)) {
			if (v > TF_NS_LIMIT / 10)
				return CC_ERR_TOOBIG;
			v = v * 10 + (uint64_t)(*p++ - '0');
			if (v > TF_NS_LIMIT)
				return CC_ERR_TOOBIG;
			pre = true;
		}
		if (*p == '.') {
			p++;
			while (tf_isdigit(*p)) {
				/* Digits past the 18th cannot change a nanosecond count; skip them. */
				if (f < UINT64_C(100000000000000000)) {
					f = f * 10 + (uint64_t)(*p - '0');
					scale *= 10;
				}
				p++;
				post = true;
			}
		}
		if (!pre && !post)
			return CC_ERR_PARSE;
		const char *u = p;
		while (*p != '\0' && *p != '.' && !tf_isdigit(*p))
			p++;
		size_t ulen = (size_t)(p - u);
		const struct tf_unit *unit = NULL;
		for (size_t i = 0; i < sizeof tf_units / sizeof tf_units[0]; i++)
			if (strlen(tf_units[i].u_name) == ulen &&
			    memcmp(tf_units[i].u_name, u, ulen) == 0)
				unit = &tf_units[i];
		if (unit == NULL)
			return CC_ERR_PARSE;
		if (v > TF_NS_LIMIT / unit->u_ns)
			return CC_ERR_TOOBIG;
		v *= unit->u_ns;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit->u_ns / scale));
			if (v > TF_NS_LIMIT)
				return CC_ERR_TOOBIG;
		}
		total += v;
		if (total > TF_NS_LIMIT)
			return CC_ERR_TOOBIG;
	}
	if (!neg && total == TF_NS_LIMIT)
		return CC_ERR_TOOBIG;
	if (neg)
		*ns = total == TF_NS_LIMIT ? INT64_MIN : -(int64_t)total;
	else
		*ns = (int64_t)total;
	return CC_OK;
}

int
tf_duration_parse(const char *s, int64_t *sec)
{
	int64_t ns;
	int rc = tf_duration_parse_ns(s, &ns);
	if (rc != CC_OK)
		return rc;
	if (ns < 0)
		return CC_ERR_INVAL;
	*sec = ns / 1000000000;
	return CC_OK;
}

int
tf_duration_parse_ms(const char *s, int64_t *ms)
{
	int64_t ns;
	int rc = tf_duration_parse_ns(s, &ns);
	if (rc != CC_OK)
		return rc;
	if (ns < 0)
		return CC_ERR_INVAL;
	*ms = ns / 1000000;
	return CC_OK;
}

/* Go's layout: hours and minutes appear once the value reaches them, seconds always. */
static int
tf_duration_write(bool neg, uint64_t secs, unsigned msec, char *buf, size_t len)
{
	const char *sign = neg ? "-" : "";
	char frac[16] = "";
	int n;
	if (msec != 0) {
		snprintf(frac, sizeof frac, ".%03u", msec);
		size_t fl = strlen(frac);
		while (frac[fl - 1] == '0')
			frac[--fl] = '\0';
	}
	uint64_t h = secs / 3600, m = secs / 60 % 60, s = secs % 60;
	if (secs == 0 && msec == 0)
		n = snprintf(buf, len, "0s");
	else if (secs == 0)
		n = snprintf(buf, len, "%s%ums", sign, msec);
	else if (h > 0)
		n = snprintf(buf, len, "%s%lluh%llum%llu%ss", sign, (unsigned long long)h,
		    (unsigned long long)m, (unsigned long long)s, frac);
	else if (m > 0)
		n = snprintf(buf, len, "%s%llum%llu%ss", sign, (unsigned long long)m,
		    (unsigned long long)s, frac);
	else
		n = snprintf(buf, len, "%s%llu%ss", sign, (unsigned long long)s, frac);
	if (n < 0 || (size_t)n >= len)
		return CC_ERR_TOOBIG;
	return CC_OK;
}

/* |v| without overflow, also for INT64_MIN. */
static uint64_t
tf_magnitude(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

int
tf_duration_format(int64_t sec, char *buf, size_t len)
{
	return tf_duration_write(sec < 0, tf_magnitude(sec), 0, buf, len);
}

int
tf_duration_format_ms(int64_t ms, char *buf, size_t len)
{
	uint64_t u = tf_magnitude(ms);
	return tf_duration_write(ms < 0, u / 1000, (unsigned)(u % 1000), buf, len);
}
