/*
 * session - name the cause of a failed SMTP session on the lines that only
 * say it failed.
 *
 * Postfix writes one TLS failure as three lines from one process: "SSL_accept
 * error from client[ip]: -1", "warning: TLS library problem: ... no shared
 * cipher", "lost connection after STARTTLS from client[ip]"; a delivery
 * "certificate verification failed for mx[ip]:25: self-signed certificate"
 * is followed by "status=deferred (Server certificate not verified)".  Only
 * one of them says why.  The records of the others carry session_outcome:
 * true; this table remembers, per process (host, program and pid), the first
 * cause it logged for its current peer, so an outcome line that follows gets
 * that cause (the caller marks it a repeat of it) when both are of one
 * domain or name one message (Sendmail's "dsn=4.4.3, stat=queued" after the
 * SYSERR of the map that deferred it).
 *
 * Bounded: a fixed direct-mapped table, slot by keyed hash; a process whose
 * slot another takes is forgotten (no attribution, never a wrong one: the
 * whole hash is compared).  A session ends when its process names another
 * peer or after MT_SESSION_WINDOW seconds of log time without a line.
 *
 * Pure: no I/O, no clock.  Causes point into the caller's catalog: clear
 * the table when the catalog changes.
 */
#ifndef MT_SESSION_H
#define MT_SESSION_H

#include <stdint.h>

#include "match/catalog.h"
#include "parse/logline.h"

#define MT_SESSION_SLOTS  1024
#define MT_SESSION_WINDOW 10 /* seconds of log time */

struct mt_session;

struct mt_session *mt_session_new(const uint8_t key[16]);
struct mt_session *mt_session_free(struct mt_session *s);
void mt_session_clear(struct mt_session *s);

/*
 * One matched record (sig its winner, t its time).  Returns the cause to
 * name when sig is a session outcome whose process logged a cause of the
 * same domain for the same peer, with when it was logged in *since; else
 * NULL (and a cause line is remembered).
 */
const struct mt_signature *mt_session_cause(struct mt_session *s, const struct mt_logrec *rec,
					    const struct mt_signature *sig, uint32_t t,
					    uint32_t *since);

size_t mt_session_bytes(void);

#endif
