#!/bin/bash
# Create the unprivileged user the integration suite runs as (DESIGN §9), as root.
# Idempotent: run it before every suite; it only fixes what is missing.
#
#   bash tests/bed/user.sh [USER]      -> prints the user's uid on stdout
#
# What a rootless engine needs from the host, and this machine kind lacks:
#   - a subordinate uid/gid range of 65536 (newuidmap/newgidmap read /etc/sub[ug]id),
#     and one for `containers` (root's --userns=auto)
#   - /run/user/UID for XDG_RUNTIME_DIR: no logind here creates it at login
#   - /dev/net/tun and /dev/fuse at 0666 (pasta, slirp4netns, fuse-overlayfs):
#     no udev here, so they stay 0600 instead of Debian's usual 0666
set -euo pipefail

user=${1:-pdmantest}
range=65536

if [[ $EUID -ne 0 ]]; then
    echo "user.sh: run as root" >&2
    exit 1
fi

if ! id -u "$user" >/dev/null 2>&1; then
    useradd --create-home --home-dir "/home/$user" --shell /bin/bash --user-group "$user"
fi
uid=$(id -u "$user")
gid=$(id -g "$user")

# next_free FILE: the first id above every range already in FILE (and >= 100000,
# where Debian's login.defs starts them), so the new range overlaps none.
next_free() {
    awk -F: 'BEGIN { top = 100000 }
             NF >= 3 && $2 + $3 > top { top = $2 + $3 }
             END { print top }' "$1"
}

for kind in uid gid; do
    file=/etc/sub$kind
    touch "$file"
    # useradd may have added a range already; a second one would only confuse
    if ! grep -q "^$user:" "$file"; then
        start=$(next_free "$file")
        echo "$user:$start:$range" >>"$file"
    fi
done

# root's --userns=auto takes container ranges from the `containers` entry (podman's
# rule): 2^20 IDs, enough for the root-mode tests' containers of >= 1024 IDs each
for kind in uid gid; do
    file=/etc/sub$kind
    if ! grep -q "^containers:" "$file"; then
        echo "containers:$(next_free "$file"):1048576" >>"$file"
    fi
done

rundir=/run/user/$uid
mkdir -p "$rundir"
chown "$uid:$gid" "$rundir"
chmod 0700 "$rundir"

if [[ ! -e /dev/net/tun ]]; then
    mkdir -p /dev/net
    mknod /dev/net/tun c 10 200
fi
chmod 0666 /dev/net/tun
if [[ -e /dev/fuse ]]; then
    chmod 0666 /dev/fuse
fi

echo "$uid"
