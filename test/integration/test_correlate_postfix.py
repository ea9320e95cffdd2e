#!/usr/bin/env python3
"""The correlation stage (issue 12) on a real Postfix's log: a private
Postfix instance relays to a loopback port nobody listens on, with one
delivery at a time, so its first attempt fails ("Connection refused") and
qmgr suspends the destination: the messages after it are deferred with
"delivery temporarily suspended: ...", and with maximal_queue_lifetime 0
each message then expires (status=expired names no cause).  mtalertd,
tailing the log, must:

  - make the suspended deferrals repeats of the first cause;
  - report each expiry with the cause ("expired after ... of deferrals: ...");
  - and `scan --summary` of the same log must list the destination.

Then the same Postfix relays to a server of this test that answers 421 at
MAIL FROM (smtp_refuser.py) and later starts accepting; with a webhook on
the real HTTP receiver (JSON), mtalertd must:

  - raise local/mtalert-destination-unhealthy once more than the threshold
    share of the attempts to the destination failed (health_min_attempts
    3 over a 1 minute window), naming the destination, the share and the
    dominant cause, grouped by the destination;
  - when the server accepts again and the queue is flushed, send RESOLVED
    at once for that alert and for the 421's group (resolve_after is an
    hour: only the resolution by destination can do it).

usage: test_correlate_postfix.py MTALERTD SIGNATURES_DIR
Needs root and Debian's postfix; without them SKIP, and fails under CI=true.
"""
import json
import os
import shutil
import smtplib
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, free_port, scan_summary  # noqa: E402
from http_receiver import Receiver  # noqa: E402
from mta_instance import Postfix, need_postfix, wait_for  # noqa: E402
from smtp_refuser import Refuser  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
N = 4
SIG_421 = "communication/smtp-421-service-not-available"
SIG_UNHEALTHY = "local/mtalert-destination-unhealthy"
ONE_AT_A_TIME = ("initial_destination_concurrency = 1\n"
                 "default_destination_concurrency_limit = 1\n")

need_postfix("real Postfix correlation")

tmp = tempfile.mkdtemp(prefix="mt-corr-postfix-")
os.chmod(tmp, 0o755)
pf = Postfix(tmp, "mt-corr.localdomain")
maillog = pf.maillog
log_text = pf.log_text
pf.configure(free_port(),  # nobody listens there
             ONE_AT_A_TIME + "maximal_queue_lifetime = 0\nbounce_queue_lifetime = 0\n")
d = None
try:
    started, out = pf.start()
    ok(started, "a private Postfix instance starts", out)
    d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % maillog).start()
    s = smtplib.SMTP("127.0.0.1", pf.submit_port, timeout=20)
    for i in range(N):
        s.sendmail("alice@example.org", ["user%d@example.net" % i],
                   "From: alice@example.org\r\nSubject: corr %d\r\n\r\nhello\r\n" % i)
    s.quit()
    wait_for(lambda: log_text().count("status=expired") >= N and
             len([a for a in d.alerts() if "status=expired" in a["line"]]) >= N, 60)
    text = log_text()
    alerts = d.alerts()
    suspended = [a for a in alerts if "delivery temporarily suspended" in a["line"]]
    refused = [a for a in alerts if "status=deferred (connect to" in a["line"] and
               "repeat_of" not in a]
    ok(text.count("delivery temporarily suspended") >= 1,
       "Postfix suspended the destination (%d suspended deferrals)"
       % text.count("delivery temporarily suspended"), text)
    ok(len(refused) >= 1 and suspended and
       all(a.get("repeat_of", {}).get("id") == refused[0]["id"] for a in suspended),
       "each 'delivery temporarily suspended' is a repeat of the first refusal (%s)"
       % (refused[0]["id"] if refused else "-"),
       text + json.dumps([(a["line"], a.get("repeat_of")) for a in alerts])[:3000])
    expired = [a for a in alerts if "status=expired" in a["line"]]
    named = [a for a in expired if "outcome" in a and refused and
             a["outcome"]["cause"] == refused[0]["id"] and
             "Connection refused" in a["outcome"]["summary"]]
    ok(len(expired) >= N and len(named) == len(expired),
       "every expiry names the cause (%d of %d): %s" % (len(named), len(expired),
                                                        named[0]["outcome"]["summary"] if named else "-"),
       text + json.dumps([(a["line"], a.get("outcome")) for a in expired])[:3000])
finally:
    if d is not None:
        d.stop()
    pf.stop()

_, summ, dests = scan_summary(EXE, SIGS, maillog)
ok("example.net" in dests and dests["example.net"]["deferred"] >= 1 and
   sum(1 for m in summ.get("messages", []) if m["outcome"] == "expired") >= N,
   "scan --summary lists example.net and the expired messages",
   json.dumps(summ.get("destinations"))[:1000] + json.dumps(summ.get("messages"))[:1000])

