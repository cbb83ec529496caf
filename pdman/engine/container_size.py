"""A container's sizes, for `ps --size` and `inspect --size` (podman's SizeRw and
SizeRootFs): walked on demand, never on the plain `ps`/`inspect` path."""

from __future__ import annotations

import os

from pdman.engine.context import EngineContext
from pdman.errors import ImageNotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.storage.container_records import ContainerRecord


def files_size(path: str) -> int:
    """The bytes of the files (and symlinks) under `path`; directories count nothing, so
    an untouched container layer is 0, as in podman."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(path, onerror=lambda e: None):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def sizes(ctx: EngineContext, rec: "ContainerRecord") -> tuple[int, int]:
    """(SizeRw, SizeRootFs): the bytes written in the container's layer, and those plus
    its image's (for --rootfs DIR: that directory's), what the container sees as /."""
    from pdman.storage import image_records
    from pdman.storage.container_fs import ContainerDirs

    rw = files_size(ContainerDirs(ctx.paths, rec.id).upper)
    base = 0
    if rec.image_id:
        try:
            base = image_records.get(ctx.catalog, rec.image_id).size
        except ImageNotFound:   # its image went meanwhile (`rmi -f`): the layer alone
            base = 0
    else:
        rootfs = (rec.config.get("rootfs") or {}).get("path") or ""
        base = files_size(rootfs) if rootfs else 0
    return rw, base + rw


def sizes_of(ctx: EngineContext, name: str) -> tuple[int, int]:
    """`sizes` of the container `name` (a name or an ID)."""
    from pdman.storage import container_records

    return sizes(ctx, container_records.find(ctx.catalog, name))

