#!/usr/bin/env bash
# pdman against both peers, podman 4.3 (the host's: runc, slirp4netns) and podman 5.4
# (Debian 13's: crun, pasta, sqlite), row by row, as issue #19 asks:
#   --version, ps (empty store), images, inspect (a created container),
#   run --rm --network none busybox true, run --rm busybox true (default network),
#   pull of an image whose layers are all present, rm -f of one running container,
#   stop of nginx (those three with a step before each run: hyperfine --prepare), and the
#   first HTTP answer after `run -d -p` of nginx (bench/first_http.py).
# Each row is ONE interleaved measurement: ROUNDS rounds of a few hyperfine runs of every
# command of the row (the three engines and the two wrappers' own cost), so that the
# load of a shared machine falls on all of them alike; the table takes the median of
# all rounds' runs and subtracts the wrapper each engine needs here:
#   pdman, podman 4.3   run as the test user through `setpriv` (this script is root's:
#                       podman 5.4's entry helper needs root)
#   podman 5.4          `p5enter` (set up by $PDMAN_PODMAN5_DIR/trixie-podman5-setup.sh:
#                       a Debian 13 root under /var/tmp/trixie, user p5), which pivots
#                       into that root and drops to p5 before exec'ing podman
# CPU: mean user+system of the command and the children it waits for (for `run`, podman's
# conmon and its OCI runtime escape that count: its CPU there is a floor).
#   bash bench/peers.sh          (as root; ROUNDS=N, default 10; ONLY="ps nonet answer"
#                                measures those rows alone, into peers-only.md)
# Writes bench/results/peers.md. Without podman 5.4 its columns say "-".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "peers.sh: run as root (podman 5.4's entry helper needs it)" >&2; exit 1; }
ROUNDS=${ROUNDS:-10}
PER=${PER_ROUND:-3}
ONLY=${ONLY:-}
OUT=$HERE/results/peers.md
[ -n "$ONLY" ] && OUT=$HERE/results/peers-only.md   # a subset never replaces the full table
wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
bench_prepare_host
[ -n "$PDMAN" ] || { echo "pdman not found on PATH (set PDMAN=...)" >&2; exit 1; }
user=${PDMAN_TEST_USER:-pdmantest}
uid=$(id -u "$user"); gid=$(id -g "$user")

P5DIR=${PDMAN_PODMAN5_DIR:-/work/shared/podman5}
P5ENTER=/var/tmp/p5enter
have5=0
if [ -f "$P5DIR/trixie-podman5-setup.sh" ]; then
  [ -x /var/tmp/trixie/usr/bin/podman ] && [ -x "$P5ENTER" ] || sh "$P5DIR/trixie-podman5-setup.sh" >&2
  [ -e /var/tmp/trixie/proc/self ] || sh "$P5DIR/trixie-mount.sh"
  [ -x "$P5ENTER" ] && have5=1
fi

tmp=$(mktemp -d /var/tmp/pdman-peers.XXXXXX)
chown "$user:" "$tmp"
registry_pid=
P5STORE=/home/p5/pdman-bench
AS="setpriv --reuid=$uid --regid=$gid --init-groups"
P5="env P5_CMD=/usr/bin/podman $P5ENTER --root $P5STORE/root --runroot /run/user/1500/pdman-bench"
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  $AS "$PDMAN" rm -fa >/dev/null 2>&1 || true
  $AS $PODMAN rm -fa >/dev/null 2>&1 || true
  $AS podman unshare rm -rf "$tmp/pdman" "$tmp/podman" 2>/dev/null || true
  rm -rf "$tmp"
  if [ "$have5" = 1 ]; then
    $P5 rm -fa >/dev/null 2>&1 || true
    $P5 unshare rm -rf "$P5STORE" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

(cd "$REPO" && exec python3 -m tests.bed.registry serve --dir "$tmp/registry") \
  > "$tmp/registry.json" 2> "$tmp/registry.log" &
registry_pid=$!
for _ in $(seq 300); do [ -s "$tmp/registry.json" ] && break; sleep 0.2; done
[ -s "$tmp/registry.json" ] || { cat "$tmp/registry.log" >&2; exit 1; }
REG=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registry"])' "$tmp/registry.json")
BB=$REG/busybox:latest

