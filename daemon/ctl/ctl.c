/* ctl - the control socket: one request line in, one answer out, never blocking the loop. */
#include "ctl/ctl.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "util/xalloc.h"

struct conn {
	struct mt_ctl *ctl;
	int fd;
	ev_io io;
	ev_timer timeout;
	char req[MT_CTL_REQUEST_MAX + 1];
	size_t reqlen;
	struct mt_buf out; /* the answer; sent from pos */
	size_t pos;
	bool answering;
};

struct mt_ctl {
	struct ev_loop *loop;
	char *path;
	int fd;
	ev_io accept_io;
	mt_ctl_handler_fn *fn;
	void *ctx;
	struct conn *conns[MT_CTL_CLIENTS_MAX];
	struct stat st; /* of the socket file we made: remove only that one */
};

static void
conn_close(struct conn *c)
{
	struct mt_ctl *ctl = c->ctl;

	ev_io_stop(ctl->loop, &c->io);
	ev_timer_stop(ctl->loop, &c->timeout);
	(void)close(c->fd);
	mt_buf_fini(&c->out);
	for (size_t i = 0; i < MT_CTL_CLIENTS_MAX; i++)
		if (ctl->conns[i] == c)
			ctl->conns[i] = NULL;
	free(c);
}

static void
on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = container_of(w, struct conn, timeout);

	log_debug("control: a client stalled for %.0f s, dropped", MT_CTL_TIMEOUT);
	conn_close(c);
}

static void
answer(struct conn *c)
{
	char *nl = memchr(c->req, '\n', c->reqlen);

	c->req[c->reqlen] = '\0';
	if (nl != NULL)
		*nl = '\0';
	if (nl != NULL && nl > c->req && nl[-1] == '\r')
		nl[-1] = '\0';
	c->answering = true;
	c->ctl->fn(c->ctl->ctx, c->req, &c->out);
	ev_io_stop(c->ctl->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(c->ctl->loop, &c->io);
}

static void
on_conn(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = container_of(w, struct conn, io);
	ssize_t n;

	if (!c->answering) {
		n = read(c->fd, c->req + c->reqlen, MT_CTL_REQUEST_MAX - c->reqlen);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			conn_close(c);
			return;
		}
		c->reqlen += (size_t)n;
		/* A line, the end of the request, or a full buffer (answered as it is). */
		if (n == 0 || memchr(c->req, '\n', c->reqlen) != NULL ||
		    c->reqlen == MT_CTL_REQUEST_MAX) {
			if (c->reqlen == 0) {
				conn_close(c);
				return;
			}
			answer(c);
		}
		return;
	}
	while (c->pos < c->out.len) {
		n = send(c->fd, c->out.data + c->pos, c->out.len - c->pos, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		c->pos += (size_t)n;
	}
	conn_close(c);
}

static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mt_ctl *ctl = container_of(w, struct mt_ctl, accept_io);
	size_t slot;
	int fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return; /* EAGAIN, or a client that went away */
	for (slot = 0; slot < MT_CTL_CLIENTS_MAX && ctl->conns[slot] != NULL; slot++)
		;
	if (slot == MT_CTL_CLIENTS_MAX) {
		log_debug("control: %d clients already, refusing another", MT_CTL_CLIENTS_MAX);
		(void)close(fd);
		return;
	}
	struct conn *c = mt_xcalloc(1, sizeof(*c));

	c->ctl = ctl;
	c->fd = fd;
	mt_buf_init(&c->out, MT_CTL_RESPONSE_MAX);
	ev_io_init(&c->io, on_conn, fd, EV_READ);
	ev_io_start(loop, &c->io);
	ev_timer_init(&c->timeout, on_timeout, MT_CTL_TIMEOUT, 0.);
	ev_timer_start(loop, &c->timeout);
	ctl->conns[slot] = c;
}

static int
fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

struct mt_ctl *
mt_ctl_new(struct ev_loop *loop, const char *path, mt_ctl_handler_fn *fn, void *ctx)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, r;

	if (fill_addr(&sa, path) < 0) {
		log_warnx("control socket path %s is too long; no control socket", path);
		return NULL;
	}
	/*
	 * Replace only a stale socket: a regular file there is someone else's,
	 * and a socket that answers belongs to another mtalertd still running.
	 */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("%s exists and is not a socket; no control socket", path);
			return NULL;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		r = fd >= 0 ? connect(fd, (struct sockaddr *)&sa, sizeof(sa)) : -1;
		if (fd >= 0)
			(void)close(fd);
		if (r == 0) {
			log_warnx("another mtalertd answers on %s; this one has no control socket "
				  "(set control.socket to run two)",
				  path);
			return NULL;
		}
		(void)unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("control socket");
		return NULL;
	}
	/* Born 0660: no moment where others may connect. */
	old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	(void)umask(old);
	if (r < 0 || listen(fd, MT_CTL_CLIENTS_MAX) < 0 || lstat(path, &st) < 0) {
		log_warn("cannot listen on %s; `mtalertd status` will not reach this daemon", path);
		(void)close(fd);
		return NULL;
	}
	struct mt_ctl *c = mt_xcalloc(1, sizeof(*c));

	c->loop = loop;
	c->path = mt_xstrdup(path);
	c->fd = fd;
	c->fn = fn;
	c->ctx = ctx;
	c->st = st;
	ev_io_init(&c->accept_io, on_accept, fd, EV_READ);
	ev_io_start(loop, &c->accept_io);
	return c;
}

struct mt_ctl *
mt_ctl_free(struct mt_ctl *c)
{
	struct stat st;

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < MT_CTL_CLIENTS_MAX; i++)
		if (c->conns[i] != NULL)
			conn_close(c->conns[i]);
	ev_io_stop(c->loop, &c->accept_io);
	(void)close(c->fd);
	/* A daemon started after us may have taken the path: leave its socket alone. */
	if (lstat(c->path, &st) == 0 && st.st_ino == c->st.st_ino && st.st_dev == c->st.st_dev)
		(void)unlink(c->path);
	free(c->path);
	free(c);
	return NULL;
}

/* --- the client ------------------------------------------------------------ */

static double
now_mono(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait for events on fd until deadline: 0, or -ETIMEDOUT. */
static int
wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		double left = deadline - now_mono();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int
mt_ctl_request(const char *path, const char *request, double timeout, struct mt_buf *out)
{
	struct sockaddr_un sa;
	double deadline = now_mono() + timeout;
	size_t len = strlen(request), off = 0;
	char line[MT_CTL_REQUEST_MAX + 1];
	int fd, r = 0;

	if (len + 1 > MT_CTL_REQUEST_MAX)
		return -EINVAL;
	memcpy(line, request, len);
	line[len++] = '\n';
	if (fill_addr(&sa, path) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto out_close;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto out_close;
	}
	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN && (r = wait_fd(fd, POLLOUT, deadline)) == 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = r ? r : -errno;
			goto out_close;
		}
		off += (size_t)n;
	}
	(void)shutdown(fd, SHUT_WR);
	for (;;) {
		char buf[65536];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((r = wait_fd(fd, POLLIN, deadline)) < 0)
				goto out_close;
			continue;
		}
		if (n < 0) {
			r = -errno;
			goto out_close;
		}
		if (mt_buf_append(out, buf, (size_t)n) < 0) {
			r = -ENOBUFS;
			goto out_close;
		}
	}
out_close:
	(void)close(fd);
	return r;
}
