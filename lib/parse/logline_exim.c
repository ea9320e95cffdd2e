/*
 * logline_exim - the fields inside an Exim mainlog/rejectlog/paniclog message.
 *
 * [s, e) starts after the timestamp and "[pid] ": an optional message id
 * (1rLc2b-0003Ab-Cd, or 10HmaX-000000005vi-0000 since 4.97), then either a
 * delivery flag and an address ("<= a", "=> a", "-> a", "*> a", "== a",
 * "** a") or free text with H=, F= and "rejected RCPT <a>".
 *
 * H= is "name (helo) [ip]:port", "(helo) [ip]" or "[ip]".  With no verified
 * name the HELO argument is all Exim knows the peer by, so it becomes the
 * host.  STATUS is the delivery flag as written ("**", "==", "=>") or
 * "reject" for a rejection: views cannot spell "bounced" where the line
 * does not.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem(3), memrchr(3); meson passes it, ad-hoc builds may not */
#endif

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "parse/logline.h"
#include "parse/logline_internal.h"

/* What precedes the remote server's reply on a failed delivery */
#define SMTP_ERROR "SMTP error from remote mail server after "

/* "name (helo) [ip]:port" fits: DNS names are at most 255 bytes, an SMTP command line 512 */
#define HOST_SPEC_MAX 1024

static const char *
alnum_run(const char *s, const char *e)
{
	while (s < e && is_alnum(*s))
		s++;
	return s;
}

/* A message id at s followed by a space or the end; returns its end or NULL. */
static const char *
message_id(const char *s, const char *e)
{
	const char *q = alnum_run(s, e), *t;

	if (q - s != 6 || q >= e || *q != '-')
		return NULL;
	t = alnum_run(q + 1, e);
	if (t - q - 1 < 4 || t - q - 1 > 11 || t >= e || *t != '-')
		return NULL;
	q = alnum_run(t + 1, e);
	if (q - t - 1 < 2 || q - t - 1 > 4 || (q < e && *q != ' '))
		return NULL;
	return q;
}

bool
mt_logline_exim_bare(const char *s, const char *e)
{
	return message_id(s, e) != NULL;
}

/*
 * "name (helo) [ip]:port", "(helo) [ip]", "[ip]:port" at s.  Returns the
 * end (after ']') or NULL when no "[ip]" follows.
 */
static const char *
host_spec(struct mt_logrec *r, enum mt_field fh, enum mt_field fip, const char *s, const char *e)
{
	const char *name = NULL, *name_end = NULL, *helo = NULL, *helo_end = NULL, *q;

	/* a line full of "for (" must not cost a scan to the end per item */
	if (e - s > HOST_SPEC_MAX)
		e = s + HOST_SPEC_MAX;
	if (s < e && *s != '[' && *s != '(') {
		name = s;
		name_end = token_end(s, e);
		s = skip_spaces(name_end, e);
	}
	if (s < e && *s == '(') {
		q = find_chr(s, e, ')');
		if (q == NULL)
			return NULL;
		helo = s + 1;
		helo_end = q;
		s = skip_spaces(q + 1, e);
	}
	if (s >= e || *s != '[')
		return NULL;
	q = find_chr(s, e, ']');
	if (q == NULL || find_chr(s, q, ' ') != NULL)
		return NULL;
	set_field(r, fip, s + 1, q);
	if (name != NULL)
		set_field(r, fh, name, name_end);
	else if (helo != NULL)
		set_field(r, fh, helo, helo_end);
	return q + 1;
}

/* First ": " in [s, e) outside "quoted strings" and <angle brackets>. */
static const char *
colon_space(const char *s, const char *e)
{
	for (; e - s >= 2; s++) {
		if (*s == '"' || *s == '<') {
			const char *q = find_chr(s + 1, e, *s == '"' ? '"' : '>');

			if (q == NULL)
				return NULL;
			s = q;
		} else if (*s == ':' && s[1] == ' ') {
			return s;
		}
	}
	return NULL;
}

/* The reply text of a "**" or "==" line; after is where the address ended. */
static void
failure_reply(struct mt_logrec *r, const char *s, const char *after, const char *e)
{
	const char *q;

	q = FIND(after, e, SMTP_ERROR);
	if (q != NULL) {
		q = colon_space(q + LIT_LEN(SMTP_ERROR), e);
		if (q != NULL) {
			set_field(r, MT_F_REPLY, q + 2, e);
			return;
		}
	}
	q = FIND(after, e, "defer (");
	if (q != NULL) {
		q = FIND(q, e, "): ");
		if (q != NULL) {
			set_field(r, MT_F_REPLY, q + 3, e);
			return;
		}
	}
	if (after > s && after[-1] == ':') {
		/* "** a@b: retry timeout exceeded" */
		set_field(r, MT_F_REPLY, skip_spaces(after, e), e);
		return;
	}
	q = colon_space(after, e);
	if (q != NULL)
		set_field(r, MT_F_REPLY, q + 2, e);
}

/*
 * Walk the space-separated items: H=, F=, C="..." and "rejected".  Quoted
 * values (DN="C=US, O=x", T="subject") are skipped whole so text inside
 * them is not taken for an item.  Returns whether anything marks the peer
 * as one that connected to us (F=, I=, P=, U=, a rejection, "connection
 * from"): without that, an H= on a line with a message id is the host a
 * delivery went to ("10HmaX-... H=mx [ip] Connection refused").
 */
