# Shared set-up of the side-by-side benchmarks (source it; bash).
#
#   bench_as_user "$0" "$@"   as root: install podman/runc/hyperfine, the test user and
#                             the test images (bench_prepare_host), then re-run the
#                             script as that user
#   bench_setup               a throw-away dir ($tmp), the test bed's registry ($REG),
#                             pdman and podman on throw-away stores ($PDMAN, $PODMAN),
#                             podman configured for this host; cleaned up on exit
#   bench_table JSON OUT.md 'label|pdman name|podman name' ...
#                             a markdown table of medians and pdman/podman ratios
HERE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PDMAN=${PDMAN:-$(command -v pdman || true)}
RUNS=${RUNS:-10}

bench_as_user() {
  [ "$(id -u)" = 0 ] || return 0
  local script=$1; shift
  bench_prepare_host
  local user=${PDMAN_TEST_USER:-pdmantest}
  local uid; uid=$(id -u "$user")
  exec runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" \
    XDG_RUNTIME_DIR="/run/user/$uid" PATH="$PATH" PDMAN="$PDMAN" RUNS="$RUNS" \
    ${PDMAN_BEFORE:+PDMAN_BEFORE="$PDMAN_BEFORE"} \
    ${PDMAN_TESTBED_CACHE:+PDMAN_TESTBED_CACHE="$PDMAN_TESTBED_CACHE"} bash "$script" "$@"
}

# as root: podman/runc/hyperfine installed, the test user and the test images made
bench_prepare_host() {
  command -v podman >/dev/null && command -v runc >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null; }
  command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
  local user=${PDMAN_TEST_USER:-pdmantest}
  bash "$REPO/tests/bed/user.sh" "$user" >/dev/null
  (cd "$REPO" && python3 -m tests.bed.images build >/dev/null)
  mkdir -p "$HERE/results" && chmod a+rwx "$HERE/results"
  chmod a+rw "$HERE/results"/*.md 2>/dev/null || true   # written as the test user
}

bench_setup() {
  [ -n "$PDMAN" ] || { echo "pdman not found on PATH (set PDMAN=...)" >&2; exit 1; }
  tmp=$(mktemp -d /var/tmp/pdman-bench.XXXXXX)
  registry_pid=
  trap bench_cleanup EXIT
  (cd "$REPO" && exec python3 -m tests.bed.registry serve --dir "$tmp/registry") \
    > "$tmp/registry.json" 2> "$tmp/registry.log" &
  registry_pid=$!
  for _ in $(seq 300); do [ -s "$tmp/registry.json" ] && break; sleep 0.2; done
  [ -s "$tmp/registry.json" ] || { cat "$tmp/registry.log" >&2; exit 1; }
  REG=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registry"])' "$tmp/registry.json")
  # podman as this host needs it (runc: crun refuses the hybrid cgroups; cgroupfs and
  # file events: no systemd), trusting the plain-HTTP registry as pdman does
  printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n' \
    > "$tmp/containers.conf"
  printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" > "$tmp/registries.conf"
  printf '[storage]\ndriver = "overlay"\n' > "$tmp/storage.conf"
  export CONTAINERS_CONF="$tmp/containers.conf" CONTAINERS_REGISTRIES_CONF="$tmp/registries.conf"
  export CONTAINERS_STORAGE_CONF="$tmp/storage.conf"
  export PDMAN_ROOT="$tmp/pdman/root" PDMAN_RUNROOT="$tmp/pdman/run"
  PODMAN="podman --root $tmp/podman/root --runroot $tmp/podman/run"
}

bench_cleanup() {
  [ -n "${registry_pid:-}" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  "$PDMAN" rm -fa >/dev/null 2>&1 || true
  $PODMAN rm -fa >/dev/null 2>&1 || true
  if [ "$(id -u)" = 0 ]; then
    # rootful podman (bench/root.sh) mounts its overlay dir on itself again for that rm
    # (and `podman unshare` would once more): unmounted, then root removes everything
    umount -l "$tmp/podman/root/overlay" 2>/dev/null || true
    rm -rf "$tmp"
  else
    # both stores hold files of subordinate IDs: only the user namespace removes them
    podman unshare rm -rf "$tmp" 2>/dev/null || rm -rf "$tmp"
  fi
}

bench_table() {
  local json=$1 out=$2; shift 2
  python3 - "$json" "$out" "$@" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
lines = ["| benchmark | pdman median | podman median | pdman/podman |", "| --- | ---: | ---: | ---: |"]
for row in sys.argv[3:]:
    label, mine, theirs = row.split("|")
    p, q = res[mine]["median"], res[theirs]["median"]
    lines.append(f"| {label} | {p * 1000:.1f} ms | {q * 1000:.1f} ms | {p / q:.2f}x |")
text = "\n".join(lines) + "\n"
print(text)
open(sys.argv[2], "w").write(text)
PY
}
