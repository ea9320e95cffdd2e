#!/usr/bin/env python3
"""Recall and precision of the signature catalog on the public corpus.

usage: recall.py MTALERTD SIGNATURES_DIR CORPUS_DIR [--verbose] [--check]

Runs `mtalertd scan` over every *.log file of the corpus and prints, per
file: the error lines that no signature matches, benign lines that some
signature matches, and lines that two signatures with different root causes
both claim (resolved by specificity: the winner is named).  Then the totals.

An error line is one a person would call an error: a 4xx/5xx reply,
status=deferred|bounced|expired, warning:, fatal:, error:, panic:, Exim
`**`, `==`, `rejected`, `defer`.  A benign line is status=sent,
connect/disconnect, qmgr bookkeeping, Exim `<=`, `=>`, `->`, Completed.
With --check, exit 1 unless recall >= 95 % and no benign line is matched.
"""
import json
import os
import re
import subprocess
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
verbose = "--verbose" in sys.argv
check = "--check" in sys.argv
MTALERTD, SIGS, CORPUS = args[0], args[1], args[2]

ERROR = re.compile(
    rb"(?:\b[45]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b|said: [45]\d\d|\b[45]\d\d [A-Za-z<]"
    rb"|status=(?:deferred|bounced|expired)|\bwarning: |\bfatal: |\berror: |\bpanic: |\bpanic\b"
    rb"| \*\* | == |\brejected\b|\bdefer\b|\breject: )")
BENIGN = re.compile(
    rb"(?:status=sent|: (?:dis)?connect from |postfix/qmgr\[\d+\]: [0-9A-Za-z]+: (?:from=|removed)"
    rb"| <= | => | -> |\bCompleted$)")


def classify(raw):
    if ERROR.search(raw):
        return "error"
    if BENIGN.search(raw):
        return "benign"
    return "other"


def main():
    files = []
    for d, _, names in os.walk(CORPUS):
        files += [os.path.join(d, n) for n in names if n.endswith(".log")]
    files.sort()
    tot = {"error": 0, "error_hit": 0, "benign": 0, "benign_hit": 0, "overlap": 0, "lines": 0}
    for path in files:
        p = subprocess.run([MTALERTD, "-s", SIGS, "scan", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        hits = {}
        for raw in p.stdout.splitlines():
            a = json.loads(raw)
            hits[a["line_number"]] = a
        lines = open(path, "rb").read().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        missed, false_pos, overlaps = [], [], []
        n_err = n_err_hit = n_ben = n_ben_hit = 0
        for i, raw in enumerate(lines, 1):
            kind = classify(raw)
            a = hits.get(i)
            if kind == "error":
                n_err += 1
                if a:
                    n_err_hit += 1
                else:
                    missed.append(raw)
            elif kind == "benign" and a and not ERROR.search(raw):
                n_ben += 1
                n_ben_hit += 1
                false_pos.append((a["id"], raw))
            elif kind == "benign":
                n_ben += 1
            if a and a["also_matched"]:
                overlaps.append((a["id"], a["also_matched"], raw))
        tot["lines"] += len(lines)
        tot["error"] += n_err
        tot["error_hit"] += n_err_hit
        tot["benign"] += n_ben
        tot["benign_hit"] += n_ben_hit
        tot["overlap"] += len(overlaps)
        rel = os.path.relpath(path, CORPUS)
        print("%-58s %5d lines  errors %4d/%-4d (%5.1f%%)  benign matched %d  overlaps %d" % (
            rel, len(lines), n_err_hit, n_err, 100.0 * n_err_hit / n_err if n_err else 100.0,
            n_ben_hit, len(overlaps)))
        if verbose:
            for raw in missed:
                print("    MISS  " + raw.decode("utf-8", "backslashreplace")[:220])
            for sid, raw in false_pos:
                print("    BENIGN %s  %s" % (sid, raw.decode("utf-8", "backslashreplace")[:200]))
            for sid, others, raw in overlaps:
                print("    OVERLAP %s over %s  %s" % (sid, ",".join(others),
                      raw.decode("utf-8", "backslashreplace")[:160]))
    recall = 100.0 * tot["error_hit"] / tot["error"] if tot["error"] else 100.0
    print("\ntotal: %d lines, %d error lines, %d matched (recall %.1f%%), %d benign lines, "
          "%d benign matched, %d lines claimed by several signatures (winner by specificity)"
          % (tot["lines"], tot["error"], tot["error_hit"], recall, tot["benign"],
             tot["benign_hit"], tot["overlap"]))
    if check and (recall < 95.0 or tot["benign_hit"] > 0):
        sys.exit(1)


main()
