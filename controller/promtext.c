/* promtext: the Prometheus text exposition format, line by line (see promtext.h). */
#include "promtext.h"

#include "cc_err.h"
#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A family's declared type; the parse keeps one per TYPE line seen. */
struct pt_decl {
	char *d_name;
	enum pt_type d_type;
};

/* State of one parse. */
struct pt_ctx {
	struct pt_decl *c_decls;   /* owned */
	size_t c_ndecls, c_capdecls;
	size_t *c_slots;           /* owned hash of c_decls by name: index + 1, 0 when empty */
	size_t c_nslots;           /* a power of two, over twice c_ndecls; 0 before the first */
	char *c_scratch;           /* owned: unescaped names and values of the current line */
	size_t c_scrcap;
	size_t c_line;             /* current line, 1-based */
	const char *c_start;       /* its first byte */
	char c_err[PT_ERR_MAX];    /* message of the current line's error */
};

static int __attribute__((format(printf, 3, 4)))
pt_fail(struct pt_ctx *c, const char *at, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(c->c_err, sizeof c->c_err, "line %zu column %zu: %s", c->c_line,
	    (size_t)(at - c->c_start) + 1, msg);
	return CC_ERR_PARSE;
}

const char *
pt_type_name(enum pt_type t)
{
	switch (t) {
	case PT_COUNTER:
		return "counter";
	case PT_GAUGE:
		return "gauge";
	case PT_HISTOGRAM:
		return "histogram";
	case PT_SUMMARY:
		return "summary";
	default:
		return "untyped";
	}
}

static int
pt_is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static const char *
pt_skip_blanks(const char *p, const char *end)
{
	while (p < end && pt_is_blank(*p))
		p++;
	return p;
}

/* The end of a metric name starting at p ([a-zA-Z_:][a-zA-Z0-9_:]*), or p when there is none. */
static const char *
pt_scan_name(const char *p, const char *end, int colon_ok)
{
	const char *q = p;
	while (q < end) {
		char ch = *q;
		int alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
		    (colon_ok && ch == ':');
		if (!(alpha || (q > p && ch >= '0' && ch <= '9')))
			break;
		q++;
	}
	return q;
}

/* Copy n bytes of s into the scratch at *off as a string; returns it. */
static char *
pt_put(struct pt_ctx *c, size_t *off, const char *s, size_t n)
{
	char *d = c->c_scratch + *off;
	memcpy(d, s, n);
	d[n] = '\0';
	*off += n + 1;
	return d;
}

/*
 * Declarations are looked up by name for every TYPE line and up to five times for every sample,
 * and a 16 MiB exposition can hold a million TYPE lines: a hash keeps that linear, where a scan
 * of the declarations took hours.
 */
static size_t
pt_hash(const char *name, size_t n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32));
}

/* The slot holding name[0..n), or the empty slot where it would go. c_nslots > 0. */
static size_t
pt_slot(const struct pt_ctx *c, const char *name, size_t n)
{
	size_t mask = c->c_nslots - 1, i = pt_hash(name, n) & mask;
	for (; c->c_slots[i] != 0; i = (i + 1) & mask) {
		const char *d = c->c_decls[c->c_slots[i] - 1].d_name;
		if (strncmp(d, name, n) == 0 && d[n] == '\0')
			return i;
	}
	return i;
}

/* The declaration of name[0..n), or NULL. */
static const struct pt_decl *
pt_decl_find(const struct pt_ctx *c, const char *name, size_t n)
{
	if (c->c_nslots == 0)
		return NULL;
	size_t i = c->c_slots[pt_slot(c, name, n)];
	return i ? &c->c_decls[i - 1] : NULL;
}

static enum pt_type
pt_decl_get(const struct pt_ctx *c, const char *name, size_t n)
{
	const struct pt_decl *d = pt_decl_find(c, name, n);
	return d ? d->d_type : PT_UNTYPED;
}

static int
pt_decl_has(const struct pt_ctx *c, const char *name, size_t n)
{
	return pt_decl_find(c, name, n) != NULL;
}

