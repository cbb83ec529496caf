"""Declaration: top-level `inspect` (containers and images, like podman's)."""

from __future__ import annotations

from typing import Annotated

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import Format


@handled_by("inspect.inspect")
def inspect(
    names: Annotated[list[str], typer.Argument(help="Containers or images (name or ID).")],
    format: Format = None,
    type: Annotated[str, typer.Option(
        "--type", "-t", help="What to look for: all (containers first), container or image.")] = "all",
    size: Annotated[bool, typer.Option("--size", "-s", help="Accepted for podman compatibility.")] = False,
) -> None:
    """Show the configuration and state of containers or images as JSON."""


groups.register(inspect, (groups.top, "inspect"))
