#!/usr/bin/env bash
# Pods, pdman against podman, side by side with hyperfine: one cycle is
#   pod create -p PORT:80, two `run -d --pod` (busybox sleep), pod rm -f
# (podman's infra container runs catatonit from its locally built localhost/podman-pause
# image, pdman's its own init from localhost/pdman-pause; both images are made before the
# timed runs by a warm-up cycle). `bash bench/pods.sh` (as root it prepares the host and
# re-runs as the test user). Writes bench/results/pods.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" = 0 ] && ! command -v catatonit >/dev/null; then
  # podman's pause image is built from catatonit (rootless podman builds it locally)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq catatonit >/dev/null
fi
bench_as_user "$0" "$@"
bench_setup

"$PDMAN" pull -q "$REG/busybox:latest" >/dev/null
$PODMAN pull -q "$REG/busybox:latest" >/dev/null 2>&1
BB=$REG/busybox:latest
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cycle() {   # ENGINE: one pod create + two run -d --pod + pod rm -f
  echo "$1 pod create --name bp -p $port:80 >/dev/null && $1 run -d --pod bp $BB sleep 1000 >/dev/null && $1 run -d --pod bp $BB sleep 1000 >/dev/null && $1 pod rm -f -t 0 bp >/dev/null"
}

hyperfine ${BENCH_DEBUG:+--show-output} -w 2 -r "$RUNS" --export-json "$tmp/out.json" \
  -n "pdman pod cycle" "$(cycle "$PDMAN")" \
  -n "podman pod cycle" "$(cycle "$PODMAN")" >/dev/null

bench_table "$tmp/out.json" "$HERE/results/pods.md" \
  "pod create -p + 2 × run -d --pod + pod rm -f|pdman pod cycle|podman pod cycle"
