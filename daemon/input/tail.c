/* tail - one followed file: read, frame lines, survive every rotation style. */
#include "input/tail.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* One open file being read: the current one, or the previous one after a rotation. */
struct reader {
	int fd; /* -1: none */
	uint64_t dev, ino;
	uint64_t offset;     /* next byte to read */
	uint64_t line_start; /* file offset of the pending line's first byte */
	struct mt_buf line;  /* the pending, not yet complete line */
	bool cutting;	     /* skipping the rest of a line already cut at the cap */
	uint32_t fp_len;     /* fingerprint of the first bytes, computed lazily */
	uint64_t fp_hash;
};

struct mt_tail {
	struct ev_loop *loop;
	char *path;
	struct mt_tail_params params;
	mt_tail_line_fn *on_line;
	void *ctx;

	struct reader cur, old;
	bool old_is_copy;	 /* old is logrotate's copy: nobody writes it, close it once read */
	struct mt_cursor cursor; /* from the state file, used at the first open */
	bool have_cursor, first_open, at_startup;
	bool open_warned, read_warned;
	char *chunk; /* read buffer, params.read_chunk bytes at most per read */
	size_t chunk_size;

	ev_idle more;	       /* a poll stopped at read_chunk: continue soon */
	ev_timer partial_wait; /* complete a partial line */
	ev_timer rotate_wait;  /* close the old file */
	struct mt_tail_stats stats;
};

static void
reader_init(struct reader *r, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	mt_buf_init(&r->line, max_line);
}

static void
emit(struct mt_tail *t, struct reader *r, bool truncated, bool partial)
{
	struct mt_tail_line l = {
		.p = r->line.data,
		.len = r->line.len,
		.truncated = truncated,
		.partial = partial,
		.offset = r->line_start,
		.path = t->path,
	};

	/* CRLF logs: the CR belongs to the line ending, not to the text. */
	if (l.len > 0 && l.p[l.len - 1] == '\r')
		l.len--;
	t->stats.lines++;
	if (truncated)
		t->stats.cut++;
	if (partial)
		t->stats.partial++;
	t->on_line(t->ctx, t, &l);
	mt_buf_reset(&r->line);
}

/* Frame bytes [p, p+n) that start at file offset r->offset - n. */
static void
frame(struct mt_tail *t, struct reader *r, const char *p, size_t n)
{
	uint64_t pos = r->offset - n;

	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n;
		size_t take = nl ? seg + 1 : n;
		size_t room = r->line.cap - r->line.len;

		if (r->cutting) {
			if (nl) {
				r->cutting = false;
				r->line_start = pos + take;
			}
		} else if (seg > room) {
			/* Over-long: deliver what fits, flagged; skip the rest. */
			(void)mt_buf_append(&r->line, p, room);
			emit(t, r, true, false);
			if (nl)
				r->line_start = pos + take;
			else
				r->cutting = true;
		} else {
			(void)mt_buf_append(&r->line, p, seg);
			if (nl) {
				emit(t, r, false, false);
				r->line_start = pos + take;
			}
		}
		p += take;
		n -= take;
		pos += take;
	}
}

static void
close_reader(struct mt_tail *t, struct reader *r)
{
	if (r->fd < 0)
		return;
	if (r->line.len > 0 && !r->cutting)
		emit(t, r, false, true); /* rotation completes a partial line */
	(void)close(r->fd);
	r->fd = -1;
	r->cutting = false;
	r->fp_len = 0;
	mt_buf_reset(&r->line);
}

static bool fingerprint(int fd, uint32_t len, uint64_t *ret);

/*
 * Keep the hash of the first bytes current while the file is short, so that
 * a truncation can still recognise the copy logrotate made of it.  Costs a
 * pread of at most MT_CURSOR_FP_MAX bytes, and only until the file is that
 * long.
 */
