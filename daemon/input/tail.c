/* tail - one followed file: read, frame lines, survive every rotation style. */
#include "input/tail.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "log.h"
#include "util.h"
#include "util/buf.h"
#include "util/lineframe.h"
#include "util/xalloc.h"

/* One open file being read: the current one, or the previous one after a rotation. */
struct reader {
	int fd; /* -1: none */
	uint64_t dev, ino;
	uint64_t offset;	/* next byte to read */
	struct mt_lineframe fr; /* the pending line, in file offsets */
	uint32_t fp_len;	/* fingerprint of the first bytes, computed lazily */
	uint64_t fp_hash;
	/*
	 * A gzip-compressed rotated file (mail.log.2.gz): read through zlib's
	 * bounded buffers, offsets and fingerprint in the decompressed stream;
	 * zpos is how far it is decompressed (below offset: skipping to it).
	 */
	gzFile gz;
	uint64_t zpos;
};

/* A rotated file found to be finished before the current one, opened already. */
struct pending {
	int fd;
	uint64_t dev, ino, offset;
	uint32_t fp_len;
	uint64_t fp_hash;
	struct timespec mtime;
	bool gz; /* gzip-compressed: read decompressed */
};

#define MAX_PENDING 16

struct mt_tail {
	struct ev_loop *loop;
	char *path;
	struct mt_tail_params params;
	mt_tail_line_fn *on_line;
	void *ctx;

	struct reader cur, old;
	bool old_done_at_eof; /* nobody writes old any more (a copy, a file found at restart) */
	struct pending pending[MAX_PENDING]; /* oldest first, read after old */
	size_t npending;
	struct timespec eof_mtime; /* cur's mtime when last read to its end (or its open time) */
	/*
	 * cur restarted at 0 on the same inode (copytruncate) and has no
	 * fingerprint yet: until it has one, a copy made of it (a generation
	 * it never read) is told only by being a sibling newer than copy_ref,
	 * the newest mtime of the rotated files already taken in hand.
	 */
	bool cur_unpinned;
	struct timespec copy_ref;
	/*
	 * cur was rotated and the next file is not open yet: files rotated
	 * between the look for them and that open (a storm while we finish
	 * the queue) are looked for again when it opens, newer than reopen_ref.
	 */
	bool reopen_scan;
	struct timespec reopen_ref;
	struct mt_cursor *cursors; /* from the state file, used at the first open */
	size_t ncursors;
	bool first_open, at_startup;
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
	mt_lineframe_init(&r->fr, max_line);
}

/* One line from a reader's framing (util/lineframe): counted, handed on. */
static void
emit(void *ctx, const struct mt_frame_line *fl)
{
	struct mt_tail *t = ctx;
	struct mt_tail_line l = {
		.p = fl->p,
		.len = fl->len,
		.truncated = fl->truncated,
		.partial = fl->partial,
		.offset = fl->offset,
		.path = t->path,
	};

	t->stats.lines++;
	if (l.truncated)
		t->stats.cut++;
	if (l.partial)
		t->stats.partial++;
	t->on_line(t->ctx, t, &l);
}

static void
close_reader(struct mt_tail *t, struct reader *r)
{
	if (r->fd < 0)
		return;
	(void)mt_lineframe_flush(&r->fr, emit, t); /* rotation completes a partial line */
	if (r->gz != NULL)
		(void)gzclose(r->gz); /* closes fd */
	else
		(void)close(r->fd);
	r->gz = NULL;
	r->fd = -1;
	r->fp_len = 0;
	mt_lineframe_reset(&r->fr, 0);
}

static void
switched(struct mt_tail *t)
{
	if (t->params.on_switch != NULL)
		t->params.on_switch(t->ctx, t);
}

static bool
ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static bool fingerprint(int fd, uint32_t len, uint64_t *ret);

/*
 * Hash the first len bytes of fd into *ret, but only if its first have_len
 * bytes still hash to have_hash: a file truncated and rewritten since is
 * never given the new content's fingerprint for a position in the old one.
 */
static bool
fingerprint_extend(int fd, uint32_t have_len, uint64_t have_hash, uint32_t len, uint64_t *ret)
{
	char buf[MT_CURSOR_FP_MAX];
	ssize_t n;

	if (len == 0 || len > MT_CURSOR_FP_MAX)
		return false;
	n = pread(fd, buf, len, 0);
	if (n != (ssize_t)len)
		return false;
	if (have_len > 0 && (have_len > len || mt_cursor_hash(buf, have_len) != have_hash))
		return false;
	*ret = mt_cursor_hash(buf, len);
	return true;
}

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

	if (len > r->fp_len && fingerprint_extend(r->fd, r->fp_len, r->fp_hash, len, &r->fp_hash))
		r->fp_len = len;
}

/*
 * Read up to *budget bytes; returns 1 at end of file, 0 when the budget ran
 * out, -errno on a read error.
 */
