/*
 * logline - framing and dispatch.
 *
 * A line is read left to right once: optional "<PRI>", a timestamp in one
 * of the forms we know, then either the syslog "host tag[pid]: " or the
 * Exim "[pid] " framing; lines without a timestamp may still start with
 * "tag[pid]: " or "host tag[pid]: ".  The message that follows goes to the
 * body parser of the MTA the tag names.  No regex, no allocation: the line
 * runs through here for every line of every tailed log.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem(3), memrchr(3); meson passes it, ad-hoc builds may not */
#endif

#include "parse/logline.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "parse/logline_internal.h"

/* A docker-compose service prefix ("postfix-mailcow_1    | ") is this short. */
#define COMPOSE_PREFIX_MAX 64

static const char *const field_names[MT_F__COUNT] = {
	[MT_F_TIME] = "time",
	[MT_F_HOST] = "host",
	[MT_F_PROGRAM] = "program",
	[MT_F_SERVICE] = "service",
	[MT_F_PID] = "pid",
	[MT_F_QUEUE_ID] = "queue_id",
	[MT_F_SENDER] = "sender",
	[MT_F_RECIPIENT] = "recipient",
	[MT_F_RELAY_HOST] = "relay_host",
	[MT_F_RELAY_IP] = "relay_ip",
	[MT_F_CLIENT_HOST] = "client_host",
	[MT_F_CLIENT_IP] = "client_ip",
	[MT_F_DSN] = "dsn",
	[MT_F_STATUS] = "status",
	[MT_F_REPLY] = "reply",
	[MT_F_MESSAGE] = "message",
};

static const char *const mta_names[MT_MTA__COUNT] = {
	[MT_MTA_UNKNOWN] = "unknown",
	[MT_MTA_POSTFIX] = "postfix",
	[MT_MTA_EXIM] = "exim",
	[MT_MTA_SENDMAIL] = "sendmail",
};

static const char *const fmt_names[MT_FMT__COUNT] = {
	[MT_FMT_NONE] = "none",	      [MT_FMT_RFC3164] = "rfc3164", [MT_FMT_ISO8601] = "iso8601",
	[MT_FMT_RFC5424] = "rfc5424", [MT_FMT_MAILLOG] = "maillog", [MT_FMT_EXIM] = "exim",
	[MT_FMT_PROGRAM] = "program",
};

const char *
mt_field_name(enum mt_field f)
{
	return (unsigned)f < MT_F__COUNT ? field_names[f] : "?";
}

const char *
mt_mta_name(enum mt_mta m)
{
	return (unsigned)m < MT_MTA__COUNT ? mta_names[m] : "?";
}

const char *
mt_logfmt_name(enum mt_logfmt f)
{
	return (unsigned)f < MT_FMT__COUNT ? fmt_names[f] : "?";
}

/* Characters of a syslog tag: "postfix-out/smtp", "sm-mta", "exim4". */
static bool
is_tag_char(char c)
{
	return is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '/' || c == '@' || c == '+';
}

static bool
is_month(const char *s)
{
	switch (s[0]) {
	case 'J':
		return (s[1] == 'a' && s[2] == 'n') ||
		       (s[1] == 'u' && (s[2] == 'n' || s[2] == 'l'));
	case 'F':
		return s[1] == 'e' && s[2] == 'b';
	case 'M':
		return s[1] == 'a' && (s[2] == 'r' || s[2] == 'y');
	case 'A':
		return (s[1] == 'p' && s[2] == 'r') || (s[1] == 'u' && s[2] == 'g');
	case 'S':
		return s[1] == 'e' && s[2] == 'p';
	case 'O':
		return s[1] == 'c' && s[2] == 't';
	case 'N':
		return s[1] == 'o' && s[2] == 'v';
	case 'D':
		return s[1] == 'e' && s[2] == 'c';
	default:
		return false;
	}
}

static bool
two_digits(const char *s)
{
	return is_digit(s[0]) && is_digit(s[1]);
}

static const char *
skip_digits(const char *s, const char *e)
{
	while (s < e && is_digit(*s))
		s++;
	return s;
}

/* "HH:MM:SS" and an optional fraction; returns the end or NULL. */
static const char *
clock_time(const char *s, const char *e)
{
	if (e - s < 8 || !two_digits(s) || s[2] != ':' || !two_digits(s + 3) || s[5] != ':' ||
	    !two_digits(s + 6))
		return NULL;
	s += 8;
	if (e - s >= 2 && *s == '.' && is_digit(s[1]))
		s = skip_digits(s + 1, e);
	return s;
}

