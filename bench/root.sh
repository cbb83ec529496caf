#!/usr/bin/env bash
# pdman as root against rootful podman, side by side, same images from the same local
# registry, pulled beforehand (issue 18):
#   - `run --rm busybox true` with each engine's default network as root (pdman: pasta
#     into the container's namespace; podman 4.3: its bridge, netavark/CNI with
#     iptables) and with --network none (the engines alone), hyperfine;
#   - the first HTTP answer after `run -d -p PORT:80 nginx` (the command started, then a
#     GET every 2 ms to the host's address until one answers), RUNS rounds.
# Everything that touches a network runs inside a network namespace this script makes
# (a veth pair, 198.51.100.2/24, as the root-mode tests): podman's bridge and firewall
# rules, pdman's pasta, every packet stay there; the host's network is never touched.
# Rootful podman 4.3 cannot start any container on a host whose hard RLIMIT_NOFILE is
# below what it asks for (this one's is 20000): it is given the caller's limits as
# default ulimits (containers.conf), which pdman uses by itself.
# `bash bench/root.sh`, as root. Writes bench/results/root.md.
set -euo pipefail
# an interpreter that may not write bytecode recompiles every stale module on every
# start: both engines are timed as installed, with their caches usable
unset PYTHONDONTWRITEBYTECODE
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "bench/root.sh runs as root" >&2; exit 1; }
command -v podman >/dev/null && command -v runc >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null; }
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
(cd "$REPO" && python3 -m tests.bed.images build >/dev/null)
bash "$REPO/tests/bed/user.sh" "${PDMAN_TEST_USER:-pdmantest}" >/dev/null
mkdir -p "$HERE/results"
bench_setup
# rootful podman: its own store (storage.conf must name it as root), the caller's limits
nofile=$(ulimit -Hn)
printf '[storage]\ndriver = "overlay"\nrunroot = "%s"\ngraphroot = "%s"\n' \
  "$tmp/podman/run" "$tmp/podman/root" > "$tmp/storage.conf"
printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=4096:4096"]\n' "$nofile" "$nofile" \
  >> "$tmp/containers.conf"
PODMAN=podman

BB=$REG/busybox:latest
NGINX=$REG/nginx:latest
for img in "$BB" "$NGINX"; do
  "$PDMAN" pull -q "$img" >/dev/null
  $PODMAN pull -q "$img" >/dev/null 2>&1
done

