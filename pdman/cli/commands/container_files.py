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
    archive: Annotated[bool, typer.Option(
        "--archive/--no-archive", "-a", help="Into a container: the copied files get its "
                                             "primary UID/GID (the default); =false: they "
                                             "keep the owners of the source -- files of the "
                                             "caller its root, those of others nobody "
                                             "(65534), a tar stream's as it names them.")] = True,
) -> None:
    """Copy files between a container and the host, or between two containers (`-` for
    tar streams). A relative container path is relative to its working directory."""


groups.register(diff, (groups.top, "diff"), (groups.container, "diff"))
groups.register(export, (groups.top, "export"), (groups.container, "export"))
groups.register(cp, (groups.top, "cp"), (groups.container, "cp"))


@handled_by("container_files.runlabel")
def runlabel(
    label: Annotated[str, typer.Argument(help="The label holding the command (e.g. RUN, INSTALL).")],
    image: Annotated[str, typer.Argument(help="The image (pulled when missing).")],
    args: Annotated[Optional[list[str]], typer.Argument(help="Appended to the command.")] = None,
    authfile: Annotated[Optional[str], typer.Option(
        "--authfile", help="Credentials file for the pull.")] = None,
    creds: Annotated[Optional[str], typer.Option(
        "--creds", help="USER:PASSWORD for the pull.")] = None,
    display: Annotated[bool, typer.Option(
        "--display", help="Print the command the label would run; run nothing.")] = False,
    name: Annotated[Optional[str], typer.Option(
        "--name", "-n", help="The container name NAME stands for (default: the image's "
                             "base name).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No pull progress.")] = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Remove the container --name names first, if it exists.")] = False,
    tls_verify: Annotated[Optional[bool], typer.Option(
        "--tls-verify/--no-tls-verify", show_default=False,
        help="Require HTTPS for the pull (--tls-verify=false: allow plain HTTP).")] = None,
    cert_dir: Annotated[Optional[str], typer.Option(
        "--cert-dir", help="Use the CA certificates in this directory for the pull's "
                           "registry.")] = None,
) -> None:
    """Run the command line an image keeps in a label (podman's IMAGE and NAME words
    replaced; a leading podman or docker is pdman)."""


groups.register(runlabel, (groups.container, "runlabel"), stop_at_args=True)


@handled_by("container_files.image_diff")
def image_diff(
    image: Annotated[str, typer.Argument(help="The image (name or ID).")],
    other: Annotated[Optional[str], typer.Argument(
        help="An image built on IMAGE, or its base: the changes between the two.")] = None,
    format: Annotated[Optional[str], typer.Option(
        "--format", help="json: the changes as JSON (added, changed, deleted).")] = None,
) -> None:
    """Show what an image's top layer changes: A (added), C (changed), D (deleted)."""


groups.register(image_diff, (groups.image, "diff"))
