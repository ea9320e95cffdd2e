#!/usr/bin/env python3
"""Write signatures/COVERAGE.md: which record explains each registered enhanced status code.

usage: coverage.py MTALERTD SIGNATURES_DIR            rewrite SIGNATURES_DIR/COVERAGE.md
       coverage.py MTALERTD SIGNATURES_DIR --check    exit 1 if COVERAGE.md is stale or a
                                                      registered code is left to a catch-all

For every code of the IANA "SMTP Enhanced Status Codes" registry (RFC 3463 and the
RFCs that added codes since, registry procedure RFC 5248), in class 4 and class 5,
one remote reply is written the way each MTA logs it (Postfix smtp "said:", Exim
"SMTP error from remote mail server after ...:", Sendmail "stat=Deferred:" for 4xx
and "dsn=..., stat=Service unavailable" for 5xx). All lines go through
`mtalertd scan` with the catalog, and the winning record is tabulated. A code counts
as covered when every one of its six lines is won by a record that is not one of the
bare remote-reply catch-alls. Control lines without an enhanced code show that the
catch-alls still win where the reply carries no code.
"""
import json
import os
import subprocess
import sys

IANA = "https://www.iana.org/assignments/smtp-enhanced-status-codes/"

# (subject.detail, registry title, reference). Registry state as published by IANA
# (last update 2024-12-06); the class digit X is 2, 4 or 5.
REGISTRY = [
    ("0.0", "Other undefined Status", "RFC 3463"),
    ("1.0", "Other address status", "RFC 3463"),
    ("1.1", "Bad destination mailbox address", "RFC 3463"),
    ("1.2", "Bad destination system address", "RFC 3463"),
    ("1.3", "Bad destination mailbox address syntax", "RFC 3463"),
    ("1.4", "Destination mailbox address ambiguous", "RFC 3463"),
    ("1.5", "Destination address valid", "RFC 3463"),
    ("1.6", "Destination mailbox has moved, No forwarding address", "RFC 3463"),
    ("1.7", "Bad sender's mailbox address syntax", "RFC 3463"),
    ("1.8", "Bad sender's system address", "RFC 3463"),
    ("1.9", "Message relayed to non-compliant mailer", "RFC 3886"),
    ("1.10", "Recipient address has null MX", "RFC 7505"),
    ("2.0", "Other or undefined mailbox status", "RFC 3463"),
    ("2.1", "Mailbox disabled, not accepting messages", "RFC 3463"),
    ("2.2", "Mailbox full", "RFC 3463"),
    ("2.3", "Message length exceeds administrative limit", "RFC 3463"),
    ("2.4", "Mailing list expansion problem", "RFC 3463"),
    ("3.0", "Other or undefined mail system status", "RFC 3463"),
    ("3.1", "Mail system full", "RFC 3463"),
    ("3.2", "System not accepting network messages", "RFC 3463"),
    ("3.3", "System not capable of selected features", "RFC 3463"),
    ("3.4", "Message too big for system", "RFC 3463"),
    ("3.5", "System incorrectly configured", "RFC 3463"),
    ("3.6", "Requested priority was changed", "RFC 6710"),
    ("4.0", "Other or undefined network or routing status", "RFC 3463"),
    ("4.1", "No answer from host", "RFC 3463"),
    ("4.2", "Bad connection", "RFC 3463"),
    ("4.3", "Directory server failure", "RFC 3463"),
    ("4.4", "Unable to route", "RFC 3463"),
    ("4.5", "Mail system congestion", "RFC 3463"),
    ("4.6", "Routing loop detected", "RFC 3463"),
    ("4.7", "Delivery time expired", "RFC 3463"),
    ("5.0", "Other or undefined protocol status", "RFC 3463"),
    ("5.1", "Invalid command", "RFC 3463"),
    ("5.2", "Syntax error", "RFC 3463"),
    ("5.3", "Too many recipients", "RFC 3463"),
    ("5.4", "Invalid command arguments", "RFC 3463"),
    ("5.5", "Wrong protocol version", "RFC 3463"),
    ("5.6", "Authentication Exchange line is too long", "RFC 4954"),
    ("6.0", "Other or undefined media error", "RFC 3463"),
    ("6.1", "Media not supported", "RFC 3463"),
    ("6.2", "Conversion required and prohibited", "RFC 3463"),
    ("6.3", "Conversion required but not supported", "RFC 3463"),
    ("6.4", "Conversion with loss performed", "RFC 3463"),
    ("6.5", "Conversion Failed", "RFC 3463"),
    ("6.6", "Message content not available", "RFC 4468"),
    ("6.7", "Non-ASCII addresses not permitted for that sender/recipient", "RFC 6531"),
    ("6.8", "UTF-8 string reply is required, but not permitted by the SMTP client", "RFC 6531"),
    ("6.9", "UTF-8 header message cannot be transferred to one or more recipients", "RFC 6531"),
    ("6.10", "UTF-8 string reply is required (same meaning as X.6.8)", "RFC 6531"),
    ("7.0", "Other or undefined security status", "RFC 3463"),
    ("7.1", "Delivery not authorized, message refused", "RFC 3463"),
    ("7.2", "Mailing list expansion prohibited", "RFC 3463"),
    ("7.3", "Security conversion required but not possible", "RFC 3463"),
    ("7.4", "Security features not supported", "RFC 3463"),
    ("7.5", "Cryptographic failure", "RFC 3463"),
    ("7.6", "Cryptographic algorithm not supported", "RFC 3463"),
    ("7.7", "Message integrity failure", "RFC 3463"),
    ("7.8", "Authentication credentials invalid", "RFC 4954"),
    ("7.9", "Authentication mechanism is too weak", "RFC 4954"),
    ("7.10", "Encryption Needed", "RFC 5248"),
    ("7.11", "Encryption required for requested authentication mechanism", "RFC 4954"),
    ("7.12", "A password transition is needed", "RFC 4954"),
    ("7.13", "User Account Disabled", "RFC 5248"),
    ("7.14", "Trust relationship required", "RFC 5248"),
    ("7.15", "Priority Level is too low", "RFC 6710"),
    ("7.16", "Message is too big for the specified priority", "RFC 6710"),
    ("7.17", "Mailbox owner has changed", "RFC 7293"),
    ("7.18", "Domain owner has changed", "RFC 7293"),
    ("7.19", "RRVS test cannot be completed", "RFC 7293"),
    ("7.20", "No passing DKIM signature found", "RFC 7372"),
    ("7.21", "No acceptable DKIM signature found", "RFC 7372"),
    ("7.22", "No valid author-matched DKIM signature found", "RFC 7372"),
    ("7.23", "SPF validation failed", "RFC 7372"),
    ("7.24", "SPF validation error", "RFC 7372"),
    ("7.25", "Reverse DNS validation failed", "RFC 7372"),
    ("7.26", "Multiple authentication checks failed", "RFC 7372"),
    ("7.27", "Sender address has null MX", "RFC 7505"),
    ("7.28", "Mail flood detected", "registry entry"),
    ("7.29", "ARC validation failure", "RFC 8617"),
    ("7.30", "REQUIRETLS support required", "RFC 8689"),
]
# Codes the registry defines for positive reports only (2.1.5 "address valid", 2.1.9,
# 2.3.6); a 4.x/5.x form is not expected from a server but still gets a record.
SUCCESS_ONLY = {"1.5", "1.9", "3.6"}

