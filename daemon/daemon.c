/* daemon - the event loop: a generation of config and catalog, lines in, alerts out. */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "alert/alert.h"
#include "alert/silence.h"
#include "cli/cli.h"
#include "config/config.h"
#include "correlation.h"
#include "ctl/ctl.h"
#include "ctl/metrics.h"
#include "ctl/status.h"
#include "daemon_int.h"
#include "input/inputs.h"
#include "input/state.h"
#include "log.h"
#include "match/catalog.h"
#include "match/matcher.h"
#include "mt_config.h"
#include "notify.h"
#include "parse/logline.h"
#include "sink/delivery.h"
#include "sink/output.h"
#include "sink/spool.h"
#include "sink/webhook.h"
#include "util.h"
#include "util/xalloc.h"
#include "util/ydoc.h"

/* --- a generation: configuration, catalog, matcher ---------------------- */

void
daemon_print_diags(const struct mt_diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char line[1400];

		mt_diag_format(d, i, line, sizeof(line));
		if (d->recs[i].level == MT_DIAG_ERROR)
			log_error("%s", line);
		else
			log_warnx("%s", line);
	}
	if (d->dropped)
		log_warnx("%zu more diagnostics not shown", d->dropped);
}

static void
generation_free(struct generation *g)
{
	for (size_t i = 0; g->hourly != NULL && i < mt_catalog_count(g->cat); i++)
		free(g->hourly[i]);
	free(g->hourly);
	g->hourly = NULL;
	mt_matcher_free(g->matcher);
	mt_alert_cache_free(g->cache);
	mt_catalog_free(g->cat);
	mt_config_free(g->cfg);
	free(g->severity);
	free(g->limit_warned);
	free(g->matched);
	free(g->silenced);
	memset(g, 0, sizeof(*g));
}

/* The configuration with the command line's overrides; false after logging why not. */
static bool
generation_config(struct mt_daemon *d, struct generation *g, const char *def_sigs,
		  struct mt_diag *diag)
{
	const char *path = d->opts->config_path ? d->opts->config_path : cli_default_config();

	if (path == NULL) {
		g->cfg = mt_config_default(def_sigs);
	} else {
		(void)mt_config_check_secrecy(path, diag);
		if (mt_config_load(path, def_sigs, diag, &g->cfg) < 0)
			return false;
	}
	if (d->opts->ninputs > 0 && mt_config_set_inputs(g->cfg, d->opts->inputs, d->opts->ninputs,
							 MT_START_BEGINNING) < 0) {
		log_error("--input takes absolute paths");
		return false;
	}
	if (d->opts->state_dir != NULL &&
	    mt_config_set_state_directory(g->cfg, d->opts->state_dir) < 0) {
		log_error("--state-dir takes an absolute path");
		return false;
	}
	if (d->opts->format != NULL) {
		g->cfg->alerting.stdout_sink.enabled = true;
		g->cfg->alerting.stdout_sink.format =
			strcmp(d->opts->format, "text") == 0 ? MT_FORMAT_TEXT : MT_FORMAT_JSON;
	}
	return true;
}

/*
 * Load config and catalog into g; false (and g empty) on a config error.
 * At boot (partial_ok) a signature file that does not load is logged and
 * counted, and the daemon runs with the others: one bad local file must not
 * leave a mail host unwatched.  A reload needs every file, since the live
 * generation still has what the broken file held.
 */
