/*
 * tail - follow one log file by path, across every way logs get rotated.
 *
 * A struct mt_tail follows a path, not a file: it reads the file now at the
 * path from its position to its end, frames lines (a line longer than the
 * cap is cut at the cap, flagged, and the rest of it skipped, so it never
 * spills into the next line: util/lineframe), and calls on_line for each.  It does not
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
 *    position or first bytes that changed (checked before every read, so a
 *    truncated file that grew past our position is caught too): the rest is
 *    read from logrotate's copy (a sibling with our first bytes, at least as
 *    long as our position, or a .gz whose decompressed start they are),
 *    then copies made after it (a second copytruncate while we were
 *    behind), then the file from 0.  Until the truncated file has first
 *    bytes of its own to recognise it by, each read and each checkpoint
 *    first looks for copies made since (a whole generation copied and
 *    truncated before we read a byte of it).  What the writer wrote between
 *    logrotate's copy and its truncate is lost to every reader
 *    (copytruncate's documented race); a copy that is gone (`rotate 1`
 *    after two copytruncates while starved) is the physical limit: counted
 *    in `lost` and logged, never silent.
 *  - the path missing: the open file is drained; the tail waits for the
 *    path to appear again.  A file whose link count fell to 0 (deleted, its
 *    directory too) is drained and then closed like a rotated one.
 *  - a rotated file rewritten in place while drained (its first bytes
 *    changed, or it shrank) is closed, not read again.
 * A partial line waits for its newline; rotation or partial_timeout
 * completes it.
 *
 * The positions that can be saved (mt_tail_cursors) are one per open file,
 * the rotated one being finished and the current one, each the end of the
 * last line handed to on_line, so a restart from them neither skips nor
 * repeats a line.  on_switch is called whenever the set of open files
 * changes (rotation, truncation, a file finished, a file opened), so the
 * caller can save at once rather than at its next checkpoint.
 *
 * Restart: every saved position of the path is looked for, by inode (the
 * file now at the path, or a rotated sibling in the same directory) with the
 * same first bytes, else as a copy (copytruncate while stopped) or as a
 * gzip file whose decompressed start they are (logrotate's compress).  The
 * files found are finished from their positions, oldest first, then every
 * rotated sibling (`<name>.N`, `<name>-DATE`, `.gz` ones too) modified
 * after the oldest of them or after the checkpoint (rotations while
 * stopped), from 0, then the current file.  A .gz is read through zlib
 * (bounded buffers), its position in the decompressed stream, skipped to
 * by decompressing; one still being written (its source is still there)
 * is left for its source.  Siblings compressed otherwise (.bz2, .xz, .zst,
 * ...) cannot be read: they are counted in `lost` and logged.  Directory
 * listings are repeated while logrotate renames under them.  Permission
 * and I/O errors are logged once per episode and retried on the next poll;
 * the tail never gives up on its path.
 */
#ifndef MT_TAIL_H
#define MT_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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
typedef void mt_tail_switch_fn(void *ctx, struct mt_tail *t);

struct mt_tail_params {
	size_t max_line;	      /* cap of one line */
	size_t read_chunk;	      /* bytes per poll */
	double partial_timeout;	      /* seconds */
	double rotate_wait;	      /* seconds an old file is kept and drained after rotation */
	bool start_at_end;	      /* where to start a file seen for the first time at startup */
	mt_tail_switch_fn *on_switch; /* may be NULL; called with the tail's ctx */
	struct timespec saved_at;     /* when the cursors were saved (0: unknown) */
};

struct mt_tail_stats {
	uint64_t lines, bytes, cut, partial, rotations, truncations, open_errors, read_errors;
	uint64_t lost;	    /* files (or rests of files) no reader could have: see above */
	uint64_t recovered; /* rotated files finished after a restart or a starved rotation */
};

/*
 * Follow path.  cursors (n of them, copied) are where a previous run
 * stopped in this path's files: each is trusted only if its file is found
 * with the same start (see Restart above); with none found the tail starts
 * at the end or the beginning per params.  at_startup says whether the file
 * existed when the daemon started (files that appear later are read from 0).
 */
struct mt_tail *mt_tail_new(struct ev_loop *loop, const char *path,
			    const struct mt_tail_params *params, const struct mt_cursor *cursors,
			    size_t ncursors, bool at_startup, mt_tail_line_fn *on_line, void *ctx);
struct mt_tail *mt_tail_free(struct mt_tail *t);

/* Read what is new, handle rotation.  Call on any change in the file's directory. */
void mt_tail_poll(struct mt_tail *t);
/* Deliver a waiting partial line now (shutdown). */
void mt_tail_flush_partial(struct mt_tail *t);
#define MT_TAIL_MAX_CURSORS 2
/* Where to resume after a restart: up to MT_TAIL_MAX_CURSORS records, oldest file first. */
size_t mt_tail_cursors(struct mt_tail *t, struct mt_cursor *ret);

const char *mt_tail_path(const struct mt_tail *t);
const struct mt_tail_stats *mt_tail_stats(const struct mt_tail *t);
/* Inode of the file being read now (0: none), to know when to watch a new one. */
uint64_t mt_tail_ino(const struct mt_tail *t);
/* True when a poll left data unread (the idle watcher will continue). */
bool mt_tail_busy(const struct mt_tail *t);

#endif
