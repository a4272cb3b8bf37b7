/* aripoll: ACME servers' renewal information -> aricache (see aripoll.h). */
#include "aripoll.h"
#include "ticker.h"

#include "ari.h"
#include "aricache.h"
#include "buf.h"
#include "cc_err.h"
#include "httpget.h"
#include "certparse.h"
#include "log.h"
#include "metrics.h"
#include "records.h"
#include "resource.h"
#include "scoring.h"
#include "store.h"
#include "timefmt.h"
#include "xalloc.h"


#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ARP_CRS 8                     /* a certificate's newest requests searched for an issued one */
#define ARP_DIRS_MAX 64               /* ACME servers whose directories are kept */
#define ARP_NOTED_MAX 256             /* issuers already logged as not asked */
#define ARP_PRUNE_AGE 86400           /* entries not seen for a day leave the cache */

enum arp_result { ARP_OK = 0, ARP_MALFORMED, ARP_NOTFOUND, ARP_ERROR };

static const char *const arp_result_names[] = {"ok", "malformed", "notfound", "error"};

/* One certificate to ask about, copied out of the store so that calls run without its lock. */
struct arp_job {
	char *j_ns, *j_name, *j_uid, *j_server;
	unsigned char *j_ca;             /* the issuer's caBundle (PEM), or NULL */
	size_t j_ca_len;
	unsigned char *j_der;            /* the issued certificate, only when its id is not known */
	size_t j_der_len;
};

/* A server's directory: where its renewalInfo lives, or why it cannot be asked. */
struct arp_dir {
	char *d_server;
	char d_ri[ARI_URL_MAX];          /* "" until fetched, or when the server offers no ARI */
	int d_ok;                        /* d_ri is usable */
	int64_t d_next;                  /* when to fetch it again */
	unsigned d_failures;
};

struct arp {
	struct arp_opts p_o;
	struct tk p_tk;                  /* the thread that runs arp_round */
	struct arp_dir p_dirs[ARP_DIRS_MAX];
	size_t p_ndirs;
	char *p_noted[ARP_NOTED_MAX];    /* "reason\tissuer key" already logged */
	size_t p_nnoted;
};

static pthread_once_t arp_once = PTHREAD_ONCE_INIT;

static int64_t
arp_wall_clock(void)
{
	return (int64_t)time(NULL);
}

static void
arp_round_cb(void *arg)
{
	arp_round(arg);
}

struct arp *
arp_new(const struct arp_opts *o)
{
	pthread_once(&arp_once, hg_global_init);
	struct arp *p = xcalloc(1, sizeof *p);
	p->p_o = *o;
	if (p->p_o.ao_interval < 1)
		p->p_o.ao_interval = ARP_INTERVAL;
	if (p->p_o.ao_clock == NULL)
		p->p_o.ao_clock = arp_wall_clock;
	if (p->p_o.ao_timeout_ms <= 0)
		p->p_o.ao_timeout_ms = ARP_TIMEOUT_MS;
	tk_init(&p->p_tk, p->p_o.ao_interval, arp_round_cb, p);
	return p;
}

/* Log what about an issuer once per controller run (the condition repeats every round). */
static int
arp_note_once(struct arp *p, const char *reason, const char *issuer)
{
	char *key = xasprintf("%s\t%s", reason, issuer);
	for (size_t i = 0; i < p->p_nnoted; i++) {
		if (strcmp(p->p_noted[i], key) == 0) {
			free(key);
			return 0;
		}
	}
	if (p->p_nnoted == ARP_NOTED_MAX) {
		free(p->p_noted[0]);
		memmove(p->p_noted, p->p_noted + 1, (ARP_NOTED_MAX - 1) * sizeof *p->p_noted);
		p->p_nnoted--;
	}
	p->p_noted[p->p_nnoted++] = key;
	return 1;
}

/* ---- one call ---- */

/*
 * GET url into body. Returns CC_OK with *code the HTTP status (any), or an error with why
 * filled. Retry-After, when sent, is copied to retry. The issuer's caBundle is trusted besides
 * the system's CAs.
 */
