/*
 * status: `certcast status`, one row per Certificate with its renewal state, as a table, a wide
 * table or JSON.
 *
 * Rows are built from a store (store.h) and sorted by namespace, then name; building copies
 * everything it needs, so rows outlive the store. Printing is pure: the same rows always give
 * the same bytes, so tests compare against output computed from the same objects.
 */
#ifndef STATUS_H
#define STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct store;

enum status_output { STATUS_OUT_TABLE = 0, STATUS_OUT_JSON, STATUS_OUT_WIDE };

/* Parse "table" | "json" | "wide". CC_OK or CC_ERR_INVAL. */
int status_parse_output(const char *s, enum status_output *out);

/* Certificate risk levels; filled by scoring later, STATUS_RISK_UNKNOWN until then. */
enum status_risk { STATUS_RISK_UNKNOWN = -1, STATUS_RISK_LOW = 0, STATUS_RISK_MEDIUM,
	STATUS_RISK_HIGH, STATUS_RISK_CRITICAL };

#define STATUS_ANOMALIES_MAX 8

/* An anomaly of the certificate's newest request or issued certificate. */
struct status_anomaly {
	char *sa_type;              /* "weak-key", "unexpected-ca", ... */
	int sa_severity;            /* 0 info, 1 warning, 2 critical */
	char *sa_evidence;          /* one sentence */
};

/* One Certificate, copied out of the store. Times are Unix seconds, 0 when absent. */
struct status_row {
	char *sr_ns;                /* namespace */
	char *sr_name;              /* name */
	char *sr_issuer_kind;       /* issuerRef.kind ("Issuer" when empty) */
	char *sr_issuer_name;       /* issuerRef.name, "" when absent */
	char *sr_issuer_group;      /* issuerRef.group */
	char *sr_ready;             /* Ready condition status: "True", "False", "Unknown" or "" */
	char *sr_ready_reason;      /* its reason, or NULL */
	int64_t sr_not_after;       /* status.notAfter */
	int64_t sr_renewal_time;    /* status.renewalTime */
	int64_t sr_renew_before;    /* spec.renewBefore in seconds */
	int sr_has_renew_before;    /* spec.renewBefore was set */
	int sr_renew_pct;           /* spec.renewBeforePercentage */
	int sr_has_renew_pct;
	int sr_failed_attempts;     /* status.failedIssuanceAttempts */
	int64_t sr_last_failure;    /* status.lastFailureTime */
	char *sr_failure_reason;    /* Issuing condition reason when it failed, or NULL */
	int sr_requests;            /* CertificateRequests owned by this Certificate */
	char *sr_secret;            /* spec.secretName, or NULL */
	char **sr_dns;              /* spec.dnsNames */
	size_t sr_ndns;
	char *sr_issuing;           /* Issuing condition status, "" when absent */
	char *sr_issuing_reason;    /* its reason, or NULL */
	char *sr_last_action;       /* certcast.io/last-action as written ("REASON TIME: detail"),
	                               or NULL when absent */
	enum status_risk sr_risk;   /* risk level, STATUS_RISK_UNKNOWN when not scored */
	double sr_risk_value;       /* P(expires before a successful renewal); NAN when not scored */
	char *sr_risk_reasons;      /* the top factors ("; "-separated), or NULL */
	int64_t sr_predicted_failure; /* when renewal stops being possible, 0 none */
	int64_t sr_next_attempt;    /* cert-manager's next attempt by the forecast, 0 none */
	struct status_anomaly sr_anomalies[STATUS_ANOMALIES_MAX];
	size_t sr_nanomalies;
	/* ACME budget of the registered domain as scored (assess.h's as_budget); when known: */
	char *sr_budget_domain;     /* the registered domain, or NULL when unknown */
	uint32_t sr_new_used, sr_new_limit; /* new certificates of the domain in the window */
	uint32_t sr_dup_used, sr_dup_limit; /* certificates of the exact set of names in it */
	int64_t sr_budget_window;   /* seconds */
	int64_t sr_budget_refill;   /* when the oldest counted one leaves the window, 0 none */
};

struct status_rows {
	struct status_row *sr_rows; /* owned array */
	size_t sr_n;
};

/*
 * Build one row per Certificate in st, limited to namespace ns (NULL or "" for all), sorted by
 * namespace then name. Counts CertificateRequests per Certificate (by the
 * cert-manager.io/certificate-name annotation) and reads failure reasons from the Issuing
 * condition. Takes the store's read lock for the duration. Free with status_rows_free.
 */
void status_rows_build(struct store *st, const char *ns, struct status_rows *out);
/*
 * Score every row with the scoring library (assess.h) as of now, with cfg (NULL: defaults):
 * fills sr_risk, sr_risk_value, sr_risk_reasons, sr_predicted_failure, sr_next_attempt and
 * the anomalies of the certificate's newest request (as_find_anomalies).
 * Takes the store's read lock. Rows whose certificate is no longer in st stay unscored.
 */
struct sc_config;
void status_rows_score(struct store *st, struct status_rows *rs, int64_t now,
    const struct sc_config *cfg);
void status_rows_free(struct status_rows *rs);

