/* webhook - HTTP POSTs through curl multi on libev: retries, backoff, rate limits. */
#include "sink/webhook.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alert/alert_group.h"
#include "alert/payload.h"
#include "log.h"
#include "util.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/xalloc.h"

#define TOKEN_MAX      4096
#define SPOOL_META_MAX (256 * 1024) /* a note's saved line: far more than its caps add up to */

/* One request in flight. */
struct request {
	struct mt_webhook *w;
	struct mt_spool_item *its[MT_PAYLOAD_DIGEST_MAX]; /* one, or the notes of one digest */
	size_t nits;
	struct mt_buf digest; /* the body when it is a digest of several */
	CURL *easy;
	struct curl_slist *headers;
	struct mt_buf response;
	char error[CURL_ERROR_SIZE];
};

/* A socket curl asked us to watch. */
struct sockwatch {
	ev_io io;
	struct mt_webhook *w;
};

struct mt_webhook {
	struct ev_loop *loop;
	struct mt_config_webhook conf; /* borrowed strings: the config outlives us */
	char *url;		       /* with {token} substituted */
	char *auth;		       /* "Authorization: Bearer ..." or NULL */
	struct mt_spool *spool;
	struct mt_rate rate, *global;
	CURLM *multi;
	ev_timer curl_timer;	     /* curl's own timeouts */
	ev_timer dispatch;	     /* the next queued notification is due */
	ev_timer respool;	     /* write again what the spool could not take (disk full) */
	struct mt_spool_item *queue; /* by next_try */
	struct request *inflight[MT_WEBHOOK_INFLIGHT_MAX];
	size_t ninflight;
	struct mt_webhook_stats stats;
	bool warned;
	bool catchup;	      /* a backlog (outage, restart) drains: oldest first, one at a time */
	uint64_t order;	      /* of the items queued, for ties between equal created times */
	struct mt_buf render; /* scratch: a note's body */
	struct mt_buf meta;   /* scratch: a note's saved line */
	mt_webhook_health_fn *on_health;
	void *health_ctx;
};

void
mt_webhook_on_health(struct mt_webhook *w, mt_webhook_health_fn *fn, void *ctx)
{
	w->on_health = fn;
	w->health_ctx = ctx;
}

/* Track failing episodes: when one starts and when it ends. */
static void
health(struct mt_webhook *w, bool ok, const char *error, double now)
{
	if (ok) {
		if (!(w->stats.failing_since > 0))
			return;
		log_info("webhook %s: delivering again after %.0f s of failures", w->conf.name,
			 now - w->stats.failing_since);
		w->stats.failing_since = 0;
		if (w->on_health)
			w->on_health(w->health_ctx, w, false);
		return;
	}
	mt_strlcpy(w->stats.last_error, error, sizeof(w->stats.last_error));
	if (w->stats.failing_since > 0)
		return;
	w->stats.failing_since = now > 0 ? now : 1e-9;
	if (w->on_health)
		w->on_health(w->health_ctx, w, true);
}

void
mt_rate_init(struct mt_rate *r, uint64_t per_minute, double now)
{
	r->capacity = (double)per_minute;
	r->per_second = (double)per_minute / 60.0;
	r->tokens = r->capacity;
	r->last = now;
}

double
mt_rate_take(struct mt_rate *r, double now)
{
	if (now > r->last) {
		r->tokens += (now - r->last) * r->per_second;
		if (r->tokens > r->capacity)
			r->tokens = r->capacity;
		r->last = now;
	}
	if (r->tokens >= 1.0) {
		r->tokens -= 1.0;
		return 0;
	}
	return (1.0 - r->tokens) / r->per_second;
}

static void dispatch(struct mt_webhook *w);

/* Keep the queue sorted by next_try; stable for equal times. */
static void
enqueue(struct mt_webhook *w, struct mt_spool_item *it)
{
	struct mt_spool_item **p = &w->queue;

	while (*p != NULL && (*p)->next_try <= it->next_try)
		p = &(*p)->next;
	it->next = *p;
	*p = it;
	w->stats.queued++;
}

