#!/usr/bin/env bash
# Many commands at once, and memory (issue #19), pdman against podman 4.3 on throw-away
# stores:
#   - N (default 20) concurrent `run --rm --network none busybox true`
#   - N concurrent `pull`s of N different names (the test bed's 5 images copied under
#     N/5 names each with skopeo: names differ, layers are shared, so the pulls also
#     race for the same layers), on an empty store
#   each: wall time until the last one ended (median of ROUNDS rounds, interleaved),
#   and how many failed -- "database is locked" or any other error is a failure
#   - peak RSS (GNU time) of a cold `pull` of nginx, and of `ps -a` with CONTAINERS
#     (default 200) created containers
#   bash bench/concurrent.sh   (as root it prepares the host and re-runs as the test user)
# Writes bench/results/concurrent.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_as_user "$0" "$@"
bench_setup
N=${N:-20}
ROUNDS=${ROUNDS:-5}
CONTAINERS=${CONTAINERS:-200}
BB=$REG/busybox:latest
WIPE_PDMAN="podman unshare rm -rf $tmp/pdman"
WIPE_PODMAN="podman unshare rm -rf $tmp/podman"

# N names over the test bed's 5 images, in the registry
names=()
i=0
while [ "${#names[@]}" -lt "$N" ]; do
  for img in busybox:latest debian:bookworm nginx:latest layers:latest many:latest; do
    [ "${#names[@]}" -ge "$N" ] && break
    i=$((i + 1))
    name="$REG/concurrent/${img%%:*}-$i:latest"
    skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
      "docker://$REG/$img" "docker://$name" >/dev/null
    names+=("$name")
  done
done
printf '%s\n' "${names[@]}" > "$tmp/names"

"$PDMAN" pull -q "$BB" >/dev/null
$PODMAN pull -q "$BB" >/dev/null 2>&1
"$PDMAN" run --rm --network none "$BB" true
$PODMAN run --rm --network none "$BB" true >/dev/null 2>&1

# at_once ENGINE-LABEL OUT -- ARGV...: N copies at once (ARGV with {} replaced by the
# i-th name); one JSON line: wall seconds, failures, the first error line
at_once() {
  local label=$1 out=$2; shift 3
  python3 - "$label" "$N" "$tmp/names" "$@" >> "$out" <<'PY'
import json, subprocess, sys, time
label, n, names_file, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
names = open(names_file).read().split()
cmds = [[a.replace("{}", names[i % len(names)]) for a in argv] for i in range(n)]
t = time.monotonic()
procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in cmds]
errs = [p.communicate()[1].decode(errors="replace") for p in procs]
wall = time.monotonic() - t
failed = [e.strip().splitlines()[0] if e.strip() else f"exit {p.returncode}"
          for p, e in zip(procs, errs) if p.returncode != 0]
locked = sum("database is locked" in e for e in errs)
print(json.dumps({"label": label, "wall": wall, "failed": len(failed), "locked": locked,
                  "error": failed[0] if failed else ""}))
PY
}

: > "$tmp/runs.jsonl"
: > "$tmp/pulls.jsonl"
for _ in $(seq "$ROUNDS"); do
  # shellcheck disable=SC2086 # $PODMAN is a command with options
  at_once pdman "$tmp/runs.jsonl" -- "$PDMAN" run --rm --network none "$BB" true
  at_once podman "$tmp/runs.jsonl" -- $PODMAN run --rm --network none "$BB" true
  $WIPE_PDMAN
  at_once pdman "$tmp/pulls.jsonl" -- "$PDMAN" pull -q {}
  $WIPE_PODMAN
  # shellcheck disable=SC2086
  at_once podman "$tmp/pulls.jsonl" -- $PODMAN pull -q {}
done

# memory: a cold pull of nginx, then ps -a with CONTAINERS created containers
$WIPE_PDMAN
$WIPE_PODMAN
sync
/usr/bin/time -f "%M" -o "$tmp/rss-pull-pdman" "$PDMAN" pull -q "$REG/nginx:latest" >/dev/null
# shellcheck disable=SC2086
/usr/bin/time -f "%M" -o "$tmp/rss-pull-podman" $PODMAN pull -q "$REG/nginx:latest" >/dev/null 2>&1
"$PDMAN" pull -q "$BB" >/dev/null
$PODMAN pull -q "$BB" >/dev/null 2>&1
for i in $(seq "$CONTAINERS"); do
  "$PDMAN" create --network none --name "mem-$i" "$BB" true >/dev/null
  $PODMAN create --network none --name "mem-$i" "$BB" true >/dev/null
done
for engine in pdman podman; do
  cmd=$PDMAN
  [ "$engine" = podman ] && cmd=$PODMAN
  # shellcheck disable=SC2086
  /usr/bin/time -f "%M" -o "$tmp/rss-ps-$engine" $cmd ps -a >/dev/null
done

python3 - "$tmp" "$HERE/results/concurrent.md" "$N" "$ROUNDS" "$CONTAINERS" "$(podman --version)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, statistics, sys
tmp, out, n, rounds, containers, version, load = sys.argv[1:]
def rows(name):
    by = {"pdman": [], "podman": []}
    for line in open(f"{tmp}/{name}.jsonl"):
        r = json.loads(line)
        by[r["label"]].append(r)
    return by
lines = [f"pdman against {version} on throw-away stores, {n} commands at once, "
         f"{rounds} rounds interleaved (median wall time until the last one ended); load "
         f"average {load} at the end (figures from a loaded machine are indicative only).", "",
         "| at once | pdman | podman | pdman/podman | pdman failed | podman failed |",
         "| --- | ---: | ---: | ---: | ---: | ---: |"]
for name, label in (("runs", f"{n} × `run --rm --network none busybox true`"),
                    ("pulls", f"{n} × `pull` of {n} names (5 images), empty store")):
    by = rows(name)
    p, q = (statistics.median(r["wall"] for r in by[k]) for k in ("pdman", "podman"))
    def fails(k):
        total = sum(r["failed"] for r in by[k])
        locked = sum(r["locked"] for r in by[k])
        first = next((r["error"] for r in by[k] if r["error"]), "")
        text = f"{total} of {int(n) * len(by[k])}"
        if locked:
            text += f" ({locked} database is locked)"
        if first:
            text += f": {first[:80]}"
        return text
    lines.append(f"| {label} | {p:.2f} s | {q:.2f} s | {p / q:.2f}x | {fails('pdman')} | "
                 f"{fails('podman')} |")
lines += ["", "| peak RSS (GNU time) | pdman | podman | pdman/podman |", "| --- | ---: | ---: | ---: |"]
for key, label in (("pull", "cold `pull` of nginx"), ("ps", f"`ps -a` with {containers} containers")):
    p, q = (int(open(f"{tmp}/rss-{key}-{k}").read().split()[-1]) for k in ("pdman", "podman"))
    lines.append(f"| {label} | {p} kB | {q} kB | {p / q:.2f}x |")
text = "\n".join(lines) + "\n"
print(text)
open(out, "w").write(text)
PY
