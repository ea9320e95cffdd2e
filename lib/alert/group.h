/*
 * group - turn a storm of alerts into a few notifications (grouping and
 * throttling).
 *
 * Occurrences (matched lines, struct mt_alert) are grouped by signature id
 * plus an optional key (a relay, a recipient domain, a client IP); each group
 * produces a small number of notifications (struct mt_alert_group, see
 * alert_group.h) through the caller's emit callback, on the schedule of
 * Prometheus Alertmanager:
 *
 *   FIRST     group_wait after the group started (its first occurrence, or
 *             the one that reached min_count), so a burst is batched into one,
 *             or earlier with the open burst (below);
 *   UPDATE    group_interval after the FIRST, if new occurrences arrived;
 *   REMINDER  every repeat_interval after that, while occurrences keep
 *             arriving;
 *   RESOLVED  resolve_after seconds after the last occurrence; then the group
 *             is forgotten and a later occurrence starts a new group;
 *   FLUSH     sent early, with what the group has: on eviction from a full
 *             table and at shutdown (mt_grouper_flush).
 *
 * Exact rules:
 *
 * - Batches.  The notifications of one call (a tick, a flush, a catalog
 *   reload, an offer that evicts) are emitted together, in one call of the
 *   emit callback, in the order they were decided (deadline order, ties to
 *   the older group), at most MT_GROUP_BATCH_MAX at a time: the receiver
 *   can make one digest message of what is due at one moment.
 * - Bursts.  A group's FIRST waits group_wait from its start, unless a
 *   FIRST of another group is already scheduled within that time (the open
 *   burst): then it is due with it, so different errors that start within
 *   group_wait of each other go out in the same tick, in one batch, as
 *   Alertmanager sends the alerts of an aggregation group together.  The
 *   same holds for an idle group woken up (below): its check joins the open
 *   burst if there is one within group_wait.  A burst stays open while a
 *   group waits for its FIRST at its time; the time only gets earlier for a
 *   joining group, never later, so no group waits more than group_wait.
 * - Schedule.  A notification is due at a time (its "check").  At the check
 *   a notification is emitted if the group has occurrences not yet notified
 *   (count_new > 0); the FIRST always has.  After a notification sent at t,
 *   the next check is t + group_interval after the FIRST and t +
 *   repeat_interval after any later one.  A check that finds nothing new
 *   leaves the group idle: the next occurrence schedules a check at its time
 *   + group_wait, or with the open burst (a group that wakes up again is
 *   batched like a new burst),
 *   and that notification is an UPDATE if it is the group's second, else a
 *   REMINDER.
 * - Resolution (resolve_after > 0).  A group resolves at last_seen +
 *   resolve_after, but never before its FIRST was sent: if both are due in
 *   the same tick the FIRST goes first.  If occurrences are still
 *   unnotified when the group resolves (repeat_interval > resolve_after
 *   makes this common), they are carried by the RESOLVED notice itself:
 *   its count_new is the unnotified count (0 if all were notified) and its
 *   examples and queue ids are theirs.  One notice, not UPDATE + RESOLVED.
 * - resolve_after == 0: no RESOLVED notices.  A group is forgotten silently
 *   at the first check that finds nothing new (group_interval after the
 *   FIRST, or repeat_interval after a later notification); every occurrence
 *   it had was notified.
 * - Counts.  count_new: occurrences since the group's previous notification
 *   (for the FIRST: all of them); count_total: occurrences since the group
 *   started.  Invariant: over the life of a group the count_new of its
 *   notifications add up to the occurrences it accepted, so after
 *   mt_grouper_flush(), stats.offered == the sum of every count_new emitted
 *   + stats.below_min_count + stats.repeats.
 * - Repeats (issue 12).  An occurrence with a->repeat and a->cause_sig
 *   restates a cause already known (correlate/correlate.h).  It is folded
 *   into the started group of that cause: the one with the same key, else
 *   the most recently active group of the cause whose first destination is
 *   the line's, else the most recently active group of the cause.  A folded
 *   repeat adds to the group's repeats (and its messages and destinations)
 *   and moves last_seen (the cause is still there: no RESOLVED while it is
 *   restated), but is not an occurrence to notify: count_new, count_total
 *   and the schedule do not change, so it makes no notification of its own;
 *   the group's next one shows it.  Counted in stats.repeats.  With no such
 *   group (the daemon started late, the group was forgotten, or is still
 *   pending under min_count) the repeat is an ordinary occurrence of its
 *   own signature.
 * - Affected (issue 12).  Every notification carries the group's distinct
 *   messages (queue ids) and destinations (the recipient's domain, else the
 *   relay host, lower-cased) since it started, repeats included: estimates
 *   by linear counting over 2048-bit bitmaps, exact in practice below about
 *   50, within a few percent up to a few thousand, at most about 15,600.
 * - Resolution by destination: see mt_grouper_resolve(); it emits at
 *   once, like a tick.
 * - min_count / window (fail2ban's maxretry / findtime).  With min_count > 1
 *   a new group is pending: it starts (and its FIRST is scheduled at that
 *   time + group_wait) only when min_count of its occurrences fall within
 *   window seconds of each other (an occurrence at t counts until t +
 *   window, exclusive).  The occurrences of the starting set are counted in
 *   the group (count_total starts at min_count, first_seen is the oldest of
 *   them).  Occurrences that expire before that, or whose pending group is
 *   evicted or flushed, are never notified: that is min_count's purpose;
 *   they are counted in stats.below_min_count.  A pending group with no
 *   occurrence left in its window is forgotten (at last_seen + window).
 *   Once started, min_count plays no further part in the group's life.
 * - Eviction.  The table holds at most max_groups groups; a new group in a
 *   full table evicts the least recently active one (the one whose latest
 *   occurrence is oldest).  If that group has unnotified occurrences they
 *   are emitted at once as a FLUSH; if all were notified it is dropped
 *   without a notice (nothing is lost; there is no RESOLVED for it).
 * - mt_grouper_flush() emits a FLUSH for every group with unnotified
 *   occurrences and then forgets every group: the grouper is empty after
 *   it, ready for reuse.
 * - Times are whatever the caller passes (Unix seconds as double; the daemon
 *   passes ev_now()); nothing here reads a clock.  A time earlier than
 *   earlier ones (a clock step) breaks nothing: deadlines already passed
 *   fire at the next tick.
 *
 * Notification content: the signature, severity (mt_alert_severity()),
 * locale, hostname, the host its line names (the syslog header's, cut at
 * MT_GROUP_FIELD_MAX) and file of the latest occurrence; first_seen and
 * last_seen; up to MT_GROUP_EXAMPLES_MAX raw lines (the newest since the
 * previous notification, newest last, each cut at MT_GROUP_TEXT_MAX bytes on
 * a UTF-8 boundary); up to MT_GROUP_IDS_MAX distinct queue ids since the
 * previous notification (the newest ones; each cut at MT_GROUP_ID_MAX); the
 * non-empty parsed fields (program, sender, recipient, relay_host, relay_ip,
 * client_host, client_ip, dsn, status, reply) and then the signature's named
 * captures of the latest occurrence, up to MT_GROUP_FIELDS_MAX pairs, values
 * cut at MT_GROUP_FIELD_MAX.  The key value is cut at MT_GROUP_TEXT_MAX
 * before it is hashed and compared, so two values that differ only beyond
 * that share a group.  All of it is copied: the alert's pointers need only
 * be valid during mt_grouper_offer().  Memory per group is bounded (about
 * 16 KB at most, 512 bytes of bitmaps, plus min_count doubles while pending): max_groups 10,000
 * is at most about 160 MB with hostile 1 KB fields, typically far less.
 *
 * The table is a hash table keyed by (signature id, key name, key value)
 * with SipHash-2-4 under the caller's random 16-byte key, because key values
 * come from remote servers (hash flooding); it grows with the number of
 * groups.  Deadlines are kept in a binary heap: offer, tick and
 * next_deadline cost O(log n) or less; eviction is O(1) (LRU list).
 *
 * The signatures a group points to must stay valid while the group lives:
 * before freeing a catalog the daemon calls mt_grouper_set_catalog() with
 * the new one (or mt_grouper_flush()).
 *
 * Not thread-safe; one grouper per event loop.  The emit callback must not
 * call back into the same grouper (that is a bug and panics); the structs it
 * receives, and everything they point to, are valid only during the callback.
 */
