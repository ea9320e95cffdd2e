/*
 * correlate - follow each message and destination, so a line that restates
 * what is already known is attributed to its first cause instead of
 * alerting again.
 *
 * Three bounded tables, keyed with SipHash-2-4 under the caller's random
 * key (recipient domains and relay names come from remote input):
 *   - messages, by Postfix queue id or Exim message id (both formats): the
 *     first cause (signature and reply), when it started, attempts,
 *     recipients, the last outcome;
 *   - destinations, by recipient domain (or the relay host when the line
 *     names no recipient): attempts, deferred, bounced, expired, the cause
 *     of the current trouble, and a sliding window for its health;
 *   - causes, by signature and destination: the first reply seen.
 * Each evicts its least recently used entry when full, and messages not
 * seen for max_age; every eviction is counted.  A message costs
 * MT_CORRELATE_MSG_BYTES (entry and hash bucket): 1,000,000 messages take
 * under 64 MiB.  Only messages with a problem are kept: a message that was
 * delivered at once is never stored.
 *
 * mt_correlate_observe() takes every record, matched or not, in log order:
 *   - a restating line (Exim "retry time not reached", "Message is frozen",
 *     Postfix "delivery temporarily suspended", or a message failing again
 *     with the signature of its first cause) whose message or destination
 *     has a known cause gives MT_CORR_REPEAT and that cause: the alert
 *     carries it (repeat_of) and makes no new notification;
 *   - an expiry or a bounce of a message that had a cause gives
 *     MT_CORR_OUTCOME with the cause and "expired after 5 days of
 *     deferrals: ...";
 *   - a delivery to a destination in trouble resolves it; a destination
 *     whose share of failed attempts over the window passes the threshold
 *     gives a health event (once, until it recovers).
 *   - a line whose record is a session outcome ("lost connection after
 *     STARTTLS", "Server certificate not verified") gives MT_CORR_REPEAT of
 *     the cause its process logged for the same peer just before (see
 *     session.h), and that cause becomes its message's.
 * Lines whose message and destination are unknown are judged alone
 * (MT_CORR_NEW or MT_CORR_NONE).
 *
 * Time is the record's own timestamp when it has one (so `scan` of old logs
 * measures the log's time), else the caller's clock.
 *
 * Pure: no I/O, no clock, no logging.  Strings in a result are valid until
 * the next call on the same table.  One owner, any context.
 */
#ifndef MT_CORRELATE_H
#define MT_CORRELATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "match/catalog.h"
#include "parse/logline.h"
#include "util/buf.h"

#define MT_CORRELATE_ID_MAX	 23  /* bytes of a queue or message id (Exim 4.97: 23) */
#define MT_CORRELATE_NAME_MAX	 127 /* bytes of a destination name kept */
#define MT_CORRELATE_REPLY_MAX	 255 /* bytes of a cause's reply kept */
#define MT_CORRELATE_CAUSES	 4096
#define MT_CORRELATE_SUMMARY_MAX 512

struct mt_correlate;

struct mt_correlate_opts {
	size_t max_messages;	      /* 1000 .. 10,000,000 */
	size_t max_destinations;      /* 16 .. 1,000,000 */
	double max_age;		      /* seconds a message is kept after its last line */
	double health_window;	      /* seconds */
	unsigned health_threshold;    /* percent of attempts failed, 1..100 */
	unsigned health_min_attempts; /* attempts in the window before judging */
};

void mt_correlate_opts_default(struct mt_correlate_opts *o);

enum mt_corr_verdict {
	MT_CORR_NONE,	 /* nothing to attribute: alert as the line says */
	MT_CORR_NEW,	 /* a first cause, now remembered */
	MT_CORR_REPEAT,	 /* restates a known cause: no new notification */
	MT_CORR_OUTCOME, /* the end of a message after earlier failures */
};

