#include "tzdb.h"

#include "timefmt.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest real zone file is a few KiB; anything far bigger is not a zone file. */
#define TZ_MAX_FILE (1u << 20)
/* Zones cached per tz_db; certificates name few distinct zones, a flood of names is not cached. */
#define TZ_MAX_CACHED 256
/* RFC 8536 3.2: a UT offset SHOULD be more than -25 hours and less than 26 hours. */
#define TZ_MIN_OFF (-89999)
#define TZ_MAX_OFF 93599

__attribute__((format(printf, 3, 4))) static void
tz_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

/* ---- calendar ------------------------------------------------------------------------------ */

static bool
tz_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t
tz_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The Gregorian year that day number days (from 1970-01-01) falls in. */
static int64_t
tz_year_of_day(int64_t days)
{
	int64_t y;
	int m, d;
	tf_civil_from_days(days, &y, &m, &d);
	return y;
}

static int
tz_days_in_month(int64_t y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && tz_leap(y) ? 29 : dim[m - 1];
}

/* Day number of a rule date in year y. */
static int64_t
tz_date_day(const struct tz_date *d, int64_t y)
{
	int64_t jan1 = tf_days_from_civil(y, 1, 1);
	switch (d->td_kind) {
	case 'J': /* Feb 29 is never counted: day 60 is always March 1 */
		return jan1 + d->td_day - 1 + (tz_leap(y) && d->td_day >= 60 ? 1 : 0);
	case 'D':
		return jan1 + d->td_day;
	default: {
		int64_t first = tf_days_from_civil(y, d->td_month, 1);
		int wfirst = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
		int off = (d->td_wday - wfirst + 7) % 7 + (d->td_week - 1) * 7;
		while (off >= tz_days_in_month(y, d->td_month))
			off -= 7; /* week 5 means the last such weekday */
		return first + off;
	}
	}
}

/* ---- POSIX TZ rules ------------------------------------------------------------------------ */

struct tz_p {
	const char *s, *p;
	char *err;
	size_t errsz;
};

static int
tz_p_fail(struct tz_p *p, const char *what)
{
	tz_err(p->err, p->errsz, "TZ rule \"%s\": at byte %zu: %s", p->s, (size_t)(p->p - p->s),
	       what);
	return -1;
}

static bool
tz_isalpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
tz_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/* A zone abbreviation: three or more letters, or <...> of letters, digits, '+' and '-'. */
static int
tz_p_name(struct tz_p *p)
{
	const char *start;
	if (*p->p == '<') {
		start = ++p->p;
		while (tz_isalpha(*p->p) || tz_isdigit(*p->p) || *p->p == '+' || *p->p == '-')
			p->p++;
		if (*p->p != '>')
			return tz_p_fail(p, "expected '>' closing the quoted abbreviation");
		if (p->p - start < 3)
			return tz_p_fail(p, "an abbreviation has at least 3 characters");
		p->p++;
		return 0;
	}
	start = p->p;
	while (tz_isalpha(*p->p))
		p->p++;
	if (p->p - start < 3)
		return tz_p_fail(p, "expected an abbreviation of at least 3 letters");
	return 0;
}

/* Up to max_digits digits into *v; at least one. */
static int
tz_p_num(struct tz_p *p, int max_digits, int *v, const char *what)
{
	int n = 0, x = 0;
	while (tz_isdigit(*p->p) && n < max_digits) {
		x = x * 10 + (*p->p - '0');
		p->p++;
		n++;
	}
	if (n == 0)
		return tz_p_fail(p, what);
	*v = x;
	return 0;
}

