/*
 * sim_scenario: loading a simulation scenario from YAML (libyaml).
 *
 * A scenario describes a fleet (groups of certificates on issuers), the fault processes that hit
 * it, the policies to compare and the expectations to check. The schema is documented in
 * sim/README.md. Loading is strict: an unknown key, a value of the wrong type, a negative duration
 * or a missing required field is an error whose message names the key path and the line:column
 * (1-based) where it was found. All times inside a scenario are offsets from its start.
 * Not thread-safe per scenario; distinct scenarios are independent.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

/* The policies the simulator compares; the values index per-policy arrays. */
enum scn_policy {
	SCN_POL_CERT_MANAGER = 0, /* cert-manager's own schedule, untouched */
	SCN_POL_FIXED_30D = 1,    /* renewBefore 30d on every certificate */
	SCN_POL_ARI_ONLY = 2,     /* cert-manager plus renewing inside the ARI window */
	SCN_POL_CERTCAST = 3,     /* cert-manager steered by sc_evaluate */
	SCN_POL_COUNT = 4,
};

enum scn_fault_kind {
	SCN_F_OUTAGE = 0,         /* issuer down for [start, start+duration) */
	SCN_F_RANDOM_OUTAGES = 1, /* Poisson outages of an issuer */
	SCN_F_MISCONFIG = 2,      /* issuer or group fails with a configuration error until fixed */
	SCN_F_DNS = 3,            /* DNS-01 failures in a zone, by probability and/or window */
	SCN_F_REVOCATION = 4,     /* mass revocation at a time, with a replacement deadline */
	SCN_F_ARI_WINDOW = 5,     /* the CA moves the ARI windows of some certificates */
	SCN_F_STUCK = 6,          /* ACME challenges of an issuer or zone never validate: new
				     requests hang until the CA's order expires, then fail */
	SCN_F_NAMES_CHANGE = 7,   /* a group's certificates get a new exact set of names (a SAN
				     added): cert-manager reissues at once, a new set for the CA */
	SCN_F_EXTERNAL = 8,       /* other accounts obtain new certificates for a registered
				     domain from the same CA: they count against its per-domain
				     limit, and the fleet's own books never see them */
};

#define SCN_NEVER INT64_MAX /* "no end" for windows and fixes */

struct scn_issuer {
	char *is_name;         /* owned, unique */
	char *is_kind;         /* owned: "Issuer" or "ClusterIssuer" */
	int is_acme;           /* ACME: rate limits and DNS-01 apply */
	int is_ari;            /* the CA publishes ARI renewal windows */
	double is_ari_lo;      /* ARI window start, fraction of the lifetime */
	double is_ari_hi;      /* ARI window end, fraction of the lifetime */
	double is_fail_p;      /* transient failure probability per attempt */
	int64_t is_latency;    /* seconds from request to outcome */
	uint32_t is_rl_domain; /* new certificates per registered domain per window */
	uint32_t is_rl_dup;    /* duplicate certificates per window */
	int64_t is_rl_window;  /* sliding window of the rate limits, seconds */
};

struct scn_group {
	char *g_name;           /* owned, unique, no dots */
	char *g_namespace;      /* owned */
	uint32_t g_count;       /* certificates in the group */
	int g_issuer;           /* index into s_issuers */
	int g_fallback;         /* index into s_issuers, or -1 */
	int64_t g_lifetime;     /* seconds */
	int64_t g_renew_before; /* seconds, 0 when unset */
	int g_pct;              /* renewBeforePercentage, 0 when unset */
	char *g_domain;         /* owned: registered domain (base name when g_ndomains > 1) */
	uint32_t g_ndomains;    /* certificates spread round-robin over this many domains */
	int64_t g_age_lo;       /* initial age range at the start, seconds */
	int64_t g_age_hi;
};

