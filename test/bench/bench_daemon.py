#!/usr/bin/env python3
"""Benchmark of mtalertd running, printed as figures:

  latency   time from a line's write to its alert on the daemon's stdout,
            p50 / p99 / max over N lines written one at a time (default 10,000)
  catch-up  lines/s through a backlog (default 1 GiB: helga-slice.log with 2 %
            error lines mixed in, as bench_matcher builds it), next to
            `mtalertd scan` over the same file in the same run (the ratio is
            the figure to quote; both write their alerts to /dev/null); then the
            daemon again over the same backlog with the correlation stage off
            (correlate: {enabled: false}): on/off is the stage's cost (issue 12)
  memory    peak RSS (VmHWM) of the daemon with the whole shipped catalog
  idle      system calls the daemon makes in IDLE seconds of silence (strace -c)

usage: bench_daemon.py MTALERTD SIGNATURES_DIR CORPUS_DIR [--quick] [--backlog-mib N]
"""
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

EXE, SIGS, CORPUS = sys.argv[1], sys.argv[2], sys.argv[3]
QUICK = "--quick" in sys.argv
LAT_N = 300 if QUICK else 10000
BACKLOG = (16 << 20) if QUICK else (1 << 30)
if "--backlog-mib" in sys.argv:
    BACKLOG = int(sys.argv[sys.argv.index("--backlog-mib") + 1]) << 20
IDLE = 3 if QUICK else 30

ERR = ("Nov 23 06:00:03 mx1 postfix/smtp[2110]: 4F2A31C0A1: to=<bob@example.net>, "
       "relay=mx.example.net[203.0.113.25]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.7.0, "
       "status=deferred (host mx.example.net[203.0.113.25] said: 421 4.7.0 Service not "
       "available, closing transmission channel (in reply to MAIL FROM command)) t=%d")


def start(tmp, log, extra="", stdout=subprocess.PIPE):
    conf = os.path.join(tmp, "c.yaml")
    with open(conf, "w") as f:
        f.write("state_directory: %s/state\ncheckpoint_interval: 200ms\n"
                "inputs:\n  - path: %s\n%s"
                "alerting:\n  syslog:\n    enabled: false\n" % (tmp, log, extra))
    os.chmod(conf, 0o600)
    err_path = os.path.join(tmp, "err.log")
    started = lambda: open(err_path, "rb").read().count(b"started:") if os.path.exists(err_path) else 0
    before = started()  # the log is appended to: a previous run's line is not this one's
    err = open(err_path, "ab")
    p = subprocess.Popen([EXE, "-c", conf, "-s", SIGS], stdout=stdout, stderr=err)
    deadline = time.time() + 120
    while time.time() < deadline and started() <= before and p.poll() is None:
        time.sleep(0.01)
    if started() <= before:
        # Lines written before the daemon is positioned would be missed (and wait forever).
        raise SystemExit("Bail out! mtalertd did not log started: in 120 s:\n" +
                         open(err_path, "rb").read().decode("utf-8", "replace")[-2000:])
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()


def cpu_s(pid):
    """CPU seconds (user + system) the process used so far: steadier than wall time on a
    loaded machine."""
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def vm(pid, key):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def latency():
    tmp = tempfile.mkdtemp(prefix="mt-bench-")
    log = os.path.join(tmp, "mail.log")
    open(log, "w").close()
    p = start(tmp, log)
    lat = []
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    for i in range(LAT_N):
        t0 = time.perf_counter_ns()
        os.write(fd, (ERR % i + "\n").encode())
        line = p.stdout.readline()
        lat.append((time.perf_counter_ns() - t0) / 1e6)
        if not line:
            break
    os.close(fd)
    rss = vm(p.pid, "VmRSS")
    stop(p)
    shutil.rmtree(tmp)
    lat.sort()
    return lat, rss


def backlog_file(path):
    base = open(os.path.join(CORPUS, "pixelpark-postfix-logsums", "helga-slice.log"), "rb").read().splitlines()
    errs = []
    for d, _, files in os.walk(CORPUS):
        for f in files:
            if f.endswith(".log") and f != "helga-slice.log":
                for raw in open(os.path.join(d, f), "rb").read().splitlines():
                    if re.search(rb"status=(deferred|bounced)| said: [45]|reject: | \*\* | == ", raw):
                        errs.append(raw)
    chunk = []
    e = 0
    for i, raw in enumerate(base):
        chunk.append(raw)
        if i % 49 == 48:
            chunk.append(errs[e % len(errs)])
            e += 1
    block = b"\n".join(chunk) + b"\n"
    lines_per_block = len(chunk)
    written = lines = 0
    with open(path, "wb") as f:
        while written < BACKLOG:
            f.write(block)
            written += len(block)
            lines += lines_per_block
    return lines, written