static bool
generation_load(struct mt_daemon *d, struct generation *g, bool partial_ok)
{
	const char *def_sigs = cli_default_signatures();
	struct mt_diag diag;
	bool ok;

	memset(g, 0, sizeof(*g));
	mt_diag_init(&diag);
	ok = generation_config(d, g, def_sigs, &diag);
	if (ok) {
		const char *const *paths = d->opts->sig_paths;
		size_t npaths = d->opts->nsig_paths;

		if (npaths == 0) {
			paths = (const char *const *)g->cfg->signatures.directories;
			npaths = g->cfg->signatures.ndirectories;
		}
		size_t before = diag.errors;

		g->cat = mt_catalog_load_lean(paths, npaths, &diag);
		g->catalog_errors = diag.errors - before;
		if (mt_catalog_count(g->cat) == 0) {
			log_error("no usable signature in %s", npaths ? paths[0] : "(none)");
			ok = false;
		} else if (g->catalog_errors > 0 && !partial_ok) {
			ok = false;
		} else {
			(void)mt_config_check_catalog(g->cfg, g->cat, &diag);
		}
	}
	daemon_print_diags(&diag);
	mt_diag_fini(&diag);
	if (ok && g->catalog_errors > 0)
		log_error("%zu error%s in signature files (see above): those files are not used; "
			  "running with the %zu signature%s that loaded",
			  g->catalog_errors, plural(g->catalog_errors), mt_catalog_count(g->cat),
			  plural(mt_catalog_count(g->cat)));
	if (!ok) {
		generation_free(g);
		return false;
	}

	g->matcher = mt_matcher_new(g->cat);
	/* Loading freed much more than it keeps (YAML trees, parser buffers): give it back. */
	(void)malloc_trim(0);
	g->cache = mt_alert_cache_new(mt_catalog_count(g->cat));
	g->severity = mt_xcalloc(mt_catalog_count(g->cat), sizeof(*g->severity));
	g->limit_warned = mt_xcalloc(mt_catalog_count(g->cat), sizeof(*g->limit_warned));
	g->matched = mt_xcalloc(mt_catalog_count(g->cat), sizeof(*g->matched));
	g->silenced = mt_xcalloc(mt_catalog_count(g->cat), sizeof(*g->silenced));
	g->hourly = mt_xcalloc(mt_catalog_count(g->cat), sizeof(*g->hourly));
	for (size_t i = 0; i < mt_catalog_count(g->cat); i++) {
		const struct mt_signature *s = mt_catalog_get(g->cat, i);
		enum mt_severity sev;

		mt_matcher_set_enabled(
			g->matcher, i,
			mt_config_signature_enabled(g->cfg, s->id, s->category, s->domain));
		g->severity[i] =
			mt_config_severity_override(g->cfg, s->id, &sev) == 0 ? (int)sev : -1;
	}
	return true;
}

/* --- lines to alerts ---------------------------------------------------- */

static void
warn_limits(struct mt_daemon *d, const char *path)
{
	struct generation *g = &d->gen;

	for (size_t i = 0; i < mt_catalog_count(g->cat); i++) {
		if (g->limit_warned[i] || mt_matcher_limit_hits(g->matcher, i) == 0)
			continue;
		g->limit_warned[i] = true;
		log_warnx(
			"signature %s hit the regex work limit on a line of %s; counted as no match "
			"(warned once per signature)",
			mt_catalog_get(g->cat, i)->id, path);
	}
}

static void
mark_dirty(struct mt_daemon *d)
{
	if (!ev_is_active(&d->checkpoint)) {
		ev_timer_set(&d->checkpoint, d->gen.cfg->checkpoint_interval, 0.);
		ev_timer_start(d->loop, &d->checkpoint);
	}
}

static bool
view_is(const struct mt_view *v, const char *s)
{
	return v->len == strlen(s) && memcmp(v->p, s, v->len) == 0;
}

/*
 * A line mtalert wrote itself: an alert through the syslog sink (our tag)
 * or the daemon's own messages (mtalertd, through the journal).  Whatever
 * routes them back into a followed log, they must never alert again: one
 * alert would become a storm that fills the disk.  Any pid: an earlier run
 * of ours wrote them too.
 */
static bool
own_line(const struct mt_daemon *d, const struct mt_logrec *rec)
{
	const struct mt_view *prog = &rec->f[MT_F_PROGRAM];

	return prog->len > 0 &&
	       (view_is(prog, d->gen.cfg->alerting.syslog_sink.tag) || view_is(prog, "mtalertd"));
}

/* --- correlate (issue 12) --- */
#define HEALTH_LINE_MAX 768

/* Untrusted text for our own line: printable ASCII without spaces, at most max bytes. */
static void
put_token(char *dst, size_t size, const char *src, size_t max)
{
	size_t n = 0;

	for (; src != NULL && *src != '\0' && n < max && n + 1 < size; src++)
		dst[n++] = *src > ' ' && *src < 0x7f ? *src : '?';
	if (n == 0 && size > 1)
		dst[n++] = '?';
	dst[n] = '\0';
}

/*
 * What the stage says beyond the alert: a destination that accepts mail
 * again resolves its groups; a destination over the health threshold gets
 * an alert of local/mtalert-destination-unhealthy (built as our own line into
 * line, returned as its length; 0: none), which resolves when it recovers.
 * The caller hands the line out after the record's own alert: cr's strings
 * are only valid until the next observe.
 */
