/*
 * output - where every alert goes as it happens: JSON Lines (or text) on
 * stdout, and the local syslog through syslog_sink (our own datagrams on the
 * configured socket: text, JSON or RFC 5424; facility and tag from the
 * config, priority from the severity) and the journal through journal_sink
 * (structured fields; off by default).  Syslog and the journal take warning
 * and above by default.  A silenced alert is not given to the output at
 * all (daemon.c decides).  Webhooks get grouped notifications
 * instead (group.h, sink_webhook.h), wired in daemon.c.
 *
 * A write that fails (stdout closed, a full disk behind a redirect) is
 * counted and logged once per episode, never silently dropped, and never
 * stops the daemon.
 */
#ifndef MT_OUTPUT_H
#define MT_OUTPUT_H

#include <stdint.h>

#include "alert/alert.h"
#include "config/config.h"

struct mt_output;

struct mt_output_stats {
	uint64_t alerts, stdout_failed;
	/* From syslog_sink: datagrams sent; alerts lost to a missing or full socket. */
	uint64_t syslog_sent, syslog_failed, syslog_dropped;
	/* From the journal sink: entries sent, entries that failed. */
	uint64_t journal_sent, journal_failed;
	/* Alerts written to stdout (rendered into its buffer). */
	uint64_t stdout_written;
};

struct mt_output *mt_output_new(const struct mt_config_alerting *conf);
struct mt_output *mt_output_free(struct mt_output *o);
void mt_output_alert(struct mt_output *o, const struct mt_alert *a);
/* Push buffered output out; call after each batch of lines. */
void mt_output_flush(struct mt_output *o);
const struct mt_output_stats *mt_output_stats(const struct mt_output *o);

#endif
