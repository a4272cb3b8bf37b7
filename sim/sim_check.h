/*
 * sim_check: the expectations a scenario states about its own results.
 *
 * An expectation is one comparison, "LEFT OP RIGHT", with OP one of == != < <= > >= and each side
 * either a number, a metric path, or a number times a metric path ("1.10 * cert-manager.issuances").
 * A metric path is resolved in the JSON summary written by sim_report: the first segment is a
 * policy name (looked up under "policies") or "alerts"; the rest descend into objects, e.g.
 * "certcast.expired_hours", "cert-manager.expired_hours_by_class.47d", "alerts.recall".
 * A path that does not resolve to a number (absent policy, undefined metric such as recall with no
 * positives) makes the check fail with a reason; it is never silently passed. Pure and
 * thread-safe.
 */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Check the syntax only. Returns CC_OK, or CC_ERR_INVAL with the reason in why (n bytes). */
int sck_validate(const char *expr, char *why, size_t n);

/*
 * Evaluate expr against summary (borrowed). On CC_OK, *ok says whether the comparison holds and
 * *lhs and *rhs hold the two sides. CC_ERR_INVAL when the expression is malformed or a path does not
 * resolve to a number; why (n bytes) then says which.
 */
int sck_eval(const char *expr, const cJSON *summary, int *ok, double *lhs, double *rhs, char *why,
    size_t n);

#endif
