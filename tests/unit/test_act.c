/*
 * Tests for act, the executor of actplan's plans, with the scripted test HTTP server standing in
 * for the API server and a kube_client pointed at it: the merge patch for each plan shape, the
 * Issuing condition cmctl renew sets, the requests each plan makes (verbs, paths, content type,
 * order), leader gating, the answers of the API server (409, 422, 403, 404, 500), the Events
 * and metrics, the reissue budget, the memory behind act_fill_state, the manager conflict, and
 * the own-write mark in the store. Records are built by hand as struct rec_cert.
 *
 * The server runs in threads: make test-tsan runs this file too.
 */
#include "act.h"

#include "actplan.h"
#include "assess.h"
#include "cc_err.h"
#include "evrec.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "log.h"
#include "metrics.h"
#include "records.h"
#include "resource.h"
#include "store.h"
#include "testhttp.h"
#include "timefmt.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fixed "now": 2026-06-01T00:00:00Z. */
#define NOW INT64_C(1780272000)
#define NOW_S "2026-06-01T00:00:00Z"
#define HOUR INT64_C(3600)

#define CERT_PATH "/apis/cert-manager.io/v1/namespaces/shop/certificates/web"
#define MERGE "application/merge-patch+json"

/* The Certificate as the API server answers, at resourceVersion rv. */
#define OBJ(rv)                                                                                   \
	"{\"kind\":\"Certificate\",\"apiVersion\":\"cert-manager.io/v1\",\"metadata\":{\"name\":"  \
	"\"web\",\"namespace\":\"shop\",\"uid\":\"uid-1\",\"resourceVersion\":\"" rv "\","      \
	"\"generation\":3},\"spec\":{\"secretName\":\"web\"},\"status\":{\"conditions\":[{"       \
	"\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\"}]}}"
#define OBJ_ISSUING(rv)                                                                           \
	"{\"kind\":\"Certificate\",\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\","        \
	"\"resourceVersion\":\"" rv "\",\"generation\":3},\"status\":{\"conditions\":[{\"type\":"  \
	"\"Issuing\",\"status\":\"True\",\"reason\":\"Renewing\"}]}}"
#define STATUS(code, reason, msg)                                                                 \
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"" msg      \
	"\",\"reason\":\"" reason "\",\"code\":" #code "}"

/* ---------------------------------------------------------------------------------------- */
/* Fixture                                                                                   */

struct ev {
	int warning;
	char reason[32], action[32], note[AP_NOTE_MAX];
	char ns[64], name[64], uid[64], rv[32];
	size_t requests_before; /* requests the server had seen when the Event was emitted */
};

struct fx {
	struct th_server *srv;
	struct kube_client *kc;
	struct met_registry *reg;
	struct met_std ms;
	struct act *a;
	int leader;
	struct ev ev[64];
	size_t nev;
	int emit_rc; /* what the emitter answers */
};

static struct fx F;

static int
fx_emit(void *arg, const struct act_ref *o, int warning, const char *reason, const char *action,
    const char *note, char *msg, size_t msglen)
{
	struct fx *f = arg;
	if (f->nev < sizeof f->ev / sizeof f->ev[0]) {
		struct ev *e = &f->ev[f->nev++];
		e->warning = warning;
		snprintf(e->reason, sizeof e->reason, "%s", reason);
		snprintf(e->action, sizeof e->action, "%s", action);
		snprintf(e->note, sizeof e->note, "%s", note);
		snprintf(e->ns, sizeof e->ns, "%s", o->ar_ns);
		snprintf(e->name, sizeof e->name, "%s", o->ar_name);
		snprintf(e->uid, sizeof e->uid, "%s", o->ar_uid);
		snprintf(e->rv, sizeof e->rv, "%s", o->ar_rv);
		e->requests_before = th_server_request_count(f->srv);
	}
	if (f->emit_rc != CC_OK)
		snprintf(msg, msglen, "events are forbidden");
	return f->emit_rc;
}

static int
fx_is_leader(void *arg)
{
	return ((struct fx *)arg)->leader;
}

static void
fx_setup(void)
{
	log_set_fd(open("/dev/null", O_WRONLY));
	memset(&F, 0, sizeof F);
	cr_assert_eq(th_server_start(NULL, &F.srv), CC_OK);
	struct kube_config cfg = {0};
	cfg.kc_server = (char *)th_server_url(F.srv);
	cfg.kc_namespace = "default";
	struct kube_client_opts co = {.kco_qps = -1};
	struct kube_error err;
	cr_assert_eq(kube_client_new(&cfg, &co, &F.kc, &err), CC_OK, "%s", err.ke_message);
	F.reg = met_registry_new();
	cr_assert_eq(met_std_register(F.reg, "t", &F.ms), CC_OK);
	F.leader = 1;
}

static void
fx_teardown(void)
{
	act_free(F.a);
	kube_client_free(F.kc);
	th_server_free(F.srv);
	met_registry_free(F.reg);
}

TestSuite(act, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

/* The executor under test (replacing any earlier one). */
static struct act *
fx_act(uint32_t budget, struct store *st)
{
	act_free(F.a);
	struct act_opts o;
	memset(&o, 0, sizeof o);
	o.ao_client = F.kc;
	o.ao_store = st;
	o.ao_met = &F.ms;
	o.ao_is_leader = fx_is_leader;
	o.ao_leader_arg = &F;
	o.ao_emit = fx_emit;
	o.ao_emit_arg = &F;
	o.ao_reissue_budget = budget;
	F.a = act_new(&o);
	return F.a;
}

static void
route(const char *method, const char *prefix, int status, const char *body)
{
	struct th_route r = {.tr_method = method, .tr_prefix = prefix, .tr_status = status,
	    .tr_body = body};
	cr_assert_eq(th_server_add_route(F.srv, &r), CC_OK);
}

/* The Events so far as "W:Reason,N:Reason". */
static const char *
events(void)
{
	static char buf[1024];
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < F.nev && n < sizeof buf; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s:%s", i ? "," : "",
		    F.ev[i].warning ? "W" : "N", F.ev[i].reason);
	return buf;
}

static double
action_count(const char *action, const char *mode)
{
	double v = 0;
	const char *const lv[] = {action, mode};
	if (met_value(F.ms.ms_actions, lv, &v) != CC_OK)
		return 0;
	return v;
}

/* ---------------------------------------------------------------------------------------- */
/* Records and scores                                                                        */

#define NANN 8

struct rec {
	const char *ns, *name, *uid, *rv; /* NULL: shop, web, uid-1, 42 */
	const char *ann[NANN][2];
	int has_rb;
	int64_t rb;
	const char *ikind, *iname; /* NULL: ClusterIssuer, le-prod */
};

struct tcert {
	struct rec_cert c;
	struct rec_annot an[NANN];
};

static const struct rec_cert *
tc_build(struct tcert *t, const struct rec *r)
{
	memset(t, 0, sizeof *t);
	t->c.c_meta.m_kind = RES_CERTIFICATE;
	t->c.c_meta.m_ns = r->ns ? r->ns : "shop";
	t->c.c_meta.m_name = (char *)(r->name ? r->name : "web");
	t->c.c_meta.m_uid = (char *)(r->uid ? r->uid : "uid-1");
	t->c.c_meta.m_rv = (char *)(r->rv ? r->rv : "42");
	size_t n = 0;
	for (; n < NANN && r->ann[n][0]; n++) {
		t->an[n].ra_key = r->ann[n][0];
		t->an[n].ra_value = (char *)r->ann[n][1];
	}
	t->c.c_annots = t->an;
	t->c.c_nannots = n;
	t->c.c_issuer.rf_group = REC_CM_GROUP;
	t->c.c_issuer.rf_kind = r->ikind ? r->ikind : "ClusterIssuer";
	t->c.c_issuer.rf_name = r->iname ? r->iname : "le-prod";
	t->c.c_has_renew_before = r->has_rb;
	t->c.c_renew_before = r->rb;
	return &t->c;
}

struct score {
	enum sc_mode mode;
	double risk;
	enum sc_level level;
	enum sc_rb_action rb;
	int64_t rb_value;
	int rb_unset;
	enum sc_failover_action fo;
	int reissue;
};

static struct sc_result *
result(const struct score *s)
{
	static struct sc_result r;
	memset(&r, 0, sizeof r);
	r.r_mode = s->mode;
	r.r_risk = s->risk;
	r.r_level = s->level;
	snprintf(r.r_reasons, sizeof r.r_reasons, "fault 0.4");
	r.r_decision.d_rb = s->rb;
	r.r_decision.d_rb_value = s->rb_value;
	r.r_decision.d_rb_unset = s->rb_unset;
	r.r_decision.d_failover = s->fo;
	r.r_decision.d_reissue = s->reissue;
	r.r_decision.d_reissue_reason = s->reissue ? SC_REISSUE_BACKOFF : SC_REISSUE_NONE;
	snprintf(r.r_decision.d_note, sizeof r.r_decision.d_note, "scoring says why.");
	return &r;
}

static struct act_job job_buf;

/* act_prepare for r scored s at now, into the shared job. */
static struct act_job *
prepare(const struct rec *r, const struct score *s, int64_t now)
{
	struct tcert t;
	act_prepare(F.a, tc_build(&t, r), result(s), NULL, 0, now, &job_buf);
	return &job_buf;
}

/* Prepare and apply; returns act_apply's answer. */
static int
step(const struct rec *r, const struct score *s, int64_t now)
{
	return act_apply(F.a, prepare(r, s, now), now);
}

