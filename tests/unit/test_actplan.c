/*
 * Tests for actplan: what certcast writes about one Certificate, decided from its record (built
 * by hand as a struct rec_cert), its score (a plain struct sc_result) and the executor's memory.
 * Every rule is a table of named cases, with cases on both sides of it: the annotations'
 * hysteresis and rate limit, the Events (RiskRaised, RiskCleared, AnomalyDetected,
 * InvalidAnnotation), the enforce-mode actions against observe, the manager conflict, mode off,
 * and the two formatters.
 */
#include "actplan.h"
#include "assess.h"
#include "hash.h"
#include "records.h"
#include "scoring.h"
#include "timefmt.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixed "now": 2026-06-01T00:00:00Z. */
#define NOW INT64_C(1780272000)
#define HOUR INT64_C(3600)

#define NANN 8

/* ---------------------------------------------------------------------------------------- */
/* Building inputs                                                                           */

/* One row: the record, the score, the memory, and what the plan must say. */
struct tcase {
	const char *name;
	/* the record: annotations (full keys), spec.renewBefore, spec.issuerRef */
	const char *ann[NANN][2];
	int has_rb;
	int64_t rb;
	const char *igroup, *ikind, *iname; /* NULL: cert-manager.io, ClusterIssuer, le-prod */
	int no_issuer_name;
	/* the score */
	enum sc_mode mode;
	double risk;
	enum sc_level level;
	int64_t pfail;
	enum sc_rb_action d_rb;
	int64_t d_rb_value;
	int d_rb_unset;
	enum sc_failover_action d_fo;
	int d_reissue;
	enum sc_reissue_reason d_reason;
	/* the memory */
	int64_t m_annot_time;
	int m_level; /* level + 1, 0 none */
	int m_conflict;
	/* wanted */
	int w_annotate;
	const char *w_events; /* "W:Reason,N:Reason", "" none */
	enum ap_spec w_rb;
	int64_t w_rb_value;
	int w_rb_unset;
	const char *w_orig_rb; /* NULL: "" */
	enum ap_spec w_fo;
	const char *w_fo_ref;  /* "KIND.GROUP/NAME" of the issuerRef to set */
	const char *w_orig_issuer;
	int w_reissue;
	const char *w_reissue_msg; /* substring */
};

struct tcert {
	struct rec_cert c;
	struct rec_annot an[NANN];
};

static void
tcert_build(struct tcert *t, const struct tcase *k)
{
	memset(t, 0, sizeof *t);
	t->c.c_meta.m_kind = RES_CERTIFICATE;
	t->c.c_meta.m_ns = "shop";
	t->c.c_meta.m_name = (char *)"web";
	t->c.c_meta.m_uid = (char *)"uid-1";
	t->c.c_meta.m_rv = (char *)"42";
	size_t n = 0;
	for (size_t i = 0; i < NANN && k->ann[i][0]; i++, n++) {
		t->an[n].ra_key = k->ann[i][0];
		t->an[n].ra_value = (char *)k->ann[i][1];
	}
	t->c.c_annots = t->an;
	t->c.c_nannots = n;
	t->c.c_issuer.rf_group = k->igroup ? k->igroup : REC_CM_GROUP;
	t->c.c_issuer.rf_kind = k->ikind ? k->ikind : "ClusterIssuer";
	t->c.c_issuer.rf_name = k->no_issuer_name ? NULL : k->iname ? k->iname : "le-prod";
	t->c.c_has_renew_before = k->has_rb;
	t->c.c_renew_before = k->rb;
}

static void
result_build(struct sc_result *r, const struct tcase *k)
{
	memset(r, 0, sizeof *r);
	r->r_mode = k->mode;
	r->r_risk = k->risk;
	r->r_level = k->level;
	r->r_predicted_failure = k->pfail;
	snprintf(r->r_reasons, sizeof r->r_reasons, "fault 0.4; backoff 3h");
	r->r_decision.d_rb = k->d_rb;
	r->r_decision.d_rb_value = k->d_rb_value;
	r->r_decision.d_rb_unset = k->d_rb_unset;
	r->r_decision.d_failover = k->d_fo;
	r->r_decision.d_reissue = k->d_reissue;
	r->r_decision.d_reissue_reason = k->d_reason;
	snprintf(r->r_decision.d_note, sizeof r->r_decision.d_note, "scoring says why.");
}

/* The plan's Events as "W:Reason,N:Reason". */
static void
events_str(const struct ap_plan *p, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < p->p_nev && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s:%s", i ? "," : "",
		    p->p_ev[i].e_warning ? "W" : "N", p->p_ev[i].e_reason);
}

/* Decide the plan of k, with its memory, no problems and no new findings. */
static void
decide(const struct tcase *k, struct ap_plan *p)
{
	struct tcert t;
	struct sc_result *r = calloc(1, sizeof *r);
	cr_assert_not_null(r);
	tcert_build(&t, k);
	result_build(r, k);
	struct ap_memory m = {0};
	m.m_annot_time = k->m_annot_time;
	m.m_level = k->m_level;
	m.m_conflict = k->m_conflict;
	struct ap_input in = {&t.c, r, &m, NULL, 0, NULL, 0, NOW};
	ap_decide(&in, p);
	free(r);
}

