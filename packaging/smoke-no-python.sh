#!/usr/bin/env bash
# The single-file pdman on a Debian 12 machine WITHOUT Python: `bash packaging/smoke-no-python.sh [BINARY]`
# (run as root; BINARY defaults to dist/pdman).
#
# The "machine" is the test bed's debootstrap'd bookworm minbase root (no python3 in
# it), plus Debian's uidmap package, entered the way a container engine enters a root:
# a new mount and PID namespace, pivot_root, fresh /proc; the kernel, the loopback
# network and the test registry are the host's. Inside, as an unprivileged user with a
# subordinate ID range, the binary pulls from the registry, runs containers in the
# foreground and detached, shows logs, publishes a port (nginx, `-d -p`, answered on
# 127.0.0.1), stops and removes them.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(realpath "${1:-$REPO/dist/pdman}")
CACHE=${PDMAN_TESTBED_CACHE:-/var/cache/pdman-testbed/images}
[ "$(id -u)" = 0 ] || { echo "smoke-no-python.sh: run as root" >&2; exit 1; }
[ -x "$BIN" ] || { echo "smoke-no-python.sh: no binary at $BIN (bash packaging/build-binary.sh)" >&2; exit 1; }
tarball=$(ls -t "$CACHE"/rootfs/debian-bookworm-minbase.*.tar.gz 2>/dev/null | head -1)
[ -n "$tarball" ] || { echo "smoke-no-python.sh: no rootfs in $CACHE/rootfs (python3 -m tests.bed.images build)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/pdman-nopython.XXXXXX)
registry_pid=
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '== %s\n' "$*" >&2; }

step "a Debian root without Python ($(basename "$tarball"))"
root=$work/root
mkdir -p "$root"
tar -xzf "$tarball" -C "$root" --numeric-owner
if compgen -G "$root/usr/bin/python*" >/dev/null || compgen -G "$root/usr/lib/python3*" >/dev/null; then
  echo "smoke-no-python.sh: the root has Python in it; this test proves nothing" >&2; exit 1
fi
# uidmap (newuidmap/newgidmap) and passt (pasta) as on a real server; fetched like any
# Debian package
debs=(uidmap libsubid4 passt)
(cd "$work" && apt-get download -qq "${debs[@]}" >/dev/null 2>&1) || apt-get update -qq
(cd "$work" && apt-get download -qq "${debs[@]}" >/dev/null)
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$root"; done
uid=1001
cat >> "$root/etc/passwd" <<EOF
pdmanuser:x:$uid:$uid::/home/pdmanuser:/bin/sh
EOF
echo "pdmanuser:x:$uid:" >> "$root/etc/group"
echo "pdmanuser:100000:65536" > "$root/etc/subuid"
echo "pdmanuser:100000:65536" > "$root/etc/subgid"
install -d -o $uid -g $uid -m 0700 "$root/home/pdmanuser"
install -m 0755 "$BIN" "$root/usr/local/bin/pdman"

step "the test registry on 127.0.0.1"
(cd "$REPO" && PDMAN_TESTBED_CACHE="$CACHE" exec /usr/bin/python3 -m tests.bed.registry serve --dir "$work/registry") \
  > "$work/registry.json" 2> "$work/registry.log" &
registry_pid=$!
for _ in $(seq 300); do [ -s "$work/registry.json" ] && break; sleep 0.2; done
[ -s "$work/registry.json" ] || { cat "$work/registry.log" >&2; exit 1; }
REG=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registry"])' "$work/registry.json")
PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$root/etc/containers"
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" > "$root/etc/containers/registries.conf"

# what the unprivileged user runs in there (busybox sh is not there: Debian's dash is)
cat > "$root/smoke.sh" <<EOF
set -eux
! command -v python3
! command -v python
pdman --version
pdman info --format '{{.host.rootless}} {{.host.idMappings.subordinate_ranges}}'
pdman pull -q $REG/busybox:latest
test "\$(pdman run --rm --network none $REG/busybox:latest echo hello)" = hello
set +e; pdman run --rm --network none $REG/busybox:latest sh -c 'exit 7'; code=\$?; set -e
test "\$code" = 7
pdman run -d --name smoke --network none $REG/busybox:latest sh -c 'echo up; trap "exit 3" TERM; while :; do sleep 0.1; done'
sleep 1
pdman ps --format '{{.Names}} {{.Status}}' | grep '^smoke Up'
pdman logs smoke | grep -x up
pdman stop smoke
pdman ps -a --format '{{.Names}} {{.Status}}' | grep '^smoke Exited (3)'
pdman rm smoke
pdman pull -q $REG/nginx:latest
pdman run -d --name web -p 127.0.0.1:$PORT:80 $REG/nginx:latest
for i in \$(seq 50); do
  pdman run --rm --network host $REG/busybox:latest wget -qO- http://127.0.0.1:$PORT/ > /tmp/page && break
  sleep 0.2
done
grep -q 'Welcome to nginx' /tmp/page
pdman stop web
pdman rm web
pdman images
test -z "\$(pdman ps -aq)"
EOF

step "inside: pull, run, run -d, logs, -p, stop, rm as an unprivileged user"
unshare --mount --pid --fork --kill-child -- bash -euc '
  root=$1 uid=$2
  mount --make-rprivate /
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --rbind /sys "$root/sys"
  mount -o remount,bind,ro "$root/sys"   # the host cgroup tree is never written
  mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
  mount -t tmpfs -o mode=0755 tmpfs "$root/run"
  install -d -o "$uid" -g "$uid" -m 0700 "$root/run/user/$uid"
  mkdir -p "$root/.oldroot"
  cd "$root"
  pivot_root . .oldroot
  umount -l /.oldroot
  exec chroot . /usr/sbin/runuser -u pdmanuser -- /usr/bin/env -i HOME=/home/pdmanuser USER=pdmanuser \
    PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR=/run/user/$uid LANG=C.UTF-8 /bin/sh /smoke.sh
' _ "$root" "$uid"
step "the single file passed on a machine without Python"