static void
update_fingerprint(struct reader *r)
{
	uint32_t len = r->offset < MT_CURSOR_FP_MAX ? (uint32_t)r->offset : MT_CURSOR_FP_MAX;

	if (len > r->fp_len && fingerprint(r->fd, len, &r->fp_hash))
		r->fp_len = len;
}

/*
 * Read up to *budget bytes; returns 1 at end of file, 0 when the budget ran
 * out, -errno on a read error.
 */
static int
drain(struct mt_tail *t, struct reader *r, size_t *budget)
{
	while (*budget > 0) {
		size_t want = *budget < t->chunk_size ? *budget : t->chunk_size;
		ssize_t n = pread(r->fd, t->chunk, want, (off_t)r->offset);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 1;
		r->offset += (uint64_t)n;
		t->stats.bytes += (uint64_t)n;
		*budget -= (size_t)n;
		frame(t, r, t->chunk, (size_t)n);
		update_fingerprint(r);
	}
	return 0;
}

static bool
fingerprint(int fd, uint32_t len, uint64_t *ret)
{
	char buf[MT_CURSOR_FP_MAX];
	ssize_t n;

	if (len == 0) {
		*ret = mt_cursor_hash("", 0);
		return true;
	}
	n = pread(fd, buf, len, 0);
	if (n != (ssize_t)len)
		return false;
	*ret = mt_cursor_hash(buf, len);
	return true;
}

/* dir/name into dst, or -ENAMETOOLONG. */
static int
path_join(char *dst, size_t size, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);

	if (dl + 1 + nl + 1 > size)
		return -ENAMETOOLONG;
	memcpy(dst, dir, dl);
	dst[dl] = '/';
	memcpy(dst + dl + 1, name, nl + 1);
	return 0;
}

/* The file in path's directory with this inode, if any (a rotated copy). */
static int
find_by_inode(const char *path, uint64_t dev, uint64_t ino, char *ret, size_t size)
{
	const char *slash = strrchr(path, '/');
	char dir[MT_CURSOR_PATH_MAX];
	struct dirent *de;
	DIR *d;
	int found = -ENOENT;

	if (slash == NULL || (size_t)(slash - path) >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if ((d = opendir(dir[0] ? dir : "/")) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int n;

		if (de->d_ino != ino)
			continue;
		n = path_join(ret, size, dir, de->d_name);
		if (n < 0)
			continue;
		if (stat(ret, &st) == 0 && (uint64_t)st.st_dev == dev &&
		    (uint64_t)st.st_ino == ino) {
			found = 0;
			break;
		}
	}
	(void)closedir(d);
	return found;
}

static int
open_reader(struct reader *r, const char *path, struct stat *ret_st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, ret_st) < 0 || !S_ISREG(ret_st->st_mode)) {
		int e = S_ISREG(ret_st->st_mode) ? -errno : -EINVAL;

		(void)close(fd);
		return e;
	}
	r->fd = fd;
	r->dev = (uint64_t)ret_st->st_dev;
	r->ino = (uint64_t)ret_st->st_ino;
	r->offset = r->line_start = 0;
	r->fp_len = 0;
	r->cutting = false;
	mt_buf_reset(&r->line);
	return 0;
}