static void
check_case(const struct tcase *k)
{
	struct ap_plan *p = calloc(1, sizeof *p);
	cr_assert_not_null(p);
	decide(k, p);
	char ev[512];
	events_str(p, ev, sizeof ev);
	cr_expect_eq(p->p_mode, k->mode, "%s: mode %d", k->name, (int)p->p_mode);
	cr_expect_eq(p->p_annotate, k->w_annotate, "%s: annotate %d, want %d", k->name,
	    p->p_annotate, k->w_annotate);
	cr_expect_str_eq(ev, k->w_events ? k->w_events : "", "%s: events \"%s\", want \"%s\"",
	    k->name, ev, k->w_events ? k->w_events : "");
	cr_expect_eq(p->p_rb, k->w_rb, "%s: renewBefore action %d, want %d", k->name, (int)p->p_rb,
	    (int)k->w_rb);
	if (k->w_rb != AP_SPEC_NONE) {
		cr_expect_eq(p->p_rb_value, k->w_rb_value, "%s: renewBefore %lld, want %lld",
		    k->name, (long long)p->p_rb_value, (long long)k->w_rb_value);
		cr_expect_eq(p->p_rb_unset, k->w_rb_unset, "%s: unset %d", k->name, p->p_rb_unset);
	}
	cr_expect_str_eq(p->p_orig_rb, k->w_orig_rb ? k->w_orig_rb : "",
	    "%s: original-renew-before \"%s\"", k->name, p->p_orig_rb);
	cr_expect_eq(p->p_fo, k->w_fo, "%s: issuerRef action %d, want %d", k->name, (int)p->p_fo,
	    (int)k->w_fo);
	if (k->w_fo != AP_SPEC_NONE) {
		char ref[sizeof p->p_fo_kind + sizeof p->p_fo_group + sizeof p->p_fo_name + 4];
		snprintf(ref, sizeof ref, "%s.%s/%s", p->p_fo_kind, p->p_fo_group, p->p_fo_name);
		cr_expect_str_eq(ref, k->w_fo_ref, "%s: issuerRef %s, want %s", k->name, ref,
		    k->w_fo_ref);
	}
	cr_expect_str_eq(p->p_orig_issuer, k->w_orig_issuer ? k->w_orig_issuer : "",
	    "%s: original-issuer \"%s\"", k->name, p->p_orig_issuer);
	cr_expect_eq(p->p_reissue, k->w_reissue, "%s: reissue %d, want %d", k->name, p->p_reissue,
	    k->w_reissue);
	if (k->w_reissue_msg)
		cr_expect(strstr(p->p_reissue_msg, k->w_reissue_msg) != NULL,
		    "%s: reissue message \"%s\" lacks \"%s\"", k->name, p->p_reissue_msg,
		    k->w_reissue_msg);
	else
		cr_expect_str_eq(p->p_reissue_msg, "", "%s: reissue message \"%s\"", k->name,
		    p->p_reissue_msg);
	int want_patch = k->w_annotate || k->w_rb != AP_SPEC_NONE || k->w_fo != AP_SPEC_NONE;
	cr_expect_eq(ap_patches(p), want_patch, "%s: ap_patches %d, want %d", k->name,
	    ap_patches(p), want_patch);
	free(p);
}

#define RUN(table)                                                                                \
	for (size_t i_ = 0; i_ < sizeof(table) / sizeof(table)[0]; i_++)                          \
	check_case(&(table)[i_])

#define A_RISK "certcast.io/risk"
#define A_LEVEL "certcast.io/risk-level"
#define A_PFAIL "certcast.io/predicted-failure"
#define A_ORB "certcast.io/original-renew-before"
#define A_OISS "certcast.io/original-issuer"
#define A_FB "certcast.io/fallback-issuer"

/* NOW + 5h, as certcast.io/predicted-failure writes it. */
#define PF 1780290000 /* 2026-06-01T05:00:00Z */
#define PF_S "2026-06-01T05:00:00Z"

/* ---------------------------------------------------------------------------------------- */
/* Annotations: when they are worth a write                                                  */

static const struct tcase annot_cases[] = {
    {.name = "first scoring: no annotation and no memory", .risk = 0.1, .level = SC_LEVEL_MEDIUM,
	.w_annotate = 1},
    {.name = "unchanged risk and level", .ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}},
	.risk = 0.1, .level = SC_LEVEL_MEDIUM, .w_annotate = 0},
    {.name = "risk 0.1 -> 0.104: under AP_RISK_ABS and under AP_RISK_REL",
	.ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}}, .risk = 0.104, .level = SC_LEVEL_MEDIUM,
	.w_annotate = 0},
    {.name = "risk 0.01 -> 0.014: over AP_RISK_REL, under AP_RISK_ABS",
	.ann = {{A_RISK, "0.01"}, {A_LEVEL, "medium"}}, .risk = 0.014, .level = SC_LEVEL_MEDIUM,
	.w_annotate = 0},
    {.name = "risk 0.6 -> 0.68: over AP_RISK_ABS, under AP_RISK_REL",
	.ann = {{A_RISK, "0.6"}, {A_LEVEL, "high"}}, .risk = 0.68, .level = SC_LEVEL_HIGH,
	.w_annotate = 0},
    {.name = "risk 0.6 -> 0.52: down, over AP_RISK_ABS, under AP_RISK_REL",
	.ann = {{A_RISK, "0.6"}, {A_LEVEL, "high"}}, .risk = 0.52, .level = SC_LEVEL_HIGH,
	.w_annotate = 0},
    {.name = "risk 0.01 -> 0.0151: over both", .ann = {{A_RISK, "0.01"}, {A_LEVEL, "medium"}},
	.risk = 0.0151, .level = SC_LEVEL_MEDIUM, .w_annotate = 1},
    {.name = "risk 0.6 -> 0.75: over both", .ann = {{A_RISK, "0.6"}, {A_LEVEL, "high"}},
	.risk = 0.75, .level = SC_LEVEL_HIGH, .w_annotate = 1},
    {.name = "risk 0.2 -> 0.1: down over both", .ann = {{A_RISK, "0.2"}, {A_LEVEL, "medium"}},
	.risk = 0.1, .level = SC_LEVEL_MEDIUM, .w_annotate = 1},
    {.name = "risk 0.1 -> 0.2, memory wrote 59s ago", .ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}},
	.risk = 0.2, .level = SC_LEVEL_MEDIUM, .m_annot_time = NOW - AP_ANNOT_INTERVAL + 1,
	.m_level = SC_LEVEL_MEDIUM + 1, .w_annotate = 0},
    {.name = "risk 0.1 -> 0.2, memory wrote AP_ANNOT_INTERVAL ago",
	.ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}}, .risk = 0.2, .level = SC_LEVEL_MEDIUM,
	.m_annot_time = NOW - AP_ANNOT_INTERVAL, .m_level = SC_LEVEL_MEDIUM + 1, .w_annotate = 1},
    {.name = "level medium -> high, memory wrote 1s ago: at once",
	.ann = {{A_RISK, "0.4"}, {A_LEVEL, "medium"}}, .risk = 0.5, .level = SC_LEVEL_HIGH,
	.m_annot_time = NOW - 1, .m_level = SC_LEVEL_MEDIUM + 1, .w_annotate = 1,
	.w_events = "W:RiskRaised"},
    {.name = "level medium -> low, memory wrote 1s ago: at once",
	.ann = {{A_RISK, "0.0101"}, {A_LEVEL, "medium"}}, .risk = 0.0099, .level = SC_LEVEL_LOW,
	.m_annot_time = NOW - 1, .m_level = SC_LEVEL_MEDIUM + 1, .w_annotate = 1},
    {.name = "predicted failure appears", .ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}},
	.risk = 0.1, .level = SC_LEVEL_MEDIUM, .pfail = PF, .w_annotate = 1},
    {.name = "predicted failure appears, memory wrote 10s ago",
	.ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}}, .risk = 0.1, .level = SC_LEVEL_MEDIUM,
	.pfail = PF, .m_annot_time = NOW - 10, .m_level = SC_LEVEL_MEDIUM + 1, .w_annotate = 0},
    {.name = "predicted failure vanishes",
	.ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}, {A_PFAIL, PF_S}}, .risk = 0.1,
	.level = SC_LEVEL_MEDIUM, .w_annotate = 1},
    {.name = "predicted failure unchanged",
	.ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}, {A_PFAIL, PF_S}}, .risk = 0.1,
	.level = SC_LEVEL_MEDIUM, .pfail = PF, .w_annotate = 0},
    {.name = "predicted failure moves 59m59s later",
	.ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}, {A_PFAIL, PF_S}}, .risk = 0.1,
	.level = SC_LEVEL_MEDIUM, .pfail = PF + AP_PFAIL_MOVE - 1, .w_annotate = 0},
    {.name = "predicted failure moves 59m59s earlier",
	.ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}, {A_PFAIL, PF_S}}, .risk = 0.1,
	.level = SC_LEVEL_MEDIUM, .pfail = PF - AP_PFAIL_MOVE + 1, .w_annotate = 0},
    {.name = "predicted failure moves 1h later",
	.ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}, {A_PFAIL, PF_S}}, .risk = 0.1,
	.level = SC_LEVEL_MEDIUM, .pfail = PF + AP_PFAIL_MOVE, .w_annotate = 1},
    {.name = "predicted failure moves 1h earlier",
	.ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}, {A_PFAIL, PF_S}}, .risk = 0.1,
	.level = SC_LEVEL_MEDIUM, .pfail = PF - AP_PFAIL_MOVE, .w_annotate = 1},
    {.name = "unreadable predicted-failure annotation is rewritten",
	.ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}, {A_PFAIL, "tomorrow"}}, .risk = 0.1,
	.level = SC_LEVEL_MEDIUM, .pfail = PF, .w_annotate = 1},
    {.name = "unreadable risk annotation is rewritten",
	.ann = {{A_RISK, "abc"}, {A_LEVEL, "medium"}}, .risk = 0.1, .level = SC_LEVEL_MEDIUM,
	.w_annotate = 1},
    {.name = "risk annotation over 1 is rewritten", .ann = {{A_RISK, "1.5"}, {A_LEVEL, "medium"}},
	.risk = 0.1, .level = SC_LEVEL_MEDIUM, .w_annotate = 1},
    {.name = "memory wrote high 10s ago, the record still says medium: the memory wins",
	.ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}}, .risk = 0.6, .level = SC_LEVEL_HIGH,
	.m_annot_time = NOW - 10, .m_level = SC_LEVEL_HIGH + 1, .w_annotate = 0},
    {.name = "memory wrote medium 10s ago, the record still says high: the memory wins",
	.ann = {{A_RISK, "0.6"}, {A_LEVEL, "high"}}, .risk = 0.6, .level = SC_LEVEL_HIGH,
	.m_annot_time = NOW - 10, .m_level = SC_LEVEL_MEDIUM + 1, .w_annotate = 1,
	.w_events = "W:RiskRaised"},
    {.name = "memory wrote 10s ago, the record does not show it yet",
	.risk = 0.1, .level = SC_LEVEL_MEDIUM, .m_annot_time = NOW - 10,
	.m_level = SC_LEVEL_MEDIUM + 1, .w_annotate = 0},
    {.name = "memory wrote AP_ANNOT_INTERVAL ago, the record does not show it",
	.risk = 0.1, .level = SC_LEVEL_MEDIUM, .m_annot_time = NOW - AP_ANNOT_INTERVAL,
	.m_level = SC_LEVEL_MEDIUM + 1, .w_annotate = 1},
};