/* [+-]hh[:mm[:ss]] with hours up to max_h, as seconds (sign applied). */
static int
tz_p_hms(struct tz_p *p, int max_h, int32_t *out)
{
	int sign = 1, h = 0, m = 0, s = 0;
	if (*p->p == '+' || *p->p == '-')
		sign = *p->p++ == '-' ? -1 : 1;
	if (tz_p_num(p, 3, &h, "expected hours") != 0)
		return -1;
	if (h > max_h)
		return tz_p_fail(p, "hours out of range");
	if (*p->p == ':') {
		p->p++;
		if (tz_p_num(p, 2, &m, "expected minutes") != 0)
			return -1;
		if (m > 59)
			return tz_p_fail(p, "minutes out of range");
		if (*p->p == ':') {
			p->p++;
			if (tz_p_num(p, 2, &s, "expected seconds") != 0)
				return -1;
			if (s > 59)
				return tz_p_fail(p, "seconds out of range");
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return 0;
}

/* Jn, n or Mm.w.d, then an optional /time (default 02:00). */
static int
tz_p_date(struct tz_p *p, struct tz_date *d)
{
	memset(d, 0, sizeof(*d));
	if (*p->p == 'J') {
		p->p++;
		d->td_kind = 'J';
		if (tz_p_num(p, 3, &d->td_day, "expected a Julian day") != 0)
			return -1;
		if (d->td_day < 1 || d->td_day > 365)
			return tz_p_fail(p, "Julian day must be 1..365");
	} else if (*p->p == 'M') {
		p->p++;
		d->td_kind = 'M';
		if (tz_p_num(p, 2, &d->td_month, "expected a month") != 0)
			return -1;
		if (d->td_month < 1 || d->td_month > 12)
			return tz_p_fail(p, "month must be 1..12");
		if (*p->p != '.')
			return tz_p_fail(p, "expected '.' after the month");
		p->p++;
		if (tz_p_num(p, 1, &d->td_week, "expected a week") != 0)
			return -1;
		if (d->td_week < 1 || d->td_week > 5)
			return tz_p_fail(p, "week must be 1..5");
		if (*p->p != '.')
			return tz_p_fail(p, "expected '.' after the week");
		p->p++;
		if (tz_p_num(p, 1, &d->td_wday, "expected a weekday") != 0)
			return -1;
		if (d->td_wday > 6)
			return tz_p_fail(p, "weekday must be 0..6");
	} else {
		d->td_kind = 'D';
		if (tz_p_num(p, 3, &d->td_day, "expected a date (Jn, n or Mm.w.d)") != 0)
			return -1;
		if (d->td_day > 365)
			return tz_p_fail(p, "day must be 0..365");
	}
	d->td_time = 2 * 3600;
	if (*p->p == '/') {
		p->p++;
		/* RFC 8536 3.3.1 extends the hours to -167..167 */
		if (tz_p_hms(p, 167, &d->td_time) != 0)
			return -1;
	}
	return 0;
}

int
tz_rule_parse(const char *s, struct tz_rule *r, char *err, size_t errsz)
{
	struct tz_p p = {s, s, err, errsz};
	int32_t v;
	memset(r, 0, sizeof(*r));
	if (s == NULL || *s == '\0') {
		tz_err(err, errsz, "empty TZ rule");
		return -1;
	}
	if (tz_p_name(&p) != 0 || tz_p_hms(&p, 24, &v) != 0)
		return -1;
	r->tr_std_off = -v; /* POSIX counts west of UTC as positive */
	if (*p.p == '\0')
		return 0;
	if (tz_p_name(&p) != 0)
		return -1;
	r->tr_has_dst = 1;
	r->tr_dst_off = r->tr_std_off + 3600;
	if (*p.p != ',' && *p.p != '\0') {
		if (tz_p_hms(&p, 24, &v) != 0)
			return -1;
		r->tr_dst_off = -v;
	}
	if (*p.p == '\0') {
		/* No dates: tzcode falls back to the US rules, and so do we. */
		r->tr_start = (struct tz_date){'M', 0, 3, 2, 0, 2 * 3600};
		r->tr_end = (struct tz_date){'M', 0, 11, 1, 0, 2 * 3600};
		return 0;
	}
	if (*p.p != ',')
		return tz_p_fail(&p, "expected ',' before the start date");
	p.p++;
	if (tz_p_date(&p, &r->tr_start) != 0)
		return -1;
	if (*p.p != ',')
		return tz_p_fail(&p, "expected ',' before the end date");
	p.p++;
	if (tz_p_date(&p, &r->tr_end) != 0)
		return -1;
	if (*p.p != '\0')
		return tz_p_fail(&p, "unexpected text after the end date");
	return 0;
}

int32_t
tz_rule_offset(const struct tz_rule *r, int64_t t)
{
	if (!r->tr_has_dst)
		return r->tr_std_off;
	int64_t y = tz_year_of_day(tz_floor_div(t + r->tr_std_off, 86400));
	/* the start is given in standard time, the end in daylight time */
	int64_t s = tz_date_day(&r->tr_start, y) * 86400 + r->tr_start.td_time - r->tr_std_off;
	int64_t e = tz_date_day(&r->tr_end, y) * 86400 + r->tr_end.td_time - r->tr_dst_off;
	bool dst = s < e ? (t >= s && t < e) /* northern: daylight time inside the year */
			 : !(t >= e && t < s); /* southern: daylight time spans New Year */
	return dst ? r->tr_dst_off : r->tr_std_off;
}

/* ---- TZif ---------------------------------------------------------------------------------- */

struct tz_zone {
	int64_t *z_times;  /* transition times, ascending */
	uint8_t *z_types;  /* the time type from each transition on */
	int32_t *z_offs;   /* UT offset of each time type */
	size_t z_n, z_ntypes;
	int z_has_rule;
	struct tz_rule z_rule;
};

static uint32_t
tz_be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int64_t
tz_be64(const unsigned char *b)
{
	return (int64_t)((uint64_t)tz_be32(b) << 32 | tz_be32(b + 4));
}

struct tz_hdr {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int
tz_read_hdr(const unsigned char *buf, size_t len, size_t at, struct tz_hdr *h, char *err,
	    size_t errsz)
{
	/* the magic first: a file that is not TZif at all is told so, not called truncated */
	if (len - at >= 4 && memcmp(buf + at, "TZif", 4) != 0) {
		tz_err(err, errsz, "no \"TZif\" magic at byte %zu", at);
		return -1;
	}
	if (len - at < 44) {
		tz_err(err, errsz, "truncated header at byte %zu", at);
		return -1;
	}
	h->version = (char)buf[at + 4];
	if (h->version != 0 && (h->version < '2' || h->version > '4')) {
		tz_err(err, errsz, "unknown version byte 0x%02x at byte %zu", (unsigned)buf[at + 4],
		       at + 4);
		return -1;
	}
	const unsigned char *c = buf + at + 20;
	h->isutcnt = tz_be32(c);
	h->isstdcnt = tz_be32(c + 4);
	h->leapcnt = tz_be32(c + 8);
	h->timecnt = tz_be32(c + 12);
	h->typecnt = tz_be32(c + 16);
	h->charcnt = tz_be32(c + 20);
	if (h->typecnt == 0 || h->typecnt > 256) {
		tz_err(err, errsz, "typecnt %u at byte %zu (must be 1..256)", h->typecnt, at + 36);
		return -1;
	}
	if (h->charcnt == 0) {
		tz_err(err, errsz, "charcnt 0 at byte %zu", at + 40);
		return -1;
	}
	if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)) {
		tz_err(err, errsz, "isutcnt %u / isstdcnt %u differ from typecnt %u at byte %zu",
		       h->isutcnt, h->isstdcnt, h->typecnt, at + 20);
		return -1;
	}
	return 0;
}

/* Bytes of the data block that follows a header, for 4- (v1) or 8-byte (v2+) times. */
static uint64_t
tz_block_len(const struct tz_hdr *h, unsigned tsz)
{
	return (uint64_t)h->timecnt * tsz + h->timecnt + (uint64_t)h->typecnt * 6 + h->charcnt +
	       (uint64_t)h->leapcnt * (tsz + 4) + h->isstdcnt + h->isutcnt;
}

int
tz_zone_parse(const unsigned char *buf, size_t len, struct tz_zone **out, char *err, size_t errsz)
{
	struct tz_hdr h;
	size_t at = 0;
	unsigned tsz = 4;
	*out = NULL;
	if (buf == NULL && len > 0) {
		tz_err(err, errsz, "no data");
		return -1;
	}
	if (tz_read_hdr(buf, len, 0, &h, err, errsz) != 0)
		return -1;
	at = 44;
	if (h.version >= '2') {
		/* skip the 32-bit data; the 64-bit header and data follow it */
		uint64_t skip = tz_block_len(&h, 4);
		if (skip > len - at) {
			tz_err(err, errsz, "version 1 data block of %llu bytes runs past the end (%zu)",
			       (unsigned long long)skip, len);
			return -1;
		}
		at += (size_t)skip;
		if (tz_read_hdr(buf, len, at, &h, err, errsz) != 0)
			return -1;
		at += 44;
		tsz = 8;
	}
	uint64_t blen = tz_block_len(&h, tsz);
	if (blen > len - at) {
		tz_err(err, errsz, "data block at byte %zu of %llu bytes runs past the end (%zu)", at,
		       (unsigned long long)blen, len);
		return -1;
	}
	const unsigned char *times = buf + at;
	const unsigned char *idx = times + (size_t)h.timecnt * tsz;
	const unsigned char *tt = idx + h.timecnt;

	struct tz_zone *z = xcalloc(1, sizeof(*z));
	z->z_n = h.timecnt;
	z->z_ntypes = h.typecnt;
	z->z_times = xmalloc((h.timecnt ? h.timecnt : 1) * sizeof(*z->z_times));
	z->z_types = xmalloc(h.timecnt ? h.timecnt : 1);
	z->z_offs = xmalloc(h.typecnt * sizeof(*z->z_offs));
	for (uint32_t i = 0; i < h.typecnt; i++) {
		const unsigned char *e = tt + (size_t)i * 6;
		int32_t off = (int32_t)tz_be32(e);
		if (off < TZ_MIN_OFF || off > TZ_MAX_OFF) {
			tz_err(err, errsz, "time type %u at byte %zu: UT offset %d out of range", i,
			       (size_t)(e - buf), off);
			goto bad;
		}
		if (e[4] > 1 || e[5] >= h.charcnt) {
			tz_err(err, errsz, "time type %u at byte %zu: bad isdst or designation index",
			       i, (size_t)(e - buf));
			goto bad;
		}
		z->z_offs[i] = off;
	}
	for (uint32_t i = 0; i < h.timecnt; i++) {
		const unsigned char *e = times + (size_t)i * tsz;
		z->z_times[i] = tsz == 8 ? tz_be64(e) : (int64_t)(int32_t)tz_be32(e);
		if (i > 0 && z->z_times[i] <= z->z_times[i - 1]) {
			tz_err(err, errsz, "transition %u at byte %zu is not after the one before it", i,
			       (size_t)(e - buf));
			goto bad;
		}
		if (idx[i] >= h.typecnt) {
			tz_err(err, errsz, "transition %u at byte %zu names time type %u of %u", i,
			       (size_t)(idx + i - buf), idx[i], h.typecnt);
			goto bad;
		}
		z->z_types[i] = idx[i];
	}
	at += (size_t)blen;
	if (tsz == 8) {
		/* the footer: "\n" TZ-string "\n"; an empty string means "no rule" */
		if (at >= len || buf[at] != '\n') {
			tz_err(err, errsz, "footer at byte %zu does not start with a newline", at);
			goto bad;
		}
		const unsigned char *nl = memchr(buf + at + 1, '\n', len - at - 1);
		if (nl == NULL) {
			tz_err(err, errsz, "footer at byte %zu has no closing newline", at);
			goto bad;
		}
		size_t flen = (size_t)(nl - (buf + at + 1));
		if (flen > 0) {
			char rule[256], rerr[200];
			if (flen >= sizeof(rule) || memchr(buf + at + 1, '\0', flen) != NULL) {
				tz_err(err, errsz, "footer at byte %zu is not a TZ rule", at);
				goto bad;
			}
			memcpy(rule, buf + at + 1, flen);
			rule[flen] = '\0';
			if (tz_rule_parse(rule, &z->z_rule, rerr, sizeof(rerr)) != 0) {
				tz_err(err, errsz, "footer at byte %zu: %s", at, rerr);
				goto bad;
			}
			z->z_has_rule = 1;
		}
	}
	*out = z;
	return 0;
bad:
	tz_zone_free(z);
	return -1;
}

void
tz_zone_free(struct tz_zone *z)
{
	if (z == NULL)
		return;
	free(z->z_times);
	free(z->z_types);
	free(z->z_offs);
	free(z);
}

int32_t
tz_zone_offset(const struct tz_zone *z, int64_t t)
{
	/* RFC 8536 3.2: type 0 before the first transition, the footer after the last one */
	if (z->z_n == 0)
		return z->z_has_rule ? tz_rule_offset(&z->z_rule, t) : z->z_offs[0];
	if (t < z->z_times[0])
		return z->z_offs[0];
	if (t >= z->z_times[z->z_n - 1])
		return z->z_has_rule ? tz_rule_offset(&z->z_rule, t)
				     : z->z_offs[z->z_types[z->z_n - 1]];
	size_t lo = 0, hi = z->z_n - 1; /* times[lo] <= t < times[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->z_times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->z_offs[z->z_types[lo]];
}

/* ---- the database -------------------------------------------------------------------------- */

struct tz_entry {
	char *te_name;
	struct tz_zone *te_zone; /* NULL: te_err says why */
	char *te_err;
};

struct tz_db {
	char *d_dir;
	pthread_mutex_t d_mu;
	struct tz_entry *d_ents;
	size_t d_n;
};

struct tz_db *
tz_db_new(const char *dir)
{
	struct tz_db *db = xcalloc(1, sizeof(*db));
	if (dir == NULL || *dir == '\0') {
		const char *env = getenv("TZDIR");
		dir = env != NULL && *env != '\0' ? env : "/usr/share/zoneinfo";
	}
	db->d_dir = xstrdup(dir);
	pthread_mutex_init(&db->d_mu, NULL);
	db->d_ents = xcalloc(TZ_MAX_CACHED, sizeof(*db->d_ents));
	return db;
}

void
tz_db_free(struct tz_db *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < db->d_n; i++) {
		free(db->d_ents[i].te_name);
		tz_zone_free(db->d_ents[i].te_zone);
		free(db->d_ents[i].te_err);
	}
	free(db->d_ents);
	pthread_mutex_destroy(&db->d_mu);
	free(db->d_dir);
	free(db);
}

size_t
tz_db_cached(struct tz_db *db)
{
	pthread_mutex_lock(&db->d_mu);
	size_t n = db->d_n;
	pthread_mutex_unlock(&db->d_mu);
	return n;
}

/*
 * A name that stays inside the zone folder: IANA names are letters, digits and "._+-" in
 * components joined by '/'. No leading '/', no empty, "." or ".." component.
 */
static bool
tz_name_ok(const char *name)
{
	size_t len = strlen(name), comp = 0;
	if (len == 0 || len > 255 || name[0] == '/')
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = name[i];
		if (c == '/' || c == '\0') {
			const char *start = name + i - comp;
			if (comp == 0 || (comp == 1 && start[0] == '.') ||
			    (comp == 2 && start[0] == '.' && start[1] == '.'))
				return false;
			comp = 0;
			continue;
		}
		if (!(tz_isalpha(c) || tz_isdigit(c) || c == '.' || c == '_' || c == '+' || c == '-'))
			return false;
		comp++;
	}
	return true;
}

