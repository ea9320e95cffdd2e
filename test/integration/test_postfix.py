#!/usr/bin/env python3
"""End to end with a real Postfix: a private Postfix instance (its own
config, queue and maillog_file in a temp directory) relays a message to an
SMTP server of this test on loopback that answers
`421 4.7.0 Service not available, closing transmission channel`; mtalertd,
tailing Postfix's real log, must report the 421 signature with its
workaround.

usage: test_postfix.py MTALERTD SIGNATURES_DIR
Needs root and Debian's postfix (scripts/test installs it).  Without them
the test says SKIP loudly and fails under CI=true.
"""
import os
import shutil
import smtplib
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, free_port  # noqa: E402
from mta_instance import Postfix, need_postfix, wait_for  # noqa: E402
from smtp_refuser import Refuser  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]

need_postfix("real Postfix end to end")

tmp = tempfile.mkdtemp(prefix="mt-postfix-")
os.chmod(tmp, 0o755)
pf = Postfix(tmp, "mt-e2e.localdomain")
maillog = pf.maillog
relay_port = free_port()
pf.configure(relay_port)

refuser = Refuser(relay_port)
refuser.start()
d = None
try:
    started, out = pf.start()
    ok(started, "a private Postfix instance starts (maillog_file %s)" % maillog, out)
    if started:
        d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % maillog).start()
        s = smtplib.SMTP("127.0.0.1", pf.submit_port, timeout=20)
        s.sendmail("alice@example.org", ["bob@example.net"],
                   "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: e2e\r\n\r\nhello\r\n")
        s.quit()
        alerts = wait_for(lambda: [a for a in d.alerts()
                                   if a["id"] == "communication/smtp-421-service-not-available"],
                          60)
        log_text = pf.log_text()
        ok(refuser.sessions >= 1, "Postfix connected to the refusing server", log_text)
        ok(len(alerts) >= 1, "mtalertd reports the 421 signature from Postfix's real log",
           log_text + "\n" + d.log())
        if alerts:
            a = alerts[0]
            ok(a["fields"].get("status") == "deferred" and a["fields"].get("dsn") == "4.7.0" and
               a["fields"].get("relay_port", "") == "" and
               a["fields"].get("relay_ip") == "127.0.0.1" and a["fields"].get("queue_id"),
               "the alert carries Postfix's fields (status, dsn, relay, queue id)", a["fields"])
            ok(a["workarounds"] and a["workarounds"][0]["rank"] == 1 and
               a["workarounds"][0]["success_rate"] > 0 and a["root_cause"],
               "the alert carries the root cause and the ranked workarounds",
               a["workarounds"][:1])
            print("# alert: %s | fix: %s" % (a["line"][:160], a["workarounds"][0]["action"][:120]))
finally:
    if d is not None:
        d.stop()
    pf.stop()
    refuser.done.set()
    time.sleep(0.5)
    shutil.rmtree(tmp, ignore_errors=True)

done()
