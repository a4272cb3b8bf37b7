/*
 * scan: `certcast scan -f FILE|-`, status on a saved `kubectl get ... -A -o json` instead of a
 * live cluster. Every item goes through the same decoding and store as a watch event, so a
 * saved file and a cluster give the same rows. A bad item is reported (which one, and why) and
 * skipped; the rest of the file is still scanned.
 */
#include "scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cc_err.h"
#include "resource.h"
#include "store.h"
#include "xalloc.h"

#define SCAN_MAX_BYTES (512u << 20) /* the file; kubectl output of ~100k certificates fits */

/* Reads all of fp into a NUL-terminated buffer. CC_OK, CC_ERR_IO or CC_ERR_TOOBIG. */
static int
scan_slurp(FILE *fp, char **out, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *b = xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= SCAN_MAX_BYTES) {
				free(b);
				return CC_ERR_TOOBIG;
			}
			cap *= 2;
			b = xrealloc(b, cap);
		}
		size_t got = fread(b + n, 1, cap - n - 1, fp);
		n += got;
		if (got == 0) {
			if (ferror(fp)) {
				free(b);
				return CC_ERR_IO;
			}
			break;
		}
	}
	b[n] = '\0';
	*out = b;
	*len = n;
	return CC_OK;
}

/* The descriptor for an object's apiVersion and kind, or NULL when certcast does not track it. */
static const struct res_desc *
scan_desc(const cJSON *item)
{
	const cJSON *av = cJSON_GetObjectItemCaseSensitive(item, "apiVersion");
	const cJSON *kd = cJSON_GetObjectItemCaseSensitive(item, "kind");
	if (!cJSON_IsString(av) || !cJSON_IsString(kd))
		return NULL;
	int k = res_kind_from_name(kd->valuestring);
	if (k < 0)
		return NULL;
	const char *slash = strchr(av->valuestring, '/');
	size_t gl = slash ? (size_t)(slash - av->valuestring) : 0;
	for (size_t i = 0; i < RES_DESC_COUNT; i++) {
		const struct res_desc *d = &res_table()[i];
		if ((int)d->rd_kind == k && strlen(d->rd_group) == gl &&
		    strncmp(d->rd_group, av->valuestring, gl) == 0)
			return d;
	}
	return NULL;
}

/* "Certificate shop/web" for messages. */
static void
scan_what(const cJSON *item, char *out, size_t outsz)
{
	const cJSON *kd = cJSON_GetObjectItemCaseSensitive(item, "kind");
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(item, "metadata");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
	const cJSON *nm = cJSON_GetObjectItemCaseSensitive(md, "name");
	snprintf(out, outsz, "%s %s%s%s", cJSON_IsString(kd) ? kd->valuestring : "object",
	    cJSON_IsString(ns) ? ns->valuestring : "", cJSON_IsString(ns) ? "/" : "",
	    cJSON_IsString(nm) ? nm->valuestring : "(no name)");
}

int
scan_load(struct store *st, const char *text, size_t len, const char *file, FILE *errf,
    struct scan_stats *stats)
{
	memset(stats, 0, sizeof *stats);
	const char *end = NULL;
	/* len + 1: cJSON wants the terminating NUL inside the buffer to reject trailing bytes */
	cJSON *doc = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
	if (doc == NULL) {
		size_t at = end && end >= text ? (size_t)(end - text) : 0;
		fprintf(errf, "certcast scan: %s: not valid JSON (error near byte %zu)\n", file, at);
		return CC_ERR_PARSE;
	}
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	int single = !cJSON_IsArray(items);
	if (single && !cJSON_IsObject(doc)) {
		fprintf(errf, "certcast scan: %s: expected a JSON object (a List from kubectl get -o json, "
			      "or one object)\n",
		    file);
		cJSON_Delete(doc);
		return CC_ERR_PARSE;
	}
	size_t n = single ? 1 : (size_t)cJSON_GetArraySize(items);
	const cJSON *item = single ? doc : items->child;
	for (size_t i = 0; i < n && item; i++, item = single ? NULL : item->next) {
		char what[300], err[512];
		if (!cJSON_IsObject(item)) {
			fprintf(errf, "certcast scan: %s: items[%zu]: not an object; skipped\n", file, i);
			stats->ss_bad++;
			continue;
		}
		const struct res_desc *d = scan_desc(item);
		if (d == NULL) {
			stats->ss_ignored++;
			continue;
		}
		err[0] = '\0';
		int rc = store_apply(st, d, STORE_SYNC, item, err, sizeof err);
		if (rc != CC_OK) {
			/* the store's message already names the object; add it only when missing */
			if (err[0]) {
				fprintf(errf, "certcast scan: %s: items[%zu]: %s; skipped\n", file, i, err);
			} else {
				scan_what(item, what, sizeof what);
				fprintf(errf, "certcast scan: %s: items[%zu] (%s): %s; skipped\n", file, i,
				    what, cc_strerror(rc));
			}
			stats->ss_bad++;
			continue;
		}
		stats->ss_loaded++;
	}
	cJSON_Delete(doc);
	return CC_OK;
}

int
scan_run(const struct scan_opts *o, FILE *in, FILE *out, FILE *errf)
{
	const char *file = strcmp(o->sc_file, "-") == 0 ? "standard input" : o->sc_file;
	FILE *fp = in;
	if (strcmp(o->sc_file, "-") != 0) {
		fp = fopen(o->sc_file, "rb");
		if (fp == NULL) {
			fprintf(errf, "certcast scan: cannot open %s: %s\n", o->sc_file, strerror(errno));
			return 1;
		}
	}
	char *text = NULL;
	size_t len = 0;
	int rc = scan_slurp(fp, &text, &len);
	if (fp != in)
		fclose(fp);
	if (rc != CC_OK) {
		fprintf(errf, "certcast scan: cannot read %s: %s\n", file,
		    rc == CC_ERR_TOOBIG ? "larger than 512 MiB" : strerror(errno));
		return 1;
	}
	struct store *st = store_new();
	struct scan_stats ss;
	rc = scan_load(st, text, len, file, errf, &ss);
	free(text);
	int code = 1;
	if (rc == CC_OK) {
		struct status_rows rows = {NULL, 0};
		const char *ns = o->sc_namespace ? o->sc_namespace : "";
		status_rows_build(st, ns, &rows);
		status_rows_score(st, &rows, o->sc_now, NULL);
		code = status_print(&rows, o->sc_output, ns, o->sc_now, out, errf);
		status_rows_free(&rows);
		if (ss.ss_bad)
			fprintf(errf, "certcast scan: %zu item%s of %s skipped (see above)\n", ss.ss_bad,
			    ss.ss_bad == 1 ? "" : "s", file);
	}
	store_free(st);
	return code;
}
