/*
 * keepalive - keep Alertmanager's view of an ongoing storm firing.
 *
 * Alertmanager resolves an alert at its endsAt, or resolve_timeout after the
 * last post when it has none.  The grouper posts only at group_interval and
 * repeat_interval, so a storm longer than that would show as resolved while
 * errors go on.  As Prometheus does, every firing alert posted to an
 * Alertmanager webhook carries an endsAt of now + 4 resend intervals, and is
 * posted again every resend_interval until the grouper resolves it (the
 * RESOLVED notice, endsAt in the past, ends it at once) or forgets it.
 *
 * Keyed by the alert's labels (Alertmanager's identity of an alert).  At
 * most MT_KEEPALIVE_MAX alerts are kept per webhook; past it the oldest is
 * dropped (counted; its alert then expires at its endsAt).  Loop context.
 */
#ifndef MT_KEEPALIVE_H
#define MT_KEEPALIVE_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "alert/alert_group.h"
#include "sink/webhook.h"
#include "util/buf.h"

#define MT_KEEPALIVE_MAX 1024 /* firing alerts kept alive per webhook */

struct mt_keepalive;

/*
 * forget_after: seconds without a notification from the grouper after
 * which an alert is no longer kept alive (the grouper forgot its group
 * without a RESOLVED notice: eviction, resolve_after 0).
 */
struct mt_keepalive *mt_keepalive_new(struct ev_loop *loop, struct mt_webhook *w,
				      double resend_interval, double forget_after);
struct mt_keepalive *mt_keepalive_free(struct mt_keepalive *k);

/*
 * A notification rendered for this webhook (body: Alertmanager v2 JSON):
 * a firing one gets its endsAt here and is remembered, a RESOLVED one
 * forgets its alert.  Then it is submitted to the webhook.
 */
void mt_keepalive_submit(struct mt_keepalive *k, enum mt_group_event event, struct mt_buf *body);

uint64_t mt_keepalive_resent(const struct mt_keepalive *k);

#endif
