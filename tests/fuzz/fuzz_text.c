/*
 * fuzz_text: the small text parsers, each fed what users and servers write. The first input
 * byte picks the parser (mod 9), the rest is the text (cut at a NUL, as a C string would be):
 *   0  RFC 3339 times: tf_parse_rfc3339, tf_parse_time, tf_parse_time_ms, kubeconfig_parse_time
 *   1  Go durations: tf_duration_parse_ns, tf_duration_parse, tf_duration_parse_ms (and the
 *      simulator's scn_parse_duration)
 *   2  the formatters from 8 raw bytes as an int64: tf_format_time(_ms), tf_format_microtime,
 *      tf_duration_format(_ms), tf_civil_from_days, each parsed back
 *   3  cron expressions: cron_parse, then cron_matches and cron_next at fixed instants
 *   4  failure text: fcl_classify (first line the reason, the rest the message),
 *      fcl_retry_after, fcl_survival(_aged)
 *   5  certcast.io/last-action: status_last_action_parse and as_parse_last_action
 *   6  Retry-After values: ari_retry_after
 *   7  certcast.io/ annotations, one "KEY=VALUE" per line: as_annotation_problems (target-risk,
 *      min/max-renew-before, mode, fallback-issuer), as_parse_issuer_ref(_any)
 *   8  base64: kubeconfig_b64decode, re-encoded and decoded again
 * What is formatted must parse back to the same value (abort otherwise), two parsers of one
 * notation must agree where both accept, and every result must be inside its documented
 * range. The time is fixed so that a failure reproduces.
 */
#include "ari.h"
#include "assess.h"
#include "cc_err.h"
#include "cron.h"
#include "failclass.h"
#include "kubeconfig.h"
#include "records.h"
#include "scoring.h"
#include "sim_scenario.h"
#include "status.h"
#include "timefmt.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW INT64_C(1798761600)     /* 2027-01-01T00:00:00Z */
#define FZ_MIN_SEC INT64_C(-62167219200) /* 0000-01-01T00:00:00Z */
#define FZ_MAX_SEC INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define FZ_MAX_ANNOTS 16

static void
fz_fail(const char *what, const char *text, long long a, long long b)
{
	fprintf(stderr, "fuzz_text: %s: \"%s\" (%lld, %lld)\n", what, text, a, b);
	abort();
}

/* Floor division and modulo, for times before 1970. */
static int64_t
fz_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void
fz_times(const char *s)
{
	int64_t sec, ms, sec2;
	int32_t ns, ns2;
	char buf[TF_BUFSZ];
	if (tf_parse_rfc3339(s, &sec, &ns) != CC_OK) {
		if (tf_parse_time(s, &sec) == CC_OK || tf_parse_time_ms(s, &ms) == CC_OK)
			fz_fail("tf_parse_time accepts what tf_parse_rfc3339 refuses", s, 0, 0);
		return;
	}
	if (ns < 0 || ns > 999999999)
		fz_fail("fraction out of range", s, ns, 0);
	if (tf_parse_time(s, &sec2) != CC_OK || sec2 != sec)
		fz_fail("tf_parse_time differs", s, sec, sec2);
	if (tf_parse_time_ms(s, &ms) != CC_OK || ms != sec * 1000 + ns / 1000000)
		fz_fail("tf_parse_time_ms differs", s, sec, ms);
	/* kubeconfig's own reader (exec credential expiry) must agree where it accepts */
	time_t kt;
	if (kubeconfig_parse_time(s, &kt) == CC_OK && (int64_t)kt != sec)
		fz_fail("kubeconfig_parse_time differs", s, sec, (long long)kt);

	/* every time read can be written again (timefmt.h), and reads back the same */
	if (sec < FZ_MIN_SEC || sec > FZ_MAX_SEC)
		fz_fail("a time outside years 0000..9999 was read", s, sec, 0);
	if (tf_format_time(sec, buf, sizeof buf) != CC_OK ||
	    tf_parse_rfc3339(buf, &sec2, &ns2) != CC_OK || sec2 != sec || ns2 != 0)
		fz_fail("tf_format_time does not parse back", buf, sec, sec2);
	if (tf_format_time_ms(ms, buf, sizeof buf) != CC_OK ||
	    tf_parse_time_ms(buf, &sec2) != CC_OK || sec2 != ms)
		fz_fail("tf_format_time_ms does not parse back", buf, ms, sec2);
	/* MicroTime is nanoseconds in an int64: years 1677..2262 */
	if (sec > INT64_MIN / 1000000000 + 1 && sec < INT64_MAX / 1000000000 - 1) {
		int64_t t = sec * 1000000000 + ns;
		if (tf_format_microtime(t, buf, sizeof buf) == CC_OK) {
			if (tf_parse_rfc3339(buf, &sec2, &ns2) != CC_OK || sec2 != sec ||
			    ns2 != ns / 1000 * 1000)
				fz_fail("tf_format_microtime does not parse back", buf, t, sec2);
		} else {
			fz_fail("tf_format_microtime refused a time in range", s, t, 0);
		}
	}
}

