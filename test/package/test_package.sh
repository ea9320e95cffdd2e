#!/bin/bash
# The Debian package, built and installed as an admin would, on this machine:
#   1. copy the source tree to a temporary directory (dpkg-buildpackage writes
#      its results into the parent of the tree) and build: dpkg-buildpackage
#   2. lintian --fail-on error on the .changes (the .deb)
#   3. dpkg -i, then look at what an admin relies on: mtalertd, the user, the
#      configuration root:mtalert 0640 (readable by mtalert), the signatures,
#      the unit with its ExecStartPre check, the man pages, the state dir
#   4. edit the conffile, dpkg -i the same .deb again: the edit is kept
#   5. a mail host (a private mount namespace): a private rsyslogd with
#      Debian's stock rules, a private Postfix logging through syslog, the
#      installed mtalertd as user mtalert on mail.log, logrotate in between
#   6. dpkg --purge (when the package was not installed before the test)
# Installs what is missing (Build-Depends, lintian, rsyslog, ...) with apt-get.
# Needs root (CI runs it as root on a throwaway machine): it installs and
# removes a package, runs Postfix and rsyslogd, and creates user mtalert.
#   test_package.sh [SOURCE-TREE]     (default: the tree holding this script)
# Prints TAP; exits non-zero if any check fails.
set -uo pipefail

