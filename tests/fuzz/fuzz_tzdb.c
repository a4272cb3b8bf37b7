/*
 * fuzz_tzdb: arbitrary bytes as the time-zone data behind cert-manager's renewal windows
 * (spec.renewal.windows[].timezone), and the cron evaluation that uses the offsets:
 *   - TZif files (tz_zone_parse, and the same bytes as a zone file read through tz_db_offset
 *     from a private zone folder), their offsets at fixed instants;
 *   - POSIX TZ rules, the TZif footer (tz_rule_parse, tz_rule_offset);
 *   - with each offset found, cron_next, cron_prev and cron_matches over a fixed set of window
 *     expressions, and fc_renewal_time with such a window, as scoring computes renewal times.
 * The first input byte picks the mode: 0 TZif, 1 TZ rule, 2 a cron expression (first line)
 * with an offset and an instant taken from the bytes after it.
 *
 * Zone files come from the system or an image, and a window's zone and cron from any user's
 * Certificate: no input may crash, leak or trip a sanitizer. Every offset must lie inside the
 * range RFC 8536 allows (above -25 h, below 26 h), both ways of reading a zone must agree, and
 * cron answers must be what cron.h promises (next strictly after and matching, none skipped;
 * prev at or before and matching). Instants stay within years 0000..9999, the times timefmt
 * reads from the API.
 */
#include "cron.h"
#include "forecast.h"
#include "scoring.h"
#include "scratch.h"
#include "tzdb.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_T_MIN INT64_C(-62167219200) /* 0000-01-01T00:00:00Z */
#define FZ_T_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define FZ_OFF_MIN (-89999)            /* RFC 8536 3.2: more than -25 h */
#define FZ_OFF_MAX 93599               /* less than 26 h */
#define FZ_PREV_SPAN (2 * 366 * 86400) /* how far back cron_prev may look */
#define FZ_LIFETIME (90 * 86400)       /* the certificate fc_renewal_time schedules */

static const int64_t fz_instants[] = {
    FZ_T_MIN, -2208988800 /* 1900 */, -1, 0, 946684800 /* 2000 */, 1774746000 /* 2026-03-29 */,
    1798761600 /* 2027-01-01 */, 1814400000 /* 2027-07-01 */, 1824944400 /* 2027-10-31 */,
    4102444800 /* 2100 */, FZ_T_MAX,
};
#define FZ_NINSTANTS (sizeof fz_instants / sizeof fz_instants[0])

/* Window expressions as users write them, impossible and leap-day ones included. */
static const char *const fz_crons[] = {
    "0 2 * * *", "*/15 9-17 * * mon-fri", "30 1 29 2 *", "0 0 31 2 *", "@hourly", "0 0 1,15 * 0",
};
#define FZ_NCRONS (sizeof fz_crons / sizeof fz_crons[0])

static char fz_dir[4096], fz_sub[4200], fz_file[4300];

static void
fz_fail(const char *what, long long a, long long b)
{
	fprintf(stderr, "fuzz_tzdb: %s (%lld, %lld)\n", what, a, b);
	abort();
}

static void
fz_cleanup(void)
{
	unlink(fz_file);
	rmdir(fz_sub);
	rmdir(fz_dir);
}

static void
fz_init(void)
{
	if (scratch_dir("fuzz-tzdb", fz_dir, sizeof fz_dir) != 0)
		fz_fail("mkdtemp", 0, 0);
	snprintf(fz_sub, sizeof fz_sub, "%s/Fuzz", fz_dir);
	snprintf(fz_file, sizeof fz_file, "%s/Zone", fz_sub);
	if (mkdir(fz_sub, 0700) != 0)
		fz_fail("mkdir", 0, 0);
	atexit(fz_cleanup);
}

