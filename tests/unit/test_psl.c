/*
 * Tests for psl: a small list in the file's own format (with ICANN and private sections,
 * wildcards and exceptions) and named names; malformed lists with the line they break on; and,
 * when the Debian package is installed, a few answers from the real list.
 */
#include "cc_err.h"
#include "psl.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char small_list[] =
    "// a comment line, then the sections as the real file marks them\n"
    "// ===BEGIN ICANN DOMAINS===\n"
    "com\n"
    "uk\n"
    "co.uk\n"
    "ck\n"
    "*.ck\n"
    "!www.ck\n"
    "jp\n"
    "*.kobe.jp\n"
    "!city.kobe.jp\n"
    "  \t\n"
    "IO   trailing words after the rule are ignored\n"
    "// ===END ICANN DOMAINS===\n"
    "// ===BEGIN PRIVATE DOMAINS===\n"
    "github.io\n"
    "*.compute.example-cloud.com\n"
    "// ===END PRIVATE DOMAINS===\n";

static struct psl *
small(void)
{
	struct psl *p = NULL;
	char err[256] = "";
	int rc = psl_parse(small_list, sizeof small_list - 1, "small", &p, err, sizeof err);
	cr_assert_eq(rc, CC_OK, "parse: %s", err);
	cr_assert_not_null(p);
	return p;
}

struct reg_case {
	const char *what;
	const char *name;
	int rc;             /* PSL_REGISTERED, PSL_IS_SUFFIX or a CC_ERR_ */
	const char *want;   /* the registered domain, or a piece of the error */
};

static const struct reg_case reg_cases[] = {
	{"plain subdomain", "www.example.com", PSL_REGISTERED, "example.com"},
	{"registered domain itself", "example.com", PSL_REGISTERED, "example.com"},
	{"deep subdomain", "a.b.c.example.com", PSL_REGISTERED, "example.com"},
	{"two-label suffix", "new.blog.example.co.uk", PSL_REGISTERED, "example.co.uk"},
	{"one-label suffix under a longer one", "example.uk", PSL_REGISTERED, "example.uk"},
	{"wildcard: every label under ck is a suffix", "www.shop.foo.ck", PSL_REGISTERED,
	    "shop.foo.ck"},
	{"wildcard: the suffix itself", "foo.ck", PSL_IS_SUFFIX, "foo.ck"},
	{"exception beats the wildcard", "www.ck", PSL_REGISTERED, "www.ck"},
	{"exception: below it", "a.www.ck", PSL_REGISTERED, "www.ck"},
	{"exception inside a deeper wildcard", "www.city.kobe.jp", PSL_REGISTERED,
	    "city.kobe.jp"},
	{"deeper wildcard", "a.b.c.kobe.jp", PSL_REGISTERED, "b.c.kobe.jp"},
	{"private section counts (as Let's Encrypt uses it)", "me.github.io", PSL_REGISTERED,
	    "me.github.io"},
	{"private section: a deep name", "x.y.me.github.io", PSL_REGISTERED, "me.github.io"},
	{"private wildcard", "vm1.eu.compute.example-cloud.com", PSL_REGISTERED,
	    "vm1.eu.compute.example-cloud.com"},
	{"private wildcard: the suffix itself", "eu.compute.example-cloud.com", PSL_IS_SUFFIX,
	    "eu.compute.example-cloud.com"},
	{"trailing dot", "www.example.co.uk.", PSL_REGISTERED, "example.co.uk"},
	{"upper case", "WWW.Example.CO.UK", PSL_REGISTERED, "example.co.uk"},
	{"upper-case rule in the file", "foo.bar.io", PSL_REGISTERED, "bar.io"},
	{"unlisted TLD: the implicit * rule", "svc.cluster.internal", PSL_REGISTERED,
	    "cluster.internal"},
	{"single label", "localhost", PSL_IS_SUFFIX, "localhost"},
	{"a listed TLD alone", "com", PSL_IS_SUFFIX, "com"},
	{"a listed two-label suffix alone", "co.uk", PSL_IS_SUFFIX, "co.uk"},
	{"wildcard SAN", "*.example.com", PSL_REGISTERED, "example.com"},
	{"wildcard SAN of a registered domain", "*.shop.example.co.uk", PSL_REGISTERED,
	    "example.co.uk"},
	{"A-label name", "xn--bcher-kva.example.com", PSL_REGISTERED, "example.com"},
	{"empty name", "", CC_ERR_INVAL, "empty name"},
	{"only a dot", ".", CC_ERR_INVAL, "empty name"},
	{"empty label", "a..example.com", CC_ERR_INVAL, "empty label"},
	{"leading dot", ".example.com", CC_ERR_INVAL, "empty label"},
	{"two trailing dots", "example.com..", CC_ERR_INVAL, "empty label"},
	{"a star inside", "a.*.example.com", CC_ERR_INVAL, "'*'"},
	{"a lone star", "*", CC_ERR_INVAL, "'*'"},
	{"a space", "ex ample.com", CC_ERR_INVAL, "not allowed"},
	{"UTF-8 instead of an A-label", "b\xc3\xbc" "cher.example.com", CC_ERR_INVAL,
	    "not allowed"},
	{"label of 64 bytes", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	    CC_ERR_INVAL, "63"},
};