static size_t
correlation_events(struct mt_daemon *d, const struct mt_corr_result *cr, char *line, size_t size)
{
	char dest[128], cause[128];
	int n;

	if (cr->resolved_destination != NULL) {
		log_info("destination '%.100s' accepts mail again (was: %s)",
			 cr->resolved_destination, cr->resolved_cause);
		if (d->delivery != NULL)
			mt_delivery_resolve(d->delivery, NULL, cr->resolved_destination);
	}
	if (cr->health_destination == NULL)
		return 0;
	if (cr->health_recovered) {
		log_info("destination '%.100s' is healthy again: %u%% of %u attempts failed",
			 cr->health_destination, cr->health_percent, cr->health_attempts);
		if (d->delivery != NULL)
			mt_delivery_resolve(d->delivery, MT_DEST_UNHEALTHY_ID,
					    cr->health_destination);
		return 0;
	}
	log_warnx("destination '%.100s': %u%% of %u delivery attempts failed over the last "
		  "%.0f s (threshold %llu%%)%s%s",
		  cr->health_destination, cr->health_percent, cr->health_attempts,
		  d->gen.cfg->correlate.health_window,
		  (unsigned long long)d->gen.cfg->correlate.health_threshold,
		  cr->health_cause ? ", mostly " : "", cr->health_cause ? cr->health_cause : "");
	put_token(dest, sizeof(dest), cr->health_destination, 100);
	put_token(cause, sizeof(cause), cr->health_cause, 100);
	n = snprintf(line, size,
		     "mtalertd[%ld]: destination %s unhealthy: %u%% of %u delivery attempts "
		     "failed over %.0f s (threshold %llu%%)%s%s",
		     (long)getpid(), dest, cr->health_percent, cr->health_attempts,
		     d->gen.cfg->correlate.health_window,
		     (unsigned long long)d->gen.cfg->correlate.health_threshold,
		     cr->health_cause ? ", mostly " : "", cr->health_cause ? cause : "");
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}
/* --- end correlate --- */

static void alert_line(struct mt_daemon *d, const char *file, const char *p, size_t len,
		       bool truncated, uint64_t offset, const struct mt_logrec *prec, bool own);

/* Hand a matched line's alert to the sinks. */
static void
alert_out(struct mt_daemon *d, const char *file, const char *p, size_t len, bool truncated,
	  uint64_t offset, const struct mt_logrec *prec, const struct mt_match *res, size_t n,
	  const struct mt_corr_result *pcr)
{
	struct generation *g = &d->gen;
	const struct mt_logrec rec = *prec;
	const struct mt_corr_result cr = *pcr;
	size_t idx;

	idx = res[0].sig->index;
	{
		/* File tails know byte offsets, not line numbers: lineno 0 says so. */
		struct mt_alert a = {
			.match = &res[0],
			.others = res + 1,
			.nothers = n - 1,
			.rec = &rec,
			.line = p,
			.len = len,
			.truncated = truncated,
			.file = file,
			.offset = offset,
			.lineno = 0,
			.locale = g->cfg->locale,
			.has_severity = g->severity[idx] >= 0,
			.severity =
				(enum mt_severity)(g->severity[idx] >= 0 ? g->severity[idx] : 0),
			.hostname = d->hostname,
			.cache = g->cache,
			/* correlate (issue 12): the first cause, for repeats and outcomes */
			.repeat = cr.verdict == MT_CORR_REPEAT,
			.cause_id = cr.verdict >= MT_CORR_REPEAT ? cr.cause_id : NULL,
			.cause_sig = cr.verdict >= MT_CORR_REPEAT ? cr.cause_sig : NULL,
			.cause_reply = cr.verdict >= MT_CORR_REPEAT ? cr.cause_reply : NULL,
			.cause_since = cr.verdict >= MT_CORR_REPEAT ? cr.cause_since : 0,
			.outcome = cr.verdict == MT_CORR_OUTCOME ? cr.outcome : NULL,
			.outcome_text = cr.verdict == MT_CORR_OUTCOME ? cr.summary : NULL,
		};

		g->matched[idx]++;
		d->alerts++;
		op_count_match(g, idx, ev_now(d->loop));
		if (op_silenced(d, &a)) {
			g->silenced[idx]++;
			d->silenced++;
			return;
		}
		mt_output_alert(d->out, &a);
		if (d->delivery != NULL)
			mt_delivery_offer(d->delivery, &a);
	}
}

