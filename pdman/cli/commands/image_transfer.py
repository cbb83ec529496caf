"""Declarations: `push`, `save`, `load`, `commit`, `import` (images in and out)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.commands.images import Authfile, CertDir, Creds, TlsVerify
from pdman.cli.decl import handled_by

Change = Annotated[Optional[list[str]], typer.Option(
    "--change", "-c", metavar="INSTRUCTION",
    help="Apply a Dockerfile instruction to the image config: CMD, ENTRYPOINT, ENV, "
         "EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL (e.g. --change 'CMD [\"sh\"]').")]
Message = Annotated[Optional[str], typer.Option(
    "--message", "-m", help="Commit message, kept as the comment of the history entry.")]


@handled_by("image_transfer.push")
def push(
    image: Annotated[str, typer.Argument(help="The local image (name or ID).")],
    destination: Annotated[Optional[str], typer.Argument(
        help="Where to push: [docker://]REGISTRY/REPOSITORY[:TAG] (default: the image's name).")] = None,
    tls_verify: TlsVerify = None,
    creds: Creds = None,
    authfile: Authfile = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no progress.")] = False,
    format: Annotated[Optional[str], typer.Option(
        "--format", "-f", help="Manifest type to write: oci or v2s2 (default: keep the image's "
                               "own, so an unchanged pulled image keeps its digest).")] = None,
    digestfile: Annotated[Optional[str], typer.Option(
        "--digestfile", help="Write the digest of the pushed manifest to this file.")] = None,
    cert_dir: CertDir = None,
    compress: Annotated[bool, typer.Option(
        "--compress", help="Compress layers when pushing to a dir: destination (pdman pushes "
                           "to registries only, where layers are compressed: no effect).")] = False,
    compression_format: Annotated[Optional[str], typer.Option(
        "--compression-format", help="Compression of the layers pushed: gzip (pdman keeps "
                                     "layers as pulled, gzip; zstd is refused).")] = None,
) -> None:
    """Push an image to a registry: blobs the registry lacks, then the manifest."""


groups.register(push, (groups.top, "push"), (groups.image, "push"))


@handled_by("image_transfer.save")
def save(
    images: Annotated[list[str], typer.Argument(help="Images to save (names or IDs).")],
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", help="Write to this file instead of stdout.")] = None,
    format: Annotated[str, typer.Option(
        "--format", help="Archive format: docker-archive or oci-archive.")] = "docker-archive",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no progress.")] = False,
    multi_image_archive: Annotated[bool, typer.Option(
        "--multi-image-archive", "-m", help="Take every argument as an image (pdman always "
                                            "does: a docker-archive holds them all).")] = False,
    uncompressed: Annotated[bool, typer.Option(
        "--uncompressed", help="oci-archive: write the layers as plain tars.")] = False,
    compress: Annotated[bool, typer.Option(
        "--compress", help="Compress the layers of an oci-dir or docker-dir (pdman writes "
                           "archives only, so it is refused, as podman refuses it for them).")] = False,
) -> None:
    """Save images to a tar archive (docker-archive holds several images)."""


groups.register(save, (groups.top, "save"), (groups.image, "save"))


@handled_by("image_transfer.load")
def load(
    input: Annotated[Optional[str], typer.Option(
        "--input", "-i",
        help="Read the archive from this file, or download it from an http(s):// URL, "
             "instead of stdin.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no progress.")] = False,
) -> None:
    """Load images from a docker-archive or oci-archive tarball (pdman, podman, docker and
    skopeo write them). Layers already stored are reused."""


groups.register(load, (groups.top, "load"), (groups.image, "load"))


@handled_by("image_transfer.commit")
def commit(
    container: Annotated[str, typer.Argument(help="Container name or ID.")],
    image: Annotated[Optional[str], typer.Argument(help="Name of the new image, NAME[:TAG].")] = None,
    message: Message = None,
    author: Annotated[Optional[str], typer.Option(
        "--author", "-a", help="Author of the new image, e.g. 'Jane <jane@example.com>'.")] = None,
    change: Change = None,
    pause: Annotated[bool, typer.Option(
        "--pause", "-p", help="Freeze the container's processes while committing, where the "
                              "cgroup v2 freezer is available, for a consistent snapshot (the "
                              "writable layer is read safely either way).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the image ID.")] = False,
    format: Annotated[str, typer.Option(
        "--format", "-f", help="Type of the image's manifest and config: oci or docker.")] = "oci",
    iidfile: Annotated[Optional[str], typer.Option(
        "--iidfile", help="Write the new image's ID (sha256:...) to this file.")] = None,
    include_volumes: Annotated[bool, typer.Option(
        "--include-volumes", help="Make the container's volume and bind mount paths VOLUMEs "
                                  "of the image.")] = False,
    squash: Annotated[bool, typer.Option(
        "--squash", "-s", help="Merge the image's layers and the container's changes into one "
                               "layer.")] = False,
) -> None:
    """Create an image from a container's changes: its writable layer becomes a new layer on
    top of the container's image. Prints the new image ID."""


groups.register(commit, (groups.top, "commit"), (groups.container, "commit"))


@handled_by("image_transfer.import_")
def import_(
    source: Annotated[str, typer.Argument(help="A tarball of a root filesystem, or - for stdin.")],
    image: Annotated[Optional[str], typer.Argument(help="Name of the new image, NAME[:TAG].")] = None,
    change: Change = None,
    message: Message = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the image ID.")] = False,
    arch: Annotated[Optional[str], typer.Option(
        "--arch", help="Architecture recorded in the image's config (default: the host's).")] = None,
    os: Annotated[Optional[str], typer.Option(
        "--os", help="OS recorded in the image's config (default: the host's, linux).")] = None,
    variant: Annotated[Optional[str], typer.Option(
        "--variant", help="Architecture variant recorded in the image's config, e.g. v8.")] = None,
) -> None:
    """Create an image from a root filesystem tarball (e.g. from `pdman export`): one layer.
    Prints the new image ID."""


groups.register(import_, (groups.top, "import"), (groups.image, "import"))
