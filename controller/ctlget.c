/* ctlget: --controller URLs and the GET from a controller, for the CLI. */
#include "ctlget.h"

#include "buf.h"
#include "cc_err.h"
#include "httpget.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>

int
cg_url(const char *base, const char *path, char *out, size_t outsz, char *err, size_t errsz)
{
	size_t skip;
	if (strncasecmp(base, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(base, "https://", 8) == 0)
		skip = 8;
	else
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "controller URL \"%s\" must start with http:// or https://", base);
	const char *host = base + skip;
	size_t hl = strcspn(host, "/");
	if (hl == 0)
		return cc_fail(err, errsz, CC_ERR_INVAL, "controller URL \"%s\" has no host", base);
	if (memchr(host, '@', hl))
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "controller URL \"%s\" must not carry user information", base);
	if (strpbrk(base, "?#"))
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "controller URL \"%s\" must not have a query or fragment", base);
	for (const char *p = base; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return cc_fail(err, errsz, CC_ERR_INVAL,
			    "controller URL \"%s\" has a space or control character", base);
	size_t bl = strlen(base);
	while (bl > skip + hl && base[bl - 1] == '/')
		bl--;
	int n = snprintf(out, outsz, "%.*s%s", (int)bl, base, path);
	if (n < 0 || (size_t)n >= outsz)
		return cc_fail(err, errsz, CC_ERR_INVAL, "controller URL \"%s\" is too long", base);
	return CC_OK;
}

/* The first line of a controller's answer, for a message: printable, at most 300 bytes. */
static void
cg_first_line(const struct buf *b, char *out, size_t outsz)
{
	size_t n = 0;
	for (size_t i = 0; i < b->b_len && n + 1 < outsz && n < 300; i++) {
		char c = b->b_data[i];
		if (c == '\n' || c == '\r')
			break;
		out[n++] = (unsigned char)c < ' ' || (unsigned char)c == 0x7f ? '?' : c;
	}
	out[n] = '\0';
}

/*
 * Read the CA bundle at path into ca (limit CG_CA_MAX) and make sure it holds a PEM certificate:
 * httpget would otherwise only say that the TLS set-up failed, without naming the file.
 */
static int
cg_read_ca(const char *path, const char *cmd, struct buf *ca, FILE *errf)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(errf, "certcast %s: cannot read --controller-ca %s: %s\n", cmd, path,
		    strerror(errno));
		return 2;
	}
	char chunk[4096];
	size_t n;
	int rc = 0;
	while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_append(ca, chunk, n) != CC_OK) {
			fprintf(errf, "certcast %s: --controller-ca %s is over %u bytes\n", cmd,
			    path, CG_CA_MAX);
			rc = 2;
		}
	if (rc == 0 && ferror(f)) {
		fprintf(errf, "certcast %s: cannot read --controller-ca %s: %s\n", cmd, path,
		    strerror(errno));
		rc = 2;
	}
	fclose(f);
	if (rc != 0)
		return rc;
	BIO *b = BIO_new_mem_buf(ca->b_data ? ca->b_data : "", (int)ca->b_len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	if (x == NULL) {
		fprintf(errf, "certcast %s: --controller-ca %s holds no PEM certificate "
			      "(-----BEGIN CERTIFICATE-----)\n",
		    cmd, path);
		rc = 2;
	}
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

/*
 * Read the token at path into tok (size CG_TOKEN_MAX + 1): one token, with the white space
 * around it (the newline `kubectl create token > FILE` leaves) dropped. Nothing of the file's
 * content goes into a message.
 */
static int
cg_read_token(const char *path, const char *cmd, char *tok, size_t toksz, FILE *errf)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(errf, "certcast %s: cannot read --controller-token-file %s: %s\n", cmd,
		    path, strerror(errno));
		return 2;
	}
	char raw[CG_TOKEN_MAX + 64];
	size_t n = fread(raw, 1, sizeof raw, f);
	int bad = ferror(f), saved = errno;
	fclose(f);
	int rc = 0;
	size_t a = 0, b = n;
	while (a < b && isspace((unsigned char)raw[a]))
		a++;
	while (b > a && isspace((unsigned char)raw[b - 1]))
		b--;
	if (bad) {
		fprintf(errf, "certcast %s: cannot read --controller-token-file %s: %s\n", cmd,
		    path, strerror(saved));
		rc = 2;
	} else if (n == sizeof raw || b - a > CG_TOKEN_MAX || b - a + 1 > toksz) {
		fprintf(errf, "certcast %s: --controller-token-file %s holds over %d bytes: not a "
			      "token\n",
		    cmd, path, CG_TOKEN_MAX);
		rc = 2;
	} else if (a == b) {
		fprintf(errf, "certcast %s: --controller-token-file %s is empty\n", cmd, path);
		rc = 2;
	} else {
		for (size_t i = a; i < b && rc == 0; i++)
			if ((unsigned char)raw[i] <= ' ' || (unsigned char)raw[i] >= 0x7f)
				rc = 2;
		if (rc != 0)
			fprintf(errf, "certcast %s: --controller-token-file %s holds a space or a "
				      "control character: not one token\n",
			    cmd, path);
		if (rc == 0) {
			memcpy(tok, raw + a, b - a);
			tok[b - a] = '\0';
		}
	}
	explicit_bzero(raw, sizeof raw);
	return rc;
}

