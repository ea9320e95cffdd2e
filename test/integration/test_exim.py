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
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon  # noqa: E402
from smtp_refuser import Refuser  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
EXIM = os.environ.get("MT_EXIM_BIN") or ("/usr/sbin/exim4" if os.path.exists("/usr/sbin/exim4") else "")




def skip(why):
    print("# SKIP real-Exim test: " + why)
    if os.environ.get("CI") == "true":
        print("not ok 1 - real Exim end to end (required in CI): " + why)
        print("1..1")
        sys.exit(1)
    print("1..0 # SKIP " + why)
    sys.exit(0)


if os.geteuid() != 0:
    skip("needs root (Exim is setuid by design and refuses to deliver as an ordinary user here)")
if not EXIM or not os.path.exists(EXIM):
    skip("no Exim binary (scripts/test extracts one; or set MT_EXIM_BIN)")
try:
    pwd.getpwnam("Debian-exim")
except KeyError:
    subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", "Debian-exim"], check=False)




tmp = tempfile.mkdtemp(prefix="mt-exim-")
os.chmod(tmp, 0o755)
spool, logdir = os.path.join(tmp, "spool"), os.path.join(tmp, "log")
for p in (spool, logdir):
    os.mkdir(p)
    shutil.chown(p, "Debian-exim", "Debian-exim")
refuser = Refuser()
port = refuser.port
conf = os.path.join(tmp, "exim.conf")
with open(conf, "w") as f:
    f.write("""keep_environment =
exim_path = {exim}
primary_hostname = mt-exim.localdomain
spool_directory = {spool}
log_file_path = {log}/%slog
exim_user = Debian-exim
exim_group = Debian-exim
trusted_users = root
begin routers
smarthost:
  driver = manualroute
  domains = *
  transport = remote_smtp
  route_list = * 127.0.0.1::{port}
  self = send
  no_more
begin transports
remote_smtp:
  driver = smtp
begin retry
* * F,1h,5m
""".format(exim=EXIM, spool=spool, log=logdir, port=port))
mainlog = os.path.join(logdir, "mainlog")
open(mainlog, "w").close()
shutil.chown(mainlog, "Debian-exim", "Debian-exim")
refuser.start()
d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % mainlog).start()
try:
    r = subprocess.run([EXIM, "-C", conf, "-odf", "-f", "alice@example.org", "bob@example.net"],
                       input=b"Subject: e2e\n\nhello\n", stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    deadline = time.time() + 20
    alerts = []
    while time.time() < deadline and not alerts:
        alerts = [a for a in d.alerts() if a["id"] == "communication/smtp-421-service-not-available"]
        time.sleep(0.1)
    log_text = open(mainlog, errors="replace").read()
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
