/* keepalive - Alertmanager alerts re-posted with a fresh endsAt while their storm lasts. */
#include "sink/keepalive.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alert/payload.h"
#include "log.h"
#include "util.h"
#include "util/xalloc.h"

struct firing {
	char *labels;	 /* the body up to its annotations: the alert's identity */
	char *body;	 /* the body as rendered, without endsAt */
	double notified; /* when the grouper last sent it */
	double posted;	 /* when it was last posted, by the grouper or by us */
};

struct mt_keepalive {
	struct ev_loop *loop;
	struct mt_webhook *w;
	double resend, forget_after;
	struct firing alerts[MT_KEEPALIVE_MAX];
	size_t n;
	ev_timer timer; /* runs while an alert is firing */
	struct mt_buf scratch;
	uint64_t resent, dropped;
};

/* The labels object: what Alertmanager tells alerts apart by. */
static char *
labels_of(const char *body)
{
	const char *end = strstr(body, "\"annotations\":");

	return end ? mt_xstrndup(body, (size_t)(end - body)) : NULL;
}

static void
forget(struct mt_keepalive *k, size_t i)
{
	free(k->alerts[i].labels);
	free(k->alerts[i].body);
	k->alerts[i] = k->alerts[--k->n];
}

static bool
post(struct mt_keepalive *k, const char *body, double now)
{
	mt_buf_reset(&k->scratch);
	if (mt_buf_puts(&k->scratch, body) < 0 ||
	    mt_payload_alertmanager_valid_until(&k->scratch, now + 4 * k->resend) < 0)
		return false;
	mt_webhook_submit(k->w, k->scratch.data, k->scratch.len);
	return true;
}

static void
on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mt_keepalive *k = container_of(t, struct mt_keepalive, timer);
	double now = ev_now(loop);

	for (size_t i = 0; i < k->n;) {
		struct firing *f = &k->alerts[i];

		if (now - f->notified > k->forget_after) {
			forget(k, i);
			continue;
		}
		if (now - f->posted >= k->resend * 0.99 && post(k, f->body, now)) {
			f->posted = now;
			k->resent++;
		}
		i++;
	}
	if (k->n == 0)
		ev_timer_stop(loop, t);
}

struct mt_keepalive *
mt_keepalive_new(struct ev_loop *loop, struct mt_webhook *w, double resend_interval,
		 double forget_after)
{
	struct mt_keepalive *k = mt_xcalloc(1, sizeof(*k));

	k->loop = loop;
	k->w = w;
	k->resend = resend_interval;
	k->forget_after = forget_after;
	mt_buf_init(&k->scratch, MT_PAYLOAD_MAX);
	ev_timer_init(&k->timer, on_timer, resend_interval, resend_interval);
	return k;
}

struct mt_keepalive *
mt_keepalive_free(struct mt_keepalive *k)
{
	if (k == NULL)
		return NULL;
	ev_timer_stop(k->loop, &k->timer);
	while (k->n > 0)
		forget(k, k->n - 1);
	mt_buf_fini(&k->scratch);
	free(k);
	return NULL;
}

void
mt_keepalive_submit(struct mt_keepalive *k, enum mt_group_event event, struct mt_buf *body)
{
	double now = ev_now(k->loop);
	char *labels = labels_of(body->data);
	size_t i = 0;

	while (labels != NULL && i < k->n && strcmp(k->alerts[i].labels, labels) != 0)
		i++;
	if (event == MT_GROUP_RESOLVED || labels == NULL) {
		if (labels != NULL && i < k->n)
			forget(k, i);
		free(labels);
		mt_webhook_submit(k->w, body->data, body->len);
		return;
	}
	if (i == k->n && k->n == MT_KEEPALIVE_MAX) {
		size_t oldest = 0;

		for (size_t j = 1; j < k->n; j++)
			if (k->alerts[j].notified < k->alerts[oldest].notified)
				oldest = j;
		if (k->dropped++ == 0)
			log_warnx(
				"webhook %s: more than %d firing alerts to keep alive; the oldest "
				"will expire at their endsAt (counted)",
				mt_webhook_name(k->w), MT_KEEPALIVE_MAX);
		forget(k, oldest);
		i = k->n;
	}
	if (i == k->n) {
		k->alerts[k->n++].labels = labels;
	} else {
		free(labels);
		free(k->alerts[i].body);
	}
	k->alerts[i].body = mt_xstrdup(body->data);
	k->alerts[i].notified = k->alerts[i].posted = now;
	if (!post(k, k->alerts[i].body, now))
		mt_webhook_submit(k->w, body->data, body->len);
	if (!ev_is_active(&k->timer))
		ev_timer_again(k->loop, &k->timer);
}

uint64_t
mt_keepalive_resent(const struct mt_keepalive *k)
{
	return k->resent;
}
