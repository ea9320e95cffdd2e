#!/usr/bin/env python3
"""Render webhook payloads as HTML that approximates each chat client (stdlib only).

Usage: render_chat.py OUT-DIR FILE.json...   (FILE named <format>-<case>.json)

Writes OUT-DIR/<format>-<case>.html for the chat formats (slack, teams,
discord, mattermost): a phone-width page laid out the way the client shows
the message, so a person (or a headless browser's screenshot) can see where
the fix lands.  Approximations, not the clients: Slack's mrkdwn and its
"Show more" on long attachment text (over 700 characters or 5 lines),
Teams' Adaptive Card with Action.ShowCard collapsed, Discord's content plus
embed, Mattermost's text plus attachment.  Text is HTML-escaped before any
markup is applied, so the page shows what the client would show.
"""

import html
import json
import os
import re
import sys

CSS = """
body { margin: 0; background: #fff; font: 15px/1.45 -apple-system, "Segoe UI", Roboto,
       "DejaVu Sans", sans-serif, "Noto Color Emoji"; color: #1d1c1d; }
.app { padding: 8px 10px; }
.bar { font-weight: 700; padding: 8px 10px; color: #fff; }
.msg { display: flex; gap: 8px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #4a154b; flex: none; }
.name { font-weight: 700; } .time { color: #888; font-size: 12px; margin-left: 6px; }
.body { min-width: 0; flex: 1; }
pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f6;
      border: 1px solid #ddd; border-radius: 4px; padding: 6px; margin: 4px 0;
      font: 12.5px/1.35 "DejaVu Sans Mono", monospace; }
code { background: #f1f1f1; border: 1px solid #e2e2e2; border-radius: 3px; padding: 0 2px;
       font: 12.5px "DejaVu Sans Mono", monospace; color: #c01343; word-break: break-word; }
.block { margin: 4px 0; word-wrap: break-word; }
.ctx { color: #616061; font-size: 12px; }
.att { border-left: 4px solid #ccc; padding: 2px 0 2px 10px; margin: 6px 0; }
.more { color: #1264a3; cursor: pointer; }
details > summary { list-style: none; } details > summary::-webkit-details-marker { display: none; }
a { color: #1264a3; text-decoration: none; }
/* Teams */
.teams { background: #f5f5f5; } .card { background: #fff; border-radius: 6px;
  box-shadow: 0 1px 3px rgba(0,0,0,.2); padding: 12px; margin: 6px 0; }
.card .tb { margin: 6px 0; } .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px;
  white-space: pre-wrap; word-break: break-word; }
.btn { display: inline-block; border: 1px solid #c8c8c8; border-radius: 4px; padding: 5px 10px;
  margin: 8px 6px 0 0; font-weight: 600; color: #242424; background: #fff; }
.c-Attention { color: #c4314b; } .c-Warning { color: #835c00; } .c-Good { color: #237b4b; }
.c-Accent { color: #115ea3; }
.fact { display: flex; gap: 10px; } .fact b { min-width: 70px; }
/* Discord */
.discord { background: #313338; color: #dbdee1; } .discord .avatar { background: #5865f2;
  border-radius: 50%; } .discord code, .discord pre { background: #2b2d31; border-color: #1e1f22;
  color: #dbdee1; } .embed { background: #2b2d31; border-left: 4px solid; border-radius: 4px;
  padding: 8px 12px; margin: 4px 0; } .embed .t { font-weight: 700; color: #00a8fc; }
.fields { display: flex; flex-wrap: wrap; gap: 6px 14px; } .field { min-width: 40%; }
.field.full { flex-basis: 100%; } .field .n { font-weight: 700; font-size: 13px; }
.foot { font-size: 12px; color: #949ba4; margin-top: 6px; }
/* Mattermost */
.mm .avatar { background: #1e325c; border-radius: 50%; } .mm .att { border-left-width: 5px; }
.mmf { display: flex; flex-wrap: wrap; gap: 6px 14px; } .mmf > div { min-width: 40%; }
.mmf > div.full { flex-basis: 100%; }
"""


def esc(s):
    return html.escape(s, quote=False)


