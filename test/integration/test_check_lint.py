#!/usr/bin/env python3
"""`mtalertd check` names a record whose regex gives the prefilter only a weak
literal (a warning, not an error), with file, line and the literal, and says
nothing of the kind for a record with a specific literal.

usage: test_check_lint.py MTALERTD

Emits TAP.
"""
import os
import subprocess
import sys
import tempfile
from tap import done, ok  # noqa: E402

MTALERTD = sys.argv[1]

RECORD = """id: lint/{name}
signature: {name}
regex: '{regex}'
domain: lint
category: lint
root_cause: a record for the lint test
workarounds: [{{action: none, success_rate: 0.5}}]
examples:
  match:
    - '{line}'
"""

WEAK = ("weak", r"]: warning: [a-z]+ \d+",
        "Dec  4 10:00:00 mx postfix/smtpd[1]: warning: hostname 12")
GOOD = ("good", r"]: warning: mailbox quota exceeded for \S+",
        "Dec  4 10:00:00 mx postfix/local[1]: warning: mailbox quota exceeded for bob")

with tempfile.TemporaryDirectory() as tmp:
    for name, regex, line in (WEAK, GOOD):
        with open(os.path.join(tmp, name + ".yaml"), "w") as f:
            f.write(RECORD.format(name=name, regex=regex, line=line))
    p = subprocess.run([MTALERTD, "-s", tmp, "check"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    out, err = p.stdout.decode(), p.stderr.decode()
    ok(p.returncode == 0, "a weak literal is a warning: check exits 0 (got %d)" % p.returncode,
       out + err)
    want = "%s/weak.yaml:3:8: warning: lint/weak: regex's prefilter literal is weak" % tmp
    lines = [l for l in err.splitlines() if l.startswith(want)]
    ok(len(lines) == 1, "the weak record is named with file:line:col", err)
    ok(len(lines) == 1 and lines[0].endswith(": ']: warning: '"),
       "the warning quotes the literal ']: warning: '", err)
    ok("good.yaml" not in err, "nothing is said of the record with a specific literal", err)
    ok("0 errors, 1 warning," in out, "the summary counts one warning", out)
done()
