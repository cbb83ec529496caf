"""Declarations: image commands (`images`, ...)."""

from __future__ import annotations

from typing import Annotated

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import Filter, Format, NoTrunc, Quiet


@handled_by("images.images")
def images(
    all: Annotated[bool, typer.Option("--all", "-a", help="Show all images (default hides intermediate images).")] = False,
    quiet: Quiet = False,
    no_trunc: NoTrunc = False,
    digests: Annotated[bool, typer.Option("--digests", help="Show the manifest digests.")] = False,
    filter: Filter = None,
    format: Format = None,
) -> None:
    """List images in local storage. Columns: REPOSITORY, TAG, IMAGE ID, CREATED, SIZE."""


groups.register(images, (groups.top, "images"), (groups.image, "ls"), (groups.image, "list"))
