#!/bin/bash
# The Debian package, built and installed as an admin would, on this machine:
#   1. copy the source tree to a temporary directory (dpkg-buildpackage writes
#      its results into the parent of the tree) and build: dpkg-buildpackage
#   2. lintian --fail-on error on the .changes (the .deb)
#   3. dpkg -i, then look at what an admin relies on: mtalertd, the user, the
#      configuration root:mtalert 0640 (readable by mtalert), the signatures,
#      the unit with its ExecStartPre check, the man pages, the state dir
#   4. edit the conffile, dpkg -i the same .deb again: the edit is kept
#   5. a mail host: a private rsyslogd with Debian's stock rules writes
#      mail.log, the installed mtalertd runs as user mtalert on it
#   6. dpkg --purge (when the package was not installed before the test)
# Installs what is missing (Build-Depends, lintian) with apt-get. Needs root:
# CI runs it as root on a throwaway machine; it installs and removes a package.
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
finish() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pids=()
	[ -n "$policy" ] && rm -f "$policy"
	policy=""
	[ -n "$work" ] && [ -z "${KEEP_WORK:-}" ] && rm -rf "$work"
	echo "1..$n"
	[ "$failed" -eq 0 ] && exit 0
	exit 1
}
# wait_for SECONDS COMMAND...: poll until the command succeeds or time is up.
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
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

[ "$(id -u)" -eq 0 ] || { echo "Bail out! run as root: it installs the package (CI runs as root)"; exit 1; }
work=$(mktemp -d /tmp/mtalert-package.XXXXXX)
chmod 0755 "$work" # user mtalert reads the end-to-end files below it
trap 'bail "interrupted"' INT TERM

# --- 0. what the build and the checks need, only what is missing -------------
need=()
for p in dpkg-dev debhelper lintian rsyslog; do installed "$p" || need+=("$p"); done
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
cp "$copy/conf/mtalert.yaml" "$copy/test/data/demo.log" "$work/ref/"
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
check "it runs ExecStartPre=/usr/sbin/mtalertd check" \
	grep -qx 'ExecStartPre=/usr/sbin/mtalertd check' "$unit"
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
# Debian's stock rsyslog rules, in a private rsyslogd: /var/log/ becomes
# $e2e/log/, the system socket a private one, and the rest (kernel log,
# console messages, include directory) goes.
e2e=$work/e2e
start_rsyslogd() {
	mkdir -p "$e2e/log" "$e2e/rsyslog"
	chmod 0755 "$e2e" "$e2e/log"
	sock=$e2e/rsyslog/log.sock
	sed -e '/imklog/d' -e '/\$IncludeConfig/d' -e '/omusrmsg/d' \
		-e "s|^module(load=\"imuxsock\").*|module(load=\"imuxsock\" SysSock.Use=\"off\")\\ninput(type=\"imuxsock\" Socket=\"$sock\")|" \
		-e "s|^\\\$WorkDirectory .*|\$WorkDirectory $e2e/rsyslog|" \
		-e "s|/var/log/|$e2e/log/|g" /etc/rsyslog.conf >"$e2e/rsyslog/rsyslog.conf"
	check "the private rsyslog.conf has Debian's rule mail.* -$e2e/log/mail.log" \
		grep -qE "^mail\.\*[[:space:]]+-$e2e/log/mail\.log$" "$e2e/rsyslog/rsyslog.conf"
	rsyslogd -n -f "$e2e/rsyslog/rsyslog.conf" -i "$e2e/rsyslog/rsyslogd.pid" \
		>"$e2e/rsyslog/rsyslogd.log" 2>&1 &
	pids+=($!)
	if wait_for 30 test -S "$sock"; then
		ok "rsyslogd -n started with its socket"
	else
		not_ok "rsyslogd -n started with its socket"
		diag <"$e2e/rsyslog/rsyslogd.log"
		return 1
	fi
}

