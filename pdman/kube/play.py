"""Kubernetes YAML -> a plan of what `kube play` makes, checked before anything is made.

Every object is translated first: an unsupported kind or field, a missing ConfigMap
or a missing hostPath stops the play here, naming the object, and nothing exists yet.
The engine (engine/kube.py) then makes the plan's volumes and pods with the ordinary
verbs, and undoes what it made if a later step fails.

Names follow podman 4.3: a Pod's pod is its name, a Deployment's replicas are pods
NAME-pod-0..N-1, a container is POD-CONTAINER, a PersistentVolumeClaim is a named
volume of its name, a ConfigMap mounted as a volume is a named volume of the
ConfigMap's name holding one file per key.
"""

from __future__ import annotations

import json
import os

from pdman.entities.create import CreateOptions
from pdman.errors import KubeFileError
from pdman.kube import documents
from pdman.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: the kinds kube play makes something of
SUPPORTED = ("Pod", "Deployment", "ConfigMap", "PersistentVolumeClaim")
#: kinds read and ignored, as podman does: a Service's ports are the pod's hostPorts
IGNORED = ("Service",)
_RESTART = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}
_PULL = {"Always": "always", "IfNotPresent": "missing", "Never": "never"}


class VolumePlan(Record):
    """A named volume: a PersistentVolumeClaim's, or a ConfigMap's (`files`: key ->
    content written into it)."""

    _required = ("name",)
    _dicts = ("labels", "files")

    name: str
    labels: "dict[str, str]"
    files: "dict[str, str]"
    claim: bool = False             # a PersistentVolumeClaim (listed under "Volumes:")


class PodPlan(Record):
    _required = ("name",)
    _lists = ("publish", "containers", "host_dirs")
    _dicts = ("labels",)

    name: str
    where: str = ""                 # `FILE: Kind/name`, for errors
    labels: "dict[str, str]"
    hostname: str = ""
    network: str = ""
    publish: list[str]
    containers: "list[CreateOptions]"
    host_dirs: list[str]            # hostPath DirectoryOrCreate: made before the pods


class Plan(Record):
    _lists = ("volumes", "pods")

    volumes: list[VolumePlan]
    pods: list[PodPlan]


class PlayOptions(Record):
    """What the user gave besides the YAML (`kube play` flags)."""

    _lists = ("configmaps", "annotations", "log_opts")

    configmaps: "list[tuple[str, list[dict[str, Any]]]]"   # --configmap files, read
    network: str = ""
    annotations: list[str]
    log_driver: str | None = None
    log_opts: list[str]
    tls_verify: bool | None = None
    quiet: bool = False


def what(doc: "dict[str, Any]") -> str:
    """`Kind/name`, how errors name an object."""
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def pod_names(docs: "list[dict[str, Any]]") -> list[str]:
    """The pods a file makes (what `kube down` removes), without checking the rest."""
    names: list[str] = []
    for doc in docs:
        name = doc["metadata"]["name"]
        if doc["kind"] == "Pod":
            names.append(name)
        elif doc["kind"] == "Deployment":
            names += [f"{name}-pod-{i}" for i in range(_replicas(doc))]
    return names


def _replicas(doc: "dict[str, Any]") -> int:
    value = (doc.get("spec") or {}).get("replicas", 1)
    if value is None:
        return 1
    if not isinstance(value, int) or value < 0:
        raise KubeFileError(f"{what(doc)}: spec.replicas must be a whole number, not {value!r}",
                            hint="e.g. replicas: 1")
    return value


