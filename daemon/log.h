/*
 * log - the daemon's own diagnostics, to stderr (the journal under systemd).
 *
 * Levels: error, warning, info, debug; messages below the level are not
 * formatted.  Untrusted text must be cleaned before it is passed in (see
 * mt_text_clean) and never used as a format string.  The level is the one
 * global besides the event loop.
 */
#ifndef MT_LOG_H
#define MT_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void log_set_level(enum log_level level);
int log_level_parse(const char *s, enum log_level *ret);
bool log_enabled(enum log_level level);

/* log_warn appends ": strerror(errno)"; log_warnx does not. */
__attribute__((format(printf, 1, 2))) void log_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_warnx(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_debug(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_error(const char *fmt, ...);
/* Startup failures only: log and exit with the sysexits code. */
__attribute__((format(printf, 2, 3), noreturn)) void fatalx(int code, const char *fmt, ...);

#endif
