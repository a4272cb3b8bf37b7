/*
 * Tests for the learned model in the controller: reconcile trains it once per request outcome
 * (not again on repeated reconciles, resyncs or after a restart from the checkpoint), the
 * features of a request come from the store as it stood then, and the model reaches the score
 * as the "learned" factor of the explanation.
 */
#include "assess.h"
#include "buf.h"
#include "cc_err.h"
#include "explain_cmd.h"
#include "learn.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "reconcile.h"
#include "records.h"
#include "resource.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
quiet(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
}

TestSuite(learning, .init = quiet);

static const struct res_desc *
desc(enum res_kind k)
{
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == k)
			return &res_table()[i];
	cr_assert_fail("no descriptor");
	return NULL;
}

static void
apply(struct store *st, enum res_kind k, enum store_event ev, const char *json)
{
	cJSON *o = cJSON_Parse(json);
	cr_assert_not_null(o, "bad test JSON: %s", json);
	char err[256] = "";
	cr_assert_eq(store_apply(st, desc(k), ev, o, err, sizeof err), CC_OK, "%s", err);
	cJSON_Delete(o);
}

/* shop/web on Issuer ca, issued 2026-01-01 for 90 days. */
static void
put_cert(struct store *st)
{
	apply(st, RES_CERTIFICATE, STORE_ADDED,
	    "{\"metadata\":{\"namespace\":\"shop\",\"name\":\"web\",\"resourceVersion\":\"1\"},"
	    "\"spec\":{\"secretName\":\"web\",\"issuerRef\":{\"name\":\"ca\",\"kind\":\"Issuer\"}},"
	    "\"status\":{\"notBefore\":\"2026-01-01T00:00:00Z\","
	    "\"notAfter\":\"2026-04-01T00:00:00Z\"}}");
}

/*
 * A request of shop/web. state: "issued" (Ready=True at done), "failed" (Ready=False reason
 * Failed, failureTime done, with message), or "pending".
 */
static void
put_cr(struct store *st, enum store_event ev, const char *name, const char *uid,
    const char *created, const char *state, const char *done, const char *message)
{
	char json[2048], status[1024];
	if (strcmp(state, "issued") == 0)
		snprintf(status, sizeof status,
		    "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Issued\","
		    "\"lastTransitionTime\":\"%s\"}]}", done);
	else if (strcmp(state, "failed") == 0)
		snprintf(status, sizeof status,
		    "{\"failureTime\":\"%s\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
		    "\"reason\":\"Failed\",\"message\":\"%s\",\"lastTransitionTime\":\"%s\"}]}", done,
		    message, done);
	else
		snprintf(status, sizeof status,
		    "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"Pending\","
		    "\"lastTransitionTime\":\"%s\"}]}", created);
	snprintf(json, sizeof json,
	    "{\"metadata\":{\"namespace\":\"shop\",\"name\":\"%s\",\"uid\":\"%s\","
	    "\"resourceVersion\":\"%d\",\"creationTimestamp\":\"%s\",\"annotations\":{"
	    "\"cert-manager.io/certificate-name\":\"web\"}},"
	    "\"spec\":{\"request\":\"\",\"issuerRef\":{\"name\":\"ca\",\"kind\":\"Issuer\"}},"
	    "\"status\":%s}", name, uid, ev == STORE_ADDED ? 1 : 2, created, status);
	apply(st, RES_CERTIFICATEREQUEST, ev, json);
}

/* a transient failure: learned (a fault's failure is not; see fault_failures_are_not_learned) */
#define TRANSIENT_FAILURE "Failed to wait for order resource web-2-1: context deadline exceeded"

/* Three requests: issued, failed (transient), and one still pending. */
static void
history(struct store *st)
{
	put_cert(st);
	put_cr(st, STORE_ADDED, "web-1", "uid-1", "2026-01-01T00:00:00Z", "issued",
	    "2026-01-01T00:01:00Z", NULL);
	put_cr(st, STORE_ADDED, "web-2", "uid-2", "2026-02-01T00:00:00Z", "failed",
	    "2026-02-01T00:05:00Z", TRANSIENT_FAILURE);
	put_cr(st, STORE_ADDED, "web-3", "uid-3", "2026-02-01T01:00:00Z", "pending", NULL, NULL);
}

