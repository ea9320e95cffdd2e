#!/usr/bin/env python3
"""signatures/COVERAGE-MTA.md is what coverage_mta.py writes from today's catalog.

usage: test_coverage_mta.py MTALERTD SIGNATURES_DIR

Runs the generator in --check mode (it scans the synthesized MTA lines with
the real mtalertd and compares with the file on disk), then reads the counts
the file states: no Postfix fatal or panic format string may be uncovered or
won by a catch-all (Exim's panic-log strings are listed and counted, not yet
all covered), and the counts must add up to the rows of mta-messages.tsv.
"""
import os
import re
import subprocess
import sys

EXE, SIGS = sys.argv[1:3]
n = failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name))
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:25]:
            print("# " + line)
    sys.stdout.flush()


gen = os.path.join(SIGS, "coverage_mta.py")
res = subprocess.run([sys.executable, gen, EXE, SIGS, "--check"], stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, check=False)
ok(res.returncode == 0, "COVERAGE-MTA.md is up to date with the catalog and mta-messages.tsv",
   res.stdout.decode(errors="replace"))

text = open(os.path.join(SIGS, "COVERAGE-MTA.md"), encoding="utf-8").read()
counts = {}
for m in re.finditer(r"^\| (\w+) \| (\w+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$",
                     text, re.M):
    counts[(m.group(1), m.group(2))] = [int(x) for x in m.group(3, 4, 5, 6, 7, 8)]
rows = [ln.split("\t") for ln in open(os.path.join(SIGS, "mta-messages.tsv"), encoding="utf-8")
        if ln.strip() and not ln.startswith("#")]
ok(sum(c[0] for c in counts.values()) == len(rows) and len(rows) > 0,
   "the summary counts every row of mta-messages.tsv (%d)" % len(rows), counts)
ok(all(c[0] == sum(c[1:]) for c in counts.values()), "each summary row adds up", counts)
bad = ["%s %s: %d catch-all, %d uncovered" % (k[0], k[1], c[4], c[5])
       for k, c in sorted(counts.items())
       if k[0] == "postfix" and k[1] in ("fatal", "panic") and (c[4] or c[5])]
ok(("postfix", "fatal") in counts and ("postfix", "panic") in counts and not bad,
   "every Postfix fatal and panic format string alerts with a record that is not a catch-all",
   "\n".join(bad))
print("1..%d" % n)
sys.exit(1 if failed else 0)
