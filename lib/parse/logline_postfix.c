/*
 * logline_postfix - the fields inside a Postfix message.
 *
 * Shapes handled, after an optional queue id or "NOQUEUE: ":
 *	to=<a>, orig_to=<b>, relay=host[ip]:port, ..., dsn=X, status=S (TEXT)
 *	from=<a>, size=N, nrcpt=N (queue active) / from=<a>, status=expired, ...
 *	client=host[ip], ...            uid=0 from=<a>
 *	reject: CMD from host[ip]: REPLY; from=<a> to=<b> proto=P helo=<h>
 *	(also milter-reject, reject_warning, discard, hold)
 *	anything else: the first host[ip] is the client (server daemons) or
 *	the relay (smtp, lmtp), "host X[ip] said: REPLY" gives the reply, and a
 *	trailing "; from=<a> to=<b>" (header_checks, milter) gives the envelope.
 *
 * relay=none carries no host, so the host named in the status text
 * ("connect to mx[ip]:25: ...") stands in for it: that is the server that
 * failed, which is what an alert wants to name.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem(3), memrchr(3); meson passes it, ad-hoc builds may not */
#endif

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "parse/logline.h"
#include "parse/logline_internal.h"

/* Longest queue id we accept; real ones are 6 to 20 characters. */
#define QUEUE_ID_MAX 32

static bool
is_vowel(char c)
{
	switch (c | 0x20) {
	case 'a':
	case 'e':
	case 'i':
	case 'o':
	case 'u':
		return true;
	default:
		return false;
	}
}

/*
 * A queue id followed by ':' at s; returns the ':' or NULL.  Short ids are
 * upper-case hex ("8ECF240F31", at least 6: 5 digits of microseconds plus
 * the inode).  Long ids ("4Q6Rmh2z3Lz9sVk") are 10 characters of time in
 * an alphabet without vowels, then 'z', then the inode.  Neither can be
 * "warning", "fatal" or "statistics".
 */
static const char *
queue_id(const char *s, const char *e)
{
	const char *q;
	bool hex = true, vowel = false;
	size_t n;

	for (q = s; q < e && is_alnum(*q); q++) {
		if (!is_digit(*q) && !(*q >= 'A' && *q <= 'F'))
			hex = false;
		if (is_vowel(*q))
			vowel = true;
	}
	n = (size_t)(q - s);
	if (q >= e || *q != ':' || n > QUEUE_ID_MAX)
		return NULL;
	if (hex && n >= 6)
		return q;
	if (!vowel && n >= 12 && s[10] == 'z')
		return q;
	return NULL;
}

bool
mt_logline_postfix_bare(const char *s, const char *e)
{
	return queue_id(s, e) != NULL || HAS_PREFIX(s, e, "NOQUEUE: ") || HAS_PREFIX(s, e, "to=<");
}

/* "host[ip]:port", "none", "local", "host[private/dovecot-lmtp]" */
static void
host_spec(struct mt_logrec *r, enum mt_field fh, enum mt_field fip, const char *s, const char *e)
{
	const char *lb = s < e ? memrchr(s, '[', (size_t)(e - s)) : NULL, *rb;

	if (lb == NULL || (rb = find_chr(lb, e, ']')) == NULL) {
		set_field(r, fh, s, e);
		return;
	}
	set_field(r, fh, s, lb);
	set_field(r, fip, lb + 1, rb);
}

/* Outbound daemons: a host[ip] they name is the relay, not the client. */
static bool
outbound(const struct mt_logrec *r, const char *s, const char *e)
{
	const struct mt_view *v = &r->f[MT_F_SERVICE];

	if (v->len == 4)
		return memcmp(v->p, "smtp", 4) == 0 || memcmp(v->p, "lmtp", 4) == 0;
	if (v->len == 5)
		return memcmp(v->p, "relay", 5) == 0 || memcmp(v->p, "error", 5) == 0;
	if (v->len != 0)
		return false;
	/* a bare message: judge by how it starts */
	return HAS_PREFIX(s, e, "connect to ") || HAS_PREFIX(s, e, "host ") ||
	       HAS_PREFIX(s, e, "lost connection with ") ||
	       HAS_PREFIX(s, e, "conversation with ") || FIND(s, e, "connection established to ");
}

/* "host X[ip] said: TEXT" or "host X[ip] refused to talk to me: TEXT" after ']' */
static const char *
said(const char *s, const char *e)
{
	if (HAS_PREFIX(s, e, " said: "))
		return s + LIT_LEN(" said: ");
	if (HAS_PREFIX(s, e, " refused to talk to me: "))
		return s + LIT_LEN(" refused to talk to me: ");
	return NULL;
}