static int
drain_gz(struct mt_tail *t, struct reader *r, size_t *budget)
{
	while (*budget > 0) {
		size_t want = *budget < t->chunk_size ? *budget : t->chunk_size;
		int n, e;

		if (r->zpos < r->offset && r->offset - r->zpos < want)
			want = (size_t)(r->offset - r->zpos);
		n = gzread(r->gz, t->chunk, (unsigned)want);
		if (n < 0) {
			(void)gzerror(r->gz, &e);
			if (e == Z_ERRNO && errno != 0)
				return -errno;
			/* Corrupt or cut short: what it held past here no reader can have. */
			t->stats.lost++;
			log_warnx(
				"%s: a compressed rotated file is damaged after %llu bytes; the rest "
				"of it is not read",
				t->path, (unsigned long long)r->zpos);
			return 1;
		}
		if (n == 0)
			return 1;
		*budget -= (size_t)n;
		if (r->zpos < r->offset) { /* skipping what was read before a restart */
			r->zpos += (uint64_t)n;
			continue;
		}
		mt_lineframe_feed(&r->fr, r->offset, t->chunk, (size_t)n, emit, t);
		r->offset += (uint64_t)n;
		r->zpos = r->offset;
		t->stats.bytes += (uint64_t)n;
	}
	return 0;
}

static int
drain(struct mt_tail *t, struct reader *r, size_t *budget)
{
	if (r->gz != NULL)
		return drain_gz(t, r, budget);
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
		mt_lineframe_feed(&r->fr, r->offset, t->chunk, (size_t)n, emit, t);
		r->offset += (uint64_t)n;
		t->stats.bytes += (uint64_t)n;
		*budget -= (size_t)n;
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

/*
 * The fingerprint of a gzip file's decompressed start: up to want bytes
 * (fewer if it holds fewer: *ret_len says how many).  Leaves fd at 0.
 */
static bool
gz_fingerprint(int fd, uint32_t want, uint32_t *ret_len, uint64_t *ret)
{
	char buf[MT_CURSOR_FP_MAX];
	int dfd, n = 0;
	gzFile gz;

	if (want > MT_CURSOR_FP_MAX || lseek(fd, 0, SEEK_SET) < 0 || (dfd = dup(fd)) < 0)
		return false;
	if ((gz = gzdopen(dfd, "rb")) == NULL) {
		(void)close(dfd);
		return false;
	}
	while ((uint32_t)n < want) {
		int r = gzread(gz, buf + n, want - (unsigned)n);

		if (r <= 0)
			break;
		n += r;
	}
	(void)gzclose(gz);
	if (lseek(fd, 0, SEEK_SET) < 0 || n < 0)
		return false;
	*ret_len = (uint32_t)n;
	*ret = mt_cursor_hash(buf, (size_t)n);
	return true;
}

/* Do the first fp_len (decompressed) bytes of fd hash to fp_hash? */
static bool
fingerprint_is(int fd, bool gz, uint32_t fp_len, uint64_t fp_hash)
{
	uint32_t got;
	uint64_t h;

	if (fp_len == 0)
		return true;
	if (gz)
		return gz_fingerprint(fd, fp_len, &got, &h) && got == fp_len && h == fp_hash;
	return fingerprint(fd, fp_len, &h) && h == fp_hash;
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

/* path's directory into dir ("/" for a file at the root); -EINVAL without one. */
static int
dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || (size_t)(slash - path) + 2 > size)
		return -EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (dir[0] == '\0')
		(void)mt_strlcpy(dir, "/", size);
	return 0;
}

/* mail.log.1, mail.log-20261204, mail.log.2.gz: a rotated name of base. */
static bool
sibling_name(const char *base, const char *name)
{
	size_t bl = strlen(base);

	return strncmp(name, base, bl) == 0 && (name[bl] == '.' || name[bl] == '-') &&
	       name[bl + 1] != '\0';
}

static bool
compressed_name(const char *name)
{
	static const char *const ext[] = { ".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z" };
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t el = strlen(ext[i]);

		if (len > el && strcmp(name + len - el, ext[i]) == 0)
			return true;
	}
	return false;
}

/*
 * A directory listing taken while logrotate renames in it (its .1 to .2
 * shift) may miss an entry: scans repeat while the directory changed under
 * them, a few times at most.
 */
#define SCAN_PASSES 8

static bool
dir_stamp(const char *dir, struct timespec *ret)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return false;
	*ret = st.st_mtim;
	return true;
}

static bool
dir_changed(const char *dir, const struct timespec *before)
{
	struct timespec now;

	return !dir_stamp(dir, &now) || now.tv_sec != before->tv_sec ||
	       now.tv_nsec != before->tv_nsec;
}

