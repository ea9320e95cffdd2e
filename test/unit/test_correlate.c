/*
 * Unit tests for correlate/join.c and correlate/correlate.c, over the real
 * catalog (argv[1]) and matcher: records, repeats, outcomes, resolution,
 * health, eviction and the memory bound, and saving and loading.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/group.h"
#include "correlate/correlate.h"
#include "correlate/join.h"
#include "match/catalog.h"
#include "match/matcher.h"
#include "parse/logline.h"
#include "tap.h"
#include "util/buf.h"
#include "util/xalloc.h"

static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static struct mt_catalog *cat;
static struct mt_matcher *matcher;

/* ---- records ---- */

#define RECS_MAX 16

static struct {
	char text[4096];
	size_t nlines;
	bool truncated;
	uint64_t lineno;
} recs[RECS_MAX];
static size_t nrecs;

static void
on_rec(void *ctx, const struct mt_join_rec *r)
{
	if (nrecs == RECS_MAX)
		return;
	size_t n = r->len < sizeof(recs[0].text) - 1 ? r->len : sizeof(recs[0].text) - 1;

	memcpy(recs[nrecs].text, r->p, n);
	recs[nrecs].text[n] = '\0';
	recs[nrecs].nlines = r->nlines;
	recs[nrecs].truncated = r->truncated;
	recs[nrecs].lineno = r->lineno;
	nrecs++;
}

static void
line(struct mt_join *j, const char *file, const char *s, uint64_t n)
{
	mt_join_line(j, file, s, strlen(s), false, 0, n);
}

static void
test_join(void)
{
	struct mt_join *j = mt_join_new(4096, 256, on_rec, NULL);

	nrecs = 0;
	line(j, "p",
	     "1999-03-02 09:44:33 Exim configuration error in line 12 of /etc/exim.conf:", 1);
	ok(nrecs == 0 && mt_join_pending(j), "an Exim head is held for its continuation");
	line(j, "p", "  missing quote at end of string value for hold_domains", 2);
	line(j, "p", "1999-03-02 09:44:34 10HmaX-000000005vi-0000 Completed", 3);
	ok(nrecs == 1 && recs[0].nlines == 2 && recs[0].lineno == 1 &&
		   strcmp(recs[0].text, "1999-03-02 09:44:33 Exim configuration error in line 12 "
					"of /etc/exim.conf:\n  missing quote at end of string "
					"value for hold_domains") == 0,
	   "a continuation line joins its head, with the head's position (%zu lines)",
	   nrecs ? recs[0].nlines : 0);
	/* A rejectlog header dump: continuation lines without leading space. */
	line(j, "p", "Envelope-from: <userx@test1>", 4);
	line(j, "p", "P Received: from CALLER by myhost.test.ex with local (Exim x.yz)", 5);
	mt_join_flush(j);
	ok(nrecs == 2 && recs[1].nlines == 3,
	   "lines the parser finds no header in are continuations");
	/* Other framings pass through at once, never joined. */
	line(j, "m", "Feb 21 09:21:54 mx postfix/smtp[12]: 4F2A31C0A1: to=<a@b.c>, status=sent", 6);
	ok(nrecs == 3 && !mt_join_pending(j), "a syslog line passes through without waiting");
	line(j, "m", "2024-01-10 10:00:00 1rLc2b-0003Ab-Cd Completed", 7);
	line(j, "m", "Feb 21 09:21:54 mx postfix/qmgr[12]: 4F2A31C0A1: removed", 8);
	ok(nrecs == 5 && recs[3].nlines == 1 && recs[4].nlines == 1,
	   "a framed line after an Exim head is not a continuation");
	line(j, "a", "2024-01-10 10:00:00 oops:", 9);
	line(j, "b", "  from another file", 10);
	ok(nrecs == 7 && recs[5].nlines == 1 && recs[6].nlines == 1,
	   "a line of another file does not continue the record");
	j = mt_join_free(j);

	/* Bounds: bytes and lines. */
	j = mt_join_new(100, 3, on_rec, NULL);
	nrecs = 0;
	line(j, "p", "2024-01-10 10:00:00 head", 1);
	for (int i = 0; i < 10; i++)
		line(j, "p", "  continuation line that is forty bytes", 2 + (uint64_t)i);
	mt_join_flush(j);
	ok(nrecs == 1 && recs[0].truncated && recs[0].nlines <= 3 && strlen(recs[0].text) <= 100 &&
		   mt_join_stats(j)->cut_records == 1,
	   "a record stops at its bounds and is flagged cut (%zu lines, %zu bytes)", recs[0].nlines,
	   strlen(recs[0].text));
	j = mt_join_free(j);
}

