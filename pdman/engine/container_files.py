"""Verbs on a container's files: `diff`, `export`, `cp`.

The writable layer and the image layers hold files owned by subordinate IDs, which the
user cannot always read directly, so the work happens inside a user namespace with the
container's ID mapping (`run_in_userns`). There the container's root filesystem is seen
either through a read-only overlay mounted for the occasion (upper dir as the top-most
lower layer: no work dir, so it never conflicts with the container's own mount), or, for
a running container, through /proc/PID/root opened beforehand.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable
from typing import Any, TypeVar

from pdman.engine.context import EngineContext
from pdman.errors import UsageError
# at module level: the tree is written after a chroot into the container, where no
# import can find pdman any more
from pdman.image.commit_layer import add_entry
from pdman.storage import container_records as records
from pdman.storage.container_fs import ContainerDirs

T = TypeVar("T")

#: overlay's rootless whiteout: a character device 0/0
def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, "user.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def _with_rootfs(ctx: EngineContext, rec: records.ContainerRecord,
                 fn: Callable[..., T], *args: Any) -> T:
    """Run fn(rootfs_path, *args) in the user namespace with the container's files."""
    from pdman.runtime.idmap import run_in_userns

    if rec.status in ("running", "paused") and rec.pid > 0:
        fd = os.open(f"/proc/{rec.pid}/root", os.O_PATH | os.O_DIRECTORY)
        try:
            return run_in_userns(_call_at_fd, fd, fn, args)
        finally:
            os.close(fd)
    dirs = ContainerDirs(ctx.paths, rec.id)
    return run_in_userns(_call_on_overlay, ctx.paths.links, list(rec.config["layers"]),
                         dirs.upper, dirs.merged, fn, args)


