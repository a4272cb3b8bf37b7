/*
 * Tests of scoring/learn: the model learns a known relation, stays near its prior when fresh,
 * explains every prediction exactly, is calibrated and measured, and survives save/restore
 * while corrupt checkpoints are refused.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "learn.h"
#include "scoring.h"

/* A small deterministic generator, so that every run sees the same data. */
static uint64_t
tl_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double
tl_unif(uint64_t *s)
{
	return (double)(tl_next(s) >> 11) / 9007199254740992.0;
}

/* The relation to learn: issuer failure rate, Ready=False, config errors and 5xx raise risk. */
static double
tl_truth(const struct lm_features *f)
{
	double z = -3.0 + 4.0 * f->f_issuer_fail_rate + 2.0 * f->f_issuer_not_ready +
		   2.5 * (f->f_class == LM_CLASS_CONFIG) + 3.0 * f->f_http_5xx_rate;

	return 1 / (1 + exp(-z));
}

static void
tl_draw(uint64_t *s, struct lm_features *f)
{
	memset(f, 0, sizeof(*f));
	f->f_issuer_fail_rate = tl_unif(s) * tl_unif(s);
	f->f_issuer_not_ready = tl_unif(s) < 0.1;
	f->f_class = tl_unif(s) < 0.15 ? (enum lm_class)(1 + tl_next(s) % 6) : LM_CLASS_NONE;
	f->f_http_5xx_rate = tl_unif(s) < 0.2 ? tl_unif(s) : 0;
	f->f_acme_429_rate = tl_unif(s) < 0.1 ? tl_unif(s) : 0; /* noise: unrelated to outcome */
	f->f_latency_s = 0.2 + 3 * tl_unif(s);
	f->f_pod_restarts_1h = (double)(tl_next(s) % 3);
	f->f_hours_since_failure = tl_unif(s) < 0.5 ? -1 : 100 * tl_unif(s);
	f->f_lifetime_days = tl_unif(s) < 0.5 ? 90 : 45;
	f->f_failed_attempts = (double)(tl_next(s) % 4);
	f->f_prior = NAN;
}

static void
tl_train(struct lm_model *m, uint64_t *s, int n)
{
	struct lm_features f;
	int i;

	for (i = 0; i < n; i++) {
		tl_draw(s, &f);
		lm_update(m, &f, tl_unif(s) < tl_truth(&f));
	}
}

Test(learn, learns_known_relation)
{
	struct lm_model m;
	struct lm_features f;
	struct lm_calibration cal;
	uint64_t s = 42;
	double bm = 0, bb = 0, pos = 0, p;
	int i, n = 5000;

	lm_init(&m, NULL);
	tl_train(&m, &s, 20000);
	/* Held-out data: compare with the best constant forecast (the true base rate). */
	{
		uint64_t s2 = 7;
		double *ys = calloc((size_t)n, sizeof(*ys)), *ps = calloc((size_t)n, sizeof(*ps));

		for (i = 0; i < n; i++) {
			tl_draw(&s2, &f);
			ps[i] = lm_predict(&m, &f, NULL);
			ys[i] = tl_unif(&s2) < tl_truth(&f);
			pos += ys[i];
		}
		for (i = 0; i < n; i++) {
			bm += (ps[i] - ys[i]) * (ps[i] - ys[i]);
			bb += (pos / n - ys[i]) * (pos / n - ys[i]);
		}
		free(ys);
		free(ps);
	}
	bm /= n;
	bb /= n;
	cr_expect_lt(bm, bb * 0.9, "held-out Brier %.4f should beat base rate %.4f by 10%%", bm, bb);
	lm_calibration(&m, &cal);
	cr_expect_lt(cal.cal_brier, cal.cal_brier_base, "prequential Brier %.4f vs base %.4f",
		     cal.cal_brier, cal.cal_brier_base);
	cr_expect_gt(m.m_w[LM_F_ISSUER_FAIL_RATE], 0);
	cr_expect_gt(m.m_w[LM_F_ISSUER_NOT_READY], 0);
	cr_expect_gt(m.m_w[LM_F_CLASS_CONFIG], 0);
	cr_expect_gt(m.m_w[LM_F_HTTP_5XX_RATE], 0);
	p = fabs(m.m_w[LM_F_ACME_429_RATE]);
	cr_expect_lt(p, m.m_w[LM_F_ISSUER_FAIL_RATE] / 3, "noise weight %.3f too large", p);
}

