#!/usr/bin/env python3
"""The shipped catalog keeps the rules of signatures/README.md.

usage: test_catalog_policy.py MTALERTD SIGNATURES_DIR SCHEMA_JSON CORPUS_DIR

The loader enforces types and ranges (mtalertd check); this enforces the
catalog's own policy: every schema field present, id = path, the fixed
category vocabulary and the domain it implies, links that resolve,
translations that line up, enough examples, and no specificity tie between
two signatures that both match one line (example lines and the corpus).
"""
import json
import os
import subprocess
import sys

import yaml

EXE, SIGS, SCHEMA, CORPUS = sys.argv[1:5]
n = failed = 0

CATEGORY_DOMAIN = {
    "network_error": "communication", "dns_error": "dns", "tls_error": "tls",
    "protocol_error": "communication", "authentication_error": "security", "attack": "security",
    "policy_rejection": "policy", "blocklist": "policy", "rate_limit": "policy",
    "content_rejection": "policy", "recipient_error": "delivery", "routing_error": "delivery",
    "delivery_delay": "delivery", "delivery_failure": "delivery", "local_error": "local",
}
ROOT_CAUSE_TYPES = {"generic", "provider_specific", "config", "local", "remote_policy", "attack"}
OWN_FIELDS = ["mta", "severity", "specificity", "source_url", "examples"]


def ok(cond, name, problems=()):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name))
    if not cond:
        failed += 1
        for p in list(problems)[:25]:
            print("# " + str(p))
    sys.stdout.flush()


schema_keys = list(json.load(open(SCHEMA)).keys())
recs = {}
for d, _, files in os.walk(SIGS):
    for f in files:
        if f.endswith(".yaml"):
            p = os.path.join(d, f)
            recs[os.path.relpath(p, SIGS)[:-5]] = (p, yaml.safe_load(open(p)))

missing = ["%s: no %s" % (rid, k) for rid, (p, r) in recs.items()
           for k in schema_keys + OWN_FIELDS if k not in r]
ok(not missing, "every record has every schema field and mtalert's own (%d records)" % len(recs), missing)
ok(all(r["id"] == rid for rid, (p, r) in recs.items()), "id equals the file path",
   [(rid, r["id"]) for rid, (p, r) in recs.items() if r["id"] != rid])
ok(all(rid.split("/")[0] == r["domain"] for rid, (p, r) in recs.items()),
   "each record lives in the folder of its domain",
   [(rid, r["domain"]) for rid, (p, r) in recs.items() if rid.split("/")[0] != r["domain"]])
bad = ["%s: category %s" % (rid, r["category"]) for rid, (p, r) in recs.items()
       if r["category"] not in CATEGORY_DOMAIN]
ok(not bad, "categories come from the fixed vocabulary", bad)
bad = ["%s: domain %s" % (rid, r["domain"]) for rid, (p, r) in recs.items()
       if r["category"] in CATEGORY_DOMAIN and r["domain"] !=
       ("provider" if rid.startswith("provider/") else CATEGORY_DOMAIN[r["category"]])]
ok(not bad, "domain follows from the category (provider/ records: provider)", bad)
bad = ["%s: %s" % (rid, r["root_cause_type"]) for rid, (p, r) in recs.items()
       if r["root_cause_type"] not in ROOT_CAUSE_TYPES]
ok(not bad, "root_cause_type is one of %s" % sorted(ROOT_CAUSE_TYPES), bad)
bad = ["%s -> %s" % (rid, t) for rid, (p, r) in recs.items()
       for v in (r.get("transition_graph") or {}).values() for t in (v or []) if t not in recs]
ok(not bad, "every transition_graph id exists", bad)
bad = [rid for rid, (p, r) in recs.items()
       if len(r["examples"].get("match") or []) < 2 or len(r["examples"].get("no_match") or []) < 1]
ok(not bad, "two match examples and one near miss each", bad)
bad = [rid for rid, (p, r) in recs.items()
       if len(r.get("workarounds_zh") or []) != len(r["workarounds"]) or not r.get("signature_zh")
       or not r.get("root_cause_zh")]
ok(not bad, "translations: signature_zh, root_cause_zh, one workarounds_zh per workaround", bad)
bad = [rid for rid, (p, r) in recs.items()
       if not str(r.get("source_url") or "").startswith("http") or
       not str(r.get("official_doc_url") or "").startswith("http")]
ok(not bad, "a source URL and an official doc URL each", bad)

# Ties: scan every example line and the whole corpus; winner must be strictly more specific.
spec = {rid: r.get("specificity", 50) for rid, (p, r) in recs.items()}
lines = [l for rid, (p, r) in recs.items() for l in r["examples"]["match"]]
inputs = [("-", ("\n".join(lines) + "\n").encode())]
for d, _, files in os.walk(CORPUS):
    inputs += [(os.path.join(d, f), None) for f in files if f.endswith(".log")]
ties = []
for path, data in inputs:
    out = subprocess.run([EXE, "-s", SIGS, "scan", path], input=data, stdout=subprocess.PIPE).stdout
    for raw in out.splitlines():
        a = json.loads(raw)
        for other in a["also_matched"]:
            if spec[other] >= spec[a["id"]]:
                ties.append("%s (%d) ties %s (%d) on %s" % (a["id"], spec[a["id"]], other, spec[other],
                                                          a["line"][:120]))
ok(not ties, "no two signatures of equal specificity claim the same line", sorted(set(ties)))

print("1..%d" % n)
sys.exit(1 if failed else 0)
