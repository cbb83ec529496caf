#!/usr/bin/env bash
# Start-up latency, pdman against podman, side by side with hyperfine:
#   `--version` and `ps` on an empty store.
# `bash bench/startup.sh` (as root it prepares the host and re-runs as the test user).
# Writes bench/results/startup.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-30}
bench_as_user "$0" "$@"
bench_setup

$PODMAN ps >/dev/null 2>&1 || true   # first runs create the stores
"$PDMAN" ps >/dev/null

hyperfine -N -w 5 -r "$RUNS" --export-json "$tmp/out.json" \
  -n "pdman --version" "$PDMAN --version" \
  -n "podman --version" "podman --version" \
  -n "pdman ps" "$PDMAN ps" \
  -n "podman ps" "$PODMAN ps" >/dev/null

bench_table "$tmp/out.json" "$HERE/results/startup.md" \
  "--version|pdman --version|podman --version" \
  "ps (empty store)|pdman ps|podman ps"