/* Named profiles, ordered from safest to riskiest: each must predict more than the previous. */
Test(learn, profiles_are_ordered)
{
	static const struct {
		const char *name;
		double fail_rate;
		int not_ready;
		enum lm_class cls;
		double r5xx;
	} prof[] = {
		{ "healthy issuer", 0.0, 0, LM_CLASS_NONE, 0.0 },
		{ "some failures", 0.3, 0, LM_CLASS_NONE, 0.0 },
		{ "failing, 5xx", 0.5, 0, LM_CLASS_NONE, 0.6 },
		{ "config error", 0.5, 0, LM_CLASS_CONFIG, 0.6 },
		{ "issuer not ready", 0.8, 1, LM_CLASS_CONFIG, 0.9 },
	};
	struct lm_model m;
	struct lm_features f;
	uint64_t s = 1234;
	double prev = -1, p[5];
	size_t i, j;

	lm_init(&m, NULL);
	tl_train(&m, &s, 20000);
	for (i = 0; i < sizeof(prof) / sizeof(prof[0]); i++) {
		memset(&f, 0, sizeof(f));
		f.f_issuer_fail_rate = prof[i].fail_rate;
		f.f_issuer_not_ready = prof[i].not_ready;
		f.f_class = prof[i].cls;
		f.f_http_5xx_rate = prof[i].r5xx;
		f.f_latency_s = 1;
		f.f_lifetime_days = 90;
		f.f_hours_since_failure = -1;
		f.f_prior = NAN;
		p[i] = lm_predict(&m, &f, NULL);
		cr_expect_gt(p[i], prev, "%s: %.4f should exceed the previous %.4f", prof[i].name,
			     p[i], prev);
		prev = p[i];
	}
	/* ... and the other direction: no earlier profile is riskier than a later one. */
	for (i = 0; i < 5; i++)
		for (j = i + 1; j < 5; j++)
			cr_expect_not(p[i] >= p[j], "%s vs %s", prof[i].name, prof[j].name);
}

Test(learn, fresh_model_answers_the_prior)
{
	static const struct {
		const char *name;
		double base;
		double prior; /* NaN: none given */
		double want;
	} cases[] = {
		{ "default base rate", 0, NAN, 0.05 },
		{ "configured base rate", 0.2, NAN, 0.2 },
		{ "caller prior wins", 0.2, 0.6, 0.6 },
		{ "prior out of range is ignored", 0.1, 1.5, 0.1 },
	};
	struct lm_model m;
	struct lm_config c;
	struct lm_features f;
	struct lm_prediction pr;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lm_config_default(&c);
		c.c_base_rate = cases[i].base;
		lm_init(&m, &c);
		memset(&f, 0, sizeof(f));
		f.f_issuer_fail_rate = 0.9;
		f.f_issuer_not_ready = 1;
		f.f_prior = cases[i].prior;
		lm_predict(&m, &f, &pr);
		cr_expect_float_eq(pr.p_prob, cases[i].want, 1e-9, "%s: %.6f", cases[i].name, pr.p_prob);
		cr_expect_eq(pr.p_weight, 0.0, "%s", cases[i].name);
	}
}

