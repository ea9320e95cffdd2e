#!/usr/bin/env python3
"""What a record's knowledge rests on, derived from data, not claimed.

usage: provenance.py [--write] [--date YYYY-MM-DD] [SIGNATURES_DIR]

Reads every record and the scenario farm's recordings
(test/scenarios/recorded/MTA/SCENARIO/LOG.labels: a person's label for each
line a real MTA wrote) and checks, or with --write sets, the fields that say
how sure a record is (signatures/README.md, "How sure a record is"):

  reproduced_by       the farm scenarios in which a real Postfix, Exim or
                      Sendmail wrote a line labelled with this record;
  verification_tier   farm_verified   reproduced, and a workaround carries
                                      verified_by (the farm applied it and
                                      the mail flowed);
                      farm_reproduced reproduced by the farm;
                      ai_generated    neither: written from documentation and
                                      example lines, checked by nobody;
  last_confirmed      null unless reproduced (then the date of the --write run
                      that saw it reach its tier, kept afterwards);
  verified_by         on a workaround: the scenarios in which the farm ran its
                      `apply` (as written, the record's first workaround) on
                      the broken MTA and saw the mail flow, from
                      test/scenarios/verified.json (`farm.py verify`): only a
                      passing result for this record with the very same
                      `apply` counts.

It also enforces the README's rule for rates: a workaround without
`sources` claims a success_rate of at most 0.7, and workarounds stay ordered
by success_rate; fix_success_rate, the chance that following the
workarounds fixes it, is not above the best of them.  Without --write it exits 1 and lists every record whose
fields disagree with the data (the `provenance` test runs it that way).

It also checks the farm's scenarios (test/scenarios/scenarios/*.yaml, as
farm.py loads them): every scenario of class local-fault says `verify` or
`not_verifiable: REASON` (test/scenarios/README.md).  Those of the MTAs in
VERIFY_REQUIRED_MTAS that say neither are problems; the others are listed.

Edits are line-based, so the rest of each file is kept byte for byte.
"""
import datetime
import glob
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDED = os.path.join(os.path.dirname(HERE), "test", "scenarios", "recorded")
VERIFIED = os.path.join(os.path.dirname(HERE), "test", "scenarios", "verified.json")
UNSOURCED_MAX = 0.7
SCENARIOS = os.path.join(os.path.dirname(HERE), "test", "scenarios")
# A farm scenario of class local-fault either proves its record's first
# workaround (`verify`) or says in one sentence why it cannot
# (`not_verifiable`).  Scenarios of these MTAs that do neither fail this
# check; the others' are only listed.
VERIFY_REQUIRED_MTAS = ["postfix", "exim", "sendmail"]


def farm_labels():
    """{record id: sorted scenario names} from the recordings' labels."""
    seen = {}
    for path in glob.glob(os.path.join(RECORDED, "*", "*", "*.labels")):
        scenario = os.path.basename(os.path.dirname(path))
        with open(path, encoding="utf-8") as f:
            for label in f.read().splitlines():
                label = label.strip()
                if "/" in label and not label.startswith("unknown-gap"):
                    seen.setdefault(label, set()).add(scenario)
    return {k: sorted(v) for k, v in seen.items()}


def farm_verified():
    """{(record id, apply): sorted scenario names} of the passing verifications."""
    import json
    try:
        with open(VERIFIED, encoding="utf-8") as f:
            results = json.load(f)
    except FileNotFoundError:
        return {}
    out = {}
    for scenario, r in results.items():
        if r.get("passed") and r.get("signature") and r.get("apply"):
            out.setdefault((r["signature"], r["apply"]), set()).add(scenario)
    return {k: sorted(v) for k, v in out.items()}


def wanted_verified(rec, passes):
    """The verified_by each workaround should carry (a list per workaround)."""
    return [passes.get((rec["id"], w.get("apply")), []) if w.get("apply") else []
            for w in rec.get("workarounds") or []]


