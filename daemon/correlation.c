/* correlation - records, tables and their file, for the daemon (see correlation.h). */
#include "correlation.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define RECORD_LINES_MAX 256
#define SAVE_MAX	 (512u * 1024 * 1024) /* the file of a full 1,000,000-message table fits */
#define LOAD_MAX	 SAVE_MAX

struct mt_correlation {
	struct ev_loop *loop;
	bool enabled;
	double timeout;
	struct mt_join *join;
	struct mt_correlate *corr; /* NULL when disabled */
	ev_timer timer;		   /* a record waits for its continuation */
	mt_join_fn on_record;
	void *ctx;
	char *path, *tmp;
	bool dirty;
	double saved_at;
	bool save_warned;
};

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mt_correlation *cn = w->data;

	mt_join_flush(cn->join);
}

static void
make_tables(struct mt_correlation *cn, const struct mt_config *cfg, const uint8_t key[16])
{
	struct mt_correlate_opts o;

	mt_correlate_opts_default(&o);
	o.max_messages = (size_t)cfg->correlate.max_messages;
	o.max_destinations = (size_t)cfg->correlate.max_destinations;
	o.max_age = cfg->correlate.message_max_age;
	o.health_window = cfg->correlate.health_window;
	o.health_threshold = (unsigned)cfg->correlate.health_threshold;
	o.health_min_attempts = (unsigned)cfg->correlate.health_min_attempts;
	cn->corr = mt_correlate_new(&o, key);
}

struct mt_correlation *
mt_correlation_new(struct ev_loop *loop, const struct mt_config *cfg, const struct mt_catalog *cat,
		   const uint8_t key[16], mt_join_fn on_record, void *ctx)
{
	struct mt_correlation *cn = mt_xcalloc(1, sizeof(*cn));
	size_t len = strlen(cfg->state_directory) + 32;

	cn->loop = loop;
	cn->on_record = on_record;
	cn->ctx = ctx;
	cn->enabled = cfg->correlate.enabled;
	cn->timeout = cfg->correlate.continuation_timeout;
	cn->join =
		mt_join_new((size_t)cfg->limits.max_line_length, RECORD_LINES_MAX, on_record, ctx);
	ev_timer_init(&cn->timer, on_timer, cn->timeout, 0.);
	cn->timer.data = cn;
	cn->path = mt_xmalloc(len);
	cn->tmp = mt_xmalloc(len);
	(void)snprintf(cn->path, len, "%s/correlate", cfg->state_directory);
	(void)snprintf(cn->tmp, len, "%s/.correlate.tmp", cfg->state_directory);
	if (cn->enabled) {
		make_tables(cn, cfg, key);
		mt_correlate_set_catalog(cn->corr, cat);
	}
	return cn;
}

struct mt_correlation *
mt_correlation_free(struct mt_correlation *cn)
{
	if (cn == NULL)
		return NULL;
	ev_timer_stop(cn->loop, &cn->timer);
	mt_join_free(cn->join);
	mt_correlate_free(cn->corr);
	free(cn->path);
	free(cn->tmp);
	free(cn);
	return NULL;
}

void
mt_correlation_reload(struct mt_correlation *cn, const struct mt_config *cfg,
		      const struct mt_catalog *cat)
{
	mt_join_flush(cn->join);
	cn->enabled = cfg->correlate.enabled;
	cn->timeout = cfg->correlate.continuation_timeout;
	if (!cn->enabled) {
		cn->corr = mt_correlate_free(cn->corr);
		return;
	}
	if (cn->corr == NULL) {
		uint8_t key[16];
		FILE *ur = fopen("/dev/urandom", "re");

		if (ur == NULL || fread(key, 1, sizeof(key), ur) != sizeof(key))
			memset(key, 0x5a, sizeof(key)); /* a weaker key, not a failure */
		if (ur != NULL)
			(void)fclose(ur);
		make_tables(cn, cfg, key);
	}
	mt_correlate_set_catalog(cn->corr, cat);
}

void
mt_correlation_line(struct mt_correlation *cn, const char *file, const char *p, size_t len,
		    bool truncated, uint64_t offset)
{
	struct mt_join_rec r;

	if (!cn->enabled) {
		r = (struct mt_join_rec){ .file = file,
					  .p = p,
					  .len = len,
					  .truncated = truncated,
					  .offset = offset,
					  .nlines = 1 };
		cn->on_record(cn->ctx, &r);
		return;
	}
	mt_join_line(cn->join, file, p, len, truncated, offset, 0);
	if (mt_join_pending(cn->join)) {
		/* Exim writes an entry in one write: its lines arrive together or not at all. */
		ev_timer_stop(cn->loop, &cn->timer);
		ev_timer_set(&cn->timer, cn->timeout, 0.);
		ev_timer_start(cn->loop, &cn->timer);
	} else {
		ev_timer_stop(cn->loop, &cn->timer);
	}
}