static void
arm_dispatch(struct mt_webhook *w, double after)
{
	ev_timer_stop(w->loop, &w->dispatch);
	ev_timer_set(&w->dispatch, after > 0 ? after : 0., 0.);
	ev_timer_start(w->loop, &w->dispatch);
}

static size_t
on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct request *r = ctx;

	/* Keep the start for the log; read (and drop) the rest. */
	(void)mt_buf_append_trunc(&r->response, p, size * n);
	return size * n;
}

static void
request_free(struct request *r)
{
	if (r->easy) {
		curl_multi_remove_handle(r->w->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	mt_buf_fini(&r->response);
	mt_buf_fini(&r->digest);
	free(r);
}

/*
 * A request for its[0..n): one item's body, or, for several, one digest
 * of their notes (a chat format), rendered now in that order.
 */
static void
start_request(struct mt_webhook *w, struct mt_spool_item **its, size_t n)
{
	struct request *r = mt_xcalloc(1, sizeof(*r));
	struct mt_spool_item *it = its[0];
	const char *body = it->body;
	size_t len = it->len;
	char hdr[512];

	r->w = w;
	memcpy(r->its, its, n * sizeof(*its));
	r->nits = n;
	mt_buf_init(&r->digest, MT_PAYLOAD_MAX);
	if (n > 1) {
		const struct mt_alert_group *gs[MT_PAYLOAD_DIGEST_MAX];

		for (size_t i = 0; i < n; i++)
			gs[i] = &its[i]->note->g;
		if (mt_payload_render_digest(&r->digest, (enum mt_payload_format)w->conf.format, gs,
					     n) == 0) {
			body = r->digest.data;
			len = r->digest.len;
		} else { /* too large together: the first alone, the others wait their turn */
			for (size_t i = 1; i < n; i++)
				enqueue(w, its[i]);
			r->nits = 1;
		}
	}
	mt_buf_init(&r->response, MT_WEBHOOK_RESPONSE_MAX);
	r->easy = curl_easy_init();
	if (r->easy == NULL)
		mt_panic("curl_easy_init failed");
	r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
	r->headers = curl_slist_append(r->headers, "User-Agent: mtalert");
	r->headers = curl_slist_append(r->headers, "Expect:");
	(void)snprintf(hdr, sizeof(hdr), "X-Mtalert-Delivery: %.400s", it->id);
	r->headers = curl_slist_append(r->headers, hdr);
	if (w->auth)
		r->headers = curl_slist_append(r->headers, w->auth);
	for (size_t i = 0; i < w->conf.nheaders; i++)
		r->headers = curl_slist_append(r->headers, w->conf.headers[i]);
	(void)curl_easy_setopt(r->easy, CURLOPT_URL, w->url);
	(void)curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	(void)curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, body);
	(void)curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	(void)curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	(void)curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->error);
	(void)curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	(void)curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	(void)curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "https,http");
	(void)curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
			       (long)(w->conf.connect_timeout * 1000));
	(void)curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)(w->conf.timeout * 1000));
	(void)curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	(void)curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (w->conf.ca_file)
		(void)curl_easy_setopt(r->easy, CURLOPT_CAINFO, w->conf.ca_file);
	w->inflight[w->ninflight++] = r;
	w->stats.inflight = w->ninflight;
	for (size_t i = 0; i < n; i++)
		its[i]->attempts++;
	if (curl_multi_add_handle(w->multi, r->easy) != CURLM_OK)
		mt_panic("curl_multi_add_handle failed");
}

/* a was queued before b (created time, then queueing order). */
static bool
older(const struct mt_spool_item *a, const struct mt_spool_item *b)
{
	if (a->created < b->created || a->created > b->created)
		return a->created < b->created;
	return a->order < b->order;
}

