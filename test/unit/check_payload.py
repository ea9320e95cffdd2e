#!/usr/bin/env python3
"""Check the webhook payloads test_payload wrote (stdlib only).

Usage: check_payload.py DIR

DIR holds <format>-<case>.json files.  Each must parse as JSON (strict
UTF-8), match its receiver's structure and limits, and, except the generic
"json" format (a data model, escaped by its consumer), contain no hostile
log text that still works: no mention, no link, no broken-out markup.
Prints TAP.
"""

import datetime
import json
import os
import re
import sys

ZWSP = "\u200b"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

# Text that must not appear in any rendered string of a chat payload.
NEEDLES = [
    "<!channel>", "<!here", "<!subteam", "<@U12345>", "<@123456789>", "<@&42>", "<#C123>",
    "<#99>", "<http://evil", "](http", "http://evil", "https://evil", "www.evil",
    "WWW.EVIL", "`code`", "<at>", "\u202e", "\u2066", "\u2028", "\u2029", "\ufeff", "\x1b",
]
MENTION = re.compile(r"@(everyone|here|channel|all)\b")

tap_n = 0
tap_failed = 0


def ok(cond, name, why=""):
    global tap_n, tap_failed
    tap_n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (tap_n, name))
    if not cond:
        tap_failed += 1
        if why:
            for line in str(why).splitlines()[:10]:
                print("# " + line)
    return cond


def strings(v, path="$"):
    """Every string value in v, with its JSON path."""
    if isinstance(v, str):
        yield path, v
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from strings(x, "%s[%d]" % (path, i))
    elif isinstance(v, dict):
        for k, x in v.items():
            yield from strings(x, "%s.%s" % (path, k))


def units(s):
    """Length in UTF-16 code units, the strictest count the receivers use."""
    return len(s.encode("utf-16-le")) // 2


def rfc3339(s):
    if not isinstance(s, str) or not RFC3339.match(s):
        return False
    try:
        datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def problems_hostile(doc, doc_url):
    """Hostile text left working, as a list of 'path: reason'."""
    out = []
    for path, s in strings(doc):
        if doc_url and s == doc_url:
            continue  # our own link target
        t = s.replace(doc_url, "") if doc_url else s
        for n in NEEDLES:
            if n in t:
                out.append("%s: %r in %r" % (path, n, t[:200]))
        m = MENTION.search(t)
        if m:
            out.append("%s: mention %r" % (path, m.group(0)))
        for ch in t:
            if ord(ch) < 0x20 and ch != "\n" or 0x7f <= ord(ch) <= 0x9f:
                out.append("%s: control U+%04X" % (path, ord(ch)))
                break
    return out


def check_slack(name, doc, doc_url):
    errs = []
    if not isinstance(doc.get("text"), str) or not 0 < units(doc["text"]) <= 3000:
        errs.append("text missing or over 3000")
    blocks = doc.get("blocks")
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return errs + ["blocks missing or over 50"]
    for i, b in enumerate(blocks):
        t = b.get("type")
        if t == "header":
            if b["text"].get("type") != "plain_text" or units(b["text"]["text"]) > 150:
                errs.append("block %d: header over 150 or not plain_text" % i)
        elif t == "section":
            if "text" in b:
                if b["text"].get("type") != "mrkdwn" or units(b["text"]["text"]) > 3000:
                    errs.append("block %d: section text over 3000" % i)
            if "fields" in b:
                if len(b["fields"]) > 10:
                    errs.append("block %d: over 10 fields" % i)
                for f in b["fields"]:
                    if f.get("type") != "mrkdwn" or units(f["text"]) > 2000:
                        errs.append("block %d: field over 2000" % i)
            if "text" not in b and "fields" not in b:
                errs.append("block %d: empty section" % i)
        elif t == "context":
            if not 0 < len(b.get("elements", [])) <= 10:
                errs.append("block %d: context elements" % i)
            for e in b["elements"]:
                if units(e.get("text", "")) > 2000:
                    errs.append("block %d: context text over 2000" % i)
        else:
            errs.append("block %d: unexpected type %r" % (i, t))
    # The details: one secondary attachment, collapsed by Slack behind "Show more".
    atts = doc.get("attachments", [])
    if len(atts) > 1:
        errs.append("more than one attachment")
    for a in atts:
        if not re.match(r"^#[0-9a-f]{6}$", a.get("color", "")):
            errs.append("attachment color")
        if a.get("mrkdwn_in") != ["text"] or not isinstance(a.get("fallback"), str):
            errs.append("attachment mrkdwn_in or fallback")
        if not isinstance(a.get("text"), str) or not 0 < units(a["text"]) <= 6000:
            errs.append("attachment text missing or over 6000")
        if set(a) - {"color", "mrkdwn_in", "fallback", "text"}:
            errs.append("attachment keys %r" % sorted(a))
    # mrkdwn: every < and > of log text is an entity; ours is the doc link only.
    link = "<%s|" % doc_url.replace("&", "&amp;") if doc_url else None
    for path, s in strings(doc):
        if path.endswith(".type") or "header" in path:
            continue
        t = s
        if link and link in t:
            t = re.sub(re.escape(link) + r"[^<>]*>", "", t)
        if "<" in t or ">" in t:
            errs.append("%s: raw < or > in mrkdwn: %r" % (path, t[:200]))
        if re.search(r"&(?!amp;|lt;|gt;)", t):
            errs.append("%s: bare & in mrkdwn" % path)
        if t.count("`") % 2:
            errs.append("%s: unbalanced backticks" % path)
    return errs


