/* delivery - the wiring from alerts to webhooks: grouper, payloads, spool, requests. */
#include "sink/delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/group.h"
#include "alert/payload.h"
#include "log.h"
#include "parse/logline.h"
#include "sink/keepalive.h"
#include "sink/spool.h"
#include "sink/webhook.h"
#include "util.h"
#include "util/xalloc.h"

struct mt_delivery {
	struct ev_loop *loop;
	const struct mt_config *cfg;
	struct mt_delivery_hooks hooks;
	ev_timer failing_timer; /* the next failing webhook's alert is due */

	struct mt_grouper *grouper;
	ev_timer group_timer; /* the grouper's next deadline; idle when nothing is pending */
	struct mt_spool *spool;
	struct mt_rate global_rate;
	struct mt_webhook **webhooks;
	struct mt_keepalive **keepalive; /* per webhook: Alertmanager's, else NULL */
	bool *failing_alerted;		 /* per webhook: this failing episode was alerted */
	size_t nwebhooks;
	struct mt_buf payload;
	bool emitted; /* notifications spooled since on_emitted last ran */
};

/* Submit the body in dl->payload to webhook i. */
static void
submit(struct mt_delivery *dl, size_t i, enum mt_group_event ev)
{
	if (dl->keepalive[i] != NULL)
		mt_keepalive_submit(dl->keepalive[i], ev, &dl->payload);
	else
		mt_webhook_submit(dl->webhooks[i], dl->payload.data, dl->payload.len);
}

/*
 * The grouper decided notifications are due at this moment: render them
 * for every webhook that wants them, several in one digest message where
 * the format has one (chats), each alone otherwise.
 */
static void
on_notification(void *ctx, const struct mt_alert_group *gs, size_t n)
{
	struct mt_delivery *dl = ctx;
	const struct mt_alert_group *want[MT_GROUP_BATCH_MAX];

	for (size_t i = 0; i < dl->nwebhooks; i++) {
		const struct mt_config_webhook *c = mt_webhook_conf(dl->webhooks[i]);
		enum mt_payload_format f = (enum mt_payload_format)c->format;
		size_t nwant = 0;

		for (size_t k = 0; k < n && k < MT_GROUP_BATCH_MAX; k++) {
			if (!mt_config_filter_accepts(&c->filter, gs[k].sig, gs[k].severity))
				continue;
			/* The failing webhook itself would only queue it: the others carry it. */
			if (strcmp(gs[k].sig->id, MT_WEBHOOK_FAILING_ID) == 0 &&
			    mt_webhook_stats(dl->webhooks[i])->failing_since > 0)
				continue;
			want[nwant++] = &gs[k];
		}
		if (dl->keepalive[i] == NULL) {
			/* Rendered by the webhook: merged into a pending one, digests at sending. */
			mt_webhook_submit_groups(dl->webhooks[i], want, nwant);
			continue;
		}
		for (size_t k = 0; k < nwant;) {
			size_t m = mt_payload_has_digest(f) ? nwant - k : 1;

			if (m > MT_PAYLOAD_DIGEST_MAX)
				m = MT_PAYLOAD_DIGEST_MAX;
			mt_buf_reset(&dl->payload);
			if ((m > 1 ? mt_payload_render_digest(&dl->payload, f, want + k, m) :
				     mt_payload_render(&dl->payload, f, want[k])) < 0)
				log_warnx("webhook %s: notification for %s too large to render, "
					  "skipping",
					  c->name, want[k]->sig->id);
			else
				submit(dl, i, want[k]->event);
			k += m;
		}
	}
	dl->emitted = true;
}

/*
 * A notification left the grouper for the spool: the owner saves the groups
 * and the positions now, in the same loop iteration, so that a crash can
 * neither send it again (from a snapshot taken before it) nor lose what it
 * counted.
 */
static void
report_emitted(struct mt_delivery *dl)
{
	if (!dl->emitted)
		return;
	dl->emitted = false;
	dl->hooks.emitted(dl->hooks.ctx);
}

