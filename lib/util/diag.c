/* diag - file:line:col diagnostics collected by the loaders. */
#include "util/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/xalloc.h"

void
mt_diag_init(struct mt_diag *d)
{
	*d = (struct mt_diag){ 0 };
}

void
mt_diag_fini(struct mt_diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->recs[i].file);
		free(d->recs[i].msg);
	}
	free(d->recs);
	*d = (struct mt_diag){ 0 };
}

__attribute__((format(printf, 6, 0))) static void
vadd(struct mt_diag *d, enum mt_diag_level level, const char *file, unsigned line, unsigned col,
     const char *fmt, va_list ap)
{
	struct mt_diag_rec *r;
	char msg[1024];

	if (level == MT_DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (d->n >= MT_DIAG_MAX) {
		d->dropped++;
		return;
	}
	if (d->n == d->alloc) {
		d->alloc = d->alloc ? d->alloc * 2 : 16;
		d->recs = mt_xreallocarray(d->recs, d->alloc, sizeof(*d->recs));
	}
	/* Messages may quote input; vsnprintf truncates, which is what we want. */
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	r = &d->recs[d->n++];
	r->level = level;
	r->file = mt_xstrdup(file ? file : "-");
	r->line = line;
	r->col = col;
	r->msg = mt_xstrdup(msg);
}

void
mt_diag_add(struct mt_diag *d, enum mt_diag_level level, const char *file, unsigned line,
	    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(d, level, file, line, 0, fmt, ap);
	va_end(ap);
}

void
mt_diag_addc(struct mt_diag *d, enum mt_diag_level level, const char *file, unsigned line,
	     unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(d, level, file, line, col, fmt, ap);
	va_end(ap);
}

void
mt_diag_format(const struct mt_diag *d, size_t i, char *dst, size_t size)
{
	const struct mt_diag_rec *r = &d->recs[i];
	const char *lvl = r->level == MT_DIAG_ERROR ? "error" : "warning";
	int n;

	if (r->line && r->col)
		n = snprintf(dst, size, "%s:%u:%u: %s: %s", r->file, r->line, r->col, lvl, r->msg);
	else if (r->line)
		n = snprintf(dst, size, "%s:%u: %s: %s", r->file, r->line, lvl, r->msg);
	else
		n = snprintf(dst, size, "%s: %s: %s", r->file, lvl, r->msg);
	(void)n; /* truncation of a long diagnostic is acceptable */
}