static void
fz_durations(const char *s)
{
	int64_t ns, sec, ms, back = 0;
	char buf[TF_BUFSZ];
	int64_t sd;
	(void)scn_parse_duration(s, &sd);
	int rc = tf_duration_parse_ns(s, &ns);
	int rs = tf_duration_parse(s, &sec), rm = tf_duration_parse_ms(s, &ms);
	if (rc != CC_OK) {
		if (rs != rc || rm != rc)
			fz_fail("the duration parsers disagree on an error", s, rs, rm);
		return;
	}
	if (ns < 0) {
		if (rs != CC_ERR_INVAL || rm != CC_ERR_INVAL)
			fz_fail("a negative duration is not CC_ERR_INVAL", s, rs, rm);
		return;
	}
	if (rs != CC_OK || rm != CC_OK || sec != ns / 1000000000 || ms != ns / 1000000)
		fz_fail("seconds or milliseconds differ from nanoseconds", s, sec, ms);
	if (tf_duration_format(sec, buf, sizeof buf) != CC_OK ||
	    tf_duration_parse(buf, &back) != CC_OK || back != sec)
		fz_fail("tf_duration_format does not parse back", buf, sec, back);
	if (tf_duration_format_ms(ms, buf, sizeof buf) != CC_OK ||
	    tf_duration_parse_ms(buf, &back) != CC_OK || back != ms)
		fz_fail("tf_duration_format_ms does not parse back", buf, ms, back);
}

