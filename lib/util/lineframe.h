/*
 * lineframe - a byte stream cut into lines, whatever the read boundaries.
 *
 * The tail feeds each read() chunk with the stream offset of its first
 * byte; every complete line is handed to the callback at once, without its
 * newline (nor a CR before it).  A line longer than the cap is delivered cut
 * at the cap, flagged `truncated`, and the rest of it is skipped up to the
 * next newline, so it never spills into the next line.  A line still
 * waiting for its newline stays pending (bounded by the cap) until more
 * bytes come or the owner ends it (flush: delivered `partial`; end_cut: the
 * rest of a cut line given up).  Feeding the same bytes in any chunks gives
 * the same lines.
 *
 * Pure: no I/O, no logging.  The owner embeds the struct (init/fini); a
 * line's bytes are valid only during the callback.
 */
#ifndef MT_LINEFRAME_H
#define MT_LINEFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct mt_frame_line {
	const char *p;
	size_t len;
	bool truncated;	 /* cut at the cap */
	bool partial;	 /* ended by flush, not by a newline */
	uint64_t offset; /* stream offset of its first byte */
};

typedef void mt_frame_fn(void *ctx, const struct mt_frame_line *l);

struct mt_lineframe {
	struct mt_buf line;  /* the pending line, capped */
	bool cutting;	     /* skipping the rest of a line already cut at the cap */
	uint64_t line_start; /* stream offset of the pending line's first byte */
	uint64_t end;	     /* stream offset after the last byte fed */
};

void mt_lineframe_init(struct mt_lineframe *f, size_t max_line);
void mt_lineframe_fini(struct mt_lineframe *f);
/* Forget what is pending; the next byte fed is at stream offset pos. */
void mt_lineframe_reset(struct mt_lineframe *f, uint64_t pos);
/* Frame bytes [p, p+n), the first at stream offset pos (the end of the last feed). */
void mt_lineframe_feed(struct mt_lineframe *f, uint64_t pos, const char *p, size_t n,
		       mt_frame_fn *fn, void *ctx);
/* Deliver the pending line as partial, if any (not while cutting); true if one was. */
bool mt_lineframe_flush(struct mt_lineframe *f, mt_frame_fn *fn, void *ctx);
/* Stop skipping the rest of a cut line: the next byte starts a line.  True if it was cutting. */
bool mt_lineframe_end_cut(struct mt_lineframe *f);
/* Something waits: a pending line or the rest of a cut one. */
bool mt_lineframe_pending(const struct mt_lineframe *f);
/* Where to resume to neither skip nor repeat a line: the pending line's start (past a cut). */
uint64_t mt_lineframe_resume(const struct mt_lineframe *f);

#endif
