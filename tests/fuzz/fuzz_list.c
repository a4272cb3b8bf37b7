/*
 * fuzz_list: arbitrary bytes as the pages of a LIST response, through refl_list_page (the code
 * the reflector's thread runs on every page it gets): the List envelope (kind, items,
 * metadata.continue, metadata.resourceVersion, remainingItemCount and whatever else a server
 * adds), each item into the store with STORE_SYNC, and the relist that deletes what a finished
 * list no longer holds. fuzz_watch feeds the same decoder one event at a time; only here does
 * the envelope, with its paging and its resourceVersion, meet arbitrary bytes.
 *
 * The API server is trusted to follow its schema, but a LIST crosses proxies and aggregation,
 * and CRD objects keep unknown fields: no page may crash, leak or trip a sanitizer, and the
 * reflector's promises (reflector.h) must hold: a refused page says why and changes nothing
 * (store, item count, resourceVersion); an accepted page hands back exactly the continue token
 * the page carries, or on the last page the resourceVersion it carries, which fits the
 * watch's buffer; no page takes more items than it has; and once a list ends the store holds
 * no more objects of the resource than the list had.
 *
 * Input: byte 0 picks the resource (low 4 bits, modulo the 9 descriptors), the size of the
 * resourceVersion buffer (bit 4: 128 as the thread's, or 12) and the log format (bit 5: JSON).
 * The rest is pages separated by form feeds (0x0c, which JSON never needs): each page is the
 * next of the list while the previous one gave a continue token; a page after the last one, or
 * after a refused one, begins a new list (a relist), so that a second list deletes what the
 * first made. Finally the store is read back through every index and as status rows.
 */
#include "cc_err.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "log.h"
#include "reflector.h"
#include "resource.h"
#include "status.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1798761600 /* 2027-01-01T00:00:00Z */
#define FZ_SEP '\f'       /* between pages */
#define FZ_RV_MAX 128     /* the thread's resourceVersion buffer (REFL_RV_MAX) */

static FILE *fz_null;
static struct kube_client *fz_client; /* never connects: the harness hands over the pages */

static void
fz_init(void)
{
	if ((fz_null = fopen("/dev/null", "w")) == NULL)
		abort();
	log_set_fd(fileno(fz_null));
	struct kube_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.kc_server = (char *)"https://127.0.0.1:1";
	cfg.kc_namespace = (char *)"default";
	struct kube_client_opts co = {.kco_qps = -1};
	struct kube_error err;
	if (kube_client_new(&cfg, &co, &fz_client, &err) != CC_OK)
		abort();
}

static void
fz_fail(const char *what, int page, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_list: page %d: %s (\"%s\", \"%s\")\n", page, what, a ? a : "(null)",
	    b ? b : "(null)");
	abort();
}

/* A string field of the page's metadata, as cJSON reads it; NULL when absent or not a string. */
static const char *
fz_meta(const cJSON *root, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "metadata"), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* What the page's items array holds, or 0. */
static size_t
fz_items(const cJSON *root)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
	return cJSON_IsArray(items) ? (size_t)cJSON_GetArraySize(items) : 0;
}

/* Checks one accepted page against its own JSON; returns how many items it has. */
static size_t
fz_check_page(const char *body, size_t len, int page, const char *cont, const char *rv,
    size_t rvsz, size_t took)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (root == NULL)
		fz_fail("a page that is not JSON was accepted", page, NULL, NULL);
	const char *jc = fz_meta(root, "continue"), *jrv = fz_meta(root, "resourceVersion");
	size_t have = fz_items(root);
	if (took > have)
		fz_fail("more items taken than the page has", page, NULL, NULL);
	if (cont != NULL) {
		if (jc == NULL || strcmp(cont, jc) != 0 || cont[0] == '\0')
			fz_fail("the continue token is not the page's", page, cont, jc);
	} else {
		if (jc != NULL && jc[0] != '\0')
			fz_fail("a page with a continue token ended the list", page, jc, NULL);
		if (jrv == NULL || strcmp(rv, jrv) != 0 || rv[0] == '\0' || strlen(rv) >= rvsz ||
		    strlen(rv) >= FZ_RV_MAX)
			fz_fail("the resourceVersion is not the last page's, or does not fit", page,
			    rv, jrv);
	}
	cJSON_Delete(root);
	return have;
}

