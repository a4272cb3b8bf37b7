/* explain_remote: fetch and print a controller's /explain/NS/NAME. */
#include "explain_remote.h"

#include "buf.h"
#include "cc_err.h"
#include "httpget.h"
#include "resource.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int
xr_url(const char *base, const char *ns, const char *name, char *out, size_t outsz, char *err,
    size_t errsz)
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
	if (!res_dns_label_ok(ns) || !res_dns_subdomain_ok(name))
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "invalid certificate \"%s/%s\": expected a namespace name and an object name", ns,
		    name);
	size_t bl = strlen(base);
	while (bl > skip + hl && base[bl - 1] == '/')
		bl--;
	int n = snprintf(out, outsz, "%.*s/explain/%s/%s", (int)bl, base, ns, name);
	if (n < 0 || (size_t)n >= outsz)
		return cc_fail(err, errsz, CC_ERR_INVAL, "controller URL \"%s\" is too long", base);
	return CC_OK;
}

/* The first line of a controller's answer, for a message: printable, at most 300 bytes. */
static void
xr_first_line(const struct buf *b, char *out, size_t outsz)
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

int
xr_run(const char *base, const char *ns, const char *name, FILE *out, FILE *errf)
{
	return xr_run_max(base, ns, name, XR_BODY_MAX, out, errf);
}

int
xr_run_max(const char *base, const char *ns, const char *name, size_t max, FILE *out,
    FILE *errf)
{
	char url[2048], why[HG_WHY_MAX + 512];
	if (xr_url(base, ns, name, url, sizeof url, why, sizeof why) != CC_OK) {
		fprintf(errf, "certcast explain: %s\n", why);
		return 2;
	}
	hg_global_init();
	struct buf body;
	buf_init(&body, max);
	struct hg_req q = {
	    .hr_url = url,
	    .hr_protocols = "http,https",
	    .hr_connect_timeout_ms = XR_CONNECT_TIMEOUT_MS,
	    .hr_timeout_ms = XR_TIMEOUT_MS,
	};
	struct hg_resp r;
	int grc = hg_get(&q, &body, &r, why, sizeof why);
	long code = r.hr_code;
	int rc = 1;
	char line[320];
	xr_first_line(&body, line, sizeof line);
	if (grc == CC_ERR_TOOBIG)
		fprintf(errf, "certcast explain: %s: the answer is over %zu bytes; refused\n", url,
		    max);
	else if (grc != CC_OK)
		fprintf(errf, "certcast explain: cannot get %s: %s\n", url, why);
	else if (code == 404)
		fprintf(errf, "certcast explain: %s: %s\n", url,
		    line[0] ? line : "not found (is this certcast's HTTP port?)");
	else if (code == 503)
		fprintf(errf, "certcast explain: %s: the controller is not ready yet: %s\n", url, line);
	else if (code != 200)
		fprintf(errf, "certcast explain: %s answered HTTP %ld: %s\n", url, code, line);
	else
		rc = 0;
	if (rc == 0 && body.b_len > 0) {
		fwrite(body.b_data, 1, body.b_len, out);
		fflush(out);
	}
	buf_free(&body);
	return rc;
}