static int
arp_fetch(struct arp *p, const char *url, const struct arp_job *j, struct buf *body, long *code,
    char *retry, size_t retrylen, char *why, size_t whylen)
{
	struct hg_req q = {
	    .hr_url = url,
	    .hr_protocols = "https",
	    .hr_ca = j->j_ca,
	    .hr_ca_len = j->j_ca_len,
	    .hr_connect_timeout_ms = ARP_CONNECT_TIMEOUT_MS,
	    .hr_timeout_ms = p->p_o.ao_timeout_ms,
	    .hr_stop = &p->p_tk.k_stop,
	};
	struct hg_resp r;
	int rc = hg_get(&q, body, &r, why, whylen);
	*code = r.hr_code;
	snprintf(retry, retrylen, "%s", r.hr_retry_after);
	return rc;
}

static void
arp_count(struct arp *p, enum arp_result r)
{
	if (p->p_o.ao_requests) {
		const char *lv[] = {arp_result_names[r]};
		met_counter_add(p->p_o.ao_requests, lv, 1);
	}
}

/* ---- directories ---- */

/* The directory entry of server, fetched when due. NULL when stopping. */
static struct arp_dir *
arp_dir(struct arp *p, const struct arp_job *j, int64_t now)
{
	struct arp_dir *d = NULL;
	for (size_t i = 0; i < p->p_ndirs && d == NULL; i++)
		if (strcmp(p->p_dirs[i].d_server, j->j_server) == 0)
			d = &p->p_dirs[i];
	if (d == NULL) {
		if (p->p_ndirs == ARP_DIRS_MAX) {
			free(p->p_dirs[0].d_server);
			memmove(p->p_dirs, p->p_dirs + 1, (ARP_DIRS_MAX - 1) * sizeof *p->p_dirs);
			p->p_ndirs--;
		}
		d = &p->p_dirs[p->p_ndirs++];
		memset(d, 0, sizeof *d);
		d->d_server = xstrdup(j->j_server);
		d->d_next = now;
	}
	if (now < d->d_next)
		return d;
	struct buf body;
	buf_init(&body, ARI_BODY_MAX);
	char why[HG_WHY_MAX + 64] = "", retry[64];
	long code = 0;
	int rc = arp_fetch(p, j->j_server, j, &body, &code, retry, sizeof retry, why, sizeof why);
	if (rc == CC_ERR_CANCELED) {
		buf_free(&body);
		return NULL;
	}
	if (rc == CC_OK && code != 200) {
		snprintf(why, sizeof why, "HTTP status %ld", code);
		rc = CC_ERR_HTTP;
	}
	if (rc == CC_OK)
		rc = ari_directory_parse(body.b_data ? body.b_data : "", body.b_len, d->d_ri,
		    sizeof d->d_ri, why, sizeof why);
	buf_free(&body);
	if (rc == CC_OK) {
		if (!d->d_ok)
			log_info("ACME server %s: renewal information at %s", j->j_server, d->d_ri);
		d->d_ok = 1;
		d->d_failures = 0;
		d->d_next = now + ARP_DIR_TTL;
	} else if (rc == CC_ERR_NOTFOUND) {
		/* a CA without ARI: a working answer, asked again daily in case it adds it */
		if (d->d_ok || d->d_failures == 0)
			log_info("ACME server %s: %s; no renewal windows from it", j->j_server, why);
		d->d_ok = 0;
		d->d_failures = 1;
		d->d_next = now + ARP_DIR_TTL;
	} else {
		/* a directory that worked before keeps its URL: a brief outage changes nothing */
		if (++d->d_failures == 1)
			log_warn("ACME server %s: directory: %s", j->j_server, why);
		d->d_next = now + ari_error_delay(d->d_failures);
		arp_count(p, ARP_ERROR);
	}
	return d;
}

/* ---- one certificate ---- */

