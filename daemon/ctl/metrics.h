/*
 * metrics - the optional Prometheus endpoint: GET /metrics on the address
 * of metrics.listen, answered in the text exposition format (status.h).
 *
 * The HTTP server is libmicrohttpd, driven from the daemon's libev loop with
 * no thread of its own: MHD's epoll descriptor is one ev_io, MHD_run() runs
 * when it is readable and when MHD_get_timeout() says a connection times
 * out.  At most MT_METRICS_CLIENTS_MAX connections; one idle for
 * MT_METRICS_TIMEOUT seconds is closed.  Only GET and HEAD of /metrics;
 * anything else is 404 or 405.  Built without libmicrohttpd
 * (-Dmetrics=disabled), mt_metrics_new() logs that and returns NULL.
 *
 * Loop context only.
 */
#ifndef MT_METRICS_H
#define MT_METRICS_H

#include <stdbool.h>

#include <ev.h>

#include "util/buf.h"

#define MT_METRICS_CLIENTS_MAX 16
#define MT_METRICS_TIMEOUT     10
#define MT_METRICS_BODY_MAX    (8 * 1024 * 1024)

struct mt_metrics;

/* Write the exposition into out (capped at MT_METRICS_BODY_MAX). */
typedef void mt_metrics_fn(void *ctx, struct mt_buf *out);

/* address: numeric IPv4 or IPv6; NULL after logging why not. */
struct mt_metrics *mt_metrics_new(struct ev_loop *loop, const char *address, unsigned port,
				  mt_metrics_fn *fn, void *ctx);
struct mt_metrics *mt_metrics_free(struct mt_metrics *m);
/* Whether this build has the endpoint. */
bool mt_metrics_available(void);

#endif
