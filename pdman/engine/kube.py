"""`kube play`, `kube down`, `kube generate`: Kubernetes YAML run as pods, and pods
written as Kubernetes YAML (issue #17).

    play(ctx, KubePlayOptions)          -> KubePlayReport
    down(ctx, file)                     -> KubeDownReport
    generate(ctx, KubeGenerateOptions)  -> YAML text

`play` reads as a checklist: read the file -> translate every object into a plan
(kube/play.py; any error here and nothing exists yet) -> check the pods' names are
free (or remove them, `--replace`) -> images built from directories (`--build`) ->
volumes -> for each pod: the pod and its infra,
its containers (images pulled as `create` does) -> start. If a step fails, what this
play made is removed again (pods, their containers, the volumes it created) before
the error is reported. The translation to and from YAML lives in pdman/kube/; the
work is the ordinary pod, container and volume verbs.
"""

from __future__ import annotations

import os

from pdman.engine.context import EngineContext
from pdman.entities.kube import (KubeDownReport, KubeGenerateOptions, KubePlayOptions,
                                 KubePlayReport, PlayedPod)
from pdman.errors import ConflictError, PdmanError, PodNotFound, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.kube.play import Plan, PodPlan, VolumePlan


# ---------------------------------------------------------------------------
# play
# ---------------------------------------------------------------------------

def play(ctx: EngineContext, options: KubePlayOptions) -> KubePlayReport:
    from pdman.kube import documents
    from pdman.kube import play as kplay

    if options.userns:
        from pdman.runtime import userns_mode

        userns_mode.parse(options.userns)       # a bad mode fails before anything
    source, docs = documents.read(options.file)                     # 1: read
    configmaps = [documents.read(path) for path in options.configmaps]
    plan = kplay.build(source, docs, kplay.PlayOptions(              # 2: translate, check
        configmaps=configmaps, network=options.network, annotations=options.annotations,
        log_driver=options.log_driver, log_opts=options.log_opts,
        tls_verify=options.tls_verify, quiet=options.quiet))
    from pdman.engine import pods

    for pod in plan.pods:                                           # 3: names free
        if pods.exists(ctx, pod.name):
            if not options.replace_existing:
                raise ConflictError(f'adding pod to state: name "{pod.name}" is in use: pod '
                                    "already exists",
                                    hint="give --replace, or `pdman kube down FILE` first")
            pods.remove(ctx, pod.name, force=True)
    _build_images(ctx, plan, options)                               # 4: --build
    made = _Made()
    try:
        report = KubePlayReport()
        for vol in plan.volumes:                                    # 5: volumes
            _volume(ctx, vol, made)
            if vol.claim:
                report.volumes.append(vol.name)
        for pod in plan.pods:                                       # 6: pods, containers
            try:
                report.pods.append(_pod(ctx, pod, made, options))
            except PdmanError as exc:
                exc.message = f"{pod.where}: {exc.message}"
                raise
        if options.start:                                           # 7: start
            for played in report.pods:
                pods.start(ctx, played.id)
        return report
    except BaseException:
        made.undo(ctx)
        raise


def build_file(image: str, context_dir: str) -> str:
    """podman's rule: an image named `[REGISTRY/]PATH/NAME[:TAG]` is built from the
    directory NAME (in --context-dir, else the current one) when it holds a
    Containerfile (or a Dockerfile); "" when it has neither."""
    last = image.rsplit("/", 1)[-1]
    name = last.split("@", 1)[0].split(":", 1)[0]
    if not name or name in (".", ".."):
        return ""
    for file in ("Containerfile", "Dockerfile"):
        path = os.path.join(context_dir or os.getcwd(), name, file)
        if os.path.isfile(path):
            return path
    return ""