static void
arm_group_timer(struct mt_delivery *dl)
{
	double at = mt_grouper_next_deadline(dl->grouper);

	ev_timer_stop(dl->loop, &dl->group_timer);
	if (at < 0)
		return; /* nothing pending: no wakeup */
	ev_timer_set(&dl->group_timer, at > ev_now(dl->loop) ? at - ev_now(dl->loop) : 0., 0.);
	ev_timer_start(dl->loop, &dl->group_timer);
}

static void
on_group_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mt_delivery *dl = container_of(w, struct mt_delivery, group_timer);

	mt_grouper_tick(dl->grouper, ev_now(loop));
	report_emitted(dl);
	arm_group_timer(dl);
}

/* Copy a view as a NUL-terminated key; NULL if empty. */
static const char *
key_copy(char *buf, size_t size, const char *p, size_t len)
{
	if (len == 0)
		return NULL;
	if (len >= size)
		len = size - 1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return buf;
}

static const char *
capture(const struct mt_match *m, const char *name, char *buf, size_t size)
{
	for (size_t i = 0; i < m->ncaptures; i++)
		if (strcmp(m->captures[i].name, name) == 0)
			return key_copy(buf, size, m->captures[i].v.p, m->captures[i].v.len);
	return NULL;
}

/* What a group is keyed by, per alerting.grouping.by. */
static void
group_key(const struct mt_delivery *dl, const struct mt_alert *a, const char **ret_name,
	  const char **ret_value, char *buf, size_t size)
{
	const struct mt_logrec *r = a->rec;
	const char *val = NULL, *name = NULL;

	switch (dl->cfg->alerting.grouping.by) {
	case MT_GROUP_BY_RELAY:
		name = "relay";
		if ((val = key_copy(buf, size, r->f[MT_F_RELAY_HOST].p, r->f[MT_F_RELAY_HOST].len)))
			break;
		if ((val = capture(a->match, "relay", buf, size)))
			break;
		name = "client";
		val = key_copy(buf, size, r->f[MT_F_CLIENT_HOST].p, r->f[MT_F_CLIENT_HOST].len);
		break;
	case MT_GROUP_BY_DOMAIN: {
		const struct mt_view *v = &r->f[MT_F_RECIPIENT];
		const char *at = v->len ? memchr(v->p, '@', v->len) : NULL;

		name = "domain";
		if (at != NULL)
			val = key_copy(buf, size, at + 1, v->len - (size_t)(at + 1 - v->p));
		else
			val = capture(a->match, "domain", buf, size);
		break;
	}
	case MT_GROUP_BY_CLIENT_IP:
		name = "client_ip";
		if (!(val = key_copy(buf, size, r->f[MT_F_CLIENT_IP].p, r->f[MT_F_CLIENT_IP].len)))
			val = capture(a->match, "client_ip", buf, size);
		break;
	default:
		break;
	}
	/* mtalert's own destination alerts name it in a capture (issue 12). */
	if (val == NULL && dl->cfg->alerting.grouping.by != MT_GROUP_BY_NONE &&
	    (val = capture(a->match, "destination", buf, size)) != NULL)
		name = "destination";
	*ret_name = val ? name : NULL;
	*ret_value = val;
}

/* Alert once per episode for every webhook failing for webhook_failing_after. */
static void
check_failing(struct mt_delivery *dl)
{
	double now = ev_now(dl->loop), after = dl->cfg->alerting.webhook_failing_after;
	double next = -1;

	for (size_t i = 0; i < dl->nwebhooks; i++) {
		const struct mt_webhook_stats *s = mt_webhook_stats(dl->webhooks[i]);
		double due;

		if (!(s->failing_since > 0) || dl->failing_alerted[i])
			continue;
		due = s->failing_since + after;
		if (due <= now) {
			dl->failing_alerted[i] = true;
			log_error(
				"webhook %s has failed for %.0f s (%s); alerting through the other "
				"sinks",
				mt_webhook_name(dl->webhooks[i]), now - s->failing_since,
				s->last_error);
			dl->hooks.failing(dl->hooks.ctx, mt_webhook_name(dl->webhooks[i]),
					  now - s->failing_since, s->last_error);
		} else if (next < 0 || due < next) {
			next = due;
		}
	}
	ev_timer_stop(dl->loop, &dl->failing_timer);
	if (next >= 0) {
		ev_timer_set(&dl->failing_timer, next - now, 0.);
		ev_timer_start(dl->loop, &dl->failing_timer);
	}
}

