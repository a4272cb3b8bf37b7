/*
 * Tests for delegated HTTP authentication: authreview (bearer headers, TokenReview and
 * SubjectAccessReview bodies and answers), authcache (TTLs, eviction, keys) with an injected
 * clock, httpauth's workers against an injected API, and the HTTP server's gate over loopback.
 */
#include "authcache.h"
#include "authreview.h"
#include "buf.h"
#include "cc_err.h"
#include "http_server.h"
#include "httpauth.h"
#include "log.h"
#include "metrics.h"

#include <cJSON.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
setup(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
}

TestSuite(authreview, .init = setup);
TestSuite(authcache, .init = setup);
TestSuite(httpauth, .init = setup);

/* --- bearer headers ------------------------------------------------------------------------ */

struct bearer_case {
	const char *bc_name;
	const char *bc_hdr;    /* NULL: no header */
	int bc_rc;
	const char *bc_want;   /* the token, or a part of the reason */
};

Test(authreview, bearer_table)
{
	static char longtok[ARV_TOKEN_MAX + 16];
	memset(longtok, 0, sizeof longtok);
	memcpy(longtok, "Bearer ", 7);
	memset(longtok + 7, 'a', ARV_TOKEN_MAX + 1);
	static char maxtok[ARV_TOKEN_MAX + 16];
	memset(maxtok, 0, sizeof maxtok);
	memcpy(maxtok, "Bearer ", 7);
	memset(maxtok + 7, 'b', ARV_TOKEN_MAX);
	const struct bearer_case cases[] = {
	    {"plain", "Bearer abc.def-ghi_", CC_OK, "abc.def-ghi_"},
	    {"scheme in lower case", "bearer tok", CC_OK, "tok"},
	    {"scheme in upper case", "BEARER tok", CC_OK, "tok"},
	    {"several spaces after the scheme", "Bearer    tok", CC_OK, "tok"},
	    {"a tab after the scheme", "Bearer\ttok", CC_OK, "tok"},
	    {"spaces around", "  Bearer tok   ", CC_OK, "tok"},
	    {"base64 padding", "Bearer dG9r==", CC_OK, "dG9r=="},
	    {"token of the largest size", maxtok, CC_OK, maxtok + 7},
	    {"missing", NULL, CC_ERR_INVAL, "no Authorization header"},
	    {"empty header", "", CC_ERR_INVAL, "no Authorization header"},
	    {"Basic", "Basic dXNlcjpwYXNz", CC_ERR_INVAL, "not of the Bearer scheme"},
	    {"scheme glued to the token", "Bearers3cr", CC_ERR_INVAL, "not of the Bearer scheme"},
	    {"scheme only", "Bearer", CC_ERR_INVAL, "empty"},
	    {"scheme and spaces only", "Bearer    ", CC_ERR_INVAL, "empty"},
	    {"two words", "Bearer s3cr other", CC_ERR_INVAL, "space"},
	    {"a control byte", "Bearer s3\x01" "cr", CC_ERR_INVAL, "printable"},
	    {"a byte over 0x7e", "Bearer s3\xc3\xa9" "cr", CC_ERR_INVAL, "printable"},
	    {"too long", longtok, CC_ERR_INVAL, "longer than"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct bearer_case *c = &cases[i];
		char tok[ARV_TOKEN_MAX + 1], err[200] = "";
		int rc = arv_parse_bearer(c->bc_hdr, tok, sizeof tok, err, sizeof err);
		cr_expect_eq(rc, c->bc_rc, "%s: rc %d", c->bc_name, rc);
		if (c->bc_rc == CC_OK) {
			cr_expect_str_eq(tok, c->bc_want, "%s", c->bc_name);
		} else {
			cr_expect_str_eq(tok, "", "%s: no token on error", c->bc_name);
			cr_expect(strstr(err, c->bc_want) != NULL, "%s: reason \"%s\"", c->bc_name,
			    err);
			/* a refusal never quotes what was sent */
			cr_expect(strstr(err, "dXNlcjpwYXNz") == NULL &&
				strstr(err, "s3") == NULL && strstr(err, "aaaa") == NULL,
			    "%s: the reason quotes the header: %s", c->bc_name, err);
		}
	}
}

Test(authreview, bearer_small_buffer)
{
	char tok[4], err[100];
	cr_expect_eq(arv_parse_bearer("Bearer abcd", tok, sizeof tok, err, sizeof err),
	    CC_ERR_INVAL);
	cr_expect_str_eq(tok, "");
	cr_expect_eq(arv_parse_bearer("Bearer abc", tok, sizeof tok, err, sizeof err), CC_OK);
	cr_expect_str_eq(tok, "abc");
}

/* --- TokenReview answers ------------------------------------------------------------------- */

struct tr_case {
	const char *tc_name;
	const char *tc_body;   /* NULL: no body */
	int tc_rc;
	int tc_auth;           /* expected *authenticated on CC_OK */
	const char *tc_want;   /* user on success; a part of the reason on error */
};

Test(authreview, token_review_table)
{
	static const struct tr_case cases[] = {
	    {"authenticated",
		"{\"kind\":\"TokenReview\",\"status\":{\"authenticated\":true,"
		"\"user\":{\"username\":\"system:serviceaccount:ns:sa\",\"uid\":\"u-1\","
		"\"groups\":[\"system:serviceaccounts\"],\"extra\":{\"k\":[\"v\"]}}}}",
		CC_OK, 1, "system:serviceaccount:ns:sa"},
	    {"authenticated, only a user name", "{\"status\":{\"authenticated\":true,"
						"\"user\":{\"username\":\"alice\"}}}",
		CC_OK, 1, "alice"},
	    {"null groups and extra", "{\"status\":{\"authenticated\":true,\"user\":"
				      "{\"username\":\"a\",\"groups\":null,\"extra\":null}}}",
		CC_OK, 1, "a"},
	    {"not authenticated", "{\"status\":{\"authenticated\":false,\"error\":\"invalid\"}}",
		CC_OK, 0, ""},
	    {"authenticated left out", "{\"status\":{\"user\":{}}}", CC_OK, 0, ""},
	    {"empty status", "{\"status\":{}}", CC_OK, 0, ""},
	    {"not JSON", "<html>", CC_ERR_PARSE, 0, "not JSON"},
	    {"truncated", "{\"status\":{\"authenticated\":true,\"user\":{\"usern", CC_ERR_PARSE, 0,
		"not JSON"},
	    {"empty body", "", CC_ERR_PARSE, 0, "not JSON"},
	    {"no body", NULL, CC_ERR_PARSE, 0, "not JSON"},
	    {"an array", "[1,2]", CC_ERR_PARSE, 0, "not a JSON object"},
	    {"no status", "{\"kind\":\"TokenReview\"}", CC_ERR_PARSE, 0, "no status"},
	    {"status a string", "{\"status\":\"ok\"}", CC_ERR_PARSE, 0, "no status"},
	    {"authenticated a string", "{\"status\":{\"authenticated\":\"true\"}}", CC_ERR_PARSE, 0,
		"not a boolean"},
	    {"authenticated a number", "{\"status\":{\"authenticated\":1}}", CC_ERR_PARSE, 0,
		"not a boolean"},
	    {"no user", "{\"status\":{\"authenticated\":true}}", CC_ERR_PARSE, 0, "status.user"},
	    {"user a string", "{\"status\":{\"authenticated\":true,\"user\":\"alice\"}}",
		CC_ERR_PARSE, 0, "status.user"},
	    {"no user name", "{\"status\":{\"authenticated\":true,\"user\":{\"uid\":\"1\"}}}",
		CC_ERR_PARSE, 0, "username"},
	    {"empty user name",
		"{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"\"}}}",
		CC_ERR_PARSE, 0, "username"},
	    {"user name a number",
		"{\"status\":{\"authenticated\":true,\"user\":{\"username\":7}}}",
		CC_ERR_PARSE, 0, "username"},
	    {"uid a number", "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"a\","
			     "\"uid\":5}}}",
		CC_ERR_PARSE, 0, "uid"},
	    {"groups a string", "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"a\","
				"\"groups\":\"g\"}}}",
		CC_ERR_PARSE, 0, "groups"},
	    {"a group a number", "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"a\","
				 "\"groups\":[\"g\",3]}}}",
		CC_ERR_PARSE, 0, "groups"},
	    {"extra a list", "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"a\","
			     "\"extra\":[]}}}",
		CC_ERR_PARSE, 0, "extra"},
	    {"an extra value a string",
		"{\"status\":{\"authenticated\":true,\"user\":{\"username\":"
		"\"a\",\"extra\":{\"k\":\"v\"}}}}",
		CC_ERR_PARSE, 0, "extra[k]"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct tr_case *c = &cases[i];
		struct arv_identity id;
		int auth = -1;
		char err[256] = "";
		size_t len = c->tc_body ? strlen(c->tc_body) : 0;
		int rc = arv_parse_token_review(c->tc_body, len, &auth, &id, err, sizeof err);
		cr_expect_eq(rc, c->tc_rc, "%s: rc %d (%s)", c->tc_name, rc, err);
		if (rc == CC_OK) {
			cr_expect_eq(auth, c->tc_auth, "%s: authenticated", c->tc_name);
			cr_expect_str_eq(id.id_user, c->tc_want, "%s: user", c->tc_name);
		} else {
			cr_expect_eq(auth, 0, "%s: authenticated on error", c->tc_name);
			cr_expect(strstr(err, c->tc_want) != NULL, "%s: reason \"%s\"", c->tc_name,
			    err);
		}
		if (rc != CC_OK || !auth)
			cr_expect(id.id_groups == NULL && id.id_extra == NULL &&
				id.id_user[0] == '\0',
			    "%s: nothing kept", c->tc_name);
		arv_identity_free(&id);
	}
}

Test(authreview, token_review_user_name_too_long)
{
	char body[1024], name[400];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	snprintf(body, sizeof body,
	    "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"%s\"}}}", name);
	struct arv_identity id;
	int auth;
	char err[200];
	cr_expect_eq(arv_parse_token_review(body, strlen(body), &auth, &id, err, sizeof err),
	    CC_ERR_PARSE);
	cr_expect(strstr(err, "over") != NULL, "%s", err);
	arv_identity_free(&id);
}

/* --- request bodies ------------------------------------------------------------------------ */

Test(authreview, token_review_body)
{
	char *b = arv_token_review_body("tok\"en");
	cJSON *o = cJSON_Parse(b);
	cr_assert_not_null(o, "not JSON: %s", b);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "kind")->valuestring, "TokenReview");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "apiVersion")->valuestring,
	    "authentication.k8s.io/v1");
	cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "token")->valuestring,
	    "tok\"en", "the token, escaped for JSON");
	cJSON_Delete(o);
	arv_wipe(b);
	cr_expect_eq(strlen(b), 0u, "wiped");
	free(b);
	arv_wipe(NULL);
}

