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

#include "alert/alert_group.h"
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

/*
 * A time as whole milliseconds, rounded: a time read back from a file
 * (ms / 1000.0) gives the same number again, so a file written again keeps
 * its name's time.
 */
static unsigned long long
ms_of(double t)
{
	return t > 0 ? (unsigned long long)(t * 1000 + 0.5) : 0;
}

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
	free(it->meta);
	for (size_t i = 0; i < it->nolds; i++)
		free(it->olds[i]);
	free(it->olds);
	mt_alert_note_free(it->note);
	free(it);
}

/* Remove a file of the spool, keeping the byte count; true if it was removed. */
static bool
remove_file(struct mt_spool *s, const char *path)
{
	struct stat st;
	bool had = stat(path, &st) == 0;

	if (unlink(path) != 0)
		return false;
	if (had)
		s->stats.bytes -= (uint64_t)st.st_size < s->stats.bytes ? (uint64_t)st.st_size :
									  s->stats.bytes;
	s->stats.removed++;
	return true;
}

/* The files it supersedes, now that it is on disk or delivered. */
static void
remove_olds(struct mt_spool *s, struct mt_spool_item *it)
{
	for (size_t i = 0; i < it->nolds; i++) {
		(void)remove_file(s, it->olds[i]);
		free(it->olds[i]);
	}
	it->nolds = 0;
}

static const char *
base_name(const char *path)
{
	const char *sl = strrchr(path, '/');

	return sl ? sl + 1 : path;
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
	char header[320], tmpname[160];
	char *dir = join(s->dir, it->sink), *tmp, *path;
	unsigned long long ms = ms_of(it->created);
	int fd, r = 0, hl;
	struct mt_buf extra;

	/* The note and the names it supersedes: lines between the header and the body. */
	mt_buf_init(&extra, SPOOL_BODY_MAX);
	if (it->meta != NULL) {
		(void)mt_buf_puts(&extra, it->meta);
		(void)mt_buf_putc(&extra, '\n');
		for (size_t i = 0; i < it->nolds; i++)
			(void)mt_buf_printf(&extra, "replaces %s\n", base_name(it->olds[i]));
		hl = snprintf(header, sizeof(header),
			      "{\"id\":\"%.200s\",\"created\":%llu,\"lines\":%zu}\n", it->id, ms,
			      1 + it->nolds);
	} else {
		hl = snprintf(header, sizeof(header), "{\"id\":\"%.200s\",\"created\":%llu}\n",
			      it->id, ms);
	}
	(void)snprintf(tmpname, sizeof(tmpname), ".%s.tmp", it->name);
	path = join(dir, it->name);
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0)
		make_room(s, (uint64_t)it->len + (uint64_t)hl + extra.len);
	tmp = join(dir, tmpname);
	if (r == 0 && (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) >= 0) {
		r = write_all(fd, header, (size_t)hl);
		if (r == 0)
			r = write_all(fd, extra.data, extra.len);
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
		mt_buf_fini(&extra);
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
	s->stats.bytes += (uint64_t)it->len + (uint64_t)hl + extra.len;
	mt_buf_fini(&extra);
	remove_olds(s, it); /* on disk: what it supersedes can go */
	return 0;
}

