"""Declarations: `volume create/ls/inspect/rm/prune`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import Filter, Force, Format, NoHeading, Quiet


@handled_by("volumes.create")
def create(
    name: Annotated[Optional[str], typer.Argument(help="Volume name (generated when omitted).")] = None,
    driver: Annotated[str, typer.Option("--driver", "-d", help="Volume driver (only `local`).")] = "local",
    label: Annotated[Optional[list[str]], typer.Option("--label", "-l", help="Set a label KEY=VALUE.")] = None,
    opt: Annotated[Optional[list[str]], typer.Option("--opt", "-o", help="Driver option KEY=VALUE: type=tmpfs (a fresh tmpfs in each container, "
                     "o=size=64m,...), or type=bind / o=bind with device=PATH (PATH must exist).")] = None,
    ignore: Annotated[bool, typer.Option("--ignore", help="Do nothing if the volume exists.")] = False,
) -> None:
    """Create a named volume."""


@handled_by("volumes.ls")
def ls(quiet: Quiet = False, filter: Filter = None, format: Format = None,
       noheading: NoHeading = False) -> None:
    """List volumes. Columns: DRIVER, VOLUME NAME."""


@handled_by("volumes.inspect")
def inspect(
    names: Annotated[Optional[list[str]], typer.Argument(help="Volumes to inspect.")] = None,
    format: Format = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Inspect every volume.")] = False,
) -> None:
    """Show a volume's details as JSON."""


@handled_by("volumes.rm")
def rm(
    names: Annotated[Optional[list[str]], typer.Argument(help="Volumes to remove.")] = None,
    force: Force = False,
    all: Annotated[bool, typer.Option("--all", "-a", help="Remove all volumes.")] = False,
    time: Annotated[Optional[int], typer.Option(
        "--time", "-t", help="With --force: seconds the containers get to stop (their stop "
                             "signal) before they are killed (default: killed at once, as "
                             "`rm -f`).")] = None,
) -> None:
    """Remove volumes. A volume used by a container is kept unless --force."""


@handled_by("volumes.prune")
def prune(
    force: Force = False,
    filter: Filter = None,
) -> None:
    """Remove all volumes that no container uses."""


@handled_by("volumes.exists")
def exists(name: Annotated[str, typer.Argument(help="The volume.")]) -> None:
    """Exit 0 if the volume exists, 1 if not."""


@handled_by("volumes.export")
def export(
    name: Annotated[str, typer.Argument(help="The volume.")],
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", help="Write to this file (default: stdout, which must not be a "
                               "terminal).")] = None,
) -> None:
    """Write a volume's files as a tar archive."""


@handled_by("volumes.import_")
def import_(
    name: Annotated[str, typer.Argument(help="The volume (it must exist).")],
    source: Annotated[str, typer.Argument(
        help="A tar archive (plain, gzip, zstd ...); `-`: stdin.")] = "-",
) -> None:
    """Unpack a tar archive into a volume (files already there are replaced)."""


groups.register(create, (groups.volume, "create"))
groups.register(export, (groups.volume, "export"))
groups.register(import_, (groups.volume, "import"))
groups.register(exists, (groups.volume, "exists"))
groups.register(ls, (groups.volume, "ls"), (groups.volume, "list"))
groups.register(inspect, (groups.volume, "inspect"))
groups.register(rm, (groups.volume, "rm"), (groups.volume, "remove"))
groups.register(prune, (groups.volume, "prune"))
