/*
 * certparse: issued certificates parsed with OpenSSL, and baseline-free checks. See certparse.h.
 */
#include "certparse.h"
#include "scoring.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CP_MAX_SANS 1024   /* SANs kept; a certificate with more is still parsed */
#define CP_MAX_CHAIN 64    /* certificates counted in one bundle */
#define CP_SAN_MAX 1024    /* longest SAN value kept, bytes */

static void cp_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
cp_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* OpenSSL's reason for the latest failure, for messages; clears its error queue. */
static const char *
cp_ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "no detail");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* base64url without padding (RFC 4648 section 5) of d[0..n) at out; returns chars written. */
static size_t
cp_b64url(const unsigned char *d, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)d[i] << 16;
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
	}
	return o;
}

int
cp_ari_id(const struct cp_cert *c, char *buf, size_t len)
{
	if (buf != NULL && len > 0)
		buf[0] = '\0';
	if (c == NULL || c->c_aki_len == 0 || c->c_serial_der_len == 0 ||
	    c->c_aki_len > sizeof(c->c_aki) || c->c_serial_der_len > sizeof(c->c_serial_der))
		return SC_ERR_INVAL;
	size_t need = (c->c_aki_len + 2) / 3 * 4 + 1 + (c->c_serial_der_len + 2) / 3 * 4 + 1;
	if (buf == NULL || len < need)
		return SC_ERR_RANGE;
	size_t o = cp_b64url(c->c_aki, c->c_aki_len, buf);
	buf[o++] = '.';
	o += cp_b64url(c->c_serial_der, c->c_serial_der_len, buf + o);
	buf[o] = '\0';
	return SC_OK;
}

void
cp_free(struct cp_cert *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->c_subject);
	free(c->c_issuer);
	free(c->c_serial);
	for (i = 0; i < c->c_nsans; i++)
		free(c->c_sans[i].s_value);
	free(c->c_sans);
	free(c);
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian); avoids timegm's portability. */
static int64_t
cp_days(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
cp_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return SC_ERR_PARSE;
	*out = cp_days(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * 86400 + tm.tm_hour * 3600 +
	       tm.tm_min * 60 + tm.tm_sec;
	return SC_OK;
}

static char *
cp_name(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *s = NULL;
	long len;

	if (b == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_get_mem_data(b, &data);
		s = malloc((size_t)(len > 0 ? len : 0) + 1);
		if (s != NULL) {
			if (len > 0)
				memcpy(s, data, (size_t)len);
			s[len > 0 ? len : 0] = '\0';
		}
	}
	BIO_free(b);
	return s;
}

/* A copy of an ASN.1 string with control bytes (NUL included) shown as '?'. */
static char *
cp_asn1_str(const ASN1_STRING *a)
{
	const unsigned char *d = ASN1_STRING_get0_data(a);
	int n = ASN1_STRING_length(a), i;
	char *s;

	if (n < 0)
		n = 0;
	if (n > CP_SAN_MAX)
		n = CP_SAN_MAX;
	s = malloc((size_t)n + 1);
	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		s[i] = d[i] < 0x20 || d[i] == 0x7f ? '?' : (char)d[i];
	s[n] = '\0';
	return s;
}

static int
cp_sans(X509 *x, struct cp_cert *c)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i, n, rc = SC_OK;

	if (gens == NULL)
		return SC_OK;
	n = sk_GENERAL_NAME_num(gens);
	if (n > CP_MAX_SANS)
		n = CP_MAX_SANS;
	c->c_sans = calloc((size_t)(n > 0 ? n : 1), sizeof(*c->c_sans));
	if (c->c_sans == NULL) {
		rc = SC_ERR_NOSPACE;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		struct cp_san *s = &c->c_sans[c->c_nsans];
		char ip[INET6_ADDRSTRLEN];

		switch (g->type) {
		case GEN_DNS:
			s->s_type = CP_SAN_DNS;
			s->s_value = cp_asn1_str(g->d.dNSName);
			break;
		case GEN_URI:
			s->s_type = CP_SAN_URI;
			s->s_value = cp_asn1_str(g->d.uniformResourceIdentifier);
			break;
		case GEN_EMAIL:
			s->s_type = CP_SAN_EMAIL;
			s->s_value = cp_asn1_str(g->d.rfc822Name);
			break;
		case GEN_IPADD: {
			const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
			int len = ASN1_STRING_length(g->d.iPAddress);

			if ((len != 4 && len != 16) ||
			    inet_ntop(len == 4 ? AF_INET : AF_INET6, d, ip, sizeof(ip)) == NULL)
				continue; /* a malformed address is skipped, not fatal */
			s->s_type = CP_SAN_IP;
			s->s_value = strdup(ip);
			break;
		}
		default:
			continue;
		}
		if (s->s_value == NULL) {
			rc = SC_ERR_NOSPACE;
			goto out;
		}
		c->c_nsans++;
	}
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

static void
cp_key(X509 *x, struct cp_cert *c)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[64];
	const char *nist;
	size_t glen = 0;
	int nid;

	if (pk == NULL)
		return;
	c->c_key_bits = EVP_PKEY_get_bits(pk);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		c->c_key_alg = CP_KEY_RSA;
		break;
	case EVP_PKEY_EC:
		c->c_key_alg = CP_KEY_EC;
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), &glen) == 1) {
			nid = OBJ_sn2nid(group);
			nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
			snprintf(c->c_curve, sizeof(c->c_curve), "%.31s", nist != NULL ? nist : group);
		}
		break;
	case EVP_PKEY_ED25519:
		c->c_key_alg = CP_KEY_ED25519;
		break;
	case EVP_PKEY_ED448:
		c->c_key_alg = CP_KEY_ED448;
		break;
	case EVP_PKEY_DSA:
		c->c_key_alg = CP_KEY_DSA;
		break;
	default:
		c->c_key_alg = CP_KEY_UNKNOWN;
		break;
	}
}