static bool
same_group(const struct mt_spool_item *a, const struct mt_spool_item *b)
{
	return a != b && a->note != NULL && b->note != NULL &&
	       mt_alert_note_same_group(a->note, b->note);
}

/*
 * Per group, notifications go out in order, one at a time: it waits while
 * one of its group is in flight or taken (taken[0..n), the digest being
 * assembled) ...
 */
static bool
blocked_active(const struct mt_webhook *w, const struct mt_spool_item *it,
	       struct mt_spool_item *const *taken, size_t ntaken)
{
	if (it->note == NULL)
		return false;
	for (size_t i = 0; i < w->ninflight; i++)
		for (size_t j = 0; j < w->inflight[i]->nits; j++)
			if (same_group(w->inflight[i]->its[j], it))
				return true;
	for (size_t i = 0; i < ntaken; i++)
		if (same_group(taken[i], it))
			return true;
	return false;
}

/* ... or while an older one of its group is queued. */
static bool
older_queued(const struct mt_webhook *w, const struct mt_spool_item *it)
{
	if (it->note == NULL)
		return false;
	for (const struct mt_spool_item *q = w->queue; q != NULL; q = q->next)
		if (same_group(q, it) && older(q, it))
			return true;
	return false;
}

/*
 * it (queued or coming back to the queue, not in flight) takes in the
 * newer note of its group (from the item also, or submitted now: also
 * NULL): one notification with the sum of the new counts, written to the
 * spool under a new name before the files it supersedes are removed.
 */
static void
supersede(struct mt_webhook *w, struct mt_spool_item *it, const struct mt_alert_note *newer,
	  struct mt_spool_item *also)
{
	const char *meta = NULL;

	if (!mt_alert_note_merge(it->note, newer))
		mt_panic("supersede: notes that do not merge");
	mt_buf_reset(&w->render);
	mt_buf_reset(&w->meta);
	if (mt_payload_render(&w->render, (enum mt_payload_format)w->conf.format, &it->note->g) <
	    0) {
		/* Cannot happen (every format fits MT_PAYLOAD_MAX); keep the old body. */
		log_warnx("webhook %s: coalesced notification too large to render", w->conf.name);
		(void)mt_buf_append(&w->render, it->body, it->len);
	}
	if (mt_alert_note_save(it->note, &w->meta) == 0)
		meta = w->meta.data;
	w->stats.coalesced++;
	if (mt_spool_supersede(w->spool, it, w->conf.name, w->render.data, w->render.len, meta,
			       also) < 0 &&
	    !ev_is_active(&w->respool))
		ev_timer_start(w->loop, &w->respool);
	mt_spool_item_free(also);
}

/* Take it out of the queue (it is there). */
static void
unqueue(struct mt_webhook *w, struct mt_spool_item *it)
{
	for (struct mt_spool_item **p = &w->queue; *p != NULL; p = &(*p)->next)
		if (*p == it) {
			*p = it->next;
			it->next = NULL;
			w->stats.queued--;
			return;
		}
}

/*
 * it is back from a failed attempt: the newer notifications of its group
 * queued meanwhile are merged into it, so the group keeps one.
 */
static void
absorb_newer(struct mt_webhook *w, struct mt_spool_item *it)
{
	while (it->note != NULL) {
		struct mt_spool_item *next = NULL;

		for (struct mt_spool_item *q = w->queue; q != NULL; q = q->next)
			if (same_group(q, it) && older(it, q) && (next == NULL || older(q, next)))
				next = q;
		if (next == NULL || !mt_alert_note_mergeable(it->note, next->note))
			return;
		unqueue(w, next);
		supersede(w, it, next->note, next);
	}
}

