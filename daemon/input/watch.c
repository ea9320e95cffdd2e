/* watch - inotify on the inputs' directories and files, a stat poll as fallback. */
#include "input/watch.h"

#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "util/xalloc.h"

#define MISSING_RETRY  10.0 /* seconds between looks for a directory that does not exist */
#define IDENTITY_CHECK 30.0 /* seconds between checks that a watched directory is still the same */
/*
 * Directories: only what changes which file a path names (rotation, new
 * files, permissions).  Followed files: their content.  Writes to other
 * files in the same directory (syslog, auth.log) then wake nothing.
 */
#define DIR_EVENTS                                                                          \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | \
	 IN_MOVE_SELF)
#define FILE_EVENTS (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)

struct dir {
	char *path;
	int wd;		   /* -1: not watched (missing, or polling) */
	uint64_t dev, ino; /* of the directory watched by wd */
	bool changed;
};

/* A watched file (an inode, whatever its name now), reported as its directory. */
struct file {
	int wd;
	size_t dir; /* index into dirs */
};

struct mt_watch {
	struct ev_loop *loop;
	int fd; /* inotify, -1 when polling */
	ev_io io;
	ev_timer poll;	   /* fallback: every poll_interval */
	ev_timer missing;  /* retry directories that do not exist */
	ev_timer identity; /* directories deleted or replaced under their watch */
	double poll_interval;
	mt_watch_fn *on_change;
	void *ctx;
	struct dir *dirs;
	size_t ndirs;
	struct file *files;
	size_t nfiles;
	uint64_t fallbacks;
};

static void
report_changed(struct mt_watch *w)
{
	for (size_t i = 0; i < w->ndirs; i++)
		if (w->dirs[i].changed) {
			w->dirs[i].changed = false;
			w->on_change(w->ctx, w->dirs[i].path);
		}
}

static void
mark_all(struct mt_watch *w)
{
	for (size_t i = 0; i < w->ndirs; i++)
		w->dirs[i].changed = true;
}

static void check_identity(struct mt_watch *w, struct dir *d);

static void
on_inotify(struct ev_loop *loop, ev_io *io, int revents)
{
	struct mt_watch *w = container_of(io, struct mt_watch, io);
	/* Aligned as the kernel writes it; room for at least one event with a long name. */
	char buf[sizeof(struct inotify_event) + NAME_MAX + 1 + 8192]
		__attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn("inotify read");
			break;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

			if (ev->mask & IN_Q_OVERFLOW) {
				log_info("inotify queue overflowed: checking every input");
				mark_all(w);
			}
			for (size_t i = 0; i < w->nfiles; i++) {
				if (w->files[i].wd != ev->wd)
					continue;
				w->dirs[w->files[i].dir].changed = true;
				if (ev->mask &
				    IN_IGNORED) /* deleted: the kernel dropped the watch */
					w->files[i--] = w->files[--w->nfiles];
			}
			for (size_t i = 0; i < w->ndirs; i++) {
				if (w->dirs[i].wd != ev->wd)
					continue;
				w->dirs[i].changed = true;
				if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
					/* The directory itself went away: look for it again later. */
					if (ev->mask & IN_IGNORED)
						w->dirs[i].wd = -1;
					else
						(void)inotify_rm_watch(w->fd, w->dirs[i].wd);
					ev_timer_start(loop, &w->missing);
				}
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	for (size_t i = 0; i < w->ndirs; i++)
		if (w->dirs[i].changed)
			check_identity(w, &w->dirs[i]);
	report_changed(w);
}

static void
on_poll(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mt_watch *w = container_of(t, struct mt_watch, poll);

	mark_all(w);
	report_changed(w);
}

/* 0: watched; -ENOENT: missing; other -errno: inotify cannot watch it. */
static int
add_one(struct mt_watch *w, struct dir *d)
{
	struct stat st;
	int wd;

	if (w->fd < 0)
		return 0;
	wd = inotify_add_watch(w->fd, d->path, DIR_EVENTS | IN_ONLYDIR);
	if (wd < 0)
		return -errno;
	d->wd = wd;
	if (stat(d->path, &st) == 0) {
		d->dev = (uint64_t)st.st_dev;
		d->ino = (uint64_t)st.st_ino;
	}
	return 0;
}

/*
 * Is d's watch still on the directory its path names?  A log directory
 * deleted (a file in it still open keeps the old inode alive, so no
 * IN_DELETE_SELF) or replaced is watched again, and reported changed.
 */
static void
check_identity(struct mt_watch *w, struct dir *d)
{
	struct stat st;

	if (w->fd < 0 || d->wd < 0)
		return;
	if (stat(d->path, &st) == 0 && S_ISDIR(st.st_mode) && (uint64_t)st.st_dev == d->dev &&
	    (uint64_t)st.st_ino == d->ino)
		return;
	(void)inotify_rm_watch(w->fd, d->wd);
	d->wd = -1;
	d->changed = true;
	if (add_one(w, d) == 0) {
		log_info("%s was replaced: watching the new directory", d->path);
	} else {
		log_info("%s is gone: looking for it every %.0f s", d->path, MISSING_RETRY);
		ev_timer_start(w->loop, &w->missing);
	}
}

static void
on_identity(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mt_watch *w = container_of(t, struct mt_watch, identity);

	for (size_t i = 0; i < w->ndirs; i++)
		check_identity(w, &w->dirs[i]);
	report_changed(w);
}

