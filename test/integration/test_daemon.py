#!/usr/bin/env python3
"""Integration tests of mtalertd running: real files, real rotations, real
restarts, real signals.  A writer appends numbered lines; each test counts
that every line that should alert did alert exactly once.

usage: test_daemon.py MTALERTD SIGNATURES_DIR
"""
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, append, benign_line, error_line, notify_socket  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]




def exactly_once(seqs, want):
    got = {}
    for s in seqs:
        got[s] = got.get(s, 0) + 1
    missing = [w for w in want if w not in got]
    dup = [s for s, c in got.items() if c > 1]
    extra = [s for s in got if s not in set(want)]
    return missing, dup, extra


def report(missing, dup, extra):
    return "missing %d %s\nduplicated %d %s\nunexpected %d %s" % (
        len(missing), missing[:10], len(dup), dup[:10], len(extra), extra[:10])


def fresh():
    return tempfile.mkdtemp(prefix="mt-daemon-")


# 1. start_at end, then new lines; beginning reads what is there.
tmp = fresh()
log = os.path.join(tmp, "mail.log")
append(log, [error_line(i, "old") for i in range(5)])
d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % log).start()
append(log, [error_line(i, "new") for i in range(5)])
d.wait_alerts(5, 10)
m, dup, ext = exactly_once(d.seqs(), ["new-%d" % i for i in range(5)])
ok(not (m or dup or ext), "start_at end: only lines written after start", report(m, dup, ext) + d.log())
a = d.alerts()[0] if d.alerts() else {}
ok(a.get("id") == "communication/smtp-421-service-not-available" and a.get("file") == log and
   a.get("workarounds") and a.get("hostname"), "alert names signature, file, workaround, host", a)
ok(d.stop() == 0 and "stopped" in d.log(), "SIGTERM: clean exit 0")
d2 = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n    start_at: beginning\n" % log, name="b")
shutil.rmtree(d2.state, ignore_errors=True)
d2.start()
d2.wait_alerts(10, 10)
m, dup, ext = exactly_once(d2.seqs(), ["old-%d" % i for i in range(5)] + ["new-%d" % i for i in range(5)])
ok(not (m or dup or ext), "start_at beginning reads the whole file", report(m, dup, ext))
d2.stop()
shutil.rmtree(tmp)

# 2. a burst of 100,000 lines (1 in 10 alerts), and slow byte-by-byte writes.
tmp = fresh()
log = os.path.join(tmp, "mail.log")
open(log, "w").close()
d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\nlimits:\n  partial_line_timeout: 5s\n" % log).start()
want = []
with open(log, "a") as f:
    for i in range(100000):
        if i % 10 == 0:
            f.write(error_line(i, "burst") + "\n")
            want.append("burst-%d" % i)
        else:
            f.write(benign_line(i) + "\n")
d.wait_alerts(len(want), 60)
m, dup, ext = exactly_once(d.seqs(), want)
ok(not (m or dup or ext), "burst of 100,000 lines: 10,000 alerts, each once", report(m, dup, ext))
with open(log, "a") as f:
    for i in range(3):
        for ch in error_line(i, "slow") + "\n":
            f.write(ch)
            f.flush()
            time.sleep(0.0005)
d.wait_alerts(len(want) + 3, 20)
m, dup, ext = exactly_once(d.seqs(), want + ["slow-%d" % i for i in range(3)])
ok(not (m or dup or ext), "slow byte-by-byte writes: whole lines, each once", report(m, dup, ext))
lines_before = len(d.alerts())
d.stop()

# 3. a line with no newline is completed by the timeout.
d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\nlimits:\n  partial_line_timeout: 300ms\n" % log,
           name="p").start()
with open(log, "a") as f:
    f.write(error_line(0, "partial"))
d.wait_alerts(1, 10)
ok(d.seqs() == ["partial-0"], "a partial line is taken after partial_line_timeout", d.seqs())
with open(log, "a") as f:
    f.write("\n" + error_line(1, "partial") + "\n")
d.wait_alerts(2, 10)
ok(d.seqs() == ["partial-0", "partial-1"], "the line after it is intact", d.seqs())
d.stop()
shutil.rmtree(tmp)


