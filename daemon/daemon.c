#include "daemon.h"

#include <sys/stat.h>

#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <ev.h>

#include "alert/alert.h"
#include "match/catalog.h"
#include "config/config.h"
#include "alert/group.h"
#include "input/journal.h"
#include "util/json.h"
#include "log.h"
#include "parse/logline.h"
#include "match/matcher.h"
#include "mt_config.h"
#include "notify.h"
#include "sink/output.h"
#include "alert/payload.h"
#include "sink/webhook.h"
#include "sink/spool.h"
#include "input/state.h"
#include "input/tail.h"
#include "util.h"
#include "input/watch.h"
#include "util/xalloc.h"

#define POLL_FALLBACK	      1.0  /* seconds between polls when inotify is unavailable */
#define ROTATE_WAIT	      10.0 /* seconds an old file is drained after a rotation */
#define MT_GROUP_SNAPSHOT_MAX (64 * 1024 * 1024) /* bytes of saved groups in the state file */
#define MAX_TAILS	      1024

/* One configured input: a path or a glob in its last component. */
struct input {
	char *pattern;
	char *dir;
	bool glob;
	bool start_at_end;
};

/* Everything a loaded configuration brings; swapped whole on reload. */
struct generation {
	struct mt_config *cfg;
	struct mt_catalog *cat;
	struct mt_matcher *matcher;
	struct mt_alert_cache *cache; /* rendered signature parts of alerts */
	int *severity;		      /* per signature: an override, or -1 */
	bool *limit_warned;	      /* per signature */
	uint64_t *matched;	      /* per signature */
	struct input *inputs;
	size_t ninputs;
};

struct mt_daemon {
	struct ev_loop *loop;
	const struct mt_daemon_opts *opts;
	struct generation gen;
	struct mt_tail *tails[MAX_TAILS];
	uint64_t watched_ino[MAX_TAILS]; /* inode each tail's file watch is on */
	size_t ntails;
	struct mt_watch *watch;
	struct mt_state *state;
	struct mt_cursor *saved; /* positions read at start, handed to tails once */
	size_t nsaved;
	struct mt_output *out;
	struct mt_journal *journal;
	char hostname[256];

	/* Delivery to webhooks: occurrences are grouped, notifications spooled and sent. */
	struct mt_grouper *grouper;
	ev_timer group_timer; /* the grouper's next deadline; idle when nothing is pending */
	struct mt_spool *spool;
	struct mt_rate global_rate;
	struct mt_webhook **webhooks;
	size_t nwebhooks;
	struct mt_buf payload;
	uint8_t hash_key[16];
	struct mt_buf saved_groups; /* the grouper's snapshot read at start, restored once */
	bool groups_emitted;	    /* notifications spooled since the last state save */

	ev_signal sig_term, sig_int, sig_hup, sig_usr1;
	ev_timer checkpoint; /* runs only while there is something to save */
	ev_timer watchdog;
	ev_prepare flush; /* push alerts out before the loop sleeps */
	bool save_warned;
	uint64_t lines, alerts, reloads, reload_failures;
};

/* --- configuration and catalog ---------------------------------------- */

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

static bool
has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static void
generation_free(struct generation *g)
{
	mt_matcher_free(g->matcher);
	mt_alert_cache_free(g->cache);
	mt_catalog_free(g->cat);
	mt_config_free(g->cfg);
	free(g->severity);
	free(g->limit_warned);
	free(g->matched);
	for (size_t i = 0; i < g->ninputs; i++) {
		free(g->inputs[i].pattern);
		free(g->inputs[i].dir);
	}
	free(g->inputs);
	memset(g, 0, sizeof(*g));
}

