/*
 * fuzz_http: arbitrary bytes as what the controller's HTTP endpoint and the CLI's
 * --controller parse of a request: http_parse_addr (the listen address, from --http-addr or the
 * settings file), http_parse_explain_path and http_parse_explain_arg (GET /explain/NS/NAME and
 * its query, from whoever can reach the port), http_parse_status_arg (GET /status?namespace=),
 * and cg_url and xr_url (the URL the user gives `explain` and `status` with --controller).
 *
 * The port is open to anything in the cluster, and the names it reads go on to the store's
 * lookups and into the answers, so each parser must hold http_server.h's promises, checked here
 * against DNS-1123 rules written from scratch (not resource.c's): an accepted explain path gives
 * a namespace that is a DNS label and a name that is a DNS subdomain, which spell the path back,
 * and every such path is accepted; a refused one says why and leaves both names ""; an accepted
 * address has a port 0..65535 and a host that spells the address back; an argument is accepted
 * exactly when it is one the header lists. And what the CLI asks is what the server reads: the
 * path xr_url builds parses back to the same two names.
 *
 * Input: byte 0 picks the parser (modulo 6: address, explain path, explain argument, status
 * argument, cg_url, xr_url then the path back) and, in bits 4-5, the size of the output buffers
 * (as the server has them, or smaller ones). The rest, up to a NUL, is the text; for xr_url its
 * first line is the base URL and the second "NAMESPACE/NAME".
 */
#include "cc_err.h"
#include "ctlget.h"
#include "explain_remote.h"
#include "http_server.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_URL_MAX 2048 /* the CLI's URL buffers */
#define FZ_UNSET "\x7f-unset"

static void
fz_fail(const char *what, const char *text, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_http: %s: \"%s\" (\"%s\", \"%s\")\n", what, text, a ? a : "",
	    b ? b : "");
	abort();
}

static int
fz_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 label as Kubernetes reads it: [a-z0-9]([-a-z0-9]*[a-z0-9])?, 1..max bytes. */
static int
fz_label(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max || !fz_alnum(s[0]) || !fz_alnum(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!fz_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* Kubernetes' DNS-1123 subdomain: labels (no length of their own) joined by dots, 1..253. */
static int
fz_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (!fz_label(p, l, 253))
			return 0;
		if (dot == NULL)
			return 1;
		p = dot + 1;
	}
}

static void
fz_refusal(const char *s, const char *err)
{
	if (err[0] == '\0' || memchr(err, '\0', 256) == NULL)
		fz_fail("refused without a reason", s, err, NULL);
}

static void
fz_addr(const char *s, size_t hostsz)
{
	char host[256], err[256] = "";
	int port = -7;
	memcpy(host, FZ_UNSET, sizeof FZ_UNSET);
	if (http_parse_addr(s, host, hostsz, &port, err, sizeof err) != CC_OK) {
		fz_refusal(s, err);
		if (port != -7)
			fz_fail("a refused address set the port", s, err, NULL);
		if (hostsz > 0 && host[0] != '\0')
			fz_fail("a refused address left a host behind", s, host, NULL);
		return;
	}
	if (port < 0 || port > 65535)
		fz_fail("port out of range", s, host, NULL);
	if (strlen(host) >= hostsz)
		fz_fail("host longer than its buffer", s, host, NULL);
	/* HOST:DIGITS or [HOST]:DIGITS, the digits spelling the port */
	const char *colon = strrchr(s, ':');
	char back[300];
	snprintf(back, sizeof back, s[0] == '[' ? "[%s]" : "%s", host);
	if (colon == NULL || strlen(back) != (size_t)(colon - s) ||
	    strncmp(back, s, strlen(back)) != 0)
		fz_fail("the host does not spell the address back", s, host, NULL);
	const char *d = colon + 1;
	long v = 0;
	if (*d == '\0')
		fz_fail("accepted without a port", s, host, NULL);
	for (; *d; d++) {
		if (*d < '0' || *d > '9')
			fz_fail("the port is not digits", s, host, NULL);
		v = v * 10 + (*d - '0');
		if (v > 65535)
			fz_fail("the port's digits exceed 65535", s, host, NULL);
	}
	if (v != port)
		fz_fail("the port is not its digits", s, host, NULL);
	if (s[0] != '[')
		for (const char *h = host; *h; h++)
			if (!fz_alnum(*h) && !(*h >= 'A' && *h <= 'Z') && *h != '.' && *h != '-')
				fz_fail("a host name byte that names nothing", s, host, NULL);
}

