#!/usr/bin/env python3
"""After a webhook outage: the notifications that piled up for a group are
coalesced into one with the latest counts (queued oldest group first; up
to 4 requests run at once, so arrival order is not checked), and no group's
count ever goes backwards.  Real HTTP receiver on loopback.

usage: test_outage.py MTALERTD SIGNATURES_DIR
"""
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, error_line  # noqa: E402
from http_receiver import Receiver  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
SLOW = 120
GROUPS, ROUNDS = 4, 4


def relay_line(seq, relay):
    return error_line(seq, "o").replace("mx.example.net[203.0.113.25]",
                                        "mx%d.example.net[203.0.113.%d]" % (relay, relay))


def wait(pred, timeout=SLOW):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


tmp = tempfile.mkdtemp(prefix="mt-outage-")
recv = Receiver()
try:
    log = os.path.join(tmp, "mail.log")
    open(log, "w").close()
    d = Daemon(EXE, SIGS, tmp, "")
    with open(d.conf_path, "w") as f:
        f.write("state_directory: %s\ncheckpoint_interval: 200ms\n"
                "inputs:\n  - path: %s\nalerting:\n  stdout: {enabled: false}\n"
                "  syslog: {enabled: false}\n"
                "  grouping: {by: relay, group_wait: 0s, group_interval: 1s, "
                "repeat_interval: 1h, resolve_after: 1h}\n"
                "  webhooks:\n    - name: hook\n      url: %s\n      format: json\n"
                "      min_severity: info\n      timeout: 1s\n      connect_timeout: 500ms\n"
                % (d.state, log, recv.url("/hook")))
    os.chmod(d.conf_path, 0o600)
    recv.set_mode("500")                                 # the outage
    d.start()
    seq = 0
    for r in range(ROUNDS):
        with open(log, "a") as f:
            for g in range(1, GROUPS + 1):
                f.write(relay_line(seq, g) + "\n")
                seq += 1
        # The next round after group_interval: one more UPDATE per group queued.
        time.sleep(1.2)  # pacing the writer past group_interval, not an assertion
    recv.set_mode("ok")                                  # back

    def received():
        out = []
        for q in recv.requests():
            if q.answer != "ok":
                continue
            b = json.loads(q.body)
            out.append(((b.get("key") or {}).get("value"), b.get("count_total")))
        return out

    def complete():
        return len(set(k for k, _ in received())) == GROUPS

    got = wait(complete)
    rec = received()
    per = {}
    backwards = False
    for k, c in rec:
        backwards |= c < per.get(k, [0])[-1]
        per.setdefault(k, []).append(c)
    first_order = []
    for k, _ in rec:
        if k not in first_order:
            first_order.append(k)
    keys = [k for k in first_order]
    d.send(__import__("signal").SIGUSR1)
    d.wait_log("coalesced", SLOW)
    text = d.log()
    m = re.findall(r"(\d+) coalesced", text)
    coalesced = int(m[-1]) if m else 0
    ok(got and not backwards,
       "after the outage every group's latest count arrives, never going backwards: %s" % per,
       "%s\n%s" % (rec, text))
    ok(got and coalesced > 0 and all(len(v) <= 2 for v in per.values()),
       "coalesced (%d superseded): at most 2 messages per group after the outage (one may "
       "have been in flight)" % coalesced,
       "%s\n%s" % (per, text))
    d.stop()
finally:
    recv.stop()
    shutil.rmtree(tmp, ignore_errors=True)

# A webhook whose min_severity leaves it no signature: warned at load.
tmp = tempfile.mkdtemp(prefix="mt-outage-")
log = os.path.join(tmp, "mail.log")
open(log, "w").close()
d = Daemon(EXE, SIGS, tmp, "")
with open(d.conf_path, "w") as f:
    f.write("state_directory: %s\ninputs:\n  - path: %s\nalerting:\n  webhooks:\n"
            "    - name: deaf\n      url: http://127.0.0.1:9/x\n      format: json\n"
            "      include: [\"communication/exim-protocol-synchronization-error\"]\n"
            "    - name: fine\n      url: http://127.0.0.1:9/y\n      format: json\n"
            % (d.state, log))
os.chmod(d.conf_path, 0o600)
d.start()
text = d.log()
ok("webhook deaf: its filter (min_severity warning" in text and "webhook fine: its filter" not in text,
   "a webhook whose min_severity excludes every signature it includes is warned about at load",
   text)
d.stop()
shutil.rmtree(tmp, ignore_errors=True)

done()
