#!/usr/bin/env bash
# Kubernetes YAML, pdman against podman, side by side with hyperfine: one cycle is
#   kube play app.yaml (a ConfigMap for env and a volume, a Deployment of one replica:
#   busybox httpd with a hostPort) + kube down app.yaml
# (no PersistentVolumeClaim: podman 4.3's play fails when the claim's volume exists,
# and kube down keeps volumes). The pause images and the configmap volume are made by a
# warm-up cycle before the timed runs. `bash bench/kube.sh` (as root it prepares the host
# and re-runs as the test user). Writes bench/results/kube.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" = 0 ] && ! command -v catatonit >/dev/null; then
  # podman's pause image is built from catatonit (rootless podman builds it locally)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq catatonit >/dev/null
fi
bench_as_user "$0" "$@"
bench_setup

"$PDMAN" pull -q "$REG/busybox:latest" >/dev/null
$PODMAN pull -q "$REG/busybox:latest" >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$tmp/app.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: benchcfg
data:
  GREETING: hello
  index.html: "<h1>bench</h1>"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bench
  labels: {app: bench}
spec:
  replicas: 1
  selector:
    matchLabels: {app: bench}
  template:
    metadata:
      labels: {app: bench}
    spec:
      containers:
      - name: web
        image: $REG/busybox:latest
        imagePullPolicy: IfNotPresent
        command: [httpd, -f, -p, "8080", -h, /www]
        env:
        - name: GREETING
          valueFrom:
            configMapKeyRef: {name: benchcfg, key: GREETING}
        ports:
        - {containerPort: 8080, hostPort: $port}
        volumeMounts:
        - {name: site, mountPath: /www}
      volumes:
      - name: site
        configMap: {name: benchcfg}
YAML

cycle() {   # ENGINE: kube play + kube down of the same file
  echo "$1 kube play $tmp/app.yaml >/dev/null && $1 kube down $tmp/app.yaml >/dev/null"
}

hyperfine ${BENCH_DEBUG:+--show-output} -w 2 -r "$RUNS" --export-json "$tmp/out.json" \
  -n "pdman kube cycle" "$(cycle "$PDMAN")" \
  -n "podman kube cycle" "$(cycle "$PODMAN")" >/dev/null

bench_table "$tmp/out.json" "$tmp/cycle.md" \
  "kube play (ConfigMap + Deployment, hostPort) + kube down|pdman kube cycle|podman kube cycle"

# the two halves alone, each run prepared by the other half; both engines' pods are
# taken down first (they would hold the same hostPort)
clean="$PDMAN kube down $tmp/app.yaml >/dev/null 2>&1 || true; $PODMAN kube down $tmp/app.yaml >/dev/null 2>&1 || true"
hyperfine ${BENCH_DEBUG:+--show-output} -w 1 -r "$RUNS" --export-json "$tmp/split.json" \
  -n "pdman kube play" --prepare "$clean" "$PDMAN kube play $tmp/app.yaml >/dev/null" \
  -n "podman kube play" --prepare "$clean" "$PODMAN kube play $tmp/app.yaml >/dev/null" >/dev/null
hyperfine ${BENCH_DEBUG:+--show-output} -w 1 -r "$RUNS" --export-json "$tmp/split2.json" \
  -n "pdman kube down" --prepare "$clean; $PDMAN kube play $tmp/app.yaml >/dev/null" \
  "$PDMAN kube down $tmp/app.yaml >/dev/null" \
  -n "podman kube down" --prepare "$clean; $PODMAN kube play $tmp/app.yaml >/dev/null" \
  "$PODMAN kube down $tmp/app.yaml >/dev/null" >/dev/null
eval "$clean"
bench_table "$tmp/split.json" "$tmp/play.md" "kube play alone|pdman kube play|podman kube play"
bench_table "$tmp/split2.json" "$tmp/down.md" "kube down alone|pdman kube down|podman kube down"
{ cat "$tmp/cycle.md"; tail -n 1 "$tmp/play.md"; tail -n 1 "$tmp/down.md"; } > "$HERE/results/kube.md"
cat "$HERE/results/kube.md"
