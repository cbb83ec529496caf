#!/usr/bin/env bash
# Start-up latency, pdman against podman, side by side with hyperfine:
#   `--version` and `ps` on an empty store.
# Run as the user who runs containers (not root): `bash bench/startup.sh`.
# As root it prepares podman (Debian's) and re-runs itself as the test user.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PDMAN=${PDMAN:-$(command -v pdman || true)}
RUNS=${RUNS:-30}

if [ "$(id -u)" = 0 ]; then
  command -v podman >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null; }
  command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
  user=${PDMAN_TEST_USER:-pdmantest}
  uid=$(id -u "$user")
  mkdir -p "$HERE/results" && chmod a+rwx "$HERE/results"
  exec runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" \
    XDG_RUNTIME_DIR="/run/user/$uid" PATH="$PATH" PDMAN="$PDMAN" RUNS="$RUNS" bash "$0"
fi

[ -n "$PDMAN" ] || { echo "pdman not found on PATH (set PDMAN=...)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PDMAN_ROOT="$tmp/root" PDMAN_RUNROOT="$tmp/run"
# podman on a throw-away store too, with the settings this host needs (runc: crun
# refuses the host's hybrid cgroups; cgroupfs and file events: no systemd here)
mkdir -p "$tmp/podman"
cat > "$tmp/containers.conf" <<CONF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
export CONTAINERS_CONF="$tmp/containers.conf"
PODMAN="podman --root $tmp/podman/root --runroot $tmp/podman/run"
$PODMAN ps >/dev/null 2>&1 || true   # first run creates its store
"$PDMAN" ps >/dev/null

hyperfine -N -w 5 -r "$RUNS" --export-json "$tmp/out.json" \
  -n "pdman --version" "$PDMAN --version" \
  -n "podman --version" "podman --version" \
  -n "pdman ps" "$PDMAN ps" \
  -n "podman ps" "$PODMAN ps" >/dev/null

python3 - "$tmp/out.json" "$HERE/results/startup.md" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
lines = ["| command | pdman median (ms) | podman median (ms) | ratio pdman/podman |",
         "| --- | ---: | ---: | ---: |"]
for what in ("--version", "ps"):
    p, q = res[f"pdman {what}"]["median"] * 1000, res[f"podman {what}"]["median"] * 1000
    lines.append(f"| `{what}` | {p:.1f} | {q:.1f} | {p / q:.2f}x |")
text = "\n".join(lines) + "\n"
print(text)
open(sys.argv[2], "w").write(text)
PY
