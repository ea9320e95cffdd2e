/* output - every alert at once to stdout (JSON Lines or text), syslog and the journal. */
#include "sink/output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sink/journal.h"
#include "sink/syslog.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/xalloc.h"

/*
 * Pending stdout output is written once it reaches this much (a pipe's
 * default capacity).  Filling the buffer to its cap first, as a catch-up
 * through a backlog did, held a mebibyte for good for writes no faster than
 * these; the cap still bounds what a slow reader leaves behind.
 */
#define OUTPUT_BATCH (64 * 1024)

struct mt_output {
	struct mt_config_alerting conf;
	struct mt_syslog_sink *syslog;	 /* NULL when disabled */
	struct mt_journal_sink *journal; /* NULL when disabled */
	struct mt_buf pending;		 /* rendered stdout alerts not yet written */
	struct mt_buf scratch;
	bool write_warned;
	struct mt_output_stats stats;
};

struct mt_output *
mt_output_new(const struct mt_config_alerting *conf)
{
	struct mt_output *o = mt_xcalloc(1, sizeof(*o));

	o->conf = *conf;
	/* The sink copies what it keeps of the config: o->conf's strings are borrowed. */
	if (conf->syslog_sink.enabled)
		o->syslog = mt_syslog_sink_new(&conf->syslog_sink);
	if (conf->journal_sink.enabled)
		o->journal = mt_journal_sink_new(conf->syslog_sink.tag);
	/* Pending output is bounded: past it we write through at once. */
	mt_buf_init(&o->pending, 4 * MT_ALERT_JSON_MAX);
	mt_buf_init(&o->scratch, MT_ALERT_JSON_MAX);
	return o;
}

struct mt_output *
mt_output_free(struct mt_output *o)
{
	if (o == NULL)
		return NULL;
	mt_output_flush(o);
	o->syslog = mt_syslog_sink_free(o->syslog);
	o->journal = mt_journal_sink_free(o->journal);
	mt_buf_fini(&o->pending);
	mt_buf_fini(&o->scratch);
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

void
mt_output_alert(struct mt_output *o, const struct mt_alert *a)
{
	const struct mt_signature *sig = a->match->sig;
	enum mt_severity sev = mt_alert_severity(a);

	o->stats.alerts++;
	if (o->conf.stdout_sink.enabled &&
	    mt_config_filter_accepts(&o->conf.stdout_sink.filter, sig, sev)) {
		mt_buf_reset(&o->scratch);
		if ((o->conf.stdout_sink.format == MT_FORMAT_TEXT ?
			     mt_alert_text(&o->scratch, a) :
			     mt_alert_json(&o->scratch, a)) < 0 ||
		    mt_buf_putc(&o->scratch, '\n') < 0) {
			log_warnx("alert for %s too large to render, skipping", a->match->sig->id);
		} else {
			if (o->pending.len + o->scratch.len > OUTPUT_BATCH)
				mt_output_flush(o);
			if (mt_buf_append(&o->pending, o->scratch.data, o->scratch.len) < 0) {
				o->stats.stdout_failed++;
				log_warnx("output buffer full, alert for %s lost (counted)",
					  a->match->sig->id);
			} else {
				o->stats.stdout_written++;
			}
		}
	}
	if (o->syslog != NULL && mt_config_filter_accepts(&o->conf.syslog_sink.filter, sig, sev)) {
		const struct mt_syslog_sink_stats *ss;

		(void)mt_syslog_sink_send(o->syslog, a); /* counted and logged there */
		ss = mt_syslog_sink_stats(o->syslog);
		o->stats.syslog_sent = ss->sent;
		o->stats.syslog_failed = ss->failed;
		o->stats.syslog_dropped = ss->dropped;
	}
	if (o->journal != NULL &&
	    mt_config_filter_accepts(&o->conf.journal_sink.filter, sig, sev)) {
		(void)mt_journal_sink_send(o->journal, a); /* counted and logged there */
		o->stats.journal_sent = mt_journal_sink_stats(o->journal)->sent;
		o->stats.journal_failed = mt_journal_sink_stats(o->journal)->failed;
	}
}

const struct mt_output_stats *
mt_output_stats(const struct mt_output *o)
{
	return &o->stats;
}