/* 2026-02-01T02:00:00Z */
static int64_t
clock_feb(void)
{
	return 1769911200LL;
}

static uint64_t
outcomes(struct mdl *m, uint64_t *failed)
{
	struct lm_calibration cal;
	uint64_t nf, ns;
	mdl_calibration(m, &cal, &nf, &ns);
	if (failed)
		*failed = nf;
	return nf + ns;
}

static struct recon *
recon_with(struct store *st, struct mdl *m)
{
	struct recon_opts o = {st, NULL, NULL, clock_feb, .ro_model = m};
	return recon_new(&o);
}

/*
 * Reconciling again and again (as resyncs do) learns each finished request once; a pending one
 * is learned when it finishes; after a restart from the checkpoint nothing is learned twice,
 * while a restart without it learns the store's history afresh.
 */
Test(learning, each_outcome_is_learned_once)
{
	struct store *st = store_new();
	history(st);
	struct mdl *m = mdl_new(0);
	struct recon *r = recon_with(st, m);
	uint64_t nf = 0;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(recon_key(r, "shop/web"), CC_OK);
	cr_expect_eq(outcomes(m, &nf), 2, "issued and failed, not the pending one");
	cr_expect_eq(nf, 1);

	put_cr(st, STORE_MODIFIED, "web-3", "uid-3", "2026-02-01T01:00:00Z", "issued",
	    "2026-02-01T01:02:00Z", NULL);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(recon_key(r, "shop/web"), CC_OK);
	cr_expect_eq(outcomes(m, &nf), 3, "the finished request once");
	cr_expect_eq(nf, 1);

	/* restart with the checkpoint */
	struct buf b;
	buf_init(&b, MDL_FILE_MAX);
	cr_assert_eq(mdl_encode(m, &b), CC_OK);
	recon_free(r);
	struct mdl *m2 = mdl_new(0);
	char err[256] = "";
	cr_assert_eq(mdl_decode(m2, b.b_data, b.b_len, err, sizeof err), CC_OK, "%s", err);
	struct recon *r2 = recon_with(st, m2);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(recon_key(r2, "shop/web"), CC_OK);
	cr_expect_eq(outcomes(m2, NULL), 3, "nothing counted twice after the restart");
	recon_free(r2);

	/* and without it: the same history is learned again, so the check above can fail */
	struct mdl *m3 = mdl_new(0);
	struct recon *r3 = recon_with(st, m3);
	cr_assert_eq(recon_key(r3, "shop/web"), CC_OK);
	cr_expect_eq(outcomes(m3, NULL), 3);
	recon_free(r3);

	buf_free(&b);
	mdl_free(m);
	mdl_free(m2);
	mdl_free(m3);
	store_free(st);
}

/* The features of web-3 as the store saw them when it was created. */
Test(learning, features_as_the_request_started)
{
	struct store *st = store_new();
	history(st);
	store_rdlock(st);
	const struct rec_cert *c = store_cert_get(st, "shop", "web");
	cr_assert_not_null(c);
	const struct rec_cr *crs[8];
	size_t n = store_cert_crs(st, "shop", "web", crs, 8);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(crs[0]->r_meta.m_name, "web-3", "newest first");
	int failed;
	int64_t when;
	cr_expect_eq(as_request_outcome(crs[0], &failed, &when), 0, "pending");
	cr_expect_eq(as_request_outcome(crs[1], &failed, &when), 1);
	cr_expect_eq(failed, 1);
	cr_expect_eq(when, 1769904300LL, "failureTime 2026-02-01T00:05:00Z");

	struct as_ctx *a = as_new(st, NULL, clock_feb());
	struct lm_features f;
	as_request_features(a, c, crs, n, 0, &f);
	cr_expect_eq(f.f_failed_attempts, 1.0, "one failure just before");
	cr_expect_eq(f.f_class, LM_CLASS_TRANSIENT, "its class: %d", (int)f.f_class);
	cr_expect(fabs(f.f_hours_since_failure - 55.0 / 60.0) < 1e-9, "%g h",
	    f.f_hours_since_failure);
	cr_expect(fabs(f.f_lifetime_days - 90.0) < 1e-9, "%g days", f.f_lifetime_days);
	cr_expect(isnan(f.f_acme_429_rate) && isnan(f.f_prior), "unknown signals stay unknown");
	double rate_after_failure = f.f_issuer_fail_rate;

	/* web-2 itself: nothing failed before it, and the issuer had only a success behind it */
	as_request_features(a, c, crs, n, 1, &f);
	cr_expect_eq(f.f_failed_attempts, 0.0);
	cr_expect_eq(f.f_class, LM_CLASS_NONE);
	cr_expect(isnan(f.f_hours_since_failure), "never failed before");
	cr_expect(f.f_issuer_fail_rate < rate_after_failure,
	    "the issuer's estimate before its failure (%g) is lower than after (%g)",
	    f.f_issuer_fail_rate, rate_after_failure);
	as_free(a);
	store_unlock(st);
	store_free(st);
}

