/*
 * fuzz_remote: arbitrary bytes as a controller's answer to `certcast status --controller URL`:
 * status_rows_from_json on the body as received, then everything status_remote does with the
 * rows (status_print as table, wide and JSON, the exit code), and the promise of
 * status_rows_from_json that what status_print_json writes reads back and prints byte for byte
 * the same. (`explain --controller` prints the body it gets without reading it, and ctlget only
 * quotes the first line of an error body, so the status document is the one thing parsed.)
 *
 * The URL is whatever the user typed, possibly a port-forward to the wrong service or a proxy's
 * error page: no answer may crash the CLI. Time is fixed.
 */
#include "cc_err.h"
#include "status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1798761600 /* 2027-01-01T00:00:00Z */

static FILE *fz_null;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_null == NULL && (fz_null = fopen("/dev/null", "w")) == NULL)
		abort();
	struct status_rows rows;
	char err[512] = "";
	if (status_rows_from_json((const char *)data, size, &rows, err, sizeof err) != CC_OK) {
		if (err[0] == '\0' || rows.sr_n != 0 || rows.sr_rows != NULL)
			abort(); /* a refusal says why and leaves nothing */
		return 0;
	}
	int code = status_exit_code(&rows);
	if (code != 0 && code != 3)
		abort();
	if (status_print(&rows, STATUS_OUT_TABLE, "", FZ_NOW, fz_null, fz_null) != code ||
	    status_print(&rows, STATUS_OUT_WIDE, "shop", FZ_NOW, fz_null, fz_null) != code ||
	    status_print(&rows, STATUS_OUT_JSON, "", FZ_NOW, fz_null, fz_null) != code)
		abort();

	/* printed again, the rows read back and print the same */
	char *json = status_json_text(&rows);
	if (json == NULL)
		abort();
	struct status_rows back;
	if (status_rows_from_json(json, strlen(json), &back, err, sizeof err) != CC_OK) {
		fprintf(stderr, "fuzz_remote: printed rows do not read back: %s\n", err);
		abort();
	}
	char *again = status_json_text(&back);
	if (again == NULL || strcmp(json, again) != 0 || back.sr_n != rows.sr_n ||
	    status_exit_code(&back) != code) {
		fprintf(stderr, "fuzz_remote: rows print differently once read back\n--- first\n%s"
				"--- then\n%s", json, again ? again : "(null)\n");
		abort();
	}
	free(again);
	free(json);
	status_rows_free(&back);
	status_rows_free(&rows);
	return 0;
}
