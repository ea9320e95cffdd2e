/* journal - lines from the systemd journal (sd-journal), with a cursor for restarts. */
#include "input/journal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "input/linereader.h"
#include "log.h"
#include "util.h"
#include "util/buf.h"
#include "util/xalloc.h"

struct mt_journal {
	struct ev_loop *loop;
	sd_journal *j;
	ev_io io;
	ev_idle more;
	bool filter_mail; /* no configured matches: keep only mail programs */
	mt_journal_line_fn *on_line;
	void *ctx;
	struct mt_buf line;
};

/* A field's value as a view; false if absent. */
static bool
field(sd_journal *j, const char *name, const char **ret, size_t *ret_len)
{
	const void *data;
	size_t len, nlen = strlen(name);

	if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= nlen)
		return false;
	*ret = (const char *)data + nlen + 1;
	*ret_len = len - nlen - 1;
	return true;
}

static bool
mail_program(const char *id, size_t len)
{
	static const char *const prefixes[] = { "postfix", "exim", "sendmail", "sm-mta" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);

		if (len >= pl && memcmp(id, prefixes[i], pl) == 0)
			return true;
	}
	return false;
}

static void
read_entries(struct mt_journal *jr)
{
	int n = 0, r;

	while (n < MT_JOURNAL_BATCH && (r = sd_journal_next(jr->j)) > 0) {
		const char *id = "", *pid = "", *host = "localhost", *msg;
		size_t id_len = 0, pid_len = 0, host_len = 9, msg_len;
		uint64_t usec;
		time_t secs;
		struct tm tm;
		char ts[32];

		n++;
		if (!field(jr->j, "MESSAGE", &msg, &msg_len))
			continue;
		(void)field(jr->j, "SYSLOG_IDENTIFIER", &id, &id_len);
		if (jr->filter_mail && !mail_program(id, id_len))
			continue;
		(void)field(jr->j, "_PID", &pid, &pid_len);
		(void)field(jr->j, "_HOSTNAME", &host, &host_len);
		if (sd_journal_get_realtime_usec(jr->j, &usec) < 0)
			usec = 0;
		secs = (time_t)(usec / 1000000);
		if (localtime_r(&secs, &tm) == NULL ||
		    strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm) == 0)
			mt_strlcpy(ts, "Jan  1 00:00:00", sizeof(ts));
		mt_buf_reset(&jr->line);
		(void)mt_buf_printf(&jr->line, "%s %.*s %.*s[%.*s]: ", ts,
				    (int)(host_len < 255 ? host_len : 255), host,
				    (int)(id_len < 255 ? id_len : 255), id,
				    (int)(pid_len < 20 ? pid_len : 20), pid);
		(void)mt_buf_append_trunc(&jr->line, msg, msg_len);
		jr->on_line(jr->ctx, jr->line.data, jr->line.len);
	}
	if (n == MT_JOURNAL_BATCH)
		ev_idle_start(jr->loop, &jr->more);
}

static void
on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mt_journal *jr = container_of(w, struct mt_journal, io);

	if (sd_journal_process(jr->j) < 0)
		log_warnx("journal: cannot process changes");
	read_entries(jr);
}

static void
on_more(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct mt_journal *jr = container_of(w, struct mt_journal, more);

	ev_idle_stop(loop, w);
	read_entries(jr);
}

struct mt_journal *
mt_journal_new(struct ev_loop *loop, const struct mt_config_journal *conf,
	       const struct mt_cursor *cursor, mt_journal_line_fn *on_line, void *ctx)
{
	struct mt_journal *jr = mt_xcalloc(1, sizeof(*jr));
	int r, fd;

	jr->loop = loop;
	jr->on_line = on_line;
	jr->ctx = ctx;
	mt_buf_init(&jr->line, MT_LINE_MAX);
	/* A journal directory (a container's, systemd-journal-remote's) or this host's. */
	r = conf->directory ? sd_journal_open_directory(&jr->j, conf->directory, 0) :
			      sd_journal_open(&jr->j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		log_warnx("cannot open the journal: %s", strerror(-r));
		goto fail;
	}
	for (size_t i = 0; i < conf->nmatches; i++) {
		r = sd_journal_add_match(jr->j, conf->matches[i], 0);
		if (r >= 0 && i + 1 < conf->nmatches)
			r = sd_journal_add_disjunction(jr->j);
		if (r < 0) {
			log_warnx("journal match '%s': %s", conf->matches[i], strerror(-r));
			goto fail;
		}
	}
	jr->filter_mail = conf->nmatches == 0;
	if (cursor != NULL && sd_journal_seek_cursor(jr->j, cursor->path) >= 0) {
		/* The saved entry was read already: step over it. */
		if (sd_journal_next(jr->j) > 0 && sd_journal_test_cursor(jr->j, cursor->path) <= 0)
			(void)sd_journal_previous(jr->j);
	} else {
		(void)sd_journal_seek_tail(jr->j);
		(void)sd_journal_previous(jr->j);
	}
	fd = sd_journal_get_fd(jr->j);
	if (fd < 0) {
		log_warnx("journal: no file descriptor to wait on: %s", strerror(-fd));
		goto fail;
	}
	ev_io_init(&jr->io, on_io, fd,
		   sd_journal_get_events(jr->j) == POLLOUT ? EV_WRITE : EV_READ);
	ev_io_start(loop, &jr->io);
	ev_idle_init(&jr->more, on_more);
	log_info("following the journal%s%s%s", conf->directory ? " in " : "",
		 conf->directory ? conf->directory : "", jr->filter_mail ? " (mail programs)" : "");
	read_entries(jr);
	return jr;
fail:
	if (jr->j)
		sd_journal_close(jr->j);
	mt_buf_fini(&jr->line);
	free(jr);
	return NULL;
}

struct mt_journal *
mt_journal_free(struct mt_journal *jr)
{
	if (jr == NULL)
		return NULL;
	ev_io_stop(jr->loop, &jr->io);
	ev_idle_stop(jr->loop, &jr->more);
	sd_journal_close(jr->j);
	mt_buf_fini(&jr->line);
	free(jr);
	return NULL;
}

bool
mt_journal_cursor(struct mt_journal *jr, struct mt_cursor *ret)
{
	char *c = NULL;

	if (jr == NULL || sd_journal_get_cursor(jr->j, &c) < 0)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->kind = MT_CURSOR_JOURNAL;
	mt_strlcpy(ret->path, c, sizeof(ret->path));
	free(c);
	return true;
}
