/*
 * payload - the HTTP bodies a webhook sink POSTs for one alert group.
 *
 * mt_payload_render() turns one struct mt_alert_group (alert_group.h) into
 * the JSON body of a generic webhook, a Slack, Mattermost, Microsoft Teams
 * (workflow "post a message with an Adaptive Card") or Discord incoming
 * webhook, or an Alertmanager POST /api/v2/alerts request.  It is pure: no
 * I/O, no clock (every time comes from the group), no allocation that
 * outlives the call.  It appends to out; on failure out is left as it was.
 * Give out a cap of MT_PAYLOAD_MAX: every format fits in it.
 *
 * Untrusted text.  Example lines, the key value, queue ids and field values
 * were written by remote servers; the log file name and host name are
 * treated the same way.  In every format they are capped (MT_GROUP_TEXT_MAX
 * bytes, cut on a character boundary, then the format's own limits) and
 * JSON-escaped.  In the chat formats and Alertmanager (whose annotations end
 * up in chat through its templates) they are also:
 *  - cleaned: control characters, bytes that are not UTF-8 and invisible or
 *    bidirectional format characters (U+202E, U+200B, ...) are shown as
 *    escapes (\e, \x1b, \xff, \u202e);
 *  - defanged: a ZERO WIDTH SPACE (U+200B) follows every '@' and '<' (no
 *    @here, @channel, @all, @everyone, <@id>, <#id>, <!here>), the ':' of
 *    "://", the ']' of "](" and the "www" of "www." (no link, image or
 *    autolink from log text);
 *  - put in code spans or blocks (Slack, Mattermost, Discord) with their
 *    backticks replaced by U+02CB, or in Adaptive Card TextRuns (Teams),
 *    which are never parsed as Markdown;
 *  - for Slack, entity-escaped (& < > as &amp; &lt; &gt;), the escaping
 *    Slack's own parser needs in every text;
 * and Discord's allowed_mentions is empty.  Catalog text (title, root
 * cause, workarounds, dead ends) is ours: it keeps its formatting, and is
 * entity-escaped for Slack.  The generic "json" format carries log text
 * only JSON-escaped (invalid bytes as \\xHH, see json.h): it is a data model,
 * and a consumer that displays it must escape it for its own markup.
 *
 * What a person reads (the chat formats), in this order, for a phone:
 *  1. one line: what, where and how many: the severity's emoji, the event
 *     (but for a FIRST), the title, the host the log line names (else the
 *     host mtalert runs on), the group key ("relay mx.example.net"), the
 *     count;
 *  2. the fix: the best ranked workaround (conditions are prose nothing
 *     here can decide, so the first one, its condition under it) with its
 *     command ("how") in a code block;
 *  3. the cause: the root cause's first sentence;
 *  4. the rest (full root cause, the other workarounds, the dead ends, the
 *     times, queue ids, fields and lines): collapsed where the chat can:
 *     Slack puts it in a secondary attachment, whose text Slack folds behind
 *     "Show more" past 700 characters or 5 lines (Block Kit has no
 *     collapsible block for webhooks); Teams in the card of an
 *     Action.ShowCard button.  Discord and Mattermost cannot collapse: there
 *     each part is trimmed to a sentence (the second fix, the top dead end)
 *     and `mtalertd show ID` prints the whole record.
 * A RESOLVED notice is that first line only ("✅ Resolved: title · host ·
 * key · 42 in all, quiet since 10:20:03 UTC").  A digest
 * (mt_payload_render_digest) is one message: a head line ("🟠 3 alerts at
 * once: 2 New, 1 Resolved"), then per notification its first line, its fix
 * and its `mtalertd show ID`.
 *
 * Limits kept (on overflow a text ends with "…"; if a whole payload is over
 * its limit it is rendered again with less log text, then none):
 *  - Slack: section text 3000, <= 50 blocks (we use at most 11), the
 *    attachment's text 6000 (ours; Slack's own limit is far higher);
 *  - Mattermost: text 4000 chars, attachment text 6000;
 *  - Teams: the whole body under MT_PAYLOAD_TEAMS_MAX bytes;
 *  - Discord: content 2000, title 256, description 4096, <= 25 fields of
 *    name 256 and value 1024, footer 2048, all embed text <= 6000;
 *  - Alertmanager: label names [a-zA-Z_][a-zA-Z0-9_]*, values valid UTF-8.
 * Lengths are counted in UTF-16 code units, the strictest count in use.
 *
 * The generic JSON ("json", version 1):
 *   { "version": 1, "event": "first"|"update"|"reminder"|"resolved"|"flush",
 *     "severity": effective severity, "locale": "en"|"zh",
 *     "signature": { "id", "title", "signature", "severity" (the catalog's),
 *       "domain", "category", "error_code", "root_cause",
 *       "workarounds": [ { "rank", "action", "how"?, "success_rate",
 *                          "condition"? } ],          in rank order
 *       "dead_ends": [ { "action", "why_fails"?, "fail_rate" } ],
 *       "doc_url", "source_url" },                      absent strings: null
 *     "key": { "name", "value" } | null,
 *     "count_total", "count_new",
 *     "first_seen", "last_seen": RFC 3339 UTC ("2026-03-03T10:15:42Z"),
 *     "examples": [ line, ... ] (newest last), "queue_ids": [ ... ],
 *     "fields": { name: value, ... }, "hostname", "file" }
 *
 * Alertmanager: a one-element array.  labels: alertname (the last part of
 * the signature id made label-safe: "smtp_421_service_not_available"),
 * signature_id, severity, category, instance (host), the key (relay=...;
 * a name that is not label-safe or collides becomes key_<name>), job
 * "mtalert".  annotations: summary, description (root cause and the first
 * workaround), runbook_url, event, count, count_new, first_seen,
 * last_seen, example, queue_ids, file.  startsAt = first_seen; endsAt =
 * last_seen only for MT_GROUP_RESOLVED, otherwise absent, so Alertmanager
 * resolves the alert itself after its resolve_timeout unless it is posted
 * again: a sink must re-post live groups more often than that.
 *
 * Callable from any context; reentrant.
 */