/* The first host[ip] in [s, e) as relay or client; a reply after it. */
static void
first_host(struct mt_logrec *r, const char *s, const char *e, bool relay)
{
	const char *h, *he, *ip, *ipe, *q;

	q = mt_logline_hostip(s, e, &h, &he, &ip, &ipe);
	if (q == NULL)
		return;
	if (relay) {
		set_field(r, MT_F_RELAY_HOST, h, he);
		set_field(r, MT_F_RELAY_IP, ip, ipe);
	} else {
		set_field(r, MT_F_CLIENT_HOST, h, he);
		set_field(r, MT_F_CLIENT_IP, ip, ipe);
	}
	if ((q = said(q, e)) != NULL)
		set_field_once(r, MT_F_REPLY, q, e);
}

/*
 * "; from=<a> to=<b> proto=ESMTP helo=<h>" (smtpd, cleanup) or with ", "
 * between the items (postscreen).  Returns the ';' or NULL.
 */
static const char *
envelope_start(const char *s, const char *e)
{
	const char *q;

	for (q = s; (q = find_chr(q, e, ';')) != NULL; q++) {
		const char *t = q + 1;

		if (t < e && *t == ' ' &&
		    (HAS_PREFIX(t + 1, e, "from=<") || HAS_PREFIX(t + 1, e, "to=<") ||
		     HAS_PREFIX(t + 1, e, "proto=") || HAS_PREFIX(t + 1, e, "helo=")))
			return q;
	}
	return NULL;
}

static void
envelope(struct mt_logrec *r, const char *s, const char *e)
{
	const char *q;

	while (s < e) {
		s = skip_spaces(s, e);
		if (HAS_PREFIX(s, e, "from=<")) {
			q = angle_end(s + 5, e);
			set_addr(r, MT_F_SENDER, s + 5, q);
		} else if (HAS_PREFIX(s, e, "to=<")) {
			q = angle_end(s + 3, e);
			set_addr(r, MT_F_RECIPIENT, s + 3, q);
		} else if (HAS_PREFIX(s, e, "helo=<")) {
			q = angle_end(s + 5, e);
		} else {
			q = token_end(s, e);
		}
		if (q < e && *q == ',')
			q++;
		s = q;
	}
}

/*
 * "reject: RCPT from host[ip]: 554 5.7.1 <x>: Relay access denied; from=<a> to=<b> ..."
 * s is after "reject: "; the reply runs from after the client to the envelope.
 */
static void
action(struct mt_logrec *r, const char *s, const char *e)
{
	const char *h, *he, *ip, *ipe, *q, *env, *end;

	env = envelope_start(s, e);
	end = env != NULL ? env : e;
	q = FIND(s, end, " from ");
	if (q != NULL && q - s <= 20 &&
	    (q = mt_logline_hostip(q + 6, end, &h, &he, &ip, &ipe)) != NULL) {
		set_field(r, MT_F_CLIENT_HOST, h, he);
		set_field(r, MT_F_CLIENT_IP, ip, ipe);
		if (q < end && *q == ':' && q + 1 < end && is_digit(q[1]))
			q = token_end(q, end); /* postscreen's [ip]:port */
		else if (q < end && *q == ';')
			q = NULL; /* cleanup "header X from host[ip]; from=" */
		if (q != NULL && HAS_PREFIX(q, end, ": "))
			set_field(r, MT_F_REPLY, q + 2, end);
		else if (q != NULL && q[-1] == ':' && q < end && *q == ' ')
			set_field(r, MT_F_REPLY, q + 1, end);
	}
	if (env != NULL)
		envelope(r, env + 1, e);
}