Test(authreview, sar_body)
{
	const char *tr = "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"bob\","
			 "\"uid\":\"u-9\",\"groups\":[\"g1\",\"g2\"],"
			 "\"extra\":{\"scopes\":[\"a\"]}}}}";
	struct arv_identity id;
	int auth;
	char err[200];
	cr_assert_eq(arv_parse_token_review(tr, strlen(tr), &auth, &id, err, sizeof err), CC_OK);
	char *b = arv_sar_body(&id, "/explain/ns/web");
	cJSON *o = cJSON_Parse(b);
	cr_assert_not_null(o, "not JSON: %s", b);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "kind")->valuestring, "SubjectAccessReview");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "apiVersion")->valuestring,
	    "authorization.k8s.io/v1");
	cJSON *spec = cJSON_GetObjectItem(o, "spec");
	cr_expect_str_eq(cJSON_GetObjectItem(spec, "user")->valuestring, "bob");
	cr_expect_str_eq(cJSON_GetObjectItem(spec, "uid")->valuestring, "u-9");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(spec, "groups")), 2);
	cr_expect_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "extra"),
			     "scopes"), 0)->valuestring, "a");
	cJSON *nr = cJSON_GetObjectItem(spec, "nonResourceAttributes");
	cr_expect_str_eq(cJSON_GetObjectItem(nr, "path")->valuestring, "/explain/ns/web");
	cr_expect_str_eq(cJSON_GetObjectItem(nr, "verb")->valuestring, "get");
	cr_expect_null(cJSON_GetObjectItem(spec, "resourceAttributes"));
	cJSON_Delete(o);
	free(b);
	arv_identity_free(&id);
	arv_identity_free(&id); /* twice is harmless */
	arv_identity_free(NULL);
}

