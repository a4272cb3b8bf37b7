/*
 * promtext: a parser for the Prometheus text exposition format (version 0.0.4), the format
 * cert-manager's controller serves on :9402/metrics.
 *
 * What it takes, line by line:
 *   - "# HELP name text" (text may use the escapes \\ and \n) and "# TYPE name type" (counter,
 *     gauge, histogram, summary or untyped; one TYPE per name); any other "#" line is a comment;
 *   - samples: name [{label="value",...}] value [timestamp], separated by spaces or tabs, where
 *     a label value may use the escapes \\, \" and \n, a trailing comma in the label set is
 *     allowed, the value is a float (NaN, +Inf and -Inf included) and the timestamp is an
 *     integer of milliseconds;
 *   - empty lines, and a carriage return before the newline.
 *
 * A line that does not fit is an error naming its line and column ("line 7 column 12: ...");
 * it is skipped and the lines after it are still parsed, so one bad series loses only itself.
 * Samples are handed to a callback as they are read: nothing of the whole exposition is kept.
 *
 * Pure and reentrant: no globals, no I/O.
 */
#ifndef PROMTEXT_H
#define PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

#define PT_MAX_LABELS 64   /* labels on one sample; more is an error */
#define PT_ERR_MAX 200     /* bytes of the first error message kept */
#define PT_LINE_MAX (1u << 20) /* a longer line is an error, not a 2x scratch allocation */

enum pt_type { PT_UNTYPED = 0, PT_COUNTER, PT_GAUGE, PT_HISTOGRAM, PT_SUMMARY };

/* One label of a sample, unescaped. Borrowed: valid only during the callback. */
struct pt_label {
	const char *l_name;
	const char *l_value;
};

/* One sample. Everything it points to is valid only during the callback. */
struct pt_sample {
	const char *s_name;              /* metric name as written, e.g. "x_sum" */
	const struct pt_label *s_labels; /* in the order written */
	size_t s_nlabels;
	double s_value;                  /* may be NaN or +/-Inf */
	int s_has_ts;                    /* a timestamp was given */
	int64_t s_ts_ms;                 /* ... in milliseconds since the epoch */
	enum pt_type s_type;             /* from the TYPE line of its family; UNTYPED if none */
	size_t s_line;                   /* 1-based line number */
};

typedef void (*pt_sample_fn)(void *arg, const struct pt_sample *s);

/* What one parse saw. */
struct pt_result {
	size_t pr_lines;                 /* lines read */
	size_t pr_samples;               /* samples handed to the callback */
	size_t pr_errors;                /* lines refused */
	char pr_first_error[PT_ERR_MAX]; /* "line L column C: what" of the first one, or "" */
};

/*
 * Parse len bytes of text (need not be NUL-terminated; a NUL byte inside is an error on its
 * line), calling fn (may be NULL) for every well-formed sample. out may be NULL. Returns CC_OK
 * when every line was well formed, else CC_ERR_PARSE (the good lines were still delivered).
 */
int pt_parse(const char *text, size_t len, pt_sample_fn fn, void *arg, struct pt_result *out);

/* The value of label name on s, or NULL. */
const char *pt_label(const struct pt_sample *s, const char *name);

/* "counter", "gauge", ... */
const char *pt_type_name(enum pt_type t);

#endif