def inline_md(t, bold):
    """Escaped text with code spans, bold (bold marker) and links, no block structure."""
    spans = []

    def keep(m):
        spans.append("<code>%s</code>" % esc(m.group(0)[1:-1]))
        return "\x00%d\x00" % (len(spans) - 1)

    p = esc(re.sub(r"`[^`\n]*`", keep, t))
    if bold == "*":
        p = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", p)
        p = re.sub(r"&lt;(https?://[^|&]+?)\|([^&]*?)&gt;", r'<a href="\1">\2</a>', p)
    else:
        p = re.sub(r"\*\*([^*\n]+)\*\*", r"<b>\1</b>", p)
        p = re.sub(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)", r'<a href="\2">\1</a>', p)
    p = re.sub(r"(?<![\w])_([^_\n]+)_(?![\w])", r"<i>\1</i>", p)
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], p)


def md(t, bold):
    """Markdown-ish text to HTML: fenced code blocks, then inline markup, newlines as <br>."""
    out = []
    for i, part in enumerate(re.split(r"```\n?(.*?)\n?```\n?", t, flags=re.S)):
        if i % 2:
            out.append("<pre>%s</pre>" % esc(part))
        else:
            out.append(inline_md(part, bold).replace("\n", "<br>"))
    h = "".join(out)
    if bold == "*":  # Slack's entities in the text show as the characters
        for ent in ("lt;", "gt;", "amp;"):
            h = h.replace("&amp;" + ent, "&" + ent)
    return h


def page(title, cls, inner):
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width'><title>%s</title>"
            "<style>%s</style></head><body class='%s'>%s</body></html>" %
            (esc(title), CSS, cls, inner))


def header(name, color, bar_text):
    return ("<div class='bar' style='background:%s'>%s</div><div class='app'><div class='msg'>"
            "<div class='avatar'></div><div class='body'><div><span class='name'>%s</span>"
            "<span class='time'>10:20</span></div>" % (color, esc(bar_text), esc(name)))


def collapsed(text, bold, lines=5, chars=700):
    """Slack's attachment text: the first lines shown, the rest behind "Show more"."""
    if len(text) <= chars and text.count("\n") < lines:
        return md(text, bold)
    cut = text[:chars]
    nl = [m.start() for m in re.finditer("\n", cut)]
    if len(nl) >= lines:
        cut = cut[:nl[lines - 1]]
    if cut.count("```") % 2:  # do not show half a code block
        cut = cut[:cut.rfind("```")]
    return ("%s<details><summary class='more'>Show more</summary>%s</details>" %
            (md(cut, bold), md(text[len(cut):], bold)))


def slack(doc):
    h = header("mtalert  APP", "#3f0e40", "# mail-alerts")
    for b in doc.get("blocks", []):
        t = b.get("type")
        if t == "section" and "text" in b:
            h += "<div class='block'>%s</div>" % md(b["text"]["text"], "*")
        if t == "section" and "fields" in b:
            h += "<div class='fields'>%s</div>" % "".join(
                "<div class='field'>%s</div>" % md(f["text"], "*") for f in b["fields"])
        if t == "header":
            h += "<div class='block'><b>%s</b></div>" % esc(b["text"]["text"])
        if t == "context":
            h += "<div class='block ctx'>%s</div>" % " ".join(
                md(e.get("text", ""), "*") for e in b["elements"])
    for a in doc.get("attachments", []):
        h += "<div class='att' style='border-color:%s'>%s</div>" % (
            a.get("color", "#ccc"), collapsed(a.get("text", ""), "*"))
    return page("slack", "slack", h + "</div></div></div>")


def teams_inlines(e):
    out = []
    for r in e.get("inlines", []):
        s = esc(r.get("text", ""))
        style = ""
        if r.get("weight") == "Bolder":
            s = "<b>%s</b>" % s
        if r.get("size") == "Medium":
            style = " style='font-size:17px'"
        cls = "c-%s" % r["color"] if r.get("color") else ""
        if r.get("fontType") == "Monospace":
            cls += " mono"
        out.append("<span class='%s'%s>%s</span>" % (cls, style, s))
    return "<div class='tb'%s>%s</div>" % (
        " style='border-top:1px solid #ddd;padding-top:6px'" if e.get("separator") else "",
        "".join(out))