/*
 * The two halves of the ARI identifier. Absent or oversized parts stay at length 0 so that
 * cp_ari_id refuses them; nothing here fails the parse, as the rest of the checks do not need
 * them.
 */
static void
cp_ari_parts(X509 *x, const ASN1_INTEGER *sn, struct cp_cert *c)
{
	const ASN1_OCTET_STRING *kid = X509_get0_authority_key_id(x);
	if (kid != NULL && ASN1_STRING_length(kid) > 0 &&
	    (size_t)ASN1_STRING_length(kid) <= sizeof(c->c_aki)) {
		c->c_aki_len = (size_t)ASN1_STRING_length(kid);
		memcpy(c->c_aki, ASN1_STRING_get0_data(kid), c->c_aki_len);
	}
	/* the content octets as DER writes them: i2d adds the sign byte a positive serial needs */
	unsigned char *der = NULL;
	int n = sn != NULL ? i2d_ASN1_INTEGER(sn, &der) : 0;
	if (n >= 3) {
		size_t hdr = 2;
		if (der[1] & 0x80)
			hdr += der[1] & 0x7f;
		if ((size_t)n > hdr && (size_t)n - hdr <= sizeof(c->c_serial_der)) {
			c->c_serial_der_len = (size_t)n - hdr;
			memcpy(c->c_serial_der, der + hdr, c->c_serial_der_len);
		}
	}
	OPENSSL_free(der);
}

