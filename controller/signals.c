/* signals: ACME counter windows per (pod, host) and restarts -> sc_signals (see signals.h). */
#include "signals.h"

#include "cc_err.h"
#include "restarts.h"
#include "xalloc.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIG_NCOUNTERS 5 /* requests, 429, 5xx, duration sum, duration count */
/*
 * The largest sample value taken: 2^53, past which a double no longer counts by one, so no
 * real counter gets there. Bounding each value bounds every sum and increase (a 16 MiB
 * exposition has under a million samples), which keeps the signals finite.
 */
#define SIG_VALUE_MAX 9007199254740992.0

struct sig_point {
	int64_t p_time;
	double p_v[SIG_NCOUNTERS];  /* reset-adjusted cumulative values */
};

/* The samples of one host as seen from one pod. */
struct sig_series {
	char *r_uid;
	char r_host[SIG_HOST_MAX];
	double r_raw[SIG_NCOUNTERS]; /* the last values as scraped */
	double r_adj[SIG_NCOUNTERS]; /* running reset-adjusted totals */
	struct sig_point *r_pts;     /* owned, oldest first */
	size_t r_n, r_cap;
};

struct sig_state {
	pthread_mutex_t s_mu;
	int64_t s_window;
	struct rst_table *s_rst;
	struct sig_series *s_ser;    /* owned array */
	size_t s_n, s_cap;
};

/* ---- the exposition ---- */

static const char SIG_COUNT[] = "certmanager_http_acme_client_request_count";
static const char SIG_DUR[] = "certmanager_http_acme_client_request_duration_seconds";

/* host as cert-manager wrote it -> lower case, default port of scheme dropped. */
static int
sig_norm_host(const char *host, size_t n, const char *scheme, char *out, size_t len)
{
	if (n == 0 || n >= len)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)host[i]);
	out[n] = '\0';
	const char *dflt = scheme && strcasecmp(scheme, "http") == 0 ? ":80" : ":443";
	size_t dl = strlen(dflt);
	if (n > dl && strcmp(out + n - dl, dflt) == 0)
		out[n - dl] = '\0';
	return 0;
}

