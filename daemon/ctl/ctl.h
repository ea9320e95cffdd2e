/*
 * ctl - the control socket: a Unix stream socket (mode 0660, in the runtime
 * directory) that `mtalertd status` and `mtalertd silence` talk to.
 *
 * The protocol is one request line and one response: the client sends at
 * most MT_CTL_REQUEST_MAX bytes ending in '\n' ("status", "status json",
 * "silences reload"), the daemon writes its answer (at most
 * MT_CTL_RESPONSE_MAX bytes) and closes.  Everything is non-blocking on the
 * loop: at most MT_CTL_CLIENTS_MAX connections at once (more are closed at
 * once), and one that has not finished within MT_CTL_TIMEOUT seconds is
 * dropped.  Who may connect is decided by the socket file's mode and group
 * (root and the mtalert group), as for fail2ban's socket.
 *
 * Loop context only.  The handler runs in the loop, once per request.
 */
#ifndef MT_CTL_H
#define MT_CTL_H

#include <ev.h>

#include "util/buf.h"

#define MT_CTL_REQUEST_MAX  256
#define MT_CTL_RESPONSE_MAX (4 * 1024 * 1024)
#define MT_CTL_CLIENTS_MAX  8
#define MT_CTL_TIMEOUT	    5.0

struct mt_ctl;

/* Answer request (NUL-terminated, without '\n') into out (capped at MT_CTL_RESPONSE_MAX). */
typedef void mt_ctl_handler_fn(void *ctx, const char *request, struct mt_buf *out);

/* Listen on path (a stale socket there is replaced); NULL after logging why not. */
struct mt_ctl *mt_ctl_new(struct ev_loop *loop, const char *path, mt_ctl_handler_fn *fn, void *ctx);
/* Close every connection and remove the socket file. */
struct mt_ctl *mt_ctl_free(struct mt_ctl *c);

/*
 * The client side, for the commands: send request, read the whole answer
 * into out within timeout seconds.  0, or -errno (-ENOENT, -ECONNREFUSED:
 * no daemon; -EACCES: not allowed; -ETIMEDOUT; -ENOBUFS: answer too long).
 */
int mt_ctl_request(const char *path, const char *request, double timeout, struct mt_buf *out);

#endif
