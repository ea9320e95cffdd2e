/*
 * Unit tests for payload.c: every format renders every hostile log line
 * within its limits, as valid UTF-8 JSON, with no mention, link or markup
 * of the line left working.
 *
 * argv[1]: a signatures directory (signatures/).
 * argv[2]: optional; a directory to write each payload to, as
 *          <format>-<case>.json, for check_payload.py.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert_group.h"
#include "alert/payload.h"
#include "match/catalog.h"
#include "tap.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/json.h"

#define SIG_ID	 "communication/smtp-421-service-not-available"
#define BIG_LINE (100 * 1024)
#define ZW	 "\xe2\x80\x8b" /* U+200B */

struct hostile {
	const char *name;
	const char *text;
};

/* Lines a remote server could make us log; the first is the brief's. */
static const struct hostile hostile[] = {
	{ "all",
	  "<!channel> <@U12345> <http://evil.example|click> @everyone @here "
	  "[click](http://evil.example) ![x](http://evil.example/a.png) `code` *bold* _it_ ~~s~~ "
	  "\xe2\x80\xae \x1b[31m \xff\xfe invalid utf8" },
	{ "slack-specials", "<!here|here> <!subteam^S123> <#C123> &lt;!channel&gt; a&b<c>d" },
	{ "md-mentions", "@all @channel @everyone <@123456789> <@&42> <#99> <at>Bob</at>" },
	{ "autolinks",
	  "www.evil.example WWW.EVIL.EXAMPLE <http://evil.example> https://evil.example/x" },
	{ "escapes", "\\[click\\](http://evil.example) \\`code\\` ||spoiler|| # head" },
	{ "fences", "```\n@everyone\n``` ``x`` `" },
	{ "controls",
	  "a\nb\rc\td\x7f\x01 \xe2\x80\xa8 \xe2\x80\xa9 \xef\xbb\xbf \xe2\x81\xa6 \xc2\x85" },
	{ "bad-utf8", "\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe6\x9c truncated" },
	{ "quotes", "\"}]},{\"type\":\"section\",\"text\":\"injected\\" },
};

/* Text that must not survive into any chat or Alertmanager payload. */
static const char *const needles[] = {
	"<!channel>",	"<!here",	"<@U12345>", "<@123456789>", "<#C123>",	     "<#99>",
	"<http://evil", "@everyone",	"@here",     "@channel",     "@all",	     "](http",
	"http://evil",	"https://evil", "www.evil",  "WWW.EVIL",     "`code`",	     "\xe2\x80\xae",
	"\xe2\x81\xa6", "\x1b",		"<at>",	     "\xef\xbb\xbf", "\xe2\x80\xa8",
};

static const char *outdir;

static bool
valid_utf8_json_text(const struct mt_buf *b, size_t *ret_bad)
{
	for (size_t i = 0; i < b->len;) {
		unsigned char ch = (unsigned char)b->data[i];
		size_t n = mt_utf8_seq((const unsigned char *)b->data + i, b->len - i);

		if (n == 0 || ch < 0x20 || ch == 0x7f) {
			*ret_bad = i;
			return false;
		}
		i += n;
	}
	return true;
}

static void
save(const char *fmt, const char *name, const struct mt_buf *b)
{
	char path[512];
	FILE *f;
	int n;

	if (outdir == NULL)
		return;
	n = snprintf(path, sizeof(path), "%s/%s-%s.json", outdir, fmt, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	f = fopen(path, "w");
	if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0)
		diag("cannot write %s", path);
}

/*
 * Render every format (a digest of gs[0..n) when n > 1, in the formats that
 * have one); check size, encoding and (for chats) the needles.
 */
