/*
 * Tests for the ledger of learned outcomes and the model's checkpoint: round trips, every cut
 * of a valid file, thousands of damaged copies (each refused with a message, or loaded), the
 * wrong version, and the file on disk (atomic write, missing file, damaged file kept aside).
 */
#include "buf.h"
#include "cc_err.h"
#include "learn.h"
#include "ledger.h"
#include "log.h"
#include "model.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <pthread.h>

static void
quiet(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
}

TestSuite(model, .init = quiet);

static void
feat(struct lm_features *f, double rate, double fails)
{
	memset(f, 0, sizeof *f);
	f->f_issuer_fail_rate = rate;
	f->f_failed_attempts = fails;
	f->f_class = fails > 0 ? LM_CLASS_DNS : LM_CLASS_NONE;
	f->f_acme_429_rate = NAN;
	f->f_http_5xx_rate = NAN;
	f->f_latency_s = NAN;
	f->f_pod_restarts_1h = NAN;
	f->f_hours_since_failure = fails > 0 ? 2.0 : NAN;
	f->f_lifetime_days = 90;
	f->f_prior = NAN;
}

/* A model that learned n outcomes, ids "uid-0".. at times 1000.., every third one failed. */
static struct mdl *
trained(size_t n, size_t ledger_max)
{
	struct mdl *m = mdl_new(ledger_max);
	for (size_t i = 0; i < n; i++) {
		struct lm_features f;
		char id[32];
		snprintf(id, sizeof id, "uid-%zu", i);
		feat(&f, i % 3 == 0 ? 0.4 : 0.05, (double)(i % 3 == 0));
		cr_assert_eq(mdl_learn(m, id, 1000 + (int64_t)i, &f, i % 3 == 0), 1);
	}
	return m;
}

static char *
encoded(struct mdl *m, size_t *len)
{
	struct buf b;
	buf_init(&b, MDL_FILE_MAX);
	cr_assert_eq(mdl_encode(m, &b), CC_OK);
	*len = b.b_len;
	return buf_detach(&b);
}

Test(model, ledger_learns_each_id_once)
{
	struct ldg *l = ldg_new(16);
	cr_expect_eq(ldg_has(l, "a", 10), 0);
	cr_expect_eq(ldg_add(l, "a", 10), 1);
	cr_expect_eq(ldg_add(l, "a", 10), 0, "a second time is not new");
	cr_expect_eq(ldg_has(l, "a", 10), 1);
	cr_expect_eq(ldg_has(l, "b", 10), 0);
	cr_expect_eq(ldg_floor(l), INT64_MIN);
	ldg_free(l);
}

/* Full: the oldest quarter goes under the floor and still counts as learned; newer ids stay. */
Test(model, ledger_bound_raises_the_floor)
{
	struct ldg *l = ldg_new(16);
	char id[16];
	for (int i = 0; i < 16; i++) {
		snprintf(id, sizeof id, "r%d", i);
		cr_assert_eq(ldg_add(l, id, 100 + i), 1);
	}
	cr_expect_eq(ldg_count(l), 16);
	cr_assert_eq(ldg_add(l, "new", 500), 1);
	cr_expect_eq(ldg_count(l), 13, "a quarter dropped, one added: %zu", ldg_count(l));
	cr_expect_eq(ldg_floor(l), 103);
	for (int i = 0; i < 16; i++) {
		snprintf(id, sizeof id, "r%d", i);
		cr_expect_eq(ldg_has(l, id, 100 + i), 1, "%s still learned", id);
		cr_expect_eq(ldg_add(l, id, 100 + i), 0, "%s not learned twice", id);
	}
	cr_expect_eq(ldg_has(l, "never-seen-old", 90), 1, "at or below the floor counts as learned");
	cr_expect_eq(ldg_has(l, "never-seen-new", 600), 0);
	ldg_free(l);
}