/* Add a declaration of name[0..n), which has none yet. */
static void
pt_decl_add(struct pt_ctx *c, const char *name, size_t n, enum pt_type type)
{
	if (c->c_ndecls == c->c_capdecls) {
		c->c_capdecls = c->c_capdecls ? 2 * c->c_capdecls : 16;
		c->c_decls = xrealloc(c->c_decls, c->c_capdecls * sizeof *c->c_decls);
	}
	c->c_decls[c->c_ndecls].d_name = xstrndup(name, n);
	c->c_decls[c->c_ndecls].d_type = type;
	c->c_ndecls++;
	if (2 * c->c_ndecls >= c->c_nslots) {
		/* rehash every declaration, this one included */
		free(c->c_slots);
		c->c_nslots = c->c_nslots ? 2 * c->c_nslots : 64;
		c->c_slots = xcalloc(c->c_nslots, sizeof *c->c_slots);
		for (size_t i = 0; i < c->c_ndecls; i++) {
			const char *d = c->c_decls[i].d_name;
			c->c_slots[pt_slot(c, d, strlen(d))] = i + 1;
		}
		return;
	}
	c->c_slots[pt_slot(c, name, n)] = c->c_ndecls;
}

/*
 * The type of a sample named name: its own TYPE line, else the family it belongs to by suffix
 * (x_total of a counter x; x_sum and x_count of a summary or histogram; x_bucket of a histogram).
 */
static enum pt_type
pt_sample_type(const struct pt_ctx *c, const char *name)
{
	static const struct {
		const char *sfx;
		enum pt_type a, b;
	} sfx[] = {
	    {"_total", PT_COUNTER, PT_COUNTER},
	    {"_sum", PT_SUMMARY, PT_HISTOGRAM},
	    {"_count", PT_SUMMARY, PT_HISTOGRAM},
	    {"_bucket", PT_HISTOGRAM, PT_HISTOGRAM},
	};
	size_t n = strlen(name);
	if (pt_decl_has(c, name, n))
		return pt_decl_get(c, name, n);
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		size_t k = strlen(sfx[i].sfx);
		if (n > k && strcmp(name + n - k, sfx[i].sfx) == 0) {
			enum pt_type t = pt_decl_get(c, name, n - k);
			if (t == sfx[i].a || t == sfx[i].b)
				return t;
		}
	}
	return PT_UNTYPED;
}

/* "# HELP name text" or "# TYPE name type"; p is just after "HELP"/"TYPE". */
static int
pt_meta_line(struct pt_ctx *c, int is_type, const char *p, const char *end)
{
	if (p >= end || !pt_is_blank(*p))
		return pt_fail(c, p, "expected a blank after %s", is_type ? "TYPE" : "HELP");
	p = pt_skip_blanks(p, end);
	const char *ne = pt_scan_name(p, end, 1);
	if (ne == p)
		return pt_fail(c, p, "expected a metric name");
	if (ne < end && !pt_is_blank(*ne))
		return pt_fail(c, ne, "unexpected character in metric name");
	const char *q = pt_skip_blanks(ne, end);
	if (!is_type) {
		/* the text itself is not kept; only its escapes are checked */
		for (; q < end; q++) {
			if (*q == '\0')
				return pt_fail(c, q, "NUL byte in HELP text");
			if (*q == '\\') {
				if (q + 1 >= end || (q[1] != '\\' && q[1] != 'n'))
					return pt_fail(c, q, "invalid escape in HELP text (only \\\\ and "
							     "\\n)");
				q++;
			}
		}
		return CC_OK;
	}
	static const char *const names[] = {"untyped", "counter", "gauge", "histogram",
	    "summary"};
	static const enum pt_type types[] = {PT_UNTYPED, PT_COUNTER, PT_GAUGE, PT_HISTOGRAM,
	    PT_SUMMARY};
	const char *te = q;
	while (te < end && !pt_is_blank(*te))
		te++;
	size_t tl = (size_t)(te - q);
	int found = -1;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == tl && memcmp(names[i], q, tl) == 0)
			found = (int)i;
	if (found < 0)
		return pt_fail(c, q, "unknown metric type (counter, gauge, histogram, summary or "
				     "untyped)");
	const char *rest = pt_skip_blanks(te, end);
	if (rest < end)
		return pt_fail(c, rest, "unexpected text after the metric type");
	if (pt_decl_has(c, p, (size_t)(ne - p)))
		return pt_fail(c, p, "second TYPE line for %.*s", (int)(ne - p > 80 ? 80 : ne - p), p);
	pt_decl_add(c, p, (size_t)(ne - p), types[found]);
	return CC_OK;
}

/*
 * A sample value as Go's strconv.ParseFloat reads it in this format: a decimal float, or NaN,
 * Inf with an optional sign. Hex floats and "infinity" spellings strtod would take are refused.
 */
