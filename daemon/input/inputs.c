/* inputs - the configured logs: glob expansion, one tail per file, their watches. */
#include "input/inputs.h"

#include <sys/stat.h>

#include <fnmatch.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input/journal.h"
#include "input/tail.h"
#include "input/watch.h"
#include "log.h"
#include "util/xalloc.h"

#define POLL_FALLBACK 1.0  /* seconds between polls when inotify is unavailable */
#define ROTATE_WAIT   10.0 /* seconds an old file is drained after a rotation */

/* One configured input: a path or a glob in its last component. */
struct input {
	char *pattern;
	char *dir;
	bool glob;
	bool start_at_end;
};

struct mt_inputs {
	struct ev_loop *loop;
	mt_inputs_line_fn *on_line;
	void *ctx;

	struct input *inputs; /* from the configuration in force */
	size_t ninputs;
	struct mt_config_limits limits;

	struct mt_tail *tails[MT_INPUTS_MAX_FILES];
	uint64_t watched_ino[MT_INPUTS_MAX_FILES]; /* inode each tail's file watch is on */
	size_t ntails;
	struct mt_watch *watch;
	struct mt_journal *journal;
	const struct mt_cursor *saved; /* positions read at start, handed to tails once */
	size_t nsaved;
	void (*on_switch)(void *ctx); /* a tail changed files: save positions now */
	struct timespec saved_at;     /* when the saved positions were written */
};

static bool
has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static bool
rotated_name(const char *name)
{
	static const char *const ext[] = { ".gz", ".bz2", ".xz", ".zst", ".lz4", ".old" };
	size_t len = strlen(name);
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t el = strlen(ext[i]);

		if (len > el && strcmp(name + len - el, ext[i]) == 0)
			return true;
	}
	/* mail.log.1, mainlog.2 */
	if (dot != NULL && dot[1] != '\0' && strspn(dot + 1, "0123456789") == strlen(dot + 1))
		return true;
	return false;
}

static void
inputs_clear(struct mt_inputs *in)
{
	for (size_t i = 0; i < in->ninputs; i++) {
		free(in->inputs[i].pattern);
		free(in->inputs[i].dir);
	}
	free(in->inputs);
	in->inputs = NULL;
	in->ninputs = 0;
}

/* The configured paths, split into directory and pattern. */
static void
inputs_set(struct mt_inputs *in, const struct mt_config *cfg)
{
	inputs_clear(in);
	in->inputs = mt_xcalloc(cfg->ninputs ? cfg->ninputs : 1, sizeof(*in->inputs));
	for (size_t i = 0; i < cfg->ninputs; i++) {
		const struct mt_config_input *ci = &cfg->inputs[i];
		struct input *it = &in->inputs[in->ninputs];
		const char *slash = strrchr(ci->path, '/');

		if (slash == NULL)
			continue;
		it->dir = mt_xstrndup(ci->path, slash == ci->path ? 1 : (size_t)(slash - ci->path));
		if (has_glob(it->dir)) {
			log_error(
				"%s: globs are supported in the file name only, skipping this input",
				ci->path);
			free(it->dir);
			continue;
		}
		it->pattern = mt_xstrdup(ci->path);
		it->glob = has_glob(slash + 1);
		it->start_at_end = ci->start_at == MT_START_END;
		in->ninputs++;
	}
	in->limits = cfg->limits;
}

static void
on_tail_line(void *ctx, struct mt_tail *t, const struct mt_tail_line *l)
{
	struct mt_inputs *in = ctx;

	in->on_line(in->ctx, l->path, l->p, l->len, l->truncated, l->offset);
}

static void
on_journal_line(void *ctx, const char *p, size_t len)
{
	struct mt_inputs *in = ctx;

	in->on_line(in->ctx, "journal", p, len, false, 0);
}

/* Watch the file a tail reads now, once per inode. */
static void
watch_tail_file(struct mt_inputs *in, size_t i)
{
	const char *path = mt_tail_path(in->tails[i]);
	const char *slash = strrchr(path, '/');
	uint64_t ino = mt_tail_ino(in->tails[i]);
	char dir[4096];

	if (ino == 0 || ino == in->watched_ino[i] || slash == NULL ||
	    (size_t)(slash - path) >= sizeof(dir))
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash == path ? 1 : slash - path] = '\0';
	if (slash == path)
		dir[0] = '/';
	mt_watch_add_file(in->watch, dir, path);
	in->watched_ino[i] = ino;
	/* A write between the file's open and its watch raised no event: read it now. */
	mt_tail_poll(in->tails[i]);
}

static struct mt_tail *
find_tail(const struct mt_inputs *in, const char *path)
{
	for (size_t i = 0; i < in->ntails; i++)
		if (strcmp(mt_tail_path(in->tails[i]), path) == 0)
			return in->tails[i];
	return NULL;
}

