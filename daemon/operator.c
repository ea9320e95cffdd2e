/* operator - the daemon's counters, status, metrics and silences (the operator's side). */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "ctl/ctl.h"
#include "ctl/metrics.h"
#include "ctl/status.h"
#include "daemon_int.h"
#include "input/inputs.h"
#include "log.h"
#include "match/catalog.h"
#include "match/matcher.h"
#include "mt_config.h"
#include "sink/delivery.h"
#include "sink/spool.h"
#include "sink/webhook.h"
#include "util.h"
#include "util/xalloc.h"
#include "util/ydoc.h"

void
op_count_match(struct generation *g, size_t idx, double now)
{
	int64_t minute = (int64_t)(now / 60);
	struct hourly *h = g->hourly[idx];
	size_t slot = (size_t)(minute % 60);

	if (h == NULL)
		h = g->hourly[idx] = mt_xcalloc(1, sizeof(*h));
	if (h->minute[slot] != minute) {
		h->minute[slot] = minute;
		h->count[slot] = 0;
	}
	if (h->count[slot] < UINT32_MAX)
		h->count[slot]++;
}

static uint64_t
last_hour(const struct hourly *h, double now)
{
	int64_t minute = (int64_t)(now / 60);
	uint64_t n = 0;

	for (size_t i = 0; h != NULL && i < 60; i++)
		if (h->minute[i] > minute - 60 && h->minute[i] <= minute)
			n += h->count[i];
	return n;
}

bool
op_silenced(struct mt_daemon *d, const struct mt_alert *a)
{
	double now = ev_now(d->loop);
	const struct mt_silence *sl = mt_silences_match(&d->silences, a, now);

	if (sl != NULL) {
		log_debug("alert for %s silenced by %s", a->match->sig->id, sl->id);
		return true;
	}
	if (d->gen.cfg->nmaintenance > 0) {
		time_t t = (time_t)now;
		struct tm tm;

		if (localtime_r(&t, &tm) != NULL &&
		    mt_config_maintenance(d->gen.cfg, a->match->sig, tm.tm_wday,
					  tm.tm_hour * 60 + tm.tm_min) != NULL) {
			log_debug("alert for %s silenced by a maintenance window",
				  a->match->sig->id);
			return true;
		}
	}
	return false;
}

static struct input_stat *
input_stat(struct mt_daemon *d, const char *file)
{
	if (d->ilast < d->nistats && strcmp(d->istats[d->ilast].path, file) == 0)
		return &d->istats[d->ilast];
	for (size_t i = 0; i < d->nistats; i++) {
		if (strcmp(d->istats[i].path, file) == 0) {
			d->ilast = i;
			return &d->istats[i];
		}
	}
	if (d->nistats > MT_INPUTS_MAX_FILES)
		return NULL; /* bounded: files that come and go under a glob */
	d->istats = mt_xreallocarray(d->istats, d->nistats + 1, sizeof(*d->istats));
	memset(&d->istats[d->nistats], 0, sizeof(*d->istats));
	d->istats[d->nistats].path = mt_xstrdup(file);
	d->ilast = d->nistats;
	return &d->istats[d->nistats++];
}

void
op_count_line(struct mt_daemon *d, const char *file, size_t len, bool truncated, uint64_t offset)
{
	struct input_stat *st = input_stat(d, file);
	bool journal = strcmp(file, "journal") == 0;

	if (st == NULL)
		return;
	st->lines++;
	st->cut += truncated;
	st->last_line = ev_now(d->loop);
	if (!journal)
		st->position = offset + len + 1;
}

void
op_carry_counts(struct generation *to, const struct generation *from)
{
	for (size_t i = 0; i < mt_catalog_count(to->cat); i++) {
		const struct mt_signature *old =
			mt_catalog_find(from->cat, mt_catalog_get(to->cat, i)->id);

		if (old == NULL)
			continue;
		to->matched[i] = from->matched[old->index];
		to->silenced[i] = from->silenced[old->index];
		if (from->hourly[old->index] != NULL) {
			to->hourly[i] = mt_xcalloc(1, sizeof(*to->hourly[i]));
			*to->hourly[i] = *from->hourly[old->index];
		}
	}
}

/* A webhook's counters from before the last reload, by name; made when make is true. */
static struct sink_carry *
sink_carry(struct mt_daemon *d, const char *name, bool make)
{
	for (size_t i = 0; i < d->nwcarry; i++)
		if (strcmp(d->wcarry[i].name, name) == 0)
			return &d->wcarry[i];
	if (!make)
		return NULL;
	d->wcarry = mt_xreallocarray(d->wcarry, d->nwcarry + 1, sizeof(*d->wcarry));
	d->wcarry[d->nwcarry] = (struct sink_carry){ .name = mt_xstrdup(name) };
	return &d->wcarry[d->nwcarry++];
}

