/*
 * spool - notifications accepted but not yet delivered, on disk.
 *
 * One file per notification in <state_directory>/spool/<sink>/, written
 * atomically (temp file, fsync, rename) before the first attempt and removed
 * once delivered or given up, so a restart or a crash delivers it afterwards.
 * A file holds one header line (JSON: id, created) and the request body.
 * The spool is bounded by size and age: past the bound the oldest
 * notifications are dropped, counted and logged, never silently.
 * The id is stable across retries and restarts, so receivers can dedupe.
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
};

struct mt_spool_stats {
	uint64_t written, removed, dropped_size, dropped_age, write_errors;
	uint64_t bytes; /* now on disk */
};

struct mt_spool *mt_spool_new(const char *state_dir, const struct mt_config_spool *conf,
			      const char *hostname);
struct mt_spool *mt_spool_free(struct mt_spool *s);

/*
 * Write a notification for sink; returns the item (caller owns it),
 * with path NULL when it could not be written (a full disk: counted and
 * logged; the caller sends it from memory and writes it again with
 * mt_spool_retry, see webhook.c).
 */
struct mt_spool_item *mt_spool_put(struct mt_spool *s, const char *sink, const char *body,
				   size_t len, double now);
/*
 * Write an item that mt_spool_put could not write (path NULL) again: 0 once
 * it is on disk, -errno (counted in write_errors) if it still cannot be.
 */
int mt_spool_retry(struct mt_spool *s, struct mt_spool_item *it);
/* Items left by a previous run for sink, oldest first (a list through ->next). */
struct mt_spool_item *mt_spool_load(struct mt_spool *s, const char *sink, double now);
/* Delivered or given up: remove the file and free the item. */
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
