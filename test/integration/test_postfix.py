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
import pwd
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon  # noqa: E402
from smtp_refuser import Refuser  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]




def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def skip(why):
    print("# SKIP real-Postfix test: " + why)
    if os.environ.get("CI") == "true":
        print("not ok 1 - real Postfix end to end (required in CI): " + why)
        print("1..1")
        sys.exit(1)
    print("1..0 # SKIP " + why)
    sys.exit(0)


if os.geteuid() != 0:
    skip("needs root to run a Postfix instance")
if not shutil.which("postfix") and not os.path.exists("/usr/sbin/postfix"):
    skip("Debian's postfix is not installed (apt-get install postfix)")
try:
    pwd.getpwnam("postfix")
except KeyError:
    skip("no postfix user")




tmp = tempfile.mkdtemp(prefix="mt-postfix-")
os.chmod(tmp, 0o755)
conf, queue, data = (os.path.join(tmp, x) for x in ("conf", "queue", "data"))
for p in (conf, queue, data):
    os.mkdir(p)
shutil.chown(data, "postfix")
maillog = os.path.join(tmp, "postfix.log")
relay_port, submit_port = free_port(), free_port()
master = open("/etc/postfix/master.cf").read().splitlines()
with open(os.path.join(conf, "master.cf"), "w") as f:
    for line in master:
        # No listener on port 25: only our loopback submission port.
        f.write(("#" + line if line.startswith("smtp      inet") else line) + "\n")
    f.write("127.0.0.1:%d inet n - n - - smtpd\n" % submit_port)
with open(os.path.join(conf, "main.cf"), "w") as f:
    f.write("""compatibility_level = 3.6
queue_directory = {q}
data_directory = {d}
maillog_file = {log}
maillog_file_prefixes = /var, /dev/stdout, {tmp}
myhostname = mt-e2e.localdomain
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{relay}
smtp_tls_security_level = none
alias_maps =
alias_database =
""".format(q=queue, d=data, log=maillog, tmp=tmp, relay=relay_port))

refuser = Refuser(relay_port)
refuser.start()
pf = ["postfix", "-c", conf]
started = False
d = None
try:
    r = subprocess.run(pf + ["start"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while time.time() < deadline and not (os.path.exists(maillog) and
                                          b"daemon started" in open(maillog, "rb").read()):
        time.sleep(0.1)
    started = os.path.exists(maillog) and b"daemon started" in open(maillog, "rb").read()
    ok(started, "a private Postfix instance starts (maillog_file %s)" % maillog,
       r.stdout.decode(errors="replace"))
    if started:
        d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % maillog).start()
        s = smtplib.SMTP("127.0.0.1", submit_port, timeout=20)
        s.sendmail("alice@example.org", ["bob@example.net"],
                   "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: e2e\r\n\r\nhello\r\n")
        s.quit()
        deadline = time.time() + 30
        alerts = []
        while time.time() < deadline:
            alerts = [a for a in d.alerts()
                      if a["id"] == "communication/smtp-421-service-not-available"]
            if alerts:
                break
            time.sleep(0.1)
        log_text = open(maillog, "rb").read().decode(errors="replace")
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
    subprocess.run(pf + ["stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    refuser.done.set()
    time.sleep(0.5)
    shutil.rmtree(tmp, ignore_errors=True)

done()
