#!/usr/bin/env bash
# The floors under pdman's hot commands on this machine, and where `run --rm busybox
# true` spends its time (issue #19):
#   floors   a bare interpreter start (`python3 -I -S -c pass`, hyperfine), and from
#            bench/floors.py, inside one process: the C helper's clone+exec of `true`,
#            the same with newuidmap/newgidmap, with an overlay root, pasta's start-up
#   phases   bench/phases.py: `run --rm` (default network and --network none) split
#            into interpreter, imports, create, spawn, helpers, release, container,
#            teardown, remove; --version, ps, images and inspect (--hot) into
#            interpreter, imports, catalog, other
# `bash bench/floors.sh` (as root it prepares the host and re-runs as the test user).
# Writes bench/results/floors.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_as_user "$0" "$@"
bench_setup
PY=$(dirname "$(readlink -f "$PDMAN")")/python3      # the interpreter pdman runs on
[ -x "$PY" ] || PY=$(head -n1 "$PDMAN" | sed 's/^#!//')

"$PDMAN" pull -q "$REG/busybox:latest" >/dev/null
BB=$REG/busybox:latest
"$PDMAN" run --rm "$BB" true

hyperfine -N -w 5 -r "$(( RUNS > 30 ? RUNS : 30 ))" --export-json "$tmp/py.json" \
  -n "python -I -S" "$PY -I -S -c pass" -n "python" "$PY -c pass" >/dev/null
"$PY" "$HERE/floors.py" --runs "$(( RUNS > 20 ? RUNS : 20 ))" > "$tmp/floors.json"
"$PY" "$HERE/phases.py" --runs "$RUNS" -- run --rm "$BB" true > "$tmp/phases-net.json"
"$PY" "$HERE/phases.py" --runs "$RUNS" -- run --rm --network none "$BB" true > "$tmp/phases-none.json"
# the hot commands that only read the catalog (#19's split), ps before any container exists
"$PY" "$HERE/phases.py" --hot --runs "$RUNS" -- --version > "$tmp/hot-version.json"
"$PY" "$HERE/phases.py" --hot --runs "$RUNS" -- ps > "$tmp/hot-ps.json"
"$PY" "$HERE/phases.py" --hot --runs "$RUNS" -- images > "$tmp/hot-images.json"
"$PDMAN" create --name hot-inspect "$BB" true >/dev/null
"$PY" "$HERE/phases.py" --hot --runs "$RUNS" -- inspect hot-inspect > "$tmp/hot-inspect.json"
"$PDMAN" rm hot-inspect >/dev/null

"$PY" - "$tmp" "$HERE/results/floors.md" "$(cat /proc/loadavg | cut -d' ' -f1-3)" <<'PY'
import json, sys
tmp, out, load = sys.argv[1:]
py = {r["command"]: r for r in json.load(open(f"{tmp}/py.json"))["results"]}
floors = json.load(open(f"{tmp}/floors.json"))
lines = [f"Floors on this machine (load average {load} when measured: figures from a loaded "
         "machine are indicative only). Milliseconds, median / minimum.", "",
         "| floor | median | min | how |", "| --- | ---: | ---: | --- |"]
for name, how in (("python -I -S", "`python3 -I -S -c pass`, a process start (hyperfine)"),
                  ("python", "`python3 -c pass` (with site: the venv's paths)")):
    r = py[name]
    lines.append(f"| interpreter: {name} | {r['median'] * 1000:.1f} | {r['min'] * 1000:.1f} | {how} |")
hows = {"clone+exec": "the C helper alone: clone into new namespaces, single-ID map, bind root, "
                      "/proc /dev /sys, pivot_root, exec `true`, wait (in-process)",
        "+ newuidmap/newgidmap": "the same with the subordinate ranges: the two setuid helpers",
        "+ overlay": "the same as clone+exec with an overlay root (one lower layer)",
        "pasta start-up": "pasta attached to a waiting namespace until it daemonized"}
for name, how in hows.items():
    if name in floors:
        f = floors[name]
        lines.append(f"| {name} | {f['median']:.1f} | {f['min']:.1f} | {how} |")
lines += ["", "`run --rm busybox true`, phase by phase (bench/phases.py: medians in ms; "
          "`helpers` = pasta and newuidmap/newgidmap, which overlap; `release` = cgroup, the "
          "child's mounts and exec; `interpreter` = the process's start and exit around the "
          "timed code):", ""]
net, none = (json.load(open(f"{tmp}/phases-{k}.json")) for k in ("net", "none"))
lines += ["| phase | default network (pasta) | --network none |", "| --- | ---: | ---: |"]
for phase in net:
    lines.append(f"| {phase} | {net[phase]:.1f} | {none[phase]:.1f} |")
hot = {k: json.load(open(f"{tmp}/hot-{k}.json")) for k in ("version", "ps", "images", "inspect")}
lines += ["", "The hot commands that only read the catalog, phase by phase (bench/phases.py --hot: "
          "medians in ms; `imports` = every import, up front and lazy; `catalog` = opening it "
          "and reading the records, JSON included; `other` = parsing, the command's own work, "
          "output; `ps` on a store with no container, `inspect` of a created one):", "",
          "| phase | `--version` | `ps` | `images` | `inspect` |", "| --- | ---: | ---: | ---: | ---: |"]
for phase in hot["ps"]:
    lines.append(f"| {phase} | " + " | ".join(f"{hot[k][phase]:.1f}" for k in hot) + " |")
text = "\n".join(lines) + "\n"
print(text)
open(out, "w").write(text)
PY
