"""Kubernetes YAML <-> pdman options (pdman/kube/), without containers: what `kube
play` plans from hand-written YAML, its errors naming the object, and `kube generate`'s
documents for container shapes the host cannot create (limits need cgroup v2),
validated against the Kubernetes OpenAPI schemas with kubernetes-validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from pdman.errors import KubeFileError
from pdman.kube import documents, generate, play

APP = """
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data:
  GREETING: hello
  LEVEL: 3
  app.conf: |
    x=1
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: store, labels: {tier: db}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      restartPolicy: OnFailure
      securityContext: {runAsUser: 1000}
      containers:
      - name: main
        image: busybox
        command: [sh, -c]
        args: [echo $GREETING]
        workingDir: /srv
        ports:
        - {containerPort: 80, hostPort: 8080}
        - {containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: 127.0.0.1}
        - {containerPort: 9000}
        envFrom:
        - configMapRef: {name: cfg}
          prefix: CFG_
        env:
        - {name: GREETING, valueFrom: {configMapKeyRef: {name: cfg, key: GREETING}}}
        - {name: PLAIN, value: "yes"}
        - {name: MISSING, valueFrom: {configMapKeyRef: {name: nope, key: x, optional: true}}}
        volumeMounts:
        - {name: data, mountPath: /data}
        - {name: conf, mountPath: /etc/app}
        - {name: scratch, mountPath: /scratch}
        - {name: ram, mountPath: /ram}
        securityContext:
          capabilities: {add: [NET_ADMIN], drop: [CHOWN]}
          readOnlyRootFilesystem: true
          allowPrivilegeEscalation: false
        resources: {limits: {memory: 64Mi, cpu: 500m}}
      volumes:
      - {name: data, persistentVolumeClaim: {claimName: store}}
      - name: conf
        configMap:
          name: cfg
          items: [{key: app.conf, path: conf/app.conf}]
      - {name: scratch, emptyDir: {}}
      - {name: ram, emptyDir: {medium: Memory}}
"""


def plan_of(text: str, **options: Any) -> play.Plan:
    return play.build("app.yaml", documents.load(text, "app.yaml"), play.PlayOptions(**options))


def test_a_deployment_with_a_configmap_and_a_claim_plans_podmans_names_and_options() -> None:
    plan = plan_of(APP)
    assert [(v.name, v.claim, v.labels, v.files) for v in plan.volumes] == [
        ("store", True, {"tier": "db"}, {}),
        ("cfg", False, {}, {"conf/app.conf": "x=1\n"})]
    # podman 4.3 runs every replica: NAME-pod-N, containers POD-CONTAINER
    assert [p.name for p in plan.pods] == ["app-pod-0", "app-pod-1"]
    pod = plan.pods[0]
    assert pod.labels == {"app": "app"}
    assert pod.publish == ["8080:80/tcp", "127.0.0.1:5353:53/udp"]   # hostPort only
    (c,) = pod.containers
    assert c.name == "app-pod-0-main" and c.pod == "app-pod-0" and c.image == "busybox"
    assert json.loads(c.entrypoint or "") == ["sh", "-c"] and c.command == ["echo $GREETING"]
    assert c.workdir == "/srv" and c.restart == "on-failure" and c.user == "1000"
    assert c.env == ["CFG_GREETING=hello", "CFG_LEVEL=3", "CFG_app.conf=x=1\n",
                     "GREETING=hello", "PLAIN=yes"]
    assert c.volumes == ["store:/data", "cfg:/etc/app:ro,nocopy", "/scratch"]
    assert c.tmpfs == ["/ram"]
    assert (c.cap_add, c.cap_drop, c.read_only) == (["NET_ADMIN"], ["CHOWN"], True)
    assert c.security_opt == ["no-new-privileges"]
    assert (c.memory, c.cpus) == (str(64 << 20), 0.5)
    assert c.labels == ["app=app"]
    assert play.pod_names(documents.load(APP, "x")) == ["app-pod-0", "app-pod-1"]


def test_command_alone_drops_the_image_cmd_and_args_alone_keep_its_entrypoint() -> None:
    text = """
kind: Pod
metadata: {name: p}
spec:
  restartPolicy: Never
  containers:
  - {name: a, image: img, command: [run]}
  - {name: b, image: img, args: [x, 1]}
  - {name: c, image: img, imagePullPolicy: Never, tty: true, stdin: true}
"""
    a, b, c = plan_of(text).pods[0].containers
    assert json.loads(a.entrypoint or "") == ["run"] and a.command == []
    assert a.restart == "no" and a.pull == "missing"
    assert b.entrypoint is None and b.command == ["x", "1"]
    assert c.pull == "never" and c.tty and c.interactive


def test_configmaps_from_another_file_and_a_host_network() -> None:
    cm = documents.load("kind: ConfigMap\nmetadata: {name: ext}\ndata: {K: v}\n", "cm.yaml")
    text = """
