#!/usr/bin/env python3
"""The operator's side of the real mtalertd: `mtalertd status` over the
control socket (text and --json, stalled and oversized clients), SIGUSR1,
the Prometheus endpoint (a real HTTP GET, linted with promtool), silences
(add, list, expire; picked up through the socket and through inotify alone),
maintenance windows, webhook failure counters, and syslog's default
min_severity (warning: info alerts stay out); rotations and truncations as
the tail counts them, each webhook's spool bytes, and counters that survive
a reload.

usage: test_operator.py MTALERTD SIGNATURES_DIR
promtool comes from Debian's prometheus package (scripts/test installs it);
without it the lint says SKIP loudly and fails under CI=true.
"""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, append, error_line, free_port  # noqa: E402
from http_receiver import Receiver  # noqa: E402
from tap import done, ok, skip  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
SIG_421 = "communication/smtp-421-service-not-available"
SIG_INFO = "delivery/smtpd-recipient-unknown-here"  # severity info
INFO_LINE = ("Aug 13 15:45:46 server postfix/smtpd[13844]: 00ADB3C0899: reject: RCPT from "
             "example.com[192.0.2.1]: 550 5.1.1 <sales@server.com>: Recipient address rejected: "
             "User unknown in local recipient table; from=<x@example.com> to=<sales@server.com> "
             "proto=ESMTP helo=<mail.example.com>")


def write_conf(d, body):
    with open(d.conf_path, "w") as f:
        f.write("state_directory: %s\ncheckpoint_interval: 200ms\n" % d.state)
        f.write(body)
    os.chmod(d.conf_path, 0o600)