/* Load config and catalog into g; false (and g empty) if either has an error. */
static bool
generation_load(struct mt_daemon *d, struct generation *g)
{
	const char *path = d->opts->config_path;
	const char *def_sigs;
	struct stat st;
	struct mt_diag diag;
	bool ok = true;

	memset(g, 0, sizeof(*g));
	def_sigs = stat(MT_SIGNATURES_DIR, &st) == 0 ? MT_SIGNATURES_DIR : MT_SOURCE_SIGNATURES_DIR;
	mt_diag_init(&diag);
	if (path == NULL && stat(MT_CONFIG_PATH, &st) == 0)
		path = MT_CONFIG_PATH;
	if (path == NULL) {
		g->cfg = mt_config_default(def_sigs);
	} else {
		(void)mt_config_check_secrecy(path, &diag);
		if (mt_config_load(path, def_sigs, &diag, &g->cfg) < 0)
			ok = false;
	}
	if (ok && d->opts->ninputs > 0 &&
	    mt_config_set_inputs(g->cfg, d->opts->inputs, d->opts->ninputs, MT_START_BEGINNING) <
		    0) {
		log_error("--input takes absolute paths");
		ok = false;
	}
	if (ok && d->opts->state_dir != NULL &&
	    mt_config_set_state_directory(g->cfg, d->opts->state_dir) < 0) {
		log_error("--state-dir takes an absolute path");
		ok = false;
	}
	if (ok && d->opts->format != NULL) {
		g->cfg->alerting.stdout_sink.enabled = true;
		g->cfg->alerting.stdout_sink.format =
			strcmp(d->opts->format, "text") == 0 ? MT_FORMAT_TEXT : MT_FORMAT_JSON;
	}
	if (ok) {
		const char *const *paths = d->opts->sig_paths;
		size_t npaths = d->opts->nsig_paths;

		if (npaths == 0) {
			paths = (const char *const *)g->cfg->signatures.directories;
			npaths = g->cfg->signatures.ndirectories;
		}
		g->cat = mt_catalog_load_lean(paths, npaths, &diag);
		if (diag.errors > 0 || mt_catalog_count(g->cat) == 0) {
			if (mt_catalog_count(g->cat) == 0)
				log_error("no usable signature in %s",
					  npaths ? paths[0] : "(none)");
			ok = false;
		} else {
			(void)mt_config_check_catalog(g->cfg, g->cat, &diag);
		}
	}
	print_diags(&diag);
	mt_diag_fini(&diag);
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
	for (size_t i = 0; i < mt_catalog_count(g->cat); i++) {
		const struct mt_signature *s = mt_catalog_get(g->cat, i);
		enum mt_severity sev;

		mt_matcher_set_enabled(
			g->matcher, i,
			mt_config_signature_enabled(g->cfg, s->id, s->category, s->domain));
		g->severity[i] =
			mt_config_severity_override(g->cfg, s->id, &sev) == 0 ? (int)sev : -1;
	}
	g->inputs = mt_xcalloc(g->cfg->ninputs ? g->cfg->ninputs : 1, sizeof(*g->inputs));
	for (size_t i = 0; i < g->cfg->ninputs; i++) {
		const struct mt_config_input *ci = &g->cfg->inputs[i];
		struct input *in = &g->inputs[g->ninputs];
		const char *slash = strrchr(ci->path, '/');

		if (slash == NULL)
			continue;
		in->dir = mt_xstrndup(ci->path, slash == ci->path ? 1 : (size_t)(slash - ci->path));
		if (has_glob(in->dir)) {
			log_error(
				"%s: globs are supported in the file name only, skipping this input",
				ci->path);
			free(in->dir);
			continue;
		}
		in->pattern = mt_xstrdup(ci->path);
		in->glob = has_glob(slash + 1);
		in->start_at_end = ci->start_at == MT_START_END;
		g->ninputs++;
	}
	return true;
}

/* --- lines to alerts -------------------------------------------------- */

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

/* --- delivery -------------------------------------------------------- */

/* The grouper decided a notification is due: render it for every webhook that wants it. */
static void
on_notification(void *ctx, const struct mt_alert_group *g)
{
	struct mt_daemon *d = ctx;

	for (size_t i = 0; i < d->nwebhooks; i++) {
		const struct mt_config_webhook *c = mt_webhook_conf(d->webhooks[i]);

		if (!mt_config_filter_accepts(&c->filter, g->sig, g->severity))
			continue;
		mt_buf_reset(&d->payload);
		if (mt_payload_render(&d->payload, (enum mt_payload_format)c->format, g) < 0) {
			log_warnx("webhook %s: notification for %s too large to render, skipping",
				  c->name, g->sig->id);
			continue;
		}
		mt_webhook_submit(d->webhooks[i], d->payload.data, d->payload.len);
	}
	d->groups_emitted = true;
}