kind: Pod
metadata: {name: p}
spec:
  hostNetwork: true
  containers:
  - name: a
    image: img
    env: [{name: K, valueFrom: {configMapKeyRef: {name: ext, key: K}}}]
"""
    plan = plan_of(text, configmaps=[("cm.yaml", cm)])
    assert plan.pods[0].network == "host" and plan.pods[0].containers[0].env == ["K=v"]


@pytest.mark.parametrize("text, words", [
    ("kind: Job\nmetadata: {name: j}\n", "Job/j: kind Job is not supported"),
    ("kind: Pod\nmetadata: {name: p\nspec: [\n", "not valid YAML: line 3"),
    ("kind: Pod\nspec: {}\n", "has no metadata.name"),
    ("- a\n- b\n", "not a mapping"),
    ("", "no Kubernetes objects"),
    ("kind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n", "Pod/p: the pod has no containers"),
    ("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: i, env: "
     "[{name: X, valueFrom: {configMapKeyRef: {name: nope, key: k}}}]}\n",
     "Pod/p: container a: env X: no ConfigMap named 'nope'"),
    ("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: i, "
     "volumeMounts: [{name: v, mountPath: /v}]}\n  volumes: [{name: v, secret: {secretName: s}}]\n",
     "Pod/p: volume v: volume source secret is not supported"),
    ("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: i}\n"
     "  volumes: [{name: v, hostPath: {path: /no/such/dir, type: Directory}}]\n",
     "Pod/p: volume v: hostPath /no/such/dir does not exist"),
    ("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: i, "
     "resources: {limits: {memory: lots}}}\n", "invalid memory quantity 'lots'"),
    ("kind: Deployment\nmetadata: {name: d}\nspec: {replicas: -1, template: {spec: "
     "{containers: [{name: a, image: i}]}}}\n", "Deployment/d: spec.replicas"),
    ("kind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: i, image: i}]\n"
     "  containers: [{name: a, image: i}]\n", "Pod/p: spec.initContainers is not supported"),
])
def test_bad_yaml_and_unsupported_objects_are_named(text: str, words: str) -> None:
    with pytest.raises(KubeFileError) as err:
        plan_of(text)
    assert words in err.value.message and err.value.exit_code == 125


def test_quantities() -> None:
    assert documents.memory_bytes("64Mi", "x") == 64 << 20
    assert documents.memory_bytes("1G", "x") == 10**9
    assert documents.memory_bytes(1024, "x") == 1024
    assert documents.cpus("250m", "x") == 0.25 and documents.cpus(2, "x") == 2.0
    assert documents.memory_quantity(64 << 20) == "64Mi"
    assert documents.memory_quantity(1000) == "1000"
    assert documents.cpu_quantity(0.5) == "500m"


# ---------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------

BUSYBOX = {"Cmd": ["sh"], "Env": ["PATH=/usr/bin:/bin"]}


def config(**changes: Any) -> "dict[str, Any]":
    base: dict[str, Any] = {
        "image_name": "localhost/busybox:latest", "entrypoint": [], "cmd": ["sh"],
        "env": ["PATH=/usr/bin:/bin"], "workdir": "/", "workdir_from_user": False,
        "user": "0", "uid": 0, "gid": 0, "mounts": [], "caps": [
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
            "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
            "CAP_SYS_CHROOT"],
        "privileged": False, "read_only": False, "no_new_privs": False,
        "net": {"ports": []}, "cgroup": {"limits": {}}, "healthcheck": None,
        "restart_policy": {"name": "", "max_retries": 0}}
    base.update(changes)
    return base


def validate(doc: "dict[str, Any]") -> None:
    """Strict: an unknown field is an error too, as `kubectl apply` would say."""
    kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_generated_documents_pass_the_kubernetes_schemas(tmp_path: Path) -> None:
    full = generate.Member("web_1", config(
        entrypoint=["/bin/httpd"], cmd=["-f", "-p", "80"], env=[
            "PATH=/usr/bin:/bin", "MODE=prod", "TERM=xterm"],
        workdir="/srv", workdir_from_user=True, user="1000:1000", uid=1000, gid=1000,
        mounts=[{"type": "volume", "source": "data", "destination": "/data", "readonly": False},
                {"type": "bind", "source": str(tmp_path), "host_path": str(tmp_path),
                 "destination": "/host", "readonly": True},
                {"type": "tmpfs", "source": "tmpfs", "destination": "/scratch"},
                {"type": "volume", "source": "ab" * 32, "anonymous": True,
                 "destination": "/cache"}],
        caps=["CAP_KILL", "CAP_NET_ADMIN"], read_only=True, no_new_privs=True,
        cgroup={"limits": {"memory": 64 << 20, "cpus": 1.5}},
        healthcheck={"test": ["CMD-SHELL", "wget -q localhost"], "interval": 30_000_000_000,
                     "timeout": 5_000_000_000, "start_period": 0, "retries": 3},
        restart_policy={"name": "always"}, tty=True, interactive=True), BUSYBOX)
    ports = [{"host_ip": "", "host_port": 8080, "container_port": 80, "protocol": "tcp"},
             {"host_ip": "127.0.0.1", "host_port": 5353, "container_port": 53,
              "protocol": "udp"}]
    pod = generate.pod_document("web_1-pod", [full], ports=ports,
                                created="2026-01-01T00:00:00Z")
    validate(pod)
    (c,) = pod["spec"]["containers"]
    assert pod["metadata"]["name"] == "web-1-pod" and c["name"] == "web-1"
    assert c["command"] == ["/bin/httpd"] and c["args"] == ["-f", "-p", "80"]
    assert c["env"] == [{"name": "MODE", "value": "prod"}]
    assert c["ports"] == [{"containerPort": 80, "hostPort": 8080},
                          {"containerPort": 53, "hostPort": 5353, "hostIP": "127.0.0.1",
                           "protocol": "UDP"}]
    assert c["resources"] == {"limits": {"memory": "64Mi", "cpu": "1500m"}}
    assert c["securityContext"]["capabilities"]["add"] == ["CAP_NET_ADMIN"]
    assert "CAP_CHOWN" in c["securityContext"]["capabilities"]["drop"]
    assert c["securityContext"]["runAsUser"] == 1000
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["livenessProbe"]["exec"]["command"] == ["/bin/sh", "-c", "wget -q localhost"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["data-pvc"] == {"name": "data-pvc",
                                   "persistentVolumeClaim": {"claimName": "data"}}
    assert [v for v in volumes.values() if "hostPath" in v][0]["hostPath"]["type"] == "Directory"
    assert {"medium": "Memory"} in [v.get("emptyDir") for v in volumes.values()]
    assert pod["spec"]["restartPolicy"] == "Always"
    deployment = generate.deployment(pod, replicas=3)
    validate(deployment)
    assert deployment["spec"]["replicas"] == 3
    service = generate.service(pod)
    assert service is not None
    validate(service)
    assert [p["port"] for p in service["spec"]["ports"]] == [80, 53]
    # a pod of two plain containers, one privileged, no ports: no Service
    two = generate.pod_document("pair", [
        generate.Member("a", config(cmd=["sleep", "1"]), BUSYBOX),
        generate.Member("b", config(privileged=True), BUSYBOX)], hostname="pairhost",
        labels={"tier": "db"})
    validate(two)
    assert two["spec"]["hostname"] == "pairhost" and two["metadata"]["labels"]["tier"] == "db"
    assert two["spec"]["containers"][0]["command"] == ["sleep", "1"]
    assert "command" not in two["spec"]["containers"][1]
    assert two["spec"]["containers"][1]["securityContext"] == {"privileged": True}
    assert generate.service(two) is None
    # and the YAML text reads back into the same documents
    text = generate.render([pod, two], "0.1.0")
    assert text.startswith("# Save the output")
    assert documents.load(text, "gen.yaml") == [pod, two]


def test_the_schemas_do_catch_a_wrong_document() -> None:
    """The validation can fail: a port as a string and an unknown field are refused."""
    pod = generate.pod_document("p", [generate.Member("a", config(), BUSYBOX)])
    pod["spec"]["containers"][0]["ports"] = [{"containerPort": "eighty"}]
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(pod)
    pod = generate.pod_document("p", [generate.Member("a", config(), BUSYBOX)])
    pod["spec"]["containers"][0]["bogus"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(pod)


def test_generated_yaml_plays_back_as_the_same_application(tmp_path: Path) -> None:
    """The round trip in plan form: generate -> play keeps image, command, env, ports,
    volumes and security settings."""
    member = generate.Member("web", config(
        cmd=["httpd", "-f"], env=["PATH=/usr/bin:/bin", "MODE=prod"],
        workdir="/srv", workdir_from_user=True,
        mounts=[{"type": "volume", "source": "data", "destination": "/data", "readonly": False},
                {"type": "bind", "source": str(tmp_path), "host_path": str(tmp_path),
                 "destination": "/host", "readonly": True}],
        caps=["CAP_KILL", "CAP_NET_ADMIN"]), BUSYBOX)
    ports = [{"host_ip": "", "host_port": 8080, "container_port": 80, "protocol": "tcp"}]
    text = generate.render([generate.pod_document("web-pod", [member], ports=ports)], "0")
    (pod,) = plan_of(text).pods
    (c,) = pod.containers
    assert pod.name == "web-pod" and pod.publish == ["8080:80/tcp"]
    assert c.name == "web-pod-web" and c.image == "localhost/busybox:latest"
    assert json.loads(c.entrypoint or "") == ["httpd", "-f"] and c.command == []
    assert c.env == ["MODE=prod"] and c.workdir == "/srv" and c.restart == "no"
    assert c.volumes == ["data:/data", f"{tmp_path}:/host:ro"]
    assert "CAP_NET_ADMIN" in c.cap_add and "CAP_CHOWN" in c.cap_drop