static struct sc_state
state_of(const struct rec *r, int64_t now)
{
	struct tcert t;
	struct sc_state st;
	memset(&st, 0, sizeof st);
	act_fill_state(F.a, tc_build(&t, r), now, &st);
	return st;
}

/* ---------------------------------------------------------------------------------------- */
/* JSON helpers                                                                              */

/* The member at the path of keys (NULL-terminated), or NULL. */
static cJSON *
jget(cJSON *o, ...)
{
	va_list ap;
	va_start(ap, o);
	const char *k;
	while (o && (k = va_arg(ap, const char *)) != NULL)
		o = cJSON_GetObjectItemCaseSensitive(o, k);
	va_end(ap);
	return o;
}

/*
 * What a member must be: NULL absent, "<null>" a JSON null, else that string. Returns 1 when it
 * is, and says what it is in got.
 */
static int
jis(cJSON *m, const char *want, char *got, size_t len)
{
	if (m == NULL)
		snprintf(got, len, "(absent)");
	else if (cJSON_IsNull(m))
		snprintf(got, len, "<null>");
	else if (cJSON_IsString(m))
		snprintf(got, len, "%s", m->valuestring);
	else
		snprintf(got, len, "(not a string)");
	if (want == NULL)
		return m == NULL;
	return strcmp(got, want) == 0;
}

static void
expect_member(const char *name, const char *what, cJSON *m, const char *want)
{
	char got[600];
	cr_expect(jis(m, want, got, sizeof got), "%s: %s is %s, want %s", name, what, got,
	    want ? want : "(absent)");
}

#define EXPECT_MEMBER(name, m, want) expect_member((name), #m, (m), (want))

/* ---------------------------------------------------------------------------------------- */
/* act_patch_body: one merge patch per plan shape                                            */

struct pb_case {
	const char *name;
	/* the plan */
	int annotate;
	const char *pfail;
	enum ap_spec rb;
	int64_t rb_value;
	int rb_unset;
	const char *orig_rb;
	enum ap_spec fo;
	const char *fo_group, *fo_kind, *fo_name;
	const char *orig_issuer;
	/* wanted: NULL absent, "<null>" null, else the string */
	int w_null_body;
	const char *w_rv;
	const char *w_pfail;
	const char *w_renew_before;
	const char *w_orig_rb;
	const char *w_ref; /* "kind group name" of spec.issuerRef, NULL absent */
	const char *w_orig_issuer;
	const char *w_last_action; /* the whole value with NOW_S, NULL absent */
	const char *w_last_reason;
};

static const struct pb_case pb_cases[] = {
    {.name = "nothing to write", .w_null_body = 1},
    {.name = "annotations with a predicted failure", .annotate = 1,
	.pfail = "2026-06-01T05:00:00Z", .w_pfail = "2026-06-01T05:00:00Z"},
    {.name = "annotations without a predicted failure: removed", .annotate = 1,
	.w_pfail = "<null>"},
    {.name = "renewBefore SET, spec had none", .rb = AP_SPEC_SET, .rb_value = 7200,
	.orig_rb = "unset", .w_rv = "42", .w_renew_before = "2h0m0s", .w_orig_rb = "unset",
	.w_last_action = "RenewBeforeAdjusted " NOW_S ": spec.renewBefore 2h0m0s",
	.w_last_reason = "RenewBeforeAdjusted"},
    {.name = "renewBefore SET, original already saved", .rb = AP_SPEC_SET, .rb_value = 90 * 60,
	.w_rv = "42", .w_renew_before = "1h30m0s",
	.w_last_action = "RenewBeforeAdjusted " NOW_S ": spec.renewBefore 1h30m0s",
	.w_last_reason = "RenewBeforeAdjusted"},
    {.name = "renewBefore SET with the annotations", .annotate = 1, .rb = AP_SPEC_SET,
	.rb_value = 7200, .orig_rb = "1h0m0s", .w_rv = "42", .w_pfail = "<null>",
	.w_renew_before = "2h0m0s", .w_orig_rb = "1h0m0s",
	.w_last_action = "RenewBeforeAdjusted " NOW_S ": spec.renewBefore 2h0m0s",
	.w_last_reason = "RenewBeforeAdjusted"},
    {.name = "renewBefore RESTORE to 720h", .rb = AP_SPEC_RESTORE, .rb_value = 720 * HOUR,
	.w_rv = "42", .w_renew_before = "720h0m0s", .w_orig_rb = "<null>",
	.w_last_action = "RenewBeforeRestored " NOW_S ": spec.renewBefore 720h0m0s",
	.w_last_reason = "RenewBeforeRestored"},
    {.name = "renewBefore RESTORE to unset", .rb = AP_SPEC_RESTORE, .rb_unset = 1, .w_rv = "42",
	.w_renew_before = "<null>", .w_orig_rb = "<null>",
	.w_last_action = "RenewBeforeRestored " NOW_S ": spec.renewBefore unset",
	.w_last_reason = "RenewBeforeRestored"},
    {.name = "failover", .fo = AP_SPEC_SET, .fo_group = "cert-manager.io",
	.fo_kind = "ClusterIssuer", .fo_name = "backup", .orig_issuer = "ClusterIssuer/le-prod",
	.w_rv = "42", .w_ref = "ClusterIssuer cert-manager.io backup",
	.w_orig_issuer = "ClusterIssuer/le-prod",
	.w_last_action = "IssuerFailover " NOW_S ": spec.issuerRef ClusterIssuer/backup",
	.w_last_reason = "IssuerFailover"},
    {.name = "failover, original already saved", .fo = AP_SPEC_SET,
	.fo_group = "cert-manager.io", .fo_kind = "Issuer", .fo_name = "spare", .w_rv = "42",
	.w_ref = "Issuer cert-manager.io spare",
	.w_last_action = "IssuerFailover " NOW_S ": spec.issuerRef Issuer/spare",
	.w_last_reason = "IssuerFailover"},
    {.name = "restore to an external issuer", .fo = AP_SPEC_RESTORE,
	.fo_group = "awspca.cert-manager.io", .fo_kind = "AWSPCAClusterIssuer", .fo_name = "pca",
	.w_rv = "42", .w_ref = "AWSPCAClusterIssuer awspca.cert-manager.io pca",
	.w_orig_issuer = "<null>",
	.w_last_action = "IssuerRestored " NOW_S
			 ": spec.issuerRef AWSPCAClusterIssuer.awspca.cert-manager.io/pca",
	.w_last_reason = "IssuerRestored"},
    {.name = "failover and renewBefore SET together", .annotate = 1, .rb = AP_SPEC_SET,
	.rb_value = 7200, .orig_rb = "unset", .fo = AP_SPEC_SET, .fo_group = "cert-manager.io",
	.fo_kind = "ClusterIssuer", .fo_name = "backup", .orig_issuer = "ClusterIssuer/le-prod",
	.w_rv = "42", .w_pfail = "<null>", .w_renew_before = "2h0m0s", .w_orig_rb = "unset",
	.w_ref = "ClusterIssuer cert-manager.io backup", .w_orig_issuer = "ClusterIssuer/le-prod",
	.w_last_action = "IssuerFailover " NOW_S
			 ": spec.issuerRef ClusterIssuer/backup, spec.renewBefore 2h0m0s",
	.w_last_reason = "IssuerFailover"},
    {.name = "restore of both, renewBefore to unset", .rb = AP_SPEC_RESTORE, .rb_unset = 1,
	.fo = AP_SPEC_RESTORE, .fo_group = "cert-manager.io", .fo_kind = "Issuer",
	.fo_name = "primary", .w_rv = "42", .w_renew_before = "<null>", .w_orig_rb = "<null>",
	.w_ref = "Issuer cert-manager.io primary", .w_orig_issuer = "<null>",
	.w_last_action = "IssuerRestored " NOW_S
			 ": spec.issuerRef Issuer/primary, spec.renewBefore unset",
	.w_last_reason = "IssuerRestored"},
};

static void
job_from_case(struct act_job *j, const struct pb_case *k)
{
	memset(j, 0, sizeof *j);
	snprintf(j->j_ns, sizeof j->j_ns, "shop");
	snprintf(j->j_name, sizeof j->j_name, "web");
	snprintf(j->j_uid, sizeof j->j_uid, "uid-1");
	snprintf(j->j_rv, sizeof j->j_rv, "42");
	struct ap_plan *p = &j->j_plan;
	p->p_mode = SC_MODE_ENFORCE;
	p->p_annotate = k->annotate;
	snprintf(p->p_risk, sizeof p->p_risk, "0.6");
	snprintf(p->p_level, sizeof p->p_level, "high");
	snprintf(p->p_reasons, sizeof p->p_reasons, "fault 0.4; backoff 3h");
	snprintf(p->p_pfail, sizeof p->p_pfail, "%s", k->pfail ? k->pfail : "");
	p->p_level_num = SC_LEVEL_HIGH;
	p->p_rb = k->rb;
	p->p_rb_value = k->rb_value;
	p->p_rb_unset = k->rb_unset;
	snprintf(p->p_orig_rb, sizeof p->p_orig_rb, "%s", k->orig_rb ? k->orig_rb : "");
	p->p_fo = k->fo;
	snprintf(p->p_fo_group, sizeof p->p_fo_group, "%s", k->fo_group ? k->fo_group : "");
	snprintf(p->p_fo_kind, sizeof p->p_fo_kind, "%s", k->fo_kind ? k->fo_kind : "");
	snprintf(p->p_fo_name, sizeof p->p_fo_name, "%s", k->fo_name ? k->fo_name : "");
	snprintf(p->p_orig_issuer, sizeof p->p_orig_issuer, "%s",
	    k->orig_issuer ? k->orig_issuer : "");
}