/*
 * A reload replaces the sinks and their counters start again from zero:
 * add what they counted to the carried totals, so status and the metrics'
 * counters only go up.  A webhook that a reload removes keeps its entry
 * (bounded by the webhooks ever configured) and counts on if it comes back.
 */
void
op_carry_sinks(struct mt_daemon *d)
{
	const struct mt_output_stats *os = mt_output_stats(d->out);
	struct mt_output_stats *oc = &d->out_carry;
	size_t nw = d->delivery ? mt_delivery_nwebhooks(d->delivery) : 0;

	oc->stdout_written += os->stdout_written;
	oc->stdout_failed += os->stdout_failed;
	oc->syslog_sent += os->syslog_sent;
	oc->syslog_failed += os->syslog_failed;
	oc->syslog_dropped += os->syslog_dropped;
	oc->journal_sent += os->journal_sent;
	oc->journal_failed += os->journal_failed;
	for (size_t i = 0; i < nw; i++) {
		const struct mt_webhook *w = mt_delivery_webhook(d->delivery, i);
		const struct mt_webhook_stats *ws = mt_webhook_stats(w);
		struct sink_carry *c = sink_carry(d, mt_webhook_name(w), true);

		c->sent += ws->delivered;
		c->retried += ws->retried;
		c->failed += ws->failed;
		c->dropped += ws->dropped;
		c->coalesced += ws->coalesced;
	}
}

/* Everything status and metrics show; the arrays are the caller's to free. */
static void
status_fill(struct mt_daemon *d, struct mt_status *st)
{
	struct generation *g = &d->gen;
	const struct mt_output_stats *os = mt_output_stats(d->out), *oc = &d->out_carry;
	struct mt_status_input *in;
	struct mt_status_signature *sg;
	struct mt_status_sink *sk;
	const struct mt_tail_stats *ts;
	size_t nw = d->delivery ? mt_delivery_nwebhooks(d->delivery) : 0, n = 0;
	double now = ev_now(d->loop);
	time_t t = (time_t)now;
	struct tm tm;

	memset(st, 0, sizeof(*st));
	st->version = MT_VERSION;
	st->now = now;
	st->started = d->started;
	st->generation = d->generation;
	st->reloads = d->reloads;
	st->reload_failures = d->reload_failures;
	st->catalog_errors = g->catalog_errors;
	st->signatures = mt_catalog_count(g->cat);
	st->lines = d->lines;
	st->alerts = d->alerts;
	st->silenced = d->silenced;
	st->own_lines = d->own_lines;
	for (size_t i = 0; i < d->silences.n; i++)
		st->silences_active += mt_silence_active(&d->silences.v[i], now);
	if (localtime_r(&t, &tm) != NULL)
		for (size_t i = 0; i < g->cfg->nmaintenance; i++) {
			const struct mt_config_window *w = &g->cfg->maintenance[i];
			struct mt_window win = { w->day_mask, w->start_min, w->end_min };

			st->maintenance_windows +=
				mt_window_active(&win, tm.tm_wday, tm.tm_hour * 60 + tm.tm_min);
		}

	in = mt_xcalloc(d->nistats + 1, sizeof(*in));
	for (size_t i = 0; i < d->nistats; i++) {
		in[i].path = d->istats[i].path;
		in[i].lines = d->istats[i].lines;
		in[i].cut = d->istats[i].cut;
		/* The tail's own counts: a rotation it saw, not a position that went back. */
		ts = mt_inputs_file_stats(d->inputs, in[i].path);
		if (ts != NULL) {
			in[i].rotations = ts->rotations;
			in[i].truncations = ts->truncations;
			in[i].lost = ts->lost;
		}
		in[i].position = d->istats[i].position;
		in[i].last_line = d->istats[i].last_line;
	}
	st->inputs = in;
	st->ninputs = d->nistats;

	sg = mt_xcalloc(mt_catalog_count(g->cat) + 1, sizeof(*sg));
	for (size_t i = 0; i < mt_catalog_count(g->cat); i++) {
		const struct mt_signature *sig = mt_catalog_get(g->cat, i);

		if (g->matched[i] == 0)
			continue;
		sg[n].id = sig->id;
		sg[n].severity = mt_severity_name(
			g->severity[i] >= 0 ? (enum mt_severity)g->severity[i] : sig->severity);
		sg[n].total = g->matched[i];
		sg[n].silenced = g->silenced[i];
		sg[n].last_hour = last_hour(g->hourly[i], now);
		n++;
	}
	st->sigs = sg;
	st->nsigs = n;

	sk = mt_xcalloc(3 + nw, sizeof(*sk));
	/* Counts before the last reload plus this generation's. */
	sk[0] = (struct mt_status_sink){
		.kind = "stdout",
		.enabled = g->cfg->alerting.stdout_sink.enabled,
		.sent = oc->stdout_written + os->stdout_written,
		.failed = oc->stdout_failed + os->stdout_failed,
	};
	sk[1] = (struct mt_status_sink){
		.kind = "syslog",
		.enabled = g->cfg->alerting.syslog_sink.enabled,
		.sent = oc->syslog_sent + os->syslog_sent,
		.failed = oc->syslog_failed + os->syslog_failed,
		.dropped = oc->syslog_dropped + os->syslog_dropped,
	};
	sk[2] = (struct mt_status_sink){
		.kind = "journal",
		.enabled = g->cfg->alerting.journal_sink.enabled,
		.sent = oc->journal_sent + os->journal_sent,
		.failed = oc->journal_failed + os->journal_failed,
	};
	for (size_t i = 0; i < nw; i++) {
		const struct mt_webhook *w = mt_delivery_webhook(d->delivery, i);
		const struct mt_webhook_stats *ws = mt_webhook_stats(w);
		const struct sink_carry *c = sink_carry(d, mt_webhook_name(w), false);
		const struct sink_carry none = { 0 };

		if (c == NULL)
			c = &none;
		sk[3 + i] = (struct mt_status_sink){
			.kind = "webhook",
			.name = mt_webhook_name(w),
			.enabled = true,
			.sent = c->sent + ws->delivered,
			.retried = c->retried + ws->retried,
			.failed = c->failed + ws->failed,
			.dropped = c->dropped + ws->dropped,
			.queued = ws->queued + ws->inflight,
			.coalesced = c->coalesced + ws->coalesced,
			/* ev_now() is the wall clock: libev's ev_time(). */
			.failing_since = ws->failing_since,
			.last_error = ws->last_error,
			.spool_bytes =
				mt_delivery_spool_sink_bytes(d->delivery, mt_webhook_name(w)),
		};
	}
	st->sinks = sk;
	st->nsinks = 3 + nw;
	if (d->delivery != NULL) {
		const struct mt_spool_stats *ss = mt_delivery_spool_stats(d->delivery);

		st->spool_bytes = ss->bytes;
		st->spool_dropped = ss->dropped_size + ss->dropped_age;
	}
}