/* Compressed with gzip, which the tail reads (the other formats it cannot). */
static bool
gz_name(const char *name)
{
	size_t len = strlen(name);

	return len > 3 && strcmp(name + len - 3, ".gz") == 0;
}

/* Being compressed right now: the file it is made from is still there (read that one). */
static bool
gz_in_progress(const char *path)
{
	char plain[MT_CURSOR_PATH_MAX];
	size_t len = strlen(path);

	if (len < 4 || len - 3 >= sizeof(plain))
		return false;
	memcpy(plain, path, len - 3);
	plain[len - 3] = '\0';
	return access(plain, F_OK) == 0;
}

/* The file in path's directory with this inode, if any (a rotated copy). */
static int
find_by_inode(const char *path, uint64_t dev, uint64_t ino, char *ret, size_t size)
{
	char dir[MT_CURSOR_PATH_MAX];
	int found = -ENOENT;

	if (dir_of(path, dir, sizeof(dir)) < 0)
		return -EINVAL;
	for (int pass = 0; found != 0 && pass < SCAN_PASSES; pass++) {
		struct timespec stamp;
		struct dirent *de;
		DIR *d;

		if (!dir_stamp(dir, &stamp) || (d = opendir(dir)) == NULL)
			return -errno;
		while ((de = readdir(d)) != NULL) {
			struct stat st;

			if (de->d_ino != ino || path_join(ret, size, dir, de->d_name) < 0)
				continue;
			if (stat(ret, &st) == 0 && (uint64_t)st.st_dev == dev &&
			    (uint64_t)st.st_ino == ino) {
				found = 0;
				break;
			}
		}
		(void)closedir(d);
		if (!dir_changed(dir, &stamp))
			break;
	}
	return found;
}

/*
 * A copy of a file we were reading: a regular file in path's directory,
 * other than path and than inode skip_ino, at least min_size long, whose
 * first fp_len bytes hash to fp_hash; or a gzip file whose decompressed
 * start does (*ret_gz; its length is checked as it is read).  Opened in
 * *ret_fd.
 */
static bool
find_copy(const char *path, uint64_t skip_ino, uint32_t fp_len, uint64_t fp_hash, uint64_t min_size,
	  int *ret_fd, struct stat *ret_st, bool *ret_gz)
{
	char dir[MT_CURSOR_PATH_MAX], p[MT_CURSOR_PATH_MAX];
	bool found = false;

	if (fp_len == 0 || dir_of(path, dir, sizeof(dir)) < 0)
		return false;
	for (int pass = 0; !found && pass < SCAN_PASSES; pass++) {
		struct timespec stamp;
		struct dirent *de;
		DIR *d;

		if (!dir_stamp(dir, &stamp) || (d = opendir(dir)) == NULL)
			return false;
		while (!found && (de = readdir(d)) != NULL) {
			bool gz = gz_name(de->d_name);
			int fd;

			if (de->d_name[0] == '.' || (compressed_name(de->d_name) && !gz) ||
			    path_join(p, sizeof(p), dir, de->d_name) < 0 || strcmp(p, path) == 0 ||
			    (gz && gz_in_progress(p)))
				continue;
			fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
			if (fd < 0)
				continue;
			if (fstat(fd, ret_st) == 0 && S_ISREG(ret_st->st_mode) &&
			    (gz || (uint64_t)ret_st->st_size >= min_size) &&
			    (uint64_t)ret_st->st_ino != skip_ino &&
			    fingerprint_is(fd, gz, fp_len, fp_hash)) {
				*ret_fd = fd;
				*ret_gz = gz;
				found = true;
			} else {
				(void)close(fd);
			}
		}
		(void)closedir(d);
		if (!dir_changed(dir, &stamp))
			break;
	}
	return found;
}

static bool
known_ino(const struct mt_tail *t, uint64_t dev, uint64_t ino)
{
	if ((t->cur.fd >= 0 && t->cur.dev == dev && t->cur.ino == ino) ||
	    (t->old.fd >= 0 && t->old.dev == dev && t->old.ino == ino))
		return true;
	for (size_t i = 0; i < t->npending; i++)
		if (t->pending[i].dev == dev && t->pending[i].ino == ino)
			return true;
	return false;
}

/* Queue an open file to finish from offset, in mtime order; takes fd. */
static void
add_pending(struct mt_tail *t, int fd, const struct stat *st, uint64_t offset, uint32_t fp_len,
	    uint64_t fp_hash, bool gz)
{
	struct pending p = {
		.fd = fd,
		.dev = (uint64_t)st->st_dev,
		.ino = (uint64_t)st->st_ino,
		.offset = offset,
		.fp_len = fp_len,
		.fp_hash = fp_hash,
		.mtime = st->st_mtim,
		.gz = gz,
	};
	size_t i;

	if (known_ino(t, p.dev, p.ino)) {
		(void)close(fd);
		return;
	}
	if (t->npending == MAX_PENDING) {
		t->stats.lost++;
		log_warnx("%s: more than %d rotated files to finish; skipping one (inode %llu)",
			  t->path, MAX_PENDING, (unsigned long long)p.ino);
		(void)close(fd);
		return;
	}
	for (i = t->npending; i > 0 && ts_after(&t->pending[i - 1].mtime, &p.mtime); i--)
		t->pending[i] = t->pending[i - 1];
	t->pending[i] = p;
	t->npending++;
	if (ts_after(&p.mtime, &t->copy_ref))
		t->copy_ref = p.mtime;
}

