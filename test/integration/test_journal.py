#!/usr/bin/env python3
"""The journald input, for real: journal files written by
systemd-journal-remote (the same on-disk format journald writes) in a
directory that mtalertd follows with `journal.directory`.  Checks that the
daemon starts at the end, alerts on entries appended while it runs, keeps
its cursor across a restart (no entry twice, none skipped), and reads only
mail programs.

usage: test_journal.py MTALERTD SIGNATURES_DIR
Needs systemd-journal-remote (scripts/test installs it); without it the test
says SKIP loudly and fails under CI=true.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, MARK  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
REMOTE = "/lib/systemd/systemd-journal-remote"
seq = [0]




if not os.path.exists(REMOTE):
    msg = "systemd-journal-remote is not installed (apt-get install systemd-journal-remote)"
    print("# SKIP journald test: " + msg)
    if os.environ.get("CI") == "true":
        print("not ok 1 - journald input (required in CI): " + msg)
        print("1..1")
        sys.exit(1)
    print("1..0 # SKIP " + msg)
    sys.exit(0)

tmp = tempfile.mktemp(prefix="mt-journal-")
os.makedirs(tmp)
jdir = os.path.join(tmp, "journal")
os.mkdir(jdir)
jfile = os.path.join(jdir, "remote.journal")


def append(entries):
    """Append entries (identifier, message) to the journal file."""
    export = []
    for ident, msg in entries:
        seq[0] += 1
        export.append("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n"
                      "_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=mx1\n_PID=2110\n"
                      "SYSLOG_IDENTIFIER=%s\nMESSAGE=%s\n\n"
                      % (int(time.time() * 1e6), seq[0], ident, msg))
    src = os.path.join(tmp, "e.export")
    with open(src, "w") as f:
        f.write("".join(export))
    subprocess.run([REMOTE, "--output=" + jfile, src], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def err(tag):
    return ("postfix/smtp", "7C1D20B3F2: to=<bob@example.net>, relay=mx.example.net[203.0.113.25]:25, "
            "delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.7.0, status=deferred (host "
            "mx.example.net[203.0.113.25] said: %s (in reply to MAIL FROM command)) seq=%s"
            % (MARK, tag))


append([err("before-1"), err("before-2")])
d = Daemon(EXE, SIGS, tmp, "inputs: []\njournal:\n  enabled: true\n  directory: %s\n" % jdir)
d.start()
ok(d.wait_log("following the journal in %s" % jdir), "the daemon follows the journal directory",
   d.log())
time.sleep(0.5)
append([err("live-1"), ("sshd", "Accepted password for root said: 421 4.7.0 Service not available seq=ssh")])
d.wait_alerts(1, 10)
time.sleep(0.5)
ok(d.seqs() == ["live-1"], "starts at the end; an appended entry alerts; other programs are ignored",
   d.seqs())
a = d.alerts()[0] if d.alerts() else {}
ok(a.get("file") == "journal" and a.get("fields", {}).get("program") == "postfix/smtp" and
   a.get("fields", {}).get("queue_id") == "7C1D20B3F2",
   "the entry is parsed like a syslog line (program, queue id)", a.get("fields"))
d.stop()
state = open(os.path.join(d.state, "state")).read()
ok("\njournal s=" in state, "the journal cursor is saved in the state file", state)
append([err("stopped-1"), err("stopped-2")])
d.start()
d.wait_alerts(3, 10)
time.sleep(0.5)
ok(d.seqs() == ["live-1", "stopped-1", "stopped-2"],
   "after a restart: the entries written while stopped, none twice", d.seqs())
d.stop()
shutil.rmtree(tmp)
done()