static void
check_some(const struct mt_alert_group *const *gs, size_t n, const char *name)
{
	for (int f = 0; f < MT_PAYLOAD__COUNT; f++) {
		const char *fname = mt_payload_format_name((enum mt_payload_format)f);
		struct mt_buf b;
		size_t bad = 0;
		int r;

		if (n > 1 && !mt_payload_has_digest((enum mt_payload_format)f))
			continue;
		mt_buf_init(&b, MT_PAYLOAD_MAX);
		r = n > 1 ? mt_payload_render_digest(&b, (enum mt_payload_format)f, gs, n) :
			    mt_payload_render(&b, (enum mt_payload_format)f, gs[0]);
		if (!ok(r == 0, "%s %s renders", fname, name))
			diag("got %d, want 0", r);
		if (!ok(valid_utf8_json_text(&b, &bad), "%s %s is UTF-8 without raw controls",
			fname, name))
			diag("bad byte 0x%02x at %zu", (unsigned char)b.data[bad], bad);
		if (f == MT_PAYLOAD_TEAMS &&
		    !ok(b.len <= MT_PAYLOAD_TEAMS_MAX, "teams %s size", name))
			diag("got %zu bytes, want <= %d", b.len, MT_PAYLOAD_TEAMS_MAX);
		if (f != MT_PAYLOAD_JSON) {
			const char *found = NULL;

			for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]) && !found; i++)
				if (strstr(b.data, needles[i]) != NULL)
					found = needles[i];
			if (!ok(found == NULL, "%s %s has no live hostile text", fname, name))
				diag("found '%s' in: %.300s", found, strstr(b.data, found));
		}
		save(fname, name, &b);
		mt_buf_fini(&b);
	}
}

static void
check_all(const struct mt_alert_group *g, const char *name)
{
	check_some(&g, 1, name);
}

static void
test_names(void)
{
	static const char *const want_names[] = { "json",  "slack",   "mattermost",
						  "teams", "discord", "alertmanager" };
	enum mt_payload_format got;

	for (int f = 0; f < MT_PAYLOAD__COUNT; f++) {
		const char *n = mt_payload_format_name((enum mt_payload_format)f);

		if (!ok(strcmp(n, want_names[f]) == 0, "format name %d", f))
			diag("got %s, want %s", n, want_names[f]);
		ok(mt_payload_format_parse(want_names[f], &got) == 0 && (int)got == f, "parse %s",
		   want_names[f]);
		ok(strcmp(mt_payload_content_type((enum mt_payload_format)f), "application/json") ==
			   0,
		   "content type %s", want_names[f]);
	}
	ok(mt_payload_format_parse("msteams", &got) == -EINVAL, "parse unknown");
	ok(mt_payload_format_parse(NULL, &got) == -EINVAL, "parse NULL");
	ok(strcmp(mt_group_event_name(MT_GROUP_FIRST), "first") == 0 &&
		   strcmp(mt_group_event_name(MT_GROUP_UPDATE), "update") == 0 &&
		   strcmp(mt_group_event_name(MT_GROUP_REMINDER), "reminder") == 0 &&
		   strcmp(mt_group_event_name(MT_GROUP_RESOLVED), "resolved") == 0 &&
		   strcmp(mt_group_event_name(MT_GROUP_FLUSH), "flush") == 0,
	   "event names");
}

static int
render(struct mt_buf *b, enum mt_payload_format f, const struct mt_alert_group *g)
{
	mt_buf_reset(b);
	return mt_payload_render(b, f, g);
}

