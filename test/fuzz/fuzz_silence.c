/*
 * Fuzz the silences file: parsing (JSON or YAML through ydoc, every field's
 * checks), the round trip through the renderer, and matching an alert.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alert/silence.h"
#include "parse/logline.h"
#include "util/diag.h"

#define FUZZ_MAX (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char LINE[] =
	"Nov 23 06:00:03 mx1 postfix/smtp[2110]: 4F2A31C0A1: to=<bob@example.net>, "
	"relay=mx.example.net[203.0.113.25]:25, dsn=4.7.0, status=deferred (host "
	"mx.example.net[203.0.113.25] said: 421 4.7.0 Service not available)";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_signature sig = { .id = (char *)"communication/smtp-421",
				    .category = (char *)"network_error" };
	struct mt_match m = { .sig = &sig };
	struct mt_logrec rec;
	struct mt_alert a = { .match = &m, .rec = &rec, .line = LINE, .len = sizeof(LINE) - 1 };
	struct mt_silences s, back;
	struct mt_diag d;
	struct mt_buf b;

	if (size > FUZZ_MAX)
		return 0;
	mt_logline_parse(LINE, sizeof(LINE) - 1, &rec);
	mt_silences_init(&s);
	mt_silences_init(&back);
	mt_diag_init(&d);
	if (mt_silences_parse("fuzz.json", (const char *)data, size, &d, &s) == 0) {
		(void)mt_silences_match(&s, &a, 1e9);
		mt_buf_init(&b, MT_SILENCE_FILE_MAX);
		/* What was accepted renders and parses back to as many silences. */
		if (mt_silences_render(&b, &s) == 0 &&
		    (mt_silences_parse("back.json", b.data, b.len, &d, &back) != 0 ||
		     back.n != s.n))
			__builtin_trap();
		mt_buf_fini(&b);
		(void)mt_silences_prune(&s, 1e9, 3600);
	}
	mt_diag_fini(&d);
	mt_silences_fini(&s);
	mt_silences_fini(&back);
	return 0;
}
