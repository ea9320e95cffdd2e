/*
 * spool - notifications accepted but not yet delivered, on disk.
 *
 * One file per notification in <state_directory>/spool/<sink>/, written
 * atomically (temp file, fsync, rename) before the first attempt and removed
 * once delivered or given up, so a restart or a crash delivers it afterwards.
 * A file holds one header line (JSON: id, created, and "lines": how many
 * lines follow it before the body), those lines (the notification's note,
 * alert_group.h, then "replaces NAME" for each file of the same sink it
 * supersedes), and the request body.  A file that supersedes others is
 * written before they are removed: a crash between leaves both, and loading
 * removes the superseded ones, so nothing is counted twice or lost.
 * The spool is bounded by size and age: past the bound the oldest
 * notifications are dropped, counted and logged, never silently.
 * The id is stable across retries and restarts, so receivers can dedupe; a
 * file written again (superseding) gets a new id, its name keeps the time
 * and sequence number (its place in the order) with a generation after
 * them: "<ms>-<seq>-<gen>.req".
 */
#ifndef MT_SPOOL_H
#define MT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct mt_spool;

struct mt_spool_item {
	char *id;	   /* "<host>-<created ms>-<seq>" */
	char *path;	   /* its file; NULL while it could not be written (in memory only) */
	char *sink, *name; /* where mt_spool_retry writes it (NULL for loaded items) */
	char *body;
	size_t len;
	double created;
	uint32_t attempts; /* in this run */
	bool dropped;	   /* in memory only, counted as dropped at stop */
	double next_try;
	struct mt_spool_item *next; /* the owner's queue */
	struct mt_alert_note *note; /* what it reports (owned; NULL: an opaque body) */
	char *meta;		    /* the note's saved line, written with it; NULL: none */
	char **olds;		    /* files it supersedes, removed once it is on disk */
	size_t nolds;
	uint64_t order; /* the owner's tie-break between equal created times */
};

struct mt_alert_note;

struct mt_spool_stats {
	uint64_t written, removed, dropped_size, dropped_age, write_errors;
	uint64_t bytes; /* now on disk */
};

struct mt_spool *mt_spool_new(const char *state_dir, const struct mt_config_spool *conf,
			      const char *hostname);
struct mt_spool *mt_spool_free(struct mt_spool *s);

/*
 * Write a notification for sink (meta: its note's line, or NULL); returns the item (caller owns it),
 * with path NULL when it could not be written (a full disk: counted and
 * logged; the caller sends it from memory and writes it again with
 * mt_spool_retry, see webhook.c).
 */
struct mt_spool_item *mt_spool_put(struct mt_spool *s, const char *sink, const char *body,
				   size_t len, const char *meta, double now);
/*
 * Write an item that mt_spool_put could not write (path NULL) again: 0 once
 * it is on disk, -errno (counted in write_errors) if it still cannot be.
 */
int mt_spool_retry(struct mt_spool *s, struct mt_spool_item *it);
/*
 * it (written or not) now also carries what `also` carried (may be NULL):
 * it is written again under a new name and id, with the same created time,
 * as body and meta, recording the files it supersedes (its own and also's),
 * which are removed once it is on disk.  also's file is then it's to
 * remove: the caller frees also with mt_spool_item_free.  Returns as
 * mt_spool_retry (on failure it stays in memory, the old files stay).
 */
int mt_spool_supersede(struct mt_spool *s, struct mt_spool_item *it, const char *sink,
		       const char *body, size_t len, const char *meta, struct mt_spool_item *also);
/* Items left by a previous run for sink, oldest first (a list through ->next);
 * files superseded by another one there are removed, not loaded. */
struct mt_spool_item *mt_spool_load(struct mt_spool *s, const char *sink, double now);
/* Delivered or given up: remove the file (and those it supersedes) and free the item. */
void mt_spool_done(struct mt_spool *s, struct mt_spool_item *it);
/* Free an item without touching its file (it stays for the next run). */
void mt_spool_item_free(struct mt_spool_item *it);
const struct mt_spool_stats *mt_spool_stats(const struct mt_spool *s);
/*
 * Bytes of sink's notifications on disk now, counted from its directory
 * (always true, whatever was dropped to make room; for status, not a hot path).
 */
uint64_t mt_spool_sink_bytes(const struct mt_spool *s, const char *sink);
/* True when the item is older than the spool's max_age. */
bool mt_spool_expired(const struct mt_spool *s, const struct mt_spool_item *it, double now);

#endif