# 4. every rotation style, in a loop, while a writer keeps writing.
def holds_open(pid, path):
    """Whether process pid has the file now at path open (by device and inode)."""
    try:
        st = os.stat(path)
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            f = os.stat("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if (f.st_dev, f.st_ino) == (st.st_dev, st.st_ino):
            return True
    return False


class SeqsSeen:
    """The seq tags alerted so far, read incrementally from the daemon's stdout (its
    complete lines only): cheap enough to poll while a writer keeps writing."""

    def __init__(self, d):
        self.path, self.pos, self.seen = d.out_path, 0, set()

    def update(self):
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.pos += end
        self.seen.update(m.decode() for m in re.findall(rb' seq=([A-Za-z0-9_-]+)"', data[:end]))
        return self.seen

    def wait(self, seqs, timeout):
        """True once every one of seqs has alerted."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not set(seqs) - self.update():
                return True
            time.sleep(0.05)
        return False


def rotation_run(style, rounds=6, per_round=300):
    tmp = fresh()
    log = os.path.join(tmp, "mail.log")
    open(log, "w").close()
    d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % log).start()
    lock = threading.Lock()
    want = []
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            with lock:
                # Open, append, close: the writer always writes to the current path,
                # as syslog daemons do once told to reopen.
                with open(log, "a") as f:
                    for _ in range(10):
                        f.write(error_line(i, style) + "\n")
                        want.append("%s-%d" % (style, i))
                        i += 1
            time.sleep(0.002)

    t = threading.Thread(target=writer)
    t.start()
    copied = 0  # lines written before the last copytruncate (its copy holds their rest)
    seen = SeqsSeen(d)
    for r in range(rounds):
        time.sleep(0.5 if style == "copytruncate" else 0.15)
        if style == "copytruncate" and copied:
            # A reader starved across two rotations loses the first copy's unread rest
            # for good, whoever reads (the next round renames that copy away): on a
            # loaded machine, wait until the daemon has read every line of it.
            with lock:
                owed = want[:copied]
            seen.wait(owed, 60)
        if style in ("rename", "delete", "replace"):
            # A file unlinked before any reader opened it is gone for every reader
            # (the tail drains a deleted file it holds open, not one it never saw;
            # "rename" unlinks the previous mail.log.1 the next round): on a loaded
            # machine, wait until the daemon holds this one open.
            deadline = time.time() + 60
            while time.time() < deadline and not holds_open(d.proc.pid, log):
                time.sleep(0.01)
        with lock:
            if style == "rename":            # logrotate create, postfix logrotate
                os.rename(log, log + ".1")
                open(log, "w").close()
            elif style == "copytruncate":    # writer paused: the copy/truncate race is logrotate's
                copied = len(want)
                # As logrotate does it: older copies shift (.1 -> .2), then copy, then truncate.
                if os.path.exists(log + ".1"):
                    os.rename(log + ".1", log + ".2.%d" % r)
                shutil.copy(log, log + ".1")
                with open(log, "r+") as f:
                    f.truncate(0)
            elif style == "delete":          # delete + recreate
                os.unlink(log)
                open(log, "w").close()
            elif style == "replace":         # another file renamed over the name
                with open(log + ".new", "w") as f:
                    f.write("")
                os.rename(log + ".new", log)
            elif style == "shrink":          # shrinks to a short new content, once read:
                # with no copy anywhere, bytes not read before a shrink are gone
                # for every reader, so wait until the daemon has them.
                d.wait_alerts(len(want), 10)
                with open(log, "w") as f:
                    f.write(benign_line(r) + "\n")
    stop.set()
    t.join()
    d.wait_alerts(len(want), 30)
    m, dup, ext = exactly_once(d.seqs(), want)
    log_text = d.log()
    d.stop()
    shutil.rmtree(tmp)
    return m, dup, ext, len(want), log_text


for style in ["rename", "copytruncate", "delete", "replace", "shrink"]:
    m, dup, ext, total, text = rotation_run(style)
    ok(not (m or dup or ext), "rotation by %s, %d times while writing: %d lines, each once"
       % (style, 6, total), report(m, dup, ext) + "\n" + text)

# 5. clean restarts in the middle of writing: nothing lost, nothing twice.
tmp = fresh()
log = os.path.join(tmp, "mail.log")
open(log, "w").close()
d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % log)
want = []
seq = 0
for r in range(4):
    d.start()
    for k in range(200):
        append(log, [error_line(seq, "restart")])
        want.append("restart-%d" % seq)
        seq += 1
    d.stop()                                       # SIGTERM while lines may be unread
    append(log, [error_line(seq, "restart")])      # written while stopped
    want.append("restart-%d" % seq)
    seq += 1
d.start()
d.wait_alerts(len(want), 20)
m, dup, ext = exactly_once(d.seqs(), want)
ok(not (m or dup or ext), "clean restarts while writing: %d lines, each once" % len(want),
   report(m, dup, ext))
d.stop()

# 6. rotated while stopped, and the daemon was behind: the rest of mail.log.1 first.
d.start()
append(log, [error_line(i, "behind") for i in range(50)])
d.wait_alerts(len(want) + 50, 20)
d.stop()
append(log, [error_line(i, "behind2") for i in range(20)])   # unread when stopped
os.rename(log, log + ".1")
append(log, [error_line(i, "behind3") for i in range(20)])
d.start()
d.wait_alerts(len(want) + 90, 20)
seqs = d.seqs()[len(want) + 50:]
ok(seqs == ["behind2-%d" % i for i in range(20)] + ["behind3-%d" % i for i in range(20)],
   "rotated while stopped: rest of the rotated file first, then the new one", seqs[:50])
d.stop()
shutil.rmtree(tmp)

# 7. kill -9 in the middle: nothing skipped; repeats only after the last checkpoint.
tmp = fresh()
log = os.path.join(tmp, "mail.log")
open(log, "w").close()
d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % log)
want = []
seq = 0
for r in range(4):
    d.start()
    for k in range(300):
        append(log, [error_line(seq, "kill")])
        want.append("kill-%d" % seq)
        seq += 1
    time.sleep(random.uniform(0.05, 0.4))
    d.stop(signal.SIGKILL)
d.start()
d.wait_alerts(len(want), 20)
time.sleep(0.5)
m, dup, ext = exactly_once(d.seqs(), want)
ok(not m and not ext, "kill -9 restarts: no line skipped (%d lines, %d repeated after a crash)"
   % (len(want), len(dup)), report(m, dup, ext))
d.stop()
shutil.rmtree(tmp)

# 8. inputs that appear later, globs, and the inotify fallback.
for env, what in [({}, "inotify"), ({"MTALERT_NO_INOTIFY": "1"}, "polling fallback")]:
    tmp = fresh()
    sub = os.path.join(tmp, "mail")
    d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s/*.log\n  - path: %s/late.txt\n" % (sub, tmp),
               env=env).start()
    os.mkdir(sub)                              # the directory appears later
    append(os.path.join(tmp, "late.txt"), [error_line(0, "late")])
    time.sleep(0.3)
    append(os.path.join(sub, "a.log"), [error_line(0, "glob")])
    append(os.path.join(sub, "b.log"), [error_line(1, "glob")])
    append(os.path.join(sub, "b.log.1"), [error_line(2, "glob")])  # not matched by *.log
    d.wait_alerts(3, 25)
    m, dup, ext = exactly_once(d.seqs(), ["late-0", "glob-0", "glob-1"])
    ok(not (m or dup or ext), "%s: a file created later, a directory created later, a glob"
       % what, report(m, dup, ext) + d.log())
    if env:
        ok(d.log().count("polling inputs every") == 1, "fallback logged once")
    d.stop()
    shutil.rmtree(tmp)

# 9. bad input: binary garbage and a 10 MB line do not stop or corrupt what follows.
tmp = fresh()
log = os.path.join(tmp, "mail.log")
open(log, "w").close()
d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\nlimits:\n  max_line_length: 64KiB\n" % log).start()
with open(log, "ab") as f:
    f.write(os.urandom(1 << 20).replace(b"\n", b"x") + b"\n")
    f.write(b"y" * (10 << 20) + b"\n")
    f.write((error_line(0, "bad") + " " + "z" * 100000 + "\n").encode())
    f.write((error_line(1, "bad") + "\n").encode())
d.wait_alerts(2, 20)
alerts = d.alerts()
ok(len(alerts) == 2 and alerts[0]["line_truncated"] and not alerts[1]["line_truncated"] and
   alerts[1]["line"].endswith("seq=bad-1") and d.proc.poll() is None,
   "binary garbage, a 10 MB line and a cut line: daemon alive, next line intact",
   [(x["line_truncated"], x["line"][-20:]) for x in alerts])
os.kill(d.proc.pid, signal.SIGUSR1)
ok(d.wait_log("cut, ", 5) and "3 cut" in d.log(), "SIGUSR1 logs counters incl. the 3 lines cut",
   d.log()[-2000:])
d.stop()
shutil.rmtree(tmp)

# 10. an unreadable log: logged, retried, other inputs keep working (run as nobody).
if os.geteuid() == 0 and shutil.which("setpriv"):
    tmp = fresh()
    os.chmod(tmp, 0o755)
    good, bad = os.path.join(tmp, "good.log"), os.path.join(tmp, "bad.log")
    for p in (good, bad):
        open(p, "w").close()
    os.chmod(good, 0o644)
    os.chmod(bad, 0o600)
    d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n  - path: %s\n    start_at: beginning\n"
               % (good, bad))
    os.makedirs(d.state)
    os.chown(d.state, 65534, 65534)
    os.chmod(d.conf_path, 0o644)
    d.exe = "setpriv"
    real_exe = EXE
    d.proc = None
    d.out = open(d.out_path, "ab")
    d.err = open(d.err_path, "ab")
    d.proc = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               real_exe, "-c", d.conf_path, "-s", SIGS],
                              stdout=d.out, stderr=d.err)
    d.wait_log("started:", 20)
    append(bad, [error_line(0, "perm")])
    append(good, [error_line(0, "good")])
    d.wait_alerts(1, 10)
    ok(d.seqs() == ["good-0"] and "cannot open %s: Permission denied" % bad in d.log(),
       "permission denied: logged, other inputs keep working", d.seqs() + [d.log()])
    os.chmod(bad, 0o644)
    d.wait_alerts(2, 10)
    ok(sorted(d.seqs()) == ["good-0", "perm-0"] and "is readable again" in d.log(),
       "once readable, its lines are read", d.seqs())
    d.stop()
    shutil.rmtree(tmp)
else:
    print("# SKIP permission test: needs root and setpriv to run the daemon as nobody")

# 11. a full disk under the state directory (a tiny tmpfs): logged, keeps running.
tmp = fresh()
state = os.path.join(tmp, "state")
os.mkdir(state)
mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", state],
                         stderr=subprocess.PIPE).returncode == 0
if mounted:
    try:
        log = os.path.join(tmp, "mail.log")
        open(log, "w").close()
        d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % log).start()
        filler = os.path.join(state, "filler")
        subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=4k", "count=64"],
                       stderr=subprocess.DEVNULL)
        append(log, [error_line(i, "full") for i in range(20)])
        ok(d.wait_log("cannot save positions", 10) and d.proc.poll() is None,
           "state on a full disk: logged, daemon running", d.log())
        append(log, [error_line(i, "full2") for i in range(20)])
        d.wait_alerts(40, 10)
        ok(len(d.seqs()) == 40, "alerts keep flowing while the state cannot be saved")
        os.unlink(filler)
        append(log, [error_line(0, "full3")])
        ok(d.wait_log("positions saved again", 10), "saving resumes when space returns")
        d.stop()
    finally:
        subprocess.run(["umount", state])
else:
    print("# SKIP full-disk test: cannot mount a tmpfs here (needs root): the state-file "
          "write path is still covered by the kill -9 and restart tests")
shutil.rmtree(tmp, ignore_errors=True)

# 12. SIGHUP: reload swaps a valid config in, keeps the old one on error; sd_notify.
tmp = fresh()
log = os.path.join(tmp, "mail.log")
open(log, "w").close()
sock_path = os.path.join(tmp, "notify.sock")
sock = notify_socket(sock_path)
d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % log, env={"NOTIFY_SOCKET": sock_path}).start()


def notes(until, timeout=30):
    """The datagrams received until until(text) holds, or timeout seconds (a busy machine)."""
    got = []
    deadline = time.time() + timeout
    while time.time() < deadline and not until("\n".join(got)):
        try:
            got.append(sock.recv(4096).decode())
        except OSError:
            pass
    return "\n".join(got)


ok("READY=1" in notes(lambda t: "READY=1" in t), "sd_notify READY=1 at start")
append(log, [error_line(0, "hup")])
d.wait_alerts(1, 10)
d.write_config("inputs:\n  - path: %s\nsignatures:\n  exclude: [communication/smtp-421-service-not-available]\n" % log)
d.send(signal.SIGHUP)
nt = notes(lambda t: "RELOADING=1" in t and "READY=1" in t.split("RELOADING=1", 1)[1])
ok("RELOADING=1" in nt and "READY=1" in nt.split("RELOADING=1", 1)[1] and
   d.wait_log("reloaded:", 30),
   "SIGHUP reloads and notifies RELOADING then READY", nt + d.log()[-500:])
append(log, [error_line(1, "hup")])
d.wait_alerts(2, 5)
excluded = "communication/smtp-421-service-not-available"
ids = [(a["line"][-6:], a["id"], a["also_matched"]) for a in d.alerts()]
ok(len(ids) == 2 and ids[0][1] == excluded and ids[1][1] != excluded and
   excluded not in ids[1][2], "the reloaded config applies (the excluded signature is off)", ids)
d.write_config("inputs:\n  - path: %s\nlog_level: loud\n" % log)
d.send(signal.SIGHUP)
ok(d.wait_log("reload failed", 5) and "d.yaml:8:12: error: log_level" in d.log(),
   "a bad config on reload is refused with file:line:col, old one kept", d.log()[-800:])
append(log, [error_line(2, "hup")])
d.wait_alerts(3, 5)
ids = [(a["id"], a["also_matched"]) for a in d.alerts()]
ok(len(ids) == 3 and ids[2][0] != excluded and excluded not in ids[2][1] and
   d.proc.poll() is None, "still running on the previous config", ids)
d.stop()
ok("STOPPING=1" in notes(lambda t: "STOPPING=1" in t), "sd_notify STOPPING=1 on SIGTERM")
sock.close()
shutil.rmtree(tmp)

# 13. idle: no wakeup while nothing is written, not even for other files of the directory.
if shutil.which("strace"):
    tmp = fresh()
    log = os.path.join(tmp, "mail.log")
    other = os.path.join(tmp, "syslog")
    open(log, "w").close()
    open(other, "w").close()  # creating a file is a directory event; writing to it must not be
    d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: %s\n" % log).start()
    # Idle means after start-up's last work (a slow, loaded machine finishes it late):
    # wait until the daemon has not been woken for a whole second.
    def wakeups():
        with open("/proc/%d/status" % d.proc.pid) as f:
            return [l for l in f if l.startswith("voluntary_ctxt_switches:")]
    last, since, deadline = wakeups(), time.time(), time.time() + 60
    while time.time() < deadline and time.time() - since < 1.0:
        time.sleep(0.1)
        now = wakeups()
        if now != last:
            last, since = now, time.time()
    trace = tempfile.mktemp(prefix="mt-strace-")
    st = subprocess.Popen(["strace", "-f", "-o", trace, "-p", str(d.proc.pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def traced():
        with open("/proc/%d/status" % d.proc.pid) as f:
            return any(l.startswith("TracerPid:") and l.split()[1] != "0" for l in f)
    deadline = time.time() + 60   # attached, else the count below would prove nothing
    while time.time() < deadline and not traced():
        time.sleep(0.05)
    time.sleep(0.5)
    for i in range(200):
        append(other, ["Nov 23 06:00:01 mx1 sshd[1]: unrelated line %d" % i])
        time.sleep(0.005)
    time.sleep(1)
    st.send_signal(signal.SIGINT)
    st.wait(10)
    text = open(trace).read() if os.path.exists(trace) else ""
    calls = [l for l in text.splitlines() if re.search(r"\) += ", l)]
    ok(len(calls) == 0, "idle, with another file of the directory being written: %d system calls"
       % len(calls), "\n".join(calls[:10]))
    append(log, [error_line(0, "wake")])
    ok(d.wait_alerts(1, 5), "and a line in the followed file still alerts")
    d.stop()
    if os.path.exists(trace):
        os.unlink(trace)
    shutil.rmtree(tmp)
else:
    print("# SKIP idle test: strace is not installed")

# 14. a bad config at start: exit 78 and file:line:col.
tmp = fresh()
d = Daemon(EXE, SIGS, tmp, "inputs:\n  - path: relative.log\nbogus: 1\n")
d.start(wait_ready=False)
rc = d.proc.wait(10)
ok(rc == 78 and "d.yaml:7:11: error: inputs[0].path must be an absolute path" in d.log() and
   "d.yaml:8:1: error: unknown key 'bogus'" in d.log(),
   "bad config at start: exit 78, every error with file:line:col", d.log())
d.out.close()
d.err.close()
shutil.rmtree(tmp)

done()
