/*
 * actplan: what certcast writes about one Certificate after scoring it, decided from its record,
 * its score and what the executor (act.h) remembers of its own earlier writes. No I/O and no
 * clock: the executor carries the plan out.
 *
 * - Annotations (observe and enforce): certcast.io/risk, risk-level, risk-reasons and
 *   predicted-failure, written only when something meaningful changed (the level, the
 *   predicted failure appearing, vanishing or moving by an hour or more, the risk moving by
 *   more than AP_RISK_ABS and more than AP_RISK_REL of its old value), and at most once per
 *   AP_ANNOT_INTERVAL unless the level changed: a risk that creeps with time alone must not
 *   become a write per resync.
 * - Events: RiskRaised when the level reaches high from below, RiskCleared when it falls back
 *   under high, AnomalyDetected for each new finding, InvalidAnnotation for each user value
 *   scoring ignores (once per value: act.h says how that outlives a restart). The executor adds the Events of the actions it carries
 *   out, and DiagnosticFailed when the API server refuses one.
 * - Actions (enforce only, and not once the certificate is in a manager conflict): the
 *   renewBefore change or restore, the failover or its restore, and the reissue that scoring's
 *   decision asks for, with the annotations that let them be undone.
 */
#ifndef ACTPLAN_H
#define ACTPLAN_H

#include "records.h"
#include "scoring.h"

#include <stddef.h>
#include <stdint.h>

#define AP_NOTE_MAX 1024          /* the API server's limit on an Event's note */
#define AP_MAX_EVENTS 12
#define AP_ANNOT_INTERVAL 60      /* seconds between two annotation writes at one level */
#define AP_RISK_ABS 0.005         /* a risk change smaller than this is not written ... */
#define AP_RISK_REL 0.2           /* ... nor one smaller than this share of the old risk */
#define AP_PFAIL_MOVE 3600        /* a predicted failure moving less than this is not written */
#define AP_REF_MAX 320            /* "KIND.GROUP/NAME" */

/* What the executor remembers of one certificate (act.c keeps it; zeroed means nothing). */
struct ap_memory {
	int64_t m_annot_time;          /* when it last wrote the risk annotations, 0 never */
	int m_level;                   /* the level it wrote then + 1; 0 none */
	int m_conflict;                /* another manager reverted certcast twice: hands off */
	uint64_t m_invalid[8];         /* hashes of the invalid annotation values reported */
	size_t m_ninvalid;
};

/* One Event to emit on the Certificate. */
struct ap_event {
	int e_warning;                 /* type Warning, else Normal */
	const char *e_reason;          /* static: one of DESIGN.md's reasons */
	const char *e_action;          /* static: events.k8s.io "action", what certcast did */
	char e_note[AP_NOTE_MAX];
};

enum ap_spec { AP_SPEC_NONE = 0, AP_SPEC_SET = 1, AP_SPEC_RESTORE = 2 };

struct ap_plan {
	enum sc_mode p_mode;           /* the certificate's mode (annotation, else the controller's) */
	/* risk annotations */
	int p_annotate;                /* write the four below */
	char p_risk[24];               /* "0.0132" */
	char p_level[12];              /* "critical" */
	char p_reasons[SC_REASONS_MAX];
	char p_pfail[40];              /* RFC 3339, "" to remove the annotation */
	int p_level_num;               /* the level written, for the executor's memory */
	/* renewBefore */
	enum ap_spec p_rb;
	int64_t p_rb_value;            /* seconds; for RESTORE when !p_rb_unset */
	int p_rb_unset;                /* RESTORE to no spec.renewBefore at all */
	char p_orig_rb[32];            /* certcast.io/original-renew-before to add, "" none */
	/* issuerRef */
	enum ap_spec p_fo;
	char p_fo_group[254], p_fo_kind[64], p_fo_name[254]; /* the issuerRef to set */
	char p_orig_issuer[AP_REF_MAX];/* certcast.io/original-issuer to add on SET */
	/* reissue */
	int p_reissue;
	char p_reissue_msg[256];       /* the Issuing condition's message */
	char p_detail[SC_NOTE_MAX];    /* scoring's decision note, for the actions' Events */
	/* Events decided here (the executor adds those of its actions) */
	struct ap_event p_ev[AP_MAX_EVENTS];
	size_t p_nev;
	/* invalid annotation values reported by this plan's Events, for the memory */
	uint64_t p_invalid[8];
	size_t p_ninvalid;
};

struct as_annot_problem;

/* What ap_decide reads besides the record and the score. */
struct ap_input {
	const struct rec_cert *ai_cert;        /* borrowed record (store read lock held) */
	const struct sc_result *ai_res;        /* its score */
	const struct ap_memory *ai_mem;        /* the executor's memory of it */
	const struct as_annot_problem *ai_problems; /* user values scoring ignores */
	size_t ai_nproblems;
	const struct sc_anomaly *ai_new;       /* findings new with this reconcile */
	size_t ai_nnew;
	int64_t ai_now;
};

/* Decide the plan. out is overwritten entirely. */
void ap_decide(const struct ap_input *in, struct ap_plan *out);

/*
 * What certcast has done to c, in lines for `certcast explain`: the mode in force (mode is the
 * score's, which already holds the certcast.io/mode annotation) and where it comes from, the
 * last action (certcast.io/last-action), the user's values it keeps for a restore
 * (certcast.io/original-renew-before, certcast.io/original-issuer), and a manager conflict
 * that stops its actions (certcast.io/manager-conflict). Always at least the mode.
 */
void ap_describe(const struct rec_cert *c, enum sc_mode mode, char *buf, size_t len);

/* Whether the plan writes anything to the object itself (annotations or spec). */
int ap_patches(const struct ap_plan *p);

/*
 * The risk as certcast.io/risk writes it: a plain decimal with at most six places and no
 * trailing zeros ("0.0132", "1", "0"), so that it reads as a number in any tool.
 */
void ap_format_risk(double risk, char *buf, size_t len);

/* An issuerRef as certcast.io/original-issuer writes it: KIND/NAME, or KIND.GROUP/NAME. */
void ap_format_issuer(const char *group, const char *kind, const char *name, char *buf,
    size_t len);

#endif
