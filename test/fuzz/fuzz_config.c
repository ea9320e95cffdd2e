/*
 * Fuzz the config loader: YAML parsing, every schema type (enums, paths,
 * globs, durations, sizes, selectors, journal matches), lists, the
 * overrides mapping and the error paths, then the queries on a result.
 */
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/diag.h"

#define FUZZ_MAX (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_config *c = NULL;
	struct mt_diag d;
	enum mt_severity sev;

	if (size > FUZZ_MAX)
		return 0;
	mt_diag_init(&d);
	if (mt_config_parse("fuzz.yaml", (const char *)data, size, "/usr/share/mtalert/signatures",
			    &d, &c) == 0) {
		(void)mt_config_signature_enabled(c, "delivery/recipient-user-unknown",
						  "recipient_error", "delivery");
		(void)mt_config_signature_enabled(c, "a/b", NULL, NULL);
		(void)mt_config_severity_override(c, "a/b", &sev);
		mt_config_free(c);
	}
	for (size_t i = 0; i < d.n; i++) {
		char line[1400];

		mt_diag_format(&d, i, line, sizeof(line));
	}
	mt_diag_fini(&d);
	return 0;
}