/* Where a restarted daemon resumes: see the header. */
static void
resume_from_cursor(struct mt_tail *t, const struct stat *st)
{
	const struct mt_cursor *c = &t->cursor;
	uint64_t h;
	char rotated[MT_CURSOR_PATH_MAX];

	if (c->dev == t->cur.dev && c->ino == t->cur.ino && (uint64_t)st->st_size >= c->offset &&
	    fingerprint(t->cur.fd, c->fp_len, &h) && h == c->fp_hash) {
		t->cur.offset = t->cur.line_start = c->offset;
		return;
	}
	if ((c->dev != t->cur.dev || c->ino != t->cur.ino) &&
	    find_by_inode(t->path, c->dev, c->ino, rotated, sizeof(rotated)) == 0) {
		struct stat ost;

		if (open_reader(&t->old, rotated, &ost) == 0) {
			if ((uint64_t)ost.st_size >= c->offset &&
			    fingerprint(t->old.fd, c->fp_len, &h) && h == c->fp_hash) {
				/* We were behind when we stopped: finish the rotated file first. */
				t->old.offset = t->old.line_start = c->offset;
				log_info(
					"%s was rotated while stopped; reading the rest of %s first",
					t->path, rotated);
				ev_timer_set(&t->rotate_wait, t->params.rotate_wait, 0.);
				ev_timer_start(t->loop, &t->rotate_wait);
			} else {
				close_reader(t, &t->old);
			}
		}
	}
	/* A new file since we stopped: everything in it is new. */
	t->cur.offset = t->cur.line_start = 0;
}

static bool
try_open(struct mt_tail *t)
{
	struct stat st;
	int r = open_reader(&t->cur, t->path, &st);

	if (r < 0) {
		if (r != -ENOENT) {
			t->stats.open_errors++;
			if (!t->open_warned)
				log_warnx("cannot open %s: %s; will retry", t->path, strerror(-r));
			t->open_warned = true;
		}
		return false;
	}
	if (t->open_warned)
		log_info("%s is readable again", t->path);
	t->open_warned = false;
	if (t->first_open && t->have_cursor)
		resume_from_cursor(t, &st);
	else if (t->first_open && t->at_startup && t->params.start_at_end)
		t->cur.offset = t->cur.line_start = (uint64_t)st.st_size;
	t->first_open = false;
	t->have_cursor = false;
	return true;
}

static void
read_error(struct mt_tail *t, int r)
{
	t->stats.read_errors++;
	if (!t->read_warned)
		log_warnx("cannot read %s: %s; will retry", t->path, strerror(-r));
	t->read_warned = true;
}

/*
 * copytruncate copied the file, then truncated it: what we had not read yet
 * is still in the copy.  Find it (same first bytes, at least as long as our
 * position), read the rest from there, and restart the truncated file at 0.
 */
static bool
continue_in_copy(struct mt_tail *t)
{
	const char *slash = strrchr(t->path, '/');
	char dir[MT_CURSOR_PATH_MAX], path[MT_CURSOR_PATH_MAX];
	struct reader *r = &t->cur;
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (slash == NULL || r->fp_len == 0 || (size_t)(slash - t->path) >= sizeof(dir))
		return false;
	memcpy(dir, t->path, (size_t)(slash - t->path));
	dir[slash - t->path] = '\0';
	if ((d = opendir(dir[0] ? dir : "/")) == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		struct stat st;
		uint64_t h;
		int fd;

		if (de->d_name[0] == '.' || path_join(path, sizeof(path), dir, de->d_name) < 0 ||
		    strcmp(path, t->path) == 0)
			continue;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size < r->offset || (uint64_t)st.st_ino == r->ino)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (fingerprint(fd, r->fp_len, &h) && h == r->fp_hash) {
			/* The copy takes over our reader state; the original restarts. */
			struct reader saved = *r;

			close_reader(t, &t->old);
			mt_buf_fini(&t->old.line);
			t->old = saved;
			t->old.fd = fd;
			t->old.dev = (uint64_t)st.st_dev;
			t->old.ino = (uint64_t)st.st_ino;
			t->old_is_copy = true;
			reader_init(r, t->params.max_line);
			r->fd = saved.fd;
			r->dev = saved.dev;
			r->ino = saved.ino;
			ev_timer_stop(t->loop, &t->rotate_wait);
			ev_timer_set(&t->rotate_wait, t->params.rotate_wait, 0.);
			ev_timer_start(t->loop, &t->rotate_wait);
			found = true;
		} else {
			(void)close(fd);
		}
	}
	(void)closedir(d);
	return found;
}

