/*
 * learn: online logistic regression of per-attempt failure. See learn.h for the contract.
 */
#include "learn.h"
#include "scoring.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define LM_VERSION 1
#define LM_MAGIC "certcast-lm"
#define LM_SD_FLOOR 1e-3  /* below this an input is treated as constant */
#define LM_Z_CLIP 6.0     /* standardised inputs are clipped: one odd value cannot blow up */
#define LM_P_EPS 1e-6     /* log loss clamp */
#define LM_STAT_CAP 1e6   /* without forgetting, statistics are plain averages up to this */
#define LM_LINE_MAX 512   /* longest line accepted when reading a checkpoint */
#define LM_SHA_LINE 72    /* "sha256 " + 64 hex + "\n" */
/*
 * What a checkpoint may hold beyond "finite". Training never comes near these bounds, and within
 * them every prediction and update stays finite: |bias + sum of w * z| (z clipped to 6) cannot
 * overflow, l2 * w squared fits in an accumulator, a step is at most eta, an input's squared
 * distance from its mean (inputs lie in [0, log1p(DBL_MAX)], about 710) fits in a variance. So a
 * model that loads predicts probabilities and, after learning, writes a checkpoint that loads.
 */
#define LM_MAX_WEIGHT 1e100 /* |bias| and |w| */
#define LM_MAX_ACC 1e300    /* AdaGrad accumulators, n_eff, prior strength */
#define LM_MAX_RATE 1e6     /* eta and l2 */
#define LM_MAX_MEAN 1e6     /* |running mean| of an input */
#define LM_MAX_VAR 1e13     /* running variance: above (LM_MAX_MEAN + 710)^2 */

static const char *const lm_names[LM_F_COUNT] = {
	[LM_F_ISSUER_FAIL_RATE] = "issuer_fail_rate",
	[LM_F_FAILED_ATTEMPTS] = "failed_attempts",
	[LM_F_CLASS_CONFIG] = "class_config",
	[LM_F_CLASS_RATE_LIMIT] = "class_rate_limit",
	[LM_F_CLASS_DNS] = "class_dns",
	[LM_F_CLASS_CA_UNAVAILABLE] = "class_ca_unavailable",
	[LM_F_CLASS_TRANSIENT] = "class_transient",
	[LM_F_CLASS_UNKNOWN] = "class_unknown",
	[LM_F_ISSUER_NOT_READY] = "issuer_not_ready",
	[LM_F_ACME_429_RATE] = "acme_429_rate",
	[LM_F_HTTP_5XX_RATE] = "http_5xx_rate",
	[LM_F_LATENCY] = "latency",
	[LM_F_POD_RESTARTS] = "pod_restarts",
	[LM_F_RECENT_FAILURE] = "recent_failure",
	[LM_F_LIFETIME] = "lifetime",
};

const char *
lm_feature_name(enum lm_feature f)
{
	if ((int)f < 0 || f >= LM_F_COUNT)
		return "?";
	return lm_names[f];
}

void
lm_config_default(struct lm_config *cfg)
{
	cfg->c_base_rate = 0.05;
	cfg->c_eta = 0.2;
	cfg->c_l2 = 1e-4;
	cfg->c_prior_strength = 50;
	cfg->c_forget = 0;
}

static double
lm_logit(double p)
{
	if (p < LM_P_EPS)
		p = LM_P_EPS;
	if (p > 1 - LM_P_EPS)
		p = 1 - LM_P_EPS;
	return log(p / (1 - p));
}

static double
lm_sigmoid(double z)
{
	if (z >= 0)
		return 1 / (1 + exp(-z));
	return exp(z) / (1 + exp(z));
}

