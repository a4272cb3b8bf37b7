/*
 * authreview: the pure half of delegated HTTP authentication, as controller-runtime's metrics
 * filter and kube-rbac-proxy do it: read a bearer token from an Authorization header, build
 * the TokenReview and SubjectAccessReview requests, and read the API server's answers.
 *
 * No I/O and no clock: httpauth.c sends the requests and caches the decisions. The token only
 * ever appears in the TokenReview body this module builds; no message it writes quotes a token
 * or a header value.
 */
#ifndef AUTHREVIEW_H
#define AUTHREVIEW_H

#include <stddef.h>

struct cJSON;

/* A bearer token longer than this is refused (service-account JWTs are about 1 KiB). */
#define ARV_TOKEN_MAX 8192
/* Longest user name and uid kept from a TokenReview. */
#define ARV_USER_MAX 256
#define ARV_UID_MAX 128

/* Who a TokenReview says the token belongs to. Free with arv_identity_free. */
struct arv_identity {
	char id_user[ARV_USER_MAX];  /* status.user.username, never "" once parsed */
	char id_uid[ARV_UID_MAX];    /* status.user.uid, "" when absent */
	struct cJSON *id_groups;     /* owned array of strings, NULL when absent */
	struct cJSON *id_extra;      /* owned object of string arrays, NULL when absent */
};

/* Free what id owns and clear it. Accepts NULL and an identity that owns nothing. */
void arv_identity_free(struct arv_identity *id);

/*
 * Read the token of an Authorization header value ("Bearer TOKEN"): the scheme is matched
 * without regard to case (RFC 9110), one or more spaces may follow it, and spaces after the
 * token are dropped. token gets the token (size tokensz, at most ARV_TOKEN_MAX + 1 used).
 * Returns CC_OK, or CC_ERR_INVAL with a reason in err that never quotes the header (no token,
 * another scheme, a space inside the token, too long).
 */
int arv_parse_bearer(const char *hdr, char *token, size_t tokensz, char *err, size_t errsz);

/*
 * The body of a TokenReview for token, malloc'ed (the caller frees it, after wiping it with
 * arv_wipe: it holds the token).
 */
char *arv_token_review_body(const char *token);

/* Overwrite s (NUL-terminated, may be NULL) with zeros before it is freed. */
void arv_wipe(char *s);

/*
 * Read a TokenReview answer. Returns CC_OK with *authenticated set: 1 with *id filled (the
 * caller frees it), 0 when the token is not valid (id is then empty). CC_ERR_PARSE with the
 * reason in err for anything else: not JSON, no status, fields of the wrong type, an
 * authenticated answer without a user name, groups or extra that are not lists of strings.
 */
int arv_parse_token_review(const char *body, size_t len, int *authenticated,
    struct arv_identity *id, char *err, size_t errsz);

/*
 * The body of a SubjectAccessReview asking whether id may "get" the non-resource URL path
 * (the request path, as RBAC's nonResourceURLs match it), malloc'ed; the caller frees it.
 */
char *arv_sar_body(const struct arv_identity *id, const char *path);

/*
 * Read a SubjectAccessReview answer into *allowed (1 allowed, 0 not). reason (may be NULL)
 * gets status.reason, cut to reasonsz. Returns CC_OK, or CC_ERR_PARSE with the reason in err:
 * not JSON, no status, status.allowed missing or not a boolean, status.denied not a boolean.
 */
int arv_parse_sar(const char *body, size_t len, int *allowed, char *reason, size_t reasonsz,
    char *err, size_t errsz);

#endif
