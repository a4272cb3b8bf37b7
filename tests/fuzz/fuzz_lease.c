/*
 * fuzz_lease: arbitrary bytes as the Lease object the API server answers a leader election GET,
 * PUT or POST with, through what the election loop does with it (all of lease.h but the
 * thread): le_record_parse; le_decide for us as leader and as candidate, with the Lease fresh and
 * expired; le_next_record and le_release_record from it; le_body, which keeps the object's
 * metadata and replaces its spec; and the promise that the body written reads back as the
 * record it was made from (the next election round reads exactly that).
 *
 * The Lease is shared with every replica, any client-go program configured with the same name,
 * and whoever can write Leases in the namespace: no Lease may crash certcast, and none may make
 * it write a spec that it (or the API server) cannot read back. Times are fixed.
 */
#include "cc_err.h"
#include "lease.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW_US 1798761600123456LL /* 2027-01-01T00:00:00.123456Z */
#define FZ_NS "certcast"
#define FZ_NAME "certcast-leader"
#define FZ_ME "certcast-6c9f7d8b5-x2x7q"

static const struct le_durations fz_dur = {
	LE_DEFAULT_LEASE_MS, LE_DEFAULT_RENEW_MS, LE_DEFAULT_RETRY_MS};

/* Write rec over prev as le_body does, and read it back: it must be rec again. */
static void
fz_write_read(const char *prev, size_t prevlen, const struct le_record *rec, const char *rv)
{
	char *body = NULL, err[256] = "";
	int rc = le_body(prev, prevlen, FZ_NS, FZ_NAME, rec, &body, err, sizeof err);
	if (rc != CC_OK) {
		if (body != NULL || err[0] == '\0')
			abort();
		return; /* prev is another object: refused with a reason */
	}
	struct le_record back;
	if (le_record_parse(body, strlen(body), &back, err, sizeof err) != CC_OK) {
		if (prev == NULL && strstr(err, "resourceVersion") != NULL) {
			free(body); /* a new object has no resourceVersion before the POST */
			return;
		}
		fprintf(stderr, "fuzz_lease: the body written does not read back: %s\n%s\n", err,
		    body);
		abort();
	}
	if (!le_record_same(&back, rec) || (rv != NULL && strcmp(back.lr_rv, rv) != 0)) {
		fprintf(stderr, "fuzz_lease: the body written reads back otherwise:\n%s\n", body);
		abort();
	}
	free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	struct le_record cur;
	char err[256] = "";
	memset(&cur, 0x5a, sizeof cur);
	if (le_record_parse(json, size, &cur, err, sizeof err) != CC_OK) {
		if (err[0] == '\0')
			abort();
		char *body = NULL;
		struct le_record any;
		le_next_record(NULL, FZ_ME, &fz_dur, FZ_NOW_US, &any);
		if (le_body(json, size, FZ_NS, FZ_NAME, &any, &body, err, sizeof err) == CC_OK ||
		    body != NULL)
			abort(); /* what does not parse as a Lease is no base for a write either */
		return 0;
	}
	if (memchr(cur.lr_holder, '\0', sizeof cur.lr_holder) == NULL ||
	    memchr(cur.lr_rv, '\0', sizeof cur.lr_rv) == NULL || cur.lr_rv[0] == '\0' ||
	    memchr(cur.lr_uid, '\0', sizeof cur.lr_uid) == NULL || cur.lr_duration_s < 0 ||
	    cur.lr_transitions < 0)
		abort();
	char t[40];
	if (cur.lr_acquire_us != LE_TIME_NONE)
		(void)le_format_microtime(cur.lr_acquire_us, t, sizeof t);
	if (cur.lr_renew_us != LE_TIME_NONE)
		(void)le_format_microtime(cur.lr_renew_us, t, sizeof t);

	/* every view the loop may have of this record */
	const char *ids[] = {FZ_ME, cur.lr_holder};
	for (size_t i = 0; i < 2; i++) {
		for (int leading = 0; leading <= 1; leading++) {
			for (int expired = 0; expired <= 1; expired++) {
				struct le_view v = {
					.lv_obs = LE_OBS_PRESENT,
					.lv_rec = &cur,
					.lv_observed = 1000.0,
					.lv_now = 1000.0 + (expired ? 1e10 : 1.0),
					.lv_leading = leading,
					.lv_renewed = 1000.0,
				};
				const char *why = NULL;
				enum le_action a = le_decide(&v, ids[i], &fz_dur, &why);
				if (why == NULL || (a != LE_WAIT && a != LE_ACQUIRE && a != LE_RENEW &&
				    a != LE_LOST) || (a == LE_RENEW && !leading))
					abort();
				(void)le_action_name(a);
				if (a != LE_ACQUIRE && a != LE_RENEW)
					continue;
				struct le_record next;
				le_next_record(&cur, ids[i], &fz_dur, FZ_NOW_US, &next);
				fz_write_read(json, size, &next, cur.lr_rv);
			}
		}
	}
	struct le_record rel;
	le_release_record(&cur, FZ_NOW_US, &rel);
	fz_write_read(json, size, &rel, cur.lr_rv);
	fz_write_read(NULL, 0, &rel, NULL);
	(void)le_record_same(&cur, &rel);
	return 0;
}
