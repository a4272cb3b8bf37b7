/*
 * reconcile: the level-based reconcile of one Certificate key ("namespace/name").
 *
 * It reads only the store and is idempotent: reconciling a key twice in a row (at one time)
 * does the same as once. It scores the certificate (assess.h) and keeps the per-certificate
 * gauges (risk, risk level, predicted failure, expiry timestamp, effective renewBefore) and the
 * issuer's failure probability in step with the store, moving a certificate's series when its
 * issuer changes and deleting them when the certificate goes away. Risk grows with time alone,
 * so the controller's resync re-reconciles every certificate periodically. With live signals
 * (recon_opts.ro_signals) they go into the score, and the issuer's failure probability is its
 * history's estimate moved by them (ih_apply_signals), so that it rises with 5xx answers. A streaming anomaly
 * detector sees each request (and its issued certificate) once; the findings of a certificate's
 * newest request go into its score and are counted in certcast_anomalies_total when found.
 * With a learned model (model.h), every request of the certificate that has reached an outcome
 * trains it once (the model's ledger remembers which), and the score uses a copy of the model
 * taken after that training.
 * With an executor (recon_opts.ro_act) it then writes what the score calls for (act.h):
 * annotations and Events in observe mode, the actions too in enforce mode, after letting go of
 * the store's lock; a write that should be retried makes recon_key return its retryable error.
 *
 * Thread-safe for different keys at once (the work queue never hands one key to two workers).
 */
#ifndef RECONCILE_H
#define RECONCILE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct met_std;
struct rec_cert;
struct recon;

struct sc_config;
struct sig_state;
struct mdl;
struct act;

struct recon_opts {
	struct store *ro_store;      /* borrowed; read only */
	struct met_std *ro_metrics;  /* borrowed; the families to update, or NULL for none */
	const struct sc_config *ro_scoring; /* copied; NULL: scoring's defaults */
	int64_t (*ro_clock)(void);   /* the time scoring is done at; NULL: the wall clock */
	struct sig_state *ro_signals; /* borrowed live signals (signals.h), or NULL for none */
	struct mdl *ro_model;        /* borrowed; the learned model to train and score with, or NULL */
	struct arc *ro_ari;          /* borrowed ACME renewal windows (aricache.h), or NULL */
	const char *ro_psl_file;     /* Public Suffix List for ACME budgets; NULL: psl.h's default */
	struct act *ro_act;          /* borrowed executor of annotations, Events and actions
				      * (act.h), or NULL to write nothing */
};

/* A reconciler; free with recon_free after the workers have stopped. */
struct recon *recon_new(const struct recon_opts *o);
/* Free it; the series it created stay in the registry. Accepts NULL. */
void recon_free(struct recon *r);

/*
 * Reconcile one key. Returns CC_OK, CC_ERR_INVAL for a key that is not "namespace/name"
 * (logged; the caller should drop it, retrying cannot help), or the retryable error of a write
 * that should be tried again (act_apply: a 409 on a spec change, the API server unavailable).
 */
int recon_key(struct recon *r, const char *key);

/*
 * Train the learned model on every finished request of every Certificate in the store that it
 * has not learned yet, and return how many that was. The same as reconciling each certificate
 * would do for the model, but an issuer's history is walked once per batch of certificates
 * instead of once per outcome: the controller calls it once after the first sync, before the
 * workers start, so that a first start with a large history stays fast. Safe to call while
 * workers run (each outcome is still learned once).
 */
size_t recon_learn_all(struct recon *r);

struct xf_explanation;
/*
 * Score Certificate ns/name now for an explanation, with exactly the inputs a reconcile scores
 * it with (the settings, the issuer cache, live signals, ARI windows, ACME budgets, a copy of
 * the learned model taken now, and the anomalies the last reconcile of it kept: none while a
 * reconcile of it is under way or before its first), into out (explain_fmt.h) with the full
 * explanation text. It neither trains the model nor feeds the anomaly detector: asking changes
 * nothing. Returns CC_OK, or CC_ERR_NOTFOUND when the store has no such certificate.
 * Thread-safe; takes the store's read lock, so the caller must not hold it.
 */
int recon_explain(struct recon *r, const char *ns, const char *name, struct xf_explanation *out);

struct status_rows;
/*
 * The rows of `certcast status` (status.h) for every Certificate in namespace ns (NULL or "":
 * all), each scored as recon_explain scores it (so with the inputs a reconcile scores it with,
 * its risk the certcast_certificate_risk of the last reconcile unless an input moved since),
 * at one instant. Trains nothing and counts nothing. Takes the store's read lock in batches,
 * letting go between them, so the caller must not hold it; a certificate deleted meanwhile has
 * no row. Thread-safe. Free out with status_rows_free.
 */
void recon_status(struct recon *r, const char *ns, struct status_rows *out);

/* Number of certificates whose series recon currently keeps (tests). */
size_t recon_tracked(struct recon *r);

/*
 * The renewBefore cert-manager uses for c, in seconds: spec.renewBefore, else
 * renewBeforePercentage of the lifetime, else a third of it (renewal at 2/3). The lifetime is
 * notAfter - notBefore when both are known, else spec.duration, else cert-manager's 90 days.
 */
int64_t recon_effective_renew_before(const struct rec_cert *c);

#endif