/* Alertmanager labels and times, locale, failure modes. */
static void
test_details(const struct mt_alert_group *base)
{
	struct mt_alert_group g = *base;
	struct mt_buf b;
	int r;

	mt_buf_init(&b, MT_PAYLOAD_MAX);
	r = render(&b, MT_PAYLOAD_ALERTMANAGER, &g);
	ok(r == 0 && strstr(b.data, "\"alertname\":\"smtp_421_service_not_available\""),
	   "alertmanager alertname");
	ok(strstr(b.data, "\"signature_id\":\"" SIG_ID "\"") != NULL, "alertmanager signature_id");
	ok(strstr(b.data, "\"relay\":\"mx.example.net\"") != NULL, "alertmanager key label");
	ok(strstr(b.data, "\"job\":\"mtalert\"") && strstr(b.data, "\"instance\":\"monitor1\""),
	   "alertmanager job and instance");
	ok(strstr(b.data, "\"startsAt\":\"2026-03-03T10:15:42Z\"") != NULL,
	   "alertmanager startsAt");
	ok(strstr(b.data, "endsAt") == NULL, "alertmanager firing has no endsAt");
	g.event = MT_GROUP_RESOLVED;
	r = render(&b, MT_PAYLOAD_ALERTMANAGER, &g);
	if (!ok(r == 0 && strstr(b.data, "\"endsAt\":\"2026-03-03T10:20:03.250Z\""),
		"alertmanager resolved endsAt"))
		diag("got %.400s", b.data);
	g.key_name = "severity"; /* would clash with ours */
	r = render(&b, MT_PAYLOAD_ALERTMANAGER, &g);
	ok(r == 0 && strstr(b.data, "\"key_severity\":\"mx.example.net\"") != NULL,
	   "alertmanager clashing key label renamed");
	g.key_name = "9to-5";
	r = render(&b, MT_PAYLOAD_ALERTMANAGER, &g);
	ok(r == 0 && strstr(b.data, "\"mt_9to_5\":") != NULL, "alertmanager key label made safe");

	g = *base;
	g.locale = MT_LOCALE_ZH;
	for (int f = 0; f < MT_PAYLOAD__COUNT; f++) {
		r = render(&b, (enum mt_payload_format)f, &g);
		if (!ok(r == 0 && strstr(b.data, "接收方服务器") != NULL, "zh root cause in %s",
			mt_payload_format_name((enum mt_payload_format)f)))
			diag("got %.300s", b.data);
	}
	r = render(&b, MT_PAYLOAD_SLACK, &g);
	ok(r == 0 && strstr(b.data, "根本原因") != NULL, "zh labels in slack");

	/* What a group affects (issue 12): line 1 of every chat format, JSON, annotations. */
	g = *base;
	g.messages = 3, g.destinations = 1, g.repeats = 120;
	for (int f = 0; f < MT_PAYLOAD__COUNT; f++) {
		static const char *const want[MT_PAYLOAD__COUNT] = {
			[MT_PAYLOAD_JSON] = "\"messages\":3,\"destinations\":1,\"repeats\":120",
			[MT_PAYLOAD_ALERTMANAGER] =
				"\"messages\":\"3\",\"destinations\":\"1\",\"repeats\":\"120\"",
		};
		const char *w =
			want[f] ? want[f] : "42 (+7 new), 3 messages, 1 destination, 120 repeats";

		for (int ev = MT_GROUP_FIRST; ev <= MT_GROUP_RESOLVED; ev += 3) {
			g.event = (enum mt_group_event)ev;
			if (ev == MT_GROUP_RESOLVED && want[f] == NULL)
				w = "42 in all, 3 messages, 1 destination, 120 repeats, quiet since";
			r = render(&b, (enum mt_payload_format)f, &g);
			if (!ok(r == 0 && strstr(b.data, w) != NULL, "%s %s shows %s",
				mt_payload_format_name((enum mt_payload_format)f),
				mt_group_event_name(g.event), w))
				diag("got %.600s", b.data);
		}
	}
	g = *base;
	g.messages = g.destinations = g.repeats = 0;
	for (int f = 0; f < MT_PAYLOAD__COUNT; f++) {
		r = render(&b, (enum mt_payload_format)f, &g);
		if (f == MT_PAYLOAD_JSON || f == MT_PAYLOAD_ALERTMANAGER)
			continue;
		ok(r == 0 && strstr(b.data, "42 (+7 new)") != NULL &&
			   strstr(b.data, "42 (+7 new),") == NULL,
		   "%s says nothing of what was not counted",
		   mt_payload_format_name((enum mt_payload_format)f));
	}
	r = render(&b, MT_PAYLOAD_ALERTMANAGER, &g);
	ok(r == 0 && strstr(b.data, "\"labels\":{") != NULL &&
		   strstr(strstr(b.data, "\"labels\":{"), "\"messages\"") >
			   strstr(b.data, "\"annotations\":{"),
	   "alertmanager counts are annotations, not labels");

	/* Nothing optional: no key, examples, ids, fields, host or file. */
	g = *base;
	g.key_name = g.key_value = NULL;
	g.examples = NULL, g.nexamples = 0;
	g.queue_ids = NULL, g.nqueue_ids = 0;
	g.fields = NULL, g.nfields = 0;
	g.hostname = g.file = g.log_host = NULL;
	check_all(&g, "bare");

	/* Output is appended, and left as it was on failure. */
	g = *base;
	mt_buf_reset(&b);
	(void)mt_buf_puts(&b, "prefix");
	r = mt_payload_render(&b, MT_PAYLOAD_SLACK, &g);
	ok(r == 0 && strncmp(b.data, "prefix{\"text\":", 14) == 0, "render appends");
	mt_buf_fini(&b);
	mt_buf_init(&b, 300);
	(void)mt_buf_puts(&b, "prefix");
	r = mt_payload_render(&b, MT_PAYLOAD_TEAMS, &g);
	if (!ok(r == -ENOBUFS && strcmp(b.data, "prefix") == 0, "small cap: -ENOBUFS, unchanged"))
		diag("got %d '%.80s', want %d 'prefix'", r, b.data, -ENOBUFS);
	mt_buf_fini(&b);

	/* A smaller cap than the full body: the shrunk body still fits. */
	mt_buf_init(&b, 6000);
	r = mt_payload_render(&b, MT_PAYLOAD_DISCORD, &g);
	if (!ok(r == 0, "discord shrinks into a 6000-byte cap"))
		diag("got %d", r);
	mt_buf_fini(&b);

	/* Hostile text is shown, neutralised, not dropped. */
	struct want_shown {
		enum mt_payload_format f;
		const char *want;
	};
	static const struct want_shown shown[] = {
		{ MT_PAYLOAD_SLACK, "```\\n&lt;!channel&gt; &lt;@\xe2\x80\x8bU12345&gt;" },
		{ MT_PAYLOAD_SLACK, "[click]\xe2\x80\x8b(http:\xe2\x80\x8b//evil.example)" },
		{ MT_PAYLOAD_SLACK, "\xcb\x8b"
				    "code\xcb\x8b *bold*" },
		{ MT_PAYLOAD_SLACK, "\\\\u202e \\\\e[31m \\\\xff\\\\xfe invalid utf8" },
		{ MT_PAYLOAD_DISCORD,
		  "```\\n<\xe2\x80\x8b!channel> <\xe2\x80\x8b@\xe2\x80\x8bU12345>" },
		{ MT_PAYLOAD_DISCORD, "@" ZW "everyone @" ZW "here" },
		{ MT_PAYLOAD_MATTERMOST, "@" ZW "everyone @" ZW "here" },
		{ MT_PAYLOAD_TEAMS,
		  "\"fontType\":\"Monospace\",\"text\":\"<\xe2\x80\x8b!channel>" },
		{ MT_PAYLOAD_ALERTMANAGER, "\"example\":\"<\xe2\x80\x8b!channel>" },
		{ MT_PAYLOAD_JSON, "\"<!channel> <@U12345>" },
	};
	const char *hex[1] = { hostile[0].text };

	g = *base;
	g.examples = hex;
	g.nexamples = 1;
	mt_buf_init(&b, MT_PAYLOAD_MAX);
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		r = render(&b, shown[i].f, &g);
		if (!ok(r == 0 && strstr(b.data, shown[i].want) != NULL, "%s shows %s",
			mt_payload_format_name(shown[i].f), shown[i].want))
			diag("got %.2000s", b.data);
	}

	g.sig = NULL;
	ok(mt_payload_render(&b, MT_PAYLOAD_JSON, &g) == -EINVAL, "no signature: -EINVAL");
	g.sig = base->sig;
	ok(mt_payload_render(&b, MT_PAYLOAD__COUNT, &g) == -EINVAL, "bad format: -EINVAL");
	mt_buf_fini(&b);
}