def _build_images(ctx: EngineContext, plan: "Plan", options: KubePlayOptions) -> None:
    """`--build` (podman 4.3's): each container image with a build directory is built
    there and tagged with the image's name, unless `--build=false` or (without
    --build) an image of that name exists already. The containers then use it as it
    is (no pull). Built images stay if the play fails later, as podman's do."""
    from pdman.engine import build as builder
    from pdman.engine.images import resolve_image
    from pdman.entities.build import BuildOptions
    from pdman.errors import ImageNotFound

    if options.context_dir and options.build is not True:
        raise UsageError("--build must be specified when using --context-dir option",
                         hint="add --build")
    if options.build is False:
        return
    built: set[str] = set()
    for pod in plan.pods:
        for opts in pod.containers:
            path = build_file(opts.image, options.context_dir)
            if not path:
                continue
            if opts.image not in built:
                if options.build is None:
                    try:
                        resolve_image(ctx, opts.image)
                        continue                 # there already: used as it is
                    except ImageNotFound:
                        pass
                builder.build(ctx, BuildOptions(os.path.dirname(path), containerfile=path,
                                                tags=[opts.image], quiet=options.quiet,
                                                tls_verify=options.tls_verify))
                built.add(opts.image)
            opts.pull = "never"


class _Made:
    """What a play has made so far, to remove if a later step fails."""

    def __init__(self) -> None:
        self.pods: list[str] = []
        self.volumes: list[str] = []

    def undo(self, ctx: EngineContext) -> None:
        from pdman.engine import pods, volumes

        for pod_id in reversed(self.pods):
            try:
                pods.remove(ctx, pod_id, force=True, timeout=0)
            except PdmanError:
                pass
        for name in reversed(self.volumes):
            try:
                volumes.remove(ctx, name, force=True)
            except PdmanError:
                pass


