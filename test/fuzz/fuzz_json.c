/* Fuzz JSON escaping and text cleaning: output must be printable, bounded. */
#include <stdint.h>
#include <stdlib.h>

#include "util/buf.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_buf b;

	if (size > 32 * 1024)
		return 0;
	mt_buf_init(&b, size * 6 + 2);
	if (mt_json_str(&b, (const char *)data, size) < 0)
		abort(); /* 6 bytes per input byte always suffice */
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];

		if (c < 0x20 || c == 0x7f)
			abort();
	}
	/* Re-validate the UTF-8 of the output as a whole. */
	for (size_t i = 0; i < b.len;) {
		size_t n = mt_utf8_seq((const unsigned char *)b.data + i, b.len - i);

		if (n == 0)
			abort();
		i += n;
	}
	mt_buf_fini(&b);

	mt_buf_init(&b, 4096);
	if (mt_text_clean(&b, (const char *)data, size, 1000) < 0 || b.len > 1000)
		abort();
	mt_buf_fini(&b);
	return 0;
}
