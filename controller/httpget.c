/*
 * httpget: one GET with libcurl into a size-limited buf (see httpget.h).
 */
#include "httpget.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cc_err.h"

void
hg_global_init(void)
{
	/* the API client does the same; curl counts the calls */
	(void)curl_global_init(CURL_GLOBAL_ALL);
}

struct hg_sink {
	struct buf *k_body;
	int k_toobig;
	atomic_int *k_stop;
	struct hg_resp *k_resp;
};

static size_t
hg_on_body(char *d, size_t size, size_t n, void *arg)
{
	struct hg_sink *k = arg;
	if (buf_append(k->k_body, d, size * n) != CC_OK) {
		k->k_toobig = 1;
		return 0; /* makes curl fail the transfer */
	}
	return size * n;
}

int
hg_retry_after_header(const char *line, size_t len, char *out, size_t outsz)
{
	static const char name[] = "retry-after:";
	if (outsz > 0)
		out[0] = '\0';
	if (len < sizeof name - 1 || strncasecmp(line, name, sizeof name - 1) != 0)
		return 0;
	const char *v = line + sizeof name - 1, *e = v;
	/* the value ends at the line end (or a stray CR, LF or NUL before it) */
	while (e < line + len && *e != '\r' && *e != '\n' && *e != '\0')
		e++;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	/* A value cut to fit would read as another one ("86400" as "864"): it is dropped. */
	size_t vl = (size_t)(e - v);
	if (vl >= outsz)
		return 1;
	memcpy(out, v, vl);
	out[vl] = '\0';
	return 1;
}

static size_t
hg_on_header(char *d, size_t size, size_t n, void *arg)
{
	struct hg_sink *k = arg;
	size_t len = size * n;
	char v[sizeof k->k_resp->hr_retry_after];
	if (hg_retry_after_header(d, len, v, sizeof v))
		memcpy(k->k_resp->hr_retry_after, v, sizeof v);
	return len;
}

static int
hg_on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	struct hg_sink *k = arg;
	return k->k_stop != NULL && atomic_load(k->k_stop) ? 1 : 0;
}

struct hg_ca {
	const unsigned char *c_pem;
	size_t c_len;
};

/*
 * Add the extra bundle to the trust curl has already loaded (the system's), so both are
 * trusted; CURLOPT_CAINFO_BLOB would replace the system's instead. No certificate in the
 * bundle fails the call rather than silently trusting only the system.
 */
static CURLcode
hg_on_ssl_ctx(CURL *e, void *sslctx, void *arg)
{
	(void)e;
	const struct hg_ca *ca = arg;
	X509_STORE *st = SSL_CTX_get_cert_store((SSL_CTX *)sslctx);
	BIO *b = BIO_new_mem_buf(ca->c_pem, ca->c_len > INT32_MAX ? INT32_MAX : (int)ca->c_len);
	int added = 0;
	X509 *x;
	while (b != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		(void)X509_STORE_add_cert(st, x); /* a duplicate of a system CA is fine */
		X509_free(x);
		added++;
	}
	ERR_clear_error(); /* the read that ends the loop leaves an error behind */
	BIO_free(b);
	return added > 0 ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

int
hg_get(const struct hg_req *req, struct buf *body, struct hg_resp *resp, char *why,
    size_t whylen)
{
	memset(resp, 0, sizeof *resp);
	CURL *e = curl_easy_init();
	if (e == NULL) {
		snprintf(why, whylen, "curl_easy_init failed");
		return CC_ERR_IO;
	}
	char curlerr[CURL_ERROR_SIZE] = "";
	struct hg_sink k = {body, 0, req->hr_stop, resp};
	struct hg_ca ca = {req->hr_ca, req->hr_ca_len};
	struct curl_slist *hdrs = NULL;
	if (req->hr_accept) {
		char h[256];
		snprintf(h, sizeof h, "Accept: %s", req->hr_accept);
		hdrs = curl_slist_append(NULL, h);
	}
	if (req->hr_bearer) {
		/* the header only: no redirect is followed, so it goes to this URL's host alone */
		size_t hl = strlen(req->hr_bearer) + sizeof "Authorization: Bearer ";
		char *h = malloc(hl);
		struct curl_slist *more = NULL;
		if (h != NULL) {
			snprintf(h, hl, "Authorization: Bearer %s", req->hr_bearer);
			more = curl_slist_append(hdrs, h);
			explicit_bzero(h, hl);
			free(h);
		}
		if (more != NULL)
			hdrs = more;
		else {
			curl_slist_free_all(hdrs);
			curl_easy_cleanup(e);
			snprintf(why, whylen, "out of memory for the Authorization header");
			return CC_ERR_IO;
		}
	}
	curl_easy_setopt(e, CURLOPT_URL, req->hr_url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, req->hr_protocols);
	/* every peer certcast asks answers directly; a redirect could point anywhere */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->hr_ca != NULL) {
		curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, hg_on_ssl_ctx);
		curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, &ca);
		/* the store with the bundle added must not be reused for another peer */
		curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
	}
	if (req->hr_no_proxy)
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->hr_connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->hr_timeout_ms);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* the body limit applies after decoding */
	if (hdrs)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "certcast");
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hg_on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, hg_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &k);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, hg_on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, &k);
	CURLcode cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->hr_code);
	curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	if (k.k_toobig) {
		snprintf(why, whylen, "body over %zu bytes", body->b_max);
		return CC_ERR_TOOBIG;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(why, whylen, "stopped");
		return CC_ERR_CANCELED;
	}
	if (cc != CURLE_OK) {
		snprintf(why, whylen, "%s", curlerr[0] ? curlerr : curl_easy_strerror(cc));
		return cc == CURLE_OPERATION_TIMEDOUT ? CC_ERR_TIMEOUT : CC_ERR_IO;
	}
	return CC_OK;
}
