/* daemon - the event loop: a generation of config and catalog, lines in, alerts out. */
#include "daemon.h"

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

/* Matches of one signature in the last hour: a ring of minutes. */
struct hourly {
	uint32_t count[60];
	int64_t minute[60]; /* which minute (Unix time / 60) count[i] holds */
};

/* What status shows of one input; the inputs module keeps its own counters. */
struct input_stat {
	char *path;
	uint64_t lines, cut, rotations, position;
	double last_line;
};

/* Everything a loaded configuration brings; swapped whole on reload. */
struct generation {
	struct mt_config *cfg;
	struct mt_catalog *cat;
	struct mt_matcher *matcher;
	struct mt_alert_cache *cache; /* rendered signature parts of alerts */
	int *severity;		      /* per signature: an override, or -1 */
	bool *limit_warned;	      /* per signature */
	uint64_t *matched;	      /* per signature, carried over reloads by id */
	uint64_t *silenced;	      /* per signature: kept from the sinks */
	struct hourly **hourly;	      /* per signature, allocated at its first match */
	size_t catalog_errors;	      /* in signature files that did not load (boot only) */
};

struct mt_daemon {
	struct ev_loop *loop;
	const struct mt_daemon_opts *opts;
	struct generation gen;
	char hostname[256];

	struct mt_inputs *inputs; /* the logs followed: tails, watches, journal */
	struct mt_state *state;	  /* positions and groups, saved atomically */
	struct mt_cursor *saved;  /* positions read at start (the inputs borrow them) */
	size_t nsaved;
	struct mt_output *out;	      /* every alert at once: stdout, syslog */
	struct mt_delivery *delivery; /* grouped notifications to webhooks; NULL without */
	uint8_t hash_key[16];	      /* the grouper's: remote servers choose the keys */
	struct mt_buf saved_groups;   /* the grouper's snapshot read at start, restored once */
	struct mt_correlation *corr;  /* records, message and destination tables (issue 12) */

	ev_signal sig_term, sig_int, sig_hup, sig_usr1;
	ev_timer checkpoint; /* runs only while there is something to save */
	ev_timer watchdog;
	ev_prepare flush; /* push alerts out before the loop sleeps */
	bool save_warned;
	uint64_t lines, alerts, reloads, reload_failures;
	uint64_t own_lines; /* our own alerts and messages, read back and skipped */

	/* The operator's side: status, metrics, silences. */
	struct mt_ctl *ctl;	    /* the control socket; NULL when off or failed */
	char *ctl_path;		    /* what ctl listens on */
	struct mt_metrics *metrics; /* the Prometheus endpoint; NULL when off */
	char *metrics_listen;
	struct input_stat *istats;
	size_t nistats, ilast;
	struct mt_silences silences;
	char *silences_path; /* <state>/silences.json */
	int silences_ino;    /* inotify on the state directory; -1: none */
	ev_io silences_watch;
	uint64_t silenced, generation;
	double started;
};

/* --- a generation: configuration, catalog, matcher ---------------------- */

static void
print_diags(const struct mt_diag *d)
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
	print_diags(&diag);
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

static void
count_hourly(struct generation *g, size_t idx, double now)
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