#ifndef MT_GROUP_H
#define MT_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "alert/alert.h"
#include "alert/alert_group.h"
#include "match/catalog.h"
#include "util/buf.h"

#define MT_GROUP_FIELDS_MAX	24	   /* name/value pairs carried by one notification */
#define MT_GROUP_FIELD_MAX	256	   /* bytes kept of one field value */
#define MT_GROUP_ID_MAX		64	   /* bytes kept of one queue id */
#define MT_GROUP_NAME_MAX	63	   /* bytes kept of a key name or a capture name */
#define MT_GROUP_MIN_COUNT_MAX	1000	   /* largest min_count */
#define MT_GROUP_MAX_GROUPS_MAX (1u << 24) /* largest max_groups */
#define MT_GROUP_BATCH_MAX	64	   /* notifications passed to one emit call */

struct mt_group_params {
	double group_wait;	/* delay of a new group's FIRST, batching the first burst */
	double group_interval;	/* delay of the second notification (UPDATE) after the FIRST */
	double repeat_interval; /* delay between later notifications (REMINDER) */
	double resolve_after;	/* quiet period before RESOLVED; 0: none, see above */
	uint32_t min_count;	/* occurrences needed within window to start a group */
	double window;		/* seconds, for min_count */
	size_t max_groups;	/* table bound; LRU eviction beyond */
};