/* The saved positions of path (all its files: the current and rotated ones), in *ret. */
static size_t
saved_cursors(const struct mt_inputs *in, const char *path, struct mt_cursor **ret)
{
	size_t n = 0;

	*ret = NULL;
	for (size_t i = 0; i < in->nsaved; i++)
		if (in->saved[i].kind == MT_CURSOR_FILE && strcmp(in->saved[i].path, path) == 0) {
			*ret = mt_xreallocarray(*ret, n + 1, sizeof(**ret));
			(*ret)[n++] = in->saved[i];
		}
	return n;
}

static void
on_tail_switch(void *ctx, struct mt_tail *t)
{
	struct mt_inputs *in = ctx;

	if (in->on_switch != NULL)
		in->on_switch(in->ctx);
}

static void
add_tail(struct mt_inputs *in, const char *path, bool start_at_end, bool at_startup)
{
	struct mt_tail_params params = {
		.max_line = in->limits.max_line_length,
		.read_chunk = in->limits.read_chunk,
		.partial_timeout = in->limits.partial_line_timeout,
		.rotate_wait = ROTATE_WAIT,
		.start_at_end = start_at_end,
		.on_switch = on_tail_switch,
		.saved_at = in->saved_at,
	};
	struct mt_cursor *cursors;
	size_t ncursors;
	struct mt_tail *t;

	if (find_tail(in, path) != NULL)
		return;
	if (in->ntails == MT_INPUTS_MAX_FILES) {
		log_warnx("more than %d input files, not following %s", MT_INPUTS_MAX_FILES, path);
		return;
	}
	ncursors = saved_cursors(in, path, &cursors);
	t = mt_tail_new(in->loop, path, &params, cursors, ncursors, at_startup, on_tail_line, in);
	free(cursors);
	in->watched_ino[in->ntails] = 0;
	in->tails[in->ntails++] = t;
	log_info("following %s", path);
	mt_tail_poll(t);
	watch_tail_file(in, in->ntails - 1);
}