static void
fz_formatters(const uint8_t *p, size_t n)
{
	uint64_t u = 0;
	for (size_t i = 0; i < 8; i++)
		u = u << 8 | (i < n ? p[i] : 0);
	int64_t v = (int64_t)u, back;
	int32_t ns;
	char buf[TF_BUFSZ];

	/* durations: Go's range is about +-292 years of nanoseconds */
	if (tf_duration_format(v, buf, sizeof buf) != CC_OK)
		fz_fail("tf_duration_format refused", "", v, 0);
	int rc = tf_duration_parse_ns(buf, &back);
	if (v >= -(INT64_MAX / 1000000000) && v <= INT64_MAX / 1000000000) {
		if (rc != CC_OK || back != v * 1000000000)
			fz_fail("tf_duration_format does not parse back", buf, v, back);
	} else if (rc != CC_ERR_TOOBIG) {
		fz_fail("a duration beyond Go's range parsed", buf, v, rc);
	}
	if (tf_duration_format_ms(v, buf, sizeof buf) != CC_OK)
		fz_fail("tf_duration_format_ms refused", "", v, 0);
	rc = tf_duration_parse_ns(buf, &back);
	if (v >= -(INT64_MAX / 1000000) && v <= INT64_MAX / 1000000) {
		if (rc != CC_OK || back != v * 1000000)
			fz_fail("tf_duration_format_ms does not parse back", buf, v, back);
	} else if (rc != CC_ERR_TOOBIG) {
		fz_fail("a duration beyond Go's range parsed", buf, v, rc);
	}

	/* times */
	rc = tf_format_time(v, buf, sizeof buf);
	if ((rc == CC_OK) != (v >= FZ_MIN_SEC && v <= FZ_MAX_SEC))
		fz_fail("tf_format_time range", "", v, rc);
	if (rc == CC_OK && (tf_parse_time(buf, &back) != CC_OK || back != v))
		fz_fail("tf_format_time does not parse back", buf, v, back);
	rc = tf_format_time_ms(v, buf, sizeof buf);
	int64_t vs = fz_floordiv(v, 1000);
	if ((rc == CC_OK) != (vs >= FZ_MIN_SEC && vs <= FZ_MAX_SEC))
		fz_fail("tf_format_time_ms range", "", v, rc);
	if (rc == CC_OK && (tf_parse_time_ms(buf, &back) != CC_OK || back != v))
		fz_fail("tf_format_time_ms does not parse back", buf, v, back);
	if (tf_format_microtime(v, buf, sizeof buf) != CC_OK)
		fz_fail("tf_format_microtime refused", "", v, 0);
	int64_t fs = fz_floordiv(v, 1000000000), frac = v % 1000000000;
	if (frac < 0)
		frac += 1000000000;
	if (tf_parse_rfc3339(buf, &back, &ns) != CC_OK || back != fs || ns != frac / 1000 * 1000)
		fz_fail("tf_format_microtime does not parse back", buf, v, back);

	/* the calendar, over +-10^12 days (27 billion years either side) */
	int64_t days = v % INT64_C(1000000000000), y;
	int m, d;
	tf_civil_from_days(days, &y, &m, &d);
	if (m < 1 || m > 12 || d < 1 || d > 31 || tf_days_from_civil(y, m, d) != days)
		fz_fail("tf_civil_from_days does not invert", "", days, y);
}

static void
fz_cron(const char *s)
{
	struct cron_expr ce;
	char err[256] = "";
	if (cron_parse(s, &ce, err, sizeof err) != SC_OK) {
		if (err[0] == '\0')
			fz_fail("cron_parse refused without a reason", s, 0, 0);
		return;
	}
	if ((ce.ce_min >> 60) != 0 || (ce.ce_hour >> 24) != 0 || (ce.ce_dom & 1) != 0 ||
	    (ce.ce_month & 0xe001) != 0 || (ce.ce_dow & 0x80) != 0)
		fz_fail("cron_parse set a bit outside a field's range", s, (long long)ce.ce_min,
		    ce.ce_dow);
	static const int32_t offs[] = {0, 3600, -34200};
	for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		int64_t t = FZ_NOW + (int64_t)i * 86400 * 45;
		(void)cron_matches(&ce, t, offs[i]);
		int64_t nx = cron_next(&ce, t, offs[i]);
		if (nx != 0 && (nx <= t || !cron_matches(&ce, nx, offs[i])))
			fz_fail("cron_next not after or not matching", s, t, nx);
	}
}

