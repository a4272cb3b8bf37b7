/*
 * budget: ACME issuance counts per registered domain and per exact set of identifiers, read
 * from the certificates cert-manager's CertificateRequests hold, for scoring's struct sc_budget.
 *
 * Let's Encrypt's limits as relied on here (letsencrypt.org/docs/rate-limits, the page of
 * August 2026, and Boulder issue #7508):
 *   - "New Certificates per Registered Domain": up to 50 per registered domain every 7 days,
 *     the registered domain found with the Public Suffix List (psl.h). A certificate counts
 *     once for each registered domain among its names.
 *   - "New Certificates per Exact Set of Identifiers": up to 5 per exact same set every 7 days.
 *   - A renewal (an order for the exact set of identifiers of an earlier certificate) is exempt
 *     from the per-registered-domain limit, so it is not counted there; it still counts against
 *     its exact set. ARI-coordinated renewals are exempt from every limit; cert-manager sends
 *     ARI's "replaces" only with its alpha ACMEUseARI gate on, which policy.c handles
 *     (sc_config.cf_ari_replaces), so all certificates are counted here.
 * The CA refills its buckets continuously (one certificate every 202 minutes for the domain
 * limit); counting the certificates of a sliding 7-day window, as scoring's budget model does,
 * never counts fewer than the CA's bucket holds, so it errs on the side of holding back.
 *
 * Counting: every CertificateRequest whose issuer (looked up in the store) is an ACME Issuer or
 * ClusterIssuer and whose status.certificate holds a certificate contributes that certificate:
 * its DNS and IP SANs (the identifier set: lower case, trailing dot dropped, sorted, without
 * repeats) and its issuance time (notBefore, or the request's Ready=True transition
 * when later: CAs backdate notBefore). Counts are kept per ACME server
 * (the host of spec.acme.server): different CAs, and a CA's staging and production, have
 * separate budgets; issuers of one CA (several accounts) share one, as the CA counts it.
 * A certificate is new when no earlier certificate of the same server in the store had its
 * exact identifier set; cert-manager keeps old requests unless revisionHistoryLimit prunes
 * them, and a pruned history makes a renewal look new (counted, so again erring on the safe
 * side).
 *
 * Cost: parsing a certificate costs ~200 us, so each request's parse is kept by UID and
 * resourceVersion; a recount walks the store's requests and sorts them, and is done at most
 * once per ttl seconds (a certificate issued since then is counted at the next recount).
 *
 * The queue projection (bd_queue, bd_slot; budgetq.h) covers the Certificates that wait for a
 * domain's slots: with renewals exempt from the per-domain limit, those cert-manager is
 * ordering for (Issuing=True, none issued yet, or retrying after failures) whose order asks for
 * a new set of names (new Certificates, changed dnsNames). Each recount indexes them per
 * domain with cert-manager's next attempt; the replay runs once per domain and recount, on
 * the first lookup that needs it. Not filled: bd_bunch, a bunch of renewals, which under the
 * exemption draw on no domain budget.
 *
 * The books at a refusal (bg_lookup_at): each recount also keeps every issuance it met, in
 * the window or before it, so that the counts of the window that ended at a Certificate's
 * lastFailureTime can be read. Let's Encrypt counts other clusters' and accounts' certificates
 * too; when these counts fall short of the limit, the refusal came from issuances the store
 * does not hold, and scoring does not let the queue projection end it.
 *
 * A struct bg_book is thread-safe: bg_refresh and bg_lookup take its mutex.
 */
#ifndef BUDGET_H
#define BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "scoring.h"

#define BG_WINDOW (7 * 86400) /* Let's Encrypt's window for both limits */
#define BG_NEW_LIMIT 50       /* new certificates per registered domain and window */
#define BG_DUP_LIMIT 5        /* certificates per exact set of identifiers and window */
#define BG_DOMAIN_MAX 256     /* a registered domain, NUL included */

struct store;
struct psl;

struct bg_book;

/*
 * A book counting with the list psl (borrowed, must outlive the book; NULL: every lookup says
 * "unknown", budgets are off), a window of window seconds (0: BG_WINDOW) and recounting at most
 * once per ttl seconds (0: at every bg_refresh).
 */
struct bg_book *bg_new(const struct psl *psl, int64_t window, int64_t ttl);

/*
 * bg_new with the list read from path (NULL or "": psl.h's PSL_DEFAULT_PATH), owned by the
 * book. When the list cannot be read, logs one warning naming the file and the reason and that
 * ACME budgets are off, and returns a book whose lookups say "unknown". Never fails.
 */
struct bg_book *bg_open(const char *path, int64_t window, int64_t ttl);

void bg_free(struct bg_book *b);

