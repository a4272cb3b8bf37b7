/*
 * fuzz_psl: arbitrary bytes as a Public Suffix List file (the one --public-suffix-list names,
 * else the system's), through psl_parse, and names through psl_registered, the registered
 * domain that keys the ACME issuance budgets (budget.c).
 *
 * The file is the user's or a package's, edited by hand or fetched from anywhere: no list may
 * crash, leak or trip a sanitizer, a refused list says where ("ORIGIN:LINE" or "ORIGIN:") and
 * leaves nothing, and for an accepted one every answer must be the one the list's own algorithm
 * (publicsuffix.org/list/, as psl.h words it) gives, computed here from scratch over the rules
 * read naively from the same text: the matching exception with the most labels, else the
 * matching rule with the most labels, else "*"; the registered domain is one label more, or
 * the name itself when it is a public suffix. Answers are lower case, spell a suffix of the
 * name at a label boundary, and asked again give themselves.
 *
 * Input: the list, then optionally a line "#names" and names to look up, one per line. Without
 * it, the names are the list's own rules with their "!" or "*." taken off, and each of them
 * under one and two more labels, so that rules and names meet.
 */
#include "cc_err.h"
#include "psl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NAMES_MARK "\n#names\n"
#define FZ_MAX_RULES 512 /* rules the reference keeps; beyond them it compares nothing */
#define FZ_MAX_NAMES 64   /* names looked up per input */

struct fz_rule {
	char r_text[PSL_NAME_MAX + 2]; /* lower case, without "!" */
	int r_exception;               /* it was "!..." */
};

static struct fz_rule fz_rules[FZ_MAX_RULES];
static size_t fz_nrules;
static int fz_truncated; /* more rules than fz_rules holds: compare nothing */

static void
fz_fail(const char *what, const char *name, const char *got, const char *want)
{
	fprintf(stderr, "fuzz_psl: %s: name \"%s\": got \"%s\", want \"%s\"\n", what, name,
	    got ? got : "", want ? want : "");
	abort();
}

static char
fz_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int
fz_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The rules as the file format reads: each line's first word, but for "//" lines. */
static void
fz_read_rules(const char *text, size_t len)
{
	fz_nrules = 0;
	fz_truncated = 0;
	const char *p = text, *end = text + len;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *le = eol ? eol : end;
		const char *w = p;
		p = le + (eol != NULL);
		if (le - w >= 2 && w[0] == '/' && w[1] == '/')
			continue;
		while (w < le && fz_blank(*w))
			w++;
		const char *we = w;
		while (we < le && !fz_blank(*we))
			we++;
		if (we == w)
			continue;
		if (fz_nrules == FZ_MAX_RULES || (size_t)(we - w) > PSL_NAME_MAX + 1) {
			fz_truncated = 1;
			continue;
		}
		struct fz_rule *r = &fz_rules[fz_nrules++];
		r->r_exception = w[0] == '!';
		w += r->r_exception;
		size_t n = (size_t)(we - w), i;
		for (i = 0; i < n; i++)
			r->r_text[i] = fz_lower(w[i]);
		r->r_text[i] = '\0';
	}
}

