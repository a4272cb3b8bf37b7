/* tlsreload: poll the served certificate's files and swap in a good new pair. */
#include "tlsreload.h"

#include "cc_err.h"
#include "log.h"
#include "metrics.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tlr {
	char *tr_cert;                 /* certificate file path */
	char *tr_key;                  /* key file path */
	struct tlp_pair *tr_served;    /* owned; the pair served now */
	struct tlp_watch tr_watch;     /* fingerprint of the files last looked at */
	char tr_read_err[512];         /* the last read failure logged, "" after a good read */
	tlr_apply_fn tr_apply;
	void *tr_apply_arg;
	struct met_family *tr_reloads; /* certcast_http_tls_reloads_total{result}; NULL: none */
	struct met_family *tr_expiry;  /* ..._certificate_expiry_timestamp_seconds; NULL: none */
};

static void
tlr_count(struct tlr *r, const char *result)
{
	if (r->tr_reloads != NULL)
		met_counter_add(r->tr_reloads, (const char *const[]){result}, 1);
}

static void
tlr_set_expiry(struct tlr *r)
{
	if (r->tr_expiry != NULL)
		met_gauge_set(r->tr_expiry, NULL, (double)r->tr_served->tp_not_after);
}

static int
tlr_register(struct tlr *r, struct met_registry *reg)
{
	static const char *const result_l[] = {"result"};
	if (met_register(reg, "certcast_http_tls_reloads_total",
		"Changes of the HTTP server's certificate or key file, by result: ok (the new pair "
		"is served) or error (refused; the old pair stays served).",
		MET_COUNTER, result_l, 1, NULL, 0, &r->tr_reloads) != CC_OK ||
	    met_register(reg, "certcast_http_tls_certificate_expiry_timestamp_seconds",
		"notAfter of the certificate the HTTP server serves, in Unix seconds.", MET_GAUGE,
		NULL, 0, NULL, 0, &r->tr_expiry) != CC_OK)
		return CC_ERR_INVAL;
	/* both results from the start, so that a rate over them is defined before the first */
	met_counter_add(r->tr_reloads, (const char *const[]){"ok"}, 0);
	met_counter_add(r->tr_reloads, (const char *const[]){"error"}, 0);
	return CC_OK;
}

int
tlr_new(const struct tlr_opts *o, int64_t now, struct tlr **out, char *err, size_t errsz)
{
	*out = NULL;
	struct tlr *r = xcalloc(1, sizeof *r);
	r->tr_cert = xstrdup(o->tro_cert);
	r->tr_key = xstrdup(o->tro_key);
	r->tr_apply = o->tro_apply;
	r->tr_apply_arg = o->tro_apply_arg;
	int rc = tlp_pair_load(r->tr_cert, r->tr_key, now, &r->tr_served, err, errsz);
	if (rc != CC_OK)
		goto out;
	(void)tlp_watch_changed(&r->tr_watch, r->tr_served->tp_digest);
	if (o->tro_metrics != NULL && tlr_register(r, o->tro_metrics) != CC_OK) {
		rc = cc_fail(err, errsz, CC_ERR_INVAL,
		    "the HTTP TLS metric names are registered already");
		goto out;
	}
	tlr_set_expiry(r);
	*out = r;
	r = NULL;
out:
	tlr_free(r);
	return rc;
}

enum tlr_result
tlr_poll(struct tlr *r, int64_t now)
{
	struct tlp_files f;
	struct tlp_pair *next = NULL;
	char why[512];
	enum tlr_result res = TLR_UNCHANGED;
	int rc = tlp_files_read(r->tr_cert, r->tr_key, &f, why, sizeof why);
	if (rc != CC_OK) {
		/* a file stays missing for many polls: one line and one count per failure */
		if (strcmp(why, r->tr_read_err) != 0) {
			log_error("HTTP TLS: %s; still serving serial %s", why,
			    r->tr_served->tp_serial);
			tlr_count(r, "error");
			snprintf(r->tr_read_err, sizeof r->tr_read_err, "%s", why);
			/* files that come back are looked at, even if they are the old ones */
			memset(&r->tr_watch, 0, sizeof r->tr_watch);
		}
		return TLR_REFUSED;
	}
	r->tr_read_err[0] = '\0';
	if (!tlp_watch_changed(&r->tr_watch, f.tf_digest))
		goto out;
	if (memcmp(f.tf_digest, r->tr_served->tp_digest, TLP_DIGEST_LEN) == 0)
		goto out; /* back to the served files after a failure: nothing to swap */
	res = TLR_REFUSED;
	rc = tlp_pair_check(&f, r->tr_cert, r->tr_key, now, &next, why, sizeof why);
	if (rc == CC_OK && r->tr_apply != NULL)
		rc = r->tr_apply(r->tr_apply_arg, next, r->tr_served, why, sizeof why);
	if (rc != CC_OK) {
		log_error("HTTP TLS: new files refused: %s; still serving serial %s", why,
		    r->tr_served->tp_serial);
		tlr_count(r, "error");
		goto out;
	}
	char na[TF_BUFSZ];
	tf_format_time(next->tp_not_after, na, sizeof na);
	log_info("HTTP TLS: now serving certificate serial %s (%s key, notAfter %s) from %s",
	    next->tp_serial, next->tp_key_kind, na, r->tr_cert);
	tlp_pair_free(r->tr_served);
	r->tr_served = next;
	next = NULL;
	tlr_set_expiry(r);
	tlr_count(r, "ok");
	res = TLR_RELOADED;
out:
	tlp_pair_free(next);
	tlp_files_free(&f);
	return res;
}

const struct tlp_pair *
tlr_served(const struct tlr *r)
{
	return r->tr_served;
}

const char *
tlr_cert_path(const struct tlr *r)
{
	return r->tr_cert;
}

const char *
tlr_key_path(const struct tlr *r)
{
	return r->tr_key;
}

void
tlr_free(struct tlr *r)
{
	if (r == NULL)
		return;
	tlp_pair_free(r->tr_served);
	free(r->tr_cert);
	free(r->tr_key);
	free(r);
}
