/*
 * silence - what keeps an alert out of the sinks for a while: silences an
 * admin adds by hand (`mtalertd silence add`, like Alertmanager's) and
 * weekly maintenance windows from the configuration.
 *
 * A silence selects alerts by signature id, by category, or by one parsed
 * field of the line (`--match KEY=VALUE`, the value a case-insensitive
 * fnmatch(3) glob: `recipient_domain=*.example.com`), and holds from
 * starts to ends (Unix seconds).  A silenced alert still counts in status
 * and metrics; only the sinks skip it.  The set is kept as JSON in the state
 * directory; this module parses and renders it, the caller does the I/O.
 *
 * A maintenance window is a weekly time range: the days it starts on and a
 * start and end minute of local time; an end at or before the start runs
 * into the next day.
 *
 * Limits: at most MT_SILENCE_MAX silences; ids, keys, values and comments
 * are capped (see below) and must be printable.  Pure: no I/O, no clock
 * (the caller passes now), any thread.
 */
#ifndef MT_SILENCE_H
#define MT_SILENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "alert/alert.h"
#include "util/buf.h"
#include "util/diag.h"

#define MT_SILENCE_MAX	       256
#define MT_SILENCE_ID_MAX      32  /* hex digits */
#define MT_SILENCE_KEY_MAX     32  /* a field name */
#define MT_SILENCE_VALUE_MAX   256 /* an id, a category or a glob */
#define MT_SILENCE_COMMENT_MAX 256
#define MT_SILENCE_BY_MAX      64
#define MT_SILENCE_FILE_MAX    (256 * 1024) /* the rendered set, at most */

enum mt_silence_kind {
	MT_SILENCE_SIGNATURE, /* value: a signature id */
	MT_SILENCE_CATEGORY,  /* value: a category */
	MT_SILENCE_MATCH,     /* key: a field name, value: a glob */
};

struct mt_silence {
	char id[MT_SILENCE_ID_MAX + 1];
	enum mt_silence_kind kind;
	char key[MT_SILENCE_KEY_MAX + 1];
	char value[MT_SILENCE_VALUE_MAX + 1];
	double starts, ends; /* Unix seconds */
	char comment[MT_SILENCE_COMMENT_MAX + 1];
	char created_by[MT_SILENCE_BY_MAX + 1];
};

/* Embedded storage: mt_silences_init() and mt_silences_fini(). */
struct mt_silences {
	struct mt_silence *v;
	size_t n;
};

void mt_silences_init(struct mt_silences *s);
void mt_silences_fini(struct mt_silences *s);

/*
 * Parse the file's text (name for diagnostics).  On error: -EINVAL with the
 * reasons in d, *ret untouched.  On success *ret (initialised by the caller)
 * is replaced.
 */
int mt_silences_parse(const char *name, const char *p, size_t len, struct mt_diag *d,
		      struct mt_silences *ret);
/* The set as JSON, newline-terminated; -ENOBUFS past the buffer's cap. */
int mt_silences_render(struct mt_buf *out, const struct mt_silences *s);

/*
 * Check a silence (the same rules as parsing): 0, or -EINVAL with a reason
 * in why (at most why_size bytes).
 */
int mt_silence_check(const struct mt_silence *sl, char *why, size_t why_size);
/* Add a checked copy: -EINVAL (bad), -EEXIST (same id), -ENOSPC (full). */
int mt_silences_add(struct mt_silences *s, const struct mt_silence *sl);
/* End a silence now: -ENOENT when no silence has the id. */
int mt_silences_expire(struct mt_silences *s, const char *id, double now);
/* Forget silences that ended more than keep seconds before now; returns how many. */
size_t mt_silences_prune(struct mt_silences *s, double now, double keep);

bool mt_silence_active(const struct mt_silence *sl, double now);
/* The first active silence that takes the alert, or NULL. */
const struct mt_silence *mt_silences_match(const struct mt_silences *s, const struct mt_alert *a,
					   double now);
/* Whether KEY names something --match can test (a parsed field or recipient_domain). */
bool mt_silence_key_valid(const char *key);
const char *mt_silence_kind_name(enum mt_silence_kind k);

/* --- maintenance windows ------------------------------------------------- */

struct mt_window {
	unsigned days; /* bit (1 << tm_wday) for each day a window starts on; 0 is Sunday */
	int start;     /* minutes after local midnight, 0..1439 */
	int end;       /* the same; <= start: the window ends the next day */
};

/* "HH:MM" (00:00 to 23:59) into minutes: -EINVAL otherwise. */
int mt_window_parse_time(const char *s, int *ret_minutes);
/* "mon" .. "sun", or the full English name, any case: the tm_wday, or -EINVAL. */
int mt_window_parse_day(const char *s);
/* Whether local time (wday 0..6, minute 0..1439) falls in the window. */
bool mt_window_active(const struct mt_window *w, int wday, int minute);

#endif
