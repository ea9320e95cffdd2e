#!/usr/bin/env python3
"""Run each libFuzzer target for a while and print its figures: executions,
executions per second, coverage (libFuzzer's cov: counters) and features.

usage: bench_fuzz.py SECONDS CORPUS_ROOT FUZZER...   (a -Dfuzzing=true build)
Each fuzzer starts from a copy of its seed corpus (test/fuzz/corpus/<name>),
so the seeds in the source tree are never written.  A crash fails the run.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    seconds, root, fuzzers = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    failed = False
    print("%-18s %12s %10s %8s %8s" % ("target", "execs", "exec/s", "cov", "ft"))
    for exe in map(os.path.abspath, fuzzers):
        name = os.path.basename(exe)[len("fuzz_"):]
        work = tempfile.mkdtemp(prefix="mt-fuzz-%s-" % name)
        seeds = os.path.join(root, name)
        if os.path.isdir(seeds):
            for f in os.listdir(seeds):
                shutil.copy(os.path.join(seeds, f), work)
        r = subprocess.run([exe, "-max_total_time=%d" % seconds, "-print_final_stats=1",
                            "-rss_limit_mb=2048", work],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=work)
        out = r.stdout.decode("utf-8", "replace")
        covs = re.findall(r"cov: (\d+) ft: (\d+)", out)
        execs = re.findall(r"stat::number_of_executed_units: (\d+)", out)
        speed = re.findall(r"stat::average_exec_per_sec: *(\d+)", out)
        cov, ft = covs[-1] if covs else ("-", "-")
        print("%-18s %12s %10s %8s %8s" % (name, execs[-1] if execs else "-",
                                           speed[-1] if speed else "-", cov, ft))
        if r.returncode != 0:
            failed = True
            print("\n".join(out.splitlines()[-30:]))
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


main()
