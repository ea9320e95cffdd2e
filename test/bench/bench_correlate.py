#!/usr/bin/env python3
"""Benchmark of the correlation stage (issue 12), printed as figures:

  table     bench_correlate: 10,000,000 distinct queue ids into the
            1,000,000-message table (ns per record, bytes, peak RSS)
  scan      `mtalertd scan --summary` over the same backlog with the stage on
            and with --no-correlate, alternated in the same run (best of
            ROUNDS each); the ratio is the figure to quote (target: under
            1.10).  The backlog is helga-slice.log (a real Postfix log)
            repeated, with 2 % deferral lines of distinct queue ids and their
            retry notices mixed in, and the Exim corpus logs.

usage: bench_correlate.py BENCH_CORRELATE MTALERTD SIGNATURES_DIR CORPUS_DIR [--quick]
TAP: checks that both runs work and agree, never on timings (CI is loaded).
"""
import glob
import os
import random
import subprocess
import sys
import tempfile
import time

BENCH, EXE, SIGS, CORPUS = sys.argv[1:5]
QUICK = "--quick" in sys.argv
IDS, MAXM = ("300000", "100000") if QUICK else ("10000000", "1000000")
SIZE = (4 << 20) if QUICK else (128 << 20)
ROUNDS = 2 if QUICK else 5
n = 0


def ok(cond, name, detail=""):
    global n
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond and detail:
        for line in str(detail).splitlines()[:20]:
            print("# " + line)


r = subprocess.run([BENCH, IDS, MAXM], stdout=subprocess.PIPE, text=True)
for line in r.stdout.splitlines():
    if line.startswith("#"):
        print(line)
ok(r.returncode == 0, "message table bench: %s ids into %s" % (IDS, MAXM), r.stdout)

DEFER = ("Nov 23 06:%02d:%02d mx1 postfix/smtp[2110]: %s: to=<bob@outlook.example>, "
         "relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to "
         "mx.outlook.example[203.0.113.25]:25: Connection timed out)")
SUSP = ("Nov 23 06:%02d:%02d mx1 postfix/error[2111]: %s: to=<amy@outlook.example>, "
        "relay=none, delay=1, delays=0/0/0/1, dsn=4.4.1, status=deferred (delivery temporarily "
        "suspended: connect to mx.outlook.example[203.0.113.25]:25: Connection timed out)")
with tempfile.TemporaryDirectory() as tmp:
    log = os.path.join(tmp, "backlog.log")
    base = open(os.path.join(CORPUS, "pixelpark-postfix-logsums", "helga-slice.log"), "rb").read()
    base_lines = base.splitlines()
    exim = b"".join(open(p, "rb").read() for p in sorted(glob.glob(os.path.join(CORPUS, "exim-*", "*.log"))))
    rnd = random.Random(12)
    lines = 0
    with open(log, "wb") as f:
        written, k = 0, 0
        while written < SIZE:
            chunk = []
            for line in base_lines:
                chunk.append(line)
                if rnd.random() < 0.02:
                    k += 1
                    qid = "%010X" % k
                    t = (k // 60 % 60, k % 60)
                    chunk.append((DEFER % (t[0], t[1], qid)).encode())
                    chunk.append((SUSP % (t[0], t[1], "S%09X" % k)).encode())
            data = b"\n".join(chunk) + b"\n" + exim
            f.write(data)
            written += len(data)
            lines += data.count(b"\n")
    mib = os.path.getsize(log) / 1048576.

    def run(extra):
        t0 = time.perf_counter()
        p = subprocess.run([EXE, "scan", "-s", SIGS, "--summary", "--format", "json"] + extra + [log],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return time.perf_counter() - t0, p

    best = {"on": None, "off": None}
    outs = {}
    for _ in range(ROUNDS):
        for mode, extra in (("on", []), ("off", ["--no-correlate"])):
            t, p = run(extra)
            outs[mode] = p
            if best[mode] is None or t < best[mode]:
                best[mode] = t
    import json
    try:
        on, off = json.loads(outs["on"].stdout), json.loads(outs["off"].stdout)
    except ValueError as e:
        on, off = {}, {}
        ok(False, "scan summaries are JSON", e)
    ratio = best["on"] / best["off"] if best["off"] else 0
    print("# scan of %.1f MiB (%d lines): stage on %.2f s (%.0f lines/s), off %.2f s "
          "(%.0f lines/s); on/off = %.3f" % (mib, lines, best["on"], lines / best["on"],
                                           best["off"], lines / best["off"], ratio))
    ok(outs["on"].returncode == 0 and outs["off"].returncode == 0, "scan runs with the stage on and off",
       outs["on"].stderr + outs["off"].stderr)
    ok(on.get("lines") == off.get("lines") and on.get("repeats", 0) > 0 and
       on.get("alerts", 0) + on.get("repeats", 0) == off.get("alerts"),
       "the stage turns restating lines into repeats and loses no alert "
       "(on: %s alerts + %s repeats, off: %s alerts)" % (on.get("alerts"), on.get("repeats"), off.get("alerts")))
print("1..%d" % n)
