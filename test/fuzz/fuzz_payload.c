/*
 * Fuzz the webhook payload renderers: the input becomes the log text of an
 * alert group (first byte: event, locale, severity; then NUL-separated key
 * value, example lines, queue ids, field values, host and file).  Every
 * format must render valid JSON in valid UTF-8 without raw control
 * characters, and no chat format may let an '@' that could start a mention
 * through without the zero-width space that stops it (an address's '@'
 * stays whole), nor a Markdown link or a Slack special.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alert/alert_group.h"
#include "alert/payload.h"
#include "match/catalog.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/json.h"

#define INPUT_MAX  (64 * 1024)
#define PIECES_MAX 13
#define DEPTH_MAX  32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The @ of an address (after its local part, not before a broadcast word)
 * may stay whole: it pings nobody and the address copies as it is.
 */
static bool
address_at(const char *start, const char *q)
{
	static const char *const broadcast[] = { "everyone", "here", "channel", "all" };
	unsigned char prev = q > start ? (unsigned char)q[-1] : ' ';
	bool local = (prev | 0x20) >= 'a' && (prev | 0x20) <= 'z';

	local = local || (prev >= '0' && prev <= '9') || (prev != '\0' && strchr("._-+%=", prev));
	for (size_t i = 0; local && i < sizeof(broadcast) / sizeof(broadcast[0]); i++)
		if (strncasecmp(q + 1, broadcast[i], strlen(broadcast[i])) == 0)
			return false;
	return local;
}

/* Our own text holds no '@', "](" or "<!", so any in the output came from the input. */
static const char sig_yaml[] =
	"id: fuzz/smtp-421-test\n"
	"title: Remote server answered 421\n"
	"signature: 421 Service not available\n"
	"signature_zh: 421 服务不可用\n"
	"regex: '421 (?<text>.*)'\n"
	"domain: network\n"
	"category: network_error\n"
	"root_cause: The remote server closes the session (RFC 5321).\n"
	"root_cause_zh: 远端服务器关闭会话。\n"
	"workarounds:\n"
	"  - action: Let the MTA retry\n"
	"    success_rate: 0.85\n"
	"  - action: Reduce concurrency\n"
	"    success_rate: 0.8\n"
	"dead_ends:\n"
	"  - action: Flush the queue repeatedly\n"
	"    why_fails: It looks like more pressure.\n"
	"    fail_rate: 0.9\n"
	"official_doc_url: https://www.rfc-editor.org/rfc/rfc5321#section-4.2.3\n"
	"severity: warning\n";

static struct mt_catalog *cat;

/* A minimal JSON validator: returns the end of the value at p, or NULL. */
static const char *value(const char *p, const char *end, int depth);

static const char *
ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

static const char *
string(const char *p, const char *end)
{
	if (p >= end || *p++ != '"')
		return NULL;
	while (p < end && *p != '"') {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (++p >= end)
				return NULL;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (p + i >= end ||
					    !strchr("0123456789abcdefABCDEF", p[i]) || p[i] == '\0')
						return NULL;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || *p == '\0') {
				return NULL;
			}
		}
		p++;
	}
	return p < end ? p + 1 : NULL;
}

static const char *
container(const char *p, const char *end, int depth, char close, bool object)
{
	p = ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (object) {
			if ((p = string(ws(p, end), end)) == NULL)
				return NULL;
			p = ws(p, end);
			if (p >= end || *p++ != ':')
				return NULL;
		}
		if ((p = value(p, end, depth + 1)) == NULL)
			return NULL;
		p = ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		return p < end && *p == close ? p + 1 : NULL;
	}
}

static const char *
value(const char *p, const char *end, int depth)
{
	if (depth > DEPTH_MAX)
		return NULL;
	p = ws(p, end);
	if (p >= end)
		return NULL;
	switch (*p) {
	case '{':
		return container(p, end, depth, '}', true);
	case '[':
		return container(p, end, depth, ']', false);
	case '"':
		return string(p, end);
	default:
		break;
	}
	if (end - p >= 4 && (memcmp(p, "true", 4) == 0 || memcmp(p, "null", 4) == 0))
		return p + 4;
	if (end - p >= 5 && memcmp(p, "false", 5) == 0)
		return p + 5;
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		while (p < end && strchr("+-.eE0123456789", *p) && *p != '\0')
			p++;
		return p;
	}
	return NULL;
}