static void
fz_failclass(const char *s)
{
	const char *nl = strchr(s, '\n');
	char reason[256];
	const char *message = NULL, *rp = NULL;
	if (nl != NULL) {
		size_t rl = (size_t)(nl - s);
		if (rl >= sizeof reason)
			rl = sizeof reason - 1;
		memcpy(reason, s, rl);
		reason[rl] = '\0';
		rp = reason;
		message = nl + 1;
	} else {
		message = s;
	}
	struct fcl_result r;
	fcl_classify(rp, message, &r);
	if ((int)r.cl_class < 0 || r.cl_class >= SC_CLASS_COUNT || r.cl_rule == NULL ||
	    !(r.cl_confidence >= 0 && r.cl_confidence <= 1) || r.cl_window < 0)
		fz_fail("fcl_classify out of range", s, r.cl_class, r.cl_window);
	/* a Unix time, or 0; one before 1970 ("retry after 0224-...") reads as unknown later */
	if (r.cl_retry_after != 0 && r.cl_retry_after != fcl_retry_after(message))
		fz_fail("fcl_classify and fcl_retry_after read different times", s,
		    r.cl_retry_after, fcl_retry_after(message));
	(void)fcl_retry_after(s);
	struct fcl_persist fp;
	fcl_persistence(r.cl_class, &fp);
	for (int64_t dt = 0; dt <= 30 * 86400; dt += 7 * 3600) {
		double p = fcl_survival(r.cl_class, r.cl_window, r.cl_retry_after, FZ_NOW,
		    FZ_NOW + dt);
		double q = fcl_survival_aged(r.cl_class, r.cl_window, r.cl_retry_after,
		    FZ_NOW - 86400, FZ_NOW, FZ_NOW + dt);
		if (!(p >= 0 && p <= 1) || !(q >= 0 && q <= 1))
			fz_fail("fcl_survival is not a probability", s, dt, r.cl_class);
	}
}

static void
fz_last_action(const char *s)
{
	struct status_last_action la;
	char action[128];
	int64_t when = 0, t;
	status_last_action_parse(s, &la);
	int ok = as_parse_last_action(s, action, sizeof action, &when);
	if (ok != la.la_ok)
		fz_fail("status and assess read a last action differently", s, ok, la.la_ok);
	if (!ok)
		return;
	const char *sp = strchr(s, ' ');
	if (sp == NULL || strcmp(action, la.la_reason) != 0 || when != la.la_time ||
	    strlen(action) != (size_t)(sp - s) || strncmp(action, s, strlen(action)) != 0)
		fz_fail("the reason is not the text before the first space", s, when, la.la_time);
	if (la.la_detail != NULL && (la.la_detail < s || la.la_detail > s + strlen(s)))
		fz_fail("the detail does not point into the value", s, 0, 0);
	/* the time is the text between the space and ": " (or the end) */
	char tb[64];
	size_t tl = la.la_detail ? (size_t)(la.la_detail - 2 - (sp + 1)) : strlen(sp + 1);
	if (tl >= sizeof tb)
		fz_fail("time longer than its buffer", s, (long long)tl, 0);
	memcpy(tb, sp + 1, tl);
	tb[tl] = '\0';
	if (tf_parse_time(tb, &t) != CC_OK || t != when)
		fz_fail("the time does not read back", tb, when, t);
}

static void
fz_retry_after(const char *s)
{
	int64_t d = ari_retry_after(s, FZ_NOW);
	if (d < ARI_RETRY_MIN || d > ARI_RETRY_MAX)
		fz_fail("ari_retry_after out of its clamp", s, d, 0);
}