/* The zone file holds exactly p[0..n), rewritten in place (see fuzz_kubeconfig.c for why). */
static void
fz_write(const void *p, size_t n)
{
	int fd = open(fz_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		fz_fail("open", 0, 0);
	size_t off = 0;
	while (off < n) {
		ssize_t w = pwrite(fd, (const char *)p + off, n - off, (off_t)off);
		if (w <= 0)
			fz_fail("write", 0, 0);
		off += (size_t)w;
	}
	if (ftruncate(fd, (off_t)n) != 0)
		fz_fail("ftruncate", 0, 0);
	close(fd);
}

static void
fz_check_off(int32_t off)
{
	if (off < FZ_OFF_MIN || off > FZ_OFF_MAX)
		fz_fail("offset out of RFC 8536's range", off, 0);
}

/* t falls on a whole minute of local time (an offset may have seconds, as LMT offsets do). */
static int
fz_aligned(int64_t t, int32_t off)
{
	return ((t + off) % 60 + 60) % 60 == 0;
}

/* cron.h's promises for ce at instant t in offset off. */
static void
fz_cron(const struct cron_expr *ce, int64_t t, int32_t off)
{
	int64_t n = cron_next(ce, t, off);
	if (n != 0) {
		if (n <= t || !fz_aligned(n, off) || !cron_matches(ce, n, off))
			fz_fail("cron_next: not after, not aligned or not matching", t, n);
		/* nothing matches in between (0 is cron_prev's "none", so stay clear of it) */
		if (n - 1 >= t + 1 && (t + 1 > 0 || n - 1 < 0) &&
		    cron_prev(ce, n - 1, t + 1, off) != 0)
			fz_fail("cron_next skipped a matching minute", t, n);
	}
	int64_t floor = t - FZ_PREV_SPAN;
	int64_t p = cron_prev(ce, t, floor, off);
	if (p != 0) {
		if (p > t || p < floor || !fz_aligned(p, off) || !cron_matches(ce, p, off))
			fz_fail("cron_prev: after at, before floor, not aligned or not matching", t,
			    p);
		if (p + 60 <= t) {
			int64_t again = cron_next(ce, p, off);
			if (again != 0 && again <= t)
				fz_fail("cron_prev is not the latest match", p, again);
		}
	}
	struct cron_tm tm;
	cron_gmtime(t, off, &tm);
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 ||
	    tm.tm_sec < 0 || tm.tm_sec > 59 || tm.tm_wday < 0 || tm.tm_wday > 6)
		fz_fail("cron_gmtime out of range", t, off);
	if (cron_timegm(tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec) !=
	    t + off)
		fz_fail("cron_timegm does not invert cron_gmtime", t, off);
}

/* A certificate valid from t whose renewal window is expression c in offset off. */
static void
fz_schedule(const char *c, int64_t t, int32_t off)
{
	struct sc_window w = {c, 6 * 3600, off};
	struct sc_renew_spec spec;
	memset(&spec, 0, sizeof spec);
	spec.rs_policy = SC_RENEWAL_RENEW_BEFORE;
	spec.rs_windows = &w;
	spec.rs_nwindows = 1;
	int64_t at = 0;
	int rc = fc_renewal_time(t, t + FZ_LIFETIME, &spec, &at);
	if (rc == SC_OK && (at < t - w.rw_duration || at > t + FZ_LIFETIME + w.rw_duration))
		fz_fail("fc_renewal_time outside the certificate and its window", t, at);
	if (rc != SC_OK && rc != SC_ERR_NOWINDOW && rc != SC_ERR_PARSE)
		fz_fail("fc_renewal_time: unexpected result", rc, t);
}

/* Every fixed window expression at t in offset off. */
static void
fz_windows(int64_t t, int32_t off)
{
	for (size_t i = 0; i < FZ_NCRONS; i++) {
		struct cron_expr ce;
		if (cron_parse(fz_crons[i], &ce, NULL, 0) != SC_OK)
			fz_fail("a fixed expression does not parse", (long long)i, 0);
		fz_cron(&ce, t, off);
	}
	fz_schedule(fz_crons[t & 1 ? 0 : 1], t, off);
}

