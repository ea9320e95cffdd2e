/*
 * correlation - the daemon's side of the correlation stage: lines to
 * records (correlate/join.h) with a timer that flushes a record still
 * waiting for a continuation line, the message and destination tables
 * (correlate/correlate.h), and their file beside the positions
 * (<state_directory>/correlate), written atomically (temp, fsync, rename).
 *
 * mt_correlation_line() takes every line of every input and calls back with
 * records, at once or when the continuation timer fires.  The tables are
 * kept across reloads (causes are signature ids, looked up in the new
 * catalog); their sizes take effect at the next start.  With
 * correlate.enabled false, lines pass through one by one and observe gives
 * MT_CORR_NONE.  Loop context only.
 */
#ifndef MT_CORRELATION_H
#define MT_CORRELATION_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "config/config.h"
#include "correlate/correlate.h"
#include "correlate/join.h"
#include "match/catalog.h"

struct mt_correlation;

struct mt_correlation *mt_correlation_new(struct ev_loop *loop, const struct mt_config *cfg,
					  const struct mt_catalog *cat, const uint8_t key[16],
					  mt_join_fn on_record, void *ctx);
struct mt_correlation *mt_correlation_free(struct mt_correlation *cn);

/* A reload: the new generation's configuration and catalog. */
void mt_correlation_reload(struct mt_correlation *cn, const struct mt_config *cfg,
			   const struct mt_catalog *cat);

void mt_correlation_line(struct mt_correlation *cn, const char *file, const char *p, size_t len,
			 bool truncated, uint64_t offset);
/* Hand out a record still waiting for continuation lines (before a checkpoint). */
void mt_correlation_flush(struct mt_correlation *cn);

void mt_correlation_observe(struct mt_correlation *cn, const struct mt_logrec *rec,
			    const struct mt_signature *sig, double now, struct mt_corr_result *ret);

/* Read the tables saved by an earlier run; logs what it could not read. */
void mt_correlation_load(struct mt_correlation *cn);
/* Save if changed and at least min_interval seconds since the last save (0: now). */
void mt_correlation_save(struct mt_correlation *cn, double min_interval);

void mt_correlation_log_counters(struct mt_correlation *cn);

#endif
