#!/usr/bin/env python3
"""Chat messages as a person reads them, from the real daemon to a real HTTP
receiver on loopback: two different errors within group_wait reach each chat
webhook as one digest message (the generic JSON webhook still gets one body
per notification), their resolved notices are one line each, and a single
alert leads with its line 1 (the log line's host, the relay, the count), then
the fix with its command, then the cause.

usage: test_chat_digest.py MTALERTD SIGNATURES_DIR
"""
import atexit
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "unit"))
from daemon_harness import Daemon, append, error_line  # noqa: E402
from http_receiver import Receiver  # noqa: E402
import check_payload  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
CHATS = ("slack", "teams", "discord", "mattermost")
T421 = "Remote server answered 421 Service not available"
TDMARC = "DMARC policy (550-5.7.26)"
# The catalog's own example of Gmail's DMARC refusal (provider/gmail-550-5-7-26-dmarc-policy).
DMARC = ("Dec 24 01:08:07 mail postfix/smtp[1322]: A4978C12E6: to=<mygmail@gmail.com>, "
         "relay=gmail-smtp-in.l.google.com[66.102.1.27]:25, delay=3.5, "
         "delays=3.1/0.02/0.19/0.16, dsn=5.7.26, status=bounced (host "
         "gmail-smtp-in.l.google.com[66.102.1.27] said: 550-5.7.26 Unauthenticated email from "
         "domain.com is not accepted due to domain's 550-5.7.26 DMARC policy. Please contact the "
         "administrator of domain.com domain if 550-5.7.26 this was a legitimate mail. Please "
         "visit 550-5.7.26  https://support.google.com/mail/answer/2451690 to learn about the "
         "550 5.7.26 DMARC initiative.")

LIVE = []


@atexit.register
def _cleanup():
    for d, r, tmp in LIVE:
        if d.proc is not None:
            d.stop()
        r.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def start(group_wait="2s", resolve_after="3s"):
    tmp = tempfile.mkdtemp(prefix="mt-digest-")
    log = os.path.join(tmp, "mail.log")
    open(log, "w").close()
    r = Receiver("127.0.0.1")
    hooks = "".join("    - name: %s\n      url: %s\n      format: %s\n      min_severity: info\n"
                    # timeout: a loaded machine's receiver may answer late; a retry would
                    # be one more body than the counts below allow.
                    "      timeout: 20s\n" % (f, r.url("/" + f), f) for f in CHATS + ("json",))
    cfg = ("  grouping: {by: relay, group_wait: %s, group_interval: 10m, repeat_interval: 1h, "
           "resolve_after: %s, min_count: 1, window: 1m, max_groups: 100}\n"
           "  webhooks:\n%s"
           "inputs:\n  - path: %s\n" % (group_wait, resolve_after, hooks, log))
    d = Daemon(EXE, SIGS, tmp, cfg)
    LIVE.append((d, r, tmp))
    d.start()
    return d, r, log


def texts(doc):
    return "\n".join(s for _, s in check_payload.strings(doc))


def is_resolved_line(fmt, doc):
    try:
        return not check_payload.one_line_notice(fmt, doc)
    except (KeyError, IndexError, TypeError):
        return False


# 1. A burst of two different errors, 0.8 s apart, group_wait 4 s: the daemon must read
#    the second within group_wait of the first, which a loaded machine may delay by
#    seconds (2 s left it 1.2 s); resolve_after 8 s, well after the FIRSTs are out.
d, r, log = start(group_wait="4s", resolve_after="8s")
append(log, [error_line(1, "digest")])
time.sleep(0.8)  # spaces the input only: the second error starts later within group_wait
append(log, [DMARC])
# Both groups resolve 8 s after their line: wait for the JSON webhook's 2 FIRSTs and 2 RESOLVEDs.
got = r.wait_for(lambda reqs: sum(1 for q in reqs if q.path == "/json" and q.method == "POST")
                 >= 4, 60)
ok(got, "json: 2 first and 2 resolved notifications arrive", d.log()[-2000:])
json_events = [q.json().get("event") for q in r.requests(method="POST", path="/json")]
ok(sorted(json_events) == ["first", "first", "resolved", "resolved"],
   "json: one body per notification, no digest: %r" % json_events)
for f in CHATS:
    # Everything of one tick goes to every webhook together; the last resolved may lag a little.
    r.wait_for(lambda reqs, f=f: sum(texts(q.json()).count("Resolved") for q in reqs
                                     if q.path == "/" + f and q.method == "POST") >= 2, 60)
    reqs = r.requests(method="POST", path="/" + f)
    docs = [q.json() for q in reqs]
    firing = [doc for doc in docs if "Resolved" not in check_payload.first_line(f, doc)]
    ok(len(firing) == 1 and T421 in texts(firing[0]) and TDMARC in texts(firing[0]) and
       "2 alerts at once" in texts(firing[0]),
       "%s: the burst of 2 errors is one digest message naming both" % f,
       "\n\n".join(texts(doc)[:600] for doc in docs))
    if firing:
        t = texts(firing[0])
        ok("mtalertd show communication/smtp-421-service-not-available" in t and
           "mtalertd show provider/gmail-550-5-7-26-dmarc-policy" in t and "Fix:" in t,
           "%s: the digest gives each error's fix and its mtalertd show" % f, t[:1500])
        errs = (check_payload.check_teams("d", firing[0], None, len(reqs[0].body)) if f == "teams"
                else check_payload.CHECKS[f]("d", firing[0], None))
        ok(not errs, "%s: the digest keeps the format's shape and limits" % f, "\n".join(errs))
    resolved = [doc for doc in docs if doc not in firing]
    ok(resolved and all(is_resolved_line(f, doc) or "2 alerts" in texts(doc) for doc in resolved),
       "%s: resolved notices are one line (or one digest of one-liners)" % f,
       "\n\n".join(texts(doc)[:400] for doc in resolved))
d.stop()

# 2. One error alone: no digest; line 1, then the fix with its command, then the cause.
d, r, log = start(group_wait="300ms")
append(log, [error_line(2, "single")])
for f in CHATS:
    ok(r.wait_requests(1, 60, method="POST", path="/" + f), "%s: the alert arrives" % f)
    q = r.requests(method="POST", path="/" + f)[0]
    doc = q.json()
    line = check_payload.first_line(f, doc)
    ok(T421 in line and "mx1" in line and "mx.example.net" in line and "\n" not in line,
       "%s: line 1 names the title, the log line's host mx1 and the relay" % f, line)
    v = check_payload.visible(f, doc)
    fix, cmd, cause = v.find("Fix:"), v.find("postconf -e 'minimal_backoff_time"), v.find("Cause:")
    ok(0 <= fix < cmd < cause, "%s: the fix and its command come before the cause" % f,
       "at %d, %d, %d:\n%s" % (fix, cmd, cause, v[:1500]))
d.stop()

done()
