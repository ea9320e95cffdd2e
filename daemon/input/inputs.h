/*
 * inputs - the set of logs the daemon follows: the configured paths and
 * globs, one tail per file found, the inotify watches on their directories,
 * and the journal when it is read.
 *
 * Every line read, from any file or the journal, goes to one callback.
 * Globs are expanded at start and on every change in a watched directory
 * (rotated names such as mail.log.1 or .gz are skipped); files that do not
 * exist yet are picked up when they appear.  Positions come in once, from
 * the state read at start, and go out through mt_inputs_cursors() for the
 * next checkpoint.
 *
 * Owns the tails, the watch and the journal reader.  Loop context only.
 */
#ifndef MT_INPUTS_H
#define MT_INPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ev.h>

#include "config/config.h"
#include "input/tail.h"
#include "util/cursor.h"

#define MT_INPUTS_MAX_FILES 1024

struct mt_inputs;

/* One line of a followed file ("journal" for the journal; offset 0 there). */
typedef void mt_inputs_line_fn(void *ctx, const char *file, const char *p, size_t len,
			       bool truncated, uint64_t offset);

/*
 * saved: the positions read from the state file (borrowed until
 * mt_inputs_free; a tail takes its own the first time its file is opened).
 */
struct mt_inputs *mt_inputs_new(struct ev_loop *loop, const struct mt_cursor *saved, size_t nsaved,
				mt_inputs_line_fn *on_line, void *ctx);
struct mt_inputs *mt_inputs_free(struct mt_inputs *in);

/*
 * Follow what cfg names: at start (at_startup, files start where their
 * start_at says), and again after a reload, when files no longer named stop
 * being followed and new ones start at their beginning.  The journal is
 * opened at start only: when configured, or by `auto` when no file exists.
 */
void mt_inputs_configure(struct mt_inputs *in, const struct mt_config *cfg, bool at_startup);

/*
 * When the saved positions were written (the state file's mtime): rotated
 * files modified after it hold lines not read yet.  Before configure.
 */
void mt_inputs_saved_at(struct mt_inputs *in, const struct timespec *when);

/*
 * fn (called with the ctx of mt_inputs_new) is told when a file changed
 * under a tail (rotation, truncation, a rotated file finished, a file opened
 * for the first time): positions are worth saving at once then.
 */
void mt_inputs_on_switch(struct mt_inputs *in, void (*fn)(void *ctx));

/* Every position worth saving, newly allocated in *ret (free() it); returns the count. */
size_t mt_inputs_cursors(struct mt_inputs *in, struct mt_cursor **ret);

size_t mt_inputs_nfiles(const struct mt_inputs *in);
bool mt_inputs_journal(const struct mt_inputs *in);
/* The tail's counters for the file at path; NULL when no tail follows it. */
const struct mt_tail_stats *mt_inputs_file_stats(const struct mt_inputs *in, const char *path);
/* Log the counters of every input (SIGUSR1 and stop). */
void mt_inputs_log_counters(const struct mt_inputs *in);
uint64_t mt_inputs_watch_fallbacks(const struct mt_inputs *in);

#endif