# The installed mtalertd, as user mtalert, on the private logs: the drop-in
# configuration changes the inputs and the state directory, nothing else.
start_mtalertd() {
	mkdir -p "$e2e/state" "$e2e/etc" "$e2e/run"
	chown mtalert:mtalert "$e2e/state" "$e2e/run" && chmod 0750 "$e2e/state" "$e2e/run"
	cat >"$e2e/etc/mtalert.yaml" <<-EOF
		state_directory: $e2e/state
		inputs:
		  - path: $e2e/log/mail.log
		    start_at: beginning
		journal:
		  enabled: false
		alerting:
		  stdout:
		    enabled: true
		    format: json
		  syslog:
		    enabled: false
	EOF
	chown root:mtalert "$e2e/etc" "$e2e/etc/mtalert.yaml"
	chmod 0750 "$e2e/etc" && chmod 0640 "$e2e/etc/mtalert.yaml"
	runuser -u mtalert -- sh -c 'echo $$ >"$1"; exec /usr/sbin/mtalertd -c "$2"' sh \
		"$e2e/run/mtalertd.pid" "$e2e/etc/mtalert.yaml" \
		>"$e2e/alerts.jsonl" 2>"$e2e/mtalertd.log" &
	pids+=($!)
	mtalertd_runuser=$!
	mtalertd_pid=0
	wait_for 30 test -s "$e2e/run/mtalertd.pid" && mtalertd_pid=$(cat "$e2e/run/mtalertd.pid")
	check "the installed mtalertd runs as user mtalert" \
		test "$(ps -o user= -p "$mtalertd_pid" 2>&1)" = mtalert
}

stop_mtalertd() {
	if [ "$mtalertd_pid" -gt 0 ]; then kill -TERM "$mtalertd_pid"; else kill -TERM "$mtalertd_runuser"; fi
	wait "$mtalertd_runuser"
	local rc=$? p keep=()
	for p in "${pids[@]}"; do [ "$p" = "$mtalertd_runuser" ] || keep+=("$p"); done
	pids=("${keep[@]}")
	check "mtalertd stops on SIGTERM with status 0 (got $rc)" test "$rc" -eq 0
	[ "$rc" -eq 0 ] || tail -20 "$e2e/mtalertd.log" | diag
}

count_lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

# Postfix's lines of test/data/demo.log, sent as Postfix sends them: to the
# syslog socket, facility mail, tag postfix/<service>, its pid.
mail_log_from_syslog() {
	local sent=0 prog pid msg
	local re='^[A-Z][a-z]{2} +[0-9]+ [0-9:]{8} [^ ]+ (postfix/[a-z]+)\[([0-9]+)\]: (.*)$'
	while IFS= read -r line; do
		[[ $line =~ $re ]] || continue
		prog=${BASH_REMATCH[1]} pid=${BASH_REMATCH[2]} msg=${BASH_REMATCH[3]}
		logger --socket "$sock" -p mail.info -t "$prog" --id="$pid" -- "$msg" && sent=$((sent + 1))
	done <"$work/ref/demo.log"
	check "logger sent $sent Postfix lines" test "$sent" -gt 5
	if wait_for 60 test "$(count_lines "$e2e/log/mail.log")" -ge "$sent"; then
		ok "rsyslogd wrote them to mail.log (root:adm 0640 as on Debian: $(perms "$e2e/log/mail.log"))"
	else
		not_ok "rsyslogd wrote them to mail.log ($(count_lines "$e2e/log/mail.log") of $sent lines)"
	fi
}

alerts_key() { # the (id, offset) of every alert, sorted
	python3 -c '
import json, sys
keys = []
for l in open(sys.argv[1]):
    if l.strip():
        a = json.loads(l)
        keys.append("%s %s" % (a["id"], a.get("offset")))
print("\n".join(sorted(keys)))' "$1"
}

e2e_mail_host() {
	start_rsyslogd || return
	start_mtalertd
	mail_log_from_syslog
	# What the scan of the same file reports is what the daemon must send: every
	# alert once, none twice.
	runuser -u mtalert -- /usr/sbin/mtalertd scan --format json "$e2e/log/mail.log" \
		>"$e2e/scan.jsonl" 2>"$e2e/scan.log"
	want=$(count_lines "$e2e/scan.jsonl")
	check "mtalertd scan finds the errors in mail.log ($want alerts)" test "$want" -ge 5
	if wait_for 60 test "$(count_lines "$e2e/alerts.jsonl")" -ge "$want"; then
		ok "the daemon alerts on them ($want alerts)"
	else
		not_ok "the daemon alerts on them ($(count_lines "$e2e/alerts.jsonl") of $want alerts)"
		tail -20 "$e2e/mtalertd.log" | diag
	fi
	stop_mtalertd
	check "each alert once, none twice, none missing (the same as the scan)" \
		test "$(alerts_key "$e2e/alerts.jsonl")" = "$(alerts_key "$e2e/scan.jsonl")"
	check "the 421 from mx.example.net is among them" sh -c \
		"grep '\"id\":\"communication/smtp-421-service-not-available\"' '$e2e/alerts.jsonl' |
		 grep -q '\"relay\":\"mx.example.net\"'"
	# To be added: Postfix itself logging through syslog (not maillog_file) and
	# Exim; the syslog sink on, into this rsyslogd (no alert on mtalert's own
	# lines); a logrotate run with Debian's rsyslog stanza in the middle.
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
