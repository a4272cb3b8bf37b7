/*
 * cron: a small, pure evaluator of standard 5-field cron expressions, for the renewal windows
 * of cert-manager v1.21 (spec.renewal.windows[].cron).
 *
 * Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or JAN-DEC), day of
 * week (0-7 or SUN-SAT, 7 is Sunday). Each field is "*", a value, a range "a-b", a list "a,b",
 * and any of these with a step "/n"; "?" is accepted as "*" in the day fields. The macros
 * @yearly @annually @monthly @weekly @daily @midnight @hourly are understood. As in Vixie cron
 * (and robfig/cron, which cert-manager uses), when both day fields are restricted a day
 * matches if EITHER matches. Times are whole minutes in a fixed UTC offset (no DST rules: the
 * library reads no time-zone database).
 *
 * Everything is a value (no allocation); reentrant.
 */
#ifndef CRON_H
#define CRON_H

#include <stddef.h>
#include <stdint.h>

struct cron_expr {
	uint64_t ce_min;   /* bit i: minute i matches */
	uint32_t ce_hour;  /* bit i: hour i */
	uint32_t ce_dom;   /* bit i: day of month i (1..31) */
	uint16_t ce_month; /* bit i: month i (1..12) */
	uint8_t ce_dow;    /* bit i: weekday i (0 = Sunday .. 6) */
	uint8_t ce_dom_star; /* day of month was "*" (or "?") */
	uint8_t ce_dow_star; /* day of week was "*" (or "?") */
};

/* A broken-down UTC (or offset) time. */
struct cron_tm {
	int64_t tm_year; /* e.g. 2026 */
	int tm_mon;      /* 1..12 */
	int tm_mday;     /* 1..31 */
	int tm_hour;     /* 0..23 */
	int tm_min;      /* 0..59 */
	int tm_sec;      /* 0..59 */
	int tm_wday;     /* 0 = Sunday */
};

/* Unix seconds of a civil UTC time (proleptic Gregorian; fields are not range-checked). */
int64_t cron_timegm(int64_t year, int mon, int mday, int hour, int min, int sec);

/* Breaks Unix seconds t (plus tz_offset) into calendar fields. */
void cron_gmtime(int64_t t, int32_t tz_offset, struct cron_tm *tm);

/*
 * Parses text into *out. Returns SC_OK, or SC_ERR_PARSE with what and where (field name and
 * offending token) in err (size errlen, may be 0). out is unchanged on error.
 */
int cron_parse(const char *text, struct cron_expr *out, char *err, size_t errlen);

/* True when minute-aligned time t (Unix seconds, in the fixed offset tz) matches. */
int cron_matches(const struct cron_expr *ce, int64_t t, int32_t tz_offset);

/*
 * The first matching time strictly after `after` (Unix seconds, result minute-aligned), or 0
 * when none exists within the next 5 years (an impossible date such as "0 0 31 2 *").
 */
int64_t cron_next(const struct cron_expr *ce, int64_t after, int32_t tz_offset);

/*
 * The latest matching time at or before `at`, not earlier than `floor`; 0 when none.
 */
int64_t cron_prev(const struct cron_expr *ce, int64_t at, int64_t floor, int32_t tz_offset);

#endif