def check_mattermost(name, doc, doc_url):
    errs = []
    if doc.get("username") != "mtalert":
        errs.append("username")
    if not isinstance(doc.get("text"), str) or units(doc["text"]) > 4000:
        errs.append("text missing or over 4000")
    for a in doc.get("attachments", []):
        if not isinstance(a.get("fallback"), str):
            errs.append("attachment without fallback")
        if not re.match(r"^#[0-9a-f]{6}$", a.get("color", "")):
            errs.append("attachment color")
        if units(a.get("text", "")) > 6000:
            errs.append("attachment text over 6000")
        for f in a.get("fields", []):
            if not isinstance(f.get("short"), bool) or not isinstance(f.get("value"), str):
                errs.append("attachment field shape")
    for path, s in strings(doc):
        if s.count("```") % 2 or (s.replace("```", "").count("`") % 2):
            errs.append("%s: unbalanced code markup" % path)
    return errs


def check_teams(name, doc, doc_url, size):
    errs = []
    if size > 28000:
        errs.append("body %d bytes, over 28000" % size)
    if doc.get("type") != "message" or len(doc.get("attachments", [])) != 1:
        return errs + ["not a message with one attachment"]
    a = doc["attachments"][0]
    if a.get("contentType") != "application/vnd.microsoft.card.adaptive":
        errs.append("contentType")
    c = a.get("content", {})
    if c.get("type") != "AdaptiveCard" or c.get("version") != "1.4":
        errs.append("card type or version")
    if c.get("$schema") != "http://adaptivecards.io/schemas/adaptive-card.json":
        errs.append("$schema")
    if not isinstance(c.get("body"), list) or not c["body"]:
        return errs + ["empty body"]
    errs += teams_body(c["body"], "body")
    # Log text goes in TextRuns only; TextBlocks and facts are Markdown.
    for act in c.get("actions", []):
        t = act.get("type")
        if t == "Action.OpenUrl":
            if not str(act.get("url", "")).startswith("http"):
                errs.append("action url %r" % act.get("url"))
        elif t == "Action.ShowCard":
            card = act.get("card", {})
            if card.get("type") != "AdaptiveCard" or not isinstance(act.get("title"), str):
                errs.append("ShowCard without a card or title")
            errs += teams_body(card.get("body", []), "showcard")
        else:
            errs.append("action type %r" % t)
    return errs


def teams_body(body, where):
    errs = []
    if not isinstance(body, list) or not body:
        return ["%s: empty" % where]
    for i, e in enumerate(body):
        t = e.get("type")
        if t == "TextBlock":
            if not isinstance(e.get("text"), str):
                errs.append("%s %d: TextBlock without text" % (where, i))
        elif t == "FactSet":
            for f in e.get("facts", []):
                if not isinstance(f.get("title"), str) or not isinstance(f.get("value"), str):
                    errs.append("%s %d: fact shape" % (where, i))
        elif t == "RichTextBlock":
            for r in e.get("inlines", []):
                if r.get("type") != "TextRun" or not isinstance(r.get("text"), str):
                    errs.append("%s %d: inline not a TextRun" % (where, i))
        else:
            errs.append("%s %d: unexpected %r" % (where, i, t))
    return errs