/* Retry later: exponential backoff with jitter, at least Retry-After. */
static void
retry(struct mt_webhook *w, struct mt_spool_item *it, double retry_after, double now)
{
	double backoff = pow(2.0, it->attempts > 20 ? 20 : (double)it->attempts - 1);

	if (backoff > MT_WEBHOOK_BACKOFF_MAX)
		backoff = MT_WEBHOOK_BACKOFF_MAX;
	/* Jitter: many hosts failing at once must not retry in lockstep. */
	backoff *= 0.8 + 0.4 * ((double)random() / (double)RAND_MAX);
	if (retry_after > backoff)
		backoff = retry_after;
	if (now - it->created + backoff > w->conf.give_up_after) {
		log_warnx("webhook %s: giving up on notification %s after %u attempts over %.0f s "
			  "(counted as dropped)",
			  w->conf.name, it->id, it->attempts, now - it->created);
		w->stats.dropped++;
		mt_spool_done(w->spool, it);
		return;
	}
	w->stats.retried++;
	it->next_try = now + backoff;
	absorb_newer(w, it);
	enqueue(w, it);
}

/*
 * Delivering again after failures: what waited is due now, and goes out
 * oldest first (dispatch), not in the order the retry jitter gave it.
 */
static void
recovered(struct mt_webhook *w, double now)
{
	struct mt_spool_item *list = w->queue, *it;

	w->queue = NULL;
	w->stats.queued = 0;
	while ((it = list) != NULL) {
		list = it->next;
		it->next_try = now;
		enqueue(w, it);
	}
	w->catchup = w->queue != NULL;
}

static void
finish(struct mt_webhook *w, struct request *r, CURLcode res)
{
	double now = ev_now(w->loop);
	long status = 0;
	curl_off_t retry_after = 0;
	char errbuf[160];

	(void)curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	(void)curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &retry_after);
	if (res == CURLE_OK && status >= 200 && status < 300) {
		bool was_failing = w->stats.failing_since > 0;

		for (size_t i = 0; i < r->nits; i++) {
			w->stats.delivered++;
			mt_spool_done(w->spool, r->its[i]);
		}
		w->warned = false;
		health(w, true, NULL, now);
		if (was_failing)
			recovered(w, now);
	} else if (res == CURLE_OK && status >= 400 && status < 500 && status != 429 &&
		   status != 408) {
		struct mt_buf clean;

		/* The receiver refuses this request: sending it again cannot help. */
		mt_buf_init(&clean, 4 * 200 + 8);
		(void)mt_text_clean(&clean, r->response.data, r->response.len, 200);
		log_warnx("webhook %s: HTTP %ld for notification %s, not retrying: '%s'",
			  w->conf.name, status, r->its[0]->id, clean.data);
		mt_buf_fini(&clean);
		for (size_t i = 0; i < r->nits; i++) {
			w->stats.failed++;
			mt_spool_done(w->spool, r->its[i]);
		}
		(void)snprintf(errbuf, sizeof(errbuf), "HTTP %ld, not retried", status);
		health(w, false, errbuf, now);
	} else {
		if (!w->warned) {
			if (res != CURLE_OK)
				log_warnx("webhook %s: %s; retrying with backoff", w->conf.name,
					  r->error[0] ? r->error : curl_easy_strerror(res));
			else
				log_warnx("webhook %s: HTTP %ld; retrying with backoff",
					  w->conf.name, status);
		}
		w->warned = true;
		if (res != CURLE_OK)
			mt_strlcpy(errbuf, r->error[0] ? r->error : curl_easy_strerror(res),
				   sizeof(errbuf));
		else
			(void)snprintf(errbuf, sizeof(errbuf), "HTTP %ld", status);
		health(w, false, errbuf, now);
		for (size_t i = 0; i < r->nits; i++)
			retry(w, r->its[i],
			      status == 429 || status == 503 ? (double)retry_after : 0, now);
	}
	r->nits = 0;
	request_free(r);
}

static void
check_done(struct mt_webhook *w)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
		struct request *r = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		for (size_t i = 0; i < w->ninflight; i++)
			if (w->inflight[i] == r) {
				w->inflight[i] = w->inflight[--w->ninflight];
				break;
			}
		w->stats.inflight = w->ninflight;
		finish(w, r, msg->data.result);
	}
	dispatch(w);
}

