/*
 * ledger: which CertificateRequest outcomes the learned model has been trained on, so that each
 * outcome is learned once: not again on a resync, and not again after a restart (the ledger is
 * part of the checkpoint).
 *
 * A request is remembered as a 64-bit FNV-1a hash of its id (the UID) with its outcome time. It
 * counts as learned when its hash is in the set, or when its outcome time is at or before the
 * floor. The set is bounded: when it is full, the oldest quarter (by outcome time) is dropped
 * and the floor rises to the newest time dropped. So the cost of the bound is that a request
 * which finished at or before the floor and was never learned (the cluster's oldest history at
 * a first start with more requests than the set holds) stays unlearned; nothing is learned
 * twice. Two of 65536 ids share a hash with probability about 2^-33; such a pair loses one
 * outcome, never counts one twice.
 *
 * Not thread-safe: the owner (model.c) serialises calls.
 */
#ifndef LEDGER_H
#define LEDGER_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

struct ldg;

/* A ledger holding at most max ids (at least 16; smaller values are raised). */
struct ldg *ldg_new(size_t max);
void ldg_free(struct ldg *l);

/* 1 when the request id whose outcome came at time when was learned, else 0. */
int ldg_has(const struct ldg *l, const char *id, int64_t when);

/* Record id as learned. Returns 1 when it was new, 0 when it was already learned. */
int ldg_add(struct ldg *l, const char *id, int64_t when);

/* Ids held, and the floor (INT64_MIN while nothing was ever dropped). */
size_t ldg_count(const struct ldg *l);
int64_t ldg_floor(const struct ldg *l);

/*
 * Append the ledger as text: "floor T", "entries N", then N lines "HASH16 T". Returns CC_OK or
 * CC_ERR_TOOBIG (out's limit).
 */
int ldg_format(const struct ldg *l, struct buf *out);

/*
 * Replace l's contents with the text ldg_format wrote, text[0..len). On any problem returns
 * CC_ERR_PARSE with "line N: what" in err (size errsz) and leaves l unchanged. More entries than
 * l holds is an error too: the file came from a larger ledger.
 */
int ldg_parse(struct ldg *l, const char *text, size_t len, char *err, size_t errsz);

#endif
