/* authreview: bearer headers, TokenReview and SubjectAccessReview bodies and answers. */
#include "authreview.h"

#include "cc_err.h"
#include "log.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
arv_identity_free(struct arv_identity *id)
{
	if (id == NULL)
		return;
	cJSON_Delete(id->id_groups);
	cJSON_Delete(id->id_extra);
	memset(id, 0, sizeof *id);
}

void
arv_wipe(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
}

int
arv_parse_bearer(const char *hdr, char *token, size_t tokensz, char *err, size_t errsz)
{
	static const char scheme[] = "bearer";
	if (tokensz > 0)
		token[0] = '\0';
	if (hdr == NULL || hdr[0] == '\0')
		return cc_fail(err, errsz, CC_ERR_INVAL, "no Authorization header");
	while (*hdr == ' ' || *hdr == '\t')
		hdr++;
	size_t sl = sizeof scheme - 1;
	if (strncasecmp(hdr, scheme, sl) != 0 || (hdr[sl] != ' ' && hdr[sl] != '\t' &&
						      hdr[sl] != '\0'))
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "the Authorization header is not of the Bearer scheme");
	const char *t = hdr + sl;
	while (*t == ' ' || *t == '\t')
		t++;
	size_t n = strlen(t);
	while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	if (n == 0)
		return cc_fail(err, errsz, CC_ERR_INVAL, "the Bearer token is empty");
	if (n > ARV_TOKEN_MAX || n >= tokensz)
		return cc_fail(err, errsz, CC_ERR_INVAL, "the Bearer token is longer than %d bytes",
		    ARV_TOKEN_MAX);
	/* RFC 6750's b64token: a token with a space or a control byte in it is not one token */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "the Bearer token holds a space or a byte outside printable ASCII");
	memcpy(token, t, n);
	token[n] = '\0';
	return CC_OK;
}

char *
arv_token_review_body(const char *token)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "authentication.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "TokenReview");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "token", token);
	char *s = cJSON_PrintUnformatted(o);
	if (s == NULL)
		fatalx("cJSON: out of memory printing a TokenReview");
	/* the tree holds a copy of the token too */
	cJSON *t = cJSON_GetObjectItemCaseSensitive(spec, "token");
	arv_wipe(t->valuestring);
	cJSON_Delete(o);
	return s;
}

/* Whether a is an array of strings only. */
static int
arv_string_list(const cJSON *a)
{
	const cJSON *e;
	if (!cJSON_IsArray(a))
		return 0;
	cJSON_ArrayForEach(e, a)
		if (!cJSON_IsString(e))
			return 0;
	return 1;
}

/* Copy the optional string member name of o into out; 0 when it has another type. */
static int
arv_opt_string(const cJSON *o, const char *name, char *out, size_t outsz)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	out[0] = '\0';
	if (v == NULL || cJSON_IsNull(v))
		return 1;
	if (!cJSON_IsString(v))
		return 0;
	snprintf(out, outsz, "%s", v->valuestring);
	return 1;
}

/* The status object of a review answer, or NULL with err filled. */
static const cJSON *
arv_status(const cJSON *root, const char *kind, char *err, size_t errsz)
{
	if (!cJSON_IsObject(root)) {
		cc_fail(err, errsz, CC_ERR_PARSE, "the %s answer is not a JSON object", kind);
		return NULL;
	}
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
	if (!cJSON_IsObject(st)) {
		cc_fail(err, errsz, CC_ERR_PARSE, "the %s answer has no status object", kind);
		return NULL;
	}
	return st;
}

