/*
 * fuzz_model: arbitrary bytes as the learned model's checkpoint (stateFile, `explain
 * --state-file`): mdl_decode with its version, checksum and section checks, lm_deserialize of the
 * model section and ldg_parse of the ledger section; then what the controller does with a
 * loaded checkpoint: predict, learn, and write it again.
 *
 * Both sections are behind checksums (FNV-1a over the file, SHA-256 over the model), which
 * mutated bytes almost never satisfy. So the first byte of the input picks a mode:
 *   '0' (mod 4 == 0)  the rest is a whole state file, as read from disk;
 *   '1'               the rest is a model section alone, for lm_deserialize;
 *   '2', '3'          the rest is "MODEL\n%%\nLEDGER": the harness seals it (SHA-256 line after
 *                     the model, the section headers, the FNV-1a line), so that every mutation
 *                     reaches the parsers behind the checksums.
 * A checkpoint that loads must keep working: its predictions are probabilities, it encodes
 * to text that decodes to the same model (mdl_encode, mdl_decode, byte for byte), and after
 * learning two outcomes it still encodes to a checkpoint that loads, as the controller's next
 * checkpoint must. The first loads of each process also go through mdl_save and mdl_load in a
 * private folder (each save fsyncs, so not every run).
 */
#include "buf.h"
#include "cc_err.h"
#include "hash.h"
#include "learn.h"
#include "model.h"
#include "scoring.h"
#include "scratch.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_LEDGER 64          /* small, so that learning fills it and it drops its oldest */
#define FZ_WHEN 1798761600    /* 2027-01-01T00:00:00Z: when the outcomes learned here ended */
#define FZ_FILE_ROUNDS 32     /* loads per process that also go through a file */
#define FZ_SPLIT "\n%%\n"
#define FZ_BUFMAX (MDL_FILE_MAX)

static char fz_dir[4096];
static char fz_path[4200];
static unsigned fz_file_rounds;

static void
fz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_model: %s: %s\n", what, detail);
	abort();
}

static void
fz_cleanup(void)
{
	unlink(fz_path);
	rmdir(fz_dir);
}

static void
fz_init(void)
{
	if (scratch_dir("fuzz-model", fz_dir, sizeof fz_dir) != 0)
		fz_fail("mkdtemp", fz_dir);
	snprintf(fz_path, sizeof fz_path, "%s/model.state", fz_dir);
	atexit(fz_cleanup);
}

/* Inputs of one attempt: an ordinary one, and one at the edges of every range. */
static void
fz_features(int which, struct lm_features *f)
{
	memset(f, 0, sizeof *f);
	if (which == 0) {
		f->f_issuer_fail_rate = 0.1;
		f->f_failed_attempts = 2;
		f->f_class = LM_CLASS_DNS;
		f->f_acme_429_rate = 0;
		f->f_http_5xx_rate = 0.05;
		f->f_latency_s = 12;
		f->f_pod_restarts_1h = 0;
		f->f_hours_since_failure = 3;
		f->f_lifetime_days = 90;
		f->f_prior = 0.2;
	} else {
		f->f_issuer_fail_rate = 1;
		f->f_failed_attempts = 1e9;
		f->f_class = LM_CLASS_UNKNOWN;
		f->f_issuer_not_ready = 1;
		f->f_acme_429_rate = 1;
		f->f_http_5xx_rate = NAN;
		f->f_latency_s = 1e6;
		f->f_pod_restarts_1h = 50;
		f->f_hours_since_failure = NAN;
		f->f_lifetime_days = 1;
		f->f_prior = NAN;
	}
}

static void
fz_predict_ok(const struct lm_model *lm, const char *when)
{
	for (int i = 0; i < 2; i++) {
		struct lm_features f;
		struct lm_prediction pr;
		fz_features(i, &f);
		double p = lm_predict(lm, &f, &pr);
		if (!(p >= 0 && p <= 1) || !(pr.p_model >= 0 && pr.p_model <= 1))
			fz_fail("lm_predict is not a probability", when);
	}
}

static void
fz_encode(struct mdl *m, struct buf *out, const char *when)
{
	if (mdl_encode(m, out) != CC_OK)
		fz_fail("mdl_encode", when);
}

/* text must decode into a fresh model; out (may be NULL) gets that model encoded again. */
static void
fz_reload(const struct buf *text, struct buf *out, const char *when)
{
	char err[512] = "";
	struct mdl *m = mdl_new(FZ_LEDGER);
	if (mdl_decode(m, text->b_data, text->b_len, err, sizeof err) != CC_OK) {
		fprintf(stderr, "%s\n", text->b_data);
		fz_fail(when, err);
	}
	if (out)
		fz_encode(m, out, when);
	mdl_free(m);
}

static int
fz_bufeq(const struct buf *a, const struct buf *b)
{
	return a->b_len == b->b_len && memcmp(a->b_data, b->b_data, a->b_len) == 0;
}

/* A model section that loaded: written again, it reads back to the same text. */
static void
fz_lm_round_trip(const struct lm_model *lm)
{
	size_t need = 0;
	char err[256] = "";
	(void)lm_serialize(lm, NULL, 0, &need);
	char *a = malloc(need + 1), *b = malloc(need + 1);
	if (a == NULL || b == NULL)
		abort();
	struct lm_model back;
	if (lm_serialize(lm, a, need + 1, NULL) != SC_OK)
		fz_fail("lm_serialize", "with the size it asked for");
	if (lm_deserialize(&back, a, need, err, sizeof err) != SC_OK) {
		fprintf(stderr, "%s\n", a);
		fz_fail("a loaded model written again does not load", err);
	}
	if (lm_serialize(&back, b, need + 1, NULL) != SC_OK || strcmp(a, b) != 0)
		fz_fail("a loaded model written twice differs", "");
	free(a);
	free(b);
}