static int
pt_value(const char *s, size_t n, double *out)
{
	char buf[64];
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strcasecmp(buf, "nan") == 0 || strcasecmp(buf, "inf") == 0 ||
	    strcasecmp(buf, "+inf") == 0 || strcasecmp(buf, "-inf") == 0) {
		*out = strtod(buf, NULL);
		return 0;
	}
	if (strspn(buf, "0123456789+-.eE") != n)
		return -1;
	char *e;
	errno = 0;
	double v = strtod(buf, &e);
	if (*e != '\0' || e == buf)
		return -1;
	/* a value beyond double's range is +/-Inf to Go as well; an underflow is a tiny number */
	*out = v;
	return 0;
}

static int
pt_timestamp(const char *s, size_t n, int64_t *out)
{
	char buf[32];
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	size_t i = buf[0] == '-' || buf[0] == '+' ? 1 : 0;
	if (buf[i] == '\0' || strspn(buf + i, "0123456789") != n - i)
		return -1;
	char *e;
	errno = 0;
	long long v = strtoll(buf, &e, 10);
	if (errno != 0 || *e != '\0')
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* The label set after '{'; on success *pp is just after '}'. */
static int
pt_labels(struct pt_ctx *c, const char **pp, const char *end, size_t *off, struct pt_label *lv,
    size_t *nl)
{
	const char *p = *pp;
	for (;;) {
		p = pt_skip_blanks(p, end);
		if (p < end && *p == '}') {
			*pp = p + 1;
			return CC_OK;
		}
		const char *ne = pt_scan_name(p, end, 0);
		if (ne == p)
			return pt_fail(c, p, p < end ? "expected a label name or '}'" :
						     "label set not closed");
		if (*nl == PT_MAX_LABELS)
			return pt_fail(c, p, "more than %d labels", PT_MAX_LABELS);
		for (size_t i = 0; i < *nl; i++)
			if (strlen(lv[i].l_name) == (size_t)(ne - p) &&
			    memcmp(lv[i].l_name, p, (size_t)(ne - p)) == 0)
				return pt_fail(c, p, "label %.*s given twice",
				    (int)(ne - p > 80 ? 80 : ne - p), p);
		const char *name = pt_put(c, off, p, (size_t)(ne - p));
		p = pt_skip_blanks(ne, end);
		if (p >= end || *p != '=')
			return pt_fail(c, p, "expected '=' after label name");
		p = pt_skip_blanks(p + 1, end);
		if (p >= end || *p != '"')
			return pt_fail(c, p, "expected '\"' to open the label value");
		p++;
		char *val = c->c_scratch + *off, *d = val;
		for (;;) {
			if (p >= end)
				return pt_fail(c, p, "label value not closed");
			if (*p == '"')
				break;
			if (*p == '\0')
				return pt_fail(c, p, "NUL byte in label value");
			if (*p == '\\') {
				if (p + 1 >= end)
					return pt_fail(c, p, "label value not closed");
				if (p[1] == '\\' || p[1] == '"')
					*d++ = p[1];
				else if (p[1] == 'n')
					*d++ = '\n';
				else
					return pt_fail(c, p, "invalid escape in label value (only \\\\, "
							     "\\\" and \\n)");
				p += 2;
				continue;
			}
			*d++ = *p++;
		}
		*d = '\0';
		*off += (size_t)(d - val) + 1;
		lv[*nl].l_name = name;
		lv[*nl].l_value = val;
		(*nl)++;
		p = pt_skip_blanks(p + 1, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}') {
			*pp = p + 1;
			return CC_OK;
		}
		return pt_fail(c, p, p < end ? "expected ',' or '}' after a label value" :
					     "label set not closed");
	}
}