/* ---- the tables ---- */

static struct mt_corr_result res;

/* Parse, match and correlate one line; returns the winner's id or "". */
static const char *
feed(struct mt_correlate *c, const char *s)
{
	struct mt_logrec rec;
	const struct mt_match *m;
	size_t n;

	mt_logline_parse(s, strlen(s), &rec);
	n = mt_matcher_run(matcher, s, strlen(s), rec.mta, &m);
	mt_correlate_observe(c, &rec, n ? m[0].sig : NULL, 1.7e9, &res);
	return n ? m[0].sig->id : "";
}

static struct mt_correlate *
fresh(void)
{
	struct mt_correlate_opts o;
	struct mt_correlate *c;

	mt_correlate_opts_default(&o);
	o.max_messages = 1000;
	c = mt_correlate_new(&o, key);
	mt_correlate_set_catalog(c, cat);
	return c;
}

/* A failed session's outcome lines name the cause its process logged just before. */
static void
test_session(void)
{
	struct mt_correlate *c = fresh();
	const char *id;

	id = feed(c, "Dec 04 17:53:03 mx postfix/smtpd[14149]: SSL_accept error from "
		     "client.outside.test[127.0.0.66]: -1");
	ok(strcmp(id, "tls/tls-handshake-failed") == 0 && res.verdict != MT_CORR_REPEAT,
	   "the first line of a TLS failure says only that it failed, and alerts (%s)", id);
	id = feed(
		c,
		"Dec 04 17:53:03 mx postfix/smtpd[14149]: warning: TLS library problem: "
		"error:0A0000C1:SSL routines::no shared cipher:../ssl/statem/statem_srvr.c:2226:");
	ok(strcmp(id, "tls/openssl-no-shared-cipher") == 0 && res.verdict != MT_CORR_REPEAT,
	   "the TLS library line names the cause and alerts (%s)", id);
	feed(c, "Dec 04 17:53:03 mx postfix/smtpd[14149]: lost connection after STARTTLS from "
		"client.outside.test[127.0.0.66]");
	ok(res.verdict == MT_CORR_REPEAT && res.cause_id != NULL &&
		   strcmp(res.cause_id, "tls/openssl-no-shared-cipher") == 0,
	   "'lost connection after STARTTLS' from that process is a repeat of the cause (%s)",
	   res.cause_id ? res.cause_id : "none");
	feed(c, "Dec 04 17:53:04 mx postfix/smtpd[14149]: lost connection after STARTTLS from "
		"other.outside.test[127.0.0.77]");
	ok(res.verdict != MT_CORR_REPEAT, "the same process with another client: a new session");
	feed(c, "Dec 04 17:53:04 mx postfix/smtpd[14150]: lost connection after STARTTLS from "
		"client.outside.test[127.0.0.66]");
	ok(res.verdict != MT_CORR_REPEAT, "another process: not attributed");

	/* A delivery: the cause, then the deferral of its message. */
	feed(c, "Dec 04 16:54:54 mx postfix/smtp[4952]: certificate verification failed for "
		"mx1.peer.test[127.0.0.10]:25: self-signed certificate");
	id = feed(c, "Dec 04 16:54:54 mx postfix/smtp[4952]: 5259AA72CFB: to=<user@peer.test>, "
		     "relay=mx1.peer.test[127.0.0.10]:25, delay=0.06, delays=0.01/0.03/0.01/0, "
		     "dsn=4.7.5, status=deferred (Server certificate not verified)");
	ok(res.verdict == MT_CORR_REPEAT && res.cause_id != NULL &&
		   strcmp(res.cause_id, "tls/certificate-untrusted-issuer") == 0,
	   "'Server certificate not verified' (%s) names the self-signed certificate (%s)", id,
	   res.cause_id ? res.cause_id : "none");
	feed(c, "Dec 04 16:55:20 mx postfix/smtp[4952]: 6259AA72CFB: to=<user@peer.test>, "
		"relay=mx1.peer.test[127.0.0.10]:25, delay=0.06, delays=0.01/0.03/0.01/0, "
		"dsn=4.7.5, status=deferred (Server certificate not verified)");
	ok(mt_correlate_stats(c)->session_repeats == 2,
	   "26 s later the session is over: no session attribution (%llu so far)",
	   (unsigned long long)mt_correlate_stats(c)->session_repeats);

	/* Another domain only for the same message. */
	feed(c,
	     "Dec  4 20:59:07 mx sm-mta[30828]: 6B4Kx7Gx030828: SYSERR(root): hash map "
	     "\"mailertable\": missing map file /etc/mail/mailertable.db: No such file or directory");
	feed(c, "Dec  4 20:59:07 mx sm-mta[30828]: 6B4Kx7Gx030828: to=<user@peer.test>, "
		"delay=00:00:00, mailer=esmtp, pri=30085, dsn=4.4.3, stat=queued");
	ok(res.verdict == MT_CORR_REPEAT && res.cause_id != NULL &&
		   strcmp(res.cause_id, "local/sendmail-map-error") == 0,
	   "Sendmail's 'dsn=4.4.3, stat=queued' of the same message names the map error (%s)",
	   res.cause_id ? res.cause_id : "none");
	feed(c, "Dec  4 20:59:08 mx sm-mta[30828]: 7B4Kx7Gx030829: to=<user@peer.test>, "
		"delay=00:00:00, mailer=esmtp, pri=30085, dsn=4.4.3, stat=queued");
	ok(res.verdict != MT_CORR_REPEAT, "another message of that process: not attributed");

	/* A new catalog: the table forgets causes that point into the old one. */
	feed(c, "Dec 04 17:53:10 mx postfix/smtpd[999]: warning: TLS library problem: "
		"error:0A0000C1:SSL routines::no shared cipher:../ssl/statem/statem_srvr.c:2226:");
	mt_correlate_set_catalog(c, cat);
	feed(c, "Dec 04 17:53:10 mx postfix/smtpd[999]: lost connection after STARTTLS from "
		"client.outside.test[127.0.0.66]");
	ok(res.verdict != MT_CORR_REPEAT, "a catalog change clears the sessions");
	c = mt_correlate_free(c);
}