/* The parts of a certcast.io/last-action value, as status shows them. */
struct status_last_action {
	int la_ok;                  /* 1: in certcast's format ("REASON RFC3339[: detail]") */
	char la_reason[128];        /* with la_ok */
	int64_t la_time;            /* with la_ok: Unix seconds */
	const char *la_detail;      /* with la_ok: points into the value, or NULL for none */
};
/* Split v (NULL: la_ok 0) with assess.h's as_parse_last_action, the reader scoring uses. Pure. */
void status_last_action_parse(const char *v, struct status_last_action *out);

struct as_ctx;
struct rec_cert;
struct sc_result;
/*
 * Fill r's risk fields (sr_risk .. sr_budget_refill) from res, what as_score(a, c) gave, and
 * from a's ACME budget of c (as_budget), replacing what they held. Store read lock held. The
 * one place a score becomes a row, for the one-shot commands and the controller's /status.
 */
void status_row_set_score(struct status_row *r, struct as_ctx *a, const struct rec_cert *c,
    const struct sc_result *res);

/* Scores Certificate c (store read lock held) into r with status_row_set_score. */
typedef void (*status_score_fn)(void *arg, const struct rec_cert *c, struct status_row *r);
/*
 * The rows of status_rows_build, each built and scored (score) under the same read lock, for a
 * store that writers keep changing: the keys are taken first, then batch certificates at a time
 * are built and scored under one read lock, which is let go between batches so that the
 * watches are not held up for the whole listing (batch 0: all under one lock). A certificate
 * deleted meanwhile has no row. Sorted as status_rows_build sorts. The caller must not hold
 * the store's lock. Free with status_rows_free.
 */
void status_rows_collect(struct store *st, const char *ns, size_t batch, status_score_fn score,
    void *arg, struct status_rows *out);

/*
 * Print rows as an aligned table (wide adds SECRET, DNS NAMES, ISSUING, LAST ACTION). now: for
 * relative ages.
 */
void status_print_table(FILE *fp, const struct status_rows *rs, int wide, int64_t now);
/*
 * Print rows as {"items":[...]} with typed values (RFC 3339 times, Go durations and seconds).
 * lastAction is null, or {"text": the annotation as written, "reason", "time", "detail": its
 * parts, each null when the text is not in certcast's format (or has no detail)}.
 */
void status_print_json(FILE *fp, const struct status_rows *rs);
/* What status_print_json prints, final newline included, as a string the caller frees. */
char *status_json_text(const struct status_rows *rs);
/*
 * Read a document status_print_json printed (a controller's /status) back into rows, so that
 * it prints again through status_print: as JSON byte for byte the same, as a table the rows
 * the same certificates give here. Every field must be there except lastAction, which a
 * controller older than it does not send (read as null). Returns CC_OK, or CC_ERR_PARSE with
 * the first problem (item index and field) in err and out empty. Free with status_rows_free.
 */
int status_rows_from_json(const char *text, size_t len, struct status_rows *out, char *err,
    size_t errsz);

/* The exit code for rows: 0, or 3 when any row is at STATUS_RISK_CRITICAL. */
int status_exit_code(const struct status_rows *rs);

struct status_opts {
	const char *so_kubeconfig;  /* --kubeconfig or NULL */
	const char *so_context;     /* --context or NULL */
	const char *so_namespace;   /* -n, or NULL for the context's namespace */
	int so_all;                 /* -A */
	enum status_output so_output;
	const char *so_controller;  /* --controller URL, or NULL to list and score here */
	const char *so_controller_ca; /* --controller-ca: PEM CAs trusted besides the system's */
	const char *so_controller_token; /* --controller-token-file: a bearer token, or NULL */
};

/*
 * The whole command without --controller (status_remote.h has the one with it): load
 * kubeconfig, list every resource once into a store, score here, print, and say on err that
 * the risks were computed without the controller's inputs (one line, never on out, so that
 * -o json stays a document). Returns the exit code: status_exit_code(), or 1 on a kubeconfig
 * or API error (the server's message, e.g. RBAC's "forbidden", is printed to err).
 */
int status_run(const struct status_opts *o, FILE *out, FILE *err);
/* The line status_run writes on err. */
#define STATUS_LOCAL_NOTE                                                                       \
	"note: risks computed here, without the controller's live signals, ARI windows, learned " \
	"model and settings; --controller URL shows the controller's own"

/*
 * The namespace o asks for into ns: "" for -A, -n's, else the kubeconfig context's (o's
 * kubeconfig and context), else "default". cmd names the command in a message on errf when
 * the kubeconfig is needed and cannot be loaded. CC_OK or the kubeconfig's error.
 */
int status_namespace(const struct status_opts *o, const char *cmd, char *ns, size_t nssz,
    FILE *errf);

/*
 * Load the kubeconfig of o, resolve the namespace (-A: "", -n, else the context's, else
 * "default") into ns_out, and list Certificates, CertificateRequests, Issuers, ClusterIssuers
 * and Events there into st. cmd names the command in error messages on errf. CC_OK or the error.
 */
int status_load(const struct status_opts *o, const char *cmd, struct store *st, char *ns_out,
    size_t nssz, FILE *errf);

/*
 * Print rows in the output format (table, wide, json); an empty table says "No certificates
 * found" on errf instead. Returns status_exit_code(rs).
 */
int status_print(const struct status_rows *rs, enum status_output output, const char *ns,
    int64_t now, FILE *out, FILE *errf);

#endif