void
lm_init(struct lm_model *m, const struct lm_config *cfg)
{
	struct lm_config d;

	lm_config_default(&d);
	memset(m, 0, sizeof(*m));
	m->m_cfg = d;
	if (cfg != NULL) {
		/* Out-of-range values fall back to the default instead of failing: this cannot fail. */
		if (cfg->c_base_rate > 0 && cfg->c_base_rate < 1)
			m->m_cfg.c_base_rate = cfg->c_base_rate;
		if (cfg->c_eta > 0 && isfinite(cfg->c_eta))
			m->m_cfg.c_eta = cfg->c_eta;
		if (cfg->c_l2 > 0 && isfinite(cfg->c_l2))
			m->m_cfg.c_l2 = cfg->c_l2;
		if (cfg->c_prior_strength > 0 && isfinite(cfg->c_prior_strength))
			m->m_cfg.c_prior_strength = cfg->c_prior_strength;
		if (cfg->c_forget > 0 && cfg->c_forget < 1)
			m->m_cfg.c_forget = cfg->c_forget;
	}
	m->m_bias = lm_logit(m->m_cfg.c_base_rate);
}

static double
lm_unit(double v)
{
	if (!isfinite(v))
		return NAN;
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

static double
lm_log1p_pos(double v)
{
	if (!isfinite(v))
		return NAN;
	return log1p(v < 0 ? 0 : v);
}

/* Raw signals to model inputs; NaN marks an unknown input. */
static void
lm_inputs(const struct lm_features *f, double x[LM_F_COUNT])
{
	int c;

	x[LM_F_ISSUER_FAIL_RATE] = lm_unit(f->f_issuer_fail_rate);
	x[LM_F_FAILED_ATTEMPTS] = lm_log1p_pos(f->f_failed_attempts);
	for (c = LM_CLASS_CONFIG; c < LM_CLASS_COUNT; c++)
		x[LM_F_CLASS_CONFIG + (c - LM_CLASS_CONFIG)] = f->f_class == (enum lm_class)c ? 1 : 0;
	x[LM_F_ISSUER_NOT_READY] = f->f_issuer_not_ready ? 1 : 0;
	x[LM_F_ACME_429_RATE] = lm_unit(f->f_acme_429_rate);
	x[LM_F_HTTP_5XX_RATE] = lm_unit(f->f_http_5xx_rate);
	x[LM_F_LATENCY] = lm_log1p_pos(f->f_latency_s);
	x[LM_F_POD_RESTARTS] = lm_log1p_pos(f->f_pod_restarts_1h);
	/* A failure decays in relevance over about a day; "never" is the same as "long ago". */
	if (isfinite(f->f_hours_since_failure) && f->f_hours_since_failure >= 0)
		x[LM_F_RECENT_FAILURE] = exp(-f->f_hours_since_failure / 24.0);
	else
		x[LM_F_RECENT_FAILURE] = 0;
	x[LM_F_LIFETIME] = lm_log1p_pos(f->f_lifetime_days);
}

static double
lm_standardise(const struct lm_model *m, int i, double x)
{
	double sd, z;

	if (isnan(x) || m->m_stat_n[i] == 0)
		return 0;
	sd = sqrt(m->m_var[i]);
	if (!(sd >= LM_SD_FLOOR))
		return 0;
	z = (x - m->m_mean[i]) / sd;
	return z > LM_Z_CLIP ? LM_Z_CLIP : z < -LM_Z_CLIP ? -LM_Z_CLIP : z;
}

static double
lm_prior_of(const struct lm_model *m, const struct lm_features *f)
{
	double p = f->f_prior;

	if (!isfinite(p) || p < 0 || p > 1)
		return m->m_cfg.c_base_rate;
	return p;
}

double
lm_predict(const struct lm_model *m, const struct lm_features *f, struct lm_prediction *out)
{
	struct lm_prediction pr;
	double x[LM_F_COUNT], zm, w;
	int i;

	memset(&pr, 0, sizeof(pr));
	lm_inputs(f, x);
	zm = m->m_bias;
	for (i = 0; i < LM_F_COUNT; i++) {
		pr.p_contrib[i] = m->m_w[i] * lm_standardise(m, i, x[i]);
		zm += pr.p_contrib[i];
	}
	pr.p_model = lm_sigmoid(zm);
	pr.p_prior = lm_prior_of(m, f);
	w = m->m_n_eff / (m->m_n_eff + m->m_cfg.c_prior_strength);
	pr.p_weight = w;
	/* Blend in logit space and scale each term, so the explanation still sums exactly. */
	for (i = 0; i < LM_F_COUNT; i++)
		pr.p_contrib[i] *= w;
	pr.p_base = w * m->m_bias + (1 - w) * lm_logit(pr.p_prior);
	zm = pr.p_base;
	for (i = 0; i < LM_F_COUNT; i++)
		zm += pr.p_contrib[i];
	pr.p_prob = lm_sigmoid(zm);
	if (out != NULL)
		*out = pr;
	return pr.p_prob;
}

static void
lm_score(struct lm_model *m, double p, int y)
{
	double pc = p < LM_P_EPS ? LM_P_EPS : p > 1 - LM_P_EPS ? 1 - LM_P_EPS : p;
	double base = (m->m_seen_pos + 2 * m->m_cfg.c_base_rate) / (m->m_seen + 2);
	int b = (int)(p * LM_CAL_BINS);

	if (b >= LM_CAL_BINS)
		b = LM_CAL_BINS - 1;
	if (b < 0)
		b = 0;
	m->m_cal_sse += (p - y) * (p - y);
	m->m_cal_ll += y ? -log(pc) : -log(1 - pc);
	m->m_cal_sse_base += (base - y) * (base - y);
	m->m_cal_pos += y;
	m->m_cal_n += 1;
	m->m_seen += 1;
	m->m_seen_pos += y;
	m->m_bins[b].b_sum_pred += p;
	m->m_bins[b].b_sum_obs += y;
	m->m_bins[b].b_count += 1;
}

static void
lm_stat_add(struct lm_model *m, int i, double x)
{
	double cap = m->m_cfg.c_forget > 0 ? 1 / m->m_cfg.c_forget : LM_STAT_CAP;
	double a, d;

	if (isnan(x))
		return;
	if (m->m_stat_n[i] < cap)
		m->m_stat_n[i] += 1;
	/* Exponentially weighted mean and variance; with alpha = 1/n they are the exact ones. */
	a = 1 / m->m_stat_n[i];
	d = x - m->m_mean[i];
	m->m_mean[i] += a * d;
	m->m_var[i] = (1 - a) * (m->m_var[i] + a * d * d);
}

static double
lm_adagrad(double *g2, double g, double eta)
{
	*g2 += g * g;
	return eta * g / (sqrt(*g2) + 1e-12);
}

void
lm_update(struct lm_model *m, const struct lm_features *f, int failed)
{
	double x[LM_F_COUNT], z[LM_F_COUNT], zm, p, err, g;
	int y = failed ? 1 : 0, i;

	lm_score(m, lm_predict(m, f, NULL), y);
	lm_inputs(f, x);
	for (i = 0; i < LM_F_COUNT; i++)
		lm_stat_add(m, i, x[i]);
	zm = m->m_bias;
	for (i = 0; i < LM_F_COUNT; i++) {
		z[i] = lm_standardise(m, i, x[i]);
		zm += m->m_w[i] * z[i];
	}
	p = lm_sigmoid(zm);
	err = p - y;
	m->m_bias -= lm_adagrad(&m->m_bias_g2, err, m->m_cfg.c_eta);
	for (i = 0; i < LM_F_COUNT; i++) {
		g = err * z[i] + m->m_cfg.c_l2 * m->m_w[i];
		if (g != 0)
			m->m_w[i] -= lm_adagrad(&m->m_g2[i], g, m->m_cfg.c_eta);
	}
	m->m_n_eff = m->m_n_eff * (1 - m->m_cfg.c_forget) + 1;
	m->m_updates++;
}

void
lm_calibration(const struct lm_model *m, struct lm_calibration *out)
{
	double n = m->m_cal_n;

	memset(out, 0, sizeof(*out));
	out->cal_n = n;
	if (n > 0) {
		out->cal_brier = m->m_cal_sse / n;
		out->cal_logloss = m->m_cal_ll / n;
		out->cal_brier_base = m->m_cal_sse_base / n;
		out->cal_base_rate = m->m_cal_pos / n;
	}
	memcpy(out->cal_bins, m->m_bins, sizeof(out->cal_bins));
}

void
lm_calibration_reset(struct lm_model *m)
{
	m->m_cal_n = 0;
	m->m_cal_sse = 0;
	m->m_cal_ll = 0;
	m->m_cal_sse_base = 0;
	m->m_cal_pos = 0;
	memset(m->m_bins, 0, sizeof(m->m_bins));
}

double
lm_n_eff(const struct lm_model *m)
{
	return m->m_n_eff;
}

/* Appends formatted text while counting what would be needed if buf is too small. */
struct lm_out {
	char *o_buf;  /* caller's buffer */
	size_t o_len; /* its size */
	size_t o_pos; /* bytes produced so far (may exceed o_len) */
};

static void lm_put(struct lm_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
lm_put(struct lm_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (o->o_pos < o->o_len)
		n = vsnprintf(o->o_buf + o->o_pos, o->o_len - o->o_pos, fmt, ap);
	else
		n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->o_pos += (size_t)n;
}

static int
lm_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	unsigned int i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return SC_ERR_INVAL;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return SC_OK;
}

int
lm_serialize(const struct lm_model *m, char *buf, size_t len, size_t *need)
{
	struct lm_out o = { buf, len, 0 };
	char hex[65];
	int i;

	lm_put(&o, "%s %d\n", LM_MAGIC, LM_VERSION);
	lm_put(&o, "config %a %a %a %a %a\n", m->m_cfg.c_base_rate, m->m_cfg.c_eta, m->m_cfg.c_l2,
	       m->m_cfg.c_prior_strength, m->m_cfg.c_forget);
	lm_put(&o, "bias %a %a\n", m->m_bias, m->m_bias_g2);
	lm_put(&o, "count %a %llu\n", m->m_n_eff, (unsigned long long)m->m_updates);
	lm_put(&o, "seen %a %a\n", m->m_seen, m->m_seen_pos);
	lm_put(&o, "cal %a %a %a %a %a\n", m->m_cal_n, m->m_cal_sse, m->m_cal_ll, m->m_cal_sse_base,
	       m->m_cal_pos);
	for (i = 0; i < LM_F_COUNT; i++)
		lm_put(&o, "feature %s %a %a %a %a %a\n", lm_names[i], m->m_w[i], m->m_g2[i],
		       m->m_mean[i], m->m_var[i], m->m_stat_n[i]);
	for (i = 0; i < LM_CAL_BINS; i++)
		lm_put(&o, "bin %d %a %a %a\n", i, m->m_bins[i].b_sum_pred, m->m_bins[i].b_sum_obs,
		       m->m_bins[i].b_count);
	if (need != NULL)
		*need = o.o_pos + LM_SHA_LINE;
	if (o.o_pos + LM_SHA_LINE >= len)
		return SC_ERR_NOSPACE;
	if (lm_sha256_hex(buf, o.o_pos, hex) != SC_OK)
		return SC_ERR_INVAL; /* only if libcrypto lacks SHA-256 */
	lm_put(&o, "sha256 %s\n", hex);
	return SC_OK;
}

static void lm_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
lm_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Parses n finite doubles from s (space separated, nothing after). SC_OK or SC_ERR_PARSE. */
static int
lm_doubles(const char *s, double *v, int n)
{
	char *end;
	int i;

	for (i = 0; i < n; i++) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return SC_ERR_PARSE;
		v[i] = strtod(s, &end);
		if (end == s || !isfinite(v[i]) || (*end != ' ' && *end != '\0'))
			return SC_ERR_PARSE;
		s = end;
	}
	while (*s == ' ')
		s++;
	return *s == '\0' ? SC_OK : SC_ERR_PARSE;
}