static void
check(const struct mt_buf *b, enum mt_payload_format f)
{
	const char *end = b->data + b->len, *p;

	if ((p = value(b->data, end, 0)) == NULL || ws(p, end) != end)
		abort(); /* not one JSON value */
	for (size_t i = 0; i < b->len;) {
		unsigned char c = (unsigned char)b->data[i];
		size_t n = mt_utf8_seq((const unsigned char *)b->data + i, b->len - i);

		if (n == 0 || c < 0x20 || c == 0x7f)
			abort();
		i += n;
	}
	if (f == MT_PAYLOAD_JSON)
		return; /* log text is only JSON-escaped there, by design */
	if (f == MT_PAYLOAD_TEAMS && b->len > MT_PAYLOAD_TEAMS_MAX)
		abort();
	for (const char *q = b->data; (q = strchr(q, '@')) != NULL; q++)
		if (strncmp(q + 1, "\xe2\x80\x8b", 3) != 0 && !address_at(b->data, q))
			abort(); /* a mention could form */
	if (strstr(b->data, "](") || strstr(b->data, "<!") || strstr(b->data, "\xe2\x80\xae"))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *piece[PIECES_MAX] = { 0 };
	struct mt_group_field fields[2];
	struct mt_alert_group g;
	char *text;
	size_t np = 0;

	if (cat == NULL) {
		struct mt_diag d;

		mt_diag_init(&d);
		cat = mt_catalog_load_buffer("fuzz.yaml", sig_yaml, sizeof(sig_yaml) - 1, &d);
		mt_diag_fini(&d);
		if (mt_catalog_count(cat) != 1)
			abort();
	}
	if (size < 1 || size > INPUT_MAX)
		return 0;
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	for (char *p = text; np < PIECES_MAX; np++) {
		piece[np] = p;
		p += strlen(p);
		if (p >= text + size - 1)
			break;
		p++;
	}

	memset(&g, 0, sizeof(g));
	g.sig = mt_catalog_get(cat, 0);
	g.event = (enum mt_group_event)(data[0] % 5);
	g.locale = data[0] & 0x08 ? MT_LOCALE_ZH : MT_LOCALE_EN;
	g.severity = (enum mt_severity)((data[0] >> 4) & 3);
	g.key_name = data[0] & 0x40 ? "relay" : NULL;
	g.key_value = g.key_name ? piece[0] : NULL;
	g.count_total = 1000;
	g.count_new = 17;
	g.first_seen = 1772532942.5;
	g.last_seen = 1772533203;
	g.examples = piece + 1;
	g.nexamples = np >= 5 ? 5 : np; /* NULL entries past the last piece are allowed */
	g.queue_ids = piece + 6;
	g.nqueue_ids = 3;
	fields[0] = (struct mt_group_field){ "relay_ip", piece[9] };
	fields[1] = (struct mt_group_field){ "dsn", piece[10] };
	g.fields = fields;
	g.nfields = 2;
	g.hostname = piece[11];
	g.log_host = piece[11];
	g.file = piece[12];

	for (int f = 0; f < MT_PAYLOAD__COUNT; f++) {
		struct mt_buf b;

		mt_buf_init(&b, MT_PAYLOAD_MAX);
		if (mt_payload_render(&b, (enum mt_payload_format)f, &g) != 0)
			abort(); /* everything fits in MT_PAYLOAD_MAX */
		check(&b, (enum mt_payload_format)f);
		mt_buf_fini(&b);
	}
	/* A digest of the group beside itself resolved and as the other events. */
	{
		struct mt_alert_group dg[3] = { g, g, g };
		const struct mt_alert_group *dp[3] = { &dg[0], &dg[1], &dg[2] };

		dg[1].event = MT_GROUP_RESOLVED;
		dg[2].event = (enum mt_group_event)((g.event + 1) % 5);
		dg[2].key_name = NULL, dg[2].key_value = NULL;
		for (int f = 0; f < MT_PAYLOAD__COUNT; f++) {
			struct mt_buf b;
			int r;

			mt_buf_init(&b, MT_PAYLOAD_MAX);
			r = mt_payload_render_digest(&b, (enum mt_payload_format)f, dp, 3);
			if (r != (mt_payload_has_digest((enum mt_payload_format)f) ? 0 : -EINVAL))
				abort();
			if (r == 0)
				check(&b, (enum mt_payload_format)f);
			mt_buf_fini(&b);
		}
	}
	free(text);
	return 0;
}