def run(*args, timeout=30):
    p = subprocess.run([EXE] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def wait_for(pred, timeout=60, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def status_json(conf):
    rc, out, err = run("status", "--json", "-c", conf)
    if rc != 0:
        return None
    return json.loads(out)


def sig_entry(st, sig):
    for s in (st or {}).get("signatures_matched", []):
        if s["id"] == sig:
            return s
    return None


tmp = tempfile.mkdtemp(prefix="mt-operator-")
log = os.path.join(tmp, "mail.log")
open(log, "w").close()
# A file name that needs escaping in a Prometheus label and in JSON.
odd = os.path.join(tmp, 'we"ird\\\u00e9.log')
open(odd, "w").close()
ctl = os.path.join(tmp, "run", "control")
port = free_port()
dead_port = free_port()  # nothing listens there: the webhook fails
syslog_path = os.path.join(tmp, "syslog.sock")
rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
rx.bind(syslog_path)

d = Daemon(EXE, SIGS, tmp, name="op")
write_conf(d, """inputs:
  - path: %s
    start_at: beginning
  - path: '%s'
    start_at: beginning
journal: {enabled: false}
control: {socket: %s}
metrics: {listen: "127.0.0.1:%d"}
alerting:
  syslog: {enabled: true, socket: %s, tag: mtalert-op}
  grouping: {group_wait: 0s, by: none}
  webhook_failing_after: 1h
  webhooks:
    - name: dead-hook
      url: http://127.0.0.1:%d/hook
      format: json
      timeout: 2s
      connect_timeout: 1s
""" % (log, odd, ctl, port, syslog_path, dead_port))
d.start()

# --- 1. status over the control socket ------------------------------------------
st_mode = os.stat(ctl).st_mode
ok(stat.S_ISSOCK(st_mode) and stat.S_IMODE(st_mode) == 0o660,
   "the control socket is a socket of mode 0660", oct(st_mode))

append(log, [INFO_LINE, error_line(1), error_line(2)])
ok(d.wait_alerts(2), "two 421 alerts on stdout", d.log())
st = wait_for(lambda: (lambda s: s if s and s["lines"] >= 3 else None)(status_json(d.conf_path)))
ok(st is not None and st["lines"] == 3 and st["alerts"] == 3,
   "status --json: 3 lines read, 3 alerts", json.dumps(st))
inp = ([i for i in st["inputs"] if i["path"] == log] or [{}])[0] if st else {}
ok(inp.get("path") == log and inp.get("lines") == 3 and inp.get("position") == os.path.getsize(log)
   and inp.get("last_line_age") is not None and 0 <= inp["last_line_age"] < 60,
   "status --json: the input's lines, position (= file size) and last-line age", json.dumps(inp))
s421 = sig_entry(st, SIG_421)
ok(s421 is not None and s421["total"] == 2 and s421["last_hour"] == 2
   and s421["severity"] == "warning",
   "status --json: the 421 signature matched 2 times, 2 in the last hour, warning", json.dumps(st))
ok(st is not None and st["generation"] == 1 and st["catalog_errors"] == 0 and st["signatures"] > 100,
   "status --json: catalog generation 1, no load errors", json.dumps(st))

rc, text, err = run("status", "-c", d.conf_path)
ok(rc == 0 and "LAST HOUR" in text and SIG_421 in text and log in text and "dead-hook" in text,
   "status (text): inputs, signatures and sinks tables", text + err)

# A client that connects and says nothing must not hold the loop: others get answers,
# and it is dropped after the timeout (5 s).
t0 = time.time()  # before the connection: the daemon cannot start its clock sooner
stall = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
stall.connect(ctl)
rc, text, err = run("status", "-c", d.conf_path)
ok(rc == 0 and "LINES" in text, "status answers while another client stalls", err)
stall.settimeout(30)
try:
    got = stall.recv(100)
except socket.timeout:
    got = None
waited = time.time() - t0
ok(got == b"" and 3.0 <= waited < 30, "the stalled client is dropped after the timeout",
   "recv=%r after %.1f s" % (got, waited))
print("# stalled control client dropped after %.1f s" % waited)
stall.close()

# An oversized request without a newline is answered (unknown) and closed; the daemon lives.
big = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
big.connect(ctl)
big.sendall(b"x" * 4096)
big.settimeout(20)
answer = b""
try:
    while True:
        chunk = big.recv(4096)
        if not chunk:
            break
        answer += chunk
except (socket.timeout, ConnectionResetError):
    pass
big.close()
ok(answer.startswith(b"error unknown request") and d.proc.poll() is None,
   "a 4 KiB request without newline: 'error unknown request', daemon still running", answer)

rc, out, err = run("status", "--socket", os.path.join(tmp, "nope"))
ok(rc == 69 and "no mtalertd listens" in err, "status with no daemon: exit 69 (EX_UNAVAILABLE)",
   "%d %s" % (rc, err))

# --- 2. SIGUSR1 logs the same ---------------------------------------------------------
before = d.log().count("status: LAST HOUR")
d.send(signal.SIGUSR1)
ok(d.wait_log("status: LAST HOUR", 10, count=before + 1) and ("status: 2          2 " in d.log()),
   "SIGUSR1 logs the status table (2 in the last hour, 2 in total)", d.log())

# --- 3. syslog's default min_severity is warning ---------------------------------------
rx.settimeout(60)
grams = []
try:
    while len(grams) < 2:
        grams.append(rx.recv(65536))
except socket.timeout:
    pass
ok(len(grams) == 2 and all(SIG_421.encode() in g for g in grams),
   "syslog got the two warning alerts", grams)
rx.settimeout(0.5)
try:
    extra = rx.recv(65536)
except socket.timeout:
    extra = None
ok(extra is None and not any(SIG_INFO.encode() in g for g in grams),
   "syslog did not get the info alert (default min_severity: warning)", repr(extra))
alerts = d.alerts()
ok(any(a.get("id") == SIG_INFO for a in alerts),
   "stdout (min_severity info) did get the info alert", json.dumps(alerts)[:2000])

# --- 4. Prometheus endpoint -------------------------------------------------------------
url = "http://127.0.0.1:%d/metrics" % port


def get(u, method="GET"):
    req = urllib.request.Request(u, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


# The webhook fails (nothing listens): wait until the failure counter shows it.
def failures():
    code, ctype, body = get(url)
    for line in body.splitlines():
        if line.startswith('mtalert_webhook_failures_total{webhook="dead-hook"}'):
            n = int(line.split()[-1])
            return body if n > 0 else None
    return None


body = wait_for(failures, timeout=60, step=0.2)
ok(body is not None, "metrics: mtalert_webhook_failures_total{webhook=\"dead-hook\"} > 0",
   get(url)[2])
code, ctype, body = get(url)
ok(code == 200 and ctype.startswith("text/plain; version=0.0.4"),
   "GET /metrics: 200, text/plain; version=0.0.4", "%s %s" % (code, ctype))
want = ['mtalert_lines_total{input="%s"} 3' % log,
        'mtalert_alerts_total{signature="%s",severity="warning"} 2' % SIG_421,
        'mtalert_alerts_total{signature="%s",severity="info"} 1' % SIG_INFO,
        'mtalert_build_info{version="',
        "mtalert_spool_bytes ",
        'mtalert_last_line_age_seconds{input="%s"} ' % log]
append(odd, ["Nov 23 06:00:01 mx1 postfix/qmgr[1190]: 4F2A31C0A1: from=<a@example.org>, "
              "size=1, nrcpt=1 (queue active)"])
wait_for(lambda: 'ird' in get(url)[2])
code, ctype, body = get(url)
want.append('mtalert_lines_total{input="%s"} 1'
            % odd.replace("\\", "\\\\").replace('"', '\\"'))
missing = [w for w in want if w not in body]
ok(not missing, "metrics: lines, alerts by signature and severity, build info, spool, age",
   "missing %r in\n%s" % (missing, body))
ok(get("http://127.0.0.1:%d/other" % port)[0] == 404, "GET /other: 404")

# An HTTP client that sends half a request must not hold the loop, and is closed.
t0 = time.time()  # before the connection: the daemon cannot start its clock sooner
half = socket.create_connection(("127.0.0.1", port), timeout=30)
half.sendall(b"GET /metr")
rc, text, err = run("status", "-c", d.conf_path)
ok(rc == 0 and "LINES" in text, "status answers while an HTTP client stalls", err)
ok(get(url)[0] == 200, "/metrics answers another client meanwhile")
try:
    got = half.recv(100)
except (socket.timeout, ConnectionResetError):
    got = None
waited = time.time() - t0
ok(got is not None and 5 <= waited < 30, "the stalled HTTP client is closed after the timeout",
   "recv=%r after %.1f s" % (got, waited))
print("# stalled HTTP client closed after %.1f s" % waited)
half.close()
ok(get(url, "POST")[0] == 405, "POST /metrics: 405")
with open(os.path.join(tmp, "metrics.txt"), "w") as f:
    f.write(body)
promtool = shutil.which("promtool")
if promtool:
    p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                       text=True, timeout=60)
    ok(p.returncode == 0 and p.stdout.strip() == "" and p.stderr.strip() == "",
       "promtool check metrics: no problem", p.stdout + p.stderr)
else:
    why = "promtool not installed (apt-get install prometheus)"
    print("# SKIP promtool lint: " + why)
    if os.environ.get("CI") == "true":
        ok(False, "promtool check metrics (required in CI): " + why)
    else:
        skip("promtool check metrics", why)

st = status_json(d.conf_path)
hook = [s for s in st["sinks"] if s["kind"] == "webhook"]
ok(hook and hook[0]["name"] == "dead-hook" and hook[0]["failed"] + hook[0]["retried"] > 0
   and hook[0]["failing_since"] and hook[0]["last_error"],
   "status: the webhook's failures, failing since and last error", json.dumps(hook))

# --- 5. silences -------------------------------------------------------------------------
rc, out, err = run("silence", "add", "-c", d.conf_path, "--signature", SIG_421, "--for", "1h",
                   "--comment", "relay upgrade, ticket 42")
sid = out.strip()
ok(rc == 0 and len(sid) == 16, "silence add prints the new id", out + err)
ok(wait_for(lambda: d.log().count("silences: 1 in") >= 1, 60), "the daemon loaded the silence",
   d.log())
rc, out, err = run("silence", "list", "-c", d.conf_path)
ok(rc == 0 and sid in out and "active" in out and "relay upgrade, ticket 42" in out,
   "silence list shows it, active, with its comment", out + err)
n_out = len(d.alerts())
append(log, [error_line(3)])
st = wait_for(lambda: (lambda s: s if s and s["lines"] >= 5 else None)(status_json(d.conf_path)))
s421 = sig_entry(st, SIG_421)
ok(s421 and s421["total"] == 3 and s421["silenced"] == 1 and st["silenced"] == 1
   and st["silences_active"] == 1,
   "a silenced alert still counts: total 3, silenced 1", json.dumps(st))
# Let the line reach every sink it would have reached, then look.
append(log, [INFO_LINE])
ok(wait_for(lambda: len(d.alerts()) >= n_out + 1, 60), "the next (info) alert reaches stdout")
ok(not any("seq=t-3" in a["line"] for a in d.alerts()), "the silenced alert is not on stdout")
rx.settimeout(0.5)
try:
    leaked = rx.recv(65536)
except socket.timeout:
    leaked = None
ok(leaked is None, "the silenced alert is not in syslog", repr(leaked))
code, ctype, body = get(url)
ok('mtalert_alerts_total{signature="%s",severity="warning"} 3' % SIG_421 in body
   and 'mtalert_alerts_silenced_total{signature="%s"} 1' % SIG_421 in body,
   "metrics count the silenced alert (alerts_total 3, silenced_total 1)", body)

rc, out, err = run("silence", "expire", sid, "-c", d.conf_path)
ok(rc == 0, "silence expire", out + err)
append(log, [error_line(4)])
ok(d.wait_alerts(3, 20) and any("seq=t-4" in a["line"] for a in d.alerts()),
   "after expire, the alert reaches stdout again", json.dumps(d.seqs()))
rc, out, err = run("silence", "list", "-c", d.conf_path)
ok(rc == 0 and sid not in out, "silence list hides the expired one", out)
rc, out, err = run("silence", "list", "--all", "-c", d.conf_path)
ok(rc == 0 and sid in out and "expired" in out, "silence list --all shows it as expired", out)

# Without the socket: the daemon sees the file change through inotify alone.
rc, out, err = run("silence", "add", "-c", d.conf_path, "--socket", os.path.join(tmp, "none"),
                   "--match", "relay_host=MX.example.*", "--for", "10m", "--comment", "glob")
sid2 = out.strip()
ok(rc == 0 and "no daemon answered" in err, "silence add with no socket says so", err)
ok(wait_for(lambda: d.log().count("silences: 2 in") >= 1, 60),
   "the daemon picks up the file change without the socket (inotify)", d.log())
append(log, [error_line(5), INFO_LINE])
st = wait_for(lambda: (lambda s: s if s and s["lines"] >= 8 else None)(status_json(d.conf_path)))
ok(sig_entry(st, SIG_421) is not None and sig_entry(st, SIG_421)["silenced"] == 2,
   "--match relay_host=MX.example.* (case-insensitive glob) silences the 421", json.dumps(st))
ok(sig_entry(st, SIG_INFO) is not None and sig_entry(st, SIG_INFO)["silenced"] == 0,
   "the info line (no relay) is not silenced by it", json.dumps(st))
rc, out, err = run("silence", "add", "-c", d.conf_path, "--match", "colour=red", "--for", "1h",
                   "--comment", "x")
ok(rc == 64 and "unknown match key" in err, "--match with an unknown key: usage error", err)
rc, out, err = run("silence", "add", "-c", d.conf_path, "--category", "smtp", "--for", "1h")
ok(rc == 64 and "--comment" in err, "silence add without --comment: usage error", err)
rc, out, err = run("silence", "add", "-c", d.conf_path, "-s", SIGS, "--signature",
                   "communication/smtp-421-typo", "--for", "1h", "--comment", "x")
ok(rc == 65 and "no signature has the id" in err,
   "silence add of an id not in the catalog: refused (exit 65)", "%d %s" % (rc, err))
rc, out, err = run("silence", "add", "-c", d.conf_path, "-s", SIGS, "--category",
                   "no-such-category", "--for", "1h", "--comment", "x", "--force")
ok(rc == 0 and len(out.strip()) == 16, "--force adds it anyway", err)
rc, out, err = run("silence", "expire", "0000", "-c", d.conf_path)
ok(rc != 0 and "no silence has the id" in err, "expire of an unknown id fails", err)

# A broken silences file is refused; the known silences stay in force.
with open(os.path.join(d.state, "silences.json.new"), "w") as f:
    f.write('{"silences": [{"id": "zz", "kind": "signature"}]}')
os.rename(os.path.join(d.state, "silences.json.new"), os.path.join(d.state, "silences.json"))
ok(d.wait_log("not read; keeping the 3 silences already known", 15),
   "a broken silences file is refused, the known silences kept", d.log())
rc = d.stop()
ok(rc == 0, "daemon stops cleanly", d.log())
ok(not os.path.exists(ctl), "the control socket is removed at stop")

# --- 6. maintenance windows --------------------------------------------------------------
tmp2 = os.path.join(tmp, "mw")
os.mkdir(tmp2)
log2 = os.path.join(tmp2, "mail.log")
open(log2, "w").close()
now = time.localtime(time.time() - 60)
days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
start = "%02d:%02d" % (now.tm_hour, now.tm_min)
end_min = (now.tm_hour * 60 + now.tm_min + 5) % 1440
end = "%02d:%02d" % (end_min // 60, end_min % 60)
wday = (now.tm_wday + 1) % 7  # Python's Monday is 0
m = Daemon(EXE, SIGS, tmp2, name="mw")
write_conf(m, """inputs:
  - path: %s
    start_at: beginning
journal: {enabled: false}
control: {socket: %s}
alerting:
  syslog: {enabled: false}
maintenance:
  - signatures: ["category:nonexistent"]
    start: "00:00"
    end: "00:00"
  - signatures: [%s]
    days: [%s]
    start: "%s"
    end: "%s"
    comment: weekly relay upgrade
""" % (log2, os.path.join(tmp2, "control"), SIG_421, days[wday], start, end))
rc, out, err = run("check", "-c", m.conf_path, "-s", SIGS)
ok(rc == 0, "check accepts the maintenance windows", out + err)
m.start()
append(log2, [error_line(1, "m"), INFO_LINE])
st = wait_for(lambda: (lambda s: s if s and s["lines"] >= 2 else None)(status_json(m.conf_path)))
ok(st and st["maintenance_windows_open"] == 2 and sig_entry(st, SIG_421)
   and sig_entry(st, SIG_421)["silenced"] == 1,
   "an open maintenance window (%s %s-%s) silences the 421 and is counted" % (days[wday], start,
                                                                              end),
   json.dumps(st))
ok(wait_for(lambda: len(m.alerts()) >= 1, 60)
   and not any("seq=m-1" in a["line"] for a in m.alerts()),
   "the window's alert is not on stdout; the info alert is", json.dumps(m.alerts())[:1000])
m.stop()

bad = Daemon(EXE, SIGS, tmp2, name="bad")
write_conf(bad, """maintenance:
  - signatures: [x/y]
    days: [someday]
    start: "25:00"
    end: "02:00"
metrics: {listen: "localhost:99999"}
""")
rc, out, err = run("check", "-c", bad.conf_path, "-s", SIGS)
ok(rc != 0 and "someday" in err + out and "start must be a time" in err + out
   and "metrics.listen" in err + out,
   "check reports a bad day, a bad time and a bad metrics.listen", out + err)

# --- 7. rotations, per-webhook spool, counters across a reload ---------------------------
tmp3 = os.path.join(tmp, "rot")
os.mkdir(tmp3)
log3 = os.path.join(tmp3, "mail.log")
open(log3, "w").close()
recv = Receiver("127.0.0.1")
port3 = free_port()
r = Daemon(EXE, SIGS, tmp3, name="rot")
write_conf(r, """inputs:
  - path: %s
    start_at: beginning
journal: {enabled: false}
control: {socket: %s}
metrics: {listen: "127.0.0.1:%d"}
alerting:
  syslog: {enabled: false}
  grouping: {group_wait: 0s, by: none}
  webhook_failing_after: 1h
  webhooks:
    - name: live
      url: %s
      format: json
    - name: dead
      url: http://127.0.0.1:%d/hook
      format: json
      timeout: 2s
      connect_timeout: 1s
""" % (log3, os.path.join(tmp3, "control"), port3, recv.url("/hook"), free_port()))
r.start()


def status3(pred):
    return wait_for(lambda: (lambda s: s if s and pred(s) else None)(status_json(r.conf_path)), 60)


def inp3(st):
    return ([i for i in (st or {}).get("inputs", []) if i["path"] == log3] or [{}])[0]


def sink3(st, name):
    return ([k for k in (st or {}).get("sinks", []) if k.get("name") == name] or [{}])[0]


append(log3, [error_line(1, "r"), error_line(2, "r")])
st = status3(lambda s: inp3(s).get("lines") == 2)
ok(st and inp3(st).get("rotations") == 0 and inp3(st).get("truncations") == 0,
   "status: no rotation before the first one", json.dumps(inp3(st)))
# rename + create (logrotate's default), then copytruncate.
os.rename(log3, log3 + ".1")
open(log3, "w").close()
append(log3, [error_line(3, "r")])
st = status3(lambda s: inp3(s).get("lines") == 3)
ok(st and inp3(st).get("rotations") == 1 and inp3(st).get("truncations") == 0,
   "status: a rename and create is one rotation, no truncation", json.dumps(inp3(st)))
shutil.copyfile(log3, log3 + ".1")
with open(log3, "r+") as f:
    f.truncate(0)
append(log3, [error_line(4, "r")])
st = status3(lambda s: inp3(s).get("lines") == 4)
ok(st and inp3(st).get("rotations") == 1 and inp3(st).get("truncations") == 1
   and inp3(st).get("lost") == 0 and inp3(st).get("position") == os.path.getsize(log3),
   "status: a copytruncate is one truncation; 4 lines, 0 lost, position at the end",
   json.dumps(inp3(st)))
rc, text, err = run("status", "-c", r.conf_path)
ok(rc == 0 and "TRUNC" in text and "LOST" in text, "status (text): TRUNC and LOST columns",
   text + err)

# The live webhook delivers everything; the dead one keeps its notifications on disk.
st = status3(lambda s: sink3(s, "live").get("sent", 0) >= 1 and sink3(s, "dead").get("failed", 0)
             + sink3(s, "dead").get("retried", 0) >= 1 and sink3(s, "live").get("queued") == 0)


def spool_size(name):
    d = os.path.join(r.state, "spool", name)
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
               if f.endswith(".req")) if os.path.isdir(d) else 0


# The spool may still change (an update spooled): wait until status and disk agree.
st = status3(lambda s: sink3(s, "dead").get("spool_bytes", 0) == spool_size("dead") > 0) or st
ok(st and sink3(st, "dead").get("spool_bytes", 0) > 0
   and sink3(st, "dead")["spool_bytes"] == spool_size("dead")
   and sink3(st, "live").get("spool_bytes") == 0,
   "status: each webhook's spool bytes (dead: %d on disk; live: 0)" % spool_size("dead"),
   json.dumps((st or {}).get("sinks")))
before = st
body = get("http://127.0.0.1:%d/metrics" % port3)[2]
ok('mtalert_webhook_spool_bytes{webhook="dead"} %d' % spool_size("dead") in body
   and 'mtalert_input_truncations_total{input="%s"} 1' % log3 in body
   and 'mtalert_input_rotations_total{input="%s"} 1' % log3 in body
   and 'mtalert_input_lost_lines_total{input="%s"} 0' % log3 in body,
   "metrics: per-webhook spool bytes, rotations, truncations, lost lines", body)

# A reload replaces the sinks: their counters carry on, they do not start again at 0.
r.send(signal.SIGHUP)
st = status3(lambda s: s["generation"] == 2)


def stdout_sent(st):
    return [k for k in st["sinks"] if k["kind"] == "stdout"][0]["sent"]


ok(st and sink3(st, "live").get("sent", 0) >= sink3(before, "live")["sent"] > 0
   and sink3(st, "dead").get("failed", 0) + sink3(st, "dead").get("retried", 0)
   >= sink3(before, "dead")["failed"] + sink3(before, "dead")["retried"] > 0
   and stdout_sent(st) >= stdout_sent(before) > 0,
   "status after a reload: webhook and stdout counters kept (live sent %s -> %s)"
   % (sink3(before, "live").get("sent"), sink3(st, "live").get("sent")),
   json.dumps((st or {}).get("sinks")))
append(log3, [error_line(5, "r")])
n_before = sink3(st, "live").get("sent", 0)
st = status3(lambda s: sink3(s, "live").get("sent", 0) > n_before)
ok(st is not None and inp3(st).get("rotations") == 1 and inp3(st).get("truncations") == 1,
   "after a reload: a new delivery adds to the carried count; the tail's counts stay",
   json.dumps(st))
r.stop()
recv.stop()

rx.close()
shutil.rmtree(tmp, ignore_errors=True)
done()
