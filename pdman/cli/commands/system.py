"""Declarations: `info`, `system info`."""

from __future__ import annotations

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import Format


@handled_by("system.info")
def info(format: Format = None) -> None:
    """Show what the rootless engine found on this host: user namespaces, subordinate
    ID ranges, overlay mode, network backends, cgroups, and the store paths."""


groups.register(info, (groups.top, "info"), (groups.system, "info"))


from typing import Annotated  # noqa: E402

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