/*
 * Rotated siblings of the path modified after `after`: written after what
 * we read, so unread (rotations while stopped or while behind).  Queued
 * from 0; returns how many.  A sibling whose first skip_len bytes hash to
 * skip_hash is a copy of the file being read now, not an unread one.
 * Compressed ones cannot be read: counted lost if count_lost.
 */
static size_t
queue_newer(struct mt_tail *t, const struct timespec *after, bool count_lost, uint32_t skip_len,
	    uint64_t skip_hash)
{
	char dir[MT_CURSOR_PATH_MAX], p[MT_CURSOR_PATH_MAX];
	const char *base = strrchr(t->path, '/');
	size_t had = t->npending;
	struct stat now;

	if (base == NULL || dir_of(t->path, dir, sizeof(dir)) < 0)
		return 0;
	base++;
	/* A file about to be renamed over the path (mail.log.new) is not a rotated one. */
	if (stat(t->path, &now) < 0)
		now.st_ino = 0;
	for (int pass = 0; pass < SCAN_PASSES; pass++) {
		struct timespec stamp;
		struct dirent *de;
		DIR *d;

		if (!dir_stamp(dir, &stamp) || (d = opendir(dir)) == NULL)
			break;
		while ((de = readdir(d)) != NULL) {
			bool gz = gz_name(de->d_name);
			struct stat st;
			uint32_t fl = 0;
			uint64_t h = 0;
			int fd;

			if (!sibling_name(base, de->d_name) ||
			    path_join(p, sizeof(p), dir, de->d_name) < 0 || stat(p, &st) < 0 ||
			    !S_ISREG(st.st_mode) || !ts_after(&st.st_mtim, after) ||
			    (st.st_ino == now.st_ino && st.st_dev == now.st_dev) ||
			    known_ino(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino))
				continue;
			if (gz && gz_in_progress(p))
				continue; /* the file it is made from is read instead */
			if (compressed_name(de->d_name) && !gz) {
				if (count_lost && pass == 0) { /* counted once */
					t->stats.lost++;
					log_warnx(
						"%s was compressed before it was read: its lines are "
						"not read (decompress it and use `mtalertd scan`)",
						p);
				}
				continue;
			}
			fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
			if (fd < 0)
				continue;
			if (gz && !gz_fingerprint(fd, MT_CURSOR_FP_MAX, &fl, &h))
				fl = 0, h = 0;
			if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
			    (skip_len == 0 || !fingerprint_is(fd, gz, skip_len, skip_hash))) {
				log_info("%s: reading %s, rotated after what was read", t->path, p);
				add_pending(t, fd, &st, 0, fl, h, gz);
			} else {
				(void)close(fd);
			}
		}
		(void)closedir(d);
		if (!dir_changed(dir, &stamp))
			break;
	}
	return t->npending - had;
}

/* Open the next pending file as the old reader, if old is free. */
static void
start_next(struct mt_tail *t)
{
	struct pending p;

	if (t->old.fd >= 0 || t->npending == 0)
		return;
	p = t->pending[0];
	memmove(&t->pending[0], &t->pending[1], (t->npending - 1) * sizeof(t->pending[0]));
	t->npending--;
	t->old.gz = NULL;
	t->old.zpos = 0;
	if (p.gz && (lseek(p.fd, 0, SEEK_SET) < 0 || (t->old.gz = gzdopen(p.fd, "rb")) == NULL)) {
		t->stats.lost++;
		log_warnx("%s: cannot read a compressed rotated file (inode %llu); its lines are "
			  "not read",
			  t->path, (unsigned long long)p.ino);
		(void)close(p.fd);
		start_next(t);
		return;
	}
	t->old.fd = p.fd;
	t->old.dev = p.dev;
	t->old.ino = p.ino;
	t->old.offset = p.offset;
	mt_lineframe_reset(&t->old.fr, p.offset);
	t->old.fp_len = p.fp_len;
	t->old.fp_hash = p.fp_hash;
	t->old_done_at_eof = true;
	t->stats.recovered++;
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
	r->offset = 0;
	r->fp_len = 0;
	mt_lineframe_reset(&r->fr, 0);
	return 0;
}

