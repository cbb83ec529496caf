"""Declaration: top-level `inspect` (containers and images, like podman's)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import Format, Latest


@handled_by("inspect.inspect")
def inspect(
    names: Annotated[Optional[list[str]], typer.Argument(help="Containers or images (name or ID).")] = None,
    format: Format = None,
    type: Annotated[str, typer.Option(
        "--type", "-t", help="What to look for: all (containers first), container or image.")] = "all",
    size: Annotated[bool, typer.Option("--size", "-s", help="Containers: add SizeRw (the bytes written in its layer) and SizeRootFs (those "
                "plus its image's), as podman.")] = False,
    latest: Latest = False,
) -> None:
    """Show the configuration and state of containers or images as JSON."""


groups.register(inspect, (groups.top, "inspect"))
