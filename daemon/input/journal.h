/*
 * journal - read mail log lines from the systemd journal (libsystemd's
 * sd-journal), for hosts where Postfix logs only there (Debian 12 without
 * rsyslog).  Entries are turned into classic syslog lines,
 * "Mon DD HH:MM:SS host ident[pid]: MESSAGE", so the same parser and
 * signatures apply.  Only mail programs are read: the configured matches, or
 * else SYSLOG_IDENTIFIER starting with postfix, exim, sendmail or sm-mta.
 * The position is the journal cursor, kept in the state file.
 *
 * Built only with -Dsystemd (libsystemd found); without it mt_journal_new()
 * logs that the journal is unavailable and returns NULL.
 */
#ifndef MT_JOURNAL_H
#define MT_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "config/config.h"
#include "util/cursor.h"

#define MT_JOURNAL_BATCH 1000 /* entries per wakeup */

struct mt_journal;

typedef void mt_journal_line_fn(void *ctx, const char *p, size_t len);

struct mt_journal *mt_journal_new(struct ev_loop *loop, const struct mt_config_journal *conf,
				  const struct mt_cursor *cursor, mt_journal_line_fn *on_line,
				  void *ctx);
struct mt_journal *mt_journal_free(struct mt_journal *j);
bool mt_journal_cursor(struct mt_journal *j, struct mt_cursor *ret);

#endif