Test(act, patch_body_per_plan_shape)
{
	struct act_job *j = calloc(1, sizeof *j);
	for (size_t i = 0; i < sizeof pb_cases / sizeof pb_cases[0]; i++) {
		const struct pb_case *k = &pb_cases[i];
		job_from_case(j, k);
		char *body = act_patch_body(j, NOW);
		cr_expect_eq(body == NULL, k->w_null_body, "%s: body %s", k->name,
		    body ? body : "NULL");
		if (body == NULL)
			continue;
		cJSON *o = cJSON_Parse(body);
		cr_assert_not_null(o, "%s: not JSON: %s", k->name, body);
		cJSON *an = jget(o, "metadata", "annotations", NULL);
		cr_expect(cJSON_IsObject(an), "%s: no annotations: %s", k->name, body);
		/* the risk annotations go with p_annotate, and only then */
		EXPECT_MEMBER(k->name, jget(an, "certcast.io/risk", NULL), k->annotate ? "0.6" : NULL);
		EXPECT_MEMBER(k->name, jget(an, "certcast.io/risk-level", NULL),
		    k->annotate ? "high" : NULL);
		EXPECT_MEMBER(k->name, jget(an, "certcast.io/risk-reasons", NULL),
		    k->annotate ? "fault 0.4; backoff 3h" : NULL);
		EXPECT_MEMBER(k->name, jget(an, "certcast.io/predicted-failure", NULL), k->w_pfail);
		/* a spec change is guarded by the resourceVersion it was decided on */
		EXPECT_MEMBER(k->name, jget(o, "metadata", "resourceVersion", NULL), k->w_rv);
		EXPECT_MEMBER(k->name, jget(o, "spec", "renewBefore", NULL), k->w_renew_before);
		EXPECT_MEMBER(k->name, jget(an, "certcast.io/original-renew-before", NULL),
		    k->w_orig_rb);
		cJSON *ir = jget(o, "spec", "issuerRef", NULL);
		if (k->w_ref) {
			char ref[600];
			cJSON *kd = jget(ir, "kind", NULL), *g = jget(ir, "group", NULL),
			      *n = jget(ir, "name", NULL);
			snprintf(ref, sizeof ref, "%s %s %s",
			    cJSON_IsString(kd) ? kd->valuestring : "?",
			    cJSON_IsString(g) ? g->valuestring : "?",
			    cJSON_IsString(n) ? n->valuestring : "?");
			cr_expect_str_eq(ref, k->w_ref, "%s: issuerRef %s", k->name, ref);
		} else {
			cr_expect_null(ir, "%s: an issuerRef: %s", k->name, body);
		}
		EXPECT_MEMBER(k->name, jget(an, "certcast.io/original-issuer", NULL),
		    k->w_orig_issuer);
		cJSON *la = jget(an, "certcast.io/last-action", NULL);
		EXPECT_MEMBER(k->name, la, k->w_last_action);
		if (k->w_last_reason && cJSON_IsString(la)) {
			char action[40];
			int64_t when = 0;
			cr_expect_eq(as_parse_last_action(la->valuestring, action, sizeof action, &when),
			    1, "%s: last-action \"%s\" does not parse", k->name, la->valuestring);
			cr_expect_str_eq(action, k->w_last_reason, "%s: action %s", k->name, action);
			cr_expect_eq(when, NOW, "%s: when %lld", k->name, (long long)when);
		}
		/* nothing but metadata and spec, and spec only for a spec change */
		int nkeys = cJSON_GetArraySize(o);
		int want = 1 + (k->rb != AP_SPEC_NONE || k->fo != AP_SPEC_NONE);
		cr_expect_eq(nkeys, want, "%s: %d top-level keys: %s", k->name, nkeys, body);
		cJSON_Delete(o);
		free(body);
	}
	free(j);
}

/* ---------------------------------------------------------------------------------------- */
/* act_set_issuing                                                                           */

struct is_case {
	const char *name;
	const char *obj;
	int want;
	size_t w_nconds;    /* conditions after */
	int w_issuing_at;   /* index of Issuing after */
	int w_gen;          /* observedGeneration wanted, -1: absent */
};

static const struct is_case is_cases[] = {
    {"no status", "{\"kind\":\"Certificate\",\"metadata\":{\"name\":\"web\",\"generation\":3}}", 0,
	1, 0, 3},
    {"status without conditions, no generation",
	"{\"kind\":\"Certificate\",\"metadata\":{\"name\":\"web\"},\"status\":{\"notAfter\":"
	"\"2026-07-01T00:00:00Z\"}}",
	0, 1, 0, -1},
    {"Ready only",
	"{\"kind\":\"Certificate\",\"metadata\":{\"generation\":7},\"status\":{\"conditions\":"
	"[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
	0, 2, 1, 7},
    {"Issuing=False is replaced, not duplicated",
	"{\"kind\":\"Certificate\",\"metadata\":{\"generation\":2},\"status\":{\"conditions\":"
	"[{\"type\":\"Issuing\",\"status\":\"False\",\"reason\":\"Failed\"},{\"type\":\"Ready\","
	"\"status\":\"False\"}]}}",
	0, 2, 0, 2},
    {"Issuing=Unknown is replaced",
	"{\"kind\":\"Certificate\",\"metadata\":{\"generation\":2},\"status\":{\"conditions\":"
	"[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"Issuing\",\"status\":\"Unknown\"}]}}",
	0, 2, 1, 2},
    {"status not an object", "{\"kind\":\"Certificate\",\"metadata\":{},\"status\":\"x\"}", 0, 1,
	0, -1},
    {"conditions not an array",
	"{\"kind\":\"Certificate\",\"metadata\":{},\"status\":{\"conditions\":{}}}", 0, 1, 0, -1},
    {"Issuing=True: nothing to do",
	"{\"kind\":\"Certificate\",\"metadata\":{},\"status\":{\"conditions\":[{\"type\":"
	"\"Issuing\",\"status\":\"True\",\"reason\":\"Renewing\"}]}}",
	1, 1, 0, -1},
    {"not a Certificate", "{\"kind\":\"Secret\",\"metadata\":{}}", -1, 0, -1, -1},
    {"no kind", "{\"metadata\":{}}", -1, 0, -1, -1},
    {"no metadata", "{\"kind\":\"Certificate\"}", -1, 0, -1, -1},
};