Test(actplan, annotations_hysteresis)
{
	RUN(annot_cases);
}

/* The values written: the formatted risk, the level, the reasons, the predicted failure. */
Test(actplan, annotation_values)
{
	struct ap_plan *p = calloc(1, sizeof *p);
	const struct tcase k = {.name = "values", .risk = 0.0132, .level = SC_LEVEL_MEDIUM,
	    .pfail = PF};
	decide(&k, p);
	cr_expect_eq(p->p_annotate, 1);
	cr_expect_str_eq(p->p_risk, "0.0132");
	cr_expect_str_eq(p->p_level, "medium");
	cr_expect_eq(p->p_level_num, SC_LEVEL_MEDIUM);
	cr_expect_str_eq(p->p_reasons, "fault 0.4; backoff 3h");
	cr_expect_str_eq(p->p_pfail, PF_S);
	cr_expect_str_eq(p->p_detail, "scoring says why.");
	const struct tcase k2 = {.name = "no failure", .risk = 1.0, .level = SC_LEVEL_CRITICAL};
	decide(&k2, p);
	cr_expect_str_eq(p->p_risk, "1");
	cr_expect_str_eq(p->p_level, "critical");
	cr_expect_eq(p->p_level_num, SC_LEVEL_CRITICAL);
	cr_expect_str_eq(p->p_pfail, "", "no predicted failure: the annotation is removed");
	free(p);
}

/* ---------------------------------------------------------------------------------------- */
/* RiskRaised and RiskCleared                                                                */

