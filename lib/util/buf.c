/* buf - the one growable byte buffer, with a mandatory cap. */
#include "util/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void
mt_buf_init(struct mt_buf *b, size_t cap)
{
	b->size = cap < 256 ? cap + 1 : 256;
	b->data = mt_xmalloc(b->size);
	b->data[0] = '\0';
	b->len = 0;
	b->cap = cap;
}

void
mt_buf_fini(struct mt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
}

void
mt_buf_reset(struct mt_buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
}

/* Make room for len more bytes plus the NUL; the caller checked the cap. */
static void
reserve(struct mt_buf *b, size_t len)
{
	size_t need = b->len + len + 1, size = b->size;

	if (need <= size)
		return;
	while (size < need)
		size = size > SIZE_MAX / 2 ? need : size * 2;
	if (size > b->cap + 1)
		size = b->cap + 1;
	b->data = mt_xreallocarray(b->data, size, 1);
	b->size = size;
}

int
mt_buf_append(struct mt_buf *b, const void *p, size_t len)
{
	if (len > b->cap - b->len)
		return -ENOBUFS;
	reserve(b, len);
	if (len)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

size_t
mt_buf_append_trunc(struct mt_buf *b, const void *p, size_t len)
{
	size_t room = b->cap - b->len;

	if (len > room)
		len = room;
	(void)mt_buf_append(b, p, len);
	return len;
}

int
mt_buf_putc(struct mt_buf *b, char c)
{
	return mt_buf_append(b, &c, 1);
}

int
mt_buf_puts(struct mt_buf *b, const char *s)
{
	return mt_buf_append(b, s, strlen(s));
}

int
mt_buf_vprintf(struct mt_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n > b->cap - b->len)
		return -ENOBUFS;
	reserve(b, (size_t)n);
	(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
mt_buf_printf(struct mt_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = mt_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
mt_buf_consume(struct mt_buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}