/* "YYYY-MM-DD" */
static bool
date(const char *s, const char *e)
{
	return e - s >= 10 && two_digits(s) && two_digits(s + 2) && s[4] == '-' &&
	       two_digits(s + 5) && s[7] == '-' && two_digits(s + 8);
}

/* "Feb 21 09:21:54", "Jan 1 00:00:00", "May  8 08:26:55" (journalctl: "Jan 02") */
static const char *
rfc3164_time(const char *s, const char *e)
{
	if (e - s < 14 || !is_month(s) || s[3] != ' ')
		return NULL;
	s += 4;
	if (*s == ' ')
		s++;
	if (!is_digit(*s))
		return NULL;
	s++;
	if (is_digit(*s))
		s++;
	if (*s != ' ')
		return NULL;
	return clock_time(s + 1, e);
}

/* "2023-03-14T00:00:31.185246+01:00", "2021-04-21T17:16:28+02:00", "...Z" */
static const char *
iso_time(const char *s, const char *e)
{
	if (!date(s, e) || e - s < 11 || s[10] != 'T')
		return NULL;
	s = clock_time(s + 11, e);
	if (s == NULL || s >= e)
		return s;
	if (*s == 'Z')
		return s + 1;
	if ((*s == '+' || *s == '-') && e - s >= 6 && two_digits(s + 1) && s[3] == ':' &&
	    two_digits(s + 4))
		return s + 6;
	if ((*s == '+' || *s == '-') && e - s >= 5 && two_digits(s + 1) && two_digits(s + 3))
		return s + 5;
	return s;
}

const char *
mt_logline_exim_time(const char *s, const char *e)
{
	if (!date(s, e) || e - s < 11 || s[10] != ' ')
		return NULL;
	s = clock_time(s + 11, e);
	if (s == NULL)
		return NULL;
	/* log_timezone adds " +0200" */
	if (e - s >= 6 && s[0] == ' ' && (s[1] == '+' || s[1] == '-') && two_digits(s + 2) &&
	    two_digits(s + 4) && (e - s == 6 || s[6] == ' '))
		s += 6;
	return s;
}

/* "[1234]" at s followed by a space or the end; returns the end of the digits. */
static const char *
bracket_pid(const char *s, const char *e, const char **ret_pid)
{
	const char *q;

	if (s >= e || *s != '[')
		return NULL;
	q = skip_digits(s + 1, e);
	if (q == s + 1 || q >= e || *q != ']')
		return NULL;
	*ret_pid = s + 1;
	return q;
}

struct tag {
	const char *prog, *prog_end;
	const char *pid, *pid_end; /* NULL when the tag has no "[pid]" */
	const char *msg;	   /* after ": " */
};

/* "prog[pid]: " or "prog: " at s. */
static bool
parse_tag(const char *s, const char *e, struct tag *t)
{
	const char *q = s;

	while (q < e && is_tag_char(*q))
		q++;
	if (q == s)
		return false;
	t->prog = s;
	t->prog_end = q;
	t->pid = t->pid_end = NULL;
	if (q < e && *q == '[') {
		const char *pid;

		q = bracket_pid(q, e, &pid);
		if (q == NULL)
			return false;
		t->pid = pid;
		t->pid_end = q++;
	}
	if (q >= e || *q != ':')
		return false;
	q++;
	if (q < e) {
		if (*q != ' ')
			return false;
		q++;
	}
	t->msg = q;
	return true;
}

static void
set_tag(struct mt_logrec *r, const struct tag *t)
{
	set_field(r, MT_F_PROGRAM, t->prog, t->prog_end);
	if (t->pid != NULL)
		set_field(r, MT_F_PID, t->pid, t->pid_end);
}

/*
 * What follows a syslog timestamp: " host tag: msg", or " tag[pid]: msg"
 * (Postfix maillog_file, no host), or " host facility.level tag: msg"
 * (busybox syslogd).  With need_pid, only tags with a pid count: after an
 * Exim-style timestamp "H=x [ip]: ..." must stay an Exim message.
 */
