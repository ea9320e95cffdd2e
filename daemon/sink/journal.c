/* journal - alerts as structured journal entries through sd_journal_sendv. */
#include "sink/journal.h"

#include <sys/uio.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mt_config.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/xalloc.h"

#if MT_HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#define NFIELDS	       24
#define JOURNAL_SOCKET "/run/systemd/journal/socket" /* where sd_journal_sendv sends */

struct mt_journal_sink {
	char *tag;
	struct mt_buf fields; /* every "NAME=value" of one entry, back to back */
	bool warned;
	struct mt_journal_sink_stats stats;
};

struct mt_journal_sink *
mt_journal_sink_new(const char *tag)
{
	struct mt_journal_sink *j = mt_xcalloc(1, sizeof(*j));

	j->tag = mt_xstrdup(tag);
	/* Room for the line, the summary and every field at its cap. */
	mt_buf_init(&j->fields, MT_ALERT_LINE_MAX + 3 * 1024 + NFIELDS * (MT_ALERT_FIELD_MAX + 32));
	return j;
}

struct mt_journal_sink *
mt_journal_sink_free(struct mt_journal_sink *j)
{
	if (j == NULL)
		return NULL;
	free(j->tag);
	mt_buf_fini(&j->fields);
	free(j);
	return NULL;
}

const struct mt_journal_sink_stats *
mt_journal_sink_stats(const struct mt_journal_sink *j)
{
	return &j->stats;
}

struct entry {
	struct iovec iov[NFIELDS];
	size_t off[NFIELDS]; /* into the buffer: it may move while it fills */
	size_t n;
	struct mt_buf *b;
	int r;
};

/* NAME=value, value cut at max bytes; nothing when value is empty or NULL. */
static void
field(struct entry *e, const char *name, const char *p, size_t len, size_t max)
{
	size_t start = e->b->len;

	if (p == NULL || len == 0 || e->n == NFIELDS)
		return;
	if (len > max)
		len = max;
	if (mt_buf_printf(e->b, "%s=", name) < 0 || mt_buf_append(e->b, p, len) < 0) {
		e->r = -ENOBUFS;
		return;
	}
	e->off[e->n] = start;
	e->iov[e->n].iov_len = e->b->len - start;
	e->n++;
}

static void
cfield(struct entry *e, const char *name, const char *s)
{
	if (s != NULL)
		field(e, name, s, strlen(s), MT_ALERT_FIELD_MAX);
}

static void
lfield(struct entry *e, const char *name, const struct mt_alert *a, enum mt_field f)
{
	if (a->rec != NULL)
		field(e, name, a->rec->f[f].p, a->rec->f[f].len, MT_ALERT_FIELD_MAX);
}

/* syslog(3) priorities: critical 2, error 3, warning 4, info 6. */
static const char *
priority(enum mt_severity s)
{
	switch (s) {
	case MT_SEV_CRITICAL:
		return "2";
	case MT_SEV_ERROR:
		return "3";
	case MT_SEV_WARNING:
		return "4";
	default:
		return "6";
	}
}

int
mt_journal_sink_send(struct mt_journal_sink *j, const struct mt_alert *a)
{
	const struct mt_signature *s = a->match->sig;
	enum mt_severity sev = mt_alert_severity(a);
	struct entry e = { .b = &j->fields };
	struct mt_buf msg;
	char off[32];
	int r;

	mt_buf_reset(&j->fields);
	/* MESSAGE: "[warning] title (id) relay=..." with the log's text cleaned. */
	mt_buf_init(&msg, 2048);
	(void)mt_buf_printf(&msg, "[%s] ", mt_severity_name(sev));
	(void)mt_text_clean(&msg, mt_sig_title(s, a->locale), strlen(mt_sig_title(s, a->locale)),
			    300);
	(void)mt_buf_printf(&msg, " (%s)", s->id);
	if (a->rec != NULL && a->rec->f[MT_F_RELAY_HOST].len > 0) {
		(void)mt_buf_puts(&msg, " relay=");
		(void)mt_text_clean(&msg, a->rec->f[MT_F_RELAY_HOST].p,
				    a->rec->f[MT_F_RELAY_HOST].len, 255);
	} else if (a->rec != NULL && a->rec->f[MT_F_CLIENT_IP].len > 0) {
		(void)mt_buf_puts(&msg, " client=");
		(void)mt_text_clean(&msg, a->rec->f[MT_F_CLIENT_IP].p,
				    a->rec->f[MT_F_CLIENT_IP].len, 64);
	}
	field(&e, "MESSAGE", msg.data, msg.len, msg.len);
	mt_buf_fini(&msg);
	cfield(&e, "PRIORITY", priority(sev));
	cfield(&e, "SYSLOG_IDENTIFIER", j->tag);
	cfield(&e, "MTALERT_SIGNATURE", s->id);
	cfield(&e, "MTALERT_SEVERITY", mt_severity_name(sev));
	cfield(&e, "MTALERT_CATEGORY", s->category);
	cfield(&e, "MTALERT_DOMAIN", s->domain);
	cfield(&e, "MTALERT_TITLE", mt_sig_title(s, a->locale));
	lfield(&e, "MTALERT_HOST", a, MT_F_HOST);
	lfield(&e, "MTALERT_QUEUE_ID", a, MT_F_QUEUE_ID);
	lfield(&e, "MTALERT_RELAY", a, MT_F_RELAY_HOST);
	lfield(&e, "MTALERT_RELAY_IP", a, MT_F_RELAY_IP);
	lfield(&e, "MTALERT_CLIENT_IP", a, MT_F_CLIENT_IP);
	lfield(&e, "MTALERT_RECIPIENT", a, MT_F_RECIPIENT);
	lfield(&e, "MTALERT_DSN", a, MT_F_DSN);
	cfield(&e, "MTALERT_FILE", a->file);
	(void)snprintf(off, sizeof(off), "%llu", (unsigned long long)a->offset);
	cfield(&e, "MTALERT_OFFSET", off);
	cfield(&e, "MTALERT_DOC", s->official_doc_url);
	if (s->nworkarounds > 0)
		cfield(&e, "MTALERT_FIX", mt_workaround_action(&s->workarounds[0], a->locale));
	field(&e, "MTALERT_LINE", a->line, a->len, MT_ALERT_LINE_MAX);
	if (e.r < 0) {
		j->stats.failed++;
		log_warnx("journal: alert for %s too large, skipping", s->id);
		return e.r;
	}
	for (size_t i = 0; i < e.n; i++)
		e.iov[i].iov_base = j->fields.data + e.off[i];
#if MT_HAVE_SYSTEMD
	/* sd_journal_sendv() returns 0 when journald's socket is missing: look first. */
	if (access(JOURNAL_SOCKET, F_OK) < 0)
		r = -errno;
	else
		r = sd_journal_sendv(e.iov, (int)e.n);
#else
	r = -ENOSYS;
#endif
	if (r < 0) {
		j->stats.failed++;
		if (!j->warned)
			log_warnx(
				"cannot send alerts to the journal: %s (counted; logged once until "
				"it works again)",
				strerror(-r));
		j->warned = true;
		return r;
	}
	if (j->warned)
		log_info("alerts reach the journal again");
	j->warned = false;
	j->stats.sent++;
	return 0;
}
