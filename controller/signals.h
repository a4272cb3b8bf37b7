/*
 * signals: cert-manager's live state as scoring's struct sc_signals, per ACME server host.
 *
 * Two sources feed it:
 *   - the controller pods in the store, for restarts in the last hour (restarts.h);
 *   - scrapes of those pods' /metrics (scraper.h): certmanager_http_acme_client_request_count
 *     {scheme,host,path|action,method,status} and the summary
 *     certmanager_http_acme_client_request_duration_seconds (_sum, _count), added up per host.
 *     cert-manager records status "999" when a request got no response at all; with 5xx it
 *     counts as a server failure. A value that is negative, not finite or above 2^53 (no
 *     counter gets there) says nothing, so that no sum of them overflows.
 *
 * Counters are cumulative, so each (pod UID, host) keeps samples over time, with counter
 * resets handled as Prometheus does: when any counter of a host goes down (the process
 * restarted), the new value is all increase; a host missing from a complete scrape it was in
 * before means the same. A scrape with malformed lines never counts as a reset (a lost line
 * would look like one and inflate the next increase); its lower values are taken as no
 * increase. The increase over the window (SIG_WINDOW_DEFAULT, 10 minutes) runs from the newest
 * sample at or before the window's start (else the oldest sample) to the newest sample, not
 * extrapolated: a partly covered window counts what was seen. A series whose newest sample is
 * older than the window's start (a pod gone, scrapes failing) no longer counts and is
 * dropped by sig_prune; a missing scrape in between costs nothing, the next sample spans it.
 *
 * Thread-safe: one mutex; no call takes any other lock, so callers may hold the store's.
 */
#ifndef SIGNALS_H
#define SIGNALS_H

#include "promtext.h"
#include "scoring.h"

#include <stddef.h>
#include <stdint.h>

#define SIG_WINDOW_DEFAULT 600  /* seconds of ACME traffic the rates cover */
#define SIG_HOST_MAX 256        /* longest host[:port] kept */
#define SIG_HOSTS_MAX 64        /* hosts taken from one scrape; more are ignored */
#define SIG_SAMPLES_MAX 256     /* samples per (pod, host); the oldest go first */

/* cert-manager's ACME client counters for one host, summed over its series. */
struct sig_totals {
	char st_host[SIG_HOST_MAX];  /* lower case, default port dropped */
	double st_requests;
	double st_429;
	double st_5xx;               /* 500-599 and 999 (no response) */
	double st_dur_sum;           /* seconds */
	double st_dur_count;
};

/* The ACME part of one scrape. */
struct sig_scrape {
	struct sig_totals ss_hosts[SIG_HOSTS_MAX];
	size_t ss_n;
	size_t ss_dropped_hosts;     /* hosts past SIG_HOSTS_MAX */
};

/*
 * Read cert-manager's exposition into out (zeroed first). r (may be NULL) gets the parser's
 * counts and first error. Returns CC_OK or CC_ERR_PARSE (some lines bad; the others counted).
 */
int sig_scrape_parse(const char *text, size_t len, struct sig_scrape *out, struct pt_result *r);

/*
 * The host of an ACME server URL as cert-manager labels it (Go's URL.Host: host[:port]),
 * lower case, without the scheme's default port. Returns 0, or -1 when url has no
 * scheme://host or the host does not fit in len.
 */
int sig_url_host(const char *url, char *host, size_t len);

struct sig_state;

/* window: seconds the ACME rates cover (<= 0: SIG_WINDOW_DEFAULT). */
struct sig_state *sig_new(int64_t window);
void sig_free(struct sig_state *s);

/* One cert-manager pod as the store shows it (restarts.h says what is done with it). */
struct sig_pod {
	const char *sp_uid;
	int32_t sp_restarts;
	int64_t sp_last_term;
	int64_t sp_start;
};

/* The pods present at now, all of them: any other pod known before is gone since now. */
void sig_pods(struct sig_state *s, const struct sig_pod *pods, size_t n, int64_t now);

/*
 * A scrape of pod uid at now. complete is 0 when the exposition had malformed lines (no resets
 * are inferred from it then).
 */
void sig_record(struct sig_state *s, const char *uid, const struct sig_scrape *sc, int complete,
    int64_t now);

/* Drop series and pods that no longer count at now. */
void sig_prune(struct sig_state *s, int64_t now);

/*
 * The signals for an issuer at now: the ACME rates of host (as sig_url_host gives it; NULL or
 * "": a non-ACME issuer, requests 0) and the restarts. sg_valid is 0 when nothing is known at all (no pod seen, no
 * rate for host).
 */
void sig_get(struct sig_state *s, const char *host, int64_t now, struct sc_signals *out);

/*
 * A digest of everything sig_get could answer at now (rounded, so that noise does not count):
 * when it changes, certificates are worth scoring again.
 */
uint64_t sig_digest(struct sig_state *s, int64_t now);

#endif
