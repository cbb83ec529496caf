"""Kubernetes YAML, as the unprivileged user (issue #17): `kube play` of hand-written
YAML (a Deployment with a ConfigMap and a PersistentVolumeClaim) runs and its
container sees the config; `kube generate` of real containers and pods passes the
Kubernetes OpenAPI schemas (kubernetes-validate) and plays back as the same
application; `kube down` leaves no pods, containers or processes (volumes stay, as in
podman); bad YAML and unsupported objects fail with exit 125 and make nothing.

Traffic goes only to 127.0.0.1 and inside the pods' own network namespaces.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.bed.runner import http_get
from tests.integration.test_pods import free_port, mounts_of, pd, store_processes, wait_gone


@pytest.fixture
def env(registry_env: dict[str, str], busybox: str) -> dict[str, str]:
    return registry_env


def app_yaml(image: str, port: int) -> str:
    return f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: webcfg
data:
  GREETING: hello-from-configmap
  index.html: |
    <h1>served from a ConfigMap volume</h1>
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: webdata
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {{app: web}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: httpd
        image: {image}
        command: [sh, -c]
        args:
        - echo "$GREETING $LEVEL" >> /data/seen; pwd > /data/pwd; exec httpd -f -p 8080 -h /www
        workingDir: /tmp
        env:
        - name: GREETING
          valueFrom:
            configMapKeyRef: {{name: webcfg, key: GREETING}}
        - name: LEVEL
          value: "3"
        ports:
        - containerPort: 8080
          hostPort: {port}
          hostIP: 127.0.0.1
        volumeMounts:
        - {{name: data, mountPath: /data}}
        - {{name: site, mountPath: /www}}
      volumes:
      - name: data
        persistentVolumeClaim: {{claimName: webdata}}
      - name: site
        configMap: {{name: webcfg, items: [{{key: index.html, path: index.html}}]}}
"""


def play_output(text: str) -> "list[tuple[str, list[str]]]":
    """podman's "Volumes:\\nNAME\\nPod:\\nID\\nContainer:\\nID\\n\\n" as sections."""
    sections: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.endswith(":"):
            sections.append((line[:-1], []))
        elif line:
            sections[-1][1].append(line)
    return sections


def volume_file(env: dict[str, str], volume: str, name: str) -> str:
    mountpoint = json.loads(pd(env, "volume", "inspect", volume).stdout)[0]["Mountpoint"]
    return (Path(mountpoint) / name).read_text()


