/* status_remote: fetch a controller's /status and print it as `certcast status` does. */
#include "status_remote.h"

#include "buf.h"
#include "cc_err.h"
#include "ctlget.h"
#include "resource.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int
srm_url(const char *base, const char *ns, char *out, size_t outsz, char *err, size_t errsz)
{
	/* the base first: an unusable URL is the more basic mistake */
	int rc = cg_url(base, "", out, outsz, err, errsz);
	if (rc != CC_OK)
		return rc;
	if (ns[0] == '\0')
		return cg_url(base, "/status", out, outsz, err, errsz);
	if (!res_dns_label_ok(ns))
		return cc_fail(err, errsz, CC_ERR_INVAL,
		    "invalid namespace \"%s\": expected a namespace name", ns);
	char path[128];
	snprintf(path, sizeof path, "/status?namespace=%s", ns);
	return cg_url(base, path, out, outsz, err, errsz);
}

int
srm_run(const struct status_opts *o, FILE *out, FILE *errf)
{
	return srm_run_max(o, SRM_BODY_MAX, out, errf);
}

int
srm_run_max(const struct status_opts *o, size_t max, FILE *out, FILE *errf)
{
	char url[2048], why[512], ns[256];
	/* the URL before the kubeconfig: a typo is reported without touching it */
	if (cg_url(o->so_controller, "", url, sizeof url, why, sizeof why) != CC_OK) {
		fprintf(errf, "certcast status: %s\n", why);
		return 2;
	}
	if (status_namespace(o, "status", ns, sizeof ns, errf) != CC_OK)
		return 1;
	if (srm_url(o->so_controller, ns, url, sizeof url, why, sizeof why) != CC_OK) {
		fprintf(errf, "certcast status: %s\n", why);
		return 2;
	}
	struct buf body;
	buf_init(&body, max);
	struct cg_access acc = {o->so_controller_ca, o->so_controller_token};
	int code = cg_fetch_as(url, "status", &acc, SRM_TIMEOUT_MS, &body, errf);
	if (code == 0) {
		struct status_rows rows;
		if (status_rows_from_json(body.b_data ? body.b_data : "", body.b_len, &rows, why,
			sizeof why) != CC_OK) {
			fprintf(errf, "certcast status: %s: not a status document: %s\n", url, why);
			code = 1;
		} else {
			code = status_print(&rows, o->so_output, ns, (int64_t)time(NULL), out, errf);
			status_rows_free(&rows);
		}
	}
	buf_free(&body);
	return code;
}
