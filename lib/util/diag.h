/*
 * diag - diagnostics collected by loaders, as "file:line:col: message".
 *
 * Loaders (YAML documents, the catalog, later the config) do not print and do
 * not stop at the first problem: they append every problem here, and the
 * caller decides what to show and whether to fail.  Lines and columns are
 * 1-based; 0 means "not known" and is left out of the rendering.  At most
 * MT_DIAG_MAX records are kept; the rest are counted in `dropped`.
 */
#ifndef MT_DIAG_H
#define MT_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#define MT_DIAG_MAX 1000

enum mt_diag_level {
	MT_DIAG_WARNING,
	MT_DIAG_ERROR,
};

struct mt_diag_rec {
	enum mt_diag_level level;
	char *file; /* owned */
	unsigned line, col;
	char *msg; /* owned */
};

struct mt_diag {
	struct mt_diag_rec *recs;
	size_t n, alloc;
	size_t errors, warnings; /* including dropped ones */
	size_t dropped;
};

void mt_diag_init(struct mt_diag *d);
void mt_diag_fini(struct mt_diag *d);

__attribute__((format(printf, 5, 6))) void mt_diag_add(struct mt_diag *d, enum mt_diag_level level,
						       const char *file, unsigned line,
						       const char *fmt, ...);
/* Same, with a column. */
__attribute__((format(printf, 6, 7))) void mt_diag_addc(struct mt_diag *d, enum mt_diag_level level,
							const char *file, unsigned line,
							unsigned col, const char *fmt, ...);

/* Render record i as "file:line:col: error: msg" into dst (always NUL-terminated). */
void mt_diag_format(const struct mt_diag *d, size_t i, char *dst, size_t size);

#endif
