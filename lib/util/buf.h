/*
 * buf - the one growable byte buffer, with a mandatory cap.
 *
 * A struct mt_buf is embedded in its owner (mt_buf_init/mt_buf_fini) and
 * never moves; its data pointer may move as it grows, so callers must not
 * keep pointers into it across appends.  Appending past the cap appends
 * nothing and returns -ENOBUFS: untrusted input can never grow a buffer
 * without bound.  The data is always NUL-terminated (the NUL is not counted
 * in len and does not count against the cap).
 */
#ifndef MT_BUF_H
#define MT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct mt_buf {
	char *data;  /* NUL-terminated, never NULL after init */
	size_t len;  /* bytes used, without the NUL */
	size_t size; /* bytes allocated */
	size_t cap;  /* largest len allowed */
};

void mt_buf_init(struct mt_buf *b, size_t cap);
void mt_buf_fini(struct mt_buf *b);
void mt_buf_reset(struct mt_buf *b);

/* Each returns 0, or -ENOBUFS (and appends nothing) past the cap. */
int mt_buf_append(struct mt_buf *b, const void *p, size_t len);
int mt_buf_putc(struct mt_buf *b, char c);
int mt_buf_puts(struct mt_buf *b, const char *s);
__attribute__((format(printf, 2, 3))) int mt_buf_printf(struct mt_buf *b, const char *fmt, ...);
__attribute__((format(printf, 2, 0))) int mt_buf_vprintf(struct mt_buf *b, const char *fmt,
							 va_list ap);

/* Append as much of p as fits under the cap; returns the bytes appended. */
size_t mt_buf_append_trunc(struct mt_buf *b, const void *p, size_t len);

/* Remove the first n bytes (n <= len). */
void mt_buf_consume(struct mt_buf *b, size_t n);

#endif
