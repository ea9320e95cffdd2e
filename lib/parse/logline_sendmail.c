/*
 * logline_sendmail - the fields inside a Sendmail message.
 *
 *	s1GNXHYB005133: from=<a>, size=N, ..., relay=host [ip]
 *	s1GNXHYB005133: to=<b>, delay=..., mailer=esmtp, relay=mx. [ip], dsn=4.0.0, stat=Deferred: ...
 *	s1GNXHYB005133: ruleset=check_rcpt, arg1=<b>, relay=host [ip] (may be forged), reject=550 ...
 *	s1GNXHYB005133: host [ip] (may be forged): possible SMTP attack: ...
 *	s1GNXHYB005133: <user@example.com>... User unknown
 *
 * Sendmail says relay= for both ends of a connection: on a to= line it is
 * the next hop (RELAY_*), everywhere else it is the peer that connected to
 * us (CLIENT_*).  stat= and reject= run to the end of the line and are the
 * reply; STATUS is stat='s first word ("Sent", "Deferred") or "reject".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem(3), memrchr(3); meson passes it, ad-hoc builds may not */
#endif

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "parse/logline.h"
#include "parse/logline_internal.h"

/* 8 characters of base-60 time and sequence, then the pid: "k4PK8NYf020900: " */
static const char *
queue_id(const char *s, const char *e)
{
	const char *q;
	int i;

	if (e - s < 14)
		return NULL;
	for (i = 0; i < 8; i++)
		if (!is_alnum(s[i]))
			return NULL;
	for (q = s + 8; q < e && is_digit(*q); q++)
		;
	if (q - s < 13 || q - s > 20 || q >= e || *q != ':')
		return NULL;
	return q;
}

bool
mt_logline_sendmail_bare(const char *s, const char *e)
{
	return queue_id(s, e) != NULL;
}

/* "host [ip]", "[ip]", "host"; returns the end of what it took. */
static const char *
host_spec(const char *s, const char *e, const char **ret_h, const char **ret_he,
	  const char **ret_ip, const char **ret_ipe)
{
	const char *q, *rb;

	*ret_h = *ret_he = *ret_ip = *ret_ipe = s;
	if (s < e && *s != '[') {
		q = s;
		while (q < e && *q != ' ' && *q != ',')
			q++;
		*ret_he = q;
		*ret_ip = *ret_ipe = q;
		if (e - q < 2 || q[0] != ' ' || q[1] != '[')
			return q;
		s = q + 1;
	}
	if (s < e && *s == '[' && (rb = find_chr(s, e, ']')) != NULL &&
	    find_chr(s, rb, ' ') == NULL) {
		*ret_ip = s + 1;
		*ret_ipe = rb;
		if (HAS_PREFIX(s + 1, rb, "IPv6:"))
			*ret_ip += LIT_LEN("IPv6:");
		return rb + 1;
	}
	return s;
}

static void
set_peer(struct mt_logrec *r, bool relay, const char *h, const char *he, const char *ip,
	 const char *ipe)
{
	set_field(r, relay ? MT_F_RELAY_HOST : MT_F_CLIENT_HOST, h, he);
	set_field(r, relay ? MT_F_RELAY_IP : MT_F_CLIENT_IP, ip, ipe);
}

/* End of a ", "-separated value at s. */
static const char *
value_end(const char *s, const char *e)
{
	const char *q;

	for (q = s; (q = find_chr(q, e, ',')) != NULL; q++)
		if (q + 1 < e && q[1] == ' ')
			return q;
	return e;
}