def catch_up():
    tmp = tempfile.mkdtemp(prefix="mt-bench-")
    log = os.path.join(tmp, "mail.log")
    lines, size = backlog_file(log)
    # Warm the page cache once so neither run pays for the disk.
    subprocess.run(["cat", log], stdout=subprocess.DEVNULL)
    t0 = time.perf_counter()
    subprocess.run([EXE, "-s", SIGS, "scan", log], stdout=subprocess.DEVNULL)
    scan_s = time.perf_counter() - t0

    devnull = open(os.devnull, "wb")

    def daemon_run(extra):
        """Start a daemon at the backlog's beginning; seconds until its position is the end."""
        state_dir = os.path.join(tmp, "state")
        shutil.rmtree(state_dir, ignore_errors=True)
        t0 = time.perf_counter()
        p = start(tmp, log, "    start_at: beginning\n" + extra, stdout=devnull)
        state = os.path.join(state_dir, "state")
        done = False
        while not done and time.perf_counter() - t0 < 3600:
            time.sleep(0.05)
            try:
                m = re.search(r"^file \d+ \d+ (\d+) ", open(state).read(), re.M)
                done = m is not None and int(m.group(1)) >= size
            except OSError:
                pass
        return p, time.perf_counter() - t0, cpu_s(p.pid)

    # The correlation stage off first (issue 12), the default (on) last: it stays for idle.
    p, off_s, off_cpu = daemon_run("correlate: {enabled: false}\n")
    stop(p)
    p, daemon_s, on_cpu = daemon_run("")
    hwm = vm(p.pid, "VmHWM")
    rss = vm(p.pid, "VmRSS")

    # Idle: nothing written; count system calls.
    idle_calls = None
    time.sleep(1)  # let the last checkpoint after the catch-up happen first
    if shutil.which("strace"):
        # Outside the watched directory: strace writing its log there would wake the daemon.
        out = tempfile.mktemp(prefix="mt-strace-")
        subprocess.run(["timeout", "-s", "INT", str(IDLE), "strace", "-f", "-o", out,
                        "-p", str(p.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        text = open(out).read() if os.path.exists(out) else ""
        # Completed system calls; the epoll_wait the daemon sits in when strace
        # attaches never returns, and "<detached ...>" is strace leaving.
        idle_calls = len([l for l in text.splitlines() if re.search(r"\) += ", l)])
        if os.path.exists(out):
            os.unlink(out)
    stop(p)
    devnull.close()
    shutil.rmtree(tmp)
    return lines, size, scan_s, daemon_s, off_s, on_cpu, off_cpu, hwm, rss, idle_calls


lat, rss_lat = latency()
lines, size, scan_s, daemon_s, off_s, on_cpu, off_cpu, hwm, rss, idle_calls = catch_up()
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("mtalertd daemon benchmark%s" % (" (--quick: small sizes, figures not meaningful)" if QUICK else ""))
print("latency, write -> alert on stdout, %d lines one at a time: p50 %.3f ms, p99 %.3f ms, max %.3f ms (target p99 < 5 ms)"
      % (len(lat), pct(0.50), pct(0.99), lat[-1]))
print("catch-up on a %.0f MiB backlog (%d lines, 2%% errors): daemon %.2f s = %.0f lines/s; "
      "mtalertd scan %.2f s = %.0f lines/s; daemon/scan = %.2f (target ~1)"
      % (size / 1048576, lines, daemon_s, lines / daemon_s, scan_s, lines / scan_s, scan_s / daemon_s))
print("catch-up with the correlation stage (on, the default) %.2f s = %.0f lines/s; off %.2f s "
      "= %.0f lines/s; on/off = %.3f wall, %.3f in CPU time (%.2f s / %.2f s)"
      % (daemon_s, lines / daemon_s, off_s, lines / off_s, daemon_s / off_s,
         on_cpu / max(off_cpu, 1e-9), on_cpu, off_cpu))
print("memory with %s: peak RSS %.1f MiB, RSS after catch-up %.1f MiB, RSS in the latency run %.1f MiB (target < 16 MiB)"
      % (SIGS, hwm / 1024, rss / 1024, rss_lat / 1024))
if idle_calls is None:
    print("idle: strace not available or not permitted here")
else:
    print("idle: %d system calls in %d s with nothing written (target 0)" % (idle_calls, IDLE))
if QUICK:
    print("1..1\nok 1 - daemon benchmark runs")
