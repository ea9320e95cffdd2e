"""Fixes that are proven, not claimed: the farm applies a record's first workaround.

After a scenario has reproduced its failure (every required line is in the
log), `run()` takes the record the scenario names (`verify: {signature: ID}`,
or `verify: true` for the label of its first required rule), picks the
record's first workaround (the catalog's order: success_rate, highest
first), runs that workaround's `apply` (the commands of its `how`, as an
administrator types them on a Debian host) with bash inside the scenario's
namespace, sends the scenario's mail again and waits until the MTA logs that
the mail reached its recipient (Postfix `to=<RCPT>... status=sent`, Exim
`=> RCPT`, Sendmail `to=<RCPT>, ... stat=Sent`).  The result goes to test/scenarios/verified.json, which
signatures/provenance.py reads: a workaround's `verified_by` must name
scenarios whose result there passed with the very same `apply`.

Inside the namespace the scenario's instance is the host's MTA, so the
commands run as written:
  - /etc/postfix is the scenario's Postfix configuration directory (a bind
    mount of it, with the package's meta files copied in), so `postfix`,
    `postconf`, `postmap`, `postqueue` without -c act on the instance;
  - /etc/exim4/exim4.conf is the scenario's Exim configuration (the file
    Exim's -C names is a symbolic link to it), and `exim`/`exim4` on PATH
    are the farm's Exim binary, whose default configuration file that is;
  - /etc/mail is the scenario's Sendmail directory (a bind mount of it:
    sendmail.cf, sendmail.mc, class files, maps), and `sendmail`, `makemap`,
    `newaliases`, ... on PATH are the farm's Sendmail programs, which read
    /etc/mail/sendmail.cf; the commands run with the host name the farm's
    Sendmail has (mx.farm.test);
  - `systemctl reload|restart exim4` sends SIGHUP to the scenario's Exim
    daemon (which re-executes itself and rereads its configuration) or, when
    none listens (it failed to bind), ends the daemon process the farm
    started and starts one as Debian's init script does (`exim4 -bd -q30m`,
    in the foreground, the farm ends it afterwards),
    `systemctl reload|restart sendmail` sends SIGHUP to the scenario's
    Sendmail daemon (it re-executes itself) or, when none runs, starts one as
    Debian's init script does (`sendmail -L sm-mta -bd -q10m`, with the
    farm's -Am), `systemctl reload postfix` is `postfix reload` and `systemctl restart
    postfix` is `postfix stop; postfix start` (as the unit does), and another
    unit installed on the host is started by its unit file's ExecStart inside
    the namespace (the farm ends its processes by id afterwards): the
    substitutions, as there is no service manager in the namespace.
An `apply` may name the alert's named captures as shell variables ($domain,
$table, ...: what the administrator reads in the alert): the farm scans the
failure's log lines with mtalertd and sets them from the record's first
alert.  Nothing else is substituted, and the scenario is not changed for the
fix."""
import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RESULTS = os.path.join(HERE, "verified.json")
SIGNATURES = os.path.join(ROOT, "signatures")
# The package's /etc/postfix as installed, kept in the namespace's /etc overlay.
POSTFIX_META = "/etc/.mtfarm-postfix-meta"

MTALERTD = os.environ.get("MTALERTD") or os.path.join(ROOT, "build", "daemon", "mtalertd")