int
arv_parse_token_review(const char *body, size_t len, int *authenticated,
    struct arv_identity *id, char *err, size_t errsz)
{
	int rc = CC_ERR_PARSE;
	memset(id, 0, sizeof *id);
	*authenticated = 0;
	cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
	if (root == NULL) {
		cc_fail(err, errsz, rc, "the TokenReview answer is not JSON");
		goto out;
	}
	const cJSON *st = arv_status(root, "TokenReview", err, errsz);
	if (st == NULL)
		goto out;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(st, "authenticated");
	if (a != NULL && !cJSON_IsBool(a)) {
		cc_fail(err, errsz, rc, "TokenReview status.authenticated is not a boolean");
		goto out;
	}
	/* the API server leaves "authenticated" out (omitempty) when it is false */
	if (a == NULL || cJSON_IsFalse(a)) {
		rc = CC_OK;
		goto out;
	}
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(st, "user");
	if (!cJSON_IsObject(u)) {
		cc_fail(err, errsz, rc, "TokenReview status.user is missing or not an object");
		goto out;
	}
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(u, "username");
	if (!cJSON_IsString(name) || name->valuestring[0] == '\0') {
		cc_fail(err, errsz, rc,
		    "TokenReview status.user.username is missing or not a string");
		goto out;
	}
	if (strlen(name->valuestring) >= sizeof id->id_user) {
		cc_fail(err, errsz, rc, "TokenReview status.user.username is over %d bytes",
		    ARV_USER_MAX - 1);
		goto out;
	}
	snprintf(id->id_user, sizeof id->id_user, "%s", name->valuestring);
	if (!arv_opt_string(u, "uid", id->id_uid, sizeof id->id_uid)) {
		cc_fail(err, errsz, rc, "TokenReview status.user.uid is not a string");
		goto out;
	}
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(u, "groups");
	if (g != NULL && !cJSON_IsNull(g)) {
		if (!arv_string_list(g)) {
			cc_fail(err, errsz, rc,
			    "TokenReview status.user.groups is not a list of strings");
			goto out;
		}
		id->id_groups = cJSON_Duplicate(g, 1);
	}
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(u, "extra"), *e;
	if (x != NULL && !cJSON_IsNull(x)) {
		if (!cJSON_IsObject(x)) {
			cc_fail(err, errsz, rc, "TokenReview status.user.extra is not an object");
			goto out;
		}
		cJSON_ArrayForEach(e, x) {
			if (!arv_string_list(e)) {
				cc_fail(err, errsz, rc,
				    "TokenReview status.user.extra[%.64s] is not a list of strings",
				    e->string ? e->string : "?");
				goto out;
			}
		}
		id->id_extra = cJSON_Duplicate(x, 1);
	}
	*authenticated = 1;
	rc = CC_OK;
out:
	if (rc != CC_OK || !*authenticated)
		arv_identity_free(id);
	cJSON_Delete(root);
	return rc;
}

char *
arv_sar_body(const struct arv_identity *id, const char *path)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "authorization.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "SubjectAccessReview");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "user", id->id_user);
	if (id->id_uid[0])
		cJSON_AddStringToObject(spec, "uid", id->id_uid);
	if (id->id_groups)
		cJSON_AddItemToObject(spec, "groups", cJSON_Duplicate(id->id_groups, 1));
	if (id->id_extra)
		cJSON_AddItemToObject(spec, "extra", cJSON_Duplicate(id->id_extra, 1));
	cJSON *nr = cJSON_AddObjectToObject(spec, "nonResourceAttributes");
	cJSON_AddStringToObject(nr, "path", path);
	cJSON_AddStringToObject(nr, "verb", "get");
	char *s = cJSON_PrintUnformatted(o);
	if (s == NULL)
		fatalx("cJSON: out of memory printing a SubjectAccessReview");
	cJSON_Delete(o);
	return s;
}

int
arv_parse_sar(const char *body, size_t len, int *allowed, char *reason, size_t reasonsz,
    char *err, size_t errsz)
{
	int rc = CC_ERR_PARSE;
	char why[512];
	*allowed = 0;
	if (reason && reasonsz)
		reason[0] = '\0';
	cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
	if (root == NULL) {
		cc_fail(err, errsz, rc, "the SubjectAccessReview answer is not JSON");
		goto out;
	}
	const cJSON *st = arv_status(root, "SubjectAccessReview", err, errsz);
	if (st == NULL)
		goto out;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(st, "allowed");
	if (!cJSON_IsBool(a)) {
		cc_fail(err, errsz, rc,
		    "SubjectAccessReview status.allowed is missing or not a boolean");
		goto out;
	}
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(st, "denied");
	if (d != NULL && !cJSON_IsBool(d)) {
		cc_fail(err, errsz, rc, "SubjectAccessReview status.denied is not a boolean");
		goto out;
	}
	if (!arv_opt_string(st, "reason", why, sizeof why)) {
		cc_fail(err, errsz, rc, "SubjectAccessReview status.reason is not a string");
		goto out;
	}
	if (reason && reasonsz)
		snprintf(reason, reasonsz, "%s", why);
	/* denied=true wins over allowed=true, as the API server's own authorizer chain reads it */
	*allowed = cJSON_IsTrue(a) && !cJSON_IsTrue(d);
	rc = CC_OK;
out:
	cJSON_Delete(root);
	return rc;
}