Test(model, ledger_text_round_trip)
{
	struct ldg *l = ldg_new(16), *r = ldg_new(16);
	char id[16];
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof id, "r%d", i);
		ldg_add(l, id, 100 + i);
	}
	struct buf b;
	buf_init(&b, 1 << 20);
	cr_assert_eq(ldg_format(l, &b), CC_OK);
	char err[128] = "";
	cr_assert_eq(ldg_parse(r, b.b_data, b.b_len, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(ldg_count(r), ldg_count(l));
	cr_expect_eq(ldg_floor(r), ldg_floor(l));
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof id, "r%d", i);
		cr_expect_eq(ldg_has(r, id, 100 + i), 1);
	}
	/* a ledger too small for the text refuses it and stays as it was */
	struct ldg *tiny = ldg_new(16);
	struct ldg *big = ldg_new(64);
	for (int i = 0; i < 40; i++) {
		snprintf(id, sizeof id, "r%d", i);
		ldg_add(big, id, 100 + i);
	}
	buf_reset(&b);
	cr_assert_eq(ldg_format(big, &b), CC_OK);
	cr_expect_eq(ldg_parse(tiny, b.b_data, b.b_len, err, sizeof err), CC_ERR_PARSE);
	cr_expect(strstr(err, "more entries") != NULL, "%s", err);
	cr_expect_eq(ldg_count(tiny), 0);
	buf_free(&b);
	ldg_free(l);
	ldg_free(r);
	ldg_free(tiny);
	ldg_free(big);
}

Test(model, learns_each_outcome_once)
{
	struct mdl *m = trained(30, 0);
	struct lm_features f;
	feat(&f, 0.05, 0);
	for (int i = 0; i < 30; i++) {
		char id[32];
		snprintf(id, sizeof id, "uid-%d", i);
		cr_expect_eq(mdl_learn(m, id, 1000 + i, &f, 0), 0, "%s again", id);
		cr_expect_eq(mdl_is_learned(m, id, 1000 + i), 1);
	}
	struct lm_calibration cal;
	uint64_t nf, ns;
	mdl_calibration(m, &cal, &nf, &ns);
	cr_expect_eq(cal.cal_n, 30.0);
	cr_expect_eq(nf, 10);
	cr_expect_eq(ns, 20);
	cr_expect_eq(mdl_unsaved(m), 30);
	mdl_free(m);
}

/* Encode, decode into a fresh model: the same text, predictions and ledger. */
Test(model, checkpoint_round_trip)
{
	struct mdl *m = trained(50, 0), *r = mdl_new(0);
	size_t len, len2;
	char *text = encoded(m, &len);
	char err[256] = "";
	cr_assert_eq(mdl_decode(r, text, len, err, sizeof err), CC_OK, "%s", err);
	char *again = encoded(r, &len2);
	cr_expect_eq(len, len2);
	cr_expect(memcmp(text, again, len) == 0, "re-encoding gives the same bytes");
	struct lm_model a, b;
	mdl_snapshot(m, &a);
	mdl_snapshot(r, &b);
	struct lm_features f;
	feat(&f, 0.3, 2);
	cr_expect_eq(lm_predict(&a, &f, NULL), lm_predict(&b, &f, NULL), "identical prediction");
	cr_expect_eq(mdl_is_learned(r, "uid-7", 1007), 1, "the ledger came along");
	cr_expect_eq(mdl_is_learned(r, "uid-99", 1099), 0);
	cr_expect_eq(mdl_unsaved(r), 0, "a loaded model has nothing new to write");
	free(text);
	free(again);
	mdl_free(m);
	mdl_free(r);
}

/* The model's encoding, to see that a refused input left it alone. */
static int
same_state(struct mdl *m, const char *want, size_t wlen)
{
	size_t len;
	char *t = encoded(m, &len);
	int same = len == wlen && memcmp(t, want, len) == 0;
	free(t);
	return same;
}