/* Every accessor over every record, so that a broken index shows up under ASan. */
static void
fz_read_back(struct store *st)
{
	struct store_iter it;
	store_rdlock(st);
	for (int k = 0; k < RES_KIND_COUNT; k++) {
		size_t n = 0;
		memset(&it, 0, sizeof it);
		while (store_next(st, (enum res_kind)k, &it) != NULL)
			n++;
		if (n != store_count(st, (enum res_kind)k))
			fz_fail("records iterated differ from records counted", 0,
			    res_kind_name((enum res_kind)k), NULL);
	}
	const struct rec_cert *c;
	const struct rec_cr *crs[16];
	memset(&it, 0, sizeof it);
	while ((c = store_cert_next(st, NULL, &it)) != NULL) {
		(void)store_cert_issuer(st, c);
		(void)store_cert_crs(st, c->c_meta.m_ns, c->c_meta.m_name, crs, 16);
	}
	store_unlock(st);
	struct status_rows rows = {NULL, 0};
	status_rows_build(st, "", &rows);
	status_print_table(fz_null, &rows, 1, FZ_NOW);
	status_rows_free(&rows);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_null == NULL)
		fz_init();
	if (size < 1)
		return 0;
	const struct res_desc *d = &res_table()[(data[0] & 0x0f) % RES_DESC_COUNT];
	size_t rvsz = data[0] & 0x10 ? 12 : FZ_RV_MAX;
	log_setup(data[0] & 0x20 ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT, LOG_DEBUG);

	struct store *st = store_new();
	struct refl_opts o = {.ro_client = fz_client, .ro_store = st, .ro_desc = d,
	    .ro_namespace = "shop"};
	struct refl *r = NULL;
	if (refl_new(&o, &r) != CC_OK)
		abort();

	const char *at = (const char *)data + 1, *end = (const char *)data + size;
	char rv[FZ_RV_MAX];
	char *cont = NULL;
	int page = 0;
	size_t nitems = 0, listed = 0; /* items the store took, and items the list had */
	uint64_t gen = 0;
	while (at < end) {
		const char *sep = memchr(at, FZ_SEP, (size_t)(end - at));
		size_t len = (size_t)((sep ? sep : end) - at);
		/* a copy of exactly len bytes, so that reading past the page is caught */
		char *body = malloc(len ? len : 1);
		if (body == NULL)
			abort();
		memcpy(body, at, len);
		at += len + (sep != NULL);
		if (cont == NULL) { /* a new list */
			gen = store_relist_begin(st, d);
			page = 0;
			nitems = listed = 0;
		}
		free(cont);
		cont = NULL;
		page++;

		char before_rv[FZ_RV_MAX];
		memcpy(rv, "unchanged", sizeof "unchanged");
		memcpy(before_rv, rv, sizeof before_rv);
		size_t before_n = nitems, before_count = store_count(st, d->rd_kind);
		struct kube_error err;
		memset(&err, 0, sizeof err);
		int rc = refl_list_page(r, len ? body : NULL, len, page, &cont, rv, rvsz, &nitems,
		    &err);
		if (rc != CC_OK) {
			if (rc != CC_ERR_PARSE || cont != NULL || err.ke_http != 200 ||
			    memchr(err.ke_message, '\0', sizeof err.ke_message) == NULL ||
			    err.ke_message[0] == '\0')
				fz_fail("a refusal without its reason, or with a token", page,
				    err.ke_message, cc_strerror(rc));
			if (nitems != before_n || store_count(st, d->rd_kind) != before_count ||
			    strcmp(rv, before_rv) != 0)
				fz_fail("a refused page changed something", page, rv,
				    err.ke_message);
			free(body);
			continue; /* the list failed: nothing is deleted, the next page relists */
		}
		listed += fz_check_page(body, len, page, cont, rv, rvsz, nitems - before_n);
		free(body);
		if (cont == NULL) {
			store_relist_end(st, d, gen);
			/*
			 * Only d feeds records of its kind here, and what survives a relist is what
			 * the list held (an item the store refused keeps the record it had).
			 */
			if (store_count(st, d->rd_kind) > listed) {
				char n1[32], n2[32];
				snprintf(n1, sizeof n1, "%zu", store_count(st, d->rd_kind));
				snprintf(n2, sizeof n2, "%zu", listed);
				fz_fail("more records after the relist than the list had", page, n1,
				    n2);
			}
		}
	}
	free(cont);
	fz_read_back(st);
	refl_free(r);
	store_free(st);
	return 0;
}
