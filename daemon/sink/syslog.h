/*
 * syslog_sink - alerts to the local syslog daemon, written by us as
 * datagrams on its unix socket (alerting.syslog.socket, /dev/log) instead
 * of through syslog(3), so that the framing is ours: the one-line text
 * summary or the alert JSON in the classic RFC 3164 local framing, or
 * RFC 5424 with the alert as structured data.
 *
 * Sending never blocks the loop: the socket is SOCK_DGRAM and non-blocking,
 * and there is no queue.  A syslog daemon that is not there (the socket is
 * missing or nobody listens: ENOENT, ECONNREFUSED) costs one connect(2) per
 * alert until it is back, with no timer: each such alert is lost and
 * counted as failed, and the first one of an episode is warned about.  A
 * datagram the socket cannot take (EAGAIN, ENOBUFS: the daemon is behind)
 * is counted as dropped and warned about likewise.  Neither is ever silent,
 * and the end of an episode is logged with its count.
 *
 * mt_syslog_format() is the pure part (no I/O, no clock, no logging) so
 * that tests can check the framing byte for byte.
 *
 * Owns its socket; one sink per config generation; loop context only.
 */
#ifndef MT_SYSLOG_SINK_H
#define MT_SYSLOG_SINK_H

#include <stdint.h>

#include "alert/alert.h"
#include "config/config.h"
#include "util/buf.h"

/*
 * The largest datagram we send: rsyslog's default maxMessageSize is 8 KiB
 * and larger messages are cut by it, as by most other syslog daemons with
 * their defaults; RFC 5424 section 6.1 only asks receivers for 480 octets
 * but recommends 2048 and allows more.  A JSON alert that does not fit is
 * sent in a shortened form that still parses (see mt_syslog_format).
 */
#define MT_SYSLOG_DGRAM_MAX 8192

/*
 * The SD-ID of our structured data element, "mtalert@32473": 32473 is the
 * private enterprise number IANA reserves for documentation examples
 * (RFC 5612), used until mtalert has a number of its own.
 */
#define MT_SYSLOG_SD_ID "mtalert@32473"

struct mt_syslog_sink;

struct mt_syslog_sink_stats {
	uint64_t sent;	    /* datagrams the socket took */
	uint64_t failed;    /* alerts lost: the socket was missing or refused */
	uint64_t dropped;   /* alerts lost: the socket was full or the datagram too large */
	uint64_t shortened; /* JSON alerts sent in the shortened form */
};

/* Never fails: a socket that is not there yet is retried at each alert. */
struct mt_syslog_sink *mt_syslog_sink_new(const struct mt_config_syslog *conf);
struct mt_syslog_sink *mt_syslog_sink_free(struct mt_syslog_sink *s);
/* 0 when sent, else -errno (already counted and, once per episode, logged). */
int mt_syslog_sink_send(struct mt_syslog_sink *s, const struct mt_alert *a);
const struct mt_syslog_sink_stats *mt_syslog_sink_stats(const struct mt_syslog_sink *s);

/*
 * Render one datagram into out (appended; out's cap must allow
 * MT_SYSLOG_DGRAM_MAX more bytes, the most this appends).  format is an
 * enum mt_syslog_format, facility an openlog(3) value (LOG_MAIL), tag the
 * RFC 3164 TAG and RFC 5424 APP-NAME, hostname the RFC 5424 HOSTNAME (NULL
 * or empty: "-"), pid the PID / PROCID, now the wall-clock time in seconds
 * since the epoch, shown in local time.  Returns 0, 1 when a JSON alert was
 * shortened to fit, -EINVAL for an unknown format, -ENOBUFS when out's cap
 * does not leave room, -EMSGSIZE when not even the shortened JSON fits; on
 * failure out is left as it was.
 */
int mt_syslog_format(struct mt_buf *out, const struct mt_alert *a, int format, int facility,
		     const char *tag, const char *hostname, long pid, double now);

#endif