def test_play_a_deployment_with_a_configmap_and_a_claim_then_down(
        env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    port = free_port()
    yaml_file = tmp_path / "web.yaml"
    yaml_file.write_text(app_yaml(busybox, port))
    out = pd(env, "kube", "play", yaml_file).stdout
    sections = play_output(out)
    assert [s[0] for s in sections] == ["Volumes", "Pod", "Container"]
    assert sections[0][1] == ["webdata"]
    pod_id, (ctr_id,) = sections[1][1][0], sections[2][1]
    assert pd(env, "pod", "inspect", "web-pod-0", "--format", "{{.Id}}").stdout.strip() == pod_id
    assert pd(env, "inspect", "web-pod-0-httpd", "--format", "{{.Id}}").stdout.strip() == ctr_id
    # the ConfigMap reached the container: as a file served over the published port ...
    status, body = http_get(f"http://127.0.0.1:{port}/index.html")
    assert (status, body.strip()) == (200, b"<h1>served from a ConfigMap volume</h1>")
    # ... and as its environment; workingDir and the claim's volume too
    printenv = pd(env, "exec", "web-pod-0-httpd", "sh", "-c", "echo $GREETING").stdout.strip()
    assert printenv == "hello-from-configmap"
    assert volume_file(env, "webdata", "seen") == "hello-from-configmap 3\n"
    assert volume_file(env, "webdata", "pwd") == "/tmp\n"
    # the pod's labels and hostname, the container's restart policy, as podman sets them
    assert pd(env, "pod", "inspect", "web-pod-0", "--format",
              "{{.Labels}}").stdout.strip() == "map[app:web]"
    assert pd(env, "exec", "web-pod-0-httpd", "hostname").stdout.strip() == "web-pod-0"
    assert pd(env, "inspect", "web-pod-0-httpd", "--format",
              "{{.HostConfig.RestartPolicy.Name}}").stdout.strip() == "always"
    # `pod stop` is the user's stop: the `always` policy does not bring the container back
    pd(env, "pod", "stop", "-t", "1", "web-pod-0")
    states = pd(env, "ps", "-a", "--filter", "pod=web-pod-0", "--format", "{{.State}}").stdout
    assert states.split() == ["exited", "exited"]
    pd(env, "pod", "start", "web-pod-0")
    assert http_get(f"http://127.0.0.1:{port}/index.html")[0] == 200
    # a second play of the same file: the pod's name is taken
    again = pd(env, "kube", "play", yaml_file, check=False)
    assert again.returncode == 125 and '"web-pod-0" is in use' in again.stderr
    # kube down: the pod and its containers go, every process with them; volumes stay
    down = pd(env, "kube", "down", yaml_file).stdout
    assert play_output(down) == [("Pods stopped", [pod_id]), ("Pods removed", [pod_id])]
    assert pd(env, "pod", "ps", "-q").stdout == ""
    assert pd(env, "ps", "-aq").stdout == ""
    assert wait_gone(lambda: store_processes(env)) == []
    assert wait_gone(lambda: mounts_of(env)) == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert sorted(pd(env, "volume", "ls", "-q").stdout.split()) == ["webcfg", "webdata"]
    # played again (`play kube`, podman's older name), the claim's data is still there
    pd(env, "play", "kube", yaml_file)
    assert http_get(f"http://127.0.0.1:{port}/index.html")[0] == 200
    assert wait_gone(lambda: volume_file(env, "webdata", "seen") !=
                     "hello-from-configmap 3\n" * 3) is False
    # --replace makes it afresh; --down is kube down
    replaced = play_output(pd(env, "kube", "play", "--replace", yaml_file).stdout)
    new_pod = replaced[1][1][0]
    assert new_pod != pod_id
    assert play_output(pd(env, "kube", "play", "--down", yaml_file).stdout)[1] == \
        ("Pods removed", [new_pod])
    assert pd(env, "ps", "-aq").stdout == ""
    assert wait_gone(lambda: store_processes(env)) == []


def validate(text: str) -> "list[dict[str, Any]]":
    """Every document of the YAML, checked strictly against the schemas of a current
    Kubernetes release (an unknown field is an error, as `kubectl apply` says)."""
    import yaml

    docs = [d for d in yaml.safe_load_all(text) if d]
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    return docs


def test_generate_validates_and_plays_back(env: dict[str, str], busybox: str,
                                           tmp_path: Path) -> None:
    port, lone_port = free_port(), free_port()
    host_dir = tmp_path / "site"
    host_dir.mkdir()
    (host_dir / "index.html").write_text("from-a-bind\n")
    # shape 1: a lone container with a named volume, a bind, env, workdir, user, caps
    pd(env, "run", "-d", "--name", "solo", "-p", f"127.0.0.1:{lone_port}:8080",
       "-v", "solodata:/data", "-v", f"{host_dir}:/www:ro", "-e", "MODE=prod", "-w", "/data",
       "--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN", "--read-only",
       "--security-opt", "no-new-privileges", "--health-cmd", "true", busybox,
       "sh", "-c", "echo $MODE > /data/mode; exec httpd -f -p 8080 -h /www")
    # shape 2: a pod of two containers, the pod's published port, a label, --user
    pd(env, "pod", "create", "--name", "shop", "-p", f"127.0.0.1:{port}:8080",
       "--label", "tier=front")
    pd(env, "run", "-d", "--pod", "shop", "--name", "shop-web", "--user", "1000:1000",
       busybox, "sh", "-c",
       "mkdir -p /tmp/w && echo shop-ok > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w")
    pd(env, "run", "-d", "--pod", "shop", "--name", "shop-side", "-e", "PEER=localhost",
       busybox, "sleep", "1000")

    solo = validate(pd(env, "kube", "generate", "solo").stdout)
    (pod,) = solo
    assert pod["kind"] == "Pod" and pod["metadata"]["name"] == "solo-pod"
    (c,) = pod["spec"]["containers"]
    assert c["image"].rsplit("/", 1)[-1].startswith("busybox")
    assert c["command"][:2] == ["sh", "-c"] and c["env"] == [{"name": "MODE", "value": "prod"}]
    assert c["ports"] == [{"containerPort": 8080, "hostPort": lone_port, "hostIP": "127.0.0.1"}]
    assert c["workingDir"] == "/data"
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"] == {"add": ["CAP_NET_ADMIN"],
                                                    "drop": ["CAP_CHOWN"]}
    assert c["livenessProbe"]["exec"]["command"] == ["/bin/sh", "-c", "true"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["solodata-pvc"]["persistentVolumeClaim"] == {"claimName": "solodata"}
    assert [v["hostPath"] for v in volumes.values() if "hostPath" in v] == [
        {"path": str(host_dir), "type": "Directory"}]
    # `generate kube`, -s and a Deployment of the pod: all pass the schemas
    shop = validate(pd(env, "generate", "kube", "-s", "shop").stdout)
    assert [d["kind"] for d in shop] == ["Service", "Pod"]
    shop_pod = shop[1]
    assert shop_pod["metadata"]["labels"] == {"app": "shop", "tier": "front"}
    assert [x["name"] for x in shop_pod["spec"]["containers"]] == ["web", "side"]
    assert shop_pod["spec"]["containers"][0]["securityContext"]["runAsUser"] == 1000
    deployment = validate(pd(env, "kube", "generate", "--type", "deployment", "--replicas",
                             "2", "shop", "solo").stdout)
    assert [d["kind"] for d in deployment] == ["Deployment", "Deployment"]
    out_file = tmp_path / "shop.yaml"
    pd(env, "kube", "generate", "-f", out_file, "shop")
    solo_file = tmp_path / "solo.yaml"
    solo_file.write_text(pd(env, "kube", "generate", "solo").stdout)

    # the originals go; their YAML plays back as the same application
    pd(env, "pod", "rm", "-f", "shop")
    pd(env, "rm", "-f", "solo")
    played = play_output(pd(env, "kube", "play", out_file).stdout)
    assert [s[0] for s in played] == ["Pod", "Containers"] and len(played[1][1]) == 2
    assert http_get(f"http://127.0.0.1:{port}/")[1].strip() == b"shop-ok"
    assert pd(env, "exec", "shop-side", "sh", "-c", "echo $PEER").stdout.strip() == "localhost"
    assert pd(env, "exec", "shop-web", "id", "-u").stdout.strip() == "1000"
    names = sorted(pd(env, "ps", "--filter", "pod=shop", "--format", "{{.Names}}").stdout.split())
    assert [n for n in names if not n.endswith("-infra")] == ["shop-side", "shop-web"]
    pd(env, "kube", "play", solo_file)
    assert http_get(f"http://127.0.0.1:{lone_port}/")[1] == b"from-a-bind\n"
    assert volume_file(env, "solodata", "mode") == "prod\n"
    pd(env, "kube", "down", out_file)
    pd(env, "kube", "down", solo_file)
    assert pd(env, "ps", "-aq").stdout == "" and pd(env, "pod", "ps", "-q").stdout == ""
    assert wait_gone(lambda: store_processes(env)) == []


def test_bad_yaml_and_unsupported_objects_fail_and_make_nothing(
        env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Pod\nmetadata: {name: x\nspec: [\n")
    r = pd(env, "kube", "play", bad, check=False)
    assert r.returncode == 125 and "not valid YAML: line 3" in r.stderr
    assert "Traceback" not in r.stderr
    job = tmp_path / "job.yaml"
    job.write_text(app_yaml(busybox, free_port()) +
                   "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: nightly}\n")
    r = pd(env, "kube", "play", job, check=False)
    assert r.returncode == 125 and "Job/nightly: kind Job is not supported" in r.stderr
    # a later object fails while being made: what came before it is removed again
    half = tmp_path / "half.yaml"
    half.write_text(f"""\
kind: PersistentVolumeClaim
metadata: {{name: halfvol}}
---
kind: Pod
metadata: {{name: first}}
spec:
  containers: [{{name: c, image: {busybox}, command: [sleep, "100"]}}]
---
kind: Pod
metadata: {{name: second}}
spec:
  containers: [{{name: c, image: localhost/no-such-image:1, imagePullPolicy: Never}}]
""")
    r = pd(env, "kube", "play", half, check=False)
    assert r.returncode == 125
    assert "Pod/second: container second-c:" in r.stderr and "no-such-image" in r.stderr
    assert pd(env, "pod", "ps", "-q").stdout == ""
    assert pd(env, "ps", "-aq").stdout == ""
    assert pd(env, "volume", "ls", "-q").stdout == ""
    assert wait_gone(lambda: store_processes(env)) == []
    # kube down of a file whose pods do not exist: nothing to do
    assert pd(env, "kube", "down", half).stdout == ""