/*
 * A first workaround the farm verified is marked so in every format; others
 * say that their rate is an estimate (the chat formats; JSON has no flag).
 */
static void
test_verified(const struct mt_alert_group *base)
{
	static const char *const farm[] = { "postfix-example-scenario" };
	static const char *const want[MT_PAYLOAD__COUNT] = {
		[MT_PAYLOAD_JSON] = "\"verified\":true", [MT_PAYLOAD_SLACK] = "%, verified)",
		[MT_PAYLOAD_TEAMS] = "%, verified)",	 [MT_PAYLOAD_MATTERMOST] = "%, verified)",
		[MT_PAYLOAD_DISCORD] = "%, verified)",	 [MT_PAYLOAD_ALERTMANAGER] = "%, verified)",
	};
	struct mt_signature s = *base->sig;
	struct mt_workaround w[8];
	struct mt_alert_group g = *base;
	struct mt_buf b;
	size_t n = s.nworkarounds < 8 ? s.nworkarounds : 8;

	memcpy(w, s.workarounds, n * sizeof(w[0]));
	w[0].verified_by = (char **)farm;
	w[0].nverified_by = 1;
	w[0].apply = (char *)"true";
	s.workarounds = w;
	s.nworkarounds = n;
	mt_buf_init(&b, MT_PAYLOAD_MAX);
	for (int f = 0; f < MT_PAYLOAD__COUNT; f++) {
		const char *name = mt_payload_format_name((enum mt_payload_format)f);

		if (want[f] == NULL)
			continue;
		g.sig = base->sig;
		ok(render(&b, (enum mt_payload_format)f, &g) == 0 &&
			   strstr(b.data, want[f]) == NULL,
		   "%s: an unverified fix is not marked", name);
		if (f != MT_PAYLOAD_JSON)
			ok(strstr(b.data, "%, estimate)") != NULL,
			   "%s: an unverified fix's rate says it is an estimate", name);
		g.sig = &s;
		if (!ok(render(&b, (enum mt_payload_format)f, &g) == 0 &&
				strstr(b.data, want[f]) != NULL,
			"%s: the verified first fix is marked (%s)", name, want[f]))
			diag("got %.1500s", b.data);
	}
	mt_buf_fini(&b);
}

