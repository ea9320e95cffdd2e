#!/usr/bin/env python3
"""Benchmark of the correlation stage (issue 12), printed as figures:

  table     bench_correlate: 10,000,000 distinct queue ids into the
            1,000,000-message table (ns per record, bytes, peak RSS)
  scan      `mtalertd scan --summary` with the stage on and with
            --no-correlate, alternated in the same run (best of ROUNDS each),
            over two backlogs: helga-slice.log (a real production Postfix
            log) repeated with 2 % deferrals of distinct queue ids and their
            "delivery temporarily suspended" restatements (the figure to
            quote; target: on/off under 1.10), and the whole public corpus
            repeated (a third of its lines are errors: the stage's worst case).

usage: bench_correlate.py BENCH_CORRELATE MTALERTD SIGNATURES_DIR CORPUS_DIR [--quick]
TAP: checks that both runs work and agree, never on timings (CI is loaded).
"""
import glob
import json
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


def build(path, chunk_fn):
    lines = 0
    with open(path, "wb") as f:
        written = 0
        while written < SIZE:
            data = chunk_fn()
            f.write(data)
            written += len(data)
            lines += data.count(b"\n")
    return lines


def run(log, extra):
    t0 = time.perf_counter()
    p = subprocess.run([EXE, "scan", "-s", SIGS, "--summary", "--format", "json"] + extra + [log],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return time.perf_counter() - t0, p


def compare(name, log, lines):
    best = {"on": None, "off": None}
    outs = {}
    for _ in range(ROUNDS):
        for mode, extra in (("on", []), ("off", ["--no-correlate"])):
            t, p = run(log, extra)
            outs[mode] = p
            if best[mode] is None or t < best[mode]:
                best[mode] = t
    try:
        on, off = json.loads(outs["on"].stdout), json.loads(outs["off"].stdout)
    except ValueError:
        on, off = {}, {}
    print("# %s: scan of %.1f MiB (%d lines): stage on %.2f s (%.0f lines/s), off %.2f s "
          "(%.0f lines/s); on/off = %.3f" % (name, os.path.getsize(log) / 1048576., lines,
                                           best["on"], lines / best["on"], best["off"],
                                           lines / best["off"], best["on"] / best["off"]))
    ok(outs["on"].returncode == 0 and outs["off"].returncode == 0 and on and off,
       "%s: scan runs with the stage on and off" % name, outs["on"].stderr + outs["off"].stderr)
    return on, off


with tempfile.TemporaryDirectory() as tmp:
    base_lines = open(os.path.join(CORPUS, "pixelpark-postfix-logsums", "helga-slice.log"),
                      "rb").read().splitlines()
    rnd = random.Random(12)
    k = [0]

    def postfix_chunk():
        chunk = []
        for line in base_lines:
            chunk.append(line)
            if rnd.random() < 0.02:
                k[0] += 1
                t = (k[0] // 60 % 60, k[0] % 60)
                chunk.append((DEFER % (t[0], t[1], "%010X" % k[0])).encode())
                chunk.append((SUSP % (t[0], t[1], "F%09X" % k[0])).encode())
        return b"\n".join(chunk) + b"\n"

    corpus = b"".join(open(p, "rb").read().rstrip(b"\n") + b"\n"
                      for p in sorted(glob.glob(os.path.join(CORPUS, "*", "*.log"))))
    # A real Postfix log with 2 % deferrals and their suspensions: what a mail host logs.
    log = os.path.join(tmp, "postfix.log")
    on, off = compare("postfix", log, build(log, postfix_chunk))
    ok(on.get("lines") == off.get("lines") and on.get("repeats", 0) > 0 and
       on.get("alerts", 0) + on.get("repeats", 0) == off.get("alerts"),
       "postfix: the suspensions become repeats and no alert is lost "
       "(on: %s alerts + %s repeats, off: %s alerts)" % (on.get("alerts"), on.get("repeats"),
                                                         off.get("alerts")))
    os.unlink(log)
    # The whole public corpus: a third of its lines are errors, the worst case for the stage.
    log = os.path.join(tmp, "corpus.log")
    on, off = compare("corpus (error-dense)", log, build(log, lambda: corpus))
    ok(on.get("alerts", 0) + on.get("repeats", 0) <= off.get("alerts", 0) and
       on.get("alerts", 0) > 0,
       "corpus: restating lines become repeats, multi-line entries one alert "
       "(on: %s alerts + %s repeats, off: %s alerts)" % (on.get("alerts"), on.get("repeats"),
                                                         off.get("alerts")))
print("1..%d" % n)