def teams_body(body):
    h = ""
    for e in body:
        t = e.get("type")
        if t == "TextBlock":
            style = "font-weight:700;" if e.get("weight") == "Bolder" else ""
            if e.get("size") == "Medium":
                style += "font-size:17px;"
            if e.get("isSubtle"):
                style += "color:#666;"
            # Markdown: a single line break joins lines, a blank line breaks them.
            text = re.sub(r"(?<!\n)\n(?!\n)", " ", e.get("text", ""))
            h += "<div class='tb %s' style='%s'>%s</div>" % (
                "c-%s" % e["color"] if e.get("color") else "", style,
                md(re.sub(r"\n\n+", "\n", text), "**"))
        elif t == "RichTextBlock":
            h += teams_inlines(e)
        elif t == "FactSet":
            h += "".join("<div class='fact'><b>%s</b><span>%s</span></div>" %
                         (esc(f["title"]), md(f["value"], "**")) for f in e.get("facts", []))
    return h


def teams(doc):
    c = doc["attachments"][0]["content"]
    h = ("<div class='bar' style='background:#464775'>Mail alerts · Workflows</div>"
         "<div class='app'><div class='card'>" + teams_body(c.get("body", [])))
    for a in c.get("actions", []):
        if a.get("type") == "Action.ShowCard":
            h += ("<details><summary class='btn'>%s ⌄</summary>%s</details>" %
                  (esc(a["title"]), teams_body(a["card"].get("body", []))))
        elif a.get("type") == "Action.OpenUrl":
            h += "<a class='btn' href='%s'>%s</a>" % (esc(a["url"]), esc(a["title"]))
    return page("teams", "teams", h + "</div></div>")


def discord(doc):
    h = header("mtalert  BOT", "#1e1f22", "# mail-alerts")
    h += "<div class='block'>%s</div>" % md(doc.get("content", ""), "**")
    for e in doc.get("embeds", []):
        h += "<div class='embed' style='border-color:#%06x'>" % e.get("color", 0)
        if e.get("title"):
            t = esc(e["title"])
            if e.get("url"):
                t = "<a href='%s' style='color:inherit'>%s</a>" % (esc(e["url"]), t)
            h += "<div class='t'>%s</div>" % t
        if e.get("description"):
            h += "<div class='block'>%s</div>" % md(e["description"], "**")
        h += "<div class='fields'>%s</div>" % "".join(
            "<div class='field%s'><div class='n'>%s</div>%s</div>" %
            ("" if f.get("inline") else " full", esc(f["name"]), md(f["value"], "**"))
            for f in e.get("fields", []))
        if e.get("footer"):
            h += "<div class='foot'>%s</div>" % esc(e["footer"]["text"])
        h += "</div>"
    return page("discord", "discord", h + "</div></div></div>")


def mattermost(doc):
    h = header("mtalert  BOT", "#1e325c", "~ mail-alerts").replace("class='msg'",
                                                                     "class='msg mm'")
    h += "<div class='block'>%s</div>" % md(doc.get("text", ""), "**")
    for a in doc.get("attachments", []):
        h += "<div class='att' style='border-color:%s'>" % a.get("color", "#ccc")
        if a.get("title"):
            h += "<div><b>%s</b></div>" % esc(a["title"])
        h += "<div class='block'>%s</div>" % md(a.get("text", ""), "**")
        h += "<div class='mmf'>%s</div>" % "".join(
            "<div class='%s'><b>%s</b><br>%s</div>" %
            ("" if f.get("short") else "full", esc(f["title"]), md(f["value"], "**"))
            for f in a.get("fields", []))
        if a.get("footer"):
            h += "<div class='foot ctx'>%s</div>" % esc(a["footer"])
        h += "</div>"
    return page("mattermost", "mm", h + "</div></div></div>")


RENDER = {"slack": slack, "teams": teams, "discord": discord, "mattermost": mattermost}


def render_file(path, out_dir):
    """Write the HTML of one payload file; returns the path written, or None."""
    fmt = os.path.basename(path).partition("-")[0]
    if fmt not in RENDER:
        return None
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    out = os.path.join(out_dir, os.path.basename(path)[:-5] + ".html")
    with open(out, "w", encoding="utf-8") as f:
        f.write(RENDER[fmt](doc))
    return out


def main():
    if len(sys.argv) < 3:
        print("usage: render_chat.py OUT-DIR FILE.json...", file=sys.stderr)
        return 2
    os.makedirs(sys.argv[1], exist_ok=True)
    for p in sys.argv[2:]:
        out = render_file(p, sys.argv[1])
        if out:
            print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