Test(psl, named_names)
{
	struct psl *p = small();
	for (size_t i = 0; i < sizeof reg_cases / sizeof *reg_cases; i++) {
		const struct reg_case *c = &reg_cases[i];
		char out[PSL_NAME_MAX + 1] = "", err[256] = "";
		int rc = psl_registered(p, c->name, out, sizeof out, err, sizeof err);
		cr_expect_eq(rc, c->rc, "%s (%s): rc %d, want %d (%s)", c->what, c->name, rc, c->rc,
		    err);
		if (c->rc >= 0)
			cr_expect_str_eq(out, c->want, "%s (%s): got %s", c->what, c->name, out);
		else
			cr_expect(strstr(err, c->want) != NULL, "%s: error '%s' lacks '%s'", c->what,
			    err, c->want);
	}
	psl_free(p);
}

Test(psl, counts_private_rules)
{
	struct psl *p = small();
	/* com uk co.uk ck (also *.ck) www.ck jp kobe.jp city.kobe.jp io github.io compute... */
	cr_expect_eq(psl_count(p), 11, "rules: %zu", psl_count(p));
	cr_expect_eq(psl_count_private(p), 2, "private: %zu", psl_count_private(p));
	psl_free(p);
}

Test(psl, long_name_does_not_fit_small_buffer)
{
	struct psl *p = small();
	char out[8], err[128] = "";
	int rc = psl_registered(p, "www.example.co.uk", out, sizeof out, err, sizeof err);
	cr_expect_eq(rc, CC_ERR_TOOBIG, "rc %d", rc);
	cr_expect(strstr(err, "example.co.uk") != NULL, "%s", err);
	psl_free(p);
}

struct bad_case {
	const char *what;
	const char *text;
	const char *want; /* in the error: origin, line and reason */
};

static const struct bad_case bad_cases[] = {
	{"empty label", "com\n// c\nfoo..com\n", "bad:3: rule 'foo..com': empty label"},
	{"leading dot", "com\n.com\n", "bad:2: rule '.com': empty label"},
	{"star inside", "com\nfoo.*.com\n", "bad:2: rule 'foo.*.com': '*'"},
	{"lone star", "*\n", "bad:1: rule '*': a lone '*'"},
	{"one-label exception", "com\n\n\n!com\n", "bad:4: rule '!com': an exception needs"},
	{"punctuation", "com\nex$ample.com\n", "bad:2: rule 'ex$ample.com': character"},
	{"long label",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com\n",
	    "bad:1: rule 'aaaa"},
	{"no rules at all", "// only\n// comments\n\n", "bad: no rules in 3 lines"},
	{"empty file", "", "bad: no rules in 0 lines"},
};

