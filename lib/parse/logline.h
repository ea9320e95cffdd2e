/*
 * logline - split one mail-log line into fields.
 *
 * mt_logline_parse() recognises the line's framing (RFC 3164 and RFC 5424 /
 * ISO 8601 syslog timestamps, journalctl short format, Postfix maillog_file,
 * Exim mainlog/rejectlog/paniclog with optional pid, milliseconds and zone,
 * Exim and Sendmail via syslog, and headerless excerpts such as
 * "postfix/smtp[123]: ..." or a bare Postfix message) and then the fields
 * the MTA writes inside the message: queue or message id, sender,
 * recipient, relay, client, dsn, status and the remote server's reply.
 *
 * It is a pure function over (p, len): it does not assume a NUL, does not
 * allocate, never fails.  Every field is a view into the caller's line and
 * lives as long as the line.  A field that is absent has len 0.  A line it
 * does not understand gets mta MT_MTA_UNKNOWN and the whole line as message,
 * so it still reaches the matcher.  Callable from any context.
 */
#ifndef MT_LOGLINE_H
#define MT_LOGLINE_H

#include <stddef.h>

struct mt_view {
	const char *p;
	size_t len;
};

enum mt_mta {
	MT_MTA_UNKNOWN = 0,
	MT_MTA_POSTFIX,
	MT_MTA_EXIM,
	MT_MTA_SENDMAIL,
	MT_MTA__COUNT
};

/* How the line was framed; for tests and `mtalertd test`. */
enum mt_logfmt {
	MT_FMT_NONE = 0, /* no header recognised: the whole line is the message */
	MT_FMT_RFC3164, /* "Feb 21 09:21:54 host prog[pid]: msg" (also "Jan 1", journalctl short) */
	MT_FMT_ISO8601, /* "2023-03-14T00:00:31.185246+01:00 host prog[pid]: msg" */
	MT_FMT_RFC5424, /* "<PRI>1 2023-03-14T00:00:31Z host prog pid msgid [sd] msg" */
	MT_FMT_MAILLOG, /* Postfix maillog_file: "Mar 14 00:00:31 prog[pid]: msg" or ISO ts, no host */
	MT_FMT_EXIM,	/* "2020-06-19 04:51:49[.123] [+0200] [[pid]] msg" */
	MT_FMT_PROGRAM, /* headerless "postfix/smtp[123]: msg" or "sm-mta[5]: msg" */
	MT_FMT__COUNT
};

/*
 * The fields, in the order they are reported.  Views into the line.
 * TIME is the timestamp as written; PROGRAM is e.g. "postfix-out/smtp",
 * "exim", "sm-mta"; SERVICE is the part after the last '/' for Postfix
 * ("smtp"); QUEUE_ID is a Postfix queue id, an Exim message id (both
 * 1rLc2b-0003Ab-Cd and 10HmaX-000000005vi-0000) or a Sendmail queue id;
 * MESSAGE is everything after the header (after "prog[pid]: " or after
 * the Exim timestamp/pid); REPLY is the remote server's reply text (Postfix
 * "said: ..." or the text inside status=...(...), Exim "SMTP error from
 * remote mail server after ...: ..." or the text after a "defer (N): ",
 * Sendmail "reject=..." / "stat=...").
 */
enum mt_field {
	MT_F_TIME = 0,
	MT_F_HOST,
	MT_F_PROGRAM,
	MT_F_SERVICE,
	MT_F_PID,
	MT_F_QUEUE_ID,
	MT_F_SENDER,
	MT_F_RECIPIENT,
	MT_F_RELAY_HOST,
	MT_F_RELAY_IP,
	MT_F_CLIENT_HOST,
	MT_F_CLIENT_IP,
	MT_F_DSN,
	MT_F_STATUS,
	MT_F_REPLY,
	MT_F_MESSAGE,
	MT_F__COUNT
};

struct mt_logrec {
	enum mt_mta mta;
	enum mt_logfmt fmt;
	struct mt_view f[MT_F__COUNT];
};

void mt_logline_parse(const char *p, size_t len, struct mt_logrec *ret);

/* Stable lower-case names: "time", "host", ..., "relay_ip", "reply". */
const char *mt_field_name(enum mt_field f);
const char *mt_mta_name(enum mt_mta m); /* "unknown", "postfix", "exim", "sendmail" */
const char *mt_logfmt_name(enum mt_logfmt f);

#endif
