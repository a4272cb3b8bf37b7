/*
 * fuzz_promtext: arbitrary bytes as the body of a cert-manager pod's /metrics, through what the
 * scraper does with it: pt_parse (every sample, label and type handed out), sig_scrape_parse
 * (cert-manager's ACME counters summed per host), sig_record of successive scrapes into the
 * counter windows (resets included), sig_get per host with sig_digest and sig_prune, and the
 * signals' effect on an issuer's failure probability (ih_apply_signals), as scoring uses them.
 *
 * A pod's metrics come over plain HTTP from an address the store names: nothing in them may
 * crash certcast, and no value, however large, may turn the signals scoring reads into
 * something other than finite, non-negative numbers.
 *
 * Input: the exposition. When it holds a line "# EOF" (a comment to the parser, the OpenMetrics
 * end marker), the text before it is a first scrape and the text after it a second scrape of
 * the same pod a minute later, so that increases and counter resets are computed; otherwise
 * the whole text is scraped twice. Times are fixed.
 */
#include "cc_err.h"
#include "issuer_health.h"
#include "promtext.h"
#include "scoring.h"
#include "signals.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1798761600 /* 2027-01-01T00:00:00Z */

/* What the callback checks of every sample the parser hands out. */
static void
fz_sample(void *arg, const struct pt_sample *s)
{
	size_t *n = arg;
	(*n)++;
	if (s->s_name == NULL || s->s_name[0] == '\0' || s->s_nlabels > PT_MAX_LABELS ||
	    (s->s_nlabels > 0 && s->s_labels == NULL) || s->s_line == 0)
		abort();
	for (size_t i = 0; i < s->s_nlabels; i++) {
		if (s->s_labels[i].l_name == NULL || s->s_labels[i].l_value == NULL)
			abort();
		if (pt_label(s, s->s_labels[i].l_name) == NULL)
			abort();
	}
	(void)pt_label(s, "host");
	(void)pt_type_name(s->s_type);
}

static void
fz_check_signals(const struct sc_signals *g)
{
	const double v[] = {g->sg_requests, g->sg_status_429, g->sg_status_5xx, g->sg_latency_s};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		if (!isfinite(v[i]) || v[i] < 0) {
			fprintf(stderr, "fuzz_promtext: signal %zu is %g\n", i, v[i]);
			abort();
		}
	}
	double terms[4];
	double p = ih_apply_signals(0.05, g, terms);
	if (!(p >= 0 && p <= 1)) {
		fprintf(stderr, "fuzz_promtext: probability %g from the signals\n", p);
		abort();
	}
}

/* Scrape text of pod uid at now into st; sc is scratch (large). */
static void
fz_scrape(struct sig_state *st, struct sig_scrape *sc, const char *uid, const char *text,
    size_t len, int64_t now)
{
	struct pt_result pr;
	int rc = sig_scrape_parse(text, len, sc, &pr);
	if ((rc == CC_OK) != (pr.pr_errors == 0) || sc->ss_n > SIG_HOSTS_MAX)
		abort();
	if (pr.pr_errors > 0 && pr.pr_first_error[0] == '\0')
		abort(); /* a refused line is named */
	sig_record(st, uid, sc, rc == CC_OK, now);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t samples = 0;
	struct pt_result pr;
	int rc = pt_parse(text, size, fz_sample, &samples, &pr);
	if (samples != pr.pr_samples || (rc == CC_OK) != (pr.pr_errors == 0) ||
	    memchr(pr.pr_first_error, '\0', sizeof pr.pr_first_error) == NULL)
		abort();

	/* the two scrapes: around a "# EOF" line, or the whole text twice */
	const char *second = text;
	size_t first_len = size, second_len = size;
	static const char eof[] = "\n# EOF\n";
	for (size_t i = 0; i + sizeof eof - 1 <= size; i++) {
		if (memcmp(text + i, eof, sizeof eof - 1) == 0) {
			first_len = i + 1;
			second = text + i + sizeof eof - 1;
			second_len = size - (i + sizeof eof - 1);
			break;
		}
	}

	struct sig_scrape *sc = malloc(sizeof *sc);
	if (sc == NULL)
		return 0;
	struct sig_state *st = sig_new(0);
	fz_scrape(st, sc, "pod-a", text, first_len, FZ_NOW - 120);
	fz_scrape(st, sc, "pod-a", second, second_len, FZ_NOW - 60);
	fz_scrape(st, sc, "pod-b", text, first_len, FZ_NOW - 60);
	fz_scrape(st, sc, "pod-b", text, first_len, FZ_NOW);

	struct sc_signals g;
	sig_get(st, NULL, FZ_NOW, &g);
	fz_check_signals(&g);
	for (size_t i = 0; i < sc->ss_n; i++) {
		sig_get(st, sc->ss_hosts[i].st_host, FZ_NOW, &g);
		fz_check_signals(&g);
	}
	sig_get(st, "acme-v02.api.letsencrypt.org", FZ_NOW, &g);
	fz_check_signals(&g);
	(void)sig_digest(st, FZ_NOW);
	sig_prune(st, FZ_NOW);
	(void)sig_digest(st, FZ_NOW);
	sig_prune(st, FZ_NOW + 2 * SIG_WINDOW_DEFAULT);
	sig_free(st);
	free(sc);
	return 0;
}
