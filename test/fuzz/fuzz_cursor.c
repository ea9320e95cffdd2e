/* Fuzz the state-file record decoder; a decoded record must re-encode and round-trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_cursor c, again;
	struct mt_buf b;

	if (size > 16 * 1024)
		return 0;
	if (mt_cursor_decode((const char *)data, size, &c) < 0)
		return 0;
	mt_buf_init(&b, 3 * MT_CURSOR_PATH_MAX);
	if (mt_cursor_encode(&b, &c) < 0)
		abort();
	if (mt_cursor_decode(b.data, b.len - 1, &again) < 0 || c.kind != again.kind ||
	    c.dev != again.dev || c.ino != again.ino || c.offset != again.offset ||
	    c.fp_len != again.fp_len || c.fp_hash != again.fp_hash ||
	    strcmp(c.path, again.path) != 0)
		abort();
	mt_buf_fini(&b);
	return 0;
}
