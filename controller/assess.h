/*
 * assess: scores Certificates from the store. It turns one rec_cert and what the store holds
 * around it (its CertificateRequests, the Events about it and them, its issuer and that
 * issuer's recent outcomes across all its certificates, the certcast.io/ annotations) into
 * scoring's plain input and calls sc_evaluate().
 *
 * Live signals (cert-manager's ACME request rates and its controller's restarts) come from a
 * struct sig_state the caller hands over with as_use_signals: an ACME issuer gets the rates of
 * the host of its spec.acme.server and the restarts, any other issuer only the restarts.
 * Without one (status, scan, explain) the signals stay empty (sg_valid 0).
 *
 * ACME renewal windows (RFC 9773) come from the cache the ARI poller fills (aripoll.h), handed
 * over with as_use_ari; without one the window stays invalid.
 *
 * ACME budgets (scoring's in_budget) come from a struct bg_book (budget.h): the certificates
 * the store's CertificateRequests hold, counted per ACME server and registered domain (the
 * Public Suffix List, psl.h) and per exact set of names. The controller shares one book between
 * contexts (as_use_budgets); without one, a context makes its own on its first ACME
 * certificate and counts once. Without a readable list, budgets stay unknown (bd_valid 0).
 *
 * What the store cannot tell yet is left out and said so in the explanation's inputs: no
 * anomaly baselines, no renewal bunch (bd_bunch 0: renewals draw on no domain budget); the
 * learned model only when one is given (as_set_model). Issuer estimates are computed once per issuer per as_ctx, so scoring a whole
 * cluster costs one pass over the issuers' histories, not one per certificate.
 *
 * An as_ctx belongs to one thread and one store snapshot: create it with the store's read lock
 * held, use it under the same lock, free it before unlocking.
 */
#ifndef ASSESS_H
#define ASSESS_H

#include <stddef.h>
#include <stdint.h>

#include "scoring.h"

struct store;
struct rec_cert;

struct as_ctx;

/*
 * A context scoring certificates of st as of now with cfg (copied; NULL: defaults). Never
 * fails (allocation failure aborts, as everywhere in the controller).
 */
struct as_ctx *as_new(struct store *st, const struct sc_config *cfg, int64_t now);
void as_free(struct as_ctx *a);

/*
 * A cache of issuer estimates shared by contexts (and threads): an issuer's history is walked
 * once per ttl seconds instead of once per context. The estimate it hands out may be up to ttl
 * old. Thread-safe. as_cache_size counts the issuers held (tests).
 */
struct as_cache;
struct as_cache *as_cache_new(int64_t ttl);
void as_cache_free(struct as_cache *c);
size_t as_cache_size(struct as_cache *c);
/* Make a's issuer lookups go through c (NULL: none). c must outlive a. */
void as_use_cache(struct as_ctx *a, struct as_cache *c);

struct bg_book;
/*
 * Make a's scores take ACME budgets from b (NULL: a book of a's own, counted once), recounted
 * when b's ttl has passed. b must outlive a; it may be shared by contexts of several threads.
 */
void as_use_budgets(struct as_ctx *a, struct bg_book *b);

/*
 * The ACME budget as_score gives c: out zeroed, then, when c's issuer is an ACME issuer of a CA
 * whose limits are known (budget.h's bg_known_ca: Let's Encrypt's production API) and the counts
 * are known, filled (budget.h's bg_lookup) with the registered domain
 * into domain (size domlen, may be NULL), and when c has a lastFailureTime, with the books at
 * that refusal (bg_lookup_at: bd_at_failure and its counts). Returns 1 when out is valid,
 * else 0.
 */
int as_budget(struct as_ctx *a, const struct rec_cert *c, struct sc_budget *out, char *domain,
    size_t domlen);

struct sig_state;
/* Make a's scores use the live signals of s (NULL: none). s must outlive a. */
void as_use_signals(struct as_ctx *a, struct sig_state *s);
/*
 * The signals as_score gives c: out is zeroed, then filled from the source set with
 * as_use_signals (none: sg_valid 0).
 */
void as_signals(struct as_ctx *a, const struct rec_cert *c, struct sc_signals *out);

struct arc;
/*
 * Make a's scores use the ACME renewal windows in c (aricache.h; NULL: none). c must outlive a.
 * A certificate gets the window of its newest issued CertificateRequest's certificate only,
 * so a window learned for one serial never applies to another.
 */
void as_use_ari(struct as_ctx *a, struct arc *c);
/*
 * The ARI window as_score gives c: out is zeroed (ar_valid 0), then filled when c's issuer is
 * an ACME issuer and the cache holds a window for its current certificate. ar_url points into
 * url (urllen bytes), which must outlive out.
 */
void as_ari(struct as_ctx *a, const struct rec_cert *c, struct sc_ari *out, char *url,
    size_t urllen);

/*
 * Run the anomaly detector (scoring/anomaly.h) over every CertificateRequest in the store,
 * oldest first, parsing each issued certificate (scoring/certparse.h), and keep for each
 * Certificate what the observation of its newest request found; as_score then carries those
 * anomalies into the result. Baselines are per namespace and learned from this pass alone, so
 * only checks that need no baseline (weak key, wildcard, validity different from requested,
 * notBefore in the future, a public key shared between certificates) and requests of the last
 * six hours (against the history before them) can be reported. Returns the number of issued
 * certificates that did not parse (each logged with its request's name).
 */
size_t as_find_anomalies(struct as_ctx *a);

struct an_state;
struct an_report;
struct rec_cr;