int
sig_url_host(const char *url, char *host, size_t len)
{
	if (url == NULL)
		return -1;
	const char *sep = strstr(url, "://");
	if (sep == NULL || sep == url)
		return -1;
	char scheme[16];
	size_t sl = (size_t)(sep - url);
	if (sl >= sizeof scheme)
		return -1;
	memcpy(scheme, url, sl);
	scheme[sl] = '\0';
	const char *h = sep + 3;
	size_t hl = strcspn(h, "/?#");
	const char *at = memchr(h, '@', hl); /* user info is not part of Go's URL.Host */
	if (at) {
		hl -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	return sig_norm_host(h, hl, scheme, host, len);
}

static struct sig_totals *
sig_scrape_host(struct sig_scrape *sc, const char *host)
{
	for (size_t i = 0; i < sc->ss_n; i++)
		if (strcmp(sc->ss_hosts[i].st_host, host) == 0)
			return &sc->ss_hosts[i];
	if (sc->ss_n == SIG_HOSTS_MAX) {
		sc->ss_dropped_hosts++;
		return NULL;
	}
	struct sig_totals *t = &sc->ss_hosts[sc->ss_n++];
	memset(t, 0, sizeof *t);
	memcpy(t->st_host, host, strlen(host) + 1);
	return t;
}

static void
sig_sample(void *arg, const struct pt_sample *s)
{
	struct sig_scrape *sc = arg;
	int which; /* 0 count, 1 duration sum, 2 duration count */
	size_t bl = sizeof SIG_DUR - 1;
	if (strcmp(s->s_name, SIG_COUNT) == 0 ||
	    (strncmp(s->s_name, SIG_COUNT, sizeof SIG_COUNT - 1) == 0 &&
		strcmp(s->s_name + sizeof SIG_COUNT - 1, "_total") == 0))
		which = 0;
	else if (strncmp(s->s_name, SIG_DUR, bl) == 0 && strcmp(s->s_name + bl, "_sum") == 0)
		which = 1;
	else if (strncmp(s->s_name, SIG_DUR, bl) == 0 && strcmp(s->s_name + bl, "_count") == 0)
		which = 2;
	else
		return;
	/* a counter is finite, never negative and below 2^53; anything else says nothing */
	if (!isfinite(s->s_value) || s->s_value < 0 || s->s_value > SIG_VALUE_MAX)
		return;
	const char *host = pt_label(s, "host");
	char h[SIG_HOST_MAX];
	if (host == NULL || sig_norm_host(host, strlen(host), pt_label(s, "scheme"), h, sizeof h) != 0)
		return;
	struct sig_totals *t = sig_scrape_host(sc, h);
	if (t == NULL)
		return;
	if (which == 1) {
		t->st_dur_sum += s->s_value;
		return;
	}
	if (which == 2) {
		t->st_dur_count += s->s_value;
		return;
	}
	t->st_requests += s->s_value;
	const char *st = pt_label(s, "status");
	char *end = NULL;
	long code = st ? strtol(st, &end, 10) : 0;
	if (st == NULL || end == st || *end != '\0')
		return;
	if (code == 429)
		t->st_429 += s->s_value;
	else if ((code >= 500 && code <= 599) || code == 999)
		t->st_5xx += s->s_value;
}

int
sig_scrape_parse(const char *text, size_t len, struct sig_scrape *out, struct pt_result *r)
{
	memset(out, 0, sizeof *out);
	return pt_parse(text, len, sig_sample, out, r);
}

/* ---- state ---- */

struct sig_state *
sig_new(int64_t window)
{
	struct sig_state *s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->s_mu, NULL);
	s->s_window = window > 0 ? window : SIG_WINDOW_DEFAULT;
	s->s_rst = rst_new();
	return s;
}

static void
sig_series_clear(struct sig_series *r)
{
	free(r->r_uid);
	free(r->r_pts);
}

void
sig_free(struct sig_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->s_n; i++)
		sig_series_clear(&s->s_ser[i]);
	free(s->s_ser);
	rst_free(s->s_rst);
	pthread_mutex_destroy(&s->s_mu);
	free(s);
}

void
sig_pods(struct sig_state *s, const struct sig_pod *pods, size_t n, int64_t now)
{
	const char **uids = xcalloc(n ? n : 1, sizeof *uids);
	pthread_mutex_lock(&s->s_mu);
	for (size_t i = 0; i < n; i++) {
		rst_observe(s->s_rst, pods[i].sp_uid, pods[i].sp_restarts, pods[i].sp_last_term,
		    pods[i].sp_start, now);
		uids[i] = pods[i].sp_uid;
	}
	rst_present(s->s_rst, uids, n, now);
	pthread_mutex_unlock(&s->s_mu);
	free(uids);
}

static struct sig_series *
sig_series_get(struct sig_state *s, const char *uid, const char *host, int create)
{
	for (size_t i = 0; i < s->s_n; i++)
		if (strcmp(s->s_ser[i].r_uid, uid) == 0 && strcmp(s->s_ser[i].r_host, host) == 0)
			return &s->s_ser[i];
	if (!create)
		return NULL;
	if (s->s_n == s->s_cap) {
		s->s_cap = s->s_cap ? 2 * s->s_cap : 8;
		s->s_ser = xrealloc(s->s_ser, s->s_cap * sizeof *s->s_ser);
	}
	struct sig_series *r = &s->s_ser[s->s_n++];
	memset(r, 0, sizeof *r);
	r->r_uid = xstrdup(uid);
	memcpy(r->r_host, host, strlen(host) + 1);
	return r;
}