Test(act, set_issuing)
{
	char ltt[TF_BUFSZ];
	cr_assert_eq(tf_format_time(NOW, ltt, sizeof ltt), CC_OK);
	for (size_t i = 0; i < sizeof is_cases / sizeof is_cases[0]; i++) {
		const struct is_case *k = &is_cases[i];
		cJSON *o = cJSON_Parse(k->obj);
		cr_assert_not_null(o, "%s", k->name);
		char *before = cJSON_PrintUnformatted(o);
		int rc = act_set_issuing(o, "Re-issuance triggered by certcast: x", NOW);
		cr_expect_eq(rc, k->want, "%s: %d, want %d", k->name, rc, k->want);
		char *after = cJSON_PrintUnformatted(o);
		if (k->want != 0) {
			cr_expect_str_eq(after, before, "%s: changed: %s", k->name, after);
		} else {
			cJSON *conds = jget(o, "status", "conditions", NULL);
			cr_assert(cJSON_IsArray(conds), "%s: %s", k->name, after);
			size_t n = (size_t)cJSON_GetArraySize(conds), nissuing = 0;
			cr_expect_eq(n, k->w_nconds, "%s: %zu conditions: %s", k->name, n, after);
			cJSON *c;
			cJSON_ArrayForEach(c, conds)
			{
				cJSON *t = jget(c, "type", NULL);
				nissuing += cJSON_IsString(t) && strcmp(t->valuestring, "Issuing") == 0;
			}
			cr_expect_eq(nissuing, 1, "%s: %zu Issuing conditions", k->name, nissuing);
			c = cJSON_GetArrayItem(conds, k->w_issuing_at);
			EXPECT_MEMBER(k->name, jget(c, "type", NULL), "Issuing");
			EXPECT_MEMBER(k->name, jget(c, "status", NULL), "True");
			EXPECT_MEMBER(k->name, jget(c, "reason", NULL), "CertcastTriggered");
			EXPECT_MEMBER(k->name, jget(c, "message", NULL),
			    "Re-issuance triggered by certcast: x");
			EXPECT_MEMBER(k->name, jget(c, "lastTransitionTime", NULL), ltt);
			cJSON *og = jget(c, "observedGeneration", NULL);
			if (k->w_gen < 0)
				cr_expect_null(og, "%s: observedGeneration without a generation",
				    k->name);
			else
				cr_expect(cJSON_IsNumber(og) && og->valuedouble == k->w_gen,
				    "%s: observedGeneration: %s", k->name, after);
		}
		free(before);
		free(after);
		cJSON_Delete(o);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* act_apply: the requests                                                                   */

#define HIGH_ANN {"certcast.io/risk", "0.6"}, {"certcast.io/risk-level", "high"}

Test(act, annotation_only_patch)
{
	fx_act(0, NULL);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	const struct rec r = {0};
	const struct score s = {.mode = SC_MODE_OBSERVE, .risk = 0.0132, .level = SC_LEVEL_MEDIUM};
	struct act_job *j = prepare(&r, &s, NOW);
	cr_expect_eq(j->j_plan.p_annotate, 1);
	char *want = act_patch_body(j, NOW);
	cr_expect_eq(act_apply(F.a, j, NOW), CC_OK);
	cr_assert_eq(th_server_request_count(F.srv), 1);
	const struct th_request *q = th_server_request(F.srv, 0);
	cr_expect_str_eq(q->tr_method, "PATCH");
	cr_expect_str_eq(q->tr_target, CERT_PATH);
	cr_expect_str_eq(th_request_header(q, "Content-Type"), MERGE);
	cr_expect_str_eq(q->tr_body, want, "the body sent is act_patch_body's");
	free(want);
	cJSON *o = cJSON_Parse(q->tr_body);
	EXPECT_MEMBER("sent", jget(o, "metadata", "annotations", "certcast.io/risk", NULL),
	    "0.0132");
	EXPECT_MEMBER("sent", jget(o, "metadata", "resourceVersion", NULL), NULL);
	cJSON_Delete(o);
	cr_expect_str_eq(events(), "", "medium from nothing: no Event");
	cr_expect(action_count("annotate", "observe") == 1, "annotate counted");
	cr_expect(action_count("annotate", "enforce") == 0, "under its own mode");

	/* 10 s later the watch has not brought the write: the memory holds the next one back */
	cr_expect_eq(step(&r, &s, NOW + 10), CC_OK);
	cr_expect_eq(th_server_request_count(F.srv), 1, "a second write 10 s later");
	/* a minute later it may write again */
	cr_expect_eq(step(&r, &s, NOW + AP_ANNOT_INTERVAL), CC_OK);
	cr_expect_eq(th_server_request_count(F.srv), 2, "no write a minute later");
}

/* Events of the plan go out after the patch, on the object as the patch left it. */
Test(act, plan_events_after_a_successful_patch)
{
	fx_act(0, NULL);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	const struct rec r = {0};
	const struct score s = {.mode = SC_MODE_OBSERVE, .risk = 0.6, .level = SC_LEVEL_HIGH};
	cr_expect_eq(step(&r, &s, NOW), CC_OK);
	cr_assert_str_eq(events(), "W:RiskRaised");
	const struct ev *e = &F.ev[0];
	cr_expect_eq(e->requests_before, 1, "emitted before the patch");
	cr_expect_str_eq(e->rv, "43", "on the patched object's resourceVersion");
	cr_expect_str_eq(e->ns, "shop");
	cr_expect_str_eq(e->name, "web");
	cr_expect_str_eq(e->uid, "uid-1");
	cr_expect_str_eq(e->action, "Forecast");
	/* once: the memory knows it wrote high */
	cr_expect_eq(step(&r, &s, NOW + 10), CC_OK);
	cr_expect_str_eq(events(), "W:RiskRaised", "RiskRaised twice");
	/* a failing Event is logged, not an error of the write */
	F.emit_rc = CC_ERR_FORBIDDEN;
	const struct score low = {.mode = SC_MODE_OBSERVE, .risk = 0.001, .level = SC_LEVEL_LOW};
	cr_expect_eq(step(&r, &low, NOW + 20), CC_OK);
	cr_expect_str_eq(events(), "W:RiskRaised,N:RiskCleared");
}

Test(act, spec_patch_and_its_event)
{
	fx_act(0, NULL);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	const struct rec r = {.ann = {HIGH_ANN}, .has_rb = 1, .rb = 3600};
	const struct score s = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .rb = SC_RB_SET, .rb_value = 7200};
	cr_expect_eq(step(&r, &s, NOW), CC_OK);
	cr_assert_eq(th_server_request_count(F.srv), 1);
	const struct th_request *q = th_server_request(F.srv, 0);
	cr_expect_str_eq(q->tr_method, "PATCH");
	cr_expect_str_eq(q->tr_target, CERT_PATH);
	cr_expect_str_eq(th_request_header(q, "Content-Type"), MERGE);
	cJSON *o = cJSON_Parse(q->tr_body);
	EXPECT_MEMBER("sent", jget(o, "metadata", "resourceVersion", NULL), "42");
	EXPECT_MEMBER("sent", jget(o, "spec", "renewBefore", NULL), "2h0m0s");
	EXPECT_MEMBER("sent",
	    jget(o, "metadata", "annotations", "certcast.io/original-renew-before", NULL), "1h0m0s");
	cJSON_Delete(o);
	cr_assert_str_eq(events(), "N:RenewBeforeAdjusted");
	cr_expect_str_eq(F.ev[0].note, "Set spec.renewBefore 2h0m0s. scoring says why.");
	cr_expect_str_eq(F.ev[0].action, "Enforce");
	cr_expect_str_eq(F.ev[0].rv, "43");
	cr_expect(action_count("renew-before-adjust", "enforce") == 1);
	cr_expect(action_count("annotate", "enforce") == 0, "no annotation written");
	struct sc_state st = state_of(&r, NOW + 1);
	cr_expect_eq(st.st_last_change, NOW, "the memory's last change");
}

Test(act, reissue_is_cmctl_renew)
{
	fx_act(ACT_REISSUE_BUDGET, NULL);
	route("GET", CERT_PATH, 200, OBJ("50"));
	route("PUT", CERT_PATH "/status", 200, OBJ("51"));
	route("PATCH", CERT_PATH, 200, OBJ("52"));
	const struct rec r = {.ann = {HIGH_ANN}};
	const struct score s = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .reissue = 1};
	struct act_job *j = prepare(&r, &s, NOW);
	cr_assert_eq(j->j_plan.p_reissue, 1);
	cr_assert_eq(ap_patches(&j->j_plan), 0, "nothing else in the plan");
	char msg[256];
	snprintf(msg, sizeof msg, "%s", j->j_plan.p_reissue_msg);
	cr_expect_eq(act_apply(F.a, j, NOW), CC_OK);
	cr_assert_eq(th_server_request_count(F.srv), 3);
	const struct th_request *g = th_server_request(F.srv, 0), *p = th_server_request(F.srv, 1),
				*l = th_server_request(F.srv, 2);
	cr_expect_str_eq(g->tr_method, "GET");
	cr_expect_str_eq(g->tr_target, CERT_PATH);
	cr_expect_str_eq(p->tr_method, "PUT");
	cr_expect_str_eq(p->tr_target, CERT_PATH "/status");
	cJSON *o = cJSON_Parse(p->tr_body);
	cr_assert_not_null(o, "PUT body: %s", p->tr_body);
	EXPECT_MEMBER("PUT", jget(o, "metadata", "resourceVersion", NULL), "50");
	cJSON *conds = jget(o, "status", "conditions", NULL);
	cr_expect_eq(cJSON_GetArraySize(conds), 2, "Ready kept, Issuing added");
	cJSON *c = cJSON_GetArrayItem(conds, 1);
	EXPECT_MEMBER("PUT", jget(c, "type", NULL), "Issuing");
	EXPECT_MEMBER("PUT", jget(c, "status", NULL), "True");
	EXPECT_MEMBER("PUT", jget(c, "reason", NULL), "CertcastTriggered");
	EXPECT_MEMBER("PUT", jget(c, "message", NULL), msg);
	cr_expect(cJSON_IsNumber(jget(c, "observedGeneration", NULL)) &&
		  jget(c, "observedGeneration", NULL)->valuedouble == 3);
	cJSON_Delete(o);
	cr_expect_str_eq(l->tr_method, "PATCH");
	cr_expect_str_eq(l->tr_target, CERT_PATH);
	cr_expect_str_eq(th_request_header(l, "Content-Type"), MERGE);
	o = cJSON_Parse(l->tr_body);
	cJSON *la = jget(o, "metadata", "annotations", "certcast.io/last-action", NULL);
	cr_assert(cJSON_IsString(la), "PATCH body: %s", l->tr_body);
	char action[40];
	int64_t when = 0;
	cr_expect_eq(as_parse_last_action(la->valuestring, action, sizeof action, &when), 1);
	cr_expect_str_eq(action, "ReissueTriggered");
	cr_expect_eq(when, NOW);
	cr_expect_null(jget(o, "spec", NULL), "the last-action patch changes no spec");
	cJSON_Delete(o);
	cr_assert_str_eq(events(), "N:ReissueTriggered");
	cr_expect_str_eq(F.ev[0].rv, "51", "on the object the PUT made");
	cr_expect(strstr(F.ev[0].note, msg) != NULL, "note: %s", F.ev[0].note);
	cr_expect(action_count("reissue", "enforce") == 1);
	struct sc_state st = state_of(&r, NOW + 1);
	cr_expect_eq(st.st_last_reissue, NOW);
	cr_expect_eq(st.st_reissues_used, 1);
}

Test(act, reissue_when_already_issuing_does_nothing)
{
	fx_act(ACT_REISSUE_BUDGET, NULL);
	route("GET", CERT_PATH, 200, OBJ_ISSUING("50"));
	route("PUT", CERT_PATH "/status", 200, OBJ("51"));
	route("PATCH", CERT_PATH, 200, OBJ("52"));
	const struct rec r = {.ann = {HIGH_ANN}};
	const struct score s = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .reissue = 1};
	cr_expect_eq(step(&r, &s, NOW), CC_OK);
	cr_expect_eq(th_server_request_count(F.srv), 1, "the GET alone");
	cr_expect_str_eq(events(), "");
	cr_expect(action_count("reissue", "enforce") == 0);
	struct sc_state st = state_of(&r, NOW + 1);
	cr_expect_eq(st.st_reissues_used, 0, "not counted against the budget");
	cr_expect_eq(st.st_last_reissue, 0);
}