/* Every prefix of a valid checkpoint is refused with a message, and the target is unchanged. */
Test(model, every_truncation_is_refused)
{
	struct mdl *m = trained(40, 0), *target = trained(3, 0);
	size_t len, tlen;
	char *text = encoded(m, &len);
	char *before = encoded(target, &tlen);
	for (size_t cut = 0; cut < len; cut++) {
		char err[256] = "";
		char *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any read past the end */
		memcpy(copy, text, cut);
		int rc = mdl_decode(target, copy, cut, err, sizeof err);
		free(copy);
		cr_assert_eq(rc, CC_ERR_PARSE, "cut at %zu of %zu accepted", cut, len);
		cr_assert(err[0] != '\0', "cut at %zu: no message", cut);
	}
	cr_expect(same_state(target, before, tlen), "refused inputs changed nothing");
	free(text);
	free(before);
	mdl_free(m);
	mdl_free(target);
}

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Put a correct checksum line back, so that damage reaches the section parsers. */
static void
reseal(char *t, size_t len)
{
	if (len < 25)
		return;
	uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 offset basis */
	for (size_t i = 0; i < len - 25; i++) {
		h ^= (unsigned char)t[i];
		h *= 1099511628211ULL;
	}
	char line[32];
	snprintf(line, sizeof line, "fnv1a64 %016llx\n", (unsigned long long)h);
	memcpy(t + len - 25, line, 25);
}

/*
 * 4000 damaged copies: one to four bytes changed; half of them with the checksum made right
 * again so that the model and ledger parsers see the damage. Each is refused with a message or
 * loaded; a refused one leaves the target as it was. Under ASan+UBSan this is the crash test.
 */
Test(model, random_damage_is_refused_or_loaded)
{
	struct mdl *m = trained(25, 0), *target = trained(2, 0);
	size_t len, tlen;
	char *text = encoded(m, &len);
	char *before = encoded(target, &tlen);
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t refused = 0, loaded = 0;
	for (int it = 0; it < 4000; it++) {
		char *copy = malloc(len);
		memcpy(copy, text, len);
		int nflip = 1 + (int)(rnd(&seed) % 4);
		for (int k = 0; k < nflip; k++) {
			size_t at = rnd(&seed) % len;
			uint64_t how = rnd(&seed) % 4;
			/* digits, separators and line ends break parsers in the most interesting ways */
			static const char pick[] = "0123456789abcdef -.\nxp+";
			copy[at] = how == 0 ? (char)(rnd(&seed) & 0xff)
			    : (char)pick[rnd(&seed) % (sizeof pick - 1)];
		}
		if (it % 2)
			reseal(copy, len);
		char err[256] = "";
		int rc = mdl_decode(target, copy, len, err, sizeof err);
		free(copy);
		if (rc == CC_OK) {
			loaded++;
			/* put the target back for the next round */
			char e2[256];
			cr_assert_eq(mdl_decode(target, before, tlen, e2, sizeof e2), CC_OK);
		} else {
			cr_assert_eq(rc, CC_ERR_PARSE, "round %d: rc %d", it, rc);
			cr_assert(err[0] != '\0', "round %d: refused without a message", it);
			refused++;
		}
	}
	cr_expect(same_state(target, before, tlen));
	cr_expect(refused > 3000, "most damage is caught (%zu refused, %zu loaded)", refused, loaded);
	free(text);
	free(before);
	mdl_free(m);
	mdl_free(target);
}

Test(model, other_version_is_named)
{
	struct mdl *m = trained(5, 0), *r = mdl_new(0);
	size_t len;
	char *text = encoded(m, &len);
	cr_assert(strncmp(text, "certcast-state 1\n", 17) == 0, "header: %.20s", text);
	text[15] = '7';
	char err[256] = "";
	cr_expect_eq(mdl_decode(r, text, len, err, sizeof err), CC_ERR_PARSE);
	cr_expect(strstr(err, "unsupported version 7") != NULL, "%s", err);
	cr_expect_eq(mdl_decode(r, "hello\n", 6, err, sizeof err), CC_ERR_PARSE);
	cr_expect(strstr(err, "not a certcast state file") != NULL, "%s", err);
	free(text);
	mdl_free(m);
	mdl_free(r);
}