static void
test_exim(void)
{
	struct mt_correlate *c = fresh();
	int repeats = 0;

	feed(c, "2024-01-10 10:00:01 1rLc2b-0003Ab-Cd == bob@far.test R=dnslookup T=remote_smtp "
		"defer (111): Connection refused");
	ok(res.verdict == MT_CORR_NEW, "a first deferral is a new cause");
	for (int i = 0; i < 20; i++) {
		feed(c, "2024-01-10 10:15:00 1rLc2b-0003Ab-Cd == bob@far.test R=dnslookup "
			"T=remote_smtp defer (-54): retry time not reached for any host for "
			"'far.test'");
		repeats += res.verdict == MT_CORR_REPEAT && res.cause_sig != NULL &&
			   strcmp(res.cause_id, "communication/smtp-connect-refused") == 0;
	}
	ok(repeats == 20, "every retry notice is a repeat of the first cause (%d of 20)", repeats);
	/* Another message to the same destination: attributed by destination. */
	feed(c, "2024-01-10 10:20:00 1rLcZZ-0003Ab-Cd == carol@far.test R=dnslookup "
		"T=remote_smtp defer (-54): retry time not reached for any host for 'far.test'");
	ok(res.verdict == MT_CORR_REPEAT &&
		   strcmp(res.cause_id, "communication/smtp-connect-refused") == 0,
	   "a retry notice for a new message quotes its destination's cause");
	feed(c, "2024-01-14 10:30:01 1rLc2b-0003Ab-Cd ** bob@far.test: retry timeout exceeded");
	ok(res.verdict == MT_CORR_OUTCOME && strcmp(res.outcome, "expired") == 0 &&
		   strstr(res.summary, "expired after 4 days of deferrals: ") == res.summary &&
		   strstr(res.summary, "Connection refused") != NULL,
	   "an expiry names the first cause: %s", res.summary);
	/* A retry notice nobody explained: alone. */
	feed(c,
	     "2024-01-10 10:20:00 1rLcYY-0003Ab-Cd == dan@elsewhere.test R=dnslookup "
	     "T=remote_smtp defer (-54): retry time not reached for any host for 'elsewhere.test'");
	ok(res.verdict != MT_CORR_REPEAT, "a retry notice with no known cause alerts on its own");
	/* Frozen: one alert however many queue runs follow. */
	feed(c, "2024-01-11 09:00:00 1rLcXX-0003Ab-Cd Frozen (delivery error message)");
	ok(res.verdict == MT_CORR_NEW, "freezing is a new cause");
	repeats = 0;
	for (int i = 0; i < 50; i++) {
		feed(c, "2024-01-11 09:30:00 1rLcXX-0003Ab-Cd Message is frozen");
		repeats += res.verdict == MT_CORR_REPEAT;
	}
	ok(repeats == 50, "each queue run's 'Message is frozen' is a repeat (%d of 50)", repeats);
	/* The destination accepts again: resolved. */
	feed(c, "2024-01-15 10:00:00 1rLdAA-0003Ab-Cd => eve@far.test R=dnslookup T=remote_smtp "
		"H=mx.far.test [192.0.2.1]");
	ok(res.resolved_destination != NULL && strcmp(res.resolved_destination, "far.test") == 0 &&
		   strcmp(res.resolved_cause, "communication/smtp-connect-refused") == 0,
	   "a delivery to a destination in trouble resolves it");
	c = mt_correlate_free(c);
}