static void
on_socket(struct ev_loop *loop, ev_io *io, int revents)
{
	struct sockwatch *sw = container_of(io, struct sockwatch, io);
	struct mt_webhook *w = sw->w; /* sw may be freed by curl's REMOVE below */
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		     (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	(void)curl_multi_socket_action(w->multi, io->fd, action, &running);
	check_done(w);
}

static void
on_curl_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mt_webhook *w = container_of(t, struct mt_webhook, curl_timer);
	int running;

	(void)curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(w);
}

/* curl: watch this socket for these events (or stop). */
static int
sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct mt_webhook *w = userp;
	struct sockwatch *sw = socketp;

	if (what == CURL_POLL_REMOVE) {
		if (sw) {
			ev_io_stop(w->loop, &sw->io);
			free(sw);
			(void)curl_multi_assign(w->multi, s, NULL);
		}
		return 0;
	}
	if (sw == NULL) {
		sw = mt_xcalloc(1, sizeof(*sw));
		sw->w = w;
		(void)curl_multi_assign(w->multi, s, sw);
	} else {
		ev_io_stop(w->loop, &sw->io);
	}
	ev_io_init(&sw->io, on_socket, s,
		   (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0));
	ev_io_start(w->loop, &sw->io);
	return 0;
}

/* curl: call us back in timeout_ms (-1: stop the timer). */
static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct mt_webhook *w = userp;

	ev_timer_stop(w->loop, &w->curl_timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&w->curl_timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(w->loop, &w->curl_timer);
	}
	return 0;
}

/* Gone from the disk meanwhile: the spool dropped it at its size bound (logged and counted there). */
static bool
vanished(struct mt_webhook *w, struct mt_spool_item *it)
{
	if (it->path == NULL || access(it->path, F_OK) == 0)
		return false;
	w->stats.dropped++;
	mt_spool_item_free(it);
	return true;
}

/*
 * The next item to send: the first due one in next_try order, or, while
 * failing or draining a backlog, the oldest one (by created time) once it
 * is due; never one of a group with an older notification pending.  NULL
 * if none; *ret_wait then says when to look again (< 0: when something
 * completes).
 */
static struct mt_spool_item *
pick(struct mt_webhook *w, bool ordered, double now, double *ret_wait)
{
	struct mt_spool_item *best = NULL;

	*ret_wait = -1;
	for (struct mt_spool_item *it = w->queue; it != NULL; it = it->next) {
		if (ordered) {
			/* The oldest: no older one of its group can be queued. */
			if ((best == NULL || older(it, best)) && !blocked_active(w, it, NULL, 0))
				best = it;
			continue;
		}
		if (it->next_try > now) {
			*ret_wait = it->next_try - now;
			return NULL;
		}
		if (!blocked_active(w, it, NULL, 0) && !older_queued(w, it))
			return it;
	}
	if (best != NULL && best->next_try > now) {
		*ret_wait = best->next_try - now;
		return NULL;
	}
	return best;
}

/* Send what is due, within the in-flight cap and both rate limits. */
static void
dispatch(struct mt_webhook *w)
{
	double now = ev_now(w->loop);
	bool digest = mt_payload_has_digest((enum mt_payload_format)w->conf.format);

	if (w->queue == NULL)
		w->catchup = false;
	for (;;) {
		bool ordered = w->catchup || w->stats.failing_since > 0;
		size_t cap = ordered ? 1 : MT_WEBHOOK_INFLIGHT_MAX;
		struct mt_spool_item *take[MT_PAYLOAD_DIGEST_MAX], *it;
		size_t n = 0;
		double wait;

		if (w->queue == NULL || w->ninflight >= cap)
			return;
		if ((it = pick(w, ordered, now, &wait)) == NULL) {
			if (wait >= 0)
				arm_dispatch(w, wait);
			return;
		}
		if ((wait = mt_rate_take(&w->rate, now)) > 0 ||
		    (wait = mt_rate_take(w->global, now)) > 0) {
			arm_dispatch(w, wait);
			return;
		}
		unqueue(w, it);
		if (vanished(w, it))
			continue;
		take[n++] = it;
		/*
		 * A chat format: what else is due goes in the same digest, oldest
		 * first; while failing or draining a backlog, everything waiting
		 * (its retry schedule aside), so the groups stay in order.
		 */
		while (digest && it->note != NULL && n < MT_PAYLOAD_DIGEST_MAX) {
			struct mt_spool_item *more = NULL;

			for (struct mt_spool_item *q = w->queue; q != NULL; q = q->next)
				if (q->note != NULL && (ordered || q->next_try <= now) &&
				    (more == NULL || older(q, more)) &&
				    !blocked_active(w, q, take, n))
					more = q;
			/* An older one of its group is queued but not due: the digest ends here. */
			if (more == NULL || older_queued(w, more))
				break;
			unqueue(w, more);
			if (!vanished(w, more))
				take[n++] = more;
		}
		start_request(w, take, n);
		if (w->queue == NULL)
			w->catchup = false;
	}
}