Test(psl, malformed_lists_name_the_line)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
		const struct bad_case *c = &bad_cases[i];
		struct psl *p = (struct psl *)1;
		char err[256] = "";
		int rc = psl_parse(c->text, strlen(c->text), "bad", &p, err, sizeof err);
		cr_expect_eq(rc, CC_ERR_PARSE, "%s: rc %d", c->what, rc);
		cr_expect_null(p, "%s: out not cleared", c->what);
		cr_expect(strstr(err, c->want) != NULL, "%s: error '%s' lacks '%s'", c->what, err,
		    c->want);
	}
}

Test(psl, byte_order_mark_and_crlf)
{
	static const char text[] = "\xef\xbb\xbf// comment\r\ncom\r\nco.uk\r\n";
	struct psl *p = NULL;
	char err[256] = "", out[64];
	cr_assert_eq(psl_parse(text, sizeof text - 1, "bom", &p, err, sizeof err), CC_OK, "%s", err);
	cr_expect_eq(psl_count(p), 2);
	cr_expect_eq(psl_registered(p, "a.b.co.uk", out, sizeof out, NULL, 0), PSL_REGISTERED);
	cr_expect_str_eq(out, "b.co.uk");
	psl_free(p);
}

Test(psl, nul_byte_in_a_rule)
{
	static const char text[] = "com\nfo\0o.com\n";
	struct psl *p = NULL;
	char err[256] = "";
	int rc = psl_parse(text, sizeof text - 1, "nul", &p, err, sizeof err);
	cr_expect_eq(rc, CC_ERR_PARSE);
	cr_expect(strstr(err, "nul:2:") != NULL, "%s", err);
}

Test(psl, missing_file)
{
	struct psl *p = (struct psl *)1;
	char err[256] = "";
	int rc = psl_load("/nonexistent/psl.dat", &p, err, sizeof err);
	cr_expect_eq(rc, CC_ERR_IO, "rc %d", rc);
	cr_expect_null(p);
	cr_expect(strstr(err, "/nonexistent/psl.dat") != NULL, "%s", err);
}

Test(psl, file_round_trip)
{
	char path[] = "/tmp/test_psl_XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("com\nbad..rule\n", f);
	fclose(f);
	struct psl *p = NULL;
	char err[256] = "";
	int rc = psl_load(path, &p, err, sizeof err);
	cr_expect_eq(rc, CC_ERR_PARSE);
	cr_expect(strstr(err, path) != NULL && strstr(err, ":2:") != NULL, "%s", err);
	unlink(path);
}

/* The installed list (Debian package publicsuffix), when there is one. */
Test(psl, real_list)
{
	if (access(PSL_DEFAULT_PATH, R_OK) != 0) {
		cr_log_warn("%s not installed; skipping", PSL_DEFAULT_PATH);
		return;
	}
	struct psl *p = NULL;
	char err[256] = "", out[PSL_NAME_MAX + 1];
	int rc = psl_load(NULL, &p, err, sizeof err);
	cr_assert_eq(rc, CC_OK, "%s", err);
	cr_expect_gt(psl_count(p), 5000);
	cr_expect_gt(psl_count_private(p), 1000);
	cr_expect_eq(psl_registered(p, "new.blog.example.co.uk", out, sizeof out, NULL, 0),
	    PSL_REGISTERED);
	cr_expect_str_eq(out, "example.co.uk");
	cr_expect_eq(psl_registered(p, "me.github.io", out, sizeof out, NULL, 0), PSL_REGISTERED);
	cr_expect_str_eq(out, "me.github.io");
	cr_expect_eq(psl_registered(p, "a.b.www.ck", out, sizeof out, NULL, 0), PSL_REGISTERED);
	cr_expect_str_eq(out, "www.ck");
	psl_free(p);
}