static int
cp_leaf(X509 *x, struct cp_cert *c, char *err, size_t errlen)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIGNUM *bn = NULL;
	char *hex = NULL;
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int nid, md_nid = NID_undef, pk_nid = NID_undef, derlen, rc = SC_ERR_PARSE;

	c->c_subject = cp_name(X509_get_subject_name(x));
	c->c_issuer = cp_name(X509_get_issuer_name(x));
	if (c->c_subject == NULL || c->c_issuer == NULL) {
		rc = SC_ERR_NOSPACE;
		cp_err(err, errlen, "out of memory reading names");
		goto out;
	}
	bn = sn != NULL ? ASN1_INTEGER_to_BN(sn, NULL) : NULL;
	hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	c->c_serial = strdup(hex != NULL ? hex : "");
	if (c->c_serial == NULL) {
		rc = SC_ERR_NOSPACE;
		goto out;
	}
	if (cp_time(X509_get0_notBefore(x), &c->c_not_before) != SC_OK ||
	    cp_time(X509_get0_notAfter(x), &c->c_not_after) != SC_OK) {
		cp_err(err, errlen, "leaf certificate: unreadable validity dates");
		goto out;
	}
	rc = cp_sans(x, c);
	if (rc != SC_OK) {
		cp_err(err, errlen, "out of memory reading SANs");
		goto out;
	}
	cp_key(x, c);
	nid = X509_get_signature_nid(x);
	snprintf(c->c_sig_alg, sizeof(c->c_sig_alg), "%s",
		 nid != NID_undef ? OBJ_nid2ln(nid) : "unknown");
	if (nid != NID_undef && OBJ_find_sigid_algs(nid, &md_nid, &pk_nid) == 1 &&
	    md_nid != NID_undef)
		snprintf(c->c_sig_hash, sizeof(c->c_sig_hash), "%s", OBJ_nid2sn(md_nid));
	derlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (derlen <= 0 ||
	    EVP_Digest(der, (size_t)derlen, c->c_spki_sha256, &mdlen, EVP_sha256(), NULL) != 1) {
		rc = SC_ERR_PARSE;
		cp_err(err, errlen, "leaf certificate: cannot encode its public key");
		goto out;
	}
	c->c_is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	cp_ari_parts(x, sn, c);
	rc = SC_OK;
out:
	OPENSSL_free(der);
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

/* Reads every certificate of a PEM bundle; the first goes to *leaf. */
static int
cp_read_pem(const unsigned char *d, size_t len, X509 **leaf, size_t *count, char *err,
	    size_t errlen)
{
	BIO *b = BIO_new_mem_buf(d, (int)len);
	X509 *x;
	char why[160];
	int rc = SC_ERR_PARSE;

	if (b == NULL) {
		cp_err(err, errlen, "out of memory");
		return SC_ERR_NOSPACE;
	}
	for (;;) {
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (x == NULL) {
			unsigned long e = ERR_peek_last_error();

			/* Running out of PEM blocks after at least one is the normal end. */
			if (*count > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
				ERR_clear_error();
				rc = SC_OK;
			} else {
				cp_err(err, errlen, "PEM certificate %zu: %s", *count + 1,
				       cp_ossl_reason(why, sizeof(why)));
			}
			break;
		}
		if (*leaf == NULL)
			*leaf = x;
		else
			X509_free(x);
		if (++*count >= CP_MAX_CHAIN) {
			rc = SC_OK;
			break;
		}
	}
	BIO_free(b);
	return rc;
}

static int
cp_read_der(const unsigned char *d, size_t len, X509 **leaf, size_t *count, char *err,
	    size_t errlen)
{
	const unsigned char *p = d, *end = d + len;
	X509 *x;
	char why[160];

	while (p < end && *count < CP_MAX_CHAIN) {
		const unsigned char *at = p;

		if (*leaf != NULL) {
			/*
			 * The rest of the chain is only counted. OpenSSL 3's d2i_X509 decodes the
			 * public key through its provider decoders (about 0.2 ms a certificate), so
			 * the CA certificates are checked as well-formed DER sequences instead.
			 */
			ASN1_SEQUENCE_ANY *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)(end - p));
			if (seq == NULL) {
				cp_err(err, errlen, "DER certificate %zu at byte %zu: %s", *count + 1,
				       (size_t)(at - d), cp_ossl_reason(why, sizeof(why)));
				return SC_ERR_PARSE;
			}
			sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
			++*count;
			continue;
		}
		x = d2i_X509(NULL, &p, (long)(end - p));
		if (x == NULL) {
			cp_err(err, errlen, "DER certificate %zu at byte %zu: %s", *count + 1,
			       (size_t)(at - d), cp_ossl_reason(why, sizeof(why)));
			return SC_ERR_PARSE;
		}
		*leaf = x;
		++*count;
	}
	return SC_OK;
}