Test(learn, evidence_shifts_weight_from_prior_to_model)
{
	struct lm_model m;
	struct lm_features f;
	struct lm_prediction pr;
	uint64_t s = 9;
	double w0, w1, w2;

	lm_init(&m, NULL);
	tl_draw(&s, &f);
	lm_predict(&m, &f, &pr);
	w0 = pr.p_weight;
	tl_train(&m, &s, 50);
	lm_predict(&m, &f, &pr);
	w1 = pr.p_weight;
	tl_train(&m, &s, 950);
	lm_predict(&m, &f, &pr);
	w2 = pr.p_weight;
	cr_expect_float_eq(w1, 0.5, 1e-9, "n_eff = strength gives an even blend, got %f", w1);
	cr_expect_lt(w0, w1);
	cr_expect_lt(w1, w2);
	cr_expect_not(w2 <= w1);
	cr_expect_gt(w2, 0.95);
	cr_expect_float_eq(lm_n_eff(&m), 1000.0, 1e-9);
}

Test(learn, forgetting_bounds_effective_sample_size)
{
	struct lm_model m;
	struct lm_config c;
	uint64_t s = 3;

	lm_config_default(&c);
	c.c_forget = 0.01;
	lm_init(&m, &c);
	tl_train(&m, &s, 3000);
	cr_expect_lt(lm_n_eff(&m), 100.0 + 1e-9);
	cr_expect_gt(lm_n_eff(&m), 99.0);
}

Test(learn, contributions_sum_to_the_logit)
{
	struct lm_model m;
	struct lm_features f;
	struct lm_prediction pr;
	uint64_t s = 77;
	double z;
	int i, k;

	lm_init(&m, NULL);
	tl_train(&m, &s, 300);
	for (k = 0; k < 200; k++) {
		tl_draw(&s, &f);
		if (k % 3 == 0)
			f.f_prior = tl_unif(&s);
		lm_predict(&m, &f, &pr);
		z = pr.p_base;
		for (i = 0; i < LM_F_COUNT; i++)
			z += pr.p_contrib[i];
		cr_assert_float_eq(1 / (1 + exp(-z)), pr.p_prob, 1e-12, "case %d", k);
		cr_assert(pr.p_prob > 0 && pr.p_prob < 1);
	}
}

Test(learn, unknown_inputs_contribute_nothing)
{
	struct lm_model m;
	struct lm_features f;
	struct lm_prediction pr;
	uint64_t s = 5;

	lm_init(&m, NULL);
	tl_train(&m, &s, 2000);
	tl_draw(&s, &f);
	f.f_issuer_fail_rate = NAN;
	f.f_latency_s = INFINITY;
	f.f_lifetime_days = -INFINITY;
	lm_predict(&m, &f, &pr);
	cr_expect_eq(pr.p_contrib[LM_F_ISSUER_FAIL_RATE], 0.0);
	cr_expect_eq(pr.p_contrib[LM_F_LATENCY], 0.0);
	cr_expect_eq(pr.p_contrib[LM_F_LIFETIME], 0.0);
	cr_expect(isfinite(pr.p_prob));
	lm_update(&m, &f, 1);
	cr_expect(isfinite(m.m_bias));
	cr_expect(isfinite(m.m_mean[LM_F_LATENCY]));
}

