"""Start the real mtalertd on a temporary directory and watch what it does.

Shared by the daemon integration tests and benchmarks.  Alerts go to a file
(JSON Lines) that the harness reads back; the daemon's own log goes to
another.  Everything is bounded in time: wait_for() gives up after its
timeout, and stop() kills what did not stop.
"""
import json
import os
import signal
import socket
import subprocess
import time

# The shortest deadline of any wait for the daemon.  A wait that succeeds returns as
# soon as its event is there, so a long deadline costs nothing when the test passes;
# a short one fails a correct daemon on a loaded CI runner (2 cores, ASan makes the
# daemon 2-5 times slower).  Every caller only waits for what must happen: none uses
# a wait's timeout to check that something did not happen.
MIN_WAIT = 60

MARK = "421 4.7.0 Service not available, closing transmission channel"


def error_line(seq, tag="t"):
    """A Postfix line that the shipped 421 signature alerts on, numbered."""
    return ("Nov 23 06:00:03 mx1 postfix/smtp[2110]: 4F2A31C0A1: to=<bob@example.net>, "
            "relay=mx.example.net[203.0.113.25]:25, delay=1.2, delays=0.1/0/0.5/0.6, "
            "dsn=4.7.0, status=deferred (host mx.example.net[203.0.113.25] said: %s "
            "(in reply to MAIL FROM command)) seq=%s-%d" % (MARK, tag, seq))


def benign_line(seq):
    return ("Nov 23 06:00:01 mx1 postfix/qmgr[1190]: 4F2A31C0A1: from=<alice@example.org>, "
            "size=%d, nrcpt=1 (queue active)" % seq)


class Daemon:
    def __init__(self, exe, sigdir, tmp, config="", env=None, name="d"):
        self.exe, self.sigdir, self.tmp = exe, sigdir, tmp
        self.state = os.path.join(tmp, "state")
        self.out_path = os.path.join(tmp, name + ".out")
        self.err_path = os.path.join(tmp, name + ".err")
        self.conf_path = os.path.join(tmp, name + ".yaml")
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.starts = 0
        self.write_config(config)

    def write_config(self, body):
        with open(self.conf_path, "w") as f:
            f.write("state_directory: %s\ncheckpoint_interval: 200ms\n" % self.state)
            f.write("alerting:\n  syslog:\n    enabled: false\n")
            f.write(body)
            # Each daemon its own control socket, not the host's /run/mtalert/control
            # (last, so that the body's line numbers stay what the tests expect).
            if body and not body.endswith("\n"):
                f.write("\n")
            f.write("control:\n  socket: %s\n" % os.path.join(self.tmp, "control"))
        os.chmod(self.conf_path, 0o600)

    def start(self, wait_ready=True):
        self.out = open(self.out_path, "ab")
        self.err = open(self.err_path, "ab")
        # sigdir None: no -s, the daemon's own default (the configuration's, else the catalog's).
        sig = ["-s", self.sigdir] if self.sigdir is not None else []
        self.proc = subprocess.Popen([self.exe, "-c", self.conf_path] + sig,
                                     stdout=self.out, stderr=self.err, env=self.env)
        if wait_ready:
            self.wait_log("started:", 20, count=self.starts + 1)
        self.starts += 1
        return self

    def log(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, text, timeout=10, count=1):
        """True once the daemon's log holds text count times (False at once if it exited)."""
        deadline = time.time() + max(timeout, MIN_WAIT)
        while time.time() < deadline:
            if self.log().count(text) >= count:
                return True
            if self.proc and self.proc.poll() is not None:
                break
            time.sleep(0.02)
        return False

    def alerts(self):
        """The alerts on stdout so far.  A complete line that is not JSON is
        read again a few times (a read racing the daemon's write), then
        reported with its bytes: garbage on stdout is a bug, not a retry."""
        for attempt in range(6):
            out, bad = [], None
            with open(self.out_path, "rb") as f:
                for i, raw in enumerate(f):
                    if not raw.endswith(b"\n"):
                        continue  # being written right now
                    try:
                        out.append(json.loads(raw))
                    except ValueError as e:
                        bad = "%s: line %d is not JSON (%s): %r" % (self.out_path, i + 1, e,
                                                                   raw[:400])
                        break
            if bad is None:
                return out
            time.sleep(0.2)
        raise AssertionError(bad)

    def seqs(self):
        """seq tags of the alerts, in order."""
        res = []
        for a in self.alerts():
            line = a["line"]
            i = line.rfind(" seq=")
            if i >= 0:
                res.append(line[i + 5:])
        return res

    def wait_alerts(self, n, timeout=30):
        """True once n alerts with a seq tag are on stdout."""
        deadline = time.time() + max(timeout, MIN_WAIT)
        while time.time() < deadline:
            if len(self.seqs()) >= n:
                return True
            time.sleep(0.05)
        return False

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.out.close()
        self.err.close()
        self.proc = None
        return rc


def free_port():
    """A loopback TCP port nobody listens on (for now)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def append(path, lines):
    with open(path, "a") as f:
        for line in lines:
            f.write(line + "\n")


def notify_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.2)
    return s


def scan_summary(exe, sigdir, path):
    """`mtalertd scan --summary --format json` of one log: (its exit status,
    the summary ({} if it printed no JSON), its destinations by name)."""
    r = subprocess.run([exe, "scan", "-s", sigdir, "--summary", "--format", "json", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        summ = json.loads(r.stdout)
    except ValueError:
        summ = {}
    return r.returncode, summ, dict((x["destination"], x) for x in summ.get("destinations", []))