/* --- SubjectAccessReview answers ----------------------------------------------------------- */

struct sar_case {
	const char *sc_name;
	const char *sc_body;
	int sc_rc;
	int sc_allowed;
	const char *sc_want;   /* the reason on success; a part of the error otherwise */
};

Test(authreview, sar_table)
{
	static const struct sar_case cases[] = {
	    {"allowed", "{\"status\":{\"allowed\":true,\"reason\":\"RBAC: allowed by "
			"ClusterRoleBinding\"}}",
		CC_OK, 1, "RBAC: allowed by ClusterRoleBinding"},
	    {"not allowed", "{\"status\":{\"allowed\":false}}", CC_OK, 0, ""},
	    {"denied", "{\"status\":{\"allowed\":false,\"denied\":true,\"reason\":\"no\"}}",
		CC_OK, 0, "no"},
	    {"denied wins over allowed", "{\"status\":{\"allowed\":true,\"denied\":true}}",
		CC_OK, 0, ""},
	    {"null reason", "{\"status\":{\"allowed\":true,\"reason\":null}}", CC_OK, 1, ""},
	    {"not JSON", "Forbidden", CC_ERR_PARSE, 0, "not JSON"},
	    {"truncated", "{\"status\":{\"allowed\":tr", CC_ERR_PARSE, 0, "not JSON"},
	    {"empty", "", CC_ERR_PARSE, 0, "not JSON"},
	    {"a number", "42", CC_ERR_PARSE, 0, "not a JSON object"},
	    {"no status", "{\"spec\":{}}", CC_ERR_PARSE, 0, "no status"},
	    {"status a list", "{\"status\":[]}", CC_ERR_PARSE, 0, "no status"},
	    {"allowed missing", "{\"status\":{\"denied\":false}}", CC_ERR_PARSE, 0, "allowed"},
	    {"allowed a string", "{\"status\":{\"allowed\":\"true\"}}", CC_ERR_PARSE, 0, "allowed"},
	    {"allowed null", "{\"status\":{\"allowed\":null}}", CC_ERR_PARSE, 0, "allowed"},
	    {"denied a number", "{\"status\":{\"allowed\":true,\"denied\":0}}", CC_ERR_PARSE, 0,
		"denied"},
	    {"reason a number", "{\"status\":{\"allowed\":true,\"reason\":1}}", CC_ERR_PARSE, 0,
		"reason"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct sar_case *c = &cases[i];
		int allowed = -1;
		char reason[128] = "x", err[256] = "";
		int rc = arv_parse_sar(c->sc_body, strlen(c->sc_body), &allowed, reason,
		    sizeof reason, err, sizeof err);
		cr_expect_eq(rc, c->sc_rc, "%s: rc %d (%s)", c->sc_name, rc, err);
		if (rc == CC_OK) {
			cr_expect_eq(allowed, c->sc_allowed, "%s: allowed", c->sc_name);
			cr_expect_str_eq(reason, c->sc_want, "%s: reason", c->sc_name);
		} else {
			cr_expect_eq(allowed, 0, "%s: allowed on error", c->sc_name);
			cr_expect(strstr(err, c->sc_want) != NULL, "%s: error \"%s\"", c->sc_name,
			    err);
		}
	}
}

/* --- the cache, on a clock the test moves -------------------------------------------------- */

static int64_t fake_now;

static int64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static struct authc *
cache_new(size_t max)
{
	struct authc_opts o = {max, 0, 0, fake_clock, NULL};
	fake_now = 1000000;
	return authc_new(&o);
}

Test(authcache, sha256_key)
{
	unsigned char h[AUTHC_HASH_LEN];
	char key[AUTHC_KEY_MAX];
	authc_hash("abc", h);
	authc_key(h, "/metrics", key);
	cr_expect_str_eq(key,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad /metrics",
	    "SHA-256(\"abc\") (FIPS 180-2's example), then the path");
}

Test(authcache, key_holds_no_token)
{
	const char *tok = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl";
	unsigned char h[AUTHC_HASH_LEN];
	char key[AUTHC_KEY_MAX];
	authc_hash(tok, h);
	authc_key(h, "/status", key);
	cr_expect_null(strstr(key, tok), "the key holds the token: %s", key);
	/* nor any 8-byte piece of it */
	for (size_t i = 0; i + 8 <= strlen(tok); i++) {
		char piece[9];
		memcpy(piece, tok + i, 8);
		piece[8] = '\0';
		cr_expect_null(strstr(key, piece), "the key holds \"%s\" of the token", piece);
	}
	cr_expect_eq(strlen(key), 2 * AUTHC_HASH_LEN + 1 + strlen("/status"));
}

Test(authcache, ttls)
{
	struct authc *c = cache_new(16);
	unsigned char ha[AUTHC_HASH_LEN], hd[AUTHC_HASH_LEN], hu[AUTHC_HASH_LEN];
	authc_hash("allowed-token", ha);
	authc_hash("denied-token", hd);
	authc_hash("unknown-token", hu);
	authc_put(c, ha, "/metrics", AUTHC_ALLOWED, "alice");
	authc_put(c, hd, "/metrics", AUTHC_DENIED, "bob");
	authc_put(c, hu, "/metrics", AUTHC_UNAUTHENTICATED, "");
	enum authc_result r;
	char user[64];
	cr_expect_eq(authc_get(c, ha, "/metrics", &r, user, sizeof user), 1);
	cr_expect_eq(r, AUTHC_ALLOWED);
	cr_expect_str_eq(user, "alice");
	cr_expect_eq(authc_get(c, ha, "/status", &r, NULL, 0), 0, "another path is another key");
	fake_now += 30 * 1000 - 1;
	cr_expect_eq(authc_get(c, hd, "/metrics", &r, user, sizeof user), 1, "denied at 29.999 s");
	cr_expect_eq(r, AUTHC_DENIED);
	cr_expect_str_eq(user, "bob");
	cr_expect_eq(authc_get(c, hu, "/metrics", &r, NULL, 0), 1, "unauthenticated at 29.999 s");
	cr_expect_eq(r, AUTHC_UNAUTHENTICATED);
	fake_now += 1;
	cr_expect_eq(authc_get(c, hd, "/metrics", &r, NULL, 0), 0, "denied gone at 30 s");
	cr_expect_eq(authc_get(c, hu, "/metrics", &r, NULL, 0), 0, "unauthenticated gone at 30 s");
	cr_expect_eq(authc_get(c, ha, "/metrics", &r, NULL, 0), 1, "allowed still at 30 s");
	fake_now += 90 * 1000 - 1;
	cr_expect_eq(authc_get(c, ha, "/metrics", &r, NULL, 0), 1, "allowed at 119.999 s");
	fake_now += 1;
	cr_expect_eq(authc_get(c, ha, "/metrics", &r, NULL, 0), 0, "allowed gone at 120 s");
	/* a new decision replaces the old one and starts its own TTL */
	authc_put(c, ha, "/metrics", AUTHC_DENIED, "alice");
	cr_expect_eq(authc_get(c, ha, "/metrics", &r, NULL, 0), 1);
	cr_expect_eq(r, AUTHC_DENIED);
	cr_expect_eq(authc_len(c), 3u, "replaced in place, not added");
	authc_free(c);
	authc_free(NULL);
}

Test(authcache, eviction)
{
	struct authc *c = cache_new(3);
	unsigned char h[5][AUTHC_HASH_LEN];
	const char *toks[] = {"t0", "t1", "t2", "t3", "t4"};
	for (int i = 0; i < 5; i++)
		authc_hash(toks[i], h[i]);
	enum authc_result r;
	authc_put(c, h[0], "/", AUTHC_ALLOWED, "a");      /* expires at +120 s */
	fake_now += 1000;
	authc_put(c, h[1], "/", AUTHC_DENIED, "b");       /* +31 s */
	fake_now += 1000;
	authc_put(c, h[2], "/", AUTHC_ALLOWED, "c");      /* +122 s */
	cr_expect_eq(authc_len(c), 3u);
	/* full, nothing expired: the entry closest to its expiry (the refusal) goes */
	authc_put(c, h[3], "/", AUTHC_ALLOWED, "d");
	cr_expect_eq(authc_len(c), 3u, "bounded");
	cr_expect_eq(authc_get(c, h[1], "/", &r, NULL, 0), 0, "the refusal was evicted");
	cr_expect_eq(authc_get(c, h[0], "/", &r, NULL, 0), 1);
	cr_expect_eq(authc_get(c, h[2], "/", &r, NULL, 0), 1);
	cr_expect_eq(authc_get(c, h[3], "/", &r, NULL, 0), 1);
	/* full again: now the oldest allowed goes, as the one closest to its expiry */
	authc_put(c, h[4], "/", AUTHC_ALLOWED, "e");
	cr_expect_eq(authc_get(c, h[0], "/", &r, NULL, 0), 0, "the oldest was evicted");
	cr_expect_eq(authc_get(c, h[4], "/", &r, NULL, 0), 1);
	/* every entry expired: one put clears them all */
	fake_now += 200 * 1000;
	authc_put(c, h[1], "/", AUTHC_DENIED, "b");
	cr_expect_eq(authc_len(c), 1u, "expired entries dropped when room was needed");
	authc_free(c);
}

Test(authcache, defaults)
{
	struct authc *c = authc_new(NULL);
	unsigned char h[AUTHC_HASH_LEN];
	enum authc_result r;
	authc_hash("x", h);
	authc_put(c, h, "/metrics", AUTHC_ALLOWED, "u");
	cr_expect_eq(authc_get(c, h, "/metrics", &r, NULL, 0), 1, "on the monotonic clock");
	authc_free(c);
}

/* --- httpauth against an injected API ------------------------------------------------------ */

/*
 * The fake API server. Tokens: "alice" (may get /metrics, / and /live), "root" (anything),
 * "nobody" (unknown to the API server), "broken" (the API server fails), "garbled" (a
 * TokenReview answer that is not JSON). SubjectAccessReviews for "sar-fails" users fail.
 */
static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int fake_token_reviews, fake_sars;
static atomic_int fake_delay_ms;
static char fake_seen_bodies[16384]; /* every body posted, appended: checked for tokens */

static const char *
fake_user(const char *body)
{
	static const char *const users[] = {"alice", "root", "nobody", "broken", "garbled"};
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
		char t[64];
		snprintf(t, sizeof t, "\"token\":\"%s\"", users[i]);
		if (strstr(body, t))
			return users[i];
	}
	return "nobody";
}