/* Does fd still hold what we read: at least offset bytes, the same first bytes? */
static bool
same_file(int fd, uint64_t offset, uint32_t fp_len, uint64_t fp_hash, struct stat *st)
{
	uint64_t h;

	return fstat(fd, st) == 0 && (uint64_t)st->st_size >= offset &&
	       (fp_len == 0 || (fingerprint(fd, fp_len, &h) && h == fp_hash));
}

/* Where a restarted daemon resumes: see the header.  cur_st: NULL when no file at the path. */
static void
resume_from_cursors(struct mt_tail *t, const struct stat *cur_st)
{
	struct timespec ref = t->params.saved_at;
	bool have_ref = ref.tv_sec != 0, cur_found = false, cur_known = false;

	for (size_t i = 0; i < t->ncursors; i++) {
		const struct mt_cursor *c = &t->cursors[i];
		char rotated[MT_CURSOR_PATH_MAX];
		struct stat st;
		bool gz = false;
		int fd = -1;

		if (c->kind != MT_CURSOR_FILE)
			continue;
		if (cur_st != NULL && c->dev == t->cur.dev && c->ino == t->cur.ino) {
			cur_known = true;
			if (same_file(t->cur.fd, c->offset, c->fp_len, c->fp_hash, &st)) {
				t->cur.offset = c->offset;
				mt_lineframe_reset(&t->cur.fr, c->offset);
				t->cur.fp_len = c->fp_len;
				t->cur.fp_hash = c->fp_hash;
				cur_found = true;
				if (!have_ref || ts_after(&ref, &st.st_mtim))
					ref = st.st_mtim;
				have_ref = true;
				continue;
			}
		} else if (find_by_inode(t->path, c->dev, c->ino, rotated, sizeof(rotated)) == 0 &&
			   (fd = open(rotated, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) >=
				   0) {
			gz = gz_name(rotated);
			if (gz ? fstat(fd, &st) == 0 &&
					    fingerprint_is(fd, true, c->fp_len, c->fp_hash) :
				 same_file(fd, c->offset, c->fp_len, c->fp_hash, &st)) {
				log_info(
					"%s was rotated while stopped; reading the rest of %s first",
					t->path, rotated);
				add_pending(t, fd, &st, c->offset, c->fp_len, c->fp_hash, gz);
				if (!have_ref || ts_after(&ref, &st.st_mtim))
					ref = st.st_mtim;
				have_ref = true;
				continue;
			}
			(void)close(fd);
		}
		/* Truncated, rewritten or gone: copytruncate while stopped left a copy? */
		if (find_copy(t->path, c->ino, c->fp_len, c->fp_hash, c->offset, &fd, &st, &gz)) {
			log_info("%s was %s while stopped; reading the rest of the %s first",
				 t->path, gz ? "rotated and compressed" : "copied and truncated",
				 gz ? "compressed file" : "copy");
			add_pending(t, fd, &st, c->offset, c->fp_len, c->fp_hash, gz);
			if (!have_ref || ts_after(&ref, &st.st_mtim))
				ref = st.st_mtim;
			have_ref = true;
			continue;
		}
		if (cur_st == NULL || c->dev != t->cur.dev || c->ino != t->cur.ino ||
		    (uint64_t)cur_st->st_size >= c->offset) {
			/* Not a plain shrink of the current file: lines may be gone for good. */
			t->stats.lost++;
			log_warnx(
				"%s: the file read up to offset %llu when last stopped (inode %llu) "
				"is gone, compressed or rewritten; what followed that offset in it "
				"is not read",
				t->path, (unsigned long long)c->offset, (unsigned long long)c->ino);
		}
	}
	if (have_ref) {
		if (ts_after(&ref, &t->copy_ref))
			t->copy_ref = ref;
		queue_newer(t, &ref, true, 0, 0);
	}
	if (!cur_found) { /* a new file since we stopped: everything in it is new */
		t->cur.offset = 0;
		mt_lineframe_reset(&t->cur.fr, 0);
	}
	/*
	 * The file we stopped in, at its start and not identified by its first
	 * bytes (empty when saved, or truncated while stopped): a copy made of
	 * it from now on is a generation we never read.
	 */
	if (cur_known && t->cur.offset == 0 && t->cur.fp_len == 0)
		t->cur_unpinned = true;
	start_next(t);
}

static void
set_eof_mtime_now(struct mt_tail *t)
{
	(void)clock_gettime(CLOCK_REALTIME, &t->eof_mtime);
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
		} else if (t->first_open && t->ncursors > 0) {
			resume_from_cursors(t, NULL); /* rotated while stopped, not recreated yet */
			t->first_open = false;
		}
		return false;
	}
	if (t->open_warned)
		log_info("%s is readable again", t->path);
	t->open_warned = false;
	set_eof_mtime_now(t);
	/* Queued as a rotated file, then renamed over the path: read it once, as the current. */
	for (size_t i = 0; i < t->npending; i++)
		if (t->pending[i].dev == t->cur.dev && t->pending[i].ino == t->cur.ino) {
			(void)close(t->pending[i].fd);
			memmove(&t->pending[i], &t->pending[i + 1],
				(t->npending - i - 1) * sizeof(t->pending[0]));
			t->npending--;
			break;
		}
	if (t->reopen_scan && !t->first_open) {
		struct timespec ref =
			ts_after(&t->copy_ref, &t->reopen_ref) ? t->copy_ref : t->reopen_ref;

		if (queue_newer(t, &ref, false, 0, 0) > 0) {
			if (t->old.fd >= 0)
				t->old_done_at_eof = true; /* rotated again since: no late writer */
			start_next(t);
		}
	}
	t->reopen_scan = false;
	if (t->first_open && t->ncursors > 0) {
		resume_from_cursors(t, &st);
	} else if (t->first_open && t->at_startup && t->params.start_at_end) {
		t->cur.offset = (uint64_t)st.st_size;
		mt_lineframe_reset(&t->cur.fr, t->cur.offset);
	}
	t->first_open = false;
	update_fingerprint(&t->cur);
	switched(t);
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