/*
 * Match one record and hand its alert, if any, to the sinks.  own: a line
 * mtalertd built itself (no correlation: it is about the tables, not in them).
 */
static void
alert_line(struct mt_daemon *d, const char *file, const char *p, size_t len, bool truncated,
	   uint64_t offset, const struct mt_logrec *prec, bool own)
{
	struct generation *g = &d->gen;
	uint64_t hits = mt_matcher_stats(g->matcher)->limit_hits;
	const struct mt_match *res;
	struct mt_logrec rec = *prec;
	struct mt_corr_result cr = { 0 }; /* correlate (issue 12) */
	char health[HEALTH_LINE_MAX];
	size_t n, hlen = 0;

	n = mt_matcher_run(g->matcher, p, len, rec.mta, &res);
	if (mt_matcher_stats(g->matcher)->limit_hits != hits)
		warn_limits(d, file);
	/* --- correlate (issue 12): every record, matched or not --- */
	if (!own) {
		mt_correlation_observe(d->corr, &rec, n ? res[0].sig : NULL, ev_now(d->loop), &cr);
		hlen = correlation_events(d, &cr, health, sizeof(health));
	}
	/* --- end correlate --- */
	if (n > 0)
		alert_out(d, file, p, len, truncated, offset, &rec, res, n, &cr);
	if (hlen > 0) {
		struct mt_logrec hrec;

		/* The matcher's results of this record are spent: matching again is safe. */
		mt_logline_parse(health, hlen, &hrec);
		alert_line(d, "mtalertd", health, hlen, false, 0, &hrec, true);
	}
}

/* Every record (a line, or an Exim entry over several): parse, match, alert. */
static void
on_record(void *ctx, const struct mt_join_rec *r)
{
	struct mt_daemon *d = ctx;
	struct mt_logrec rec;

	mt_logline_parse(r->p, r->len, &rec);
	if (own_line(d, &rec)) {
		d->own_lines++;
		return;
	}
	alert_line(d, r->file, r->p, r->len, r->truncated, r->offset, &rec, false);
}

/* Every line of every input, to records (correlation.h). */
static void
on_line(void *ctx, const char *file, const char *p, size_t len, bool truncated, uint64_t offset)
{
	struct mt_daemon *d = ctx;

	d->lines++;
	op_count_line(d, file, len, truncated, offset);
	mark_dirty(d);
	mt_correlation_line(d->corr, file, p, len, truncated, offset);
}

/*
 * A webhook has failed for a while: say so through the other sinks, as an
 * alert of the catalog's local/mtalert-webhook-failing record (built from a
 * line of our own, never read from a log).
 */
static void
on_webhook_failing(void *ctx, const char *webhook, double seconds, const char *error)
{
	struct mt_daemon *d = ctx;
	struct mt_logrec rec;
	char line[512];
	int n;

	n = snprintf(line, sizeof(line), "mtalertd[%ld]: webhook %s has failed for %.0f s: %s",
		     (long)getpid(), webhook, seconds, error);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	mt_logline_parse(line, (size_t)n, &rec);
	alert_line(d, "mtalertd", line, (size_t)n, false, 0, &rec, true);
}

/* --- checkpoints: positions and groups in one atomic write --------------- */

/*
 * systemd's STATUS= line: what `systemctl status` shows, problems first,
 * after the state change (READY=1) and the event ("reloaded") if any.
 */
static void
notify_status(struct mt_daemon *d, const char *state, const char *event)
{
	char problems[1024] = "";
	size_t n = mt_inputs_nfiles(d->inputs), nsig = mt_catalog_count(d->gen.cat);

	if (d->gen.catalog_errors > 0)
		(void)snprintf(problems, sizeof(problems), "%zu error%s in signature files; ",
			       d->gen.catalog_errors, plural(d->gen.catalog_errors));
	if (d->delivery != NULL)
		mt_delivery_describe_failing(d->delivery, ev_now(d->loop),
					     problems + strlen(problems),
					     sizeof(problems) - strlen(problems));
	(void)notify_send("%sSTATUS=%s%s%llu line%s, %llu alert%s, following %zu input%s with "
			  "%zu signature%s",
			  state, event, problems, (unsigned long long)d->lines, plural(d->lines),
			  (unsigned long long)d->alerts, plural(d->alerts), n, plural(n), nsig,
			  plural(nsig));
}

