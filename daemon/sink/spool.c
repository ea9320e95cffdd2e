/* spool - notifications on disk (fsync'd) until delivered; bounded by size and age. */
#include "sink/spool.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/xalloc.h"

#define SPOOL_BODY_MAX (1024 * 1024) /* a payload is at most 64 KiB; this is slack */

static int is_req(const struct dirent *de);

struct mt_spool {
	char *dir;
	char *host;
	struct mt_config_spool conf;
	uint64_t seq;
	bool warned;
	struct mt_spool_stats stats;
};

static char *
join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = mt_xmalloc(la + lb + 2);

	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

struct mt_spool *
mt_spool_new(const char *state_dir, const struct mt_config_spool *conf, const char *hostname)
{
	struct mt_spool *s = mt_xcalloc(1, sizeof(*s));

	s->dir = join(state_dir, "spool");
	s->host = mt_xstrdup(hostname && *hostname ? hostname : "localhost");
	/* Host names are ours, but keep ids to safe characters all the same. */
	for (char *p = s->host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			*p = '_';
	s->conf = *conf;
	if (mkdir(s->dir, 0750) < 0 && errno != EEXIST)
		log_warn("cannot create %s; notifications will not survive a restart", s->dir);
	return s;
}

struct mt_spool *
mt_spool_free(struct mt_spool *s)
{
	if (s == NULL)
		return NULL;
	free(s->dir);
	free(s->host);
	free(s);
	return NULL;
}

void
mt_spool_item_free(struct mt_spool_item *it)
{
	if (it == NULL)
		return;
	free(it->id);
	free(it->path);
	free(it->body);
	free(it->sink);
	free(it->name);
	free(it);
}

const struct mt_spool_stats *
mt_spool_stats(const struct mt_spool *s)
{
	return &s->stats;
}

uint64_t
mt_spool_sink_bytes(const struct mt_spool *s, const char *sink)
{
	char *dir = join(s->dir, sink);
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t bytes = 0;
	struct stat st;

	while (d != NULL && (de = readdir(d)) != NULL)
		if (is_req(de) && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			bytes += (uint64_t)st.st_size;
	if (d != NULL)
		(void)closedir(d);
	free(dir);
	return bytes;
}

bool
mt_spool_expired(const struct mt_spool *s, const struct mt_spool_item *it, double now)
{
	return now - it->created > s->conf.max_age;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Oldest first, across every sink: drop until `need` more bytes fit. */
static void
make_room(struct mt_spool *s, uint64_t need)
{
	while (s->stats.bytes + need > s->conf.max_size) {
		char oldest[4096] = "";
		unsigned long long oldest_t = 0;
		off_t oldest_size = 0;
		DIR *top = opendir(s->dir);
		struct dirent *de;

		if (top == NULL)
			return;
		while ((de = readdir(top)) != NULL) {
			char *sub;
			DIR *d;
			struct dirent *e;

			if (de->d_name[0] == '.')
				continue;
			sub = join(s->dir, de->d_name);
			if ((d = opendir(sub)) != NULL) {
				while ((e = readdir(d)) != NULL) {
					unsigned long long t;

					if (e->d_name[0] == '.' ||
					    sscanf(e->d_name, "%llu-", &t) != 1)
						continue;
					if (oldest[0] == '\0' || t < oldest_t) {
						char *f = join(sub, e->d_name);
						struct stat st;

						if (stat(f, &st) == 0 &&
						    strlen(f) < sizeof(oldest)) {
							mt_strlcpy(oldest, f, sizeof(oldest));
							oldest_t = t;
							oldest_size = st.st_size;
						}
						free(f);
					}
				}
				(void)closedir(d);
			}
			free(sub);
		}
		(void)closedir(top);
		if (oldest[0] == '\0' || unlink(oldest) < 0) {
			s->stats.bytes =
				0; /* the accounting is off; start again from what is there */
			return;
		}
		s->stats.dropped_size++;
		s->stats.bytes -= (uint64_t)oldest_size < s->stats.bytes ? (uint64_t)oldest_size :
									   s->stats.bytes;
		log_warnx("spool over its %llu-byte bound: dropped the oldest undelivered "
			  "notification %s (counted)",
			  (unsigned long long)s->conf.max_size, oldest);
	}
}

/* Write it (not on disk yet) to <dir>/<sink>/<name>: temp, fsync, rename.  0 or -errno. */
static int
spool_write(struct mt_spool *s, struct mt_spool_item *it)
{
	char header[256], tmpname[160];
	char *dir = join(s->dir, it->sink), *tmp, *path;
	unsigned long long ms = it->created > 0 ? (unsigned long long)(it->created * 1000) : 0;
	int fd, r = 0, hl;

	hl = snprintf(header, sizeof(header), "{\"id\":\"%.200s\",\"created\":%llu}\n", it->id, ms);
	(void)snprintf(tmpname, sizeof(tmpname), ".%s.tmp", it->name);
	path = join(dir, it->name);
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0)
		make_room(s, (uint64_t)it->len + (uint64_t)hl);
	tmp = join(dir, tmpname);
	if (r == 0 && (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) >= 0) {
		r = write_all(fd, header, (size_t)hl);
		if (r == 0)
			r = write_all(fd, it->body, it->len);
		if (r == 0 && fsync(fd) < 0)
			r = -errno;
		if (close(fd) < 0 && r == 0)
			r = -errno;
		if (r == 0 && rename(tmp, path) < 0)
			r = -errno;
		if (r < 0)
			(void)unlink(tmp);
	} else if (r == 0) {
		r = -errno;
	}
	free(tmp);
	free(dir);
	if (r < 0) {
		free(path);
		s->stats.write_errors++;
		if (!s->warned)
			log_warnx("cannot write to the spool %s: %s; keeping it in memory and "
				  "writing it again later (a crash before then would lose it)",
				  s->dir, strerror(-r));
		s->warned = true;
		return r;
	}
	if (s->warned)
		log_info("writing to the spool %s works again", s->dir);
	s->warned = false;
	it->path = path;
	s->stats.written++;
	s->stats.bytes += (uint64_t)it->len + (uint64_t)hl;
	return 0;
}

struct mt_spool_item *
mt_spool_put(struct mt_spool *s, const char *sink, const char *body, size_t len, double now)
{
	struct mt_spool_item *it = mt_xcalloc(1, sizeof(*it));
	char name[128];
	unsigned long long ms;

	it->created = now;
	it->next_try = now;
	/* Times as whole milliseconds: file names sort by age. */
	ms = now > 0 ? (unsigned long long)(now * 1000) : 0;
	(void)snprintf(name, sizeof(name), "%llu-%llu.req", ms, (unsigned long long)++s->seq);
	{
		char idbuf[256];

		(void)snprintf(idbuf, sizeof(idbuf), "%.100s-%llu-%llu", s->host, ms,
			       (unsigned long long)s->seq);
		it->id = mt_xstrdup(idbuf);
	}
	it->body = mt_xstrndup(body, len);
	it->len = len;
	it->sink = mt_xstrdup(sink);
	it->name = mt_xstrdup(name);
	(void)spool_write(s, it); /* on failure: in memory (path NULL), see mt_spool_retry */
	return it;
}

int
mt_spool_retry(struct mt_spool *s, struct mt_spool_item *it)
{
	if (it->path != NULL)
		return 0;
	if (it->sink == NULL || it->name == NULL)
		return -EINVAL;
	return spool_write(s, it);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	unsigned long long x = 0, y = 0;

	(void)sscanf((*a)->d_name, "%llu", &x);
	(void)sscanf((*b)->d_name, "%llu", &y);
	return x < y ? -1 : x > y ? 1 : strcmp((*a)->d_name, (*b)->d_name);
}

static int
is_req(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 4 && strcmp(de->d_name + n - 4, ".req") == 0;
}

struct mt_spool_item *
mt_spool_load(struct mt_spool *s, const char *sink, double now)
{
	char *dir = join(s->dir, sink);
	struct dirent **names = NULL;
	struct mt_spool_item *head = NULL, **tail = &head;
	int n = scandir(dir, &names, is_req, by_name);

	for (int i = 0; i < n; i++) {
		char *path = join(dir, names[i]->d_name);
		FILE *f = fopen(path, "re");
		struct mt_buf b;
		char chunk[8192];
		size_t got;
		char *nl;

		free(names[i]);
		if (f == NULL) {
			free(path);
			continue;
		}
		mt_buf_init(&b, SPOOL_BODY_MAX);
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			if (mt_buf_append(&b, chunk, got) < 0)
				break;
		(void)fclose(f);
		nl = memchr(b.data, '\n', b.len);
		if (nl == NULL || strncmp(b.data, "{\"id\":\"", 7) != 0) {
			log_warnx("%s: not a spool file, leaving it alone", path);
		} else {
			struct mt_spool_item *it = mt_xcalloc(1, sizeof(*it));
			char *q = strchr(b.data + 7, '"');

			it->id =
				mt_xstrndup(b.data + 7, q && q < nl ? (size_t)(q - b.data - 7) : 0);
			{
				unsigned long long ms = 0;

				(void)sscanf(q ? q : "", "\",\"created\":%llu", &ms);
				it->created = (double)ms / 1000.0;
			}
			it->body = mt_xstrndup(nl + 1, b.len - (size_t)(nl + 1 - b.data));
			it->len = b.len - (size_t)(nl + 1 - b.data);
			it->path = path;
			path = NULL;
			it->next_try = now;
			s->stats.bytes += b.len;
			if (mt_spool_expired(s, it, now)) {
				log_warnx("dropping notification %s for %s: older than the spool's "
					  "max_age (counted)",
					  it->id, sink);
				s->stats.dropped_age++;
				mt_spool_done(s, it);
			} else {
				*tail = it;
				tail = &it->next;
			}
		}
		free(path);
		mt_buf_fini(&b);
	}
	free(names);
	free(dir);
	return head;
}

void
mt_spool_done(struct mt_spool *s, struct mt_spool_item *it)
{
	if (it->path != NULL) {
		struct stat st;

		if (stat(it->path, &st) == 0)
			s->stats.bytes -= (uint64_t)st.st_size < s->stats.bytes ?
						  (uint64_t)st.st_size :
						  s->stats.bytes;
		if (unlink(it->path) == 0)
			s->stats.removed++;
	}
	mt_spool_item_free(it);
}
