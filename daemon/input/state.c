/* state - the positions file: loaded at start, saved atomically (temp, fsync, rename). */
#include "input/state.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util/buf.h"
#include "util/xalloc.h"

struct mt_state {
	char *dir, *path, *tmp;
};

struct mt_state *
mt_state_new(const char *directory)
{
	struct mt_state *s = mt_xcalloc(1, sizeof(*s));
	size_t len = strlen(directory) + 16;

	s->dir = mt_xstrdup(directory);
	s->path = mt_xmalloc(len);
	s->tmp = mt_xmalloc(len);
	(void)snprintf(s->path, len, "%s/state", directory);
	(void)snprintf(s->tmp, len, "%s/.state.tmp", directory);
	return s;
}

struct mt_state *
mt_state_free(struct mt_state *s)
{
	if (s == NULL)
		return NULL;
	free(s->dir);
	free(s->path);
	free(s->tmp);
	free(s);
	return NULL;
}

const char *
mt_state_path(const struct mt_state *s)
{
	return s->path;
}

int
mt_state_load(struct mt_state *s, struct mt_cursor **ret, size_t *ret_n, struct mt_buf *extra)
{
	FILE *f = fopen(s->path, "re");
	char *line = NULL;
	size_t cap = 0, n = 0, lineno = 0;
	struct mt_cursor *v = NULL;
	ssize_t len;

	*ret = NULL;
	*ret_n = 0;
	if (f == NULL)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0 && n < MT_STATE_MAX_RECORDS) {
		struct mt_cursor c;

		lineno++;
		if (line[len - 1] == '\n')
			len--;
		if (len == 0 || line[0] == '#')
			continue;
		if (len > 6 && memcmp(line, "group ", 6) == 0) {
			/* Another module's record; a line that does not fit is its loss, logged. */
			if (extra != NULL && (mt_buf_append(extra, line, (size_t)len) < 0 ||
					      mt_buf_putc(extra, '\n') < 0))
				log_warnx(
					"%s:%zu: saved groups larger than the bound, ignoring the rest",
					s->path, lineno);
			continue;
		}
		if (mt_cursor_decode(line, (size_t)len, &c) < 0) {
			log_warnx("%s:%zu: damaged record, ignoring it", s->path, lineno);
			continue;
		}
		v = mt_xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = c;
	}
	free(line);
	(void)fclose(f);
	*ret = v;
	*ret_n = n;
	return 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
mt_state_save(struct mt_state *s, const struct mt_cursor *c, size_t n, const char *extra,
	      size_t extra_len)
{
	struct mt_buf b;
	int fd, dfd, r = 0;

	mt_buf_init(&b, (n + 1) * (3 * MT_CURSOR_PATH_MAX + 128) + extra_len + 1);
	(void)mt_buf_puts(&b, "# mtalertd positions; rewritten whole, do not edit while it runs\n");
	for (size_t i = 0; i < n; i++)
		(void)mt_cursor_encode(&b, &c[i]);
	if (extra != NULL && extra_len > 0 && mt_buf_append(&b, extra, extra_len) < 0)
		log_warnx("state: the saved groups do not fit, saving positions only");
	fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, b.data, b.len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(s->tmp, s->path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(s->tmp); /* do not leave a half file filling the disk */
		goto out;
	}
	/* The rename itself must reach the disk. */
	dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		(void)close(dfd);
	}
out:
	mt_buf_fini(&b);
	return r;
}