/*
 * Parse at most max certificates per bg_refresh (0, the default: no limit). A controller
 * starting on 100k requests would otherwise hold the store's read lock for the ~20 s the first
 * count's parses take; with a limit the parses spread over the calls, and until a count has met
 * every request the lookups say "unknown" rather than give a partial (too low) count.
 */
void bg_set_parse_limit(struct bg_book *b, size_t max);

struct rec_cr;
struct cp_cert;
/*
 * Give b the certificate of request r, parsed elsewhere (pc; NULL when it did not parse), so
 * that a count does not parse it again: the anomaly detector parses every issued certificate
 * already. Kept under r's UID and resourceVersion; a later count drops it if r is no ACME
 * request. Nothing is logged here (the caller reports a failed parse).
 */
void bg_note(struct bg_book *b, const struct rec_cr *r, const struct cp_cert *pc);

/*
 * Whether server (spec.acme.server) is a CA whose limits bg_lookup's are: Let's Encrypt's
 * production API. Other ACME CAs publish other limits or none (ZeroSSL: none per domain), and
 * LE's staging API has much higher ones; holding them to 50/5 would block reissues they allow.
 */
int bg_known_ca(const char *server);

/* The book has a list: lookups can succeed. */
int bg_enabled(const struct bg_book *b);

/*
 * Recount from st's CertificateRequests as of now, unless the last count was made less than
 * ttl seconds before now (a clock gone back recounts) and was complete. The caller holds st's
 * read lock. A recount that reaches the parse limit keeps the previous complete tallies.
 * Returns the number of certificates parsed by this call (the others came from the cache).
 * A certificate that does not parse is logged once with its request's namespace and name and
 * not counted.
 */
size_t bg_refresh(struct bg_book *b, struct store *st, int64_t now);

/*
 * The budget of Certificate key ("ns/name"; NULL: no queue projection) of ACME server server
 * whose next order asks for names[0..n) (spec.dnsNames and the commonName; repeats and case do
 * not matter), as of the last complete recount: out is zeroed, then bd_valid 1 with the counts
 * of the registered domain among the names that has used the most (in domain, size domlen; may
 * be NULL), the count of the exact set, limits BG_NEW_LIMIT / BG_DUP_LIMIT, the window,
 * bd_renewal when that exact set was issued before by the server (any time the store
 * remembers), and bd_refill when the oldest counted certificate of that domain (else of the
 * set) leaves the window. When the set is new and the recount found the Certificate waiting
 * for that domain, bd_queue 1 and bd_slot: when the CA will accept its order, by budgetq.h's
 * replay of every waiting Certificate of the domain against the counted issuances (0: not
 * before its deadline, or by two windows after its next attempt). Returns 1, or 0 with out invalid when the book has no list
 * or no complete count yet, no name is a DNS name the list can place, or server is NULL. A
 * name the list cannot place (malformed) is skipped for the domain count. failed_at > 0 (the
 * Certificate's lastFailureTime) also fills the books at that moment, as bg_lookup_at does,
 * from the same reading of the names and under the same lock.
 */
int bg_lookup(struct bg_book *b, const char *server, const char *key, const char *const *names,
    size_t n, int64_t failed_at, struct sc_budget *out, char *domain, size_t domlen);

/*
 * An order the CA accepted just before a refusal is counted here at its certificate's issuance
 * (notBefore, or the request's Ready time when later), minutes after the order; the window of
 * the books at a refusal reaches this far past it so that such a burst counts.
 */
#define BG_REFUSAL_SLACK 900

/*
 * The books when the CA refused a Certificate's order at time at (its lastFailureTime): the
 * counts bg_lookup gives, new certificates of the fullest registered domain among names[0..n)
 * and certificates of their exact set, in the window (at - window, at + BG_REFUSAL_SLACK], from
 * every issuance the last complete recount met (in its window or before it). Sets
 * out->bd_at_failure, bd_new_used_at_failure and bd_dup_used_at_failure and leaves the rest of
 * out alone; returns 1, or 0 with out untouched as bg_lookup would fail (and when at <= 0).
 * These are this cluster's issuances only, and a request pruned by revisionHistoryLimit is not
 * among them: a lower bound of what the CA counted, which is what scoring needs to tell a
 * refusal the books explain from one they do not (scoring.h, struct sc_budget).
 */
int bg_lookup_at(struct bg_book *b, const char *server, const char *const *names, size_t n,
    int64_t at, struct sc_budget *out);

/*
 * The issuance times counted against server's registered domain domain in the window of the
 * last recount, ascending, into out[0..max); returns how many there are (may exceed max).
 * The input of budgetq.h's bq_budget.bb_used.
 */
size_t bg_domain_times(struct bg_book *b, const char *server, const char *domain, int64_t *out,
    size_t max);

#endif