static int
fake_post(void *arg, const char *path, const char *body, struct buf *resp, char *err,
    size_t errsz)
{
	(void)arg;
	int d = atomic_load(&fake_delay_ms);
	if (d > 0)
		usleep((useconds_t)d * 1000);
	int sar = strstr(path, "subjectaccessreviews") != NULL;
	if (sar) {
		atomic_fetch_add(&fake_sars, 1);
		pthread_mutex_lock(&fake_mu);
		size_t n = strlen(fake_seen_bodies);
		snprintf(fake_seen_bodies + n, sizeof fake_seen_bodies - n, "%s\n", body);
		pthread_mutex_unlock(&fake_mu);
		cJSON *o = cJSON_Parse(body);
		cJSON *spec = cJSON_GetObjectItem(o, "spec");
		const char *user = cJSON_GetObjectItem(spec, "user")->valuestring;
		cJSON *nr = cJSON_GetObjectItem(spec, "nonResourceAttributes");
		const char *p = cJSON_GetObjectItem(nr, "path")->valuestring;
		int allowed = strcmp(user, "root") == 0 ||
		    (strcmp(user, "alice") == 0 &&
			(!strcmp(p, "/metrics") || !strcmp(p, "/") || !strcmp(p, "/live")));
		buf_printf(resp, "{\"kind\":\"SubjectAccessReview\",\"status\":{\"allowed\":%s}}",
		    allowed ? "true" : "false");
		cJSON_Delete(o);
		return CC_OK;
	}
	atomic_fetch_add(&fake_token_reviews, 1);
	const char *u = fake_user(body);
	if (!strcmp(u, "broken")) {
		/* an API server that echoes the request must not get the token into a log line */
		snprintf(err, errsz, "service unavailable for %s", strstr(body, "broken"));
		return CC_ERR_UNAVAILABLE;
	}
	if (!strcmp(u, "garbled")) {
		buf_append_str(resp, "{\"status\":{\"authenticated\":tr");
		return CC_OK;
	}
	if (!strcmp(u, "nobody")) {
		buf_append_str(resp,
		    "{\"status\":{\"authenticated\":false,\"error\":\"bad token\"}}");
		return CC_OK;
	}
	buf_printf(resp, "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"%s\","
			 "\"groups\":[\"system:authenticated\"]}}}",
	    u);
	return CC_OK;
}

