#!/usr/bin/env python3
"""More delivery: secrets from a file and in the URL, HTTPS with a private CA
(and the verification failure without it), the spool's size bound, giving up
after give_up_after, and a SIGHUP reload with groups pending.

usage: test_delivery_more.py MTALERTD SIGNATURES_DIR
"""
import glob
import re
import http.server
import json
import os
import shutil
import signal
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, error_line  # noqa: E402
from http_receiver import Receiver  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]




def relay_line(seq, relay):
    return error_line(seq, "m").replace("mx.example.net[203.0.113.25]",
                                        "mx%d.example.net[203.0.113.%d]" % (relay, relay % 250))


def daemon(tmp, hooks, grouping="group_wait: 200ms, group_interval: 1s, repeat_interval: 2s, "
           "resolve_after: 0s", spool="max_size: 8MiB, max_age: 168h", env=None):
    log = os.path.join(tmp, "mail.log")
    open(log, "w").close()
    # The lines restate one queue id: without the correlation stage (issue 12), which
    # would fold them as repeats and raise a destination health alert, each one counts.
    body = ("correlate: {enabled: false}\n"
            "inputs:\n  - path: %s\nalerting:\n  stdout: {enabled: false}\n"
            "  syslog: {enabled: false}\n"
            "  grouping: {by: relay, %s}\n  webhooks:\n%s  spool: {%s}\n"
            % (log, grouping, hooks, spool))
    d = Daemon(EXE, SIGS, tmp, "")
    with open(d.conf_path, "w") as f:   # our own alerting section, not the harness's
        f.write("state_directory: %s\ncheckpoint_interval: 200ms\n%s" % (d.state, body))
    os.chmod(d.conf_path, 0o600)
    d.env.update(env or {})
    return d, log


def hook(name, url, extra=""):
    return ("    - name: %s\n      url: %s\n      format: json\n      min_severity: info\n"
            # timeout: a loaded machine's test receiver may answer late; that is no failure
            "      timeout: 20s\n      connect_timeout: 500ms\n%s" % (name, url, extra))


def spool_files(d, name):
    return sorted(glob.glob(os.path.join(d.state, "spool", name, "*.req")))


# 1. token_file: a bearer header, or {token} in the URL (then no header).
tmp = tempfile.mkdtemp(prefix="mt-dm-")
r = Receiver()
tok = os.path.join(tmp, "token")
with open(tok, "w") as f:
    f.write("file-t0ken\n")
d, log = daemon(tmp, hook("bearer", r.url("/hook"), "      token_file: %s\n" % tok) +
                hook("inurl", r.url("/hooks/{token}/x"), "      token_file: %s\n" % tok))
d.start()
with open(log, "a") as f:
    f.write(relay_line(1, 1) + "\n")
r.wait_requests(2, timeout=60)
reqs = r.requests()
bearer = [q for q in reqs if q.path == "/hook"]
inurl = [q for q in reqs if q.path.startswith("/hooks/")]
ok(len(bearer) == 1 and bearer[0].header("Authorization") == "Bearer file-t0ken",
   "token_file is sent as Authorization: Bearer (newline trimmed)", reqs)
ok(len(inurl) == 1 and inurl[0].path == "/hooks/file-t0ken/x" and
   inurl[0].header("Authorization") is None, "{token} in the url takes the secret instead", reqs)
ok("file-t0ken" not in d.log(), "the token is not logged")
d.stop()
r.stop()
shutil.rmtree(tmp)

# 2. HTTPS with a private CA: verified with ca_file, refused (and retried) without it.
tmp = tempfile.mkdtemp(prefix="mt-dm-")
ca_key, ca, key, csr, crt, ext = (os.path.join(tmp, x) for x in
                                  ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem", "ext"))
with open(ext, "w") as f:
    f.write("subjectAltName=IP:127.0.0.1\n")
run = lambda *a: subprocess.run(a, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
    "-days", "2", "-subj", "/CN=mtalert test CA")
run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
    "-subj", "/CN=127.0.0.1")
run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
    "-out", crt, "-days", "2", "-extfile", ext)
got = []


class TLSHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        got.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


class TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = TLSServer(("127.0.0.1", 0), TLSHandler)
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
sctx.load_cert_chain(crt, key)
srv.socket = sctx.wrap_socket(srv.socket, server_side=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = "https://127.0.0.1:%d/hook" % srv.server_address[1]
d, log = daemon(tmp, hook("tls", url, "      ca_file: %s\n" % ca) + hook("untrusted", url))
d.start()
with open(log, "a") as f:
    f.write(relay_line(2, 2) + "\n")
# Wait for what must happen: the trusted delivery, the untrusted webhook's failure
# logged and its notification spooled, the trusted one's spool emptied.
deadline = time.time() + 60
while time.time() < deadline and not (
        got and "webhook untrusted:" in d.log() and len(spool_files(d, "untrusted")) == 1 and
        not spool_files(d, "tls")):
    time.sleep(0.05)
time.sleep(1.0)  # and a retry or two of the untrusted one, which must not reach the server
ok(len(got) == 1 and got[0]["signature"]["id"] == "communication/smtp-421-service-not-available",
   "https with ca_file: delivered once over a verified TLS connection", got)
ok("webhook untrusted:" in d.log() and ("certificate" in d.log().lower() or "SSL" in d.log()),
   "without the CA the peer is not trusted: logged, nothing sent", d.log()[-1500:])
ok(len(spool_files(d, "untrusted")) == 1 and len(spool_files(d, "tls")) == 0,
   "the untrusted webhook's notification waits in the spool for a retry")
d.stop()
srv.shutdown()
shutil.rmtree(tmp)

# 3. The spool's size bound: the oldest go, counted and logged; give_up_after.
tmp = tempfile.mkdtemp(prefix="mt-dm-")
dead = Receiver()
dead_url = dead.url("/hook")
dead.stop()  # nothing listens there any more: connection refused
d, log = daemon(tmp, hook("down", dead_url, "      give_up_after: 5s\n      max_per_minute: 6000\n"),
                grouping="group_wait: 0s, group_interval: 1h, repeat_interval: 2h, resolve_after: 0s",
                spool="max_size: 64KiB, max_age: 168h")
d.start()
with open(log, "a") as f:
    for i in range(60):
        f.write(relay_line(i, 10 + i) + "\n")
deadline = time.time() + 60
while time.time() < deadline and "spool over its" not in d.log():
    time.sleep(0.05)
def spool_bytes(d, name):
    """Bytes in the spool now; a file delivered or dropped while we look counts 0."""
    total = 0
    for p in spool_files(d, name):
        try:
            total += os.path.getsize(p)
        except FileNotFoundError:
            pass
    return total


size = spool_bytes(d, "down")
ok("spool over its 65536-byte bound: dropped the oldest" in d.log() and size <= 65536,
   "past spool.max_size the oldest notifications are dropped and logged (%d bytes kept)" % size,
   d.log()[-1500:])
d.send(signal.SIGUSR1)
deadline = time.time() + 30
while time.time() < deadline and not re.search(r", (\d+) dropped at the size bound", d.log()):
    time.sleep(0.05)
m = re.search(r", (\d+) dropped at the size bound", d.log())
ok(m is not None and int(m.group(1)) > 0, "and counted (%s)" % (m.group(1) if m else "-"),
   d.log()[-1500:])
deadline = time.time() + 60
while time.time() < deadline and "giving up on notification" not in d.log():
    time.sleep(0.1)
ok("giving up on notification" in d.log(), "give_up_after: a notification failing that long is "
   "dropped and logged", d.log()[-800:])
deadline = time.time() + 60
while time.time() < deadline and spool_files(d, "down"):
    time.sleep(0.2)
ok(spool_files(d, "down") == [], "given-up notifications leave the spool")
d.stop()
shutil.rmtree(tmp)

# 4. SIGHUP with groups pending: their unsent counts are delivered, none lost.
tmp = tempfile.mkdtemp(prefix="mt-dm-")
r = Receiver()
d, log = daemon(tmp, hook("hup", r.url("/hook")),
                grouping="group_wait: 200ms, group_interval: 1h, repeat_interval: 2h, resolve_after: 0s")
d.start()
with open(log, "a") as f:
    f.write(relay_line(1, 5) + "\n")
r.wait_requests(1, timeout=60)
with open(log, "a") as f:
    for i in range(9):
        f.write(relay_line(2 + i, 5) + "\n")
# All ten lines read before the reload: ask the counters until they say so.
deadline = time.time() + 60
while time.time() < deadline and not re.search(r"counters: 10 lines", d.log()):
    d.send(signal.SIGUSR1)
    time.sleep(0.2)
d.send(signal.SIGHUP)
r.wait_requests(2, timeout=60)
bodies = [q.json() for q in r.requests()]
ok(len(bodies) == 2 and [b["event"] for b in bodies] == ["first", "flush"] and
   sum(b["count_new"] for b in bodies) == 10,
   "SIGHUP: groups are flushed through the old webhooks, counts add up to the 10 lines",
   [(b["event"], b["count_new"]) for b in bodies])
d.stop()
r.stop()
shutil.rmtree(tmp)

# 5. kill -9 with counts pending in a group: the state's snapshot of the groups
#    and the lines read again after it count every occurrence exactly once.
tmp = tempfile.mkdtemp(prefix="mt-dm-")
r = Receiver()
d, log = daemon(tmp, hook("crash", r.url("/hook")),
                grouping="group_wait: 200ms, group_interval: 1h, repeat_interval: 2h, resolve_after: 0s")
d.start()
with open(log, "a") as f:
    f.write(relay_line(1, 7) + "\n")
r.wait_requests(1, timeout=60)
with open(log, "a") as f:
    for i in range(9):
        f.write(relay_line(2 + i, 7) + "\n")
# A checkpoint (200ms) saves the group with its unsent counts: wait until the 10
# lines are read and the state file has the group.
state_path = os.path.join(d.state, "state")


def state_text():
    try:
        with open(state_path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


deadline = time.time() + 60
while time.time() < deadline and not re.search(r"counters: 10 lines", d.log()):
    d.send(signal.SIGUSR1)
    time.sleep(0.2)
deadline = time.time() + 60
while time.time() < deadline and "\ngroup " not in state_text():
    time.sleep(0.05)
time.sleep(0.5)                      # most often a checkpoint with all 9 unsent (either way
                                     # the counts below must add up)
with open(log, "a") as f:
    for i in range(5):               # and 5 more after it, maybe not checkpointed
        f.write(relay_line(20 + i, 7) + "\n")
time.sleep(0.05)
d.stop(signal.SIGKILL)
state = open(os.path.join(d.state, "state")).read()
ok("\ngroup " in state, "the state file holds the groups' snapshot", state[-500:])
d.start()
ok(d.wait_log("restored 1 groups from the state"), "the group is restored at start", d.log()[-600:])
d.stop()                             # SIGTERM: the restored group's unsent counts are flushed
r.wait_requests(2, timeout=60)
bodies = [q.json() for q in r.requests()]
ok(sum(b["count_new"] for b in bodies) == 15 and bodies[0]["event"] == "first" and
   all(b["count_total"] <= 15 for b in bodies),
   "kill -9 with pending counts: the notifications' count_new add up to the 15 lines",
   [(b["event"], b["count_new"], b["count_total"]) for b in bodies])
r.stop()
shutil.rmtree(tmp)

# 6. stdout and syslog take their own filters too.
tmp = tempfile.mkdtemp(prefix="mt-dm-")
log = os.path.join(tmp, "mail.log")
open(log, "w").close()
sock = os.path.join(tmp, "log.sock")
import socket as _socket  # noqa: E402
rx = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
rx.bind(sock)
rx.settimeout(0.2)
d = Daemon(EXE, SIGS, tmp, "")
with open(d.conf_path, "w") as f:
    f.write("state_directory: %s\ninputs:\n  - path: %s\nalerting:\n"
            "  stdout: {enabled: true, min_severity: warning, exclude: [category:policy_rejection]}\n"
            "  syslog: {enabled: true, socket: %s, include: [category:policy_rejection]}\n"
            % (d.state, log, sock))
os.chmod(d.conf_path, 0o600)
d.start()
relay_denied = ("Nov 23 06:00:07 mx1 postfix/smtpd[2101]: NOQUEUE: reject: RCPT from unknown[192.0.2.77]: "
                "554 5.7.1 <someone@elsewhere.example>: Relay access denied; from=<spam@bad.example> "
                "to=<someone@elsewhere.example> proto=ESMTP helo=<bad.example>")
pregreet = ("Nov 23 06:00:08 mx1 postfix/postscreen[3163107]: PREGREET 14 after 0.35 from "
            "[192.0.2.9]:20502: EHLO ylmf-pc\\r\\n")
with open(log, "a") as f:
    f.write(relay_line(1, 3) + "\n" + relay_denied + "\n" + pregreet + "\n")
d.wait_alerts(1, 60)
# All three lines read (then every alert of theirs is sent), and the datagram that
# must come: then a second more for any that must not.
deadline = time.time() + 60
while time.time() < deadline and not re.search(r"counters: 3 lines", d.log()):
    d.send(signal.SIGUSR1)
    time.sleep(0.2)
grams = []
deadline = time.time() + 60
while time.time() < deadline and not grams:
    try:
        grams.append(rx.recv(65536).decode("utf-8", "replace"))
    except OSError:
        pass
time.sleep(1.0)
while True:
    try:
        grams.append(rx.recv(65536).decode("utf-8", "replace"))
    except OSError:
        break
ids = [a["id"] for a in d.alerts()]
ok(ids == ["communication/smtp-421-service-not-available"],
   "stdout filter: the warning passes, the excluded category and the info alert do not", ids)
ok(len(grams) == 1 and "relay-access-denied" in grams[0],
   "syslog filter: only the included category is sent", grams)
d.stop()
rx.close()
shutil.rmtree(tmp)

done()