src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
n=0 failed=0
work=""
policy=""
pids=()

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check DESCRIPTION COMMAND... : ok if the command succeeds
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
diag() { sed 's/^/# /'; }
bail() { failed=$((failed + 1)); echo "Bail out! $*"; finish; }
# On every exit, also an unexpected one: stop what the test started (by pid),
# remove the policy-rc.d it put in place and its files.
cleanup() {
	local p
	if declare -F stop_postfix >/dev/null; then stop_postfix; fi
	[ "${mtalertd_pid:-0}" -gt 0 ] && kill "$mtalertd_pid" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pids=()
	[ -n "$policy" ] && rm -f "$policy"
	policy=""
	[ -n "$work" ] && [ -z "${KEEP_WORK:-}" ] && rm -rf --one-file-system "$work"
	work=""
}
finish() {
	cleanup
	trap - EXIT
	echo "1..$n"
	[ "$failed" -eq 0 ] && exit 0
	exit 1
}
# wait_for SECONDS COMMAND...: poll until the command succeeds or time is up.
# (Its arguments are expanded once: what must be counted again on every poll
# goes through at_least.)
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}
# dpkg, waiting for the lock while another dpkg or apt-get holds it.
dpkg_locked() { # dpkg_locked LOG ARGS...
	local log=$1 deadline=$((SECONDS + 600)); shift
	while :; do
		DEBIAN_FRONTEND=noninteractive dpkg "$@" >"$log" 2>&1 && return 0
		grep -q 'lock' "$log" && [ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 2
	done
}
# at_least N COMMAND...: the number COMMAND prints is N or more.
at_least() { local want=$1; shift; [ "$("$@")" -ge "$want" ]; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

[ "$(id -u)" -eq 0 ] || { echo "Bail out! run as root: it installs the package (CI runs as root)"; exit 1; }
work=$(mktemp -d /tmp/mtalert-package.XXXXXX)
chmod 0755 "$work" # user mtalert reads the end-to-end files below it
trap cleanup EXIT
trap 'bail "interrupted"' INT TERM

# --- 0. what the build and the checks need, only what is missing -------------
need=()
for p in dpkg-dev debhelper lintian rsyslog logrotate postfix python3-yaml; do installed "$p" || need+=("$p"); done
copy=$work/src/mtalert
mkdir -p "$copy"
# The tree as git sees it (tracked and new files, not build directories);
# without git, everything but build outputs.
if git -C "$src" rev-parse --show-toplevel >/dev/null 2>&1 &&
	[ "$(git -C "$src" rev-parse --show-toplevel)" = "$src" ]; then
	(cd "$src" && git ls-files -z -co --exclude-standard | tar -c --null -T -) | tar -x -C "$copy"
else
	tar -C "$src" --exclude='./build*' --exclude='./.ci-*' --exclude='./obj-*' \
		--exclude=./.git -c . | tar -x -C "$copy"
fi
check "the source tree is copied to $copy" test -f "$copy/debian/control"
unmet=$(cd "$copy" && dpkg-checkbuilddeps 2>&1 >/dev/null) || true
if [ ${#need[@]} -gt 0 ] || [ -n "$unmet" ]; then
	echo "# installing: ${need[*]} ${unmet:+(and the unmet Build-Depends)}"
	apt-get update -qq -o DPkg::Lock::Timeout=600
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends \
		"${need[@]}" >/dev/null
	[ -z "$unmet" ] || DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq -o DPkg::Lock::Timeout=600 \
		--no-install-recommends "$copy" >/dev/null
fi
check "the Build-Depends are installed" sh -c "cd '$copy' && dpkg-checkbuilddeps"

# --- 1. build ------------------------------------------------------------------
t0=$SECONDS
if (cd "$copy" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
	ok "dpkg-buildpackage -us -uc -b ($((SECONDS - t0)) s)"
else
	not_ok "dpkg-buildpackage -us -uc -b"
	tail -40 "$work/build.log" | diag
	bail "no package to test"
fi
version=$(cd "$copy" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
deb=$work/src/mtalert_${version}_${arch}.deb
changes=$work/src/mtalert_${version}_${arch}.changes
check "it made $(basename "$deb")" test -f "$deb"
# What the checks compare with, then the tree goes: on a real host the build
# tree is not there either, and nothing installed may depend on it.
mkdir -p "$work/ref"
cp "$copy/conf/mtalert.yaml" "$copy/test/data/demo.log" "$copy/test/integration/smtp_refuser.py" \
	"$work/ref/"
nsrc=$(find "$copy/signatures" -name '*.yaml' | wc -l)
rm -rf "$copy"

# --- 2. lintian ----------------------------------------------------------------
if lintian --fail-on error "$changes" >"$work/lintian.log" 2>&1; then
	ok "lintian --fail-on error: no errors ($(grep -c '^W:' "$work/lintian.log") warnings)"
else
	not_ok "lintian --fail-on error"
fi
grep -E '^[EW]:' "$work/lintian.log" | diag

# --- 3. install ----------------------------------------------------------------
was_installed=false
installed mtalert && was_installed=true
# Where systemd runs, the postinst would start the service (with the system's
# own logs and syslog): this test runs mtalertd itself, so it keeps it from
# starting, through policy-rc.d, unless the system already has one.
if [ -d /run/systemd/system ] && [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy"
fi
if dpkg_locked "$work/dpkg.log" -i "$deb"; then
	ok "dpkg -i $(basename "$deb")"
else
	not_ok "dpkg -i $(basename "$deb")"
	diag <"$work/dpkg.log"
	bail "the package does not install"
fi

check "mtalertd is /usr/sbin/mtalertd" test -x /usr/sbin/mtalertd
check "mtalertd --help runs" sh -c '/usr/sbin/mtalertd --help >/dev/null 2>&1'
check "its defaults are the installed paths" sh -c \
	'/usr/sbin/mtalertd --help 2>&1 | grep -q /etc/mtalert/mtalert.yaml &&
	 /usr/sbin/mtalertd --help 2>&1 | grep -q /usr/share/mtalert/signatures'
check "user mtalert exists" sh -c 'id -u mtalert >/dev/null'
check "group mtalert exists" sh -c 'getent group mtalert >/dev/null'
check "mtalert is in group adm (reads /var/log/mail.log)" sh -c 'id -nG mtalert | grep -qw adm'
check "mtalert has no login shell" sh -c \
	'case $(getent passwd mtalert | cut -d: -f7) in */nologin|*/false) true;; *) false;; esac'

conf=/etc/mtalert/mtalert.yaml
perms() { stat -c '%U:%G %a' "$1" 2>/dev/null; }
check "$conf is root:mtalert 0640 (got $(perms $conf))" test "$(perms $conf)" = "root:mtalert 640"
check "/etc/mtalert is root:mtalert 0750 (got $(perms /etc/mtalert))" \
	test "$(perms /etc/mtalert)" = "root:mtalert 750"
check "user mtalert reads $conf" sh -c "runuser -u mtalert -- cat $conf >/dev/null"
check "other users do not (nobody)" sh -c "! runuser -u nobody -- cat $conf >/dev/null 2>&1"
check "$conf is a conffile" sh -c \
	"dpkg-query -W -f='\${Conffiles}' mtalert | grep -q '^ $conf '"
if $was_installed; then
	ok "it is the example configuration # SKIP the package was installed before the test"
else
	check "it is the example configuration" cmp -s "$work/ref/mtalert.yaml" "$conf"
fi
check "/var/lib/mtalert is mtalert's, 0750 (got $(perms /var/lib/mtalert))" \
	test "$(perms /var/lib/mtalert)" = "mtalert:mtalert 750"

ninst=$(find /usr/share/mtalert/signatures -name '*.yaml' 2>/dev/null | wc -l)
check "the $nsrc signatures are in /usr/share/mtalert/signatures (found $ninst)" \
	test "$nsrc" -gt 0 -a "$ninst" -eq "$nsrc"
check "mtalertd list shows them, as user mtalert" sh -c \
	'runuser -u mtalert -- /usr/sbin/mtalertd list 2>/dev/null | grep -q "smtp-421-service-not-available"'

unit=$(dpkg -L mtalert | grep '/systemd/system/mtalert.service$' | head -1)
check "the unit is installed (${unit:-missing})" test -n "$unit" -a -f "$unit"
check "only once" test "$(dpkg -L mtalert | grep -c '/mtalert.service$')" -eq 1
check "it runs ExecStartPre=/usr/sbin/mtalertd check --pre-start" \
	grep -qx 'ExecStartPre=/usr/sbin/mtalertd check --pre-start' "$unit"
check "it runs as User=mtalert" grep -qx 'User=mtalert' "$unit"
check "systemd-analyze security rates it 1.3 or better" \
	sh -c "systemd-analyze security --offline=true --threshold=13 '$unit' >'$work/security.log' 2>&1"
tail -1 "$work/security.log" | diag
check "systemd-analyze verify finds nothing wrong in it" sh -c \
	"! systemd-analyze verify '$unit' 2>&1 | grep -v 'man mtalert' | grep -q ."
check "sysusers and tmpfiles snippets are installed" \
	test -f /usr/lib/sysusers.d/mtalert.conf -a -f /usr/lib/tmpfiles.d/mtalert.conf
for page in /usr/share/man/man8/mtalertd.8.gz /usr/share/man/man5/mtalert.yaml.5.gz; do
	check "man page $page" sh -c "zcat '$page' | grep -q '^\.TH '"
done

# What the unit's ExecStartPre= runs, as the user it runs as.
pre=$(sed -n 's/^ExecStartPre=//p' "$unit" | head -1)
user=$(sed -n 's/^User=//p' "$unit" | head -1)
if runuser -u "$user" -- $pre >"$work/check.log" 2>&1; then
	ok "ExecStartPre as $user succeeds: $pre"
else
	not_ok "ExecStartPre as $user succeeds: $pre"
	tail -5 "$work/check.log" | diag
fi
# The check an admin runs on the installed configuration (issue 9, bug 2: it
# must find the installed signatures, not the build tree's).
if runuser -u mtalert -- /usr/sbin/mtalertd check -c $conf >"$work/check-c.log" 2>&1; then
	ok "mtalertd check -c $conf as mtalert succeeds"
else
	not_ok "mtalertd check -c $conf as mtalert succeeds"
	tail -5 "$work/check-c.log" | diag
fi

# --- 4. the admin edits the conffile; the same package is installed again ---
mark="# edited by the admin, test $$ $(date +%s)"
echo "$mark" >>"$conf"
if dpkg_locked "$work/dpkg2.log" -i "$deb"; then
	ok "dpkg -i the same package again"
else
	not_ok "dpkg -i the same package again"
	diag <"$work/dpkg2.log"
fi
check "the edit of $conf survives" grep -qxF "$mark" "$conf"
check "it is still root:mtalert 0640 (got $(perms $conf))" test "$(perms $conf)" = "root:mtalert 640"
check "no .dpkg-new or .dpkg-dist beside it" \
	test -z "$(find /etc/mtalert -name '*.dpkg-*')"

# --- 5. a mail host --------------------------------------------------------------
# As on a Debian mail host, in a private mount namespace (the "host": its /dev
# is a tmpfs with the usual nodes, so /dev/log is the private rsyslogd's):
#   - rsyslogd with Debian's stock /etc/rsyslog.conf and the postfix package's
#     /etc/rsyslog.d/postfix.conf, /var/log/ and /var/spool/postfix/ moved
#     below $e2e (kernel log, console messages and other includes left out)
#   - a private Postfix logging through syslog (no maillog_file), relaying to
#     a loopback SMTP server that answers 421 (test/integration/smtp_refuser.py)
#   - the installed mtalertd as user mtalert, its configuration the installed
#     one with only the inputs, the state directory and the journal changed
#   - logrotate with Debian's rsyslog stanza (its postrotate signals the
#     private rsyslogd) between two rounds of mail
#   - the syslog sink on, as installed, into this rsyslogd: the alerts land in
#     syslog by Debian's rules and none in mail.log (test/integration/
#     test_feedback.py covers every routing, text and JSON)
#   - a private Exim (Debian's exim4-daemon-light, extracted as scripts/test
#     does: it conflicts with postfix) logging to its own mainlog, Debian-exim
#     and group adm as Debian's exim4 does, relaying to the same refusing server
e2e=$work/e2e
ns_pid=""
in_ns() { nsenter -t "$ns_pid" -m -- "$@"; }

ns_ready() { [ "$(readlink /proc/"$ns_pid"/ns/mnt)" != "$(readlink /proc/$$/ns/mnt)" ]; }
start_namespace() {
	mkdir -p "$e2e/hostdev"
	chmod 0755 "$e2e"
	unshare -m --propagation private sleep 3600 &
	ns_pid=$!
	pids+=("$ns_pid")
	wait_for 10 ns_ready &&
		in_ns sh -ec '
			mount --rbind /dev "$1"
			mount -t tmpfs -o mode=0755 e2e-dev /dev
			for n in null zero full random urandom tty; do
				touch /dev/$n && mount --bind "$1/$n" /dev/$n
			done
			ln -s /proc/self/fd /dev/fd
			for i in 0:stdin 1:stdout 2:stderr; do ln -s /proc/self/fd/${i%%:*} /dev/${i#*:}; done
			mkdir /dev/shm /dev/pts' sh "$e2e/hostdev" >"$e2e/namespace.log" 2>&1
	local rc=$?
	check "a private mount namespace with its own /dev" test "$rc" -eq 0
	[ "$rc" -eq 0 ] || { diag <"$e2e/namespace.log"; return 1; }
}

start_rsyslogd() {
	mkdir -p "$e2e/log" "$e2e/rsyslog" "$e2e/postfix/queue/dev"
	chmod 0755 "$e2e/log"
	local conf=$e2e/rsyslog/rsyslog.conf
	sed -e '/imklog/d' -e '/\$IncludeConfig/d' -e '/omusrmsg/d' \
		-e "s|^\\\$WorkDirectory .*|\$WorkDirectory $e2e/rsyslog|" \
		-e "s|/var/log/|$e2e/log/|g" /etc/rsyslog.conf >"$conf"
	sed -e "s|/var/spool/postfix/|$e2e/postfix/queue/|g" /etc/rsyslog.d/postfix.conf >>"$conf"
	check "the private rsyslog.conf has Debian's rule mail.* -$e2e/log/mail.log" \
		grep -qE "^mail\.\*[[:space:]]+-$e2e/log/mail\.log$" "$conf"
	check "and the socket in Postfix's chroot" \
		grep -qx "\$AddUnixListenSocket $e2e/postfix/queue/dev/log" "$conf"
	nsenter -t "$ns_pid" -m -- rsyslogd -n -f "$conf" -i "$e2e/rsyslog/rsyslogd.pid" \
		>"$e2e/rsyslog/rsyslogd.log" 2>&1 &
	pids+=($!)
	if wait_for 30 in_ns test -S /dev/log -a -S "$e2e/postfix/queue/dev/log"; then
		ok "rsyslogd -n started with /dev/log and Postfix's chroot socket"
	else
		not_ok "rsyslogd -n started with /dev/log and Postfix's chroot socket"
		diag <"$e2e/rsyslog/rsyslogd.log"
		return 1
	fi
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A Postfix instance of its own (config, queue, data below $e2e), Debian's
# master.cf (chroot and all) without the port 25 listener, a submission port
# on loopback, every message relayed to the refusing server.
start_postfix() {
	local pf=$e2e/postfix
	relay_port=$(free_port) submit_port=$(free_port)
	mkdir -p "$pf/conf" "$pf/data"
	chown postfix "$pf/data"
	sed -e 's/^smtp      inet/#&/' /etc/postfix/master.cf >"$pf/conf/master.cf"
	echo "127.0.0.1:$submit_port inet n - n - - smtpd" >>"$pf/conf/master.cf"
	cat >"$pf/conf/main.cf" <<-EOF
		compatibility_level = 3.6
		queue_directory = $pf/queue
		data_directory = $pf/data
		myhostname = mt-package.localdomain
		mydestination =
		inet_interfaces = loopback-only
		inet_protocols = ipv4
		mynetworks = 127.0.0.0/8
		relayhost = [127.0.0.1]:$relay_port
		smtp_tls_security_level = none
		alias_maps =
		alias_database =
	EOF
	python3 -c '
import sys, time
sys.path.insert(0, sys.argv[1])
from smtp_refuser import Refuser
r = Refuser(int(sys.argv[2]))
r.start()
print("refuser listening", flush=True)
r.join()' "$work/ref" "$relay_port" >"$e2e/refuser.log" 2>&1 &
	pids+=($!)
	check "a loopback SMTP server that answers 421 listens on 127.0.0.1:$relay_port" \
		wait_for 30 grep -qs listening "$e2e/refuser.log"
	in_ns postfix -c "$pf/conf" start >"$pf/start.log" 2>&1
	postfix_started=$pf/conf
	if wait_for 60 grep -q 'postfix/master\[[0-9]*\]: daemon started' "$e2e/log/mail.log"; then
		ok "a private Postfix starts and says so through syslog in mail.log"
	else
		not_ok "a private Postfix starts and says so through syslog in mail.log"
		diag <"$pf/start.log"
		return 1
	fi
}
stop_postfix() {
	[ -n "${postfix_started:-}" ] && postfix -c "$postfix_started" stop >/dev/null 2>&1
	postfix_started=""
}

# The installed mtalertd, as user mtalert, with the installed configuration:
# the copy it reads changes only the inputs (the private mail.log), the state
# directory and the journal (off: the alerts must come from mail.log).
# The syslog sink is on, as installed (facility daemon): its alerts go
# through the private rsyslogd's stock rules into syslog, never into mail.log.
syslog_sink=true
start_mtalertd() {
	mkdir -p "$e2e/state" "$e2e/etc" "$e2e/run"
	chown mtalert:mtalert "$e2e/state" "$e2e/run" && chmod 0750 "$e2e/state" "$e2e/run"
	/usr/bin/python3 - /etc/mtalert/mtalert.yaml "$e2e" "$syslog_sink" >"$e2e/etc/mtalert.yaml" <<-'EOF'
		import sys, yaml
		installed, e2e, syslog_sink = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
		cfg = yaml.safe_load(open(installed))
		cfg["state_directory"] = e2e + "/state"
		cfg["inputs"] = [{"path": e2e + "/log/mail.log", "start_at": "beginning"},
		                 {"path": e2e + "/log/exim4/mainlog", "start_at": "beginning"}]
		cfg["journal"]["enabled"] = False
		cfg["alerting"]["syslog"]["enabled"] = syslog_sink
		yaml.safe_dump(cfg, sys.stdout, sort_keys=False)
	EOF
	check "the configuration for the mail host is the installed one with the private paths" \
		grep -qxF -- "- path: $e2e/log/mail.log" "$e2e/etc/mtalert.yaml"
	chown root:mtalert "$e2e/etc" "$e2e/etc/mtalert.yaml"
	chmod 0750 "$e2e/etc" && chmod 0640 "$e2e/etc/mtalert.yaml"
	nsenter -t "$ns_pid" -m -- runuser -u mtalert -- sh -c 'echo $$ >"$1"; exec /usr/sbin/mtalertd -c "$2"' sh \
		"$e2e/run/mtalertd.pid" "$e2e/etc/mtalert.yaml" \
		>"$e2e/alerts.jsonl" 2>"$e2e/mtalertd.log" &
	pids+=($!)
	mtalertd_runuser=$!
	mtalertd_pid=0
	wait_for 60 test -s "$e2e/run/mtalertd.pid" && mtalertd_pid=$(cat "$e2e/run/mtalertd.pid")
	check "the installed mtalertd runs as user mtalert" \
		test "$(ps -o user= -p "$mtalertd_pid" 2>&1)" = mtalert
	# It follows mail.log from its end: a line written before it is positioned
	# (it says started:) would be missed, where the scan below counts it.
	check "mtalertd says started: (it follows the logs)" \
		wait_for 120 grep -q 'started:' "$e2e/mtalertd.log"
}

stop_mtalertd() {
	if [ "$mtalertd_pid" -gt 0 ]; then kill -TERM "$mtalertd_pid"; else kill -TERM "$mtalertd_runuser"; fi
	wait "$mtalertd_runuser"
	local rc=$? p keep=()
	mtalertd_pid=0
	for p in "${pids[@]}"; do [ "$p" = "$mtalertd_runuser" ] || keep+=("$p"); done
	pids=("${keep[@]}")
	check "mtalertd stops on SIGTERM with status 0 (got $rc)" test "$rc" -eq 0
	[ "$rc" -eq 0 ] || tail -20 "$e2e/mtalertd.log" | diag
}

count_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
count_matches() { cat "$@" 2>/dev/null | grep -c -- "$pattern"; }

# Postfix's lines of test/data/demo.log, sent as Postfix's daemons send them:
# to /dev/log, facility mail, tag postfix/<service>, their pid (logger).
replay_demo_lines() {
	local sent=0 line prog pid msg
	local re='^[A-Z][a-z]{2} +[0-9]+ [0-9:]{8} [^ ]+ (postfix/[a-z]+)\[([0-9]+)\]: (.*)$'
	while IFS= read -r line; do
		[[ $line =~ $re ]] || continue
		prog=${BASH_REMATCH[1]} pid=${BASH_REMATCH[2]} msg=${BASH_REMATCH[3]}
		in_ns logger -p mail.info -t "$prog" --id="$pid" -- "$msg" && sent=$((sent + 1))
	done <"$work/ref/demo.log"
	# One socket, one sender: when the marker sent last is in mail.log, so
	# is everything before it.
	replays=$((replays + 1))
	in_ns logger -p mail.info -t mt-package -- "end of replay $replays"
	pattern="mt-package: end of replay $replays\$"
	if wait_for 60 at_least 1 count_matches "$e2e/log/mail.log"; then
		ok "logger sent $sent Postfix lines of demo.log to /dev/log; they are in mail.log"
	else
		not_ok "logger sent $sent Postfix lines of demo.log to /dev/log; they are in mail.log"
	fi
}
replays=0

# Exim beside Postfix: its own configuration, spool and log directory
# (Debian-exim:adm 2750, mainlog 0640, as Debian's exim4 sets them), every
# message routed to the refusing server.
exim=${MT_EXIM_BIN:-}
start_exim() {
	local x=$e2e/exim
	if [ -z "$exim" ] || [ ! -x "$exim" ]; then
		not_ok "an Exim binary (MT_EXIM_BIN, extracted by scripts/test)"
		return 1
	fi
	id Debian-exim >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin Debian-exim
	mkdir -p "$x/spool" "$e2e/log/exim4"
	chown Debian-exim:Debian-exim "$x/spool"
	chown Debian-exim:adm "$e2e/log/exim4" && chmod 2750 "$e2e/log/exim4"
	: >"$e2e/log/exim4/mainlog"
	chown Debian-exim:adm "$e2e/log/exim4/mainlog" && chmod 0640 "$e2e/log/exim4/mainlog"
	cat >"$x/exim.conf" <<-EOF
		keep_environment =
		exim_path = $exim
		primary_hostname = mt-package-exim.localdomain
		spool_directory = $x/spool
		log_file_path = $e2e/log/exim4/%slog
		exim_user = Debian-exim
		exim_group = Debian-exim
		trusted_users = root
		begin routers
		smarthost:
		  driver = manualroute
		  domains = *
		  transport = remote_smtp
		  route_list = * 127.0.0.1::$relay_port
		  self = send
		  no_more
		begin transports
		remote_smtp:
		  driver = smtp
		begin retry
		* * F,1h,5m
	EOF
	ok "a private Exim $("$exim" -bV 2>/dev/null | sed -n 's/^Exim version \([^ ]*\).*/\1/p') with its log in $e2e/log/exim4 (Debian-exim:adm)"
}
exim_deferrals=0
send_exim_mail() {
	printf 'Subject: %s\n\nhello\n' "$1" |
		in_ns "$exim" -C "$e2e/exim/exim.conf" -odf -f alice@example.org bob@example.net \
			>>"$e2e/exim/send.log" 2>&1
	exim_deferrals=$((exim_deferrals + 1))
	pattern='SMTP error from remote mail server after .*: 421 4.7.0'
	if wait_for 60 at_least $((2 * exim_deferrals)) count_matches "$e2e/log/exim4/mainlog"; then
		ok "Exim defers message $1 with the relay's 421 in its mainlog"
	else
		not_ok "Exim defers message $1 with the relay's 421 in its mainlog"
		tail -20 "$e2e/log/exim4/mainlog" "$e2e/exim/send.log" | diag
	fi
}

# One message through Postfix: the relay answers 421, Postfix defers it and
# logs so through syslog.
deferrals=0
send_mail() {
	if python3 - "$submit_port" "$1" <<-'EOF'; then
		import smtplib, sys
		s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
		s.sendmail("alice@example.org", ["bob@example.net"],
		           "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: %s\r\n\r\nhello\r\n" % sys.argv[2])
		s.quit()
	EOF
		deferrals=$((deferrals + 1))
		pattern='status=deferred (host 127.0.0.1\[127.0.0.1\] said: 421 4.7.0'
		if wait_for 60 at_least "$deferrals" count_matches "$e2e/log/mail.log.1" "$e2e/log/mail.log"; then
			ok "Postfix takes message $1, the relay answers 421, mail.log says deferred"
		else
			not_ok "Postfix defers message $1 with the 421 in mail.log"
			tail -20 "$e2e/log/mail.log" | diag
		fi
	else
		not_ok "Postfix takes message $1 on 127.0.0.1:$submit_port"
	fi
}

# Debian's logrotate stanza for rsyslog, on the private logs; its postrotate
# (which signals rsyslog.service) signals the private rsyslogd instead.
rotate_logs() {
	local conf=$e2e/logrotate.conf
	sed -e "s|/var/log/|$e2e/log/|g" \
		-e "s|/usr/lib/rsyslog/rsyslog-rotate|kill -HUP \$(cat $e2e/rsyslog/rsyslogd.pid)|" \
		/etc/logrotate.d/rsyslog >"$conf"
	check "the private logrotate.conf rotates $e2e/log/mail.log and signals the private rsyslogd" \
		sh -c "grep -qx '$e2e/log/mail.log' '$conf' && grep -q 'kill -HUP' '$conf'"
	if logrotate -f -s "$e2e/logrotate.state" "$conf" >"$e2e/logrotate.log" 2>&1; then
		ok "logrotate -f rotates the logs"
	else
		not_ok "logrotate -f rotates the logs"
		diag <"$e2e/logrotate.log"
	fi
	check "mail.log is now mail.log.1" test -s "$e2e/log/mail.log.1"
}

alerts_key() { # the id and the line of every alert, sorted
	python3 -c '
import json, sys
keys = []
for path in sys.argv[1:]:
    for l in open(path):
        if l.strip():
            a = json.loads(l)
            keys.append("%s %s" % (a["id"], a["line"]))
print("\n".join(sorted(keys)))' "$@"
}

e2e_mail_host() {
	start_namespace || return
	start_rsyslogd || return
	start_postfix || return
	start_exim || return
	start_mtalertd
	replay_demo_lines
	send_mail 1
	send_exim_mail 1
	send_mail 2
	rotate_logs
	# After the rotation: rsyslogd writes a new mail.log, mtalertd follows.
	send_mail 3
	send_exim_mail 2
	replay_demo_lines
	# mtalertd must alert on every error line once, none twice, none lost
	# across the rotation: what the scan of both files reports.
	runuser -u mtalert -- /usr/sbin/mtalertd scan --format json "$e2e/log/mail.log.1" \
		>"$e2e/scan.jsonl" 2>"$e2e/scan.log"
	runuser -u mtalert -- /usr/sbin/mtalertd scan --format json "$e2e/log/mail.log" \
		>>"$e2e/scan.jsonl" 2>>"$e2e/scan.log"
	# Exim's mainlog, read by the mtalert user through group adm.
	runuser -u mtalert -- /usr/sbin/mtalertd scan --format json "$e2e/log/exim4/mainlog" \
		>>"$e2e/scan.jsonl" 2>>"$e2e/scan.log"
	want=$(count_lines "$e2e/scan.jsonl")
	pattern='"id":"communication/smtp-421-service-not-available"'
	check "mtalertd scan finds the errors in mail.log.1, mail.log and Exim's mainlog ($want alerts; 421: $(count_matches "$e2e/scan.jsonl"))" \
		test "$want" -ge 15 -a "$(count_matches "$e2e/scan.jsonl")" -ge $((deferrals + 2 + exim_deferrals))
	if wait_for 60 at_least "$want" count_lines "$e2e/alerts.jsonl"; then
		ok "the daemon alerts on them ($want alerts)"
	else
		not_ok "the daemon alerts on them ($(count_lines "$e2e/alerts.jsonl") of $want alerts)"
		tail -20 "$e2e/mtalertd.log" | diag
	fi
	stop_mtalertd
	stop_postfix
	check "each alert once, none twice, none lost across the rotation (as the scan)" \
		test "$(alerts_key "$e2e/alerts.jsonl")" = "$(alerts_key "$e2e/scan.jsonl")"
	pattern='"id":"communication/smtp-421-service-not-available".*"relay_ip":"127.0.0.1".*"status":"deferred"'
	check "Postfix's three 421 deferrals are among them ($(count_matches "$e2e/alerts.jsonl"))" \
		test "$(count_matches "$e2e/alerts.jsonl")" -eq 3
	pattern='"mta":"exim".*"relay_ip":"127.0.0.1"'
	check "and Exim's two, from its mainlog ($(count_matches "$e2e/alerts.jsonl") alerts)" \
		test "$(count_matches "$e2e/alerts.jsonl")" -ge "$exim_deferrals"
	# The syslog sink takes warning and above by default (info stays out).
	want_syslog=$(grep -c '"severity":"\(warning\|error\|critical\)"' "$e2e/alerts.jsonl")
	pattern=' mtalert\[[0-9]*\]: '
	wait_for 60 at_least "$want_syslog" count_matches "$e2e/log/syslog"*
	check "the syslog sink's alerts (warning and above) are in syslog, by Debian's rules ($(count_matches "$e2e/log/syslog"*) of $want_syslog)" \
		test "$want_syslog" -gt 0 -a "$(count_matches "$e2e/log/syslog"*)" -eq "$want_syslog"
	check "and none of mtalert's lines is in mail.log ($(count_matches "$e2e/log/mail.log"*))" \
		test "$(count_matches "$e2e/log/mail.log"*)" -eq 0
}
e2e_mail_host

# --- 6. purge, when the test installed it --------------------------------------
if ! $was_installed; then
	if dpkg_locked "$work/purge.log" --purge mtalert; then
		ok "dpkg --purge mtalert"
	else
		not_ok "dpkg --purge mtalert"
		diag <"$work/purge.log"
	fi
	check "purge removes the configuration" test ! -e "$conf"
	check "purge removes the state directory" test ! -e /var/lib/mtalert
	check "purge removes mtalertd" test ! -e /usr/sbin/mtalertd
else
	echo "# mtalert was installed before the test: left installed (now $version)"
fi
finish
