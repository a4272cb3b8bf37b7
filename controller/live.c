/*
 * live: the live page's feed (live.h): rows to JSON, the difference between two states, and the
 * producer thread that re-scores while a page is connected.
 */
#include "live.h"

#include "cc_err.h"
#include "log.h"
#include "monotime.h"
#include "status.h"
#include "timefmt.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One certificate as shown: its key and its row as JSON text. */
struct live_row {
	char *lr_key;
	char *lr_json;
	double lr_risk; /* for the cut at LIVE_ROWS_MAX; -1 when unknown */
};

struct live {
	struct live_opts l_o;
	pthread_mutex_t l_mu;
	pthread_cond_t l_cv;
	pthread_t l_thread;
	int l_running;
	/* under l_mu */
	int l_stop;
	int l_kick;
	int l_clients;
	uint64_t l_seq;
	char *l_snapshot;       /* the state at l_seq as a message, NULL before one */
	size_t l_snapshot_len;
	char *l_update;         /* from l_seq - 1 to l_seq, NULL when there is none */
	size_t l_update_len;
	/* the producer's own: the state at l_seq, sorted by key */
	struct live_row *l_rows;
	size_t l_nrows;
};

static const char *const live_levels[] = {"low", "medium", "high", "critical"};

static void
live_time(cJSON *o, const char *k, int64_t t)
{
	char b[TF_BUFSZ];
	if (t > 0 && tf_format_time(t, b, sizeof b) == CC_OK)
		cJSON_AddStringToObject(o, k, b);
	else
		cJSON_AddNullToObject(o, k);
}

static void
live_str(cJSON *o, const char *k, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

/* The row of r as JSON text, the risk to three significant digits (live.h). */
static char *
live_row_json(const struct status_row *r, const char *key)
{
	cJSON *o = cJSON_CreateObject();
	char issuer[600];
	cJSON_AddStringToObject(o, "key", key);
	cJSON_AddStringToObject(o, "namespace", r->sr_ns);
	cJSON_AddStringToObject(o, "name", r->sr_name);
	snprintf(issuer, sizeof issuer, "%s/%s", r->sr_issuer_kind ? r->sr_issuer_kind : "Issuer",
	    r->sr_issuer_name ? r->sr_issuer_name : "");
	cJSON_AddStringToObject(o, "issuer", issuer);
	live_str(o, "ready", r->sr_ready && r->sr_ready[0] ? r->sr_ready : NULL);
	live_time(o, "notAfter", r->sr_not_after);
	if (r->sr_risk >= STATUS_RISK_LOW && r->sr_risk <= STATUS_RISK_CRITICAL &&
	    isfinite(r->sr_risk_value)) {
		char b[32];
		snprintf(b, sizeof b, "%.3g", r->sr_risk_value);
		cJSON_AddNumberToObject(o, "risk", strtod(b, NULL));
		cJSON_AddStringToObject(o, "level", live_levels[r->sr_risk]);
	} else {
		cJSON_AddNullToObject(o, "risk");
		cJSON_AddStringToObject(o, "level", "unknown");
	}
	live_time(o, "predictedFailure", r->sr_predicted_failure);
	live_time(o, "nextAttempt", r->sr_next_attempt);
	live_str(o, "lastAction", r->sr_last_action);
	live_str(o, "reasons", r->sr_risk_reasons);
	cJSON *an = cJSON_AddArrayToObject(o, "anomalies");
	for (size_t i = 0; i < r->sr_nanomalies; i++)
		if (r->sr_anomalies[i].sa_type != NULL)
			cJSON_AddItemToArray(an, cJSON_CreateString(r->sr_anomalies[i].sa_type));
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		abort(); /* cJSON fails only without memory, as xmalloc would */
	return s;
}

static int
live_cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct live_row *)a)->lr_key, ((const struct live_row *)b)->lr_key);
}

/* Riskiest first, unknown last; the key breaks ties so the cut is the same every time. */
static int
live_cmp_risk(const void *a, const void *b)
{
	const struct live_row *x = a, *y = b;
	if (x->lr_risk != y->lr_risk)
		return x->lr_risk > y->lr_risk ? -1 : 1;
	return live_cmp_key(a, b);
}

static void
live_rows_free(struct live_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].lr_key);
		free(rows[i].lr_json);
	}
	free(rows);
}

/* A JSON text being assembled from pieces that are JSON already. */
struct live_text {
	char *t_s;
	size_t t_len, t_cap;
};

static void
live_put(struct live_text *t, const char *s)
{
	size_t n = strlen(s);
	if (t->t_len + n + 1 > t->t_cap) {
		size_t cap = t->t_cap ? t->t_cap : 4096;
		while (cap < t->t_len + n + 1)
			cap *= 2;
		t->t_s = xrealloc(t->t_s, cap);
		t->t_cap = cap;
	}
	memcpy(t->t_s + t->t_len, s, n + 1);
	t->t_len += n;
}