static void
fake_reset(void)
{
	atomic_store(&fake_token_reviews, 0);
	atomic_store(&fake_sars, 0);
	atomic_store(&fake_delay_ms, 0);
	pthread_mutex_lock(&fake_mu);
	fake_seen_bodies[0] = '\0';
	pthread_mutex_unlock(&fake_mu);
}

/* Wakes: the test waits for them on a condition variable. */
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cv = PTHREAD_COND_INITIALIZER;
static int wakes;

static void
on_wake(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wake_mu);
	wakes++;
	pthread_cond_broadcast(&wake_cv);
	pthread_mutex_unlock(&wake_mu);
}

/* Wait until n wakes happened in all (10 s at most). */
static int
wait_wakes(int n)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	pthread_mutex_lock(&wake_mu);
	while (wakes < n && pthread_cond_timedwait(&wake_cv, &wake_mu, &dl) == 0)
		;
	int ok = wakes >= n;
	pthread_mutex_unlock(&wake_mu);
	return ok;
}

static struct hauth *
auth_new(struct met_family *counter, int workers, size_t queue_max)
{
	fake_reset();
	pthread_mutex_lock(&wake_mu);
	wakes = 0;
	pthread_mutex_unlock(&wake_mu);
	struct hauth_opts o;
	memset(&o, 0, sizeof o);
	o.hao_post = fake_post;
	o.hao_counter = counter;
	o.hao_workers = workers;
	o.hao_queue_max = queue_max;
	return hauth_new(&o);
}

/* One decision through begin (and take when pending). */
static enum hauth_result
decide(struct hauth *a, const char *hdr, const char *path, const char *also, char *user,
    size_t usersz)
{
	struct hauth_decision d;
	struct hauth_job *job = NULL;
	int owner_tag = 0;
	pthread_mutex_lock(&wake_mu);
	int before = wakes;
	pthread_mutex_unlock(&wake_mu);
	int r = hauth_begin(a, hdr, path, also, &owner_tag, on_wake, NULL, &job, &d);
	if (r == HAUTH_PENDING) {
		cr_assert(wait_wakes(before + 1), "no wake for %s", path);
		void *owner = NULL;
		cr_assert_eq(hauth_take(a, &owner, &d), 1);
		cr_expect_eq(owner, &owner_tag, "the owner handed back");
	} else {
		cr_expect_null(job);
	}
	if (user)
		snprintf(user, usersz, "%s", d.hd_user);
	return d.hd_result;
}

static double
count_of(struct met_family *f, const char *result)
{
	double v = -1;
	const char *lv[] = {result};
	met_value(f, lv, &v);
	return v;
}

Test(httpauth, open_paths)
{
	cr_expect(hauth_path_open("/healthz"));
	cr_expect(hauth_path_open("/readyz"));
	cr_expect(!hauth_path_open("/metrics"));
	cr_expect(!hauth_path_open("/healthz/"));
	cr_expect(!hauth_path_open("/"));
	cr_expect(!hauth_path_open("/live"));
}

