/* leaderev: Events of leadership changes, queued off the election thread (see leaderev.h). */
#include "leaderev.h"

#include "cc_err.h"
#include "lease.h"
#include "log.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEV_NS_MAX 64    /* a namespace is a DNS label: 63 bytes, NUL included here */
#define LEV_NAME_MAX 254 /* a Lease's name is a DNS subdomain: 253 bytes */
#define LEV_NOTE_MAX (LE_ID_MAX + 32)

/* One change, copied out of the election thread's borrowed struct le_change. */
struct lev_item {
	int i_leading;
	int64_t i_when_ns;
	char i_id[LE_ID_MAX];
	char i_ns[LEV_NS_MAX];
	char i_name[LEV_NAME_MAX];
	char i_uid[LE_UID_MAX];
};

struct lev {
	struct er *v_er;            /* owned: the writer, without the identical-Event rule */
	pthread_t v_thread;
	int v_running;              /* v_thread started and not yet joined */
	pthread_mutex_t v_mu;       /* guards what follows; never held across a POST */
	pthread_cond_t v_cv;        /* a change queued, or the stop */
	struct lev_item *v_q;       /* ring of v_cap items */
	size_t v_cap, v_head, v_n;
	int v_stop;                 /* lev_stop began: no more changes are taken */
	int v_stopped;              /* lev_stop finished */
	uint64_t v_dropped;         /* changes forgotten: queue full, or left after a failure at stop */
};

/* ---- pure ------------------------------------------------------------------------------------ */

void
lev_note(const char *identity, int leading, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s %s", identity ? identity : "",
	    leading ? "became leader" : "stopped leading");
}

void
lev_ref(const struct le_change *ch, struct er_ref *out)
{
	memset(out, 0, sizeof *out);
	out->ref_api_version = "coordination.k8s.io/v1";
	out->ref_kind = "Lease";
	out->ref_ns = ch->lc_ns;
	out->ref_name = ch->lc_name;
	out->ref_uid = ch->lc_uid != NULL && ch->lc_uid[0] != '\0' ? ch->lc_uid : NULL;
}

/* ---- posting --------------------------------------------------------------------------------- */

/* One Event for it; CC_OK, or er_emit's error (logged here). Called without v_mu. */
static int
lev_post(struct lev *v, const struct lev_item *it)
{
	struct le_change ch = {it->i_leading, it->i_id, it->i_ns, it->i_name, it->i_uid,
	    it->i_when_ns, ""};
	struct er_ref ref;
	lev_ref(&ch, &ref);
	char note[LEV_NOTE_MAX], err[512] = "";
	lev_note(it->i_id, it->i_leading, note, sizeof note);
	int rc = er_emit(v->v_er, &ref, 0, LEV_REASON, it->i_leading ? "BecomeLeader" : "StopLeading",
	    note, it->i_when_ns, err, sizeof err);
	if (rc != CC_OK)
		log_warn("leader election Event \"%s\" on lease %s/%s not posted: %s", note, it->i_ns,
		    it->i_name, err);
	return rc;
}

/*
 * Post the queue in order, waiting for more until a stop; once stopping, return when it is
 * empty, or after a failure (dropping the rest: the API server does not answer, and the process
 * wants to end). v_mu held on entry and on return.
 */
static void
lev_run(struct lev *v)
{
	for (;;) {
		while (v->v_n == 0 && !v->v_stop)
			pthread_cond_wait(&v->v_cv, &v->v_mu);
		if (v->v_n == 0)
			return;
		struct lev_item it = v->v_q[v->v_head];
		v->v_head = (v->v_head + 1) % v->v_cap;
		v->v_n--;
		/*
		 * Only a post that began after the stop speaks for the API server at the stop: one
		 * that failed before it says nothing of the changes queued since.
		 */
		int stopping = v->v_stop;
		pthread_mutex_unlock(&v->v_mu);
		int rc = lev_post(v, &it);
		pthread_mutex_lock(&v->v_mu);
		if (rc != CC_OK && stopping && v->v_n > 0) {
			log_warn("stopping: %zu more leader election Events not posted", v->v_n);
			v->v_dropped += v->v_n;
			v->v_n = 0;
		}
	}
}

