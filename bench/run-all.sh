#!/usr/bin/env bash
# Every benchmark, pdman against podman on this machine, by one command (as root):
#
#   bash bench/run-all.sh            # RUNS=N for more runs per measurement (default 10)
#   bash bench/run-all.sh --summary  # only rebuild results/summary.md from the results there
#
# As root it installs what is missing (podman and runc from Debian, hyperfine, the test
# bed's packages), makes the test user and the test images, installs pdman with pip
# into a venv (the "pip-installed command") and builds the single-file binary
# (packaging/build-binary.sh), then runs, each side by side with podman on throw-away
# stores and the test bed's registry on 127.0.0.1:
#   bench/startup.sh   --version, ps (empty store)
#   bench/pull.sh      cold pulls
#   bench/run.sh       run --rm busybox/debian, create + start
#   bench/detached.sh  50 × run -d, ps with 50 running, monitor memory, rm -fa
#   bench/network.sh   (when present) ports and throughput
#   bench/seccomp.sh   run --rm busybox true: default seccomp profile, unconfined, podman
#   bench/api.sh       the docker CLI against pdman's and podman's API services
#   bench/build.sh     build: cold (--no-cache), fully cached, one COPY source changed
#   bench/pods.sh      pod create -p + 2 × run -d --pod + pod rm -f
#   bench/kube.sh      kube play (ConfigMap + Deployment, hostPort) + kube down
#   bench/floors.sh    the floors (interpreter, clone+exec, overlay, pasta) and run's phases
#   bench/peers.sh     (as root) every hot row against podman 4.3 AND podman 5.4 (Debian
#                      13's, set up from $PDMAN_PODMAN5_DIR), interleaved, with #19's targets
#   bench/scale.sh     (when present) costs against the store's size
#   bench/concurrent.sh 20 runs and 20 pulls at once; peak RSS of pull and of ps -a
#   bench/root.sh      as root against rootful podman: run --rm busybox, first answer after run -d -p
#   and itself, as the test user: `images`, and the single file against the pip-installed
#   command and podman (--version, ps, run --rm busybox true).
# Each writes bench/results/NAME.md; all of them together make bench/results/summary.md,
# which the README quotes. A script that fails is named in the summary; the rest still run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
RUNS=${RUNS:-10}
SCRIPTS=(peers floors startup pull run detached network seccomp api build pods kube root scale concurrent)

# summary.md from the results of the scripts in `ran` (and `failed`), and the README's quote
write_summary() {
  {
    echo "pdman $("$PDMAN" --version | awk '{print $3}') against $(podman --version) (runc) and, in the"
    echo "peers table, podman 5.4 (Debian 13's: crun, pasta), on $(nproc) CPUs, Linux $(uname -r),"
    echo "$(date -u +%Y-%m-%d), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end (figures from a loaded"
    echo "machine are indicative only: read the ratios, measured side by side); medians of hyperfine"
    echo "runs (warm-up first, ≥ $RUNS runs each), throw-away stores, images from the test bed's"
    echo "registry on 127.0.0.1."
    echo "pdman is the pip-installed command unless the row says \"single file\". Produced by"
    echo "\`bash bench/run-all.sh\`${SUMMARY_NOTE:-.}"
    for name in "${ran[@]}"; do
      [ -f "$HERE/results/$name.md" ] || continue
      printf '\n### %s\n\n' "$name"
      # (a script's own top-level title would outrank the section's)
      sed '1{/^# /d}' "$HERE/results/$name.md" | sed '1{/^$/d}'
    done
    if [ "${#failed[@]}" -gt 0 ]; then
      printf '\nNot measured this time (the script failed; see its output): %s\n' "${failed[*]}"
    fi
  } > "$HERE/results/summary.md"
  cat "$HERE/results/summary.md"
  # the README quotes the latest summary, between its bench markers
  python3 - "$REPO/README.md" "$HERE/results/summary.md" <<'PY'
import re, sys
readme, summary = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
begin, end = "<!-- bench/results/summary.md: begin -->", "<!-- bench/results/summary.md: end -->"
if begin in text and end in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                  lambda _: f"{begin}\n{summary.strip()}\n{end}", text, flags=re.DOTALL)
    open(readme, "w").write(text)
PY
}

if [ "${1:-}" = --summary ]; then
  # only rebuild summary.md (and the README's quote) from the results already there,
  # e.g. after running some scripts alone
  PDMAN=${PDMAN:-$(command -v pdman || true)}
  SUMMARY_NOTE=" --summary, from the scripts' latest results (not all of one run: the tables
that name their load were measured at different times)."
  ran=() failed=()
  for name in "${SCRIPTS[@]}" images binary; do
    [ -f "$HERE/results/$name.md" ] && ran+=("$name")
  done
  write_summary
  exit 0
fi