static void
save_state(struct mt_daemon *d)
{
	struct mt_cursor *v;
	struct mt_buf groups;
	size_t n;
	int r;

	/* A record waiting for its continuation is matched now: its position is saved. */
	mt_correlation_flush(d->corr);
	/* Alerts first: a position is saved only once its alerts are out. */
	mt_output_flush(d->out);
	n = mt_inputs_cursors(d->inputs, &v);
	/*
	 * The groups' snapshot goes in the same atomic write as the positions:
	 * after a crash, restored groups plus the lines read again after this
	 * checkpoint count every occurrence once.
	 */
	mt_buf_init(&groups, MT_GROUP_SNAPSHOT_MAX);
	if (d->delivery != NULL && mt_delivery_save(d->delivery, &groups) < 0)
		log_warnx("the groups do not fit in %d bytes of state; a crash now would "
			  "lose their unsent counts",
			  MT_GROUP_SNAPSHOT_MAX);
	r = mt_state_save(d->state, v, n, groups.data, groups.len);
	/* The message table: beside the positions, at most once a minute (issue 12). */
	mt_correlation_save(d->corr, 60.);
	mt_buf_fini(&groups);
	free(v);
	if (r < 0) {
		if (!d->save_warned)
			log_warnx("cannot save positions to %s: %s; still running, will retry",
				  mt_state_path(d->state), strerror(-r));
		d->save_warned = true;
		/* Try again later even if nothing new arrives. */
		ev_timer_set(&d->checkpoint, d->gen.cfg->checkpoint_interval, 0.);
		ev_timer_start(d->loop, &d->checkpoint);
	} else {
		if (d->save_warned)
			log_info("positions saved again to %s", mt_state_path(d->state));
		d->save_warned = false;
	}
	notify_status(d, "", "");
}

static void
on_checkpoint(struct ev_loop *loop, ev_timer *w, int revents)
{
	save_state(container_of(w, struct mt_daemon, checkpoint));
}

/* lose14: a tail switched files (rotation, truncation, a new file): checkpoint at once. */
static void
on_input_switch(void *ctx)
{
	struct mt_daemon *d = ctx;

	ev_timer_stop(d->loop, &d->checkpoint);
	ev_timer_set(&d->checkpoint, 0., 0.);
	ev_timer_start(d->loop, &d->checkpoint);
}

/* A notification went to the spool: save now (see sink/delivery.h). */
static void
on_emitted(void *ctx)
{
	save_state(ctx);
}

/* A webhook started failing or delivers again: say so at once. */
static void
on_delivery_health(void *ctx)
{
	notify_status(ctx, "", "");
}

static void
delivery_start(struct mt_daemon *d)
{
	d->delivery = mt_delivery_new(d->loop, d->gen.cfg, d->gen.cat, d->hostname, d->hash_key,
				      &d->saved_groups,
				      &(struct mt_delivery_hooks){ .emitted = on_emitted,
								   .failing = on_webhook_failing,
								   .health = on_delivery_health,
								   .ctx = d });
}

/* --- signals ------------------------------------------------------------ */

static void
log_counters(struct mt_daemon *d)
{
	const struct mt_matcher_stats *ms = mt_matcher_stats(d->gen.matcher);
	const struct mt_output_stats *os = mt_output_stats(d->out);

	log_info("counters: %llu lines, %llu alerts, %llu regex-limit hits, %llu reloads "
		 "(%llu failed), inotify fallbacks %llu, stdout write failures %llu, "
		 "syslog %llu sent, %llu failed, %llu dropped, own lines skipped %llu",
		 (unsigned long long)d->lines, (unsigned long long)d->alerts,
		 (unsigned long long)ms->limit_hits, (unsigned long long)d->reloads,
		 (unsigned long long)d->reload_failures,
		 (unsigned long long)mt_inputs_watch_fallbacks(d->inputs),
		 (unsigned long long)os->stdout_failed, (unsigned long long)os->syslog_sent,
		 (unsigned long long)os->syslog_failed, (unsigned long long)os->syslog_dropped,
		 (unsigned long long)d->own_lines);
	mt_inputs_log_counters(d->inputs);
	if (d->delivery != NULL)
		mt_delivery_log_counters(d->delivery);
	mt_correlation_log_counters(d->corr);
	for (size_t i = 0; i < mt_catalog_count(d->gen.cat); i++)
		if (d->gen.matched[i] || mt_matcher_limit_hits(d->gen.matcher, i))
			log_info("signature %s: %llu matches, %llu regex-limit hits",
				 mt_catalog_get(d->gen.cat, i)->id,
				 (unsigned long long)d->gen.matched[i],
				 (unsigned long long)mt_matcher_limit_hits(d->gen.matcher, i));
}

