#!/usr/bin/env python3
"""Integration tests of the mtalertd tools, run on the real binary.

usage: test_cli.py MTALERTD SOURCE_ROOT CORPUS_DIR

Emits TAP.  Every check here could fail: each compares what the binary
printed with what the input files really hold.
"""
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
from tap import done, ok  # noqa: E402

MTALERTD, ROOT, CORPUS = sys.argv[1], sys.argv[2], sys.argv[3]
SIGS = os.path.join(ROOT, "signatures")




def run(*args, stdin=None, timeout=120):
    p = subprocess.run([MTALERTD, "-s", SIGS] + list(args), input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def corpus_files():
    out = []
    for d, _, files in os.walk(CORPUS):
        for f in files:
            if f.endswith(".log"):
                out.append(os.path.join(d, f))
    return sorted(out)


REQUIRED = ["id", "title", "severity", "category", "root_cause", "workarounds", "dead_ends",
            "doc_url", "captures", "fields", "mta", "file", "offset", "line_number", "line",
            "line_truncated", "also_matched"]


def parse_alerts(out):
    alerts = []
    for raw in out.split(b"\n"):
        if not raw:
            continue
        # The output must be plain ASCII/UTF-8 without raw control bytes.
        if any(b < 0x20 for b in raw):
            raise ValueError("raw control byte in output line: %r" % raw[:200])
        alerts.append(json.loads(raw.decode("utf-8")))
    return alerts


# 1. check: the shipped catalog and every example in it.
rc, out, err = run("check")
ok(rc == 0 and b"0 errors" in out, "check passes on the shipped catalog", out + err)
m = re.search(rb"checked (\d+) signatures", out)
nsigs = int(m.group(1)) if m else 0
ok(nsigs >= 16, "at least 16 signatures shipped (%d)" % nsigs)

# 2. check on a broken catalog: exit 78 and file:line:col.
with tempfile.TemporaryDirectory() as tmp:
    with open(os.path.join(tmp, "bad.yaml"), "w") as f:
        f.write("id: x/y\nsignature: s\nregex: '(unclosed'\ndomain: d\ncategory: c\n"
                "root_cause: r\nworkarounds: [{action: a, success_rate: 2}]\n")
    p = subprocess.run([MTALERTD, "check", "-s", tmp], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    ok(p.returncode == 78, "check on a bad catalog exits 78 (got %d)" % p.returncode)
    ok(b"bad.yaml:3:8: error: regex does not compile: at offset 9" in p.stderr,
       "regex error names file:line:col and offset", p.stderr)
    ok(b"bad.yaml:7:41: error: field 'success_rate' is 2" in p.stderr,
       "rate error names file:line:col", p.stderr)

# 3. scan every corpus file: valid JSON, offsets point at the very line.
total_alerts = 0
bad_offsets = []
bad_json = []
files = corpus_files()
for path in files:
    rc, out, err = run("scan", path)
    if rc != 0:
        bad_json.append("%s: exit %d %s" % (path, rc, err[:200]))
        continue
    try:
        alerts = parse_alerts(out)
    except ValueError as e:
        bad_json.append("%s: %s" % (path, e))
        continue
    data = open(path, "rb").read()
    for a in alerts:
        missing = [k for k in REQUIRED if k not in a]
        if missing:
            bad_json.append("%s: missing %s" % (path, missing))
            break
        off = a["offset"]
        # An Exim entry over several lines is one record: its lines joined by "\n".
        end = off
        for _ in range(a["line"].count("\n") + 1):
            end = data.find(b"\n", end + (end > off))
            if end < 0:
                break
        raw = data[off:end if end >= 0 else len(data)]
        # Invalid UTF-8 is rendered as \xHH, as Python's backslashreplace does.
        want = raw.rstrip(b"\r").decode("utf-8", "backslashreplace")
        if want != a["line"]:
            bad_offsets.append("%s@%d: %r != %r" % (path, off, want[:80], a["line"][:80]))
        if not a["workarounds"] or a["workarounds"][0]["rank"] != 1:
            bad_json.append("%s: workarounds not ranked" % path)
        rates = [w["success_rate"] for w in a["workarounds"]]
        if rates != sorted(rates, reverse=True):
            bad_json.append("%s: workarounds not in rank order %s" % (path, rates))
    total_alerts += len(alerts)
ok(not bad_json, "scan of %d corpus files: valid JSON with every field" % len(files),
   "\n".join(bad_json))
ok(not bad_offsets, "every alert's offset points at its line", "\n".join(bad_offsets[:10]))
ok(total_alerts > 50, "the corpus raises alerts (%d)" % total_alerts)

# 4. gzip input gives the same alerts as plain.
sample = os.path.join(CORPUS, "pixelpark-postfix-logsums", "helga-distinct.log")
with tempfile.TemporaryDirectory() as tmp:
    gz = os.path.join(tmp, "mail.log.2.gz")
    with open(sample, "rb") as src, gzip.open(gz, "wb") as dst:
        dst.write(src.read())
    _, plain, _ = run("scan", sample)
    rc, zipped, err = run("scan", gz)
    a1 = [(a["id"], a["line"], a["offset"]) for a in parse_alerts(plain)]
    a2 = [(a["id"], a["line"], a["offset"]) for a in parse_alerts(zipped)]
    ok(rc == 0 and a1 == a2 and len(a1) > 0, "rotated .gz scans like the plain file (%d alerts)"
       % len(a1), err)
    # Corrupt gzip: the good part is reported, then a clear error.
    blob = open(gz, "rb").read()
    with open(gz, "wb") as f:
        f.write(blob[: len(blob) // 2] + b"\x00garbage" * 100)
    rc, out, err = run("scan", gz)
    ok(rc == 65 and b"corrupt gzip" in err, "corrupt .gz is reported (exit %d)" % rc, err)

# 5. stdin.
rc, out, err = run("scan", "-", stdin=open(sample, "rb").read())
ok(rc == 0 and [(a["id"], a["line"]) for a in parse_alerts(out)] ==
   [(a["id"], a["line"]) for a in parse_alerts(plain)], "stdin scans like a file")

# Find a real line that matches, to wrap hostile input around it.
alerts = parse_alerts(plain)
probe = alerts[0]["line"] if alerts else ""
probe_id = alerts[0]["id"] if alerts else ""

# 6. a 10 MB line and binary garbage do not hide the lines after them.
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "hostile.log")
    with open(path, "wb") as f:
        f.write(probe.encode() + b"\n")
        f.write(b"x" * (10 * 1024 * 1024) + b"\n")
        f.write(bytes(b for b in range(256) if b != 10) * 64 + b"\n")
        f.write(b"\x00\x00\x00binary\x00" * 1000 + b"\n")
        f.write(probe.encode() + b"X" * 100000 + b"\n")
        f.write(probe.encode() + b"\n")
        f.write(probe.encode())  # no final newline
    rc, out, err = run("scan", path)
    got = parse_alerts(out)
    ok(rc == 0 and len(got) == 4, "10 MB line and binary blobs: 4 alerts, none lost (got %d)"
       % len(got), err)
    ok(len(got) == 4 and got[1]["line_truncated"] and got[1]["line_number"] == 5 and
       not got[2]["line_truncated"] and got[2]["line_number"] == 6 and got[3]["line_number"] == 7,
       "the over-long line is cut and flagged, the next lines are intact")

# 7. hostile text in a matching line: escaped, never raw.
hostile = probe + ' \x1b[31m"quoted" <!channel> \\ \xe9\xff\x00 end'
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "evil.log")
    with open(path, "wb") as f:
        f.write(hostile.encode("latin-1", "replace") + b"\n")
    rc, out, err = run("scan", path)
    try:
        got = parse_alerts(out)
        good = len(got) == 1 and "\\x1b" not in got[0]["line"] and "\x1b" in got[0]["line"] \
            and "\\xe9\\xff" in got[0]["line"] and b"\x1b" not in out
    except ValueError as e:
        good, got = False, str(e)
    ok(good, "control characters and invalid UTF-8 are escaped in JSON", got)
    rc, out, err = run("scan", "--format", "text", path)
    ok(rc == 0 and b"\x1b" not in out and b"\\e[31m" in out and b"\\xe9\\xff" in out,
       "text format cleans the line for the terminal", out[:500])

# 8. summary counts add up to the JSON alerts.
rc, out, _ = run("scan", *files)
by_id = {}
for a in parse_alerts(out):
    if "repeat_of" in a:
        continue  # restating lines: listed under their first cause, not counted
    by_id[a["id"]] = by_id.get(a["id"], 0) + 1
rc, summ, err = run("scan", "--summary", *files)
text = summ.decode()
counts = dict((m.group(2), int(m.group(1))) for m in
              re.finditer(r"^\s+(\d+)\s+\w+\s+.{32}\s+.{32}\s+(\S+)$", text, re.M))
ok(rc == 0 and counts == by_id, "summary counts equal the alerts per signature", text[:2000])
ok("fix (" in text and "e.g. " in text and "lines without a recognised header" in text,
   "summary shows an example line and the top workaround")

# 9. test explains a line; exit 1 when nothing matches.
if probe:
    rc, out, err = run("test", probe)
    ok(rc == 0 and ("MATCH " + probe_id).encode() in out and b"parsed as" in out,
       "test shows the match and the parsed fields", out)
rc, out, err = run("test", "Jan  1 00:00:00 host postfix/qmgr[1]: ABCDEF: removed")
ok(rc == 1 and b"no signature matches" in out, "test on a benign line exits 1")

# 10. list and show, in English and Chinese.
rc, out, err = run("list")
ok(rc == 0 and ("%d signatures" % nsigs).encode() in out, "list counts every signature")
seed = "communication/smtp-421-service-not-available"
rc, out, err = run("show", seed)
ok(rc == 0 and b"## Workarounds" in out and b"## Root Cause" in out and
   b"https://www.rfc-editor.org/rfc/rfc5321" in out, "show renders Markdown", out[:400])
rc, out, err = run("--locale", "zh", "show", seed)
ok(rc == 0 and "服务不可用".encode() in out, "show --locale zh uses the translation")
rc, out, err = run("show", "no/such-id")
ok(rc == 65 and b"no signature with id" in err, "show of an unknown id is an error")

# 11. a missing file is reported, the others still scanned.
rc, out, err = run("scan", "/nonexistent/mail.log", sample)
ok(rc == 66 and b"cannot open /nonexistent/mail.log" in err and len(parse_alerts(out)) == len(a1),
   "missing input: exit 66, other files still scanned")

# 12. benign lines raise nothing.
benign = [
    "Aug 11 03:30:58 mail postfix/smtp[9944]: 8ECF240F31: to=<aa@ezweb.ne.jp>, relay=lsean.ezweb.ne.jp[27.85.176.228]:25, delay=0.1, delays=0.04/0/0.02/0.03, dsn=2.0.0, status=sent (250 Ok: queued as 9FFCB76)",
    "Feb 11 16:49:24 letterman postfix/qmgr[8204]: AAB4D259B1: removed",
    "2023-03-14T00:00:31.296623+01:00 helga postfix/smtpd[297535]: connect from host1.uhu-banane.de[185.48.118.128]",
    "1999-03-02 09:44:33 10HmaX-000000005vi-0000 <= someone@some.domain U=CALLER P=local-smtp S=sss",
    "1999-03-02 09:44:33 10HmaX-000000005vi-0000 => userx <userx@myhost.test.ex> R=userx T=appendfile",
    "1999-03-02 09:44:33 10HmaX-000000005vi-0000 Completed",
]
rc, out, err = run("scan", "-", stdin=("\n".join(benign) + "\n").encode())
ok(rc == 0 and out == b"", "benign lines raise no alert", out[:500])

done()