static void
test_postfix(void)
{
	struct mt_correlate *c = fresh();
	const char *id;

	id = feed(c, "Mar 14 00:00:31 mx postfix/smtp[3]: 1A2B3C4D5E: to=<bob@outlook.test>, "
		     "relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect "
		     "to mx.outlook.test[192.0.2.7]:25: Connection timed out)");
	ok(res.verdict == MT_CORR_NEW && *id, "a Postfix deferral is a new cause (%s)", id);
	feed(c, "Mar 14 00:05:00 mx postfix/error[4]: 6F7E8D9C0B: to=<amy@outlook.test>, "
		"relay=none, delay=1, delays=0/0/0/1, dsn=4.4.1, status=deferred (delivery "
		"temporarily suspended: connect to mx.outlook.test[192.0.2.7]:25: Connection timed "
		"out)");
	ok(res.verdict == MT_CORR_REPEAT && strcmp(res.cause_id, id) == 0,
	   "'delivery temporarily suspended' repeats the destination's cause");
	/* The nexthop is suspended for every domain it serves: found by the reply quoted. */
	feed(c, "Mar 14 00:06:00 mx postfix/error[4]: 7F7E8D9C0B: to=<amy@elsewhere.test>, "
		"relay=none, delay=1, delays=0/0/0/1, dsn=4.4.1, status=deferred (delivery "
		"temporarily suspended: connect to mx.outlook.test[192.0.2.7]:25: Connection timed "
		"out)");
	ok(res.verdict == MT_CORR_REPEAT && strcmp(res.cause_id, id) == 0,
	   "a suspension for another domain is found by the failure it quotes");
	feed(c, "Mar 19 00:00:31 mx postfix/qmgr[5]: 1A2B3C4D5E: from=<a@here.test>, "
		"status=expired, returned to sender");
	ok(res.verdict == MT_CORR_OUTCOME && strstr(res.summary, "expired after 5 days") != NULL,
	   "status=expired names the cause: %s", res.summary);
	{
		struct mt_corr_dest *dv;
		struct mt_corr_msg *mv;
		size_t nd = mt_correlate_destinations(c, &dv), nm = mt_correlate_messages(c, &mv);

		ok(nd == 1 && strcmp(dv[0].name, "outlook.test") == 0 && dv[0].deferred >= 1 &&
			   strcmp(dv[0].cause_id, id) == 0,
		   "the destination view has outlook.test and its cause");
		size_t k = 0;

		while (k < nm && strcmp(mv[k].id, "1A2B3C4D5E") != 0)
			k++;
		ok(nm == 3 && k < nm && strcmp(mv[k].outcome, "expired") == 0 &&
			   strcmp(mv[k].destination, "outlook.test") == 0 && mv[k].attempts == 2,
		   "the message view has the expired message, its destination and attempts");
		free(dv);
		free(mv);
	}
	c = mt_correlate_free(c);
}