static void
on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("signal %d: stopping", w->signum);
	(void)notify_send("STOPPING=1");
	ev_break(loop, EVBREAK_ALL);
}

static void
on_usr1(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_counters(w->data);
	op_log_status(w->data);
}

/*
 * Reload: the new generation is built beside the live one and swapped in
 * only if it loads without error.
 */
static void
on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct mt_daemon *d = w->data;
	struct generation g;

	(void)notify_send("RELOADING=1");
	log_info("reloading configuration and signatures");
	if (!generation_load(d, &g, false)) {
		d->reload_failures++;
		log_error("reload failed: still running with the previous configuration and "
			  "signatures");
		notify_status(d, "READY=1\n", "reload failed, previous configuration kept; ");
		return;
	}
	save_state(d);	   /* positions survive the swap */
	op_carry_sinks(d); /* status counts across the swap */
	/* Groups point into the old catalog: flush them through the old webhooks. */
	d->delivery = mt_delivery_free(d->delivery, true);
	op_carry_counts(&g, &d->gen);
	generation_free(&d->gen);
	d->gen = g;
	d->generation++;
	log_set_level((enum log_level)d->gen.cfg->log_level);
	mt_output_free(d->out);
	d->out = mt_output_new(&d->gen.cfg->alerting);
	delivery_start(d);
	mt_correlation_reload(d->corr, d->gen.cfg, d->gen.cat);
	mt_inputs_configure(d->inputs, d->gen.cfg, false);
	op_configure(d);
	op_silences_stop(d);
	op_silences_start(d); /* the state directory may have moved */
	d->reloads++;
	log_info("reloaded: %zu signature%s, %zu input%s", mt_catalog_count(d->gen.cat),
		 plural(mt_catalog_count(d->gen.cat)), mt_inputs_nfiles(d->inputs),
		 plural(mt_inputs_nfiles(d->inputs)));
	notify_status(d, "READY=1\n", "reloaded; ");
}

static void
on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)notify_send("WATCHDOG=1");
}

static void
on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct mt_daemon *d = container_of(w, struct mt_daemon, flush);

	mt_output_flush(d->out);
}

/* --- status, metrics, silences ------------------------------------------- */

/* --- run ---------------------------------------------------------------- */

static void
read_hash_key(struct mt_daemon *d)
{
	FILE *ur = fopen("/dev/urandom", "re");

	if (ur == NULL || fread(d->hash_key, 1, sizeof(d->hash_key), ur) != sizeof(d->hash_key))
		fatalx(EX_OSERR, "cannot read /dev/urandom");
	(void)fclose(ur);
	srandom((unsigned)d->hash_key[0] | (unsigned)d->hash_key[1] << 8 |
		(unsigned)d->hash_key[2] << 16);
}

static void
load_state(struct mt_daemon *d)
{
	int r;

	d->state = mt_state_new(d->gen.cfg->state_directory);
	mt_buf_init(&d->saved_groups, MT_GROUP_SNAPSHOT_MAX);
	r = mt_state_load(d->state, &d->saved, &d->nsaved, &d->saved_groups);
	if (r < 0 && r != -ENOENT)
		log_warnx("cannot read %s: %s; starting without saved positions",
			  mt_state_path(d->state), strerror(-r));
	if (mkdir(d->gen.cfg->state_directory, 0750) < 0 && errno != EEXIST)
		log_warn("cannot create %s; positions will not be saved",
			 d->gen.cfg->state_directory);
}

