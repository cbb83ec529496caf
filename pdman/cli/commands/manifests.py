"""Declarations: `manifest create/add/inspect/annotate/remove/rm/exists/push`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.commands.images import Authfile, CertDir, Creds, TlsVerify
from pdman.cli.decl import handled_by

All = Annotated[bool, typer.Option(
    "--all", help="When the image to add is itself a list, add all of its images (default: "
                  "only the host platform's).")]
Annotation = Annotated[Optional[list[str]], typer.Option(
    "--annotation", metavar="KEY=VALUE", help="Set an annotation on the image's entry.")]
Arch = Annotated[Optional[str], typer.Option(
    "--arch", help="Override the architecture recorded for the image.")]
Os = Annotated[Optional[str], typer.Option("--os", help="Override the OS recorded for the image.")]
OsVersion = Annotated[Optional[str], typer.Option(
    "--os-version", help="Override the OS version recorded for the image.")]
Variant = Annotated[Optional[str], typer.Option(
    "--variant", help="Override the architecture variant recorded for the image.")]
Features = Annotated[Optional[list[str]], typer.Option(
    "--features", help="Override the features recorded for the image.")]


@handled_by("manifests.create")
def create(
    name: Annotated[str, typer.Argument(help="Name of the list, e.g. mylist:v1.")],
    images: Annotated[Optional[list[str]], typer.Argument(help="Images to add to it.")] = None,
    all: All = False,
    amend: Annotated[bool, typer.Option(
        "--amend", "-a", help="Modify the list of that name if there is one.")] = False,
    tls_verify: TlsVerify = None,
) -> None:
    """Create a manifest list (a Docker manifest list, as podman's); prints its ID."""


@handled_by("manifests.add")
def add(
    name: Annotated[str, typer.Argument(help="The list.")],
    images: Annotated[list[str], typer.Argument(
        help="Images to add: a local image (or containers-storage:NAME), or a registry "
             "reference (docker://REF, or a name not in local storage).")],
    all: All = False,
    annotation: Annotation = None,
    arch: Arch = None,
    authfile: Authfile = None,
    cert_dir: CertDir = None,
    creds: Creds = None,
    features: Features = None,
    os: Os = None,
    os_version: OsVersion = None,
    tls_verify: TlsVerify = None,
    variant: Variant = None,
) -> None:
    """Add images to a manifest list; prints the list's ID. An image already in it (same
    manifest digest) is replaced."""


@handled_by("manifests.inspect")
def inspect(
    name: Annotated[str, typer.Argument(
        help="The list, or a registry reference (its manifest is fetched).")],
    tls_verify: TlsVerify = None,
) -> None:
    """Print a manifest list as JSON."""


@handled_by("manifests.annotate")
def annotate(
    name: Annotated[str, typer.Argument(help="The list.")],
    image: Annotated[str, typer.Argument(
        help="The instance: its manifest digest, or the local image added.")],
    annotation: Annotation = None,
    arch: Arch = None,
    features: Features = None,
    os: Os = None,
    os_features: Annotated[Optional[list[str]], typer.Option(
        "--os-features", help="Override the OS features recorded for the image.")] = None,
    os_version: OsVersion = None,
    variant: Variant = None,
) -> None:
    """Set annotations and platform fields of an image in a manifest list; prints the
    list's ID."""


@handled_by("manifests.remove")
def remove(
    name: Annotated[str, typer.Argument(help="The list.")],
    image: Annotated[str, typer.Argument(help="The instance's manifest digest.")],
) -> None:
    """Remove an image from a manifest list; prints the list's ID."""


@handled_by("manifests.rm")
def rm(names: Annotated[list[str], typer.Argument(help="Lists to remove.")]) -> None:
    """Remove manifest lists (not the images in them)."""


@handled_by("manifests.exists")
def exists(name: Annotated[str, typer.Argument(help="The list.")]) -> None:
    """Exit 0 if the manifest list exists, 1 if not."""


@handled_by("manifests.push")
def push(
    name: Annotated[str, typer.Argument(help="The list.")],
    destination: Annotated[str, typer.Argument(
        help="Where: [docker://]REGISTRY/REPOSITORY[:TAG].")],
    all: Annotated[bool, typer.Option(
        "--all/--no-all", help="Also push the images in the list (default true).")] = True,
    authfile: Authfile = None,
    cert_dir: CertDir = None,
    compression_format: Annotated[Optional[str], typer.Option(
        "--compression-format", help="Compression of layers (gzip: images are pushed with "
                                     "the layers they were stored with).")] = None,
    creds: Creds = None,
    digestfile: Annotated[Optional[str], typer.Option(
        "--digestfile", help="Write the digest of the pushed list to this file.")] = None,
    format: Annotated[Optional[str], typer.Option(
        "--format", "-f", help="Type of the list: oci or v2s2 (default: the list's own).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no progress.")] = False,
    rm: Annotated[bool, typer.Option("--rm", help="Remove the list after the push.")] = False,
    tls_verify: TlsVerify = None,
) -> None:
    """Push a manifest list and (with --all, the default) its images to a registry."""


groups.register(create, (groups.manifest, "create"))
groups.register(add, (groups.manifest, "add"))
groups.register(inspect, (groups.manifest, "inspect"))
groups.register(annotate, (groups.manifest, "annotate"))
groups.register(remove, (groups.manifest, "remove"))
groups.register(rm, (groups.manifest, "rm"))
groups.register(exists, (groups.manifest, "exists"))
groups.register(push, (groups.manifest, "push"))