# --- Destination health and resolution: a refusing server that recovers. ---
refuser = Refuser()
refuser.start()
pf.configure(refuser.port, ONE_AT_A_TIME + "queue_run_delay = 1s\nminimal_backoff_time = 1s\n"
             "maximal_backoff_time = 2s\n")
tmp2 = os.path.join(tmp, "health")
os.mkdir(tmp2)
hook = Receiver()
d = None
M = 5


def notes(reqs=None):
    out = []
    for r in (reqs if reqs is not None else hook.requests("POST")):
        try:
            out.append(r.json())
        except ValueError:
            pass
    return out


def pick(bodies, sig, event=None):
    return [b for b in bodies if b.get("signature", {}).get("id") == sig and
            (event is None or b.get("event") == event)]


def show(bodies):
    return json.dumps([(b.get("event"), b.get("signature", {}).get("id"), b.get("key"),
                        b.get("count_total"), b.get("messages"), b.get("destinations"),
                        b.get("repeats")) for b in bodies])


try:
    start_at = len(log_text())
    d = Daemon(EXE, SIGS, tmp2,
               "  grouping: {by: relay, group_wait: 500ms, group_interval: 1s, "
               "repeat_interval: 1h, resolve_after: 1h, min_count: 1, window: 1m, "
               "max_groups: 10000}\n"
               "  webhooks:\n    - name: hook\n      url: %s\n      format: json\n"
               "      min_severity: info\n"
               "correlate:\n  health_window: 1m\n  health_threshold: 20\n"
               "  health_min_attempts: 3\n"
               "inputs:\n  - path: %s\n" % (hook.url(), maillog)).start()
    pf.start()
    s = smtplib.SMTP("127.0.0.1", pf.submit_port, timeout=20)
    for i in range(M):
        s.sendmail("alice@example.org", ["user%d@health.example" % i],
                   "From: alice@example.org\r\nSubject: health %d\r\n\r\nhello\r\n" % i)
    s.quit()
    deferred = lambda: log_text()[start_at:].count("status=deferred")
    unhealthy = lambda reqs=None: pick(notes(reqs), SIG_UNHEALTHY, "first")
    got = hook.wait_for(lambda reqs: unhealthy(reqs), 60) and unhealthy()
    alerts = [a for a in d.alerts() if a["id"] == SIG_UNHEALTHY]
    ok(got and len(got) == 1 and got[0].get("key") == {"name": "destination",
                                                       "value": "health.example"},
       "%d deferrals to a refusing server: one FIRST of %s keyed by the destination"
       % (deferred(), SIG_UNHEALTHY), log_text()[start_at:] + show(notes()) + d.log())
    ok(len(alerts) == 1 and "destination health.example unhealthy: 100% of " in alerts[0]["line"]
       and "(threshold 20%), mostly " + SIG_421 in alerts[0]["line"],
       "the alert names the destination, the share and the dominant cause: %s"
       % (alerts[0]["line"] if alerts else "-"), json.dumps(alerts)[:2000])
    first421 = pick(notes(), SIG_421, "first")
    ok(len(first421) == 1 and first421[0]["destinations"] == 1 and
       first421[0]["messages"] >= 1,
       "the 421's FIRST counts its messages and its one destination (%s)" % show(first421),
       show(notes()))

    # The server recovers; the deferred mail goes out at the flush.
    refuser.accepting.set()
    pf.flush()
    resolved = lambda reqs=None: (pick(notes(reqs), SIG_UNHEALTHY, "resolved"),
                                  pick(notes(reqs), SIG_421, "resolved"))
    t0 = time.time()
    hook.wait_for(lambda reqs: all(resolved(reqs)), 60)
    ru, r421 = resolved()
    sent = log_text()[start_at:].count("status=sent")
    ok(sent >= 1 and len(ru) == 1 and len(r421) == 1,
       "the destination accepts again (%d sent): RESOLVED for the health alert and the 421's "
       "group, %.1f s after the flush (resolve_after is 1 h)" % (sent, time.time() - t0),
       log_text()[start_at:] + show(notes()) + d.log())
    ok(r421 and r421[0]["repeats"] + r421[0]["count_total"] >= 1 and
       r421[0]["destinations"] == 1,
       "the 421's RESOLVED carries its counts (%s)" % show(r421), show(notes()))
    ok("destination 'health.example' accepts mail again" in d.log(),
       "the daemon logs the resolution", d.log())
finally:
    if d is not None:
        d.stop()
    pf.stop()
    refuser.done.set()
    hook.stop()

time.sleep(0.5)
shutil.rmtree(tmp, ignore_errors=True)
done()
