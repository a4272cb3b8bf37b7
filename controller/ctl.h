/*
 * ctl: the `certcast controller` run loop.
 *
 * Wiring: kubeconfig -> API client -> store -> one reflector per descriptor of res_table()
 * (restricted to cfg's namespace when set; pods in cert-manager's namespace) -> store
 * notifications enqueue Certificate keys -> worker threads run recon_ on keys, but only once every
 * reflector has synced (then every Certificate is enqueued once) -> a periodic resync enqueues
 * every Certificate again. /readyz turns 200 at the same moment workers start.
 *
 * With leader election (cfg c_leader_elect) an elector (lease.h) runs from the moment the API
 * client exists, on a client of its own; certcast_leader follows it at every scrape. Every
 * replica watches, scores and serves; only writes are for the leader. Without it this replica
 * leads alone.
 *
 * SIGTERM or SIGINT: stop the reflectors, drain the workers, release the Lease (le_stop), stop
 * HTTP, free everything, return 0.
 *
 * The learned model (model.h) is restored from stateFile at start when one is set, learns the
 * store's history in one sweep after the sync (before the workers start), is trained by the
 * workers from then on, and is written back at each resync when it learned something and once
 * more after the workers have drained on a stop.
 */
#ifndef CTL_H
#define CTL_H

#include "config.h"

struct ctl_opts {
	const struct cfg *co_cfg;       /* borrowed; validated settings */
	const char *co_kubeconfig;      /* --kubeconfig or NULL (kubectl's search order) */
	const char *co_context;         /* --context or NULL */
};

/*
 * Run until a signal asks to stop. Returns the process exit code: 0 after a clean stop, 1 when
 * start-up failed (kubeconfig, client, listen address), 2 for settings the controller refuses
 * (a bad $POD_NAMESPACE or $POD_NAME for leader election). Installs SIGTERM/SIGINT handlers for
 * its duration.
 */
int ctl_run(const struct ctl_opts *o);

/* Ask a running ctl_run to stop, as SIGTERM does. Async-signal-safe; for tests. */
void ctl_request_stop(void);

#endif