/* Locates the checksum line: the last line of buf, which must end in a newline. */
static int
lm_check_sum(const char *buf, size_t len, char *err, size_t errlen)
{
	char hex[65];
	size_t start;

	if (len < LM_SHA_LINE || buf[len - 1] != '\n') {
		lm_err(err, errlen, "truncated: input does not end with a complete checksum line");
		return SC_ERR_PARSE;
	}
	start = len - LM_SHA_LINE;
	if (start > 0 && buf[start - 1] != '\n') {
		lm_err(err, errlen, "truncated: the last line is not a checksum line");
		return SC_ERR_PARSE;
	}
	if (memcmp(buf + start, "sha256 ", 7) != 0) {
		lm_err(err, errlen, "truncated: no 'sha256' checksum line at the end");
		return SC_ERR_PARSE;
	}
	if (lm_sha256_hex(buf, start, hex) != SC_OK) {
		lm_err(err, errlen, "cannot compute SHA-256");
		return SC_ERR_PARSE;
	}
	if (memcmp(buf + start + 7, hex, 64) != 0) {
		lm_err(err, errlen, "checksum mismatch: the content was changed or damaged");
		return SC_ERR_PARSE;
	}
	return SC_OK;
}

/* lo <= v <= hi. */
static int
lm_within(double v, double lo, double hi)
{
	return v >= lo && v <= hi;
}

