#!/usr/bin/env python3
"""The correlation stage (issue 12) on a real Exim's mainlog: messages are
deferred by an SMTP server of this test (421 at RCPT), refused (550 at RCPT)
or time out of their retry rule, and Exim's own queue runs restate them.
mtalertd, tailing the mainlog, must make one alert per cause:

  - the retry notices of each queue run carry repeat_of naming the 421;
  - a frozen message makes one alert however many queue runs follow
    ("Message is frozen" lines are repeats of the message's first cause,
    here the 550 its bounce met);
  - an expiry (retry timeout exceeded) names the original cause;
  - after a restart, a frozen notice is still a repeat (the table was saved);
  - Exim's multi-line configuration error (its own text, appended in one
    write as Exim writes its paniclog) is one alert, and a head alone goes
    out after the continuation timeout;
  - `mtalertd scan --summary` of the same mainlog lists the destinations
    and the failed messages with their causes;
  - on a webhook (the real HTTP receiver, JSON format), the 421 makes
    exactly one FIRST however many queue runs restate it; the retry notices
    make no notification of their own, and the 421's later notification
    carries the repeats and the messages and destinations it covers.

Exim runs as test_exim.py runs it (scripts/test extracts the binary; needs
root).  usage: test_correlate_exim.py MTALERTD SIGNATURES_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, scan_summary  # noqa: E402
from http_receiver import Receiver  # noqa: E402
from mta_instance import Exim, need_exim, wait_for  # noqa: E402
from smtp_refuser import SmtpServer  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
SIG_421 = "communication/smtp-421-service-not-available"
SIG_FROZEN = "delivery/exim-message-frozen"
SIG_RETRY = "delivery/exim-retry-time-not-reached"

EXIM = need_exim("real Exim correlation")


class Server(SmtpServer):
    """Loopback SMTP: 421 at RCPT for most recipients, 550 at RCPT for
    refused.example.  Bounded: stops after four minutes or when done is set."""

    def __init__(self):
        super().__init__(lifetime=240)

    def reply(self, c, f, line):
        cmd = line[:4].upper()
        if cmd == b"MAIL":
            c.sendall(b"250 2.1.0 ok\r\n")
        elif cmd == b"RCPT" and b"@refused.example" in line:
            c.sendall(b"550 5.1.1 <x@refused.example>: Recipient address rejected: "
                      b"User unknown\r\n")
        elif cmd == b"RCPT":
            c.sendall(b"421 4.7.0 Service not available, closing transmission channel\r\n")
            return False
        else:
            return super().reply(c, f, line)
        return True


tmp = tempfile.mkdtemp(prefix="mt-corr-exim-")
os.chmod(tmp, 0o755)
srv = Server()
mta = Exim(EXIM, tmp, srv.port, options="log_selector = +skip_delivery\n",
           retry="expire.example * F,3s,1s\n")
mainlog = mta.mainlog
srv.start()


def exim(*rcpts, sender="alice@example.org"):
    return mta.send(*rcpts, sender=sender, body=b"Subject: corr\n\nhello\n")


queue_run = mta.queue_run
log_text = mta.log_text


def by_id(alerts, sig):
    return [a for a in alerts if a["id"] == sig]


# Exim reports a configuration error before it knows its log path: on stderr,
# in the paniclog format (timestamp, then the reason on an indented line).
badconf = os.path.join(tmp, "bad.conf")
with open(badconf, "w") as f:
    # A spool of its own: root would create files in it that Exim's user cannot write.
    f.write("spool_directory = %s\nhold_domains = \"unterminated\n" % os.path.join(tmp, "badspool"))
panic_text = subprocess.run([EXIM, "-C", badconf, "-bV"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=60).stdout.decode(errors="replace")
panic_entry = "".join(l + "\n" for l in panic_text.splitlines()[:2])
paniclog = mta.log_file("paniclog")
hook = Receiver()
d = Daemon(EXE, SIGS, tmp,
           "  grouping: {by: relay, group_wait: 500ms, group_interval: 1s, repeat_interval: 1h, "
           "resolve_after: 10m, min_count: 1, window: 1m, max_groups: 10000}\n"
           "  webhooks:\n    - name: hook\n      url: %s\n      format: json\n"
           "      min_severity: info\n"
           "inputs:\n  - path: %s\n  - path: %s\n" % (hook.url(), mainlog, paniclog)).start()


def notes(sig=None, event=None, reqs=None):
    """The webhook's notifications (JSON bodies), of signature sig and event if given
    (reqs: the receiver's requests when already under its lock, as in wait_for)."""
    out = []
    for r in (reqs if reqs is not None else hook.requests("POST")):
        try:
            b = r.json()
        except ValueError:
            continue
        if (sig is None or b.get("signature", {}).get("id") == sig) and \
                (event is None or b.get("event") == event):
            out.append(b)
    return out


def show(bodies):
    return json.dumps([(b.get("event"), b.get("signature", {}).get("id"), b.get("count_new"),
                        b.get("count_total"), b.get("messages"), b.get("destinations"),
                        b.get("repeats")) for b in bodies])
try:
    # 0. A multi-line entry is one record; a head alone goes out after the continuation timeout.
    ok(panic_entry.count("\n") == 2 and panic_entry.split("\n")[1].startswith("  "),
       "Exim writes its configuration error over two lines", panic_text)
    with open(paniclog, "a") as f:
        f.write(panic_entry)  # one write, as Exim's log_write does
    cfg = lambda: [a for a in d.alerts() if a["file"] == paniclog]
    got = wait_for(cfg, 30) or []
    ok(len(got) == 1 and got[0]["line"] == panic_entry.rstrip("\n") and "\n  " in got[0]["line"],
       "the continuation line joins its head: one alert with the whole entry (%s)"
       % (got[0]["id"] if got else "-"), json.dumps(got)[:2000] + d.log())
    head = panic_entry.split("\n")[0] + "\n"
    t0 = time.time()
    with open(paniclog, "a") as f:
        f.write(head)
    got = wait_for(lambda: len(cfg()) >= 2 and cfg(), 30) or []
    ok(len(got) == 2 and got[1]["line"] == head.rstrip("\n"),
       "a head whose continuation never comes is matched after the timeout (%.1f s)"
       % (time.time() - t0), json.dumps(got)[:2000])

    # 1. A deferral, then queue runs that restate it.
    r = exim("bob@example.net")
    first = wait_for(lambda: by_id(d.alerts(), SIG_421), 30)
    ok(len(first) == 1 and "repeat_of" not in first[0],
       "a real 421 deferral makes one alert of its own",
       r.stdout.decode(errors="replace") + log_text() + d.log())
    for _ in range(3):
        queue_run("-q")
    retry = lambda: [a for a in d.alerts() if "retry time not" in a["line"]]
    got = wait_for(lambda: len(retry()) >= 3 and retry(), 30) or []
    ok(len(got) >= 3 and all(a.get("repeat_of", {}).get("id") == SIG_421 for a in got),
       "each queue run's retry notice is a repeat of the 421 (%d notices)" % len(got),
       log_text() + json.dumps(got)[:2000])
    ok(len([a for a in by_id(d.alerts(), SIG_421) if "repeat_of" not in a]) == 1,
       "the 421 still counts one alert of its own")

    # 2. A bounce that cannot be bounced is frozen; queue runs restate it.
    exim("carol@refused.example", sender="")
    frozen = lambda: [a for a in d.alerts() if a["id"] == SIG_FROZEN]
    wait_for(lambda: frozen(), 30)
    for _ in range(4):
        queue_run("-q")
    wait_for(lambda: log_text().count("Message is frozen") >= 4 and
             len([a for a in frozen() if "Message is frozen" in a["line"]]) >= 4, 30)
    fz = frozen()
    own = [a for a in fz if "repeat_of" not in a]
    reps = [a for a in fz if "repeat_of" in a]
    # The message's first cause is the 550 that could not be bounced: the notices name it.
    causes = set(a["repeat_of"]["id"] for a in reps)
    ok(log_text().count("Message is frozen") >= 4 and len(own) == 1 and len(reps) >= 4 and
       causes == {"delivery/recipient-user-unknown"},
       "a frozen message makes one alert however many queue runs follow "
       "(%d of its own, %d repeats, %d 'Message is frozen' lines)"
       % (len(own), len(reps), log_text().count("Message is frozen")),
       log_text() + json.dumps(fz)[:3000])

    # 3. An expiry names the cause it expired of.
    exim("dan@expire.example")
    wait_for(lambda: [a for a in by_id(d.alerts(), SIG_421) if "expire.example" in a["line"]], 30)
    time.sleep(4)  # past the retry rule's 3 s cutoff: the only way to expire is to wait it out
    outcome = lambda: [a for a in d.alerts() if "outcome" in a and "expire.example" in a["line"]]
    for _ in range(10):
        if outcome():
            break
        queue_run("-qf")
        wait_for(outcome, 3)
    got = wait_for(outcome, 60) or []  # the last run's expiry may be read late on a loaded machine
    ok(len(got) >= 1 and got[0]["outcome"]["cause"] == SIG_421 and
       got[0]["outcome"]["summary"].startswith("expired after ") and
       "Service not available" in got[0]["outcome"]["summary"],
       "an expiry names the original cause: %s" % (got[0]["outcome"]["summary"] if got else "-"),
       log_text() + d.log())

    # 3b. The webhook saw one FIRST for the 421, none for the retry notices, and the
    # 421's next notification (the expire.example deferral) carries the repeats.
    upd = lambda reqs=None: [b for b in notes(SIG_421, reqs=reqs) if b.get("event") != "first"]
    got = hook.wait_for(lambda reqs: upd(reqs), 30) and upd()
    firsts = notes(SIG_421, "first")
    nretry = len([a for a in d.alerts() if a["id"] == SIG_RETRY])
    # (The queue runs may come within group_wait: the FIRST then counts their repeats too.)
    ok(len(firsts) == 1 and firsts[0]["count_new"] == 1 and firsts[0]["messages"] == 1 and
       firsts[0]["destinations"] == 1,
       "the webhook got exactly one FIRST for the 421: 1 line, 1 message, 1 destination "
       "(%d repeats by then)" % (firsts[0]["repeats"] if firsts else -1),
       show(notes()))
    ok(nretry >= 3 and notes(SIG_RETRY) == [],
       "%d retry notices over the queue runs: no notification for %s" % (nretry, SIG_RETRY),
       show(notes()))
    ok(got and got[0]["event"] == "update" and got[0]["count_total"] >= 2 and
       got[0]["repeats"] >= 3 and got[0]["messages"] >= 2 and got[0]["destinations"] >= 2,
       "the 421's later notification shows the repeats, messages and destinations "
       "(%s)" % (show(got[:1]) if got else "-"), show(notes()))
    fz_notes = notes(SIG_FROZEN)
    uu = notes("delivery/recipient-user-unknown")
    ok(len(fz_notes) <= 1 and len(uu) >= 1 and uu[0]["event"] == "first",
       "the frozen notices make at most one notification of their own (%d), the 550 its FIRST"
       % len(fz_notes), show(notes()))

    # 4. A restart keeps the table: a frozen notice is still a repeat.
    before = len(d.alerts())
    d.stop()
    ok(os.path.exists(os.path.join(d.state, "correlate")), "the table is saved beside the positions")
    d.start()
    queue_run("-q")
    fresh = lambda: [a for a in d.alerts()[before:] if "Message is frozen" in a["line"]]
    got = wait_for(fresh, 30) or []
    ok(len(got) >= 1 and
       all(a.get("repeat_of", {}).get("id") == "delivery/recipient-user-unknown" for a in got),
       "after a restart the frozen notice is still a repeat",
       d.log() + "\n".join("%s repeat_of=%s" % (a["line"], a.get("repeat_of")) for a in got) +
       open(os.path.join(d.state, "correlate")).read())
    ok(notes(SIG_RETRY) == [] and len(notes(SIG_421, "first")) == 1,
       "after the restart still no notification for the retry notices, one FIRST for the 421",
       show(notes()))
finally:
    d.stop()
    srv.done.set()
    hook.stop()

# 5. scan --summary over the same real mainlog.
rc, summ, dests = scan_summary(EXE, SIGS, mainlog)
msgs = summ.get("messages", [])
ok(rc == 0 and "example.net" in dests and dests["example.net"]["deferred"] >= 1 and
   dests["example.net"].get("cause") == SIG_421,
   "scan --summary lists the destination with its cause", json.dumps(summ.get("destinations"))[:1500])
ok(any(m["outcome"] == "expired" and m["cause"] == SIG_421 for m in msgs) and
   any(m["outcome"] == "frozen" for m in msgs),
   "scan --summary lists the expired and the frozen message with their causes",
   json.dumps(msgs)[:1500])
ok(summ.get("repeats", 0) >= 7, "scan counts the restating lines as repeats (%s)" % summ.get("repeats"))
shutil.rmtree(tmp, ignore_errors=True)
done()
