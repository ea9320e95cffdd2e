#!/usr/bin/env python3
"""mtalert never alerts on its own output (issue 9, bug 1): a real private
rsyslogd runs Debian's stock /etc/rsyslog.conf rules (only the output paths,
the work directory and the input socket are moved into a temp directory),
mtalertd follows the private mail.log and syslog with its syslog sink
pointed at the private socket, and one Postfix 421 line is written into the
socket as Postfix writes it (facility mail, tag postfix/smtp[pid]).

Before the fix the alert went back through `mail.* -/var/log/mail.log` (and
`*.*;auth,authpriv.none -/var/log/syslog`), matched the 421 signature again,
and one line became a storm that fills the disk.  Four runs: the syslog
format text and json, each with the default facility and with `facility:
mail` set (the old default), so the own-line skip is proven whatever the
routing.  Two more runs with format rfc5424, which the stock socket's
parser (RFC 3164 only) writes under its own header with the RFC 5424
header in the message (the parser reads that form too).  Each run
asserts: one alert per followed file holding the Postfix line (mail.* and
*.* both get it) and none for mtalert's lines; each alert goes back once
into syslog (*.*) and, for facility mail only, once into mail.log; the
mtalert lines read back would alert if not skipped (`mtalertd scan` matches
them); the SIGUSR1 counters count every one of them as an own line skipped;
the files stop growing.  A storm is cut short: past STORM_BYTES the run
stops and fails.

usage: test_feedback.py MTALERTD SIGNATURES_DIR
Needs Debian's rsyslog (scripts/test installs it): without it the test says
so loudly and fails under CI=true.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, MARK  # noqa: E402
from tap import done, ok, skip  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
STOCK_CONF = "/etc/rsyslog.conf"
SIG_ID = "communication/smtp-421-service-not-available"
POSTFIX_PID = 1234
TAG = "mtalert"              # the default tag: the one a real host runs with
STORM_BYTES = 1 << 20        # a log grown past this is a feedback storm: stop at once
CHECKPOINT = 0.2             # the daemon's checkpoint_interval, seconds
QUIET = 10 * CHECKPOINT      # files unchanged this long after the last expected event


def postfix_message(qid):
    """What postfix/smtp hands to syslog for a 421 deferral (no header: syslog adds it)."""
    return ("%s: to=<bob@example.net>, relay=mx.example.net[203.0.113.25]:25, delay=1.2, "
            "delays=0.1/0/0.5/0.6, dsn=4.7.0, status=deferred (host mx.example.net"
            "[203.0.113.25] said: %s (in reply to MAIL FROM command))" % (qid, MARK))


def syslog_send(sock_path, msg, prog="postfix/smtp", pid=POSTFIX_PID, pri=2 * 8 + 6):
    """One datagram as syslog(3) sends it (glibc's local format, no host name):
    <PRI>Mmm dd hh:mm:ss PROG[PID]: MSG; by default Postfix's smtp, mail.info."""
    stamp = time.strftime("%b %d %H:%M:%S", time.localtime())
    if stamp[4] == "0":
        stamp = stamp[:4] + " " + stamp[5:]   # %e: the day padded with a space
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(("<%d>%s %s[%d]: %s" % (pri, stamp, prog, pid, msg)).encode(), sock_path)
    finally:
        s.close()


def stock_rules(tmp, sock):
    """Debian's /etc/rsyslog.conf with its paths moved into tmp; everything else as shipped."""
    out = ["# %s, paths moved into %s by test_feedback.py" % (STOCK_CONF, tmp)]
    with open(STOCK_CONF) as f:
        for line in f.read().splitlines():
            s = line.strip()
            if s.startswith('module(load="imuxsock")'):
                # The host's /dev/log stays the host's: our own socket instead.
                line = ('module(load="imuxsock" SysSock.Use="off")\n'
                        'input(type="imuxsock" Socket="%s")' % sock)
            elif s.startswith('module(load="imklog")'):
                line = "# " + line + "  (the kernel log is the host's)"
            elif s.startswith("$WorkDirectory"):
                line = "$WorkDirectory %s" % tmp
            elif s.startswith("$IncludeConfig"):
                # /etc/rsyslog.d/ opens sockets of the host (postfix.conf: the chroot's dev/log).
                line = "# " + line + "  (the host's drop-ins are not ours)"
            elif (s.startswith("$FileGroup") or s.startswith("$FileOwner")) and os.getuid() != 0:
                line = "# " + line + "  (not root: files stay ours)"
            line = re.sub(r"/var/log/", tmp + "/", line)
            out.append(line)
    return "\n".join(out) + "\n"


class Rsyslog:
    def __init__(self, exe, tmp):
        self.tmp = tmp
        self.sock = os.path.join(tmp, "log.sock")
        self.conf = os.path.join(tmp, "rsyslog.conf")
        rules = stock_rules(tmp, self.sock)
        with open(self.conf, "w") as f:
            f.write(rules)
        self.rules = rules
        self.err_path = os.path.join(tmp, "rsyslogd.err")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([exe, "-n", "-f", self.conf, "-i",
                                      os.path.join(tmp, "rsyslogd.pid")],
                                     stdout=self.err, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            if os.path.exists(self.sock):
                return True
            time.sleep(0.05)
        return False

    def log(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


def read_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").split("\n")[:-1]
    except FileNotFoundError:
        return []


def size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


class Storm(Exception):
    pass


def wait_until(pred, timeout, files):
    """Poll pred() until true or timeout; raise Storm as soon as a file passes STORM_BYTES."""
    deadline = time.time() + timeout
    while True:
        big = [(p, size(p)) for p in files if size(p) > STORM_BYTES]
        if big:
            raise Storm("feedback storm: %r" % big)
        if pred():
            return True
        if time.time() > deadline:
            return False
        time.sleep(0.05)


# rsyslogd's file format on Debian 12 (RSYSLOG_FileFormat): TIMESTAMP HOST TAG[PID]: MSG
def own(line):
    """A line rsyslogd wrote for our tag (the header, not a quote in a message).  An RFC 5424
    datagram on the stock socket (whose parser reads RFC 3164 only) is written with its
    header unparsed in the message: TS HOST 1 TS HOST mtalert PID MSGID [SD] MSG."""
    return re.match(r"\S+ \S+ (%s\[\d+\]: |1 \S+ \S+ %s \d+ )" % (re.escape(TAG), re.escape(TAG)),
                    line) is not None


def postfix(line, qid):
    return re.match(r"\S+ \S+ postfix/smtp\[%d\]: %s: " % (POSTFIX_PID, qid), line) is not None


def run_variant(rsyslogd, top, fmt, facility, qid, check=ok):
    name = "%s-%s" % (fmt, facility or "default")
    tmp = os.path.join(top, name)
    os.mkdir(tmp)
    mail_log, syslog = os.path.join(tmp, "mail.log"), os.path.join(tmp, "syslog")
    files = [mail_log, syslog]
    for p in files:   # as on a host: the logs exist; mtalertd follows them from their end
        open(p, "w").close()
    rs = Rsyslog(rsyslogd, tmp)
    d = None
    try:
        if not check(rs.wait_ready(), "%s: private rsyslogd with Debian's stock rules is up" % name,
                     rs.log() + rs.rules):
            return
        d = Daemon(EXE, SIGS, tmp, name="mtalertd")
        with open(d.conf_path, "w") as f:
            f.write("state_directory: %s\ncheckpoint_interval: %dms\n"
                    % (os.path.join(tmp, "state"), CHECKPOINT * 1000))
            f.write("inputs:\n  - path: %s\n  - path: %s\n" % (mail_log, syslog))
            f.write("alerting:\n  stdout:\n    enabled: true\n")
            f.write("  syslog:\n    enabled: true\n    format: %s\n    socket: %s\n"
                    % (fmt, rs.sock))
            if facility:
                f.write("    facility: %s\n" % facility)
        os.chmod(d.conf_path, 0o600)
        d.start()
        sizes0 = [size(p) for p in files]

        # The one error line, as postfix/smtp sends it to /dev/log.
        syslog_send(rs.sock, postfix_message(qid))

        def alerts():
            out = []
            for raw in open(d.out_path, "rb").read().split(b"\n"):
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    pass  # the last, unfinished line
            return out

        def pf_alerts():
            return [a for a in alerts() if postfix(a.get("line", ""), qid)]

        # The Postfix line lands in both files (mail.* and *.*): one alert for each.
        check(wait_until(lambda: len(pf_alerts()) >= 2, 60, files),
              "%s: the 421 line alerts (from mail.log and from syslog)" % name,
              d.log() + "\n".join(read_lines(mail_log) + read_lines(syslog)))
        where = "mail.log" if facility == "mail" else "syslog"
        # Each alert goes to syslog once, and rsyslogd writes it to syslog (*.*) and,
        # for facility mail, to mail.log too.
        nalerts = 2
        want_own = nalerts * (2 if facility == "mail" else 1)
        got_own = wait_until(lambda: sum(own(x) for p in files for x in read_lines(p)) >= want_own,
                             30, files)
        check(got_own, "%s: rsyslogd wrote the alert back into %s" % (name, where),
              "\n".join(read_lines(mail_log) + read_lines(syslog)))

        # Every line of ours that rsyslogd wrote was read back and skipped.
        def counters():
            n = d.log().count("counters:")
            d.send(signal.SIGUSR1)
            if not d.wait_log("counters:", 10, count=n + 1):
                return None
            m = re.findall(r"own lines skipped (\d+)", d.log())
            return int(m[-1]) if m else None

        skipped = []
        wait_until(lambda: skipped.append(counters()) or skipped[-1] == want_own, 60, files)
        check(skipped and skipped[-1] == want_own,
              "%s: SIGUSR1 counters: own lines skipped %d" % (name, want_own),
              "%r\n%s" % (skipped[-3:], d.log()[-1500:]))

        # Nothing more happens: a few checkpoints with no growth.
        before = [size(p) for p in files] + [size(d.out_path)]
        t0 = time.time()
        wait_until(lambda: time.time() - t0 > QUIET, QUIET + 5, files)
        after = [size(p) for p in files] + [size(d.out_path)]
        check(before == after and after[0] - sizes0[0] < 64 * 1024,
              "%s: files stop growing (mail.log %d -> %d bytes, syslog %d -> %d)"
              % (name, sizes0[0], after[0], sizes0[1], after[1]), "%r -> %r" % (before, after))

        mail_lines, sys_lines = read_lines(mail_log), read_lines(syslog)
        pf_mail = [x for x in mail_lines if postfix(x, qid)]
        own_mail = [x for x in mail_lines if own(x)]
        own_sys = [x for x in sys_lines if own(x)]
        n_mail = nalerts if facility == "mail" else 0
        check(len(pf_mail) == 1 and len(own_mail) == n_mail and len(mail_lines) == 1 + n_mail,
              "%s: mail.log: the one Postfix line and %d mtalert lines (one per alert)"
              % (name, n_mail), "%d lines, %d postfix, %d own\n%s"
              % (len(mail_lines), len(pf_mail), len(own_mail),
                 "\n".join(x[:150] for x in mail_lines)))
        check(len(own_sys) == nalerts and len(sys_lines) == 1 + nalerts,
              "%s: syslog: the Postfix line and %d mtalert lines (*.* gets every facility)"
              % (name, nalerts), "\n".join(sys_lines))
        pf = pf_alerts()
        check(len(alerts()) == 2 and sorted(os.path.basename(a.get("file", "")) for a in pf) ==
              ["mail.log", "syslog"] and all(a.get("id") == SIG_ID for a in pf),
              "%s: exactly one alert per followed file for the Postfix line, none for mtalert's"
              % name, "\n".join(json.dumps({k: a.get(k) for k in ("id", "file", "line")})
                                for a in alerts()))

        # The lines skipped would have alerted: not a vacuous skip.
        back = os.path.join(tmp, "own-lines.log")
        with open(back, "w") as f:
            f.write("\n".join(own_mail + own_sys) + "\n")
        p = subprocess.run([EXE, "-s", SIGS, "scan", back], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        ids = [json.loads(x).get("id") for x in p.stdout.decode().splitlines() if x.strip()]
        if fmt == "json":
            # The JSON alert carries the raw line, reply and all: it would alert again.
            check(p.returncode == 0 and ids == [SIG_ID] * len(own_mail + own_sys),
                  "%s: what mtalert wrote to syslog matches the 421 signature by itself "
                  "(the skip, not luck, stops the loop)" % name,
                  "%r\n%s\n%s" % (ids, p.stderr.decode()[-500:], (own_mail + own_sys)[:2]))
        else:
            # The text forms carry the title, not the reply the 421 record needs since
            # it requires the reply's context: the skip counter above proves the skip.
            print("# %s: the %s form read back alone matches %r" % (name, fmt, ids))
        if own_sys:
            print("# %s: read back: %s" % (name, own_sys[0][:200]))

        # Under systemd, journald forwards the daemon's stdout (its alerts) to syslog as
        # mtalertd[PID], facility daemon: *.* writes it to syslog.  Skipped too.
        first = open(d.out_path, "rb").read().split(b"\n")[0].decode()
        syslog_send(rs.sock, first, prog="mtalertd", pid=d.proc.pid, pri=3 * 8 + 6)
        check(wait_until(lambda: any(re.match(r"\S+ \S+ mtalertd\[%d\]: \{" % d.proc.pid, x)
                                     for x in read_lines(syslog)), 60, files),
              "%s: rsyslogd wrote mtalertd's forwarded stdout into syslog" % name,
              "\n".join(read_lines(syslog))[-1000:])
        wait_until(lambda: skipped.append(counters()) or skipped[-1] == want_own + 1, 60, files)
        check(skipped[-1] == want_own + 1 and len(alerts()) == 2,
              "%s: mtalertd's own forwarded output is skipped (own lines %d), no new alert"
              % (name, want_own + 1), "%r, %d alerts" % (skipped[-3:], len(alerts())))
        rc = d.stop()
        d = None
        check(rc == 0, "%s: mtalertd stops cleanly" % name)
    except Storm as e:
        check(False, "%s: no feedback storm" % name, "%s\n%s" % (e, d.log()[-1500:] if d else ""))
    finally:
        if d is not None and d.proc is not None:
            d.stop(timeout=5)
        rs.stop()
        for p in files:   # a storm must not leave a full disk behind
            if size(p) > STORM_BYTES:
                os.unlink(p)


rsyslogd = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd"
                                        if os.path.exists("/usr/sbin/rsyslogd") else None)
top = tempfile.mkdtemp(prefix="mt-feedback-")
try:
    if rsyslogd is None or not os.path.exists(STOCK_CONF):
        why = "needs Debian's rsyslog (rsyslogd, %s)" % STOCK_CONF
        print("# " + "!" * 70 + "\n# SKIP: " + why)
        if os.environ.get("CI") == "true":
            ok(False, "feedback test runs (required in CI): " + why)
        else:
            skip("feedback loop with a real rsyslogd", why)
    else:
        with open(STOCK_CONF) as f:
            stock = f.read()
        # The rules this test is about are the ones Debian ships.
        ok(re.search(r"^mail\.\*\s+-/var/log/mail\.log$", stock, re.M) and
           re.search(r"^\*\.\*;auth,authpriv\.none\s+-/var/log/syslog$", stock, re.M),
           "%s has Debian's stock mail.* and *.* rules" % STOCK_CONF, stock)
        n = 0
        for fmt in ("text", "json", "rfc5424"):
            for facility in (None, "mail"):
                n += 1
                run_variant(rsyslogd, top, fmt, facility, "4F2A31C0A%d" % n,
                            check=ok)
finally:
    shutil.rmtree(top, ignore_errors=True)
done()