static void
on_dispatch(struct ev_loop *loop, ev_timer *t, int revents)
{
	dispatch(container_of(t, struct mt_webhook, dispatch));
}

/*
 * Write again the notifications that are in memory only; true when every
 * one is on disk now.
 */
static bool
respool(struct mt_webhook *w)
{
	bool all = true;

	for (size_t i = 0; i < w->ninflight; i++)
		for (size_t j = 0; j < w->inflight[i]->nits; j++)
			if (mt_spool_retry(w->spool, w->inflight[i]->its[j]) < 0)
				all = false;
	for (struct mt_spool_item *it = w->queue; it != NULL; it = it->next)
		if (mt_spool_retry(w->spool, it) < 0)
			all = false;
	return all;
}

static void
on_respool(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mt_webhook *w = container_of(t, struct mt_webhook, respool);

	if (respool(w))
		ev_timer_stop(loop, t);
}

/* An item in memory only, not yet counted as dropped at stop? */
static bool
unkept(const struct mt_spool_item *it)
{
	return it != NULL && it->path == NULL && !it->dropped;
}

void
mt_webhook_keep(struct mt_webhook *w)
{
	uint64_t n = 0;

	if (respool(w))
		return;
	for (size_t i = 0; i < w->ninflight; i++)
		for (size_t j = 0; j < w->inflight[i]->nits; j++)
			if (unkept(w->inflight[i]->its[j])) {
				w->inflight[i]->its[j]->dropped = true;
				n++;
			}
	for (struct mt_spool_item *it = w->queue; it != NULL; it = it->next)
		if (unkept(it)) {
			it->dropped = true;
			w->stats.queued--; /* not spooled: dropped */
			n++;
		}
	if (n == 0)
		return;
	w->stats.dropped += n;
	log_warnx("webhook %s: %llu notification%s could not be written to the spool and "
		  "are dropped at stop (counted as dropped)",
		  w->conf.name, (unsigned long long)n, n == 1 ? "" : "s");
}

void
mt_webhook_submit(struct mt_webhook *w, const char *body, size_t len)
{
	struct mt_spool_item *it =
		mt_spool_put(w->spool, w->conf.name, body, len, NULL, ev_now(w->loop));

	w->stats.submitted++;
	if (it->path == NULL && !ev_is_active(&w->respool))
		ev_timer_start(w->loop, &w->respool);
	it->order = ++w->order;
	enqueue(w, it);
	dispatch(w);
}

/* The newest notification of note's group waiting in the queue (not in flight), if any. */
static struct mt_spool_item *
newest_queued(struct mt_webhook *w, const struct mt_alert_note *note)
{
	struct mt_spool_item *best = NULL;

	for (struct mt_spool_item *q = w->queue; q != NULL; q = q->next)
		if (q->note != NULL && mt_alert_note_same_group(q->note, note) &&
		    (best == NULL || older(best, q)))
			best = q;
	if (best == NULL)
		return NULL;
	/* One in flight that is newer still (submitted later): that one is the group's latest. */
	for (size_t i = 0; i < w->ninflight; i++)
		for (size_t j = 0; j < w->inflight[i]->nits; j++) {
			const struct mt_spool_item *f = w->inflight[i]->its[j];

			if (f->note != NULL && mt_alert_note_same_group(f->note, note) &&
			    older(best, f))
				return NULL;
		}
	return best;
}