/* Read and parse the zone file; on failure *errmsg is an allocated reason. */
static struct tz_zone *
tz_db_load(const struct tz_db *db, const char *name, char **errmsg)
{
	char path[4096], why[300];
	unsigned char *buf = NULL;
	struct tz_zone *z = NULL;
	struct stat stt;
	int fd;
	if (!tz_name_ok(name)) {
		*errmsg = xasprintf("time zone \"%s\": not a valid zone name", name);
		return NULL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", db->d_dir, name) >= sizeof(path)) {
		*errmsg = xasprintf("time zone \"%s\": path too long", name);
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			*errmsg = xasprintf("time zone \"%s\": no such zone in %s", name, db->d_dir);
		else
			*errmsg = xasprintf("time zone \"%s\": %s: %s", name, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &stt) != 0 || !S_ISREG(stt.st_mode) || stt.st_size <= 0 ||
	    stt.st_size > (off_t)TZ_MAX_FILE) {
		*errmsg = xasprintf("time zone \"%s\": %s is not a zone file (not a regular file of "
				    "1 byte to 1 MiB)", name, path);
		close(fd);
		return NULL;
	}
	size_t len = (size_t)stt.st_size, got = 0;
	buf = xmalloc(len);
	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*errmsg = xasprintf("time zone \"%s\": reading %s: %s", name, path,
					    r < 0 ? strerror(errno) : "file shrank while read");
			close(fd);
			free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	if (tz_zone_parse(buf, len, &z, why, sizeof(why)) != 0)
		*errmsg = xasprintf("time zone \"%s\": %s: bad TZif file: %s", name, path, why);
	free(buf);
	return z;
}

