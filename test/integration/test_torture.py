#!/usr/bin/env python3
"""Torture: crashes, restarts and a starved reader across rotations, with the
real logrotate.  Every line carries a sequence number; each check counts
every line: none lost, duplicates only after a kill -9 (bounded by what was
read since the last checkpoint, and reported), except copytruncate's
physical limit, which must be reported by the daemon.

usage: test_torture.py MTALERTD SIGNATURES_DIR
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
from daemon_harness import Daemon, append, error_line  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
SEQ = re.compile(rb" seq=([A-Za-z0-9]+-[0-9]+)")


def fast_seqs(self):
    """The harness's seqs(), read incrementally: 100,000 alerts are parsed once, not per poll."""
    st = self.__dict__.setdefault("_fast", {"pos": 0, "seqs": []})
    with open(self.out_path, "rb") as f:
        f.seek(st["pos"])
        data = f.read()
    end = data.rfind(b"\n") + 1
    for line in data[:end].split(b"\n")[:-1]:
        m = SEQ.search(line)
        if m:
            st["seqs"].append(m.group(1).decode())
    st["pos"] += end
    return list(st["seqs"])


Daemon.seqs = fast_seqs
LOGROTATE = shutil.which("logrotate") or "/usr/sbin/logrotate"
SLOW = 120  # seconds: deadline for anything the daemon must do (ASan, loaded CI)
rng = random.Random(int(os.environ.get("TORTURE_SEED", str(int(time.time())))))
print("# seed %s" % os.environ.get("TORTURE_SEED", "time"))


def count(seqs, want):
    got = {}
    for s in seqs:
        got[s] = got.get(s, 0) + 1
    wanted = set(want)
    missing = [w for w in want if w not in got]
    dup = sum(c - 1 for c in got.values() if c > 1)
    extra = [s for s in got if s not in wanted]
    return missing, dup, extra


def report(missing, dup, extra):
    return "missing %d %s\nduplicated %d\nunexpected %d %s" % (
        len(missing), missing[:10], dup, len(extra), extra[:10])


def fresh():
    return tempfile.mkdtemp(prefix="mt-torture-")


def config(log):
    return "inputs:\n  - path: %s\n    start_at: beginning\n" % log