def _chrooted(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """Call fn("/", *args) chrooted into the current directory: every path, `..` and
    symlink in the container (or in an archive a user hands us) then resolves inside
    the container's filesystem, never on the host (we are root only in our own user
    and mount namespaces, so chroot is ours to use)."""
    os.chroot(".")
    return fn("/", *args)


def _call_at_fd(fd: int, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    os.fchdir(fd)
    return _chrooted(fn, args)


def _call_on_overlay(linkdir: str, links: list[str], upper: str, merged: str,
                     fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    from pdman.runtime import native

    os.chdir(linkdir)  # short relative lowerdir names: 128 layers fit one page
    data = "lowerdir=" + ":".join([upper, *links]) + ",userxattr"
    native.mount("overlay", merged, "overlay", native.MS_RDONLY, data)
    os.chdir(merged)
    return _chrooted(fn, args)


# -- diff ------------------------------------------------------------------------------

def _changes(upper: str, lowers: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def in_lower(rel: str) -> bool:
        return any(os.path.lexists(os.path.join(low, rel)) for low in lowers)

    for dirpath, dirnames, filenames in os.walk(upper):
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, upper)
            st = os.lstat(full)
            if _is_whiteout(st):
                out.append(("D", "/" + rel))
            elif in_lower(rel):
                out.append(("C", "/" + rel))
            else:
                out.append(("A", "/" + rel))
    out.sort(key=lambda c: c[1])
    return out


def diff(ctx: EngineContext, name: str) -> list[tuple[str, str]]:
    """docker's `diff`: (A|C|D, path) for every change in the writable layer."""
    from pdman.runtime.idmap import run_in_userns
    from pdman.runtime.spec import layer_paths

    rec = records.find(ctx.catalog, name)
    dirs = ContainerDirs(ctx.paths, rec.id)
    lowers = layer_paths(ctx.paths, rec.config["layers"])
    return run_in_userns(_changes, dirs.upper, lowers)


# -- export ----------------------------------------------------------------------------

def _tar_tree(root: str, out_fd: int) -> int:
    count = 0
    root_dev = os.lstat(root).st_dev
    with os.fdopen(os.dup(out_fd), "wb") as out, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            # like docker's export: the container's own files, not what is mounted on them
            dirnames[:] = sorted(d for d in dirnames
                                 if os.lstat(os.path.join(dirpath, d)).st_dev == root_dev)
            for name in sorted(dirnames + filenames):
                full = os.path.join(dirpath, name)
                add_entry(tar, full, os.path.relpath(full, root))
                count += 1
    return count


def export(ctx: EngineContext, name: str, out_fd: int) -> int:
    """Write the container's whole filesystem as a tar stream to `out_fd`."""
    rec = records.find(ctx.catalog, name)
    return _with_rootfs(ctx, rec, _tar_tree, out_fd)


# -- cp --------------------------------------------------------------------------------

def _copy_out(root: str, src: str, out_fd: int) -> int:
    path = os.path.join(root, src.lstrip("/"))
    if not os.path.lexists(path):
        raise UsageError(f"{src}: no such file or directory in the container",
                         hint="check the path inside the container")
    with os.fdopen(os.dup(out_fd), "wb") as out, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.add(path, arcname=os.path.basename(path.rstrip("/")) or ".", recursive=True)
    return 0


def _replace_other_kind(path: str, member: tarfile.TarInfo, overwrite: bool) -> None:
    """An entry whose path exists as another kind (a directory where the archive has a
    file, or the reverse) is refused, or with `cp --overwrite` removed first (podman)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode) == member.isdir():
        return
    if not overwrite:
        what = "a directory" if stat.S_ISDIR(st.st_mode) else "a non-directory"
        raise UsageError(f"cannot overwrite {what} {member.name!r} with "
                         f"{'a directory' if member.isdir() else 'a non-directory'}",
                         hint="pass --overwrite to replace it")
    if stat.S_ISDIR(st.st_mode):
        import shutil

        shutil.rmtree(path)
    else:
        os.unlink(path)


def _copy_in(root: str, dest: str, in_fd: int, overwrite: bool = False) -> int:
    """docker's rules: into DEST when it is a directory, else as DEST (its parent must
    exist): the archive's top-level entry takes DEST's name."""
    target = os.path.join(root, dest.lstrip("/"))
    rename = None
    if not os.path.isdir(target):
        rename = os.path.basename(target.rstrip("/"))
        target = os.path.dirname(target.rstrip("/")) or root
        if not os.path.isdir(target):
            raise UsageError(f"{os.path.dirname(dest) or '/'}: no such directory in the container",
                             hint="copy into an existing directory")
    count = 0
    with os.fdopen(os.dup(in_fd), "rb") as src:
        try:
            tar = tarfile.open(fileobj=src, mode="r|*")
        except tarfile.TarError:
            raise UsageError("source must be a (compressed) tar archive when copying from stdin",
                             hint="give `cp -` a tar stream, or copy a host path") from None
        try:
            count = _extract_all(tar, target, rename, dest, overwrite)
        except tarfile.TarError as exc:
            raise UsageError(f"bad tar archive: {exc}", hint="give `cp` a complete tar stream") from None
        finally:
            tar.close()
    return count


def _extract_all(tar: tarfile.TarFile, target: str, rename: str | None, dest: str,
                 overwrite: bool) -> int:
    count = 0
    for member in tar:
        # chrooted: whatever the entry names, it lands in the container
        parts = os.path.normpath(member.name).lstrip("/").split("/")
        if ".." in parts:
            raise UsageError(f"refusing archive entry {member.name!r} outside the target",
                             hint="use an archive with relative paths")
        if rename:
            if count == 0 and member.isdir() and os.path.lexists(os.path.join(target, rename)):
                # podman's words: a directory onto an existing non-directory
                raise UsageError("destination must be a directory when copying a directory",
                                 hint=f"{dest} exists and is not a directory")
            parts[0] = rename
        member.name = "/".join(parts)
        _replace_other_kind(os.path.join(target, member.name), member, overwrite)
        tar.extract(member, target, set_attrs=True)
        count += 1
    return count


def _in_workdir(rec: records.ContainerRecord, path: str) -> str:
    """A relative container path (`CTR:.`, `CTR:file`) is relative to the container's
    working directory, as in podman."""
    if path.startswith("/"):
        return path
    import posixpath

    return posixpath.join(rec.config.get("workdir") or "/", path)


def copy_from(ctx: EngineContext, name: str, src: str, out_fd: int) -> None:
    """`cp CONTAINER:SRC -`: a tar stream of SRC."""
    rec = records.find(ctx.catalog, name)
    _with_rootfs_rw(ctx, rec, _copy_out, _in_workdir(rec, src), out_fd)


def copy_to(ctx: EngineContext, name: str, dest: str, in_fd: int, overwrite: bool = False) -> int:
    """`cp - CONTAINER:DEST`: unpack a tar stream into DEST."""
    rec = records.find(ctx.catalog, name)
    return _with_rootfs_rw(ctx, rec, _copy_in, _in_workdir(rec, dest), in_fd, overwrite)


def _with_rootfs_rw(ctx: EngineContext, rec: records.ContainerRecord,
                    fn: Callable[..., T], *args: Any) -> T:
    """Like _with_rootfs, but writes land in the writable layer: a stopped container's
    overlay is mounted with its upper and work dirs (it is not mounted elsewhere)."""
    from pdman.runtime.idmap import run_in_userns

    if rec.status in ("running", "paused") and rec.pid > 0:
        return _with_rootfs(ctx, rec, fn, *args)
    dirs = ContainerDirs(ctx.paths, rec.id)
    return run_in_userns(_call_on_rw_overlay, ctx.paths.links, list(rec.config["layers"]),
                         dirs.upper, dirs.work, dirs.merged, fn, args)


def _call_on_rw_overlay(linkdir: str, links: list[str], upper: str, work: str, merged: str,
                        fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    from pdman.runtime import native

    os.chdir(linkdir)
    data = f"lowerdir={':'.join(links)},upperdir={upper},workdir={work},userxattr"
    native.mount("overlay", merged, "overlay", 0, data)
    os.chdir(merged)
    return _chrooted(fn, args)


# -- volume copy-up ----------------------------------------------------------------------

def _copy_image_dir(merged: str, destination: str, volume_dir: str) -> int:
    import shutil

    src = merged
    for part in [p for p in destination.split("/") if p]:
        src = os.path.join(src, part)
        if os.path.islink(src) or not os.path.isdir(src):
            return 0  # nothing (or not a plain directory) to copy from the image
    count = 0
    for name in os.listdir(src):
        s, d = os.path.join(src, name), os.path.join(volume_dir, name)
        if os.path.isdir(s) and not os.path.islink(s):
            shutil.copytree(s, d, symlinks=True, copy_function=shutil.copy2)
        else:
            shutil.copy2(s, d, follow_symlinks=False)
        count += 1
    st = os.lstat(src)
    os.chown(volume_dir, st.st_uid, st.st_gid)
    os.chmod(volume_dir, stat.S_IMODE(st.st_mode))
    return count


def _fill_on_overlay(linkdir: str, links: list[str], merged: str, destination: str,
                     volume_dir: str) -> int:
    from pdman.runtime import native

    os.chdir(linkdir)
    if len(links) == 1:  # overlay wants two lower layers at least; one is just a dir
        return _copy_image_dir(os.path.join(linkdir, links[0]), destination, volume_dir)
    native.mount("overlay", merged, "overlay", native.MS_RDONLY,
                 "lowerdir=" + ":".join(links) + ",userxattr")
    return _copy_image_dir(merged, destination, volume_dir)


def fill_volume(ctx: EngineContext, container_id: str, links: list[str], destination: str,
                volume_dir: str) -> int:
    """docker's copy-up: an empty volume mounted where the image has files gets a copy of
    them (owners, modes, links kept) before the container first sees it."""
    from pdman.runtime.idmap import run_in_userns

    if os.listdir(volume_dir):
        return 0
    merged = ContainerDirs(ctx.paths, container_id).merged
    return run_in_userns(_fill_on_overlay, ctx.paths.links, links, merged, destination, volume_dir)