static void
status_free(struct mt_status *st)
{
	free((void *)st->inputs);
	free((void *)st->sigs);
	free((void *)st->sinks);
}

static void
on_metrics(void *ctx, struct mt_buf *out)
{
	struct mt_daemon *d = ctx;
	struct mt_status st;

	status_fill(d, &st);
	if (mt_status_prometheus(out, &st) < 0)
		log_warnx("metrics: the exposition is larger than %d bytes, cut",
			  MT_METRICS_BODY_MAX);
	status_free(&st);
}

/* Read <state>/silences.json again; a file that does not parse leaves the set as it was. */
static void
silences_load(struct mt_daemon *d, bool quiet_if_missing)
{
	struct mt_diag diag;
	char *data;
	size_t len;
	int r;

	mt_diag_init(&diag);
	r = mt_ydoc_read_file(d->silences_path, &diag, &data, &len);
	if (r == -ENOENT) {
		if (d->silences.n > 0)
			log_info("silences: %s is gone; no silence in force", d->silences_path);
		mt_silences_fini(&d->silences);
		mt_diag_fini(&diag);
		return;
	}
	if (r == 0) {
		r = mt_silences_parse(d->silences_path, data, len, &diag, &d->silences);
		free(data);
	}
	if (r < 0) {
		daemon_print_diags(&diag);
		log_warnx("silences: %s not read; keeping the %zu silence%s already known",
			  d->silences_path, d->silences.n, plural(d->silences.n));
	} else if (!quiet_if_missing || d->silences.n > 0) {
		size_t active = 0;

		for (size_t i = 0; i < d->silences.n; i++)
			active += mt_silence_active(&d->silences.v[i], ev_now(d->loop));
		log_info("silences: %zu in %s, %zu in force", d->silences.n, d->silences_path,
			 active);
	}
	mt_diag_fini(&diag);
}

/*
 * The state directory changed: read the silences again if silences.json was
 * written, renamed into place or removed.  A watch on the directory, not on
 * the file, sees the atomic rename of `mtalertd silence`, and costs nothing
 * while nothing happens (ev_stat would stat the file every few seconds).
 */