# the network namespace of the run, and a client's beside it
NS=$tmp/netns CLIENT=$tmp/client-netns
touch "$NS" "$CLIENT"
unshare --net="$NS" true
unshare --net="$CLIENT" true
holder_pid=
netns_cleanup() {
  [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null
  umount -l "$NS" "$CLIENT" 2>/dev/null || true
}
# rootful podman keeps its overlay dir mounted on itself: unmounted (lazily: a container
# merged dir below it may still be mounted) before the store goes
# (each step `|| true`: under `set -e` a failing step of the trap would end it, and the
# registry and the stores would stay behind)
trap 'netns_cleanup || true; podman rm -fa >/dev/null 2>&1 || true
      umount -l "$tmp/podman/root/overlay" 2>/dev/null || true; bench_cleanup' EXIT
nsenter --net="$CLIENT" sleep 100000 & holder_pid=$!
in_ns() { nsenter --net="$NS" -- "$@"; }
in_ns ip link set lo up
in_ns ip link add pdb0 type veth peer name pdb1
in_ns ip link set pdb1 netns "$holder_pid"
in_ns ip addr add 198.51.100.2/24 dev pdb0
in_ns ip link set pdb0 up
in_ns ip route add default via 198.51.100.1
nsenter --net="$CLIENT" ip link set lo up
nsenter --net="$CLIENT" ip addr add 198.51.100.9/24 dev pdb1
nsenter --net="$CLIENT" ip link set pdb1 up

N="nsenter --net=$NS --"
hyperfine -N -w 3 -r "$RUNS" --export-json "$tmp/out.json" \
  -n "pdman run busybox" "$N $PDMAN run --rm $BB true" \
  -n "podman run busybox" "$N $PODMAN run --rm $BB true" \
  -n "pdman run busybox nonet" "$N $PDMAN run --rm --network none $BB true" \
  -n "podman run busybox nonet" "$N $PODMAN run --rm --network none $BB true" >/dev/null

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# first_answer ENGINE... -- PORT: seconds from `run -d -p` (in the run's namespace) to
# the first 200 on 198.51.100.2:PORT, asked from the client's namespace
first_answer() {
  python3 - "$NS" "$CLIENT" "$NGINX" "$@" <<'PY'
import subprocess, sys, time
ns, client, image = sys.argv[1:4]
sep = sys.argv.index("--")
engine, port = sys.argv[4:sep], sys.argv[sep + 1]
probe = ("import http.client, sys, time\n"
         "t0 = time.monotonic()\n"
         "while time.monotonic() - t0 < 60:\n"
         "    try:\n"
         "        c = http.client.HTTPConnection('198.51.100.2', int(sys.argv[2]), timeout=1)\n"
         "        c.request('GET', '/')\n"
         "        if c.getresponse().status == 200:\n"
         "            sys.exit(0)\n"
         "    except OSError:\n"
         "        pass\n"
         "    time.sleep(0.002)\n"
         "sys.exit('no answer in 60 s')\n")
# the client's interpreter starts first and waits: its start-up is not in the time
client_proc = subprocess.Popen(["nsenter", f"--net={client}", "--", sys.executable, "-c",
                                "import sys; sys.stdin.readline(); exec(sys.argv[1])", probe,
                                port], stdin=subprocess.PIPE, text=True)
time.sleep(0.3)
t0 = time.monotonic()
proc = subprocess.Popen(["nsenter", f"--net={ns}", "--", *engine, "run", "-d", "--name",
                         "bench-web", "-p", f"{port}:80", image], stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE)
client_proc.stdin.write("go\n")
client_proc.stdin.flush()
if client_proc.wait() != 0:
    sys.exit(f"no answer: {proc.stderr.read().decode() if proc.poll() is not None else ''}")
print(f"{time.monotonic() - t0:.4f}")
proc.wait()
PY
}

: > "$tmp/results.txt"
for i in $(seq 0 "$RUNS"); do
  for v in "pdman|$PDMAN" "podman|$PODMAN"; do
    IFS='|' read -r label cmd <<< "$v"
    port=$(free_port)
    # shellcheck disable=SC2086 # $cmd is a command with options
    t=$(first_answer $cmd -- "$port")
    $N $cmd rm -f bench-web >/dev/null 2>&1
    [ "$i" = 0 ] || echo "$label|$t" >> "$tmp/results.txt"
  done
done

python3 - "$tmp/out.json" "$tmp/results.txt" "$HERE/results/root.md" "$RUNS" \
  "$(podman --version)" "$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null || echo '?')" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, statistics, sys
from collections import defaultdict
hf, answers, out, runs, podman_v, backend, load = sys.argv[1:]
res = {r["command"]: r["median"] for r in json.load(open(hf))["results"]}
data = defaultdict(list)
for line in open(answers):
    label, value = line.strip().split("|")
    data[label].append(float(value))
first = {k: statistics.median(v) for k, v in data.items()}
rows = ["| benchmark | pdman median | podman median | pdman/podman | target |",
        "| --- | ---: | ---: | ---: | ---: |"]
for label, mine, theirs, target in (
        ("`run --rm busybox true` (default network)", res["pdman run busybox"],
         res["podman run busybox"], "0.5x"),
        ("`run --rm --network none busybox true`", res["pdman run busybox nonet"],
         res["podman run busybox nonet"], ""),
        ("first answer after `run -d -p PORT:80 nginx`", first["pdman"], first["podman"],
         "0.7x")):
    rows.append(f"| {label} | {mine * 1000:.0f} ms | {theirs * 1000:.0f} ms | "
                f"{mine / theirs:.2f}x | {target} |")
text = "\n".join([
    "# As root: pdman vs rootful podman",
    "",
    f"Both as root, in a network namespace of the script's (a veth pair; the client in a "
    f"second namespace asks the host address 198.51.100.2). Default networks: pdman's "
    f"pasta, podman's bridge ({backend}, with its firewall rules in that namespace). "
    f"{podman_v} with runc and cgroupfs, given the caller's nofile limit as its default "
    f"(without it, it starts no container here). hyperfine medians of {runs} runs after "
    f"3 warm-ups; first answer: median of {runs} rounds after one warm-up. Load average "
    f"at the end: {load} (a shared machine's medians move; read the ratios).",
    "",
    *rows, ""])
print(text)
open(out, "w").write(text)
PY