/* What the controller does with a checkpoint that loaded into m. */
static void
fz_loaded(struct mdl *m)
{
	struct lm_model lm;
	struct buf e1, e2, e3;
	buf_init(&e1, FZ_BUFMAX);
	buf_init(&e2, FZ_BUFMAX);
	buf_init(&e3, FZ_BUFMAX);

	mdl_snapshot(m, &lm);
	fz_predict_ok(&lm, "after loading");
	fz_lm_round_trip(&lm);
	fz_encode(m, &e1, "after loading");
	fz_reload(&e1, &e2, "a loaded checkpoint encoded again does not load");
	if (!fz_bufeq(&e1, &e2))
		fz_fail("a loaded checkpoint encodes differently after a reload", "");

	/* the controller learns on, then writes the next checkpoint, which must load */
	for (int i = 0; i < 2; i++) {
		struct lm_features f;
		char id[32];
		fz_features(i, &f);
		snprintf(id, sizeof id, "fuzz-request-%d", i);
		(void)mdl_learn(m, id, FZ_WHEN + i, &f, i == 0);
	}
	mdl_snapshot(m, &lm);
	fz_predict_ok(&lm, "after learning");
	fz_encode(m, &e3, "after learning");
	fz_reload(&e3, NULL, "the checkpoint after learning does not load");

	if (fz_file_rounds < FZ_FILE_ROUNDS) {
		char err[512] = "";
		struct buf e4;
		fz_file_rounds++;
		if (mdl_save(m, fz_path, err, sizeof err) != CC_OK)
			fz_fail("mdl_save", err);
		struct mdl *m2 = mdl_new(FZ_LEDGER);
		if (mdl_load(m2, fz_path, err, sizeof err) != CC_OK)
			fz_fail("mdl_load of what mdl_save wrote", err);
		buf_init(&e4, FZ_BUFMAX);
		fz_encode(m2, &e4, "after mdl_load");
		if (!fz_bufeq(&e3, &e4))
			fz_fail("mdl_save then mdl_load changed the checkpoint", "");
		buf_free(&e4);
		mdl_free(m2);
	}
	buf_free(&e1);
	buf_free(&e2);
	buf_free(&e3);
}

/* "sha256 HEX\n" of p[0..n), as lm_serialize ends a model section. */
static void
fz_sha_line(const char *p, size_t n, struct buf *out)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		abort();
	(void)buf_append_str(out, "sha256 ");
	for (int i = 0; i < 32; i++)
		(void)buf_printf(out, "%02x", md[i]);
	(void)buf_append_str(out, "\n");
}

/* Seal "MODEL\n%%\nLEDGER" into a state file with valid checksums. */
static void
fz_seal(const char *p, size_t n, struct buf *model, struct buf *state)
{
	const char *cut = NULL;
	size_t sl = strlen(FZ_SPLIT);
	for (size_t i = 0; i + sl <= n && cut == NULL; i++)
		if (memcmp(p + i, FZ_SPLIT, sl) == 0)
			cut = p + i;
	size_t ml = cut ? (size_t)(cut - p) + 1 : n; /* the model keeps its last newline */
	const char *lt = cut ? cut + sl : p + n;
	size_t ll = (size_t)(p + n - lt);

	(void)buf_append(model, p, ml);
	if (ml == 0 || p[ml - 1] != '\n')
		(void)buf_append(model, "\n", 1);
	fz_sha_line(model->b_data, model->b_len, model);

	(void)buf_printf(state, "certcast-state %d\nmodel %zu\n", MDL_FORMAT_VERSION, model->b_len);
	(void)buf_append(state, model->b_data, model->b_len);
	(void)buf_printf(state, "ledger %zu\n", ll);
	(void)buf_append(state, lt, ll);
	uint64_t sum = hash_fnv1a(HASH_FNV_INIT, state->b_data, state->b_len);
	(void)buf_printf(state, "fnv1a64 %016llx\n", (unsigned long long)sum);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_dir[0] == '\0')
		fz_init();
	if (size == 0)
		return 0;
	int mode = data[0] % 4;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	char err[512] = "";
	struct buf model, state;
	buf_init(&model, FZ_BUFMAX);
	buf_init(&state, FZ_BUFMAX);

	if (mode == 1) {
		struct lm_model lm;
		if (lm_deserialize(&lm, p, n, err, sizeof err) == SC_OK) {
			fz_predict_ok(&lm, "after lm_deserialize");
			fz_lm_round_trip(&lm);
		} else if (err[0] == '\0') {
			fz_fail("lm_deserialize refused without a reason", "");
		}
		goto out;
	}
	if (mode >= 2) {
		fz_seal(p, n, &model, &state);
		struct lm_model lm;
		if (lm_deserialize(&lm, model.b_data, model.b_len, err, sizeof err) == SC_OK)
			fz_lm_round_trip(&lm);
		p = state.b_data;
		n = state.b_len;
	}
	struct mdl *m = mdl_new(FZ_LEDGER);
	struct buf before, after;
	buf_init(&before, FZ_BUFMAX);
	buf_init(&after, FZ_BUFMAX);
	fz_encode(m, &before, "a fresh model");
	if (mdl_decode(m, p, n, err, sizeof err) == CC_OK) {
		fz_loaded(m);
	} else {
		if (err[0] == '\0')
			fz_fail("mdl_decode refused without a reason", "");
		/* a refused file leaves the model as it was */
		fz_encode(m, &after, "after a refused file");
		if (!fz_bufeq(&before, &after))
			fz_fail("a refused checkpoint changed the model", err);
	}
	buf_free(&before);
	buf_free(&after);
	mdl_free(m);
out:
	buf_free(&model);
	buf_free(&state);
	return 0;
}
