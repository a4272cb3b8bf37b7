/* explain_remote: fetch and print a controller's /explain/NS/NAME. */
#include "explain_remote.h"

#include "buf.h"
#include "cc_err.h"
#include "ctlget.h"
#include "resource.h"

#include <stdio.h>

/* "/explain/", a namespace (63) and a name (253), with room to spare */
#define XR_PATH_ROOM 400

int
xr_url(const char *base, const char *ns, const char *name, char *out, size_t outsz, char *err,
    size_t errsz)
{
	/* the base first: an unusable URL is the more basic mistake */
	int rc = cg_url(base, "", out, outsz, err, errsz);
	if (rc != CC_OK)
		return rc;
	if (!res_dns_label_ok(ns) || !res_dns_subdomain_ok(name))
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "invalid certificate \"%s/%s\": expected a namespace name and an object name", ns,
		    name);
	char path[XR_PATH_ROOM];
	snprintf(path, sizeof path, "/explain/%s/%s", ns, name);
	return cg_url(base, path, out, outsz, err, errsz);
}

int
xr_run(const char *base, const char *ns, const char *name, FILE *out, FILE *errf)
{
	return xr_run_max(base, ns, name, XR_BODY_MAX, out, errf);
}

static int
xr_fetch(const char *base, const struct cg_access *acc, const char *ns, const char *name,
    size_t max, FILE *out, FILE *errf);

int
xr_run_max(const char *base, const char *ns, const char *name, size_t max, FILE *out,
    FILE *errf)
{
	return xr_fetch(base, NULL, ns, name, max, out, errf);
}

int
xr_run_as(const char *base, const struct cg_access *acc, const char *ns, const char *name,
    FILE *out, FILE *errf)
{
	return xr_fetch(base, acc, ns, name, XR_BODY_MAX, out, errf);
}

static int
xr_fetch(const char *base, const struct cg_access *acc, const char *ns, const char *name,
    size_t max, FILE *out, FILE *errf)
{
	char url[2048], why[512];
	if (xr_url(base, ns, name, url, sizeof url, why, sizeof why) != CC_OK) {
		fprintf(errf, "certcast explain: %s\n", why);
		return 2;
	}
	struct buf body;
	buf_init(&body, max);
	int rc = cg_fetch_as(url, "explain", acc, XR_TIMEOUT_MS, &body, errf);
	if (rc == 0 && body.b_len > 0) {
		fwrite(body.b_data, 1, body.b_len, out);
		fflush(out);
	}
	buf_free(&body);
	return rc;
}
