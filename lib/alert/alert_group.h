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

#endif