Test(learn, calibration_table_adds_up)
{
	struct lm_model m;
	struct lm_calibration cal;
	uint64_t s = 11;
	double n = 0, obs = 0, sp = 0, mean;
	int i;

	lm_init(&m, NULL);
	tl_train(&m, &s, 4000);
	lm_calibration(&m, &cal);
	cr_expect_eq(cal.cal_n, 4000.0);
	/* Measure the trained model alone, without the warm-up towards the data's base rate. */
	lm_calibration_reset(&m);
	lm_calibration(&m, &cal);
	cr_expect_eq(cal.cal_n, 0.0);
	cr_expect_eq(cal.cal_bins[3].b_count, 0.0);
	tl_train(&m, &s, 4000);
	lm_calibration(&m, &cal);
	cr_expect_eq(cal.cal_n, 4000.0);
	for (i = 0; i < LM_CAL_BINS; i++) {
		n += cal.cal_bins[i].b_count;
		obs += cal.cal_bins[i].b_sum_obs;
		sp += cal.cal_bins[i].b_sum_pred;
		if (cal.cal_bins[i].b_count > 0) {
			mean = cal.cal_bins[i].b_sum_pred / cal.cal_bins[i].b_count;
			cr_expect(mean >= i / 10.0 && mean < (i + 1) / 10.0, "bin %d mean %f", i, mean);
			cr_expect_leq(cal.cal_bins[i].b_sum_obs, cal.cal_bins[i].b_count);
		}
	}
	cr_expect_eq(n, cal.cal_n);
	cr_expect_float_eq(obs / n, cal.cal_base_rate, 1e-12);
	/* Well calibrated overall: mean prediction near the observed rate. */
	cr_expect_float_eq(sp / n, cal.cal_base_rate, 0.02, "mean pred %f vs rate %f", sp / n,
			   cal.cal_base_rate);
	cr_expect_gt(cal.cal_logloss, 0);
	cr_expect_gt(cal.cal_brier, 0);
}

