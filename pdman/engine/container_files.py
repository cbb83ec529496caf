"""Verbs on a container's files: `diff`, `export`, `cp`, and a volume's copy-up.

The writable layer and the image layers hold files owned by subordinate IDs, which the
user cannot always read directly, so the work happens inside a user namespace with the
container's ID mapping (`run_in_userns`). There the container's root filesystem is seen
either through an overlay mounted for the occasion (read-only with the upper dir as the
top-most lower layer: no work dir, so it never conflicts with the container's own
mount; or, to write into a stopped container, with its upper and work dirs), or, for a
running container, through /proc/PID/root opened beforehand.

The container's files are hostile (issue #12), and a running container changes them
while we read: the helper never chroots into them (no library or module of the image
is ever loaded, no NSS lookup is made: tar headers are numeric) and reads and writes
only through directory fds, without following the container's symlinks
(storage/fdtree.py, storage/unpack.py). Once its mount is made it keeps only the
capabilities its job needs.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable
from typing import Any, TypeVar

from pdman.engine.context import EngineContext
from pdman.errors import UsageError
from pdman.storage import container_records as records
from pdman.storage import fdtree
from pdman.storage.container_fs import ContainerDirs

T = TypeVar("T")

#: what the helper keeps once its mounts are made: reading files of any owner, and,
#: to write, setting owners, modes and times of any file
READ_CAPS = ("DAC_READ_SEARCH", "DAC_OVERRIDE")
WRITE_CAPS = (*READ_CAPS, "CHOWN", "FOWNER", "FSETID")


def confine(caps: tuple[str, ...]) -> None:
    """In the helper, before it touches container content: keep only `caps`, set
    no_new_privs, and make a name lookup impossible (tarfile asks NSS through its
    `pwd`/`grp` globals; shutil imports them lazily)."""
    import sys

    from pdman.runtime import native

    native.keep_caps(caps)
    tarfile.pwd = tarfile.grp = None  # type: ignore[attr-defined]
    sys.modules["pwd"] = sys.modules["grp"] = None  # type: ignore[assignment]


def _with_rootfs(ctx: EngineContext, rec: records.ContainerRecord,
                 fn: Callable[..., T], *args: Any, write: bool = False) -> T:
    """Run fn(root_fd, *args) in the user namespace, root_fd the container's root
    directory; `write`: what fn writes lands in the container's writable layer."""
    from pdman.runtime import idmap, userns_mode
    from pdman.runtime.idmap import run_in_userns

    caps = WRITE_CAPS if write else READ_CAPS
    # the container's own mapping: owners read and written as the container sees them
    mapping = userns_mode.mapping(idmap.mapping_for_current_user(), rec.config.get("userns"))
    if rec.status in ("running", "paused") and rec.pid > 0:
        fd = os.open(f"/proc/{rec.pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            result: T = run_in_userns(_call_at_fd, fd, caps, fn, args, mapping=mapping)
        finally:
            os.close(fd)
        return result
    dirs = ContainerDirs(ctx.paths, rec.id)
    linkdir, layers = ctx.paths.links, list(rec.config["layers"])
    if (rec.config.get("userns") or {}).get("mode") == "auto":
        # root's --userns=auto: its root cannot search the links dir; its one layer (the
        # owner-moved copy) by full path, as at start (runtime/spec.py)
        linkdir, layers = "/", [os.path.normpath(os.path.join(linkdir, p)) for p in layers]
    result = run_in_userns(_call_on_overlay, linkdir, layers,
                           dirs.upper, dirs.work if write else "", dirs.merged, caps, fn, args,
                           mapping=mapping)
    return result


def _call_at_fd(fd: int, caps: tuple[str, ...], fn: Callable[..., T],
                args: tuple[Any, ...]) -> T:
    confine(caps)
    return fn(fd, *args)


def _call_on_overlay(linkdir: str, links: list[str], upper: str, work: str, merged: str,
                     caps: tuple[str, ...], fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    from pdman.runtime import native

    os.chdir(linkdir)  # short relative lowerdir names: 128 layers fit one page
    if work:
        data = f"lowerdir={':'.join(links)},upperdir={upper},workdir={work},userxattr"
        native.mount("overlay", merged, "overlay", 0, data)
    else:
        data = "lowerdir=" + ":".join([upper, *links]) + ",userxattr"
        native.mount("overlay", merged, "overlay", native.MS_RDONLY, data)
    root_fd = os.open(merged, fdtree.DIR_FLAGS)
    os.chdir("/")
    confine(caps)
    return fn(root_fd, *args)


def call_on_image(ctx: EngineContext, links: list[str], fn: Callable[..., T], *args: Any,
                  caps: tuple[str, ...] = READ_CAPS) -> T:
    """Run fn(root_fd, *args) in the user namespace, root_fd an image's root filesystem
    (its layers `links`, top-most first) mounted read-only: `build` reads COPY --from
    sources and destinations through it; `caps`: what fn keeps (to write elsewhere)."""
    import shutil
    import tempfile

    from pdman.runtime.idmap import run_in_userns

    os.makedirs(ctx.paths.tmp, mode=0o700, exist_ok=True)
    area = tempfile.mkdtemp(prefix="imgfs-", dir=ctx.paths.tmp)
    try:
        upper, merged = os.path.join(area, "empty"), os.path.join(area, "merged")
        os.mkdir(upper, 0o755)
        os.mkdir(merged, 0o755)
        return run_in_userns(_call_on_overlay, ctx.paths.links, list(links), upper, "",
                             merged, caps, fn, args)
    finally:
        shutil.rmtree(area, ignore_errors=True)


# -- diff ------------------------------------------------------------------------------

def _changes(upper: str, lowers: list[str]) -> list[tuple[str, str]]:
    confine(READ_CAPS)
    return _changes_of(upper, lowers)


def _changes_of(upper: str, lowers: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    top = os.open(upper, fdtree.DIR_FLAGS)
    lower_fds = []
    try:
        for low in lowers:  # pdman's own link to each layer: followed
            lower_fds.append(os.open(low, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        for rel, ent in fdtree.walk(top):
            if fdtree.is_whiteout(ent.st):
                out.append(("D", "/" + rel))
            elif any(fdtree.lexists_below(fd, rel) for fd in lower_fds):
                out.append(("C", "/" + rel))
            else:
                out.append(("A", "/" + rel))
    finally:
        for fd in (top, *lower_fds):
            os.close(fd)
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


def _layers_changes(layers: list[str], base: list[str]) -> list[tuple[str, str]]:
    """The changes of `layers` (bottom first) over the `base` ones: each layer's, the
    later winning; a path added then deleted is no change."""
    confine(READ_CAPS)
    merged: dict[str, str] = {}
    for layer in layers:
        for kind, path in _changes_of(layer, base):
            if kind == "D" and merged.get(path) == "A":
                del merged[path]
            elif not (kind == "C" and merged.get(path) == "A"):
                merged[path] = kind
    return sorted(((k, p) for p, k in merged.items()), key=lambda c: c[1])


def image_diff(ctx: EngineContext, image: str, other: str = "") -> list[tuple[str, str]]:
    """`image diff IMAGE`: what its top layer changes over the layers below it;
    `image diff BASE IMAGE` (either order): what the layers one has on top of the
    other's change."""
    from pdman.engine.images import image_rootfs_layers, resolve_image
    from pdman.errors import UsageError
    from pdman.runtime.idmap import run_in_userns
    from pdman.runtime.spec import layer_paths

    first = image_rootfs_layers(ctx, resolve_image(ctx, image).id)
    if not other:
        base, top = first[:-1], first[-1:]
    else:
        second = image_rootfs_layers(ctx, resolve_image(ctx, other).id)
        if second[:len(first)] == first:
            base, top = first, second[len(first):]
        elif first[:len(second)] == second:
            base, top = second, first[len(second):]
        else:
            raise UsageError(f"{image} and {other} do not share their lower layers: pdman "
                             "compares an image with one built on it",
                             hint="give an image and its base image")
    # the upper side is opened without following links: resolve pdman's own links first
    return run_in_userns(_layers_changes, [os.path.realpath(p) for p in layer_paths(ctx.paths, top)],
                         layer_paths(ctx.paths, base))


# -- export ----------------------------------------------------------------------------

def _tar_tree(root_fd: int, out_fd: int) -> int:
    top = fdtree.open_dir(root_fd, "/")
    try:
        with os.fdopen(os.dup(out_fd), "wb") as out, \
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            # like docker's export: the container's own files, not what is mounted on them
            return fdtree.TreeTar(tar, one_fs=True).add_tree(top)
    finally:
        os.close(top)


def export(ctx: EngineContext, name: str, out_fd: int) -> int:
    """Write the container's whole filesystem as a tar stream to `out_fd`."""
    rec = records.find(ctx.catalog, name)
    return _with_rootfs(ctx, rec, _tar_tree, out_fd)


def image_tar(ctx: EngineContext, links: list[str], out_fd: int) -> int:
    """Write an image's whole filesystem (its layers `links`, top-most first) as a tar
    stream to `out_fd` (`build --output`)."""
    return call_on_image(ctx, links, _tar_tree, out_fd)


# -- cp --------------------------------------------------------------------------------

def _missing(path: str) -> UsageError:
    return UsageError(f"{path}: no such file or directory in the container",
                      hint="check the path inside the container")


def _copy_out(root_fd: int, src: str, out_fd: int) -> int:
    # a trailing slash (or /.) follows a final symlink, as a path lookup does
    follow = src.endswith(("/", "/.")) or not fdtree.components(src)
    try:
        parent, name = fdtree.resolve(root_fd, src, follow_last=follow)
    except (FileNotFoundError, NotADirectoryError):
        raise _missing(src) from None
    try:
        try:
            os.lstat(name, dir_fd=parent)
        except FileNotFoundError:
            raise _missing(src) from None
        with os.fdopen(os.dup(out_fd), "wb") as out, \
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            fdtree.TreeTar(tar).add_path(parent, name, os.path.basename(src.rstrip("/")) or ".")
    finally:
        os.close(parent)
    return 0


def _copy_in(root_fd: int, dest: str, in_fd: int, overwrite: bool = False) -> int:
    """docker's rules: into DEST when it is a directory, else as DEST (its parent must
    exist): the archive's top-level entry takes DEST's name. An entry whose path exists
    as another kind (a directory where the archive has a file, or the reverse) is
    refused unless `overwrite` (podman's `cp --overwrite`)."""
    from pdman.storage.unpack import unpack_into

    try:
        parent, name = fdtree.resolve(root_fd, dest)
    except (FileNotFoundError, NotADirectoryError):
        raise UsageError(f"{os.path.dirname(dest.rstrip('/')) or '/'}: no such directory in "
                         "the container", hint="copy into an existing directory") from None
    rename = None
    try:
        try:
            target = os.open(name, fdtree.DIR_FLAGS, dir_fd=parent)
        except (FileNotFoundError, NotADirectoryError):
            rename = os.path.basename(dest.rstrip("/"))
            target = os.dup(parent)
    finally:
        os.close(parent)
    try:
        with os.fdopen(os.dup(in_fd), "rb") as src:
            return unpack_into(src, target, rename, overwrite=overwrite)
    finally:
        os.close(target)


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
    _with_rootfs(ctx, rec, _copy_out, _in_workdir(rec, src), out_fd)


def copy_to(ctx: EngineContext, name: str, dest: str, in_fd: int, overwrite: bool = False,
            archive: bool = False) -> int:
    """`cp - CONTAINER:DEST`: unpack a tar stream into DEST. With `archive` (podman's
    `cp --archive`, its default; the API's copyUIDGID), every entry is owned by the
    container's primary UID/GID; without, by the owners the archive names."""
    rec = records.find(ctx.catalog, name)
    if not archive:
        return _with_rootfs(ctx, rec, _copy_in, _in_workdir(rec, dest), in_fd, overwrite,
                            write=True)
    import tempfile

    with tempfile.TemporaryFile() as tmp:
        _owned_by(in_fd, tmp, int(rec.config.get("uid", 0)), int(rec.config.get("gid", 0)))
        tmp.seek(0)
        return _with_rootfs(ctx, rec, _copy_in, _in_workdir(rec, dest), tmp.fileno(),
                            overwrite, write=True)


def _owned_by(in_fd: int, out: "Any", uid: int, gid: int) -> None:
    """Copy the tar stream `in_fd` (compressed or not) to `out` with every entry's owner
    set to uid:gid (numeric: no names for the unpacker to look up)."""
    import tarfile

    with os.fdopen(os.dup(in_fd), "rb") as src:
        try:
            reader = tarfile.open(fileobj=src, mode="r|*")
        except tarfile.ReadError as exc:
            if str(exc) == "empty file":
                return                  # nothing to copy, as without --archive
            raise UsageError(f"source must be a (compressed) tar archive ({exc})",
                             hint="give a tar archive") from exc
        with reader, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as writer:
            for info in reader:
                info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
                writer.addfile(info, reader.extractfile(info) if info.isreg() else None)


# -- volume copy-up ----------------------------------------------------------------------

def _copy_image_dir(image_fd: int, destination: str, volume_dir: str) -> int:
    """Copy the image's directory `destination` into the volume: through a tar of it
    (in a temporary file), written and unpacked by fds as `cp` does, since the volume
    may be shared with a running container."""
    import tempfile

    from pdman.storage.unpack import unpack_into

    src = os.dup(image_fd)
    try:
        for part in fdtree.components(destination):
            try:
                fd = os.open(part, fdtree.DIR_FLAGS, dir_fd=src)
            except OSError:
                return 0  # nothing (or not a plain directory) to copy from the image
            os.close(src)
            src = fd
        dst = os.open(volume_dir, fdtree.DIR_FLAGS)
        try:
            with tempfile.TemporaryFile() as tmp:
                with tarfile.open(fileobj=tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
                    fdtree.TreeTar(tar).add_tree(src)
                tmp.seek(0)
                count = unpack_into(tmp, dst)
            st = os.fstat(src)
            os.fchown(dst, st.st_uid, st.st_gid)
            os.fchmod(dst, st.st_mode & 0o7777)
        finally:
            os.close(dst)
    finally:
        os.close(src)
    return count


def _fill_on_overlay(linkdir: str, links: list[str], merged: str, destination: str,
                     volume_dir: str) -> int:
    from pdman.runtime import native

    os.chdir(linkdir)
    if len(links) == 1:  # overlay wants two lower layers at least; one is just a dir
        top = os.open(os.path.join(linkdir, links[0]), os.O_RDONLY | os.O_DIRECTORY)
    else:
        native.mount("overlay", merged, "overlay", native.MS_RDONLY,
                     "lowerdir=" + ":".join(links) + ",userxattr")
        top = os.open(merged, fdtree.DIR_FLAGS)
    try:
        confine(WRITE_CAPS)
        return _copy_image_dir(top, destination, volume_dir)
    finally:
        os.close(top)


def fill_volume(ctx: EngineContext, container_id: str, links: list[str], destination: str,
                volume_dir: str) -> int:
    """docker's copy-up: an empty volume mounted where the image has files gets a copy of
    them (owners, modes, links kept) before the container first sees it."""
    from pdman.runtime.idmap import run_in_userns

    if os.listdir(volume_dir):
        return 0
    merged = ContainerDirs(ctx.paths, container_id).merged
    return run_in_userns(_fill_on_overlay, ctx.paths.links, links, merged, destination, volume_dir)


# -- stat (the API's `docker cp`: X-Docker-Container-Path-Stat) --------------------------

def _stat_in(root_fd: int, path: str) -> "dict[str, Any] | None":
    """lstat of PATH in the container, resolved inside its root (fdtree: never outside)."""
    import stat

    follow = path.endswith(("/", "/.")) or not fdtree.components(path)
    try:
        parent, name = fdtree.resolve(root_fd, path, follow_last=follow)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        st = os.lstat(name, dir_fd=parent)
        link = os.readlink(name, dir_fd=parent) if stat.S_ISLNK(st.st_mode) else ""
    except OSError:
        return None
    finally:
        os.close(parent)
    return {"mode": st.st_mode, "size": st.st_size, "mtime": st.st_mtime, "link": link}


def stat_path(ctx: EngineContext, name: str, path: str) -> "dict[str, Any]":
    """A path in a container, as docker's archive endpoints describe it: name, size,
    mode (Go's os.FileMode bits), mtime, linkTarget. NotFoundError when absent."""
    import datetime as dt
    import stat

    from pdman.errors import NotFoundError

    rec = records.find(ctx.catalog, name)
    found = _with_rootfs(ctx, rec, _stat_in, path)
    if found is None:
        raise NotFoundError(f"Could not find the file {path} in container {rec.name}",
                            hint="check the path inside the container")
    mode = found["mode"]
    go_mode = stat.S_IMODE(mode)
    if stat.S_ISDIR(mode):
        go_mode |= 1 << 31
    elif stat.S_ISLNK(mode):
        go_mode |= 1 << 27
    mtime = dt.datetime.fromtimestamp(found["mtime"], dt.timezone.utc)
    return {"name": os.path.basename(path.rstrip("/")) or "/", "size": found["size"],
            "mode": go_mode, "mtime": mtime.isoformat().replace("+00:00", "Z"),
            "linkTarget": found["link"]}