static void
on_failing_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	check_failing(container_of(w, struct mt_delivery, failing_timer));
}

static void
on_health(void *ctx, struct mt_webhook *w, bool failing)
{
	struct mt_delivery *dl = ctx;

	for (size_t i = 0; i < dl->nwebhooks; i++)
		if (dl->webhooks[i] == w && !failing)
			dl->failing_alerted[i] = false; /* a new episode may alert again */
	dl->hooks.health(dl->hooks.ctx);
	/* Decide from the timer: we are inside the webhook's own completion here. */
	ev_timer_stop(dl->loop, &dl->failing_timer);
	ev_timer_set(&dl->failing_timer, 0., 0.);
	ev_timer_start(dl->loop, &dl->failing_timer);
}

static const char *
group_by_name(int by)
{
	switch (by) {
	case MT_GROUP_BY_RELAY:
		return "relay";
	case MT_GROUP_BY_DOMAIN:
		return "recipient domain";
	case MT_GROUP_BY_CLIENT_IP:
		return "client address";
	default:
		return "signature only";
	}
}

/*
 * lose14: a webhook whose filter (min_severity, include, exclude) takes no
 * enabled signature would stay silent forever; say so at load.
 */
static void
warn_deaf_webhooks(const struct mt_config *cfg, const struct mt_catalog *cat)
{
	for (size_t w = 0; w < cfg->alerting.nwebhooks; w++) {
		const struct mt_config_webhook *c = &cfg->alerting.webhooks[w];
		bool any = false;

		for (size_t i = 0; i < mt_catalog_count(cat) && !any; i++) {
			const struct mt_signature *s = mt_catalog_get(cat, i);
			enum mt_severity sev = s->severity;

			if (!mt_config_signature_enabled(cfg, s->id, s->category, s->domain))
				continue;
			(void)mt_config_severity_override(cfg, s->id, &sev);
			any = mt_config_filter_accepts(&c->filter, s, sev);
		}
		if (!any)
			log_warnx(
				"webhook %s: its filter (min_severity %s, include, exclude) takes none "
				"of the enabled signatures (%zu loaded): it will never be sent anything",
				c->name, mt_severity_name((enum mt_severity)c->filter.min_severity),
				mt_catalog_count(cat));
	}
}

