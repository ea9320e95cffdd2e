#!/usr/bin/env python3
"""The spool on a full disk (a small tmpfs, so mount needs root): notifications
that could not be written are kept in memory, written again once space is
back (then a kill -9 loses none of them), and what a stop has to discard is
counted as dropped and logged.  Real HTTP receiver on loopback.

usage: test_spool_full.py MTALERTD SIGNATURES_DIR
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, error_line  # noqa: E402
from http_receiver import Receiver  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
SLOW = 120


def relay_line(seq, relay):
    return error_line(seq, "m").replace("mx.example.net[203.0.113.25]",
                                        "mx%d.example.net[203.0.113.%d]" % (relay, relay))


def wait(pred, timeout=SLOW):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def fill(path):
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass


tmp = tempfile.mkdtemp(prefix="mt-spoolfull-")
mnt = os.path.join(tmp, "small")
os.mkdir(mnt)
r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
ok(r.returncode == 0, "a 512 KiB tmpfs for state and spool (mount needs root)", r.stdout)
recv = Receiver()
try:
    if r.returncode != 0:
        raise SystemExit(done())
    log = os.path.join(tmp, "mail.log")
    open(log, "w").close()
    state = os.path.join(mnt, "state")
    d = Daemon(EXE, SIGS, tmp, "")
    d.state = state
    with open(d.conf_path, "w") as f:
        f.write("state_directory: %s\ncheckpoint_interval: 200ms\n"
                # Its lines restate one queue id: without the correlation stage
                # (issue 12), which would fold them as repeats, each is a notification.
                "correlate: {enabled: false}\n"
                "inputs:\n  - path: %s\nalerting:\n  stdout: {enabled: false}\n"
                "  syslog: {enabled: false}\n"
                "  grouping: {by: relay, group_wait: 0s, group_interval: 1h, "
                "repeat_interval: 2h, resolve_after: 0s}\n"
                "  webhooks:\n    - name: hook\n      url: %s\n      format: json\n"
                "      min_severity: info\n      timeout: 1s\n      connect_timeout: 500ms\n"
                % (state, log, recv.url("/hook")))
    os.chmod(d.conf_path, 0o600)
    recv.set_mode("500")                  # the webhook is failing: nothing leaves the queue
    d.start()
    filler = os.path.join(mnt, "filler")
    fill(filler)
    with open(log, "a") as f:
        for relay in range(1, 6):
            f.write(relay_line(relay, relay) + "\n")
    spooldir = os.path.join(state, "spool", "hook")
    got = d.wait_log("cannot write to the spool", SLOW)
    ok(got and not glob.glob(os.path.join(spooldir, "*.req")),
       "disk full: the notifications cannot be spooled, and it is logged", d.log())
    os.unlink(filler)                     # space back
    got = wait(lambda: len(glob.glob(os.path.join(spooldir, "*.req"))) == 5)
    ok(got and "works again" in d.log(),
       "space back: the 5 notifications kept in memory are written to the spool",
       "%s\n%s" % (glob.glob(os.path.join(spooldir, "*")), d.log()))
    d.stop(signal.SIGKILL)                # a crash: only the spool remembers them
    recv.set_mode("ok")
    d.start()
    want = ["mx%d.example.net" % i for i in range(1, 6)]

    def delivered():
        bodies = [q.body.decode("utf-8", "replace") for q in recv.requests() if q.answer == "ok"]
        return all(any(w in b for b in bodies) for w in want)

    ok(wait(delivered), "kill -9, restart: all 5 delivered from the spool",
       "%s\n%s" % ([q.answer for q in recv.requests()], d.log()))

    # Full again, the webhook failing, then a clean stop: what is only in memory
    # cannot be kept; it is counted as dropped and logged, not called spooled.
    recv.set_mode("500")
    fill(filler)
    n = d.log().count("cannot write to the spool")
    with open(log, "a") as f:
        for relay in range(6, 9):
            f.write(relay_line(relay, relay) + "\n")
    got = wait(lambda: d.log().count("cannot write to the spool") > n or
               "write errors" in d.log()) and wait(
        lambda: len([q for q in recv.requests() if q.answer == "500"]) >= 3)
    d.stop()
    text = d.log()
    m = re.findall(r"webhook hook: (\d+) notifications? could not be written to the spool and "
                   r"are dropped at stop", text)
    c = re.findall(r"webhook hook: \d+ submitted, \d+ delivered, \d+ retried, \d+ failed, "
                   r"(\d+) dropped", text)
    # The filler may leave a page that a temp file freed: a notification can
    # still get onto the disk.  Every one is either spooled or dropped, counted.
    on_disk = len(glob.glob(os.path.join(spooldir, "*.req")))
    ok(got and m and c and int(m[-1]) >= 1 and int(m[-1]) + on_disk == 3 and
       int(c[-1]) == int(m[-1]),
       "stop with notifications in memory only: %s dropped (logged and counted), %d spooled, "
       "of 3" % (m[-1] if m else "-", on_disk), text)
finally:
    recv.stop()
    subprocess.run(["umount", mnt])
    shutil.rmtree(tmp, ignore_errors=True)

done()