/* Labels of s (at most 128, as 253 bytes hold): starts and lengths; returns the count. */
static size_t
fz_labels(const char *s, const char **lab, size_t *len)
{
	size_t n = 0;
	for (const char *p = s; n < 128;) {
		const char *dot = strchr(p, '.');
		lab[n] = p;
		len[n++] = dot ? (size_t)(dot - p) : strlen(p);
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return n;
}

/* How many labels the rule covers when it matches the name's rightmost labels, or 0. */
static size_t
fz_match(const struct fz_rule *r, const char **nl, const size_t *nlen, size_t nn)
{
	const char *rl[128];
	size_t rlen[128], rn = fz_labels(r->r_text, rl, rlen);
	if (rn > nn)
		return 0;
	for (size_t j = 0; j < rn; j++) {
		size_t k = nn - rn + j;
		int wild = j == 0 && rlen[0] == 1 && rl[0][0] == '*';
		if (!wild && (rlen[j] != nlen[k] || memcmp(rl[j], nl[k], nlen[k]) != 0))
			return 0;
	}
	return rn;
}

/* The registered domain of the normalised name by the list's algorithm; 1 when a suffix. */
static int
fz_reference(const char *name, char *out, size_t outsz)
{
	const char *nl[128];
	size_t nlen[128], nn = fz_labels(name, nl, nlen), best = 0, best_ex = 0;
	for (size_t i = 0; i < fz_nrules; i++) {
		size_t m = fz_match(&fz_rules[i], nl, nlen, nn);
		if (fz_rules[i].r_exception) {
			if (m > best_ex)
				best_ex = m;
		} else if (m > best) {
			best = m;
		}
	}
	size_t suffix = best_ex ? best_ex - 1 : best ? best : 1;
	if (suffix >= nn) {
		snprintf(out, outsz, "%s", name);
		return 1;
	}
	snprintf(out, outsz, "%s", nl[nn - suffix - 1]);
	return 0;
}

static void
fz_lookup(const struct psl *p, const char *name)
{
	char out[PSL_NAME_MAX + 1], again[PSL_NAME_MAX + 1], want[PSL_NAME_MAX + 2];
	char norm[PSL_NAME_MAX + 2], err[256] = "";
	int rc = psl_registered(p, name, out, sizeof out, err, sizeof err);
	if (rc < 0) {
		if (err[0] == '\0')
			fz_fail("a refused name without a reason", name, NULL, NULL);
		return;
	}
	if (rc != PSL_REGISTERED && rc != PSL_IS_SUFFIX)
		fz_fail("an answer that is neither registered nor suffix", name, out, NULL);
	/* the name as psl.h compares it: lower case, no trailing dot */
	size_t n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n > PSL_NAME_MAX)
		fz_fail("a name over 253 bytes was accepted", name, out, NULL);
	for (size_t i = 0; i < n; i++)
		norm[i] = fz_lower(name[i]);
	norm[n] = '\0';
	size_t ol = strlen(out);
	if (ol > n || strcmp(norm + n - ol, out) != 0 || (ol < n && norm[n - ol - 1] != '.'))
		fz_fail("the answer is not a suffix of the name at a label", name, out, norm);
	if (rc == PSL_IS_SUFFIX && ol != n)
		fz_fail("a public suffix answered with another name", name, out, norm);
	if (psl_registered(p, out, again, sizeof again, NULL, 0) != rc || strcmp(again, out) != 0)
		fz_fail("the answer asked again gives another", name, again, out);
	if (fz_truncated)
		return;
	int suffix = fz_reference(norm, want, sizeof want);
	if (strcmp(out, want) != 0 || suffix != (rc == PSL_IS_SUFFIX))
		fz_fail("the answer differs from the list's algorithm", name, out, want);
}

/* The list's own rules as names: bare, and under one and two more labels. */
static void
fz_lookup_rules(const struct psl *p)
{
	char name[PSL_NAME_MAX + 16];
	size_t n = fz_nrules < FZ_MAX_NAMES / 3 ? fz_nrules : FZ_MAX_NAMES / 3;
	for (size_t i = 0; i < n; i++) {
		const char *t = fz_rules[i].r_text;
		if (t[0] == '*' && t[1] == '.')
			t += 2;
		fz_lookup(p, t);
		snprintf(name, sizeof name, "x.%s", t);
		fz_lookup(p, name);
		snprintf(name, sizeof name, "A.b.%s.", t);
		fz_lookup(p, name);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1); /* exactly the file's bytes: no terminator */
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	const char *names = NULL;
	size_t len = size;
	/* the mark is looked for in a terminated copy; the list itself stays unterminated */
	char *whole = malloc(size + 1);
	if (whole == NULL)
		abort();
	memcpy(whole, data, size);
	whole[size] = '\0';
	char *mark = strstr(whole, FZ_NAMES_MARK);
	if (mark != NULL) {
		len = (size_t)(mark - whole) + 1;
		names = mark + strlen(FZ_NAMES_MARK);
	}

	struct psl *p = (struct psl *)(uintptr_t)1;
	char err[256] = "";
	if (psl_parse(text, len, "fuzz.dat", &p, err, sizeof err) != CC_OK) {
		if (p != NULL || strncmp(err, "fuzz.dat:", 9) != 0)
			fz_fail("a refused list left a list or no place", err, NULL, NULL);
		goto out;
	}
	if (psl_count(p) == 0 || psl_count_private(p) > psl_count(p))
		fz_fail("rule counts out of range", "", NULL, NULL);
	fz_read_rules(text, len);
	if (names == NULL) {
		fz_lookup_rules(p);
	} else {
		char *save = NULL, *line = strtok_r((char *)names, "\n", &save);
		for (int i = 0; line != NULL && i < FZ_MAX_NAMES; i++) {
			fz_lookup(p, line);
			line = strtok_r(NULL, "\n", &save);
		}
	}
	psl_free(p);
out:
	free(whole);
	free(text);
	return 0;
}