static void
start_watchers(struct mt_daemon *d)
{
	double wd;

	ev_signal_init(&d->sig_term, on_stop, SIGTERM);
	ev_signal_init(&d->sig_int, on_stop, SIGINT);
	ev_signal_init(&d->sig_hup, on_hup, SIGHUP);
	ev_signal_init(&d->sig_usr1, on_usr1, SIGUSR1);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d->sig_usr1.data = d;
	ev_signal_start(d->loop, &d->sig_term);
	ev_signal_start(d->loop, &d->sig_int);
	ev_signal_start(d->loop, &d->sig_hup);
	ev_signal_start(d->loop, &d->sig_usr1);
	ev_prepare_init(&d->flush, on_prepare);
	ev_prepare_start(d->loop, &d->flush);
	wd = notify_watchdog_interval();
	if (wd > 0) {
		ev_timer_init(&d->watchdog, on_watchdog, wd, wd);
		ev_timer_start(d->loop, &d->watchdog);
	}
}

int
mt_daemon_run(const struct mt_daemon_opts *opts)
{
	struct mt_daemon *d = mt_xcalloc(1, sizeof(*d));

	d->opts = opts;
	(void)signal(SIGPIPE, SIG_IGN);
	if (gethostname(d->hostname, sizeof(d->hostname) - 1) < 0)
		mt_strlcpy(d->hostname, "localhost", sizeof(d->hostname));
	if (!generation_load(d, &d->gen, true)) {
		free(d);
		return EX_CONFIG;
	}
	log_set_level(opts->debug ? LOG_LEVEL_DEBUG : (enum log_level)d->gen.cfg->log_level);
	d->loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_NOENV);
	d->out = mt_output_new(&d->gen.cfg->alerting);
	/* Before the inputs: reading them already arms the checkpoint. */
	ev_timer_init(&d->checkpoint, on_checkpoint, d->gen.cfg->checkpoint_interval, 0.);
	read_hash_key(d);
	load_state(d);
	delivery_start(d);
	d->corr = mt_correlation_new(d->loop, d->gen.cfg, d->gen.cat, d->hash_key, on_record, d);
	mt_correlation_load(d->corr);
	d->inputs = mt_inputs_new(d->loop, d->saved, d->nsaved, on_line, d);
	mt_inputs_on_switch(d->inputs, on_input_switch); /* lose14 */
	{
		/* lose14: the checkpoint's time tells which rotated files are unread. */
		struct stat st;

		if (d->nsaved > 0 && stat(mt_state_path(d->state), &st) == 0)
			mt_inputs_saved_at(d->inputs, &st.st_mtim);
	}
	mt_inputs_configure(d->inputs, d->gen.cfg, true);
	if (mt_inputs_nfiles(d->inputs) == 0 && !mt_inputs_journal(d->inputs))
		log_warnx("no input: nothing to follow (configure inputs, or enable the journal)");
	start_watchers(d);
	d->generation = 1;
	d->started = ev_now(d->loop);
	op_silences_start(d);
	op_configure(d);
	/*
	 * Save the starting positions at once: a crash before the first
	 * checkpoint then repeats lines instead of skipping them.
	 */
	save_state(d);
	log_info("started: %zu signature%s, %zu input file%s%s, state in %s",
		 mt_catalog_count(d->gen.cat), plural(mt_catalog_count(d->gen.cat)),
		 mt_inputs_nfiles(d->inputs), plural(mt_inputs_nfiles(d->inputs)),
		 mt_inputs_journal(d->inputs) ? " and the journal" : "", mt_state_path(d->state));
	notify_status(d, "READY=1\n", "");

	ev_run(d->loop, 0);

	/* Stopping: what was read is delivered, then the positions are saved. */
	mt_correlation_flush(d->corr);
	mt_output_flush(d->out);
	if (d->delivery != NULL)
		mt_delivery_finish(d->delivery, 3.0); /* bounded: the rest stays spooled */
	save_state(d);
	mt_correlation_save(d->corr, 0); /* correlate (issue 12): the tables, now */
	log_counters(d);		 /* before the webhooks go: their counters are part of it */
	d->delivery = mt_delivery_free(d->delivery, false);
	op_stop(d);
	mt_buf_fini(&d->saved_groups);
	d->inputs = mt_inputs_free(d->inputs);
	d->corr = mt_correlation_free(d->corr);
	mt_output_free(d->out);
	mt_state_free(d->state);
	free(d->saved);
	ev_timer_stop(d->loop, &d->checkpoint);
	ev_timer_stop(d->loop, &d->watchdog);
	generation_free(&d->gen);
	ev_loop_destroy(d->loop);
	free(d);
	log_info("stopped");
	return 0;
}