static const struct tcase level_cases[] = {
    {.name = "none -> high", .risk = 0.6, .level = SC_LEVEL_HIGH, .w_annotate = 1,
	.w_events = "W:RiskRaised"},
    {.name = "none -> critical", .risk = 0.95, .level = SC_LEVEL_CRITICAL, .w_annotate = 1,
	.w_events = "W:RiskRaised"},
    {.name = "none -> medium", .risk = 0.1, .level = SC_LEVEL_MEDIUM, .w_annotate = 1},
    {.name = "none -> low", .risk = 0.001, .level = SC_LEVEL_LOW, .w_annotate = 1},
    {.name = "low -> high", .ann = {{A_RISK, "0.001"}, {A_LEVEL, "low"}}, .risk = 0.6,
	.level = SC_LEVEL_HIGH, .w_annotate = 1, .w_events = "W:RiskRaised"},
    {.name = "medium -> critical", .ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}}, .risk = 0.95,
	.level = SC_LEVEL_CRITICAL, .w_annotate = 1, .w_events = "W:RiskRaised"},
    {.name = "low -> medium", .ann = {{A_RISK, "0.001"}, {A_LEVEL, "low"}}, .risk = 0.1,
	.level = SC_LEVEL_MEDIUM, .w_annotate = 1},
    {.name = "high -> high", .ann = {{A_RISK, "0.6"}, {A_LEVEL, "high"}}, .risk = 0.6,
	.level = SC_LEVEL_HIGH, .w_annotate = 0},
    {.name = "high -> critical: stays high", .ann = {{A_RISK, "0.6"}, {A_LEVEL, "high"}},
	.risk = 0.95, .level = SC_LEVEL_CRITICAL, .w_annotate = 1},
    {.name = "critical -> high: stays high", .ann = {{A_RISK, "0.95"}, {A_LEVEL, "critical"}},
	.risk = 0.6, .level = SC_LEVEL_HIGH, .w_annotate = 1},
    {.name = "high -> medium", .ann = {{A_RISK, "0.6"}, {A_LEVEL, "high"}}, .risk = 0.1,
	.level = SC_LEVEL_MEDIUM, .w_annotate = 1, .w_events = "N:RiskCleared"},
    {.name = "critical -> low", .ann = {{A_RISK, "0.95"}, {A_LEVEL, "critical"}}, .risk = 0.001,
	.level = SC_LEVEL_LOW, .w_annotate = 1, .w_events = "N:RiskCleared"},
    {.name = "medium -> low", .ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}}, .risk = 0.001,
	.level = SC_LEVEL_LOW, .w_annotate = 1},
    {.name = "unknown level word -> high", .ann = {{A_RISK, "0.6"}, {A_LEVEL, "severe"}},
	.risk = 0.6, .level = SC_LEVEL_HIGH, .w_annotate = 1, .w_events = "W:RiskRaised"},
    {.name = "memory high, stale annotation low -> high: no second RiskRaised",
	.ann = {{A_RISK, "0.001"}, {A_LEVEL, "low"}}, .risk = 0.6, .level = SC_LEVEL_HIGH,
	.m_annot_time = NOW - 10, .m_level = SC_LEVEL_HIGH + 1, .w_annotate = 0},
    {.name = "memory medium, stale annotation high -> medium: no RiskCleared",
	.ann = {{A_RISK, "0.6"}, {A_LEVEL, "high"}}, .risk = 0.1, .level = SC_LEVEL_MEDIUM,
	.m_annot_time = NOW - 10, .m_level = SC_LEVEL_MEDIUM + 1, .w_annotate = 0},
    {.name = "memory high, stale annotation high -> medium: RiskCleared",
	.ann = {{A_RISK, "0.6"}, {A_LEVEL, "high"}}, .risk = 0.1, .level = SC_LEVEL_MEDIUM,
	.m_annot_time = NOW - 10, .m_level = SC_LEVEL_HIGH + 1, .w_annotate = 1,
	.w_events = "N:RiskCleared"},
};

Test(actplan, risk_raised_and_cleared)
{
	RUN(level_cases);
}

Test(actplan, risk_notes)
{
	struct ap_plan *p = calloc(1, sizeof *p);
	struct tcase k = {.name = "raised", .risk = 0.6, .level = SC_LEVEL_HIGH, .pfail = PF};
	decide(&k, p);
	cr_assert_eq(p->p_nev, 1);
	cr_expect_str_eq(p->p_ev[0].e_reason, "RiskRaised");
	cr_expect_str_eq(p->p_ev[0].e_action, "Forecast");
	cr_expect_str_eq(p->p_ev[0].e_note,
	    "Risk 0.6 (high) that the certificate expires before cert-manager renews it: fault 0.4; "
	    "backoff 3h. Renewal can no longer succeed after " PF_S " if the trend holds. scoring "
	    "says why. Mode observe: certcast reports and does not act on this certificate.");
	k.mode = SC_MODE_ENFORCE;
	k.pfail = 0;
	decide(&k, p);
	cr_assert_eq(p->p_nev, 1);
	cr_expect_str_eq(p->p_ev[0].e_note,
	    "Risk 0.6 (high) that the certificate expires before cert-manager renews it: fault 0.4; "
	    "backoff 3h. scoring says why.",
	    "enforce: no observe sentence, no predicted failure: %s", p->p_ev[0].e_note);
	const struct tcase c = {.name = "cleared", .ann = {{A_RISK, "0.6"}, {A_LEVEL, "high"}},
	    .risk = 0.1, .level = SC_LEVEL_MEDIUM};
	decide(&c, p);
	cr_assert_eq(p->p_nev, 1);
	cr_expect_str_eq(p->p_ev[0].e_reason, "RiskCleared");
	cr_expect_str_eq(p->p_ev[0].e_note,
	    "Risk 0.1 (medium): the certificate is expected to renew in time again.");
	free(p);
}

/* ---------------------------------------------------------------------------------------- */
/* AnomalyDetected and InvalidAnnotation                                                     */

static struct sc_anomaly
anomaly(const char *type, enum sc_severity sev, const char *evidence)
{
	struct sc_anomaly a;
	memset(&a, 0, sizeof a);
	snprintf(a.an_type, sizeof a.an_type, "%s", type);
	a.an_severity = sev;
	snprintf(a.an_evidence, sizeof a.an_evidence, "%s", evidence);
	return a;
}

Test(actplan, anomaly_detected_per_new_finding)
{
	struct sc_anomaly an[3] = {anomaly("weak-key", SC_SEV_CRITICAL, "RSA 1024"),
	    anomaly("validity-changed", SC_SEV_INFO, "47d, was 90d"),
	    anomaly("unexpected-issuer", SC_SEV_WARNING, "CN=Other CA")};
	const struct {
		const char *name;
		size_t n;
		const char *want;
		const char *notes[3];
	} rows[] = {
	    {"none new", 0, "", {NULL}},
	    {"one critical", 1, "W:AnomalyDetected", {"weak-key (critical): RSA 1024"}},
	    {"critical, info, warning", 3, "W:AnomalyDetected,N:AnomalyDetected,W:AnomalyDetected",
		{"weak-key (critical): RSA 1024", "validity-changed (info): 47d, was 90d",
		    "unexpected-issuer (warning): CN=Other CA"}},
	};
	struct ap_plan *p = calloc(1, sizeof *p);
	struct sc_result *r = calloc(1, sizeof *r);
	const struct tcase k = {.name = "unchanged", .ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}},
	    .risk = 0.1, .level = SC_LEVEL_MEDIUM};
	struct tcert t;
	tcert_build(&t, &k);
	result_build(r, &k);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct ap_memory m = {0};
		struct ap_input in = {&t.c, r, &m, NULL, 0, an, rows[i].n, NOW};
		ap_decide(&in, p);
		char ev[512];
		events_str(p, ev, sizeof ev);
		cr_expect_str_eq(ev, rows[i].want, "%s: events %s", rows[i].name, ev);
		for (size_t j = 0; j < rows[i].n && j < p->p_nev; j++) {
			cr_expect_str_eq(p->p_ev[j].e_note, rows[i].notes[j], "%s: note %zu: %s",
			    rows[i].name, j, p->p_ev[j].e_note);
			cr_expect_str_eq(p->p_ev[j].e_action, "Detect", "%s", rows[i].name);
		}
		cr_expect_eq(p->p_annotate, 0, "%s: a finding alone writes no annotation",
		    rows[i].name);
	}
	free(p);
	free(r);
}

static uint64_t
kvhash(const char *k, const char *v)
{
	char kv[512];
	snprintf(kv, sizeof kv, "%s=%s", k, v);
	return hash_str(kv);
}