/* Would "/explain/NS/NAME" be an explain path, by the header's rules? */
static int
fz_explain_ok(const char *s, size_t nssz, size_t namesz)
{
	static const char prefix[] = "/explain/";
	if (strncmp(s, prefix, sizeof prefix - 1) != 0)
		return 0;
	const char *ns = s + sizeof prefix - 1, *slash = strchr(ns, '/');
	if (slash == NULL)
		return 0;
	size_t nl = (size_t)(slash - ns);
	return fz_label(ns, nl, HTTP_NS_MAX) && nl < nssz && fz_subdomain(slash + 1) &&
	    strlen(slash + 1) < namesz;
}

static void
fz_explain_path(const char *s, size_t nssz, size_t namesz)
{
	char ns[300], name[300], err[256] = "", back[700];
	memcpy(ns, FZ_UNSET, sizeof FZ_UNSET);
	memcpy(name, FZ_UNSET, sizeof FZ_UNSET);
	int rc = http_parse_explain_path(s, ns, nssz, name, namesz, err, sizeof err);
	int want = fz_explain_ok(s, nssz, namesz);
	if (rc != CC_OK) {
		fz_refusal(s, err);
		if (ns[0] != '\0' || name[0] != '\0')
			fz_fail("a refused path left a name", s, ns, name);
		if (want)
			fz_fail("an explain path by the rules was refused", s, err, NULL);
		return;
	}
	if (!want)
		fz_fail("a path against the rules was accepted", s, ns, name);
	if (!fz_label(ns, strlen(ns), HTTP_NS_MAX) || !fz_subdomain(name))
		fz_fail("accepted names that are not a DNS label and subdomain", s, ns, name);
	snprintf(back, sizeof back, "/explain/%s/%s", ns, name);
	if (strcmp(back, s) != 0)
		fz_fail("the names do not spell the path back", s, ns, name);
}

static void
fz_explain_arg(const char *s)
{
	char err[256] = "";
	int json = -7;
	int rc = http_parse_explain_arg(s, &json, err, sizeof err);
	int want = strcmp(s, "format=json") == 0 ? 1 : strcmp(s, "format=text") == 0 ? 0 : -7;
	if (rc != CC_OK)
		fz_refusal(s, err);
	if ((rc == CC_OK) != (want != -7) || json != want)
		fz_fail("explain argument read against the rules", s, err, NULL);
}

static void
fz_status_arg(const char *s, size_t nssz, int again)
{
	char ns[300], err[256] = "";
	const char *before = again ? "shop" : "";
	memcpy(ns, before, strlen(before) + 1);
	int rc = http_parse_status_arg(s, ns, nssz, err, sizeof err);
	const char *v = strncmp(s, "namespace=", 10) == 0 ? s + 10 : NULL;
	int want = !again && v != NULL && fz_label(v, strlen(v), HTTP_NS_MAX) && strlen(v) < nssz;
	if (rc != CC_OK) {
		fz_refusal(s, err);
		if (strcmp(ns, before) != 0)
			fz_fail("a refused argument changed the namespace", s, ns, before);
		if (want)
			fz_fail("a namespace argument by the rules was refused", s, err, NULL);
		return;
	}
	if (!want || strcmp(ns, v) != 0)
		fz_fail("a status argument against the rules was accepted", s, ns, NULL);
}

