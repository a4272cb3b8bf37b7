/*
 * tlsreload: keeps the HTTP server's served certificate in step with its files. cert-manager
 * renews the serving certificate into a Secret and kubelet swaps the mounted files (a symlink
 * to a new folder); nothing signals the process, so the files are polled (tlr_poll, every
 * TLR_POLL_MS from the server's timer) and compared by fingerprint (tlspair.h).
 *
 * A changed pair is checked as at start (tlspair.h) and becomes tlr_served(), which the server
 * presents at every new handshake; an apply function, when given, can still refuse it. A pair
 * that fails the check or the apply is logged once, naming the file and the reason, and the
 * pair served before stays served.
 *
 * Metrics, in the registry given:
 *   certcast_http_tls_reloads_total{result="ok"|"error"}          changed pairs taken or refused
 *   certcast_http_tls_certificate_expiry_timestamp_seconds         the served pair's notAfter
 *
 * Lifetime: everything here runs on one thread (the server's service thread) after tlr_new;
 * the metrics may be read from any thread.
 */
#ifndef TLSRELOAD_H
#define TLSRELOAD_H

#include <stddef.h>
#include <stdint.h>

#include "tlspair.h"

struct met_registry;
struct tlr;

/* How often the server looks at the files: a renewal is served within this much. */
#define TLR_POLL_MS 10000

/*
 * Serve next from now on, in place of prev (both borrowed for the call). Returns CC_OK, or an
 * error with the reason in err; prev must then still be what is served.
 */
typedef int (*tlr_apply_fn)(void *arg, const struct tlp_pair *next, const struct tlp_pair *prev,
    char *err, size_t errsz);

struct tlr_opts {
	const char *tro_cert;             /* the certificate file path; copied */
	const char *tro_key;              /* the key file path; copied */
	struct met_registry *tro_metrics; /* NULL: no metrics; borrowed, must outlive the tlr */
	tlr_apply_fn tro_apply;           /* called by tlr_poll for a good new pair; NULL: none */
	void *tro_apply_arg;
};

/* Results of tlr_poll. */
enum tlr_result {
	TLR_UNCHANGED = 0, /* the files are as last seen */
	TLR_RELOADED = 1,  /* a new pair is served */
	TLR_REFUSED = 2,   /* the files changed (or cannot be read) and the old pair stays */
};

/*
 * Load and check the pair (tlspair.h) at time now, register the metrics and set the expiry
 * gauge. Returns CC_OK with *out set, the check's error with err naming the file and the
 * reason, or CC_ERR_INVAL when the metric names are taken in the registry. The apply function
 * is for changes only, not for this first pair.
 */
int tlr_new(const struct tlr_opts *o, int64_t now, struct tlr **out, char *err, size_t errsz);
/* Look at the files once, at time now; see enum tlr_result. */
enum tlr_result tlr_poll(struct tlr *r, int64_t now);
/* The pair served now; borrowed, valid until the next tlr_poll or tlr_free. */
const struct tlp_pair *tlr_served(const struct tlr *r);
/* The certificate and key paths, as given. */
const char *tlr_cert_path(const struct tlr *r);
const char *tlr_key_path(const struct tlr *r);
/* Free r. Accepts NULL. */
void tlr_free(struct tlr *r);

#endif
