#!/usr/bin/env python3
"""What an administrator meets on a real host (issue 9, bugs 2 and 6 to 8),
on the real binary: --version; `check -c` with the daemon's default
signatures; a {token} URL without a token and a missing or empty token_file
are configuration errors for check and the daemon alike; a byte that is not
UTF-8 in the YAML is reported where it is; `scan --summary --format json`;
a broken local signature file no longer stops the boot but shows in the
log, in `check` and in systemd's STATUS=; a webhook that keeps failing
raises local/mtalert-webhook-failing through stdout and shows in STATUS=
until it delivers again; "1 error", not "1 errors".


usage: test_admin.py MTALERTD SIGNATURES_DIR
Webhooks go to a receiver of this test on 127.0.0.1; sd_notify datagrams to
a unix socket of this test.  Every wait is bounded.
"""
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, append, error_line, notify_socket  # noqa: E402
from http_receiver import Receiver  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
EX_CONFIG = 78
SIG_421 = "communication/smtp-421-service-not-available"
SIG_FAILING = "local/mtalert-webhook-failing"
# A real Postfix rejection (wazuh-ossec's postfix.log, in the catalog's examples).
USER_UNKNOWN = ("Aug 13 15:45:46 server postfix/smtpd[13844]: 00ADB3C0899: reject: RCPT from "
                "example.com[192.0.2.1]: 550 5.1.1 <sales@server.com>: Recipient address "
                "rejected: User unknown in local recipient table; from=<xxxxxx@example.com> "
                "to=<sales@server.com> proto=ESMTP helo=<mail.example.com>")


