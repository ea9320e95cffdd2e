#!/bin/bash
# meson install puts the example configuration in place root:<group> 0640 and
# never overwrites an installed one: install into a DESTDIR, edit the file,
# install again, and look at mode, group and content each time. TAP output.
#   test_install_config.sh BUILDDIR
set -uo pipefail
build=$1
src_conf=$(cd "$(dirname "$0")/../.." && pwd)/conf/mtalert.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# Where meson puts the configuration: <prefix>/<sysconfdir>/mtalert/mtalert.yaml.
conf_dir=$(meson introspect "$build" --buildoptions | python3 -c '
import json, os, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print(os.path.join(o["prefix"], o["sysconfdir"], "mtalert"))')
[ -n "$conf_dir" ] || { echo "Bail out! cannot read the build options of $build"; exit 1; }

# A group other than our own primary one that we may give a file to: root may
# use any (daemon exists on every Debian system); others one of their own.
group=""
if [ "$(id -u)" -eq 0 ]; then
	group=daemon
else
	for g in $(id -G); do
		[ "$g" != "$(id -g)" ] && group=$(getent group "$g" | cut -d: -f1) && break
	done
fi

install_into() { # install_into DESTDIR GROUP
	MTALERT_INSTALL_GROUP=$2 meson install -C "$build" --no-rebuild --quiet \
		--destdir "$1" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; return 1; }
}
mode_of() { stat -c %a "$1"; }
group_of() { stat -c %G "$1"; }

dest=$work/root
conf=$dest$conf_dir/mtalert.yaml
check "meson install into a DESTDIR succeeds" install_into "$dest" "${group:-mtalert}"
check "the configuration is installed in $conf_dir" test -f "$conf"
check "it is mode 0640 (got $(mode_of "$conf" 2>/dev/null))" test "$(mode_of "$conf" 2>/dev/null)" = 640
if [ -n "$group" ]; then
	check "it is in group $group (got $(group_of "$conf" 2>/dev/null))" \
		test "$(group_of "$conf" 2>/dev/null)" = "$group"
else
	n=$((n + 1)); echo "ok $n - # SKIP no group other than our primary one to give the file to (run as root)"
fi
check "it is the example configuration" cmp -s "$src_conf" "$conf"
check "no temporary file is left beside it" \
	test -z "$(find "$dest$conf_dir" -name '.mtalert.yaml.*')"

# The admin edits it (and narrows the mode); a reinstall must keep both.
echo "# edited by the admin $$" >>"$conf"
chmod 0600 "$conf"
cp "$conf" "$work/edited"
check "a second meson install succeeds" install_into "$dest" "${group:-mtalert}"
check "the edited configuration is kept" cmp -s "$work/edited" "$conf"
check "its mode 0600 is kept (got $(mode_of "$conf"))" test "$(mode_of "$conf")" = 600

# Where the group does not exist (yet), the file is still installed, 0640.
dest2=$work/root2
conf2=$dest2$conf_dir/mtalert.yaml
check "meson install without the group succeeds" install_into "$dest2" "mtalert-no-such-group-$$"
check "the configuration is installed 0640 anyway (got $(mode_of "$conf2" 2>/dev/null))" \
	test "$(mode_of "$conf2" 2>/dev/null)" = 640
check "in the installer's group ($(id -gn))" test "$(group_of "$conf2" 2>/dev/null)" = "$(id -gn)"

echo "1..$n"
[ "$failed" -eq 0 ]
