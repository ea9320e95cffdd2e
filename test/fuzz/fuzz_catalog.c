/* Fuzz the signature loader: YAML/JSON parsing, validation, regex compile. */
#include <stddef.h>
#include <stdint.h>

#include "match/catalog.h"
#include "util/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_diag d;
	struct mt_catalog *c;

	if (size > 64 * 1024)
		return 0;
	mt_diag_init(&d);
	c = mt_catalog_load_buffer("fuzz.yaml", (const char *)data, size, &d);
	for (size_t i = 0; i < d.n; i++) {
		char line[1400];

		mt_diag_format(&d, i, line, sizeof(line));
	}
	mt_catalog_free(c);
	mt_diag_fini(&d);
	return 0;
}
