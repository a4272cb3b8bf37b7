/*
 * failclass: a const rule table from cert-manager's reasons and ACME's error types to failure
 * classes, and each class's persistence model.
 */
#include "failclass.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "cron.h"

#define FCL_HOUR 3600LL
#define FCL_DAY (24 * FCL_HOUR)
#define FCL_LOWER_MAX 4096 /* messages up to this long are lowercased once for the rule search */

enum fcl_where { FCL_MSG = 0, FCL_REASON = 1 };

struct fcl_rule {
	const char *r_name;    /* stable rule id, shown in explanations */
	enum fcl_where r_where;/* match the message (substring, any case) or the reason (exact) */
	const char *r_pat;     /* the pattern, lower case for messages */
	enum sc_class r_class; /* class it implies */
	double r_conf;         /* how sure */
};

/*
 * Most specific first. ACME problem types (RFC 8555 section 6.7) come first because
 * cert-manager nests them inside its own wrapping messages ("The certificate request has failed
 * to complete and will be retried: Failed to wait for order resource ... order is in \"errored\"
 * state: Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: ...").
 */
static const struct fcl_rule fcl_rules[] = {
	/* ACME problem types */
	{"acme-rate-limited", FCL_MSG, "urn:ietf:params:acme:error:ratelimited", SC_CLASS_RATE_LIMIT, 0.97},
	{"acme-server-internal", FCL_MSG, "urn:ietf:params:acme:error:serverinternal", SC_CLASS_CA_UNAVAILABLE, 0.9},
	{"acme-bad-nonce", FCL_MSG, "urn:ietf:params:acme:error:badnonce", SC_CLASS_TRANSIENT, 0.95},
	{"acme-dns", FCL_MSG, "urn:ietf:params:acme:error:dns", SC_CLASS_DNS, 0.9},
	{"acme-caa", FCL_MSG, "urn:ietf:params:acme:error:caa", SC_CLASS_CONFIG, 0.95},
	{"acme-rejected-identifier", FCL_MSG, "urn:ietf:params:acme:error:rejectedidentifier", SC_CLASS_CONFIG, 0.95},
	{"acme-unsupported-identifier", FCL_MSG, "urn:ietf:params:acme:error:unsupportedidentifier", SC_CLASS_CONFIG, 0.95},
	{"acme-unauthorized", FCL_MSG, "urn:ietf:params:acme:error:unauthorized", SC_CLASS_CONFIG, 0.85},
	{"acme-incorrect-response", FCL_MSG, "urn:ietf:params:acme:error:incorrectresponse", SC_CLASS_CONFIG, 0.85},
	{"acme-connection", FCL_MSG, "urn:ietf:params:acme:error:connection", SC_CLASS_CONFIG, 0.6},
	{"acme-tls", FCL_MSG, "urn:ietf:params:acme:error:tls", SC_CLASS_CONFIG, 0.7},
	{"acme-malformed", FCL_MSG, "urn:ietf:params:acme:error:malformed", SC_CLASS_CONFIG, 0.85},
	{"acme-bad-csr", FCL_MSG, "urn:ietf:params:acme:error:badcsr", SC_CLASS_CONFIG, 0.95},
	{"acme-bad-public-key", FCL_MSG, "urn:ietf:params:acme:error:badpublickey", SC_CLASS_CONFIG, 0.95},
	{"acme-bad-signature-algorithm", FCL_MSG, "urn:ietf:params:acme:error:badsignaturealgorithm", SC_CLASS_CONFIG, 0.95},
	{"acme-account-does-not-exist", FCL_MSG, "urn:ietf:params:acme:error:accountdoesnotexist", SC_CLASS_CONFIG, 0.9},
	{"acme-external-account-required", FCL_MSG, "urn:ietf:params:acme:error:externalaccountrequired", SC_CLASS_CONFIG, 0.95},
	{"acme-invalid-contact", FCL_MSG, "urn:ietf:params:acme:error:invalidcontact", SC_CLASS_CONFIG, 0.95},
	{"acme-unsupported-contact", FCL_MSG, "urn:ietf:params:acme:error:unsupportedcontact", SC_CLASS_CONFIG, 0.95},
	{"acme-user-action-required", FCL_MSG, "urn:ietf:params:acme:error:useractionrequired", SC_CLASS_CONFIG, 0.95},
	{"acme-order-not-ready", FCL_MSG, "urn:ietf:params:acme:error:ordernotready", SC_CLASS_TRANSIENT, 0.7},
	{"acme-compound", FCL_MSG, "urn:ietf:params:acme:error:compound", SC_CLASS_UNKNOWN, 0.4},
	/* rate limits without the problem type */
	{"rl-too-many-certificates", FCL_MSG, "too many certificates", SC_CLASS_RATE_LIMIT, 0.9},
	{"rl-too-many-failed-authz", FCL_MSG, "too many failed authorizations", SC_CLASS_RATE_LIMIT, 0.9},
	{"rl-too-many-orders", FCL_MSG, "too many new orders", SC_CLASS_RATE_LIMIT, 0.9},
	{"rl-too-many-requests", FCL_MSG, "too many requests", SC_CLASS_RATE_LIMIT, 0.8},
	{"rl-rate-limit", FCL_MSG, "rate limit", SC_CLASS_RATE_LIMIT, 0.8},
	{"rl-status-429", FCL_MSG, "429 ", SC_CLASS_RATE_LIMIT, 0.6},
	/* the CA is down or unreachable */
	{"ca-503", FCL_MSG, "503 service unavailable", SC_CLASS_CA_UNAVAILABLE, 0.85},
	{"ca-502", FCL_MSG, "502 bad gateway", SC_CLASS_CA_UNAVAILABLE, 0.85},
	{"ca-504", FCL_MSG, "504 gateway timeout", SC_CLASS_CA_UNAVAILABLE, 0.8},
	{"ca-500", FCL_MSG, "500 internal server error", SC_CLASS_CA_UNAVAILABLE, 0.8},
	{"ca-unavailable", FCL_MSG, "service unavailable", SC_CLASS_CA_UNAVAILABLE, 0.75},
	{"ca-maintenance", FCL_MSG, "maintenance", SC_CLASS_CA_UNAVAILABLE, 0.7},
	{"ca-connection-refused", FCL_MSG, "connection refused", SC_CLASS_CA_UNAVAILABLE, 0.7},
	{"ca-no-route", FCL_MSG, "no route to host", SC_CLASS_CA_UNAVAILABLE, 0.7},
	{"ca-tls-timeout", FCL_MSG, "tls handshake timeout", SC_CLASS_CA_UNAVAILABLE, 0.65},
	/* DNS */
	{"dns-problem", FCL_MSG, "dns problem", SC_CLASS_DNS, 0.9},
	{"dns-nxdomain", FCL_MSG, "nxdomain", SC_CLASS_DNS, 0.85},
	{"dns-servfail", FCL_MSG, "servfail", SC_CLASS_DNS, 0.85},
	{"dns-propagation", FCL_MSG, "dns-01 challenge propagation", SC_CLASS_DNS, 0.7},
	{"dns-not-propagated", FCL_MSG, "not yet propagated", SC_CLASS_DNS, 0.7},
	{"dns-no-such-host", FCL_MSG, "no such host", SC_CLASS_DNS, 0.7},
	{"dns-lookup", FCL_MSG, "lookup ", SC_CLASS_DNS, 0.5},
	/* configuration */
	{"cfg-denied", FCL_MSG, "has been denied", SC_CLASS_CONFIG, 0.95},
	{"cfg-secret-not-found", FCL_MSG, "secret", SC_CLASS_UNKNOWN, 0.0}, /* refined below */
	{"cfg-issuer-not-found", FCL_MSG, "issuer not found", SC_CLASS_CONFIG, 0.9},
	{"cfg-referenced-issuer", FCL_MSG, "referenced issuer", SC_CLASS_CONFIG, 0.75},
	{"cfg-unknown-authority", FCL_MSG, "certificate signed by unknown authority", SC_CLASS_CONFIG, 0.85},
	{"cfg-self-check-status", FCL_MSG, "wrong status code", SC_CLASS_CONFIG, 0.8},
	{"cfg-access-denied", FCL_MSG, "accessdenied", SC_CLASS_CONFIG, 0.8},
	{"cfg-access-denied2", FCL_MSG, "access denied", SC_CLASS_CONFIG, 0.8},
	{"cfg-permission-denied", FCL_MSG, "permission denied", SC_CLASS_CONFIG, 0.8},
	{"cfg-forbidden", FCL_MSG, "forbidden", SC_CLASS_CONFIG, 0.75},
	{"cfg-invalid-credentials", FCL_MSG, "invalid credentials", SC_CLASS_CONFIG, 0.85},
	{"cfg-not-authorized", FCL_MSG, "not authorized", SC_CLASS_CONFIG, 0.75},
	{"cfg-unauthorized", FCL_MSG, "unauthorized", SC_CLASS_CONFIG, 0.7},
	{"cfg-self-check", FCL_MSG, "failed to perform self check", SC_CLASS_CONFIG, 0.6},
	{"cfg-invalid-order", FCL_MSG, "order is in \"invalid\" state", SC_CLASS_CONFIG, 0.5},
	/* transient */
	{"tr-deadline", FCL_MSG, "context deadline exceeded", SC_CLASS_TRANSIENT, 0.6},
	{"tr-reset", FCL_MSG, "connection reset by peer", SC_CLASS_TRANSIENT, 0.6},
	{"tr-modified", FCL_MSG, "the object has been modified", SC_CLASS_TRANSIENT, 0.8},
	{"tr-timeout", FCL_MSG, "i/o timeout", SC_CLASS_TRANSIENT, 0.5},
	{"tr-timed-out", FCL_MSG, "timed out", SC_CLASS_TRANSIENT, 0.5},
	{"tr-eof", FCL_MSG, ": eof", SC_CLASS_TRANSIENT, 0.5},
	{"tr-errored-order", FCL_MSG, "order is in \"errored\" state", SC_CLASS_UNKNOWN, 0.5},
	/* cert-manager reasons (exact) */
	{"reason-denied", FCL_REASON, "Denied", SC_CLASS_CONFIG, 0.95},
	{"reason-invalid-request", FCL_REASON, "InvalidRequest", SC_CLASS_CONFIG, 0.9},
	{"reason-issuer-not-found", FCL_REASON, "IssuerNotFound", SC_CLASS_CONFIG, 0.9},
	{"reason-issuer-not-ready", FCL_REASON, "IssuerNotReady", SC_CLASS_CONFIG, 0.6},
	{"reason-bad-config", FCL_REASON, "BadConfig", SC_CLASS_CONFIG, 0.9},
	{"reason-err-init-issuer", FCL_REASON, "ErrInitIssuer", SC_CLASS_CONFIG, 0.7},
	{"reason-err-get-key-pair", FCL_REASON, "ErrGetKeyPair", SC_CLASS_CONFIG, 0.8},
	{"reason-err-invalid-key-pair", FCL_REASON, "ErrInvalidKeyPair", SC_CLASS_CONFIG, 0.85},
	{"reason-err-register-account", FCL_REASON, "ErrRegisterACMEAccount", SC_CLASS_CONFIG, 0.6},
	{"reason-err-verify-account", FCL_REASON, "ErrVerifyACMEAccount", SC_CLASS_CONFIG, 0.6},
	{"reason-vault-error", FCL_REASON, "VaultError", SC_CLASS_UNKNOWN, 0.5},
	{"reason-present-error", FCL_REASON, "PresentError", SC_CLASS_DNS, 0.55},
	{"reason-cleanup-error", FCL_REASON, "CleanUpError", SC_CLASS_TRANSIENT, 0.3},
	{"reason-solve-error", FCL_REASON, "SolveError", SC_CLASS_DNS, 0.5},
	{"reason-accept-error", FCL_REASON, "AcceptError", SC_CLASS_CA_UNAVAILABLE, 0.5},
	{"reason-error-signing", FCL_REASON, "ErrorSigning", SC_CLASS_CONFIG, 0.6},
	{"reason-failed", FCL_REASON, "Failed", SC_CLASS_UNKNOWN, 0.4},
	{"reason-errored", FCL_REASON, "Errored", SC_CLASS_UNKNOWN, 0.4},
};

