/* metrics - GET /metrics through libmicrohttpd, run from the libev loop (no thread). */
#include "ctl/metrics.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "util/xalloc.h"

struct mt_metrics {
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	ev_io io;	/* MHD's epoll descriptor */
	ev_timer timer; /* MHD's next timeout */
	mt_metrics_fn *fn;
	void *ctx;
	struct mt_buf body;
};

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned code, const char *type, const char *p, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)p, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct mt_metrics *m = cls;
	static const char not_found[] = "not found: mtalert serves /metrics\n";
	static const char not_allowed[] = "method not allowed\n";

	/* A request body is not expected: take it in and ignore it. */
	if (*upload_size != 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			     sizeof(not_found) - 1);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
			     sizeof(not_allowed) - 1);
	mt_buf_reset(&m->body);
	m->fn(m->ctx, &m->body);
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", m->body.data,
		     m->body.len);
}

static void
rearm(struct mt_metrics *m)
{
	MHD_UNSIGNED_LONG_LONG ms;
	double after = 1.0; /* with nothing pending, look again now and then anyway */

	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES)
		after = (double)ms / 1000.;
	ev_timer_stop(m->loop, &m->timer);
	ev_timer_set(&m->timer, after, 0.);
	ev_timer_start(m->loop, &m->timer);
}

static void
on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mt_metrics *m = container_of(w, struct mt_metrics, io);

	(void)MHD_run(m->mhd);
	rearm(m);
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mt_metrics *m = container_of(w, struct mt_metrics, timer);

	(void)MHD_run(m->mhd);
	rearm(m);
}

struct mt_metrics *
mt_metrics_new(struct ev_loop *loop, const char *address, unsigned port, mt_metrics_fn *fn,
	       void *ctx)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_EPOLL;
	const union MHD_DaemonInfo *info;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		log_warnx("metrics: '%s' is not a numeric address; no Prometheus endpoint",
			  address);
		return NULL;
	}

	struct mt_metrics *m = mt_xcalloc(1, sizeof(*m));

	m->loop = loop;
	m->fn = fn;
	m->ctx = ctx;
	mt_buf_init(&m->body, MT_METRICS_BODY_MAX);
	m->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, m,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)MT_METRICS_CLIENTS_MAX,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MT_METRICS_TIMEOUT,
				  MHD_OPTION_END);
	info = m->mhd ? MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (info == NULL) {
		log_warnx("metrics: cannot listen on %s port %u (in use, or not an address of "
			  "this host); no Prometheus endpoint",
			  address, port);
		if (m->mhd)
			MHD_stop_daemon(m->mhd);
		mt_buf_fini(&m->body);
		free(m);
		return NULL;
	}
	ev_io_init(&m->io, on_io, info->epoll_fd, EV_READ);
	ev_io_start(loop, &m->io);
	ev_timer_init(&m->timer, on_timer, 1., 0.);
	rearm(m);
	log_info("metrics: serving http://%s%s%s:%u/metrics", strchr(address, ':') ? "[" : "",
		 address, strchr(address, ':') ? "]" : "", port);
	return m;
}

struct mt_metrics *
mt_metrics_free(struct mt_metrics *m)
{
	if (m == NULL)
		return NULL;
	ev_io_stop(m->loop, &m->io);
	ev_timer_stop(m->loop, &m->timer);
	MHD_stop_daemon(m->mhd);
	mt_buf_fini(&m->body);
	free(m);
	return NULL;
}

bool
mt_metrics_available(void)
{
	return true;
}