/*
 * One line of a model section into t. SC_OK; SC_ERR_PARSE when malformed; SC_ERR_RANGE when
 * well formed but a value lies outside what the model can hold (see LM_MAX_WEIGHT).
 */
static int
lm_parse_line(struct lm_model *t, const char *line, unsigned *seen_f, unsigned *seen_b, int *seen)
{
	double v[6];
	char name[64];
	unsigned long long u;
	int i, k, off = 0;

	if (strncmp(line, "config ", 7) == 0) {
		if (lm_doubles(line + 7, v, 5) != 0 || !(v[0] > 0 && v[0] < 1) || !(v[1] > 0) ||
		    !(v[2] > 0) || !(v[3] > 0) || !(v[4] >= 0 && v[4] < 1))
			return SC_ERR_PARSE;
		if (v[1] > LM_MAX_RATE || v[2] > LM_MAX_RATE || v[3] > LM_MAX_ACC)
			return SC_ERR_RANGE;
		t->m_cfg.c_base_rate = v[0];
		t->m_cfg.c_eta = v[1];
		t->m_cfg.c_l2 = v[2];
		t->m_cfg.c_prior_strength = v[3];
		t->m_cfg.c_forget = v[4];
		seen[0]++;
	} else if (strncmp(line, "bias ", 5) == 0) {
		if (lm_doubles(line + 5, v, 2) != 0 || v[1] < 0)
			return SC_ERR_PARSE;
		if (!lm_within(v[0], -LM_MAX_WEIGHT, LM_MAX_WEIGHT) || v[1] > LM_MAX_ACC)
			return SC_ERR_RANGE;
		t->m_bias = v[0];
		t->m_bias_g2 = v[1];
		seen[1]++;
	} else if (strncmp(line, "count ", 6) == 0) {
		if (sscanf(line + 6, "%lf %llu%n", &v[0], &u, &off) != 2 || line[6 + off] != '\0' ||
		    !isfinite(v[0]) || v[0] < 0)
			return SC_ERR_PARSE;
		if (v[0] > LM_MAX_ACC)
			return SC_ERR_RANGE;
		t->m_n_eff = v[0];
		t->m_updates = u;
		seen[2]++;
	} else if (strncmp(line, "cal ", 4) == 0) {
		if (lm_doubles(line + 4, v, 5) != 0 || v[0] < 0 || v[4] < 0 || v[4] > v[0])
			return SC_ERR_PARSE;
		t->m_cal_n = v[0];
		t->m_cal_sse = v[1];
		t->m_cal_ll = v[2];
		t->m_cal_sse_base = v[3];
		t->m_cal_pos = v[4];
		seen[3]++;
	} else if (strncmp(line, "seen ", 5) == 0) {
		if (lm_doubles(line + 5, v, 2) != 0 || v[0] < 0 || v[1] < 0 || v[1] > v[0])
			return SC_ERR_PARSE;
		t->m_seen = v[0];
		t->m_seen_pos = v[1];
		seen[4]++;
	} else if (strncmp(line, "feature ", 8) == 0) {
		if (sscanf(line + 8, "%63s%n", name, &off) != 1)
			return SC_ERR_PARSE;
		for (i = 0; i < LM_F_COUNT; i++)
			if (strcmp(name, lm_names[i]) == 0)
				break;
		if (i == LM_F_COUNT || (*seen_f & (1u << i)) ||
		    lm_doubles(line + 8 + off, v, 5) != 0 || v[1] < 0 || v[3] < 0 || v[4] < 0)
			return SC_ERR_PARSE;
		if (!lm_within(v[0], -LM_MAX_WEIGHT, LM_MAX_WEIGHT) || v[1] > LM_MAX_ACC ||
		    !lm_within(v[2], -LM_MAX_MEAN, LM_MAX_MEAN) || v[3] > LM_MAX_VAR)
			return SC_ERR_RANGE;
		t->m_w[i] = v[0];
		t->m_g2[i] = v[1];
		t->m_mean[i] = v[2];
		t->m_var[i] = v[3];
		t->m_stat_n[i] = v[4];
		*seen_f |= 1u << i;
	} else if (strncmp(line, "bin ", 4) == 0) {
		if (sscanf(line + 4, "%d%n", &k, &off) != 1 || k < 0 || k >= LM_CAL_BINS ||
		    (*seen_b & (1u << k)) || lm_doubles(line + 4 + off, v, 3) != 0)
			return SC_ERR_PARSE;
		t->m_bins[k].b_sum_pred = v[0];
		t->m_bins[k].b_sum_obs = v[1];
		t->m_bins[k].b_count = v[2];
		*seen_b |= 1u << k;
	} else {
		return SC_ERR_PARSE;
	}
	return SC_OK;
}

