/*
 * scraper: the thread that feeds signals.h from cert-manager's controller pods.
 *
 * Every interval it reads the pods the store holds (the reflector watches only cert-manager's
 * controller pods: certManagerNamespace, certManagerPodSelector), records their restart counts,
 * and, unless the port is 0, fetches http://<status.podIP>:<port>/metrics from each pod that is
 * Running and Ready, one after the other, with libcurl: plain HTTP (cert-manager serves its
 * metrics without TLS), no redirects, no proxy, connect and total timeouts and a body limit.
 * Scraping a pod's IP needs no API permission. Each scrape is counted by result:
 *   ok         fetched and every line well formed;
 *   malformed  fetched, with some lines not in the text format (logged with line and column;
 *              the other lines are used);
 *   error      no answer, a status other than 200, a timeout, or a body over the limit.
 * A failure is logged when a pod's result changes, not at every round. After a round, when what
 * signals would answer has changed, the changed callback runs (the controller queues every
 * Certificate: risk depends on the signals).
 */
#ifndef SCRAPER_H
#define SCRAPER_H

#include <stddef.h>
#include <stdint.h>

#define SCR_TIMEOUT_MS 10000          /* a whole scrape */
#define SCR_CONNECT_TIMEOUT_MS 3000
#define SCR_BODY_MAX (16u << 20)      /* cert-manager's exposition grows with certificates */

struct store;
struct sig_state;
struct met_family;

struct scr_opts {
	struct store *so_store;          /* borrowed: the pods */
	struct sig_state *so_signals;    /* borrowed: what is fed */
	int so_port;                     /* metrics port; 0: restarts only */
	int64_t so_interval;             /* seconds between rounds, >= 1 */
	struct met_family *so_scrapes;   /* certcast_cert_manager_scrapes_total{result}, or NULL */
	void (*so_changed)(void *arg);   /* may be NULL; runs on the scraper's thread */
	void *so_arg;
	int64_t (*so_clock)(void);       /* Unix seconds; NULL: the wall clock */
	long so_timeout_ms;              /* 0: SCR_TIMEOUT_MS */
	size_t so_body_max;              /* 0: SCR_BODY_MAX */
};

struct scr;

/* A scraper with no thread (rounds run by scr_round). Never fails. */
struct scr *scr_new(const struct scr_opts *o);
/* One round on the caller's thread. */
void scr_round(struct scr *s);
/* Start the thread; CC_OK or CC_ERR_IO. */
int scr_start(struct scr *s);
/* Stop the thread (a scrape in flight is abandoned at once), join it and free s. Accepts NULL. */
void scr_free(struct scr *s);

#endif