static bool
syslog_tail(struct mt_logrec *r, const char *s, const char *e, bool need_pid,
	    enum mt_logfmt *ret_fmt, const char **ret_msg)
{
	const char *h, *he, *q;
	struct tag t;

	if (s >= e || *s != ' ')
		return false;
	s = skip_spaces(s, e);
	if (parse_tag(s, e, &t) && (t.pid != NULL || !need_pid)) {
		set_tag(r, &t);
		*ret_fmt = MT_FMT_MAILLOG;
		*ret_msg = t.msg;
		return true;
	}
	if (s < e && *s == '<') {
		/* "<mail.notice>" before the host (syslog-ng, some BSDs) */
		q = token_end(s, e);
		if (q == e || q[-1] != '>')
			return false;
		s = skip_spaces(q, e);
	}
	h = s;
	he = token_end(s, e);
	if (he == e || he[-1] == ':')
		return false;
	s = skip_spaces(he, e);
	if (!parse_tag(s, e, &t)) {
		/* busybox: "host mail.info prog[pid]: " */
		q = token_end(s, e);
		if (q == e || find_chr(s, q, '.') == NULL || !is_lower(*s))
			return false;
		if (!parse_tag(skip_spaces(q, e), e, &t))
			return false;
	}
	if (need_pid && t.pid == NULL)
		return false;
	set_field(r, MT_F_HOST, h, he);
	set_tag(r, &t);
	*ret_msg = t.msg;
	return true;
}

/* Skip one RFC 5424 field; returns its end. */
static const char *
sd_field(const char *s, const char *e, const char **ret_end)
{
	const char *q = token_end(s, e);

	*ret_end = q;
	return q < e ? q + 1 : e;
}

/* "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]"; s is after "<PRI>". */
static bool
rfc5424(struct mt_logrec *r, const char *s, const char *e, const char **ret_msg)
{
	const char *f, *fe;

	if (e - s < 2 || s[0] != '1' || s[1] != ' ')
		return false;
	s += 2;
	f = s;
	s = sd_field(s, e, &fe);
	if (fe == f || (iso_time(f, fe) != fe && !(fe - f == 1 && *f == '-')))
		return false;
	if (*f != '-')
		set_field(r, MT_F_TIME, f, fe);
	f = s;
	s = sd_field(s, e, &fe);
	if (fe - f != 1 || *f != '-')
		set_field(r, MT_F_HOST, f, fe);
	f = s;
	s = sd_field(s, e, &fe);
	if (fe - f != 1 || *f != '-')
		set_field(r, MT_F_PROGRAM, f, fe);
	f = s;
	s = sd_field(s, e, &fe);
	if (fe - f != 1 || *f != '-')
		set_field(r, MT_F_PID, f, fe);
	s = sd_field(s, e, &fe); /* MSGID */
	if (s < e && *s == '[') {
		/* SD-ELEMENTs; inside quotes '\' escapes '"', '\' and ']' */
		bool quoted = false;

		while (s < e) {
			if (quoted) {
				if (*s == '\\' && s + 1 < e)
					s++;
				else if (*s == '"')
					quoted = false;
			} else if (*s == '"') {
				quoted = true;
			} else if (*s == ']' && (s + 1 == e || s[1] != '[')) {
				s++;
				break;
			}
			s++;
		}
		if (s < e && *s == ' ')
			s++;
	} else {
		s = sd_field(s, e, &fe); /* "-" */
	}
	if (HAS_PREFIX(s, e, "\xEF\xBB\xBF"))
		s += 3;
	*ret_msg = s;
	return true;
}

/*
 * "HOST 1 TIMESTAMP HOST APP PROCID MSGID SD MSG" after a syslog daemon's
 * own timestamp: an RFC 5424 record stored by a daemon that parsed it as
 * RFC 3164 (Debian's stock rsyslog), the inner header taken for the fields.
 * s is after the outer timestamp.
 */
static bool
wrapped_rfc5424(struct mt_logrec *r, const char *s, const char *e, const char **ret_msg)
{
	const char *h = skip_spaces(s, e), *he = token_end(h, e);

	if (he == h || he >= e)
		return false;
	memset(r, 0, sizeof(*r));
	if (!rfc5424(r, he + 1, e, ret_msg)) {
		memset(r, 0, sizeof(*r));
		return false;
	}
	return true;
}