static void *
lev_main(void *arg)
{
	struct lev *v = arg;
	pthread_mutex_lock(&v->v_mu);
	lev_run(v);
	pthread_mutex_unlock(&v->v_mu);
	return NULL;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

struct lev *
lev_new(const struct lev_opts *o)
{
	struct lev *v = xcalloc(1, sizeof *v);
	struct er_opts eo;
	memset(&eo, 0, sizeof eo);
	eo.eo_client = o->lvo_client;
	eo.eo_instance = o->lvo_instance;
	eo.eo_dedup_ns = 1; /* no identical-Event rule: leaderev.h says why */
	v->v_er = er_new(&eo);
	v->v_cap = o->lvo_queue > 0 ? o->lvo_queue : LEV_QUEUE_DEFAULT;
	v->v_q = xcalloc(v->v_cap, sizeof *v->v_q);
	pthread_mutex_init(&v->v_mu, NULL);
	pthread_cond_init(&v->v_cv, NULL);
	return v;
}

int
lev_start(struct lev *v)
{
	if (v->v_running || v->v_stopped)
		return CC_ERR_STATE;
	if (pthread_create(&v->v_thread, NULL, lev_main, v) != 0) {
		log_error("cannot start the leader election Events thread");
		return CC_ERR_IO;
	}
	v->v_running = 1;
	return CC_OK;
}

void
lev_changed(void *arg, const struct le_change *ch)
{
	struct lev *v = arg;
	struct lev_item it;
	memset(&it, 0, sizeof it);
	it.i_leading = ch->lc_leading != 0;
	it.i_when_ns = ch->lc_when_ns;
	/* lease.c checked these; a copy that does not fit would name another object */
	if (ch->lc_identity == NULL || ch->lc_ns == NULL || ch->lc_name == NULL ||
	    xstrlcpy(it.i_id, ch->lc_identity, sizeof it.i_id) != 0 ||
	    xstrlcpy(it.i_ns, ch->lc_ns, sizeof it.i_ns) != 0 ||
	    xstrlcpy(it.i_name, ch->lc_name, sizeof it.i_name) != 0) {
		log_warn("leader election Event not queued: lease or identity missing or too long");
		return;
	}
	if (ch->lc_uid != NULL && xstrlcpy(it.i_uid, ch->lc_uid, sizeof it.i_uid) != 0)
		it.i_uid[0] = '\0'; /* then the Event names the Lease without it */
	pthread_mutex_lock(&v->v_mu);
	if (v->v_stop) {
		pthread_mutex_unlock(&v->v_mu);
		return;
	}
	if (v->v_n == v->v_cap) {
		/* the oldest goes: the newest says how things stand */
		v->v_head = (v->v_head + 1) % v->v_cap;
		v->v_n--;
		if (v->v_dropped++ == 0)
			log_warn("leader election Events: queue full, the oldest change not posted");
	}
	v->v_q[(v->v_head + v->v_n) % v->v_cap] = it;
	v->v_n++;
	pthread_cond_signal(&v->v_cv);
	pthread_mutex_unlock(&v->v_mu);
}

void
lev_stop(struct lev *v)
{
	if (v == NULL || v->v_stopped)
		return;
	pthread_mutex_lock(&v->v_mu);
	v->v_stop = 1;
	pthread_cond_broadcast(&v->v_cv);
	pthread_mutex_unlock(&v->v_mu);
	if (v->v_running) {
		pthread_join(v->v_thread, NULL); /* it posts what is left first */
		v->v_running = 0;
	} else {
		/* never started: what was queued goes out from here */
		pthread_mutex_lock(&v->v_mu);
		lev_run(v);
		pthread_mutex_unlock(&v->v_mu);
	}
	v->v_stopped = 1;
}

void
lev_free(struct lev *v)
{
	if (v == NULL)
		return;
	lev_stop(v);
	er_free(v->v_er);
	free(v->v_q);
	pthread_cond_destroy(&v->v_cv);
	pthread_mutex_destroy(&v->v_mu);
	free(v);
}

void
lev_stats(struct lev *v, struct er_stats *out)
{
	er_stats(v->v_er, out);
}

uint64_t
lev_dropped(struct lev *v)
{
	pthread_mutex_lock(&v->v_mu);
	uint64_t n = v->v_dropped;
	pthread_mutex_unlock(&v->v_mu);
	return n;
}
