/*
 * fuzz_scan: arbitrary bytes as a saved `kubectl get ... -o json` file, through everything
 * `certcast scan` and `certcast explain` do with it: JSON parsing, decoding each item (every
 * kind, every annotation, status.certificate through OpenSSL), the store and its indexes, scoring
 * every certificate, the table, wide and JSON output, reading that JSON back as /status clients
 * do, and the explanation of the first certificates.
 *
 * What the API server hands certcast is checked by its schema, but a scan file is whatever the
 * user saved, and objects of CRDs with preserved unknown fields carry anything: no input may
 * crash, leak or trip a sanitizer. The time is fixed so a crash reproduces.
 */
#include "cc_err.h"
#include "explain_cmd.h"
#include "log.h"
#include "records.h"
#include "scan.h"
#include "status.h"
#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1798761600 /* 2027-01-01T00:00:00Z */
#define FZ_EXPLAIN_MAX 4  /* explanations per input: each scores once more */

static FILE *fz_null;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_null == NULL) {
		if ((fz_null = fopen("/dev/null", "w")) == NULL)
			abort();
		/* warnings about the input are expected by the thousand: written, then dropped */
		log_set_fd(fileno(fz_null));
	}
	/* scan_load wants the text NUL-terminated at text[len], as scan_slurp leaves it */
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct store *st = store_new();
	struct scan_stats ss;
	if (scan_load(st, text, size, "fuzz input", fz_null, &ss) == CC_OK) {
		struct status_rows rows = {NULL, 0};
		status_rows_build(st, "", &rows);
		status_rows_score(st, &rows, FZ_NOW, NULL);
		status_print_table(fz_null, &rows, 0, FZ_NOW);
		status_print_table(fz_null, &rows, 1, FZ_NOW);
		char *json = status_json_text(&rows);
		if (json != NULL) {
			struct status_rows back = {NULL, 0};
			char err[256];
			/* what the controller serves must read back: a failure here is a bug */
			if (status_rows_from_json(json, strlen(json), &back, err, sizeof err) != CC_OK) {
				fprintf(stderr, "fuzz_scan: /status JSON does not read back: %s\n", err);
				abort();
			}
			status_rows_free(&back);
			free(json);
		}
		for (size_t i = 0; i < rows.sr_n && i < FZ_EXPLAIN_MAX; i++)
			(void)xp_print(st, rows.sr_rows[i].sr_ns, rows.sr_rows[i].sr_name, FZ_NOW,
			    fz_null, fz_null);
		(void)status_exit_code(&rows);
		status_rows_free(&rows);
	}
	store_free(st);
	free(text);
	return 0;
}
