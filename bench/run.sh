#!/usr/bin/env bash
# Starting containers, pdman against podman, side by side with hyperfine, same images
# from the same local registry, pulled beforehand:
#   run --rm busybox true, run --rm debian true, create + start -a (busybox), each with
#   the engines' default network (pdman: pasta; podman 4.3: slirp4netns) and busybox
#   with --network none too (the engine alone, no network helper on either side).
# `bash bench/run.sh` (as root it prepares the host and re-runs as the test user).
# Writes bench/results/run.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_as_user "$0" "$@"
bench_setup

for img in busybox:latest debian:bookworm; do
  "$PDMAN" pull -q "$REG/$img" >/dev/null
  $PODMAN pull -q "$REG/$img" >/dev/null 2>&1
done
BB=$REG/busybox:latest
DEB=$REG/debian:bookworm

hyperfine -N -w 3 -r "$RUNS" --export-json "$tmp/out.json" \
  -n "pdman run busybox" "$PDMAN run --rm $BB true" \
  -n "podman run busybox" "$PODMAN run --rm $BB true" \
  -n "pdman run debian" "$PDMAN run --rm $DEB true" \
  -n "podman run debian" "$PODMAN run --rm $DEB true" \
  -n "pdman run busybox nonet" "$PDMAN run --rm --network none $BB true" \
  -n "podman run busybox nonet" "$PODMAN run --rm --network none $BB true" \
  -n "pdman create+start" "bash -c '$PDMAN start -a \$($PDMAN create $BB true) >/dev/null'" \
  -n "podman create+start" "bash -c '$PODMAN start -a \$($PODMAN create $BB true) >/dev/null'" >/dev/null

bench_table "$tmp/out.json" "$HERE/results/run.md" \
  "run --rm busybox true|pdman run busybox|podman run busybox" \
  "run --rm debian true|pdman run debian|podman run debian" \
  "run --rm --network none busybox true|pdman run busybox nonet|podman run busybox nonet" \
  "create + start -a (busybox)|pdman create+start|podman create+start"