struct mt_delivery *
mt_delivery_new(struct ev_loop *loop, const struct mt_config *cfg, const struct mt_catalog *cat,
		const char *hostname, const uint8_t hash_key[16], struct mt_buf *saved_groups,
		const struct mt_delivery_hooks *hooks)
{
	const struct mt_config_alerting *al = &cfg->alerting;
	const struct mt_config_grouping *gc = &al->grouping;
	struct mt_group_params p;
	struct mt_delivery *dl;

	if (al->nwebhooks == 0)
		return NULL;
	dl = mt_xcalloc(1, sizeof(*dl));
	dl->loop = loop;
	dl->cfg = cfg;
	dl->hooks = *hooks;
	ev_timer_init(&dl->group_timer, on_group_timer, 0., 0.);
	ev_timer_init(&dl->failing_timer, on_failing_timer, 0., 0.);
	mt_buf_init(&dl->payload, MT_PAYLOAD_MAX);
	dl->spool = mt_spool_new(cfg->state_directory, &al->spool, hostname);
	mt_rate_init(&dl->global_rate, al->max_per_minute, ev_now(loop));
	dl->webhooks = mt_xcalloc(al->nwebhooks, sizeof(*dl->webhooks));
	dl->failing_alerted = mt_xcalloc(al->nwebhooks, sizeof(*dl->failing_alerted));
	dl->keepalive = mt_xcalloc(al->nwebhooks, sizeof(*dl->keepalive));
	for (size_t i = 0; i < al->nwebhooks; i++) {
		struct mt_webhook *w;

		if (mt_webhook_new(loop, &al->webhooks[i], dl->spool, &dl->global_rate, cat, &w) ==
		    0) {
			mt_webhook_on_health(w, on_health, dl);
			/* The grouper forgot a group it did not resolve (eviction) after this. */
			if (al->webhooks[i].format == MT_PAYLOAD_ALERTMANAGER)
				dl->keepalive[dl->nwebhooks] = mt_keepalive_new(
					loop, w, al->webhooks[i].resend_interval,
					gc->group_wait + gc->repeat_interval + gc->resolve_after +
						al->webhooks[i].resend_interval);
			dl->webhooks[dl->nwebhooks++] = w;
		} else
			log_error("webhook %s is not used (see above)", al->webhooks[i].name);
	}
	warn_deaf_webhooks(cfg, cat);
	mt_group_params_default(&p);
	p.group_wait = gc->group_wait;
	p.group_interval = gc->group_interval;
	p.repeat_interval = gc->repeat_interval;
	p.resolve_after = gc->resolve_after;
	p.min_count = (uint32_t)gc->min_count;
	p.window = gc->window;
	p.max_groups = (size_t)gc->max_groups;
	dl->grouper = mt_grouper_new(&p, hash_key, on_notification, dl);
	if (saved_groups != NULL && saved_groups->len > 0) {
		size_t bad = 0, unknown = 0, restored;

		restored = mt_grouper_load(dl->grouper, cat, saved_groups->data, saved_groups->len,
					   ev_now(loop), &bad, &unknown);
		log_info(
			"restored %zu groups from the state (%zu damaged, %zu of signatures no longer "
			"in the catalog)",
			restored, bad, unknown);
		mt_buf_reset(saved_groups);
		arm_group_timer(dl);
	}
	log_info("delivering to %zu webhook%s, grouping by %s", dl->nwebhooks,
		 plural(dl->nwebhooks), group_by_name(gc->by));
	return dl;
}

struct mt_delivery *
mt_delivery_free(struct mt_delivery *dl, bool flush)
{
	if (dl == NULL)
		return NULL;
	/* Nothing accepted is lost: the unsent rest goes to the spool now. */
	if (flush)
		mt_grouper_flush(dl->grouper, ev_now(dl->loop));
	dl->grouper = mt_grouper_free(dl->grouper);
	ev_timer_stop(dl->loop, &dl->group_timer);
	ev_timer_stop(dl->loop, &dl->failing_timer);
	for (size_t i = 0; i < dl->nwebhooks; i++) {
		mt_keepalive_free(dl->keepalive[i]);
		mt_webhook_free(dl->webhooks[i]);
	}
	free(dl->webhooks);
	free(dl->keepalive);
	free(dl->failing_alerted);
	dl->spool = mt_spool_free(dl->spool);
	mt_buf_fini(&dl->payload);
	free(dl);
	return NULL;
}

void
mt_delivery_offer(struct mt_delivery *dl, const struct mt_alert *a)
{
	const char *kname, *kval;
	char kbuf[MT_GROUP_TEXT_MAX];

	group_key(dl, a, &kname, &kval, kbuf, sizeof(kbuf));
	mt_grouper_offer(dl->grouper, a, kname, kval, ev_now(dl->loop));
	report_emitted(dl); /* an eviction from a full table emits */
	arm_group_timer(dl);
}

void
mt_delivery_resolve(struct mt_delivery *dl, const char *sig_id, const char *destination)
{
	size_t n = mt_grouper_resolve(dl->grouper, sig_id, destination, ev_now(dl->loop));

	if (n > 0)
		log_info("destination '%.100s': %zu group%s resolved", destination, n, plural(n));
	report_emitted(dl);
	arm_group_timer(dl);
}

int
mt_delivery_save(struct mt_delivery *dl, struct mt_buf *out)
{
	return mt_grouper_save(dl->grouper, out);
}

/* Give requests in flight a bounded time to finish (shutdown). */
static void
on_drain_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ONE);
}

static void
on_drain_check(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct mt_delivery *dl = w->data;
	size_t n = 0;

	for (size_t i = 0; i < dl->nwebhooks; i++)
		n += mt_webhook_inflight(dl->webhooks[i]);
	if (n == 0)
		ev_break(loop, EVBREAK_ONE);
}

