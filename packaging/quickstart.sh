#!/usr/bin/env bash
# README command 1: from a fresh Debian 12 machine (as root, package mirrors only) to a
# working pdman running a real container, pulled from a real registry, as an
# unprivileged user.
#
#   1. system packages (packaging/install-deps.sh)
#   2. pdman into /opt/pdman (a venv of Debian's Python), `pdman` on PATH, and on a
#      host booted with systemd its Quadlet generators (system and user managers) and
#      the pdman-restart.service user unit
#   3. an unprivileged user with a subordinate ID range (default: pdmantest)
#   4. real images built offline from Debian packages, served by Debian's
#      docker-registry on 127.0.0.1 (there is no Docker Hub here)
#   5. as that user: `pdman info`, `pdman run` of busybox from that registry, then nginx
#      detached with its port published, answering on 127.0.0.1
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${PDMAN_PREFIX:-/opt/pdman}
DEMO_USER=${PDMAN_DEMO_USER:-pdmantest}
CACHE=${PDMAN_TESTBED_CACHE:-/var/cache/pdman-testbed/images}

[ "$(id -u)" = 0 ] || { echo "quickstart.sh: run as root (it installs packages)" >&2; exit 1; }
step() { printf '\n== %s\n' "$*" >&2; }

step "system packages"
bash "$REPO/packaging/install-deps.sh"

step "pdman into $PREFIX"
[ -x "$PREFIX/bin/python" ] || /usr/bin/python3 -m venv "$PREFIX"
"$PREFIX/bin/pip" install -q --disable-pip-version-check "$REPO" 2>&1 \
  | { grep -v '^WARNING: Location' || true; }
# pdman needs setuptools only to build (in pip's isolated build environment); in the venv
# its distutils-precedence.pth runs at every interpreter start: ~0.4 ms of every command
"$PREFIX/bin/pip" uninstall -q -y --disable-pip-version-check setuptools >/dev/null 2>&1 || true
ln -sf "$PREFIX/bin/pdman" /usr/local/bin/pdman
if [ -d /run/systemd/system ]; then   # booted with systemd: Quadlet files become units
  step "Quadlet generators (systemd)"
  "$PREFIX/bin/pdman" systemd install-generator
  "$PREFIX/bin/pdman" systemd install-generator --user
  # for every user, as podman ships podman-restart.service (each enables it:
  # `systemctl --user enable pdman-restart.service`)
  sed "s|@PDMAN@|/usr/local/bin/pdman|g" "$REPO/packaging/pdman-restart.service" \
    > /etc/systemd/user/pdman-restart.service
fi
chmod -R a+rX "$PREFIX"
pdman --version

step "unprivileged user $DEMO_USER"
uid=$(bash "$REPO/tests/bed/user.sh" "$DEMO_USER")

step "images, built offline (cached in $CACHE)"
(cd "$REPO" && PDMAN_TESTBED_CACHE="$CACHE" /usr/bin/python3 -m tests.bed.images build)

step "a local registry on 127.0.0.1, and a container from it"
work=$(mktemp -d /tmp/pdman-quickstart.XXXXXX)
rsync -a "$REPO/tests" "$work/"
chmod -R a+rX "$work"
chown -R "$DEMO_USER" "$work"
as_user() {
  runuser -u "$DEMO_USER" -- env -i HOME="$(getent passwd "$DEMO_USER" | cut -d: -f6)" \
    USER="$DEMO_USER" PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="/run/user/$uid" \
    PDMAN_TESTBED_CACHE="$CACHE" "$@"
}
# The registry runs in a session of its own, so that everything it started (the serving
# Python and its docker-registry processes) is one process group that the EXIT trap can
# stop as a whole: this script leaves nothing running behind it.
setsid runuser -u "$DEMO_USER" -- env -i HOME="$(getent passwd "$DEMO_USER" | cut -d: -f6)" \
  USER="$DEMO_USER" PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="/run/user/$uid" \
  PDMAN_TESTBED_CACHE="$CACHE" \
  bash -c "cd '$work' && exec /usr/bin/python3 -m tests.bed.registry serve --dir '$work/registry'" \
  > "$work/registry.json" 2> "$work/registry.log" &
reg_pid=$!   # the session leader: its PID is the process group's ID
stop_registry() {
  kill -TERM -- "-$reg_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    ps -e -o pgid= | grep -qw "$reg_pid" || break
    sleep 0.1
  done
  kill -KILL -- "-$reg_pid" 2>/dev/null || true
  wait "$reg_pid" 2>/dev/null || true
}
trap 'stop_registry; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do [ -s "$work/registry.json" ] && break; sleep 0.2; done
[ -s "$work/registry.json" ] || { cat "$work/registry.log" >&2; exit 1; }
registry=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registry"])' "$work/registry.json")

set -x
as_user pdman info --format '{{.host.rootless}} {{.host.overlay.mode}} {{.host.network.backend}} {{.host.cgroups.version}}'
as_user pdman pull --tls-verify=false "$registry/busybox:latest"
as_user pdman run --rm "$registry/busybox:latest" echo "hello from a rootless pdman container"
# nginx from Debian's nginx-light, detached, its port 80 published on the host
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_user pdman pull -q --tls-verify=false "$registry/nginx:latest"
as_user pdman run -d --name quickstart-web -p "127.0.0.1:$port:80" "$registry/nginx:latest"
as_user pdman ps
python3 - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=2) as r:
            print(f"HTTP {r.status} from nginx in a rootless container: {r.read(60)!r}...")
            break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("nginx did not answer")
PY
as_user pdman logs quickstart-web
as_user pdman rm -f quickstart-web
as_user pdman images
