/* log - the daemon's own messages: stderr, levels, cleaned untrusted text. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum log_level log_level = LOG_LEVEL_INFO;

void
log_set_level(enum log_level level)
{
	log_level = level;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_level;
}

int
log_level_parse(const char *s, enum log_level *ret)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	return -EINVAL;
}

__attribute__((format(printf, 2, 0))) static void
vlog(enum log_level level, const char *fmt, va_list ap, int err)
{
	/* sd-daemon(3) prefixes: the journal picks the priority from them. */
	static const char *const prefix[] = { "<3>", "<4>", "<6>", "<7>" };
	char msg[2048];

	if (!log_enabled(level))
		return;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err)
		(void)fprintf(stderr, "%smtalertd: %s: %s\n",
			      getenv("JOURNAL_STREAM") ? prefix[level] : "", msg, strerror(err));
	else
		(void)fprintf(stderr, "%smtalertd: %s\n",
			      getenv("JOURNAL_STREAM") ? prefix[level] : "", msg);
}

#define DEFINE_LOG(name, level, with_errno)                   \
	void name(const char *fmt, ...)                       \
	{                                                     \
		int saved = errno;                            \
		va_list ap;                                   \
		va_start(ap, fmt);                            \
		vlog(level, fmt, ap, with_errno ? saved : 0); \
		va_end(ap);                                   \
		errno = saved;                                \
	}

DEFINE_LOG(log_warn, LOG_LEVEL_WARNING, 1)
DEFINE_LOG(log_warnx, LOG_LEVEL_WARNING, 0)
DEFINE_LOG(log_info, LOG_LEVEL_INFO, 0)
DEFINE_LOG(log_debug, LOG_LEVEL_DEBUG, 0)
DEFINE_LOG(log_error, LOG_LEVEL_ERROR, 0)

void
fatalx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, fmt, ap, 0);
	va_end(ap);
	exit(code);
}