/*
 * Observe one CertificateRequest r in an (an_observe with the names and key of c, its owning
 * Certificate or NULL, and r's issued certificate parsed), appending findings to rep. Returns
 * 0, 1 when the issued certificate did not parse (logged; the request still trains the
 * baselines), or a negative SC_ERR_ from an_observe. The caller serialises calls on one an.
 * The parsed certificate also goes to bk (budget.h's bg_note; NULL: nowhere), so the ACME
 * budget count does not parse it again.
 */
int as_observe_request(struct an_state *an, const struct rec_cr *r, const struct rec_cert *c,
    int64_t now, struct an_report *rep, struct bg_book *bk);

/* Sort anomalies most severe first, then strongest (as the result lists them). */
void as_sort_anomalies(struct sc_anomaly *v, size_t n);

/*
 * Give a the anomalies of Certificate ns/name found elsewhere (the controller's streaming
 * detector), replacing whatever as_find_anomalies found. At most SC_MAX_ANOMALIES are kept.
 */
void as_set_anomalies(struct as_ctx *a, const char *ns, const char *name,
    const struct sc_anomaly *v, size_t n);

/*
 * Scores c into out. Returns SC_OK, or SC_ERR_INVAL when the certificate's own data is
 * inconsistent (out then says what, with risk 0 and level low). When text is not NULL, the full
 * explanation (ex_text) is written there, textlen bytes at most, always NUL-terminated.
 */
int as_score(struct as_ctx *a, const struct rec_cert *c, struct sc_result *out, char *text,
    size_t textlen);

struct lm_model;
struct lm_features;

/*
 * Score with the learned model m (borrowed; it must stay unchanged until a is freed), or NULL
 * for none. The explanation then carries the model's contribution as the "learned" factor.
 */
void as_set_model(struct as_ctx *a, const struct lm_model *m);

/*
 * Whether CertificateRequest r has reached an outcome: 1 when it has (issued; or failed,
 * denied, invalid: *failed = 1), with the outcome's time in *when; 0 while it is pending.
 */
int as_request_outcome(const struct rec_cr *r, int *failed, int64_t *when);
/*
 * True when r failed for a reason scoring's fault model carries (a rate limit, the CA
 * unavailable, DNS, a wrong setting, a denial). The learned model is the failure rate of
 * attempts in a healthy state; such a failure is a fault's evidence, and learned as an attempt's
 * odds it would count twice (a burst of 150 rate-limit refusals at one instant taught the model
 * that healthy attempts fail, in the simulator's rate-limit scenario). Transient and
 * unrecognised failures are learned.
 */
int as_request_fault_failure(const struct rec_cr *r);

/*
 * The learned model's inputs for the request crs[i] as they stood when it was created, as far
 * as the store can tell: its issuer's estimate from the outcomes before that moment (and the
 * issuer's Ready condition if it was already False then), the certificate's run of failed
 * requests just before it, the class of the last failure and the hours since it, the requested
 * lifetime. crs[0..n) are c's requests newest first, as store_cert_crs returns them. Fields the
 * store cannot know (cert-manager's metrics) are NaN, which the model reads as unknown.
 * Walks the issuer's history; use a context without a cache (as_use_cache) so that the history
 * is there to walk.
 */
void as_request_features(struct as_ctx *a, const struct rec_cert *c,
    const struct rec_cr *const *crs, size_t n, size_t i, struct lm_features *f);

/*
 * Parses "Issuer/NAME" or "ClusterIssuer/NAME" (the certcast.io/fallback-issuer value) into
 * kind and name (copied, NUL-terminated, cut to their sizes). Returns 1 when well formed and
 * the name is a DNS subdomain, else 0.
 */
int as_parse_issuer_ref(const char *v, char *kind, size_t kindsz, char *name, size_t namesz);

/*
 * Parses "KIND/NAME" (group cert-manager.io) or "KIND.GROUP/NAME" (an external issuer's group),
 * the certcast.io/original-issuer value, into group, kind and name (copied, NUL-terminated).
 * Returns 1 when well formed (KIND alphanumeric, GROUP and NAME DNS subdomains), else 0.
 */
int as_parse_issuer_ref_any(const char *v, char *group, size_t groupsz, char *kind, size_t kindsz,
    char *name, size_t namesz);

/* A certcast.io/ annotation a user set to a value certcast ignores. */
struct as_annot_problem {
	const char *ap_key;    /* static: the annotation */
	const char *ap_value;  /* borrowed from the record: what it was set to */
	const char *ap_why;    /* static: what is wrong, in words */
};

/*
 * The user's certcast.io/ annotations on c that scoring ignores because they do not parse (or,
 * for max-renew-before, because it is below the minimum in force: base's, the controller's
 * settings; NULL for scoring's defaults), into out[0..max); returns how many there are (may
 * exceed max). They are the very rules scoring
 * applies (as_score), so a reported value is exactly one that has no effect.
 */
size_t as_annotation_problems(const struct rec_cert *c, const struct sc_config *base,
    struct as_annot_problem *out, size_t max);

/*
 * Parses the certcast.io/last-action value "<Reason> <RFC 3339 time>[: detail]" into action (the
 * Event reason of the action) and *when. Returns 1 when well formed, else 0.
 */
int as_parse_last_action(const char *v, char *action, size_t actionsz, int64_t *when);

struct sc_state;
/*
 * Called by as_score, after the state read back from c's annotations, to complete it with what
 * the caller remembers of its own writes (store read lock held; must not take it again).
 */
typedef void (*as_state_fn)(void *arg, const struct rec_cert *c, int64_t now,
    struct sc_state *st);
void as_use_state(struct as_ctx *a, as_state_fn fn, void *arg);

#endif