SYSTEMCTL = """#!/bin/sh
# The farm's systemctl: the scenario's instance stands for the unit (verify.py);
# another installed unit is started by its unit file's ExecStart, inside the
# namespace, and its processes' ids are listed in $FARM_UNITS (the farm ends them).
verb=$1; shift
stop_unit() {
	[ -s "$FARM_UNITS" ] || return 0
	grep "^$1 " "$FARM_UNITS" | while read -r u pid; do kill "$pid" 2>/dev/null; done
	grep -v "^$1 " "$FARM_UNITS" > "$FARM_UNITS.new"; mv "$FARM_UNITS.new" "$FARM_UNITS"
}
start_unit() {
	f=/lib/systemd/system/$1.service
	[ -f "$f" ] || { echo "systemctl: unit $1 is not in the farm" >&2; exit 5; }
	cmd=$(sed -n 's/^ExecStart=[-@+!]*//p' "$f" | head -n 1)
	[ -n "$cmd" ] || { echo "systemctl: unit $1 has no ExecStart" >&2; exit 5; }
	bin=${cmd%% *}
	user=$(sed -n 's/^User=//p' "$f" | head -n 1)
	run=${user:+runuser -u $user --}
	if grep -q '^Type=forking' "$f"; then
		$run sh -c "$cmd" || exit 1
		me=$(readlink /proc/self/ns/net)
		for d in /proc/[0-9]*; do
			[ "$(readlink "$d/exe" 2>/dev/null)" = "$bin" ] && [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$me" ] &&
				echo "$1 ${d#/proc/}" >> "$FARM_UNITS"
		done
	else
		setsid $run sh -c "exec $cmd" </dev/null >/dev/null 2>&1 &
		echo "$1 $!" >> "$FARM_UNITS"
		sleep 1
		kill -0 $! 2>/dev/null || { echo "systemctl: $1 exited" >&2; exit 1; }
	fi
	grep -q "^$1 " "$FARM_UNITS" 2>/dev/null || { echo "systemctl: $1 did not start" >&2; exit 1; }
}
for unit in "$@"; do
unit=${unit%.service}
case "$verb" in
reload|restart|try-restart|reload-or-restart)
	case "$unit" in
	exim4) [ -n "$FARM_EXIM_PID" ] || { echo "exim4: no daemon" >&2; exit 1; }
	       pid=$(cat "$FARM_EXIM_PID" 2>/dev/null)
	       if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -HUP "$pid"
	       else
	           # No daemon listens (it failed to bind and may still be retrying):
	           # end the unit's process, start one as Debian's init script does
	           # (exim4 -bd -q30m; in the foreground, so its id is known).
	           if [ -n "$FARM_EXIM_DAEMON" ] && kill -0 "$FARM_EXIM_DAEMON" 2>/dev/null; then
	               kill "$FARM_EXIM_DAEMON"
	               # (the farm's child: a zombie once it has exited)
	               for i in $(seq 100); do
	                   case "$(ps -o stat= -p "$FARM_EXIM_DAEMON")" in ""|Z*) break ;; esac
	                   sleep 0.2
	               done
	           fi
	           setsid exim4 -bdf -q30m -oP "$FARM_EXIM_PID" </dev/null >/dev/null 2>&1 &
	           echo "exim4 $!" >> "$FARM_UNITS"
	       fi ;;
	postfix|postfix@-) if [ "$verb" = reload ]; then postfix reload; else postfix stop; postfix start; fi ;;
	sendmail)
	       # A running daemon rereads its configuration on SIGHUP (it re-executes
	       # itself); none running (it failed to start): start one as Debian does.
	       pid=$(head -n1 "$FARM_SENDMAIL_PID" 2>/dev/null)
	       if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -HUP "$pid"
	       else sendmail -Am -L sm-mta -bd -q10m; fi ;;
	*) stop_unit "$unit"; start_unit "$unit" ;;
	esac ;;
start)
	case "$unit" in
	exim4|postfix|postfix@-|sendmail) echo "systemctl: $unit is the scenario's instance" >&2; exit 1 ;;
	*) grep -q "^$unit " "$FARM_UNITS" 2>/dev/null || start_unit "$unit" ;;
	esac ;;
stop) stop_unit "$unit" ;;
status|is-active) ;;
*) echo "systemctl: $verb is not in the farm" >&2; exit 1 ;;
esac
done
"""


# ---------------------------------------------------------------- the instance at the host's paths

def postfix_etc(conf):
    """Make the scenario's configuration directory the namespace's
    /etc/postfix: the package's meta files (postfix-files, dynamicmaps.cf,
    postfix-script, ...) are copied into it, then it is bind-mounted there."""
    release_postfix_etc()
    if not os.path.isdir(POSTFIX_META):
        shutil.copytree("/etc/postfix", POSTFIX_META, symlinks=True)  # the package's, as installed
    for name in os.listdir(POSTFIX_META):
        if name in ("main.cf", "master.cf"):
            continue
        src, dst = os.path.join(POSTFIX_META, name), os.path.join(conf, name)
        # Copies, symbolic links followed: postfix-script warns about a
        # link that leaves the configuration directory (makedefs.out).
        if os.path.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    subprocess.run(["mount", "--bind", conf, "/etc/postfix"], check=True)


def release_postfix_etc():
    while subprocess.run(["mountpoint", "-q", "/etc/postfix"]).returncode == 0:
        subprocess.run(["umount", "/etc/postfix"], check=True)


def exim_etc(link):
    """The scenario's Exim configuration lives at /etc/exim4/exim4.conf (the
    default configuration file of Debian's Exim); `link` (what -C names)
    points at it."""
    os.makedirs("/etc/exim4", exist_ok=True)
    try:
        os.unlink("/etc/exim4/exim4.conf")
    except FileNotFoundError:
        pass
    os.symlink("/etc/exim4/exim4.conf", link)
    return "/etc/exim4/exim4.conf"


def sendmail_etc(conf):
    """The scenario's Sendmail directory (its sendmail.cf, .mc, class files
    and maps) is the namespace's /etc/mail: `sendmail`, `makemap` and
    `newaliases` without -C read /etc/mail/sendmail.cf, which is the
    scenario's, and the maps it names are its files."""
    release_sendmail_etc()
    os.makedirs("/etc/mail", exist_ok=True)
    subprocess.run(["mount", "--bind", conf, "/etc/mail"], check=True)


