/*
 * fuzz_logline - mt_logline_parse() on arbitrary bytes.  It must not read
 * outside (data, size); every field it returns must lie inside, the enums
 * must be in range and have names, and the message must end where the line
 * does.  Input is capped at 32 KiB like the other targets: longer lines only
 * repeat what shorter ones exercise.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/logline.h"

#define FUZZ_MAX (32 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_logrec r;
	uintptr_t lo, v;
	size_t end;
	char *line;
	int f;

	if (size > FUZZ_MAX)
		return 0;
	/* an exact-size copy, so a replay by standalone.c (whose buffer is larger) still
	 * lets AddressSanitizer see a read past the end */
	line = malloc(size != 0 ? size : 1);
	if (line == NULL)
		return 0;
	if (size != 0)
		memcpy(line, data, size);
	mt_logline_parse(line, size, &r);

	if ((unsigned)r.mta >= MT_MTA__COUNT || (unsigned)r.fmt >= MT_FMT__COUNT ||
	    mt_mta_name(r.mta) == NULL || mt_logfmt_name(r.fmt) == NULL)
		abort();
	lo = (uintptr_t)line;
	for (f = 0; f < MT_F__COUNT; f++) {
		if (r.f[f].len == 0)
			continue;
		v = (uintptr_t)r.f[f].p;
		if (r.f[f].p == NULL || v < lo || r.f[f].len > size || v - lo > size - r.f[f].len)
			abort();
	}
	/* the message always runs to the end of the line (less its CR/LF), and
	 * without a header it is the whole line */
	end = size;
	while (end > 0 && (line[end - 1] == '\n' || line[end - 1] == '\r'))
		end--;
	if (r.f[MT_F_MESSAGE].len != 0 &&
	    (uintptr_t)r.f[MT_F_MESSAGE].p - lo + r.f[MT_F_MESSAGE].len != end)
		abort();
	if (r.fmt == MT_FMT_NONE && r.f[MT_F_MESSAGE].len != end)
		abort();
	free(line);
	return 0;
}
