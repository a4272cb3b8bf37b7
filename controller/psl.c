/*
 * psl: Public Suffix List matching (see psl.h).
 *
 * The rules live in one array sorted by their text, each with flags for the kinds of rule that
 * share the text: "co.uk" (normal), "*.ck" (stored as "ck" with the wildcard flag), "!www.ck"
 * (stored as "www.ck" with the exception flag). A name is matched by looking up each of its
 * suffixes at label boundaries, so a lookup costs (labels + 1) binary searches.
 */
#include "psl.h"

#include "cc_err.h"
#include "xalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PSL_LABEL_MAX 63

enum {
	PSL_NORMAL = 1,    /* the text itself is a suffix */
	PSL_WILDCARD = 2,  /* every label under the text is a suffix */
	PSL_EXCEPTION = 4, /* the text is not a suffix (its parent is) */
};

struct psl_rule {
	char *pr_text;     /* owned, lower case, no leading "*." or "!" */
	uint8_t pr_flags;
	uint8_t pr_private; /* came from the private section */
};

struct psl {
	struct psl_rule *p_rules; /* owned, sorted by pr_text, one entry per text */
	size_t p_n;
	size_t p_nprivate;
};

static int
psl_rule_cmp(const void *x, const void *y)
{
	return strcmp(((const struct psl_rule *)x)->pr_text, ((const struct psl_rule *)y)->pr_text);
}

void
psl_free(struct psl *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->p_n; i++)
		free(p->p_rules[i].pr_text);
	free(p->p_rules);
	free(p);
}

size_t
psl_count(const struct psl *p)
{
	return p ? p->p_n : 0;
}

size_t
psl_count_private(const struct psl *p)
{
	return p ? p->p_nprivate : 0;
}

static char
psl_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * Check the labels of s[0..n) (already without "!" or "*."): none empty, none over 63 bytes,
 * no byte that is ASCII punctuation, a control or a space. Bytes >= 0x80 are let through: the
 * list spells internationalised rules in UTF-8. Returns NULL or what is wrong.
 */
static const char *
psl_rule_labels(const char *s, size_t n)
{
	size_t lab = 0;
	if (n == 0)
		return "empty rule";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (lab == 0)
				return "empty label";
			lab = 0;
			continue;
		}
		if (c == '*')
			return "'*' is allowed only as the whole first label";
		if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				     (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return "character not allowed in a DNS name";
		if (++lab > PSL_LABEL_MAX)
			return "label longer than 63 bytes";
	}
	if (lab == 0)
		return "empty label";
	if (n > PSL_NAME_MAX)
		return "rule longer than 253 bytes";
	return NULL;
}

/* Adds one rule word w[0..n) found at line; returns NULL or what is wrong with it. */
static const char *
psl_add_word(struct psl_rule **v, size_t *nv, size_t *cap, const char *w, size_t n, int priv)
{
	uint8_t flag = PSL_NORMAL;
	if (n > 0 && w[0] == '!') {
		flag = PSL_EXCEPTION;
		w++;
		n--;
		if (memchr(w, '.', n) == NULL)
			return "an exception needs at least two labels";
	} else if (n >= 2 && w[0] == '*' && w[1] == '.') {
		flag = PSL_WILDCARD;
		w += 2;
		n -= 2;
	} else if (n == 1 && w[0] == '*') {
		return "a lone '*' is the implicit default rule, not a list entry";
	}
	const char *why = psl_rule_labels(w, n);
	if (why)
		return why;
	if (*nv == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	struct psl_rule *r = &(*v)[(*nv)++];
	r->pr_text = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		r->pr_text[i] = psl_lower(w[i]);
	r->pr_text[n] = '\0';
	r->pr_flags = flag;
	r->pr_private = (uint8_t)priv;
	return NULL;
}

int
psl_parse(const char *text, size_t len, const char *origin, struct psl **out, char *err,
    size_t errlen)
{
	struct psl_rule *v = NULL;
	size_t nv = 0, cap = 0, line = 0;
	int priv = 0;
	const char *p = text, *end = text + len;
	*out = NULL;
	if (origin == NULL)
		origin = "public suffix list";
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3; /* a UTF-8 byte-order mark, as some editors write */
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		line++;
		/* the section markers decide which rules are private; they are comments */
		if (le - p >= 2 && p[0] == '/' && p[1] == '/') {
			size_t ll = (size_t)(le - p);
			if (memmem(p, ll, "===BEGIN PRIVATE DOMAINS===", 27))
				priv = 1;
			else if (memmem(p, ll, "===END PRIVATE DOMAINS===", 25) ||
				 memmem(p, ll, "===BEGIN ICANN DOMAINS===", 25))
				priv = 0;
			p = le + (eol != NULL);
			continue;
		}
		const char *w = p;
		while (w < le && (*w == ' ' || *w == '\t' || *w == '\r'))
			w++;
		const char *we = w;
		while (we < le && *we != ' ' && *we != '\t' && *we != '\r')
			we++;
		if (we > w) {
			if (memchr(w, '\0', (size_t)(we - w)) != NULL) {
				cc_fail(err, errlen, CC_ERR_PARSE, "%s:%zu: NUL byte in a rule", origin,
				    line);
				goto fail;
			}
			const char *why = psl_add_word(&v, &nv, &cap, w, (size_t)(we - w), priv);
			if (why) {
				int shown = we - w > 80 ? 80 : (int)(we - w);
				cc_fail(err, errlen, CC_ERR_PARSE, "%s:%zu: rule '%.*s%s': %s", origin,
				    line, shown, w, we - w > 80 ? "..." : "", why);
				goto fail;
			}
		}
		p = le + (eol != NULL);
	}
	if (nv == 0) {
		cc_fail(err, errlen, CC_ERR_PARSE, "%s: no rules in %zu lines", origin, line);
		goto fail;
	}
	qsort(v, nv, sizeof *v, psl_rule_cmp);
	/* one entry per text: "ck" may be both "*.ck" and, in another list, "ck" itself */
	size_t k = 0;
	for (size_t i = 0; i < nv; i++) {
		if (k > 0 && strcmp(v[k - 1].pr_text, v[i].pr_text) == 0) {
			v[k - 1].pr_flags |= v[i].pr_flags;
			v[k - 1].pr_private |= v[i].pr_private;
			free(v[i].pr_text);
			continue;
		}
		v[k++] = v[i];
	}
	struct psl *ps = xcalloc(1, sizeof *ps);
	ps->p_rules = v;
	ps->p_n = k;
	for (size_t i = 0; i < k; i++)
		ps->p_nprivate += v[i].pr_private;
	*out = ps;
	return CC_OK;
fail:
	for (size_t i = 0; i < nv; i++)
		free(v[i].pr_text);
	free(v);
	return CC_ERR_PARSE;
}

