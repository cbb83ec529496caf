"""Declarations: `diff`, `export`, `cp` (a container's files)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import Format, Latest


@handled_by("container_files.diff")
def diff(
    container: Annotated[Optional[str], typer.Argument(help="Container name or ID.")] = None,
    format: Format = None,
    latest: Latest = False,
) -> None:
    """Show what changed in a container's filesystem: A (added), C (changed), D (deleted)."""


@handled_by("container_files.export")
def export(
    container: Annotated[str, typer.Argument(help="Container name or ID.")],
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Export a container's filesystem as a tar archive."""


@handled_by("container_files.cp")
def cp(
    source: Annotated[str, typer.Argument(help="SRC: a host path, CONTAINER:PATH, or - (a tar on stdin).")],
    destination: Annotated[str, typer.Argument(help="DEST: a host path, CONTAINER:PATH, or - (a tar on stdout).")],
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace a directory by a non-directory of the same name, and "
                            "the reverse (else that is an error).")] = False,
) -> None:
    """Copy files between a container and the host, or between two containers (`-` for
    tar streams). A relative container path is relative to its working directory."""


groups.register(diff, (groups.top, "diff"), (groups.container, "diff"))
groups.register(export, (groups.top, "export"), (groups.container, "export"))
groups.register(cp, (groups.top, "cp"), (groups.container, "cp"))