def build(source: str, docs: "list[dict[str, Any]]", options: PlayOptions) -> Plan:
    """The plan of a file's objects (see the module docstring)."""
    for doc in docs:
        if doc["kind"] not in SUPPORTED + IGNORED:
            raise KubeFileError(
                f"{source}: {what(doc)}: kind {doc['kind']} is not supported by kube play",
                hint="pdman plays Pod, Deployment, ConfigMap and PersistentVolumeClaim "
                     "(a Service is read and ignored); remove that object")
    configmaps: dict[str, dict[str, str]] = {}
    for cm_source, cm_docs in [*options.configmaps, (source, docs)]:
        for doc in cm_docs:
            if doc["kind"] == "ConfigMap":
                configmaps[doc["metadata"]["name"]] = _configmap_data(cm_source, doc)
            elif cm_source != source:
                raise KubeFileError(f"{cm_source}: {what(doc)}: --configmap files hold "
                                    "ConfigMap objects only",
                                    hint="give the other objects in the played file")
    plan = Plan()
    for doc in docs:
        if doc["kind"] == "PersistentVolumeClaim":
            meta = doc["metadata"]
            plan.volumes.append(VolumePlan(meta["name"], labels=_labels(doc, meta),
                                           claim=True))
    for doc in docs:
        where = f"{source}: {what(doc)}"
        if doc["kind"] == "Pod":
            plan.pods.append(_pod(where, doc["metadata"]["name"], doc["metadata"],
                                  doc.get("spec"), configmaps, plan, options))
        elif doc["kind"] == "Deployment":
            spec = doc.get("spec") or {}
            template = spec.get("template") or {}
            if not isinstance(template, dict) or not template.get("spec"):
                raise KubeFileError(f"{where}: spec.template.spec is missing",
                                    hint="a Deployment needs a pod template")
            meta = template.get("metadata") or {}
            for i in range(_replicas(doc)):
                plan.pods.append(_pod(where, f"{doc['metadata']['name']}-pod-{i}", meta,
                                      template["spec"], configmaps, plan, options))
    seen: set[str] = set()
    for pod in plan.pods:
        if pod.name in seen:
            raise KubeFileError(f"{source}: two objects make the pod {pod.name}",
                                hint="give each Pod and Deployment its own name")
        seen.add(pod.name)
    return plan


def _configmap_data(source: str, doc: "dict[str, Any]") -> "dict[str, str]":
    data = doc.get("data") or {}
    if not isinstance(data, dict):
        raise KubeFileError(f"{source}: {what(doc)}: data must be a mapping of keys to strings")
    return {str(k): _text(v) for k, v in data.items()}


