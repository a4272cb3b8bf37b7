/*
 * cron: 5-field cron expressions evaluated on a proleptic Gregorian calendar in a fixed offset.
 */
#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scoring.h"

#define CRON_SEARCH_LIMIT (5LL * 366 * 86400) /* give up on impossible dates after 5 years */
#define CRON_TOKEN_MAX 64

struct cron_field {
	const char *cf_name;        /* for messages */
	int cf_lo;                  /* smallest value */
	int cf_hi;                  /* largest value */
	const char *const *cf_names;/* 3-letter names for cf_lo.., or NULL */
};

static const char *const cron_months[] = {"jan", "feb", "mar", "apr", "may", "jun",
					  "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const cron_days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct cron_field cron_fields[5] = {
	{"minute", 0, 59, NULL},
	{"hour", 0, 23, NULL},
	{"day-of-month", 1, 31, NULL},
	{"month", 1, 12, cron_months},
	{"day-of-week", 0, 7, cron_days},
};

static void
cron_err(char *err, size_t errlen, const char *field, const char *tok, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "cron %s field \"%s\": %s", field, tok, what);
}

/* Reads a number or a name at *p; advances *p. Returns 0, or -1 when nothing valid is there. */
static int
cron_value(const struct cron_field *f, const char **p, int *out)
{
	const char *s = *p;
	if (isdigit((unsigned char)*s)) {
		long v = 0;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (*s - '0');
			if (v > 1000)
				return -1;
			s++;
		}
		*out = (int)v;
		*p = s;
		return 0;
	}
	if (f->cf_names != NULL && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
	    isalpha((unsigned char)s[2])) {
		for (int i = 0; f->cf_names[i] != NULL; i++) {
			if (strncasecmp(s, f->cf_names[i], 3) == 0) {
				*out = f->cf_lo + i;
				*p = s + 3;
				return 0;
			}
		}
	}
	return -1;
}

/* Parses one field (a comma list) into a bit set. Sets *star when the field is "*" or "?". */
static int
cron_field_parse(const struct cron_field *f, const char *tok, uint64_t *bits, int *star,
		 char *err, size_t errlen)
{
	uint64_t set = 0;
	const char *p = tok;
	int day_field = f->cf_lo == 1 && f->cf_hi == 31;
	*star = 0;
	if ((strcmp(tok, "*") == 0) || (strcmp(tok, "?") == 0 && (day_field || f->cf_hi == 7)))
		*star = 1;
	for (;;) {
		int lo, hi, step = 1, single = 0;
		if (*p == '*' || *p == '?') {
			if (*p == '?' && !(day_field || f->cf_hi == 7)) {
				cron_err(err, errlen, f->cf_name, tok, "'?' only in day fields");
				return SC_ERR_PARSE;
			}
			lo = f->cf_lo;
			hi = f->cf_hi;
			p++;
		} else {
			if (cron_value(f, &p, &lo) != 0) {
				cron_err(err, errlen, f->cf_name, tok, "expected a number or name");
				return SC_ERR_PARSE;
			}
			hi = lo;
			single = *p != '-';
			if (*p == '-') {
				p++;
				if (cron_value(f, &p, &hi) != 0) {
					cron_err(err, errlen, f->cf_name, tok, "bad range end");
					return SC_ERR_PARSE;
				}
			}
		}
		if (*p == '/') {
			const char *q = ++p;
			long v = 0;
			while (isdigit((unsigned char)*p)) {
				v = v * 10 + (*p - '0');
				if (v > 1000)
					break;
				p++;
			}
			if (p == q || v <= 0 || v > 1000) {
				cron_err(err, errlen, f->cf_name, tok, "bad step");
				return SC_ERR_PARSE;
			}
			step = (int)v;
			/* "a/n" means from a to the end of the range, as robfig/cron reads it */
			if (single)
				hi = f->cf_hi;
		}
		if (lo < f->cf_lo || hi > f->cf_hi || lo > hi) {
			cron_err(err, errlen, f->cf_name, tok, "value out of range");
			return SC_ERR_PARSE;
		}
		for (int v = lo; v <= hi; v += step)
			set |= 1ULL << v;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p != '\0') {
			cron_err(err, errlen, f->cf_name, tok, "unexpected character");
			return SC_ERR_PARSE;
		}
		break;
	}
	*bits = set;
	return SC_OK;
}