# Records that explain any remote reply by its basic code or MTA wording only.
CATCH_ALLS = {
    "delivery/remote-permanent-failure-5xx", "delivery/remote-temporary-failure-4xx",
    "delivery/exim-remote-smtp-5xx-bounce", "delivery/exim-remote-smtp-4xx-defer",
    "delivery/exim-remote-host-smtp-error", "delivery/exim-bounce-any", "delivery/exim-defer-any",
}
FORMS = ("postfix", "exim", "sendmail")
TEXT = "Remote server reply text"


def line(form, cls, code, n):
    """One remote reply in the log format of FORM; N makes the line unique."""
    basic = "550" if cls == "5" else "451"
    qid = "4Q%06dZ" % n
    if form == "postfix":
        status = "bounced" if cls == "5" else "deferred"
        dsn = ("dsn=%s, " % code) if code else ("dsn=%s.0.0, " % cls)
        reply = "%s %s %s" % (basic, code, TEXT) if code else "%s %s" % (basic, TEXT)
        return ("Dec  4 10:00:00 mx1 postfix/smtp[1234]: %s: to=<user@example.net>, "
                "relay=mx.example.net[198.51.100.25]:25, delay=1, delays=0.1/0/0.5/0.4, %s"
                "status=%s (host mx.example.net[198.51.100.25] said: %s (in reply to RCPT TO command))"
                % (qid, dsn, status, reply))
    if form == "exim":
        mark = "**" if cls == "5" else "=="
        defer = "" if cls == "5" else " defer (-44)"
        reply = "%s %s %s" % (basic, code, TEXT) if code else "%s %s" % (basic, TEXT)
        return ("2026-12-04 10:00:00 1vQ%06d-000AbC-7Z %s user@example.net R=dnslookup T=remote_smtp%s "
                "H=mx.example.net [198.51.100.25]: SMTP error from remote mail server after "
                "RCPT TO:<user@example.net>: %s" % (n, mark, defer, reply))
    dsn = code or "%s.0.0" % cls
    if cls == "5":
        stat = "Service unavailable"
    else:
        stat = "Deferred: %s %s" % (basic, ("%s %s" % (code, TEXT)) if code else TEXT)
    return ("Dec  4 10:00:00 mail sm-mta[1234]: 5B4%05d: to=<user@example.net>, delay=00:00:01, "
            "xdelay=00:00:01, mailer=esmtp, pri=120000, relay=mx.example.net. [198.51.100.25], "
            "dsn=%s, stat=%s" % (n, dsn, stat))


def winners(exe, sigs, lines):
    data = ("\n".join(lines) + "\n").encode()
    out = subprocess.run([exe, "-s", sigs, "scan", "-"], input=data, stdout=subprocess.PIPE,
                         check=True).stdout
    won = {}
    for raw in out.splitlines():
        a = json.loads(raw)
        won[a["line"]] = a["id"]
    return won