/* Decodes base64 (newlines allowed) into a new buffer. SC_OK or SC_ERR_PARSE/NOSPACE. */
static int
cp_unbase64(const unsigned char *d, size_t len, unsigned char **out, size_t *outlen)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char *buf = malloc(len / 4 * 3 + 80);
	int n = 0, fin = 0, rc = SC_ERR_PARSE;

	*out = NULL;
	if (ctx == NULL || buf == NULL) {
		rc = SC_ERR_NOSPACE;
		goto out;
	}
	EVP_DecodeInit(ctx);
	if (len > INT32_MAX || EVP_DecodeUpdate(ctx, buf, &n, d, (int)len) < 0 ||
	    EVP_DecodeFinal(ctx, buf + n, &fin) != 1 || n + fin == 0)
		goto out;
	*out = buf;
	*outlen = (size_t)(n + fin);
	buf = NULL;
	rc = SC_OK;
out:
	ERR_clear_error();
	EVP_ENCODE_CTX_free(ctx);
	free(buf);
	return rc;
}

static int
cp_parse_bytes(const unsigned char *d, size_t len, int depth, struct cp_cert **out, char *err,
	       size_t errlen)
{
	X509 *leaf = NULL;
	struct cp_cert *c = NULL;
	unsigned char *dec = NULL;
	size_t count = 0, skip = 0, declen = 0;
	int rc;

	while (skip < len && isspace(d[skip]))
		skip++;
	if (skip == len) {
		cp_err(err, errlen, "empty certificate data");
		return SC_ERR_PARSE;
	}
	if (len - skip >= 10 && memcmp(d + skip, "-----BEGIN", 10) == 0) {
		rc = cp_read_pem(d + skip, len - skip, &leaf, &count, err, errlen);
	} else if (d[skip] == 0x30 && skip == 0) {
		rc = cp_read_der(d, len, &leaf, &count, err, errlen);
	} else if (depth == 0) {
		/* The JSON form of a []byte field: base64 of the PEM bundle. Decode once. */
		rc = cp_unbase64(d + skip, len - skip, &dec, &declen);
		if (rc == SC_OK)
			rc = cp_parse_bytes(dec, declen, 1, out, err, errlen);
		else
			cp_err(err, errlen, "neither PEM, DER nor base64 of either (first byte 0x%02x)",
			       d[skip]);
		free(dec);
		return rc;
	} else {
		cp_err(err, errlen, "decoded base64 is neither PEM nor DER (first byte 0x%02x)",
		       d[skip]);
		return SC_ERR_PARSE;
	}
	if (rc != SC_OK)
		goto out;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rc = SC_ERR_NOSPACE;
		cp_err(err, errlen, "out of memory");
		goto out;
	}
	c->c_chain_len = count;
	rc = cp_leaf(leaf, c, err, errlen);
	if (rc != SC_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	ERR_clear_error();
	cp_free(c);
	X509_free(leaf);
	return rc;
}

int
cp_parse(const void *data, size_t len, struct cp_cert **out, char *err, size_t errlen)
{
	if (out == NULL)
		return SC_ERR_INVAL;
	*out = NULL;
	if (data == NULL) {
		cp_err(err, errlen, "no certificate data");
		return SC_ERR_INVAL;
	}
	if (len > CP_MAX_INPUT) {
		cp_err(err, errlen, "certificate data of %zu bytes exceeds the %u-byte limit", len,
		       CP_MAX_INPUT);
		return SC_ERR_RANGE;
	}
	return cp_parse_bytes(data, len, 0, out, err, errlen);
}

void
cp_key_label(const struct cp_cert *c, char *buf, size_t len)
{
	char curve[32];
	size_t i, n = 0;

	switch (c->c_key_alg) {
	case CP_KEY_RSA:
		snprintf(buf, len, "RSA-%d", c->c_key_bits);
		break;
	case CP_KEY_DSA:
		snprintf(buf, len, "DSA-%d", c->c_key_bits);
		break;
	case CP_KEY_EC:
		/* "P-256" becomes "EC-P256": one token without a second dash. */
		for (i = 0; c->c_curve[i] != '\0' && n + 1 < sizeof(curve); i++)
			if (c->c_curve[i] != '-')
				curve[n++] = c->c_curve[i];
		curve[n] = '\0';
		if (n > 0)
			snprintf(buf, len, "EC-%s", curve);
		else
			snprintf(buf, len, "EC-%d", c->c_key_bits);
		break;
	case CP_KEY_ED25519:
		snprintf(buf, len, "Ed25519");
		break;
	case CP_KEY_ED448:
		snprintf(buf, len, "Ed448");
		break;
	default:
		snprintf(buf, len, "unknown");
		break;
	}
}