/* A note for the queue: merged into its group's pending one, or queued on its own. */
static void
submit_note(struct mt_webhook *w, struct mt_alert_note *note, double now)
{
	struct mt_spool_item *target = newest_queued(w, note), *it;

	w->stats.submitted++;
	if (target != NULL && mt_alert_note_mergeable(target->note, note)) {
		supersede(w, target, note, NULL);
		mt_alert_note_free(note);
		return;
	}
	mt_buf_reset(&w->render);
	mt_buf_reset(&w->meta);
	if (mt_payload_render(&w->render, (enum mt_payload_format)w->conf.format, &note->g) < 0) {
		log_warnx("webhook %s: notification for %s too large to render, skipping",
			  w->conf.name, note->g.sig->id);
		mt_alert_note_free(note);
		return;
	}
	it = mt_spool_put(w->spool, w->conf.name, w->render.data, w->render.len,
			  mt_alert_note_save(note, &w->meta) == 0 ? w->meta.data : NULL, now);
	it->note = note;
	it->order = ++w->order;
	if (it->path == NULL && !ev_is_active(&w->respool))
		ev_timer_start(w->loop, &w->respool);
	enqueue(w, it);
}

void
mt_webhook_submit_groups(struct mt_webhook *w, const struct mt_alert_group *const *gs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		submit_note(w, mt_alert_note_new(gs[i]), ev_now(w->loop));
	dispatch(w);
}

/*
 * The spool's items from a previous run, oldest first: each with a note
 * (what it reports) joins its group's pending one where they merge, so a
 * restart in an outage still holds one notification per group.
 */
static void
load_spool(struct mt_webhook *w, const struct mt_catalog *cat)
{
	struct mt_spool_item *it, *next;
	uint64_t before = w->stats.coalesced;

	for (it = mt_spool_load(w->spool, w->conf.name, ev_now(w->loop)); it != NULL; it = next) {
		struct mt_spool_item *target;

		next = it->next;
		it->next = NULL;
		it->order = ++w->order;
		if (it->meta != NULL && cat != NULL)
			it->note = mt_alert_note_load(it->meta, strlen(it->meta), cat);
		target = it->note ? newest_queued(w, it->note) : NULL;
		if (target != NULL && mt_alert_note_mergeable(target->note, it->note))
			supersede(w, target, it->note, it);
		else
			enqueue(w, it);
	}
	if (w->queue) {
		log_info("webhook %s: %llu notifications from the spool to deliver (%llu merged "
			 "into their group's)",
			 w->conf.name, (unsigned long long)w->stats.queued,
			 (unsigned long long)(w->stats.coalesced - before));
		w->catchup = true;
	}
}