static void
live_head(struct live_text *t, const char *type, uint64_t seq, int64_t now, size_t total)
{
	char b[TF_BUFSZ], h[256];
	if (tf_format_time(now, b, sizeof b) != CC_OK)
		b[0] = '\0';
	snprintf(h, sizeof h, "{\"type\":\"%s\",\"seq\":%llu,\"time\":\"%s\",\"total\":%zu", type,
	    (unsigned long long)seq, b, total);
	live_put(t, h);
}

int
live_publish(struct live *l, struct status_rows *rs, int64_t now)
{
	size_t n = rs->sr_n, total = rs->sr_n;
	struct live_row *rows = xcalloc(n ? n : 1, sizeof *rows);
	for (size_t i = 0; i < n; i++) {
		const struct status_row *r = &rs->sr_rows[i];
		rows[i].lr_key = xasprintf("%s/%s", r->sr_ns, r->sr_name);
		rows[i].lr_json = live_row_json(r, rows[i].lr_key);
		rows[i].lr_risk = isfinite(r->sr_risk_value) ? r->sr_risk_value : -1.0;
	}
	status_rows_free(rs);
	if (n > LIVE_ROWS_MAX) {
		/* a page of a hundred thousand rows helps nobody: the riskiest, and the count */
		qsort(rows, n, sizeof *rows, live_cmp_risk);
		for (size_t i = LIVE_ROWS_MAX; i < n; i++) {
			free(rows[i].lr_key);
			free(rows[i].lr_json);
		}
		n = LIVE_ROWS_MAX;
	}
	qsort(rows, n, sizeof *rows, live_cmp_key);

	/*
	 * The difference from the state before: a merge of two key-sorted lists. l_snapshot and
	 * l_rows are read without the lock: only this thread writes them. A first state (after
	 * none, or after the last page left) has no difference to send.
	 */
	struct live_text up = {0}, rm = {0};
	size_t nup = 0, nrm = 0, i = 0, j = 0;
	const struct live_row *old = l->l_rows;
	size_t nold = l->l_nrows;
	while (l->l_snapshot != NULL && (i < n || j < nold)) {
		int c = i == n ? 1 : j == nold ? -1 : strcmp(rows[i].lr_key, old[j].lr_key);
		if (c < 0 || (c == 0 && strcmp(rows[i].lr_json, old[j].lr_json) != 0)) {
			live_put(&up, nup++ ? "," : "");
			live_put(&up, rows[i].lr_json);
		} else if (c > 0) {
			/* the key as a JSON string; a reference item does not own the key */
			cJSON *ks = cJSON_CreateStringReference(old[j].lr_key);
			char *k = cJSON_PrintUnformatted(ks);
			cJSON_Delete(ks);
			live_put(&rm, nrm++ ? "," : "");
			live_put(&rm, k ? k : "\"\"");
			free(k);
		}
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	if (nup == 0 && nrm == 0 && l->l_snapshot != NULL) {
		live_rows_free(rows, n);
		return 0;
	}

	struct live_text snap = {0}, upd = {0};
	pthread_mutex_lock(&l->l_mu);
	uint64_t seq = l->l_seq + 1;
	pthread_mutex_unlock(&l->l_mu);
	live_head(&snap, "snapshot", seq, now, total);
	live_put(&snap, ",\"rows\":[");
	for (size_t k = 0; k < n; k++) {
		live_put(&snap, k ? "," : "");
		live_put(&snap, rows[k].lr_json);
	}
	live_put(&snap, "]}");
	if (l->l_snapshot != NULL) {
		live_head(&upd, "update", seq, now, total);
		live_put(&upd, ",\"upsert\":[");
		live_put(&upd, up.t_s ? up.t_s : "");
		live_put(&upd, "],\"remove\":[");
		live_put(&upd, rm.t_s ? rm.t_s : "");
		live_put(&upd, "]}");
	}
	free(up.t_s);
	free(rm.t_s);

	pthread_mutex_lock(&l->l_mu);
	free(l->l_snapshot);
	free(l->l_update);
	l->l_snapshot = snap.t_s;
	l->l_snapshot_len = snap.t_len;
	l->l_update = upd.t_s;
	l->l_update_len = upd.t_len;
	l->l_seq = seq;
	pthread_mutex_unlock(&l->l_mu);
	live_rows_free(l->l_rows, l->l_nrows);
	l->l_rows = rows;
	l->l_nrows = n;
	return 1;
}

unsigned char *
live_message(struct live *l, uint64_t have, size_t pre, size_t *len, uint64_t *seq)
{
	unsigned char *out = NULL;
	pthread_mutex_lock(&l->l_mu);
	if (l->l_snapshot != NULL && have != l->l_seq) {
		const char *m = l->l_snapshot;
		size_t n = l->l_snapshot_len;
		if (have != 0 && have + 1 == l->l_seq && l->l_update != NULL) {
			m = l->l_update;
			n = l->l_update_len;
		}
		out = xmalloc(pre + n + 1);
		memcpy(out + pre, m, n + 1);
		*len = n;
		*seq = l->l_seq;
	}
	pthread_mutex_unlock(&l->l_mu);
	return out;
}

uint64_t
live_seq(struct live *l)
{
	pthread_mutex_lock(&l->l_mu);
	uint64_t s = l->l_seq;
	pthread_mutex_unlock(&l->l_mu);
	return s;
}

void
live_clients(struct live *l, int delta)
{
	pthread_mutex_lock(&l->l_mu);
	l->l_clients += delta;
	if (l->l_clients < 0)
		l->l_clients = 0;
	if (delta > 0)
		l->l_kick = 1; /* the new page gets a fresh state, not one an interval old */
	pthread_cond_signal(&l->l_cv);
	pthread_mutex_unlock(&l->l_mu);
}

void
live_kick(struct live *l)
{
	pthread_mutex_lock(&l->l_mu);
	l->l_kick = 1;
	pthread_cond_signal(&l->l_cv);
	pthread_mutex_unlock(&l->l_mu);
}

/*
 * With no page left the state is dropped: it would be stale by the time the next one connects
 * (that one waits for a fresh scoring instead), and at ten thousand certificates it is a few
 * MB held for nobody. The seq goes on, so no page can mistake a new state for one it has.
 */
static void
live_forget(struct live *l)
{
	free(l->l_snapshot);
	free(l->l_update);
	l->l_snapshot = l->l_update = NULL;
	l->l_snapshot_len = l->l_update_len = 0;
	live_rows_free(l->l_rows, l->l_nrows);
	l->l_rows = NULL;
	l->l_nrows = 0;
}

static void *
live_main(void *arg)
{
	struct live *l = arg;
	pthread_mutex_lock(&l->l_mu);
	while (!l->l_stop) {
		if (l->l_clients == 0) {
			if (l->l_snapshot != NULL)
				live_forget(l);
			pthread_cond_wait(&l->l_cv, &l->l_mu);
			continue;
		}
		if (!l->l_kick) {
			struct timespec until = mt_after((double)l->l_o.lo_interval_ms / 1000);
			while (!l->l_stop && !l->l_kick && l->l_clients > 0 &&
			    pthread_cond_timedwait(&l->l_cv, &l->l_mu, &until) == 0)
				;
			if (l->l_stop || l->l_clients == 0)
				continue;
		}
		l->l_kick = 0;
		pthread_mutex_unlock(&l->l_mu);
		struct status_rows rows;
		memset(&rows, 0, sizeof rows);
		l->l_o.lo_rows(l->l_o.lo_rows_arg, &rows);
		int changed = live_publish(l, &rows, (int64_t)time(NULL));
		if (changed && l->l_o.lo_wake != NULL)
			l->l_o.lo_wake(l->l_o.lo_wake_arg);
		pthread_mutex_lock(&l->l_mu);
	}
	pthread_mutex_unlock(&l->l_mu);
	return NULL;
}

struct live *
live_new(const struct live_opts *o)
{
	struct live *l = xcalloc(1, sizeof *l);
	l->l_o = *o;
	if (l->l_o.lo_interval_ms <= 0)
		l->l_o.lo_interval_ms = LIVE_INTERVAL_MS_DEFAULT;
	pthread_mutex_init(&l->l_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->l_cv, &ca);
	pthread_condattr_destroy(&ca);
	return l;
}

int
live_start(struct live *l)
{
	if (pthread_create(&l->l_thread, NULL, live_main, l) != 0) {
		log_error("live page: cannot start its thread");
		return CC_ERR_IO;
	}
	l->l_running = 1;
	return CC_OK;
}

void
live_stop(struct live *l)
{
	if (l == NULL || !l->l_running)
		return;
	pthread_mutex_lock(&l->l_mu);
	l->l_stop = 1;
	pthread_cond_signal(&l->l_cv);
	pthread_mutex_unlock(&l->l_mu);
	pthread_join(l->l_thread, NULL);
	l->l_running = 0;
}

void
live_free(struct live *l)
{
	if (l == NULL)
		return;
	live_stop(l);
	pthread_mutex_lock(&l->l_mu);
	live_forget(l);
	pthread_mutex_unlock(&l->l_mu);
	pthread_cond_destroy(&l->l_cv);
	pthread_mutex_destroy(&l->l_mu);
	free(l);
}
