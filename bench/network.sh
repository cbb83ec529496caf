#!/usr/bin/env bash
# Rootless networking, pdman against podman, side by side, same nginx image from the
# same local registry, pulled beforehand:
#   - time from `run -d -p PORT:80 nginx` to the first HTTP 200 on 127.0.0.1:PORT
#     (the command started, then a GET every 2 ms until one answers), RUNS times each;
#   - throughput of a 100 MiB download through the published port (curl on
#     127.0.0.1, the file bind-mounted into nginx's document root), RUNS downloads.
# Same backend on both sides: podman 4.3 here has no pasta, so slirp4netns against
# slirp4netns, with each engine's default port handler -- pdman's pdman-portfwd and
# podman's rootlessport (rootlesskit's), both splice(2) proxies into the container's
# own tap address (never its loopback: CVE-2021-20199) -- and with
# port_handler=slirp4netns on both (slirp4netns forwards in its own TCP stack);
# pdman's default, pasta, reported on its own line.
# `bash bench/network.sh` (as root it prepares the host and re-runs as the test user).
# Writes bench/results/network.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_as_user "$0" "$@"
bench_setup
SIZE_MB=${SIZE_MB:-100}

NGINX=$REG/nginx:latest
"$PDMAN" pull -q "$NGINX" >/dev/null
$PODMAN pull -q "$NGINX" >/dev/null 2>&1
mkdir -p "$tmp/www"
dd if=/dev/urandom of="$tmp/www/big.bin" bs=1M count="$SIZE_MB" status=none
echo ok > "$tmp/www/index.html"
chmod -R a+rX "$tmp/www"

# engine label|command|network option
VARIANTS=(
  "pdman slirp4netns (pdman-portfwd)|$PDMAN|slirp4netns"
  "podman slirp4netns (rootlessport)|$PODMAN|slirp4netns"
  "pdman slirp4netns:port_handler=slirp4netns|$PDMAN|slirp4netns:port_handler=slirp4netns"
  "podman slirp4netns:port_handler=slirp4netns|$PODMAN|slirp4netns:port_handler=slirp4netns"
  "pdman pasta|$PDMAN|pasta"
)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# first_answer ENGINE... -- NETWORK: seconds from the run command to the first 200
first_answer() {
  python3 - "$@" <<'PY'
import http.client, socket, subprocess, sys, time
sep = sys.argv.index("--")
engine, network, image, port = sys.argv[1:sep], *sys.argv[sep + 1:]
t0 = time.monotonic()
proc = subprocess.Popen([*engine, "run", "-d", "--name", "bench-web", "--network", network,
                         "-p", f"{port}:80", image], stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE)
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=1)
        c.request("GET", "/")
        if c.getresponse().status == 200:
            break
    except OSError:
        pass
    if proc.poll() not in (None, 0):
        sys.exit(f"run failed: {proc.stderr.read().decode()}")
    if time.monotonic() - t0 > 60:
        sys.exit("no answer in 60 s")
    time.sleep(0.002)
print(f"{time.monotonic() - t0:.4f}")
proc.wait()
PY
}

: > "$tmp/results.txt"
# rounds outside, variants inside: a shared machine's load drifts, and every variant
# should meet the same drift (round 0 is a warm-up)
for i in $(seq 0 "$RUNS"); do
  for v in "${VARIANTS[@]}"; do
    IFS='|' read -r label cmd net <<< "$v"
    port=$(free_port)
    # shellcheck disable=SC2086 # $cmd is a command with options
    t=$(first_answer $cmd -- "$net" "$NGINX" "$port")
    $cmd rm -f bench-web >/dev/null 2>&1
    [ "$i" = 0 ] || echo "start|$label|$t" >> "$tmp/results.txt"
  done
done

