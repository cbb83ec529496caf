"""Declarations: `kube play|down|generate` and podman's older names `play kube`,
`generate kube` (podman 4.3's flags)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options_create import TlsVerify

KubeFile = Annotated[str, typer.Argument(
    metavar="FILE", help="Kubernetes YAML file (several documents separated by ---), or - "
                         "for standard input.")]


@handled_by("kube.play")
def play(
    file: KubeFile,
    configmap: Annotated[Optional[list[str]], typer.Option(
        "--configmap", help="A YAML file of ConfigMap objects the pods' env and volumes may "
                            "use (repeatable).")] = None,
    network: Annotated[Optional[str], typer.Option(
        "--network", help="The pods' network (as `pod create --network`).")] = None,
    annotation: Annotated[Optional[list[str]], typer.Option(
        "--annotation", help="Add KEY=VALUE to every container's annotations (repeatable).")] = None,
    log_driver: Annotated[Optional[str], typer.Option(
        "--log-driver", help="Log driver of the containers (k8s-file, journald, none).")] = None,
    log_opt: Annotated[Optional[list[str]], typer.Option(
        "--log-opt", help="Log driver option of the containers, KEY=VALUE (repeatable).")] = None,
    tls_verify: TlsVerify = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Do not show image pull progress.")] = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Remove the file's pods first if they exist (as `kube down`).")] = False,
    down: Annotated[bool, typer.Option(
        "--down", help="Stop and remove the file's pods instead (`kube down FILE`).")] = False,
    start: Annotated[bool, typer.Option(
        "--start/--no-start", help="Start the pods (default true; --start=false only "
                                   "creates them).")] = True,
    build: Annotated[Optional[bool], typer.Option(
        "--build/--no-build", help="Build every image of the YAML that has a build "
                                   "directory (the image name's last path component, "
                                   "holding a Containerfile or Dockerfile), even if it "
                                   "exists; without --build only missing ones are built; "
                                   "--build=false builds none.")] = None,
    context_dir: Annotated[Optional[str], typer.Option(
        "--context-dir", help="Where the build directories are (default: the current "
                              "directory); needs --build.")] = None,
    no_hosts: Annotated[bool, typer.Option(
        "--no-hosts", help="Do not make /etc/hosts for the pods' containers: the "
                           "image's own stays.")] = False,
    userns: Annotated[Optional[str], typer.Option(
        "--userns", help="User namespace of the pods, as `pod create --userns`: host (or "
                         "empty; the default) or keep-id[:uid=U,gid=G].")] = None,
) -> None:
    """Create and start the pods that Kubernetes YAML describes: Pod, Deployment (one
    pod per replica, NAME-pod-N), ConfigMap (env and volumes), PersistentVolumeClaim (a
    named volume); hostPath and emptyDir volumes, hostPort publishes the port; images
    with a build directory are built first (--build). Prints the volumes, pods and
    containers made."""


@handled_by("kube.down")
def down(file: KubeFile) -> None:
    """Stop and remove the pods (and their containers) that `kube play FILE` made.
    Volumes are kept."""


@handled_by("kube.generate")
def generate(
    names: Annotated[list[str], typer.Argument(
        metavar="CONTAINER|POD...", help="Containers and pods to describe.")],
    filename: Annotated[Optional[str], typer.Option(
        "--filename", "-f", help="Write the YAML to this file instead of standard output.")] = None,
    service: Annotated[bool, typer.Option(
        "--service", "-s", help="Add a Service (NodePort) for the published ports.")] = False,
    type: Annotated[str, typer.Option(
        "--type", "-t", help="Kind of the output: pod (default) or deployment.")] = "pod",
    replicas: Annotated[int, typer.Option(
        "--replicas", "-r", help="Replicas of a --type deployment (default 1).")] = 1,
) -> None:
    """Write containers and pods as Kubernetes YAML: a Pod (or Deployment) per pod,
    one Pod for the containers named that are in no pod. Image, command and args, env,
    ports, volumes (PersistentVolumeClaims for named volumes, hostPath for binds),
    securityContext, resource limits, liveness probe from a healthcheck."""


groups.register(play, (groups.kube, "play"), (groups.play, "kube"))
groups.register(down, (groups.kube, "down"))
groups.register(generate, (groups.kube, "generate"), (groups.generate, "kube"))