int
cg_url_loopback(const char *url)
{
	const char *h = strstr(url, "://");
	char host[256];
	if (h == NULL)
		return 0;
	h += 3;
	size_t hl = strcspn(h, "/");
	if (hl == 0 || hl >= sizeof host)
		return 0;
	if (h[0] == '[') {
		const char *close = memchr(h, ']', hl);
		if (close == NULL)
			return 0;
		snprintf(host, sizeof host, "%.*s", (int)(close - h - 1), h + 1);
	} else {
		size_t l = strcspn(h, ":/");
		snprintf(host, sizeof host, "%.*s", (int)(l < hl ? l : hl), h);
	}
	unsigned char a[16];
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1)
		return memcmp(a, in6addr_loopback.s6_addr, 16) == 0;
	return 0;
}

int
cg_fetch(const char *url, const char *cmd, long timeout_ms, struct buf *body, FILE *errf)
{
	return cg_fetch_as(url, cmd, NULL, timeout_ms, body, errf);
}

int
cg_fetch_as(const char *url, const char *cmd, const struct cg_access *acc, long timeout_ms,
    struct buf *body, FILE *errf)
{
	char why[HG_WHY_MAX];
	const char *ca_file = acc ? acc->ga_ca_file : NULL;
	const char *token_file = acc ? acc->ga_token_file : NULL;
	char token[CG_TOKEN_MAX + 1] = "";
	if (token_file != NULL) {
		if (strncasecmp(url, "https://", 8) != 0 && !cg_url_loopback(url)) {
			fprintf(errf, "certcast %s: %s: refusing to send the token of "
				      "--controller-token-file over plain http:// to a host that "
				      "is not loopback; use https:// (or kubectl port-forward "
				      "and http://127.0.0.1)\n",
			    cmd, url);
			return 2;
		}
		int trc = cg_read_token(token_file, cmd, token, sizeof token, errf);
		if (trc != 0)
			return trc;
	}
	struct buf ca;
	buf_init(&ca, CG_CA_MAX);
	if (ca_file != NULL) {
		int crc = cg_read_ca(ca_file, cmd, &ca, errf);
		if (crc != 0) {
			buf_free(&ca);
			explicit_bzero(token, sizeof token);
			return crc;
		}
	}
	hg_global_init();
	struct hg_req q = {
	    .hr_url = url,
	    .hr_protocols = "http,https",
	    .hr_ca = (const unsigned char *)ca.b_data,
	    .hr_ca_len = ca.b_len,
	    .hr_bearer = token_file != NULL ? token : NULL,
	    .hr_connect_timeout_ms = CG_CONNECT_TIMEOUT_MS,
	    .hr_timeout_ms = timeout_ms,
	};
	struct hg_resp r;
	memset(&r, 0, sizeof r);
	int grc = hg_get(&q, body, &r, why, sizeof why);
	explicit_bzero(token, sizeof token);
	buf_free(&ca);
	long code = r.hr_code;
	char line[320];
	cg_first_line(body, line, sizeof line);
	if (grc == CC_ERR_TOOBIG)
		fprintf(errf, "certcast %s: %s: the answer is over %zu bytes; refused\n", cmd, url,
		    body->b_max);
	else if (grc != CC_OK)
		fprintf(errf, "certcast %s: cannot get %s: %s\n", cmd, url, why);
	else if (code == 401 && token_file == NULL)
		fprintf(errf, "certcast %s: %s: the controller asks for a Kubernetes token "
			      "(httpAuth kubernetes); give one with --controller-token-file "
			      "FILE: %s\n",
		    cmd, url, line);
	else if (code == 401)
		fprintf(errf, "certcast %s: %s: the controller did not accept the token of "
			      "--controller-token-file %s: %s\n",
		    cmd, url, token_file, line);
	else if (code == 404)
		fprintf(errf, "certcast %s: %s: %s\n", cmd, url,
		    line[0] ? line : "not found (is this certcast's HTTP port?)");
	else if (code == 503)
		fprintf(errf, "certcast %s: %s: the controller is not ready yet: %s\n", cmd, url,
		    line);
	else if (code != 200)
		fprintf(errf, "certcast %s: %s answered HTTP %ld: %s\n", cmd, url, code, line);
	else
		return 0;
	return 1;
}