/* The identifier of j's certificate, computed once per request; "" when it has none. */
static void
arp_identify(struct arp *p, const struct arp_job *j, int64_t now, char *id, size_t idlen)
{
	struct arc *c = p->p_o.ao_cache;
	if (arc_id_of(c, j->j_uid, id, idlen)) {
		arc_track(c, j->j_uid, id, now);
		return;
	}
	id[0] = '\0';
	struct cp_cert *pc = NULL;
	char err[160] = "";
	if (j->j_der == NULL) {
		return; /* known when the job was made, evicted since: next round */
	} else if (cp_parse(j->j_der, j->j_der_len, &pc, err, sizeof err) != SC_OK) {
		log_warn("CertificateRequest %s of Certificate %s/%s: issued certificate does not "
			 "parse, no renewal information: %s", j->j_uid, j->j_ns, j->j_name, err);
	} else if (cp_ari_id(pc, id, idlen) != SC_OK) {
		log_info("Certificate %s/%s: its certificate has no authority key identifier or "
			 "serial, so the CA cannot be asked for renewal information", j->j_ns,
		    j->j_name);
		id[0] = '\0';
	}
	cp_free(pc);
	arc_track(c, j->j_uid, id, now);
}

static void
arp_ask(struct arp *p, const struct arp_job *j, int64_t now)
{
	struct arc *c = p->p_o.ao_cache;
	char id[ARC_ID_MAX];
	arp_identify(p, j, now, id, sizeof id);
	if (id[0] == '\0' || !arc_due(c, id, now))
		return;
	struct arp_dir *d = arp_dir(p, j, now);
	if (d == NULL)
		return;
	if (!d->d_ok) {
		/* asked again with the directory, not before */
		arc_failed(c, id, d->d_next > now ? d->d_next - now : 0, now);
		return;
	}
	size_t rl = strlen(d->d_ri);
	char *url = xasprintf("%s%s%s", d->d_ri, rl && d->d_ri[rl - 1] == '/' ? "" : "/", id);
	struct buf body;
	buf_init(&body, ARI_BODY_MAX);
	char why[HG_WHY_MAX + 64] = "", retry[64] = "";
	long code = 0;
	int rc = arp_fetch(p, url, j, &body, &code, retry, sizeof retry, why, sizeof why);
	free(url);
	if (rc == CC_ERR_CANCELED) {
		buf_free(&body);
		return;
	}
	enum arp_result r = ARP_ERROR;
	struct ari_window w;
	if (rc == CC_OK && code == 200) {
		rc = ari_parse(body.b_data ? body.b_data : "", body.b_len, &w, why, sizeof why);
		r = rc == CC_OK ? ARP_OK : ARP_MALFORMED;
	} else if (rc == CC_OK && code == 404) {
		r = ARP_NOTFOUND;
		snprintf(why, sizeof why, "the server does not know this certificate (HTTP 404)");
	} else if (rc == CC_OK) {
		snprintf(why, sizeof why, "HTTP status %ld", code);
	}
	buf_free(&body);
	arp_count(p, r);
	if (r == ARP_OK) {
		if (arc_answer(c, id, &w, ari_retry_after(retry[0] ? retry : NULL, now), now)) {
			char s[TF_BUFSZ], e[TF_BUFSZ];
			tf_format_time(w.aw_start, s, sizeof s);
			tf_format_time(w.aw_end, e, sizeof e);
			log_info("Certificate %s/%s: ACME renewal window %s .. %s%s%s",
			    j->j_ns, j->j_name, s, e, w.aw_url[0] ? ", explanation " : "", w.aw_url);
			if (p->p_o.ao_changed)
				p->p_o.ao_changed(p->p_o.ao_arg, j->j_ns, j->j_name);
		}
		return;
	}
	/*
	 * A 404 is an answer, not an outage: ask rarely. Otherwise back off, or wait what the
	 * server asked for (429 and 503 carry Retry-After).
	 */
	int64_t wait = r == ARP_NOTFOUND ? ARI_RETRY_MAX
	    : retry[0]                   ? ari_retry_after(retry, now)
					 : 0;
	if (arc_failed(c, id, wait, now) == 1)
		log_warn("Certificate %s/%s: renewal information %s (id %s): %s", j->j_ns, j->j_name,
		    arp_result_names[r], id, why);
}

/* ---- rounds ---- */

static void
arp_job_free(struct arp_job *j)
{
	free(j->j_ns);
	free(j->j_name);
	free(j->j_uid);
	free(j->j_server);
	free(j->j_ca);
	free(j->j_der);
}