static void
healthy(struct lm_features *f)
{
	memset(f, 0, sizeof *f);
	f->f_issuer_fail_rate = 0.05;
	f->f_acme_429_rate = NAN;
	f->f_http_5xx_rate = NAN;
	f->f_latency_s = NAN;
	f->f_pod_restarts_1h = NAN;
	f->f_hours_since_failure = NAN;
	f->f_lifetime_days = 90;
	f->f_prior = NAN;
}

static const struct sc_factor *
factor(const struct sc_result *res, const char *name)
{
	for (uint32_t i = 0; i < res->r_nfactors; i++)
		if (strcmp(res->r_factors[i].f_name, name) == 0)
			return &res->r_factors[i];
	return NULL;
}

/*
 * A model that has seen only failures raises the per-attempt failure probability, and the
 * explanation shows it as the "learned" factor; without a model there is no such factor.
 */
Test(learning, the_model_reaches_the_score)
{
	struct store *st = store_new();
	history(st);
	struct lm_model *lm = malloc(sizeof *lm);
	lm_init(lm, NULL);
	struct lm_features f;
	healthy(&f);
	for (int i = 0; i < 400; i++)
		lm_update(lm, &f, 1);
	struct sc_result *with = calloc(1, sizeof *with), *without = calloc(1, sizeof *without);
	char *text = calloc(1, 65536);
	store_rdlock(st);
	const struct rec_cert *c = store_cert_get(st, "shop", "web");
	struct as_ctx *a = as_new(st, NULL, clock_feb());
	(void)as_score(a, c, without, NULL, 0);
	as_set_model(a, lm);
	(void)as_score(a, c, with, text, 65536);
	as_free(a);
	store_unlock(st);
	cr_expect_null(factor(without, "learned"), "no model, no learned factor");
	const struct sc_factor *lf = factor(with, "learned");
	cr_assert_not_null(lf, "the learned factor is listed");
	cr_expect(with->r_p_attempt > without->r_p_attempt + 0.1,
	    "per-attempt failure %g with the model, %g without", with->r_p_attempt,
	    without->r_p_attempt);
	cr_expect(strstr(text, "learned model puts the per-attempt failure at") != NULL,
	    "the explanation says so:\n%s", text);
	free(text);
	free(with);
	free(without);
	free(lm);
	store_free(st);
}

/* The controller's reconcile scores with the model it trains: its risk moves with the model. */
Test(learning, reconcile_scores_with_the_model)
{
	struct store *st = store_new();
	history(st);
	struct met_registry *reg = met_registry_new();
	struct met_std ms;
	cr_assert_eq(met_std_register(reg, "t", &ms), CC_OK);
	/* a model whose history is all failures, as a checkpoint might bring it */
	struct mdl *m = mdl_new(0);
	struct lm_features f;
	healthy(&f);
	for (int i = 0; i < 400; i++) {
		char id[32];
		snprintf(id, sizeof id, "old-%d", i);
		mdl_learn(m, id, 1000 + i, &f, 1);
	}
	double risk_with, risk_without;
	const char *const *lv = MET_CERT_LABELS("shop", "web", "Issuer", "ca");
	struct recon_opts o = {st, &ms, NULL, clock_feb, .ro_model = m};
	struct recon *r = recon_new(&o);
	cr_assert_eq(recon_key(r, "shop/web"), CC_OK);
	cr_assert_eq(met_value(ms.ms_cert_risk, lv, &risk_with), CC_OK);
	recon_free(r);
	struct recon_opts o2 = {st, &ms, NULL, clock_feb, NULL};
	r = recon_new(&o2);
	cr_assert_eq(recon_key(r, "shop/web"), CC_OK);
	cr_assert_eq(met_value(ms.ms_cert_risk, lv, &risk_without), CC_OK);
	recon_free(r);
	cr_expect(risk_with > risk_without, "risk %g with the model, %g without", risk_with,
	    risk_without);
	mdl_free(m);
	met_registry_free(reg);
	store_free(st);
}

