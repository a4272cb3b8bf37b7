/*
 * ari: the wire side of ACME Renewal Information (RFC 9773), with no I/O: the directory's
 * "renewalInfo" URL, the renewalInfo answer parsed strictly, Retry-After turned into the time
 * to ask again, and the wait after a failed call. The poller (aripoll.h) does the fetching.
 *
 * Errors are CC_OK or a negative enum cc_err (cc_err.h); the text in err names the field.
 */
#ifndef ARI_H
#define ARI_H

#include <stddef.h>
#include <stdint.h>

#define ARI_URL_MAX 1024              /* longest explanationURL or renewalInfo URL kept */
#define ARI_BODY_MAX (64u << 10)      /* a renewalInfo answer or directory is a few hundred bytes */

/*
 * RFC 9773 section 4.3 suggests a client ask again after Retry-After, about every 6 hours
 * when the server says nothing, and never more often than the server allows. The bounds keep
 * a server's typo (Retry-After: 1, or a year) from turning certcast into a busy loop or
 * leaving a revocation unseen for weeks.
 */
#define ARI_RETRY_MIN 3600
#define ARI_RETRY_MAX 86400
#define ARI_RETRY_DEFAULT 21600
#define ARI_ERROR_FIRST 300           /* first wait after a failed call; doubles each time */
#define ARI_ERROR_MAX ARI_RETRY_DEFAULT

struct ari_window {
	int64_t aw_start;                /* suggestedWindow.start, Unix seconds */
	int64_t aw_end;                  /* suggestedWindow.end, > aw_start */
	char aw_url[ARI_URL_MAX];        /* explanationURL, or "" */
};

/*
 * Parse a renewalInfo answer body[0..len) (not necessarily NUL-terminated): a JSON object with
 * "suggestedWindow": {"start": RFC 3339, "end": RFC 3339} and start < end, and optionally
 * "explanationURL": an http(s) URL shorter than ARI_URL_MAX without spaces or control
 * characters. Other members are ignored (the RFC lets servers add them). CC_OK, or
 * CC_ERR_PARSE with err such as "suggestedWindow.end: not an RFC 3339 time"; out is then
 * zeroed.
 */
int ari_parse(const char *body, size_t len, struct ari_window *out, char *err, size_t errlen);

/*
 * The "renewalInfo" URL of an ACME directory body[0..len) into url (urllen bytes). It must be
 * an https URL shorter than ARI_URL_MAX. CC_OK; CC_ERR_NOTFOUND when the directory has no
 * renewalInfo (the CA does not offer ARI); CC_ERR_PARSE for a body that is not a JSON object
 * or a renewalInfo that is not such a URL, with err saying which.
 */
int ari_directory_parse(const char *body, size_t len, char *url, size_t urllen, char *err,
    size_t errlen);

/*
 * Seconds to wait before asking again, from a Retry-After header value (RFC 9110 section
 * 10.2.3: delay-seconds, or an IMF-fixdate such as "Sun, 06 Nov 1994 08:49:37 GMT" read
 * against now), clamped to [ARI_RETRY_MIN, ARI_RETRY_MAX]. NULL, empty or unreadable values
 * give ARI_RETRY_DEFAULT.
 */
int64_t ari_retry_after(const char *value, int64_t now);

/* Seconds to wait after the failures-th failed call in a row (>= 1): 5 min doubling to 6 h. */
int64_t ari_error_delay(unsigned failures);

#endif