/* With a spec change in the plan, the reissue waits for the next reconcile. */
Test(act, reissue_waits_for_a_spec_change)
{
	fx_act(ACT_REISSUE_BUDGET, NULL);
	route("GET", CERT_PATH, 200, OBJ("50"));
	route("PUT", CERT_PATH "/status", 200, OBJ("51"));
	route("PATCH", CERT_PATH, 200, OBJ("52"));
	const struct rec r = {.ann = {HIGH_ANN}};
	const struct score s = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .rb = SC_RB_SET, .rb_value = 7200, .reissue = 1};
	cr_expect_eq(step(&r, &s, NOW), CC_OK);
	cr_assert_eq(th_server_request_count(F.srv), 1);
	cr_expect_str_eq(th_server_request(F.srv, 0)->tr_method, "PATCH");
	cr_expect_str_eq(events(), "N:RenewBeforeAdjusted");
}

Test(act, only_the_leader_writes)
{
	fx_act(ACT_REISSUE_BUDGET, NULL);
	route("GET", CERT_PATH, 200, OBJ("50"));
	route("PUT", CERT_PATH "/status", 200, OBJ("51"));
	route("PATCH", CERT_PATH, 200, OBJ("52"));
	const struct rec r = {0};
	const struct score s = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .reissue = 1};
	const struct score off = {.mode = SC_MODE_OFF, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .reissue = 1};
	F.leader = 0;
	cr_expect_eq(step(&r, &s, NOW), CC_OK);
	cr_expect_eq(th_server_request_count(F.srv), 0, "a follower sent a request");
	cr_expect_str_eq(events(), "", "a follower emitted");
	F.leader = 1;
	cr_expect_eq(step(&r, &off, NOW), CC_OK);
	cr_expect_eq(th_server_request_count(F.srv), 0, "mode off sent a request");
	cr_expect_str_eq(events(), "", "mode off emitted");
	/* the other direction: the leader does write, and emits */
	cr_expect_eq(step(&r, &s, NOW), CC_OK);
	cr_expect_eq(th_server_request_count(F.srv), 4, "annotate, then GET, PUT, PATCH");
	cr_expect_str_eq(events(), "W:RiskRaised,N:ReissueTriggered");
}

/* How each answer of the API server to a spec patch ends. */
Test(act, api_server_answers)
{
	const struct {
		const char *name;
		int status;
		const char *body;
		int want_rc;
		const char *want_events;
		const char *want_note; /* substring of the first Event's note */
	} rows[] = {
	    {"409: retried on a fresh view, nothing said", 409,
		STATUS(409, "Conflict", "the object has been modified"), CC_ERR_CONFLICT, "", NULL},
	    {"500: retried", 500, STATUS(500, "InternalError", "etcd"), CC_ERR_UNAVAILABLE, "",
		NULL},
	    {"422: refused for good, said so", 422,
		STATUS(422, "Invalid", "spec.renewBefore: Invalid value"), CC_OK,
		"W:DiagnosticFailed,W:RiskRaised", "HTTP 422): spec.renewBefore: Invalid value"},
	    {"403: refused for good, said so", 403, STATUS(403, "Forbidden", "cannot patch"),
		CC_OK, "W:DiagnosticFailed,W:RiskRaised", "HTTP 403): cannot patch"},
	    {"404: deleted meanwhile, nothing said", 404, STATUS(404, "NotFound", "not found"),
		CC_OK, "", NULL},
	    {"200: done", 200, OBJ("43"), CC_OK, "N:RenewBeforeAdjusted,W:RiskRaised", NULL},
	};
	const struct rec r = {.has_rb = 1, .rb = 3600};
	const struct score s = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .rb = SC_RB_SET, .rb_value = 7200, .reissue = 0};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		fx_act(0, NULL);
		th_server_clear_routes(F.srv);
		F.nev = 0;
		route("PATCH", CERT_PATH, rows[i].status, rows[i].body);
		size_t before = th_server_request_count(F.srv);
		int rc = step(&r, &s, NOW);
		cr_expect_eq(rc, rows[i].want_rc, "%s: %s", rows[i].name, cc_strerror(rc));
		cr_expect_eq(th_server_request_count(F.srv) - before, 1, "%s: one request",
		    rows[i].name);
		cr_expect_str_eq(events(), rows[i].want_events, "%s: events %s", rows[i].name,
		    events());
		if (rows[i].want_note && F.nev > 0)
			cr_expect(strstr(F.ev[0].note, rows[i].want_note) != NULL, "%s: note %s",
			    rows[i].name, F.ev[0].note);
		int ok = rows[i].status == 200;
		struct sc_state st = state_of(&r, NOW + 1);
		cr_expect_eq(st.st_last_change, ok ? NOW : 0, "%s: memory's last change %lld",
		    rows[i].name, (long long)st.st_last_change);
		cr_expect(action_count("renew-before-adjust", "enforce") == ok, "%s: counted",
		    rows[i].name);
		met_registry_free(F.reg);
		F.reg = met_registry_new();
		cr_assert_eq(met_std_register(F.reg, "t", &F.ms), CC_OK);
	}
}

/*
 * A write refused for good is not retried at every reconcile: the level counts as written, so
 * the next plan has no RiskRaised, and the annotations wait for the interval.
 */
Test(act, refused_for_good_is_not_repeated_at_once)
{
	const struct rec r = {.has_rb = 1, .rb = 3600};
	const struct score s = {.mode = SC_MODE_OBSERVE, .risk = 0.6, .level = SC_LEVEL_HIGH};
	for (int forbidden = 0; forbidden <= 1; forbidden++) {
		fx_act(0, NULL);
		th_server_clear_routes(F.srv);
		F.nev = 0;
		if (forbidden)
			route("PATCH", CERT_PATH, 403, STATUS(403, "Forbidden", "cannot patch"));
		else
			route("PATCH", CERT_PATH, 500, STATUS(500, "InternalError", "etcd"));
		(void)step(&r, &s, NOW);
		size_t before = th_server_request_count(F.srv);
		F.nev = 0;
		(void)step(&r, &s, NOW + 10);
		size_t sent = th_server_request_count(F.srv) - before;
		if (forbidden) {
			cr_expect_eq(sent, 0, "403: no second write 10s later (%zu)", sent);
			cr_expect_str_eq(events(), "", "403: nothing said again: %s", events());
			before = th_server_request_count(F.srv);
			(void)step(&r, &s, NOW + AP_ANNOT_INTERVAL);
			cr_expect_eq(th_server_request_count(F.srv) - before, 1,
			    "403: tried again after the interval");
		} else {
			/* a passing failure is retried at once, RiskRaised with it */
			cr_expect_eq(sent, 1, "500: written again (%zu)", sent);
			cr_expect(strstr(events(), "RiskRaised") == NULL, "500: no Event before the "
			    "write succeeds: %s", events());
		}
	}
}

/* A deleted Certificate: the reissue's GET finds nothing, and nothing is said. */
Test(act, reissue_of_a_deleted_certificate)
{
	fx_act(ACT_REISSUE_BUDGET, NULL);
	route("GET", CERT_PATH, 404, STATUS(404, "NotFound", "not found"));
	const struct rec r = {.ann = {HIGH_ANN}};
	const struct score s = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .reissue = 1};
	cr_expect_eq(step(&r, &s, NOW), CC_OK);
	cr_expect_eq(th_server_request_count(F.srv), 1);
	cr_expect_str_eq(events(), "");
	cr_expect_eq(state_of(&r, NOW + 1).st_reissues_used, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Reissue budget and the memory behind act_fill_state                                       */

Test(act, reissue_budget_per_issuer_and_hour)
{
	fx_act(3, NULL);
	route("GET", CERT_PATH, 200, OBJ("50"));
	route("PUT", CERT_PATH "/status", 200, OBJ("51"));
	route("PATCH", CERT_PATH, 200, OBJ("52"));
	const struct rec r = {.ann = {HIGH_ANN}};
	const struct score s = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .reissue = 1};
	for (int i = 0; i < 3; i++)
		cr_expect_eq(step(&r, &s, NOW + 60 * i), CC_OK);
	cr_expect(action_count("reissue", "enforce") == 3);
	const struct rec peer = {.ns = "other", .name = "api"};           /* same ClusterIssuer */
	const struct rec ns_issuer = {.ikind = "Issuer", .iname = "le-prod"}; /* not it */
	const struct rec other = {.iname = "backup"};
	const struct {
		const char *name;
		const struct rec *r;
		int64_t at;
		uint32_t want;
	} rows[] = {
	    /* in time order: the window slides with each look */
	    {"right after", &r, NOW + 180, 3},
	    {"another namespace on the same ClusterIssuer", &peer, NOW + 180, 3},
	    {"an Issuer of the same name", &ns_issuer, NOW + 180, 0},
	    {"another ClusterIssuer", &other, NOW + 180, 0},
	    {"just under an hour after the first", &r, NOW + HOUR - 1, 3},
	    {"an hour after the first", &r, NOW + HOUR, 2},
	    {"an hour after the last", &r, NOW + 120 + HOUR, 0},
	    {"long after", &r, NOW + 10 * HOUR, 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct sc_state st = state_of(rows[i].r, rows[i].at);
		cr_expect_eq(st.st_reissue_budget, 3, "%s: budget %u", rows[i].name,
		    st.st_reissue_budget);
		cr_expect_eq(st.st_reissues_used, rows[i].want, "%s: used %u, want %u", rows[i].name,
		    st.st_reissues_used, rows[i].want);
	}
}

Test(act, namespaced_issuer_budgets_are_per_namespace)
{
	fx_act(5, NULL);
	route("GET", CERT_PATH, 200, OBJ("50"));
	route("PUT", CERT_PATH "/status", 200, OBJ("51"));
	route("PATCH", CERT_PATH, 200, OBJ("52"));
	const struct rec r = {.ann = {HIGH_ANN}, .ikind = "Issuer", .iname = "ca"};
	const struct score s = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .reissue = 1};
	cr_expect_eq(step(&r, &s, NOW), CC_OK);
	const struct rec same = {.name = "other", .ikind = "Issuer", .iname = "ca"};
	const struct rec elsewhere = {.ns = "web", .ikind = "Issuer", .iname = "ca"};
	cr_expect_eq(state_of(&same, NOW + 1).st_reissues_used, 1, "same namespace, same Issuer");
	cr_expect_eq(state_of(&elsewhere, NOW + 1).st_reissues_used, 0, "another namespace's");
}

