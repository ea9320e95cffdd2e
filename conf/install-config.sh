#!/bin/sh
# meson install script: put the example configuration in place as
#   <sysconfdir>/mtalert/mtalert.yaml, root:mtalert 0640
# but only where no configuration is installed yet, so that reinstalling never
# overwrites an edited one. The group is set when it exists and we may set it
# (the unit runs mtalertd as user mtalert, which must read the file); without
# it the file stays 0640 in the installer's group and a note says what to do.
#   install-config.sh SOURCE ABSOLUTE-CONFIG-DIR
# Honours DESTDIR (meson makes it absolute). MTALERT_INSTALL_GROUP overrides
# the group name (the tests use it); default mtalert.
set -eu

src=$1
dir=${DESTDIR:-}$2
dest=$dir/mtalert.yaml
group=${MTALERT_INSTALL_GROUP:-mtalert}

say() {
	[ -n "${MESON_INSTALL_QUIET:-}" ] || echo "$@"
}

mkdir -p "$dir"
if [ -e "$dest" ] || [ -L "$dest" ]; then
	say "Keeping the existing configuration $dest (the example is $src)"
	if getent group "$group" >/dev/null 2>&1; then
		gid=$(getent group "$group" | cut -d: -f3)
		if [ "$(stat -c %g "$dest")" != "$gid" ] && [ "$(stat -c %a "$dest")" = 640 ]; then
			echo "note: $dest is not in group $group, so the mtalert service cannot read it:" \
				"chgrp $group $dest" >&2
		fi
	fi
	exit 0
fi

# Written beside the target under a temporary name, complete with its mode and
# group, then renamed: the file never exists half-written or world-readable.
tmp=$dir/.mtalert.yaml.install.$$
trap 'rm -f "$tmp"' EXIT
(umask 077 && cp "$src" "$tmp")
chmod 0640 "$tmp"
if getent group "$group" >/dev/null 2>&1; then
	chgrp "$group" "$tmp" 2>/dev/null ||
		echo "note: could not give $dest to group $group; as root: chgrp $group $dest" >&2
else
	say "Group $group does not exist yet: after creating it (systemd-sysusers)," \
		"chgrp $group $dest"
fi
mv "$tmp" "$dest"
trap - EXIT
say "Installing $src to $dest"
