/*
 * linereader - read a log file (plain or gzip, detected by its magic bytes)
 * or stdin line by line, for `mtalertd scan`.
 *
 * Lines are returned without their newline.  A line longer than the cap
 * (MT_LINE_MAX by default) is returned cut at the cap with `truncated` set,
 * and the rest of it is skipped up to the next newline, so it never spills
 * into the lines after it.  A last line without a newline is returned too.
 * NUL and other bytes pass through untouched (the length is authoritative).
 * offset is the byte offset of the line's start in the (uncompressed)
 * stream; lineno is 1-based.  Memory is bounded by the cap plus one read
 * chunk.
 */
#ifndef MT_LINEREADER_H
#define MT_LINEREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MT_LINE_MAX (64 * 1024)

struct linereader;

struct line {
	const char *p; /* valid until the next call */
	size_t len;
	bool truncated;
	uint64_t offset, lineno;
};

/* path "-" is stdin.  Returns -errno. */
int linereader_open(const char *path, size_t cap, struct linereader **ret);
struct linereader *linereader_free(struct linereader *r);
/* 1: a line; 0: end of input; -errno: read error (-EBADMSG: corrupt gzip). */
int linereader_next(struct linereader *r, struct line *ret);
uint64_t linereader_truncated(const struct linereader *r);

#endif
