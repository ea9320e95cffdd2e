#!/usr/bin/env python3
"""Score the catalog on the farm's recordings.

usage: score.py MTALERTD SIGNATURES_DIR [--check BASELINE.json] [--json OUT] [--misses]

Runs `mtalertd scan --format json` over every recorded log under
test/scenarios/recorded/ and compares what won on each line with the line's
label (the .labels file beside the log: a signature id, `benign`, or
`unknown-gap: ...`).  Prints per scenario class and in total: error lines,
alerted (recall), right (won by the labelled signature, or named as the
line's cause by the correlation stage: repeat_of, counted apart as "by cause"),
won by a catch-all, won by a wrong one, and benign lines alerted by severity.  With --check it fails when
recall or the right-signature share drops below the checked-in baseline (the
issue's targets are printed beside the measured values)."""
import collections
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from farm import RECORDED, load_scenarios  # noqa: E402

# Records that fire when no specific record recognised a line: a win by one
# of these on a line labelled with a specific record is a "catch-all" win.
CATCH_ALL = {
    "delivery/remote-permanent-failure-5xx",
    "delivery/remote-temporary-failure-4xx",
    "delivery/exim-bounce-any",
    "delivery/exim-defer-any",
    "delivery/exim-remote-host-smtp-error",
    "delivery/exim-remote-smtp-4xx-defer",
    "delivery/exim-remote-smtp-5xx-bounce",
    "policy/exim-acl-rejected-generic",
    "policy/smtpd-reject-other",
    "policy/sendmail-check-ruleset-reject",
    "local/sendmail-syserr",
}
TARGETS = {"recall": 0.97, "right": 0.90, "benign_above_info": 0.005}
SEVERITIES = ["info", "warning", "error", "critical"]


