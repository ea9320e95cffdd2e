#!/usr/bin/env python3
"""A webhook whose filter (min_severity, include, exclude) takes none of the
enabled signatures would never be sent anything: mtalertd says so at load.

usage: test_deaf_webhook.py MTALERTD SIGNATURES_DIR
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]

# A webhook whose min_severity leaves it no signature: warned at load.
tmp = tempfile.mkdtemp(prefix="mt-outage-")
log = os.path.join(tmp, "mail.log")
open(log, "w").close()
d = Daemon(EXE, SIGS, tmp, "")
with open(d.conf_path, "w") as f:
    f.write("state_directory: %s\ninputs:\n  - path: %s\nalerting:\n  webhooks:\n"
            "    - name: deaf\n      url: http://127.0.0.1:9/x\n      format: json\n"
            "      include: [\"communication/exim-protocol-synchronization-error\"]\n"
            "    - name: fine\n      url: http://127.0.0.1:9/y\n      format: json\n"
            % (d.state, log))
os.chmod(d.conf_path, 0o600)
d.start()
text = d.log()
ok("webhook deaf: its filter (min_severity warning" in text and "webhook fine: its filter" not in text,
   "a webhook whose min_severity excludes every signature it includes is warned about at load",
   text)
d.stop()
shutil.rmtree(tmp, ignore_errors=True)

done()
