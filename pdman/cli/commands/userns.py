"""Declarations: `unshare`, and `mount`/`unmount` (which work inside it)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import Latest, NoTrunc


@handled_by("userns.unshare")
def unshare(
    command: Annotated[Optional[list[str]], typer.Argument(
        help="Command and arguments (default: your $SHELL).")] = None,
    rootless_netns: Annotated[bool, typer.Option(
        "--rootless-netns", help="Run it in the network namespace that holds the bridges "
                                 "of user-defined networks too (started if none runs).")] = False,
) -> None:
    """Run a command as root of your user namespace -- the mapping your store's files
    are owned through (your UID as 0, then your subordinate range) -- with a mount
    namespace of its own, where `pdman mount` works. Exits with the command's status."""


@handled_by("userns.mount")
def mount(
    containers: Annotated[Optional[list[str]], typer.Argument(
        help="Containers to mount (none: list the mounted ones).")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Mount every container.")] = False,
    format: Annotated[Optional[str], typer.Option(
        "--format", help="json: the mounted containers as JSON.")] = None,
    latest: Latest = False,
    no_trunc: NoTrunc = False,
) -> None:
    """Mount a container's root filesystem and print its path (inside `pdman unshare`
    only, as rootless podman); a running container's is its /proc/PID/root."""


@handled_by("userns.unmount")
def unmount(
    containers: Annotated[Optional[list[str]], typer.Argument(help="Containers to unmount.")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Every mounted container.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", "-f", help="Unmount even if it is in use (a lazy unmount always).")] = False,
    latest: Latest = False,
) -> None:
    """Unmount what `pdman mount` mounted (inside `pdman unshare`); prints each name."""


groups.register(unshare, (groups.top, "unshare"), stop_at_args=True)
groups.register(mount, (groups.top, "mount"), (groups.container, "mount"))
groups.register(unmount, (groups.top, "unmount"), (groups.container, "unmount"),
                (groups.top, "umount"), (groups.container, "umount"))


@handled_by("userns.image_mount")
def image_mount(
    images: Annotated[Optional[list[str]], typer.Argument(
        help="Images to mount (none: list the mounted ones).")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Mount every image.")] = False,
    format: Annotated[Optional[str], typer.Option(
        "--format", help="json: the mounted images as JSON.")] = None,
) -> None:
    """Mount images read-only and print their paths (inside `pdman unshare` only, as
    rootless podman)."""


@handled_by("userns.image_unmount")
def image_unmount(
    images: Annotated[Optional[list[str]], typer.Argument(help="Images to unmount.")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Every mounted image.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", "-f", help="Unmount even if it is in use (a lazy unmount always).")] = False,
) -> None:
    """Unmount what `pdman image mount` mounted (inside `pdman unshare`); prints each ID."""


@handled_by("userns.volume_mount")
def volume_mount(name: Annotated[str, typer.Argument(help="The volume.")]) -> None:
    """Print a volume's mount point, its tmpfs or bind device mounted there (inside
    `pdman unshare` only, as rootless podman)."""


@handled_by("userns.volume_unmount")
def volume_unmount(name: Annotated[str, typer.Argument(help="The volume.")]) -> None:
    """Unmount what `pdman volume mount` mounted (inside `pdman unshare`)."""


groups.register(image_mount, (groups.image, "mount"))
groups.register(image_unmount, (groups.image, "unmount"), (groups.image, "umount"))
groups.register(volume_mount, (groups.volume, "mount"))
groups.register(volume_unmount, (groups.volume, "unmount"), (groups.volume, "umount"))
