#!/usr/bin/env bash
# Cold pulls, pdman against podman, side by side with hyperfine: the nginx image and
# the Debian one, from the same local registry (the test bed's, on 127.0.0.1), each
# run starting from empty stores (both wiped in --prepare).
#
# Run as the user who runs containers (not root): `bash bench/pull.sh`.
# As root it installs podman/runc/hyperfine, makes the test user (tests/bed/user.sh),
# builds the test images if missing, and re-runs itself as that user.
# Writes bench/results/pull.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PDMAN=${PDMAN:-$(command -v pdman || true)}
RUNS=${RUNS:-10}

if [ "$(id -u)" = 0 ]; then
  command -v podman >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null; }
  command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
  user=${PDMAN_TEST_USER:-pdmantest}
  bash "$REPO/tests/bed/user.sh" "$user" >/dev/null
  (cd "$REPO" && python3 -m tests.bed.images build >/dev/null)
  uid=$(id -u "$user")
  mkdir -p "$HERE/results" && chmod a+rwx "$HERE/results"
  exec runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" \
    XDG_RUNTIME_DIR="/run/user/$uid" PATH="$PATH" PDMAN="$PDMAN" RUNS="$RUNS" \
    ${PDMAN_TESTBED_CACHE:+PDMAN_TESTBED_CACHE="$PDMAN_TESTBED_CACHE"} bash "$0"
fi

[ -n "$PDMAN" ] || { echo "pdman not found on PATH (set PDMAN=...)" >&2; exit 1; }
tmp=$(mktemp -d /var/tmp/pdman-bench.XXXXXX)
registry_pid=
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  # both stores hold files of subordinate IDs: only the user namespace removes them
  podman unshare rm -rf "$tmp" 2>/dev/null || rm -rf "$tmp"
}
trap cleanup EXIT

# the test bed's registry, filled with the cached images
(cd "$REPO" && exec python3 -m tests.bed.registry serve --dir "$tmp/registry") \
  > "$tmp/registry.json" 2> "$tmp/registry.log" &
registry_pid=$!
for _ in $(seq 300); do [ -s "$tmp/registry.json" ] && break; sleep 0.2; done
[ -s "$tmp/registry.json" ] || { cat "$tmp/registry.log" >&2; exit 1; }
REG=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registry"])' "$tmp/registry.json")

# podman with what this host needs (runc: crun refuses the hybrid cgroups; cgroupfs
# and file events: no systemd), trusting the plain-HTTP registry like pdman does
cat > "$tmp/containers.conf" <<CONF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
cat > "$tmp/registries.conf" <<CONF
[[registry]]
location = "$REG"
insecure = true
CONF
cat > "$tmp/storage.conf" <<CONF
[storage]
driver = "overlay"
CONF
export CONTAINERS_CONF="$tmp/containers.conf" CONTAINERS_REGISTRIES_CONF="$tmp/registries.conf"
export CONTAINERS_STORAGE_CONF="$tmp/storage.conf"
export PDMAN_ROOT="$tmp/pdman/root" PDMAN_RUNROOT="$tmp/pdman/run"
PODMAN="podman --root $tmp/podman/root --runroot $tmp/podman/run"
WIPE="podman unshare rm -rf $tmp/pdman $tmp/podman"

# warm the page cache of the registry's blobs and both programs once
for img in nginx:latest debian:bookworm; do
  "$PDMAN" pull -q "$REG/$img" >/dev/null
  $PODMAN pull -q "$REG/$img" >/dev/null 2>&1
done
$WIPE

hyperfine -w 1 -r "$RUNS" --prepare "$WIPE; sync" --export-json "$tmp/out.json" \
  -n "pdman pull nginx" "$PDMAN pull -q $REG/nginx:latest" \
  -n "podman pull nginx" "$PODMAN pull -q $REG/nginx:latest" \
  -n "pdman pull debian" "$PDMAN pull -q $REG/debian:bookworm" \
  -n "podman pull debian" "$PODMAN pull -q $REG/debian:bookworm" >/dev/null

python3 - "$tmp/out.json" "$HERE/results/pull.md" "$RUNS" <<'PY'
import json, os, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
lines = [f"Cold pull from a local registry (127.0.0.1), empty stores, {sys.argv[3]} runs each, "
         f"{os.cpu_count()} CPUs; hyperfine medians.", "",
         "| image | pdman median (s) | podman median (s) | ratio pdman/podman |",
         "| --- | ---: | ---: | ---: |"]
for image in ("nginx", "debian"):
    p, q = res[f"pdman pull {image}"]["median"], res[f"podman pull {image}"]["median"]
    lines.append(f"| {image} | {p:.3f} | {q:.3f} | {p / q:.2f}x |")
text = "\n".join(lines) + "\n"
print(text)
open(sys.argv[2], "w").write(text)
PY