/*
 * Reasons that are not failures: successes, progress, and the trigger reasons that say why an
 * issuance was started (Ready=False "DoesNotExist", "Expired", ...).
 */
static const char *const fcl_ok_reasons[] = {
	"Issued", "Ready", "CertificateIssued", "Issuing", "Pending", "Requested", "Generated",
	"Reused", "OrderCreated", "OrderPending", "Presented", "DomainVerified", "Accepted",
	"Solved", "Started", "Created", "Complete", "KeyPairVerified", "ACMEAccountRegistered",
	"DoesNotExist", "MissingData", "InvalidKeyPair", "Expired", "SecretMismatch",
	"IncorrectIssuer", "IncorrectCertificate", "InvalidCertificate", "ManuallyTriggered",
	"Renewing", "CertcastTriggered", "Approved", NULL,
};

/* Rate-limit windows named in Let's Encrypt's messages. */
static const struct {
	const char *w_pat;  /* lower-case substring */
	int64_t w_window;   /* seconds */
} fcl_windows[] = {
	{"too many failed authorizations", FCL_HOUR},       /* 5 per account, hostname, hour */
	{"too many new orders", 3 * FCL_HOUR},              /* 300 per account per 3 hours */
	{"too many registrations", 3 * FCL_HOUR},           /* accounts per IP per 3 hours */
	{"too many new registrations", 3 * FCL_HOUR},
	{"exact set", 7 * FCL_DAY},                          /* 5 duplicates per 7 days */
	{"too many certificates", 7 * FCL_DAY},             /* 50 per registered domain per 7 days */
	{"168h", 7 * FCL_DAY},
};