def _volume(ctx: EngineContext, vol: "VolumePlan", made: _Made) -> None:
    """A named volume, created unless it exists (a claim's data outlives `kube down`,
    and a second play finds it again); a ConfigMap's files written into it."""
    from pdman.engine import volumes
    from pdman.errors import VolumeNotFound

    try:
        rec = volumes.inspect(ctx, vol.name)
    except VolumeNotFound:
        rec = volumes.create(ctx, volumes.CreateVolumeOptions(name=vol.name,
                                                              labels=dict(vol.labels)))
        made.volumes.append(vol.name)
    for rel, content in vol.files.items():
        path = os.path.join(rec.mountpoint, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # a fresh file each time: the ConfigMap as the file says it now
        tmp = f"{path}.pdman-tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)


def _pod(ctx: EngineContext, plan: "PodPlan", made: _Made,
         options: KubePlayOptions) -> PlayedPod:
    import sys

    from pdman.engine import containers, pods
    from pdman.entities.pods import PodCreateOptions

    for path in plan.host_dirs:                 # hostPath DirectoryOrCreate
        os.makedirs(path, exist_ok=True)
    pod = pods.create(ctx, PodCreateOptions(
        name=plan.name, publish=plan.publish, network=plan.network,
        labels=[f"{k}={v}" for k, v in plan.labels.items()],
        hostname=plan.hostname or plan.name, no_hosts=options.no_hosts,
        userns=options.userns,
        create_command=["pdman", *sys.argv[1:]]))
    made.pods.append(pod.id)
    played = PlayedPod(pod.id, pod.name)
    for opts in plan.containers:
        opts.pod = pod.id
        try:
            played.containers.append(containers.create(ctx, opts).id)
        except PdmanError as exc:
            exc.message = f"container {opts.name}: {exc.message}"
            raise
    return played


# ---------------------------------------------------------------------------
# down
# ---------------------------------------------------------------------------

def down(ctx: EngineContext, file: str) -> KubeDownReport:
    """`kube down FILE`: stop, then remove, the pods the file makes (their containers
    with them); pods of the file that do not exist are passed over. Volumes stay, as
    podman leaves them: a claim's data is not the pod's."""
    from pdman.engine import pods
    from pdman.kube import documents
    from pdman.kube import play as kplay

    _, docs = documents.read(file)
    found = []
    for name in kplay.pod_names(docs):
        try:
            found.append(pods.find(ctx, name).id)
        except PodNotFound:
            continue
    report = KubeDownReport()
    # podman 4.3 stops them with a zero timeout (SIGKILL) and removes them: the forced
    # removal does both at once, monitors first, so that no monitor starts its exit
    # command (a `container cleanup` process per container) for containers being removed
    report.stopped += found
    for pod_id in found:
        report.removed.append(pods.remove(ctx, pod_id, force=True))
    return report


# ---------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------

def generate(ctx: EngineContext, options: KubeGenerateOptions) -> str:
    """The YAML of pods and containers: each pod one Pod (or Deployment); the
    containers named that are in no pod together one Pod, NAME-pod after the first."""
    import datetime

    from pdman import __version__
    from pdman.engine import pods
    from pdman.engine.containers import reconcile
    from pdman.kube import generate as kgen
    from pdman.storage import container_records as records

    if options.type not in ("pod", "deployment"):
        raise UsageError(f"invalid type {options.type!r}: pod or deployment",
                         hint="--type pod (default) or --type deployment")
    if options.replicas < 1:
        raise UsageError("--replicas must be at least 1")
    if options.replicas != 1 and options.type != "deployment":
        raise UsageError("--replicas is only used with --type deployment",
                         hint="add --type deployment")
    if not options.names:
        raise UsageError("generate kube needs at least one container or pod",
                         hint="e.g. pdman kube generate web")
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    docs: list[dict[str, Any]] = []
    lone: list[Any] = []
    for name in options.names:
        try:
            pod = pods.find(ctx, name)
        except PodNotFound:
            lone.append(reconcile(ctx, records.find(ctx.catalog, name)))
            continue
        recs = pods.containers_of(ctx, pod.id)
        infra = next((r for r in recs if r.config.get("infra")), None)
        members = [_member(ctx, r, pod.name) for r in recs if not r.config.get("infra")]
        if not members:
            raise UsageError(f"pod {pod.name} has no containers to describe",
                             hint=f"add one (`pdman create --pod {pod.name} IMAGE`)")
        ports = (infra.config.get("net") or {}).get("ports") if infra else None
        docs.append(kgen.pod_document(
            pod.name, members, hostname=pod.config.get("hostname") or "", ports=ports,
            labels=_k8s_labels(pod.config.get("labels") or {}), created=created))
    if lone:
        ports = [p for r in lone for p in (r.config.get("net") or {}).get("ports") or []]
        docs.insert(0, kgen.pod_document(
            f"{lone[0].name}-pod", [_member(ctx, r, "") for r in lone], ports=ports,
            created=created))
    if options.type == "deployment":
        docs = [kgen.deployment(d, options.replicas) for d in docs]
    if options.service:
        docs = [s for d in docs for s in (kgen.service(d), d) if s is not None]
    return kgen.render(docs, __version__)


def _member(ctx: EngineContext, rec: "Any", pod_name: str) -> "Any":
    from pdman.kube.generate import Member
    from pdman.storage import image_records

    try:
        icfg = image_records.get(ctx.catalog, rec.image_id).config.get("config") or {}
    except PdmanError:
        icfg = {}                  # the image is gone: describe the container as it is
    name = rec.name
    if pod_name and name.startswith(f"{pod_name}-"):
        name = name[len(pod_name) + 1:]          # kube play named it POD-NAME
    return Member(name, rec.config, icfg)


def _k8s_labels(labels: "dict[str, str]") -> "dict[str, str]":
    """The labels Kubernetes accepts (a value: at most 63 of [A-Za-z0-9_.-])."""
    import re

    ok = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$")
    key_ok = re.compile(r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
    return {k: v for k, v in labels.items() if key_ok.match(k) and ok.match(v) and k != "app"}


__all__ = ["build_file", "down", "generate", "play"]
