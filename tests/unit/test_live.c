/*
 * Tests for live, the live page's feed: the first state is a snapshot; nothing shown changed
 * (the risk within three significant digits) makes no message; a change makes an update with
 * only the rows that changed and the keys that went; a page one state behind gets the update
 * and any other the snapshot; text from the cluster stays text (JSON-escaped); the cut at
 * LIVE_ROWS_MAX keeps the riskiest; the producer scores while a page is connected, wakes the
 * server, and forgets the state when the last page goes.
 */
#include "live.h"

#include "status.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define NOW 1796187600LL

struct spec {
	const char *ns, *name;
	double risk; /* NAN: not scored */
	const char *last_action;
};

static void
rows_of(const struct spec *sp, size_t n, struct status_rows *out)
{
	out->sr_n = n;
	out->sr_rows = xcalloc(n ? n : 1, sizeof *out->sr_rows);
	for (size_t i = 0; i < n; i++) {
		struct status_row *r = &out->sr_rows[i];
		r->sr_ns = xstrdup(sp[i].ns);
		r->sr_name = xstrdup(sp[i].name);
		r->sr_issuer_kind = xstrdup("ClusterIssuer");
		r->sr_issuer_name = xstrdup("letsencrypt");
		r->sr_ready = xstrdup("True");
		r->sr_not_after = NOW + 86400;
		r->sr_risk_value = sp[i].risk;
		r->sr_risk = isnan(sp[i].risk) ? STATUS_RISK_UNKNOWN
		    : sp[i].risk >= 0.9		  ? STATUS_RISK_CRITICAL
		    : sp[i].risk >= 0.5		  ? STATUS_RISK_HIGH
		    : sp[i].risk >= 0.05	  ? STATUS_RISK_MEDIUM
						  : STATUS_RISK_LOW;
		if (!isnan(sp[i].risk))
			r->sr_risk_reasons = xstrdup("backoff: next try in 2h");
		if (sp[i].last_action)
			r->sr_last_action = xstrdup(sp[i].last_action);
	}
}

static void
rows_none(void *arg, struct status_rows *out)
{
	(void)arg;
	memset(out, 0, sizeof *out);
}

static struct live *
feed(void)
{
	struct live_opts o = {rows_none, NULL, NULL, NULL, 0};
	return live_new(&o);
}

static int
publish(struct live *l, const struct spec *sp, size_t n)
{
	struct status_rows rs;
	rows_of(sp, n, &rs);
	return live_publish(l, &rs, NOW);
}

/* The message for a page at have, parsed (NULL when there is none). */
static cJSON *
message(struct live *l, uint64_t have, uint64_t *seq)
{
	size_t len = 0;
	unsigned char *m = live_message(l, have, 16, &len, seq);
	if (m == NULL)
		return NULL;
	cr_assert_eq(strlen((char *)m + 16), len, "len is the message's length");
	cJSON *j = cJSON_Parse((char *)m + 16);
	cr_assert_not_null(j, "not JSON: %s", (char *)m + 16);
	free(m);
	return j;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const cJSON *
arr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsArray(v), "%s is not an array", k);
	return v;
}

