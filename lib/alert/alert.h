/*
 * alert - the alert model and its renderings (JSON Lines, text).
 *
 * An alert is one matched line: the winning signature (what is wrong, why,
 * what to do, what not to do, where it is documented), its named captures,
 * the fields the parser found, the raw line and where it was read.  The
 * struct only borrows: everything it points to belongs to the catalog, the
 * matcher's results or the caller's line, and must outlive the rendering.
 *
 * The JSON is documented in README.md ("Alert JSON").  Untrusted text (the
 * line, captures, parsed fields) is escaped (see json.h) and capped: the raw
 * line at MT_ALERT_LINE_MAX bytes, each field at MT_ALERT_FIELD_MAX.
 * Renderers do no I/O.
 */
#ifndef MT_ALERT_H
#define MT_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "match/catalog.h"
#include "match/matcher.h"
#include "parse/logline.h"
#include "util/buf.h"

#define MT_ALERT_LINE_MAX  (16 * 1024)
#define MT_ALERT_FIELD_MAX 1024
#define MT_ALERT_JSON_MAX  (256 * 1024) /* a sane cap for the buffer rendering one alert */

enum mt_locale {
	MT_LOCALE_EN,
	MT_LOCALE_ZH,
};

/*
 * A per-caller cache of the signature part of alerts (most of their bytes),
 * keyed by the signature's index in its catalog: use one per catalog, and a
 * new one after a reload.
 */
struct mt_alert_cache;

struct mt_alert_cache *mt_alert_cache_new(size_t nsigs);
struct mt_alert_cache *mt_alert_cache_free(struct mt_alert_cache *c);

struct mt_alert {
	const struct mt_match *match;  /* the winner: signature and captures */
	const struct mt_match *others; /* other signatures that matched */
	size_t nothers;
	const struct mt_logrec *rec; /* parsed fields */
	const char *line;	     /* the raw line (no newline) */
	size_t len;
	bool truncated;	  /* the reader cut the line at its cap */
	const char *file; /* where it was read; "-" for stdin */
	uint64_t offset;  /* byte offset of the line's start */
	uint64_t lineno;  /* 1-based */
	enum mt_locale locale;
	bool has_severity; /* a configured override of the signature's severity */
	enum mt_severity severity;
	const char *hostname;	      /* the host mtalert runs on; NULL: not reported */
	struct mt_alert_cache *cache; /* NULL: render everything */

	/*
	 * From the correlation stage (correlate/correlate.h); zero without it.
	 * repeat: the line restates a cause already known for its message or
	 * destination (a retry notice, a frozen notice, a suspended
	 * destination): count it into the first cause's group, notify nothing
	 * new.  cause_id names that first cause whenever repeat or outcome is
	 * set; cause_sig is its signature (NULL if the catalog lacks it).
	 */
	bool repeat;
	const char *cause_id;		      /* rendered as "repeat_of" / "outcome.cause" */
	const struct mt_signature *cause_sig; /* the grouper's key for a repeat */
	const char *cause_reply;	      /* untrusted: the reply that first named it */
	double cause_since;		      /* Unix time it was first seen; 0: unknown */
	const char *outcome;		      /* "expired", "bounced": a message's end */
	const char *outcome_text;	      /* "expired after 5 days of deferrals: ..." */
};

/* The severity the alert carries: the override, else the signature's. */
enum mt_severity mt_alert_severity(const struct mt_alert *a);

int mt_alert_json(struct mt_buf *out, const struct mt_alert *a);
int mt_alert_text(struct mt_buf *out, const struct mt_alert *a);

/* The signature's text in the locale, falling back to English. */
const char *mt_sig_title(const struct mt_signature *s, enum mt_locale l);
const char *mt_sig_root_cause(const struct mt_signature *s, enum mt_locale l);
const char *mt_workaround_action(const struct mt_workaround *w, enum mt_locale l);
int mt_locale_parse(const char *s, enum mt_locale *ret);

#endif