static void
test_health(void)
{
	struct mt_correlate_opts o;
	struct mt_correlate *c;
	char l[512];
	int alerts = 0;

	mt_correlate_opts_default(&o);
	o.health_min_attempts = 10;
	o.health_threshold = 20;
	c = mt_correlate_new(&o, key);
	mt_correlate_set_catalog(c, cat);
	for (int i = 0; i < 40; i++) {
		bool fail = i % 3 == 0; /* a third fails: over 20 % */

		(void)snprintf(l, sizeof(l),
			       "2024-02-01 10:%02d:00 1rM%03d-0003Ab-Cd %s bob@slow.test "
			       "R=dnslookup T=remote_smtp %s",
			       i / 4, i, fail ? "==" : "=>",
			       fail ? "defer (-44) H=mx.slow.test [192.0.2.9]: SMTP error from "
				      "remote mail server after RCPT TO:<bob@slow.test>: 451 4.7.1 "
				      "Try again later" :
				      "H=mx.slow.test [192.0.2.9]");
		feed(c, l);
		if (res.health_destination != NULL && !res.health_recovered)
			alerts++;
	}
	ok(alerts == 1, "a destination over the threshold gives one health event (%d)", alerts);
	c = mt_correlate_free(c);
}

static void
test_bound(void)
{
	struct mt_correlate_opts o;
	struct mt_correlate *c;
	const struct mt_correlate_stats *st;
	struct mt_logrec rec;
	const struct mt_signature *sig = mt_catalog_find(cat, "communication/smtp-connect-refused");
	const size_t max = 1000000, feedn = 2000000;
	char l[256];
	bool first_gone, last_there;

	mt_correlate_opts_default(&o);
	o.max_messages = max;
	c = mt_correlate_new(&o, key);
	/* The record the parser would give for "ID == x@dN.test ... defer (111): ..." */
	memset(&rec, 0, sizeof(rec));
	rec.mta = MT_MTA_EXIM;
	rec.f[MT_F_STATUS] = (struct mt_view){ "==", 2 };
	rec.f[MT_F_RECIPIENT] = (struct mt_view){ "x@d.test", 8 };
	rec.f[MT_F_REPLY] = (struct mt_view){ "Connection refused", 18 };
	rec.f[MT_F_MESSAGE] = (struct mt_view){ "defer (111): Connection refused", 31 };
	for (size_t i = 0; i < feedn; i++) {
		int n = snprintf(l, sizeof(l), "%06zX-%06zX-Cd", i >> 24, i & 0xffffff);

		rec.f[MT_F_QUEUE_ID] = (struct mt_view){ l, (size_t)n };
		mt_correlate_observe(c, &rec, sig, 1.7e9, &res);
	}
	st = mt_correlate_stats(c);
	diag("%zu distinct ids into a table of %zu: %zu kept, %llu evicted, %zu bytes "
	     "(%.1f MiB; bound %.1f MiB)",
	     feedn, max, st->messages, (unsigned long long)st->msg_evicted_lru, st->memory,
	     st->memory / 1048576., st->memory_max / 1048576.);
	ok(st->messages == max && st->msg_evicted_lru == feedn - max,
	   "the message table stays at its size and counts evictions");
	ok(st->memory <= st->memory_max, "memory stays under its configured bound");
	ok(st->memory_messages < 64u * 1024 * 1024, "1,000,000 messages fit in 64 MiB (%zu bytes)",
	   st->memory_messages);
	/* The oldest are gone, the newest are there. */
	(void)snprintf(l, sizeof(l), "2023-11-14 22:13:20 000000-000000-Cd Message is frozen");
	mt_logline_parse(l, strlen(l), &rec);
	mt_correlate_observe(c, &rec, sig, 1.7e9, &res);
	first_gone = res.verdict != MT_CORR_REPEAT;
	(void)snprintf(l, sizeof(l), "2023-11-14 22:13:20 %06zX-%06zX-Cd Message is frozen",
		       (feedn - 1) >> 24, (feedn - 1) & 0xffffff);
	mt_logline_parse(l, strlen(l), &rec);
	mt_correlate_observe(c, &rec, sig, 1.7e9, &res);
	last_there = res.verdict == MT_CORR_REPEAT;
	ok(first_gone && last_there, "the least recently seen messages were evicted");
	c = mt_correlate_free(c);
}