/* The secret, from a file or the environment; NULL if none is configured. */
static int
read_token(const struct mt_config_webhook *c, char **ret)
{
	char buf[TOKEN_MAX];
	const char *v = NULL;
	size_t len;

	*ret = NULL;
	if (c->token_file) {
		int fd = open(c->token_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		ssize_t n;

		if (fd < 0) {
			log_warn("webhook %s: cannot read token_file %s", c->name, c->token_file);
			return -EINVAL;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (n <= 0) {
			log_warnx("webhook %s: token_file %s is empty", c->name, c->token_file);
			return -EINVAL;
		}
		buf[n] = '\0';
		v = buf;
	} else if (c->token_env) {
		v = getenv(c->token_env);
		if (v == NULL || *v == '\0') {
			log_warnx("webhook %s: environment variable %s is not set", c->name,
				  c->token_env);
			return -EINVAL;
		}
	}
	if (v == NULL)
		return 0;
	len = strcspn(v, "\r\n");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			log_warnx("webhook %s: the token holds control characters", c->name);
			return -EINVAL;
		}
	*ret = mt_xstrndup(v, len);
	return 0;
}

int
mt_webhook_new(struct ev_loop *loop, const struct mt_config_webhook *conf, struct mt_spool *spool,
	       struct mt_rate *global, const struct mt_catalog *cat, struct mt_webhook **ret)
{
	struct mt_webhook *w;
	char *token;
	const char *ph;

	if (read_token(conf, &token) < 0)
		return -EINVAL;
	w = mt_xcalloc(1, sizeof(*w));
	w->loop = loop;
	w->conf = *conf;
	w->spool = spool;
	w->global = global;
	mt_buf_init(&w->render, MT_PAYLOAD_MAX);
	mt_buf_init(&w->meta, SPOOL_META_MAX);
	mt_rate_init(&w->rate, conf->max_per_minute, ev_now(loop));
	/* A {token} in the URL (Slack, Discord) takes the secret; else a bearer header. */
	if (token && (ph = strstr(conf->url, "{token}")) != NULL) {
		size_t pre = (size_t)(ph - conf->url), tl = strlen(token), post = strlen(ph + 7);

		w->url = mt_xmalloc(pre + tl + post + 1);
		memcpy(w->url, conf->url, pre);
		memcpy(w->url + pre, token, tl);
		memcpy(w->url + pre + tl, ph + 7, post + 1);
	} else {
		w->url = mt_xstrdup(conf->url);
		if (token) {
			size_t n = strlen(token) + 32;

			w->auth = mt_xmalloc(n);
			(void)snprintf(w->auth, n, "Authorization: Bearer %s", token);
		}
	}
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	w->multi = curl_multi_init();
	if (w->multi == NULL)
		mt_panic("curl_multi_init failed");
	(void)curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	(void)curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	(void)curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	(void)curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	ev_timer_init(&w->curl_timer, on_curl_timer, 0., 0.);
	ev_timer_init(&w->dispatch, on_dispatch, 0., 0.);
	ev_timer_init(&w->respool, on_respool, MT_WEBHOOK_RESPOOL, MT_WEBHOOK_RESPOOL);
	/* What a previous run could not deliver goes first. */
	load_spool(w, cat);
	dispatch(w);
	*ret = w;
	return 0;
}

struct mt_webhook *
mt_webhook_free(struct mt_webhook *w)
{
	if (w == NULL)
		return NULL;
	/* In flight or queued: the spool files stay for the next run. */
	mt_webhook_keep(w);
	ev_timer_stop(w->loop, &w->respool);
	for (size_t i = 0; i < w->ninflight; i++) {
		for (size_t j = 0; j < w->inflight[i]->nits; j++)
			mt_spool_item_free(w->inflight[i]->its[j]);
		w->inflight[i]->nits = 0;
		request_free(w->inflight[i]);
	}
	while (w->queue) {
		struct mt_spool_item *it = w->queue;

		w->queue = it->next;
		mt_spool_item_free(it);
	}
	ev_timer_stop(w->loop, &w->curl_timer);
	ev_timer_stop(w->loop, &w->dispatch);
	curl_multi_cleanup(w->multi);
	if (w->auth) {
		explicit_bzero(w->auth, strlen(w->auth));
		free(w->auth);
	}
	free(w->url);
	mt_buf_fini(&w->render);
	mt_buf_fini(&w->meta);
	free(w);
	return NULL;
}

size_t
mt_webhook_inflight(const struct mt_webhook *w)
{
	return w->ninflight;
}

const struct mt_webhook_stats *
mt_webhook_stats(const struct mt_webhook *w)
{
	return &w->stats;
}

const char *
mt_webhook_name(const struct mt_webhook *w)
{
	return w->conf.name;
}

const struct mt_config_webhook *
mt_webhook_conf(const struct mt_webhook *w)
{
	return &w->conf;
}