static char *
arp_issuer_name(const struct rec_issuer *ri)
{
	return ri->i_meta.m_ns[0] ? xasprintf("Issuer %s/%s", ri->i_meta.m_ns, ri->i_meta.m_name)
				  : xasprintf("ClusterIssuer %s", ri->i_meta.m_name);
}

static size_t
arp_read_jobs(struct arp *p, struct arp_job **out)
{
	struct store *st = p->p_o.ao_store;
	store_rdlock(st);
	size_t n = store_count(st, RES_CERTIFICATE), k = 0;
	struct arp_job *v = xcalloc(n ? n : 1, sizeof *v);
	struct store_iter it = {0};
	const struct rec_cert *c;
	while (k < n && (c = store_next(st, RES_CERTIFICATE, &it)) != NULL) {
		const struct rec_issuer *ri = store_cert_issuer(st, c);
		if (ri == NULL || ri->i_type != REC_ISSUER_ACME || ri->i_acme_server == NULL)
			continue;
		if (ri->i_acme_skip_tls || ri->i_acme_ca_bad) {
			char *in = arp_issuer_name(ri);
			if (ri->i_acme_skip_tls && arp_note_once(p, "skip", in))
				log_warn("%s sets skipTLSVerify: certcast does not ask its ACME server "
					 "for renewal information (it never turns TLS verification off)",
				    in);
			else if (!ri->i_acme_skip_tls && arp_note_once(p, "ca", in))
				log_warn("%s: spec.acme.caBundle is not base64 or is too large; "
					 "certcast does not ask its ACME server for renewal information",
				    in);
			free(in);
			continue;
		}
		const struct rec_cr *crs[ARP_CRS], *r = NULL;
		size_t ncr = store_cert_crs(st, c->c_meta.m_ns, c->c_meta.m_name, crs, ARP_CRS);
		for (size_t i = 0; i < ncr && i < ARP_CRS && r == NULL; i++)
			if (crs[i]->r_der_len > 0 && crs[i]->r_meta.m_uid[0] != '\0')
				r = crs[i];
		if (r == NULL)
			continue;
		struct arp_job *j = &v[k++];
		j->j_ns = xstrdup(c->c_meta.m_ns);
		j->j_name = xstrdup(c->c_meta.m_name);
		j->j_uid = xstrdup(r->r_meta.m_uid);
		j->j_server = xstrdup(ri->i_acme_server);
		if (ri->i_acme_ca != NULL) {
			j->j_ca = xmalloc(ri->i_acme_ca_len);
			memcpy(j->j_ca, ri->i_acme_ca, ri->i_acme_ca_len);
			j->j_ca_len = ri->i_acme_ca_len;
		}
		char id[ARC_ID_MAX];
		if (!arc_id_of(p->p_o.ao_cache, j->j_uid, id, sizeof id)) {
			j->j_der = xmalloc(r->r_der_len);
			memcpy(j->j_der, r->r_der, r->r_der_len);
			j->j_der_len = r->r_der_len;
		}
	}
	store_unlock(st);
	*out = v;
	return k;
}

void
arp_round(struct arp *p)
{
	int64_t now = p->p_o.ao_clock();
	struct arp_job *jobs;
	size_t n = arp_read_jobs(p, &jobs);
	for (size_t i = 0; i < n && !tk_stopping(&p->p_tk); i++)
		arp_ask(p, &jobs[i], now);
	for (size_t i = 0; i < n; i++)
		arp_job_free(&jobs[i]);
	free(jobs);
	arc_prune(p->p_o.ao_cache, now - ARP_PRUNE_AGE);
}

int
arp_start(struct arp *p)
{
	return tk_start(&p->p_tk, "ACME renewal information");
}

void
arp_free(struct arp *p)
{
	if (p == NULL)
		return;
	tk_stop(&p->p_tk);
	for (size_t i = 0; i < p->p_ndirs; i++)
		free(p->p_dirs[i].d_server);
	for (size_t i = 0; i < p->p_nnoted; i++)
		free(p->p_noted[i]);
	tk_destroy(&p->p_tk);
	free(p);
}
