/*
 * fuzz_issuing: arbitrary bytes as the Certificate the API server answers when certcast is about
 * to re-issue it (act_reissue's GET), through act_set_issuing, which sets the Issuing condition
 * as cmctl renew does; what it makes is PUT back to the status subresource.
 *
 * The object is the API server's, but it carries whatever cert-manager and other controllers
 * wrote into its status: no object may crash, leak or trip a sanitizer, and act.h's promise
 * must hold: -1 exactly for what is not a Certificate (kind and a metadata object), 1 and the
 * object untouched when Issuing is already True, else 0 with one Issuing=True condition of
 * certcast's (reason, message, lastTransitionTime, observedGeneration from metadata.generation)
 * in status.conditions, every other condition as it was, and nothing else changed; set again,
 * it is already True.
 *
 * Input: the object's JSON. Time is fixed.
 */
#include "act.h"
#include "cc_err.h"
#include "timefmt.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1798761600 /* 2027-01-01T00:00:00Z */
#define FZ_MSG "Re-issuance triggered by certcast: fuzz"

static void
fz_fail(const char *what, const char *json)
{
	fprintf(stderr, "fuzz_issuing: %s\n%s\n", what, json ? json : "(null)");
	abort();
}

static int
fz_str_is(const cJSON *o, const char *key, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

/* The conditions act_set_issuing works on (the first "status", its first "conditions"). */
static const cJSON *
fz_conds(const cJSON *o)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(o, "status"), "conditions");
	return cJSON_IsArray(c) ? c : NULL;
}

static size_t
fz_count_issuing(const cJSON *conds)
{
	size_t n = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, conds)
		n += fz_str_is(c, "type", "Issuing");
	return n;
}

/* Printed alike (cJSON_Compare holds no infinity equal to itself: 1e999 reads as one). */
static int
fz_same_json(const cJSON *a, const cJSON *b)
{
	char *pa = cJSON_PrintUnformatted(a), *pb = cJSON_PrintUnformatted(b);
	if (pa == NULL || pb == NULL)
		abort();
	int same = strcmp(pa, pb) == 0;
	free(pa);
	free(pb);
	return same;
}

/* Each condition of before that is not an Issuing one is in after, printed the same. */
static int
fz_others_kept(const cJSON *before, const cJSON *after)
{
	const cJSON *b;
	cJSON_ArrayForEach(b, before)
	{
		if (fz_str_is(b, "type", "Issuing"))
			continue;
		int found = 0;
		const cJSON *a;
		cJSON_ArrayForEach(a, after)
			found |= fz_same_json(a, b);
		if (!found)
			return 0;
	}
	return 1;
}

/* An object that names a key twice: JSON allows it, the API server never sends it. */
static int
fz_dup_keys(const cJSON *o)
{
	const cJSON *a, *b;
	if (!cJSON_IsObject(o))
		return 0;
	cJSON_ArrayForEach(a, o)
		for (b = a->next; b != NULL; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1); /* exactly the answer's bytes */
	if (in == NULL)
		abort();
	memcpy(in, data, size);
	cJSON *o = cJSON_ParseWithLength(in, size), *orig = NULL;
	free(in);
	if (o == NULL)
		return 0; /* act_reissue never calls it without an object */
	orig = cJSON_Duplicate(o, 1);
	char *before = cJSON_PrintUnformatted(o);
	if (orig == NULL || before == NULL)
		abort();
	int cert = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "metadata")) &&
	    fz_str_is(o, "kind", "Certificate");
	int rc = act_set_issuing(o, FZ_MSG, FZ_NOW);
	char *after = cJSON_PrintUnformatted(o);
	if (after == NULL)
		abort();
	if ((rc == -1) != !cert)
		fz_fail("-1 is not exactly \"not a Certificate\"", before);
	if (rc != 0) {
		if (strcmp(before, after) != 0)
			fz_fail("an object it did not set was changed", after);
		if (rc == 1) {
			int on = 0;
			const cJSON *c;
			cJSON_ArrayForEach(c, fz_conds(o))
				on |= fz_str_is(c, "type", "Issuing") &&
				    fz_str_is(c, "status", "True");
			if (!on)
				fz_fail("\"already True\" without Issuing=True", before);
		}
		goto out;
	}

	/* which "status" or "conditions" is meant is then a reader's guess: not checked further */
	if (fz_dup_keys(orig) ||
	    fz_dup_keys(cJSON_GetObjectItemCaseSensitive(orig, "status")))
		goto out;
	const cJSON *conds = fz_conds(o), *was = fz_conds(orig), *c, *mine = NULL;
	if (conds == NULL)
		fz_fail("set, but no conditions array", after);
	cJSON_ArrayForEach(c, conds)
		if (fz_str_is(c, "type", "Issuing") && fz_str_is(c, "status", "True"))
			mine = mine ? mine : c;
	char ltt[TF_BUFSZ];
	if (tf_format_time(FZ_NOW, ltt, sizeof ltt) != CC_OK)
		abort();
	const cJSON *og = cJSON_GetObjectItemCaseSensitive(mine, "observedGeneration");
	const cJSON *gen = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(o, "metadata"), "generation");
	if (mine == NULL || !fz_str_is(mine, "reason", "CertcastTriggered") ||
	    !fz_str_is(mine, "message", FZ_MSG) || !fz_str_is(mine, "lastTransitionTime", ltt) ||
	    cJSON_IsNumber(gen) != cJSON_IsNumber(og) ||
	    (cJSON_IsNumber(gen) && memcmp(&og->valuedouble, &gen->valuedouble, sizeof(double))))
		fz_fail("no Issuing=True of certcast's, or one that says something else", after);
	/* the API server keeps one condition per type; from such an object, one Issuing comes */
	if (was != NULL && fz_count_issuing(was) <= 1 && fz_count_issuing(conds) != 1)
		fz_fail("more than one Issuing condition", after);
	if (was != NULL && !fz_others_kept(was, conds))
		fz_fail("another condition was changed or lost", after);
	/* the rest of the object: as before once status.conditions is set aside */
	cJSON *st_o = cJSON_GetObjectItemCaseSensitive(o, "status");
	cJSON *st_b = cJSON_GetObjectItemCaseSensitive(orig, "status");
	if (cJSON_IsObject(st_b) && cJSON_IsObject(st_o)) {
		cJSON_DeleteItemFromObjectCaseSensitive(st_o, "conditions");
		cJSON_DeleteItemFromObjectCaseSensitive(st_b, "conditions");
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "status");
		cJSON_DeleteItemFromObjectCaseSensitive(orig, "status");
	}
	if (!fz_same_json(o, orig))
		fz_fail("something besides status.conditions changed", after);
	/* set again, the same object: Issuing is True now (the original, reparsed) */
	cJSON *again = cJSON_Parse(after);
	if (again != NULL && act_set_issuing(again, FZ_MSG, FZ_NOW) != 1)
		fz_fail("set twice, the second time was not \"already True\"", after);
	cJSON_Delete(again);
out:
	free(after);
	free(before);
	cJSON_Delete(orig);
	cJSON_Delete(o);
	return 0;
}
