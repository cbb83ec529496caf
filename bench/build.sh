#!/usr/bin/env bash
# `build`, pdman against podman (buildah), the same Containerfile and context, the same
# busybox base from the test bed's registry (pulled beforehand):
#   a cold build (--no-cache), a fully cached rebuild, and a rebuild after changing one
#   source file (hyperfine's --prepare rewrites it before each run: the COPY of the
#   context directory and the RUN after it are rebuilt, the steps before are cached).
# Both engines' RUN steps get each one's default network for `build`.
# `bash bench/build.sh` (as root it prepares the host and re-runs as the test user).
# Writes bench/results/build.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_as_user "$0" "$@"
bench_setup

"$PDMAN" pull -q "$REG/busybox:latest" >/dev/null
$PODMAN pull -q "$REG/busybox:latest" >/dev/null 2>&1

# the context: a Containerfile, a small source directory (20 files), one file that changes
ctx=$tmp/context
mkdir -p "$ctx/src/lib"
for i in $(seq 10); do
  printf 'line %s of a small source file\n' $(seq 50) > "$ctx/src/file$i.txt"
  printf 'echo helper %s\n' "$i" > "$ctx/src/lib/helper$i.sh"
done
echo 0 > "$ctx/src/changing.txt"
cat > "$ctx/Containerfile" <<EOF
FROM $REG/busybox:latest
ENV APP=/app GREETING=hello
LABEL org.example.bench=build org.example.kind=app
WORKDIR /app
COPY src/ /app/
RUN cat /app/*.txt | wc -c > /app/size && echo built > /app/stamp
EXPOSE 8080
CMD ["sh", "-c", "cat /app/size"]
EOF
B_PDMAN="$PDMAN build -q -t bench/app:pdman $ctx"
B_PODMAN="$PODMAN build -q --layers -t bench/app:podman $ctx"
# caches filled, both images present and runnable
$B_PDMAN >/dev/null
$B_PODMAN >/dev/null 2>&1
"$PDMAN" run --rm --network none bench/app:pdman >/dev/null
change() { echo "echo \$(( \$(cat $ctx/src/changing.txt) + 1 )) > $ctx/src/changing.txt"; }

hyperfine -N -w 1 -r "$RUNS" --export-json "$tmp/cold.json" \
  -n "pdman cold" "$PDMAN build -q --no-cache -t bench/app:pdman $ctx" \
  -n "podman cold" "$PODMAN build -q --no-cache -t bench/app:podman $ctx" >/dev/null
hyperfine -N -w 3 -r "$RUNS" --export-json "$tmp/cached.json" \
  -n "pdman cached" "$B_PDMAN" -n "podman cached" "$B_PODMAN" >/dev/null
hyperfine -N -w 1 -r "$RUNS" --export-json "$tmp/changed.json" \
  --prepare "bash -c '$(change)'" \
  -n "pdman changed" "$B_PDMAN" -n "podman changed" "$B_PODMAN" >/dev/null

python3 - "$tmp/cold.json" "$tmp/cached.json" "$tmp/changed.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for extra in sys.argv[2:]:
    doc["results"] += json.load(open(extra))["results"]
json.dump(doc, open(sys.argv[1], "w"))
PY
bench_table "$tmp/cold.json" "$HERE/results/build.md" \
  "build --no-cache (cold: every step runs)|pdman cold|podman cold" \
  "build, fully cached rebuild|pdman cached|podman cached" \
  "build after changing one COPY source (COPY + RUN rebuilt)|pdman changed|podman changed"