/* Defaults: 10 s, 5 min, 1 h, 15 min, 1, 60 s, 10,000. */
void mt_group_params_default(struct mt_group_params *ret);
/*
 * 0 if p is usable, else -EINVAL with a static reason in *ret_why: times
 * finite and >= 0, min_count 1..MT_GROUP_MIN_COUNT_MAX, window > 0 when
 * min_count > 1, max_groups 1..MT_GROUP_MAX_GROUPS_MAX.  The config loader
 * checks with it; mt_grouper_new() panics on bad params (a bug).
 */
int mt_group_params_check(const struct mt_group_params *p, const char **ret_why);

/* n (1..MT_GROUP_BATCH_MAX) notifications decided at one moment, gs[0..n). */
typedef void mt_group_emit_fn(void *ctx, const struct mt_alert_group *gs, size_t n);

struct mt_grouper;

struct mt_grouper_stats {
	uint64_t offered;	  /* occurrences passed to mt_grouper_offer() */
	uint64_t groups;	  /* groups held now (pending ones included) */
	uint64_t notifications;	  /* emitted, of every event type */
	uint64_t evicted;	  /* groups evicted from a full table */
	uint64_t below_min_count; /* occurrences never notified: min_count not reached */
	uint64_t repeats;	  /* occurrences folded into their cause's group */
	uint64_t resolved;	  /* groups resolved by mt_grouper_resolve() */
};

/* Copies p and hash_key; emit(ctx, ...) receives every notification. */
struct mt_grouper *mt_grouper_new(const struct mt_group_params *p, const uint8_t hash_key[16],
				  mt_group_emit_fn *emit, void *ctx);
/* Frees the groups without emitting anything (call mt_grouper_flush() first). */
struct mt_grouper *mt_grouper_free(struct mt_grouper *g);

/*
 * One occurrence, at now.  key_name/key_value: what to group by besides the
 * signature (e.g. "relay" and the relay host); key_name NULL groups by
 * signature only (key_value is then ignored); a NULL key_value with a
 * key_name counts as "".  key_value is untrusted and is cut at
 * MT_GROUP_TEXT_MAX, key_name at MT_GROUP_NAME_MAX.  Copies what it needs
 * from a (a->match->sig must outlive the group, see above).  May emit a
 * FLUSH (eviction).
 */
void mt_grouper_offer(struct mt_grouper *g, const struct mt_alert *a, const char *key_name,
		      const char *key_value, double now);

/*
 * A destination accepts mail again (or, with sig_id, a condition about it is
 * over): every started group keyed by that destination (its key value,
 * ASCII case-insensitive) or whose only destination it is, and of signature
 * sig_id unless NULL, is resolved at once: a RESOLVED carrying what was not
 * notified yet (preceded by its FIRST if that was not sent), and the group
 * is forgotten.  Pending groups (min_count) are left alone.  destination is
 * untrusted and cut at MT_GROUP_TEXT_MAX.  Returns the groups resolved.
 */
size_t mt_grouper_resolve(struct mt_grouper *g, const char *sig_id, const char *destination,
			  double now);

/* Emit every notification due at now (FIRST, UPDATE, REMINDER, RESOLVED). */
void mt_grouper_tick(struct mt_grouper *g, double now);

/*
 * When mt_grouper_tick() should next be called (absolute time; possibly in
 * the past, then call it at once), or a negative number if nothing is
 * pending: nothing needs to wake up while nothing is pending.  Exact: a tick
 * before it emits nothing and changes nothing.
 */
