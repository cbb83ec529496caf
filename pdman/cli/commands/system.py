"""Declarations: `info`, `system info|check|reset|prune`, `version`."""

from __future__ import annotations

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import Format


@handled_by("system.info")
def info(format: Format = None) -> None:
    """Show what the rootless engine found on this host: user namespaces, subordinate
    ID ranges, overlay mode, network backends, cgroups, and the store paths."""


groups.register(info, (groups.top, "info"), (groups.system, "info"))


from typing import Annotated, Optional  # noqa: E402

import typer  # noqa: E402


@handled_by("system.check")
def check(
    repair: Annotated[bool, typer.Option("--repair", "-r", help="Fix what is found (remove garbage, forget broken images).")] = False,
    format: Format = None,
) -> None:
    """Check the store against the catalog after a crash: leftover downloads and unpacks,
    interrupted removals, orphan layers and writable layers, images with missing layers,
    containers whose process is gone. Exits 1 when something is left unrepaired."""


@handled_by("system.reset")
def reset(
    force: Annotated[bool, typer.Option("--force", "-f", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove every container, image, layer and volume, and the store itself."""


groups.register(check, (groups.system, "check"))
groups.register(reset, (groups.system, "reset"))


@handled_by("system.prune")
def prune(
    all: Annotated[bool, typer.Option(
        "--all", "-a", help="Remove every image no container uses, not only dangling ones.")] = False,
    filter: Annotated[Optional[list[str]], typer.Option(
        "--filter", help="Only what matches KEY=VALUE (label=..., until=...), for images, "
                         "networks and volumes (repeatable).")] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Do not ask for confirmation.")] = False,
    volumes: Annotated[bool, typer.Option(
        "--volumes", help="Remove the volumes no container uses too.")] = False,
) -> None:
    """Remove unused data: stopped containers, networks no container uses, dangling
    images (with --all: every unused image), and with --volumes, unused volumes."""


@handled_by("system.version")
def version(format: Annotated[Optional[str], typer.Option(
        "--format", "-f", help="`json`, or a Go template such as '{{.Client.Version}}'.")] = None,
) -> None:
    """Show pdman's version (podman's fields: Client.Version, Client.APIVersion,
    Client.GoVersion, Client.OsArch, ...; Go fields name the Python pdman runs on)."""


groups.register(prune, (groups.system, "prune"))
groups.register(version, (groups.top, "version"))


@handled_by("system.service")
def service(
    uri: Annotated[str | None, typer.Argument(
        help="Where to listen: unix:///PATH (default unix://$XDG_RUNTIME_DIR/pdman/pdman.sock) "
             "or tcp://127.0.0.1:PORT (unauthenticated: on request only).")] = None,
    time: Annotated[int, typer.Option(
        "--time", "-t", help="Seconds without a connection before the service exits; "
        "0: never.")] = 5,
) -> None:
    """Serve the Docker-compatible REST API (docker CLI, docker-py, compose) for this
    user's containers, on a Unix socket only this user may connect to. No container
    depends on the service: they outlive it, and the CLI sees what the API made.
    Started by systemd socket activation (pdman.socket), it serves the socket passed in
    LISTEN_FDS. Clients need `DOCKER_HOST=unix://$XDG_RUNTIME_DIR/pdman/pdman.sock`."""


groups.register(service, (groups.system, "service"))
