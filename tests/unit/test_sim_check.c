/* Expectations: syntax and evaluation against a summary, table-driven. */
#include "cc_err.h"
#include "sim_check.h"

#include <criterion/criterion.h>
#include <string.h>

static const char *summary_text =
    "{\"policies\": {\"cert-manager\": {\"expired_hours\": 12.5, \"issuances\": 100,"
    " \"expired_hours_by_class\": {\"47d\": 2}},"
    " \"certcast\": {\"expired_hours\": 0, \"issuances\": 108}},"
    " \"alerts\": {\"precision\": 0.96, \"recall\": null}}";

struct eval_case {
	const char *name;
	const char *expr;
	int rc_ok;  /* evaluates */
	int holds;  /* and holds */
};

static const struct eval_case eval_cases[] = {
	{"zero holds", "certcast.expired_hours == 0", 1, 1},
	{"zero fails the other way", "cert-manager.expired_hours == 0", 1, 0},
	{"greater", "cert-manager.expired_hours > 0", 1, 1},
	{"greater reversed", "certcast.expired_hours > 0", 1, 0},
	{"ratio within 10%", "certcast.issuances <= 1.10 * cert-manager.issuances", 1, 1},
	{"ratio within 5% fails", "certcast.issuances <= 1.05 * cert-manager.issuances", 1, 0},
	{"factor after path", "certcast.issuances <= cert-manager.issuances * 1.1", 1, 1},
	{"nested path", "cert-manager.expired_hours_by_class.47d >= 2", 1, 1},
	{"nested path strict", "cert-manager.expired_hours_by_class.47d > 2", 1, 0},
	{"alerts section", "alerts.precision >= 0.95", 1, 1},
	{"alerts section fails", "alerts.precision >= 0.97", 1, 0},
	{"not equal", "certcast.issuances != cert-manager.issuances", 1, 1},
	{"less", "certcast.expired_hours < cert-manager.expired_hours", 1, 1},
	{"less reversed", "cert-manager.expired_hours < certcast.expired_hours", 1, 0},
	{"constant on the left", "0 == certcast.expired_hours", 1, 1},
	{"no spaces", "certcast.expired_hours<=0", 1, 1},
	{"null metric fails", "alerts.recall >= 0.9", 0, 0},
	{"absent policy fails", "ari-only.expired_hours == 0", 0, 0},
	{"absent metric fails", "certcast.nonsense == 0", 0, 0},
	{"object is not a number", "cert-manager.expired_hours_by_class == 0", 0, 0},
};

Test(sim_check, evaluate_table)
{
	cJSON *root = cJSON_Parse(summary_text);
	cr_assert_not_null(root);
	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
		const struct eval_case *ec = &eval_cases[i];
		int ok = -1;
		double l, r;
		char why[200];
		int rc = sck_eval(ec->expr, root, &ok, &l, &r, why, sizeof(why));
		cr_expect_eq(rc == CC_OK, ec->rc_ok, "[%s] rc=%d why=%s", ec->name, rc, why);
		cr_expect_eq(ok, ec->holds, "[%s] ok=%d (lhs %g rhs %g)", ec->name, ok, l, r);
		if (!ec->rc_ok)
			cr_expect_gt(strlen(why), 0, "[%s] failure without a reason", ec->name);
	}
	cJSON_Delete(root);
}

struct syn_case {
	const char *name;
	const char *expr;
	const char *want; /* NULL: valid */
};

static const struct syn_case syn_cases[] = {
	{"valid", "certcast.expired_hours == 0", NULL},
	{"valid product", "certcast.issuances <= 1.1 * cert-manager.issuances", NULL},
	{"wrong operator", "certcast.expired_hours =< 0", "expected a comparison"},
	{"no operator", "certcast.expired_hours", "expected a comparison"},
	{"two constants", "1 < 2", "compares two constants"},
	{"trailing text", "certcast.expired_hours == 0 please", "unexpected text"},
	{"dangling star", "certcast.issuances <= 1.1 *", "expected a metric path after '*'"},
	{"empty", "", "left side"},
	{"trailing dot", "certcast. == 0", "left side"},
};

Test(sim_check, syntax_table)
{
	for (size_t i = 0; i < sizeof(syn_cases) / sizeof(syn_cases[0]); i++) {
		const struct syn_case *sc = &syn_cases[i];
		char why[200] = "";
		int rc = sck_validate(sc->expr, why, sizeof(why));
		if (sc->want == NULL) {
			cr_expect_eq(rc, CC_OK, "[%s] rejected: %s", sc->name, why);
		} else {
			cr_expect_eq(rc, CC_ERR_INVAL, "[%s] accepted", sc->name);
			cr_expect(strstr(why, sc->want) != NULL, "[%s] '%s' lacks '%s'", sc->name, why,
			    sc->want);
		}
	}
}