static void
sig_append(struct sig_series *r, int64_t now)
{
	if (r->r_n > 0 && r->r_pts[r->r_n - 1].p_time >= now) {
		/* two scrapes in one second (or a clock step back): the newer values win */
		memcpy(r->r_pts[r->r_n - 1].p_v, r->r_adj, sizeof r->r_adj);
		return;
	}
	if (r->r_n == SIG_SAMPLES_MAX) {
		memmove(r->r_pts, r->r_pts + 1, (r->r_n - 1) * sizeof *r->r_pts);
		r->r_n--;
	}
	if (r->r_n == r->r_cap) {
		r->r_cap = r->r_cap ? 2 * r->r_cap : 8;
		r->r_pts = xrealloc(r->r_pts, r->r_cap * sizeof *r->r_pts);
	}
	r->r_pts[r->r_n].p_time = now;
	memcpy(r->r_pts[r->r_n].p_v, r->r_adj, sizeof r->r_adj);
	r->r_n++;
}

/* Fold the values v just scraped into r. */
static void
sig_fold(struct sig_series *r, const double v[SIG_NCOUNTERS], int complete, int64_t now)
{
	int fresh = r->r_n == 0, reset = 0;
	for (int k = 0; k < SIG_NCOUNTERS && !fresh; k++)
		if (v[k] < r->r_raw[k])
			reset = 1;
	for (int k = 0; k < SIG_NCOUNTERS; k++) {
		double inc;
		if (fresh)
			inc = 0; /* the first sample is the baseline: its past is unknown */
		else if (reset && complete)
			inc = v[k];
		else
			inc = v[k] > r->r_raw[k] ? v[k] - r->r_raw[k] : 0;
		r->r_adj[k] += inc;
		if (fresh || complete || v[k] > r->r_raw[k])
			r->r_raw[k] = v[k];
	}
	sig_append(r, now);
}

void
sig_record(struct sig_state *s, const char *uid, const struct sig_scrape *sc, int complete,
    int64_t now)
{
	if (uid == NULL || uid[0] == '\0' || sc == NULL)
		return;
	pthread_mutex_lock(&s->s_mu);
	for (size_t i = 0; i < sc->ss_n; i++) {
		const struct sig_totals *t = &sc->ss_hosts[i];
		double v[SIG_NCOUNTERS] = {t->st_requests, t->st_429, t->st_5xx, t->st_dur_sum,
		    t->st_dur_count};
		sig_fold(sig_series_get(s, uid, t->st_host, 1), v, complete, now);
	}
	/*
	 * A host this pod reported before but not now: its counters are gone, which happens only
	 * when the process restarted. Whatever comes next starts from zero.
	 */
	for (size_t i = 0; complete && i < s->s_n; i++) {
		struct sig_series *r = &s->s_ser[i];
		if (strcmp(r->r_uid, uid) != 0)
			continue;
		int seen = 0;
		for (size_t k = 0; k < sc->ss_n && !seen; k++)
			seen = strcmp(sc->ss_hosts[k].st_host, r->r_host) == 0;
		if (!seen) {
			memset(r->r_raw, 0, sizeof r->r_raw);
			sig_append(r, now);
		}
	}
	pthread_mutex_unlock(&s->s_mu);
}

void
sig_prune(struct sig_state *s, int64_t now)
{
	pthread_mutex_lock(&s->s_mu);
	int64_t from = now - s->s_window;
	for (size_t i = 0; i < s->s_n;) {
		struct sig_series *r = &s->s_ser[i];
		if (r->r_n == 0 || r->r_pts[r->r_n - 1].p_time < from) {
			sig_series_clear(r);
			s->s_ser[i] = s->s_ser[--s->s_n];
			continue;
		}
		/* keep the newest point at or before the window's start: it is the baseline */
		size_t keep = 0;
		for (size_t k = 0; k < r->r_n; k++)
			if (r->r_pts[k].p_time <= from)
				keep = k;
		if (keep > 0) {
			memmove(r->r_pts, r->r_pts + keep, (r->r_n - keep) * sizeof *r->r_pts);
			r->r_n -= keep;
		}
		i++;
	}
	rst_prune(s->s_rst, now);
	pthread_mutex_unlock(&s->s_mu);
}