void
mt_correlation_flush(struct mt_correlation *cn)
{
	ev_timer_stop(cn->loop, &cn->timer);
	mt_join_flush(cn->join);
}

void
mt_correlation_observe(struct mt_correlation *cn, const struct mt_logrec *rec,
		       const struct mt_signature *sig, double now, struct mt_corr_result *ret)
{
	if (cn->corr == NULL) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	mt_correlate_observe(cn->corr, rec, sig, now, ret);
	if (ret->verdict != MT_CORR_NONE || ret->resolved_destination != NULL)
		cn->dirty = true;
}

void
mt_correlation_load(struct mt_correlation *cn)
{
	int fd;
	struct stat st;
	char *p;
	size_t n = 0, skipped = 0;
	int r;

	if (cn->corr == NULL)
		return;
	fd = open(cn->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("cannot read %s; starting without saved messages", cn->path);
		return;
	}
	if (fstat(fd, &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size > LOAD_MAX) {
		log_warnx("%s: too large or unreadable, ignoring", cn->path);
		(void)close(fd);
		return;
	}
	p = mt_xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, p + n, (size_t)st.st_size - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	(void)close(fd);
	r = mt_correlate_load(cn->corr, p, n, &skipped);
	free(p);
	if (r < 0)
		log_warnx("%s is not a table mtalert wrote, ignoring", cn->path);
	else if (skipped > 0)
		log_warnx("%s: %zu damaged entr%s skipped", cn->path, skipped,
			  skipped == 1 ? "y" : "ies");
	else
		log_info("%zu messages and %zu destinations followed since the last run",
			 mt_correlate_stats(cn->corr)->messages,
			 mt_correlate_stats(cn->corr)->destinations);
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

void
mt_correlation_save(struct mt_correlation *cn, double min_interval)
{
	struct mt_buf b;
	double now = ev_now(cn->loop);
	int fd, r;

	if (cn->corr == NULL || !cn->dirty ||
	    (min_interval > 0 && now - cn->saved_at < min_interval))
		return;
	mt_buf_init(&b, SAVE_MAX);
	r = mt_correlate_save(cn->corr, &b);
	if (r == 0) {
		fd = open(cn->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		r = fd < 0 ? -errno : write_all(fd, b.data, b.len);
		if (r == 0 && fsync(fd) < 0)
			r = -errno;
		if (fd >= 0 && close(fd) < 0 && r == 0)
			r = -errno;
		if (r == 0 && rename(cn->tmp, cn->path) < 0)
			r = -errno;
	}
	mt_buf_fini(&b);
	if (r < 0) {
		if (!cn->save_warned)
			log_warnx("cannot save the message table to %s: %s; will retry", cn->path,
				  strerror(-r));
		cn->save_warned = true;
		return;
	}
	cn->save_warned = false;
	cn->dirty = false;
	cn->saved_at = now;
}

void
mt_correlation_log_counters(struct mt_correlation *cn)
{
	const struct mt_join_stats *js = mt_join_stats(cn->join);
	const struct mt_correlate_stats *st;

	log_info("records: %llu, of several lines %llu (%llu continuation lines, %llu cut)",
		 (unsigned long long)js->records, (unsigned long long)js->joined,
		 (unsigned long long)js->cont_lines, (unsigned long long)js->cut_records);
	if (cn->corr == NULL)
		return;
	st = mt_correlate_stats(cn->corr);
	log_info("correlation: %zu messages, %zu destinations, %zu causes (%zu bytes); "
		 "%llu repeats, %llu outcomes, %llu resolved, %llu health alerts; evicted "
		 "%llu messages by size, %llu by age, %llu destinations, %llu causes",
		 st->messages, st->destinations, st->causes, st->memory,
		 (unsigned long long)st->repeats, (unsigned long long)st->outcomes,
		 (unsigned long long)st->resolved, (unsigned long long)st->health_alerts,
		 (unsigned long long)st->msg_evicted_lru, (unsigned long long)st->msg_evicted_age,
		 (unsigned long long)st->dest_evicted, (unsigned long long)st->cause_evicted);
}
