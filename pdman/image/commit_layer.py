"""A container's writable layer as a layer tarball (`commit`).

The upper dir holds rootless overlay markers; in a layer they are written the OCI way:
a whiteout (character device 0/0) becomes an empty `.wh.NAME`, an opaque directory
(xattr `user.overlay.opaque=y`) gets a `.wh..wh..opq` entry. The tree is read inside
the user namespace, so owners are the container's IDs, not the host's subordinate ones.

A running container changes its upper dir while we read it, and may swap a file or a
directory for a symlink to a host file between our check and our open: the tree is
read through directory fds without following any symlink, and each header is the
fstat of the fd its data comes from (storage/fdtree.py), so no host file can end up
in the layer. Headers carry numeric owners only (no NSS lookup).
"""

from __future__ import annotations

import os
import tarfile

from pdman.engine.context import EngineContext
from pdman.storage import fdtree
from pdman.storage.container_fs import ContainerDirs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.storage.container_records import ContainerRecord


def _write(upper: str, out_fd: int) -> int:
    from pdman.engine.container_files import READ_CAPS, confine

    top = os.open(upper, fdtree.DIR_FLAGS)
    try:
        confine(READ_CAPS)
        with os.fdopen(out_fd, "wb", closefd=False) as out, \
                tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            return fdtree.TreeTar(tar, layer=True).add_tree(top)
    finally:
        os.close(top)


def write_upper_tar(ctx: EngineContext, rec: "ContainerRecord", out_path: str) -> int:
    """Write the container's changes as a plain tar at `out_path`; returns the entries."""
    from pdman.runtime import idmap, userns_mode

    upper = ContainerDirs(ctx.paths, rec.id).upper
    # seen through the container's own mapping (--userns=keep-id moves the owners)
    mapping = userns_mode.mapping(idmap.mapping_for_current_user(), rec.config.get("userns"))
    # opened here, written there (the fork inherits it): a --userns=auto container's
    # root could not open a file in root's store
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        return idmap.run_in_userns(_write, upper, fd, mapping=mapping)
    finally:
        os.close(fd)


__all__ = ["write_upper_tar"]
