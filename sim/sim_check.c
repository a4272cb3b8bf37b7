/* sim_check: parse and evaluate "LEFT OP RIGHT" expectations against the JSON summary. */
#include "sim_check.h"

#include "cc_err.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCK_PATH_MAX 160

enum sck_op { SCK_EQ, SCK_NE, SCK_LT, SCK_LE, SCK_GT, SCK_GE };

/* One side: factor * value-of(path), or just factor when path is empty. */
struct sck_side {
	double sd_factor;            /* multiplier, 1 when absent */
	char sd_path[SCK_PATH_MAX];  /* metric path, "" for a constant */
};

struct sck_expr {
	struct sck_side x_lhs; /* left side */
	struct sck_side x_rhs; /* right side */
	enum sck_op x_op;      /* comparison */
};

static const char *
sck_skip(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int
sck_path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '-' || c == '.';
}

/* A number token: starts with a digit (or a dot followed by one). */
static int
sck_number(const char **pp, double *out)
{
	const char *p = *pp;
	if (!((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')))
		return 0;
	char *end = NULL;
	errno = 0;
	double v = strtod(p, &end);
	if (errno != 0 || end == p || !isfinite(v))
		return 0;
	*out = v;
	*pp = end;
	return 1;
}

static int
sck_path(const char **pp, char *dst, size_t n)
{
	const char *p = *pp;
	size_t len = 0;
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	while (sck_path_char(p[len]))
		len++;
	if (len == 0 || len >= n || p[len - 1] == '.')
		return 0;
	memcpy(dst, p, len);
	dst[len] = '\0';
	*pp = p + len;
	return 1;
}

static int
sck_side(const char **pp, struct sck_side *sd, char *why, size_t n, const char *which)
{
	const char *p = sck_skip(*pp);
	sd->sd_factor = 1;
	sd->sd_path[0] = '\0';
	if (sck_number(&p, &sd->sd_factor)) {
		p = sck_skip(p);
		if (*p == '*') {
			p = sck_skip(p + 1);
			if (!sck_path(&p, sd->sd_path, sizeof(sd->sd_path))) {
				snprintf(why, n, "%s side: expected a metric path after '*'", which);
				return CC_ERR_INVAL;
			}
		}
	} else if (sck_path(&p, sd->sd_path, sizeof(sd->sd_path))) {
		const char *q = sck_skip(p);
		if (*q == '*') {
			q = sck_skip(q + 1);
			if (!sck_number(&q, &sd->sd_factor)) {
				snprintf(why, n, "%s side: expected a number after '*'", which);
				return CC_ERR_INVAL;
			}
			p = q;
		}
	} else {
		snprintf(why, n, "%s side: expected a number or a metric path such as "
		    "certcast.expired_hours", which);
		return CC_ERR_INVAL;
	}
	*pp = sck_skip(p);
	return CC_OK;
}

static int
sck_parse(const char *expr, struct sck_expr *x, char *why, size_t n)
{
	static const struct {
		const char *o_text;
		enum sck_op o_op;
	} ops[] = {{"==", SCK_EQ}, {"!=", SCK_NE}, {"<=", SCK_LE}, {">=", SCK_GE}, {"<", SCK_LT},
	    {">", SCK_GT}};
	const char *p = expr;
	int rc;
	if (expr == NULL) {
		snprintf(why, n, "empty expectation");
		return CC_ERR_INVAL;
	}
	if ((rc = sck_side(&p, &x->x_lhs, why, n, "left")) != CC_OK)
		return rc;
	size_t i;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t l = strlen(ops[i].o_text);
		if (strncmp(p, ops[i].o_text, l) == 0) {
			x->x_op = ops[i].o_op;
			p += l;
			break;
		}
	}
	if (i == sizeof(ops) / sizeof(ops[0])) {
		snprintf(why, n, "expected a comparison (== != < <= > >=) at '%.20s'", p);
		return CC_ERR_INVAL;
	}
	if ((rc = sck_side(&p, &x->x_rhs, why, n, "right")) != CC_OK)
		return rc;
	if (*p != '\0') {
		snprintf(why, n, "unexpected text '%.20s' after the expectation", p);
		return CC_ERR_INVAL;
	}
	if (x->x_lhs.sd_path[0] == '\0' && x->x_rhs.sd_path[0] == '\0') {
		snprintf(why, n, "compares two constants; name a metric");
		return CC_ERR_INVAL;
	}
	return CC_OK;
}

int
sck_validate(const char *expr, char *why, size_t n)
{
	struct sck_expr x;
	return sck_parse(expr, &x, why, n);
}

static int
sck_resolve(const cJSON *root, const struct sck_side *sd, double *out, char *why, size_t n)
{
	char path[SCK_PATH_MAX], *save = NULL;
	const cJSON *node;
	if (sd->sd_path[0] == '\0') {
		*out = sd->sd_factor;
		return CC_OK;
	}
	memcpy(path, sd->sd_path, sizeof(path));
	char *seg = strtok_r(path, ".", &save);
	if (seg && strcmp(seg, "alerts") == 0)
		node = cJSON_GetObjectItemCaseSensitive(root, "alerts");
	else
		node = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(root, "policies"), seg ? seg : "");
	while (node && (seg = strtok_r(NULL, ".", &save)) != NULL)
		node = cJSON_GetObjectItemCaseSensitive(node, seg);
	if (node == NULL) {
		snprintf(why, n, "'%s' is not in the summary", sd->sd_path);
		return CC_ERR_INVAL;
	}
	if (!cJSON_IsNumber(node)) {
		snprintf(why, n, "'%s' is %s, not a number", sd->sd_path,
		    cJSON_IsNull(node) ? "undefined (null)" : "not a number");
		return CC_ERR_INVAL;
	}
	*out = sd->sd_factor * node->valuedouble;
	return CC_OK;
}

int
sck_eval(const char *expr, const cJSON *summary, int *ok, double *lhs, double *rhs, char *why,
    size_t n)
{
	struct sck_expr x;
	int rc;
	*ok = 0;
	*lhs = *rhs = NAN;
	if ((rc = sck_parse(expr, &x, why, n)) != CC_OK ||
	    (rc = sck_resolve(summary, &x.x_lhs, lhs, why, n)) != CC_OK ||
	    (rc = sck_resolve(summary, &x.x_rhs, rhs, why, n)) != CC_OK)
		return rc;
	switch (x.x_op) {
	case SCK_EQ: *ok = *lhs == *rhs; break;
	case SCK_NE: *ok = *lhs != *rhs; break;
	case SCK_LT: *ok = *lhs < *rhs; break;
	case SCK_LE: *ok = *lhs <= *rhs; break;
	case SCK_GT: *ok = *lhs > *rhs; break;
	case SCK_GE: *ok = *lhs >= *rhs; break;
	}
	if (why && n)
		why[0] = '\0';
	return CC_OK;
}
