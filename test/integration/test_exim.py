#!/usr/bin/env python3
"""End to end with a real Exim beside Postfix.  Debian's exim4 packages
conflict with postfix, so scripts/test extracts exim4-daemon-light with
`dpkg -x` (no install) and points MT_EXIM_BIN at the binary.  This test runs
it with a configuration of its own (spool and logs in a temp directory, a
manualroute smarthost on loopback), delivers one message to an SMTP server
of the test that answers 421, and checks that mtalertd, tailing Exim's real
mainlog, reports the 421 with Exim's fields.

usage: test_exim.py MTALERTD SIGNATURES_DIR
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon  # noqa: E402
from mta_instance import Exim, need_exim, wait_for  # noqa: E402
from smtp_refuser import Refuser  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
EXIM = need_exim("real Exim end to end")

tmp = tempfile.mkdtemp(prefix="mt-exim-")
os.chmod(tmp, 0o755)
refuser = Refuser()
exim = Exim(EXIM, tmp, refuser.port)
mainlog = exim.mainlog
refuser.start()
d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % mainlog).start()
try:
    r = exim.send("bob@example.net")
    alerts = wait_for(lambda: [a for a in d.alerts()
                               if a["id"] == "communication/smtp-421-service-not-available"], 60)
    log_text = exim.log_text()
    ok(refuser.sessions >= 1 and "421 4.7.0" in log_text, "Exim %s delivered to the refusing server and "
       "logged its reply" % os.path.basename(EXIM), r.stdout.decode(errors="replace") + log_text)
    ok(len(alerts) >= 1, "mtalertd reports the 421 signature from Exim's real mainlog",
       log_text + d.log())
    if alerts:
        a = alerts[0]
        ok(a["mta"] == "exim" and a["fields"].get("relay_ip") == "127.0.0.1" and
           a["fields"].get("queue_id") and a["workarounds"][0]["rank"] == 1,
           "the alert carries Exim's fields and the ranked workarounds", a["fields"])
        print("# alert: %s" % a["line"][:200])
finally:
    d.stop()
    refuser.done.set()
    shutil.rmtree(tmp, ignore_errors=True)
done()