/*
 * The persistence of each class.
 *
 * Configuration does not heal by itself, but it is not forever either: an operator fixes it.
 * Treating it as permanent made every certificate of a misconfigured issuer "certain to expire"
 * months ahead, which is wrong whenever the fix lands in time. Nobody watches a renewal that
 * is not due, so the fix waits until someone notices: the hazard is close to constant (Lomax
 * shape 10, mean 12 days), with only a mild lift for faults that have lasted weeks.
 *
 * The earlier model (shape 3, mean 7 days) said a fault was fixed within days, and leaned on
 * its age: a week-old fault with a week left stayed under even odds, so a 47-day certificate
 * behind a misconfigured issuer (mixed-fleet) was flagged 6.4 days ahead instead of a week
 * (111 of 265 expiries warned too late), while a month-old fault with nine days left was
 * flagged anyway. With the near-constant hazard the week-old fault with a week left is over
 * even odds (flagged 7.7 days ahead), and misconfig-fixed's month-old fault is flagged at the
 * same point as before. The per-attempt forecast (Brier score) improves in all three
 * misconfiguration scenarios. A fresh fault still outlasts a 160-hour certificate's 53 hours
 * of slack with P 0.8, so failover for short-lived certificates is not delayed.
 */
static const struct fcl_persist fcl_models[SC_CLASS_COUNT] = {
	[SC_CLASS_OK] = {FCL_HEAL_NEVER, 0, 0.0, 0.0},
	[SC_CLASS_CONFIG] = {FCL_HEAL_LOMAX, 12 * FCL_DAY, 1.0, 10.0},
	[SC_CLASS_RATE_LIMIT] = {FCL_HEAL_WINDOW, 7 * FCL_DAY, 1.0, 0.0},
	[SC_CLASS_DNS] = {FCL_HEAL_LOMAX, 12 * FCL_HOUR, 0.9, 1.5},
	[SC_CLASS_CA_UNAVAILABLE] = {FCL_HEAL_LOMAX, 4 * FCL_HOUR, 0.95, 1.5},
	[SC_CLASS_TRANSIENT] = {FCL_HEAL_EXP, 30 * 60, 0.5, 0.0},
	[SC_CLASS_UNKNOWN] = {FCL_HEAL_LOMAX, 24 * FCL_HOUR, 0.8, 1.5},
};