def scan(exe, sigs, files):
    """{(file, line_number): alert} for every alerted line."""
    out = {}
    for i in range(0, len(files), 200):
        chunk = files[i:i + 200]
        r = subprocess.run([exe, "-s", sigs, "scan", "--format", "json"] + chunk,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode not in (0, 1):
            sys.exit("score: mtalertd scan failed (%d): %s" % (r.returncode, r.stderr.decode()[-500:]))
        for line in r.stdout.decode("utf-8", "replace").splitlines():
            if line.startswith("{"):
                a = json.loads(line)
                # A record joined over several lines (an Exim multi-line
                # reply or panic entry) is one alert for each of its lines.
                for k in range(a["line"].count("\n") + 1):
                    out.setdefault((a["file"], a["line_number"] + k), a)
    return out


def named_cause(a):
    """The cause an alert names for its line besides its own record: the
    correlation stage's repeat_of (a session outcome line, a restated
    deferral), which the alert and the chat message show as its cause."""
    return (a.get("repeat_of") or {}).get("id")


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__)
        return 2
    exe, sigs = args[0], args[1]
    check = args[args.index("--check") + 1] if "--check" in args else None
    json_out = args[args.index("--json") + 1] if "--json" in args else None
    show_misses = "--misses" in args
    scns = {s["name"]: s for s in load_scenarios()}
    items = []  # (class, mta, scenario, file, line_number, line, label)
    missing = []
    for name, s in sorted(scns.items()):
        d = os.path.join(RECORDED, s["mta"], name)
        if not os.path.isdir(d):
            missing.append(name)
            continue
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".labels"):
                continue
            path = os.path.join(d, fn)
            with open(path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            with open(path + ".labels") as f:
                labels = f.read().splitlines()
            if len(labels) != len(lines):
                sys.exit("score: %s has %d lines but %d labels" % (path, len(lines), len(labels)))
            for i, (ln, lab) in enumerate(zip(lines, labels), 1):
                items.append((s.get("class", "other"), s["mta"], name, path, i, ln, lab))
    alerts = scan(exe, sigs, sorted({it[3] for it in items}))
    rows = collections.OrderedDict()
    misses = []

    def row(key):
        if key not in rows:
            rows[key] = collections.Counter()
        return rows[key]

    for cls, mta, name, path, i, ln, lab in items:
        a = alerts.get((path, i))
        for key in (cls, "mta:" + mta, "total"):
            r = row(key)
            if lab == "benign":
                r["benign"] += 1
                if a:
                    r["benign_" + a["severity"]] += 1
                continue
            r["error"] += 1
            if lab.startswith("unknown-gap"):
                r["gap"] += 1
            if not a:
                continue
            r["alerted"] += 1
            if a["id"] == lab:
                r["right"] += 1
            elif named_cause(a) == lab:
                r["right"] += 1
                r["right_by_cause"] += 1
            elif a["id"] in CATCH_ALL:
                r["catchall"] += 1
            else:
                r["wrong"] += 1
        if lab == "benign" and a and a["severity"] != "info":
            misses.append("BENIGN-ALERTED %s %s [%s] %s" % (name, a["id"], a["severity"], ln[:220]))
        elif lab != "benign" and (not a or lab not in (a["id"], named_cause(a))):
            misses.append("%s %s want %s got %s | %s" % ("MISS" if not a else "WRONG", name, lab,
                                                          a["id"] if a else "-", ln[:220]))
    classes = sorted(k for k in rows if k != "total" and not k.startswith("mta:"))
    order = classes + sorted(k for k in rows if k.startswith("mta:")) + ["total"]
    hdr = "%-16s %6s %6s %7s %6s %8s %6s %5s %7s  %s" % (
        "class", "errors", "gaps", "alerted", "right", "catchall", "wrong", "recall", "right%",
        "benign: lines / alerted info warning error critical")
    print(hdr)
    print("-" * len(hdr))
    for k in order:
        r = rows[k]
        e = r["error"] or 1
        print("%-16s %6d %6d %7d %6d %8d %6d %5.3f %7.3f  %6d / %4d %4d %4d %4d" % (
            k, r["error"], r["gap"], r["alerted"], r["right"], r["catchall"], r["wrong"],
            r["alerted"] / e, r["right"] / e, r["benign"],
            r["benign_info"], r["benign_warning"], r["benign_error"], r["benign_critical"]))
    t = rows.get("total", collections.Counter())
    e = t["error"] or 1
    measured = {
        "recall": round(t["alerted"] / e, 4),
        "right": round(t["right"] / e, 4),
        "benign_above_info": round((t["benign_warning"] + t["benign_error"] + t["benign_critical"]) /
                                   (t["benign"] or 1), 4),
    }
    print()
    print("%d scenarios with recordings (%d without), %d error lines, %d benign lines" % (
        len(scns) - len(missing), len(missing), t["error"], t["benign"]))
    print("right by cause (repeat_of names the label, the line's own record does not): %d"
          % t["right_by_cause"])
    for k in ("recall", "right", "benign_above_info"):
        print("%-18s measured %.4f   issue target %s %.3f" % (
            k, measured[k], "<=" if k.startswith("benign") else ">=", TARGETS[k]))
    if show_misses:
        print()
        for m in misses:
            print(m)
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"measured": measured, "rows": {k: dict(v) for k, v in rows.items()}}, f, indent=1)
    if missing:
        print("scenarios without recordings: " + ", ".join(missing[:20]))
    if check:
        with open(check) as f:
            base = json.load(f)
        bad = []
        if measured["recall"] < base["recall"]:
            bad.append("recall %.4f below the baseline %.4f" % (measured["recall"], base["recall"]))
        if measured["right"] < base["right"]:
            bad.append("right-signature share %.4f below the baseline %.4f" % (measured["right"], base["right"]))
        if measured["benign_above_info"] > base["benign_above_info"]:
            bad.append("benign lines alerted above info %.4f above the baseline %.4f" % (
                measured["benign_above_info"], base["benign_above_info"]))
        # Per-MTA floors: a better total must not hide one MTA getting worse.
        for mta, floor in sorted((base.get("mta") or {}).items()):
            r = rows.get("mta:" + mta, collections.Counter())
            e = r["error"] or 1
            got = {"recall": r["alerted"] / e, "right": r["right"] / e}
            for k in ("recall", "right"):
                if k in floor and round(got[k], 4) < floor[k]:
                    bad.append("%s %s %.4f below the baseline %.4f" % (mta, k, got[k], floor[k]))
            if r["error"] < floor.get("min_error_lines", 0):
                bad.append("%s: only %d labelled error lines (baseline %d): recordings lost?" % (
                    mta, r["error"], floor["min_error_lines"]))
        if t["error"] < base.get("min_error_lines", 0):
            bad.append("only %d labelled error lines (baseline %d): recordings lost?" % (
                t["error"], base["min_error_lines"]))
        for b in bad:
            print("FAIL: " + b)
        if not bad:
            print("baseline %s holds (recall >= %.4f, right >= %.4f, benign above info <= %.4f)" % (
                os.path.basename(check), base["recall"], base["right"], base["benign_above_info"]))
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
