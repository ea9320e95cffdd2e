/*
 * journal - alerts into the systemd journal as structured entries
 * (sd_journal_sendv), so `journalctl MTALERT_SIGNATURE=ID` finds them:
 * MESSAGE (a one-line summary), PRIORITY (from the severity),
 * SYSLOG_IDENTIFIER (the syslog sink's tag, so our own entries are skipped
 * when the journal is also an input), and MTALERT_SIGNATURE, _SEVERITY,
 * _CATEGORY, _DOMAIN, _TITLE, _HOST, _QUEUE_ID, _RELAY, _RELAY_IP,
 * _CLIENT_IP, _RECIPIENT, _DSN, _FILE, _OFFSET, _DOC, _FIX, _LINE.
 *
 * Values from the log are sent length-delimited (binary-safe, newlines kept
 * as data) and capped at MT_ALERT_FIELD_MAX bytes (the line at
 * MT_ALERT_LINE_MAX).  A send that fails is counted and logged once per
 * episode; so is a missing /run/systemd/journal/socket, which
 * sd_journal_sendv() itself would pass over silently.  Built without libsystemd, every send fails
 * with -ENOSYS.  Loop context.
 */
#ifndef MT_JOURNAL_SINK_H
#define MT_JOURNAL_SINK_H

#include <stdint.h>

#include "alert/alert.h"

struct mt_journal_sink;

struct mt_journal_sink_stats {
	uint64_t sent, failed;
};

struct mt_journal_sink *mt_journal_sink_new(const char *tag);
struct mt_journal_sink *mt_journal_sink_free(struct mt_journal_sink *j);
/* 0, or -errno (counted and logged here). */
int mt_journal_sink_send(struct mt_journal_sink *j, const struct mt_alert *a);
const struct mt_journal_sink_stats *mt_journal_sink_stats(const struct mt_journal_sink *j);

#endif