Test(httpauth, decisions_and_cache)
{
	struct met_registry *reg = met_registry_new();
	struct met_std ms;
	cr_assert_eq(met_std_register(reg, "t", &ms), CC_OK);
	struct hauth *a = auth_new(ms.ms_http_auth, 2, 0);
	cr_expect_eq(count_of(ms.ms_http_auth, "allowed"), 0, "series exist at 0");
	cr_expect_eq(count_of(ms.ms_http_auth, "error"), 0);
	char user[256];

	cr_expect_eq(decide(a, NULL, "/metrics", NULL, NULL, 0), HAUTH_UNAUTHENTICATED);
	cr_expect_eq(decide(a, "Basic YTpi", "/metrics", NULL, NULL, 0), HAUTH_UNAUTHENTICATED);
	cr_expect_eq(decide(a, "Bearer ", "/metrics", NULL, NULL, 0), HAUTH_UNAUTHENTICATED);
	cr_expect_eq(atomic_load(&fake_token_reviews), 0, "no review without a bearer token");

	cr_expect_eq(decide(a, "Bearer alice", "/metrics", NULL, user, sizeof user), HAUTH_ALLOWED);
	cr_expect_str_eq(user, "alice");
	cr_expect_eq(atomic_load(&fake_token_reviews), 1);
	cr_expect_eq(atomic_load(&fake_sars), 1);
	cr_expect_eq(decide(a, "Bearer   alice ", "/metrics", NULL, user, sizeof user),
	    HAUTH_ALLOWED);
	cr_expect_str_eq(user, "alice", "the user comes back from the cache too");
	cr_expect_eq(atomic_load(&fake_token_reviews), 1, "cached: no second review");

	cr_expect_eq(decide(a, "Bearer alice", "/status", NULL, user, sizeof user), HAUTH_DENIED);
	cr_expect_str_eq(user, "alice");
	cr_expect_eq(decide(a, "Bearer alice", "/status", NULL, NULL, 0), HAUTH_DENIED);
	cr_expect_eq(atomic_load(&fake_sars), 2, "the refusal is cached");
	cr_expect_eq(atomic_load(&fake_token_reviews), 2, "a new path: a new review");

	cr_expect_eq(decide(a, "Bearer nobody", "/metrics", NULL, NULL, 0), HAUTH_UNAUTHENTICATED);
	cr_expect_eq(decide(a, "Bearer nobody", "/metrics", NULL, NULL, 0), HAUTH_UNAUTHENTICATED);
	cr_expect_eq(atomic_load(&fake_token_reviews), 3, "unauthenticated is cached");

	cr_expect_eq(decide(a, "Bearer broken", "/metrics", NULL, NULL, 0), HAUTH_ERROR);
	cr_expect_eq(decide(a, "Bearer broken", "/metrics", NULL, NULL, 0), HAUTH_ERROR);
	cr_expect_eq(atomic_load(&fake_token_reviews), 5, "errors are not cached");
	cr_expect_eq(decide(a, "Bearer garbled", "/metrics", NULL, NULL, 0), HAUTH_ERROR,
	    "a malformed answer is an error, not a crash");

	cr_expect_eq(count_of(ms.ms_http_auth, "allowed"), 2);
	cr_expect_eq(count_of(ms.ms_http_auth, "denied"), 2);
	cr_expect_eq(count_of(ms.ms_http_auth, "unauthenticated"), 5);
	cr_expect_eq(count_of(ms.ms_http_auth, "error"), 3);

	/* no SubjectAccessReview carries a token */
	cr_expect_null(strstr(fake_seen_bodies, "token"), "%s", fake_seen_bodies);
	cr_expect(strstr(fake_seen_bodies, "\"user\":\"alice\"") != NULL);
	cr_expect(hauth_reviews(a) >= 6);
	hauth_free(a);
	hauth_free(NULL);
	met_registry_free(reg);
}

Test(httpauth, page_fills_live_for_peek)
{
	struct hauth *a = auth_new(NULL, 1, 0);
	struct hauth_decision d;
	cr_expect_eq(hauth_peek(a, NULL, "/live", &d), 1, "no token: decided at once");
	cr_expect_eq(d.hd_result, HAUTH_UNAUTHENTICATED);
	cr_expect_eq(decide(a, "Bearer alice", "/", "/live", NULL, 0), HAUTH_ALLOWED);
	cr_expect_eq(atomic_load(&fake_sars), 2, "/ and /live reviewed");
	cr_expect_eq(hauth_peek(a, "Bearer alice", "/live", &d), 1, "the upgrade finds it");
	cr_expect_eq(d.hd_result, HAUTH_ALLOWED);
	cr_expect_str_eq(d.hd_user, "alice");
	/* "/" again finds both in the cache */
	cr_expect_eq(decide(a, "Bearer alice", "/", "/live", NULL, 0), HAUTH_ALLOWED);
	cr_expect_eq(atomic_load(&fake_token_reviews), 1);
	hauth_free(a);
}

Test(httpauth, peek_miss_reviews_in_background)
{
	struct hauth *a = auth_new(NULL, 1, 0);
	struct hauth_decision d;
	cr_expect_eq(hauth_peek(a, "Bearer root", "/live", &d), 0, "a miss");
	cr_expect_eq(d.hd_result, HAUTH_UNAUTHENTICATED);
	int hit = 0;
	for (int i = 0; i < 500 && !hit; i++) {
		usleep(10000);
		hit = hauth_peek(a, "Bearer root", "/live", &d);
	}
	cr_expect_eq(hit, 1, "the background review filled the cache");
	cr_expect_eq(d.hd_result, HAUTH_ALLOWED);
	void *owner;
	cr_expect_eq(hauth_take(a, &owner, &d), 0, "nothing to hand over for a background review");
	hauth_free(a);
}

