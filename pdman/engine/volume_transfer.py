"""`volume export` and `volume import`: a volume's files as a tar stream, and back.

The files belong to container users (the user's subordinate IDs), so both run as root
of the user's user namespace (`run_in_userns`), with the volume's directory read and
written through fds: `export` walks it without following symlinks (storage/fdtree.py),
`import` unpacks with the guarantees of `cp` into a container (nothing lands outside
the volume, whatever the archive says; numeric owners).
"""

from __future__ import annotations

import os
import tarfile

from pdman.engine.context import EngineContext
from pdman.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def _directory(ctx: EngineContext, name: str) -> str:
    """The host directory holding the volume's files."""
    from pdman.engine import volumes

    vol = volumes.inspect(ctx, name)
    kind = volumes.backing(vol)
    if kind and kind[0] == "tmpfs":
        raise UsageError(f"volume {vol.name} is a tmpfs (`-o type=tmpfs`): it keeps no files",
                         hint="export the files from a running container's tmpfs with `cp`")
    if kind and kind[0] == "bind":
        return str(kind[1])
    return vol.mountpoint


def _tar_dir(path: str, out_fd: int) -> int:
    from pdman.storage import fdtree

    top = os.open(path, fdtree.DIR_FLAGS)
    try:
        with os.fdopen(os.dup(out_fd), "wb") as out, \
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            return fdtree.TreeTar(tar, one_fs=True).add_tree(top)
    finally:
        os.close(top)


def _untar_into(path: str, in_fd: int) -> int:
    from pdman.storage import fdtree
    from pdman.storage.unpack import unpack_into

    top = os.open(path, fdtree.DIR_FLAGS)
    try:
        with os.fdopen(os.dup(in_fd), "rb") as src:
            return unpack_into(src, top)
    finally:
        os.close(top)


def _confined(caps: "tuple[str, ...]", fn: "Callable[..., int]", *args: "Any") -> int:
    """In the user namespace: only the capabilities the job needs (container_files)."""
    from pdman.engine.container_files import confine

    confine(caps)
    return fn(*args)


def export_volume(ctx: EngineContext, name: str, out_fd: int) -> int:
    """Write the volume's files as a tar stream to `out_fd`; the entries written."""
    from pdman.engine.container_files import READ_CAPS
    from pdman.runtime.idmap import run_in_userns

    path = _directory(ctx, name)
    return run_in_userns(_confined, READ_CAPS, _tar_dir, path, out_fd)


def import_volume(ctx: EngineContext, name: str, in_fd: int) -> int:
    """Unpack the tar stream (plain or compressed) read from `in_fd` into the volume;
    the entries written."""
    from pdman.engine.container_files import WRITE_CAPS
    from pdman.runtime.idmap import run_in_userns

    path = _directory(ctx, name)
    return run_in_userns(_confined, WRITE_CAPS, _untar_into, path, in_fd)


__all__ = ["export_volume", "import_volume"]