# the test user's side: podman 4.3 as this host needs it (lib.sh's bench_setup)
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n' > "$tmp/containers.conf"
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" > "$tmp/registries.conf"
printf '[storage]\ndriver = "overlay"\n' > "$tmp/storage.conf"
chmod a+r "$tmp"/*.conf
export HOME=$(getent passwd "$user" | cut -d: -f6) XDG_RUNTIME_DIR=/run/user/$uid
export CONTAINERS_CONF="$tmp/containers.conf" CONTAINERS_REGISTRIES_CONF="$tmp/registries.conf"
export CONTAINERS_STORAGE_CONF="$tmp/storage.conf"
export PDMAN_ROOT="$tmp/pdman/root" PDMAN_RUNROOT="$tmp/pdman/run"
mkdir -p "$XDG_RUNTIME_DIR" && chown "$user:" "$XDG_RUNTIME_DIR" && chmod 0700 "$XDG_RUNTIME_DIR"
PODMAN="podman --root $tmp/podman/root --runroot $tmp/podman/run"

$AS "$PDMAN" pull -q "$BB" >/dev/null
$AS $PODMAN pull -q "$BB" >/dev/null 2>&1
$AS "$PDMAN" run --rm "$BB" true            # stores, caches (seccomp filter) made
$AS $PODMAN run --rm "$BB" true >/dev/null 2>&1
if [ "$have5" = 1 ]; then
  $P5 pull -q --tls-verify=false "$BB" >/dev/null
  $P5 run --rm "$BB" true >/dev/null 2>&1 || have5=0
fi

# row: key|label|target vs 4.3|target vs 5.4|engine arguments
# the rows that need a step before each timed run (hyperfine --prepare, per command):
# busybox under a second name in the registry (a pull whose layers are all present),
# nginx in every store (the stop row)
NGINX=$REG/nginx:latest
WARM=$REG/warm/busybox:latest
skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$BB" "docker://$WARM" >/dev/null
$AS "$PDMAN" pull -q "$NGINX" >/dev/null
$AS $PODMAN pull -q "$NGINX" >/dev/null 2>&1
[ "$have5" = 1 ] && $P5 pull -q --tls-verify=false "$NGINX" >/dev/null

# key|label|target vs 4.3|target vs 5.4|command|the step before each run of it ("": none)
ROWS=(
  "version|\`--version\`|0.5||--version|"
  "ps|\`ps\` (empty store)|0.5||ps|"
  "images|\`images\` (busybox)|0.5||images|"
  "inspect|\`inspect\` (a created container)|0.5||inspect bench-inspect|"
  "nonet|\`run --rm --network none busybox true\`|0.3||run --rm --network none $BB true|"
  "run|\`run --rm busybox true\` (default network)|0.4|0.6|run --rm $BB true|"
  "warmpull|\`pull\` of an image whose layers are all present (busybox under a second name)|0.3||pull -q --tls-verify=false $WARM|rmi $WARM"
  "rmf|\`rm -f -t 0\` of one running container (busybox sleep, default network)|0.5||rm -f -t 0 bench-rmf|run -d --name bench-rmf $BB sleep 600"
  "stop|\`stop\` of nginx (default network)|0.5||stop bench-stop|run -d --replace --name bench-stop $NGINX"
)
for row in "${ROWS[@]}"; do
  IFS='|' read -r key label t4 t5 cmd prep <<<"$row"
  wanted "$key" || continue
  if [ "$key" = warmpull ]; then                # the second name there before the first rmi
    $AS "$PDMAN" pull -q "$WARM" >/dev/null
    $AS $PODMAN pull -q --tls-verify=false "$WARM" >/dev/null 2>&1
    [ "$have5" = 1 ] && $P5 pull -q --tls-verify=false "$WARM" >/dev/null
  fi
  if [ "$key" = inspect ]; then                 # one created container on each engine
    $AS "$PDMAN" create --name bench-inspect "$BB" true >/dev/null
    $AS $PODMAN create --name bench-inspect "$BB" true >/dev/null 2>&1
    [ "$have5" = 1 ] && $P5 create --name bench-inspect "$BB" true >/dev/null 2>&1
  fi
  args=(-n pdman "$AS $PDMAN $cmd" -n podman4 "$AS $PODMAN $cmd" -n base-user "$AS /usr/bin/true")
  [ "$have5" = 1 ] && args+=(-n podman5 "$P5 $cmd" -n base-p5 "env P5_CMD=/usr/bin/true $P5ENTER")
  if [ -n "$prep" ]; then                       # one --prepare per command, in their order
    args+=(--prepare "$AS $PDMAN $prep" --prepare "$AS $PODMAN $prep" --prepare /usr/bin/true)
    [ "$have5" = 1 ] && args+=(--prepare "$P5 $prep" --prepare /usr/bin/true)
  fi
  for round in $(seq "$ROUNDS"); do
    hyperfine -N -w 1 -r "$PER" --export-json "$tmp/$key.$round.json" "${args[@]}" >/dev/null
  done
  for name in bench-inspect bench-rmf bench-stop; do    # what the row left
    $AS "$PDMAN" rm -f "$name" >/dev/null 2>&1 || true
    $AS $PODMAN rm -f "$name" >/dev/null 2>&1 || true
    [ "$have5" = 1 ] && { $P5 rm -f "$name" >/dev/null 2>&1 || true; }
  done
  echo "$key|$label|$t4|$t5" >> "$tmp/rows"
done

# the first HTTP answer after `run -d -p` of nginx, default network on each engine
# (pdman: pasta; podman 4.3: slirp4netns + rootlessport; podman 5.4: pasta), interleaved
# the same way by first_http.py (hyperfine cannot wait for a port)
engines=("pdman=$AS $PDMAN" "podman4=$AS $PODMAN")
bases=("base-user=$AS /usr/bin/true")
if [ "$have5" = 1 ]; then
  engines+=("podman5=$P5")
  bases+=("base-p5=env P5_CMD=/usr/bin/true $P5ENTER")
fi
if wanted answer; then
  python3 "$HERE/first_http.py" "$tmp/answer" "$ROUNDS" "$PER" "$NGINX" -- "${engines[@]}" -- "${bases[@]}"
  echo "answer|first HTTP answer after \`run -d -p 80\` of nginx (default network)||0.7" >> "$tmp/rows"
fi

python3 - "$tmp" "$OUT" "$("$PDMAN" --version | awk '{print $3}')" \
  "$($AS podman --version | awk '{print $3}')" \
  "$([ "$have5" = 1 ] && $P5 --version | awk '{print $3}' || echo -)" "$ROUNDS" "$PER" <<'PY'
import glob, json, statistics, sys
tmp, out, v_pdman, v4, v5, rounds, per = sys.argv[1:]
lines = [f"pdman {v_pdman}, podman {v4} (host: runc, slirp4netns), podman {v5} (Debian 13: crun, "
         f"pasta). Each row one interleaved measurement: {rounds} rounds of {per} runs of every "
         "command; milliseconds, median over all runs, minus the wrapper's own median (setpriv "
         "for pdman and podman 4.3, p5enter for podman 5.4). CPU: mean user+system of the "
         "command and the children it waits for, wrapper's subtracted.",
         "CPU time is less disturbed by other load than wall clock; for `run` rows podman's "
         "conmon and OCI runtime escape it (they are not waited for), so its CPU there is a floor.",
         "", "| command | pdman | podman 4.3 | podman 5.4 | pdman/4.3 | pdman/5.4 "
         "| CPU pdman / 4.3 / 5.4 | target (#19, wall clock) |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
for row in open(f"{tmp}/rows"):
    key, label, t4, t5 = row.rstrip("\n").split("|")
    times, cpu = {}, {}
    for path in glob.glob(f"{tmp}/{key}.*.json"):
        for r in json.load(open(path))["results"]:
            times.setdefault(r["command"], []).extend(r["times"])
            cpu.setdefault(r["command"], []).append(r["user"] + r["system"])
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    cpu_mean = {k: statistics.mean(v) * 1000 for k, v in cpu.items()}
    p = med["pdman"] - med["base-user"]
    q4 = med["podman4"] - med["base-user"]
    q5 = med["podman5"] - med["base-p5"] if "podman5" in med else None
    c = cpu_mean["pdman"] - cpu_mean["base-user"]
    c4 = cpu_mean["podman4"] - cpu_mean["base-user"]
    c5 = f"{cpu_mean['podman5'] - cpu_mean['base-p5']:.1f}" if "podman5" in cpu_mean else "-"
    r4, r5 = p / q4, (p / q5 if q5 else None)
    goals = []
    if t4:
        goals.append(f"≤ {t4}× 4.3: {'met' if r4 <= float(t4) else 'not met'}")
    if t5:
        goals.append(f"≤ {t5}× 5.4: " + ("-" if r5 is None else 'met' if r5 <= float(t5) else 'not met'))
    f5 = "-" if q5 is None else f"{q5:.1f}"
    g5 = "-" if r5 is None else f"{r5:.2f}x"
    lines.append(f"| {label} | {p:.1f} | {q4:.1f} | {f5} | {r4:.2f}x | {g5} "
                 f"| {c:.1f} / {c4:.1f} / {c5} | {'; '.join(goals)} |")
base = {k: statistics.median(v) * 1000 for k, v in times.items() if k.startswith("base")}
import os
lines += ["", f"Load average when done: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (figures "
          "from a loaded machine are indicative only: compare within a row).",
          "", "Wrappers' own medians (subtracted above): "
          + ", ".join(f"{k} {v:.1f} ms" for k, v in sorted(base.items())) + "."]
text = "\n".join(lines) + "\n"
print(text)
open(out, "w").write(text)
PY