/*
 * Frame [s, e): sets TIME, HOST, PROGRAM, PID and returns the format and
 * where the message starts, or MT_FMT_NONE.
 */
static enum mt_logfmt
frame(struct mt_logrec *r, const char *s, const char *e, const char **ret_msg)
{
	enum mt_logfmt fmt;
	const char *t, *q, *pid;
	struct tag tag;

	s = skip_spaces(s, e);
	if (s < e && *s == '<') {
		q = skip_digits(s + 1, e);
		if (q > s + 1 && q - s <= 4 && q < e && *q == '>') {
			if (rfc5424(r, q + 1, e, ret_msg))
				return MT_FMT_RFC5424;
			s = q + 1;
		}
	}
	if (s >= e)
		return MT_FMT_NONE;

	if (is_upper(*s)) {
		q = rfc3164_time(s, e);
		if (q == NULL)
			goto headerless;
		fmt = MT_FMT_RFC3164;
		if (!syslog_tail(r, q, e, false, &fmt, ret_msg)) {
			if (wrapped_rfc5424(r, q, e, ret_msg))
				return MT_FMT_RFC5424;
			goto headerless_clear;
		}
		set_field(r, MT_F_TIME, s, q);
		return fmt;
	}
	if (is_digit(*s)) {
		if ((q = iso_time(s, e)) != NULL) {
			fmt = MT_FMT_ISO8601;
			if (!syslog_tail(r, q, e, false, &fmt, ret_msg)) {
				if (wrapped_rfc5424(r, q, e, ret_msg))
					return MT_FMT_RFC5424;
				goto headerless_clear;
			}
			set_field(r, MT_F_TIME, s, q);
			return fmt;
		}
		if ((q = mt_logline_exim_time(s, e)) != NULL) {
			t = s;
			/* rsyslog with a "YYYY-MM-DD HH:MM:SS host prog[pid]: " template */
			fmt = MT_FMT_ISO8601;
			if (syslog_tail(r, q, e, true, &fmt, ret_msg)) {
				set_field(r, MT_F_TIME, t, q);
				return fmt;
			}
			memset(r, 0, sizeof(*r));
			set_field(r, MT_F_TIME, t, q);
			s = q;
			if (s < e && *s == ' ')
				s++;
			if ((q = bracket_pid(s, e, &pid)) != NULL) {
				set_field(r, MT_F_PID, pid, q);
				s = skip_spaces(q + 1, e);
			}
			*ret_msg = s;
			return MT_FMT_EXIM;
		}
	}
	goto headerless;

headerless_clear:
	memset(r, 0, sizeof(*r));
headerless:
	/* "postfix/smtp[123]: msg", "postfix/postfix-script: msg" */
	if (parse_tag(s, e, &tag) &&
	    (tag.pid != NULL || find_chr(tag.prog, tag.prog_end, '/') != NULL)) {
		set_tag(r, &tag);
		*ret_msg = tag.msg;
		return MT_FMT_PROGRAM;
	}
	/* "scorpion postfix/smtp[9144]: msg" */
	q = token_end(s, e);
	if (q > s && q < e && q[-1] != ':' && parse_tag(skip_spaces(q, e), e, &tag) &&
	    tag.pid != NULL) {
		set_field(r, MT_F_HOST, s, q);
		set_tag(r, &tag);
		*ret_msg = tag.msg;
		return MT_FMT_PROGRAM;
	}
	return MT_FMT_NONE;
}

/* "postfix-mailcow_1    | " or "mail_1  | ": the end of the prefix, or NULL. */
static const char *
compose_prefix(const char *s, const char *e)
{
	const char *q = s;

	if (e - s > COMPOSE_PREFIX_MAX)
		e = s + COMPOSE_PREFIX_MAX;
	while (q < e && is_tag_char(*q))
		q++;
	if (q == s || q >= e || *q != ' ')
		return NULL;
	q = skip_spaces(q, e);
	if (e - q < 2 || q[0] != '|' || q[1] != ' ')
		return NULL;
	return q + 2;
}