void
mt_logline_sendmail(struct mt_logrec *r, const char *s, const char *e)
{
	const char *q, *relay = NULL, *relay_end = NULL, *h, *he, *ip, *ipe;
	bool to = false, rcpt_rule = false, mail_rule = false;

	if ((q = queue_id(s, e)) != NULL) {
		set_field(r, MT_F_QUEUE_ID, s, q);
		s = skip_spaces(q + 1, e);
	} else if (HAS_PREFIX(s, e, "NOQUEUE: ")) {
		s += LIT_LEN("NOQUEUE: ");
	}

	/* "[ip]: possible SMTP attack", "host [ip] (may be forged): EXPN root",
	 * "host [ip] did not issue MAIL/EXPN/VRFY/ETRN" */
	if (s < e && (*s == '[' || is_alnum(*s))) {
		host_spec(s, e, &h, &he, &ip, &ipe);
		if (ipe > ip) {
			set_peer(r, false, h, he, ip, ipe);
			return;
		}
	}
	/* "<user@example.com>... User unknown" */
	if (s < e && *s == '<') {
		q = angle_end(s, e);
		if (HAS_PREFIX(q, e, "... ")) {
			set_addr(r, MT_F_RECIPIENT, s, q);
			set_field(r, MT_F_REPLY, q + LIT_LEN("... "), e);
			return;
		}
	}
	/* "rejecting commands from host [ip] due to", "lost input channel from host [ip]" */
	q = FIND(s, e, " from ");
	if (q != NULL && find_chr(s, q, '=') == NULL) {
		host_spec(skip_spaces(q + 6, e), e, &h, &he, &ip, &ipe);
		if (ipe > ip) {
			set_peer(r, false, h, he, ip, ipe);
			return;
		}
	}

	while (s < e) {
		const char *k = s, *v, *ve;
		size_t kl;

		while (s < e && (is_lower(*s) || is_digit(*s) || *s == '_'))
			s++;
		if (s == k || s >= e || *s != '=') {
			/* "AUTH failure (LOGIN): ...": not an item, skip it */
			s = value_end(s, e);
			s = e - s >= 2 ? s + 2 : e;
			continue;
		}
		kl = (size_t)(s - k);
		v = s + 1;
		if ((kl == 4 && memcmp(k, "stat", 4) == 0) ||
		    (kl == 6 && memcmp(k, "reject", 6) == 0)) {
			/* the rest of the line, commas and all */
			set_field(r, MT_F_REPLY, v, e);
			if (*k == 'r') {
				set_field(r, MT_F_STATUS, k, s);
			} else {
				for (q = v; q < e && *q != ' ' && *q != ':'; q++)
					;
				set_field(r, MT_F_STATUS, v, q);
			}
			break;
		}
		ve = value_end(v, e);
		switch (kl) {
		case 2:
			if (memcmp(k, "to", 2) == 0) {
				to = true;
				set_addr(r, MT_F_RECIPIENT, v,
					 v < ve && *v == '<' ? angle_end(v, ve) : ve);
			}
			break;
		case 3:
			if (memcmp(k, "dsn", 3) == 0)
				set_field(r, MT_F_DSN, v, ve);
			break;
		case 4:
			if (memcmp(k, "from", 4) == 0)
				set_addr(r, MT_F_SENDER, v,
					 v < ve && *v == '<' ? angle_end(v, ve) : ve);
			else if (memcmp(k, "arg1", 4) == 0 && (rcpt_rule || mail_rule))
				set_addr(r, rcpt_rule ? MT_F_RECIPIENT : MT_F_SENDER, v, ve);
			break;
		case 5:
			if (memcmp(k, "relay", 5) == 0 && relay == NULL) {
				relay = v;
				relay_end = ve;
			}
			break;
		case 7:
			if (memcmp(k, "ruleset", 7) == 0) {
				rcpt_rule = ve - v == 10 && memcmp(v, "check_rcpt", 10) == 0;
				mail_rule = ve - v == 10 && memcmp(v, "check_mail", 10) == 0;
			}
			break;
		default:
			break;
		}
		s = e - ve >= 2 ? ve + 2 : e;
	}

	if (relay != NULL) {
		host_spec(relay, relay_end, &h, &he, &ip, &ipe);
		set_peer(r, to, h, he, ip, ipe);
	}
}