/* Case-insensitive substring search; pat is lower case. */
static const char *
fcl_find(const char *hay, const char *pat)
{
	size_t n = strlen(pat);
	if (hay == NULL || n == 0)
		return NULL;
	for (const char *h = hay; *h != '\0'; h++) {
		size_t i = 0;
		while (i < n && h[i] != '\0' && tolower((unsigned char)h[i]) == pat[i])
			i++;
		if (i == n)
			return h;
	}
	return NULL;
}

static int
fcl_is_ok_reason(const char *reason)
{
	if (reason == NULL)
		return 0;
	for (size_t i = 0; fcl_ok_reasons[i] != NULL; i++)
		if (strcmp(reason, fcl_ok_reasons[i]) == 0)
			return 1;
	return 0;
}

/* "secret ... not found" is configuration; other mentions of a secret say nothing. */
static int
fcl_secret_missing(const char *message)
{
	const char *s = fcl_find(message, "secret");
	return s != NULL && fcl_find(s, "not found") != NULL;
}

static int64_t
fcl_window_of(const char *message)
{
	for (size_t i = 0; i < sizeof(fcl_windows) / sizeof(fcl_windows[0]); i++)
		if (fcl_find(message, fcl_windows[i].w_pat) != NULL)
			return fcl_windows[i].w_window;
	return 0;
}

