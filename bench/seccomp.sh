#!/usr/bin/env bash
# The cost of the seccomp filter and the session keyring (issue #12): `run --rm busybox
# true` with the default profile, against the same command of a pdman from before the
# change (PDMAN_BEFORE; skipped when unset), with seccomp=unconfined, and against podman
# (runc, applying its own default profile), side by side in one hyperfine run; with the
# default network (pdman: pasta; podman 4.3: slirp4netns) and with --network none.
#   PDMAN_BEFORE=/path/to/old/venv/bin/pdman bash bench/seccomp.sh
# Writes bench/results/seccomp.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_as_user "$0" "$@"
bench_setup

"$PDMAN" pull -q "$REG/busybox:latest" >/dev/null
$PODMAN pull -q "$REG/busybox:latest" >/dev/null 2>&1
BB=$REG/busybox:latest
"$PDMAN" run --rm "$BB" true        # compiles the default filter once: runs read the cache

args=(-n "pdman run busybox" "$PDMAN run --rm $BB true"
      -n "pdman run busybox unconfined" "$PDMAN run --rm --security-opt seccomp=unconfined $BB true"
      -n "podman run busybox" "$PODMAN run --rm $BB true"
      -n "pdman run busybox nonet" "$PDMAN run --rm --network none $BB true"
      -n "podman run busybox nonet" "$PODMAN run --rm --network none $BB true")
if [ -n "${PDMAN_BEFORE:-}" ]; then
  # the same store: the catalog did not change, and the old pdman ignores seccomp/
  args+=(-n "before run busybox" "$PDMAN_BEFORE run --rm $BB true"
         -n "before run busybox nonet" "$PDMAN_BEFORE run --rm --network none $BB true")
fi
hyperfine -N -w 3 -r "$RUNS" --export-json "$tmp/out.json" "${args[@]}" >/dev/null

python3 - "$tmp/out.json" "$HERE/results/seccomp.md" <<'PY'
import json, sys
res = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
ms = lambda name: f"{res[name] * 1000:.1f} ms" if name in res else "-"
ratio = lambda a, b: f"{res[a] / res[b]:.2f}x" if a in res and b in res else "-"
lines = ["| run --rm busybox true | pdman (default profile) | pdman before | pdman unconfined "
         "| podman (runc) | after/before | pdman/podman |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
for label, suffix in (("default network", ""), ("--network none", " nonet")):
    after, before = "pdman run busybox" + suffix, "before run busybox" + suffix
    podman = "podman run busybox" + suffix
    unconfined = "pdman run busybox unconfined" if not suffix else ""
    lines.append(f"| {label} | {ms(after)} | {ms(before)} | {ms(unconfined)} | {ms(podman)} "
                 f"| {ratio(after, before)} | {ratio(after, podman)} |")
text = "\n".join(lines) + "\n"
print(text)
open(sys.argv[2], "w").write(text)
PY