double mt_grouper_next_deadline(const struct mt_grouper *g);

/* Shutdown: FLUSH every group with unnotified occurrences, then forget all. */
void mt_grouper_flush(struct mt_grouper *g, double now);

/*
 * Catalog reload: point every group at the signature of the same id in c.
 * Groups whose signature is gone are flushed (FLUSH if they have unnotified
 * occurrences, with the old signature, which must still be valid during
 * this call) and forgotten.
 */
void mt_grouper_set_catalog(struct mt_grouper *g, const struct mt_catalog *c, double now);

const struct mt_grouper_stats *mt_grouper_stats(const struct mt_grouper *g);

/*
 * Snapshot and restore, so that a kill -9 loses no group: the daemon writes
 * the snapshot into its state file with the cursors (same atomic write) and
 * loads it at start; the lines re-read after the checkpoint then continue
 * the restored groups, and the counts come out exact.  Invariant: save at
 * t, load into a fresh grouper with the same params (the hash key may
 * differ: the daemon draws a new one at each start), and feed both the same
 * later offers and ticks: they emit the same notifications.  The open burst
 * is not saved: it is found again among the groups waiting for their FIRST.
 *
 * One line per group, oldest activity first (so loading rebuilds the LRU
 * order), "group" then space-separated NAME=VALUE tokens:
 *
 *   group sig=ID [kn=NAME kv=VALUE] serial=N seq=N total=N new=N
 *     notified=N next=first|update|reminder|resolved|pending
 *     first=T last=T notify=T due=T [tmax=T t=T...] sev=SEVERITY loc=en|zh
 *     [host=TEXT] [lhost=TEXT] file=TEXT [rep=N] [mb=HEX] [db=HEX]
 *     [dest=TEXT] [ex=SEQ,TEXT...] [id=SEQ,TEXT...] [f=NAME,VALUE...]
 *
 * rep: repeats folded in; mb, db: the bitmaps of distinct messages and
 * destinations, 512 lower-case hex digits each, absent when empty; dest:
 * the group's first destination.
 * N is decimal (uint64).  T is a time as the 16 lower-case hex digits of its
 * IEEE-754 binary64 bits: exact (the restored schedule is the same to the
 * bit) and independent of the locale; due < 0 means no check is scheduled.
 * Text is escaped: every byte outside '!'..'~', and '\\', ',' and '=', is
 * written \xHH, so a line holds no space, newline, NUL or non-ASCII byte.
 * tmax and t (min_count window: occurrence times, oldest first) only for a
 * pending group (next=pending); ex (examples) and id (queue ids, with the
 * group's occurrence number that last had them) oldest first; f in order.
 * Unknown or repeated singular tokens make a line malformed.  The stats
 * (mt_grouper_stats()) are not saved: a restored grouper counts from zero.
 */
#define MT_GROUP_SAVE_LINE_MAX (256 * 1024) /* longer lines are malformed on load */

/*
 * Append every group, one line each ending in '\n', to out.  -ENOBUFS when
 * out's cap is reached (out is then left as it was before the call).
 */
int mt_grouper_save(const struct mt_grouper *g, struct mt_buf *out);
/*
 * Restore groups from text produced by mt_grouper_save() (lines not
 * starting with "group " are ignored).  The text is untrusted (a damaged
 * state file): a line that is malformed, oversized (a text over its cap, a
 * line over MT_GROUP_SAVE_LINE_MAX), inconsistent (counts, schedule, or
 * params: e.g. a pending group under a min_count that no longer fits), a
 * duplicate of a group already loaded, or beyond max_groups is skipped and
 * counted in *ret_bad.  Signature ids are resolved in c (the severity and
 * locale recorded are kept); unknown ids are skipped and counted in
 * *ret_unknown.  Times are absolute: a deadline already past is due at the
 * next tick; now is only checked to be finite.  Emits nothing.  g must be
 * empty (fresh from mt_grouper_new(), or after mt_grouper_flush()); else it
 * panics (a bug).  ret_bad and ret_unknown may be NULL.  Returns the number
 * of groups restored.
 */
size_t mt_grouper_load(struct mt_grouper *g, const struct mt_catalog *c, const char *p, size_t len,
		       double now, size_t *ret_bad, size_t *ret_unknown);

/* SipHash-2-4 (Aumasson and Bernstein), exported for its test vectors. */
uint64_t mt_group_siphash24(const uint8_t key[16], const void *p, size_t len);

#endif
