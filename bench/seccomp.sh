#!/usr/bin/env bash
# The cost of the seccomp filter and the session keyring (issue #12): `run --rm busybox
# true` with the default profile, against the same command of a pdman from before the
# change (PDMAN_BEFORE; left out when unset), with seccomp=unconfined, and against podman
# (runc, applying its own default profile); with the default network (pdman: pasta;
# podman 4.3: slirp4netns) and with --network none.
#   PDMAN_BEFORE=/path/to/old/venv/bin/pdman bash bench/seccomp.sh
# A 5% difference drowns in the noise of a shared machine when each command's runs come
# in one block: hyperfine runs here in ROUNDS rounds of a few runs of every command, and
# the table takes the median over all rounds' runs (wall clock) and the mean CPU time
# (user + system of pdman and its children, which other load disturbs less).
# Writes bench/results/seccomp.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_as_user "$0" "$@"
bench_setup
ROUNDS=${ROUNDS:-10}

"$PDMAN" pull -q "$REG/busybox:latest" >/dev/null
$PODMAN pull -q "$REG/busybox:latest" >/dev/null 2>&1
BB=$REG/busybox:latest
"$PDMAN" run --rm "$BB" true        # compiles the default filter once: runs read the cache

args=(-n "pdman" "$PDMAN run --rm $BB true"
      -n "pdman unconfined" "$PDMAN run --rm --security-opt seccomp=unconfined $BB true"
      -n "podman" "$PODMAN run --rm $BB true"
      -n "pdman nonet" "$PDMAN run --rm --network none $BB true"
      -n "pdman unconfined nonet" "$PDMAN run --rm --network none --security-opt seccomp=unconfined $BB true"
      -n "podman nonet" "$PODMAN run --rm --network none $BB true")
if [ -n "${PDMAN_BEFORE:-}" ]; then
  # a store of its own: the catalog's schema moved on since (an old pdman refuses a newer one)
  BEFORE="$PDMAN_BEFORE --root $tmp/before/root --runroot $tmp/before/run"
  $BEFORE pull -q "$BB" >/dev/null
  $BEFORE run --rm "$BB" true
  args+=(-n "before" "$BEFORE run --rm $BB true"
         -n "before nonet" "$BEFORE run --rm --network none $BB true")
fi
for round in $(seq "$ROUNDS"); do
  hyperfine -N -w 1 -r 3 --export-json "$tmp/round$round.json" "${args[@]}" >/dev/null
done

python3 - "$HERE/results/seccomp.md" "$tmp"/round*.json <<'PY'
import json, statistics, sys
wall, cpu = {}, {}
for path in sys.argv[2:]:
    for r in json.load(open(path))["results"]:
        wall.setdefault(r["command"], []).extend(r["times"])
        cpu.setdefault(r["command"], []).append(r["user"] + r["system"])   # this round's mean
stats = {"median": {k: statistics.median(v) for k, v in wall.items()},
         "min": {k: min(v) for k, v in wall.items()},
         "CPU": {k: statistics.mean(v) for k, v in cpu.items()}}
fmt = lambda d, k: f"{d[k] * 1000:.1f}" if k in d else "-"
ratio = lambda d, a, b: f"{d[a] / d[b]:.2f}x" if a in d and b in d else "-"
lines = [f"`run --rm busybox true`, {len(wall['pdman'])} runs of each, interleaved in rounds. "
         "Milliseconds: wall-clock median / minimum / CPU (mean user+system of the command and "
         "its children; podman's conmon and runc escape that count, so no CPU ratio to podman).",
         "", "| network | pdman (default profile) | pdman unconfined | pdman before | podman (runc) "
         "| after/before median / min / CPU | pdman/podman median / min |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
for label, sfx in (("default (pasta / slirp4netns)", ""), ("none", " nonet")):
    a, u, b, p = "pdman" + sfx, "pdman unconfined" + sfx, "before" + sfx, "podman" + sfx
    cell = lambda k: " / ".join(fmt(stats[s], k) for s in ("median", "min", "CPU"))
    lines.append(f"| {label} | {cell(a)} | {cell(u)} | {cell(b)} "
                 f"| {fmt(stats['median'], p)} / {fmt(stats['min'], p)} / - "
                 f"| {' / '.join(ratio(stats[s], a, b) for s in ('median', 'min', 'CPU'))} "
                 f"| {ratio(stats['median'], a, p)} / {ratio(stats['min'], a, p)} |")
text = "\n".join(lines) + "\n"
print(text)
open(sys.argv[1], "w").write(text)
PY