/* "to=<a>, relay=x[ip]:25, ..., dsn=5.0.0, status=bounced (TEXT)" and the like */
static void
kvlist(struct mt_logrec *r, const char *s, const char *e)
{
	const char *k, *v, *ve, *relay = NULL, *relay_end = NULL;
	bool last_status = false;

	while (s < e) {
		size_t kl;

		for (k = s; s < e && (is_lower(*s) || *s == '_'); s++)
			;
		if (s == k || s >= e || *s != '=') {
			/* not a key ("returned to sender", a bare address): next item */
			last_status = false;
			while ((s = find_chr(s, e, ',')) != NULL && (e - s < 2 || s[1] != ' '))
				s++;
			if (s == NULL) {
				s = e;
				break;
			}
			s += 2;
			continue;
		}
		kl = (size_t)(s - k);
		v = ++s;
		if (s < e && *s == '<')
			s = angle_end(s, e);
		else
			while (s < e && *s != ',' && *s != ' ')
				s++;
		ve = s;
		last_status = false;
		switch (kl) {
		case 2:
			if (memcmp(k, "to", 2) == 0)
				set_addr(r, MT_F_RECIPIENT, v, ve);
			break;
		case 3:
			if (memcmp(k, "dsn", 3) == 0)
				set_field(r, MT_F_DSN, v, ve);
			break;
		case 4:
			if (memcmp(k, "from", 4) == 0)
				set_addr(r, MT_F_SENDER, v, ve);
			break;
		case 5:
			if (memcmp(k, "relay", 5) == 0) {
				relay = v;
				relay_end = ve;
			}
			break;
		case 6:
			if (memcmp(k, "status", 6) == 0) {
				set_field(r, MT_F_STATUS, v, ve);
				last_status = true;
			} else if (memcmp(k, "client", 6) == 0) {
				host_spec(r, MT_F_CLIENT_HOST, MT_F_CLIENT_IP, v, ve);
			}
			break;
		default:
			break;
		}
		if (e - s >= 2 && s[0] == ',' && s[1] == ' ') {
			s += 2;
		} else if (e - s >= 2 && s[0] == ' ' && s[1] == '(') {
			break;
		} else if (s < e && *s == ' ') {
			s++; /* pickup: "uid=0 from=<a>" */
		} else if (s < e) {
			s++;
		}
	}

	if (relay != NULL)
		host_spec(r, MT_F_RELAY_HOST, MT_F_RELAY_IP, relay, relay_end);
	if (last_status && s < e) {
		/* " (TEXT)": the text is the reply, or what follows "said: " in it */
		const char *t = s + 2, *te = e, *q;

		if (te > t && te[-1] == ')')
			te--;
		q = FIND(t, te, " said: ");
		if (q != NULL)
			q += LIT_LEN(" said: ");
		else if ((q = FIND(t, te, " refused to talk to me: ")) != NULL)
			q += LIT_LEN(" refused to talk to me: ");
		set_field(r, MT_F_REPLY, q != NULL ? q : t, te);
		if (relay == NULL || (relay_end - relay == 4 && memcmp(relay, "none", 4) == 0)) {
			struct mt_view h = r->f[MT_F_RELAY_HOST], ip = r->f[MT_F_RELAY_IP];

			r->f[MT_F_RELAY_HOST].len = r->f[MT_F_RELAY_IP].len = 0;
			first_host(r, t, te, true);
			if (r->f[MT_F_RELAY_HOST].len == 0 && r->f[MT_F_RELAY_IP].len == 0) {
				r->f[MT_F_RELAY_HOST] = h;
				r->f[MT_F_RELAY_IP] = ip;
			}
		}
	}
}

void
mt_logline_postfix(struct mt_logrec *r, const char *s, const char *e)
{
	const char *q;

	if ((q = queue_id(s, e)) != NULL) {
		set_field(r, MT_F_QUEUE_ID, s, q);
		s = skip_spaces(q + 1, e);
	} else if (HAS_PREFIX(s, e, "NOQUEUE: ")) {
		s += LIT_LEN("NOQUEUE: ");
	}
	if (s >= e)
		return;

	/* key=value lists: delivery status, qmgr, smtpd client=, pickup */
	if (is_lower(*s)) {
		for (q = s; q < e && (is_lower(*q) || *q == '_'); q++)
			;
		if (q < e && *q == '=') {
			kvlist(r, s, e);
			return;
		}
	}

	switch (*s) {
	case 'r':
		if (HAS_PREFIX(s, e, "reject: ")) {
			set_field(r, MT_F_STATUS, s, s + LIT_LEN("reject"));
			action(r, s + LIT_LEN("reject: "), e);
			return;
		}
		if (HAS_PREFIX(s, e, "reject_warning: ")) {
			set_field(r, MT_F_STATUS, s, s + LIT_LEN("reject_warning"));
			action(r, s + LIT_LEN("reject_warning: "), e);
			return;
		}
		break;
	case 'm':
		if (HAS_PREFIX(s, e, "milter-reject: ")) {
			s += LIT_LEN("milter-");
			set_field(r, MT_F_STATUS, s, s + LIT_LEN("reject"));
			action(r, s + LIT_LEN("reject: "), e);
			return;
		}
		break;
	case 'd':
		if (HAS_PREFIX(s, e, "discard: ")) {
			set_field(r, MT_F_STATUS, s, s + LIT_LEN("discard"));
			action(r, s + LIT_LEN("discard: "), e);
			return;
		}
		break;
	case 'h':
		if (HAS_PREFIX(s, e, "hold: ")) {
			set_field(r, MT_F_STATUS, s, s + LIT_LEN("hold"));
			action(r, s + LIT_LEN("hold: "), e);
			return;
		}
		break;
	case 'a':
		/* dnsblog: "addr 1.2.3.4 listed by domain zen.spamhaus.org as 127.0.0.2" */
		if (HAS_PREFIX(s, e, "addr ")) {
			q = token_end(s + 5, e);
			if (HAS_PREFIX(q, e, " listed by ")) {
				set_field(r, MT_F_CLIENT_IP, s + 5, q);
				return;
			}
		}
		break;
	default:
		break;
	}

	first_host(r, s, e, outbound(r, s, e));
	if ((q = envelope_start(s, e)) != NULL)
		envelope(r, q + 1, e);
}
