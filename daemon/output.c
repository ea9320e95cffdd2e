#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "log.h"
#include "xalloc.h"

#define SYSLOG_MSG_MAX 1024

struct mt_output {
	struct mt_config_alerting conf;
	char *tag;
	struct mt_buf pending; /* rendered stdout alerts not yet written */
	struct mt_buf scratch;
	bool write_warned;
	struct mt_output_stats stats;
};

struct mt_output *
mt_output_new(const struct mt_config_alerting *conf)
{
	struct mt_output *o = mt_xcalloc(1, sizeof(*o));

	o->conf = *conf;
	o->tag = mt_xstrdup(conf->syslog_sink.tag ? conf->syslog_sink.tag : "mtalert");
	o->conf.syslog_sink.tag = o->tag;
	/* Pending output is bounded: past it we write through at once. */
	mt_buf_init(&o->pending, 4 * MT_ALERT_JSON_MAX);
	mt_buf_init(&o->scratch, MT_ALERT_JSON_MAX);
	if (conf->syslog_sink.enabled)
		openlog(o->tag, LOG_PID | LOG_NDELAY, conf->syslog_sink.facility);
	return o;
}

struct mt_output *
mt_output_free(struct mt_output *o)
{
	if (o == NULL)
		return NULL;
	mt_output_flush(o);
	if (o->conf.syslog_sink.enabled)
		closelog();
	mt_buf_fini(&o->pending);
	mt_buf_fini(&o->scratch);
	free(o->tag);
	free(o);
	return NULL;
}

void
mt_output_flush(struct mt_output *o)
{
	const char *p = o->pending.data;
	size_t left = o->pending.len;

	while (left > 0) {
		ssize_t n = write(STDOUT_FILENO, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* A slow reader behind a pipe: keep what is left for the next flush. */
			mt_buf_consume(&o->pending, o->pending.len - left);
			return;
		}
		if (n <= 0) {
			o->stats.stdout_failed++;
			if (!o->write_warned)
				log_warn("cannot write alerts to standard output (%zu bytes lost; "
					 "counted, see SIGUSR1)",
					 left);
			o->write_warned = true;
			break;
		}
		o->write_warned = false;
		p += n;
		left -= (size_t)n;
	}
	mt_buf_reset(&o->pending);
}

static int
syslog_priority(enum mt_severity s)
{
	switch (s) {
	case MT_SEV_CRITICAL:
		return LOG_CRIT;
	case MT_SEV_ERROR:
		return LOG_ERR;
	case MT_SEV_WARNING:
		return LOG_WARNING;
	case MT_SEV_INFO:
		return LOG_INFO;
	}
	return LOG_ERR;
}

/* "[error] title (id) relay=... queue=... fix: ... at file:line", cleaned. */
static void
syslog_alert(struct mt_output *o, const struct mt_alert *a)
{
	const struct mt_signature *s = a->match->sig;
	struct mt_buf *b = &o->scratch;
	static const enum mt_field shown[] = { MT_F_RELAY_HOST, MT_F_CLIENT_HOST, MT_F_CLIENT_IP,
					       MT_F_QUEUE_ID, MT_F_RECIPIENT };

	mt_buf_reset(b);
	(void)mt_buf_printf(b, "[%s] %s (%s)", mt_severity_name(mt_alert_severity(a)),
			    mt_sig_title(s, a->locale), s->id);
	for (size_t i = 0; a->rec && i < sizeof(shown) / sizeof(shown[0]); i++) {
		const struct mt_view *v = &a->rec->f[shown[i]];

		if (v->len == 0)
			continue;
		(void)mt_buf_printf(b, " %s=", mt_field_name(shown[i]));
		(void)mt_text_clean(b, v->p, v->len, 100);
	}
	if (s->nworkarounds)
		(void)mt_buf_printf(b, "; fix (%.0f%%): %.200s",
				    s->workarounds[0].success_rate * 100,
				    mt_workaround_action(&s->workarounds[0], a->locale));
	(void)mt_buf_printf(b, "; at %.300s:%llu", a->file ? a->file : "-",
			    (unsigned long long)a->lineno);
	syslog(syslog_priority(mt_alert_severity(a)), "%.*s", SYSLOG_MSG_MAX, b->data);
	o->stats.syslog_sent++;
}

void
mt_output_alert(struct mt_output *o, const struct mt_alert *a)
{
	o->stats.alerts++;
	if (o->conf.stdout_sink.enabled) {
		mt_buf_reset(&o->scratch);
		if ((o->conf.stdout_sink.format == MT_FORMAT_TEXT ?
			     mt_alert_text(&o->scratch, a) :
			     mt_alert_json(&o->scratch, a)) < 0 ||
		    mt_buf_putc(&o->scratch, '\n') < 0) {
			log_warnx("alert for %s too large to render, skipping", a->match->sig->id);
		} else {
			if (o->pending.len + o->scratch.len > o->pending.cap)
				mt_output_flush(o);
			if (mt_buf_append(&o->pending, o->scratch.data, o->scratch.len) < 0) {
				o->stats.stdout_failed++;
				log_warnx("output buffer full, alert for %s lost (counted)",
					  a->match->sig->id);
			}
		}
	}
	if (o->conf.syslog_sink.enabled)
		syslog_alert(o, a);
}

const struct mt_output_stats *
mt_output_stats(const struct mt_output *o)
{
	return &o->stats;
}
