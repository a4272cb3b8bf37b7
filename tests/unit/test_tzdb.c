/*
 * tzdb: POSIX TZ rules, TZif parsing and zone lookup by name. The system's zone files are
 * checked against glibc's own reading of them (localtime_r with TZ set; Criterion runs each
 * test in its own process, so setenv is safe here).
 */
#include "tzdb.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define H 3600

/* Unix time of a UTC calendar instant (timegm is fine in tests). */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

/* ---- POSIX rules --------------------------------------------------------------------------- */

struct rule_case {
	const char *name, *rule;
	int y, mo, d, h, mi, s; /* UTC instant */
	int32_t want;           /* seconds east */
};

static const struct rule_case rule_cases[] = {
	{"berlin winter", "CET-1CEST,M3.5.0,M10.5.0/3", 2026, 1, 15, 12, 0, 0, 1 * H},
	{"berlin summer", "CET-1CEST,M3.5.0,M10.5.0/3", 2026, 7, 15, 12, 0, 0, 2 * H},
	/* 2026-03-29 is the last Sunday of March: 02:00 CET = 01:00 UTC */
	{"berlin just before spring", "CET-1CEST,M3.5.0,M10.5.0/3", 2026, 3, 29, 0, 59, 59, 1 * H},
	{"berlin at spring", "CET-1CEST,M3.5.0,M10.5.0/3", 2026, 3, 29, 1, 0, 0, 2 * H},
	/* 2026-10-25: 03:00 CEST = 01:00 UTC */
	{"berlin just before autumn", "CET-1CEST,M3.5.0,M10.5.0/3", 2026, 10, 25, 0, 59, 59, 2 * H},
	{"berlin at autumn", "CET-1CEST,M3.5.0,M10.5.0/3", 2026, 10, 25, 1, 0, 0, 1 * H},
	{"denver summer", "MST7MDT,M3.2.0,M11.1.0", 2027, 8, 1, 0, 0, 0, -6 * H},
	{"denver winter", "MST7MDT,M3.2.0,M11.1.0", 2027, 12, 1, 0, 0, 0, -7 * H},
	/* southern hemisphere: daylight time spans New Year */
	{"sydney january", "AEST-10AEDT,M10.1.0,M4.1.0/3", 2026, 1, 15, 0, 0, 0, 11 * H},
	{"sydney july", "AEST-10AEDT,M10.1.0,M4.1.0/3", 2026, 7, 15, 0, 0, 0, 10 * H},
	{"sydney december", "AEST-10AEDT,M10.1.0,M4.1.0/3", 2026, 12, 31, 23, 0, 0, 11 * H},
	{"kolkata", "IST-5:30", 2030, 6, 1, 0, 0, 0, 5 * H + 1800},
	{"quoted names", "<+0545>-5:45", 2030, 6, 1, 0, 0, 0, 5 * H + 2700},
	{"quoted negative", "<-03>3", 2030, 6, 1, 0, 0, 0, -3 * H},
	/* RFC 8536 extensions: hours beyond 24 and negative times of day */
	{"israel summer", "IST-2IDT,M3.4.4/26,M10.5.0", 2026, 6, 1, 0, 0, 0, 3 * H},
	{"nuuk summer", "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2026, 6, 1, 0, 0, 0, -1 * H},
	{"nuuk winter", "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2026, 1, 10, 0, 0, 0, -2 * H},
	{"daylight all year", "EST5EDT4,0/0,J365/25", 2026, 2, 1, 0, 0, 0, -4 * H},
	{"explicit dst offset", "AAA-1BBB-3,M3.5.0,M10.5.0", 2026, 7, 1, 0, 0, 0, 3 * H},
	{"julian date", "AAA0BBB,J60,J300", 2028, 3, 1, 12, 0, 0, 1 * H}, /* J60 is March 1 */
	{"julian date before", "AAA0BBB,J60,J300", 2028, 2, 29, 12, 0, 0, 0},
	{"zero-based date", "AAA0BBB,59,300", 2028, 2, 29, 12, 0, 0, 1 * H}, /* 59 is Feb 29 */
	{"no dates: US rules", "EST5EDT", 2026, 7, 1, 0, 0, 0, -4 * H},
	{"utc", "UTC0", 2026, 7, 1, 0, 0, 0, 0},
};

Test(tzdb, rule_cases)
{
	for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		const struct rule_case *c = &rule_cases[i];
		struct tz_rule r;
		char err[256] = "";
		cr_assert_eq(tz_rule_parse(c->rule, &r, err, sizeof(err)), 0, "%s: %s", c->name, err);
		int32_t got = tz_rule_offset(&r, utc(c->y, c->mo, c->d, c->h, c->mi, c->s));
		cr_expect_eq(got, c->want, "%s: got %d want %d", c->name, got, c->want);
	}
}

struct bad_rule {
	const char *rule, *want; /* want: a piece of the message */
};

static const struct bad_rule bad_rules[] = {
	{"", "empty TZ rule"},
	{"CE-1", "at byte 2: expected an abbreviation of at least 3 letters"},
	{"CET", "at byte 3: expected hours"},
	{"CET-25", "hours out of range"},
	{"CET-1:60", "minutes out of range"},
	{"CET-1CEST,M13.1.0,M10.5.0", "month must be 1..12"},
	{"CET-1CEST,M3.6.0,M10.5.0", "week must be 1..5"},
	{"CET-1CEST,M3.5.7,M10.5.0", "weekday must be 0..6"},
	{"CET-1CEST,M3-5.0,M10.5.0", "expected '.' after the month"},
	{"CET-1CEST,M3.5.0", "expected ',' before the end date"},
	{"CET-1CEST,M3.5.0,M10.5.0/168", "hours out of range"},
	{"CET-1CEST,J0,J365", "Julian day must be 1..365"},
	{"CET-1CEST,366,J365", "day must be 0..365"},
	{"CET-1CEST,M3.5.0,M10.5.0x", "unexpected text after the end date"},
	{"<AB>3", "at least 3 characters"},
	{"<ABC3", "expected '>'"},
	{"CET-1CEST;", "at byte 9: expected hours"},
	{"CET-1CE", "at least 3 letters"},
};

Test(tzdb, rule_errors_name_the_byte)
{
	for (size_t i = 0; i < sizeof(bad_rules) / sizeof(bad_rules[0]); i++) {
		struct tz_rule r;
		char err[256] = "";
		cr_expect_eq(tz_rule_parse(bad_rules[i].rule, &r, err, sizeof(err)), -1, "\"%s\"",
			     bad_rules[i].rule);
		cr_expect(strstr(err, bad_rules[i].want) != NULL, "\"%s\": %s", bad_rules[i].rule,
			  err);
	}
	struct tz_rule r;
	char err[64];
	cr_expect_eq(tz_rule_parse(NULL, &r, err, sizeof(err)), -1);
}

/* ---- hand-made TZif ------------------------------------------------------------------------ */

struct w {
	unsigned char b[1024];
	size_t n;
};

static void
put(struct w *w, const void *p, size_t n)
{
	cr_assert(w->n + n <= sizeof(w->b));
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void
put32(struct w *w, uint32_t v)
{
	unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};
	put(w, b, 4);
}

static void
put64(struct w *w, int64_t v)
{
	put32(w, (uint32_t)((uint64_t)v >> 32));
	put32(w, (uint32_t)v);
}

/*
 * A zone with types {+1h "AAA", +2h "BBB"} and transitions at t1 (to BBB) and t2 (to AAA),
 * as version 1 (version 0) or version 2 with footer.
 */
static void
make_zone(struct w *w, char version, int64_t t1, int64_t t2, const char *footer)
{
	static const char chars[] = "AAA\0BBB";
	w->n = 0;
	for (int pass = 0; pass < (version ? 2 : 1); pass++) {
		int wide = pass == 1;
		put(w, "TZif", 4);
		unsigned char v = (unsigned char)version;
		put(w, &v, 1);
		unsigned char zero[15] = {0};
		put(w, zero, 15);
		put32(w, 0); /* isutcnt */
		put32(w, 0); /* isstdcnt */
		put32(w, 0); /* leapcnt */
		put32(w, 2); /* timecnt */
		put32(w, 2); /* typecnt */
		put32(w, 8); /* charcnt */
		if (wide) {
			put64(w, t1);
			put64(w, t2);
		} else {
			put32(w, (uint32_t)(int32_t)t1);
			put32(w, (uint32_t)(int32_t)t2);
		}
		unsigned char idx[2] = {1, 0};
		put(w, idx, 2);
		put32(w, 3600);
		unsigned char a[2] = {0, 0};
		put(w, a, 2);
		put32(w, 7200);
		unsigned char b[2] = {1, 4};
		put(w, b, 2);
		put(w, chars, 8);
	}
	if (version) {
		put(w, "\n", 1);
		put(w, footer, strlen(footer));
		put(w, "\n", 1);
	}
}

Test(tzdb, tzif_v2_with_footer)
{
	struct w w;
	struct tz_zone *z;
	char err[256] = "";
	int64_t t1 = 1000000, t2 = 2000000;
	make_zone(&w, '2', t1, t2, "CCC-3");
	cr_assert_eq(tz_zone_parse(w.b, w.n, &z, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(tz_zone_offset(z, t1 - 1), 3600, "type 0 before the first transition");
	cr_expect_eq(tz_zone_offset(z, t1), 7200);
	cr_expect_eq(tz_zone_offset(z, t2 - 1), 7200);
	cr_expect_eq(tz_zone_offset(z, t2), 3 * H, "the footer rule from the last transition on");
	cr_expect_eq(tz_zone_offset(z, INT64_MAX / 2), 3 * H);
	tz_zone_free(z);

	make_zone(&w, '2', t1, t2, ""); /* empty footer: the last type goes on */
	cr_assert_eq(tz_zone_parse(w.b, w.n, &z, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(tz_zone_offset(z, t2 + 100), 3600);
	tz_zone_free(z);
}

Test(tzdb, tzif_v1)
{
	struct w w;
	struct tz_zone *z;
	char err[256] = "";
	make_zone(&w, 0, -5000, 5000, NULL);
	cr_assert_eq(tz_zone_parse(w.b, w.n, &z, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(tz_zone_offset(z, -5001), 3600);
	cr_expect_eq(tz_zone_offset(z, 0), 7200);
	cr_expect_eq(tz_zone_offset(z, 5000), 3600);
	tz_zone_free(z);
}

struct tzif_bad {
	const char *name;
	size_t at;          /* byte to change */
	unsigned char to;
	const char *want;
};

Test(tzdb, tzif_errors)
{
	struct w w;
	make_zone(&w, '2', 1000, 2000, "CCC-3");
	/* offsets inside the second (64-bit) part: header at 44 + v1 block (2*4+2+12+8) = 74 */
	const size_t h2 = 44 + 30, d2 = h2 + 44;
	const struct tzif_bad cases[] = {
		{"magic", 0, 'X', "no \"TZif\" magic at byte 0"},
		{"version", 4, '9', "unknown version byte 0x39 at byte 4"},
		{"typecnt zero", 35 + 4, 0, "typecnt 0"},
		{"second magic", h2, 'x', "no \"TZif\" magic at byte 74"},
		{"transitions out of order", d2 + 6, 0xff, "is not after the one before it"},
		{"type index", d2 + 16, 7, "names time type 7 of 2"},
		{"isdst", d2 + 18 + 4, 2, "bad isdst or designation index"},
		{"designation", d2 + 18 + 5, 9, "bad isdst or designation index"},
		{"offset", d2 + 18, 0x7f, "UT offset"},
		{"footer newline", d2 + 18 + 12 + 8, 'x', "does not start with a newline"},
		{"footer rule", d2 + 18 + 12 + 8 + 1, '1', "footer at byte"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct w m = w;
		struct tz_zone *z = NULL;
		char err[256] = "";
		cr_assert_lt(cases[i].at, m.n, "%s", cases[i].name);
		m.b[cases[i].at] = cases[i].to;
		cr_expect_eq(tz_zone_parse(m.b, m.n, &z, err, sizeof(err)), -1, "%s", cases[i].name);
		cr_expect_null(z);
		cr_expect(strstr(err, cases[i].want) != NULL, "%s: %s", cases[i].name, err);
	}
	/* every truncation is refused with a message, never read past */
	for (size_t n = 0; n < w.n; n++) {
		unsigned char *cut = malloc(n ? n : 1);
		memcpy(cut, w.b, n);
		struct tz_zone *z = NULL;
		char err[256] = "";
		cr_expect_eq(tz_zone_parse(cut, n, &z, err, sizeof(err)), -1, "cut at %zu", n);
		cr_expect_neq(err[0], '\0', "cut at %zu has no message", n);
		free(cut);
	}
}

/* Random byte changes of a valid file: parsed or refused, offsets always in range. */
Test(tzdb, tzif_mutations)
{
	struct w w;
	make_zone(&w, '2', 1000, 2000, "CET-1CEST,M3.5.0,M10.5.0/3");
	srand(4242);
	int ok = 0, refused = 0;
	for (int i = 0; i < 5000; i++) {
		struct w m = w;
		int nflip = 1 + rand() % 4;
		for (int k = 0; k < nflip; k++)
			m.b[(size_t)rand() % m.n] = (unsigned char)rand();
		size_t len = rand() % 8 == 0 ? (size_t)rand() % m.n : m.n;
		unsigned char *heap = malloc(len ? len : 1); /* exact size, so ASan sees overreads */
		memcpy(heap, m.b, len);
		struct tz_zone *z = NULL;
		char err[256];
		if (tz_zone_parse(heap, len, &z, err, sizeof(err)) == 0) {
			for (int64_t t = -4000; t < 4000000000LL; t += 99999937) {
				int32_t off = tz_zone_offset(z, t);
				cr_assert(off >= -89999 && off <= 93599);
			}
			tz_zone_free(z);
			ok++;
		} else {
			refused++;
		}
		free(heap);
	}
	cr_expect_gt(ok, 0);
	cr_expect_gt(refused, 0);
}

/* ---- the system's zone files against glibc ------------------------------------------------- */

static const char *zone_root = "/usr/share/zoneinfo";
static int zones_checked;
static struct tz_db *zones_db;

static int
check_zone(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	const char *name = path + strlen(zone_root) + 1;
	/* right/ counts leap seconds (glibc then does too); posixrules is a copy of New York */
	if (strncmp(name, "right/", 6) == 0)
		return 0;
	FILE *f = fopen(path, "rb");
	unsigned char magic[4] = {0};
	if (f == NULL)
		return 0;
	size_t got = fread(magic, 1, 4, f);
	fclose(f);
	if (got != 4 || memcmp(magic, "TZif", 4) != 0)
		return 0; /* zone.tab, iso3166.tab, leapseconds, ... */
	struct tz_db *db = zones_db;
	char tzenv[512];
	snprintf(tzenv, sizeof(tzenv), ":%s", path);
	setenv("TZ", tzenv, 1);
	tzset();
	/* every 9 days and an hour, 1971..2100: each step lands at another time of day */
	for (int64_t t = utc(1971, 1, 1, 0, 0, 0); t < utc(2100, 1, 1, 0, 0, 0); t += 9 * 86400 + 3607) {
		time_t tt = (time_t)t;
		struct tm tm;
		localtime_r(&tt, &tm);
		int32_t mine = 0;
		char err[512] = "";
		cr_assert_eq(tz_db_offset(db, name, t, &mine, err, sizeof(err), NULL), 0, "%s: %s", name,
			     err);
		cr_assert_eq(mine, (int32_t)tm.tm_gmtoff, "%s at %lld: mine %d glibc %ld", name,
			     (long long)t, mine, tm.tm_gmtoff);
	}
	zones_checked++;
	return 0;
}

Test(tzdb, system_zones_match_glibc)
{
	struct stat st;
	cr_assert_eq(stat("/usr/share/zoneinfo/Europe/Berlin", &st), 0,
		     "the tzdata package is needed for this test (hack/deps.sh installs it)");
	zones_db = tz_db_new(zone_root);
	cr_assert_eq(nftw(zone_root, check_zone, 16, FTW_PHYS), 0);
	tz_db_free(zones_db);
	cr_expect_gt(zones_checked, 300, "only %d zones checked", zones_checked);
}

/* The exact change instants of one zone, which 9-day steps would step over. */
Test(tzdb, system_zone_transitions)
{
	struct tz_db *db = tz_db_new("/usr/share/zoneinfo");
	int32_t off;
	char err[256];
	const struct {
		const char *zone;
		int y, mo, d, h, mi, s;
		int32_t want;
	} cases[] = {
		{"Europe/Berlin", 2031, 3, 30, 0, 59, 59, 1 * H},
		{"Europe/Berlin", 2031, 3, 30, 1, 0, 0, 2 * H},
		{"America/Denver", 2040, 11, 4, 7, 59, 59, -6 * H},
		{"America/Denver", 2040, 11, 4, 8, 0, 0, -7 * H},
		{"Australia/Sydney", 2027, 4, 3, 15, 59, 59, 11 * H},
		{"Australia/Sydney", 2027, 4, 3, 16, 0, 0, 10 * H},
		{"Asia/Kolkata", 2026, 12, 2, 0, 0, 0, 5 * H + 1800},
		{"UTC", 2026, 12, 2, 0, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = utc(cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi,
				cases[i].s);
		cr_assert_eq(tz_db_offset(db, cases[i].zone, t, &off, err, sizeof(err), NULL), 0, "%s",
			     err);
		cr_expect_eq(off, cases[i].want, "%s case %zu: %d", cases[i].zone, i, off);
	}
	tz_db_free(db);
}

/* ---- lookup by name ------------------------------------------------------------------------ */

Test(tzdb, names_and_errors)
{
	char dir[] = "/tmp/certcast-tzdb-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/Bad", dir);
	FILE *f = fopen(path, "w");
	fputs("not a zone\n", f);
	fclose(f);
	struct w w;
	make_zone(&w, '2', 1000, 2000, "CCC-3");
	snprintf(path, sizeof(path), "%s/Good", dir);
	f = fopen(path, "wb");
	fwrite(w.b, 1, w.n, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/Sub", dir);
	mkdir(path, 0700);

	struct tz_db *db = tz_db_new(dir);
	int32_t off = 123;
	char err[512] = "";
	cr_expect_eq(tz_db_offset(db, "Good", 1500, &off, err, sizeof(err), NULL), 0, "%s", err);
	cr_expect_eq(off, 7200);
	cr_expect_eq(tz_db_offset(db, "Good", 3000, &off, err, sizeof(err), NULL), 0);
	cr_expect_eq(off, 3 * H);
	/* UTC needs no file: this folder has none */
	cr_expect_eq(tz_db_offset(db, "UTC", 1500, &off, err, sizeof(err), NULL), 0);
	cr_expect_eq(off, 0);
	cr_expect_eq(tz_db_offset(db, NULL, 1500, &off, err, sizeof(err), NULL), 0);
	cr_expect_eq(tz_db_offset(db, "Etc/UTC", 1500, &off, err, sizeof(err), NULL), 0);

	const struct {
		const char *name, *want;
	} bad[] = {
		{"../etc/passwd", "not a valid zone name"},
		{"/etc/localtime", "not a valid zone name"},
		{"Europe//Berlin", "not a valid zone name"},
		{"Europe/./Berlin", "not a valid zone name"},
		{"Europe/..", "not a valid zone name"},
		{"New York", "not a valid zone name"},
		{"Good/", "not a valid zone name"},
		{"Mars/Olympus", "no such zone in /tmp/certcast-tzdb-"},
		{"Good/x", "no such zone"},
		{"Bad", "bad TZif file: no \"TZif\" magic at byte 0"},
		{"Sub", "is not a zone file"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		off = 77;
		err[0] = '\0';
		cr_expect_eq(tz_db_offset(db, bad[i].name, 1500, &off, err, sizeof(err), NULL), -1, "%s",
			     bad[i].name);
		cr_expect(strstr(err, bad[i].want) != NULL, "%s: %s", bad[i].name, err);
		cr_expect(strstr(err, bad[i].name) != NULL, "the message names the zone: %s", err);
		cr_expect_eq(off, 0);
	}
	size_t n = tz_db_cached(db);
	cr_expect_eq(n, 1 + sizeof(bad) / sizeof(bad[0]), "failures are cached too: %zu", n);
	/* a cached failure answers the same without the file system */
	snprintf(path, sizeof(path), "%s/Bad", dir);
	cr_assert_eq(unlink(path), 0);
	int first = 9;
	cr_expect_eq(tz_db_offset(db, "Bad", 1500, &off, err, sizeof(err), &first), -1);
	cr_expect(strstr(err, "bad TZif file") != NULL);
	cr_expect_eq(first, 0, "the failure was met before");
	cr_expect_eq(tz_db_offset(db, "Bad2", 1500, &off, err, sizeof(err), &first), -1);
	cr_expect_eq(first, 1, "a new name is a first lookup");
	n++;
	cr_expect_eq(tz_db_cached(db), n);
	tz_db_free(db);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

struct thr {
	struct tz_db *db;
	int bad;
};

static void *
thr_main(void *arg)
{
	struct thr *t = arg;
	static const char *zones[] = {"Europe/Berlin", "America/Denver", "Australia/Sydney",
				      "Nowhere/Zone"};
	for (int i = 0; i < 2000; i++) {
		int32_t off;
		char err[256];
		const char *z = zones[i % 4];
		int rc = tz_db_offset(t->db, z, utc(2026, 7, 1, 0, 0, 0), &off, err, sizeof(err), NULL);
		int32_t want = i % 4 == 0 ? 2 * H : i % 4 == 1 ? -6 * H : i % 4 == 2 ? 10 * H : 0;
		if ((i % 4 == 3) != (rc == -1) || off != want)
			t->bad++;
	}
	return NULL;
}

Test(tzdb, threads_share_one_db)
{
	struct tz_db *db = tz_db_new("/usr/share/zoneinfo");
	pthread_t th[4];
	struct thr ts[4];
	for (int i = 0; i < 4; i++) {
		ts[i] = (struct thr){db, 0};
		pthread_create(&th[i], NULL, thr_main, &ts[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(ts[i].bad, 0, "thread %d", i);
	}
	cr_expect_eq(tz_db_cached(db), 4);
	tz_db_free(db);
}