/*
 * What a person reads: the typical alert, its resolved notice and a digest,
 * saved for check_payload.py (layout) and render_chat.py (HTML, screenshots).
 */
static void
test_layout(const struct mt_alert_group *base, const struct mt_catalog *cat)
{
	struct mt_alert_group typ = *base, res, other, many[MT_PAYLOAD_DIGEST_MAX + 1];
	const struct mt_alert_group *dg[MT_PAYLOAD_DIGEST_MAX + 1];
	const struct mt_signature *sig2 =
		mt_catalog_find(cat, "provider/gmail-550-5-7-26-dmarc-policy");
	const char *ex2[1] = {
		"Mar  3 10:16:01 mx1 postfix/smtp[24400]: 7B3C91C0F22: to=<alice@gmail.com>, "
		"relay=gmail-smtp-in.l.google.com[142.250.27.26]:25, delay=0.9, dsn=5.7.26, "
		"status=bounced (host gmail-smtp-in.l.google.com[142.250.27.26] said: 550-5.7.26 "
		"Unauthenticated email from example.org is not accepted due to domain's DMARC policy)"
	};
	struct mt_buf b;
	int r;

	typ.event = MT_GROUP_FIRST;
	typ.count_new = typ.count_total;
	check_all(&typ, "typical");
	res = typ;
	res.event = MT_GROUP_RESOLVED;
	res.count_new = 0;
	res.examples = NULL, res.nexamples = 0;
	check_all(&res, "resolved");
	for (int f = 0; f < MT_PAYLOAD__COUNT; f++) {
		mt_buf_init(&b, MT_PAYLOAD_MAX);
		r = mt_payload_render(&b, (enum mt_payload_format)f, &res);
		if (f != MT_PAYLOAD_JSON && f != MT_PAYLOAD_ALERTMANAGER)
			if (!ok(r == 0 && b.len < 1200, "%s resolved notice is short: %zu bytes",
				mt_payload_format_name((enum mt_payload_format)f), b.len))
				diag("%.1500s", b.data);
		mt_buf_fini(&b);
	}

	if (!ok(sig2 != NULL, "catalog has the DMARC signature for the digest"))
		return;
	other = typ;
	other.sig = sig2;
	other.severity = MT_SEV_ERROR;
	other.key_value = "gmail-smtp-in.l.google.com";
	other.count_total = other.count_new = 3;
	other.examples = ex2;
	other.nexamples = 1;
	other.queue_ids = NULL, other.nqueue_ids = 0;
	other.fields = NULL, other.nfields = 0;
	dg[0] = &typ, dg[1] = &other, dg[2] = &res;
	check_some(dg, 3, "digest");

	/* The same error on another relay: its fix is shown once, for the first. */
	{
		struct mt_alert_group again = typ;
		const struct mt_alert_group *two[2] = { &typ, &again };

		again.key_value = "mx2.example.net";
		for (int f = 0; f < MT_PAYLOAD__COUNT; f++) {
			const char *first, *cmd = "mtalertd show " SIG_ID;

			if (!mt_payload_has_digest((enum mt_payload_format)f))
				continue;
			mt_buf_init(&b, MT_PAYLOAD_MAX);
			r = mt_payload_render_digest(&b, (enum mt_payload_format)f, two, 2);
			first = strstr(b.data, cmd);
			if (!ok(r == 0 && first && strstr(first + 1, cmd) == NULL &&
					strstr(b.data, "mx2.example.net") != NULL,
				"%s digest: a repeated error's fix once, both relays listed",
				mt_payload_format_name((enum mt_payload_format)f)))
				diag("%.3000s", b.data);
			mt_buf_fini(&b);
		}
	}

	/* Each entry's hostile text is as harmless as in a single message. */
	for (size_t i = 0; i <= MT_PAYLOAD_DIGEST_MAX; i++) {
		many[i] = typ;
		many[i].key_value = hostile[i % (sizeof(hostile) / sizeof(hostile[0]))].text;
		many[i].log_host = hostile[(i + 1) % (sizeof(hostile) / sizeof(hostile[0]))].text;
		many[i].event = (enum mt_group_event)(i % 5);
		many[i].locale = i % 3 ? MT_LOCALE_EN : MT_LOCALE_ZH;
		dg[i] = &many[i];
	}
	check_some(dg, MT_PAYLOAD_DIGEST_MAX, "digest-hostile");

	mt_buf_init(&b, MT_PAYLOAD_MAX);
	ok(mt_payload_render_digest(&b, MT_PAYLOAD_SLACK, dg, 1) == -EINVAL &&
		   mt_payload_render_digest(&b, MT_PAYLOAD_SLACK, dg, MT_PAYLOAD_DIGEST_MAX + 1) ==
			   -EINVAL &&
		   mt_payload_render_digest(&b, MT_PAYLOAD_JSON, dg, 2) == -EINVAL &&
		   mt_payload_render_digest(&b, MT_PAYLOAD_ALERTMANAGER, dg, 2) == -EINVAL &&
		   b.len == 0,
	   "digest: -EINVAL for 1 or too many notifications, json, alertmanager; out unchanged");
	ok(!mt_payload_has_digest(MT_PAYLOAD_JSON) &&
		   !mt_payload_has_digest(MT_PAYLOAD_ALERTMANAGER) &&
		   mt_payload_has_digest(MT_PAYLOAD_SLACK) &&
		   mt_payload_has_digest(MT_PAYLOAD_TEAMS) &&
		   mt_payload_has_digest(MT_PAYLOAD_DISCORD) &&
		   mt_payload_has_digest(MT_PAYLOAD_MATTERMOST),
	   "the chat formats have a digest, json and alertmanager do not");
	mt_buf_fini(&b);
}