/* `explain --state-file`: the learned factor in the forecast, then the model's calibration. */
Test(learning, explain_shows_the_model_and_its_calibration)
{
	struct store *st = store_new();
	history(st);
	struct mdl *m = mdl_new(0);
	struct lm_features f;
	healthy(&f);
	for (int i = 0; i < 200; i++) {
		char id[32];
		snprintf(id, sizeof id, "old-%d", i);
		mdl_learn(m, id, 1000 + i, &f, i % 4 == 0);
	}
	struct lm_model lm;
	mdl_snapshot(m, &lm);
	char *text = NULL, *etext = NULL;
	size_t tlen = 0, elen = 0;
	FILE *of = open_memstream(&text, &tlen), *ef = open_memstream(&etext, &elen);
	cr_assert_eq(xp_print_model(st, "shop", "web", clock_feb(), &lm, of, ef), 0);
	fclose(of);
	fclose(ef);
	cr_expect(strstr(text, "learned model puts the per-attempt failure at") != NULL, "%s", text);
	cr_expect(strstr(text, "Learned model: 200 outcomes learned, 50 of them failures") != NULL,
	    "%s", text);
	cr_expect(strstr(text, "Brier score 0.") != NULL, "%s", text);
	cr_expect(strstr(text, "reliability:") != NULL, "%s", text);
	free(text);
	free(etext);
	/* without a model: neither */
	text = etext = NULL;
	of = open_memstream(&text, &tlen);
	ef = open_memstream(&etext, &elen);
	cr_assert_eq(xp_print(st, "shop", "web", clock_feb(), of, ef), 0);
	fclose(of);
	fclose(ef);
	cr_expect_null(strstr(text, "learned model"), "%s", text);
	cr_expect_null(strstr(text, "Learned model"), "%s", text);
	free(text);
	free(etext);
	mdl_free(m);
	store_free(st);
}

/*
 * The start-up sweep learns what reconciling would learn, the same way (the same model, byte
 * for byte), and once: a second sweep and later reconciles learn nothing more.
 */
Test(learning, sweep_learns_as_reconcile_does)
{
	struct store *st = store_new();
	history(st);
	struct mdl *swept = mdl_new(0), *recon = mdl_new(0);
	struct recon *rs = recon_with(st, swept), *rr = recon_with(st, recon);
	cr_expect_eq(recon_learn_all(rs), 2, "issued and failed, not the pending one");
	cr_expect_eq(recon_learn_all(rs), 0, "a second sweep learns nothing");
	cr_assert_eq(recon_key(rs, "shop/web"), CC_OK);
	cr_expect_eq(outcomes(swept, NULL), 2, "nor does a reconcile after it");
	cr_assert_eq(recon_key(rr, "shop/web"), CC_OK);
	struct buf a, b;
	buf_init(&a, MDL_FILE_MAX);
	buf_init(&b, MDL_FILE_MAX);
	cr_assert_eq(mdl_encode(swept, &a), CC_OK);
	cr_assert_eq(mdl_encode(recon, &b), CC_OK);
	cr_expect(a.b_len == b.b_len && memcmp(a.b_data, b.b_data, a.b_len) == 0,
	    "the same model either way");
	struct recon *none = recon_with(st, NULL);
	cr_expect_eq(recon_learn_all(none), 0, "no model, nothing to do");
	recon_free(none);
	buf_free(&a);
	buf_free(&b);
	recon_free(rs);
	recon_free(rr);
	mdl_free(swept);
	mdl_free(recon);
	store_free(st);
}

