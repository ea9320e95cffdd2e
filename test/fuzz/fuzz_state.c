/* Fuzz the state file reader (input/state.c) on a damaged file: every record it keeps must re-encode and round-trip. */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input/state.h"
#include "log.h"
#include "util/buf.h"
#include "util/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_state *s;
	struct mt_cursor *v = NULL;
	struct mt_buf extra, b;
	char path[96];
	size_t n = 0;
	FILE *f;

	if (size > 256 * 1024)
		return 0;
	if (dir[0] == '\0') {
		(void)snprintf(dir, sizeof(dir), "/tmp/fuzz-state-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		log_set_level(LOG_LEVEL_ERROR); /* damaged records are warned about: quiet */
	}
	(void)snprintf(path, sizeof(path), "%s/state", dir);
	f = fopen(path, "we");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	s = mt_state_new(dir);
	mt_buf_init(&extra, 64 * 1024);
	if (mt_state_load(s, &v, &n, &extra) < 0)
		abort();
	if (n > MT_STATE_MAX_RECORDS || extra.len > 64 * 1024)
		abort();
	mt_buf_init(&b, 3 * MT_CURSOR_PATH_MAX + 128);
	for (size_t i = 0; i < n; i++) {
		struct mt_cursor again;

		mt_buf_reset(&b);
		if (mt_cursor_encode(&b, &v[i]) < 0 ||
		    mt_cursor_decode(b.data, b.len - 1, &again) < 0 || again.kind != v[i].kind ||
		    again.offset != v[i].offset || strcmp(again.path, v[i].path) != 0)
			abort();
	}
	/* What was read saves and reads back the same. */
	if (mt_state_save(s, v, n, extra.data, extra.len) == 0) {
		struct mt_cursor *w = NULL;
		size_t m = 0;

		if (mt_state_load(s, &w, &m, NULL) < 0 || m != n)
			abort();
		for (size_t i = 0; i < n; i++)
			if (w[i].offset != v[i].offset || w[i].ino != v[i].ino ||
			    strcmp(w[i].path, v[i].path) != 0)
				abort();
		free(w);
	}
	mt_buf_fini(&b);
	mt_buf_fini(&extra);
	free(v);
	mt_state_free(s);
	return 0;
}
