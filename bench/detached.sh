#!/usr/bin/env bash
# Detached containers, pdman against podman, side by side, same busybox image from the
# same local registry, pulled beforehand:
#   - 50 `run -d --network none busybox sleep` one after another: each start, and the total;
#   - `ps` latency with those 50 running (hyperfine);
#   - the resident memory of each container's monitor: pdman-monitor vs conmon (RSS, and
#     PSS, which splits the shared libc pages between the processes that map them);
#   - `rm -fa` of the 50.
# `--network none` on both: the lifecycle is measured, not the network helper (podman
# 4.3 here would start slirp4netns, pdman pasta).
# `bash bench/detached.sh` (as root it prepares the host and re-runs as the test user).
# Writes bench/results/detached.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_as_user "$0" "$@"
bench_setup
N=${N:-50}

"$PDMAN" pull -q "$REG/busybox:latest" >/dev/null
$PODMAN pull -q "$REG/busybox:latest" >/dev/null 2>&1
BB=$REG/busybox:latest
# one container of each first: stores, caches and probes exist before the timing
"$PDMAN" rm -f "$("$PDMAN" run -d --network none "$BB" true)" >/dev/null
$PODMAN rm -f "$($PODMAN run -d --network none "$BB" true 2>/dev/null)" >/dev/null 2>&1

start_many() {  # NAME ENGINE...: N starts, one line "start end" (seconds) per start
  local name=$1; shift
  : > "$tmp/$name.starts"
  for _ in $(seq "$N"); do
    local t0=$EPOCHREALTIME
    "$@" run -d --network none "$BB" sleep 1000000 >/dev/null 2>>"$tmp/$name.err"
    echo "$t0 $EPOCHREALTIME" >> "$tmp/$name.starts"
  done
}

cut -d' ' -f1-3 /proc/loadavg > "$tmp/load.before"
start_many pdman "$PDMAN"
start_many podman $PODMAN
[ "$("$PDMAN" ps -q | wc -l)" = "$N" ] || { echo "pdman: not $N running" >&2; exit 1; }
[ "$($PODMAN ps -q | wc -l)" = "$N" ] || { echo "podman: not $N running" >&2; exit 1; }

hyperfine -N -w 3 -r "${RUNS}" --export-json "$tmp/ps.json" \
  -n "pdman ps" "$PDMAN ps" -n "podman ps" "$PODMAN ps" >/dev/null

# the monitors of these stores: pdman-monitor and conmon processes naming $tmp
python3 - "$tmp" > "$tmp/rss.json" <<'PY'
import json, os, sys
tmp = sys.argv[1].encode()
out = {"pdman-monitor": [], "conmon": []}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        name = os.path.basename(argv[0]).decode()
        if name not in out or tmp not in b" ".join(argv):
            continue
        status = open(f"/proc/{pid}/status").read()
        rss = int(status.split("VmRSS:")[1].split()[0])
        pss = int(open(f"/proc/{pid}/smaps_rollup").read().split("Pss:")[1].split()[0])
        out[name].append({"rss": rss, "pss": pss})
    except (OSError, IndexError, ValueError):
        pass
print(json.dumps(out))
PY

cut -d' ' -f1-3 /proc/loadavg > "$tmp/load.after"
t0=$EPOCHREALTIME; "$PDMAN" rm -fa >/dev/null; t1=$EPOCHREALTIME
echo "$t0 $t1" > "$tmp/pdman.rm"
t0=$EPOCHREALTIME; $PODMAN rm -fa >/dev/null 2>&1; t1=$EPOCHREALTIME
echo "$t0 $t1" > "$tmp/podman.rm"

python3 - "$tmp" "$N" "$HERE/results/detached.md" <<'PY'
import json, statistics, sys
tmp, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def spans(path):
    return [float(b) - float(a) for a, b in (line.split() for line in open(path))]

starts = {e: spans(f"{tmp}/{e}.starts") for e in ("pdman", "podman")}
ps = {r["command"]: r["median"] for r in json.load(open(f"{tmp}/ps.json"))["results"]}
mem = json.load(open(f"{tmp}/rss.json"))
rm = {e: spans(f"{tmp}/{e}.rm")[0] for e in ("pdman", "podman")}
med = statistics.median
rows = [
    (f"`run -d` one start (median of {n})", med(starts["pdman"]) * 1e3,
     med(starts["podman"]) * 1e3, "ms"),
    (f"`run -d` × {n}, total", sum(starts["pdman"]), sum(starts["podman"]), "s"),
    (f"`ps` with {n} running (median)", ps["pdman ps"] * 1e3, ps["podman ps"] * 1e3, "ms"),
    ("monitor RSS per container (median)", med(m["rss"] for m in mem["pdman-monitor"]),
     med(m["rss"] for m in mem["conmon"]), "kB"),
    ("monitor PSS per container (median)", med(m["pss"] for m in mem["pdman-monitor"]),
     med(m["pss"] for m in mem["conmon"]), "kB"),
    (f"`rm -fa` of {n} running", rm["pdman"], rm["podman"], "s"),
]
lines = [f"Detached containers: {n} × `run -d --network none busybox sleep`, one after "
         "another, then `ps` (hyperfine) and the monitors' memory "
         f"({len(mem['pdman-monitor'])} pdman-monitor, {len(mem['conmon'])} conmon processes "
         "measured); `bash bench/detached.sh`.", "",
         "| benchmark | pdman | podman | pdman/podman |", "| --- | ---: | ---: | ---: |"]
for label, p, q, unit in rows:
    fmt = "{:.0f}" if unit == "kB" else "{:.1f}" if unit == "ms" else "{:.2f}"
    lines.append(f"| {label} | {fmt.format(p)} {unit} | {fmt.format(q)} {unit} | {p / q:.2f}x |")
load = [open(f"{tmp}/load.{when}").read().strip() for when in ("before", "after")]
lines += ["", f"Load average (1, 5, 15 min) on this {__import__('os').cpu_count()}-CPU machine: "
          f"{load[0]} before, {load[1]} after: other work shares it, so compare the two "
          "engines within a run rather than across runs."]
text = "\n".join(lines) + "\n"
print(text)
open(out, "w").write(text)
PY