if [ "${1:-}" != --user-stage ]; then
  [ "$(id -u)" = 0 ] || { echo "run-all.sh: run as root (it installs podman and prepares the test user)" >&2; exit 1; }
  step() { printf '\n== %s\n' "$*" >&2; }
  user=${PDMAN_TEST_USER:-pdmantest}
  work=${PDMAN_BENCH_WORK:-/var/tmp/pdman-bench}
  cache=${PDMAN_TESTBED_CACHE:-/var/cache/pdman-testbed/images}

  step "packages: podman and runc (Debian's), hyperfine, the test bed's"
  bash "$REPO/packaging/install-deps.sh"
  if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc >/dev/null
  fi
  uid=$(bash "$REPO/tests/bed/user.sh" "$user")
  (cd "$REPO" && PDMAN_TESTBED_CACHE="$cache" /usr/bin/python3 -m tests.bed.images build >/dev/null)

  step "pdman with pip into $work/venv, and the single file into $work/dist"
  mkdir -p "$work"
  rsync -a --delete --exclude .git --exclude .venv --exclude /build --exclude /dist --exclude '*.egg-info' \
    --exclude __pycache__ --exclude '*.so' --exclude /bench/results "$REPO/" "$work/src/"
  [ -x "$work/venv/bin/python" ] || /usr/bin/python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q --disable-pip-version-check "$work/src" 2>&1 \
    | { grep -v '^WARNING: Location' || true; }
  # as packaging/quickstart.sh: no setuptools (its .pth) in the runtime venv
  "$work/venv/bin/pip" uninstall -q -y --disable-pip-version-check setuptools >/dev/null 2>&1 || true
  PDMAN_BINARY_BUILD="$work/binary-build" bash "$REPO/packaging/build-binary.sh" --out "$work/dist"
  chmod -R a+rX "$work"
  mkdir -p "$HERE/results" && chmod a+rwx "$HERE/results"
  chmod a+rw "$HERE/results"/*.md 2>/dev/null || true   # the scripts write them as the test user
  export PDMAN="$work/venv/bin/pdman" RUNS PDMAN_TESTBED_CACHE="$cache"

  ran=() failed=()
  for name in "${SCRIPTS[@]}"; do
    [ -f "$HERE/$name.sh" ] || continue
    step "bench/$name.sh"
    if bash "$HERE/$name.sh"; then ran+=("$name"); else failed+=("$name"); fi
  done
  step "bench/run-all.sh: images, and the single file"
  if runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" \
      XDG_RUNTIME_DIR="/run/user/$uid" PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
      PDMAN="$PDMAN" PDMAN_SINGLE="$work/dist/pdman" RUNS="$RUNS" PDMAN_TESTBED_CACHE="$cache" \
      bash "$0" --user-stage; then
    ran+=(images binary)
  else
    failed+=(images/binary)
  fi

  step "bench/results/summary.md"
  write_summary
  exit 0
fi

# ---- as the test user: `images`, and the single file against pip and podman ----
source "$HERE/lib.sh"
bench_setup
SINGLE=${PDMAN_SINGLE:?the single-file binary}
FAST_RUNS=$(( RUNS > 30 ? RUNS : 30 ))

for img in busybox:latest debian:bookworm nginx:latest; do
  "$PDMAN" pull -q "$REG/$img" >/dev/null
  $PODMAN pull -q "$REG/$img" >/dev/null 2>&1
done
BB=$REG/busybox:latest
"$SINGLE" --version >/dev/null  # unpacks into ~/.cache/pdman once, if not done yet
# stores, caches and probes exist before the timing
"$PDMAN" run --rm --network none "$BB" true
$PODMAN run --rm --network none "$BB" true >/dev/null 2>&1

hyperfine -N -w 5 -r "$FAST_RUNS" --export-json "$tmp/images.json" \
  -n "pdman images" "$PDMAN images" -n "podman images" "$PODMAN images" >/dev/null
bench_table "$tmp/images.json" "$HERE/results/images.md" \
  "\`images\` (busybox, debian, nginx)|pdman images|podman images" >/dev/null

# `ps` on an empty container list: the three images stay, no container is left
hyperfine -N -w 5 -r "$FAST_RUNS" --export-json "$tmp/start.json" \
  -n "single --version" "$SINGLE --version" -n "pip --version" "$PDMAN --version" \
  -n "podman --version" "podman --version" \
  -n "single ps" "$SINGLE ps" -n "pip ps" "$PDMAN ps" -n "podman ps" "$PODMAN ps" >/dev/null
hyperfine -N -w 3 -r "$RUNS" --export-json "$tmp/run.json" \
  -n "single run" "$SINGLE run --rm --network none $BB true" \
  -n "pip run" "$PDMAN run --rm --network none $BB true" \
  -n "podman run" "$PODMAN run --rm --network none $BB true" >/dev/null

python3 - "$tmp/start.json" "$tmp/run.json" "$HERE/results/binary.md" <<'PY'
import json, sys
res = {}
for path in sys.argv[1:3]:
    res.update({r["command"]: r["median"] * 1000 for r in json.load(open(path))["results"]})
lines = ["The single file (`packaging/build-binary.sh`, warm: unpacked once into ~/.cache/pdman) "
         "against the pip-installed command and podman.", "",
         "| command | single file | pip install | podman | single/pip | single/podman |",
         "| --- | ---: | ---: | ---: | ---: | ---: |"]
for key, label in (("--version", "`--version`"), ("ps", "`ps`"),
                   ("run", "`run --rm --network none busybox true`")):
    s, p, q = res[f"single {key}"], res[f"pip {key}"], res[f"podman {key}"]
    lines.append(f"| {label} | {s:.1f} ms | {p:.1f} ms | {q:.1f} ms | {s / p:.2f}x | {s / q:.2f}x |")
text = "\n".join(lines) + "\n"
print(text)
open(sys.argv[3], "w").write(text)
PY