void
mt_delivery_finish(struct mt_delivery *dl, double seconds)
{
	ev_timer deadline;
	ev_prepare check;

	/* The owner saves the state right after: no on_emitted here. */
	mt_grouper_flush(dl->grouper, ev_now(dl->loop));
	dl->emitted = false;
	if (dl->nwebhooks == 0)
		return;
	ev_timer_init(&deadline, on_drain_deadline, seconds, 0.);
	ev_prepare_init(&check, on_drain_check);
	check.data = dl;
	ev_timer_start(dl->loop, &deadline);
	ev_prepare_start(dl->loop, &check);
	ev_run(dl->loop, 0);
	ev_timer_stop(dl->loop, &deadline);
	ev_prepare_stop(dl->loop, &check);
	/* What the spool refused is written a last time, or counted as dropped. */
	for (size_t i = 0; i < dl->nwebhooks; i++)
		mt_webhook_keep(dl->webhooks[i]);
}

void
mt_delivery_log_counters(const struct mt_delivery *dl)
{
	const struct mt_spool_stats *ss = mt_spool_stats(dl->spool);
	const struct mt_grouper_stats *gs = mt_grouper_stats(dl->grouper);

	for (size_t i = 0; i < dl->nwebhooks; i++) {
		const struct mt_webhook_stats *s = mt_webhook_stats(dl->webhooks[i]);

		log_info("webhook %s: %llu submitted, %llu delivered, %llu retried, %llu failed, "
			 "%llu dropped, %llu spooled, %llu in flight, %llu coalesced",
			 mt_webhook_name(dl->webhooks[i]), (unsigned long long)s->submitted,
			 (unsigned long long)s->delivered, (unsigned long long)s->retried,
			 (unsigned long long)s->failed, (unsigned long long)s->dropped,
			 (unsigned long long)s->queued, (unsigned long long)s->inflight,
			 (unsigned long long)s->coalesced);
	}
	log_info("spool: %llu written, %llu removed, %llu dropped at the size bound, %llu "
		 "dropped at the age bound, %llu write errors, %llu bytes",
		 (unsigned long long)ss->written, (unsigned long long)ss->removed,
		 (unsigned long long)ss->dropped_size, (unsigned long long)ss->dropped_age,
		 (unsigned long long)ss->write_errors, (unsigned long long)ss->bytes);
	log_info("grouping: %llu occurrences, %llu groups now, %llu notifications, %llu "
		 "evicted, %llu below min_count",
		 (unsigned long long)gs->offered, (unsigned long long)gs->groups,
		 (unsigned long long)gs->notifications, (unsigned long long)gs->evicted,
		 (unsigned long long)gs->below_min_count);
}

void
mt_delivery_describe_failing(const struct mt_delivery *dl, double now, char *buf, size_t size)
{
	for (size_t i = 0; i < dl->nwebhooks; i++) {
		const struct mt_webhook_stats *s = mt_webhook_stats(dl->webhooks[i]);
		char one[640];
		size_t used = strlen(buf);

		if (!(s->failing_since > 0) || used >= size)
			continue;
		(void)snprintf(one, sizeof(one), "webhook %.64s failing for %.0f s (%s); ",
			       mt_webhook_name(dl->webhooks[i]), now - s->failing_since,
			       s->last_error);
		mt_strlcpy(buf + used, one, size - used);
	}
}

size_t
mt_delivery_nwebhooks(const struct mt_delivery *dl)
{
	return dl->nwebhooks;
}

const struct mt_webhook *
mt_delivery_webhook(const struct mt_delivery *dl, size_t i)
{
	return dl->webhooks[i];
}

const struct mt_spool_stats *
mt_delivery_spool_stats(const struct mt_delivery *dl)
{
	return mt_spool_stats(dl->spool);
}

uint64_t
mt_delivery_spool_sink_bytes(const struct mt_delivery *dl, const char *webhook)
{
	return mt_spool_sink_bytes(dl->spool, webhook);
}