int
main(int argc, char **argv)
{
	const char *paths[1];
	const struct mt_signature *sig;
	struct mt_catalog *cat;
	struct mt_diag d;
	char *big;

	if (argc < 2) {
		fprintf(stderr, "usage: test_payload SIGNATURES-DIR [OUT-DIR]\n");
		return 2;
	}
	outdir = argc > 2 ? argv[2] : NULL;
	paths[0] = argv[1];
	mt_diag_init(&d);
	cat = mt_catalog_load(paths, 1, &d);
	sig = mt_catalog_find(cat, SIG_ID);
	if (!ok(sig != NULL, "catalog has " SIG_ID)) {
		mt_diag_fini(&d);
		mt_catalog_free(cat);
		return tap_done();
	}

	const char *examples[MT_GROUP_EXAMPLES_MAX] = {
		"Mar  3 10:15:42 mx1 postfix/smtp[24311]: 4F2A81C0E5B: to=<ops@example.net>, "
		"relay=mx.example.net[203.0.113.25]:25, delay=4.1, dsn=4.7.0, status=deferred (host "
		"mx.example.net[203.0.113.25] said: 421 4.7.0 Service not available, closing "
		"transmission channel (in reply to MAIL FROM command))",
	};
	const char *ids[3] = { "4F2A81C0E5B", "5A1B2C3D4E" };
	struct mt_group_field fields[3] = {
		{ "relay", "mx.example.net" },
		{ "relay_ip", "203.0.113.25" },
		{ "dsn", "4.7.0" },
	};
	struct mt_alert_group g = {
		.event = MT_GROUP_UPDATE,
		.sig = sig,
		.severity = MT_SEV_WARNING,
		.locale = MT_LOCALE_EN,
		.key_name = "relay",
		.key_value = "mx.example.net",
		.count_total = 42,
		.count_new = 7,
		.messages = 5,
		.destinations = 2,
		.repeats = 12,
		.first_seen = 1772532942.0, /* 2026-03-03T10:15:42Z */
		.last_seen = 1772533203.25,
		.examples = examples,
		.nexamples = 1,
		.queue_ids = ids,
		.nqueue_ids = 2,
		.fields = fields,
		.nfields = 3,
		.hostname = "monitor1",
		.log_host = "mx1",
		.file = "/var/log/mail.log",
	};

	test_names();
	check_all(&g, "plain");
	test_details(&g);
	test_verified(&g);
	test_layout(&g, cat);

	/* Each hostile line everywhere untrusted text goes. */
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct mt_alert_group h = g;
		struct mt_group_field hf[2] = { { "relay", hostile[i].text },
						{ "client", hostile[i].text } };
		const char *hids[2] = { hostile[i].text, "4F2A81C0E5B" };
		const char *hex[2] = { examples[0], hostile[i].text };

		h.key_value = hostile[i].text;
		h.key_name = "client";
		h.fields = hf, h.nfields = 2;
		h.queue_ids = hids, h.nqueue_ids = 2;
		h.examples = hex, h.nexamples = 2;
		h.hostname = hostile[i].text;
		h.log_host = hostile[i].text;
		h.file = hostile[i].text;
		h.severity = (enum mt_severity)(i % 4);
		h.event = (enum mt_group_event)(i % 5);
		check_all(&h, hostile[i].name);
	}

	/*
	 * Addresses and host names stay whole, so they copy as they are: only
	 * what would ping or link is broken (x@everyone still is).
	 */
	{
		static const char *const whole[] = { "bob@example.net", "mx.example.net",
						     "postmaster@mx-1.example.org" };
		struct mt_alert_group h = g;
		struct mt_group_field af[2] = { { "recipient", "bob@example.net" },
						{ "relay", "mx.example.net" } };
		const char *aex[1] = {
			"to=<postmaster@mx-1.example.org>, orig_to=<bob@example.net>, relay=mx.example.net, "
			"x@everyone"
		};

		h.fields = af, h.nfields = 2;
		h.examples = aex, h.nexamples = 1;
		h.key_name = "relay", h.key_value = "mx.example.net";
		for (int f = 0; f < MT_PAYLOAD__COUNT; f++) {
			const char *fname = mt_payload_format_name((enum mt_payload_format)f);
			struct mt_buf b;

			mt_buf_init(&b, MT_PAYLOAD_MAX);
			(void)mt_payload_render(&b, (enum mt_payload_format)f, &h);
			for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
				if (!ok(strstr(b.data, whole[i]) != NULL, "%s keeps %s whole",
					fname, whole[i]))
					diag("not found in: %.400s", b.data);
			if (f != MT_PAYLOAD_JSON)
				ok(strstr(b.data, "@everyone") == NULL, "%s breaks x@everyone",
				   fname);
			mt_buf_fini(&b);
		}
	}

	/* A 100 KB line of mentions and links, and the most of everything. */
	big = malloc(BIG_LINE + 1);
	if (big == NULL)
		return 2;
	for (size_t i = 0; i < BIG_LINE; i++)
		big[i] = "@everyone [x](http://evil.example) <!channel> \xe2\x80\xae"[i % 49];
	big[BIG_LINE] = '\0';
	{
		struct mt_alert_group h = g;
		const char *bex[MT_GROUP_EXAMPLES_MAX] = { big, big, big, big, big };
		const char *bids[MT_GROUP_IDS_MAX] = { big, big, big, big, big,
						       big, big, big, big, big };
		struct mt_group_field bf[8] = {
			{ "a", big }, { "b", big }, { "c", big }, { "d", big },
			{ "e", big }, { "f", big }, { "g", big }, { "h", big },
		};

		h.key_value = big;
		h.examples = bex, h.nexamples = MT_GROUP_EXAMPLES_MAX;
		h.queue_ids = bids, h.nqueue_ids = MT_GROUP_IDS_MAX;
		h.fields = bf, h.nfields = 8;
		h.hostname = big;
		h.log_host = big;
		h.file = big;
		h.count_total = UINT64_MAX;
		h.count_new = UINT64_MAX - 1;
		h.first_seen = -5;
		h.last_seen = 1e300;
		check_all(&h, "big");
		h.locale = MT_LOCALE_ZH;
		h.event = MT_GROUP_RESOLVED;
		check_all(&h, "big-zh");
	}
	free(big);

	mt_diag_fini(&d);
	mt_catalog_free(cat);
	return tap_done();
}