static enum mt_mta
classify(struct mt_logrec *r)
{
	const char *s = r->f[MT_F_PROGRAM].p, *e, *slash;
	size_t n = r->f[MT_F_PROGRAM].len;

	if (s == NULL || n == 0)
		return MT_MTA_UNKNOWN;
	e = s + n;
	slash = memrchr(s, '/', n);
	/* "postfix", "postfix-out/smtp", "postfix/smtps/smtpd"; a custom syslog_name
	 * still has the "/service" part ("server1-1/smtp") */
	if ((n >= 7 && memcmp(s, "postfix", 7) == 0 && (n == 7 || s[7] == '-' || s[7] == '/')) ||
	    (slash != NULL && *s != '/')) {
		if (slash != NULL)
			set_field(r, MT_F_SERVICE, slash + 1, e);
		return MT_MTA_POSTFIX;
	}
	if (HAS_PREFIX(s, e, "exim") && (n == 4 || is_digit(s[4])))
		return MT_MTA_EXIM;
	if ((n == 8 && memcmp(s, "sendmail", 8) == 0) || HAS_PREFIX(s, e, "sm-"))
		return MT_MTA_SENDMAIL;
	return MT_MTA_UNKNOWN;
}

/* "exim[123]: 2022-06-29 16:04:19 [123] msg": drop the inner framing. */
static const char *
exim_inner(struct mt_logrec *r, const char *s, const char *e)
{
	const char *q = mt_logline_exim_time(s, e), *pid;

	if (q == NULL) {
		q = s;
	} else {
		set_field_once(r, MT_F_TIME, s, q);
		if (q < e && *q == ' ')
			q++;
	}
	if ((s = bracket_pid(q, e, &pid)) != NULL) {
		set_field_once(r, MT_F_PID, pid, s);
		q = skip_spaces(s + 1, e);
	}
	return q;
}

void
mt_logline_parse(const char *p, size_t len, struct mt_logrec *ret)
{
	const char *e, *msg = p, *q;
	enum mt_logfmt fmt;

	memset(ret, 0, sizeof(*ret));
	if (p == NULL)
		return;
	e = p + len;
	while (e > p && (e[-1] == '\n' || e[-1] == '\r'))
		e--;

	fmt = frame(ret, p, e, &msg);
	if (fmt == MT_FMT_NONE && (q = compose_prefix(p, e)) != NULL) {
		fmt = frame(ret, q, e, &msg);
		if (fmt == MT_FMT_NONE)
			memset(ret, 0, sizeof(*ret));
	}
	ret->fmt = fmt;

	if (fmt == MT_FMT_EXIM) {
		ret->mta = MT_MTA_EXIM;
	} else if (fmt != MT_FMT_NONE) {
		ret->mta = classify(ret);
		if (ret->mta == MT_MTA_EXIM)
			msg = exim_inner(ret, msg, e);
	} else {
		msg = p;
		if (mt_logline_postfix_bare(p, e))
			ret->mta = MT_MTA_POSTFIX;
		else if (mt_logline_exim_bare(p, e))
			ret->mta = MT_MTA_EXIM;
		else if (mt_logline_sendmail_bare(p, e))
			ret->mta = MT_MTA_SENDMAIL;
	}
	set_field(ret, MT_F_MESSAGE, msg, e);

	switch (ret->mta) {
	case MT_MTA_POSTFIX:
		mt_logline_postfix(ret, msg, e);
		break;
	case MT_MTA_EXIM:
		mt_logline_exim(ret, msg, e);
		break;
	case MT_MTA_SENDMAIL:
		mt_logline_sendmail(ret, msg, e);
		break;
	case MT_MTA_UNKNOWN:
	case MT_MTA__COUNT:
		break;
	}
}

const char *
mt_logline_hostip(const char *s, const char *e, const char **ret_host, const char **ret_host_end,
		  const char **ret_ip, const char **ret_ip_end)
{
	const char *lb, *q, *h, *from = s;

	for (; (lb = find_chr(from, e, '[')) != NULL; from = lb + 1) {
		bool dot = false, digit = false;

		for (q = lb + 1; q < e; q++) {
			char c = *q;

			if (c == '.' || c == ':')
				dot = true;
			else if (is_digit(c))
				digit = true;
			else if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))
				break;
		}
		if (q >= e || *q != ']' || !dot || !digit)
			continue;
		for (h = lb; h > s && h[-1] != ' ' && h[-1] != '(' && h[-1] != '<' &&
			     h[-1] != ',' && h[-1] != '=';
		     h--)
			;
		*ret_host = h;
		*ret_host_end = lb;
		*ret_ip = lb + 1;
		*ret_ip_end = q;
		return q + 1;
	}
	return NULL;
}
