/*
 * fuzz_certparse: arbitrary bytes as a CertificateRequest's issued certificate, through both
 * readers certcast has for it: scoring's cp_parse (PEM, DER, or base64 of either) with every
 * question asked of the result (cp_check against a plausible request at a fixed time and
 * without one, cp_ari_id, cp_key_label), and the decoder's dec_cert_bundle (status.certificate
 * as the API server sends it: base64 of a PEM bundle, or of DER) whose DER goes on to cp_parse,
 * as anomaly scoring does with it.
 *
 * status.certificate is written by whatever signs for cert-manager (ACME CAs, Vault, Venafi,
 * external issuers), so its bytes are not certcast's to trust: OpenSSL's parsers, the PEM and
 * base64 handling around them and every field copied out must survive anything.
 */
#include "anomaly.h"
#include "cc_err.h"
#include "certparse.h"
#include "decode.h"
#include "scoring.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1798761600 /* 2027-01-01T00:00:00Z */

/* A 90-day certificate asked for, cert-manager's default. */
static const struct cp_expect fz_expect = {.ce_duration = 90 * 86400};
/* A request with tight settings: one hour, no skew allowed beyond a minute. */
static const struct cp_expect fz_tight = {
	.ce_duration = 3600, .ce_skew = 60, .ce_tol = 0.5, .ce_tol_min = 60};

static void
fz_use(const struct cp_cert *c)
{
	char label[64], id[CP_ARI_ID_MAX], small[8];
	struct an_report rep;
	memset(&rep, 0, sizeof rep);
	(void)cp_check(c, &fz_expect, FZ_NOW, &rep);
	(void)cp_check(c, &fz_tight, FZ_NOW, &rep);
	(void)cp_check(c, NULL, FZ_NOW, &rep);
	if (rep.r_count > AN_REPORT_MAX)
		abort();
	cp_key_label(c, label, sizeof label);
	cp_key_label(c, small, sizeof small);
	if (cp_ari_id(c, id, sizeof id) == SC_OK && strlen(id) >= sizeof id)
		abort();
	(void)cp_ari_id(c, small, sizeof small);
	if (c->c_nsans > 0 && c->c_sans == NULL)
		abort();
	for (size_t i = 0; i < c->c_nsans; i++)
		if (c->c_sans[i].s_value == NULL)
			abort();
	if (c->c_subject == NULL || c->c_issuer == NULL || c->c_serial == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_cert *c = NULL;
	char err[256] = "";
	if (cp_parse(data, size, &c, err, sizeof err) == SC_OK) {
		fz_use(c);
		cp_free(c);
	} else if (c != NULL || err[0] == '\0') {
		abort(); /* a failure leaves nothing and says why */
	}

	/* dec_cert_bundle reads a C string, as cJSON hands it over */
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	unsigned char *der = NULL;
	size_t len = 0;
	uint32_t n = 0;
	if (dec_cert_bundle(text, &der, &len, &n, err, sizeof err) == CC_OK) {
		if (der == NULL || len == 0 || n == 0)
			abort();
		c = NULL;
		if (cp_parse(der, len, &c, err, sizeof err) == SC_OK) {
			fz_use(c);
			cp_free(c);
		}
		free(der);
	} else if (der != NULL) {
		abort();
	}
	free(text);
	return 0;
}
