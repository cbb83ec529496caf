"""`image mount`/`image unmount` and `volume mount`/`volume unmount`: as rootless
podman, only inside `pdman unshare` (the mount namespace the mounts live in), with
podman's error outside it (engine/unshare.py has the container counterpart).

An image is mounted read-only: overlay of its layers on `<runroot>/image-mounts/ID`
(a one-layer image gets an empty bottom layer: overlay without an upper directory
needs two). A volume's mount point is its `_data` directory; a tmpfs or bind volume
(`volume create -o`) is mounted there, as a container would get it.
"""

from __future__ import annotations

import os

from pdman.engine.context import EngineContext
from pdman.engine.unshare import _check_inside, _mounted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.storage.image_records import ImageRecord


def image_mountpoint(ctx: EngineContext, image_id: str) -> str:
    return os.path.join(ctx.paths.runroot, "image-mounts", image_id)


def mount_image(ctx: EngineContext, rec: "ImageRecord") -> str:
    """Mount the image read-only (unless it is already); the path."""
    from pdman.engine.images import image_lowerdir
    from pdman.runtime import native

    _check_inside("image mount")
    path = image_mountpoint(ctx, rec.id)
    if path in _mounted():
        return path
    empty = os.path.join(ctx.paths.runroot, "image-mounts", ".empty")
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.makedirs(empty, mode=0o700, exist_ok=True)
    lower = image_lowerdir(ctx, rec.id)
    if ":" not in lower:
        lower += ":" + empty
    cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.chdir(ctx.paths.root)     # lowerdir names are relative to the store root
        native.mount("overlay", path, "overlay", native.MS_RDONLY,
                     f"lowerdir={lower},userxattr")
    finally:
        os.fchdir(cwd)
        os.close(cwd)
    return path


def unmount_image(ctx: EngineContext, rec: "ImageRecord") -> bool:
    """Unmount it; False when it was not mounted."""
    from pdman.runtime import native

    _check_inside("image unmount")
    path = image_mountpoint(ctx, rec.id)
    if path not in _mounted():
        return False
    native.umount(path, native.MNT_DETACH)
    return True


def mounted_images(ctx: EngineContext) -> "list[tuple[ImageRecord, str]]":
    from pdman.storage import image_records

    _check_inside("image mount")
    points = _mounted()
    return [(rec, image_mountpoint(ctx, rec.id)) for rec in image_records.list_images(ctx.catalog)
            if image_mountpoint(ctx, rec.id) in points]


def mount_volume(ctx: EngineContext, name: str) -> str:
    """The volume's mount point, with its tmpfs or bind device mounted there."""
    from pdman.engine.volumes import backing
    from pdman.runtime import native
    from pdman.storage import volume_records

    _check_inside("volume mount")
    rec = volume_records.get(ctx.catalog, name)
    how = backing(rec)
    if how is None or rec.mountpoint in _mounted():
        return rec.mountpoint
    kind, what = how
    if kind == "tmpfs":
        # data options only (size=, mode=, uid=, ...): the flags of `o=` are not data
        options = ",".join(o for o in (what if isinstance(what, list) else [str(what)]) if "=" in o)
        native.mount("tmpfs", rec.mountpoint, "tmpfs", 0, options)
    else:
        native.mount(str(what), rec.mountpoint, None, native.MS_BIND | native.MS_REC, None)
    return rec.mountpoint


def unmount_volume(ctx: EngineContext, name: str) -> None:
    from pdman.runtime import native
    from pdman.storage import volume_records

    _check_inside("volume unmount")
    rec = volume_records.get(ctx.catalog, name)
    if rec.mountpoint in _mounted():
        native.umount(rec.mountpoint, native.MNT_DETACH)


__all__ = ["mount_image", "mount_volume", "mounted_images", "unmount_image", "unmount_volume"]
