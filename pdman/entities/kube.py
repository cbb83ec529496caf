"""Options and reports of the kube verbs (engine/kube.py), shared by the CLI and the API."""

from __future__ import annotations

from pdman.record import Record


class KubePlayOptions(Record):
    """`kube play FILE`: the file (`-` for stdin) and the flags that shape its pods."""

    _required = ("file",)
    _lists = ("configmaps", "annotations", "log_opts")

    file: str
    configmaps: list[str]           # --configmap FILE (more ConfigMap objects)
    network: str = ""
    annotations: list[str]
    log_driver: str | None = None
    log_opts: list[str]
    tls_verify: bool | None = None
    quiet: bool = False
    replace_existing: bool = False  # --replace: remove the file's pods first
    start: bool = True
    build: bool | None = None       # --build: True always, False never, None: when missing
    context_dir: str = ""           # --context-dir: where the build directories are
    no_hosts: bool = False          # --no-hosts: the pods make no /etc/hosts
    userns: str = ""                # --userns: the pods' user namespace (pod create's)


class PlayedPod(Record):
    _required = ("id", "name")
    _lists = ("containers",)

    id: str
    name: str
    containers: list[str]           # IDs, the infra container not among them


class KubePlayReport(Record):
    _lists = ("volumes", "pods")

    volumes: list[str]              # the PersistentVolumeClaims' volumes, by name
    pods: list[PlayedPod]


class KubeDownReport(Record):
    _lists = ("stopped", "removed")

    stopped: list[str]
    removed: list[str]


class KubeGenerateOptions(Record):
    """`kube generate NAME...`: containers and pods to describe."""

    _lists = ("names",)

    names: list[str]
    service: bool = False           # -s: a Service for the published ports
    type: str = "pod"               # pod | deployment
    replicas: int = 1


__all__ = ["KubeDownReport", "KubeGenerateOptions", "KubePlayOptions", "KubePlayReport",
           "PlayedPod"]