static void
test_save_load(void)
{
	struct mt_correlate *c = fresh(), *d;
	struct mt_buf b;
	size_t skipped = 99;
	int r;

	feed(c, "2024-01-11 09:00:00 1rLcXX-0003Ab-Cd Frozen (delivery error message)");
	feed(c, "2024-01-10 10:00:01 1rLc2b-0003Ab-Cd == bob@far.test R=dnslookup T=remote_smtp "
		"defer (111): Connection refused");
	mt_buf_init(&b, 1 << 20);
	r = mt_correlate_save(c, &b);
	ok(r == 0 && b.len > 0, "the tables save (%zu bytes)", b.len);
	d = fresh();
	r = mt_correlate_load(d, b.data, b.len, &skipped);
	ok(r == 0 && skipped == 0, "and load back (%d, %zu skipped)", r, skipped);
	feed(d, "2024-01-11 09:30:00 1rLcXX-0003Ab-Cd Message is frozen");
	ok(res.verdict == MT_CORR_REPEAT, "after a restart a frozen notice is still a repeat");
	feed(d, "2024-01-10 10:15:00 1rLcQQ-0003Ab-Cd == z@far.test R=dnslookup T=remote_smtp "
		"defer (-54): retry time not reached for any host for 'far.test'");
	ok(res.verdict == MT_CORR_REPEAT &&
		   strcmp(res.cause_id, "communication/smtp-connect-refused") == 0 &&
		   strcmp(res.cause_reply, "Connection refused") == 0,
	   "and the destination's cause and reply survive");
	{
		/* Every message keeps its own cause through a save and a load. */
		struct mt_correlate *e = fresh(), *f = fresh();
		struct mt_corr_msg *mv, *wv;
		struct mt_buf eb;
		size_t nm, nw, same_n = 0;
		char l[300];

		for (int i = 0; i < 30; i++) {
			(void)snprintf(
				l, sizeof(l), "2024-01-10 10:00:%02d 1rLd%02d-0003Ab-Cd %s", i, i,
				i % 3 == 0 ?
					"Frozen (delivery error message)" :
				i % 3 == 1 ?
					"== bob@far.test R=dnslookup T=remote_smtp defer "
					"(111): Connection refused" :
					"** x@y.test R=r T=t: SMTP error from remote mail "
					"server after RCPT TO:<x@y.test>: 550 5.1.1 User unknown");
			feed(e, l);
		}
		mt_buf_init(&eb, 1 << 20);
		(void)mt_correlate_save(e, &eb);
		(void)mt_correlate_load(f, eb.data, eb.len, NULL);
		nm = mt_correlate_messages(e, &mv);
		nw = mt_correlate_messages(f, &wv);
		for (size_t i = 0; i < nm && i < nw; i++)
			same_n += strcmp(mv[i].id, wv[i].id) == 0 &&
				  strcmp(mv[i].cause_id, wv[i].cause_id) == 0 &&
				  strcmp(mv[i].cause_reply, wv[i].cause_reply) == 0;
		ok(nm == 30 && nw == 30 && same_n == 30,
		   "30 messages of 3 causes load back with their own causes (%zu of %zu)", same_n,
		   nm);
		same_n = 0;
		for (int i = 0; i < 30; i++) {
			(void)snprintf(l, sizeof(l),
				       "2024-01-10 10:01:00 1rLd%02d-0003Ab-Cd Message is frozen",
				       i);
			feed(f, l);
			same_n += res.verdict == MT_CORR_REPEAT;
		}
		ok(same_n == 30 && mt_correlate_stats(f)->messages == 30,
		   "and each is found again by its id (%zu of 30)", same_n);
		free(mv);
		free(wv);
		mt_buf_fini(&eb);
		mt_correlate_free(e);
		mt_correlate_free(f);
	}
	ok(mt_correlate_load(d, "garbage", 7, NULL) == -EINVAL, "a foreign file is refused");
	r = mt_correlate_load(d, "mtalert-correlate 1\nM zz 1 2\nC 1 -- --\nD 00 1\n", 44,
			      &skipped);
	ok(r == 0 && skipped == 3, "malformed lines are skipped and counted (%zu)", skipped);
	mt_buf_fini(&b);
	mt_correlate_free(c);
	mt_correlate_free(d);
}