Test(actplan, invalid_annotation_once_per_value)
{
	const struct as_annot_problem pr[2] = {
	    {"certcast.io/mode", "ENFORCE", "not observe, enforce or off"},
	    {"certcast.io/target-risk", "abc", "not a decimal probability"},
	};
	const struct as_annot_problem changed[1] = {
	    {"certcast.io/mode", "Enforce", "not observe, enforce or off"},
	};
	const struct {
		const char *name;
		const struct as_annot_problem *pr;
		size_t npr;
		uint64_t mem[2];
		size_t nmem;
		size_t want_ev;
		const char *want_note0;
	} rows[] = {
	    {"no problem", pr, 0, {0}, 0, 0, NULL},
	    {"two new", pr, 2, {0}, 0, 2,
		"certcast.io/mode=\"ENFORCE\" is ignored: not observe, enforce or off."},
	    {"one reported before", pr, 2, {kvhash("certcast.io/mode", "ENFORCE")}, 1, 1,
		"certcast.io/target-risk=\"abc\" is ignored: not a decimal probability."},
	    {"both reported before", pr, 2,
		{kvhash("certcast.io/mode", "ENFORCE"), kvhash("certcast.io/target-risk", "abc")}, 2,
		0, NULL},
	    {"a changed value is reported again", changed, 1, {kvhash("certcast.io/mode", "ENFORCE")},
		1, 1, "certcast.io/mode=\"Enforce\" is ignored: not observe, enforce or off."},
	};
	struct ap_plan *p = calloc(1, sizeof *p);
	struct sc_result *r = calloc(1, sizeof *r);
	const struct tcase k = {.name = "unchanged", .ann = {{A_RISK, "0.1"}, {A_LEVEL, "medium"}},
	    .risk = 0.1, .level = SC_LEVEL_MEDIUM};
	struct tcert t;
	tcert_build(&t, &k);
	result_build(r, &k);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct ap_memory m = {0};
		memcpy(m.m_invalid, rows[i].mem, sizeof rows[i].mem);
		m.m_ninvalid = rows[i].nmem;
		struct ap_input in = {&t.c, r, &m, rows[i].pr, rows[i].npr, NULL, 0, NOW};
		ap_decide(&in, p);
		cr_expect_eq(p->p_nev, rows[i].want_ev, "%s: %zu events", rows[i].name, p->p_nev);
		cr_expect_eq(p->p_ninvalid, rows[i].want_ev, "%s: %zu remembered", rows[i].name,
		    p->p_ninvalid);
		for (size_t j = 0; j < p->p_nev; j++) {
			cr_expect_str_eq(p->p_ev[j].e_reason, "InvalidAnnotation", "%s", rows[i].name);
			cr_expect_eq(p->p_ev[j].e_warning, 1, "%s: a Warning", rows[i].name);
		}
		if (rows[i].want_note0 && p->p_nev > 0)
			cr_expect_str_eq(p->p_ev[0].e_note, rows[i].want_note0, "%s: %s", rows[i].name,
			    p->p_ev[0].e_note);
		/* what the plan asks the memory to keep is exactly what it reported */
		for (size_t j = 0; j < p->p_ninvalid && j < p->p_nev; j++) {
			int found = 0;
			for (size_t q = 0; q < rows[i].npr; q++)
				if (p->p_invalid[j] == kvhash(rows[i].pr[q].ap_key, rows[i].pr[q].ap_value) &&
				    strstr(p->p_ev[j].e_note, rows[i].pr[q].ap_value))
					found = 1;
			cr_expect(found, "%s: remembered hash %zu is not the reported value",
			    rows[i].name, j);
		}
	}
	free(p);
	free(r);
}

/*
 * More to report than AP_MAX_EVENTS: a value whose Event did not fit must not be remembered as
 * reported, or it would never be.
 */
Test(actplan, invalid_annotation_without_room_is_not_remembered)
{
	struct sc_anomaly an[8];
	for (size_t i = 0; i < 8; i++)
		an[i] = anomaly("weak-key", SC_SEV_WARNING, "x");
	const struct as_annot_problem pr[5] = {
	    {"certcast.io/mode", "a", "w"}, {"certcast.io/target-risk", "b", "w"},
	    {"certcast.io/min-renew-before", "c", "w"}, {"certcast.io/max-renew-before", "d", "w"},
	    {"certcast.io/fallback-issuer", "e", "w"},
	};
	struct ap_plan *p = calloc(1, sizeof *p);
	struct sc_result *r = calloc(1, sizeof *r);
	const struct tcase k = {.name = "raised", .risk = 0.6, .level = SC_LEVEL_HIGH};
	struct tcert t;
	tcert_build(&t, &k);
	result_build(r, &k);
	struct ap_memory m = {0};
	struct ap_input in = {&t.c, r, &m, pr, 5, an, 8, NOW};
	ap_decide(&in, p);
	cr_expect_eq(p->p_nev, AP_MAX_EVENTS);
	size_t reported = 0;
	for (size_t i = 0; i < p->p_nev; i++)
		reported += strcmp(p->p_ev[i].e_reason, "InvalidAnnotation") == 0;
	cr_expect_eq(reported, AP_MAX_EVENTS - 1 - 8, "room for %zu", reported);
	cr_expect_eq(p->p_ninvalid, reported, "remembered %zu, reported %zu", p->p_ninvalid,
	    reported);
	free(p);
	free(r);
}

/* ---------------------------------------------------------------------------------------- */
/* Mode off                                                                                  */

