/*
 * delivery - alerts to webhooks: occurrences are grouped (alert/group.h),
 * each notification the grouper decides on is rendered for every webhook
 * whose filter takes it (alert/payload.h), spooled and sent (sink/webhook.h).
 *
 * The grouper's deadlines run on a libev timer of this module.  Whenever a
 * notification left the grouper for the spool, the owner's on_emitted
 * callback runs in the same loop iteration, so the daemon saves the groups'
 * snapshot and the positions together before anything else can happen.
 *
 * Owns the grouper, the spool, the webhooks and the rate limit shared by
 * them.  Borrows the configuration and the catalog, which must outlive it:
 * a reload frees the delivery (flushing its groups) before they go.  Loop
 * context only.
 */
#ifndef MT_DELIVERY_H
#define MT_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "alert/alert.h"
#include "config/config.h"
#include "match/catalog.h"
#include "util/buf.h"

#define MT_GROUP_SNAPSHOT_MAX (64 * 1024 * 1024) /* bytes of saved groups in the state file */
#define MT_WEBHOOK_FAILING_ID "local/mtalert-webhook-failing"	    /* the catalog's record */
#define MT_DEST_UNHEALTHY_ID  "local/mtalert-destination-unhealthy" /* issue 12 */

struct mt_delivery;
struct mt_webhook;
struct mt_spool_stats;

typedef void mt_delivery_emitted_fn(void *ctx);
/*
 * A webhook has failed for alerting.webhook_failing_after (once per
 * episode): the owner raises an alert through the other sinks.
 */
typedef void mt_delivery_failing_fn(void *ctx, const char *webhook, double seconds,
				    const char *error);
/* A webhook started failing or delivers again (for a status line). */
typedef void mt_delivery_health_fn(void *ctx);

/* The owner's callbacks, all with ctx. */
struct mt_delivery_hooks {
	mt_delivery_emitted_fn *emitted;
	mt_delivery_failing_fn *failing;
	mt_delivery_health_fn *health;
	void *ctx;
};

/*
 * NULL when no webhook is configured.  hash_key keys the grouper's table
 * (remote servers choose the keys).  saved_groups: the snapshot read from
 * the state file, restored now and then emptied (may be NULL or empty).
 */
struct mt_delivery *mt_delivery_new(struct ev_loop *loop, const struct mt_config *cfg,
				    const struct mt_catalog *cat, const char *hostname,
				    const uint8_t hash_key[16], struct mt_buf *saved_groups,
				    const struct mt_delivery_hooks *hooks);
/* flush: hand the unsent rest of every group to the spool first (reload). */
struct mt_delivery *mt_delivery_free(struct mt_delivery *dl, bool flush);

/* One more occurrence, grouped by alerting.grouping.by. */
void mt_delivery_offer(struct mt_delivery *dl, const struct mt_alert *a);
/*
 * A destination accepts mail again (correlate/correlate.h): resolve its
 * groups now (mt_grouper_resolve()); sig_id NULL: of every signature.
 */
void mt_delivery_resolve(struct mt_delivery *dl, const char *sig_id, const char *destination);
/* The grouper's snapshot, for the state file. */
int mt_delivery_save(struct mt_delivery *dl, struct mt_buf *out);
/* Stopping: everything pending goes out now, then requests in flight get seconds to finish. */
void mt_delivery_finish(struct mt_delivery *dl, double seconds);
void mt_delivery_log_counters(const struct mt_delivery *dl);
/* "webhook X failing for 12 min (HTTP 500); " for each failing webhook, into buf. */
void mt_delivery_describe_failing(const struct mt_delivery *dl, double now, char *buf, size_t size);
/* For status and metrics: the webhooks (borrowed until mt_delivery_free) and the spool's counters. */
size_t mt_delivery_nwebhooks(const struct mt_delivery *dl);
const struct mt_webhook *mt_delivery_webhook(const struct mt_delivery *dl, size_t i);
const struct mt_spool_stats *mt_delivery_spool_stats(const struct mt_delivery *dl);
/* The webhook's notifications on disk now, bytes. */
uint64_t mt_delivery_spool_sink_bytes(const struct mt_delivery *dl, const char *webhook);

#endif