Test(httpauth, abandoned_job_is_dropped)
{
	struct hauth *a = auth_new(NULL, 1, 0);
	atomic_store(&fake_delay_ms, 100);
	struct hauth_decision d;
	struct hauth_job *job;
	int tag;
	cr_assert_eq(hauth_begin(a, "Bearer root", "/status", NULL, &tag, on_wake, NULL, &job, &d),
	    HAUTH_PENDING);
	hauth_abandon(a, job);
	usleep(500000);
	void *owner;
	cr_expect_eq(hauth_take(a, &owner, &d), 0, "an abandoned job is never handed over");
	pthread_mutex_lock(&wake_mu);
	cr_expect_eq(wakes, 0, "and wakes nobody");
	pthread_mutex_unlock(&wake_mu);
	hauth_abandon(a, NULL);
	hauth_free(a);
}

Test(httpauth, quiesce_stops_wakes)
{
	struct hauth *a = auth_new(NULL, 1, 0);
	atomic_store(&fake_delay_ms, 100);
	struct hauth_decision d;
	struct hauth_job *job;
	int tag;
	cr_assert_eq(hauth_begin(a, "Bearer root", "/", NULL, &tag, on_wake, NULL, &job, &d),
	    HAUTH_PENDING);
	hauth_quiesce(a);
	usleep(400000);
	pthread_mutex_lock(&wake_mu);
	cr_expect_eq(wakes, 0);
	pthread_mutex_unlock(&wake_mu);
	hauth_free(a); /* frees the finished job that nobody took */
}

Test(httpauth, queue_bound)
{
	struct met_registry *reg = met_registry_new();
	struct met_std ms;
	cr_assert_eq(met_std_register(reg, "t", &ms), CC_OK);
	struct hauth *a = auth_new(ms.ms_http_auth, 1, 1);
	atomic_store(&fake_delay_ms, 300);
	struct hauth_decision d;
	struct hauth_job *j1, *j2, *j3;
	int tag;
	cr_assert_eq(hauth_begin(a, "Bearer root", "/a", NULL, &tag, on_wake, NULL, &j1, &d),
	    HAUTH_PENDING);
	usleep(100000); /* the worker has taken it */
	cr_assert_eq(hauth_begin(a, "Bearer root", "/b", NULL, &tag, on_wake, NULL, &j2, &d),
	    HAUTH_PENDING);
	cr_expect_eq(hauth_begin(a, "Bearer root", "/c", NULL, &tag, on_wake, NULL, &j3, &d),
	    HAUTH_BUSY);
	cr_expect_null(j3);
	cr_expect_eq(d.hd_result, HAUTH_ERROR);
	cr_expect(strstr(d.hd_why, "too many") != NULL, "%s", d.hd_why);
	cr_expect_eq(count_of(ms.ms_http_auth, "error"), 1);
	cr_expect(wait_wakes(2));
	void *owner;
	cr_expect_eq(hauth_take(a, &owner, &d), 1);
	cr_expect_eq(hauth_take(a, &owner, &d), 1);
	cr_expect_eq(hauth_take(a, &owner, &d), 0);
	hauth_free(a);
	met_registry_free(reg);
}

/* --- the HTTP server's gate ---------------------------------------------------------------- */

struct reply {
	long r_status;
	struct buf r_body;
	struct buf r_head;
};

static size_t
on_data(char *p, size_t sz, size_t n, void *arg)
{
	return buf_append(arg, p, sz * n) == CC_OK ? sz * n : 0;
}

/* GET path with Authorization hdr (NULL: none). */
static int
get(int port, const char *path, const char *hdr, struct reply *r)
{
	char url[512], h[12288];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	memset(r, 0, sizeof *r);
	buf_init(&r->r_body, 1 << 22);
	buf_init(&r->r_head, 1 << 16);
	CURL *c = curl_easy_init();
	struct curl_slist *sl = NULL;
	if (hdr) {
		snprintf(h, sizeof h, "Authorization: %s", hdr);
		sl = curl_slist_append(sl, h);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->r_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->r_head);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	CURLcode cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->r_status);
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	return cc == CURLE_OK ? 0 : -1;
}

static void
reply_free(struct reply *r)
{
	buf_free(&r->r_body);
	buf_free(&r->r_head);
}

static const char *
text(const struct buf *b)
{
	return b->b_data ? b->b_data : "";
}