def release_sendmail_etc():
    while subprocess.run(["mountpoint", "-q", "/etc/mail"]).returncode == 0:
        subprocess.run(["umount", "/etc/mail"], check=True)


# Sendmail's programs as Debian installs them on PATH (sendmail-bin).
SENDMAIL_TOOLS = ("sendmail", "newaliases", "mailq", "hoststat", "purgestat", "makemap",
                  "editmap", "praliases")


def shim_bin(tmp, exim, sendmail_root=None):
    d = os.path.join(tmp, "farm-bin")
    os.makedirs(d, exist_ok=True)
    links = {name: exim for name in ("exim", "exim4")}
    if sendmail_root:
        for name in SENDMAIL_TOOLS:
            links[name] = os.path.join(sendmail_root, "usr/libexec/sendmail", name)
    for name, target in links.items():
        p = os.path.join(d, name)
        if not os.path.lexists(p):
            os.symlink(target, p)
    with open(os.path.join(d, "systemctl"), "w") as f:
        f.write(SYSTEMCTL)
    os.chmod(os.path.join(d, "systemctl"), 0o755)
    return d


# ---------------------------------------------------------------- the records

def record(sig_id):
    path = os.path.join(SIGNATURES, sig_id + ".yaml")
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def first_workaround(rec):
    """The workaround the catalog ranks first (stable sort by success_rate)."""
    ws = rec.get("workarounds") or []
    return sorted(ws, key=lambda w: -(w.get("success_rate") or 0))[0] if ws else None


def target(scn):
    """The record a scenario verifies, or None."""
    v = scn.get("verify")
    if not v:
        return None
    if isinstance(v, dict) and v.get("signature"):
        return v["signature"]
    for r in scn.get("expect", []):
        if r.get("required", True) and "/" in r["label"] and not r["label"].startswith("unknown-gap"):
            return r["label"]
    return None


def recipients(scn):
    v = scn.get("verify") if isinstance(scn.get("verify"), dict) else {}
    if v.get("to"):
        return [v["to"]] if isinstance(v["to"], str) else v["to"]
    out = []
    for step in scn.get("steps") or []:
        kind, arg = next(iter(step.items()))
        if kind in ("send", "smtp", "local"):
            to = (arg or {}).get("to", "user@peer.test") if isinstance(arg, dict) else "user@peer.test"
            out += [to] if isinstance(to, str) else to
    return out or ["user@peer.test"]


def flowed(mta_name, text, rcpts):
    """The line that shows a recipient's mail delivered, or None."""
    for ln in text.splitlines():
        for r in rcpts:
            if mta_name == "postfix" and re.search(r"to=<%s>.* status=sent " % re.escape(r), ln):
                return ln
            # Exim: "=> user@domain R=..." or, delivered locally, "=> user <user@domain> R=...".
            if mta_name == "exim" and re.search(r" => (%s|\S+ <%s>)( |$)" % (re.escape(r), re.escape(r)), ln):
                return ln
            # Sendmail: "to=<user@domain>, ..., stat=Sent (...)" (several
            # recipients of one delivery: to=<a>,<b>, ...).
            if mta_name == "sendmail" and re.search(
                    r"sm-mta\[\d+\]: \w+: to=(<[^>]*>,)*<%s>, .*\bstat=Sent( |$)" % re.escape(r), ln):
                return ln
    return None


def captures(farm, mta, sig):
    """The named captures of the record's first alert on the logs so far."""
    out = {}
    for path in mta.logs.values():
        if not farm.read(path) or not os.path.exists(MTALERTD):
            continue
        r = subprocess.run([MTALERTD, "-s", SIGNATURES, "scan", "--format", "json", path],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60)
        for ln in r.stdout.decode(errors="replace").splitlines():
            try:
                a = json.loads(ln)
            except ValueError:
                continue
            if a.get("id") == sig:
                return {k: v for k, v in (a.get("captures") or {}).items()
                        if re.match(r"^[a-z][a-z0-9_]*$", k) and isinstance(v, str)}
    return out


# ---------------------------------------------------------------- the test