Test(learn, save_restore_is_identical)
{
	struct lm_model m, r;
	struct lm_features f;
	uint64_t s = 21, s2;
	char *buf, *buf2;
	size_t need = 0, need2 = 0;
	char err[128] = "";
	int k;

	lm_init(&m, NULL);
	tl_train(&m, &s, 3000);
	cr_assert_eq(lm_serialize(&m, NULL, 0, &need), SC_ERR_NOSPACE);
	cr_assert_gt(need, 100);
	buf = malloc(need + 1);
	cr_assert_eq(lm_serialize(&m, buf, need + 1, &need2), 0);
	cr_assert_eq(need2, need);
	cr_assert_eq(strlen(buf), need);
	lm_init(&r, NULL);
	cr_assert_eq(lm_deserialize(&r, buf, need, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(memcmp(&m, &r, sizeof(m)), 0, "restored state differs");
	s2 = 99;
	for (k = 0; k < 500; k++) {
		tl_draw(&s2, &f);
		cr_assert_eq(lm_predict(&m, &f, NULL), lm_predict(&r, &f, NULL), "case %d", k);
	}
	/* Learning continues identically after a restart. */
	s2 = s;
	tl_train(&m, &s, 500);
	tl_train(&r, &s2, 500);
	free(buf);
	buf = malloc(2 * need);
	buf2 = malloc(2 * need);
	cr_assert_eq(lm_serialize(&m, buf, 2 * need, NULL), SC_OK);
	cr_assert_eq(lm_serialize(&r, buf2, 2 * need, NULL), SC_OK);
	cr_expect_str_eq(buf, buf2);
	free(buf);
	free(buf2);
}

static char *
tl_saved(size_t *len)
{
	struct lm_model m;
	uint64_t s = 8;
	size_t need = 0;
	char *buf;

	lm_init(&m, NULL);
	tl_train(&m, &s, 200);
	lm_serialize(&m, NULL, 0, &need);
	buf = malloc(need + 1);
	cr_assert_eq(lm_serialize(&m, buf, need + 1, NULL), 0);
	*len = need;
	return buf;
}

/* Replaces the checksum line so that a deliberately edited body passes the checksum. */
static void
tl_reseal(char *buf, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0, i;
	size_t body = len - 72;

	cr_assert_eq(EVP_Digest(buf, body, md, &mdlen, EVP_sha256(), NULL), 1);
	for (i = 0; i < 32; i++)
		snprintf(buf + body + 7 + 2 * i, 3, "%02x", md[i]);
	buf[len - 1] = '\n';
}

static int
tl_load(const char *buf, size_t len, char *err, size_t errlen)
{
	struct lm_model m, before;
	int rc;

	lm_init(&m, NULL);
	before = m;
	err[0] = '\0';
	rc = lm_deserialize(&m, buf, len, err, errlen);
	if (rc == SC_OK)
		return rc;
	cr_expect_eq(memcmp(&m, &before, sizeof(m)), 0, "a failed load changed the model");
	return rc;
}

Test(learn, truncated_checkpoint_rejected_at_every_length)
{
	size_t len, cut;
	char *buf = tl_saved(&len), err[160];

	for (cut = 0; cut < len; cut++) {
		char *copy = malloc(cut + 1);

		memcpy(copy, buf, cut);
		cr_assert_eq(tl_load(copy, cut, err, sizeof(err)), SC_ERR_PARSE, "accepted a %zu/%zu prefix", cut,
			     len);
		cr_assert_neq(err[0], '\0', "no message at %zu", cut);
		free(copy);
	}
	cr_expect_eq(tl_load(buf, len, err, sizeof(err)), 0, "%s", err);
	free(buf);
}

Test(learn, corrupt_checkpoints_rejected_with_reason)
{
	static const struct {
		const char *name;
		const char *from; /* edit: first occurrence of from becomes to */
		const char *to;
		int reseal;       /* recompute the checksum after the edit */
		const char *why;  /* expected in the message */
	} cases[] = {
		{ "edited weight", "feature latency ", "feature latency 1", 0, "checksum" },
		{ "wrong version", "certcast-lm 1", "certcast-lm 2", 0, "version" },
		{ "wrong version sealed", "certcast-lm 1", "certcast-lm 9", 1, "version" },
		{ "bad magic", "certcast-lm", "certcast-xx", 0, "not a certcast model" },
		{ "unknown feature", "feature latency", "feature latenzy", 1, "malformed" },
		{ "duplicate bin", "bin 3 ", "bin 2 ", 1, "malformed" },
		{ "missing line", "bias ", "#ias ", 1, "malformed" },
		{ "non-finite value", "count 0x", "count nan", 1, "malformed" },
		{ "bad base rate", "config 0x", "config -0x", 1, "malformed" },
	};
	size_t len, i;
	char *orig = tl_saved(&len), err[160];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t fl = strlen(cases[i].from), tl = strlen(cases[i].to), nl;
		char *at = strstr(orig, cases[i].from), *buf;

		cr_assert_not_null(at, "%s: pattern missing", cases[i].name);
		nl = len - fl + tl;
		buf = malloc(nl + 1);
		memcpy(buf, orig, (size_t)(at - orig));
		memcpy(buf + (at - orig), cases[i].to, tl);
		memcpy(buf + (at - orig) + tl, at + fl, len - (size_t)(at - orig) - fl + 1);
		if (cases[i].reseal)
			tl_reseal(buf, nl);
		cr_expect_eq(tl_load(buf, nl, err, sizeof(err)), SC_ERR_PARSE, "%s accepted", cases[i].name);
		cr_expect_not_null(strstr(err, cases[i].why), "%s: message '%s'", cases[i].name, err);
		free(buf);
	}
	/* The untouched original still loads: the cases above fail for their edit alone. */
	cr_expect_eq(tl_load(orig, len, err, sizeof(err)), 0, "%s", err);
	free(orig);
}

Test(learn, garbage_rejected)
{
	uint64_t s = 3;
	char buf[4096], err[160];
	int k;
	size_t i, n;

	cr_expect_eq(tl_load("", 0, err, sizeof(err)), SC_ERR_PARSE);
	cr_expect_eq(tl_load(NULL, 0, err, sizeof(err)), SC_ERR_PARSE);
	for (k = 0; k < 200; k++) {
		n = 1 + tl_next(&s) % sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = (char)tl_next(&s);
		if (k % 2)
			memcpy(buf, "certcast-lm 1\n", n < 14 ? n : 14);
		cr_assert_eq(tl_load(buf, n, err, sizeof(err)), SC_ERR_PARSE, "random input %d accepted", k);
	}
	/* A tiny error buffer is still terminated, and a zero-size one is left alone. */
	{
		struct lm_model m;
		char small[8];

		lm_init(&m, NULL);
		cr_expect_eq(lm_deserialize(&m, "junk", 4, small, sizeof(small)), SC_ERR_PARSE);
		cr_expect_eq(strlen(small), sizeof(small) - 1);
		cr_expect_eq(lm_deserialize(&m, "junk", 4, NULL, 0), SC_ERR_PARSE);
	}
}

Test(learn, feature_names_are_unique)
{
	int i, j;

	for (i = 0; i < LM_F_COUNT; i++) {
		cr_expect_neq(strcmp(lm_feature_name((enum lm_feature)i), "?"), 0);
		for (j = i + 1; j < LM_F_COUNT; j++)
			cr_expect_neq(strcmp(lm_feature_name((enum lm_feature)i),
					     lm_feature_name((enum lm_feature)j)),
				      0);
	}
	cr_expect_str_eq(lm_feature_name(LM_F_COUNT), "?");
	cr_expect_str_eq(lm_feature_name(LM_F_ISSUER_FAIL_RATE), "issuer_fail_rate");
}

/* Random edits that pass the checksum must be refused or give a model that still works. */
Test(learn, resealed_mutations_never_crash)
{
	static const char alphabet[] = "0123456789abcdefpx+-. \n";
	struct lm_features f;
	size_t len, i;
	char *orig = tl_saved(&len), err[160];
	uint64_t s = 5;
	int k, bad = 0;

	for (k = 0; k < 400; k++) {
		char *buf = malloc(len + 1);
		struct lm_model m;
		double p;

		memcpy(buf, orig, len + 1);
		for (i = 0; i < (size_t)(1 + k % 3); i++)
			buf[tl_next(&s) % (len - 72)] = alphabet[tl_next(&s) % (sizeof(alphabet) - 1)];
		tl_reseal(buf, len);
		lm_init(&m, NULL);
		if (lm_deserialize(&m, buf, len, err, sizeof(err)) == SC_OK) {
			tl_draw(&s, &f);
			p = lm_predict(&m, &f, NULL);
			cr_assert(p >= 0 && p <= 1, "restored model predicts %f", p);
			lm_update(&m, &f, 1);
		} else {
			bad++;
		}
		free(buf);
	}
	cr_expect_gt(bad, 0);
	free(orig);
}

/*
 * tl_saved's checkpoint with whole lines replaced and the checksum made good again. Each of
 * repl is a full line; it replaces the line with the same key, the words before the first
 * number ("feature latency", "bin 3" counts as "bin", "bias"). Returns the new text (malloc'd)
 * and its length.
 */
static char *
tl_with_lines(const char *const *repl, size_t nrepl, size_t *outlen)
{
	size_t len, i, o = 0;
	char *orig = tl_saved(&len), *out = malloc(len + 4096);
	const char *p = orig, *end = orig + len - 72;

	cr_assert_not_null(out);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)(nl - p), key = 0;
		const char *use = p;
		size_t ulen = n;

		/* the key: words up to the first one that starts with a digit, '-' or '0x' */
		while (key < n) {
			const char *w = p + key;
			if ((*w >= '0' && *w <= '9') || *w == '-')
				break;
			while (key < n && p[key] != ' ')
				key++;
			while (key < n && p[key] == ' ')
				key++;
		}
		for (i = 0; i < nrepl; i++) {
			if (key > 0 && strncmp(repl[i], p, key) == 0) {
				use = repl[i];
				ulen = strlen(repl[i]);
			}
		}
		memcpy(out + o, use, ulen);
		o += ulen;
		out[o++] = '\n';
		p = nl + 1;
	}
	memcpy(out + o, end, 72);
	o += 72;
	out[o] = '\0';
	tl_reseal(out, o);
	free(orig);
	*outlen = o;
	return out;
}