/* The increase of r over the window ending at now into inc; 0 when r says nothing. */
static int
sig_increase(const struct sig_series *r, int64_t from, int64_t now, double inc[SIG_NCOUNTERS])
{
	if (r->r_n < 2)
		return 0;
	const struct sig_point *last = NULL, *base = NULL;
	for (size_t k = 0; k < r->r_n; k++) {
		if (r->r_pts[k].p_time > now)
			break; /* asked about the past (tests); later points do not count */
		last = &r->r_pts[k];
		if (r->r_pts[k].p_time <= from || base == NULL)
			base = &r->r_pts[k];
	}
	if (last == NULL || last == base || last->p_time < from)
		return 0;
	for (int k = 0; k < SIG_NCOUNTERS; k++)
		inc[k] = last->p_v[k] - base->p_v[k];
	return 1;
}

/* sig_get without the lock. */
static void
sig_get_locked(struct sig_state *s, const char *host, int64_t now, struct sc_signals *out)
{
	memset(out, 0, sizeof *out);
	int known = rst_count(s->s_rst) > 0;
	out->sg_restarts_1h = rst_last_hour(s->s_rst, now);
	char h[SIG_HOST_MAX];
	size_t hl = host ? strlen(host) : 0;
	if (hl > 0 && hl < sizeof h) {
		/* host is already normalised (sig_url_host); only its case may differ */
		for (size_t i = 0; i <= hl; i++)
			h[i] = (char)tolower((unsigned char)host[i]);
		double sum[SIG_NCOUNTERS] = {0};
		int have = 0;
		for (size_t i = 0; i < s->s_n; i++) {
			double inc[SIG_NCOUNTERS];
			if (strcmp(s->s_ser[i].r_host, h) != 0 ||
			    !sig_increase(&s->s_ser[i], now - s->s_window, now, inc))
				continue;
			have = 1;
			for (int k = 0; k < SIG_NCOUNTERS; k++)
				sum[k] += inc[k];
		}
		if (have) {
			known = 1;
			out->sg_requests = sum[0];
			out->sg_status_429 = sum[1];
			out->sg_status_5xx = sum[2];
			/*
			 * A count grows by whole requests; a fractional increase (which cert-manager
			 * never serves) must not divide the duration sum into infinity.
			 */
			out->sg_latency_s = sum[4] >= 1 ? sum[3] / sum[4] : 0.0;
		}
	}
	out->sg_valid = known;
}

void
sig_get(struct sig_state *s, const char *host, int64_t now, struct sc_signals *out)
{
	pthread_mutex_lock(&s->s_mu);
	sig_get_locked(s, host, now, out);
	pthread_mutex_unlock(&s->s_mu);
}

static uint64_t
sig_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

uint64_t
sig_digest(struct sig_state *s, int64_t now)
{
	pthread_mutex_lock(&s->s_mu);
	struct sc_signals g;
	sig_get_locked(s, NULL, now, &g);
	uint64_t h = sig_mix(0, (uint64_t)g.sg_valid);
	h = sig_mix(h, g.sg_restarts_1h);
	/* hosts in series order; a host seen from two pods is mixed twice, which is harmless */
	for (size_t i = 0; i < s->s_n; i++) {
		sig_get_locked(s, s->s_ser[i].r_host, now, &g);
		for (const char *p = s->s_ser[i].r_host; *p; p++)
			h = sig_mix(h, (unsigned char)*p);
		h = sig_mix(h, (uint64_t)llround(g.sg_requests));
		h = sig_mix(h, (uint64_t)llround(g.sg_status_429));
		h = sig_mix(h, (uint64_t)llround(g.sg_status_5xx));
		h = sig_mix(h, (uint64_t)llround(g.sg_latency_s * 10.0)); /* 100 ms steps */
	}
	pthread_mutex_unlock(&s->s_mu);
	return h;
}