def _text(value: "Any") -> str:
    """A YAML scalar as Kubernetes reads it into a string field."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _labels(doc: "dict[str, Any]", meta: "dict[str, Any]") -> "dict[str, str]":
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        raise KubeFileError(f"{what(doc)}: metadata.labels must be a mapping")
    return {str(k): _text(v) for k, v in labels.items()}


def _mapping(value: "Any", where: str, field: str) -> "dict[str, Any]":
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise KubeFileError(f"{where}: {field} must be a mapping", hint="check the indentation")
    return value


def _list(value: "Any", where: str, field: str) -> "list[Any]":
    if value is None:
        return []
    if not isinstance(value, list):
        raise KubeFileError(f"{where}: {field} must be a list", hint="start its items with `- `")
    return value


def _pod(where: str, name: str, meta: "dict[str, Any]", spec: "Any",
         configmaps: "dict[str, dict[str, str]]", plan: Plan,
         options: PlayOptions) -> PodPlan:
    spec = _mapping(spec, where, "spec")
    labels = {str(k): _text(v) for k, v in _mapping(meta.get("labels"), where,
                                                     "metadata.labels").items()}
    pod = PodPlan(name, where=where, labels=labels, hostname=str(spec.get("hostname") or ""),
                  network="host" if spec.get("hostNetwork") else options.network)
    for unsupported in ("initContainers", "ephemeralContainers"):
        if spec.get(unsupported):
            raise KubeFileError(f"{where}: spec.{unsupported} is not supported by pdman yet",
                                hint="run that step as an ordinary container")
    restart = _RESTART.get(str(spec.get("restartPolicy") or "Always"))
    if restart is None:
        raise KubeFileError(f"{where}: invalid restartPolicy {spec.get('restartPolicy')!r}",
                            hint="Always, OnFailure or Never")
    volumes = _volumes(where, name, spec, configmaps, plan, pod)
    pod_security = _mapping(spec.get("securityContext"), where, "spec.securityContext")
    containers = _list(spec.get("containers"), where, "spec.containers")
    if not containers:
        raise KubeFileError(f"{where}: the pod has no containers",
                            hint="give spec.containers at least one container")
    names: set[str] = set()
    for c in containers:
        c = _mapping(c, where, "spec.containers[]")
        cname = c.get("name")
        if not isinstance(cname, str) or not cname:
            raise KubeFileError(f"{where}: a container has no name", hint="give each a name")
        if cname in names:
            raise KubeFileError(f"{where}: two containers named {cname}")
        names.add(cname)
        pod.containers.append(_container(f"{where}: container {cname}", name, c, volumes,
                                         configmaps, pod_security, restart, pod, options))
    return pod


def _volumes(where: str, pod_name: str, spec: "dict[str, Any]",
             configmaps: "dict[str, dict[str, str]]", plan: Plan,
             pod: PodPlan) -> "dict[str, tuple[str, str, bool]]":
    """The pod's volumes: name -> (kind, source, read-only): kind `volume` (a named
    volume), `configmap` (a named volume of the ConfigMap's files), `bind` (a host
    path), `anonymous` (emptyDir) or `tmpfs` (emptyDir in memory)."""
    out: dict[str, tuple[str, str, bool]] = {}
    for v in _list(spec.get("volumes"), where, "spec.volumes"):
        v = _mapping(v, where, "spec.volumes[]")
        vname = str(v.get("name") or "")
        vwhere = f"{where}: volume {vname or '(no name)'}"
        if not vname:
            raise KubeFileError(f"{vwhere}: a volume has no name")
        if "hostPath" in v:
            hp = _mapping(v["hostPath"], vwhere, "hostPath")
            path = str(hp.get("path") or "")
            if not path.startswith("/"):
                raise KubeFileError(f"{vwhere}: hostPath.path must be an absolute path")
            kind = str(hp.get("type") or "")
            exists = os.path.exists(path)
            if kind == "DirectoryOrCreate":
                if not exists:
                    pod.host_dirs.append(path)
            elif kind == "FileOrCreate":
                if not exists:
                    raise KubeFileError(f"{vwhere}: hostPath {path} does not exist",
                                        hint="create the file first (FileOrCreate makes no "
                                             "file in pdman)")
            elif kind in ("Directory", "File", "Socket", "CharDevice", "BlockDevice", ""):
                if not exists:
                    raise KubeFileError(f"{vwhere}: hostPath {path} does not exist",
                                        hint="create it, or use type: DirectoryOrCreate")
                if kind == "Directory" and not os.path.isdir(path):
                    raise KubeFileError(f"{vwhere}: hostPath {path} is not a directory")
                if kind == "File" and not os.path.isfile(path):
                    raise KubeFileError(f"{vwhere}: hostPath {path} is not a file")
            else:
                raise KubeFileError(f"{vwhere}: unknown hostPath type {kind!r}")
            out[vname] = ("bind", path, False)
        elif "persistentVolumeClaim" in v:
            pvc = _mapping(v["persistentVolumeClaim"], vwhere, "persistentVolumeClaim")
            claim = str(pvc.get("claimName") or "")
            if not claim:
                raise KubeFileError(f"{vwhere}: persistentVolumeClaim.claimName is missing")
            if not any(p.name == claim for p in plan.volumes):
                plan.volumes.append(VolumePlan(claim))
            out[vname] = ("volume", claim, bool(pvc.get("readOnly")))
        elif "configMap" in v:
            cm = _mapping(v["configMap"], vwhere, "configMap")
            cm_name = str(cm.get("name") or "")
            if cm_name not in configmaps:
                if cm.get("optional"):
                    continue
                raise KubeFileError(f"{vwhere}: no ConfigMap named {cm_name!r}",
                                    hint="add it to the file, or give it with --configmap")
            data = configmaps[cm_name]
            files: dict[str, str] = {}
            items = _list(cm.get("items"), vwhere, "configMap.items")
            for item in items:
                item = _mapping(item, vwhere, "configMap.items[]")
                key, path = str(item.get("key") or ""), str(item.get("path") or "")
                if key not in data:
                    raise KubeFileError(f"{vwhere}: ConfigMap {cm_name} has no key {key!r}")
                files[path or key] = data[key]
            if not items:
                files = dict(data)
            for rel in files:
                if rel.startswith("/") or ".." in rel.split("/"):
                    raise KubeFileError(f"{vwhere}: configMap path {rel!r} leaves the volume",
                                        hint="give relative paths without ..")
            existing = next((p for p in plan.volumes if p.name == cm_name), None)
            if existing is None:
                plan.volumes.append(VolumePlan(cm_name, files=files))
            else:
                existing.files.update(files)
            out[vname] = ("configmap", cm_name, True)
        elif "emptyDir" in v:
            ed = _mapping(v["emptyDir"], vwhere, "emptyDir")
            out[vname] = ("tmpfs" if ed.get("medium") == "Memory" else "anonymous", "", False)
        else:
            kinds = sorted(k for k in v if k != "name")
            raise KubeFileError(f"{vwhere}: volume source {', '.join(kinds) or '(none)'} is "
                                "not supported by kube play",
                                hint="use hostPath, persistentVolumeClaim, configMap or emptyDir")
    return out


def _container(where: str, pod_name: str, c: "dict[str, Any]",
               volumes: "dict[str, tuple[str, str, bool]]",
               configmaps: "dict[str, dict[str, str]]", pod_security: "dict[str, Any]",
               restart: str, pod: PodPlan, options: PlayOptions) -> CreateOptions:
    image = c.get("image")
    if not isinstance(image, str) or not image:
        raise KubeFileError(f"{where}: no image", hint="give the container an image")
    pull = _PULL.get(str(c.get("imagePullPolicy") or "IfNotPresent"))
    if pull is None:
        raise KubeFileError(f"{where}: invalid imagePullPolicy {c.get('imagePullPolicy')!r}",
                            hint="Always, IfNotPresent or Never")
    opts = CreateOptions(image=image, name=f"{pod_name}-{c['name']}", pod=pod_name, pull=pull,
                         restart=restart, quiet_pull=options.quiet,
                         labels=[f"{k}={v}" for k, v in pod.labels.items()],
                         annotations=list(options.annotations), log_opts=list(options.log_opts),
                         tls_verify=options.tls_verify)
    if options.log_driver:
        opts.log_driver = options.log_driver
    command = c.get("command")
    args = c.get("args")
    if command is not None:
        opts.entrypoint = json.dumps([_text(a) for a in _list(command, where, "command")])
    if args is not None:
        opts.command = [_text(a) for a in _list(args, where, "args")]
    if c.get("workingDir"):
        opts.workdir = str(c["workingDir"])
    opts.tty, opts.interactive = bool(c.get("tty")), bool(c.get("stdin"))
    opts.env = _env(where, c, configmaps)
    for p in _list(c.get("ports"), where, "ports"):
        p = _mapping(p, where, "ports[]")
        cport = p.get("containerPort")
        if not isinstance(cport, int):
            raise KubeFileError(f"{where}: ports[].containerPort must be a number, not {cport!r}")
        proto = str(p.get("protocol") or "TCP").lower()
        if p.get("hostPort"):
            host_ip = f"{p['hostIP']}:" if p.get("hostIP") else ""
            pod.publish.append(f"{host_ip}{p['hostPort']}:{cport}/{proto}")
    for m in _list(c.get("volumeMounts"), where, "volumeMounts"):
        m = _mapping(m, where, "volumeMounts[]")
        vname, dest = str(m.get("name") or ""), str(m.get("mountPath") or "")
        if vname not in volumes:
            raise KubeFileError(f"{where}: volumeMount {vname!r} names no volume of the pod",
                                hint="add it to spec.volumes")
        if not dest.startswith("/"):
            raise KubeFileError(f"{where}: volumeMount {vname}: mountPath must be absolute")
        if m.get("subPath"):
            raise KubeFileError(f"{where}: volumeMount {vname}: subPath is not supported yet",
                                hint="mount the whole volume")
        kind, src, ro = volumes[vname]
        ro = ro or bool(m.get("readOnly"))
        if kind == "tmpfs":
            opts.tmpfs.append(dest)
        elif kind == "anonymous":
            opts.volumes.append(dest)
        elif kind == "configmap":
            # the ConfigMap's files only, as in Kubernetes: the image's files at that
            # path are not copied up into the volume
            opts.volumes.append(f"{src}:{dest}:ro,nocopy")
        else:
            opts.volumes.append(f"{src}:{dest}{':ro' if ro else ''}")
    _security(where, opts, pod_security,
              _mapping(c.get("securityContext"), where, "securityContext"))
    _resources(where, opts, _mapping(c.get("resources"), where, "resources"))
    return opts


def _env(where: str, c: "dict[str, Any]", configmaps: "dict[str, dict[str, str]]") -> list[str]:
    """envFrom first, env after (a later name wins, as in Kubernetes)."""
    env: dict[str, str] = {}
    for src in _list(c.get("envFrom"), where, "envFrom"):
        src = _mapping(src, where, "envFrom[]")
        ref = src.get("configMapRef")
        if ref is None:
            kinds = sorted(k for k in src if k != "prefix")
            raise KubeFileError(f"{where}: envFrom {', '.join(kinds)} is not supported",
                                hint="use configMapRef")
        ref = _mapping(ref, where, "envFrom[].configMapRef")
        cm = configmaps.get(str(ref.get("name") or ""))
        if cm is None:
            if ref.get("optional"):
                continue
            raise KubeFileError(f"{where}: envFrom: no ConfigMap named {ref.get('name')!r}",
                                hint="add it to the file, or give it with --configmap")
        prefix = str(src.get("prefix") or "")
        env.update({prefix + k: v for k, v in cm.items()})
    for e in _list(c.get("env"), where, "env"):
        e = _mapping(e, where, "env[]")
        name = str(e.get("name") or "")
        if not name:
            raise KubeFileError(f"{where}: an env entry has no name")
        if "valueFrom" not in e:
            env[name] = _text(e.get("value"))
            continue
        source = _mapping(e["valueFrom"], where, f"env {name}: valueFrom")
        ref = source.get("configMapKeyRef")
        if ref is None:
            raise KubeFileError(f"{where}: env {name}: valueFrom "
                                f"{', '.join(sorted(source))} is not supported",
                                hint="use value or configMapKeyRef")
        ref = _mapping(ref, where, f"env {name}: configMapKeyRef")
        cm = configmaps.get(str(ref.get("name") or ""))
        key = str(ref.get("key") or "")
        if cm is None or key not in cm:
            if ref.get("optional"):
                continue
            missing = (f"no ConfigMap named {ref.get('name')!r}" if cm is None
                       else f"ConfigMap {ref.get('name')} has no key {key!r}")
            raise KubeFileError(f"{where}: env {name}: {missing}",
                                hint="add it to the file, or give it with --configmap")
        env[name] = cm[key]
    return [f"{k}={v}" for k, v in env.items()]


def _security(where: str, opts: CreateOptions, pod_ctx: "dict[str, Any]",
              ctx: "dict[str, Any]") -> None:
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    group = ctx.get("runAsGroup", pod_ctx.get("runAsGroup"))
    if user is not None:
        opts.user = f"{int(user)}:{int(group)}" if group is not None else str(int(user))
    elif group is not None:
        raise KubeFileError(f"{where}: runAsGroup without runAsUser is not supported",
                            hint="give runAsUser too")
    caps = _mapping(ctx.get("capabilities"), where, "securityContext.capabilities")
    opts.cap_add = [str(x) for x in _list(caps.get("add"), where, "capabilities.add")]
    opts.cap_drop = [str(x) for x in _list(caps.get("drop"), where, "capabilities.drop")]
    opts.privileged = bool(ctx.get("privileged"))
    opts.read_only = bool(ctx.get("readOnlyRootFilesystem"))
    if ctx.get("allowPrivilegeEscalation") is False:
        opts.security_opt.append("no-new-privileges")


def _resources(where: str, opts: CreateOptions, res: "dict[str, Any]") -> None:
    limits = _mapping(res.get("limits"), where, "resources.limits")
    if "memory" in limits:
        opts.memory = str(documents.memory_bytes(limits["memory"], f"{where}: memory limit"))
    if "cpu" in limits:
        opts.cpus = documents.cpus(limits["cpu"], f"{where}: cpu limit")
