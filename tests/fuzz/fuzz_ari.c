/*
 * fuzz_ari: arbitrary bytes as what an ACME server answers the ARI poller (RFC 9773): a
 * renewalInfo body through ari_parse, the same body as a directory through
 * ari_directory_parse (with a roomy and a small URL buffer), a Retry-After header through
 * hg_retry_after_header (httpget's header callback) and its value through ari_retry_after, and
 * what the poller does with the results in the window cache (arc_answer or arc_failed,
 * arc_window_of, arc_due, arc_prune).
 *
 * The ACME server is on the internet, and an issuer's spec.acme.server may name any host: no
 * answer may crash certcast, a window it keeps must have start before end and a URL that is
 * safe to print, and the wait it derives must stay within ARI_RETRY_MIN..ARI_RETRY_MAX and be
 * the same whether read from the value or from the header line as httpget keeps it.
 *
 * Input: "HEADER\n\nBODY" gives the Retry-After value HEADER (the line "Retry-After: HEADER\r\n"
 * to httpget) and the body BODY, like the tail of
 * an HTTP answer; without a blank line the whole input is the body and there is no Retry-After.
 * Times are fixed.
 */
#include "ari.h"
#include "aricache.h"
#include "cc_err.h"
#include "httpget.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1798761600 /* 2027-01-01T00:00:00Z */

static void
fz_check_window(const struct ari_window *w)
{
	if (w->aw_start >= w->aw_end || memchr(w->aw_url, '\0', sizeof w->aw_url) == NULL)
		abort();
	for (const char *p = w->aw_url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			abort();
	if (w->aw_url[0] != '\0' && strncasecmp(w->aw_url, "http", 4) != 0)
		abort(); /* schemes compare without case */
}

/*
 * The value as a header line through httpget, as the poller gets it: what httpget keeps has no
 * blanks around it and means the same wait (a line cannot hold a CR or LF inside it).
 */
static void
fz_header_line(const char *value, int64_t wait)
{
	size_t vl = strlen(value), len = vl + sizeof "Retry-After: \r\n" - 1;
	char *line = malloc(len), kept[sizeof ((struct hg_resp *)0)->hr_retry_after];
	if (line == NULL)
		abort();
	memcpy(line, "Retry-After: ", 13);
	memcpy(line + 13, value, vl);
	memcpy(line + 13 + vl, "\r\n", 2);
	if (hg_retry_after_header(line, len, kept, sizeof kept) != 1)
		abort();
	size_t kl = strlen(kept);
	if (kl > 0 && (kept[0] == ' ' || kept[0] == '\t' || kept[kl - 1] == ' ' ||
			  kept[kl - 1] == '\t' || strpbrk(kept, "\r\n") != NULL))
		abort();
	if (strpbrk(value, "\r\n") == NULL && ari_retry_after(kept, FZ_NOW) != wait) {
		fprintf(stderr, "fuzz_ari: \"%s\" kept as \"%s\" means another wait\n", value,
		    kept);
		abort();
	}
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *body = in;
	size_t len = size;
	char *header = NULL;
	for (size_t i = 0; i + 1 < size; i++) {
		if (in[i] == '\n' && in[i + 1] == '\n') {
			header = malloc(i + 1);
			if (header == NULL)
				return 0;
			memcpy(header, in, i);
			header[i] = '\0';
			body = in + i + 2;
			len = size - i - 2;
			break;
		}
	}

	int64_t wait = ari_retry_after(header, FZ_NOW);
	if (wait < ARI_RETRY_MIN || wait > ARI_RETRY_MAX)
		abort();
	if (header != NULL)
		fz_header_line(header, wait);

	struct ari_window w;
	char err[256] = "";
	int ok = ari_parse(body, len, &w, err, sizeof err) == CC_OK;
	if (ok) {
		fz_check_window(&w);
	} else {
		static const struct ari_window zero;
		if (err[0] == '\0' || memcmp(&w, &zero, sizeof w) != 0)
			abort(); /* a refusal says why and leaves nothing */
	}

	char url[ARI_URL_MAX], small[32];
	int drc = ari_directory_parse(body, len, url, sizeof url, err, sizeof err);
	if (drc == CC_OK && (strncasecmp(url, "https://", 8) != 0 || strlen(url) >= ARI_URL_MAX))
		abort();
	if (drc != CC_OK && url[0] != '\0')
		abort();
	(void)ari_directory_parse(body, len, small, sizeof small, err, sizeof err);
	if (memchr(small, '\0', sizeof small) == NULL)
		abort();

	struct arc *c = arc_new(4);
	const char *id = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"; /* RFC 9773's example */
	(void)arc_track(c, "uid-1", id, FZ_NOW);
	if (ok) {
		(void)arc_answer(c, id, &w, wait, FZ_NOW);
		struct ari_window back;
		if (arc_window_of(c, "uid-1", &back) != 1 || memcmp(&back, &w, sizeof w) != 0)
			abort();
		if (arc_due(c, id, FZ_NOW + wait - 1) || !arc_due(c, id, FZ_NOW + wait))
			abort();
		/* the same answer again changes nothing */
		if (arc_answer(c, id, &w, wait, FZ_NOW + wait) != 0)
			abort();
	} else {
		unsigned fails = arc_failed(c, id, drc == CC_ERR_NOTFOUND ? wait : 0, FZ_NOW);
		(void)ari_error_delay(fails);
	}
	(void)arc_prune(c, FZ_NOW + 1);
	if (arc_size(c) != 0)
		abort();
	arc_free(c);
	free(header);
	return 0;
}