/* cg_url's rules for a base URL, from ctlget.h; 1 when base is one. */
static int
fz_base_ok(const char *base, size_t *keep)
{
	size_t skip = strncasecmp(base, "http://", 7) == 0 ? 7
	    : strncasecmp(base, "https://", 8) == 0     ? 8
							: 0;
	if (skip == 0)
		return 0;
	size_t hl = strcspn(base + skip, "/");
	if (hl == 0 || memchr(base + skip, '@', hl) || strpbrk(base, "?#"))
		return 0;
	for (const char *p = base; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	size_t bl = strlen(base);
	while (bl > skip + hl && base[bl - 1] == '/')
		bl--;
	*keep = bl;
	return 1;
}

static void
fz_cg_url(const char *s, size_t outsz)
{
	static const char *const paths[] = {"", "/status", "/status?namespace=shop",
	    "/explain/shop/web"};
	char out[FZ_URL_MAX], err[256] = "";
	const char *path = paths[strlen(s) % 4];
	size_t keep = 0;
	int want = fz_base_ok(s, &keep) && keep + strlen(path) < outsz;
	int rc = cg_url(s, path, out, outsz, err, sizeof err);
	if (rc != CC_OK) {
		fz_refusal(s, err);
		if (want)
			fz_fail("a base URL by the rules was refused", s, err, path);
		return;
	}
	if (!want || strncmp(out, s, keep) != 0 || strcmp(out + keep, path) != 0)
		fz_fail("cg_url accepted against the rules, or built another URL", s, out, path);
}

/* xr_url, then the server's parser on the path it built: the same two names come back. */
static void
fz_xr_url(char *s, size_t outsz)
{
	char *nl = strchr(s, '\n');
	if (nl == NULL)
		return;
	*nl = '\0';
	char *cert = nl + 1, *slash = strchr(cert, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	const char *ns = cert, *name = slash + 1;
	char out[FZ_URL_MAX], err[256] = "", pns[HTTP_NS_MAX + 1], pname[HTTP_NAME_MAX + 1];
	size_t keep = 0;
	if (xr_url(s, ns, name, out, outsz, err, sizeof err) != CC_OK) {
		fz_refusal(s, err);
		return;
	}
	if (!fz_base_ok(s, &keep) || !fz_label(ns, strlen(ns), HTTP_NS_MAX) ||
	    !fz_subdomain(name) || strncmp(out, s, keep) != 0)
		fz_fail("xr_url accepted against the rules", s, ns, name);
	if (http_parse_explain_path(out + keep, pns, sizeof pns, pname, sizeof pname, err,
		sizeof err) != CC_OK ||
	    strcmp(pns, ns) != 0 || strcmp(pname, name) != 0)
		fz_fail("the server reads another certificate than the CLI asks for", out, pns,
		    pname);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the server's own sizes first, then smaller ones */
	static const size_t ns_sizes[4] = {HTTP_NS_MAX + 1, 300, 8, 1};
	static const size_t name_sizes[4] = {HTTP_NAME_MAX + 1, 300, 16, 1};
	static const size_t host_sizes[4] = {256, 64, 8, 1};
	static const size_t url_sizes[4] = {FZ_URL_MAX, 512, 40, 1};
	if (size == 0)
		return 0;
	int sz = (data[0] >> 4) & 3;
	char *s = malloc(size);
	if (s == NULL)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0:
		fz_addr(s, host_sizes[sz]);
		break;
	case 1:
		fz_explain_path(s, ns_sizes[sz], name_sizes[sz]);
		break;
	case 2:
		fz_explain_arg(s);
		break;
	case 3:
		fz_status_arg(s, ns_sizes[sz], data[0] >> 6 & 1);
		break;
	case 4:
		fz_cg_url(s, url_sizes[sz]);
		break;
	default:
		fz_xr_url(s, url_sizes[sz]);
		break;
	}
	free(s);
	return 0;
}