struct scn_fault {
	enum scn_fault_kind f_kind; /* which process */
	int f_issuer;               /* index, or -1 for "any" / not applicable */
	int f_group;                /* index, or -1 */
	char *f_zone;               /* owned, DNS zone (registered domain), NULL for all
				       (stuck: NULL when the fault names an issuer) */
	int64_t f_start;            /* offset from the start, seconds */
	int64_t f_end;              /* offset, SCN_NEVER when open-ended */
	double f_prob;              /* DNS failure probability; revocation fraction */
	int64_t f_mean_gap;         /* random outages: mean time between outages */
	int64_t f_mean_len;         /* random outages: mean outage length */
	int64_t f_deadline;         /* revocation: replacement deadline after f_start */
	int64_t f_aff_lo;           /* ari-window: certificates whose window starts in */
	int64_t f_aff_hi;           /*   [f_aff_lo, f_aff_hi) (offsets) are moved ... */
	int64_t f_win_lo;           /*   ... to [f_win_lo, f_win_hi] (offsets) */
	int64_t f_win_hi;
	double f_per_day;           /* external-issuance: new certificates per day */
	uint32_t f_dom;             /* external-issuance: the domain's index within f_group's
				       domains (0 unless the group spreads over several) */
	unsigned f_line;            /* where it was declared, for messages */
};

struct scn_expect {
	char *x_text;    /* owned, as written */
	unsigned x_line; /* 1-based line of the entry */
};

struct scn_scenario {
	char *s_name;                /* owned */
	char *s_description;         /* owned, may be NULL */
	uint64_t s_seed;             /* the one seed of every random draw */
	int64_t s_start;             /* unix seconds of simulated time zero */
	int64_t s_duration;          /* simulated horizon, seconds */
	int64_t s_alert_horizon;     /* alert lead horizon, seconds (default 7d) */
	unsigned s_policies;         /* bit (1 << enum scn_policy) per policy run */
	double s_target_risk;        /* certcast target risk */
	int64_t s_eval_interval;     /* certcast periodic evaluation, 0 = derived per lifetime */
	struct scn_issuer *s_issuers;
	size_t s_nissuers;
	struct scn_group *s_groups;
	size_t s_ngroups;
	struct scn_fault *s_faults;
	size_t s_nfaults;
	struct scn_expect *s_expects;
	size_t s_nexpects;
	uint64_t s_ncerts;           /* sum of group counts */
};

/* Room for one error message naming the file, line:column and key path. */
struct scn_error {
	char e_msg[512]; /* NUL-terminated; empty when there was no error */
};

/*
 * Load a scenario from a file. On CC_OK *out is a new scenario the caller frees with scn_free.
 * Errors: CC_ERR_IO (cannot read), CC_ERR_PARSE (not YAML), CC_ERR_INVAL (schema violation);
 * *err then says what and where and *out is NULL.
 */
int scn_load_file(const char *path, struct scn_scenario **out, struct scn_error *err);

/* The same from text in memory (len bytes; need not be NUL-terminated); name is used in
 * messages in place of a file name. */
int scn_load_string(const char *text, size_t len, const char *name, struct scn_scenario **out,
    struct scn_error *err);

/* Free a scenario. Accepts NULL. */
void scn_free(struct scn_scenario *s);

/* The stable name of a policy ("cert-manager", "fixed-30d", "ari-only", "certcast"). */
const char *scn_policy_name(enum scn_policy p);

/* Parse a policy name; returns CC_OK or CC_ERR_INVAL. */
int scn_policy_parse(const char *s, enum scn_policy *out);

/*
 * Parse a duration: one or more <number><unit> with units s, m, h, d (e.g. "90d", "1h30m",
 * "0.5h"); "0" alone is zero. Negative values are rejected. Returns CC_OK or CC_ERR_INVAL.
 */
int scn_parse_duration(const char *s, int64_t *out);

/* Index of an issuer or group by name, or -1. */
int scn_issuer_index(const struct scn_scenario *s, const char *name);
int scn_group_index(const struct scn_scenario *s, const char *name);

#endif