/* Reads exactly n digits at *p into *out; advances *p. Returns 0 or -1. */
static int
fcl_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int64_t
fcl_retry_after(const char *message)
{
	const char *p = fcl_find(message, "retry after ");
	int y, mo, d, h, mi, s;
	if (p == NULL)
		return 0;
	p += strlen("retry after ");
	if (fcl_digits(&p, 4, &y) || *p++ != '-' || fcl_digits(&p, 2, &mo) || *p++ != '-' ||
	    fcl_digits(&p, 2, &d))
		return 0;
	if (*p != ' ' && *p != 'T')
		return 0;
	p++;
	if (fcl_digits(&p, 2, &h) || *p++ != ':' || fcl_digits(&p, 2, &mi) || *p++ != ':' ||
	    fcl_digits(&p, 2, &s))
		return 0;
	/*
	 * Callers read 0 and below as "no time given", so a date before 1970 is refused rather
	 * than turned into a negative time, and a day the month does not have (Feb 30) is
	 * refused rather than rolled into the next month.
	 */
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    s > 60)
		return 0;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 0;
	/* Let's Encrypt writes UTC either as "Z" or " UTC"; anything else is not trusted */
	if (*p == '.')
		while (*p == '.' || (*p >= '0' && *p <= '9'))
			p++;
	if (*p != 'Z' && strncmp(p, " UTC", 4) != 0)
		return 0;
	return cron_timegm(y, mo, d, h, mi, s);
}

