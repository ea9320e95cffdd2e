/*
 * alert_group - what one notification reports: a group of occurrences of
 * one signature sharing one key (a relay, a recipient domain, a client IP).
 *
 * The grouper (group.h) produces these; the payload renderers (payload.h)
 * turn them into a chat message or an Alertmanager alert.  Everything a
 * struct mt_alert_group points to is owned by its producer and valid only
 * during the callback or call it is passed to.  Example lines and field
 * values are untrusted text from remote servers: renderers escape and
 * neutralise them.
 */
#ifndef MT_ALERT_GROUP_H
#define MT_ALERT_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/alert.h"
#include "match/catalog.h"
#include "util/buf.h"

#define MT_GROUP_EXAMPLES_MAX 5	   /* example lines carried by one notification */
#define MT_GROUP_IDS_MAX      10   /* queue ids carried by one notification */
#define MT_GROUP_TEXT_MAX     1024 /* bytes kept of one example line or value */

enum mt_group_event {
	MT_GROUP_FIRST,	   /* the first notification of a new group */
	MT_GROUP_UPDATE,   /* the storm continues: more occurrences since the last one */
	MT_GROUP_REMINDER, /* a later reminder of a long-running group */
	MT_GROUP_RESOLVED, /* quiet for resolve_after: the group is over */
	MT_GROUP_FLUSH,	   /* sent early: shutdown, or the group was evicted from a full table */
};

struct mt_group_field {
	const char *name;  /* "relay", "domain", "client_ip", ... */
	const char *value; /* untrusted */
};

struct mt_alert_group {
	enum mt_group_event event;
	const struct mt_signature *sig;
	enum mt_severity severity; /* after configured overrides */
	enum mt_locale locale;
	const char *key_name;  /* what the group is keyed by, e.g. "relay"; NULL: signature only */
	const char *key_value; /* untrusted; NULL when key_name is NULL */
	uint64_t count_total;  /* occurrences since the group started */
	uint64_t count_new;    /* occurrences since the previous notification */
	double first_seen, last_seen; /* Unix time, seconds */
	const char *const *examples;  /* raw lines (untrusted), newest last */
	size_t nexamples;
	const char *const *queue_ids; /* distinct queue or message ids seen (untrusted) */
	size_t nqueue_ids;
	/*
	 * What the group affects, beyond its line count (issue 12); 0: not
	 * counted.  messages: distinct queue or message ids in the group (all
	 * of them, not only the MT_GROUP_IDS_MAX carried); destinations:
	 * distinct recipient domains or relays; repeats: restating lines
	 * (struct mt_alert.repeat) counted into the group without a
	 * notification of their own.
	 */
	uint64_t messages, destinations, repeats;
	const struct mt_group_field *fields; /* parsed fields of the latest occurrence */
	size_t nfields;
	const char *hostname; /* the host mtalert runs on */
	const char *
		log_host; /* the host the latest line names (syslog header; untrusted); NULL: none */
	const char *file; /* the log the latest occurrence came from */
};

const char *mt_group_event_name(enum mt_group_event e); /* "first", "update", ... */

/*
 * An owned copy of one notification (issue 14: a webhook that cannot
 * deliver keeps at most one pending notification per group, see
 * sink/webhook.c).  g points into the note's own storage; g.sig is borrowed
 * from the catalog, which must outlive the note.
 */
struct mt_alert_note {
	struct mt_alert_group g;
	bool closed; /* the group ended (RESOLVED, FLUSH): nothing merges into it */
	char *key_name, *key_value, *hostname, *log_host, *file;
	char **examples, **queue_ids;
	struct mt_group_field *fields;
};

#define MT_NOTE_SIG_ID_MAX 256 /* bytes of a signature id in a saved note */

struct mt_alert_note *mt_alert_note_new(const struct mt_alert_group *g);
void mt_alert_note_free(struct mt_alert_note *n);
/* Same signature and same key (name and value): the same group. */
bool mt_alert_note_same_group(const struct mt_alert_note *a, const struct mt_alert_note *b);
/*
 * Whether newer can be merged into older: older has not ended (RESOLVED,
 * FLUSH) and newer is not a FIRST (a FIRST starts a new life of the group,
 * whose counts start again: it is sent after the older one, never merged).
 */
bool mt_alert_note_mergeable(const struct mt_alert_note *older, const struct mt_alert_note *newer);
/*
 * older := older followed by newer, as one notification: count_new is the
 * sum (what the channel has not been told yet), count_total, last_seen,
 * severity, fields and hosts are newer's, first_seen the earlier one;
 * examples and queue ids are both lists' newest (newest last, capped).  The
 * event: a FIRST stays a FIRST (the channel never saw it) unless newer is a
 * RESOLVED, which wins (one notice: resolved, with the total and every
 * unnotified occurrence); otherwise newer's.  A RESOLVED or FLUSH ends the
 * note (closed).  Only when mt_alert_note_mergeable(); false otherwise and
 * older is unchanged.
 */
bool mt_alert_note_merge(struct mt_alert_note *older, const struct mt_alert_note *newer);
/*
 * One line (no newline) that mt_alert_note_load() reads back: "note" and
 * NAME=VALUE tokens, text escaped as in the group snapshot (group.h).
 * -ENOBUFS past out's cap (out then as before).
 */
int mt_alert_note_save(const struct mt_alert_note *n, struct mt_buf *out);
/*
 * Parse such a line (untrusted: a damaged spool file).  NULL when it is
 * malformed, over a cap, or its signature is not in c.
 */
struct mt_alert_note *mt_alert_note_load(const char *p, size_t len, const struct mt_catalog *c);

#endif