static int
cp_hash_is(const char *h, const char *want)
{
	return strcasecmp(h, want) == 0;
}

static void
cp_check_weak(const struct cp_cert *c, struct an_report *out)
{
	enum an_severity sev = AN_SEV_INFO;
	char key[64], why[AN_EVIDENCE_MAX] = "";
	int weak_key = 0, weak_sig = 0;
	size_t n;

	cp_key_label(c, key, sizeof(key));
	/* NIST SP 800-57 and the CA/B Forum baseline: RSA/DSA >= 2048, EC >= P-256. */
	if ((c->c_key_alg == CP_KEY_RSA || c->c_key_alg == CP_KEY_DSA) && c->c_key_bits < 2048)
		weak_key = 1;
	if (c->c_key_alg == CP_KEY_EC && c->c_key_bits < 256)
		weak_key = 1;
	if (cp_hash_is(c->c_sig_hash, "MD5") || cp_hash_is(c->c_sig_hash, "MD4") ||
	    cp_hash_is(c->c_sig_hash, "MD2"))
		weak_sig = 2;
	else if (cp_hash_is(c->c_sig_hash, "SHA1"))
		weak_sig = 1;
	if (!weak_key && !weak_sig)
		return;
	if (weak_key || weak_sig == 2)
		sev = AN_SEV_CRITICAL;
	else
		sev = AN_SEV_WARNING;
	if (weak_key)
		snprintf(why, sizeof(why), "key %s is below the 2048-bit RSA / P-256 minimum", key);
	n = strlen(why);
	if (weak_sig)
		snprintf(why + n, sizeof(why) - n, "%ssigned with %s (%s)", n > 0 ? "; " : "",
			 c->c_sig_hash, c->c_sig_alg);
	an_report_add(out, AN_WEAK_KEY, sev, (double)(weak_key * 2 + weak_sig), "%s", why);
}

size_t
cp_check(const struct cp_cert *c, const struct cp_expect *e, int64_t now, struct an_report *out)
{
	struct cp_expect ex;
	size_t before = out->r_count + out->r_dropped, i;
	int64_t actual, tol, diff;

	memset(&ex, 0, sizeof(ex));
	if (e != NULL)
		ex = *e;
	if (ex.ce_skew <= 0)
		ex.ce_skew = 300;
	if (!(ex.ce_tol > 0))
		ex.ce_tol = 0.02;
	if (ex.ce_tol_min <= 0)
		ex.ce_tol_min = 3600;
	cp_check_weak(c, out);
	for (i = 0; i < c->c_nsans; i++) {
		if (c->c_sans[i].s_type == CP_SAN_DNS && strncmp(c->c_sans[i].s_value, "*.", 2) == 0) {
			an_report_add(out, AN_WILDCARD, AN_SEV_INFO, 1.0,
				      "wildcard name '%.100s': any host under it can use this key",
				      c->c_sans[i].s_value);
			break;
		}
	}
	if (ex.ce_duration > 0) {
		actual = c->c_not_after - c->c_not_before;
		tol = (int64_t)(ex.ce_tol * (double)ex.ce_duration);
		if (tol < ex.ce_tol_min)
			tol = ex.ce_tol_min;
		diff = actual - ex.ce_duration;
		if (diff > tol || diff < -tol)
			an_report_add(out, AN_VALIDITY_MISMATCH, diff > 0 ? AN_SEV_WARNING : AN_SEV_INFO,
				      (double)(diff > 0 ? diff : -diff) / (double)tol,
				      "certificate is valid for %.1fh but %.1fh was requested "
				      "(tolerance %.1fh)",
				      (double)actual / 3600, (double)ex.ce_duration / 3600,
				      (double)tol / 3600);
	}
	if (c->c_not_before > now + ex.ce_skew)
		an_report_add(out, AN_NOT_BEFORE_FUTURE, AN_SEV_WARNING,
			      (double)(c->c_not_before - now) / (double)ex.ce_skew,
			      "notBefore is %llds in the future (tolerance %llds): clock skew at the "
			      "CA or here",
			      (long long)(c->c_not_before - now), (long long)ex.ce_skew);
	return out->r_count + out->r_dropped - before;
}
