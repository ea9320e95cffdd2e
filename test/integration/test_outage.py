#!/usr/bin/env python3
"""Issue 14: after a webhook outage, one message per group with the latest
counts, oldest group first, counts that add up to the lines written; the
same across a stop (SIGTERM) and a kill -9 during the outage.

Real daemon, real HTTP receiver on loopback, three generic JSON webhooks
(/a, /b, /c) at once, five groups (relays mx1..mx5), several rounds of
matching lines, each round notified (UPDATE, REMINDER) while the receiver
refuses or answers 500.  Every wait is for an event, with a generous
deadline.

usage: test_outage.py MTALERTD SIGNATURES_DIR
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, error_line, free_port  # noqa: E402
from http_receiver import Receiver  # noqa: E402
from tap import done, ok  # noqa: E402

EXE, SIGS = sys.argv[1], sys.argv[2]
SLOW = 180          # seconds: a generous deadline (ASan on two loaded cores)
GROUPS = 5
HOOKS = ("a", "b", "c")
RELAYS = ["mx%d.example.net" % g for g in range(1, GROUPS + 1)]


def wait(pred, timeout=SLOW, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def relay_line(seq, g, tag):
    """A 421 line of relay mx<g> (group g), numbered."""
    return error_line(seq, tag).replace(
        "mx.example.net[203.0.113.25]", "%s[203.0.113.%d]" % (RELAYS[g - 1], g))


class Run:
    """One daemon with three webhooks on one receiver, and what was written."""

    def __init__(self, name, mode, chat=False, resolve_after="1h"):
        self.tmp = tempfile.mkdtemp(prefix="mt-outage-%s-" % name)
        self.log = os.path.join(self.tmp, "mail.log")
        open(self.log, "w").close()
        self.recv = Receiver("127.0.0.1")
        self.recv.set_mode(mode)
        self.mport = free_port()
        hooks = "".join(
            "    - name: %s\n      url: %s\n      format: json\n      min_severity: info\n"
            "      timeout: 2s\n      connect_timeout: 1s\n      give_up_after: 1h\n"
            % (h, self.recv.url("/" + h)) for h in HOOKS)
        if chat:  # a chat format too: digests of what is due, built at sending
            hooks += ("    - name: s\n      url: %s\n      format: slack\n      min_severity: "
                      "info\n      timeout: 2s\n      connect_timeout: 1s\n"
                      "      give_up_after: 1h\n" % self.recv.url("/s"))
        cfg = ("  stdout: {enabled: true}\n"
               "  grouping: {by: relay, group_wait: 300ms, group_interval: 1s, "
               "repeat_interval: 1s, resolve_after: %s, max_groups: 100}\n"
               "  webhooks:\n%s"
               # The lines restate one queue id: the correlation stage (issue 12) would
               # fold them as repeats of the first; here every line counts.
               "correlate: {enabled: false}\n"
               "inputs:\n  - path: %s\n"
               "metrics: {listen: \"127.0.0.1:%d\"}\n" % (resolve_after, hooks, self.log, self.mport))
        self.d = Daemon(EXE, SIGS, self.tmp, cfg)
        self.written = {g: 0 for g in range(1, GROUPS + 1)}
        self.seq = 0
        self.lines = 0

    def write_round(self, r, tag):
        """Round r: group g gets g + r lines (different counts per group), oldest group first."""
        with open(self.log, "a") as f:
            for g in range(1, GROUPS + 1):
                for _ in range(g + r):
                    f.write(relay_line(self.seq, g, tag) + "\n")
                    self.seq += 1
                    self.written[g] += 1
                    self.lines += 1

    def counters(self):
        """Per webhook (submitted, coalesced) from the counters the daemon logs on SIGUSR1."""
        before = self.d.log().count(" coalesced")
        self.d.send(signal.SIGUSR1)
        if not self.d.wait_log(" coalesced", 30, count=before + len(HOOKS)):
            return None
        res = {}
        for m in re.finditer(r"webhook (\w+): (\d+) submitted, .* (\d+) coalesced",
                             self.d.log()):
            res[m.group(1)] = (int(m.group(2)), int(m.group(3)))
        return res

    def wait_emitted(self, submitted_at_least):
        """Every webhook was given at least this many notifications."""
        def check():
            c = self.counters()
            return c if c and all(c.get(h, (0, 0))[0] >= submitted_at_least
                                  for h in HOOKS) else None
        return wait(check, step=0.3)

    def wait_settled(self, groups, loaded=0):
        """Every webhook holds one notification per group: what it was given (loaded from
        the spool at start, submitted since) less what it merged is one per group."""
        def check():
            c = self.counters()
            return c if c and all(h in c and loaded + c[h][0] - c[h][1] == groups
                                  for h in HOOKS) else None
        return wait(check, step=0.3)

    def spool_notes(self, hook):
        """The notes of the spool files of a webhook: {relay: [note tokens]}."""
        res = {}
        d = os.path.join(self.d.state, "spool", hook)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if not name.endswith(".req") or name.startswith("."):
                continue
            with open(os.path.join(d, name), "rb") as f:
                lines = f.read().split(b"\n")
            note = lines[1].decode() if len(lines) > 1 and lines[1].startswith(b"note ") else ""
            toks = {}
            for t in note.split(" ")[1:]:
                k, _, v = t.partition("=")
                toks.setdefault(k, v)
            kv = toks.get("kv", "")
            res.setdefault(kv, []).append((name, toks, lines))
        return res

    def received(self, hook):
        """The bodies delivered (2xx) to a webhook, in arrival order."""
        return [q.json() for q in self.recv.requests(path="/" + hook)
                if q.answer in ("ok", "200")]

    def cleanup(self):
        if self.d.proc is not None:
            self.d.stop()
        self.recv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def check_delivery(run, what, per_group_msgs, expect_events, totals):
    """After recovery: per webhook, per group the messages expected, in order, the counts."""
    def complete():
        return all(sum(1 for b in run.received(h)) >= GROUPS * per_group_msgs for h in HOOKS)
    got = wait(complete)
    # Nothing more arrives: a second message for a group would show now.
    run.recv.wait_quiet(1.5, timeout=30)
    for h in HOOKS:
        bodies = run.received(h)
        per = {}
        for b in bodies:
            per.setdefault(b["key"]["value"], []).append(b)
        counts = {k: [(b["event"], b["count_total"], b["count_new"]) for b in v]
                  for k, v in per.items()}
        ok(got and sorted(per) == sorted(RELAYS)
           and all(len(v) == per_group_msgs for v in per.values()),
           "%s: webhook %s got exactly %d message(s) per group for %d groups"
           % (what, h, per_group_msgs, GROUPS), json.dumps(counts))
        sums_ok = all(sum(b["count_new"] for b in per.get(r, [])) == run.written[g]
                      for g, r in enumerate(RELAYS, 1))
        ok(sums_ok, "%s: webhook %s: per group the count_new received add up to the lines "
           "written (%d in all)" % (what, h, run.lines),
           "written %s, received %s" % (run.written, counts))
        ok(all(len(counts.get(r, [])) == len(expect_events) and
               all(e in want.split("|") for (e, _, _), want in zip(counts[r], expect_events))
               for r in RELAYS),
           "%s: webhook %s: events per group %s (a FIRST never seen stays the FIRST)"
           % (what, h, expect_events), json.dumps(counts))
        ok(all([t for _, t, _ in counts.get(r, [])] == totals(g)
               for g, r in enumerate(RELAYS, 1)),
           "%s: webhook %s: the latest count_total per group (%s)"
           % (what, h, [totals(g) for g in range(1, GROUPS + 1)]), json.dumps(counts))
        order = []
        for b in bodies:
            if b["key"]["value"] not in order:
                order.append(b["key"]["value"])
        ok(order == RELAYS, "%s: webhook %s: oldest group first (%s)" % (what, h, order),
           json.dumps([(b["key"]["value"], b["count_total"]) for b in bodies]))
        # Within one life of a group (a FIRST starts one; RESOLVED and FLUSH end it).
        back = [r for r, v in counts.items() for i in range(1, len(v))
                if v[i][0] != "first" and v[i - 1][0] not in ("resolved", "flush")
                and v[i][1] < v[i - 1][1]]
        ok(not back, "%s: webhook %s: no group's count goes backwards" % (what, h),
           json.dumps(counts))


# 1. Live: the receiver answers 500 through four rounds, then comes back.
run = Run("live", "500", chat=True)
try:
    run.d.start()
    ROUNDS = 4
    for r in range(ROUNDS):
        run.write_round(r, "l%d" % r)
        ok(run.d.wait_alerts(run.lines, SLOW), "live: round %d read (%d lines)" % (r, run.lines))
        ok(run.wait_emitted(GROUPS * (r + 1)) is not None,
           "live: round %d notified to every webhook" % r)
    c = run.wait_settled(GROUPS)
    ok(c is not None and all(c[h][1] >= GROUPS * (ROUNDS - 1) for h in HOOKS),
       "live: during the outage each webhook keeps one notification per group "
       "(submitted - coalesced = %d; coalesced >= %d)" % (GROUPS, GROUPS * (ROUNDS - 1)),
       "%s\n%s" % (c, run.d.log()[-3000:]))
    early = [q for q in run.recv.requests() if q.answer in ("ok", "200")]
    ok(not early and len(run.recv.requests()) > 0,
       "live: the receiver refused every attempt meanwhile (%d attempts)"
       % len(run.recv.requests()))
    spool = {h: run.spool_notes(h) for h in HOOKS}
    ok(all(sorted(spool[h]) == sorted(RELAYS) and all(len(v) == 1 for v in spool[h].values())
           for h in HOOKS),
       "live: the spool holds one file per group per webhook",
       json.dumps({h: {k: [n for n, _, _ in v] for k, v in spool[h].items()} for h in HOOKS}))
    n_before = len(run.recv.requests())
    run.recv.set_mode("ok")
    check_delivery(run, "live", 1, ["first"], lambda g: [run.written[g]])
    # The Slack webhook: each group in exactly one delivered message, oldest first.
    def slack_texts():
        return [q.body.decode("utf-8", "replace") for q in run.recv.requests(path="/s")
                if q.answer in ("ok", "200")]
    wait(lambda: all(any(r in t for t in slack_texts()) for r in RELAYS))
    run.recv.wait_quiet(1.5, timeout=30)
    texts = slack_texts()
    named = {r: [i for i, t in enumerate(texts) if r in t] for r in RELAYS}
    first = sorted(RELAYS, key=lambda r: (named[r][0], texts[named[r][0]].find(r))
                   if named[r] else (1 << 30, 0))
    c = run.counters()
    ok(all(len(v) == 1 for v in named.values()) and first == RELAYS and len(texts) <= GROUPS
       and c is not None and c["s"][0] - c["s"][1] == GROUPS,
       "live: slack: %d message(s) after the outage naming each group once, oldest first "
       "(%s merged of %s)" % (len(texts), c and c["s"][1], c and c["s"][0]),
       "%s\n%s" % (named, "\n\n".join(t[:800] for t in texts)))
    # Metrics: the coalesced counter per webhook, linted by promtool.
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % run.mport,
                                  timeout=30).read().decode()
    c = run.counters()
    vals = {m.group(1): int(m.group(2)) for m in re.finditer(
        r'^mtalert_webhook_coalesced_total\{webhook="(\w+)"\} (\d+)$', body, re.M)}
    ok(c is not None and all(vals.get(h) == c[h][1] and vals[h] > 0 for h in HOOKS),
       "live: mtalert_webhook_coalesced_total per webhook = the logged counter (%s)" % vals,
       body[-2000:])
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                           text=True, timeout=60)
        ok(p.returncode == 0, "live: promtool check metrics", p.stdout + p.stderr)
    st = subprocess.run([EXE, "status", "--json", "-c", run.d.conf_path], capture_output=True,
                        text=True, timeout=60)
    try:
        sinks = {s.get("name"): s for s in json.loads(st.stdout)["sinks"]}
    except (ValueError, KeyError):
        sinks = {}
    ok(all(sinks.get(h, {}).get("coalesced") == c[h][1] for h in HOOKS),
       "live: status --json reports coalesced per webhook", st.stdout + st.stderr)
    ok(run.d.stop() == 0, "live: clean stop")
finally:
    run.cleanup()

# 2. SIGTERM during the outage (the receiver refuses connections): the stop's
#    FLUSH joins each group's pending notification; after the restart a new
#    round starts the groups again (FIRST), queued after the old ones.
run = Run("term", "ok")
try:
    run.recv.set_mode("down")
    run.d.start()
    for r in range(3):
        run.write_round(r, "t%d" % r)
        ok(run.d.wait_alerts(run.lines, SLOW), "term: round %d read" % r)
        ok(run.wait_emitted(GROUPS * (r + 1)) is not None, "term: round %d notified" % r)
    # The last round is read but not yet notified when the stop comes: FLUSH.
    run.write_round(3, "t3")
    ok(run.d.wait_alerts(run.lines, SLOW), "term: round 3 read, stopping before its update")
    ok(run.d.stop() == 0, "term: clean stop during the outage")
    before_stop = dict(run.written)
    for h in HOOKS:
        sp = run.spool_notes(h)
        news = {k: [int(t.get("new", -1)) for _, t, _ in v] for k, v in sp.items()}
        ok(sorted(sp) == sorted(RELAYS) and all(len(v) == 1 for v in sp.values()),
           "term: webhook %s: the spool holds one notification per group after the stop" % h,
           json.dumps(news))
        ok(all(news.get(r) == [before_stop[g]] for g, r in enumerate(RELAYS, 1))
           and all(t.get("ev") == "first" and t.get("closed") == "1"
                   for v in sp.values() for _, t, _ in v),
           "term: webhook %s: each is the group's FIRST with every line before the stop "
           "(new = %s)" % (h, [before_stop[g] for g in range(1, GROUPS + 1)]),
           json.dumps({k: v[0][1] for k, v in sp.items()}))
    run.d.start()
    run.write_round(0, "t4")
    after = {g: run.written[g] - before_stop[g] for g in before_stop}
    ok(run.d.wait_alerts(run.lines, SLOW), "term: restarted, a new round read")
    c = run.wait_emitted(GROUPS)
    ok(c is not None and all(c[h][0] - c[h][1] == GROUPS for h in HOOKS),
       "term: after the restart each webhook was given the new groups' FIRSTs (%d) and "
       "merged none of them into the ended ones" % GROUPS, str(c))
    run.recv.set_mode("ok")
    check_delivery(run, "term", 2, ["first", "first"],
                   lambda g: [before_stop[g], after[g]])
    ok(run.d.stop() == 0, "term: clean stop")
finally:
    run.cleanup()

# 3. kill -9 during the outage (500): the spool holds one notification per
#    group; a file left by a crash between writing a merged notification and
#    removing the one it supersedes is removed at start, not sent twice; the
#    restored groups continue (UPDATE merged into the spooled FIRST).
run = Run("kill", "500")
try:
    run.d.start()
    for r in range(3):
        run.write_round(r, "k%d" % r)
        ok(run.d.wait_alerts(run.lines, SLOW), "kill: round %d read" % r)
        ok(run.wait_emitted(GROUPS * (r + 1)) is not None, "kill: round %d notified" % r)
    ok(run.wait_settled(GROUPS) is not None, "kill: one notification per group per webhook")
    run.d.stop(signal.SIGKILL)
    before_kill = dict(run.written)
    for h in HOOKS:
        sp = run.spool_notes(h)
        ok(sorted(sp) == sorted(RELAYS) and all(len(v) == 1 for v in sp.values())
           and all([int(v[0][1].get("new", -1)) for v in [sp[r]]] == [before_kill[g]]
                   for g, r in enumerate(RELAYS, 1)),
           "kill: webhook %s: after kill -9 the spool holds one notification per group, "
           "its new count = the lines written" % h,
           json.dumps({k: [t for _, t, _ in v] for k, v in sp.items()}))
    # The crash window: the file that mx1's notification on /a superseded, as it was
    # (a FIRST with the first round's lines), back beside the one that replaces it.
    sp = run.spool_notes("a")
    name, toks, lines = sp[RELAYS[0]][0]
    replaced = [ln[9:].decode() for ln in lines if ln.startswith(b"replaces ")]
    ok(len(replaced) >= 1, "kill: the merged file names the file it superseded (%s)" % replaced)
    if replaced:
        old_note = re.sub(rb" new=\d+", b" new=1", lines[1])
        old_note = re.sub(rb" total=\d+", b" total=1", old_note)
        hdr = b'{"id":"crash-window","created":%s,"lines":1}' % (
            re.search(rb'"created":(\d+)', lines[0]).group(1))
        with open(os.path.join(run.d.state, "spool", "a", replaced[0]), "wb") as f:
            f.write(b"\n".join([hdr, old_note] + lines[2 + len(replaced):]))
    run.d.start()
    ok(run.d.wait_log("superseded by a later file", SLOW),
       "kill: at start the superseded file is removed, not delivered")
    run.write_round(0, "k3")
    ok(run.d.wait_alerts(run.lines, SLOW), "kill: restarted, a new round read")
    ok(run.wait_emitted(GROUPS) is not None, "kill: the new round notified to every webhook")
    c = run.wait_settled(GROUPS, loaded=GROUPS)
    ok(c is not None and all(c[h][1] >= GROUPS for h in HOOKS),
       "kill: the restored groups' UPDATEs merge into the spooled notifications "
       "(%s coalesced)" % ({h: c[h][1] for h in HOOKS} if c else None), str(c))
    run.recv.set_mode("ok")
    check_delivery(run, "kill", 1, ["first"], lambda g: [run.written[g]])
    ok(run.d.stop() == 0, "kill: clean stop")
finally:
    run.cleanup()

# 4. A group resolves during the outage: its pending FIRST and UPDATE become one
#    resolved notice with the total; the group's next life (a new FIRST) is
#    queued after it, not merged, and resolves too before the receiver is back.
run = Run("resolved", "500", resolve_after="5s")
try:
    run.d.start()
    for r in range(2):
        run.write_round(r, "r%d" % r)
        ok(run.d.wait_alerts(run.lines, SLOW), "resolved: round %d read" % r)
        ok(run.wait_emitted(GROUPS * (r + 1)) is not None, "resolved: round %d notified" % r)
    ok(run.wait_emitted(GROUPS * 3) is not None, "resolved: every group resolved (quiet 5 s)")
    life1 = dict(run.written)
    run.write_round(0, "r2")
    ok(run.d.wait_alerts(run.lines, SLOW), "resolved: a new life of every group read")
    ok(run.wait_emitted(GROUPS * 5) is not None, "resolved: the new lives notified, resolved")
    ok(run.wait_settled(2 * GROUPS) is not None,
       "resolved: two pending per group: the ended life and the new one")
    run.recv.set_mode("ok")
    check_delivery(run, "resolved", 2, ["resolved", "resolved"],
                   lambda g: [life1[g], run.written[g] - life1[g]])
    ok(run.d.stop() == 0, "resolved: clean stop")
finally:
    run.cleanup()

done()