static bool
same(double a, double b)
{
	return a - b < 0.001 && b - a < 0.001;
}

static void
test_hash(void)
{
	static const uint8_t k[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t msg[64];
	bool same_all = true;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (size_t n = 0; n <= sizeof(msg); n++)
		same_all &= mt_correlate_hash(k, msg, n) == mt_group_siphash24(k, msg, n);
	/* The paper's vector: 15 bytes 00..0e under key 00..0f. */
	ok(same_all && mt_correlate_hash(k, msg, 15) == UINT64_C(0xa129ca6149be45e5),
	   "the one-pass SipHash-2-4 equals group.c's for 0..64 bytes and the paper's vector");
}

static void
test_time(void)
{
	struct mt_view v = { "2024-01-10 10:00:01", 19 };
	struct mt_view w = { "Jan 10 10:00:01", 15 };
	struct mt_view x = { "garbage", 7 };

	ok(same(mt_correlate_time(&v, 0), 1704880801.), "Exim time parses");
	ok(same(mt_correlate_time(&w, 1704880801. + 3600), 1704880801.),
	   "RFC 3164 time takes now's year");
	ok(same(mt_correlate_time(&x, 42.), 42.), "an unknown time is now");
}

int
main(int argc, char **argv)
{
	struct mt_diag d;
	const char *dir = argc > 1 ? argv[1] : "signatures";

	mt_diag_init(&d);
	cat = mt_catalog_load(&dir, 1, &d);
	mt_diag_fini(&d);
	if (cat == NULL || mt_catalog_count(cat) == 0) {
		printf("Bail out! cannot load the catalog from %s\n", dir);
		return 1;
	}
	matcher = mt_matcher_new(cat);
	test_join();
	test_hash();
	test_time();
	test_exim();
	test_postfix();
	test_session();
	test_health();
	test_save_load();
	test_bound();
	mt_matcher_free(matcher);
	mt_catalog_free(cat);
	return tap_done();
}