def logrotate(tmp, log, style, rotate=1000, compress="nocompress"):
    """Run the real logrotate once, forced, with its own state file."""
    conf = os.path.join(tmp, "logrotate.conf")
    with open(conf, "w") as f:
        f.write("%s {\n  rotate %d\n  missingok\n  %s\n  %s\n}\n" % (log, rotate, compress, style))
    os.chmod(conf, 0o644)
    r = subprocess.run([LOGROTATE, "-f", "-s", os.path.join(tmp, "logrotate.state"), conf],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("logrotate failed: %s" % r.stdout.decode("utf-8", "replace"))


def counters(d, timeout=SLOW):
    """Send SIGUSR1 and return the last input counter line of the daemon's log."""
    n = d.log().count("lost to rotation")
    d.send(signal.SIGUSR1)
    d.wait_log("lost to rotation", timeout, count=n + 1)
    lines = [l for l in d.log().splitlines() if "lost to rotation" in l]
    return lines[-1] if lines else ""


def lost_counter(line):
    m = re.search(r"(\d+) lost to rotation", line)
    return int(m.group(1)) if m else -1


def wait_seqs(d, pred, timeout=SLOW):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred(d.seqs()):
            return True
        if d.proc is not None and d.proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def wait_all(d, want, timeout=SLOW):
    wanted = set(want)
    return wait_seqs(d, lambda s: wanted <= set(s), timeout)


# 1. kill -9 at random moments during a rotation storm, every style, with restarts.
def storm(style, seconds=8.0, compress="nocompress"):
    tmp = fresh()
    log = os.path.join(tmp, "mail.log")
    open(log, "w").close()
    d = Daemon(EXE, SIGS, tmp, config(log)).start()
    lock = threading.Lock()
    want = []
    stop = threading.Event()
    errors = []

    def writer():
        i = 0
        while not stop.is_set():
            with lock:
                # Open, append, close: as a syslog daemon told to reopen after rotation.
                with open(log, "a") as f:
                    for _ in range(10):
                        f.write(error_line(i, style) + "\n")
                        want.append("%s-%d" % (style, i))
                        i += 1
            time.sleep(0.01)

    def rotator():
        while not stop.is_set():
            time.sleep(rng.uniform(0.2, 0.6))
            try:
                # The writer pauses during the rotation: the race between
                # logrotate's copy and its truncate is copytruncate's own.
                with lock:
                    logrotate(tmp, log, style, compress=compress)
            except Exception as e:  # noqa: BLE001
                errors.append(str(e))

    threads = [threading.Thread(target=writer), threading.Thread(target=rotator)]
    for t in threads:
        t.start()
    kills = 0
    end = time.time() + seconds
    while time.time() < end:
        time.sleep(rng.uniform(0.2, 1.2))
        d.stop(signal.SIGKILL)
        kills += 1
        time.sleep(rng.uniform(0, 0.8))  # rotations happen while it is down, sometimes
        d.start()
    stop.set()
    for t in threads:
        t.join()
    got_all = wait_all(d, want)
    m, dup, ext = count(d.seqs(), want)
    text = d.log()
    d.stop()
    shutil.rmtree(tmp)
    return m, dup, ext, len(want), kills, errors, got_all, text


for style, comp in [("create", "nocompress"), ("copytruncate", "nocompress"),
                    ("nocreate", "nocompress"), ("create", "compress"),
                    ("copytruncate", "compress")]:
    m, dup, ext, total, kills, errors, got_all, text = storm(
        style, 8.0 if comp == "nocompress" else 6.0, comp)
    # A kill repeats at most what was read since the last checkpoint (200 ms here).
    name = ("kill -9 %d times in a logrotate %s%s storm: %d lines, %d lost, %d repeated"
            % (kills, style, "" if comp == "nocompress" else " + " + comp, total, len(m), dup))
    ok(not errors and not m and not ext and dup <= kills * 5000, name,
       report(m, dup, ext) + "\n" + "\n".join(errors) + "\n" + text)


# 2. a crash (and a clean stop) while draining mail.log.1 after a restart.
def alerts_written(d):
    with open(d.out_path, "rb") as f:
        return f.read().count(b"\n")


def drain_crash(sig, n=100000, compress="nocompress"):
    tmp = fresh()
    log = os.path.join(tmp, "mail.log")
    open(log, "w").close()
    d = Daemon(EXE, SIGS, tmp, config(log)).start()
    append(log, [error_line(0, "a")])
    wait_all(d, ["a-0"])
    d.stop()
    tag = "b%d" % sig
    append(log, [error_line(i, tag) for i in range(n)])
    logrotate(tmp, log, "create", compress=compress)
    compressed = os.path.exists(log + ".1.gz")
    append(log, [error_line(i, "c") for i in range(1000)])
    want = ["a-0"] + ["%s-%d" % (tag, i) for i in range(n)] + ["c-%d" % i for i in range(1000)]
    d.start()
    deadline = time.time() + SLOW
    while time.time() < deadline and alerts_written(d) < 2000:
        time.sleep(0.005)
    d.stop(sig)
    at_stop = alerts_written(d)
    d.start()
    got_all = wait_all(d, want)
    m, dup, ext = count(d.seqs(), want)
    text = d.log()
    d.stop()
    shutil.rmtree(tmp)
    return m, dup, ext, len(want), at_stop, got_all, text, compressed


m, dup, ext, total, at_stop, got_all, text, _ = drain_crash(signal.SIGKILL)
ok(not m and not ext and at_stop < total and dup <= at_stop,
   "kill -9 while finishing mail.log.1 after a restart (at %d of %d lines): %d lost, %d repeated"
   % (at_stop, total, len(m), dup), report(m, dup, ext) + "\n" + text)
m, dup, ext, total, at_stop, got_all, text, _ = drain_crash(signal.SIGTERM)
ok(not m and not ext and at_stop < total and dup == 0,
   "SIGTERM while finishing mail.log.1 after a restart (at %d of %d lines): %d lost, %d repeated"
   % (at_stop, total, len(m), dup), report(m, dup, ext) + "\n" + text)
# The same when logrotate compressed it: the position is in the decompressed stream.
for sig in (signal.SIGKILL, signal.SIGTERM):
    m, dup, ext, total, at_stop, got_all, text, gz = drain_crash(sig, 30000, "compress")
    ok(gz and not m and not ext and at_stop < total and dup <= (at_stop if sig == signal.SIGKILL else 0),
       "%s while finishing mail.log.1.gz after a restart (at %d of %d lines): %d lost, %d repeated"
       % ("kill -9" if sig == signal.SIGKILL else "SIGTERM", at_stop, total, len(m), dup),
       report(m, dup, ext) + "\n" + text)


# 3. rotations while stopped: the rest of the checkpointed file, every file
# rotated after it, then the new one, in order, each line once.
def while_stopped(style, rotations, rotate=1000, compress="nocompress"):
    tmp = fresh()
    log = os.path.join(tmp, "mail.log")
    open(log, "w").close()
    d = Daemon(EXE, SIGS, tmp, config(log)).start()
    append(log, [error_line(i, "a") for i in range(50)])
    wait_all(d, ["a-%d" % i for i in range(50)])
    d.stop()
    want = []
    for r in range(rotations):
        append(log, [error_line(i, "r%d" % r) for i in range(100)])
        want += ["r%d-%d" % (r, i) for i in range(100)]
        logrotate(tmp, log, style, rotate, compress)
    append(log, [error_line(i, "new") for i in range(100)])
    want += ["new-%d" % i for i in range(100)]
    d.start()
    wait_all(d, want)
    seqs = d.seqs()[50:]
    text = d.log()
    line = counters(d)
    names = sorted(n for n in os.listdir(tmp) if n.startswith("mail.log"))
    d.stop()
    shutil.rmtree(tmp)
    return seqs, want, text, line, names


for style, rot in [("create", 2), ("nocreate", 3), ("copytruncate", 1), ("copytruncate", 2)]:
    seqs, want, text, line, names = while_stopped(style, rot)
    ok(seqs == want and lost_counter(line) == 0,
       "%d logrotate %s while stopped: %d lines read once, in order, 0 lost"
       % (rot, style, len(want)), "got %d: %s...\n%s\n%s" % (len(seqs), seqs[:20], line, text))

# The same with logrotate's compress (gzip), with and without delaycompress:
# the file we stopped in is compressed (the rest of it read from the
# checkpoint's offset in the decompressed stream), and so are files rotated
# after it.
for style, rot, comp in [("create", 1, "compress"), ("create", 3, "compress"),
                         ("create", 3, "compress\n  delaycompress"),
                         ("nocreate", 2, "compress\n  delaycompress"),
                         ("copytruncate", 1, "compress"), ("copytruncate", 2, "compress"),
                         ("copytruncate", 3, "compress\n  delaycompress")]:
    seqs, want, text, line, names = while_stopped(style, rot, compress=comp)
    gz = [n for n in names if n.endswith(".gz")]
    ok(seqs == want and lost_counter(line) == 0 and len(gz) >= rot - ("delay" in comp),
       "%d logrotate %s, %s, while stopped (%s): %d lines read once, in order, 0 lost"
       % (rot, style, comp.replace("\n  ", " + "), " ".join(names), len(want)),
       "got %d: %s...\n%s\n%s" % (len(seqs), seqs[:20], line, text))


# 4. copytruncate while the reader is starved (SIGSTOP), the new file
# outgrowing the old position; then twice with rotate 1: the physical limit.
def starved(times, rotate, after_truncation=False):
    tmp = fresh()
    log = os.path.join(tmp, "mail.log")
    open(log, "w").close()
    d = Daemon(EXE, SIGS, tmp, config(log)).start()
    append(log, [error_line(i, "a") for i in range(100)])
    wait_all(d, ["a-%d" % i for i in range(100)])
    if after_truncation:
        # The reader is at the start of the truncated file, which has no
        # first bytes yet to be recognised by when the next copy is made.
        logrotate(tmp, log, "copytruncate", rotate)
        deadline = time.time() + SLOW
        while time.time() < deadline and "1 truncations" not in counters(d):
            time.sleep(0.05)
    d.send(signal.SIGSTOP)
    want, gone = [], []
    for r in range(times):
        batch = ["s%d-%d" % (r, i) for i in range(100)]
        append(log, [error_line(i, "s%d" % r) for i in range(100)])
        logrotate(tmp, log, "copytruncate", rotate)
        (gone if times > rotate and r < times - rotate else want).extend(batch)
    # Longer than what was read before the stop: a size check alone misses it.
    append(log, [error_line(i, "new") for i in range(400)])
    want += ["new-%d" % i for i in range(400)]
    d.send(signal.SIGCONT)
    wait_all(d, want)
    line = counters(d)
    seqs = d.seqs()[100:]
    text = d.log()
    d.stop()
    shutil.rmtree(tmp)
    return seqs, want, gone, line, text


seqs, want, gone, line, text = starved(1, 1000)
m, dup, ext = count(seqs, want)
ok(not m and not dup and not ext and "truncations" in line and lost_counter(line) == 0,
   "copytruncate while starved, new file past the old position: %d lines once, 0 lost"
   % len(want), report(m, dup, ext) + "\n" + line + "\n" + text)
seqs, want, gone, line, text = starved(2, 2)
m, dup, ext = count(seqs, want)
ok(not m and not dup and not ext and lost_counter(line) == 0,
   "copytruncate twice while starved, rotate 2: the second copy read too, %d lines once"
   % len(want), report(m, dup, ext) + "\n" + line + "\n" + text)
for times in (1, 2):
    seqs, want, gone, line, text = starved(times, 1000, after_truncation=True)
    m, dup, ext = count(seqs, want)
    ok(not m and not dup and not ext and lost_counter(line) == 0,
       "copytruncate %s while starved at the start of a file truncated just before: the "
       "copies of generations never read are found, %d lines once, 0 lost"
       % ("once" if times == 1 else "twice", len(want)),
       report(m, dup, ext) + "\n" + line + "\n" + text)
seqs, want, gone, line, text = starved(2, 1)
m, dup, ext = count(seqs, want + gone)
ok(set(m) == set(gone) and not dup and not ext and lost_counter(line) >= 1 and
   "physical limit" in text,
   "copytruncate twice while starved, rotate 1 (the physical limit): the %d lines of the "
   "deleted copy lost, counted (%d) and logged; the other %d read once"
   % (len(gone), lost_counter(line), len(want)),
   report(m, dup, ext) + "\n" + line + "\n" + text)


# 5. the log directory deleted and recreated, then again with a SIGHUP.
tmp = fresh()
logdir = os.path.join(tmp, "logs")
os.mkdir(logdir)
log = os.path.join(logdir, "mail.log")
open(log, "w").close()
d = Daemon(EXE, SIGS, tmp, config(log)).start()
append(log, [error_line(i, "a") for i in range(20)])
wait_all(d, ["a-%d" % i for i in range(20)])
shutil.rmtree(logdir)
os.mkdir(logdir)
append(log, [error_line(i, "b") for i in range(20)])
want = ["a-%d" % i for i in range(20)] + ["b-%d" % i for i in range(20)]
got = wait_all(d, want)
m, dup, ext = count(d.seqs(), want)
ok(got and not m and not dup and not ext,
   "log directory deleted and recreated: the new mail.log is followed", report(m, dup, ext) + d.log())
shutil.rmtree(logdir)
os.mkdir(logdir)
d.send(signal.SIGHUP)
d.wait_log("reloaded:", SLOW)
append(log, [error_line(i, "c") for i in range(20)])
want += ["c-%d" % i for i in range(20)]
got = wait_all(d, want)
m, dup, ext = count(d.seqs(), want)
ok(got and not m and not dup and not ext,
   "deleted and recreated again, then SIGHUP: followed", report(m, dup, ext) + d.log())
d.stop()
shutil.rmtree(tmp)


# 6. state on a full tmpfs, kill -9, then space back.
def mounted(path):
    with open("/proc/self/mounts") as f:
        return any(l.split()[1] == path for l in f)


tmp = fresh()
mnt = os.path.join(tmp, "small")
os.mkdir(mnt)
r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
ok(r.returncode == 0, "a 256 KiB tmpfs for the state (mount needs root)", r.stdout)
if r.returncode == 0:
    try:
        log = os.path.join(tmp, "mail.log")
        open(log, "w").close()
        state = os.path.join(mnt, "state")
        os.mkdir(state)
        d = Daemon(EXE, SIGS, tmp, config(log))
        d.state = state
        d.write_config(config(log))
        d.start()
        append(log, [error_line(i, "a") for i in range(100)])
        wait_all(d, ["a-%d" % i for i in range(100)])
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
        append(log, [error_line(i, "b") for i in range(100)])
        want = ["a-%d" % i for i in range(100)] + ["b-%d" % i for i in range(100)]
        got = wait_all(d, want) and d.wait_log("cannot save positions", SLOW)
        ok(got, "state on a full disk: alerts go on, the failed save is logged", d.log())
        d.stop(signal.SIGKILL)           # a crash while the saved state is old
        d.start()
        append(log, [error_line(i, "c") for i in range(100)])
        want += ["c-%d" % i for i in range(100)]
        wait_all(d, want)
        os.unlink(filler)                # space back
        append(log, [error_line(i, "d") for i in range(100)])
        want += ["d-%d" % i for i in range(100)]
        got = wait_all(d, want) and d.wait_log("positions saved again", SLOW)
        before = len(d.seqs())
        d.stop(signal.SIGKILL)
        append(log, [error_line(i, "e") for i in range(100)])
        want += ["e-%d" % i for i in range(100)]
        d.start()
        wait_all(d, want)
        m, dup, ext = count(d.seqs(), want)
        ok(got and not m and not ext,
           "full state disk, kill -9, space back, kill -9: %d lines, 0 lost, %d repeated "
           "(the lines read while no position could be saved)" % (len(want), dup),
           report(m, dup, ext) + "\n" + d.log())
        d.stop()
        del before
    finally:
        subprocess.run(["umount", mnt])
shutil.rmtree(tmp)

# 7. a line over max_line_length with no newline in time: partial_line_timeout
# ends the cut, so the next line is not swallowed with it.
tmp = fresh()
log = os.path.join(tmp, "mail.log")
open(log, "w").close()
d = Daemon(EXE, SIGS, tmp, config(log) +
           "limits:\n  max_line_length: 1KiB\n  partial_line_timeout: 300ms\n").start()
with open(log, "a") as f:
    f.write(error_line(0, "long") + " " + "x" * 4000)   # cut at 1 KiB, no newline
d.wait_alerts(1, SLOW)
# The cut line alerted; the daemon ends the cut after partial_line_timeout
# (counted as a partial line); then the next line.
deadline = time.time() + SLOW
line = ""
while time.time() < deadline and "1 partial" not in line:
    line = counters(d)
    time.sleep(0.1)
append(log, [error_line(1, "next")])
got = d.wait_alerts(2, SLOW)
ok(got and d.seqs()[-1:] == ["next-1"],
   "an over-long line without its newline: the next line is read after partial_line_timeout",
   "%s\n%s" % (d.seqs(), d.log()))
d.stop()
shutil.rmtree(tmp)

done()