static int
pt_sample_line(struct pt_ctx *c, const char *p, const char *end, pt_sample_fn fn, void *arg,
    struct pt_result *r)
{
	struct pt_label lv[PT_MAX_LABELS];
	size_t nl = 0, off = 0;
	/* every name and value is at most as long as the line; each adds one NUL */
	size_t need = 2 * (size_t)(end - c->c_start) + 2;
	if (need > c->c_scrcap) {
		c->c_scrcap = need;
		c->c_scratch = xrealloc(c->c_scratch, c->c_scrcap);
	}
	const char *ne = pt_scan_name(p, end, 1);
	if (ne == p)
		return pt_fail(c, p, "expected a metric name");
	const char *name = pt_put(c, &off, p, (size_t)(ne - p));
	p = pt_skip_blanks(ne, end);
	if (p < end && *p == '{') {
		p++;
		int rc = pt_labels(c, &p, end, &off, lv, &nl);
		if (rc != CC_OK)
			return rc;
		p = pt_skip_blanks(p, end); /* as in Prometheus, "x{a=\"b\"}1" needs no blank */
	} else if (p == ne && p < end) {
		return pt_fail(c, p, "unexpected character in metric name");
	}
	const char *ve = p;
	while (ve < end && !pt_is_blank(*ve))
		ve++;
	struct pt_sample s;
	memset(&s, 0, sizeof s);
	if (ve == p)
		return pt_fail(c, p, "missing value");
	if (pt_value(p, (size_t)(ve - p), &s.s_value) != 0)
		return pt_fail(c, p, "not a number: \"%.*s\"", (int)(ve - p > 40 ? 40 : ve - p), p);
	p = pt_skip_blanks(ve, end);
	if (p < end) {
		const char *te = p;
		while (te < end && !pt_is_blank(*te))
			te++;
		if (pt_timestamp(p, (size_t)(te - p), &s.s_ts_ms) != 0)
			return pt_fail(c, p, "not a timestamp in milliseconds: \"%.*s\"",
			    (int)(te - p > 40 ? 40 : te - p), p);
		s.s_has_ts = 1;
		p = pt_skip_blanks(te, end);
		if (p < end)
			return pt_fail(c, p, "unexpected text after the timestamp");
	}
	s.s_name = name;
	s.s_labels = lv;
	s.s_nlabels = nl;
	s.s_type = pt_sample_type(c, name);
	s.s_line = c->c_line;
	r->pr_samples++;
	if (fn)
		fn(arg, &s);
	return CC_OK;
}

static int
pt_line(struct pt_ctx *c, const char *p, const char *end, pt_sample_fn fn, void *arg,
    struct pt_result *r)
{
	if (end > p && end[-1] == '\r')
		end--;
	if ((size_t)(end - p) > PT_LINE_MAX)
		return pt_fail(c, p + PT_LINE_MAX, "line longer than %u bytes", PT_LINE_MAX);
	p = pt_skip_blanks(p, end);
	if (p == end)
		return CC_OK;
	const char *nul = memchr(p, '\0', (size_t)(end - p));
	if (nul)
		return pt_fail(c, nul, "NUL byte");
	if (*p != '#')
		return pt_sample_line(c, p, end, fn, arg, r);
	const char *q = pt_skip_blanks(p + 1, end);
	if (q == p + 1 || end - q < 4)
		return CC_OK; /* "#x" or a short comment */
	if (memcmp(q, "HELP", 4) == 0 && (q + 4 == end || pt_is_blank(q[4])))
		return pt_meta_line(c, 0, q + 4, end);
	if (memcmp(q, "TYPE", 4) == 0 && (q + 4 == end || pt_is_blank(q[4])))
		return pt_meta_line(c, 1, q + 4, end);
	return CC_OK;
}

int
pt_parse(const char *text, size_t len, pt_sample_fn fn, void *arg, struct pt_result *out)
{
	struct pt_ctx c;
	struct pt_result r;
	memset(&c, 0, sizeof c);
	memset(&r, 0, sizeof r);
	const char *p = text, *end = text ? text + len : text;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		c.c_line++;
		c.c_start = p;
		c.c_err[0] = '\0';
		if (pt_line(&c, p, le, fn, arg, &r) != CC_OK) {
			if (r.pr_errors++ == 0)
				memcpy(r.pr_first_error, c.c_err, sizeof r.pr_first_error);
		}
		p = nl ? nl + 1 : end;
	}
	r.pr_lines = c.c_line;
	for (size_t i = 0; i < c.c_ndecls; i++)
		free(c.c_decls[i].d_name);
	free(c.c_decls);
	free(c.c_slots);
	free(c.c_scratch);
	if (out)
		*out = r;
	return r.pr_errors ? CC_ERR_PARSE : CC_OK;
}

const char *
pt_label(const struct pt_sample *s, const char *name)
{
	for (size_t i = 0; i < s->s_nlabels; i++)
		if (strcmp(s->s_labels[i].l_name, name) == 0)
			return s->s_labels[i].l_value;
	return NULL;
}
