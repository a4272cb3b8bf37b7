/*
 * model: the controller's one learned model (scoring/learn.h) shared by the reconcile workers,
 * with the ledger of the request outcomes it was trained on, and its checkpoint file.
 *
 * Training: mdl_learn(id, when, features, failed) updates the model once per request id; a
 * second call for the same id (a resync, a restart with the checkpoint loaded) does nothing.
 * Scoring: mdl_snapshot copies the model (a fixed-size value), so a worker scores with its own
 * copy and never holds the lock while scoring.
 *
 * Checkpoint: text, written whole to a temporary file in the target's folder, fsynced and
 * renamed over the target, so a crash leaves either the old or the new file:
 *
 *   certcast-state 1
 *   model BYTES            lm_serialize's text follows, BYTES long (its own sha256 inside)
 *   ledger BYTES           ldg_format's text follows, BYTES long
 *   fnv1a64 HEX16          FNV-1a 64 of every byte before this line
 *
 * A file that fails any check (version, checksum, sizes, either section) is refused whole: the
 * model stays as it was and the error says what is wrong.
 *
 * Thread-safe: one mutex guards the model and the ledger. Lock order: the store's lock may be
 * held when calling in; the model never calls out.
 */
#ifndef MODEL_H
#define MODEL_H

#include "buf.h"
#include "learn.h"

#include <stddef.h>
#include <stdint.h>

#define MDL_FORMAT_VERSION 1
#define MDL_FILE_MAX (16u << 20) /* far above a full ledger (about 2 MiB) */

struct mdl;

/* A fresh model (scoring's defaults) with an empty ledger of ledger_max ids (0: 65536). */
struct mdl *mdl_new(size_t ledger_max);
void mdl_free(struct mdl *m);

/* 1 when the outcome of request id, finished at time when, has been learned already. */
int mdl_is_learned(struct mdl *m, const char *id, int64_t when);

/*
 * Train on one outcome (failed != 0: the attempt failed) described by f as it stood when the
 * request was created, unless id was learned already. Returns 1 when learned now, else 0.
 */
int mdl_learn(struct mdl *m, const char *id, int64_t when, const struct lm_features *f,
    int failed);

/* Copy the model for scoring. */
void mdl_snapshot(struct mdl *m, struct lm_model *out);

/* Calibration so far, and the outcomes learned split into failures and successes. */
void mdl_calibration(struct mdl *m, struct lm_calibration *cal, uint64_t *failed,
    uint64_t *succeeded);

/* Outcomes learned since the last save or load (0: nothing to write). */
uint64_t mdl_unsaved(struct mdl *m);

/* Append the checkpoint text to out. CC_OK, or CC_ERR_TOOBIG at out's limit. */
int mdl_encode(struct mdl *m, struct buf *out);

/*
 * Replace the model and ledger with the checkpoint text[0..len). CC_OK, or CC_ERR_PARSE with
 * what is wrong in err (size errsz), m unchanged.
 */
int mdl_decode(struct mdl *m, const char *text, size_t len, char *err, size_t errsz);

/*
 * Write the checkpoint to path atomically (see above). CC_OK, or CC_ERR_IO / CC_ERR_TOOBIG with
 * "PATH: what" in err; the old file is then untouched.
 */
int mdl_save(struct mdl *m, const char *path, char *err, size_t errsz);

/*
 * Load the checkpoint at path. CC_OK; CC_ERR_NOTFOUND when there is no file (a first start);
 * CC_ERR_IO (unreadable), CC_ERR_TOOBIG (over MDL_FILE_MAX) or CC_ERR_PARSE (damaged, cut
 * short, another version). err gets "PATH: what". On any error m is unchanged.
 */
int mdl_load(struct mdl *m, const char *path, char *err, size_t errsz);

/*
 * Start-up: load the checkpoint at path into m and log what happened. No file is a first start
 * (info). A file that cannot be used is an error log naming the path and the problem; m stays
 * fresh, and a damaged file is renamed to PATH.bad (so the next write does not destroy what
 * someone may want to look at). Never fails.
 */
void mdl_restore(struct mdl *m, const char *path);

/*
 * Write the checkpoint to path if m learned anything since the last write or load. Logs a
 * failure (the controller carries on; the next call tries again). Returns CC_OK when nothing
 * needed writing or the write succeeded, else the error of mdl_save.
 */
int mdl_checkpoint(struct mdl *m, const char *path);

#endif