# throughput: one server per variant, all up at once, downloads in rounds
declare -A PORT
n=0
for v in "${VARIANTS[@]}"; do
  IFS='|' read -r label cmd net <<< "$v"
  n=$((n + 1))
  PORT[$label]=$(free_port)
  $cmd run -d --name "bench-dl$n" --network "$net" -p "${PORT[$label]}:80" \
    -v "$tmp/www:/var/www/html:ro" "$NGINX" >/dev/null    # its errors in the log
  for _ in $(seq 500); do
    curl -sf -o /dev/null "http://127.0.0.1:${PORT[$label]}/index.html" && break; sleep 0.02
  done
  curl -sf -o /dev/null "http://127.0.0.1:${PORT[$label]}/big.bin"     # warm-up: page cache
done
for _ in $(seq "$RUNS"); do
  for v in "${VARIANTS[@]}"; do
    IFS='|' read -r label cmd net <<< "$v"
    bps=$(curl -sf -o /dev/null -w '%{speed_download}' "http://127.0.0.1:${PORT[$label]}/big.bin")
    echo "speed|$label|$bps" >> "$tmp/results.txt"
  done
done
"$PDMAN" rm -fa >/dev/null 2>&1
$PODMAN rm -fa >/dev/null 2>&1

python3 - "$tmp/results.txt" "$HERE/results/network.md" "$SIZE_MB" "$RUNS" \
  "$(dpkg-query -W -f '${Version}' passt 2>/dev/null || pasta --version 2>/dev/null | head -1 || true)" \
  "$(slirp4netns --version | head -1)" \
  "$(podman --version)" <<'PY'
import statistics, sys
from collections import defaultdict
path, out, size, runs, pasta_v, slirp_v, podman_v = sys.argv[1:]
data = defaultdict(list)
for line in open(path):
    kind, label, value = line.strip().split("|")
    data[kind, label].append(float(value))
med = {k: statistics.median(v) for k, v in data.items()}
labels = list(dict.fromkeys(label for _, label in data))
rows = ["| backend | first answer after `run -d -p` (median) | download throughput (median) |",
        "| --- | ---: | ---: |"]
for label in labels:
    rows.append(f"| {label} | {med['start', label] * 1000:.0f} ms | "
                f"{med['speed', label] / 2**20:.0f} MiB/s |")
def ratio(kind, a, b):
    return med[kind, a] / med[kind, b]
mine, theirs = "pdman slirp4netns (pdman-portfwd)", "podman slirp4netns (rootlessport)"
mine_slirp, theirs_slirp = ("pdman slirp4netns:port_handler=slirp4netns",
                            "podman slirp4netns:port_handler=slirp4netns")
text = "\n".join([
    "# Rootless networking: pdman vs podman",
    "",
    f"nginx (Debian's nginx-light) published with `-p PORT:80`, client curl/http.client on "
    f"127.0.0.1; {runs} runs each after one warm-up; download: a {size} MiB file of random "
    f"bytes, bind-mounted. podman {podman_v.split()[-1]} (runc, cgroupfs); "
    f"{slirp_v}; pasta (passt) {pasta_v or 'unknown version'}.",
    "",
    *rows,
    "",
    "Ratios, pdman/podman:",
    "",
    "| pdman vs podman | first answer (lower is better) | throughput (higher is better) |",
    "| --- | ---: | ---: |",
    f"| {mine} vs {theirs} | {ratio('start', mine, theirs):.2f}x | "
    f"{ratio('speed', mine, theirs):.2f}x |",
    f"| both slirp4netns:port_handler=slirp4netns | {ratio('start', mine_slirp, theirs_slirp):.2f}x | "
    f"{ratio('speed', mine_slirp, theirs_slirp):.2f}x |",
    f"| pdman pasta vs {theirs} | {ratio('start', 'pdman pasta', theirs):.2f}x | "
    f"{ratio('speed', 'pdman pasta', theirs):.2f}x |",
    "",
])
print(text)
open(out, "w").write(text)
PY
