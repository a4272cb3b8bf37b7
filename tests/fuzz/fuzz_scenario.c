/*
 * fuzz_scenario: arbitrary bytes as a simulator scenario (`certcast simulate SCENARIO.yaml`),
 * through scn_load_string: the YAML, every key and range check of the issuers, certificate
 * groups, faults and policies, the references between them, and each expectation's syntax
 * (sck_validate). The simulation itself is not run (far too slow per input); instead each
 * loaded expectation is evaluated (sck_eval) against a fixed summary shaped like the one
 * sim_report writes, which is what the simulator does with it at the end.
 *
 * Scenarios are written by hand, so every input must load or be refused with a message naming
 * the place, never crash or leak. A loaded scenario must also be one the engine can run: the
 * harness checks what the loader promises (indexes in range, windows in order, the age range of
 * each group inside its lifetime), so that a value the loader lets through cannot surprise it.
 */
#include "cc_err.h"
#include "sim_check.h"
#include "sim_scenario.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A summary as sim_report writes it, with a metric of each shape an expectation may name. */
static const char fz_summary_json[] =
    "{\"policies\":{"
    "\"cert-manager\":{\"expired_hours\":12.5,\"issuances\":400,\"reissues\":0,"
    "\"expired_hours_by_class\":{\"6d\":0,\"47d\":12.5,\"100d\":0,\"200d\":0,\"398d\":0}},"
    "\"fixed-30d\":{\"expired_hours\":3,\"issuances\":410},"
    "\"ari-only\":{\"expired_hours\":null,\"issuances\":400},"
    "\"certcast\":{\"expired_hours\":0,\"issuances\":430,\"reissues\":7,\"expired_certs\":0}},"
    "\"alerts\":{\"recall\":0.9,\"precision\":null,\"positives\":10}}";

static cJSON *fz_summary;

static void
fz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_scenario: %s: %s\n", what, detail);
	abort();
}

/* What the engine relies on in a loaded scenario. */
static void
fz_check(const struct scn_scenario *s)
{
	char why[160];
	if (s->s_name == NULL || s->s_name[0] == '\0')
		fz_fail("no name", "");
	if (s->s_duration < 3600 || s->s_alert_horizon < 3600)
		fz_fail("duration or alert horizon below 1h", s->s_name);
	if (s->s_policies == 0 || s->s_policies >= (1u << SCN_POL_COUNT))
		fz_fail("policy set", s->s_name);
	if (!(s->s_target_risk > 0 && s->s_target_risk <= 0.5))
		fz_fail("target risk", s->s_name);
	if (s->s_nissuers == 0 || s->s_ngroups == 0)
		fz_fail("no issuer or no group", s->s_name);
	for (size_t i = 0; i < s->s_nissuers; i++) {
		const struct scn_issuer *is = &s->s_issuers[i];
		if (is->is_name == NULL || is->is_kind == NULL ||
		    scn_issuer_index(s, is->is_name) != (int)i)
			fz_fail("issuer name", is->is_name ? is->is_name : "(null)");
		if (!(is->is_ari_lo >= 0 && is->is_ari_lo < is->is_ari_hi && is->is_ari_hi <= 1))
			fz_fail("issuer ARI window out of order", is->is_name);
		if (!(is->is_fail_p >= 0 && is->is_fail_p <= 1) || is->is_latency < 0 ||
		    is->is_rl_domain < 1 || is->is_rl_dup < 1 || is->is_rl_window < 60)
			fz_fail("issuer value out of range", is->is_name);
	}
	uint64_t total = 0;
	for (size_t g = 0; g < s->s_ngroups; g++) {
		const struct scn_group *gr = &s->s_groups[g];
		if (gr->g_name == NULL || gr->g_namespace == NULL || gr->g_domain == NULL ||
		    scn_group_index(s, gr->g_name) != (int)g)
			fz_fail("group name", gr->g_name ? gr->g_name : "(null)");
		if (gr->g_issuer < 0 || (size_t)gr->g_issuer >= s->s_nissuers ||
		    gr->g_fallback < -1 || gr->g_fallback >= (int)s->s_nissuers ||
		    gr->g_fallback == gr->g_issuer)
			fz_fail("group issuer index", gr->g_name);
		if (gr->g_count < 1 || gr->g_ndomains < 1 || gr->g_lifetime < 3600 ||
		    gr->g_renew_before < 0 || gr->g_renew_before >= gr->g_lifetime ||
		    gr->g_pct < 0 || gr->g_pct > 99 || (gr->g_pct && gr->g_renew_before))
			fz_fail("group value out of range", gr->g_name);
		/* the engine draws each certificate's age uniformly from [lo, hi] */
		if (gr->g_age_lo < 0 || gr->g_age_lo > gr->g_age_hi ||
		    gr->g_age_hi >= gr->g_lifetime)
			fz_fail("group age range is not 0 <= low <= high < lifetime", gr->g_name);
		total += gr->g_count;
	}
	if (total != s->s_ncerts)
		fz_fail("certificate count", s->s_name);
	for (size_t i = 0; i < s->s_nfaults; i++) {
		const struct scn_fault *f = &s->s_faults[i];
		if (f->f_issuer < -1 || f->f_issuer >= (int)s->s_nissuers || f->f_group < -1 ||
		    f->f_group >= (int)s->s_ngroups)
			fz_fail("fault index", s->s_name);
		if (f->f_start < 0 || f->f_end < f->f_start)
			fz_fail("fault ends before it starts", s->s_name);
		if (f->f_kind == SCN_F_ARI_WINDOW &&
		    (f->f_aff_lo >= f->f_aff_hi || f->f_win_lo >= f->f_win_hi))
			fz_fail("ari-window spans out of order", s->s_name);
		if (f->f_kind == SCN_F_EXTERNAL &&
		    (f->f_group < 0 || f->f_dom >= s->s_groups[f->f_group].g_ndomains))
			fz_fail("external-issuance domain", s->s_name);
	}
	for (size_t i = 0; i < s->s_nexpects; i++) {
		const char *x = s->s_expects[i].x_text;
		int ok;
		double lhs, rhs;
		if (x == NULL || sck_validate(x, why, sizeof why) != CC_OK)
			fz_fail("a loaded expectation does not validate", x ? x : "(null)");
		/* a path missing from the summary is an error with a reason, never a crash */
		if (sck_eval(x, fz_summary, &ok, &lhs, &rhs, why, sizeof why) != CC_OK &&
		    why[0] == '\0')
			fz_fail("sck_eval failed without a reason", x);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_summary == NULL && (fz_summary = cJSON_Parse(fz_summary_json)) == NULL)
		abort();
	struct scn_scenario *s = NULL;
	struct scn_error err;
	/* scn_load_string takes len bytes that need not be NUL-terminated: give it just those */
	int rc = scn_load_string((const char *)data, size, "fuzz.yaml", &s, &err);
	if (rc == CC_OK) {
		if (s == NULL || err.e_msg[0] != '\0')
			fz_fail("CC_OK without a scenario, or with a message", err.e_msg);
		fz_check(s);
	} else {
		if (s != NULL)
			fz_fail("an error with a scenario", err.e_msg);
		if (strncmp(err.e_msg, "fuzz.yaml:", 10) != 0)
			fz_fail("message does not name the file", err.e_msg);
		if (rc != CC_ERR_PARSE && rc != CC_ERR_INVAL && rc != CC_ERR_TOOBIG)
			fz_fail("unexpected return code", cc_strerror(rc));
	}
	scn_free(s);
	return 0;
}