def run(args, timeout=120, env=None):
    p = subprocess.run([EXE] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def write(path, text, mode=0o600):
    with open(path, "wb") as f:
        f.write(text if isinstance(text, bytes) else text.encode())
    os.chmod(path, mode)
    return path


class Notes:
    """sd_notify datagrams on a socket of ours, every one kept."""

    def __init__(self, path):
        self.sock = notify_socket(path)
        self.got = []

    def poll(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                self.got.append(self.sock.recv(4096).decode("utf-8", "replace"))
            except OSError:
                pass

    def statuses(self):
        out = []
        for g in self.got:
            out += [x[len("STATUS="):] for x in g.split("\n") if x.startswith("STATUS=")]
        return out

    def wait(self, pred, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred(self.statuses()):
                return True
            self.poll(0.2)
        return pred(self.statuses())

    def close(self):
        self.sock.close()


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def refused(d):
    """Start d expecting a refusal: its exit status, or None if it started or hung."""
    d.start(wait_ready=False)
    wait_for(lambda: d.proc.poll() is not None or "started:" in d.log(), 60)
    return d.proc.poll()


def good_alerts(d):
    """The alerts on the daemon's stdout; a line still being written is left for later."""
    out = []
    with open(d.out_path, "rb") as f:
        for raw in f:
            try:
                out.append(json.loads(raw))
            except ValueError:
                pass
    return out


tmp = tempfile.mkdtemp(prefix="mt-admin-")
daemons, receivers = [], []
try:
    state = os.path.join(tmp, "state")
    mail_log = os.path.join(tmp, "mail.log")
    open(mail_log, "w").close()
    base = "state_directory: %s\ninputs:\n  - path: %s\n" % (state, mail_log)

    # 1. --version
    rc, out, err = run(["--version"])
    ok(rc == 0 and out == "mtalertd 0.1.0\n", "--version prints 'mtalertd 0.1.0' and exits 0",
       "rc %d\n%s%s" % (rc, out, err))
    rc, out, err = run(["-V"])
    ok(rc == 0 and out == "mtalertd 0.1.0\n", "-V too", "rc %d\n%s%s" % (rc, out, err))

    # 2. check -c without signatures.directories: the daemon's default catalog.
    conf = write(os.path.join(tmp, "plain.yaml"), base)
    rc, out, err = run(["check", "-c", conf])
    m = re.search(r"^checked (\d+) signatures and \d+ example lines: 0 errors, ", out, re.M)
    ok(rc == 0 and ("%s: configuration OK" % conf) in out and m,
       "check -c FILE without signatures.directories: exit 0, 'checked N signatures'",
       "rc %d\n%s%s" % (rc, out, err))
    d = Daemon(EXE, None, tmp, "inputs:\n  - path: %s\n" % mail_log, name="default-sigs")
    daemons.append(d)
    d.start()
    s = re.search(r"started: (\d+) signatures", d.log())
    ok(m and s and m.group(1) == s.group(1),
       "check -c and the daemon (neither given -s) load the same default catalog (%s, %s)"
       % (m and m.group(1), s and s.group(1)), d.log())
    ok(d.stop() == 0, "that daemon stops cleanly", d.log())

    # 3. {token} in the url and nothing to fill it: a config error, at the url.
    conf = write(os.path.join(tmp, "token.yaml"), base + (
        "alerting:\n  webhooks:\n    - name: chat\n      url: https://x/{token}\n"
        "      format: slack\n"))
    rc, out, err = run(["check", "-c", conf])
    ok(rc == EX_CONFIG and ("%s:7:12: error: url has {token}" % conf) in err,
       "check: url with {token} and no token_file/token_env: exit 78, FILE:7:12: error: url has "
       "{token}", "rc %d\n%s%s" % (rc, out, err))
    d = Daemon(EXE, SIGS, tmp, "", name="d-token")
    daemons.append(d)
    write(d.conf_path, open(conf).read())
    drc = refused(d)
    ok(drc == EX_CONFIG and ("%s:7:12: error: url has {token}" % d.conf_path) in d.log(),
       "the daemon refuses to start on it (exit 78, file:line:col)", "rc %r\n%s" % (drc, d.log()))
    d.stop()

    # 4. token_file missing or empty: a config error at the webhook, and no start.
    missing = os.path.join(tmp, "no-such.token")
    empty = write(os.path.join(tmp, "empty.token"), "")
    for what, path, text in (("missing", missing, "cannot be read: No such file or directory"),
                             ("empty", empty, "is empty")):
        body = base + ("alerting:\n  webhooks:\n    - name: hook-%s\n"
                       "      url: http://127.0.0.1:9/hook\n      format: json\n"
                       "      token_file: %s\n" % (what, path))
        conf = write(os.path.join(tmp, "tf-%s.yaml" % what), body)
        want = "%s:6:7: error: webhook hook-%s: token_file %s %s" % (conf, what, path, text)
        rc, out, err = run(["check", "-c", conf])
        ok(rc == EX_CONFIG and want in err and "configuration has 1 error\n" in out,
           "check: %s token_file: exit 78, %s" % (what, want[len(tmp) + 1:]),
           "rc %d\n%s%s" % (rc, out, err))
        d = Daemon(EXE, SIGS, tmp, "", name="d-tf-" + what)
        daemons.append(d)
        write(d.conf_path, body)
        drc = refused(d)
        want_d = "%s:6:7: error: webhook hook-%s: token_file" % (d.conf_path, what)
        ok(drc == EX_CONFIG and want_d in d.log() and "started:" not in d.log(),
           "the daemon refuses to start with the %s token_file (exit 78, file:line:col)" % what,
           "rc %r\n%s" % (drc, d.log()))
        d.stop()

    # 5. A byte that is not UTF-8: reported at its line and column, not 1:1.
    cases = (
        # Latin-1 'é' (0xe9) in a comment: column of that byte.
        ("latin1", b"state_directory: %s\nlog_level: info\n# a comment with caf\xe9 in Latin-1\n"
                   b"locale: en\n" % state.encode(), "3:21", "invalid trailing UTF-8 octet"),
        # 0xff after two good two-byte characters: columns count characters.
        ("ff", b"state_directory: %s\nlog_level: info\nlocale: \"\xc3\xa9\xc3\xa9\xff\"\n"
               % state.encode(), "3:12", "invalid leading UTF-8 octet"),
    )
    for name, text, pos, msg in cases:
        conf = write(os.path.join(tmp, "utf8-%s.yaml" % name), text)
        rc, out, err = run(["check", "-c", conf])
        ok(rc == EX_CONFIG and ("%s:%s: error: YAML syntax error: %s" % (conf, pos, msg)) in err,
           "check: non-UTF-8 byte (%s) reported at %s" % (name, pos),
           "rc %d\n%s%s" % (rc, out, err))
    # A three-byte sequence cut after two bytes (e2 82, then the newline): the sequence
    # starts at column 12, where the Latin-1 case above points too.
    conf = write(os.path.join(tmp, "utf8-cut.yaml"),
                 b"state_directory: %s\nlog_level: info\nlocale: \"\xc3\xa9\xc3\xa9\xe2\x82\n"
                 % state.encode())
    rc, out, err = run(["check", "-c", conf])
    got = re.search(r"utf8-cut\.yaml:(\d+:\d+): error: YAML syntax error", err)
    ok(rc == EX_CONFIG and got and got.group(1) == "3:12",
              "check: a cut three-byte sequence reported at its start, 3:12",
              "lib/util/ydoc.c next_event(): for YAML_READER_ERROR the step back to the start "
              "of a bad sequence only handles a bad octet right after the lead byte; with one "
              "continuation byte before it the position is one character on: %s"
              % (got and got.group(1)))
    # The same reader for signature files: a Latin-1 byte in a title.
    sg = os.path.join(tmp, "sig-latin1")
    os.mkdir(sg)
    src = open(os.path.join(SIGS, "communication", "smtp-421-service-not-available.yaml"),
               "rb").read()
    bad = src.replace(b"\ntitle: Remote server answered 421 Service not available\n",
                      b"\ntitle: Remote server answered 421 Service not available caf\xe9\n", 1)
    i = bad.index(b"caf\xe9") + 3
    line_no = bad[:i].count(b"\n") + 1
    col = len(bad[bad.rindex(b"\n", 0, i) + 1:i].decode()) + 1
    path = write(os.path.join(sg, "421.yaml"), bad, 0o644)
    rc, out, err = run(["-s", sg, "check"])
    ok(bad != src and rc == EX_CONFIG and
       ("%s:%d:%d: error: YAML syntax error: invalid trailing UTF-8 octet" % (path, line_no, col))
       in err, "check -s: a Latin-1 byte in a signature file reported at %d:%d" % (line_no, col),
       "rc %d\n%s%s" % (rc, out, err))

    # 6. scan --summary --format json: one JSON object; without --format json, the table.
    log = os.path.join(tmp, "scan.log")
    append(log, [error_line(i, "scan") for i in range(3)] + [USER_UNKNOWN] * 2 +
           ["Nov 23 06:00:01 mx1 postfix/qmgr[1190]: 4F2A31C0A1: from=<a@example.org>, "
            "size=1, nrcpt=1 (queue active)"])
    # The same message failing three times is one cause to the correlation stage
    # (the other two are repeats): this checks the summary's counting, line by line.
    rc, out, err = run(["-s", SIGS, "scan", "--no-correlate", "--format", "json", log])
    per_line = collections.Counter(json.loads(x)["id"] for x in out.splitlines() if x)
    rc, out, err = run(["-s", SIGS, "scan", "--no-correlate", "--summary", "--format", "json", log])
    try:
        obj = json.loads(out)
        one = isinstance(obj, dict)
    except ValueError as e:
        obj, one = {"error": str(e)}, False
    errors = obj.get("errors", []) if one else []
    counts = {e.get("id"): e.get("count") for e in errors if isinstance(e, dict)}
    ok(rc == 0 and one and out.count("\n") == 1,
       "scan --summary --format json prints one JSON object on one line", out[:600] + err)
    ok(counts.get(SIG_421) == 3 and len(per_line) == 2 and counts == dict(per_line) and
       obj.get("lines") == 6 and obj.get("alerts") == 5 and obj.get("files") == 1,
       "its errors list: the 421 id with count 3, the same ids and counts as the plain scan",
       "summary %r\nper line %r\n%s" % (counts, dict(per_line), out[:600]))
    first = errors[0] if errors else {}
    ok(first.get("id") == SIG_421 and first.get("severity") == "warning" and
       first.get("example", "").startswith("Nov 23 06:00:03 mx1 postfix/smtp[2110]:") and
       "title" in first and "first_seen" in first and "last_seen" in first,
       "each entry names id, title, severity, example, first and last seen; most frequent first",
       first)
    rc, out2, err = run(["-s", SIGS, "scan", "--no-correlate", "--summary", log])
    ok(rc == 0 and re.search(r"^\s+COUNT\s+SEVERITY\s+FIRST SEEN", out2, re.M) and
       re.search(r"^\s+3\s+warning\s+.*%s$" % re.escape(SIG_421), out2, re.M) and
       out2.lstrip()[:1] != "{",
       "scan --summary without --format json prints the table", out2)

    # 7. A broken local signature file: the daemon starts with the rest and says so.
    sigdir = os.path.join(tmp, "sigs")
    shutil.copytree(SIGS, sigdir)
    broken = write(os.path.join(sigdir, "local", "zz-broken.yaml"),
                   "id: local/zz-broken\ntitle: a broken local file\nseverity: error\n"
                   "  regex: 'indented where a key belongs'\n", 0o644)
    want_pos = "%s:4:8: error: YAML syntax error" % broken
    rc, out, err = run(["-s", sigdir, "check"])
    ok(rc == EX_CONFIG and want_pos in err,
       "check -s DIR with one broken file: exit 78, FILE:4:8", "rc %d\n%s%s" % (rc, out, err))
    ok(re.search(r"^checked \d+ signatures and \d+ example lines: 1 error, ", out, re.M),
       "check says '1 error', not '1 errors'", out)
    sock_path = os.path.join(tmp, "notify-broken.sock")
    notes = Notes(sock_path)
    d = Daemon(EXE, sigdir, tmp, "inputs:\n  - path: %s\n" % mail_log, name="broken",
               env={"NOTIFY_SOCKET": sock_path})
    daemons.append(d)
    d.start(wait_ready=False)
    ok(d.wait_log("started:", 30), "the daemon starts despite the broken file", d.log())
    ok(want_pos in d.log() and
       re.search(r"1 error in signature files \(see above\): those files are not used; "
                 r"running with the \d+ signatures that loaded", d.log()),
       "it logs the broken file with file:line:col and that it runs without it", d.log())
    append(mail_log, [error_line(1, "broken")])
    ok(d.wait_alerts(1, 30) and d.alerts()[-1]["id"] == SIG_421,
       "it alerts on a 421 line", d.log())
    ok(notes.wait(lambda st: any(x.startswith("1 error in signature files; ") for x in st), 30),
       "STATUS= says '1 error in signature files'", "\n".join(notes.statuses()))
    # What systemctl status shows is the last STATUS=; right after READY=1 (an idle host,
    # no line read yet) it must still name the error.
    ready = [g for g in notes.got if g.startswith("READY=1")]
    ok(ready and "1 error in signature files" in ready[0],
              "the STATUS= sent with READY=1 names the error too",
              "daemon.c mt_daemon_run() sends READY=1 with STATUS=following N inputs with M "
              "signatures, replacing the status with the error until the first checkpoint: %r"
              % ready[:1])
    ok(ready and re.search(r"following 1 input with", ready[0]),
              "READY=1's STATUS= says '1 input', not '1 inputs'",
              "daemon.c mt_daemon_run(): notify_send(\"READY=1\\nSTATUS=following %%zu inputs "
              "with %%zu signatures\") has no plural(): %r" % ready[:1])
    # A reload needs every file: refused while the file is broken, taken once it is gone.
    d.send(signal.SIGHUP)
    ok(d.wait_log("reload failed: still running with the previous configuration", 30) and
       d.log().count(want_pos) == 2,
       "SIGHUP with the file still broken: reload refused, the error logged again", d.log())
    append(mail_log, [error_line(2, "broken")])
    ok(d.wait_alerts(2, 30) and d.proc.poll() is None, "still running and alerting", d.log())
    os.unlink(broken)
    d.send(signal.SIGHUP)
    s = re.search(r"started: (\d+) signatures", d.log())
    ok(d.wait_log("reloaded: %s signatures" % (s.group(1) if s else "?"), 30),
       "broken file removed: SIGHUP reloads the same catalog", d.log())
    n = len(notes.statuses())
    append(mail_log, [error_line(3, "broken")])
    ok(d.wait_alerts(3, 30) and
       notes.wait(lambda st: len(st) > n and re.match(r"3 lines, 3 alerts, following 1 input with", st[-1]), 30),
       "STATUS= no longer counts signature file errors", "\n".join(notes.statuses()))
    ok(d.stop() == 0, "broken: daemon stops cleanly", d.log())
    notes.close()

    # 8. Plurals: one signature, one broken example: "1 signature ... 1 error".
    one = os.path.join(tmp, "one")
    os.mkdir(one)
    src = open(os.path.join(SIGS, "communication", "smtp-421-service-not-available.yaml")).read()
    first_match = re.search(r"^  match:\n    - ('.*')$", src, re.M).group(1)
    write(os.path.join(one, "421.yaml"),
          src.replace("  no_match:\n", "  no_match:\n    - %s\n" % first_match, 1), 0o644)
    rc, out, err = run(["-s", one, "check"])
    ok(rc == EX_CONFIG and
       re.search(r"^checked 1 signature and \d+ example lines: 1 error, 0 warnings, 0 costly$",
                 out, re.M),
       "check: 'checked 1 signature and N example lines: 1 error, 0 warnings'",
       "rc %d\n%s%s" % (rc, out, err))
    rc, out, err = run(["-s", one, "list"])
    ok(rc == 0 and out.endswith("\n1 signature\n"), "list: '1 signature'", out[-300:] + err)
    conf = write(os.path.join(tmp, "one-error.yaml"), base + "log_level: loud\n")
    rc, out, err = run(["check", "-c", conf])
    ok(rc == EX_CONFIG and out.strip() == "%s: configuration has 1 error" % conf,
       "check -c: 'configuration has 1 error'", "rc %d\n%s%s" % (rc, out, err))

    # 9. A webhook that keeps failing: an alert through stdout, STATUS=, then recovery.
    r = Receiver(mode="500")
    receivers.append(r)
    sock_path = os.path.join(tmp, "notify-hook.sock")
    notes = Notes(sock_path)
    hook_log = os.path.join(tmp, "hook.log")
    open(hook_log, "w").close()
    d = Daemon(EXE, SIGS, tmp, name="hook", env={"NOTIFY_SOCKET": sock_path}, config=(
        "  webhook_failing_after: 2s\n  grouping:\n    group_wait: 0s\n"
        "  webhooks:\n    - name: ops-hook\n      url: %s\n      format: json\n"
        "inputs:\n  - path: %s\n" % (r.url(), hook_log)))
    daemons.append(d)
    d.start()
    ok("delivering to 1 webhook, grouping by relay" in d.log(),
       "log says 'delivering to 1 webhook', not '1 webhooks'", d.log())
    append(hook_log, [error_line(1, "hook")])
    ok(r.wait_requests(1, 30), "the receiver gets the first notification (and answers 500)",
       d.log())
    t_first = r.requests()[0].time if r.requests() else time.time()

    def failing():
        return [a for a in good_alerts(d) if a.get("id") == SIG_FAILING]

    ok(wait_for(lambda: failing(), 60), "stdout gets %s" % SIG_FAILING, d.log())
    fa = failing()[0] if failing() else {}
    t_alert = time.time()
    print("# failing alert: %s" % fa.get("line"))
    ok(fa.get("captures", {}).get("webhook") == "ops-hook" and
       "webhook ops-hook has failed for" in fa.get("line", "") and
       fa.get("line", "").endswith(": HTTP 500") and
       int(fa.get("captures", {}).get("seconds", "0")) >= 2,
       "the alert names the webhook, the error (HTTP 500) and >= 2 s of failures",
       json.dumps(fa)[:800])
    ok(r.requests() and failing() and t_alert - t_first >= 1.5, "not before webhook_failing_after (%.1f s after the first "
       "failure)" % (t_alert - t_first))
    ok(notes.wait(lambda st: any("webhook ops-hook failing for" in x and "(HTTP 500)" in x
                                 for x in st), 30),
       "a STATUS= datagram says 'webhook ops-hook failing for N s (HTTP 500)'",
       "\n".join(notes.statuses()))
    # Still failing: more attempts, still one alert for the episode.
    n = len(r.requests())
    ok(r.wait_requests(n + 2, 60) and len(failing()) == 1,
       "one alert per failing episode while the failures go on (%d attempts)"
       % len(r.requests()), [a.get("line") for a in failing()])
    r.set_mode("ok")
    ok(d.wait_log("webhook ops-hook: delivering again after", 90),
       "the receiver heals: the daemon logs 'delivering again'", d.log())
    ok(r.wait_for(lambda reqs: any(q.answer == "ok" and SIG_421.encode() in q.body
                                   for q in reqs), 60),
       "the spooled 421 notification is delivered after all", d.log())
    # What systemctl status shows must not say "failing" any more.
    notes.poll(2)
    st = notes.statuses()
    ok(st and "failing" not in st[-1],
              "after 'delivering again' the last STATUS= no longer says failing",
              "STATUS= is sent only by save_state() (lines read or a notification spooled); "
              "webhook.c health() -> delivery.c on_health() does not refresh it, so an idle "
              "host shows the webhook failing after it healed: last %r" % (st[-1:],))
    ok(d.stop() == 0, "hook: daemon stops cleanly", d.log())
    m = re.search(r"webhook ops-hook: (\d+) submitted", d.log())
    ok(m and m.group(1) == "1",
              "the failing webhook is not handed its own failing alert (the other sinks are)",
              "daemon.c on_webhook_failing() -> alert_line() -> mt_delivery_offer() offers "
              "local/mtalert-webhook-failing to every webhook, the failing one too "
              "(conf/mtalert.yaml says 'through the other sinks'): %s" % (m and m.group(0)))
    notes.close()
finally:
    for d in daemons:
        if d.proc is not None:
            d.stop(timeout=5)
    for r in receivers:
        r.stop()
    shutil.rmtree(tmp, ignore_errors=True)
done()