static const char *
cron_macro(const char *text)
{
	static const struct {
		const char *m_name;
		const char *m_expr;
	} macros[] = {
		{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
		{"@weekly", "0 0 * * 0"},  {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
		{"@hourly", "0 * * * *"},
	};
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (strcasecmp(text, macros[i].m_name) == 0)
			return macros[i].m_expr;
	return NULL;
}

int
cron_parse(const char *text, struct cron_expr *out, char *err, size_t errlen)
{
	char tok[5][CRON_TOKEN_MAX];
	int ntok = 0;
	struct cron_expr ce;
	const char *p;

	if (text == NULL || out == NULL) {
		cron_err(err, errlen, "expression", "", "missing");
		return SC_ERR_PARSE;
	}
	while (isspace((unsigned char)*text))
		text++;
	p = text;
	if (*p == '@') {
		char name[16];
		size_t n = strcspn(p, " \t\r\n");
		const char *m;
		if (n >= sizeof(name) || p[n + strspn(p + n, " \t\r\n")] != '\0') {
			cron_err(err, errlen, "expression", text, "unknown macro");
			return SC_ERR_PARSE;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		m = cron_macro(name);
		if (m == NULL) {
			cron_err(err, errlen, "expression", name, "unknown macro");
			return SC_ERR_PARSE;
		}
		p = m;
	}
	while (*p != '\0') {
		size_t n;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, " \t\r\n");
		if (ntok == 5) {
			cron_err(err, errlen, "expression", text, "more than 5 fields");
			return SC_ERR_PARSE;
		}
		if (n >= CRON_TOKEN_MAX) {
			cron_err(err, errlen, cron_fields[ntok].cf_name, "...", "field too long");
			return SC_ERR_PARSE;
		}
		memcpy(tok[ntok], p, n);
		tok[ntok][n] = '\0';
		ntok++;
		p += n;
	}
	if (ntok != 5) {
		cron_err(err, errlen, "expression", text, "expected 5 fields");
		return SC_ERR_PARSE;
	}
	memset(&ce, 0, sizeof(ce));
	for (int i = 0; i < 5; i++) {
		uint64_t bits;
		int star, rc;
		rc = cron_field_parse(&cron_fields[i], tok[i], &bits, &star, err, errlen);
		if (rc != SC_OK)
			return rc;
		switch (i) {
		case 0:
			ce.ce_min = bits;
			break;
		case 1:
			ce.ce_hour = (uint32_t)bits;
			break;
		case 2:
			ce.ce_dom = (uint32_t)bits;
			ce.ce_dom_star = (uint8_t)star;
			break;
		case 3:
			ce.ce_month = (uint16_t)bits;
			break;
		default:
			/* 7 is another name for Sunday */
			if (bits & (1ULL << 7))
				bits = (bits | 1ULL) & ~(1ULL << 7);
			ce.ce_dow = (uint8_t)bits;
			ce.ce_dow_star = (uint8_t)star;
			break;
		}
	}
	*out = ce;
	return SC_OK;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
cron_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t
cron_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Breaks local seconds (UTC seconds + offset) into calendar fields. */
static void
cron_breakdown(int64_t local, struct cron_tm *tm)
{
	int64_t days = cron_floor_div(local, 86400);
	int64_t secs = local - days * 86400;
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	tm->tm_year = yoe + era * 400 + (m <= 2);
	tm->tm_mon = m;
	tm->tm_mday = d;
	tm->tm_hour = (int)(secs / 3600);
	tm->tm_min = (int)((secs % 3600) / 60);
	tm->tm_sec = (int)(secs % 60);
	tm->tm_wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
}

int64_t
cron_timegm(int64_t year, int mon, int mday, int hour, int min, int sec)
{
	return cron_days_from_civil(year, mon, mday) * 86400 + (int64_t)hour * 3600 +
	       (int64_t)min * 60 + sec;
}

void
cron_gmtime(int64_t t, int32_t tz_offset, struct cron_tm *tm)
{
	cron_breakdown(t + tz_offset, tm);
}

static int
cron_day_ok(const struct cron_expr *ce, const struct cron_tm *tm)
{
	int dom = (ce->ce_dom >> tm->tm_mday) & 1;
	int dow = (ce->ce_dow >> tm->tm_wday) & 1;
	if (ce->ce_dom_star || ce->ce_dow_star)
		return dom && dow;
	return dom || dow;
}

int
cron_matches(const struct cron_expr *ce, int64_t t, int32_t tz_offset)
{
	struct cron_tm tm;
	if (ce == NULL)
		return 0;
	cron_breakdown(t + tz_offset, &tm);
	return ((ce->ce_month >> tm.tm_mon) & 1) && cron_day_ok(ce, &tm) &&
	       ((ce->ce_hour >> tm.tm_hour) & 1) && ((ce->ce_min >> tm.tm_min) & 1);
}

/* Local seconds of the first minute of the day, month or hour holding tm. */
static int64_t
cron_day_start(const struct cron_tm *tm)
{
	return cron_days_from_civil(tm->tm_year, tm->tm_mon, tm->tm_mday) * 86400;
}

static int64_t
cron_month_start(const struct cron_tm *tm)
{
	return cron_days_from_civil(tm->tm_year, tm->tm_mon, 1) * 86400;
}

int64_t
cron_next(const struct cron_expr *ce, int64_t after, int32_t tz_offset)
{
	int64_t t, limit;
	if (ce == NULL)
		return 0;
	t = cron_floor_div(after + tz_offset, 60) * 60 + 60;
	limit = after + tz_offset + CRON_SEARCH_LIMIT;
	while (t <= limit) {
		struct cron_tm tm;
		cron_breakdown(t, &tm);
		if (!((ce->ce_month >> tm.tm_mon) & 1)) {
			int64_t y = tm.tm_year + (tm.tm_mon == 12);
			int m = tm.tm_mon == 12 ? 1 : tm.tm_mon + 1;
			t = cron_days_from_civil(y, m, 1) * 86400;
			continue;
		}
		if (!cron_day_ok(ce, &tm)) {
			t = cron_day_start(&tm) + 86400;
			continue;
		}
		if (!((ce->ce_hour >> tm.tm_hour) & 1)) {
			t = cron_day_start(&tm) + (int64_t)(tm.tm_hour + 1) * 3600;
			continue;
		}
		if (!((ce->ce_min >> tm.tm_min) & 1)) {
			t += 60;
			continue;
		}
		return t - tz_offset;
	}
	return 0;
}

int64_t
cron_prev(const struct cron_expr *ce, int64_t at, int64_t floor, int32_t tz_offset)
{
	int64_t t, lim;
	if (ce == NULL || at < floor)
		return 0;
	t = cron_floor_div(at + tz_offset, 60) * 60;
	lim = floor + tz_offset;
	while (t >= lim) {
		struct cron_tm tm;
		cron_breakdown(t, &tm);
		if (!((ce->ce_month >> tm.tm_mon) & 1)) {
			t = cron_month_start(&tm) - 60;
			continue;
		}
		if (!cron_day_ok(ce, &tm)) {
			t = cron_day_start(&tm) - 60;
			continue;
		}
		if (!((ce->ce_hour >> tm.tm_hour) & 1)) {
			t = cron_day_start(&tm) + (int64_t)tm.tm_hour * 3600 - 60;
			continue;
		}
		if (!((ce->ce_min >> tm.tm_min) & 1)) {
			t -= 60;
			continue;
		}
		return t - tz_offset;
	}
	return 0;
}
