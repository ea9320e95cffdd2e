/*
 * cursor - where the daemon is in each input, as a text record.
 *
 * One record per line of the state file:
 *	file <dev> <ino> <offset> <fp_len> <fp_hash> <path>
 *	journal <cursor>
 * Numbers are decimal, fp_hash is 16 hex digits, the path (or journal cursor)
 * runs to the end of the line with '\\', '\n' and '\r' escaped.  The
 * fingerprint is a hash of the file's first fp_len bytes (at most
 * MT_CURSOR_FP_MAX), so a reused inode is not mistaken for the old file.
 * A followed path may have several file records: one per file being read
 * (a rotated one being finished, oldest first, then the current one); the
 * path is the followed one, the file is told by dev, inode and fingerprint.
 *
 * The codec does no I/O; the decoder takes untrusted bytes (a damaged state
 * file) and is a fuzz target.  A record it cannot read is rejected whole.
 */
#ifndef MT_CURSOR_H
#define MT_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define MT_CURSOR_FP_MAX   1024 /* bytes hashed at the start of a file */
#define MT_CURSOR_PATH_MAX 4096

enum mt_cursor_kind {
	MT_CURSOR_FILE,
	MT_CURSOR_JOURNAL,
};

struct mt_cursor {
	enum mt_cursor_kind kind;
	uint64_t dev, ino, offset;
	uint32_t fp_len;
	uint64_t fp_hash;
	char path[MT_CURSOR_PATH_MAX]; /* file path, or journal cursor */
};

/* Append one record and its newline; -ENOBUFS past the buffer's cap. */
int mt_cursor_encode(struct mt_buf *out, const struct mt_cursor *c);
/* Decode one line (without its newline); -EINVAL if malformed. */
int mt_cursor_decode(const char *p, size_t len, struct mt_cursor *ret);

/* FNV-1a 64 of p: stable across versions, which is all a fingerprint needs. */
uint64_t mt_cursor_hash(const void *p, size_t len);

#endif
