/*
 * tail - follow one log file by path, across every way logs get rotated.
 *
 * A struct mt_tail follows a path, not a file: it reads the file now at the
 * path from its position to its end, frames lines (a line longer than the
 * cap is cut at the cap, flagged, and the rest of it skipped, so it never
 * spills into the next line), and calls on_line for each.  It does not
 * watch anything itself: tail_watch calls mt_tail_poll() when the
 * directory changed, and the daemon calls it on start and on a fallback
 * timer.  A poll reads at most read_chunk bytes and asks to be called again
 * (an ev_idle) when more is waiting, so a busy file cannot starve the loop.
 *
 * Rotation, as a poll sees it:
 *  - rename + create (logrotate default, `postfix logrotate`), a file
 *    replaced by another of the same name, delete + recreate: the path now
 *    names another inode.  The old file is read to its end first, then kept
 *    open rotate_wait seconds more and drained again (writers that still
 *    hold it, until they are told to reopen), while the new file is read
 *    from its start.
 *  - copytruncate, or a file that shrinks: same inode, size below our
 *    position: restart at 0 (what the writer wrote between logrotate's copy
 *    and its truncate is lost to every reader; that is copytruncate's
 *    documented race).
 *  - the path missing: the open file is drained; the tail waits for the
 *    path to appear again.
 * A partial line waits for its newline; rotation or partial_timeout
 * completes it.
 *
 * The position that can be saved (mt_tail_cursor) is the end of the last
 * line handed to on_line, so a restart from it neither skips nor repeats a
 * line.  Permission and I/O errors are logged once per episode and retried
 * on the next poll; the tail never gives up on its path.
 */
#ifndef MT_TAIL_H
#define MT_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "util/cursor.h"

struct mt_tail;

struct mt_tail_line {
	const char *p; /* valid during the call */
	size_t len;
	bool truncated;	 /* cut at max_line */
	bool partial;	 /* completed by timeout or rotation, not by a newline */
	uint64_t offset; /* of its first byte in its file */
	const char *path;
};

typedef void mt_tail_line_fn(void *ctx, struct mt_tail *t, const struct mt_tail_line *l);

struct mt_tail_params {
	size_t max_line;	/* cap of one line */
	size_t read_chunk;	/* bytes per poll */
	double partial_timeout; /* seconds */
	double rotate_wait;	/* seconds an old file is kept and drained after rotation */
	bool start_at_end;	/* where to start a file seen for the first time at startup */
};

struct mt_tail_stats {
	uint64_t lines, bytes, cut, partial, rotations, truncations, open_errors, read_errors;
};

/*
 * Follow path.  cursor, if not NULL, is where a previous run stopped: it is
 * trusted only if the file at path (or a rotated file in the same directory,
 * found by inode) still has the same start; otherwise the tail starts at the
 * end or the beginning per params.  at_startup says whether the file existed
 * when the daemon started (files that appear later are read from 0).
 */
struct mt_tail *mt_tail_new(struct ev_loop *loop, const char *path,
			    const struct mt_tail_params *params, const struct mt_cursor *cursor,
			    bool at_startup, mt_tail_line_fn *on_line, void *ctx);
struct mt_tail *mt_tail_free(struct mt_tail *t);

/* Read what is new, handle rotation.  Call on any change in the file's directory. */
void mt_tail_poll(struct mt_tail *t);
/* Deliver a waiting partial line now (shutdown). */
void mt_tail_flush_partial(struct mt_tail *t);
/* Where to resume after a restart; false while the tail has no file open. */
bool mt_tail_cursor(struct mt_tail *t, struct mt_cursor *ret);

const char *mt_tail_path(const struct mt_tail *t);
const struct mt_tail_stats *mt_tail_stats(const struct mt_tail *t);
/* Inode of the file being read now (0: none), to know when to watch a new one. */
uint64_t mt_tail_ino(const struct mt_tail *t);
/* True when a poll left data unread (the idle watcher will continue). */
bool mt_tail_busy(const struct mt_tail *t);

#endif
