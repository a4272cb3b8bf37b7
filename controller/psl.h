/*
 * psl: registered domains from the Public Suffix List (https://publicsuffix.org/list/).
 *
 * Let's Encrypt keys its per-domain issuance limit by registered domain and finds it with the
 * Public Suffix List ("We use the Public Suffix List to identify registered domains",
 * letsencrypt.org/docs/rate-limits). Its CA, Boulder, calls publicsuffix-go's Domain() with the
 * default list and options, which include the private section, and uses a name that is itself a
 * public suffix as its own key (boulder's baseDomain). This module does the same: every rule of
 * the file counts, ICANN and private alike.
 *
 * The file format: one rule per line, the rule being the line's first whitespace-separated word;
 * lines starting with "//" and blank lines are skipped. A rule is a normal suffix ("co.uk"), a
 * wildcard ("*.ck": every label under ck is a suffix) or an exception ("!www.ck": not a suffix,
 * though a wildcard would say so). The prevailing rule for a name is a matching exception if any
 * (the suffix is then the exception minus its first label), else the matching rule with the most
 * labels, else "*" (the last label alone). Registered domain = public suffix + one label.
 *
 * Names are compared case-insensitively (ASCII) and a trailing dot is ignored. Names in
 * certificates are in A-label form ("xn--..."); the list spells internationalised rules in
 * Unicode, and those are kept as given, so an IDN rule of more than one label does not match
 * its A-label spelling (single-label IDN TLDs still come out right through the "*" rule).
 *
 * The default file is the Debian package `publicsuffix`'s PSL_DEFAULT_PATH. A struct psl is
 * read-only once made and may be shared by threads.
 */
#ifndef PSL_H
#define PSL_H

#include <stddef.h>

#define PSL_DEFAULT_PATH "/usr/share/publicsuffix/public_suffix_list.dat"
#define PSL_MAX_FILE (16u << 20) /* a list file larger than this is refused */
#define PSL_NAME_MAX 253         /* longest DNS name, without the trailing dot */

struct psl;

/*
 * Parse a list held in text[0..len). origin names it in errors ("FILE"). Returns CC_OK and *out
 * (free with psl_free), or CC_ERR_PARSE with err "ORIGIN:LINE: rule 'R': what is wrong" for the
 * first malformed rule (an empty label, a '*' anywhere but as the whole first label, an
 * exception of one label, a character that cannot be in a DNS name, a name too long) or a list
 * without any rule. *out is NULL on failure.
 */
int psl_parse(const char *text, size_t len, const char *origin, struct psl **out, char *err,
    size_t errlen);

/*
 * Read and parse the file at path (NULL: PSL_DEFAULT_PATH). Returns CC_OK, CC_ERR_IO with err
 * "PATH: reason" when it cannot be read, CC_ERR_TOOBIG above PSL_MAX_FILE, or psl_parse's error.
 */
int psl_load(const char *path, struct psl **out, char *err, size_t errlen);

void psl_free(struct psl *p);

/* Rules held: in all, and in the file's private section (between its PRIVATE markers). */
size_t psl_count(const struct psl *p);
size_t psl_count_private(const struct psl *p);

enum psl_result {
	PSL_REGISTERED = 0, /* out holds the registered domain */
	PSL_IS_SUFFIX = 1,  /* the name is itself a public suffix; out holds the name (Boulder's
			       rate-limit key for it) */
};

/*
 * The registered domain of name into out (lower case, no trailing dot, size outlen). A leading
 * "*." label (a wildcard SAN) is kept as a label like any other. Returns PSL_REGISTERED,
 * PSL_IS_SUFFIX, or CC_ERR_INVAL with err saying what is wrong with the name (empty, an empty
 * label, a label over 63 bytes, longer than PSL_NAME_MAX, a byte that is not a letter, digit,
 * '-' or '_', a '*' that is not the whole first label) or CC_ERR_TOOBIG when out is too small.
 * err may be NULL.
 */
int psl_registered(const struct psl *p, const char *name, char *out, size_t outlen, char *err,
    size_t errlen);

#endif
