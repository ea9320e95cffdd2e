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

#include "config/config.h"
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
	double failing_since; /* ev_now() of the first failure since the last success; 0: healthy */
	char last_error[160]; /* of the latest failure: "HTTP 500", curl's message */
};

/* The webhook started failing (failing true) or delivered again after failures. */
typedef void mt_webhook_health_fn(void *ctx, struct mt_webhook *w, bool failing);

/* -EINVAL (logged) when the token cannot be read or curl cannot be set up. */
int mt_webhook_new(struct ev_loop *loop, const struct mt_config_webhook *conf,
		   struct mt_spool *spool, struct mt_rate *global, struct mt_webhook **ret);
struct mt_webhook *mt_webhook_free(struct mt_webhook *w);
/* Who hears of health changes (at most one; NULL: nobody). */
void mt_webhook_on_health(struct mt_webhook *w, mt_webhook_health_fn *fn, void *ctx);
/* Queue a rendered notification (spooled first). */
void mt_webhook_submit(struct mt_webhook *w, const char *body, size_t len);
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
