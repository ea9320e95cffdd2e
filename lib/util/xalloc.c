/* xalloc - allocation that succeeds or does not return; mt_strlcpy; the panic hook. */
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __attribute__((noreturn)) void
default_oom(size_t size)
{
	fprintf(stderr, "mtalert: out of memory allocating %zu bytes\n", size);
	abort();
}

static void (*oom_hook)(size_t) = default_oom;

void
mt_xalloc_set_oom_hook(void (*hook)(size_t size))
{
	oom_hook = hook ? hook : default_oom;
}

static __attribute__((noreturn)) void
out_of_memory(size_t size)
{
	oom_hook(size);
	abort(); /* a hook that returns is a bug of its own */
}

void *
mt_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		out_of_memory(size);
	return p;
}

void *
mt_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

void *
mt_xreallocarray(void *p, size_t n, size_t size)
{
	void *q;

	if (size != 0 && n > SIZE_MAX / size)
		mt_panic("overflow: %zu * %zu", n, size);
	q = realloc(p, (n * size) != 0 ? n * size : 1);
	if (q == NULL)
		out_of_memory(n * size);
	return q;
}

char *
mt_xstrdup(const char *s)
{
	return mt_xstrndup(s, strlen(s));
}

char *
mt_xstrndup(const char *s, size_t len)
{
	char *p = mt_xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

size_t
mt_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

void
mt_panic_at(const char *func, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mtalert: panic in %s: ", func);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
