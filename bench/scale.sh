#!/usr/bin/env bash
# How pdman's costs grow with the store (issue #19): the same commands timed on an
# empty store (busybox only) and on a store with
#   IMAGES image names   (default 1000: tags of the test bed's busybox, debian, nginx,
#                         layers and many images, which share base layers),
#   CONTAINERS containers (default 200, busybox, --network none), RUNNING of them
#                         running (default 100, `sleep 3600` under their monitors),
# each figure against the empty store's: commands that list must grow at most linearly
# with what they list, commands that touch one object (`run`, `inspect`, `rm`) not at all.
# Also: the catalog's size on disk, and peak RSS of `ps -a` (GNU time).
#   bash bench/scale.sh          (as root it prepares the host and re-runs as the test user)
#   IMAGES=200 CONTAINERS=40 RUNNING=20 bash bench/scale.sh     (a quicker, smaller store)
# podman is not measured here (its figures for the same store are left for a quiet
# machine: filling its store takes as long again). Writes bench/results/scale.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_as_user "$0" "$@"
bench_setup
IMAGES=${IMAGES:-1000}
CONTAINERS=${CONTAINERS:-200}
RUNNING=${RUNNING:-100}
BB=$REG/busybox:latest

"$PDMAN" pull -q "$BB" >/dev/null
"$PDMAN" run --rm --network none "$BB" true
"$PDMAN" run --rm "$BB" true
"$PDMAN" create --name scale-one --network none "$BB" true >/dev/null

measure() {   # measure TAG: the rows, on the store as it is now
  local tag=$1
  "$PDMAN" tag "$BB" localhost/scale-victim:1 >/dev/null
  hyperfine -N -w 2 -r "$RUNS" --export-json "$tmp/$tag.json" \
    -n images "$PDMAN images" -n "ps -a" "$PDMAN ps -a" -n ps "$PDMAN ps" \
    -n inspect "$PDMAN inspect scale-one" \
    -n "run --rm" "$PDMAN run --rm --network none $BB true" \
    -n "run --rm (pasta)" "$PDMAN run --rm $BB true" \
    -n "system df" "$PDMAN system df" >/dev/null
  # one-shot rows: `rmi` of one name, `image prune` with nothing to prune
  hyperfine -N -r "$RUNS" --export-json "$tmp/$tag-rmi.json" \
    --prepare "$PDMAN tag $BB localhost/scale-victim:1" \
    -n "rmi (one name)" "$PDMAN rmi localhost/scale-victim:1" \
    -n "image prune" "$PDMAN image prune -f" >/dev/null
  /usr/bin/time -f "%M" -o "$tmp/$tag-rss" "$PDMAN" ps -a >/dev/null
  du -sk "$PDMAN_ROOT"/*.db* 2>/dev/null | awk '{s += $1} END {print s}' > "$tmp/$tag-db"
}

measure empty

# fill: IMAGES names over the test bed's images, a few hundred per `tag` command
bases=()
for img in busybox:latest debian:bookworm nginx:latest layers:latest many:latest; do
  "$PDMAN" pull -q "$REG/$img" >/dev/null && bases+=("$REG/$img")
done
per=$(( (IMAGES + ${#bases[@]} - 1) / ${#bases[@]} ))
n=0
for b in "${bases[@]}"; do
  names=()
  for i in $(seq "$per"); do
    [ "$n" -ge "$IMAGES" ] && break
    names+=("localhost/scale/$(basename "${b%%:*}")-$i:v$i"); n=$((n + 1))
  done
  [ "${#names[@]}" -gt 0 ] && "$PDMAN" tag "$b" "${names[@]}"
done
for i in $(seq "$CONTAINERS"); do
  if [ "$i" -le "$RUNNING" ]; then
    "$PDMAN" run -d --network none --name "scale-$i" "$BB" sleep 3600 >/dev/null
  else
    "$PDMAN" create --network none --name "scale-$i" "$BB" true >/dev/null
  fi
done

measure full

python3 - "$tmp" "$HERE/results/scale.md" "$IMAGES" "$CONTAINERS" "$RUNNING" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys
tmp, out, images, containers, running, load = sys.argv[1:]
def medians(tag):
    res = {}
    for suffix in ("", "-rmi"):
        for r in json.load(open(f"{tmp}/{tag}{suffix}.json"))["results"]:
            res[r["command"]] = r["median"] * 1000
    return res
e, f = medians("empty"), medians("full")
grows = {"images": "lists every name", "ps -a": "lists every container",
         "ps": "lists the running ones", "inspect": "one object: flat",
         "run --rm": "one object: flat", "run --rm (pasta)": "one object: flat",
         "system df": "sums the store",
         "rmi (one name)": "one object: flat", "image prune": "walks the images"}
lines = [f"pdman alone, empty store (busybox) against {images} image names (tags of 5 test-bed "
         f"images sharing base layers), {containers} containers of which {running} running; "
         f"load average {load} at the end (figures from a loaded machine are indicative only). "
         "Medians in ms.", "",
         "| command | empty store | full store | full/empty | expected growth |",
         "| --- | ---: | ---: | ---: | --- |"]
for k in grows:
    lines.append(f"| `{k}` | {e[k]:.1f} | {f[k]:.1f} | {f[k] / e[k]:.2f}x | {grows[k]} |")
rss = [open(f"{tmp}/{t}-rss").read().strip() for t in ("empty", "full")]
db = [open(f"{tmp}/{t}-db").read().strip() or "0" for t in ("empty", "full")]
lines.append(f"| peak RSS of `ps -a` | {rss[0]} kB | {rss[1]} kB | "
             f"{int(rss[1]) / int(rss[0]):.2f}x | |")
lines.append(f"| catalog on disk | {db[0]} kB | {db[1]} kB | | |")
text = "\n".join(lines) + "\n"
print(text)
open(out, "w").write(text)
PY
