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
