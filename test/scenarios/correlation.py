#!/usr/bin/env python3
"""The correlation stage on the scenario farm's recordings (real Exim and
Postfix output): a retry notice restates the cause already known for its
message; an expiry names what the message was deferred for; a deferral that
repeats the first one is a repeat, not news.

usage: correlation.py MTALERTD SIGNATURES_DIR        (TAP)"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDED = os.path.join(HERE, "recorded")
EXE, SIGS = sys.argv[1], sys.argv[2]
n = failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    if not cond:
        failed += 1
        for ln in detail.splitlines()[:40]:
            print("# " + ln)
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))


def scan(mta, scenario, log):
    path = os.path.join(RECORDED, mta, scenario, log)
    p = subprocess.run([EXE, "scan", "--format", "json", "-s", SIGS, path],
                       capture_output=True, text=True, timeout=120)
    return [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]


def show(alerts):
    return "\n".join("%s repeat_of=%s outcome=%s | %s" % (
        a["id"], (a.get("repeat_of") or {}).get("id"), (a.get("outcome") or {}).get("cause"),
        a["line"][:120]) for a in alerts)


# Exim: the first deferral is news; the queue run's "retry time not reached" restates it.
a = scan("exim", "exim-retry-time-not-reached", "mainlog")
first = [x for x in a if not x.get("repeat_of")]
retry = [x for x in a if x["id"] == "delivery/exim-retry-time-not-reached"]
ok(len(first) == 1 and retry and all((x.get("repeat_of") or {}).get("id") == first[0]["id"]
                                     for x in retry),
   "Exim: one alert is news; every retry-time-not-reached line is a repeat of its cause",
   show(a))

# Exim: deferred twice, then "retry timeout exceeded": the second deferral is a repeat and
# the bounce names the 451 it was deferred for.
a = scan("exim", "exim-retry-timeout-exceeded", "mainlog")
defers = [x for x in a if x["line"].find(" == ") > 0]
bounce = [x for x in a if x["id"] == "delivery/exim-retry-timeout-exceeded"]
ok(len(defers) >= 2 and not defers[0].get("repeat_of")
   and all((x.get("repeat_of") or {}).get("id") == defers[0]["id"] for x in defers[1:]),
   "Exim: a deferral that restates the first one is a repeat", show(a))
ok(len(bounce) == 1 and (bounce[0].get("outcome") or {}).get("cause") == defers[0]["id"]
   and "451" in (bounce[0].get("outcome") or {}).get("reply", ""),
   "Exim: retry timeout exceeded names the original cause and its 451 reply", show(a))

# Postfix: status=expired names the greylisting it was deferred for.
a = scan("postfix", "postfix-queue-lifetime-expired", "maillog")
exp = [x for x in a if x["id"] == "delivery/queue-lifetime-expired"]
ok(len(exp) == 1 and (exp[0].get("outcome") or {}).get("cause") == "policy/greylisted-by-remote"
   and (exp[0].get("outcome") or {}).get("status") == "expired",
   "Postfix: status=expired names its cause (greylisted by the remote)", show(a))

print("1..%d" % n)
sys.exit(1 if failed else 0)
