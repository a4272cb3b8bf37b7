/*
 * fuzz_kerror: arbitrary bytes as the API server's answer to a failed request: its response
 * header lines through kube_retry_after_header (what kube_client's header callback runs on
 * each line curl hands over) and its body through kube_error_from_response, which makes the
 * struct kube_error that every caller logs, retries on (ke_retry_after: the reflector's
 * backoff) and quotes in Events (ke_message).
 *
 * An error answer may come from the API server, an aggregated API server, or a proxy or load
 * balancer in between (HTML pages, truncated bodies, odd headers): no answer may crash, leak or
 * trip a sanitizer, and kube_client.h's promises must hold: ke_reason and ke_message are
 * NUL-terminated inside their arrays; ke_http is the status; ke_retry_after is 0 or within
 * 1..KUBE_RETRY_AFTER_MAX, and the header's value when that was usable; a body that is not a
 * Status is quoted as printable ASCII after "HTTP CODE"; and kube_retry_after_header agrees
 * with a plain reading of RFC 9110's delta-seconds (digits between optional blanks and the line
 * end) written here from scratch.
 *
 * Input: bytes 0-1 give the status (100..599, big-endian modulo 500 plus 100), byte 2 the
 * Retry-After passed to kube_error_from_response directly when its bit 7 is set (bits 0-6 pick
 * a value near and beyond the bounds; else the headers' own). Then header lines, each ending
 * in '\n' as curl hands them over, up to an empty line (a lone "\n" or "\r\n"); the rest is the
 * body. A line starting with "HTTP/" begins a new response, as after "100 Continue".
 */
#include "cc_err.h"
#include "kube_client.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_fail(const char *what, const char *text, long long a, long long b)
{
	fprintf(stderr, "fuzz_kerror: %s: \"%s\" (%lld, %lld)\n", what, text, a, b);
	abort();
}

/*
 * The reference reading of one header line: 1 with *secs when it is "Retry-After:" (any case)
 * with delta-seconds 1..KUBE_RETRY_AFTER_MAX between blanks, before CR/LF.
 */
static int
fz_ref_retry_after(const char *line, size_t len, long long *secs)
{
	static const char name[] = "retry-after:";
	*secs = 0;
	char *s = malloc(len + 1);
	if (s == NULL)
		abort();
	memcpy(s, line, len);
	s[len] = '\0';
	int ok = 0;
	if (strlen(s) != len || len < strlen(name))
		goto out; /* a NUL inside the line ends the value early: not a number to the end */
	for (size_t i = 0; i < strlen(name); i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
		if (c != name[i])
			goto out;
	}
	char *v = s + strlen(name), *e = s + len;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '\0')
		goto out;
	long long n = 0;
	for (char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			goto out;
		if (n <= KUBE_RETRY_AFTER_MAX)
			n = n * 10 + (*p - '0'); /* stops growing once over the bound */
	}
	if (n < 1 || n > KUBE_RETRY_AFTER_MAX)
		goto out;
	*secs = n;
	ok = 1;
out:
	free(s);
	return ok;
}

static void
fz_check_error(const struct kube_error *e, long code, const char *body, size_t len, long hdr)
{
	if (memchr(e->ke_reason, '\0', sizeof e->ke_reason) == NULL ||
	    memchr(e->ke_message, '\0', sizeof e->ke_message) == NULL)
		fz_fail("reason or message not NUL-terminated", "", code, hdr);
	if (e->ke_http != code)
		fz_fail("ke_http is not the status", e->ke_message, e->ke_http, code);
	if (e->ke_retry_after < 0 || e->ke_retry_after > KUBE_RETRY_AFTER_MAX)
		fz_fail("ke_retry_after out of bounds", e->ke_message, e->ke_retry_after, hdr);
	if (hdr >= 1 && hdr <= KUBE_RETRY_AFTER_MAX && e->ke_retry_after != hdr)
		fz_fail("the header's Retry-After is not the one kept", "", e->ke_retry_after, hdr);

	cJSON *root = len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
	int status = cJSON_IsString(kind) && strcmp(kind->valuestring, "Status") == 0;
	cJSON_Delete(root);
	if (status)
		return;
	char want[32];
	snprintf(want, sizeof want, "HTTP %ld", code);
	if (e->ke_reason[0] != '\0' || strncmp(e->ke_message, want, strlen(want)) != 0)
		fz_fail("a body that is not a Status gave a reason, or no \"HTTP CODE\"",
		    e->ke_message, code, 0);
	for (const char *p = e->ke_message; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			fz_fail("a quoted body kept a byte that is not printable", e->ke_message,
			    (unsigned char)*p, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long direct[] = {0, 1, -1, 7, KUBE_RETRY_AFTER_MAX,
	    KUBE_RETRY_AFTER_MAX + 1, 1000000000L, LONG_MAX, LONG_MIN};
	if (size < 3)
		return 0;
	long code = 100 + (long)(((unsigned)data[0] << 8 | data[1]) % 500);
	const char *at = (const char *)data + 3, *end = (const char *)data + size;

	/* the header lines, each in a copy of its own size, as curl's callback sees them */
	long hdr = 0;
	while (at < end) {
		const char *nl = memchr(at, '\n', (size_t)(end - at));
		size_t len = nl ? (size_t)(nl - at) + 1 : (size_t)(end - at);
		char *line = malloc(len);
		if (line == NULL)
			abort();
		memcpy(line, at, len);
		at += len;
		int blank = (len == 1 && line[0] == '\n') ||
		    (len == 2 && line[0] == '\r' && line[1] == '\n');
		long secs = -1;
		long long want;
		int got = kube_retry_after_header(line, len, &secs);
		int ref = fz_ref_retry_after(line, len, &want);
		if (got != ref || secs != (got ? want : 0)) {
			char shown[128];
			snprintf(shown, sizeof shown, "%.*s", (int)len, line);
			fz_fail("kube_retry_after_header and the reference disagree", shown, secs,
			    want);
		}
		if (len >= 5 && memcmp(line, "HTTP/", 5) == 0)
			hdr = 0;
		else if (got)
			hdr = secs;
		free(line);
		if (blank)
			break;
	}
	if (data[2] & 0x80)
		hdr = direct[(data[2] & 0x7f) % (sizeof direct / sizeof direct[0])];

	/* the body, in a copy of exactly its size so that a read past it is caught */
	size_t blen = (size_t)(end - at);
	char *body = malloc(blen ? blen : 1);
	if (body == NULL)
		abort();
	memcpy(body, at, blen);
	struct kube_error e;
	memset(&e, 0xAA, sizeof e); /* kube_request's callers hand over uninitialised errors */
	kube_error_from_response(&e, code, blen ? body : NULL, blen, hdr);
	fz_check_error(&e, code, body, blen, hdr);
	free(body);
	return 0;
}