Test(live, snapshot_then_updates_with_only_what_changed)
{
	struct live *l = feed();
	uint64_t seq = 0;
	cr_expect_null(message(l, 0, &seq), "nothing before the first state");
	const struct spec a[] = {{"shop", "web", 0.0123456, NULL}, {"shop", "api", 0.6, NULL},
	    {"pay", "gw", NAN, NULL}};
	cr_assert_eq(publish(l, a, 3), 1);
	cr_expect_eq(live_seq(l), 1);
	cJSON *m = message(l, 0, &seq);
	cr_assert_not_null(m);
	cr_expect_eq(seq, 1);
	cr_expect_str_eq(str(m, "type"), "snapshot");
	cr_expect_eq(num(m, "seq"), 1);
	cr_expect_eq(num(m, "total"), 3);
	cr_expect_str_eq(str(m, "time"), "2026-12-02T05:00:00Z");
	const cJSON *rows = arr(m, "rows");
	cr_assert_eq(cJSON_GetArraySize(rows), 3);
	/* sorted by key: pay/gw, shop/api, shop/web */
	const cJSON *r0 = cJSON_GetArrayItem(rows, 0), *r2 = cJSON_GetArrayItem(rows, 2);
	cr_expect_str_eq(str(r0, "key"), "pay/gw");
	cr_expect_str_eq(str(r0, "level"), "unknown");
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r0, "risk")));
	cr_expect_str_eq(str(r2, "key"), "shop/web");
	cr_expect_str_eq(str(r2, "namespace"), "shop");
	cr_expect_str_eq(str(r2, "name"), "web");
	cr_expect_str_eq(str(r2, "issuer"), "ClusterIssuer/letsencrypt");
	cr_expect_str_eq(str(r2, "level"), "low");
	cr_expect_float_eq(num(r2, "risk"), 0.0123, 1e-12, "three significant digits");
	cr_expect_str_eq(str(r2, "notAfter"), "2026-12-03T05:00:00Z");
	cr_expect_str_eq(str(r2, "reasons"), "backoff: next try in 2h");
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r2, "lastAction")));
	cJSON_Delete(m);
	cr_expect_null(message(l, 1, &seq), "a page at the state has nothing to get");

	/* the clock moved the risk in the fifth digit: nothing shown changed */
	const struct spec b[] = {{"shop", "web", 0.0123499, NULL}, {"shop", "api", 0.6, NULL},
	    {"pay", "gw", NAN, NULL}};
	cr_expect_eq(publish(l, b, 3), 0);
	cr_expect_eq(live_seq(l), 1);

	/* one risk moved, one certificate went, one came */
	const struct spec c[] = {{"shop", "web", 0.0123, NULL}, {"shop", "api", 0.95, NULL},
	    {"shop", "new", 0.001, NULL}};
	cr_assert_eq(publish(l, c, 3), 1);
	m = message(l, 1, &seq);
	cr_assert_not_null(m);
	cr_expect_eq(seq, 2);
	cr_expect_str_eq(str(m, "type"), "update");
	const cJSON *up = arr(m, "upsert"), *rm = arr(m, "remove");
	cr_assert_eq(cJSON_GetArraySize(up), 2, "shop/api and shop/new; shop/web did not change");
	cr_expect_str_eq(str(cJSON_GetArrayItem(up, 0), "key"), "shop/api");
	cr_expect_str_eq(str(cJSON_GetArrayItem(up, 0), "level"), "critical");
	cr_expect_str_eq(str(cJSON_GetArrayItem(up, 1), "key"), "shop/new");
	cr_assert_eq(cJSON_GetArraySize(rm), 1);
	cr_expect_str_eq(cJSON_GetArrayItem(rm, 0)->valuestring, "pay/gw");
	cJSON_Delete(m);
	/* a page that has nothing, or is two states behind, gets the whole state */
	m = message(l, 0, &seq);
	cr_expect_str_eq(str(m, "type"), "snapshot");
	cr_expect_eq(cJSON_GetArraySize(arr(m, "rows")), 3);
	cJSON_Delete(m);
	cr_assert_eq(publish(l, a, 3), 1);
	m = message(l, 1, &seq);
	cr_expect_str_eq(str(m, "type"), "snapshot", "two behind: snapshot");
	cr_expect_eq(seq, 3);
	cJSON_Delete(m);
	m = message(l, 2, &seq);
	cr_expect_str_eq(str(m, "type"), "update", "one behind: update");
	cJSON_Delete(m);
	live_free(l);
}

Test(live, text_from_the_cluster_stays_text)
{
	struct live *l = feed();
	uint64_t seq;
	const char *evil = "<img src=x onerror=\"window.pwned=1\">\\\n\u2028";
	const struct spec a[] = {{"shop", "web", 0.2, evil}};
	cr_assert_eq(publish(l, a, 1), 1);
	cJSON *m = message(l, 0, &seq);
	cr_assert_not_null(m, "the message is JSON whatever the annotation holds");
	cr_expect_str_eq(str(cJSON_GetArrayItem(arr(m, "rows"), 0), "lastAction"), evil,
	    "the same text after a round trip");
	cJSON_Delete(m);
	/* and the removal of a key is a JSON string too */
	cr_assert_eq(publish(l, NULL, 0), 1);
	m = message(l, 1, &seq);
	cr_expect_str_eq(cJSON_GetArrayItem(arr(m, "remove"), 0)->valuestring, "shop/web");
	cr_expect_eq(cJSON_GetArraySize(arr(m, "upsert")), 0);
	cr_expect_eq(num(m, "total"), 0);
	cJSON_Delete(m);
	live_free(l);
}