def build(exe, sigs):
    cases, lines, n = [], [], 0
    for sd, title, ref in REGISTRY:
        for cls in ("4", "5"):
            for form in FORMS:
                n += 1
                l = line(form, cls, "%s.%s" % (cls, sd), n)
                cases.append((sd, cls, form, l))
                lines.append(l)
    controls = []
    for cls in ("4", "5"):
        for form in FORMS:
            n += 1
            l = line(form, cls, None, n)
            controls.append((cls, form, l))
            lines.append(l)
    won = winners(exe, sigs, lines)

    per = {}
    for sd, cls, form, l in cases:
        per.setdefault(sd, {}).setdefault(cls, {})[form] = won.get(l)
    covered = [sd for sd, _, _ in REGISTRY
               if all(per[sd][c][f] and per[sd][c][f] not in CATCH_ALLS for c in "45" for f in FORMS)]
    records = sorted({per[sd][c][f] for sd in per for c in "45" for f in FORMS if per[sd][c][f]})

    def cell(d):
        ids = [d[f] or "(none)" for f in FORMS]
        if len(set(ids)) == 1:
            return "`%s`" % ids[0]
        return "<br>".join("%s: `%s`" % (f, i) for f, i in zip(FORMS, ids))

    o = ["# Enhanced status code coverage", "",
         "Generated by `signatures/coverage.py` from the catalog in this folder; do not edit.",
         "`meson test coverage` fails when this file is stale or a registered code is left",
         "to a catch-all. Regenerate with:", "",
         "    python3 signatures/coverage.py build/daemon/mtalertd signatures", "",
         "Source of the codes: the IANA registry \"Simple Mail Transfer Protocol (SMTP) Enhanced",
         "Status Codes\" (%s), procedure RFC 5248, codes from RFC 3463" % IANA,
         "and the RFCs named per row. Each code is tried in class 4 and class 5 as a reply from a",
         "remote server in the three log forms (Postfix `said:`, Exim `SMTP error from remote mail",
         "server after ...:`, Sendmail `stat=Deferred:` for 4xx and `dsn=..., stat=Service unavailable`",
         "for 5xx), with a neutral reply text, so the table shows what explains the code itself.",
         "Records that also know a provider's or an MTA's exact wording win over these where that",
         "wording is present.", "",
         "**Covered: %d of %d registered codes** (%d lines, %d records win them; a code counts when"
         % (len(covered), len(REGISTRY), len(cases), len(records)),
         "all six lines are won by a record that is not a bare catch-all).", ""]
    o += ["| code | registry title | reference | 4.x.x | 5.x.x |", "|---|---|---|---|---|"]
    for sd, title, ref in REGISTRY:
        note = " (positive reports only)" if sd in SUCCESS_ONLY else ""
        o.append("| X.%s | %s%s | %s | %s | %s |" % (sd, title, note, ref, cell(per[sd]["4"]),
                                                     cell(per[sd]["5"])))
    o += ["", "## Control: replies without an enhanced code", "",
          "Postfix and Exim lines must stay with the catch-alls (checked). Sendmail logs a permanent",
          "remote refusal as `dsn=5.0.0, stat=Service unavailable` whether the reply said 5.0.0 or had",
          "no enhanced code, so its 5xx line is the X.0.0 line and that record explains it.", "",
          "| class | form | winner |", "|---|---|---|"]
    for cls, form, l in controls:
        o.append("| %sxx | %s | `%s` |" % (cls, form, won.get(l) or "(none)"))
    o += ["", "## Records that win a registered code", ""]
    o += ["- `%s`" % r for r in records]
    missing = ["X." + sd for sd, _, _ in REGISTRY if sd not in covered]
    missing += ["no-code %sxx %s line won by %s" % (cls, form, won.get(l))
                for cls, form, l in controls if form != "sendmail" and won.get(l) not in CATCH_ALLS]
    return "\n".join(o) + "\n", missing


def main():
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "--check"):
        sys.exit(__doc__)
    exe, sigs = sys.argv[1], sys.argv[2]
    text, missing = build(exe, sigs)
    path = os.path.join(sigs, "COVERAGE.md")
    if len(sys.argv) == 3:
        with open(path, "w") as f:
            f.write(text)
        print("wrote %s; problems: %s" % (path, ", ".join(missing) or "none"))
        return
    bad = 0
    try:
        old = open(path).read()
    except OSError as e:
        old = None
        print("not ok - cannot read %s: %s" % (path, e))
        bad = 1
    if old is not None and old != text:
        import difflib
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                                   path, "regenerated"))
        print("not ok - %s is stale: run python3 signatures/coverage.py %s %s" % (path, exe, sigs))
        bad = 1
    if missing:
        print("not ok - codes left to a catch-all or unmatched, or a no-code reply taken by a code record: %s"
              % ", ".join(missing))
        bad = 1
    if not bad:
        print("ok - %s is current; all %d registered codes covered" % (path, len(REGISTRY)))
    sys.exit(bad)


if __name__ == "__main__":
    main()
