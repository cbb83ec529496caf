"""A container's writable layer as a layer tarball (`commit`).

The upper dir holds rootless overlay markers; in a layer they are written the OCI way:
a whiteout (character device 0/0) becomes an empty `.wh.NAME`, an opaque directory
(xattr `user.overlay.opaque=y`) gets a `.wh..wh..opq` entry. The tree is read inside
the user namespace, so owners are the container's IDs, not the host's subordinate ones.
"""

from __future__ import annotations

import os
import stat
import tarfile

from pdman.engine.context import EngineContext
from pdman.storage.container_fs import ContainerDirs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.storage.container_records import ContainerRecord

OPAQUE_XATTR = "user.overlay.opaque"


def _marker(name: str, like: tarfile.TarInfo | None = None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = 0o644
    info.size = 0
    if like is not None:
        info.mtime = like.mtime
    return info


def add_entry(tar: tarfile.TarFile, path: str, arcname: str) -> None:
    """One file, directory, link or node into `tar` as it is on disk, without owner
    names: the numeric IDs are what a layer (or an export) means; the names of the
    namespace that reads it mean nothing to whoever unpacks it. Also `export`'s."""
    info = tar.gettarinfo(path, arcname)
    info.uname = info.gname = ""
    if info.isreg():
        with open(path, "rb") as f:
            tar.addfile(info, f)
    else:
        tar.addfile(info)


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _write(upper: str, out_path: str) -> int:
    count = 0
    with tarfile.open(out_path, "w", format=tarfile.PAX_FORMAT) as tar:
        for top, dirs, files in os.walk(upper):
            dirs.sort()
            rel_top = os.path.relpath(top, upper)
            prefix = "" if rel_top == "." else rel_top + "/"
            if prefix and _is_opaque(top):
                tar.addfile(_marker(prefix + ".wh..wh..opq"))
            for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(top, d))]):
                path = os.path.join(top, name)
                st = os.lstat(path)
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    tar.addfile(_marker(prefix + ".wh." + name))
                else:
                    add_entry(tar, path, prefix + name)
                count += 1
            for name in dirs:
                path = os.path.join(top, name)
                if os.path.islink(path):
                    continue
                add_entry(tar, path, prefix + name)
                count += 1
    return count


def write_upper_tar(ctx: EngineContext, rec: "ContainerRecord", out_path: str) -> int:
    """Write the container's changes as a plain tar at `out_path`; returns the entries."""
    from pdman.runtime.idmap import run_in_userns

    upper = ContainerDirs(ctx.paths, rec.id).upper
    return run_in_userns(_write, upper, out_path)


__all__ = ["add_entry", "write_upper_tar"]