#ifndef MT_PAYLOAD_H
#define MT_PAYLOAD_H

#include <stdbool.h>

#include "alert/alert_group.h"
#include "util/buf.h"

#define MT_PAYLOAD_MAX	      (64 * 1024) /* a cap for out that every format fits in */
#define MT_PAYLOAD_TEAMS_MAX  28000	  /* Teams rejects bodies over about 28 KB */
#define MT_PAYLOAD_DIGEST_MAX 10	  /* notifications in one digest message */

enum mt_payload_format {
	MT_PAYLOAD_JSON,
	MT_PAYLOAD_SLACK,
	MT_PAYLOAD_MATTERMOST,
	MT_PAYLOAD_TEAMS,
	MT_PAYLOAD_DISCORD,
	MT_PAYLOAD_ALERTMANAGER,
	MT_PAYLOAD__COUNT,
};

/*
 * Append the body for g to out.  Returns 0, -EINVAL (no signature, unknown
 * format) or -ENOBUFS (out's cap is too small even for a reduced body).
 */
int mt_payload_render(struct mt_buf *out, enum mt_payload_format f, const struct mt_alert_group *g);

/* Whether f has a digest: the chat formats do; json and alertmanager take one body each. */
bool mt_payload_has_digest(enum mt_payload_format f);
/*
 * Append one digest message listing gs[0..n), 2 <= n <= MT_PAYLOAD_DIGEST_MAX
 * notifications decided at one moment (a grouper batch, group.h): per
 * notification its first line and its fix, with the `mtalertd show ID`
 * that shows the rest.  -EINVAL for a format without a digest or a bad n.
 */
int mt_payload_render_digest(struct mt_buf *out, enum mt_payload_format f,
			     const struct mt_alert_group *const *gs, size_t n);

/*
 * An Alertmanager body of a firing alert (it ends in "}]" and has no
 * endsAt) made valid until ends_at, in place: Alertmanager then keeps the
 * alert active until that time whatever its resolve_timeout, the way
 * Prometheus keeps its alerts alive.  -EINVAL if body is not such a body,
 * -ENOBUFS past its cap.
 */
int mt_payload_alertmanager_valid_until(struct mt_buf *body, double ends_at);

/* "json", "slack", "mattermost", "teams", "discord", "alertmanager". */
int mt_payload_format_parse(const char *s, enum mt_payload_format *ret);
const char *mt_payload_format_name(enum mt_payload_format f);
const char *mt_payload_content_type(enum mt_payload_format f);

#endif