static void
arm_rotate_wait(struct mt_tail *t)
{
	ev_timer_stop(t->loop, &t->rotate_wait);
	ev_timer_set(&t->rotate_wait, t->params.rotate_wait, 0.);
	ev_timer_start(t->loop, &t->rotate_wait);
}

/*
 * copytruncate copied the file, then truncated it: what we had not read yet
 * is still in the copy.  Find it (same first bytes, at least as long as our
 * position), read the rest from there, then copies made after it, and
 * restart the truncated file at 0.
 */
static bool
continue_in_copy(struct mt_tail *t)
{
	struct reader *r = &t->cur;
	struct stat st;
	struct reader saved;
	gzFile gz = NULL;
	bool is_gz;
	int fd;

	if (!find_copy(t->path, r->ino, r->fp_len, r->fp_hash, r->offset, &fd, &st, &is_gz))
		return false;
	/* Already compressed (compress without delaycompress): read it decompressed. */
	if (is_gz && (gz = gzdopen(fd, "rb")) == NULL) {
		(void)close(fd);
		return false;
	}
	/* The copy takes over our reader state; the original restarts. */
	saved = *r;
	close_reader(t, &t->old);
	mt_lineframe_fini(&t->old.fr);
	t->old = saved;
	t->old.gz = gz;
	t->old.zpos = 0;
	t->old.fd = fd;
	t->old.dev = (uint64_t)st.st_dev;
	t->old.ino = (uint64_t)st.st_ino;
	t->old_done_at_eof = true;
	reader_init(r, t->params.max_line);
	r->fd = saved.fd;
	r->dev = saved.dev;
	r->ino = saved.ino;
	ev_timer_stop(t->loop, &t->rotate_wait);
	if (ts_after(&st.st_mtim, &t->copy_ref))
		t->copy_ref = st.st_mtim;
	t->cur_unpinned = true;
	/* A second copytruncate while we were behind made a newer copy: read it too. */
	queue_newer(t, &st.st_mtim, false, 0, 0);
	return true;
}

/*
 * cur restarted at 0 after a copytruncate and has no fingerprint yet: before
 * it gets one (its first read, or a checkpoint), look for copies made since
 * copy_ref, generations of it that were copied and truncated before we read
 * a byte of them (a reader starved, or a checkpoint, across a whole
 * rotation), and queue them first; then fingerprint what is there now.
 * A copy of what is there now (same first bytes) is not one of them: the
 * truncation check finds it when its time comes.  With nothing there yet,
 * look only if scan_empty (a checkpoint: what it saves must not skip such
 * a copy).  1: files queued; 0: none; -1: the
 * file changed under us, try again.
 */
static int
pin_current(struct mt_tail *t, bool scan_empty)
{
	struct timespec ref = t->copy_ref; /* queueing moves copy_ref */
	struct stat st;
	uint32_t len;
	uint64_t h = 0;
	size_t n;

	if (!t->cur_unpinned || t->cur.fd < 0)
		return 0;
	if (t->cur.fp_len > 0 || t->cur.offset > 0) {
		t->cur_unpinned = false;
		return 0;
	}
	if (fstat(t->cur.fd, &st) < 0)
		return -1;
	len = st.st_size < MT_CURSOR_FP_MAX ? (uint32_t)st.st_size : MT_CURSOR_FP_MAX;
	if (len == 0 && !scan_empty)
		return 0;
	if (len > 0 && !fingerprint(t->cur.fd, len, &h))
		return -1;
	n = queue_newer(t, &ref, false, len, h);
	if (len > 0) {
		t->cur.fp_len = len;
		t->cur.fp_hash = h;
		t->cur_unpinned = false;
	}
	if (n == 0)
		return 0;
	log_info("%s was copied and truncated before its new lines were read; reading the "
		 "copy first",
		 t->path);
	start_next(t);
	return 1;
}

