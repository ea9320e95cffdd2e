/*
 * xalloc - allocation that either succeeds or does not return.
 *
 * Every allocation in mtalert goes through these wrappers.  On failure they
 * call the OOM hook (by default: print and abort); they never return NULL.
 * mt_xreallocarray() checks n * size for overflow.  mt_panic() reports a bug
 * (a broken invariant) with the calling function's name and aborts.
 *
 * Callable from any context; the hooks are set once at startup.
 */
#ifndef MT_XALLOC_H
#define MT_XALLOC_H

#include <stddef.h>

void *mt_xmalloc(size_t size);
void *mt_xcalloc(size_t n, size_t size);
void *mt_xreallocarray(void *p, size_t n, size_t size);
char *mt_xstrdup(const char *s);
char *mt_xstrndup(const char *s, size_t len);

/* Copy at most size-1 bytes and NUL-terminate; returns strlen(src). */
size_t mt_strlcpy(char *dst, const char *src, size_t size);

/* Replace the OOM reaction (the hook must not return). */
void mt_xalloc_set_oom_hook(void (*hook)(size_t size));

__attribute__((noreturn, format(printf, 2, 3))) void mt_panic_at(const char *func, const char *fmt,
								 ...);
#define mt_panic(...) mt_panic_at(__func__, __VA_ARGS__)

#endif