int
psl_load(const char *path, struct psl **out, char *err, size_t errlen)
{
	*out = NULL;
	if (path == NULL || *path == '\0')
		path = PSL_DEFAULT_PATH;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return cc_fail(err, errlen, CC_ERR_IO, "%s: %s", path, strerror(errno));
	size_t cap = 256 * 1024, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			if (cap >= PSL_MAX_FILE) {
				fclose(f);
				free(buf);
				return cc_fail(err, errlen, CC_ERR_TOOBIG, "%s: larger than %u bytes",
				    path, PSL_MAX_FILE);
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return cc_fail(err, errlen, CC_ERR_IO, "%s: read error", path);
	}
	int rc = psl_parse(buf, n, path, out, err, errlen);
	free(buf);
	return rc;
}

static uint8_t
psl_flags(const struct psl *p, const char *s)
{
	struct psl_rule key = {.pr_text = (char *)s};
	const struct psl_rule *r = bsearch(&key, p->p_rules, p->p_n, sizeof key, psl_rule_cmp);
	return r ? r->pr_flags : 0;
}

/* Copies name into buf lower-cased without a trailing dot, checking it; NULL or the problem. */
static const char *
psl_norm_name(const char *name, char *buf, size_t *nlab, size_t *starts)
{
	size_t n = strlen(name), lab = 0, k = 0;
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0)
		return "empty name";
	if (n > PSL_NAME_MAX)
		return "name longer than 253 bytes";
	*nlab = 0;
	for (size_t i = 0; i < n; i++) {
		char c = psl_lower(name[i]);
		if (c == '.') {
			if (lab == 0)
				return "empty label";
			lab = 0;
		} else {
			if (lab == 0)
				starts[(*nlab)++] = i;
			if (c == '*') {
				if (i != 0 || n < 3 || name[1] != '.')
					return "'*' is allowed only as the whole first label";
			} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
				       c == '_')) {
				return "character not allowed in a DNS name";
			}
			if (++lab > PSL_LABEL_MAX)
				return "label longer than 63 bytes";
		}
		buf[k++] = c;
	}
	if (lab == 0)
		return "empty label";
	buf[k] = '\0';
	return NULL;
}

int
psl_registered(const struct psl *p, const char *name, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char buf[PSL_NAME_MAX + 1];
	size_t starts[PSL_NAME_MAX / 2 + 1], n = 0;
	if (p == NULL || name == NULL)
		return cc_fail(err, errlen, CC_ERR_INVAL, "no list or no name");
	const char *why = psl_norm_name(name, buf, &n, starts);
	if (why) {
		int l = (int)strnlen(name, 80);
		return cc_fail(err, errlen, CC_ERR_INVAL, "name '%.*s%s': %s", l, name,
		    strlen(name) > 80 ? "..." : "", why);
	}
	/*
	 * suffix = the index of the label the public suffix starts at. An exception prevails over
	 * everything; otherwise the longest match wins (the first one from the left), a wildcard
	 * on labels i+1.. matching labels i..; with no match, the implicit "*" rule.
	 */
	size_t suffix = n - 1;
	int found = 0;
	for (size_t i = 0; i < n && !found; i++)
		if (i + 1 < n && (psl_flags(p, buf + starts[i]) & PSL_EXCEPTION)) {
			suffix = i + 1;
			found = 1;
		}
	for (size_t i = 0; i < n && !found; i++) {
		if ((psl_flags(p, buf + starts[i]) & PSL_NORMAL) ||
		    (i + 1 < n && (psl_flags(p, buf + starts[i + 1]) & PSL_WILDCARD))) {
			suffix = i;
			found = 1;
		}
	}
	const char *reg = suffix == 0 ? buf : buf + starts[suffix - 1];
	size_t rl = strlen(reg);
	if (rl + 1 > outlen)
		return cc_fail(err, errlen, CC_ERR_TOOBIG, "registered domain of '%s' does not fit in "
		    "%zu bytes", buf, outlen);
	memcpy(out, reg, rl + 1);
	return suffix == 0 ? PSL_IS_SUFFIX : PSL_REGISTERED;
}