static void
on_silences_changed(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mt_daemon *d = container_of(w, struct mt_daemon, silences_watch);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	while ((n = read(d->silences_ino, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

			if (ev->len > 0 && strcmp(ev->name, "silences.json") == 0)
				changed = true;
			if (ev->mask & IN_Q_OVERFLOW)
				changed = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (changed)
		silences_load(d, false);
}

static void
on_ctl(void *ctx, const char *request, struct mt_buf *out)
{
	struct mt_daemon *d = ctx;
	struct mt_status st;

	if (strcmp(request, "status") == 0 || strcmp(request, "status json") == 0) {
		status_fill(d, &st);
		if ((strcmp(request, "status") == 0 ? mt_status_text(out, &st) :
						      mt_status_json(out, &st)) < 0)
			log_warnx("control: the status is larger than %d bytes, cut",
				  MT_CTL_RESPONSE_MAX);
		status_free(&st);
	} else if (strcmp(request, "silences reload") == 0) {
		silences_load(d, false);
		(void)mt_buf_printf(out, "ok %zu\n", d->silences.n);
	} else {
		(void)mt_buf_puts(out, "error unknown request (status, status json, silences "
				       "reload)\n");
	}
}

void
op_configure(struct mt_daemon *d)
{
	const struct mt_config *c = d->gen.cfg;
	const char *want = c->control.enabled ? c->control.socket : NULL;

	if (d->ctl_path == NULL || want == NULL || strcmp(d->ctl_path, want) != 0) {
		d->ctl = mt_ctl_free(d->ctl);
		free(d->ctl_path);
		d->ctl_path = NULL;
		if (want != NULL) {
			char *dir = mt_xstrdup(want);

			/* Without systemd's RuntimeDirectory=: make it, as it would. */
			if (mkdir(dirname(dir), 0750) < 0 && errno != EEXIST)
				log_warn("cannot create %s", dir);
			free(dir);
			d->ctl = mt_ctl_new(d->loop, want, on_ctl, d);
			d->ctl_path = mt_xstrdup(want);
		}
	}
	want = c->metrics.listen;
	if (d->metrics_listen == NULL || want == NULL || strcmp(d->metrics_listen, want) != 0) {
		d->metrics = mt_metrics_free(d->metrics);
		free(d->metrics_listen);
		d->metrics_listen = NULL;
		if (want != NULL) {
			d->metrics = mt_metrics_new(d->loop, c->metrics.address, c->metrics.port,
						    on_metrics, d);
			d->metrics_listen = mt_xstrdup(want);
		}
	}
}

void
op_silences_start(struct mt_daemon *d)
{
	struct mt_buf p;

	mt_buf_init(&p, MT_CONFIG_PATH_MAX + 32);
	(void)mt_buf_printf(&p, "%s/silences.json", d->gen.cfg->state_directory);
	free(d->silences_path);
	d->silences_path = mt_xstrdup(p.data ? p.data : "");
	mt_buf_fini(&p);
	silences_load(d, true);
	d->silences_ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->silences_ino >= 0 &&
	    inotify_add_watch(d->silences_ino, d->gen.cfg->state_directory,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_ONLYDIR) < 0) {
		(void)close(d->silences_ino);
		d->silences_ino = -1;
	}
	if (d->silences_ino < 0) {
		log_warn("cannot watch %s; silences are read again only when `mtalertd silence` "
			 "tells the daemon, or on reload",
			 d->gen.cfg->state_directory);
		return;
	}
	ev_io_init(&d->silences_watch, on_silences_changed, d->silences_ino, EV_READ);
	ev_io_start(d->loop, &d->silences_watch);
}

void
op_silences_stop(struct mt_daemon *d)
{
	if (d->silences_ino >= 0) {
		ev_io_stop(d->loop, &d->silences_watch);
		(void)close(d->silences_ino);
	}
	d->silences_ino = -1;
	mt_silences_fini(&d->silences);
	free(d->silences_path);
	d->silences_path = NULL;
}

void
op_log_status(struct mt_daemon *d)
{
	struct mt_status st;
	struct mt_buf b;
	const char *p, *nl;

	mt_buf_init(&b, MT_CTL_RESPONSE_MAX);
	status_fill(d, &st);
	(void)mt_status_text(&b, &st);
	status_free(&st);
	for (p = b.data; p != NULL && p < b.data + b.len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(b.data + b.len - p));
		if (nl == NULL)
			nl = b.data + b.len;
		if (nl > p)
			log_info("status: %.*s", (int)(nl - p), p);
	}
	mt_buf_fini(&b);
}

void
op_stop(struct mt_daemon *d)
{
	d->ctl = mt_ctl_free(d->ctl);
	d->metrics = mt_metrics_free(d->metrics);
	free(d->ctl_path);
	free(d->metrics_listen);
	op_silences_stop(d);
	for (size_t i = 0; i < d->nistats; i++)
		free(d->istats[i].path);
	free(d->istats);
	for (size_t i = 0; i < d->nwcarry; i++)
		free(d->wcarry[i].name);
	free(d->wcarry);
}