def set_verified_by(lines, want):
    """Put each workaround's verified_by list (or none) in the workarounds block, in place."""
    b = top_block(lines, "workarounds")
    if not b:
        return lines
    body = lines[b[0] + 1:b[1]]
    starts, indent = [], None
    for i, ln in enumerate(body):
        m = re.match(r"^( *)- ", ln)
        if m and (indent is None or len(m.group(1)) == indent):
            indent = len(m.group(1))
            starts.append(i)
    items = [body[a:c] for a, c in zip(starts, starts[1:] + [len(body)])]
    out = body[:starts[0]] if starts else body
    for k, item in enumerate(items):
        key_indent = indent + 2
        keep, skip = [], False
        for ln in item:
            lead = len(ln) - len(ln.lstrip(" "))
            if ln.strip().startswith("verified_by:") and lead == key_indent:
                skip = True
                continue
            if skip and (lead > key_indent or ln.lstrip().startswith("- ") and lead >= key_indent):
                continue
            skip = False
            keep.append(ln)
        while keep and not keep[-1].strip():
            keep.pop()
        if k < len(want) and want[k]:
            keep.append(" " * key_indent + "verified_by:\n")
            keep += [" " * key_indent + "- %s\n" % sc for sc in want[k]]
        out += keep
    lines[b[0] + 1:b[1]] = out
    return lines


def verified(rec):
    return any(w.get("verified_by") for w in rec.get("workarounds") or [])


def wanted(rec, repro):
    tier = "ai_generated"
    if repro:
        tier = "farm_verified" if verified(rec) else "farm_reproduced"
    return tier


def rate_problems(rec):
    out = []
    ws = rec.get("workarounds") or []
    for i, w in enumerate(ws, 1):
        r = w.get("success_rate")
        if r is not None and not w.get("sources") and r > UNSOURCED_MAX:
            out.append("workaround %d has no sources but claims success_rate %s (at most %s)"
                       % (i, r, UNSOURCED_MAX))
    rates = [w.get("success_rate") or 0 for w in ws]
    if rates != sorted(rates, reverse=True):
        out.append("workarounds are not ordered by success_rate: %s" % rates)
    fix = rec.get("fix_success_rate")
    if fix is not None and rates and fix > max(rates):
        out.append("fix_success_rate %s is above every workaround's success_rate (best %s)"
                   % (fix, max(rates)))
    return out


def top_block(lines, key):
    """(start, end) of a top-level key's lines (the key line and its indented or list body)."""
    for i, ln in enumerate(lines):
        if ln.startswith(key + ":"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "-")) or not lines[j].strip()):
                if lines[j].startswith("-") and not lines[i].rstrip().endswith(":"):
                    break
                j += 1
            # Trailing blank lines belong to what follows.
            while j > i + 1 and not lines[j - 1].strip():
                j -= 1
            return i, j
    return None


def set_scalar(lines, key, value, after=None):
    b = top_block(lines, key)
    new = ["%s: %s\n" % (key, value)]
    if b:
        lines[b[0]:b[1]] = new
    else:
        a = top_block(lines, after) if after else None
        at = a[1] if a else len(lines)
        lines[at:at] = new


def set_list(lines, key, items, after):
    b = top_block(lines, key)
    new = ["%s:\n" % key] + ["  - %s\n" % it for it in items] if items else []
    if b:
        lines[b[0]:b[1]] = new
    elif new:
        a = top_block(lines, after)
        at = a[1] if a else len(lines)
        lines[at:at] = new


def cap_rates(lines, rec):
    """Cap unsourced success rates in the workarounds block, in place."""
    b = top_block(lines, "workarounds")
    if not b:
        return
    idx, item_indent = -1, None
    for i in range(b[0] + 1, b[1]):
        if re.match(r"^ *- ", lines[i]) and (lines[i].index("-") == item_indent
                                               or item_indent is None):
            item_indent = lines[i].index("-")
            idx += 1
        m = re.match(r"^(\s+success_rate:\s*)([0-9.]+)\s*$", lines[i])
        if m and idx >= 0:
            w = rec["workarounds"][idx]
            if not w.get("sources") and float(m.group(2)) > UNSOURCED_MAX:
                lines[i] = "%s%s\n" % (m.group(1), UNSOURCED_MAX)


def unproven_local_faults():
    """[(file, mta, scenario, problem)] for the farm's local-fault scenarios that
    have neither `verify` nor `not_verifiable` (or a not_verifiable that is
    no reason), as farm.py loads them (a record naming several MTAs is one
    scenario per MTA)."""
    sys.path.insert(0, SCENARIOS)
    import farm  # noqa: E402  (test/scenarios/farm.py: its scenario loader)
    out = []
    for s in farm.load_scenarios():
        if s.get("class") != "local-fault":
            continue
        nv = s.get("not_verifiable")
        if nv is not None and not (isinstance(nv, str) and nv.strip()):
            out.append((s["_file"], s["mta"], s["name"], "not_verifiable is not a reason: %r" % (nv,)))
        elif nv and s.get("verify"):
            out.append((s["_file"], s["mta"], s["name"], "both verify and not_verifiable"))
        elif not nv and not s.get("verify"):
            out.append((s["_file"], s["mta"], s["name"],
                        "a local fault with neither verify nor not_verifiable"))
    return out