/* Lines "KEY=VALUE"; a key without the certcast.io/ prefix gets it. */
static void
fz_annotations(const char *s)
{
	static const char *const known[] = {"target-risk", "min-renew-before", "max-renew-before",
	    "mode", "fallback-issuer", "original-issuer"};
	struct rec_annot an[FZ_MAX_ANNOTS];
	char *keys[FZ_MAX_ANNOTS];
	size_t na = 0;
	char *copy = strdup(s);
	if (copy == NULL)
		abort();
	for (char *line = copy, *next; line != NULL && na < FZ_MAX_ANNOTS; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		const char *k = line;
		/* a one-character key stands for a known annotation, so short inputs reach them */
		if (strlen(k) == 1)
			k = known[(unsigned char)k[0] % (sizeof known / sizeof known[0])];
		size_t kl = strlen(REC_ANNOT_PREFIX) + strlen(k) + 1;
		keys[na] = malloc(kl);
		if (keys[na] == NULL)
			abort();
		int bare = strncmp(k, REC_ANNOT_PREFIX, strlen(REC_ANNOT_PREFIX)) != 0;
		snprintf(keys[na], kl, "%s%s", bare ? REC_ANNOT_PREFIX : "", k);
		an[na].ra_key = keys[na];
		an[na].ra_value = eq + 1;
		na++;
	}
	struct rec_cert c;
	memset(&c, 0, sizeof c);
	c.c_annots = an;
	c.c_nannots = na;
	struct as_annot_problem pr[4];
	struct sc_config base;
	sc_config_default(&base);
	size_t np = as_annotation_problems(&c, &base, pr, 4);
	for (size_t i = 0; i < np && i < 4; i++) {
		int found = 0;
		for (size_t j = 0; j < na; j++)
			found |= pr[i].ap_value == an[j].ra_value &&
			    strcmp(pr[i].ap_key, an[j].ra_key) == 0;
		if (!found || pr[i].ap_why == NULL || pr[i].ap_why[0] == '\0')
			fz_fail("a problem that names no annotation of the certificate", s,
			    (long long)i, 0);
	}
	/* NULL stands for scoring's defaults, and max 0 still counts every problem */
	if (np != as_annotation_problems(&c, NULL, NULL, 0))
		fz_fail("problem count differs with a NULL base or no room", s, (long long)np, 0);
	for (size_t j = 0; j < na; j++) {
		char kind[16], name[254], group[254], kind2[64], name2[254];
		const char *v = an[j].ra_value;
		if (as_parse_issuer_ref(v, kind, sizeof kind, name, sizeof name) &&
		    ((strcmp(kind, "Issuer") != 0 && strcmp(kind, "ClusterIssuer") != 0) ||
			name[0] == '\0'))
			fz_fail("as_parse_issuer_ref accepted another kind or no name", v, 0, 0);
		if (as_parse_issuer_ref_any(v, group, sizeof group, kind2, sizeof kind2, name2,
			sizeof name2) &&
		    (kind2[0] == '\0' || name2[0] == '\0' || group[0] == '\0'))
			fz_fail("as_parse_issuer_ref_any accepted an empty part", v, 0, 0);
	}
	for (size_t j = 0; j < na; j++)
		free(keys[j]);
	free(copy);
}

static void
fz_base64(const char *s)
{
	char *out = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	if (kubeconfig_b64decode(s, &out, &len) != CC_OK) {
		if (out != NULL)
			fz_fail("kubeconfig_b64decode: an error with output", s, 0, 0);
		return;
	}
	if (out[len] != '\0')
		fz_fail("decoded bytes not NUL-terminated", s, (long long)len, 0);
	unsigned char *enc = malloc(4 * ((len + 2) / 3) + 1);
	if (enc == NULL)
		abort();
	EVP_EncodeBlock(enc, (const unsigned char *)out, (int)len);
	if (kubeconfig_b64decode((const char *)enc, &again, &len2) != CC_OK || len2 != len ||
	    memcmp(again, out, len) != 0)
		fz_fail("decoded, encoded and decoded again, the bytes differ", s, (long long)len,
		    (long long)len2);
	free(enc);
	free(again);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	int mode = data[0] % 9;
	char *s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (mode) {
	case 0:
		fz_times(s);
		break;
	case 1:
		fz_durations(s);
		break;
	case 2:
		fz_formatters(data + 1, size - 1);
		break;
	case 3:
		fz_cron(s);
		break;
	case 4:
		fz_failclass(s);
		break;
	case 5:
		fz_last_action(s);
		break;
	case 6:
		fz_retry_after(s);
		break;
	case 7:
		fz_annotations(s);
		break;
	default:
		fz_base64(s);
		break;
	}
	free(s);
	return 0;
}