Test(act, unlimited_budget)
{
	fx_act(0, NULL);
	route("GET", CERT_PATH, 200, OBJ("50"));
	route("PUT", CERT_PATH "/status", 200, OBJ("51"));
	route("PATCH", CERT_PATH, 200, OBJ("52"));
	const struct rec r = {.ann = {HIGH_ANN}};
	const struct score s = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .reissue = 1};
	cr_expect_eq(step(&r, &s, NOW), CC_OK);
	struct sc_state st = state_of(&r, NOW + 1);
	cr_expect_eq(st.st_reissue_budget, 0);
	cr_expect_eq(st.st_reissues_used, 0);
	cr_expect_eq(st.st_last_reissue, NOW, "the time is still remembered");
}

Test(act, fill_state_takes_the_memory)
{
	fx_act(0, NULL);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	const struct rec r = {.ann = {HIGH_ANN}};
	const struct score s = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .rb = SC_RB_SET, .rb_value = 7200};
	cr_expect_eq(step(&r, &s, NOW), CC_OK);
	struct tcert t;
	const struct {
		const char *name;
		int64_t prior;  /* st_last_change from the annotation */
		int64_t want;
	} rows[] = {
	    {"nothing from the annotation", 0, NOW},
	    {"an older annotation", NOW - HOUR, NOW},
	    {"a newer annotation", NOW + 5, NOW + 5},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct sc_state st;
		memset(&st, 0, sizeof st);
		st.st_last_change = rows[i].prior;
		st.st_last_reissue = rows[i].prior;
		act_fill_state(F.a, tc_build(&t, &r), NOW + 10, &st);
		cr_expect_eq(st.st_last_change, rows[i].want, "%s: %lld", rows[i].name,
		    (long long)st.st_last_change);
		cr_expect_eq(st.st_last_reissue, rows[i].prior, "%s: no reissue remembered",
		    rows[i].name);
	}
	/* another object under the same name: nothing certcast did applies to it */
	const struct rec again = {.ann = {HIGH_ANN}, .uid = "uid-2"};
	cr_expect_eq(state_of(&again, NOW + 10).st_last_change, 0, "another uid");
	/* once prepared, the memory starts afresh, for either uid */
	const struct score calm = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH};
	(void)prepare(&again, &calm, NOW + 20);
	cr_expect_eq(state_of(&again, NOW + 30).st_last_change, 0);
	cr_expect_eq(state_of(&r, NOW + 30).st_last_change, 0, "the old uid's memory is gone");
	/* and act_forget forgets */
	cr_expect_eq(step(&again, &s, NOW + 40), CC_OK);
	cr_expect_eq(state_of(&again, NOW + 50).st_last_change, NOW + 40);
	act_forget(F.a, "shop", "web");
	cr_expect_eq(state_of(&again, NOW + 50).st_last_change, 0, "forgotten");
}

/* ---------------------------------------------------------------------------------------- */
/* Manager conflict                                                                          */

/* The user's renewBefore (1h) and certcast's (2h), with the decision to set certcast's. */
static const struct rec rb_user = {.ann = {HIGH_ANN}, .has_rb = 1, .rb = 3600};
static const struct rec rb_mine = {.ann = {HIGH_ANN}, .has_rb = 1, .rb = 7200};
static const struct score set2h = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
    .rb = SC_RB_SET, .rb_value = 7200};
static const struct score leave = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
    .rb = SC_RB_LEAVE};

static size_t
patches(void)
{
	size_t n = 0;
	for (size_t i = 0; i < th_server_request_count(F.srv); i++)
		n += strcmp(th_server_request(F.srv, i)->tr_method, "PATCH") == 0;
	return n;
}

/* The conflict outlives the process: a fresh executor reads it from the annotation. */
Test(act, manager_conflict_survives_a_restart)
{
	fx_act(0, NULL);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	const struct rec marked = {.ann = {HIGH_ANN, {"certcast.io/manager-conflict",
					"2026-06-01T00:00:00Z: spec.renewBefore was changed"}},
	    .has_rb = 1, .rb = 3600};
	struct act_job *j = prepare(&marked, &set2h, NOW);
	cr_expect_eq(j->j_plan.p_rb, AP_SPEC_NONE, "no action with the annotation, fresh memory");
	cr_expect_str_eq(j->j_conflict, "", "not a new conflict");
	j = prepare(&rb_user, &set2h, NOW + 60);
	cr_expect_eq(j->j_plan.p_rb, AP_SPEC_SET, "without it, the same plan acts");
}

Test(act, manager_conflict_after_two_reverts)
{
	fx_act(0, NULL);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	int64_t t = NOW;
	cr_expect_eq(step(&rb_user, &set2h, t += 60), CC_OK);
	cr_expect_eq(patches(), 1, "certcast's SET");
	cr_expect_eq(step(&rb_mine, &leave, t += 60), CC_OK); /* seen */
	struct act_job *j = prepare(&rb_user, &set2h, t += 60); /* revert 1 */
	cr_expect_str_eq(j->j_conflict, "", "one revert is no conflict");
	cr_expect_eq(j->j_plan.p_rb, AP_SPEC_SET, "certcast sets it again");
	cr_expect_eq(act_apply(F.a, j, t), CC_OK);
	cr_expect_eq(patches(), 2);
	cr_expect_eq(step(&rb_mine, &leave, t += 60), CC_OK); /* seen */
	cr_expect(action_count("manager-conflict", "enforce") == 0);
	j = prepare(&rb_user, &set2h, t += 60); /* revert 2 */
	cr_expect_neq(j->j_conflict[0], '\0', "the second revert is a conflict");
	cr_expect_eq(j->j_plan.p_rb, AP_SPEC_NONE, "hands off");
	cr_expect_eq(act_apply(F.a, j, t), CC_OK);
	cr_expect_eq(patches(), 3, "the conflict is written, and nothing else");
	{
		const struct th_request *rq =
		    th_server_request(F.srv, th_server_request_count(F.srv) - 1);
		cJSON *b = cJSON_Parse(rq->tr_body);
		cJSON *v = jget(b, "metadata", "annotations", "certcast.io/manager-conflict", NULL);
		cr_expect(cJSON_IsString(v) && strstr(v->valuestring, "Z: spec.renewBefore was "
								       "changed from 2h0m0s to 1h0m0s") != NULL,
		    "the conflict annotation: %s", rq->tr_body);
		cr_expect_null(jget(b, "spec", NULL), "no spec in that write: %s", rq->tr_body);
		cJSON_Delete(b);
	}
	cr_assert_str_eq(events(), "N:RenewBeforeAdjusted,N:RenewBeforeAdjusted,W:ManagerConflict");
	cr_expect(strstr(F.ev[2].note, "remove the annotation certcast.io/manager-conflict") != NULL,
	    "the note says how to hand it back: %s", F.ev[2].note);
	cr_expect(strstr(F.ev[2].note, "spec.renewBefore was changed from 2h0m0s to 1h0m0s by "
				       "another writer, twice") != NULL,
	    "note: %s", F.ev[2].note);
	cr_expect(action_count("manager-conflict", "enforce") == 1);
	/* from now on: no spec action, no second ManagerConflict */
	for (int i = 0; i < 3; i++) {
		j = prepare(&rb_user, &set2h, t += 60);
		cr_expect_str_eq(j->j_conflict, "", "ManagerConflict again");
		cr_expect_eq(j->j_plan.p_rb, AP_SPEC_NONE, "a spec action after the conflict");
		cr_expect_eq(act_apply(F.a, j, t), CC_OK);
	}
	cr_expect_eq(patches(), 3);
	cr_expect(action_count("manager-conflict", "enforce") == 1);
	/* still annotating and reporting */
	const struct score low = {.mode = SC_MODE_ENFORCE, .risk = 0.001, .level = SC_LEVEL_LOW,
	    .rb = SC_RB_SET, .rb_value = 7200};
	j = prepare(&rb_user, &low, t += 60);
	cr_expect_eq(j->j_plan.p_annotate, 1);
	cr_expect_eq(j->j_plan.p_rb, AP_SPEC_NONE);
	cr_expect_eq(act_apply(F.a, j, t), CC_OK);
	cr_expect_eq(patches(), 4, "the annotations");
	/* the annotation seen on the object, then removed by a user: certcast acts again */
	const struct rec marked = {.ann = {HIGH_ANN, {"certcast.io/manager-conflict", "x"}},
	    .has_rb = 1, .rb = 3600};
	j = prepare(&marked, &set2h, t += 60);
	cr_expect_eq(j->j_plan.p_rb, AP_SPEC_NONE, "hands off while the annotation is there");
	j = prepare(&rb_user, &set2h, t += 60);
	cr_expect_eq(j->j_plan.p_rb, AP_SPEC_SET, "the annotation removed: certcast acts again");
	/* a new object under the name starts afresh */
	const struct rec fresh = {.ann = {HIGH_ANN}, .has_rb = 1, .rb = 3600, .uid = "uid-2"};
	j = prepare(&fresh, &set2h, t += 60);
	cr_expect_eq(j->j_plan.p_rb, AP_SPEC_SET, "a new uid is not in conflict");
}

