/*
 * util - tiny helpers shared by the daemon's modules.
 */
#ifndef MT_UTIL_H
#define MT_UTIL_H

#include <stddef.h>

/*
 * The object a libev watcher is embedded in (ev.pod, "associating custom
 * data with a watcher").  Through void * because the member's alignment
 * already guarantees the container's.
 */
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* "s" unless n is one: "1 error", "2 errors". */
static inline const char *
plural(unsigned long long n)
{
	return n == 1 ? "" : "s";
}

#endif