static void save_state(struct mt_daemon *d);

/*
 * A notification left the grouper for the spool: save the groups and the
 * positions now, in the same loop iteration, so that a crash can neither
 * send it again (from a snapshot taken before it) nor lose what it counted.
 */
static void
save_if_emitted(struct mt_daemon *d)
{
	if (!d->groups_emitted)
		return;
	d->groups_emitted = false;
	save_state(d);
}

static void
arm_group_timer(struct mt_daemon *d)
{
	double at;

	if (d->grouper == NULL)
		return;
	at = mt_grouper_next_deadline(d->grouper);
	ev_timer_stop(d->loop, &d->group_timer);
	if (at < 0)
		return; /* nothing pending: no wakeup */
	ev_timer_set(&d->group_timer, at > ev_now(d->loop) ? at - ev_now(d->loop) : 0., 0.);
	ev_timer_start(d->loop, &d->group_timer);
}

static void
on_group_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mt_daemon *d = container_of(w, struct mt_daemon, group_timer);

	mt_grouper_tick(d->grouper, ev_now(loop));
	save_if_emitted(d);
	arm_group_timer(d);
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
group_key(const struct mt_daemon *d, const struct mt_alert *a, const char **ret_name,
	  const char **ret_value, char *buf, size_t size)
{
	const struct mt_logrec *r = a->rec;
	const char *val = NULL, *name = NULL;

	switch (d->gen.cfg->alerting.grouping.by) {
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
	*ret_name = val ? name : NULL;
	*ret_value = val;
}

static void
delivery_stop(struct mt_daemon *d, bool flush)
{
	/* Nothing accepted is lost: the unsent rest goes to the spool now. */
	if (d->grouper && flush)
		mt_grouper_flush(d->grouper, ev_now(d->loop));
	d->grouper = mt_grouper_free(d->grouper);
	ev_timer_stop(d->loop, &d->group_timer);
	for (size_t i = 0; i < d->nwebhooks; i++)
		mt_webhook_free(d->webhooks[i]);
	free(d->webhooks);
	d->webhooks = NULL;
	d->nwebhooks = 0;
	d->spool = mt_spool_free(d->spool);
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

static void
delivery_start(struct mt_daemon *d)
{
	const struct mt_config_alerting *al = &d->gen.cfg->alerting;
	const struct mt_config_grouping *gc = &al->grouping;
	struct mt_group_params p;

	if (al->nwebhooks == 0)
		return;
	d->spool = mt_spool_new(d->gen.cfg->state_directory, &al->spool, d->hostname);
	mt_rate_init(&d->global_rate, al->max_per_minute, ev_now(d->loop));
	d->webhooks = mt_xcalloc(al->nwebhooks, sizeof(*d->webhooks));
	for (size_t i = 0; i < al->nwebhooks; i++) {
		struct mt_webhook *w;

		if (mt_webhook_new(d->loop, &al->webhooks[i], d->spool, &d->global_rate, &w) == 0)
			d->webhooks[d->nwebhooks++] = w;
		else
			log_error("webhook %s is not used (see above)", al->webhooks[i].name);
	}
	mt_group_params_default(&p);
	p.group_wait = gc->group_wait;
	p.group_interval = gc->group_interval;
	p.repeat_interval = gc->repeat_interval;
	p.resolve_after = gc->resolve_after;
	p.min_count = (uint32_t)gc->min_count;
	p.window = gc->window;
	p.max_groups = (size_t)gc->max_groups;
	d->grouper = mt_grouper_new(&p, d->hash_key, on_notification, d);
	if (d->saved_groups.len > 0) {
		size_t bad = 0, unknown = 0, restored;

		restored = mt_grouper_load(d->grouper, d->gen.cat, d->saved_groups.data,
					   d->saved_groups.len, ev_now(d->loop), &bad, &unknown);
		log_info(
			"restored %zu groups from the state (%zu damaged, %zu of signatures no longer "
			"in the catalog)",
			restored, bad, unknown);
		mt_buf_reset(&d->saved_groups);
		arm_group_timer(d);
	}
	log_info("delivering to %zu webhooks, grouping by %s", d->nwebhooks, group_by_name(gc->by));
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
	struct mt_daemon *d = w->data;
	size_t n = 0;

	for (size_t i = 0; i < d->nwebhooks; i++)
		n += mt_webhook_inflight(d->webhooks[i]);
	if (n == 0)
		ev_break(loop, EVBREAK_ONE);
}

static void
delivery_drain(struct mt_daemon *d, double seconds)
{
	ev_timer deadline;
	ev_prepare check;

	if (d->nwebhooks == 0)
		return;
	ev_timer_init(&deadline, on_drain_deadline, seconds, 0.);
	ev_prepare_init(&check, on_drain_check);
	check.data = d;
	ev_timer_start(d->loop, &deadline);
	ev_prepare_start(d->loop, &check);
	ev_run(d->loop, 0);
	ev_timer_stop(d->loop, &deadline);
	ev_prepare_stop(d->loop, &check);
}

static void
handle_line(struct mt_daemon *d, const char *file, const char *p, size_t len, bool truncated,
	    uint64_t offset, uint64_t lineno)

{
	struct generation *g = &d->gen;
	uint64_t hits = mt_matcher_stats(g->matcher)->limit_hits;
	const struct mt_match *res;
	struct mt_logrec rec;
	size_t n;

	d->lines++;
	mt_logline_parse(p, len, &rec);
	n = mt_matcher_run(g->matcher, p, len, rec.mta, &res);
	if (mt_matcher_stats(g->matcher)->limit_hits != hits)
		warn_limits(d, file);
	if (n == 0)
		return;
	{
		size_t idx = res[0].sig->index;
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
			.lineno = lineno,
			.locale = g->cfg->locale,
			.has_severity = g->severity[idx] >= 0,
			.severity =
				(enum mt_severity)(g->severity[idx] >= 0 ? g->severity[idx] : 0),
			.hostname = d->hostname,
			.cache = g->cache,
		};

		g->matched[idx]++;
		d->alerts++;
		mt_output_alert(d->out, &a);
		if (d->grouper != NULL) {
			const char *kname, *kval;
			char kbuf[MT_GROUP_TEXT_MAX];

			group_key(d, &a, &kname, &kval, kbuf, sizeof(kbuf));
			mt_grouper_offer(d->grouper, &a, kname, kval, ev_now(d->loop));
			save_if_emitted(d); /* an eviction from a full table emits */
			arm_group_timer(d);
		}
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

static void
on_tail_line(void *ctx, struct mt_tail *t, const struct mt_tail_line *l)
{
	struct mt_daemon *d = ctx;

	/* File tails know byte offsets, not line numbers; 0 says so. */
	handle_line(d, l->path, l->p, l->len, l->truncated, l->offset, 0);
	mark_dirty(d);
}

static void
on_journal_line(void *ctx, const char *p, size_t len)
{
	struct mt_daemon *d = ctx;

	handle_line(d, "journal", p, len, false, 0, 0);
	mark_dirty(d);
}

/* --- inputs ----------------------------------------------------------- */

static bool
rotated_name(const char *name)
{
	static const char *const ext[] = { ".gz", ".bz2", ".xz", ".zst", ".lz4", ".old" };
	size_t len = strlen(name);
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t el = strlen(ext[i]);

		if (len > el && strcmp(name + len - el, ext[i]) == 0)
			return true;
	}
	/* mail.log.1, mainlog.2 */
	if (dot != NULL && dot[1] != '\0' && strspn(dot + 1, "0123456789") == strlen(dot + 1))
		return true;
	return false;
}

/* Watch the file a tail reads now, once per inode. */
static void
watch_tail_file(struct mt_daemon *d, size_t i)
{
	const char *path = mt_tail_path(d->tails[i]);
	const char *slash = strrchr(path, '/');
	uint64_t ino = mt_tail_ino(d->tails[i]);
	char dir[4096];

	if (ino == 0 || ino == d->watched_ino[i] || slash == NULL ||
	    (size_t)(slash - path) >= sizeof(dir))
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash == path ? 1 : slash - path] = '\0';
	if (slash == path)
		dir[0] = '/';
	mt_watch_add_file(d->watch, dir, path);
	d->watched_ino[i] = ino;
}

static struct mt_tail *
find_tail(struct mt_daemon *d, const char *path)
{
	for (size_t i = 0; i < d->ntails; i++)
		if (strcmp(mt_tail_path(d->tails[i]), path) == 0)
			return d->tails[i];
	return NULL;
}

static const struct mt_cursor *
saved_cursor(struct mt_daemon *d, const char *path)
{
	for (size_t i = 0; i < d->nsaved; i++)
		if (d->saved[i].kind == MT_CURSOR_FILE && strcmp(d->saved[i].path, path) == 0)
			return &d->saved[i];
	return NULL;
}

static void
add_tail(struct mt_daemon *d, const char *path, bool start_at_end, bool at_startup)
{
	const struct mt_config_limits *lim = &d->gen.cfg->limits;
	struct mt_tail_params params = {
		.max_line = lim->max_line_length,
		.read_chunk = lim->read_chunk,
		.partial_timeout = lim->partial_line_timeout,
		.rotate_wait = ROTATE_WAIT,
		.start_at_end = start_at_end,
	};
	struct mt_tail *t;

	if (find_tail(d, path) != NULL)
		return;
	if (d->ntails == MAX_TAILS) {
		log_warnx("more than %d input files, not following %s", MAX_TAILS, path);
		return;
	}
	t = mt_tail_new(d->loop, path, &params, saved_cursor(d, path), at_startup, on_tail_line, d);
	d->watched_ino[d->ntails] = 0;
	d->tails[d->ntails++] = t;
	log_info("following %s", path);
	mt_tail_poll(t);
	watch_tail_file(d, d->ntails - 1);
}

/* Find files for every input; at_startup decides where new files start. */
static void
scan_inputs(struct mt_daemon *d, const char *dir, bool at_startup)
{
	for (size_t i = 0; i < d->gen.ninputs; i++) {
		struct input *in = &d->gen.inputs[i];
		glob_t gl;

		if (dir != NULL && strcmp(dir, in->dir) != 0)
			continue;
		if (!in->glob) {
			add_tail(d, in->pattern, in->start_at_end, at_startup);
			continue;
		}
		if (glob(in->pattern, GLOB_NOSORT, NULL, &gl) != 0)
			continue;
		for (size_t k = 0; k < gl.gl_pathc; k++) {
			const char *base = strrchr(gl.gl_pathv[k], '/');
			struct stat st;

			if (rotated_name(base ? base + 1 : gl.gl_pathv[k]) ||
			    stat(gl.gl_pathv[k], &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			add_tail(d, gl.gl_pathv[k], in->start_at_end, at_startup);
		}
		globfree(&gl);
	}
}

static void
on_dir_change(void *ctx, const char *dir)
{
	struct mt_daemon *d = ctx;

	scan_inputs(d, dir, false);
	for (size_t i = 0; i < d->ntails; i++) {
		const char *p = mt_tail_path(d->tails[i]);
		size_t dl = strlen(dir);

		if (strncmp(p, dir, dl) == 0 && (p[dl] == '/' || (dl == 1 && dir[0] == '/')) &&
		    strchr(p + dl + 1, '/') == NULL) {
			mt_tail_poll(d->tails[i]);
			watch_tail_file(d, i);
		}
	}
}

static void
watch_inputs(struct mt_daemon *d)
{
	for (size_t i = 0; i < d->gen.ninputs; i++)
		mt_watch_add(d->watch, d->gen.inputs[i].dir);
}

/* --- state ------------------------------------------------------------ */

static void
save_state(struct mt_daemon *d)
{
	struct mt_cursor *v = mt_xcalloc(d->ntails + 1, sizeof(*v));
	size_t n = 0;
	int r;

	/* Alerts first: a position is saved only once its alerts are out. */
	mt_output_flush(d->out);
	for (size_t i = 0; i < d->ntails; i++)
		if (mt_tail_cursor(d->tails[i], &v[n]))
			n++;
	/* Files not open right now keep the position they had. */
	for (size_t i = 0; i < d->nsaved; i++) {
		bool open = false;

		for (size_t k = 0; k < n; k++)
			if (v[k].kind == d->saved[i].kind &&
			    strcmp(v[k].path, d->saved[i].path) == 0)
				open = true;
		if (!open && d->saved[i].kind == MT_CURSOR_FILE && find_tail(d, d->saved[i].path) &&
		    n < d->ntails + 1) {
			v = mt_xreallocarray(v, n + 2, sizeof(*v));
			v[n++] = d->saved[i];
		}
	}
	if (d->journal != NULL) {
		v = mt_xreallocarray(v, n + 1, sizeof(*v));
		if (mt_journal_cursor(d->journal, &v[n]))
			n++;
	}
	{
		/*
		 * The groups' snapshot goes in the same atomic write as the
		 * positions: after a crash, restored groups plus the lines read
		 * again after this checkpoint count every occurrence once.
		 */
		struct mt_buf groups;

		mt_buf_init(&groups, MT_GROUP_SNAPSHOT_MAX);
		if (d->grouper != NULL && mt_grouper_save(d->grouper, &groups) < 0)
			log_warnx("the groups do not fit in %d bytes of state; a crash now would "
				  "lose their unsent counts",
				  MT_GROUP_SNAPSHOT_MAX);
		r = mt_state_save(d->state, v, n, groups.data, groups.len);
		mt_buf_fini(&groups);
	}
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
	free(v);
	(void)notify_send("STATUS=%llu lines, %llu alerts, %zu inputs",
			  (unsigned long long)d->lines, (unsigned long long)d->alerts, d->ntails);
}

static void
on_checkpoint(struct ev_loop *loop, ev_timer *w, int revents)
{
	save_state(container_of(w, struct mt_daemon, checkpoint));
}

/* --- signals ---------------------------------------------------------- */

static void
log_counters(struct mt_daemon *d)
{
	const struct mt_matcher_stats *ms = mt_matcher_stats(d->gen.matcher);
	const struct mt_output_stats *os = mt_output_stats(d->out);

	log_info("counters: %llu lines, %llu alerts, %llu regex-limit hits, %llu reloads "
		 "(%llu failed), inotify fallbacks %llu, stdout write failures %llu, "
		 "syslog %llu sent, %llu failed, %llu dropped",
		 (unsigned long long)d->lines, (unsigned long long)d->alerts,
		 (unsigned long long)ms->limit_hits, (unsigned long long)d->reloads,
		 (unsigned long long)d->reload_failures,
		 (unsigned long long)mt_watch_fallbacks(d->watch),
		 (unsigned long long)os->stdout_failed, (unsigned long long)os->syslog_sent,
		 (unsigned long long)os->syslog_failed, (unsigned long long)os->syslog_dropped);
	for (size_t i = 0; i < d->ntails; i++) {
		const struct mt_tail_stats *s = mt_tail_stats(d->tails[i]);

		log_info(
			"input %s: %llu lines, %llu bytes, %llu cut, %llu partial, %llu rotations, "
			"%llu truncations, %llu open errors, %llu read errors",
			mt_tail_path(d->tails[i]), (unsigned long long)s->lines,
			(unsigned long long)s->bytes, (unsigned long long)s->cut,
			(unsigned long long)s->partial, (unsigned long long)s->rotations,
			(unsigned long long)s->truncations, (unsigned long long)s->open_errors,
			(unsigned long long)s->read_errors);
	}
	for (size_t i = 0; i < d->nwebhooks; i++) {
		const struct mt_webhook_stats *s = mt_webhook_stats(d->webhooks[i]);

		log_info("webhook %s: %llu submitted, %llu delivered, %llu retried, %llu failed, "
			 "%llu dropped, %llu spooled, %llu in flight",
			 mt_webhook_name(d->webhooks[i]), (unsigned long long)s->submitted,
			 (unsigned long long)s->delivered, (unsigned long long)s->retried,
			 (unsigned long long)s->failed, (unsigned long long)s->dropped,
			 (unsigned long long)s->queued, (unsigned long long)s->inflight);
	}
	if (d->spool) {
		const struct mt_spool_stats *s = mt_spool_stats(d->spool);

		log_info("spool: %llu written, %llu removed, %llu dropped at the size bound, %llu "
			 "dropped at the age bound, %llu write errors, %llu bytes",
			 (unsigned long long)s->written, (unsigned long long)s->removed,
			 (unsigned long long)s->dropped_size, (unsigned long long)s->dropped_age,
			 (unsigned long long)s->write_errors, (unsigned long long)s->bytes);
	}
	if (d->grouper) {
		const struct mt_grouper_stats *s = mt_grouper_stats(d->grouper);

		log_info("grouping: %llu occurrences, %llu groups now, %llu notifications, %llu "
			 "evicted, %llu below min_count",
			 (unsigned long long)s->offered, (unsigned long long)s->groups,
			 (unsigned long long)s->notifications, (unsigned long long)s->evicted,
			 (unsigned long long)s->below_min_count);
	}
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
	struct mt_daemon *d = w->data;

	log_info("signal %d: stopping", w->signum);
	(void)notify_send("STOPPING=1");
	ev_break(loop, EVBREAK_ALL);
	(void)d;
}

static void
on_usr1(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_counters(w->data);
}

static void
on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct mt_daemon *d = w->data;
	struct generation g;

	(void)notify_send("RELOADING=1");
	log_info("reloading configuration and signatures");
	if (!generation_load(d, &g)) {
		d->reload_failures++;
		log_error("reload failed: still running with the previous configuration and "
			  "signatures");
		(void)notify_send("READY=1\nSTATUS=reload failed, previous configuration kept");
		return;
	}
	save_state(d); /* positions survive the swap */
	/* Groups point into the old catalog: flush them through the old webhooks. */
	delivery_stop(d, true);
	generation_free(&d->gen);
	d->gen = g;
	log_set_level((enum log_level)d->gen.cfg->log_level);
	mt_output_free(d->out);
	d->out = mt_output_new(&d->gen.cfg->alerting);
	/* Inputs no longer configured stop being followed. */
	for (size_t i = 0; i < d->ntails;) {
		const char *p = mt_tail_path(d->tails[i]);
		bool wanted = false;

		for (size_t k = 0; k < d->gen.ninputs && !wanted; k++)
			wanted = d->gen.inputs[k].glob ?
					 fnmatch(d->gen.inputs[k].pattern, p, FNM_PATHNAME) == 0 :
					 strcmp(d->gen.inputs[k].pattern, p) == 0;
		if (wanted) {
			i++;
			continue;
		}
		log_info("no longer following %s", p);
		mt_tail_free(d->tails[i]);
		d->tails[i] = d->tails[--d->ntails];
		d->watched_ino[i] = d->watched_ino[d->ntails];
	}
	delivery_start(d);
	watch_inputs(d);
	scan_inputs(d, NULL, false);
	d->reloads++;
	log_info("reloaded: %zu signatures, %zu inputs", mt_catalog_count(d->gen.cat), d->ntails);
	(void)notify_send("READY=1\nSTATUS=reloaded: %zu signatures, %zu inputs",
			  mt_catalog_count(d->gen.cat), d->ntails);
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

/* --- run -------------------------------------------------------------- */

int
mt_daemon_run(const struct mt_daemon_opts *opts)
{
	struct mt_daemon *d = mt_xcalloc(1, sizeof(*d));
	bool any_file = false;
	double wd;
	int r;

	d->opts = opts;
	(void)signal(SIGPIPE, SIG_IGN);
	if (gethostname(d->hostname, sizeof(d->hostname) - 1) < 0)
		mt_strlcpy(d->hostname, "localhost", sizeof(d->hostname));
	if (!generation_load(d, &d->gen)) {
		free(d);
		return EX_CONFIG;
	}
	log_set_level(opts->debug ? LOG_LEVEL_DEBUG : (enum log_level)d->gen.cfg->log_level);
	d->loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_NOENV);
	d->out = mt_output_new(&d->gen.cfg->alerting);
	/* Watchers first: reading the inputs below already arms the checkpoint. */
	ev_timer_init(&d->checkpoint, on_checkpoint, d->gen.cfg->checkpoint_interval, 0.);
	ev_signal_init(&d->sig_term, on_stop, SIGTERM);
	ev_signal_init(&d->sig_int, on_stop, SIGINT);
	ev_signal_init(&d->sig_hup, on_hup, SIGHUP);
	ev_signal_init(&d->sig_usr1, on_usr1, SIGUSR1);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d->sig_usr1.data = d;

	ev_timer_init(&d->group_timer, on_group_timer, 0., 0.);
	mt_buf_init(&d->payload, MT_PAYLOAD_MAX);
	{
		/* The grouper's hash key: remote servers choose the keys, so it is secret. */
		FILE *ur = fopen("/dev/urandom", "re");

		if (ur == NULL ||
		    fread(d->hash_key, 1, sizeof(d->hash_key), ur) != sizeof(d->hash_key))
			fatalx(EX_OSERR, "cannot read /dev/urandom");
		(void)fclose(ur);
		srandom((unsigned)d->hash_key[0] | (unsigned)d->hash_key[1] << 8 |
			(unsigned)d->hash_key[2] << 16);
	}
	d->state = mt_state_new(d->gen.cfg->state_directory);
	mt_buf_init(&d->saved_groups, MT_GROUP_SNAPSHOT_MAX);
	r = mt_state_load(d->state, &d->saved, &d->nsaved, &d->saved_groups);
	if (r < 0 && r != -ENOENT)
		log_warnx("cannot read %s: %s; starting without saved positions",
			  mt_state_path(d->state), strerror(-r));
	if (mkdir(d->gen.cfg->state_directory, 0750) < 0 && errno != EEXIST)
		log_warn("cannot create %s; positions will not be saved",
			 d->gen.cfg->state_directory);

	if (mkdir(d->gen.cfg->state_directory, 0750) < 0 && errno != EEXIST)
		log_warn("cannot create %s", d->gen.cfg->state_directory);
	delivery_start(d);
	d->watch = mt_watch_new(d->loop, POLL_FALLBACK, on_dir_change, d);
	if (getenv("MTALERT_NO_INOTIFY") != NULL) /* tests of the fallback */
		mt_watch_force_polling(d->watch, "MTALERT_NO_INOTIFY is set");
	watch_inputs(d);
	scan_inputs(d, NULL, true);
	for (size_t i = 0; i < d->ntails; i++)
		any_file |= access(mt_tail_path(d->tails[i]), F_OK) == 0;
	if (d->gen.cfg->journal.enabled == MT_ON ||
	    (d->gen.cfg->journal.enabled == MT_AUTO && !any_file)) {
		const struct mt_cursor *jc = NULL;

		for (size_t i = 0; i < d->nsaved; i++)
			if (d->saved[i].kind == MT_CURSOR_JOURNAL)
				jc = &d->saved[i];
		d->journal = mt_journal_new(d->loop, &d->gen.cfg->journal, jc, on_journal_line, d);
	}
	if (d->ntails == 0 && d->journal == NULL)
		log_warnx("no input: nothing to follow (configure inputs, or enable the journal)");

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
	/*
	 * Save the starting positions at once: a crash before the first
	 * checkpoint then repeats lines instead of skipping them.
	 */
	save_state(d);
	log_info("started: %zu signatures, %zu input files%s, state in %s",
		 mt_catalog_count(d->gen.cat), d->ntails, d->journal ? " and the journal" : "",
		 mt_state_path(d->state));
	(void)notify_send("READY=1\nSTATUS=following %zu inputs with %zu signatures", d->ntails,
			  mt_catalog_count(d->gen.cat));

	ev_run(d->loop, 0);

	/* Stopping: what was read is delivered, then the positions are saved. */
	mt_output_flush(d->out);
	if (d->grouper) {
		mt_grouper_flush(d->grouper, ev_now(d->loop));
		delivery_drain(d, 3.0); /* bounded: the rest stays spooled for the next run */
	}
	save_state(d);
	log_counters(d); /* before the webhooks go: their counters are part of it */
	delivery_stop(d, false);
	mt_buf_fini(&d->payload);
	mt_buf_fini(&d->saved_groups);
	for (size_t i = 0; i < d->ntails; i++)
		mt_tail_free(d->tails[i]);
	mt_journal_free(d->journal);
	mt_watch_free(d->watch);
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