/* Whether a silence or an open maintenance window keeps this alert from the sinks. */
static bool
silenced(struct mt_daemon *d, const struct mt_alert *a)
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
		count_hourly(g, idx, ev_now(d->loop));
		if (silenced(d, &a)) {
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

static void
input_count(struct mt_daemon *d, const char *file, size_t len, bool truncated, uint64_t offset)
{
	struct input_stat *st = input_stat(d, file);
	bool journal = strcmp(file, "journal") == 0;

	if (st == NULL)
		return;
	/* A line before where the last one ended: the file was rotated or truncated. */
	if (!journal && st->lines > 0 && offset < st->position)
		st->rotations++;
	st->lines++;
	st->cut += truncated;
	st->last_line = ev_now(d->loop);
	if (!journal)
		st->position = offset + len + 1;
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
	input_count(d, file, len, truncated, offset);
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

static void log_status(struct mt_daemon *d);

static void
on_usr1(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_counters(w->data);
	log_status(w->data);
}

static void carry_counts(struct generation *to, const struct generation *from);
static void operator_configure(struct mt_daemon *d);
static void silences_start(struct mt_daemon *d);
static void silences_stop(struct mt_daemon *d);

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
	save_state(d); /* positions survive the swap */
	/* Groups point into the old catalog: flush them through the old webhooks. */
	d->delivery = mt_delivery_free(d->delivery, true);
	carry_counts(&g, &d->gen);
	generation_free(&d->gen);
	d->gen = g;
	d->generation++;
	log_set_level((enum log_level)d->gen.cfg->log_level);
	mt_output_free(d->out);
	d->out = mt_output_new(&d->gen.cfg->alerting);
	delivery_start(d);
	mt_correlation_reload(d->corr, d->gen.cfg, d->gen.cat);
	mt_inputs_configure(d->inputs, d->gen.cfg, false);
	operator_configure(d);
	silences_stop(d);
	silences_start(d); /* the state directory may have moved */
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

/* Counts of the live generation's signatures carried from the previous one, by id. */
static void
carry_counts(struct generation *to, const struct generation *from)
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

/* Everything status and metrics show; the arrays are the caller's to free. */
static void
status_fill(struct mt_daemon *d, struct mt_status *st)
{
	struct generation *g = &d->gen;
	const struct mt_output_stats *os = mt_output_stats(d->out);
	struct mt_status_input *in;
	struct mt_status_signature *sg;
	struct mt_status_sink *sk;
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
		in[i].rotations = d->istats[i].rotations;
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
	sk[0] = (struct mt_status_sink){ .kind = "stdout",
					 .enabled = g->cfg->alerting.stdout_sink.enabled,
					 .sent = os->stdout_written,
					 .failed = os->stdout_failed };
	sk[1] = (struct mt_status_sink){ .kind = "syslog",
					 .enabled = g->cfg->alerting.syslog_sink.enabled,
					 .sent = os->syslog_sent,
					 .failed = os->syslog_failed,
					 .dropped = os->syslog_dropped };
	sk[2] = (struct mt_status_sink){ .kind = "journal",
					 .enabled = g->cfg->alerting.journal_sink.enabled,
					 .sent = os->journal_sent,
					 .failed = os->journal_failed };
	for (size_t i = 0; i < nw; i++) {
		const struct mt_webhook *w = mt_delivery_webhook(d->delivery, i);
		const struct mt_webhook_stats *ws = mt_webhook_stats(w);

		sk[3 + i] = (struct mt_status_sink){
			.kind = "webhook",
			.name = mt_webhook_name(w),
			.enabled = true,
			.sent = ws->delivered,
			.retried = ws->retried,
			.failed = ws->failed,
			.dropped = ws->dropped,
			.queued = ws->queued + ws->inflight,
			/* ev_now() is the wall clock: libev's ev_time(). */
			.failing_since = ws->failing_since,
			.last_error = ws->last_error,
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
		print_diags(&diag);
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

/* Start, move or stop the control socket and the metrics endpoint as the config says. */
static void
operator_configure(struct mt_daemon *d)
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

static void
silences_start(struct mt_daemon *d)
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

static void
silences_stop(struct mt_daemon *d)
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

/* SIGUSR1: the status, one log line per line of `mtalertd status`. */
static void
log_status(struct mt_daemon *d)
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
	silences_start(d);
	operator_configure(d);
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
	d->ctl = mt_ctl_free(d->ctl);
	d->metrics = mt_metrics_free(d->metrics);
	free(d->ctl_path);
	free(d->metrics_listen);
	silences_stop(d);
	for (size_t i = 0; i < d->nistats; i++)
		free(d->istats[i].path);
	free(d->istats);
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