Test(actplan, mode_off_writes_nothing)
{
	struct sc_anomaly an[1] = {anomaly("weak-key", SC_SEV_CRITICAL, "RSA 1024")};
	const struct as_annot_problem pr[1] = {{"certcast.io/target-risk", "abc", "w"}};
	const struct tcase rows[] = {
	    {.name = "off, high, nothing written yet", .mode = SC_MODE_OFF, .risk = 0.6,
		.level = SC_LEVEL_HIGH, .pfail = PF, .d_rb = SC_RB_SET, .d_rb_value = 7200,
		.d_reissue = 1, .d_reason = SC_REISSUE_BACKOFF},
	    {.name = "off, was high", .mode = SC_MODE_OFF, .ann = {{A_RISK, "0.6"}, {A_LEVEL, "high"},
		{A_FB, "ClusterIssuer/backup"}}, .risk = 0.001, .level = SC_LEVEL_LOW,
		.d_fo = SC_FO_SWITCH},
	    /* the other direction: the same in observe writes and reports */
	    {.name = "observe, high, nothing written yet", .mode = SC_MODE_OBSERVE, .risk = 0.6,
		.level = SC_LEVEL_HIGH, .pfail = PF, .d_rb = SC_RB_SET, .d_rb_value = 7200},
	};
	struct ap_plan *p = calloc(1, sizeof *p);
	struct sc_result *r = calloc(1, sizeof *r);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct tcert t;
		tcert_build(&t, &rows[i]);
		result_build(r, &rows[i]);
		struct ap_memory m = {0};
		struct ap_input in = {&t.c, r, &m, pr, 1, an, 1, NOW};
		ap_decide(&in, p);
		int off = rows[i].mode == SC_MODE_OFF;
		cr_expect_eq(p->p_mode, rows[i].mode, "%s", rows[i].name);
		cr_expect_eq(ap_patches(p), !off, "%s: patches %d", rows[i].name, ap_patches(p));
		cr_expect_eq(p->p_annotate, !off, "%s: annotate", rows[i].name);
		cr_expect_eq(p->p_nev == 0, off, "%s: %zu events", rows[i].name, p->p_nev);
		cr_expect_eq(p->p_ninvalid == 0, off, "%s: invalid remembered %zu", rows[i].name,
		    p->p_ninvalid);
		cr_expect_eq(p->p_rb, AP_SPEC_NONE, "%s", rows[i].name);
		cr_expect_eq(p->p_fo, AP_SPEC_NONE, "%s", rows[i].name);
		cr_expect_eq(p->p_reissue, 0, "%s", rows[i].name);
		if (off)
			cr_expect_str_eq(p->p_risk, "", "%s: risk \"%s\"", rows[i].name, p->p_risk);
	}
	free(p);
	free(r);
}

/* ---------------------------------------------------------------------------------------- */
/* Actions: enforce only                                                                     */

/* An unchanged high annotation: the rows differ only in the decision. */
#define HIGH_ANN {A_RISK, "0.6"}, {A_LEVEL, "high"}
#define HIGH .risk = 0.6, .level = SC_LEVEL_HIGH

