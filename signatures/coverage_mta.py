#!/usr/bin/env python3
"""Write signatures/COVERAGE-MTA.md: which record each MTA format string alerts with.

usage: coverage_mta.py MTALERTD SIGNATURES_DIR [--check]

Reads SIGNATURES_DIR/mta-messages.tsv (the format strings the MTAs log, one per
row: mta, program, level, source, format, note, sample; written by
extract_mta_messages.py), turns every format string into
the line the MTA would write (conversions filled with sample values, or the
row's sample text where the values decide the meaning), runs all
of them through `MTALERTD scan --format json` with the catalog in
SIGNATURES_DIR, and writes the table of winners. With --check it writes
nothing and exits 1 when the file on disk differs from what it would write.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

EXE, SIGS = sys.argv[1], sys.argv[2]
CHECK = "--check" in sys.argv[3:]
OUT = os.path.join(SIGS, "COVERAGE-MTA.md")

# Records that explain a whole family of messages (one cause, one set of fixes
# for many format strings); every other matching record counts as specific.
# A record of specificity 20 or less, or one listed in CATCH_ALL, is a
# catch-all and does not count.
FAMILY = {
    "local/fatal-configuration-error", "local/lookup-table-failure",
    "local/postfix-queue-no-space-left-on-device", "local/postfix-panic-internal-error",
    "local/postfix-fatal-service-definition", "local/postfix-fatal-bad-parameter-value",
    "local/postfix-fatal-file-access", "local/postfix-fatal-resource-exhausted",
    "local/postfix-queue-file-corrupt", "local/postfix-fatal-internal-protocol",
    "local/postfix-fatal-system-call-failed",
    "local/exim-configuration-error", "local/exim-config-expansion-failed",
    "local/exim-configuration-error-option", "local/exim-panic-internal-error",
    "local/exim-privilege-failure", "local/exim-process-resource-failure",
    "local/exim-tainted-not-permitted", "local/exim-content-scanner-error",
    "local/exim-log-file-open-failed", "local/exim-spool-file-access-failed",
    "local/exim-option-value-rejected", "local/sendmail-config-file-error",
    "local/sendmail-map-error", "local/sendmail-queue-file-error",
    "tls/exim-tls-certificate-file-error",
    "local/exim-scanner-interface-failure",
    "local/exim-dmarc-dkim-library-error",
    "local/exim-daemon-listener-failure",
    "local/exim-daemon-setup-failure",
    "local/exim-main-config-rejected",
    "local/exim-config-setting-ignored",
    "local/exim-router-transport-config-error",
    "local/exim-user-identity-failure",
    "local/exim-delivery-subprocess-failure",
    "local/exim-internal-consistency-check",
    "local/exim-internal-state-error",
    "local/exim-spool-journal-failure",
    "local/exim-lookup-module-failure",
    "local/exim-filter-rewrite-error",
    "local/exim-smtp-support-failure",
    "local/sendmail-privilege-switch-failure",
    "local/sendmail-process-resource-failure",
    "local/sendmail-daemon-socket-failure",
    "local/sendmail-mailer-definition-error",
    "local/sendmail-ruleset-error",
    "local/sendmail-queue-directory-error",
    "local/sendmail-queue-file-commit-error",
    "local/sendmail-data-file-io-error",
    "local/sendmail-file-program-delivery-failure",
    "local/sendmail-aliases-file-error",
    "local/sendmail-map-backend-error",
    "delivery/sendmail-mail-loop",
    "local/sendmail-internal-error",
    "tls/sendmail-tls-sasl-layer-failure",
    "local/sendmail-host-status-error",
    "local/sendmail-bounce-generation-failure",
    "local/sendmail-runtime-data-error",
    "local/sendmail-internal-limit",
    "local/postfix-warn-queue-file-content",
    "local/postfix-warn-queue-file-operation",
    "tls/postfix-warn-tls-policy-config",
    "local/postfix-warn-smtpd-restriction-config",
    "local/postfix-warn-local-delivery-file",
    "local/postfix-warn-bounce-template",
    "local/postfix-warn-process-limit",
    "local/postfix-warn-content-action-error",
    "communication/postfix-warn-smtp-peer-protocol",
    "local/postfix-warn-service-handoff-failure",
    "local/postfix-warn-internal-ipc",
    "tls/postfix-warn-tls-service-setup",
    "local/postfix-warn-table-lookup-error",
    "dns/postfix-warn-dns-reply-error",
    "local/postfix-warn-setting-ignored",
    "local/postfix-warn-external-filter-failure",
    "local/postfix-warn-recipient-entry",
    "local/postfix-warn-message-handling",
}

CATCH_ALL = {"local/sendmail-syserr"}

FS_WORDS = ("open", "file", "chdir", "fstat", "seek", "remove", "rename", "lock", "truncate",
            "append", "from", "to", "database", "queue", "directory", "update", "fchmod", "create")
CONV = re.compile(r"%(?:%|[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:l{1,2}|z|h)?([a-zA-Z]))")

# The errno a %m most plausibly carries, by the call the format string names
# (first match wins): file system calls fail on ownership, I/O on a damaged
# file system, process and memory calls on limits, the rest on an argument or
# a kernel feature the process may not use.
ERRNO = [
    (r"database", "No such file or directory"),
    (r"\bfork\b", "Resource temporarily unavailable"),
    (r"\b(pipe|socket|dup2?|fcntl)\b", "Too many open files"),
    (r"\b(memopen|putenv)\b|bounce_\w+: %m|fclose", "Cannot allocate memory"),
    (r"seek|ftell|\bread\b|time stamps", "Input/output error"),
    (r"\b(open|chdir|rename|remove|lock|fstat|fchmod|truncate|append|update|exec|save|stat|create|PRNG)\b", "Permission denied"),
    (r"", "Invalid argument"),
]


def errno_for(fmt):
    for pat, text in ERRNO:
        if re.search(pat, fmt):
            return text
    return "Invalid argument"


def fill(fmt, mta="postfix"):
    """The text the MTA prints for fmt, with plausible sample values."""
    out, pos = [], 0
    for m in CONV.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        c, before = m.group(1), fmt[:m.start()].rstrip(" '\"`(").split(" ")[-1].lower()
        if m.group(0) == "%%":
            out.append("%")
        elif c == "m":
            out.append(errno_for(fmt))
        elif c == "s" and fmt[m.end():].startswith(" map"):
            out.append("smtp_generic_maps")
        elif c == "s":
            out.append({"postfix": "/var/spool/postfix/example", "exim": "/var/spool/exim4/example"}.get(
                mta, "/var/spool/mqueue/example") if before.rstrip(":") in FS_WORDS else "example")
        elif c in "diuxo":
            out.append("1")
        elif c == "c":
            out.append("x")
        else:
            out.append("example")
    out.append(fmt[pos:])
    return "".join(out)


def synth(mta, prog, level, fmt, sample, src=""):
    text = sample or fill(fmt.replace("\\t", "\t").replace("\\n", " "), mta)
    # readcf() runs with FileName set: syserr() puts "FILE: line N: " first
    cf_prefix = "/etc/mail/sendmail.cf: line 92: " if "readcf.c" in src else ""
    if mta == "postfix":
        word = {"warn": "warning"}.get(level, level)
        return "Mar 13 08:00:02 mx1 postfix/%s[4410]: %s: %s" % (prog, word, text)
    if mta == "exim":
        return "2026-03-13 08:00:02 %s" % text
    return "Mar 13 08:00:02 mx1 sendmail[4410]: 2BD8C0Q1004410: SYSERR(root): %s%s" % (
        cf_prefix, text)


rows = []
for ln in open(os.path.join(SIGS, "mta-messages.tsv"), encoding="utf-8"):
    if ln.startswith("#") or not ln.strip():
        continue
    f = ln.rstrip("\n").split("\t")
    f += [""] * (7 - len(f))
    rows.append(dict(mta=f[0], prog=f[1], level=f[2], src=f[3], fmt=f[4], note=f[5], sample=f[6]))

spec = {}
for d, _, files in os.walk(SIGS):
    for fn in files:
        if fn.endswith(".yaml"):
            r = yaml.safe_load(open(os.path.join(d, fn), encoding="utf-8"))
            spec[r["id"]] = (r.get("specificity", 50), r["severity"])

with tempfile.TemporaryDirectory() as tmp:
    log = os.path.join(tmp, "synth.log")
    with open(log, "w", encoding="utf-8") as fh:
        for r in rows:
            r["line"] = synth(r["mta"], r["prog"], r["level"], r["fmt"], r["sample"], r["src"])
            fh.write(r["line"] + "\n")
    res = subprocess.run([EXE, "scan", "--format", "json", "-s", SIGS, log],
                         stdout=subprocess.PIPE, check=False)
    if res.returncode not in (0, 1):
        sys.exit("scan failed with status %d" % res.returncode)
    for ln in res.stdout.decode().splitlines():
        a = json.loads(ln)
        rows[a["line_number"] - 1]["winner"] = a["id"]

counts = {}


def kind(r):
    w = r.get("winner")
    if w and spec[w][0] > 20 and w not in CATCH_ALL:
        return "family" if w in FAMILY else "specific"
    if r["note"].startswith("benign:"):
        return "benign"
    return "catch-all" if w else "uncovered"


lines = ["# Coverage of the MTAs' own messages", "",
         "Generated by `signatures/coverage_mta.py` from `signatures/mta-messages.tsv`; do not edit.",
         "Each format string the MTA logs is filled with sample values (`%s` becomes `example` or a",
         "queue path, `%m` an errno text, numbers `1`), written as the MTA would log it, and run",
         "through `mtalertd scan`; the table shows the record that wins. `family`: a record that",
         "explains a whole class of messages; `specific`: a record for this message or check;",
         "`benign`: no alert is wanted, for the reason given.", ""]
groups = {}
for r in rows:
    k = kind(r)
    key = (r["mta"], r["level"])
    groups.setdefault(key, {}).setdefault(k, 0)
    groups[key][k] += 1
lines += ["| MTA | level | strings | specific | family | benign | catch-all | uncovered |",
          "|---|---|---|---|---|---|---|---|"]
for (mta, level), g in sorted(groups.items()):
    lines.append("| %s | %s | %d | %d | %d | %d | %d | %d |" % (
        mta, level, sum(g.values()), g.get("specific", 0), g.get("family", 0),
        g.get("benign", 0), g.get("catch-all", 0), g.get("uncovered", 0)))
lines.append("")


def cell(s):
    return s.replace("|", "\\|").replace("`", "'")


lines += ["| MTA | program | level | source | format string | record | severity |",
          "|---|---|---|---|---|---|---|"]
for r in rows:
    w = r.get("winner")
    if kind(r) in ("specific", "family"):
        rec, sev = "`%s` (%s)" % (w, kind(r)), spec[w][1]
    elif kind(r) == "benign":
        rec, sev = cell(r["note"]), "-"
    else:
        rec, sev = ("catch-all `%s`" % w) if w else "**uncovered**", spec[w][1] if w else "-"
    lines.append("| %s | %s | %s | %s | `%s` | %s | %s |" % (
        r["mta"], r["prog"], r["level"], r["src"], cell(r["fmt"]), rec, sev))
text = "\n".join(lines) + "\n"

if CHECK:
    old = open(OUT, encoding="utf-8").read() if os.path.exists(OUT) else ""
    if old != text:
        sys.stderr.write("%s is stale: run signatures/coverage_mta.py %s %s\n" % (OUT, EXE, SIGS))
        sys.exit(1)
    print("%s is up to date (%d format strings)" % (OUT, len(rows)))
else:
    open(OUT, "w", encoding="utf-8").write(text)
    print("wrote %s (%d format strings)" % (OUT, len(rows)))