def run(farm, mta, scn, notes):
    """Apply the first workaround of the scenario's record to the broken
    instance, resend, and say whether the mail now flows."""
    sig = target(scn)
    res = {"mta": scn["mta"], "signature": sig, "passed": False,
           "date": datetime.date.today().isoformat()}
    try:
        rec = record(sig)
    except (OSError, TypeError) as e:
        res["detail"] = "no record %r: %s" % (sig, e)
        return res
    w = first_workaround(rec)
    res["action"] = w.get("action") if w else None
    apply = (w or {}).get("apply")
    res["apply"] = apply
    missing = farm.check_required(scn, {n: farm.read(p) for n, p in mta.logs.items()})
    if missing:
        res["detail"] = "the failure was not reproduced: " + "; ".join(missing)
        return res
    if not apply:
        res["detail"] = "the first workaround has no `apply`"
        return res
    caps = captures(farm, mta, sig)
    res["captures"] = caps
    preamble = "".join("%s=%s\n" % (k, shlex.quote(v)) for k, v in sorted(caps.items()))
    units = os.path.join(mta.tmp, "farm-units")
    env = dict(os.environ,
               PATH=shim_bin(mta.tmp, farm.EXIM, farm.SENDMAIL_ROOT) + ":/usr/sbin:/usr/bin:/sbin:/bin",
               FARM_EXIM_PID=getattr(mta, "pidfile", "") or "", FARM_UNITS=units,
               FARM_EXIM_DAEMON=str(mta.daemon.pid) if getattr(mta, "daemon", None) else "",
               FARM_SENDMAIL_PID=os.path.join(mta.tmp, "sendmail.pid"))
    try:
        return resend(farm, mta, scn, notes, res, apply, preamble, env)
    finally:
        stop_units(units)


def stop_units(units):
    """End the processes the farm's systemctl started (by their ids), and
    what is left of their sessions."""
    try:
        with open(units) as f:
            pids = [int(ln.split()[1]) for ln in f if len(ln.split()) == 2]
    except (OSError, ValueError):
        return
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and int(open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()[3]) in pids:
                pids.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    pids = sorted(set(pids))
    for pid in pids:
        try:
            os.kill(pid, 15)
        except OSError:
            pass
    for _ in range(100):
        if not any(os.path.exists("/proc/%d" % p) for p in pids):
            return
        time.sleep(0.1)
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def resend(farm, mta, scn, notes, res, apply, preamble, env):
    start = {n: len(farm.read(p)) for n, p in mta.logs.items()}
    argv = ["bash", "-c", preamble + apply]
    if scn["mta"] == "sendmail":
        # The host name Sendmail's processes have in the farm (Sendmail.run_as).
        argv = mta.run_as(argv)
    try:
        r = subprocess.run(argv, cwd="/root" if os.path.isdir("/root") else "/",
                           env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=180)
        out, rc = r.stdout.decode(errors="replace"), r.returncode
    except subprocess.TimeoutExpired:
        out, rc = "timed out after 180 s", -1
    res["apply_rc"] = rc
    res["apply_output"] = out[-1500:]
    log0 = start[[n for n, p in mta.logs.items() if p == mta.log][0]]
    if scn["mta"] == "exim" and getattr(mta, "daemon", None) is not None and "systemctl" in apply:
        # An Exim daemon told to reread its configuration logs that it
        # started again once it listens.
        farm.wait_for(lambda: b"daemon started" in farm.read(mta.log)[log0:], 30)
    if scn["mta"] == "sendmail" and re.search(r"systemctl\s+(?:\S+\s+)*?(?:reload|restart|start)\b.*\bsendmail\b", apply):
        # Sendmail logs "starting daemon" before it binds: wait for both.
        farm.wait_for(lambda: b"starting daemon" in farm.read(mta.log)[log0:] and
                      farm.listening(farm.MTA_IP, 25), 30)
    rcpts = recipients(scn)
    for step in scn.get("steps") or []:
        kind = next(iter(step))
        if kind in ("send", "smtp", "local", "as_user"):
            farm.run_step(mta, step, notes)

    def new_text():
        return "".join(farm.read(p)[start[n]:].decode(errors="replace") for n, p in mta.logs.items())
    deadline = (scn.get("verify") or {}).get("deadline", 90) if isinstance(scn.get("verify"), dict) else 90
    farm.wait_for(lambda: flowed(scn["mta"], new_text(), rcpts), deadline)
    line = flowed(scn["mta"], new_text(), rcpts)
    res["passed"] = bool(line)
    res["evidence"] = farm.mask(line)[:400] if line else None
    if not line:
        res["detail"] = "no delivery to %s after the workaround; log since: %s" % (
            ", ".join(rcpts), new_text()[-1500:])
    return res


def load_results():
    try:
        with open(RESULTS, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save_results(new):
    """Merge new results in; a failed workaround that a later run replaced
    stays listed under the scenario's `failed_before` (the record changed)."""
    results = load_results()
    for name, r in new.items():
        old = results.get(name) or {}
        failed = list(old.get("failed_before") or [])
        if old and not old.get("passed") and old.get("apply") != r.get("apply"):
            failed.append({k: old.get(k) for k in ("signature", "action", "apply", "date", "detail")})
            failed[-1]["detail"] = (failed[-1]["detail"] or "")[:300]
        if failed:
            r["failed_before"] = failed
        results[name] = r
    with open(RESULTS, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
