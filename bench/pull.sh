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
source "$(dirname "$0")/lib.sh"
bench_as_user "$0" "$@"
bench_setup
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

bench_table "$tmp/out.json" "$HERE/results/pull.md" \
  "cold pull nginx|pdman pull nginx|podman pull nginx" \
  "cold pull debian|pdman pull debian|podman pull debian"
