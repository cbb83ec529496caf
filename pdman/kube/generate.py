"""Container configs -> Kubernetes Pod, Deployment and Service documents (podman
4.3's `kube generate` shape, minus its podman-only annotations).

Pure: the engine (engine/kube.py) gathers each container's stored config and its
image's config; this module decides what Kubernetes fields they make:

    command/args   only what differs from the image (ENTRYPOINT -> command, CMD -> args)
    env            what the container adds to the image's environment
    ports          the published ports (containerPort + hostPort)
    volumes        named volumes as PersistentVolumeClaims (NAME-pvc), binds as hostPath
                   (Directory or File), --tmpfs as an in-memory emptyDir
    securityContext  capabilities added/dropped against the default set, privileged,
                   readOnlyRootFilesystem, runAsUser/runAsGroup when --user was given,
                   allowPrivilegeEscalation: false for no-new-privileges
    resources      limits from --memory and --cpus
    livenessProbe  from a healthcheck command
"""

from __future__ import annotations

import re

from pdman.kube import documents

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: what every container's environment has that is no part of the application
_IMPLICIT_ENV = ("PATH", "TERM", "HOSTNAME", "container", "HOME")
_RESTART = {"always": "Always", "unless-stopped": "Always", "on-failure": "OnFailure",
            "no": "Never", "": "Never"}
HEADER = ("# Save the output of this file and use kubectl create -f to import\n"
          "# it into Kubernetes.\n#\n# Created with pdman-{version}\n")


class Member:
    """One container to describe: its name in the pod, its stored config and its
    image's config (`Entrypoint`, `Cmd`, `Env`, `User`)."""

    __slots__ = ("name", "config", "image_config")

    def __init__(self, name: str, config: "dict[str, Any]",
                 image_config: "dict[str, Any]") -> None:
        self.name = name
        self.config = config
        self.image_config = image_config


def dns_name(text: str) -> str:
    """A DNS-1123 label (what Kubernetes names must be): lower case, [a-z0-9-]."""
    out = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return (out or "x")[:63].strip("-")


def pod_document(name: str, members: "list[Member]", hostname: str = "",
                 ports: "list[dict[str, Any]] | None" = None,
                 labels: "dict[str, str] | None" = None, created: str = "") -> "dict[str, Any]":
    """A Pod: `ports` are the pod's published ports (its infra's; a lone container's
    own), given to the first container as podman does."""
    pod = dns_name(name)
    volumes: dict[str, dict[str, Any]] = {}
    containers = []
    for i, m in enumerate(members):
        containers.append(_container(m, volumes, ports if i == 0 else None))
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False, "enableServiceLinks": False,
        "containers": containers,
        "restartPolicy": _RESTART.get(
            ((members[0].config.get("restart_policy") or {}).get("name") or ""), "Never")
        if members else "Never",
    }
    if hostname and hostname != pod:
        spec["hostname"] = dns_name(hostname)
    if volumes:
        spec["volumes"] = list(volumes.values())
    meta: dict[str, Any] = {"name": pod, "labels": {"app": pod, **(labels or {})}}
    if created:
        meta["creationTimestamp"] = created
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def deployment(pod: "dict[str, Any]", replicas: int = 1) -> "dict[str, Any]":
    """The Pod as a Deployment's template (a Deployment's pods must restart Always)."""
    name = pod["metadata"]["name"]
    spec = dict(pod["spec"], restartPolicy="Always")
    meta = {k: v for k, v in pod["metadata"].items() if k != "name"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {**meta, "name": f"{name}-deployment"},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {"app": pod["metadata"]["labels"]["app"]}},
                     "template": {"metadata": {"labels": dict(pod["metadata"]["labels"])},
                                  "spec": spec}}}


def service(pod: "dict[str, Any]") -> "dict[str, Any] | None":
    """A NodePort Service for the pod's published ports (None without any)."""
    spec = pod["spec"] if pod["kind"] == "Pod" else pod["spec"]["template"]["spec"]
    ports = []
    for c in spec["containers"]:
        for p in c.get("ports") or []:
            if "hostPort" in p:
                ports.append({"name": f"{p['containerPort']}-{p.get('protocol', 'TCP').lower()}",
                              "port": p["containerPort"], "protocol": p.get("protocol", "TCP"),
                              "targetPort": p["containerPort"]})
    if not ports:
        return None
    app = pod["metadata"]["labels"]["app"]
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": app, "labels": {"app": app}},
            "spec": {"ports": ports, "selector": {"app": app}, "type": "NodePort"}}


def render(docs: "list[dict[str, Any]]", version: str) -> str:
    return HEADER.format(version=version) + documents.dump(docs)


# ---------------------------------------------------------------------------
# one container
# ---------------------------------------------------------------------------