/* A value certcast has not seen yet is the watch lagging, not a revert. */
Test(act, lagging_watch_is_no_revert)
{
	fx_act(0, NULL);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	int64_t t = NOW;
	struct act_job *j;
	cr_expect_eq(step(&rb_user, &set2h, t += 60), CC_OK);  /* SET */
	j = prepare(&rb_user, &set2h, t += 60);                 /* not seen yet */
	cr_expect_str_eq(j->j_conflict, "");
	cr_expect_eq(act_apply(F.a, j, t), CC_OK);              /* SET again */
	cr_expect_eq(step(&rb_user, &set2h, t += 60), CC_OK);  /* still not seen */
	cr_expect_eq(step(&rb_mine, &leave, t += 60), CC_OK);  /* seen */
	j = prepare(&rb_user, &set2h, t += 60);                 /* revert 1 */
	cr_expect_str_eq(j->j_conflict, "", "the lagging values were counted as reverts");
	cr_expect_eq(act_apply(F.a, j, t), CC_OK);              /* SET */
	j = prepare(&rb_user, &set2h, t += 60);                 /* lagging again */
	cr_expect_str_eq(j->j_conflict, "", "a lagging value after a revert was counted");
	cr_expect_eq(act_apply(F.a, j, t), CC_OK);
	cr_expect_eq(step(&rb_mine, &leave, t += 60), CC_OK);  /* seen */
	j = prepare(&rb_user, &set2h, t += 60);                 /* revert 2 */
	cr_expect_neq(j->j_conflict[0], '\0', "the second real revert is a conflict");
	cr_expect_eq(act_apply(F.a, j, t), CC_OK);
	cr_expect(action_count("manager-conflict", "enforce") == 1);
}

/*
 * The same on spec.issuerRef, with an annotation-only write between certcast seeing its
 * failover and the revert: the annotations are no reason to forget what was seen.
 */
Test(act, issuer_ref_conflict_across_annotation_writes)
{
	fx_act(0, NULL);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	/* on the primary, failing: fail over */
	const struct rec primary = {.ann = {HIGH_ANN, {"certcast.io/fallback-issuer",
	    "ClusterIssuer/backup"}}};
	const struct score fo = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .fo = SC_FO_SWITCH};
	/* on the fallback: the risk falls, which is worth an annotation-only write */
	const struct rec backup = {.ann = {HIGH_ANN, {"certcast.io/fallback-issuer",
	    "ClusterIssuer/backup"}, {"certcast.io/original-issuer", "ClusterIssuer/le-prod"}},
	    .iname = "backup"};
	const struct score calm = {.mode = SC_MODE_ENFORCE, .risk = 0.001, .level = SC_LEVEL_LOW};
	const struct score calmer = {.mode = SC_MODE_ENFORCE, .risk = 0.1, .level = SC_LEVEL_LOW};
	int64_t t = NOW;
	struct act_job *j;
	cr_expect_eq(step(&primary, &fo, t += 120), CC_OK); /* IssuerFailover */
	cr_expect_eq(state_of(&backup, t + 1).st_last_failover, t,
	    "the failover's time is remembered (a trial restore counts from it)");
	j = prepare(&backup, &calm, t += 120);               /* seen, annotations only */
	cr_expect_eq(j->j_plan.p_annotate, 1);
	cr_expect_eq(j->j_plan.p_fo, AP_SPEC_NONE);
	cr_expect_eq(act_apply(F.a, j, t), CC_OK);
	j = prepare(&primary, &fo, t += 120);                /* revert 1 */
	cr_expect_str_eq(j->j_conflict, "");
	cr_expect_eq(j->j_plan.p_fo, AP_SPEC_SET);
	cr_expect_eq(act_apply(F.a, j, t), CC_OK);
	j = prepare(&backup, &calmer, t += 120);             /* seen, annotations only */
	cr_expect_eq(j->j_plan.p_annotate, 1);
	cr_expect_eq(act_apply(F.a, j, t), CC_OK);
	j = prepare(&primary, &fo, t += 120);                /* revert 2 */
	cr_expect_neq(j->j_conflict[0], '\0', "the second revert of issuerRef is no conflict");
	cr_expect_eq(j->j_plan.p_fo, AP_SPEC_NONE);
	cr_expect_eq(act_apply(F.a, j, t), CC_OK);
	cr_expect(strstr(events(), "W:ManagerConflict") != NULL, "events %s", events());
	cr_expect(action_count("manager-conflict", "enforce") == 1);
	cr_expect(action_count("failover", "enforce") == 2);
}

/* ---------------------------------------------------------------------------------------- */
/* Own writes                                                                                */

static const struct res_desc *
cert_desc(void)
{
	for (int i = 0; i < RES_DESC_COUNT; i++)
		if (res_table()[i].rd_kind == RES_CERTIFICATE)
			return &res_table()[i];
	return NULL;
}

static size_t notes;

static void
count_note(void *arg, const char *ns, const char *name)
{
	(void)arg;
	(void)ns;
	(void)name;
	__atomic_add_fetch(&notes, 1, __ATOMIC_SEQ_CST);
}

static void
apply_rv(struct store *st, const char *rv)
{
	char *text = xasprintf("{\"kind\":\"Certificate\",\"metadata\":{\"namespace\":\"shop\","
			       "\"name\":\"web\",\"uid\":\"uid-1\",\"resourceVersion\":\"%s\"},"
			       "\"spec\":{\"secretName\":\"web\",\"issuerRef\":{\"kind\":"
			       "\"ClusterIssuer\",\"name\":\"le-prod\"}}}",
	    rv);
	cJSON *o = cJSON_Parse(text);
	free(text);
	char err[256] = "";
	cr_assert_eq(store_apply(st, cert_desc(), STORE_MODIFIED, o, err, sizeof err), CC_OK, "%s",
	    err);
	cJSON_Delete(o);
}

Test(act, own_annotation_write_is_marked)
{
	struct store *st = store_new();
	store_set_notify(st, count_note, NULL);
	apply_rv(st, "42");
	fx_act(0, st);
	th_server_clear_routes(F.srv);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	const struct rec r = {0};
	const struct score s = {.mode = SC_MODE_OBSERVE, .risk = 0.1, .level = SC_LEVEL_MEDIUM};
	cr_expect_eq(step(&r, &s, NOW), CC_OK);
	size_t before = notes;
	apply_rv(st, "43");
	cr_expect_eq(notes, before, "the watch event of certcast's annotations notified");
	apply_rv(st, "44");
	cr_expect_eq(notes, before + 1, "someone else's change did not notify");

	/* a spec change is not marked: its event is reconciled (scoring decides on the result) */
	th_server_clear_routes(F.srv);
	route("PATCH", CERT_PATH, 200, OBJ("45"));
	const struct rec r2 = {.rv = "44", .ann = {HIGH_ANN}};
	const struct score set = {.mode = SC_MODE_ENFORCE, .risk = 0.6, .level = SC_LEVEL_HIGH,
	    .rb = SC_RB_SET, .rb_value = 7200};
	cr_expect_eq(step(&r2, &set, NOW + 60), CC_OK);
	before = notes;
	apply_rv(st, "45");
	cr_expect_eq(notes, before + 1, "the spec change's event was taken for an own write");
	act_free(F.a);
	F.a = NULL;
	store_free(st);
}

/*
 * The watch can bring the write's event before its answer: the thread below plays the watch,
 * applying the object as the PATCH made it (its annotations read from the request) while the
 * answer is held back 3 s. The event carries a version the answer does not give, so only the
 * annotations written can make it recognised.
 */
struct early {
	struct store *e_st;
	int e_ok;
};

static void *
early_event(void *arg)
{
	struct early *e = arg;
	if (th_server_wait_requests(F.srv, 1, 10000) != CC_OK)
		return NULL;
	const struct th_request *q = th_server_request(F.srv, 0);
	cJSON *patch = cJSON_Parse(q->tr_body);
	cJSON *an = cJSON_DetachItemFromObjectCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(patch, "metadata"), "annotations");
	cJSON_Delete(patch);
	if (an == NULL)
		return NULL;
	/* a merge patch's null removes: the object as written has no such key */
	for (cJSON *v = an->child, *nx; v; v = nx) {
		nx = v->next;
		if (cJSON_IsNull(v))
			cJSON_DeleteItemFromObjectCaseSensitive(an, v->string);
	}
	cJSON *o = cJSON_Parse("{\"kind\":\"Certificate\",\"metadata\":{\"namespace\":\"shop\","
			       "\"name\":\"web\",\"uid\":\"uid-1\",\"resourceVersion\":\"99\"},"
			       "\"spec\":{\"secretName\":\"web\",\"issuerRef\":{\"kind\":"
			       "\"ClusterIssuer\",\"name\":\"le-prod\"}}}");
	cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "annotations", an);
	char err[256] = "";
	e->e_ok = store_apply(e->e_st, cert_desc(), STORE_MODIFIED, o, err, sizeof err) == CC_OK;
	cJSON_Delete(o);
	return NULL;
}