/*
 * A request that failed only after hanging for the CA's order lifetime (a challenge that never
 * validated) is learned with its own failure's class, not as a healthy attempt; one that
 * failed within minutes keeps the healthy-state features.
 */
Test(learning, a_hung_failure_is_not_a_healthy_attempt)
{
	/* put_cr pastes the message into JSON unescaped, so it holds no quotes */
	const char *hung_msg = "Failed to wait for order resource web-9-1 to become ready: order "
			       "is in invalid state: 404 urn:ietf:params:acme:error:unauthorized: "
			       "Invalid response from http://web.example.com/.well-known/acme-challenge/x";
	const struct {
		const char *name, *created, *done;
		int stuck;
	} cases[] = {
	    {"failed after 5 minutes", "2026-01-20T00:00:00Z", "2026-01-20T00:05:00Z", 0},
	    {"failed after an hour", "2026-01-20T00:00:00Z", "2026-01-20T01:00:00Z", 0},
	    {"failed after 7 days of hanging", "2026-01-20T00:00:00Z", "2026-01-27T00:00:00Z", 1},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct store *st = store_new();
		put_cert(st);
		put_cr(st, STORE_ADDED, "web-1", "uid-1", "2026-01-01T00:00:00Z", "issued",
		    "2026-01-01T00:01:00Z", NULL);
		put_cr(st, STORE_ADDED, "web-9", "uid-9", cases[k].created, "failed", cases[k].done,
		    hung_msg);
		store_rdlock(st);
		const struct rec_cert *c = store_cert_get(st, "shop", "web");
		const struct rec_cr *crs[4];
		size_t n = store_cert_crs(st, "shop", "web", crs, 4);
		cr_assert_eq(n, 2);
		cr_assert_str_eq(crs[0]->r_meta.m_name, "web-9");
		struct as_ctx *a = as_new(st, NULL, clock_feb());
		struct lm_features f;
		as_request_features(a, c, crs, n, 0, &f);
		if (cases[k].stuck)
			cr_expect_neq(f.f_class, LM_CLASS_NONE, "%s: learned as healthy", cases[k].name);
		else
			cr_expect_eq(f.f_class, LM_CLASS_NONE, "%s: class %d", cases[k].name,
			    (int)f.f_class);
		cr_expect_eq(f.f_failed_attempts, 0.0, "%s: nothing failed before it", cases[k].name);
		as_free(a);
		store_unlock(st);
		store_free(st);
	}
}

/*
 * A failure the fault model carries (rate limit, CA unavailable, DNS, a wrong setting, a
 * denial) is that fault's evidence, not a healthy attempt's odds: it is not learned. A
 * transient or unrecognised failure is.
 */
Test(learning, fault_failures_are_not_learned)
{
	const struct {
		const char *name, *msg;
		int learned;
	} cases[] = {
	    {"rate limit", "Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: "
			   "too many certificates already issued", 0},
	    {"CA unavailable", "Failed to create Order: 503 Service Unavailable", 0},
	    {"DNS", "DNS problem: NXDOMAIN looking up TXT for _acme-challenge.web.shop.example", 0},
	    {"transient", "Failed to wait for order: context deadline exceeded", 1},
	    {"unrecognised", "something odd happened", 1},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct store *st = store_new();
		put_cert(st);
		put_cr(st, STORE_ADDED, "web-1", "uid-1", "2026-01-01T00:00:00Z", "issued",
		    "2026-01-01T00:01:00Z", NULL);
		put_cr(st, STORE_ADDED, "web-2", "uid-2", "2026-02-01T00:00:00Z", "failed",
		    "2026-02-01T00:05:00Z", cases[k].msg);
		struct mdl *m = mdl_new(0);
		struct recon *r = recon_with(st, m);
		cr_assert_eq(recon_key(r, "shop/web"), CC_OK);
		uint64_t nf;
		cr_expect_eq(outcomes(m, &nf), 1 + (uint64_t)cases[k].learned, "%s", cases[k].name);
		cr_expect_eq(nf, (uint64_t)cases[k].learned, "%s: failures learned", cases[k].name);
		recon_free(r);
		mdl_free(m);
		store_free(st);
	}
}
