"""Declarations: container commands (`ps`, ...)."""

from __future__ import annotations

from typing import Annotated

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import Filter, Format, NoTrunc, Quiet


@handled_by("containers.ps")
def ps(
    all: Annotated[bool, typer.Option("--all", "-a", help="Show all containers, not only running ones.")] = False,
    quiet: Quiet = False,
    no_trunc: NoTrunc = False,
    filter: Filter = None,
    format: Format = None,
    last: Annotated[int, typer.Option("--last", "-n", help="Show the N most recently created containers (all states).")] = -1,
    latest: Annotated[bool, typer.Option("--latest", "-l", help="Show the latest created container (all states).")] = False,
) -> None:
    """List containers. Columns: CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES."""


groups.register(ps, (groups.top, "ps"), (groups.container, "ps"), (groups.container, "ls"),
                (groups.container, "list"))
