/*
 * aripoll: the thread that asks ACME servers for renewal information (RFC 9773) and keeps the
 * answers in an aricache for assess.
 *
 * Every interval it reads from the store the Certificates whose issuer is an ACME issuer, takes
 * the certificate of each one's newest issued CertificateRequest, computes its ARI identifier
 * (certparse's cp_ari_id; parsed once per request, the cache remembers the result), and for
 * each identifier that is due (new, or its Retry-After or error backoff has passed) GETs
 * <renewalInfo>/<identifier>, where renewalInfo comes from the server's directory (fetched
 * once per server and kept for a day). Calls are made one after the other with libcurl: HTTPS
 * only, certificate and host name verification always on, trusting the system's CAs plus the
 * issuer's spec.acme.caBundle; no redirects; connect and total timeouts and a body limit; no
 * API permission needed. Stopping abandons a call in flight at once.
 *
 * An issuer with spec.acme.skipTLSVerify: true is not asked (certcast does not turn
 * verification off; logged once per issuer), nor is one whose caBundle did not decode.
 *
 * Each renewalInfo call is counted by result:
 *   ok         a well-formed window;
 *   malformed  an answer that is not a valid window (logged with what was wrong);
 *   notfound   404: the server does not know this certificate (not issued by it);
 *   error      no answer, another status, a timeout, a body over the limit, or no directory.
 * When a certificate's window appears or changes, the changed callback runs with its key.
 */
#ifndef ARIPOLL_H
#define ARIPOLL_H

#include <stddef.h>
#include <stdint.h>

#define ARP_INTERVAL 60               /* seconds between rounds; each entry has its own time */
#define ARP_TIMEOUT_MS 15000
#define ARP_CONNECT_TIMEOUT_MS 5000
#define ARP_DIR_TTL 86400             /* a directory is fetched again after a day */

struct store;
struct arc;
struct met_family;

struct arp_opts {
	struct store *ao_store;          /* borrowed: Certificates, requests, issuers */
	struct arc *ao_cache;            /* borrowed: where answers go */
	int64_t ao_interval;             /* seconds between rounds; 0: ARP_INTERVAL */
	struct met_family *ao_requests;  /* certcast_ari_requests_total{result}, or NULL */
	/* may be NULL; runs on the poller's thread with the Certificate's namespace and name */
	void (*ao_changed)(void *arg, const char *ns, const char *name);
	void *ao_arg;
	int64_t (*ao_clock)(void);       /* Unix seconds; NULL: the wall clock */
	long ao_timeout_ms;              /* 0: ARP_TIMEOUT_MS */
};

struct arp;

/* A poller with no thread (rounds run by arp_round). Never fails. */
struct arp *arp_new(const struct arp_opts *o);
/* One round on the caller's thread. */
void arp_round(struct arp *p);
/* Start the thread; CC_OK or CC_ERR_IO. */
int arp_start(struct arp *p);
/* Stop the thread (a call in flight is abandoned at once), join it and free p. Accepts NULL. */
void arp_free(struct arp *p);

#endif