int
lm_deserialize(struct lm_model *m, const char *buf, size_t len, char *err, size_t errlen)
{
	struct lm_model t;
	char line[LM_LINE_MAX], *end;
	const char *p, *nl, *stop;
	unsigned seen_f = 0, seen_b = 0, lineno = 1;
	int seen[5] = { 0, 0, 0, 0, 0 };
	long ver;
	size_t ml = strlen(LM_MAGIC), n;
	int rc;

	if (buf == NULL || len == 0) {
		lm_err(err, errlen, "empty input");
		return SC_ERR_PARSE;
	}
	if (len < ml + 2 || memcmp(buf, LM_MAGIC " ", ml + 1) != 0) {
		lm_err(err, errlen, "line 1: not a certcast model (expected '%s <version>')", LM_MAGIC);
		return SC_ERR_PARSE;
	}
	nl = memchr(buf, '\n', len);
	n = nl == NULL ? len : (size_t)(nl - buf);
	if (n >= sizeof(line)) {
		lm_err(err, errlen, "line 1: too long");
		return SC_ERR_PARSE;
	}
	memcpy(line, buf, n);
	line[n] = '\0';
	ver = strtol(line + ml + 1, &end, 10);
	if (end == line + ml + 1 || *end != '\0') {
		lm_err(err, errlen, "line 1: malformed version");
		return SC_ERR_PARSE;
	}
	if (ver != LM_VERSION) {
		lm_err(err, errlen, "line 1: unsupported version %ld (this build reads %d)", ver,
		       LM_VERSION);
		return SC_ERR_PARSE;
	}
	if (lm_check_sum(buf, len, err, errlen) != SC_OK)
		return SC_ERR_PARSE;
	lm_init(&t, NULL);
	stop = buf + len - LM_SHA_LINE;
	for (p = nl + 1; p < stop; p = nl + 1) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(stop - p));
		if (nl == NULL)
			nl = stop - 1; /* cannot happen: the checksum line starts after a newline */
		n = (size_t)(nl - p);
		if (n >= sizeof(line)) {
			lm_err(err, errlen, "line %u: too long", lineno);
			return SC_ERR_PARSE;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		rc = memchr(line, '\0', n) != NULL ? SC_ERR_PARSE :
		    lm_parse_line(&t, line, &seen_f, &seen_b, seen);
		if (rc == SC_ERR_RANGE) {
			lm_err(err, errlen, "line %u: a value is out of range in '%.40s'", lineno,
			       line);
			return SC_ERR_PARSE;
		}
		if (rc != SC_OK) {
			lm_err(err, errlen, "line %u: malformed or unknown line '%.40s'", lineno, line);
			return SC_ERR_PARSE;
		}
	}
	if (seen[0] != 1 || seen[1] != 1 || seen[2] != 1 || seen[3] != 1 || seen[4] != 1 ||
	    seen_f != (1u << LM_F_COUNT) - 1 || seen_b != (1u << LM_CAL_BINS) - 1) {
		lm_err(err, errlen, "incomplete: a required line is missing or repeated");
		return SC_ERR_PARSE;
	}
	*m = t;
	return SC_OK;
}