Test(httpauth, server_gate)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct met_registry *reg = met_registry_new();
	struct met_std ms;
	cr_assert_eq(met_std_register(reg, "t", &ms), CC_OK);
	struct hauth *a = auth_new(ms.ms_http_auth, 2, 0);
	struct http_server *s = NULL;
	char err[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", reg};
	o.hso_auth = a;
	cr_assert_eq(http_server_start(&o, &s, err, sizeof err), CC_OK, "%s", err);
	int port = http_server_port(s);
	struct reply r;

	cr_assert_eq(get(port, "/healthz", NULL, &r), 0);
	cr_expect_eq(r.r_status, 200, "/healthz needs no token");
	reply_free(&r);
	cr_assert_eq(get(port, "/readyz", NULL, &r), 0);
	cr_expect_eq(r.r_status, 503, "/readyz needs no token (not ready yet)");
	reply_free(&r);

	cr_assert_eq(get(port, "/metrics", NULL, &r), 0);
	cr_expect_eq(r.r_status, 401);
	cr_expect(strcasestr(text(&r.r_head), "www-authenticate: Bearer") != NULL, "%s",
	    text(&r.r_head));
	cr_expect(strstr(text(&r.r_body), "no Authorization header") != NULL, "%s",
	    text(&r.r_body));
	reply_free(&r);

	cr_assert_eq(get(port, "/metrics", "Basic YWxpY2U6eA==", &r), 0);
	cr_expect_eq(r.r_status, 401, "Basic is not accepted");
	reply_free(&r);

	cr_assert_eq(get(port, "/metrics", "Bearer nobody", &r), 0);
	cr_expect_eq(r.r_status, 401, "a token the API server does not know");
	cr_expect(strcasestr(text(&r.r_head), "www-authenticate: Bearer") != NULL);
	cr_expect_null(strstr(text(&r.r_body), "nobody"), "the token is not quoted back");
	reply_free(&r);

	cr_assert_eq(get(port, "/metrics", "Bearer alice", &r), 0);
	cr_expect_eq(r.r_status, 200, "allowed, after a deferred review");
	cr_expect(strstr(text(&r.r_body), "# TYPE certcast_http_auth_total counter") != NULL);
	reply_free(&r);
	cr_assert_eq(get(port, "/metrics", "Bearer alice", &r), 0);
	cr_expect_eq(r.r_status, 200, "allowed, from the cache");
	cr_expect(strstr(text(&r.r_body), "certcast_http_auth_total{result=\"allowed\"} 2") != NULL,
	    "both decisions are counted, this scrape's own before it renders");
	reply_free(&r);

	cr_assert_eq(get(port, "/status", "Bearer alice", &r), 0);
	cr_expect_eq(r.r_status, 403);
	cr_expect(strstr(text(&r.r_body), "user \"alice\" may not get path \"/status\"") != NULL,
	    "%s", text(&r.r_body));
	reply_free(&r);

	/* the deferred request still reads its query arguments */
	cr_assert_eq(get(port, "/status?namespace=Not_A_Label", "Bearer root", &r), 0);
	cr_expect_eq(r.r_status, 400, "%s", text(&r.r_body));
	cr_expect(strstr(text(&r.r_body), "not a Kubernetes namespace name") != NULL);
	reply_free(&r);
	cr_assert_eq(get(port, "/explain/ns/name?format=json", "Bearer root", &r), 0);
	cr_expect_eq(r.r_status, 404, "no explain handler here: routed after the review");
	reply_free(&r);
	cr_assert_eq(get(port, "/nowhere", "Bearer root", &r), 0);
	cr_expect_eq(r.r_status, 404);
	reply_free(&r);

	cr_assert_eq(get(port, "/metrics", "Bearer broken", &r), 0);
	cr_expect_eq(r.r_status, 503, "the API server failed");
	cr_expect_null(strstr(text(&r.r_body), "broken"), "%s", text(&r.r_body));
	reply_free(&r);

	http_server_stop(s);
	hauth_free(a);
	met_registry_free(reg);
	curl_global_cleanup();
}

/*
 * Tokens past lws' default 4 KiB of headers (an OIDC provider's can be) still get an answer,
 * and one past what a review takes is refused with 401, not a closed connection.
 */
Test(httpauth, server_answers_long_tokens)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct hauth *a = auth_new(NULL, 1, 0);
	struct http_server *s = NULL;
	char err[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", NULL};
	o.hso_auth = a;
	cr_assert_eq(http_server_start(&o, &s, err, sizeof err), CC_OK, "%s", err);
	const size_t lens[] = {6000, ARV_TOKEN_MAX, ARV_TOKEN_MAX + 1, 10000};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		char hdr[10100];
		int n = snprintf(hdr, sizeof hdr, "Bearer ");
		memset(hdr + n, 'x', lens[i]);
		hdr[n + (int)lens[i]] = '\0';
		struct reply r;
		cr_assert_eq(get(http_server_port(s), "/metrics", hdr, &r), 0,
		    "a %zu-byte token gets an answer", lens[i]);
		cr_expect_eq(r.r_status, 401, "a %zu-byte token the API server does not know",
		    lens[i]);
		reply_free(&r);
	}
	cr_expect_eq(atomic_load(&fake_token_reviews), 2, "only tokens up to ARV_TOKEN_MAX are "
	    "reviewed");
	http_server_stop(s);
	hauth_free(a);
	curl_global_cleanup();
}

Test(httpauth, server_without_auth_unchanged)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct http_server *s = NULL;
	char err[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", NULL};
	cr_assert_eq(http_server_start(&o, &s, err, sizeof err), CC_OK, "%s", err);
	struct reply r;
	cr_assert_eq(get(http_server_port(s), "/metrics", NULL, &r), 0);
	cr_expect_eq(r.r_status, 200, "httpAuth none: no token needed");
	reply_free(&r);
	http_server_stop(s);
	curl_global_cleanup();
}

/* Connections closed while their review runs: nothing leaks, nothing is answered late. */
Test(httpauth, server_client_leaves_during_review)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct hauth *a = auth_new(NULL, 1, 0);
	atomic_store(&fake_delay_ms, 500);
	struct http_server *s = NULL;
	char err[256] = "";
	struct http_server_opts o = {"127.0.0.1:0", NULL};
	o.hso_auth = a;
	cr_assert_eq(http_server_start(&o, &s, err, sizeof err), CC_OK, "%s", err);
	int port = http_server_port(s);
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
	CURL *c = curl_easy_init();
	struct curl_slist *sl = curl_slist_append(NULL, "Authorization: Bearer root");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 100L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	cr_expect_eq(curl_easy_perform(c), CURLE_OPERATION_TIMEDOUT);
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	usleep(800000); /* the review finishes for a connection that is gone */
	struct reply r;
	atomic_store(&fake_delay_ms, 0);
	cr_assert_eq(get(port, "/metrics", "Bearer root", &r), 0);
	cr_expect_eq(r.r_status, 200, "the server goes on, the decision was cached");
	reply_free(&r);
	http_server_stop(s);
	hauth_free(a);
	curl_global_cleanup();
}