struct mt_corr_result {
	enum mt_corr_verdict verdict;
	/* REPEAT and OUTCOME: the first cause. */
	const char *cause_id;		      /* its signature id */
	const struct mt_signature *cause_sig; /* in the catalog given; NULL if not there */
	const char *cause_reply;	      /* the reply or message that named it; may be "" */
	double cause_since;		      /* when it was first seen */
	unsigned attempts;		      /* of the message so far */
	const char *outcome;		      /* OUTCOME: "expired" or "bounced" */
	char summary
		[MT_CORRELATE_SUMMARY_MAX]; /* OUTCOME: "expired after 5 days of deferrals: ..." */
	/* A destination with a known cause accepted mail: its trouble is over. */
	const char *resolved_destination; /* NULL: none */
	const char *resolved_cause;
	/* The destination's health passed the threshold (once until it recovers). */
	const char *health_destination; /* NULL: none */
	unsigned health_percent, health_attempts;
	const char *health_cause; /* dominant cause's signature id; may be NULL */
	bool health_recovered;	  /* health_destination is back under half the threshold */
};

struct mt_correlate_stats {
	size_t messages, destinations, causes; /* entries now */
	uint64_t msg_evicted_lru, msg_evicted_age, dest_evicted, cause_evicted;
	uint64_t repeats, outcomes, resolved, health_alerts;
	uint64_t session_repeats; /* of repeats: outcome lines given their session's cause */
	size_t memory;		  /* bytes allocated for the tables now */
	size_t memory_messages;	  /* of which the message table */
	size_t memory_max;	  /* bytes they may grow to at their configured sizes */
};

struct mt_correlate *mt_correlate_new(const struct mt_correlate_opts *o, const uint8_t key[16]);
struct mt_correlate *mt_correlate_free(struct mt_correlate *c);

/* The catalog that cause ids are looked up in (results' cause_sig); NULL: none. */
void mt_correlate_set_catalog(struct mt_correlate *c, const struct mt_catalog *cat);

/* One record, parsed; sig is the matcher's winner or NULL.  now: Unix time. */
void mt_correlate_observe(struct mt_correlate *c, const struct mt_logrec *rec,
			  const struct mt_signature *sig, double now, struct mt_corr_result *ret);

const struct mt_correlate_stats *mt_correlate_stats(struct mt_correlate *c);

/* SipHash-2-4 under key, the same function as mt_group_siphash24(), in one pass. */
uint64_t mt_correlate_hash(const uint8_t key[16], const void *p, size_t len);

/* The record's timestamp as Unix time, or now when it has none that parses. */
double mt_correlate_time(const struct mt_view *t, double now);

/* --- views for `scan --summary` ------------------------------------------ */

struct mt_corr_dest {
	char name[MT_CORRELATE_NAME_MAX + 1];
	uint64_t attempts, sent, deferred, bounced, expired;
	char cause_id[MT_CORRELATE_NAME_MAX + 1]; /* the current or last cause; "": none */
	const char *cause_reply;		  /* may be "" */
	double first, last;
	bool troubled; /* a cause and no delivery since */
};

struct mt_corr_msg {
	char id[MT_CORRELATE_ID_MAX + 1];
	char destination[MT_CORRELATE_NAME_MAX + 1]; /* "" when none */
	char cause_id[MT_CORRELATE_NAME_MAX + 1];    /* "": none */
	const char *cause_reply;		     /* may be "" */
	double first, last;
	unsigned attempts, recipients;
	const char *outcome; /* "deferred", "bounced", "expired", "frozen", "delivered", ... */
};

/* Destinations with failures, most failed first; *ret is the caller's to free. */
size_t mt_correlate_destinations(struct mt_correlate *c, struct mt_corr_dest **ret);
/* Messages with a cause, oldest first; *ret is the caller's to free.  Strings: see above. */
size_t mt_correlate_messages(struct mt_correlate *c, struct mt_corr_msg **ret);

/* --- persistence ----------------------------------------------------------- */

/*
 * The tables as text (one entry a line, untrusted bytes escaped), oldest
 * first so loading restores the LRU order.  -ENOBUFS if out's cap is too
 * small.  mt_correlate_load() adds a saved text to the tables; lines it
 * does not understand are skipped and counted in *ret_skipped.  Returns
 * -EINVAL for a text that is not ours.
 */
int mt_correlate_save(struct mt_correlate *c, struct mt_buf *out);
int mt_correlate_load(struct mt_correlate *c, const char *p, size_t len, size_t *ret_skipped);

#endif