/*
 * Found by fuzz_model: a checkpoint with finite but huge values (weights of 2^1023 and -2^1023,
 * whose contributions overflow to +inf and -inf) loaded, and the model predicted NaN, which
 * lm_update then turned into a bin index (undefined behaviour) and non-finite state that no
 * later checkpoint could hold. Values beyond what training can reach are refused, and a model
 * at the very bounds still predicts probabilities and writes a checkpoint that loads.
 */
Test(learn, checkpoint_values_beyond_the_model_refused)
{
	static const struct {
		const char *name;
		const char *lines[3];
	} bad[] = {
		{ "opposed huge weights",
		  { "feature failed_attempts 0x1p+1023 0x0p+0 0x0p+0 0x1p+0 0x1.4p+3",
		    "feature latency -0x1p+1023 0x0p+0 0x0p+0 0x1p+0 0x1.4p+3", NULL } },
		{ "huge bias", { "bias 1e300 0x0p+0", NULL } },
		{ "huge l2", { "config 0x1.999999999999ap-5 0x1.999999999999ap-3 1e300 0x1.9p+5 0",
			       NULL } },
		{ "huge eta", { "config 0x1.999999999999ap-5 1e300 1e-4 0x1.9p+5 0", NULL } },
		{ "huge mean", { "feature latency 0x0p+0 0x0p+0 1e200 0x1p+0 0x1.4p+3", NULL } },
		{ "huge variance",
		  { "feature latency 0x0p+0 0x0p+0 0x0p+0 1e300 0x1.4p+3", NULL } },
		{ "huge accumulator",
		  { "feature latency 0x0p+0 1.7e308 0x0p+0 0x1p+0 0x1.4p+3", NULL } },
		{ "huge n_eff", { "count 1.7e308 5", NULL } },
	};
	static const char *const edge[] = {
		"config 0x1.999999999999ap-5 1e6 1e6 1e300 0x0p+0",
		"bias -1e100 1e300",
		"count 1e300 200",
		"feature issuer_fail_rate 1e100 1e300 1e6 1e13 0x1.4p+3",
		"feature failed_attempts -1e100 0x0p+0 -1e6 1e13 0x1.4p+3",
		"feature latency 1e100 1e300 1e6 1e13 1e300",
		"feature lifetime -1e100 1e300 -1e6 1e13 0x1p+0",
		NULL,
	};
	struct lm_features f;
	char err[160];
	size_t i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = 0;
		while (bad[i].lines[n])
			n++;
		char *buf = tl_with_lines(bad[i].lines, n, &len);
		cr_expect_eq(tl_load(buf, len, err, sizeof(err)), SC_ERR_PARSE, "%s accepted",
			     bad[i].name);
		cr_expect_not_null(strstr(err, "out of range"), "%s: message '%s'", bad[i].name,
				   err);
		free(buf);
	}

	char *buf = tl_with_lines(edge, sizeof(edge) / sizeof(edge[0]) - 1, &len);
	struct lm_model m;
	uint64_t s = 17;
	lm_init(&m, NULL);
	cr_assert_eq(lm_deserialize(&m, buf, len, err, sizeof(err)), SC_OK, "bounds refused: %s",
		     err);
	free(buf);
	for (int k = 0; k < 200; k++) {
		tl_draw(&s, &f);
		if (k % 2)
			f.f_failed_attempts = 1e300;
		double p = lm_predict(&m, &f, NULL);
		cr_assert(p >= 0 && p <= 1, "update %d: predicts %f", k, p);
		lm_update(&m, &f, k % 3 == 0);
	}
	size_t need = 0;
	lm_serialize(&m, NULL, 0, &need);
	buf = malloc(need + 1);
	cr_assert_eq(lm_serialize(&m, buf, need + 1, NULL), SC_OK);
	struct lm_model back;
	cr_expect_eq(lm_deserialize(&back, buf, need, err, sizeof(err)), SC_OK,
		     "the checkpoint after learning does not load: %s", err);
	free(buf);
}