struct mt_spool_item *
mt_spool_put(struct mt_spool *s, const char *sink, const char *body, size_t len, const char *meta,
	     double now)
{
	struct mt_spool_item *it = mt_xcalloc(1, sizeof(*it));
	char name[128];
	unsigned long long ms;

	it->created = now;
	it->next_try = now;
	/* Times as whole milliseconds: file names sort by age. */
	ms = ms_of(now);
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
	it->meta = meta ? mt_xstrdup(meta) : NULL;
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

static void
add_old(struct mt_spool_item *it, char *path)
{
	if (path == NULL)
		return;
	it->olds = mt_xreallocarray(it->olds, it->nolds + 1, sizeof(*it->olds));
	it->olds[it->nolds++] = path;
}

/*
 * The next name of an item written again: its time and sequence number
 * stay (its place among the others, after a restart too), a generation
 * number after them goes up: "<ms>-<seq>-<gen>.req".  The id is new.
 */
static void
name_item(struct mt_spool *s, struct mt_spool_item *it, const char *old)
{
	unsigned long long ms = ms_of(it->created);
	unsigned long long ms0 = 0, seq = 0, gen = 0;
	char buf[256];

	if (old == NULL || sscanf(old, "%llu-%llu-%llu", &ms0, &seq, &gen) < 2 || ms0 != ms) {
		seq = ++s->seq;
		gen = 0;
	}
	(void)snprintf(buf, sizeof(buf), "%llu-%llu-%llu.req", ms, seq, gen + 1);
	free(it->name);
	it->name = mt_xstrdup(buf);
	free(it->id);
	(void)snprintf(buf, sizeof(buf), "%.100s-%llu-%llu-%llu", s->host, ms, seq, gen + 1);
	it->id = mt_xstrdup(buf);
}

int
mt_spool_supersede(struct mt_spool *s, struct mt_spool_item *it, const char *sink, const char *body,
		   size_t len, const char *meta, struct mt_spool_item *also)
{
	char *old = mt_xstrdup(it->name ? it->name : it->path ? base_name(it->path) : "");

	name_item(s, it, old);
	free(old);
	add_old(it, it->path);
	it->path = NULL;
	if (also != NULL) {
		add_old(it, also->path);
		also->path = NULL;
		for (size_t i = 0; i < also->nolds; i++)
			add_old(it, also->olds[i]);
		also->nolds = 0;
	}
	free(it->sink);
	it->sink = mt_xstrdup(sink);
	free(it->body);
	it->body = mt_xstrndup(body, len);
	it->len = len;
	free(it->meta);
	it->meta = meta ? mt_xstrdup(meta) : NULL;
	return spool_write(s, it);
}

/* By time, then by sequence number (both numeric). */
static int
by_name(const struct dirent **a, const struct dirent **b)
{
	unsigned long long x = 0, y = 0, xs = 0, ys = 0;

	(void)sscanf((*a)->d_name, "%llu-%llu", &x, &xs);
	(void)sscanf((*b)->d_name, "%llu-%llu", &y, &ys);
	if (x != y)
		return x < y ? -1 : 1;
	if (xs != ys)
		return xs < ys ? -1 : 1;
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
is_req(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 4 && strcmp(de->d_name + n - 4, ".req") == 0;
}

#define SPOOL_LINES_MAX 64 /* lines between a file's header and its body */

/*
 * The lines after the header: the note (kept as meta) and the names of the
 * files it supersedes (appended to *names).  Returns where the body starts,
 * NULL when the file is malformed.
 */
static const char *
read_lines(struct mt_spool_item *it, const char *p, const char *end, unsigned long nlines,
	   char ***names, size_t *nnames)
{
	for (unsigned long i = 0; i < nlines; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len;

		if (nl == NULL)
			return NULL;
		len = (size_t)(nl - p);
		if (len > 9 && memcmp(p, "replaces ", 9) == 0) {
			*names = mt_xreallocarray(*names, *nnames + 1, sizeof(**names));
			(*names)[(*nnames)++] = mt_xstrndup(p + 9, len - 9);
		} else if (it->meta == NULL && memchr(p, '\0', len) == NULL) {
			it->meta = mt_xstrndup(p, len);
		} else {
			return NULL;
		}
		p = nl + 1;
	}
	return p;
}

struct mt_spool_item *
mt_spool_load(struct mt_spool *s, const char *sink, double now)
{
	char *dir = join(s->dir, sink);
	struct dirent **names = NULL;
	struct mt_spool_item *head = NULL, **tail = &head, **pp;
	char **superseded = NULL;
	size_t nsuperseded = 0;
	int n = scandir(dir, &names, is_req, by_name);

	for (int i = 0; i < n; i++) {
		char *path = join(dir, names[i]->d_name);
		FILE *f = fopen(path, "re");
		struct mt_buf b;
		char chunk[8192];
		size_t got;
		char *nl;
		unsigned long long ms0 = 0, seq0 = 0;

		/* New names must never take an old one's place: numbers go on from the highest. */
		if (sscanf(names[i]->d_name, "%llu-%llu", &ms0, &seq0) == 2 && seq0 > s->seq)
			s->seq = seq0;
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
			char *q = memchr(b.data + 7, '"', (size_t)(nl - b.data - 7));
			const char *body = nl + 1;
			unsigned long nlines = 0;

			it->id =
				mt_xstrndup(b.data + 7, q && q < nl ? (size_t)(q - b.data - 7) : 0);
			{
				unsigned long long ms = 0;
				char *lq = q ? memmem(q, (size_t)(nl - q), ",\"lines\":", 9) : NULL;

				(void)sscanf(q ? q : "", "\",\"created\":%llu", &ms);
				it->created = (double)ms / 1000.0;
				if (lq != NULL && (sscanf(lq + 9, "%lu", &nlines) != 1 ||
						   nlines > SPOOL_LINES_MAX))
					body = NULL;
			}
			if (body != NULL && nlines > 0)
				body = read_lines(it, body, b.data + b.len, nlines, &superseded,
						  &nsuperseded);
			if (body == NULL) {
				log_warnx("%s: damaged spool file, leaving it alone", path);
				mt_spool_item_free(it);
				free(path);
				mt_buf_fini(&b);
				continue;
			}
			it->body = mt_xstrndup(body, b.len - (size_t)(body - b.data));
			it->len = b.len - (size_t)(body - b.data);
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
	/* A crash between writing a file and removing those it supersedes left both. */
	for (pp = &head; *pp != NULL;) {
		struct mt_spool_item *it = *pp;
		bool gone = false;

		for (size_t k = 0; k < nsuperseded && !gone; k++)
			gone = strcmp(base_name(it->path), superseded[k]) == 0;
		if (gone) {
			log_info("spool: %s was superseded by a later file; removing it", it->path);
			*pp = it->next;
			mt_spool_done(s, it);
		} else {
			pp = &it->next;
		}
	}
	for (size_t k = 0; k < nsuperseded; k++)
		free(superseded[k]);
	free(superseded);
	free(names);
	free(dir);
	return head;
}

void
mt_spool_done(struct mt_spool *s, struct mt_spool_item *it)
{
	if (it->path != NULL)
		(void)remove_file(s, it->path);
	remove_olds(s, it);
	mt_spool_item_free(it);
}
