/* records: freeing records and small read helpers shared by the store and its readers. */
#include "records.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

static void
rec_cond_clear(struct intern *in, struct rec_cond *c)
{
	intern_put(in, c->c_reason);
	free(c->c_message);
}

static void
rec_ref_clear(struct intern *in, struct rec_ref *r)
{
	intern_put(in, r->rf_group);
	intern_put(in, r->rf_kind);
	intern_put(in, r->rf_name);
}

static void
rec_meta_clear(struct intern *in, struct rec_meta *m)
{
	intern_put(in, m->m_ns);
	free(m->m_name);
	free(m->m_uid);
	free(m->m_rv);
}

static void
rec_cert_clear(struct intern *in, struct rec_cert *c)
{
	for (size_t i = 0; i < c->c_nannots; i++) {
		intern_put(in, c->c_annots[i].ra_key);
		free(c->c_annots[i].ra_value);
	}
	free(c->c_annots);
	rec_ref_clear(in, &c->c_issuer);
	free(c->c_secret_name);
	free(c->c_common_name);
	for (size_t i = 0; i < c->c_ndns; i++)
		free(c->c_dns_names[i]);
	free(c->c_dns_names);
	for (size_t i = 0; i < c->c_nwindows; i++) {
		free(c->c_windows[i].w_cron);
		intern_put(in, c->c_windows[i].w_tz);
	}
	free(c->c_windows);
	rec_cond_clear(in, &c->c_ready);
	rec_cond_clear(in, &c->c_issuing);
}

static void
rec_cr_clear(struct intern *in, struct rec_cr *r)
{
	free(r->r_cert_name);
	rec_ref_clear(in, &r->r_issuer);
	intern_put(in, r->r_username);
	rec_cond_clear(in, &r->r_ready);
	rec_cond_clear(in, &r->r_approved);
	rec_cond_clear(in, &r->r_denied);
	rec_cond_clear(in, &r->r_invalid);
	free(r->r_der);
}

void
rec_free(struct intern *in, void *rec)
{
	if (rec == NULL)
		return;
	struct rec_meta *m = rec;
	switch (m->m_kind) {
	case RES_CERTIFICATE:
		rec_cert_clear(in, rec);
		break;
	case RES_CERTIFICATEREQUEST:
		rec_cr_clear(in, rec);
		break;
	case RES_ISSUER:
	case RES_CLUSTERISSUER: {
		struct rec_issuer *i = rec;
		free(i->i_acme_server);
		free(i->i_acme_ca);
		rec_cond_clear(in, &i->i_ready);
		break;
	}
	case RES_ORDER: {
		struct rec_order *o = rec;
		free(o->o_cr_name);
		free(o->o_reason);
		free(o->o_url);
		break;
	}
	case RES_CHALLENGE: {
		struct rec_challenge *ch = rec;
		free(ch->ch_order_name);
		free(ch->ch_dns_name);
		free(ch->ch_reason);
		break;
	}
	case RES_EVENT: {
		struct rec_event *ev = rec;
		intern_put(in, ev->ev_obj_kind);
		intern_put(in, ev->ev_obj_ns);
		free(ev->ev_obj_name);
		free(ev->ev_obj_uid);
		intern_put(in, ev->ev_reason);
		free(ev->ev_message);
		intern_put(in, ev->ev_component);
		break;
	}
	case RES_POD: {
		struct rec_pod *p = rec;
		intern_put(in, p->p_last_term_reason);
		free(p->p_ip);
		break;
	}
	default:
		fatalx("record of unknown kind %d", (int)m->m_kind);
	}
	rec_meta_clear(in, m);
	free(rec);
}

const char *
rec_cert_annot(const struct rec_cert *c, const char *key)
{
	for (size_t i = 0; i < c->c_nannots; i++)
		if (strcmp(c->c_annots[i].ra_key, key) == 0)
			return c->c_annots[i].ra_value;
	return NULL;
}

bool
rec_ref_is_cm(const struct rec_ref *ref)
{
	return ref->rf_name != NULL && ref->rf_group != NULL && ref->rf_kind != NULL &&
	    strcmp(ref->rf_group, REC_CM_GROUP) == 0 &&
	    (strcmp(ref->rf_kind, "Issuer") == 0 || strcmp(ref->rf_kind, "ClusterIssuer") == 0);
}

const char *
rec_cond_status_name(enum rec_cond_status s)
{
	switch (s) {
	case REC_COND_TRUE:
		return "True";
	case REC_COND_FALSE:
		return "False";
	case REC_COND_UNKNOWN:
		return "Unknown";
	default:
		return "";
	}
}

const char *
rec_issuer_type_name(enum rec_issuer_type t)
{
	switch (t) {
	case REC_ISSUER_ACME:
		return "acme";
	case REC_ISSUER_CA:
		return "ca";
	case REC_ISSUER_SELFSIGNED:
		return "selfSigned";
	case REC_ISSUER_VAULT:
		return "vault";
	case REC_ISSUER_VENAFI:
		return "venafi";
	case REC_ISSUER_EXTERNAL:
		return "external";
	default:
		return "unknown";
	}
}

const char *
rec_acme_state_name(enum rec_acme_state s)
{
	static const char *const names[] = {"", "valid", "ready", "pending", "processing",
	    "invalid", "expired", "errored", "other"};
	if ((int)s < 0 || (size_t)s >= sizeof names / sizeof names[0])
		return "";
	return names[s];
}

const char *
rec_key_alg_name(enum rec_key_alg a)
{
	switch (a) {
	case REC_KEY_RSA:
		return "RSA";
	case REC_KEY_ECDSA:
		return "ECDSA";
	case REC_KEY_ED25519:
		return "Ed25519";
	case REC_KEY_OTHER:
		return "other";
	default:
		return "";
	}
}

const char *
rec_pod_phase_name(enum rec_pod_phase p)
{
	switch (p) {
	case REC_POD_PENDING:
		return "Pending";
	case REC_POD_RUNNING:
		return "Running";
	case REC_POD_SUCCEEDED:
		return "Succeeded";
	case REC_POD_FAILED:
		return "Failed";
	default:
		return "Unknown";
	}
}