Test(act, own_write_event_before_the_answer_is_quiet)
{
	struct store *st = store_new();
	store_set_notify(st, count_note, NULL);
	apply_rv(st, "42");
	fx_act(0, st);
	th_server_clear_routes(F.srv);
	struct th_route slow = {.tr_method = "PATCH", .tr_prefix = CERT_PATH, .tr_status = 200,
	    .tr_body = OBJ("43"), .tr_delay_ms = 3000};
	cr_assert_eq(th_server_add_route(F.srv, &slow), CC_OK);
	struct early e = {st, 0};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, early_event, &e), 0);
	const struct rec r = {0};
	const struct score sc = {.mode = SC_MODE_OBSERVE, .risk = 0.1, .level = SC_LEVEL_MEDIUM};
	size_t before = notes;
	cr_expect_eq(step(&r, &sc, NOW), CC_OK);
	pthread_join(t, NULL);
	cr_assert(e.e_ok, "the early event was applied");
	cr_expect_eq(notes, before, "the write's event, come before its answer, notified");
	apply_rv(st, "100");
	cr_expect_eq(notes, before + 1, "someone else's change after it did not notify");
	act_free(F.a);
	F.a = NULL;
	store_free(st);
}

/* ---------------------------------------------------------------------------------------- */
/* InvalidAnnotation: once per value, across restarts while the API server keeps the Event    */

#define EVENTS_PATH "/api/v1/namespaces/shop/events"
#define EVENTS_QUERY                                                                              \
	EVENTS_PATH "?fieldSelector=involvedObject.uid%3Duid-1%2Creason%3DInvalidAnnotation"       \
		    "%2Csource%3Dcertcast&limit=100"

/* observe, medium: the annotations are written, no Event of the forecast */
static const struct score medium = {.mode = SC_MODE_OBSERVE, .risk = 0.1,
    .level = SC_LEVEL_MEDIUM};
static const struct rec bad_risk = {.ann = {{"certcast.io/target-risk", "lots"}}};
static const struct rec bad_two = {
    .ann = {{"certcast.io/target-risk", "lots"}, {"certcast.io/mode", "sometimes"}}};

/* The requests so far as "VERB target" lines. */
static const char *
requests(void)
{
	static char buf[4096];
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < th_server_request_count(F.srv) && n < sizeof buf; i++) {
		const struct th_request *q = th_server_request(F.srv, i);
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s %s\n", q->tr_method,
		    q->tr_target);
	}
	return buf;
}

/* An EventList (core/v1) holding one certcast Event per message given (NULL-terminated). */
static char *
event_list(const char *msg, ...)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "EventList");
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	va_list ap;
	va_start(ap, msg);
	for (const char *m = msg; m; m = va_arg(ap, const char *)) {
		cJSON *it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "reason", "InvalidAnnotation");
		cJSON_AddStringToObject(it, "reportingComponent", "certcast");
		cJSON_AddStringToObject(it, "message", m);
		cJSON_AddItemToArray(items, it);
	}
	va_end(ap);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* The inv of the InvalidAnnotation Events a fresh executor posts for r, with none found. */
static void
invalid_notes(const struct rec *r, char inv[][AP_NOTE_MAX], size_t *n)
{
	fx_act(0, NULL);
	th_server_clear_routes(F.srv);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	route("GET", EVENTS_PATH, 200, "{\"kind\":\"EventList\",\"items\":[]}");
	F.nev = 0;
	cr_assert_eq(step(r, &medium, NOW), CC_OK);
	*n = 0;
	for (size_t i = 0; i < F.nev; i++)
		if (strcmp(F.ev[i].reason, "InvalidAnnotation") == 0)
			snprintf(inv[(*n)++], AP_NOTE_MAX, "%s", F.ev[i].note);
	F.nev = 0;
}

Test(act, invalid_annotation_looked_up_once_then_remembered)
{
	fx_act(0, NULL);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	route("GET", EVENTS_PATH, 200, "{\"kind\":\"EventList\",\"items\":[]}");
	cr_expect_eq(step(&bad_risk, &medium, NOW), CC_OK);
	cr_expect_str_eq(requests(), "PATCH " CERT_PATH "\nGET " EVENTS_QUERY "\n",
	    "the patch, then one look for certcast's earlier InvalidAnnotation Events on the uid");
	cr_assert_str_eq(events(), "W:InvalidAnnotation", "none found: reported");
	cr_expect(strstr(F.ev[0].note, "certcast.io/target-risk=\"lots\" is ignored: ") ==
		  F.ev[0].note, "%s", F.ev[0].note);
	/* the process remembers it: no second look, no second Event */
	cr_expect_eq(step(&bad_risk, &medium, NOW + AP_ANNOT_INTERVAL), CC_OK);
	cr_expect_str_eq(events(), "W:InvalidAnnotation");
	cr_assert_eq(th_server_request_count(F.srv), 3, "%s", requests());
	cr_expect_str_eq(th_server_request(F.srv, 2)->tr_method, "PATCH");
}

Test(act, no_invalid_annotation_no_lookup)
{
	fx_act(0, NULL);
	route("PATCH", CERT_PATH, 200, OBJ("43"));
	const struct rec r = {0};
	const struct score high = {.mode = SC_MODE_OBSERVE, .risk = 0.6, .level = SC_LEVEL_HIGH};
	cr_expect_eq(step(&r, &high, NOW), CC_OK);
	cr_expect_str_eq(requests(), "PATCH " CERT_PATH "\n", "RiskRaised needs no lookup");
	cr_expect_str_eq(events(), "W:RiskRaised");
}

/* A restart (a fresh executor) finds the Event the last process posted and does not repeat it. */
Test(act, invalid_annotation_not_repeated_after_a_restart)
{
	char inv[4][AP_NOTE_MAX];
	size_t n;
	invalid_notes(&bad_two, inv, &n);
	cr_assert_eq(n, 2, "two bad values, two Events");

	/* restart: the API server still has the first value's Event, not the second's */
	fx_act(0, NULL);
	th_server_clear_routes(F.srv);
	route("PATCH", CERT_PATH, 200, OBJ("44"));
	char *list = event_list(inv[0], "another note about another value", NULL);
	route("GET", EVENTS_PATH, 200, list);
	free(list);
	size_t before = th_server_request_count(F.srv);
	cr_expect_eq(step(&bad_two, &medium, NOW + HOUR / 2), CC_OK);
	cr_assert_str_eq(events(), "W:InvalidAnnotation", "only the value not reported yet");
	cr_expect_str_eq(F.ev[0].note, inv[1]);
	cr_expect_eq(th_server_request_count(F.srv), before + 2, "the patch and one lookup");

	/* both are remembered now, the one found as well as the one posted */
	cr_expect_eq(step(&bad_two, &medium, NOW + HOUR / 2 + AP_ANNOT_INTERVAL), CC_OK);
	cr_expect_str_eq(events(), "W:InvalidAnnotation");
	cr_expect_eq(th_server_request_count(F.srv), before + 3, "only the next patch");
}

/* A lookup that fails finds nothing: a value is reported twice rather than never. */
Test(act, invalid_annotation_lookup_fails_open)
{
	char inv[2][AP_NOTE_MAX];
	size_t n;
	invalid_notes(&bad_risk, inv, &n);
	cr_assert_eq(n, 1);
	static const struct {
		int status;
		const char *body;
	} answers[] = {
	    {403, STATUS(403, "Forbidden", "events is forbidden")},
	    {500, STATUS(500, "InternalError", "etcd is down")},
	    {200, "not json"},
	    {200, "{\"kind\":\"EventList\",\"items\":{}}"},
	};
	for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
		fx_act(0, NULL);
		th_server_clear_routes(F.srv);
		route("PATCH", CERT_PATH, 200, OBJ("44"));
		route("GET", EVENTS_PATH, answers[i].status, answers[i].body);
		F.nev = 0;
		cr_expect_eq(step(&bad_risk, &medium, NOW), CC_OK, "answer %zu", i);
		cr_expect_str_eq(events(), "W:InvalidAnnotation", "answer %zu", i);
	}
}

/* The note compared is the note as sent: cut to a valid UTF-8 boundary by the Event writer. */
Test(act, invalid_annotation_matches_the_note_as_sent)
{
	/* 200 bytes of "é" (2 bytes each) then one more: "%.200s" cuts inside a character */
	char v[256];
	size_t k = 0;
	v[k++] = 'x';
	while (k + 2 < 240) {
		v[k++] = (char)0xc3;
		v[k++] = (char)0xa9;
	}
	v[k] = '\0';
	const struct rec r = {.ann = {{"certcast.io/target-risk", v}}};
	char inv[2][AP_NOTE_MAX];
	size_t n;
	invalid_notes(&r, inv, &n);
	cr_assert_eq(n, 1);
	char sent[ER_NOTE_MAX + 1];
	(void)er_note_fit(inv[0], sent);
	cr_assert(strcmp(sent, inv[0]) != 0, "the test needs a note the writer changes");

	fx_act(0, NULL);
	th_server_clear_routes(F.srv);
	route("PATCH", CERT_PATH, 200, OBJ("44"));
	char *list = event_list(sent, NULL);
	route("GET", EVENTS_PATH, 200, list);
	free(list);
	cr_expect_eq(step(&r, &medium, NOW), CC_OK);
	cr_expect_str_eq(events(), "", "the Event the API server holds was not recognised");
}