static void
on_missing(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mt_watch *w = container_of(t, struct mt_watch, missing);
	bool still_missing = false;

	for (size_t i = 0; i < w->ndirs; i++) {
		struct dir *d = &w->dirs[i];
		int r;

		if (w->fd < 0 || d->wd >= 0)
			continue;
		r = add_one(w, d);
		if (r == 0) {
			log_info("now watching %s", d->path);
			d->changed = true;
		} else if (r == -ENOENT || r == -ENOTDIR) {
			still_missing = true;
		} else {
			mt_watch_force_polling(w, strerror(-r));
			return;
		}
	}
	if (!still_missing)
		ev_timer_stop(loop, t);
	report_changed(w);
}

struct mt_watch *
mt_watch_new(struct ev_loop *loop, double poll_interval, mt_watch_fn *on_change, void *ctx)
{
	struct mt_watch *w = mt_xcalloc(1, sizeof(*w));

	w->loop = loop;
	w->poll_interval = poll_interval;
	w->on_change = on_change;
	w->ctx = ctx;
	ev_timer_init(&w->poll, on_poll, poll_interval, poll_interval);
	ev_timer_init(&w->missing, on_missing, MISSING_RETRY, MISSING_RETRY);
	ev_timer_init(&w->identity, on_identity, IDENTITY_CHECK, IDENTITY_CHECK);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		w->fd = -1;
		mt_watch_force_polling(w, strerror(errno));
		return w;
	}
	ev_io_init(&w->io, on_inotify, w->fd, EV_READ);
	ev_io_start(loop, &w->io);
	ev_timer_start(loop, &w->identity);
	return w;
}

void
mt_watch_force_polling(struct mt_watch *w, const char *why)
{
	if (w->fd >= 0) {
		ev_io_stop(w->loop, &w->io);
		(void)close(w->fd);
		w->fd = -1;
	}
	ev_timer_stop(w->loop, &w->identity);
	if (ev_is_active(&w->poll))
		return;
	w->fallbacks++;
	for (size_t i = 0; i < w->ndirs; i++)
		w->dirs[i].wd = -1;
	w->nfiles = 0;
	ev_timer_stop(w->loop, &w->missing);
	log_warnx("inotify unavailable (%s): polling inputs every %.1f s instead", why,
		  w->poll_interval);
	ev_timer_start(w->loop, &w->poll);
}

void
mt_watch_add(struct mt_watch *w, const char *dir)
{
	struct dir *d;
	int r;

	for (size_t i = 0; i < w->ndirs; i++)
		if (strcmp(w->dirs[i].path, dir) == 0) {
			/* Again (a reload): watch it anew if it was deleted or replaced. */
			check_identity(w, &w->dirs[i]);
			if (w->dirs[i].changed)
				ev_feed_event(w->loop, &w->identity, EV_TIMER);
			return;
		}
	w->dirs = mt_xreallocarray(w->dirs, w->ndirs + 1, sizeof(*w->dirs));
	d = &w->dirs[w->ndirs++];
	d->path = mt_xstrdup(dir);
	d->wd = -1;
	d->changed = false;
	r = add_one(w, d);
	if (r == -ENOENT || r == -ENOTDIR) {
		log_info("%s does not exist yet; looking for it every %.0f s", dir, MISSING_RETRY);
		ev_timer_start(w->loop, &w->missing);
	} else if (r < 0) {
		/* ENOSPC: the user's watch limit; EACCES: not ours to watch. */
		mt_watch_force_polling(w,
				       r == -ENOSPC ? "inotify watch limit reached" : strerror(-r));
	}
}

struct mt_watch *
mt_watch_free(struct mt_watch *w)
{
	if (w == NULL)
		return NULL;
	ev_timer_stop(w->loop, &w->poll);
	ev_timer_stop(w->loop, &w->missing);
	ev_timer_stop(w->loop, &w->identity);
	if (w->fd >= 0) {
		ev_io_stop(w->loop, &w->io);
		(void)close(w->fd);
	}
	for (size_t i = 0; i < w->ndirs; i++)
		free(w->dirs[i].path);
	free(w->dirs);
	free(w->files);
	free(w);
	return NULL;
}

void
mt_watch_add_file(struct mt_watch *w, const char *dir, const char *path)
{
	size_t d;
	int wd;

	if (w->fd < 0)
		return; /* polling looks at everything anyway */
	for (d = 0; d < w->ndirs; d++)
		if (strcmp(w->dirs[d].path, dir) == 0)
			break;
	if (d == w->ndirs)
		return;
	wd = inotify_add_watch(w->fd, path, FILE_EVENTS);
	if (wd < 0) {
		/* Unreadable or gone: the directory watch still sees it change. */
		if (errno == ENOSPC)
			mt_watch_force_polling(w, "inotify watch limit reached");
		return;
	}
	/* The same inode gives the same wd: nothing to add then. */
	for (size_t i = 0; i < w->nfiles; i++)
		if (w->files[i].wd == wd)
			return;
	w->files = mt_xreallocarray(w->files, w->nfiles + 1, sizeof(*w->files));
	w->files[w->nfiles].wd = wd;
	w->files[w->nfiles].dir = d;
	w->nfiles++;
}

bool
mt_watch_polling(const struct mt_watch *w)
{
	return w->fd < 0;
}

uint64_t
mt_watch_fallbacks(const struct mt_watch *w)
{
	return w->fallbacks;
}