static bool
items(struct mt_logrec *r, const char *s, const char *e, bool delivery)
{
	enum mt_field fh = delivery ? MT_F_RELAY_HOST : MT_F_CLIENT_HOST;
	enum mt_field fip = delivery ? MT_F_RELAY_IP : MT_F_CLIENT_IP;
	bool have_host = false, inbound = false;
	const char *q;

	while (s < e) {
		s = skip_spaces(s, e);
		if (s >= e)
			break;
		if (e - s >= 2 && s[1] == '=') {
			if (s[0] == 'H' && !have_host) {
				q = host_spec(r, fh, fip, s + 2, e);
				if (q != NULL) {
					have_host = true;
					s = q;
					continue;
				}
			} else if (s[0] == 'F' && !delivery) {
				inbound = true;
				if (r->f[MT_F_SENDER].len == 0) {
					q = e - s >= 3 && s[2] == '<' ? angle_end(s + 2, e) :
									token_end(s + 2, e);
					set_addr(r, MT_F_SENDER, s + 2, q);
					s = q;
					continue;
				}
			} else if (s[0] == 'C' && delivery && e - s >= 3 && s[2] == '"') {
				q = find_chr(s + 3, e, '"');
				set_field(r, MT_F_REPLY, s + 3, q != NULL ? q : e);
				s = q != NULL ? q + 1 : e;
				continue;
			} else if (s[0] == 'I' || s[0] == 'P' || s[0] == 'U') {
				inbound = true;
			}
		}
		if (!delivery && HAS_PREFIX(s, e, "rejected") &&
		    (s + 8 == e || s[8] == ' ' || s[8] == ':')) {
			set_field(r, MT_F_STATUS, s, s + LIT_LEN("reject"));
			q = s + LIT_LEN("rejected");
			if (HAS_PREFIX(q, e, " RCPT ")) {
				const char *a = q + LIT_LEN(" RCPT "), *ae;

				if (a < e && *a == '<') {
					ae = angle_end(a, e);
				} else {
					ae = token_end(a, e);
					if (ae > a && ae[-1] == ':')
						ae--;
				}
				set_addr(r, MT_F_RECIPIENT, a, ae);
				q = ae;
			}
			if ((q = colon_space(q, e)) != NULL)
				set_field(r, MT_F_REPLY, q + 2, e);
			return true;
		}
		if (!have_host && !delivery &&
		    (HAS_PREFIX(s, e, "from ") || HAS_PREFIX(s, e, "for "))) {
			/* "SMTP connection from (helo) [ip]:port", "authenticator failed for x [ip]" */
			q = host_spec(r, fh, fip, s + (s[1] == 'r' ? 5 : 4), e);
			if (q != NULL) {
				have_host = inbound = true;
				s = q;
				continue;
			}
		}
		q = token_end(s, e);
		if (q - s >= 3 && (q = find_chr(s, q, '"')) != NULL && q - s <= 4 && q[-1] == '=') {
			/* X="..." may hold spaces */
			q = find_chr(q + 1, e, '"');
			if (q == NULL)
				break;
			q++;
		} else {
			q = token_end(s, e);
		}
		s = q;
	}
	return inbound;
}

void
mt_logline_exim(struct mt_logrec *r, const char *s, const char *e)
{
	const char *q, *a, *ae;
	bool has_id = false;

	if ((q = message_id(s, e)) != NULL) {
		has_id = true;
		set_field(r, MT_F_QUEUE_ID, s, q);
		s = skip_spaces(q, e);
	}
	if (e - s >= 3 && s[2] == ' ' &&
	    ((s[0] == '<' && s[1] == '=') || (s[0] == '=' && s[1] == '>') ||
	     (s[0] == '-' && s[1] == '>') || (s[0] == '*' && s[1] == '>') ||
	     (s[0] == '=' && s[1] == '=') || (s[0] == '*' && s[1] == '*'))) {
		bool arrival = s[0] == '<';

		set_field(r, MT_F_STATUS, s, s + 2);
		a = s + 3;
		ae = a < e && *a == '<' ? angle_end(a, e) : token_end(a, e);
		q = ae;
		if (ae > a && ae[-1] == ':')
			ae--;
		set_addr(r, arrival ? MT_F_SENDER : MT_F_RECIPIENT, a, ae);
		if (!arrival) {
			(void)items(r, q, e, true);
			if (s[1] == '=' || s[1] == '*')
				failure_reply(r, a, q, e);
		} else {
			(void)items(r, q, e, false);
		}
		return;
	}
	if (!items(r, s, e, false) && has_id &&
	    (r->f[MT_F_CLIENT_HOST].len != 0 || r->f[MT_F_CLIENT_IP].len != 0)) {
		r->f[MT_F_RELAY_HOST] = r->f[MT_F_CLIENT_HOST];
		r->f[MT_F_RELAY_IP] = r->f[MT_F_CLIENT_IP];
		r->f[MT_F_CLIENT_HOST].len = r->f[MT_F_CLIENT_IP].len = 0;
		r->f[MT_F_CLIENT_HOST].p = r->f[MT_F_CLIENT_IP].p = NULL;
		q = FIND(s, e, SMTP_ERROR);
		if (q != NULL && (q = colon_space(q + LIT_LEN(SMTP_ERROR), e)) != NULL)
			set_field(r, MT_F_REPLY, q + 2, e);
	}
}
