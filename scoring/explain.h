/*
 * explain: turns a result into words. Factors (name, value, contribution to the risk, a
 * sentence) are collected while scoring; ex_ functions sort them, build the short "reasons"
 * string for the certcast.io/risk-reasons annotation and the multi-line text of
 * `certcast explain`. Output goes into caller buffers; text is always NUL-terminated and cut
 * at a factor boundary (reasons) or a line boundary (text) when space runs out.
 * Reentrant, no allocation.
 */
#ifndef EXPLAIN_H
#define EXPLAIN_H

#include <stddef.h>

#include "scoring.h"

/*
 * Appends a factor to r (dropped silently when r already holds SC_MAX_FACTORS). The sentence
 * is printf-formatted and cut to fit.
 */
void ex_add(struct sc_result *r, const char *name, double value, double contrib,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Sorts r's factors by |contribution|, largest first; ties keep insertion order. */
void ex_sort(struct sc_result *r);

/*
 * Writes the top factors' sentences separated by "; " into buf (len bytes): as many whole
 * factors as fit, at most 5, skipping factors whose |contribution| is below 1e-4 unless none
 * is above. Returns SC_OK, or SC_ERR_NOSPACE when a factor had to be left out.
 */
int ex_reasons(const struct sc_result *r, char *buf, size_t len);

/*
 * Writes the full explanation (risk, level, schedule, issuer estimate, every factor, the
 * decision, anomalies), one item per line, into buf. in may be NULL (names then omitted).
 * Returns SC_OK, or SC_ERR_NOSPACE when the text was cut.
 */
int ex_text(const struct sc_input *in, const struct sc_result *r, char *buf, size_t len);

/* Formats seconds as a Go-style duration ("240h", "1h30m", "5m", "45s") into buf. */
void ex_duration(int64_t secs, char *buf, size_t len);

/* Formats a Unix time as RFC 3339 UTC ("2026-03-15T00:00:00Z") into buf; 0 gives "none". */
void ex_time(int64_t t, char *buf, size_t len);

#endif