Test(live, the_cut_keeps_the_riskiest)
{
	struct live *l = feed();
	size_t n = LIVE_ROWS_MAX + 5;
	struct spec *sp = xcalloc(n, sizeof *sp);
	char (*names)[16] = xcalloc(n, sizeof *names);
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof names[i], "c%06zu", i);
		sp[i] = (struct spec){"ns", names[i], (double)i / (double)n, NULL};
	}
	sp[3].risk = NAN; /* not scored: cut before any scored one */
	cr_assert_eq(publish(l, sp, n), 1);
	uint64_t seq;
	cJSON *m = message(l, 0, &seq);
	cr_assert_not_null(m);
	cr_expect_eq(num(m, "total"), (double)n);
	const cJSON *rows = arr(m, "rows");
	cr_assert_eq((size_t)cJSON_GetArraySize(rows), (size_t)LIVE_ROWS_MAX);
	int cut = 0, kept5 = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, rows)
	{
		const char *k = str(r, "key");
		cut += strncmp(k, "ns/c00000", 9) == 0 && k[9] >= '0' && k[9] <= '4';
		kept5 += strcmp(k, "ns/c000005") == 0;
	}
	cr_expect_eq(cut, 0, "the unscored one and the four least risky are cut");
	cr_expect_eq(kept5, 1, "the fifth least risky is kept");
	cJSON_Delete(m);
	free(sp);
	free(names);
	live_free(l);
}

/* ---- the producer thread ---- */

struct source {
	atomic_int calls;
	atomic_int wakes;
	atomic_int risk_milli;
};

static void
rows_from(void *arg, struct status_rows *out)
{
	struct source *s = arg;
	atomic_fetch_add(&s->calls, 1);
	const struct spec a[] = {{"shop", "web", atomic_load(&s->risk_milli) / 1000.0, NULL}};
	rows_of(a, 1, out);
}

static void
woken(void *arg)
{
	struct source *s = arg;
	atomic_fetch_add(&s->wakes, 1);
}

static void
nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int
has_state(struct live *l)
{
	uint64_t seq;
	size_t len;
	unsigned char *m = live_message(l, 0, 0, &len, &seq);
	int there = m != NULL;
	free(m);
	return there;
}

/* Poll (never a timing assertion): 1 once cond holds, 0 after 20 s. */
#define EVENTUALLY(cond)                                             \
	({                                                           \
		int ok_ = 0;                                         \
		for (int i_ = 0; i_ < 2000 && !(ok_ = (cond)); i_++) \
			nap_ms(10);                                  \
		ok_;                                                 \
	})

Test(live, the_producer_works_while_a_page_is_connected, .timeout = 60)
{
	struct source s;
	atomic_init(&s.calls, 0);
	atomic_init(&s.wakes, 0);
	atomic_init(&s.risk_milli, 10);
	struct live_opts o = {rows_from, &s, woken, &s, 50};
	struct live *l = live_new(&o);
	cr_assert_eq(live_start(l), 0);
	nap_ms(200);
	cr_expect_eq(atomic_load(&s.calls), 0, "no page, no scoring");
	live_clients(l, 1);
	cr_expect(EVENTUALLY(live_seq(l) == 1), "a page connected: a state at once");
	cr_expect(EVENTUALLY(atomic_load(&s.wakes) == 1), "and the server was woken");
	int before = atomic_load(&s.calls);
	cr_expect(EVENTUALLY(atomic_load(&s.calls) > before + 2), "scored again every interval");
	cr_expect_eq(live_seq(l), 1, "nothing changed: no new state");
	cr_expect_eq(atomic_load(&s.wakes), 1, "and no wake-up");
	atomic_store(&s.risk_milli, 700);
	cr_expect(EVENTUALLY(live_seq(l) == 2), "a change makes a new state");
	cr_expect(EVENTUALLY(atomic_load(&s.wakes) == 2));
	uint64_t seq;
	size_t len;
	unsigned char *m = live_message(l, 1, 0, &len, &seq);
	cr_assert_not_null(m);
	cr_expect_not_null(strstr((char *)m, "\"type\":\"update\""), "%s", (char *)m);
	cr_expect_not_null(strstr((char *)m, "\"level\":\"high\""), "%s", (char *)m);
	free(m);
	live_clients(l, -1);
	cr_expect(EVENTUALLY(!has_state(l)),
	    "the last page gone: the state is forgotten");
	int idle = atomic_load(&s.calls);
	nap_ms(200);
	cr_expect_eq(atomic_load(&s.calls), idle, "and no more scoring");
	live_clients(l, 1);
	cr_expect(EVENTUALLY(live_seq(l) == 3), "a new page: a fresh state, a new seq");
	live_free(l);
}