void
mt_tail_poll(struct mt_tail *t)
{
	size_t budget = t->params.read_chunk;
	int r;

	if (t->old.fd >= 0 && (r = drain(t, &t->old, &budget)) <= 0) {
		if (r < 0)
			read_error(t, r);
		else
			ev_idle_start(t->loop, &t->more);
		return;
	}
	for (int round = 0; round < 4; round++) {
		struct stat st;

		if (t->cur.fd < 0 && !try_open(t))
			return;
		/* A restart or a copytruncate may have left a file to finish first. */
		if (t->old.fd >= 0 && (r = drain(t, &t->old, &budget)) <= 0) {
			if (r < 0)
				read_error(t, r);
			else
				ev_idle_start(t->loop, &t->more);
			return;
		}
		if (t->old.fd >= 0 && t->old_is_copy) {
			close_reader(t, &t->old);
			t->old_is_copy = false;
			ev_timer_stop(t->loop, &t->rotate_wait);
		}
		r = drain(t, &t->cur, &budget);
		if (r < 0) {
			read_error(t, r);
			return;
		}
		t->read_warned = false;
		if (r == 0) {
			ev_idle_start(t->loop, &t->more);
			return;
		}
		/* At the end of the open file: is the path still this file? */
		if (stat(t->path, &st) < 0)
			break; /* gone for now: keep the drained file until a new one appears */
		if ((uint64_t)st.st_ino != t->cur.ino || (uint64_t)st.st_dev != t->cur.dev) {
			/* Rotated: the old file is drained; keep it a while for late writers. */
			close_reader(t, &t->old);
			mt_buf_fini(&t->old.line);
			t->old = t->cur;
			t->old_is_copy = false;
			mt_buf_init(&t->cur.line, t->params.max_line);
			t->cur.fd = -1;
			t->stats.rotations++;
			ev_timer_stop(t->loop, &t->rotate_wait);
			ev_timer_set(&t->rotate_wait, t->params.rotate_wait, 0.);
			ev_timer_start(t->loop, &t->rotate_wait);
			continue;
		}
		if ((uint64_t)st.st_size < t->cur.offset) {
			/* copytruncate or a shrinking file: start over. */
			t->stats.truncations++;
			if (continue_in_copy(t)) {
				continue;
			}
			if (t->cur.line.len > 0 && !t->cur.cutting)
				emit(t, &t->cur, false, true);
			t->cur.offset = t->cur.line_start = 0;
			t->cur.cutting = false;
			t->cur.fp_len = 0;
			continue;
		}
		break;
	}
	/* A line without its newline yet: complete it after a while. */
	if (t->cur.line.len > 0 && !t->cur.cutting) {
		if (!ev_is_active(&t->partial_wait)) {
			ev_timer_set(&t->partial_wait, t->params.partial_timeout, 0.);
			ev_timer_start(t->loop, &t->partial_wait);
		}
	} else {
		ev_timer_stop(t->loop, &t->partial_wait);
	}
}

static void
on_more(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct mt_tail *t = container_of(w, struct mt_tail, more);

	ev_idle_stop(loop, w);
	mt_tail_poll(t);
}

static void
on_partial_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mt_tail *t = container_of(w, struct mt_tail, partial_wait);

	/* Read first: the rest of the line may have arrived meanwhile. */
	mt_tail_poll(t);
	if (t->cur.line.len > 0 && !t->cur.cutting && !ev_is_active(&t->more)) {
		emit(t, &t->cur, false, true);
		t->cur.line_start = t->cur.offset;
		ev_timer_stop(loop, w);
	}
}

static void
on_rotate_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mt_tail *t = container_of(w, struct mt_tail, rotate_wait);
	size_t budget = SIZE_MAX;

	if (t->old.fd >= 0 && drain(t, &t->old, &budget) < 0)
		log_warnx("cannot read the rotated file of %s to its end", t->path);
	close_reader(t, &t->old);
	mt_tail_poll(t);
}