/* The current file was truncated (shrunk, or its first bytes changed). */
static void
truncated(struct mt_tail *t, bool regrown)
{
	t->stats.truncations++;
	if (!continue_in_copy(t)) {
		struct timespec before = t->eof_mtime;
		size_t had = t->npending;

		queue_newer(t, &before, false, 0, 0);
		if (ts_after(&before, &t->copy_ref))
			t->copy_ref = before;
		t->cur_unpinned = true;
		if (t->npending > had || regrown) {
			/*
			 * Copied and truncated while we were behind, and the copy with
			 * our unread rest is gone (or compressed): no reader can have it.
			 */
			t->stats.lost++;
			log_warnx("%s was copied and truncated %swhile mtalertd was behind, and "
				  "the copy holding what followed offset %llu is gone: those lines "
				  "are lost (copytruncate's physical limit; prefer create or a "
				  "larger rotate count)",
				  t->path, t->npending > had ? "more than once " : "",
				  (unsigned long long)t->cur.offset);
		}
		(void)mt_lineframe_flush(&t->cur.fr, emit, t);
		t->cur.offset = 0;
		mt_lineframe_reset(&t->cur.fr, 0);
		t->cur.fp_len = 0;
	}
	start_next(t);
	switched(t);
}

/*
 * Read what is left in old (and the pending files after it).  1: nothing
 * more there for now, go on with the current file; 0: budget spent (the
 * idle watcher continues); -errno: read error.
 */
static int
finish_old(struct mt_tail *t, size_t *budget)
{
	while (t->old.fd >= 0) {
		struct stat st;
		int r;

		if (t->old.gz == NULL &&
		    !same_file(t->old.fd, t->old.offset, t->old.fp_len, t->old.fp_hash, &st)) {
			log_info("%s: a rotated file was rewritten in place while being finished; "
				 "not reading it again",
				 t->path);
			mt_lineframe_reset(&t->old.fr, t->old.offset);
		} else {
			r = drain(t, &t->old, budget);
			if (r < 0) {
				read_error(t, r);
				return r;
			}
			if (r == 0) {
				ev_idle_start(t->loop, &t->more);
				return 0;
			}
			if (!t->old_done_at_eof)
				return 1; /* late writers may still add to it: rotate_wait */
		}
		/* Finished: what is rotated from now on is newer than it. */
		if (fstat(t->old.fd, &st) == 0 && ts_after(&st.st_mtim, &t->copy_ref))
			t->copy_ref = st.st_mtim;
		close_reader(t, &t->old);
		ev_timer_stop(t->loop, &t->rotate_wait);
		start_next(t);
		switched(t);
	}
	return 1;
}

