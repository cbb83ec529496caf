"""Declarations: `events` (also `system events`) and `auto-update`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by


@handled_by("events.events")
def events(
    filter: Annotated[Optional[list[str]], typer.Option(
        "--filter", "-f", help="Only events matching KEY=VALUE (repeatable; values of one "
        "key are alternatives): container=, image=, event= (or status=), type= (container, "
        "image, volume, network), label=KEY[=VALUE], volume=, network=, pod=, since=, "
        "until=.")] = None,
    format: Annotated[Optional[str], typer.Option(
        "--format", help="`json` (one JSON object per line), or a Go template such as "
        "'{{.Time}} {{.Type}} {{.Status}} {{.Name}}'.")] = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", help="Show events since TIME: RFC 3339, a date, a Unix time, or a "
        "duration before now (10m, 1h30m).")] = None,
    until: Annotated[Optional[str], typer.Option(
        "--until", help="Show events until TIME (as --since; a duration is after now); "
        "pdman exits then.")] = None,
    stream: Annotated[bool, typer.Option(
        "--stream/--no-stream", help="Keep printing new events as they happen (default); "
        "--no-stream prints the logged ones and exits.")] = True,
    no_trunc: Annotated[bool, typer.Option(
        "--no-trunc", help="Do not truncate IDs (the default, as in podman 4.3).")] = True,
) -> None:
    """Show events of containers, images, volumes and networks as they happen, from
    pdman's event log (containers.conf `events_logger`, `events_logfile_path`,
    `events_logfile_max_size`). Without --since, only new events are shown."""


groups.register(events, (groups.top, "events"), (groups.system, "events"))


@handled_by("events.auto_update")
def auto_update(
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Only check which containers have a newer image; change "
        "nothing (UPDATED says `pending`).")] = False,
    rollback: Annotated[bool, typer.Option(
        "--rollback/--no-rollback", help="When a restarted unit fails, tag the previous "
        "image again and restart the unit on it (default).")] = True,
    format: Annotated[Optional[str], typer.Option(
        "--format", help="`json`, or a Go template over Unit, Container, ContainerName, "
        "ContainerID, Image, Policy, Updated.")] = None,
    authfile: Annotated[Optional[str], typer.Option(
        "--authfile", help="Registry credentials file (default: auth.json of "
        "containers-auth.json(5)).")] = None,
) -> None:
    """Update containers whose label io.containers.autoupdate is `registry` (a newer image
    in the registry, by digest) or `local` (a newer image in the local store), and that
    run in a systemd unit (PODMAN_SYSTEMD_UNIT in their environment): pull the image,
    restart the unit, and roll back to the previous image if the unit fails to start."""


groups.register(auto_update, (groups.top, "auto-update"))