def main(argv):
    write = "--write" in argv
    date = datetime.date.today().isoformat()
    args = [a for a in argv if a != "--write"]
    if "--date" in args:
        i = args.index("--date")
        date = args[i + 1]
        del args[i:i + 2]
    sigdir = args[0] if args else HERE
    repro_all = farm_labels()
    passes = farm_verified()
    ids, bad = set(), []
    counts = {"ai_generated": 0, "farm_reproduced": 0, "farm_verified": 0}
    for path in sorted(glob.glob(os.path.join(sigdir, "*", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        rec = yaml.safe_load(text)
        ids.add(rec["id"])
        repro = repro_all.get(rec["id"], [])
        want_v = wanted_verified(rec, passes)
        rec_v = dict(rec, workarounds=[dict(w, verified_by=v) for w, v in
                                       zip(rec.get("workarounds") or [], want_v)])
        tier = wanted(rec_v, repro)
        counts[tier] += 1
        problems = []
        if rec.get("verification_tier") != tier:
            problems.append("verification_tier is %r, the data say %r"
                            % (rec.get("verification_tier"), tier))
        if sorted(rec.get("reproduced_by") or []) != repro:
            problems.append("reproduced_by is %r, the recordings say %r"
                            % (rec.get("reproduced_by"), repro))
        if not repro and rec.get("last_confirmed") is not None:
            problems.append("last_confirmed %r, but nothing confirmed it (not reproduced)"
                            % rec.get("last_confirmed"))
        if repro and rec.get("last_confirmed") is None:
            problems.append("reproduced, but last_confirmed is null")
        for i, (w, v) in enumerate(zip(rec.get("workarounds") or [], want_v), 1):
            if sorted(w.get("verified_by") or []) != v:
                problems.append("workaround %d verified_by is %r, test/scenarios/verified.json "
                                "says %r (a passing `farm.py verify` with this very apply)"
                                % (i, w.get("verified_by"), v))
        problems += rate_problems(rec)
        if not problems:
            continue
        if not write:
            bad.append((path, problems))
            continue
        lines = text.splitlines(keepends=True)
        set_scalar(lines, "verification_tier", tier)
        set_list(lines, "reproduced_by", repro, "verification_tier")
        if not repro:
            set_scalar(lines, "last_confirmed", "null", "first_seen")
        elif rec.get("last_confirmed") is None or rec.get("verification_tier") != tier:
            # Newly reproduced: confirmed by the recordings as of this run.
            set_scalar(lines, "last_confirmed", "'%s'" % date, "first_seen")
        cap_rates(lines, rec)
        set_verified_by(lines, want_v)
        capped = yaml.safe_load("".join(lines))
        best = max([w.get("success_rate") or 0 for w in capped.get("workarounds") or []] or [1])
        if (rec.get("fix_success_rate") or 0) > best:
            set_scalar(lines, "fix_success_rate", best)
        new = "".join(lines)
        check = yaml.safe_load(new)
        left = rate_problems(check)
        if left:
            bad.append((path, left))  # ordering: only a person can fix it (add a source)
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
    listed, listed_mtas = [], set()
    for fname, mta, name, problem in unproven_local_faults():
        where = os.path.join(SCENARIOS, "scenarios", fname)
        if mta in VERIFY_REQUIRED_MTAS:
            bad.append((where, ["scenario %s: %s" % (name, problem)]))
        else:
            listed.append("%s: scenario %s: %s" % (os.path.relpath(where), name, problem))
            listed_mtas.add(mta)
    if listed:
        print("provenance: listed, not failed (%s not in VERIFY_REQUIRED_MTAS %s):"
              % ("/".join(sorted(listed_mtas)), VERIFY_REQUIRED_MTAS))
        for x in listed:
            print("  " + x)
    unknown = sorted(set(repro_all) - ids)
    for u in unknown:
        bad.append(("recordings", ["label %r names no record" % u]))
    for path, problems in bad:
        for p in problems:
            print("%s: %s" % (os.path.relpath(path), p))
    print("provenance: %d records: %d farm_verified, %d farm_reproduced, %d ai_generated; "
          "%d with problems" % (len(ids), counts["farm_verified"], counts["farm_reproduced"],
                                counts["ai_generated"], len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
