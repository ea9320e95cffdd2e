/* Fuzz the spool reader (sink/spool.c) on damaged spool files: what it loads is bounded and consistent. */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "log.h"
#include "sink/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_config_spool conf = { .max_size = 64ull << 20, .max_age = 1e9 };
	struct mt_spool_item *head, *it, *next;
	struct mt_spool *s;
	char path[160];
	size_t files = 0, loaded = 0;
	FILE *f;

	if (size > 2 * 1024 * 1024)
		return 0;
	if (dir[0] == '\0') {
		(void)snprintf(dir, sizeof(dir), "/tmp/fuzz-spool-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		log_set_level(LOG_LEVEL_ERROR);
	}
	s = mt_spool_new(dir, &conf, "fuzz");
	(void)snprintf(path, sizeof(path), "%s/spool/hook", dir);
	(void)mkdir(path, 0750);
	/* Up to 3 files, split at "\n--\n", named so they sort in input order. */
	for (size_t start = 0; start <= size && files < 3; files++) {
		const uint8_t *sep = NULL;
		size_t end = size;

		for (size_t i = start; i + 4 <= size; i++)
			if (memcmp(data + i, "\n--\n", 4) == 0) {
				sep = data + i;
				break;
			}
		if (sep != NULL && files < 2)
			end = (size_t)(sep - data);
		(void)snprintf(path, sizeof(path), "%s/spool/hook/%zu-%zu.req", dir, 1000 + files,
			       files);
		f = fopen(path, "we");
		if (f == NULL || fwrite(data + start, 1, end - start, f) != end - start ||
		    fclose(f) != 0)
			abort();
		if (end == size) {
			files++;
			break;
		}
		start = end + 4;
	}
	head = mt_spool_load(s, "hook", 2000.0);
	for (it = head; it != NULL; it = next) {
		next = it->next;
		loaded++;
		if (it->id == NULL || it->body == NULL || it->path == NULL || it->len > size ||
		    strlen(it->id) > size || it->created < 0)
			abort();
		mt_spool_done(s, it); /* removes its file */
	}
	if (loaded > files)
		abort();
	/* Files it left alone (not spool files) are removed here, for the next run. */
	for (size_t i = 0; i < 3; i++) {
		(void)snprintf(path, sizeof(path), "%s/spool/hook/%zu-%zu.req", dir, 1000 + i, i);
		(void)unlink(path);
	}
	mt_spool_free(s);
	return 0;
}