def check_discord(name, doc, doc_url):
    errs = []
    if doc.get("allowed_mentions") != {"parse": []}:
        errs.append("allowed_mentions.parse is not []")
    if not isinstance(doc.get("content"), str) or units(doc["content"]) > 2000:
        errs.append("content over 2000")
    embeds = doc.get("embeds", [])
    if not 0 <= len(embeds) <= 10 or (not embeds and not doc.get("content")):
        return errs + ["embeds count"]
    total = 0
    for e in embeds:
        title = e.get("title", "")
        desc = e.get("description", "")
        if units(title) > 256:
            errs.append("title over 256")
        if units(desc) > 4096:
            errs.append("description over 4096")
        total += units(title) + units(desc)
        fields = e.get("fields", [])
        if len(fields) > 25:
            errs.append("over 25 fields")
        for f in fields:
            if not f.get("name") or not f.get("value"):
                errs.append("empty field name or value %r" % f)
            if units(f["name"]) > 256 or units(f["value"]) > 1024:
                errs.append("field over limits: %r" % f["name"])
            total += units(f["name"]) + units(f["value"])
        foot = e.get("footer", {}).get("text", "")
        if units(foot) > 2048:
            errs.append("footer over 2048")
        total += units(foot)
        if not isinstance(e.get("color"), int) or not 0 <= e["color"] <= 0xFFFFFF:
            errs.append("color")
        if "timestamp" in e and not rfc3339(e["timestamp"]):
            errs.append("timestamp %r" % e["timestamp"])
        if "url" in e and not e["url"].startswith(("http://", "https://")):
            errs.append("url")
    if total > 6000:
        errs.append("embed text %d, over 6000" % total)
    return errs


