/*
 * http_server: the controller's HTTP endpoint, on libwebsockets, in its own service thread.
 *
 *   /metrics   the metrics registry in Prometheus text format
 *   /healthz   200 while the process runs
 *   /readyz    503 until http_server_set_ready(s, 1), then 200
 *   /          a small HTML page (the live page comes later)
 *
 * Anything else is 404; methods other than GET are 405. Requests are answered from the service
 * thread, so the metrics collectors run there.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stddef.h>

struct met_registry;
struct http_server;

/*
 * Split a listen address: "HOST:PORT", ":PORT" (every interface) or "[V6ADDR]:PORT". host gets
 * the host part without brackets ("" for every interface); port 0 asks for a free port. Returns
 * CC_OK or CC_ERR_INVAL with the reason in err ("port must be 0..65535", ...).
 */
int http_parse_addr(const char *addr, char *host, size_t hostsz, int *port, char *err,
    size_t errsz);

struct http_server_opts {
	const char *hso_addr;             /* listen address, see http_parse_addr */
	struct met_registry *hso_metrics; /* borrowed, must outlive the server; NULL: empty /metrics */
};

/*
 * Listen and start the service thread. Returns CC_OK with *out set, CC_ERR_INVAL (bad address)
 * or CC_ERR_IO (cannot resolve or bind), with err filled. Stop with http_server_stop.
 */
int http_server_start(const struct http_server_opts *o, struct http_server **out, char *err,
    size_t errsz);
/* The port actually bound (useful after asking for port 0). */
int http_server_port(const struct http_server *s);
/* Flip /readyz. Thread-safe. */
void http_server_set_ready(struct http_server *s, int ready);
/* Stop the thread, close every connection and free s. Accepts NULL. Not from the service thread. */
void http_server_stop(struct http_server *s);

#endif
