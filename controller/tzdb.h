/*
 * tzdb: UTC offsets of IANA time zones ("America/Denver") at a given instant, read from the
 * system's compiled zone files (TZif, RFC 8536) and their POSIX TZ footer rule.
 *
 * cert-manager reads spec.renewal.windows[].timezone with Go's time.LoadLocation, so a window
 * "0 2 * * *" in Europe/Berlin opens at 01:00 or 00:00 UTC depending on the season. scoring/
 * takes one fixed offset per window (it does no I/O); the controller resolves the zone here and
 * passes the offset in force at the moment that matters.
 *
 * libc's localtime_r cannot be used: it reads the zone from the process-wide TZ variable, and
 * changing that is not thread-safe.
 *
 * Zone files come from $TZDIR, else /usr/share/zoneinfo (struct tz_db decides once, at creation).
 * "UTC", "Etc/UTC", "GMT" and "Etc/GMT" need no file, so a slim image without tzdata still
 * handles the common case. Parsed zones are cached per tz_db (failures too, so a bad name costs
 * one file read, not one per certificate). A tz_db is thread-safe.
 */
#ifndef TZDB_H
#define TZDB_H

#include <stddef.h>
#include <stdint.h>

/* ---- one zone, parsed (pure: no I/O) ------------------------------------------------------- */

/* A POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3" (the TZif footer). */
struct tz_rule {
	int32_t tr_std_off;  /* standard time, seconds east of UTC */
	int32_t tr_dst_off;  /* daylight time, seconds east of UTC */
	int tr_has_dst;      /* 0: no daylight time, tr_std_off all year */
	/* Transition dates: kind 'J' (Julian 1..365, no Feb 29), 'D' (0..365 with Feb 29),
	 * 'M' (month, week 1..5 where 5 is "last", weekday 0 = Sunday). */
	struct tz_date {
		char td_kind;
		int td_day;      /* J or D day */
		int td_month, td_week, td_wday;
		int32_t td_time; /* local time of day of the change, seconds; may be < 0 or > 24h */
	} tr_start, tr_end;  /* start: into daylight time (given in standard time); end: out of it */
};

/*
 * Parse a POSIX TZ string. Returns 0, or -1 with err naming the byte offset and what was
 * expected. An empty string is an error (the caller decides what "no rule" means).
 */
int tz_rule_parse(const char *s, struct tz_rule *r, char *err, size_t errsz);
/* The offset (seconds east of UTC) in force at Unix time t under r. */
int32_t tz_rule_offset(const struct tz_rule *r, int64_t t);

struct tz_zone;
/*
 * Parse a TZif file (versions 1 to 4) held in buf. Returns 0 and *out (free with tz_zone_free),
 * or -1 with err saying what is wrong and at which byte. Never reads outside buf.
 */
int tz_zone_parse(const unsigned char *buf, size_t len, struct tz_zone **out, char *err,
		  size_t errsz);
void tz_zone_free(struct tz_zone *z);
/*
 * The offset in force at t: the first time type before the first transition, the transition
 * table inside it, and the footer rule (or the last transition's type) after it.
 */
int32_t tz_zone_offset(const struct tz_zone *z, int64_t t);

/* ---- zones by name, from the zone files ---------------------------------------------------- */

struct tz_db;
/* dir NULL: $TZDIR if set and non-empty, else /usr/share/zoneinfo. Never fails (xalloc). */
struct tz_db *tz_db_new(const char *dir);
void tz_db_free(struct tz_db *db);

/*
 * The offset (seconds east of UTC) of zone name at Unix time t. Returns 0, or -1 with *off 0
 * and err naming the zone and the reason ("no such zone in /usr/share/zoneinfo", "not a valid
 * zone name", "...: bad TZif file: ..."). NULL or "" is UTC. When first is not NULL it is set
 * to 1 if this call was the first to look name up (so a caller can report a failure once
 * instead of on every certificate that names the zone), else 0.
 */
int tz_db_offset(struct tz_db *db, const char *name, int64_t t, int32_t *off, char *err,
		 size_t errsz, int *first);

/* Zones held in the cache, failures included (tests). */
size_t tz_db_cached(struct tz_db *db);

#endif