void
mt_tail_poll(struct mt_tail *t)
{
	size_t budget = t->params.read_chunk;
	int r, round;

	if (t->first_open && t->cur.fd < 0)
		(void)try_open(t);
	for (round = 0; round < 8; round++) {
		struct stat st;

		if (finish_old(t, &budget) <= 0)
			return;
		if (t->cur.fd < 0 && !try_open(t))
			return;
		if (t->old.fd >= 0 && t->old_done_at_eof)
			continue; /* opening found files to finish first */
		/* Truncated (maybe regrown past us) since the last read? */
		if (fstat(t->cur.fd, &st) < 0) {
			read_error(t, -errno);
			return;
		}
		if ((uint64_t)st.st_size < t->cur.offset) {
			truncated(t, false);
			continue;
		}
		if (t->cur_unpinned && st.st_size > 0) {
			r = pin_current(t, false);
			if (r > 0)
				switched(t);
			if (r != 0)
				continue; /* the copies first, or look again */
		}
		if (!same_file(t->cur.fd, t->cur.offset, t->cur.fp_len, t->cur.fp_hash, &st)) {
			truncated(t, true);
			continue;
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
		/* At the end of the open file. */
		if (fstat(t->cur.fd, &st) == 0 && ts_after(&st.st_mtim, &t->eof_mtime))
			t->eof_mtime = st.st_mtim;
		/* Is the path still this file? */
		struct stat pst;
		bool gone = stat(t->path, &pst) < 0;

		if ((gone && st.st_nlink > 0) || (!gone && (uint64_t)pst.st_ino == t->cur.ino &&
						  (uint64_t)pst.st_dev == t->cur.dev)) {
			if (!gone && (uint64_t)pst.st_size < t->cur.offset)
				continue; /* truncated just now: the check above handles it */
			break;
		}
		/*
		 * Rotated (the path names another file), or deleted with its
		 * directory perhaps: the file is drained; keep it a while for late
		 * writers, and read what was rotated after it first.
		 */
		struct timespec last = t->eof_mtime;

		if (gone)
			log_info("%s was deleted; following the path for a new file", t->path);
		close_reader(t, &t->old);
		mt_lineframe_fini(&t->old.fr);
		t->old = t->cur;
		t->old_done_at_eof = false;
		mt_lineframe_init(&t->cur.fr, t->params.max_line);
		t->cur.fd = -1;
		t->cur_unpinned = false; /* the next file is another inode, not a truncation */
		t->stats.rotations++;
		{
			size_t had = t->npending;

			queue_newer(t, &last, false, 0, 0);
			/* Rotated twice while we were behind: no late writer on the oldest. */
			if (t->npending > had)
				t->old_done_at_eof = true;
		}
		t->reopen_scan = true;
		t->reopen_ref = last;
		arm_rotate_wait(t);
		switched(t);
	}
	if (round == 8)
		ev_idle_start(t->loop, &t->more); /* many switches at once: go on soon */
	/*
	 * A line without its newline yet: complete it after a while.  The rest
	 * of a cut line too: if no newline ends it in time, the next bytes
	 * start a new line instead of being swallowed with it.
	 */
	if (mt_lineframe_pending(&t->cur.fr)) {
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
	if (ev_is_active(&t->more))
		return;
	if (mt_lineframe_end_cut(&t->cur.fr)) {
		t->stats.partial++; /* the cut line ended by the timeout, not a newline */
		ev_timer_stop(loop, w);
	} else if (mt_lineframe_flush(&t->cur.fr, emit, t)) {
		ev_timer_stop(loop, w);
	}
}

static void
on_rotate_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mt_tail *t = container_of(w, struct mt_tail, rotate_wait);

	/* Late writers have had their time: what is left is read by the next polls. */
	t->old_done_at_eof = true;
	mt_tail_poll(t);
}

struct mt_tail *
mt_tail_new(struct ev_loop *loop, const char *path, const struct mt_tail_params *params,
	    const struct mt_cursor *cursors, size_t ncursors, bool at_startup,
	    mt_tail_line_fn *on_line, void *ctx)
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
	if (ncursors > 0) {
		t->cursors = mt_xreallocarray(NULL, ncursors, sizeof(*t->cursors));
		memcpy(t->cursors, cursors, ncursors * sizeof(*t->cursors));
		t->ncursors = ncursors;
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
	if (t->old.gz != NULL)
		(void)gzclose(t->old.gz);
	else if (t->old.fd >= 0)
		(void)close(t->old.fd);
	if (t->cur.fd >= 0)
		(void)close(t->cur.fd);
	for (size_t i = 0; i < t->npending; i++)
		(void)close(t->pending[i].fd);
	mt_lineframe_fini(&t->old.fr);
	mt_lineframe_fini(&t->cur.fr);
	free(t->cursors);
	free(t->chunk);
	free(t->path);
	free(t);
	return NULL;
}

void
mt_tail_flush_partial(struct mt_tail *t)
{
	/*
	 * A rotated file not finished keeps its position in the state; only a
	 * partial line at the end of the current file is delivered now.
	 */
	(void)mt_lineframe_flush(&t->cur.fr, emit, t);
}

static bool
reader_cursor(struct mt_tail *t, struct reader *r, struct mt_cursor *ret)
{
	if (r->fd < 0)
		return false;
	/* Not while cur is unpinned: see pin_current. */
	if (r->fp_len < MT_CURSOR_FP_MAX && r->gz == NULL && !(r == &t->cur && t->cur_unpinned)) {
		struct stat st;
		uint32_t len;
		uint64_t h;

		if (fstat(r->fd, &st) < 0)
			return false;
		len = st.st_size < MT_CURSOR_FP_MAX ? (uint32_t)st.st_size : MT_CURSOR_FP_MAX;
		if (len > r->fp_len && fingerprint_extend(r->fd, r->fp_len, r->fp_hash, len, &h)) {
			r->fp_hash = h;
			r->fp_len = len;
		}
	}
	memset(ret, 0, sizeof(*ret));
	ret->kind = MT_CURSOR_FILE;
	ret->dev = r->dev;
	ret->ino = r->ino;
	/* The pending partial line is not delivered yet: resume at its start. */
	ret->offset = mt_lineframe_resume(&r->fr);
	ret->fp_len = r->fp_len;
	ret->fp_hash = r->fp_hash;
	if (mt_strlcpy(ret->path, t->path, sizeof(ret->path)) >= sizeof(ret->path))
		return false;
	return true;
}

size_t
mt_tail_cursors(struct mt_tail *t, struct mt_cursor *ret)
{
	size_t n = 0;

	/* What is saved must not skip a copy made of cur before cur was identified. */
	if (pin_current(t, true) > 0)
		ev_idle_start(t->loop, &t->more);
	if (reader_cursor(t, &t->old, &ret[n]))
		n++;
	if (reader_cursor(t, &t->cur, &ret[n]))
		n++;
	return n;
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