static void
fz_tzif(const uint8_t *p, size_t n)
{
	struct tz_zone *z = NULL;
	char err[256] = "";
	int rc = tz_zone_parse(p, n, &z, err, sizeof err);
	if (rc != 0 && (z != NULL || err[0] == '\0'))
		fz_fail("tz_zone_parse: an error with a zone or without a reason", rc, 0);

	/* the same bytes as a zone file, by name; a fresh database so nothing is cached */
	fz_write(p, n);
	struct tz_db *db = tz_db_new(fz_dir);
	for (size_t i = 0; i < FZ_NINSTANTS; i++) {
		int32_t off = 0, dboff = 0;
		int first = 0;
		int drc = tz_db_offset(db, "Fuzz/Zone", fz_instants[i], &dboff, err, sizeof err,
		    &first);
		if ((drc == 0) != (rc == 0 && n > 0) || first != (i == 0))
			fz_fail("tz_db_offset and tz_zone_parse disagree", drc, rc);
		if (z == NULL)
			continue;
		off = tz_zone_offset(z, fz_instants[i]);
		fz_check_off(off);
		if (off != dboff)
			fz_fail("tz_db_offset and tz_zone_offset differ", off, dboff);
		fz_windows(fz_instants[i], off);
	}
	if (tz_db_cached(db) != 1)
		fz_fail("the zone is not cached once", (long long)tz_db_cached(db), 0);
	tz_db_free(db);
	tz_zone_free(z);
}

static void
fz_rule(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1), err[256] = "";
	struct tz_rule r;
	if (s == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	if (tz_rule_parse(s, &r, err, sizeof err) == 0) {
		for (size_t i = 0; i < FZ_NINSTANTS; i++) {
			int32_t off = tz_rule_offset(&r, fz_instants[i]);
			if (off != r.tr_std_off && !(r.tr_has_dst && off == r.tr_dst_off))
				fz_fail("tz_rule_offset is neither standard nor daylight", off, 0);
			fz_check_off(off);
			fz_windows(fz_instants[i], off);
		}
	} else if (err[0] == '\0') {
		fz_fail("tz_rule_parse refused without a reason", 0, 0);
	}
	free(s);
}

/* "EXPR\n" then 4 bytes of offset and 8 of instant (big-endian), both brought into range. */
static void
fz_cron_input(const uint8_t *p, size_t n)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t el = nl ? (size_t)(nl - p) : n;
	char expr[256], err[256] = "";
	if (el >= sizeof expr)
		return;
	memcpy(expr, p, el);
	expr[el] = '\0';
	uint8_t tail[12] = {0};
	if (nl)
		memcpy(tail, nl + 1, n - el - 1 < sizeof tail ? n - el - 1 : sizeof tail);
	uint32_t uo = (uint32_t)tail[0] << 24 | (uint32_t)tail[1] << 16 | (uint32_t)tail[2] << 8 |
	    tail[3];
	uint64_t ut = 0;
	for (int i = 4; i < 12; i++)
		ut = ut << 8 | tail[i];
	int32_t off = (int32_t)(uo % (uint32_t)(FZ_OFF_MAX - FZ_OFF_MIN + 1)) + FZ_OFF_MIN;
	int64_t t = FZ_T_MIN + (int64_t)(ut % (uint64_t)(FZ_T_MAX - FZ_T_MIN + 1));
	struct cron_expr ce;
	if (cron_parse(expr, &ce, err, sizeof err) == SC_OK) {
		fz_cron(&ce, t, off);
		fz_schedule(expr, t, off);
	} else if (err[0] == '\0') {
		fz_fail("cron_parse refused without a reason", 0, 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_dir[0] == '\0')
		fz_init();
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fz_tzif(data + 1, size - 1);
		break;
	case 1:
		fz_rule(data + 1, size - 1);
		break;
	default:
		fz_cron_input(data + 1, size - 1);
		break;
	}
	return 0;
}