/* Find files for every input (in dir only, unless NULL); at_startup decides where they start. */
static void
scan_inputs(struct mt_inputs *in, const char *dir, bool at_startup)
{
	for (size_t i = 0; i < in->ninputs; i++) {
		struct input *it = &in->inputs[i];
		glob_t gl;

		if (dir != NULL && strcmp(dir, it->dir) != 0)
			continue;
		if (!it->glob) {
			add_tail(in, it->pattern, it->start_at_end, at_startup);
			continue;
		}
		if (glob(it->pattern, GLOB_NOSORT, NULL, &gl) != 0)
			continue;
		for (size_t k = 0; k < gl.gl_pathc; k++) {
			const char *base = strrchr(gl.gl_pathv[k], '/');
			struct stat st;

			if (rotated_name(base ? base + 1 : gl.gl_pathv[k]) ||
			    stat(gl.gl_pathv[k], &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			add_tail(in, gl.gl_pathv[k], it->start_at_end, at_startup);
		}
		globfree(&gl);
	}
}

static void
on_dir_change(void *ctx, const char *dir)
{
	struct mt_inputs *in = ctx;
	size_t dl = strlen(dir);

	scan_inputs(in, dir, false);
	for (size_t i = 0; i < in->ntails; i++) {
		const char *p = mt_tail_path(in->tails[i]);

		if (strncmp(p, dir, dl) == 0 && (p[dl] == '/' || (dl == 1 && dir[0] == '/')) &&
		    strchr(p + dl + 1, '/') == NULL) {
			mt_tail_poll(in->tails[i]);
			watch_tail_file(in, i);
		}
	}
}

/* Stop following files that no configured input names any more. */
static void
drop_unwanted(struct mt_inputs *in)
{
	for (size_t i = 0; i < in->ntails;) {
		const char *p = mt_tail_path(in->tails[i]);
		bool wanted = false;

		for (size_t k = 0; k < in->ninputs && !wanted; k++)
			wanted = in->inputs[k].glob ?
					 fnmatch(in->inputs[k].pattern, p, FNM_PATHNAME) == 0 :
					 strcmp(in->inputs[k].pattern, p) == 0;
		if (wanted) {
			i++;
			continue;
		}
		log_info("no longer following %s", p);
		mt_tail_free(in->tails[i]);
		in->tails[i] = in->tails[--in->ntails];
		in->watched_ino[i] = in->watched_ino[in->ntails];
	}
}

struct mt_inputs *
mt_inputs_new(struct ev_loop *loop, const struct mt_cursor *saved, size_t nsaved,
	      mt_inputs_line_fn *on_line, void *ctx)
{
	struct mt_inputs *in = mt_xcalloc(1, sizeof(*in));

	in->loop = loop;
	in->on_line = on_line;
	in->ctx = ctx;
	in->saved = saved;
	in->nsaved = nsaved;
	in->watch = mt_watch_new(loop, POLL_FALLBACK, on_dir_change, in);
	if (getenv("MTALERT_NO_INOTIFY") != NULL) /* tests of the fallback */
		mt_watch_force_polling(in->watch, "MTALERT_NO_INOTIFY is set");
	return in;
}

void
mt_inputs_configure(struct mt_inputs *in, const struct mt_config *cfg, bool at_startup)
{
	bool any_file = false;

	inputs_set(in, cfg);
	if (!at_startup)
		drop_unwanted(in);
	for (size_t i = 0; i < in->ninputs; i++)
		mt_watch_add(in->watch, in->inputs[i].dir);
	scan_inputs(in, NULL, at_startup);
	if (!at_startup)
		return;
	for (size_t i = 0; i < in->ntails; i++)
		any_file |= access(mt_tail_path(in->tails[i]), F_OK) == 0;
	if (cfg->journal.enabled == MT_ON || (cfg->journal.enabled == MT_AUTO && !any_file)) {
		const struct mt_cursor *jc = NULL;

		for (size_t i = 0; i < in->nsaved; i++)
			if (in->saved[i].kind == MT_CURSOR_JOURNAL)
				jc = &in->saved[i];
		in->journal = mt_journal_new(in->loop, &cfg->journal, jc, on_journal_line, in);
	}
}

size_t
mt_inputs_cursors(struct mt_inputs *in, struct mt_cursor **ret)
{
	struct mt_cursor *v =
		mt_xcalloc(in->ntails * MT_TAIL_MAX_CURSORS + in->nsaved + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < in->ntails; i++)
		n += mt_tail_cursors(in->tails[i], &v[n]);
	/* Files followed but not open right now keep the position they had. */
	for (size_t i = 0; i < in->nsaved; i++) {
		bool open = false;

		for (size_t k = 0; k < n && !open; k++)
			open = v[k].kind == in->saved[i].kind &&
			       strcmp(v[k].path, in->saved[i].path) == 0;
		if (!open && in->saved[i].kind == MT_CURSOR_FILE &&
		    find_tail(in, in->saved[i].path) != NULL)
			v[n++] = in->saved[i];
	}
	if (in->journal != NULL && mt_journal_cursor(in->journal, &v[n]))
		n++;
	*ret = v;
	return n;
}

size_t
mt_inputs_nfiles(const struct mt_inputs *in)
{
	return in->ntails;
}

bool
mt_inputs_journal(const struct mt_inputs *in)
{
	return in->journal != NULL;
}

uint64_t
mt_inputs_watch_fallbacks(const struct mt_inputs *in)
{
	return mt_watch_fallbacks(in->watch);
}

const struct mt_tail_stats *
mt_inputs_file_stats(const struct mt_inputs *in, const char *path)
{
	for (size_t i = 0; i < in->ntails; i++)
		if (strcmp(mt_tail_path(in->tails[i]), path) == 0)
			return mt_tail_stats(in->tails[i]);
	return NULL;
}

void
mt_inputs_log_counters(const struct mt_inputs *in)
{
	for (size_t i = 0; i < in->ntails; i++) {
		const struct mt_tail_stats *s = mt_tail_stats(in->tails[i]);

		log_info(
			"input %s: %llu lines, %llu bytes, %llu cut, %llu partial, %llu rotations, "
			"%llu truncations, %llu open errors, %llu read errors, %llu rotated files "
			"finished, %llu lost to rotation",
			mt_tail_path(in->tails[i]), (unsigned long long)s->lines,
			(unsigned long long)s->bytes, (unsigned long long)s->cut,
			(unsigned long long)s->partial, (unsigned long long)s->rotations,
			(unsigned long long)s->truncations, (unsigned long long)s->open_errors,
			(unsigned long long)s->read_errors, (unsigned long long)s->recovered,
			(unsigned long long)s->lost);
	}
}

void
mt_inputs_saved_at(struct mt_inputs *in, const struct timespec *when)
{
	in->saved_at = *when;
}

void
mt_inputs_on_switch(struct mt_inputs *in, void (*fn)(void *ctx))
{
	in->on_switch = fn;
}

struct mt_inputs *
mt_inputs_free(struct mt_inputs *in)
{
	if (in == NULL)
		return NULL;
	for (size_t i = 0; i < in->ntails; i++)
		mt_tail_free(in->tails[i]);
	mt_journal_free(in->journal);
	mt_watch_free(in->watch);
	inputs_clear(in);
	free(in);
	return NULL;
}