void
fcl_classify(const char *reason, const char *message, struct fcl_result *out)
{
	const struct fcl_rule *hit = NULL;
	/*
	 * The message lowercased once, so that each of the rules is a plain strstr (the patterns
	 * are lowercase) instead of a case-folding scan per rule: the controller's learning sweep
	 * classifies every failed request of an issuer's history for every outcome it learns.
	 * A message too long for the buffer is searched in place, with the same result.
	 */
	char low[FCL_LOWER_MAX];
	const char *lmsg = NULL;
	if (message != NULL) {
		size_t len = strlen(message);
		if (len < sizeof low) {
			for (size_t i = 0; i < len; i++)
				low[i] = (char)tolower((unsigned char)message[i]);
			low[len] = '\0';
			lmsg = low;
		}
	}
	out->cl_class = SC_CLASS_UNKNOWN;
	out->cl_confidence = 0.3;
	out->cl_window = 0;
	out->cl_retry_after = 0;
	out->cl_rule = "";
	for (size_t i = 0; i < sizeof(fcl_rules) / sizeof(fcl_rules[0]) && hit == NULL; i++) {
		const struct fcl_rule *r = &fcl_rules[i];
		if (r->r_where == FCL_MSG) {
			if (message == NULL || (lmsg != NULL ? strstr(lmsg, r->r_pat) == NULL
							     : fcl_find(message, r->r_pat) == NULL))
				continue;
			if (strcmp(r->r_name, "cfg-secret-not-found") == 0) {
				if (!fcl_secret_missing(message))
					continue;
				out->cl_class = SC_CLASS_CONFIG;
				out->cl_confidence = 0.9;
				out->cl_rule = r->r_name;
				return;
			}
			hit = r;
		} else if (reason != NULL && strcmp(reason, r->r_pat) == 0) {
			hit = r;
		}
	}
	if (hit == NULL) {
		if (fcl_is_ok_reason(reason)) {
			out->cl_class = SC_CLASS_OK;
			out->cl_confidence = 0.8;
			out->cl_rule = "reason-not-a-failure";
		}
		return;
	}
	out->cl_class = hit->r_class;
	out->cl_confidence = hit->r_conf;
	out->cl_rule = hit->r_name;
	if (hit->r_class == SC_CLASS_RATE_LIMIT) {
		out->cl_window = fcl_window_of(message);
		out->cl_retry_after = fcl_retry_after(message);
	}
}

void
fcl_persistence(enum sc_class c, struct fcl_persist *out)
{
	if ((int)c < 0 || c >= SC_CLASS_COUNT)
		c = SC_CLASS_UNKNOWN;
	*out = fcl_models[c];
}

double
fcl_survival_aged(enum sc_class c, int64_t window, int64_t retry_after, int64_t since,
		  int64_t seen, int64_t t)
{
	struct fcl_persist m;
	double dt = (double)(t - seen);
	if (c == SC_CLASS_OK)
		return t <= seen ? 1.0 : 0.0;
	if (t <= seen)
		return 1.0;
	fcl_persistence(c, &m);
	switch (m.fp_heal) {
	case FCL_HEAL_NEVER:
		return 1.0;
	case FCL_HEAL_EXP:
		return exp(-dt / (double)m.fp_mean);
	case FCL_HEAL_LOMAX: {
		/* Lomax(alpha, scale): P(T > a + dt | T > a) = ((scale + a) / (scale + a + dt))^alpha */
		double scale = (double)m.fp_mean * (m.fp_shape - 1.0);
		double age = since > 0 && since < seen ? (double)(seen - since) : 0.0;
		return pow((scale + age) / (scale + age + dt), m.fp_shape);
	}
	case FCL_HEAL_WINDOW:
	case FCL_HEAL_AT:
		if (retry_after > 0)
			return t < retry_after ? 1.0 : 0.0;
		if (window <= 0)
			window = m.fp_mean;
		/* the oldest counted issuance leaves the window at a uniformly unknown moment */
		return dt >= (double)window ? 0.0 : 1.0 - dt / (double)window;
	}
	return 1.0;
}

double
fcl_survival(enum sc_class c, int64_t window, int64_t retry_after, int64_t t0, int64_t t)
{
	return fcl_survival_aged(c, window, retry_after, t0, t0, t);
}
