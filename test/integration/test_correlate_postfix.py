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

usage: test_correlate_postfix.py MTALERTD SIGNATURES_DIR
Needs root and Debian's postfix; without them SKIP, and fails under CI=true.
"""
import json
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
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
N = 4


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def skip(why):
    print("# SKIP real-Postfix correlation test: " + why)
    if os.environ.get("CI") == "true":
        print("not ok 1 - real Postfix correlation (required in CI): " + why)
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

tmp = tempfile.mkdtemp(prefix="mt-corr-postfix-")
os.chmod(tmp, 0o755)
conf, queue, data = (os.path.join(tmp, x) for x in ("conf", "queue", "data"))
for p in (conf, queue, data):
    os.mkdir(p)
shutil.chown(data, "postfix")
maillog = os.path.join(tmp, "postfix.log")
dead_port, submit_port = free_port(), free_port()  # nobody listens on dead_port
master = open("/etc/postfix/master.cf").read().splitlines()
with open(os.path.join(conf, "master.cf"), "w") as f:
    for line in master:
        f.write(("#" + line if line.startswith("smtp      inet") else line) + "\n")
    f.write("127.0.0.1:%d inet n - n - - smtpd\n" % submit_port)
with open(os.path.join(conf, "main.cf"), "w") as f:
    f.write("""compatibility_level = 3.6
queue_directory = {q}
data_directory = {d}
maillog_file = {log}
maillog_file_prefixes = /var, /dev/stdout, {tmp}
myhostname = mt-corr.localdomain
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{relay}
smtp_tls_security_level = none
alias_maps =
alias_database =
initial_destination_concurrency = 1
default_destination_concurrency_limit = 1
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
""".format(q=queue, d=data, log=maillog, tmp=tmp, relay=dead_port))

pf = ["postfix", "-c", conf]
d = None


def log_text():
    return open(maillog, "rb").read().decode(errors="replace") if os.path.exists(maillog) else ""


def wait_for(cond, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    return cond()


try:
    r = subprocess.run(pf + ["start"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    started = wait_for(lambda: "daemon started" in log_text(), 20)
    ok(started, "a private Postfix instance starts", r.stdout.decode(errors="replace"))
    d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % maillog).start()
    s = smtplib.SMTP("127.0.0.1", submit_port, timeout=20)
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
    subprocess.run(pf + ["stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

r = subprocess.run([EXE, "scan", "-s", SIGS, "--summary", "--format", "json", maillog],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
try:
    summ = json.loads(r.stdout)
except ValueError:
    summ = {}
dests = dict((x["destination"], x) for x in summ.get("destinations", []))
ok("example.net" in dests and dests["example.net"]["deferred"] >= 1 and
   sum(1 for m in summ.get("messages", []) if m["outcome"] == "expired") >= N,
   "scan --summary lists example.net and the expired messages",
   json.dumps(summ.get("destinations"))[:1000] + json.dumps(summ.get("messages"))[:1000])
time.sleep(0.5)
shutil.rmtree(tmp, ignore_errors=True)
done()