/* The files in dir, to see that no temporary file is left behind. */
static int
files_in(const char *dir)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

Test(model, file_save_load_and_bad_files)
{
	char dir[] = "/tmp/certcast-model-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *path = NULL, *bad = NULL;
	cr_assert(asprintf(&path, "%s/state", dir) > 0);
	cr_assert(asprintf(&bad, "%s/state.bad", dir) > 0);
	char err[512] = "";

	struct mdl *r = mdl_new(0);
	cr_expect_eq(mdl_load(r, path, err, sizeof err), CC_ERR_NOTFOUND);
	cr_expect(strstr(err, path) != NULL, "%s", err);
	/* nothing learned: nothing to write */
	cr_expect_eq(mdl_checkpoint(r, path), CC_OK);
	cr_expect_eq(access(path, F_OK), -1);

	struct mdl *m = trained(12, 0);
	cr_assert_eq(mdl_save(m, path, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(mdl_unsaved(m), 0);
	cr_expect_eq(files_in(dir), 1, "only the state file: no temporary left");
	cr_assert_eq(mdl_load(r, path, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(mdl_is_learned(r, "uid-11", 1011), 1);

	/* a damaged file: refused with its path named, then kept aside by mdl_restore */
	FILE *fp = fopen(path, "r+");
	cr_assert_not_null(fp);
	fseek(fp, 40, SEEK_SET);
	fputc('#', fp);
	fclose(fp);
	struct mdl *f = mdl_new(0);
	cr_expect_eq(mdl_load(f, path, err, sizeof err), CC_ERR_PARSE);
	cr_expect(strncmp(err, path, strlen(path)) == 0 && strstr(err, "checksum") != NULL, "%s",
	    err);
	mdl_restore(f, path);
	cr_expect_eq(access(path, F_OK), -1, "moved away");
	cr_expect_eq(access(bad, F_OK), 0, "kept as state.bad");
	cr_expect_eq(mdl_is_learned(f, "uid-11", 1011), 0, "fresh");

	/* a folder where the file should be: an error, not a crash */
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_expect_eq(mdl_load(f, path, err, sizeof err), CC_ERR_IO);
	cr_expect(strstr(err, "not a regular file") != NULL, "%s", err);
	cr_expect_eq(mdl_save(m, path, err, sizeof err), CC_ERR_IO);
	cr_expect(strstr(err, path) != NULL, "%s", err);
	cr_expect_eq(files_in(dir), 2, "the failed write left no temporary file");
	rmdir(path);
	unlink(bad);
	rmdir(dir);
	free(path);
	free(bad);
	mdl_free(m);
	mdl_free(r);
	mdl_free(f);
}

struct racer {
	struct mdl *r_m;
	int r_learned;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct lm_features f;
	feat(&f, 0.05, 0);
	for (int i = 0; i < 2000; i++) {
		char id[32];
		snprintf(id, sizeof id, "shared-%d", i);
		r->r_learned += mdl_learn(r->r_m, id, 5000 + i, &f, i % 5 == 0);
	}
	return NULL;
}

/* Workers racing over the same requests: each outcome is learned by exactly one of them. */
Test(model, racing_workers_learn_each_outcome_once)
{
	struct mdl *m = mdl_new(0);
	pthread_t t[4];
	struct racer r[4];
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){m, 0};
		cr_assert_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	int total = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += r[i].r_learned;
	}
	struct lm_calibration cal;
	uint64_t nf, ns;
	mdl_calibration(m, &cal, &nf, &ns);
	cr_expect_eq(total, 2000, "learned %d times in all", total);
	cr_expect_eq(cal.cal_n, 2000.0);
	cr_expect_eq(nf, 400);
	cr_expect_eq(mdl_unsaved(m), 2000);
	mdl_free(m);
}