struct mt_tail *
mt_tail_new(struct ev_loop *loop, const char *path, const struct mt_tail_params *params,
	    const struct mt_cursor *cursor, bool at_startup, mt_tail_line_fn *on_line, void *ctx)
{
	struct mt_tail *t = mt_xcalloc(1, sizeof(*t));

	t->loop = loop;
	t->path = mt_xstrdup(path);
	t->params = *params;
	t->on_line = on_line;
	t->ctx = ctx;
	t->first_open = true;
	/* A file that appears later is all new: only one there now may start at its end. */
	t->at_startup = at_startup && access(path, F_OK) == 0;
	if (cursor != NULL) {
		t->cursor = *cursor;
		t->have_cursor = true;
	}
	t->chunk_size = params->read_chunk < 65536 ? params->read_chunk : 65536;
	t->chunk = mt_xmalloc(t->chunk_size);
	reader_init(&t->cur, params->max_line);
	reader_init(&t->old, params->max_line);
	ev_idle_init(&t->more, on_more);
	ev_timer_init(&t->partial_wait, on_partial_wait, params->partial_timeout, 0.);
	ev_timer_init(&t->rotate_wait, on_rotate_wait, params->rotate_wait, 0.);
	return t;
}

struct mt_tail *
mt_tail_free(struct mt_tail *t)
{
	if (t == NULL)
		return NULL;
	ev_idle_stop(t->loop, &t->more);
	ev_timer_stop(t->loop, &t->partial_wait);
	ev_timer_stop(t->loop, &t->rotate_wait);
	if (t->old.fd >= 0)
		(void)close(t->old.fd);
	if (t->cur.fd >= 0)
		(void)close(t->cur.fd);
	mt_buf_fini(&t->old.line);
	mt_buf_fini(&t->cur.line);
	free(t->chunk);
	free(t->path);
	free(t);
	return NULL;
}

void
mt_tail_flush_partial(struct mt_tail *t)
{
	size_t budget = SIZE_MAX;

	if (t->old.fd >= 0)
		(void)drain(t, &t->old, &budget);
	close_reader(t, &t->old);
	if (t->cur.line.len > 0 && !t->cur.cutting) {
		emit(t, &t->cur, false, true);
		t->cur.line_start = t->cur.offset;
	}
}

bool
mt_tail_cursor(struct mt_tail *t, struct mt_cursor *ret)
{
	struct reader *r = &t->cur;

	if (r->fd < 0)
		return false;
	if (r->fp_len < MT_CURSOR_FP_MAX) {
		struct stat st;
		uint32_t len;

		if (fstat(r->fd, &st) < 0)
			return false;
		len = st.st_size < MT_CURSOR_FP_MAX ? (uint32_t)st.st_size : MT_CURSOR_FP_MAX;
		if (!fingerprint(r->fd, len, &r->fp_hash))
			return false;
		r->fp_len = len;
	}
	memset(ret, 0, sizeof(*ret));
	ret->kind = MT_CURSOR_FILE;
	ret->dev = r->dev;
	ret->ino = r->ino;
	/* The pending partial line is not delivered yet: resume at its start. */
	ret->offset = r->cutting ? r->offset : r->line_start;
	ret->fp_len = r->fp_len;
	ret->fp_hash = r->fp_hash;
	if (mt_strlcpy(ret->path, t->path, sizeof(ret->path)) >= sizeof(ret->path))
		return false;
	return true;
}

const char *
mt_tail_path(const struct mt_tail *t)
{
	return t->path;
}

const struct mt_tail_stats *
mt_tail_stats(const struct mt_tail *t)
{
	return &t->stats;
}

uint64_t
mt_tail_ino(const struct mt_tail *t)
{
	return t->cur.fd >= 0 ? t->cur.ino : 0;
}

bool
mt_tail_busy(const struct mt_tail *t)
{
	return ev_is_active(&t->more);
}