def check_alertmanager(name, doc, doc_url):
    errs = []
    if not isinstance(doc, list) or len(doc) != 1:
        return ["not a one-element array"]
    a = doc[0]
    extra = set(a) - {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
    if extra:
        errs.append("unexpected keys %r" % sorted(extra))
    labels = a.get("labels", {})
    for k in ("alertname", "signature_id", "severity", "job"):
        if not labels.get(k):
            errs.append("label %s missing" % k)
    for k, v in labels.items():
        if not LABEL_NAME.match(k) or k.startswith("__"):
            errs.append("label name %r" % k)
        if not isinstance(v, str) or v == "":
            errs.append("label %s value %r" % (k, v))
    if not LABEL_NAME.match(labels.get("alertname", "")):
        errs.append("alertname %r not label-safe" % labels.get("alertname"))
    for k, v in a.get("annotations", {}).items():
        if not isinstance(v, str):
            errs.append("annotation %s not a string" % k)
    if not rfc3339(a.get("startsAt")):
        errs.append("startsAt %r" % a.get("startsAt"))
    if "endsAt" in a and not rfc3339(a["endsAt"]):
        errs.append("endsAt %r" % a["endsAt"])
    for k in ("messages", "destinations", "repeats"):
        if not a.get("annotations", {}).get(k, "").isdigit():
            errs.append("annotation %s %r not a count" % (k, a.get("annotations", {}).get(k)))
        if k in a.get("labels", {}):
            errs.append("%s is a label: it would split the alert at every change" % k)
    if a.get("annotations", {}).get("event") == "resolved" and "endsAt" not in a:
        errs.append("resolved without endsAt")
    # A firing alert carries endsAt only as a validity deadline the sink sets
    # (mt_payload_alertmanager_valid_until): after the last occurrence.
    last = a.get("annotations", {}).get("last_seen")
    if (a.get("annotations", {}).get("event") != "resolved" and "endsAt" in a and
            not (rfc3339(a["endsAt"]) and rfc3339(last) and
                 datetime.datetime.fromisoformat(a["endsAt"].replace("Z", "+00:00")) >
                 datetime.datetime.fromisoformat(last.replace("Z", "+00:00")))):
        errs.append("firing with an endsAt not after its last occurrence")
    return errs


def check_json(name, doc, doc_url):
    errs = []
    for k in ("version", "event", "severity", "signature", "key", "count_total", "count_new",
              "messages", "destinations", "repeats",
              "first_seen", "last_seen", "examples", "queue_ids", "fields"):
        if k not in doc:
            errs.append("missing %s" % k)
    for k in ("messages", "destinations", "repeats"):
        if k in doc and not (isinstance(doc[k], int) and doc[k] >= 0):
            errs.append("%s %r not a count" % (k, doc[k]))
    sig = doc.get("signature", {})
    for k in ("id", "title", "root_cause", "workarounds", "dead_ends", "doc_url"):
        if k not in sig:
            errs.append("signature.%s missing" % k)
    rates = [w.get("success_rate") for w in sig.get("workarounds", [])]
    if rates != sorted(rates, reverse=True):
        errs.append("workarounds not in rank order")
    for k in ("first_seen", "last_seen"):
        if not rfc3339(doc.get(k)):
            errs.append("%s %r" % (k, doc.get(k)))
    if len(doc.get("examples", [])) > 5 or len(doc.get("queue_ids", [])) > 10:
        errs.append("too many examples or ids")
    for path, s in strings(doc):
        if len(s.encode()) > 6 * 1024 and not path.startswith("$.signature"):
            errs.append("%s: %d bytes of log text" % (path, len(s.encode())))
    return errs


def doc_url_of(fmt, doc):
    """The documentation URL the payload links to (ours, so allowed)."""
    if fmt == "slack":
        for _, s in strings(doc):
            m = re.search(r"<(https?://[^|>]+)\|", s)
            if m:
                return m.group(1).replace("&amp;", "&")
    if fmt == "mattermost":
        return doc["attachments"][0].get("title_link")
    if fmt == "discord":
        return doc["embeds"][0].get("url")
    if fmt == "teams":
        acts = doc["attachments"][0]["content"].get("actions", [])
        urls = [a["url"] for a in acts if a.get("type") == "Action.OpenUrl"]
        return urls[0] if urls else None
    if fmt == "alertmanager":
        return doc[0].get("annotations", {}).get("runbook_url")
    return None


TYPICAL_TITLE = "Remote server answered 421 Service not available"
TYPICAL_ID = "communication/smtp-421-service-not-available"
ROOT_CAUSE_TAIL = "comes and goes points to concurrency or rate limits"


def first_line(fmt, doc):
    """The first line a person sees of a chat message."""
    if fmt == "slack":
        return doc["blocks"][0]["text"]["text"]
    if fmt == "discord":
        return doc["content"]
    if fmt == "mattermost":
        return doc["text"].split("\n")[0]
    if fmt == "teams":
        e = doc["attachments"][0]["content"]["body"][0]
        return "".join(r["text"] for r in e["inlines"]) if "inlines" in e else e["text"]
    return ""


def visible(fmt, doc):
    """The text shown without a tap, in order (collapsed parts left out)."""
    if fmt == "slack":
        return "\n".join(s for _, s in strings(doc.get("blocks", [])))
    if fmt == "teams":
        return "\n".join(s for _, s in strings(doc["attachments"][0]["content"]["body"]))
    if fmt == "discord":
        return doc["content"] + "\n" + "\n".join(
            s for _, s in strings([{k: e.get(k) for k in ("title", "description", "fields")}
                                   for e in doc.get("embeds", [])]))
    return doc["text"] + "\n" + "\n".join(
        s for a in doc.get("attachments", []) for _, s in strings(a.get("text", "")))


def one_line_notice(fmt, doc):
    """A resolved notice: its line 1 and nothing else."""
    errs = []
    line = first_line(fmt, doc)
    shown = [s for p, s in strings(doc) if not p.endswith((".type", ".username", ".color"))
             and not p.startswith("$.allowed_mentions") and p != "$.text"]
    if "Resolved" not in line or "\n" in line:
        errs.append("resolved line 1: %r" % line)
    if (doc.get("attachments") if fmt in ("slack", "mattermost") else
            doc.get("embeds") if fmt == "discord" else
            doc["attachments"][0]["content"].get("actions") or
            len(doc["attachments"][0]["content"]["body"]) > 1):
        errs.append("a resolved notice is more than one line")
    if any("\n" in s for s in shown):
        errs.append("a resolved notice has a line break")
    return errs


def check_layout(fmt, case, doc):
    """What a person reads: line 1, then the fix with its command, then the cause."""
    errs = []
    if case == "typical":
        line = first_line(fmt, doc)
        for want in (TYPICAL_TITLE, "mx1", "mx.example.net", "42"):
            if want not in line:
                errs.append("line 1 lacks %r: %r" % (want, line))
        if "\n" in line or "monitor1" in line:
            errs.append("line 1 is not one line naming the log's host: %r" % line)
        v = visible(fmt, doc)
        fix, how, cause = (v.find("Fix:"), v.find("postconf -e 'minimal_backoff_time"),
                           v.find("Cause:"))
        if not 0 <= fix < how < cause:
            errs.append("not fix, its command, then the cause: at %d, %d, %d" % (fix, how, cause))
        if ROOT_CAUSE_TAIL in v:
            errs.append("the full root cause is shown uncollapsed")
        whole = "\n".join(s for _, s in strings(doc))
        if fmt in ("slack", "teams"):
            if ROOT_CAUSE_TAIL not in whole:
                errs.append("the full root cause is not in the collapsed part")
        elif "mtalertd show " + TYPICAL_ID not in v:
            errs.append("no mtalertd show pointer")
    elif case == "resolved":
        errs = one_line_notice(fmt, doc)
        if "mx1" not in first_line(fmt, doc):
            errs.append("resolved line 1 without the log's host")
    elif case == "digest":
        whole = "\n".join(s for _, s in strings(doc))
        for want in (TYPICAL_TITLE, "DMARC", "Resolved", "3 alerts",
                     "mtalertd show " + TYPICAL_ID, "mtalertd show provider/gmail-550-5-7-26"):
            if want not in whole:
                errs.append("digest lacks %r" % want)
        if fmt == "slack" and len(doc["blocks"]) != 4:
            errs.append("slack digest: %d blocks, want a head and 3" % len(doc["blocks"]))
    return errs


CHECKS = {
    "slack": check_slack,
    "mattermost": check_mattermost,
    "discord": check_discord,
    "alertmanager": check_alertmanager,
    "json": check_json,
}


def main():
    # As a meson test: render the payloads first with test_payload.
    #   check_payload.py DIR --render TEST_PAYLOAD SIGNATURES_DIR
    if len(sys.argv) == 5 and sys.argv[2] == "--render":
        import shutil
        import subprocess
        shutil.rmtree(sys.argv[1], ignore_errors=True)
        os.makedirs(sys.argv[1])
        subprocess.run([sys.argv[3], sys.argv[4], sys.argv[1]], stdout=subprocess.DEVNULL, check=True)
        # An HTML rendering of what each chat client shows, for a person to look at.
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import render_chat
        html_dir = os.path.join(sys.argv[1], "html")
        os.makedirs(html_dir)
        for case in ("typical", "resolved", "digest"):
            for fmt in render_chat.RENDER:
                render_chat.render_file(os.path.join(sys.argv[1], "%s-%s.json" % (fmt, case)),
                                        html_dir)
        print("# HTML renderings in %s" % html_dir)
        del sys.argv[2:]
    if len(sys.argv) != 2:
        print("usage: check_payload.py DIR", file=sys.stderr)
        return 2
    d = sys.argv[1]
    files = sorted(f for f in os.listdir(d) if f.endswith(".json"))
    if not ok(len(files) >= 6, "payload files found in %s" % d, "got %d files" % len(files)):
        print("1..%d" % tap_n)
        return 1
    seen = set()
    for f in files:
        fmt, _, case = f[:-5].partition("-")
        seen.add(fmt)
        raw = open(os.path.join(d, f), "rb").read()
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            ok(False, "%s parses" % f, e)
            continue
        ok(True, "%s parses" % f)
        try:
            url = doc_url_of(fmt, doc)
        except (KeyError, IndexError, TypeError, AttributeError):
            url = None
        if fmt == "teams":
            errs = check_teams(case, doc, url, len(raw))
        elif fmt in CHECKS:
            errs = CHECKS[fmt](case, doc, url)
        else:
            errs = ["unknown format %r" % fmt]
        ok(not errs, "%s structure and limits" % f, "\n".join(errs))
        if case in ("typical", "resolved", "digest") and fmt not in ("json", "alertmanager"):
            try:
                errs = check_layout(fmt, case, doc)
            except (KeyError, IndexError, TypeError) as e:
                errs = ["layout: %r" % e]
            ok(not errs, "%s reads in order: what, where, how many; the fix; the cause" % f,
               "\n".join(errs))
        if fmt != "json":
            errs = problems_hostile(doc, url)
            ok(not errs, "%s has no live hostile text" % f, "\n".join(errs))
    want = {"json", "slack", "mattermost", "teams", "discord", "alertmanager"}
    ok(seen == want, "every format present", "got %s" % sorted(seen))
    print("1..%d" % tap_n)
    return 1 if tap_failed else 0


if __name__ == "__main__":
    sys.exit(main())
