/*
 * state - the daemon's position in every input, in <state_directory>/state.
 *
 * Saved whole each time (a temp file in the same directory, fsync, rename,
 * fsync of the directory), so a crash at any moment leaves either the old or
 * the new state, never a mix.  A damaged record is skipped with a warning;
 * the others still count.  A failed save (a full disk, a read-only
 * directory) returns -errno and leaves the previous file in place; the
 * caller logs it and tries again at the next checkpoint.
 */
#ifndef MT_STATE_H
#define MT_STATE_H

#include <stddef.h>

#include "util/buf.h"
#include "util/cursor.h"

#define MT_STATE_MAX_RECORDS 4096

struct mt_state;

struct mt_state *mt_state_new(const char *directory);
struct mt_state *mt_state_free(struct mt_state *s);
/*
 * Read the saved cursors; *ret is allocated (free it).  -ENOENT: no state
 * yet.  Lines of other modules ("group ...": the grouper's snapshot) are
 * appended to extra (if not NULL) for their owner to read.
 */
int mt_state_load(struct mt_state *s, struct mt_cursor **ret, size_t *ret_n, struct mt_buf *extra);
/* Save cursors and, in the same atomic write, extra lines (may be NULL). */
int mt_state_save(struct mt_state *s, const struct mt_cursor *c, size_t n, const char *extra,
		  size_t extra_len);
const char *mt_state_path(const struct mt_state *s);

#endif
