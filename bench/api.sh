#!/usr/bin/env bash
# The Docker-compatible API, pdman's `system service` against podman's, driven by the
# same docker CLI (Debian's docker.io, else the one on PATH):
#   docker run --rm busybox true; docker ps with 20 containers; the socket-activated
#   first answer (service not running -> first /_ping answered, bench/first_answer.py).
# `bash bench/api.sh` (as root it prepares the host and re-runs as the test user).
# Writes bench/results/api.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_as_user "$0" "$@"
bench_setup

DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)
"$PDMAN" pull -q "$REG/busybox:latest" >/dev/null
$PODMAN pull -q "$REG/busybox:latest" >/dev/null 2>&1
BB=$REG/busybox:latest
mkdir -p "$tmp/sock"
"$PDMAN" system service --time 0 "unix://$tmp/sock/pdman.sock" 2>"$tmp/pdman-service.log" &
pdman_service=$!
$PODMAN system service --time 0 "unix://$tmp/sock/podman.sock" 2>"$tmp/podman-service.log" &
podman_service=$!
trap 'kill $pdman_service $podman_service 2>/dev/null || true; wait $pdman_service $podman_service 2>/dev/null || true; bench_cleanup' EXIT
for s in pdman podman; do
  for _ in $(seq 200); do [ -S "$tmp/sock/$s.sock" ] && break; sleep 0.05; done
done
P="env DOCKER_HOST=unix://$tmp/sock/pdman.sock DOCKER_CONFIG=$tmp/docker $DOCKER"
Q="env DOCKER_HOST=unix://$tmp/sock/podman.sock DOCKER_CONFIG=$tmp/docker $DOCKER"
for i in $(seq 20); do
  $P run -d --network none "$BB" sleep 600 >/dev/null
  $Q run -d --network none "$BB" sleep 600 >/dev/null
done

cut -d' ' -f1-3 /proc/loadavg > "$tmp/load.before"
hyperfine -N -w 3 -r "$RUNS" --export-json "$tmp/out.json" \
  -n "pdman docker run" "$P run --rm $BB true" \
  -n "podman docker run" "$Q run --rm $BB true" >/dev/null
# `docker ps` is short: more runs (PS_RUNS) for a median that the machine's other
# work moves less
hyperfine -N -w 5 -r "${PS_RUNS:-40}" --export-json "$tmp/ps.json" \
  -n "pdman docker ps" "$P ps" \
  -n "podman docker ps" "$Q ps" >/dev/null
python3 "$HERE/first_answer.py" "pdman first answer" "$RUNS" "$tmp/sock" -- \
  "$PDMAN" system service --time 0 > "$tmp/first-pdman.json"
python3 "$HERE/first_answer.py" "podman first answer" "$RUNS" "$tmp/sock" -- \
  $PODMAN system service --time 0 > "$tmp/first-podman.json"
cut -d' ' -f1-3 /proc/loadavg > "$tmp/load.after"
python3 - "$tmp/out.json" "$tmp/ps.json" "$tmp/first-pdman.json" "$tmp/first-podman.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for extra in sys.argv[2:]:
    doc["results"] += json.load(open(extra))["results"]
json.dump(doc, open(sys.argv[1], "w"))
PY
bench_table "$tmp/out.json" "$HERE/results/api.md" \
  "docker run --rm busybox true|pdman docker run|podman docker run" \
  "docker ps (20 containers)|pdman docker ps|podman docker ps" \
  "socket-activated first answer (/_ping)|pdman first answer|podman first answer"
{ echo
  echo "Machine load (1, 5, 15-minute averages, $(nproc) CPUs) before: $(cat "$tmp/load.before"), after: $(cat "$tmp/load.after")."
} >> "$HERE/results/api.md"
