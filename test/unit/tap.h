/*
 * tap - the smallest Test Anything Protocol emitter, for meson's
 * `protocol: 'tap'`.  Tests are table-driven and report "got X, want Y".
 *
 *	ok(cond, "name %d", i);        one assertion
 *	diag("got %s, want %s", ...);  a comment line, shown on failure
 *	return tap_done();             prints the plan, exit status 1 if any failed
 */
#ifndef MT_TAP_H
#define MT_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused)) static bool
ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 1, 2), unused)) static void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

__attribute__((unused)) static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