int
tz_db_offset(struct tz_db *db, const char *name, int64_t t, int32_t *off, char *err,
	     size_t errsz, int *first)
{
	*off = 0;
	if (first != NULL)
		*first = 0;
	if (name == NULL || *name == '\0' || strcmp(name, "UTC") == 0 ||
	    strcmp(name, "Etc/UTC") == 0 || strcmp(name, "GMT") == 0 || strcmp(name, "Etc/GMT") == 0)
		return 0;
	pthread_mutex_lock(&db->d_mu);
	struct tz_entry *e = NULL;
	for (size_t i = 0; i < db->d_n; i++)
		if (strcmp(db->d_ents[i].te_name, name) == 0) {
			e = &db->d_ents[i];
			break;
		}
	struct tz_entry tmp = {NULL, NULL, NULL};
	if (e == NULL) {
		if (first != NULL)
			*first = 1;
		/* loaded under the lock: a zone is read once however many threads ask at once */
		tmp.te_zone = tz_db_load(db, name, &tmp.te_err);
		if (db->d_n < TZ_MAX_CACHED) {
			tmp.te_name = xstrdup(name);
			db->d_ents[db->d_n] = tmp;
			e = &db->d_ents[db->d_n++];
		} else {
			e = &tmp;
		}
	}
	int rc = 0;
	if (e->te_zone != NULL) {
		*off = tz_zone_offset(e->te_zone, t);
	} else {
		tz_err(err, errsz, "%s", e->te_err);
		rc = -1;
	}
	if (e == &tmp) {
		tz_zone_free(tmp.te_zone);
		free(tmp.te_err);
	}
	pthread_mutex_unlock(&db->d_mu);
	return rc;
}