static const struct tcase action_cases[] = {
    /* renewBefore */
    {.name = "observe: a SET is not carried out", .ann = {HIGH_ANN}, HIGH,
	.mode = SC_MODE_OBSERVE, .d_rb = SC_RB_SET, .d_rb_value = 7200},
    {.name = "enforce: SET, no spec.renewBefore: original unset", .ann = {HIGH_ANN}, HIGH,
	.mode = SC_MODE_ENFORCE, .d_rb = SC_RB_SET, .d_rb_value = 7200, .w_rb = AP_SPEC_SET,
	.w_rb_value = 7200, .w_orig_rb = "unset"},
    {.name = "enforce: SET, spec.renewBefore 1h: original 1h0m0s", .ann = {HIGH_ANN}, HIGH,
	.has_rb = 1, .rb = 3600, .mode = SC_MODE_ENFORCE, .d_rb = SC_RB_SET, .d_rb_value = 7200,
	.w_rb = AP_SPEC_SET, .w_rb_value = 7200, .w_orig_rb = "1h0m0s"},
    {.name = "enforce: SET, original already saved: kept", .ann = {HIGH_ANN, {A_ORB, "720h"}},
	HIGH, .has_rb = 1, .rb = 3600, .mode = SC_MODE_ENFORCE, .d_rb = SC_RB_SET,
	.d_rb_value = 7200, .w_rb = AP_SPEC_SET, .w_rb_value = 7200},
    {.name = "enforce: SET to the value already there: nothing", .ann = {HIGH_ANN}, HIGH,
	.has_rb = 1, .rb = 7200, .mode = SC_MODE_ENFORCE, .d_rb = SC_RB_SET, .d_rb_value = 7200},
    {.name = "enforce: SET to another value than the spec's", .ann = {HIGH_ANN}, HIGH,
	.has_rb = 1, .rb = 7199, .mode = SC_MODE_ENFORCE, .d_rb = SC_RB_SET, .d_rb_value = 7200,
	.w_rb = AP_SPEC_SET, .w_rb_value = 7200, .w_orig_rb = "1h59m59s"},
    {.name = "enforce: RESTORE to 720h", .ann = {HIGH_ANN, {A_ORB, "720h"}}, HIGH, .has_rb = 1,
	.rb = 7200, .mode = SC_MODE_ENFORCE, .d_rb = SC_RB_RESTORE, .d_rb_value = 720 * HOUR,
	.w_rb = AP_SPEC_RESTORE, .w_rb_value = 720 * HOUR},
    {.name = "enforce: RESTORE to unset", .ann = {HIGH_ANN, {A_ORB, "unset"}}, HIGH, .has_rb = 1,
	.rb = 7200, .mode = SC_MODE_ENFORCE, .d_rb = SC_RB_RESTORE, .d_rb_unset = 1,
	.w_rb = AP_SPEC_RESTORE, .w_rb_unset = 1},
    {.name = "observe: a RESTORE is not carried out", .ann = {HIGH_ANN, {A_ORB, "unset"}}, HIGH,
	.has_rb = 1, .rb = 7200, .mode = SC_MODE_OBSERVE, .d_rb = SC_RB_RESTORE, .d_rb_unset = 1},
    {.name = "enforce: LEAVE", .ann = {HIGH_ANN}, HIGH, .mode = SC_MODE_ENFORCE,
	.d_rb = SC_RB_LEAVE},
    {.name = "enforce: BLOCKED", .ann = {HIGH_ANN}, HIGH, .mode = SC_MODE_ENFORCE,
	.d_rb = SC_RB_BLOCKED, .d_rb_value = 7200},
    /* failover */
    {.name = "enforce: failover from ClusterIssuer/le-prod",
	.ann = {HIGH_ANN, {A_FB, "ClusterIssuer/backup"}}, HIGH, .mode = SC_MODE_ENFORCE,
	.d_fo = SC_FO_SWITCH, .w_fo = AP_SPEC_SET, .w_fo_ref = "ClusterIssuer.cert-manager.io/backup",
	.w_orig_issuer = "ClusterIssuer/le-prod"},
    {.name = "enforce: failover from Issuer/local to Issuer/spare",
	.ann = {HIGH_ANN, {A_FB, "Issuer/spare"}}, HIGH, .ikind = "Issuer", .iname = "local",
	.mode = SC_MODE_ENFORCE, .d_fo = SC_FO_SWITCH, .w_fo = AP_SPEC_SET,
	.w_fo_ref = "Issuer.cert-manager.io/spare", .w_orig_issuer = "Issuer/local"},
    {.name = "enforce: failover from an external issuer keeps its group",
	.ann = {HIGH_ANN, {A_FB, "ClusterIssuer/backup"}}, HIGH, .igroup = "awspca.cert-manager.io",
	.ikind = "AWSPCAClusterIssuer", .iname = "pca", .mode = SC_MODE_ENFORCE,
	.d_fo = SC_FO_SWITCH, .w_fo = AP_SPEC_SET, .w_fo_ref = "ClusterIssuer.cert-manager.io/backup",
	.w_orig_issuer = "AWSPCAClusterIssuer.awspca.cert-manager.io/pca"},
    {.name = "enforce: failover, original-issuer already saved: kept",
	.ann = {HIGH_ANN, {A_FB, "ClusterIssuer/backup"}, {A_OISS, "ClusterIssuer/first"}}, HIGH,
	.mode = SC_MODE_ENFORCE, .d_fo = SC_FO_SWITCH, .w_fo = AP_SPEC_SET,
	.w_fo_ref = "ClusterIssuer.cert-manager.io/backup"},
    {.name = "enforce: failover without a fallback annotation", .ann = {HIGH_ANN}, HIGH,
	.mode = SC_MODE_ENFORCE, .d_fo = SC_FO_SWITCH},
    {.name = "enforce: failover with a malformed fallback", .ann = {HIGH_ANN, {A_FB, "Foo/x"}},
	HIGH, .mode = SC_MODE_ENFORCE, .d_fo = SC_FO_SWITCH},
    {.name = "enforce: failover without an issuerRef name",
	.ann = {HIGH_ANN, {A_FB, "ClusterIssuer/backup"}}, HIGH, .no_issuer_name = 1,
	.mode = SC_MODE_ENFORCE, .d_fo = SC_FO_SWITCH},
    {.name = "observe: a failover is not carried out",
	.ann = {HIGH_ANN, {A_FB, "ClusterIssuer/backup"}}, HIGH, .mode = SC_MODE_OBSERVE,
	.d_fo = SC_FO_SWITCH},
    {.name = "enforce: restore to Issuer/primary",
	.ann = {HIGH_ANN, {A_FB, "ClusterIssuer/backup"}, {A_OISS, "Issuer/primary"}}, HIGH,
	.iname = "backup", .mode = SC_MODE_ENFORCE, .d_fo = SC_FO_RESTORE, .w_fo = AP_SPEC_RESTORE,
	.w_fo_ref = "Issuer.cert-manager.io/primary"},
    {.name = "enforce: restore to an external issuer",
	.ann = {HIGH_ANN, {A_FB, "ClusterIssuer/backup"},
	    {A_OISS, "AWSPCAClusterIssuer.awspca.cert-manager.io/pca"}},
	HIGH, .iname = "backup", .mode = SC_MODE_ENFORCE, .d_fo = SC_FO_RESTORE,
	.w_fo = AP_SPEC_RESTORE, .w_fo_ref = "AWSPCAClusterIssuer.awspca.cert-manager.io/pca"},
    {.name = "enforce: restore with a malformed original-issuer",
	.ann = {HIGH_ANN, {A_FB, "ClusterIssuer/backup"}, {A_OISS, "primary"}}, HIGH,
	.iname = "backup", .mode = SC_MODE_ENFORCE, .d_fo = SC_FO_RESTORE},
    {.name = "enforce: restore without original-issuer",
	.ann = {HIGH_ANN, {A_FB, "ClusterIssuer/backup"}}, HIGH, .iname = "backup",
	.mode = SC_MODE_ENFORCE, .d_fo = SC_FO_RESTORE},
    {.name = "observe: a restore is not carried out",
	.ann = {HIGH_ANN, {A_FB, "ClusterIssuer/backup"}, {A_OISS, "Issuer/primary"}}, HIGH,
	.iname = "backup", .mode = SC_MODE_OBSERVE, .d_fo = SC_FO_RESTORE},
    /* reissue */
    {.name = "enforce: reissue, backoff", .ann = {HIGH_ANN}, HIGH, .mode = SC_MODE_ENFORCE,
	.d_reissue = 1, .d_reason = SC_REISSUE_BACKOFF, .w_reissue = 1,
	.w_reissue_msg = "Re-issuance triggered by certcast: cert-manager is backing off but the "
			 "next attempt should succeed"},
    {.name = "enforce: reissue, ARI", .ann = {HIGH_ANN}, HIGH, .mode = SC_MODE_ENFORCE,
	.d_reissue = 1, .d_reason = SC_REISSUE_ARI, .w_reissue = 1,
	.w_reissue_msg = "the CA's ARI window is open"},
    {.name = "enforce: reissue, security", .ann = {HIGH_ANN}, HIGH, .mode = SC_MODE_ENFORCE,
	.d_reissue = 1, .d_reason = SC_REISSUE_SECURITY, .w_reissue = 1,
	.w_reissue_msg = "a security anomaly asks for a new certificate"},
    {.name = "observe: a reissue is not carried out", .ann = {HIGH_ANN}, HIGH,
	.mode = SC_MODE_OBSERVE, .d_reissue = 1, .d_reason = SC_REISSUE_BACKOFF},
    /* together */
    {.name = "enforce: SET and failover in one plan",
	.ann = {HIGH_ANN, {A_FB, "ClusterIssuer/backup"}}, HIGH, .mode = SC_MODE_ENFORCE,
	.d_rb = SC_RB_SET, .d_rb_value = 7200, .d_fo = SC_FO_SWITCH, .w_rb = AP_SPEC_SET,
	.w_rb_value = 7200, .w_orig_rb = "unset", .w_fo = AP_SPEC_SET,
	.w_fo_ref = "ClusterIssuer.cert-manager.io/backup",
	.w_orig_issuer = "ClusterIssuer/le-prod"},
    /* manager conflict: hands off the spec, still annotating and reporting */
    {.name = "enforce, manager conflict: no action at all",
	.ann = {{A_FB, "ClusterIssuer/backup"}}, HIGH, .mode = SC_MODE_ENFORCE, .d_rb = SC_RB_SET,
	.d_rb_value = 7200, .d_fo = SC_FO_SWITCH, .d_reissue = 1, .d_reason = SC_REISSUE_BACKOFF,
	.m_conflict = 1, .w_annotate = 1, .w_events = "W:RiskRaised"},
    {.name = "enforce, manager conflict: no restore either",
	.ann = {HIGH_ANN, {A_ORB, "unset"}, {A_OISS, "Issuer/primary"}}, HIGH, .has_rb = 1,
	.rb = 7200, .mode = SC_MODE_ENFORCE, .d_rb = SC_RB_RESTORE, .d_rb_unset = 1,
	.d_fo = SC_FO_RESTORE, .m_conflict = 1},
    {.name = "enforce, no conflict: the same rows act",
	.ann = {{A_FB, "ClusterIssuer/backup"}}, HIGH, .mode = SC_MODE_ENFORCE, .d_rb = SC_RB_SET,
	.d_rb_value = 7200, .d_fo = SC_FO_SWITCH, .d_reissue = 1, .d_reason = SC_REISSUE_BACKOFF,
	.w_annotate = 1, .w_events = "W:RiskRaised", .w_rb = AP_SPEC_SET, .w_rb_value = 7200,
	.w_orig_rb = "unset", .w_fo = AP_SPEC_SET, .w_fo_ref = "ClusterIssuer.cert-manager.io/backup",
	.w_orig_issuer = "ClusterIssuer/le-prod", .w_reissue = 1,
	.w_reissue_msg = "backing off"},
};

