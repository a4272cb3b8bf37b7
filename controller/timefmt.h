/*
 * timefmt: RFC 3339 timestamps and Go durations, the two time notations of the Kubernetes API.
 *
 * Times are int64 Unix seconds, milliseconds or nanoseconds (UTC). Durations follow Go's
 * time.ParseDuration grammar ("2160h0m0s", "90m", "1h30m", "1.5s", "300ms") and are computed in
 * nanoseconds like Go, so anything Go rejects as out of range (beyond about 292 years) is
 * rejected here too.
 *
 * Every function is pure and thread-safe. Errors: CC_ERR_PARSE for malformed text, CC_ERR_TOOBIG
 * for a value that does not fit (or an output buffer that is too small), CC_ERR_INVAL for a
 * negative duration where the function forbids one or a time outside years 0000..9999.
 * Outputs are written only on success.
 */
#ifndef TIMEFMT_H
#define TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Enough for any string tf_format_* writes, NUL included. */
#define TF_BUFSZ 40

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|+HH:MM|-HH:MM)". 'T' and 'Z' may be lower case, as
 * RFC 3339 allows. The second 60 is refused, as Go refuses it. *sec is Unix seconds, *nsec the
 * fraction in nanoseconds (0..999999999); nsec may be NULL. An instant outside years
 * 0000..9999 in UTC (an offset moving the first or last day over the edge) is CC_ERR_INVAL,
 * so that every time read can be written again with tf_format_time.
 */
int tf_parse_rfc3339(const char *s, int64_t *sec, int32_t *nsec);
/* The same, truncated to whole seconds (the fraction is dropped). */
int tf_parse_time(const char *s, int64_t *sec);
/* The same, in milliseconds (the fraction below 1 ms is dropped). */
int tf_parse_time_ms(const char *s, int64_t *ms);

/* Write sec as "YYYY-MM-DDTHH:MM:SSZ" into buf (size len >= 21). */
int tf_format_time(int64_t sec, char *buf, size_t len);
/* Write ms as above, with ".mmm" before the Z when ms is not a whole second. */
int tf_format_time_ms(int64_t ms, char *buf, size_t len);
/*
 * Write ns (Unix nanoseconds) as a Kubernetes MicroTime, always with six digits:
 * "2006-01-02T15:04:05.000000Z". The part below a microsecond is dropped (rounded down).
 */
int tf_format_microtime(int64_t ns, char *buf, size_t len);

/* Parse a Go duration into signed nanoseconds. "0", "-0" and "+0" need no unit. */
int tf_duration_parse_ns(const char *s, int64_t *ns);
/*
 * Parse a Go duration that must not be negative (CC_ERR_INVAL), into whole seconds (a fraction
 * of a second is dropped: "1.9s" is 1) or milliseconds.
 */
int tf_duration_parse(const char *s, int64_t *sec);
int tf_duration_parse_ms(const char *s, int64_t *ms);

/* Write sec the way Go's Duration.String does: "2160h0m0s", "1h30m0s", "5m0s", "45s", "0s". */
int tf_duration_format(int64_t sec, char *buf, size_t len);
/* The same for milliseconds: "1.5s", "1m0.25s", "500ms", "0s". */
int tf_duration_format_ms(int64_t ms, char *buf, size_t len);

/*
 * Days since 1970-01-01 of a proleptic Gregorian date (any year, m 1..12, d 1..31), and back.
 */
int64_t tf_days_from_civil(int64_t y, int m, int d);
void tf_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

#endif