def _container(m: Member, volumes: "dict[str, dict[str, Any]]",
               ports: "list[dict[str, Any]] | None") -> "dict[str, Any]":
    cfg, icfg = m.config, m.image_config
    out: dict[str, Any] = {"name": dns_name(m.name), "image": cfg["image_name"]}
    entrypoint, cmd = list(cfg.get("entrypoint") or []), list(cfg.get("cmd") or [])
    image_ep, image_cmd = list(icfg.get("Entrypoint") or []), list(icfg.get("Cmd") or [])
    if entrypoint != image_ep:
        out["command"] = entrypoint
        if cmd:
            out["args"] = cmd
    elif cmd != image_cmd:
        if entrypoint:
            out["args"] = cmd
        else:                          # podman's shape: the whole argv as the command
            out["command"] = cmd
    env = _env(cfg.get("env") or [], icfg.get("Env") or [])
    if env:
        out["env"] = env
    if cfg.get("workdir_from_user"):
        out["workingDir"] = cfg["workdir"]
    if ports:
        out["ports"] = [_port(p) for p in ports]
    mounts = []
    for i, mnt in enumerate(cfg.get("mounts") or []):
        vol_name, source = _volume(mnt, i)
        if source is None:
            continue
        volumes.setdefault(vol_name, {"name": vol_name, **source})
        mount: dict[str, Any] = {"name": vol_name, "mountPath": mnt["destination"]}
        if mnt.get("readonly"):
            mount["readOnly"] = True
        mounts.append(mount)
    if mounts:
        out["volumeMounts"] = mounts
    security = _security(cfg, icfg)
    if security:
        out["securityContext"] = security
    resources = _resources((cfg.get("cgroup") or {}).get("limits") or {})
    if resources:
        out["resources"] = resources
    probe = _probe(cfg.get("healthcheck"))
    if probe:
        out["livenessProbe"] = probe
    if cfg.get("tty"):
        out["tty"] = True
    if cfg.get("interactive"):
        out["stdin"] = True
    return out


def _env(env: list[str], image_env: list[str]) -> "list[dict[str, str]]":
    base = set(image_env)
    out = []
    for item in env:
        key, _, value = item.partition("=")
        if item in base or key in _IMPLICIT_ENV:
            continue
        out.append({"name": key, "value": value})
    return out


def _port(p: "dict[str, Any]") -> "dict[str, Any]":
    out: dict[str, Any] = {"containerPort": int(p["container_port"])}
    if p.get("host_port"):
        out["hostPort"] = int(p["host_port"])
    if p.get("host_ip") and p["host_ip"] not in ("0.0.0.0", "::"):
        out["hostIP"] = p["host_ip"]
    if (p.get("protocol") or "tcp") != "tcp":
        out["protocol"] = str(p["protocol"]).upper()
    return out


def _volume(mnt: "dict[str, Any]", index: int) -> "tuple[str, dict[str, Any] | None]":
    kind = mnt.get("type")
    if kind == "volume" and mnt.get("source") and not mnt.get("anonymous"):
        name = dns_name(f"{mnt['source']}-pvc")
        return name, {"persistentVolumeClaim": {"claimName": mnt["source"]}}
    if kind == "volume":                        # anonymous: lives and dies with the pod
        return dns_name(f"anon-{index}"), {"emptyDir": {}}
    if kind == "bind":
        import os

        path = mnt.get("host_path") or mnt["source"]
        name = dns_name(f"{path}-host-{index}")
        return name, {"hostPath": {"path": path,
                                   "type": "Directory" if os.path.isdir(path) else "File"}}
    if kind == "tmpfs":
        return dns_name(f"tmpfs-{index}"), {"emptyDir": {"medium": "Memory"}}
    return "", None


def _security(cfg: "dict[str, Any]", icfg: "dict[str, Any]") -> "dict[str, Any]":
    from pdman.engine import runopts

    out: dict[str, Any] = {}
    if cfg.get("privileged"):
        out["privileged"] = True
    else:
        caps = list(cfg.get("caps") or [])
        default = list(runopts.DEFAULT_CAPS)
        add = [c for c in caps if c not in default]
        drop = [c for c in default if c not in caps]
        if add or drop:
            out["capabilities"] = {k: v for k, v in (("add", add), ("drop", drop)) if v}
    if cfg.get("read_only"):
        out["readOnlyRootFilesystem"] = True
    if cfg.get("no_new_privs"):
        out["allowPrivilegeEscalation"] = False
    user = str(cfg.get("user") or "")
    if user and user != str(icfg.get("User") or "0") and "uid" in cfg:
        out["runAsUser"] = int(cfg["uid"])
        out["runAsGroup"] = int(cfg["gid"])
    return out


def _resources(limits: "dict[str, Any]") -> "dict[str, Any]":
    out: dict[str, str] = {}
    if limits.get("memory"):
        out["memory"] = documents.memory_quantity(int(limits["memory"]))
    if limits.get("cpus"):
        out["cpu"] = documents.cpu_quantity(float(limits["cpus"]))
    return {"limits": out} if out else {}


def _probe(hc: "dict[str, Any] | None") -> "dict[str, Any] | None":
    if not hc or not hc.get("test") or hc["test"][0] not in ("CMD", "CMD-SHELL"):
        return None
    test = list(hc["test"])
    command = ["/bin/sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
    probe: dict[str, Any] = {"exec": {"command": command}}
    seconds = (("interval", "periodSeconds"), ("timeout", "timeoutSeconds"),
               ("start_period", "initialDelaySeconds"))
    for key, field in seconds:
        if hc.get(key):
            probe[field] = max(1, int(hc[key]) // 1_000_000_000)
    if hc.get("retries"):
        probe["failureThreshold"] = int(hc["retries"])
    return probe