Test(actplan, actions_enforce_only)
{
	RUN(action_cases);
}

/* ---------------------------------------------------------------------------------------- */
/* Formatters                                                                                */

Test(actplan, format_risk)
{
	const struct {
		double in;
		const char *want;
	} rows[] = {
	    {0.0, "0"}, {1.0, "1"}, {0.0132, "0.0132"}, {0.5, "0.5"}, {1e-7, "0"},
	    {1e-6, "0.000001"}, {0.9999999, "1"}, {0.999999, "0.999999"},
	    {0.1234567, "0.123457"}, {NAN, "0"}, {-0.5, "0"}, {-0.0, "0"}, {1.5, "1"},
	    {INFINITY, "1"}, {-INFINITY, "0"}, {0.10, "0.1"}, {0.01, "0.01"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char buf[24];
		memset(buf, 'x', sizeof buf);
		ap_format_risk(rows[i].in, buf, sizeof buf);
		cr_expect_str_eq(buf, rows[i].want, "%g: \"%s\", want \"%s\"", rows[i].in, buf,
		    rows[i].want);
		/* it reads back as a number in [0, 1] */
		char *end;
		double back = strtod(buf, &end);
		cr_expect(end != buf && *end == '\0' && back >= 0.0 && back <= 1.0, "%g: \"%s\"",
		    rows[i].in, buf);
	}
}

Test(actplan, format_issuer)
{
	const struct {
		const char *group, *kind, *name, *want;
	} rows[] = {
	    {NULL, "Issuer", "x", "Issuer/x"},
	    {"", "ClusterIssuer", "le-prod", "ClusterIssuer/le-prod"},
	    {"cert-manager.io", "ClusterIssuer", "le-prod", "ClusterIssuer/le-prod"},
	    {"awspca.cert-manager.io", "AWSPCAClusterIssuer", "pca",
		"AWSPCAClusterIssuer.awspca.cert-manager.io/pca"},
	    {"example.io", "Issuer", "a.b", "Issuer.example.io/a.b"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char buf[AP_REF_MAX];
		ap_format_issuer(rows[i].group, rows[i].kind, rows[i].name, buf, sizeof buf);
		cr_expect_str_eq(buf, rows[i].want, "%s: \"%s\"", rows[i].want, buf);
		/* and certcast.io/original-issuer reads back as it was */
		char g[254], k[64], n[254];
		cr_expect_eq(as_parse_issuer_ref_any(buf, g, sizeof g, k, sizeof k, n, sizeof n), 1,
		    "%s does not parse back", buf);
		cr_expect_str_eq(g, rows[i].group && rows[i].group[0] ? rows[i].group : REC_CM_GROUP,
		    "%s: group %s", buf, g);
		cr_expect_str_eq(k, rows[i].kind, "%s: kind %s", buf, k);
		cr_expect_str_eq(n, rows[i].name, "%s: name %s", buf, n);
	}
	char small[8];
	ap_format_issuer(NULL, "ClusterIssuer", "le-prod", small, sizeof small);
	cr_expect_eq(strlen(small), sizeof small - 1, "cut to the buffer, terminated");
}

/* ---------------------------------------------------------------------------------------- */
/* ap_describe: what explain says certcast did                                               */

Test(actplan, describe)
{
	static const struct {
		struct tcase k; /* only the annotations are read */
		enum sc_mode mode;
		const char *want[4];   /* substrings that must be there */
		const char *absent[2]; /* and ones that must not */
	} rows[] = {
	    {{"observe, the controller's", {{NULL}}}, SC_MODE_OBSERVE,
		{"certcast mode: observe (the controller's): annotations and Events only"},
		{"last action", "kept for a restore"}},
	    {{"enforce by annotation", {{"certcast.io/mode", "enforce"}}}, SC_MODE_ENFORCE,
		{"certcast mode: enforce (certcast.io/mode)\n"}, {"last action", "no actions"}},
	    {{"off by annotation", {{"certcast.io/mode", "off"}}}, SC_MODE_OFF,
		{"certcast mode: off (certcast.io/mode): certcast writes nothing"}, {NULL}},
	    {{"a bad mode annotation is not the source", {{"certcast.io/mode", "on"}}},
		SC_MODE_OBSERVE, {"certcast mode: observe (the controller's)"}, {NULL}},
	    {{"failed over",
		 {{"certcast.io/mode", "enforce"},
		     {"certcast.io/last-action",
			 "IssuerFailover 2026-12-02T06:17:08Z: spec.issuerRef Issuer/backup"},
		     {"certcast.io/original-issuer", "Issuer/primary"}}},
		SC_MODE_ENFORCE,
		{"certcast last action: IssuerFailover 2026-12-02T06:17:08Z: spec.issuerRef "
		 "Issuer/backup\n",
		    "kept for a restore: spec.issuerRef Issuer/primary\n"},
		{"spec.renewBefore"}},
	    {{"renewBefore moved", {{"certcast.io/original-renew-before", "unset"}}}, SC_MODE_ENFORCE,
		{"kept for a restore: spec.renewBefore unset\n"}, {"spec.issuerRef", "no action"}},
	    {{"in a manager conflict", {{"certcast.io/manager-conflict", "T: spec.issuerRef was"}}},
		SC_MODE_ENFORCE,
		{"certcast takes no action (certcast.io/manager-conflict): T: spec.issuerRef was\n"},
		{"kept for a restore"}},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct tcert t;
		tcert_build(&t, &rows[i].k);
		char buf[1024];
		ap_describe(&t.c, rows[i].mode, buf, sizeof buf);
		for (size_t j = 0; j < 4 && rows[i].want[j]; j++)
			cr_expect(strstr(buf, rows[i].want[j]) != NULL, "%s: want \"%s\" in \"%s\"",
			    rows[i].k.name, rows[i].want[j], buf);
		for (size_t j = 0; j < 2 && rows[i].absent[j]; j++)
			cr_expect(strstr(buf, rows[i].absent[j]) == NULL, "%s: \"%s\" in \"%s\"",
			    rows[i].k.name, rows[i].absent[j], buf);
	}
	/* a small buffer is cut, never overrun */
	struct tcert t;
	tcert_build(&t, &rows[4].k);
	char small[48];
	memset(small, 'x', sizeof small);
	ap_describe(&t.c, SC_MODE_ENFORCE, small, 40);
	cr_expect(memchr(small, '\0', 40) != NULL, "terminated within its length");
	cr_expect_eq(small[40], 'x', "nothing written past its length");
}
