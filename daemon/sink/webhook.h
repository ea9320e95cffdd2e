/*
 * sink_webhook - deliver notifications to chat webhooks and Alertmanager.
 *
 * One struct mt_webhook per configured webhook, with its own curl multi
 * handle driven by the libev loop through curl's socket and timer callbacks
 * (curl's evhiperfifo shape): the loop never blocks, several requests are in
 * flight at once.  A notification is spooled (spool.h) before its first
 * attempt and removed once delivered.
 *
 * Outcomes: 2xx delivered.  Connection errors, timeouts, 5xx and 429 are
 * retried with exponential backoff and jitter (1 s, 2 s, 4 s ... 5 min), a
 * 429 no sooner than its Retry-After.  Other 4xx are not retried: logged with
 * the start of the response body, counted.  A notification still failing
 * after give_up_after is dropped, counted and logged.  max_per_minute (per
 * webhook and the global cap) delays sending, never drops.
 *
 * Outages (issue 14).  A webhook keeps at most one pending notification per
 * group (signature and key): a newer one of the group, while the older is
 * still queued, is merged into it (alert_group.h, mt_alert_note_merge: new
 * counts summed, so what the channel receives adds up to what was matched;
 * the latest total; a FIRST stays the FIRST; a RESOLVED wins and closes it),
 * and the merged one replaces the older in the spool (written, then the
 * superseded file removed; loading after a crash between removes it).  A
 * FIRST after a group ended (RESOLVED, FLUSH at a stop or an eviction)
 * starts a new life of it: queued after the older one, not merged.  A
 * group's notifications go out one at a time, in order.  While failing,
 * only the oldest notification is tried (a probe, with its backoff); once
 * one is delivered again, and after a restart with a spool to deliver, the
 * backlog goes out oldest first (by created time), one request at a time,
 * then normal sending resumes (up to MT_WEBHOOK_INFLIGHT_MAX at once).
 * Alertmanager posts (keepalive.h) are not merged: each is a full state.
 *
 * Never logged: the URL (it may hold a token) or the token.  TLS peers are
 * verified (ca_file to change the trust anchors); redirects are not
 * followed; only http and https are spoken.
 */
#ifndef MT_SINK_WEBHOOK_H
#define MT_SINK_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "alert/alert_group.h"
#include "config/config.h"
#include "match/catalog.h"
#include "sink/spool.h"

#define MT_WEBHOOK_INFLIGHT_MAX 4
#define MT_WEBHOOK_RESPONSE_MAX 1024 /* bytes of a response body kept for the log */
#define MT_WEBHOOK_BACKOFF_MAX	300.0
#define MT_WEBHOOK_RESPOOL	5.0 /* seconds between writes again of what the spool refused */

struct mt_webhook;

/* A token bucket shared by every webhook: the global cap. */
struct mt_rate {
	double tokens, per_second, capacity, last;
};

void mt_rate_init(struct mt_rate *r, uint64_t per_minute, double now);
/* Take a token if there is one; else how long until there is (seconds). */
double mt_rate_take(struct mt_rate *r, double now);

struct mt_webhook_stats {
	uint64_t submitted, delivered, retried, failed, dropped, inflight, queued;
	uint64_t coalesced;   /* notifications merged into a pending one of their group */
	double failing_since; /* ev_now() of the first failure since the last success; 0: healthy */
	char last_error[160]; /* of the latest failure: "HTTP 500", curl's message */
};

/* The webhook started failing (failing true) or delivered again after failures. */
typedef void mt_webhook_health_fn(void *ctx, struct mt_webhook *w, bool failing);

/* -EINVAL (logged) when the token cannot be read or curl cannot be set up. */
/* cat: to read the notes of spooled notifications back (may be NULL: not coalesced). */
int mt_webhook_new(struct ev_loop *loop, const struct mt_config_webhook *conf,
		   struct mt_spool *spool, struct mt_rate *global, const struct mt_catalog *cat,
		   struct mt_webhook **ret);
struct mt_webhook *mt_webhook_free(struct mt_webhook *w);
/* Who hears of health changes (at most one; NULL: nobody). */
void mt_webhook_on_health(struct mt_webhook *w, mt_webhook_health_fn *fn, void *ctx);
/* Queue a rendered notification (spooled first), on its own. */
void mt_webhook_submit(struct mt_webhook *w, const char *body, size_t len);
/*
 * Queue the notifications of one grouper batch, rendered in the webhook's
 * format (spooled first): one that finds a notification of its group still
 * waiting (an outage, a rate limit) is merged into it instead (counted as
 * coalesced).  Due ones of a chat format go out as one digest.
 */
void mt_webhook_submit_groups(struct mt_webhook *w, const struct mt_alert_group *const *gs,
			      size_t n);
/* Requests in flight (shutdown waits for them a bounded time). */
size_t mt_webhook_inflight(const struct mt_webhook *w);
/*
 * Stopping: write what the spool refused (disk full) a last time; what
 * still cannot be written is counted as dropped and logged (once).  Also
 * done by mt_webhook_free.
 */
void mt_webhook_keep(struct mt_webhook *w);
const struct mt_webhook_stats *mt_webhook_stats(const struct mt_webhook *w);
const char *mt_webhook_name(const struct mt_webhook *w);
const struct mt_config_webhook *mt_webhook_conf(const struct mt_webhook *w);

#endif
